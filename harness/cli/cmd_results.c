/*
 * cmd_results.c - `tinybench results` (`export` is in cmd_export.c).
 */
#include "tb_accuracy.h"
#include "tb_cli.h"
#include "tb_cli_select.h"
#include "tb_json.h"
#include "tb_stats.h"
#include "tb_store.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct sel {
	const char *db;
	struct tb_cli_sel cs;		/* --board, --workload, --run, --tag, ... */
	int json;
	const char *format;
	const char *output;
};

enum { OPT_DB = 256, OPT_JSON, OPT_RUN, OPT_FORMAT };

static int parse_sel(const char *cmd, int argc, char **argv, struct sel *s,
		     void (*usage)(FILE *))
{
	static const struct option opts[] = {
		TB_CLI_SELECT_OPTIONS,
		{ "json", no_argument, NULL, OPT_JSON },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "b:w:o:h", opts, NULL)) != -1) {
		rc = tb_cli_select_opt(cmd, c, optarg, &s->cs);
		if (rc == 2)
			return 2;
		if (rc == 1) {
			s->db = s->cs.db;
			continue;
		}
		switch (c) {
		case OPT_JSON: s->json = 1; break;
		case OPT_FORMAT: s->format = optarg; break;
		case 'o': s->output = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return tb_cli_usage_error(cmd, "bad option");
		}
	}
	if (optind < argc)
		return tb_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	return -1;
}

/* ---------------------------------------------------------------------- */

static void results_usage(FILE *out)
{
	fprintf(out,
		"usage: tinybench results [--db FILE] [--board B] [--workload W]\n"
		"                         [--run IDS] [--tag KEY[=VALUE]] [--since TIME]\n"
		"                         [--until TIME] [--json]\n"
		"\n"
		"One line per stored run: median/min/max/p90 of the trials' mean latency,\n"
		"throughput, the peak stack and arena of the run, instructions per\n"
		"inference (boards whose timer counts emulated instructions: QEMU), the\n"
		"firmware's flash and static RAM, and how the latency was obtained:\n"
		"\"measured\", or \"est@<MHz>\" for an estimate from the instruction count\n"
		"at the board's nominal clock (1 instruction per cycle).\n");
}

/* Runs are listed from the trials (which carry the figures). */
struct run_acc {
	int64_t id;
	char started[32];
	char board[64];
	char workload[32];
	char status[16];
	char timing[48];
	char reason[160];
	double lat[1024];
	size_t n;
	int64_t stack;
	int64_t arena;
	int insns;             /* ticks are emulated instructions */
	double ipi[1024];      /* instructions per inference, per trial */
	size_t n_ipi;
	int64_t flash;         /* firmware footprint, or TB_STORE_UNKNOWN */
	int64_t ram;
	double clock_mhz;      /* for the estimate, 0 if unknown */
};

/* "measured", or "est@25MHz" when the latency is an estimate from an
 * instruction count at the board's nominal clock (never a measurement). */
static void timing_label(const struct run_acc *a, char *buf, size_t len)
{
	if (!a->insns)
		snprintf(buf, len, "measured");
	else if (a->clock_mhz > 0)
		snprintf(buf, len, "est@%gMHz", a->clock_mhz);
	else
		snprintf(buf, len, "estimate");
}

static void fmt_bytes(int64_t v, char *buf, size_t len)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%lld", (long long)v);
}

struct results_ctx {
	struct tb_store *st;
	struct tb_json *j;
	struct run_acc acc;
	int rows;
};

static void flush_run(struct results_ctx *c)
{
	struct run_acc *a = &c->acc;
	struct tb_stats s = { 0 }, si = { 0 };
	double scratch[1024];
	char timing[32], ipi[24], flash[24], ram[24];

	if (!a->id)
		return;
	if (a->n)
		tb_stats_summary(a->lat, a->n, scratch, &s, NULL);
	if (a->n_ipi)
		tb_stats_summary(a->ipi, a->n_ipi, scratch, &si, NULL);
	timing_label(a, timing, sizeof(timing));
	if (a->n_ipi)
		snprintf(ipi, sizeof(ipi), "%.0f", si.median);
	else
		snprintf(ipi, sizeof(ipi), "-");
	fmt_bytes(a->flash, flash, sizeof(flash));
	fmt_bytes(a->ram, ram, sizeof(ram));
	c->rows++;
	if (c->j) {
		tb_json_begin_object(c->j);
		tb_json_key_int(c->j, "run_id", a->id);
		tb_json_key_string(c->j, "started", a->started);
		tb_json_key_string(c->j, "board", a->board);
		tb_json_key_string(c->j, "workload", a->workload);
		tb_json_key_string(c->j, "status", a->status);
		tb_json_key_string(c->j, "reason", a->reason[0] ? a->reason : NULL);
		tb_json_key_int(c->j, "trials", (int64_t)a->n);
		tb_json_key_double(c->j, "latency_median_ms", a->n ? s.median : NAN);
		tb_json_key_double(c->j, "latency_min_ms", a->n ? s.min : NAN);
		tb_json_key_double(c->j, "latency_max_ms", a->n ? s.max : NAN);
		tb_json_key_double(c->j, "latency_p90_ms", a->n ? s.p90 : NAN);
		tb_json_key_int(c->j, "stack_peak_bytes", a->stack);
		tb_json_key_int(c->j, "arena_peak_bytes", a->arena);
		tb_json_key_string(c->j, "timing_method", a->timing);
		tb_json_key_string(c->j, "latency_kind", a->insns ?
				   "estimate-at-nominal-clock" : "measured");
		if (a->n_ipi)
			tb_json_key_double(c->j, "instructions_per_inference_median", si.median);
		if (a->flash >= 0) {
			tb_json_key_int(c->j, "flash_bytes", a->flash);
			tb_json_key_int(c->j, "static_ram_bytes", a->ram);
		}
		tb_json_end_object(c->j);
	} else if (a->n) {
		printf("%5lld  %-19s %-12s %-8s %-11s %6zu %10.4f %10.4f %10.4f %10.4f %9.1f %8lld %8lld %12s %8s %8s  %s\n",
		       (long long)a->id, a->started, a->board, a->workload, a->status, a->n,
		       s.median, s.min, s.max, s.p90, 1000.0 / s.median,
		       (long long)a->stack, (long long)a->arena, ipi, flash, ram, timing);
	} else {
		printf("%5lld  %-19s %-12s %-8s %-11s %6d %10s %10s %10s %10s %9s %8s %8s %12s %8s %8s  %s %s\n",
		       (long long)a->id, a->started, a->board, a->workload, a->status, 0,
		       "-", "-", "-", "-", "-", "-", "-", "-", flash, ram, timing, a->reason);
	}
	memset(a, 0, sizeof(*a));
}

static void fmt_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static int on_run(const struct tb_run *run, void *user)
{
	struct results_ctx *c = user;
	struct run_acc *a = &c->acc;

	flush_run(c);
	a->id = run->id;
	fmt_time(run->info.started_at, a->started, sizeof(a->started));
	snprintf(a->board, sizeof(a->board), "%s", run->info.board);
	snprintf(a->workload, sizeof(a->workload), "%s", run->info.workload);
	snprintf(a->status, sizeof(a->status), "%s", tb_store_run_status_name(run->status));
	snprintf(a->timing, sizeof(a->timing), "%s",
		 run->info.timing_method ? run->info.timing_method : "");
	snprintf(a->reason, sizeof(a->reason), "%s", run->reason ? run->reason : "");
	a->insns = run->info.timing_method &&
		   strstr(run->info.timing_method, "instructions") != NULL;
	a->clock_mhz = run->info.timer_hz > 0 ? run->info.timer_hz / 1e6 : 0;
	a->flash = run->info.flash_bytes;
	a->ram = run->info.static_ram_bytes;
	return 0;
}

static int on_trial(const struct tb_run *run, const struct tb_trial *t, void *user)
{
	struct results_ctx *c = user;
	struct run_acc *a = &c->acc;

	(void)run;
	if (t->status != TB_TRIAL_OK || isnan(t->latency_ms))
		return 0;
	if (a->n < sizeof(a->lat) / sizeof(a->lat[0]))
		a->lat[a->n++] = t->latency_ms;
	if (t->stack_peak > a->stack)
		a->stack = t->stack_peak;
	if (t->arena_peak > a->arena)
		a->arena = t->arena_peak;
	if (a->insns && t->inferences > 0 && a->n_ipi < sizeof(a->ipi) / sizeof(a->ipi[0]))
		a->ipi[a->n_ipi++] = (double)t->ticks / (double)t->inferences;
	return 0;
}

/* Per run: its trials, then the line.  Two walks keep the store API
 * simple; result sets are small. */
static int list_run(const struct tb_run *run, void *user)
{
	struct results_ctx *c = user;
	struct tb_store_filter f = { .run_id = run->id };
	struct tb_error err;

	on_run(run, c);
	/* An accuracy run has no trials: its metric, recomputed, instead. */
	{
		struct tb_acc_summary s;

		if (!c->j && tb_accuracy_summary(c->st, run->id, &s, NULL) == 0) {
			if (s.info.metric == TB_ACC_AUC)
				snprintf(c->acc.reason, sizeof(c->acc.reason),
					 "accuracy: ROC AUC %.4f, %zu/%lld inputs%s%s", s.auc,
					 s.n_stored, (long long)s.info.n_inputs,
					 run->reason ? "; " : "", run->reason ? run->reason : "");
			else
				snprintf(c->acc.reason, sizeof(c->acc.reason),
					 "accuracy: top-1 %.2f %%, %zu/%lld inputs%s%s",
					 100 * s.top1, s.n_stored, (long long)s.info.n_inputs,
					 run->reason ? "; " : "", run->reason ? run->reason : "");
		}
	}
	return tb_store_trials_foreach(c->st, &f, on_trial, c, &err) < 0 ? -1 : 0;
}

int tb_cmd_results(int argc, char **argv)
{
	struct results_ctx *c;
	struct tb_error err = { 0 };
	struct sel s = { 0 };
	int rc;

	rc = parse_sel("results", argc, argv, &s, results_usage);
	if (rc >= 0)
		return rc;
	if (s.format || s.output)
		return tb_cli_usage_error("results", "--format/-o belong to `tinybench export`");
	c = calloc(1, sizeof(*c));
	if (!c)
		return 4;
	rc = tb_cli_open_db(s.db, &c->st, &err);
	if (rc < 0)
		goto out;
	if (s.json) {
		c->j = tb_json_new(stdout, 1);
		tb_json_begin_array(c->j);
	} else {
		printf("%5s  %-19s %-12s %-8s %-11s %6s %10s %10s %10s %10s %9s %8s %8s %12s %8s %8s  %s\n",
		       "run", "started", "board", "workload", "status", "trials",
		       "median ms", "min ms", "max ms", "p90 ms", "inf/s",
		       "stack B", "arena B", "instr/inf", "flash B", "RAM B", "timing");
	}
	rc = tb_select_runs_foreach(c->st, &s.cs.sel, list_run, c, &err);
	if (rc > 0 || rc == -1)
		rc = tb_error_set(&err, TB_ERR_DB, "reading trials failed");
	flush_run(c);
	if (c->j) {
		tb_json_end_array(c->j);
		tb_json_free(c->j);
	} else if (rc == 0 && c->rows == 0) {
		printf("(no runs match)\n");
	}
out:
	if (rc < 0)
		rc = tb_cli_fail(&err);
	tb_store_close(c->st);
	free(c);
	return rc;
}
