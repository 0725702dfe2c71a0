/*
 * export_csv.c - trials or runs as CSV (docs/EXPORT.md), and tb_export()'s
 * dispatch to the other formats.
 *
 * The columns are tables (export_common.c for trials, run_columns below);
 * the header and every row are written from them, so they cannot drift
 * apart.  Quoting rule: text columns are always quoted with libcsv's writer
 * (which doubles embedded quotes), numeric columns never are, and a missing
 * value (SQL NULL, unknown number) is an empty unquoted field -- so an
 * empty text ("") and a missing one stay distinguishable.
 */
#include "tb_export.h"
#include "export_priv.h"
#include "tb_summary.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

/* Implemented in export_json.c and export_md.c. */
int tb_export_json_impl(struct tb_store *store, const struct tb_select *sel,
			int per_run, struct tb_writer *w, struct tb_error *err);
int tb_export_md_impl(struct tb_store *store, const struct tb_select *sel,
		      int per_run, struct tb_writer *w, struct tb_error *err);

struct csv_out {
	struct tb_writer w;
	char *hex;		/* scratch for output_hex, grown as needed */
	size_t hex_cap;
	struct tb_store *store;
	int64_t tags_run;	/* run whose tags are in tags (0 = none yet) */
	char *tags;		/* that run's tags column, NUL-terminated */
	size_t tags_len, tags_cap;
	struct tb_error *err;
};

static void put_raw(struct csv_out *c, const char *s, size_t len)
{
	tb_w_raw(&c->w, s, len);
}

static void put_quoted(struct csv_out *c, const char *s, size_t len)
{
	if (c->w.failed)
		return;
	errno = 0;
	/* libcsv writes nothing for a NULL source: pass "" for empty text. */
	if (csv_fwrite(c->w.f, len ? s : "", len) == EOF && !c->w.failed) {
		c->w.failed = 1;
		c->w.errno_at_fail = errno ? errno : EIO;
	}
}

static void put_int(struct csv_out *c, int64_t v)
{
	char buf[24];

	put_raw(c, buf, tb_fmt_int(buf, v));
}

static void put_real(struct csv_out *c, double v)
{
	char buf[40];

	put_raw(c, buf, tb_fmt_real(buf, sizeof(buf), v));
}

static void put_text(struct csv_out *c, const char *s)
{
	if (s)
		put_quoted(c, s, strlen(s));
}

static void put_hex(struct csv_out *c, const unsigned char *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;
	char *grown;

	if (2 * len > c->hex_cap) {
		grown = realloc(c->hex, 2 * len);
		if (!grown) {
			if (!c->w.failed) {
				c->w.failed = 1;
				c->w.errno_at_fail = ENOMEM;
			}
			return;
		}
		c->hex = grown;
		c->hex_cap = 2 * len;
	}
	for (i = 0; i < len; i++) {
		c->hex[2 * i] = digits[p[i] >> 4];
		c->hex[2 * i + 1] = digits[p[i] & 0xf];
	}
	put_quoted(c, c->hex, 2 * len);
}

static void put_cell(struct csv_out *c, const struct tb_export_column *col,
		     const struct tb_run *run, const struct tb_trial *trial)
{
	const void *p = tb_export_cell(col, run, trial);

	switch (col->kind) {
	case TB_COL_TEXT:
		put_text(c, *(const char *const *)p);
		break;
	case TB_COL_INT:
		put_int(c, *(const int64_t *)p);
		break;
	case TB_COL_OPT_INT:
		if (*(const int64_t *)p >= 0)
			put_int(c, *(const int64_t *)p);
		break;
	case TB_COL_U64:
		/* The store keeps ticks <= INT64_MAX. */
		put_int(c, (int64_t)*(const uint64_t *)p);
		break;
	case TB_COL_REAL:
		if (!isnan(*(const double *)p))
			put_real(c, *(const double *)p);
		break;
	case TB_COL_RUN_STATUS:
		put_text(c, tb_store_run_status_name(*(const enum tb_run_status *)p));
		break;
	case TB_COL_TRIAL_STATUS:
		put_text(c, tb_store_trial_status_name(*(const enum tb_trial_status *)p));
		break;
	case TB_COL_OUTPUT_CHECK:
		put_text(c, tb_store_output_check_name(*(const enum tb_output_check *)p));
		break;
	case TB_COL_OUTPUT_HEX:
		if (trial->output)
			put_hex(c, trial->output, trial->output_len);
		break;
	case TB_COL_RUN_TAGS:
		/* Known for every run: no tags is "", never missing. */
		put_quoted(c, c->tags, c->tags_len);
		break;
	}
}

/* Append len bytes to c->tags; -1 when out of memory. */
static int tags_append(struct csv_out *c, const char *s, size_t len)
{
	size_t need = c->tags_len + len + 1, cap;
	char *grown;

	if (need > c->tags_cap) {
		cap = c->tags_cap ? 2 * c->tags_cap : 256;
		while (cap < need)
			cap *= 2;
		grown = realloc(c->tags, cap);
		if (!grown)
			return -1;
		c->tags = grown;
		c->tags_cap = cap;
	}
	memcpy(c->tags + c->tags_len, s, len);
	c->tags_len += len;
	c->tags[c->tags_len] = '\0';
	return 0;
}

/* One tag as "key=value", ';'-separated; '\\' and ';' in the value are
 * escaped with a backslash (keys cannot hold them). */
static int add_tag(const char *key, const char *value, void *user)
{
	struct csv_out *c = user;
	const char *p;

	if ((c->tags_len && tags_append(c, ";", 1)) ||
	    tags_append(c, key, strlen(key)) || tags_append(c, "=", 1))
		goto out_nomem;
	for (p = value; *p; p++) {
		if ((*p == '\\' || *p == ';') && tags_append(c, "\\", 1))
			goto out_nomem;
		if (tags_append(c, p, 1))
			goto out_nomem;
	}
	return 0;
out_nomem:
	return tb_error_set(c->err, TB_ERR_NOMEM, "out of memory");
}

/* Load the tags column of run_id, once per run (rows come grouped by run). */
static int load_tags(struct csv_out *c, int64_t run_id)
{
	int ret;

	if (c->tags_run == run_id)
		return TB_OK;
	c->tags_len = 0;
	if (tags_append(c, "", 0))
		return tb_error_set(c->err, TB_ERR_NOMEM, "out of memory");
	ret = tb_store_tags_foreach(c->store, run_id, add_tag, c, c->err);
	if (ret)
		return ret;
	c->tags_run = run_id;
	return TB_OK;
}

static int put_trial_row(const struct tb_run *run, const struct tb_trial *trial,
			 void *user)
{
	struct csv_out *c = user;
	size_t i;
	int ret;

	ret = load_tags(c, run->id);
	if (ret)
		return ret;		/* stops the walk; err already set */
	for (i = 0; i < tb_export_n_trial_columns; i++) {
		if (i)
			put_raw(c, ",", 1);
		put_cell(c, &tb_export_trial_columns[i], run, trial);
	}
	put_raw(c, "\r\n", 2);
	if (c->w.failed)	/* stop the walk; reported by the caller */
		return TB_ERR_IO;
	return 0;
}

/* ---------------------------------------------------------- per run */

enum run_kind {
	R_ID,		/* run->id */
	R_STATUS,	/* run->status as text */
	R_TEXT,		/* const char * in struct tb_run */
	R_INT,		/* int64_t in struct tb_run, always present */
	R_OPT_INT,	/* int64_t in struct tb_run, negative = missing */
	S_INT,		/* int64_t in the summary, always present */
	S_OPT_INT,	/* int64_t in the summary, negative = missing */
	S_REAL,		/* double in the summary, NaN = missing */
	S_STAT,		/* a double of a struct tb_stats in the summary */
	X_LAT_BASIS,	/* "measured" / "estimate" */
	X_ENERGY_BASIS,	/* "measured" / "emulated" / missing */
	X_RAM,		/* tb_summary_ram() */
	X_TAGS,		/* the tags column */
};

struct run_column {
	const char *name;
	enum run_kind kind;
	size_t offset;		/* R_*: struct tb_run; S_*: the summary */
	size_t member;		/* S_STAT: offset in struct tb_stats */
};

#define RC(name, kind, field) { name, kind, offsetof(struct tb_run, field), 0 }
#define SC(name, kind, field) { name, kind, offsetof(struct tb_run_summary, field), 0 }
#define ST(name, stat, m) { name, S_STAT, offsetof(struct tb_run_summary, stat), \
			    offsetof(struct tb_stats, m) }
#define XC(name, kind) { name, kind, 0, 0 }

/* Append only (docs/EXPORT.md, "One row per run"). */
static const struct run_column run_columns[] = {
	XC("run_id", R_ID),
	XC("run_status", R_STATUS),
	RC("run_reason", R_TEXT, reason),
	RC("board", R_TEXT, info.board),
	RC("board_cpu", R_TEXT, info.board_cpu),
	RC("board_clock_hz", R_OPT_INT, info.board_clock_hz),
	RC("timing_method", R_TEXT, info.timing_method),
	XC("latency_basis", X_LAT_BASIS),
	RC("workload", R_TEXT, info.workload),
	RC("model_hash", R_TEXT, info.model_hash),
	RC("runner_version", R_TEXT, info.runner_version),
	RC("runner_build_id", R_TEXT, info.runner_build_id),
	RC("harness_version", R_TEXT, info.harness_version),
	RC("harness_build_id", R_TEXT, info.harness_build_id),
	RC("host", R_TEXT, info.host),
	RC("run_started_at_ms", R_INT, info.started_at),
	RC("run_ended_at_ms", R_OPT_INT, ended_at),
	RC("firmware_sha256", R_TEXT, info.firmware_sha256),
	RC("flash_bytes", R_OPT_INT, info.flash_bytes),
	RC("static_ram_bytes", R_OPT_INT, info.static_ram_bytes),
	RC("energy_method", R_TEXT, info.energy_method),
	XC("energy_basis", X_ENERGY_BASIS),
	SC("trials", S_INT, n_trials),
	SC("trials_ok", S_INT, n_ok),
	SC("inferences", S_INT, inferences),
	ST("latency_median_ms", latency_ms, median),
	ST("latency_min_ms", latency_ms, min),
	ST("latency_max_ms", latency_ms, max),
	ST("latency_p90_ms", latency_ms, p90),
	ST("latency_mean_ms", latency_ms, mean),
	ST("latency_stddev_ms", latency_ms, stddev),
	SC("inf_min_ms", S_REAL, inf_min_ms),
	SC("inf_max_ms", S_REAL, inf_max_ms),
	SC("stack_peak", S_OPT_INT, stack_peak),
	SC("stack_size", S_OPT_INT, stack_size),
	SC("arena_peak", S_OPT_INT, arena_peak),
	SC("arena_size", S_OPT_INT, arena_size),
	XC("ram_peak_bytes", X_RAM),
	ST("energy_median_uj", energy_uj, median),
	ST("energy_min_uj", energy_uj, min),
	ST("energy_max_uj", energy_uj, max),
	ST("power_median_mw", power_mw, median),
	SC("link_retries", S_OPT_INT, link_retries),
	SC("frames_dropped", S_OPT_INT, frames_dropped),
	SC("output_mismatches", S_INT, mismatches),
	XC("tags", X_TAGS),
};

#define N_RUN_COLUMNS (sizeof(run_columns) / sizeof(run_columns[0]))

static void put_run_cell(struct csv_out *c, const struct run_column *col,
			 const struct tb_run_summary *s)
{
	const char *rb = (const char *)s->run, *sb = (const char *)s;
	const struct tb_stats *st;
	const char *m;
	char *tags;
	size_t n;
	int64_t ram;

	switch (col->kind) {
	case R_ID:
		put_int(c, s->run->id);
		break;
	case R_STATUS:
		put_text(c, tb_store_run_status_name(s->run->status));
		break;
	case R_TEXT:
		put_text(c, *(const char *const *)(rb + col->offset));
		break;
	case R_INT:
		put_int(c, *(const int64_t *)(rb + col->offset));
		break;
	case R_OPT_INT:
		if (*(const int64_t *)(rb + col->offset) >= 0)
			put_int(c, *(const int64_t *)(rb + col->offset));
		break;
	case S_INT:
		put_int(c, *(const int64_t *)(sb + col->offset));
		break;
	case S_OPT_INT:
		if (*(const int64_t *)(sb + col->offset) >= 0)
			put_int(c, *(const int64_t *)(sb + col->offset));
		break;
	case S_REAL:
		if (!isnan(*(const double *)(sb + col->offset)))
			put_real(c, *(const double *)(sb + col->offset));
		break;
	case S_STAT:
		st = (const struct tb_stats *)(sb + col->offset);
		if (st->n)
			put_real(c, *(const double *)((const char *)st + col->member));
		break;
	case X_LAT_BASIS:
		m = s->run->info.timing_method;
		if (m)
			put_text(c, tb_timing_is_estimate(m) ? "estimate" : "measured");
		break;
	case X_ENERGY_BASIS:
		m = s->run->info.energy_method;
		if (m)
			put_text(c, tb_energy_is_emulated(m) ? "emulated" : "measured");
		break;
	case X_RAM:
		ram = tb_summary_ram(s, NULL);
		if (ram >= 0)
			put_int(c, ram);
		break;
	case X_TAGS:
		n = tb_summary_tags_text(s, NULL, 0);
		tags = malloc(n + 1);
		if (!tags) {
			if (!c->w.failed) {
				c->w.failed = 1;
				c->w.errno_at_fail = ENOMEM;
			}
			return;
		}
		tb_summary_tags_text(s, tags, n + 1);
		put_quoted(c, tags, n);
		free(tags);
		break;
	}
}

/* ---------------------------------------------------------- drivers */

struct job {
	struct tb_store *store;
	const struct tb_export_opts *o;
	struct csv_out *c;
	struct tb_error *err;
};

static int csv_trials(struct job *j)
{
	struct csv_out *c = j->c;
	size_t i;
	int ret;

	for (i = 0; i < tb_export_n_trial_columns; i++) {
		if (i)
			put_raw(c, ",", 1);
		tb_w_str(&c->w, tb_export_trial_columns[i].name);
	}
	put_raw(c, "\r\n", 2);
	if (c->w.failed)
		return tb_w_finish(&c->w, "CSV export", j->err);
	ret = tb_select_trials_foreach(j->store, j->o->sel, put_trial_row, c, j->err);
	if (ret && !c->w.failed)
		return ret < 0 ? ret : tb_error_set(j->err, TB_ERR_DB, "export stopped");
	return tb_w_finish(&c->w, "CSV export", j->err);
}

static int csv_runs(struct job *j)
{
	struct tb_summary_set set = { 0 };
	struct csv_out *c = j->c;
	size_t i, k;
	int ret;

	ret = tb_summary_load(j->store, j->o->sel, &set, j->err);
	if (ret)
		return ret;
	for (i = 0; i < N_RUN_COLUMNS; i++) {
		if (i)
			put_raw(c, ",", 1);
		tb_w_str(&c->w, run_columns[i].name);
	}
	put_raw(c, "\r\n", 2);
	for (k = 0; k < set.n && !c->w.failed; k++) {
		for (i = 0; i < N_RUN_COLUMNS; i++) {
			if (i)
				put_raw(c, ",", 1);
			put_run_cell(c, &run_columns[i], &set.v[k]);
		}
		put_raw(c, "\r\n", 2);
	}
	tb_summary_set_free(&set);
	return tb_w_finish(&c->w, "CSV export", j->err);
}

static int dispatch(void *arg)
{
	struct job *j = arg;
	enum tb_export_per per = j->o->per;

	switch (j->o->format) {
	case TB_EXPORT_CSV:
		return per == TB_EXPORT_PER_RUN ? csv_runs(j) : csv_trials(j);
	case TB_EXPORT_JSON:
		return tb_export_json_impl(j->store, j->o->sel,
					   per == TB_EXPORT_PER_RUN, &j->c->w, j->err);
	case TB_EXPORT_MD:
		return tb_export_md_impl(j->store, j->o->sel,
					 per != TB_EXPORT_PER_TRIAL, &j->c->w, j->err);
	}
	return tb_error_set(j->err, TB_ERR_ARG, "unknown export format %d", j->o->format);
}

int tb_export(struct tb_store *store, const struct tb_export_opts *o,
	      FILE *out, struct tb_error *err)
{
	struct csv_out c = { .w = { .f = out }, .store = store, .err = err };
	struct job j = { .store = store, .o = o, .c = &c, .err = err };
	int ret;

	if (!store || !o || !out)
		return tb_error_set(err, TB_ERR_ARG, "tb_export: NULL argument");
	ret = tb_with_c_locale(dispatch, &j, err);
	free(c.hex);
	free(c.tags);
	return ret;
}

int tb_export_csv(struct tb_store *store, const struct tb_store_filter *f,
		  FILE *out, struct tb_error *err)
{
	struct tb_select sel;
	struct tb_export_opts o = { .format = TB_EXPORT_CSV,
				    .per = TB_EXPORT_PER_TRIAL, .sel = &sel };

	if (!store || !out)
		return tb_error_set(err, TB_ERR_ARG, "tb_export_csv: NULL argument");
	tb_select_from_filter(&sel, f);
	return tb_export(store, &o, out, err);
}

const char *tb_export_format_name(enum tb_export_format f)
{
	switch (f) {
	case TB_EXPORT_CSV: return "csv";
	case TB_EXPORT_JSON: return "json";
	case TB_EXPORT_MD: return "md";
	}
	return NULL;
}
