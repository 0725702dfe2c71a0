/*
 * tb_gate.h - the regression gate: the latest runs compared with a
 * baseline, board x workload x metric, with the trials' spread taken into
 * account so that a change inside the noise is not a regression.
 *
 * The rule (docs/REPORTS.md, "Regression gate"), for each board x workload
 * present on both sides:
 *
 *   baseline   the latest run of the baseline set that finished ok;
 *   candidate  the latest finished run of the candidate set that is not in
 *              the baseline set.  A candidate that did not finish ok (or
 *              has no ok trial) fails every metric of its cell.
 *
 *   latency    B = the baseline's ok trials' mean latencies, C = the
 *              candidate's.  Regression when
 *                  median(C) > max(B) * (1 + limit)
 *              i.e. the new median is worse than the slowest baseline
 *              trial by more than the limit.  A run whose timing method
 *              differs from the baseline's is not compared (skipped).
 *   energy     the same rule on energy per inference (energy_uj); skipped
 *              when either run has no energy or their energy methods
 *              differ (a measured figure is never compared with an
 *              emulated one).
 *   ram        per trial, stack peak + arena peak (+ static RAM when both
 *              runs know it); the same spread rule: regression when
 *                  median(C) > max(B) * (1 + limit)     (limit in %)
 *                  median(C) > max(B) + limit           (limit in bytes)
 *              (almost deterministic, but an interrupt landing on the
 *              painted stack during one trial reads a few bytes more)
 *   flash      the firmware's flash bytes, as ram; skipped when unknown.
 *
 * Ownership: a struct tb_gate points into the summary sets it was built
 * from; they must outlive it.  tb_gate_free() frees the gate only.  The
 * writers write to the caller's stream and print nothing else.
 */
#ifndef TB_GATE_H
#define TB_GATE_H

#include <stdio.h>

#include "tb_err.h"
#include "tb_summary.h"

enum tb_limit_kind {
	TB_LIMIT_OFF      = 0,	/* the metric is not checked */
	TB_LIMIT_RELATIVE = 1,	/* value: a fraction, 0.05 = 5 % */
	TB_LIMIT_BYTES    = 2,	/* value: bytes */
};

struct tb_limit {
	enum tb_limit_kind kind;
	double value;
	char text[32];		/* as given, for messages ("5%") */
};

/*
 * Parse a limit: a percentage ("5%", "0.5%"), "0" (no growth at all) or,
 * when allow_bytes, a byte count with its unit ("512B", "4KiB", "1MiB").
 * A bare number other than 0 is refused as ambiguous.  TB_ERR_ARG with
 * the accepted forms otherwise (negative, not a number, over 1000 %).
 */
int tb_limit_parse(const char *text, int allow_bytes, struct tb_limit *out,
		   struct tb_error *err);

enum tb_gate_metric {
	TB_GATE_LATENCY = 0,
	TB_GATE_ENERGY  = 1,
	TB_GATE_RAM     = 2,
	TB_GATE_FLASH   = 3,
	TB_GATE_N_METRICS
};

enum tb_gate_verdict {
	TB_GATE_PASS = 0,
	TB_GATE_FAIL = 1,	/* a regression, or the candidate run failed */
	TB_GATE_SKIP = 2,	/* not comparable / nothing to compare */
};

struct tb_gate_case {
	const char *board;
	const char *workload;
	enum tb_gate_metric metric;
	enum tb_gate_verdict verdict;
	int run_failed;			/* FAIL because the run did not finish ok */
	int64_t base_run;		/* 0: none */
	int64_t new_run;		/* 0: none */
	double base_value;		/* baseline median (latency, energy) or
					 * bytes; NaN when not compared */
	double base_max;		/* baseline max (latency, energy) */
	double new_value;		/* candidate median or bytes */
	double bound;			/* the largest passing new_value */
	char message[480];		/* why: figures, rule, verdict */
};

struct tb_gate_opts {
	struct tb_limit limit[TB_GATE_N_METRICS];	/* OFF: not checked */
};

struct tb_gate {
	struct tb_gate_case *cases;	/* board, workload, metric order */
	size_t n;
	size_t n_pass, n_fail, n_skip;
};

/*
 * Compare candidates with baseline (both loaded with tb_summary_load()).
 * Cells present on one side only give skipped cases.  TB_ERR_ARG when no
 * metric is checked; TB_ERR_NOMEM.
 */
int tb_gate_run(const struct tb_summary_set *baseline,
		const struct tb_summary_set *candidates,
		const struct tb_gate_opts *o, struct tb_gate **out,
		struct tb_error *err);
void tb_gate_free(struct tb_gate *g);

const char *tb_gate_metric_name(enum tb_gate_metric m);	/* "latency" */
const char *tb_gate_verdict_name(enum tb_gate_verdict v);	/* "PASS" */

/*
 * JUnit XML: one <testsuite> "tinybench check" with one <testcase> per
 * board x workload x metric (classname "tinybench.BOARD.WORKLOAD", name
 * the metric), <failure> for a regression or failed run, <skipped> for a
 * case not compared; the message says why.  properties: name/value pairs
 * (n of them) recorded in <properties> (baseline, limits).
 */
int tb_gate_write_junit(const struct tb_gate *g, const char *const *properties,
			size_t n_properties, FILE *out, struct tb_error *err);

#endif
