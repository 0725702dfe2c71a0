/*
 * tb_nn_convolve_f32.c - float32 convolution and depthwise convolution
 * (TFLite reference_ops::Conv / DepthwiseConv for float): sum of
 * input * filter over the in-bounds taps in tap order, + bias, clamped.
 * Layouts as the int8 kernels.  No scratch, no libm.
 */
#include "tb_nn.h"
#include "tb_nn_support.h"

static int f32_conv_args_ok(const struct tb_nn_f32_conv_params *p,
			    const struct tb_nn_dims *id, const float *in,
			    const struct tb_nn_dims *fd, const float *filter,
			    const struct tb_nn_dims *od, const float *out)
{
	return p && id && in && fd && filter && od && out && id->n >= 1 &&
	       id->h >= 1 && id->w >= 1 && id->c >= 1 && fd->h >= 1 && fd->w >= 1 &&
	       od->n == id->n && od->h >= 1 && od->w >= 1 && p->stride.h >= 1 &&
	       p->stride.w >= 1 && p->dilation.h >= 1 && p->dilation.w >= 1 &&
	       p->padding.h >= 0 && p->padding.w >= 0 && !(p->act_min > p->act_max);
}

static float clampf(float v, float lo, float hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

int tb_nn_convolve_f32(const struct tb_nn_f32_conv_params *p,
		       const struct tb_nn_dims *id, const float *input,
		       const struct tb_nn_dims *fd, const float *filter,
		       const float *bias, const struct tb_nn_dims *od, float *output)
{
	int32_t b, oy, ox, oc;

	if (!f32_conv_args_ok(p, id, input, fd, filter, od, output) ||
	    fd->c != id->c || od->c != fd->n)
		return TB_NN_ERR_ARG;
	for (b = 0; b < od->n; b++)
	for (oy = 0; oy < od->h; oy++)
	for (ox = 0; ox < od->w; ox++) {
		const int32_t iy0 = oy * p->stride.h - p->padding.h;
		const int32_t ix0 = ox * p->stride.w - p->padding.w;
		int32_t ky0, ky1, kx0, kx1;

		tb_nn_tap_range(iy0, p->dilation.h, fd->h, id->h, &ky0, &ky1);
		tb_nn_tap_range(ix0, p->dilation.w, fd->w, id->w, &kx0, &kx1);
		for (oc = 0; oc < fd->n; oc++) {
			float acc = 0.0f;
			int32_t ky, kx, c;

			for (ky = ky0; ky < ky1; ky++)
				for (kx = kx0; kx < kx1; kx++) {
					const int32_t iy = iy0 + ky * p->dilation.h;
					const int32_t ix = ix0 + kx * p->dilation.w;
					const float *ip = input + (((size_t)b * id->h + iy) * id->w + ix) * id->c;
					const float *fp = filter + (((size_t)oc * fd->h + ky) * fd->w + kx) * fd->c;

					for (c = 0; c < id->c; c++)
						acc += ip[c] * fp[c];
				}
			if (bias)
				acc += bias[oc];
			output[(((size_t)b * od->h + oy) * od->w + ox) * od->c + oc] =
				clampf(acc, p->act_min, p->act_max);
		}
	}
	return TB_NN_OK;
}

int tb_nn_depthwise_conv_f32(const struct tb_nn_f32_conv_params *p,
			     const struct tb_nn_dims *id, const float *input,
			     const struct tb_nn_dims *fd, const float *filter,
			     const float *bias, const struct tb_nn_dims *od, float *output)
{
	int32_t b, oy, ox, ic, m;

	if (!f32_conv_args_ok(p, id, input, fd, filter, od, output) || p->ch_mult < 1 ||
	    fd->n != 1 || (int64_t)fd->c != (int64_t)id->c * p->ch_mult || od->c != fd->c)
		return TB_NN_ERR_ARG;
	for (b = 0; b < od->n; b++)
	for (oy = 0; oy < od->h; oy++)
	for (ox = 0; ox < od->w; ox++) {
		const int32_t iy0 = oy * p->stride.h - p->padding.h;
		const int32_t ix0 = ox * p->stride.w - p->padding.w;
		int32_t ky0, ky1, kx0, kx1;

		tb_nn_tap_range(iy0, p->dilation.h, fd->h, id->h, &ky0, &ky1);
		tb_nn_tap_range(ix0, p->dilation.w, fd->w, id->w, &kx0, &kx1);
		for (ic = 0; ic < id->c; ic++)
		for (m = 0; m < p->ch_mult; m++) {
			const int32_t oc = ic * p->ch_mult + m;
			float acc = 0.0f;
			int32_t ky, kx;

			for (ky = ky0; ky < ky1; ky++)
				for (kx = kx0; kx < kx1; kx++) {
					const int32_t iy = iy0 + ky * p->dilation.h;
					const int32_t ix = ix0 + kx * p->dilation.w;

					acc += input[(((size_t)b * id->h + iy) * id->w + ix) * id->c + ic] *
					       filter[((size_t)ky * fd->w + kx) * fd->c + oc];
				}
			if (bias)
				acc += bias[oc];
			output[(((size_t)b * od->h + oy) * od->w + ox) * od->c + oc] =
				clampf(acc, p->act_min, p->act_max);
		}
	}
	return TB_NN_OK;
}

int tb_nn_fully_connected_f32(float act_min, float act_max, int32_t batches,
			      int32_t depth, const float *input, int32_t units,
			      const float *weights, const float *bias, float *output)
{
	int32_t b, u, d;

	if (!input || !weights || !output || batches < 1 || depth < 1 || units < 1 ||
	    act_min > act_max)
		return TB_NN_ERR_ARG;
	for (b = 0; b < batches; b++)
		for (u = 0; u < units; u++) {
			const float *w = weights + (size_t)u * depth;
			const float *x = input + (size_t)b * depth;
			float acc = 0.0f;

			for (d = 0; d < depth; d++)
				acc += x[d] * w[d];
			if (bias)
				acc += bias[u];
			output[(size_t)b * units + u] = clampf(acc, act_min, act_max);
		}
	return TB_NN_OK;
}
