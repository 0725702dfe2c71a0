/*
 * test_nn_quant.c - fixed-point primitives and quantisation setup helpers
 * against independent references.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>

#include "tb_nn.h"
#include "tb_nn_test_ref.h"

/* Interesting int32 values: extremes, powers of two and their neighbours. */
static int32_t special(struct ref_rng *r, int i)
{
	static const int32_t v[] = {
		0, 1, -1, 2, -2, INT32_MAX, INT32_MIN, INT32_MAX - 1, INT32_MIN + 1,
		1 << 30, -(1 << 30), (1 << 30) + 1, (1 << 30) - 1, 1 << 15, -(1 << 15),
		12345, -12345, 1073741823, 1518500250,
	};
	const int n = sizeof(v) / sizeof(v[0]);

	return i < n ? v[i] : (int32_t)ref_rand(r);
}

Test(nn_quant, requantize_matches_double_rounding_reference)
{
	struct ref_rng r;
	int i, j, checked = 0;

	ref_seed(&r, 1);
	for (i = 0; i < 2000; i++) {
		const int32_t m = i < 19 ? special(&r, i) : ref_range(&r, 1 << 30, INT32_MAX);

		for (j = 0; j < 40; j++) {
			int32_t x = special(&r, j);
			const int32_t shift = ref_range(&r, -31, 30);

			/* the reference formula needs x * 2^left to fit */
			if (shift > 0)
				x = (int32_t)(x / (1LL << shift));
			cr_assert_eq(tb_nn_requantize(x, m, shift), ref_requant(x, m, shift),
				     "x=%d m=%d shift=%d", x, m, shift);
			checked++;
		}
	}
	cr_assert_gt(checked, 0);
}

Test(nn_quant, requantize_known_values)
{
	/* 0.5 * x with (2^30, 0): ties round up in SRDHM */
	cr_assert_eq(tb_nn_requantize(3, 1 << 30, 0), 2);	/* 1.5 -> 2 */
	cr_assert_eq(tb_nn_requantize(-3, 1 << 30, 0), -1);	/* -1.5 -> -1 (ties up) */
	/* then a right shift rounds ties away from zero */
	cr_assert_eq(tb_nn_requantize(6, 1 << 30, -2), 1);	/* 3/4 -> 1 */
	cr_assert_eq(tb_nn_requantize(-6, 1 << 30, -2), -1);	/* -3/4 -> -1 */
	cr_assert_eq(tb_nn_requantize(4, 1 << 30, -2), 1);	/* 2/4 = 0.5 -> 1 */
	cr_assert_eq(tb_nn_requantize(-4, 1 << 30, -2), -1);	/* -0.5 -> -1 */
	/* the saturating corner: INT32_MIN * INT32_MIN */
	cr_assert_eq(tb_nn_requantize(INT32_MIN, INT32_MIN, 0), INT32_MAX);
	/* left shifts: x * 2 * 0.5 */
	cr_assert_eq(tb_nn_requantize(1000, 1 << 30, 1), 1000);
	cr_assert_eq(tb_nn_requantize(-1000, 1 << 30, 1), -1000);
	/* out-of-range shifts are refused (0) rather than undefined */
	cr_assert_eq(tb_nn_requantize(1000, 1 << 30, 31), 0);
	cr_assert_eq(tb_nn_requantize(1000, 1 << 30, -32), 0);
}

/* TFLite's QuantizeMultiplier written with libm, as in quantization_util.cc. */
static void ref_quantize_multiplier(double d, int32_t *m, int *shift)
{
	int64_t q;

	if (d == 0.0) {
		*m = 0;
		*shift = 0;
		return;
	}
	q = (int64_t)round(frexp(d, shift) * (double)(1LL << 31));
	if (q == (1LL << 31)) {
		q /= 2;
		++*shift;
	}
	if (*shift < -31) {
		*shift = 0;
		q = 0;
	}
	*m = (int32_t)q;
}

Test(nn_quant, quantize_multiplier_edge_cases)
{
	static const struct {
		double real;
		int32_t mult;
		int32_t shift;
	} cases[] = {
		{ 0.0, 0, 0 },
		{ 1.0, 1 << 30, 1 },
		{ 0.5, 1 << 30, 0 },
		{ 0.25, 1 << 30, -1 },
		{ 0.75, 1610612736, 0 },
		{ -0.5, -(1 << 30), 0 },
		{ 0x1p-31, 1 << 30, -30 },
		{ 0x1p-32, 1 << 30, -31 },
		{ 0x1p-33, 0, 0 },			/* shift < -31: flushed to 0 */
		{ 0x1p-600, 0, 0 },
		{ 4.9e-324, 0, 0 },			/* subnormal */
		{ 1.0 - 0x1p-40, 1 << 30, 1 },		/* rounds up to 2^31: renormalised */
		{ 1.0 - 0x1p-32, 1 << 30, 1 },		/* 2^31 - 0.5: ties away, renormalised */
		{ 1.0 - 0x1p-31, INT32_MAX, 0 },	/* 2^31 - 1: just below the edge */
		{ 1.0 - 0x1p-29, 2147483644, 0 },
		{ 0x1p29, 1 << 30, 30 },		/* largest exponent allowed */
		{ 0.0009765625, 1 << 30, -9 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int32_t m = 7, s = 7;

		cr_assert_eq(tb_nn_quantize_multiplier(cases[i].real, &m, &s), TB_NN_OK,
			     "case %zu", i);
		cr_assert_eq(m, cases[i].mult, "case %zu (%a): mult %d", i, cases[i].real, m);
		cr_assert_eq(s, cases[i].shift, "case %zu (%a): shift %d", i, cases[i].real, s);
	}
}

Test(nn_quant, quantize_multiplier_rejects_bad_values)
{
	int32_t m, s;

	cr_assert_eq(tb_nn_quantize_multiplier(NAN, &m, &s), TB_NN_ERR_ARG);
	cr_assert_eq(tb_nn_quantize_multiplier(INFINITY, &m, &s), TB_NN_ERR_ARG);
	cr_assert_eq(tb_nn_quantize_multiplier(-INFINITY, &m, &s), TB_NN_ERR_ARG);
	cr_assert_eq(tb_nn_quantize_multiplier(0x1p30, &m, &s), TB_NN_ERR_ARG);
	cr_assert_eq(tb_nn_quantize_multiplier(0x1p30 - 0x1p-20, &m, &s), TB_NN_ERR_ARG,
		     "rounds up to shift 31");
	cr_assert_eq(tb_nn_quantize_multiplier(DBL_MAX, &m, &s), TB_NN_ERR_ARG);
	cr_assert_eq(tb_nn_quantize_multiplier(0.5, NULL, &s), TB_NN_ERR_ARG);
}

Test(nn_quant, quantize_multiplier_matches_libm_reference)
{
	struct ref_rng r;
	int i;

	ref_seed(&r, 2);
	for (i = 0; i < 100000; i++) {
		/* log-uniform over [2^-40, 2^29], random sign */
		const double mant = 1.0 + ref_rand(&r) / 4294967296.0 +
				    ref_rand(&r) / 18446744073709551616.0;
		const double d = ldexp(mant, ref_range(&r, -40, 28)) *
				 (ref_rand(&r) & 1 ? -1.0 : 1.0);
		int32_t m, s, em;
		int es;

		ref_quantize_multiplier(d, &em, &es);
		cr_assert_eq(tb_nn_quantize_multiplier(d, &m, &s), TB_NN_OK, "%a", d);
		cr_assert_eq(m, em, "%a: mult %d vs %d", d, m, em);
		cr_assert_eq(s, es, "%a: shift %d vs %d", d, s, es);
		/* and the pair really represents d */
		if (m)
			cr_assert(fabs(ldexp((double)m, s - 31) - d) <= fabs(d) * 0x1p-30, "%a", d);
	}
}

/* TFLite's PreprocessSoftmaxScaling + CalculateInputRadius with libm. */
static void ref_softmax_prepare(double beta, double scale, int32_t *m, int *ls,
				int32_t *diff_min)
{
	double real = beta * scale * (double)(1 << 26);

	if (real > (double)((1LL << 31) - 1))
		real = (double)((1LL << 31) - 1);
	ref_quantize_multiplier(real, m, ls);
	*diff_min = -(int32_t)floor(31.0 * (double)(1LL << 26) / (double)(1LL << *ls));
}

Test(nn_quant, softmax_prepare_matches_tflite_formulas)
{
	/* the official kws model's logits scale, then a sweep */
	const float scales[] = { 0.14469251036643982f, 1.0f / 256.0f, 0.0625f, 0.3f,
				 1.0f, 7.5f, 100.0f, 3.0e-6f };
	size_t i;

	for (i = 0; i < sizeof(scales) / sizeof(scales[0]); i++) {
		struct tb_nn_softmax_params p;
		int32_t em, ed;
		int els;

		ref_softmax_prepare(1.0, (double)scales[i], &em, &els, &ed);
		cr_assert_eq(tb_nn_softmax_prepare(1.0, (double)scales[i], &p), TB_NN_OK,
			     "scale %g", (double)scales[i]);
		cr_assert_eq(p.input_beta_multiplier, em, "scale %g", (double)scales[i]);
		cr_assert_eq(p.input_beta_left_shift, els, "scale %g", (double)scales[i]);
		cr_assert_eq(p.diff_min, ed, "scale %g", (double)scales[i]);
		cr_assert_leq(p.diff_min, 0);
	}
}

Test(nn_quant, softmax_prepare_clamps_and_rejects)
{
	struct tb_nn_softmax_params p;

	/* huge beta * scale: clamped to 2^31 - 1, shift 31, only the max counts */
	cr_assert_eq(tb_nn_softmax_prepare(1.0, 1e6, &p), TB_NN_OK);
	cr_assert_eq(p.input_beta_multiplier, INT32_MAX);
	cr_assert_eq(p.input_beta_left_shift, 31);
	cr_assert_eq(p.diff_min, 0);
	/* beta * scale * 2^26 must exceed 1 (QuantizeMultiplierGreaterThanOne) */
	cr_assert_eq(tb_nn_softmax_prepare(1.0, 1e-9, &p), TB_NN_ERR_ARG);
	cr_assert_eq(tb_nn_softmax_prepare(1.0, NAN, &p), TB_NN_ERR_ARG);
	cr_assert_eq(tb_nn_softmax_prepare(1.0, 0.1, NULL), TB_NN_ERR_ARG);
}

Test(nn_quant, compute_padding_same_and_valid)
{
	static const struct {
		enum tb_nn_padding pad;
		int32_t in, k, stride, dil, out, before;
	} cases[] = {
		{ TB_NN_PADDING_SAME, 49, 10, 2, 1, 25, 4 },	/* kws conv, rows */
		{ TB_NN_PADDING_SAME, 10, 4, 2, 1, 5, 1 },	/* kws conv, columns */
		{ TB_NN_PADDING_SAME, 25, 3, 1, 1, 25, 1 },	/* kws depthwise */
		{ TB_NN_PADDING_SAME, 96, 3, 2, 1, 48, 0 },	/* total 1: before 0 */
		{ TB_NN_PADDING_SAME, 7, 1, 1, 1, 7, 0 },
		{ TB_NN_PADDING_SAME, 5, 3, 1, 2, 5, 2 },	/* dilation 2: eff 5 */
		{ TB_NN_PADDING_SAME, 1, 7, 3, 1, 1, 3 },
		{ TB_NN_PADDING_VALID, 49, 10, 2, 1, 20, 0 },
		{ TB_NN_PADDING_VALID, 25, 25, 1, 1, 1, 0 },	/* global pool */
		{ TB_NN_PADDING_VALID, 10, 3, 3, 1, 3, 0 },
		{ TB_NN_PADDING_VALID, 9, 3, 2, 2, 3, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int32_t out = -1, before = -1;

		cr_assert_eq(tb_nn_compute_padding(cases[i].pad, cases[i].in, cases[i].k,
						   cases[i].stride, cases[i].dil, &out,
						   &before), TB_NN_OK, "case %zu", i);
		cr_assert_eq(out, cases[i].out, "case %zu: out %d", i, out);
		cr_assert_eq(before, cases[i].before, "case %zu: before %d", i, before);
	}
}

Test(nn_quant, compute_padding_rejects_empty_outputs)
{
	int32_t out, before;

	cr_assert_eq(tb_nn_compute_padding(TB_NN_PADDING_VALID, 3, 5, 1, 1, &out, &before),
		     TB_NN_ERR_ARG);
	cr_assert_eq(tb_nn_compute_padding(TB_NN_PADDING_SAME, 3, 0, 1, 1, &out, &before),
		     TB_NN_ERR_ARG);
	cr_assert_eq(tb_nn_compute_padding(TB_NN_PADDING_SAME, 3, 3, 0, 1, &out, &before),
		     TB_NN_ERR_ARG);
	cr_assert_eq(tb_nn_compute_padding((enum tb_nn_padding)9, 3, 3, 1, 1, &out, &before),
		     TB_NN_ERR_ARG);
}
