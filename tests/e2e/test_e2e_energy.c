/*
 * End-to-end energy: `tinybench run --energy` on the sim board, whose
 * runner drives the virtual timestamp line, with the emulated PPK2 and the
 * emulated LPM01A (started by the harness, spoken to by the real drivers).
 * The energy per inference stored for every trial must be within 0.5 % of
 * the emulator's ground truth; every failure must be stored on the trial
 * with its reason; `tinybench monitors` must identify an emulator.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_energy_db.h"
#include "e2e_util.h"

static char tmpdir[256], db[512], truth[512];

static void setup(void)
{
	e2e_energy_setup(tmpdir, sizeof(tmpdir), "/tmp/tb-e2e-energy-XXXXXX", db, sizeof(db), truth,
			 sizeof(truth));
}

static void teardown(void)
{
	e2e_tmpdir_remove(tmpdir);
}

TestSuite(e2e_energy, .init = setup, .fini = teardown, .timeout = 120);

/* The stored run and trials: e2e_energy_db.h, on this test's db. */
static char run_method[64];
static char run_status[32];

static int load_trials(struct trial_row *rows, int cap)
{
	return e2e_load_trials(db, rows, cap, run_method, sizeof(run_method), run_status,
			       sizeof(run_status));
}

static double truth_for(double duration_s)
{
	return e2e_truth_for(truth, duration_s, 1e-4);
}

/* Run with an emulated monitor; every trial within 0.5 % of the truth. */
static void ground_truth(const char *monitor, const char *rate, const char *label)
{
	struct e2e_result res;
	struct trial_row rows[8];
	double worst = 0;
	int n;

	if (rate)
		TB(&res, "run", "--board", "sim", "--workload", "kws", "--trials", "3",
		   "--min-time", "1", "--db", db, "--energy", monitor, "--energy-rate", rate,
		   "--energy-arg", "--truth", "--energy-arg", truth, "-q");
	else
		TB(&res, "run", "--board", "sim", "--workload", "kws", "--trials", "3",
		   "--min-time", "1", "--db", db, "--energy", monitor,
		   "--energy-arg", "--truth", "--energy-arg", truth, "-q");
	cr_assert_eq(res.status, 0, "exit %d\nstdout:\n%s\nstderr:\n%s", res.status, res.out,
		     res.err);
	cr_assert(strstr(res.out, "EMULATED instrument"), "%s", res.out);
	cr_assert(strstr(res.out, "energy per inference (emulated"), "%s", res.out);
	n = load_trials(rows, 8);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(run_status, "ok");
	cr_assert(!strncmp(run_method, "emulated:", 9) && strstr(run_method, monitor), "%s",
		  run_method);
	for (int i = 0; i < n; i++) {
		struct trial_row *r = &rows[i];
		double d = (double)r->ticks / (double)r->timer_hz;
		double t = truth_for(d), rel;

		cr_assert_str_eq(r->status, "ok");
		cr_assert(r->has_energy);
		cr_assert(!isnan(t), "no ground-truth window of %.6f s", d);
		rel = (r->energy_uj * (double)r->inferences - t) / t;
		printf("e2e %s: trial %d: %lld inferences, %.4f uJ/inference x N = %.3f uJ, "
		       "truth %.3f uJ: %+.4f %%\n", label, i + 1, r->inferences, r->energy_uj,
		       r->energy_uj * (double)r->inferences, t, rel * 100);
		if (fabs(rel) > worst)
			worst = fabs(rel);
		cr_assert(fabs(rel) < 0.005, "%s trial %d: %+.4f %% from the truth", label, i + 1,
			  rel * 100);
		cr_assert_eq(r->lost, 0);
		cr_assert_float_eq(r->window_ms, d * 1e3, 3e3 / r->sample_hz);
		cr_assert_float_eq(r->samples, r->window_ms * r->sample_hz / 1e3, 1.5);
		cr_assert_float_eq(r->trace_hz, 1000.0, 1e-9);
		cr_assert(abs(r->trace_bins - (int)ceil(r->window_ms)) <= 1, "%d bins for %.3f ms",
			  r->trace_bins, r->window_ms);
		cr_assert_float_eq(r->trace_mean_mw, r->power_mw, r->power_mw * 2e-3);
	}
	printf("e2e %s: worst error vs ground truth %.4f %%\n", label, worst * 100);
}

Test(e2e_energy, sim_with_emulated_ppk2_matches_ground_truth)
{
	ground_truth("ppk2", NULL, "ppk2 100 kS/s");
}

Test(e2e_energy, sim_with_emulated_lpm01a_matches_ground_truth)
{
	ground_truth("lpm01a", NULL, "lpm01a 5 kS/s ascii_dec energy");
}

Test(e2e_energy, sim_with_emulated_lpm01a_bin_hexa_matches_ground_truth)
{
	ground_truth("lpm01a", "50000", "lpm01a 50 kS/s bin_hexa current");
}

/* The truth of window number k (1-based) and its duration; NaN if none. */
static double truth_nth(int k, double *duration_s)
{
	FILE *f = fopen(truth, "r");
	char line[512];
	double e = NAN;

	cr_assert_not_null(f, "the emulator wrote no ground truth (%s)", truth);
	for (int i = 1; fgets(line, sizeof(line), f); i++) {
		const char *p = strstr(line, "\"duration_s\":"), *q = strstr(line, "\"energy_uj\":");

		cr_assert(p && q, "truth line: %s", line);
		if (i == k) {
			*duration_s = strtod(p + 13, NULL);
			e = strtod(q + 12, NULL);
			break;
		}
	}
	fclose(f);
	return e;
}

/*
 * A QEMU board (docs/ENERGY.md, "QEMU boards"): the firmware's timestamp
 * bridge reports each window with its instruction count; the harness
 * replays it on the virtual line, its length instructions / clock_hz, and
 * the emulated instrument integrates the board's [power] model over it.
 * The ground truth is the emulator's analytic integral over that same
 * estimated window: the test checks the bridge, the replay and the
 * drivers (within 0.5 %, as on sim), not QEMU's notion of power, which it
 * has none of.  Needs the image scripts/build-firmware makes (skipped
 * without it, as the daemon's QEMU test).
 */
static void qemu_ground_truth(const char *board, const char *monitor, const char *label)
{
	struct e2e_result res;
	struct trial_row rows[8];
	const char *fw = getenv("TINYBENCH_FIRMWARE_DIR");
	char elf[700];
	double worst = 0;
	int n;

	if (fw)
		snprintf(elf, sizeof(elf), "%s/%s/tinybench-runner-%s.elf", fw, board, board);
	else
		snprintf(elf, sizeof(elf), "%s/fw/%s/tinybench-runner-%s.elf",
			 getenv("TB_BUILD_DIR"), board, board);
	if (access(elf, R_OK) < 0)
		cr_skip_test("no %s firmware at %s (scripts/build-firmware %s)", board, elf, board);
	TB(&res, "run", "--board", board, "--workload", "kws", "--trials", "3",
	   "--min-time", "0.4", "--db", db, "--firmware", elf, "--energy", monitor,
	   "--energy-arg", "--truth", "--energy-arg", truth);
	cr_assert_eq(res.status, 0, "exit %d\nstdout:\n%s\nstderr:\n%s", res.status, res.out,
		     res.err);
	cr_assert(strstr(res.out, "EMULATED instrument"), "%s", res.out);
	cr_assert(strstr(res.out, "MODELLED from instruction counts"), "%s", res.out);
	n = load_trials(rows, 8);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(run_status, "ok");
	cr_assert(!strncmp(run_method, "emulated:", 9) && strstr(run_method, monitor), "%s",
		  run_method);
	for (int i = 0; i < n; i++) {
		struct trial_row *r = &rows[i];
		/* the window at the nominal clock: instructions / timer_hz */
		double d = (double)r->ticks / (double)r->timer_hz, td = 0;
		/* one replayed window per trial, in order; its length is the
		 * bridge's count, a few tens of instructions over the ticks */
		double t = truth_nth(i + 1, &td), rel;

		cr_assert_str_eq(r->status, "ok", "%s", r->reason);
		cr_assert(r->has_energy);
		cr_assert(!isnan(t), "no ground-truth window %d", i + 1);
		cr_assert(fabs(td - d) < 1e-4, "window %d lasted %.9f s, the trial %.9f s", i + 1,
			  td, d);
		rel = (r->energy_uj * (double)r->inferences - t) / t;
		printf("e2e %s: trial %d: %lld instructions, window %.3f ms at %lld Hz, "
		       "%.4f uJ/inference x N = %.3f uJ, truth %.3f uJ: %+.4f %%\n", label, i + 1,
		       r->ticks, r->window_ms, r->timer_hz, r->energy_uj,
		       r->energy_uj * (double)r->inferences, t, rel * 100);
		if (fabs(rel) > worst)
			worst = fabs(rel);
		cr_assert(fabs(rel) < 0.005, "%s trial %d: %+.4f %% from the truth", label, i + 1,
			  rel * 100);
		cr_assert_eq(r->lost, 0);
		cr_assert_float_eq(r->window_ms, d * 1e3, 3e3 / r->sample_hz);
	}
	printf("e2e %s: worst error vs ground truth %.4f %%\n", label, worst * 100);
}

Test(e2e_energy, qemu_m4_with_emulated_ppk2_matches_ground_truth, .timeout = 180)
{
	qemu_ground_truth("qemu-m4", "ppk2", "qemu-m4 ppk2 100 kS/s");
}

Test(e2e_energy, qemu_rv32_with_emulated_lpm01a_matches_ground_truth, .timeout = 180)
{
	qemu_ground_truth("qemu-rv32", "lpm01a", "qemu-rv32 lpm01a 5 kS/s");
}

Test(e2e_energy, json_labels_and_board_default)
{
	struct e2e_result res;

	TB(&res, "run", "--board", "sim", "--workload", "kws", "--trials", "1", "--min-time",
	   "0.3", "--db", db, "--energy", "default", "--json");
	cr_assert_eq(res.status, 0, "%s\n%s", res.out, res.err);
	cr_assert(strstr(res.out, "\"method\": \"emulated:ppk2\""), "%s", res.out);
	cr_assert(strstr(res.out, "\"kind\": \"emulated\""), "%s", res.out);
	cr_assert(strstr(res.out, "\"energy_uj_per_inference\":"), "%s", res.out);
	cr_assert(strstr(res.out, "\"energy_sample_hz\": 100000"), "%s", res.out);
	/* without --energy: no energy anywhere */
	TB(&res, "run", "--board", "sim", "--workload", "kws", "--trials", "1", "--min-time",
	   "0.2", "--db", db, "--json");
	cr_assert_eq(res.status, 0, "%s", res.err);
	cr_assert_null(strstr(res.out, "\"energy\": {"), "%s", res.out);
	cr_assert_null(strstr(res.out, "energy_uj_per_inference"), "%s", res.out);
}

/*
 * A run whose first trial must fail with a reason.  The fault hits every
 * window (--fault-window 0): a trial the session measures again (it came
 * out shorter than --min-time) must not slip past it.  later_ok: the
 * fault is one-shot by nature (an instrument that vanished is restarted
 * without it), so the second trial succeeds.
 */
static void fails_with(const char *monitor, const char *fault, const char *phrase,
		       int later_ok)
{
	struct e2e_result res;
	struct trial_row rows[4];
	int n;

	TB(&res, "run", "--board", "sim", "--workload", "kws", "--trials", later_ok ? "2" : "1",
	   "--min-time", "0.3", "--attempts", "1", "--db", db, "--energy", monitor,
	   "--energy-arg", "--fault", "--energy-arg", fault, "--energy-arg", "--fault-window",
	   "--energy-arg", "0", "-q");
	cr_assert_eq(res.status, 1, "exit %d\n%s\n%s", res.status, res.out, res.err);
	n = load_trials(rows, 4);
	cr_assert_eq(n, later_ok ? 2 : 1, "%s", res.err);
	cr_assert_str_eq(rows[0].status, "failed");
	cr_assert(strstr(rows[0].reason, phrase), "%s %s: '%s' not in the stored reason '%s'",
		  monitor, fault, phrase, rows[0].reason);
	cr_assert(!rows[0].has_energy);
	printf("e2e %s --fault %s: trial 1 stored as failed: %s\n", monitor, fault, rows[0].reason);
	if (later_ok) {
		cr_assert_str_eq(rows[1].status, "ok", "%s", rows[1].reason);
		cr_assert(rows[1].has_energy);
	}
}

Test(e2e_energy, lost_samples_fail_the_trial)
{
	fails_with("ppk2", "drop=3000", "lost 3000 samples in the timed window", 0);
}

Test(e2e_energy, missing_edge_fails_the_trial)
{
	fails_with("ppk2", "miss-fall", "missing timestamp edge", 0);
}

Test(e2e_energy, extra_edge_fails_the_trial)
{
	fails_with("lpm01a", "extra-edge", "extra timestamp edge", 0);
}

Test(e2e_energy, error_reply_fails_the_trial)
{
	fails_with("lpm01a", "error-on=start", "refused 'start'", 1);
}

Test(e2e_energy, vanished_instrument_fails_the_trial_and_comes_back)
{
	fails_with("ppk2", "vanish", "went away during the acquisition", 1);
}

Test(e2e_energy, short_window_fails_the_trial)
{
	struct e2e_result res;
	struct trial_row rows[4];

	TB(&res, "run", "--board", "sim", "--workload", "kws", "--trials", "1", "--min-time",
	   "0.02", "--attempts", "1", "--db", db, "--energy", "ppk2", "-q");
	cr_assert_eq(res.status, 1, "%s\n%s", res.out, res.err);
	cr_assert_eq(load_trials(rows, 4), 1);
	cr_assert_str_eq(rows[0].status, "failed");
	cr_assert(strstr(rows[0].reason, "shorter than the 100.0 ms minimum"), "%s", rows[0].reason);
	/* a lower minimum accepts it */
	TB(&res, "run", "--board", "sim", "--workload", "kws", "--trials", "1", "--min-time",
	   "0.02", "--attempts", "1", "--db", db, "--energy", "ppk2", "--energy-min-window",
	   "5", "-q");
	cr_assert_eq(res.status, 0, "%s\n%s", res.out, res.err);
}

Test(e2e_energy, bad_options)
{
	struct e2e_result res;

	TB(&res, "run", "--board", "sim", "--workload", "kws", "--db", db, "--energy", "nope");
	cr_assert_eq(res.status, 3, "%s", res.err);
	cr_assert(strstr(res.err, "unknown energy monitor 'nope'; known: ppk2, lpm01a"), "%s",
		  res.err);
	TB(&res, "run", "--board", "sim", "--workload", "kws", "--db", db, "--energy",
	   "ppk2:/dev/ttyACM7");
	cr_assert_eq(res.status, 2, "%s", res.err);
	cr_assert(strstr(res.err, "no physical timestamp pin"), "%s", res.err);
	TB(&res, "run", "--board", "qemu-m4", "--workload", "kws", "--db", db, "--energy",
	   "ppk2:/dev/ttyACM7");
	cr_assert_eq(res.status, 2, "%s", res.err);
	cr_assert(strstr(res.err, "no physical timestamp pin"), "%s", res.err);
	TB(&res, "run", "--board", "sim", "--workload", "kws", "--db", db, "--energy-rate", "1000");
	cr_assert_eq(res.status, 2, "%s", res.err);
	TB(&res, "run", "--board", "sim", "--workload", "kws", "--db", db, "--energy", "lpm01a",
	   "--energy-rate", "3000");
	cr_assert_eq(res.status, 2, "%s", res.err);
	cr_assert(strstr(res.err, "no 3000 Hz rate"), "%s", res.err);
}

/* Start an emulator on a pty of its own; its path is its first line. */
static pid_t start_emulator(const char *name, char *pty, size_t len)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", getenv("TINYBENCH_EMU_DIR"), name);
	return e2e_spawn_pty(path, pty, len);
}

Test(e2e_energy, monitors_identifies_emulators)
{
	struct e2e_result res;
	char pty[256], probe[300];
	pid_t pid;

	TB(&res, "monitors");
	cr_assert_eq(res.status, 0, "%s", res.err);
	pid = start_emulator("tinybench-emu-ppk2", pty, sizeof(pty));
	snprintf(probe, sizeof(probe), "ppk2:%s", pty);
	TB(&res, "monitors", "--probe", probe, "--json");
	cr_assert_eq(res.status, 0, "%s\n%s", res.out, res.err);
	cr_assert(strstr(res.out, "\"model\": \"Nordic Power Profiler Kit II\""), "%s", res.out);
	cr_assert(strstr(res.out, "\"emulated\": true"), "%s", res.out);
	/* the wrong driver does not identify it */
	snprintf(probe, sizeof(probe), "lpm01a:%s", pty);
	TB(&res, "monitors", "--probe", probe);
	cr_assert_eq(res.status, 1, "%s\n%s", res.out, res.err);
	cr_assert(strstr(res.out, "not identified"), "%s", res.out);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	pid = start_emulator("tinybench-emu-lpm01a", pty, sizeof(pty));
	snprintf(probe, sizeof(probe), "lpm01a:%s", pty);
	TB(&res, "monitors", "--probe", probe);
	cr_assert_eq(res.status, 0, "%s\n%s", res.out, res.err);
	cr_assert(strstr(res.out, "ST X-NUCLEO-LPM01A"), "%s", res.out);
	cr_assert(strstr(res.out, "1.0.2-emulated"), "%s", res.out);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}
