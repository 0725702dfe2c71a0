/*
 * End-to-end tests of MLPerf Tiny interoperability and accuracy mode: the
 * `tinybench` CLI against the native runner speaking the tinybench
 * protocol (board sim) and the EEMBC protocol of MLPerf Tiny firmware
 * (board sim-eembc: the runner core's EEMBC mode, an implementation the
 * host's EEMBC driver shares no code with).
 *
 * The datasets are generated here in the MLPerf Tiny layout with labels
 * chosen so that the metric is known exactly: the host runs the built-in
 * model on every generated input (the same bit-exact kernels the runner
 * has) and labels a known number of inputs wrongly (KWS: top-1 exactly
 * 30/40), or orders the anomaly scores so that the ROC AUC is exactly 7/9
 * (AD).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../workloads/tb_shared.h"
#include "e2e_util.h"
#include "tb_nn.h"
#include "tb_postproc.h"
#include "tb_workload.h"

extern char **environ;

static char tmpdir[256];
static char db[512];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tb-e2e-acc-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(db, sizeof(db), "%s/results.db", tmpdir);
	setenv("XDG_DATA_HOME", tmpdir, 1);
	setenv("XDG_CONFIG_HOME", tmpdir, 1);
	setenv("TINYBENCH_DAEMON", "/nonexistent/tinybenchd.sock", 1);
}

static void teardown(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(acc, .init = setup, .fini = teardown, .timeout = 120);

static int contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* A number after "key": in JSON output. */
static double json_num(const char *json, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\": ", key);
	p = strstr(json, k);
	cr_assert_not_null(p, "no %s in %s", key, json);
	return strtod(p + strlen(k), NULL);
}

static long long sql_int(const char *sql)
{
	sqlite3 *d;
	sqlite3_stmt *st;
	long long v = -1;

	cr_assert_eq(sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(d, 5000);
	cr_assert_eq(sqlite3_prepare_v2(d, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
		     sqlite3_errmsg(d));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(d);
	return v;
}

/* The same, -1 when the database is not there or not ready yet. */
static long long sql_int_try(const char *sql)
{
	sqlite3 *d;
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(d);
		return -1;
	}
	sqlite3_busy_timeout(d, 5000);
	if (sqlite3_prepare_v2(d, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(d);
	return v;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* ----------------------------------------------------------------------
 * Datasets with known answers
 */
#define KWS_N 40
#define KWS_WRONG 10

/* KWS_N inputs (the deterministic test inputs, seeds 100..); the first
 * KWS_WRONG labelled one class off the model's prediction. */
static void make_kws(const char *dir)
{
	const struct tb_workload *wl = tb_workload_by_name("kws01");
	static uint8_t arena[1 << 17] __attribute__((aligned(16)));
	uint8_t in[490], out[12];
	char path[600], csv[8192] = "";

	cr_assert_eq(mkdir(dir, 0700), 0);
	for (int i = 0; i < KWS_N; i++) {
		int32_t pred;

		cr_assert_eq(tb_workload_test_input(wl, 100u + (uint32_t)i, in, sizeof(in)), 0);
		cr_assert_eq(wl->invoke(wl, in, out, arena, sizeof(arena)), 0);
		pred = tb_post_top1_s8((const int8_t *)out, 12);
		snprintf(path, sizeof(path), "%s/tst_%06d_x.bin", dir, i);
		write_file(path, in, sizeof(in));
		snprintf(csv + strlen(csv), sizeof(csv) - strlen(csv), "tst_%06d_x.bin,12,%d\n", i,
			 i < KWS_WRONG ? (pred + 1) % 12 : pred);
	}
	snprintf(path, sizeof(path), "%s/y_labels.csv", dir);
	write_file(path, csv, strlen(csv));
}

#define AD_N 6
#define AD_FRAMES 9   /* 5 windows of 5 frames, stride one frame */

/* AD_N files whose host-computed scores, sorted, have the anomalies at
 * ranks 2, 5 and 6: ROC AUC = (2 + 5 + 6 - 3 x 4 / 2) / (3 x 3) = 7/9. */
static void make_ad(const char *dir)
{
	const struct tb_workload *wl = tb_workload_by_name("ad01");
	static uint8_t arena[1 << 16] __attribute__((aligned(16)));
	static float frames[AD_N][AD_FRAMES * 128];
	double score[AD_N];
	int order[AD_N], label[AD_N] = { 0 };
	char path[600], csv[4096] = "";
	uint32_t x = 12345;

	cr_assert_eq(mkdir(dir, 0700), 0);
	for (int f = 0; f < AD_N; f++) {
		double sum = 0;

		for (int i = 0; i < AD_FRAMES * 128; i++) {
			x = x * 1664525u + 1013904223u;
			frames[f][i] = (float)((int)(x >> 24) - 128) / 128.0f * (2.0f + 3.0f * f);
		}
		for (int w = 0; w + 5 <= AD_FRAMES; w++) {
			int8_t q[640], out[640];

			cr_assert_eq(tb_nn_quantize_f32_s8(frames[f] + w * 128, 640, wl->input_scale,
							   wl->input_zero_point, q), 0);
			cr_assert_eq(wl->invoke(wl, q, out, arena, sizeof(arena)), 0);
			sum += tb_post_mse_s8(q, wl->input_scale, wl->input_zero_point, out,
					      wl->output_scale, wl->output_zero_point, 640);
		}
		score[f] = sum / (AD_FRAMES - 4);
		order[f] = f;
	}
	for (int i = 0; i < AD_N; i++)
		for (int j = i + 1; j < AD_N; j++)
			if (score[order[j]] < score[order[i]]) {
				int t = order[i];

				order[i] = order[j];
				order[j] = t;
			}
	cr_assert(score[order[1]] < score[order[2]] && score[order[3]] < score[order[4]],
		  "distinct scores");
	label[order[1]] = label[order[4]] = label[order[5]] = 1; /* ranks 2, 5, 6 */
	for (int f = 0; f < AD_N; f++) {
		snprintf(path, sizeof(path), "%s/%s_%d.bin", dir, label[f] ? "anomaly" : "normal", f);
		write_file(path, frames[f], sizeof(frames[f]));
		snprintf(csv + strlen(csv), sizeof(csv) - strlen(csv), "%s_%d.bin,2,%d,2560,512\n",
			 label[f] ? "anomaly" : "normal", f, label[f]);
	}
	snprintf(path, sizeof(path), "%s/y_labels.csv", dir);
	write_file(path, csv, strlen(csv));
}

static void dsdir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* ----------------------------------------------------------------------
 * Accuracy: both protocols, known values, equal predictions
 */
Test(acc, kws_top1_is_exact_and_both_protocols_predict_alike)
{
	static struct e2e_result r;
	char ds[400];

	dsdir(ds, sizeof(ds), "kws01");
	make_kws(ds);
	TB(&r, "run", "--mode", "accuracy", "--board", "sim", "--workload", "kws",
	   "--dataset", ds, "--db", db, "--json");
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	cr_expect_float_eq(json_num(r.out, "top1"), 30.0 / 40.0, 1e-15, "%s", r.out);
	cr_expect(contains(r.out, "\"protocol\": \"tinybench\""), "%s", r.out);
	cr_expect(contains(r.out, "\"pipelined\": \"yes\""), "%s", r.out);

	TB(&r, "run", "--mode", "accuracy", "--board", "sim-eembc", "--workload", "kws",
	   "--dataset", ds, "--db", db, "--json");
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	cr_expect_float_eq(json_num(r.out, "top1"), 0.75, 1e-15, "%s", r.out);
	cr_expect(contains(r.out, "\"protocol\": \"eembc\""), "%s", r.out);

	/* The same again through firmware quirks (a trailing comma in
	 * m-results, a debug line before every m-ready). */
	TB(&r, "run", "--mode", "accuracy", "--board", "sim-eembc", "--workload", "kws",
	   "--dataset", ds, "--db", db, "--runner-arg", "--fault", "--runner-arg",
	   "eembc-quirks", "--json");
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	cr_expect_float_eq(json_num(r.out, "top1"), 0.75, 1e-15, "%s", r.out);

	cr_expect_eq(sql_int("SELECT count(*) FROM predictions WHERE run_id = 1"), KWS_N);
	cr_expect_eq(sql_int("SELECT count(*) FROM predictions a JOIN predictions b USING (idx)"
			     " WHERE a.run_id = 1 AND b.run_id = 2 AND a.predicted = b.predicted"
			     " AND a.input_sha256 = b.input_sha256"), KWS_N,
		     "every prediction equal over the two protocols");
	cr_expect_eq(sql_int("SELECT count(*) FROM predictions a JOIN predictions b USING (idx)"
			     " WHERE a.run_id = 1 AND b.run_id = 3 AND a.predicted = b.predicted"),
		     KWS_N);
	cr_expect_eq(sql_int("SELECT count(*) FROM predictions a JOIN predictions b USING (idx)"
			     " WHERE a.run_id = 1 AND b.run_id = 2 AND abs(a.score - b.score) < 1e-6"),
		     KWS_N, "and the same top score");
	cr_expect_eq(sql_int("SELECT count(*) FROM runs WHERE timing_method = 'eembc-lap-us'"
			     " AND model_hash IS NULL AND protocol_version IS NULL"), 2);

	/* Recomputed from the database. */
	TB(&r, "accuracy", "2", "--db", db, "--json");
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_expect_float_eq(json_num(r.out, "top1"), 0.75, 1e-15, "%s", r.out);
	TB(&r, "accuracy", "--db", db);
	cr_expect(contains(r.out, "top-1 accuracy: 75.00 % (30/40)"), "%s", r.out);
}

Test(acc, ad_auc_is_exact_on_both_protocols)
{
	static struct e2e_result r;
	char ds[400];

	dsdir(ds, sizeof(ds), "ad01");
	make_ad(ds);
	TB(&r, "run", "--mode", "accuracy", "--board", "sim", "--workload", "ad",
	   "--dataset", ds, "--db", db, "--json");
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	cr_expect_float_eq(json_num(r.out, "auc"), 7.0 / 9.0, 1e-12, "%s", r.out);
	cr_expect_eq(json_num(r.out, "inferences"), AD_N * 5, "5 windows a file");

	TB(&r, "run", "--mode", "accuracy", "--board", "sim-eembc", "--workload", "ad",
	   "--dataset", ds, "--db", db, "--json");
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	cr_expect_float_eq(json_num(r.out, "auc"), 7.0 / 9.0, 1e-12, "%s", r.out);
	cr_expect_eq(sql_int("SELECT count(*) FROM predictions a JOIN predictions b USING (idx)"
			     " WHERE a.run_id = 1 AND b.run_id = 2 AND a.predicted IS NULL"
			     " AND abs(a.score - b.score) <= 1e-6 * a.score AND a.windows = 5"
			     " AND b.windows = 5"), AD_N,
		     "equal file scores (the EEMBC values are printed with 6 decimals)");
}

/* A damaged line (one byte in 5,000 has a bit flipped, both ways)
 * costs retries, not predictions. */
Test(acc, a_damaged_line_gives_the_same_result)
{
	static struct e2e_result r;
	char ds[400];

	dsdir(ds, sizeof(ds), "kws01");
	make_kws(ds);
	TB(&r, "run", "--mode", "accuracy", "--board", "sim", "--workload", "kws",
	   "--dataset", ds, "--db", db, "--fault", "ber=2e-4,seed=5", "--attempts", "5",
	   "--json");
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	cr_expect_float_eq(json_num(r.out, "top1"), 0.75, 1e-15, "%s", r.out);
	cr_expect_eq(sql_int("SELECT count(*) FROM predictions WHERE run_id = 1"), KWS_N);
}

/* The MLPerf Tiny KWS reference model (imported from its .tflite) on the
 * golden inputs, labelled with the golden outputs' top class: 100 % through
 * both protocols.  Skipped without the shared material. */
Test(acc, reference_model_on_golden_inputs)
{
	static struct e2e_result r;
	char model[600], in[600], outp[600], ds[400], path[700], csv[200] = "";
	const char *boards[] = { "sim", "sim-eembc" };

	if (!tb_shared_path("mlperf-tiny/models/kws_ref_model.tflite", model, sizeof(model))) {
		cr_skip_test(TB_SHARED_SKIP_MSG);
		return;
	}
	dsdir(ds, sizeof(ds), "kws01");
	cr_assert_eq(mkdir(ds, 0700), 0);
	for (int seed = 1; seed <= 2; seed++) {
		unsigned char *x, *y;
		size_t nx = 0, ny = 0;
		int best = 0;

		snprintf(path, sizeof(path), "mlperf-tiny/golden/kws_in_seed%d.bin", seed);
		cr_assert_not_null(tb_shared_path(path, in, sizeof(in)));
		snprintf(path, sizeof(path), "mlperf-tiny/golden/kws_out_seed%d.bin", seed);
		cr_assert_not_null(tb_shared_path(path, outp, sizeof(outp)));
		x = tb_read_all(in, &nx);
		y = tb_read_all(outp, &ny);
		cr_assert(x && y && nx == 490 && ny == 12);
		for (int i = 1; i < 12; i++)
			if ((signed char)y[i] > (signed char)y[best])
				best = i;
		snprintf(path, sizeof(path), "%s/golden_%d.bin", ds, seed);
		write_file(path, x, nx);
		snprintf(csv + strlen(csv), sizeof(csv) - strlen(csv), "golden_%d.bin,12,%d\n",
			 seed, best);
		free(x);
		free(y);
	}
	snprintf(path, sizeof(path), "%s/y_labels.csv", ds);
	write_file(path, csv, strlen(csv));
	for (int b = 0; b < 2; b++) {
		TB(&r, "run", "--mode", "accuracy", "--board", boards[b], "--model", model,
		   "--dataset", ds, "--db", db, "--json");
		cr_assert_eq(r.status, 0, "%s: %s\n%s", boards[b], r.out, r.err);
		cr_expect_float_eq(json_num(r.out, "top1"), 1.0, 1e-15, "%s: %s", boards[b], r.out);
	}
}

/* ----------------------------------------------------------------------
 * Performance mode through both protocols
 */
Test(acc, performance_run_through_eembc_and_tinybench)
{
	static struct e2e_result r;
	sqlite3 *d;
	sqlite3_stmt *st;
	const struct tb_workload *wl = tb_workload_by_name("kws01");
	int rows = 0;

	TB(&r, "run", "--board", "sim-eembc", "--workload", "kws", "--trials", "2",
	   "--min-time", "0.2", "--db", db);
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	cr_expect(contains(r.out, "timing: eembc-lap-us"), "%s", r.out);
	cr_expect(contains(r.out, "memory: not reported (EEMBC protocol"), "%s", r.out);
	TB(&r, "run", "--board", "sim", "--workload", "kws", "--trials", "2",
	   "--min-time", "0.2", "--db", db);
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	cr_expect_eq(sql_int("SELECT count(*) FROM trials WHERE run_id = 1 AND status = 'ok'"
			     " AND stack_peak IS NULL AND arena_peak IS NULL AND latency_ms > 0"), 2,
		     "EEMBC trials: no memory figures, a latency");

	/* Trial k ran the same test input on both: the EEMBC scores are the
	 * tinybench output tensor, dequantised. */
	cr_assert_eq(sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(d, "SELECT a.output, b.output FROM trials a JOIN"
					" trials b USING (idx) WHERE a.run_id = 1 AND b.run_id = 2",
					-1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const uint8_t *f = sqlite3_column_blob(st, 0);
		const int8_t *q = sqlite3_column_blob(st, 1);

		cr_assert_eq(sqlite3_column_bytes(st, 0), 48);
		cr_assert_eq(sqlite3_column_bytes(st, 1), 12);
		for (int i = 0; i < 12; i++) {
			float v;

			memcpy(&v, f + 4 * i, 4);
			cr_expect_float_eq(v, wl->output_scale * (q[i] - wl->output_zero_point),
					   1e-6, "trial output %d", i);
		}
		rows++;
	}
	sqlite3_finalize(st);
	sqlite3_close(d);
	cr_expect_eq(rows, 2);
}

/* A user board with protocol = auto finds out what the runner speaks. */
Test(acc, protocol_auto_detects_either)
{
	static struct e2e_result r;
	char dir[400], path[500];
	static const char board[] =
		"[board]\nname = sim-auto\ncpu = host\narch = native\nclock_hz = 0\n"
		"transport = sim\nreset = process\ntiming = host-monotonic-clock\n"
		"protocol = auto\n";

	snprintf(dir, sizeof(dir), "%s/tinybench", tmpdir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/tinybench/boards", tmpdir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/sim-auto.ini", dir);
	write_file(path, board, sizeof(board) - 1);

	TB(&r, "run", "--board", "sim-auto", "--workload", "kws", "--trials", "1",
	   "--min-time", "0.1", "--db", db);
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	cr_expect(contains(r.out, "timing: host-monotonic-clock"), "tinybench: %s", r.out);
	TB(&r, "run", "--board", "sim-auto", "--workload", "kws", "--trials", "1",
	   "--min-time", "0.1", "--db", db, "--runner-arg", "--protocol", "--runner-arg", "eembc");
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	cr_expect(contains(r.out, "timing: eembc-lap-us"), "EEMBC: %s", r.out);
	/* A runner answering both: the probe finds EEMBC first. */
	TB(&r, "run", "--board", "sim-auto", "--workload", "kws", "--trials", "1",
	   "--min-time", "0.1", "--db", db, "--runner-arg", "--protocol", "--runner-arg", "auto");
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	/* And a tinybench board over a runner in auto mode: tinybench. */
	TB(&r, "run", "--board", "sim", "--workload", "kws", "--trials", "1",
	   "--min-time", "0.1", "--db", db, "--runner-arg", "--protocol", "--runner-arg", "auto");
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	cr_expect(contains(r.out, "1/1 match"), "%s", r.out);
}

/* ----------------------------------------------------------------------
 * Malformed datasets: clear errors naming file and line
 */
static void expect_fail(const char *ds, int code, const char *n1, const char *n2)
{
	static struct e2e_result r;

	TB(&r, "run", "--mode", "accuracy", "--board", "sim", "--workload", "kws",
	   "--dataset", ds, "--db", db);
	cr_expect_eq(r.status, code, "exit %d (want %d): %s", r.status, code, r.err);
	cr_expect(contains(r.err, n1), "'%s' not in: %s", n1, r.err);
	if (n2)
		cr_expect(contains(r.err, n2), "'%s' not in: %s", n2, r.err);
}

Test(acc, malformed_datasets)
{
	char ds[400], path[500], csv[600];
	uint8_t buf[490] = { 0 };

	dsdir(ds, sizeof(ds), "bad");
	cr_assert_eq(mkdir(ds, 0700), 0);
	expect_fail(ds, 3, "y_labels.csv", "No such file");

	snprintf(path, sizeof(path), "%s/y_labels.csv", ds);
	write_file(path, "a.bin,12,1\nb.bin,12\n", 20);
	snprintf(csv, sizeof(csv), "%s/y_labels.csv:2:", ds);
	expect_fail(ds, 2, csv, "2 fields; expected 3");

	write_file(path, "a.bin,12,1\nb.bin,12,12\n", 23);
	expect_fail(ds, 2, csv, "label 12 is out of range 0..11");

	write_file(path, "a.bin,12,1\nb.bin,12,2\n", 22);
	snprintf(path, sizeof(path), "%s/a.bin", ds);
	write_file(path, buf, sizeof(buf));
	snprintf(csv, sizeof(csv), "%s/y_labels.csv:2: input file %s/b.bin", ds, ds);
	expect_fail(ds, 3, csv, "No such file");

	snprintf(path, sizeof(path), "%s/b.bin", ds);
	write_file(path, buf, 100);
	expect_fail(ds, 2, csv, "has 100 bytes; kws01 takes exactly 490");
	cr_expect(access(db, F_OK) != 0 || sql_int("SELECT count(*) FROM runs") == 0,
		  "nothing is stored for a bad dataset");
}

/* ----------------------------------------------------------------------
 * Interrupted runs resume where they stopped
 */
Test(acc, a_failed_run_continues_as_a_new_one)
{
	static struct e2e_result r;
	char ds[400];

	dsdir(ds, sizeof(ds), "kws01");
	make_kws(ds);
	/* The runner dies in its 16th inference; no retry. */
	TB(&r, "run", "--mode", "accuracy", "--board", "sim", "--workload", "kws",
	   "--dataset", ds, "--db", db, "--attempts", "1", "--runner-arg", "--fault",
	   "--runner-arg", "die-after=15");
	cr_assert_eq(r.status, 1, "%s\n%s", r.out, r.err);
	cr_expect(contains(r.err, "--resume 1 continues it"), "%s", r.err);
	cr_expect_eq(sql_int("SELECT count(*) FROM predictions WHERE run_id = 1"), 15);
	cr_expect_eq(sql_int("SELECT count(*) FROM runs WHERE id = 1 AND status = 'failed'"), 1);

	TB(&r, "run", "--mode", "accuracy", "--board", "sim", "--workload", "kws",
	   "--dataset", ds, "--db", db, "--resume", "last", "--json");
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	cr_expect_eq(json_num(r.out, "run_id"), 2);
	cr_expect_eq(json_num(r.out, "resumed"), 15);
	cr_expect_eq(json_num(r.out, "scored"), KWS_N - 15);
	cr_expect_float_eq(json_num(r.out, "top1"), 0.75, 1e-15, "%s", r.out);
}

Test(acc, a_killed_run_resumes_in_place)
{
	static struct e2e_result r;
	char ds[400], out[65536], err[16384];
	int o, e, st;
	pid_t pid;
	const char *args[] = { "run", "--mode", "accuracy", "--board", "sim", "--workload",
			       "kws", "--dataset", NULL, "--db", db, "--runner-arg",
			       "--fault", "--runner-arg", "slow=40", NULL };

	dsdir(ds, sizeof(ds), "kws01");
	make_kws(ds);
	args[8] = ds;
	pid = e2e_spawn_cli(args, &o, &e);
	/* Predictions are committed at least every second. */
	for (int i = 0; i < 200; i++) {
		usleep(50000);
		if (access(db, F_OK) == 0 &&
		    sql_int_try("SELECT count(*) FROM predictions WHERE run_id = 1") >= 5)
			break;
	}
	kill(pid, SIGKILL);
	e2e_drain(o, out, sizeof(out));
	e2e_drain(e, err, sizeof(err));
	close(o);
	close(e);
	waitpid(pid, &st, 0);
	cr_assert_eq(sql_int("SELECT count(*) FROM runs WHERE id = 1 AND status = 'running'"), 1,
		     "a killed run stays running");
	cr_assert_geq(sql_int("SELECT count(*) FROM predictions WHERE run_id = 1"), 5);
	cr_assert_lt(sql_int("SELECT count(*) FROM predictions WHERE run_id = 1"), KWS_N);

	TB(&r, "run", "--mode", "accuracy", "--board", "sim", "--workload", "kws",
	   "--dataset", ds, "--db", db, "--resume", "1", "--json");
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	cr_expect_eq(json_num(r.out, "run_id"), 1, "the same run");
	cr_expect_geq(json_num(r.out, "resumed"), 5);
	cr_expect_float_eq(json_num(r.out, "top1"), 0.75, 1e-15, "%s", r.out);
	cr_expect_eq(sql_int("SELECT count(*) FROM predictions WHERE run_id = 1"), KWS_N);
	cr_expect_eq(sql_int("SELECT count(*) FROM runs"), 1);
}

/* ----------------------------------------------------------------------
 * Exports
 */
Test(acc, exports)
{
	static struct e2e_result r;
	char ds[400], out[500], path[700];
	FILE *f;
	char txt[4096] = "";

	dsdir(ds, sizeof(ds), "kws01");
	make_kws(ds);
	TB(&r, "run", "--mode", "accuracy", "--board", "sim", "--workload", "kws",
	   "--dataset", ds, "--db", db, "-q");
	cr_assert_eq(r.status, 0, "%s", r.err);
	TB(&r, "run", "--board", "sim", "--workload", "kws", "--trials", "5", "--min-time",
	   "0.05", "--db", db);
	cr_assert_eq(r.status, 0, "%s", r.err);

	snprintf(out, sizeof(out), "%s/pred.csv", tmpdir);
	TB(&r, "export", "--format", "csv", "--per", "input", "--db", db, "-o", out);
	cr_assert_eq(r.status, 0, "%s", r.err);
	f = fopen(out, "r");
	cr_assert_not_null(f);
	{
		char line[4096];
		int n = 0;

		while (fgets(line, sizeof(line), f))
			n++;
		cr_expect_eq(n, 1 + KWS_N, "header + one row per input: %d", n);
	}
	fclose(f);

	snprintf(out, sizeof(out), "%s/sessions", tmpdir);
	TB(&r, "export", "--format", "mlperf", "--db", db, "-o", out);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_expect(contains(r.err, "2 session folders"), "%s", r.err);
	snprintf(path, sizeof(path), "find '%s' -name results.txt | sort | xargs cat", out);
	f = popen(path, "r");
	cr_assert_not_null(f);
	fread(txt, 1, sizeof(txt) - 1, f);
	pclose(f);
	cr_expect(contains(txt, "ulp-mlperf: Top 1% = 75.0"), "%s", txt);
	cr_expect(contains(txt, "ulp-mlperf: AUC = "), "%s", txt);
	cr_expect(contains(txt, "ulp-mlperf: ERROR 2 - loop exited before 10 seconds elapsed."),
		  "a 0.05 s trial is not a valid MLPerf Tiny result: %s", txt);
	snprintf(path, sizeof(path), "find '%s' -name results.json | wc -l", out);
	f = popen(path, "r");
	fread(txt, 1, sizeof(txt) - 1, f);
	pclose(f);
	cr_expect_eq(atoi(txt), 2);
}
