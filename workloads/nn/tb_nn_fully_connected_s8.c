/*
 * tb_nn_fully_connected_s8.c - int8 fully connected layer, per-tensor
 * weight quantisation.
 *
 * Bit-exact with TFLite's reference_integer_ops::FullyConnected:
 * acc = sum((filter + filter_offset) * (input + input_offset)), acc += bias,
 * MultiplyByQuantizedMultiplier, + output_offset, clamp.
 *
 * tb_nn_fully_connected_s8_ref() is the plain loop; tb_nn_fully_connected_s8()
 * uses the dot products of tb_nn_dot.h (four units at a time on the
 * generic path, SMLAD on a DSP core) when the weights are symmetric
 * (filter_offset 0, as TFLite's int8 converter makes them).  Bit-identical
 * (tests/workloads/test_nn_opt.c).
 */
#include "tb_nn.h"
#include "tb_nn_dot.h"
#include "tb_nn_support.h"

int32_t tb_nn_fully_connected_s8_get_buffer_size(const struct tb_nn_dims *filter_dims)
{
	(void)filter_dims;
	return 0;	/* the pure C path needs no scratch */
}

static int fc_args_ok(const struct tb_nn_fc_params *p,
		      const struct tb_nn_per_tensor_quant_params *q,
		      const struct tb_nn_dims *id, const int8_t *input,
		      const struct tb_nn_dims *fd, const int8_t *filter,
		      const struct tb_nn_dims *od, const int8_t *output)
{
	if (!p || !q || !id || !input || !fd || !filter || !od || !output)
		return 0;
	if (id->n < 1 || id->h < 1 || id->w < 1 || id->c < 1)
		return 0;
	if (fd->n < 1 || fd->h != 1 || fd->w != 1 ||
	    (int64_t)fd->c != (int64_t)id->h * id->w * id->c)
		return 0;
	if (od->n != id->n || od->h != 1 || od->w != 1 || od->c != fd->n)
		return 0;
	return p->activation.min <= p->activation.max;
}

int tb_nn_fully_connected_s8_ref(const struct tb_nn_context *ctx,
			     const struct tb_nn_fc_params *fc_params,
			     const struct tb_nn_per_tensor_quant_params *quant_params,
			     const struct tb_nn_dims *input_dims, const int8_t *input,
			     const struct tb_nn_dims *filter_dims, const int8_t *filter,
			     const int32_t *bias,
			     const struct tb_nn_dims *output_dims, int8_t *output)
{
	const struct tb_nn_fc_params *p = fc_params;
	int32_t depth, b, oc, d;

	(void)ctx;
	if (!fc_args_ok(fc_params, quant_params, input_dims, input,
			filter_dims, filter, output_dims, output))
		return TB_NN_ERR_ARG;

	depth = filter_dims->c;
	for (b = 0; b < input_dims->n; b++) {
		const int8_t *ib = input + (size_t)b * depth;

		for (oc = 0; oc < filter_dims->n; oc++) {
			const int8_t *fp = filter + (size_t)oc * depth;
			int32_t acc = 0;

			for (d = 0; d < depth; d++)
				acc += (fp[d] + p->filter_offset) * (ib[d] + p->input_offset);
			if (bias)
				acc = tb_nn_add_wrap(acc, bias[oc]);
			acc = tb_nn_requant(acc, quant_params->multiplier,
					    quant_params->shift);
			acc = tb_nn_add_wrap(acc, p->output_offset);
			output[(size_t)b * filter_dims->n + oc] =
				(int8_t)tb_nn_clamp(acc, p->activation.min,
						    p->activation.max);
		}
	}
	return TB_NN_OK;
}

static int8_t fc_out(const struct tb_nn_fc_params *p,
		     const struct tb_nn_per_tensor_quant_params *q,
		     const int32_t *bias, int32_t oc, int32_t acc)
{
	if (bias)
		acc = tb_nn_add_wrap(acc, bias[oc]);
	acc = tb_nn_requant(acc, q->multiplier, q->shift);
	acc = tb_nn_add_wrap(acc, p->output_offset);
	return (int8_t)tb_nn_clamp(acc, p->activation.min, p->activation.max);
}

int tb_nn_fully_connected_s8(const struct tb_nn_context *ctx,
			     const struct tb_nn_fc_params *fc_params,
			     const struct tb_nn_per_tensor_quant_params *quant_params,
			     const struct tb_nn_dims *input_dims, const int8_t *input,
			     const struct tb_nn_dims *filter_dims, const int8_t *filter,
			     const int32_t *bias,
			     const struct tb_nn_dims *output_dims, int8_t *output)
{
	const struct tb_nn_fc_params *p = fc_params;
	int32_t depth, units, b, oc;

	if (!fc_args_ok(fc_params, quant_params, input_dims, input,
			filter_dims, filter, output_dims, output))
		return TB_NN_ERR_ARG;
	if (p->filter_offset != 0)
		return tb_nn_fully_connected_s8_ref(ctx, fc_params, quant_params, input_dims,
						    input, filter_dims, filter, bias,
						    output_dims, output);
	depth = filter_dims->c;
	units = filter_dims->n;
	for (b = 0; b < input_dims->n; b++) {
		const int8_t *ib = input + (size_t)b * depth;
		int8_t *ob = output + (size_t)b * units;

		oc = 0;
#if !TB_NN_HAVE_DSP
		for (; oc + 4 <= units; oc += 4) {
			int32_t acc[4] = { 0, 0, 0, 0 };

			tb_nn_dot4_s8(ib, filter + (size_t)oc * depth, (size_t)depth, depth,
				      p->input_offset, acc);
			ob[oc] = fc_out(p, quant_params, bias, oc, acc[0]);
			ob[oc + 1] = fc_out(p, quant_params, bias, oc + 1, acc[1]);
			ob[oc + 2] = fc_out(p, quant_params, bias, oc + 2, acc[2]);
			ob[oc + 3] = fc_out(p, quant_params, bias, oc + 3, acc[3]);
		}
#endif
		for (; oc < units; oc++)
			ob[oc] = fc_out(p, quant_params, bias, oc,
					tb_nn_dot_s8(ib, filter + (size_t)oc * depth, depth,
						     p->input_offset));
	}
	return TB_NN_OK;
}
