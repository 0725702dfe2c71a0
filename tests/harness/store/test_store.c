/*
 * test_store.c - the results store: opening, migration, refusal of files it
 * must not touch, round trips of every field, crash safety, filters.
 *
 * Each test works in its own temporary directory (removed by fini).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tb_store.h"

static char tmpdir[1024];

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

static void setup(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/tb_store_XXXXXX",
		 base && *base ? base : "/tmp");
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static void teardown(void)
{
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(store, .init = setup, .fini = teardown);

/* ------------------------------------------------------------- helpers */

static char *tpath(const char *name)
{
	static char buf[8][4096];
	static int next;
	char *p = buf[next++ % 8];

	snprintf(p, 4096, "%s/%s", tmpdir, name);
	return p;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n ? (size_t)n : 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* Run SQL on a file directly with SQLite (not through the store). */
static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK,
		     "raw sql: %s", msg ? msg : "?");
	sqlite3_close(db);
}

static int64_t raw_int(const char *path, const char *sql)
{
	sqlite3_stmt *st;
	sqlite3 *db;
	int64_t v;

	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK,
		     "%s: %s", sql, sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static struct tb_store *open_ok(const char *path)
{
	struct tb_error err = { 0 };
	struct tb_store *s = NULL;
	int ret;

	ret = tb_store_open(path, &s, &err);
	cr_assert_eq(ret, 0, "open %s: %d %s", path, ret, err.msg);
	cr_assert_not_null(s);
	return s;
}

static struct tb_run_info minimal_run(const char *board, const char *workload)
{
	struct tb_run_info ri = {
		.board = board,
		.workload = workload,
		.board_clock_hz = TB_STORE_UNKNOWN,
		.timer_hz = TB_STORE_UNKNOWN,
		.protocol_version = TB_STORE_UNKNOWN,
		.started_at = 1700000000000,
	};
	return ri;
}

static struct tb_trial minimal_trial(int64_t idx)
{
	struct tb_trial t = {
		.idx = idx,
		.started_at = 1700000000100 + idx,
		.ended_at = 1700000000200 + idx,
		.inferences = 10,
		.ticks = 1000,
		.timer_hz = TB_STORE_UNKNOWN,
		.latency_ms = 1.5,
		.inf_min_ms = NAN,
		.inf_max_ms = NAN,
		.stack_peak = TB_STORE_UNKNOWN,
		.stack_size = TB_STORE_UNKNOWN,
		.arena_peak = TB_STORE_UNKNOWN,
		.arena_size = TB_STORE_UNKNOWN,
	};
	return t;
}

static int64_t begin_ok(struct tb_store *s, const struct tb_run_info *ri)
{
	struct tb_error err = { 0 };
	int64_t id = 0;

	cr_assert_eq(tb_store_run_begin(s, ri, &id, &err), 0, "%s", err.msg);
	cr_assert_gt(id, 0);
	return id;
}

static void add_ok(struct tb_store *s, int64_t run_id, const struct tb_trial *t)
{
	struct tb_error err = { 0 };

	cr_assert_eq(tb_store_trial_add(s, run_id, t, &err), 0, "%s", err.msg);
}

static void expect_str(const char *got, const char *want, const char *field)
{
	if (!want) {
		cr_expect_null(got, "%s: want NULL, got '%s'", field, got);
		return;
	}
	cr_expect_not_null(got, "%s: want '%s', got NULL", field, want);
	if (got)
		cr_expect_str_eq(got, want, "%s", field);
}

/* ------------------------------------------------------------ opening */

Test(store, open_creates_parent_dirs_and_current_schema)
{
	const char *path = tpath("a/b/c/results.db");
	struct tb_store *s = open_ok(path);
	struct stat st;

	cr_expect_str_eq(tb_store_path(s), path);
	tb_store_close(s);
	tb_store_close(NULL);		/* accepted */

	cr_assert_eq(stat(path, &st), 0, "database file created");
	cr_expect(S_ISREG(st.st_mode));
	cr_expect_eq(raw_int(path, "PRAGMA user_version"), TB_STORE_SCHEMA_VERSION);
	cr_expect_eq(raw_int(path, "PRAGMA application_id"), TB_STORE_APPLICATION_ID);
	cr_expect_eq(raw_int(path, "SELECT count(*) FROM sqlite_master"
			     " WHERE type = 'table' AND name IN ('runs', 'trials')"), 2);
	/* WAL is persistent: a plain connection sees it. */
	cr_expect_eq(raw_int(path, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
}

Test(store, migrates_existing_empty_file)
{
	const char *path = tpath("empty.db");
	struct tb_store *s;

	write_file(path, "", 0);
	s = open_ok(path);
	tb_store_close(s);
	cr_expect_eq(raw_int(path, "PRAGMA user_version"), TB_STORE_SCHEMA_VERSION);
	cr_expect_eq(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'trials'"), 1);
}

Test(store, reopen_keeps_data_and_version)
{
	const char *path = tpath("results.db");
	struct tb_run_info ri = minimal_run("sim", "kws");
	struct tb_store *s = open_ok(path);
	struct tb_run *run = NULL;
	int64_t id = begin_ok(s, &ri);

	tb_store_close(s);
	s = open_ok(path);
	cr_assert_eq(tb_store_run_get(s, id, &run, NULL), 0);
	cr_expect_str_eq(run->info.board, "sim");
	cr_expect_eq(run->status, TB_RUN_RUNNING);
	tb_store_run_free(run);
	tb_store_close(s);
	cr_expect_eq(raw_int(path, "PRAGMA user_version"), TB_STORE_SCHEMA_VERSION);
}

Test(store, two_handles_share_a_file)
{
	const char *path = tpath("shared.db");
	struct tb_store *a = open_ok(path), *b = open_ok(path);
	struct tb_run_info ri = minimal_run("sim", "vww");
	struct tb_trial t = minimal_trial(0);
	int64_t id = begin_ok(a, &ri), n = -1;

	add_ok(b, id, &t);
	cr_assert_eq(tb_store_trial_count(a, id, &n, NULL), 0);
	cr_expect_eq(n, 1);
	tb_store_close(a);
	tb_store_close(b);
}

Test(store, refuses_newer_schema_without_touching_file)
{
	const char *path = tpath("newer.db");
	unsigned char *before, *after;
	size_t nb, na;
	struct tb_error err = { 0 };
	struct tb_store *s = (struct tb_store *)&err;	/* must be reset to NULL */
	char want[64];
	int ret;

	raw_exec(path, "PRAGMA application_id = 1953066594;"
		 "CREATE TABLE runs (id INTEGER PRIMARY KEY, future TEXT);"
		 "PRAGMA user_version = 99;");
	before = slurp(path, &nb);

	ret = tb_store_open(path, &s, &err);
	cr_expect_eq(ret, TB_ERR_UNSUPPORTED, "got %d: %s", ret, err.msg);
	cr_expect_null(s);
	cr_expect(strstr(err.msg, path), "message names the file: %s", err.msg);
	snprintf(want, sizeof(want), "schema version 99");
	cr_expect(strstr(err.msg, want), "message gives the version: %s", err.msg);

	after = slurp(path, &na);
	cr_assert_eq(na, nb, "file size changed");
	cr_expect_arr_eq(after, before, nb, "file bytes changed");
	cr_expect_eq(access(tpath("newer.db-wal"), F_OK), -1, "no WAL left behind");
	free(before);
	free(after);
}

Test(store, unwritable_path_under_a_regular_file)
{
	const char *file = tpath("plain");
	const char *path = tpath("plain/sub/results.db");
	struct tb_error err = { 0 };
	struct tb_store *s = NULL;
	int ret;

	write_file(file, "x", 1);
	ret = tb_store_open(path, &s, &err);
	cr_expect_eq(ret, TB_ERR_IO, "got %d: %s", ret, err.msg);
	cr_expect_null(s);
	cr_expect(strstr(err.msg, path), "message names the database: %s", err.msg);
	cr_expect(strstr(err.msg, strerror(ENOTDIR)), "message keeps the OS error: %s", err.msg);

	/* The parent itself being a file. */
	ret = tb_store_open(tpath("plain/results.db"), &s, &err);
	cr_expect_eq(ret, TB_ERR_IO, "got %d: %s", ret, err.msg);
	cr_expect(strstr(err.msg, "plain/results.db"), "%s", err.msg);
}

struct open_result {
	int ret;
	char msg[TB_ERROR_MSG_MAX];
};

/*
 * tb_store_open() in a child process that cannot bypass file permissions:
 * tests may run as root, so the child drops to uid/gid 65534 first.
 */
static struct open_result open_unprivileged(const char *path)
{
	struct open_result res = { 0 };
	struct tb_error err = { 0 };
	struct tb_store *s = NULL;
	int fds[2], status;
	pid_t pid;

	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		close(fds[0]);
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
			_exit(3);
		res.ret = tb_store_open(path, &s, &err);
		snprintf(res.msg, sizeof(res.msg), "%s", err.msg);
		tb_store_close(s);
		_exit(write(fds[1], &res, sizeof(res)) == sizeof(res) ? 0 : 4);
	}
	close(fds[1]);
	cr_assert_eq(read(fds[0], &res, sizeof(res)), (ssize_t)sizeof(res),
		     "child gave no result");
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return res;
}

Test(store, permission_denied_is_reported)
{
	const char *dir = tpath("ro");
	const char *existing = tpath("ro/existing.db");
	const char *fresh = tpath("ro/new.db");
	struct open_result res;

	cr_assert_eq(mkdir(dir, 0755), 0);
	tb_store_close(open_ok(existing));
	cr_assert_eq(chmod(existing, 0444), 0);
	cr_assert_eq(chmod(dir, 0555), 0);
	cr_assert_eq(chmod(tmpdir, 0755), 0);	/* let the child in */

	res = open_unprivileged(fresh);
	cr_expect_eq(res.ret, TB_ERR_IO, "new file: %d %s", res.ret, res.msg);
	cr_expect(strstr(res.msg, fresh), "names the file: %s", res.msg);
	cr_expect(strstr(res.msg, strerror(EACCES)), "says why: %s", res.msg);

	res = open_unprivileged(existing);
	cr_expect_eq(res.ret, TB_ERR_IO, "read-only file: %d %s", res.ret, res.msg);
	cr_expect(strstr(res.msg, existing), "names the file: %s", res.msg);
	cr_expect(strstr(res.msg, "not writable"), "%s", res.msg);

	chmod(dir, 0755);		/* so that teardown can remove it */
}

Test(store, refuses_non_database_file)
{
	const char *path = tpath("notes.txt");
	char text[2048];
	unsigned char *after;
	struct tb_error err = { 0 };
	struct tb_store *s = NULL;
	size_t na;
	int ret;

	memset(text, 'x', sizeof(text));
	memcpy(text, "these are my notes, not a database\n", 35);
	write_file(path, text, sizeof(text));

	ret = tb_store_open(path, &s, &err);
	cr_expect_eq(ret, TB_ERR_FORMAT, "got %d: %s", ret, err.msg);
	cr_expect_null(s);
	cr_expect(strstr(err.msg, path), "names the file: %s", err.msg);
	cr_expect(strstr(err.msg, "file is not a database"),
		  "keeps SQLite's message: %s", err.msg);
	after = slurp(path, &na);
	cr_expect_eq(na, sizeof(text));
	cr_expect_arr_eq(after, text, sizeof(text), "file was modified");
	free(after);
}

Test(store, refuses_foreign_sqlite_database)
{
	const char *path = tpath("other.db");
	unsigned char *before, *after;
	struct tb_error err = { 0 };
	struct tb_store *s = NULL;
	size_t nb, na;
	int ret;

	raw_exec(path, "CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('ann');");
	before = slurp(path, &nb);
	ret = tb_store_open(path, &s, &err);
	cr_expect_eq(ret, TB_ERR_FORMAT, "got %d: %s", ret, err.msg);
	cr_expect(strstr(err.msg, "not a tinybench results database"), "%s", err.msg);
	cr_expect(strstr(err.msg, path), "%s", err.msg);
	after = slurp(path, &na);
	cr_assert_eq(na, nb);
	cr_expect_arr_eq(after, before, nb, "file was modified");
	free(before);
	free(after);
}

Test(store, default_path_follows_xdg)
{
	char buf[256], tiny[8];
	struct tb_error err = { 0 };

	setenv("XDG_DATA_HOME", "/data/me", 1);
	setenv("HOME", "/home/me", 1);
	cr_assert_eq(tb_store_default_path(buf, sizeof(buf), &err), 0);
	cr_expect_str_eq(buf, "/data/me/tinybench/results.db");

	setenv("XDG_DATA_HOME", "relative/dir", 1);	/* ignored per spec */
	cr_assert_eq(tb_store_default_path(buf, sizeof(buf), &err), 0);
	cr_expect_str_eq(buf, "/home/me/.local/share/tinybench/results.db");

	unsetenv("XDG_DATA_HOME");
	cr_assert_eq(tb_store_default_path(buf, sizeof(buf), &err), 0);
	cr_expect_str_eq(buf, "/home/me/.local/share/tinybench/results.db");

	cr_expect_eq(tb_store_default_path(tiny, sizeof(tiny), &err), TB_ERR_ARG);

	unsetenv("HOME");
	cr_expect_eq(tb_store_default_path(buf, sizeof(buf), &err), TB_ERR_NOTFOUND);
	cr_expect(strstr(err.msg, "HOME"), "%s", err.msg);
}

/* ------------------------------------------------------- round trips */

static const unsigned char blob[] = { 0x00, 0xff, 0x7f, 0x80, 0x00, 0x01, 'a', 0x00 };

static struct tb_run_info full_run(void)
{
	struct tb_run_info ri = {
		.board = "nucleo-l4r5zi",
		.board_cpu = "cortex-m4",
		.board_clock_hz = 120000000,
		.timer_hz = 1000000,
		.timing_method = "host-monotonic-clock",
		.workload = "kws/ds-cnn",
		.model_hash = "0123456789abcdefABCDEF",
		.runner_version = "0.1.0",
		.runner_build_id = "abc123def456",
		.protocol_version = 3,
		.harness_version = "0.1.0",
		.harness_build_id = "abc123def456-dirty",
		.host = "lab-pc",
		.port = "/dev/ttyACM0",
		.input_source = "dataset:kws/test, \"quoted\"\nline",
		.params_json = "{\"trials\":5,\"inferences\":100}",
		.started_at = 1712345678901,
	};
	return ri;
}

Test(store, run_round_trip_every_field)
{
	struct tb_store *s = open_ok(tpath("rt.db"));
	struct tb_run_info ri = full_run();
	struct tb_error err = { 0 };
	struct tb_run *r = NULL;
	int64_t id = begin_ok(s, &ri);

	cr_assert_eq(tb_store_run_get(s, id, &r, &err), 0, "%s", err.msg);
	cr_expect_eq(r->id, id);
	cr_expect_eq(r->status, TB_RUN_RUNNING);
	cr_expect_null(r->reason);
	cr_expect_eq(r->ended_at, TB_STORE_UNKNOWN);
	expect_str(r->info.board, ri.board, "board");
	expect_str(r->info.board_cpu, ri.board_cpu, "board_cpu");
	cr_expect_eq(r->info.board_clock_hz, ri.board_clock_hz);
	cr_expect_eq(r->info.timer_hz, ri.timer_hz);
	expect_str(r->info.timing_method, ri.timing_method, "timing_method");
	expect_str(r->info.workload, ri.workload, "workload");
	expect_str(r->info.model_hash, ri.model_hash, "model_hash");
	expect_str(r->info.runner_version, ri.runner_version, "runner_version");
	expect_str(r->info.runner_build_id, ri.runner_build_id, "runner_build_id");
	cr_expect_eq(r->info.protocol_version, ri.protocol_version);
	expect_str(r->info.harness_version, ri.harness_version, "harness_version");
	expect_str(r->info.harness_build_id, ri.harness_build_id, "harness_build_id");
	expect_str(r->info.host, ri.host, "host");
	expect_str(r->info.port, ri.port, "port");
	expect_str(r->info.input_source, ri.input_source, "input_source");
	expect_str(r->info.params_json, ri.params_json, "params_json");
	cr_expect_eq(r->info.started_at, ri.started_at);
	tb_store_run_free(r);

	cr_assert_eq(tb_store_run_finish(s, id, TB_RUN_FAILED, "device reset", 1712345679999, &err),
		     0, "%s", err.msg);
	cr_assert_eq(tb_store_run_get(s, id, &r, &err), 0);
	cr_expect_eq(r->status, TB_RUN_FAILED);
	expect_str(r->reason, "device reset", "reason");
	cr_expect_eq(r->ended_at, 1712345679999);
	tb_store_run_free(r);
	tb_store_close(s);
}

Test(store, run_unknown_fields_are_null)
{
	const char *path = tpath("null.db");
	struct tb_store *s = open_ok(path);
	struct tb_run_info ri = minimal_run("sim", "ad");
	struct tb_run *r = NULL;
	int64_t id = begin_ok(s, &ri);

	cr_assert_eq(tb_store_run_get(s, id, &r, NULL), 0);
	cr_expect_null(r->info.board_cpu);
	cr_expect_null(r->info.params_json);
	cr_expect_eq(r->info.board_clock_hz, TB_STORE_UNKNOWN);
	cr_expect_eq(r->info.protocol_version, TB_STORE_UNKNOWN);
	tb_store_run_free(r);
	tb_store_close(s);
	cr_expect_eq(raw_int(path, "SELECT board_clock_hz IS NULL AND board_cpu IS NULL FROM runs"), 1);
}

struct collect {
	int n;
	struct tb_trial t[16];
	int64_t run_id[16];
	unsigned char out[16][64];
	char hash[16][80];
	char reason[16][80];
};

/* Copy what the test checks: the structs are only valid during the call. */
static int collect_trial(const struct tb_run *run, const struct tb_trial *t,
			 void *user)
{
	struct collect *c = user;
	int i = c->n++;

	cr_assert_lt(i, 16);
	c->t[i] = *t;
	c->run_id[i] = run->id;
	cr_assert_leq(t->output_len, sizeof(c->out[i]));
	if (t->output)
		memcpy(c->out[i], t->output, t->output_len);
	c->t[i].output = t->output ? c->out[i] : NULL;
	snprintf(c->hash[i], sizeof(c->hash[i]), "%s", t->input_hash ? t->input_hash : "(null)");
	snprintf(c->reason[i], sizeof(c->reason[i]), "%s", t->reason ? t->reason : "(null)");
	return 0;
}

Test(store, trial_round_trip_every_field)
{
	struct tb_store *s = open_ok(tpath("trial.db"));
	struct tb_run_info ri = full_run();
	struct tb_store_filter f = { 0 };
	struct collect c = { 0 };
	struct tb_error err = { 0 };
	/* 2^53 + 1 is the first integer a double cannot hold. */
	const uint64_t big = (UINT64_C(1) << 53) + 1;
	struct tb_trial t = {
		.idx = 0,
		.started_at = 1712345678950,
		.ended_at = 1712345679050,
		.inferences = 100,
		.warmups = 5,
		.ticks = big,
		.timer_hz = 1000000,
		.latency_ms = 12.345678901234567,
		.inf_min_ms = 12.0,
		.inf_max_ms = 13.25,
		.stack_peak = 3000,
		.stack_size = 8192,
		.arena_peak = 60000,
		.arena_size = 65536,
		.input_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		.output = blob,
		.output_len = sizeof(blob),
		.output_check = TB_OUTPUT_MISMATCH,
		.status = TB_TRIAL_FAILED,
		.reason = "output differs at byte 1",
	};
	int64_t id = begin_ok(s, &ri);

	add_ok(s, id, &t);
	f.run_id = id;
	cr_assert_eq(tb_store_trials_foreach(s, &f, collect_trial, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.n, 1);
	cr_expect_eq(c.run_id[0], id);
	cr_expect_eq(c.t[0].idx, 0);
	cr_expect_eq(c.t[0].started_at, t.started_at);
	cr_expect_eq(c.t[0].ended_at, t.ended_at);
	cr_expect_eq(c.t[0].inferences, 100);
	cr_expect_eq(c.t[0].warmups, 5);
	cr_expect_eq(c.t[0].ticks, big, "ticks exact above 2^53: got %llu",
		     (unsigned long long)c.t[0].ticks);
	cr_expect_eq(c.t[0].timer_hz, 1000000);
	cr_expect_eq(c.t[0].latency_ms, t.latency_ms, "doubles stored exactly");
	cr_expect_eq(c.t[0].inf_min_ms, 12.0);
	cr_expect_eq(c.t[0].inf_max_ms, 13.25);
	cr_expect_eq(c.t[0].stack_peak, 3000);
	cr_expect_eq(c.t[0].stack_size, 8192);
	cr_expect_eq(c.t[0].arena_peak, 60000);
	cr_expect_eq(c.t[0].arena_size, 65536);
	cr_expect_str_eq(c.hash[0], t.input_hash);
	cr_assert_eq(c.t[0].output_len, sizeof(blob));
	cr_expect_arr_eq(c.out[0], blob, sizeof(blob), "BLOB with NUL bytes intact");
	cr_expect_eq(c.t[0].output_check, TB_OUTPUT_MISMATCH);
	cr_expect_eq(c.t[0].status, TB_TRIAL_FAILED);
	cr_expect_str_eq(c.reason[0], "output differs at byte 1");
	tb_store_close(s);
}

Test(store, trial_unknowns_and_max_ticks)
{
	const char *path = tpath("unk.db");
	struct tb_store *s = open_ok(path);
	struct tb_run_info ri = minimal_run("sim", "ic");
	struct tb_trial t = minimal_trial(0);
	struct collect c = { 0 };
	struct tb_error err = { 0 };
	int64_t id = begin_ok(s, &ri);

	t.ticks = (uint64_t)INT64_MAX;
	t.latency_ms = NAN;
	add_ok(s, id, &t);
	cr_assert_eq(tb_store_trials_foreach(s, NULL, collect_trial, &c, NULL), 0);
	cr_assert_eq(c.n, 1);
	cr_expect_eq(c.t[0].ticks, (uint64_t)INT64_MAX);
	cr_expect(isnan(c.t[0].latency_ms));
	cr_expect(isnan(c.t[0].inf_min_ms));
	cr_expect_eq(c.t[0].stack_peak, TB_STORE_UNKNOWN);
	cr_expect_eq(c.t[0].timer_hz, TB_STORE_UNKNOWN);
	cr_expect_null(c.t[0].output);
	cr_expect_eq(c.t[0].output_len, 0);
	cr_expect_str_eq(c.hash[0], "(null)");
	cr_expect_eq(c.t[0].output_check, TB_OUTPUT_UNCHECKED);
	cr_expect_eq(c.t[0].status, TB_TRIAL_OK);

	/* Beyond INT64_MAX cannot be stored as an SQLite INTEGER. */
	t.idx = 1;
	t.ticks = (uint64_t)INT64_MAX + 1;
	cr_expect_eq(tb_store_trial_add(s, id, &t, &err), TB_ERR_ARG);
	cr_expect(strstr(err.msg, "INT64_MAX"), "%s", err.msg);
	tb_store_close(s);
	cr_expect_eq(raw_int(path, "SELECT typeof(ticks) = 'integer' AND latency_ms IS NULL FROM trials"), 1);
}

/* --------------------------------------------------------- invariants */

Test(store, rejects_bad_arguments)
{
	struct tb_store *s = open_ok(tpath("bad.db"));
	struct tb_run_info ri = minimal_run("sim", "kws");
	struct tb_trial t = minimal_trial(0);
	struct tb_error err = { 0 };
	int64_t id = 0, other;

	ri.board = NULL;
	cr_expect_eq(tb_store_run_begin(s, &ri, &id, &err), TB_ERR_ARG);
	cr_expect(strstr(err.msg, "board"), "%s", err.msg);
	ri = minimal_run("sim", "kws");
	ri.model_hash = "not hex!";
	cr_expect_eq(tb_store_run_begin(s, &ri, &id, &err), TB_ERR_ARG);
	cr_expect(strstr(err.msg, "not hex!"), "%s", err.msg);

	ri = minimal_run("sim", "kws");
	id = begin_ok(s, &ri);
	t.input_hash = "xyz";
	cr_expect_eq(tb_store_trial_add(s, id, &t, &err), TB_ERR_ARG);
	t = minimal_trial(0);
	t.output_len = 4;		/* without data */
	cr_expect_eq(tb_store_trial_add(s, id, &t, &err), TB_ERR_ARG);

	t = minimal_trial(0);
	cr_expect_eq(tb_store_trial_add(s, id + 100, &t, &err), TB_ERR_NOTFOUND);
	cr_expect(strstr(err.msg, "no run"), "%s", err.msg);
	add_ok(s, id, &t);
	cr_expect_eq(tb_store_trial_add(s, id, &t, &err), TB_ERR_ARG, "duplicate idx");
	cr_expect(strstr(err.msg, "already has a trial 0"), "%s", err.msg);

	cr_expect_eq(tb_store_run_finish(s, id, TB_RUN_RUNNING, NULL, 1, &err), TB_ERR_ARG);
	cr_expect_eq(tb_store_run_finish(s, id + 100, TB_RUN_OK, NULL, 1, &err), TB_ERR_NOTFOUND);
	cr_assert_eq(tb_store_run_finish(s, id, TB_RUN_OK, NULL, 1712345679000, &err), 0, "%s", err.msg);
	cr_expect_eq(tb_store_run_finish(s, id, TB_RUN_FAILED, NULL, 1, &err), TB_ERR_ARG);
	cr_expect(strstr(err.msg, "already finished (ok)"), "%s", err.msg);

	t = minimal_trial(1);
	cr_expect_eq(tb_store_trial_add(s, id, &t, &err), TB_ERR_ARG, "finished run takes no trials");
	cr_expect_eq(tb_store_trial_count(s, id, &other, NULL), 0);
	cr_expect_eq(other, 1, "failed adds left nothing behind");
	cr_expect_eq(tb_store_trial_count(s, id + 100, &other, &err), TB_ERR_NOTFOUND);
	tb_store_close(s);
}

Test(store, status_names_are_stable)
{
	cr_expect_str_eq(tb_store_run_status_name(TB_RUN_RUNNING), "running");
	cr_expect_str_eq(tb_store_run_status_name(TB_RUN_OK), "ok");
	cr_expect_str_eq(tb_store_run_status_name(TB_RUN_FAILED), "failed");
	cr_expect_str_eq(tb_store_run_status_name(TB_RUN_INTERRUPTED), "interrupted");
	cr_expect_null(tb_store_run_status_name((enum tb_run_status)99));
	cr_expect_str_eq(tb_store_trial_status_name(TB_TRIAL_OK), "ok");
	cr_expect_str_eq(tb_store_trial_status_name(TB_TRIAL_FAILED), "failed");
	cr_expect_str_eq(tb_store_output_check_name(TB_OUTPUT_MATCH), "match");
	cr_expect_str_eq(tb_store_output_check_name(TB_OUTPUT_MISMATCH), "mismatch");
	cr_expect_str_eq(tb_store_output_check_name(TB_OUTPUT_UNCHECKED), "unchecked");
}

/* ------------------------------------------------- interrupted runs */

Test(store, unfinished_run_keeps_trials_after_close)
{
	const char *path = tpath("int.db");
	struct tb_store *s = open_ok(path);
	struct tb_run_info ri = minimal_run("sim", "kws");
	struct tb_run *r = NULL;
	struct tb_trial t;
	int64_t id = begin_ok(s, &ri), n = -1;
	int i;

	for (i = 0; i < 3; i++) {
		t = minimal_trial(i);
		add_ok(s, id, &t);
	}
	tb_store_close(s);		/* no tb_store_run_finish() */

	s = open_ok(path);
	cr_assert_eq(tb_store_trial_count(s, id, &n, NULL), 0);
	cr_expect_eq(n, 3);
	cr_assert_eq(tb_store_run_get(s, id, &r, NULL), 0);
	cr_expect_eq(r->status, TB_RUN_RUNNING);
	cr_expect_eq(r->ended_at, TB_STORE_UNKNOWN);
	tb_store_run_free(r);
	tb_store_close(s);
}

Test(store, killed_process_keeps_committed_trials)
{
	const char *path = tpath("killed.db");
	struct tb_store *s;
	struct tb_run *r = NULL;
	int64_t n = -1;
	int status;
	pid_t pid;

	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		/* Child: two trials, then dies without closing anything. */
		struct tb_run_info ri = minimal_run("sim", "kws");
		struct tb_trial t0 = minimal_trial(0), t1 = minimal_trial(1);
		int64_t id;

		if (tb_store_open(path, &s, NULL) ||
		    tb_store_run_begin(s, &ri, &id, NULL) ||
		    tb_store_trial_add(s, id, &t0, NULL) ||
		    tb_store_trial_add(s, id, &t1, NULL))
			_exit(1);
		raise(SIGKILL);
		_exit(2);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		  "child did not reach the kill (status 0x%x)", status);

	s = open_ok(path);
	cr_assert_eq(tb_store_trial_count(s, 1, &n, NULL), 0);
	cr_expect_eq(n, 2);
	cr_assert_eq(tb_store_run_get(s, 1, &r, NULL), 0);
	cr_expect_eq(r->status, TB_RUN_RUNNING);
	tb_store_run_free(r);
	tb_store_close(s);
}

/* ---------------------------------------------------------- filters */

struct seen_runs {
	int n;
	int64_t ids[16];
	int stop_after;
};

static int collect_run(const struct tb_run *run, void *user)
{
	struct seen_runs *sr = user;

	cr_assert_lt(sr->n, 16);
	sr->ids[sr->n++] = run->id;
	if (sr->stop_after && sr->n == sr->stop_after)
		return 7;
	return 0;
}

/* Three runs: 1 = A/kws, 2 = A/vww, 3 = B/kws; each with trials added out
 * of order (2, 0, 1). */
static struct tb_store *three_runs(void)
{
	static const char *const spec[3][2] = {
		{ "board-a", "kws" }, { "board-a", "vww" }, { "board-b", "kws" },
	};
	static const int order[3] = { 2, 0, 1 };
	struct tb_store *s = open_ok(tpath("filters.db"));
	struct tb_run_info ri;
	struct tb_trial t;
	int64_t id;
	int i, j;

	for (i = 0; i < 3; i++) {
		ri = minimal_run(spec[i][0], spec[i][1]);
		id = begin_ok(s, &ri);
		cr_assert_eq(id, i + 1);
		for (j = 0; j < 3; j++) {
			t = minimal_trial(order[j]);
			add_ok(s, id, &t);
		}
	}
	return s;
}

Test(store, run_filters)
{
	struct tb_store *s = three_runs();
	struct tb_store_filter f = { 0 };
	struct seen_runs sr = { 0 };

	cr_assert_eq(tb_store_runs_foreach(s, NULL, collect_run, &sr, NULL), 0);
	cr_expect_eq(sr.n, 3);
	cr_expect(sr.ids[0] == 1 && sr.ids[1] == 2 && sr.ids[2] == 3, "ascending ids");

	memset(&sr, 0, sizeof(sr));
	f.board = "board-a";
	cr_assert_eq(tb_store_runs_foreach(s, &f, collect_run, &sr, NULL), 0);
	cr_expect(sr.n == 2 && sr.ids[0] == 1 && sr.ids[1] == 2);

	memset(&sr, 0, sizeof(sr));
	f.board = NULL;
	f.workload = "kws";
	cr_assert_eq(tb_store_runs_foreach(s, &f, collect_run, &sr, NULL), 0);
	cr_expect(sr.n == 2 && sr.ids[0] == 1 && sr.ids[1] == 3);

	memset(&sr, 0, sizeof(sr));
	f.board = "board-b";
	cr_assert_eq(tb_store_runs_foreach(s, &f, collect_run, &sr, NULL), 0);
	cr_expect(sr.n == 1 && sr.ids[0] == 3);

	memset(&sr, 0, sizeof(sr));
	f = (struct tb_store_filter){ .run_id = 2 };
	cr_assert_eq(tb_store_runs_foreach(s, &f, collect_run, &sr, NULL), 0);
	cr_expect(sr.n == 1 && sr.ids[0] == 2);

	memset(&sr, 0, sizeof(sr));
	f = (struct tb_store_filter){ .board = "no-such-board" };
	cr_assert_eq(tb_store_runs_foreach(s, &f, collect_run, &sr, NULL), 0);
	cr_expect_eq(sr.n, 0);

	memset(&sr, 0, sizeof(sr));
	sr.stop_after = 1;
	cr_expect_eq(tb_store_runs_foreach(s, NULL, collect_run, &sr, NULL), 7,
		     "callback's value returned");
	cr_expect_eq(sr.n, 1, "walk stopped");
	tb_store_close(s);
}

static int stop_at_second_trial(const struct tb_run *run, const struct tb_trial *t,
				void *user)
{
	int *n = user;

	return ++*n == 2 ? 1 : 0;
}

Test(store, trial_filters_and_order)
{
	struct tb_store *s = three_runs();
	struct tb_store_filter f = { .board = "board-a" };
	struct collect c = { 0 };
	int i, n = 0;

	cr_assert_eq(tb_store_trials_foreach(s, NULL, collect_trial, &c, NULL), 0);
	cr_assert_eq(c.n, 9);
	for (i = 0; i < 9; i++) {
		cr_expect_eq(c.run_id[i], i / 3 + 1, "row %d run", i);
		cr_expect_eq(c.t[i].idx, i % 3, "row %d ordered by idx", i);
	}

	memset(&c, 0, sizeof(c));
	cr_assert_eq(tb_store_trials_foreach(s, &f, collect_trial, &c, NULL), 0);
	cr_expect_eq(c.n, 6);
	cr_expect(c.run_id[0] == 1 && c.run_id[5] == 2);

	memset(&c, 0, sizeof(c));
	f = (struct tb_store_filter){ .board = "board-a", .workload = "vww" };
	cr_assert_eq(tb_store_trials_foreach(s, &f, collect_trial, &c, NULL), 0);
	cr_expect_eq(c.n, 3);
	cr_expect_eq(c.run_id[0], 2);

	memset(&c, 0, sizeof(c));
	f = (struct tb_store_filter){ .run_id = 3 };
	cr_assert_eq(tb_store_trials_foreach(s, &f, collect_trial, &c, NULL), 0);
	cr_expect(c.n == 3 && c.run_id[2] == 3);

	cr_expect_eq(tb_store_trials_foreach(s, NULL, stop_at_second_trial, &n, NULL), 1);
	cr_expect_eq(n, 2);
	tb_store_close(s);
}
