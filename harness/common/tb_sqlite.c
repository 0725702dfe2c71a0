/*
 * tb_sqlite.c - SQLite helpers shared by the store and the job queue
 * (tb_sqlite.h).
 */
#include "tb_sqlite.h"

#include "tb_err.h"

int tb_sqlite_code(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return TB_ERR_BUSY;
	case SQLITE_NOMEM:
		return TB_ERR_NOMEM;
	case SQLITE_NOTADB:
		return TB_ERR_FORMAT;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_FULL:
	case SQLITE_PERM:
		return TB_ERR_IO;
	default:
		return TB_ERR_DB;
	}
}

int tb_sqlite_step_done(sqlite3_stmt *st)
{
	int rc;

	do
		rc = sqlite3_step(st);
	while (rc == SQLITE_ROW);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int tb_sqlite_exec(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	const char *tail;
	int rc;

	while (sql && *sql) {
		rc = sqlite3_prepare_v2(db, sql, -1, &st, &tail);
		if (rc != SQLITE_OK)
			return rc;
		sql = tail;
		if (!st)		/* whitespace or comment only */
			continue;
		rc = tb_sqlite_step_done(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

int tb_sqlite_query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_ERROR;
	}
	sqlite3_finalize(st);
	return rc;
}
