/*
 * export_csv.c - trials as CSV (docs/EXPORT.md).
 *
 * The columns are one table below; the header and every row are written
 * from it, so they cannot drift apart.  Quoting rule: text columns are
 * always quoted with libcsv's writer (which doubles embedded quotes), numeric
 * columns never are, and a missing value (SQL NULL, unknown number) is an
 * empty unquoted field -- so an empty text ("") and a missing one stay
 * distinguishable.
 */
#include "tb_export.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

enum col_kind {
	COL_TEXT,		/* const char *, NULL = missing */
	COL_INT,		/* int64_t, always present */
	COL_OPT_INT,		/* int64_t, negative = missing */
	COL_U64,		/* uint64_t */
	COL_REAL,		/* double, NaN = missing */
	COL_RUN_STATUS,		/* enum tb_run_status, as text */
	COL_TRIAL_STATUS,	/* enum tb_trial_status, as text */
	COL_OUTPUT_CHECK,	/* enum tb_output_check, as text */
	COL_OUTPUT_HEX,		/* tb_trial output/output_len, as hex text */
	COL_RUN_TAGS,		/* the run's tags, "k=v;k=v" (text) */
};

enum col_src { SRC_RUN, SRC_TRIAL };

struct column {
	const char *name;
	enum col_kind kind;
	enum col_src src;
	size_t offset;		/* into struct tb_run or struct tb_trial */
};

#define RUN(name, kind, field)   { name, kind, SRC_RUN, offsetof(struct tb_run, field) }
#define TRIAL(name, kind, field) { name, kind, SRC_TRIAL, offsetof(struct tb_trial, field) }

/* Append only (docs/EXPORT.md). */
static const struct column columns[] = {
	RUN("run_id", COL_INT, id),
	RUN("run_status", COL_RUN_STATUS, status),
	RUN("run_reason", COL_TEXT, reason),
	RUN("board", COL_TEXT, info.board),
	RUN("board_cpu", COL_TEXT, info.board_cpu),
	RUN("board_clock_hz", COL_OPT_INT, info.board_clock_hz),
	RUN("run_timer_hz", COL_OPT_INT, info.timer_hz),
	RUN("timing_method", COL_TEXT, info.timing_method),
	RUN("workload", COL_TEXT, info.workload),
	RUN("model_hash", COL_TEXT, info.model_hash),
	RUN("runner_version", COL_TEXT, info.runner_version),
	RUN("runner_build_id", COL_TEXT, info.runner_build_id),
	RUN("protocol_version", COL_OPT_INT, info.protocol_version),
	RUN("harness_version", COL_TEXT, info.harness_version),
	RUN("harness_build_id", COL_TEXT, info.harness_build_id),
	RUN("host", COL_TEXT, info.host),
	RUN("port", COL_TEXT, info.port),
	RUN("input_source", COL_TEXT, info.input_source),
	RUN("params_json", COL_TEXT, info.params_json),
	RUN("run_started_at_ms", COL_INT, info.started_at),
	RUN("run_ended_at_ms", COL_OPT_INT, ended_at),
	TRIAL("trial_idx", COL_INT, idx),
	TRIAL("trial_status", COL_TRIAL_STATUS, status),
	TRIAL("trial_reason", COL_TEXT, reason),
	TRIAL("trial_started_at_ms", COL_INT, started_at),
	TRIAL("trial_ended_at_ms", COL_INT, ended_at),
	TRIAL("inferences", COL_INT, inferences),
	TRIAL("warmups", COL_INT, warmups),
	TRIAL("ticks", COL_U64, ticks),
	TRIAL("timer_hz", COL_OPT_INT, timer_hz),
	TRIAL("latency_ms", COL_REAL, latency_ms),
	TRIAL("inf_min_ms", COL_REAL, inf_min_ms),
	TRIAL("inf_max_ms", COL_REAL, inf_max_ms),
	TRIAL("stack_peak", COL_OPT_INT, stack_peak),
	TRIAL("stack_size", COL_OPT_INT, stack_size),
	TRIAL("arena_peak", COL_OPT_INT, arena_peak),
	TRIAL("arena_size", COL_OPT_INT, arena_size),
	TRIAL("input_hash", COL_TEXT, input_hash),
	TRIAL("output_check", COL_OUTPUT_CHECK, output_check),
	TRIAL("output_hex", COL_OUTPUT_HEX, output),
	/* Schema version 2. */
	RUN("firmware_sha256", COL_TEXT, info.firmware_sha256),
	RUN("flash_bytes", COL_OPT_INT, info.flash_bytes),
	RUN("static_ram_bytes", COL_OPT_INT, info.static_ram_bytes),
	RUN("energy_method", COL_TEXT, info.energy_method),
	TRIAL("link_retries", COL_OPT_INT, link_retries),
	TRIAL("frames_dropped", COL_OPT_INT, frames_dropped),
	TRIAL("energy_uj", COL_REAL, energy_uj),
	TRIAL("power_mw", COL_REAL, power_mw),
	TRIAL("energy_window_ms", COL_REAL, energy_window_ms),
	TRIAL("energy_samples", COL_OPT_INT, energy_samples),
	TRIAL("energy_sample_hz", COL_REAL, energy_sample_hz),
	TRIAL("energy_lost_samples", COL_OPT_INT, energy_lost_samples),
	{ "tags", COL_RUN_TAGS, SRC_RUN, 0 },
};

#define N_COLUMNS (sizeof(columns) / sizeof(columns[0]))

struct csv_out {
	FILE *f;
	int failed;		/* a write failed; errno_at_fail says why */
	int errno_at_fail;
	char *hex;		/* scratch for output_hex, grown as needed */
	size_t hex_cap;
	struct tb_store *store;
	int64_t tags_run;	/* run whose tags are in tags (0 = none yet) */
	char *tags;		/* that run's tags column, NUL-terminated */
	size_t tags_len, tags_cap;
	struct tb_error *err;
};

/* Record the first failure; later writes are skipped. */
static void note_fail(struct csv_out *w)
{
	if (w->failed)
		return;
	w->failed = 1;
	w->errno_at_fail = errno ? errno : EIO;
}

static void put_raw(struct csv_out *w, const char *s)
{
	if (w->failed)
		return;
	errno = 0;
	if (fputs(s, w->f) == EOF)
		note_fail(w);
}

static void put_quoted(struct csv_out *w, const char *s, size_t len)
{
	if (w->failed)
		return;
	errno = 0;
	/* libcsv writes nothing for a NULL source: pass "" for empty text. */
	if (csv_fwrite(w->f, len ? s : "", len) == EOF)
		note_fail(w);
}

static void put_int(struct csv_out *w, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	put_raw(w, buf);
}

/* Shortest decimal that reads back as the same double. */
static void put_real(struct csv_out *w, double v)
{
	char buf[40];
	int prec;

	for (prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	put_raw(w, buf);
}

static void put_hex(struct csv_out *w, const unsigned char *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;
	char *grown;

	if (2 * len > w->hex_cap) {
		grown = realloc(w->hex, 2 * len);
		if (!grown) {
			errno = ENOMEM;
			note_fail(w);
			return;
		}
		w->hex = grown;
		w->hex_cap = 2 * len;
	}
	for (i = 0; i < len; i++) {
		w->hex[2 * i] = digits[p[i] >> 4];
		w->hex[2 * i + 1] = digits[p[i] & 0xf];
	}
	put_quoted(w, w->hex, 2 * len);
}

static void put_text(struct csv_out *w, const char *s)
{
	if (s)
		put_quoted(w, s, strlen(s));
}

static void put_cell(struct csv_out *w, const struct column *c,
		     const struct tb_run *run, const struct tb_trial *trial)
{
	const char *base = c->src == SRC_RUN ? (const char *)run : (const char *)trial;
	const void *p = base + c->offset;

	switch (c->kind) {
	case COL_TEXT:
		put_text(w, *(const char *const *)p);
		break;
	case COL_INT:
		put_int(w, *(const int64_t *)p);
		break;
	case COL_OPT_INT:
		if (*(const int64_t *)p >= 0)
			put_int(w, *(const int64_t *)p);
		break;
	case COL_U64:
		/* The store keeps ticks <= INT64_MAX. */
		put_int(w, (int64_t)*(const uint64_t *)p);
		break;
	case COL_REAL:
		if (!isnan(*(const double *)p))
			put_real(w, *(const double *)p);
		break;
	case COL_RUN_STATUS:
		put_text(w, tb_store_run_status_name(*(const enum tb_run_status *)p));
		break;
	case COL_TRIAL_STATUS:
		put_text(w, tb_store_trial_status_name(*(const enum tb_trial_status *)p));
		break;
	case COL_OUTPUT_CHECK:
		put_text(w, tb_store_output_check_name(*(const enum tb_output_check *)p));
		break;
	case COL_OUTPUT_HEX:
		if (trial->output)
			put_hex(w, trial->output, trial->output_len);
		break;
	case COL_RUN_TAGS:
		/* Known for every run: no tags is "", never missing. */
		put_quoted(w, w->tags, w->tags_len);
		break;
	}
}

/* Append len bytes to w->tags; -1 when out of memory. */
static int tags_append(struct csv_out *w, const char *s, size_t len)
{
	size_t need = w->tags_len + len + 1, cap;
	char *grown;

	if (need > w->tags_cap) {
		cap = w->tags_cap ? 2 * w->tags_cap : 256;
		while (cap < need)
			cap *= 2;
		grown = realloc(w->tags, cap);
		if (!grown)
			return -1;
		w->tags = grown;
		w->tags_cap = cap;
	}
	memcpy(w->tags + w->tags_len, s, len);
	w->tags_len += len;
	w->tags[w->tags_len] = '\0';
	return 0;
}

/* One tag as "key=value", ';'-separated; '\\' and ';' in the value are
 * escaped with a backslash (keys cannot hold them). */
static int add_tag(const char *key, const char *value, void *user)
{
	struct csv_out *w = user;
	const char *p;

	if ((w->tags_len && tags_append(w, ";", 1)) ||
	    tags_append(w, key, strlen(key)) || tags_append(w, "=", 1))
		goto out_nomem;
	for (p = value; *p; p++) {
		if ((*p == '\\' || *p == ';') && tags_append(w, "\\", 1))
			goto out_nomem;
		if (tags_append(w, p, 1))
			goto out_nomem;
	}
	return 0;
out_nomem:
	return tb_error_set(w->err, TB_ERR_NOMEM, "out of memory");
}

/* Load the tags column of run_id, once per run (rows come grouped by run). */
static int load_tags(struct csv_out *w, int64_t run_id)
{
	int ret;

	if (w->tags_run == run_id)
		return TB_OK;
	w->tags_len = 0;
	if (tags_append(w, "", 0))
		return tb_error_set(w->err, TB_ERR_NOMEM, "out of memory");
	ret = tb_store_tags_foreach(w->store, run_id, add_tag, w, w->err);
	if (ret)
		return ret;
	w->tags_run = run_id;
	return TB_OK;
}

static void put_header(struct csv_out *w)
{
	size_t i;

	for (i = 0; i < N_COLUMNS; i++) {
		if (i)
			put_raw(w, ",");
		put_raw(w, columns[i].name);
	}
	put_raw(w, "\r\n");
}

static int put_row(const struct tb_run *run, const struct tb_trial *trial,
		   void *user)
{
	struct csv_out *w = user;
	size_t i;
	int ret;

	ret = load_tags(w, run->id);
	if (ret)
		return ret;		/* stops the walk; err already set */
	for (i = 0; i < N_COLUMNS; i++) {
		if (i)
			put_raw(w, ",");
		put_cell(w, &columns[i], run, trial);
	}
	put_raw(w, "\r\n");
	if (w->failed)		/* stop the walk; reported by the caller */
		return TB_ERR_IO;
	return 0;
}

static int write_error(struct csv_out *w)
{
	return tb_error_set(w->err, TB_ERR_IO, "writing CSV export failed: %s",
			    strerror(w->errno_at_fail));
}

/* Header, rows, flush.  Runs with the C numeric locale in force. */
static int export_rows(struct tb_store *store, const struct tb_store_filter *f,
		       struct csv_out *w)
{
	int ret;

	put_header(w);
	if (w->failed)
		return write_error(w);
	ret = tb_store_trials_foreach(store, f, put_row, w, w->err);
	if (ret && !w->failed)
		return ret;		/* the store's error, already in err */

	errno = 0;
	if (!w->failed && (fflush(w->f) == EOF || ferror(w->f)))
		note_fail(w);
	if (w->failed)
		return write_error(w);
	return TB_OK;
}

int tb_export_csv(struct tb_store *store, const struct tb_store_filter *f,
		  FILE *out, struct tb_error *err)
{
	struct csv_out w = { .f = out, .store = store, .err = err };
	locale_t c_locale, old;
	int ret;

	if (!store || !out)
		return tb_error_set(err, TB_ERR_ARG, "tb_export_csv: NULL argument");

	/* "1.5", not "1,5", even if the CLI called setlocale(). */
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (!c_locale)
		return tb_error_set(err, TB_ERR_NOMEM,
				    "cannot create the C locale for CSV export: %s",
				    strerror(errno));
	old = uselocale(c_locale);

	ret = export_rows(store, f, &w);

	uselocale(old);
	freelocale(c_locale);
	free(w.hex);
	free(w.tags);
	return ret;
}
