/*
 * tb_sqlite.h - the SQLite plumbing the results store (harness/store) and
 * the daemon's job queue (harness/daemon/tbd_queue.c) share.  Both own
 * their database handle; these helpers only run statements on it and
 * return SQLite result codes, which the caller turns into a tb_error with
 * its own context.
 */
#ifndef TB_SQLITE_H
#define TB_SQLITE_H

#include <stdint.h>

#include <sqlite3.h>

/*
 * Our code for a SQLite result code: busy/locked TB_ERR_BUSY, no memory
 * TB_ERR_NOMEM, not a database TB_ERR_FORMAT, can't open/I/O/read-only/
 * full/permission TB_ERR_IO, anything else TB_ERR_DB.
 */
int tb_sqlite_code(int rc);

/* Step st until it returns no more rows; SQLITE_OK when it is done, else
 * its error.  st is not reset (its error stays readable on the handle). */
int tb_sqlite_step_done(sqlite3_stmt *st);

/* Prepare and run each statement of a script in turn (rows are ignored). */
int tb_sqlite_exec(sqlite3 *db, const char *sql);

/* Run a one-row, one-column integer query (pragmas, counts) into *out;
 * a query with no row is SQLITE_ERROR. */
int tb_sqlite_query_int(sqlite3 *db, const char *sql, int64_t *out);

#endif
