/*
 * Protocol tests: CRC, COBS, frames, the streaming decoder under
 * corruption, and every message's encode/decode including malformed input.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tbp.h"

/* Deterministic xorshift so failures reproduce. */
static uint32_t rng_state = 0x12345678;

static uint32_t rnd(void)
{
	uint32_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return rng_state = x;
}

static void fill_random(uint8_t *p, size_t n, int zero_bias)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (zero_bias && rnd() % 4 == 0) ? 0 : (uint8_t)rnd();
}

Test(crc, check_value)
{
	/* The standard check value of CRC-32/IEEE. */
	cr_assert_eq(tbp_crc32(0, "123456789", 9), 0xCBF43926u);
	cr_assert_eq(tbp_crc32(0, "", 0), 0u);
}

Test(crc, incremental_equals_whole)
{
	uint8_t buf[1000];

	fill_random(buf, sizeof(buf), 0);
	uint32_t whole = tbp_crc32(0, buf, sizeof(buf));
	uint32_t part = tbp_crc32(tbp_crc32(0, buf, 333), buf + 333, sizeof(buf) - 333);

	cr_assert_eq(whole, part);
}

/* A bitwise reference, written independently of the nibble table. */
static uint32_t crc_ref(const uint8_t *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
	}
	return ~c;
}

Test(crc, matches_bitwise_reference)
{
	uint8_t buf[257];

	for (size_t n = 0; n < sizeof(buf); n += 7) {
		fill_random(buf, n, 0);
		cr_assert_eq(tbp_crc32(0, buf, n), crc_ref(buf, n), "n=%zu", n);
	}
}

Test(cobs, round_trip_all_lengths)
{
	static uint8_t in[1200], enc[1300], dec[1200];

	for (size_t n = 0; n <= 1100; n++) {
		fill_random(in, n, (int)(n & 1));
		if (n % 3 == 0)
			memset(in, 0x11, n); /* long runs with no zero */
		size_t e = tbp_cobs_encode(in, n, enc, sizeof(enc));

		cr_assert(e > 0 || n == 0, "encode failed n=%zu", n);
		cr_assert_leq(e, TBP_COBS_MAX(n), "n=%zu overhead too big", n);
		cr_assert_null(memchr(enc, 0, e), "zero byte in COBS output n=%zu", n);
		long d = tbp_cobs_decode(enc, e, dec, sizeof(dec));

		cr_assert_eq(d, (long)n, "n=%zu decoded %ld", n, d);
		cr_assert_arr_eq(dec, in, n);
	}
}

Test(cobs, edge_254_255)
{
	uint8_t in[600], enc[700], dec[600];
	size_t lens[] = { 253, 254, 255, 508, 509 };

	for (size_t k = 0; k < 5; k++) {
		size_t n = lens[k];

		memset(in, 0xAB, n);
		size_t e = tbp_cobs_encode(in, n, enc, sizeof(enc));

		cr_assert_eq(tbp_cobs_decode(enc, e, dec, sizeof(dec)), (long)n);
		cr_assert_arr_eq(dec, in, n);
	}
}

Test(cobs, encode_refuses_small_buffer)
{
	uint8_t in[100], out[100];

	memset(in, 1, sizeof(in));
	cr_assert_eq(tbp_cobs_encode(in, sizeof(in), out, sizeof(out)), 0u);
	cr_assert_eq(tbp_cobs_encode(in, 10, out, 0), 0u);
}

Test(cobs, decode_rejects_invalid)
{
	const uint8_t zero_inside[] = { 0x03, 0x11, 0x00 };
	const uint8_t past_end[] = { 0x05, 0x11, 0x22 };
	const uint8_t zero_code[] = { 0x00 };
	uint8_t out[16];

	cr_assert_eq(tbp_cobs_decode(zero_inside, 3, out, sizeof(out)), -1);
	cr_assert_eq(tbp_cobs_decode(past_end, 3, out, sizeof(out)), -1);
	cr_assert_eq(tbp_cobs_decode(zero_code, 1, out, sizeof(out)), -1);
	/* Output buffer too small is an error, not an overflow. */
	const uint8_t ok[] = { 0x04, 1, 2, 3 };

	cr_assert_eq(tbp_cobs_decode(ok, 4, out, 2), -1);
}

/* ---------------------------------------------------------------------- */

static uint8_t dbuf[TBP_WIRE_MAX(TBP_MAX_PAYLOAD)];

Test(frame, round_trip_byte_by_byte)
{
	uint8_t payload[300], wire[TBP_WIRE_MAX(300)];
	struct tbp_decoder d;
	struct tbp_frame f;
	size_t used;
	int got = 0;

	fill_random(payload, sizeof(payload), 1);
	size_t n = tbp_frame_encode(TBP_LOAD_CHUNK, 0xBEEF, payload, sizeof(payload),
				    wire, sizeof(wire));

	cr_assert_gt(n, 0u);
	cr_assert_eq(wire[n - 1], 0);
	tbp_decoder_init(&d, dbuf, sizeof(dbuf));
	for (size_t i = 0; i < n; i++) {
		int rc = tbp_decoder_feed(&d, wire + i, 1, &used, &f);

		cr_assert_eq(used, 1u);
		if (rc == 1) {
			got = 1;
			cr_assert_eq(i, n - 1);
		} else {
			cr_assert_eq(rc, 0);
		}
	}
	cr_assert(got);
	cr_assert_eq(f.type, TBP_LOAD_CHUNK);
	cr_assert_eq(f.seq, 0xBEEF);
	cr_assert_eq(f.len, sizeof(payload));
	cr_assert_arr_eq(f.payload, payload, sizeof(payload));
}

Test(frame, empty_payload_and_limits)
{
	uint8_t wire[TBP_WIRE_MAX(TBP_MAX_PAYLOAD + 1)];
	static uint8_t big[TBP_MAX_PAYLOAD + 1];

	cr_assert_gt(tbp_frame_encode(TBP_HELLO, 1, NULL, 0, wire, sizeof(wire)), 0u);
	cr_assert_eq(tbp_frame_encode(TBP_HELLO, 1, big, sizeof(big), wire, sizeof(wire)), 0u,
		     "payload above TBP_MAX_PAYLOAD must be refused");
	cr_assert_eq(tbp_frame_encode(TBP_HELLO, 1, big, 100, wire, 50), 0u);
}

/* The frame as the specification builds it: COBS of header | payload |
 * CRC with tbp_cobs_encode(), then the delimiter. */
static size_t frame_ref(uint8_t type, uint16_t seq, const uint8_t *payload,
			size_t len, uint8_t *out, size_t cap)
{
	static uint8_t raw[TBP_MAX_PAYLOAD + TBP_FRAME_OVERHEAD];
	uint32_t crc;
	size_t n;

	raw[0] = TBP_VERSION;
	raw[1] = type;
	raw[2] = (uint8_t)seq;
	raw[3] = (uint8_t)(seq >> 8);
	raw[4] = (uint8_t)len;
	raw[5] = (uint8_t)(len >> 8);
	if (len)
		memcpy(raw + 6, payload, len);
	crc = tbp_crc32(0, raw, 6 + len);
	for (int k = 0; k < 4; k++)
		raw[6 + len + k] = (uint8_t)(crc >> (8 * k));
	n = tbp_cobs_encode(raw, len + TBP_FRAME_OVERHEAD, out, cap);
	cr_assert_gt(n, 0u);
	out[n] = 0x00;
	return n + 1;
}

/* Collects what tbp_frame_write() hands over, piece by piece. */
struct sink {
	uint8_t buf[TBP_WIRE_MAX(TBP_MAX_PAYLOAD)];
	size_t len;
	int calls;
	int fail_at;    /* put() call number that fails, 0: none */
};

static int sink_put(void *ctx, const uint8_t *p, size_t n)
{
	struct sink *s = ctx;

	if (++s->calls == s->fail_at)
		return -1;
	cr_assert_leq(s->len + n, sizeof(s->buf));
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

Test(frame, streamed_frames_are_the_specified_bytes)
{
	static uint8_t payload[TBP_MAX_PAYLOAD], ref[TBP_WIRE_MAX(TBP_MAX_PAYLOAD)],
		wire[TBP_WIRE_MAX(TBP_MAX_PAYLOAD)];
	static const size_t caps[] = { 1, 2, 7, 32, 254, 255, 4096 };
	/* Lengths around the COBS block size (254) with the 10 bytes of
	 * header and CRC, plus random ones. */
	size_t lens[64];
	int nl = 0;

	for (size_t l = 0; l <= 8; l++)
		lens[nl++] = l;
	for (size_t l = 240; l <= 250; l++)
		lens[nl++] = l;
	for (size_t l = 492; l <= 500; l++)
		lens[nl++] = l;
	lens[nl++] = TBP_MAX_PAYLOAD;
	while (nl < 64)
		lens[nl++] = rnd() % (TBP_MAX_PAYLOAD + 1);

	for (int li = 0; li < nl; li++) {
		for (int fill = 0; fill < 4; fill++) {
			size_t len = lens[li];
			uint16_t seq = (uint16_t)rnd();

			/* random, zero-heavy, no zeros at all, all zeros */
			if (fill == 0 || fill == 1)
				fill_random(payload, len, fill);
			else
				memset(payload, fill == 2 ? 0x5A : 0, len);
			size_t nref = frame_ref(TBP_INFER_RSP, seq, payload, len,
						ref, sizeof(ref));
			size_t n = tbp_frame_encode(TBP_INFER_RSP, seq, payload, len,
						    wire, sizeof(wire));

			cr_assert_eq(n, nref, "len %zu fill %d: %zu bytes, spec %zu",
				     len, fill, n, nref);
			cr_assert_arr_eq(wire, ref, n, "len %zu fill %d", len, fill);
			cr_assert_eq(tbp_frame_encode(TBP_INFER_RSP, seq, payload, len,
						      wire, nref - 1), 0u,
				     "one byte short must be refused");
			for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
				uint8_t stage[4096];
				struct sink s = { .len = 0 };

				n = tbp_frame_write(TBP_INFER_RSP, seq, payload, len,
						    stage, caps[c], sink_put, &s);
				cr_assert_eq(n, nref, "len %zu cap %zu", len, caps[c]);
				cr_assert_eq(s.len, nref);
				cr_assert_arr_eq(s.buf, ref, nref, "len %zu cap %zu",
						 len, caps[c]);
				cr_assert_eq(s.calls, (int)((nref + caps[c] - 1) / caps[c]),
					     "a put() per full buffer and one at the end");
			}
		}
	}
}

Test(frame, streamed_write_stops_when_the_port_fails)
{
	uint8_t payload[300], stage[16];
	struct sink s = { .len = 0, .fail_at = 3 };

	fill_random(payload, sizeof(payload), 1);
	cr_assert_eq(tbp_frame_write(TBP_HELLO_RSP, 1, payload, sizeof(payload),
				     stage, sizeof(stage), sink_put, &s), 0u);
	cr_assert_eq(s.calls, 3, "no put() after the one that failed");
	cr_assert_eq(tbp_frame_write(TBP_HELLO_RSP, 1, payload, 10, stage, 0,
				     sink_put, &s), 0u, "no staging room");
}

/* Feed everything; collect good frames' seqs and count drops. */
static int decode_all(const uint8_t *w, size_t n, uint16_t *seqs, int max,
		      int *drops)
{
	struct tbp_decoder d;
	struct tbp_frame f;
	size_t used;
	int k = 0;

	*drops = 0;
	tbp_decoder_init(&d, dbuf, sizeof(dbuf));
	while (n > 0) {
		int rc = tbp_decoder_feed(&d, w, n, &used, &f);

		w += used;
		n -= used;
		if (rc == 1 && k < max)
			seqs[k++] = f.seq;
		else if (rc < 0)
			(*drops)++;
	}
	return k;
}

Test(frame, every_single_byte_corruption_is_caught_and_next_frame_survives)
{
	uint8_t payload[64], wire[2 * TBP_WIRE_MAX(64)], bad[sizeof(wire)];
	uint16_t seqs[4];
	int drops;

	fill_random(payload, sizeof(payload), 1);
	size_t a = tbp_frame_encode(TBP_INFER, 10, payload, sizeof(payload), wire, sizeof(wire));
	size_t b = tbp_frame_encode(TBP_INFER, 11, payload, sizeof(payload), wire + a,
				    sizeof(wire) - a);

	for (size_t i = 0; i < a - 1; i++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(bad, wire, a + b);
			bad[i] ^= (uint8_t)(1u << bit);
			int k = decode_all(bad, a + b, seqs, 4, &drops);

			/* The damaged first frame is never delivered; the
			 * second always is. */
			cr_assert_geq(k, 1, "byte %zu bit %d", i, bit);
			cr_assert_eq(seqs[k - 1], 11, "byte %zu bit %d", i, bit);
			for (int m = 0; m < k - 1; m++)
				cr_assert_neq(seqs[m], 10, "corrupt frame accepted (byte %zu bit %d)", i, bit);
		}
	}
}

Test(frame, absurd_length_field_is_dropped)
{
	uint8_t raw[TBP_FRAME_OVERHEAD + 4] = { TBP_VERSION, TBP_HELLO, 1, 0, 0xFF, 0xFF, 1, 2, 3, 4 };
	uint8_t wire[64];
	struct tbp_decoder d;
	struct tbp_frame f;
	size_t used;
	uint32_t crc = tbp_crc32(0, raw, sizeof(raw) - 4);

	memcpy(raw + sizeof(raw) - 4, &crc, 4); /* valid CRC, lying length */
	size_t n = tbp_cobs_encode(raw, sizeof(raw), wire, sizeof(wire));

	wire[n++] = 0;
	tbp_decoder_init(&d, dbuf, sizeof(dbuf));
	cr_assert_eq(tbp_decoder_feed(&d, wire, n, &used, &f), -TBP_DROP_LENGTH);
	cr_assert_eq(d.stats.length, 1u);
}

Test(frame, wrong_version_is_dropped)
{
	uint8_t wire[64];
	struct tbp_decoder d;
	struct tbp_frame f;
	size_t used, n;
	uint8_t raw[TBP_FRAME_OVERHEAD] = { TBP_VERSION + 1, TBP_HELLO, 1, 0, 0, 0 };
	uint32_t crc = tbp_crc32(0, raw, TBP_HDR_SIZE);

	raw[6] = (uint8_t)crc;
	raw[7] = (uint8_t)(crc >> 8);
	raw[8] = (uint8_t)(crc >> 16);
	raw[9] = (uint8_t)(crc >> 24);
	n = tbp_cobs_encode(raw, sizeof(raw), wire, sizeof(wire));
	wire[n++] = 0;
	tbp_decoder_init(&d, dbuf, sizeof(dbuf));
	cr_assert_eq(tbp_decoder_feed(&d, wire, n, &used, &f), -TBP_DROP_VERSION);
}

Test(frame, overflow_resyncs_at_next_delimiter)
{
	uint8_t small[64];
	static uint8_t junk[5000];
	uint8_t wire[TBP_WIRE_MAX(8)];
	struct tbp_decoder d;
	struct tbp_frame f;
	size_t used, pos = 0;
	int rc, drops = 0, good = 0;

	memset(junk, 0x55, sizeof(junk));
	size_t n = tbp_frame_encode(TBP_HELLO, 7, "abcdefgh", 8, wire, sizeof(wire));

	tbp_decoder_init(&d, small, sizeof(small));
	/* 5000 bytes with no delimiter, then a delimiter, then a frame. */
	while (pos < sizeof(junk)) {
		rc = tbp_decoder_feed(&d, junk + pos, sizeof(junk) - pos, &used, &f);
		pos += used;
		drops += rc < 0;
	}
	cr_assert_eq(drops, 1, "one overflow, then discard quietly");
	rc = tbp_decoder_feed(&d, (const uint8_t *)"\0", 1, &used, &f);
	cr_assert_eq(rc, 0);
	pos = 0;
	while (pos < n) {
		rc = tbp_decoder_feed(&d, wire + pos, n - pos, &used, &f);
		pos += used;
		good += rc == 1;
	}
	cr_assert_eq(good, 1);
	cr_assert_eq(f.seq, 7);
}

Test(frame, random_garbage_never_crashes_or_yields_invalid_frames)
{
	static uint8_t junk[200000];
	struct tbp_decoder d;
	struct tbp_frame f;
	size_t used, pos = 0;

	fill_random(junk, sizeof(junk), 0);
	for (size_t i = 0; i < sizeof(junk); i += 97)
		junk[i] = 0;
	tbp_decoder_init(&d, dbuf, sizeof(dbuf));
	while (pos < sizeof(junk)) {
		int rc = tbp_decoder_feed(&d, junk + pos, sizeof(junk) - pos, &used, &f);

		cr_assert_gt(used, 0u);
		pos += used;
		if (rc == 1)
			cr_assert_leq(f.len, TBP_MAX_PAYLOAD);
	}
	/* A CRC-32 lets through about 1 in 4 billion random frames. */
	cr_assert_eq(d.stats.frames, 0u);
}

/* ---------------------------------------------------------------------- */

static struct tbp_hello_rsp sample_caps(void)
{
	struct tbp_hello_rsp m;

	memset(&m, 0, sizeof(m));
	m.proto_version = TBP_VERSION;
	m.flags = TBP_CAP_PER_INFERENCE;
	m.window = 8;
	m.max_payload = 1024;
	m.clock_hz = 48000000;
	m.timer_hz = 1000000000;
	m.max_input = 32768;
	m.stack_size = 65536;
	m.arena_size = 131072;
	strcpy(m.board, "sim");
	strcpy(m.cpu, "x86_64");
	strcpy(m.runner_version, "0.1.0");
	strcpy(m.build_id, "abcdef123456-dirty");
	m.n_workloads = 2;
	for (int i = 0; i < 2; i++) {
		m.workloads[i].id = (uint8_t)(i + 1);
		snprintf(m.workloads[i].name, sizeof(m.workloads[i].name), "wl%d", i);
		m.workloads[i].input_dtype = 1;
		m.workloads[i].output_dtype = 1;
		m.workloads[i].input_size = 490u + (uint32_t)i;
		m.workloads[i].output_size = 12;
		m.workloads[i].arena_size = 16000;
		memset(m.workloads[i].model_hash, 0xA0 + i, TBP_HASH_SIZE);
	}
	return m;
}

static size_t encode_caps(const struct tbp_hello_rsp *m, uint8_t *buf, size_t cap)
{
	struct tbp_writer w;

	tbp_writer_init(&w, buf, cap);
	tbp_hello_rsp_begin(&w, m);
	for (unsigned i = 0; i < m->n_workloads; i++)
		tbp_hello_rsp_add_workload(&w, &m->workloads[i]);
	return tbp_hello_rsp_finish(&w);
}

Test(msg, hello_rsp_round_trip)
{
	struct tbp_hello_rsp m = sample_caps(), d;
	uint8_t buf[1024];
	size_t n = encode_caps(&m, buf, sizeof(buf));

	cr_assert_gt(n, 0u);
	cr_assert_eq(tbp_hello_rsp_decode(buf, n, &d), 0);
	cr_assert_eq(memcmp(&m, &d, sizeof(m)), 0, "decoded struct differs");
}

/* A device writes the fixed part from struct tbp_hello_rsp_head: the same
 * bytes as from the whole struct. */
Test(msg, hello_rsp_head_writes_the_same_bytes)
{
	struct tbp_hello_rsp m = sample_caps();
	struct tbp_hello_rsp_head h;
	struct tbp_writer w;
	uint8_t a[1024], b[1024];
	size_t na = encode_caps(&m, a, sizeof(a)), nb;

	memset(&h, 0x5A, sizeof(h));
	h.proto_version = m.proto_version;
	h.flags = m.flags;
	h.window = m.window;
	h.max_payload = m.max_payload;
	h.clock_hz = m.clock_hz;
	h.timer_hz = m.timer_hz;
	h.max_input = m.max_input;
	h.stack_size = m.stack_size;
	h.arena_size = m.arena_size;
	strcpy(h.board, m.board);
	strcpy(h.cpu, m.cpu);
	strcpy(h.runner_version, m.runner_version);
	strcpy(h.build_id, m.build_id);
	h.n_workloads = m.n_workloads;
	tbp_writer_init(&w, b, sizeof(b));
	tbp_hello_rsp_begin_head(&w, &h);
	for (unsigned i = 0; i < m.n_workloads; i++)
		tbp_hello_rsp_add_workload(&w, &m.workloads[i]);
	nb = tbp_hello_rsp_finish(&w);
	cr_assert_eq(nb, na);
	cr_assert_arr_eq(a, b, na);
}

Test(msg, hello_rsp_every_truncation_and_extension_rejected)
{
	struct tbp_hello_rsp m = sample_caps(), d;
	uint8_t buf[1024];
	size_t n = encode_caps(&m, buf, sizeof(buf));

	for (size_t k = 0; k < n; k++)
		cr_assert_eq(tbp_hello_rsp_decode(buf, k, &d), -1, "prefix %zu accepted", k);
	buf[n] = 0;
	cr_assert_eq(tbp_hello_rsp_decode(buf, n + 1, &d), -1, "trailing byte accepted");
}

Test(msg, hello_rsp_bad_values_rejected)
{
	struct tbp_hello_rsp m, d;
	uint8_t buf[1024];
	size_t n;

	m = sample_caps();
	strcpy(m.board, "bad\x01name");
	n = encode_caps(&m, buf, sizeof(buf));
	cr_assert_eq(tbp_hello_rsp_decode(buf, n, &d), -1, "control character accepted");

	m = sample_caps();
	m.timer_hz = 0;
	n = encode_caps(&m, buf, sizeof(buf));
	cr_assert_eq(tbp_hello_rsp_decode(buf, n, &d), -1, "0 Hz timer accepted");

	m = sample_caps();
	n = encode_caps(&m, buf, sizeof(buf));
	/* Workload count is the byte before the first workload id: claim 200. */
	size_t count_pos = n - 2 * (1 + 1 + 3 + 1 + 1 + 12 + TBP_HASH_SIZE) - 1;

	cr_assert_eq(buf[count_pos], 2);
	buf[count_pos] = 200;
	cr_assert_eq(tbp_hello_rsp_decode(buf, n, &d), -1, "absurd workload count accepted");
}

Test(msg, string_longer_than_limit_rejected)
{
	uint8_t buf[300];
	struct tbp_writer w;
	struct tbp_reader r;
	char dst[TBP_STR_BOARD + 1];
	char longs[100];

	memset(longs, 'x', sizeof(longs) - 1);
	longs[99] = 0;
	tbp_writer_init(&w, buf, sizeof(buf));
	tbp_put_str(&w, longs, 99);
	tbp_reader_init(&r, buf, w.pos);
	tbp_get_str(&r, dst, TBP_STR_BOARD);
	cr_assert_not(r.ok);
	cr_assert_eq(dst[0], 0);
}

Test(msg, infer_round_trip_and_implausible_rejected)
{
	uint8_t out[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	struct tbp_infer_rsp m = {
		.workload_id = 1, .count = 1000, .total_ticks = 5000000000ull,
		.min_ticks = 4000000, .max_ticks = 6000000, .stack_used = 900,
		.stack_size = 65536, .arena_used = 16000, .arena_size = 131072,
		.input_crc = 0xDEADBEEF, .output_len = 12, .output = out,
	}, d;
	uint8_t buf[256];
	size_t n = tbp_infer_rsp_encode(&m, buf, sizeof(buf));

	cr_assert_eq(tbp_infer_rsp_decode(buf, n, &d), 0);
	cr_assert_eq(d.total_ticks, m.total_ticks);
	cr_assert_eq(d.min_ticks, m.min_ticks);
	cr_assert_eq(d.input_crc, m.input_crc);
	cr_assert_arr_eq(d.output, out, 12);
	for (size_t k = 0; k < n; k++)
		cr_assert_eq(tbp_infer_rsp_decode(buf, k, &d), -1, "prefix %zu", k);

	struct tbp_infer_rsp bad = m;

	bad.stack_used = bad.stack_size + 1;
	n = tbp_infer_rsp_encode(&bad, buf, sizeof(buf));
	cr_assert_eq(tbp_infer_rsp_decode(buf, n, &d), -1, "stack used > size accepted");
	bad = m;
	bad.count = 0;
	n = tbp_infer_rsp_encode(&bad, buf, sizeof(buf));
	cr_assert_eq(tbp_infer_rsp_decode(buf, n, &d), -1, "zero count accepted");
	bad = m;
	bad.min_ticks = bad.max_ticks + 1;
	n = tbp_infer_rsp_encode(&bad, buf, sizeof(buf));
	cr_assert_eq(tbp_infer_rsp_decode(buf, n, &d), -1, "min > max accepted");
	bad = m;
	bad.output_len = 200; /* claims more bytes than follow */
	n = tbp_infer_rsp_encode(&m, buf, sizeof(buf));
	buf[n - 12 - 2] = 200;
	cr_assert_eq(tbp_infer_rsp_decode(buf, n, &d), -1, "output length past end accepted");
}

Test(msg, small_messages_round_trip)
{
	uint8_t buf[256], data[100];
	size_t n;

	struct tbp_load_begin lb = { .total = 27648, .crc = 0x01020304 }, lb2;

	n = tbp_load_begin_encode(&lb, buf, sizeof(buf));
	cr_assert_eq(tbp_load_begin_decode(buf, n, &lb2), 0);
	cr_assert_eq(lb2.total, 27648u);
	cr_assert_eq(lb2.crc, 0x01020304u);
	cr_assert_eq(tbp_load_begin_decode(buf, n - 1, &lb2), -1);

	fill_random(data, sizeof(data), 1);
	struct tbp_load_chunk c = { .offset = 4096, .flags = TBP_CHUNK_ACK_REQ,
				    .len = 100, .data = data }, c2;

	n = tbp_load_chunk_encode(&c, buf, sizeof(buf));
	cr_assert_eq(n, TBP_CHUNK_HDR + 100u);
	cr_assert_eq(tbp_load_chunk_decode(buf, n, &c2), 0);
	cr_assert_eq(c2.offset, 4096u);
	cr_assert_eq(c2.len, 100);
	cr_assert_arr_eq(c2.data, data, 100);
	cr_assert_eq(tbp_load_chunk_decode(buf, TBP_CHUNK_HDR, &c2), -1, "empty chunk accepted");

	struct tbp_load_ack a = { .next_offset = 8192, .status = TBP_LOAD_GAP }, a2;

	n = tbp_load_ack_encode(&a, buf, sizeof(buf));
	cr_assert_eq(tbp_load_ack_decode(buf, n, &a2), 0);
	cr_assert_eq(a2.next_offset, 8192u);
	cr_assert_eq(a2.status, TBP_LOAD_GAP);
	buf[4] = 9;
	cr_assert_eq(tbp_load_ack_decode(buf, n, &a2), -1, "unknown ack status accepted");

	struct tbp_infer q = { .workload_id = 1, .flags = 1, .count = 7, .warmups = 3 }, q2;

	n = tbp_infer_encode(&q, buf, sizeof(buf));
	cr_assert_eq(tbp_infer_decode(buf, n, &q2), 0);
	cr_assert_eq(q2.count, 7u);
	cr_assert_eq(q2.warmups, 3u);

	struct tbp_error e = { .code = TBP_E_TOO_LARGE, .detail = 32768 }, e2;

	strcpy(e.message, "input size must be 1..max_input");
	n = tbp_error_encode(&e, buf, sizeof(buf));
	cr_assert_eq(tbp_error_decode(buf, n, &e2), 0);
	cr_assert_eq(e2.code, TBP_E_TOO_LARGE);
	cr_assert_eq(e2.detail, 32768u);
	cr_assert_str_eq(e2.message, e.message);
}

Test(msg, encoders_refuse_small_buffers)
{
	uint8_t buf[4];
	struct tbp_load_begin lb = { 1, 2 };
	struct tbp_infer q = { 1, 0, 1, 0 };

	cr_assert_eq(tbp_load_begin_encode(&lb, buf, sizeof(buf)), 0u);
	cr_assert_eq(tbp_infer_encode(&q, buf, sizeof(buf)), 0u);
}

Test(msg, decoders_survive_random_payloads)
{
	uint8_t buf[600];
	struct tbp_hello_rsp h;
	struct tbp_infer_rsp r;
	struct tbp_error e;
	struct tbp_load_chunk c;

	for (int i = 0; i < 20000; i++) {
		size_t n = rnd() % sizeof(buf);

		fill_random(buf, n, 1);
		(void)tbp_hello_rsp_decode(buf, n, &h);
		if (tbp_infer_rsp_decode(buf, n, &r) == 0)
			cr_assert_leq((size_t)r.output_len, n);
		(void)tbp_error_decode(buf, n, &e);
		if (tbp_load_chunk_decode(buf, n, &c) == 0)
			cr_assert_eq((size_t)c.len + TBP_CHUNK_HDR, n);
	}
}
