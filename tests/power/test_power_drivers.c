/*
 * Each driver against its emulator, through the same calls the harness
 * makes (tb_power.h + tb_power_rec.h): the measured energy of a window
 * against the emulator's ground truth, and every failure a trial can have
 * (lost samples, a missing or extra timestamp edge, a short window, an
 * error reply, an instrument that goes away).  The test process plays the
 * device: it drives the virtual timestamp line itself.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tb_energy.h"
#include "tb_power.h"
#include "tb_power_rec.h"
#include "tb_sim_spawn.h"
#include "tb_vline.h"

struct rig {
	char dir[128], vline[160], truth[160];
	struct tb_vline *line;
	struct tb_sim *emu;
	struct tb_power_dev *dev;
	struct tb_power_rec *rec;
	double rise_s, fall_s;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Start the emulator of drv with extra arguments, open and configure it. */
static int rig_open(struct rig *r, const char *drv, double hz, const char *const *extra,
		    struct tb_error *err)
{
	const struct tb_power_driver *d = tb_power_driver_find(drv, NULL, 0);
	struct tb_power_config cfg = { .voltage_mv = 3000, .sample_hz = hz };
	const char *args[32];
	char path[4096], name[64];
	int n = 0, rc;

	memset(r, 0, sizeof(*r));
	cr_assert_not_null(d);
	snprintf(r->dir, sizeof(r->dir), "/tmp/tb-power-XXXXXX");
	cr_assert_not_null(mkdtemp(r->dir));
	snprintf(r->vline, sizeof(r->vline), "%s/line", r->dir);
	snprintf(r->truth, sizeof(r->truth), "%s/truth.json", r->dir);
	cr_assert_eq(tb_vline_create(r->vline), 0);
	r->line = tb_vline_map(r->vline, 1);
	cr_assert_not_null(r->line);
	snprintf(name, sizeof(name), "tinybench-emu-%s", drv);
	cr_assert_eq(tb_energy_emulator_locate(name, path, sizeof(path), err), 0, "%s",
		     err->msg);
	args[n++] = "--tsline";
	args[n++] = r->vline;
	args[n++] = "--truth";
	args[n++] = r->truth;
	args[n++] = "--voltage-mv";
	args[n++] = "3000";
	args[n++] = "--active-ua";
	args[n++] = "4800";
	args[n++] = "--idle-ua";
	args[n++] = "350";
	for (int i = 0; extra && extra[i]; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	cr_assert_eq(tb_sim_spawn(path, args, &r->emu, err), 0, "%s", err->msg);
	cr_assert_eq(tb_power_rec_new(&r->rec, err), 0);
	rc = tb_power_open_transport(d, tb_sim_transport(r->emu), &r->dev, err);
	if (rc < 0)
		return rc;
	rc = tb_power_configure(r->dev, &cfg, err);
	if (rc < 0)
		return rc;
	return tb_power_target(r->dev, true, err);
}

static void rig_close(struct rig *r)
{
	char cmd[300];

	tb_power_close(r->dev);
	tb_sim_free(r->emu);
	tb_power_rec_free(r->rec);
	tb_vline_unmap(r->line);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
	cr_assert_eq(system(cmd), 0);
}

/* Poll the instrument until time t (or an error). */
static int poll_until(struct rig *r, double t, struct tb_error *err)
{
	while (now_s() < t) {
		int rc = tb_power_poll(r->dev, 5, err);

		if (rc < 0)
			return rc;
	}
	return TB_OK;
}

/* One acquisition with one timed window in it, as a trial has. */
static int rig_acquire(struct rig *r, double before_s, double window_s, double after_s,
		       struct tb_error *err)
{
	struct tb_power_sink sink = tb_power_rec_sink(r->rec);
	double t0;
	int rc;

	tb_power_rec_reset(r->rec);
	rc = tb_power_start(r->dev, &sink, err);
	if (rc < 0)
		return rc;
	t0 = now_s();
	rc = poll_until(r, t0 + before_s, err);
	if (rc < 0)
		return rc;
	r->rise_s = now_s();
	tb_vline_set(r->line, 1);
	rc = poll_until(r, r->rise_s + window_s, err);
	if (rc < 0)
		return rc;
	r->fall_s = now_s();
	tb_vline_set(r->line, 0);
	/* The emulator lags 50 ms behind real time, as a USB instrument's
	 * buffers do, and a loaded machine may delay it more: wait until the
	 * stream covers the window and after_s past it (as the harness does),
	 * or 3 s. */
	{
		double need = (r->fall_s + after_s - t0) * tb_power_get_info(r->dev)->sample_hz;
		struct tb_power_rec_progress p;

		rc = poll_until(r, r->fall_s + after_s + 0.06, err);
		for (;;) {
			tb_power_rec_progress(r->rec, &p);
			if (rc < 0 || (double)p.samples >= need || now_s() > r->fall_s + 3.0)
				break;
			rc = tb_power_poll(r->dev, 5, err);
		}
		if (rc < 0)
			return rc;
	}
	return tb_power_stop(r->dev, err);
}

static int rig_analyze(struct rig *r, uint64_t n, struct tb_power_result *res,
		       struct tb_error *err)
{
	const struct tb_power_info *in = tb_power_get_info(r->dev);
	struct tb_power_window_params p = {
		.sample_hz = in->sample_hz,
		.voltage_v = in->voltage_mv / 1000.0,
		.inferences = n,
		.windows = 1,
		.edges = in->edges,
		.duration_s = r->fall_s - r->rise_s,
		.min_window_s = 0.1,
		.max_lost_frac = 0.001,
		.instrument = in->driver,
	};

	return tb_power_rec_analyze(r->rec, &p, res, err);
}

/* The emulator's energy of its last window, microjoules. */
static double truth_uj(const struct rig *r, double *duration)
{
	FILE *f = fopen(r->truth, "r");
	char line[512], last[512] = "";
	const char *p;
	double v = NAN;

	cr_assert_not_null(f, "no truth file %s", r->truth);
	while (fgets(line, sizeof(line), f))
		snprintf(last, sizeof(last), "%s", line);
	fclose(f);
	p = strstr(last, "\"energy_uj\":");
	cr_assert_not_null(p, "truth: %s", last);
	v = strtod(p + 12, NULL);
	p = strstr(last, "\"duration_s\":");
	*duration = strtod(p + 13, NULL);
	return v;
}

static void check_truth(const char *drv, double hz, const char *const *extra)
{
	struct rig r;
	struct tb_error err = { 0 };
	struct tb_power_result res;
	double truth, dur, rel;

	cr_assert_eq(rig_open(&r, drv, hz, extra, &err), 0, "%s", err.msg);
	cr_assert_eq(rig_acquire(&r, 0.1, 1.0, 0.1, &err), 0, "%s", err.msg);
	cr_assert_eq(rig_analyze(&r, 1000, &res, &err), 0, "%s", err.msg);
	truth = truth_uj(&r, &dur);
	rel = (res.energy_uj * 1000 - truth) / truth;
	cr_log_info("%s at %.0f Hz: measured %.4f uJ over %.6f s, truth %.4f uJ over %.6f s: %+.4f %%",
		    drv, res.sample_hz, res.energy_uj * 1000, res.window_s, truth, dur, rel * 100);
	printf("%s at %.0f Hz: measured %.4f uJ, truth %.4f uJ, error %+.4f %%\n", drv,
	       res.sample_hz, res.energy_uj * 1000, truth, rel * 100);
	cr_assert(fabs(rel) < 0.005, "%s: %.4f uJ vs truth %.4f uJ (%+.3f %%)", drv,
		  res.energy_uj * 1000, truth, rel * 100);
	cr_assert_eq(res.lost, 0);
	cr_assert_float_eq(res.window_s, dur, 3.0 / res.sample_hz);
	/* 3 V x ~4.8 mA */
	cr_assert(res.power_mw > 13.0 && res.power_mw < 16.0, "%.3f mW", res.power_mw);
	cr_assert_gt(res.n_bins, 900);
	tb_power_result_free(&res);
	rig_close(&r);
}

TestSuite(power_drivers, .timeout = 60);

Test(power_drivers, ppk2_ground_truth)
{
	check_truth("ppk2", 0, NULL);
}

Test(power_drivers, lpm01a_ascii_dec_ground_truth)
{
	check_truth("lpm01a", 5000, NULL);
}

Test(power_drivers, lpm01a_ascii_dec_several_per_line)
{
	const char *extra[] = { "--per-line", "7", NULL };

	check_truth("lpm01a", 1000, extra);
}

Test(power_drivers, lpm01a_bin_hexa_ground_truth)
{
	check_truth("lpm01a", 50000, NULL);
}

Test(power_drivers, lpm01a_bin_hexa_energy_ground_truth)
{
	check_truth("lpm01a", 10000, NULL);
}

Test(power_drivers, ppk2_identifies)
{
	struct rig r;
	struct tb_error err = { 0 };
	const struct tb_power_info *in;

	cr_assert_eq(rig_open(&r, "ppk2", 0, NULL, &err), 0, "%s", err.msg);
	in = tb_power_get_info(r.dev);
	cr_assert_str_eq(in->driver, "ppk2");
	cr_assert_str_eq(in->version, "HW 36421");
	cr_assert(in->emulated);
	cr_assert(strstr(in->detail, "calibrated; R = 1002.53"), "%s", in->detail);
	cr_assert_eq(in->sample_hz, 100000.0);
	cr_assert_eq(in->edges, TB_POWER_EDGES_BOTH);
	rig_close(&r);
}

/* A failure expected from analyze(), with a phrase in the reason. */
static void check_fault(const char *drv, double hz, const char *const *extra, double window_s,
			int code, const char *phrase)
{
	struct rig r;
	struct tb_error err = { 0 };
	struct tb_power_result res;
	int rc;

	cr_assert_eq(rig_open(&r, drv, hz, extra, &err), 0, "%s", err.msg);
	rc = rig_acquire(&r, 0.05, window_s, 0.05, &err);
	if (rc == 0)
		rc = rig_analyze(&r, 100, &res, &err);
	cr_assert_eq(rc, code, "%s %s: rc %d (%s)", drv, extra ? extra[1] : "", rc, err.msg);
	cr_assert(strstr(err.msg, phrase), "%s: '%s' not in '%s'", drv, phrase, err.msg);
	printf("%s %s: %s\n", drv, extra ? extra[1] : "", err.msg);
	rig_close(&r);
}

Test(power_drivers, ppk2_counter_gaps)
{
	const char *extra[] = { "--fault", "drop=2000", NULL };

	check_fault("ppk2", 0, extra, 0.3, TB_ERR_PROTO, "lost 2000 samples in the timed window");
}

Test(power_drivers, ppk2_missing_falling_edge)
{
	const char *extra[] = { "--fault", "miss-fall", NULL };

	check_fault("ppk2", 0, extra, 0.3, TB_ERR_PROTO, "missing timestamp edge");
}

Test(power_drivers, ppk2_extra_edge)
{
	const char *extra[] = { "--fault", "extra-edge", NULL };

	check_fault("ppk2", 0, extra, 0.3, TB_ERR_PROTO, "extra timestamp edge");
}

Test(power_drivers, ppk2_short_window)
{
	check_fault("ppk2", 0, NULL, 0.03, TB_ERR_PROTO, "shorter than the 100.0 ms minimum");
}

Test(power_drivers, ppk2_vanishes)
{
	const char *extra[] = { "--fault", "vanish", NULL };

	check_fault("ppk2", 0, extra, 0.3, TB_ERR_CLOSED, "went away during the acquisition");
}

Test(power_drivers, ppk2_stalls)
{
	const char *extra[] = { "--fault", "stall", NULL };

	/* no sample after 5 ms into the window: the fall is never seen */
	check_fault("ppk2", 0, extra, 0.3, TB_ERR_PROTO, "did not fall");
}

Test(power_drivers, ppk2_no_metadata)
{
	struct rig r;
	struct tb_error err = { 0 };
	const char *extra[] = { "--fault", "no-metadata", NULL };

	cr_assert_eq(rig_open(&r, "ppk2", 0, extra, &err), TB_ERR_TIMEOUT, "%s", err.msg);
	cr_assert(strstr(err.msg, "is this a PPK2?"), "%s", err.msg);
	rig_close(&r);
}

Test(power_drivers, lpm01a_lost_samples)
{
	const char *extra[] = { "--fault", "drop=500", NULL };

	/* 500 samples of 5 kHz are gone; the next TimeStamp says so */
	check_fault("lpm01a", 5000, extra, 1.2, TB_ERR_PROTO, "lost 500 samples");
}

Test(power_drivers, lpm01a_missing_edge)
{
	const char *extra[] = { "--fault", "miss-edge", NULL };

	check_fault("lpm01a", 5000, extra, 0.3, TB_ERR_PROTO, "missing timestamp edge");
}

Test(power_drivers, lpm01a_extra_edge)
{
	const char *extra[] = { "--fault", "extra-edge", NULL };

	check_fault("lpm01a", 50000, extra, 0.3, TB_ERR_PROTO, "extra timestamp edge");
}

Test(power_drivers, lpm01a_error_in_stream)
{
	const char *extra[] = { "--fault", "error-in-window", NULL };

	check_fault("lpm01a", 5000, extra, 0.3, TB_ERR_DEVICE,
		    "reported an error during the trial: error during acquisition: acquisition buffer overflow");
}

Test(power_drivers, lpm01a_error_in_bin_hexa_stream)
{
	const char *extra[] = { "--fault", "error-in-window", NULL };

	check_fault("lpm01a", 20000, extra, 0.3, TB_ERR_DEVICE, "acquisition buffer overflow");
}

Test(power_drivers, lpm01a_vanishes)
{
	const char *extra[] = { "--fault", "vanish", NULL };

	check_fault("lpm01a", 5000, extra, 0.3, TB_ERR_CLOSED, "went away");
}

Test(power_drivers, lpm01a_error_reply_to_start)
{
	struct rig r;
	struct tb_error err = { 0 };
	struct tb_power_sink sink;
	const char *extra[] = { "--fault", "error-on=start", NULL };

	cr_assert_eq(rig_open(&r, "lpm01a", 5000, extra, &err), 0, "%s", err.msg);
	sink = tb_power_rec_sink(r.rec);
	cr_assert_eq(tb_power_start(r.dev, &sink, &err), TB_ERR_DEVICE);
	cr_assert(strstr(err.msg, "refused 'start'"), "%s", err.msg);
	cr_assert(strstr(err.msg, "emulated failure"), "%s", err.msg);
	/* the next start is accepted: the instrument is still usable */
	cr_assert_eq(rig_acquire(&r, 0.05, 0.2, 0.05, &err), 0, "%s", err.msg);
	rig_close(&r);
}

Test(power_drivers, lpm01a_error_reply_to_setup)
{
	struct rig r;
	struct tb_error err = { 0 };
	const char *extra[] = { "--fault", "error-on=volt", NULL };

	cr_assert_eq(rig_open(&r, "lpm01a", 5000, extra, &err), TB_ERR_DEVICE, "%s", err.msg);
	cr_assert(strstr(err.msg, "refused 'volt 3000m'"), "%s", err.msg);
	rig_close(&r);
}

Test(power_drivers, lpm01a_limits)
{
	struct rig r;
	struct tb_error err = { 0 };
	struct tb_power_config bad_rate = { .voltage_mv = 3000, .sample_hz = 3000 };
	struct tb_power_config bad_volt = { .voltage_mv = 3600 };

	cr_assert_eq(rig_open(&r, "lpm01a", 0, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_power_get_info(r.dev)->sample_hz, 5000.0, "default rate");
	cr_assert(tb_power_get_info(r.dev)->emulated);
	cr_assert_eq(tb_power_configure(r.dev, &bad_rate, &err), TB_ERR_ARG);
	cr_assert(strstr(err.msg, "no 3000 Hz rate"), "%s", err.msg);
	cr_assert_eq(tb_power_configure(r.dev, &bad_volt, &err), TB_ERR_ARG);
	cr_assert(strstr(err.msg, "1800..3300 mV"), "%s", err.msg);
	rig_close(&r);
}

/* reset = power (tb_energy_power_cycle): the monitor switches the target
 * off and on again, through the same handle the trials use; each emulator
 * accepts the commands (the LPM01A acknowledges each one or fails it).  A
 * board powered this way is a serial board; the energy layer does not
 * care, so an in-memory sim board stands in for it. */
Test(power_drivers, power_cycle_through_the_monitor)
{
	static const char *const drivers[] = { "ppk2", "lpm01a" };
	struct tb_board b = {
		.name = "powered", .transport = TB_BOARD_TRANSPORT_SIM, .has_power = true,
		.power_voltage_mv = 3000, .power_active_ua = 4800, .power_idle_ua = 350,
		.reset_pulse_ms = 20,
	};

	for (size_t i = 0; i < 2; i++) {
		struct tb_energy_opts o = { .spec = drivers[i] };
		const char *const *args = NULL;
		struct tb_error err = { 0 };
		struct tb_energy *e = NULL;
		double t0;

		cr_assert_eq(tb_energy_open(&b, &o, &args, &e, &err), 0, "%s", err.msg);
		t0 = now_s();
		cr_expect_eq(tb_energy_power_cycle_cb(e, &err), 0, "%s: %s", drivers[i], err.msg);
		cr_expect_geq(now_s() - t0, 0.02, "%s: the supply stays off pulse_ms", drivers[i]);
		cr_expect_eq(tb_energy_power_cycle(e, 1, &err), 0, "%s: %s", drivers[i], err.msg);
		tb_energy_free(e);
	}
	{
		struct tb_error err = { 0 };

		cr_expect_eq(tb_energy_power_cycle(NULL, 1, &err), TB_ERR_ARG);
	}
}
