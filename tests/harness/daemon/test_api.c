/*
 * test_api.c - the daemon's pieces without a daemon: request validation,
 * base64, the token comparison, the queue file (claims, recovery after a
 * kill, cancel), USB port matching, the configuration parser.
 */
#include <criterion/criterion.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tb_transport.h"
#include "tbd.h"
#include "tbd_api.h"
#include "tbd_queue.h"

static char tmpdir[256];

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tb-dapi-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(daemon_api, .init = setup, .fini = teardown);

static int parse(const char *text, struct tbd_request *rq, char *msg)
{
	return tbd_request_parse(text, strlen(text), rq, msg, 256);
}

Test(daemon_api, a_good_submit_is_read_field_by_field)
{
	struct tbd_request rq;
	char msg[256] = "", *params;

	cr_assert_eq(parse("{\"v\":1,\"op\":\"submit\",\"board\":\"sim-a\",\"workload\":\"kws\","
			   "\"trials\":3,\"min_time\":0.5,\"warmups\":0,\"profile\":\"default\","
			   "\"timeout_ms\":2000,\"retries\":1,\"tags\":{\"git.commit\":\"abc\"},"
			   "\"input\":\"AAEC\",\"follow\":true,\"energy\":true,\"token\":\"t\"}", &rq,
			   msg), 0, "%s", msg);
	cr_expect_eq(rq.op, TBD_OP_SUBMIT);
	cr_expect_str_eq(rq.board, "sim-a");
	cr_expect_str_eq(rq.workload, "kws");
	cr_expect_eq(rq.trials, 3);
	cr_expect_eq(rq.min_time_s, 0.5);
	cr_expect_eq(rq.warmups, 0);
	cr_expect_eq(rq.timeout_ms, 2000);
	cr_expect_eq(rq.retries, 1);
	cr_expect_eq(rq.n_tags, 1);
	cr_expect_str_eq(rq.tag_key[0], "git.commit");
	cr_expect_eq(rq.input_len, 3);
	cr_expect(rq.input[0] == 0 && rq.input[1] == 1 && rq.input[2] == 2);
	cr_expect(rq.follow && rq.has_token);
	cr_expect(rq.energy);
	params = tbd_request_params_json(&rq);
	cr_expect(params && strstr(params, "\"energy\":true"), "%s", params);
	free(params);
	tbd_request_free(&rq);
}

Test(daemon_api, every_bad_field_is_refused_with_its_name)
{
	static const struct {
		const char *text, *names;
	} bad[] = {
		{ "", "not JSON" },
		{ "[1,2]", "object" },
		{ "{\"op\":\"submit\"", "not JSON" },
		{ "{\"board\":\"sim\"}", "'op'" },
		{ "{\"op\":\"reboot\"}", "unknown op" },
		{ "{\"op\":\"ping\",\"v\":2}", "'v'" },
		{ "{\"op\":\"ping\",\"x\":1}", "unknown field 'x'" },
		{ "{\"op\":\"submit\",\"board\":\"sim\"}", "needs 'workload'" },
		{ "{\"op\":\"submit\",\"board\":\"../etc\",\"workload\":\"kws\"}", "'board'" },
		{ "{\"op\":\"submit\",\"board\":\"a b\",\"workload\":\"kws\"}", "'board'" },
		{ "{\"op\":\"submit\",\"board\":\"sim\",\"workload\":\"kws\",\"trials\":0}", "'trials'" },
		{ "{\"op\":\"submit\",\"board\":\"sim\",\"workload\":\"kws\",\"trials\":\"5\"}", "'trials'" },
		{ "{\"op\":\"submit\",\"board\":\"sim\",\"workload\":\"kws\",\"trials\":1.5}", "'trials'" },
		{ "{\"op\":\"submit\",\"board\":\"sim\",\"workload\":\"kws\",\"min_time\":0}", "'min_time'" },
		{ "{\"op\":\"submit\",\"board\":\"sim\",\"workload\":\"kws\",\"retries\":11}", "'retries'" },
		{ "{\"op\":\"submit\",\"board\":\"sim\",\"workload\":\"kws\",\"profile\":\"fast\"}", "'profile'" },
		{ "{\"op\":\"submit\",\"board\":\"sim\",\"workload\":\"kws\",\"input\":\"@@@@\"}", "'input'" },
		{ "{\"op\":\"submit\",\"board\":\"sim\",\"workload\":\"kws\",\"tags\":{\"job\":\"1\"}}", "reserved" },
		{ "{\"op\":\"submit\",\"board\":\"sim\",\"workload\":\"kws\",\"tags\":{\"a\":1}}", "tag 'a'" },
		{ "{\"op\":\"submit\",\"board\":\"sim\",\"workload\":\"kws\",\"board\":\"x\"}", "duplicate" },
		{ "{\"op\":\"status\"}", "needs 'job'" },
		{ "{\"op\":\"status\",\"job\":0}", "'job'" },
		{ "{\"op\":\"status\",\"job\":-5}", "'job'" },
		{ "{\"op\":\"jobs\",\"state\":\"lost\"}", "'state'" },
		{ "{\"op\":\"jobs\",\"limit\":100000}", "'limit'" },
		{ "{\"op\":\"logs\",\"job\":1,\"follow\":1}", "'follow'" },
		{ "{\"op\":\"submit\",\"board\":\"sim\",\"workload\":\"kws\",\"energy\":\"ppk2\"}", "'energy'" },
		{ "{\"op\":\"jobs\",\"energy\":true}", "unknown field 'energy'" },
		{ "{\"op\":\"ping\",\"token\":5}", "'token'" },
		{ "{\"op\":\"ping\"} {}", "not JSON" },
		{ "{\"op\":\"ping\",\"x\":\"\\u0000\"}", "not JSON" },
	};
	struct tbd_request rq;
	char msg[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg[0] = '\0';
		cr_expect_eq(parse(bad[i].text, &rq, msg), -1, "accepted: %s", bad[i].text);
		cr_expect(strstr(msg, bad[i].names) != NULL, "%s -> '%s', expected '%s'",
			  bad[i].text, msg, bad[i].names);
	}
}

Test(daemon_api, oversized_requests_are_refused_before_parsing)
{
	struct tbd_request rq;
	char msg[256];
	size_t n = TBD_MAX_REQUEST + 10;
	char *big = malloc(n);

	memset(big, ' ', n);
	memcpy(big, "{\"op\":\"ping\"}", 13);
	cr_expect_eq(tbd_request_parse(big, n, &rq, msg, sizeof(msg)), -1);
	cr_expect(strstr(msg, "limit"), "%s", msg);
	free(big);
}

Test(daemon_api, base64_round_trips_and_rejects_junk)
{
	uint8_t in[300], out[400];
	char text[500];

	for (int n = 1; n < 300; n += 37) {
		for (int i = 0; i < n; i++)
			in[i] = (uint8_t)(i * 31 + n);
		tbd_base64_encode(in, (size_t)n, text);
		cr_assert_eq(tbd_base64_decode(text, strlen(text), out), n);
		cr_assert_eq(memcmp(in, out, (size_t)n), 0);
	}
	cr_expect_eq(tbd_base64_decode("QUJD", 4, out), 3);
	cr_expect_eq(tbd_base64_decode("QUI=", 4, out), 2);
	cr_expect_eq(tbd_base64_decode("QUI", 3, out), -1);
	cr_expect_eq(tbd_base64_decode("Q=I=", 4, out), -1);
	cr_expect_eq(tbd_base64_decode("QU==QUJD", 8, out), -1);
	cr_expect_eq(tbd_base64_decode("QU\nD", 4, out), -1);
}

Test(daemon_api, tokens_compare_whole)
{
	cr_expect(tbd_token_equal("0123456789abcdef", "0123456789abcdef"));
	cr_expect(!tbd_token_equal("0123456789abcdeF", "0123456789abcdef"));
	cr_expect(!tbd_token_equal("0123456789abcde", "0123456789abcdef"));
	cr_expect(!tbd_token_equal("", "0123456789abcdef"));
	cr_expect(!tbd_token_equal("", ""), "an empty expected token never matches");
}

Test(daemon_api, usb_ports_match_by_id_and_serial)
{
	struct tb_serial_port_info p = { .name = "/dev/ttyUSB1", .has_usb_id = true,
					 .vid = 0x1a86, .pid = 0x7523, .serial = "A50285BI" };

	cr_expect(tbd_port_matches(&p, 0x1a86, 0x7523, ""));
	cr_expect(tbd_port_matches(&p, 0x1a86, 0x7523, "A50285BI"));
	cr_expect(!tbd_port_matches(&p, 0x1a86, 0x7523, "OTHER"));
	cr_expect(!tbd_port_matches(&p, 0x0483, 0x374b, ""));
	p.has_usb_id = false;
	cr_expect(!tbd_port_matches(&p, 0x1a86, 0x7523, ""));
}

/* ---- the queue file ---------------------------------------------------- */

static struct tbd_queue *open_queue(void)
{
	char path[512];
	struct tbd_queue *q = NULL;
	struct tb_error err = { 0 };

	snprintf(path, sizeof(path), "%s/state/q.db", tmpdir);
	cr_assert_eq(tbd_queue_open(path, &q, &err), 0, "%s", err.msg);
	return q;
}

Test(daemon_api, queue_claims_in_order_and_by_board_or_instance)
{
	struct tbd_queue *q = open_queue();
	struct tb_error err = { 0 };
	struct tbd_job j;
	int64_t a, b, c;

	cr_assert_eq(tbd_queue_submit(q, "sim", "kws01", "{}", NULL, 0, "uid 1", &a, &err), 0);
	cr_assert_eq(tbd_queue_submit(q, "sim-b", "kws01", "{}", "xy", 2, "uid 1", &b, &err), 0);
	cr_assert_eq(tbd_queue_submit(q, "other", "kws01", "{}", NULL, 0, "uid 1", &c, &err), 0);
	/* sim-b takes its own job only after the older job for any sim */
	cr_assert_eq(tbd_queue_claim(q, "sim-b", "sim", "/r.db", &j, &err), 1);
	cr_expect_eq(j.id, a);
	cr_expect_eq(j.state, TBD_JOB_RUNNING);
	cr_expect_str_eq(j.worker, "sim-b");
	cr_expect_eq(j.starts, 1);
	tbd_job_clear(&j);
	cr_assert_eq(tbd_queue_claim(q, "sim-a", "sim", "/r.db", &j, &err), 0,
		     "sim-a may not take sim-b's job");
	cr_assert_eq(tbd_queue_claim(q, "sim-b", "sim", "/r.db", &j, &err), 1);
	cr_expect_eq(j.id, b);
	cr_expect_eq(j.input_len, 2);
	tbd_job_clear(&j);
	cr_assert_eq(tbd_queue_finish(q, a, TBD_JOB_DONE, NULL, "{\"x\":1}", &err), 0);
	cr_assert_eq(tbd_queue_get(q, a, &j, &err), 0);
	cr_expect_eq(j.state, TBD_JOB_DONE);
	cr_expect_str_eq(j.result_json, "{\"x\":1}");
	tbd_job_clear(&j);
	cr_assert_eq(tbd_queue_check(q, &err), 0, "%s", err.msg);
	tbd_queue_close(q);
}

Test(daemon_api, jobs_left_running_are_requeued_then_failed_after_three)
{
	struct tbd_queue *q = open_queue();
	struct tb_error err = { 0 };
	int requeued, failed;
	struct tbd_job j;
	int64_t id;

	cr_assert_eq(tbd_queue_submit(q, "sim", "kws01", "{}", NULL, 0, "t", &id, &err), 0);
	for (int round = 1; round <= 4; round++) {
		int got = tbd_queue_claim(q, "sim-a", "sim", "/r.db", &j, &err);

		if (round == 4) {
			cr_assert_eq(got, 0, "failed jobs are not taken again");
			break;
		}
		cr_assert_eq(got, 1);
		tbd_job_clear(&j);
		tbd_queue_set_run(q, id, 7, &err);
		/* the daemon is killed here; the next start recovers */
		cr_assert_eq(tbd_queue_recover(q, 2, &requeued, &failed, &err), 0, "%s", err.msg);
		cr_assert_eq(tbd_queue_get(q, id, &j, &err), 0);
		cr_expect_eq(j.interruptions, round);
		cr_expect_eq(j.run_id, 7, "the run is kept, to be resumed");
		cr_expect_eq(j.state, round <= 2 ? TBD_JOB_QUEUED : TBD_JOB_FAILED);
		cr_expect_eq(requeued, round <= 2);
		cr_expect_eq(failed, round > 2);
		tbd_job_clear(&j);
	}
	tbd_queue_close(q);
}

Test(daemon_api, cancel_takes_queued_jobs_and_reports_the_rest)
{
	struct tbd_queue *q = open_queue();
	struct tb_error err = { 0 };
	enum tbd_job_state st;
	struct tbd_job j;
	int64_t a, b;

	tbd_queue_submit(q, "sim", "kws01", "{}", NULL, 0, "t", &a, &err);
	tbd_queue_submit(q, "sim", "kws01", "{}", NULL, 0, "t", &b, &err);
	cr_assert_eq(tbd_queue_claim(q, "sim-a", "sim", "/r.db", &j, &err), 1);
	tbd_job_clear(&j);
	cr_expect_eq(tbd_queue_cancel_queued(q, b, &st, &err), 1);
	cr_expect_eq(st, TBD_JOB_CANCELLED);
	cr_expect_eq(tbd_queue_cancel_queued(q, a, &st, &err), 0);
	cr_expect_eq(st, TBD_JOB_RUNNING);
	cr_expect_eq(tbd_queue_cancel_queued(q, 99, &st, &err), TB_ERR_NOTFOUND);
	tbd_queue_close(q);
}

/* ---- configuration ------------------------------------------------------ */

static int load(const char *text, struct tbd_config *c, struct tb_error *err)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/d.conf", tmpdir);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return tbd_config_load(path, c, err);
}

Test(daemon_api, config_is_strict)
{
	static struct tbd_config c;
	struct tb_error err = { 0 };

	cr_assert_eq(load("[daemon]\nsocket = /tmp/x.sock\n[board a]\nboard = apollo3\n"
			  "usb = 1a86:7523\nserial = A5\nretries = 1\n", &c, &err), 0, "%s", err.msg);
	cr_expect_eq(c.n_boards, 1);
	cr_expect(c.boards[0].has_usb && c.boards[0].vid == 0x1a86 && c.boards[0].pid == 0x7523);
	cr_expect_eq(c.socket_mode, 0660);
	cr_expect_eq(load("[daemon]\nsokcet = /x\n[board a]\nboard = sim\n", &c, &err),
		     TB_ERR_FORMAT);
	cr_expect(strstr(err.msg, "sokcet"), "%s", err.msg);
	cr_expect_eq(load("[board a]\nboard = sim\nusb = 1a86\n", &c, &err), TB_ERR_FORMAT);
	cr_expect_eq(load("[board a/b]\nboard = sim\n", &c, &err), TB_ERR_FORMAT);
	cr_expect_eq(load("[daemon]\nsocket_mode = 0666\n[board a]\nboard = sim\n", &c, &err),
		     TB_ERR_FORMAT);
	cr_expect_eq(load("[daemon]\nlisten = 7700\n[board a]\nboard = sim\n", &c, &err),
		     TB_ERR_FORMAT, "TCP without a token file");
	cr_expect_eq(load("[daemon]\n", &c, &err), TB_ERR_FORMAT, "no boards");
}
