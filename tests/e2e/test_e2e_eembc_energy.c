/*
 * End-to-end EEMBC energy mode: `tinybench run --energy` on the board
 * sim-eembc-energy, the native runner behaving as MLPerf Tiny energy-mode
 * firmware (no m-lap-us lines, a low pulse on the virtual timestamp line
 * at each timestamp) behind an emulated IO manager with the runner's UART
 * at 9600 baud.  The emulated PPK2 and LPM01A time the window from the
 * pulses: the energy per inference stored for every trial must be within
 * 0.5 % of the emulator's ground truth, the latency must be the monitor's
 * window / N (timing method eembc-gpio-timestamps), the predictions those
 * of the tinybench-protocol runner on the same inputs, and a missing pulse
 * must fail the trial with the reason.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_energy_db.h"
#include "e2e_util.h"
#include "tb_workload.h"

static char tmpdir[256], db[512], truth[512];
static char method[64], status[32];

static void setup(void)
{
	e2e_energy_setup(tmpdir, sizeof(tmpdir), "/tmp/tb-e2e-eembc-energy-XXXXXX", db, sizeof(db), truth,
			 sizeof(truth));
}

static void teardown(void)
{
	e2e_tmpdir_remove(tmpdir);
}

TestSuite(e2e_eembc_energy, .init = setup, .fini = teardown, .timeout = 60);

static int load(struct trial_row *rows, int cap)
{
	return e2e_load_trials(db, rows, cap, method, sizeof(method), status, sizeof(status));
}

static char *last_timing_method(char *buf, size_t len)
{
	sqlite3 *h;
	sqlite3_stmt *st;

	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, "SELECT timing_method FROM runs ORDER BY id DESC "
				       "LIMIT 1", -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	snprintf(buf, len, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(h);
	return buf;
}

/* Three trials through the IO manager, each within 0.5 % of the truth;
 * rows[] keeps them for the caller. */
static void ground_truth(const char *monitor, struct trial_row *rows)
{
	struct e2e_result res;
	char tm[64];
	double worst = 0;
	int n;

	TB(&res, "run", "--board", "sim-eembc-energy", "--workload", "kws", "--trials", "3",
	   "--min-time", "1", "--db", db, "--energy", monitor,
	   "--energy-arg", "--truth", "--energy-arg", truth, "-q");
	cr_assert_eq(res.status, 0, "exit %d\nstdout:\n%s\nstderr:\n%s", res.status, res.out,
		     res.err);
	cr_assert(strstr(res.out, "EMULATED instrument"), "%s", res.out);
	cr_assert(strstr(res.out, "timing: eembc-gpio-timestamps"), "%s", res.out);
	n = load(rows, 3);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(status, "ok");
	cr_assert(!strncmp(method, "emulated:", 9) && strstr(method, monitor), "%s", method);
	cr_assert_str_eq(last_timing_method(tm, sizeof(tm)), "eembc-gpio-timestamps");
	for (int i = 0; i < n; i++) {
		struct trial_row *r = &rows[i];
		/* the latency's window is the monitor's, in microseconds; both
		 * its edges at the instrument's sample resolution */
		double d = (double)r->ticks / (double)r->timer_hz;
		double t = e2e_truth_for(truth, d, 2.5 / r->sample_hz), rel;

		cr_assert_str_eq(r->status, "ok", "%s", r->reason);
		cr_assert(r->has_energy);
		cr_assert_eq(r->timer_hz, 1000000);
		cr_assert_float_eq(r->window_ms, d * 1e3, 1e-3 + 1e3 / r->sample_hz);
		cr_assert(!isnan(t), "no ground-truth window of %.6f s", d);
		rel = (r->energy_uj * (double)r->inferences - t) / t;
		printf("e2e eembc energy %s: trial %d: %lld inferences in %.3f ms, %.4f uJ/inference "
		       "x N = %.3f uJ, truth %.3f uJ: %+.4f %%\n", monitor, i + 1, r->inferences,
		       r->window_ms, r->energy_uj, r->energy_uj * (double)r->inferences, t,
		       rel * 100);
		if (fabs(rel) > worst)
			worst = fabs(rel);
		cr_assert(fabs(rel) < 0.005, "%s trial %d: %+.4f %% from the truth", monitor, i + 1,
			  rel * 100);
		cr_assert_eq(r->lost, 0);
	}
	printf("e2e eembc energy %s: worst error vs ground truth %.4f %%\n", monitor, worst * 100);
}

/* The EEMBC m-results (float32, dequantised) against the tinybench
 * runner's raw int8 output on the same inputs (trial k: seed k + 1). */
static void same_predictions(const struct trial_row *ee)
{
	const struct tb_workload *wl = tb_workload_by_name("kws01");
	struct trial_row tb[3];
	struct e2e_result res;

	TB(&res, "run", "--board", "sim", "--workload", "kws", "--trials", "3",
	   "--min-time", "0.05", "--db", db, "-q");
	cr_assert_eq(res.status, 0, "%s\n%s", res.out, res.err);
	cr_assert_eq(load(tb, 3), 3);
	for (int i = 0; i < 3; i++) {
		int best_tb = 0, best_ee = 0;

		cr_assert_str_eq(tb[i].input_hash, ee[i].input_hash, "trial %d: other input", i + 1);
		cr_assert_eq(tb[i].output_len, (int)wl->output_size);
		cr_assert_eq(ee[i].output_len, 4 * (int)wl->output_size);
		for (unsigned j = 0; j < wl->output_size; j++) {
			float f;
			double q = (double)wl->output_scale *
				   ((int8_t)tb[i].output[j] - wl->output_zero_point);

			memcpy(&f, ee[i].output + 4 * j, 4);
			cr_assert(fabs(f - q) <= 1e-6 + 1e-6 * fabs(q),
				  "trial %d, class %u: %.6f over EEMBC, %.6f over tinybench",
				  i + 1, j, f, q);
			if ((int8_t)tb[i].output[j] > (int8_t)tb[i].output[best_tb])
				best_tb = (int)j;
			if (f > ((float *)(void *)ee[i].output)[best_ee])
				best_ee = (int)j;
		}
		cr_assert_eq(best_ee, best_tb, "trial %d: prediction %d over EEMBC, %d over "
			     "tinybench", i + 1, best_ee, best_tb);
	}
}

Test(e2e_eembc_energy, ppk2_through_io_manager_matches_truth_and_tinybench)
{
	struct trial_row rows[3];

	ground_truth("ppk2", rows);
	same_predictions(rows);
}

Test(e2e_eembc_energy, lpm01a_through_io_manager_matches_truth)
{
	struct trial_row rows[3];

	ground_truth("lpm01a", rows);
}

/* The instrument misses the pulse that closes every window of 1.2 s or
 * more (--fault miss-pulse=1200): the trial's (>= --min-time 2 s), not the
 * calibration's (its last batch lasts < 10 x 5 % of min-time = 1 s); the
 * trial fails with the reason stored on it. */
static void missing_pulse(const char *monitor)
{
	struct e2e_result res;
	struct trial_row rows[2];

	TB(&res, "run", "--board", "sim-eembc-energy", "--workload", "kws", "--trials", "1",
	   "--min-time", "2", "--attempts", "1", "--db", db, "--energy", monitor,
	   "--energy-arg", "--fault", "--energy-arg", "miss-pulse=1200", "-q");
	cr_assert_eq(res.status, 1, "exit %d\n%s\n%s", res.status, res.out, res.err);
	cr_assert_eq(load(rows, 2), 1, "%s", res.err);
	cr_assert_str_eq(rows[0].status, "failed");
	cr_assert(strstr(rows[0].reason, "missing timestamp pulse: 1 falling edge for 1 timed "
			 "window"), "%s", rows[0].reason);
	cr_assert(!rows[0].has_energy);
	printf("e2e eembc energy %s --fault miss-pulse: trial 1 stored as failed: %s\n", monitor,
	       rows[0].reason);
}

Test(e2e_eembc_energy, missing_pulse_fails)
{
	missing_pulse("ppk2");
	missing_pulse("lpm01a");
}

Test(e2e_eembc_energy, needs_energy_and_energy_mode_firmware)
{
	struct e2e_result res;

	TB(&res, "run", "--board", "sim-eembc-energy", "--workload", "kws", "--db", db);
	cr_assert_eq(res.status, 2, "%s\n%s", res.out, res.err);
	cr_assert(strstr(res.err, "EEMBC energy-mode firmware"), "%s", res.err);
	cr_assert(strstr(res.err, "--energy"), "%s", res.err);
	TB(&res, "run", "--board", "sim-eembc", "--workload", "kws", "--db", db, "--energy",
	   "ppk2");
	cr_assert_eq(res.status, 1, "%s\n%s", res.out, res.err);
	cr_assert(strstr(res.err, "performance-mode firmware"), "%s", res.err);
}
