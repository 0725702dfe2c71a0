/*
 * emu.c - the part of the instrument emulators they share (emu.h).
 */

#include "emu.h"
#include "tb_pty.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static double num(const char *prog, const char *opt, const char *s, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max) {
		fprintf(stderr, "%s: %s '%s': expected a number from %g to %g\n", prog, opt,
			s, min, max);
		exit(2);
	}
	return v;
}

void emu_init(struct emu *e, const char *prog, const char *instrument,
	      uint64_t seed)
{
	e->prog = prog;
	e->instrument = instrument;
	e->prof.volt_v = 3.3;
	e->prof.active_a = 5e-3;
	e->prof.idle_a = 4e-4;
	e->prof.ripple = 0.05;
	e->prof.ripple_hz = 37.0;
	e->prof.noise_a = -1;    /* emu_setup(): 1 % of active_a */
	e->lag_ns = 50000000;
	e->rng = seed;
	e->fault_window = 1;
}

int emu_parse_common(struct emu *e, int argc, char **argv, int i)
{
	const char *a = argv[i];
	const char *v = i + 1 < argc ? argv[i + 1] : NULL;

	if (!strcmp(a, "--pty")) {
		e->use_pty = true;
		return i + 1;
	}
	if (!v)
		return i;
	if (!strcmp(a, "--port"))
		e->port = v;
	else if (!strcmp(a, "--tsline"))
		e->tsline = v;
	else if (!strcmp(a, "--truth"))
		e->truth_path = v;
	else if (!strcmp(a, "--voltage-mv"))
		e->prof.volt_v = num(e->prog, a, v, 100, 10000) / 1000.0;
	else if (!strcmp(a, "--active-ua"))
		e->prof.active_a = num(e->prog, a, v, 0, 5e6) * 1e-6;
	else if (!strcmp(a, "--idle-ua"))
		e->prof.idle_a = num(e->prog, a, v, 0, 5e6) * 1e-6;
	else if (!strcmp(a, "--ripple"))
		e->prof.ripple = num(e->prog, a, v, 0, 0.9);
	else if (!strcmp(a, "--ripple-hz"))
		e->prof.ripple_hz = num(e->prog, a, v, 0, 1e5);
	else if (!strcmp(a, "--noise-ua"))
		e->prof.noise_a = num(e->prog, a, v, 0, 1e6) * 1e-6;
	else if (!strcmp(a, "--lag-ms"))
		e->lag_ns = (int64_t)(num(e->prog, a, v, 1, 10000) * 1e6);
	else if (!strcmp(a, "--seed"))
		e->rng = (uint64_t)num(e->prog, a, v, 0, 1e15) * 2654435761u + 1;
	else if (!strcmp(a, "--fault-window"))
		e->fault_window = (unsigned)num(e->prog, a, v, 0, 1e6);
	else if (!strcmp(a, "--timestamps") && (!strcmp(v, "level") || !strcmp(v, "pulses")))
		e->pulses = !strcmp(v, "pulses");
	else
		return i;
	return i + 2;
}

int emu_parse_args(struct emu *e, int argc, char **argv, void (*usage)(FILE *f),
		   int (*option)(struct emu *e, const char *opt, const char *val))
{
	int i = 1, next, rc;

	while (i < argc) {
		next = emu_parse_common(e, argc, argv, i);
		if (next != i) {
			i = next;
			continue;
		}
		rc = i + 1 < argc ? option(e, argv[i], argv[i + 1]) : 0;
		if (rc < 0)
			return 2;
		if (rc > 0) {
			i += 2;
			continue;
		}
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
		fprintf(stderr, "%s: unknown argument '%s'\n", e->prog, argv[i]);
		usage(stderr);
		return 2;
	}
	if (!e->port == !e->use_pty) {
		usage(stderr);
		return 2;
	}
	return -1;
}

int emu_setup(struct emu *e)
{
	char name[128];

	if (e->prof.noise_a < 0)
		e->prof.noise_a = 0.01 * e->prof.active_a;
	e->fd = tb_pty_open(e->prog, e->use_pty ? NULL : e->port, name, sizeof(name));
	if (e->fd < 0)
		return -1;
	if (e->tsline) {
		e->line.v = tb_vline_map(e->tsline, 0);
		if (!e->line.v) {
			fprintf(stderr, "%s: timestamp line %s: %s\n", e->prog, e->tsline,
				strerror(errno));
			return -1;
		}
		e->prof.t_base_ns = e->line.v->created_ns;
	} else {
		e->prof.t_base_ns = tb_vline_now_ns();
	}
	if (e->truth_path) {
		e->truth = fopen(e->truth_path, "a");
		if (!e->truth) {
			fprintf(stderr, "%s: --truth %s: %s\n", e->prog, e->truth_path,
				strerror(errno));
			return -1;
		}
		setvbuf(e->truth, NULL, _IOLBF, 0);
	}
	if (e->use_pty) {
		printf("%s\n", name);
		fflush(stdout);
	}
	return 0;
}

int emu_write_all(struct emu *e, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(e->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

double emu_current(const struct emu_profile *p, int64_t t_ns, int level)
{
	double t = (double)(t_ns - p->t_base_ns) * 1e-9;

	if (!p->powered)
		return 0.0;
	if (!level)
		return p->idle_a;
	return p->active_a * (1.0 + p->ripple * sin(2.0 * M_PI * p->ripple_hz * t));
}

/* Charge over [a, b] at a constant level: the ripple integrates exactly. */
static double charge_const(const struct emu_profile *p, int64_t a_ns, int64_t b_ns, int level)
{
	double ta = (double)(a_ns - p->t_base_ns) * 1e-9;
	double tb = (double)(b_ns - p->t_base_ns) * 1e-9;
	double w = 2.0 * M_PI * p->ripple_hz;

	if (!p->powered || b_ns <= a_ns)
		return 0.0;
	if (!level)
		return p->idle_a * (tb - ta);
	if (w == 0 || p->ripple == 0)
		return p->active_a * (tb - ta);
	return p->active_a * ((tb - ta) - p->ripple / w * (cos(w * tb) - cos(w * ta)));
}

static void push_edge(const char *prog, struct tb_vline_edge **v, size_t *n, size_t *cap,
		      struct tb_vline_edge edge)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 256;
		struct tb_vline_edge *g = realloc(*v, c * sizeof(*g));

		if (!g) {
			fprintf(stderr, "%s: out of memory\n", prog);
			exit(1);
		}
		*v = g;
		*cap = c;
	}
	(*v)[(*n)++] = edge;
}

/* Pulse style: a falling edge during the acquisition is a timestamp; each
 * one toggles the activity. */
static void derive_activity(struct emu *e, struct tb_vline_edge raw, int before)
{
	struct tb_vline_edge act = { .t_ns = raw.t_ns };

	if (raw.level || !before || !e->streaming || raw.t_ns < e->t_start_ns)
		return;
	act.level = e->act.n % 2 == 0;
	push_edge(e->prog, &e->act.edges, &e->act.n, &e->act.cap, act);
}

void emu_line_update(struct emu *e)
{
	struct emu_line *l = &e->line;
	uint64_t count;

	if (!l->v)
		return;
	count = tb_vline_count(l->v);
	if (count - l->seen > TB_VLINE_CAP) {
		l->overrun = true;
		l->seen = count - TB_VLINE_CAP;
	}
	for (; l->seen < count; l->seen++) {
		struct tb_vline_edge edge = tb_vline_edge(l->v, l->seen);

		push_edge(e->prog, &l->edges, &l->n, &l->cap, edge);
		if (e->pulses)
			derive_activity(e, edge, l->last_level);
		l->last_level = (int)edge.level;
	}
}

/* Index of the last of edges[0..n) at or before t, or -1. */
static long edge_before(const struct tb_vline_edge *edges, size_t n, int64_t t_ns)
{
	long lo = 0, hi = (long)n - 1, best = -1;

	while (lo <= hi) {
		long mid = (lo + hi) / 2;

		if (edges[mid].t_ns <= t_ns) {
			best = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return best;
}

int emu_line_level(struct emu *e, int64_t t_ns)
{
	long i = edge_before(e->line.edges, e->line.n, t_ns);

	return i < 0 ? 0 : (int)e->line.edges[i].level;
}

unsigned emu_line_edges_in(struct emu *e, int64_t a_ns, int64_t b_ns, int level)
{
	unsigned k = 0;

	for (long i = edge_before(e->line.edges, e->line.n, a_ns) + 1;
	     i < (long)e->line.n && e->line.edges[i].t_ns <= b_ns; i++)
		if ((int)e->line.edges[i].level == level &&
		    (i == 0 ? 0 : (int)e->line.edges[i - 1].level) != level)
			k++;
	return k;
}

/* The activity edges: the line's own, or those derived from its pulses. */
static const struct tb_vline_edge *act_edges(const struct emu *e, size_t *n)
{
	*n = e->pulses ? e->act.n : e->line.n;
	return e->pulses ? e->act.edges : e->line.edges;
}

double emu_charge(struct emu *e, int64_t a_ns, int64_t b_ns)
{
	size_t n;
	const struct tb_vline_edge *ed = act_edges(e, &n);
	long i = edge_before(ed, n, a_ns);
	int level = i < 0 ? 0 : (int)ed[i].level;
	double q = 0;
	int64_t t = a_ns;

	for (size_t j = (size_t)(i + 1); j < n && ed[j].t_ns < b_ns; j++) {
		q += charge_const(&e->prof, t, ed[j].t_ns, level);
		t = ed[j].t_ns;
		level = (int)ed[j].level;
	}
	return q + charge_const(&e->prof, t, b_ns, level);
}

uint64_t emu_due(const struct emu *e)
{
	int64_t t = tb_vline_now_ns() - e->lag_ns - e->t_start_ns;
	uint64_t total;

	if (!e->streaming || t <= 0)
		return 0;
	total = (uint64_t)((double)t * e->hz / 1e9);
	return total > e->k ? total - e->k : 0;
}

double emu_noise(struct emu *e)
{
	double s = 0;

	/* Irwin-Hall: the sum of 12 uniforms minus 6 has variance 1. */
	for (int i = 0; i < 12; i++) {
		e->rng ^= e->rng >> 12;
		e->rng ^= e->rng << 25;
		e->rng ^= e->rng >> 27;
		s += (double)((e->rng * 2685821657736338717ull) >> 11) * 0x1p-53;
	}
	return s - 6.0;
}

static void write_truth(struct emu *e, unsigned window, int64_t rise, int64_t fall)
{
	double q = emu_charge(e, rise, fall), dur = (double)(fall - rise) * 1e-9;
	double energy = q * e->prof.volt_v;

	if (!e->truth)
		return;
	fprintf(e->truth,
		"{\"instrument\":\"%s\",\"window\":%u,\"rise_ns\":%lld,\"fall_ns\":%lld,"
		"\"duration_s\":%.9f,\"voltage_v\":%.6f,\"energy_uj\":%.9f,\"mean_mw\":%.9f}\n",
		e->instrument, window, (long long)rise, (long long)fall, dur,
		e->prof.volt_v, energy * 1e6, dur > 0 ? energy / dur * 1e3 : 0.0);
}

int emu_track(struct emu *e, uint64_t k)
{
	int64_t t = emu_sample_ns(e, k);
	size_t n;
	const struct tb_vline_edge *ed = act_edges(e, &n);
	long i = edge_before(ed, n, t);
	int level = i < 0 ? 0 : (int)ed[i].level;

	if (level && !e->level) {
		/* A window opens; only one that began while streaming counts. */
		if (ed[i].t_ns >= e->t_start_ns) {
			e->window++;
			e->window_rise_ns = ed[i].t_ns;
		} else {
			e->window_rise_ns = 0;
		}
	} else if (!level && e->level) {
		if (e->window_rise_ns) {
			write_truth(e, e->window, e->window_rise_ns, ed[i].t_ns);
			e->closed_at_ns = ed[i].t_ns;
			e->closed_len_ns = ed[i].t_ns - e->window_rise_ns;
		}
		e->window_rise_ns = 0;
	}
	e->level = level;
	return level;
}

void emu_start(struct emu *e, double hz)
{
	e->hz = hz;
	e->k = 0;
	e->t_start_ns = tb_vline_now_ns();
	e->level = 0;
	e->window_rise_ns = 0;
	e->closed_at_ns = 0;
	e->streaming = true;
	e->act.n = 0;
	emu_line_update(e);
	/* A line already high at the start is sampled as high from sample 0
	 * on, without a window of its own.  Pulse style: no window is open
	 * before the acquisition's first pulse. */
	e->level = e->pulses ? 0 : emu_line_level(e, e->t_start_ns);
}

void emu_stop(struct emu *e)
{
	e->streaming = false;
	e->window_rise_ns = 0;
}

int emu_read(struct emu *e, uint8_t *buf, size_t cap, int timeout_ms)
{
	struct pollfd p = { .fd = e->fd, .events = POLLIN };
	ssize_t n;
	int rc;

	rc = poll(&p, 1, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : -1;
	if (rc == 0)
		return 0;
	n = read(e->fd, buf, cap);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	return n == 0 ? -1 : (int)n;
}

void emu_run(struct emu *e, void (*input)(struct emu *e, const uint8_t *buf, int n),
	     void (*stream)(struct emu *e))
{
	uint8_t buf[512];

	for (;;) {
		int n = emu_read(e, buf, sizeof(buf), e->streaming ? 1 : 50);

		if (n < 0)
			return;      /* the host hung up */
		if (n > 0)
			input(e, buf, n);
		if (e->streaming)
			stream(e);
	}
}
