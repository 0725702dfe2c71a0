/*
 * test_transport_fd.c - the fd driver over real pty pairs and sockets, and
 * tb_transport_tty_open's error paths.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tb_transport.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A pty pair, both ends wrapped (raw). */
static void pty_pair(struct tb_transport **master, struct tb_transport **slave,
		     char *slave_path)
{
	struct tb_error err = { 0 };
	int m, s;

	cr_assert_eq(openpty(&m, &s, slave_path, NULL, NULL), 0);
	cr_assert_eq(tb_transport_fd_new(m, true, "master", master, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(tb_transport_fd_new(s, true, "slave", slave, &err), 0,
		     "%s", err.msg);
}

/* Read exactly len bytes or fail the test. */
static void read_exact(struct tb_transport *t, uint8_t *buf, size_t len,
		       int timeout_ms)
{
	struct tb_error err = { 0 };
	long long deadline = now_ms() + timeout_ms;
	size_t got = 0;
	int n;

	while (got < len) {
		cr_assert_lt(now_ms(), deadline, "only %zu of %zu bytes", got, len);
		n = tb_transport_read(t, buf + got, len - got, 100, &err);
		cr_assert_geq(n, 0, "read: %s", err.msg);
		got += (size_t)n;
	}
}

Test(transport_fd, round_trip_is_raw_and_counted)
{
	struct tb_transport *m, *s;
	struct tb_error err = { 0 };
	uint8_t out[4096], in[4096];
	size_t i;

	pty_pair(&m, &s, NULL);
	/* Every byte value, including ^C, ^D, ^S/^Q, \r, \n, DEL. */
	for (i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + i / 256);
	cr_assert_eq(tb_transport_write(s, out, sizeof(out), 1000, &err), 0,
		     "%s", err.msg);
	read_exact(m, in, sizeof(in), 3000);
	cr_assert_arr_eq(in, out, sizeof(out));

	/* and back the other way */
	cr_assert_eq(tb_transport_write(m, out, 1000, 1000, &err), 0, "%s", err.msg);
	read_exact(s, in, 1000, 3000);
	cr_assert_arr_eq(in, out, 1000);

	cr_assert_eq(s->bytes_out, 4096);
	cr_assert_eq(m->bytes_in, 4096);
	cr_assert_eq(m->bytes_out, 1000);
	cr_assert_eq(s->bytes_in, 1000);
	cr_assert_str_eq(m->ops->name, "fd");
	tb_transport_close(m);
	tb_transport_close(s);
}

Test(transport_fd, read_timeout_returns_zero_in_time)
{
	struct tb_transport *m, *s;
	struct tb_error err = { 0 };
	uint8_t buf[16];
	long long t0, dt;

	pty_pair(&m, &s, NULL);
	t0 = now_ms();
	cr_assert_eq(tb_transport_read(m, buf, sizeof(buf), 150, &err), 0);
	dt = now_ms() - t0;
	cr_assert_geq(dt, 140, "returned after %lld ms", dt);
	cr_assert_lt(dt, 1000, "returned after %lld ms", dt);

	t0 = now_ms();
	cr_assert_eq(tb_transport_read(m, buf, sizeof(buf), 0, &err), 0);
	cr_assert_lt(now_ms() - t0, 50);
	cr_assert_eq(m->bytes_in, 0);
	tb_transport_close(m);
	tb_transport_close(s);
}

Test(transport_fd, peer_close_is_closed)
{
	struct tb_transport *m, *s;
	struct tb_error err = { 0 };
	uint8_t buf[16];
	long long t0;
	int n;

	pty_pair(&m, &s, NULL);
	cr_assert_eq(tb_transport_write(s, (const uint8_t *)"bye", 3, 1000, &err), 0);
	tb_transport_close(s);
	/* Data sent before the hang-up is still delivered... */
	read_exact(m, buf, 3, 2000);
	cr_assert_arr_eq(buf, "bye", 3);
	/* ...then the hang-up, at once rather than at the timeout. */
	t0 = now_ms();
	n = tb_transport_read(m, buf, sizeof(buf), 5000, &err);
	cr_assert_eq(n, TB_ERR_CLOSED, "got %d: %s", n, err.msg);
	cr_assert_eq(err.code, TB_ERR_CLOSED);
	cr_assert(strstr(err.msg, "master"), "message: %s", err.msg);
	cr_assert_lt(now_ms() - t0, 1000);
	tb_transport_close(m);
}

Test(transport_fd, write_times_out_when_nobody_reads)
{
	struct tb_transport *m, *s;
	struct tb_error err = { 0 };
	static uint8_t big[1 << 20];
	long long t0;
	int rc;

	pty_pair(&m, &s, NULL);
	t0 = now_ms();
	rc = tb_transport_write(m, big, sizeof(big), 200, &err);
	cr_assert_eq(rc, TB_ERR_TIMEOUT, "got %d: %s", rc, err.msg);
	cr_assert(strstr(err.msg, "of 1048576 bytes"), "message: %s", err.msg);
	cr_assert_lt(now_ms() - t0, 2000);
	cr_assert_eq(m->bytes_out, 0, "a failed write is not counted");
	tb_transport_close(m);
	tb_transport_close(s);
}

Test(transport_fd, socket_peer_close_without_sigpipe)
{
	struct tb_transport *a;
	struct tb_error err = { 0 };
	uint8_t buf[8] = { 0 };
	int sv[2], rc;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(tb_transport_fd_new(sv[0], true, NULL, &a, &err), 0, "%s", err.msg);
	cr_assert(!strncmp(a->name, "fd ", 3), "default name: %s", a->name);
	close(sv[1]);
	rc = tb_transport_read(a, buf, sizeof(buf), 1000, &err);
	cr_assert_eq(rc, TB_ERR_CLOSED, "read: %d %s", rc, err.msg);
	/* SIGPIPE would kill this test process. */
	rc = tb_transport_write(a, buf, sizeof(buf), 1000, &err);
	cr_assert_eq(rc, TB_ERR_CLOSED, "write: %d %s", rc, err.msg);
	tb_transport_close(a);
}

Test(transport_fd, optional_ops_on_a_pty)
{
	struct tb_transport *m, *s;
	struct tb_error err = { 0 };
	int rc;

	pty_pair(&m, &s, NULL);
	cr_assert_eq(tb_transport_set_baud(s, 115200, &err), 0, "%s", err.msg);
	rc = tb_transport_set_baud(s, 12345, &err);
	cr_assert_eq(rc, TB_ERR_UNSUPPORTED, "%d %s", rc, err.msg);
	cr_assert(strstr(err.msg, "12345"), "%s", err.msg);
	rc = tb_transport_pulse_reset(s, TB_RESET_LINE_DTR, 10, &err);
	cr_assert_eq(rc, TB_ERR_UNSUPPORTED, "%d %s", rc, err.msg);
	rc = tb_transport_pulse_reset(s, (enum tb_reset_line)7, 10, &err);
	cr_assert_eq(rc, TB_ERR_ARG, "%d %s", rc, err.msg);

	cr_assert_eq(tb_transport_write(s, (const uint8_t *)"stale", 5, 1000, &err), 0);
	usleep(50 * 1000);
	cr_assert_eq(tb_transport_discard_input(m, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_transport_read(m, (uint8_t[8]){ 0 }, 8, 100, &err), 0,
		     "input was not discarded");
	tb_transport_close(m);
	tb_transport_close(s);
}

Test(transport_fd, bad_arguments)
{
	struct tb_transport *t = (struct tb_transport *)1;
	struct tb_error err = { 0 };
	uint8_t buf[4];

	cr_assert_eq(tb_transport_fd_new(-1, false, "x", &t, &err), TB_ERR_ARG);
	cr_assert_null(t);
	cr_assert_eq(tb_transport_fd_new(1000, false, "x", &t, &err), TB_ERR_ARG);
	cr_assert_eq(tb_transport_read(NULL, buf, 4, 0, &err), TB_ERR_ARG);
	cr_assert_eq(tb_transport_write(NULL, buf, 4, 0, &err), TB_ERR_ARG);
	tb_transport_close(NULL);
}

Test(transport_tty, open_nonexistent_is_notfound)
{
	struct tb_transport *t = (struct tb_transport *)1;
	struct tb_error err = { 0 };
	int rc;

	rc = tb_transport_tty_open("/dev/ttyNOPE42", 115200, &t, &err);
	cr_assert_eq(rc, TB_ERR_NOTFOUND, "%d %s", rc, err.msg);
	cr_assert_null(t);
	cr_assert(strstr(err.msg, "/dev/ttyNOPE42"), "%s", err.msg);
	cr_assert(strstr(err.msg, "does not exist"), "%s", err.msg);
}

Test(transport_tty, open_non_terminal_is_arg)
{
	struct tb_transport *t;
	struct tb_error err = { 0 };
	int rc;

	rc = tb_transport_tty_open("/dev/null", 115200, &t, &err);
	cr_assert_eq(rc, TB_ERR_ARG, "%d %s", rc, err.msg);
	cr_assert(strstr(err.msg, "not a terminal"), "%s", err.msg);
}

Test(transport_tty, second_open_is_busy)
{
	struct tb_transport *m, *s, *a, *b = (struct tb_transport *)1;
	struct tb_error err = { 0 };
	char path[64];
	int rc;

	pty_pair(&m, &s, path);
	cr_assert_eq(tb_transport_tty_open(path, 115200, &a, &err), 0, "%s", err.msg);
	rc = tb_transport_tty_open(path, 115200, &b, &err);
	cr_assert_eq(rc, TB_ERR_BUSY, "%d %s", rc, err.msg);
	cr_assert_null(b);
	cr_assert(strstr(err.msg, "busy"), "%s", err.msg);
	cr_assert(strstr(err.msg, path), "%s", err.msg);
	/* Closing releases the port. */
	tb_transport_close(a);
	cr_assert_eq(tb_transport_tty_open(path, 115200, &b, &err), 0, "%s", err.msg);
	/* ...and it works. */
	cr_assert_eq(tb_transport_write(m, (const uint8_t *)"ok", 2, 1000, &err), 0);
	{
		uint8_t buf[2];

		read_exact(b, buf, 2, 2000);
		cr_assert_arr_eq(buf, "ok", 2);
	}
	tb_transport_close(b);
	tb_transport_close(m);
	tb_transport_close(s);
}

Test(transport_tty, nonstandard_baud_is_unsupported)
{
	struct tb_transport *t;
	struct tb_error err = { 0 };

	cr_assert_eq(tb_transport_tty_open("/dev/ttyNOPE42", 123, &t, &err),
		     TB_ERR_UNSUPPORTED, "%s", err.msg);
	cr_assert(strstr(err.msg, "123 baud"), "%s", err.msg);
}
