/*
 * test_transport_fault.c - the fault driver over a socket pair: byte error
 * rate and drops at the rates asked, stalls delay without losing, the spec
 * parser refuses what it does not know, and the wrapper forwards the
 * optional operations.
 */
#include <criterion/criterion.h>

#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tb_transport.h"
#include "tb_transport_fault.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pair(struct tb_transport **a, struct tb_transport **b)
{
	struct tb_error err = { 0 };
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(tb_transport_fd_new(sv[0], true, "a", a, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_transport_fd_new(sv[1], true, "b", b, &err), 0, "%s", err.msg);
}

/* Send n bytes of 0x55 through f (tx faults) and count what arrives. */
static void send_count(struct tb_transport *f, struct tb_transport *peer, size_t n,
		       size_t *got, size_t *changed)
{
	static uint8_t buf[100000], in[4096];
	struct tb_error err = { 0 };
	int r;

	memset(buf, 0x55, sizeof(buf));
	*got = *changed = 0;
	for (size_t off = 0; off < n; off += 1000) {
		cr_assert_eq(tb_transport_write(f, buf, 1000, 1000, &err), 0, "%s", err.msg);
		while ((r = tb_transport_read(peer, in, sizeof(in), 20, &err)) > 0) {
			for (int i = 0; i < r; i++)
				*changed += in[i] != 0x55;
			*got += (size_t)r;
		}
	}
}

Test(transport_fault, byte_error_rate_is_what_was_asked)
{
	struct tb_fault_config cfg = { .ber = 1e-2, .seed = 42, .dirs = TB_FAULT_TX };
	struct tb_transport *a, *b, *f;
	struct tb_fault_stats st;
	struct tb_error err = { 0 };
	size_t got, changed;

	pair(&a, &b);
	cr_assert_eq(tb_transport_fault_new(a, true, &cfg, &f, &err), 0, "%s", err.msg);
	send_count(f, b, 100000, &got, &changed);
	tb_transport_fault_stats(f, &st);
	cr_assert_eq(got, 100000, "no byte may be lost by corruption alone");
	cr_assert_eq(changed, st.corrupted);
	/* 1000 expected; 5 sigma is about 160 */
	cr_assert(st.corrupted > 800 && st.corrupted < 1200, "%llu corrupted",
		  (unsigned long long)st.corrupted);
	tb_transport_close(f);
	tb_transport_close(b);
}

Test(transport_fault, drops_lose_bytes_and_rx_only_spares_tx)
{
	struct tb_fault_config cfg = { .drop_rate = 0.05, .seed = 7, .dirs = TB_FAULT_RX };
	struct tb_transport *a, *b, *f;
	struct tb_fault_stats st;
	struct tb_error err = { 0 };
	uint8_t buf[1000], in[4096];
	size_t got = 0, changed = 0;
	int r;

	pair(&a, &b);
	cr_assert_eq(tb_transport_fault_new(a, true, &cfg, &f, &err), 0, "%s", err.msg);
	/* tx is spared */
	send_count(f, b, 10000, &got, &changed);
	cr_assert_eq(got, 10000);
	/* rx loses about 5 % */
	memset(buf, 1, sizeof(buf));
	got = 0;
	for (int k = 0; k < 20; k++) {
		cr_assert_eq(tb_transport_write(b, buf, sizeof(buf), 1000, &err), 0);
		while ((r = tb_transport_read(f, in, sizeof(in), 20, &err)) > 0)
			got += (size_t)r;
	}
	tb_transport_fault_stats(f, &st);
	cr_assert_eq(got + st.dropped, 20000);
	cr_assert(st.dropped > 700 && st.dropped < 1300, "%llu dropped",
		  (unsigned long long)st.dropped);
	tb_transport_close(f);
	tb_transport_close(b);
}

Test(transport_fault, a_stall_delays_without_losing)
{
	struct tb_fault_config cfg = { .stall_rate = 1.0, .stall_ms = 300, .seed = 1,
				       .dirs = TB_FAULT_RX };
	struct tb_transport *a, *b, *f;
	struct tb_error err = { 0 };
	uint8_t in[16];
	long long t0;
	int r;

	pair(&a, &b);
	cr_assert_eq(tb_transport_fault_new(a, true, &cfg, &f, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_transport_write(b, (const uint8_t *)"hello", 5, 1000, &err), 0);
	t0 = now_ms();
	r = tb_transport_read(f, in, sizeof(in), 100, &err);
	cr_assert_eq(r, 0, "held back during the stall");
	r = tb_transport_read(f, in, sizeof(in), 1000, &err);
	cr_assert_eq(r, 5);
	cr_assert(now_ms() - t0 >= 290, "released after the stall, not before");
	cr_assert_eq(memcmp(in, "hello", 5), 0);
	tb_transport_close(f);
	tb_transport_close(b);
}

Test(transport_fault, spec_parser_is_strict)
{
	struct tb_fault_config c;
	struct tb_error err = { 0 };

	cr_assert_eq(tb_fault_config_parse("ber=1e-3,drop=1e-4,stall=0.01:500,delay=2,dir=tx,seed=9",
					   &c, &err), 0, "%s", err.msg);
	cr_expect(c.ber == 1e-3 && c.drop_rate == 1e-4 && c.stall_rate == 0.01 &&
		  c.stall_ms == 500 && c.delay_ms == 2 && c.dirs == TB_FAULT_TX && c.seed == 9);
	cr_expect_eq(tb_fault_config_parse("ber=2", &c, &err), TB_ERR_ARG);
	cr_expect_eq(tb_fault_config_parse("bre=0.1", &c, &err), TB_ERR_ARG);
	cr_expect(strstr(err.msg, "bre"));
	cr_expect_eq(tb_fault_config_parse("ber=0.1,ber=0.2", &c, &err), TB_ERR_ARG);
	cr_expect_eq(tb_fault_config_parse("stall=0.1", &c, &err), TB_ERR_ARG);
	cr_expect_eq(tb_fault_config_parse("dir=up", &c, &err), TB_ERR_ARG);
	cr_expect_eq(tb_fault_config_parse("", &c, &err), TB_ERR_ARG);
	cr_expect_eq(tb_fault_config_parse("seed=-1", &c, &err), TB_ERR_ARG);
}

Test(transport_fault, optional_operations_are_forwarded)
{
	struct tb_fault_config cfg = { .ber = 0.5, .seed = 3 };
	struct tb_transport *a, *b, *f;
	struct tb_error err = { 0 };

	pair(&a, &b);
	cr_assert_eq(tb_transport_fault_new(a, true, &cfg, &f, &err), 0);
	cr_expect(strstr(f->name, "fault(a)"));
	cr_expect_eq(tb_transport_discard_input(f, &err), 0, "%s", err.msg);
	/* a socket cannot pulse DTR: the inner driver's answer comes back */
	cr_expect_lt(tb_transport_pulse_reset(f, TB_RESET_LINE_DTR, 10, &err), 0);
	tb_transport_close(f);
	tb_transport_close(b);
}
