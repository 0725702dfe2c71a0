/*
 * cli_select.c - the run-selection options of the reporting commands
 * (tb_cli_select.h).
 */
#include "tb_cli.h"
#include "tb_cli_select.h"
#include "tb_session.h"
#include "tb_workload.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t tb_cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void note(struct tb_cli_sel *s, const char *opt, const char *arg)
{
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s%s %s", len ? " " : "", opt, arg);
}

int tb_cli_select_opt(const char *cmd, int c, const char *arg,
		      struct tb_cli_sel *s)
{
	struct tb_error err = { 0 };
	const struct tb_workload *wl;
	int ret;

	switch (c) {
	case TB_SEL_OPT_DB:
		s->db = arg;
		return 1;
	case 'b':
		if (!*arg) {
			tb_cli_usage_error(cmd, "--board: empty board name");
			return 2;
		}
		s->sel.board = arg;
		note(s, "--board", arg);
		return 1;
	case 'w':
		if (!*arg) {
			tb_cli_usage_error(cmd, "--workload: empty workload name");
			return 2;
		}
		/* Runs are stored under the canonical name (kws01): resolve a
		 * known alias; keep any other name as given. */
		wl = tb_session_find_workload(arg, NULL, 0);
		if (wl) {
			snprintf(s->workload_buf, sizeof(s->workload_buf), "%s", wl->name);
			s->sel.workload = s->workload_buf;
		} else {
			s->sel.workload = arg;
		}
		note(s, "--workload", s->sel.workload);
		return 1;
	case TB_SEL_OPT_RUN:
		ret = tb_select_add_runs(&s->sel, arg, &err);
		break;
	case TB_SEL_OPT_TAG:
		ret = tb_select_add_tag(&s->sel, arg, &err);
		break;
	case TB_SEL_OPT_SINCE:
		ret = tb_select_set_since(&s->sel, arg, tb_cli_now_ms(), &err);
		break;
	case TB_SEL_OPT_UNTIL:
		ret = tb_select_set_until(&s->sel, arg, tb_cli_now_ms(), &err);
		break;
	default:
		return 0;
	}
	if (ret < 0) {
		tb_cli_usage_error(cmd, "%s", err.msg);
		return 2;
	}
	note(s, c == TB_SEL_OPT_RUN ? "--run" : c == TB_SEL_OPT_TAG ? "--tag" :
		c == TB_SEL_OPT_SINCE ? "--since" : "--until", arg);
	return 1;
}

int tb_cli_open_db(const char *db, struct tb_store **st, struct tb_error *err)
{
	char path[4096];
	int rc;

	*st = NULL;
	if (db) {
		snprintf(path, sizeof(path), "%s", db);
	} else {
		rc = tb_store_default_path(path, sizeof(path), err);
		if (rc < 0)
			return rc;
	}
	if (access(path, F_OK) < 0)
		return tb_error_set(err, TB_ERR_NOTFOUND,
				    "no results database at %s (run `tinybench run` first, or pass --db)",
				    path);
	return tb_store_open(path, st, err);
}

static int stop_at_first(const struct tb_run *run, void *user)
{
	(void)run;
	*(int *)user = 1;
	return 1;
}

int tb_cli_require_runs(struct tb_store *st, struct tb_error *err)
{
	int any = 0, rc;

	rc = tb_store_runs_foreach(st, NULL, stop_at_first, &any, err);
	if (rc < 0)
		return rc;
	if (!any)
		return tb_error_set(err, TB_ERR_NOTFOUND,
				    "the results database %s has no runs yet (store some with `tinybench run`)",
				    tb_store_path(st));
	return 0;
}
