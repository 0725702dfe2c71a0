/*
 * tb_link.c - host end of the protocol: requests, validated replies and
 * the windowed upload.  See tb_link.h and docs/PROTOCOL.md.
 */
#include "tb_link.h"
#include "tb_transport.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RX_CAP TBP_WIRE_MAX(TBP_MAX_PAYLOAD)

struct tb_link {
	struct tb_transport *t;
	struct tb_link_config cfg;
	struct tbp_decoder dec;
	uint8_t rxbuf[RX_CAP];
	/* bytes read from the transport, not yet fed to the decoder */
	uint8_t pend[4096];
	size_t pend_len;
	size_t pend_pos;
	/* last good frame, copied out of the decoder buffer */
	struct tbp_frame frame;
	uint8_t frame_payload[TBP_MAX_PAYLOAD];
	uint8_t payload[TBP_MAX_PAYLOAD];
	uint8_t tx[TBP_WIRE_MAX(TBP_MAX_PAYLOAD)];
	uint16_t seq;
	int have_caps;
	struct tbp_hello_rsp caps;
	uint32_t input_crc;
	uint32_t input_len;
	int have_input;
	struct tb_link_stats stats;
	/* tb_link_infer_then_upload(): the INFER_RSP output, kept while the
	 * upload's acks arrive */
	uint8_t infer_output[TBP_MAX_PAYLOAD];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tb_link_new(struct tb_transport *t, const struct tb_link_config *cfg,
		struct tb_link **out, struct tb_error *err)
{
	struct tb_link *l;

	*out = NULL;
	if (!t)
		return tb_error_set(err, TB_ERR_ARG, "link: no transport");
	l = calloc(1, sizeof(*l));
	if (!l)
		return tb_error_set(err, TB_ERR_NOMEM, "link: out of memory");
	l->t = t;
	if (cfg)
		l->cfg = *cfg;
	if (l->cfg.hello_timeout_ms <= 0)
		l->cfg.hello_timeout_ms = 1000;
	if (l->cfg.hello_attempts <= 0)
		l->cfg.hello_attempts = 3;
	if (l->cfg.ack_timeout_ms <= 0)
		l->cfg.ack_timeout_ms = 1000;
	if (l->cfg.max_retries <= 0)
		l->cfg.max_retries = 8;
	/* Start from a random sequence number so that replies to an earlier
	 * session still in the pipe cannot be mistaken for ours. */
	l->seq = (uint16_t)(now_ms() ^ (uintptr_t)l);
	tbp_decoder_init(&l->dec, l->rxbuf, sizeof(l->rxbuf));
	*out = l;
	return TB_OK;
}

void tb_link_free(struct tb_link *l)
{
	free(l);
}

static uint32_t drops(const struct tb_link *l);

void tb_link_get_stats(const struct tb_link *l, struct tb_link_stats *st)
{
	*st = l->stats;
	st->frames_dropped = drops(l);
}

const struct tbp_hello_rsp *tb_link_caps(const struct tb_link *l)
{
	return l->have_caps ? &l->caps : NULL;
}

/* ----------------------------------------------------------------------
 * Sending and receiving frames
 */
static int send_frame(struct tb_link *l, uint8_t type, uint16_t seq,
		      size_t len, struct tb_error *err)
{
	size_t n = tbp_frame_encode(type, seq, l->payload, len, l->tx,
				    sizeof(l->tx));

	if (!n)
		return tb_error_set(err, TB_ERR_ARG, "frame of %zu bytes does not fit", len);
	return tb_transport_write(l->t, l->tx, n, 5000, err);
}

#define RECV_DROPPED 1

/* Wait until deadline for the next good frame; copies it into l->frame.
 * Damaged frames are counted and skipped, or, with report_drops, make it
 * return RECV_DROPPED at once. */
static int recv_frame_ex(struct tb_link *l, int64_t deadline, int report_drops,
			 struct tb_error *err)
{
	struct tbp_frame f;
	size_t used;
	int rc;

	for (;;) {
		while (l->pend_pos < l->pend_len) {
			rc = tbp_decoder_feed(&l->dec, l->pend + l->pend_pos,
					      l->pend_len - l->pend_pos, &used, &f);
			l->pend_pos += used;
			if (rc < 0 && report_drops)
				return RECV_DROPPED;
			if (rc <= 0)
				continue;
			l->stats.frames_in++;
			memcpy(l->frame_payload, f.payload, f.len);
			l->frame = f;
			l->frame.payload = l->frame_payload;
			return TB_OK;
		}
		if (l->cfg.cancel && *l->cfg.cancel)
			return tb_error_set(err, TB_ERR_INTERRUPTED, "interrupted");
		int64_t left = deadline - now_ms();

		if (left <= 0) {
			l->stats.timeouts++;
			return tb_error_set(err, TB_ERR_TIMEOUT, "no reply from the device");
		}
		/* Wake up at least every 200 ms to notice a cancel request. */
		rc = tb_transport_read(l->t, l->pend, sizeof(l->pend),
				       left > 200 ? 200 : (int)left, err);
		if (rc < 0)
			return rc;
		l->pend_len = (size_t)rc;
		l->pend_pos = 0;
	}
}

static int recv_frame(struct tb_link *l, int64_t deadline, struct tb_error *err)
{
	return recv_frame_ex(l, deadline, 0, err);
}

static int device_error(struct tb_link *l, const char *what, struct tb_error *err)
{
	struct tbp_error e;

	if (tbp_error_decode(l->frame.payload, l->frame.len, &e) < 0)
		return tb_error_set(err, TB_ERR_PROTO,
				    "%s: malformed ERROR reply (%u bytes)", what,
				    l->frame.len);
	return tb_error_set(err, TB_ERR_DEVICE,
			    "%s: device error %u (%s, detail %lu)%s%s", what,
			    e.code, tbp_error_name(e.code), (unsigned long)e.detail,
			    e.message[0] ? ": " : "", e.message);
}

/* How long to keep listening after a damaged frame: a peer that answers
 * one request with one frame sends nothing more, so if no good reply
 * follows soon, the damaged frame was it. */
#define DAMAGE_GRACE_MS 300

/* Wait for the reply to seq: skips stale frames, converts ERROR.  Sets
 * *damaged when the wait ended on a damaged frame that no good reply
 * followed. */
static int await_reply(struct tb_link *l, uint16_t seq, uint8_t want,
		       int64_t deadline, const char *what, int *damaged,
		       struct tb_error *err)
{
	int rc, saw_drop = 0;

	*damaged = 0;
	for (;;) {
		rc = recv_frame_ex(l, deadline, 1, err);
		if (rc == RECV_DROPPED) {
			int64_t grace = now_ms() + DAMAGE_GRACE_MS;

			saw_drop = 1;
			if (grace < deadline)
				deadline = grace;
			continue;
		}
		if (rc == TB_ERR_TIMEOUT && saw_drop) {
			*damaged = 1;
			return tb_error_set(err, TB_ERR_PROTO, "%s: reply damaged on the link",
					    what);
		}
		if (rc < 0)
			return tb_error_prefix(err, "%s: ", what);
		if (l->frame.seq == seq)
			break;
		l->stats.stale_frames++;
	}
	if (l->frame.type == TBP_ERROR)
		return device_error(l, what, err);
	if (l->frame.type != want)
		return tb_error_set(err, TB_ERR_PROTO,
				    "%s: expected %s, device sent %s (0x%02x)",
				    what, tbp_type_name(want),
				    tbp_type_name(l->frame.type), l->frame.type);
	return TB_OK;
}

/*
 * Send the request in l->payload (plen bytes) and wait for its reply,
 * trying up to `attempts` times.  A reply damaged on the line is always
 * worth another attempt (the request is repeated with a new seq); a plain
 * timeout only when retry_silence is set (requests that are cheap and
 * idempotent).  The reply is left in l->frame.
 */
static int transact(struct tb_link *l, uint8_t type, size_t plen, uint8_t want,
		    int timeout_ms, int attempts, int retry_silence,
		    const char *what, struct tb_error *err)
{
	int rc = TB_ERR_TIMEOUT, damaged = 0;

	for (int i = 0; i < attempts; i++) {
		uint16_t seq = ++l->seq;

		if (i > 0)
			l->stats.retries++;
		rc = send_frame(l, type, seq, plen, err);
		if (rc < 0)
			return rc;
		rc = await_reply(l, seq, want, now_ms() + timeout_ms, what, &damaged, err);
		if (rc == TB_OK || !(damaged || (retry_silence && rc == TB_ERR_TIMEOUT)))
			return rc;
	}
	return rc;
}

/* ----------------------------------------------------------------------
 * HELLO
 */
static int printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7E)
			return 0;
	return 1;
}

int tb_link_check_caps(const struct tbp_hello_rsp *c, struct tb_error *err)
{
	if (c->proto_version != TBP_VERSION)
		return tb_error_set(err, TB_ERR_UNSUPPORTED,
				    "device speaks protocol version %u, this harness %u",
				    c->proto_version, TBP_VERSION);
	if (c->timer_hz == 0)
		return tb_error_set(err, TB_ERR_PROTO, "device reports a 0 Hz timer");
	if (c->max_payload < TBP_CHUNK_HDR + 16 || c->max_payload > TBP_MAX_PAYLOAD)
		return tb_error_set(err, TB_ERR_PROTO,
				    "device max payload %u out of range %u..%u",
				    c->max_payload, TBP_CHUNK_HDR + 16, TBP_MAX_PAYLOAD);
	if (c->window == 0 || c->window > 64)
		return tb_error_set(err, TB_ERR_PROTO, "device window %u out of range 1..64",
				    c->window);
	if (!c->board[0] || !printable(c->board) || !printable(c->cpu) ||
	    !printable(c->build_id) || !printable(c->runner_version))
		return tb_error_set(err, TB_ERR_PROTO, "device identity strings are invalid");
	for (unsigned i = 0; i < c->n_workloads; i++) {
		const struct tbp_workload_info *w = &c->workloads[i];

		if (!w->name[0] || w->input_size == 0 || w->output_size == 0 ||
		    w->input_size > c->max_input || w->output_size > TBP_MAX_PAYLOAD - 64)
			return tb_error_set(err, TB_ERR_PROTO,
					    "device workload %u ('%s') has invalid sizes",
					    i, w->name);
		for (unsigned j = 0; j < i; j++)
			if (c->workloads[j].id == w->id)
				return tb_error_set(err, TB_ERR_PROTO,
						    "device lists workload id %u twice", w->id);
	}
	return TB_OK;
}

int tb_link_hello(struct tb_link *l, struct tbp_hello_rsp *caps,
		  struct tb_error *err)
{
	struct tbp_hello h = { .proto_version = TBP_VERSION };
	static const uint8_t delim = 0x00;
	int rc;

	/* A lone delimiter ends any partial frame the device holds. */
	rc = tb_transport_write(l->t, &delim, 1, 1000, err);
	if (rc < 0)
		return rc;
	rc = transact(l, TBP_HELLO, tbp_hello_encode(&h, l->payload, sizeof(l->payload)),
		      TBP_HELLO_RSP, l->cfg.hello_timeout_ms, l->cfg.hello_attempts, 1,
		      "HELLO", err);
	if (rc == TB_ERR_TIMEOUT)
		return tb_error_set(err, TB_ERR_TIMEOUT,
				    "device did not answer HELLO (%d attempts, %d ms each)",
				    l->cfg.hello_attempts, l->cfg.hello_timeout_ms);
	if (rc < 0)
		return rc;
	if (tbp_hello_rsp_decode(l->frame.payload, l->frame.len, caps) < 0)
		return tb_error_set(err, TB_ERR_PROTO, "malformed HELLO reply (%u bytes)",
				    l->frame.len);
	rc = tb_link_check_caps(caps, err);
	if (rc < 0)
		return rc;
	l->caps = *caps;
	l->have_caps = 1;
	return TB_OK;
}

/* ----------------------------------------------------------------------
 * Upload: LOAD_BEGIN, then a sliding window of LOAD_CHUNKs.  The device
 * acks every ack_every-th chunk (ACK_REQ) with the count of bytes it has
 * in order; a gap makes it answer GAP with the offset to resume from and
 * the host goes back there (go-back-N).  A silent device is retried from
 * the last acknowledged byte, with an ack requested.
 */
struct upload {
	const uint8_t *data;
	uint32_t len;
	uint32_t chunk;
	uint32_t window;
	uint32_t ack_every;
	uint32_t acked;   /* device has [0, acked) */
	uint32_t sent;    /* next byte to send */
	uint32_t high;    /* highest byte ever sent: resends are below it */
	uint16_t seq_lo;  /* seq of LOAD_BEGIN; chunks follow it */
	uint16_t rewind_seq; /* last seq sent before the latest rewind */
	int retries;
	int done;
	/* Pipelined: the LOAD_BEGIN went out unacknowledged.  A DONE before
	 * its ack may be the device repeating DONE for its old input (the
	 * LOAD_BEGIN lost on the way): then the upload is done again. */
	int need_begin_ack;
	int begin_acked;
	int stale_done;
	struct tb_upload_stats st;
};

static int send_chunk(struct tb_link *l, struct upload *u, int force_ack,
		      struct tb_error *err)
{
	struct tbp_load_chunk c;
	uint32_t n = u->len - u->sent;
	uint32_t index = u->sent / u->chunk;
	size_t plen;

	if (n > u->chunk)
		n = u->chunk;
	c.offset = u->sent;
	c.len = (uint16_t)n;
	c.data = u->data + u->sent;
	c.flags = 0;
	if (force_ack || (index + 1) % u->ack_every == 0 || u->sent + n == u->len ||
	    u->sent + n - u->acked >= u->window * u->chunk)
		c.flags |= TBP_CHUNK_ACK_REQ;
	plen = tbp_load_chunk_encode(&c, l->payload, sizeof(l->payload));
	if (u->sent < u->high) {
		u->st.resent_chunks++;
		l->stats.retries++; /* a chunk sent again: lost or damaged */
	}
	u->sent += n;
	if (u->sent > u->high)
		u->high = u->sent;
	u->st.chunks++;
	return send_frame(l, TBP_LOAD_CHUNK, ++l->seq, plen, err);
}

/* Milliseconds to wait for an ack with `bytes` on their way. */
static int ack_wait_ms(const struct tb_link *l, uint32_t bytes)
{
	int64_t ms = l->cfg.ack_timeout_ms;

	if (l->cfg.bytes_per_sec)
		ms += (int64_t)bytes * 2 * 1000 / l->cfg.bytes_per_sec;
	return ms > 60000 ? 60000 : (int)ms;
}

static int handle_ack(struct tb_link *l, struct upload *u, struct tb_error *err)
{
	struct tbp_load_ack a;
	uint16_t age = (uint16_t)(l->frame.seq - u->seq_lo);

	if (l->frame.type == TBP_ERROR && age <= (uint16_t)(l->seq - u->seq_lo))
		return device_error(l, "upload", err);
	/* Replies to frames outside this upload are stale. */
	if (l->frame.type != TBP_LOAD_ACK || age > (uint16_t)(l->seq - u->seq_lo)) {
		l->stats.stale_frames++;
		return TB_OK;
	}
	if (tbp_load_ack_decode(l->frame.payload, l->frame.len, &a) < 0)
		return tb_error_set(err, TB_ERR_PROTO, "upload: malformed LOAD_ACK");
	if (l->frame.seq == u->seq_lo)
		u->begin_acked = 1;
	if (a.status == TBP_LOAD_DONE && u->need_begin_ack && !u->begin_acked) {
		u->stale_done = 1;
		u->done = 1;
		return TB_OK;
	}
	if (a.next_offset > u->high || a.next_offset > u->len)
		return tb_error_set(err, TB_ERR_PROTO,
				    "upload: device acknowledged byte %lu, only %lu sent",
				    (unsigned long)a.next_offset, (unsigned long)u->high);
	if (a.status == TBP_LOAD_DONE) {
		if (a.next_offset != u->len)
			return tb_error_set(err, TB_ERR_PROTO,
					    "upload: device reported done at %lu of %lu bytes",
					    (unsigned long)a.next_offset, (unsigned long)u->len);
		u->acked = u->len;
		u->done = 1;
		return TB_OK;
	}
	if (a.next_offset > u->acked) {
		u->acked = a.next_offset;
		u->retries = 0;
	}
	if (a.status == TBP_LOAD_GAP && age > (uint16_t)(u->rewind_seq - u->seq_lo)) {
		/* A gap reported for a chunk sent after our last rewind: go
		 * back to where the device is.  Gaps reported for chunks sent
		 * before it are already being dealt with. */
		u->sent = a.next_offset;
		u->rewind_seq = l->seq;
	}
	if (u->sent < u->acked)
		u->sent = u->acked;
	return TB_OK;
}

static int upload_begin(struct tb_link *l, struct upload *u, struct tb_error *err)
{
	struct tbp_load_begin b = { .total = u->len, .crc = tbp_crc32(0, u->data, u->len) };
	int rc;

	l->have_input = 0;
	u->st.round_trips++;
	rc = transact(l, TBP_LOAD_BEGIN,
		      tbp_load_begin_encode(&b, l->payload, sizeof(l->payload)),
		      TBP_LOAD_ACK, ack_wait_ms(l, 64), l->cfg.max_retries, 1,
		      "LOAD_BEGIN", err);
	if (rc < 0)
		return rc;
	u->seq_lo = l->seq;
	u->rewind_seq = l->seq;
	l->input_crc = b.crc;
	return TB_OK;
}

/* The chunks of an upload whose LOAD_BEGIN is sent: a window in flight
 * until the device says DONE. */
static int upload_chunks(struct tb_link *l, struct upload *u, uint64_t in0,
			 uint64_t out0, struct tb_upload_stats *st, struct tb_error *err)
{
	int rc;

	while (!u->done) {
		while (u->sent < u->len && u->sent - u->acked < u->window * u->chunk) {
			rc = send_chunk(l, u, 0, err);
			if (rc < 0)
				return rc;
		}
		u->st.round_trips++;
		rc = recv_frame(l, now_ms() + ack_wait_ms(l, u->sent - u->acked), err);
		if (rc == TB_ERR_TIMEOUT) {
			if (++u->retries > l->cfg.max_retries)
				return tb_error_set(err, TB_ERR_TIMEOUT,
						    "upload: no acknowledgement after %d retries (at byte %lu of %lu)",
						    l->cfg.max_retries, (unsigned long)u->acked,
						    (unsigned long)u->len);
			/* Resend from the last acknowledged byte, asking for
			 * an ack so the device says where it is. */
			u->sent = u->acked;
			u->rewind_seq = l->seq;
			rc = send_chunk(l, u, 1, err);
			if (rc < 0)
				return rc;
			continue;
		}
		if (rc < 0)
			return tb_error_prefix(err, "upload: ");
		rc = handle_ack(l, u, err);
		if (rc < 0)
			return rc;
	}
	if (u->stale_done)
		return 1; /* not known to be this input: the caller uploads again */
	l->have_input = 1;
	l->input_len = u->len;
	u->st.payload_bytes = u->len;
	u->st.chunk_size = u->chunk;
	u->st.window = u->window;
	u->st.wire_out = l->t->bytes_out - out0;
	u->st.wire_in = l->t->bytes_in - in0;
	if (st)
		*st = u->st;
	return TB_OK;
}

int tb_link_upload(struct tb_link *l, const void *data, size_t len,
		   struct tb_upload_stats *st, struct tb_error *err)
{
	uint64_t in0 = l->t->bytes_in, out0 = l->t->bytes_out;
	struct upload u = { .data = data, .len = (uint32_t)len };
	int rc;

	if (!l->have_caps)
		return tb_error_set(err, TB_ERR_ARG, "upload before HELLO");
	if (len == 0 || len > l->caps.max_input)
		return tb_error_set(err, TB_ERR_ARG,
				    "input of %zu bytes; the device accepts 1..%lu",
				    len, (unsigned long)l->caps.max_input);
	u.chunk = l->caps.max_payload - TBP_CHUNK_HDR;
	u.window = l->caps.window;
	u.ack_every = u.window > 1 ? u.window / 2 : 1;
	rc = upload_begin(l, &u, err);
	if (rc < 0)
		return rc;
	return upload_chunks(l, &u, in0, out0, st, err);
}

/* ----------------------------------------------------------------------
 * INFER and RESET
 */
static const struct tbp_workload_info *caps_workload(const struct tb_link *l,
						     uint8_t id)
{
	for (unsigned i = 0; i < l->caps.n_workloads; i++)
		if (l->caps.workloads[i].id == id)
			return &l->caps.workloads[i];
	return NULL;
}

static int check_infer_rsp(const struct tb_link *l, const struct tbp_infer *q,
			   const struct tbp_infer_rsp *r, struct tb_error *err)
{
	const struct tbp_workload_info *w = caps_workload(l, q->workload_id);

	if (r->workload_id != q->workload_id || r->count != q->count)
		return tb_error_set(err, TB_ERR_PROTO,
				    "INFER reply is for workload %u x %lu, asked %u x %lu",
				    r->workload_id, (unsigned long)r->count,
				    q->workload_id, (unsigned long)q->count);
	if (!w || r->output_len != w->output_size)
		return tb_error_set(err, TB_ERR_PROTO,
				    "INFER reply has %u output bytes, workload has %lu",
				    r->output_len, w ? (unsigned long)w->output_size : 0ul);
	if (r->stack_size != l->caps.stack_size || r->arena_size != l->caps.arena_size)
		return tb_error_set(err, TB_ERR_PROTO,
				    "INFER reply memory sizes differ from HELLO");
	if (r->input_crc != l->input_crc)
		return tb_error_set(err, TB_ERR_PROTO,
				    "device ran input with CRC %08lx, uploaded %08lx",
				    (unsigned long)r->input_crc, (unsigned long)l->input_crc);
	if (r->total_ticks == 0)
		return tb_error_set(err, TB_ERR_PROTO, "device reports 0 elapsed ticks");
	if ((q->flags & TBP_INFER_PER_INFERENCE) && r->max_ticks &&
	    (r->min_ticks * q->count > r->total_ticks))
		return tb_error_set(err, TB_ERR_PROTO,
				    "per-inference minimum exceeds the average");
	return TB_OK;
}

static uint32_t drops(const struct tb_link *l)
{
	const struct tbp_decoder_stats *d = &l->dec.stats;

	return d->overflow + d->cobs + d->short_frames + d->length + d->crc + d->version;
}

int tb_link_infer(struct tb_link *l, const struct tbp_infer *req,
		  int timeout_ms, struct tbp_infer_rsp *rsp,
		  struct tb_error *err)
{
	int rc;

	if (!l->have_caps)
		return tb_error_set(err, TB_ERR_ARG, "INFER before HELLO");
	if (!l->have_input)
		return tb_error_set(err, TB_ERR_ARG, "INFER before an upload");
	/* A reply damaged on the line is not the device's fault: run the
	 * batch again (up to twice).  The figures come from the run whose
	 * reply arrived intact.  Silence is not retried: it means a hang. */
	rc = transact(l, TBP_INFER, tbp_infer_encode(req, l->payload, sizeof(l->payload)),
		      TBP_INFER_RSP, timeout_ms, 3, 0, "INFER", err);
	if (rc == TB_ERR_TIMEOUT)
		return tb_error_set(err, TB_ERR_TIMEOUT,
				    "device did not finish %lu inferences within %d ms",
				    (unsigned long)(req->count + req->warmups), timeout_ms);
	if (rc < 0)
		return rc;
	if (tbp_infer_rsp_decode(l->frame.payload, l->frame.len, rsp) < 0)
		return tb_error_set(err, TB_ERR_PROTO,
				    "malformed or implausible INFER reply (%u bytes)",
				    l->frame.len);
	return check_infer_rsp(l, req, rsp, err);
}

int tb_link_reset(struct tb_link *l, int timeout_ms, struct tb_error *err)
{
	int rc = transact(l, TBP_RESET, 0, TBP_RESET_RSP, timeout_ms, 3, 1, "RESET", err);

	l->have_input = 0;
	tbp_decoder_reset(&l->dec);
	return rc;
}

/* ----------------------------------------------------------------------
 * Pipelined: INFER, then the next input's LOAD_BEGIN and first window of
 * chunks at once, without waiting; the device handles them in order, so
 * the upload's bytes wait in its receive buffer while it infers
 * (docs/PROTOCOL.md, "Pipelined uploads").
 */
int tb_link_infer_then_upload(struct tb_link *l, const struct tbp_infer *req,
			      int timeout_ms, struct tbp_infer_rsp *rsp,
			      const void *data, size_t len,
			      struct tb_upload_stats *st, struct tb_error *err)
{
	uint64_t in0 = l->t->bytes_in, out0 = l->t->bytes_out;
	struct upload u = { .data = data, .len = (uint32_t)len };
	struct tbp_load_begin b;
	uint16_t infer_seq;
	int64_t deadline;
	int rc, saw_drop = 0;

	if (!l->have_caps)
		return tb_error_set(err, TB_ERR_ARG, "INFER before HELLO");
	if (!l->have_input)
		return tb_error_set(err, TB_ERR_ARG, "INFER before an upload");
	if (len == 0 || len > l->caps.max_input)
		return tb_error_set(err, TB_ERR_ARG,
				    "input of %zu bytes; the device accepts 1..%lu",
				    len, (unsigned long)l->caps.max_input);
	u.chunk = l->caps.max_payload - TBP_CHUNK_HDR;
	u.window = l->caps.window;
	u.ack_every = u.window > 1 ? u.window / 2 : 1;

	infer_seq = ++l->seq;
	rc = send_frame(l, TBP_INFER, infer_seq,
			tbp_infer_encode(req, l->payload, sizeof(l->payload)), err);
	if (rc < 0)
		return rc;
	b.total = u.len;
	b.crc = tbp_crc32(0, u.data, u.len);
	u.st.round_trips++;
	rc = send_frame(l, TBP_LOAD_BEGIN, ++l->seq,
			tbp_load_begin_encode(&b, l->payload, sizeof(l->payload)), err);
	if (rc < 0)
		return rc;
	u.seq_lo = l->seq;
	u.rewind_seq = l->seq;
	u.need_begin_ack = 1;
	while (u.sent < u.len && u.sent - u.acked < u.window * u.chunk) {
		rc = send_chunk(l, &u, 0, err);
		if (rc < 0)
			return rc;
	}

	/* The INFER_RSP comes first: the device answers in order. */
	deadline = now_ms() + timeout_ms;
	for (;;) {
		rc = recv_frame_ex(l, deadline, 1, err);
		if (rc == RECV_DROPPED) {
			int64_t grace = now_ms() + DAMAGE_GRACE_MS;

			saw_drop = 1;
			if (grace < deadline)
				deadline = grace;
			continue;
		}
		if (rc == TB_ERR_TIMEOUT) {
			l->have_input = 0;
			return tb_error_set(err, saw_drop ? TB_ERR_PROTO : TB_ERR_TIMEOUT,
					    saw_drop ? "INFER: reply damaged on the link" :
					    "device did not finish %lu inferences within %d ms",
					    (unsigned long)(req->count + req->warmups), timeout_ms);
		}
		if (rc < 0)
			return tb_error_prefix(err, "INFER: ");
		if (l->frame.seq == infer_seq)
			break;
		l->stats.stale_frames++;
	}
	l->have_input = 0; /* the device holds the new input, or part of it */
	if (l->frame.type == TBP_ERROR)
		return device_error(l, "INFER", err);
	if (l->frame.type != TBP_INFER_RSP)
		return tb_error_set(err, TB_ERR_PROTO, "INFER: expected %s, device sent %s",
				    tbp_type_name(TBP_INFER_RSP), tbp_type_name(l->frame.type));
	if (tbp_infer_rsp_decode(l->frame.payload, l->frame.len, rsp) < 0)
		return tb_error_set(err, TB_ERR_PROTO,
				    "malformed or implausible INFER reply (%u bytes)", l->frame.len);
	rc = check_infer_rsp(l, req, rsp, err);
	if (rc < 0)
		return rc;
	memcpy(l->infer_output, rsp->output, rsp->output_len);
	rsp->output = l->infer_output;

	/* Now the rest of the upload, as tb_link_upload() goes on. */
	l->input_crc = b.crc;
	rc = upload_chunks(l, &u, in0, out0, st, err);
	if (rc == 1) {
		l->stats.retries++;
		return tb_link_upload(l, data, len, st, err);
	}
	return rc;
}
