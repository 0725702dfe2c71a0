/*
 * tb_power_rec.c - record a trial's samples and edges, find the window,
 * integrate (tb_power_rec.h).
 */
#include "tb_power_rec.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rec_edge {
	uint64_t index;
	int level;
};

struct rec_lost {
	uint64_t index;
	uint64_t count;
	uint64_t span_start;
};

struct tb_power_rec {
	float *s;                 /* samples, amperes */
	uint64_t cap;
	struct rec_edge *edges;
	size_t n_edges, cap_edges;
	struct rec_lost *lost;
	size_t n_lost, cap_lost;
	char error[TB_ERROR_MSG_MAX];
	bool overflow;
	bool nomem;
	/* Read by tb_power_rec_progress() from another thread. */
	_Atomic uint64_t n;
	_Atomic unsigned rises;
	_Atomic unsigned falls;
	_Atomic uint64_t last_edge;
	_Atomic unsigned errors;
	_Atomic bool ended;
};

int tb_power_rec_new(struct tb_power_rec **out, struct tb_error *err)
{
	struct tb_power_rec *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	tb_power_rec_reset(r);
	*out = r;
	return TB_OK;
}

void tb_power_rec_free(struct tb_power_rec *r)
{
	if (!r)
		return;
	free(r->s);
	free(r->edges);
	free(r->lost);
	free(r);
}

void tb_power_rec_reset(struct tb_power_rec *r)
{
	r->n_edges = 0;
	r->n_lost = 0;
	r->error[0] = '\0';
	r->overflow = false;
	r->nomem = false;
	atomic_store(&r->n, 0);
	atomic_store(&r->rises, 0);
	atomic_store(&r->falls, 0);
	atomic_store(&r->last_edge, 0);
	atomic_store(&r->errors, 0);
	atomic_store(&r->ended, false);
}

/* Make room for `need` samples; false when over the cap or out of memory. */
static bool reserve(struct tb_power_rec *r, uint64_t need)
{
	uint64_t cap = r->cap ? r->cap : 65536;
	float *grown;

	if (need <= r->cap)
		return true;
	if (need > TB_POWER_REC_MAX_SAMPLES) {
		r->overflow = true;
		return false;
	}
	while (cap < need)
		cap *= 2;
	if (cap > TB_POWER_REC_MAX_SAMPLES)
		cap = TB_POWER_REC_MAX_SAMPLES;
	grown = realloc(r->s, cap * sizeof(*grown));
	if (!grown) {
		r->nomem = true;
		return false;
	}
	r->s = grown;
	r->cap = cap;
	return true;
}

static void on_samples(void *user, uint64_t first, const float *amps, size_t n)
{
	struct tb_power_rec *r = user;
	uint64_t have = atomic_load_explicit(&r->n, memory_order_relaxed);

	/* Drivers number samples contiguously; a driver bug must not
	 * scribble: anything out of sequence is dropped and reported. */
	if (first != have) {
		if (!r->error[0])
			snprintf(r->error, sizeof(r->error),
				 "internal: samples out of sequence (got %llu, expected %llu)",
				 (unsigned long long)first, (unsigned long long)have);
		atomic_fetch_add(&r->errors, 1);
		return;
	}
	if (r->overflow || r->nomem || !reserve(r, have + n))
		return;
	memcpy(r->s + have, amps, n * sizeof(*amps));
	atomic_store_explicit(&r->n, have + n, memory_order_release);
}

static void *grow(void *p, size_t *cap, size_t n, size_t size, bool *nomem)
{
	void *q;

	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 16;
	q = realloc(p, *cap * size);
	if (!q)
		*nomem = true;
	return q ? q : p;
}

static void on_event(void *user, const struct tb_power_event *ev)
{
	struct tb_power_rec *r = user;

	switch (ev->type) {
	case TB_POWER_EV_EDGE:
		r->edges = grow(r->edges, &r->cap_edges, r->n_edges, sizeof(*r->edges),
				&r->nomem);
		if (r->n_edges >= r->cap_edges)
			return;
		r->edges[r->n_edges].index = ev->index;
		r->edges[r->n_edges].level = ev->level ? 1 : 0;
		r->n_edges++;
		atomic_store(&r->last_edge, ev->index);
		if (ev->level)
			atomic_fetch_add(&r->rises, 1);
		else
			atomic_fetch_add(&r->falls, 1);
		break;
	case TB_POWER_EV_LOST:
		r->lost = grow(r->lost, &r->cap_lost, r->n_lost, sizeof(*r->lost),
			       &r->nomem);
		if (r->n_lost >= r->cap_lost)
			return;
		r->lost[r->n_lost].index = ev->index;
		r->lost[r->n_lost].count = ev->count;
		r->lost[r->n_lost].span_start = ev->span_start;
		r->n_lost++;
		break;
	case TB_POWER_EV_ERROR:
		if (!r->error[0])
			snprintf(r->error, sizeof(r->error), "%s",
				 ev->text ? ev->text : "unspecified error");
		atomic_fetch_add(&r->errors, 1);
		break;
	case TB_POWER_EV_END:
		atomic_store(&r->ended, true);
		break;
	case TB_POWER_EV_INFO:
		break;
	}
}

struct tb_power_sink tb_power_rec_sink(struct tb_power_rec *r)
{
	struct tb_power_sink s = {
		.samples = on_samples,
		.event = on_event,
		.user = r,
	};
	return s;
}

void tb_power_rec_progress(struct tb_power_rec *r, struct tb_power_rec_progress *p)
{
	p->samples = atomic_load_explicit(&r->n, memory_order_acquire);
	p->rises = atomic_load(&r->rises);
	p->falls = atomic_load(&r->falls);
	p->last_edge = atomic_load(&r->last_edge);
	p->errors = atomic_load(&r->errors);
	p->ended = atomic_load(&r->ended);
}

/* ---- analysis ---------------------------------------------------------- */

static double at_s(const struct tb_power_window_params *p, uint64_t index)
{
	return (double)index / p->sample_hz;
}

/* "0.120 s, 0.734 s" of the edges of one level, at most 4. */
static void edge_list(const struct tb_power_rec *r, const struct tb_power_window_params *p,
		      int level, char *buf, size_t len)
{
	size_t off = 0, shown = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < r->n_edges && off < len; i++) {
		if (r->edges[i].level != level)
			continue;
		if (shown++ == 4) {
			off += (size_t)snprintf(buf + off, len - off, ", ...");
			break;
		}
		off += (size_t)snprintf(buf + off, len - off, "%s%.3f s",
					shown > 1 ? ", " : "",
					at_s(p, r->edges[i].index));
	}
}

/* Window [a, b) from edges that the instrument sampled (both polarities). */
static int window_both(const struct tb_power_rec *r, const struct tb_power_window_params *p,
		       uint64_t n, uint64_t *a, uint64_t *b, struct tb_error *err)
{
	unsigned rises = 0, falls = 0;
	const struct rec_edge *rise = NULL, *fall = NULL;
	char list[160];

	for (size_t i = 0; i < r->n_edges; i++) {
		const struct rec_edge *e = &r->edges[i];

		if (e->level) {
			rises++;
			rise = e;
			fall = NULL;
		} else {
			if (!rises)
				return tb_error_set(err, TB_ERR_PROTO,
						    "extra timestamp edge: the line fell at %.3f s before it ever rose (it was high when %s started sampling)",
						    at_s(p, e->index), p->instrument);
			falls++;
			fall = e;
		}
	}
	if (!rises)
		return tb_error_set(err, TB_ERR_PROTO,
				    "missing timestamp edge: the line never rose in %.3f s of %s samples (is the timestamp pin wired to the monitor's input?)",
				    at_s(p, n), p->instrument);
	if (rises > p->windows || falls > p->windows) {
		edge_list(r, p, 1, list, sizeof(list));
		return tb_error_set(err, TB_ERR_PROTO,
				    "extra timestamp edge: %u rising and %u falling edges for %u timed window%s (rising at %s)",
				    rises, falls, p->windows, p->windows == 1 ? "" : "s", list);
	}
	if (rises < p->windows)
		return tb_error_set(err, TB_ERR_PROTO,
				    "missing timestamp edge: the line rose %u time%s for %u timed batches",
				    rises, rises == 1 ? "" : "s", p->windows);
	if (rise->index == 0)
		return tb_error_set(err, TB_ERR_PROTO,
				    "extra timestamp edge: the line was already high when %s started sampling",
				    p->instrument);
	if (!fall)
		return tb_error_set(err, TB_ERR_PROTO,
				    "missing timestamp edge: the line rose at %.3f s and did not fall in the %.3f s of samples after it",
				    at_s(p, rise->index), at_s(p, n - rise->index));
	*a = rise->index;
	*b = fall->index;
	return TB_OK;
}

/* Window from the rising edge and the device's duration. */
static int window_rising(const struct tb_power_rec *r, const struct tb_power_window_params *p,
			 uint64_t n, uint64_t *a, uint64_t *b, struct tb_error *err)
{
	unsigned rises = 0, falls = 0;
	const struct rec_edge *rise = NULL;
	char list[160];
	double len;

	for (size_t i = 0; i < r->n_edges; i++) {
		if (r->edges[i].level) {
			rises++;
			rise = &r->edges[i];
		} else {
			falls++;
		}
	}
	if (!rises)
		return tb_error_set(err, TB_ERR_PROTO,
				    "missing timestamp edge: %s reported no rising edge in %.3f s of samples (is the timestamp pin wired to its event input?)",
				    p->instrument, at_s(p, n));
	if (rises > p->windows || falls) {
		edge_list(r, p, 1, list, sizeof(list));
		return tb_error_set(err, TB_ERR_PROTO,
				    "extra timestamp edge: %u rising edge%s%s for %u timed window%s (at %s)",
				    rises, rises == 1 ? "" : "s",
				    falls ? " and falling edges" : "", p->windows,
				    p->windows == 1 ? "" : "s", list);
	}
	if (rises < p->windows)
		return tb_error_set(err, TB_ERR_PROTO,
				    "missing timestamp edge: %u rising edge%s for %u timed batches",
				    rises, rises == 1 ? "" : "s", p->windows);
	if (!(p->duration_s > 0))
		return tb_error_set(err, TB_ERR_ARG,
				    "%s reports rising edges only and the device's window length is unknown",
				    p->instrument);
	len = llround(p->duration_s * p->sample_hz);
	*a = rise->index;
	*b = rise->index + (uint64_t)len;
	if (*b > n)
		return tb_error_set(err, TB_ERR_PROTO,
				    "%s's stream ended %.3f s before the end of the timed window",
				    p->instrument, at_s(p, *b - n));
	return TB_OK;
}

/*
 * Window between the falling edges of two timestamp pulses (EEMBC
 * energy-mode firmware: the line idles high, a timestamp pulls it low for
 * >= 1 us).  Each timed window is two pulses; the last pair is measured.
 * Rising edges (the ends of the pulses) are reported only by an
 * instrument that samples the line (TB_POWER_EDGES_BOTH); they tell
 * whether the line idled high when sampling started.
 */
static int window_pulses(const struct tb_power_rec *r, const struct tb_power_window_params *p,
			 uint64_t n, uint64_t *a, uint64_t *b, struct tb_error *err)
{
	const struct rec_edge *open = NULL, *close = NULL;
	bool sampled = p->edges == TB_POWER_EDGES_BOTH;
	unsigned falls = 0, need = 2 * p->windows;
	char list[160], hint[200] = "";

	for (size_t i = 0; i < r->n_edges; i++) {
		const struct rec_edge *e = &r->edges[i];

		if (e->level)
			continue;
		falls++;
		open = close;
		close = e;
	}
	if (sampled && r->n_edges && r->edges[0].level && r->edges[0].index > 0)
		return tb_error_set(err, TB_ERR_PROTO,
				    "timestamp line low when %s started sampling (it rose at %.3f s): timestamp pulses need a line that idles high (is the firmware built for EEMBC energy mode?)",
				    p->instrument, at_s(p, r->edges[0].index));
	if (sampled)
		snprintf(hint, sizeof(hint),
			 "; %s sees the line only at its samples: a pulse shorter than one sample period (%.1f us at %.0f Hz) can fall between two of them",
			 p->instrument, 1e6 / p->sample_hz, p->sample_hz);
	if (!falls)
		return tb_error_set(err, TB_ERR_PROTO,
				    "missing timestamp pulse: no falling edge in %.3f s of %s samples (is the timestamp pin wired to the monitor's input?)%s",
				    at_s(p, n), p->instrument, hint);
	edge_list(r, p, 0, list, sizeof(list));
	if (falls > need)
		return tb_error_set(err, TB_ERR_PROTO,
				    "extra timestamp pulse: %u falling edges for %u timed window%s (2 each; at %s)",
				    falls, p->windows, p->windows == 1 ? "" : "s", list);
	if (falls < need)
		return tb_error_set(err, TB_ERR_PROTO,
				    "missing timestamp pulse: %u falling edge%s for %u timed window%s (2 each; at %s)%s",
				    falls, falls == 1 ? "" : "s", p->windows,
				    p->windows == 1 ? "" : "s", list, hint);
	*a = open->index;
	*b = close->index;
	return TB_OK;
}

static double sum_range(const float *s, uint64_t a, uint64_t b)
{
	double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	uint64_t i = a;

	for (; i + 4 <= b; i += 4) {
		s0 += s[i];
		s1 += s[i + 1];
		s2 += s[i + 2];
		s3 += s[i + 3];
	}
	for (; i < b; i++)
		s0 += s[i];
	return (s0 + s1) + (s2 + s3);
}

static int make_trace(const struct tb_power_rec *r, const struct tb_power_window_params *p,
		      uint64_t a, uint64_t b, struct tb_power_result *res,
		      struct tb_error *err)
{
	double bin_hz = p->bin_hz > 0 ? p->bin_hz : 1000.0;
	uint64_t per = (uint64_t)llround(p->sample_hz / bin_hz);
	size_t n;

	if (per < 1)
		per = 1;
	n = (size_t)((b - a + per - 1) / per);
	res->trace = malloc(n * sizeof(*res->trace));
	if (!res->trace)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory (power trace of %zu bins)", n);
	for (size_t k = 0; k < n; k++) {
		uint64_t lo = a + k * per, hi = lo + per < b ? lo + per : b;

		res->trace[k] = (float)(sum_range(r->s, lo, hi) / (double)(hi - lo) *
					p->voltage_v * 1e3);
	}
	res->n_bins = n;
	res->bin_hz = p->sample_hz / (double)per;
	return TB_OK;
}

int tb_power_rec_analyze(struct tb_power_rec *r, const struct tb_power_window_params *p,
			 struct tb_power_result *res, struct tb_error *err)
{
	uint64_t n = atomic_load(&r->n), a = 0, b = 0, lost = 0, allowed;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!(p->sample_hz > 0) || !(p->voltage_v > 0) || !p->inferences || !p->windows)
		return tb_error_set(err, TB_ERR_ARG, "energy analysis: bad parameters");
	if (r->nomem)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory recording %s samples",
				    p->instrument);
	if (r->overflow)
		return tb_error_set(err, TB_ERR_PROTO,
				    "the trial is longer than the %llu samples the energy recorder keeps (%.0f s at %.0f Hz); use shorter trials",
				    (unsigned long long)TB_POWER_REC_MAX_SAMPLES,
				    TB_POWER_REC_MAX_SAMPLES / p->sample_hz, p->sample_hz);
	if (atomic_load(&r->errors))
		return tb_error_set(err, TB_ERR_DEVICE, "%s reported an error during the trial: %s",
				    p->instrument, r->error);
	if (p->style == TB_POWER_TS_PULSES)
		rc = window_pulses(r, p, n, &a, &b, err);
	else if (p->edges == TB_POWER_EDGES_BOTH)
		rc = window_both(r, p, n, &a, &b, err);
	else if (p->edges == TB_POWER_EDGES_RISING)
		rc = window_rising(r, p, n, &a, &b, err);
	else
		rc = tb_error_set(err, TB_ERR_ARG,
				  "%s reports falling edges only: that marks timestamp pulses, not a level window",
				  p->instrument);
	if (rc < 0)
		return rc;
	if (b <= a)
		return tb_error_set(err, TB_ERR_PROTO,
				    "timed window shorter than one %s sample (%.6f s)",
				    p->instrument, 1.0 / p->sample_hz);
	res->window_s = (double)(b - a) / p->sample_hz;
	if (res->window_s < p->min_window_s)
		return tb_error_set(err, TB_ERR_PROTO,
				    "timed window of %.1f ms is shorter than the %.1f ms minimum for energy (raise --min-time)",
				    res->window_s * 1e3, p->min_window_s * 1e3);
	for (size_t i = 0; i < r->n_lost; i++) {
		const struct rec_lost *l = &r->lost[i];

		if (l->span_start < b && l->index > a)
			lost += l->count;
	}
	allowed = (uint64_t)floor(p->max_lost_frac * (double)(b - a));
	if (lost > allowed)
		return tb_error_set(err, TB_ERR_PROTO,
				    "%s lost %llu samples in the timed window (%.3f %% of %llu), more than the %.3f %% allowed",
				    p->instrument, (unsigned long long)lost,
				    100.0 * (double)lost / (double)(b - a),
				    (unsigned long long)(b - a), 100.0 * p->max_lost_frac);
	res->first = a;
	res->samples = b - a;
	res->lost = lost;
	res->sample_hz = p->sample_hz;
	res->energy_j = sum_range(r->s, a, b) * p->voltage_v / p->sample_hz;
	res->energy_uj = res->energy_j * 1e6 / (double)p->inferences;
	res->power_mw = res->energy_j / res->window_s * 1e3;
	return make_trace(r, p, a, b, res, err);
}

void tb_power_result_free(struct tb_power_result *res)
{
	if (!res)
		return;
	free(res->trace);
	res->trace = NULL;
	res->n_bins = 0;
}
