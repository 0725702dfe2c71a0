/*
 * cmd_model.c - `tinybench model ...` (inspect, import, ad-score) and
 * `tinybench models fetch`.
 */
#include "tb_cli.h"
#include "tb_json.h"
#include "tb_nn_model.h"
#include "tb_postproc.h"
#include "tb_session.h"
#include "tb_tflite.h"
#include "tb_workload.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- loading a model: .tflite (imported) or .tbnn ------------------- */

static int has_suffix(const char *s, const char *suffix)
{
	const size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/* An 8-aligned blob of path (imported when it is not a .tbnn). */
static int load_blob(const char *path, uint8_t **blob, size_t *size,
		     struct tb_tflite_report *rep, int *imported, struct tb_error *err)
{
	uint8_t *raw = NULL, *aligned;
	size_t n = 0;
	int ret;

	memset(rep, 0, sizeof(*rep));
	*imported = !has_suffix(path, ".tbnn");
	if (*imported) {
		ret = tb_tflite_import_file(path, &raw, &n, rep, err);
		if (ret)
			return ret;
	} else {
		FILE *f = fopen(path, "rb");
		struct stat st;

		if (!f)
			return tb_error_set(err, errno == ENOENT ? TB_ERR_NOTFOUND : TB_ERR_IO,
					    "model file '%s': %s", path, strerror(errno));
		if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_size > (1LL << 30)) {
			fclose(f);
			return tb_error_set(err, TB_ERR_FORMAT, "model file '%s' is not a "
					    "regular file under 1 GB", path);
		}
		n = (size_t)st.st_size;
		raw = malloc(n ? n : 1);
		if (!raw || fread(raw, 1, n, f) != n) {
			fclose(f);
			free(raw);
			return tb_error_set(err, TB_ERR_IO, "model file '%s': read failed", path);
		}
		fclose(f);
	}
	aligned = aligned_alloc(8, (n + 7) & ~(size_t)7);
	if (!aligned) {
		free(raw);
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	}
	memcpy(aligned, raw, n);
	free(raw);
	*blob = aligned;
	*size = n;
	return TB_OK;
}

static int init_model(struct tb_nn_model *m, const uint8_t *blob, size_t size,
		      const char *path, struct tb_error *err)
{
	const int ret = tb_nn_model_init(m, blob, size);

	if (ret)
		return tb_error_set(err, ret == TB_NN_ERR_UNSUPPORTED ? TB_ERR_UNSUPPORTED :
				    TB_ERR_FORMAT, "%s: not a valid tinybench model blob "
				    "(%d; see docs/MODEL_FORMAT.md)", path, ret);
	return TB_OK;
}

static const char *op_name(uint16_t code)
{
	static const char *const names[] = {
		"?", "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D",
		"SOFTMAX", "RESHAPE", "MAX_POOL_2D", "ADD", "QUANTIZE", "DEQUANTIZE",
	};

	return code < sizeof(names) / sizeof(names[0]) ? names[code] : "?";
}

static const char *dtype_name(uint8_t d)
{
	static const char *const names[] = { "?", "int8", "uint8", "int16", "int32", "float32" };

	return d < sizeof(names) / sizeof(names[0]) ? names[d] : "?";
}

static void shape_str(const struct tb_nn_tensor_info *t, char *buf, size_t len)
{
	size_t pos = 0;

	buf[0] = '\0';
	for (uint8_t k = 0; k < t->rank && pos < len; k++)
		pos += (size_t)snprintf(buf + pos, len - pos, "%s%u", k ? "x" : "", t->dims[k]);
}

/* MACs of one op, counted as tb_nn_model_macs() does. */
static uint64_t op_macs(const struct tb_nn_model *m, const struct tb_nn_op_info *op)
{
	struct tb_nn_tensor_info f, o;
	uint64_t out_elems;

	if (op->code != TB_NN_OP_CONV_2D && op->code != TB_NN_OP_DEPTHWISE_CONV_2D &&
	    op->code != TB_NN_OP_FULLY_CONNECTED)
		return 0;
	tb_nn_model_tensor(m, op->inputs[1], &f);
	tb_nn_model_tensor(m, op->outputs[0], &o);
	out_elems = (uint64_t)o.dims[0] * o.dims[1] * o.dims[2] * o.dims[3];
	if (op->code == TB_NN_OP_CONV_2D)
		return out_elems * f.dims[1] * f.dims[2] * f.dims[3];
	if (op->code == TB_NN_OP_DEPTHWISE_CONV_2D)
		return out_elems * f.dims[1] * f.dims[2];
	return out_elems * f.dims[1];
}

static void inspect_text(const char *path, const struct tb_nn_model *m, size_t size,
			 const struct tb_tflite_report *rep, int imported)
{
	struct tb_nn_tensor_info ti, to;
	uint64_t params, bytes;
	char s1[64], s2[64];

	tb_nn_model_tensor(m, m->input, &ti);
	tb_nn_model_tensor(m, m->output, &to);
	tb_nn_model_consts(m, &params, &bytes);
	printf("%s: %s, %u ops, %u tensors, blob %zu bytes\n", path,
	       imported ? "imported from .tflite" : "tinybench blob", m->num_ops,
	       m->num_tensors, size);
	if (rep->hybrid)
		printf("hybrid model: %u int8 weight tensors dequantised to float32 "
		       "(float activations; see docs/IMPORTER.md)\n", rep->dequantized_weights);
	printf("\n%-3s %-18s %-22s %-22s %-12s %12s\n", "op", "kind", "input", "output",
	       "weights", "MACs");
	for (uint32_t i = 0; i < m->num_ops; i++) {
		struct tb_nn_op_info op;
		struct tb_nn_tensor_info a, o, f;
		char w[32] = "-";

		tb_nn_model_op(m, i, &op);
		tb_nn_model_tensor(m, op.inputs[0], &a);
		tb_nn_model_tensor(m, op.outputs[0], &o);
		shape_str(&a, s1, sizeof(s1));
		shape_str(&o, s2, sizeof(s2));
		if (op.num_inputs > 1 && op.inputs[1] != TB_NN_NO_TENSOR) {
			tb_nn_model_tensor(m, op.inputs[1], &f);
			if (f.flags & TB_NN_TENSOR_CONST)
				shape_str(&f, w, sizeof(w));
		}
		printf("%-3u %-18s %-22s %-22s %-12s %12llu\n", i, op_name(op.code),
		       s1, s2, w, (unsigned long long)op_macs(m, &op));
	}
	shape_str(&ti, s1, sizeof(s1));
	shape_str(&to, s2, sizeof(s2));
	printf("\ninput:   %s %s (scale %.9g, zero point %d), %u bytes\n", dtype_name(ti.dtype),
	       s1, (double)ti.scale, ti.zero_point, ti.size);
	printf("output:  %s %s (scale %.9g, zero point %d), %u bytes\n", dtype_name(to.dtype),
	       s2, (double)to.scale, to.zero_point, to.size);
	printf("params:  %llu (%llu bytes of constant tensors: weights and biases)\n",
	       (unsigned long long)params, (unsigned long long)bytes);
	printf("MACs:    %llu per inference\n", (unsigned long long)tb_nn_model_macs(m));
	printf("arena:   %u bytes planned (largest single-op footprint %u)\n",
	       tb_nn_model_arena_size(m), tb_nn_model_max_op_footprint(m));
}

static void inspect_json(const char *path, const struct tb_nn_model *m, size_t size,
			 const struct tb_tflite_report *rep, int imported)
{
	struct tb_json *j = tb_json_new(stdout, 1);
	struct tb_nn_tensor_info t;
	uint64_t params, bytes;
	char s[64];

	tb_nn_model_consts(m, &params, &bytes);
	tb_json_begin_object(j);
	tb_json_key_string(j, "file", path);
	tb_json_key_string(j, "source", imported ? "tflite" : "tbnn");
	tb_json_key_uint(j, "blob_bytes", size);
	tb_json_key_bool(j, "hybrid", rep->hybrid);
	tb_json_key_uint(j, "params", params);
	tb_json_key_uint(j, "weight_bytes", bytes);
	tb_json_key_uint(j, "macs", tb_nn_model_macs(m));
	tb_json_key_uint(j, "arena_bytes", tb_nn_model_arena_size(m));
	tb_json_key_uint(j, "max_op_footprint_bytes", tb_nn_model_max_op_footprint(m));
	for (int io = 0; io < 2; io++) {
		tb_nn_model_tensor(m, io ? m->output : m->input, &t);
		shape_str(&t, s, sizeof(s));
		tb_json_key(j, io ? "output" : "input");
		tb_json_begin_object(j);
		tb_json_key_string(j, "dtype", dtype_name(t.dtype));
		tb_json_key_string(j, "shape", s);
		tb_json_key_double(j, "scale", t.scale);
		tb_json_key_int(j, "zero_point", t.zero_point);
		tb_json_key_uint(j, "bytes", t.size);
		tb_json_end_object(j);
	}
	tb_json_key(j, "ops");
	tb_json_begin_array(j);
	for (uint32_t i = 0; i < m->num_ops; i++) {
		struct tb_nn_op_info op;

		tb_nn_model_op(m, i, &op);
		tb_json_begin_object(j);
		tb_json_key_string(j, "kind", op_name(op.code));
		tb_nn_model_tensor(m, op.inputs[0], &t);
		shape_str(&t, s, sizeof(s));
		tb_json_key_string(j, "input", s);
		tb_nn_model_tensor(m, op.outputs[0], &t);
		shape_str(&t, s, sizeof(s));
		tb_json_key_string(j, "output", s);
		tb_json_key_string(j, "dtype", dtype_name(t.dtype));
		tb_json_key_uint(j, "macs", op_macs(m, &op));
		tb_json_end_object(j);
	}
	tb_json_end_array(j);
	tb_json_end_object(j);
	tb_json_free(j);
}

static int model_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct tb_tflite_report rep;
	struct tb_error err = { 0 };
	struct tb_nn_model m;
	uint8_t *blob;
	size_t size;
	int json = 0, imported, c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'j') {
			json = 1;
		} else if (c == 'h') {
			printf("usage: tinybench model inspect FILE.tflite|FILE.tbnn [--json]\n\n"
			       "Operators, shapes, parameters, MACs, weight bytes and the planned\n"
			       "arena of a model (a .tflite file is imported first).\n");
			return 0;
		} else {
			return tb_cli_usage_error("model inspect", "bad option");
		}
	}
	if (optind + 1 != argc)
		return tb_cli_usage_error("model inspect", "expected one model file");
	ret = load_blob(argv[optind], &blob, &size, &rep, &imported, &err);
	if (!ret)
		ret = init_model(&m, blob, size, argv[optind], &err);
	if (ret) {
		if (!err.msg[0])
			tb_error_set(&err, ret, "%s", tb_strerror(ret));
		return tb_cli_fail(&err);
	}
	if (json)
		inspect_json(argv[optind], &m, size, &rep, imported);
	else
		inspect_text(argv[optind], &m, size, &rep, imported);
	free(blob);
	return 0;
}

static int write_file(const char *path, const void *data, size_t n, struct tb_error *err)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return tb_error_set(err, TB_ERR_IO, "%s: %s", path, strerror(errno));
	if (fwrite(data, 1, n, f) != n || fclose(f)) {
		if (f)
			fclose(f);
		return tb_error_set(err, TB_ERR_IO, "%s: write failed", path);
	}
	return TB_OK;
}

static int model_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "c-source", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *out = NULL, *csrc = NULL, *name = "model";
	struct tb_tflite_report rep;
	struct tb_error err = { 0 };
	struct tb_nn_model m;
	uint8_t *blob;
	size_t size;
	int imported, c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:c:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'c': csrc = optarg; break;
		case 'n': name = optarg; break;
		case 'h':
			printf("usage: tinybench model import FILE.tflite [-o OUT.tbnn] "
			       "[--c-source OUT.c [--name NAME]]\n\n"
			       "Import a .tflite model: write the tinybench blob (for the sim\n"
			       "runner's --model) and/or a C source holding it (for firmware:\n"
			       "const uint8_t NAME_blob[], 8-byte aligned).\n");
			return 0;
		default:
			return tb_cli_usage_error("model import", "bad option");
		}
	}
	if (optind + 1 != argc)
		return tb_cli_usage_error("model import", "expected one .tflite file");
	if (!out && !csrc)
		return tb_cli_usage_error("model import", "give -o OUT.tbnn and/or --c-source OUT.c");
	ret = load_blob(argv[optind], &blob, &size, &rep, &imported, &err);
	if (!ret)
		ret = init_model(&m, blob, size, argv[optind], &err);
	if (!ret && out)
		ret = write_file(out, blob, size, &err);
	if (!ret && csrc) {
		FILE *f = fopen(csrc, "w");

		ret = f ? tb_tflite_write_c(f, name, blob, size, &err) :
			  tb_error_set(&err, TB_ERR_IO, "%s: %s", csrc, strerror(errno));
		if (f && fclose(f) && !ret)
			ret = tb_error_set(&err, TB_ERR_IO, "%s: write failed", csrc);
	}
	if (ret)
		return tb_cli_fail(&err);
	printf("%s: %zu-byte blob, %llu MACs, arena %u bytes%s\n", argv[optind], size,
	       (unsigned long long)tb_nn_model_macs(&m), tb_nn_model_arena_size(&m),
	       rep.hybrid ? " (hybrid: weights dequantised to float32)" : "");
	free(blob);
	return 0;
}

int tb_cli_model_blob_file(const char *path, char *out, size_t len, int *is_tmp,
			   struct tb_error *err)
{
	const char *tmp = getenv("TMPDIR"), *base = strrchr(path, '/');
	char dir[4096];
	uint8_t *blob = NULL;
	size_t size, k;
	int ret;

	*is_tmp = 0;
	if (has_suffix(path, ".tbnn")) {
		snprintf(out, len, "%s", path);
		return TB_OK;
	}
	ret = tb_tflite_import_file(path, &blob, &size, NULL, err);
	if (ret)
		return ret;
	/* <tmp>/tinybench-XXXXXX/<stem>.tbnn: the runner names the workload
	 * after the file. */
	snprintf(dir, sizeof(dir), "%s/tinybench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		free(blob);
		return tb_error_set(err, TB_ERR_IO, "temporary folder: %s", strerror(errno));
	}
	base = base ? base + 1 : path;
	for (k = 0; base[k] && base[k] != '.' && k < 64; k++)
		;
	snprintf(out, len, "%s/%.*s.tbnn", dir, (int)k, base);
	ret = write_file(out, blob, size, err);
	free(blob);
	if (ret)
		rmdir(dir);
	else
		*is_tmp = 1;
	return ret;
}

void tb_cli_model_blob_remove(const char *out)
{
	char dir[4096];
	char *slash;

	unlink(out);
	snprintf(dir, sizeof(dir), "%s", out);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		rmdir(dir);
	}
}

/* ---- ad-score ---------------------------------------------------------- */

struct ad_ctx {
	struct tb_nn_model *m;
	struct tb_nn_tensor_info in, out;
	void *arena, *qin, *qout;
	uint32_t n;
};

/* One window: quantise (int8 models), run, dequantise, MSE. */
static int ad_window(void *ctx, const float *x, double *mse)
{
	struct ad_ctx *a = ctx;
	int ret;

	if (a->in.dtype == TB_NN_DTYPE_FLOAT32) {
		ret = tb_nn_model_invoke(a->m, x, a->in.size, a->qout, a->out.size, a->arena,
					 tb_nn_model_arena_size(a->m));
		if (!ret)
			*mse = tb_post_mse_f32(x, a->qout, a->n);
		return ret;
	}
	ret = tb_nn_quantize_f32_s8(x, (int32_t)a->n, a->in.scale, a->in.zero_point, a->qin);
	if (!ret)
		ret = tb_nn_model_invoke(a->m, a->qin, a->in.size, a->qout, a->out.size, a->arena,
					 tb_nn_model_arena_size(a->m));
	if (!ret)
		*mse = tb_post_mse_s8(a->qin, a->in.scale, a->in.zero_point, a->qout,
				      a->out.scale, a->out.zero_point, a->n);
	return ret;
}

static int model_ad_score(int argc, char **argv)
{
	struct tb_tflite_report rep;
	struct tb_error err = { 0 };
	struct tb_nn_model m;
	struct ad_ctx a = { .m = &m };
	uint8_t *blob = NULL;
	float *frames = NULL;
	size_t size, n_bytes;
	uint32_t windows = 0, n_frames;
	double score;
	int imported, ret;
	FILE *f;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: tinybench model ad-score MODEL(.tflite|.tbnn) SAMPLE.bin\n\n"
		       "MLPerf Tiny's anomaly score of one ad01 sample: SAMPLE.bin holds\n"
		       "frames of 128 float32 log-mel values; windows of 5 frames (stride\n"
		       "one frame) are reconstructed by the model; the score is the mean\n"
		       "over windows of the mean squared error between the (dequantised)\n"
		       "input and the (dequantised) reconstruction.\n");
		return 0;
	}
	if (argc != 3)
		return tb_cli_usage_error("model ad-score", "expected MODEL and SAMPLE.bin");
	ret = load_blob(argv[1], &blob, &size, &rep, &imported, &err);
	if (!ret)
		ret = init_model(&m, blob, size, argv[1], &err);
	if (ret)
		return tb_cli_fail(&err);
	tb_nn_model_tensor(&m, m.input, &a.in);
	tb_nn_model_tensor(&m, m.output, &a.out);
	a.n = a.in.size / (a.in.dtype == TB_NN_DTYPE_FLOAT32 ? 4 : 1);
	if (a.n != 640 || a.out.size != a.in.size || a.in.dtype != a.out.dtype) {
		free(blob);
		tb_error_set(&err, TB_ERR_FORMAT, "%s is not an ad01-style autoencoder "
			     "(640 values in, 640 of the same type out)", argv[1]);
		return tb_cli_fail(&err);
	}
	f = fopen(argv[2], "rb");
	if (!f) {
		free(blob);
		tb_error_set(&err, errno == ENOENT ? TB_ERR_NOTFOUND : TB_ERR_IO, "%s: %s",
			     argv[2], strerror(errno));
		return tb_cli_fail(&err);
	}
	fseek(f, 0, SEEK_END);
	n_bytes = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	n_frames = (uint32_t)(n_bytes / (128 * sizeof(float)));
	if (n_bytes % (128 * sizeof(float)) || n_frames < 5) {
		fclose(f);
		free(blob);
		tb_error_set(&err, TB_ERR_FORMAT, "%s: %zu bytes is not a whole number (>= 5) "
			     "of 128-value float32 frames", argv[2], n_bytes);
		return tb_cli_fail(&err);
	}
	frames = malloc(n_bytes);
	a.arena = aligned_alloc(8, (tb_nn_model_arena_size(&m) + 7) & ~7u);
	a.qin = malloc(a.in.size);
	a.qout = malloc(a.out.size);
	if (!frames || !a.arena || !a.qin || !a.qout || fread(frames, 1, n_bytes, f) != n_bytes) {
		ret = tb_error_set(&err, TB_ERR_IO, "%s: read failed", argv[2]);
	} else {
		ret = tb_post_ad_score(frames, n_frames, 128, 5, ad_window, &a, &score, &windows);
		if (ret)
			ret = tb_error_set(&err, TB_ERR_DEVICE, "inference failed (%d)", ret);
	}
	fclose(f);
	if (!ret)
		printf("%s on %s: %u frames, %u windows, anomaly score %.6f (%s)\n", argv[1],
		       argv[2], n_frames, windows, score,
		       a.in.dtype == TB_NN_DTYPE_FLOAT32 ? "float32" : "int8, dequantised");
	free(frames);
	free(a.arena);
	free(a.qin);
	free(a.qout);
	free(blob);
	return ret ? tb_cli_fail(&err) : 0;
}

int tb_cmd_model(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		FILE *out = argc < 2 ? stderr : stdout;

		fprintf(out, "usage: tinybench model inspect FILE.tflite|FILE.tbnn [--json]\n"
			     "       tinybench model import FILE.tflite [-o OUT.tbnn] [--c-source OUT.c]\n"
			     "       tinybench model ad-score MODEL SAMPLE.bin\n"
			     "Run a model on a board: tinybench run --board sim --model FILE.tflite\n");
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "inspect"))
		return model_inspect(argc - 1, argv + 1);
	if (!strcmp(argv[1], "import"))
		return model_import(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ad-score"))
		return model_ad_score(argc - 1, argv + 1);
	return tb_cli_usage_error("model", "unknown subcommand '%s' (inspect, import, ad-score)",
				  argv[1]);
}

/* ---- models fetch ------------------------------------------------------ */

#define MLPERF_TINY_BASE "https://raw.githubusercontent.com/mlcommons/tiny/master/benchmark/training/"

/* The MLPerf Tiny reference models: pinned SHA-256 sums. */
static const struct {
	const char *file;
	const char *repo_path;	/* under MLPERF_TINY_BASE */
	const char *sha256;
} reference_models[] = {
	{ "kws_ref_model.tflite", "keyword_spotting/trained_models/kws_ref_model.tflite",
	  "aeea436800704fce17b17292e4412630ad856e9d777c044c64ef748a880bd0ae" },
	{ "kws_ref_model_float32.tflite",
	  "keyword_spotting/trained_models/kws_ref_model_float32.tflite",
	  "e5004c6f1012246e33fa068d8488325538e0444073cd361f5a7edb40c73f12d2" },
	{ "vww_96_int8.tflite", "visual_wake_words/trained_models/vww_96_int8.tflite",
	  "597a384c8c2c8a1276f04702f25013b7838f2f814f1ca7c174d295b73e3d6b7b" },
	{ "vww_96_float.tflite", "visual_wake_words/trained_models/vww_96_float.tflite",
	  "115bbc094d2119561320a21f01b6500a18bea8cc8589282ab007097bec8af38c" },
	{ "ad01_int8.tflite", "anomaly_detection/trained_models/ad01_int8.tflite",
	  "87cf24194ef93d1d9b11a591d805526b98008e351655d29883c825c9c106ba24" },
	{ "ad01_fp32.tflite", "anomaly_detection/trained_models/ad01_fp32.tflite",
	  "c66636f4d7f8af8b10518e7be750a22c9d8d46ec97326b40b0d94c097e0aad9b" },
	{ "pretrainedResnet.tflite", "image_classification/trained_models/pretrainedResnet.tflite",
	  "b5c0046d6e0328b4956afd6baa29555a29b1f1c65bdd45aaed75b7cd484d9f79" },
	{ "pretrainedResnet_quant.tflite",
	  "image_classification/trained_models/pretrainedResnet_quant.tflite",
	  "3c002613d1b2475eb51dd78dfb85a546c8ae658dee71cf6ade43b022fe205415" },
};

#define N_REF (sizeof(reference_models) / sizeof(reference_models[0]))

/* mkdir -p */
static int make_dirs(const char *dir, struct tb_error *err)
{
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; ; p++) {
		const int end = *p == '\0';

		if (*p == '/' || end) {
			*p = '\0';
			if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
				return tb_error_set(err, TB_ERR_IO, "cannot create %s: %s", tmp,
						    strerror(errno));
			if (end)
				break;
			*p = '/';
		}
	}
	return TB_OK;
}

static int default_models_dir(char *buf, size_t len, struct tb_error *err)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");

	if (xdg && xdg[0] == '/')
		snprintf(buf, len, "%s/tinybench/models", xdg);
	else if (home && *home)
		snprintf(buf, len, "%s/.local/share/tinybench/models", home);
	else
		return tb_error_set(err, TB_ERR_NOTFOUND,
				    "neither XDG_DATA_HOME nor HOME is set: give --dir");
	return TB_OK;
}

static size_t write_cb(void *ptr, size_t size, size_t nmemb, void *user)
{
	return fwrite(ptr, size, nmemb, user);
}

/* Download url to path (via path.part), then check its SHA-256. */
static int fetch_one(CURL *curl, const char *url, const char *path, const char *want,
		     struct tb_error *err)
{
	char part[4200], got[65];
	long status = 0;
	CURLcode cc;
	FILE *f;

	snprintf(part, sizeof(part), "%s.part", path);
	f = fopen(part, "wb");
	if (!f)
		return tb_error_set(err, TB_ERR_IO, "%s: %s", part, strerror(errno));
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 600L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "tinybench/" "models-fetch");
	cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (fclose(f) && cc == CURLE_OK)
		cc = CURLE_WRITE_ERROR;
	if (cc != CURLE_OK) {
		unlink(part);
		return tb_error_set(err, TB_ERR_IO, "downloading %s failed: %s", url,
				    curl_easy_strerror(cc));
	}
	if (tb_sha256_file(part, got) < 0 || strcmp(got, want)) {
		unlink(part);
		return tb_error_set(err, TB_ERR_MISMATCH,
				    "%s: SHA-256 mismatch: got %s, pinned %s (file discarded)",
				    url, got, want);
	}
	if (rename(part, path) < 0) {
		unlink(part);
		return tb_error_set(err, TB_ERR_IO, "%s: %s", path, strerror(errno));
	}
	return TB_OK;
}

int tb_cmd_models(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *from = NULL;
	char dir[4096] = "", url[8192], path[8192], have[65];
	struct tb_error err = { 0 }, first = { 0 };
	unsigned fetched = 0, kept = 0, failed = 0;
	CURL *curl;
	int c;

	if (argc < 2 || strcmp(argv[1], "fetch")) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
			goto usage;
		return tb_cli_usage_error("models", "expected 'fetch'");
	}
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': from = optarg; break;
		case 'd': snprintf(dir, sizeof(dir), "%s", optarg); break;
		case 'h': goto usage;
		default: return tb_cli_usage_error("models fetch", "bad option");
		}
	}
	if (optind != argc)
		return tb_cli_usage_error("models fetch", "unexpected argument '%s'", argv[optind]);
	if (!dir[0] && default_models_dir(dir, sizeof(dir), &err) < 0)
		return tb_cli_fail(&err);
	if (make_dirs(dir, &err) < 0)
		return tb_cli_fail(&err);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(curl = curl_easy_init())) {
		tb_error_set(&err, TB_ERR_IO, "libcurl failed to initialise");
		return tb_cli_fail(&err);
	}
	for (size_t i = 0; i < N_REF; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, reference_models[i].file);
		if (tb_sha256_file(path, have) == 0 && !strcmp(have, reference_models[i].sha256)) {
			printf("%-30s already present, SHA-256 ok\n", reference_models[i].file);
			kept++;
			continue;
		}
		if (from)
			snprintf(url, sizeof(url), "%s%s%s", from,
				 from[0] && from[strlen(from) - 1] == '/' ? "" : "/",
				 reference_models[i].file);
		else
			snprintf(url, sizeof(url), "%s%s", MLPERF_TINY_BASE,
				 reference_models[i].repo_path);
		if (fetch_one(curl, url, path, reference_models[i].sha256, &err) < 0) {
			fprintf(stderr, "tinybench: %s\n", err.msg);
			if (!failed++)
				first = err;
			continue;
		}
		printf("%-30s fetched, SHA-256 ok\n", reference_models[i].file);
		fetched++;
	}
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	printf("%u fetched, %u already present, %u failed; in %s\n", fetched, kept, failed, dir);
	return failed ? tb_exit_code(first.code) : 0;
usage:
	printf("usage: tinybench models fetch [--dir DIR] [--from URL]\n\n"
	       "Download the MLPerf Tiny reference .tflite models (KWS, VWW, AD, IC;\n"
	       "int8 and float) from the mlcommons/tiny repository into DIR (default\n"
	       "$XDG_DATA_HOME/tinybench/models) and check each against its pinned\n"
	       "SHA-256; a file that does not match is discarded.  Files already there\n"
	       "with the right sum are kept.  --from URL takes every file from\n"
	       "URL/<file name> instead (a mirror, or file:///path/to/models).\n");
	return 0;
}
