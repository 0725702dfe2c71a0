/*
 * export_json.c - runs (and their trials) as one JSON document
 * (docs/EXPORT.md, "JSON").
 *
 * The run summaries are loaded first (small: one per run); trials are then
 * streamed from the store in run order and written inside their run's
 * object, so memory stays bounded by the number of runs.
 */
#include "export_priv.h"
#include "tb_export.h"
#include "tb_summary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int tb_export_json_impl(struct tb_store *store, const struct tb_select *sel,
			int per_run, struct tb_writer *w, struct tb_error *err);

struct json_job {
	struct tb_jw j;
	struct tb_summary_set set;
	size_t next;		/* next run of the set to write */
	int per_run;
	int open;		/* a run object with its trials array is open */
	char *hex;
	size_t hex_cap;
	struct tb_error *err;
};

static void stats_obj(struct tb_jw *j, const char *key, const struct tb_stats *s)
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
	tb_jw_key(j, "p90"); tb_jw_real(j, s->p90);
	tb_jw_key(j, "mean"); tb_jw_real(j, s->mean);
	tb_jw_key(j, "stddev"); tb_jw_real(j, s->stddev);
	tb_jw_key(j, "n"); tb_jw_int(j, (int64_t)s->n);
	tb_jw_end_object(j);
}

#define KS(k, v) do { tb_jw_key(j, k); tb_jw_str(j, v); } while (0)
#define KI(k, v) do { tb_jw_key(j, k); tb_jw_int(j, v); } while (0)
#define KO(k, v) do { tb_jw_key(j, k); tb_jw_opt_int(j, v); } while (0)
#define KR(k, v) do { tb_jw_key(j, k); tb_jw_real(j, v); } while (0)

/* Open a run's object and write everything but its trials. */
static void run_head(struct tb_jw *j, const struct tb_run_summary *s)
{
	const struct tb_run *r = s->run;
	const struct tb_run_info *in = &r->info;
	size_t i;

	tb_jw_begin_object(j);
	KI("run_id", r->id);
	KS("status", tb_store_run_status_name(r->status));
	KS("reason", r->reason);
	KS("board", in->board);
	KS("board_cpu", in->board_cpu);
	KO("board_clock_hz", in->board_clock_hz);
	KO("timer_hz", in->timer_hz);
	KS("timing_method", in->timing_method);
	KS("latency_basis", !in->timing_method ? NULL :
	   tb_timing_is_estimate(in->timing_method) ? "estimate" : "measured");
	KS("workload", in->workload);
	KS("model_hash", in->model_hash);
	KS("runner_version", in->runner_version);
	KS("runner_build_id", in->runner_build_id);
	KO("protocol_version", in->protocol_version);
	KS("harness_version", in->harness_version);
	KS("harness_build_id", in->harness_build_id);
	KS("host", in->host);
	KS("port", in->port);
	KS("input_source", in->input_source);
	KS("params_json", in->params_json);
	KI("started_at_ms", in->started_at);
	KO("ended_at_ms", r->ended_at);
	KS("firmware_sha256", in->firmware_sha256);
	KO("flash_bytes", in->flash_bytes);
	KO("static_ram_bytes", in->static_ram_bytes);
	KS("energy_method", in->energy_method);
	KS("energy_basis", !in->energy_method ? NULL :
	   tb_energy_is_emulated(in->energy_method) ? "emulated" : "measured");
	tb_jw_key(j, "tags");
	tb_jw_begin_object(j);
	for (i = 0; i < s->n_tags; i++)
		KS(s->tags[i].key, s->tags[i].value);
	tb_jw_end_object(j);

	tb_jw_key(j, "summary");
	tb_jw_begin_object(j);
	KI("trials", s->n_trials);
	KI("trials_ok", s->n_ok);
	KI("inferences", s->inferences);
	stats_obj(j, "latency_ms", &s->latency_ms);
	KR("inf_min_ms", s->inf_min_ms);
	KR("inf_max_ms", s->inf_max_ms);
	KO("stack_peak", s->stack_peak);
	KO("stack_size", s->stack_size);
	KO("arena_peak", s->arena_peak);
	KO("arena_size", s->arena_size);
	KO("ram_peak_bytes", tb_summary_ram(s, NULL));
	stats_obj(j, "energy_uj", &s->energy_uj);
	stats_obj(j, "power_mw", &s->power_mw);
	KO("link_retries", s->link_retries);
	KO("frames_dropped", s->frames_dropped);
	KI("output_mismatches", s->mismatches);
	tb_jw_end_object(j);
}

static void hex_str(struct json_job *jj, const unsigned char *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *grown;
	size_t i;

	if (2 * len + 1 > jj->hex_cap) {
		grown = realloc(jj->hex, 2 * len + 1);
		if (!grown) {
			tb_jw_null(&jj->j);
			return;
		}
		jj->hex = grown;
		jj->hex_cap = 2 * len + 1;
	}
	for (i = 0; i < len; i++) {
		jj->hex[2 * i] = digits[p[i] >> 4];
		jj->hex[2 * i + 1] = digits[p[i] & 0xf];
	}
	jj->hex[2 * len] = '\0';
	tb_jw_str(&jj->j, jj->hex);
}

/* The trial as an object with the per-trial CSV column names. */
static void trial_obj(struct json_job *jj, const struct tb_run *run,
		      const struct tb_trial *t)
{
	struct tb_jw *j = &jj->j;
	size_t i;

	tb_jw_begin_object(j);
	for (i = 0; i < tb_export_n_trial_columns; i++) {
		const struct tb_export_column *c = &tb_export_trial_columns[i];
		const void *p;

		if (c->src != TB_SRC_TRIAL)
			continue;
		p = tb_export_cell(c, run, t);
		tb_jw_key(j, c->name);
		switch (c->kind) {
		case TB_COL_TEXT: tb_jw_str(j, *(const char *const *)p); break;
		case TB_COL_INT: tb_jw_int(j, *(const int64_t *)p); break;
		case TB_COL_OPT_INT: tb_jw_opt_int(j, *(const int64_t *)p); break;
		case TB_COL_U64: tb_jw_int(j, (int64_t)*(const uint64_t *)p); break;
		case TB_COL_REAL: tb_jw_real(j, *(const double *)p); break;
		case TB_COL_TRIAL_STATUS:
			tb_jw_str(j, tb_store_trial_status_name(t->status));
			break;
		case TB_COL_OUTPUT_CHECK:
			tb_jw_str(j, tb_store_output_check_name(t->output_check));
			break;
		case TB_COL_OUTPUT_HEX:
			if (t->output)
				hex_str(jj, t->output, t->output_len);
			else
				tb_jw_null(j);
			break;
		default:
			tb_jw_null(j);
		}
	}
	tb_jw_end_object(j);
}

static void close_open_run(struct json_job *jj)
{
	if (!jj->open)
		return;
	tb_jw_end_array(&jj->j);
	tb_jw_end_object(&jj->j);
	jj->open = 0;
}

/* Write whole runs of the set up to (not including) run id `upto`. */
static void runs_before(struct json_job *jj, int64_t upto)
{
	while (jj->next < jj->set.n && jj->set.v[jj->next].run->id < upto) {
		run_head(&jj->j, &jj->set.v[jj->next]);
		if (!jj->per_run) {
			tb_jw_key(&jj->j, "trials");
			tb_jw_begin_array(&jj->j);
			tb_jw_end_array(&jj->j);
		}
		tb_jw_end_object(&jj->j);
		jj->next++;
	}
}

static int on_trial(const struct tb_run *run, const struct tb_trial *t, void *user)
{
	struct json_job *jj = user;

	if (!jj->open || jj->set.v[jj->next - 1].run->id != run->id) {
		close_open_run(jj);
		runs_before(jj, run->id);
		if (jj->next >= jj->set.n || jj->set.v[jj->next].run->id != run->id)
			return 0;	/* a run that appeared since the summary */
		run_head(&jj->j, &jj->set.v[jj->next]);
		jj->next++;
		tb_jw_key(&jj->j, "trials");
		tb_jw_begin_array(&jj->j);
		jj->open = 1;
	}
	trial_obj(jj, run, t);
	return jj->j.w->failed ? TB_ERR_IO : 0;
}

int tb_export_json_impl(struct tb_store *store, const struct tb_select *sel,
			int per_run, struct tb_writer *w, struct tb_error *err)
{
	struct json_job jj = { .j = { .w = w, .pretty = 1 }, .per_run = per_run,
			       .err = err };
	struct tb_jw *j = &jj.j;
	int ret;

	ret = tb_summary_load(store, sel, &jj.set, err);
	if (ret)
		return ret;
	tb_jw_begin_object(j);
	KS("format", "tinybench-export");
	KI("version", 1);
	KS("per", per_run ? "run" : "trial");
	tb_jw_key(j, "runs");
	tb_jw_begin_array(j);
	if (!per_run && jj.set.n) {
		ret = tb_select_trials_foreach(store, sel, on_trial, &jj, err);
		if (ret && !w->failed) {
			ret = ret < 0 ? ret : tb_error_set(err, TB_ERR_DB, "export stopped");
			goto out;
		}
		close_open_run(&jj);
	}
	runs_before(&jj, INT64_MAX);
	tb_jw_end_array(j);
	tb_jw_end_object(j);
	tb_jw_finish(j);
	ret = tb_w_finish(w, "JSON export", err);
out:
	tb_summary_set_free(&jj.set);
	free(jj.hex);
	return ret;
}
