/*
 * gate.c - the regression gate (tb_gate.h) and its JUnit XML.
 */
#include "tb_gate.h"
#include "export_priv.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ limits */

int tb_limit_parse(const char *text, int allow_bytes, struct tb_limit *out,
		   struct tb_error *err)
{
	char *end;
	double v, scale = 0;

	memset(out, 0, sizeof(*out));
	if (!text || !*text || isspace((unsigned char)*text))
		goto bad;
	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || !isfinite(v) || v < 0 || *text == '+')
		goto bad;
	if (!strcmp(end, "%")) {
		if (v > 1000)
			return tb_error_set(err, TB_ERR_ARG,
					    "limit '%s': more than 1000 %% is not a limit", text);
		out->kind = TB_LIMIT_RELATIVE;
		out->value = v / 100.0;
	} else if (!*end) {
		if (v != 0)
			return tb_error_set(err, TB_ERR_ARG,
					    "limit '%s' is ambiguous: write %s%%%s",
					    text, text,
					    allow_bytes ? " for a percentage or add B for bytes (e.g. 512B)" : "");
		out->kind = TB_LIMIT_RELATIVE;
		out->value = 0;
	} else if (allow_bytes) {
		if (!strcmp(end, "B"))
			scale = 1;
		else if (!strcmp(end, "KiB") || !strcmp(end, "K") || !strcmp(end, "KB"))
			scale = 1024;
		else if (!strcmp(end, "MiB") || !strcmp(end, "M") || !strcmp(end, "MB"))
			scale = 1024 * 1024;
		if (!scale || v != floor(v * scale) / scale)
			goto bad;
		out->kind = TB_LIMIT_BYTES;
		out->value = v * scale;
	} else {
		goto bad;
	}
	snprintf(out->text, sizeof(out->text), "%s", text);
	return TB_OK;
bad:
	return tb_error_set(err, TB_ERR_ARG,
			    "limit '%s': expected a percentage such as 5%% or 0.5%%, or 0%s",
			    text ? text : "",
			    allow_bytes ? ", or bytes such as 512B or 4KiB" : "");
}

/* ------------------------------------------------------------ cells */

static const char *const metric_names[TB_GATE_N_METRICS] = {
	"latency", "energy", "ram", "flash",
};

const char *tb_gate_metric_name(enum tb_gate_metric m)
{
	return (unsigned)m < TB_GATE_N_METRICS ? metric_names[m] : NULL;
}

const char *tb_gate_verdict_name(enum tb_gate_verdict v)
{
	switch (v) {
	case TB_GATE_PASS: return "PASS";
	case TB_GATE_FAIL: return "FAIL";
	case TB_GATE_SKIP: return "SKIP";
	}
	return NULL;
}

struct cell {
	const char *board, *workload;
	const struct tb_run_summary *base;	/* latest ok baseline run */
	const struct tb_run_summary *base_any;	/* latest baseline run */
	const struct tb_run_summary *cand;	/* latest finished candidate */
};

static int cell_cmp(const void *a, const void *b)
{
	const struct cell *x = a, *y = b;
	int c = strcmp(x->board, y->board);

	return c ? c : strcmp(x->workload, y->workload);
}

static struct cell *find_cell(struct cell *v, size_t n, const struct tb_run *r)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i].board, r->info.board) &&
		    !strcmp(v[i].workload, r->info.workload))
			return &v[i];
	return NULL;
}

static int add_cell(struct cell **v, size_t *n, size_t *cap,
		    const struct tb_run *r, struct cell **out)
{
	struct cell *c = find_cell(*v, *n, r), *grown;

	if (!c) {
		if (*n == *cap) {
			*cap = *cap ? 2 * *cap : 16;
			grown = realloc(*v, *cap * sizeof(**v));
			if (!grown)
				return -1;
			*v = grown;
		}
		c = &(*v)[(*n)++];
		memset(c, 0, sizeof(*c));
		c->board = r->info.board;
		c->workload = r->info.workload;
	}
	*out = c;
	return 0;
}

static const char *fmt_ms(char *buf, size_t len, double v, const char *unit)
{
	snprintf(buf, len, "%.4g %s", v, unit);
	return buf;
}

static double pct(double v, double base)
{
	return base > 0 ? 100.0 * (v - base) / base : NAN;
}

/* Latency or energy: the spread rule. */
static void judge_spread(struct tb_gate_case *k, const struct tb_limit *lim,
			 const struct tb_stats *b, const struct tb_stats *c,
			 const char *what, const char *unit, const char *note)
{
	char bm[32], bx[32], cm[32], bd[32];

	k->base_value = b->median;
	k->base_max = b->max;
	k->new_value = c->median;
	k->bound = b->max * (1 + lim->value);
	fmt_ms(bm, sizeof(bm), b->median, unit);
	fmt_ms(bx, sizeof(bx), b->max, unit);
	fmt_ms(cm, sizeof(cm), c->median, unit);
	fmt_ms(bd, sizeof(bd), k->bound, unit);
	if (c->median > k->bound) {
		k->verdict = TB_GATE_FAIL;
		snprintf(k->message, sizeof(k->message),
			 "%s regression: run %lld median %s (%zu trials) is above %s = "
			 "baseline run %lld max %s + %s; %+.1f %% vs the baseline median %s%s",
			 what, (long long)k->new_run, cm, c->n, bd, (long long)k->base_run,
			 bx, lim->text, pct(c->median, b->median), bm, note);
	} else {
		k->verdict = TB_GATE_PASS;
		snprintf(k->message, sizeof(k->message),
			 "%s ok: run %lld median %s (%zu trials) is within %s = "
			 "baseline run %lld max %s + %s; %+.1f %% vs the baseline median %s%s",
			 what, (long long)k->new_run, cm, c->n, bd, (long long)k->base_run,
			 bx, lim->text, pct(c->median, b->median), bm, note);
	}
}

/* RAM or flash: deterministic bytes. */
static void judge_bytes(struct tb_gate_case *k, const struct tb_limit *lim,
			int64_t base, int64_t cand, const char *what, const char *detail)
{
	double bound = lim->kind == TB_LIMIT_BYTES ? (double)base + lim->value :
		       (double)base * (1 + lim->value);

	k->base_value = (double)base;
	k->new_value = (double)cand;
	k->bound = floor(bound);
	k->verdict = (double)cand > bound ? TB_GATE_FAIL : TB_GATE_PASS;
	snprintf(k->message, sizeof(k->message),
		 "%s %s: run %lld %lld B vs baseline run %lld %lld B: %+lld B (%+.2f %%), "
		 "limit +%s (at most %.0f B)%s",
		 what, k->verdict == TB_GATE_FAIL ? "growth over the limit" : "ok",
		 (long long)k->new_run, (long long)cand, (long long)k->base_run,
		 (long long)base, (long long)(cand - base), pct((double)cand, (double)base),
		 lim->text, k->bound, detail);
}

static void skip(struct tb_gate_case *k, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void skip(struct tb_gate_case *k, const char *fmt, ...)
{
	va_list ap;

	k->verdict = TB_GATE_SKIP;
	va_start(ap, fmt);
	vsnprintf(k->message, sizeof(k->message), fmt, ap);
	va_end(ap);
}

static void judge(struct tb_gate_case *k, const struct cell *c,
		  const struct tb_limit *lim)
{
	const struct tb_run_summary *b = c->base, *n = c->cand;
	const struct tb_run_info *bi, *ni;
	char detail[160];
	int64_t rb, rn;
	int sb;

	if (!n) {
		skip(k, "no run to check: board %s, workload %s has only baseline runs",
		     c->board, c->workload);
		return;
	}
	if (!b) {
		if (c->base_any)
			skip(k, "baseline run %lld did not finish ok (%s): nothing to compare run %lld with",
			     (long long)c->base_any->run->id,
			     tb_store_run_status_name(c->base_any->run->status),
			     (long long)n->run->id);
		else
			skip(k, "no baseline run for board %s, workload %s (run %lld not compared)",
			     c->board, c->workload, (long long)n->run->id);
		return;
	}
	if (!tb_summary_usable(n)) {
		k->verdict = TB_GATE_FAIL;
		k->run_failed = 1;
		snprintf(k->message, sizeof(k->message),
			 "run %lld did not finish ok (%s%s%s, %lld of %lld trials ok): no %s figure to check",
			 (long long)n->run->id, tb_store_run_status_name(n->run->status),
			 n->run->reason ? ": " : "", n->run->reason ? n->run->reason : "",
			 (long long)n->n_ok, (long long)n->n_trials, metric_names[k->metric]);
		return;
	}
	bi = &b->run->info;
	ni = &n->run->info;
	switch (k->metric) {
	case TB_GATE_LATENCY:
		if (strcmp(bi->timing_method ? bi->timing_method : "",
			   ni->timing_method ? ni->timing_method : "")) {
			skip(k, "timing methods differ (baseline run %lld: %s, run %lld: %s): not comparable",
			     (long long)b->run->id, bi->timing_method ? bi->timing_method : "unknown",
			     (long long)n->run->id, ni->timing_method ? ni->timing_method : "unknown");
			return;
		}
		snprintf(detail, sizeof(detail), "%s",
			 tb_timing_is_estimate(ni->timing_method) ?
			 " [estimate: instruction-count timing, not measured time]" : "");
		judge_spread(k, lim, &b->latency_ms, &n->latency_ms, "latency", "ms", detail);
		return;
	case TB_GATE_ENERGY:
		if (!b->energy_uj.n || !n->energy_uj.n) {
			skip(k, "no energy measured in run %lld",
			     (long long)(b->energy_uj.n ? n->run->id : b->run->id));
			return;
		}
		if (strcmp(bi->energy_method, ni->energy_method)) {
			skip(k, "energy methods differ (baseline run %lld: %s, run %lld: %s): not comparable",
			     (long long)b->run->id, bi->energy_method,
			     (long long)n->run->id, ni->energy_method);
			return;
		}
		snprintf(detail, sizeof(detail), " [%s%s]", ni->energy_method,
			 tb_energy_is_emulated(ni->energy_method) ?
			 ": emulated meter, not measured on the board" : "");
		judge_spread(k, lim, &b->energy_uj, &n->energy_uj, "energy per inference",
			     "uJ", detail);
		return;
	case TB_GATE_RAM:
		if (!b->ram_b.n || !n->ram_b.n) {
			skip(k, "peak RAM unknown in run %lld",
			     (long long)(b->ram_b.n ? n->run->id : b->run->id));
			return;
		}
		/* The spread rule on each trial's stack + arena peak: the
		 * candidate's median against the baseline's largest, so that
		 * one trial disturbed by an interrupt landing on the painted
		 * stack does not count.  Static RAM on both sides or neither. */
		sb = bi->static_ram_bytes >= 0 && ni->static_ram_bytes >= 0;
		rb = (int64_t)b->ram_b.max + (sb ? bi->static_ram_bytes : 0);
		rn = (int64_t)ceil(n->ram_b.median) + (sb ? ni->static_ram_bytes : 0);
		snprintf(detail, sizeof(detail),
			 " [stack + arena: median of %zu trials %.0f B (max %.0f) vs baseline max %.0f%s]",
			 n->ram_b.n, n->ram_b.median, n->ram_b.max, b->ram_b.max,
			 sb ? "; static RAM included" : "");
		judge_bytes(k, lim, rb, rn, "peak RAM", detail);
		return;
	case TB_GATE_FLASH:
		if (bi->flash_bytes < 0 || ni->flash_bytes < 0) {
			skip(k, "flash size unknown in run %lld",
			     (long long)(bi->flash_bytes < 0 ? b->run->id : n->run->id));
			return;
		}
		judge_bytes(k, lim, bi->flash_bytes, ni->flash_bytes, "flash", "");
		return;
	case TB_GATE_N_METRICS:
		break;
	}
}

static int in_set(const struct tb_summary_set *set, int64_t id)
{
	return tb_summary_find(set, id) != NULL;
}

int tb_gate_run(const struct tb_summary_set *baseline,
		const struct tb_summary_set *candidates,
		const struct tb_gate_opts *o, struct tb_gate **out,
		struct tb_error *err)
{
	struct cell *cells = NULL, *c;
	size_t n_cells = 0, cap = 0, i, m, n_metrics = 0;
	struct tb_gate *g;

	*out = NULL;
	for (m = 0; m < TB_GATE_N_METRICS; m++)
		if (o->limit[m].kind != TB_LIMIT_OFF)
			n_metrics++;
	if (!n_metrics)
		return tb_error_set(err, TB_ERR_ARG, "no limit given: nothing to check");

	for (i = 0; i < baseline->n; i++) {
		const struct tb_run_summary *s = &baseline->v[i];

		if (add_cell(&cells, &n_cells, &cap, s->run, &c))
			goto out_nomem;
		if (!c->base_any || s->run->id > c->base_any->run->id)
			c->base_any = s;
		if (tb_summary_usable(s) && (!c->base || s->run->id > c->base->run->id))
			c->base = s;
	}
	for (i = 0; i < candidates->n; i++) {
		const struct tb_run_summary *s = &candidates->v[i];

		if (in_set(baseline, s->run->id) || s->run->status == TB_RUN_RUNNING)
			continue;
		if (add_cell(&cells, &n_cells, &cap, s->run, &c))
			goto out_nomem;
		if (!c->cand || s->run->id > c->cand->run->id)
			c->cand = s;
	}
	if (n_cells)
		qsort(cells, n_cells, sizeof(*cells), cell_cmp);

	g = calloc(1, sizeof(*g));
	if (!g)
		goto out_nomem;
	g->cases = calloc(n_cells * n_metrics + 1, sizeof(*g->cases));
	if (!g->cases) {
		free(g);
		goto out_nomem;
	}
	for (i = 0; i < n_cells; i++) {
		for (m = 0; m < TB_GATE_N_METRICS; m++) {
			struct tb_gate_case *k;

			if (o->limit[m].kind == TB_LIMIT_OFF)
				continue;
			k = &g->cases[g->n++];
			k->board = cells[i].board;
			k->workload = cells[i].workload;
			k->metric = (enum tb_gate_metric)m;
			k->base_run = cells[i].base ? cells[i].base->run->id : 0;
			k->new_run = cells[i].cand ? cells[i].cand->run->id : 0;
			k->base_value = k->base_max = k->new_value = k->bound = NAN;
			judge(k, &cells[i], &o->limit[m]);
			if (k->verdict == TB_GATE_PASS)
				g->n_pass++;
			else if (k->verdict == TB_GATE_FAIL)
				g->n_fail++;
			else
				g->n_skip++;
		}
	}
	free(cells);
	*out = g;
	return TB_OK;
out_nomem:
	free(cells);
	return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
}

void tb_gate_free(struct tb_gate *g)
{
	if (!g)
		return;
	free(g->cases);
	free(g);
}

/* ------------------------------------------------------------ JUnit */

struct junit_job {
	const struct tb_gate *g;
	const char *const *props;
	size_t n_props;
	struct tb_writer w;
	struct tb_error *err;
};

static void attr(struct tb_writer *w, const char *name, const char *value)
{
	tb_w_printf(w, " %s=\"", name);
	tb_w_xml(w, value);
	tb_w_str(w, "\"");
}

static int junit(void *arg)
{
	struct junit_job *j = arg;
	const struct tb_gate *g = j->g;
	struct tb_writer *w = &j->w;
	char host[256] = "localhost", stamp[32], classname[300];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

	tb_w_str(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	tb_w_printf(w, "<testsuites name=\"tinybench check\" tests=\"%zu\" failures=\"%zu\" "
		    "errors=\"0\" skipped=\"%zu\" time=\"0\">\n", g->n, g->n_fail, g->n_skip);
	tb_w_printf(w, "  <testsuite name=\"tinybench check\" tests=\"%zu\" failures=\"%zu\" "
		    "errors=\"0\" skipped=\"%zu\" time=\"0\" timestamp=\"%s\"",
		    g->n, g->n_fail, g->n_skip, stamp);
	attr(w, "hostname", host);
	tb_w_str(w, ">\n");
	if (j->n_props) {
		tb_w_str(w, "    <properties>\n");
		for (i = 0; i < j->n_props; i++) {
			tb_w_str(w, "      <property");
			attr(w, "name", j->props[2 * i]);
			attr(w, "value", j->props[2 * i + 1]);
			tb_w_str(w, "/>\n");
		}
		tb_w_str(w, "    </properties>\n");
	}
	for (i = 0; i < g->n; i++) {
		const struct tb_gate_case *k = &g->cases[i];

		snprintf(classname, sizeof(classname), "tinybench.%s.%s", k->board, k->workload);
		tb_w_str(w, "    <testcase");
		attr(w, "classname", classname);
		attr(w, "name", metric_names[k->metric]);
		tb_w_str(w, " time=\"0\"");
		switch (k->verdict) {
		case TB_GATE_PASS:
			tb_w_str(w, ">\n      <system-out>");
			tb_w_xml(w, k->message);
			tb_w_str(w, "</system-out>\n    </testcase>\n");
			break;
		case TB_GATE_FAIL:
			tb_w_str(w, ">\n      <failure");
			attr(w, "type", k->run_failed ? "run-failed" : "regression");
			attr(w, "message", k->message);
			tb_w_str(w, ">");
			tb_w_xml(w, k->message);
			tb_w_str(w, "</failure>\n    </testcase>\n");
			break;
		case TB_GATE_SKIP:
			tb_w_str(w, ">\n      <skipped");
			attr(w, "message", k->message);
			tb_w_str(w, "/>\n    </testcase>\n");
			break;
		}
	}
	tb_w_str(w, "  </testsuite>\n</testsuites>\n");
	return tb_w_finish(w, "JUnit XML", j->err);
}

int tb_gate_write_junit(const struct tb_gate *g, const char *const *properties,
			size_t n_properties, FILE *out, struct tb_error *err)
{
	struct junit_job j = { .g = g, .props = properties, .n_props = n_properties,
			       .w = { .f = out }, .err = err };

	if (!g || !out)
		return tb_error_set(err, TB_ERR_ARG, "tb_gate_write_junit: NULL argument");
	return tb_with_c_locale(junit, &j, err);
}
