/*
 * compare.c - the board x workload matrix (tb_compare.h) and its text,
 * CSV and JSON forms.
 */
#include "tb_compare.h"
#include "export_priv.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Add name to a sorted-later list unless present. */
static int add_name(const char ***v, size_t *n, const char *name)
{
	const char **grown;
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp((*v)[i], name))
			return 0;
	grown = realloc(*v, (*n + 1) * sizeof(**v));
	if (!grown)
		return -1;
	*v = grown;
	(*v)[(*n)++] = name;
	return 0;
}

static size_t index_of(const char *const *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i], name))
			return i;
	return n;
}

static double ratio(double v, double base)
{
	if (!isfinite(v) || !isfinite(base) || base <= 0)
		return NAN;
	return v / base;
}

static double lat_of(const struct tb_run_summary *s)
{
	return s && s->latency_ms.n ? s->latency_ms.median : NAN;
}

static double energy_of(const struct tb_run_summary *s)
{
	return s && s->energy_uj.n ? s->energy_uj.median : NAN;
}

static double flash_of(const struct tb_run_summary *s)
{
	return s && s->run->info.flash_bytes >= 0 ? (double)s->run->info.flash_bytes : NAN;
}

/* Ratios of a cell against base.  RAM is compared like with like: static
 * RAM is counted on both sides or on neither. */
static void relate(struct tb_compare_cell *cell)
{
	const struct tb_run_summary *r = cell->run, *b = cell->base;
	int64_t rr, bb;
	int rs, bs;

	cell->latency_rel = cell->energy_rel = cell->ram_rel = cell->flash_rel = NAN;
	if (!r || !b)
		return;
	cell->latency_rel = ratio(lat_of(r), lat_of(b));
	/* Energy only against energy of the same kind (measured/emulated). */
	if (tb_energy_is_emulated(r->run->info.energy_method) ==
	    tb_energy_is_emulated(b->run->info.energy_method))
		cell->energy_rel = ratio(energy_of(r), energy_of(b));
	rr = tb_summary_ram(r, &rs);
	bb = tb_summary_ram(b, &bs);
	if (rr >= 0 && bb >= 0) {
		if (rs && !bs)
			rr -= r->run->info.static_ram_bytes;
		if (bs && !rs)
			bb -= b->run->info.static_ram_bytes;
		cell->ram_rel = ratio((double)rr, (double)bb);
	}
	cell->flash_rel = ratio(flash_of(r), flash_of(b));
}

int tb_compare_build(const struct tb_summary_set *set,
		     const struct tb_compare_opts *opts,
		     struct tb_compare **out, struct tb_error *err)
{
	static const struct tb_compare_opts none;
	const struct tb_compare_opts *o = opts ? opts : &none;
	struct tb_compare *c;
	size_t i, b, w, base_b = 0;
	int ret = TB_OK;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	for (i = 0; i < set->n; i++) {
		const struct tb_run_summary *s = &set->v[i];

		if (!tb_summary_usable(s))
			continue;
		if (add_name(&c->boards, &c->n_boards, s->run->info.board) ||
		    add_name(&c->workloads, &c->n_workloads, s->run->info.workload))
			goto out_nomem;
	}
	if (!c->n_boards) {
		ret = tb_error_set(err, TB_ERR_NOTFOUND,
				   "no finished run with ok trials in the selection (%zu run%s selected)",
				   set->n, set->n == 1 ? "" : "s");
		goto out_free;
	}
	qsort(c->boards, c->n_boards, sizeof(*c->boards), cmp_str);
	qsort(c->workloads, c->n_workloads, sizeof(*c->workloads), cmp_str);

	c->base_kind = o->base_kind;
	if (o->base_kind == TB_COMPARE_BASE_BOARD) {
		base_b = index_of(c->boards, c->n_boards, o->base_board);
		if (base_b == c->n_boards) {
			char list[256] = "";
			size_t pos = 0;

			for (b = 0; b < c->n_boards && pos < sizeof(list); b++)
				pos += (size_t)snprintf(list + pos, sizeof(list) - pos, "%s%s",
							b ? ", " : "", c->boards[b]);
			ret = tb_error_set(err, TB_ERR_NOTFOUND,
					   "baseline board '%s' has no finished run in the selection; boards: %s",
					   o->base_board, list);
			goto out_free;
		}
		/* The baseline board first. */
		{
			const char *name = c->boards[base_b];

			memmove(c->boards + 1, c->boards, base_b * sizeof(*c->boards));
			c->boards[0] = name;
		}
		base_b = 0;
		c->base_board = c->boards[0];
	} else if (o->base_kind == TB_COMPARE_BASE_RUN) {
		if (!o->base_run || !tb_summary_usable(o->base_run)) {
			ret = tb_error_set(err, TB_ERR_ARG,
					   "baseline run %lld did not finish ok with trials that have a latency",
					   o->base_run ? (long long)o->base_run->run->id : 0LL);
			goto out_free;
		}
		c->base_run = o->base_run;
	}

	c->cells = calloc(c->n_boards * c->n_workloads, sizeof(*c->cells));
	if (!c->cells)
		goto out_nomem;
	for (i = 0; i < set->n; i++) {
		const struct tb_run_summary *s = &set->v[i];
		struct tb_compare_cell *cell;

		if (!tb_summary_usable(s))
			continue;
		b = index_of(c->boards, c->n_boards, s->run->info.board);
		w = index_of(c->workloads, c->n_workloads, s->run->info.workload);
		cell = &c->cells[b * c->n_workloads + w];
		if (!cell->run || s->run->id > cell->run->run->id)
			cell->run = s;	/* latest wins */
	}
	for (b = 0; b < c->n_boards; b++) {
		for (w = 0; w < c->n_workloads; w++) {
			struct tb_compare_cell *cell = &c->cells[b * c->n_workloads + w];

			if (!cell->run)
				continue;
			c->n_runs++;
			cell->ram = tb_summary_ram(cell->run, &cell->ram_has_static);
			if (tb_timing_is_estimate(cell->run->run->info.timing_method))
				c->any_estimate = 1;
			if (cell->run->energy_uj.n &&
			    tb_energy_is_emulated(cell->run->run->info.energy_method))
				c->any_emulated = 1;
			if (c->base_kind == TB_COMPARE_BASE_BOARD)
				cell->base = c->cells[base_b * c->n_workloads + w].run;
			else if (c->base_kind == TB_COMPARE_BASE_RUN &&
				 !strcmp(c->base_run->run->info.workload, c->workloads[w]))
				cell->base = c->base_run;
			relate(cell);
		}
	}
	*out = c;
	return TB_OK;

out_nomem:
	ret = tb_error_set(err, TB_ERR_NOMEM, "out of memory");
out_free:
	tb_compare_free(c);
	return ret;
}

void tb_compare_free(struct tb_compare *c)
{
	if (!c)
		return;
	free(c->boards);
	free(c->workloads);
	free(c->cells);
	free(c);
}

const struct tb_compare_cell *tb_compare_cell(const struct tb_compare *c,
					      size_t board, size_t workload)
{
	return &c->cells[board * c->n_workloads + workload];
}

/* ------------------------------------------------------------ text */

static void fmt_rel(char *buf, size_t len, double rel)
{
	if (!isfinite(rel))
		buf[0] = '\0';
	else if (rel >= 100)
		snprintf(buf, len, " (%.0fx)", rel);
	else
		snprintf(buf, len, " (%.2fx)", rel);
}

enum metric { M_LATENCY, M_ENERGY, M_RAM, M_FLASH, M_COUNT };

static const char *const metric_title[M_COUNT] = {
	"median latency per inference, ms",
	"median energy per inference, uJ",
	"peak RAM, bytes: stack + arena (+ static RAM where known, marked s)",
	"flash, bytes (text + rodata + data of the firmware ELF)",
};

/* The text of one cell; "" when it has no figure. */
static void cell_text(const struct tb_compare_cell *cell, enum metric m,
		      char *buf, size_t len)
{
	char num[32], rel[24];
	const struct tb_run_info *in;

	buf[0] = '\0';
	if (!cell->run)
		return;
	in = &cell->run->run->info;
	switch (m) {
	case M_LATENCY:
		tb_fmt_sig4(num, sizeof(num), lat_of(cell->run));
		fmt_rel(rel, sizeof(rel), cell->latency_rel);
		snprintf(buf, len, "%s%s%s", num,
			 tb_timing_is_estimate(in->timing_method) ? "*" : "", rel);
		break;
	case M_ENERGY:
		if (!cell->run->energy_uj.n)
			return;
		tb_fmt_sig4(num, sizeof(num), energy_of(cell->run));
		fmt_rel(rel, sizeof(rel), cell->energy_rel);
		snprintf(buf, len, "%s%s%s", num,
			 tb_energy_is_emulated(in->energy_method) ? "^" : "", rel);
		break;
	case M_RAM:
		if (cell->ram < 0)
			return;
		fmt_rel(rel, sizeof(rel), cell->ram_rel);
		snprintf(buf, len, "%lld%s%s", (long long)cell->ram,
			 cell->ram_has_static ? "s" : "", rel);
		break;
	case M_FLASH:
		if (in->flash_bytes < 0)
			return;
		fmt_rel(rel, sizeof(rel), cell->flash_rel);
		snprintf(buf, len, "%lld%s", (long long)in->flash_bytes, rel);
		break;
	case M_COUNT:
		break;
	}
}

static int metric_has_data(const struct tb_compare *c, enum metric m)
{
	char buf[96];
	size_t i;

	for (i = 0; i < c->n_boards * c->n_workloads; i++) {
		cell_text(&c->cells[i], m, buf, sizeof(buf));
		if (buf[0])
			return 1;
	}
	return 0;
}

static void text_block(const struct tb_compare *c, enum metric m, struct tb_writer *w)
{
	size_t b, k, bw = 5, cw = 8;
	char buf[96];

	for (b = 0; b < c->n_boards; b++)
		if (strlen(c->boards[b]) > bw)
			bw = strlen(c->boards[b]);
	for (k = 0; k < c->n_workloads; k++)
		if (strlen(c->workloads[k]) > cw)
			cw = strlen(c->workloads[k]);
	for (k = 0; k < c->n_boards * c->n_workloads; k++) {
		cell_text(&c->cells[k], m, buf, sizeof(buf));
		if (strlen(buf) > cw)
			cw = strlen(buf);
	}
	tb_w_printf(w, "\n%s", metric_title[m]);
	if (c->base_kind == TB_COMPARE_BASE_BOARD)
		tb_w_printf(w, "; (x) = relative to board %s", c->base_board);
	else if (c->base_kind == TB_COMPARE_BASE_RUN)
		tb_w_printf(w, "; (x) = relative to run %lld",
			    (long long)c->base_run->run->id);
	tb_w_printf(w, "\n%-*s", (int)bw, "board");
	for (k = 0; k < c->n_workloads; k++)
		tb_w_printf(w, "  %*s", (int)cw, c->workloads[k]);
	tb_w_str(w, "\n");
	for (b = 0; b < c->n_boards; b++) {
		tb_w_printf(w, "%-*s", (int)bw, c->boards[b]);
		for (k = 0; k < c->n_workloads; k++) {
			cell_text(tb_compare_cell(c, b, k), m, buf, sizeof(buf));
			tb_w_printf(w, "  %*s", (int)cw, buf[0] ? buf : "-");
		}
		tb_w_str(w, "\n");
	}
}

/* "name (method), ..." of the boards whose shown figure is flagged. */
static void flagged_boards(const struct tb_compare *c, int energy, struct tb_writer *w)
{
	size_t b, k, n = 0;

	for (b = 0; b < c->n_boards; b++) {
		for (k = 0; k < c->n_workloads; k++) {
			const struct tb_compare_cell *cell = tb_compare_cell(c, b, k);
			const struct tb_run_info *in;

			if (!cell->run)
				continue;
			in = &cell->run->run->info;
			if (energy ? !(cell->run->energy_uj.n &&
				       tb_energy_is_emulated(in->energy_method)) :
				     !tb_timing_is_estimate(in->timing_method))
				continue;
			tb_w_printf(w, "%s%s (%s)", n++ ? ", " : "", c->boards[b],
				    energy ? in->energy_method : in->timing_method);
			break;
		}
	}
}

static int write_text(const struct tb_compare *c, struct tb_writer *w)
{
	size_t b, k, n = 0;
	char when[32];
	enum metric m;

	tb_w_printf(w, "latest finished run per board x workload (%zu run%s)\n",
		    c->n_runs, c->n_runs == 1 ? "" : "s");
	for (m = 0; m < M_COUNT; m++) {
		if (m != M_LATENCY && !metric_has_data(c, m)) {
			tb_w_printf(w, "\n%s: none recorded\n", metric_title[m]);
			continue;
		}
		text_block(c, m, w);
	}
	tb_w_str(w, "\n");
	if (c->any_estimate) {
		tb_w_str(w, "*  estimate, not a measured time: latency from an instruction "
			 "count at the board's nominal clock: ");
		flagged_boards(c, 0, w);
		tb_w_str(w, "\n");
	}
	if (c->any_emulated) {
		tb_w_str(w, "^  emulated energy (a model of the meter, not the board): ");
		flagged_boards(c, 1, w);
		tb_w_str(w, "\n");
	}
	tb_w_str(w, "runs:");
	for (b = 0; b < c->n_boards; b++) {
		for (k = 0; k < c->n_workloads; k++) {
			const struct tb_compare_cell *cell = tb_compare_cell(c, b, k);
			time_t t;
			struct tm tm;

			if (!cell->run)
				continue;
			t = (time_t)(cell->run->run->info.started_at / 1000);
			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
			tb_w_printf(w, "%s %s/%s = run %lld (%s UTC)", n++ % 2 ? "," : "\n ",
				    c->boards[b], c->workloads[k],
				    (long long)cell->run->run->id, when);
		}
	}
	tb_w_str(w, "\n");
	return 0;
}

struct wjob {
	const struct tb_compare *c;
	struct tb_writer w;
	struct tb_error *err;
	int (*fn)(const struct tb_compare *c, struct tb_writer *w);
	const char *what;
};

static int run_job(void *arg)
{
	struct wjob *j = arg;

	j->fn(j->c, &j->w);
	return tb_w_finish(&j->w, j->what, j->err);
}

static int with_writer(const struct tb_compare *c, FILE *out, const char *what,
		       int (*fn)(const struct tb_compare *, struct tb_writer *),
		       struct tb_error *err)
{
	struct wjob j = { .c = c, .w = { .f = out }, .err = err, .fn = fn, .what = what };

	if (!c || !out)
		return tb_error_set(err, TB_ERR_ARG, "compare: NULL argument");
	return tb_with_c_locale(run_job, &j, err);
}

int tb_compare_write_text(const struct tb_compare *c, FILE *out,
			  struct tb_error *err)
{
	return with_writer(c, out, "comparison", write_text, err);
}

/* ------------------------------------------------------------- CSV */

static const char *const csv_columns[] = {
	"board", "workload", "run_id", "run_started_at_ms", "timing_method",
	"latency_basis", "latency_median_ms", "latency_min_ms", "latency_max_ms",
	"latency_vs_baseline", "energy_method", "energy_basis",
	"energy_median_uj", "energy_min_uj", "energy_max_uj", "energy_vs_baseline",
	"stack_peak", "arena_peak", "static_ram_bytes", "ram_peak_bytes",
	"ram_includes_static", "ram_vs_baseline", "flash_bytes",
	"flash_vs_baseline", "baseline_run_id",
};

static void csv_sep(struct tb_writer *w, int *first)
{
	if (!*first)
		tb_w_raw(w, ",", 1);
	*first = 0;
}

static void csv_text(struct tb_writer *w, int *first, const char *s)
{
	csv_sep(w, first);
	if (s && !w->failed && csv_fwrite(w->f, *s ? s : "", strlen(s)) == EOF) {
		w->failed = 1;
		w->errno_at_fail = errno ? errno : EIO;
	}
}

static void csv_real(struct tb_writer *w, int *first, double v)
{
	char buf[40];

	csv_sep(w, first);
	if (isfinite(v))
		tb_w_raw(w, buf, tb_fmt_real(buf, sizeof(buf), v));
}

static void csv_int(struct tb_writer *w, int *first, int64_t v)
{
	char buf[24];

	csv_sep(w, first);
	if (v >= 0)
		tb_w_raw(w, buf, tb_fmt_int(buf, v));
}

static int write_csv(const struct tb_compare *c, struct tb_writer *w)
{
	size_t i, b, k;
	int first;

	for (i = 0; i < sizeof(csv_columns) / sizeof(csv_columns[0]); i++) {
		if (i)
			tb_w_raw(w, ",", 1);
		tb_w_str(w, csv_columns[i]);
	}
	tb_w_raw(w, "\r\n", 2);
	for (b = 0; b < c->n_boards; b++) {
		for (k = 0; k < c->n_workloads; k++) {
			const struct tb_compare_cell *cell = tb_compare_cell(c, b, k);
			const struct tb_run_summary *s = cell->run;
			const struct tb_run_info *in;
			int has_e;

			if (!s)
				continue;
			in = &s->run->info;
			has_e = s->energy_uj.n > 0;
			first = 1;
			csv_text(w, &first, c->boards[b]);
			csv_text(w, &first, c->workloads[k]);
			csv_int(w, &first, s->run->id);
			csv_int(w, &first, in->started_at);
			csv_text(w, &first, in->timing_method);
			csv_text(w, &first, tb_timing_is_estimate(in->timing_method) ?
				 "estimate" : "measured");
			csv_real(w, &first, s->latency_ms.median);
			csv_real(w, &first, s->latency_ms.min);
			csv_real(w, &first, s->latency_ms.max);
			csv_real(w, &first, cell->latency_rel);
			csv_text(w, &first, in->energy_method);
			csv_text(w, &first, !in->energy_method ? NULL :
				 tb_energy_is_emulated(in->energy_method) ? "emulated" : "measured");
			csv_real(w, &first, has_e ? s->energy_uj.median : NAN);
			csv_real(w, &first, has_e ? s->energy_uj.min : NAN);
			csv_real(w, &first, has_e ? s->energy_uj.max : NAN);
			csv_real(w, &first, cell->energy_rel);
			csv_int(w, &first, s->stack_peak);
			csv_int(w, &first, s->arena_peak);
			csv_int(w, &first, in->static_ram_bytes);
			csv_int(w, &first, cell->ram);
			csv_int(w, &first, cell->ram < 0 ? -1 : cell->ram_has_static);
			csv_real(w, &first, cell->ram_rel);
			csv_int(w, &first, in->flash_bytes);
			csv_real(w, &first, cell->flash_rel);
			csv_int(w, &first, cell->base ? cell->base->run->id : -1);
			tb_w_raw(w, "\r\n", 2);
		}
	}
	return 0;
}

int tb_compare_write_csv(const struct tb_compare *c, FILE *out,
			 struct tb_error *err)
{
	return with_writer(c, out, "comparison CSV", write_csv, err);
}

/* ------------------------------------------------------------ JSON */

static void jstats(struct tb_jw *j, const char *key, const struct tb_stats *s,
		   double rel)
{
	tb_jw_key(j, key);
	if (!s->n) {
		tb_jw_null(j);
		return;
	}
	tb_jw_begin_object(j);
	tb_jw_key(j, "median"); tb_jw_real(j, s->median);
	tb_jw_key(j, "min"); tb_jw_real(j, s->min);
	tb_jw_key(j, "max"); tb_jw_real(j, s->max);
	tb_jw_key(j, "vs_baseline"); tb_jw_real(j, rel);
	tb_jw_end_object(j);
}

static int write_json(const struct tb_compare *c, struct tb_writer *w)
{
	struct tb_jw jw = { .w = w, .pretty = 1 }, *j = &jw;
	size_t b, k;

	tb_jw_begin_object(j);
	tb_jw_key(j, "baseline");
	if (c->base_kind == TB_COMPARE_BASE_NONE) {
		tb_jw_null(j);
	} else {
		tb_jw_begin_object(j);
		tb_jw_key(j, "kind");
		tb_jw_str(j, c->base_kind == TB_COMPARE_BASE_BOARD ? "board" : "run");
		tb_jw_key(j, c->base_kind == TB_COMPARE_BASE_BOARD ? "board" : "run_id");
		if (c->base_kind == TB_COMPARE_BASE_BOARD)
			tb_jw_str(j, c->base_board);
		else
			tb_jw_int(j, c->base_run->run->id);
		tb_jw_end_object(j);
	}
	tb_jw_key(j, "boards");
	tb_jw_begin_array(j);
	for (b = 0; b < c->n_boards; b++)
		tb_jw_str(j, c->boards[b]);
	tb_jw_end_array(j);
	tb_jw_key(j, "workloads");
	tb_jw_begin_array(j);
	for (k = 0; k < c->n_workloads; k++)
		tb_jw_str(j, c->workloads[k]);
	tb_jw_end_array(j);
	tb_jw_key(j, "cells");
	tb_jw_begin_array(j);
	for (b = 0; b < c->n_boards; b++) {
		for (k = 0; k < c->n_workloads; k++) {
			const struct tb_compare_cell *cell = tb_compare_cell(c, b, k);
			const struct tb_run_summary *s = cell->run;
			const struct tb_run_info *in;

			if (!s)
				continue;
			in = &s->run->info;
			tb_jw_begin_object(j);
			tb_jw_key(j, "board"); tb_jw_str(j, c->boards[b]);
			tb_jw_key(j, "workload"); tb_jw_str(j, c->workloads[k]);
			tb_jw_key(j, "run_id"); tb_jw_int(j, s->run->id);
			tb_jw_key(j, "started_at_ms"); tb_jw_int(j, in->started_at);
			tb_jw_key(j, "timing_method"); tb_jw_str(j, in->timing_method);
			tb_jw_key(j, "latency_is_estimate");
			tb_jw_bool(j, tb_timing_is_estimate(in->timing_method));
			jstats(j, "latency_ms", &s->latency_ms, cell->latency_rel);
			tb_jw_key(j, "energy_method"); tb_jw_str(j, in->energy_method);
			tb_jw_key(j, "energy_is_emulated");
			tb_jw_bool(j, tb_energy_is_emulated(in->energy_method));
			jstats(j, "energy_uj", &s->energy_uj, cell->energy_rel);
			tb_jw_key(j, "ram");
			tb_jw_begin_object(j);
			tb_jw_key(j, "stack_peak"); tb_jw_opt_int(j, s->stack_peak);
			tb_jw_key(j, "arena_peak"); tb_jw_opt_int(j, s->arena_peak);
			tb_jw_key(j, "static_ram_bytes"); tb_jw_opt_int(j, in->static_ram_bytes);
			tb_jw_key(j, "peak_bytes"); tb_jw_opt_int(j, cell->ram);
			tb_jw_key(j, "includes_static"); tb_jw_bool(j, cell->ram_has_static);
			tb_jw_key(j, "vs_baseline"); tb_jw_real(j, cell->ram_rel);
			tb_jw_end_object(j);
			tb_jw_key(j, "flash");
			tb_jw_begin_object(j);
			tb_jw_key(j, "bytes"); tb_jw_opt_int(j, in->flash_bytes);
			tb_jw_key(j, "vs_baseline"); tb_jw_real(j, cell->flash_rel);
			tb_jw_end_object(j);
			tb_jw_key(j, "baseline_run_id");
			if (cell->base)
				tb_jw_int(j, cell->base->run->id);
			else
				tb_jw_null(j);
			tb_jw_end_object(j);
		}
	}
	tb_jw_end_array(j);
	tb_jw_key(j, "notes");
	tb_jw_begin_array(j);
	if (c->any_estimate)
		tb_jw_str(j, "latency_is_estimate: the latency is an instruction count at the "
			  "board's nominal clock (e.g. qemu-icount-instructions), not a measured time");
	if (c->any_emulated)
		tb_jw_str(j, "energy_is_emulated: the energy comes from an emulated meter, "
			  "not from the board");
	tb_jw_end_array(j);
	tb_jw_end_object(j);
	tb_jw_finish(j);
	return 0;
}

int tb_compare_write_json(const struct tb_compare *c, FILE *out,
			  struct tb_error *err)
{
	return with_writer(c, out, "comparison JSON", write_json, err);
}
