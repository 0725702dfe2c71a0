/*
 * select.c - run selections (tb_select.h): parsing the filter texts and
 * walking the store with them.
 *
 * The store's own filter does board, workload, a single run id and one
 * tag in SQL; what it cannot express (id lists and ranges, more tags, a
 * time window) is checked here on each run, once per run even when the
 * walk is over trials.
 */
#include "tb_select.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------- run ids */

static int parse_id(const char *p, const char *end, int64_t *out)
{
	int64_t v = 0;

	if (p == end)
		return -1;
	for (; p < end; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (v < 1)
		return -1;
	*out = v;
	return 0;
}

int tb_select_add_runs(struct tb_select *s, const char *text,
		       struct tb_error *err)
{
	const char *p = text, *end, *dash;
	struct tb_select_range r;
	size_t n = s->n_ranges;		/* committed only when all parse */

	if (!text || !*text)
		return tb_error_set(err, TB_ERR_ARG,
				    "--run '': expected run ids such as 12, 3,5,9 or 10-20");
	while (*p) {
		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		dash = memchr(p, '-', (size_t)(end - p));
		if (!dash) {
			if (parse_id(p, end, &r.lo) < 0)
				goto bad;
			r.hi = r.lo;
		} else {
			r.lo = 1;
			r.hi = INT64_MAX;
			if (dash > p && parse_id(p, dash, &r.lo) < 0)
				goto bad;
			if (dash + 1 < end && parse_id(dash + 1, end, &r.hi) < 0)
				goto bad;
			if (dash == p && dash + 1 == end)
				goto bad;
			if (r.lo > r.hi)
				return tb_error_set(err, TB_ERR_ARG,
						    "--run '%s': range %.*s is empty (start after end)",
						    text, (int)(end - p), p);
		}
		if (n >= TB_SELECT_MAX_RANGES)
			return tb_error_set(err, TB_ERR_ARG,
					    "--run '%s': at most %d ids or ranges",
					    text, TB_SELECT_MAX_RANGES);
		s->ranges[n++] = r;
		if (!*end)
			break;
		p = end + 1;
		if (!*p)
			goto bad_end;
	}
	s->n_ranges = n;
	return TB_OK;
bad:
	return tb_error_set(err, TB_ERR_ARG,
			    "--run '%s': '%.*s' is not a run id (an integer >= 1) or a range such as 10-20",
			    text, (int)(end - p), p);
bad_end:
	return tb_error_set(err, TB_ERR_ARG, "--run '%s': trailing comma", text);
}

/* ---------------------------------------------------------------- tags */

static int tag_key_ok(const char *k, size_t len)
{
	size_t i;

	if (len < 1 || len > TB_STORE_TAG_KEY_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)k[i]) && k[i] != '_' && k[i] != '.' &&
		    k[i] != '-')
			return 0;
	return 1;
}

static int check_tag(const char *text, int need_value, const char *what,
		     struct tb_error *err)
{
	const char *eq = text ? strchr(text, '=') : NULL;
	size_t klen;

	if (!text)
		return tb_error_set(err, TB_ERR_ARG, "%s: missing", what);
	klen = eq ? (size_t)(eq - text) : strlen(text);
	if (need_value && !eq)
		return tb_error_set(err, TB_ERR_ARG,
				    "%s '%s': expected key=value", what, text);
	if (!tag_key_ok(text, klen))
		return tb_error_set(err, TB_ERR_ARG,
				    "%s '%s': the key must be 1..%d characters of [A-Za-z0-9_.-]%s",
				    what, text, TB_STORE_TAG_KEY_MAX,
				    need_value ? "" : " (key=value, or key alone for any value)");
	if (eq && strlen(eq + 1) > TB_STORE_TAG_VALUE_MAX)
		return tb_error_set(err, TB_ERR_ARG,
				    "%s '%.40s...': the value is longer than %d bytes",
				    what, text, TB_STORE_TAG_VALUE_MAX);
	return TB_OK;
}

int tb_tag_check_assignment(const char *text, struct tb_error *err)
{
	return check_tag(text, 1, "tag", err);
}

int tb_select_add_tag(struct tb_select *s, const char *text,
		      struct tb_error *err)
{
	int ret = check_tag(text, 0, "--tag", err);

	if (ret)
		return ret;
	if (s->n_tags >= TB_SELECT_MAX_TAGS)
		return tb_error_set(err, TB_ERR_ARG, "at most %d --tag filters",
				    TB_SELECT_MAX_TAGS);
	s->tags[s->n_tags++] = text;
	return TB_OK;
}

/* ---------------------------------------------------------------- time */

static const char time_forms[] =
	"expected YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM] (UTC unless an offset is given), "
	"@UNIX_SECONDS, or an age such as 30m, 36h, 7d, 2w";

/* Read exactly n digits. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return d[m - 1];
}

static int parse_iso(const char *text, int64_t *ms)
{
	const char *p = text;
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
	struct tm tm;
	time_t t;

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
	    *p++ != '-' || digits(&p, 2, &d))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || y < 1970)
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec))
				return -1;
		}
		if (h > 23 || mi > 59 || sec > 60)
			return -1;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p++ == '+' ? 1 : -1;
			if (digits(&p, 2, &oh))
				return -1;
			if (*p == ':')
				p++;
			if (digits(&p, 2, &om) || oh > 23 || om > 59)
				return -1;
		}
	}
	if (*p)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*ms = ((int64_t)t - sign * (oh * 3600 + om * 60)) * 1000;
	return 0;
}

int tb_parse_time(const char *text, int64_t now_ms, int64_t *ms,
		  struct tb_error *err)
{
	char *end;
	long long v;
	int64_t unit;

	if (!text || !*text)
		return tb_error_set(err, TB_ERR_ARG, "empty time: %s", time_forms);
	if (text[0] == '@') {
		errno = 0;
		v = strtoll(text + 1, &end, 10);
		if (errno || end == text + 1 || *end || v < 0 ||
		    v > INT64_MAX / 1000)
			goto bad;
		*ms = (int64_t)v * 1000;
		return TB_OK;
	}
	if (isdigit((unsigned char)text[0]) && strlen(text) >= 10 && text[4] == '-') {
		if (parse_iso(text, ms) < 0)
			goto bad;
		return TB_OK;
	}
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || end == text || !isdigit((unsigned char)text[0]) || v < 0 ||
	    end[0] == '\0' || end[1] != '\0')
		goto bad;
	switch (*end) {
	case 's': unit = 1000; break;
	case 'm': unit = 60 * 1000; break;
	case 'h': unit = 3600 * 1000; break;
	case 'd': unit = 86400 * 1000; break;
	case 'w': unit = 7 * 86400 * (int64_t)1000; break;
	default: goto bad;
	}
	if (v > now_ms / unit)
		goto bad;
	*ms = now_ms - (int64_t)v * unit;
	return TB_OK;
bad:
	return tb_error_set(err, TB_ERR_ARG, "time '%s': %s", text, time_forms);
}

static int check_window(const struct tb_select *s, struct tb_error *err)
{
	if (s->has_since && s->has_until && s->since_ms >= s->until_ms)
		return tb_error_set(err, TB_ERR_ARG,
				    "--since is not before --until: no run can match");
	return TB_OK;
}

int tb_select_set_since(struct tb_select *s, const char *text, int64_t now_ms,
			struct tb_error *err)
{
	int ret = tb_parse_time(text, now_ms, &s->since_ms, err);

	if (ret)
		return tb_error_prefix(err, "--since: ");
	s->has_since = 1;
	return check_window(s, err);
}

int tb_select_set_until(struct tb_select *s, const char *text, int64_t now_ms,
			struct tb_error *err)
{
	int ret = tb_parse_time(text, now_ms, &s->until_ms, err);

	if (ret)
		return tb_error_prefix(err, "--until: ");
	s->has_until = 1;
	return check_window(s, err);
}

/* ---------------------------------------------------------------- walks */

void tb_select_from_filter(struct tb_select *s, const struct tb_store_filter *f)
{
	memset(s, 0, sizeof(*s));
	if (!f)
		return;
	s->board = f->board;
	s->workload = f->workload;
	if (f->run_id) {
		s->ranges[0].lo = s->ranges[0].hi = f->run_id;
		s->n_ranges = 1;
	}
	if (f->tag)
		s->tags[s->n_tags++] = f->tag;
}

int tb_select_match_run(const struct tb_select *s, const struct tb_run *run)
{
	size_t i;

	if (!s)
		return 1;
	if (s->board && strcmp(s->board, run->info.board))
		return 0;
	if (s->workload && strcmp(s->workload, run->info.workload))
		return 0;
	if (s->has_since && run->info.started_at < s->since_ms)
		return 0;
	if (s->has_until && run->info.started_at >= s->until_ms)
		return 0;
	if (!s->n_ranges)
		return 1;
	for (i = 0; i < s->n_ranges; i++)
		if (run->id >= s->ranges[i].lo && run->id <= s->ranges[i].hi)
			return 1;
	return 0;
}

struct walk {
	struct tb_store *store;
	const struct tb_select *s;
	tb_store_run_cb run_cb;
	tb_store_trial_cb trial_cb;
	void *user;
	struct tb_error *err;
	int64_t cached_run;	/* run whose verdict is in cached_ok */
	int cached_ok;
	int tag_hit;		/* scratch for tag_cb */
	const char *want_key;
	size_t want_key_len;
	const char *want_value;	/* NULL: any value */
};

static int tag_cb(const char *key, const char *value, void *user)
{
	struct walk *w = user;

	if (strlen(key) == w->want_key_len &&
	    !memcmp(key, w->want_key, w->want_key_len) &&
	    (!w->want_value || !strcmp(value, w->want_value))) {
		w->tag_hit = 1;
		return 1;	/* stop: found */
	}
	return 0;
}

/* Tags 1.. (tag 0 is in the store's filter).  1 match, 0 not, < 0 error. */
static int extra_tags_match(struct walk *w, int64_t run_id)
{
	size_t i;
	int ret;

	for (i = 1; i < w->s->n_tags; i++) {
		const char *t = w->s->tags[i], *eq = strchr(t, '=');

		w->want_key = t;
		w->want_key_len = eq ? (size_t)(eq - t) : strlen(t);
		w->want_value = eq ? eq + 1 : NULL;
		w->tag_hit = 0;
		ret = tb_store_tags_foreach(w->store, run_id, tag_cb, w, w->err);
		if (ret < 0)
			return ret;
		if (!w->tag_hit)
			return 0;
	}
	return 1;
}

/* 1 if the run is selected, 0 if not, < 0 on a store error. */
static int run_selected(struct walk *w, const struct tb_run *run)
{
	int ok;

	if (w->cached_run == run->id)
		return w->cached_ok;
	ok = tb_select_match_run(w->s, run);
	if (ok && w->s->n_tags > 1) {
		ok = extra_tags_match(w, run->id);
		if (ok < 0)
			return ok;
	}
	w->cached_run = run->id;
	w->cached_ok = ok;
	return ok;
}

static int on_run(const struct tb_run *run, void *user)
{
	struct walk *w = user;
	int ok = run_selected(w, run);

	if (ok <= 0)
		return ok;
	return w->run_cb(run, w->user);
}

static int on_trial(const struct tb_run *run, const struct tb_trial *t, void *user)
{
	struct walk *w = user;
	int ok = run_selected(w, run);

	if (ok <= 0)
		return ok;
	return w->trial_cb(run, t, w->user);
}

/* The part of the selection the store does in SQL. */
static void store_filter(const struct tb_select *s, struct tb_store_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->board = s->board;
	f->workload = s->workload;
	if (s->n_ranges == 1 && s->ranges[0].lo == s->ranges[0].hi)
		f->run_id = s->ranges[0].lo;
	if (s->n_tags)
		f->tag = s->tags[0];
}

int tb_select_runs_foreach(struct tb_store *store, const struct tb_select *s,
			   tb_store_run_cb cb, void *user, struct tb_error *err)
{
	static const struct tb_select all;
	struct walk w = { .store = store, .s = s ? s : &all, .run_cb = cb,
			  .user = user, .err = err };
	struct tb_store_filter f;

	store_filter(w.s, &f);
	return tb_store_runs_foreach(store, &f, on_run, &w, err);
}

int tb_select_trials_foreach(struct tb_store *store, const struct tb_select *s,
			     tb_store_trial_cb cb, void *user,
			     struct tb_error *err)
{
	static const struct tb_select all;
	struct walk w = { .store = store, .s = s ? s : &all, .trial_cb = cb,
			  .user = user, .err = err };
	struct tb_store_filter f;

	store_filter(w.s, &f);
	return tb_store_trials_foreach(store, &f, on_trial, &w, err);
}
