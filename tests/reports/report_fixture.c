/*
 * report_fixture.c - write a results database with a realistic spread of
 * runs for the report/compare/check tests, through the store API:
 *
 *   tb-report-fixture DB [--nights N] [--slow-last] [--empty]
 *
 * Boards (each with kws01 and vww01, one run per "night", nights one day
 * apart, tagged git.commit / git.branch / nightly):
 *   sim            host-monotonic-clock, no footprint, no energy
 *   qemu-m4        qemu-icount-instructions (an estimate), flash/static RAM,
 *                  energy from emulated:ppk2
 *   nucleo-l4r5zi  hardware-timer, flash/static RAM, measured:ppk2 energy
 *                  and a power trace on its last run's trial 0
 * plus one failed run on nucleo-l4r5zi.  The figures are deterministic
 * (a fixed pseudo-random sequence).  --slow-last makes every board's last
 * night 30 % slower and 10 % hungrier (the regression case).  --empty
 * writes a database with no run at all.
 */
#include "tb_store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng = 12345;

static double noise(void)	/* in [-1, 1) */
{
	rng = rng * 1103515245u + 12345u;
	return ((rng >> 8) & 0xffff) / 32768.0 - 1.0;
}

struct board {
	const char *name, *cpu, *timing, *energy;
	int64_t clock, flash, ram;
	double lat[2];		/* kws01, vww01: ms */
	double spread;		/* relative trial noise */
	double uj_per_ms;	/* energy per ms of inference */
};

static const struct board boards[] = {
	{ "sim", "x86_64", "host-monotonic-clock", NULL, -1, -1, -1,
	  { 1.3, 9.8 }, 0.03, 0 },
	{ "qemu-m4", "cortex-m4f", "qemu-icount-instructions", "emulated:ppk2",
	  25000000, 118000, 9400, { 212.0, 1630.0 }, 0.0, 3.1 },
	{ "nucleo-l4r5zi", "cortex-m4f", "hardware-timer", "measured:ppk2",
	  120000000, 121500, 10100, { 61.5, 470.0 }, 0.004, 9.6 },
};

static const char *const workloads[2] = { "kws01", "vww01" };
static const int64_t arena[2] = { 16000, 72000 };
static const int64_t stack[2] = { 1576, 2210 };

static int fail(struct tb_error *e)
{
	fprintf(stderr, "tb-report-fixture: %s\n", e->msg);
	return 1;
}

static int add_run(struct tb_store *s, const struct board *b, int w, int night,
		   int64_t t0, double slow, int status_failed, struct tb_error *e)
{
	char commit[16], nightly[16];
	struct tb_run_info in = {
		.board = b->name, .board_cpu = b->cpu, .board_clock_hz = b->clock,
		.timer_hz = b->clock > 0 ? b->clock : 1000000000,
		.timing_method = b->timing, .workload = workloads[w],
		.model_hash = "9c75120aa30fcc52", .runner_version = "0.1.0",
		.runner_build_id = "1f0e2d3c4b5a", .protocol_version = 1,
		.harness_version = "0.1.0", .harness_build_id = "1f0e2d3c4b5a",
		.host = "bench-1", .port = "/dev/ttyACM0", .input_source = "test inputs",
		.params_json = "{\"trials\":5}", .started_at = t0,
		.flash_bytes = b->flash, .static_ram_bytes = b->ram,
		.energy_method = b->energy,
	};
	int64_t id;
	int k, rc;

	rc = tb_store_run_begin(s, &in, &id, e);
	if (rc)
		return rc;
	snprintf(commit, sizeof(commit), "c0ffee%02d", night);
	snprintf(nightly, sizeof(nightly), "n%02d", night);
	if ((rc = tb_store_tag_set(s, id, "git.commit", commit, e)) ||
	    (rc = tb_store_tag_set(s, id, "git.branch", "main", e)) ||
	    (rc = tb_store_tag_set(s, id, "nightly", nightly, e)))
		return rc;
	for (k = 0; k < 5; k++) {
		double lat = b->lat[w] * slow * (1 + b->spread * noise());
		struct tb_trial t = {
			.idx = k, .started_at = t0 + 100 + k * 1000,
			.ended_at = t0 + 1100 + k * 1000, .inferences = 100,
			.warmups = 10, .ticks = (uint64_t)(lat * 100 * 1e3),
			.timer_hz = 1000000, .latency_ms = lat,
			.inf_min_ms = lat * 0.98, .inf_max_ms = lat * 1.03,
			.stack_peak = (int64_t)(stack[w] * (slow > 1 ? 1.1 : 1.0)),
			.stack_size = 16384,
			.arena_peak = arena[w], .arena_size = 262144,
			.output_check = TB_OUTPUT_MATCH, .status = TB_TRIAL_OK,
			.link_retries = 0, .frames_dropped = 0,
			.energy_uj = NAN, .power_mw = NAN, .energy_window_ms = NAN,
			.energy_samples = -1, .energy_sample_hz = NAN,
			.energy_lost_samples = -1,
		};

		if (b->energy) {
			t.energy_uj = lat * b->uj_per_ms * (1 + 0.01 * noise());
			t.power_mw = t.energy_uj / lat;
			t.energy_window_ms = 1000;
			t.energy_samples = 100000;
			t.energy_sample_hz = 100000;
			t.energy_lost_samples = 0;
		}
		if (status_failed && k == 2) {
			t.status = TB_TRIAL_FAILED;
			t.reason = "timeout: no reply within 2000 ms";
		}
		rc = tb_store_trial_add(s, id, &t, e);
		if (rc)
			return rc;
		if (status_failed && k == 2)
			break;
	}
	if (b->energy && !strncmp(b->energy, "measured:", 9) && w == 0 && !status_failed) {
		/* A trace: idle, then bursts of inference, 1 kHz bins. */
		float mw[2000];
		int i;

		for (i = 0; i < 2000; i++)
			mw[i] = (float)((i % 250) < 180 ? 9.6 + 0.6 * noise() : 1.2 + 0.1 * noise());
		mw[1500] = NAN;		/* a bin without samples */
		rc = tb_store_trace_add(s, id, 0, 1000.0, mw, 2000, e);
		if (rc)
			return rc;
	}
	return tb_store_run_finish(s, id, status_failed ? TB_RUN_FAILED : TB_RUN_OK,
				   status_failed ? "board stopped answering" : NULL,
				   t0 + 6000, e);
}

int main(int argc, char **argv)
{
	struct tb_store *s = NULL;
	struct tb_error e = { 0 };
	int nights = 6, slow_last = 0, empty = 0, n, w, i;
	const int64_t day = 86400000, t0 = 1714521600000;	/* 2024-05-01 */

	if (argc < 2) {
		fprintf(stderr, "usage: tb-report-fixture DB [--nights N] [--slow-last] [--empty]\n");
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--nights") && i + 1 < argc)
			nights = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--slow-last"))
			slow_last = 1;
		else if (!strcmp(argv[i], "--empty"))
			empty = 1;
		else
			return 2;
	}
	if (tb_store_open(argv[1], &s, &e))
		return fail(&e);
	if (empty) {
		tb_store_close(s);
		return 0;
	}
	for (n = 0; n < nights; n++) {
		for (i = 0; i < (int)(sizeof(boards) / sizeof(boards[0])); i++) {
			for (w = 0; w < 2; w++) {
				double slow = slow_last && n == nights - 1 ? 1.3 : 1.0;

				if (add_run(s, &boards[i], w, n, t0 + n * day + (i * 2 + w) * 60000,
					    slow, 0, &e))
					return fail(&e);
			}
		}
	}
	/* A failed run: kept, shown in the runs table, not in the charts. */
	if (add_run(s, &boards[2], 1, nights, t0 + nights * day, 1.0, 1, &e))
		return fail(&e);
	tb_store_close(s);
	return 0;
}
