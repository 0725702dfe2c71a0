/*
 * test_eembc.c - the EEMBC host driver: the line parser on the quirks of
 * real firmware, and the driver against scripted devices that misbehave
 * in the ways MLPerf Tiny firmware is known to (a stale m-ready, stray
 * debug lines, an undersized buffer announced without e-, lost bytes, no
 * timestamps in energy mode, a timer that wraps, an endless line).  The
 * driver against a real implementation (the runner core's EEMBC mode) is
 * in tests/e2e/test_e2e_accuracy.c.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tb_eembc.h"
#include "tb_transport.h"

static struct tb_eembc_line L;
static double V[16];

static void parse(const char *s)
{
	tb_eembc_parse_line(s, strlen(s), &L, V, 16);
}

Test(eembc_parse, plain_messages)
{
	parse("m-ready");
	cr_expect_eq(L.kind, TB_EEMBC_READY);
	parse("m-ready\r");
	cr_expect_eq(L.kind, TB_EEMBC_READY, "a CR left at the end is ignored");
	parse("m-name-dut-[unspecified]");
	cr_expect_eq(L.kind, TB_EEMBC_NAME);
	cr_expect_str_eq(L.text, "unspecified");
	parse("m-name-[nucleo]");
	cr_expect_eq(L.kind, TB_EEMBC_NAME);
	cr_expect_str_eq(L.text, "nucleo");
	parse("m-profile-[ULPMark for tinyML Firmware V0.0.1]");
	cr_expect_eq(L.kind, TB_EEMBC_PROFILE);
	cr_expect_str_eq(L.text, "ULPMark for tinyML Firmware V0.0.1");
	parse("m-model-[kws01]");
	cr_expect_eq(L.kind, TB_EEMBC_MODEL);
	cr_expect_str_eq(L.text, "kws01");
	parse("m-[Expecting 490 bytes]");
	cr_expect_eq(L.kind, TB_EEMBC_EXPECTING);
	cr_expect_eq(L.number, 490);
	parse("m-load-done");
	cr_expect_eq(L.kind, TB_EEMBC_LOAD_DONE);
	parse("m-warmup-start-10");
	cr_expect_eq(L.kind, TB_EEMBC_WARMUP_START);
	cr_expect_eq(L.number, 10);
	parse("m-infer-start-1");
	cr_expect_eq(L.kind, TB_EEMBC_INFER_START);
	parse("m-lap-us-67410227");
	cr_expect_eq(L.kind, TB_EEMBC_LAP_US);
	cr_expect_eq(L.number, 67410227);
	parse("m-lap-us-4294967295");
	cr_expect_eq(L.kind, TB_EEMBC_LAP_US, "the largest u32");
	parse("m-infer-done");
	cr_expect_eq(L.kind, TB_EEMBC_INFER_DONE);
	parse("m-init-done");
	cr_expect_eq(L.kind, TB_EEMBC_INIT_DONE);
	parse("m-timestamp-mode-performance");
	cr_expect_eq(L.kind, TB_EEMBC_OTHER);
}

Test(eembc_parse, results_and_their_quirks)
{
	parse("m-results-[0.000,0.007,0.992]");
	cr_assert_eq(L.kind, TB_EEMBC_RESULTS);
	cr_assert_eq(L.n_values, 3);
	cr_expect_float_eq(V[2], 0.992, 1e-12);
	parse("m-results-[0.1,0.9,]");
	cr_assert_eq(L.kind, TB_EEMBC_RESULTS, "a trailing comma is tolerated");
	cr_expect_eq(L.n_values, 2);
	parse("m-results-[ 0.25 , -1.5e-3 ,7 ]");
	cr_assert_eq(L.kind, TB_EEMBC_RESULTS, "spaces around values");
	cr_expect_eq(L.n_values, 3);
	cr_expect_float_eq(V[1], -0.0015, 1e-15);
	parse("m-results-[123.456]");
	cr_expect_eq(L.kind, TB_EEMBC_RESULTS, "an AD score, one value");
	parse("m-results-[]");
	cr_expect_eq(L.kind, TB_EEMBC_RESULTS);
	cr_expect_eq(L.n_values, 0);
}

Test(eembc_parse, bad_values_are_refused)
{
	static const char *bad[] = {
		"m-results-[0.1,,0.2]",        /* an empty value in the middle */
		"m-results-[nan]",
		"m-results-[inf,0]",
		"m-results-[0x1p3]",
		"m-results-[1e99999]",
		"m-results-[1.2.3]",
		"m-results-[0.5",              /* no closing bracket */
		"m-results-0.5]",
		"m-results-[0.5]junk",
		"m-lap-us-4294967296",         /* over 32 bits */
		"m-lap-us-12a",
		"m-lap-us-",
		"m-[Expecting lots of bytes]",
		"m-infer-start--1",
		"m-name-dut",
		"m-model-[]",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse(bad[i]);
		cr_expect_eq(L.kind, TB_EEMBC_MALFORMED, "'%s' gave %s", bad[i],
			     tb_eembc_kind_name(L.kind));
	}
	{
		char line[256] = "m-results-[";

		for (int i = 0; i < 17; i++)
			strcat(line, "1,");
		strcat(line, "]");
		parse(line);
		cr_expect_eq(L.kind, TB_EEMBC_MALFORMED, "more values than the caller's array");
	}
}

Test(eembc_parse, errors_and_stray_lines)
{
	parse("e-[Insufficent number of hex digits]");
	cr_expect_eq(L.kind, TB_EEMBC_ERROR);
	cr_expect_str_eq(L.text, "Insufficent number of hex digits");
	parse("e-[Unknown command: bogus]");
	cr_expect_eq(L.kind, TB_EEMBC_ERROR);
	parse("Supplied buffer size 99999 exceeds maximum of 1024");
	cr_expect_eq(L.kind, TB_EEMBC_STRAY);
	parse("debug: 12 ms");
	cr_expect_eq(L.kind, TB_EEMBC_STRAY);
	parse("  m-ready");
	cr_expect_eq(L.kind, TB_EEMBC_READY, "leading blanks");
	parse("m-name-dut-[\x01\x7f]");
	cr_expect_eq(L.kind, TB_EEMBC_NAME);
	cr_expect_str_eq(L.text, "??", "non-printable text is replaced");
}

/* ----------------------------------------------------------------------
 * Scripted devices on a socket pair
 */
typedef const char *(*answer_fn)(const char *cmd, int n);

struct script {
	int fd;
	answer_fn answer;
	int n;                      /* commands so far */
	const char *greeting;       /* written before the first command */
};

static void *device(void *arg)
{
	struct script *s = arg;
	char cmd[256];
	size_t k = 0;
	char c;

	if (s->greeting && write(s->fd, s->greeting, strlen(s->greeting)) < 0)
		return NULL;
	while (read(s->fd, &c, 1) == 1) {
		if (c != '%') {
			if (k < sizeof(cmd) - 1)
				cmd[k++] = c;
			continue;
		}
		cmd[k] = '\0';
		k = 0;
		const char *r = s->answer(cmd, s->n++);

		if (r && write(s->fd, r, strlen(r)) < 0)
			break;
	}
	return NULL;
}

struct rig {
	struct script s;
	pthread_t th;
	struct tb_transport *t;
	struct tb_eembc *e;
	int host_fd;
};

static void rig_start(struct rig *g, answer_fn fn, const char *greeting)
{
	struct tb_eembc_config cfg = { .cmd_timeout_ms = 300, .hello_timeout_ms = 300 };
	struct tb_error err = { 0 };
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	g->s.fd = sv[1];
	g->s.answer = fn;
	g->s.n = 0;
	g->s.greeting = greeting;
	g->host_fd = sv[0];
	cr_assert_eq(tb_transport_fd_new(sv[0], true, "script", &g->t, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_eembc_new(g->t, &cfg, &g->e, &err), 0, "%s", err.msg);
	cr_assert_eq(pthread_create(&g->th, NULL, device, &g->s), 0);
}

static void rig_stop(struct rig *g)
{
	tb_eembc_free(g->e);
	tb_transport_close(g->t);   /* the device reads EOF */
	pthread_join(g->th, NULL);
	close(g->s.fd);
}

/* A device as MLPerf Tiny firmware, with quirks switched by the test. */
static int q_wrap, q_no_laps, q_small_buffer, q_drop_byte, q_stray, q_long_line, q_err;
static unsigned loaded, expect;

static const char *good(const char *cmd, int n)
{
	static char buf[600000];

	(void)n;
	buf[0] = '\0';
	if (q_stray)
		strcat(buf, "dbg: got a command\r\n");
	if (!strcmp(cmd, "name")) {
		strcat(buf, "m-name-dut-[scripted]\r\n");
	} else if (!strcmp(cmd, "profile")) {
		strcat(buf, "m-profile-[ULPMark for tinyML Firmware V0.0.1]\r\nm-model-[kws01]\r\n");
	} else if (!strncmp(cmd, "db load ", 8)) {
		expect = (unsigned)atoi(cmd + 8);
		loaded = 0;
		if (q_small_buffer)
			sprintf(buf + strlen(buf), "Supplied buffer size %u exceeds maximum of 64\n",
				expect);
		else
			sprintf(buf + strlen(buf), "m-[Expecting %u bytes]\r\n", expect);
	} else if (!strncmp(cmd, "db ", 3)) {
		unsigned n2 = (unsigned)strlen(cmd + 3) / 2;

		cr_expect_leq(strlen(cmd) + 1, 80, "command over the 80-character buffer");
		if (q_drop_byte && loaded == 0)
			n2--;   /* as if two hex digits were lost on the line */
		loaded += n2;
		if (loaded >= expect)
			strcat(buf, "m-load-done\r\n");
	} else if (!strncmp(cmd, "infer ", 6)) {
		unsigned cnt = 0, w = 0;

		sscanf(cmd + 6, "%u %u", &cnt, &w);
		if (q_err) {
			strcat(buf, "e-[Model crashed]\r\nm-ready\r\n");
			return buf;
		}
		sprintf(buf + strlen(buf), "m-warmup-start-%u\r\nm-warmup-done\r\n"
			"m-infer-start-%u\r\n", w, cnt);
		if (!q_no_laps)
			strcat(buf, q_wrap ? "m-lap-us-4294967000\r\nm-lap-us-704\r\n" :
			       "m-lap-us-1000\r\nm-lap-us-3500\r\n");
		strcat(buf, "m-infer-done\r\nm-results-[0.000,0.250,0.750,]\r\n");
		if (q_long_line) {
			size_t k = strlen(buf);

			memset(buf + k, 'x', TB_EEMBC_LINE_MAX + 10);
			strcpy(buf + k + TB_EEMBC_LINE_MAX + 10, "\r\n");
		}
	} else {
		sprintf(buf + strlen(buf), "e-[Unknown command: %s]\r\n", cmd);
	}
	strcat(buf, "m-ready\r\n");
	return buf;
}

static void quirks_off(void)
{
	q_wrap = q_no_laps = q_small_buffer = q_drop_byte = q_stray = q_long_line = q_err = 0;
}

TestSuite(eembc_driver, .init = quirks_off, .timeout = 30);

Test(eembc_driver, a_whole_session_with_a_stale_ready_and_stray_lines)
{
	struct rig g;
	struct tb_eembc_identity id;
	struct tb_eembc_infer r;
	struct tb_upload_stats st;
	struct tb_error err = { 0 };
	uint8_t data[490];

	q_stray = 1;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	/* Start-up lines the host did not ask for, then the replies. */
	rig_start(&g, good, "m-init-done\r\nm-ready\r\n");
	usleep(50000);
	cr_assert_eq(tb_eembc_identify(g.e, &id, &err), 0, "%s", err.msg);
	cr_expect_str_eq(id.name, "scripted");
	cr_expect_str_eq(id.model, "kws01");
	cr_assert_eq(tb_eembc_load(g.e, data, sizeof(data), &st, &err), 0, "%s", err.msg);
	cr_expect_eq(st.chunks, 16, "490 bytes in commands of 31: %u", st.chunks);
	cr_expect_eq(st.round_trips, 17);
	cr_assert_eq(tb_eembc_infer(g.e, 5, 1, 1000, &r, &err), 0, "%s", err.msg);
	cr_expect_eq(r.elapsed_us, 2500);
	cr_expect_eq(r.n_values, 3, "trailing comma: %zu values", r.n_values);
	cr_expect_float_eq(r.values[2], 0.75, 1e-12);
	rig_stop(&g);
}

Test(eembc_driver, a_timer_that_wraps)
{
	struct rig g;
	struct tb_eembc_infer r;
	struct tb_error err = { 0 };

	q_wrap = 1;
	rig_start(&g, good, NULL);
	cr_assert_eq(tb_eembc_infer(g.e, 1, 0, 1000, &r, &err), 0, "%s", err.msg);
	cr_expect_eq(r.elapsed_us, 1000, "4294967000 -> 704 is 1000 us: %llu",
		     (unsigned long long)r.elapsed_us);
	rig_stop(&g);
}

Test(eembc_driver, energy_mode_firmware_sends_no_timestamps)
{
	struct rig g;
	struct tb_eembc_infer r;
	struct tb_error err = { 0 };

	q_no_laps = 1;
	rig_start(&g, good, NULL);
	cr_expect_eq(tb_eembc_infer(g.e, 1, 0, 1000, &r, &err), TB_ERR_PROTO);
	cr_expect(strstr(err.msg, "m-lap-us") && strstr(err.msg, "energy-mode"), "%s", err.msg);
	rig_stop(&g);
}

Test(eembc_driver, a_buffer_too_small_said_without_e)
{
	struct rig g;
	struct tb_error err = { 0 };
	uint8_t data[100] = { 0 };

	q_small_buffer = 1;
	rig_start(&g, good, NULL);
	cr_expect_eq(tb_eembc_load(g.e, data, sizeof(data), NULL, &err), TB_ERR_DEVICE);
	cr_expect(strstr(err.msg, "Supplied buffer size 100 exceeds"), "%s", err.msg);
	rig_stop(&g);
}

Test(eembc_driver, bytes_lost_on_the_line)
{
	struct rig g;
	struct tb_error err = { 0 };
	uint8_t data[62] = { 0 };

	q_drop_byte = 1;
	rig_start(&g, good, NULL);
	cr_expect_eq(tb_eembc_load(g.e, data, sizeof(data), NULL, &err), TB_ERR_PROTO);
	cr_expect(strstr(err.msg, "m-load-done"), "%s", err.msg);
	rig_stop(&g);
}

Test(eembc_driver, a_device_error_fails_the_command)
{
	struct rig g;
	struct tb_eembc_infer r;
	struct tb_error err = { 0 };

	q_err = 1;
	rig_start(&g, good, NULL);
	cr_expect_eq(tb_eembc_infer(g.e, 1, 0, 1000, &r, &err), TB_ERR_DEVICE);
	cr_expect(strstr(err.msg, "Model crashed") && strstr(err.msg, "infer 1 0%"), "%s",
		  err.msg);
	cr_expect_eq(tb_eembc_infer(g.e, 0, 0, 1000, &r, &err), TB_ERR_ARG, "N = 0");
	rig_stop(&g);
}

Test(eembc_driver, an_endless_line_is_refused)
{
	struct rig g;
	struct tb_eembc_infer r;
	struct tb_error err = { 0 };

	q_long_line = 1;
	rig_start(&g, good, NULL);
	cr_expect_eq(tb_eembc_infer(g.e, 1, 0, 2000, &r, &err), TB_ERR_PROTO);
	cr_expect(strstr(err.msg, "longer than"), "%s", err.msg);
	rig_stop(&g);
}

static const char *silent(const char *cmd, int n)
{
	(void)cmd;
	(void)n;
	return NULL;
}

Test(eembc_driver, a_silent_device_times_out)
{
	struct rig g;
	struct tb_eembc_identity id;
	struct tb_error err = { 0 };

	rig_start(&g, silent, NULL);
	cr_expect_eq(tb_eembc_identify(g.e, &id, &err), TB_ERR_TIMEOUT);
	cr_expect(strstr(err.msg, "name%"), "%s", err.msg);
	cr_expect_eq(tb_eembc_probe(g.t, 200, &err), 0, "a silent line is no EEMBC device");
	rig_stop(&g);
}

Test(eembc_driver, probe_sees_an_eembc_device)
{
	struct rig g;
	struct tb_error err = { 0 };

	rig_start(&g, good, NULL);
	cr_expect_eq(tb_eembc_probe(g.t, 500, &err), 1, "%s", err.msg);
	rig_stop(&g);
}

Test(eembc_driver, commands_respect_the_80_character_buffer)
{
	struct tb_eembc_config cfg = { .db_bytes = 39 };
	struct tb_transport *t;
	struct tb_eembc *e;
	struct tb_error err = { 0 };
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(tb_transport_fd_new(sv[0], true, "x", &t, &err), 0);
	cr_expect_eq(tb_eembc_new(t, &cfg, &e, &err), TB_ERR_ARG,
		     "39 bytes = 82 characters must be refused");
	cfg.db_bytes = 38;
	cr_expect_eq(tb_eembc_new(t, &cfg, &e, &err), 0, "%s", err.msg);
	tb_eembc_free(e);
	tb_transport_close(t);
	close(sv[1]);
}
