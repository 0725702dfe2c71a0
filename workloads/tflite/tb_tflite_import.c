/*
 * tb_tflite_import.c - map a parsed .tflite graph onto tb_nn operators
 * and serialise it as a model blob.
 *
 * Parameters are computed the way TFLite-Micro's Prepare() computes them
 * (per-channel multipliers from double(in) * double(w[c]) / double(out),
 * softmax's beta scaling, ADD's left shift of 20 and per-input
 * multipliers, fused-activation clamps), so running the blob reproduces
 * TFLite's int8 reference kernels bit for bit.  Hybrid layers (float
 * activations with int8 weights, as in kws_ref_model_float32.tflite) get
 * their weights dequantised to float32 here: see docs/IMPORTER.md.
 */
#include <float.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tb_nn_builder.h"
#include "tb_nn_host_quant.h"
#include "tb_tflite.h"

/* Fused activations of the schema. */
enum { ACT_NONE = 0, ACT_RELU = 1, ACT_RELU_N1_TO_1 = 2, ACT_RELU6 = 3 };

struct imp {
	const struct tb_tflite_model *m;
	struct tb_nn_builder *b;
	int *map;			/* tflite tensor -> blob tensor, -1 */
	uint8_t *counted;		/* constant already in the report */
	struct tb_tflite_report rep;
	struct tb_error *err;
	uint32_t op;			/* operator being imported */
	char opname[32];
};

__attribute__((format(printf, 3, 4)))
static int op_fail(struct imp *im, int code, const char *fmt, ...)
{
	char msg[TB_ERROR_MSG_MAX - 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return tb_error_set(im->err, code, "operator %u (%s): %s", im->op, im->opname, msg);
}

#define UNSUP(im, ...) op_fail(im, TB_ERR_UNSUPPORTED, __VA_ARGS__)
#define BAD(im, ...) op_fail(im, TB_ERR_FORMAT, __VA_ARGS__)

static const struct tb_tflite_tensor *T(const struct imp *im, int32_t i)
{
	return i >= 0 ? &im->m->tensors[i] : NULL;
}

static int is_f32(const struct tb_tflite_tensor *t)
{
	return t && t->type == TB_TFLITE_FLOAT32;
}

static int is_i8(const struct tb_tflite_tensor *t)
{
	return t && t->type == TB_TFLITE_INT8;
}

static uint64_t elems(const struct tb_tflite_tensor *t)
{
	uint64_t n = 1;

	for (uint32_t k = 0; k < t->rank; k++)
		n *= (uint64_t)t->shape[k];
	return n;
}

static float scale0(const struct tb_tflite_tensor *t)
{
	return t->n_scales ? t->scales[0] : 0.0f;
}

static int32_t zp0(const struct tb_tflite_tensor *t)
{
	return t->n_scales ? (int32_t)t->zero_points[0] : 0;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

/* Shape and quantisation of t as a blob tensor description. */
static int describe(struct imp *im, int32_t ti, uint8_t dtype,
		    struct tb_nn_tensor_desc *d)
{
	const struct tb_tflite_tensor *t = T(im, ti);

	memset(d, 0, sizeof(*d));
	if (t->rank < 1 || t->rank > TB_NN_MODEL_MAX_RANK)
		return UNSUP(im, "tensor %d ('%s') has rank %u; 1..4 supported", ti,
			     t->name, t->rank);
	d->dtype = dtype;
	d->rank = t->rank;
	for (uint32_t k = 0; k < t->rank; k++) {
		if (t->shape[k] < 1)
			return UNSUP(im, "tensor %d ('%s') has a dynamic or empty dimension",
				     ti, t->name);
		d->dims[k] = (uint32_t)t->shape[k];
	}
	if (dtype == TB_NN_DTYPE_INT8 && t->n_scales >= 1) {
		int64_t zp = t->zero_points[0];

		if (!(t->scales[0] > 0.0f) || t->scales[0] > 1e30f)
			return BAD(im, "tensor %d ('%s') has scale %g", ti, t->name,
				   (double)t->scales[0]);
		if (zp < -128 || zp > 127)
			return BAD(im, "tensor %d ('%s') has int8 zero point %lld", ti,
				   t->name, (long long)zp);
		d->scale = t->scales[0];
		d->zero_point = (int32_t)zp;
	}
	return TB_OK;
}

/* Blob tensor of an activation (added on first use). */
static int act(struct imp *im, int32_t ti, int *out)
{
	const struct tb_tflite_tensor *t = T(im, ti);
	struct tb_nn_tensor_desc d;
	uint8_t dtype;
	int ret;

	if (im->map[ti] >= 0) {
		*out = im->map[ti];
		return TB_OK;
	}
	if (t->data)
		return UNSUP(im, "tensor %d ('%s') is a constant where an activation is "
			     "expected", ti, t->name);
	if (is_i8(t)) {
		if (t->n_scales != 1)
			return UNSUP(im, "int8 activation %d ('%s') without a single "
				     "(scale, zero point)", ti, t->name);
		dtype = TB_NN_DTYPE_INT8;
	} else if (is_f32(t)) {
		dtype = TB_NN_DTYPE_FLOAT32;
	} else {
		return UNSUP(im, "activation %d ('%s') of type %s (int8 and float32 "
			     "supported)", ti, t->name, tb_tflite_type_name(t->type));
	}
	ret = describe(im, ti, dtype, &d);
	if (ret)
		return ret;
	if (dtype == TB_NN_DTYPE_FLOAT32)
		d.scale = 0.0f;
	ret = tb_nn_builder_add_tensor(im->b, &d, NULL);
	if (ret < 0)
		return op_fail(im, ret == TB_NN_ERR_NOMEM ? TB_ERR_NOMEM : TB_ERR_UNSUPPORTED,
			       "activation %d ('%s') cannot be represented", ti, t->name);
	im->map[ti] = ret;
	*out = ret;
	return TB_OK;
}

static void count_const(struct imp *im, int32_t ti)
{
	const struct tb_tflite_tensor *t = T(im, ti);

	if (!t || im->counted[ti])
		return;
	im->counted[ti] = 1;
	im->rep.params += elems(t);
	im->rep.weight_bytes += t->data_len;
}

/*
 * A weight tensor (int8; per-channel along axis when n_scales > 1) as a
 * blob constant.  to_f32: dequantise it to float32 (hybrid layers).
 * scales receives one scale per channel (channels entries).
 */
static int weights(struct imp *im, int32_t ti, uint8_t axis, uint32_t channels,
		   int to_f32, float *scales, int *out)
{
	const struct tb_tflite_tensor *t = T(im, ti);
	struct tb_nn_tensor_desc d;
	const uint64_t n = t ? elems(t) : 0;
	uint64_t inner = 1;
	float *fw = NULL;
	int ret;

	if (!t || !t->data)
		return UNSUP(im, "weights (tensor %d) are not constant", ti);
	if (is_f32(t)) {
		ret = describe(im, ti, TB_NN_DTYPE_FLOAT32, &d);
		if (ret)
			return ret;
		fw = malloc(n * sizeof(float));
		if (!fw)
			return tb_error_set(im->err, TB_ERR_NOMEM, "out of memory");
		for (uint64_t i = 0; i < n; i++) {
			const uint32_t bits = rd32(t->data + 4 * i);

			memcpy(&fw[i], &bits, 4);
		}
		goto add;
	}
	if (!is_i8(t))
		return UNSUP(im, "weights of type %s (int8 and float32 supported)",
			     tb_tflite_type_name(t->type));
	if (t->n_scales != 1 && t->n_scales != channels)
		return UNSUP(im, "weights with %u scales for %u channels", t->n_scales,
			     channels);
	if (t->n_scales > 1 && t->quant_dim != axis)
		return UNSUP(im, "weights quantised along axis %d (expected %u)",
			     t->quant_dim, axis);
	for (uint32_t c = 0; c < channels; c++) {
		scales[c] = t->scales[t->n_scales > 1 ? c : 0];
		if (!(scales[c] > 0.0f) || scales[c] > 1e30f)
			return BAD(im, "weight scale %g", (double)scales[c]);
		if (t->zero_points[t->n_scales > 1 ? c : 0] != 0)
			return UNSUP(im, "asymmetric int8 weights (zero point %lld)",
				     (long long)t->zero_points[t->n_scales > 1 ? c : 0]);
	}
	for (uint32_t k = axis + 1; k < t->rank; k++)
		inner *= (uint64_t)t->shape[k];
	ret = describe(im, ti, TB_NN_DTYPE_INT8, &d);
	if (ret)
		return ret;
	if (to_f32) {
		/* Hybrid: real = scale[c] * q, computed in double as TFLite's
		 * Dequantize does, stored as float32. */
		fw = malloc(n * sizeof(float));
		if (!fw)
			return tb_error_set(im->err, TB_ERR_NOMEM, "out of memory");
		for (uint64_t i = 0; i < n; i++)
			fw[i] = (float)((double)scales[(i / inner) % channels] *
					(int8_t)t->data[i]);
		d.dtype = TB_NN_DTYPE_FLOAT32;
		d.scale = 0.0f;
		d.zero_point = 0;
		im->rep.hybrid = 1;
		im->rep.dequantized_weights++;
		goto add;
	}
	d.scale = scales[0];
	d.zero_point = 0;
	if (t->n_scales > 1) {
		d.channel_scales = scales;
		d.quant_axis = axis;
	}
add:
	count_const(im, ti);
	ret = tb_nn_builder_add_tensor(im->b, &d, fw ? (const void *)fw : (const void *)t->data);
	free(fw);
	if (ret < 0)
		return op_fail(im, TB_ERR_UNSUPPORTED, "weights (tensor %d) cannot be stored", ti);
	*out = ret;
	return TB_OK;
}

/* Optional bias: int32 (int8 layers) or float32 (float layers), [n]. */
static int bias(struct imp *im, int32_t ti, uint32_t n, int f32, float in_scale,
		const float *w_scales, int per_tensor, int *out)
{
	const struct tb_tflite_tensor *t = T(im, ti);
	struct tb_nn_tensor_desc d = { .rank = 1, .dims = { n } };
	float *bs = NULL;
	void *v;
	int ret;

	*out = -1;
	if (!t)
		return TB_OK;
	if (!t->data || elems(t) != n)
		return UNSUP(im, "bias (tensor %d) is not a constant of %u values", ti, n);
	if (f32 ? !is_f32(t) : t->type != TB_TFLITE_INT32)
		return UNSUP(im, "bias of type %s for a %s layer", tb_tflite_type_name(t->type),
			     f32 ? "float32" : "int8");
	v = malloc(4 * (size_t)n);
	bs = malloc(sizeof(float) * n);
	if (!v || !bs) {
		free(v);
		free(bs);
		return tb_error_set(im->err, TB_ERR_NOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint32_t bits = rd32(t->data + 4 * (size_t)i);

		memcpy((uint8_t *)v + 4 * (size_t)i, &bits, 4);
		if (!f32)
			bs[i] = in_scale * w_scales[per_tensor ? 0 : i];
	}
	d.dtype = f32 ? TB_NN_DTYPE_FLOAT32 : TB_NN_DTYPE_INT32;
	if (!f32) {
		d.scale = bs[0];
		if (!per_tensor)
			d.channel_scales = bs;
	}
	count_const(im, ti);
	ret = tb_nn_builder_add_tensor(im->b, &d, v);
	free(v);
	free(bs);
	if (ret < 0)
		return op_fail(im, TB_ERR_UNSUPPORTED, "bias (tensor %d) cannot be stored", ti);
	*out = ret;
	return TB_OK;
}

/* int8 clamp of a fused activation. */
static int act_range_i8(struct imp *im, int8_t fused, const struct tb_tflite_tensor *out,
			struct tb_nn_activation *a)
{
	if (fused != ACT_NONE && fused != ACT_RELU && fused != ACT_RELU6)
		return UNSUP(im, "fused activation %d (NONE, RELU and RELU6 supported)", fused);
	tb_nn_activation_range_int8(fused == ACT_RELU ? 1 : fused == ACT_RELU6 ? 6 : 0,
				    scale0(out), zp0(out), a);
	return TB_OK;
}

static int32_t f32_word(float f)
{
	int32_t w;

	memcpy(&w, &f, 4);
	return w;
}

/* float clamp of a fused activation, as two words of float bits. */
static int act_range_f32(struct imp *im, int8_t fused, int32_t *lo, int32_t *hi)
{
	switch (fused) {
	case ACT_NONE:
		*lo = f32_word(-FLT_MAX);
		*hi = f32_word(FLT_MAX);
		return TB_OK;
	case ACT_RELU:
		*lo = f32_word(0.0f);
		*hi = f32_word(FLT_MAX);
		return TB_OK;
	case ACT_RELU_N1_TO_1:
		*lo = f32_word(-1.0f);
		*hi = f32_word(1.0f);
		return TB_OK;
	case ACT_RELU6:
		*lo = f32_word(0.0f);
		*hi = f32_word(6.0f);
		return TB_OK;
	}
	return UNSUP(im, "fused activation %d", fused);
}

/* SAME/VALID padding of one axis, checked against the tensor shapes. */
static int padding(struct imp *im, int8_t pad, int32_t in, int32_t k, int32_t stride,
		   int32_t dil, int32_t out, int32_t *before)
{
	int32_t o;

	if (pad != 0 && pad != 1)
		return BAD(im, "padding %d", pad);
	if (stride < 1 || dil < 1 || stride > 4096 || dil > 4096 || k < 1 || k > 4096)
		return BAD(im, "stride %d, dilation %d, kernel %d", stride, dil, k);
	if (tb_nn_compute_padding(pad == 0 ? TB_NN_PADDING_SAME : TB_NN_PADDING_VALID,
				  in, k, stride, dil, &o, before))
		return BAD(im, "window of %d (stride %d) does not fit an input of %d", k,
			   stride, in);
	if (o != out)
		return BAD(im, "output size %d, but the padding gives %d", out, o);
	return TB_OK;
}

static int check_4d(struct imp *im, const struct tb_tflite_tensor *t, const char *what)
{
	if (!t || t->rank != 4)
		return UNSUP(im, "%s must be a 4-D NHWC tensor", what);
	return TB_OK;
}

/* CONV_2D and DEPTHWISE_CONV_2D. */
static int imp_conv(struct imp *im, const struct tb_tflite_op *op, int dw)
{
	const struct tb_tflite_tensor *in = T(im, op->inputs[0]), *f = T(im, op->inputs[1]);
	const struct tb_tflite_tensor *out = T(im, op->outputs[0]);
	const struct tb_tflite_options *o = &op->opt;
	const int f32 = is_f32(in);
	int32_t words[TB_NN_DW_NUM_PARAMS];
	int32_t ph, pw, oc, mult;
	int in_t, out_t, f_t, b_t, ret;
	float *ws = NULL;
	int32_t *qm = NULL, *qs = NULL;

	if (op->n_inputs < 2 || !in || !f || !out)
		return BAD(im, "needs an input and a filter");
	ret = check_4d(im, in, "input");
	if (!ret)
		ret = check_4d(im, f, "filter");
	if (!ret)
		ret = check_4d(im, out, "output");
	if (ret)
		return ret;
	if (f32 ? !is_f32(out) : !(is_i8(in) && is_i8(out)))
		return UNSUP(im, "input %s, output %s (int8 or float32 throughout)",
			     tb_tflite_type_name(in->type), tb_tflite_type_name(out->type));
	oc = out->shape[3];
	mult = dw ? (in->shape[3] ? oc / in->shape[3] : 0) : 1;
	if (dw ? (f->shape[0] != 1 || f->shape[3] != oc || mult < 1 ||
		  mult * in->shape[3] != oc) :
		 (f->shape[0] != oc || f->shape[3] != in->shape[3]))
		return BAD(im, "filter shape does not match input and output channels");
	ret = padding(im, o->padding, in->shape[1], f->shape[1], o->stride_h, o->dilation_h,
		      out->shape[1], &ph);
	if (!ret)
		ret = padding(im, o->padding, in->shape[2], f->shape[2], o->stride_w,
			      o->dilation_w, out->shape[2], &pw);
	if (ret)
		return ret;
	ws = malloc(sizeof(float) * (size_t)oc);
	qm = malloc(sizeof(int32_t) * (size_t)oc);
	qs = malloc(sizeof(int32_t) * (size_t)oc);
	if (!ws || !qm || !qs) {
		ret = tb_error_set(im->err, TB_ERR_NOMEM, "out of memory");
		goto out;
	}
	ret = act(im, op->inputs[0], &in_t);
	if (!ret)
		ret = weights(im, op->inputs[1], dw ? 3 : 0, (uint32_t)oc, f32, ws, &f_t);
	if (!ret)
		ret = bias(im, op->n_inputs > 2 ? op->inputs[2] : -1, (uint32_t)oc, f32,
			   scale0(in), ws, 0, &b_t);
	if (!ret)
		ret = act(im, op->outputs[0], &out_t);
	if (ret)
		goto out;

	if (dw) {
		words[TB_NN_DW_STRIDE_H] = o->stride_h;
		words[TB_NN_DW_STRIDE_W] = o->stride_w;
		words[TB_NN_DW_PAD_H] = ph;
		words[TB_NN_DW_PAD_W] = pw;
		words[TB_NN_DW_DILATION_H] = o->dilation_h;
		words[TB_NN_DW_DILATION_W] = o->dilation_w;
		words[TB_NN_DW_DEPTH_MULT] = mult;
	} else {
		words[TB_NN_CONV_STRIDE_H] = o->stride_h;
		words[TB_NN_CONV_STRIDE_W] = o->stride_w;
		words[TB_NN_CONV_PAD_H] = ph;
		words[TB_NN_CONV_PAD_W] = pw;
		words[TB_NN_CONV_DILATION_H] = o->dilation_h;
		words[TB_NN_CONV_DILATION_W] = o->dilation_w;
	}
	if (f32) {
		const int lo = dw ? TB_NN_DW_ACT_MIN : TB_NN_CONV_ACT_MIN;
		const int inputs[3] = { in_t, f_t, b_t };

		ret = act_range_f32(im, o->activation, &words[lo], &words[lo + 1]);
		words[lo + 2] = -1;
		words[lo + 3] = -1;
		if (!ret)
			ret = tb_nn_builder_add_op(im->b, dw ? TB_NN_OP_DEPTHWISE_CONV_2D :
						   TB_NN_OP_CONV_2D, inputs, 3, out_t, words,
						   dw ? TB_NN_DW_NUM_PARAMS : TB_NN_CONV_NUM_PARAMS);
	} else {
		struct tb_nn_activation a;

		ret = act_range_i8(im, o->activation, out, &a);
		if (!ret && tb_nn_conv_multipliers(scale0(in), ws, (uint32_t)oc, scale0(out),
						   qm, qs))
			ret = UNSUP(im, "requantisation scale out of range");
		if (ret)
			goto out;
		if (dw) {
			struct tb_nn_dw_conv_params p = {
				.ch_mult = mult,
				.stride = { .w = o->stride_w, .h = o->stride_h },
				.padding = { .w = pw, .h = ph },
				.dilation = { .w = o->dilation_w, .h = o->dilation_h },
				.activation = a,
			};

			ret = tb_nn_builder_add_depthwise_conv2d(im->b, in_t, f_t, b_t, out_t,
								 &p, qm, qs);
		} else {
			struct tb_nn_conv_params p = {
				.stride = { .w = o->stride_w, .h = o->stride_h },
				.padding = { .w = pw, .h = ph },
				.dilation = { .w = o->dilation_w, .h = o->dilation_h },
				.activation = a,
			};

			ret = tb_nn_builder_add_conv2d(im->b, in_t, f_t, b_t, out_t, &p, qm, qs);
		}
	}
	if (ret < 0 && ret != TB_ERR_UNSUPPORTED && ret != TB_ERR_FORMAT &&
	    ret != TB_ERR_NOMEM)
		ret = UNSUP(im, "cannot be stored (%d)", ret);
out:
	free(ws);
	free(qm);
	free(qs);
	return ret;
}

static int imp_fc(struct imp *im, const struct tb_tflite_op *op)
{
	const struct tb_tflite_tensor *in = T(im, op->inputs[0]), *f = T(im, op->inputs[1]);
	const struct tb_tflite_tensor *out = T(im, op->outputs[0]);
	const int f32 = is_f32(in);
	int in_t, out_t, f_t, b_t, ret;
	uint32_t units;
	float ws[1];
	float *wsv = NULL;

	if (op->n_inputs < 2 || !in || !f || !out)
		return BAD(im, "needs an input and weights");
	if (op->opt.weights_format != 0)
		return UNSUP(im, "shuffled weights format %d", op->opt.weights_format);
	if (f->rank != 2 || f->shape[0] < 1 || f->shape[1] < 1 ||
	    elems(in) % (uint64_t)f->shape[1] || out->rank < 1 ||
	    out->shape[out->rank - 1] != f->shape[0])
		return BAD(im, "weights [%d, %d] do not match input and output shapes",
			   f->rank > 0 ? f->shape[0] : 0, f->rank > 1 ? f->shape[1] : 0);
	if (f32 ? !is_f32(out) : !(is_i8(in) && is_i8(out)))
		return UNSUP(im, "input %s, output %s (int8 or float32 throughout)",
			     tb_tflite_type_name(in->type), tb_tflite_type_name(out->type));
	units = (uint32_t)f->shape[0];
	if (!f32 && f->n_scales > 1) {
		for (uint32_t c = 1; c < f->n_scales; c++)
			if (f->scales[c] != f->scales[0])
				return UNSUP(im, "per-channel fully connected weights");
	}
	wsv = malloc(sizeof(float) * units);
	if (!wsv)
		return tb_error_set(im->err, TB_ERR_NOMEM, "out of memory");
	ret = act(im, op->inputs[0], &in_t);
	if (!ret)
		ret = weights(im, op->inputs[1], 0, units, f32, wsv, &f_t);
	if (!ret)
		ws[0] = wsv[0];	/* int8 layers are per tensor (checked above) */
	if (!ret)
		ret = bias(im, op->n_inputs > 2 ? op->inputs[2] : -1, units, f32, scale0(in),
			   ws, 1, &b_t);
	if (!ret)
		ret = act(im, op->outputs[0], &out_t);
	free(wsv);
	if (ret)
		return ret;
	if (f32) {
		int32_t w[TB_NN_FC_NUM_PARAMS] = { 0 };
		const int inputs[3] = { in_t, f_t, b_t };

		ret = act_range_f32(im, op->opt.activation, &w[TB_NN_FC_ACT_MIN],
				    &w[TB_NN_FC_ACT_MAX]);
		if (!ret)
			ret = tb_nn_builder_add_op(im->b, TB_NN_OP_FULLY_CONNECTED, inputs, 3,
						   out_t, w, TB_NN_FC_NUM_PARAMS);
	} else {
		struct tb_nn_activation a;
		int32_t mult, shift;

		ret = act_range_i8(im, op->opt.activation, out, &a);
		if (ret)
			return ret;
		if (tb_nn_fc_multiplier(scale0(in), ws[0], scale0(out), &mult, &shift))
			return UNSUP(im, "requantisation scale out of range");
		ret = tb_nn_builder_add_fully_connected(im->b, in_t, f_t, b_t, out_t, &a,
							mult, shift);
	}
	return ret < 0 && ret != TB_ERR_UNSUPPORTED ? UNSUP(im, "cannot be stored (%d)", ret)
						     : ret;
}

static int imp_pool(struct imp *im, const struct tb_tflite_op *op, int is_max)
{
	const struct tb_tflite_tensor *in = T(im, op->inputs[0]);
	const struct tb_tflite_tensor *out = T(im, op->outputs[0]);
	const struct tb_tflite_options *o = &op->opt;
	int32_t w[TB_NN_POOL_NUM_PARAMS];
	int32_t ph, pw;
	int in_t, out_t, ret;

	if (!in || !out)
		return BAD(im, "needs an input");
	ret = check_4d(im, in, "input");
	if (!ret)
		ret = check_4d(im, out, "output");
	if (!ret)
		ret = padding(im, o->padding, in->shape[1], o->filter_h, o->stride_h, 1,
			      out->shape[1], &ph);
	if (!ret)
		ret = padding(im, o->padding, in->shape[2], o->filter_w, o->stride_w, 1,
			      out->shape[2], &pw);
	if (ret)
		return ret;
	if (is_i8(in) && (!is_i8(out) || scale0(in) != scale0(out) || zp0(in) != zp0(out)))
		return UNSUP(im, "int8 pooling with different input and output quantisation");
	ret = act(im, op->inputs[0], &in_t);
	if (!ret)
		ret = act(im, op->outputs[0], &out_t);
	if (ret)
		return ret;
	w[TB_NN_POOL_STRIDE_H] = o->stride_h;
	w[TB_NN_POOL_STRIDE_W] = o->stride_w;
	w[TB_NN_POOL_PAD_H] = ph;
	w[TB_NN_POOL_PAD_W] = pw;
	w[TB_NN_POOL_FILTER_H] = o->filter_h;
	w[TB_NN_POOL_FILTER_W] = o->filter_w;
	if (is_f32(in)) {
		ret = act_range_f32(im, o->activation, &w[TB_NN_POOL_ACT_MIN],
				    &w[TB_NN_POOL_ACT_MAX]);
	} else {
		struct tb_nn_activation a;

		ret = act_range_i8(im, o->activation, out, &a);
		w[TB_NN_POOL_ACT_MIN] = a.min;
		w[TB_NN_POOL_ACT_MAX] = a.max;
	}
	if (!ret)
		ret = tb_nn_builder_add_op(im->b, is_max ? TB_NN_OP_MAX_POOL_2D :
					   TB_NN_OP_AVERAGE_POOL_2D, &in_t, 1, out_t, w,
					   TB_NN_POOL_NUM_PARAMS);
	return ret;
}

static int imp_softmax(struct imp *im, const struct tb_tflite_op *op)
{
	const struct tb_tflite_tensor *in = T(im, op->inputs[0]);
	const struct tb_tflite_tensor *out = T(im, op->outputs[0]);
	int32_t w[TB_NN_SOFTMAX_NUM_PARAMS] = { 0 };
	int in_t, out_t, ret;

	if (!in || !out)
		return BAD(im, "needs an input");
	if (is_i8(in)) {
		struct tb_nn_softmax_params sp;

		if (!is_i8(out) || zp0(out) != -128 || scale0(out) != 1.0f / 256.0f)
			return UNSUP(im, "int8 softmax output must have scale 1/256, zero point -128");
		if (tb_nn_softmax_prepare((double)op->opt.beta, (double)scale0(in), &sp))
			return UNSUP(im, "beta %g with input scale %g", (double)op->opt.beta,
				     (double)scale0(in));
		w[TB_NN_SOFTMAX_MULT] = sp.input_beta_multiplier;
		w[TB_NN_SOFTMAX_LEFT_SHIFT] = sp.input_beta_left_shift;
		w[TB_NN_SOFTMAX_DIFF_MIN] = sp.diff_min;
	} else {
		w[TB_NN_SOFTMAX_MULT] = f32_word(op->opt.beta);
	}
	ret = act(im, op->inputs[0], &in_t);
	if (!ret)
		ret = act(im, op->outputs[0], &out_t);
	if (!ret)
		ret = tb_nn_builder_add_op(im->b, TB_NN_OP_SOFTMAX, &in_t, 1, out_t, w,
					   TB_NN_SOFTMAX_NUM_PARAMS);
	return ret;
}

static int imp_add(struct imp *im, const struct tb_tflite_op *op)
{
	const struct tb_tflite_tensor *a = T(im, op->inputs[0]), *b = T(im, op->inputs[1]);
	const struct tb_tflite_tensor *out = T(im, op->outputs[0]);
	int32_t w[TB_NN_ADD_NUM_PARAMS] = { 0 };
	int a_t, b_t, out_t, ret;

	if (op->n_inputs != 2 || !a || !b || !out)
		return BAD(im, "needs two inputs");
	if (a->rank != out->rank || b->rank != out->rank ||
	    memcmp(a->shape, out->shape, sizeof(int32_t) * out->rank) ||
	    memcmp(b->shape, out->shape, sizeof(int32_t) * out->rank))
		return UNSUP(im, "broadcasting (inputs and output must have one shape)");
	if (is_i8(out)) {
		struct tb_nn_add_params p;
		struct tb_nn_activation act_r;

		if (!is_i8(a) || !is_i8(b))
			return UNSUP(im, "mixed input types");
		if (tb_nn_add_prepare(scale0(a), scale0(b), scale0(out), &p))
			return UNSUP(im, "scales out of range");
		ret = act_range_i8(im, op->opt.activation, out, &act_r);
		if (ret)
			return ret;
		w[TB_NN_ADD_LEFT_SHIFT] = p.left_shift;
		w[TB_NN_ADD_IN1_MULT] = p.input1_mult;
		w[TB_NN_ADD_IN1_SHIFT] = p.input1_shift;
		w[TB_NN_ADD_IN2_MULT] = p.input2_mult;
		w[TB_NN_ADD_IN2_SHIFT] = p.input2_shift;
		w[TB_NN_ADD_OUT_MULT] = p.output_mult;
		w[TB_NN_ADD_OUT_SHIFT] = p.output_shift;
		w[TB_NN_ADD_ACT_MIN] = act_r.min;
		w[TB_NN_ADD_ACT_MAX] = act_r.max;
	} else if (is_f32(out) && is_f32(a) && is_f32(b)) {
		ret = act_range_f32(im, op->opt.activation, &w[TB_NN_ADD_ACT_MIN],
				    &w[TB_NN_ADD_ACT_MAX]);
		if (ret)
			return ret;
	} else {
		return UNSUP(im, "type %s", tb_tflite_type_name(out->type));
	}
	ret = act(im, op->inputs[0], &a_t);
	if (!ret)
		ret = act(im, op->inputs[1], &b_t);
	if (!ret)
		ret = act(im, op->outputs[0], &out_t);
	if (!ret) {
		const int inputs[2] = { a_t, b_t };

		ret = tb_nn_builder_add_op(im->b, TB_NN_OP_ADD, inputs, 2, out_t, w,
					   TB_NN_ADD_NUM_PARAMS);
	}
	return ret;
}

/* RESHAPE, SQUEEZE: same bytes, new shape; QUANTIZE and DEQUANTIZE. */
static int imp_unary(struct imp *im, const struct tb_tflite_op *op, uint16_t code)
{
	const struct tb_tflite_tensor *in = T(im, op->inputs[0]);
	const struct tb_tflite_tensor *out = T(im, op->outputs[0]);
	int32_t w[TB_NN_QUANTIZE_NUM_PARAMS] = { 0 };
	int n_words = 0, in_t, out_t, ret;

	if (!in || !out)
		return BAD(im, "needs an input");
	if (elems(in) != elems(out))
		return BAD(im, "input has %llu elements, output %llu",
			   (unsigned long long)elems(in), (unsigned long long)elems(out));
	switch (code) {
	case TB_NN_OP_RESHAPE:
		if (in->type != out->type)
			return BAD(im, "changes the type");
		break;
	case TB_NN_OP_QUANTIZE:
		if (!is_i8(out) || !(is_f32(in) || is_i8(in)))
			return UNSUP(im, "%s -> %s (float32/int8 -> int8 supported)",
				     tb_tflite_type_name(in->type), tb_tflite_type_name(out->type));
		n_words = TB_NN_QUANTIZE_NUM_PARAMS;
		if (is_i8(in) && tb_nn_quantize_multiplier((double)scale0(in) /
							   (double)scale0(out), &w[0], &w[1]))
			return UNSUP(im, "requantisation scale out of range");
		break;
	case TB_NN_OP_DEQUANTIZE:
		if (!is_i8(in) || !is_f32(out))
			return UNSUP(im, "%s -> %s (int8 -> float32 supported)",
				     tb_tflite_type_name(in->type), tb_tflite_type_name(out->type));
		break;
	}
	ret = act(im, op->inputs[0], &in_t);
	if (!ret)
		ret = act(im, op->outputs[0], &out_t);
	if (!ret)
		ret = tb_nn_builder_add_op(im->b, code, &in_t, 1, out_t, w, n_words);
	return ret;
}

static int imp_op(struct imp *im, const struct tb_tflite_op *op)
{
	if (op->n_outputs != 1)
		return UNSUP(im, "%u outputs (1 supported)", op->n_outputs);
	if (op->n_inputs < 1 || op->inputs[0] < 0)
		return BAD(im, "no input");
	switch (op->builtin) {
	case TB_TFLITE_OP_CONV_2D:
		return imp_conv(im, op, 0);
	case TB_TFLITE_OP_DEPTHWISE_CONV_2D:
		return imp_conv(im, op, 1);
	case TB_TFLITE_OP_FULLY_CONNECTED:
		return imp_fc(im, op);
	case TB_TFLITE_OP_AVERAGE_POOL_2D:
		return imp_pool(im, op, 0);
	case TB_TFLITE_OP_MAX_POOL_2D:
		return imp_pool(im, op, 1);
	case TB_TFLITE_OP_SOFTMAX:
		return imp_softmax(im, op);
	case TB_TFLITE_OP_ADD:
		return imp_add(im, op);
	case TB_TFLITE_OP_RESHAPE:
	case TB_TFLITE_OP_SQUEEZE:
		return imp_unary(im, op, TB_NN_OP_RESHAPE);
	case TB_TFLITE_OP_QUANTIZE:
		return imp_unary(im, op, TB_NN_OP_QUANTIZE);
	case TB_TFLITE_OP_DEQUANTIZE:
		return imp_unary(im, op, TB_NN_OP_DEQUANTIZE);
	}
	if (op->custom_code)
		return UNSUP(im, "custom operator '%s' is not supported", op->custom_code);
	return UNSUP(im, "not supported (supported: CONV_2D, DEPTHWISE_CONV_2D, "
		     "FULLY_CONNECTED, AVERAGE_POOL_2D, MAX_POOL_2D, SOFTMAX, ADD, "
		     "RESHAPE, SQUEEZE, QUANTIZE, DEQUANTIZE)");
}

int tb_tflite_to_blob(const struct tb_tflite_model *m, uint8_t **blob, size_t *size,
		      struct tb_tflite_report *rep, struct tb_error *err)
{
	struct imp im = { .m = m, .err = err };
	char buf[32];
	int in_t, out_t, ret;

	if (!m || !blob || !size)
		return tb_error_set(err, TB_ERR_ARG, "tb_tflite_to_blob: bad arguments");
	*blob = NULL;
	*size = 0;
	if (m->n_subgraphs != 1)
		return tb_error_set(err, TB_ERR_UNSUPPORTED,
				    "the model has %u subgraphs (1 supported)", m->n_subgraphs);
	if (m->n_inputs != 1 || m->n_outputs != 1)
		return tb_error_set(err, TB_ERR_UNSUPPORTED,
				    "the model has %u inputs and %u outputs (1 each supported)",
				    m->n_inputs, m->n_outputs);
	if (!m->n_ops)
		return tb_error_set(err, TB_ERR_UNSUPPORTED, "the model has no operators");
	im.map = malloc(sizeof(int) * (m->n_tensors ? m->n_tensors : 1));
	im.counted = calloc(m->n_tensors ? m->n_tensors : 1, 1);
	ret = tb_nn_builder_new(&im.b);
	if (!im.map || !im.counted || ret) {
		ret = tb_error_set(err, TB_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < m->n_tensors; i++)
		im.map[i] = -1;
	for (im.op = 0; im.op < m->n_ops; im.op++) {
		snprintf(im.opname, sizeof(im.opname), "%s",
			 tb_tflite_op_name(m->ops[im.op].builtin, buf, sizeof(buf)));
		ret = imp_op(&im, &m->ops[im.op]);
		if (ret == TB_NN_ERR_NOMEM)
			ret = tb_error_set(err, TB_ERR_NOMEM, "out of memory");
		else if (ret < 0 && ret != TB_ERR_UNSUPPORTED && ret != TB_ERR_FORMAT &&
			 ret != TB_ERR_NOMEM)
			ret = op_fail(&im, TB_ERR_UNSUPPORTED, "cannot be represented (%d)", ret);
		if (ret)
			goto out;
	}
	in_t = im.map[m->inputs[0]];
	out_t = im.map[m->outputs[0]];
	if (in_t < 0 || out_t < 0) {
		ret = tb_error_set(err, TB_ERR_UNSUPPORTED,
				   "the graph input or output is not used by any operator");
		goto out;
	}
	ret = tb_nn_builder_set_io(im.b, in_t, out_t);
	if (!ret)
		ret = tb_nn_builder_finish(im.b, blob, size);
	if (ret) {
		ret = tb_error_set(err, ret == TB_NN_ERR_NOMEM ? TB_ERR_NOMEM : TB_ERR_UNSUPPORTED,
				   "the graph cannot be planned or serialised (%d): an "
				   "activation no operator uses, or an arena over 2 GB", ret);
		goto out;
	}
	if (rep)
		*rep = im.rep;
out:
	tb_nn_builder_free(im.b);
	free(im.map);
	free(im.counted);
	return ret;
}

int tb_tflite_import_file(const char *path, uint8_t **blob, size_t *size,
			  struct tb_tflite_report *rep, struct tb_error *err)
{
	struct tb_tflite_model *m;
	int ret;

	ret = tb_tflite_parse_file(path, &m, err);
	if (ret)
		return ret;
	ret = tb_tflite_to_blob(m, blob, size, rep, err);
	if (ret)
		tb_error_prefix(err, "%s: ", path);
	tb_tflite_free(m);
	return ret;
}

int tb_tflite_write_c(FILE *f, const char *name, const uint8_t *blob, size_t size,
		      struct tb_error *err)
{
	if (!f || !name || !blob)
		return tb_error_set(err, TB_ERR_ARG, "tb_tflite_write_c: bad arguments");
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
		      (p > name && *p >= '0' && *p <= '9')))
			return tb_error_set(err, TB_ERR_ARG,
					    "'%s' is not a C identifier", name);
	fprintf(f, "/* %s: tinybench model blob (docs/MODEL_FORMAT.md), %zu bytes. "
		   "Generated by tinybench; do not edit. */\n#include <stdint.h>\n\n", name, size);
	fprintf(f, "const uint32_t %s_blob_size = %zuu;\n", name, size);
	fprintf(f, "_Alignas(8) const uint8_t %s_blob[%zu] = {\n", name, size);
	for (size_t i = 0; i < size; i++)
		fprintf(f, "%s0x%02x,%s", i % 12 ? " " : "\t", blob[i],
			i % 12 == 11 || i + 1 == size ? "\n" : "");
	fprintf(f, "};\n");
	return ferror(f) ? tb_error_set(err, TB_ERR_IO, "writing the C source failed") : TB_OK;
}
