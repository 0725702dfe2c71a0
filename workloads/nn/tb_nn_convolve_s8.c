/*
 * tb_nn_convolve_s8.c - int8 convolution with per-channel requantisation.
 *
 * Bit-exact with TFLite's reference_integer_ops::ConvPerChannel: for each
 * output element, acc = sum(filter * (input + input_offset)) over the taps
 * that fall inside the input (padding contributes nothing), acc += bias,
 * then MultiplyByQuantizedMultiplier with the channel's (multiplier, shift),
 * + output_offset, clamp.
 *
 * Two paths, bit-identical (tests/workloads/test_nn_opt.c checks it):
 *  - tb_nn_convolve_s8_ref(): the plain C loop nest, one output channel
 *    at a time over every in-bounds tap;
 *  - tb_nn_convolve_s8(): the fast path.  With dilation 1 the in-bounds
 *    taps of one filter row are one contiguous run of kw * in_ch bytes in
 *    both the input and the filter, so each row is a single dot product
 *    (tb_nn_dot_s8(): SMLAD two MACs per instruction on a DSP core, a
 *    vectorisable loop elsewhere), computed for four output channels at a
 *    time on the generic path.
 * The tap range of each output position is computed once, so the inner
 * loops have no bounds checks.  No scratch memory.
 */
#include "tb_nn.h"
#include "tb_nn_dot.h"
#include "tb_nn_support.h"

int32_t tb_nn_convolve_s8_get_buffer_size(const struct tb_nn_dims *input_dims,
					  const struct tb_nn_dims *filter_dims)
{
	(void)input_dims;
	(void)filter_dims;
	return 0;	/* the pure C path needs no scratch */
}

static int conv_args_ok(const struct tb_nn_conv_params *p,
			const struct tb_nn_per_channel_quant_params *q,
			const struct tb_nn_dims *id, const int8_t *input,
			const struct tb_nn_dims *fd, const int8_t *filter,
			const struct tb_nn_dims *od, const int8_t *output)
{
	if (!p || !q || !q->multiplier || !q->shift || !id || !input ||
	    !fd || !filter || !od || !output)
		return 0;
	if (id->n < 1 || id->h < 1 || id->w < 1 || id->c < 1)
		return 0;
	if (fd->n < 1 || fd->h < 1 || fd->w < 1 || fd->c != id->c)
		return 0;
	if (od->n != id->n || od->h < 1 || od->w < 1 || od->c != fd->n)
		return 0;
	if (p->stride.h < 1 || p->stride.w < 1 ||
	    p->dilation.h < 1 || p->dilation.w < 1 ||
	    p->padding.h < 0 || p->padding.w < 0)
		return 0;
	return p->activation.min <= p->activation.max;
}

/* One output pixel: all output channels at (batch, oy, ox). */
static void conv_pixel(const struct tb_nn_conv_params *p,
		       const struct tb_nn_per_channel_quant_params *q,
		       const struct tb_nn_dims *id, const int8_t *in_batch,
		       const struct tb_nn_dims *fd, const int8_t *filter,
		       const int32_t *bias, int32_t oy, int32_t ox, int8_t *out)
{
	const int32_t in_ch = id->c;
	const int32_t iy0 = oy * p->stride.h - p->padding.h;
	const int32_t ix0 = ox * p->stride.w - p->padding.w;
	int32_t ky_start, ky_end, kx_start, kx_end;
	int32_t oc;

	tb_nn_tap_range(iy0, p->dilation.h, fd->h, id->h, &ky_start, &ky_end);
	tb_nn_tap_range(ix0, p->dilation.w, fd->w, id->w, &kx_start, &kx_end);

	for (oc = 0; oc < fd->n; oc++) {
		const int8_t *f_oc = filter + (size_t)oc * fd->h * fd->w * in_ch;
		int32_t acc = 0;
		int32_t ky, kx, c;

		for (ky = ky_start; ky < ky_end; ky++) {
			const int32_t iy = iy0 + ky * p->dilation.h;

			for (kx = kx_start; kx < kx_end; kx++) {
				const int32_t ix = ix0 + kx * p->dilation.w;
				const int8_t *ip = in_batch + ((size_t)iy * id->w + ix) * in_ch;
				const int8_t *fp = f_oc + ((size_t)ky * fd->w + kx) * in_ch;

				for (c = 0; c < in_ch; c++)
					acc += fp[c] * (ip[c] + p->input_offset);
			}
		}
		if (bias)
			acc = tb_nn_add_wrap(acc, bias[oc]);
		acc = tb_nn_requant(acc, q->multiplier[oc], q->shift[oc]);
		acc = tb_nn_add_wrap(acc, p->output_offset);
		out[oc] = (int8_t)tb_nn_clamp(acc, p->activation.min, p->activation.max);
	}
}

int tb_nn_convolve_s8_ref(const struct tb_nn_context *ctx,
		      const struct tb_nn_conv_params *conv_params,
		      const struct tb_nn_per_channel_quant_params *quant_params,
		      const struct tb_nn_dims *input_dims, const int8_t *input,
		      const struct tb_nn_dims *filter_dims, const int8_t *filter,
		      const int32_t *bias,
		      const struct tb_nn_dims *output_dims, int8_t *output)
{
	size_t in_batch, out_row;
	int32_t b, oy, ox;

	(void)ctx;
	if (!conv_args_ok(conv_params, quant_params, input_dims, input,
			  filter_dims, filter, output_dims, output))
		return TB_NN_ERR_ARG;

	in_batch = (size_t)input_dims->h * input_dims->w * input_dims->c;
	out_row = (size_t)output_dims->w * output_dims->c;

	for (b = 0; b < input_dims->n; b++) {
		const int8_t *ib = input + (size_t)b * in_batch;
		int8_t *ob = output + (size_t)b * output_dims->h * out_row;

		for (oy = 0; oy < output_dims->h; oy++)
			for (ox = 0; ox < output_dims->w; ox++)
				conv_pixel(conv_params, quant_params, input_dims, ib,
					   filter_dims, filter, bias, oy, ox,
					   ob + oy * out_row + (size_t)ox * output_dims->c);
	}
	return TB_NN_OK;
}

/* Requantise, offset and clamp one accumulator. */
static int8_t conv_out(const struct tb_nn_conv_params *p,
		       const struct tb_nn_per_channel_quant_params *q,
		       const int32_t *bias, int32_t oc, int32_t acc)
{
	if (bias)
		acc = tb_nn_add_wrap(acc, bias[oc]);
	acc = tb_nn_requant(acc, q->multiplier[oc], q->shift[oc]);
	acc = tb_nn_add_wrap(acc, p->output_offset);
	return (int8_t)tb_nn_clamp(acc, p->activation.min, p->activation.max);
}

/* Fast path, one output pixel: a dot product per filter row and channel. */
static void conv_pixel_fast(const struct tb_nn_conv_params *p,
			    const struct tb_nn_per_channel_quant_params *q,
			    const struct tb_nn_dims *id, const int8_t *in_batch,
			    const struct tb_nn_dims *fd, const int8_t *filter,
			    const int32_t *bias, int32_t oy, int32_t ox, int8_t *out)
{
	const int32_t in_ch = id->c;
	const int32_t iy0 = oy * p->stride.h - p->padding.h;
	const int32_t ix0 = ox * p->stride.w - p->padding.w;
	const size_t f_size = (size_t)fd->h * fd->w * in_ch;
	int32_t ky_start, ky_end, kx_start, kx_end, run, oc = 0;

	tb_nn_tap_range(iy0, p->dilation.h, fd->h, id->h, &ky_start, &ky_end);
	tb_nn_tap_range(ix0, 1, fd->w, id->w, &kx_start, &kx_end);
	run = (kx_end - kx_start) * in_ch;

#if !TB_NN_HAVE_DSP
	for (; oc + 4 <= fd->n; oc += 4) {
		int32_t acc[4] = { 0, 0, 0, 0 };
		int32_t ky;

		for (ky = ky_start; ky < ky_end; ky++) {
			const int32_t iy = iy0 + ky * p->dilation.h;
			const int8_t *ip = in_batch + ((size_t)iy * id->w + ix0 + kx_start) * in_ch;
			const int8_t *fp = filter + (size_t)oc * f_size +
					   ((size_t)ky * fd->w + kx_start) * in_ch;

			tb_nn_dot4_s8(ip, fp, f_size, run, p->input_offset, acc);
		}
		out[oc] = conv_out(p, q, bias, oc, acc[0]);
		out[oc + 1] = conv_out(p, q, bias, oc + 1, acc[1]);
		out[oc + 2] = conv_out(p, q, bias, oc + 2, acc[2]);
		out[oc + 3] = conv_out(p, q, bias, oc + 3, acc[3]);
	}
#endif
	for (; oc < fd->n; oc++) {
		int32_t acc = 0;
		int32_t ky;

		for (ky = ky_start; ky < ky_end; ky++) {
			const int32_t iy = iy0 + ky * p->dilation.h;
			const int8_t *ip = in_batch + ((size_t)iy * id->w + ix0 + kx_start) * in_ch;
			const int8_t *fp = filter + (size_t)oc * f_size +
					   ((size_t)ky * fd->w + kx_start) * in_ch;

			acc = tb_nn_add_wrap(acc, tb_nn_dot_s8(ip, fp, run, p->input_offset));
		}
		out[oc] = conv_out(p, q, bias, oc, acc);
	}
}

int tb_nn_convolve_s8(const struct tb_nn_context *ctx,
		      const struct tb_nn_conv_params *conv_params,
		      const struct tb_nn_per_channel_quant_params *quant_params,
		      const struct tb_nn_dims *input_dims, const int8_t *input,
		      const struct tb_nn_dims *filter_dims, const int8_t *filter,
		      const int32_t *bias,
		      const struct tb_nn_dims *output_dims, int8_t *output)
{
	size_t in_batch, out_row;
	int32_t b, oy, ox;

	if (!conv_args_ok(conv_params, quant_params, input_dims, input,
			  filter_dims, filter, output_dims, output))
		return TB_NN_ERR_ARG;
	/* Dilated rows are not contiguous: the plain path handles them. */
	if (conv_params->dilation.w != 1)
		return tb_nn_convolve_s8_ref(ctx, conv_params, quant_params, input_dims,
					     input, filter_dims, filter, bias,
					     output_dims, output);

	in_batch = (size_t)input_dims->h * input_dims->w * input_dims->c;
	out_row = (size_t)output_dims->w * output_dims->c;
	for (b = 0; b < input_dims->n; b++) {
		const int8_t *ib = input + (size_t)b * in_batch;
		int8_t *ob = output + (size_t)b * output_dims->h * out_row;

		for (oy = 0; oy < output_dims->h; oy++)
			for (ox = 0; ox < output_dims->w; ox++)
				conv_pixel_fast(conv_params, quant_params, input_dims, ib,
						filter_dims, filter, bias, oy, ox,
						ob + oy * out_row + (size_t)ox * output_dims->c);
	}
	return TB_NN_OK;
}
