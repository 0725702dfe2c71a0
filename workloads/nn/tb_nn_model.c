/*
 * tb_nn_model.c - validation and execution of tinybench model blobs.
 *
 * init() checks the whole blob once: header, section bounds, every tensor
 * record and every op (indices, dtypes, shapes, parameters, data
 * references).  invoke() then trusts the validated struct and only checks
 * the caller's buffers.  All header and table fields are read byte-wise as
 * little-endian; int8 weights and the int32 bias/multiplier arrays are
 * used in place.
 */
#include <string.h>

#include "tb_nn_model.h"

/*
 * Limits that keep every index computation of the kernels inside int32
 * and every int32 accumulator from overflowing.  Far beyond any MCU model.
 */
#define MAX_DIM           (1u << 24)	/* one tensor dimension */
#define MAX_WINDOW        4096		/* kernel size, stride, dilation, padding */
#define MAX_CONV_DEPTH    65535		/* kh*kw*in_ch: 65535 * 128 * 255 < 2^31 */
#define MAX_FC_DEPTH      32767		/* 32767 * 255 * 255 < 2^31 */
#define MAX_POOL_WINDOW   (1 << 23)	/* 2^23 * 128 <= 2^30 */
#define MAX_BYTES         0x7FFFFFF8u
#define SCALE_1_OVER_256  0x3B800000u	/* float bits of 1/256 */

struct op_ctx {
	const struct tb_nn_model *m;
	struct tb_nn_op_info op;
	struct tb_nn_tensor_info t[TB_NN_MODEL_MAX_INPUTS + TB_NN_MODEL_MAX_OUTPUTS];
	const int32_t *params;		/* validated, 4-aligned, in the blob */
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	       ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

uint32_t tb_nn_dtype_size(uint8_t dtype)
{
	switch (dtype) {
	case TB_NN_DTYPE_INT8:
	case TB_NN_DTYPE_UINT8:
		return 1;
	case TB_NN_DTYPE_INT16:
		return 2;
	case TB_NN_DTYPE_INT32:
	case TB_NN_DTYPE_FLOAT32:
		return 4;
	}
	return 0;
}

/* [off, off + len) fits in [0, limit) with no wrap-around. */
static int in_bounds(uint64_t off, uint64_t len, uint64_t limit)
{
	return off <= limit && len <= limit - off;
}

/* ---- records ---------------------------------------------------------- */

static void decode_tensor(const struct tb_nn_model *m, uint32_t i,
			  struct tb_nn_tensor_info *t)
{
	const uint8_t *r = m->tensors + (size_t)i * TB_NN_MODEL_TENSOR_SIZE;
	uint32_t scale_bits;
	int k;

	t->dtype = r[TB_NN_TEN_DTYPE];
	t->rank = r[TB_NN_TEN_RANK];
	t->flags = r[TB_NN_TEN_FLAGS];
	t->quant_axis = r[TB_NN_TEN_QUANT_AXIS];
	for (k = 0; k < TB_NN_MODEL_MAX_RANK; k++)
		t->dims[k] = rd32(r + TB_NN_TEN_DIMS + 4 * k);
	t->offset = rd32(r + TB_NN_TEN_OFFSET);
	t->size = rd32(r + TB_NN_TEN_SIZE);
	scale_bits = rd32(r + TB_NN_TEN_SCALE);
	memcpy(&t->scale, &scale_bits, sizeof(t->scale));
	t->zero_point = (int32_t)rd32(r + TB_NN_TEN_ZERO_POINT);
	t->channel_scales = rd32(r + TB_NN_TEN_CHANNEL_SCALES);
}

static void decode_op(const struct tb_nn_model *m, uint32_t i,
		      struct tb_nn_op_info *op)
{
	const uint8_t *r = m->ops + (size_t)i * TB_NN_MODEL_OP_SIZE;
	int k;

	op->code = rd16(r + TB_NN_OPR_CODE);
	op->num_inputs = r[TB_NN_OPR_NUM_INPUTS];
	op->num_outputs = r[TB_NN_OPR_NUM_OUTPUTS];
	for (k = 0; k < TB_NN_MODEL_MAX_INPUTS; k++)
		op->inputs[k] = rd16(r + TB_NN_OPR_INPUTS + 2 * k);
	for (k = 0; k < TB_NN_MODEL_MAX_OUTPUTS; k++)
		op->outputs[k] = rd16(r + TB_NN_OPR_OUTPUTS + 2 * k);
	op->params_offset = rd32(r + TB_NN_OPR_PARAMS_OFFSET);
	op->params_size = rd32(r + TB_NN_OPR_PARAMS_SIZE);
	op->scratch_offset = rd32(r + TB_NN_OPR_SCRATCH_OFFSET);
	op->scratch_size = rd32(r + TB_NN_OPR_SCRATCH_SIZE);
}

static uint32_t scale_bits(const struct tb_nn_tensor_info *t)
{
	uint32_t bits;

	memcpy(&bits, &t->scale, sizeof(bits));
	return bits;
}

/* ---- header ----------------------------------------------------------- */

static int host_is_little_endian(void)
{
	const uint32_t one = 1;
	uint8_t b;

	memcpy(&b, &one, 1);
	return b == 1;
}

static int check_header(struct tb_nn_model *m, const uint8_t *b, size_t size)
{
	uint64_t tens_off, ops_off, par_off, par_size, dat_off, dat_size, total;

	if (size < TB_NN_MODEL_HEADER_SIZE || rd32(b + TB_NN_HDR_MAGIC) != TB_NN_MODEL_MAGIC)
		return TB_NN_ERR_FORMAT;
	m->version = rd16(b + TB_NN_HDR_VERSION);
	if (m->version < 1 || m->version > TB_NN_MODEL_VERSION ||
	    rd32(b + TB_NN_HDR_FLAGS) != 0)
		return TB_NN_ERR_UNSUPPORTED;
	total = rd32(b + TB_NN_HDR_TOTAL_SIZE);
	if (rd16(b + TB_NN_HDR_HEADER_SIZE) != TB_NN_MODEL_HEADER_SIZE ||
	    !all_zero(b + TB_NN_HDR_RESERVED, TB_NN_MODEL_HEADER_SIZE - TB_NN_HDR_RESERVED) ||
	    total > size || total < TB_NN_MODEL_HEADER_SIZE || total % TB_NN_MODEL_ALIGN)
		return TB_NN_ERR_FORMAT;

	m->num_tensors = rd16(b + TB_NN_HDR_NUM_TENSORS);
	m->num_ops = rd16(b + TB_NN_HDR_NUM_OPS);
	m->input = rd16(b + TB_NN_HDR_INPUT);
	m->output = rd16(b + TB_NN_HDR_OUTPUT);
	m->arena_size = rd32(b + TB_NN_HDR_ARENA_SIZE);
	if (m->num_tensors == 0 || m->num_tensors == TB_NN_NO_TENSOR ||
	    m->num_ops == 0 || m->input >= m->num_tensors ||
	    m->output >= m->num_tensors || m->arena_size > MAX_BYTES)
		return TB_NN_ERR_FORMAT;

	/* Sections in order, 8-aligned, not overlapping, inside total. */
	tens_off = rd32(b + TB_NN_HDR_TENSORS_OFFSET);
	ops_off = rd32(b + TB_NN_HDR_OPS_OFFSET);
	par_off = rd32(b + TB_NN_HDR_PARAMS_OFFSET);
	par_size = rd32(b + TB_NN_HDR_PARAMS_SIZE);
	dat_off = rd32(b + TB_NN_HDR_DATA_OFFSET);
	dat_size = rd32(b + TB_NN_HDR_DATA_SIZE);
	if ((tens_off | ops_off | par_off | dat_off) % TB_NN_MODEL_ALIGN ||
	    tens_off < TB_NN_MODEL_HEADER_SIZE ||
	    tens_off + (uint64_t)m->num_tensors * TB_NN_MODEL_TENSOR_SIZE > ops_off ||
	    ops_off + (uint64_t)m->num_ops * TB_NN_MODEL_OP_SIZE > par_off ||
	    par_off + par_size > dat_off || dat_off + dat_size > total)
		return TB_NN_ERR_FORMAT;

	m->blob = b;
	m->size = (uint32_t)total;
	m->tensors = b + tens_off;
	m->ops = b + ops_off;
	m->params = b + par_off;
	m->params_size = (uint32_t)par_size;
	m->data = b + dat_off;
	m->data_size = (uint32_t)dat_size;
	return TB_NN_OK;
}

/* ---- tensors ---------------------------------------------------------- */

static int zero_point_ok(uint8_t dtype, int32_t zp)
{
	switch (dtype) {
	case TB_NN_DTYPE_INT8:
		return zp >= -128 && zp <= 127;
	case TB_NN_DTYPE_UINT8:
		return zp >= 0 && zp <= 255;
	case TB_NN_DTYPE_INT16:
		return zp >= -32768 && zp <= 32767;
	}
	return zp == 0;
}

/* Scale bits: +0 (not quantised) or a positive, finite float. */
static int scale_bits_ok(uint32_t bits)
{
	return bits == 0 || (!(bits & 0x80000000u) && (bits & 0x7F800000u) != 0x7F800000u);
}

static int check_channel_scales(const struct tb_nn_model *m,
				const struct tb_nn_tensor_info *t)
{
	if (!(t->flags & TB_NN_TENSOR_PER_CHANNEL))
		return t->channel_scales == TB_NN_NO_OFFSET && t->quant_axis == 0;
	return t->quant_axis < t->rank && t->channel_scales % 4 == 0 &&
	       in_bounds(t->channel_scales, 4ull * t->dims[t->quant_axis], m->data_size);
}

static int check_tensor(const struct tb_nn_model *m, uint32_t i)
{
	const uint8_t *r = m->tensors + (size_t)i * TB_NN_MODEL_TENSOR_SIZE;
	struct tb_nn_tensor_info t;
	uint64_t bytes;
	uint32_t esize;
	int k;

	decode_tensor(m, i, &t);
	esize = tb_nn_dtype_size(t.dtype);
	if (!esize || t.rank < 1 || t.rank > TB_NN_MODEL_MAX_RANK ||
	    (t.flags & ~(TB_NN_TENSOR_CONST | TB_NN_TENSOR_PER_CHANNEL)) ||
	    !all_zero(r + TB_NN_TEN_RESERVED, TB_NN_MODEL_TENSOR_SIZE - TB_NN_TEN_RESERVED))
		return TB_NN_ERR_FORMAT;

	bytes = esize;
	for (k = 0; k < TB_NN_MODEL_MAX_RANK; k++) {
		if (t.dims[k] < 1 || t.dims[k] > MAX_DIM || (k >= t.rank && t.dims[k] != 1))
			return TB_NN_ERR_FORMAT;
		bytes *= t.dims[k];
		if (bytes > MAX_BYTES)
			return TB_NN_ERR_FORMAT;
	}
	if (bytes != t.size || t.offset % esize)
		return TB_NN_ERR_FORMAT;
	if (t.flags & TB_NN_TENSOR_CONST) {
		if (!in_bounds(t.offset, t.size, m->data_size))
			return TB_NN_ERR_FORMAT;
	} else if (!in_bounds(t.offset, t.size, m->arena_size)) {
		return TB_NN_ERR_FORMAT;
	}
	if (!zero_point_ok(t.dtype, t.zero_point) || !scale_bits_ok(scale_bits(&t)) ||
	    !check_channel_scales(m, &t))
		return TB_NN_ERR_FORMAT;
	return TB_NN_OK;
}

/* ---- ops: shared checks ---------------------------------------------- */

static int is_4d_int8(const struct tb_nn_tensor_info *t)
{
	return t->dtype == TB_NN_DTYPE_INT8 && t->rank == 4;
}

static int is_4d_f32(const struct tb_nn_tensor_info *t)
{
	return t->dtype == TB_NN_DTYPE_FLOAT32 && t->rank == 4;
}

/* A float clamp stored as two words of float bits: ordered, not NaN. */
static float word_f32(int32_t w)
{
	float f;

	memcpy(&f, &w, sizeof(f));
	return f;
}

static int act_f32_ok(int32_t lo, int32_t hi)
{
	const float a = word_f32(lo), b = word_f32(hi);

	return a == a && b == b && a <= b;
}

static int same_dims(const struct tb_nn_tensor_info *a, const struct tb_nn_tensor_info *b)
{
	int k;

	for (k = 0; k < TB_NN_MODEL_MAX_RANK; k++)
		if (a->dims[k] != b->dims[k])
			return 0;
	return 1;
}

static int is_arena(const struct tb_nn_tensor_info *t)
{
	return !(t->flags & TB_NN_TENSOR_CONST);
}

static uint32_t elements(const struct tb_nn_tensor_info *t)
{
	return t->dims[0] * t->dims[1] * t->dims[2] * t->dims[3];
}

/* Optional bias: absent, or const int32[n] (float32[n] for float ops). */
static int bias_ok(const struct op_ctx *c, int slot, uint32_t n)
{
	const struct tb_nn_tensor_info *b = &c->t[slot];
	const uint8_t want = c->t[0].dtype == TB_NN_DTYPE_FLOAT32 ? TB_NN_DTYPE_FLOAT32
								  : TB_NN_DTYPE_INT32;

	if (c->op.inputs[slot] == TB_NN_NO_TENSOR)
		return 1;
	return b->dtype == want && b->rank == 1 && b->dims[0] == n && !is_arena(b);
}

static int act_ok(int32_t lo, int32_t hi)
{
	return lo >= -128 && hi <= 127 && lo <= hi;
}

/*
 * One spatial axis of a sliding window: sizes in range, padding smaller
 * than the (dilated) window, and every output window starting before the
 * end of the input.  Holds for SAME and VALID; keeps index math in int32
 * and guarantees average-pool windows are never empty.
 */
static int window_ok(uint32_t in, uint32_t out, int32_t k, int32_t stride,
		     int32_t pad, int32_t dilation)
{
	int64_t eff;

	if (k < 1 || k > MAX_WINDOW || stride < 1 || stride > MAX_WINDOW ||
	    dilation < 1 || dilation > MAX_WINDOW || pad < 0)
		return 0;
	eff = (int64_t)(k - 1) * dilation + 1;
	return pad < eff && (int64_t)(out - 1) * stride - pad < (int64_t)in;
}

/* A data-section int32[n] array referenced from op params. */
static const int32_t *data_i32(const struct tb_nn_model *m, int32_t off, uint32_t n)
{
	if (off < 0 || off % 4 || !in_bounds((uint32_t)off, 4ull * n, m->data_size))
		return NULL;
	return (const int32_t *)(const void *)(m->data + off);
}

static int shifts_ok(const int32_t *shift, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (shift[i] < -31 || shift[i] > 30)
			return 0;
	return 1;
}

static int overlap(uint32_t a, uint32_t a_size, uint32_t b, uint32_t b_size)
{
	return (uint64_t)a < (uint64_t)b + b_size && (uint64_t)b < (uint64_t)a + a_size;
}

/* The output must not share arena bytes with any input, nor the scratch
 * with any of them. */
static int no_alias(const struct op_ctx *c)
{
	const struct tb_nn_tensor_info *o = &c->t[TB_NN_MODEL_MAX_INPUTS];
	const uint32_t so = c->op.scratch_offset, ss = c->op.scratch_size;
	int k;

	if (ss && overlap(so, ss, o->offset, o->size))
		return 0;
	for (k = 0; k < c->op.num_inputs; k++) {
		const struct tb_nn_tensor_info *t = &c->t[k];

		if (c->op.inputs[k] == TB_NN_NO_TENSOR || !is_arena(t))
			continue;
		if (overlap(t->offset, t->size, o->offset, o->size) ||
		    (ss && overlap(so, ss, t->offset, t->size)))
			return 0;
	}
	return 1;
}

/* ---- ops: per code ---------------------------------------------------- */

/* Tensor types of a conv/depthwise: all int8 (filter zp 0), or all float32. */
static int conv_types_ok(const struct op_ctx *c)
{
	const struct tb_nn_tensor_info *in = &c->t[0], *f = &c->t[1];
	const struct tb_nn_tensor_info *out = &c->t[TB_NN_MODEL_MAX_INPUTS];

	if (is_4d_f32(in))
		return is_4d_f32(f) && is_4d_f32(out);
	return is_4d_int8(in) && is_4d_int8(f) && is_4d_int8(out) && f->zero_point == 0;
}

/* Requantisation of a conv/depthwise: act clamp and n (mult, shift) pairs,
 * or for float ops a float clamp and no arrays. */
static int conv_quant_ok(const struct op_ctx *c, int32_t act_min, int32_t act_max,
			 int32_t mult_off, int32_t shift_off, uint32_t n)
{
	const int32_t *shift;

	if (c->t[0].dtype == TB_NN_DTYPE_FLOAT32)
		return act_f32_ok(act_min, act_max) && mult_off == -1 && shift_off == -1;
	if (!act_ok(act_min, act_max))
		return 0;
	shift = data_i32(c->m, shift_off, n);
	return data_i32(c->m, mult_off, n) && shift && shifts_ok(shift, n);
}

static int check_conv(struct op_ctx *c)
{
	const struct tb_nn_tensor_info *in = &c->t[0], *f = &c->t[1];
	const struct tb_nn_tensor_info *out = &c->t[TB_NN_MODEL_MAX_INPUTS];
	const int32_t *p = c->params;

	if (!conv_types_ok(c) || f->dims[3] != in->dims[3] ||
	    out->dims[0] != in->dims[0] || out->dims[3] != f->dims[0] ||
	    (uint64_t)f->dims[1] * f->dims[2] * f->dims[3] > MAX_CONV_DEPTH ||
	    !bias_ok(c, 2, f->dims[0]))
		return 0;
	if (!window_ok(in->dims[1], out->dims[1], (int32_t)f->dims[1], p[TB_NN_CONV_STRIDE_H],
		       p[TB_NN_CONV_PAD_H], p[TB_NN_CONV_DILATION_H]) ||
	    !window_ok(in->dims[2], out->dims[2], (int32_t)f->dims[2], p[TB_NN_CONV_STRIDE_W],
		       p[TB_NN_CONV_PAD_W], p[TB_NN_CONV_DILATION_W]))
		return 0;
	return conv_quant_ok(c, p[TB_NN_CONV_ACT_MIN], p[TB_NN_CONV_ACT_MAX],
			     p[TB_NN_CONV_MULT_OFFSET], p[TB_NN_CONV_SHIFT_OFFSET], f->dims[0]);
}

static int check_dw(struct op_ctx *c)
{
	const struct tb_nn_tensor_info *in = &c->t[0], *f = &c->t[1];
	const struct tb_nn_tensor_info *out = &c->t[TB_NN_MODEL_MAX_INPUTS];
	const int32_t *p = c->params;
	const int32_t mult = p[TB_NN_DW_DEPTH_MULT];

	if (!conv_types_ok(c) || mult < 1 || mult > MAX_WINDOW || f->dims[0] != 1 ||
	    (uint64_t)in->dims[3] * (uint32_t)mult != f->dims[3] ||
	    out->dims[0] != in->dims[0] || out->dims[3] != f->dims[3] ||
	    (uint64_t)f->dims[1] * f->dims[2] > MAX_CONV_DEPTH || !bias_ok(c, 2, f->dims[3]))
		return 0;
	if (!window_ok(in->dims[1], out->dims[1], (int32_t)f->dims[1], p[TB_NN_DW_STRIDE_H],
		       p[TB_NN_DW_PAD_H], p[TB_NN_DW_DILATION_H]) ||
	    !window_ok(in->dims[2], out->dims[2], (int32_t)f->dims[2], p[TB_NN_DW_STRIDE_W],
		       p[TB_NN_DW_PAD_W], p[TB_NN_DW_DILATION_W]))
		return 0;
	return conv_quant_ok(c, p[TB_NN_DW_ACT_MIN], p[TB_NN_DW_ACT_MAX],
			     p[TB_NN_DW_MULT_OFFSET], p[TB_NN_DW_SHIFT_OFFSET], f->dims[3]);
}

static int check_fc(struct op_ctx *c)
{
	const struct tb_nn_tensor_info *in = &c->t[0], *f = &c->t[1];
	const struct tb_nn_tensor_info *out = &c->t[TB_NN_MODEL_MAX_INPUTS];
	const int32_t *p = c->params;
	const int is_f32 = in->dtype == TB_NN_DTYPE_FLOAT32;
	const uint8_t dt = is_f32 ? TB_NN_DTYPE_FLOAT32 : TB_NN_DTYPE_INT8;
	uint32_t units, depth;

	if (in->dtype != dt || f->dtype != dt || out->dtype != dt || f->rank != 2)
		return 0;
	units = f->dims[0];
	depth = f->dims[1];
	if (depth > MAX_FC_DEPTH || out->dims[out->rank - 1] != units ||
	    elements(in) % depth || elements(out) / units != elements(in) / depth ||
	    !bias_ok(c, 2, units))
		return 0;
	if (is_f32)
		return act_f32_ok(p[TB_NN_FC_ACT_MIN], p[TB_NN_FC_ACT_MAX]) &&
		       p[TB_NN_FC_MULT] == 0 && p[TB_NN_FC_SHIFT] == 0;
	return act_ok(p[TB_NN_FC_ACT_MIN], p[TB_NN_FC_ACT_MAX]) &&
	       shifts_ok(&p[TB_NN_FC_SHIFT], 1);
}

static int check_pool(struct op_ctx *c)
{
	const struct tb_nn_tensor_info *in = &c->t[0];
	const struct tb_nn_tensor_info *out = &c->t[TB_NN_MODEL_MAX_INPUTS];
	const int32_t *p = c->params;

	const int is_f32 = is_4d_f32(in);

	/* TFLite's int8 pools require one shared quantisation. */
	if (is_f32 ? !is_4d_f32(out) :
	    (!is_4d_int8(in) || !is_4d_int8(out) || out->zero_point != in->zero_point ||
	     scale_bits(out) != scale_bits(in)))
		return 0;
	if (out->dims[0] != in->dims[0] || out->dims[3] != in->dims[3])
		return 0;
	if (!window_ok(in->dims[1], out->dims[1], p[TB_NN_POOL_FILTER_H],
		       p[TB_NN_POOL_STRIDE_H], p[TB_NN_POOL_PAD_H], 1) ||
	    !window_ok(in->dims[2], out->dims[2], p[TB_NN_POOL_FILTER_W],
		       p[TB_NN_POOL_STRIDE_W], p[TB_NN_POOL_PAD_W], 1))
		return 0;
	return (int64_t)p[TB_NN_POOL_FILTER_H] * p[TB_NN_POOL_FILTER_W] <= MAX_POOL_WINDOW &&
	       (is_f32 ? act_f32_ok(p[TB_NN_POOL_ACT_MIN], p[TB_NN_POOL_ACT_MAX])
		       : act_ok(p[TB_NN_POOL_ACT_MIN], p[TB_NN_POOL_ACT_MAX]));
}

static int check_softmax(struct op_ctx *c)
{
	const struct tb_nn_tensor_info *in = &c->t[0];
	const struct tb_nn_tensor_info *out = &c->t[TB_NN_MODEL_MAX_INPUTS];
	const int32_t *p = c->params;
	const int32_t ls = p[TB_NN_SOFTMAX_LEFT_SHIFT];
	const int32_t dmin = p[TB_NN_SOFTMAX_DIFF_MIN];

	if (in->rank != out->rank || !same_dims(in, out))
		return 0;
	if (in->dtype == TB_NN_DTYPE_FLOAT32) {
		const float beta = word_f32(p[TB_NN_SOFTMAX_MULT]);

		return out->dtype == TB_NN_DTYPE_FLOAT32 && beta == beta &&
		       beta > -1e30f && beta < 1e30f && ls == 0 && dmin == 0;
	}
	if (in->dtype != TB_NN_DTYPE_INT8 || out->dtype != TB_NN_DTYPE_INT8 ||
	    out->zero_point != -128 || scale_bits(out) != SCALE_1_OVER_256)
		return 0;
	return ls >= 0 && ls <= 31 && dmin <= 0 &&
	       ((int64_t)-(int64_t)dmin << ls) <= INT32_MAX;
}

static int check_reshape(struct op_ctx *c)
{
	const struct tb_nn_tensor_info *in = &c->t[0];
	const struct tb_nn_tensor_info *out = &c->t[TB_NN_MODEL_MAX_INPUTS];

	return in->dtype == out->dtype && in->size == out->size;
}

static int check_add(struct op_ctx *c)
{
	const struct tb_nn_tensor_info *a = &c->t[0], *b = &c->t[1];
	const struct tb_nn_tensor_info *out = &c->t[TB_NN_MODEL_MAX_INPUTS];
	const int32_t *p = c->params;
	int k;

	if (a->dtype != out->dtype || b->dtype != out->dtype || !same_dims(a, out) ||
	    !same_dims(b, out))
		return 0;
	if (out->dtype == TB_NN_DTYPE_FLOAT32) {
		for (k = 0; k < TB_NN_ADD_ACT_MIN; k++)
			if (p[k])
				return 0;
		return act_f32_ok(p[TB_NN_ADD_ACT_MIN], p[TB_NN_ADD_ACT_MAX]);
	}
	if (out->dtype != TB_NN_DTYPE_INT8)
		return 0;
	return p[TB_NN_ADD_LEFT_SHIFT] >= 0 && p[TB_NN_ADD_LEFT_SHIFT] <= 20 &&
	       p[TB_NN_ADD_IN1_SHIFT] <= 0 && p[TB_NN_ADD_IN1_SHIFT] >= -31 &&
	       p[TB_NN_ADD_IN2_SHIFT] <= 0 && p[TB_NN_ADD_IN2_SHIFT] >= -31 &&
	       p[TB_NN_ADD_OUT_SHIFT] <= 0 && p[TB_NN_ADD_OUT_SHIFT] >= -31 &&
	       act_ok(p[TB_NN_ADD_ACT_MIN], p[TB_NN_ADD_ACT_MAX]);
}

static int check_quantize(struct op_ctx *c)
{
	const struct tb_nn_tensor_info *in = &c->t[0];
	const struct tb_nn_tensor_info *out = &c->t[TB_NN_MODEL_MAX_INPUTS];
	const int32_t *p = c->params;

	if (out->dtype != TB_NN_DTYPE_INT8 || elements(in) != elements(out) ||
	    !(out->scale > 0.0f))
		return 0;
	if (in->dtype == TB_NN_DTYPE_FLOAT32)
		return p[TB_NN_QUANTIZE_MULT] == 0 && p[TB_NN_QUANTIZE_SHIFT] == 0;
	return in->dtype == TB_NN_DTYPE_INT8 && shifts_ok(&p[TB_NN_QUANTIZE_SHIFT], 1);
}

static int check_dequantize(struct op_ctx *c)
{
	const struct tb_nn_tensor_info *in = &c->t[0];
	const struct tb_nn_tensor_info *out = &c->t[TB_NN_MODEL_MAX_INPUTS];

	return in->dtype == TB_NN_DTYPE_INT8 && out->dtype == TB_NN_DTYPE_FLOAT32 &&
	       elements(in) == elements(out);
}

struct op_desc {
	uint8_t num_inputs;
	uint8_t optional_mask;		/* inputs that may be TB_NN_NO_TENSOR */
	uint8_t num_params;
	int (*check)(struct op_ctx *c);
};

static const struct op_desc *op_desc(uint16_t code)
{
	static const struct op_desc descs[] = {
		[TB_NN_OP_CONV_2D]           = { 3, 0x4, TB_NN_CONV_NUM_PARAMS, check_conv },
		[TB_NN_OP_DEPTHWISE_CONV_2D] = { 3, 0x4, TB_NN_DW_NUM_PARAMS, check_dw },
		[TB_NN_OP_FULLY_CONNECTED]   = { 3, 0x4, TB_NN_FC_NUM_PARAMS, check_fc },
		[TB_NN_OP_AVERAGE_POOL_2D]   = { 1, 0x0, TB_NN_POOL_NUM_PARAMS, check_pool },
		[TB_NN_OP_SOFTMAX]           = { 1, 0x0, TB_NN_SOFTMAX_NUM_PARAMS, check_softmax },
		[TB_NN_OP_RESHAPE]           = { 1, 0x0, 0, check_reshape },
		[TB_NN_OP_MAX_POOL_2D]       = { 1, 0x0, TB_NN_POOL_NUM_PARAMS, check_pool },
		[TB_NN_OP_ADD]               = { 2, 0x0, TB_NN_ADD_NUM_PARAMS, check_add },
		[TB_NN_OP_QUANTIZE]          = { 1, 0x0, TB_NN_QUANTIZE_NUM_PARAMS, check_quantize },
		[TB_NN_OP_DEQUANTIZE]        = { 1, 0x0, 0, check_dequantize },
	};

	if (code >= sizeof(descs) / sizeof(descs[0]) || !descs[code].check)
		return NULL;
	return &descs[code];
}

/*
 * Decode op i and its tensors into c, checking the record itself: arity,
 * tensor indices, parameter and scratch bounds.  Shared by check_op() and
 * invoke().
 */
static int load_op(const struct tb_nn_model *m, uint32_t i, struct op_ctx *c,
		   const struct op_desc **descp)
{
	const struct op_desc *d;
	int k;

	c->m = m;
	decode_op(m, i, &c->op);
	d = op_desc(c->op.code);
	if (!d || c->op.num_inputs != d->num_inputs || c->op.num_outputs != 1 ||
	    c->op.outputs[1] != TB_NN_NO_TENSOR ||
	    c->op.params_size != 4u * d->num_params || c->op.params_offset % 4 ||
	    !in_bounds(c->op.params_offset, c->op.params_size, m->params_size))
		return TB_NN_ERR_FORMAT;
	/* Scratch: none (offset 0 too; always so in version 1, where these
	 * bytes were reserved), or an 8-aligned range of the arena. */
	if (c->op.scratch_size == 0 ? c->op.scratch_offset != 0 :
	    m->version < 2 || c->op.scratch_offset % TB_NN_MODEL_ALIGN ||
	    !in_bounds(c->op.scratch_offset, c->op.scratch_size, m->arena_size))
		return TB_NN_ERR_FORMAT;

	memset(c->t, 0, sizeof(c->t));
	for (k = 0; k < TB_NN_MODEL_MAX_INPUTS; k++) {
		const uint16_t ti = c->op.inputs[k];

		if (ti == TB_NN_NO_TENSOR) {
			if (k < d->num_inputs && !(d->optional_mask & (1u << k)))
				return TB_NN_ERR_FORMAT;
			continue;
		}
		if (k >= d->num_inputs || ti >= m->num_tensors)
			return TB_NN_ERR_FORMAT;
		decode_tensor(m, ti, &c->t[k]);
	}
	if (c->op.outputs[0] >= m->num_tensors)
		return TB_NN_ERR_FORMAT;
	decode_tensor(m, c->op.outputs[0], &c->t[TB_NN_MODEL_MAX_INPUTS]);
	c->params = (const int32_t *)(const void *)(m->params + c->op.params_offset);
	*descp = d;
	return TB_NN_OK;
}

static int check_op(const struct tb_nn_model *m, uint32_t i)
{
	const struct op_desc *d;
	struct op_ctx c;
	int ret;

	ret = load_op(m, i, &c, &d);
	if (ret)
		return ret;
	if (!is_arena(&c.t[TB_NN_MODEL_MAX_INPUTS]))
		return TB_NN_ERR_FORMAT;	/* ops write only to the arena */
	if (c.op.code == TB_NN_OP_RESHAPE && !c.op.scratch_size &&
	    c.t[0].offset == c.t[TB_NN_MODEL_MAX_INPUTS].offset && is_arena(&c.t[0]))
		return d->check(&c) ? TB_NN_OK : TB_NN_ERR_FORMAT;	/* in place */
	if (!no_alias(&c) || !d->check(&c))
		return TB_NN_ERR_FORMAT;
	return TB_NN_OK;
}

/* ---- public: init ---------------------------------------------------- */

int tb_nn_model_init(struct tb_nn_model *m, const void *blob, size_t size)
{
	struct tb_nn_tensor_info t;
	uint32_t i;
	int ret;

	if (!m)
		return TB_NN_ERR_ARG;
	memset(m, 0, sizeof(*m));
	if (!blob || (uintptr_t)blob % TB_NN_MODEL_ALIGN)
		return TB_NN_ERR_ARG;
	if (!host_is_little_endian())
		return TB_NN_ERR_UNSUPPORTED;

	ret = check_header(m, blob, size);
	for (i = 0; !ret && i < m->num_tensors; i++)
		ret = check_tensor(m, i);
	for (i = 0; !ret && i < m->num_ops; i++)
		ret = check_op(m, i);
	if (ret)
		goto out_reset;

	/* Graph input and output are copied in and out of the arena. */
	decode_tensor(m, m->input, &t);
	if (!is_arena(&t))
		goto out_format;
	decode_tensor(m, m->output, &t);
	if (!is_arena(&t))
		goto out_format;

	return TB_NN_OK;

out_format:
	ret = TB_NN_ERR_FORMAT;
out_reset:
	memset(m, 0, sizeof(*m));
	return ret;
}

int tb_nn_model_prepare(struct tb_nn_model *state, const void *blob, size_t size)
{
	if (!state)
		return TB_NN_ERR_ARG;
	if (state->blob == blob && blob && state->size <= size)
		return TB_NN_OK;	/* validated before */
	return tb_nn_model_init(state, blob, size);
}

uint32_t tb_nn_model_arena_size(const struct tb_nn_model *m)
{
	if (!m || !m->blob)
		return 0;
	return (m->arena_size + TB_NN_MODEL_ALIGN - 1) & ~(uint32_t)(TB_NN_MODEL_ALIGN - 1);
}

uint32_t tb_nn_op_scratch_size(uint16_t code, uint8_t dtype,
			       const uint32_t input_dims[TB_NN_MODEL_MAX_RANK],
			       const uint32_t filter_dims[TB_NN_MODEL_MAX_RANK])
{
	struct tb_nn_dims id, fd;
	int32_t n = 0;

	if (!input_dims || !filter_dims || dtype != TB_NN_DTYPE_INT8)
		return 0;
	if (input_dims[3] > MAX_DIM || filter_dims[0] > MAX_DIM || filter_dims[1] > MAX_WINDOW ||
	    filter_dims[2] > MAX_WINDOW || filter_dims[3] > MAX_DIM)
		return 0;
	id = (struct tb_nn_dims){ (int32_t)input_dims[0], (int32_t)input_dims[1],
				  (int32_t)input_dims[2], (int32_t)input_dims[3] };
	fd = (struct tb_nn_dims){ (int32_t)filter_dims[0], (int32_t)filter_dims[1],
				  (int32_t)filter_dims[2], (int32_t)filter_dims[3] };
	switch (code) {
	case TB_NN_OP_CONV_2D:
		n = tb_nn_convolve_s8_get_buffer_size(&id, &fd);
		break;
	case TB_NN_OP_DEPTHWISE_CONV_2D:
		n = tb_nn_depthwise_conv_s8_get_buffer_size(&id, &fd);
		break;
	case TB_NN_OP_FULLY_CONNECTED:
		fd = (struct tb_nn_dims){ (int32_t)filter_dims[0], 1, 1, (int32_t)filter_dims[1] };
		n = tb_nn_fully_connected_s8_get_buffer_size(&fd);
		break;
	}
	if (n <= 0)
		return 0;
	return ((uint32_t)n + TB_NN_MODEL_ALIGN - 1) & ~(uint32_t)(TB_NN_MODEL_ALIGN - 1);
}

int tb_nn_model_tensor(const struct tb_nn_model *m, uint32_t index,
		       struct tb_nn_tensor_info *info)
{
	if (!m || !m->blob || !info || index >= m->num_tensors)
		return TB_NN_ERR_ARG;
	decode_tensor(m, index, info);
	return TB_NN_OK;
}

int tb_nn_model_op(const struct tb_nn_model *m, uint32_t index,
		   struct tb_nn_op_info *info)
{
	if (!m || !m->blob || !info || index >= m->num_ops)
		return TB_NN_ERR_ARG;
	decode_op(m, index, info);
	return TB_NN_OK;
}

uint64_t tb_nn_model_macs(const struct tb_nn_model *m)
{
	struct tb_nn_tensor_info f, o;
	struct tb_nn_op_info op;
	uint64_t macs = 0;
	uint32_t i;

	if (!m || !m->blob)
		return 0;
	for (i = 0; i < m->num_ops; i++) {
		decode_op(m, i, &op);
		if (op.code != TB_NN_OP_CONV_2D && op.code != TB_NN_OP_DEPTHWISE_CONV_2D &&
		    op.code != TB_NN_OP_FULLY_CONNECTED)
			continue;
		decode_tensor(m, op.inputs[1], &f);
		decode_tensor(m, op.outputs[0], &o);
		if (op.code == TB_NN_OP_CONV_2D)
			macs += (uint64_t)elements(&o) * f.dims[1] * f.dims[2] * f.dims[3];
		else if (op.code == TB_NN_OP_DEPTHWISE_CONV_2D)
			macs += (uint64_t)elements(&o) * f.dims[1] * f.dims[2];
		else
			macs += (uint64_t)elements(&o) * f.dims[1];
	}
	return macs;
}

/* Does an op before (op, k) read tensor id?  (No allocation: a quadratic
 * scan, for analysis, not the inference path.) */
static int read_before(const struct tb_nn_model *m, uint32_t op, int k,
		       uint16_t id)
{
	struct tb_nn_op_info info;
	uint32_t i;
	int j;

	for (i = 0; i <= op; i++) {
		decode_op(m, i, &info);
		for (j = 0; j < (i == op ? k : info.num_inputs); j++)
			if (info.inputs[j] == id)
				return 1;
	}
	return 0;
}

void tb_nn_model_consts(const struct tb_nn_model *m, uint64_t *params,
			uint64_t *bytes)
{
	struct tb_nn_tensor_info t;
	struct tb_nn_op_info op;
	uint32_t i;
	int k;

	*params = *bytes = 0;
	if (!m || !m->blob)
		return;
	for (i = 0; i < m->num_ops; i++) {
		decode_op(m, i, &op);
		for (k = 0; k < op.num_inputs; k++) {
			if (op.inputs[k] == TB_NN_NO_TENSOR ||
			    read_before(m, i, k, op.inputs[k]))
				continue;
			decode_tensor(m, op.inputs[k], &t);
			if (!(t.flags & TB_NN_TENSOR_CONST))
				continue;
			*params += t.size / (t.dtype == TB_NN_DTYPE_INT8 ? 1 :
					     t.dtype == TB_NN_DTYPE_INT16 ? 2 : 4);
			*bytes += t.size;
		}
	}
}

uint32_t tb_nn_model_max_op_footprint(const struct tb_nn_model *m)
{
	struct tb_nn_tensor_info t;
	struct tb_nn_op_info op;
	uint64_t best = 0;
	uint32_t i;
	int k, j;

	if (!m || !m->blob)
		return 0;
	for (i = 0; i < m->num_ops; i++) {
		uint16_t ids[TB_NN_MODEL_MAX_INPUTS + 1];
		uint64_t sum = 0;
		int n = 0;

		decode_op(m, i, &op);
		for (k = 0; k <= op.num_inputs; k++) {
			const uint16_t ti = k < op.num_inputs ? op.inputs[k] : op.outputs[0];
			int dup = 0;

			if (ti == TB_NN_NO_TENSOR)
				continue;
			for (j = 0; j < n; j++)
				dup |= ids[j] == ti;
			decode_tensor(m, ti, &t);
			if (dup || !is_arena(&t))
				continue;
			ids[n++] = ti;
			sum += t.size;
		}
		sum += op.scratch_size;
		if (sum > best)
			best = sum;
	}
	return best > UINT32_MAX ? UINT32_MAX : (uint32_t)best;
}

uint32_t tb_nn_model_live_peak(const struct tb_nn_model *m)
{
	struct tb_nn_tensor_info t;
	struct tb_nn_op_info op;
	uint64_t peak = 0;
	uint32_t i, j;
	int k;

	if (!m || !m->blob)
		return 0;
	/* Bounded work: O(ops * tensors * inputs), no allocation. */
	for (i = 0; i < m->num_ops; i++) {
		uint64_t sum = 0;

		for (j = 0; j < m->num_tensors; j++) {
			int32_t first = -1, last = -1;
			uint32_t o;

			decode_tensor(m, j, &t);
			if (!is_arena(&t))
				continue;
			for (o = 0; o < m->num_ops; o++) {
				decode_op(m, o, &op);
				for (k = 0; k < op.num_inputs; k++)
					if (op.inputs[k] == j)
						break;
				if (k < op.num_inputs || op.outputs[0] == j) {
					if (first < 0)
						first = (int32_t)o;
					last = (int32_t)o;
				}
			}
			if (j == m->input)
				first = 0;
			if (j == m->output)
				last = (int32_t)m->num_ops - 1;
			if (first >= 0 && first <= (int32_t)i && (int32_t)i <= last)
				sum += (t.size + 7u) & ~7u;
		}
		decode_op(m, i, &op);
		sum += (op.scratch_size + 7u) & ~7u;
		if (sum > peak)
			peak = sum;
	}
	return peak > UINT32_MAX ? UINT32_MAX : (uint32_t)peak;
}

/* ---- public: invoke -------------------------------------------------- */

struct run_ctx {
	const struct tb_nn_model *m;
	uint8_t *arena;
	struct tb_nn_context scratch;	/* the running op's, from its record */
};

static void *tensor_ptr(const struct run_ctx *r, const struct tb_nn_tensor_info *t)
{
	if (t->flags & TB_NN_TENSOR_CONST)
		return (void *)(uintptr_t)(r->m->data + t->offset);
	return r->arena + t->offset;
}

static void dims4(const struct tb_nn_tensor_info *t, struct tb_nn_dims *d)
{
	d->n = (int32_t)t->dims[0];
	d->h = (int32_t)t->dims[1];
	d->w = (int32_t)t->dims[2];
	d->c = (int32_t)t->dims[3];
}

static const void *opt_bias(const struct run_ctx *r, const struct op_ctx *c)
{
	if (c->op.inputs[2] == TB_NN_NO_TENSOR)
		return NULL;
	return tensor_ptr(r, &c->t[2]);
}

/* CONV_2D / DEPTHWISE_CONV_2D on float32 tensors. */
static int run_conv_f32(const struct run_ctx *r, const struct op_ctx *c, int dw)
{
	const int32_t *p = c->params;
	const struct tb_nn_tensor_info *out = &c->t[TB_NN_MODEL_MAX_INPUTS];
	struct tb_nn_f32_conv_params fp;
	struct tb_nn_dims id, fd, od;

	if (dw)
		fp = (struct tb_nn_f32_conv_params){
			.stride = { .w = p[TB_NN_DW_STRIDE_W], .h = p[TB_NN_DW_STRIDE_H] },
			.padding = { .w = p[TB_NN_DW_PAD_W], .h = p[TB_NN_DW_PAD_H] },
			.dilation = { .w = p[TB_NN_DW_DILATION_W], .h = p[TB_NN_DW_DILATION_H] },
			.ch_mult = p[TB_NN_DW_DEPTH_MULT],
			.act_min = word_f32(p[TB_NN_DW_ACT_MIN]),
			.act_max = word_f32(p[TB_NN_DW_ACT_MAX]),
		};
	else
		fp = (struct tb_nn_f32_conv_params){
			.stride = { .w = p[TB_NN_CONV_STRIDE_W], .h = p[TB_NN_CONV_STRIDE_H] },
			.padding = { .w = p[TB_NN_CONV_PAD_W], .h = p[TB_NN_CONV_PAD_H] },
			.dilation = { .w = p[TB_NN_CONV_DILATION_W], .h = p[TB_NN_CONV_DILATION_H] },
			.ch_mult = 1,
			.act_min = word_f32(p[TB_NN_CONV_ACT_MIN]),
			.act_max = word_f32(p[TB_NN_CONV_ACT_MAX]),
		};
	dims4(&c->t[0], &id);
	dims4(&c->t[1], &fd);
	dims4(out, &od);
	return (dw ? tb_nn_depthwise_conv_f32 : tb_nn_convolve_f32)(
		&fp, &id, tensor_ptr(r, &c->t[0]), &fd, tensor_ptr(r, &c->t[1]),
		(const float *)opt_bias(r, c), &od, tensor_ptr(r, out));
}

static int run_conv(const struct run_ctx *r, const struct op_ctx *c)
{
	const int32_t *p = c->params;
	const struct tb_nn_tensor_info *out = &c->t[TB_NN_MODEL_MAX_INPUTS];
	struct tb_nn_conv_params cp = {
		.input_offset = -c->t[0].zero_point,
		.output_offset = out->zero_point,
		.stride = { .w = p[TB_NN_CONV_STRIDE_W], .h = p[TB_NN_CONV_STRIDE_H] },
		.padding = { .w = p[TB_NN_CONV_PAD_W], .h = p[TB_NN_CONV_PAD_H] },
		.dilation = { .w = p[TB_NN_CONV_DILATION_W], .h = p[TB_NN_CONV_DILATION_H] },
		.activation = { .min = p[TB_NN_CONV_ACT_MIN], .max = p[TB_NN_CONV_ACT_MAX] },
	};
	struct tb_nn_per_channel_quant_params q = {
		.multiplier = (const int32_t *)(const void *)(r->m->data + p[TB_NN_CONV_MULT_OFFSET]),
		.shift = (const int32_t *)(const void *)(r->m->data + p[TB_NN_CONV_SHIFT_OFFSET]),
	};
	struct tb_nn_dims id, fd, od;

	dims4(&c->t[0], &id);
	dims4(&c->t[1], &fd);
	dims4(out, &od);
	return tb_nn_convolve_s8(&r->scratch, &cp, &q, &id, tensor_ptr(r, &c->t[0]),
				 &fd, tensor_ptr(r, &c->t[1]), opt_bias(r, c),
				 &od, tensor_ptr(r, out));
}

static int run_dw(const struct run_ctx *r, const struct op_ctx *c)
{
	const int32_t *p = c->params;
	const struct tb_nn_tensor_info *out = &c->t[TB_NN_MODEL_MAX_INPUTS];
	struct tb_nn_dw_conv_params dp = {
		.input_offset = -c->t[0].zero_point,
		.output_offset = out->zero_point,
		.ch_mult = p[TB_NN_DW_DEPTH_MULT],
		.stride = { .w = p[TB_NN_DW_STRIDE_W], .h = p[TB_NN_DW_STRIDE_H] },
		.padding = { .w = p[TB_NN_DW_PAD_W], .h = p[TB_NN_DW_PAD_H] },
		.dilation = { .w = p[TB_NN_DW_DILATION_W], .h = p[TB_NN_DW_DILATION_H] },
		.activation = { .min = p[TB_NN_DW_ACT_MIN], .max = p[TB_NN_DW_ACT_MAX] },
	};
	struct tb_nn_per_channel_quant_params q = {
		.multiplier = (const int32_t *)(const void *)(r->m->data + p[TB_NN_DW_MULT_OFFSET]),
		.shift = (const int32_t *)(const void *)(r->m->data + p[TB_NN_DW_SHIFT_OFFSET]),
	};
	struct tb_nn_dims id, fd, od;

	dims4(&c->t[0], &id);
	dims4(&c->t[1], &fd);
	dims4(out, &od);
	return tb_nn_depthwise_conv_s8(&r->scratch, &dp, &q, &id, tensor_ptr(r, &c->t[0]),
				       &fd, tensor_ptr(r, &c->t[1]), opt_bias(r, c),
				       &od, tensor_ptr(r, out));
}

static int run_fc(const struct run_ctx *r, const struct op_ctx *c)
{
	const int32_t *p = c->params;
	const struct tb_nn_tensor_info *f = &c->t[1];
	const struct tb_nn_tensor_info *out = &c->t[TB_NN_MODEL_MAX_INPUTS];
	const int32_t units = (int32_t)f->dims[0];
	const int32_t depth = (int32_t)f->dims[1];
	const int32_t batches = (int32_t)(elements(out) / (uint32_t)units);
	struct tb_nn_fc_params fp = {
		.input_offset = -c->t[0].zero_point,
		.filter_offset = -f->zero_point,
		.output_offset = out->zero_point,
		.activation = { .min = p[TB_NN_FC_ACT_MIN], .max = p[TB_NN_FC_ACT_MAX] },
	};
	struct tb_nn_per_tensor_quant_params q = {
		.multiplier = p[TB_NN_FC_MULT],
		.shift = p[TB_NN_FC_SHIFT],
	};
	struct tb_nn_dims id = { batches, 1, 1, depth };
	struct tb_nn_dims fd = { units, 1, 1, depth };
	struct tb_nn_dims od = { batches, 1, 1, units };

	if (f->dtype == TB_NN_DTYPE_FLOAT32)
		return tb_nn_fully_connected_f32(word_f32(p[TB_NN_FC_ACT_MIN]),
						 word_f32(p[TB_NN_FC_ACT_MAX]), batches,
						 depth, tensor_ptr(r, &c->t[0]), units,
						 tensor_ptr(r, f), opt_bias(r, c),
						 tensor_ptr(r, out));
	return tb_nn_fully_connected_s8(&r->scratch, &fp, &q, &id, tensor_ptr(r, &c->t[0]),
					&fd, tensor_ptr(r, f), opt_bias(r, c),
					&od, tensor_ptr(r, out));
}

static int run_pool(const struct run_ctx *r, const struct op_ctx *c)
{
	const int32_t *p = c->params;
	const struct tb_nn_tensor_info *out = &c->t[TB_NN_MODEL_MAX_INPUTS];
	struct tb_nn_pool_params pp = {
		.stride = { .w = p[TB_NN_POOL_STRIDE_W], .h = p[TB_NN_POOL_STRIDE_H] },
		.padding = { .w = p[TB_NN_POOL_PAD_W], .h = p[TB_NN_POOL_PAD_H] },
		.activation = { .min = p[TB_NN_POOL_ACT_MIN], .max = p[TB_NN_POOL_ACT_MAX] },
	};
	struct tb_nn_dims fd = { 1, p[TB_NN_POOL_FILTER_H], p[TB_NN_POOL_FILTER_W], 1 };
	struct tb_nn_dims id, od;
	const int is_max = c->op.code == TB_NN_OP_MAX_POOL_2D;

	dims4(&c->t[0], &id);
	dims4(out, &od);
	if (out->dtype == TB_NN_DTYPE_FLOAT32) {
		const struct tb_nn_f32_pool_params fp = {
			.stride = pp.stride, .padding = pp.padding,
			.filter = { .w = fd.w, .h = fd.h },
			.act_min = word_f32(p[TB_NN_POOL_ACT_MIN]),
			.act_max = word_f32(p[TB_NN_POOL_ACT_MAX]),
		};

		return (is_max ? tb_nn_maxpool_f32 : tb_nn_avgpool_f32)(
			&fp, &id, tensor_ptr(r, &c->t[0]), &od, tensor_ptr(r, out));
	}
	return (is_max ? tb_nn_maxpool_s8 : tb_nn_avgpool_s8)(
		&r->scratch, &pp, &id, tensor_ptr(r, &c->t[0]), &fd, &od,
		tensor_ptr(r, out));
}

static int run_add(const struct run_ctx *r, const struct op_ctx *c)
{
	const int32_t *p = c->params;
	const struct tb_nn_tensor_info *out = &c->t[TB_NN_MODEL_MAX_INPUTS];
	struct tb_nn_add_params ap = {
		.input1_offset = -c->t[0].zero_point,
		.input2_offset = -c->t[1].zero_point,
		.output_offset = out->zero_point,
		.left_shift = p[TB_NN_ADD_LEFT_SHIFT],
		.input1_mult = p[TB_NN_ADD_IN1_MULT], .input1_shift = p[TB_NN_ADD_IN1_SHIFT],
		.input2_mult = p[TB_NN_ADD_IN2_MULT], .input2_shift = p[TB_NN_ADD_IN2_SHIFT],
		.output_mult = p[TB_NN_ADD_OUT_MULT], .output_shift = p[TB_NN_ADD_OUT_SHIFT],
		.activation = { .min = p[TB_NN_ADD_ACT_MIN], .max = p[TB_NN_ADD_ACT_MAX] },
	};

	if (out->dtype == TB_NN_DTYPE_FLOAT32)
		return tb_nn_add_f32(tensor_ptr(r, &c->t[0]), tensor_ptr(r, &c->t[1]),
				     (int32_t)elements(out), word_f32(p[TB_NN_ADD_ACT_MIN]),
				     word_f32(p[TB_NN_ADD_ACT_MAX]), tensor_ptr(r, out));
	return tb_nn_add_s8(&ap, tensor_ptr(r, &c->t[0]), tensor_ptr(r, &c->t[1]),
			    (int32_t)elements(out), tensor_ptr(r, out));
}

static int run_quantize(const struct run_ctx *r, const struct op_ctx *c)
{
	const int32_t *p = c->params;
	const struct tb_nn_tensor_info *in = &c->t[0];
	const struct tb_nn_tensor_info *out = &c->t[TB_NN_MODEL_MAX_INPUTS];

	if (c->op.code == TB_NN_OP_DEQUANTIZE)
		return tb_nn_dequantize_s8_f32(tensor_ptr(r, in), (int32_t)elements(in),
					       in->scale, in->zero_point, tensor_ptr(r, out));
	if (in->dtype == TB_NN_DTYPE_FLOAT32)
		return tb_nn_quantize_f32_s8(tensor_ptr(r, in), (int32_t)elements(in),
					     out->scale, out->zero_point, tensor_ptr(r, out));
	return tb_nn_requantize_s8(tensor_ptr(r, in), (int32_t)elements(in), in->zero_point,
				   p[TB_NN_QUANTIZE_MULT], p[TB_NN_QUANTIZE_SHIFT],
				   out->zero_point, tensor_ptr(r, out));
}

static int run_softmax(const struct run_ctx *r, const struct op_ctx *c)
{
	const int32_t *p = c->params;
	const struct tb_nn_tensor_info *in = &c->t[0];
	const uint32_t row = in->dims[in->rank - 1];
	struct tb_nn_softmax_params sp = {
		.input_beta_multiplier = p[TB_NN_SOFTMAX_MULT],
		.input_beta_left_shift = p[TB_NN_SOFTMAX_LEFT_SHIFT],
		.diff_min = p[TB_NN_SOFTMAX_DIFF_MIN],
	};

	if (in->dtype == TB_NN_DTYPE_FLOAT32)
		return tb_nn_softmax_f32(tensor_ptr(r, in), (int32_t)(elements(in) / row),
					 (int32_t)row, word_f32(p[TB_NN_SOFTMAX_MULT]),
					 tensor_ptr(r, &c->t[TB_NN_MODEL_MAX_INPUTS]));

	return tb_nn_softmax_s8(tensor_ptr(r, in), (int32_t)(elements(in) / row),
				(int32_t)row, &sp,
				tensor_ptr(r, &c->t[TB_NN_MODEL_MAX_INPUTS]));
}

static int run_reshape(const struct run_ctx *r, const struct op_ctx *c)
{
	const struct tb_nn_tensor_info *out = &c->t[TB_NN_MODEL_MAX_INPUTS];
	const void *src = tensor_ptr(r, &c->t[0]);
	void *dst = tensor_ptr(r, out);

	if (src != dst)
		memmove(dst, src, out->size);
	return TB_NN_OK;
}

static int run_op(struct run_ctx *r, uint32_t i)
{
	const struct op_desc *d;
	struct op_ctx c;
	int ret;

	ret = load_op(r->m, i, &c, &d);
	if (ret)
		return ret;
	r->scratch.buf = c.op.scratch_size ? r->arena + c.op.scratch_offset : NULL;
	r->scratch.size = (int32_t)c.op.scratch_size;
	switch (c.op.code) {
	case TB_NN_OP_CONV_2D:
		if (c.t[0].dtype == TB_NN_DTYPE_FLOAT32)
			return run_conv_f32(r, &c, 0);
		return run_conv(r, &c);
	case TB_NN_OP_DEPTHWISE_CONV_2D:
		if (c.t[0].dtype == TB_NN_DTYPE_FLOAT32)
			return run_conv_f32(r, &c, 1);
		return run_dw(r, &c);
	case TB_NN_OP_FULLY_CONNECTED:
		return run_fc(r, &c);
	case TB_NN_OP_AVERAGE_POOL_2D:
	case TB_NN_OP_MAX_POOL_2D:
		return run_pool(r, &c);
	case TB_NN_OP_ADD:
		return run_add(r, &c);
	case TB_NN_OP_QUANTIZE:
	case TB_NN_OP_DEQUANTIZE:
		return run_quantize(r, &c);
	case TB_NN_OP_SOFTMAX:
		return run_softmax(r, &c);
	case TB_NN_OP_RESHAPE:
		return run_reshape(r, &c);
	}
	return TB_NN_ERR_FORMAT;
}

int tb_nn_model_invoke(const struct tb_nn_model *m, const void *in, size_t in_size,
		       void *out, size_t out_size, void *arena, size_t arena_size)
{
	struct tb_nn_tensor_info ti, to;
	struct run_ctx r;
	uint32_t i;
	int ret;

	if (!m || !m->blob || !in || !out || !arena ||
	    (uintptr_t)arena % TB_NN_MODEL_ALIGN ||
	    arena_size < tb_nn_model_arena_size(m))
		return TB_NN_ERR_ARG;
	decode_tensor(m, m->input, &ti);
	decode_tensor(m, m->output, &to);
	if (in_size < ti.size || out_size < to.size)
		return TB_NN_ERR_ARG;

	r.m = m;
	r.arena = arena;

	memcpy(r.arena + ti.offset, in, ti.size);
	for (i = 0; i < m->num_ops; i++) {
		ret = run_op(&r, i);
		if (ret)
			return ret;
	}
	memcpy(out, r.arena + to.offset, to.size);
	return TB_NN_OK;
}
