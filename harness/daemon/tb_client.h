/*
 * tb_client.h - the client end of tinybenchd's socket API (docs/DAEMON.md),
 * used by the CLI (`tinybench submit`, `jobs`, `status`, `cancel`, `logs`,
 * `release`, and `run` when a daemon owns the board).
 *
 * Ownership: tb_client_open() returns a connection the caller closes with
 * tb_client_close() (NULL accepted).  Requests passed to tb_client_send()
 * and tb_client_call() are taken over (json_decref'd); messages returned
 * belong to the caller.  One thread per connection.
 */
#ifndef TB_CLIENT_H
#define TB_CLIENT_H

#include <stddef.h>

#include <jansson.h>

#include "tb_err.h"

struct tb_client;

/*
 * The daemon's address: $TINYBENCH_DAEMON if set ("tcp:HOST:PORT" or a
 * socket path), else $XDG_RUNTIME_DIR/tinybench/tinybenchd.sock if it
 * exists, else /run/tinybench/tinybenchd.sock.
 */
void tb_client_default_addr(char *buf, size_t len);

/*
 * Connect to addr (a socket path or "tcp:HOST:PORT").  For TCP the token
 * is token, else $TINYBENCH_TOKEN, else the first line of the file named
 * by $TINYBENCH_TOKEN_FILE.  TB_ERR_NOTFOUND when nothing listens there.
 */
int tb_client_open(const char *addr, const char *token, struct tb_client **out,
		   struct tb_error *err);
void tb_client_close(struct tb_client *c);

/* Send one request (the token is added for TCP). */
int tb_client_send(struct tb_client *c, json_t *req, struct tb_error *err);

/* Next message (a reply or an event); waits up to timeout_ms (< 0 forever):
 * TB_ERR_TIMEOUT then, TB_ERR_CLOSED when the daemon hung up. */
int tb_client_recv(struct tb_client *c, json_t **msg, int timeout_ms,
		   struct tb_error *err);

/* Send and wait for the reply; an {"ok": false} reply becomes an error
 * (not_found -> TB_ERR_NOTFOUND, bad_request/too_large/unauthorized ->
 * TB_ERR_ARG, stopping/queue_full/busy -> TB_ERR_BUSY, else TB_ERR_IO). */
int tb_client_call(struct tb_client *c, json_t *req, json_t **resp,
		   struct tb_error *err);

#endif
