/*
 * tb_summary.h - one summary per stored run: the run's fields, its tags
 * and statistics over its trials (latency, energy, power, memory).  The
 * per-run export, `compare`, the HTML report and the regression gate are
 * all built on it, so they agree on what "the median latency of run 12"
 * is.
 *
 * Statistics are over the run's *ok* trials only (a failed trial has no
 * reliable figures): latency over the trials' mean latency per inference
 * (`latency_ms`), energy over `energy_uj`, power over `power_mw`, with
 * tb_stats (median and p90 by linear interpolation, as numpy).
 * Memory figures are the maxima over the ok trials.
 *
 * Ownership: tb_summary_load() fills a caller-owned struct tb_summary_set
 * whose contents (runs, strings, value arrays) belong to it until
 * tb_summary_set_free().  Nothing is printed.
 */
#ifndef TB_SUMMARY_H
#define TB_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "tb_err.h"
#include "tb_select.h"
#include "tb_stats.h"
#include "tb_store.h"

struct tb_tag {
	char *key;
	char *value;
};

struct tb_run_summary {
	struct tb_run *run;		/* a copy, owned (strings included) */
	int64_t n_trials;		/* trials stored (any status) */
	int64_t n_ok;			/* of which ok */
	int64_t inferences;		/* timed inferences over the ok trials */
	int64_t mismatches;		/* ok trials whose output mismatched */
	/* Raw per-trial values of the ok trials, in trial order. */
	double *lat;			/* latency_ms; n_lat values */
	size_t n_lat;
	double *energy;			/* energy_uj of trials that have one */
	size_t n_energy;
	double *power;			/* power_mw */
	size_t n_power;
	double *ram;			/* stack_peak + arena_peak per trial
					 * (both known) */
	size_t n_ram;
	/* Statistics of the arrays above; .n == 0 when the array is empty. */
	struct tb_stats latency_ms;
	struct tb_stats energy_uj;
	struct tb_stats power_mw;
	struct tb_stats ram_b;		/* of ram[]: bytes, static RAM excluded */
	double inf_min_ms;		/* fastest single inference, NaN unknown */
	double inf_max_ms;		/* slowest single inference, NaN unknown */
	int64_t stack_peak, stack_size;	/* maxima; TB_STORE_UNKNOWN unknown */
	int64_t arena_peak, arena_size;
	int64_t link_retries;		/* sums; TB_STORE_UNKNOWN unknown */
	int64_t frames_dropped;
	struct tb_tag *tags;		/* sorted by key (bytewise) */
	size_t n_tags;
};

struct tb_summary_set {
	struct tb_run_summary *v;	/* ascending run id */
	size_t n;
	size_t cap;
};

/*
 * Summarise every run selected by sel (NULL = all), runs without trials
 * included.  Appends to *set, which must be zeroed or hold earlier
 * results.  Returns 0 or the store's error (TB_ERR_NOMEM, TB_ERR_DB...).
 */
int tb_summary_load(struct tb_store *store, const struct tb_select *sel,
		    struct tb_summary_set *set, struct tb_error *err);

/* Free the set's contents and zero it.  NULL is accepted. */
void tb_summary_set_free(struct tb_summary_set *set);

/* The summary of run id in the set, or NULL. */
const struct tb_run_summary *tb_summary_find(const struct tb_summary_set *set,
					     int64_t run_id);

/* Value of a tag of the run, or NULL when the run does not have it. */
const char *tb_summary_tag(const struct tb_run_summary *s, const char *key);

/*
 * Peak RAM of the run in bytes: stack peak + arena peak, plus the
 * firmware's static RAM (data + bss) when it is known (*with_static set to
 * 1 then).  TB_STORE_UNKNOWN when the stack or arena peak is unknown.
 */
int64_t tb_summary_ram(const struct tb_run_summary *s, int *with_static);

/* Usable for comparisons: finished ok with at least one ok trial that
 * has a latency. */
int tb_summary_usable(const struct tb_run_summary *s);

/*
 * Is the run's latency an estimate rather than a measured time?  True
 * for instruction-counting timers (QEMU's -icount, "*instructions*",
 * "*icount*", "emulat*", "estimat*"), where the time is instructions
 * divided by a nominal clock.
 */
int tb_timing_is_estimate(const char *timing_method);

/* Is the energy method "emulated:<instrument>" (a model of a meter)? */
int tb_energy_is_emulated(const char *energy_method);

/*
 * The tags of a run as one text, "key=value;key=value" sorted by key, a
 * backslash before any '\\' or ';' inside a value -- the `tags` column of
 * docs/EXPORT.md.  Writes at most len bytes (NUL included) and returns
 * the length it needed, as snprintf().
 */
size_t tb_summary_tags_text(const struct tb_run_summary *s, char *buf,
			    size_t len);

#endif
