/*
 * tb_nn_builder.c - serialise a graph into a tinybench model blob.
 *
 * The builder keeps growable arrays of tensor descriptions, op records,
 * parameter words and data bytes; finish() lays them out in the section
 * order of docs/MODEL_FORMAT.md, all fields little-endian.
 */
#include <stdlib.h>
#include <string.h>

#include "tb_nn_builder.h"

struct bld_tensor {
	struct tb_nn_tensor_desc desc;
	uint8_t is_const;
	uint32_t offset;		/* data offset (const) or arena offset */
	uint32_t size;
	uint32_t channel_scales;	/* data offset or TB_NN_NO_OFFSET */
};

struct bld_op {
	uint16_t code;
	uint8_t num_inputs;
	uint16_t inputs[TB_NN_MODEL_MAX_INPUTS];
	uint16_t output;
	uint32_t params_offset;		/* bytes into the params section */
	uint32_t params_size;
	uint32_t scratch_offset;	/* planned in finish() */
	uint32_t scratch_size;
};

struct tb_nn_builder {
	struct bld_tensor *tensors;
	size_t num_tensors, cap_tensors;
	struct bld_op *ops;
	size_t num_ops, cap_ops;
	int32_t *params;
	size_t num_params, cap_params;
	uint8_t *data;
	size_t data_size, cap_data;
	int input, output;
};

/* Grow *arr to hold at least need elements of elem bytes. */
static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *n;

	if (need <= *cap)
		return TB_NN_OK;
	while (ncap < need)
		ncap *= 2;
	n = realloc(*arr, ncap * elem);
	if (!n)
		return TB_NN_ERR_NOMEM;
	*arr = n;
	*cap = ncap;
	return TB_NN_OK;
}

int tb_nn_builder_new(struct tb_nn_builder **out)
{
	struct tb_nn_builder *b;

	if (!out)
		return TB_NN_ERR_ARG;
	b = calloc(1, sizeof(*b));
	*out = b;
	if (!b)
		return TB_NN_ERR_NOMEM;
	b->input = -1;
	b->output = -1;
	return TB_NN_OK;
}

void tb_nn_builder_free(struct tb_nn_builder *b)
{
	if (!b)
		return;
	free(b->tensors);
	free(b->ops);
	free(b->params);
	free(b->data);
	free(b);
}

int tb_nn_builder_add_data(struct tb_nn_builder *b, const void *data, size_t len,
			   uint32_t *offset)
{
	const size_t off = (b->data_size + TB_NN_MODEL_ALIGN - 1) &
			   ~(size_t)(TB_NN_MODEL_ALIGN - 1);
	int ret;

	if (!b || (!data && len) || !offset || off + len > 0x7FFFFFF0u)
		return TB_NN_ERR_ARG;
	ret = grow((void **)&b->data, &b->cap_data, off + len, 1);
	if (ret)
		return ret;
	if (off > b->data_size)
		memset(b->data + b->data_size, 0, off - b->data_size);
	if (len)
		memcpy(b->data + off, data, len);
	b->data_size = off + len;
	*offset = (uint32_t)off;
	return TB_NN_OK;
}

/*
 * Append count elements of esize bytes (1, 2 or 4, host order) to the
 * data section as little-endian, whatever the host's byte order.
 */
static int add_data_le(struct tb_nn_builder *b, const void *src, size_t count,
		       uint32_t esize, uint32_t *offset)
{
	const uint8_t *s = src;
	uint8_t *d;
	size_t i;
	uint32_t k;
	int ret;

	ret = tb_nn_builder_add_data(b, NULL, 0, offset);
	if (ret)
		return ret;
	ret = grow((void **)&b->data, &b->cap_data, *offset + count * esize, 1);
	if (ret)
		return ret;
	d = b->data + *offset;
	for (i = 0; i < count; i++) {
		uint32_t v = 0;

		if (esize == 1) {
			v = s[i];
		} else if (esize == 2) {
			uint16_t h;

			memcpy(&h, s + 2 * i, 2);
			v = h;
		} else {
			memcpy(&v, s + 4 * i, 4);
		}
		for (k = 0; k < esize; k++)
			d[i * esize + k] = (uint8_t)(v >> (8 * k));
	}
	b->data_size = *offset + count * esize;
	return TB_NN_OK;
}

int tb_nn_builder_add_tensor(struct tb_nn_builder *b,
			     const struct tb_nn_tensor_desc *desc, const void *data)
{
	struct bld_tensor t = { .channel_scales = TB_NN_NO_OFFSET };
	uint64_t bytes;
	size_t saved = b ? b->data_size : 0;
	int k, ret;

	if (!b || !desc || desc->rank < 1 || desc->rank > TB_NN_MODEL_MAX_RANK ||
	    !tb_nn_dtype_size(desc->dtype) || b->num_tensors >= TB_NN_NO_TENSOR - 1)
		return TB_NN_ERR_ARG;
	t.desc = *desc;
	bytes = tb_nn_dtype_size(desc->dtype);
	for (k = 0; k < TB_NN_MODEL_MAX_RANK; k++) {
		if (k >= desc->rank)
			t.desc.dims[k] = 1;
		if (t.desc.dims[k] < 1)
			return TB_NN_ERR_ARG;
		bytes *= t.desc.dims[k];
	}
	if (bytes > 0x7FFFFFF0u)
		return TB_NN_ERR_ARG;
	t.size = (uint32_t)bytes;

	ret = grow((void **)&b->tensors, &b->cap_tensors, b->num_tensors + 1,
		   sizeof(*b->tensors));
	if (!ret && data) {
		t.is_const = 1;
		ret = add_data_le(b, data, t.size / tb_nn_dtype_size(desc->dtype),
				  tb_nn_dtype_size(desc->dtype), &t.offset);
	}
	if (!ret && desc->channel_scales) {
		if (desc->quant_axis >= desc->rank)
			ret = TB_NN_ERR_ARG;
		else
			ret = add_data_le(b, desc->channel_scales,
					  t.desc.dims[desc->quant_axis], 4,
					  &t.channel_scales);
	}
	if (ret) {
		b->data_size = saved;
		return ret;
	}
	t.desc.channel_scales = NULL;	/* not kept: the copy is in data */
	b->tensors[b->num_tensors] = t;
	return (int)b->num_tensors++;
}

int tb_nn_builder_add_op(struct tb_nn_builder *b, uint16_t code,
			 const int *inputs, int num_inputs, int output,
			 const int32_t *params, int num_params)
{
	struct bld_op op = { .code = code };
	int k, ret;

	if (!b || num_inputs < 0 || num_inputs > TB_NN_MODEL_MAX_INPUTS ||
	    (num_inputs && !inputs) || num_params < 0 || (num_params && !params) ||
	    output < 0 || (size_t)output >= b->num_tensors || b->num_ops >= 0xFFFF)
		return TB_NN_ERR_ARG;
	op.num_inputs = (uint8_t)num_inputs;
	for (k = 0; k < TB_NN_MODEL_MAX_INPUTS; k++) {
		op.inputs[k] = TB_NN_NO_TENSOR;
		if (k >= num_inputs || inputs[k] < 0)
			continue;
		if ((size_t)inputs[k] >= b->num_tensors)
			return TB_NN_ERR_ARG;
		op.inputs[k] = (uint16_t)inputs[k];
	}
	op.output = (uint16_t)output;
	op.params_offset = (uint32_t)(b->num_params * 4);
	op.params_size = (uint32_t)num_params * 4;

	ret = grow((void **)&b->ops, &b->cap_ops, b->num_ops + 1, sizeof(*b->ops));
	if (!ret)
		ret = grow((void **)&b->params, &b->cap_params,
			   b->num_params + (size_t)num_params, sizeof(*b->params));
	if (ret)
		return ret;
	if (num_params)
		memcpy(b->params + b->num_params, params, (size_t)num_params * 4);
	b->num_params += (size_t)num_params;
	b->ops[b->num_ops++] = op;
	return TB_NN_OK;
}

/* Copy a per-channel int32 array (mult or shift) into the data section. */
static int add_i32_array(struct tb_nn_builder *b, const int32_t *v, uint32_t n,
			 int32_t *offset)
{
	uint32_t off;
	int ret;

	if (!v || !n)
		return TB_NN_ERR_ARG;
	ret = add_data_le(b, v, n, 4, &off);
	*offset = (int32_t)off;
	return ret;
}

static int out_channels(const struct tb_nn_builder *b, int filter, int axis,
			uint32_t *n)
{
	if (!b || filter < 0 || (size_t)filter >= b->num_tensors)
		return TB_NN_ERR_ARG;
	*n = b->tensors[filter].desc.dims[axis];
	return TB_NN_OK;
}

int tb_nn_builder_add_conv2d(struct tb_nn_builder *b, int input, int filter,
			     int bias, int output,
			     const struct tb_nn_conv_params *p,
			     const int32_t *mult, const int32_t *shift)
{
	const int in[3] = { input, filter, bias };
	int32_t w[TB_NN_CONV_NUM_PARAMS];
	size_t saved = b ? b->data_size : 0;
	uint32_t n;
	int ret;

	if (!p)
		return TB_NN_ERR_ARG;
	ret = out_channels(b, filter, 0, &n);
	if (ret)
		return ret;
	w[TB_NN_CONV_STRIDE_H] = p->stride.h;
	w[TB_NN_CONV_STRIDE_W] = p->stride.w;
	w[TB_NN_CONV_PAD_H] = p->padding.h;
	w[TB_NN_CONV_PAD_W] = p->padding.w;
	w[TB_NN_CONV_DILATION_H] = p->dilation.h;
	w[TB_NN_CONV_DILATION_W] = p->dilation.w;
	w[TB_NN_CONV_ACT_MIN] = p->activation.min;
	w[TB_NN_CONV_ACT_MAX] = p->activation.max;
	ret = add_i32_array(b, mult, n, &w[TB_NN_CONV_MULT_OFFSET]);
	if (!ret)
		ret = add_i32_array(b, shift, n, &w[TB_NN_CONV_SHIFT_OFFSET]);
	if (!ret)
		ret = tb_nn_builder_add_op(b, TB_NN_OP_CONV_2D, in, 3, output, w,
					   TB_NN_CONV_NUM_PARAMS);
	if (ret)
		b->data_size = saved;
	return ret;
}

int tb_nn_builder_add_depthwise_conv2d(struct tb_nn_builder *b, int input,
				       int filter, int bias, int output,
				       const struct tb_nn_dw_conv_params *p,
				       const int32_t *mult, const int32_t *shift)
{
	const int in[3] = { input, filter, bias };
	int32_t w[TB_NN_DW_NUM_PARAMS];
	size_t saved = b ? b->data_size : 0;
	uint32_t n;
	int ret;

	if (!p)
		return TB_NN_ERR_ARG;
	ret = out_channels(b, filter, 3, &n);
	if (ret)
		return ret;
	w[TB_NN_DW_STRIDE_H] = p->stride.h;
	w[TB_NN_DW_STRIDE_W] = p->stride.w;
	w[TB_NN_DW_PAD_H] = p->padding.h;
	w[TB_NN_DW_PAD_W] = p->padding.w;
	w[TB_NN_DW_DILATION_H] = p->dilation.h;
	w[TB_NN_DW_DILATION_W] = p->dilation.w;
	w[TB_NN_DW_DEPTH_MULT] = p->ch_mult;
	w[TB_NN_DW_ACT_MIN] = p->activation.min;
	w[TB_NN_DW_ACT_MAX] = p->activation.max;
	ret = add_i32_array(b, mult, n, &w[TB_NN_DW_MULT_OFFSET]);
	if (!ret)
		ret = add_i32_array(b, shift, n, &w[TB_NN_DW_SHIFT_OFFSET]);
	if (!ret)
		ret = tb_nn_builder_add_op(b, TB_NN_OP_DEPTHWISE_CONV_2D, in, 3, output,
					   w, TB_NN_DW_NUM_PARAMS);
	if (ret)
		b->data_size = saved;
	return ret;
}

int tb_nn_builder_add_fully_connected(struct tb_nn_builder *b, int input,
				      int filter, int bias, int output,
				      const struct tb_nn_activation *act,
				      int32_t mult, int32_t shift)
{
	const int in[3] = { input, filter, bias };
	int32_t w[TB_NN_FC_NUM_PARAMS];

	if (!act)
		return TB_NN_ERR_ARG;
	w[TB_NN_FC_ACT_MIN] = act->min;
	w[TB_NN_FC_ACT_MAX] = act->max;
	w[TB_NN_FC_MULT] = mult;
	w[TB_NN_FC_SHIFT] = shift;
	return tb_nn_builder_add_op(b, TB_NN_OP_FULLY_CONNECTED, in, 3, output, w,
				    TB_NN_FC_NUM_PARAMS);
}

int tb_nn_builder_add_average_pool2d(struct tb_nn_builder *b, int input,
				     int output,
				     const struct tb_nn_pool_params *p,
				     int32_t filter_h, int32_t filter_w)
{
	int32_t w[TB_NN_POOL_NUM_PARAMS];

	if (!p)
		return TB_NN_ERR_ARG;
	w[TB_NN_POOL_STRIDE_H] = p->stride.h;
	w[TB_NN_POOL_STRIDE_W] = p->stride.w;
	w[TB_NN_POOL_PAD_H] = p->padding.h;
	w[TB_NN_POOL_PAD_W] = p->padding.w;
	w[TB_NN_POOL_FILTER_H] = filter_h;
	w[TB_NN_POOL_FILTER_W] = filter_w;
	w[TB_NN_POOL_ACT_MIN] = p->activation.min;
	w[TB_NN_POOL_ACT_MAX] = p->activation.max;
	return tb_nn_builder_add_op(b, TB_NN_OP_AVERAGE_POOL_2D, &input, 1, output,
				    w, TB_NN_POOL_NUM_PARAMS);
}

int tb_nn_builder_add_softmax(struct tb_nn_builder *b, int input, int output,
			      const struct tb_nn_softmax_params *p)
{
	int32_t w[TB_NN_SOFTMAX_NUM_PARAMS];

	if (!p)
		return TB_NN_ERR_ARG;
	w[TB_NN_SOFTMAX_MULT] = p->input_beta_multiplier;
	w[TB_NN_SOFTMAX_LEFT_SHIFT] = p->input_beta_left_shift;
	w[TB_NN_SOFTMAX_DIFF_MIN] = p->diff_min;
	return tb_nn_builder_add_op(b, TB_NN_OP_SOFTMAX, &input, 1, output, w,
				    TB_NN_SOFTMAX_NUM_PARAMS);
}

int tb_nn_builder_add_reshape(struct tb_nn_builder *b, int input, int output)
{
	return tb_nn_builder_add_op(b, TB_NN_OP_RESHAPE, &input, 1, output, NULL, 0);
}

int tb_nn_builder_add_max_pool2d(struct tb_nn_builder *b, int input, int output,
				 const struct tb_nn_pool_params *p,
				 int32_t filter_h, int32_t filter_w)
{
	int ret = tb_nn_builder_add_average_pool2d(b, input, output, p, filter_h, filter_w);

	if (!ret)
		b->ops[b->num_ops - 1].code = TB_NN_OP_MAX_POOL_2D;
	return ret;
}

int tb_nn_builder_add_add(struct tb_nn_builder *b, int input1, int input2,
			  int output, const struct tb_nn_add_params *p)
{
	const int in[2] = { input1, input2 };
	int32_t w[TB_NN_ADD_NUM_PARAMS];

	if (!p)
		return TB_NN_ERR_ARG;
	w[TB_NN_ADD_LEFT_SHIFT] = p->left_shift;
	w[TB_NN_ADD_IN1_MULT] = p->input1_mult;
	w[TB_NN_ADD_IN1_SHIFT] = p->input1_shift;
	w[TB_NN_ADD_IN2_MULT] = p->input2_mult;
	w[TB_NN_ADD_IN2_SHIFT] = p->input2_shift;
	w[TB_NN_ADD_OUT_MULT] = p->output_mult;
	w[TB_NN_ADD_OUT_SHIFT] = p->output_shift;
	w[TB_NN_ADD_ACT_MIN] = p->activation.min;
	w[TB_NN_ADD_ACT_MAX] = p->activation.max;
	return tb_nn_builder_add_op(b, TB_NN_OP_ADD, in, 2, output, w, TB_NN_ADD_NUM_PARAMS);
}

int tb_nn_builder_set_io(struct tb_nn_builder *b, int input, int output)
{
	if (!b || input < 0 || output < 0 || (size_t)input >= b->num_tensors ||
	    (size_t)output >= b->num_tensors || b->tensors[input].is_const ||
	    b->tensors[output].is_const)
		return TB_NN_ERR_ARG;
	b->input = input;
	b->output = output;
	return TB_NN_OK;
}

/* ---- finish: lifetimes, plan, serialise ------------------------------- */

static void touch(struct tb_nn_plan_buffer *pb, int32_t t)
{
	if (pb->first < 0 || t < pb->first)
		pb->first = t;
	if (t > pb->last)
		pb->last = t;
}

/* The kernel scratch op i asks for (tb_nn_op_scratch_size()). */
static uint32_t op_scratch(const struct tb_nn_builder *b, const struct bld_op *op)
{
	const struct bld_tensor *in, *f;

	if (op->num_inputs < 2 || op->inputs[0] == TB_NN_NO_TENSOR ||
	    op->inputs[1] == TB_NN_NO_TENSOR)
		return 0;
	in = &b->tensors[op->inputs[0]];
	f = &b->tensors[op->inputs[1]];
	return tb_nn_op_scratch_size(op->code, in->desc.dtype, in->desc.dims, f->desc.dims);
}

/*
 * Plan the arena: one buffer per activation (live from its first to its
 * last use) and one per op that needs kernel scratch (live during that
 * op).  Fills each activation's offset, each op's scratch and *arena.
 */
static int plan(struct tb_nn_builder *b, uint32_t *arena)
{
	struct tb_nn_plan_buffer *pb = NULL;
	uint32_t *order = NULL, *which = NULL;
	uint32_t n = 0, n_act;
	size_t i, k;
	int ret = TB_NN_ERR_NOMEM;

	pb = calloc(b->num_tensors + b->num_ops + 1, sizeof(*pb));
	order = calloc(b->num_tensors + b->num_ops + 1, sizeof(*order));
	which = calloc(b->num_tensors + b->num_ops + 1, sizeof(*which));
	if (!pb || !order || !which)
		goto out_free;

	/* One plan buffer per activation, in tensor order. */
	for (i = 0; i < b->num_tensors; i++) {
		if (b->tensors[i].is_const)
			continue;
		pb[n].size = b->tensors[i].size;
		pb[n].first = -1;
		pb[n].last = -1;
		which[i] = n++;
	}
	for (i = 0; i < b->num_ops; i++) {
		const struct bld_op *op = &b->ops[i];

		for (k = 0; k < TB_NN_MODEL_MAX_INPUTS; k++)
			if (op->inputs[k] != TB_NN_NO_TENSOR && !b->tensors[op->inputs[k]].is_const)
				touch(&pb[which[op->inputs[k]]], (int32_t)i);
		if (!b->tensors[op->output].is_const)
			touch(&pb[which[op->output]], (int32_t)i);
	}
	touch(&pb[which[b->input]], 0);
	touch(&pb[which[b->output]], (int32_t)b->num_ops - 1);

	ret = TB_NN_ERR_ARG;
	for (i = 0; i < n; i++)
		if (pb[i].first < 0)
			goto out_free;		/* an activation no op uses */
	n_act = n;
	for (i = 0; i < b->num_ops; i++) {
		struct bld_op *op = &b->ops[i];

		op->scratch_offset = 0;
		op->scratch_size = op_scratch(b, op);
		if (!op->scratch_size)
			continue;
		pb[n].size = op->scratch_size;
		pb[n].first = pb[n].last = (int32_t)i;
		which[b->num_tensors + i] = n++;
	}
	ret = tb_nn_plan_arena(pb, n, TB_NN_MODEL_ALIGN, order, arena);
	if (ret)
		goto out_free;
	for (i = 0; i < b->num_tensors; i++)
		if (!b->tensors[i].is_const)
			b->tensors[i].offset = pb[which[i]].offset;
	for (i = 0; n > n_act && i < b->num_ops; i++)
		if (b->ops[i].scratch_size)
			b->ops[i].scratch_offset = pb[which[b->num_tensors + i]].offset;

out_free:
	free(pb);
	free(order);
	free(which);
	return ret;
}

static void wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static size_t align8(size_t v)
{
	return (v + TB_NN_MODEL_ALIGN - 1) & ~(size_t)(TB_NN_MODEL_ALIGN - 1);
}

static void write_tensor(uint8_t *r, const struct bld_tensor *t)
{
	uint32_t scale;
	int k;

	r[TB_NN_TEN_DTYPE] = t->desc.dtype;
	r[TB_NN_TEN_RANK] = t->desc.rank;
	r[TB_NN_TEN_FLAGS] = (uint8_t)((t->is_const ? TB_NN_TENSOR_CONST : 0) |
		(t->channel_scales != TB_NN_NO_OFFSET ? TB_NN_TENSOR_PER_CHANNEL : 0));
	r[TB_NN_TEN_QUANT_AXIS] = t->channel_scales != TB_NN_NO_OFFSET ?
				  t->desc.quant_axis : 0;
	for (k = 0; k < TB_NN_MODEL_MAX_RANK; k++)
		wr32(r + TB_NN_TEN_DIMS + 4 * k, t->desc.dims[k]);
	wr32(r + TB_NN_TEN_OFFSET, t->offset);
	wr32(r + TB_NN_TEN_SIZE, t->size);
	memcpy(&scale, &t->desc.scale, 4);
	wr32(r + TB_NN_TEN_SCALE, scale);
	wr32(r + TB_NN_TEN_ZERO_POINT, (uint32_t)t->desc.zero_point);
	wr32(r + TB_NN_TEN_CHANNEL_SCALES, t->channel_scales);
}

static void write_op(uint8_t *r, const struct bld_op *op)
{
	int k;

	wr16(r + TB_NN_OPR_CODE, op->code);
	r[TB_NN_OPR_NUM_INPUTS] = op->num_inputs;
	r[TB_NN_OPR_NUM_OUTPUTS] = 1;
	for (k = 0; k < TB_NN_MODEL_MAX_INPUTS; k++)
		wr16(r + TB_NN_OPR_INPUTS + 2 * k, op->inputs[k]);
	wr16(r + TB_NN_OPR_OUTPUTS, op->output);
	wr16(r + TB_NN_OPR_OUTPUTS + 2, TB_NN_NO_TENSOR);
	wr32(r + TB_NN_OPR_PARAMS_OFFSET, op->params_offset);
	wr32(r + TB_NN_OPR_PARAMS_SIZE, op->params_size);
	wr32(r + TB_NN_OPR_SCRATCH_OFFSET, op->scratch_offset);
	wr32(r + TB_NN_OPR_SCRATCH_SIZE, op->scratch_size);
}

int tb_nn_builder_finish(struct tb_nn_builder *b, uint8_t **blob, size_t *size)
{
	size_t tens_off, ops_off, par_off, par_size, dat_off, total, i;
	uint32_t arena;
	uint8_t *p;
	int ret;

	if (!b || !blob || !size || b->input < 0 || !b->num_ops)
		return TB_NN_ERR_ARG;
	*blob = NULL;
	*size = 0;
	ret = plan(b, &arena);
	if (ret)
		return ret;

	tens_off = TB_NN_MODEL_HEADER_SIZE;
	ops_off = align8(tens_off + b->num_tensors * TB_NN_MODEL_TENSOR_SIZE);
	par_off = align8(ops_off + b->num_ops * TB_NN_MODEL_OP_SIZE);
	par_size = b->num_params * 4;
	dat_off = align8(par_off + par_size);
	total = align8(dat_off + b->data_size);
	if (total > 0x7FFFFFF0u)
		return TB_NN_ERR_ARG;
	p = calloc(1, total);
	if (!p)
		return TB_NN_ERR_NOMEM;

	wr32(p + TB_NN_HDR_MAGIC, TB_NN_MODEL_MAGIC);
	wr16(p + TB_NN_HDR_VERSION, TB_NN_MODEL_VERSION);
	wr16(p + TB_NN_HDR_HEADER_SIZE, TB_NN_MODEL_HEADER_SIZE);
	wr32(p + TB_NN_HDR_TOTAL_SIZE, (uint32_t)total);
	wr16(p + TB_NN_HDR_NUM_TENSORS, (uint32_t)b->num_tensors);
	wr16(p + TB_NN_HDR_NUM_OPS, (uint32_t)b->num_ops);
	wr16(p + TB_NN_HDR_INPUT, (uint32_t)b->input);
	wr16(p + TB_NN_HDR_OUTPUT, (uint32_t)b->output);
	wr32(p + TB_NN_HDR_ARENA_SIZE, arena);
	wr32(p + TB_NN_HDR_TENSORS_OFFSET, (uint32_t)tens_off);
	wr32(p + TB_NN_HDR_OPS_OFFSET, (uint32_t)ops_off);
	wr32(p + TB_NN_HDR_PARAMS_OFFSET, (uint32_t)par_off);
	wr32(p + TB_NN_HDR_PARAMS_SIZE, (uint32_t)par_size);
	wr32(p + TB_NN_HDR_DATA_OFFSET, (uint32_t)dat_off);
	wr32(p + TB_NN_HDR_DATA_SIZE, (uint32_t)b->data_size);

	for (i = 0; i < b->num_tensors; i++)
		write_tensor(p + tens_off + i * TB_NN_MODEL_TENSOR_SIZE, &b->tensors[i]);
	for (i = 0; i < b->num_ops; i++)
		write_op(p + ops_off + i * TB_NN_MODEL_OP_SIZE, &b->ops[i]);
	for (i = 0; i < b->num_params; i++)
		wr32(p + par_off + 4 * i, (uint32_t)b->params[i]);
	if (b->data_size)
		memcpy(p + dat_off, b->data, b->data_size);

	*blob = p;
	*size = total;
	return TB_NN_OK;
}
