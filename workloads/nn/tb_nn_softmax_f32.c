/*
 * tb_nn_softmax_f32.c - float32 softmax and element-wise add.
 *
 * Softmax as TFLite's reference: exp(beta * (x - max)) / sum, per row.
 * exp() is tb_nn_expf(), the project's own (no libm on a device):
 * x = k ln2 + r with |r| <= ln2/2 (ln2 split in two for an exact
 * product), a degree-7 Taylor polynomial for e^r (error below 2^-24
 * relative), scaled by 2^k through the exponent bits.
 */
#include <string.h>

#include "tb_nn.h"

float tb_nn_expf(float x)
{
	const float ln2_hi = 0.693145751953125f;	/* 12 significant bits */
	const float ln2_lo = 1.42860682030941723212e-6f;
	float r, p;
	int32_t k;
	uint32_t bits;

	if (x != x)
		return x;
	if (x > 88.0f)
		return 3.40282347e38f;
	if (x < -87.3f)
		return 0.0f;
	k = (int32_t)(x * 1.44269504088896341f + (x < 0 ? -0.5f : 0.5f));
	r = (x - (float)k * ln2_hi) - (float)k * ln2_lo;
	p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 +
	    r * (1.0f / 120 + r * (1.0f / 720 + r * (1.0f / 5040)))))));
	/* 2^k through the exponent bits: the bounds above keep k in
	 * [-126, 127], the range of normal floats. */
	bits = (uint32_t)(k + 127) << 23;
	memcpy(&r, &bits, 4);
	return p * r;
}

int tb_nn_softmax_f32(const float *input, int32_t num_rows, int32_t row_size,
		      float beta, float *output)
{
	int32_t r, c;

	if (!input || !output || num_rows < 1 || row_size < 1)
		return TB_NN_ERR_ARG;
	for (r = 0; r < num_rows; r++) {
		const float *in = input + (size_t)r * row_size;
		float *out = output + (size_t)r * row_size;
		float max = in[0], sum = 0.0f;

		for (c = 1; c < row_size; c++)
			if (in[c] > max)
				max = in[c];
		for (c = 0; c < row_size; c++) {
			out[c] = tb_nn_expf((in[c] - max) * beta);
			sum += out[c];
		}
		for (c = 0; c < row_size; c++)
			out[c] /= sum;
	}
	return TB_NN_OK;
}

int tb_nn_add_f32(const float *in1, const float *in2, int32_t size, float act_min,
		  float act_max, float *out)
{
	int32_t i;

	if (!in1 || !in2 || !out || size < 1 || act_min > act_max)
		return TB_NN_ERR_ARG;
	for (i = 0; i < size; i++) {
		const float v = in1[i] + in2[i];

		out[i] = v < act_min ? act_min : v > act_max ? act_max : v;
	}
	return TB_NN_OK;
}
