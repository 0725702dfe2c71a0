/*
 * test_tflite.c - the .tflite importer on the official MLPerf Tiny models
 * (../shared/mlperf-tiny, skipped with a message when absent): every file
 * parses and imports, parameter and MAC counts are the reference ones,
 * one inference runs, the KWS goldens come out byte for byte, the hybrid
 * float KWS model is handled and reported, the built-in workloads have
 * the official layer shapes, and unsupported operators and types are
 * reported by name and operator index.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tb_nn_model.h"
#include "tb_nn_ref_f32.h"
#include "tb_shared.h"
#include "tb_tflite.h"
#include "tb_workload.h"
#include "tb_workload_net.h"
#include "tb_workload_kws01_float.h"

struct official {
	const char *file;
	int int8;
	uint64_t params;	/* exact counts; the reference doc rounds them */
	uint64_t macs;
};

static const struct official models[] = {
	{ "kws_ref_model.tflite", 1, 22604, 2656768 },
	{ "kws_ref_model_float32.tflite", 0, 22604, 2656768 },
	{ "vww_96_int8.tflite", 1, 210850, 7489664 },
	{ "vww_96_float.tflite", 0, 210850, 7489664 },
	{ "ad01_int8.tflite", 1, 265864, 264192 },
	{ "ad01_fp32.tflite", 0, 265864, 264192 },
	{ "pretrainedResnet_quant.tflite", 1, 77706, 12501632 },
	{ "pretrainedResnet.tflite", 0, 77706, 12501632 },
};

/* Import a shared model into an 8-aligned blob; skips if absent. */
static uint8_t *import(const char *file, size_t *size, struct tb_tflite_report *rep)
{
	char rel[256], path[4096];
	struct tb_error err = { 0 };
	uint8_t *blob, *aligned;

	snprintf(rel, sizeof(rel), "mlperf-tiny/models/%s", file);
	if (!tb_shared_path(rel, path, sizeof(path)))
		cr_skip_test(TB_SHARED_SKIP_MSG);
	cr_assert_eq(tb_tflite_import_file(path, &blob, size, rep, &err), 0, "%s: %s",
		     file, err.msg);
	aligned = aligned_alloc(8, (*size + 7) & ~(size_t)7);
	cr_assert(aligned);
	memcpy(aligned, blob, *size);
	free(blob);
	return aligned;
}

Test(tflite, all_eight_official_models_import_with_reference_counts)
{
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
		struct tb_tflite_report rep;
		struct tb_nn_model m;
		struct tb_nn_tensor_info ti, to;
		size_t size;
		uint8_t *blob = import(models[i].file, &size, &rep);
		void *arena, *in, *out;

		cr_assert_eq(tb_nn_model_init(&m, blob, size), 0, "%s", models[i].file);
		cr_assert_eq(rep.params, models[i].params, "%s: %llu params", models[i].file,
			     (unsigned long long)rep.params);
		cr_assert_eq(tb_nn_model_macs(&m), models[i].macs, "%s: %llu MACs",
			     models[i].file, (unsigned long long)tb_nn_model_macs(&m));
		/* one inference on a deterministic input */
		tb_nn_model_tensor(&m, m.input, &ti);
		tb_nn_model_tensor(&m, m.output, &to);
		cr_assert_eq(ti.dtype, models[i].int8 ? TB_NN_DTYPE_INT8 : TB_NN_DTYPE_FLOAT32);
		arena = aligned_alloc(8, (tb_nn_model_arena_size(&m) + 7) & ~7u);
		in = calloc(1, ti.size);
		out = calloc(1, to.size);
		cr_assert(arena && in && out);
		for (uint32_t k = 0; k < ti.size; k++)
			((uint8_t *)in)[k] = models[i].int8 ? (uint8_t)(k * 37) : 0;
		cr_assert_eq(tb_nn_model_invoke(&m, in, ti.size, out, to.size, arena,
						tb_nn_model_arena_size(&m)), 0, "%s", models[i].file);
		free(arena);
		free(in);
		free(out);
		free(blob);
	}
}

static void read_golden(const char *name, int8_t *buf, size_t n)
{
	char rel[256], path[4096];
	size_t len = 0;
	unsigned char *data;

	snprintf(rel, sizeof(rel), "mlperf-tiny/golden/%s", name);
	if (!tb_shared_path(rel, path, sizeof(path)))
		cr_skip_test(TB_SHARED_SKIP_MSG);
	data = tb_read_all(path, &len);
	cr_assert(data && len == n, "%s: %zu bytes", path, len);
	memcpy(buf, data, n);
	free(data);
}

/* The golden vectors: logits (the tensor feeding SOFTMAX) and output. */
Test(tflite, kws_goldens_reproduced_byte_for_byte)
{
	struct tb_tflite_report rep;
	struct tb_nn_model m;
	struct tb_nn_op_info last;
	struct tb_nn_tensor_info logits;
	size_t size;
	uint8_t *blob = import("kws_ref_model.tflite", &size, &rep);
	uint8_t *arena;

	cr_assert_eq(tb_nn_model_init(&m, blob, size), 0);
	cr_assert_eq(tb_nn_model_op(&m, m.num_ops - 1u, &last), 0);
	cr_assert_eq(last.code, TB_NN_OP_SOFTMAX);
	cr_assert_eq(tb_nn_model_tensor(&m, last.inputs[0], &logits), 0);
	arena = aligned_alloc(8, tb_nn_model_arena_size(&m));
	cr_assert(arena);
	for (int seed = 1; seed <= 2; seed++) {
		char name[64];
		int8_t in[490], out[12], want_out[12], want_logits[12];

		snprintf(name, sizeof(name), "kws_in_seed%d.bin", seed);
		read_golden(name, in, sizeof(in));
		snprintf(name, sizeof(name), "kws_out_seed%d.bin", seed);
		read_golden(name, want_out, sizeof(want_out));
		snprintf(name, sizeof(name), "kws_logits_seed%d.bin", seed);
		read_golden(name, want_logits, sizeof(want_logits));
		cr_assert_eq(tb_nn_model_invoke(&m, in, sizeof(in), out, sizeof(out), arena,
						tb_nn_model_arena_size(&m)), 0);
		cr_assert_arr_eq(arena + logits.offset, want_logits, 12, "seed %d: logits", seed);
		cr_assert_arr_eq(out, want_out, 12, "seed %d: output", seed);
	}
	free(arena);
	free(blob);
}

/* A constant of the parsed model as floats (int8: dequantised per tensor). */
static float *const_f32(const struct tb_tflite_model *m, int32_t ti)
{
	const struct tb_tflite_tensor *t = &m->tensors[ti];
	size_t n = 1;
	float *o;

	for (uint32_t k = 0; k < t->rank; k++)
		n *= (size_t)t->shape[k];
	o = malloc(n * sizeof(float));
	cr_assert(o && t->data);
	for (size_t i = 0; i < n; i++) {
		if (t->type == TB_TFLITE_INT8) {
			o[i] = (float)((double)t->scales[0] * (int8_t)t->data[i]);
		} else {
			uint32_t bits = (uint32_t)t->data[4 * i] | (uint32_t)t->data[4 * i + 1] << 8 |
					(uint32_t)t->data[4 * i + 2] << 16 |
					(uint32_t)t->data[4 * i + 3] << 24;

			memcpy(&o[i], &bits, 4);
		}
	}
	return o;
}

/* The DS-CNN forward pass written with the host's float reference
 * operators (tb_nn_ref_f32.h, independent of the device kernels). */
static void kws_float_reference(const struct tb_tflite_model *m, const float *x, float *probs)
{
	const struct tb_nn_dims in_d = { 1, 49, 10, 1 }, feat = { 1, 25, 5, 64 };
	const struct tb_nn_dims conv_fd = { 64, 10, 4, 1 }, dw_fd = { 1, 3, 3, 64 };
	const struct tb_nn_dims pw_fd = { 64, 1, 1, 64 }, pool_d = { 1, 1, 1, 64 };
	const struct tb_nn_tile one = { 1, 1 }, two = { 2, 2 }, none = { 0, 0 };
	float *a = malloc(8000 * sizeof(float)), *b = malloc(8000 * sizeof(float));
	float pooled[64], logits[12];
	float *w, *bias;

	cr_assert(a && b);
#define LAYER(op, call) do { w = const_f32(m, m->ops[op].inputs[1]); \
		bias = const_f32(m, m->ops[op].inputs[2]); call; free(w); free(bias); } while (0)
	LAYER(0, tb_nn_ref_conv2d_f32(&in_d, x, &conv_fd, w, bias, two,
				      (struct tb_nn_tile){ .w = 1, .h = 4 }, 1, &feat, b));
	for (int k = 0; k < 4; k++) {
		LAYER(1 + 2 * k, tb_nn_ref_dwconv2d_f32(&feat, b, &dw_fd, w, bias, one, one, 1,
							&feat, a));
		LAYER(2 + 2 * k, tb_nn_ref_conv2d_f32(&feat, a, &pw_fd, w, bias, one, none, 1,
						      &feat, b));
	}
	tb_nn_ref_avgpool_f32(&feat, b, (struct tb_nn_tile){ .w = 5, .h = 25 }, one, none,
			      &pool_d, pooled);
	LAYER(11, tb_nn_ref_fc_f32(pooled, 64, w, bias, 12, 0, logits));
#undef LAYER
	tb_nn_ref_softmax_f32(logits, 12, probs);
	free(a);
	free(b);
}

/* kws_ref_model_float32 is hybrid: int8 conv weights, float activations.
 * The importer dequantises those weights and says so; the result is the
 * float network, which the host's independent float operators agree
 * with.  (On the golden inputs, which are uniform noise far outside the
 * training distribution, the int8 model saturates and its top class
 * differs from the float one's: that is quantisation, not a bug.) */
Test(tflite, hybrid_float_kws_is_dequantised_and_runs_as_float)
{
	struct tb_tflite_report rep, rep_q;
	struct tb_tflite_model *pm;
	struct tb_nn_model mf;
	struct tb_error err = { 0 };
	char path[4096];
	size_t sf, sq;
	uint8_t *bf = import("kws_ref_model_float32.tflite", &sf, &rep);
	uint8_t *bq = import("kws_ref_model.tflite", &sq, &rep_q);
	void *af;

	cr_assert(rep.hybrid);
	cr_assert_eq(rep.dequantized_weights, 5);	/* the five CONV_2D filters */
	cr_assert(!rep_q.hybrid);
	cr_assert(tb_shared_path("mlperf-tiny/models/kws_ref_model_float32.tflite", path,
				 sizeof(path)));
	cr_assert_eq(tb_tflite_parse_file(path, &pm, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_nn_model_init(&mf, bf, sf), 0);
	af = aligned_alloc(8, tb_nn_model_arena_size(&mf));
	cr_assert(af);
	for (int seed = 1; seed <= 2; seed++) {
		char name[64];
		int8_t in[490];
		float x[490], of[12], want[12], sum = 0;

		snprintf(name, sizeof(name), "kws_in_seed%d.bin", seed);
		read_golden(name, in, sizeof(in));
		for (int i = 0; i < 490; i++)
			x[i] = 0.5847029089927673f * (float)(in[i] - 83);
		cr_assert_eq(tb_nn_model_invoke(&mf, x, sizeof(x), of, sizeof(of), af,
						tb_nn_model_arena_size(&mf)), 0);
		kws_float_reference(pm, x, want);
		for (int c = 0; c < 12; c++) {
			sum += of[c];
			cr_assert_float_eq(of[c], want[c], 1e-4f, "seed %d class %d: %g vs %g",
					   seed, c, (double)of[c], (double)want[c]);
		}
		cr_assert_float_eq(sum, 1.0f, 1e-4f);
	}
	tb_tflite_free(pm);
	free(af);
	free(bf);
	free(bq);
}

/* Ops, tensor shapes and window parameters of blob a and b agree. */
static void same_topology(const uint8_t *a, size_t sa, const uint8_t *b, size_t sb,
			  const char *what)
{
	struct tb_nn_model ma, mb;

	cr_assert_eq(tb_nn_model_init(&ma, a, sa), 0);
	cr_assert_eq(tb_nn_model_init(&mb, b, sb), 0);
	cr_assert_eq(ma.num_ops, mb.num_ops, "%s: %u ops vs %u", what, ma.num_ops, mb.num_ops);
	for (uint32_t i = 0; i < ma.num_ops; i++) {
		struct tb_nn_op_info oa, ob;

		tb_nn_model_op(&ma, i, &oa);
		tb_nn_model_op(&mb, i, &ob);
		cr_assert_eq(oa.code, ob.code, "%s op %u", what, i);
		cr_assert_eq(oa.num_inputs, ob.num_inputs, "%s op %u", what, i);
		for (int k = 0; k < 4; k++) {
			struct tb_nn_tensor_info ta, tb;

			if (oa.inputs[k] == TB_NN_NO_TENSOR || ob.inputs[k] == TB_NN_NO_TENSOR) {
				cr_assert_eq(oa.inputs[k], ob.inputs[k]);
				continue;
			}
			tb_nn_model_tensor(&ma, oa.inputs[k], &ta);
			tb_nn_model_tensor(&mb, ob.inputs[k], &tb);
			cr_assert_arr_eq(ta.dims, tb.dims, sizeof(ta.dims), "%s op %u input %d", what, i, k);
		}
		{
			struct tb_nn_tensor_info ta, tb;

			tb_nn_model_tensor(&ma, oa.outputs[0], &ta);
			tb_nn_model_tensor(&mb, ob.outputs[0], &tb);
			cr_assert_arr_eq(ta.dims, tb.dims, sizeof(ta.dims), "%s op %u output", what, i);
		}
		/* strides and paddings (the first six words of windowed ops) */
		if (oa.code == TB_NN_OP_CONV_2D || oa.code == TB_NN_OP_DEPTHWISE_CONV_2D ||
		    oa.code == TB_NN_OP_AVERAGE_POOL_2D)
			cr_assert_arr_eq(ma.params + oa.params_offset, mb.params + ob.params_offset,
					 16, "%s op %u window", what, i);
	}
	cr_assert_eq(tb_nn_model_macs(&ma), tb_nn_model_macs(&mb));
}

Test(tflite, built_in_workloads_have_the_official_layer_shapes)
{
	static const struct {
		const char *file;
		const struct tb_net_spec *spec;
	} pairs[] = {
		{ "vww_96_int8.tflite", &tb_net_vww01 },
		{ "ad01_int8.tflite", &tb_net_ad01 },
		{ "pretrainedResnet_quant.tflite", &tb_net_ic01 },
	};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct tb_tflite_report rep;
		size_t so, sb;
		uint8_t *official = import(pairs[i].file, &so, &rep);
		uint8_t *built, *aligned;

		cr_assert_eq(tb_net_build_blob(pairs[i].spec, pairs[i].spec->seed, &built, &sb), 0);
		aligned = aligned_alloc(8, (sb + 7) & ~(size_t)7);
		memcpy(aligned, built, sb);
		same_topology(official, so, aligned, sb, pairs[i].file);
		free(built);
		free(aligned);
		free(official);
	}
	{	/* kws01: the built-in one against the official */
		struct tb_tflite_report rep;
		size_t so, sb;
		uint8_t *official = import("kws_ref_model.tflite", &so, &rep);
		uint8_t *built, *aligned;

		cr_assert_eq(tb_kws01_build_blob(TB_KWS01_WEIGHT_SEED, &built, &sb), 0);
		aligned = aligned_alloc(8, (sb + 7) & ~(size_t)7);
		memcpy(aligned, built, sb);
		/* the official graph has a RESHAPE before the FC: compare MACs */
		{
			struct tb_nn_model a, b;

			cr_assert_eq(tb_nn_model_init(&a, official, so), 0);
			cr_assert_eq(tb_nn_model_init(&b, aligned, sb), 0);
			cr_assert_eq(tb_nn_model_macs(&a), tb_nn_model_macs(&b));
			cr_assert_eq(tb_nn_model_arena_size(&a), tb_nn_model_arena_size(&b));
		}
		free(built);
		free(aligned);
		free(official);
	}
}

static struct tb_tflite_model *parse_shared(const char *file)
{
	char rel[256], path[4096];
	struct tb_error err = { 0 };
	struct tb_tflite_model *m;

	snprintf(rel, sizeof(rel), "mlperf-tiny/models/%s", file);
	if (!tb_shared_path(rel, path, sizeof(path)))
		cr_skip_test(TB_SHARED_SKIP_MSG);
	cr_assert_eq(tb_tflite_parse_file(path, &m, &err), 0, "%s", err.msg);
	return m;
}

Test(tflite, unsupported_operator_is_named_with_its_index)
{
	struct tb_tflite_model *m = parse_shared("kws_ref_model.tflite");
	struct tb_error err = { 0 };
	uint8_t *blob;
	size_t size;

	m->ops[9].builtin = 40;	/* MEAN instead of AVERAGE_POOL_2D */
	cr_assert_eq(tb_tflite_to_blob(m, &blob, &size, NULL, &err), TB_ERR_UNSUPPORTED);
	cr_assert(strstr(err.msg, "operator 9 (MEAN)"), "%s", err.msg);
	m->ops[9].builtin = 1;
	m->tensors[m->ops[3].outputs[0]].type = TB_TFLITE_INT16;
	cr_assert_eq(tb_tflite_to_blob(m, &blob, &size, NULL, &err), TB_ERR_UNSUPPORTED);
	cr_assert(strstr(err.msg, "operator 3 (DEPTHWISE_CONV_2D)") && strstr(err.msg, "INT16"),
		  "%s", err.msg);
	tb_tflite_free(m);
}

Test(tflite, c_source_output_holds_the_blob)
{
	const uint8_t blob[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 255 };
	struct tb_error err = { 0 };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_eq(tb_tflite_write_c(f, "my_model", blob, sizeof(blob), &err), 0);
	fclose(f);
	cr_assert(strstr(text, "_Alignas(8) const uint8_t my_model_blob[9]"), "%s", text);
	cr_assert(strstr(text, "0xff"));
	free(text);
	cr_assert_eq(tb_tflite_write_c(stdout, "9bad", blob, 1, &err), TB_ERR_ARG);
}

Test(tflite, non_tflite_input_is_rejected_clearly)
{
	const char junk[] = "this is not a flatbuffer at all, just some text";
	struct tb_tflite_model *m;
	struct tb_error err = { 0 };

	cr_assert_eq(tb_tflite_parse(junk, sizeof(junk), &m, &err), TB_ERR_FORMAT);
	cr_assert(strstr(err.msg, "TFL3"), "%s", err.msg);
	cr_assert_null(m);
	cr_assert_eq(tb_tflite_parse(junk, 3, &m, &err), TB_ERR_FORMAT);
	cr_assert_eq(tb_tflite_parse_file("/nonexistent/x.tflite", &m, &err), TB_ERR_NOTFOUND);
}
