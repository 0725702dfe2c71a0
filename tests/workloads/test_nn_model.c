/*
 * test_nn_model.c - the model blob: builder -> interpreter round trip
 * (checked against the kernels called directly), and validation of
 * corrupted, truncated and hand-broken blobs.
 *
 * Blobs, inputs, outputs and arenas are copied into malloc()ed buffers of
 * exactly the needed size, so that running this suite under valgrind or
 * AddressSanitizer turns any out-of-bounds access into a failure.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "tb_nn.h"
#include "tb_nn_builder.h"
#include "tb_nn_model.h"
#include "tb_nn_test_ref.h"

/* ---- a small model using every operator ----------------------------- */

/*
 * input [1,6,5,3] -> conv 3x3 SAME 3->4 ReLU -> depthwise 3x3/2 SAME ->
 * avgpool 3x3 VALID -> reshape [1,4] -> fc 4->5 -> softmax [1,5]
 */
struct small {
	int8_t conv_w[4 * 3 * 3 * 3], dw_w[3 * 3 * 4], fc_w[5 * 4];
	int32_t conv_b[4], dw_b[4], fc_b[5];
	int32_t conv_m[4], conv_s[4], dw_m[4], dw_s[4], fc_m, fc_s;
	struct tb_nn_softmax_params sm;
	int32_t zp_in, zp_conv, zp_dw, zp_fc;
};

static void small_init(struct small *s, uint64_t seed)
{
	struct ref_rng r;
	int i;

	ref_seed(&r, seed);
	for (i = 0; i < (int)sizeof(s->conv_w); i++)
		s->conv_w[i] = (int8_t)ref_range(&r, -127, 127);
	for (i = 0; i < (int)sizeof(s->dw_w); i++)
		s->dw_w[i] = (int8_t)ref_range(&r, -127, 127);
	for (i = 0; i < (int)sizeof(s->fc_w); i++)
		s->fc_w[i] = (int8_t)ref_range(&r, -127, 127);
	for (i = 0; i < 4; i++) {
		s->conv_b[i] = ref_range(&r, -3000, 3000);
		s->dw_b[i] = ref_range(&r, -3000, 3000);
		tb_nn_quantize_multiplier(0.0008 * (1 + i), &s->conv_m[i], &s->conv_s[i]);
		tb_nn_quantize_multiplier(0.002 * (1 + i), &s->dw_m[i], &s->dw_s[i]);
	}
	for (i = 0; i < 5; i++)
		s->fc_b[i] = ref_range(&r, -3000, 3000);
	tb_nn_quantize_multiplier(0.004, &s->fc_m, &s->fc_s);
	tb_nn_softmax_prepare(1.0, 0.1, &s->sm);
	s->zp_in = -5;
	s->zp_conv = -128;
	s->zp_dw = 7;
	s->zp_fc = 3;
}

static int act(struct tb_nn_builder *b, uint8_t rank, uint32_t d0, uint32_t d1,
	       uint32_t d2, uint32_t d3, float scale, int32_t zp)
{
	const struct tb_nn_tensor_desc d = {
		.dtype = TB_NN_DTYPE_INT8, .rank = rank, .dims = { d0, d1, d2, d3 },
		.scale = scale, .zero_point = zp,
	};

	return tb_nn_builder_add_tensor(b, &d, NULL);
}

static int cst(struct tb_nn_builder *b, uint8_t dtype, uint8_t rank, uint32_t d0,
	       uint32_t d1, uint32_t d2, uint32_t d3, const void *data)
{
	const struct tb_nn_tensor_desc d = {
		.dtype = dtype, .rank = rank, .dims = { d0, d1, d2, d3 }, .scale = 0.01f,
	};

	return tb_nn_builder_add_tensor(b, &d, data);
}

static void small_blob(const struct small *s, uint8_t **blob, size_t *size)
{
	struct tb_nn_builder *b;
	const struct tb_nn_conv_params cp = {
		.stride = { 1, 1 }, .padding = { 1, 1 }, .dilation = { 1, 1 },
		.activation = { s->zp_conv, 127 },
	};
	const struct tb_nn_dw_conv_params dp = {
		.ch_mult = 1, .stride = { 2, 2 }, .padding = { .w = 1, .h = 0 },
		.dilation = { 1, 1 }, .activation = { -128, 127 },
	};
	const struct tb_nn_pool_params pp = { .stride = { 1, 1 }, .activation = { -100, 100 } };
	const struct tb_nn_activation fa = { -128, 127 };
	int in, cw, cb, c, dw, db, d, p, rs, fw, fb, f, sm;

	cr_assert_eq(tb_nn_builder_new(&b), TB_NN_OK);
	in = act(b, 4, 1, 6, 5, 3, 0.1f, s->zp_in);
	cw = cst(b, TB_NN_DTYPE_INT8, 4, 4, 3, 3, 3, s->conv_w);
	cb = cst(b, TB_NN_DTYPE_INT32, 1, 4, 1, 1, 1, s->conv_b);
	c = act(b, 4, 1, 6, 5, 4, 0.05f, s->zp_conv);
	dw = cst(b, TB_NN_DTYPE_INT8, 4, 1, 3, 3, 4, s->dw_w);
	db = cst(b, TB_NN_DTYPE_INT32, 1, 4, 1, 1, 1, s->dw_b);
	d = act(b, 4, 1, 3, 3, 4, 0.2f, s->zp_dw);
	p = act(b, 4, 1, 1, 1, 4, 0.2f, s->zp_dw);
	rs = act(b, 2, 1, 4, 1, 1, 0.2f, s->zp_dw);
	fw = cst(b, TB_NN_DTYPE_INT8, 2, 5, 4, 1, 1, s->fc_w);
	fb = cst(b, TB_NN_DTYPE_INT32, 1, 5, 1, 1, 1, s->fc_b);
	f = act(b, 2, 1, 5, 1, 1, 0.1f, s->zp_fc);
	sm = act(b, 2, 1, 5, 1, 1, 1.0f / 256.0f, -128);
	cr_assert(in >= 0 && cw >= 0 && cb >= 0 && c >= 0 && dw >= 0 && db >= 0 && d >= 0 &&
		  p >= 0 && rs >= 0 && fw >= 0 && fb >= 0 && f >= 0 && sm >= 0);
	cr_assert_eq(tb_nn_builder_add_conv2d(b, in, cw, cb, c, &cp, s->conv_m, s->conv_s), 0);
	cr_assert_eq(tb_nn_builder_add_depthwise_conv2d(b, c, dw, db, d, &dp, s->dw_m,
							s->dw_s), 0);
	cr_assert_eq(tb_nn_builder_add_average_pool2d(b, d, p, &pp, 3, 3), 0);
	cr_assert_eq(tb_nn_builder_add_reshape(b, p, rs), 0);
	cr_assert_eq(tb_nn_builder_add_fully_connected(b, rs, fw, fb, f, &fa, s->fc_m,
						       s->fc_s), 0);
	cr_assert_eq(tb_nn_builder_add_softmax(b, f, sm, &s->sm), 0);
	cr_assert_eq(tb_nn_builder_set_io(b, in, sm), 0);
	cr_assert_eq(tb_nn_builder_finish(b, blob, size), TB_NN_OK);
	tb_nn_builder_free(b);
}

/* The same network by calling the kernels one after the other. */
static void small_direct(const struct small *s, const int8_t *in, int8_t *out)
{
	const struct tb_nn_conv_params cp = {
		.input_offset = -s->zp_in, .output_offset = s->zp_conv,
		.stride = { 1, 1 }, .padding = { 1, 1 }, .dilation = { 1, 1 },
		.activation = { s->zp_conv, 127 },
	};
	const struct tb_nn_dw_conv_params dp = {
		.input_offset = -s->zp_conv, .output_offset = s->zp_dw, .ch_mult = 1,
		.stride = { 2, 2 }, .padding = { .w = 1, .h = 0 }, .dilation = { 1, 1 },
		.activation = { -128, 127 },
	};
	const struct tb_nn_pool_params pp = { .stride = { 1, 1 }, .activation = { -100, 100 } };
	const struct tb_nn_fc_params fp = {
		.input_offset = -s->zp_dw, .output_offset = s->zp_fc, .activation = { -128, 127 },
	};
	const struct tb_nn_per_channel_quant_params cq = { s->conv_m, s->conv_s };
	const struct tb_nn_per_channel_quant_params dq = { s->dw_m, s->dw_s };
	const struct tb_nn_per_tensor_quant_params fq = { s->fc_m, s->fc_s };
	int8_t c[6 * 5 * 4], d[3 * 3 * 4], p[4], f[5];

	cr_assert_eq(tb_nn_convolve_s8(NULL, &cp, &cq, &(struct tb_nn_dims){ 1, 6, 5, 3 }, in,
				       &(struct tb_nn_dims){ 4, 3, 3, 3 }, s->conv_w, s->conv_b,
				       &(struct tb_nn_dims){ 1, 6, 5, 4 }, c), 0);
	cr_assert_eq(tb_nn_depthwise_conv_s8(NULL, &dp, &dq, &(struct tb_nn_dims){ 1, 6, 5, 4 },
					     c, &(struct tb_nn_dims){ 1, 3, 3, 4 }, s->dw_w,
					     s->dw_b, &(struct tb_nn_dims){ 1, 3, 3, 4 }, d), 0);
	cr_assert_eq(tb_nn_avgpool_s8(NULL, &pp, &(struct tb_nn_dims){ 1, 3, 3, 4 }, d,
				      &(struct tb_nn_dims){ 1, 3, 3, 1 },
				      &(struct tb_nn_dims){ 1, 1, 1, 4 }, p), 0);
	cr_assert_eq(tb_nn_fully_connected_s8(NULL, &fp, &fq, &(struct tb_nn_dims){ 1, 1, 1, 4 },
					      p, &(struct tb_nn_dims){ 5, 1, 1, 4 }, s->fc_w,
					      s->fc_b, &(struct tb_nn_dims){ 1, 1, 1, 5 }, f), 0);
	cr_assert_eq(tb_nn_softmax_s8(f, 1, 5, &s->sm, out), 0);
}

/* Copy of blob in a buffer of exactly len bytes (malloc: 16-aligned). */
static uint8_t *exact_copy(const uint8_t *blob, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	cr_assert(p);
	memcpy(p, blob, len);
	return p;
}

/* init, and when it accepts, invoke with exactly sized buffers. */
static int try_blob(const uint8_t *blob, size_t len, int *invoked)
{
	struct tb_nn_model m;
	struct tb_nn_tensor_info ti, to;
	uint8_t *copy = exact_copy(blob, len);
	uint8_t *in, *out, *arena;
	uint32_t asz;
	int ret;

	ret = tb_nn_model_init(&m, copy, len);
	if (ret) {
		free(copy);
		return ret;
	}
	cr_assert_eq(tb_nn_model_tensor(&m, m.input, &ti), 0);
	cr_assert_eq(tb_nn_model_tensor(&m, m.output, &to), 0);
	asz = tb_nn_model_arena_size(&m);
	in = calloc(1, ti.size ? ti.size : 1);
	out = malloc(to.size ? to.size : 1);
	arena = malloc(asz ? asz : 8);
	cr_assert(in && out && arena);
	ret = tb_nn_model_invoke(&m, in, ti.size, out, to.size, arena, asz);
	if (invoked)
		(*invoked)++;
	free(in);
	free(out);
	free(arena);
	free(copy);
	return ret;
}

static uint32_t rd32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* ---- round trip ------------------------------------------------------ */

Test(nn_model, builder_and_interpreter_match_direct_kernel_calls)
{
	struct small s;
	struct ref_rng r;
	struct tb_nn_model m;
	uint8_t *blob;
	size_t size;
	int trial, k, spread = 0;

	small_init(&s, 1);
	small_blob(&s, &blob, &size);
	cr_assert_eq(tb_nn_model_init(&m, blob, size), TB_NN_OK);
	cr_assert_eq(m.num_ops, 6);
	cr_assert_eq(m.num_tensors, 13);
	ref_seed(&r, 2);
	for (trial = 0; trial < 50; trial++) {
		int8_t in[90], out[5] = { 0 }, expect[5];
		void *arena = malloc(tb_nn_model_arena_size(&m));

		for (k = 0; k < 90; k++)
			in[k] = (int8_t)ref_range(&r, -128, 127);
		memset(arena, trial, tb_nn_model_arena_size(&m));	/* garbage */
		small_direct(&s, in, expect);
		cr_assert_eq(tb_nn_model_invoke(&m, in, sizeof(in), out, sizeof(out), arena,
						tb_nn_model_arena_size(&m)), TB_NN_OK);
		cr_assert_arr_eq(out, expect, 5, "trial %d", trial);
		spread += expect[0] != expect[1];
		free(arena);
	}
	cr_assert_gt(spread, 10, "outputs should vary with the input");
	free(blob);
}

Test(nn_model, plan_and_accessors)
{
	struct small s;
	struct tb_nn_model m;
	struct tb_nn_tensor_info t;
	struct tb_nn_op_info op;
	uint8_t *blob;
	size_t size;

	small_init(&s, 3);
	small_blob(&s, &blob, &size);
	cr_assert_eq(tb_nn_model_init(&m, blob, size), TB_NN_OK);
	/* conv: 6*5*4 outputs * 27 taps; dw: 3*3*4 * 9; fc: 5 * 4 */
	cr_assert_eq(tb_nn_model_macs(&m), 6 * 5 * 4 * 27 + 3 * 3 * 4 * 9 + 5 * 4);
	/* largest live set: conv's input 90 (-> 96) + output 120 + the conv's
	 * im2col scratch (two columns of 27 int16, in groups of four: 112) */
	cr_assert_eq(m.version, TB_NN_MODEL_VERSION);
	cr_assert_eq(m.arena_size, 96 + 120 + 112);
	cr_assert_eq(tb_nn_model_arena_size(&m), 328);
	cr_assert_eq(tb_nn_model_live_peak(&m), 328);
	cr_assert_eq(tb_nn_model_max_op_footprint(&m), 90 + 120 + 112);
	cr_assert_eq(tb_nn_model_op(&m, 0, &op), 0);
	cr_assert_eq(op.scratch_size, 112);
	cr_assert_eq(op.scratch_offset % 8, 0);
	cr_assert_eq(tb_nn_model_op(&m, 1, &op), 0);
	cr_assert_eq(op.scratch_size, 0);
	cr_assert_eq(op.scratch_offset, 0);
	cr_assert_eq(tb_nn_model_tensor(&m, m.input, &t), 0);
	cr_assert_eq(t.size, 90);
	cr_assert_eq(t.zero_point, -5);
	cr_assert_eq(t.dims[1], 6);
	cr_assert_eq(tb_nn_model_op(&m, 3, &op), 0);
	cr_assert_eq(op.code, TB_NN_OP_RESHAPE);
	cr_assert_eq(tb_nn_model_op(&m, 6, &op), TB_NN_ERR_ARG);
	cr_assert_eq(tb_nn_model_tensor(&m, 13, &t), TB_NN_ERR_ARG);
	free(blob);
}

Test(nn_model, invoke_checks_its_buffers)
{
	struct small s;
	struct tb_nn_model m, zero = { 0 };
	uint8_t *blob, *arena;
	int8_t in[90] = { 0 }, out[5];
	size_t size;
	uint32_t asz;

	small_init(&s, 4);
	small_blob(&s, &blob, &size);
	cr_assert_eq(tb_nn_model_init(&m, blob, size), TB_NN_OK);
	asz = tb_nn_model_arena_size(&m);
	arena = malloc(asz + 8);
	cr_assert_eq(tb_nn_model_invoke(&m, in, 90, out, 5, arena, asz - 1), TB_NN_ERR_ARG);
	cr_assert_eq(tb_nn_model_invoke(&m, in, 89, out, 5, arena, asz), TB_NN_ERR_ARG);
	cr_assert_eq(tb_nn_model_invoke(&m, in, 90, out, 4, arena, asz), TB_NN_ERR_ARG);
	cr_assert_eq(tb_nn_model_invoke(&m, in, 90, out, 5, arena + 4, asz), TB_NN_ERR_ARG);
	cr_assert_eq(tb_nn_model_invoke(&m, NULL, 90, out, 5, arena, asz), TB_NN_ERR_ARG);
	cr_assert_eq(tb_nn_model_invoke(&zero, in, 90, out, 5, arena, asz), TB_NN_ERR_ARG);
	cr_assert_eq(tb_nn_model_invoke(&m, in, 90, out, 5, arena, asz), TB_NN_OK);
	free(arena);
	free(blob);
}

/* ---- validation ------------------------------------------------------ */

Test(nn_model, truncated_blobs_are_rejected)
{
	struct small s;
	uint8_t *blob;
	size_t size, len;

	small_init(&s, 5);
	small_blob(&s, &blob, &size);
	for (len = 0; len < size; len++) {
		uint8_t *copy;

		cr_assert_neq(try_blob(blob, len, NULL), TB_NN_OK, "length %zu accepted", len);
		/* also when the header is patched to claim the shorter size */
		if (len >= TB_NN_MODEL_HEADER_SIZE) {
			copy = exact_copy(blob, len);
			wr32(copy + TB_NN_HDR_TOTAL_SIZE, (uint32_t)(len & ~(size_t)7));
			cr_assert_neq(try_blob(copy, len, NULL), TB_NN_OK,
				      "length %zu with patched total accepted", len);
			free(copy);
		}
	}
	cr_assert_eq(try_blob(blob, size, NULL), TB_NN_OK);
	free(blob);
}

Test(nn_model, every_single_byte_corruption_is_safe)
{
	struct small s;
	uint8_t *blob;
	size_t size, pos;
	int rejected = 0, invoked = 0, x;
	static const uint8_t flips[] = { 0x01, 0x02, 0x10, 0x80, 0xFF };

	small_init(&s, 6);
	small_blob(&s, &blob, &size);
	/* every byte of header, tables and params; data bytes are weights */
	for (pos = 0; pos < rd32(blob + TB_NN_HDR_DATA_OFFSET); pos++) {
		for (x = 0; x < (int)sizeof(flips); x++) {
			blob[pos] ^= flips[x];
			rejected += try_blob(blob, size, &invoked) != TB_NN_OK;
			blob[pos] ^= flips[x];
		}
	}
	cr_log_info("%d rejected, %d invoked", rejected, invoked);
	cr_assert_gt(rejected, invoked, "most structural corruption must be detected");
	/* the header has no slack: every flip of its first 52 bytes but the
	 * arena size (which may grow) is caught */
	for (pos = 0; pos < TB_NN_HDR_RESERVED; pos++) {
		if (pos >= TB_NN_HDR_ARENA_SIZE && pos < TB_NN_HDR_ARENA_SIZE + 4)
			continue;
		blob[pos] ^= 0x80;
		cr_assert_neq(try_blob(blob, size, NULL), TB_NN_OK, "header byte %zu", pos);
		blob[pos] ^= 0x80;
	}
	free(blob);
}

Test(nn_model, random_multi_byte_corruption_is_safe)
{
	struct small s;
	struct ref_rng r;
	uint8_t *blob, *copy;
	size_t size;
	int trial, k, rejected = 0, invoked = 0;

	small_init(&s, 7);
	small_blob(&s, &blob, &size);
	ref_seed(&r, 8);
	for (trial = 0; trial < 3000; trial++) {
		copy = exact_copy(blob, size);
		for (k = ref_range(&r, 1, 6); k > 0; k--)
			copy[ref_range(&r, 0, (int32_t)size - 1)] = (uint8_t)ref_rand(&r);
		rejected += try_blob(copy, size, &invoked) != TB_NN_OK;
		free(copy);
	}
	/* weights are a good part of the blob: many corruptions run, the
	 * rest are caught; none may crash or touch memory it should not */
	cr_log_info("%d rejected, %d invoked", rejected, invoked);
	cr_assert_gt(rejected, 0);
	cr_assert_gt(invoked, 0);
	free(blob);
}

/* Byte address of field f of tensor t / op o in blob b. */
static uint8_t *tensor_field(uint8_t *b, int t, int f)
{
	return b + rd32(b + TB_NN_HDR_TENSORS_OFFSET) + t * TB_NN_MODEL_TENSOR_SIZE + f;
}

static uint8_t *op_field(uint8_t *b, int o, int f)
{
	return b + rd32(b + TB_NN_HDR_OPS_OFFSET) + o * TB_NN_MODEL_OP_SIZE + f;
}

static int32_t *param(uint8_t *b, int o, int word)
{
	return (int32_t *)(void *)(b + rd32(b + TB_NN_HDR_PARAMS_OFFSET) +
				   rd32(op_field(b, o, TB_NN_OPR_PARAMS_OFFSET)) + 4 * word);
}

/* Apply a patch to a fresh copy and expect init to fail with want. */
static void expect_reject(const uint8_t *blob, size_t size, void (*patch)(uint8_t *),
			  int want, const char *what)
{
	uint8_t *copy = exact_copy(blob, size);
	struct tb_nn_model m;

	patch(copy);
	cr_assert_eq(tb_nn_model_init(&m, copy, size), want, "%s", what);
	cr_assert_null(m.blob, "%s: model not reset", what);
	free(copy);
}

/* Tensor 0 is the input (arena), 1 the conv filter (const), 3 the conv
 * output; op 0 is the conv, op 3 the reshape. */
static void p_arena_offset(uint8_t *b)
{
	wr32(tensor_field(b, 3, TB_NN_TEN_OFFSET), rd32(b + TB_NN_HDR_ARENA_SIZE));
}
static void p_const_offset(uint8_t *b)
{
	wr32(tensor_field(b, 1, TB_NN_TEN_OFFSET), rd32(b + TB_NN_HDR_DATA_SIZE) - 8);
}
static void p_op_index(uint8_t *b)
{
	wr16(op_field(b, 0, TB_NN_OPR_INPUTS + 2), rd16(b + TB_NN_HDR_NUM_TENSORS));
}
static void p_params_offset(uint8_t *b)
{
	wr32(op_field(b, 0, TB_NN_OPR_PARAMS_OFFSET), rd32(b + TB_NN_HDR_PARAMS_SIZE));
}
static void p_data_size(uint8_t *b)
{
	wr32(b + TB_NN_HDR_DATA_SIZE, rd32(b + TB_NN_HDR_DATA_SIZE) + 8);
}
static void p_tensors_in_header(uint8_t *b)
{
	wr32(b + TB_NN_HDR_TENSORS_OFFSET, 8);
}
static void p_ops_misaligned(uint8_t *b)
{
	wr32(b + TB_NN_HDR_OPS_OFFSET, rd32(b + TB_NN_HDR_OPS_OFFSET) + 4);
}
static void p_op_code_unknown(uint8_t *b)
{
	wr16(op_field(b, 1, TB_NN_OPR_CODE), 99);
}
static void p_op_code_zero(uint8_t *b)
{
	wr16(op_field(b, 1, TB_NN_OPR_CODE), 0);
}
static void p_version(uint8_t *b)
{
	wr16(b + TB_NN_HDR_VERSION, TB_NN_MODEL_VERSION + 1);
}
static void p_version0(uint8_t *b)
{
	wr16(b + TB_NN_HDR_VERSION, 0);
}
/* Op 0 (the conv) has kernel scratch; op 1 (depthwise) has none. */
static void p_scratch_past_arena(uint8_t *b)
{
	wr32(op_field(b, 0, TB_NN_OPR_SCRATCH_OFFSET), rd32(b + TB_NN_HDR_ARENA_SIZE) -
	     (rd32(op_field(b, 0, TB_NN_OPR_SCRATCH_SIZE)) & ~7u) + 8);
}
static void p_scratch_misaligned(uint8_t *b)
{
	wr32(op_field(b, 0, TB_NN_OPR_SCRATCH_OFFSET),
	     rd32(op_field(b, 0, TB_NN_OPR_SCRATCH_OFFSET)) + 4);
	wr32(op_field(b, 0, TB_NN_OPR_SCRATCH_SIZE), 8);
}
static void p_scratch_on_input(uint8_t *b)
{
	wr32(op_field(b, 0, TB_NN_OPR_SCRATCH_OFFSET), rd32(tensor_field(b, 0, TB_NN_TEN_OFFSET)) & ~7u);
}
static void p_scratch_on_output(uint8_t *b)
{
	wr32(op_field(b, 0, TB_NN_OPR_SCRATCH_OFFSET), rd32(tensor_field(b, 3, TB_NN_TEN_OFFSET)) & ~7u);
}
static void p_scratch_offset_without_size(uint8_t *b)
{
	wr32(op_field(b, 1, TB_NN_OPR_SCRATCH_OFFSET), 8);
}
static void p_scratch_in_version1(uint8_t *b)
{
	wr16(b + TB_NN_HDR_VERSION, 1);	/* op 0 keeps its scratch: reserved bytes in v1 */
}
static void p_flags(uint8_t *b)
{
	wr32(b + TB_NN_HDR_FLAGS, 1);
}
static void p_mult_offset(uint8_t *b)
{
	*param(b, 0, TB_NN_CONV_MULT_OFFSET) = (int32_t)rd32(b + TB_NN_HDR_DATA_SIZE);
}
static void p_shift_value(uint8_t *b)
{
	uint8_t *data = b + rd32(b + TB_NN_HDR_DATA_OFFSET);

	wr32(data + *param(b, 0, TB_NN_CONV_SHIFT_OFFSET) + 4, 31);
}
static void p_output_const(uint8_t *b)
{
	wr16(op_field(b, 0, TB_NN_OPR_OUTPUTS), 1);
}
static void p_alias(uint8_t *b)
{
	/* conv input moved on top of its output (both stay inside the arena) */
	wr32(tensor_field(b, 0, TB_NN_TEN_OFFSET), rd32(tensor_field(b, 3, TB_NN_TEN_OFFSET)));
}
static void p_conv_channels(uint8_t *b)
{
	wr32(tensor_field(b, 1, TB_NN_TEN_DIMS), 5);	/* filter out_ch 5 != 4 */
	wr32(tensor_field(b, 1, TB_NN_TEN_SIZE), 5 * 27);
}
static void p_stride_zero(uint8_t *b)
{
	*param(b, 0, TB_NN_CONV_STRIDE_W) = 0;
}
static void p_padding_huge(uint8_t *b)
{
	*param(b, 0, TB_NN_CONV_PAD_H) = 3;	/* >= kernel height */
}
static void p_act_range(uint8_t *b)
{
	*param(b, 0, TB_NN_CONV_ACT_MAX) = 128;
}
static void p_params_size(uint8_t *b)
{
	wr32(op_field(b, 0, TB_NN_OPR_PARAMS_SIZE), 4 * TB_NN_CONV_NUM_PARAMS - 4);
}
static void p_softmax_out_zp(uint8_t *b)
{
	wr32(tensor_field(b, 12, TB_NN_TEN_ZERO_POINT), (uint32_t)-127);
}
static void p_rank(uint8_t *b)
{
	*tensor_field(b, 2, TB_NN_TEN_RANK) = 5;
}
static void p_dtype(uint8_t *b)
{
	*tensor_field(b, 2, TB_NN_TEN_DTYPE) = 9;
}
static void p_size_mismatch(uint8_t *b)
{
	wr32(tensor_field(b, 0, TB_NN_TEN_SIZE), 91);
}
static void p_unused_dim(uint8_t *b)
{
	wr32(tensor_field(b, 2, TB_NN_TEN_DIMS + 4), 2);	/* rank 1, dims[1] != 1 */
}
static void p_reserved(uint8_t *b)
{
	b[TB_NN_HDR_RESERVED + 3] = 1;
}
static void p_input_index(uint8_t *b)
{
	wr16(b + TB_NN_HDR_INPUT, 1);	/* a const tensor as graph input */
}
static void p_magic(uint8_t *b)
{
	b[0] = 'X';
}
static void p_pool_window(uint8_t *b)
{
	*param(b, 2, TB_NN_POOL_PAD_H) = 3;	/* padding >= window: empty windows */
}

Test(nn_model, hand_broken_blobs_are_rejected)
{
	static const struct {
		void (*patch)(uint8_t *);
		int want;
		const char *what;
	} cases[] = {
		{ p_arena_offset, TB_NN_ERR_FORMAT, "activation past the arena" },
		{ p_const_offset, TB_NN_ERR_FORMAT, "constant past the data section" },
		{ p_op_index, TB_NN_ERR_FORMAT, "op input index out of range" },
		{ p_params_offset, TB_NN_ERR_FORMAT, "op params past the section" },
		{ p_params_size, TB_NN_ERR_FORMAT, "op params of the wrong size" },
		{ p_data_size, TB_NN_ERR_FORMAT, "data section past the end" },
		{ p_tensors_in_header, TB_NN_ERR_FORMAT, "tensor table inside the header" },
		{ p_ops_misaligned, TB_NN_ERR_FORMAT, "misaligned op table" },
		{ p_op_code_unknown, TB_NN_ERR_FORMAT, "unknown op code" },
		{ p_op_code_zero, TB_NN_ERR_FORMAT, "op code 0" },
		{ p_version, TB_NN_ERR_UNSUPPORTED, "version 3" },
		{ p_version0, TB_NN_ERR_UNSUPPORTED, "version 0" },
		{ p_scratch_past_arena, TB_NN_ERR_FORMAT, "scratch past the arena" },
		{ p_scratch_misaligned, TB_NN_ERR_FORMAT, "scratch not 8-aligned" },
		{ p_scratch_on_input, TB_NN_ERR_FORMAT, "scratch over the op's input" },
		{ p_scratch_on_output, TB_NN_ERR_FORMAT, "scratch over the op's output" },
		{ p_scratch_offset_without_size, TB_NN_ERR_FORMAT, "scratch offset, size 0" },
		{ p_scratch_in_version1, TB_NN_ERR_FORMAT, "scratch in a version 1 blob" },
		{ p_flags, TB_NN_ERR_UNSUPPORTED, "unknown header flag" },
		{ p_mult_offset, TB_NN_ERR_FORMAT, "multipliers past the data section" },
		{ p_shift_value, TB_NN_ERR_FORMAT, "shift 31" },
		{ p_output_const, TB_NN_ERR_FORMAT, "op writing a constant" },
		{ p_alias, TB_NN_ERR_FORMAT, "output aliasing input" },
		{ p_conv_channels, TB_NN_ERR_FORMAT, "filter/output channel mismatch" },
		{ p_stride_zero, TB_NN_ERR_FORMAT, "stride 0" },
		{ p_padding_huge, TB_NN_ERR_FORMAT, "padding >= kernel" },
		{ p_act_range, TB_NN_ERR_FORMAT, "activation max 128" },
		{ p_softmax_out_zp, TB_NN_ERR_FORMAT, "softmax output zero point" },
		{ p_rank, TB_NN_ERR_FORMAT, "rank 5" },
		{ p_dtype, TB_NN_ERR_FORMAT, "dtype 9" },
		{ p_size_mismatch, TB_NN_ERR_FORMAT, "size != dims" },
		{ p_unused_dim, TB_NN_ERR_FORMAT, "unused dimension not 1" },
		{ p_reserved, TB_NN_ERR_FORMAT, "reserved header byte" },
		{ p_input_index, TB_NN_ERR_FORMAT, "const graph input" },
		{ p_magic, TB_NN_ERR_FORMAT, "magic" },
		{ p_pool_window, TB_NN_ERR_FORMAT, "pool window in padding" },
	};
	struct small s;
	uint8_t *blob;
	size_t size, i;

	small_init(&s, 9);
	small_blob(&s, &blob, &size);
	cr_assert_eq(try_blob(blob, size, NULL), TB_NN_OK, "pristine blob");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_reject(blob, size, cases[i].patch, cases[i].want, cases[i].what);
	free(blob);
}

/* A version 1 blob (no scratch: the bytes were reserved) still loads and
 * gives the same outputs, the kernels taking their paths without scratch. */
Test(nn_model, version1_blob_runs_without_scratch)
{
	struct small s;
	struct tb_nn_model m1, m2;
	uint8_t *blob, *v1, *a1, *a2;
	int8_t in[90], out1[5], out2[5];
	size_t size;
	uint32_t i;
	struct ref_rng r;

	small_init(&s, 11);
	small_blob(&s, &blob, &size);
	v1 = exact_copy(blob, size);
	wr16(v1 + TB_NN_HDR_VERSION, 1);
	for (i = 0; i < rd16(v1 + TB_NN_HDR_NUM_OPS); i++) {
		wr32(op_field(v1, (int)i, TB_NN_OPR_SCRATCH_OFFSET), 0);
		wr32(op_field(v1, (int)i, TB_NN_OPR_SCRATCH_SIZE), 0);
	}
	cr_assert_eq(tb_nn_model_init(&m1, v1, size), TB_NN_OK);
	cr_assert_eq(tb_nn_model_init(&m2, blob, size), TB_NN_OK);
	cr_assert_eq(m1.version, 1);
	a1 = malloc(tb_nn_model_arena_size(&m1));
	a2 = malloc(tb_nn_model_arena_size(&m2));
	cr_assert(a1 && a2);
	ref_seed(&r, 77);
	for (int trial = 0; trial < 20; trial++) {
		for (i = 0; i < sizeof(in); i++)
			in[i] = (int8_t)ref_range(&r, -128, 127);
		cr_assert_eq(tb_nn_model_invoke(&m1, in, sizeof(in), out1, sizeof(out1), a1,
						tb_nn_model_arena_size(&m1)), TB_NN_OK);
		cr_assert_eq(tb_nn_model_invoke(&m2, in, sizeof(in), out2, sizeof(out2), a2,
						tb_nn_model_arena_size(&m2)), TB_NN_OK);
		cr_assert_arr_eq(out1, out2, sizeof(out1), "trial %d", trial);
	}
	free(a1);
	free(a2);
	free(v1);
	free(blob);
}

Test(nn_model, init_checks_its_arguments)
{
	struct small s;
	struct tb_nn_model m;
	uint8_t *blob, *shifted;
	size_t size;

	small_init(&s, 10);
	small_blob(&s, &blob, &size);
	cr_assert_eq(tb_nn_model_init(NULL, blob, size), TB_NN_ERR_ARG);
	cr_assert_eq(tb_nn_model_init(&m, NULL, size), TB_NN_ERR_ARG);
	shifted = malloc(size + 8);
	memcpy(shifted + 4, blob, size);
	cr_assert_eq(tb_nn_model_init(&m, shifted + 4, size), TB_NN_ERR_ARG, "misaligned");
	cr_assert_eq(tb_nn_model_arena_size(&m), 0);
	/* trailing bytes after the blob are allowed (files may be padded) */
	memcpy(shifted, blob, size);
	cr_assert_eq(tb_nn_model_init(&m, shifted, size + 8), TB_NN_OK);
	free(shifted);
	free(blob);
}

Test(nn_model, builder_rejects_incomplete_graphs)
{
	struct tb_nn_builder *b;
	uint8_t *blob = NULL;
	size_t size;
	int in, out, spare;

	cr_assert_eq(tb_nn_builder_new(&b), TB_NN_OK);
	in = act(b, 2, 1, 4, 1, 1, 0.1f, 0);
	out = act(b, 2, 1, 4, 1, 1, 0.1f, 0);
	cr_assert_eq(tb_nn_builder_finish(b, &blob, &size), TB_NN_ERR_ARG, "no ops, no io");
	cr_assert_eq(tb_nn_builder_add_reshape(b, in, out), TB_NN_OK);
	cr_assert_eq(tb_nn_builder_finish(b, &blob, &size), TB_NN_ERR_ARG, "no io");
	spare = act(b, 1, 7, 1, 1, 1, 0.1f, 0);
	cr_assert_eq(tb_nn_builder_set_io(b, in, out), TB_NN_OK);
	cr_assert_eq(tb_nn_builder_finish(b, &blob, &size), TB_NN_ERR_ARG, "unused tensor %d",
		     spare);
	cr_assert_eq(tb_nn_builder_add_op(b, TB_NN_OP_RESHAPE, &in, 1, 99, NULL, 0),
		     TB_NN_ERR_ARG, "output index out of range");
	tb_nn_builder_free(b);
	tb_nn_builder_free(NULL);
}

Test(nn_model, reshape_in_place_and_copy)
{
	struct tb_nn_builder *b;
	struct tb_nn_model m;
	uint8_t *blob;
	size_t size;
	int8_t in[6] = { 1, -2, 3, -4, 5, -6 }, out[6];
	uint64_t arena[4];
	int t0, t1, t2;

	cr_assert_eq(tb_nn_builder_new(&b), TB_NN_OK);
	t0 = act(b, 2, 2, 3, 1, 1, 0.1f, 0);
	t1 = act(b, 2, 3, 2, 1, 1, 0.1f, 0);
	t2 = act(b, 1, 6, 1, 1, 1, 0.1f, 0);
	cr_assert_eq(tb_nn_builder_add_reshape(b, t0, t1), 0);
	cr_assert_eq(tb_nn_builder_add_reshape(b, t1, t2), 0);
	cr_assert_eq(tb_nn_builder_set_io(b, t0, t2), 0);
	cr_assert_eq(tb_nn_builder_finish(b, &blob, &size), 0);
	tb_nn_builder_free(b);
	cr_assert_eq(tb_nn_model_init(&m, blob, size), TB_NN_OK);
	cr_assert_eq(tb_nn_model_invoke(&m, in, 6, out, 6, arena, sizeof(arena)), TB_NN_OK);
	cr_assert_arr_eq(out, in, 6);
	free(blob);
}
