/*
 * tb_workload_net.c - seeded float networks from layer tables, quantised
 * into model blobs (host only).  See tb_workload_net.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tb_nn_builder.h"
#include "tb_nn_host_quant.h"
#include "tb_nn_ref_f32.h"
#include "tb_workload.h"
#include "tb_workload_net.h"
#include "tb_workload_prng.h"

#define CALIB_SEED 0x00010000u	/* calibration input i: test input seed + i */

/* One activation: shape and, per calibration sample, its float values. */
struct act {
	uint8_t rank;
	struct tb_nn_dims d;
	size_t n;		/* elements per sample */
	float *v;		/* samples * n */
	float min, max;
	float scale;
	int32_t zp;
	int tensor;		/* builder tensor index */
};

struct net {
	const struct tb_net_spec *s;
	struct tb_workload_prng r;
	struct act *a;		/* n_layers + 1 */
	float **w, **b;		/* per layer (NULL without weights) */
	struct tb_nn_dims *fd;	/* filter dims per layer */
	struct tb_nn_tile *pad;	/* padding per layer */
	uint32_t ns;
};

static float uniform(struct tb_workload_prng *r, float lo, float hi)
{
	const float u = (float)(tb_workload_prng_next(r) >> 8) * (1.0f / 16777216.0f);

	return lo + (hi - lo) * u;
}

static int src_of(const struct tb_net_spec *s, uint32_t k, int which)
{
	const struct tb_net_layer *l = &s->layers[k];
	const int i = which ? l->in2 : l->in;

	return i < 0 ? (int)k : i;
}

/* Output shape of layer k; sets fd/pad for layers with weights. */
static int shape_layer(struct net *n, uint32_t k)
{
	const struct tb_net_layer *l = &n->s->layers[k];
	const struct act *in = &n->a[src_of(n->s, k, 0)];
	struct act *out = &n->a[k + 1];
	int32_t oh, ow, ph, pw;

	out->rank = 4;
	switch (l->op) {
	case TB_NET_CONV:
	case TB_NET_DW:
		if (tb_nn_compute_padding(TB_NN_PADDING_SAME, in->d.h, l->kh, l->stride, 1,
					  &oh, &ph) ||
		    tb_nn_compute_padding(TB_NN_PADDING_SAME, in->d.w, l->kw, l->stride, 1,
					  &ow, &pw))
			return TB_NN_ERR_ARG;
		out->d = (struct tb_nn_dims){ 1, oh, ow, l->op == TB_NET_DW ? in->d.c : l->out_c };
		n->fd[k] = l->op == TB_NET_DW ?
			   (struct tb_nn_dims){ 1, l->kh, l->kw, in->d.c } :
			   (struct tb_nn_dims){ l->out_c, l->kh, l->kw, in->d.c };
		n->pad[k] = (struct tb_nn_tile){ .w = pw, .h = ph };
		break;
	case TB_NET_FC:
		out->rank = 2;
		out->d = (struct tb_nn_dims){ 1, 1, 1, l->out_c };
		n->fd[k] = (struct tb_nn_dims){ l->out_c, 1, 1,
					       in->d.h * in->d.w * in->d.c };
		break;
	case TB_NET_AVGPOOL:
		out->d = (struct tb_nn_dims){ 1, 1, 1, in->d.c };
		break;
	case TB_NET_ADD:
		out->d = in->d;
		out->rank = in->rank;
		break;
	case TB_NET_RESHAPE:
		out->rank = 2;
		out->d = (struct tb_nn_dims){ 1, 1, 1, in->d.h * in->d.w * in->d.c };
		break;
	case TB_NET_SOFTMAX:
		out->d = in->d;
		out->rank = in->rank;
		break;
	default:
		return TB_NN_ERR_ARG;
	}
	out->n = (size_t)out->d.h * out->d.w * out->d.c;
	out->v = calloc(out->n * n->ns, sizeof(float));
	return out->v ? TB_NN_OK : TB_NN_ERR_NOMEM;
}

/* Layer k on sample i: out = op(in) with the current weights. */
static void run_layer(struct net *n, uint32_t k, uint32_t i, int relu, int with_bias)
{
	const struct tb_net_layer *l = &n->s->layers[k];
	const struct act *in = &n->a[src_of(n->s, k, 0)];
	struct act *out = &n->a[k + 1];
	const float *x = in->v + i * in->n;
	float *y = out->v + i * out->n;
	const float *bias = with_bias ? n->b[k] : NULL;
	const struct tb_nn_tile one = { 1, 1 }, stride = { l->stride, l->stride };
	const struct tb_nn_tile zero = { 0, 0 };
	size_t e;

	switch (l->op) {
	case TB_NET_CONV:
		tb_nn_ref_conv2d_f32(&in->d, x, &n->fd[k], n->w[k], bias, stride, n->pad[k],
				     relu, &out->d, y);
		break;
	case TB_NET_DW:
		tb_nn_ref_dwconv2d_f32(&in->d, x, &n->fd[k], n->w[k], bias, stride, n->pad[k],
				       relu, &out->d, y);
		break;
	case TB_NET_FC:
		tb_nn_ref_fc_f32(x, n->fd[k].c, n->w[k], bias, l->out_c, relu, y);
		break;
	case TB_NET_AVGPOOL: {
		const struct tb_nn_tile f = { .w = in->d.w, .h = in->d.h };

		tb_nn_ref_avgpool_f32(&in->d, x, f, one, zero, &out->d, y);
		break;
	}
	case TB_NET_ADD: {
		const float *x2 = n->a[src_of(n->s, k, 1)].v + i * out->n;

		for (e = 0; e < out->n; e++) {
			y[e] = x[e] + x2[e];
			if (relu && y[e] < 0.0f)
				y[e] = 0.0f;
		}
		break;
	}
	case TB_NET_RESHAPE:
		memcpy(y, x, out->n * sizeof(float));
		break;
	case TB_NET_SOFTMAX:
		tb_nn_ref_softmax_f32(x, (int32_t)out->n, y);
		break;
	}
}

static double act_mean(const struct act *a, uint32_t ns, double *dev)
{
	double s = 0, q = 0;
	size_t i, cnt = a->n * ns;

	for (i = 0; i < cnt; i++) {
		s += a->v[i];
		q += (double)a->v[i] * a->v[i];
	}
	s /= (double)cnt;
	*dev = sqrt(q / (double)cnt - s * s);
	return s;
}

/* Seeded weights, then per-channel normalisation on the calibration set. */
static int make_layer(struct net *n, uint32_t k)
{
	const struct tb_net_layer *l = &n->s->layers[k];
	struct act *out = &n->a[k + 1];
	const struct tb_nn_dims *fd = &n->fd[k];
	const int32_t ch = out->d.c;
	const size_t count = (size_t)fd->n * fd->h * fd->w * fd->c;
	const size_t inner = l->op == TB_NET_DW ? 1 : (size_t)fd->h * fd->w * fd->c;
	const float fan_in = (float)(l->op == TB_NET_DW ? fd->h * fd->w : (int32_t)inner);
	double *sum, *sq, in_dev = 1.0, in_mean = 0.0;
	size_t i;
	int32_t c;
	uint32_t s;

	n->w[k] = malloc(count * sizeof(float));
	n->b[k] = calloc((size_t)ch, sizeof(float));
	sum = calloc((size_t)ch, sizeof(double));
	sq = calloc((size_t)ch, sizeof(double));
	if (!n->w[k] || !n->b[k] || !sum || !sq) {
		free(sum);
		free(sq);
		return TB_NN_ERR_NOMEM;
	}
	for (i = 0; i < count; i++)
		n->w[k][i] = uniform(&n->r, -1.0f, 1.0f) * sqrtf(6.0f / fan_in);
	for (s = 0; s < n->ns; s++)
		run_layer(n, k, s, 0, 0);
	for (i = 0; i < out->n * n->ns; i++) {
		c = (int32_t)(i % (size_t)ch);
		sum[c] += out->v[i];
		sq[c] += (double)out->v[i] * out->v[i];
	}
	if (l->head == TB_NET_RECON)
		in_mean = act_mean(&n->a[0], n->ns, &in_dev);
	for (c = 0; c < ch; c++) {
		const double cnt = (double)(out->n / (size_t)ch * n->ns);
		const double mean = sum[c] / cnt;
		const double var = sq[c] / cnt - mean * mean;
		double target = 1.0, offset;

		if (l->head == TB_NET_LOGITS)
			target = 2.0;
		else if (l->head == TB_NET_RECON)
			target = in_dev;
		offset = l->head == TB_NET_LOGITS ? uniform(&n->r, -1.0f, 1.0f) :
			 l->head == TB_NET_RECON ? in_mean + 0.1 * in_dev * uniform(&n->r, -1.0f, 1.0f) :
			 uniform(&n->r, -0.5f, 0.5f);
		{
			const double scale = var > 1e-12 ? target / sqrt(var) : 1.0;

			for (i = 0; i < count; i++)
				if ((int32_t)((i / inner) % (size_t)ch) == c)
					n->w[k][i] = (float)(n->w[k][i] * scale);
			n->b[k][c] = (float)(-mean * scale + offset);
		}
	}
	free(sum);
	free(sq);
	return TB_NN_OK;
}

static void track_range(struct act *a, uint32_t ns)
{
	size_t i;

	a->min = a->max = a->v[0];
	for (i = 1; i < a->n * ns; i++) {
		if (a->v[i] < a->min)
			a->min = a->v[i];
		if (a->v[i] > a->max)
			a->max = a->v[i];
	}
}

static int forward_all(struct net *n)
{
	const struct tb_net_spec *s = n->s;
	struct tb_workload wl = {
		.id = s->id, .input_dtype = TB_DTYPE_INT8,
		.input_size = (uint32_t)(s->in_h * s->in_w * s->in_c),
		.input_zero_point = s->in_zp,
	};
	int8_t *q = malloc(wl.input_size);
	uint32_t k, i;
	size_t e;
	int ret = TB_NN_OK;

	if (!q)
		return TB_NN_ERR_NOMEM;
	n->a[0].rank = s->in_rank;
	n->a[0].d = (struct tb_nn_dims){ 1, s->in_h, s->in_w, s->in_c };
	n->a[0].n = wl.input_size;
	n->a[0].v = calloc(n->a[0].n * n->ns, sizeof(float));
	if (!n->a[0].v) {
		free(q);
		return TB_NN_ERR_NOMEM;
	}
	for (i = 0; i < n->ns; i++) {
		tb_workload_test_input(&wl, CALIB_SEED + i, q, wl.input_size);
		for (e = 0; e < n->a[0].n; e++)
			n->a[0].v[i * n->a[0].n + e] = s->in_scale * (float)(q[e] - s->in_zp);
	}
	free(q);
	for (k = 0; !ret && k < s->n_layers; k++) {
		const struct tb_net_layer *l = &s->layers[k];

		ret = shape_layer(n, k);
		if (!ret && (l->op == TB_NET_CONV || l->op == TB_NET_DW || l->op == TB_NET_FC))
			ret = make_layer(n, k);
		for (i = 0; !ret && i < n->ns; i++)
			run_layer(n, k, i, l->relu, 1);
		if (!ret)
			track_range(&n->a[k + 1], n->ns);
	}
	return ret;
}

/* TFLite's rules for the quantisation of each activation. */
static void choose_quant(struct net *n)
{
	const struct tb_net_spec *s = n->s;
	uint32_t k;

	n->a[0].scale = s->in_scale;
	n->a[0].zp = s->in_zp;
	for (k = 0; k < s->n_layers; k++) {
		struct act *out = &n->a[k + 1];
		const struct act *in = &n->a[src_of(s, k, 0)];

		switch (s->layers[k].op) {
		case TB_NET_AVGPOOL:
		case TB_NET_RESHAPE:
			out->scale = in->scale;
			out->zp = in->zp;
			break;
		case TB_NET_SOFTMAX:
			out->scale = 1.0f / 256.0f;
			out->zp = -128;
			break;
		default:
			tb_nn_choose_quant_int8(out->min, out->max, &out->scale, &out->zp);
		}
	}
}

static int add_act_tensor(struct tb_nn_builder *b, struct act *a)
{
	struct tb_nn_tensor_desc d = {
		.dtype = TB_NN_DTYPE_INT8, .rank = a->rank,
		.scale = a->scale, .zero_point = a->zp,
	};

	if (a->rank == 2) {
		d.dims[0] = 1;
		d.dims[1] = (uint32_t)a->d.c;
	} else {
		d.dims[0] = 1;
		d.dims[1] = (uint32_t)a->d.h;
		d.dims[2] = (uint32_t)a->d.w;
		d.dims[3] = (uint32_t)a->d.c;
	}
	a->tensor = tb_nn_builder_add_tensor(b, &d, NULL);
	return a->tensor < 0 ? a->tensor : TB_NN_OK;
}

/* Quantised weights + bias of layer k: tensor indices and w scales. */
static int add_weights(struct net *n, struct tb_nn_builder *b, uint32_t k,
		       int *wt, int *bt, float *w_scales)
{
	const struct tb_net_layer *l = &n->s->layers[k];
	const struct tb_nn_dims *fd = &n->fd[k];
	const size_t count = (size_t)fd->n * fd->h * fd->w * fd->c;
	const int per_tensor = l->op == TB_NET_FC;
	const uint32_t ch = (uint32_t)n->a[k + 1].d.c;
	const uint8_t axis = l->op == TB_NET_DW ? 3 : 0;
	const size_t inner = l->op == TB_NET_DW ? 1 : (size_t)fd->h * fd->w * fd->c;
	const float in_scale = n->a[src_of(n->s, k, 0)].scale;
	struct tb_nn_tensor_desc wd = { .dtype = TB_NN_DTYPE_INT8 };
	int8_t *qw = malloc(count);
	int32_t *qb = malloc(ch * sizeof(int32_t));
	float *bs = malloc(ch * sizeof(float));
	int ret = TB_NN_ERR_NOMEM;

	if (!qw || !qb || !bs)
		goto out;
	tb_nn_quantize_symmetric(n->w[k], count, per_tensor ? 1 : ch,
				 per_tensor ? count : inner, qw, w_scales);
	tb_nn_quantize_bias(n->b[k], ch, in_scale, w_scales, per_tensor, qb, bs);
	if (per_tensor) {
		wd.rank = 2;
		wd.dims[0] = (uint32_t)fd->n;
		wd.dims[1] = (uint32_t)fd->c;
	} else {
		wd.rank = 4;
		wd.dims[0] = (uint32_t)fd->n;
		wd.dims[1] = (uint32_t)fd->h;
		wd.dims[2] = (uint32_t)fd->w;
		wd.dims[3] = (uint32_t)fd->c;
		wd.channel_scales = w_scales;
		wd.quant_axis = axis;
	}
	wd.scale = w_scales[0];
	*wt = tb_nn_builder_add_tensor(b, &wd, qw);
	{
		struct tb_nn_tensor_desc bd = {
			.dtype = TB_NN_DTYPE_INT32, .rank = 1, .dims = { ch },
			.scale = bs[0], .channel_scales = per_tensor ? NULL : bs,
		};

		*bt = tb_nn_builder_add_tensor(b, &bd, qb);
	}
	ret = *wt < 0 ? *wt : *bt < 0 ? *bt : TB_NN_OK;
out:
	free(qw);
	free(qb);
	free(bs);
	return ret;
}

static int emit_layer(struct net *n, struct tb_nn_builder *b, uint32_t k)
{
	const struct tb_net_layer *l = &n->s->layers[k];
	struct act *in = &n->a[src_of(n->s, k, 0)];
	struct act *out = &n->a[k + 1];
	const uint32_t ch = (uint32_t)out->d.c;
	struct tb_nn_activation act;
	float *w_scales = NULL;
	int32_t *mult = NULL, *shift = NULL;
	int wt, bt, ret;

	ret = add_act_tensor(b, out);
	if (ret)
		return ret;
	tb_nn_activation_range_int8(l->relu, out->scale, out->zp, &act);
	switch (l->op) {
	case TB_NET_CONV:
	case TB_NET_DW:
	case TB_NET_FC:
		w_scales = malloc(ch * sizeof(float));
		mult = malloc(ch * sizeof(int32_t));
		shift = malloc(ch * sizeof(int32_t));
		ret = !w_scales || !mult || !shift ? TB_NN_ERR_NOMEM :
		      add_weights(n, b, k, &wt, &bt, w_scales);
		if (ret)
			break;
		if (l->op == TB_NET_FC) {
			ret = tb_nn_fc_multiplier(in->scale, w_scales[0], out->scale, mult, shift);
			if (!ret)
				ret = tb_nn_builder_add_fully_connected(b, in->tensor, wt, bt,
									out->tensor, &act,
									mult[0], shift[0]);
			break;
		}
		ret = tb_nn_conv_multipliers(in->scale, w_scales, ch, out->scale, mult, shift);
		if (ret)
			break;
		if (l->op == TB_NET_CONV) {
			const struct tb_nn_conv_params p = {
				.stride = { l->stride, l->stride }, .padding = n->pad[k],
				.dilation = { 1, 1 }, .activation = act,
			};

			ret = tb_nn_builder_add_conv2d(b, in->tensor, wt, bt, out->tensor, &p,
						       mult, shift);
		} else {
			const struct tb_nn_dw_conv_params p = {
				.ch_mult = 1, .stride = { l->stride, l->stride },
				.padding = n->pad[k], .dilation = { 1, 1 }, .activation = act,
			};

			ret = tb_nn_builder_add_depthwise_conv2d(b, in->tensor, wt, bt,
								 out->tensor, &p, mult, shift);
		}
		break;
	case TB_NET_AVGPOOL: {
		/* global pooling written as TFLite writes it: stride = window */
		const struct tb_nn_pool_params p = {
			.stride = { .w = in->d.w, .h = in->d.h }, .padding = { 0, 0 },
			.activation = { -128, 127 },
		};

		ret = tb_nn_builder_add_average_pool2d(b, in->tensor, out->tensor, &p,
						       in->d.h, in->d.w);
		break;
	}
	case TB_NET_ADD: {
		const struct act *in2 = &n->a[src_of(n->s, k, 1)];
		struct tb_nn_add_params p;

		ret = tb_nn_add_prepare(in->scale, in2->scale, out->scale, &p);
		p.activation = act;
		if (!ret)
			ret = tb_nn_builder_add_add(b, in->tensor, in2->tensor, out->tensor, &p);
		break;
	}
	case TB_NET_RESHAPE:
		ret = tb_nn_builder_add_reshape(b, in->tensor, out->tensor);
		break;
	case TB_NET_SOFTMAX: {
		struct tb_nn_softmax_params sp;

		ret = tb_nn_softmax_prepare(1.0, (double)in->scale, &sp);
		if (!ret)
			ret = tb_nn_builder_add_softmax(b, in->tensor, out->tensor, &sp);
		break;
	}
	}
	free(w_scales);
	free(mult);
	free(shift);
	return ret;
}

int tb_net_build_blob(const struct tb_net_spec *spec, uint32_t seed,
		      uint8_t **blob, size_t *size)
{
	struct net n = { .s = spec };
	struct tb_nn_builder *b = NULL;
	const uint32_t nl = spec ? spec->n_layers : 0;
	uint32_t k;
	int ret = TB_NN_ERR_NOMEM;

	if (!spec || !blob || !size || !nl)
		return TB_NN_ERR_ARG;
	n.ns = spec->calib_samples ? spec->calib_samples : 1;
	tb_workload_prng_seed(&n.r, seed);
	n.a = calloc(nl + 1, sizeof(*n.a));
	n.w = calloc(nl, sizeof(*n.w));
	n.b = calloc(nl, sizeof(*n.b));
	n.fd = calloc(nl, sizeof(*n.fd));
	n.pad = calloc(nl, sizeof(*n.pad));
	if (!n.a || !n.w || !n.b || !n.fd || !n.pad)
		goto out;
	ret = forward_all(&n);
	if (ret)
		goto out;
	choose_quant(&n);
	ret = tb_nn_builder_new(&b);
	if (!ret)
		ret = add_act_tensor(b, &n.a[0]);
	for (k = 0; !ret && k < nl; k++)
		ret = emit_layer(&n, b, k);
	if (!ret)
		ret = tb_nn_builder_set_io(b, n.a[0].tensor, n.a[nl].tensor);
	if (!ret)
		ret = tb_nn_builder_finish(b, blob, size);
out:
	tb_nn_builder_free(b);
	for (k = 0; n.a && k <= nl; k++)
		free(n.a[k].v);
	for (k = 0; n.w && k < nl; k++) {
		free(n.w[k]);
		free(n.b[k]);
	}
	free(n.a);
	free(n.w);
	free(n.b);
	free(n.fd);
	free(n.pad);
	return ret;
}
