/*
 * Runner core tests: the real core behind a fake port, driven frame by
 * frame as a host would, including the abuse a host (or line noise) can do.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fake_device.h"

static struct fake_dev dev;
static uint16_t seq = 100;
static uint8_t dbuf[TBP_WIRE_MAX(TBP_MAX_PAYLOAD)];

static void setup(void)
{
	fake_dev_init(&dev);
}

TestSuite(tbr, .init = setup);

static void send(uint8_t type, const void *payload, size_t len)
{
	uint8_t wire[TBP_WIRE_MAX(TBP_MAX_PAYLOAD)];
	size_t n = tbp_frame_encode(type, ++seq, payload, len, wire, sizeof(wire));

	cr_assert_gt(n, 0u);
	cr_assert_eq(tbr_feed(&dev.r, wire, n), 0);
}

/* Decode the replies written so far; returns how many. */
static int replies(struct tbp_frame *f, int max)
{
	static uint8_t copy[8][TBP_MAX_PAYLOAD];
	struct tbp_decoder d;
	struct tbp_frame fr;
	size_t pos = 0, used;
	int k = 0;

	tbp_decoder_init(&d, dbuf, sizeof(dbuf));
	while (pos < dev.out_len) {
		int rc = tbp_decoder_feed(&d, dev.out + pos, dev.out_len - pos, &used, &fr);

		pos += used;
		cr_assert_geq(rc, 0, "device sent a bad frame");
		if (rc == 1 && k < max) {
			memcpy(copy[k], fr.payload, fr.len);
			f[k] = fr;
			f[k].payload = copy[k];
			k++;
		}
	}
	dev.out_len = 0;
	return k;
}

static struct tbp_frame one_reply(uint8_t type)
{
	struct tbp_frame f[8];
	int n = replies(f, 8);

	cr_assert_eq(n, 1, "expected one reply, got %d", n);
	cr_assert_eq(f[0].type, type, "reply type 0x%02x, expected 0x%02x", f[0].type, type);
	cr_assert_eq(f[0].seq, seq, "reply does not echo the request's seq");
	return f[0];
}

static uint16_t expect_error(void)
{
	struct tbp_frame f = one_reply(TBP_ERROR);
	struct tbp_error e;

	cr_assert_eq(tbp_error_decode(f.payload, f.len, &e), 0);
	return e.code;
}

static void load(const uint8_t *data, uint32_t len, uint32_t chunk)
{
	uint8_t p[TBP_MAX_PAYLOAD];
	struct tbp_load_begin b = { len, tbp_crc32(0, data, len) };
	struct tbp_load_ack a;
	struct tbp_frame f;

	send(TBP_LOAD_BEGIN, p, tbp_load_begin_encode(&b, p, sizeof(p)));
	one_reply(TBP_LOAD_ACK);
	for (uint32_t off = 0; off < len; off += chunk) {
		struct tbp_load_chunk c = { off, 0, (uint16_t)(len - off < chunk ? len - off : chunk),
					    data + off };

		send(TBP_LOAD_CHUNK, p, tbp_load_chunk_encode(&c, p, sizeof(p)));
	}
	f = one_reply(TBP_LOAD_ACK);
	cr_assert_eq(tbp_load_ack_decode(f.payload, f.len, &a), 0);
	cr_assert_eq(a.status, TBP_LOAD_DONE);
	cr_assert_eq(a.next_offset, len);
}

Test(tbr, hello_describes_the_device)
{
	uint8_t p[16];
	struct tbp_hello h = { TBP_VERSION };
	struct tbp_hello_rsp caps;
	struct tbp_frame f;

	send(TBP_HELLO, p, tbp_hello_encode(&h, p, sizeof(p)));
	f = one_reply(TBP_HELLO_RSP);
	cr_assert_eq(tbp_hello_rsp_decode(f.payload, f.len, &caps), 0);
	cr_assert_str_eq(caps.board, "fake");
	cr_assert_eq(caps.timer_hz, 1000000u);
	cr_assert_eq(caps.max_input, FAKE_IN_MAX);
	cr_assert_eq(caps.n_workloads, 2);
	cr_assert_str_eq(caps.workloads[0].name, "toy");
	cr_assert_eq(caps.workloads[0].input_size, 490u);
	/* The device must accept any frame it advertises. */
	cr_assert_leq(TBP_WIRE_MAX(caps.max_payload), sizeof(dev.rx));
	cr_assert_geq(caps.max_payload, 900);
}

Test(tbr, load_and_infer)
{
	uint8_t in[490], p[64];
	struct tbp_infer q = { .workload_id = 42, .flags = TBP_INFER_PER_INFERENCE,
			       .count = 10, .warmups = 2 };
	struct tbp_infer_rsp r;
	struct tbp_frame f;
	uint32_t sum = 0;

	for (int i = 0; i < 490; i++)
		sum += in[i] = (uint8_t)(i * 3);
	load(in, sizeof(in), 100);
	cr_assert_arr_eq(dev.input, in, sizeof(in));
	send(TBP_INFER, p, tbp_infer_encode(&q, p, sizeof(p)));
	f = one_reply(TBP_INFER_RSP);
	cr_assert_eq(tbp_infer_rsp_decode(f.payload, f.len, &r), 0);
	cr_assert_eq(r.count, 10u);
	/* Each ticks() call advances 1000; per inference two reads. */
	cr_assert_eq(r.min_ticks, 1000u);
	cr_assert_eq(r.max_ticks, 1000u);
	cr_assert_eq(r.total_ticks, 21000u, "total %llu", (unsigned long long)r.total_ticks);
	cr_assert_eq(r.stack_used, 321u);
	cr_assert_eq(r.arena_used, 1000u, "arena high-water from the paint");
	cr_assert_eq(r.input_crc, tbp_crc32(0, in, sizeof(in)));
	cr_assert_eq(r.output_len, 12);
	for (int i = 0; i < 12; i++)
		cr_assert_eq(r.output[i], (uint8_t)(sum + i * 7));
}

Test(tbr, gap_is_reported_once_then_resume)
{
	uint8_t in[490], p[TBP_MAX_PAYLOAD];
	struct tbp_load_begin b = { 490, 0 };
	struct tbp_load_ack a;
	struct tbp_frame f[8];

	memset(in, 7, sizeof(in));
	b.crc = tbp_crc32(0, in, sizeof(in));
	send(TBP_LOAD_BEGIN, p, tbp_load_begin_encode(&b, p, sizeof(p)));
	one_reply(TBP_LOAD_ACK);
	struct tbp_load_chunk c0 = { 0, 0, 100, in };
	struct tbp_load_chunk c2 = { 200, 0, 100, in + 200 };
	struct tbp_load_chunk c3 = { 300, 0, 100, in + 300 };

	send(TBP_LOAD_CHUNK, p, tbp_load_chunk_encode(&c0, p, sizeof(p)));
	/* chunk at 100 "lost" */
	send(TBP_LOAD_CHUNK, p, tbp_load_chunk_encode(&c2, p, sizeof(p)));
	send(TBP_LOAD_CHUNK, p, tbp_load_chunk_encode(&c3, p, sizeof(p)));
	cr_assert_eq(replies(f, 8), 1, "one GAP for the gap, not one per chunk");
	cr_assert_eq(tbp_load_ack_decode(f[0].payload, f[0].len, &a), 0);
	cr_assert_eq(a.status, TBP_LOAD_GAP);
	cr_assert_eq(a.next_offset, 100u);
	/* An ack request is always answered, even for the same gap. */
	c3.flags = TBP_CHUNK_ACK_REQ;
	send(TBP_LOAD_CHUNK, p, tbp_load_chunk_encode(&c3, p, sizeof(p)));
	cr_assert_eq(replies(f, 8), 1);
	/* Resume from 100. */
	for (uint32_t off = 100; off < 490; off += 100) {
		struct tbp_load_chunk c = { off, 0, (uint16_t)(490 - off < 100 ? 490 - off : 100),
					    in + off };

		send(TBP_LOAD_CHUNK, p, tbp_load_chunk_encode(&c, p, sizeof(p)));
	}
	cr_assert_eq(replies(f, 8), 1);
	cr_assert_eq(tbp_load_ack_decode(f[0].payload, f[0].len, &a), 0);
	cr_assert_eq(a.status, TBP_LOAD_DONE);
}

Test(tbr, refusals)
{
	uint8_t p[TBP_MAX_PAYLOAD], in[490] = { 0 };
	struct tbp_infer q = { .workload_id = 42, .count = 1 };
	struct tbp_load_begin big = { FAKE_IN_MAX + 1, 0 };
	struct tbp_load_chunk c = { 0, 0, 10, in };

	send(TBP_INFER, p, tbp_infer_encode(&q, p, sizeof(p)));
	cr_assert_eq(expect_error(), TBP_E_NO_INPUT);
	send(TBP_LOAD_BEGIN, p, tbp_load_begin_encode(&big, p, sizeof(p)));
	cr_assert_eq(expect_error(), TBP_E_TOO_LARGE);
	send(TBP_LOAD_CHUNK, p, tbp_load_chunk_encode(&c, p, sizeof(p)));
	cr_assert_eq(expect_error(), TBP_E_NO_LOAD);
	send(0x33, p, 0);
	cr_assert_eq(expect_error(), TBP_E_UNKNOWN_TYPE);
	send(TBP_INFER, p, 3);
	cr_assert_eq(expect_error(), TBP_E_BAD_PAYLOAD);

	load(in, 100, 50); /* wrong size for the workload */
	send(TBP_INFER, p, tbp_infer_encode(&q, p, sizeof(p)));
	cr_assert_eq(expect_error(), TBP_E_INPUT_SIZE);
	load(in, 490, 200);
	q.workload_id = 9;
	send(TBP_INFER, p, tbp_infer_encode(&q, p, sizeof(p)));
	cr_assert_eq(expect_error(), TBP_E_UNKNOWN_WORKLOAD);
	q.workload_id = 42;
	q.count = 0;
	send(TBP_INFER, p, tbp_infer_encode(&q, p, sizeof(p)));
	cr_assert_eq(expect_error(), TBP_E_BAD_ARG);

	/* A chunk running past the declared size. */
	struct tbp_load_begin b = { 20, 0 };
	struct tbp_load_chunk over = { 0, 0, 30, in };

	send(TBP_LOAD_BEGIN, p, tbp_load_begin_encode(&b, p, sizeof(p)));
	one_reply(TBP_LOAD_ACK);
	send(TBP_LOAD_CHUNK, p, tbp_load_chunk_encode(&over, p, sizeof(p)));
	cr_assert_eq(expect_error(), TBP_E_BAD_ARG);
}

Test(tbr, input_crc_mismatch_is_refused)
{
	uint8_t p[TBP_MAX_PAYLOAD], in[490] = { 1 };
	struct tbp_load_begin b = { 490, 12345 };
	struct tbp_load_chunk c = { 0, 0, 490, in };
	struct tbp_infer q = { .workload_id = 42, .count = 1 };

	send(TBP_LOAD_BEGIN, p, tbp_load_begin_encode(&b, p, sizeof(p)));
	one_reply(TBP_LOAD_ACK);
	send(TBP_LOAD_CHUNK, p, tbp_load_chunk_encode(&c, p, sizeof(p)));
	cr_assert_eq(expect_error(), TBP_E_INPUT_CRC);
	send(TBP_INFER, p, tbp_infer_encode(&q, p, sizeof(p)));
	cr_assert_eq(expect_error(), TBP_E_NO_INPUT, "a failed load leaves no input");
}

Test(tbr, noise_between_frames_is_ignored)
{
	uint8_t p[16], noise[300];
	struct tbp_hello h = { TBP_VERSION };

	for (int i = 0; i < 300; i++)
		noise[i] = (uint8_t)(i * 37 + 1);
	noise[150] = 0;
	cr_assert_eq(tbr_feed(&dev.r, noise, sizeof(noise)), 0);
	cr_assert_eq(tbr_feed(&dev.r, (const uint8_t *)"\0", 1), 0);
	send(TBP_HELLO, p, tbp_hello_encode(&h, p, sizeof(p)));
	one_reply(TBP_HELLO_RSP);
	cr_assert_geq(dev.r.stats.frames_dropped, 1u);
}

Test(tbr, oversized_frame_is_dropped_not_overflowed)
{
	static uint8_t junk[3 * sizeof(dev.rx)];
	uint8_t p[16];
	struct tbp_hello h = { TBP_VERSION };

	memset(junk, 0x42, sizeof(junk));
	cr_assert_eq(tbr_feed(&dev.r, junk, sizeof(junk)), 0);
	cr_assert_eq(tbr_feed(&dev.r, (const uint8_t *)"\0", 1), 0);
	send(TBP_HELLO, p, tbp_hello_encode(&h, p, sizeof(p)));
	one_reply(TBP_HELLO_RSP);
}

Test(tbr, init_rejects_bad_config)
{
	struct tbr r;
	struct tbr_config c = dev.r.cfg;

	c.rx_cap = 8;
	cr_assert_eq(tbr_init(&r, &c, &dev.port), -1);
	c = dev.r.cfg;
	c.timer_hz = 0;
	cr_assert_eq(tbr_init(&r, &c, &dev.port), -1);
	c = dev.r.cfg;
	c.arena = NULL;
	cr_assert_eq(tbr_init(&r, &c, &dev.port), -1);
}
