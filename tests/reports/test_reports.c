/*
 * test_reports.c - run summaries, the per-run CSV / JSON / Markdown
 * exports, the compare matrix and the regression gate, on small stores
 * built through the store API.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "tb_compare.h"
#include "tb_export.h"
#include "tb_gate.h"
#include "tb_report.h"
#include "tb_summary.h"

/* ------------------------------------------------------------ fixtures */

struct spec {
	const char *board, *workload, *timing, *energy;
	double lat[8];		/* trial latencies; 0 ends */
	double uj;		/* energy per inference (x latency), 0: none */
	int64_t stack, arena, flash, ram;
	enum tb_run_status status;
	const char *tag;	/* "key=value" or NULL */
	int bump;		/* trial bump - 1 reads 16 B more stack */
};

static int64_t add(struct tb_store *s, const struct spec *sp, int64_t t0)
{
	struct tb_error e = { 0 };
	struct tb_run_info in = {
		.board = sp->board, .workload = sp->workload,
		.timing_method = sp->timing ? sp->timing : "host-monotonic-clock",
		.energy_method = sp->energy, .started_at = t0,
		.board_clock_hz = -1, .timer_hz = -1, .protocol_version = -1,
		.flash_bytes = sp->flash ? sp->flash : -1,
		.static_ram_bytes = sp->ram ? sp->ram : -1,
	};
	int64_t id;
	int k;

	cr_assert_eq(tb_store_run_begin(s, &in, &id, &e), 0, "%s", e.msg);
	if (sp->tag) {
		char key[64];
		const char *eq = strchr(sp->tag, '=');

		snprintf(key, sizeof(key), "%.*s", (int)(eq - sp->tag), sp->tag);
		cr_assert_eq(tb_store_tag_set(s, id, key, eq + 1, &e), 0, "%s", e.msg);
	}
	for (k = 0; sp->lat[k] > 0; k++) {
		struct tb_trial t = {
			.idx = k, .inferences = 10, .ticks = 1000, .timer_hz = 1000,
			.latency_ms = sp->lat[k], .inf_min_ms = sp->lat[k] * 0.9,
			.inf_max_ms = sp->lat[k] * 1.2,
			.stack_peak = (sp->stack ? sp->stack : 1000) + (sp->bump == k + 1 ? 16 : 0),
			.arena_peak = sp->arena ? sp->arena : 16000, .stack_size = -1,
			.arena_size = -1, .status = TB_TRIAL_OK,
			.output_check = TB_OUTPUT_MATCH,
			.energy_uj = sp->uj ? sp->lat[k] * sp->uj : NAN,
			.power_mw = sp->uj ? sp->uj : NAN,
			.energy_window_ms = sp->uj ? 1000 : NAN,
			.energy_samples = -1, .energy_sample_hz = NAN, .energy_lost_samples = -1,
		};

		cr_assert_eq(tb_store_trial_add(s, id, &t, &e), 0, "%s", e.msg);
	}
	cr_assert_eq(tb_store_run_finish(s, id, sp->status ? sp->status : TB_RUN_OK,
					 sp->status ? "board stopped answering" : NULL,
					 t0 + 1000, &e), 0, "%s", e.msg);
	return id;
}

static struct tb_store *open_mem(void)
{
	struct tb_store *s = NULL;
	struct tb_error e = { 0 };

	cr_assert_eq(tb_store_open(":memory:", &s, &e), 0, "%s", e.msg);
	return s;
}

static void load(struct tb_store *st, const struct tb_select *sel,
		 struct tb_summary_set *set)
{
	struct tb_error e = { 0 };

	cr_assert_eq(tb_summary_load(st, sel, set, &e), 0, "%s", e.msg);
}

static char *to_memory(int (*fn)(void *, FILE *, struct tb_error *), void *arg, size_t *len)
{
	struct tb_error e = { 0 };
	FILE *f = tmpfile();
	char *buf;
	long n;

	cr_assert_not_null(f);
	cr_assert_eq(fn(arg, f, &e), 0, "%s", e.msg);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

struct exp_args {
	struct tb_store *st;
	struct tb_export_opts o;
};

static int do_export(void *arg, FILE *f, struct tb_error *e)
{
	struct exp_args *a = arg;

	return tb_export(a->st, &a->o, f, e);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ------------------------------------------------------------ summary */

Test(summary, medians_memory_and_tags)
{
	struct tb_store *st = open_mem();
	struct tb_summary_set set = { 0 };
	struct spec a = { "qemu-m4", "kws01", "qemu-icount-instructions", "emulated:ppk2",
			  { 2, 4, 3, 10, 0 }, 3.0, 1500, 16000, 118000, 9400, 0, "git.commit=a;b" };
	const struct tb_run_summary *s;
	char tags[64];
	int with_static;

	add(st, &a, 1714521600000);
	load(st, NULL, &set);
	cr_assert_eq(set.n, 1);
	s = &set.v[0];
	cr_expect_eq(s->n_trials, 4);
	cr_expect_eq(s->n_ok, 4);
	cr_expect_eq(s->latency_ms.median, 3.5, "numpy median of 2,4,3,10");
	cr_expect_eq(s->latency_ms.min, 2);
	cr_expect_eq(s->latency_ms.max, 10);
	cr_expect_eq(s->energy_uj.median, 10.5);
	cr_expect_eq(tb_summary_ram(s, &with_static), 1500 + 16000 + 9400);
	cr_expect(with_static);
	cr_expect(tb_timing_is_estimate(s->run->info.timing_method));
	cr_expect(!tb_timing_is_estimate("host-monotonic-clock"));
	cr_expect(tb_timing_is_estimate("emulator-instructions"));
	cr_expect(tb_energy_is_emulated(s->run->info.energy_method));
	cr_expect(!tb_energy_is_emulated("measured:ppk2"));
	tb_summary_tags_text(s, tags, sizeof(tags));
	cr_expect_str_eq(tags, "git.commit=a\\;b");
	cr_expect_str_eq(tb_summary_tag(s, "git.commit"), "a;b");
	tb_summary_set_free(&set);
	tb_store_close(st);
}

/* ------------------------------------------------------------ per-run CSV */

/* docs/EXPORT.md, "One row per run", in order. */
static const char *const run_columns[] = {
	"run_id", "run_status", "run_reason", "board", "board_cpu", "board_clock_hz",
	"timing_method", "latency_basis", "workload", "model_hash", "runner_version",
	"runner_build_id", "harness_version", "harness_build_id", "host",
	"run_started_at_ms", "run_ended_at_ms", "firmware_sha256", "flash_bytes",
	"static_ram_bytes", "energy_method", "energy_basis", "trials", "trials_ok",
	"inferences", "latency_median_ms", "latency_min_ms", "latency_max_ms",
	"latency_p90_ms", "latency_mean_ms", "latency_stddev_ms", "inf_min_ms",
	"inf_max_ms", "stack_peak", "stack_size", "arena_peak", "arena_size",
	"ram_peak_bytes", "energy_median_uj", "energy_min_uj", "energy_max_uj",
	"power_median_mw", "link_retries", "frames_dropped", "output_mismatches",
	"tags",
};
#define N_RUN_COLUMNS (sizeof(run_columns) / sizeof(run_columns[0]))

struct table {
	int rows, cur;
	int fields[8];
	char *cell[8][64];
};

static void on_field(void *s, size_t len, void *user)
{
	struct table *t = user;

	cr_assert_lt(t->rows, 8);
	cr_assert_lt(t->cur, 64);
	t->cell[t->rows][t->cur++] = s ? strndup(s, len) : NULL;
}

static void on_row(int c, void *user)
{
	struct table *t = user;

	(void)c;
	t->fields[t->rows++] = t->cur;
	t->cur = 0;
}

static const char *col(struct table *t, int row, const char *name)
{
	for (size_t i = 0; i < N_RUN_COLUMNS; i++)
		if (!strcmp(run_columns[i], name))
			return t->cell[row][i];
	cr_assert_fail("no column %s", name);
	return NULL;
}

Test(export, per_run_csv_has_the_documented_columns_and_medians)
{
	struct tb_store *st = open_mem();
	struct spec a = { "sim", "kws01", NULL, NULL, { 1.0, 3.0, 2.0, 0 }, 0, 1200, 16000,
			  0, 0, 0, "nightly=n1" };
	struct spec b = { "qemu-m4", "kws01", "qemu-icount-instructions", "emulated:ppk2",
			  { 5.0, 0 }, 2.0, 1300, 16000, 118000, 9400, TB_RUN_FAILED, NULL };
	struct exp_args x = { .st = st, .o = { .format = TB_EXPORT_CSV,
					       .per = TB_EXPORT_PER_RUN } };
	struct csv_parser p;
	struct table t = { 0 };
	size_t len, i;
	char *csv;

	add(st, &a, 1714521600000);
	add(st, &b, 1714521700000);
	csv = to_memory(do_export, &x, &len);
	cr_assert_eq(csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_EMPTY_IS_NULL), 0);
	cr_assert_eq(csv_parse(&p, csv, len, on_field, on_row, &t), len);
	cr_assert_eq(csv_fini(&p, on_field, on_row, &t), 0);
	csv_free(&p);
	cr_assert_eq(t.rows, 3, "header + one row per run");
	for (i = 0; i < N_RUN_COLUMNS; i++)
		cr_expect_str_eq(t.cell[0][i], run_columns[i], "column %zu", i);
	cr_expect_eq(t.fields[1], (int)N_RUN_COLUMNS);
	cr_expect_str_eq(col(&t, 1, "latency_median_ms"), "2");
	cr_expect_str_eq(col(&t, 1, "latency_min_ms"), "1");
	cr_expect_str_eq(col(&t, 1, "latency_max_ms"), "3");
	cr_expect_str_eq(col(&t, 1, "trials"), "3");
	cr_expect_str_eq(col(&t, 1, "latency_basis"), "measured");
	cr_expect_null(col(&t, 1, "energy_basis"));
	cr_expect_null(col(&t, 1, "energy_median_uj"));
	cr_expect_str_eq(col(&t, 1, "ram_peak_bytes"), "17200");
	cr_expect_str_eq(col(&t, 1, "tags"), "nightly=n1");
	cr_expect_str_eq(col(&t, 2, "run_status"), "failed");
	cr_expect_str_eq(col(&t, 2, "run_reason"), "board stopped answering");
	cr_expect_str_eq(col(&t, 2, "latency_basis"), "estimate");
	cr_expect_str_eq(col(&t, 2, "energy_basis"), "emulated");
	cr_expect_str_eq(col(&t, 2, "energy_median_uj"), "10");
	cr_expect_str_eq(col(&t, 2, "ram_peak_bytes"), "26700");
	cr_expect_str_eq(col(&t, 2, "tags"), "");
	free(csv);
	tb_store_close(st);
}

Test(export, json_and_markdown)
{
	struct tb_store *st = open_mem();
	struct spec a = { "sim", "kws01", NULL, NULL, { 1.0, 3.0, 2.0, 0 }, 0, 0, 0, 0, 0, 0,
			  "note=say \"hi\"" };
	struct spec b = { "qemu-m4", "kws01", "qemu-icount-instructions", "emulated:ppk2",
			  { 5.0, 0 }, 2.0, 0, 0, 0, 0, 0, NULL };
	struct exp_args x = { .st = st, .o = { .format = TB_EXPORT_JSON } };
	char *out;

	add(st, &a, 1714521600000);
	add(st, &b, 1714521700000);
	out = to_memory(do_export, &x, NULL);
	cr_expect(strstr(out, "\"format\": \"tinybench-export\"") != NULL, "%s", out);
	cr_expect_eq(count(out, "\"run_id\""), 2);
	cr_expect_eq(count(out, "\"trial_idx\""), 4, "trials inside their runs");
	cr_expect(strstr(out, "\"note\": \"say \\\"hi\\\"\"") != NULL, "tag escaped: %s", out);
	cr_expect(strstr(out, "\"latency_basis\": \"estimate\"") != NULL);
	cr_expect(strstr(out, "\"median\": 2,") != NULL, "%s", out);
	cr_expect_eq(count(out, "{"), count(out, "}"));
	cr_expect_eq(count(out, "["), count(out, "]"));
	free(out);

	x.o.per = TB_EXPORT_PER_RUN;
	out = to_memory(do_export, &x, NULL);
	cr_expect_eq(count(out, "\"trial_idx\""), 0, "per run: no trials");
	cr_expect_eq(count(out, "\"summary\""), 2);
	free(out);

	x.o.format = TB_EXPORT_MD;
	x.o.per = TB_EXPORT_PER_DEFAULT;
	out = to_memory(do_export, &x, NULL);
	cr_expect(strncmp(out, "| run | started (UTC) |", 23) == 0, "%s", out);
	cr_expect_eq(count(out, "\n| "), 3, "header + 2 runs: %s", out);
	cr_expect(strstr(out, "5.0000 (est.)") != NULL, "%s", out);
	cr_expect(strstr(out, "10.000 (emul.)") != NULL, "%s", out);
	cr_expect(strstr(out, "(est.) latency estimated") != NULL);
	free(out);
	tb_store_close(st);
}

Test(export, selection_with_no_run_gives_the_header_alone)
{
	struct tb_store *st = open_mem();
	struct tb_select sel = { .board = "nothing" };
	struct exp_args x = { .st = st, .o = { .format = TB_EXPORT_CSV, .sel = &sel } };
	char *out;

	out = to_memory(do_export, &x, NULL);
	cr_expect_eq(count(out, "\r\n"), 1);
	free(out);
	x.o.format = TB_EXPORT_JSON;
	out = to_memory(do_export, &x, NULL);
	cr_expect(strstr(out, "\"runs\": []") != NULL, "%s", out);
	free(out);
	tb_store_close(st);
}

/* ------------------------------------------------------------ compare */

struct cmp_args {
	struct tb_compare *c;
	int fmt;
};

static int do_cmp(void *arg, FILE *f, struct tb_error *e)
{
	struct cmp_args *a = arg;

	return a->fmt == 0 ? tb_compare_write_text(a->c, f, e) :
	       a->fmt == 1 ? tb_compare_write_csv(a->c, f, e) :
			     tb_compare_write_json(a->c, f, e);
}

Test(compare, latest_run_per_cell_and_ratios_to_a_baseline_board)
{
	struct tb_store *st = open_mem();
	struct tb_summary_set set = { 0 };
	struct tb_compare_opts o = { .base_kind = TB_COMPARE_BASE_BOARD, .base_board = "sim" };
	struct tb_compare *c = NULL;
	struct tb_error e = { 0 };
	struct spec old = { "sim", "kws01", NULL, NULL, { 9, 0 } };
	struct spec sim = { "sim", "kws01", NULL, NULL, { 2, 2, 2, 0 } };
	struct spec q = { "qemu-m4", "kws01", "qemu-icount-instructions", "emulated:ppk2",
			  { 8, 0 }, 1.0, 0, 0, 118000, 9400 };
	struct spec fail = { "qemu-m4", "kws01", NULL, NULL, { 1, 0 }, 0, 0, 0, 0, 0,
			     TB_RUN_FAILED };
	struct cmp_args ca;
	const struct tb_compare_cell *cell;
	char *out;

	add(st, &old, 1);
	add(st, &sim, 2);
	add(st, &q, 3);
	add(st, &fail, 4);	/* newer but failed: not shown */
	load(st, NULL, &set);
	cr_assert_eq(tb_compare_build(&set, &o, &c, &e), 0, "%s", e.msg);
	cr_assert_eq(c->n_boards, 2);
	cr_expect_str_eq(c->boards[0], "sim", "baseline board first");
	cell = tb_compare_cell(c, 0, 0);
	cr_expect_eq(cell->run->run->id, 2, "latest ok run");
	cr_expect_eq(cell->latency_rel, 1.0);
	cell = tb_compare_cell(c, 1, 0);
	cr_expect_eq(cell->run->run->id, 3);
	cr_expect_eq(cell->latency_rel, 4.0);
	cr_expect(isnan(cell->energy_rel), "no energy on the baseline side");
	cr_expect_eq(cell->ram_rel, 1.0, "static RAM left out when the baseline lacks it");
	cr_expect(c->any_estimate);
	cr_expect(c->any_emulated);

	ca.c = c;
	ca.fmt = 0;
	out = to_memory(do_cmp, &ca, NULL);
	cr_expect(strstr(out, "8.000* (4.00x)") != NULL, "%s", out);
	cr_expect(strstr(out, "estimate, not a measured time") != NULL, "%s", out);
	cr_expect(strstr(out, "qemu-m4 (qemu-icount-instructions)") != NULL, "%s", out);
	cr_expect(strstr(out, "emulated energy") != NULL, "%s", out);
	free(out);
	ca.fmt = 1;
	out = to_memory(do_cmp, &ca, NULL);
	cr_expect(strncmp(out, "board,workload,run_id,", 22) == 0, "%s", out);
	cr_expect_eq(count(out, "\r\n"), 3, "header + 2 cells");
	cr_expect(strstr(out, "\"estimate\"") != NULL);
	free(out);
	ca.fmt = 2;
	out = to_memory(do_cmp, &ca, NULL);
	cr_expect(strstr(out, "\"latency_is_estimate\": true") != NULL, "%s", out);
	cr_expect(strstr(out, "\"vs_baseline\": 4") != NULL, "%s", out);
	free(out);
	tb_compare_free(c);

	o.base_board = "nope";
	cr_expect_eq(tb_compare_build(&set, &o, &c, &e), TB_ERR_NOTFOUND);
	cr_expect(strstr(e.msg, "boards: sim, qemu-m4") || strstr(e.msg, "qemu-m4, sim"), "%s",
		  e.msg);
	tb_summary_set_free(&set);
	tb_store_close(st);
}

/* ------------------------------------------------------------ gate */

Test(gate, limits)
{
	struct tb_limit l;
	struct tb_error e = { 0 };

	cr_assert_eq(tb_limit_parse("5%", 0, &l, &e), 0);
	cr_expect_eq(l.kind, TB_LIMIT_RELATIVE);
	cr_expect_eq(l.value, 0.05);
	cr_assert_eq(tb_limit_parse("0", 1, &l, &e), 0);
	cr_expect_eq(l.value, 0);
	cr_assert_eq(tb_limit_parse("512B", 1, &l, &e), 0);
	cr_expect_eq(l.kind, TB_LIMIT_BYTES);
	cr_expect_eq(l.value, 512);
	cr_assert_eq(tb_limit_parse("4KiB", 1, &l, &e), 0);
	cr_expect_eq(l.value, 4096);
	cr_expect_eq(tb_limit_parse("512B", 0, &l, &e), TB_ERR_ARG, "no bytes for latency");
	cr_expect_eq(tb_limit_parse("5", 0, &l, &e), TB_ERR_ARG);
	cr_expect(strstr(e.msg, "ambiguous") != NULL, "%s", e.msg);
	cr_expect_eq(tb_limit_parse("-5%", 0, &l, &e), TB_ERR_ARG);
	cr_expect_eq(tb_limit_parse("five%", 0, &l, &e), TB_ERR_ARG);
	cr_expect_eq(tb_limit_parse("", 0, &l, &e), TB_ERR_ARG);
	cr_expect_eq(tb_limit_parse("5 %", 0, &l, &e), TB_ERR_ARG);
	cr_expect_eq(tb_limit_parse("2000%", 0, &l, &e), TB_ERR_ARG);
	cr_expect_eq(tb_limit_parse("1.5B", 1, &l, &e), TB_ERR_ARG);
}

static struct tb_gate *gate(struct tb_store *st, const char *base_tag, const char *cand_tag,
			    const char *lat, const char *ram, const char *energy,
			    struct tb_summary_set *b, struct tb_summary_set *c)
{
	struct tb_select bs = { 0 }, cs = { 0 };
	struct tb_gate_opts o = { 0 };
	struct tb_error e = { 0 };
	struct tb_gate *g = NULL;

	cr_assert_eq(tb_select_add_tag(&bs, base_tag, &e), 0);
	if (cand_tag)
		cr_assert_eq(tb_select_add_tag(&cs, cand_tag, &e), 0);
	load(st, &bs, b);
	load(st, &cs, c);
	if (lat)
		cr_assert_eq(tb_limit_parse(lat, 0, &o.limit[TB_GATE_LATENCY], &e), 0);
	if (ram)
		cr_assert_eq(tb_limit_parse(ram, 1, &o.limit[TB_GATE_RAM], &e), 0);
	if (energy)
		cr_assert_eq(tb_limit_parse(energy, 0, &o.limit[TB_GATE_ENERGY], &e), 0);
	cr_assert_eq(tb_gate_run(b, c, &o, &g, &e), 0, "%s", e.msg);
	return g;
}

static const struct tb_gate_case *find_case(const struct tb_gate *g, const char *board,
					    enum tb_gate_metric m)
{
	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->cases[i].board, board) && g->cases[i].metric == m)
			return &g->cases[i];
	cr_assert_fail("no case %s/%d", board, m);
	return NULL;
}

Test(gate, a_change_inside_the_noise_is_not_a_regression)
{
	struct tb_store *st = open_mem();
	struct tb_summary_set b = { 0 }, c = { 0 };
	/* Baseline median 10, max 10.4.  Candidate median 10.9: +9 % over the
	 * baseline median, but within max x 1.05 = 10.92 -> pass. */
	struct spec base = { "b1", "kws01", NULL, NULL, { 9.8, 10, 10.4, 0 }, 0, 0, 0, 0, 0, 0,
			     "role=base" };
	struct spec noisy = { "b1", "kws01", NULL, NULL, { 10.7, 10.9, 11.0, 0 }, 0, 0, 0, 0, 0,
			      0, "role=new" };
	/* Board b2: baseline max 10.4; candidate median 11.0 > 10.92 -> fail. */
	struct spec base2 = { "b2", "kws01", NULL, NULL, { 9.8, 10, 10.4, 0 }, 0, 0, 0, 0, 0, 0,
			      "role=base" };
	struct spec slow2 = { "b2", "kws01", NULL, NULL, { 10.95, 11.0, 11.2, 0 }, 0, 1001, 0, 0,
			      0, 0, "role=new" };
	const struct tb_gate_case *k;
	struct tb_gate *g;

	add(st, &base, 1);
	add(st, &base2, 2);
	add(st, &noisy, 3);
	add(st, &slow2, 4);
	g = gate(st, "role=base", "role=new", "5%", "0", NULL, &b, &c);
	cr_assert_eq(g->n, 4, "2 cells x latency, ram");
	k = find_case(g, "b1", TB_GATE_LATENCY);
	cr_expect_eq(k->verdict, TB_GATE_PASS, "%s", k->message);
	cr_expect_float_eq(k->bound, 10.92, 1e-9);
	k = find_case(g, "b2", TB_GATE_LATENCY);
	cr_expect_eq(k->verdict, TB_GATE_FAIL, "%s", k->message);
	cr_expect(strstr(k->message, "regression") != NULL, "%s", k->message);
	cr_expect(strstr(k->message, "baseline run 2 max 10.4 ms + 5%") != NULL, "%s", k->message);
	k = find_case(g, "b1", TB_GATE_RAM);
	cr_expect_eq(k->verdict, TB_GATE_PASS, "%s", k->message);
	k = find_case(g, "b2", TB_GATE_RAM);
	cr_expect_eq(k->verdict, TB_GATE_FAIL, "one byte of stack more, limit 0: %s", k->message);
	cr_expect_eq(g->n_fail, 2);
	tb_gate_free(g);
	tb_summary_set_free(&b);
	tb_summary_set_free(&c);
	tb_store_close(st);
}

Test(gate, one_trial_reading_more_stack_is_not_ram_growth)
{
	struct tb_store *st = open_mem();
	struct tb_summary_set b = { 0 }, c = { 0 };
	/* An interrupt landing on the painted stack in one trial: +16 B. */
	struct spec base = { "q", "kws01", NULL, NULL, { 1, 1, 1, 0 }, 0, 1296, 16000, 0, 0, 0,
			     "role=base" };
	struct spec blip = { "q", "kws01", NULL, NULL, { 1, 1, 1, 0 }, 0, 1296, 16000, 0, 0, 0,
			     "role=new", 2 };
	struct spec grown = { "r", "kws01", NULL, NULL, { 1, 1, 1, 0 }, 0, 1312, 16000, 0, 0, 0,
			      "role=new" };
	struct spec base_r = { "r", "kws01", NULL, NULL, { 1, 1, 1, 0 }, 0, 1296, 16000, 0, 0, 0,
			       "role=base", 1 };
	const struct tb_gate_case *k;
	struct tb_gate *g;

	add(st, &base, 1);
	add(st, &base_r, 2);
	add(st, &blip, 3);
	add(st, &grown, 4);
	g = gate(st, "role=base", "role=new", NULL, "0", NULL, &b, &c);
	k = find_case(g, "q", TB_GATE_RAM);
	cr_expect_eq(k->verdict, TB_GATE_PASS, "%s", k->message);
	k = find_case(g, "r", TB_GATE_RAM);
	cr_expect_eq(k->verdict, TB_GATE_PASS, "every trial at the baseline's largest: %s",
		     k->message);
	tb_gate_free(g);
	tb_summary_set_free(&b);
	tb_summary_set_free(&c);
	struct spec grown2 = { "q", "kws01", NULL, NULL, { 1, 1, 1, 0 }, 0, 1300, 16000, 0, 0,
			       0, "role=newer" };
	add(st, &grown2, 5);
	g = gate(st, "role=base", "role=newer", NULL, "0", NULL, &b, &c);
	k = find_case(g, "q", TB_GATE_RAM);
	cr_expect_eq(k->verdict, TB_GATE_FAIL, "every trial 4 B more: %s", k->message);
	tb_gate_free(g);
	tb_summary_set_free(&b);
	tb_summary_set_free(&c);
	tb_store_close(st);
}

Test(gate, failed_run_skips_and_junit)
{
	struct tb_store *st = open_mem();
	struct tb_summary_set b = { 0 }, c = { 0 };
	struct spec base = { "b1", "kws01", NULL, "measured:ppk2", { 10, 0 }, 1.0, 0, 0, 0, 0, 0,
			     "role=base" };
	struct spec base_q = { "q", "kws01", "qemu-icount-instructions", NULL, { 10, 0 }, 0, 0, 0,
			       0, 0, 0, "role=base" };
	struct spec failed = { "b1", "kws01", NULL, "measured:ppk2", { 10, 0 }, 1.0, 0, 0, 0, 0,
			       TB_RUN_FAILED, NULL };
	struct spec only_new = { "b3", "kws01", NULL, NULL, { 10, 0 } };
	struct spec q_other_timing = { "q", "kws01", "host-monotonic-clock", NULL, { 10, 0 } };
	const struct tb_gate_case *k;
	struct tb_gate *g;
	struct cmp_args dummy;
	const char *props[] = { "baseline", "tag role=base & <more>" };
	struct tb_error e = { 0 };
	FILE *f = tmpfile();
	char buf[8192];
	size_t n;

	(void)dummy;
	add(st, &base, 1);
	add(st, &base_q, 2);
	add(st, &failed, 3);
	add(st, &only_new, 4);
	add(st, &q_other_timing, 5);
	g = gate(st, "role=base", NULL, "5%", NULL, "5%", &b, &c);
	k = find_case(g, "b1", TB_GATE_LATENCY);
	cr_expect_eq(k->verdict, TB_GATE_FAIL);
	cr_expect(k->run_failed);
	cr_expect(strstr(k->message, "did not finish ok (failed: board stopped answering") != NULL,
		  "%s", k->message);
	k = find_case(g, "b3", TB_GATE_LATENCY);
	cr_expect_eq(k->verdict, TB_GATE_SKIP);
	cr_expect(strstr(k->message, "no baseline run") != NULL, "%s", k->message);
	k = find_case(g, "q", TB_GATE_LATENCY);
	cr_expect_eq(k->verdict, TB_GATE_SKIP);
	cr_expect(strstr(k->message, "timing methods differ") != NULL, "%s", k->message);
	k = find_case(g, "q", TB_GATE_ENERGY);
	cr_expect_eq(k->verdict, TB_GATE_SKIP);

	cr_assert_eq(tb_gate_write_junit(g, props, 1, f, &e), 0, "%s", e.msg);
	n = (size_t)ftell(f);
	rewind(f);
	cr_assert_lt(n, sizeof(buf));
	cr_assert_eq(fread(buf, 1, n, f), n);
	buf[n] = '\0';
	fclose(f);
	cr_expect_eq(count(buf, "<testcase "), (int)g->n);
	cr_expect_eq(count(buf, "<failure "), (int)g->n_fail);
	cr_expect_eq(count(buf, "<skipped "), (int)g->n_skip);
	cr_expect(strstr(buf, "value=\"tag role=base &amp; &lt;more&gt;\"") != NULL, "%s", buf);
	cr_expect(strstr(buf, "classname=\"tinybench.b1.kws01\" name=\"latency\"") != NULL);
	cr_expect(strstr(buf, "type=\"run-failed\"") != NULL);
	tb_gate_free(g);
	tb_summary_set_free(&b);
	tb_summary_set_free(&c);
	tb_store_close(st);
}

/* ------------------------------------------------------------ report */

struct rep_args {
	struct tb_store *st;
	struct tb_summary_set *set;
	struct tb_report_opts o;
};

static int do_report(void *arg, FILE *f, struct tb_error *e)
{
	struct rep_args *a = arg;

	return tb_report_html(a->st, a->set, &a->o, f, e);
}

Test(report, charts_and_escaping)
{
	struct tb_store *st = open_mem();
	struct tb_summary_set set = { 0 };
	struct spec a = { "sim<&>", "kws01", NULL, NULL, { 1, 2, 0 } };
	struct spec q = { "qemu-m4", "kws01", "qemu-icount-instructions", "emulated:ppk2",
			  { 8, 0 }, 1.0, 0, 0, 118000, 9400 };
	struct rep_args ra = { .st = st, .set = &set, .o = { .title = "T & \"q\"" } };
	struct tb_error e = { 0 };
	float mw[4] = { 1, 2, NAN, 3 };
	char *out;
	int64_t id;

	add(st, &a, 1714521600000);
	add(st, &a, 1714608000000);
	id = add(st, &q, 1714608000000);
	cr_assert_eq(tb_store_trace_add(st, id, 0, 1000, mw, 4, &e), 0, "%s", e.msg);
	load(st, NULL, &set);
	out = to_memory(do_report, &ra, NULL);
	cr_expect(strncmp(out, "<!DOCTYPE html>", 15) == 0);
	cr_expect(strstr(out, "<title>T &amp; &quot;q&quot;</title>") != NULL);
	cr_expect(strstr(out, "sim&lt;&amp;&gt;") != NULL, "board name escaped");
	cr_expect(strstr(out, "sim<&>") == NULL, "never raw");
	cr_expect_eq(count(out, "data-chart=\"latency\""), 1);
	cr_expect_eq(count(out, "data-chart=\"energy\""), 1);
	cr_expect_eq(count(out, "data-chart=\"memory\""), 1);
	cr_expect_eq(count(out, "data-chart=\"trend\""), 1, "sim has two runs");
	cr_expect_eq(count(out, "data-chart=\"trace\""), 1);
	cr_expect_eq(count(out, "<svg"), count(out, "</svg>"));
	cr_expect(strstr(out, "http://") == NULL || count(out, "http://") == count(out, "xmlns"),
		  "no external resource");
	cr_expect(strstr(out, "<script") == NULL);
	cr_expect(strstr(out, "Estimate:") != NULL);
	cr_expect(strstr(out, "Emulated energy:") != NULL);
	free(out);

	ra.o.trace_run = 1;
	cr_expect_eq(tb_report_html(st, &set, &ra.o, tmpfile(), &e), TB_ERR_NOTFOUND);
	cr_expect(strstr(e.msg, "no stored power trace") != NULL, "%s", e.msg);
	tb_summary_set_free(&set);
	tb_store_close(st);
}
