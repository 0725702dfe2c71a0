/*
 * The energy pipeline (power/tb_power_rec.h) on synthetic streams whose
 * energy is known exactly: window from the edges, V x I integration,
 * per-inference and mean-power figures, the trace, and every reason a
 * trial's energy is refused.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "tb_power_rec.h"

static struct tb_power_rec *rec;
static struct tb_power_sink sink;

static void setup(void)
{
	cr_assert_eq(tb_power_rec_new(&rec, NULL), 0);
	sink = tb_power_rec_sink(rec);
}

static void teardown(void)
{
	tb_power_rec_free(rec);
}

TestSuite(power_rec, .init = setup, .fini = teardown);

static uint64_t n_fed;

/* n samples of current a. */
static void samples(float a, uint64_t n)
{
	float buf[1000];

	for (uint64_t done = 0; done < n;) {
		size_t k = n - done > 1000 ? 1000 : (size_t)(n - done);

		for (size_t i = 0; i < k; i++)
			buf[i] = a;
		sink.samples(sink.user, n_fed, buf, k);
		n_fed += k;
		done += k;
	}
}

static void edge(int level)
{
	struct tb_power_event ev = { .type = TB_POWER_EV_EDGE, .index = n_fed, .level = level };

	sink.event(sink.user, &ev);
}

static struct tb_power_window_params params(void)
{
	struct tb_power_window_params p = {
		.sample_hz = 1000, .voltage_v = 3.0, .inferences = 10, .windows = 1,
		.edges = TB_POWER_EDGES_BOTH, .min_window_s = 0.1,
		.max_lost_frac = 0.001, .instrument = "test",
	};
	return p;
}

/* 1 kHz: 200 samples idle (1 mA), 500 active (10 mA), 300 idle. */
static void standard_stream(void)
{
	n_fed = 0;
	tb_power_rec_reset(rec);
	samples(0.001f, 200);
	edge(1);
	samples(0.010f, 500);
	edge(0);
	samples(0.001f, 300);
}

Test(power_rec, window_and_energy)
{
	struct tb_power_window_params p = params();
	struct tb_power_result r;
	struct tb_error err = { 0 };
	struct tb_power_rec_progress pr;

	standard_stream();
	tb_power_rec_progress(rec, &pr);
	cr_assert_eq(pr.samples, 1000);
	cr_assert_eq(pr.rises, 1);
	cr_assert_eq(pr.falls, 1);
	cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), 0, "%s", err.msg);
	/* 3 V x 10 mA x 0.5 s = 15 mJ; / 10 inferences = 1500 uJ; 30 mW */
	cr_assert_eq(r.first, 200);
	cr_assert_eq(r.samples, 500);
	cr_assert_float_eq(r.window_s, 0.5, 1e-12);
	cr_assert_float_eq(r.energy_j, 0.015, 1e-9);
	cr_assert_float_eq(r.energy_uj, 1500.0, 1e-4);
	cr_assert_float_eq(r.power_mw, 30.0, 1e-5);
	cr_assert_eq(r.lost, 0);
	cr_assert_eq(r.n_bins, 500, "1 kHz bins at 1 kS/s");
	cr_assert_float_eq(r.bin_hz, 1000.0, 1e-9);
	for (size_t i = 0; i < r.n_bins; i++)
		cr_assert_float_eq(r.trace[i], 30.0f, 1e-4);
	tb_power_result_free(&r);
}

Test(power_rec, rate_independent_and_bins)
{
	struct tb_power_window_params p = params();
	struct tb_power_result r;
	struct tb_error err = { 0 };

	/* The same 15 mJ at 100 kS/s, 20 kS/s and 50 S/s. */
	double rates[] = { 100000, 20000, 50 };

	for (int k = 0; k < 3; k++) {
		n_fed = 0;
		tb_power_rec_reset(rec);
		samples(0.001f, (uint64_t)(0.2 * rates[k]));
		edge(1);
		samples(0.010f, (uint64_t)(0.5 * rates[k]));
		edge(0);
		samples(0.001f, (uint64_t)(0.3 * rates[k]));
		p.sample_hz = rates[k];
		cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), 0, "%s", err.msg);
		cr_assert_float_eq(r.energy_uj, 1500.0, 1e-3, "rate %g: %g", rates[k], r.energy_uj);
		cr_assert_float_eq(r.bin_hz, rates[k] < 1000 ? rates[k] : 1000.0, 1e-9);
		cr_assert_eq(r.n_bins, (size_t)(0.5 * (rates[k] < 1000 ? rates[k] : 1000)));
		tb_power_result_free(&r);
	}
}

Test(power_rec, rising_edge_and_duration)
{
	struct tb_power_window_params p = params();
	struct tb_power_result r;
	struct tb_error err = { 0 };

	n_fed = 0;
	tb_power_rec_reset(rec);
	samples(0.001f, 200);
	edge(1);
	samples(0.010f, 500);
	samples(0.001f, 300);
	p.edges = TB_POWER_EDGES_RISING;
	p.duration_s = 0.5;
	cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), 0, "%s", err.msg);
	cr_assert_float_eq(r.energy_uj, 1500.0, 1e-4);
	tb_power_result_free(&r);
	/* a window longer than the stream */
	p.duration_s = 0.9;
	cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), TB_ERR_PROTO);
	cr_assert(strstr(err.msg, "stream ended"), "%s", err.msg);
}

Test(power_rec, repeated_batch_measures_the_last)
{
	struct tb_power_window_params p = params();
	struct tb_power_result r;
	struct tb_error err = { 0 };

	/* The link repeated the batch: two windows; the last one counts. */
	n_fed = 0;
	tb_power_rec_reset(rec);
	edge(0);
	samples(0.001f, 100);
	edge(1);
	samples(0.020f, 400);
	edge(0);
	samples(0.001f, 100);
	edge(1);
	samples(0.010f, 500);
	edge(0);
	samples(0.001f, 100);
	p.windows = 2;
	cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), TB_ERR_PROTO,
		     "a fall before any rise is an extra edge");
	/* without the stray first edge */
	n_fed = 0;
	tb_power_rec_reset(rec);
	samples(0.001f, 100);
	edge(1);
	samples(0.020f, 400);
	edge(0);
	samples(0.001f, 100);
	edge(1);
	samples(0.010f, 500);
	edge(0);
	samples(0.001f, 100);
	cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), 0, "%s", err.msg);
	cr_assert_eq(r.first, 600);
	cr_assert_float_eq(r.energy_uj, 1500.0, 1e-4);
	tb_power_result_free(&r);
	p.windows = 1;
	cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), TB_ERR_PROTO);
	cr_assert(strstr(err.msg, "extra timestamp edge"), "%s", err.msg);
}

Test(power_rec, missing_edges)
{
	struct tb_power_window_params p = params();
	struct tb_power_result r;
	struct tb_error err = { 0 };

	n_fed = 0;
	tb_power_rec_reset(rec);
	samples(0.001f, 1000);
	cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), TB_ERR_PROTO);
	cr_assert(strstr(err.msg, "missing timestamp edge: the line never rose"), "%s", err.msg);
	edge(1);
	samples(0.010f, 500);
	cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), TB_ERR_PROTO);
	cr_assert(strstr(err.msg, "did not fall"), "%s", err.msg);
	p.edges = TB_POWER_EDGES_RISING;
	n_fed = 0;
	tb_power_rec_reset(rec);
	samples(0.001f, 1000);
	cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), TB_ERR_PROTO);
	cr_assert(strstr(err.msg, "no rising edge"), "%s", err.msg);
}

Test(power_rec, line_high_at_start)
{
	struct tb_power_window_params p = params();
	struct tb_power_result r;
	struct tb_error err = { 0 };

	n_fed = 0;
	tb_power_rec_reset(rec);
	edge(1);
	samples(0.010f, 500);
	edge(0);
	samples(0.001f, 500);
	cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), TB_ERR_PROTO);
	cr_assert(strstr(err.msg, "already high"), "%s", err.msg);
}

Test(power_rec, lost_samples)
{
	struct tb_power_window_params p = params();
	struct tb_power_result r;
	struct tb_error err = { 0 };
	struct tb_power_event lost = { .type = TB_POWER_EV_LOST };

	/* 1 lost sample in a 500-sample window: 0.2 % > 0.1 % */
	standard_stream();
	lost.index = 400;
	lost.count = 1;
	lost.span_start = 399;
	sink.event(sink.user, &lost);
	cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), TB_ERR_PROTO);
	cr_assert(strstr(err.msg, "lost 1 samples in the timed window"), "%s", err.msg);
	p.max_lost_frac = 0.01;
	cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), 0, "%s", err.msg);
	cr_assert_eq(r.lost, 1);
	tb_power_result_free(&r);
	/* a loss outside the window does not count, one whose span
	 * overlaps it does */
	p.max_lost_frac = 0.001;
	standard_stream();
	lost.index = 900;
	lost.span_start = 850;
	lost.count = 5;
	sink.event(sink.user, &lost);
	cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), 0, "%s", err.msg);
	cr_assert_eq(r.lost, 0);
	tb_power_result_free(&r);
	lost.index = 900;
	lost.span_start = 650;
	sink.event(sink.user, &lost);
	cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), TB_ERR_PROTO);
}

Test(power_rec, short_window_and_instrument_error)
{
	struct tb_power_window_params p = params();
	struct tb_power_result r;
	struct tb_error err = { 0 };
	struct tb_power_event e = { .type = TB_POWER_EV_ERROR, .text = "overcurrent" };

	standard_stream();
	p.min_window_s = 0.6;
	cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), TB_ERR_PROTO);
	cr_assert(strstr(err.msg, "500.0 ms is shorter than the 600.0 ms minimum"), "%s", err.msg);
	p.min_window_s = 0.1;
	sink.event(sink.user, &e);
	cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), TB_ERR_DEVICE);
	cr_assert(strstr(err.msg, "reported an error during the trial: overcurrent"), "%s", err.msg);
}

/* ---- timestamp pulses (EEMBC energy mode) ------------------------------ */

/* A pulse: the line low for `low` samples of current a, then high again.
 * low 0: shorter than a sample period, between two samples: a sampling
 * instrument (PPK2) sees no edge at all. */
static void pulse(float a, uint64_t low, bool sampled)
{
	if (low == 0 && sampled)
		return;
	edge(0);
	samples(a, low);
	if (sampled)
		edge(1);
}

/* 1 kHz, the line idling high: 200 samples idle (1 mA), a pulse opening
 * 500 active samples (10 mA; the pulse lasts `low` of them), a pulse
 * closing them, 300 idle.  sampled: the instrument sees both edges (its
 * first sample shows the line high); else falling-edge events only. */
static void pulse_stream(uint64_t low, uint64_t close_low, bool sampled)
{
	n_fed = 0;
	tb_power_rec_reset(rec);
	if (sampled)
		edge(1);
	samples(0.001f, 200);
	pulse(0.010f, low, sampled);
	samples(0.010f, 500 - low);
	pulse(0.001f, close_low, sampled);
	samples(0.001f, 300 - close_low);
}

static struct tb_power_window_params pulse_params(bool sampled)
{
	struct tb_power_window_params p = params();

	p.style = TB_POWER_TS_PULSES;
	p.edges = sampled ? TB_POWER_EDGES_BOTH : TB_POWER_EDGES_FALLING;
	return p;
}

Test(power_rec, pulses_window_and_energy)
{
	for (int sampled = 0; sampled < 2; sampled++) {
		struct tb_power_window_params p = pulse_params(sampled);
		struct tb_power_result r;
		struct tb_error err = { 0 };

		pulse_stream(2, 2, sampled);
		cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), 0, "%s", err.msg);
		cr_assert_eq(r.first, 200);
		cr_assert_eq(r.samples, 500);
		cr_assert_float_eq(r.energy_j, 3.0 * 0.010 * 0.5, 1e-9);
		cr_assert_float_eq(r.energy_uj, 1500.0, 1e-3);
		cr_assert_float_eq(r.power_mw, 30.0, 1e-4);
		tb_power_result_free(&r);
	}
}

/* A pulse one sample long is seen (the instrument sampled it low once);
 * an event input sees any pulse (low 0: between two samples). */
Test(power_rec, short_pulses_seen)
{
	struct tb_power_window_params p = pulse_params(true);
	struct tb_power_result r;
	struct tb_error err = { 0 };

	pulse_stream(1, 1, true);
	cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), 0, "%s", err.msg);
	cr_assert_eq(r.samples, 500);
	tb_power_result_free(&r);
	p = pulse_params(false);
	pulse_stream(0, 0, false);
	cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), 0, "%s", err.msg);
	cr_assert_eq(r.first, 200);
	cr_assert_eq(r.samples, 500);
	tb_power_result_free(&r);
}

/* A pulse shorter than one sample period between two samples: the
 * sampling instrument never saw it; the trial says so and why. */
Test(power_rec, pulse_between_samples_reported)
{
	struct tb_power_window_params p = pulse_params(true);
	struct tb_power_result r;
	struct tb_error err = { 0 };

	pulse_stream(2, 0, true);
	cr_assert_lt(tb_power_rec_analyze(rec, &p, &r, &err), 0);
	cr_assert(strstr(err.msg, "missing timestamp pulse: 1 falling edge for 1 timed window"),
		  "%s", err.msg);
	cr_assert(strstr(err.msg, "shorter than one sample period (1000.0 us at 1000 Hz)"),
		  "%s", err.msg);
	pulse_stream(0, 0, true);
	cr_assert_lt(tb_power_rec_analyze(rec, &p, &r, &err), 0);
	cr_assert(strstr(err.msg, "missing timestamp pulse: no falling edge"), "%s", err.msg);
}

Test(power_rec, pulses_extra_missing_and_repeated)
{
	struct tb_power_window_params p = pulse_params(false);
	struct tb_power_result r;
	struct tb_error err = { 0 };

	/* An extra pulse inside the window. */
	n_fed = 0;
	tb_power_rec_reset(rec);
	samples(0.001f, 100);
	edge(0);
	samples(0.010f, 100);
	edge(0);
	samples(0.010f, 100);
	edge(0);
	samples(0.001f, 100);
	cr_assert_lt(tb_power_rec_analyze(rec, &p, &r, &err), 0);
	cr_assert(strstr(err.msg, "extra timestamp pulse: 3 falling edges for 1 timed window"),
		  "%s", err.msg);
	/* Two windows (the batch was repeated): the last pair is measured;
	 * with one window expected, four pulses are extra. */
	p.windows = 2;
	n_fed = 0;
	tb_power_rec_reset(rec);
	for (int w = 0; w < 2; w++) {
		samples(0.001f, 100);
		edge(0);
		samples(w ? 0.020f : 0.010f, 200);
		edge(0);
	}
	samples(0.001f, 100);
	cr_assert_eq(tb_power_rec_analyze(rec, &p, &r, &err), 0, "%s", err.msg);
	cr_assert_eq(r.first, 400);
	cr_assert_float_eq(r.energy_j, 3.0 * 0.020 * 0.2, 1e-9);
	tb_power_result_free(&r);
	p.windows = 1;
	cr_assert_lt(tb_power_rec_analyze(rec, &p, &r, &err), 0);
	cr_assert(strstr(err.msg, "extra timestamp pulse: 4 falling edges"), "%s", err.msg);
}

/* Level-style firmware (the line high while the window is open) seen as
 * pulses: the line idled low; and falling-edge events are no level. */
Test(power_rec, pulses_need_a_line_idling_high)
{
	struct tb_power_window_params p = pulse_params(true);
	struct tb_power_result r;
	struct tb_error err = { 0 };

	standard_stream();
	cr_assert_lt(tb_power_rec_analyze(rec, &p, &r, &err), 0);
	cr_assert(strstr(err.msg, "timestamp line low when test started sampling"), "%s",
		  err.msg);
	cr_assert(strstr(err.msg, "idles high"), "%s", err.msg);
	p = params();
	p.edges = TB_POWER_EDGES_FALLING;
	cr_assert_lt(tb_power_rec_analyze(rec, &p, &r, &err), 0);
	cr_assert(strstr(err.msg, "falling edges only"), "%s", err.msg);
}
