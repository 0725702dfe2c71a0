/*
 * tb_report.h - the HTML report: one self-contained file (inline CSS and
 * SVG, no script, no network access) with charts drawn here:
 *
 *   - latency per board, one chart per workload: median bar, min-max
 *     whisker (latest finished run of each board x workload);
 *   - energy per inference per board, the same way (when recorded);
 *   - memory per board: stack, arena and static RAM stacked, flash beside;
 *   - trend over time per board x workload (runs in time order: median
 *     line with the min-max band), for nightly runs;
 *   - the power trace of one trial when one was stored;
 *   - tables: the latest results and the runs covered.
 *
 * Figures that are estimates (instruction-count timing) or emulated
 * (energy from an emulated meter) are drawn lighter, marked and named in
 * the notes.  The document is well-formed XML (XHTML syntax with an HTML5
 * doctype) so that it can be checked with an XML parser.
 *
 * Ownership: the caller owns the store, the summaries and the stream.
 * Nothing is printed except to the given stream.
 */
#ifndef TB_REPORT_H
#define TB_REPORT_H

#include <stdio.h>

#include "tb_err.h"
#include "tb_summary.h"

struct tb_report_opts {
	const char *title;		/* NULL: "tinybench report" */
	const char *db_path;		/* shown in the header, may be NULL */
	const char *selection;		/* text describing the filters, or NULL */
	int64_t trace_run;		/* 0: the latest trace among the runs */
	int64_t trace_idx;		/* trial of trace_run (< 0: its first) */
	int64_t generated_at_ms;	/* 0: now */
	size_t max_trend_runs;		/* per board x workload; 0: 200 */
	size_t max_table_runs;		/* rows of the runs table; 0: 500 */
};

/*
 * Write the report of the runs in set to out.  The store is read for power
 * traces only.  Returns 0, TB_ERR_NOTFOUND when the set has no run or the
 * trace asked for does not exist, TB_ERR_IO on a write error, or the
 * store's error.
 */
int tb_report_html(struct tb_store *store, const struct tb_summary_set *set,
		   const struct tb_report_opts *o, FILE *out,
		   struct tb_error *err);

#endif
