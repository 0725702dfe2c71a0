/*
 * tb_nn_depthwise_conv_s8.c - int8 depthwise convolution, per-channel
 * requantisation.
 *
 * Bit-exact with TFLite's reference_integer_ops::DepthwiseConvPerChannel:
 * output channel oc = ic * ch_mult + m sees only input channel ic; taps
 * outside the input are skipped; acc += bias; MultiplyByQuantizedMultiplier
 * with channel oc's (multiplier, shift); + output_offset; clamp.
 *
 * tb_nn_depthwise_conv_s8_ref() is the plain C loop nest, one channel at
 * a time.  tb_nn_depthwise_conv_s8() takes the fast path when the depth
 * multiplier is 1 (every MLPerf Tiny model): channels in blocks of
 * DW_BLOCK, each tap adding a contiguous run of input times a contiguous
 * run of filter into a small accumulator array on the stack (a loop the
 * compiler vectorises; on a DSP core the same loop).  Bit-identical to the
 * plain path (tests/workloads/test_nn_opt.c).  No scratch memory.
 */
#include "tb_nn.h"
#include "tb_nn_support.h"

int32_t tb_nn_depthwise_conv_s8_get_buffer_size(const struct tb_nn_dims *input_dims,
						const struct tb_nn_dims *filter_dims)
{
	(void)input_dims;
	(void)filter_dims;
	return 0;	/* the pure C path needs no scratch */
}

static int dw_args_ok(const struct tb_nn_dw_conv_params *p,
		      const struct tb_nn_per_channel_quant_params *q,
		      const struct tb_nn_dims *id, const int8_t *input,
		      const struct tb_nn_dims *fd, const int8_t *filter,
		      const struct tb_nn_dims *od, const int8_t *output)
{
	if (!p || !q || !q->multiplier || !q->shift || !id || !input ||
	    !fd || !filter || !od || !output)
		return 0;
	if (id->n < 1 || id->h < 1 || id->w < 1 || id->c < 1 || p->ch_mult < 1)
		return 0;
	if (fd->n != 1 || fd->h < 1 || fd->w < 1 ||
	    (int64_t)fd->c != (int64_t)id->c * p->ch_mult)
		return 0;
	if (od->n != id->n || od->h < 1 || od->w < 1 || od->c != fd->c)
		return 0;
	if (p->stride.h < 1 || p->stride.w < 1 ||
	    p->dilation.h < 1 || p->dilation.w < 1 ||
	    p->padding.h < 0 || p->padding.w < 0)
		return 0;
	return p->activation.min <= p->activation.max;
}

/* One output pixel: all output channels at (batch, oy, ox). */
static void dw_pixel(const struct tb_nn_dw_conv_params *p,
		     const struct tb_nn_per_channel_quant_params *q,
		     const struct tb_nn_dims *id, const int8_t *in_batch,
		     const struct tb_nn_dims *fd, const int8_t *filter,
		     const int32_t *bias, int32_t oy, int32_t ox, int8_t *out)
{
	const int32_t out_ch = fd->c;
	const int32_t iy0 = oy * p->stride.h - p->padding.h;
	const int32_t ix0 = ox * p->stride.w - p->padding.w;
	int32_t ky_start, ky_end, kx_start, kx_end;
	int32_t ic, m;

	tb_nn_tap_range(iy0, p->dilation.h, fd->h, id->h, &ky_start, &ky_end);
	tb_nn_tap_range(ix0, p->dilation.w, fd->w, id->w, &kx_start, &kx_end);

	for (ic = 0; ic < id->c; ic++) {
		for (m = 0; m < p->ch_mult; m++) {
			const int32_t oc = ic * p->ch_mult + m;
			int32_t acc = 0;
			int32_t ky, kx;

			for (ky = ky_start; ky < ky_end; ky++) {
				const int32_t iy = iy0 + ky * p->dilation.h;
				const int8_t *irow = in_batch + (size_t)iy * id->w * id->c;
				const int8_t *frow = filter + (size_t)ky * fd->w * out_ch;

				for (kx = kx_start; kx < kx_end; kx++) {
					const int32_t ix = ix0 + kx * p->dilation.w;
					const int32_t x = irow[(size_t)ix * id->c + ic];

					acc += frow[(size_t)kx * out_ch + oc] * (x + p->input_offset);
				}
			}
			if (bias)
				acc = tb_nn_add_wrap(acc, bias[oc]);
			acc = tb_nn_requant(acc, q->multiplier[oc], q->shift[oc]);
			acc = tb_nn_add_wrap(acc, p->output_offset);
			out[oc] = (int8_t)tb_nn_clamp(acc, p->activation.min,
						      p->activation.max);
		}
	}
}

int tb_nn_depthwise_conv_s8_ref(const struct tb_nn_context *ctx,
			    const struct tb_nn_dw_conv_params *dw_conv_params,
			    const struct tb_nn_per_channel_quant_params *quant_params,
			    const struct tb_nn_dims *input_dims, const int8_t *input,
			    const struct tb_nn_dims *filter_dims, const int8_t *filter,
			    const int32_t *bias,
			    const struct tb_nn_dims *output_dims, int8_t *output)
{
	size_t in_batch, out_row;
	int32_t b, oy, ox;

	(void)ctx;
	if (!dw_args_ok(dw_conv_params, quant_params, input_dims, input,
			filter_dims, filter, output_dims, output))
		return TB_NN_ERR_ARG;

	in_batch = (size_t)input_dims->h * input_dims->w * input_dims->c;
	out_row = (size_t)output_dims->w * output_dims->c;
	for (b = 0; b < input_dims->n; b++) {
		const int8_t *ib = input + (size_t)b * in_batch;
		int8_t *ob = output + (size_t)b * output_dims->h * out_row;

		for (oy = 0; oy < output_dims->h; oy++)
			for (ox = 0; ox < output_dims->w; ox++)
				dw_pixel(dw_conv_params, quant_params, input_dims, ib,
					 filter_dims, filter, bias, oy, ox,
					 ob + oy * out_row + (size_t)ox * output_dims->c);
	}
	return TB_NN_OK;
}

#define DW_BLOCK 64	/* channels per accumulator block: 256 bytes of stack */

/* Fast path (ch_mult 1), one output pixel. */
static void dw_pixel_fast(const struct tb_nn_dw_conv_params *p,
			  const struct tb_nn_per_channel_quant_params *q,
			  const struct tb_nn_dims *id, const int8_t *in_batch,
			  const struct tb_nn_dims *fd, const int8_t *filter,
			  const int32_t *bias, int32_t oy, int32_t ox, int8_t *out)
{
	const int32_t ch = id->c;
	const int32_t off = p->input_offset;
	const int32_t iy0 = oy * p->stride.h - p->padding.h;
	const int32_t ix0 = ox * p->stride.w - p->padding.w;
	int32_t ky_start, ky_end, kx_start, kx_end, c0;

	tb_nn_tap_range(iy0, p->dilation.h, fd->h, id->h, &ky_start, &ky_end);
	tb_nn_tap_range(ix0, p->dilation.w, fd->w, id->w, &kx_start, &kx_end);

	for (c0 = 0; c0 < ch; c0 += DW_BLOCK) {
		const int32_t n = ch - c0 < DW_BLOCK ? ch - c0 : DW_BLOCK;
		int32_t acc[DW_BLOCK];
		int32_t ky, kx, c;

		for (c = 0; c < n; c++)
			acc[c] = 0;
		for (ky = ky_start; ky < ky_end; ky++) {
			const int32_t iy = iy0 + ky * p->dilation.h;

			for (kx = kx_start; kx < kx_end; kx++) {
				const int32_t ix = ix0 + kx * p->dilation.w;
				const int8_t *ip = in_batch + ((size_t)iy * id->w + ix) * ch + c0;
				const int8_t *fp = filter + ((size_t)ky * fd->w + kx) * ch + c0;

				for (c = 0; c < n; c++)
					acc[c] += fp[c] * (ip[c] + off);
			}
		}
		for (c = 0; c < n; c++) {
			const int32_t oc = c0 + c;
			int32_t v = acc[c];

			if (bias)
				v = tb_nn_add_wrap(v, bias[oc]);
			v = tb_nn_requant(v, q->multiplier[oc], q->shift[oc]);
			v = tb_nn_add_wrap(v, p->output_offset);
			out[oc] = (int8_t)tb_nn_clamp(v, p->activation.min, p->activation.max);
		}
	}
}

int tb_nn_depthwise_conv_s8(const struct tb_nn_context *ctx,
			    const struct tb_nn_dw_conv_params *dw_conv_params,
			    const struct tb_nn_per_channel_quant_params *quant_params,
			    const struct tb_nn_dims *input_dims, const int8_t *input,
			    const struct tb_nn_dims *filter_dims, const int8_t *filter,
			    const int32_t *bias,
			    const struct tb_nn_dims *output_dims, int8_t *output)
{
	size_t in_batch, out_row;
	int32_t b, oy, ox;

	if (!dw_args_ok(dw_conv_params, quant_params, input_dims, input,
			filter_dims, filter, output_dims, output))
		return TB_NN_ERR_ARG;
	if (dw_conv_params->ch_mult != 1)
		return tb_nn_depthwise_conv_s8_ref(ctx, dw_conv_params, quant_params,
						   input_dims, input, filter_dims, filter,
						   bias, output_dims, output);

	in_batch = (size_t)input_dims->h * input_dims->w * input_dims->c;
	out_row = (size_t)output_dims->w * output_dims->c;
	for (b = 0; b < input_dims->n; b++) {
		const int8_t *ib = input + (size_t)b * in_batch;
		int8_t *ob = output + (size_t)b * output_dims->h * out_row;

		for (oy = 0; oy < output_dims->h; oy++)
			for (ox = 0; ox < output_dims->w; ox++)
				dw_pixel_fast(dw_conv_params, quant_params, input_dims, ib,
					      filter_dims, filter, bias, oy, ox,
					      ob + oy * out_row + (size_t)ox * output_dims->c);
	}
	return TB_NN_OK;
}
