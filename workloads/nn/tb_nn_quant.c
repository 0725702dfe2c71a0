/*
 * tb_nn_quant.c - quantisation setup helpers (TFLite's Prepare arithmetic).
 *
 * These turn real-valued scales into the integer parameters the kernels
 * take.  They use double arithmetic but no libm: frexp() and round() are
 * replaced by exact power-of-two scaling, so the results are identical to
 * TFLite's on any IEEE-754 machine, host or device.
 */
#include "tb_nn.h"
#include "tb_nn_support.h"

int32_t tb_nn_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
	if (shift < -31 || shift > 30)
		return 0;	/* out of the defined range; callers validate */
	return tb_nn_requant(x, multiplier, shift);
}

/*
 * frexp() for a finite positive value: mag = frac * 2^exp, frac in
 * [0.5, 1).  Scaling by two is exact (subnormals included), so this is
 * bit-identical to the libm function.  Bounded: at most ~1100 steps.
 */
static double frexp_positive(double mag, int *exp)
{
	int e = 0;

	while (mag >= 1.0) {
		mag *= 0.5;
		e++;
	}
	while (mag < 0.5) {
		mag *= 2.0;
		e--;
	}
	*exp = e;
	return mag;
}

/*
 * TFLite's QuantizeMultiplier without the final range check: real =
 * m * 2^(e - 31).  real must be finite, non-NaN and |real| < 2^62.
 */
static void quantize_multiplier_raw(double real, int32_t *multiplier, int32_t *shift)
{
	int64_t q_fixed;
	double frac;
	int neg, e;

	*multiplier = 0;
	*shift = 0;
	if (real == 0.0)
		return;
	neg = real < 0.0;
	frac = frexp_positive(neg ? -real : real, &e);
	/* round(frac * 2^31), half away from zero: the product is exact
	 * and adding 0.5 to it is exact, so truncation rounds correctly. */
	q_fixed = (int64_t)(frac * 2147483648.0 + 0.5);
	if (neg)
		q_fixed = -q_fixed;
	/* TFLite renormalises only the positive overflow (2^31 -> 2^30, e+1);
	 * a negative multiplier keeps -2^31, which fits. */
	if (q_fixed == (1LL << 31)) {
		q_fixed /= 2;
		e++;
	}
	if (e < -31) {
		e = 0;
		q_fixed = 0;
	}
	*multiplier = (int32_t)q_fixed;
	*shift = e;
}

int tb_nn_quantize_multiplier(double real, int32_t *multiplier, int32_t *shift)
{
	if (!multiplier || !shift)
		return TB_NN_ERR_ARG;
	*multiplier = 0;
	*shift = 0;
	/* NaN, infinities and anything that would need a shift > 30 */
	if (real != real || real >= 1073741824.0 || real <= -1073741824.0)
		return TB_NN_ERR_ARG;
	quantize_multiplier_raw(real, multiplier, shift);
	return *shift > 30 ? TB_NN_ERR_ARG : TB_NN_OK;
}

int tb_nn_softmax_prepare(double beta, double input_scale,
			  struct tb_nn_softmax_params *params)
{
	/* kScaledDiffIntegerBits = 5: differences are Q5.26 */
	const double max_real = (double)((1LL << 31) - 1);
	double real;
	int32_t mult, shift;

	if (!params)
		return TB_NN_ERR_ARG;
	real = beta * input_scale * (double)(1 << 26);
	/* QuantizeMultiplierGreaterThanOne wants real > 1; !(>) catches NaN */
	if (!(real > 1.0))
		return TB_NN_ERR_ARG;
	if (real > max_real)
		real = max_real;
	quantize_multiplier_raw(real, &mult, &shift);
	if (shift < 0 || shift > 31)
		return TB_NN_ERR_ARG;
	params->input_beta_multiplier = mult;
	params->input_beta_left_shift = shift;
	/* CalculateInputRadius(5, shift, 31) = floor(31 * 2^26 / 2^shift) */
	params->diff_min = -(int32_t)((31LL << 26) >> shift);
	return TB_NN_OK;
}

int tb_nn_compute_padding(enum tb_nn_padding padding, int32_t in_size,
			  int32_t filter_size, int32_t stride, int32_t dilation,
			  int32_t *out_size, int32_t *pad_before)
{
	int64_t eff, out, total;

	if (!out_size || !pad_before || in_size < 1 || filter_size < 1 ||
	    stride < 1 || dilation < 1)
		return TB_NN_ERR_ARG;
	eff = (int64_t)(filter_size - 1) * dilation + 1;
	switch (padding) {
	case TB_NN_PADDING_SAME:
		out = ((int64_t)in_size + stride - 1) / stride;
		break;
	case TB_NN_PADDING_VALID:
		out = ((int64_t)in_size + stride - eff) / stride;
		break;
	default:
		return TB_NN_ERR_ARG;
	}
	if (out < 1)
		return TB_NN_ERR_ARG;
	total = (out - 1) * stride + eff - in_size;
	*out_size = (int32_t)out;
	*pad_before = total > 0 ? (int32_t)(total / 2) : 0;
	return TB_NN_OK;
}
