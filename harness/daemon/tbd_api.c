/*
 * tbd_api.c - parsing and validating API requests, building responses
 * (tbd_api.h, docs/DAEMON.md).
 *
 * jansson parses the line (rejecting invalid UTF-8, duplicate keys and
 * trailing data); everything after that is checked here, field by field,
 * against one table of what each op accepts.
 */
#include "tbd_api.h"
#include "tbd.h"

#include <math.h>
#include <sha2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	enum tbd_op op;
	const char *fields;          /* accepted besides v, op, token */
	const char *required;
} ops[] = {
	{ "ping", TBD_OP_PING, "", "" },
	{ "submit", TBD_OP_SUBMIT,
	  " board workload trials min_time warmups profile timeout_ms retries tags input follow energy ",
	  " board workload " },
	{ "jobs", TBD_OP_JOBS, " state board limit ", "" },
	{ "status", TBD_OP_STATUS, " job ", " job " },
	{ "cancel", TBD_OP_CANCEL, " job ", " job " },
	{ "logs", TBD_OP_LOGS, " job follow ", " job " },
	{ "watch", TBD_OP_WATCH, " job ", " job " },
	{ "boards", TBD_OP_BOARDS, "", "" },
	{ "release", TBD_OP_RELEASE, " board ", " board " },
};

#define N_OPS (sizeof(ops) / sizeof(ops[0]))

static int fail(char *msg, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* " word " in a space-framed list (never the empty word: its search
 * would run past the list's end) */
static bool listed(const char *list, const char *word)
{
	size_t n = strlen(word);

	if (n == 0)
		return false;
	for (const char *p = strstr(list, word); p; p = strstr(p + 1, word))
		if (p > list && p[-1] == ' ' && p[n] == ' ')
			return true;
	return false;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static int get_int(json_t *v, const char *key, long long min, long long max,
		   long long *out, char *msg, size_t len)
{
	if (!json_is_integer(v))
		return fail(msg, len, "'%s' must be an integer", key);
	*out = json_integer_value(v);
	if (*out < min || *out > max)
		return fail(msg, len, "'%s' %lld is out of range %lld..%lld", key, *out, min, max);
	return 0;
}

static int get_name(json_t *v, const char *key, size_t max, char *out, char *msg,
		    size_t len)
{
	if (!json_is_string(v))
		return fail(msg, len, "'%s' must be a string", key);
	if (!tbd_valid_name(json_string_value(v), max))
		return fail(msg, len, "'%s' must be 1-%zu characters of [A-Za-z0-9_.-]", key, max);
	strcpy(out, json_string_value(v));
	return 0;
}

static int get_tags(json_t *v, struct tbd_request *rq, char *msg, size_t len)
{
	const char *k;
	json_t *val;

	if (!json_is_object(v))
		return fail(msg, len, "'tags' must be an object of strings");
	if (json_object_size(v) > TBD_TAGS_MAX)
		return fail(msg, len, "'tags': at most %d tags", TBD_TAGS_MAX);
	json_object_foreach(v, k, val) {
		if (!tbd_valid_name(k, TBD_TAG_KEY_MAX))
			return fail(msg, len, "tag key '%.64s' must be 1-%d characters of [A-Za-z0-9_.-]",
				    k, TBD_TAG_KEY_MAX);
		if (!strcmp(k, "job") || !strncmp(k, "daemon.", 7))
			return fail(msg, len, "tag key '%s' is reserved for the daemon", k);
		if (!json_is_string(val) || json_string_length(val) > TBD_TAG_VALUE_MAX ||
		    strlen(json_string_value(val)) != json_string_length(val) ||
		    !printable(json_string_value(val)))
			return fail(msg, len, "tag '%s' must be a printable string of at most %d bytes",
				    k, TBD_TAG_VALUE_MAX);
		strcpy(rq->tag_key[rq->n_tags], k);
		strcpy(rq->tag_value[rq->n_tags], json_string_value(val));
		rq->n_tags++;
	}
	return 0;
}

static int get_input(json_t *v, struct tbd_request *rq, char *msg, size_t len)
{
	size_t n;
	long got;

	if (!json_is_string(v))
		return fail(msg, len, "'input' must be a base64 string");
	n = json_string_length(v);
	if (n == 0 || n > (TBD_INPUT_MAX + 2) / 3 * 4)
		return fail(msg, len, "'input' must be 1..%d bytes (base64)", TBD_INPUT_MAX);
	rq->input = malloc(n / 4 * 3 + 3);
	if (!rq->input)
		return fail(msg, len, "out of memory");
	got = tbd_base64_decode(json_string_value(v), n, rq->input);
	if (got <= 0)
		return fail(msg, len, "'input' is not valid base64");
	/* the longest base64 allowed above holds one byte more without padding */
	if (got > TBD_INPUT_MAX)
		return fail(msg, len, "'input' must be 1..%d bytes (base64)", TBD_INPUT_MAX);
	rq->input_len = (size_t)got;
	return 0;
}

static int field(const char *k, json_t *v, struct tbd_request *rq, char *msg, size_t len)
{
	long long n;

	if (!strcmp(k, "job"))
		return get_int(v, k, 1, INT64_MAX, (long long *)&rq->job, msg, len);
	if (!strcmp(k, "board"))
		return get_name(v, k, TBD_NAME_MAX, rq->board, msg, len);
	if (!strcmp(k, "workload"))
		return get_name(v, k, 32, rq->workload, msg, len);
	if (!strcmp(k, "trials")) {
		if (get_int(v, k, 1, 1000, &n, msg, len))
			return -1;
		rq->trials = (int)n;
		return 0;
	}
	if (!strcmp(k, "min_time")) {
		if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
		    json_number_value(v) < 0.001 || json_number_value(v) > 86400)
			return fail(msg, len, "'min_time' must be seconds, 0.001..86400");
		rq->min_time_s = json_number_value(v);
		return 0;
	}
	if (!strcmp(k, "warmups")) {
		if (get_int(v, k, 0, 1000000, &n, msg, len))
			return -1;
		rq->warmups = (int)n;
		return 0;
	}
	if (!strcmp(k, "profile")) {
		if (!json_is_string(v) || (strcmp(json_string_value(v), "default") &&
					   strcmp(json_string_value(v), "mlperf")))
			return fail(msg, len, "'profile' must be \"default\" or \"mlperf\"");
		rq->profile = !strcmp(json_string_value(v), "mlperf");
		return 0;
	}
	if (!strcmp(k, "timeout_ms")) {
		if (get_int(v, k, 1, 86400000, &n, msg, len))
			return -1;
		rq->timeout_ms = (int)n;
		return 0;
	}
	if (!strcmp(k, "retries")) {
		if (get_int(v, k, 0, 10, &n, msg, len))
			return -1;
		rq->retries = (int)n;
		return 0;
	}
	if (!strcmp(k, "limit")) {
		if (get_int(v, k, 1, 1000, &n, msg, len))
			return -1;
		rq->limit = (int)n;
		return 0;
	}
	if (!strcmp(k, "state")) {
		if (!json_is_string(v) || tbd_job_state_parse(json_string_value(v)) < 0)
			return fail(msg, len, "'state' must be queued, running, done, failed or cancelled");
		rq->state = tbd_job_state_parse(json_string_value(v));
		return 0;
	}
	if (!strcmp(k, "energy")) {
		if (!json_is_boolean(v))
			return fail(msg, len, "'energy' must be true or false");
		rq->energy = json_is_true(v);
		return 0;
	}
	if (!strcmp(k, "follow")) {
		if (!json_is_boolean(v))
			return fail(msg, len, "'follow' must be true or false");
		rq->follow = json_is_true(v);
		return 0;
	}
	if (!strcmp(k, "tags"))
		return get_tags(v, rq, msg, len);
	if (!strcmp(k, "input"))
		return get_input(v, rq, msg, len);
	return fail(msg, len, "unknown field '%.64s'", k);
}

int tbd_request_parse(const char *text, size_t len, struct tbd_request *rq,
		      char *msg, size_t msglen)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *k;
	size_t i;
	int rc = -1;

	memset(rq, 0, sizeof(*rq));
	rq->warmups = -1;
	rq->retries = -1;
	rq->state = -1;
	rq->limit = 100;
	if (len > TBD_MAX_REQUEST)
		return fail(msg, msglen, "request of %zu bytes; the limit is %d", len, TBD_MAX_REQUEST);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(msg, msglen, "not JSON: %s (column %d)", jerr.text, jerr.column);
	if (!json_is_object(root)) {
		fail(msg, msglen, "a request is a JSON object");
		goto out;
	}
	v = json_object_get(root, "v");
	if (v && (!json_is_integer(v) || json_integer_value(v) != TBD_API_VERSION)) {
		fail(msg, msglen, "'v' must be %d (API version)", TBD_API_VERSION);
		goto out;
	}
	v = json_object_get(root, "op");
	if (!json_is_string(v)) {
		fail(msg, msglen, "'op' (a string) is required");
		goto out;
	}
	for (i = 0; i < N_OPS && strcmp(ops[i].name, json_string_value(v)); i++)
		;
	if (i == N_OPS) {
		fail(msg, msglen, "unknown op '%.32s' (ping, submit, jobs, status, cancel, logs, "
		     "watch, boards, release)", json_string_value(v));
		goto out;
	}
	rq->op = ops[i].op;
	v = json_object_get(root, "token");
	if (v) {
		if (!json_is_string(v) || json_string_length(v) > TBD_TOKEN_MAX) {
			fail(msg, msglen, "'token' must be a string of at most %d bytes", TBD_TOKEN_MAX);
			goto out;
		}
		rq->has_token = true;
		memcpy(rq->token, json_string_value(v), json_string_length(v));
		rq->token[json_string_length(v)] = '\0';
	}
	json_object_foreach(root, k, v) {
		if (!strcmp(k, "v") || !strcmp(k, "op") || !strcmp(k, "token"))
			continue;
		if (!listed(ops[i].fields, k)) {
			fail(msg, msglen, "unknown field '%.64s' for op '%s'", k, ops[i].name);
			goto out;
		}
		if (field(k, v, rq, msg, msglen) < 0)
			goto out;
	}
	for (const char *r = ops[i].required; *r; r++) {
		char want[32];
		size_t n = strcspn(r + 1, " ");

		if (*r != ' ' || n == 0)
			continue;
		snprintf(want, sizeof(want), "%.*s", (int)n, r + 1);
		if (!json_object_get(root, want)) {
			fail(msg, msglen, "op '%s' needs '%s'", ops[i].name, want);
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(root);
	if (rc < 0)
		tbd_request_free(rq);
	return rc;
}

void tbd_request_free(struct tbd_request *rq)
{
	free(rq->input);
	rq->input = NULL;
	rq->input_len = 0;
}

char *tbd_request_params_json(const struct tbd_request *rq)
{
	json_t *o = json_object(), *tags = json_object();
	char *s;

	json_object_set_new(o, "op", json_string("submit"));
	json_object_set_new(o, "board", json_string(rq->board));
	json_object_set_new(o, "workload", json_string(rq->workload));
	if (rq->trials)
		json_object_set_new(o, "trials", json_integer(rq->trials));
	if (rq->min_time_s > 0)
		json_object_set_new(o, "min_time", json_real(rq->min_time_s));
	if (rq->warmups >= 0)
		json_object_set_new(o, "warmups", json_integer(rq->warmups));
	if (rq->profile)
		json_object_set_new(o, "profile", json_string("mlperf"));
	if (rq->timeout_ms)
		json_object_set_new(o, "timeout_ms", json_integer(rq->timeout_ms));
	if (rq->retries >= 0)
		json_object_set_new(o, "retries", json_integer(rq->retries));
	if (rq->energy)
		json_object_set_new(o, "energy", json_true());
	for (int i = 0; i < rq->n_tags; i++)
		json_object_set_new(tags, rq->tag_key[i], json_string(rq->tag_value[i]));
	if (rq->n_tags)
		json_object_set(o, "tags", tags);
	json_decref(tags);
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

json_t *tbd_error_json(const char *code, const char *message)
{
	return json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code,
			 "message", message ? message : "");
}

static json_t *opt_string(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

static json_t *opt_int(int64_t v)
{
	return v > 0 ? json_integer(v) : json_null();
}

json_t *tbd_job_json(const struct tbd_job *j)
{
	json_t *o = json_object(), *params = NULL, *result = NULL;

	json_object_set_new(o, "id", json_integer(j->id));
	json_object_set_new(o, "state", json_string(tbd_job_state_name(j->state)));
	json_object_set_new(o, "board", json_string(j->board));
	json_object_set_new(o, "workload", json_string(j->workload));
	if (j->params_json)
		params = json_loads(j->params_json, 0, NULL);
	if (params)
		json_object_del(params, "op");
	json_object_set_new(o, "params", params ? params : json_null());
	json_object_set_new(o, "input_bytes", json_integer((json_int_t)j->input_len));
	json_object_set_new(o, "submitter", json_string(j->submitter));
	json_object_set_new(o, "submitted_at", json_integer(j->submitted_at));
	json_object_set_new(o, "started_at", opt_int(j->started_at));
	json_object_set_new(o, "ended_at", opt_int(j->ended_at));
	json_object_set_new(o, "worker", opt_string(j->worker));
	json_object_set_new(o, "run_id", opt_int(j->run_id));
	json_object_set_new(o, "results_db", opt_string(j->results_db));
	json_object_set_new(o, "starts", json_integer(j->starts));
	json_object_set_new(o, "interruptions", json_integer(j->interruptions));
	json_object_set_new(o, "reason", opt_string(j->reason));
	if (j->result_json)
		result = json_loads(j->result_json, 0, NULL);
	json_object_set_new(o, "result", result ? result : json_null());
	return o;
}

char *tbd_json_line(json_t *v, size_t *len)
{
	char *s = json_dumps(v, JSON_COMPACT), *line;
	size_t n;

	json_decref(v);
	if (!s)
		return NULL;
	n = strlen(s);
	line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	*len = n + 1;
	return line;
}

/* ---------------------------------------------------------------- base64 */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t tbd_base64_encode(const uint8_t *in, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

long tbd_base64_decode(const char *in, size_t len, uint8_t *out)
{
	size_t o = 0;

	if (len == 0 || len % 4)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int a = b64_value(in[i]), b = b64_value(in[i + 1]);
		int c = in[i + 2] == '=' ? -2 : b64_value(in[i + 2]);
		int d = in[i + 3] == '=' ? -2 : b64_value(in[i + 3]);
		bool last = i + 4 == len;

		if (a < 0 || b < 0 || c == -1 || d == -1 || (c == -2 && d != -2) ||
		    ((c == -2 || d == -2) && !last))
			return -1;
		out[o++] = (uint8_t)(a << 2 | b >> 4);
		if (c >= 0)
			out[o++] = (uint8_t)((b & 15) << 4 | c >> 2);
		if (d >= 0)
			out[o++] = (uint8_t)((c & 3) << 6 | d);
	}
	return (long)o;
}

/* ----------------------------------------------------------------- token */

bool tbd_token_equal(const char *presented, const char *expected)
{
	uint8_t a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
	volatile uint8_t diff = 0;
	SHA2_CTX ctx;

	/* Hash both so the comparison runs over fixed-size values: neither
	 * the length of the expected token nor the position of the first
	 * difference shows in the time taken. */
	SHA256Init(&ctx);
	SHA256Update(&ctx, (const uint8_t *)presented, strlen(presented));
	SHA256Final(a, &ctx);
	SHA256Init(&ctx);
	SHA256Update(&ctx, (const uint8_t *)expected, strlen(expected));
	SHA256Final(b, &ctx);
	for (size_t i = 0; i < sizeof(a); i++)
		diff |= a[i] ^ b[i];
	return diff == 0 && expected[0] != '\0';
}
