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
		.flash_bytes = TB_STORE_UNKNOWN,
		.static_ram_bytes = TB_STORE_UNKNOWN,
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
		.link_retries = TB_STORE_UNKNOWN,
		.frames_dropped = TB_STORE_UNKNOWN,
		.energy_uj = NAN,
		.power_mw = NAN,
		.energy_window_ms = NAN,
		.energy_samples = TB_STORE_UNKNOWN,
		.energy_sample_hz = NAN,
		.energy_lost_samples = TB_STORE_UNKNOWN,
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
		.firmware_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		.flash_bytes = 187392,
		.static_ram_bytes = 40960,
		.energy_method = "measured:ppk2",
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
	expect_str(r->info.firmware_sha256, ri.firmware_sha256, "firmware_sha256");
	cr_expect_eq(r->info.flash_bytes, 187392);
	cr_expect_eq(r->info.static_ram_bytes, 40960);
	expect_str(r->info.energy_method, "measured:ppk2", "energy_method");
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
	cr_expect_null(r->info.firmware_sha256);
	cr_expect_null(r->info.energy_method);
	cr_expect_eq(r->info.flash_bytes, TB_STORE_UNKNOWN);
	cr_expect_eq(r->info.static_ram_bytes, TB_STORE_UNKNOWN);
	tb_store_run_free(r);
	tb_store_close(s);
	cr_expect_eq(raw_int(path, "SELECT board_clock_hz IS NULL AND board_cpu IS NULL FROM runs"), 1);
	cr_expect_eq(raw_int(path, "SELECT flash_bytes IS NULL AND static_ram_bytes IS NULL"
			     " AND firmware_sha256 IS NULL AND energy_method IS NULL FROM runs"), 1);
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
		.link_retries = 3,
		.frames_dropped = 2,
		.energy_uj = 123.456789012345678,
		.power_mw = 0.1,
		.energy_window_ms = 1000.25,
		.energy_samples = 100025,
		.energy_sample_hz = 100000.0,
		.energy_lost_samples = 0,
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
	cr_expect_eq(c.t[0].link_retries, 3);
	cr_expect_eq(c.t[0].frames_dropped, 2);
	cr_expect_eq(c.t[0].energy_uj, t.energy_uj, "energy_uj exact");
	cr_expect_eq(c.t[0].power_mw, 0.1);
	cr_expect_eq(c.t[0].energy_window_ms, 1000.25);
	cr_expect_eq(c.t[0].energy_samples, 100025);
	cr_expect_eq(c.t[0].energy_sample_hz, 100000.0);
	cr_expect_eq(c.t[0].energy_lost_samples, 0, "0 lost is a value, not unknown");
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
	cr_expect_eq(c.t[0].link_retries, TB_STORE_UNKNOWN);
	cr_expect_eq(c.t[0].frames_dropped, TB_STORE_UNKNOWN);
	cr_expect(isnan(c.t[0].energy_uj));
	cr_expect(isnan(c.t[0].power_mw));
	cr_expect(isnan(c.t[0].energy_window_ms));
	cr_expect(isnan(c.t[0].energy_sample_hz));
	cr_expect_eq(c.t[0].energy_samples, TB_STORE_UNKNOWN);
	cr_expect_eq(c.t[0].energy_lost_samples, TB_STORE_UNKNOWN);

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

/* ------------------------------------------------ schema version 2 */

/*
 * Schema version 1 exactly as tinybench released it (migration 0 -> 1 of
 * tb_store.c, frozen here): files written by that build must keep opening.
 * v1_schema_copy_is_faithful checks the copy against the real migration.
 */
static const char v1_ddl[] =
	"PRAGMA application_id = 1953066594;\n"
	"CREATE TABLE runs (\n"
	"	id               INTEGER PRIMARY KEY,\n"
	"	status           TEXT NOT NULL DEFAULT 'running'\n"
	"	                 CHECK (status IN ('running', 'ok', 'failed', 'interrupted')),\n"
	"	reason           TEXT,\n"
	"	board            TEXT NOT NULL,\n"
	"	board_cpu        TEXT,\n"
	"	board_clock_hz   INTEGER,\n"
	"	timer_hz         INTEGER,\n"
	"	timing_method    TEXT,\n"
	"	workload         TEXT NOT NULL,\n"
	"	model_hash       TEXT,\n"
	"	runner_version   TEXT,\n"
	"	runner_build_id  TEXT,\n"
	"	protocol_version INTEGER,\n"
	"	harness_version  TEXT,\n"
	"	harness_build_id TEXT,\n"
	"	host             TEXT,\n"
	"	port             TEXT,\n"
	"	input_source     TEXT,\n"
	"	params_json      TEXT,\n"
	"	started_at       INTEGER NOT NULL,\n"
	"	ended_at         INTEGER\n"
	");\n"
	"CREATE INDEX runs_board_workload ON runs (board, workload);\n"
	"CREATE INDEX runs_workload ON runs (workload);\n"
	"CREATE TABLE trials (\n"
	"	run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,\n"
	"	idx          INTEGER NOT NULL CHECK (idx >= 0),\n"
	"	status       TEXT NOT NULL CHECK (status IN ('ok', 'failed')),\n"
	"	reason       TEXT,\n"
	"	started_at   INTEGER NOT NULL,\n"
	"	ended_at     INTEGER NOT NULL,\n"
	"	inferences   INTEGER NOT NULL CHECK (inferences >= 0),\n"
	"	warmups      INTEGER NOT NULL CHECK (warmups >= 0),\n"
	"	ticks        INTEGER NOT NULL CHECK (ticks >= 0),\n"
	"	timer_hz     INTEGER,\n"
	"	latency_ms   REAL,\n"
	"	inf_min_ms   REAL,\n"
	"	inf_max_ms   REAL,\n"
	"	stack_peak   INTEGER,\n"
	"	stack_size   INTEGER,\n"
	"	arena_peak   INTEGER,\n"
	"	arena_size   INTEGER,\n"
	"	input_hash   TEXT,\n"
	"	output       BLOB,\n"
	"	output_check TEXT NOT NULL\n"
	"	             CHECK (output_check IN ('match', 'mismatch', 'unchecked')),\n"
	"	PRIMARY KEY (run_id, idx)\n"
	");\n";

/* A v1 file with two runs (one finished, one cut short) and three trials,
 * written with plain SQLite as the v1 build would have left it. */
static void make_v1_file(const char *path)
{
	raw_exec(path, v1_ddl);
	raw_exec(path,
		 "PRAGMA journal_mode = WAL;"
		 "INSERT INTO runs (id, status, reason, board, board_cpu, board_clock_hz,"
		 " timer_hz, timing_method, workload, model_hash, runner_version,"
		 " runner_build_id, protocol_version, harness_version, harness_build_id,"
		 " host, port, input_source, params_json, started_at, ended_at) VALUES"
		 " (1, 'ok', NULL, 'sim', 'x86_64', NULL, 1000000000, 'host-monotonic-clock',"
		 "  'kws01', 'abcdef', '0.1.0', 'b2c2c99', 1, '0.1.0', 'b2c2c99', 'lab',"
		 "  '/dev/pts/3', 'seeds', '{\"trials\":2}', 1700000000000, 1700000009000),"
		 " (2, 'running', NULL, 'apollo3', NULL, 48000000, NULL, NULL, 'vww', NULL,"
		 "  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1700000100000, NULL);"
		 "INSERT INTO trials (run_id, idx, status, reason, started_at, ended_at,"
		 " inferences, warmups, ticks, timer_hz, latency_ms, inf_min_ms, inf_max_ms,"
		 " stack_peak, stack_size, arena_peak, arena_size, input_hash, output,"
		 " output_check) VALUES"
		 " (1, 0, 'ok', NULL, 1700000000100, 1700000000200, 10, 1, 9007199254740993,"
		 "  1000000000, 7.5, 7.25, 8.0, 1144, 65536, 16000, 131072, 'e3b0c442',"
		 "  x'00ff7f80', 'match'),"
		 " (1, 1, 'failed', 'runner died', 1700000000300, 1700000000400, 0, 0, 0,"
		 "  1000000000, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'unchecked'),"
		 " (2, 0, 'ok', NULL, 1700000100100, 1700000100200, 3, 0, 300, NULL, 2.5,"
		 "  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'unchecked');"
		 "PRAGMA user_version = 1;");
	cr_assert_eq(raw_int(path, "PRAGMA user_version"), 1);
}

/* Table and index definitions, in a stable order, as one string. */
static char *schema_sql(const char *path)
{
	sqlite3_stmt *st;
	sqlite3 *db;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	cr_assert_not_null(f);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT type, name, sql FROM sqlite_master"
					" ORDER BY type, name", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		fprintf(f, "%s %s: %s\n", sqlite3_column_text(st, 0),
			sqlite3_column_text(st, 1),
			sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2) : "-");
	sqlite3_finalize(st);
	sqlite3_close(db);
	fclose(f);
	return out;
}

Test(store, v1_schema_copy_is_faithful)
{
	const char *fresh = tpath("fresh.db"), *old = tpath("v1.db");
	char *a, *b;

	tb_store_close(open_ok(fresh));
	make_v1_file(old);
	tb_store_close(open_ok(old));
	a = schema_sql(fresh);
	b = schema_sql(old);
	cr_expect_str_eq(b, a, "a migrated v1 file has the schema of a new file");
	free(a);
	free(b);
}

Test(store, migrates_v1_file_keeping_rows)
{
	const char *path = tpath("v1.db");
	struct tb_store *s;
	struct tb_run *r = NULL;
	struct collect c = { 0 };
	struct tb_trial t;
	struct tb_error err = { 0 };
	int64_t n = -1;
	int i;

	make_v1_file(path);
	s = open_ok(path);
	cr_expect_eq(raw_int(path, "PRAGMA user_version"), TB_STORE_SCHEMA_VERSION);
	cr_expect_eq(raw_int(path, "PRAGMA application_id"), TB_STORE_APPLICATION_ID);
	cr_expect_eq(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
			     " AND name IN ('power_traces', 'run_tags')"), 2);

	/* Runs: every v1 value intact, the v2 fields unknown. */
	cr_assert_eq(tb_store_run_get(s, 1, &r, &err), 0, "%s", err.msg);
	cr_expect_eq(r->status, TB_RUN_OK);
	expect_str(r->info.board, "sim", "board");
	expect_str(r->info.board_cpu, "x86_64", "board_cpu");
	cr_expect_eq(r->info.board_clock_hz, TB_STORE_UNKNOWN);
	cr_expect_eq(r->info.timer_hz, 1000000000);
	expect_str(r->info.workload, "kws01", "workload");
	expect_str(r->info.model_hash, "abcdef", "model_hash");
	expect_str(r->info.params_json, "{\"trials\":2}", "params_json");
	cr_expect_eq(r->info.protocol_version, 1);
	cr_expect_eq(r->info.started_at, 1700000000000);
	cr_expect_eq(r->ended_at, 1700000009000);
	cr_expect_null(r->info.firmware_sha256);
	cr_expect_null(r->info.energy_method);
	cr_expect_eq(r->info.flash_bytes, TB_STORE_UNKNOWN);
	cr_expect_eq(r->info.static_ram_bytes, TB_STORE_UNKNOWN);
	tb_store_run_free(r);

	/* Trials, in order, v1 values exact, v2 values unknown. */
	cr_assert_eq(tb_store_trials_foreach(s, NULL, collect_trial, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.n, 3);
	cr_expect_eq(c.run_id[0], 1);
	cr_expect_eq(c.t[0].ticks, (UINT64_C(1) << 53) + 1);
	cr_expect_eq(c.t[0].latency_ms, 7.5);
	cr_expect_eq(c.t[0].stack_peak, 1144);
	cr_expect_eq(c.t[0].output_len, 4);
	cr_expect_arr_eq(c.out[0], "\x00\xff\x7f\x80", 4);
	cr_expect_eq(c.t[0].output_check, TB_OUTPUT_MATCH);
	cr_expect_eq(c.t[1].status, TB_TRIAL_FAILED);
	cr_expect_str_eq(c.reason[1], "runner died");
	cr_expect_eq(c.run_id[2], 2);
	cr_expect_eq(c.t[2].latency_ms, 2.5);
	for (i = 0; i < 3; i++) {
		cr_expect_eq(c.t[i].link_retries, TB_STORE_UNKNOWN, "trial row %d", i);
		cr_expect_eq(c.t[i].frames_dropped, TB_STORE_UNKNOWN, "trial row %d", i);
		cr_expect(isnan(c.t[i].energy_uj), "trial row %d", i);
		cr_expect(isnan(c.t[i].power_mw), "trial row %d", i);
		cr_expect(isnan(c.t[i].energy_window_ms), "trial row %d", i);
		cr_expect(isnan(c.t[i].energy_sample_hz), "trial row %d", i);
		cr_expect_eq(c.t[i].energy_samples, TB_STORE_UNKNOWN, "trial row %d", i);
		cr_expect_eq(c.t[i].energy_lost_samples, TB_STORE_UNKNOWN, "trial row %d", i);
	}

	/* The run cut short under v1 still takes trials, with v2 fields. */
	t = minimal_trial(1);
	t.link_retries = 4;
	t.frames_dropped = 1;
	add_ok(s, 2, &t);
	cr_assert_eq(tb_store_trial_count(s, 2, &n, NULL), 0);
	cr_expect_eq(n, 2);
	cr_expect_eq(tb_store_tag_set(s, 1, "baseline", "yes", &err), 0, "%s", err.msg);
	tb_store_close(s);

	cr_expect_eq(raw_int(path, "SELECT count(*) FROM runs"), 2);
	cr_expect_eq(raw_int(path, "SELECT count(*) FROM trials"), 4);
	cr_expect_eq(raw_int(path, "SELECT count(*) FROM runs WHERE firmware_sha256 IS NULL"
			     " AND flash_bytes IS NULL AND static_ram_bytes IS NULL"
			     " AND energy_method IS NULL"), 2);
	cr_expect_eq(raw_int(path, "SELECT count(*) FROM trials WHERE link_retries IS NULL"
			     " AND frames_dropped IS NULL AND energy_uj IS NULL AND power_mw IS NULL"
			     " AND energy_window_ms IS NULL AND energy_samples IS NULL"
			     " AND energy_sample_hz IS NULL AND energy_lost_samples IS NULL"), 3);
	cr_expect_eq(raw_int(path, "SELECT link_retries * 10 + frames_dropped FROM trials"
			     " WHERE run_id = 2 AND idx = 1"), 41);

	/* Opening again does not migrate again. */
	s = open_ok(path);
	tb_store_close(s);
	cr_expect_eq(raw_int(path, "PRAGMA user_version"), TB_STORE_SCHEMA_VERSION);
	cr_expect_eq(raw_int(path, "SELECT count(*) FROM trials"), 4);
}

Test(store, v2_run_fields_are_checked)
{
	struct tb_store *s = open_ok(tpath("v2args.db"));
	struct tb_run_info ri = minimal_run("sim", "kws");
	struct tb_error err = { 0 };
	static const char *const bad_methods[] = {
		"ppk2", "measured:", "measured", "simulated:ppk2", "measured:pp k2",
		"Measured:ppk2", "emulated:ppk2;drop", "",
	};
	static const char *const good_methods[] = {
		"measured:ppk2", "emulated:ppk2", "emulated:lpm01a", "measured:joulescope.js220",
	};
	int64_t id;
	size_t i;

	ri.firmware_sha256 = "abc";	/* hex, but not 64 digits */
	cr_expect_eq(tb_store_run_begin(s, &ri, &id, &err), TB_ERR_ARG);
	cr_expect(strstr(err.msg, "'abc'"), "%s", err.msg);
	ri.firmware_sha256 = "zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
	cr_expect_eq(tb_store_run_begin(s, &ri, &id, &err), TB_ERR_ARG);
	ri.firmware_sha256 = NULL;

	for (i = 0; i < sizeof(bad_methods) / sizeof(bad_methods[0]); i++) {
		ri.energy_method = bad_methods[i];
		cr_expect_eq(tb_store_run_begin(s, &ri, &id, &err), TB_ERR_ARG,
			     "energy method '%s' accepted", bad_methods[i]);
		cr_expect(strstr(err.msg, "measured:<instrument>"), "%s", err.msg);
	}
	for (i = 0; i < sizeof(good_methods) / sizeof(good_methods[0]); i++) {
		ri.energy_method = good_methods[i];
		cr_expect_eq(tb_store_run_begin(s, &ri, &id, &err), 0,
			     "energy method '%s': %s", good_methods[i], err.msg);
	}
	tb_store_close(s);
}

/* What a caller that predates version 2 passes: a zeroed struct with only
 * the v1 fields filled in. */
static struct tb_trial v1_style_trial(int64_t idx)
{
	struct tb_trial t;

	memset(&t, 0, sizeof(t));
	t.idx = idx;
	t.started_at = 1700000000100;
	t.ended_at = 1700000000200;
	t.inferences = 10;
	t.ticks = 1000;
	t.timer_hz = TB_STORE_UNKNOWN;
	t.latency_ms = 1.5;
	return t;
}

Test(store, energy_figures_need_an_energy_method)
{
	const char *path = tpath("energy.db");
	struct tb_store *s = open_ok(path);
	struct tb_run_info plain = minimal_run("sim", "kws");
	struct tb_run_info metered = minimal_run("sim", "kws");
	struct tb_trial t;
	struct tb_error err = { 0 };
	struct collect c = { 0 };
	struct tb_store_filter f = { 0 };
	int64_t id_plain, id_metered;

	metered.energy_method = "emulated:ppk2";
	id_plain = begin_ok(s, &plain);
	id_metered = begin_ok(s, &metered);

	/* Zeroed v2 fields in a run without energy: stored as "not measured";
	 * link counts are plain numbers (0 = none happened). */
	t = v1_style_trial(0);
	add_ok(s, id_plain, &t);
	cr_expect_eq(raw_int(path, "SELECT energy_uj IS NULL AND power_mw IS NULL"
			     " AND energy_window_ms IS NULL AND energy_samples IS NULL"
			     " AND energy_sample_hz IS NULL AND energy_lost_samples IS NULL"
			     " AND link_retries = 0 AND frames_dropped = 0"
			     " FROM trials WHERE idx = 0"), 1);

	/* A real figure without an energy_method is refused. */
	t = minimal_trial(1);
	t.energy_uj = 12.5;
	cr_expect_eq(tb_store_trial_add(s, id_plain, &t, &err), TB_ERR_ARG);
	cr_expect(strstr(err.msg, "energy_method"), "%s", err.msg);
	t = minimal_trial(1);
	t.energy_samples = 100;
	cr_expect_eq(tb_store_trial_add(s, id_plain, &t, &err), TB_ERR_ARG);

	/* With a method: zero window or rate, negatives, infinities refused. */
	t = v1_style_trial(0);
	cr_expect_eq(tb_store_trial_add(s, id_metered, &t, &err), TB_ERR_ARG,
		     "zeroed struct in a metered run");
	cr_expect(strstr(err.msg, "window"), "%s", err.msg);
	t = minimal_trial(0);
	t.energy_uj = -1.0;
	cr_expect_eq(tb_store_trial_add(s, id_metered, &t, &err), TB_ERR_ARG);
	t = minimal_trial(0);
	t.power_mw = INFINITY;
	cr_expect_eq(tb_store_trial_add(s, id_metered, &t, &err), TB_ERR_ARG);
	t = minimal_trial(0);
	t.energy_sample_hz = -5;
	cr_expect_eq(tb_store_trial_add(s, id_metered, &t, &err), TB_ERR_ARG);

	/* 0 energy in a metered run is a measurement; NaN rate = unknown. */
	t = minimal_trial(0);
	t.energy_uj = 0.0;
	t.power_mw = 0.0;
	t.energy_window_ms = 250.0;
	t.energy_samples = 0;
	add_ok(s, id_metered, &t);
	f.run_id = id_metered;
	cr_assert_eq(tb_store_trials_foreach(s, &f, collect_trial, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.n, 1);
	cr_expect_eq(c.t[0].energy_uj, 0.0);
	cr_expect(!isnan(c.t[0].energy_uj));
	cr_expect_eq(c.t[0].energy_window_ms, 250.0);
	cr_expect(isnan(c.t[0].energy_sample_hz));
	cr_expect_eq(c.t[0].energy_samples, 0);
	cr_expect_eq(c.t[0].energy_lost_samples, TB_STORE_UNKNOWN);
	tb_store_close(s);
}

/* ------------------------------------------------------ power traces */

Test(store, trace_round_trip_is_bit_exact)
{
	const char *path = tpath("trace.db");
	struct tb_store *s = open_ok(path);
	struct tb_run_info ri = minimal_run("sim", "kws");
	struct tb_trial t = minimal_trial(0);
	struct tb_error err = { 0 };
	const float mw[] = {
		1.0f, 0.1f, 12.345678f, -0.0f, 0.0f, 3.4028235e38f, 1.4e-45f,
		1.17549435e-38f, 1e-30f, 1234567.875f, -2.5f,
	};
	const size_t n = sizeof(mw) / sizeof(mw[0]);
	float *got = (float *)&err;	/* must be replaced */
	double hz = 0;
	size_t got_n = 99;
	int64_t id = begin_ok(s, &ri);

	add_ok(s, id, &t);
	cr_assert_eq(tb_store_trace_add(s, id, 0, 1000.0, mw, n, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_store_trace_get(s, id, 0, &hz, &got, &got_n, &err), 0, "%s", err.msg);
	cr_expect_eq(hz, 1000.0);
	cr_assert_eq(got_n, n);
	cr_expect_arr_eq(got, mw, sizeof(mw), "bit-exact floats");
	for (size_t i = 0; i < n; i++)
		cr_expect_eq(got[i], mw[i], "value %zu", i);
	free(got);

	/* The file format: float32 little-endian, 4 bytes per bin. */
	tb_store_close(s);
	cr_expect_eq(raw_int(path, "SELECT length(mw) FROM power_traces"), (int64_t)(4 * n));
	cr_expect_eq(raw_int(path, "SELECT substr(hex(mw), 1, 16) = '0000803FCDCCCC3D'"
			     " FROM power_traces"), 1);
}

Test(store, trace_errors)
{
	struct tb_store *s = open_ok(tpath("trace_err.db"));
	struct tb_run_info ri = minimal_run("sim", "kws");
	struct tb_trial t = minimal_trial(0);
	struct tb_error err = { 0 };
	const float mw[] = { 1.0f, 2.0f, 3.0f };
	float *got = (float *)mw;
	double hz = 5;
	size_t n = 7;
	int64_t id = begin_ok(s, &ri);

	add_ok(s, id, &t);
	cr_expect_eq(tb_store_trace_add(s, id, 1, 100.0, mw, 3, &err), TB_ERR_NOTFOUND);
	cr_expect(strstr(err.msg, "no trial 1"), "%s", err.msg);
	cr_expect_eq(tb_store_trace_add(s, id + 1, 0, 100.0, mw, 3, &err), TB_ERR_NOTFOUND);
	cr_expect(strstr(err.msg, "no run"), "%s", err.msg);
	cr_expect_eq(tb_store_trace_add(s, id, 0, 100.0, mw, 0, &err), TB_ERR_ARG, "empty");
	cr_expect_eq(tb_store_trace_add(s, id, 0, 100.0, NULL, 3, &err), TB_ERR_ARG);
	cr_expect_eq(tb_store_trace_add(s, id, 0, 0.0, mw, 3, &err), TB_ERR_ARG, "bin_hz 0");
	cr_expect_eq(tb_store_trace_add(s, id, 0, NAN, mw, 3, &err), TB_ERR_ARG, "bin_hz NaN");
	cr_expect_eq(tb_store_trace_add(s, id, 0, INFINITY, mw, 3, &err), TB_ERR_ARG);

	cr_expect_eq(tb_store_trace_get(s, id, 0, &hz, &got, &n, &err), TB_ERR_NOTFOUND,
		     "nothing stored by the failed adds");
	cr_expect_null(got);
	cr_expect_eq(n, 0);
	cr_expect(isnan(hz));
	cr_expect(strstr(err.msg, "no power trace"), "%s", err.msg);

	/* A finished run's trial may still get its trace; only one. */
	cr_assert_eq(tb_store_run_finish(s, id, TB_RUN_OK, NULL, 1700000009999, &err), 0);
	cr_expect_eq(tb_store_trace_add(s, id, 0, 100.0, mw, 3, &err), 0, "%s", err.msg);
	cr_expect_eq(tb_store_trace_add(s, id, 0, 100.0, mw, 3, &err), TB_ERR_ARG);
	cr_expect(strstr(err.msg, "already"), "%s", err.msg);
	cr_assert_eq(tb_store_trace_get(s, id, 0, NULL, &got, &n, &err), 0, "%s", err.msg);
	cr_expect_eq(n, 3);
	free(got);
	tb_store_close(s);
}

Test(store, trace_follows_its_trial)
{
	const char *path = tpath("cascade.db");
	struct tb_store *s = open_ok(path);
	struct tb_run_info ri = minimal_run("sim", "kws");
	struct tb_trial t = minimal_trial(0);
	const float mw[] = { 1.0f };
	int64_t id = begin_ok(s, &ri);

	add_ok(s, id, &t);
	cr_assert_eq(tb_store_trace_add(s, id, 0, 10.0, mw, 1, NULL), 0);
	cr_assert_eq(tb_store_tag_set(s, id, "k", "v", NULL), 0);
	tb_store_close(s);
	raw_exec(path, "PRAGMA foreign_keys = ON; DELETE FROM runs;");
	cr_expect_eq(raw_int(path, "SELECT count(*) FROM power_traces"), 0);
	cr_expect_eq(raw_int(path, "SELECT count(*) FROM run_tags"), 0);
}

/* -------------------------------------------------------------- tags */

struct seen_tags {
	int n;
	char kv[16][1100];
};

static int collect_tag(const char *key, const char *value, void *user)
{
	struct seen_tags *st = user;

	cr_assert_lt(st->n, 16);
	snprintf(st->kv[st->n++], sizeof(st->kv[0]), "%s=%s", key, value);
	return 0;
}

Test(store, tags_set_replace_and_list_in_key_order)
{
	struct tb_store *s = open_ok(tpath("tags.db"));
	struct tb_run_info ri = minimal_run("sim", "kws");
	struct tb_error err = { 0 };
	struct seen_tags st = { 0 };
	int64_t id = begin_ok(s, &ri), other = begin_ok(s, &ri);

	cr_assert_eq(tb_store_tag_set(s, id, "git.commit", "b2c2c99", &err), 0, "%s", err.msg);
	cr_assert_eq(tb_store_tag_set(s, id, "branch", "main", &err), 0, "%s", err.msg);
	cr_assert_eq(tb_store_tag_set(s, id, "Z-last_1", "", &err), 0, "empty value: %s", err.msg);
	cr_assert_eq(tb_store_tag_set(s, id, "branch", "feature/energy;v2", &err), 0, "%s", err.msg);
	cr_assert_eq(tb_store_tags_foreach(s, id, collect_tag, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(st.n, 3, "replace does not add");
	/* Bytewise key order: upper case before lower case. */
	cr_expect_str_eq(st.kv[0], "Z-last_1=");
	cr_expect_str_eq(st.kv[1], "branch=feature/energy;v2");
	cr_expect_str_eq(st.kv[2], "git.commit=b2c2c99");

	memset(&st, 0, sizeof(st));
	cr_expect_eq(tb_store_tags_foreach(s, other, collect_tag, &st, &err), 0, "%s", err.msg);
	cr_expect_eq(st.n, 0, "tags belong to one run");
	cr_expect_eq(tb_store_tags_foreach(s, other + 1, collect_tag, &st, &err), TB_ERR_NOTFOUND);
	cr_expect(strstr(err.msg, "no run"), "%s", err.msg);

	/* Finished runs can still be labelled. */
	cr_assert_eq(tb_store_run_finish(s, other, TB_RUN_OK, NULL, 1700000009999, &err), 0);
	cr_expect_eq(tb_store_tag_set(s, other, "baseline", "1", &err), 0, "%s", err.msg);
	tb_store_close(s);
}

Test(store, tags_reject_bad_keys_and_values)
{
	struct tb_store *s = open_ok(tpath("tagargs.db"));
	struct tb_run_info ri = minimal_run("sim", "kws");
	struct tb_error err = { 0 };
	struct seen_tags st = { 0 };
	static const char *const bad_keys[] = {
		"", "has space", "k=v", "semi;colon", "sl/ash", "caf\xc3\xa9", "tab\t",
	};
	char key64[65], key65[66], val1024[1025], val1025[1026];
	int64_t id = begin_ok(s, &ri);
	size_t i;

	for (i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		cr_expect_eq(tb_store_tag_set(s, id, bad_keys[i], "v", &err), TB_ERR_ARG,
			     "key '%s' accepted", bad_keys[i]);
		cr_expect(strstr(err.msg, "tag key"), "%s", err.msg);
	}
	memset(key64, 'k', 64);
	key64[64] = '\0';
	memset(key65, 'k', 65);
	key65[65] = '\0';
	memset(val1024, 'v', 1024);
	val1024[1024] = '\0';
	memset(val1025, 'v', 1025);
	val1025[1025] = '\0';
	cr_expect_eq(tb_store_tag_set(s, id, key65, "v", &err), TB_ERR_ARG, "65-char key");
	cr_expect_eq(tb_store_tag_set(s, id, "k", NULL, &err), TB_ERR_ARG, "NULL value");
	cr_expect_eq(tb_store_tag_set(s, id, "k", val1025, &err), TB_ERR_ARG, "1025-byte value");
	cr_expect(strstr(err.msg, "1025"), "%s", err.msg);
	cr_expect_eq(tb_store_tag_set(s, id + 1, "k", "v", &err), TB_ERR_NOTFOUND);
	cr_expect_eq(tb_store_tags_foreach(s, id, collect_tag, &st, NULL), 0);
	cr_expect_eq(st.n, 0, "nothing stored by the refused calls");

	cr_expect_eq(tb_store_tag_set(s, id, key64, val1024, &err), 0, "limits: %s", err.msg);
	cr_expect_eq(tb_store_tag_set(s, id, "a-Z_0.9", "v", &err), 0, "%s", err.msg);
	tb_store_close(s);
}

/* Runs 1..3 of three_runs(), tagged: 1 fw=a, 2 fw=b and ci=, 3 none. */
static struct tb_store *tagged_runs(void)
{
	struct tb_store *s = three_runs();

	cr_assert_eq(tb_store_tag_set(s, 1, "fw", "a", NULL), 0);
	cr_assert_eq(tb_store_tag_set(s, 2, "fw", "b=c", NULL), 0);
	cr_assert_eq(tb_store_tag_set(s, 2, "ci", "", NULL), 0);
	return s;
}

Test(store, filter_by_tag)
{
	struct tb_store *s = tagged_runs();
	struct tb_store_filter f = { 0 };
	struct seen_runs sr = { 0 };
	struct collect c = { 0 };
	struct tb_error err = { 0 };

	f.tag = "fw=a";
	cr_assert_eq(tb_store_runs_foreach(s, &f, collect_run, &sr, &err), 0, "%s", err.msg);
	cr_expect(sr.n == 1 && sr.ids[0] == 1, "fw=a: %d runs", sr.n);

	memset(&sr, 0, sizeof(sr));
	f.tag = "fw";
	cr_assert_eq(tb_store_runs_foreach(s, &f, collect_run, &sr, &err), 0, "%s", err.msg);
	cr_expect(sr.n == 2 && sr.ids[0] == 1 && sr.ids[1] == 2, "key only: %d runs", sr.n);

	memset(&sr, 0, sizeof(sr));
	f.tag = "fw=b=c";		/* the value is everything after the first '=' */
	cr_assert_eq(tb_store_runs_foreach(s, &f, collect_run, &sr, &err), 0, "%s", err.msg);
	cr_expect(sr.n == 1 && sr.ids[0] == 2);

	memset(&sr, 0, sizeof(sr));
	f.tag = "ci=";			/* empty value */
	cr_assert_eq(tb_store_runs_foreach(s, &f, collect_run, &sr, &err), 0, "%s", err.msg);
	cr_expect(sr.n == 1 && sr.ids[0] == 2);

	memset(&sr, 0, sizeof(sr));
	f.tag = "fw=";			/* no run has fw empty */
	cr_assert_eq(tb_store_runs_foreach(s, &f, collect_run, &sr, &err), 0, "%s", err.msg);
	cr_expect_eq(sr.n, 0);

	memset(&sr, 0, sizeof(sr));
	f.tag = "fw=A";			/* values compare exactly */
	cr_assert_eq(tb_store_runs_foreach(s, &f, collect_run, &sr, &err), 0, "%s", err.msg);
	cr_expect_eq(sr.n, 0);

	memset(&sr, 0, sizeof(sr));
	f = (struct tb_store_filter){ .tag = "fw", .workload = "vww" };
	cr_assert_eq(tb_store_runs_foreach(s, &f, collect_run, &sr, &err), 0, "%s", err.msg);
	cr_expect(sr.n == 1 && sr.ids[0] == 2, "ANDed with workload");

	f = (struct tb_store_filter){ .tag = "fw=a" };
	cr_assert_eq(tb_store_trials_foreach(s, &f, collect_trial, &c, &err), 0, "%s", err.msg);
	cr_expect_eq(c.n, 3);
	cr_expect(c.run_id[0] == 1 && c.run_id[2] == 1);
	tb_store_close(s);
}

Test(store, malformed_tag_filter_is_an_argument_error)
{
	struct tb_store *s = tagged_runs();
	struct tb_store_filter f = { 0 };
	struct seen_runs sr = { 0 };
	struct collect c = { 0 };
	struct tb_error err = { 0 };
	static const char *const bad[] = {
		"", "=a", "=", "f w=a", "fw;x=1",
		"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk=1",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f.tag = bad[i];
		err.msg[0] = '\0';
		cr_expect_eq(tb_store_runs_foreach(s, &f, collect_run, &sr, &err), TB_ERR_ARG,
			     "tag filter '%s' accepted", bad[i]);
		cr_expect(strstr(err.msg, "tag filter"), "'%s': %s", bad[i], err.msg);
		if (bad[i][0])
			cr_expect(strstr(err.msg, bad[i]), "names the text '%s': %s", bad[i], err.msg);
		cr_expect_eq(tb_store_trials_foreach(s, &f, collect_trial, &c, &err), TB_ERR_ARG,
			     "trials: tag filter '%s' accepted", bad[i]);
	}
	cr_expect_eq(sr.n, 0, "no run reported");
	cr_expect_eq(c.n, 0, "no trial reported");
	tb_store_close(s);
}

/* ----------------------------------------------------- schema v3 (attempts) */

static int attempts_cb(const struct tb_run *run, const struct tb_trial *t, void *user)
{
	int64_t *seen = user;

	(void)run;
	seen[t->idx] = t->attempts;
	return 0;
}

Test(store, v3_trial_attempts_round_trip_and_v2_files_migrate)
{
	const char *path = tpath("v3.db");
	struct tb_store_filter f = { 0 };
	struct tb_error err = { 0 };
	struct tb_store *s = open_ok(path);
	struct tb_run_info ri = minimal_run("sim", "kws01");
	int64_t id = begin_ok(s, &ri), seen[3] = { 0, 0, 0 };
	struct tb_trial t0 = minimal_trial(0), t1 = minimal_trial(1), t2 = minimal_trial(2);

	t1.attempts = 3;        /* failed twice on the link, third run ok */
	t2.attempts = TB_STORE_UNKNOWN;
	add_ok(s, id, &t0);     /* zeroed: not counted */
	add_ok(s, id, &t1);
	add_ok(s, id, &t2);
	f.run_id = id;
	cr_assert_eq(tb_store_trials_foreach(s, &f, attempts_cb, seen, &err), 0, "%s", err.msg);
	cr_expect_eq(seen[0], TB_STORE_UNKNOWN);
	cr_expect_eq(seen[1], 3);
	cr_expect_eq(seen[2], TB_STORE_UNKNOWN);
	tb_store_close(s);
	cr_expect_eq(raw_int(path, "SELECT count(*) FROM trials WHERE attempts IS NULL"), 2);

	/* A file at version 2 gains the column; its rows read NULL. */
	raw_exec(path, "ALTER TABLE trials DROP COLUMN attempts; DROP TABLE predictions;"
		 " DROP TABLE accuracy_runs; PRAGMA user_version = 2;");
	s = open_ok(path);
	tb_store_close(s);
	cr_expect_eq(raw_int(path, "PRAGMA user_version"), TB_STORE_SCHEMA_VERSION);
	cr_expect_eq(raw_int(path, "SELECT count(*) FROM trials WHERE attempts IS NULL"), 3);
}
