/*
 * test_select.c - run selections: the filter texts (run ids, tags, times)
 * are checked with clear errors, and walks apply every part.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "tb_select.h"

static const int64_t now = 1714608000000;	/* 2024-05-02T00:00:00Z */

Test(select, run_ids_lists_and_ranges)
{
	struct tb_select s = { 0 };
	struct tb_error e = { 0 };

	cr_assert_eq(tb_select_add_runs(&s, "12", &e), 0, "%s", e.msg);
	cr_assert_eq(tb_select_add_runs(&s, "3,5,9-11,20-", &e), 0, "%s", e.msg);
	cr_assert_eq(s.n_ranges, 5);
	cr_expect_eq(s.ranges[0].lo, 12);
	cr_expect_eq(s.ranges[3].lo, 9);
	cr_expect_eq(s.ranges[3].hi, 11);
	cr_expect_eq(s.ranges[4].lo, 20);
	cr_expect_eq(s.ranges[4].hi, INT64_MAX);
	cr_assert_eq(tb_select_add_runs(&s, "-4", &e), 0, "%s", e.msg);
	cr_expect_eq(s.ranges[5].lo, 1);
	cr_expect_eq(s.ranges[5].hi, 4);
}

Test(select, malformed_run_ids_are_refused_with_the_bad_part)
{
	static const char *const bad[] = { "", "x", "0", "1,,2", "1,", "5-3", "-", "1.5",
					   "12a", "99999999999999999999", " 1" };
	struct tb_select s = { 0 };
	struct tb_error e = { 0 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.msg[0] = '\0';
		cr_expect_eq(tb_select_add_runs(&s, bad[i], &e), TB_ERR_ARG, "'%s' accepted", bad[i]);
		cr_expect(strstr(e.msg, "--run") != NULL, "message for '%s': %s", bad[i], e.msg);
	}
	cr_expect_eq(s.n_ranges, 0, "nothing added on error");
	cr_expect(strstr((tb_select_add_runs(&s, "5-3", &e), e.msg), "empty") != NULL, "%s", e.msg);
}

Test(select, tags_are_checked)
{
	struct tb_select s = { 0 };
	struct tb_error e = { 0 };
	char longv[1100];

	cr_expect_eq(tb_select_add_tag(&s, "git.commit=abc", &e), 0);
	cr_expect_eq(tb_select_add_tag(&s, "baseline", &e), 0);
	cr_expect_eq(tb_select_add_tag(&s, "empty=", &e), 0);
	cr_expect_eq(tb_select_add_tag(&s, "=x", &e), TB_ERR_ARG);
	cr_expect_eq(tb_select_add_tag(&s, "bad key=x", &e), TB_ERR_ARG);
	cr_expect(strstr(e.msg, "[A-Za-z0-9_.-]") != NULL, "%s", e.msg);
	cr_expect_eq(tb_select_add_tag(&s, "", &e), TB_ERR_ARG);
	memset(longv, 'v', sizeof(longv));
	memcpy(longv, "k=", 2);
	longv[sizeof(longv) - 1] = '\0';
	cr_expect_eq(tb_select_add_tag(&s, longv, &e), TB_ERR_ARG);
	cr_expect_eq(s.n_tags, 3);
	cr_expect_eq(tb_tag_check_assignment("a=b", &e), 0);
	cr_expect_eq(tb_tag_check_assignment("a", &e), TB_ERR_ARG, "assignment needs '='");
}

Test(select, times)
{
	struct tb_error e = { 0 };
	int64_t ms;

	cr_assert_eq(tb_parse_time("2024-05-01", now, &ms, &e), 0, "%s", e.msg);
	cr_expect_eq(ms, 1714521600000);
	cr_assert_eq(tb_parse_time("2024-05-01T13:45", now, &ms, &e), 0, "%s", e.msg);
	cr_expect_eq(ms, 1714521600000 + (13 * 3600 + 45 * 60) * 1000LL);
	cr_assert_eq(tb_parse_time("2024-05-01 13:45:30Z", now, &ms, &e), 0, "%s", e.msg);
	cr_expect_eq(ms, 1714521600000 + (13 * 3600 + 45 * 60 + 30) * 1000LL);
	cr_assert_eq(tb_parse_time("2024-05-01T02:00+02:00", now, &ms, &e), 0, "%s", e.msg);
	cr_expect_eq(ms, 1714521600000, "offset applied");
	cr_assert_eq(tb_parse_time("@1714521600", now, &ms, &e), 0, "%s", e.msg);
	cr_expect_eq(ms, 1714521600000);
	cr_assert_eq(tb_parse_time("36h", now, &ms, &e), 0, "%s", e.msg);
	cr_expect_eq(ms, now - 36 * 3600 * 1000LL);
	cr_assert_eq(tb_parse_time("2w", now, &ms, &e), 0, "%s", e.msg);
	cr_expect_eq(ms, now - 14 * 86400 * 1000LL);
}

Test(select, malformed_times_list_the_accepted_forms)
{
	static const char *const bad[] = { "", "yesterday", "2024-13-01", "2024-02-30",
					   "2024-05-01T25:00", "2024-05-01T12", "7x", "7",
					   "@", "@-5", "2024/05/01", "-3d", "1d2h" };
	struct tb_error e = { 0 };
	size_t i;
	int64_t ms;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(tb_parse_time(bad[i], now, &ms, &e), TB_ERR_ARG, "'%s' accepted", bad[i]);
		cr_expect(strstr(e.msg, "YYYY-MM-DD") != NULL, "'%s': %s", bad[i], e.msg);
	}
}

Test(select, empty_window_is_refused)
{
	struct tb_select s = { 0 };
	struct tb_error e = { 0 };

	cr_assert_eq(tb_select_set_since(&s, "2024-05-02", now, &e), 0);
	cr_expect_eq(tb_select_set_until(&s, "2024-05-01", now, &e), TB_ERR_ARG);
	cr_expect(strstr(e.msg, "--since") != NULL, "%s", e.msg);
	cr_expect_eq(tb_select_set_since(&s, "bogus", now, &e), TB_ERR_ARG);
	cr_expect(strncmp(e.msg, "--since: ", 9) == 0, "%s", e.msg);
}

/* ------------------------------------------------------------ walks */

static struct tb_store *store_with_runs(void)
{
	struct tb_store *s = NULL;
	struct tb_error e = { 0 };
	int64_t id;
	int i;

	cr_assert_eq(tb_store_open(":memory:", &s, &e), 0, "%s", e.msg);
	for (i = 0; i < 6; i++) {
		struct tb_run_info in = {
			.board = i % 2 ? "qemu-m4" : "sim", .workload = "kws01",
			.started_at = 1714521600000 + i * 86400000LL,
			.board_clock_hz = -1, .timer_hz = -1, .protocol_version = -1,
			.flash_bytes = -1, .static_ram_bytes = -1,
		};
		struct tb_trial t = { .inferences = 1, .ticks = 1, .latency_ms = 1,
				      .inf_min_ms = NAN, .inf_max_ms = NAN };

		cr_assert_eq(tb_store_run_begin(s, &in, &id, &e), 0, "%s", e.msg);
		cr_assert_eq(tb_store_tag_set(s, id, "night", i < 3 ? "a" : "b", &e), 0);
		if (i % 3 == 0)
			cr_assert_eq(tb_store_tag_set(s, id, "special", "", &e), 0);
		cr_assert_eq(tb_store_trial_add(s, id, &t, &e), 0, "%s", e.msg);
	}
	return s;
}

struct ids {
	int64_t v[16];
	int n;
};

static int collect(const struct tb_run *run, void *user)
{
	struct ids *ids = user;

	ids->v[ids->n++] = run->id;
	return 0;
}

static int collect_trial(const struct tb_run *run, const struct tb_trial *t, void *user)
{
	(void)t;
	return collect(run, user);
}

static struct ids walk(struct tb_store *st, struct tb_select *s)
{
	struct ids ids = { 0 }, tids = { 0 };
	struct tb_error e = { 0 };
	int i;

	cr_assert_eq(tb_select_runs_foreach(st, s, collect, &ids, &e), 0, "%s", e.msg);
	cr_assert_eq(tb_select_trials_foreach(st, s, collect_trial, &tids, &e), 0, "%s", e.msg);
	cr_assert_eq(ids.n, tids.n, "runs and trials walks agree");
	for (i = 0; i < ids.n; i++)
		cr_assert_eq(ids.v[i], tids.v[i]);
	return ids;
}

Test(select, walks_apply_every_part)
{
	struct tb_store *st = store_with_runs();
	struct tb_select s = { 0 };
	struct tb_error e = { 0 };
	struct ids r;

	r = walk(st, &s);
	cr_expect_eq(r.n, 6);

	cr_assert_eq(tb_select_add_runs(&s, "2-4,6", &e), 0);
	r = walk(st, &s);
	cr_assert_eq(r.n, 4);
	cr_expect_eq(r.v[0], 2);
	cr_expect_eq(r.v[3], 6);

	s.board = "sim";	/* runs 1, 3, 5 */
	r = walk(st, &s);
	cr_assert_eq(r.n, 1);
	cr_expect_eq(r.v[0], 3);

	memset(&s, 0, sizeof(s));
	cr_assert_eq(tb_select_add_tag(&s, "night=b", &e), 0);
	cr_assert_eq(tb_select_add_tag(&s, "special", &e), 0);	/* runs 1 and 4 */
	r = walk(st, &s);
	cr_assert_eq(r.n, 1, "both tags required");
	cr_expect_eq(r.v[0], 4);

	memset(&s, 0, sizeof(s));
	cr_assert_eq(tb_select_set_since(&s, "2024-05-02", now, &e), 0);
	cr_assert_eq(tb_select_set_until(&s, "2024-05-04", now, &e), 0);
	r = walk(st, &s);
	cr_assert_eq(r.n, 2, "since inclusive, until exclusive");
	cr_expect_eq(r.v[0], 2);
	cr_expect_eq(r.v[1], 3);
	tb_store_close(st);
}
