/*
 * test_nn_opt.c - every optimised kernel path is bit-identical to the
 * plain C kernel it stands for, over many seeds of shapes, strides,
 * paddings, dilations, zero points, multipliers and clamps.
 *
 * Built twice (tests/workloads/meson.build): against the normal kernels
 * (the generic fast paths: blocked, vectorisable loops) and against the
 * same sources compiled with TB_NN_EMULATE_DSP (the Cortex-M paths: im2col
 * and the 2x2 SMLAD matrix multiply, the SMLABB/SMLATT depthwise, the
 * SMMULR/QADD requantisation, run through exact C models of the DSP
 * instructions; this file is then compiled with it too, so it also tests
 * the requantisation forms directly).  Kernels are called with the
 * scratch their _get_buffer_size() asks for and without.  Also checks the
 * kernels that have a single path (max pool, add, quantize) against
 * naive references, and the float32 kernels against the int8 ones'
 * semantics on exact values.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tb_nn.h"
#include "tb_nn_dsp.h"
#include "tb_nn_support.h"
#include "tb_nn_test_gen.h"
#include "tb_nn_test_ref.h"

#define SEEDS 600

/* Scratch of the size a kernel asks for, filled with garbage. */
static void scratch(struct tb_nn_context *ctx, int32_t size)
{
	cr_assert_geq(size, 0);
	ctx->size = size;
	ctx->buf = malloc(size ? (size_t)size : 1);
	cr_assert(ctx->buf);
	memset(ctx->buf, 0xA5, size ? (size_t)size : 1);
}

/*
 * The requantisation forms of the fast paths against tb_nn_requant()
 * (TFLite's MultiplyByQuantizedMultiplier), then offset and clamp as the
 * kernels do: the hoisted C form for every multiplier but INT32_MIN, and
 * on a DSP build the SMMULR form (multipliers >= -2^30, any shift) and
 * the usual SMMULR/QADD form (multipliers in [2^30, 2^31), shifts in
 * [-23, -1], int8 offset, full int8 range).
 */
Test(nn_opt, requantisation_forms_are_exact)
{
	struct ref_rng r;
	long usual = 0, dsp = 0;

	ref_seed(&r, 0x5E0);
	for (int i = 0; i < 2000000; i++) {
		const int32_t acc = edgy(&r);
		const int32_t m = i % 1000 == 0 ? (int32_t)(1u << 30) :	/* exactly 0.5 */
				  ref_range(&r, 0, 7) ? ref_range(&r, 1 << 30, INT32_MAX) : edgy(&r);
		const int32_t shift = ref_range(&r, 0, 3) ? ref_range(&r, -12, 2) :
				      ref_range(&r, -31, 30);
		const int32_t off = ref_range(&r, -128, 127);
		const int32_t lo = ref_range(&r, 0, 1) ? -128 : ref_range(&r, -128, 127);
		const int32_t hi = ref_range(&r, 0, 1) ? 127 : ref_range(&r, lo, 127);
		const int32_t want = tb_nn_requant(acc, m, shift);
		struct tb_nn_rq q;

		if (m != INT32_MIN) {
			tb_nn_rq_init(&q, m, shift);
			cr_assert_eq(tb_nn_rq_apply(acc, &q), want,
				     "rq: acc %d m %d shift %d", acc, m, shift);
		}
#if TB_NN_HAVE_DSP
		if (m >= -(1 << 30)) {
			const int32_t want_out = tb_nn_clamp(tb_nn_add_wrap(want, off), lo, hi);
			struct tb_nn_rqd d;

			tb_nn_rqd_init(&d, m, shift);
			cr_assert_eq(tb_nn_clamp(tb_nn_rqd_apply(acc, &d, off), lo, hi), want_out,
				     "rqd: acc %d m %d shift %d off %d", acc, m, shift, off);
			dsp++;
		}
		if (m >= (1 << 30) && shift >= -23 && shift <= -1) {
			cr_assert_eq(tb_nn_rqd_apply_usual(acc, (int32_t)((uint32_t)m << 1), -shift,
							   1 << (-shift - 1), off),
				     tb_nn_clamp(tb_nn_add_wrap(want, off), -128, 127),
				     "usual: acc %d m %d shift %d off %d", acc, m, shift, off);
			usual++;
		}
#else
		(void)off;
		(void)lo;
		(void)hi;
#endif
	}
	cr_log_info("DSP form checked %ld times, usual form %ld times", dsp, usual);
#if TB_NN_HAVE_DSP
	cr_assert_gt(usual, 100000);
#endif
}

Test(nn_opt, conv_fast_path_is_bit_identical)
{
	struct ref_rng r;

	for (int seed = 0; seed < SEEDS; seed++) {
		struct tb_nn_dims id, fd, od;
		struct tb_nn_conv_params p = { 0 };
		struct geom g;
		int8_t *in, *f, *a, *b;
		int32_t *bias, *m, *s;
		size_t in_n, f_n, out_n;

		ref_seed(&r, 0xC0 + seed);
		geometry(&r, 12, 5, seed % 3 == 0, &g, &p.stride, &p.padding, &p.dilation);
		id = (struct tb_nn_dims){ ref_range(&r, 1, 2), g.ih, g.iw, ref_range(&r, 1, 70) };
		fd = (struct tb_nn_dims){ ref_range(&r, 1, 19), g.kh, g.kw, id.c };
		od = (struct tb_nn_dims){ id.n, g.oh, g.ow, fd.n };
		p.input_offset = ref_range(&r, -127, 128);
		p.output_offset = ref_range(&r, -128, 127);
		p.activation.min = ref_range(&r, -128, 0);
		p.activation.max = ref_range(&r, p.activation.min, 127);
		in_n = (size_t)id.n * id.h * id.w * id.c;
		f_n = (size_t)fd.n * fd.h * fd.w * fd.c;
		out_n = (size_t)od.n * od.h * od.w * od.c;
		in = malloc(in_n);
		f = malloc(f_n);
		a = malloc(out_n);
		b = malloc(out_n);
		bias = malloc(4 * (size_t)fd.n);
		m = malloc(4 * (size_t)fd.n);
		s = malloc(4 * (size_t)fd.n);
		cr_assert(in && f && a && b && bias && m && s);
		fill(&r, in, in_n);
		fill(&r, f, f_n);
		for (int32_t c = 0; c < fd.n; c++) {
			bias[c] = ref_range(&r, -(1 << 20), 1 << 20);
			requant(&r, fd.h * fd.w * fd.c, &m[c], &s[c]);
		}
		quant_edges(&r, m, s, fd.n);
		{
			const struct tb_nn_per_channel_quant_params q = { m, s };
			const int32_t *bp = seed % 7 ? bias : NULL;
			struct tb_nn_context ctx;

			scratch(&ctx, tb_nn_convolve_s8_get_buffer_size(&id, &fd));
			cr_assert_eq(tb_nn_convolve_s8_ref(NULL, &p, &q, &id, in, &fd, f, bp, &od, b), 0);
			cr_assert_eq(tb_nn_convolve_s8(&ctx, &p, &q, &id, in, &fd, f, bp, &od, a), 0);
			cr_assert(!memcmp(a, b, out_n),
				  "seed %d: conv %dx%dx%dx%d k%dx%d s%d,%d d%d,%d p%d,%d -> %d ch differs",
				  seed, id.n, id.h, id.w, id.c, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.ph, g.pw, fd.n);
			/* without scratch: the path that needs none */
			memset(a, 0x5A, out_n);
			cr_assert_eq(tb_nn_convolve_s8(NULL, &p, &q, &id, in, &fd, f, bp, &od, a), 0);
			cr_assert(!memcmp(a, b, out_n), "seed %d: conv without scratch differs", seed);
			free(ctx.buf);
		}
		free(in); free(f); free(a); free(b); free(bias); free(m); free(s);
	}
}

Test(nn_opt, depthwise_fast_path_is_bit_identical)
{
	struct ref_rng r;

	for (int seed = 0; seed < SEEDS; seed++) {
		struct tb_nn_dims id, fd, od;
		struct tb_nn_dw_conv_params p = { 0 };
		struct geom g;
		int8_t *in, *f, *a, *b;
		int32_t *bias, *m, *s;
		size_t in_n, f_n, out_n;

		ref_seed(&r, 0xD0000 + seed);
		geometry(&r, 12, 5, 0, &g, &p.stride, &p.padding, &p.dilation);
		p.ch_mult = seed % 5 == 0 ? ref_range(&r, 2, 3) : 1;
		id = (struct tb_nn_dims){ ref_range(&r, 1, 2), g.ih, g.iw, ref_range(&r, 1, 150) };
		fd = (struct tb_nn_dims){ 1, g.kh, g.kw, id.c * p.ch_mult };
		od = (struct tb_nn_dims){ id.n, g.oh, g.ow, fd.c };
		p.input_offset = ref_range(&r, -127, 128);
		p.output_offset = ref_range(&r, -128, 127);
		p.activation.min = ref_range(&r, -128, 0);
		p.activation.max = ref_range(&r, p.activation.min, 127);
		in_n = (size_t)id.n * id.h * id.w * id.c;
		f_n = (size_t)fd.h * fd.w * fd.c;
		out_n = (size_t)od.n * od.h * od.w * od.c;
		in = malloc(in_n);
		f = malloc(f_n);
		a = malloc(out_n);
		b = malloc(out_n);
		bias = malloc(4 * (size_t)fd.c);
		m = malloc(4 * (size_t)fd.c);
		s = malloc(4 * (size_t)fd.c);
		cr_assert(in && f && a && b && bias && m && s);
		fill(&r, in, in_n);
		fill(&r, f, f_n);
		for (int32_t c = 0; c < fd.c; c++) {
			bias[c] = ref_range(&r, -(1 << 20), 1 << 20);
			requant(&r, fd.h * fd.w, &m[c], &s[c]);
		}
		quant_edges(&r, m, s, fd.c);
		{
			const struct tb_nn_per_channel_quant_params q = { m, s };
			const int32_t *bp = seed % 7 ? bias : NULL;

			cr_assert_eq(tb_nn_depthwise_conv_s8(NULL, &p, &q, &id, in, &fd, f, bp, &od, a), 0);
			cr_assert_eq(tb_nn_depthwise_conv_s8_ref(NULL, &p, &q, &id, in, &fd, f, bp, &od, b), 0);
		}
		cr_assert(!memcmp(a, b, out_n), "seed %d: depthwise %dx%dx%d k%dx%d mult %d differs",
			  seed, id.h, id.w, id.c, g.kh, g.kw, p.ch_mult);
		free(in); free(f); free(a); free(b); free(bias); free(m); free(s);
	}
}

Test(nn_opt, fully_connected_fast_path_is_bit_identical)
{
	struct ref_rng r;

	for (int seed = 0; seed < SEEDS; seed++) {
		int32_t batches, depth, units;
		struct tb_nn_fc_params p = { 0 };
		struct tb_nn_per_tensor_quant_params q;
		int8_t *in, *f, *a, *b;
		int32_t *bias;

		ref_seed(&r, 0xFC0000 + seed);
		fc_case(&r, &batches, &depth, &units, seed, &p);
		p.activation.min = ref_range(&r, -128, 0);
		p.activation.max = ref_range(&r, p.activation.min, 127);
		requant(&r, depth, &q.multiplier, &q.shift);
		quant_edges(&r, &q.multiplier, &q.shift, 1);
		in = malloc((size_t)batches * depth);
		f = malloc((size_t)units * depth);
		a = malloc((size_t)batches * units);
		b = malloc((size_t)batches * units);
		bias = malloc(4 * (size_t)units);
		cr_assert(in && f && a && b && bias);
		fill(&r, in, (size_t)batches * depth);
		fill(&r, f, (size_t)units * depth);
		for (int32_t c = 0; c < units; c++)
			bias[c] = ref_range(&r, -(1 << 20), 1 << 20);
		{
			const struct tb_nn_dims id = { batches, 1, 1, depth };
			const struct tb_nn_dims fd = { units, 1, 1, depth };
			const struct tb_nn_dims od = { batches, 1, 1, units };

			cr_assert_eq(tb_nn_fully_connected_s8(NULL, &p, &q, &id, in, &fd, f, bias, &od, a), 0);
			cr_assert_eq(tb_nn_fully_connected_s8_ref(NULL, &p, &q, &id, in, &fd, f, bias, &od, b), 0);
		}
		cr_assert(!memcmp(a, b, (size_t)batches * units),
			  "seed %d: fc depth %d units %d differs", seed, depth, units);
		free(in); free(f); free(a); free(b); free(bias);
	}
}

Test(nn_opt, maxpool_matches_naive_reference)
{
	struct ref_rng r;

	for (int seed = 0; seed < 200; seed++) {
		struct tb_nn_pool_params p;
		struct tb_nn_dims id, fd, od;
		int32_t ih, kh, sh, dh, ph, oh, iw, kw, sw, dw, pw, ow;
		int8_t in[2 * 12 * 12 * 9], out[2 * 12 * 12 * 9], want;

		ref_seed(&r, 0x3A0000 + seed);
		axis(&r, 12, 4, &ih, &kh, &sh, &dh, &ph, &oh);
		axis(&r, 12, 4, &iw, &kw, &sw, &dw, &pw, &ow);
		/* no dilation in pooling: padding below the window size */
		ph %= kh;
		pw %= kw;
		oh = ih + 2 * ph >= kh ? (ih + 2 * ph - kh) / sh + 1 : 1;
		ow = iw + 2 * pw >= kw ? (iw + 2 * pw - kw) / sw + 1 : 1;
		id = (struct tb_nn_dims){ ref_range(&r, 1, 2), ih, iw, ref_range(&r, 1, 9) };
		fd = (struct tb_nn_dims){ 1, kh, kw, 1 };
		od = (struct tb_nn_dims){ id.n, oh, ow, id.c };
		p.stride = (struct tb_nn_tile){ .w = sw, .h = sh };
		p.padding = (struct tb_nn_tile){ .w = pw, .h = ph };
		p.activation.min = ref_range(&r, -128, 0);
		p.activation.max = ref_range(&r, p.activation.min, 127);
		fill(&r, in, (size_t)id.n * id.h * id.w * id.c);
		cr_assert_eq(tb_nn_maxpool_s8(NULL, &p, &id, in, &fd, &od, out), 0, "seed %d", seed);
		for (int32_t b = 0; b < od.n; b++)
		for (int32_t y = 0; y < od.h; y++)
		for (int32_t x = 0; x < od.w; x++)
		for (int32_t c = 0; c < od.c; c++) {
			int32_t mx = -129;

			for (int32_t ky = 0; ky < kh; ky++)
			for (int32_t kx = 0; kx < kw; kx++) {
				const int32_t iy = y * sh - ph + ky, ix = x * sw - pw + kx;

				if (iy >= 0 && iy < ih && ix >= 0 && ix < iw)
					mx = ref_clamp(in[((b * ih + iy) * iw + ix) * id.c + c] > mx ?
						       in[((b * ih + iy) * iw + ix) * id.c + c] : mx,
						       -129, 127);
			}
			want = (int8_t)ref_clamp(mx, p.activation.min, p.activation.max);
			cr_assert_eq(out[((b * od.h + y) * od.w + x) * od.c + c], want,
				     "seed %d at %d,%d,%d,%d", seed, b, y, x, c);
		}
	}
}

/* TFLite's int8 ADD, spelled out with the independent reference helpers. */
Test(nn_opt, add_matches_reference_arithmetic)
{
	struct ref_rng r;

	for (int seed = 0; seed < 300; seed++) {
		double s1, s2, so;
		struct tb_nn_add_params p;
		int8_t a[64], b[64], out[64];

		ref_seed(&r, 0xADD000 + seed);
		s1 = 0.01 + (double)ref_range(&r, 0, 1000) / 2000.0;
		s2 = 0.01 + (double)ref_range(&r, 0, 1000) / 2000.0;
		so = 0.02 + (double)ref_range(&r, 0, 1000) / 1000.0;
		cr_assert_eq(tb_nn_add_prepare(s1, s2, so, &p), 0);
		cr_assert_eq(p.left_shift, 20);
		p.input1_offset = ref_range(&r, -127, 128);
		p.input2_offset = ref_range(&r, -127, 128);
		p.output_offset = ref_range(&r, -128, 127);
		p.activation.min = ref_range(&r, -128, 0);
		p.activation.max = 127;
		fill(&r, a, sizeof(a));
		fill(&r, b, sizeof(b));
		cr_assert_eq(tb_nn_add_s8(&p, a, b, 64, out), 0);
		for (int i = 0; i < 64; i++) {
			const int32_t x1 = (a[i] + p.input1_offset) * (1 << 20);
			const int32_t x2 = (b[i] + p.input2_offset) * (1 << 20);
			const int32_t sum = ref_requant(x1, p.input1_mult, p.input1_shift) +
					    ref_requant(x2, p.input2_mult, p.input2_shift);
			const int32_t v = ref_requant(sum, p.output_mult, p.output_shift) +
					  p.output_offset;
			const double real = s1 * (a[i] + p.input1_offset) + s2 * (b[i] + p.input2_offset);

			cr_assert_eq(out[i], (int8_t)ref_clamp(v, p.activation.min, 127),
				     "seed %d element %d", seed, i);
			/* and it is the real sum, to within a step */
			if (v > -128 && v < 127 && v > p.activation.min)
				cr_assert(fabs((v - p.output_offset) * so - real) <= so * 1.01,
					  "seed %d element %d: %d vs %f", seed, i, v, real / so);
		}
	}
}

Test(nn_opt, quantize_dequantize_round_trip_and_rounding)
{
	const float x[] = { 0.0f, 0.25f, 0.5f, -0.5f, 1.5f, -1.5f, 2.49f, 1e9f, -1e9f, 63.5f };
	const int8_t want[] = { 3, 4, 4, 2, 6, 0, 8, 127, -128, 127 };
	int8_t q[10], back[10];
	float d[10];

	/* scale 0.5, zp 3: round(x / 0.5) + 3, halves away from zero */
	cr_assert_eq(tb_nn_quantize_f32_s8(x, 10, 0.5f, 3, q), 0);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(q[i], want[i], "x = %g: %d, want %d", (double)x[i], q[i], want[i]);
	cr_assert_eq(tb_nn_dequantize_s8_f32(q, 10, 0.5f, 3, d), 0);
	cr_assert_float_eq(d[1], 0.5f, 0.0f);
	cr_assert_float_eq(d[8], -65.5f, 0.0f);
	/* int8 -> int8 at the same scale is the identity */
	cr_assert_eq(tb_nn_requantize_s8(q, 10, 3, 1 << 30, 1, 3, back), 0);
	cr_assert(!memcmp(q, back, 10));
	cr_assert_eq(tb_nn_quantize_f32_s8(x, 10, 0.0f, 0, q), TB_NN_ERR_ARG);
}

Test(nn_opt, float_kernels_compute_exact_small_cases)
{
	/* 1x3x3x1 input, 2x2 filter of ones, VALID: sums of 2x2 windows */
	const float in[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	const float ones[4] = { 1, 1, 1, 1 }, bias[1] = { -12.0f };
	const struct tb_nn_dims id = { 1, 3, 3, 1 }, fd = { 1, 2, 2, 1 }, od = { 1, 2, 2, 1 };
	const struct tb_nn_f32_conv_params p = {
		.stride = { 1, 1 }, .padding = { 0, 0 }, .dilation = { 1, 1 },
		.ch_mult = 1, .act_min = 0.0f, .act_max = 100.0f,
	};
	const struct tb_nn_f32_pool_params pp = {
		.stride = { 1, 1 }, .padding = { 0, 0 }, .filter = { 2, 2 },
		.act_min = -1e30f, .act_max = 1e30f,
	};
	float out[9], sm[3];
	const float logits[3] = { 1.0f, 2.0f, 3.0f };

	cr_assert_eq(tb_nn_convolve_f32(&p, &id, in, &fd, ones, bias, &od, out), 0);
	cr_assert_float_eq(out[0], 0.0f, 0.0f);		/* 12 - 12 */
	cr_assert_float_eq(out[3], 16.0f, 0.0f);	/* 28 - 12 */
	cr_assert_eq(tb_nn_depthwise_conv_f32(&p, &id, in, &fd, ones, NULL, &od, out), 0);
	cr_assert_float_eq(out[1], 16.0f, 0.0f);
	cr_assert_eq(tb_nn_avgpool_f32(&pp, &id, in, &od, out), 0);
	cr_assert_float_eq(out[0], 3.0f, 0.0f);
	cr_assert_eq(tb_nn_maxpool_f32(&pp, &id, in, &od, out), 0);
	cr_assert_float_eq(out[3], 9.0f, 0.0f);
	cr_assert_eq(tb_nn_fully_connected_f32(-1e30f, 1e30f, 1, 4, in, 2, in, NULL, out), 0);
	cr_assert_float_eq(out[0], 30.0f, 0.0f);	/* 1+4+9+16 */
	cr_assert_float_eq(out[1], 70.0f, 0.0f);	/* 5*1+6*2+7*3+8*4 */
	cr_assert_eq(tb_nn_softmax_f32(logits, 1, 3, 1.0f, sm), 0);
	cr_assert_float_eq(sm[2], 0.66524096f, 1e-6f);
	cr_assert_float_eq(sm[0] + sm[1] + sm[2], 1.0f, 1e-6f);
	cr_assert_eq(tb_nn_add_f32(in, in, 9, 0.0f, 10.0f, out), 0);
	cr_assert_float_eq(out[3], 8.0f, 0.0f);
}

Test(nn_opt, expf_is_accurate)
{
	for (int i = -8700; i <= 8800; i += 7) {
		const float x = (float)i / 100.0f;
		const double want = exp((double)x);
		const double got = tb_nn_expf(x);

		cr_assert(fabs(got - want) <= 4e-7 * want + 1e-38,
			  "expf(%g) = %.9g, want %.9g", (double)x, got, want);
	}
	cr_assert_float_eq(tb_nn_expf(0.0f), 1.0f, 0.0f);
	cr_assert_eq(tb_nn_expf(-200.0f), 0.0f);
}
