/*
 * test_daemon.c - tinybenchd end to end: the real daemon with sim boards
 * (native runners on ptys), clients on its socket, the results and queue
 * files read back with SQLite.  The "Done when" list of the daemon's issue,
 * one test each: concurrency, 1,000 jobs from 20 clients, byte errors,
 * a runner killed and a runner hung, kill -9 and restart, SIGTERM
 * checkpoint, refused requests; plus quarantine and the CLI commands.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tb_client.h"

extern char **environ;

static char dir[256], sock[300], conf[300], qdb[300], rdb[300];
static pid_t dpid;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tb-daemon-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/run/d.sock", dir);
	snprintf(conf, sizeof(conf), "%s/d.conf", dir);
	snprintf(qdb, sizeof(qdb), "%s/state/queue.db", dir);
	snprintf(rdb, sizeof(rdb), "%s/results.db", dir);
	setenv("XDG_DATA_HOME", dir, 1);
	setenv("XDG_CONFIG_HOME", dir, 1);
	setenv("XDG_STATE_HOME", dir, 1);
	setenv("TINYBENCH_DAEMON", sock, 1);
	dpid = 0;
}

static void teardown(void)
{
	if (dpid > 0) {
		kill(dpid, SIGKILL);
		waitpid(dpid, NULL, 0);
	}
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(daemon, .init = setup, .fini = teardown, .timeout = 240);

/* [daemon] with our paths, then the given board sections. */
static void write_config(const char *daemon_extra, const char *boards)
{
	FILE *f = fopen(conf, "w");

	cr_assert_not_null(f);
	fprintf(f, "[daemon]\nsocket = %s\nqueue = %s\nresults = %s\nlog_level = debug\n%s\n%s",
		sock, qdb, rdb, daemon_extra ? daemon_extra : "", boards);
	fclose(f);
}

static json_t *try_call(json_t *req, struct tb_error *err)
{
	struct tb_client *c = NULL;
	json_t *resp = NULL;

	if (tb_client_open(sock, NULL, &c, err) < 0) {
		json_decref(req);
		return NULL;
	}
	if (tb_client_call(c, req, &resp, err) < 0)
		resp = NULL;
	tb_client_close(c);
	return resp;
}

static json_t *call(json_t *req)
{
	struct tb_error err = { 0 };
	json_t *r = try_call(req, &err);

	cr_assert_not_null(r, "daemon call failed: %s", err.msg);
	return r;
}

static void start_daemon(void)
{
	const char *exe = getenv("TB_DAEMON");
	char logpath[400];
	char *argv[] = { (char *)exe, "--config", conf, NULL };
	posix_spawn_file_actions_t fa;
	struct tb_error err;
	double t0 = now_s();
	json_t *r;

	cr_assert_not_null(exe, "TB_DAEMON not set (run through meson test)");
	snprintf(logpath, sizeof(logpath), "%s/daemon.log", dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
	cr_assert_eq(posix_spawn(&dpid, exe, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	for (;;) {
		int st;

		memset(&err, 0, sizeof(err));
		r = try_call(json_pack("{s:s}", "op", "ping"), &err);
		if (r)
			break;
		cr_assert_eq(waitpid(dpid, &st, WNOHANG), 0, "tinybenchd exited (status 0x%x); see %s",
			     st, logpath);
		cr_assert_lt(now_s() - t0, 10.0, "tinybenchd did not answer: %s", err.msg);
		usleep(20000);
	}
	json_decref(r);
}

/* Signal the daemon and wait for it to exit; returns its wait status. */
static int stop_daemon(int sig, double timeout_s)
{
	double t0 = now_s();
	int st = 0;

	kill(dpid, sig);
	while (waitpid(dpid, &st, WNOHANG) == 0) {
		cr_assert_lt(now_s() - t0, timeout_s, "tinybenchd did not exit after signal %d", sig);
		usleep(10000);
	}
	dpid = 0;
	return st;
}

static int64_t submit(json_t *req)
{
	json_t *r, *job;
	int64_t id;

	json_object_set_new(req, "op", json_string("submit"));
	r = call(req);
	job = json_object_get(r, "job");
	id = json_integer_value(json_object_get(job, "id"));
	cr_assert_gt(id, 0);
	json_decref(r);
	return id;
}

static int64_t count(json_t *counts, const char *state)
{
	return json_integer_value(json_object_get(counts, state));
}

/* Wait until n jobs are done, failed or cancelled. */
static void wait_finished(int64_t n, double timeout_s)
{
	double t0 = now_s();

	for (;;) {
		json_t *r = call(json_pack("{s:s, s:i}", "op", "jobs", "limit", 1));
		json_t *c = json_object_get(r, "counts");
		int64_t fin = count(c, "done") + count(c, "failed") + count(c, "cancelled");

		json_decref(r);
		if (fin >= n)
			return;
		cr_assert_lt(now_s() - t0, timeout_s, "only %lld of %lld jobs finished",
			     (long long)fin, (long long)n);
		usleep(50000);
	}
}

static json_t *job(int64_t id)
{
	json_t *r = call(json_pack("{s:s, s:I}", "op", "status", "job", (json_int_t)id));
	json_t *j = json_incref(json_object_get(r, "job"));

	json_decref(r);
	return j;
}

static const char *jstr(json_t *o, const char *k);

static void wait_state(int64_t id, const char *state, double timeout_s)
{
	double t0 = now_s();

	for (;;) {
		json_t *j = job(id);
		int same = !strcmp(jstr(j, "state"), state);

		json_decref(j);
		if (same)
			return;
		cr_assert_lt(now_s() - t0, timeout_s, "job %lld never %s", (long long)id, state);
		usleep(20000);
	}
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static long long jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static int64_t sql_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK, "%s", path);
	sqlite3_busy_timeout(db, 5000);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
		     sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* The same, -1 while the file or its tables do not exist yet. */
static int64_t sql_try_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return v;
}

static void integrity_ok(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok", "%s", path);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

#define TWO_SIMS "[board sim-a]\nboard = sim\n\n[board sim-b]\nboard = sim\n"

/* ------------------------------------------------------------------------ */

Test(daemon, two_boards_run_jobs_concurrently)
{
	int64_t a, b;
	json_t *ja, *jb;

	write_config(NULL, TWO_SIMS);
	start_daemon();
	a = submit(json_pack("{s:s, s:s, s:i, s:f}", "board", "sim-a", "workload", "kws",
			     "trials", 3, "min_time", 0.3));
	b = submit(json_pack("{s:s, s:s, s:i, s:f}", "board", "sim-b", "workload", "kws",
			     "trials", 3, "min_time", 0.3));
	wait_finished(2, 60);
	ja = job(a);
	jb = job(b);
	cr_assert_str_eq(jstr(ja, "state"), "done", "%s", jstr(ja, "reason"));
	cr_assert_str_eq(jstr(jb, "state"), "done", "%s", jstr(jb, "reason"));
	cr_expect_str_eq(jstr(ja, "worker"), "sim-a");
	cr_expect_str_eq(jstr(jb, "worker"), "sim-b");
	/* Each run took about a second; they overlapped in time. */
	cr_expect_lt(jint(ja, "started_at"), jint(jb, "ended_at"));
	cr_expect_lt(jint(jb, "started_at"), jint(ja, "ended_at"));
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM runs WHERE status = 'ok'"), 2);
	json_decref(ja);
	json_decref(jb);
	stop_daemon(SIGTERM, 20);
}

/* ---- 1,000 jobs from 20 clients --------------------------------------- */

#define CLIENTS 20
#define JOBS_PER_CLIENT 50

static void *client_thread(void *arg)
{
	struct tb_client *c = NULL;
	struct tb_error err = { 0 };
	int *ok = arg;

	*ok = 0;
	if (tb_client_open(sock, NULL, &c, &err) < 0)
		return NULL;
	for (int i = 0; i < JOBS_PER_CLIENT; i++) {
		json_t *r = NULL;

		if (tb_client_call(c, json_pack("{s:s, s:s, s:s, s:i, s:f, s:i}", "op", "submit",
						"board", "sim", "workload", "kws", "trials", 1,
						"min_time", 0.001, "warmups", 0), &r, &err) < 0)
			break;
		json_decref(r);
		(*ok)++;
	}
	tb_client_close(c);
	return NULL;
}

Test(daemon, thousand_jobs_from_twenty_clients_all_finish_once)
{
	pthread_t th[CLIENTS];
	int ok[CLIENTS], total = 0;
	double t0, t1;

	write_config(NULL, TWO_SIMS);
	start_daemon();
	t0 = now_s();
	for (int i = 0; i < CLIENTS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, client_thread, &ok[i]), 0);
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(th[i], NULL);
		total += ok[i];
	}
	cr_assert_eq(total, CLIENTS * JOBS_PER_CLIENT, "submits acknowledged");
	wait_finished(CLIENTS * JOBS_PER_CLIENT, 200);
	t1 = now_s();
	cr_log_info("1000 jobs in %.1f s: %.1f jobs/s", t1 - t0, 1000 / (t1 - t0));
	/* None lost: every job done, each with its own run ... */
	cr_expect_eq(sql_int(qdb, "SELECT count(*) FROM jobs WHERE state = 'done'"), 1000);
	cr_expect_eq(sql_int(qdb, "SELECT count(DISTINCT run_id) FROM jobs"), 1000);
	/* ... and none run twice: one start each, one run per job tag. */
	cr_expect_eq(sql_int(qdb, "SELECT max(starts) FROM jobs"), 1);
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM runs"), 1000);
	cr_expect_eq(sql_int(rdb, "SELECT count(DISTINCT value) FROM run_tags WHERE key = 'job'"), 1000);
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM runs WHERE status = 'ok'"), 1000);
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM trials WHERE status = 'ok'"
			     " AND output_check = 'match'"), 1000);
	/* both boards worked */
	cr_expect_gt(sql_int(rdb, "SELECT count(*) FROM run_tags WHERE key = 'daemon.board'"
			     " AND value = 'sim-a'"), 100);
	cr_expect_gt(sql_int(rdb, "SELECT count(*) FROM run_tags WHERE key = 'daemon.board'"
			     " AND value = 'sim-b'"), 100);
	stop_daemon(SIGTERM, 20);
}

/* ---- faults ------------------------------------------------------------ */

Test(daemon, byte_error_rate_1e3_every_run_completes_and_retries_are_stored)
{
	write_config(NULL,
		     "[board sim-a]\nboard = sim\nfault = ber=1e-3,seed=11\ntimeout_ms = 1000\n\n"
		     "[board sim-b]\nboard = sim\nfault = ber=1e-3,seed=12\ntimeout_ms = 1000\n");
	start_daemon();
	for (int i = 0; i < 12; i++)
		submit(json_pack("{s:s, s:s, s:i, s:f}", "board", "sim", "workload", "kws",
				 "trials", 3, "min_time", 0.01));
	wait_finished(12, 200);
	cr_expect_eq(sql_int(qdb, "SELECT count(*) FROM jobs WHERE state = 'done'"), 12);
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM runs WHERE status = 'ok'"), 12);
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM trials WHERE status = 'ok'"
			     " AND output_check = 'match'"), 36, "correct outputs");
	/* every trial says what the damage cost; together it is not nothing */
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM trials WHERE link_retries IS NULL"
			     " OR attempts IS NULL"), 0);
	cr_expect_gt(sql_int(rdb, "SELECT sum(link_retries) + sum(attempts - 1) FROM trials"), 0);
	cr_log_info("BER 1e-3: %lld link retries, %lld trial re-runs, %lld damaged frames in 36 trials",
		    (long long)sql_int(rdb, "SELECT sum(link_retries) FROM trials"),
		    (long long)sql_int(rdb, "SELECT sum(attempts - 1) FROM trials"),
		    (long long)sql_int(rdb, "SELECT sum(frames_dropped) FROM trials"));
	stop_daemon(SIGTERM, 30);
}

Test(daemon, runner_killed_mid_trial_is_restarted_and_the_trial_retried)
{
	json_t *j;

	/* Calibration: 2 inferences, trial 1: 1, trial 2 dies at the 4th. */
	write_config(NULL, "[board sim-a]\nboard = sim\n"
		     "runner_args = --fault slow=5 --fault die-after=3\n");
	start_daemon();
	j = job(submit(json_pack("{s:s, s:s, s:i, s:f, s:i}", "board", "sim-a", "workload",
				 "kws", "trials", 4, "min_time", 0.001, "warmups", 0)));
	json_decref(j);
	wait_finished(1, 60);
	j = job(1);
	cr_assert_str_eq(jstr(j, "state"), "done", "%s", jstr(j, "reason"));
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM trials WHERE status = 'ok'"), 4);
	cr_expect_eq(sql_int(rdb, "SELECT attempts FROM trials WHERE idx = 1"), 2);
	cr_expect_eq(sql_int(qdb, "SELECT count(*) FROM job_log WHERE level = 'warning'"
			     " AND message LIKE '%exited with status 3%'"), 1);
	json_decref(j);
	stop_daemon(SIGTERM, 20);
}

Test(daemon, hung_runner_is_timed_out_reset_and_the_trial_retried)
{
	json_t *j;
	double t0;

	write_config(NULL, "[board sim-a]\nboard = sim\ntimeout_ms = 1000\n"
		     "runner_args = --fault slow=5 --fault hang-after=3\n");
	start_daemon();
	t0 = now_s();
	submit(json_pack("{s:s, s:s, s:i, s:f, s:i}", "board", "sim-a", "workload", "kws",
			 "trials", 3, "min_time", 0.001, "warmups", 0));
	wait_finished(1, 60);
	j = job(1);
	cr_assert_str_eq(jstr(j, "state"), "done", "%s", jstr(j, "reason"));
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM trials WHERE status = 'ok'"), 3);
	cr_expect_eq(sql_int(rdb, "SELECT attempts FROM trials WHERE idx = 1"), 2);
	cr_expect_lt(now_s() - t0, 15.0);
	json_decref(j);
	stop_daemon(SIGTERM, 20);
}

Test(daemon, a_board_that_keeps_failing_is_quarantined_with_the_reason)
{
	json_t *r, *b;

	write_config(NULL, "[board mute]\nboard = sim\nquarantine_after = 2\n"
		     "runner_args = --fault silent\n");
	start_daemon();
	for (double t0 = now_s();; usleep(100000)) {
		r = call(json_pack("{s:s}", "op", "boards"));
		b = json_array_get(json_object_get(r, "boards"), 0);
		if (!strcmp(jstr(b, "state"), "quarantined"))
			break;
		cr_assert_lt(now_s() - t0, 30.0, "not quarantined: %s", jstr(b, "state"));
		json_decref(r);
	}
	cr_expect(strstr(jstr(b, "reason"), "HELLO"), "reason: %s", jstr(b, "reason"));
	json_decref(r);
	/* kept across a restart, until released */
	stop_daemon(SIGTERM, 20);
	start_daemon();
	r = call(json_pack("{s:s}", "op", "boards"));
	cr_expect_str_eq(jstr(json_array_get(json_object_get(r, "boards"), 0), "state"),
			 "quarantined");
	json_decref(r);
	json_decref(call(json_pack("{s:s, s:s}", "op", "release", "board", "mute")));
	usleep(300000);
	r = call(json_pack("{s:s}", "op", "boards"));
	cr_expect_str_neq(jstr(json_array_get(json_object_get(r, "boards"), 0), "state"),
			  "quarantined");
	json_decref(r);
	stop_daemon(SIGTERM, 20);
}

/* ---- crash and stop ----------------------------------------------------- */

struct trial_row {
	int64_t started, ended, ticks;
};

static void read_trials(struct trial_row *t, int n)
{
	char sql[160];

	for (int i = 0; i < n; i++) {
		snprintf(sql, sizeof(sql), "SELECT started_at FROM trials WHERE run_id = 1 AND idx = %d", i);
		t[i].started = sql_int(rdb, sql);
		snprintf(sql, sizeof(sql), "SELECT ended_at FROM trials WHERE run_id = 1 AND idx = %d", i);
		t[i].ended = sql_int(rdb, sql);
		snprintf(sql, sizeof(sql), "SELECT ticks FROM trials WHERE run_id = 1 AND idx = %d", i);
		t[i].ticks = sql_int(rdb, sql);
	}
}

static void wait_trials(int n, double timeout_s)
{
	double t0 = now_s();

	while (sql_try_int(rdb, "SELECT count(*) FROM trials WHERE run_id = 1") < n) {
		cr_assert_lt(now_s() - t0, timeout_s, "fewer than %d trials stored", n);
		usleep(20000);
	}
}

Test(daemon, kill_9_mid_run_loses_no_trial_and_the_job_is_requeued_and_completes)
{
	struct trial_row before[8], after[8];
	int64_t kept;
	json_t *j;

	write_config(NULL, "[board sim-a]\nboard = sim\n");
	start_daemon();
	submit(json_pack("{s:s, s:s, s:i, s:f}", "board", "sim-a", "workload", "kws",
			 "trials", 8, "min_time", 0.25));
	wait_trials(2, 30);
	stop_daemon(SIGKILL, 5);
	kept = sql_int(rdb, "SELECT count(*) FROM trials WHERE run_id = 1");
	cr_assert_geq(kept, 2);
	read_trials(before, (int)kept);
	integrity_ok(rdb);
	integrity_ok(qdb);
	cr_expect_eq(sql_int(qdb, "SELECT count(*) FROM jobs WHERE state = 'running'"), 1,
		     "the killed daemon left its job running");

	start_daemon();
	wait_finished(1, 60);
	j = job(1);
	cr_assert_str_eq(jstr(j, "state"), "done", "%s", jstr(j, "reason"));
	cr_expect_eq(jint(j, "interruptions"), 1);
	cr_expect_eq(jint(j, "starts"), 2);
	cr_expect_eq(jint(j, "run_id"), 1, "the run was resumed, not begun again");
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM runs"), 1);
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM trials WHERE run_id = 1 AND status = 'ok'"), 8);
	cr_expect_eq(sql_int(rdb, "SELECT status = 'ok' FROM runs WHERE id = 1"), 1);
	read_trials(after, (int)kept);
	for (int i = 0; i < kept; i++)
		cr_expect(before[i].started == after[i].started && before[i].ticks == after[i].ticks,
			  "trial %d changed", i);
	cr_expect_eq(sql_int(qdb, "SELECT count(*) FROM job_log WHERE message LIKE 'interrupted:%'"), 1);
	integrity_ok(rdb);
	integrity_ok(qdb);
	json_decref(j);
	stop_daemon(SIGTERM, 20);
}

Test(daemon, sigterm_finishes_the_current_trial_and_the_run_resumes_after_restart)
{
	int64_t kept;
	double t0;
	json_t *j;
	int st;

	write_config(NULL, "[board sim-a]\nboard = sim\n");
	start_daemon();
	submit(json_pack("{s:s, s:s, s:i, s:f}", "board", "sim-a", "workload", "kws",
			 "trials", 6, "min_time", 0.4));
	wait_trials(1, 30);
	t0 = now_s();
	st = stop_daemon(SIGTERM, 10);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	cr_expect_lt(now_s() - t0, 2.0, "the current trial finishes, no more");
	kept = sql_int(rdb, "SELECT count(*) FROM trials WHERE run_id = 1");
	cr_expect_geq(kept, 2, "the trial in progress at SIGTERM was finished");
	cr_expect_lt(kept, 6);
	cr_expect_eq(sql_int(qdb, "SELECT count(*) FROM jobs WHERE state = 'queued'"), 1);
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM runs WHERE status = 'running'"), 1);

	start_daemon();
	wait_finished(1, 60);
	j = job(1);
	cr_assert_str_eq(jstr(j, "state"), "done", "%s", jstr(j, "reason"));
	cr_expect_eq(jint(j, "run_id"), 1);
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM trials WHERE run_id = 1"), 6);
	json_decref(j);
	stop_daemon(SIGTERM, 20);
}

/* ---- who may talk to it, and what it accepts ----------------------------- */

/* One raw line on a fresh connection; the reply line (or "" if none). */
static void raw(int tcp_port, const char *line, size_t len, char *out, size_t cap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;
	size_t got = 0;
	ssize_t n;

	if (tcp_port) {
		struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)tcp_port),
					  .sin_addr.s_addr = htonl(0x7f000001) };

		fd = socket(AF_INET, SOCK_STREAM, 0);
		cr_assert_eq(connect(fd, (struct sockaddr *)&in, sizeof(in)), 0, "tcp: %s",
			     strerror(errno));
	} else {
		strcpy(sa.sun_path, sock);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	for (size_t off = 0; off < len;) {
		n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	while (got < cap - 1 && (n = recv(fd, out + got, cap - 1 - got, 0)) > 0) {
		got += (size_t)n;
		if (memchr(out, '\n', got))
			break;
	}
	out[got] = '\0';
	close(fd);
}

#define RAW(port, s, out) raw(port, s, strlen(s), out, sizeof(out))

Test(daemon, requests_without_token_oversized_or_malformed_change_nothing)
{
	char extra[600], tok[400], out[4096], req[600];
	int port = 20000 + getpid() % 20000;
	struct stat st;
	FILE *f;

	snprintf(tok, sizeof(tok), "%s/token", dir);
	f = fopen(tok, "w");
	fputs("s3cret-token-0123456789\n", f);
	fclose(f);
	chmod(tok, 0600);
	snprintf(extra, sizeof(extra), "listen = %d\ntoken_file = %s\n", port, tok);
	write_config(extra, "[board sim-a]\nboard = sim\n");
	start_daemon();

	/* The socket: owner and group only. */
	cr_assert_eq(stat(sock, &st), 0);
	cr_expect(S_ISSOCK(st.st_mode));
	cr_expect_eq(st.st_mode & 0777, 0660, "mode %o", st.st_mode & 0777);

	/* TCP: no token, a wrong token, then the right one. */
	RAW(port, "{\"op\":\"submit\",\"board\":\"sim-a\",\"workload\":\"kws\"}\n", out);
	cr_expect(strstr(out, "\"unauthorized\""), "%s", out);
	RAW(port, "{\"op\":\"submit\",\"board\":\"sim-a\",\"workload\":\"kws\",\"token\":\"s3cret-token-012345678\"}\n", out);
	cr_expect(strstr(out, "\"unauthorized\""), "%s", out);
	RAW(port, "{\"op\":\"jobs\",\"token\":\"guess\"}\n", out);
	cr_expect(strstr(out, "\"unauthorized\""), "%s", out);
	RAW(port, "{\"op\":\"ping\",\"token\":\"s3cret-token-0123456789\"}\n", out);
	cr_expect(strstr(out, "\"ok\":true"), "%s", out);

	/* Malformed and invalid requests on the socket. */
	RAW(0, "this is not json\n", out);
	cr_expect(strstr(out, "\"bad_request\""), "%s", out);
	RAW(0, "{\"op\":\"submit\",\"board\":\"sim-a\",\"workload\":\"kws\",\"trials\":-1}\n", out);
	cr_expect(strstr(out, "'trials'"), "%s", out);
	RAW(0, "{\"op\":\"submit\",\"board\":\"nosuch\",\"workload\":\"kws\"}\n", out);
	cr_expect(strstr(out, "\"not_found\"") && strstr(out, "sim-a"), "%s", out);
	RAW(0, "{\"op\":\"submit\",\"board\":\"sim-a\",\"workload\":\"nosuch\"}\n", out);
	cr_expect(strstr(out, "\"not_found\"") && strstr(out, "kws01"), "%s", out);
	RAW(0, "{\"op\":\"submit\",\"board\":\"sim-a\",\"workload\":\"kws\",\"input\":\"AAAA\"}\n", out);
	cr_expect(strstr(out, "490"), "input of the wrong size: %s", out);
	RAW(0, "{\"op\":\"submit\",\"board\":\"sim-a\",\"workload\":\"kws\",\"sneaky\":1}\n", out);
	cr_expect(strstr(out, "unknown field"), "%s", out);
	RAW(0, "{\"op\":\"cancel\",\"job\":12345}\n", out);
	cr_expect(strstr(out, "\"not_found\""), "%s", out);

	/* Oversized: 100 KB in one line. */
	{
		size_t n = 100000;
		char *big = malloc(n + 1);

		memset(big, 'x', n);
		snprintf(req, sizeof(req), "{\"op\":\"submit\",\"board\":\"sim-a\",\"workload\":\"kws\",\"tags\":{\"a\":\"");
		memcpy(big, req, strlen(req));
		big[n - 1] = '\n';
		raw(0, big, n, out, sizeof(out));
		cr_expect(strstr(out, "\"too_large\""), "%s", out);
		free(big);
	}
	/* Nothing was queued by any of it. */
	cr_expect_eq(sql_int(qdb, "SELECT count(*) FROM jobs"), 0);
	/* and the daemon still answers */
	RAW(0, "{\"op\":\"ping\"}\n", out);
	cr_expect(strstr(out, "\"ok\":true"), "%s", out);
	stop_daemon(SIGTERM, 20);
}

/* ---- the CLI ---------------------------------------------------------- */

static int cli(char *out, size_t cap, const char *const *args)
{
	const char *exe = getenv("TB_CLI");
	char *argv[32], path[400];
	int n = 0, st;
	pid_t pid;
	posix_spawn_file_actions_t fa;
	FILE *f;

	argv[n++] = (char *)exe;
	for (int i = 0; args[i]; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	snprintf(path, sizeof(path), "%s/cli.out", dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	cr_assert_eq(posix_spawn(&pid, exe, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	waitpid(pid, &st, 0);
	f = fopen(path, "r");
	n = (int)fread(out, 1, cap - 1, f);
	out[n] = '\0';
	fclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define CLI(out, ...) ({ const char *a_[] = { __VA_ARGS__, NULL }; cli(out, sizeof(out), a_); })

Test(daemon, cli_submit_jobs_status_logs_cancel_and_run_through_the_daemon)
{
	static char out[65536];
	int rc;

	write_config(NULL, "[board sim-a]\nboard = sim\n");
	start_daemon();
	/* a long job, then one that waits behind it */
	rc = CLI(out, "submit", "--board", "sim-a", "--workload", "kws", "--trials", "20",
		 "--min-time", "0.5");
	cr_assert_eq(rc, 0, "%s", out);
	cr_expect_str_eq(out, "1\n");
	rc = CLI(out, "submit", "--board", "sim", "--workload", "kws", "--trials", "1",
		 "--tag", "ci.pipeline=42");
	cr_assert_eq(rc, 0, "%s", out);
	wait_state(1, "running", 10);
	rc = CLI(out, "jobs");
	cr_assert_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "queued 1"), "%s", out);
	rc = CLI(out, "cancel", "2");
	cr_assert_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "cancelled"), "%s", out);
	usleep(1500000);
	rc = CLI(out, "cancel", "1");
	cr_assert_eq(rc, 0, "%s", out);
	wait_finished(2, 30);
	rc = CLI(out, "status", "1");
	cr_expect_eq(rc, 130, "%s", out);
	cr_expect(strstr(out, "job 1: cancelled") && strstr(out, "run 1"), "%s", out);
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM runs WHERE status = 'interrupted'"), 1);
	rc = CLI(out, "logs", "1");
	cr_assert_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "submitted by uid") && strstr(out, "started on board sim-a") &&
		  strstr(out, "cancel requested"), "%s", out);
	rc = CLI(out, "status");
	cr_assert_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "sim-a") && strstr(out, "idle"), "%s", out);
	/* `run` on a board the daemon owns goes through it */
	rc = CLI(out, "run", "--board", "sim-a", "--workload", "kws", "--trials", "2",
		 "--min-time", "0.05", "--tag", "who=cli");
	cr_assert_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "queued on tinybenchd") && strstr(out, "2/2 match"), "%s", out);
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM run_tags WHERE key = 'who'"), 1);
	rc = CLI(out, "submit", "--board", "sim-a", "--workload", "kws", "--trials", "1",
		 "--min-time", "0.01", "--wait");
	cr_expect_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, " done"), "%s", out);
	rc = CLI(out, "status", "999");
	cr_expect_eq(rc, 3, "%s", out);
	stop_daemon(SIGTERM, 20);
}

/* ---- energy ------------------------------------------------------------ */

static double sql_double(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	double v;

	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sql);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
	v = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* The emulator's truth (uJ) of the window that lasted duration_s, or, with
 * nth > 0, of window number nth (a QEMU board's windows are replayed one
 * per trial, in order, and last nearly the same); NaN if none. */
static double truth_of(const char *path, double duration_s, int nth)
{
	FILE *f = fopen(path, "r");
	char line[512];
	double best = NAN, best_d = 1e9;

	cr_assert_not_null(f, "the emulated monitor wrote no ground truth (%s)", path);
	for (int i = 1; fgets(line, sizeof(line), f); i++) {
		const char *p = strstr(line, "\"duration_s\":"), *q = strstr(line, "\"energy_uj\":");
		double d = p ? strtod(p + 13, NULL) : 0;

		if (nth > 0 && i != nth)
			continue;
		if (p && q && fabs(d - duration_s) < best_d) {
			best_d = fabs(d - duration_s);
			best = strtod(q + 12, NULL);
		}
	}
	fclose(f);
	return best_d < 1e-4 ? best : NAN;
}

/* Every trial with energy within 0.5 % of the emulator's truth. */
static void energy_matches_truth(const char *truth, int expect_trials, bool in_order)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int n = 0;

	cr_assert_eq(sqlite3_open_v2(rdb, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT run_id, idx, inferences, ticks, timer_hz, "
					"energy_uj FROM trials WHERE energy_uj IS NOT NULL "
					"ORDER BY run_id, idx", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		double d = (double)sqlite3_column_int64(st, 3) / (double)sqlite3_column_int64(st, 4);
		double e = sqlite3_column_double(st, 5) * (double)sqlite3_column_int64(st, 2);
		double t = truth_of(truth, d, in_order ? n + 1 : 0);

		cr_assert(!isnan(t), "run %d trial %d: no ground-truth window of %.6f s",
			  sqlite3_column_int(st, 0), sqlite3_column_int(st, 1), d);
		cr_log_info("daemon energy: run %d trial %d: %.3f uJ, truth %.3f uJ: %+.4f %%",
			    sqlite3_column_int(st, 0), sqlite3_column_int(st, 1) + 1, e, t,
			    (e - t) / t * 100);
		cr_expect(fabs(e - t) / t < 0.005, "run %d trial %d: %.3f uJ, truth %.3f uJ",
			  sqlite3_column_int(st, 0), sqlite3_column_int(st, 1) + 1, e, t);
		n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	cr_expect_eq(n, expect_trials, "%d trials with energy", n);
}

static json_t *energy_of(int64_t id)
{
	json_t *j = job(id), *e;

	cr_assert_str_eq(jstr(j, "state"), "done", "job %lld: %s", (long long)id, jstr(j, "reason"));
	e = json_incref(json_object_get(json_object_get(j, "result"), "energy"));
	json_decref(j);
	return e;
}

/*
 * A board's energy monitor belongs to its worker, as the board does
 * (docs/DAEMON.md, "Energy"): monitor = ppk2 is opened with the board and
 * kept across jobs (the same emulator measures both energy jobs); a job
 * without energy runs on the same board without it; a board whose config
 * says monitor = none refuses energy jobs; a monitor that cannot be is
 * refused by --check.  The figures are checked against the emulator's
 * ground truth, as `tinybench run --energy` is on sim.
 */
Test(daemon, energy_jobs_measure_with_the_boards_monitor, .timeout = 120)
{
	static char out[65536];
	char boards[1200], truth[400], reply[4096];
	json_t *a, *c, *none;
	int rc;

	snprintf(truth, sizeof(truth), "%s/truth.json", dir);
	snprintf(boards, sizeof(boards),
		 "[board sim-a]\nboard = sim\nmonitor = ppk2\nmonitor_args = --truth %s\n\n"
		 "[board sim-b]\nboard = sim\nmonitor = none\n", truth);
	write_config(NULL, boards);
	start_daemon();
	submit(json_pack("{s:s, s:s, s:i, s:f, s:b}", "board", "sim-a", "workload", "kws",
			 "trials", 2, "min_time", 0.3, "energy", 1));
	submit(json_pack("{s:s, s:s, s:i, s:f}", "board", "sim-a", "workload", "kws",
			 "trials", 1, "min_time", 0.05));
	/* through the CLI: submit --energy --wait prints the figures */
	rc = CLI(out, "submit", "--board", "sim-a", "--workload", "kws", "--trials", "1",
		 "--min-time", "0.3", "--energy", "--wait");
	cr_assert_eq(rc, 0, "%s", out);
	/* monitor = none: no energy on sim-b */
	RAW(0, "{\"op\":\"submit\",\"board\":\"sim-b\",\"workload\":\"kws\",\"energy\":true}\n",
	    reply);
	cr_expect(strstr(reply, "bad_request") && strstr(reply, "no energy monitor"), "%s", reply);
	wait_finished(3, 60);
	a = energy_of(1);
	none = energy_of(2);
	c = energy_of(3);
	cr_assert_not_null(a);
	cr_assert_null(none, "a job without energy has no energy");
	cr_assert_not_null(c);
	cr_expect_str_eq(jstr(a, "method"), "emulated:ppk2");
	cr_expect_str_eq(jstr(a, "kind"), "emulated");
	cr_expect_str_eq(jstr(a, "monitor"), jstr(c, "monitor"), "one monitor across jobs");
	json_decref(a);
	json_decref(c);
	rc = CLI(out, "status", "3");
	cr_expect_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "energy: emulated:ppk2") && strstr(out, "EMULATED instrument") &&
		  strstr(out, "energy per inference (emulated"), "%s", out);
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM runs WHERE energy_method = 'emulated:ppk2'"),
		     2);
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM runs WHERE energy_method IS NULL"), 1);
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM power_traces"), 3);
	cr_expect_gt(sql_double(rdb, "SELECT min(power_mw) FROM trials WHERE power_mw IS NOT NULL"),
		     10.0, "sim's model: 4.8 mA at 3 V while inferring");
	energy_matches_truth(truth, 3, false);
	stop_daemon(SIGTERM, 20);

	/* a monitor a sim board cannot have is refused before anything runs */
	write_config(NULL, "[board sim-a]\nboard = sim\nmonitor = ppk2:/dev/ttyACM0\n");
	rc = CLI(out, "daemon", "--config", conf, "--check");
	cr_expect_eq(rc, 2, "%s", out);
	cr_expect(strstr(out, "virtual"), "%s", out);
	write_config(NULL, "[board sim-a]\nboard = sim\nmonitor = joulescope\n");
	rc = CLI(out, "daemon", "--config", conf, "--check");
	cr_expect_eq(rc, 2, "%s", out);
	cr_expect(strstr(out, "unknown energy monitor 'joulescope'"), "%s", out);
}

/* ---- a QEMU board ------------------------------------------------------- */

/* The same ownership and recovery on firmware under QEMU: the daemon keeps
 * QEMU running across jobs; the firmware hook hang-at=3 makes every third
 * INFER after a (re)start spin forever: the timeout catches it, QEMU is
 * restarted (the board's reset method) and the trial retried.  Needs the
 * image scripts/build-firmware makes (scripts/quickstart test builds it). */
Test(daemon, qemu_board_runs_jobs_and_recovers_a_hung_firmware, .timeout = 180)
{
	char elf[600], boards[200];
	const char *fw = getenv("TINYBENCH_FIRMWARE_DIR");
	json_t *j;

	if (fw)
		snprintf(elf, sizeof(elf), "%s/qemu-m4/tinybench-runner-qemu-m4.elf", fw);
	else
		snprintf(elf, sizeof(elf), "%s/fw/qemu-m4/tinybench-runner-qemu-m4.elf",
			 getenv("TB_BUILD_DIR") ? getenv("TB_BUILD_DIR") : ".");
	if (access(elf, R_OK) < 0)
		cr_skip_test("no qemu-m4 firmware at %s (scripts/build-firmware qemu-m4)", elf);
	snprintf(boards, sizeof(boards), "[board m4]\nboard = qemu-m4\ntimeout_ms = 3000\n"
		 "runner_args = hang-at=3\n");
	write_config(NULL, boards);
	start_daemon();
	submit(json_pack("{s:s, s:s, s:i, s:f}", "board", "qemu-m4", "workload", "kws",
			 "trials", 4, "min_time", 0.01));
	submit(json_pack("{s:s, s:s, s:i, s:f}", "board", "m4", "workload", "kws",
			 "trials", 1, "min_time", 0.01));
	wait_finished(2, 150);
	j = job(1);
	cr_assert_str_eq(jstr(j, "state"), "done", "%s", jstr(j, "reason"));
	json_decref(j);
	j = job(2);
	cr_assert_str_eq(jstr(j, "state"), "done", "%s", jstr(j, "reason"));
	json_decref(j);
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM trials WHERE status = 'ok'"
			     " AND output_check = 'match'"), 5);
	cr_expect_geq(sql_int(rdb, "SELECT count(*) FROM trials WHERE attempts = 2"), 1,
		      "a hung trial was retried");
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM runs WHERE timing_method"
			     " = 'qemu-icount-instructions'"), 2);
	stop_daemon(SIGTERM, 30);
}

/* Energy on a QEMU board through the daemon: the first energy job opens
 * the board's default monitor (the emulated PPK2) and restarts QEMU with
 * the firmware's timestamp bridge; a job without energy between two with
 * it runs on the same QEMU (the bridge drained, unread); the figures are
 * modelled from instruction counts (docs/ENERGY.md, "QEMU boards"). */
Test(daemon, qemu_board_energy_jobs, .timeout = 180)
{
	char elf[600], boards[600], truth[400];
	const char *fw = getenv("TINYBENCH_FIRMWARE_DIR");
	json_t *e;

	if (fw)
		snprintf(elf, sizeof(elf), "%s/qemu-m4/tinybench-runner-qemu-m4.elf", fw);
	else
		snprintf(elf, sizeof(elf), "%s/fw/qemu-m4/tinybench-runner-qemu-m4.elf",
			 getenv("TB_BUILD_DIR") ? getenv("TB_BUILD_DIR") : ".");
	if (access(elf, R_OK) < 0)
		cr_skip_test("no qemu-m4 firmware at %s (scripts/build-firmware qemu-m4)", elf);
	snprintf(truth, sizeof(truth), "%s/truth.json", dir);
	snprintf(boards, sizeof(boards), "[board m4]\nboard = qemu-m4\nmonitor_args = --truth %s\n",
		 truth);
	write_config(NULL, boards);
	start_daemon();
	submit(json_pack("{s:s, s:s, s:i, s:f}", "board", "m4", "workload", "kws",
			 "trials", 1, "min_time", 0.01));
	submit(json_pack("{s:s, s:s, s:i, s:f, s:b}", "board", "m4", "workload", "kws",
			 "trials", 2, "min_time", 0.3, "energy", 1));
	submit(json_pack("{s:s, s:s, s:i, s:f}", "board", "m4", "workload", "kws",
			 "trials", 3, "min_time", 0.01));
	submit(json_pack("{s:s, s:s, s:i, s:f, s:b}", "board", "m4", "workload", "kws",
			 "trials", 1, "min_time", 0.3, "energy", 1));
	wait_finished(4, 150);
	for (int id = 1; id <= 4; id++) {
		e = energy_of(id);
		if (id % 2) {
			cr_expect_null(e, "job %d: no energy asked", id);
		} else {
			cr_assert_not_null(e, "job %d", id);
			cr_expect_str_eq(jstr(e, "method"), "emulated:ppk2");
			cr_expect_str_eq(jstr(e, "window"), "instruction-count-estimate");
		}
		json_decref(e);
	}
	cr_expect_eq(sql_int(rdb, "SELECT count(*) FROM trials WHERE status = 'ok'"
			     " AND output_check = 'match'"), 7);
	energy_matches_truth(truth, 3, true);
	stop_daemon(SIGTERM, 30);
}
