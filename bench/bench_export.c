/*
 * bench_export.c - how fast stored trials are exported.
 *
 *   build/bench/tinybench-bench-export [--trials N] [--per-run K]
 *        [--format csv|json|md] [--per trial|run] [--repeat R] [--dir DIR]
 *        [--keep]
 *
 * Generates N trials (default 100,000) in runs of K (default 5) into a
 * fresh temporary database through the store API -- every field set as a
 * real run sets it (run info, tags, output tensor, energy figures) -- then
 * exports them R times (default 3) to a file in the same directory and
 * prints the best and median time, rows per second and seconds per 10,000
 * rows.  The database goes under DIR (default /dev/shm when writable, else
 * $TMPDIR or /tmp): the store commits every trial in its own transaction,
 * so generation on a disk is bounded by fsync, which is not what is being
 * measured.
 */
#include "tb_export.h"
#include "tb_store.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const struct tb_error *err)
{
	fprintf(stderr, "tinybench-bench-export: %s\n", err->msg);
	return 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static const char *default_dir(void)
{
	const char *t = getenv("TMPDIR");

	if (access("/dev/shm", W_OK) == 0)
		return "/dev/shm";
	return t && *t ? t : "/tmp";
}

static int generate(struct tb_store *s, long n, long per_run, struct tb_error *err)
{
	static const char *const boards[] = { "sim", "qemu-m4", "nucleo-l4r5zi", "qemu-rv32" };
	static const char *const wls[] = { "kws01", "vww01", "ad01", "ic01" };
	uint8_t out[12] = { 0x81, 0x7f, 0x00, 0x10, 0x22, 0x2c, 0x0a, 0x0d, 1, 2, 3, 4 };
	int64_t t0 = 1714521600000, id;
	long done = 0, r = 0;
	char commit[16];
	int rc;

	while (done < n) {
		int b = (int)(r % 4), w = (int)((r / 4) % 4), energy = b >= 2;
		struct tb_run_info in = {
			.board = boards[b], .board_cpu = "cortex-m4f",
			.board_clock_hz = 25000000, .timer_hz = 25000000,
			.timing_method = b == 0 ? "host-monotonic-clock" : "qemu-icount-instructions",
			.workload = wls[w],
			.model_hash = "9c75120aa30fcc5244e2a1c6a1d0a7f2b54ac11bd0a3e7f93e2e6d5f4a1b2c3d",
			.runner_version = "0.1.0", .runner_build_id = "1f0e2d3c4b5a",
			.protocol_version = 1, .harness_version = "0.1.0",
			.harness_build_id = "1f0e2d3c4b5a-dirty", .host = "bench-host-1",
			.port = "pty /dev/pts/4 (spawned runner)",
			.input_source = "tinybench test inputs (seed = trial)",
			.params_json = "{\"trials\":5,\"min_time_s\":1,\"inferences\":408,"
				       "\"warmups\":10,\"profile\":\"default\"}",
			.started_at = t0 + r * 60000,
			.firmware_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			.flash_bytes = 118000, .static_ram_bytes = 9400,
			.energy_method = energy ? "measured:ppk2" : NULL,
		};

		rc = tb_store_run_begin(s, &in, &id, err);
		if (rc)
			return rc;
		snprintf(commit, sizeof(commit), "c0ffee%04ld", r % 10000);
		if ((rc = tb_store_tag_set(s, id, "git.commit", commit, err)) ||
		    (rc = tb_store_tag_set(s, id, "git.branch", "main", err)))
			return rc;
		for (long k = 0; k < per_run && done < n; k++, done++) {
			double lat = 2.5 + 0.001 * (double)(done % 97);
			struct tb_trial t = {
				.idx = k, .started_at = in.started_at + 100 + k * 1000,
				.ended_at = in.started_at + 1100 + k * 1000,
				.inferences = 408, .warmups = 10,
				.ticks = (uint64_t)(lat * 408 * 25000), .timer_hz = 25000000,
				.latency_ms = lat, .inf_min_ms = lat * 0.98,
				.inf_max_ms = lat * 1.83, .stack_peak = 1144,
				.stack_size = 65536, .arena_peak = 16000, .arena_size = 131072,
				.input_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
				.output = out, .output_len = sizeof(out),
				.output_check = TB_OUTPUT_MATCH, .status = TB_TRIAL_OK,
				.link_retries = 0, .frames_dropped = 0,
				.energy_uj = energy ? lat * 9.6 : NAN,
				.power_mw = energy ? 9.6 : NAN,
				.energy_window_ms = energy ? 1000.0 : NAN,
				.energy_samples = energy ? 100000 : -1,
				.energy_sample_hz = energy ? 100000.0 : NAN,
				.energy_lost_samples = energy ? 0 : -1,
			};

			rc = tb_store_trial_add(s, id, &t, err);
			if (rc)
				return rc;
		}
		rc = tb_store_run_finish(s, id, TB_RUN_OK, NULL, in.started_at + 6000, err);
		if (rc)
			return rc;
		r++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct tb_export_opts eo = { .format = TB_EXPORT_CSV, .per = TB_EXPORT_PER_TRIAL };
	const char *dir = default_dir(), *fmt = "csv";
	long n = 100000, per_run = 5, repeat = 3;
	struct tb_error err = { 0 };
	struct tb_store *s = NULL;
	char tmpl[4096], db[4200], out_path[4200];
	double t, gen_s, *times, best, med, rows;
	int keep = 0, rc = 1;
	struct stat sb;
	FILE *out;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--trials") && i + 1 < argc)
			n = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--per-run") && i + 1 < argc)
			per_run = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--format") && i + 1 < argc)
			fmt = argv[++i];
		else if (!strcmp(argv[i], "--per") && i + 1 < argc)
			eo.per = !strcmp(argv[++i], "run") ? TB_EXPORT_PER_RUN : TB_EXPORT_PER_TRIAL;
		else if (!strcmp(argv[i], "--keep"))
			keep = 1;
		else {
			fprintf(stderr, "usage: tinybench-bench-export [--trials N] [--per-run K] "
				"[--format csv|json|md] [--per trial|run] [--repeat R] [--dir DIR] [--keep]\n");
			return 2;
		}
	}
	if (n < 1 || per_run < 1 || repeat < 1)
		return 2;
	if (!strcmp(fmt, "json"))
		eo.format = TB_EXPORT_JSON;
	else if (!strcmp(fmt, "md"))
		eo.format = TB_EXPORT_MD;
	else if (strcmp(fmt, "csv"))
		return 2;

	snprintf(tmpl, sizeof(tmpl), "%s/tinybench-bench-export.XXXXXX", dir);
	if (!mkdtemp(tmpl)) {
		fprintf(stderr, "tinybench-bench-export: cannot create a directory in %s: %s\n",
			dir, strerror(errno));
		return 1;
	}
	snprintf(db, sizeof(db), "%s/results.db", tmpl);
	snprintf(out_path, sizeof(out_path), "%s/export.out", tmpl);
	times = calloc((size_t)repeat, sizeof(double));
	if (!times)
		return 1;

	printf("generating %ld trials (%ld per run) in %s ...\n", n, per_run, db);
	fflush(stdout);
	if (tb_store_open(db, &s, &err)) {
		rc = fail(&err);
		goto out;
	}
	t = now_s();
	if (generate(s, n, per_run, &err)) {
		rc = fail(&err);
		goto out;
	}
	gen_s = now_s() - t;
	printf("generated in %.2f s (%.0f trials/s through tb_store_trial_add)\n",
	       gen_s, (double)n / gen_s);

	for (long k = 0; k < repeat; k++) {
		out = fopen(out_path, "w");
		if (!out) {
			fprintf(stderr, "tinybench-bench-export: %s: %s\n", out_path, strerror(errno));
			goto out;
		}
		t = now_s();
		rc = tb_export(s, &eo, out, &err);
		if (fclose(out) != 0 && rc == 0)
			rc = TB_ERR_IO;
		times[k] = now_s() - t;
		if (rc) {
			rc = fail(&err);
			goto out;
		}
	}
	qsort(times, (size_t)repeat, sizeof(double), cmp_double);
	best = times[0];
	med = times[repeat / 2];
	rows = eo.per == TB_EXPORT_PER_RUN ? ceil((double)n / (double)per_run) : (double)n;
	stat(out_path, &sb);
	printf("export --format %s --per %s: %.0f rows, %.1f MB, best %.3f s, median %.3f s "
	       "of %ld\n", fmt, eo.per == TB_EXPORT_PER_RUN ? "run" : "trial", rows,
	       (double)sb.st_size / 1e6, best, med, repeat);
	printf("%.0f rows/s; %.4f s per 10,000 rows (median %.4f)\n", rows / best,
	       best / rows * 10000.0, med / rows * 10000.0);
	rc = 0;
out:
	tb_store_close(s);
	if (!keep) {
		char wal[4300];

		unlink(out_path);
		unlink(db);
		snprintf(wal, sizeof(wal), "%s-wal", db);
		unlink(wal);
		snprintf(wal, sizeof(wal), "%s-shm", db);
		unlink(wal);
		rmdir(tmpl);
	} else {
		printf("kept %s\n", tmpl);
	}
	free(times);
	return rc;
}
