/*
 * tb_nn_host_quant.c - TFLite-style quantisation helpers (host only).
 */
#include <math.h>

#include "tb_nn_host_quant.h"

void tb_nn_choose_quant_int8(float rmin, float rmax, float *scale, int32_t *zero_point)
{
	const double qmin = -128.0, qmax = 127.0;
	double lo = rmin < 0.0f ? rmin : 0.0;
	double hi = rmax > 0.0f ? rmax : 0.0;
	double s, zp_min, zp_max, zp;

	if (hi - lo < 1e-12) {
		*scale = 1.0f;
		*zero_point = 0;
		return;
	}
	s = (hi - lo) / (qmax - qmin);
	/* TFLite picks the zero point whose derivation loses less precision */
	zp_min = qmin - lo / s;
	zp_max = qmax - hi / s;
	zp = fabs(qmin) + fabs(lo / s) < fabs(qmax) + fabs(hi / s) ? zp_min : zp_max;
	if (zp < qmin)
		zp = qmin;
	else if (zp > qmax)
		zp = qmax;
	*scale = (float)s;
	*zero_point = (int32_t)lround(zp);
}

void tb_nn_quantize_symmetric(const float *w, size_t n, uint32_t channels,
			      size_t inner, int8_t *q, float *scales)
{
	size_t i;
	uint32_t c;

	for (c = 0; c < channels; c++)
		scales[c] = 0.0f;
	for (i = 0; i < n; i++) {
		c = (uint32_t)((i / inner) % channels);
		if (fabsf(w[i]) > scales[c])
			scales[c] = fabsf(w[i]);
	}
	for (c = 0; c < channels; c++)
		scales[c] = scales[c] > 0.0f ? scales[c] / 127.0f : 1.0f;
	for (i = 0; i < n; i++) {
		long v = lroundf(w[i] / scales[(i / inner) % channels]);

		q[i] = (int8_t)(v < -127 ? -127 : v > 127 ? 127 : v);
	}
}

void tb_nn_quantize_bias(const float *b, uint32_t n, float in_scale,
			 const float *w_scales, int per_tensor,
			 int32_t *q, float *bias_scales)
{
	uint32_t c;

	for (c = 0; c < n; c++) {
		const float s = in_scale * w_scales[per_tensor ? 0 : c];
		const double v = round((double)b[c] / s);

		q[c] = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
		if (bias_scales)
			bias_scales[c] = s;
	}
}

int tb_nn_conv_multipliers(float in_scale, const float *w_scales, uint32_t n,
			   float out_scale, int32_t *mult, int32_t *shift)
{
	uint32_t c;
	int ret;

	for (c = 0; c < n; c++) {
		ret = tb_nn_quantize_multiplier((double)in_scale * (double)w_scales[c] /
						(double)out_scale, &mult[c], &shift[c]);
		if (ret)
			return ret;
	}
	return TB_NN_OK;
}

int tb_nn_fc_multiplier(float in_scale, float w_scale, float out_scale,
			int32_t *mult, int32_t *shift)
{
	const float product = in_scale * w_scale;

	return tb_nn_quantize_multiplier((double)product / (double)out_scale, mult, shift);
}

void tb_nn_activation_range_int8(int relu, float scale, int32_t zero_point,
				 struct tb_nn_activation *act)
{
	long lo = -128, hi = 127;

	if (relu == 1 || relu == 6)
		lo = zero_point > lo ? zero_point : lo;	/* zp + round(0 / scale) */
	if (relu == 6) {
		const long six = zero_point + lroundf(6.0f / scale);

		hi = six < hi ? six : hi;
	}
	act->min = (int32_t)lo;
	act->max = (int32_t)hi;
}
