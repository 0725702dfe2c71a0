/*
 * export_priv.h - pieces shared by the exporters in reports/ (not a public
 * header): the per-trial column table, number formatting and a stream
 * writer that remembers its first error.
 */
#ifndef TB_EXPORT_PRIV_H
#define TB_EXPORT_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tb_err.h"
#include "tb_store.h"

enum tb_col_kind {
	TB_COL_TEXT,		/* const char *, NULL = missing */
	TB_COL_INT,		/* int64_t, always present */
	TB_COL_OPT_INT,		/* int64_t, negative = missing */
	TB_COL_U64,		/* uint64_t */
	TB_COL_REAL,		/* double, NaN = missing */
	TB_COL_RUN_STATUS,	/* enum tb_run_status, as text */
	TB_COL_TRIAL_STATUS,	/* enum tb_trial_status, as text */
	TB_COL_OUTPUT_CHECK,	/* enum tb_output_check, as text */
	TB_COL_OUTPUT_HEX,	/* tb_trial output/output_len, as hex text */
	TB_COL_RUN_TAGS,	/* the run's tags, "k=v;k=v" (text) */
};

enum tb_col_src { TB_SRC_RUN, TB_SRC_TRIAL };

struct tb_export_column {
	const char *name;
	enum tb_col_kind kind;
	enum tb_col_src src;
	size_t offset;		/* into struct tb_run or struct tb_trial */
};

/* The per-trial CSV columns of docs/EXPORT.md, in order. */
extern const struct tb_export_column tb_export_trial_columns[];
extern const size_t tb_export_n_trial_columns;

/* Address of a column's value in run or trial. */
const void *tb_export_cell(const struct tb_export_column *c,
			   const struct tb_run *run, const struct tb_trial *trial);

/*
 * The shortest decimal text that reads back as the same double ("0.1",
 * "13", "12.345678901234567"), '.' as decimal point whatever the locale.
 * buf holds at least 32 bytes; returns the length.
 */
size_t tb_fmt_real(char *buf, size_t len, double v);

/* About four significant digits for people, never an exponent: "1234",
 * "123.4", "12.35", "1.235", "0.1235" (tables, charts). */
void tb_fmt_sig4(char *buf, size_t len, double v);

/* Decimal text of v; buf holds at least 24 bytes; returns the length. */
size_t tb_fmt_int(char *buf, int64_t v);

/* A stream that keeps the first write error. */
struct tb_writer {
	FILE *f;
	int failed;
	int errno_at_fail;
};

void tb_w_raw(struct tb_writer *w, const char *s, size_t len);
void tb_w_str(struct tb_writer *w, const char *s);	/* NUL-terminated */
void tb_w_printf(struct tb_writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Flush; returns 0, or TB_ERR_IO naming what (e.g. "CSV export") and the
 * system error when any write failed. */
int tb_w_finish(struct tb_writer *w, const char *what, struct tb_error *err);

/* Run fn(arg) with the C numeric locale for this thread, so that printf
 * writes "1.5" whatever setlocale() said. */
int tb_with_c_locale(int (*fn)(void *arg), void *arg, struct tb_error *err);

/*
 * A small streaming JSON writer on a tb_writer: tracks commas and
 * nesting, indents two spaces per level when pretty.  Strings are escaped
 * (quotes, backslashes, control characters); bytes >= 0x80 pass through
 * (UTF-8 in, UTF-8 out).  NaN and infinities are written as null, reals
 * in the shortest form that reads back exactly.
 */
#define TB_JW_MAX_DEPTH 32

struct tb_jw {
	struct tb_writer *w;
	int pretty;
	int depth;
	int after_key;
	unsigned char has_items[TB_JW_MAX_DEPTH];
};

void tb_jw_begin_object(struct tb_jw *j);
void tb_jw_end_object(struct tb_jw *j);
void tb_jw_begin_array(struct tb_jw *j);
void tb_jw_end_array(struct tb_jw *j);
void tb_jw_key(struct tb_jw *j, const char *key);
void tb_jw_str(struct tb_jw *j, const char *s);		/* NULL -> null */
void tb_jw_int(struct tb_jw *j, int64_t v);
void tb_jw_opt_int(struct tb_jw *j, int64_t v);		/* < 0 -> null */
void tb_jw_real(struct tb_jw *j, double v);		/* NaN -> null */
void tb_jw_bool(struct tb_jw *j, int v);
void tb_jw_null(struct tb_jw *j);
/* End the document with a newline. */
void tb_jw_finish(struct tb_jw *j);

/* Escape s for HTML/XML text and attribute values (&, <, >, ", '). */
void tb_w_xml(struct tb_writer *w, const char *s);

#endif
