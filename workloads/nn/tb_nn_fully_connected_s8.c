/*
 * tb_nn_fully_connected_s8.c - int8 fully connected layer, per-tensor
 * weight quantisation.
 *
 * Bit-exact with TFLite's reference_integer_ops::FullyConnected:
 * acc = sum((filter + filter_offset) * (input + input_offset)), acc += bias,
 * MultiplyByQuantizedMultiplier, + output_offset, clamp.
 *
 * tb_nn_fully_connected_s8_ref() is the plain loop; tb_nn_fully_connected_s8()
 * takes a fast path when the weights are symmetric (filter_offset 0, as
 * TFLite's int8 converter makes them): four units at a time, on a DSP core
 * each four input bytes widened once (SXTAB16 adds the offset) for the
 * four weight rows, two SMLAD per row; elsewhere the vectorisable dot
 * products of tb_nn_dot.h.  Bit-identical (tests/workloads/test_nn_opt.c).
 * No scratch memory.
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

/* Bias (if not already in acc), requantisation, offset, clamp.  The
 * per-tensor multiplier is turned into q once per call. */
static inline int8_t fc_out(const struct tb_nn_fc_params *p, const struct tb_nn_rq *q,
			    const int32_t *bias, int32_t oc, int32_t acc)
{
	if (bias)
		acc = tb_nn_add_wrap(acc, bias[oc]);
	acc = tb_nn_add_wrap(tb_nn_rq_apply(acc, q), p->output_offset);
	return (int8_t)tb_nn_clamp(acc, p->activation.min, p->activation.max);
}

#if TB_NN_HAVE_DSP
static inline int32_t fc_row4(const int8_t *f, uint32_t xe, uint32_t xo, int32_t acc)
{
	const uint32_t g = tb_nn_read_u32(f);

	acc = tb_nn_smlad(tb_nn_sxtb16(g), xe, acc);
	return tb_nn_smlad(tb_nn_sxtb16_ror8(g), xo, acc);
}

/* One batch row: every unit, four at a time. */
static void fc_dsp(const struct tb_nn_fc_params *p, const struct tb_nn_rq *q,
		   int32_t depth, int32_t units, const int8_t *ib, const int8_t *filter,
		   const int32_t *bias, int8_t *ob)
{
	const uint32_t off2 = tb_nn_pack16x2(p->input_offset, p->input_offset);
	const int32_t d4 = depth & ~3;
	int32_t oc = 0, k;

	for (; oc + 4 <= units; oc += 4) {
		const int8_t *f0 = filter + (size_t)oc * depth, *f1 = f0 + depth;
		const int8_t *f2 = f1 + depth, *f3 = f2 + depth;
		int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;

		if (bias) {
			a0 = bias[oc];
			a1 = bias[oc + 1];
			a2 = bias[oc + 2];
			a3 = bias[oc + 3];
		}
		for (k = 0; k < d4; k += 4) {
			const uint32_t w = tb_nn_read_u32(ib + k);
			const uint32_t xe = tb_nn_sxtab16(off2, w), xo = tb_nn_sxtab16_ror8(off2, w);

			a0 = fc_row4(f0 + k, xe, xo, a0);
			a1 = fc_row4(f1 + k, xe, xo, a1);
			a2 = fc_row4(f2 + k, xe, xo, a2);
			a3 = fc_row4(f3 + k, xe, xo, a3);
		}
		for (; k < depth; k++) {
			const int32_t x = ib[k] + p->input_offset;

			a0 = tb_nn_add_wrap(a0, f0[k] * x);
			a1 = tb_nn_add_wrap(a1, f1[k] * x);
			a2 = tb_nn_add_wrap(a2, f2[k] * x);
			a3 = tb_nn_add_wrap(a3, f3[k] * x);
		}
		ob[oc] = fc_out(p, q, NULL, oc, a0);
		ob[oc + 1] = fc_out(p, q, NULL, oc + 1, a1);
		ob[oc + 2] = fc_out(p, q, NULL, oc + 2, a2);
		ob[oc + 3] = fc_out(p, q, NULL, oc + 3, a3);
	}
	for (; oc < units; oc++) {
		const int8_t *f0 = filter + (size_t)oc * depth;
		int32_t a0 = bias ? bias[oc] : 0;

		for (k = 0; k < d4; k += 4) {
			const uint32_t w = tb_nn_read_u32(ib + k);

			a0 = fc_row4(f0 + k, tb_nn_sxtab16(off2, w), tb_nn_sxtab16_ror8(off2, w), a0);
		}
		for (; k < depth; k++)
			a0 = tb_nn_add_wrap(a0, f0[k] * (ib[k] + p->input_offset));
		ob[oc] = fc_out(p, q, NULL, oc, a0);
	}
}
#endif

int tb_nn_fully_connected_s8(const struct tb_nn_context *ctx,
			     const struct tb_nn_fc_params *fc_params,
			     const struct tb_nn_per_tensor_quant_params *quant_params,
			     const struct tb_nn_dims *input_dims, const int8_t *input,
			     const struct tb_nn_dims *filter_dims, const int8_t *filter,
			     const int32_t *bias,
			     const struct tb_nn_dims *output_dims, int8_t *output)
{
	const struct tb_nn_fc_params *p = fc_params;
	struct tb_nn_rq q;
	int32_t depth, units, b, oc;

	if (!fc_args_ok(fc_params, quant_params, input_dims, input,
			filter_dims, filter, output_dims, output))
		return TB_NN_ERR_ARG;
	if (p->filter_offset != 0 || quant_params->multiplier == INT32_MIN)
		return tb_nn_fully_connected_s8_ref(ctx, fc_params, quant_params, input_dims,
						    input, filter_dims, filter, bias,
						    output_dims, output);
	depth = filter_dims->c;
	units = filter_dims->n;
	tb_nn_rq_init(&q, quant_params->multiplier, quant_params->shift);
	for (b = 0; b < input_dims->n; b++) {
		const int8_t *ib = input + (size_t)b * depth;
		int8_t *ob = output + (size_t)b * units;

#if TB_NN_HAVE_DSP
		if (p->input_offset >= -32640 && p->input_offset <= 32639) {
			fc_dsp(p, &q, depth, units, ib, filter, bias, ob);
			continue;
		}
#endif
		for (oc = 0; oc + 4 <= units; oc += 4) {
			int32_t acc[4] = { 0, 0, 0, 0 };

			tb_nn_dot4_s8(ib, filter + (size_t)oc * depth, (size_t)depth, depth,
				      p->input_offset, acc);
			ob[oc] = fc_out(p, &q, bias, oc, acc[0]);
			ob[oc + 1] = fc_out(p, &q, bias, oc + 1, acc[1]);
			ob[oc + 2] = fc_out(p, &q, bias, oc + 2, acc[2]);
			ob[oc + 3] = fc_out(p, &q, bias, oc + 3, acc[3]);
		}
		for (; oc < units; oc++)
			ob[oc] = fc_out(p, &q, bias, oc,
					tb_nn_dot_s8(ib, filter + (size_t)oc * depth, depth,
						     p->input_offset));
	}
	return TB_NN_OK;
}
