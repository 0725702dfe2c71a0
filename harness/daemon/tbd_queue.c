/*
 * tbd_queue.c - the job queue on SQLite (tbd_queue.h, docs/DAEMON.md).
 *
 * Every statement is prepared once, at open, and values are bound; the one
 * exception is the integer written to PRAGMA user_version by a migration.
 * Changes that belong together (a claim and its log line, an end and its
 * log line) share a transaction.
 */
#include "tbd_queue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tb_sqlite.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const migrations[] = {
	/* 0 -> 1 */
	"PRAGMA application_id = 1952605297;\n" /* TBD_QUEUE_APPLICATION_ID */
	"CREATE TABLE jobs (\n"
	"	id            INTEGER PRIMARY KEY,\n"
	"	state         TEXT NOT NULL DEFAULT 'queued' CHECK (state IN\n"
	"	              ('queued', 'running', 'done', 'failed', 'cancelled')),\n"
	"	board         TEXT NOT NULL,\n"
	"	workload      TEXT NOT NULL,\n"
	"	params_json   TEXT NOT NULL,\n"
	"	input         BLOB,\n"
	"	submitter     TEXT NOT NULL,\n"
	"	submitted_at  INTEGER NOT NULL,\n"
	"	started_at    INTEGER,\n"
	"	ended_at      INTEGER,\n"
	"	worker        TEXT,\n"
	"	run_id        INTEGER CHECK (run_id > 0),\n"
	"	results_db    TEXT,\n"
	"	starts        INTEGER NOT NULL DEFAULT 0 CHECK (starts >= 0),\n"
	"	interruptions INTEGER NOT NULL DEFAULT 0 CHECK (interruptions >= 0),\n"
	"	reason        TEXT,\n"
	"	result_json   TEXT\n"
	");\n"
	"CREATE INDEX jobs_state ON jobs (state, id);\n"
	"CREATE TABLE job_log (\n"
	"	seq     INTEGER PRIMARY KEY,\n"
	"	job_id  INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,\n"
	"	at      INTEGER NOT NULL,\n"
	"	level   TEXT NOT NULL CHECK (level IN ('error', 'warning', 'info', 'debug')),\n"
	"	message TEXT NOT NULL\n"
	");\n"
	"CREATE INDEX job_log_job ON job_log (job_id, seq);\n"
	"CREATE TABLE quarantine (\n"
	"	instance TEXT PRIMARY KEY,\n"
	"	reason   TEXT NOT NULL,\n"
	"	since    INTEGER NOT NULL\n"
	");\n",
};

_Static_assert(N_ELEMS(migrations) == TBD_QUEUE_SCHEMA_VERSION, "one migration per version");
_Static_assert(TBD_QUEUE_APPLICATION_ID == 1952605297, "migration 1 writes the id");

static const char *const state_names[] = { "queued", "running", "done", "failed", "cancelled" };
static const char *const level_names[] = { "error", "warning", "info", "debug" };

enum {
	S_BEGIN, S_COMMIT, S_ROLLBACK, S_INSERT, S_PICK, S_TAKE, S_GET, S_SET_RUN,
	S_FINISH, S_REQUEUE, S_RUNNING, S_FAIL_INTERRUPTED, S_CANCEL, S_STATE,
	S_LIST, S_COUNTS, S_LOG, S_LOGS, S_QUARANTINE, S_RELEASE, S_QUARANTINED,
	N_STMTS
};

#define JOB_COLUMNS \
	"id, state, board, workload, params_json, input, submitter, submitted_at," \
	" started_at, ended_at, worker, run_id, results_db, starts, interruptions," \
	" reason, result_json"

static const char *const stmt_sql[N_STMTS] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_INSERT] = "INSERT INTO jobs (board, workload, params_json, input, submitter,"
		     " submitted_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_PICK] = "SELECT id FROM jobs WHERE state = 'queued' AND board IN (?1, ?2)"
		   " ORDER BY id LIMIT 1",
	[S_TAKE] = "UPDATE jobs SET state = 'running', started_at = ?2, worker = ?3,"
		   " results_db = ?4, starts = starts + 1, reason = NULL"
		   " WHERE id = ?1 AND state = 'queued'",
	[S_GET] = "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1",
	[S_SET_RUN] = "UPDATE jobs SET run_id = ?2 WHERE id = ?1",
	[S_FINISH] = "UPDATE jobs SET state = ?2, reason = ?3, result_json = ?4, ended_at = ?5"
		     " WHERE id = ?1 AND state = 'running'",
	[S_REQUEUE] = "UPDATE jobs SET state = 'queued', reason = ?2,"
		      " interruptions = interruptions + 1 WHERE id = ?1 AND state = 'running'",
	[S_RUNNING] = "SELECT id, interruptions FROM jobs WHERE state = 'running' ORDER BY id",
	[S_FAIL_INTERRUPTED] = "UPDATE jobs SET state = 'failed', reason = ?2, ended_at = ?3,"
			       " interruptions = interruptions + 1 WHERE id = ?1",
	[S_CANCEL] = "UPDATE jobs SET state = 'cancelled', ended_at = ?2,"
		     " reason = 'cancelled while queued' WHERE id = ?1 AND state = 'queued'",
	[S_STATE] = "SELECT state FROM jobs WHERE id = ?1",
	[S_LIST] = "SELECT " JOB_COLUMNS " FROM jobs WHERE (?1 IS NULL OR state = ?1)"
		   " AND (?2 IS NULL OR board = ?2 OR worker = ?2) ORDER BY id DESC LIMIT ?3",
	[S_COUNTS] = "SELECT state, count(*) FROM jobs GROUP BY state",
	[S_LOG] = "INSERT INTO job_log (job_id, at, level, message) VALUES (?1, ?2, ?3, ?4)",
	[S_LOGS] = "SELECT seq, at, level, message FROM job_log WHERE job_id = ?1 AND seq > ?2"
		   " ORDER BY seq",
	[S_QUARANTINE] = "INSERT OR REPLACE INTO quarantine (instance, reason, since)"
			 " VALUES (?1, ?2, ?3)",
	[S_RELEASE] = "DELETE FROM quarantine WHERE instance = ?1",
	[S_QUARANTINED] = "SELECT instance, reason, since FROM quarantine ORDER BY instance",
};

struct tbd_queue {
	sqlite3 *db;
	sqlite3_stmt *st[N_STMTS];
	char path[];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *tbd_job_state_name(enum tbd_job_state s)
{
	return (unsigned)s < N_ELEMS(state_names) ? state_names[s] : NULL;
}

int tbd_job_state_parse(const char *name)
{
	for (size_t i = 0; name && i < N_ELEMS(state_names); i++)
		if (!strcmp(name, state_names[i]))
			return (int)i;
	return -1;
}

const char *tbd_log_level_name(enum tbd_log_level l)
{
	return (unsigned)l < N_ELEMS(level_names) ? level_names[l] : "info";
}

static int level_parse(const char *name)
{
	for (size_t i = 0; name && i < N_ELEMS(level_names); i++)
		if (!strcmp(name, level_names[i]))
			return (int)i;
	return TBD_LOG_INFO;
}

void tbd_job_clear(struct tbd_job *job)
{
	if (!job)
		return;
	free(job->params_json);
	free(job->input);
	free(job->result_json);
	memset(job, 0, sizeof(*job));
}

/* ---------------------------------------------------------------- errors */

static int fail(struct tbd_queue *q, int rc, struct tb_error *err, const char *what)
{
	return tb_error_set(err, tb_sqlite_code(rc), "job queue '%s': %s: %s", q->path,
			    what, q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
}

static sqlite3_stmt *stmt(struct tbd_queue *q, int i)
{
	sqlite3_reset(q->st[i]);
	sqlite3_clear_bindings(q->st[i]);
	return q->st[i];
}

/* Run a statement to the end and reset it, so it holds no lock. */
static int step_done(sqlite3_stmt *st)
{
	int rc = tb_sqlite_step_done(st);

	sqlite3_reset(st);
	return rc;
}

static int begin(struct tbd_queue *q, struct tb_error *err)
{
	int rc = step_done(stmt(q, S_BEGIN));

	return rc == SQLITE_OK ? TB_OK : fail(q, rc, err, "cannot start a transaction");
}

static int commit(struct tbd_queue *q, struct tb_error *err)
{
	int rc = step_done(stmt(q, S_COMMIT));

	return rc == SQLITE_OK ? TB_OK : fail(q, rc, err, "cannot commit");
}

static void rollback(struct tbd_queue *q)
{
	if (!sqlite3_get_autocommit(q->db))
		step_done(stmt(q, S_ROLLBACK));
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

/* ------------------------------------------------------------------ open */

int tbd_queue_default_path(char *buf, size_t len, struct tb_error *err)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	int n;

	if (xdg && xdg[0] == '/')
		n = snprintf(buf, len, "%s/tinybench/queue.db", xdg);
	else if (home && home[0])
		n = snprintf(buf, len, "%s/.local/state/tinybench/queue.db", home);
	else
		return tb_error_set(err, TB_ERR_NOTFOUND,
				    "no place for the job queue: neither XDG_STATE_HOME nor HOME is set");
	if (n < 0 || (size_t)n >= len)
		return tb_error_set(err, TB_ERR_ARG, "job queue path too long");
	return TB_OK;
}

static int make_dirs(const char *path, struct tb_error *err)
{
	char dir[4096], *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return TB_OK;
	*p = '\0';
	for (p = strchr(dir + 1, '/');; p = strchr(p + 1, '/')) {
		if (p)
			*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return tb_error_set(err, TB_ERR_IO, "job queue '%s': cannot create '%s': %s",
					    path, dir, strerror(errno));
		if (!p)
			break;
		*p = '/';
	}
	return TB_OK;
}

static int migrate(struct tbd_queue *q, struct tb_error *err)
{
	int64_t app = 0, version = 0, objects = 0;
	char set[64];
	int rc;

	for (int target = 1; target <= TBD_QUEUE_SCHEMA_VERSION; target++) {
		rc = tb_sqlite_exec(q->db, "BEGIN IMMEDIATE");
		if (rc != SQLITE_OK)
			return fail(q, rc, err, "cannot lock for migration");
		rc = tb_sqlite_query_int(q->db, "PRAGMA application_id", &app);
		if (rc == SQLITE_OK)
			rc = tb_sqlite_query_int(q->db, "PRAGMA user_version", &version);
		if (rc == SQLITE_OK)
			rc = tb_sqlite_query_int(q->db, "SELECT count(*) FROM sqlite_master", &objects);
		if (rc != SQLITE_OK)
			goto out_fail;
		if (!(app == 0 && version == 0 && objects == 0) &&
		    app != TBD_QUEUE_APPLICATION_ID) {
			tb_sqlite_exec(q->db, "ROLLBACK");
			return tb_error_set(err, TB_ERR_FORMAT,
					    "'%s' is not a tinybench job queue (application_id 0x%08llx)",
					    q->path, (unsigned long long)(uint32_t)app);
		}
		if (version > TBD_QUEUE_SCHEMA_VERSION) {
			tb_sqlite_exec(q->db, "ROLLBACK");
			return tb_error_set(err, TB_ERR_UNSUPPORTED,
					    "job queue '%s' has schema version %lld, this build %d: use a newer tinybenchd",
					    q->path, (long long)version, TBD_QUEUE_SCHEMA_VERSION);
		}
		if (version < target) {
			rc = tb_sqlite_exec(q->db, migrations[target - 1]);
			if (rc != SQLITE_OK)
				goto out_fail;
			snprintf(set, sizeof(set), "PRAGMA user_version = %d", target);
			rc = tb_sqlite_exec(q->db, set);
			if (rc != SQLITE_OK)
				goto out_fail;
		}
		rc = tb_sqlite_exec(q->db, "COMMIT");
		if (rc != SQLITE_OK)
			goto out_fail;
	}
	return TB_OK;

out_fail:
	rc = fail(q, rc, err, "migration failed");
	tb_sqlite_exec(q->db, "ROLLBACK");
	return rc;
}

int tbd_queue_open(const char *path, struct tbd_queue **out, struct tb_error *err)
{
	struct tbd_queue *q;
	int rc;

	*out = NULL;
	q = calloc(1, sizeof(*q) + strlen(path) + 1);
	if (!q)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	strcpy(q->path, path);
	rc = make_dirs(path, err);
	if (rc < 0)
		goto out_free;
	rc = sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = fail(q, rc, err, "cannot open");
		goto out_free;
	}
	sqlite3_busy_timeout(q->db, TBD_QUEUE_BUSY_MS);
	rc = tb_sqlite_exec(q->db, "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL;"
			 " PRAGMA synchronous = FULL");
	if (rc != SQLITE_OK) {
		rc = fail(q, rc, err, "cannot set pragmas");
		goto out_free;
	}
	rc = migrate(q, err);
	if (rc < 0)
		goto out_free;
	for (int i = 0; i < N_STMTS; i++) {
		rc = sqlite3_prepare_v2(q->db, stmt_sql[i], -1, &q->st[i], NULL);
		if (rc != SQLITE_OK) {
			rc = fail(q, rc, err, "cannot prepare a statement");
			goto out_free;
		}
	}
	*out = q;
	return TB_OK;

out_free:
	tbd_queue_close(q);
	return rc;
}

void tbd_queue_close(struct tbd_queue *q)
{
	if (!q)
		return;
	for (int i = 0; i < N_STMTS; i++)
		sqlite3_finalize(q->st[i]);
	sqlite3_close(q->db);
	free(q);
}

/* ------------------------------------------------------------------ jobs */

static char *dup_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? strdup((const char *)t) : NULL;
}

static void copy_col(sqlite3_stmt *st, int i, char *buf, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(buf, len, "%s", t ? (const char *)t : "");
}

static int read_job(sqlite3_stmt *st, struct tbd_job *j)
{
	const void *blob;
	int n;

	memset(j, 0, sizeof(*j));
	j->id = sqlite3_column_int64(st, 0);
	j->state = (enum tbd_job_state)tbd_job_state_parse((const char *)sqlite3_column_text(st, 1));
	copy_col(st, 2, j->board, sizeof(j->board));
	copy_col(st, 3, j->workload, sizeof(j->workload));
	j->params_json = dup_col(st, 4);
	blob = sqlite3_column_blob(st, 5);
	n = sqlite3_column_bytes(st, 5);
	if (blob && n > 0) {
		j->input = malloc((size_t)n);
		if (!j->input)
			return TB_ERR_NOMEM;
		memcpy(j->input, blob, (size_t)n);
		j->input_len = (size_t)n;
	}
	copy_col(st, 6, j->submitter, sizeof(j->submitter));
	j->submitted_at = sqlite3_column_int64(st, 7);
	j->started_at = sqlite3_column_int64(st, 8);
	j->ended_at = sqlite3_column_int64(st, 9);
	copy_col(st, 10, j->worker, sizeof(j->worker));
	j->run_id = sqlite3_column_int64(st, 11);
	copy_col(st, 12, j->results_db, sizeof(j->results_db));
	j->starts = sqlite3_column_int(st, 13);
	j->interruptions = sqlite3_column_int(st, 14);
	copy_col(st, 15, j->reason, sizeof(j->reason));
	j->result_json = dup_col(st, 16);
	if (!j->params_json || (int)j->state < 0)
		return TB_ERR_FORMAT;
	return TB_OK;
}

static int log_line(struct tbd_queue *q, int64_t id, enum tbd_log_level level,
		    const char *message)
{
	sqlite3_stmt *st = stmt(q, S_LOG);

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now_ms());
	bind_text(st, 3, tbd_log_level_name(level));
	bind_text(st, 4, message);
	return step_done(st);
}

int tbd_queue_submit(struct tbd_queue *q, const char *board, const char *workload,
		     const char *params_json, const void *input, size_t input_len,
		     const char *submitter, int64_t *id, struct tb_error *err)
{
	sqlite3_stmt *st;
	char msg[160];
	int rc;

	rc = begin(q, err);
	if (rc < 0)
		return rc;
	st = stmt(q, S_INSERT);
	bind_text(st, 1, board);
	bind_text(st, 2, workload);
	bind_text(st, 3, params_json);
	if (input && input_len)
		sqlite3_bind_blob(st, 4, input, (int)input_len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 4);
	bind_text(st, 5, submitter);
	sqlite3_bind_int64(st, 6, now_ms());
	rc = step_done(st);
	if (rc != SQLITE_OK)
		goto out_fail;
	*id = sqlite3_last_insert_rowid(q->db);
	snprintf(msg, sizeof(msg), "submitted by %s", submitter);
	rc = log_line(q, *id, TBD_LOG_INFO, msg);
	if (rc != SQLITE_OK)
		goto out_fail;
	return commit(q, err) < 0 ? (rollback(q), err ? err->code : TB_ERR_DB) : TB_OK;

out_fail:
	rc = fail(q, rc, err, "cannot add the job");
	rollback(q);
	return rc;
}

int tbd_queue_get(struct tbd_queue *q, int64_t id, struct tbd_job *job,
		  struct tb_error *err)
{
	sqlite3_stmt *st = stmt(q, S_GET);
	int rc;

	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return tb_error_set(err, TB_ERR_NOTFOUND, "no job %lld", (long long)id);
	}
	if (rc != SQLITE_ROW) {
		rc = fail(q, rc, err, "cannot read a job");
		sqlite3_reset(st);
		return rc;
	}
	rc = read_job(st, job);
	sqlite3_reset(st);
	if (rc < 0) {
		tbd_job_clear(job);
		return tb_error_set(err, rc, "job queue '%s': job %lld is unreadable",
				    q->path, (long long)id);
	}
	return TB_OK;
}

int tbd_queue_claim(struct tbd_queue *q, const char *instance, const char *board,
		    const char *results_db, struct tbd_job *job, struct tb_error *err)
{
	sqlite3_stmt *st;
	char msg[160];
	int64_t id;
	int rc;

	rc = begin(q, err);
	if (rc < 0)
		return rc;
	st = stmt(q, S_PICK);
	bind_text(st, 1, instance);
	bind_text(st, 2, board);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		rollback(q);
		return 0;
	}
	if (rc != SQLITE_ROW)
		goto out_fail;
	id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	st = stmt(q, S_TAKE);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now_ms());
	bind_text(st, 3, instance);
	bind_text(st, 4, results_db);
	rc = step_done(st);
	if (rc != SQLITE_OK)
		goto out_fail;
	snprintf(msg, sizeof(msg), "started on board %s", instance);
	rc = log_line(q, id, TBD_LOG_INFO, msg);
	if (rc != SQLITE_OK)
		goto out_fail;
	rc = commit(q, err);
	if (rc < 0) {
		rollback(q);
		return rc;
	}
	rc = tbd_queue_get(q, id, job, err);
	return rc < 0 ? rc : 1;

out_fail:
	rc = fail(q, rc, err, "cannot take a job");
	rollback(q);
	return rc;
}

int tbd_queue_set_run(struct tbd_queue *q, int64_t id, int64_t run_id,
		      struct tb_error *err)
{
	sqlite3_stmt *st = stmt(q, S_SET_RUN);
	int rc;

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, run_id);
	rc = step_done(st);
	return rc == SQLITE_OK ? TB_OK : fail(q, rc, err, "cannot record the job's run");
}

int tbd_queue_finish(struct tbd_queue *q, int64_t id, enum tbd_job_state state,
		     const char *reason, const char *result_json,
		     struct tb_error *err)
{
	sqlite3_stmt *st;
	char msg[640];
	int rc;

	rc = begin(q, err);
	if (rc < 0)
		return rc;
	st = stmt(q, S_FINISH);
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, tbd_job_state_name(state));
	bind_text(st, 3, reason && reason[0] ? reason : NULL);
	bind_text(st, 4, result_json);
	sqlite3_bind_int64(st, 5, now_ms());
	rc = step_done(st);
	if (rc != SQLITE_OK)
		goto out_fail;
	snprintf(msg, sizeof(msg), "%s%s%.500s", tbd_job_state_name(state),
		 reason && reason[0] ? ": " : "", reason ? reason : "");
	rc = log_line(q, id, state == TBD_JOB_DONE ? TBD_LOG_INFO :
		      state == TBD_JOB_CANCELLED ? TBD_LOG_WARNING : TBD_LOG_ERROR, msg);
	if (rc != SQLITE_OK)
		goto out_fail;
	rc = commit(q, err);
	if (rc < 0)
		rollback(q);
	return rc;

out_fail:
	rc = fail(q, rc, err, "cannot end the job");
	rollback(q);
	return rc;
}

int tbd_queue_requeue(struct tbd_queue *q, int64_t id, const char *reason,
		      struct tb_error *err)
{
	sqlite3_stmt *st;
	int rc;

	rc = begin(q, err);
	if (rc < 0)
		return rc;
	st = stmt(q, S_REQUEUE);
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, reason);
	rc = step_done(st);
	if (rc == SQLITE_OK)
		rc = log_line(q, id, TBD_LOG_WARNING, reason ? reason : "requeued");
	if (rc != SQLITE_OK) {
		rc = fail(q, rc, err, "cannot requeue the job");
		rollback(q);
		return rc;
	}
	rc = commit(q, err);
	if (rc < 0)
		rollback(q);
	return rc;
}

int tbd_queue_recover(struct tbd_queue *q, int max_interruptions, int *requeued,
		      int *failed, struct tb_error *err)
{
	int64_t ids[256];
	int counts[256];
	size_t n;
	int rc;

	*requeued = *failed = 0;
	do {
		sqlite3_stmt *st;
		char msg[256];

		rc = begin(q, err);
		if (rc < 0)
			return rc;
		st = stmt(q, S_RUNNING);
		n = 0;
		while (n < N_ELEMS(ids) && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			ids[n] = sqlite3_column_int64(st, 0);
			counts[n++] = sqlite3_column_int(st, 1);
		}
		sqlite3_reset(st);
		rc = SQLITE_OK;
		for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
			if (counts[i] + 1 > max_interruptions) {
				snprintf(msg, sizeof(msg),
					 "the daemon stopped while the job ran %d times: failed",
					 counts[i] + 1);
				st = stmt(q, S_FAIL_INTERRUPTED);
				sqlite3_bind_int64(st, 1, ids[i]);
				bind_text(st, 2, msg);
				sqlite3_bind_int64(st, 3, now_ms());
				rc = step_done(st);
				(*failed)++;
			} else {
				snprintf(msg, sizeof(msg),
					 "interrupted: the daemon stopped while the job ran "
					 "(killed or crashed); requeued (interruption %d)",
					 counts[i] + 1);
				st = stmt(q, S_REQUEUE);
				sqlite3_bind_int64(st, 1, ids[i]);
				bind_text(st, 2, msg);
				rc = step_done(st);
				(*requeued)++;
			}
			if (rc == SQLITE_OK)
				rc = log_line(q, ids[i], TBD_LOG_WARNING, msg);
		}
		if (rc != SQLITE_OK) {
			rc = fail(q, rc, err, "cannot requeue interrupted jobs");
			rollback(q);
			return rc;
		}
		rc = commit(q, err);
		if (rc < 0) {
			rollback(q);
			return rc;
		}
	} while (n == N_ELEMS(ids));
	return TB_OK;
}

int tbd_queue_cancel_queued(struct tbd_queue *q, int64_t id,
			    enum tbd_job_state *state, struct tb_error *err)
{
	sqlite3_stmt *st;
	int rc;

	rc = begin(q, err);
	if (rc < 0)
		return rc;
	st = stmt(q, S_CANCEL);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now_ms());
	rc = step_done(st);
	if (rc != SQLITE_OK)
		goto out_fail;
	if (sqlite3_changes(q->db) == 1) {
		rc = log_line(q, id, TBD_LOG_WARNING, "cancelled while queued");
		if (rc != SQLITE_OK)
			goto out_fail;
		*state = TBD_JOB_CANCELLED;
		rc = commit(q, err);
		if (rc < 0)
			rollback(q);
		return rc < 0 ? rc : 1;
	}
	st = stmt(q, S_STATE);
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*state = (enum tbd_job_state)tbd_job_state_parse(
			(const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	rollback(q);
	if (rc == SQLITE_DONE)
		return tb_error_set(err, TB_ERR_NOTFOUND, "no job %lld", (long long)id);
	return rc == SQLITE_ROW ? 0 : fail(q, rc, err, "cannot read the job");

out_fail:
	rc = fail(q, rc, err, "cannot cancel the job");
	rollback(q);
	return rc;
}

int tbd_queue_list(struct tbd_queue *q, int state, const char *board, int limit,
		   tbd_job_cb cb, void *user, struct tb_error *err)
{
	sqlite3_stmt *st = stmt(q, S_LIST);
	struct tbd_job j;
	int rc, stop = 0;

	bind_text(st, 1, state >= 0 ? tbd_job_state_name((enum tbd_job_state)state) : NULL);
	bind_text(st, 2, board);
	sqlite3_bind_int(st, 3, limit);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (read_job(st, &j) == TB_OK)
			stop = cb(&j, user);
		tbd_job_clear(&j);
	}
	sqlite3_reset(st);
	if (!stop && rc != SQLITE_DONE)
		return fail(q, rc, err, "cannot list jobs");
	return stop;
}

int tbd_queue_counts(struct tbd_queue *q, int64_t counts[TBD_JOB_NSTATES],
		     struct tb_error *err)
{
	sqlite3_stmt *st = stmt(q, S_COUNTS);
	int rc, s;

	memset(counts, 0, sizeof(int64_t) * TBD_JOB_NSTATES);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		s = tbd_job_state_parse((const char *)sqlite3_column_text(st, 0));
		if (s >= 0)
			counts[s] = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? TB_OK : fail(q, rc, err, "cannot count jobs");
}

int tbd_queue_log(struct tbd_queue *q, int64_t id, enum tbd_log_level level,
		  const char *message, struct tb_error *err)
{
	int rc = log_line(q, id, level, message);

	return rc == SQLITE_OK ? TB_OK : fail(q, rc, err, "cannot write the job log");
}

int tbd_queue_logs(struct tbd_queue *q, int64_t id, int64_t after,
		   tbd_log_cb cb, void *user, struct tb_error *err)
{
	sqlite3_stmt *st = stmt(q, S_LOGS);
	int rc, stop = 0;

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, after);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
		stop = cb(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
			  (enum tbd_log_level)level_parse((const char *)sqlite3_column_text(st, 2)),
			  (const char *)sqlite3_column_text(st, 3), user);
	sqlite3_reset(st);
	if (!stop && rc != SQLITE_DONE)
		return fail(q, rc, err, "cannot read the job log");
	return stop;
}

int tbd_queue_quarantine(struct tbd_queue *q, const char *instance,
			 const char *reason, struct tb_error *err)
{
	sqlite3_stmt *st = stmt(q, S_QUARANTINE);
	int rc;

	bind_text(st, 1, instance);
	bind_text(st, 2, reason);
	sqlite3_bind_int64(st, 3, now_ms());
	rc = step_done(st);
	return rc == SQLITE_OK ? TB_OK : fail(q, rc, err, "cannot record the quarantine");
}

int tbd_queue_release(struct tbd_queue *q, const char *instance,
		      struct tb_error *err)
{
	sqlite3_stmt *st = stmt(q, S_RELEASE);
	int rc;

	bind_text(st, 1, instance);
	rc = step_done(st);
	return rc == SQLITE_OK ? TB_OK : fail(q, rc, err, "cannot lift the quarantine");
}

int tbd_queue_quarantined(struct tbd_queue *q, tbd_quarantine_cb cb, void *user,
			  struct tb_error *err)
{
	sqlite3_stmt *st = stmt(q, S_QUARANTINED);
	int rc, stop = 0;

	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
		stop = cb((const char *)sqlite3_column_text(st, 0),
			  (const char *)sqlite3_column_text(st, 1),
			  sqlite3_column_int64(st, 2), user);
	sqlite3_reset(st);
	if (!stop && rc != SQLITE_DONE)
		return fail(q, rc, err, "cannot read quarantines");
	return stop;
}

int tbd_queue_check(struct tbd_queue *q, struct tb_error *err)
{
	sqlite3_stmt *st;
	const unsigned char *t;
	int rc, ok = 0;

	rc = sqlite3_prepare_v2(q->db, "PRAGMA integrity_check", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return fail(q, rc, err, "cannot check integrity");
	rc = sqlite3_step(st);
	t = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
	ok = t && !strcmp((const char *)t, "ok");
	if (!ok)
		rc = tb_error_set(err, TB_ERR_FORMAT, "job queue '%s': integrity check: %s",
				  q->path, t ? (const char *)t : sqlite3_errmsg(q->db));
	else
		rc = TB_OK;
	sqlite3_finalize(st);
	return rc;
}
