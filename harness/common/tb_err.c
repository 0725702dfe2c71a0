#include "tb_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *tb_strerror(int code)
{
	switch (code) {
	case TB_OK:              return "ok";
	case TB_ERR_ARG:         return "invalid argument";
	case TB_ERR_NOMEM:       return "out of memory";
	case TB_ERR_IO:          return "I/O error";
	case TB_ERR_TIMEOUT:     return "timeout";
	case TB_ERR_PROTO:       return "protocol error";
	case TB_ERR_DEVICE:      return "device error";
	case TB_ERR_NOTFOUND:    return "not found";
	case TB_ERR_BUSY:        return "busy";
	case TB_ERR_DB:          return "database error";
	case TB_ERR_FORMAT:      return "bad format";
	case TB_ERR_CLOSED:      return "connection closed";
	case TB_ERR_UNSUPPORTED: return "unsupported";
	case TB_ERR_INTERRUPTED: return "interrupted";
	case TB_ERR_MISMATCH:    return "result mismatch";
	}
	return "unknown error";
}

int tb_error_set(struct tb_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int tb_error_prefix(struct tb_error *err, const char *fmt, ...)
{
	char prefix[TB_ERROR_MSG_MAX];
	size_t plen, mlen;
	va_list ap;
	int n;

	if (!err)
		return TB_ERR_ARG;
	va_start(ap, fmt);
	n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (n < 0)
		return err->code;
	plen = strlen(prefix);
	mlen = strnlen(err->msg, sizeof(err->msg) - 1);
	/* Keep the prefix whole and cut the old message if both do not fit. */
	if (plen + mlen > sizeof(err->msg) - 1)
		mlen = sizeof(err->msg) - 1 - plen;
	memmove(err->msg + plen, err->msg, mlen);
	memcpy(err->msg, prefix, plen);
	err->msg[plen + mlen] = '\0';
	return err->code;
}

void tb_error_clear(struct tb_error *err)
{
	if (!err)
		return;
	err->code = TB_OK;
	err->msg[0] = '\0';
}

/*
 * Exit codes (docs/CLI.md):
 *   0 success, 1 run failed (device/protocol/timeout/mismatch),
 *   2 usage or bad input, 3 not found, 4 I/O or database, 5 busy,
 *   130 interrupted.
 */
int tb_exit_code(int code)
{
	switch (code) {
	case TB_OK:
		return 0;
	case TB_ERR_ARG:
	case TB_ERR_FORMAT:
		return 2;
	case TB_ERR_NOTFOUND:
		return 3;
	case TB_ERR_IO:
	case TB_ERR_DB:
	case TB_ERR_NOMEM:
		return 4;
	case TB_ERR_BUSY:
		return 5;
	case TB_ERR_INTERRUPTED:
		return 130;
	default:
		return 1;
	}
}
