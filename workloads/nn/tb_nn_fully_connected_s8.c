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
 * four weight rows, two SMLAD per row; on an MVE core (Cortex-M55)
 * VMLADAVA/VADDVA, two rows per input run (checked on the target by
 * tests/firmware/nn); elsewhere the vectorisable dot
 * products of tb_nn_dot.h.  Bit-identical (tests/workloads/test_nn_opt.c).
 * No scratch memory.
 */
#include "tb_nn.h"
#include "tb_nn_dot.h"
#include "tb_nn_mve.h"
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

#if TB_NN_USE_DSP
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

#if TB_NN_HAVE_MVE
/*
 * The MVE path: sum(f * (x + off)) = sum(f * x) + off * sum(f) modulo
 * 2^32.  Two weight rows at a time against one input run, sixteen bytes
 * per step: per row a VMLADAVA (the products) and a VADDVA (the row's
 * sum); the last, partial step tail-predicated.  The four outputs of two
 * row pairs are requantised together (tb_nn_mve_requant()).
 */
struct fc_mve_acc {
	int32_t a0, a1;			/* row sums of f * x */
	int32_t s0, s1;			/* row sums of f */
};

static inline struct fc_mve_acc fc_mve_rows2(const int8_t *x, const int8_t *f0,
					     const int8_t *f1, int32_t depth)
{
	struct fc_mve_acc a = { 0, 0, 0, 0 };
	int32_t n;

	for (n = depth >> 4; n > 0; n--, x += 16, f0 += 16, f1 += 16) {
		const int8x16_t xv = vldrbq_s8(x), w0 = vldrbq_s8(f0), w1 = vldrbq_s8(f1);

		a.a0 = vmladavaq_s8(a.a0, w0, xv);
		a.s0 = vaddvaq_s8(a.s0, w0);
		a.a1 = vmladavaq_s8(a.a1, w1, xv);
		a.s1 = vaddvaq_s8(a.s1, w1);
	}
	if (depth & 15) {
		const mve_pred16_t p = vctp8q((uint32_t)(depth & 15));
		const int8x16_t xv = vldrbq_z_s8(x, p);
		const int8x16_t w0 = vldrbq_z_s8(f0, p), w1 = vldrbq_z_s8(f1, p);

		a.a0 = vmladavaq_s8(a.a0, w0, xv);
		a.s0 = vaddvaq_s8(a.s0, w0);
		a.a1 = vmladavaq_s8(a.a1, w1, xv);
		a.s1 = vaddvaq_s8(a.s1, w1);
	}
	return a;
}

/* One batch row: every unit, four at a time (the last group predicated;
 * an odd last row computed twice). */
static void fc_mve(const struct tb_nn_fc_params *p,
		   const struct tb_nn_per_tensor_quant_params *qp, int32_t depth,
		   int32_t units, const int8_t *ib, const int8_t *filter, const int32_t *bias,
		   int8_t *ob)
{
	const int32x4_t mult = vdupq_n_s32(qp->multiplier), shift = vdupq_n_s32(qp->shift);
	const int32x4_t lo = vdupq_n_s32(p->activation.min), hi = vdupq_n_s32(p->activation.max);
	const uint32_t off = (uint32_t)p->input_offset;
	int32_t oc, k;

	for (oc = 0; oc < units; oc += 4) {
		const mve_pred16_t pr = vctp32q((uint32_t)(units - oc));
		int32_t acc[4];

		for (k = 0; k < 4; k += 2) {
			const int32_t r0 = oc + k < units ? oc + k : units - 1;
			const int32_t r1 = oc + k + 1 < units ? oc + k + 1 : units - 1;
			const struct fc_mve_acc a = fc_mve_rows2(ib, filter + (size_t)r0 * depth,
								 filter + (size_t)r1 * depth, depth);

			acc[k] = (int32_t)((uint32_t)a.a0 + off * (uint32_t)a.s0);
			acc[k + 1] = (int32_t)((uint32_t)a.a1 + off * (uint32_t)a.s1);
		}
		{
			int32x4_t v = vldrwq_s32(acc);

			if (bias)
				v = vaddq_s32(v, vldrwq_z_s32(bias + oc, pr));
			vstrbq_p_s32(ob + oc, tb_nn_mve_requant(v, mult, shift, p->output_offset,
								lo, hi), pr);
		}
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

#if TB_NN_HAVE_MVE
		fc_mve(p, quant_params, depth, units, ib, filter, bias, ob);
		continue;
#elif TB_NN_USE_DSP
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
