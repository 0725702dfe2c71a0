/*
 * test_workload_kws01.c - the registry and the kws01 reference workload:
 * descriptor, model hash, test inputs, determinism, agreement with the
 * float network it was quantised from, and the planned arena.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_nn_model.h"
#include "tb_workload.h"
#include "tb_workload_kws01_float.h"
#include "tb_workload_priv.h"

/*
 * Tolerances of the int8 network against the float network, over the 100
 * test inputs of seeds 1..100 (measured at the time of writing: 95-99 %
 * top-1 agreement, worst absolute probability error 0.04-0.07, mean
 * 0.004, every disagreement a near tie).  The int8 output has a step of
 * 1/256 = 0.0039.
 */
#define AGREE_MIN_PERCENT  90	/* same top-1 class */
#define TIE_MARGIN         0.10	/* disagreements only where float top-2 are this close */
#define PROB_ERR_MAX       0.10	/* any class, any input */
#define PROB_ERR_MEAN      0.01	/* mean over classes and inputs */

static const struct tb_workload *kws01(void)
{
	const struct tb_workload *wl = tb_workload_by_name("kws01");

	cr_assert_not_null(wl, "kws01 not registered");
	return wl;
}

static const struct tb_workload_nn *kws01_nn(void)
{
	return kws01()->model;
}

static void *arena_for(const struct tb_workload *wl, size_t size, int fill)
{
	void *a = malloc(size);

	cr_assert_not_null(a);
	memset(a, fill, size);
	return a;
}

static int top1(const float *p, int n)
{
	int i, best = 0;

	for (i = 1; i < n; i++)
		if (p[i] > p[best])
			best = i;
	return best;
}

/* ---- registry ------------------------------------------------------- */

Test(workload_registry, lookups)
{
	const struct tb_workload *wl = kws01();
	int i, j, n = 0;

	cr_assert_eq(tb_workload_by_id(TB_WL_KWS01), wl);
	cr_assert_null(tb_workload_by_name("kws"));
	cr_assert_null(tb_workload_by_name("KWS01"));
	cr_assert_null(tb_workload_by_name(""));
	cr_assert_null(tb_workload_by_name(NULL));
	cr_assert_null(tb_workload_by_id(0));
	cr_assert_null(tb_workload_by_id(200));
	for (i = 0; tb_workloads[i]; i++) {
		n++;
		cr_assert_eq(tb_workload_by_id(tb_workloads[i]->id), tb_workloads[i]);
		for (j = 0; j < i; j++) {
			cr_assert_neq(tb_workloads[i]->id, tb_workloads[j]->id);
			cr_assert_str_neq(tb_workloads[i]->name, tb_workloads[j]->name);
		}
	}
	cr_assert_geq(n, 1);
}

/* ---- descriptor ------------------------------------------------------ */

Test(workload_kws01, descriptor)
{
	const struct tb_workload *wl = kws01();
	/* conv 10x4x1 -> 25x5x64; 4 x (dw 3x3 + pw 64); fc 64 -> 12 */
	const uint32_t feat = 25 * 5 * 64;
	const uint32_t macs = feat * 40 + 4 * (feat * 9 + feat * 64) + 64 * 12;

	cr_assert_eq(wl->id, TB_WL_KWS01);
	cr_assert_str_eq(wl->name, "kws01");
	cr_assert(wl->description && *wl->description);
	cr_assert_eq(wl->input_dtype, TB_DTYPE_INT8);
	cr_assert_eq(wl->output_dtype, TB_DTYPE_INT8);
	cr_assert_eq(wl->input_size, 49 * 10);
	cr_assert_eq(wl->output_size, 12);
	cr_assert_eq(wl->input_scale, 0.5847029089927673f);
	cr_assert_eq(wl->input_zero_point, 83);
	cr_assert_eq(wl->output_scale, 1.0f / 256.0f);
	cr_assert_eq(wl->output_zero_point, -128);
	cr_assert_eq(macs, 2656768);
	cr_assert_eq(wl->macs, macs);
	cr_assert_not_null(wl->invoke);
	cr_assert_not_null(wl->model_hash);
	cr_assert_eq((uintptr_t)kws01_nn()->blob % 8, 0, "blob must be 8-byte aligned");
}

Test(workload_kws01, hash_matches_blob_and_generator_output)
{
	const struct tb_workload *wl = kws01();
	const struct tb_workload_nn *nn = kws01_nn();
	uint8_t digest[SHA256_DIGEST_LENGTH], *rebuilt = NULL;
	size_t rebuilt_size = 0;
	SHA2_CTX ctx;

	SHA256Init(&ctx);
	SHA256Update(&ctx, nn->blob, nn->size);
	SHA256Final(digest, &ctx);
	cr_assert_arr_eq(digest, wl->model_hash, 32);

	/* the generator is deterministic: building again gives the same blob */
	cr_assert_eq(tb_kws01_build_blob(TB_KWS01_WEIGHT_SEED, &rebuilt, &rebuilt_size), 0);
	cr_assert_eq(rebuilt_size, nn->size);
	cr_assert_arr_eq(rebuilt, nn->blob, nn->size);
	free(rebuilt);
}

Test(workload_kws01, raw_blob_file_matches)
{
	const struct tb_workload_nn *nn = kws01_nn();
	const char *build = getenv("TB_BUILD_DIR");
	char path[1024];
	uint8_t *buf;
	size_t got;
	FILE *f;

	if (!build)
		cr_skip_test("TB_BUILD_DIR not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/workloads/kws01.tbnn", build);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "%s missing", path);
	buf = malloc(nn->size + 1);
	got = fread(buf, 1, nn->size + 1, f);
	fclose(f);
	cr_assert_eq(got, nn->size);
	cr_assert_arr_eq(buf, nn->blob, nn->size);
	free(buf);
}

/* ---- test inputs ----------------------------------------------------- */

Test(workload_kws01, test_inputs_are_deterministic_and_plausible)
{
	const struct tb_workload *wl = kws01();
	int8_t a[490 + 16], b[490];
	long sum[10] = { 0 }, sat = 0, distinct_first = 0;
	int seed, i;

	for (seed = 0; seed < 100; seed++) {
		memset(a, 0x5A, sizeof(a));
		cr_assert_eq(tb_workload_test_input(wl, (uint32_t)seed, a, 490), 0);
		cr_assert_eq(tb_workload_test_input(wl, (uint32_t)seed, b, sizeof(b)), 0);
		cr_assert_arr_eq(a, b, 490, "seed %d not deterministic", seed);
		for (i = 490; i < (int)sizeof(a); i++)
			cr_assert_eq((uint8_t)a[i], 0x5A, "wrote past input_size");
		for (i = 0; i < 490; i++) {
			sum[i % 10] += a[i];
			sat += a[i] == -128 || a[i] == 127;
		}
		if (seed) {
			cr_assert_eq(tb_workload_test_input(wl, (uint32_t)seed - 1, b, 490), 0);
			distinct_first += memcmp(a, b, 490) != 0;
		}
	}
	cr_assert_eq(distinct_first, 99, "neighbouring seeds must differ");
	cr_assert_lt(sat, 100 * 490 / 50, "more than 2%% saturated (%ld)", sat);
	/* log energy well below the zero point (negative real values) */
	cr_assert_lt(sum[0] / (100 * 49), 40);
	/* cepstral coefficients centred on the zero point */
	for (i = 1; i < 10; i++)
		cr_assert(labs(sum[i] / (100 * 49) - 83) <= 12, "coefficient %d mean %ld", i,
			  sum[i] / (100 * 49));
}

Test(workload_kws01, test_input_checks_arguments)
{
	const struct tb_workload *wl = kws01();
	struct tb_workload other = *wl;
	int8_t buf[490];
	uint8_t ubuf[64];
	int i, spread = 0;

	cr_assert_lt(tb_workload_test_input(wl, 1, buf, 489), 0);
	cr_assert_lt(tb_workload_test_input(wl, 1, NULL, 490), 0);
	cr_assert_lt(tb_workload_test_input(NULL, 1, buf, 490), 0);
	/* other 8-bit workloads get the generic generator */
	other.id = 99;
	other.input_dtype = TB_DTYPE_UINT8;
	other.input_size = sizeof(ubuf);
	other.input_zero_point = 128;
	cr_assert_eq(tb_workload_test_input(&other, 5, ubuf, sizeof(ubuf)), 0);
	for (i = 0; i < (int)sizeof(ubuf); i++) {
		cr_assert(ubuf[i] >= 128 - 40 && ubuf[i] <= 128 + 40, "byte %d = %u", i, ubuf[i]);
		spread += ubuf[i] != ubuf[0];
	}
	cr_assert_gt(spread, 0);
	/* float32 inputs (user models): the walk in units of 1/32 */
	other.input_dtype = TB_DTYPE_FLOAT32;
	{
		float fbuf[16];

		cr_assert_eq(tb_workload_test_input(&other, 5, fbuf, sizeof(fbuf)), 0);
		for (i = 0; i < 16; i++)
			cr_assert(fbuf[i] >= -1.25f && fbuf[i] <= 1.25f, "float %d = %g", i,
				  (double)fbuf[i]);
	}
	other.input_dtype = TB_DTYPE_INT16;
	cr_assert_lt(tb_workload_test_input(&other, 5, ubuf, sizeof(ubuf)), 0);
}

/* ---- inference ------------------------------------------------------- */

Test(workload_kws01, invoke_is_deterministic_and_checks_the_arena)
{
	const struct tb_workload *wl = kws01();
	int8_t in[490], out1[12], out2[12];
	void *a1 = arena_for(wl, wl->arena_size, 0x00);
	void *a2 = arena_for(wl, wl->arena_size, 0xA5);
	void *small = arena_for(wl, wl->arena_size - 1, 0);
	int seed;

	for (seed = 1; seed <= 10; seed++) {
		cr_assert_eq(tb_workload_test_input(wl, (uint32_t)seed, in, sizeof(in)), 0);
		cr_assert_eq(wl->invoke(wl, in, out1, a1, wl->arena_size), 0);
		cr_assert_eq(wl->invoke(wl, in, out2, a2, wl->arena_size), 0);
		cr_assert_arr_eq(out1, out2, 12, "seed %d", seed);
		cr_assert_eq(wl->invoke(wl, in, out1, a1, wl->arena_size), 0);
		cr_assert_arr_eq(out1, out2, 12, "seed %d (rerun)", seed);
	}
	cr_assert_lt(wl->invoke(wl, in, out1, small, wl->arena_size - 1), 0);
	free(a1);
	free(a2);
	free(small);
}

Test(workload_kws01, int8_output_agrees_with_float_network)
{
	const struct tb_workload *wl = kws01();
	struct tb_kws01_float *net = malloc(sizeof(*net));
	void *arena = arena_for(wl, wl->arena_size, 0);
	double err_sum = 0.0, err_max = 0.0;
	int seed, agree = 0, classes_seen = 0, seen[12] = { 0 }, c;
	const int n = 100;

	cr_assert_not_null(net);
	cr_assert_eq(tb_kws01_float_build(net, TB_KWS01_WEIGHT_SEED), 0);
	for (seed = 1; seed <= n; seed++) {
		int8_t in[490], out[12];
		float x[490], prob[12], q[12], sum = 0.0f;
		int tf, tq;

		cr_assert_eq(tb_workload_test_input(wl, (uint32_t)seed, in, sizeof(in)), 0);
		cr_assert_eq(wl->invoke(wl, in, out, arena, wl->arena_size), 0);
		tb_kws01_float_dequantize(in, x);
		tb_kws01_float_forward(net, x, NULL, prob, NULL);
		for (c = 0; c < 12; c++) {
			const double e = fabs((double)(q[c] = (out[c] + 128) / 256.0f) - prob[c]);

			err_sum += e;
			err_max = e > err_max ? e : err_max;
			sum += q[c];
		}
		cr_assert(sum > 0.9f && sum < 1.1f, "seed %d: probabilities sum to %f", seed, sum);
		tf = top1(prob, 12);
		tq = top1(q, 12);
		seen[tf] = 1;
		if (tf == tq) {
			agree++;
		} else {
			float second = 0.0f;

			for (c = 0; c < 12; c++)
				if (c != tf && prob[c] > second)
					second = prob[c];
			cr_assert_lt(prob[tf] - second, TIE_MARGIN,
				     "seed %d: float says %d (%.3f), int8 says %d", seed, tf,
				     prob[tf], tq);
		}
	}
	for (c = 0; c < 12; c++)
		classes_seen += seen[c];
	cr_log_info("kws01 int8 vs float: top-1 %d/%d, max |dp| %.4f, mean |dp| %.5f",
		    agree, n, err_max, err_sum / (12 * n));
	cr_assert_geq(agree * 100, AGREE_MIN_PERCENT * n, "top-1 agreement %d/%d", agree, n);
	cr_assert_leq(err_max, PROB_ERR_MAX, "max probability error %.4f", err_max);
	cr_assert_leq(err_sum / (12 * n), PROB_ERR_MEAN, "mean error %.5f", err_sum / (12 * n));
	cr_assert_geq(classes_seen, 4, "the network should not answer one class only");
	free(net);
	free(arena);
}

/* ---- arena plan ------------------------------------------------------ */

Test(workload_kws01, planned_arena_is_tight_and_safe)
{
	const struct tb_workload *wl = kws01();
	const struct tb_workload_nn *nn = kws01_nn();
	struct tb_nn_tensor_info t[64];
	struct tb_nn_model m;
	int32_t first[64], last[64];
	uint32_t i, j, peak = 0;
	int32_t step;

	cr_assert_eq(tb_nn_model_init(&m, nn->blob, nn->size), 0);
	cr_assert_leq(m.num_tensors, 64);
	for (i = 0; i < m.num_tensors; i++) {
		cr_assert_eq(tb_nn_model_tensor(&m, i, &t[i]), 0);
		first[i] = INT32_MAX;
		last[i] = -1;
	}
	/* lifetimes from the op table: first and last op touching a tensor */
	for (i = 0; i < m.num_ops; i++) {
		struct tb_nn_op_info op;
		uint16_t idx[TB_NN_MODEL_MAX_INPUTS + 1];

		cr_assert_eq(tb_nn_model_op(&m, i, &op), 0);
		memcpy(idx, op.inputs, sizeof(op.inputs));
		idx[TB_NN_MODEL_MAX_INPUTS] = op.outputs[0];
		for (j = 0; j <= TB_NN_MODEL_MAX_INPUTS; j++) {
			if (idx[j] == TB_NN_NO_TENSOR)
				continue;
			first[idx[j]] = (int32_t)i < first[idx[j]] ? (int32_t)i : first[idx[j]];
			last[idx[j]] = (int32_t)i > last[idx[j]] ? (int32_t)i : last[idx[j]];
		}
	}
	first[m.input] = 0;
	last[m.output] = m.num_ops - 1;

	for (step = 0; step < m.num_ops; step++) {
		uint32_t live = 0;

		for (i = 0; i < m.num_tensors; i++)
			if (!(t[i].flags & TB_NN_TENSOR_CONST) && first[i] <= step && step <= last[i])
				live += t[i].size;
		peak = live > peak ? live : peak;
	}
	for (i = 0; i < m.num_tensors; i++) {
		if (t[i].flags & TB_NN_TENSOR_CONST)
			continue;
		for (j = i + 1; j < m.num_tensors; j++) {
			if (t[j].flags & TB_NN_TENSOR_CONST)
				continue;
			if (first[i] <= last[j] && first[j] <= last[i])
				cr_assert(t[i].offset + t[i].size <= t[j].offset ||
					  t[j].offset + t[j].size <= t[i].offset,
					  "tensors %u and %u overlap while both live", i, j);
		}
	}
	/* conv/pw: 8000-byte input and output live together */
	cr_assert_eq(peak, 16000);
	cr_assert_geq(wl->arena_size, peak);
	cr_assert_leq(wl->arena_size, peak + peak / 20, "arena %u vs live peak %u",
		      wl->arena_size, peak);
	cr_assert_eq(wl->arena_size, tb_nn_model_arena_size(&m));
}
