/*
 * tb_nn_convolve_s8.c - int8 convolution with per-channel requantisation.
 *
 * Bit-exact with TFLite's reference_integer_ops::ConvPerChannel: for each
 * output element, acc = sum(filter * (input + input_offset)) over the taps
 * that fall inside the input (padding contributes nothing), acc += bias,
 * then MultiplyByQuantizedMultiplier with the channel's (multiplier, shift),
 * + output_offset, clamp.
 *
 * Four paths, bit-identical (tests/workloads/test_nn_opt.c checks it; the
 * MVE one, which the host cannot run, tests/firmware/nn/tb_nn_check.c on
 * qemu-m55):
 *  - on a core with MVE (Cortex-M55): int8 dot products with VMLADAVA,
 *    see "The MVE path" below;
 *  - tb_nn_convolve_s8_ref(): the plain C loop nest, one output channel
 *    at a time over every in-bounds tap;
 *  - on a Cortex-M core with the DSP extension (and an 8-aligned scratch
 *    buffer of tb_nn_convolve_s8_get_buffer_size() bytes): im2col and a
 *    matrix multiply, the design of CMSIS-NN's convolution.  Two output
 *    pixels at a time, each patch is gathered into the scratch once,
 *    widened to int16 with the input offset added (SXTAB16; padding taps
 *    are 0) and its lanes reordered so they line up with SXTB16 of four
 *    filter bytes; then two filter rows times the two columns, four SMLAD
 *    accumulators (16 MACs per four filter bytes of each row, the bias as
 *    their start).  The accumulators of up to MM_CHUNK channels are kept,
 *    then requantised channel by channel, each channel's (multiplier,
 *    shift) turned into a struct tb_nn_rqd once for both pixels
 *    (tb_nn_dsp.h: SMMULR, and in the usual case QADD);
 *  - elsewhere (or without scratch): with dilation 1 the in-bounds taps
 *    of one filter row are one contiguous run of kw * in_ch bytes in both
 *    the input and the filter, so each row is a dot product computed for
 *    four output channels at a time (a loop the compiler vectorises).
 * The tap range of each output position is computed once, so the inner
 * loops have no bounds checks.
 */
#include <string.h>

#include "tb_nn.h"
#include "tb_nn_dot.h"
#include "tb_nn_dsp.h"
#include "tb_nn_mve.h"
#include "tb_nn_support.h"

/*
 * Scratch of the im2col path: two columns of the patch depth, int16,
 * padded to whole groups of four lanes.  The same on every target (the
 * model blob plans it, and one blob runs everywhere); a path that does
 * not use it ignores it.
 */
int32_t tb_nn_convolve_s8_get_buffer_size(const struct tb_nn_dims *input_dims,
					  const struct tb_nn_dims *filter_dims)
{
	int64_t depth;

	if (!input_dims || !filter_dims || filter_dims->h < 1 || filter_dims->w < 1 ||
	    input_dims->c < 1)
		return 0;
	depth = (int64_t)filter_dims->h * filter_dims->w * input_dims->c;
	if (depth > (INT32_MAX - 16) / 4)
		return 0;
	return (int32_t)(16 * ((depth + 3) / 4));
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

#if TB_NN_USE_DSP
/*
 * The im2col scratch of a pixel pair.  Column j (0 or 1) holds the patch
 * element q (natural order: (ky * kw + kx) * in_ch + c) widened to int16
 * as input + offset, or 0 for a padding tap.  Whole groups of four
 * elements take 16 bytes: the lanes (q0, q2) of column 0, then of column
 * 1, then the lanes (q1, q3) of column 0, then of column 1.  That lane
 * order is what SXTB16 and SXTB16 ROR #8 make of four filter bytes, so
 * SMLAD pairs them right; and the words one filter word meets in both
 * columns are adjacent, one LDRD.  The last, partial group (depth % 4
 * elements) keeps natural order, column j at byte 8 * j.
 */
struct im2col {
	uint8_t *buf;
	int32_t depth;			/* patch elements: kh * kw * in_ch */
	int32_t depth4;			/* those in whole groups */
	int32_t off;			/* input offset */
	uint32_t off2;			/* the offset in both halfwords */
};

/* Byte offset of patch element q of column j. */
static inline size_t col_byte(int32_t depth4, int32_t j, int32_t q)
{
	const int32_t lane = q & 3;

	if (q >= depth4)
		return (size_t)(q >> 2) * 16 + (size_t)j * 8 + (size_t)lane * 2;
	/* lanes 0, 2 in the first word pair, 1, 3 in the second */
	return (size_t)(q >> 2) * 16 + (size_t)(lane & 1) * 8 + (size_t)j * 4 +
	       (size_t)(lane >> 1) * 2;
}

/*
 * n elements of column j from patch index q on: src[i] + offset, or 0
 * (padding) when src is NULL.  Whole groups go four bytes at a time (one
 * load, two SXTAB16, two stores), the rest one by one.  The struct's
 * fields are copied first: the stores could alias it.
 */
static void col_run(const struct im2col *ic, int32_t j, int32_t q, const int8_t *src,
		    int32_t n)
{
	uint8_t *const buf = ic->buf;
	const int32_t depth4 = ic->depth4, off = ic->off;
	const uint32_t off2 = ic->off2;
	int16_t h;

	for (; n > 0 && ((q & 3) || q + 4 > depth4); q++, n--) {
		h = (int16_t)(src ? *src++ + off : 0);
		memcpy(buf + col_byte(depth4, j, q), &h, 2);
	}
	if (n >= 4) {
		int32_t g = (depth4 - q < n ? depth4 - q : n) >> 2;
		uint8_t *d = buf + (size_t)(q >> 2) * 16 + (size_t)j * 4;

		q += 4 * g;
		n -= 4 * g;
		if (src) {
			for (; g > 0; g--, d += 16, src += 4) {
				const uint32_t w = tb_nn_read_u32(src);

				tb_nn_store32(d, tb_nn_sxtab16(off2, w));
				tb_nn_store32(d + 8, tb_nn_sxtab16_ror8(off2, w));
			}
		} else {
			for (; g > 0; g--, d += 16) {
				tb_nn_store32(d, 0);
				tb_nn_store32(d + 8, 0);
			}
		}
	}
	for (; n > 0; q++, n--) {
		h = (int16_t)(src ? *src++ + off : 0);
		memcpy(buf + col_byte(depth4, j, q), &h, 2);
	}
}

/* Gather output pixel (oy, ox)'s patch into column j. */
static void im2col_pixel(const struct im2col *ic, int32_t j,
			 const struct tb_nn_conv_params *p, const struct tb_nn_dims *id,
			 const int8_t *in_batch, const struct tb_nn_dims *fd,
			 int32_t oy, int32_t ox)
{
	const int32_t in_ch = id->c, row = fd->w * in_ch;
	const int32_t iy0 = oy * p->stride.h - p->padding.h;
	const int32_t ix0 = ox * p->stride.w - p->padding.w;
	int32_t kx_s, kx_e, ky, kx;

	tb_nn_tap_range(ix0, p->dilation.w, fd->w, id->w, &kx_s, &kx_e);
	for (ky = 0; ky < fd->h; ky++) {
		const int32_t iy = iy0 + ky * p->dilation.h;
		const int32_t q = ky * row;
		const int8_t *irow;

		if (iy < 0 || iy >= id->h || kx_s >= kx_e) {
			col_run(ic, j, q, NULL, row);
			continue;
		}
		irow = in_batch + (size_t)iy * id->w * in_ch;
		if (p->dilation.w == 1) {
			if (kx_s > 0)
				col_run(ic, j, q, NULL, kx_s * in_ch);
			col_run(ic, j, q + kx_s * in_ch, irow + (size_t)(ix0 + kx_s) * in_ch,
				(kx_e - kx_s) * in_ch);
			if (kx_e < fd->w)
				col_run(ic, j, q + kx_e * in_ch, NULL, (fd->w - kx_e) * in_ch);
			continue;
		}
		for (kx = 0; kx < fd->w; kx++)
			col_run(ic, j, q + kx * in_ch,
				kx >= kx_s && kx < kx_e ?
				irow + (size_t)(ix0 + kx * p->dilation.w) * in_ch : NULL,
				in_ch);
	}
}

static inline int16_t col_tail(const struct im2col *ic, int32_t j, int32_t k)
{
	int16_t v;

	memcpy(&v, ic->buf + (size_t)(ic->depth4 >> 2) * 16 + (size_t)j * 8 + 2 * (size_t)k, 2);
	return v;
}

/* What the matrix multiply needs besides the columns: set up once per
 * call (the loops copy what they use into locals, as int8 stores could
 * alias the struct). */
struct conv_mm {
	const int8_t *filter;
	const int32_t *bias, *mult, *shift;
	int32_t out_ch, depth;
	int32_t out_off, act_min, act_max;
	int usual;			/* TB_NN_RQD_USUAL */
};

struct acc2x2 {
	int32_t a00, a01, a10, a11;	/* row (channel) x column (pixel) */
};

/*
 * One group: four filter bytes of each row times both columns.  Even
 * lanes of both rows first, then odd lanes, so no more than thirteen
 * values are live (the four accumulators, four pointers, two filter
 * words, one widened filter word, two column words).
 */
#define MM_GROUP(F, C)							\
	do {								\
		const uint32_t w0_ = tb_nn_read_u32(F);			\
		const uint32_t w1_ = tb_nn_read_u32((F) + depth);	\
		uint32_t x0_ = tb_nn_load32(C), x1_ = tb_nn_load32((C) + 4); \
		uint32_t f_ = tb_nn_sxtb16(w0_);			\
									\
		a.a00 = tb_nn_smlad(f_, x0_, a.a00);			\
		a.a01 = tb_nn_smlad(f_, x1_, a.a01);			\
		f_ = tb_nn_sxtb16(w1_);					\
		a.a10 = tb_nn_smlad(f_, x0_, a.a10);			\
		a.a11 = tb_nn_smlad(f_, x1_, a.a11);			\
		x0_ = tb_nn_load32((C) + 8);				\
		x1_ = tb_nn_load32((C) + 12);				\
		f_ = tb_nn_sxtb16_ror8(w0_);				\
		a.a00 = tb_nn_smlad(f_, x0_, a.a00);			\
		a.a01 = tb_nn_smlad(f_, x1_, a.a01);			\
		f_ = tb_nn_sxtb16_ror8(w1_);				\
		a.a10 = tb_nn_smlad(f_, x0_, a.a10);			\
		a.a11 = tb_nn_smlad(f_, x1_, a.a11);			\
	} while (0)

/*
 * Two filter rows (f, f + depth) times the two columns over n whole
 * groups: per group two filter loads, four column loads, four SXTB16
 * and eight SMLAD for 16 MACs; two groups per iteration.
 */
static inline struct acc2x2 mm_2x2(struct acc2x2 a, const int8_t *f, int32_t depth,
				   const uint8_t *c8, int32_t n)
{
	/* 8-aligned (the caller checks): adjacent words load as one LDRD */
	const uint8_t *c = __builtin_assume_aligned(c8, 8);
	const uint8_t *c_end = c + (size_t)(n & ~1) * 16;

	while (c < c_end) {
		MM_GROUP(f, c);
		MM_GROUP(f + 4, c + 16);
		f += 8;
		c += 32;
	}
	if (n & 1)
		MM_GROUP(f, c);
	return a;
}

/* Requantise, offset, saturate; clamp unless in the usual mode. */
static inline __attribute__((always_inline)) int8_t
conv_out_dsp(int32_t acc, const struct tb_nn_rqd *q, int32_t out_off, int32_t lo, int32_t hi,
	     const int usual)
{
	int32_t v;

	if (usual)
		return (int8_t)tb_nn_rqd_apply_usual(acc, q->m2, q->right, q->half, out_off);
	v = tb_nn_rqd_apply(acc, q, out_off);
	v = v < lo ? lo : v;
	return (int8_t)(v > hi ? hi : v);
}

/* A channel's requantisation: what the usual mode needs is cheap to
 * derive (m2, right, half). */
static inline __attribute__((always_inline)) void
conv_rq_init(struct tb_nn_rqd *q, int32_t multiplier, int32_t shift, const int usual)
{
	if (usual) {
		q->m2 = (int32_t)((uint32_t)multiplier << 1);
		q->right = -shift;
		q->half = 1 << (-shift - 1);
		return;
	}
	tb_nn_rqd_init(q, multiplier, shift);
}

#define MM_CHUNK 32	/* output channels per requantisation pass: 256 bytes of stack */

/*
 * Accumulators of channels [oc0, oc0 + n) for the pixel pair (acc[k][0]
 * column 0, acc[k][1] column 1): two filter rows at a time, four
 * accumulators (row x column) started at the bias, each group of four
 * filter bytes widened once for both columns.  one_col: column 0 only
 * (the odd last pixel).
 */
static void mm_chunk(const struct conv_mm *mm, const struct im2col *ic, int32_t oc0, int32_t n,
		     int one_col, int32_t acc[][2])
{
	const int32_t depth = mm->depth, groups = ic->depth4 >> 2;
	const int32_t rest = depth - ic->depth4;
	const int32_t *bias = mm->bias ? mm->bias + oc0 : NULL;
	const int8_t *f0 = mm->filter + (size_t)oc0 * depth;
	int32_t k = 0, t;

	for (; !one_col && k + 2 <= n; k += 2, f0 += 2 * (size_t)depth) {
		const int8_t *f1 = f0 + depth;
		struct acc2x2 a;

		a.a00 = a.a01 = bias ? bias[k] : 0;
		a.a10 = a.a11 = bias ? bias[k + 1] : 0;
		a = mm_2x2(a, f0, depth, ic->buf, groups);
		for (t = 0; t < rest; t++) {
			const int32_t x0 = col_tail(ic, 0, t), x1 = col_tail(ic, 1, t);
			const int32_t g0 = f0[ic->depth4 + t], g1 = f1[ic->depth4 + t];

			a.a00 = tb_nn_add_wrap(a.a00, g0 * x0);
			a.a01 = tb_nn_add_wrap(a.a01, g0 * x1);
			a.a10 = tb_nn_add_wrap(a.a10, g1 * x0);
			a.a11 = tb_nn_add_wrap(a.a11, g1 * x1);
		}
		acc[k][0] = a.a00;
		acc[k][1] = a.a01;
		acc[k + 1][0] = a.a10;
		acc[k + 1][1] = a.a11;
	}
	/* One row at a time: the last odd channel, or every channel of a
	 * lone column. */
	for (; k < n; k++, f0 += depth) {
		const uint8_t *c = ic->buf;
		const int8_t *f = f0;
		int32_t a0 = bias ? bias[k] : 0, a1 = a0, g;

		for (g = 0; g < groups; g++, c += 16, f += 4) {
			const uint32_t w0 = tb_nn_read_u32(f);
			const uint32_t fe = tb_nn_sxtb16(w0), fo = tb_nn_sxtb16_ror8(w0);

			a0 = tb_nn_smlad(fe, tb_nn_load32(c), a0);
			a0 = tb_nn_smlad(fo, tb_nn_load32(c + 8), a0);
			if (!one_col) {
				a1 = tb_nn_smlad(fe, tb_nn_load32(c + 4), a1);
				a1 = tb_nn_smlad(fo, tb_nn_load32(c + 12), a1);
			}
		}
		for (t = 0; t < rest; t++) {
			a0 = tb_nn_add_wrap(a0, f[t] * col_tail(ic, 0, t));
			a1 = tb_nn_add_wrap(a1, f[t] * col_tail(ic, 1, t));
		}
		acc[k][0] = a0;
		acc[k][1] = a1;
	}
}

/*
 * Requantise a chunk's accumulators, channel by channel: each channel's
 * (multiplier, shift) turned into its form once, for both pixels.
 */
static inline __attribute__((always_inline)) void
rq_chunk(const struct conv_mm *mm, int32_t oc0, int32_t n, int32_t acc[][2],
	 int8_t *out0, int8_t *out1, const int usual)
{
	const int32_t *mult = mm->mult + oc0, *shift = mm->shift + oc0;
	const int32_t out_off = mm->out_off, lo = mm->act_min, hi = mm->act_max;
	int32_t k;

	out0 += oc0;
	for (k = 0; k < n; k++) {
		struct tb_nn_rqd q;

		conv_rq_init(&q, mult[k], shift[k], usual);
		out0[k] = conv_out_dsp(acc[k][0], &q, out_off, lo, hi, usual);
		if (out1)
			out1[oc0 + k] = conv_out_dsp(acc[k][1], &q, out_off, lo, hi, usual);
	}
}

static void __attribute__((noinline))
conv_mat_mult(const struct conv_mm *mm, const struct im2col *ic, int8_t *out0, int8_t *out1)
{
	int32_t acc[MM_CHUNK][2];
	int32_t oc0, n;

	for (oc0 = 0; oc0 < mm->out_ch; oc0 += n) {
		n = mm->out_ch - oc0 < MM_CHUNK ? mm->out_ch - oc0 : MM_CHUNK;
		mm_chunk(mm, ic, oc0, n, !out1, acc);
		if (mm->usual)
			rq_chunk(mm, oc0, n, acc, out0, out1, 1);
		else
			rq_chunk(mm, oc0, n, acc, out0, out1, 0);
	}
}

/* The im2col path: conv_args_ok() and the scratch size checked. */
static void conv_dsp(const struct tb_nn_context *ctx, const struct tb_nn_conv_params *p,
		     const struct tb_nn_per_channel_quant_params *q, enum tb_nn_rqd_mode mode,
		     const struct tb_nn_dims *id, const int8_t *input,
		     const struct tb_nn_dims *fd, const int8_t *filter, const int32_t *bias,
		     const struct tb_nn_dims *od, int8_t *output)
{
	const size_t in_batch = (size_t)id->h * id->w * id->c;
	const int32_t out_ch = od->c, npix = od->h * od->w;
	const struct conv_mm mm = {
		.filter = filter, .bias = bias, .mult = q->multiplier, .shift = q->shift,
		.out_ch = out_ch, .depth = fd->h * fd->w * id->c,
		.out_off = p->output_offset,
		.act_min = p->activation.min, .act_max = p->activation.max,
		.usual = mode == TB_NN_RQD_USUAL,
	};
	struct im2col ic;
	int32_t b;

	ic.buf = ctx->buf;
	ic.depth = fd->h * fd->w * id->c;
	ic.depth4 = ic.depth & ~3;
	ic.off = p->input_offset;
	ic.off2 = tb_nn_pack16x2(p->input_offset, p->input_offset);
	for (b = 0; b < id->n; b++) {
		const int8_t *ib = input + (size_t)b * in_batch;
		int8_t *ob = output + (size_t)b * npix * out_ch;
		int32_t pix, oy = 0, ox = 0;

		for (pix = 0; pix < npix; pix += 2) {
			int8_t *o0 = ob + (size_t)pix * out_ch;

			im2col_pixel(&ic, 0, p, id, ib, fd, oy, ox);
			if (++ox == od->w) {
				ox = 0;
				oy++;
			}
			if (pix + 1 == npix) {
				conv_mat_mult(&mm, &ic, o0, NULL);
				break;
			}
			im2col_pixel(&ic, 1, p, id, ib, fd, oy, ox);
			if (++ox == od->w) {
				ox = 0;
				oy++;
			}
			conv_mat_mult(&mm, &ic, o0, o0 + out_ch);
		}
	}
}
#endif

#if TB_NN_HAVE_MVE
/*
 * The MVE path.  sum(f * (x + off)) = sum(f * x) + off * sum(f) modulo
 * 2^32, so the dot products run on the int8 bytes themselves, sixteen
 * products per VMLADAVA, and off * sum(f) + bias is each channel's start
 * (mve_start()).  A padding tap must then hold the byte x with x + off = 0,
 * the input zero point -off (an int8 for off in [-127, 128]).  A pixel's
 * patch (its column) is the input itself for a 1x1 kernel whose windows
 * all lie inside the input (the pointwise convs); otherwise it is
 * gathered into the scratch (im2col: two columns of depth bytes, within
 * what tb_nn_convolve_s8_get_buffer_size() asks for).  Two output pixels
 * at a time, two filter rows times the two columns (four accumulators:
 * per sixteen bytes four loads and four VMLADAVA), the accumulators of up
 * to MVE_CHUNK channels kept, then requantised four channels at a time
 * (tb_nn_mve_requant()).
 */
#define MVE_CHUNK 64	/* output channels per pass: 768 bytes of stack */

struct mve_acc2x2 {
	int32_t a00, a01, a10, a11;	/* row (channel) x column (pixel) */
};

/* Two filter rows times two columns over depth bytes. */
static inline struct mve_acc2x2 mve_mm_2x2(struct mve_acc2x2 a, const int8_t *f0,
					   const int8_t *f1, const int8_t *c0,
					   const int8_t *c1, int32_t depth)
{
	int32_t n;

	for (n = depth >> 4; n > 0; n--) {
		const int8x16_t w0 = vldrbq_s8(f0), w1 = vldrbq_s8(f1);
		const int8x16_t x0 = vldrbq_s8(c0), x1 = vldrbq_s8(c1);

		a.a00 = vmladavaq_s8(a.a00, w0, x0);
		a.a01 = vmladavaq_s8(a.a01, w0, x1);
		a.a10 = vmladavaq_s8(a.a10, w1, x0);
		a.a11 = vmladavaq_s8(a.a11, w1, x1);
		f0 += 16;
		f1 += 16;
		c0 += 16;
		c1 += 16;
	}
	if (depth & 15) {
		const mve_pred16_t p = vctp8q((uint32_t)(depth & 15));
		const int8x16_t w0 = vldrbq_z_s8(f0, p), w1 = vldrbq_z_s8(f1, p);
		const int8x16_t x0 = vldrbq_z_s8(c0, p), x1 = vldrbq_z_s8(c1, p);

		a.a00 = vmladavaq_s8(a.a00, w0, x0);
		a.a01 = vmladavaq_s8(a.a01, w0, x1);
		a.a10 = vmladavaq_s8(a.a10, w1, x0);
		a.a11 = vmladavaq_s8(a.a11, w1, x1);
	}
	return a;
}

/* What the passes need; set up once per call. */
struct conv_mve {
	const int8_t *filter;
	const int32_t *bias, *mult, *shift;
	int32_t depth, out_ch;
	int32_t off, out_off, lo, hi;
};

/* Channels [oc0, oc0 + n): start[k] = bias + off * sum(filter row). */
static void mve_start(const struct conv_mve *cm, int32_t oc0, int32_t n, int32_t *start)
{
	const int8_t *f = cm->filter + (size_t)oc0 * cm->depth;
	int32_t k;

	for (k = 0; k < n; k++, f += cm->depth)
		start[k] = (int32_t)((cm->bias ? (uint32_t)cm->bias[oc0 + k] : 0u) +
				     (uint32_t)cm->off * (uint32_t)tb_nn_mve_sum_s8(f, cm->depth));
}

/* Requantise channels [oc0, oc0 + n) of one pixel into out[oc0 ...]:
 * whole quads, then a tail-predicated one. */
static void mve_requant_run(const struct conv_mve *cm, const int32_t *acc, int32_t oc0,
			    int32_t n, int8_t *out)
{
	const int32x4_t lo = vdupq_n_s32(cm->lo), hi = vdupq_n_s32(cm->hi);
	const int32_t *mult = cm->mult + oc0, *shift = cm->shift + oc0;
	const int32_t out_off = cm->out_off;
	int32_t k;

	out += oc0;
	for (k = 0; k + 4 <= n; k += 4)
		vstrbq_s32(out + k, tb_nn_mve_requant(vldrwq_s32(acc + k), vldrwq_s32(mult + k),
						      vldrwq_s32(shift + k), out_off, lo, hi));
	if (k < n) {
		const mve_pred16_t p = vctp32q((uint32_t)(n - k));

		vstrbq_p_s32(out + k, tb_nn_mve_requant(vldrwq_z_s32(acc + k, p),
							vldrwq_z_s32(mult + k, p),
							vldrwq_z_s32(shift + k, p), out_off, lo, hi),
			     p);
	}
}

/*
 * Channels [oc0, oc0 + n) of the pixels whose columns are c0 and c1
 * (c1 NULL: c0's pixel alone) into o0 and o1.  An odd last channel, or
 * a lone column, is computed twice: one code path.
 */
static void mve_pixels(const struct conv_mve *cm, const int32_t *start, int32_t oc0, int32_t n,
		       const int8_t *c0, const int8_t *c1, int8_t *o0, int8_t *o1)
{
	const int32_t depth = cm->depth;
	const int8_t *f = cm->filter + (size_t)oc0 * depth;
	const int8_t *const c1_ = c1 ? c1 : c0;
	int32_t acc[2][MVE_CHUNK];
	int32_t k;

	for (k = 0; k + 2 <= n; k += 2, f += 2 * (size_t)depth) {
		struct mve_acc2x2 a = { start[k], start[k], start[k + 1], start[k + 1] };

		a = mve_mm_2x2(a, f, f + depth, c0, c1_, depth);
		acc[0][k] = a.a00;
		acc[1][k] = a.a01;
		acc[0][k + 1] = a.a10;
		acc[1][k + 1] = a.a11;
	}
	if (k < n) {
		struct mve_acc2x2 a = { start[k], start[k], 0, 0 };

		a = mve_mm_2x2(a, f, f, c0, c1_, depth);
		acc[0][k] = a.a00;
		acc[1][k] = a.a01;
	}
	mve_requant_run(cm, acc[0], oc0, n, o0);
	if (c1)
		mve_requant_run(cm, acc[1], oc0, n, o1);
}

/* Gather output pixel (oy, ox)'s patch into col: padding taps hold the
 * input zero point. */
static void mve_im2col(int8_t *col, const struct tb_nn_conv_params *p,
		       const struct tb_nn_dims *id, const int8_t *in_batch,
		       const struct tb_nn_dims *fd, int32_t oy, int32_t ox)
{
	const int8_t zp = (int8_t)-p->input_offset;
	const int32_t in_ch = id->c, row = fd->w * in_ch;
	const int32_t iy0 = oy * p->stride.h - p->padding.h;
	const int32_t ix0 = ox * p->stride.w - p->padding.w;
	int32_t kx_s, kx_e, ky, kx;

	tb_nn_tap_range(ix0, p->dilation.w, fd->w, id->w, &kx_s, &kx_e);
	for (ky = 0; ky < fd->h; ky++, col += row) {
		const int32_t iy = iy0 + ky * p->dilation.h;
		const int8_t *irow = in_batch + (size_t)iy * id->w * in_ch;

		if (iy < 0 || iy >= id->h || kx_s >= kx_e) {
			tb_nn_mve_copy(col, NULL, zp, row);
		} else if (p->dilation.w == 1) {
			tb_nn_mve_copy(col, NULL, zp, kx_s * in_ch);
			tb_nn_mve_copy(col + kx_s * in_ch, irow + (size_t)(ix0 + kx_s) * in_ch, zp,
				       (kx_e - kx_s) * in_ch);
			tb_nn_mve_copy(col + kx_e * in_ch, NULL, zp, (fd->w - kx_e) * in_ch);
		} else {
			for (kx = 0; kx < fd->w; kx++)
				tb_nn_mve_copy(col + kx * in_ch,
					       kx >= kx_s && kx < kx_e ?
					       irow + (size_t)(ix0 + kx * p->dilation.w) * in_ch : NULL,
					       zp, in_ch);
		}
	}
}

/* Output pixel pix's column: the input itself (direct) or gathered into
 * column j of the scratch. */
static const int8_t *mve_column(const struct tb_nn_context *ctx, int direct, int32_t j,
				const struct tb_nn_conv_params *p, const struct tb_nn_dims *id,
				const int8_t *in_batch, const struct tb_nn_dims *fd,
				const struct tb_nn_dims *od, int32_t pix)
{
	const int32_t oy = pix / od->w, ox = pix % od->w;
	int8_t *col;

	if (direct)
		return in_batch + ((size_t)oy * p->stride.h * id->w + (size_t)ox * p->stride.w) * id->c;
	col = (int8_t *)ctx->buf + (size_t)j * fd->h * fd->w * id->c;
	mve_im2col(col, p, id, in_batch, fd, oy, ox);
	return col;
}

/* The MVE path, when it applies: 1 if it computed the call. */
static int conv_mve(const struct tb_nn_context *ctx, const struct tb_nn_conv_params *p,
		    const struct tb_nn_per_channel_quant_params *q,
		    const struct tb_nn_dims *id, const int8_t *input,
		    const struct tb_nn_dims *fd, const int8_t *filter, const int32_t *bias,
		    const struct tb_nn_dims *od, int8_t *output)
{
	const int direct = fd->h == 1 && fd->w == 1 && p->padding.h == 0 && p->padding.w == 0 &&
			   (int64_t)(od->h - 1) * p->stride.h < id->h &&
			   (int64_t)(od->w - 1) * p->stride.w < id->w;
	const int32_t need = tb_nn_convolve_s8_get_buffer_size(id, fd);
	const size_t in_batch = (size_t)id->h * id->w * id->c;
	const int32_t npix = od->h * od->w;
	const struct conv_mve cm = {
		.filter = filter, .bias = bias, .mult = q->multiplier, .shift = q->shift,
		.depth = fd->h * fd->w * id->c, .out_ch = od->c,
		.off = p->input_offset, .out_off = p->output_offset,
		.lo = p->activation.min, .hi = p->activation.max,
	};
	int32_t start[MVE_CHUNK];
	int32_t b, oc0, n, pix;

	if (p->input_offset < -127 || p->input_offset > 128)
		return 0;
	if (!direct && (!ctx || !ctx->buf || need <= 0 || ctx->size < need))
		return 0;
	for (b = 0; b < id->n; b++) {
		const int8_t *ib = input + (size_t)b * in_batch;
		int8_t *ob = output + (size_t)b * npix * cm.out_ch;

		for (oc0 = 0; oc0 < cm.out_ch; oc0 += n) {
			n = cm.out_ch - oc0 < MVE_CHUNK ? cm.out_ch - oc0 : MVE_CHUNK;
			mve_start(&cm, oc0, n, start);
			for (pix = 0; pix < npix; pix += 2) {
				int8_t *o0 = ob + (size_t)pix * cm.out_ch;
				const int8_t *c0 = mve_column(ctx, direct, 0, p, id, ib, fd, od, pix);
				const int8_t *c1 = pix + 1 < npix ?
					mve_column(ctx, direct, 1, p, id, ib, fd, od, pix + 1) : NULL;

				mve_pixels(&cm, start, oc0, n, c0, c1, o0, o0 + cm.out_ch);
			}
		}
	}
	return 1;
}
#endif

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
#if TB_NN_USE_DSP
	enum tb_nn_rqd_mode mode;
#endif

	if (!conv_args_ok(conv_params, quant_params, input_dims, input,
			  filter_dims, filter, output_dims, output))
		return TB_NN_ERR_ARG;
#if TB_NN_HAVE_MVE
	if (conv_mve(ctx, conv_params, quant_params, input_dims, input, filter_dims, filter,
		     bias, output_dims, output))
		return TB_NN_OK;
#elif TB_NN_USE_DSP
	mode = tb_nn_rqd_mode(quant_params->multiplier, quant_params->shift, filter_dims->n,
			      conv_params->output_offset, conv_params->activation.min,
			      conv_params->activation.max);
	if (ctx && ctx->buf && !((uintptr_t)ctx->buf & 7) &&
	    tb_nn_convolve_s8_get_buffer_size(input_dims, filter_dims) > 0 &&
	    ctx->size >= tb_nn_convolve_s8_get_buffer_size(input_dims, filter_dims) &&
	    conv_params->input_offset >= -32640 && conv_params->input_offset <= 32639 &&
	    mode != TB_NN_RQD_NONE) {
		conv_dsp(ctx, conv_params, quant_params, mode, input_dims, input, filter_dims,
			 filter, bias, output_dims, output);
		return TB_NN_OK;
	}
#endif
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
