/*
 * cmd_report.c - `tinybench compare`, `tinybench report`, `tinybench
 * check` and `tinybench tag`: comparisons, the HTML report, the
 * regression gate and labelling stored runs (docs/REPORTS.md).
 */
#include "tb_cli.h"
#include "tb_cli_select.h"
#include "tb_compare.h"
#include "tb_gate.h"
#include "tb_report.h"
#include "tb_summary.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* All digits, commas and dashes: a run-id list. */
static int looks_like_runs(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && *s != ',' && *s != '-')
			return 0;
	return 1;
}

/* ------------------------------------------------------------ compare */

static void compare_usage(FILE *out)
{
	fprintf(out,
		"usage: tinybench compare [--baseline BOARD|run:ID] [--format text|csv|json]\n"
		"                         [-o FILE] [selection options]\n"
		"\n"
		"A board x workload matrix of the latest finished run of each pair:\n"
		"median latency per inference, median energy per inference, peak RAM\n"
		"(stack + arena, + static RAM where the firmware ELF gave it) and flash,\n"
		"each with its ratio to the baseline (1.25x = 25 %% more).  Latencies\n"
		"from instruction counting (QEMU) are marked as estimates (*) and\n"
		"energy from an emulated meter as emulated (^).\n"
		"\n"
		"  --baseline B           a board name (board:NAME) or a run (run:ID, or a\n"
		"                         bare number); default: no ratios\n"
		"  -f, --format FMT       text (default on a terminal), csv (default\n"
		"                         otherwise; one row per board x workload) or json\n"
		"  -o, --output FILE      write FILE instead of stdout\n"
		TB_CLI_SELECT_HELP
		"  -h, --help             this help\n"
		"\n"
		"Exit codes: 0 ok, 2 bad option, 3 no database / no finished run / unknown\n"
		"baseline, 4 I/O or database error.\n");
}

enum { OPT_BASELINE = 256, OPT_FORMAT, OPT_TITLE, OPT_TRACE, OPT_JUNIT,
       OPT_MAX_LAT, OPT_MAX_ENERGY, OPT_MAX_RAM, OPT_MAX_FLASH };

int tb_cmd_compare(int argc, char **argv)
{
	static const struct option opts[] = {
		TB_CLI_SELECT_OPTIONS,
		{ "baseline", required_argument, NULL, OPT_BASELINE },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct tb_summary_set set = { 0 }, base_set = { 0 };
	struct tb_compare_opts co = { 0 };
	struct tb_compare *cmp = NULL;
	struct tb_cli_sel s = { 0 };
	struct tb_error err = { 0 };
	struct tb_store *st = NULL;
	struct tb_cli_out out = { 0 };
	const char *format = NULL, *output = NULL, *baseline = NULL;
	long run_id = 0;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "b:w:f:o:h", opts, NULL)) != -1) {
		rc = tb_cli_select_opt("compare", c, optarg, &s);
		if (rc == 2)
			return 2;
		if (rc == 1)
			continue;
		switch (c) {
		case OPT_BASELINE: baseline = optarg; break;
		case 'f': format = optarg; break;
		case 'o': output = optarg; break;
		case 'h': compare_usage(stdout); return 0;
		default: return tb_cli_usage_error("compare", "bad option");
		}
	}
	if (optind < argc)
		return tb_cli_usage_error("compare", "unexpected argument '%s'", argv[optind]);
	if (format && strcmp(format, "text") && strcmp(format, "csv") && strcmp(format, "json"))
		return tb_cli_usage_error("compare", "--format '%s': expected text, csv or json",
					  format);
	if (baseline) {
		const char *v = baseline;

		if (!strncmp(v, "run:", 4) || (looks_like_runs(v) && isdigit((unsigned char)*v))) {
			if (!strncmp(v, "run:", 4))
				v += 4;
			if (tb_cli_parse_int(v, 1, __LONG_MAX__, &run_id) < 0)
				return tb_cli_usage_error("compare",
							  "--baseline '%s': expected a run id (run:12) or a board name",
							  baseline);
			co.base_kind = TB_COMPARE_BASE_RUN;
		} else {
			if (!strncmp(v, "board:", 6))
				v += 6;
			if (!*v)
				return tb_cli_usage_error("compare", "--baseline '%s': empty board name",
							  baseline);
			co.base_kind = TB_COMPARE_BASE_BOARD;
			co.base_board = v;
		}
	}
	if (!format)
		format = (!output || !strcmp(output, "-")) && isatty(STDOUT_FILENO) ?
			 "text" : "csv";

	rc = tb_cli_open_db(s.db, &st, &err);
	if (rc < 0)
		goto out;
	rc = tb_cli_require_runs(st, &err);
	if (rc < 0)
		goto out;
	if (co.base_kind == TB_COMPARE_BASE_RUN) {
		struct tb_select bs = { 0 };

		bs.n_ranges = 1;
		bs.ranges[0].lo = bs.ranges[0].hi = run_id;
		rc = tb_summary_load(st, &bs, &base_set, &err);
		if (rc < 0)
			goto out;
		if (!base_set.n) {
			rc = tb_error_set(&err, TB_ERR_NOTFOUND, "baseline run %ld not found", run_id);
			goto out;
		}
		co.base_run = &base_set.v[0];
	}
	rc = tb_summary_load(st, &s.sel, &set, &err);
	if (rc < 0)
		goto out;
	rc = tb_compare_build(&set, &co, &cmp, &err);
	if (rc < 0)
		goto out;
	rc = tb_cli_out_open(&out, output, &err);
	if (rc < 0)
		goto out;
	if (!strcmp(format, "text"))
		rc = tb_compare_write_text(cmp, out.f, &err);
	else if (!strcmp(format, "csv"))
		rc = tb_compare_write_csv(cmp, out.f, &err);
	else
		rc = tb_compare_write_json(cmp, out.f, &err);
	rc = tb_cli_out_close(&out, rc, &err);
out:
	tb_compare_free(cmp);
	tb_summary_set_free(&set);
	tb_summary_set_free(&base_set);
	tb_store_close(st);
	return rc < 0 ? tb_cli_fail(&err) : 0;
}

/* ------------------------------------------------------------ report */

static void report_usage(FILE *out)
{
	fprintf(out,
		"usage: tinybench report -o FILE [--title TEXT] [--trace RUN[:TRIAL]]\n"
		"                        [selection options]\n"
		"\n"
		"Write one self-contained HTML file (inline CSS and SVG, no network\n"
		"access) with charts of the selected runs: latency and energy per board\n"
		"(median with min-max), memory (stack, arena, static RAM, flash), the\n"
		"trend over time of each board x workload, a stored power trace, and\n"
		"tables of the latest results and the runs (docs/REPORTS.md).\n"
		"\n"
		"  -o, --output FILE      the HTML file ('-': stdout); required\n"
		"      --title TEXT       page title (default \"tinybench report\")\n"
		"      --trace RUN[:TRIAL]  the power trace to show (default: the newest\n"
		"                         stored trace among the runs)\n"
		TB_CLI_SELECT_HELP
		"  -h, --help             this help\n"
		"\n"
		"Exit codes: 0 ok, 2 bad option, 3 no database / no run selected / no\n"
		"such trace, 4 I/O or database error.\n");
}

int tb_cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		TB_CLI_SELECT_OPTIONS,
		{ "output", required_argument, NULL, 'o' },
		{ "title", required_argument, NULL, OPT_TITLE },
		{ "trace", required_argument, NULL, OPT_TRACE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct tb_report_opts ro = { .trace_idx = -1 };
	struct tb_summary_set set = { 0 };
	struct tb_cli_sel s = { 0 };
	struct tb_error err = { 0 };
	struct tb_store *st = NULL;
	struct tb_cli_out out = { 0 };
	const char *output = NULL;
	char *colon;
	long v;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "b:w:o:h", opts, NULL)) != -1) {
		rc = tb_cli_select_opt("report", c, optarg, &s);
		if (rc == 2)
			return 2;
		if (rc == 1)
			continue;
		switch (c) {
		case 'o': output = optarg; break;
		case OPT_TITLE: ro.title = optarg; break;
		case OPT_TRACE:
			colon = strchr(optarg, ':');
			if (colon) {
				*colon = '\0';
				if (tb_cli_parse_int(colon + 1, 0, __LONG_MAX__, &v) < 0)
					return tb_cli_usage_error("report",
								  "--trace: '%s' is not a trial index (0, 1, ...)",
								  colon + 1);
				ro.trace_idx = v;
			}
			if (tb_cli_parse_int(optarg, 1, __LONG_MAX__, &v) < 0)
				return tb_cli_usage_error("report",
							  "--trace '%s': expected RUN or RUN:TRIAL, e.g. 12 or 12:0",
							  optarg);
			ro.trace_run = v;
			break;
		case 'h': report_usage(stdout); return 0;
		default: return tb_cli_usage_error("report", "bad option");
		}
	}
	if (optind < argc)
		return tb_cli_usage_error("report", "unexpected argument '%s'", argv[optind]);
	if (!output)
		return tb_cli_usage_error("report", "-o FILE is required (e.g. -o report.html)");
	ro.selection = s.text;

	rc = tb_cli_open_db(s.db, &st, &err);
	if (rc < 0)
		goto out;
	rc = tb_cli_require_runs(st, &err);
	if (rc < 0)
		goto out;
	ro.db_path = tb_store_path(st);
	rc = tb_summary_load(st, &s.sel, &set, &err);
	if (rc < 0)
		goto out;
	if (!set.n) {
		rc = tb_error_set(&err, TB_ERR_NOTFOUND, "no run matches the selection (%s)",
				  s.text);
		goto out;
	}
	rc = tb_cli_out_open(&out, output, &err);
	if (rc < 0)
		goto out;
	rc = tb_report_html(st, &set, &ro, out.f, &err);
	rc = tb_cli_out_close(&out, rc, &err);
	if (rc == 0 && out.path)
		fprintf(stderr, "tinybench: report of %zu run%s written to %s\n", set.n,
			set.n == 1 ? "" : "s", out.path);
out:
	tb_summary_set_free(&set);
	tb_store_close(st);
	return rc < 0 ? tb_cli_fail(&err) : 0;
}

/* ------------------------------------------------------------ check */

static void check_usage(FILE *out)
{
	fprintf(out,
		"usage: tinybench check --baseline TAG|RUNS [--max-latency-regression P]\n"
		"                       [--max-energy-regression P] [--max-ram-growth L]\n"
		"                       [--max-flash-growth L] [--junit FILE]\n"
		"                       [selection options]\n"
		"\n"
		"The regression gate.  For each board x workload, the latest finished\n"
		"selected run (not itself a baseline run) is compared with the latest ok\n"
		"baseline run.  A change inside the trials' spread is not a regression:\n"
		"  latency/energy  fails when the new median > baseline max x (1 + P)\n"
		"  ram/flash       fails when new bytes > baseline bytes x (1 + P), or\n"
		"                  > baseline + N bytes with a byte limit\n"
		"A selected run that did not finish ok fails its checks.  Each verdict is\n"
		"printed with its figures (docs/REPORTS.md, \"Regression gate\").  The\n"
		"selection options choose the runs to check (e.g. --tag nightly=...);\n"
		"--board and --workload narrow the baseline too.\n"
		"\n"
		"  --baseline TAG|RUNS    runs tagged KEY=VALUE (or carrying KEY), or run\n"
		"                         ids (12, 3,5,9, run:12); required\n"
		"  --max-latency-regression P  default 5%%; 'off' not to check\n"
		"  --max-energy-regression P   default 5%%; 'off' not to check\n"
		"  --max-ram-growth L          default 0 (any growth fails): 0, 2%%, 512B\n"
		"  --max-flash-growth L        default off: 0, 1%%, 4KiB\n"
		"  --junit FILE           JUnit XML, one test case per board x workload x\n"
		"                         metric\n"
		TB_CLI_SELECT_HELP
		"  -h, --help             this help\n"
		"\n"
		"Exit codes: 0 no regression, 1 regression or failed run, 2 bad option\n"
		"or limit, 3 no database / empty database / unknown baseline / nothing\n"
		"to compare, 4 I/O or database error.\n");
}

static int parse_limit(const char *opt, const char *arg, int bytes, struct tb_limit *l)
{
	struct tb_error err = { 0 };

	if (!strcmp(arg, "off")) {
		memset(l, 0, sizeof(*l));
		return 0;
	}
	if (tb_limit_parse(arg, bytes, l, &err) < 0) {
		tb_cli_usage_error("check", "%s: %s", opt, err.msg);
		return -1;
	}
	return 0;
}

static void print_case(const struct tb_gate_case *k)
{
	printf("%s  %s/%s %s: %s\n", tb_gate_verdict_name(k->verdict), k->board,
	       k->workload, tb_gate_metric_name(k->metric), k->message);
}

/* Load the baseline runs (ids must exist; a tag must match a run). */
static int load_baseline(struct tb_store *st, const char *text,
			 const struct tb_cli_sel *s, struct tb_summary_set *set,
			 char *desc, size_t desc_len, struct tb_error *err)
{
	struct tb_select bs = { 0 };
	const char *v = text;
	size_t i;
	int rc;

	bs.board = s->sel.board;
	bs.workload = s->sel.workload;
	if (!strncmp(v, "run:", 4) || looks_like_runs(v)) {
		if (!strncmp(v, "run:", 4))
			v += 4;
		rc = tb_select_add_runs(&bs, v, err);
		if (rc < 0)
			return tb_error_prefix(err, "--baseline: ");
		/* Single ids must exist (ranges may have gaps). */
		for (i = 0; i < bs.n_ranges; i++) {
			struct tb_run *run = NULL;

			if (bs.ranges[i].lo != bs.ranges[i].hi)
				continue;
			rc = tb_store_run_get(st, bs.ranges[i].lo, &run, err);
			tb_store_run_free(run);
			if (rc == TB_ERR_NOTFOUND)
				return tb_error_set(err, TB_ERR_NOTFOUND,
						    "baseline run %lld not found in %s",
						    (long long)bs.ranges[i].lo, tb_store_path(st));
			if (rc < 0)
				return rc;
		}
		snprintf(desc, desc_len, "run%s %s", strpbrk(v, ",-") ? "s" : "", v);
	} else {
		if (!strncmp(v, "tag:", 4))
			v += 4;
		rc = tb_select_add_tag(&bs, v, err);
		if (rc < 0)
			return tb_error_prefix(err, "--baseline: ");
		snprintf(desc, desc_len, "tag %s", v);
	}
	rc = tb_summary_load(st, &bs, set, err);
	if (rc < 0)
		return rc;
	if (!set->n)
		return tb_error_set(err, TB_ERR_NOTFOUND,
				    "unknown baseline '%s': no stored run %s%s%s%s%s",
				    text, looks_like_runs(v) ? "has those ids" : "carries that tag",
				    s->sel.board ? " on board " : "", s->sel.board ? s->sel.board : "",
				    s->sel.workload ? " for workload " : "",
				    s->sel.workload ? s->sel.workload : "");
	return 0;
}

int tb_cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		TB_CLI_SELECT_OPTIONS,
		{ "baseline", required_argument, NULL, OPT_BASELINE },
		{ "max-latency-regression", required_argument, NULL, OPT_MAX_LAT },
		{ "max-energy-regression", required_argument, NULL, OPT_MAX_ENERGY },
		{ "max-ram-growth", required_argument, NULL, OPT_MAX_RAM },
		{ "max-flash-growth", required_argument, NULL, OPT_MAX_FLASH },
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct tb_gate_opts go = { 0 };
	struct tb_summary_set base = { 0 }, cand = { 0 };
	struct tb_cli_sel s = { 0 };
	struct tb_error err = { 0 };
	struct tb_store *st = NULL;
	struct tb_gate *g = NULL;
	struct tb_cli_out out = { 0 };
	const char *baseline = NULL, *junit = NULL;
	const char *props[2 * 8];
	char desc[256] = "";
	size_t i, np = 0;
	int c, rc;

	tb_limit_parse("5%", 0, &go.limit[TB_GATE_LATENCY], NULL);
	tb_limit_parse("5%", 0, &go.limit[TB_GATE_ENERGY], NULL);
	tb_limit_parse("0", 1, &go.limit[TB_GATE_RAM], NULL);
	optind = 1;
	while ((c = getopt_long(argc, argv, "b:w:h", opts, NULL)) != -1) {
		rc = tb_cli_select_opt("check", c, optarg, &s);
		if (rc == 2)
			return 2;
		if (rc == 1)
			continue;
		switch (c) {
		case OPT_BASELINE: baseline = optarg; break;
		case OPT_JUNIT: junit = optarg; break;
		case OPT_MAX_LAT:
			if (parse_limit("--max-latency-regression", optarg, 0,
					&go.limit[TB_GATE_LATENCY]) < 0)
				return 2;
			break;
		case OPT_MAX_ENERGY:
			if (parse_limit("--max-energy-regression", optarg, 0,
					&go.limit[TB_GATE_ENERGY]) < 0)
				return 2;
			break;
		case OPT_MAX_RAM:
			if (parse_limit("--max-ram-growth", optarg, 1, &go.limit[TB_GATE_RAM]) < 0)
				return 2;
			break;
		case OPT_MAX_FLASH:
			if (parse_limit("--max-flash-growth", optarg, 1,
					&go.limit[TB_GATE_FLASH]) < 0)
				return 2;
			break;
		case 'h': check_usage(stdout); return 0;
		default: return tb_cli_usage_error("check", "bad option");
		}
	}
	if (optind < argc)
		return tb_cli_usage_error("check", "unexpected argument '%s'", argv[optind]);
	if (!baseline)
		return tb_cli_usage_error("check", "--baseline TAG|RUNS is required");
	if (!*baseline)
		return tb_cli_usage_error("check", "--baseline: empty");
	for (i = 0; i < TB_GATE_N_METRICS; i++)
		if (go.limit[i].kind != TB_LIMIT_OFF)
			break;
	if (i == TB_GATE_N_METRICS)
		return tb_cli_usage_error("check", "every limit is off: nothing to check");

	rc = tb_cli_open_db(s.db, &st, &err);
	if (rc < 0)
		goto out;
	rc = tb_cli_require_runs(st, &err);
	if (rc < 0)
		goto out;
	rc = load_baseline(st, baseline, &s, &base, desc, sizeof(desc), &err);
	if (rc < 0)
		goto out;
	rc = tb_summary_load(st, &s.sel, &cand, &err);
	if (rc < 0)
		goto out;
	rc = tb_gate_run(&base, &cand, &go, &g, &err);
	if (rc < 0)
		goto out;

	printf("tinybench check: baseline %s (%zu run%s)", desc, base.n, base.n == 1 ? "" : "s");
	if (s.text[0])
		printf("; checking %s", s.text);
	printf("\nlimits:");
	for (i = 0; i < TB_GATE_N_METRICS; i++)
		printf(" %s %s", tb_gate_metric_name((enum tb_gate_metric)i),
		       go.limit[i].kind == TB_LIMIT_OFF ? "off" : go.limit[i].text);
	printf("; rule: latency/energy fail when the new median > baseline max x (1 + limit)\n");
	for (i = 0; i < g->n; i++)
		print_case(&g->cases[i]);

	if (junit) {
		props[np++] = "baseline";
		props[np++] = desc;
		props[np++] = "selection";
		props[np++] = s.text;
		for (i = 0; i < TB_GATE_N_METRICS && np + 2 <= sizeof(props) / sizeof(props[0]); i++) {
			props[np++] = tb_gate_metric_name((enum tb_gate_metric)i);
			props[np++] = go.limit[i].kind == TB_LIMIT_OFF ? "off" : go.limit[i].text;
		}
		rc = tb_cli_out_open(&out, junit, &err);
		if (rc == 0)
			rc = tb_gate_write_junit(g, props, np / 2, out.f, &err);
		rc = tb_cli_out_close(&out, rc, &err);
		if (rc < 0)
			goto out;
	}
	if (g->n_pass + g->n_fail == 0) {
		printf("gate: nothing compared (%zu skipped)\n", g->n_skip);
		rc = tb_error_set(&err, TB_ERR_NOTFOUND,
				  "nothing to compare: no board x workload has both a baseline run and a newer run%s",
				  junit ? " (JUnit written)" : "");
		goto out;
	}
	printf("gate: %zu passed, %zu failed, %zu skipped: %s\n", g->n_pass, g->n_fail,
	       g->n_skip, g->n_fail ? "REGRESSION" : "ok");
	rc = g->n_fail ? 1 : 0;
out:
	tb_gate_free(g);
	tb_summary_set_free(&base);
	tb_summary_set_free(&cand);
	tb_store_close(st);
	if (rc < 0)
		return tb_cli_fail(&err);
	return rc;
}

/* ------------------------------------------------------------ tag */

static void tag_usage(FILE *out)
{
	fprintf(out,
		"usage: tinybench tag --run IDS KEY=VALUE... [--db FILE]\n"
		"\n"
		"Set tags on stored runs (replacing the value of a key a run already\n"
		"has), e.g. to mark tonight's runs as the new baseline of the gate:\n"
		"  tinybench tag --run 41-48 gate.baseline=2024-05-01\n"
		"Keys are 1..64 characters of [A-Za-z0-9_.-]; values up to 1024 bytes.\n"
		"\n"
		"Exit codes: 0 ok, 2 bad option or tag, 3 no database or unknown run,\n"
		"4 database error.\n");
}

struct tag_job {
	struct tb_store *st;
	char **tags;
	int n_tags;
	int64_t n_runs;
	struct tb_error *err;
};

static int tag_run(const struct tb_run *run, void *user)
{
	struct tag_job *j = user;
	char key[TB_STORE_TAG_KEY_MAX + 1];
	int i, rc;

	for (i = 0; i < j->n_tags; i++) {
		const char *eq = strchr(j->tags[i], '=');

		snprintf(key, sizeof(key), "%.*s", (int)(eq - j->tags[i]), j->tags[i]);
		rc = tb_store_tag_set(j->st, run->id, key, eq + 1, j->err);
		if (rc < 0)
			return rc;
	}
	j->n_runs++;
	return 0;
}

int tb_cmd_tag(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, TB_SEL_OPT_DB },
		{ "run", required_argument, NULL, TB_SEL_OPT_RUN },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct tb_cli_sel s = { 0 };
	struct tb_error err = { 0 };
	struct tag_job j = { 0 };
	size_t i;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		rc = tb_cli_select_opt("tag", c, optarg, &s);
		if (rc == 2)
			return 2;
		if (rc == 1)
			continue;
		if (c == 'h') {
			tag_usage(stdout);
			return 0;
		}
		return tb_cli_usage_error("tag", "bad option");
	}
	if (!s.sel.n_ranges)
		return tb_cli_usage_error("tag", "--run IDS is required");
	if (optind >= argc)
		return tb_cli_usage_error("tag", "no KEY=VALUE given");
	for (c = optind; c < argc; c++)
		if (tb_tag_check_assignment(argv[c], &err) < 0)
			return tb_cli_usage_error("tag", "%s", err.msg);
	j.tags = argv + optind;
	j.n_tags = argc - optind;
	j.err = &err;

	rc = tb_cli_open_db(s.db, &j.st, &err);
	if (rc < 0)
		goto out;
	for (i = 0; i < s.sel.n_ranges; i++) {
		struct tb_run *run = NULL;

		if (s.sel.ranges[i].lo != s.sel.ranges[i].hi)
			continue;
		rc = tb_store_run_get(j.st, s.sel.ranges[i].lo, &run, &err);
		tb_store_run_free(run);
		if (rc < 0)
			goto out;
	}
	/* Collect first, then write: the store is not modified during a walk. */
	{
		struct tb_summary_set set = { 0 };

		rc = tb_summary_load(j.st, &s.sel, &set, &err);
		for (i = 0; rc == 0 && i < set.n; i++)
			rc = tag_run(set.v[i].run, &j);
		tb_summary_set_free(&set);
		if (rc < 0)
			goto out;
	}
	if (!j.n_runs)
		rc = tb_error_set(&err, TB_ERR_NOTFOUND, "no run matches --run %s", s.text + 6);
	else
		printf("tagged %lld run%s\n", (long long)j.n_runs, j.n_runs == 1 ? "" : "s");
out:
	tb_store_close(j.st);
	return rc < 0 ? tb_cli_fail(&err) : 0;
}
