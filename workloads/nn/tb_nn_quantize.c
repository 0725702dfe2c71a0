/*
 * tb_nn_quantize.c - QUANTIZE and DEQUANTIZE between float32 and int8,
 * and int8 -> int8 requantisation.
 *
 * TFLite's reference AffineQuantize: q = round(x / scale) + zero_point
 * (float division, rounding half away from zero), clamped to int8.
 * Dequantize: (float)((double)scale * (q - zero_point)).  Requantize:
 * MultiplyByQuantizedMultiplier(q - in_zp) + out_zp, clamped.  No libm:
 * rounding is done by hand, exactly as roundf() would.
 */
#include "tb_nn.h"
#include "tb_nn_support.h"

/* roundf() for |x| < 2^31, then clamped into [-2^31 + 1, 2^31 - 1]. */
static int32_t round_f32(float x)
{
	float t;
	int32_t i;

	if (x != x)
		return 0;
	if (x >= 2147483520.0f)
		return INT32_MAX;
	if (x <= -2147483520.0f)
		return -INT32_MAX;
	i = (int32_t)x;			/* truncates towards zero, exact here */
	t = x - (float)i;		/* exact: the fraction of x */
	if (t >= 0.5f)
		i++;
	else if (t <= -0.5f)
		i--;
	return i;
}

int tb_nn_quantize_f32_s8(const float *in, int32_t size, float scale,
			  int32_t zero_point, int8_t *out)
{
	int32_t i;

	if (!in || !out || size < 1 || !(scale > 0.0f) || zero_point < -128 ||
	    zero_point > 127)
		return TB_NN_ERR_ARG;
	for (i = 0; i < size; i++) {
		const int64_t v = (int64_t)round_f32(in[i] / scale) + zero_point;

		out[i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
	}
	return TB_NN_OK;
}

int tb_nn_dequantize_s8_f32(const int8_t *in, int32_t size, float scale,
			    int32_t zero_point, float *out)
{
	int32_t i;

	if (!in || !out || size < 1)
		return TB_NN_ERR_ARG;
	for (i = 0; i < size; i++)
		out[i] = (float)((double)scale * (double)(in[i] - zero_point));
	return TB_NN_OK;
}

int tb_nn_requantize_s8(const int8_t *in, int32_t size, int32_t input_zero_point,
			int32_t multiplier, int32_t shift, int32_t output_zero_point,
			int8_t *out)
{
	int32_t i;

	if (!in || !out || size < 1 || shift < -31 || shift > 30)
		return TB_NN_ERR_ARG;
	for (i = 0; i < size; i++) {
		const int32_t v = tb_nn_add_wrap(tb_nn_requant(in[i] - input_zero_point,
							       multiplier, shift),
						 output_zero_point);

		out[i] = (int8_t)tb_nn_clamp(v, -128, 127);
	}
	return TB_NN_OK;
}
