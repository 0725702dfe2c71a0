/*
 * fuzz_daemon.c - the daemon's API requests (one line of JSON from a
 * client) through tbd_request_parse(), without a daemon: what it accepts
 * must hold every bound tbd_api.h states, and a submit's stored
 * parameters must read back as JSON.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tbd.h"
#include "tbd_api.h"

static const char *const op_names[] = {
	"ping", "submit", "jobs", "status", "cancel", "logs", "watch", "boards", "release",
};

static void check_request(const struct tbd_request *rq)
{
	FZ_CHECK(rq->op >= TBD_OP_PING && rq->op <= TBD_OP_RELEASE, "op %d", rq->op);
	FZ_CHECK(fz_terminated(rq->token, sizeof(rq->token)), "token unterminated");
	FZ_CHECK(!rq->board[0] || tbd_valid_name(rq->board, TBD_NAME_MAX), "board '%s'",
		 rq->board);
	FZ_CHECK(!rq->workload[0] || tbd_valid_name(rq->workload, 32), "workload '%s'",
		 rq->workload);
	FZ_CHECK(rq->trials >= 0 && rq->trials <= 1000, "trials %d", rq->trials);
	FZ_CHECK(rq->min_time_s == 0 || (rq->min_time_s >= 0.001 && rq->min_time_s <= 86400),
		 "min_time %g", rq->min_time_s);
	FZ_CHECK(rq->warmups >= -1 && rq->warmups <= 1000000, "warmups %d", rq->warmups);
	FZ_CHECK(rq->timeout_ms >= 0 && rq->timeout_ms <= 86400000, "timeout %d",
		 rq->timeout_ms);
	FZ_CHECK(rq->retries >= -1 && rq->retries <= 10, "retries %d", rq->retries);
	FZ_CHECK(rq->limit >= 1 && rq->limit <= 1000, "limit %d", rq->limit);
	FZ_CHECK(rq->n_tags >= 0 && rq->n_tags <= TBD_TAGS_MAX, "%d tags", rq->n_tags);
	for (int i = 0; i < rq->n_tags; i++) {
		FZ_CHECK(tbd_valid_name(rq->tag_key[i], TBD_TAG_KEY_MAX), "tag key '%s'",
			 rq->tag_key[i]);
		FZ_CHECK(fz_terminated(rq->tag_value[i], sizeof(rq->tag_value[i])),
			 "tag value unterminated");
	}
	FZ_CHECK((rq->input == NULL) == (rq->input_len == 0), "input %p of %zu bytes",
		 (void *)rq->input, rq->input_len);
	FZ_CHECK(rq->input_len <= TBD_INPUT_MAX, "input of %zu bytes accepted (max %d)",
		 rq->input_len, TBD_INPUT_MAX);
	if (rq->op == TBD_OP_SUBMIT)
		FZ_CHECK(rq->board[0] && rq->workload[0], "submit without board or workload");
	if (rq->op >= TBD_OP_STATUS && rq->op <= TBD_OP_WATCH)
		FZ_CHECK(rq->job >= 1, "job %lld", (long long)rq->job);
}

static const char *run_api(const uint8_t *data, size_t len)
{
	struct tbd_request *rq = malloc(sizeof(*rq));
	char msg[512];
	const char *out;
	int rc;

	FZ_CHECK(rq, "out of memory");
	msg[0] = '\0';
	rc = tbd_request_parse((const char *)data, len, rq, msg, sizeof(msg));
	FZ_CHECK(rc == 0 || rc == -1, "parse returned %d", rc);
	if (rc < 0) {
		FZ_CHECK(msg[0], "request refused without a message");
		FZ_CHECK(rq->input == NULL, "refused request keeps its input");
		free(rq);
		return "refused";
	}
	check_request(rq);
	if (rq->op == TBD_OP_SUBMIT) {
		char *params = tbd_request_params_json(rq);
		json_error_t jerr;
		json_t *back;

		FZ_CHECK(params, "no parameters for a valid submit");
		back = json_loads(params, 0, &jerr);
		FZ_CHECK(json_is_object(back), "stored parameters are not a JSON object: %s",
			 params);
		json_decref(back);
		free(params);
	}
	out = fz_label("ok:%s", op_names[rq->op]);
	tbd_request_free(rq);
	free(rq);
	return out;
}

static void seeds_api(struct fz_corpus *c)
{
	static const char *const seeds[] = {
		"{\"op\":\"ping\"}",
		"{\"v\":1,\"op\":\"submit\",\"token\":\"secret\",\"board\":\"sim-a\","
		"\"workload\":\"kws01\",\"trials\":3,\"min_time\":0.5,\"warmups\":2,"
		"\"profile\":\"mlperf\",\"timeout_ms\":5000,\"retries\":1,"
		"\"tags\":{\"git.commit\":\"abc\",\"note\":\"x y\"},\"input\":\"AAECAw==\","
		"\"follow\":true,\"energy\":false}",
		"{\"op\":\"jobs\",\"state\":\"queued\",\"board\":\"sim-a\",\"limit\":10}",
		"{\"op\":\"status\",\"job\":12}",
		"{\"op\":\"cancel\",\"job\":1}",
		"{\"op\":\"logs\",\"job\":3,\"follow\":true}",
		"{\"op\":\"watch\",\"job\":9223372036854775807}",
		"{\"op\":\"boards\"}",
		"{\"op\":\"release\",\"board\":\"apollo3-bench1\"}",
	};

	static char big[64 + (TBD_INPUT_MAX + 2) / 3 * 4];
	size_t n;

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		fz_seed_str(c, seeds[i]);
	/* inputs at the limit: the longest base64 allowed, with and without
	 * its padding */
	for (int pad = 0; pad < 2; pad++) {
		n = (size_t)snprintf(big, sizeof(big), "{\"op\":\"submit\",\"board\":\"b\","
				     "\"workload\":\"w\",\"input\":\"");
		memset(big + n, 'A', (TBD_INPUT_MAX + 2) / 3 * 4);
		n += (TBD_INPUT_MAX + 2) / 3 * 4;
		if (pad)
			big[n - 1] = '=';
		n += (size_t)snprintf(big + n, sizeof(big) - n, "\"}");
		fz_seed(c, big, n);
	}
}

static const char *const api_dict[] = {
	"{", "}", "[", "]", ":", ",", "\"", "\"op\"", "\"v\"", "\"token\"", "\"board\"",
	"\"workload\"", "\"trials\"", "\"min_time\"", "\"warmups\"", "\"profile\"",
	"\"timeout_ms\"", "\"retries\"", "\"tags\"", "\"input\"", "\"follow\"", "\"energy\"",
	"\"job\"", "\"state\"", "\"limit\"", "\"\"", "\"submit\"", "\"jobs\"", "null", "true",
	"false", "1e400", "-0", "\\u0000", "\\u00e9", "\\ud800", "\"====\"", "\"QQ==\"",
	"\"daemon.x\"", "\"\":0,", "{\"\":",
	NULL
};

const struct fz_target fz_daemon_api = {
	.name = "daemon-api",
	.what = "harness/daemon/tbd_api.c: the API's JSON requests",
	.ci_iterations = 30000,
	.seeds = seeds_api,
	.run = run_api,
	.dict = api_dict,
};
