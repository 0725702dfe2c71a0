/*
 * tb_nn_fully_connected_s8.c - int8 fully connected layer, per-tensor
 * weight quantisation.
 *
 * Bit-exact with TFLite's reference_integer_ops::FullyConnected:
 * acc = sum((filter + filter_offset) * (input + input_offset)), acc += bias,
 * MultiplyByQuantizedMultiplier, + output_offset, clamp.
 */
#include "tb_nn.h"
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

int tb_nn_fully_connected_s8(const struct tb_nn_context *ctx,
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
