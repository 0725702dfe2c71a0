/*
 * export_common.c - what the exporters share (export_priv.h): the column
 * table of the per-trial export, number formatting, an error-remembering
 * writer and the C-locale wrapper.
 */
#include "export_priv.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define RUN(name, kind, field) \
	{ name, kind, TB_SRC_RUN, offsetof(struct tb_run, field) }
#define TRIAL(name, kind, field) \
	{ name, kind, TB_SRC_TRIAL, offsetof(struct tb_trial, field) }

/* Append only (docs/EXPORT.md). */
const struct tb_export_column tb_export_trial_columns[] = {
	RUN("run_id", TB_COL_INT, id),
	RUN("run_status", TB_COL_RUN_STATUS, status),
	RUN("run_reason", TB_COL_TEXT, reason),
	RUN("board", TB_COL_TEXT, info.board),
	RUN("board_cpu", TB_COL_TEXT, info.board_cpu),
	RUN("board_clock_hz", TB_COL_OPT_INT, info.board_clock_hz),
	RUN("run_timer_hz", TB_COL_OPT_INT, info.timer_hz),
	RUN("timing_method", TB_COL_TEXT, info.timing_method),
	RUN("workload", TB_COL_TEXT, info.workload),
	RUN("model_hash", TB_COL_TEXT, info.model_hash),
	RUN("runner_version", TB_COL_TEXT, info.runner_version),
	RUN("runner_build_id", TB_COL_TEXT, info.runner_build_id),
	RUN("protocol_version", TB_COL_OPT_INT, info.protocol_version),
	RUN("harness_version", TB_COL_TEXT, info.harness_version),
	RUN("harness_build_id", TB_COL_TEXT, info.harness_build_id),
	RUN("host", TB_COL_TEXT, info.host),
	RUN("port", TB_COL_TEXT, info.port),
	RUN("input_source", TB_COL_TEXT, info.input_source),
	RUN("params_json", TB_COL_TEXT, info.params_json),
	RUN("run_started_at_ms", TB_COL_INT, info.started_at),
	RUN("run_ended_at_ms", TB_COL_OPT_INT, ended_at),
	TRIAL("trial_idx", TB_COL_INT, idx),
	TRIAL("trial_status", TB_COL_TRIAL_STATUS, status),
	TRIAL("trial_reason", TB_COL_TEXT, reason),
	TRIAL("trial_started_at_ms", TB_COL_INT, started_at),
	TRIAL("trial_ended_at_ms", TB_COL_INT, ended_at),
	TRIAL("inferences", TB_COL_INT, inferences),
	TRIAL("warmups", TB_COL_INT, warmups),
	TRIAL("ticks", TB_COL_U64, ticks),
	TRIAL("timer_hz", TB_COL_OPT_INT, timer_hz),
	TRIAL("latency_ms", TB_COL_REAL, latency_ms),
	TRIAL("inf_min_ms", TB_COL_REAL, inf_min_ms),
	TRIAL("inf_max_ms", TB_COL_REAL, inf_max_ms),
	TRIAL("stack_peak", TB_COL_OPT_INT, stack_peak),
	TRIAL("stack_size", TB_COL_OPT_INT, stack_size),
	TRIAL("arena_peak", TB_COL_OPT_INT, arena_peak),
	TRIAL("arena_size", TB_COL_OPT_INT, arena_size),
	TRIAL("input_hash", TB_COL_TEXT, input_hash),
	TRIAL("output_check", TB_COL_OUTPUT_CHECK, output_check),
	TRIAL("output_hex", TB_COL_OUTPUT_HEX, output),
	/* Schema version 2. */
	RUN("firmware_sha256", TB_COL_TEXT, info.firmware_sha256),
	RUN("flash_bytes", TB_COL_OPT_INT, info.flash_bytes),
	RUN("static_ram_bytes", TB_COL_OPT_INT, info.static_ram_bytes),
	RUN("energy_method", TB_COL_TEXT, info.energy_method),
	TRIAL("link_retries", TB_COL_OPT_INT, link_retries),
	TRIAL("frames_dropped", TB_COL_OPT_INT, frames_dropped),
	TRIAL("energy_uj", TB_COL_REAL, energy_uj),
	TRIAL("power_mw", TB_COL_REAL, power_mw),
	TRIAL("energy_window_ms", TB_COL_REAL, energy_window_ms),
	TRIAL("energy_samples", TB_COL_OPT_INT, energy_samples),
	TRIAL("energy_sample_hz", TB_COL_REAL, energy_sample_hz),
	TRIAL("energy_lost_samples", TB_COL_OPT_INT, energy_lost_samples),
	{ "tags", TB_COL_RUN_TAGS, TB_SRC_RUN, 0 },
	/* Schema version 3. */
	TRIAL("attempts", TB_COL_OPT_INT, attempts),
};

const size_t tb_export_n_trial_columns =
	sizeof(tb_export_trial_columns) / sizeof(tb_export_trial_columns[0]);

const void *tb_export_cell(const struct tb_export_column *c,
			   const struct tb_run *run, const struct tb_trial *trial)
{
	const char *base = c->src == TB_SRC_RUN ? (const char *)run : (const char *)trial;

	return base + c->offset;
}

void tb_fmt_sig4(char *buf, size_t len, double v)
{
	double a = fabs(v);

	if (a >= 1000)
		snprintf(buf, len, "%.0f", v);
	else if (a >= 100)
		snprintf(buf, len, "%.1f", v);
	else if (a >= 10)
		snprintf(buf, len, "%.2f", v);
	else if (a >= 1)
		snprintf(buf, len, "%.3f", v);
	else
		snprintf(buf, len, "%.4f", v);
}

size_t tb_fmt_int(char *buf, int64_t v)
{
	char tmp[24];
	size_t n = 0, i;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	i = 0;
	if (v < 0)
		buf[i++] = '-';
	while (n)
		buf[i++] = tmp[--n];
	buf[i] = '\0';
	return i;
}

size_t tb_fmt_real(char *buf, size_t len, double v)
{
	int prec, n = 0;

	/* Integral values of moderate size: plain digits, no exponent. */
	if (v == floor(v) && fabs(v) < 1e15) {
		if (v == 0)
			v = 0;	/* "-0" -> "0" */
		return tb_fmt_int(buf, (int64_t)v);
	}
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return n < 0 ? 0 : (size_t)n;
}

static void note_fail(struct tb_writer *w)
{
	if (w->failed)
		return;
	w->failed = 1;
	w->errno_at_fail = errno ? errno : EIO;
}

void tb_w_raw(struct tb_writer *w, const char *s, size_t len)
{
	if (w->failed || !len)
		return;
	errno = 0;
	if (fwrite(s, 1, len, w->f) != len)
		note_fail(w);
}

void tb_w_str(struct tb_writer *w, const char *s)
{
	tb_w_raw(w, s, strlen(s));
}

void tb_w_printf(struct tb_writer *w, const char *fmt, ...)
{
	va_list ap;

	if (w->failed)
		return;
	errno = 0;
	va_start(ap, fmt);
	if (vfprintf(w->f, fmt, ap) < 0)
		note_fail(w);
	va_end(ap);
}

int tb_w_finish(struct tb_writer *w, const char *what, struct tb_error *err)
{
	errno = 0;
	if (!w->failed && (fflush(w->f) == EOF || ferror(w->f)))
		note_fail(w);
	if (w->failed)
		return tb_error_set(err, TB_ERR_IO, "writing %s failed: %s", what,
				    strerror(w->errno_at_fail));
	return TB_OK;
}

int tb_with_c_locale(int (*fn)(void *arg), void *arg, struct tb_error *err)
{
	locale_t c_locale, old;
	int ret;

	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (!c_locale)
		return tb_error_set(err, TB_ERR_NOMEM, "cannot create the C locale: %s",
				    strerror(errno));
	old = uselocale(c_locale);
	ret = fn(arg);
	uselocale(old);
	freelocale(c_locale);
	return ret;
}

/* ------------------------------------------------------------- JSON */

static void jw_indent(struct tb_jw *j)
{
	static const char spaces[] = "                                ";
	int n;

	if (!j->pretty)
		return;
	tb_w_raw(j->w, "\n", 1);
	for (n = 2 * j->depth; n > 0; n -= 32)
		tb_w_raw(j->w, spaces, (size_t)(n < 32 ? n : 32));
}

/* Separator and indentation before a value or key. */
static void jw_before(struct tb_jw *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->depth > 0) {
		if (j->has_items[j->depth])
			tb_w_raw(j->w, ",", 1);
		j->has_items[j->depth] = 1;
		jw_indent(j);
	}
}

static void jw_open(struct tb_jw *j, const char *c)
{
	jw_before(j);
	tb_w_raw(j->w, c, 1);
	if (j->depth + 1 < TB_JW_MAX_DEPTH)
		j->depth++;
	j->has_items[j->depth] = 0;
}

static void jw_close(struct tb_jw *j, const char *c)
{
	int had = j->has_items[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (had)
		jw_indent(j);
	tb_w_raw(j->w, c, 1);
}

void tb_jw_begin_object(struct tb_jw *j) { jw_open(j, "{"); }
void tb_jw_end_object(struct tb_jw *j) { jw_close(j, "}"); }
void tb_jw_begin_array(struct tb_jw *j) { jw_open(j, "["); }
void tb_jw_end_array(struct tb_jw *j) { jw_close(j, "]"); }

static void jw_string(struct tb_jw *j, const char *s)
{
	const char *p, *run = s;
	char esc[8];

	tb_w_raw(j->w, "\"", 1);
	for (p = s; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		tb_w_raw(j->w, run, (size_t)(p - run));
		switch (ch) {
		case '"': tb_w_raw(j->w, "\\\"", 2); break;
		case '\\': tb_w_raw(j->w, "\\\\", 2); break;
		case '\n': tb_w_raw(j->w, "\\n", 2); break;
		case '\r': tb_w_raw(j->w, "\\r", 2); break;
		case '\t': tb_w_raw(j->w, "\\t", 2); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			tb_w_raw(j->w, esc, 6);
		}
		run = p + 1;
	}
	tb_w_raw(j->w, run, (size_t)(p - run));
	tb_w_raw(j->w, "\"", 1);
}

void tb_jw_key(struct tb_jw *j, const char *key)
{
	jw_before(j);
	jw_string(j, key);
	tb_w_raw(j->w, j->pretty ? ": " : ":", j->pretty ? 2 : 1);
	j->after_key = 1;
}

void tb_jw_str(struct tb_jw *j, const char *s)
{
	jw_before(j);
	if (s)
		jw_string(j, s);
	else
		tb_w_raw(j->w, "null", 4);
}

void tb_jw_int(struct tb_jw *j, int64_t v)
{
	char buf[24];

	jw_before(j);
	tb_w_raw(j->w, buf, tb_fmt_int(buf, v));
}

void tb_jw_opt_int(struct tb_jw *j, int64_t v)
{
	if (v < 0)
		tb_jw_null(j);
	else
		tb_jw_int(j, v);
}

void tb_jw_real(struct tb_jw *j, double v)
{
	char buf[40];

	if (!isfinite(v)) {
		tb_jw_null(j);
		return;
	}
	jw_before(j);
	tb_w_raw(j->w, buf, tb_fmt_real(buf, sizeof(buf), v));
}

void tb_jw_bool(struct tb_jw *j, int v)
{
	jw_before(j);
	tb_w_str(j->w, v ? "true" : "false");
}

void tb_jw_null(struct tb_jw *j)
{
	jw_before(j);
	tb_w_raw(j->w, "null", 4);
}

void tb_jw_finish(struct tb_jw *j)
{
	tb_w_raw(j->w, "\n", 1);
}

/* ------------------------------------------------------------- XML */

void tb_w_xml(struct tb_writer *w, const char *s)
{
	const char *p, *run = s;

	if (!s)
		return;
	for (p = s; *p; p++) {
		const char *rep;

		switch (*p) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default:
			/* XML 1.0 forbids most control characters. */
			if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t' && *p != '\r')
				rep = " ";
			else
				continue;
		}
		tb_w_raw(w, run, (size_t)(p - run));
		tb_w_str(w, rep);
		run = p + 1;
	}
	tb_w_raw(w, run, (size_t)(p - run));
}
