/*
 * Host link tests: tb_link against the real runner core in-process, over
 * a loopback transport that can drop and corrupt bytes in either
 * direction.  Checks the windowed upload (wire cost, round trips, recovery
 * from loss), reply validation and the handling of a lying device.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_device.h"
#include "tb_link.h"
#include "tb_transport.h"

struct loop {
	struct tb_transport base;
	struct fake_dev dev;
	size_t pos;               /* read position in dev.out */
	uint32_t rng;
	unsigned drop_in_ppm;     /* host -> device byte loss, per million */
	unsigned flip_out_ppm;    /* device -> host byte corruption */
	int mute;                 /* device hears but never answers */
};

static uint32_t rnd(struct loop *l)
{
	l->rng ^= l->rng << 13;
	l->rng ^= l->rng >> 17;
	l->rng ^= l->rng << 5;
	return l->rng;
}

static int loop_read(struct tb_transport *t, uint8_t *buf, size_t cap,
		     int timeout_ms, struct tb_error *err)
{
	struct loop *l = (struct loop *)t;
	size_t n = l->dev.out_len - l->pos;

	(void)err;
	if (n == 0 || l->mute) {
		/* Nothing will ever arrive without a write: wait a little
		 * so the caller's deadline passes without a busy loop. */
		usleep(1000 * (timeout_ms < 2 ? timeout_ms : 2));
		return 0;
	}
	if (n > cap)
		n = cap;
	memcpy(buf, l->dev.out + l->pos, n);
	for (size_t i = 0; i < n; i++)
		if (l->flip_out_ppm && rnd(l) % 1000000 < l->flip_out_ppm)
			buf[i] ^= 0x24;
	l->pos += n;
	if (l->pos == l->dev.out_len)
		l->pos = l->dev.out_len = 0;
	return (int)n;
}

static int loop_write(struct tb_transport *t, const uint8_t *buf, size_t len,
		      int timeout_ms, struct tb_error *err)
{
	struct loop *l = (struct loop *)t;

	(void)timeout_ms;
	(void)err;
	for (size_t i = 0; i < len; i++) {
		if (l->drop_in_ppm && rnd(l) % 1000000 < l->drop_in_ppm)
			continue;
		if (tbr_feed(&l->dev.r, buf + i, 1) < 0)
			return TB_ERR_IO;
	}
	return 0;
}

static void loop_close(struct tb_transport *t)
{
	(void)t;
}

static const struct tb_transport_ops loop_ops = {
	.version = 1,
	.name = "loop",
	.read = loop_read,
	.write = loop_write,
	.close = loop_close,
};

static struct loop *lp;
static struct tb_link *link_;
static struct tb_error err;

static void setup(void)
{
	struct tb_link_config cfg = { .hello_timeout_ms = 50, .ack_timeout_ms = 30,
				      .max_retries = 50 };

	lp = calloc(1, sizeof(*lp));
	fake_dev_init(&lp->dev);
	lp->rng = 0xC0FFEE;
	tb_transport_init(&lp->base, &loop_ops, "loop");
	cr_assert_eq(tb_link_new(&lp->base, &cfg, &link_, &err), 0);
}

static void teardown(void)
{
	tb_link_free(link_);
	free(lp);
}

TestSuite(link, .init = setup, .fini = teardown);

static void hello(void)
{
	struct tbp_hello_rsp caps;

	cr_assert_eq(tb_link_hello(link_, &caps, &err), 0, "%s", err.msg);
	cr_assert_str_eq(caps.board, "fake");
}

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131 + seed + (i >> 8));
}

Test(link, upload_vww_size_costs_under_1_05_wire_bytes_per_byte)
{
	static uint8_t data[27648];
	struct tb_upload_stats st;

	hello();
	pattern(data, sizeof(data), 1);
	cr_assert_eq(tb_link_upload(link_, data, sizeof(data), &st, &err), 0, "%s", err.msg);
	cr_assert_arr_eq(lp->dev.input, data, sizeof(data));
	double ratio = (double)(st.wire_in + st.wire_out) / sizeof(data);

	cr_assert_leq(ratio, 1.05, "wire ratio %.4f", ratio);
	cr_assert_leq(st.round_trips, 20u, "round trips %u", st.round_trips);
	cr_assert_eq(st.resent_chunks, 0u);
}

Test(link, upload_survives_lossy_link_both_ways)
{
	static uint8_t data[27648];
	struct tb_upload_stats st;

	hello();
	lp->drop_in_ppm = 300;   /* ~8 bytes lost per upload */
	lp->flip_out_ppm = 2000; /* replies damaged now and then */
	for (unsigned k = 0; k < 5; k++) {
		pattern(data, sizeof(data), k);
		cr_assert_eq(tb_link_upload(link_, data, sizeof(data), &st, &err), 0,
			     "upload %u: %s", k, err.msg);
		cr_assert_arr_eq(lp->dev.input, data, sizeof(data));
	}
	struct tb_link_stats ls;

	tb_link_get_stats(link_, &ls);
	cr_assert_gt(ls.timeouts + ls.frames_dropped, 0u, "the faults were not exercised");
}

Test(link, infer_round_trip_and_validation)
{
	uint8_t in[490];
	struct tbp_infer q = { .workload_id = 42, .flags = TBP_INFER_PER_INFERENCE,
			       .count = 5, .warmups = 1 };
	struct tbp_infer_rsp r;
	uint32_t sum = 0;

	hello();
	pattern(in, sizeof(in), 3);
	for (int i = 0; i < 490; i++)
		sum += in[i];
	cr_assert_eq(tb_link_upload(link_, in, sizeof(in), NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_link_infer(link_, &q, 1000, &r, &err), 0, "%s", err.msg);
	cr_assert_eq(r.count, 5u);
	cr_assert_eq(r.output[3], (uint8_t)(sum + 21));
}

Test(link, device_error_is_reported_with_its_reason)
{
	uint8_t in[100] = { 0 };
	struct tbp_infer q = { .workload_id = 42, .count = 1 };
	struct tbp_infer_rsp r;

	hello();
	cr_assert_eq(tb_link_upload(link_, in, sizeof(in), NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_link_infer(link_, &q, 1000, &r, &err), TB_ERR_DEVICE);
	cr_assert(strstr(err.msg, "input size"), "message: %s", err.msg);
}

Test(link, silent_device_times_out_on_hello)
{
	struct tbp_hello_rsp caps;

	lp->mute = 1;
	cr_assert_eq(tb_link_hello(link_, &caps, &err), TB_ERR_TIMEOUT);
	cr_assert(strstr(err.msg, "HELLO"), "message: %s", err.msg);
}

Test(link, upload_before_hello_and_too_large_refused)
{
	static uint8_t big[FAKE_IN_MAX + 1];

	cr_assert_eq(tb_link_upload(link_, big, 10, NULL, &err), TB_ERR_ARG);
	hello();
	cr_assert_eq(tb_link_upload(link_, big, sizeof(big), NULL, &err), TB_ERR_ARG);
	cr_assert(strstr(err.msg, "accepts"), "message: %s", err.msg);
}

Test(link, caps_validation_rejects_nonsense)
{
	struct tbp_hello_rsp c;

	hello();
	c = *tb_link_caps(link_);
	c.workloads[0].input_size = c.max_input + 1;
	cr_assert_eq(tb_link_check_caps(&c, &err), TB_ERR_PROTO);
	c = *tb_link_caps(link_);
	c.workloads[1].id = c.workloads[0].id;
	cr_assert_eq(tb_link_check_caps(&c, &err), TB_ERR_PROTO);
	c = *tb_link_caps(link_);
	c.proto_version = 99;
	cr_assert_eq(tb_link_check_caps(&c, &err), TB_ERR_UNSUPPORTED);
}

Test(link, stale_input_crc_is_caught)
{
	uint8_t in[490];
	struct tbp_infer q = { .workload_id = 42, .count = 1 };
	struct tbp_infer_rsp r;

	hello();
	pattern(in, sizeof(in), 9);
	cr_assert_eq(tb_link_upload(link_, in, sizeof(in), NULL, &err), 0, "%s", err.msg);
	/* Change the device's input behind the host's back. */
	lp->dev.input[10] ^= 1;
	cr_assert_eq(tb_link_infer(link_, &q, 1000, &r, &err), TB_ERR_PROTO);
	cr_assert(strstr(err.msg, "CRC"), "message: %s", err.msg);
}

/* Pipelined (docs/PROTOCOL.md, "Pipelined uploads"): the INFER's reply is
 * for the input that was there, and the next one is on the device after. */
Test(link, infer_then_upload_overlaps_the_next_input)
{
	static uint8_t a[490], b[27648];
	struct tbp_infer q = { .workload_id = 42, .count = 2, .warmups = 0 };
	struct tbp_infer qb = { .workload_id = 43, .count = 1 };
	struct tbp_infer_rsp r;
	struct tb_upload_stats st;
	uint32_t sa = 0, sb = 0;

	hello();
	pattern(a, sizeof(a), 3);
	pattern(b, sizeof(b), 4);
	for (size_t i = 0; i < sizeof(a); i++)
		sa += a[i];
	for (size_t i = 0; i < sizeof(b); i++)
		sb += b[i];
	cr_assert_eq(tb_link_upload(link_, a, sizeof(a), NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_link_infer_then_upload(link_, &q, 1000, &r, b, sizeof(b), &st, &err), 0,
		     "%s", err.msg);
	cr_expect_eq(r.count, 2u);
	cr_expect_eq(r.output[3], (uint8_t)(sa + 21), "the reply is for the first input");
	cr_assert_arr_eq(lp->dev.input, b, sizeof(b), "the second input is on the device");
	cr_expect_geq(st.wire_out, sizeof(b), "both counted");
	cr_assert_eq(tb_link_infer(link_, &qb, 1000, &r, &err), 0, "%s", err.msg);
	cr_expect_eq(r.output[1], (uint8_t)(sb + 7));
}

Test(link, infer_then_upload_on_a_lossy_link_fails_cleanly_or_succeeds)
{
	static uint8_t a[490], b[490];
	struct tbp_infer q = { .workload_id = 42, .count = 1 };
	struct tbp_infer_rsp r;
	int ok = 0;

	hello();
	lp->drop_in_ppm = 500;
	lp->flip_out_ppm = 3000;
	pattern(a, sizeof(a), 1);
	cr_assert_eq(tb_link_upload(link_, a, sizeof(a), NULL, &err), 0, "%s", err.msg);
	for (unsigned k = 0; k < 40; k++) {
		uint32_t s = 0;

		pattern(b, sizeof(b), k + 2);
		for (size_t i = 0; i < sizeof(a); i++)
			s += a[i];
		if (tb_link_infer_then_upload(link_, &q, 200, &r, b, sizeof(b), NULL, &err) == 0) {
			cr_assert_eq(r.output[3], (uint8_t)(s + 21), "input %u", k);
			cr_assert_arr_eq(lp->dev.input, b, sizeof(b));
			ok++;
		} else {
			/* What the host does then: send the next input again. */
			cr_assert_eq(tb_link_upload(link_, b, sizeof(b), NULL, &err), 0, "%s",
				     err.msg);
		}
		memcpy(a, b, sizeof(a));
	}
	cr_expect_gt(ok, 20, "%d of 40 pipelined exchanges succeeded", ok);
}
