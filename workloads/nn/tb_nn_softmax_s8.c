/*
 * tb_nn_softmax_s8.c - int8 softmax, bit-exact with TFLite-Micro.
 *
 * TFLite-Micro runs reference_ops::Softmax<int8_t, int8_t> for int8 in and
 * out.  Per row: the differences to the row maximum that are >= diff_min
 * are rescaled by input_beta_multiplier << input_beta_left_shift into Q5.26,
 * exponentiated with gemmlowp's exp_on_negative_values (Q0.31 result),
 * summed in Q12.19, the sum inverted with gemmlowp's Newton-Raphson
 * one_over_one_plus_x_for_x_in_0_1, and each exp scaled by the inverse to
 * an 8-bit probability with zero point -128 (scale 1/256).
 *
 * Fixed-point formats are written Qi.f (i integer bits, f fraction bits,
 * i + f = 31).  The constants are gemmlowp's.
 */
#include "tb_nn.h"
#include "tb_nn_support.h"

/* exp(a) for a in [-1/4, 0); a and the result in Q0.31. */
static int32_t exp_on_quarter_interval(int32_t a)
{
	const int32_t exp_minus_one_eighth = 1895147668;
	const int32_t one_third = 715827883;
	/* Taylor expansion around -1/8: x = a + 1/8. */
	const int32_t x = tb_nn_add_wrap(a, 1 << 28);
	const int32_t x2 = tb_nn_srdhm(x, x);
	const int32_t x3 = tb_nn_srdhm(x2, x);
	const int32_t x4 = tb_nn_srdhm(x2, x2);
	const int32_t x4_over_4 = tb_nn_rdbpot(x4, 2);
	int32_t poly;

	/* (x^4/4 + x^3) / 3 + x^2, halved: x^4/24 + x^3/6 + x^2/2 */
	poly = tb_nn_srdhm(tb_nn_add_wrap(x4_over_4, x3), one_third);
	poly = tb_nn_rdbpot(tb_nn_add_wrap(poly, x2), 1);
	return tb_nn_add_wrap(exp_minus_one_eighth,
			      tb_nn_srdhm(exp_minus_one_eighth,
					  tb_nn_add_wrap(x, poly)));
}

/* exp(a) for a <= 0; a in Q5.26, result in Q0.31. */
static int32_t exp_on_negative_values(int32_t a)
{
	/* exp(-2^k) in Q0.31 for k = -2 .. 4, gemmlowp's barrel shifter. */
	static const int32_t exp_neg_pot[7] = {
		1672461947, 1302514674, 790015084, 290630308,
		39332535, 720401, 242,
	};
	const int32_t one_quarter = 1 << 24;		/* 1/4 in Q5.26 */
	const int32_t a_mod_quarter_minus_quarter =
		tb_nn_sub_wrap(a & (one_quarter - 1), one_quarter);
	const int32_t remainder = tb_nn_sub_wrap(a_mod_quarter_minus_quarter, a);
	int32_t result;
	int k;

	/* Q5.26 -> Q0.31 is a saturating shift by 5. */
	result = exp_on_quarter_interval(tb_nn_sat_shl(a_mod_quarter_minus_quarter, 5));
	for (k = 0; k < 7; k++) {
		/* bit 26 + (k - 2) of the remainder stands for 2^(k - 2) */
		if (remainder & (1 << (24 + k)))
			result = tb_nn_srdhm(result, exp_neg_pot[k]);
	}
	if (a == 0)
		result = INT32_MAX;	/* Q0.31's "one" */
	return result;
}

/* gemmlowp RoundingHalfSum for int32: (a + b) / 2 rounded away from zero. */
static int32_t rounding_half_sum(int32_t a, int32_t b)
{
	const int64_t sum = (int64_t)a + b;

	return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* 1 / (1 + a) for a in [0, 1); a in Q0.31, result in Q0.31. */
static int32_t one_over_one_plus_x(int32_t a)
{
	const int32_t c48_over_17 = 1515870810;		/* Q2.29 */
	const int32_t cneg32_over_17 = -1010580540;	/* Q2.29 */
	const int32_t one_q2 = 1 << 29;
	const int32_t half_denominator = rounding_half_sum(a, INT32_MAX);
	int32_t x, i;

	/* Newton-Raphson in Q2.29 */
	x = tb_nn_add_wrap(c48_over_17, tb_nn_srdhm(half_denominator, cneg32_over_17));
	for (i = 0; i < 3; i++) {
		const int32_t hd_x = tb_nn_srdhm(half_denominator, x);
		const int32_t one_minus = tb_nn_sub_wrap(one_q2, hd_x);

		/* Q2.29 * Q2.29 is Q4.27; back to Q2.29 saturating */
		x = tb_nn_add_wrap(x, tb_nn_sat_shl(tb_nn_srdhm(x, one_minus), 2));
	}
	/* x / 2 read as Q1.30, then saturated to Q0.31 */
	return tb_nn_sat_shl(x, 1);
}

/* Input difference to the row maximum, rescaled to Q5.26. */
static int32_t scaled_diff(int32_t diff, const struct tb_nn_softmax_params *p)
{
	return tb_nn_srdhm(tb_nn_shl_wrap(diff, p->input_beta_left_shift),
			   p->input_beta_multiplier);
}

static void softmax_row(const int8_t *in, int32_t n,
			const struct tb_nn_softmax_params *p, int8_t *out)
{
	int32_t max_in = INT8_MIN;
	int32_t sum = 0;	/* Q12.19 */
	int32_t headroom, bits_over_unit, scale, exponent, c;

	for (c = 0; c < n; c++)
		max_in = tb_nn_max(max_in, in[c]);

	for (c = 0; c < n; c++) {
		const int32_t diff = in[c] - max_in;

		if (diff >= p->diff_min)
			sum = tb_nn_add_wrap(sum, tb_nn_rdbpot(
				exp_on_negative_values(scaled_diff(diff, p)), 12));
	}

	/* TFLite GetReciprocal(sum, 12, &bits_over_unit) */
	headroom = tb_nn_clz32((uint32_t)sum);
	bits_over_unit = 12 - headroom;
	scale = one_over_one_plus_x((int32_t)(((uint32_t)sum << headroom) -
					      (1u << 31)));
	exponent = bits_over_unit + 31 - 8;

	for (c = 0; c < n; c++) {
		const int32_t diff = in[c] - max_in;
		int32_t v;

		if (diff < p->diff_min) {
			out[c] = INT8_MIN;
			continue;
		}
		v = tb_nn_srdhm(scale, exp_on_negative_values(scaled_diff(diff, p)));
		/*
		 * Rows of more than ~500 near-maximal values push the
		 * exponent past 31, where the reference's shift is undefined;
		 * the exact quotient (< 1/2) rounds to 0 there.
		 */
		v = exponent > 31 ? 0 : tb_nn_rdbpot(v, exponent);
		out[c] = (int8_t)tb_nn_clamp(v + INT8_MIN, INT8_MIN, INT8_MAX);
	}
}

int tb_nn_softmax_s8(const int8_t *input, int32_t num_rows, int32_t row_size,
		     const struct tb_nn_softmax_params *params, int8_t *output)
{
	int32_t r;

	if (!input || !output || !params || num_rows < 1 || row_size < 1)
		return TB_NN_ERR_ARG;
	if (params->input_beta_left_shift < 0 || params->input_beta_left_shift > 31 ||
	    params->diff_min > 0 ||
	    ((int64_t)-(int64_t)params->diff_min << params->input_beta_left_shift) >
	    INT32_MAX)
		return TB_NN_ERR_ARG;

	for (r = 0; r < num_rows; r++)
		softmax_row(input + (size_t)r * row_size, row_size, params,
			    output + (size_t)r * row_size);
	return TB_NN_OK;
}
