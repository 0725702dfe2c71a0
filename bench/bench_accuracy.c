/*
 * bench_accuracy.c - how fast a full accuracy run is, and what it costs on
 * the wire (docs/ACCURACY.md, "Figures").
 *
 *   build/bench/tinybench-bench-accuracy [--kws N] [--vww N] [--baud-kws N]
 *                                        [--baud-vww N] [--baud-eembc-vww N]
 *                                        [--mcu-ms MS] [--mcu-vww N] [--keep DIR]
 *
 * Generates MLPerf Tiny-layout datasets (default 1,000 KWS-sized inputs of
 * 490 bytes and 100 VWW-sized inputs of 27,648 bytes) and scores them on
 * the sim board:
 *
 *   1. on the pty (no line rate): tinybench protocol with pipelined uploads,
 *      without, and the EEMBC protocol (board sim-eembc);
 *   2. on an emulated 115200-baud UART (the runner's --baud: bytes cross at
 *      11,520 per second each way, received ones wait in a ring while it
 *      infers, as on a microcontroller with a DMA-fed UART): the same three,
 *      on the first --baud-* inputs of each dataset (EEMBC on VWW takes
 *      seconds per input, so it scores few by default);
 *   3. the same line with every inference slowed to --mcu-ms (default 300,
 *      about a Cortex-M4's VWW): where overlapping the upload with the
 *      inference shows.
 *
 * For each it prints seconds per input, wire bytes per input (both
 * directions), the host -> device utilisation of the line, and the time
 * those wire bytes need at 115200 baud.  MLPerf Tiny's runner is quoted at
 * about 7 s per VWW input at 115200 baud.
 */
#include "tb_accuracy.h"
#include "tb_workload.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_BAUD 115200u

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len) {
		fprintf(stderr, "tinybench-bench-accuracy: %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f);
}

/* n inputs of wl (the deterministic test inputs) in root/name/, in the
 * MLPerf layout; uint8 images for vww01. */
static int make_dataset(const char *root, const char *name, const struct tb_workload *wl,
			int n, char *dir, size_t dir_len)
{
	uint8_t *in = malloc(wl->input_size);
	char path[4096], *csv = malloc((size_t)n * 64 + 1);
	size_t pos = 0;
	int rc = 0;

	snprintf(dir, dir_len, "%s/%s", root, name);
	if (!in || !csv || (mkdir(dir, 0700) < 0 && errno != EEXIST)) {
		free(in);
		free(csv);
		return -1;
	}
	for (int i = 0; i < n && !rc; i++) {
		tb_workload_test_input(wl, 1000u + (uint32_t)i, in, wl->input_size);
		if (wl->input_zero_point == -128)
			for (uint32_t k = 0; k < wl->input_size; k++)
				in[k] ^= 0x80u; /* the int8 tensor as its uint8 image */
		snprintf(path, sizeof(path), "%s/in_%06d.bin", dir, i);
		rc = write_file(path, in, wl->input_size);
		pos += (size_t)sprintf(csv + pos, "in_%06d.bin,%d,%d\n", i,
				       wl->id == TB_WL_KWS01 ? 12 : 2,
				       i % (wl->id == TB_WL_KWS01 ? 12 : 2));
	}
	snprintf(path, sizeof(path), "%s/y_labels.csv", dir);
	if (!rc)
		rc = write_file(path, csv, pos);
	free(in);
	free(csv);
	return rc;
}

struct row {
	const char *what;
	struct tb_acc_result r;
	int ok;
};

static long mcu_ms;

static int run(const char *board, const char *wl, const char *dataset, const char *db,
	       size_t limit, int pipeline, uint32_t baud, struct row *row)
{
	static char baud_arg[16], slow_arg[32];
	static const char *args[8];
	struct tb_acc_opts o = {
		.board = board, .workload = wl, .dataset = dataset, .db_path = db,
		.limit = limit, .pipeline = pipeline, .infer_timeout_ms = 120000,
	};
	struct tb_error err = { 0 };
	int rc;

	if (baud) {
		snprintf(baud_arg, sizeof(baud_arg), "%u", baud);
		args[0] = "--baud";
		args[1] = baud_arg;
		args[2] = NULL;
		if (mcu_ms) {
			snprintf(slow_arg, sizeof(slow_arg), "slow=%ld", mcu_ms);
			args[2] = "--fault";
			args[3] = slow_arg;
			args[4] = NULL;
		}
		o.conn.runner_args = args;
		o.line_baud = baud;
	}
	rc = tb_accuracy_run(&o, &row->r, &err);
	row->ok = rc == 0;
	if (rc < 0)
		fprintf(stderr, "tinybench-bench-accuracy: %s: %s\n", row->what, err.msg);
	return rc;
}

static void print_row(const struct row *w)
{
	const struct tb_acc_result *r = &w->r;
	double per = r->n_scored ? (double)(r->wire_out + r->wire_in) / (double)r->n_scored : 0;
	double out_per = r->n_scored ? (double)r->wire_out / (double)r->n_scored : 0;

	if (!w->ok) {
		printf("%-44s failed\n", w->what);
		return;
	}
	printf("%-44s %6zu %10.4f %10.0f %10.0f ", w->what, r->n_scored,
	       r->seconds_per_input, out_per, per);
	if (isnan(r->utilisation_out))
		printf("%8s ", "-");
	else
		printf("%7.1f%% ", 100 * r->utilisation_out);
	printf("%10.4f\n", out_per / (LINE_BAUD / 10.0));
}

static void header(const char *title)
{
	printf("\n%s\n", title);
	printf("%-44s %6s %10s %10s %10s %8s %10s\n", "", "inputs", "s/input", "B out/in.",
	       "B both/in.", "util.", "s@115200");
}

int main(int argc, char **argv)
{
	const struct tb_workload *kws = tb_workload_by_name("kws01");
	const struct tb_workload *vww = tb_workload_by_name("vww01");
	long n_kws = 1000, n_vww = 100, b_kws = 100, b_vww = 10, b_eembc_vww = 2;
	long mcu = 300, mcu_vww = 5;
	char root[256] = "/tmp/tb-bench-acc-XXXXXX", kdir[512], vdir[512], db[600];
	const char *keep = NULL;
	struct row rows[16];
	int k = 0;

	for (int i = 1; i < argc; i++) {
		long *v = !strcmp(argv[i], "--kws") ? &n_kws : !strcmp(argv[i], "--vww") ? &n_vww :
			  !strcmp(argv[i], "--baud-kws") ? &b_kws :
			  !strcmp(argv[i], "--baud-vww") ? &b_vww :
			  !strcmp(argv[i], "--baud-eembc-vww") ? &b_eembc_vww :
			  !strcmp(argv[i], "--mcu-ms") ? &mcu :
			  !strcmp(argv[i], "--mcu-vww") ? &mcu_vww : NULL;

		if (v && i + 1 < argc) {
			*v = strtol(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--keep") && i + 1 < argc) {
			keep = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [--kws N] [--vww N] [--baud-kws N] [--baud-vww N]"
				" [--baud-eembc-vww N] [--mcu-ms MS] [--mcu-vww N] [--keep DIR]\n", argv[0]);
			return 2;
		}
	}
	if (n_kws < 1 || n_vww < 1 || b_kws < 0 || b_vww < 0 || b_eembc_vww < 0 ||
	    mcu < 0 || mcu > 60000 || mcu_vww < 0) {
		fprintf(stderr, "tinybench-bench-accuracy: counts must be >= 1 (baud ones >= 0)\n");
		return 2;
	}
	if (keep) {
		snprintf(root, sizeof(root), "%s", keep);
		mkdir(root, 0700);
	} else if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	setenv("TINYBENCH_DAEMON", "/nonexistent", 1);
	snprintf(db, sizeof(db), "%s/results.db", root);
	if (make_dataset(root, "kws01", kws, (int)n_kws, kdir, sizeof(kdir)) < 0 ||
	    make_dataset(root, "vww01", vww, (int)n_vww, vdir, sizeof(vdir)) < 0)
		return 1;
	printf("datasets: %ld KWS inputs (%u B), %ld VWW inputs (%u B) in %s\n", n_kws,
	       kws->input_size, n_vww, vww->input_size, root);

	header("sim board, pty (no line rate)");
#define RUN(WHAT, BOARD, WL, DIR, LIMIT, PIPE, BAUD) \
	do { if (k >= 16) return 1; \
	     rows[k].what = WHAT; run(BOARD, WL, DIR, db, LIMIT, PIPE, BAUD, &rows[k]); \
	     print_row(&rows[k]); fflush(stdout); k++; } while (0)
	RUN("KWS tinybench, pipelined uploads", "sim", "kws01", kdir, 0, -1, 0);
	RUN("KWS tinybench, upload after each result", "sim", "kws01", kdir, 0, 0, 0);
	RUN("KWS EEMBC (sim-eembc)", "sim-eembc", "kws01", kdir, 0, 0, 0);
	RUN("VWW tinybench, pipelined uploads", "sim", "vww01", vdir, 0, -1, 0);
	RUN("VWW tinybench, upload after each result", "sim", "vww01", vdir, 0, 0, 0);
	RUN("VWW EEMBC (sim-eembc)", "sim-eembc", "vww01", vdir, 0, 0, 0);

	header("sim board on an emulated 115200-baud UART (runner --baud 115200)");
	if (b_kws) {
		RUN("KWS tinybench, pipelined uploads", "sim", "kws01", kdir, (size_t)b_kws, -1,
		    LINE_BAUD);
		RUN("KWS tinybench, upload after each result", "sim", "kws01", kdir,
		    (size_t)b_kws, 0, LINE_BAUD);
		RUN("KWS EEMBC (sim-eembc)", "sim-eembc", "kws01", kdir, (size_t)b_kws, 0,
		    LINE_BAUD);
	}
	if (b_vww) {
		RUN("VWW tinybench, pipelined uploads", "sim", "vww01", vdir, (size_t)b_vww, -1,
		    LINE_BAUD);
		RUN("VWW tinybench, upload after each result", "sim", "vww01", vdir,
		    (size_t)b_vww, 0, LINE_BAUD);
	}
	if (b_eembc_vww)
		RUN("VWW EEMBC (sim-eembc)", "sim-eembc", "vww01", vdir, (size_t)b_eembc_vww, 0,
		    LINE_BAUD);
	if (mcu && mcu_vww) {
		char title[160];

		snprintf(title, sizeof(title), "the same line, every inference %ld ms (the runner's "
			 "--fault slow=%ld: a microcontroller's pace)", mcu, mcu);
		header(title);
		mcu_ms = mcu;
		RUN("VWW tinybench, pipelined uploads", "sim", "vww01", vdir, (size_t)mcu_vww, -1,
		    LINE_BAUD);
		RUN("VWW tinybench, upload after each result", "sim", "vww01", vdir,
		    (size_t)mcu_vww, 0, LINE_BAUD);
		mcu_ms = 0;
	}
	printf("\ns/input: wall time per input over the whole run; B out/in.: wire bytes\n"
	       "host -> device per input; util.: of the line's 11,520 B/s host -> device;\n"
	       "s@115200: those bytes at 115200 baud (8N1), the upload alone.\n"
	       "MLPerf Tiny's runner: about 7 s per VWW input at 115200 baud.\n");
	if (!keep) {
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			fprintf(stderr, "tinybench-bench-accuracy: could not remove %s\n", root);
	}
	for (int i = 0; i < k; i++)
		if (!rows[i].ok)
			return 1;
	return 0;
}
