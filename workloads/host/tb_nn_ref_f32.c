/*
 * tb_nn_ref_f32.c - float reference operators (host only).
 */
#include <math.h>

#include "tb_nn_ref_f32.h"

static float relu_if(float v, int relu)
{
	return relu && v < 0.0f ? 0.0f : v;
}

void tb_nn_ref_conv2d_f32(const struct tb_nn_dims *id, const float *in,
			  const struct tb_nn_dims *fd, const float *filter,
			  const float *bias, struct tb_nn_tile stride,
			  struct tb_nn_tile pad, int relu,
			  const struct tb_nn_dims *od, float *out)
{
	int32_t b, oy, ox, oc, ky, kx, c;

	for (b = 0; b < od->n; b++)
	for (oy = 0; oy < od->h; oy++)
	for (ox = 0; ox < od->w; ox++)
	for (oc = 0; oc < od->c; oc++) {
		double acc = bias ? bias[oc] : 0.0;

		for (ky = 0; ky < fd->h; ky++) {
			const int32_t iy = oy * stride.h - pad.h + ky;

			if (iy < 0 || iy >= id->h)
				continue;
			for (kx = 0; kx < fd->w; kx++) {
				const int32_t ix = ox * stride.w - pad.w + kx;

				if (ix < 0 || ix >= id->w)
					continue;
				for (c = 0; c < id->c; c++)
					acc += (double)in[((b * id->h + iy) * id->w + ix) * id->c + c] *
					       filter[((oc * fd->h + ky) * fd->w + kx) * fd->c + c];
			}
		}
		out[((b * od->h + oy) * od->w + ox) * od->c + oc] = relu_if((float)acc, relu);
	}
}

void tb_nn_ref_dwconv2d_f32(const struct tb_nn_dims *id, const float *in,
			    const struct tb_nn_dims *fd, const float *filter,
			    const float *bias, struct tb_nn_tile stride,
			    struct tb_nn_tile pad, int relu,
			    const struct tb_nn_dims *od, float *out)
{
	int32_t b, oy, ox, c, ky, kx;

	for (b = 0; b < od->n; b++)
	for (oy = 0; oy < od->h; oy++)
	for (ox = 0; ox < od->w; ox++)
	for (c = 0; c < od->c; c++) {
		double acc = bias ? bias[c] : 0.0;

		for (ky = 0; ky < fd->h; ky++) {
			const int32_t iy = oy * stride.h - pad.h + ky;

			if (iy < 0 || iy >= id->h)
				continue;
			for (kx = 0; kx < fd->w; kx++) {
				const int32_t ix = ox * stride.w - pad.w + kx;

				if (ix < 0 || ix >= id->w)
					continue;
				acc += (double)in[((b * id->h + iy) * id->w + ix) * id->c + c] *
				       filter[(ky * fd->w + kx) * fd->c + c];
			}
		}
		out[((b * od->h + oy) * od->w + ox) * od->c + c] = relu_if((float)acc, relu);
	}
}

void tb_nn_ref_avgpool_f32(const struct tb_nn_dims *id, const float *in,
			   struct tb_nn_tile filter, struct tb_nn_tile stride,
			   struct tb_nn_tile pad, const struct tb_nn_dims *od,
			   float *out)
{
	int32_t b, oy, ox, c, ky, kx;

	for (b = 0; b < od->n; b++)
	for (oy = 0; oy < od->h; oy++)
	for (ox = 0; ox < od->w; ox++)
	for (c = 0; c < od->c; c++) {
		double acc = 0.0;
		int count = 0;

		for (ky = 0; ky < filter.h; ky++) {
			const int32_t iy = oy * stride.h - pad.h + ky;

			for (kx = 0; kx < filter.w; kx++) {
				const int32_t ix = ox * stride.w - pad.w + kx;

				if (iy < 0 || iy >= id->h || ix < 0 || ix >= id->w)
					continue;
				acc += in[((b * id->h + iy) * id->w + ix) * id->c + c];
				count++;
			}
		}
		out[((b * od->h + oy) * od->w + ox) * od->c + c] =
			count ? (float)(acc / count) : 0.0f;
	}
}

void tb_nn_ref_fc_f32(const float *in, int32_t depth, const float *w,
		      const float *bias, int32_t units, int relu, float *out)
{
	int32_t u, d;

	for (u = 0; u < units; u++) {
		double acc = bias ? bias[u] : 0.0;

		for (d = 0; d < depth; d++)
			acc += (double)w[u * depth + d] * in[d];
		out[u] = relu_if((float)acc, relu);
	}
}

void tb_nn_ref_softmax_f32(const float *in, int32_t n, float *out)
{
	double sum = 0.0;
	float max = in[0];
	int32_t i;

	for (i = 1; i < n; i++)
		if (in[i] > max)
			max = in[i];
	for (i = 0; i < n; i++)
		sum += exp((double)in[i] - max);
	for (i = 0; i < n; i++)
		out[i] = (float)(exp((double)in[i] - max) / sum);
}
