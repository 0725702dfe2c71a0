/*
 * tbd_api.h - requests of the daemon's socket API, parsed and validated
 * (docs/DAEMON.md, "API").
 *
 * A request is one line of JSON: an object with "op" and the fields that
 * op takes, nothing else.  Every field is checked for type, length and
 * range before anything is done; a request that fails is answered with an
 * error and changes nothing.  The same validator reads a job's stored
 * parameters back in the worker, so what runs is what was checked.
 *
 * Ownership: tbd_request_parse() fills a caller-owned struct whose input
 * is heap memory released by tbd_request_free().  The json_t returned by
 * the builders belongs to the caller (json_decref).
 */
#ifndef TBD_API_H
#define TBD_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tbd_queue.h"

#define TBD_API_VERSION 1
#define TBD_TOKEN_MAX 256
#define TBD_TAGS_MAX 16
#define TBD_TAG_KEY_MAX 64
#define TBD_TAG_VALUE_MAX 1024
#define TBD_INPUT_MAX 32768     /* bytes, before base64 */

enum tbd_op {
	TBD_OP_PING, TBD_OP_SUBMIT, TBD_OP_JOBS, TBD_OP_STATUS, TBD_OP_CANCEL,
	TBD_OP_LOGS, TBD_OP_WATCH, TBD_OP_BOARDS, TBD_OP_RELEASE,
};

struct tbd_request {
	enum tbd_op op;
	bool has_token;
	char token[TBD_TOKEN_MAX + 1];
	int64_t job;                 /* status, cancel, logs, watch */
	char board[33];              /* submit; jobs filter; release */
	char workload[33];
	int trials;                  /* 0 = default */
	double min_time_s;           /* 0 = default */
	int warmups;                 /* -1 = automatic */
	int profile;                 /* 0 default, 1 mlperf */
	int timeout_ms;              /* 0 = from calibration */
	int retries;                 /* -1 = the board's default */
	int n_tags;
	char tag_key[TBD_TAGS_MAX][TBD_TAG_KEY_MAX + 1];
	char tag_value[TBD_TAGS_MAX][TBD_TAG_VALUE_MAX + 1];
	uint8_t *input;              /* decoded, or NULL */
	size_t input_len;
	int state;                   /* jobs filter, -1 any */
	int limit;                   /* jobs: 1..1000, default 100 */
	bool follow;                 /* submit, logs: stream until the job ends */
	bool energy;                 /* submit: measure energy with the board's
				      * monitor (docs/DAEMON.md, "Energy") */
};

/* Error kinds of a response ("code" in the error object). */
#define TBD_E_BAD_REQUEST  "bad_request"
#define TBD_E_TOO_LARGE    "too_large"
#define TBD_E_UNAUTHORIZED "unauthorized"
#define TBD_E_NOT_FOUND    "not_found"
#define TBD_E_FULL         "queue_full"
#define TBD_E_STOPPING     "stopping"
#define TBD_E_INTERNAL     "internal"

/*
 * Parse and validate one request (len bytes, no newline).  Returns 0, or
 * -1 with a message in msg naming the field.  Board and workload names are
 * checked for form here; whether the daemon has them is the server's
 * business.
 */
int tbd_request_parse(const char *text, size_t len, struct tbd_request *rq,
		      char *msg, size_t msglen);
void tbd_request_free(struct tbd_request *rq);

/* The parameters of a submit, as stored with the job (no token, no input;
 * input_len is kept for the record).  Heap string, free(). */
char *tbd_request_params_json(const struct tbd_request *rq);

/* {"ok": false, "error": {"code": ..., "message": ...}} */
json_t *tbd_error_json(const char *code, const char *message);

/* A job as the API shows it. */
json_t *tbd_job_json(const struct tbd_job *job);

/* One JSON line (compact, '\n' appended) of v; heap, free().  Steals v. */
char *tbd_json_line(json_t *v, size_t *len);

/* RFC 4648 base64 (with padding).  decode: -1 on any bad character,
 * padding or length; out must hold 3 * (len / 4) bytes. */
size_t tbd_base64_encode(const uint8_t *in, size_t len, char *out);
long tbd_base64_decode(const char *in, size_t len, uint8_t *out);

/* Compare a presented token with the expected one in constant time (the
 * time does not depend on where they differ, nor on their lengths). */
bool tbd_token_equal(const char *presented, const char *expected);

#endif
