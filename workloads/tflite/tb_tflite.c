/*
 * tb_tflite.c - a bounds-checked reader of .tflite flatbuffers.
 *
 * A flatbuffer is a graph of tables reached through 32-bit offsets.  A
 * table starts with a signed offset to its vtable; the vtable lists, per
 * field, the field's offset inside the table (0 = absent).  Offsets to
 * sub-tables, vectors and strings are unsigned and relative to where they
 * are stored.  Nothing in the file is trusted: every position is checked
 * with 64-bit arithmetic against the file length before a byte is read,
 * every vector's length against the bytes that remain, every field
 * against its table's declared size.  Only the fields tinybench uses are
 * decoded (the schema is tensorflow/lite/schema/schema.fbs, version 3).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tb_tflite.h"

/* Field ids (vtable slot = 4 + 2 * id) of the tables we read. */
enum { MODEL_VERSION, MODEL_OPCODES, MODEL_SUBGRAPHS, MODEL_DESCRIPTION, MODEL_BUFFERS };
enum { OPC_DEPRECATED_CODE, OPC_CUSTOM_CODE, OPC_VERSION, OPC_BUILTIN_CODE };
enum { SG_TENSORS, SG_INPUTS, SG_OUTPUTS, SG_OPERATORS, SG_NAME };
enum { TEN_SHAPE, TEN_TYPE, TEN_BUFFER, TEN_NAME, TEN_QUANT, TEN_IS_VARIABLE, TEN_SPARSITY };
enum { QP_MIN, QP_MAX, QP_SCALE, QP_ZERO_POINT, QP_DETAILS_TYPE, QP_DETAILS, QP_QDIM };
enum { OP_OPCODE_INDEX, OP_INPUTS, OP_OUTPUTS, OP_OPTIONS_TYPE, OP_OPTIONS };
enum { BUF_DATA, BUF_OFFSET, BUF_SIZE };

/* BuiltinOptions union types of the options we decode. */
enum {
	OPT_CONV2D = 1, OPT_DEPTHWISE = 2, OPT_POOL2D = 5, OPT_FULLY_CONNECTED = 8,
	OPT_SOFTMAX = 9, OPT_ADD = 11, OPT_RESHAPE = 17,
};

#define MAX_TENSORS   (1u << 20)
#define MAX_OPS       (1u << 20)

struct fb {
	const uint8_t *b;
	size_t n;
	struct tb_error *err;
};

struct fb_table {
	uint64_t pos;			/* table start */
	uint64_t vt;			/* vtable start */
	uint32_t vt_size;
	uint32_t tbl_size;
};

struct fb_vec {
	uint64_t start;			/* first element */
	uint32_t len;
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

__attribute__((format(printf, 2, 3)))
static int fail(struct fb *f, const char *fmt, ...)
{
	char msg[TB_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return tb_error_set(f->err, TB_ERR_FORMAT, "malformed .tflite: %s", msg);
}

/* [pos, pos + len) inside the file. */
static int has(const struct fb *f, uint64_t pos, uint64_t len)
{
	return pos <= f->n && len <= f->n - pos;
}

/* The table at pos: its vtable must be inside the file and well formed. */
static int fb_table(struct fb *f, uint64_t pos, struct fb_table *t, const char *what)
{
	int64_t vt;

	if (!has(f, pos, 4))
		return fail(f, "%s: table at offset %llu is past the end of the file (%zu bytes)",
			    what, (unsigned long long)pos, f->n);
	vt = (int64_t)pos - (int32_t)rd32(f->b + pos);
	if (vt < 0 || !has(f, (uint64_t)vt, 4))
		return fail(f, "%s: vtable of the table at offset %llu lies outside the file",
			    what, (unsigned long long)pos);
	t->pos = pos;
	t->vt = (uint64_t)vt;
	t->vt_size = rd16(f->b + vt);
	t->tbl_size = rd16(f->b + vt + 2);
	if (t->vt_size < 4 || t->vt_size % 2 || !has(f, t->vt, t->vt_size))
		return fail(f, "%s: vtable at offset %lld has a bad size (%u)", what,
			    (long long)vt, t->vt_size);
	if (t->tbl_size < 4 || !has(f, pos, t->tbl_size))
		return fail(f, "%s: table at offset %llu declares %u bytes, past the end of the file",
			    what, (unsigned long long)pos, t->tbl_size);
	return TB_OK;
}

/* Position of field id (size bytes) or 0 when absent; < 0 on error. */
static int64_t fb_field(struct fb *f, const struct fb_table *t, int id, uint32_t size,
			const char *what)
{
	const uint32_t slot = 4 + 2 * (uint32_t)id;
	uint32_t off;

	if (slot + 2 > t->vt_size)
		return 0;
	off = rd16(f->b + t->vt + slot);
	if (!off)
		return 0;
	if (off < 4 || off + (uint64_t)size > t->tbl_size)
		return fail(f, "%s: field %d at offset %u lies outside its %u-byte table",
			    what, id, off, t->tbl_size);
	return (int64_t)(t->pos + off);
}

static int fb_u8(struct fb *f, const struct fb_table *t, int id, uint8_t def,
		 uint8_t *v, const char *what)
{
	int64_t p = fb_field(f, t, id, 1, what);

	if (p < 0)
		return (int)p;
	*v = p ? f->b[p] : def;
	return TB_OK;
}

static int fb_i32(struct fb *f, const struct fb_table *t, int id, int32_t def,
		  int32_t *v, const char *what)
{
	int64_t p = fb_field(f, t, id, 4, what);

	if (p < 0)
		return (int)p;
	*v = p ? (int32_t)rd32(f->b + p) : def;
	return TB_OK;
}

static int fb_f32(struct fb *f, const struct fb_table *t, int id, float def,
		  float *v, const char *what)
{
	int64_t p = fb_field(f, t, id, 4, what);
	uint32_t bits;

	if (p < 0)
		return (int)p;
	if (!p) {
		*v = def;
		return TB_OK;
	}
	bits = rd32(f->b + p);
	memcpy(v, &bits, 4);
	return TB_OK;
}

/* Follow the uoffset stored at pos; *target must leave room for 4 bytes. */
static int fb_deref(struct fb *f, uint64_t pos, uint64_t *target, const char *what)
{
	const uint64_t tgt = pos + rd32(f->b + pos);

	if (!has(f, tgt, 4))
		return fail(f, "%s: offset at %llu points past the end of the file",
			    what, (unsigned long long)pos);
	*target = tgt;
	return TB_OK;
}

/* Optional sub-table field: *present = 0 when absent. */
static int fb_subtable(struct fb *f, const struct fb_table *t, int id,
		       struct fb_table *sub, int *present, const char *what)
{
	int64_t p = fb_field(f, t, id, 4, what);
	uint64_t tgt;
	int ret;

	*present = 0;
	if (p <= 0)
		return (int)p;
	ret = fb_deref(f, (uint64_t)p, &tgt, what);
	if (ret)
		return ret;
	*present = 1;
	return fb_table(f, tgt, sub, what);
}

/* Optional vector field of elements of esize bytes (len 0 when absent). */
static int fb_vector(struct fb *f, const struct fb_table *t, int id, uint32_t esize,
		     struct fb_vec *v, const char *what)
{
	int64_t p = fb_field(f, t, id, 4, what);
	uint64_t tgt;
	int ret;

	v->start = 0;
	v->len = 0;
	if (p <= 0)
		return (int)p;
	ret = fb_deref(f, (uint64_t)p, &tgt, what);
	if (ret)
		return ret;
	v->len = rd32(f->b + tgt);
	v->start = tgt + 4;
	if (!has(f, v->start, (uint64_t)v->len * esize))
		return fail(f, "%s: vector at offset %llu claims %u elements of %u bytes, "
			    "more than the %llu bytes left in the file", what,
			    (unsigned long long)tgt, v->len, esize,
			    (unsigned long long)(f->n - v->start));
	return TB_OK;
}

/* Element i of a vector of tables. */
static int fb_vec_table(struct fb *f, const struct fb_vec *v, uint32_t i,
			struct fb_table *t, const char *what)
{
	uint64_t tgt = 0;
	int ret;

	ret = fb_deref(f, v->start + 4ull * i, &tgt, what);
	return ret ? ret : fb_table(f, tgt, t, what);
}

/*
 * Optional string field: a pointer to its bytes inside the file copy is
 * not NUL-safe, so strings are copied out by the caller's arena (*s NULL
 * when absent).  Checks the terminating NUL the format requires.
 */
static int fb_string(struct fb *f, const struct fb_table *t, int id,
		     const char **s, uint32_t *len, const char *what)
{
	struct fb_vec v;
	int ret;

	*s = NULL;
	*len = 0;
	ret = fb_vector(f, t, id, 1, &v, what);
	if (ret || !v.start)
		return ret;
	if (!has(f, v.start + v.len, 1) || f->b[v.start + v.len] != 0)
		return fail(f, "%s: string at offset %llu is not NUL-terminated inside the file",
			    what, (unsigned long long)v.start - 4);
	if (memchr(f->b + v.start, 0, v.len))
		return fail(f, "%s: string at offset %llu holds a NUL byte",
			    what, (unsigned long long)v.start - 4);
	*s = (const char *)f->b + v.start;
	*len = v.len;
	return TB_OK;
}

/* ---- names ----------------------------------------------------------- */

static const char *const op_names[] = {
	"ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D",
	"DEPTH_TO_SPACE", "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED",
	"HASHTABLE_LOOKUP", "L2_NORMALIZATION", "L2_POOL_2D",
	"LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION", "LSTM",
	"MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE",
	"RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH",
	"CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE",
	"PAD", "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND",
	"SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE",
	"UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN",
	"EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE",
	"BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM", "ARG_MAX",
	"MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL",
	"SELECT", "SLICE", "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE",
	"EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT", "SHAPE",
	"POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK",
	"LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN",
	"FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD",
	"RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE",
	"MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N",
	"GATHER_ND", "COS", "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG",
	"QUANTIZE", "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF", "WHILE",
	"NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2",
	"DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL",
};

const char *tb_tflite_op_name(int32_t builtin, char *buf, size_t len)
{
	if (builtin >= 0 && (size_t)builtin < sizeof(op_names) / sizeof(op_names[0]))
		return op_names[builtin];
	snprintf(buf, len, "BUILTIN_%d", (int)builtin);
	return buf;
}

const char *tb_tflite_type_name(int type)
{
	static const char *const names[] = {
		"FLOAT32", "FLOAT16", "INT32", "UINT8", "INT64", "STRING", "BOOL",
		"INT16", "COMPLEX64", "INT8", "FLOAT64", "COMPLEX128", "UINT64",
		"RESOURCE", "VARIANT", "UINT32", "UINT16", "INT4",
	};

	if (type >= 0 && (size_t)type < sizeof(names) / sizeof(names[0]))
		return names[type];
	return "UNKNOWN_TYPE";
}

/* ---- the model ------------------------------------------------------- */

/* Heap parts of a model: one block per array, freed together. */
struct arrays {
	void **blocks;
	size_t n, cap;
};

static void *arr_alloc(struct tb_tflite_model *m, size_t count, size_t size)
{
	struct arrays *a = m->arrays;
	void *p;

	if (count && size > (SIZE_MAX / 2) / count)
		return NULL;
	if (a->n == a->cap) {
		size_t ncap = a->cap ? 2 * a->cap : 16;
		void **nb = realloc(a->blocks, ncap * sizeof(*nb));

		if (!nb)
			return NULL;
		a->blocks = nb;
		a->cap = ncap;
	}
	p = calloc(count ? count : 1, size ? size : 1);
	if (p)
		a->blocks[a->n++] = p;
	return p;
}

static char *arr_strdup(struct tb_tflite_model *m, const char *s, uint32_t len)
{
	char *d = arr_alloc(m, (size_t)len + 1, 1);

	if (d && len)
		memcpy(d, s, len);
	return d;
}

void tb_tflite_free(struct tb_tflite_model *m)
{
	struct arrays *a;

	if (!m)
		return;
	a = m->arrays;
	if (a) {
		for (size_t i = 0; i < a->n; i++)
			free(a->blocks[i]);
		free(a->blocks);
		free(a);
	}
	free(m->file);
	free(m);
}

struct parse {
	struct fb f;
	struct tb_tflite_model *m;
	struct fb_vec buffers;
	struct fb_vec opcodes;
};

#define NOMEM(p) tb_error_set((p)->f.err, TB_ERR_NOMEM, "out of memory reading the .tflite file")

/* Read an int32 vector into a new array (n elements). */
static int read_i32_vec(struct parse *p, const struct fb_table *t, int id,
			int32_t **out, uint32_t *n, const char *what)
{
	struct fb_vec v;
	int ret = fb_vector(&p->f, t, id, 4, &v, what);

	*out = NULL;
	*n = 0;
	if (ret)
		return ret;
	*out = arr_alloc(p->m, v.len, sizeof(int32_t));
	if (!*out)
		return NOMEM(p);
	for (uint32_t i = 0; i < v.len; i++)
		(*out)[i] = (int32_t)rd32(p->f.b + v.start + 4ull * i);
	*n = v.len;
	return TB_OK;
}

/* Contents of buffer index bi (NULL/0 when empty). */
static int buffer_data(struct parse *p, uint32_t bi, const uint8_t **data,
		       size_t *len, const char *what)
{
	struct fb_table t;
	struct fb_vec v;
	int64_t off;
	int ret;

	*data = NULL;
	*len = 0;
	if (bi >= p->buffers.len)
		return fail(&p->f, "%s: buffer index %u, but the model has %u buffers",
			    what, bi, p->buffers.len);
	ret = fb_vec_table(&p->f, &p->buffers, bi, &t, what);
	if (ret)
		return ret;
	/* Models over 2 GB keep data outside the flatbuffer (offset/size). */
	off = fb_field(&p->f, &t, BUF_OFFSET, 8, what);
	if (off < 0)
		return (int)off;
	if (off && rd64(p->f.b + off) > 1)
		return tb_error_set(p->f.err, TB_ERR_UNSUPPORTED,
				    "%s: buffer %u is stored outside the flatbuffer "
				    "(models over 2 GB are not supported)", what, bi);
	ret = fb_vector(&p->f, &t, BUF_DATA, 1, &v, what);
	if (ret)
		return ret;
	if (v.len) {
		*data = p->f.b + v.start;
		*len = v.len;
	}
	return TB_OK;
}

static int type_size(int type)
{
	switch (type) {
	case TB_TFLITE_FLOAT32:
	case TB_TFLITE_INT32:
		return 4;
	case TB_TFLITE_FLOAT16:
	case TB_TFLITE_INT16:
		return 2;
	case TB_TFLITE_UINT8:
	case TB_TFLITE_INT8:
	case TB_TFLITE_BOOL:
		return 1;
	case TB_TFLITE_INT64:
		return 8;
	}
	return 0;
}

static int read_quant(struct parse *p, const struct fb_table *q, struct tb_tflite_tensor *t,
		      const char *what)
{
	struct fb_vec sc, zp;
	float *scales;
	int64_t *zps;
	int ret;

	ret = fb_vector(&p->f, q, QP_SCALE, 4, &sc, what);
	if (!ret)
		ret = fb_vector(&p->f, q, QP_ZERO_POINT, 8, &zp, what);
	if (!ret)
		ret = fb_i32(&p->f, q, QP_QDIM, 0, &t->quant_dim, what);
	if (ret || !sc.len)
		return ret;
	if (zp.len && zp.len != sc.len)
		return fail(&p->f, "%s: %u scales but %u zero points", what, sc.len, zp.len);
	scales = arr_alloc(p->m, sc.len, sizeof(float));
	zps = arr_alloc(p->m, sc.len, sizeof(int64_t));
	if (!scales || !zps)
		return NOMEM(p);
	for (uint32_t i = 0; i < sc.len; i++) {
		const uint32_t bits = rd32(p->f.b + sc.start + 4ull * i);

		memcpy(&scales[i], &bits, 4);
		zps[i] = zp.len ? (int64_t)rd64(p->f.b + zp.start + 8ull * i) : 0;
	}
	t->n_scales = sc.len;
	t->scales = scales;
	t->zero_points = zps;
	return TB_OK;
}

static int read_tensor(struct parse *p, const struct fb_vec *tv, uint32_t i)
{
	struct tb_tflite_tensor *t = &p->m->tensors[i];
	struct fb_table tt, q;
	struct fb_vec shape;
	const char *name;
	uint32_t name_len;
	uint8_t type;
	int32_t buffer;
	char what[48];
	int has_q, ret;

	snprintf(what, sizeof(what), "tensor %u", i);
	ret = fb_vec_table(&p->f, tv, i, &tt, what);
	if (!ret)
		ret = fb_vector(&p->f, &tt, TEN_SHAPE, 4, &shape, what);
	if (!ret)
		ret = fb_u8(&p->f, &tt, TEN_TYPE, 0, &type, what);
	if (!ret)
		ret = fb_i32(&p->f, &tt, TEN_BUFFER, 0, &buffer, what);
	if (!ret)
		ret = fb_string(&p->f, &tt, TEN_NAME, &name, &name_len, what);
	if (ret)
		return ret;
	if (shape.len > TB_TFLITE_MAX_RANK)
		return tb_error_set(p->f.err, TB_ERR_UNSUPPORTED,
				    "%s: rank %u (at most %d supported)", what, shape.len,
				    TB_TFLITE_MAX_RANK);
	t->name = arr_strdup(p->m, name ? name : "", name_len);
	if (!t->name)
		return NOMEM(p);
	t->type = (int8_t)type;
	t->rank = (uint8_t)shape.len;
	for (uint32_t k = 0; k < shape.len; k++) {
		t->shape[k] = (int32_t)rd32(p->f.b + shape.start + 4ull * k);
		if (t->shape[k] < 0)
			return fail(&p->f, "%s: dimension %u is %d", what, k, t->shape[k]);
	}
	t->buffer = (uint32_t)buffer;
	ret = buffer_data(p, t->buffer, &t->data, &t->data_len, what);
	if (ret)
		return ret;
	if (t->data) {
		uint64_t elems = 1;
		const int es = type_size(t->type);

		for (uint32_t k = 0; k < t->rank; k++)
			elems *= (uint64_t)t->shape[k];
		if (es && elems * (uint64_t)es != t->data_len)
			return fail(&p->f, "%s: %s %llu elements need %llu bytes, its buffer %u has %zu",
				    what, tb_tflite_type_name(t->type),
				    (unsigned long long)elems,
				    (unsigned long long)(elems * (uint64_t)es), t->buffer,
				    t->data_len);
	}
	ret = fb_subtable(&p->f, &tt, TEN_QUANT, &q, &has_q, what);
	if (!ret && has_q)
		ret = read_quant(p, &q, t, what);
	return ret;
}

static int read_options(struct parse *p, const struct fb_table *opt_t, uint8_t type,
			struct tb_tflite_options *o, const char *what)
{
	struct fb *f = &p->f;
	int8_t dummy;
	int ret = TB_OK;

	(void)dummy;
	switch (type) {
	case OPT_CONV2D:
		ret = fb_u8(f, opt_t, 0, 0, (uint8_t *)&o->padding, what);
		if (!ret) ret = fb_i32(f, opt_t, 1, 0, &o->stride_w, what);
		if (!ret) ret = fb_i32(f, opt_t, 2, 0, &o->stride_h, what);
		if (!ret) ret = fb_u8(f, opt_t, 3, 0, (uint8_t *)&o->activation, what);
		if (!ret) ret = fb_i32(f, opt_t, 4, 1, &o->dilation_w, what);
		if (!ret) ret = fb_i32(f, opt_t, 5, 1, &o->dilation_h, what);
		break;
	case OPT_DEPTHWISE:
		ret = fb_u8(f, opt_t, 0, 0, (uint8_t *)&o->padding, what);
		if (!ret) ret = fb_i32(f, opt_t, 1, 0, &o->stride_w, what);
		if (!ret) ret = fb_i32(f, opt_t, 2, 0, &o->stride_h, what);
		if (!ret) ret = fb_i32(f, opt_t, 3, 0, &o->depth_multiplier, what);
		if (!ret) ret = fb_u8(f, opt_t, 4, 0, (uint8_t *)&o->activation, what);
		if (!ret) ret = fb_i32(f, opt_t, 5, 1, &o->dilation_w, what);
		if (!ret) ret = fb_i32(f, opt_t, 6, 1, &o->dilation_h, what);
		break;
	case OPT_POOL2D:
		ret = fb_u8(f, opt_t, 0, 0, (uint8_t *)&o->padding, what);
		if (!ret) ret = fb_i32(f, opt_t, 1, 0, &o->stride_w, what);
		if (!ret) ret = fb_i32(f, opt_t, 2, 0, &o->stride_h, what);
		if (!ret) ret = fb_i32(f, opt_t, 3, 0, &o->filter_w, what);
		if (!ret) ret = fb_i32(f, opt_t, 4, 0, &o->filter_h, what);
		if (!ret) ret = fb_u8(f, opt_t, 5, 0, (uint8_t *)&o->activation, what);
		break;
	case OPT_FULLY_CONNECTED:
		ret = fb_u8(f, opt_t, 0, 0, (uint8_t *)&o->activation, what);
		if (!ret) ret = fb_u8(f, opt_t, 1, 0, (uint8_t *)&o->weights_format, what);
		if (!ret) ret = fb_u8(f, opt_t, 2, 0, &o->keep_num_dims, what);
		if (!ret) ret = fb_u8(f, opt_t, 3, 0, &o->asymmetric_quantize_inputs, what);
		break;
	case OPT_SOFTMAX:
		ret = fb_f32(f, opt_t, 0, 0.0f, &o->beta, what);
		break;
	case OPT_ADD:
		ret = fb_u8(f, opt_t, 0, 0, (uint8_t *)&o->activation, what);
		break;
	}
	return ret;
}

static int read_op(struct parse *p, const struct fb_vec *ov, uint32_t i)
{
	struct tb_tflite_op *op = &p->m->ops[i];
	struct fb_table ot, ct, opt_t;
	struct fb_vec in, out;
	const char *custom;
	uint32_t opcode, custom_len;
	uint8_t dep, opt_type;
	int32_t code;
	char what[48];
	int has_opt, ret;

	snprintf(what, sizeof(what), "operator %u", i);
	ret = fb_vec_table(&p->f, ov, i, &ot, what);
	if (!ret)
		ret = fb_i32(&p->f, &ot, OP_OPCODE_INDEX, 0, (int32_t *)&opcode, what);
	if (!ret)
		ret = fb_vector(&p->f, &ot, OP_INPUTS, 4, &in, what);
	if (!ret)
		ret = fb_vector(&p->f, &ot, OP_OUTPUTS, 4, &out, what);
	if (!ret)
		ret = fb_u8(&p->f, &ot, OP_OPTIONS_TYPE, 0, &opt_type, what);
	if (ret)
		return ret;
	if (opcode >= p->opcodes.len)
		return fail(&p->f, "%s: opcode index %u, but the model has %u operator codes",
			    what, opcode, p->opcodes.len);
	ret = fb_vec_table(&p->f, &p->opcodes, opcode, &ct, what);
	if (!ret)
		ret = fb_u8(&p->f, &ct, OPC_DEPRECATED_CODE, 0, &dep, what);
	if (!ret)
		ret = fb_i32(&p->f, &ct, OPC_BUILTIN_CODE, 0, &code, what);
	if (!ret)
		ret = fb_string(&p->f, &ct, OPC_CUSTOM_CODE, &custom, &custom_len, what);
	if (ret)
		return ret;
	/* Schema 3a: the real code is the larger of the two fields. */
	op->builtin = code > (int8_t)dep ? code : (int8_t)dep;
	if (custom) {
		op->custom_code = arr_strdup(p->m, custom, custom_len);
		if (!op->custom_code)
			return NOMEM(p);
	}
	if (in.len > TB_TFLITE_MAX_OP_IO || out.len > TB_TFLITE_MAX_OP_IO)
		return tb_error_set(p->f.err, TB_ERR_UNSUPPORTED,
				    "%s: %u inputs and %u outputs (at most %d each supported)",
				    what, in.len, out.len, TB_TFLITE_MAX_OP_IO);
	op->n_inputs = (uint8_t)in.len;
	op->n_outputs = (uint8_t)out.len;
	for (uint32_t k = 0; k < TB_TFLITE_MAX_OP_IO; k++) {
		op->inputs[k] = k < in.len ? (int32_t)rd32(p->f.b + in.start + 4ull * k) : -1;
		op->outputs[k] = k < out.len ? (int32_t)rd32(p->f.b + out.start + 4ull * k) : -1;
		if (op->inputs[k] < -1 || op->inputs[k] >= (int32_t)p->m->n_tensors ||
		    op->outputs[k] < -1 || op->outputs[k] >= (int32_t)p->m->n_tensors ||
		    (k < out.len && op->outputs[k] < 0))
			return fail(&p->f, "%s: tensor index out of range (the subgraph has %u tensors)",
				    what, p->m->n_tensors);
	}
	op->opt.options_type = opt_type;
	op->opt.dilation_w = op->opt.dilation_h = 1;
	ret = fb_subtable(&p->f, &ot, OP_OPTIONS, &opt_t, &has_opt, what);
	if (!ret && has_opt)
		ret = read_options(p, &opt_t, opt_type, &op->opt, what);
	return ret;
}

static int read_subgraph(struct parse *p, const struct fb_table *sg)
{
	struct tb_tflite_model *m = p->m;
	struct fb_vec tv, ov;
	int ret;

	ret = fb_vector(&p->f, sg, SG_TENSORS, 4, &tv, "subgraph 0 tensors");
	if (!ret)
		ret = fb_vector(&p->f, sg, SG_OPERATORS, 4, &ov, "subgraph 0 operators");
	if (ret)
		return ret;
	if (tv.len > MAX_TENSORS || ov.len > MAX_OPS)
		return tb_error_set(p->f.err, TB_ERR_UNSUPPORTED,
				    "subgraph 0 has %u tensors and %u operators (too many)",
				    tv.len, ov.len);
	m->n_tensors = tv.len;
	m->n_ops = ov.len;
	m->tensors = arr_alloc(m, tv.len, sizeof(*m->tensors));
	m->ops = arr_alloc(m, ov.len, sizeof(*m->ops));
	if (!m->tensors || !m->ops)
		return NOMEM(p);
	for (uint32_t i = 0; !ret && i < tv.len; i++)
		ret = read_tensor(p, &tv, i);
	for (uint32_t i = 0; !ret && i < ov.len; i++)
		ret = read_op(p, &ov, i);
	if (!ret)
		ret = read_i32_vec(p, sg, SG_INPUTS, &m->inputs, &m->n_inputs, "subgraph 0 inputs");
	if (!ret)
		ret = read_i32_vec(p, sg, SG_OUTPUTS, &m->outputs, &m->n_outputs,
				   "subgraph 0 outputs");
	if (ret)
		return ret;
	for (uint32_t i = 0; i < m->n_inputs; i++)
		if (m->inputs[i] < 0 || (uint32_t)m->inputs[i] >= m->n_tensors)
			return fail(&p->f, "graph input %u is tensor %d of %u", i,
				    m->inputs[i], m->n_tensors);
	for (uint32_t i = 0; i < m->n_outputs; i++)
		if (m->outputs[i] < 0 || (uint32_t)m->outputs[i] >= m->n_tensors)
			return fail(&p->f, "graph output %u is tensor %d of %u", i,
				    m->outputs[i], m->n_tensors);
	return TB_OK;
}

int tb_tflite_parse(const void *buf, size_t len, struct tb_tflite_model **out,
		    struct tb_error *err)
{
	struct parse p = { .f = { .err = err } };
	struct fb_table root, sg;
	struct fb_vec subgraphs;
	const char *desc;
	uint32_t desc_len;
	uint64_t root_pos;
	int ret;

	if (!out || (!buf && len))
		return tb_error_set(err, TB_ERR_ARG, "tb_tflite_parse: bad arguments");
	*out = NULL;
	if (len < 8)
		return tb_error_set(err, TB_ERR_FORMAT,
				    "malformed .tflite: %zu bytes is too short for a flatbuffer", len);
	p.m = calloc(1, sizeof(*p.m));
	if (p.m)
		p.m->arrays = calloc(1, sizeof(struct arrays));
	if (p.m && p.m->arrays)
		p.m->file = malloc(len);
	if (!p.m || !p.m->arrays || !p.m->file) {
		tb_tflite_free(p.m);
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory reading the .tflite file");
	}
	memcpy(p.m->file, buf, len);
	p.m->file_len = len;
	p.f.b = p.m->file;
	p.f.n = len;

	if (memcmp(p.f.b + 4, "TFL3", 4)) {
		ret = tb_error_set(err, TB_ERR_FORMAT,
				   "not a .tflite file: no TFL3 file identifier at offset 4");
		goto out_fail;
	}
	root_pos = rd32(p.f.b);
	ret = fb_table(&p.f, root_pos, &root, "model");
	if (!ret)
		ret = fb_i32(&p.f, &root, MODEL_VERSION, 0, (int32_t *)&p.m->version, "model");
	if (!ret)
		ret = fb_vector(&p.f, &root, MODEL_OPCODES, 4, &p.opcodes, "operator codes");
	if (!ret)
		ret = fb_vector(&p.f, &root, MODEL_BUFFERS, 4, &p.buffers, "buffers");
	if (!ret)
		ret = fb_vector(&p.f, &root, MODEL_SUBGRAPHS, 4, &subgraphs, "subgraphs");
	if (!ret)
		ret = fb_string(&p.f, &root, MODEL_DESCRIPTION, &desc, &desc_len, "description");
	if (ret)
		goto out_fail;
	p.m->description = arr_strdup(p.m, desc ? desc : "", desc_len);
	if (!p.m->description) {
		ret = NOMEM(&p);
		goto out_fail;
	}
	if (p.m->version != 3) {
		ret = tb_error_set(err, TB_ERR_UNSUPPORTED,
				   ".tflite schema version %u (only 3 is supported)", p.m->version);
		goto out_fail;
	}
	p.m->n_subgraphs = subgraphs.len;
	if (subgraphs.len == 0) {
		ret = fail(&p.f, "the model has no subgraph");
		goto out_fail;
	}
	ret = fb_vec_table(&p.f, &subgraphs, 0, &sg, "subgraph 0");
	if (!ret)
		ret = read_subgraph(&p, &sg);
	if (ret)
		goto out_fail;
	*out = p.m;
	return TB_OK;

out_fail:
	tb_tflite_free(p.m);
	return ret;
}

int tb_tflite_parse_file(const char *path, struct tb_tflite_model **out,
			 struct tb_error *err)
{
	struct stat st;
	uint8_t *buf;
	FILE *f;
	size_t n;
	int ret;

	if (!path || !out)
		return tb_error_set(err, TB_ERR_ARG, "tb_tflite_parse_file: bad arguments");
	*out = NULL;
	f = fopen(path, "rb");
	if (!f)
		return tb_error_set(err, errno == ENOENT ? TB_ERR_NOTFOUND : TB_ERR_IO,
				    "model file '%s': %s", path, strerror(errno));
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (1LL << 31)) {
		fclose(f);
		return tb_error_set(err, TB_ERR_FORMAT,
				    "model file '%s' is not a regular file under 2 GB", path);
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		fclose(f);
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory reading '%s'", path);
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	if (n != (size_t)st.st_size) {
		free(buf);
		return tb_error_set(err, TB_ERR_IO, "model file '%s': short read", path);
	}
	ret = tb_tflite_parse(buf, n, out, err);
	free(buf);
	if (ret)
		tb_error_prefix(err, "%s: ", path);
	return ret;
}
