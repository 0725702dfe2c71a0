/*
 * tb_postproc.c - top-1 and the ad01 anomaly score (see tb_postproc.h).
 */
#include "tb_postproc.h"

int32_t tb_post_top1_s8(const int8_t *scores, size_t n)
{
	int32_t best = n ? 0 : -1;

	for (size_t i = 1; i < n; i++)
		if (scores[i] > scores[best])
			best = (int32_t)i;
	return best;
}

int32_t tb_post_top1_f32(const float *scores, size_t n)
{
	int32_t best = n ? 0 : -1;

	for (size_t i = 1; i < n; i++)
		if (scores[i] > scores[best])
			best = (int32_t)i;
	return best;
}

double tb_post_mse_s8(const int8_t *a, float a_scale, int32_t a_zp,
		      const int8_t *b, float b_scale, int32_t b_zp, size_t n)
{
	double sum = 0.0;

	if (!n)
		return 0.0;
	for (size_t i = 0; i < n; i++) {
		const double d = (double)a_scale * (a[i] - a_zp) - (double)b_scale * (b[i] - b_zp);

		sum += d * d;
	}
	return sum / (double)n;
}

double tb_post_mse_f32(const float *a, const float *b, size_t n)
{
	double sum = 0.0;

	if (!n)
		return 0.0;
	for (size_t i = 0; i < n; i++) {
		const double d = (double)a[i] - (double)b[i];

		sum += d * d;
	}
	return sum / (double)n;
}

int tb_post_ad_score(const float *frames, uint32_t n_frames, uint32_t n_mels,
		     uint32_t window,
		     int (*error)(void *ctx, const float *in, double *mse), void *ctx,
		     double *score, uint32_t *n_windows)
{
	double sum = 0.0, mse;
	uint32_t w, n;
	int ret;

	if (!frames || !error || !score || !n_mels || !window || n_frames < window)
		return -1;
	n = n_frames - window + 1;
	for (w = 0; w < n; w++) {
		ret = error(ctx, frames + (size_t)w * n_mels, &mse);
		if (ret < 0)
			return ret;
		sum += mse;
	}
	*score = sum / (double)n;
	if (n_windows)
		*n_windows = n;
	return 0;
}
