/*
 * export_md.c - a Markdown table for reading (docs/EXPORT.md, "Markdown"):
 * one row per run with its medians (default) or one row per trial.
 * Figures that are estimates or come from an emulated meter are marked in
 * the cell and explained under the table.
 */
#include "export_priv.h"
#include "tb_export.h"
#include "tb_summary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int tb_export_md_impl(struct tb_store *store, const struct tb_select *sel,
		      int per_run, struct tb_writer *w, struct tb_error *err);

/* Text for a table cell: '|' escaped, line breaks as spaces. */
static void md_text(struct tb_writer *w, const char *s)
{
	const char *p;

	if (!s)
		return;
	for (p = s; *p; p++) {
		if (*p == '|')
			tb_w_raw(w, "\\|", 2);
		else if (*p == '\n' || *p == '\r')
			tb_w_raw(w, " ", 1);
		else
			tb_w_raw(w, p, 1);
	}
}

static void md_real(struct tb_writer *w, double v, int prec)
{
	if (isfinite(v))
		tb_w_printf(w, "%.*f", prec, v);
	else
		tb_w_str(w, "-");
}

static void md_int(struct tb_writer *w, int64_t v)
{
	char buf[24];

	if (v < 0)
		tb_w_str(w, "-");
	else
		tb_w_raw(w, buf, tb_fmt_int(buf, v));
}

static void md_time(struct tb_writer *w, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M", &tm);
	tb_w_str(w, buf);
}

struct md_notes {
	int estimate;
	int emulated;
};

static void notes(struct tb_writer *w, const struct md_notes *n)
{
	if (n->estimate)
		tb_w_str(w, "\n(est.) latency estimated from an instruction count "
			 "(e.g. qemu-icount-instructions) at the board's nominal clock, "
			 "not a measured time.\n");
	if (n->emulated)
		tb_w_str(w, "\n(emul.) energy from an emulated meter "
			 "(energy_method emulated:...), not measured on the board.\n");
}

static void lat_mark(struct tb_writer *w, const struct tb_run *r, struct md_notes *n)
{
	if (tb_timing_is_estimate(r->info.timing_method)) {
		tb_w_str(w, " (est.)");
		n->estimate = 1;
	}
}

static void energy_cell(struct tb_writer *w, const struct tb_run *r, double v,
			struct md_notes *n)
{
	md_real(w, v, 3);
	if (isfinite(v) && tb_energy_is_emulated(r->info.energy_method)) {
		tb_w_str(w, " (emul.)");
		n->emulated = 1;
	}
}

static int md_runs(const struct tb_summary_set *set, struct tb_writer *w)
{
	struct md_notes n = { 0 };
	char *tags = NULL;
	size_t i, need, cap = 0;

	tb_w_str(w, "| run | started (UTC) | board | workload | status | trials ok "
		 "| median ms | min ms | max ms | energy µJ | stack B | arena B "
		 "| static RAM B | flash B | tags |\n"
		 "| ---: | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: "
		 "| ---: | ---: | ---: | ---: | --- |\n");
	for (i = 0; i < set->n; i++) {
		const struct tb_run_summary *s = &set->v[i];
		const struct tb_run *r = s->run;
		int has = s->latency_ms.n > 0;

		tb_w_str(w, "| ");
		md_int(w, r->id);
		tb_w_str(w, " | ");
		md_time(w, r->info.started_at);
		tb_w_str(w, " | ");
		md_text(w, r->info.board);
		tb_w_str(w, " | ");
		md_text(w, r->info.workload);
		tb_w_str(w, " | ");
		md_text(w, tb_store_run_status_name(r->status));
		tb_w_printf(w, " | %lld/%lld | ", (long long)s->n_ok, (long long)s->n_trials);
		md_real(w, has ? s->latency_ms.median : NAN, 4);
		if (has)
			lat_mark(w, r, &n);
		tb_w_str(w, " | ");
		md_real(w, has ? s->latency_ms.min : NAN, 4);
		tb_w_str(w, " | ");
		md_real(w, has ? s->latency_ms.max : NAN, 4);
		tb_w_str(w, " | ");
		energy_cell(w, r, s->energy_uj.n ? s->energy_uj.median : NAN, &n);
		tb_w_str(w, " | ");
		md_int(w, s->stack_peak);
		tb_w_str(w, " | ");
		md_int(w, s->arena_peak);
		tb_w_str(w, " | ");
		md_int(w, r->info.static_ram_bytes);
		tb_w_str(w, " | ");
		md_int(w, r->info.flash_bytes);
		tb_w_str(w, " | ");
		need = tb_summary_tags_text(s, NULL, 0) + 1;
		if (need > cap) {
			char *grown = realloc(tags, need);

			if (!grown) {
				free(tags);
				return -1;
			}
			tags = grown;
			cap = need;
		}
		tb_summary_tags_text(s, tags, cap);
		md_text(w, tags);
		tb_w_str(w, " |\n");
	}
	free(tags);
	notes(w, &n);
	return 0;
}

struct md_trials {
	struct tb_writer *w;
	struct md_notes n;
};

static int md_trial(const struct tb_run *r, const struct tb_trial *t, void *user)
{
	struct md_trials *m = user;
	struct tb_writer *w = m->w;

	tb_w_str(w, "| ");
	md_int(w, r->id);
	tb_w_str(w, " | ");
	md_int(w, t->idx);
	tb_w_str(w, " | ");
	md_text(w, r->info.board);
	tb_w_str(w, " | ");
	md_text(w, r->info.workload);
	tb_w_str(w, " | ");
	md_text(w, tb_store_trial_status_name(t->status));
	tb_w_str(w, " | ");
	md_int(w, t->inferences);
	tb_w_str(w, " | ");
	md_real(w, t->latency_ms, 4);
	if (isfinite(t->latency_ms))
		lat_mark(w, r, &m->n);
	tb_w_str(w, " | ");
	md_real(w, t->inf_min_ms, 4);
	tb_w_str(w, " | ");
	md_real(w, t->inf_max_ms, 4);
	tb_w_str(w, " | ");
	md_int(w, t->stack_peak);
	tb_w_str(w, " | ");
	md_int(w, t->arena_peak);
	tb_w_str(w, " | ");
	energy_cell(w, r, t->energy_uj, &m->n);
	tb_w_str(w, " | ");
	md_text(w, tb_store_output_check_name(t->output_check));
	tb_w_str(w, " |\n");
	return w->failed ? TB_ERR_IO : 0;
}

int tb_export_md_impl(struct tb_store *store, const struct tb_select *sel,
		      int per_run, struct tb_writer *w, struct tb_error *err)
{
	struct tb_summary_set set = { 0 };
	struct md_trials m = { .w = w };
	int ret;

	if (per_run) {
		ret = tb_summary_load(store, sel, &set, err);
		if (ret)
			return ret;
		ret = md_runs(&set, w);
		tb_summary_set_free(&set);
		if (ret)
			return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
		return tb_w_finish(w, "Markdown export", err);
	}
	tb_w_str(w, "| run | trial | board | workload | status | inferences "
		 "| latency ms | min ms | max ms | stack B | arena B | energy µJ "
		 "| output |\n"
		 "| ---: | ---: | --- | --- | --- | ---: | ---: | ---: | ---: "
		 "| ---: | ---: | ---: | --- |\n");
	ret = tb_select_trials_foreach(store, sel, md_trial, &m, err);
	if (ret && !w->failed)
		return ret < 0 ? ret : tb_error_set(err, TB_ERR_DB, "export stopped");
	notes(w, &m.n);
	return tb_w_finish(w, "Markdown export", err);
}
