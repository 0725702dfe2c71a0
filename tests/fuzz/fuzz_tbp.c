/*
 * fuzz_tbp.c - the tinybench protocol as the host reads it: the streaming
 * frame decoder on arbitrary bytes, every payload decoder on payloads in
 * valid frames (correct CRC, so the decoders are reached), and the host
 * link (tb_link) on whole device conversations.
 */
#include "fuzz.h"
#include "fuzz_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_device.h"
#include "tb_link.h"
#include "tbp.h"

/* ------------------------------------------------------------ tbp-stream */

/*
 * Input: a mode byte, then either wire bytes as they are (mode bit 0
 * clear) or frames before COBS (set): header | payload, '\n'-free records
 * split on 0xF5 0xF5, each given its real length (mode bit 1) and a
 * correct CRC, then encoded -- frames the decoder must take whole, of any
 * length, even over TBP_MAX_PAYLOAD.
 */
static size_t cobs_frame(const uint8_t *p, size_t n, int fix_len, uint8_t *out, size_t cap)
{
	uint8_t *raw = malloc(n + TBP_CRC_SIZE + 8);
	uint32_t crc;
	size_t w;

	if (!raw)
		return 0;
	memcpy(raw, p, n);
	if (n < TBP_HDR_SIZE) {
		memset(raw + n, 0, TBP_HDR_SIZE - n);
		n = TBP_HDR_SIZE;
	}
	if (fix_len) {
		raw[4] = (uint8_t)(n - TBP_HDR_SIZE);
		raw[5] = (uint8_t)((n - TBP_HDR_SIZE) >> 8);
	}
	crc = tbp_crc32(0, raw, n);
	for (int i = 0; i < 4; i++)
		raw[n + i] = (uint8_t)(crc >> (8 * i));
	w = tbp_cobs_encode(raw, n + 4, out, cap);
	free(raw);
	if (w && w < cap)
		out[w++] = 0;
	return w;
}

static void check_frame(const struct tbp_decoder *d, const struct tbp_frame *f)
{
	uint8_t hdr[TBP_HDR_SIZE];
	uint32_t crc;

	FZ_CHECK(f->version == TBP_VERSION, "frame of version %u delivered", f->version);
	FZ_CHECK(f->len <= TBP_MAX_PAYLOAD, "frame with a %u-byte payload delivered "
		 "(protocol ceiling %u)", f->len, TBP_MAX_PAYLOAD);
	FZ_CHECK(f->payload >= d->buf + TBP_HDR_SIZE &&
		 f->payload + f->len + TBP_CRC_SIZE <= d->buf + d->cap,
		 "payload outside the decoder buffer");
	/* The CRC the decoder checked is the one of what it delivers. */
	hdr[0] = f->version;
	hdr[1] = f->type;
	hdr[2] = (uint8_t)f->seq;
	hdr[3] = (uint8_t)(f->seq >> 8);
	hdr[4] = (uint8_t)f->len;
	hdr[5] = (uint8_t)(f->len >> 8);
	crc = tbp_crc32(tbp_crc32(0, hdr, sizeof(hdr)), f->payload, f->len);
	FZ_CHECK(((uint32_t)f->payload[f->len] | (uint32_t)f->payload[f->len + 1] << 8 |
		  (uint32_t)f->payload[f->len + 2] << 16 |
		  (uint32_t)f->payload[f->len + 3] << 24) == crc,
		 "frame delivered with a CRC that does not match");
}

static const char *run_stream(const uint8_t *data, size_t len)
{
	static const size_t caps[] = { 1, 7, 16, 64, 300, TBP_WIRE_MAX(1024),
				       TBP_WIRE_MAX(TBP_MAX_PAYLOAD) };
	static uint8_t wire[TBP_WIRE_MAX(3 * TBP_MAX_PAYLOAD) * 4];
	static uint8_t dbuf[TBP_WIRE_MAX(TBP_MAX_PAYLOAD)];
	struct tbp_decoder d;
	struct tbp_frame f;
	uint8_t mode = len ? data[0] : 0;
	size_t cap = caps[(mode >> 4) % (sizeof(caps) / sizeof(caps[0]))];
	size_t n = 0, pos = 0;
	unsigned frames = 0, drops = 0, worst = 0;

	data += len ? 1 : 0;
	len -= len ? 1 : 0;
	if (mode & 1) {
		/* frames separated by 0xF5 0xF5 */
		size_t a = 0;

		for (size_t i = 0; i <= len; i++) {
			if (i < len && !(i + 1 < len && data[i] == 0xF5 && data[i + 1] == 0xF5))
				continue;
			n += cobs_frame(data + a, i - a, mode & 2, wire + n, sizeof(wire) - n);
			a = i + 2;
			i++;
		}
	} else {
		n = len < sizeof(wire) ? len : sizeof(wire);
		memcpy(wire, data, n);
	}
	tbp_decoder_init(&d, dbuf, cap);
	while (pos < n) {
		size_t chunk = 1 + fz_rand() % (mode & 4 ? 3 : 700), used = 0;
		int rc;

		if (chunk > n - pos)
			chunk = n - pos;
		rc = tbp_decoder_feed(&d, wire + pos, chunk, &used, &f);
		FZ_CHECK(rc >= -TBP_DROP_VERSION && rc <= 1, "feed returned %d", rc);
		FZ_CHECK(used <= chunk && (rc == 0 ? used == chunk : used > 0),
			 "feed used %zu of %zu bytes, returned %d", used, chunk, rc);
		FZ_CHECK(d.len <= d.cap, "decoder holds %zu bytes in %zu", d.len, d.cap);
		pos += used;
		if (rc == 1) {
			check_frame(&d, &f);
			frames++;
		} else if (rc < 0) {
			drops++;
			if ((unsigned)-rc > worst)
				worst = (unsigned)-rc;
		}
	}
	FZ_CHECK(d.stats.frames == frames, "stats count %u frames, %u delivered",
		 d.stats.frames, frames);
	FZ_CHECK(d.stats.overflow + d.stats.cobs + d.stats.short_frames + d.stats.length +
		 d.stats.crc + d.stats.version == drops, "stats disagree with %u drops", drops);
	if (frames && !drops)
		return "frames";
	if (frames)
		return fz_label("frames+drop:%s", tbp_drop_name((int)worst));
	return drops ? fz_label("drop:%s", tbp_drop_name((int)worst)) : "nothing";
}

/* Payloads of every message, valid, for the seeds. */
static size_t seed_payload(unsigned which, uint8_t *buf, size_t cap)
{
	static const uint8_t out[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	struct tbp_writer w;

	switch (which) {
	case 0: {
		struct tbp_hello_rsp h = {
			.proto_version = 1, .flags = TBP_CAP_PER_INFERENCE, .window = 8,
			.max_payload = 1024, .clock_hz = 64000000, .timer_hz = 1000000,
			.max_input = 32768, .stack_size = 8192, .arena_size = 4096,
			.board = "fake", .cpu = "cortex-m4", .runner_version = "0.1.0",
			.build_id = "0123456789ab", .n_workloads = 2,
		};
		struct tbp_workload_info wl = {
			.id = 42, .name = "toy", .input_dtype = 1, .output_dtype = 1,
			.input_size = 490, .output_size = 12, .arena_size = 1000,
		};

		tbp_writer_init(&w, buf, cap);
		tbp_hello_rsp_begin(&w, &h);
		tbp_hello_rsp_add_workload(&w, &wl);
		wl.id = 43;
		wl.input_size = 27648;
		tbp_hello_rsp_add_workload(&w, &wl);
		return tbp_hello_rsp_finish(&w);
	}
	case 1: {
		struct tbp_load_ack a = { .next_offset = 490, .status = TBP_LOAD_DONE };

		return tbp_load_ack_encode(&a, buf, cap);
	}
	case 2: {
		struct tbp_infer_rsp r = {
			.workload_id = 42, .count = 10, .total_ticks = 10000, .min_ticks = 900,
			.max_ticks = 1200, .stack_used = 321, .stack_size = 8192,
			.arena_used = 1000, .arena_size = 4096, .input_crc = 0xDEADBEEF,
			.output_len = sizeof(out), .output = out,
		};

		return tbp_infer_rsp_encode(&r, buf, cap);
	}
	case 3: {
		struct tbp_error e = { .code = TBP_E_INPUT_SIZE, .detail = 490,
				       .message = "input size does not match" };

		return tbp_error_encode(&e, buf, cap);
	}
	case 4: {
		struct tbp_hello h = { .proto_version = 1 };

		return tbp_hello_encode(&h, buf, cap);
	}
	case 5: {
		struct tbp_load_begin b = { .total = 490, .crc = 0x12345678 };

		return tbp_load_begin_encode(&b, buf, cap);
	}
	case 6: {
		struct tbp_load_chunk c = { .offset = 256, .flags = TBP_CHUNK_ACK_REQ,
					    .len = sizeof(out), .data = out };

		return tbp_load_chunk_encode(&c, buf, cap);
	}
	default: {
		struct tbp_infer i = { .workload_id = 42, .flags = TBP_INFER_PER_INFERENCE,
				       .count = 100, .warmups = 10 };

		return tbp_infer_encode(&i, buf, cap);
	}
	}
}

static void seeds_stream(struct fz_corpus *c)
{
	static uint8_t buf[3 * TBP_WIRE_MAX(TBP_MAX_PAYLOAD) + 64];
	uint8_t payload[TBP_MAX_PAYLOAD];
	size_t n = 1, plen;

	/* wire bytes: one frame of each kind, back to back */
	buf[0] = 0x20;
	for (unsigned k = 0; k < 8; k++) {
		plen = seed_payload(k, payload, sizeof(payload));
		n += tbp_frame_encode(k < 4 ? 0x81 + k : k - 3, (uint16_t)k, payload, plen,
				      buf + n, sizeof(buf) - n);
	}
	fz_seed(c, buf, n);
	/* the largest frame, whole, for each decoder size */
	memset(payload, 0xA5, sizeof(payload));
	buf[0] = 0x60;
	n = 1 + tbp_frame_encode(TBP_INFER_RSP, 7, payload, sizeof(payload), buf + 1,
				 sizeof(buf) - 1);
	fz_seed(c, buf, n);
	/* frames before COBS: header | payload, one with a full-size payload */
	buf[0] = 0x63;
	buf[1] = TBP_VERSION;
	buf[2] = TBP_HELLO_RSP;
	buf[3] = 1;
	buf[4] = 0;
	plen = seed_payload(0, buf + 7, sizeof(buf) - 7);
	buf[5] = (uint8_t)plen;
	buf[6] = (uint8_t)(plen >> 8);
	n = 7 + plen;
	buf[n++] = 0xF5;
	buf[n++] = 0xF5;
	memcpy(buf + n, buf + 1, 6);
	memset(buf + n + 6, 0x5A, TBP_MAX_PAYLOAD);
	n += 6 + TBP_MAX_PAYLOAD;
	fz_seed(c, buf, n);
	fz_seed_str(c, "\x00\x01\x02\x00\xff\xff\xff\x00");
}

const struct fz_target fz_tbp_stream = {
	.name = "tbp-stream",
	.what = "protocol/tbp.c: the streaming frame decoder on arbitrary bytes",
	.ci_iterations = 20000,
	.seeds = seeds_stream,
	.run = run_stream,
};

/* ----------------------------------------------------------- tbp-payload */

/* A decoded string field is terminated within its size and printable. */
#define STR_OK(s) (fz_terminated((s), sizeof(s)) && fz_printable(s))

/* Input: a selector byte, then the payload.  The payload goes through its
 * decoder as it is, and through a valid frame and the frame decoder first:
 * the same result either way.  What decodes must re-encode to the same
 * bytes and respect the bounds tbp.h gives. */
static int decode(unsigned which, const uint8_t *p, size_t n, uint8_t *re, size_t *re_n)
{
	size_t cap = TBP_MAX_PAYLOAD + 64;
	int rc;

	switch (which) {
	case 0: {
		static struct tbp_hello_rsp h;
		struct tbp_writer w;

		rc = tbp_hello_rsp_decode(p, n, &h);
		if (rc)
			return rc;
		FZ_CHECK(h.n_workloads <= TBP_MAX_WORKLOADS, "%u workloads", h.n_workloads);
		FZ_CHECK(STR_OK(h.board) && STR_OK(h.cpu) && STR_OK(h.runner_version) &&
			 STR_OK(h.build_id), "HELLO_RSP string not printable or unterminated");
		FZ_CHECK(h.timer_hz && h.window && h.max_payload >= TBP_CHUNK_HDR + 1,
			 "HELLO_RSP accepted with a 0 timer, window or payload");
		tbp_writer_init(&w, re, cap);
		tbp_hello_rsp_begin(&w, &h);
		for (unsigned i = 0; i < h.n_workloads; i++) {
			FZ_CHECK(STR_OK(h.workloads[i].name), "workload name not printable");
			tbp_hello_rsp_add_workload(&w, &h.workloads[i]);
		}
		*re_n = tbp_hello_rsp_finish(&w);
		return 0;
	}
	case 1: {
		struct tbp_load_ack a;

		rc = tbp_load_ack_decode(p, n, &a);
		if (rc)
			return rc;
		FZ_CHECK(a.status <= TBP_LOAD_DONE, "LOAD_ACK status %u", a.status);
		*re_n = tbp_load_ack_encode(&a, re, cap);
		return 0;
	}
	case 2: {
		struct tbp_infer_rsp r;

		rc = tbp_infer_rsp_decode(p, n, &r);
		if (rc)
			return rc;
		FZ_CHECK(r.count >= 1 && r.stack_used <= r.stack_size &&
			 r.arena_used <= r.arena_size && r.min_ticks <= r.max_ticks &&
			 (!r.max_ticks || r.max_ticks <= r.total_ticks),
			 "INFER_RSP accepted with impossible values");
		FZ_CHECK(r.output >= p && r.output + r.output_len == p + n,
			 "INFER_RSP output outside its payload");
		*re_n = tbp_infer_rsp_encode(&r, re, cap);
		return 0;
	}
	case 3: {
		struct tbp_error e;

		rc = tbp_error_decode(p, n, &e);
		if (rc)
			return rc;
		FZ_CHECK(STR_OK(e.message), "ERROR message not printable or unterminated");
		*re_n = tbp_error_encode(&e, re, cap);
		return 0;
	}
	case 4: {
		struct tbp_hello h;

		rc = tbp_hello_decode(p, n, &h);
		if (rc)
			return rc;
		*re_n = tbp_hello_encode(&h, re, cap);
		return 0;
	}
	case 5: {
		struct tbp_load_begin b;

		rc = tbp_load_begin_decode(p, n, &b);
		if (rc)
			return rc;
		*re_n = tbp_load_begin_encode(&b, re, cap);
		return 0;
	}
	case 6: {
		struct tbp_load_chunk c;

		rc = tbp_load_chunk_decode(p, n, &c);
		if (rc)
			return rc;
		FZ_CHECK(c.len >= 1 && c.data == p + TBP_CHUNK_HDR && c.data + c.len == p + n,
			 "LOAD_CHUNK data outside its payload");
		*re_n = tbp_load_chunk_encode(&c, re, cap);
		return 0;
	}
	default: {
		struct tbp_infer i;

		rc = tbp_infer_decode(p, n, &i);
		if (rc)
			return rc;
		*re_n = tbp_infer_encode(&i, re, cap);
		return 0;
	}
	}
}

static const char *const payload_names[] = {
	"HELLO_RSP", "LOAD_ACK", "INFER_RSP", "ERROR", "HELLO", "LOAD_BEGIN", "LOAD_CHUNK",
	"INFER",
};

static const char *run_payload(const uint8_t *data, size_t len)
{
	static uint8_t wire[TBP_WIRE_MAX(TBP_MAX_PAYLOAD)], dbuf[TBP_WIRE_MAX(TBP_MAX_PAYLOAD)];
	static uint8_t re[TBP_MAX_PAYLOAD + 64], re2[TBP_MAX_PAYLOAD + 64];
	unsigned which = len ? data[0] % 8 : 0;
	const uint8_t *p = data + (len ? 1 : 0);
	size_t n = len ? len - 1 : 0, re_n = 0, re2_n = 0, used, wn;
	struct tbp_decoder d;
	struct tbp_frame f;
	int rc, rc2;

	if (n > TBP_MAX_PAYLOAD)
		n = TBP_MAX_PAYLOAD;
	rc = decode(which, p, n, re, &re_n);
	FZ_CHECK(rc == 0 || rc == -1, "%s decoder returned %d", payload_names[which], rc);
	if (rc == 0)
		FZ_CHECK(re_n == n && !memcmp(re, p, n),
			 "%s decoded, but encodes back to %zu different bytes (of %zu)",
			 payload_names[which], re_n, n);
	/* The same payload in a frame, through the stream decoder. */
	wn = tbp_frame_encode(which < 4 ? (uint8_t[]){ 0x81, 0x82, 0x84, 0xFF }[which] :
			      (uint8_t)(which - 3), 9, p, n, wire, sizeof(wire));
	FZ_CHECK(wn > 0, "a %zu-byte payload does not encode", n);
	tbp_decoder_init(&d, dbuf, sizeof(dbuf));
	FZ_CHECK(tbp_decoder_feed(&d, wire, wn, &used, &f) == 1 && used == wn,
		 "a valid frame was not delivered");
	FZ_CHECK(f.len == n && !memcmp(f.payload, p, n), "frame payload differs");
	rc2 = decode(which, f.payload, f.len, re2, &re2_n);
	FZ_CHECK(rc2 == rc, "%s: %d direct, %d through a frame", payload_names[which], rc, rc2);
	return fz_label("%s:%s", payload_names[which], rc ? "rejected" : "ok");
}

static void seeds_payload(struct fz_corpus *c)
{
	uint8_t buf[TBP_MAX_PAYLOAD + 1];

	for (unsigned k = 0; k < 8; k++) {
		buf[0] = (uint8_t)k;
		fz_seed(c, buf, 1 + seed_payload(k, buf + 1, sizeof(buf) - 1));
	}
}

const struct fz_target fz_tbp_payload = {
	.name = "tbp-payload",
	.what = "protocol/tbp.c: every payload decoder, on payloads in valid frames",
	.ci_iterations = 30000,
	.seeds = seeds_payload,
	.run = run_payload,
};

/* -------------------------------------------------------------- tbp-link */

/*
 * Input: the device's side of a conversation as records, each
 *   kind u8 | seq delta i16 | len u16 | len bytes
 * kind 0 puts the bytes on the wire as they are (noise, damaged frames);
 * any other kind is a message type, sent as a valid frame whose seq is
 * the host's first request's plus the delta (the host starts at a seq of
 * its own choosing).  A record is sent when the host reads, after what
 * it wrote so far.  The host runs HELLO, an upload, an INFER, a pipelined
 * INFER + upload (RX_BUFFERED devices) and a RESET; the transport ends
 * when the records do.
 *
 * The same transport records seeds: with a device (the runner core of
 * tests/fake_device.h) it feeds it what the host writes and keeps its
 * replies as records, which it plays back as above.
 */
struct link_pipe {
	struct tb_transport base;
	/* the host's frames, for their seq */
	struct tbp_decoder host;
	uint8_t host_buf[TBP_WIRE_MAX(TBP_MAX_PAYLOAD)];
	uint16_t host_seq;         /* of its first frame */
	int have_host_seq;
	/* playback: records left, wire bytes of the current one */
	const uint8_t *rec;
	size_t rec_len;
	uint8_t wire[TBP_WIRE_MAX(TBP_MAX_PAYLOAD) + 8];
	size_t wire_len, wire_pos;
	unsigned max_chunk;
	/* recording */
	struct fake_dev *dev;
	uint8_t *out;
	size_t out_len, out_cap;
};

static int next_record(struct link_pipe *lp)
{
	const uint8_t *p = lp->rec;
	size_t len;
	int16_t delta;

	if (lp->rec_len < 5)
		return -1;
	delta = (int16_t)(p[1] | p[2] << 8);
	len = (size_t)(p[3] | p[4] << 8);
	if (len > lp->rec_len - 5)
		len = lp->rec_len - 5;
	if (p[0] == 0) {
		if (len > sizeof(lp->wire))
			len = sizeof(lp->wire);
		memcpy(lp->wire, p + 5, len);
		lp->wire_len = len;
	} else {
		lp->wire_len = tbp_frame_encode(p[0], (uint16_t)(lp->host_seq + delta), p + 5,
						len > TBP_MAX_PAYLOAD ? TBP_MAX_PAYLOAD : len,
						lp->wire, sizeof(lp->wire));
	}
	lp->wire_pos = 0;
	lp->rec += 5 + len;
	lp->rec_len -= 5 + len;
	return 0;
}

static int lp_read(struct tb_transport *t, uint8_t *buf, size_t cap, int timeout_ms,
		   struct tb_error *err)
{
	struct link_pipe *lp = (struct link_pipe *)t;
	size_t n;

	if (timeout_ms == 0)
		return 0;
	while (lp->wire_pos == lp->wire_len)
		if (next_record(lp) < 0)
			return tb_error_set(err, TB_ERR_CLOSED, "the device went away (end of input)");
	n = 1 + fz_rand() % lp->max_chunk;
	if (n > lp->wire_len - lp->wire_pos)
		n = lp->wire_len - lp->wire_pos;
	if (n > cap)
		n = cap;
	memcpy(buf, lp->wire + lp->wire_pos, n);
	lp->wire_pos += n;
	return (int)n;
}

/* Recording: the device's new frames as records. */
static void keep_replies(struct link_pipe *lp)
{
	static uint8_t dbuf[TBP_WIRE_MAX(TBP_MAX_PAYLOAD)];
	struct tbp_decoder d;
	struct tbp_frame f;
	size_t pos = 0, used;

	tbp_decoder_init(&d, dbuf, sizeof(dbuf));
	while (pos < lp->dev->out_len) {
		int rc = tbp_decoder_feed(&d, lp->dev->out + pos, lp->dev->out_len - pos, &used, &f);
		int16_t delta = (int16_t)(f.seq - lp->host_seq);

		pos += used;
		if (rc != 1 || lp->out_len + 5 + f.len > lp->out_cap)
			continue;
		lp->out[lp->out_len++] = f.type;
		lp->out[lp->out_len++] = (uint8_t)delta;
		lp->out[lp->out_len++] = (uint8_t)((uint16_t)delta >> 8);
		lp->out[lp->out_len++] = (uint8_t)f.len;
		lp->out[lp->out_len++] = (uint8_t)(f.len >> 8);
		memcpy(lp->out + lp->out_len, f.payload, f.len);
		lp->out_len += f.len;
		lp->rec_len += 5 + f.len;   /* played back to the host at once */
	}
	lp->dev->out_len = 0;
}

static int lp_write(struct tb_transport *t, const uint8_t *buf, size_t len, int timeout_ms,
		    struct tb_error *err)
{
	struct link_pipe *lp = (struct link_pipe *)t;
	struct tbp_frame f;
	size_t pos = 0, used;

	while (pos < len) {
		/* byte by byte: a reply is kept with the seq it answers */
		if (tbp_decoder_feed(&lp->host, buf + pos, 1, &used, &f) == 1 &&
		    !lp->have_host_seq) {
			lp->host_seq = f.seq;
			lp->have_host_seq = 1;
		}
		if (lp->dev && tbr_feed(&lp->dev->r, buf + pos, 1) < 0)
			return TB_ERR_IO;
		if (lp->dev && lp->dev->out_len)
			keep_replies(lp);
		pos++;
	}
	return 0;
}

static void lp_close(struct tb_transport *t)
{
}

static const struct tb_transport_ops lp_ops = {
	.version = TB_TRANSPORT_OPS_VERSION, .name = "fuzz-link", .read = lp_read,
	.write = lp_write, .close = lp_close,
};

static void lp_init(struct link_pipe *lp, const uint8_t *rec, size_t n)
{
	memset(lp, 0, sizeof(*lp));
	tb_transport_init(&lp->base, &lp_ops, "fuzz-link");
	tbp_decoder_init(&lp->host, lp->host_buf, sizeof(lp->host_buf));
	lp->rec = rec;
	lp->rec_len = n;
	lp->max_chunk = 1 + fz_rand() % 512;
}

static void check_rsp(const struct tbp_infer *rq, const struct tbp_infer_rsp *r)
{
	FZ_CHECK(r->workload_id == rq->workload_id && r->count == rq->count,
		 "INFER_RSP for another request accepted");
	FZ_CHECK(r->stack_used <= r->stack_size && r->arena_used <= r->arena_size &&
		 r->output_len <= TBP_MAX_PAYLOAD, "INFER_RSP out of bounds accepted");
}

static const char *step(const char *what, int rc, const struct tb_error *err)
{
	FZ_CHECK(rc <= 0, "%s returned %d", what, rc);
	if (rc == 0)
		return NULL;
	FZ_CHECK(err->msg[0], "%s failed (%d) without a message", what, rc);
	fz_note("%s: %s", what, err->msg);
	return fz_label("%s:%s", what, tb_strerror(rc));
}

static const struct tbp_infer link_rq = { .workload_id = 42, .count = 3, .warmups = 1,
					  .flags = TBP_INFER_PER_INFERENCE };

/* The host's side: every request the link makes. */
static const char *converse(struct tb_transport *t, int hello_ms)
{
	static uint8_t input[490];
	struct tb_link_config cfg = { .hello_timeout_ms = hello_ms, .hello_attempts = 2,
				      .ack_timeout_ms = hello_ms, .max_retries = 3 };
	struct tb_link *l = NULL;
	struct tb_error err = { 0 };
	struct tbp_hello_rsp caps;
	struct tbp_infer_rsp rsp;
	const char *out;
	int rc;

	for (unsigned i = 0; i < sizeof(input); i++)
		input[i] = (uint8_t)(i * 7);
	FZ_CHECK(tb_link_new(t, &cfg, &l, &err) == 0, "tb_link_new: %s", err.msg);
	rc = tb_link_hello(l, &caps, &err);
	if ((out = step("hello", rc, &err)))
		goto done;
	FZ_CHECK(caps.n_workloads <= TBP_MAX_WORKLOADS && STR_OK(caps.board) &&
		 caps.board[0] && caps.window >= 1 && caps.window <= 64 &&
		 caps.max_payload <= TBP_MAX_PAYLOAD && caps.timer_hz,
		 "HELLO accepted with capabilities out of bounds");
	rc = tb_link_upload(l, input, sizeof(input), NULL, &err);
	if ((out = step("upload", rc, &err)))
		goto done;
	rc = tb_link_infer(l, &link_rq, 1000, &rsp, &err);
	if ((out = step("infer", rc, &err)))
		goto done;
	check_rsp(&link_rq, &rsp);
	if (caps.flags & TBP_CAP_RX_BUFFERED) {
		rc = tb_link_infer_then_upload(l, &link_rq, 1000, &rsp, input, sizeof(input),
					       NULL, &err);
		if ((out = step("pipelined", rc, &err)))
			goto done;
		check_rsp(&link_rq, &rsp);
	}
	rc = tb_link_reset(l, 1000, &err);
	if ((out = step("reset", rc, &err)))
		goto done;
	out = caps.flags & TBP_CAP_RX_BUFFERED ? "all ok (pipelined)" : "all ok";
done:
	tb_link_free(l);
	return out;
}

static const char *run_link(const uint8_t *data, size_t len)
{
	static struct link_pipe lp;

	lp_init(&lp, data, len);
	return converse(&lp.base, 1000);
}

/* A conversation with the runner core, recorded; with and without
 * RX_BUFFERED. */
static void record_session(struct fz_corpus *c, int buffered)
{
	static struct link_pipe lp;
	static struct fake_dev dev;
	static uint8_t rec[1 << 16];
	const char *out;

	lp_init(&lp, NULL, 0);
	fake_dev_init(&dev);
	if (buffered)
		dev.r.cfg.caps |= TBP_CAP_RX_BUFFERED;
	lp.dev = &dev;
	lp.rec = rec;
	lp.out = rec;
	lp.out_cap = sizeof(rec);
	out = converse(&lp.base, 1000);
	if (strncmp(out, "all ok", 6))
		fprintf(stderr, "tb_fuzz: tbp-link: recording a seed failed: %s\n", out);
	else
		fz_seed(c, rec, lp.out_len);
}

static void seeds_link(struct fz_corpus *c)
{
	record_session(c, 0);
	record_session(c, 1);
}

const struct fz_target fz_tbp_link = {
	.name = "tbp-link",
	.what = "harness/session/tb_link.c: the host link on whole device conversations",
	.ci_iterations = 6000,
	.seeds = seeds_link,
	.run = run_link,
};
