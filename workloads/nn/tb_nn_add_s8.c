/*
 * tb_nn_add_s8.c - int8 element-wise addition (residual connections).
 *
 * Bit-exact with TFLite's reference_integer_ops::Add for int8: both inputs
 * are offset, shifted left by left_shift (20) and rescaled to a common
 * scale with their own (multiplier, shift <= 0); the sum is rescaled to
 * the output, offset and clamped.  Same shapes only (no broadcasting).
 * tb_nn_add_prepare() computes the multipliers as TFLite's Prepare does.
 */
#include "tb_nn.h"
#include "tb_nn_support.h"

/* MultiplyByQuantizedMultiplierSmallerThanOneExp: shift <= 0. */
static int32_t scale_down(int32_t x, int32_t mult, int32_t shift)
{
	return tb_nn_rdbpot(tb_nn_srdhm(x, mult), -shift);
}

int tb_nn_add_s8(const struct tb_nn_add_params *p, const int8_t *in1,
		 const int8_t *in2, int32_t size, int8_t *out)
{
	int32_t i;

	if (!p || !in1 || !in2 || !out || size < 1 || p->left_shift < 0 ||
	    p->left_shift > 20 || p->input1_shift > 0 || p->input1_shift < -31 ||
	    p->input2_shift > 0 || p->input2_shift < -31 || p->output_shift > 0 ||
	    p->output_shift < -31 || p->activation.min > p->activation.max)
		return TB_NN_ERR_ARG;
	for (i = 0; i < size; i++) {
		const int32_t a = (p->input1_offset + in1[i]) * (1 << p->left_shift);
		const int32_t b = (p->input2_offset + in2[i]) * (1 << p->left_shift);
		const int32_t sum = tb_nn_add_wrap(scale_down(a, p->input1_mult, p->input1_shift),
						   scale_down(b, p->input2_mult, p->input2_shift));
		const int32_t v = tb_nn_add_wrap(scale_down(sum, p->output_mult, p->output_shift),
						 p->output_offset);

		out[i] = (int8_t)tb_nn_clamp(v, p->activation.min, p->activation.max);
	}
	return TB_NN_OK;
}

int tb_nn_add_prepare(double input1_scale, double input2_scale, double output_scale,
		      struct tb_nn_add_params *p)
{
	const double twice_max = 2.0 * (input1_scale > input2_scale ? input1_scale
								    : input2_scale);
	int ret;

	if (!p || !(input1_scale > 0) || !(input2_scale > 0) || !(output_scale > 0))
		return TB_NN_ERR_ARG;
	p->left_shift = 20;
	ret = tb_nn_quantize_multiplier(input1_scale / twice_max, &p->input1_mult,
					&p->input1_shift);
	if (!ret)
		ret = tb_nn_quantize_multiplier(input2_scale / twice_max, &p->input2_mult,
						&p->input2_shift);
	if (!ret)
		ret = tb_nn_quantize_multiplier(twice_max / ((double)(1 << 20) * output_scale),
						&p->output_mult, &p->output_shift);
	if (ret || p->input1_shift > 0 || p->input2_shift > 0 || p->output_shift > 0)
		return TB_NN_ERR_ARG;	/* TFLite requires multipliers below one */
	return TB_NN_OK;
}
