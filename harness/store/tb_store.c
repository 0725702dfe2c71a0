/*
 * tb_store.c - the results store on SQLite (schema: docs/SCHEMA.md).
 *
 * Every statement goes through sqlite3_prepare_v2(); values are always bound,
 * never formatted into SQL (the one exception is the integer written to
 * PRAGMA user_version, which pragmas cannot take as a parameter).  The
 * statements used on every trial are prepared once, at open.
 */
#include "tb_store.h"
#include "tb_store_priv.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tb_sqlite.h"

struct tb_store {
	sqlite3 *db;
	sqlite3_stmt *begin;		/* BEGIN IMMEDIATE */
	sqlite3_stmt *commit;
	sqlite3_stmt *rollback;
	sqlite3_stmt *run_insert;
	sqlite3_stmt *run_status;	/* status of one run, for the checks */
	sqlite3_stmt *run_update;	/* finish */
	sqlite3_stmt *trial_insert;
	char path[];			/* as given to tb_store_open() */
};

/* ---------------------------------------------------------------- schema */

/*
 * Migrations, in order.  Entry i takes the schema from version i to i + 1.
 * Released entries are never edited: a change to the schema is a new entry
 * appended here, TB_STORE_SCHEMA_VERSION bumped and docs/SCHEMA.md updated.
 */
static const char *const migrations[] = {
	/* 0 -> 1: runs and trials. */
	"PRAGMA application_id = 1953066594;\n"	/* TB_STORE_APPLICATION_ID */
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
	");\n",

	/* 1 -> 2: firmware identity and footprint, energy, link health,
	 * power traces, run tags.  Existing rows get NULL in the new columns. */
	"ALTER TABLE runs ADD COLUMN firmware_sha256 TEXT;\n"
	"ALTER TABLE runs ADD COLUMN flash_bytes INTEGER CHECK (flash_bytes >= 0);\n"
	"ALTER TABLE runs ADD COLUMN static_ram_bytes INTEGER CHECK (static_ram_bytes >= 0);\n"
	"ALTER TABLE runs ADD COLUMN energy_method TEXT;\n"
	"ALTER TABLE trials ADD COLUMN link_retries INTEGER CHECK (link_retries >= 0);\n"
	"ALTER TABLE trials ADD COLUMN frames_dropped INTEGER CHECK (frames_dropped >= 0);\n"
	"ALTER TABLE trials ADD COLUMN energy_uj REAL;\n"
	"ALTER TABLE trials ADD COLUMN power_mw REAL;\n"
	"ALTER TABLE trials ADD COLUMN energy_window_ms REAL;\n"
	"ALTER TABLE trials ADD COLUMN energy_samples INTEGER CHECK (energy_samples >= 0);\n"
	"ALTER TABLE trials ADD COLUMN energy_sample_hz REAL;\n"
	"ALTER TABLE trials ADD COLUMN energy_lost_samples INTEGER CHECK (energy_lost_samples >= 0);\n"
	"CREATE TABLE power_traces (\n"
	"	run_id INTEGER NOT NULL,\n"
	"	idx    INTEGER NOT NULL,\n"
	"	bin_hz REAL NOT NULL CHECK (bin_hz > 0),\n"
	"	mw     BLOB NOT NULL CHECK (length(mw) > 0 AND length(mw) % 4 = 0),\n"
	"	PRIMARY KEY (run_id, idx),\n"
	"	FOREIGN KEY (run_id, idx) REFERENCES trials (run_id, idx) ON DELETE CASCADE\n"
	");\n"
	"CREATE TABLE run_tags (\n"
	"	run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,\n"
	"	key    TEXT NOT NULL CHECK (key <> ''),\n"
	"	value  TEXT NOT NULL,\n"
	"	PRIMARY KEY (run_id, key)\n"
	");\n"
	"CREATE INDEX run_tags_key_value ON run_tags (key, value);\n",

	/* 2 -> 3: how many times each trial was run (a trial that failed on
	 * the link is run again after a reset).  Existing rows get NULL. */
	"ALTER TABLE trials ADD COLUMN attempts INTEGER CHECK (attempts >= 1);\n",

	/* 3 -> 4: accuracy runs (tb_store_accuracy.h): the dataset a run
	 * scored and each input's prediction or score.  New tables only. */
	"CREATE TABLE accuracy_runs (\n"
	"	run_id        INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,\n"
	"	dataset       TEXT NOT NULL,\n"
	"	labels_sha256 TEXT NOT NULL CHECK (length(labels_sha256) = 64),\n"
	"	metric        TEXT NOT NULL CHECK (metric IN ('top1', 'auc')),\n"
	"	n_inputs      INTEGER NOT NULL CHECK (n_inputs >= 1),\n"
	"	num_classes   INTEGER NOT NULL CHECK (num_classes >= 1),\n"
	"	input_format  TEXT NOT NULL\n"
	");\n"
	"CREATE TABLE predictions (\n"
	"	run_id       INTEGER NOT NULL REFERENCES accuracy_runs (run_id) ON DELETE CASCADE,\n"
	"	idx          INTEGER NOT NULL CHECK (idx >= 0),\n"
	"	file         TEXT NOT NULL,\n"
	"	label        INTEGER NOT NULL CHECK (label >= 0),\n"
	"	predicted    INTEGER CHECK (predicted >= 0),\n"
	"	score        REAL,\n"
	"	windows      INTEGER NOT NULL CHECK (windows >= 1),\n"
	"	input_sha256 TEXT NOT NULL CHECK (length(input_sha256) = 64),\n"
	"	output       BLOB,\n"
	"	device_us    REAL CHECK (device_us >= 0),\n"
	"	at           INTEGER NOT NULL,\n"
	"	PRIMARY KEY (run_id, idx)\n"
	");\n",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == TB_STORE_SCHEMA_VERSION,
	       "one migration per schema version");
_Static_assert(TB_STORE_APPLICATION_ID == 1953066594,
	       "migration 1 writes TB_STORE_APPLICATION_ID");

/* ------------------------------------------------------------- enum text */

static const char *const run_status_names[] = {
	[TB_RUN_RUNNING] = "running",
	[TB_RUN_OK] = "ok",
	[TB_RUN_FAILED] = "failed",
	[TB_RUN_INTERRUPTED] = "interrupted",
};

static const char *const trial_status_names[] = {
	[TB_TRIAL_OK] = "ok",
	[TB_TRIAL_FAILED] = "failed",
};

static const char *const output_check_names[] = {
	[TB_OUTPUT_UNCHECKED] = "unchecked",
	[TB_OUTPUT_MATCH] = "match",
	[TB_OUTPUT_MISMATCH] = "mismatch",
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const char *enum_name(const char *const *names, size_t n, int v)
{
	if (v < 0 || (size_t)v >= n)
		return NULL;
	return names[v];
}

/* Index of text in names, or -1. */
static int enum_parse(const char *const *names, size_t n, const char *text)
{
	size_t i;

	if (!text)
		return -1;
	for (i = 0; i < n; i++) {
		if (strcmp(names[i], text) == 0)
			return (int)i;
	}
	return -1;
}

const char *tb_store_run_status_name(enum tb_run_status status)
{
	return enum_name(run_status_names, N_ELEMS(run_status_names), (int)status);
}

const char *tb_store_trial_status_name(enum tb_trial_status status)
{
	return enum_name(trial_status_names, N_ELEMS(trial_status_names), (int)status);
}

const char *tb_store_output_check_name(enum tb_output_check check)
{
	return enum_name(output_check_names, N_ELEMS(output_check_names), (int)check);
}

/* ---------------------------------------------------------------- errors */

/* SQLite result code -> our code.  A constraint the caller's data broke
 * is the caller's error here. */
static int code_from_sqlite(int rc)
{
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return TB_ERR_ARG;
	return tb_sqlite_code(rc);
}

/*
 * SQLite's message, plus the OS error behind an I/O failure ("unable to open
 * database file" alone does not say "Permission denied").  Only for I/O
 * codes: the saved errno may be stale otherwise.
 */
static const char *sqlite_msg(sqlite3 *db, int rc, char *buf, size_t len)
{
	int sys = code_from_sqlite(rc) == TB_ERR_IO ? sqlite3_system_errno(db) : 0;

	if (sys)
		snprintf(buf, len, "%s (%s)", sqlite3_errmsg(db), strerror(sys));
	else
		snprintf(buf, len, "%s", sqlite3_errmsg(db));
	return buf;
}

/* Report a failed SQLite call: "results database 'p': <what>: <sqlite msg>". */
static int db_fail(struct tb_store *s, int rc, struct tb_error *err,
		   const char *what)
{
	char msg[256];

	return tb_error_set(err, code_from_sqlite(rc),
			    "results database '%s': %s: %s", s->path, what,
			    sqlite_msg(s->db, rc, msg, sizeof(msg)));
}

/* ----------------------------------------------------------- small helpers */

static int is_hex(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		if (!isxdigit((unsigned char)*s))
			return 0;
	}
	return 1;
}

/* Exactly n hexadecimal digits. */
static int is_hex_len(const char *s, size_t n)
{
	return strlen(s) == n && is_hex(s);
}

/* [A-Za-z0-9_.-], the characters of tag keys and instrument names. */
static int is_name_char(int c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

static int is_tag_key(const char *k, size_t len)
{
	size_t i;

	if (len < 1 || len > TB_STORE_TAG_KEY_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (!is_name_char(k[i]))
			return 0;
	}
	return 1;
}

/* "measured:<instrument>" or "emulated:<instrument>". */
static int is_energy_method(const char *m)
{
	const char *p;

	if (strncmp(m, "measured:", 9) == 0 || strncmp(m, "emulated:", 9) == 0)
		p = m + 9;
	else
		return 0;
	if (!*p || strlen(p) > 64)
		return 0;
	for (; *p; p++) {
		if (!is_name_char(*p))
			return 0;
	}
	return 1;
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (!s)
		return sqlite3_bind_null(st, i);
	/* STATIC: the statement runs and is reset before we return. */
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Optional integer: negative means unknown, stored as NULL. */
static int bind_opt_int(sqlite3_stmt *st, int i, int64_t v)
{
	if (v < 0)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_int64(st, i, v);
}

static int bind_real(sqlite3_stmt *st, int i, double v)
{
	if (isnan(v))
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_double(st, i, v);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static int64_t col_opt_int(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return TB_STORE_UNKNOWN;
	return sqlite3_column_int64(st, i);
}

static double col_real(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NAN;
	return sqlite3_column_double(st, i);
}

static void stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static int tx_begin(struct tb_store *s, struct tb_error *err)
{
	int rc = tb_sqlite_step_done(s->begin);

	sqlite3_reset(s->begin);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, err, "cannot start a transaction");
	return TB_OK;
}

static int tx_commit(struct tb_store *s, struct tb_error *err)
{
	int rc = tb_sqlite_step_done(s->commit);

	sqlite3_reset(s->commit);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, err, "cannot commit");
	return TB_OK;
}

/* Roll back if a transaction is open; keeps the error already reported. */
static void tx_rollback(struct tb_store *s)
{
	if (sqlite3_get_autocommit(s->db))
		return;
	tb_sqlite_step_done(s->rollback);
	sqlite3_reset(s->rollback);
}

/* ------------------------------------------------------------------ paths */

int tb_store_default_path(char *buf, size_t len, struct tb_error *err)
{
	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	int n;

	if (!buf || len == 0)
		return tb_error_set(err, TB_ERR_ARG, "no buffer for the results database path");

	/* The XDG spec says to ignore an empty or relative XDG_DATA_HOME. */
	if (xdg && xdg[0] == '/')
		n = snprintf(buf, len, "%s/tinybench/results.db", xdg);
	else if (home && home[0])
		n = snprintf(buf, len, "%s/.local/share/tinybench/results.db", home);
	else
		return tb_error_set(err, TB_ERR_NOTFOUND,
				    "cannot find a place for the results database: neither XDG_DATA_HOME nor HOME is set");

	if (n < 0 || (size_t)n >= len)
		return tb_error_set(err, TB_ERR_ARG,
				    "results database path needs %d bytes, buffer has %zu",
				    n + 1, len);
	return TB_OK;
}

static int ensure_dir(const char *dir, const char *db_path, struct tb_error *err)
{
	struct stat st;

	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return TB_OK;
		errno = ENOTDIR;
	} else if (mkdir(dir, 0700) == 0 || errno == EEXIST) {
		/* EEXIST: somebody made it meanwhile; open() will tell if it
		 * is not a directory. */
		return TB_OK;
	}
	return tb_error_set(err, TB_ERR_IO,
			    "cannot create directory '%s' for results database '%s': %s",
			    dir, db_path, strerror(errno));
}

/* mkdir -p of the directory part of path. */
static int make_parent_dirs(const char *path, struct tb_error *err)
{
	char *dir, *slash, *p;
	int ret = TB_OK;

	dir = strdup(path);
	if (!dir)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)	/* relative name in cwd, or in "/" */
		goto out_free;
	*slash = '\0';

	for (p = strchr(dir + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		ret = ensure_dir(dir, path, err);
		*p = '/';
		if (ret)
			goto out_free;
	}
	ret = ensure_dir(dir, path, err);
out_free:
	free(dir);
	return ret;
}

/* -------------------------------------------------------------------- open */

/*
 * Decide whether the file may be used, reading only.  A file that fails here
 * has not been written to.  *version gets its schema version.
 */
static int check_identity(struct tb_store *s, int64_t *version,
			  struct tb_error *err)
{
	int64_t app_id = 0, objects = 0;
	int rc;

	rc = tb_sqlite_query_int(s->db, "PRAGMA application_id", &app_id);
	if (rc == SQLITE_OK)
		rc = tb_sqlite_query_int(s->db, "PRAGMA user_version", version);
	if (rc == SQLITE_OK)
		rc = tb_sqlite_query_int(s->db, "SELECT count(*) FROM sqlite_master", &objects);
	if ((rc & 0xff) == SQLITE_NOTADB)
		return tb_error_set(err, TB_ERR_FORMAT,
				    "'%s' is not a tinybench results database: %s",
				    s->path, sqlite3_errmsg(s->db));
	if ((rc & 0xff) == SQLITE_READONLY)
		return tb_error_set(err, TB_ERR_IO,
				    "results database '%s' cannot be written; the file and its directory must both be writable (SQLite keeps -wal and -shm files next to it): %s",
				    s->path, sqlite3_errmsg(s->db));
	if (rc != SQLITE_OK)
		return db_fail(s, rc, err, "cannot read the schema version");

	if (app_id == 0 && *version == 0 && objects == 0)
		return TB_OK;		/* new, empty file */
	if (app_id != TB_STORE_APPLICATION_ID)
		return tb_error_set(err, TB_ERR_FORMAT,
				    "'%s' is a SQLite database but not a tinybench results database (application_id 0x%08llx, %lld schema objects)",
				    s->path, (unsigned long long)(uint32_t)app_id,
				    (long long)objects);
	if (*version > TB_STORE_SCHEMA_VERSION)
		return tb_error_set(err, TB_ERR_UNSUPPORTED,
				    "results database '%s' has schema version %lld, newer than the %d this tinybench understands; use a newer tinybench (the file was not changed)",
				    s->path, (long long)*version, TB_STORE_SCHEMA_VERSION);
	return TB_OK;
}

static int set_pragmas(struct tb_store *s, int in_memory, struct tb_error *err)
{
	const char *want = in_memory ? "memory" : "wal";
	sqlite3_stmt *st;
	const char *mode;
	int rc;

	rc = tb_sqlite_exec(s->db, "PRAGMA foreign_keys = ON");
	if (rc != SQLITE_OK)
		return db_fail(s, rc, err, "cannot enable foreign keys");

	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, err, "cannot set WAL mode");
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return db_fail(s, rc, err, "cannot set WAL mode");
	}
	mode = col_text(st, 0);
	if (!mode || strcmp(mode, want) != 0) {
		rc = tb_error_set(err, TB_ERR_IO,
				  "results database '%s': cannot use WAL mode (journal mode is '%s'); is it on a network or read-only file system?",
				  s->path, mode ? mode : "?");
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	return TB_OK;
}

/* Apply migration to version target (from target - 1) in one transaction. */
static int migrate_one(struct tb_store *s, int target, struct tb_error *err)
{
	char set_version[64];
	int64_t version = 0;
	int rc, ret;

	rc = tb_sqlite_exec(s->db, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK)
		goto out_fail;
	/* Another process may have migrated while we waited for the lock. */
	rc = tb_sqlite_query_int(s->db, "PRAGMA user_version", &version);
	if (rc != SQLITE_OK)
		goto out_fail;
	if (version >= target)
		goto out_commit;

	rc = tb_sqlite_exec(s->db, migrations[target - 1]);
	if (rc != SQLITE_OK)
		goto out_fail;
	snprintf(set_version, sizeof(set_version), "PRAGMA user_version = %d", target);
	rc = tb_sqlite_exec(s->db, set_version);
	if (rc != SQLITE_OK)
		goto out_fail;
out_commit:
	rc = tb_sqlite_exec(s->db, "COMMIT");
	if (rc != SQLITE_OK)
		goto out_fail;
	return TB_OK;

out_fail:
	ret = tb_error_set(err, code_from_sqlite(rc),
			   "results database '%s': migration to schema version %d failed: %s",
			   s->path, target, sqlite3_errmsg(s->db));
	if (!sqlite3_get_autocommit(s->db))
		tb_sqlite_exec(s->db, "ROLLBACK");
	return ret;
}

static int migrate(struct tb_store *s, int64_t version, struct tb_error *err)
{
	int target, ret;

	for (target = (int)version + 1; target <= TB_STORE_SCHEMA_VERSION; target++) {
		ret = migrate_one(s, target, err);
		if (ret)
			return ret;
	}
	return TB_OK;
}

#define RUN_COLUMNS							\
	"r.id, r.status, r.reason, r.board, r.board_cpu, r.board_clock_hz, " \
	"r.timer_hz, r.timing_method, r.workload, r.model_hash, "	\
	"r.runner_version, r.runner_build_id, r.protocol_version, "	\
	"r.harness_version, r.harness_build_id, r.host, r.port, "	\
	"r.input_source, r.params_json, r.started_at, r.ended_at, "	\
	"r.firmware_sha256, r.flash_bytes, r.static_ram_bytes, "	\
	"r.energy_method"
#define RUN_NCOLUMNS 25

#define TRIAL_COLUMNS							\
	"t.idx, t.status, t.reason, t.started_at, t.ended_at, "		\
	"t.inferences, t.warmups, t.ticks, t.timer_hz, t.latency_ms, "	\
	"t.inf_min_ms, t.inf_max_ms, t.stack_peak, t.stack_size, "	\
	"t.arena_peak, t.arena_size, t.input_hash, t.output, t.output_check, " \
	"t.link_retries, t.frames_dropped, t.energy_uj, t.power_mw, "	\
	"t.energy_window_ms, t.energy_samples, t.energy_sample_hz, "	\
	"t.energy_lost_samples, t.attempts"

static int prepare_cached(struct tb_store *s, struct tb_error *err)
{
	const struct {
		sqlite3_stmt **slot;
		const char *sql;
	} stmts[] = {
		{ &s->begin, "BEGIN IMMEDIATE" },
		{ &s->commit, "COMMIT" },
		{ &s->rollback, "ROLLBACK" },
		{ &s->run_insert,
		  "INSERT INTO runs (board, board_cpu, board_clock_hz, timer_hz,"
		  " timing_method, workload, model_hash, runner_version,"
		  " runner_build_id, protocol_version, harness_version,"
		  " harness_build_id, host, port, input_source, params_json,"
		  " started_at, firmware_sha256, flash_bytes, static_ram_bytes,"
		  " energy_method, status)"
		  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		  " ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, 'running')" },
		{ &s->run_status,
		  "SELECT status, energy_method IS NOT NULL FROM runs WHERE id = ?1" },
		{ &s->run_update,
		  "UPDATE runs SET status = ?2, reason = ?3, ended_at = ?4"
		  " WHERE id = ?1" },
		{ &s->trial_insert,
		  "INSERT INTO trials (run_id, idx, status, reason, started_at,"
		  " ended_at, inferences, warmups, ticks, timer_hz, latency_ms,"
		  " inf_min_ms, inf_max_ms, stack_peak, stack_size, arena_peak,"
		  " arena_size, input_hash, output, output_check, link_retries,"
		  " frames_dropped, energy_uj, power_mw, energy_window_ms,"
		  " energy_samples, energy_sample_hz, energy_lost_samples,"
		  " attempts)"
		  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		  " ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24,"
		  " ?25, ?26, ?27, ?28, ?29)" },
	};
	size_t i;
	int rc;

	for (i = 0; i < N_ELEMS(stmts); i++) {
		rc = sqlite3_prepare_v2(s->db, stmts[i].sql, -1, stmts[i].slot, NULL);
		if (rc != SQLITE_OK)
			return db_fail(s, rc, err, "cannot prepare a statement");
	}
	return TB_OK;
}

/*
 * Why a new database file could not be created.  SQLite retries a failed
 * read-write open read-only, so its saved errno is the retry's ENOENT, not
 * the EACCES that mattered: ask the directory ourselves.
 */
static const char *explain_create(struct tb_store *s, int rc, char *buf,
				  size_t len)
{
	char *dir, *slash;
	int saved;

	if (access(s->path, F_OK) == 0 || errno != ENOENT)
		return sqlite_msg(s->db, rc, buf, len);
	dir = strdup(s->path);
	if (!dir)
		return sqlite_msg(s->db, rc, buf, len);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	if (access(dir, W_OK | X_OK) == 0) {
		sqlite_msg(s->db, rc, buf, len);
	} else {
		saved = errno;
		snprintf(buf, len, "cannot create a file in directory '%s': %s",
			 dir, strerror(saved));
	}
	free(dir);
	return buf;
}

static int open_db(struct tb_store *s, struct tb_error *err)
{
	char msg[512];
	int rc;

	rc = sqlite3_open_v2(s->path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		if (!s->db || rc == SQLITE_NOMEM)
			return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
		return tb_error_set(err, TB_ERR_IO,
				    "cannot open results database '%s': %s",
				    s->path, explain_create(s, rc, msg, sizeof(msg)));
	}
	/* SQLite falls back to read-only when the file is write-protected. */
	if (sqlite3_db_readonly(s->db, "main") == 1)
		return tb_error_set(err, TB_ERR_IO,
				    "results database '%s' is not writable", s->path);
	sqlite3_busy_timeout(s->db, TB_STORE_BUSY_TIMEOUT_MS);
	return TB_OK;
}

int tb_store_open(const char *path, struct tb_store **store,
		  struct tb_error *err)
{
	int in_memory;
	struct tb_store *s;
	int64_t version = 0;
	size_t len;
	int ret;

	if (!store)
		return tb_error_set(err, TB_ERR_ARG, "tb_store_open: NULL out-pointer");
	*store = NULL;
	if (!path || !path[0])
		return tb_error_set(err, TB_ERR_ARG, "no path given for the results database");

	in_memory = strcmp(path, ":memory:") == 0;
	if (!in_memory) {
		ret = make_parent_dirs(path, err);
		if (ret)
			return ret;
	}

	len = strlen(path);
	s = calloc(1, sizeof(*s) + len + 1);
	if (!s)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	memcpy(s->path, path, len + 1);

	ret = open_db(s, err);
	if (ret)
		goto out_close;
	/* Only reads until the file is known to be ours and not too new. */
	ret = check_identity(s, &version, err);
	if (ret)
		goto out_close;
	ret = set_pragmas(s, in_memory, err);
	if (ret)
		goto out_close;
	ret = migrate(s, version, err);
	if (ret)
		goto out_close;
	ret = prepare_cached(s, err);
	if (ret)
		goto out_close;

	*store = s;
	return TB_OK;

out_close:
	tb_store_close(s);
	return ret;
}

void tb_store_close(struct tb_store *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->begin);
	sqlite3_finalize(s->commit);
	sqlite3_finalize(s->rollback);
	sqlite3_finalize(s->run_insert);
	sqlite3_finalize(s->run_status);
	sqlite3_finalize(s->run_update);
	sqlite3_finalize(s->trial_insert);
	sqlite3_close(s->db);
	free(s);
}

const char *tb_store_path(const struct tb_store *s)
{
	return s ? s->path : NULL;
}

/* -------------------------------------------------------------------- runs */

static int check_run_info(const struct tb_run_info *info, struct tb_error *err)
{
	if (!info)
		return tb_error_set(err, TB_ERR_ARG, "no run information given");
	if (!info->board || !info->board[0])
		return tb_error_set(err, TB_ERR_ARG, "run has no board name");
	if (!info->workload || !info->workload[0])
		return tb_error_set(err, TB_ERR_ARG, "run has no workload name");
	if (info->started_at < 0)
		return tb_error_set(err, TB_ERR_ARG, "run has no start time");
	if (info->model_hash && !is_hex(info->model_hash))
		return tb_error_set(err, TB_ERR_ARG,
				    "model hash '%s' is not hexadecimal", info->model_hash);
	if (info->firmware_sha256 && !is_hex_len(info->firmware_sha256, 64))
		return tb_error_set(err, TB_ERR_ARG,
				    "firmware SHA-256 '%s' is not 64 hexadecimal digits",
				    info->firmware_sha256);
	if (info->energy_method && !is_energy_method(info->energy_method))
		return tb_error_set(err, TB_ERR_ARG,
				    "energy method '%s' is not measured:<instrument> or emulated:<instrument> (instrument: [A-Za-z0-9_.-], at most 64)",
				    info->energy_method);
	return TB_OK;
}

static void bind_run_info(sqlite3_stmt *st, const struct tb_run_info *in)
{
	/* Bind errors (only SQLITE_RANGE/NOMEM) surface at sqlite3_step(). */
	bind_text(st, 1, in->board);
	bind_text(st, 2, in->board_cpu);
	bind_opt_int(st, 3, in->board_clock_hz);
	bind_opt_int(st, 4, in->timer_hz);
	bind_text(st, 5, in->timing_method);
	bind_text(st, 6, in->workload);
	bind_text(st, 7, in->model_hash);
	bind_text(st, 8, in->runner_version);
	bind_text(st, 9, in->runner_build_id);
	bind_opt_int(st, 10, in->protocol_version);
	bind_text(st, 11, in->harness_version);
	bind_text(st, 12, in->harness_build_id);
	bind_text(st, 13, in->host);
	bind_text(st, 14, in->port);
	bind_text(st, 15, in->input_source);
	bind_text(st, 16, in->params_json);
	sqlite3_bind_int64(st, 17, in->started_at);
	bind_text(st, 18, in->firmware_sha256);
	bind_opt_int(st, 19, in->flash_bytes);
	bind_opt_int(st, 20, in->static_ram_bytes);
	bind_text(st, 21, in->energy_method);
}

int tb_store_run_begin(struct tb_store *s, const struct tb_run_info *info,
		       int64_t *run_id, struct tb_error *err)
{
	int ret, rc;

	if (!s || !run_id)
		return tb_error_set(err, TB_ERR_ARG, "tb_store_run_begin: NULL argument");
	ret = check_run_info(info, err);
	if (ret)
		return ret;

	bind_run_info(s->run_insert, info);
	rc = tb_sqlite_step_done(s->run_insert);
	stmt_done(s->run_insert);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, err, "cannot record a new run");
	*run_id = sqlite3_last_insert_rowid(s->db);
	return TB_OK;
}

/*
 * Inside a transaction: check that run_id exists and is still running.
 * what names the operation for the message ("cannot add trial 3").
 * *has_energy (if not NULL) tells whether the run has an energy_method.
 */
static int check_running(struct tb_store *s, int64_t run_id, const char *what,
			 int *has_energy, struct tb_error *err)
{
	const char *status;
	int rc, ret = TB_OK;

	sqlite3_bind_int64(s->run_status, 1, run_id);
	rc = sqlite3_step(s->run_status);
	if (rc == SQLITE_DONE) {
		ret = tb_error_set(err, TB_ERR_NOTFOUND,
				   "results database '%s': %s: no run %lld",
				   s->path, what, (long long)run_id);
	} else if (rc != SQLITE_ROW) {
		ret = db_fail(s, rc, err, "cannot look up the run");
	} else {
		status = col_text(s->run_status, 0);
		if (has_energy)
			*has_energy = sqlite3_column_int(s->run_status, 1);
		if (!status || strcmp(status, "running") != 0)
			ret = tb_error_set(err, TB_ERR_ARG,
					   "results database '%s': %s: run %lld is already finished (%s)",
					   s->path, what, (long long)run_id,
					   status ? status : "?");
	}
	stmt_done(s->run_status);
	return ret;
}

int tb_store_run_finish(struct tb_store *s, int64_t run_id,
			enum tb_run_status status, const char *reason,
			int64_t ended_at, struct tb_error *err)
{
	char what[64];
	int ret, rc;

	if (!s)
		return tb_error_set(err, TB_ERR_ARG, "tb_store_run_finish: NULL store");
	if (status == TB_RUN_RUNNING || !tb_store_run_status_name(status))
		return tb_error_set(err, TB_ERR_ARG,
				    "run %lld: %d is not a final run status (ok, failed, interrupted)",
				    (long long)run_id, (int)status);
	if (ended_at < 0)
		return tb_error_set(err, TB_ERR_ARG, "run %lld: no end time",
				    (long long)run_id);

	snprintf(what, sizeof(what), "cannot finish run %lld", (long long)run_id);
	ret = tx_begin(s, err);
	if (ret)
		return ret;
	ret = check_running(s, run_id, what, NULL, err);
	if (ret)
		goto out_rollback;

	sqlite3_bind_int64(s->run_update, 1, run_id);
	bind_text(s->run_update, 2, tb_store_run_status_name(status));
	bind_text(s->run_update, 3, reason);
	sqlite3_bind_int64(s->run_update, 4, ended_at);
	rc = tb_sqlite_step_done(s->run_update);
	stmt_done(s->run_update);
	if (rc != SQLITE_OK) {
		ret = db_fail(s, rc, err, what);
		goto out_rollback;
	}
	ret = tx_commit(s, err);
	if (ret)
		goto out_rollback;
	return TB_OK;

out_rollback:
	tx_rollback(s);
	return ret;
}

/* ------------------------------------------------------------------ trials */

/* An energy figure: NaN (not measured), or finite and >= 0 (> 0 when
 * positive is set).  0 is accepted here for every figure: in a run without
 * an energy_method it means "unset" (see check_trial_energy()). */
static int energy_ok(double v, int positive)
{
	if (isnan(v) || v == 0)
		return 1;
	return isfinite(v) && (positive ? v > 0 : v >= 0);
}

static int energy_set(double v)
{
	return !isnan(v) && v != 0;
}

/*
 * Inside the transaction, once the run is known: energy figures need the
 * run's energy_method.  Without one they must be unset or 0 (a zeroed
 * struct) and are stored as NULL.  With one, window and sample rate may not
 * be 0.
 */
static int check_trial_energy(struct tb_store *s, int64_t run_id,
			      const struct tb_trial *t, int has_energy,
			      struct tb_error *err)
{
	if (!has_energy) {
		if (energy_set(t->energy_uj) || energy_set(t->power_mw) ||
		    energy_set(t->energy_window_ms) ||
		    energy_set(t->energy_sample_hz) ||
		    t->energy_samples > 0 || t->energy_lost_samples > 0)
			return tb_error_set(err, TB_ERR_ARG,
					    "results database '%s': run %lld, trial %lld: energy figures given but the run has no energy_method (measured:<instrument> or emulated:<instrument>)",
					    s->path, (long long)run_id, (long long)t->idx);
		return TB_OK;
	}
	if (t->energy_window_ms == 0 || t->energy_sample_hz == 0)
		return tb_error_set(err, TB_ERR_ARG,
				    "results database '%s': run %lld, trial %lld: energy window and sample rate must be > 0 (NaN if unknown)",
				    s->path, (long long)run_id, (long long)t->idx);
	return TB_OK;
}

static int check_trial(int64_t run_id, const struct tb_trial *t,
		       struct tb_error *err)
{
	const char *bad = NULL;

	if (!t)
		return tb_error_set(err, TB_ERR_ARG, "run %lld: no trial given",
				    (long long)run_id);
	if (t->idx < 0)
		bad = "negative trial index";
	else if (t->started_at < 0 || t->ended_at < 0)
		bad = "missing start or end time";
	else if (t->inferences < 0 || t->warmups < 0)
		bad = "negative inference count";
	else if (t->ticks > (uint64_t)INT64_MAX)
		bad = "tick count above INT64_MAX";
	else if (t->input_hash && !is_hex(t->input_hash))
		bad = "input hash is not hexadecimal";
	else if (t->output_len && !t->output)
		bad = "output length without output data";
	else if (t->output_len > (size_t)INT32_MAX)
		bad = "output larger than 2 GiB";
	else if (!tb_store_trial_status_name(t->status))
		bad = "invalid trial status";
	else if (!tb_store_output_check_name(t->output_check))
		bad = "invalid output check";
	else if (!energy_ok(t->energy_uj, 0) || !energy_ok(t->power_mw, 0) ||
		 !energy_ok(t->energy_window_ms, 1) ||
		 !energy_ok(t->energy_sample_hz, 1))
		bad = "energy figure negative, zero-length or not finite";
	if (bad)
		return tb_error_set(err, TB_ERR_ARG, "run %lld, trial %lld: %s",
				    (long long)run_id, (long long)t->idx, bad);
	return TB_OK;
}

/* has_energy: the run has an energy_method; without one the energy columns
 * are NULL (check_trial_energy() made sure nothing is lost). */
static void bind_trial(sqlite3_stmt *st, int64_t run_id, const struct tb_trial *t,
		       int has_energy)
{
	int i;

	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, t->idx);
	bind_text(st, 3, tb_store_trial_status_name(t->status));
	bind_text(st, 4, t->reason);
	sqlite3_bind_int64(st, 5, t->started_at);
	sqlite3_bind_int64(st, 6, t->ended_at);
	sqlite3_bind_int64(st, 7, t->inferences);
	sqlite3_bind_int64(st, 8, t->warmups);
	sqlite3_bind_int64(st, 9, (int64_t)t->ticks);
	bind_opt_int(st, 10, t->timer_hz);
	bind_real(st, 11, t->latency_ms);
	bind_real(st, 12, t->inf_min_ms);
	bind_real(st, 13, t->inf_max_ms);
	bind_opt_int(st, 14, t->stack_peak);
	bind_opt_int(st, 15, t->stack_size);
	bind_opt_int(st, 16, t->arena_peak);
	bind_opt_int(st, 17, t->arena_size);
	bind_text(st, 18, t->input_hash);
	if (t->output)
		sqlite3_bind_blob(st, 19, t->output, (int)t->output_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 19);
	bind_text(st, 20, tb_store_output_check_name(t->output_check));
	bind_opt_int(st, 21, t->link_retries);
	bind_opt_int(st, 22, t->frames_dropped);
	if (has_energy) {
		bind_real(st, 23, t->energy_uj);
		bind_real(st, 24, t->power_mw);
		bind_real(st, 25, t->energy_window_ms);
		bind_opt_int(st, 26, t->energy_samples);
		bind_real(st, 27, t->energy_sample_hz);
		bind_opt_int(st, 28, t->energy_lost_samples);
	} else {
		for (i = 23; i <= 28; i++)
			sqlite3_bind_null(st, i);
	}
	bind_opt_int(st, 29, t->attempts > 0 ? t->attempts : TB_STORE_UNKNOWN);
}

static int insert_trial(struct tb_store *s, int64_t run_id,
			const struct tb_trial *t, int has_energy,
			const char *what, struct tb_error *err)
{
	int rc, ext;

	bind_trial(s->trial_insert, run_id, t, has_energy);
	rc = tb_sqlite_step_done(s->trial_insert);
	ext = sqlite3_extended_errcode(s->db);
	stmt_done(s->trial_insert);
	if (rc == SQLITE_OK)
		return TB_OK;
	if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE)
		return tb_error_set(err, TB_ERR_ARG,
				    "results database '%s': %s: run %lld already has a trial %lld",
				    s->path, what, (long long)run_id, (long long)t->idx);
	return db_fail(s, rc, err, what);
}

int tb_store_trial_add(struct tb_store *s, int64_t run_id,
		       const struct tb_trial *t, struct tb_error *err)
{
	char what[96];
	int has_energy = 0;
	int ret;

	if (!s)
		return tb_error_set(err, TB_ERR_ARG, "tb_store_trial_add: NULL store");
	ret = check_trial(run_id, t, err);
	if (ret)
		return ret;

	snprintf(what, sizeof(what), "cannot add trial %lld to run %lld",
		 (long long)t->idx, (long long)run_id);
	/* One transaction per trial: committed trials survive an interrupted
	 * run, and the status check cannot race with a finish. */
	ret = tx_begin(s, err);
	if (ret)
		return ret;
	ret = check_running(s, run_id, what, &has_energy, err);
	if (ret)
		goto out_rollback;
	ret = check_trial_energy(s, run_id, t, has_energy, err);
	if (ret)
		goto out_rollback;
	ret = insert_trial(s, run_id, t, has_energy, what, err);
	if (ret)
		goto out_rollback;
	ret = tx_commit(s, err);
	if (ret)
		goto out_rollback;
	return TB_OK;

out_rollback:
	tx_rollback(s);
	return ret;
}

/* ----------------------------------------------------------------- reading */

/* Fill r from columns RUN_COLUMNS of the current row; pointers point into
 * the statement's row. */
static int read_run(struct tb_store *s, sqlite3_stmt *st, struct tb_run *r,
		    struct tb_error *err)
{
	const char *status;
	int v;

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	status = col_text(st, 1);
	r->reason = col_text(st, 2);
	r->info.board = col_text(st, 3);
	r->info.board_cpu = col_text(st, 4);
	r->info.board_clock_hz = col_opt_int(st, 5);
	r->info.timer_hz = col_opt_int(st, 6);
	r->info.timing_method = col_text(st, 7);
	r->info.workload = col_text(st, 8);
	r->info.model_hash = col_text(st, 9);
	r->info.runner_version = col_text(st, 10);
	r->info.runner_build_id = col_text(st, 11);
	r->info.protocol_version = col_opt_int(st, 12);
	r->info.harness_version = col_text(st, 13);
	r->info.harness_build_id = col_text(st, 14);
	r->info.host = col_text(st, 15);
	r->info.port = col_text(st, 16);
	r->info.input_source = col_text(st, 17);
	r->info.params_json = col_text(st, 18);
	r->info.started_at = sqlite3_column_int64(st, 19);
	r->ended_at = col_opt_int(st, 20);
	r->info.firmware_sha256 = col_text(st, 21);
	r->info.flash_bytes = col_opt_int(st, 22);
	r->info.static_ram_bytes = col_opt_int(st, 23);
	r->info.energy_method = col_text(st, 24);

	v = enum_parse(run_status_names, N_ELEMS(run_status_names), status);
	if (v < 0)
		return tb_error_set(err, TB_ERR_FORMAT,
				    "results database '%s': run %lld has unknown status '%s'",
				    s->path, (long long)r->id, status ? status : "(null)");
	r->status = (enum tb_run_status)v;
	return TB_OK;
}

/* Fill t from TRIAL_COLUMNS starting at column c0. */
static int read_trial(struct tb_store *s, sqlite3_stmt *st, int c0,
		      int64_t run_id, struct tb_trial *t, struct tb_error *err)
{
	const char *status, *check;
	int v, w;

	memset(t, 0, sizeof(*t));
	t->idx = sqlite3_column_int64(st, c0 + 0);
	status = col_text(st, c0 + 1);
	t->reason = col_text(st, c0 + 2);
	t->started_at = sqlite3_column_int64(st, c0 + 3);
	t->ended_at = sqlite3_column_int64(st, c0 + 4);
	t->inferences = sqlite3_column_int64(st, c0 + 5);
	t->warmups = sqlite3_column_int64(st, c0 + 6);
	t->ticks = (uint64_t)sqlite3_column_int64(st, c0 + 7);
	t->timer_hz = col_opt_int(st, c0 + 8);
	t->latency_ms = col_real(st, c0 + 9);
	t->inf_min_ms = col_real(st, c0 + 10);
	t->inf_max_ms = col_real(st, c0 + 11);
	t->stack_peak = col_opt_int(st, c0 + 12);
	t->stack_size = col_opt_int(st, c0 + 13);
	t->arena_peak = col_opt_int(st, c0 + 14);
	t->arena_size = col_opt_int(st, c0 + 15);
	t->input_hash = col_text(st, c0 + 16);
	/* Blob before bytes, as SQLite documents. */
	t->output = sqlite3_column_blob(st, c0 + 17);
	t->output_len = (size_t)sqlite3_column_bytes(st, c0 + 17);
	check = col_text(st, c0 + 18);
	t->link_retries = col_opt_int(st, c0 + 19);
	t->frames_dropped = col_opt_int(st, c0 + 20);
	t->energy_uj = col_real(st, c0 + 21);
	t->power_mw = col_real(st, c0 + 22);
	t->energy_window_ms = col_real(st, c0 + 23);
	t->energy_samples = col_opt_int(st, c0 + 24);
	t->energy_sample_hz = col_real(st, c0 + 25);
	t->energy_lost_samples = col_opt_int(st, c0 + 26);
	t->attempts = col_opt_int(st, c0 + 27);

	v = enum_parse(trial_status_names, N_ELEMS(trial_status_names), status);
	w = enum_parse(output_check_names, N_ELEMS(output_check_names), check);
	if (v < 0 || w < 0)
		return tb_error_set(err, TB_ERR_FORMAT,
				    "results database '%s': run %lld, trial %lld has unknown status '%s' or output check '%s'",
				    s->path, (long long)run_id, (long long)t->idx,
				    status ? status : "(null)", check ? check : "(null)");
	t->status = (enum tb_trial_status)v;
	t->output_check = (enum tb_output_check)w;
	return TB_OK;
}

#define FILTER_WHERE							\
	" WHERE (?1 IS NULL OR r.board = ?1)"				\
	" AND (?2 IS NULL OR r.workload = ?2)"				\
	" AND (?3 IS NULL OR r.id = ?3)"				\
	" AND (?4 IS NULL OR EXISTS (SELECT 1 FROM run_tags g"		\
	"  WHERE g.run_id = r.id AND g.key = ?4"			\
	"  AND (?5 IS NULL OR g.value = ?5)))"

/* Split a tag filter "key=value" / "key"; *value is NULL for "key". */
static int parse_tag_filter(const char *tag, size_t *key_len,
			    const char **value, struct tb_error *err)
{
	const char *eq = strchr(tag, '=');

	*key_len = eq ? (size_t)(eq - tag) : strlen(tag);
	*value = eq ? eq + 1 : NULL;
	if (!is_tag_key(tag, *key_len))
		return tb_error_set(err, TB_ERR_ARG,
				    "tag filter '%s': expected key=value or key, the key being 1..%d characters of [A-Za-z0-9_.-]",
				    tag, TB_STORE_TAG_KEY_MAX);
	return TB_OK;
}

static int prepare_filtered(struct tb_store *s, const char *sql,
			    const struct tb_store_filter *f,
			    sqlite3_stmt **st, struct tb_error *err)
{
	const char *value = NULL;
	size_t key_len = 0;
	int rc, ret;

	*st = NULL;
	if (f && f->tag) {
		ret = parse_tag_filter(f->tag, &key_len, &value, err);
		if (ret)
			return ret;
	}
	rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, err, "cannot prepare a query");
	if (f) {
		bind_text(*st, 1, f->board);
		bind_text(*st, 2, f->workload);
		if (f->run_id)
			sqlite3_bind_int64(*st, 3, f->run_id);
		/* STATIC: f->tag outlives the statement (finalised before the
		 * walk returns). */
		if (f->tag)
			sqlite3_bind_text(*st, 4, f->tag, (int)key_len, SQLITE_STATIC);
		bind_text(*st, 5, value);
	}
	return TB_OK;
}

int tb_store_runs_foreach(struct tb_store *s, const struct tb_store_filter *f,
			  tb_store_run_cb cb, void *user, struct tb_error *err)
{
	struct tb_run run;
	sqlite3_stmt *st;
	int ret, rc;

	if (!s || !cb)
		return tb_error_set(err, TB_ERR_ARG, "tb_store_runs_foreach: NULL argument");
	ret = prepare_filtered(s, "SELECT " RUN_COLUMNS " FROM runs r"
			       FILTER_WHERE " ORDER BY r.id", f, &st, err);
	if (ret)
		return ret;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = read_run(s, st, &run, err);
		if (ret)
			goto out_finalize;
		ret = cb(&run, user);
		if (ret)
			goto out_finalize;
	}
	if (rc != SQLITE_DONE)
		ret = db_fail(s, rc, err, "cannot read runs");
out_finalize:
	sqlite3_finalize(st);
	return ret;
}

int tb_store_trials_foreach(struct tb_store *s, const struct tb_store_filter *f,
			    tb_store_trial_cb cb, void *user,
			    struct tb_error *err)
{
	struct tb_trial trial;
	struct tb_run run;
	sqlite3_stmt *st;
	int ret, rc;

	if (!s || !cb)
		return tb_error_set(err, TB_ERR_ARG, "tb_store_trials_foreach: NULL argument");
	ret = prepare_filtered(s, "SELECT " RUN_COLUMNS ", " TRIAL_COLUMNS
			       " FROM trials t JOIN runs r ON r.id = t.run_id"
			       FILTER_WHERE " ORDER BY r.id, t.idx", f, &st, err);
	if (ret)
		return ret;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = read_run(s, st, &run, err);
		if (!ret)
			ret = read_trial(s, st, RUN_NCOLUMNS, run.id, &trial, err);
		if (ret)
			goto out_finalize;
		ret = cb(&run, &trial, user);
		if (ret)
			goto out_finalize;
	}
	if (rc != SQLITE_DONE)
		ret = db_fail(s, rc, err, "cannot read trials");
out_finalize:
	sqlite3_finalize(st);
	return ret;
}

int tb_store_trial_count(struct tb_store *s, int64_t run_id, int64_t *count,
			 struct tb_error *err)
{
	sqlite3_stmt *st;
	int rc, ret = TB_OK;

	if (!s || !count)
		return tb_error_set(err, TB_ERR_ARG, "tb_store_trial_count: NULL argument");
	rc = sqlite3_prepare_v2(s->db,
				"SELECT EXISTS (SELECT 1 FROM runs WHERE id = ?1),"
				" (SELECT count(*) FROM trials WHERE run_id = ?1)",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, err, "cannot prepare a query");
	sqlite3_bind_int64(st, 1, run_id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		ret = db_fail(s, rc, err, "cannot count trials");
	else if (!sqlite3_column_int(st, 0))
		ret = tb_error_set(err, TB_ERR_NOTFOUND,
				   "results database '%s': no run %lld",
				   s->path, (long long)run_id);
	else
		*count = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	return ret;
}

/* The string fields of a run, so that copying can walk them. */
#define RUN_NSTRINGS 16

static void run_strings(struct tb_run *r, const char **p[RUN_NSTRINGS])
{
	struct tb_run_info *i = &r->info;
	const char **all[RUN_NSTRINGS] = {
		&i->board, &i->board_cpu, &i->timing_method, &i->workload,
		&i->model_hash, &i->runner_version, &i->runner_build_id,
		&i->harness_version, &i->harness_build_id, &i->host, &i->port,
		&i->input_source, &i->params_json, &r->reason,
		&i->firmware_sha256, &i->energy_method,
	};

	memcpy(p, all, sizeof(all));
}

/* One malloc block: the struct, then every string it points to. */
static struct tb_run *copy_run(const struct tb_run *src)
{
	const char **fields[RUN_NSTRINGS];
	struct tb_run *dst;
	struct tb_run tmp = *src;
	size_t total = sizeof(*dst), i, n;
	char *p;

	run_strings(&tmp, fields);
	for (i = 0; i < RUN_NSTRINGS; i++) {
		if (*fields[i])
			total += strlen(*fields[i]) + 1;
	}
	dst = malloc(total);
	if (!dst)
		return NULL;
	*dst = *src;
	p = (char *)(dst + 1);
	run_strings(dst, fields);
	for (i = 0; i < RUN_NSTRINGS; i++) {
		if (!*fields[i])
			continue;
		n = strlen(*fields[i]) + 1;
		memcpy(p, *fields[i], n);
		*fields[i] = p;
		p += n;
	}
	return dst;
}

int tb_store_run_get(struct tb_store *s, int64_t run_id, struct tb_run **out,
		     struct tb_error *err)
{
	struct tb_run run;
	sqlite3_stmt *st;
	int rc, ret;

	if (!out)
		return tb_error_set(err, TB_ERR_ARG, "tb_store_run_get: NULL out-pointer");
	*out = NULL;
	if (!s)
		return tb_error_set(err, TB_ERR_ARG, "tb_store_run_get: NULL store");
	rc = sqlite3_prepare_v2(s->db, "SELECT " RUN_COLUMNS " FROM runs r WHERE r.id = ?1",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, err, "cannot prepare a query");
	sqlite3_bind_int64(st, 1, run_id);

	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = tb_error_set(err, TB_ERR_NOTFOUND,
				   "results database '%s': no run %lld",
				   s->path, (long long)run_id);
		goto out_finalize;
	}
	if (rc != SQLITE_ROW) {
		ret = db_fail(s, rc, err, "cannot read the run");
		goto out_finalize;
	}
	ret = read_run(s, st, &run, err);
	if (ret)
		goto out_finalize;
	*out = copy_run(&run);
	if (!*out)
		ret = tb_error_set(err, TB_ERR_NOMEM, "out of memory");
out_finalize:
	sqlite3_finalize(st);
	return ret;
}

void tb_store_run_free(struct tb_run *run)
{
	free(run);
}

/* ------------------------------------------------------------ power traces */

_Static_assert(sizeof(float) == 4 && sizeof(uint32_t) == 4,
	       "power traces are stored as IEEE-754 binary32");

/*
 * Inside a transaction: check that run_id has trial idx.  TB_ERR_NOTFOUND
 * names the missing run or trial.
 */
static int check_trial_exists(struct tb_store *s, int64_t run_id, int64_t idx,
			      const char *what, struct tb_error *err)
{
	sqlite3_stmt *st;
	int rc, ret = TB_OK;

	rc = sqlite3_prepare_v2(s->db,
				"SELECT EXISTS (SELECT 1 FROM runs WHERE id = ?1),"
				" EXISTS (SELECT 1 FROM trials WHERE run_id = ?1 AND idx = ?2)",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, err, "cannot prepare a query");
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, idx);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		ret = db_fail(s, rc, err, what);
	else if (!sqlite3_column_int(st, 0))
		ret = tb_error_set(err, TB_ERR_NOTFOUND,
				   "results database '%s': %s: no run %lld",
				   s->path, what, (long long)run_id);
	else if (!sqlite3_column_int(st, 1))
		ret = tb_error_set(err, TB_ERR_NOTFOUND,
				   "results database '%s': %s: run %lld has no trial %lld",
				   s->path, what, (long long)run_id, (long long)idx);
	sqlite3_finalize(st);
	return ret;
}

int tb_store_trace_add(struct tb_store *s, int64_t run_id, int64_t idx,
		       double bin_hz, const float *mw, size_t n,
		       struct tb_error *err)
{
	unsigned char *buf;
	sqlite3_stmt *st = NULL;
	char what[96];
	uint32_t u;
	size_t i;
	int rc, ext, ret;

	if (!s)
		return tb_error_set(err, TB_ERR_ARG, "tb_store_trace_add: NULL store");
	if (!mw || n == 0)
		return tb_error_set(err, TB_ERR_ARG,
				    "run %lld, trial %lld: empty power trace",
				    (long long)run_id, (long long)idx);
	if (n > (size_t)INT32_MAX / 4)
		return tb_error_set(err, TB_ERR_ARG,
				    "run %lld, trial %lld: power trace of %zu values is too long (at most %d)",
				    (long long)run_id, (long long)idx, n, INT32_MAX / 4);
	if (!isfinite(bin_hz) || bin_hz <= 0)
		return tb_error_set(err, TB_ERR_ARG,
				    "run %lld, trial %lld: power trace bin rate %g Hz is not > 0",
				    (long long)run_id, (long long)idx, bin_hz);

	/* float32 little-endian, whatever the host's byte order. */
	buf = malloc(4 * n);
	if (!buf)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		memcpy(&u, &mw[i], 4);
		buf[4 * i] = (unsigned char)u;
		buf[4 * i + 1] = (unsigned char)(u >> 8);
		buf[4 * i + 2] = (unsigned char)(u >> 16);
		buf[4 * i + 3] = (unsigned char)(u >> 24);
	}

	snprintf(what, sizeof(what), "cannot add the power trace of trial %lld of run %lld",
		 (long long)idx, (long long)run_id);
	ret = tx_begin(s, err);
	if (ret)
		goto out_free;
	ret = check_trial_exists(s, run_id, idx, what, err);
	if (ret)
		goto out_rollback;
	rc = sqlite3_prepare_v2(s->db,
				"INSERT INTO power_traces (run_id, idx, bin_hz, mw)"
				" VALUES (?1, ?2, ?3, ?4)", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		ret = db_fail(s, rc, err, what);
		goto out_rollback;
	}
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, idx);
	sqlite3_bind_double(st, 3, bin_hz);
	sqlite3_bind_blob(st, 4, buf, (int)(4 * n), SQLITE_STATIC);
	rc = tb_sqlite_step_done(st);
	ext = sqlite3_extended_errcode(s->db);
	if (rc != SQLITE_OK) {
		if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE)
			ret = tb_error_set(err, TB_ERR_ARG,
					   "results database '%s': %s: it already has one",
					   s->path, what);
		else
			ret = db_fail(s, rc, err, what);
		goto out_rollback;
	}
	sqlite3_finalize(st);
	st = NULL;
	ret = tx_commit(s, err);
	if (ret)
		goto out_rollback;
	free(buf);
	return TB_OK;

out_rollback:
	sqlite3_finalize(st);
	tx_rollback(s);
out_free:
	free(buf);
	return ret;
}

int tb_store_trace_get(struct tb_store *s, int64_t run_id, int64_t idx,
		       double *bin_hz, float **mw, size_t *n,
		       struct tb_error *err)
{
	const unsigned char *p;
	sqlite3_stmt *st;
	float *out;
	size_t bytes, i;
	uint32_t u;
	int rc, ret = TB_OK;

	if (!mw || !n)
		return tb_error_set(err, TB_ERR_ARG, "tb_store_trace_get: NULL out-pointer");
	*mw = NULL;
	*n = 0;
	if (bin_hz)
		*bin_hz = NAN;
	if (!s)
		return tb_error_set(err, TB_ERR_ARG, "tb_store_trace_get: NULL store");

	rc = sqlite3_prepare_v2(s->db,
				"SELECT bin_hz, mw FROM power_traces WHERE run_id = ?1 AND idx = ?2",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, err, "cannot prepare a query");
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, idx);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = tb_error_set(err, TB_ERR_NOTFOUND,
				   "results database '%s': run %lld, trial %lld has no power trace",
				   s->path, (long long)run_id, (long long)idx);
		goto out_finalize;
	}
	if (rc != SQLITE_ROW) {
		ret = db_fail(s, rc, err, "cannot read a power trace");
		goto out_finalize;
	}
	/* Blob before bytes, as SQLite documents. */
	p = sqlite3_column_blob(st, 1);
	bytes = (size_t)sqlite3_column_bytes(st, 1);
	if (!p || bytes == 0 || bytes % 4) {
		ret = tb_error_set(err, TB_ERR_FORMAT,
				   "results database '%s': run %lld, trial %lld: power trace of %zu bytes is not float32 values",
				   s->path, (long long)run_id, (long long)idx, bytes);
		goto out_finalize;
	}
	out = malloc(bytes);
	if (!out) {
		ret = tb_error_set(err, TB_ERR_NOMEM, "out of memory");
		goto out_finalize;
	}
	for (i = 0; i < bytes / 4; i++) {
		u = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
		    (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
		memcpy(&out[i], &u, 4);
	}
	if (bin_hz)
		*bin_hz = sqlite3_column_double(st, 0);
	*mw = out;
	*n = bytes / 4;
out_finalize:
	sqlite3_finalize(st);
	return ret;
}

/* -------------------------------------------------------------------- tags */

int tb_store_tag_set(struct tb_store *s, int64_t run_id, const char *key,
		     const char *value, struct tb_error *err)
{
	sqlite3_stmt *st = NULL;
	char what[160];
	int rc, ret;

	if (!s || !key)
		return tb_error_set(err, TB_ERR_ARG, "tb_store_tag_set: NULL argument");
	if (!is_tag_key(key, strlen(key)))
		return tb_error_set(err, TB_ERR_ARG,
				    "run %lld: tag key '%.80s%s' is not 1..%d characters of [A-Za-z0-9_.-]",
				    (long long)run_id, key, strlen(key) > 80 ? "..." : "",
				    TB_STORE_TAG_KEY_MAX);
	if (!value)
		return tb_error_set(err, TB_ERR_ARG, "run %lld: tag '%s' has no value",
				    (long long)run_id, key);
	if (strlen(value) > TB_STORE_TAG_VALUE_MAX)
		return tb_error_set(err, TB_ERR_ARG,
				    "run %lld: value of tag '%s' is %zu bytes, more than %d",
				    (long long)run_id, key, strlen(value),
				    TB_STORE_TAG_VALUE_MAX);

	snprintf(what, sizeof(what), "cannot set tag '%s' of run %lld", key,
		 (long long)run_id);
	ret = tx_begin(s, err);
	if (ret)
		return ret;
	rc = sqlite3_prepare_v2(s->db, "SELECT 1 FROM runs WHERE id = ?1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto out_db_fail;
	sqlite3_bind_int64(st, 1, run_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = tb_error_set(err, TB_ERR_NOTFOUND,
				   "results database '%s': %s: no run %lld",
				   s->path, what, (long long)run_id);
		goto out_rollback;
	}
	if (rc != SQLITE_ROW)
		goto out_db_fail;
	sqlite3_finalize(st);

	rc = sqlite3_prepare_v2(s->db,
				"INSERT INTO run_tags (run_id, key, value) VALUES (?1, ?2, ?3)"
				" ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		goto out_db_fail;
	sqlite3_bind_int64(st, 1, run_id);
	bind_text(st, 2, key);
	bind_text(st, 3, value);
	rc = tb_sqlite_step_done(st);
	if (rc != SQLITE_OK)
		goto out_db_fail;
	sqlite3_finalize(st);
	st = NULL;
	ret = tx_commit(s, err);
	if (ret)
		goto out_rollback;
	return TB_OK;

out_db_fail:
	ret = db_fail(s, rc, err, what);
out_rollback:
	sqlite3_finalize(st);
	tx_rollback(s);
	return ret;
}

int tb_store_tags_foreach(struct tb_store *s, int64_t run_id,
			  tb_store_tag_cb cb, void *user, struct tb_error *err)
{
	sqlite3_stmt *st;
	int rc, ret = TB_OK, rows = 0;

	if (!s || !cb)
		return tb_error_set(err, TB_ERR_ARG, "tb_store_tags_foreach: NULL argument");
	/* One statement: the first row says whether the run exists. */
	rc = sqlite3_prepare_v2(s->db,
				"SELECT g.key, g.value FROM runs r"
				" LEFT JOIN run_tags g ON g.run_id = r.id"
				" WHERE r.id = ?1 ORDER BY g.key",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, err, "cannot prepare a query");
	sqlite3_bind_int64(st, 1, run_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rows++;
		if (sqlite3_column_type(st, 0) == SQLITE_NULL)
			continue;	/* the run has no tags */
		ret = cb(col_text(st, 0), col_text(st, 1), user);
		if (ret)
			goto out_finalize;
	}
	if (rc != SQLITE_DONE)
		ret = db_fail(s, rc, err, "cannot read run tags");
	else if (!rows)
		ret = tb_error_set(err, TB_ERR_NOTFOUND,
				   "results database '%s': no run %lld",
				   s->path, (long long)run_id);
out_finalize:
	sqlite3_finalize(st);
	return ret;
}

/* ------------------------------------------------------ for tb_store_*.c */

sqlite3 *tb_store_sqlite(struct tb_store *s)
{
	return s ? s->db : NULL;
}
