/*
 * report_html.c - the self-contained HTML report (tb_report.h).
 *
 * Everything is written in one pass to the stream: a header, notes on
 * estimated and emulated figures, the latest-results table, then one
 * section per chart family, the power trace and the runs table.  Charts
 * are inline SVG drawn with svg.c; styles are one inline <style>.  No
 * script, no external resource: the file renders the same offline.
 */
#include "tb_report.h"
#include "tb_compare.h"
#include "svg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE_W 960

static const char css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
	"color:#1d2430;margin:0;background:#f6f7f9}\n"
	"main{max-width:1000px;margin:0 auto;padding:20px 24px 40px}\n"
	"h1{font-size:24px;margin:0 0 4px}\n"
	"h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d5d9e0;padding-bottom:4px}\n"
	"h3{font-size:14px;margin:14px 0 4px}\n"
	".meta{color:#5a6372;font-size:13px;margin:2px 0}\n"
	".notes{background:#fff8e1;border:1px solid #f0d98c;border-radius:6px;"
	"padding:6px 12px;margin:12px 0}\n"
	".notes p{margin:4px 0}\n"
	".card{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:8px;margin:8px 0}\n"
	".grid{display:flex;flex-wrap:wrap;gap:10px}\n"
	".grid .card{margin:0}\n"
	"table{border-collapse:collapse;background:#fff;font-size:12.5px;width:100%}\n"
	"th,td{border:1px solid #dde1e7;padding:3px 6px;text-align:left;vertical-align:top}\n"
	"th{background:#eef1f5}\n"
	"td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
	"td.nw{white-space:nowrap}\n"
	".flag{color:#a15c00;font-weight:600}\n"
	".bad{color:#b03a2e;font-weight:600}\n"
	".empty{color:#5a6372;font-style:italic}\n"
	".legend span{display:inline-block;margin-right:14px;font-size:12px}\n"
	".legend i{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px}\n"
	"svg.chart{display:block;max-width:100%;height:auto}\n"
	"svg text{font-size:11px;fill:#39414d}\n"
	"svg text.lbl{font-size:12px;fill:#1d2430}\n"
	"svg text.ttl{font-size:12.5px;font-weight:600;fill:#1d2430}\n"
	"svg text.val{font-size:11px;fill:#1d2430}\n"
	".gl{stroke:#e6e9ee;stroke-width:1}\n"
	".ax{stroke:#8d96a3;stroke-width:1}\n"
	".bar-lat{fill:#3366cc}\n"
	".bar-lat-est{fill:#b3c7ee;stroke:#3366cc;stroke-width:1;stroke-dasharray:4 2}\n"
	".bar-en{fill:#d9822b}\n"
	".bar-en-emu{fill:#f5d0a9;stroke:#d9822b;stroke-width:1;stroke-dasharray:4 2}\n"
	".wh{stroke:#1d2430;stroke-width:1.5}\n"
	".m-stack{fill:#8e44ad}\n.m-arena{fill:#2e86c1}\n.m-static{fill:#17a589}\n.m-flash{fill:#c9a227}\n"
	".band{fill:#3366cc;fill-opacity:0.18;stroke:none}\n"
	".band-en{fill:#d9822b;fill-opacity:0.2;stroke:none}\n"
	".tl{fill:none;stroke:#1f4e99;stroke-width:2}\n"
	".tl-en{fill:none;stroke:#b9651b;stroke-width:2}\n"
	".pt{fill:#1f4e99}\n.pt-en{fill:#b9651b}\n"
	".tr{fill:none;stroke:#c0392b;stroke-width:1.2}\n"
	".mean{stroke:#39414d;stroke-width:1;stroke-dasharray:5 3}\n";

struct rep {
	struct tb_writer w;
	struct tb_store *store;
	const struct tb_summary_set *set;
	const struct tb_report_opts *o;
	struct tb_compare *cmp;		/* NULL when no run is usable */
	struct tb_error *err;
	int ret;			/* first store error */
};

/* ------------------------------------------------------------ text bits */

enum time_fmt {
	T_DATE_HM,	/* 2024-05-01 13:45 */
	T_DATE_HM_UTC,	/* 2024-05-01 13:45 UTC */
	T_MD,		/* 05-01 */
	T_MD_HM,	/* 05-01 13:45 */
	T_HMS,		/* 13:45:30 */
};

static void fmt_time(char *buf, size_t len, int64_t ms, enum time_fmt f)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	switch (f) {
	case T_DATE_HM: strftime(buf, len, "%Y-%m-%d %H:%M", &tm); break;
	case T_DATE_HM_UTC: strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm); break;
	case T_MD: strftime(buf, len, "%m-%d", &tm); break;
	case T_MD_HM: strftime(buf, len, "%m-%d %H:%M", &tm); break;
	case T_HMS: strftime(buf, len, "%H:%M:%S", &tm); break;
	}
}

/* About four significant digits, no exponent; "-" for no figure. */
static void fmt_val(char *buf, size_t len, double v)
{
	if (!isfinite(v))
		snprintf(buf, len, "-");
	else
		tb_fmt_sig4(buf, len, v);
}

static void w_text(struct rep *r, const char *s)
{
	tb_w_xml(&r->w, s);
}

static void w_tag_text(struct rep *r, const char *open, const char *text,
		       const char *close)
{
	tb_w_str(&r->w, open);
	w_text(r, text);
	tb_w_str(&r->w, close);
}

static void td_text(struct rep *r, const char *s)
{
	w_tag_text(r, "<td>", s ? s : "", "</td>");
}

static void td_num(struct rep *r, double v, const char *suffix)
{
	char buf[48];

	fmt_val(buf, sizeof(buf), v);
	tb_w_str(&r->w, "<td class=\"n\">");
	w_text(r, buf);
	if (suffix && isfinite(v))
		tb_w_str(&r->w, suffix);
	tb_w_str(&r->w, "</td>");
}

static void td_int(struct rep *r, int64_t v)
{
	if (v < 0)
		tb_w_str(&r->w, "<td class=\"n\">-</td>");
	else
		tb_w_printf(&r->w, "<td class=\"n\">%lld</td>", (long long)v);
}

static int is_est(const struct tb_run_summary *s)
{
	return tb_timing_is_estimate(s->run->info.timing_method);
}

static int is_emu(const struct tb_run_summary *s)
{
	return s->energy_uj.n && tb_energy_is_emulated(s->run->info.energy_method);
}

/* ------------------------------------------------------------ header */

static void header(struct rep *r)
{
	const struct tb_report_opts *o = r->o;
	const char *title = o->title ? o->title : "tinybench report";
	char when[40];
	size_t i, n_ok = 0, n_other = 0;

	for (i = 0; i < r->set->n; i++) {
		if (r->set->v[i].run->status == TB_RUN_OK)
			n_ok++;
		else
			n_other++;
	}
	fmt_time(when, sizeof(when), o->generated_at_ms, T_DATE_HM_UTC);
	tb_w_str(&r->w, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n"
		 "<head>\n<meta charset=\"utf-8\"/>\n"
		 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
		 "<meta name=\"generator\" content=\"tinybench report\"/>\n");
	w_tag_text(r, "<title>", title, "</title>\n");
	tb_w_str(&r->w, "<style>\n");
	tb_w_str(&r->w, css);
	tb_w_str(&r->w, "</style>\n</head>\n<body>\n<main>\n");
	w_tag_text(r, "<h1>", title, "</h1>\n");
	tb_w_str(&r->w, "<p class=\"meta\">generated ");
	w_text(r, when);
	if (o->db_path) {
		tb_w_str(&r->w, " from <code>");
		w_text(r, o->db_path);
		tb_w_str(&r->w, "</code>");
	}
	tb_w_printf(&r->w, "; %zu run%s (%zu finished ok, %zu failed, interrupted or cut short)",
		    r->set->n, r->set->n == 1 ? "" : "s", n_ok, n_other);
	if (r->cmp)
		tb_w_printf(&r->w, "; %zu board%s, %zu workload%s",
			    r->cmp->n_boards, r->cmp->n_boards == 1 ? "" : "s",
			    r->cmp->n_workloads, r->cmp->n_workloads == 1 ? "" : "s");
	tb_w_str(&r->w, "</p>\n");
	if (o->selection && *o->selection) {
		tb_w_str(&r->w, "<p class=\"meta\">selection: ");
		w_text(r, o->selection);
		tb_w_str(&r->w, "</p>\n");
	}
}

/* Boards whose figures are estimates / emulated, with their methods. */
static void flag_list(struct rep *r, int energy)
{
	const char *seen[64];
	size_t n = 0, i, k;

	for (i = 0; i < r->set->n; i++) {
		const struct tb_run_summary *s = &r->set->v[i];
		const char *board = s->run->info.board;

		if (energy ? !is_emu(s) : !is_est(s))
			continue;
		for (k = 0; k < n && strcmp(seen[k], board); k++)
			;
		if (k < n || n == 64)
			continue;
		seen[n++] = board;
		tb_w_str(&r->w, n > 1 ? ", " : "");
		w_tag_text(r, "<b>", board, "</b> (");
		w_text(r, energy ? s->run->info.energy_method : s->run->info.timing_method);
		tb_w_str(&r->w, ")");
	}
}

static void notes(struct rep *r)
{
	int est = 0, emu = 0;
	size_t i;

	for (i = 0; i < r->set->n; i++) {
		est |= is_est(&r->set->v[i]);
		emu |= is_emu(&r->set->v[i]);
	}
	tb_w_str(&r->w, "<div class=\"notes\">\n");
	tb_w_str(&r->w, "<p>Latency is the median over a run's trials of the mean time per "
		 "inference; whiskers and bands span the fastest to the slowest trial. "
		 "Each board x workload chart shows its latest run that finished ok.</p>\n");
	if (est) {
		tb_w_str(&r->w, "<p><span class=\"flag\">Estimate:</span> latency of ");
		flag_list(r, 0);
		tb_w_str(&r->w, " is an instruction count at the board's nominal clock, not a "
			 "measured time. Such bars are drawn light with a dashed edge and marked *; "
			 "compare them with each other, not with measured boards.</p>\n");
	}
	if (emu) {
		tb_w_str(&r->w, "<p><span class=\"flag\">Emulated energy:</span> energy of ");
		flag_list(r, 1);
		tb_w_str(&r->w, " comes from a model of the meter, not from the board; drawn light "
			 "with a dashed edge and marked ^.</p>\n");
	}
	tb_w_str(&r->w, "</div>\n");
}

/* ------------------------------------------------------------ tables */

static void latest_table(struct rep *r)
{
	const struct tb_compare *c = r->cmp;
	char when[32], range[96], a[32], b[32];
	size_t bi, wi;

	tb_w_str(&r->w, "<h2 id=\"latest\">Latest results</h2>\n");
	if (!c) {
		tb_w_str(&r->w, "<p class=\"empty\">No run in the selection finished ok.</p>\n");
		return;
	}
	tb_w_str(&r->w, "<table>\n<tr><th>board</th><th>workload</th><th>run</th><th>started (UTC)</th>"
		 "<th>latency median ms</th><th>min - max ms</th><th>energy median &#181;J</th>"
		 "<th>stack B</th><th>arena B</th><th>static RAM B</th><th>flash B</th>"
		 "<th>timing</th><th>energy method</th></tr>\n");
	for (bi = 0; bi < c->n_boards; bi++) {
		for (wi = 0; wi < c->n_workloads; wi++) {
			const struct tb_run_summary *s = tb_compare_cell(c, bi, wi)->run;

			if (!s)
				continue;
			fmt_time(when, sizeof(when), s->run->info.started_at, T_DATE_HM);
			fmt_val(a, sizeof(a), s->latency_ms.min);
			fmt_val(b, sizeof(b), s->latency_ms.max);
			snprintf(range, sizeof(range), "%s - %s", a, b);
			tb_w_str(&r->w, "<tr>");
			td_text(r, c->boards[bi]);
			td_text(r, c->workloads[wi]);
			td_int(r, s->run->id);
			w_tag_text(r, "<td class=\"nw\">", when, "</td>");
			td_num(r, s->latency_ms.median, is_est(s) ? " *" : NULL);
			td_text(r, range);
			td_num(r, s->energy_uj.n ? s->energy_uj.median : NAN,
			       is_emu(s) ? " ^" : NULL);
			td_int(r, s->stack_peak);
			td_int(r, s->arena_peak);
			td_int(r, s->run->info.static_ram_bytes);
			td_int(r, s->run->info.flash_bytes);
			td_text(r, s->run->info.timing_method);
			td_text(r, s->run->info.energy_method ? s->run->info.energy_method : "-");
			tb_w_str(&r->w, "</tr>\n");
		}
	}
	tb_w_str(&r->w, "</table>\n");
}

static void runs_table(struct rep *r)
{
	size_t max = r->o->max_table_runs ? r->o->max_table_runs : 500;
	size_t i, shown = 0;
	char when[32], *tags = NULL;
	size_t cap = 0, need;

	tb_w_str(&r->w, "<h2 id=\"runs\">Runs</h2>\n");
	if (r->set->n > max)
		tb_w_printf(&r->w, "<p class=\"meta\">the latest %zu of %zu runs</p>\n", max,
			    r->set->n);
	tb_w_str(&r->w, "<table>\n<tr><th>run</th><th>started (UTC)</th><th>board</th>"
		 "<th>workload</th><th>status</th><th>trials ok</th><th>median ms</th>"
		 "<th>min ms</th><th>max ms</th><th>energy &#181;J</th><th>tags</th></tr>\n");
	for (i = r->set->n; i-- > 0 && shown < max; shown++) {
		const struct tb_run_summary *s = &r->set->v[i];
		int has = s->latency_ms.n > 0;

		fmt_time(when, sizeof(when), s->run->info.started_at, T_DATE_HM);
		tb_w_str(&r->w, "<tr>");
		td_int(r, s->run->id);
		w_tag_text(r, "<td class=\"nw\">", when, "</td>");
		td_text(r, s->run->info.board);
		td_text(r, s->run->info.workload);
		if (s->run->status == TB_RUN_OK) {
			td_text(r, "ok");
		} else {
			tb_w_str(&r->w, "<td class=\"bad\">");
			w_text(r, tb_store_run_status_name(s->run->status));
			if (s->run->reason) {
				tb_w_str(&r->w, ": ");
				w_text(r, s->run->reason);
			}
			tb_w_str(&r->w, "</td>");
		}
		tb_w_printf(&r->w, "<td class=\"n\">%lld/%lld</td>", (long long)s->n_ok,
			    (long long)s->n_trials);
		td_num(r, has ? s->latency_ms.median : NAN, has && is_est(s) ? " *" : NULL);
		td_num(r, has ? s->latency_ms.min : NAN, NULL);
		td_num(r, has ? s->latency_ms.max : NAN, NULL);
		td_num(r, s->energy_uj.n ? s->energy_uj.median : NAN, is_emu(s) ? " ^" : NULL);
		need = tb_summary_tags_text(s, NULL, 0) + 1;
		if (need > cap) {
			char *grown = realloc(tags, need);

			if (grown) {
				tags = grown;
				cap = need;
			}
		}
		if (tags && need <= cap) {
			tb_summary_tags_text(s, tags, cap);
			td_text(r, tags);
		} else {
			td_text(r, "");
		}
		tb_w_str(&r->w, "</tr>\n");
	}
	tb_w_str(&r->w, "</table>\n");
	free(tags);
}

/* ------------------------------------------------------------ bar charts */

struct bar_row {
	const char *label;
	double med, min, max;
	int flagged;
	int64_t run_id;
};

static void x_grid(struct rep *r, const struct tb_axis *ax, double y0, double y1,
		   const char *unit)
{
	char buf[32];
	double v;

	for (v = ax->lo; v <= ax->hi + ax->step * 1e-6; v += ax->step) {
		double x = tb_axis_px(ax, v);

		tb_svg_line(&r->w, x, y0, x, y1, "gl");
		tb_fmt_tick(buf, sizeof(buf), v, ax->step);
		tb_svg_text(&r->w, x, y1 + 14, "middle", "tick", buf);
	}
	tb_svg_line(&r->w, ax->p0, y1, ax->p1, y1, "ax");
	tb_svg_text(&r->w, (ax->p0 + ax->p1) / 2, y1 + 30, "middle", "lbl", unit);
}

/* Horizontal bars (median) with min-max whiskers, one row per board. */
static void bar_chart(struct rep *r, const char *kind, const char *label,
		      const char *unit, const struct bar_row *rows, size_t n,
		      const char *cls, const char *cls_flag, const char *mark)
{
	const double left = 170, right = 120, top = 10, row_h = 30;
	double y1 = top + n * row_h, max = 0;
	struct tb_axis ax;
	char val[48], title[200], num[32];
	size_t i;

	for (i = 0; i < n; i++)
		if (rows[i].max > max)
			max = rows[i].max;
	tb_axis_nice(&ax, 0, max > 0 ? max : 1, 6);
	ax.lo = 0;
	ax.p0 = left;
	ax.p1 = PAGE_W - right;
	tb_w_str(&r->w, "<div class=\"card\">\n");
	tb_svg_begin(&r->w, PAGE_W, (int)(y1 + 40), kind, label);
	x_grid(r, &ax, top, y1, unit);
	for (i = 0; i < n; i++) {
		const struct bar_row *b = &rows[i];
		double y = top + i * row_h, xm = tb_axis_px(&ax, b->med);
		double xa = tb_axis_px(&ax, b->min), xb = tb_axis_px(&ax, b->max);

		tb_svg_text(&r->w, left - 8, y + 19, "end", "lbl", b->label);
		fmt_val(num, sizeof(num), b->med);
		snprintf(title, sizeof(title), "%s: median %s %s (min %.4g, max %.4g), run %lld%s",
			 b->label, num, unit, b->min, b->max, (long long)b->run_id,
			 b->flagged ? (mark[0] == '*' ? ", estimate" : ", emulated") : "");
		tb_svg_rect(&r->w, left, y + 6, xm - left, 18, b->flagged ? cls_flag : cls, title);
		tb_svg_line(&r->w, xa, y + 15, xb, y + 15, "wh");
		tb_svg_line(&r->w, xa, y + 10, xa, y + 20, "wh");
		tb_svg_line(&r->w, xb, y + 10, xb, y + 20, "wh");
		snprintf(val, sizeof(val), "%s%s", num, b->flagged ? mark : "");
		tb_svg_text(&r->w, (xb > xm ? xb : xm) + 6, y + 19, "start", "val", val);
	}
	tb_svg_end(&r->w);
	tb_w_str(&r->w, "</div>\n");
}

/* Latency (energy = 0) or energy per board, one chart per workload. */
static void per_board_charts(struct rep *r, int energy)
{
	const struct tb_compare *c = r->cmp;
	struct bar_row *rows;
	char label[200];
	size_t wi, bi, n, drawn = 0;

	tb_w_printf(&r->w, "<h2 id=\"%s\">%s</h2>\n", energy ? "energy" : "latency",
		    energy ? "Energy per inference per board" : "Latency per board");
	if (!c) {
		tb_w_str(&r->w, "<p class=\"empty\">No run in the selection finished ok.</p>\n");
		return;
	}
	rows = calloc(c->n_boards, sizeof(*rows));
	if (!rows) {
		r->ret = tb_error_set(r->err, TB_ERR_NOMEM, "out of memory");
		return;
	}
	for (wi = 0; wi < c->n_workloads; wi++) {
		n = 0;
		for (bi = 0; bi < c->n_boards; bi++) {
			const struct tb_run_summary *s = tb_compare_cell(c, bi, wi)->run;
			const struct tb_stats *st;

			if (!s)
				continue;
			st = energy ? &s->energy_uj : &s->latency_ms;
			if (!st->n)
				continue;
			rows[n].label = c->boards[bi];
			rows[n].med = st->median;
			rows[n].min = st->min;
			rows[n].max = st->max;
			rows[n].flagged = energy ? is_emu(s) : is_est(s);
			rows[n].run_id = s->run->id;
			n++;
		}
		if (!n)
			continue;
		w_tag_text(r, "<h3>", c->workloads[wi], "</h3>\n");
		snprintf(label, sizeof(label), "%s of %s per board: median with min-max",
			 energy ? "energy per inference" : "latency per inference",
			 c->workloads[wi]);
		if (energy)
			bar_chart(r, "energy", label, "\xc2\xb5J per inference", rows, n,
				  "bar-en", "bar-en-emu", " ^");
		else
			bar_chart(r, "latency", label, "ms per inference", rows, n,
				  "bar-lat", "bar-lat-est", " *");
		drawn++;
	}
	free(rows);
	if (!drawn)
		tb_w_printf(&r->w, "<p class=\"empty\">No %s recorded for the latest runs.</p>\n",
			    energy ? "energy figure was" : "latency was");
}

/* ------------------------------------------------------------ memory */

static void memory_charts(struct rep *r)
{
	const struct tb_compare *c = r->cmp;
	const double left = 170, right = 150, top = 26, row_h = 40;
	char label[200], title[240], val[96];
	size_t wi, bi, n;

	tb_w_str(&r->w, "<h2 id=\"memory\">Memory per board</h2>\n");
	if (!c) {
		tb_w_str(&r->w, "<p class=\"empty\">No run in the selection finished ok.</p>\n");
		return;
	}
	tb_w_str(&r->w, "<p class=\"legend\"><span><i class=\"lg\" style=\"background:#8e44ad\"></i>stack peak</span>"
		 "<span><i style=\"background:#2e86c1\"></i>arena peak</span>"
		 "<span><i style=\"background:#17a589\"></i>static RAM (data + bss)</span>"
		 "<span><i style=\"background:#c9a227\"></i>flash (text + rodata + data)</span></p>\n");
	for (wi = 0; wi < c->n_workloads; wi++) {
		double max = 0, y1;
		struct tb_axis ax;

		n = 0;
		for (bi = 0; bi < c->n_boards; bi++) {
			const struct tb_run_summary *s = tb_compare_cell(c, bi, wi)->run;
			double ram, fl;

			if (!s || s->stack_peak < 0 || s->arena_peak < 0)
				continue;
			ram = (double)s->stack_peak + (double)s->arena_peak +
			      (s->run->info.static_ram_bytes > 0 ? (double)s->run->info.static_ram_bytes : 0);
			fl = s->run->info.flash_bytes > 0 ? (double)s->run->info.flash_bytes : 0;
			if (ram > max)
				max = ram;
			if (fl > max)
				max = fl;
			n++;
		}
		if (!n)
			continue;
		tb_axis_nice(&ax, 0, max > 0 ? max : 1, 6);
		ax.lo = 0;
		ax.p0 = left;
		ax.p1 = PAGE_W - right;
		y1 = top + n * row_h;
		w_tag_text(r, "<h3>", c->workloads[wi], "</h3>\n");
		snprintf(label, sizeof(label),
			 "memory of %s per board: stack, arena and static RAM stacked; flash below",
			 c->workloads[wi]);
		tb_w_str(&r->w, "<div class=\"card\">\n");
		tb_svg_begin(&r->w, PAGE_W, (int)(y1 + 40), "memory", label);
		tb_svg_text(&r->w, left, 14, "start", "ttl", "RAM (upper bar) and flash (lower bar), bytes");
		x_grid(r, &ax, top, y1, "bytes");
		n = 0;
		for (bi = 0; bi < c->n_boards; bi++) {
			const struct tb_run_summary *s = tb_compare_cell(c, bi, wi)->run;
			int64_t st, fl;
			double y, x;

			if (!s || s->stack_peak < 0 || s->arena_peak < 0)
				continue;
			st = s->run->info.static_ram_bytes;
			fl = s->run->info.flash_bytes;
			y = top + n++ * row_h;
			tb_svg_text(&r->w, left - 8, y + 22, "end", "lbl", c->boards[bi]);
			x = left;
			snprintf(title, sizeof(title), "%s: stack peak %lld B", c->boards[bi],
				 (long long)s->stack_peak);
			tb_svg_rect(&r->w, x, y + 5, tb_axis_px(&ax, (double)s->stack_peak) - left,
				    16, "m-stack", title);
			x = tb_axis_px(&ax, (double)s->stack_peak);
			snprintf(title, sizeof(title), "%s: arena peak %lld B", c->boards[bi],
				 (long long)s->arena_peak);
			tb_svg_rect(&r->w, x, y + 5, tb_axis_px(&ax, (double)s->arena_peak) - left,
				    16, "m-arena", title);
			x = tb_axis_px(&ax, (double)(s->stack_peak + s->arena_peak));
			if (st > 0) {
				snprintf(title, sizeof(title), "%s: static RAM %lld B", c->boards[bi],
					 (long long)st);
				tb_svg_rect(&r->w, x, y + 5, tb_axis_px(&ax, (double)st) - left, 16,
					    "m-static", title);
				x = tb_axis_px(&ax, (double)(s->stack_peak + s->arena_peak + st));
			}
			if (fl > 0) {
				snprintf(title, sizeof(title), "%s: flash %lld B", c->boards[bi],
					 (long long)fl);
				tb_svg_rect(&r->w, left, y + 23, tb_axis_px(&ax, (double)fl) - left, 9,
					    "m-flash", title);
			}
			snprintf(val, sizeof(val), "RAM %lld%s",
				 (long long)(s->stack_peak + s->arena_peak + (st > 0 ? st : 0)),
				 st >= 0 ? "" : " (no static)");
			tb_svg_text(&r->w, x + 6, y + 17, "start", "val", val);
			if (fl > 0) {
				snprintf(val, sizeof(val), "flash %lld", (long long)fl);
				tb_svg_text(&r->w, tb_axis_px(&ax, (double)fl) + 6, y + 32, "start",
					    "val", val);
			}
		}
		tb_svg_end(&r->w);
		tb_w_str(&r->w, "</div>\n");
	}
}

/* ------------------------------------------------------------ trends */

struct series {
	const struct tb_run_summary **v;
	size_t n;
};

static void time_ticks(struct rep *r, double t0, double t1, double x0, double x1,
		       double y)
{
	enum time_fmt fmt = t1 - t0 > 2 * 86400e3 ? T_MD : t1 - t0 > 3600e3 ? T_MD_HM : T_HMS;
	char buf[32];
	int i;

	/* Three labels (start, middle, end) fit the small charts. */
	for (i = 0; i <= 2; i++) {
		double t = t0 + (t1 - t0) * i / 2, x = x0 + (x1 - x0) * i / 2;

		fmt_time(buf, sizeof(buf), (int64_t)t, fmt);
		tb_svg_text(&r->w, x, y, i == 0 ? "start" : i == 2 ? "end" : "middle", "tick", buf);
	}
}

/* One small chart: median line + min-max band of latency or energy. */
static void trend_chart(struct rep *r, const struct series *s, int energy,
			const char *board, const char *workload)
{
	const double W = 468, H = 210, left = 56, right = 14, top = 26, bottom = 40;
	double lo = INFINITY, hi = -INFINITY, t0 = INFINITY, t1 = -INFINITY;
	double *xs, *ys, *bx, *by;
	struct tb_axis ay;
	char label[220], title[240], buf[32], num[32];
	size_t i, n = 0, k;
	int flagged = 0;

	for (i = 0; i < s->n; i++) {
		const struct tb_stats *st = energy ? &s->v[i]->energy_uj : &s->v[i]->latency_ms;
		double t = (double)s->v[i]->run->info.started_at;

		if (!st->n)
			continue;
		n++;
		lo = st->min < lo ? st->min : lo;
		hi = st->max > hi ? st->max : hi;
		t0 = t < t0 ? t : t0;
		t1 = t > t1 ? t : t1;
		flagged |= energy ? is_emu(s->v[i]) : is_est(s->v[i]);
	}
	if (n < 2)
		return;
	if (t1 <= t0)
		t1 = t0 + 3600e3;
	tb_axis_nice(&ay, lo - (hi - lo) * 0.1, hi + (hi - lo) * 0.1, 4);
	ay.p0 = H - bottom;
	ay.p1 = top;
	xs = malloc(4 * n * sizeof(double));
	if (!xs) {
		r->ret = tb_error_set(r->err, TB_ERR_NOMEM, "out of memory");
		return;
	}
	ys = xs + n;
	bx = ys + n;
	by = bx + n;	/* band: n points forward (max) ... */
	snprintf(label, sizeof(label), "%s trend of %s on %s: median per run with min-max band",
		 energy ? "energy" : "latency", workload, board);
	tb_w_str(&r->w, "<div class=\"card\">\n");
	tb_svg_begin(&r->w, (int)W, (int)H, energy ? "trend-energy" : "trend", label);
	snprintf(label, sizeof(label), "%s / %s: %s%s", board, workload,
		 energy ? "energy \xc2\xb5J" : "latency ms",
		 flagged ? (energy ? " (emulated)" : " (estimate)") : "");
	tb_svg_text(&r->w, left, 16, "start", "ttl", label);
	for (double v = ay.lo; v <= ay.hi + ay.step * 1e-6; v += ay.step) {
		double y = tb_axis_px(&ay, v);

		tb_svg_line(&r->w, left, y, W - right, y, "gl");
		tb_fmt_tick(buf, sizeof(buf), v, ay.step);
		tb_svg_text(&r->w, left - 6, y + 4, "end", "tick", buf);
	}
	tb_svg_line(&r->w, left, H - bottom, W - right, H - bottom, "ax");
	time_ticks(r, t0, t1, left, W - right, H - bottom + 16);
	tb_svg_text(&r->w, (left + W - right) / 2, H - 6, "middle", "tick", "run start (UTC)");

	/* The band: max values left to right, then min values back. */
	k = 0;
	for (i = 0; i < s->n; i++) {
		const struct tb_stats *st = energy ? &s->v[i]->energy_uj : &s->v[i]->latency_ms;

		if (!st->n)
			continue;
		xs[k] = left + ((double)s->v[i]->run->info.started_at - t0) / (t1 - t0) *
			(W - right - left);
		ys[k] = tb_axis_px(&ay, st->median);
		bx[k] = xs[k];
		by[k] = tb_axis_px(&ay, st->max);
		k++;
	}
	{
		/* Polygon points: (x, max) forward then (x, min) backward. */
		double *px = malloc(4 * n * sizeof(double)), *py;

		if (px) {
			py = px + 2 * n;
			k = 0;
			for (i = 0; i < n; i++) {
				px[k] = bx[i];
				py[k++] = by[i];
			}
			for (i = s->n; i-- > 0;) {
				const struct tb_stats *st = energy ? &s->v[i]->energy_uj :
								     &s->v[i]->latency_ms;

				if (!st->n)
					continue;
				px[k] = left + ((double)s->v[i]->run->info.started_at - t0) /
					(t1 - t0) * (W - right - left);
				py[k++] = tb_axis_px(&ay, st->min);
			}
			tb_svg_poly(&r->w, px, py, k, 1, energy ? "band-en" : "band");
			free(px);
		}
	}
	tb_svg_poly(&r->w, xs, ys, n, 0, energy ? "tl-en" : "tl");
	k = 0;
	for (i = 0; i < s->n; i++) {
		const struct tb_run_summary *sv = s->v[i];
		const struct tb_stats *st = energy ? &sv->energy_uj : &sv->latency_ms;
		const char *commit = tb_summary_tag(sv, "git.commit");

		if (!st->n)
			continue;
		fmt_time(buf, sizeof(buf), sv->run->info.started_at, T_DATE_HM);
		fmt_val(num, sizeof(num), st->median);
		snprintf(title, sizeof(title), "run %lld, %s UTC: median %s %s (min %.4g, max %.4g)%s%s",
			 (long long)sv->run->id, buf, num, energy ? "\xc2\xb5J" : "ms", st->min, st->max,
			 commit ? ", commit " : "", commit ? commit : "");
		tb_svg_circle(&r->w, xs[k], ys[k], 3, energy ? "pt-en" : "pt", title);
		k++;
	}
	tb_svg_end(&r->w);
	tb_w_str(&r->w, "</div>\n");
	free(xs);
}

static int cmp_run_ptr(const void *a, const void *b)
{
	const struct tb_run_summary *x = *(const struct tb_run_summary *const *)a;
	const struct tb_run_summary *y = *(const struct tb_run_summary *const *)b;

	if (x->run->info.started_at != y->run->info.started_at)
		return x->run->info.started_at < y->run->info.started_at ? -1 : 1;
	return (x->run->id > y->run->id) - (x->run->id < y->run->id);
}

static void trend_charts(struct rep *r)
{
	const struct tb_compare *c = r->cmp;
	size_t max = r->o->max_trend_runs ? r->o->max_trend_runs : 200;
	struct series s = { 0 };
	size_t bi, wi, i, drawn = 0;

	tb_w_str(&r->w, "<h2 id=\"trend\">Trend over time</h2>\n");
	if (!c) {
		tb_w_str(&r->w, "<p class=\"empty\">No run in the selection finished ok.</p>\n");
		return;
	}
	s.v = malloc(r->set->n * sizeof(*s.v));
	if (!s.v) {
		r->ret = tb_error_set(r->err, TB_ERR_NOMEM, "out of memory");
		return;
	}
	tb_w_str(&r->w, "<div class=\"grid\">\n");
	for (bi = 0; bi < c->n_boards; bi++) {
		for (wi = 0; wi < c->n_workloads; wi++) {
			s.n = 0;
			for (i = 0; i < r->set->n; i++) {
				const struct tb_run_summary *sv = &r->set->v[i];

				if (tb_summary_usable(sv) &&
				    !strcmp(sv->run->info.board, c->boards[bi]) &&
				    !strcmp(sv->run->info.workload, c->workloads[wi]))
					s.v[s.n++] = sv;
			}
			if (s.n < 2)
				continue;
			qsort(s.v, s.n, sizeof(*s.v), cmp_run_ptr);
			if (s.n > max) {
				memmove(s.v, s.v + (s.n - max), max * sizeof(*s.v));
				s.n = max;
			}
			trend_chart(r, &s, 0, c->boards[bi], c->workloads[wi]);
			trend_chart(r, &s, 1, c->boards[bi], c->workloads[wi]);
			drawn++;
		}
	}
	tb_w_str(&r->w, "</div>\n");
	if (!drawn)
		tb_w_str(&r->w, "<p class=\"empty\">A trend needs at least two finished runs of "
			 "the same board and workload (nightly runs add one each night).</p>\n");
	free(s.v);
}

/* ------------------------------------------------------------ trace */

/* Find a stored trace: the one asked for, or the newest among the runs. */
static int find_trace(struct rep *r, const struct tb_run_summary **which, int64_t *idx,
		      double *bin_hz, float **mw, size_t *n)
{
	const struct tb_report_opts *o = r->o;
	struct tb_error e = { 0 };
	size_t i, tried = 0;
	int64_t k;
	int ret;

	if (o->trace_run) {
		const struct tb_run_summary *s = tb_summary_find(r->set, o->trace_run);

		if (!s)
			return tb_error_set(r->err, TB_ERR_NOTFOUND,
					    "--trace: run %lld is not among the reported runs",
					    (long long)o->trace_run);
		for (k = o->trace_idx >= 0 ? o->trace_idx : 0;
		     k < (o->trace_idx >= 0 ? o->trace_idx + 1 : s->n_trials); k++) {
			ret = tb_store_trace_get(r->store, s->run->id, k, bin_hz, mw, n, &e);
			if (ret == TB_OK) {
				*which = s;
				*idx = k;
				return 1;
			}
			if (ret != TB_ERR_NOTFOUND) {
				*r->err = e;
				return ret;
			}
		}
		if (o->trace_idx >= 0)
			return tb_error_set(r->err, TB_ERR_NOTFOUND,
					    "--trace: run %lld trial %lld has no stored power trace",
					    (long long)o->trace_run, (long long)o->trace_idx);
		return tb_error_set(r->err, TB_ERR_NOTFOUND,
				    "--trace: run %lld has no stored power trace",
				    (long long)o->trace_run);
	}
	for (i = r->set->n; i-- > 0 && tried < 400;) {
		const struct tb_run_summary *s = &r->set->v[i];

		/* Only runs with an energy method can have had a meter. */
		if (!s->run->info.energy_method)
			continue;
		tried++;
		for (k = 0; k < s->n_trials && k < 16; k++) {
			ret = tb_store_trace_get(r->store, s->run->id, k, bin_hz, mw, n, &e);
			if (ret == TB_OK) {
				*which = s;
				*idx = k;
				return 1;
			}
			if (ret != TB_ERR_NOTFOUND) {
				*r->err = e;
				return ret;
			}
		}
	}
	return 0;
}

static void trace_chart(struct rep *r)
{
	const double W = PAGE_W, H = 300, left = 64, right = 20, top = 30, bottom = 44;
	const size_t max_pts = 1200;
	const struct tb_run_summary *s = NULL;
	int64_t idx = 0;
	double bin_hz = 0, sum = 0, peak = 0, dur_ms, mean;
	float *mw = NULL;
	size_t n = 0, i, nb, cnt = 0, k;
	struct tb_axis ax, ay;
	double *xs, *ys;
	char label[240], buf[48];
	int ret;

	tb_w_str(&r->w, "<h2 id=\"trace\">Power trace</h2>\n");
	ret = find_trace(r, &s, &idx, &bin_hz, &mw, &n);
	if (ret < 0) {
		r->ret = ret;
		return;
	}
	if (ret == 0) {
		tb_w_str(&r->w, "<p class=\"empty\">No power trace is stored for these runs "
			 "(traces come from an energy meter).</p>\n");
		return;
	}
	for (i = 0; i < n; i++) {
		if (isnan(mw[i]))
			continue;
		sum += mw[i];
		cnt++;
		if (mw[i] > peak)
			peak = mw[i];
	}
	mean = cnt ? sum / (double)cnt : NAN;
	dur_ms = (double)n / bin_hz * 1000.0;
	tb_axis_nice(&ax, 0, dur_ms, 8);
	ax.lo = 0;
	ax.p0 = left;
	ax.p1 = W - right;
	tb_axis_nice(&ay, 0, peak > 0 ? peak : 1, 5);
	ay.lo = 0;
	ay.p0 = H - bottom;
	ay.p1 = top;
	snprintf(label, sizeof(label), "power trace of run %lld trial %lld: %s / %s, %s",
		 (long long)s->run->id, (long long)idx, s->run->info.board,
		 s->run->info.workload, s->run->info.energy_method ? s->run->info.energy_method : "");
	tb_w_str(&r->w, "<div class=\"card\">\n");
	tb_svg_begin(&r->w, (int)W, (int)H, "trace", label);
	snprintf(label, sizeof(label), "run %lld trial %lld: %s / %s, %zu bins at %.6g Hz, %s%s",
		 (long long)s->run->id, (long long)idx, s->run->info.board, s->run->info.workload,
		 n, bin_hz, s->run->info.energy_method ? s->run->info.energy_method : "",
		 tb_energy_is_emulated(s->run->info.energy_method) ? " (emulated meter)" : "");
	tb_svg_text(&r->w, left, 18, "start", "ttl", label);
	for (double v = ay.lo; v <= ay.hi + ay.step * 1e-6; v += ay.step) {
		double y = tb_axis_px(&ay, v);

		tb_svg_line(&r->w, left, y, W - right, y, "gl");
		tb_fmt_tick(buf, sizeof(buf), v, ay.step);
		tb_svg_text(&r->w, left - 6, y + 4, "end", "tick", buf);
	}
	for (double v = ax.lo; v <= ax.hi + ax.step * 1e-6; v += ax.step) {
		double x = tb_axis_px(&ax, v);

		tb_fmt_tick(buf, sizeof(buf), v, ax.step);
		tb_svg_text(&r->w, x, H - bottom + 16, "middle", "tick", buf);
	}
	tb_svg_line(&r->w, left, H - bottom, W - right, H - bottom, "ax");
	tb_svg_text(&r->w, (left + W - right) / 2, H - 8, "middle", "lbl", "time in the trial, ms");
	tb_svg_text(&r->w, 14, (top + H - bottom) / 2, "middle", "lbl", "mW");

	/* Decimate to max_pts buckets (mean of the bins in each); a bucket
	 * with no sample breaks the line. */
	nb = n < max_pts ? n : max_pts;
	xs = malloc(2 * nb * sizeof(double));
	if (!xs) {
		free(mw);
		r->ret = tb_error_set(r->err, TB_ERR_NOMEM, "out of memory");
		return;
	}
	ys = xs + nb;
	k = 0;
	for (i = 0; i < nb; i++) {
		size_t a = i * n / nb, b = (i + 1) * n / nb, j, c = 0;
		double acc = 0;

		for (j = a; j < b; j++) {
			if (!isnan(mw[j])) {
				acc += mw[j];
				c++;
			}
		}
		if (!c) {
			tb_svg_poly(&r->w, xs, ys, k, 0, "tr");
			k = 0;
			continue;
		}
		xs[k] = tb_axis_px(&ax, ((double)a + (double)(b - a) / 2) / bin_hz * 1000.0);
		ys[k] = tb_axis_px(&ay, acc / (double)c);
		k++;
	}
	tb_svg_poly(&r->w, xs, ys, k, 0, "tr");
	if (isfinite(mean)) {
		double y = tb_axis_px(&ay, mean);

		tb_svg_line(&r->w, left, y, W - right, y, "mean");
		snprintf(buf, sizeof(buf), "mean %.4g mW", mean);
		tb_svg_text(&r->w, W - right - 4, y - 5, "end", "val", buf);
	}
	tb_svg_end(&r->w);
	tb_w_str(&r->w, "</div>\n");
	free(xs);
	free(mw);
}

/* ------------------------------------------------------------ driver */

static int write_report(void *arg)
{
	struct rep *r = arg;

	header(r);
	notes(r);
	latest_table(r);
	per_board_charts(r, 0);
	if (!r->ret)
		per_board_charts(r, 1);
	if (!r->ret)
		memory_charts(r);
	if (!r->ret)
		trend_charts(r);
	if (!r->ret)
		trace_chart(r);
	if (!r->ret)
		runs_table(r);
	tb_w_str(&r->w, "<p class=\"meta\">made by tinybench; figures from the results database "
		 "(docs/REPORTS.md explains them).</p>\n</main>\n</body>\n</html>\n");
	if (r->ret)
		return r->ret;
	return tb_w_finish(&r->w, "HTML report", r->err);
}

int tb_report_html(struct tb_store *store, const struct tb_summary_set *set,
		   const struct tb_report_opts *opts, FILE *out,
		   struct tb_error *err)
{
	struct tb_report_opts o = { 0 };
	struct rep r = { .w = { .f = out }, .store = store, .set = set, .err = err };
	struct tb_error ce = { 0 };
	int ret;

	if (!store || !set || !out)
		return tb_error_set(err, TB_ERR_ARG, "tb_report_html: NULL argument");
	if (!set->n)
		return tb_error_set(err, TB_ERR_NOTFOUND, "no runs to report on");
	if (opts)
		o = *opts;
	if (!o.generated_at_ms)
		o.generated_at_ms = (int64_t)time(NULL) * 1000;
	r.o = &o;
	/* No usable run is not an error for the report: it says so. */
	if (tb_compare_build(set, NULL, &r.cmp, &ce) < 0 && ce.code != TB_ERR_NOTFOUND)
		return tb_error_set(err, ce.code, "%s", ce.msg);
	ret = tb_with_c_locale(write_report, &r, err);
	tb_compare_free(r.cmp);
	return ret;
}
