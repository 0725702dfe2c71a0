/*
 * tb_export.h - export results from the store for other tools.
 *
 * Formats (docs/EXPORT.md):
 *   csv   RFC 4180, CRLF.  Per trial: one row per trial with its run's
 *         fields (the default).  Per run: one row per run with the
 *         medians of its trials.  Columns are stable: they may be
 *         appended, never renamed, removed or reordered.
 *   json  one object {"format": "tinybench-export", "version": 1, ...,
 *         "runs": [...]}: every run with its tags and summary, and its
 *         trials unless per run.
 *   md    a Markdown (GitHub) table for reading: one row per run by
 *         default, one per trial with TB_EXPORT_PER_TRIAL.
 *
 * Ownership: the caller owns the store, the selection and the stream; the
 * exporter never closes the stream.  Nothing is printed except to the
 * given stream.  Numbers are written in the C locale whatever the process
 * locale is.  The stream is flushed before returning so that write errors
 * are seen; a caller writing to a file must still check fclose().
 */
#ifndef TB_EXPORT_H
#define TB_EXPORT_H

#include <stdio.h>

#include "tb_err.h"
#include "tb_select.h"
#include "tb_store.h"

enum tb_export_format {
	TB_EXPORT_CSV  = 0,
	TB_EXPORT_JSON = 1,
	TB_EXPORT_MD   = 2,
};

enum tb_export_per {
	TB_EXPORT_PER_DEFAULT = 0,	/* csv, json: trial; md: run */
	TB_EXPORT_PER_TRIAL   = 1,
	TB_EXPORT_PER_RUN     = 2,
};

struct tb_export_opts {
	enum tb_export_format format;
	enum tb_export_per per;
	const struct tb_select *sel;	/* NULL: every run */
};

/*
 * Write the selected runs to out in the chosen format and shape.  A
 * selection with no run gives the header alone (csv, md) or an empty
 * "runs" array (json).
 *
 * Returns 0, TB_ERR_IO if writing failed (disk full, stream not writable:
 * the message names the system error), TB_ERR_ARG for a bad option, or
 * the store's error.
 */
int tb_export(struct tb_store *store, const struct tb_export_opts *o,
	      FILE *out, struct tb_error *err);

/*
 * Write the trials of the runs selected by f (NULL = all) to out as CSV,
 * one row per trial (tb_export() with csv, per trial, and f's fields as
 * the selection).
 */
int tb_export_csv(struct tb_store *store, const struct tb_store_filter *f,
		  FILE *out, struct tb_error *err);

/* Names of the format/shape ("csv", "run"); NULL outside the enums. */
const char *tb_export_format_name(enum tb_export_format f);

#endif
