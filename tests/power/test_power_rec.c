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
