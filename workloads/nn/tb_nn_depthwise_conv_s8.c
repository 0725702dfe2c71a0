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
 * a time.  tb_nn_depthwise_conv_s8() takes a fast path when the depth
 * multiplier is 1 (every MLPerf Tiny model):
 *  - on a core with MVE (Cortex-M55), four channels per vector ("The MVE
 *    path" below; checked on the target by tests/firmware/nn);
 *  - on a Cortex-M core with the DSP extension (kernels of up to
 *    DW_TAPS_MAX taps), four channels at a time over every output pixel:
 *    the quad's filter taps are widened to halfword pairs (c0, c2),
 *    (c1, c3) once into a table on the stack and its four channels'
 *    requantisation is set up once; a tap is then one input word, widened
 *    the same way with the input offset added (SXTAB16), times the table
 *    lane by lane into four accumulators (SMLABB / SMLATT).  Rows of the
 *    output are split into border columns (tap range per pixel) and inner
 *    columns (the pointers just step; 3x3 windows fully unrolled);
 *  - elsewhere, channels in blocks of DW_BLOCK, each tap adding a
 *    contiguous run of input times a contiguous run of filter into a small
 *    accumulator array on the stack (a loop the compiler vectorises).
 * Bit-identical to the plain path (tests/workloads/test_nn_opt.c).  No
 * scratch memory.
 */
#include <stddef.h>

#include "tb_nn.h"
#include "tb_nn_dsp.h"
#include "tb_nn_mve.h"
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

#if TB_NN_USE_DSP || TB_NN_HAVE_MVE
/* Output columns whose window lies inside the input: [*lo, *hi). */
static void dw_inner_columns(const struct tb_nn_dw_conv_params *p, int32_t in_w, int32_t kw,
			     int32_t out_w, int32_t *lo, int32_t *hi)
{
	const int32_t sw = p->stride.w, pw = p->padding.w;
	const int64_t last = (int64_t)in_w - 1 + pw - (int64_t)(kw - 1) * p->dilation.w;
	int64_t h = last < 0 ? 0 : last / sw + 1;
	int32_t l = (pw + sw - 1) / sw;

	if (l > out_w)
		l = out_w;
	if (h > out_w)
		h = out_w;
	if (h < l)
		h = l;
	*lo = l;
	*hi = (int32_t)h;
}
#endif

#if TB_NN_USE_DSP
#define DW_TAPS_MAX 25	/* kh * kw of the DSP path: 200 bytes of widened filter on the stack */

struct dw_acc4 {
	int32_t a0, a1, a2, a3;
};

/* One tap of a channel quad: four input bytes, the quad's filter taps
 * widened beforehand (t[0] = (c0, c2), t[1] = (c1, c3)). */
static inline struct dw_acc4 dw_tap(struct dw_acc4 a, const int8_t *ip, const uint32_t *t,
				    uint32_t off2)
{
	const uint32_t w = tb_nn_read_u32(ip);
	const uint32_t xe = tb_nn_sxtab16(off2, w), xo = tb_nn_sxtab16_ror8(off2, w);

	a.a0 = tb_nn_smlabb(xe, t[0], a.a0);
	a.a2 = tb_nn_smlatt(xe, t[0], a.a2);
	a.a1 = tb_nn_smlabb(xo, t[1], a.a1);
	a.a3 = tb_nn_smlatt(xo, t[1], a.a3);
	return a;
}

/* What a channel quad's pass needs; set up once per quad. */
struct dw_quad {
	uint32_t taps[2 * DW_TAPS_MAX];	/* widened filter, tap-major */
	struct dw_acc4 bias;
	uint32_t off2;			/* input offset in both halfwords */
	int32_t out_off, lo, hi;
	struct tb_nn_rqd q[4];		/* TB_NN_RQD_ANY */
	int32_t m2[4], right[4], half[4];	/* TB_NN_RQD_USUAL */
};

static inline __attribute__((always_inline)) int8_t
dw_out_dsp(const struct dw_quad *dq, int32_t i, int32_t acc, const int usual)
{
	int32_t v;

	if (usual)
		return (int8_t)tb_nn_rqd_apply_usual(acc, dq->m2[i], dq->right[i], dq->half[i],
						     dq->out_off);
	v = tb_nn_rqd_apply(acc, &dq->q[i], dq->out_off);
	v = v < dq->lo ? dq->lo : v;
	return (int8_t)(v > dq->hi ? dq->hi : v);
}

/*
 * The taps of one pixel: r rows of n taps from ip (input) and t (widened
 * filter), rows row_step bytes and 2 * kw table words apart.  Rows of
 * three and two taps, and the whole 3x3 window, are unrolled.
 */
static inline __attribute__((always_inline)) struct dw_acc4
dw_quad_pixel(struct dw_acc4 a, const int8_t *ip, const uint32_t *t, int32_t n, int32_t r,
	      ptrdiff_t step, ptrdiff_t row_step, int32_t kw, uint32_t off2)
{
	if (n == 3 && r == 3 && kw == 3) {
		a = dw_tap(a, ip, t, off2);
		a = dw_tap(a, ip + step, t + 2, off2);
		a = dw_tap(a, ip + 2 * step, t + 4, off2);
		ip += row_step;
		a = dw_tap(a, ip, t + 6, off2);
		a = dw_tap(a, ip + step, t + 8, off2);
		a = dw_tap(a, ip + 2 * step, t + 10, off2);
		ip += row_step;
		a = dw_tap(a, ip, t + 12, off2);
		a = dw_tap(a, ip + step, t + 14, off2);
		a = dw_tap(a, ip + 2 * step, t + 16, off2);
	} else if (n == 3) {
		for (; r > 0; r--, ip += row_step, t += 2 * kw) {
			a = dw_tap(a, ip, t, off2);
			a = dw_tap(a, ip + step, t + 2, off2);
			a = dw_tap(a, ip + 2 * step, t + 4, off2);
		}
	} else if (n == 2) {
		for (; r > 0; r--, ip += row_step, t += 2 * kw) {
			a = dw_tap(a, ip, t, off2);
			a = dw_tap(a, ip + step, t + 2, off2);
		}
	} else {
		for (; r > 0; r--, ip += row_step, t += 2 * kw) {
			const int8_t *xp = ip;
			const uint32_t *tp = t;
			int32_t k;

			for (k = 0; k < n; k++, xp += step, tp += 2)
				a = dw_tap(a, xp, tp, off2);
		}
	}
	return a;
}

static inline __attribute__((always_inline)) void
dw_store4(const struct dw_quad *dq, struct dw_acc4 a, int8_t *o, const int usual)
{
	o[0] = dw_out_dsp(dq, 0, a.a0, usual);
	o[1] = dw_out_dsp(dq, 1, a.a1, usual);
	o[2] = dw_out_dsp(dq, 2, a.a2, usual);
	o[3] = dw_out_dsp(dq, 3, a.a3, usual);
}

/*
 * Channels c .. c + 3 of every output pixel of one batch.  Each output
 * row is split into the columns whose window lies inside the input
 * (found once per call: no tap range, the input pointer just steps) and
 * the border columns on either side (tap range per pixel).  Each tap is
 * one input word widened with the offset and four SMLABB/SMLATT against
 * the widened filter table.
 */
static inline __attribute__((always_inline)) void
dw_quad_body(const struct dw_quad *dq, const struct tb_nn_dw_conv_params *p,
	     const struct tb_nn_dims *id, const int8_t *in_batch,
	     const struct tb_nn_dims *fd, const struct tb_nn_dims *od, int8_t *out_batch,
	     int32_t c, const int usual)
{
	/* Locals: the int8 stores below could alias any struct field. */
	const int32_t ch = id->c, in_w = id->w, in_h = id->h, kw = fd->w, kh = fd->h;
	const int32_t dw = p->dilation.w, dh = p->dilation.h;
	const int32_t sw = p->stride.w, sh = p->stride.h, pw = p->padding.w, ph = p->padding.h;
	const int32_t out_w = od->w, out_h = od->h;
	const ptrdiff_t step = (ptrdiff_t)dw * ch;	/* input bytes between taps */
	const ptrdiff_t row_step = (ptrdiff_t)dh * in_w * ch;
	const ptrdiff_t x_step = (ptrdiff_t)sw * ch;
	const uint32_t off2 = dq->off2;
	int32_t oy, ox, ox_lo, ox_hi;

	dw_inner_columns(p, in_w, kw, out_w, &ox_lo, &ox_hi);
	for (oy = 0; oy < out_h; oy++) {
		const int32_t iy0 = oy * sh - ph;
		int8_t *const o_row = out_batch + (size_t)oy * out_w * ch + c;
		const int8_t *row = in_batch + c;	/* first in-bounds row, column 0 */
		const uint32_t *t_row;
		int32_t ky_s, ky_e, rows;

		tb_nn_tap_range(iy0, dh, kh, in_h, &ky_s, &ky_e);
		rows = ky_e - ky_s;
		if (rows > 0)
			row += (ptrdiff_t)(iy0 + ky_s * dh) * in_w * ch;
		t_row = dq->taps + 2 * ky_s * kw;

		/* border columns: the in-bounds taps of each window */
		for (ox = 0; ox < out_w; ox++) {
			int32_t ix0, kx_s, kx_e;

			if (ox == ox_lo)
				ox = ox_hi;	/* the inner columns come below */
			if (ox >= out_w)
				break;
			ix0 = ox * sw - pw;
			tb_nn_tap_range(ix0, dw, kw, in_w, &kx_s, &kx_e);
			dw_store4(dq, dw_quad_pixel(dq->bias,
						    kx_s < kx_e ? row + ((ptrdiff_t)ix0 + kx_s * dw) * ch : row,
						    t_row + 2 * kx_s, kx_e - kx_s, rows, step,
						    row_step, kw, off2),
				  o_row + (size_t)ox * ch, usual);
		}
		/* inner columns: whole rows of taps, the pointers just step */
		if (ox_lo < ox_hi) {
			const int8_t *ip = row + ((ptrdiff_t)ox_lo * sw - pw) * ch;
			int8_t *o = o_row + (size_t)ox_lo * ch;

			for (ox = ox_lo; ox < ox_hi; ox++, o += ch, ip += x_step)
				dw_store4(dq, dw_quad_pixel(dq->bias, ip, t_row, kw, rows, step,
							    row_step, kw, off2), o, usual);
		}
	}
}

static void __attribute__((noinline))
dw_quad(const struct tb_nn_dw_conv_params *p,
	const struct tb_nn_per_channel_quant_params *qp, enum tb_nn_rqd_mode mode,
	const struct tb_nn_dims *id, const int8_t *in_batch,
	const struct tb_nn_dims *fd, const int8_t *filter,
	const int32_t *bias, const struct tb_nn_dims *od, int8_t *out_batch, int32_t c)
{
	const int32_t taps = fd->h * fd->w;
	struct dw_quad dq;
	int32_t i;

	for (i = 0; i < taps; i++) {
		const uint32_t w = tb_nn_read_u32(filter + (size_t)i * id->c + c);

		dq.taps[2 * i] = tb_nn_sxtb16(w);
		dq.taps[2 * i + 1] = tb_nn_sxtb16_ror8(w);
	}
	for (i = 0; i < 4; i++) {
		tb_nn_rqd_init(&dq.q[i], qp->multiplier[c + i], qp->shift[c + i]);
		dq.m2[i] = dq.q[i].m2;
		dq.right[i] = dq.q[i].right;
		dq.half[i] = (int32_t)((1u << dq.q[i].right) >> 1);	/* 2^(right - 1) */
	}
	dq.bias = (struct dw_acc4){ 0, 0, 0, 0 };
	if (bias)
		dq.bias = (struct dw_acc4){ bias[c], bias[c + 1], bias[c + 2], bias[c + 3] };
	dq.off2 = tb_nn_pack16x2(p->input_offset, p->input_offset);
	dq.out_off = p->output_offset;
	dq.lo = p->activation.min;
	dq.hi = p->activation.max;
	if (mode == TB_NN_RQD_USUAL)
		dw_quad_body(&dq, p, id, in_batch, fd, od, out_batch, c, 1);
	else
		dw_quad_body(&dq, p, id, in_batch, fd, od, out_batch, c, 0);
}

/* One channel c of every output pixel of one batch (the channels after
 * the last whole quad). */
static void dw_one(const struct tb_nn_dw_conv_params *p,
		   const struct tb_nn_per_channel_quant_params *qp,
		   const struct tb_nn_dims *id, const int8_t *in_batch,
		   const struct tb_nn_dims *fd, const int8_t *filter,
		   const int32_t *bias, const struct tb_nn_dims *od, int8_t *out_batch,
		   int32_t c)
{
	const int32_t ch = id->c;
	struct tb_nn_rq q;
	int32_t oy, ox;

	tb_nn_rq_init(&q, qp->multiplier[c], qp->shift[c]);
	for (oy = 0; oy < od->h; oy++) {
		const int32_t iy0 = oy * p->stride.h - p->padding.h;
		int32_t ky_s, ky_e;

		tb_nn_tap_range(iy0, p->dilation.h, fd->h, id->h, &ky_s, &ky_e);
		for (ox = 0; ox < od->w; ox++) {
			const int32_t ix0 = ox * p->stride.w - p->padding.w;
			int32_t acc = bias ? bias[c] : 0;
			int32_t kx_s, kx_e, ky, kx;

			tb_nn_tap_range(ix0, p->dilation.w, fd->w, id->w, &kx_s, &kx_e);
			for (ky = ky_s; ky < ky_e; ky++) {
				const int32_t iy = iy0 + ky * p->dilation.h;

				for (kx = kx_s; kx < kx_e; kx++) {
					const int32_t ix = ix0 + kx * p->dilation.w;
					const int32_t x = in_batch[((size_t)iy * id->w + ix) * ch + c];

					acc = tb_nn_add_wrap(acc, filter[((size_t)ky * fd->w + kx) * ch + c] *
								  (x + p->input_offset));
				}
			}
			acc = tb_nn_add_wrap(tb_nn_rq_apply(acc, &q), p->output_offset);
			out_batch[((size_t)oy * od->w + ox) * ch + c] =
				(int8_t)tb_nn_clamp(acc, p->activation.min, p->activation.max);
		}
	}
}
#endif

#if TB_NN_HAVE_MVE
/*
 * The MVE path (ch_mult 1, kernels of up to DW_MVE_TAPS taps): four
 * channels per vector, in int32 lanes.  A channel quad's filter taps are
 * widened once into a table on the stack, with its requantisation and
 * its start: bias + off * (the sum of its taps), so that a pixel whose
 * window lies inside the input takes each tap as the input bytes
 * themselves (VLDRB.S32), times the table (VMUL), added (VADD); a border
 * pixel starts at the bias and adds the offset to each in-bounds tap.
 * The last quad of a channel count not a multiple of four is
 * tail-predicated: its loads and stores leave the lanes past the end
 * alone.  Then tb_nn_mve_requant() on the four lanes and a narrowing
 * byte store.
 */
#define DW_MVE_TAPS 25	/* kh * kw: a 400-byte table on the stack */

struct dw_mve {
	int32x4_t taps[DW_MVE_TAPS];	/* widened filter, tap-major */
	int32x4_t start, bias;		/* inner pixels, border pixels */
	int32x4_t mult, shift, lo, hi;
	int32_t off, out_off;
	mve_pred16_t p;			/* the quad's channels */
};

/* One pixel: r rows of n taps from ip and t, rows row_step bytes and kw
 * table entries apart; border pixels (off != 0) add the offset.  The
 * whole 3x3 window of an inner pixel is unrolled. */
static inline __attribute__((always_inline)) int32x4_t
dw_mve_pixel(const struct dw_mve *dm, int32x4_t a, const int8_t *ip, const int32x4_t *t,
	     int32_t n, int32_t r, ptrdiff_t step, ptrdiff_t row_step, int32_t kw,
	     int border, int tail)
{
	int32_t k;

#define DW_MVE_TAP(X, T)						\
	do {								\
		int32x4_t x_ = tail ? vldrbq_z_s32(X, dm->p) : vldrbq_s32(X); \
									\
		if (border)						\
			x_ = vaddq_n_s32(x_, dm->off);			\
		a = vaddq_s32(a, vmulq_s32(x_, T));			\
	} while (0)

	if (!border && n == 3 && r == 3 && kw == 3) {
		DW_MVE_TAP(ip, t[0]);
		DW_MVE_TAP(ip + step, t[1]);
		DW_MVE_TAP(ip + 2 * step, t[2]);
		ip += row_step;
		DW_MVE_TAP(ip, t[3]);
		DW_MVE_TAP(ip + step, t[4]);
		DW_MVE_TAP(ip + 2 * step, t[5]);
		ip += row_step;
		DW_MVE_TAP(ip, t[6]);
		DW_MVE_TAP(ip + step, t[7]);
		DW_MVE_TAP(ip + 2 * step, t[8]);
		return a;
	}
	for (; r > 0; r--, ip += row_step, t += kw)
		for (k = 0; k < n; k++)
			DW_MVE_TAP(ip + k * step, t[k]);
#undef DW_MVE_TAP
	return a;
}

static inline __attribute__((always_inline)) void
dw_mve_store(const struct dw_mve *dm, int32x4_t a, int8_t *o, int tail)
{
	const int32x4_t v = tb_nn_mve_requant(a, dm->mult, dm->shift, dm->out_off, dm->lo, dm->hi);

	if (tail)
		vstrbq_p_s32(o, v, dm->p);
	else
		vstrbq_s32(o, v);
}

/* Channels c .. c + 3 of every output pixel of one batch: border columns
 * with a tap range per pixel, inner columns (dw_inner_columns()) with the
 * pointers just stepping, as the DSP path does. */
static inline __attribute__((always_inline)) void
dw_mve_body(const struct dw_mve *dm, const struct tb_nn_dw_conv_params *p,
	    const struct tb_nn_dims *id, const int8_t *in_batch,
	    const struct tb_nn_dims *fd, const struct tb_nn_dims *od, int8_t *out_batch,
	    int32_t c, int tail)
{
	const int32_t ch = id->c, in_w = id->w, in_h = id->h, kw = fd->w, kh = fd->h;
	const int32_t dw = p->dilation.w, dh = p->dilation.h;
	const int32_t sw = p->stride.w, sh = p->stride.h, pw = p->padding.w, ph = p->padding.h;
	const int32_t out_w = od->w, out_h = od->h;
	const ptrdiff_t step = (ptrdiff_t)dw * ch, row_step = (ptrdiff_t)dh * in_w * ch;
	const ptrdiff_t x_step = (ptrdiff_t)sw * ch;
	int32_t oy, ox, ox_lo, ox_hi;

	dw_inner_columns(p, in_w, kw, out_w, &ox_lo, &ox_hi);
	for (oy = 0; oy < out_h; oy++) {
		const int32_t iy0 = oy * sh - ph;
		int8_t *const o_row = out_batch + (size_t)oy * out_w * ch + c;
		const int8_t *row = in_batch + c;
		int32_t ky_s, ky_e, rows;
		int inner_rows;

		tb_nn_tap_range(iy0, dh, kh, in_h, &ky_s, &ky_e);
		rows = ky_e - ky_s;
		inner_rows = rows == kh;
		if (rows > 0)
			row += (ptrdiff_t)(iy0 + ky_s * dh) * in_w * ch;
		for (ox = 0; ox < out_w; ox++) {
			int32_t ix0, kx_s, kx_e;

			if (ox == ox_lo && inner_rows)
				ox = ox_hi;	/* the inner pixels come below */
			if (ox >= out_w)
				break;
			ix0 = ox * sw - pw;
			tb_nn_tap_range(ix0, dw, kw, in_w, &kx_s, &kx_e);
			dw_mve_store(dm, dw_mve_pixel(dm, dm->bias,
						      row + ((ptrdiff_t)ix0 + kx_s * dw) * ch,
						      dm->taps + ky_s * kw + kx_s, kx_e - kx_s,
						      rows, step, row_step, kw, 1, tail),
				     o_row + (size_t)ox * ch, tail);
		}
		if (inner_rows && ox_lo < ox_hi) {
			const int8_t *ip = row + ((ptrdiff_t)ox_lo * sw - pw) * ch;
			int8_t *o = o_row + (size_t)ox_lo * ch;

			for (ox = ox_lo; ox < ox_hi; ox++, o += ch, ip += x_step)
				dw_mve_store(dm, dw_mve_pixel(dm, dm->start, ip, dm->taps, kw, kh,
							      step, row_step, kw, 0, tail),
					     o, tail);
		}
	}
}

static void __attribute__((noinline))
dw_mve_quad(const struct tb_nn_dw_conv_params *p,
	    const struct tb_nn_per_channel_quant_params *qp,
	    const struct tb_nn_dims *id, const int8_t *in_batch,
	    const struct tb_nn_dims *fd, const int8_t *filter,
	    const int32_t *bias, const struct tb_nn_dims *od, int8_t *out_batch, int32_t c)
{
	const int32_t taps = fd->h * fd->w;
	struct dw_mve dm;
	int32x4_t sum = vdupq_n_s32(0);
	int32_t i;

	dm.p = vctp32q((uint32_t)(id->c - c));
	for (i = 0; i < taps; i++) {
		dm.taps[i] = vldrbq_z_s32(filter + (size_t)i * id->c + c, dm.p);
		sum = vaddq_s32(sum, dm.taps[i]);
	}
	dm.bias = bias ? vldrwq_z_s32(bias + c, dm.p) : vdupq_n_s32(0);
	dm.start = vaddq_s32(dm.bias, vmulq_n_s32(sum, p->input_offset));
	dm.mult = vldrwq_z_s32(qp->multiplier + c, dm.p);
	dm.shift = vldrwq_z_s32(qp->shift + c, dm.p);
	dm.lo = vdupq_n_s32(p->activation.min);
	dm.hi = vdupq_n_s32(p->activation.max);
	dm.off = p->input_offset;
	dm.out_off = p->output_offset;
	if (id->c - c < 4)
		dw_mve_body(&dm, p, id, in_batch, fd, od, out_batch, c, 1);
	else
		dw_mve_body(&dm, p, id, in_batch, fd, od, out_batch, c, 0);
}
#endif

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
#if TB_NN_USE_DSP
	enum tb_nn_rqd_mode mode;
#endif

	if (!dw_args_ok(dw_conv_params, quant_params, input_dims, input,
			filter_dims, filter, output_dims, output))
		return TB_NN_ERR_ARG;
	if (dw_conv_params->ch_mult != 1)
		return tb_nn_depthwise_conv_s8_ref(ctx, dw_conv_params, quant_params,
						   input_dims, input, filter_dims, filter,
						   bias, output_dims, output);

	in_batch = (size_t)input_dims->h * input_dims->w * input_dims->c;
	out_row = (size_t)output_dims->w * output_dims->c;
#if TB_NN_HAVE_MVE
	if (filter_dims->h * filter_dims->w <= DW_MVE_TAPS) {
		for (b = 0; b < input_dims->n; b++) {
			const int8_t *ib = input + (size_t)b * in_batch;
			int8_t *ob = output + (size_t)b * output_dims->h * out_row;
			int32_t c;

			for (c = 0; c < input_dims->c; c += 4)
				dw_mve_quad(dw_conv_params, quant_params, input_dims, ib,
					    filter_dims, filter, bias, output_dims, ob, c);
		}
		return TB_NN_OK;
	}
#elif TB_NN_USE_DSP
	mode = tb_nn_rqd_mode(quant_params->multiplier, quant_params->shift, filter_dims->c,
			      dw_conv_params->output_offset, dw_conv_params->activation.min,
			      dw_conv_params->activation.max);
	if (dw_conv_params->input_offset >= -32640 && dw_conv_params->input_offset <= 32639 &&
	    filter_dims->h * filter_dims->w <= DW_TAPS_MAX && mode != TB_NN_RQD_NONE) {
		for (b = 0; b < input_dims->n; b++) {
			const int8_t *ib = input + (size_t)b * in_batch;
			int8_t *ob = output + (size_t)b * output_dims->h * out_row;
			int32_t c = 0;

			for (; c + 4 <= input_dims->c; c += 4)
				dw_quad(dw_conv_params, quant_params, mode, input_dims, ib,
					filter_dims, filter, bias, output_dims, ob, c);
			for (; c < input_dims->c; c++)
				dw_one(dw_conv_params, quant_params, input_dims, ib, filter_dims,
				       filter, bias, output_dims, ob, c);
		}
		return TB_NN_OK;
	}
#endif
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
