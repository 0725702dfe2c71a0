/*
 * tb_workload_kws01_build.c - quantise kws01's float network into a blob
 * (host only; the generator calls it at build time).
 */
#include <stdlib.h>
#include <string.h>

#include "tb_nn_builder.h"
#include "tb_nn_host_quant.h"
#include "tb_workload_kws01_float.h"

#define CH TB_KWS01_CH

struct act_quant {
	float scale;
	int32_t zp;
};

struct kws_builder {
	struct tb_nn_builder *b;
	const struct tb_kws01_float *net;
	struct act_quant q[TB_KWS01_NUM_ACTS];
};

/* Calibrate every activation's range on the calibration inputs. */
static void calibrate(const struct tb_kws01_float *net, struct act_quant *q)
{
	struct tb_kws01_ranges r;
	int8_t in[TB_KWS01_IN_SIZE];
	float x[TB_KWS01_IN_SIZE];
	int i;

	tb_kws01_ranges_init(&r);
	for (i = 0; i < TB_KWS01_CALIB_COUNT; i++) {
		tb_kws01_float_test_input(TB_KWS01_CALIB_SEED + (uint32_t)i, in);
		tb_kws01_float_dequantize(in, x);
		tb_kws01_float_forward(net, x, NULL, NULL, &r);
	}
	for (i = 0; i < TB_KWS01_NUM_ACTS; i++)
		tb_nn_choose_quant_int8(r.min[i], r.max[i], &q[i].scale, &q[i].zp);
	/* Fixed by the model's contract: the official input quantisation,
	 * TFLite's pooling rule (output = input quantisation) and softmax. */
	q[TB_KWS01_ACT_INPUT] = (struct act_quant){ TB_KWS01_INPUT_SCALE, TB_KWS01_INPUT_ZP };
	q[TB_KWS01_ACT_POOL] = q[TB_KWS01_ACT_PW(TB_KWS01_BLOCKS - 1)];
	q[TB_KWS01_ACT_PROBS] = (struct act_quant){ 1.0f / 256.0f, -128 };
}

static int add_act(struct kws_builder *kb, int act, uint8_t rank,
		   uint32_t d0, uint32_t d1, uint32_t d2, uint32_t d3)
{
	const struct tb_nn_tensor_desc d = {
		.dtype = TB_NN_DTYPE_INT8, .rank = rank, .dims = { d0, d1, d2, d3 },
		.scale = kb->q[act].scale, .zero_point = kb->q[act].zp,
	};

	return tb_nn_builder_add_tensor(kb->b, &d, NULL);
}

/*
 * Filter and bias tensors of a per-channel layer.  w: float weights in
 * the tensor's layout, inner as for tb_nn_quantize_symmetric().
 */
static int add_weights(struct kws_builder *kb, const float *w, const float *bias,
		       const uint32_t dims[4], uint8_t axis, size_t inner,
		       float in_scale, int *filter, int *bias_t, float *w_scales)
{
	const size_t n = (size_t)dims[0] * dims[1] * dims[2] * dims[3];
	struct tb_nn_tensor_desc fd = {
		.dtype = TB_NN_DTYPE_INT8, .rank = 4,
		.dims = { dims[0], dims[1], dims[2], dims[3] },
		.channel_scales = w_scales, .quant_axis = axis,
	};
	float b_scales[CH];
	int32_t qb[CH];
	int8_t *qw;

	qw = malloc(n);
	if (!qw)
		return TB_NN_ERR_NOMEM;
	tb_nn_quantize_symmetric(w, n, dims[axis], inner, qw, w_scales);
	fd.scale = w_scales[0];
	*filter = tb_nn_builder_add_tensor(kb->b, &fd, qw);
	free(qw);
	if (*filter < 0)
		return *filter;

	tb_nn_quantize_bias(bias, dims[axis], in_scale, w_scales, 0, qb, b_scales);
	{
		const struct tb_nn_tensor_desc bd = {
			.dtype = TB_NN_DTYPE_INT32, .rank = 1, .dims = { dims[axis] },
			.scale = b_scales[0], .channel_scales = b_scales,
		};

		*bias_t = tb_nn_builder_add_tensor(kb->b, &bd, qb);
	}
	return *bias_t < 0 ? *bias_t : TB_NN_OK;
}

static int add_conv(struct kws_builder *kb, int in_t, int in_act, int out_act,
		    const float *w, const float *bias, const uint32_t fdims[4],
		    struct tb_nn_tile stride, struct tb_nn_tile pad, int *out_t)
{
	struct tb_nn_conv_params p = { .stride = stride, .padding = pad,
				       .dilation = { 1, 1 } };
	float w_scales[CH];
	int32_t mult[CH], shift[CH];
	int filter, bias_t, ret;

	ret = add_weights(kb, w, bias, fdims, 0, (size_t)fdims[1] * fdims[2] * fdims[3],
			  kb->q[in_act].scale, &filter, &bias_t, w_scales);
	if (ret)
		return ret;
	ret = tb_nn_conv_multipliers(kb->q[in_act].scale, w_scales, fdims[0],
				     kb->q[out_act].scale, mult, shift);
	if (ret)
		return ret;
	tb_nn_activation_range_int8(1, kb->q[out_act].scale, kb->q[out_act].zp,
				    &p.activation);
	*out_t = add_act(kb, out_act, 4, 1, TB_KWS01_FEAT_H, TB_KWS01_FEAT_W, CH);
	if (*out_t < 0)
		return *out_t;
	return tb_nn_builder_add_conv2d(kb->b, in_t, filter, bias_t, *out_t, &p,
					mult, shift);
}

static int add_dw(struct kws_builder *kb, int in_t, int in_act, int out_act,
		  const float *w, const float *bias, int *out_t)
{
	static const uint32_t fdims[4] = { 1, 3, 3, CH };
	struct tb_nn_dw_conv_params p = { .ch_mult = 1, .stride = { 1, 1 },
					  .padding = { 1, 1 }, .dilation = { 1, 1 } };
	float w_scales[CH];
	int32_t mult[CH], shift[CH];
	int filter, bias_t, ret;

	ret = add_weights(kb, w, bias, fdims, 3, 1, kb->q[in_act].scale,
			  &filter, &bias_t, w_scales);
	if (ret)
		return ret;
	ret = tb_nn_conv_multipliers(kb->q[in_act].scale, w_scales, CH,
				     kb->q[out_act].scale, mult, shift);
	if (ret)
		return ret;
	tb_nn_activation_range_int8(1, kb->q[out_act].scale, kb->q[out_act].zp,
				    &p.activation);
	*out_t = add_act(kb, out_act, 4, 1, TB_KWS01_FEAT_H, TB_KWS01_FEAT_W, CH);
	if (*out_t < 0)
		return *out_t;
	return tb_nn_builder_add_depthwise_conv2d(kb->b, in_t, filter, bias_t, *out_t,
						  &p, mult, shift);
}

/* Average pool 25x5 -> 1x1, fully connected 64 -> 12, softmax. */
static int add_head(struct kws_builder *kb, int in_t, int *out_t)
{
	const struct act_quant *q = kb->q;
	const struct tb_nn_pool_params pp = {
		.stride = { 1, 1 }, .padding = { 0, 0 }, .activation = { -128, 127 },
	};
	struct tb_nn_activation none;
	float w_scale, b_scale;
	int8_t qw[TB_KWS01_CLASSES * CH];
	int32_t qb[TB_KWS01_CLASSES], mult, shift;
	int pool_t, w_t, b_t, logits_t, ret;

	pool_t = add_act(kb, TB_KWS01_ACT_POOL, 4, 1, 1, 1, CH);
	if (pool_t < 0)
		return pool_t;
	ret = tb_nn_builder_add_average_pool2d(kb->b, in_t, pool_t, &pp,
					       TB_KWS01_FEAT_H, TB_KWS01_FEAT_W);
	if (ret)
		return ret;

	tb_nn_quantize_symmetric(kb->net->fc_w, sizeof(qw), 1, sizeof(qw), qw, &w_scale);
	tb_nn_quantize_bias(kb->net->fc_b, TB_KWS01_CLASSES, q[TB_KWS01_ACT_POOL].scale,
			    &w_scale, 1, qb, NULL);
	b_scale = q[TB_KWS01_ACT_POOL].scale * w_scale;
	{
		const struct tb_nn_tensor_desc wd = {
			.dtype = TB_NN_DTYPE_INT8, .rank = 2,
			.dims = { TB_KWS01_CLASSES, CH }, .scale = w_scale,
		};
		const struct tb_nn_tensor_desc bd = {
			.dtype = TB_NN_DTYPE_INT32, .rank = 1,
			.dims = { TB_KWS01_CLASSES }, .scale = b_scale,
		};

		w_t = tb_nn_builder_add_tensor(kb->b, &wd, qw);
		b_t = tb_nn_builder_add_tensor(kb->b, &bd, qb);
	}
	logits_t = add_act(kb, TB_KWS01_ACT_LOGITS, 2, 1, TB_KWS01_CLASSES, 1, 1);
	*out_t = add_act(kb, TB_KWS01_ACT_PROBS, 2, 1, TB_KWS01_CLASSES, 1, 1);
	if (w_t < 0 || b_t < 0 || logits_t < 0 || *out_t < 0)
		return TB_NN_ERR_ARG;
	ret = tb_nn_fc_multiplier(q[TB_KWS01_ACT_POOL].scale, w_scale,
				  q[TB_KWS01_ACT_LOGITS].scale, &mult, &shift);
	if (ret)
		return ret;
	tb_nn_activation_range_int8(0, q[TB_KWS01_ACT_LOGITS].scale,
				    q[TB_KWS01_ACT_LOGITS].zp, &none);
	ret = tb_nn_builder_add_fully_connected(kb->b, pool_t, w_t, b_t, logits_t,
						&none, mult, shift);
	if (ret)
		return ret;
	{
		struct tb_nn_softmax_params sp;

		ret = tb_nn_softmax_prepare(1.0, (double)q[TB_KWS01_ACT_LOGITS].scale, &sp);
		if (ret)
			return ret;
		return tb_nn_builder_add_softmax(kb->b, logits_t, *out_t, &sp);
	}
}

static int build_graph(struct kws_builder *kb)
{
	static const uint32_t conv_fdims[4] = { CH, TB_KWS01_CONV_KH, TB_KWS01_CONV_KW, 1 };
	static const uint32_t pw_fdims[4] = { CH, 1, 1, CH };
	const struct tb_nn_tile one = { 1, 1 }, zero = { 0, 0 };
	struct tb_nn_tile conv_stride = { 2, 2 }, conv_pad;
	int in_t, t, out_t, k, ret;
	int32_t out_h, out_w;

	/* SAME padding of the first conv, the TFLite way. */
	ret = tb_nn_compute_padding(TB_NN_PADDING_SAME, TB_KWS01_IN_H, TB_KWS01_CONV_KH,
				    2, 1, &out_h, &conv_pad.h);
	if (!ret)
		ret = tb_nn_compute_padding(TB_NN_PADDING_SAME, TB_KWS01_IN_W,
					    TB_KWS01_CONV_KW, 2, 1, &out_w, &conv_pad.w);
	if (ret || out_h != TB_KWS01_FEAT_H || out_w != TB_KWS01_FEAT_W)
		return TB_NN_ERR_ARG;

	in_t = add_act(kb, TB_KWS01_ACT_INPUT, 4, 1, TB_KWS01_IN_H, TB_KWS01_IN_W, 1);
	if (in_t < 0)
		return in_t;
	ret = add_conv(kb, in_t, TB_KWS01_ACT_INPUT, TB_KWS01_ACT_CONV, kb->net->conv_w,
		       kb->net->conv_b, conv_fdims, conv_stride, conv_pad, &t);
	for (k = 0; !ret && k < TB_KWS01_BLOCKS; k++) {
		const int prev = k ? TB_KWS01_ACT_PW(k - 1) : TB_KWS01_ACT_CONV;

		ret = add_dw(kb, t, prev, TB_KWS01_ACT_DW(k), kb->net->dw_w[k],
			     kb->net->dw_b[k], &t);
		if (!ret)
			ret = add_conv(kb, t, TB_KWS01_ACT_DW(k), TB_KWS01_ACT_PW(k),
				       kb->net->pw_w[k], kb->net->pw_b[k], pw_fdims,
				       one, zero, &t);
	}
	if (!ret)
		ret = add_head(kb, t, &out_t);
	if (!ret)
		ret = tb_nn_builder_set_io(kb->b, in_t, out_t);
	return ret;
}

int tb_kws01_build_blob(uint32_t seed, uint8_t **blob, size_t *size)
{
	struct kws_builder kb = { 0 };
	struct tb_kws01_float *net;
	int ret;

	net = malloc(sizeof(*net));
	if (!net)
		return TB_NN_ERR_NOMEM;
	ret = tb_kws01_float_build(net, seed) ? TB_NN_ERR_NOMEM : TB_NN_OK;
	if (ret)
		goto out_net;
	kb.net = net;
	calibrate(net, kb.q);
	ret = tb_nn_builder_new(&kb.b);
	if (ret)
		goto out_net;
	ret = build_graph(&kb);
	if (!ret)
		ret = tb_nn_builder_finish(kb.b, blob, size);
	tb_nn_builder_free(kb.b);
out_net:
	free(net);
	return ret;
}
