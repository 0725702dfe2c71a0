/*
 * tb_select.h - which stored runs an export, comparison, report or check
 * covers: the store's filter (board, workload, one run, one tag) widened
 * with run-id lists and ranges, several tags (all required) and a time
 * window on the run's start.
 *
 * A zeroed struct tb_select selects every run.  The parse functions check
 * the text they are given and say what is wrong with it, so that a CLI can
 * refuse a malformed filter before opening the database.
 *
 * Ownership: strings (board, workload, tags) are not copied; they must
 * outlive the selection (argv does).  No function here allocates, except
 * the walks' temporary statements inside the store.
 * Nothing is printed.
 */
#ifndef TB_SELECT_H
#define TB_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "tb_err.h"
#include "tb_store.h"

#define TB_SELECT_MAX_RANGES 64
#define TB_SELECT_MAX_TAGS   16

struct tb_select_range {
	int64_t lo, hi;		/* run ids, inclusive, 1 <= lo <= hi */
};

struct tb_select {
	const char *board;	/* exact board name, NULL = any */
	const char *workload;	/* exact workload name, NULL = any */
	size_t n_ranges;	/* 0 = any run id */
	struct tb_select_range ranges[TB_SELECT_MAX_RANGES];
	size_t n_tags;		/* every tag must match ("key=value" or "key") */
	const char *tags[TB_SELECT_MAX_TAGS];
	int has_since, has_until;
	int64_t since_ms;	/* runs started at or after (Unix ms) */
	int64_t until_ms;	/* runs started before (exclusive) */
};

/*
 * Add run ids: "12", "3,5,9", "10-20", "10-" (10 and later) or "-20"
 * mixed with commas.  TB_ERR_ARG naming the bad part for anything else
 * (ids are integers >= 1, a range's start not after its end).
 */
int tb_select_add_runs(struct tb_select *s, const char *text,
		       struct tb_error *err);

/*
 * Add a tag condition: "key=value" (that tag with exactly that value) or
 * "key" (the tag with any value).  The key is 1..TB_STORE_TAG_KEY_MAX
 * characters of [A-Za-z0-9_.-]; the value at most TB_STORE_TAG_VALUE_MAX
 * bytes.  TB_ERR_ARG otherwise.  text is kept, not copied.
 */
int tb_select_add_tag(struct tb_select *s, const char *text,
		      struct tb_error *err);

/* Check a tag assignment "key=value" (the '=' required); TB_ERR_ARG with
 * a message naming what is wrong. */
int tb_tag_check_assignment(const char *text, struct tb_error *err);

/*
 * Parse a point in time into Unix milliseconds:
 *   2024-05-01                 midnight UTC
 *   2024-05-01T13:45[:30][Z]   UTC ("T" or one space; seconds optional)
 *   ... +02:00 / -0700         with an explicit UTC offset
 *   @1714569600                Unix seconds
 *   30m, 36h, 7d, 2w           that long before now_ms (s, m, h, d, w)
 * TB_ERR_ARG with the accepted forms in the message otherwise.
 */
int tb_parse_time(const char *text, int64_t now_ms, int64_t *ms,
		  struct tb_error *err);

/* --since / --until: tb_parse_time(); TB_ERR_ARG also when the window
 * would be empty (since not before until). */
int tb_select_set_since(struct tb_select *s, const char *text, int64_t now_ms,
			struct tb_error *err);
int tb_select_set_until(struct tb_select *s, const char *text, int64_t now_ms,
			struct tb_error *err);

/* Does the run pass the parts of the selection that need no database
 * (run ids, time window, board, workload)?  Tags are not checked. */
int tb_select_match_run(const struct tb_select *s, const struct tb_run *run);

/*
 * tb_store_runs_foreach() / tb_store_trials_foreach() over the selection.
 * Same callbacks, order and return values; s == NULL selects all.
 * TB_ERR_ARG for a malformed tag (only possible if the selection was
 * filled by hand).
 */
int tb_select_runs_foreach(struct tb_store *store, const struct tb_select *s,
			   tb_store_run_cb cb, void *user, struct tb_error *err);
int tb_select_trials_foreach(struct tb_store *store, const struct tb_select *s,
			     tb_store_trial_cb cb, void *user,
			     struct tb_error *err);

/* A selection with only the store filter's fields. */
void tb_select_from_filter(struct tb_select *s, const struct tb_store_filter *f);

#endif
