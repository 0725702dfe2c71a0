/*
 * tb_workload_kws01_float.c - kws01's float network: seeded weights,
 * data-dependent normalisation, forward pass (host only).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tb_nn_ref_f32.h"
#include "tb_workload.h"
#include "tb_workload_kws01_float.h"
#include "tb_workload_prng.h"

/* Layers with weights, in order: conv, dw0, pw0, ..., dw3, pw3, fc. */
#define LAYER_CONV  0
#define LAYER_FC    (1 + 2 * TB_KWS01_BLOCKS)
#define NUM_LAYERS  (LAYER_FC + 1)

static const struct tb_nn_dims in_dims = { 1, TB_KWS01_IN_H, TB_KWS01_IN_W, 1 };
static const struct tb_nn_dims feat_dims = { 1, TB_KWS01_FEAT_H, TB_KWS01_FEAT_W, TB_KWS01_CH };
static const struct tb_nn_dims conv_fdims = { TB_KWS01_CH, TB_KWS01_CONV_KH, TB_KWS01_CONV_KW, 1 };
static const struct tb_nn_dims dw_fdims = { 1, 3, 3, TB_KWS01_CH };
static const struct tb_nn_dims pw_fdims = { TB_KWS01_CH, 1, 1, TB_KWS01_CH };

/* SAME padding of the layers (tb_nn_compute_padding() agrees). */
static const struct tb_nn_tile conv_stride = { .w = 2, .h = 2 };
static const struct tb_nn_tile conv_pad = { .w = 1, .h = 4 };
static const struct tb_nn_tile one = { .w = 1, .h = 1 };
static const struct tb_nn_tile dw_pad = { .w = 1, .h = 1 };
static const struct tb_nn_tile none = { .w = 0, .h = 0 };
static const struct tb_nn_tile pool = { .w = TB_KWS01_FEAT_W, .h = TB_KWS01_FEAT_H };

/* Where layer l's weights live and how its channels are laid out. */
struct layer_view {
	float *w;
	float *b;
	int32_t channels;
	int32_t count;		/* weights */
	int32_t inner;		/* channel of weight i is (i / inner) % channels */
	float fan_in;
};

static void layer_view(struct tb_kws01_float *net, int l, struct layer_view *v)
{
	if (l == LAYER_CONV) {
		*v = (struct layer_view){ net->conv_w, net->conv_b, TB_KWS01_CH,
			TB_KWS01_CH * TB_KWS01_CONV_KH * TB_KWS01_CONV_KW,
			TB_KWS01_CONV_KH * TB_KWS01_CONV_KW, 40.0f };
	} else if (l == LAYER_FC) {
		*v = (struct layer_view){ net->fc_w, net->fc_b, TB_KWS01_CLASSES,
			TB_KWS01_CLASSES * TB_KWS01_CH, TB_KWS01_CH, 64.0f };
	} else if (l % 2) {
		const int k = (l - 1) / 2;

		*v = (struct layer_view){ net->dw_w[k], net->dw_b[k], TB_KWS01_CH,
			9 * TB_KWS01_CH, 1, 9.0f };
	} else {
		const int k = (l - 2) / 2;

		*v = (struct layer_view){ net->pw_w[k], net->pw_b[k], TB_KWS01_CH,
			TB_KWS01_CH * TB_KWS01_CH, TB_KWS01_CH, 64.0f };
	}
}

/*
 * Layer l on one sample.  in/out sizes: conv 490 -> 8000, dw/pw 8000 ->
 * 8000, fc 8000 (pooled here first) -> 12.  Pre-activation when relu == 0.
 */
static void run_layer(const struct tb_kws01_float *net, int l, const float *in,
		      float *out, int relu)
{
	if (l == LAYER_CONV) {
		tb_nn_ref_conv2d_f32(&in_dims, in, &conv_fdims, net->conv_w, net->conv_b,
				     conv_stride, conv_pad, relu, &feat_dims, out);
	} else if (l == LAYER_FC) {
		float pooled[TB_KWS01_CH];
		const struct tb_nn_dims pd = { 1, 1, 1, TB_KWS01_CH };

		tb_nn_ref_avgpool_f32(&feat_dims, in, pool, one, none, &pd, pooled);
		tb_nn_ref_fc_f32(pooled, TB_KWS01_CH, net->fc_w, net->fc_b,
				 TB_KWS01_CLASSES, relu, out);
	} else if (l % 2) {
		const int k = (l - 1) / 2;

		tb_nn_ref_dwconv2d_f32(&feat_dims, in, &dw_fdims, net->dw_w[k], net->dw_b[k],
				       one, dw_pad, relu, &feat_dims, out);
	} else {
		const int k = (l - 2) / 2;

		tb_nn_ref_conv2d_f32(&feat_dims, in, &pw_fdims, net->pw_w[k], net->pw_b[k],
				     one, none, relu, &feat_dims, out);
	}
}

static float uniform(struct tb_workload_prng *r, float lo, float hi)
{
	/* 24 random bits: exact in float */
	const float u = (float)(tb_workload_prng_next(r) >> 8) * (1.0f / 16777216.0f);

	return lo + (hi - lo) * u;
}

static void init_weights(struct tb_kws01_float *net, struct tb_workload_prng *r)
{
	struct layer_view v;
	float a;
	int l, i;

	for (l = 0; l < NUM_LAYERS; l++) {
		layer_view(net, l, &v);
		/* He-uniform: variance 2 / fan_in (1 / fan_in for the logits) */
		a = sqrtf(3.0f * (l == LAYER_FC ? 1.0f : 2.0f) / v.fan_in);
		for (i = 0; i < v.count; i++)
			v.w[i] = uniform(r, -a, a);
		for (i = 0; i < v.channels; i++)
			v.b[i] = 0.0f;
	}
}

/*
 * Rescale layer l so its pre-activation over the calibration samples has,
 * per channel, zero mean and unit deviation, then add a seeded offset.
 * The logits are normalised with one deviation for all classes (a class
 * prior survives as the offset) and scaled to deviation 2.
 */
static void normalise_layer(struct tb_kws01_float *net, int l, const float *pre,
			    int32_t per_sample, int32_t samples,
			    struct tb_workload_prng *r)
{
	struct layer_view v;
	double sum[TB_KWS01_CH] = { 0 }, sq[TB_KWS01_CH] = { 0 };
	double scale[TB_KWS01_CH], mean[TB_KWS01_CH];
	int32_t n = 0, i, c;

	layer_view(net, l, &v);
	for (i = 0; i < per_sample * samples; i++) {
		c = i % v.channels;
		sum[c] += pre[i];
		sq[c] += (double)pre[i] * pre[i];
	}
	n = per_sample * samples / v.channels;
	for (c = 0; c < v.channels; c++) {
		const double m = sum[c] / n;
		const double var = sq[c] / n - m * m;

		mean[c] = m;
		scale[c] = var > 1e-12 ? 1.0 / sqrt(var) : 1.0;
	}
	if (l == LAYER_FC) {
		double pooled_var = 0.0;

		for (c = 0; c < v.channels; c++)
			pooled_var += 1.0 / (scale[c] * scale[c]);
		for (c = 0; c < v.channels; c++)
			scale[c] = 2.0 / sqrt(pooled_var / v.channels);
	}
	for (i = 0; i < v.count; i++)
		v.w[i] = (float)(v.w[i] * scale[(i / v.inner) % v.channels]);
	for (c = 0; c < v.channels; c++) {
		const float offset = l == LAYER_FC ? uniform(r, -1.0f, 1.0f)
						   : uniform(r, -0.5f, 0.5f);

		v.b[c] = (float)((v.b[c] - mean[c]) * scale[c]) + offset;
	}
}

/*
 * A trained classifier looks at the directions in which its features
 * actually vary; random weights mostly look at noise.  So each class's
 * weight vector is drawn as a random combination of the calibration
 * samples' centred pooled features: the logits then move with the input
 * rather than with rounding noise, as in a trained network.
 */
static void shape_fc(struct tb_kws01_float *net, const float *feat, int32_t ns,
		     struct tb_workload_prng *r)
{
	static const struct tb_nn_dims pd = { 1, 1, 1, TB_KWS01_CH };
	float pooled[TB_KWS01_CALIB_COUNT][TB_KWS01_CH];
	float mean[TB_KWS01_CH] = { 0 };
	int32_t i, u, d;

	for (i = 0; i < ns; i++) {
		tb_nn_ref_avgpool_f32(&feat_dims, feat + (size_t)i * TB_KWS01_FEAT_SIZE,
				      pool, one, none, &pd, pooled[i]);
		for (d = 0; d < TB_KWS01_CH; d++)
			mean[d] += pooled[i][d] / (float)ns;
	}
	for (u = 0; u < TB_KWS01_CLASSES; u++) {
		float *w = net->fc_w + u * TB_KWS01_CH;

		for (d = 0; d < TB_KWS01_CH; d++)
			w[d] = 0.0f;
		for (i = 0; i < ns; i++) {
			const float g = uniform(r, -1.0f, 1.0f);

			for (d = 0; d < TB_KWS01_CH; d++)
				w[d] += g * (pooled[i][d] - mean[d]);
		}
	}
}

int tb_kws01_float_build(struct tb_kws01_float *net, uint32_t seed)
{
	const int32_t ns = TB_KWS01_CALIB_COUNT;
	struct tb_workload_prng r;
	float *cur, *next;
	int8_t q[TB_KWS01_IN_SIZE];
	int32_t i, l, out_n;
	int ret = -1;

	cur = malloc(sizeof(float) * TB_KWS01_FEAT_SIZE * ns);
	next = malloc(sizeof(float) * TB_KWS01_FEAT_SIZE * ns);
	if (!cur || !next)
		goto out_free;

	tb_workload_prng_seed(&r, seed);
	init_weights(net, &r);
	for (i = 0; i < ns; i++) {
		tb_kws01_float_test_input(TB_KWS01_CALIB_SEED + (uint32_t)i, q);
		tb_kws01_float_dequantize(q, cur + (size_t)i * TB_KWS01_FEAT_SIZE);
	}
	/* Layer by layer: pre-activations, normalise, then activate. */
	for (l = 0; l < NUM_LAYERS; l++) {
		out_n = l == LAYER_FC ? TB_KWS01_CLASSES : TB_KWS01_FEAT_SIZE;
		if (l == LAYER_FC)
			shape_fc(net, cur, ns, &r);
		for (i = 0; i < ns; i++)
			run_layer(net, l, cur + (size_t)i * TB_KWS01_FEAT_SIZE,
				  next + (size_t)i * out_n, 0);
		normalise_layer(net, l, next, out_n, ns, &r);
		if (l == LAYER_FC)
			break;
		for (i = 0; i < ns; i++)
			run_layer(net, l, cur + (size_t)i * TB_KWS01_FEAT_SIZE,
				  next + (size_t)i * TB_KWS01_FEAT_SIZE, 1);
		memcpy(cur, next, sizeof(float) * TB_KWS01_FEAT_SIZE * ns);
	}
	ret = 0;

out_free:
	free(cur);
	free(next);
	return ret;
}

void tb_kws01_float_test_input(uint32_t seed, int8_t *q)
{
	/* Just the fields tb_workload_test_input() reads. */
	const struct tb_workload wl = {
		.id = TB_WL_KWS01,
		.name = "kws01",
		.input_dtype = TB_DTYPE_INT8,
		.input_size = TB_KWS01_IN_SIZE,
		.input_scale = TB_KWS01_INPUT_SCALE,
		.input_zero_point = TB_KWS01_INPUT_ZP,
	};

	tb_workload_test_input(&wl, seed, q, TB_KWS01_IN_SIZE);
}

void tb_kws01_float_dequantize(const int8_t *q, float *x)
{
	int i;

	for (i = 0; i < TB_KWS01_IN_SIZE; i++)
		x[i] = TB_KWS01_INPUT_SCALE * (float)(q[i] - TB_KWS01_INPUT_ZP);
}

void tb_kws01_ranges_init(struct tb_kws01_ranges *r)
{
	int i;

	for (i = 0; i < TB_KWS01_NUM_ACTS; i++) {
		r->min[i] = INFINITY;
		r->max[i] = -INFINITY;
	}
}

static void widen(struct tb_kws01_ranges *r, int act, const float *v, int32_t n)
{
	int32_t i;

	if (!r)
		return;
	for (i = 0; i < n; i++) {
		if (v[i] < r->min[act])
			r->min[act] = v[i];
		if (v[i] > r->max[act])
			r->max[act] = v[i];
	}
}

void tb_kws01_float_forward(const struct tb_kws01_float *net, const float *x,
			    float *logits, float *probs,
			    struct tb_kws01_ranges *ranges)
{
	static const struct tb_nn_dims pd = { 1, 1, 1, TB_KWS01_CH };
	float a[TB_KWS01_FEAT_SIZE], b[TB_KWS01_FEAT_SIZE];
	float pooled[TB_KWS01_CH], lg[TB_KWS01_CLASSES], pr[TB_KWS01_CLASSES];
	int k;

	widen(ranges, TB_KWS01_ACT_INPUT, x, TB_KWS01_IN_SIZE);
	run_layer(net, LAYER_CONV, x, a, 1);
	widen(ranges, TB_KWS01_ACT_CONV, a, TB_KWS01_FEAT_SIZE);
	for (k = 0; k < TB_KWS01_BLOCKS; k++) {
		run_layer(net, 1 + 2 * k, a, b, 1);
		widen(ranges, TB_KWS01_ACT_DW(k), b, TB_KWS01_FEAT_SIZE);
		run_layer(net, 2 + 2 * k, b, a, 1);
		widen(ranges, TB_KWS01_ACT_PW(k), a, TB_KWS01_FEAT_SIZE);
	}
	tb_nn_ref_avgpool_f32(&feat_dims, a, pool, one, none, &pd, pooled);
	widen(ranges, TB_KWS01_ACT_POOL, pooled, TB_KWS01_CH);
	tb_nn_ref_fc_f32(pooled, TB_KWS01_CH, net->fc_w, net->fc_b, TB_KWS01_CLASSES,
			 0, lg);
	widen(ranges, TB_KWS01_ACT_LOGITS, lg, TB_KWS01_CLASSES);
	tb_nn_ref_softmax_f32(lg, TB_KWS01_CLASSES, pr);
	widen(ranges, TB_KWS01_ACT_PROBS, pr, TB_KWS01_CLASSES);
	if (logits)
		memcpy(logits, lg, sizeof(lg));
	if (probs)
		memcpy(probs, pr, sizeof(pr));
}
