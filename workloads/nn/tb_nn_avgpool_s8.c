/*
 * tb_nn_avgpool_s8.c - int8 average pooling.
 *
 * Bit-exact with TFLite's reference_integer_ops::AveragePool: the window is
 * clamped to the input (padded positions are not counted), the sum is
 * divided by the count with rounding half away from zero
 * ((sum +- count/2) / count, C truncating division), then clamped.
 */
#include "tb_nn.h"
#include "tb_nn_support.h"

static int pool_args_ok(const struct tb_nn_pool_params *p,
			const struct tb_nn_dims *id, const int8_t *input,
			const struct tb_nn_dims *fd,
			const struct tb_nn_dims *od, const int8_t *output)
{
	if (!p || !id || !input || !fd || !od || !output)
		return 0;
	if (id->n < 1 || id->h < 1 || id->w < 1 || id->c < 1)
		return 0;
	if (fd->h < 1 || fd->w < 1 || (int64_t)fd->h * fd->w > (1 << 23))
		return 0;	/* the int32 sum of 2^23 int8 values cannot overflow */
	if (od->n != id->n || od->h < 1 || od->w < 1 || od->c != id->c)
		return 0;
	if (p->stride.h < 1 || p->stride.w < 1 ||
	    p->padding.h < 0 || p->padding.w < 0)
		return 0;
	return p->activation.min <= p->activation.max;
}

/* Rounded mean of the window at (oy, ox) for every channel. */
static int pool_pixel(const struct tb_nn_pool_params *p,
		      const struct tb_nn_dims *id, const int8_t *in_batch,
		      const struct tb_nn_dims *fd, int32_t oy, int32_t ox,
		      int8_t *out)
{
	const int32_t iy0 = oy * p->stride.h - p->padding.h;
	const int32_t ix0 = ox * p->stride.w - p->padding.w;
	int32_t ky_start, ky_end, kx_start, kx_end, count, c;

	tb_nn_tap_range(iy0, 1, fd->h, id->h, &ky_start, &ky_end);
	tb_nn_tap_range(ix0, 1, fd->w, id->w, &kx_start, &kx_end);
	count = (ky_end - ky_start) * (kx_end - kx_start);
	if (count == 0)
		return TB_NN_ERR_ARG;

	for (c = 0; c < id->c; c++) {
		int32_t acc = 0;
		int32_t ky, kx;

		for (ky = ky_start; ky < ky_end; ky++) {
			const int8_t *row = in_batch + ((size_t)(iy0 + ky) * id->w) * id->c;

			for (kx = kx_start; kx < kx_end; kx++)
				acc += row[(size_t)(ix0 + kx) * id->c + c];
		}
		acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
		out[c] = (int8_t)tb_nn_clamp(acc, p->activation.min, p->activation.max);
	}
	return TB_NN_OK;
}

int tb_nn_avgpool_s8(const struct tb_nn_context *ctx,
		     const struct tb_nn_pool_params *pool_params,
		     const struct tb_nn_dims *input_dims, const int8_t *input,
		     const struct tb_nn_dims *filter_dims,
		     const struct tb_nn_dims *output_dims, int8_t *output)
{
	size_t in_batch, out_row;
	int32_t b, oy, ox;
	int ret;

	(void)ctx;
	if (!pool_args_ok(pool_params, input_dims, input, filter_dims,
			  output_dims, output))
		return TB_NN_ERR_ARG;

	in_batch = (size_t)input_dims->h * input_dims->w * input_dims->c;
	out_row = (size_t)output_dims->w * output_dims->c;
	for (b = 0; b < input_dims->n; b++) {
		const int8_t *ib = input + (size_t)b * in_batch;
		int8_t *ob = output + (size_t)b * output_dims->h * out_row;

		for (oy = 0; oy < output_dims->h; oy++) {
			for (ox = 0; ox < output_dims->w; ox++) {
				ret = pool_pixel(pool_params, input_dims, ib, filter_dims,
						 oy, ox, ob + oy * out_row +
						 (size_t)ox * output_dims->c);
				if (ret)
					return ret;
			}
		}
	}
	return TB_NN_OK;
}
