/*
 * tb_err.h - the host's one error vocabulary.
 *
 * Every host function that can fail returns 0 (TB_OK) or one of the negative
 * codes below, and fills an optional caller-owned struct tb_error with a
 * human-readable message that names the problem ("board 'foo' not found;
 * known boards: sim, apollo3").  Errors from libraries (SQLite, libserialport,
 * libcsv, the C library) are converted at the boundary: the code becomes one
 * of ours, the library's own message is kept in the text.
 *
 * Codes are stable: they may be appended to, never renumbered.
 */
#ifndef TB_ERR_H
#define TB_ERR_H

#include <stddef.h>

enum tb_err {
	TB_OK              = 0,
	TB_ERR_ARG         = -1,  /* invalid argument or option */
	TB_ERR_NOMEM       = -2,  /* out of memory */
	TB_ERR_IO          = -3,  /* I/O error on a file, port or pty */
	TB_ERR_TIMEOUT     = -4,  /* the peer did not answer in time */
	TB_ERR_PROTO       = -5,  /* malformed or invalid data from the device */
	TB_ERR_DEVICE      = -6,  /* the device reported an error */
	TB_ERR_NOTFOUND    = -7,  /* unknown board, workload, port, run, file */
	TB_ERR_BUSY        = -8,  /* resource in use (port locked, db busy) */
	TB_ERR_DB          = -9,  /* results database error */
	TB_ERR_FORMAT      = -10, /* bad file contents (board file, input) */
	TB_ERR_CLOSED      = -11, /* the peer went away (runner died) */
	TB_ERR_UNSUPPORTED = -12, /* not supported by this build/board */
	TB_ERR_INTERRUPTED = -13, /* stopped by a signal */
	TB_ERR_MISMATCH    = -14, /* result differs from the reference */
};

#define TB_ERROR_MSG_MAX 512

/* Caller-owned error detail.  Functions accept NULL when the caller does
 * not want the text. */
struct tb_error {
	int code;
	char msg[TB_ERROR_MSG_MAX];
};

/* Short, static description of a code ("timeout"). Never NULL. */
const char *tb_strerror(int code);

/* Record code and a printf-style message in err (if non-NULL); returns code
 * so that callers can write `return tb_error_set(err, TB_ERR_ARG, ...)`. */
int tb_error_set(struct tb_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the message already in err with more context ("run 12: ").
 * Returns err->code (or TB_ERR_ARG if err is NULL). */
int tb_error_prefix(struct tb_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reset to TB_OK with an empty message. */
void tb_error_clear(struct tb_error *err);

/* Process exit code for an error code (documented in docs/CLI.md). */
int tb_exit_code(int code);

#endif
