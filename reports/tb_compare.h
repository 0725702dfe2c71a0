/*
 * tb_compare.h - a board x workload matrix of the latest results: median
 * latency per inference, energy per inference, peak RAM and flash, each
 * with its ratio to a baseline (a board, or one run).  `tinybench compare`
 * prints it and the HTML report draws from it.
 *
 * Which run fills a cell: the latest (highest id) run of that board and
 * workload among the selected ones that finished ok with at least one ok
 * trial.  Figures are that run's (tb_summary.h): median over its ok
 * trials for latency and energy, peak stack + peak arena (+ static RAM
 * when the firmware ELF gave it) for RAM, the firmware's flash bytes.
 *
 * Relative figures are value / baseline value (1.25 = 25 % more).  With a
 * baseline board, a cell is compared with that board's cell of the same
 * workload; with a baseline run, with that run if it has the same
 * workload.  Where either side is missing the ratio is NaN.
 *
 * Ownership: the matrix points into the summary sets it was built from
 * (names, summaries); they must outlive it.  tb_compare_free() frees the
 * matrix only.  The writers write to the caller's stream and print
 * nothing else.
 */
#ifndef TB_COMPARE_H
#define TB_COMPARE_H

#include <stdio.h>

#include "tb_err.h"
#include "tb_summary.h"

struct tb_compare_cell {
	const struct tb_run_summary *run;	/* NULL: no usable run */
	const struct tb_run_summary *base;	/* NULL: no baseline */
	int64_t ram;				/* bytes, TB_STORE_UNKNOWN */
	int ram_has_static;			/* ram includes static RAM */
	double latency_rel, energy_rel, ram_rel, flash_rel;	/* NaN: n/a */
};

enum tb_compare_baseline {
	TB_COMPARE_BASE_NONE  = 0,
	TB_COMPARE_BASE_BOARD = 1,
	TB_COMPARE_BASE_RUN   = 2,
};

struct tb_compare {
	const char **boards;			/* sorted; the baseline board first */
	size_t n_boards;
	const char **workloads;			/* sorted */
	size_t n_workloads;
	struct tb_compare_cell *cells;		/* [board * n_workloads + workload] */
	enum tb_compare_baseline base_kind;
	const char *base_board;
	const struct tb_run_summary *base_run;
	size_t n_runs;				/* cells with a run */
	int any_estimate;			/* a shown latency is an estimate */
	int any_emulated;			/* a shown energy is emulated */
};

struct tb_compare_opts {
	enum tb_compare_baseline base_kind;
	const char *base_board;			/* TB_COMPARE_BASE_BOARD */
	const struct tb_run_summary *base_run;	/* TB_COMPARE_BASE_RUN */
};

/*
 * Build the matrix from set (NULL opts: no baseline).  TB_ERR_NOTFOUND
 * when the set has no usable run, or the baseline board has none;
 * TB_ERR_ARG when the baseline run is not usable (not ok, no latency).
 */
int tb_compare_build(const struct tb_summary_set *set,
		     const struct tb_compare_opts *opts,
		     struct tb_compare **out, struct tb_error *err);
void tb_compare_free(struct tb_compare *c);

const struct tb_compare_cell *tb_compare_cell(const struct tb_compare *c,
					      size_t board, size_t workload);

/* A readable matrix per metric, with the notes on estimates and emulated
 * figures and the runs used (for a terminal). */
int tb_compare_write_text(const struct tb_compare *c, FILE *out,
			  struct tb_error *err);
/* One CSV row per board x workload that has a run (docs/REPORTS.md). */
int tb_compare_write_csv(const struct tb_compare *c, FILE *out,
			 struct tb_error *err);
/* The matrix as JSON (docs/REPORTS.md). */
int tb_compare_write_json(const struct tb_compare *c, FILE *out,
			  struct tb_error *err);

#endif
