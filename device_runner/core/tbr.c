/*
 * tbr.c - the device runner core: protocol handling, input loading,
 * timed inference and memory high-water marks.  See tbr.h.
 */
#include "tbr.h"
#include "tbr_priv.h"

#include <string.h>

#define NO_NAK 0xFFFFFFFFu

int tbr_init(struct tbr *r, const struct tbr_config *cfg,
	     const struct tbr_port *port)
{
	memset(r, 0, sizeof(*r));
	if (!cfg || !port || !port->read || !port->write || !port->ticks ||
	    !port->run_on_stack)
		return -1;
	if (!cfg->input || !cfg->arena || !cfg->output || !cfg->rx ||
	    !cfg->payload || !cfg->tx || !cfg->workloads || !cfg->timer_hz)
		return -1;
	if (cfg->rx_cap < TBP_WIRE_MAX(TBP_CHUNK_HDR + 1) || !cfg->tx_cap ||
	    cfg->payload_cap < 64)
		return -1;
	r->cfg = *cfg;
	if (!r->cfg.window)
		r->cfg.window = 1;
	r->port = port;
	r->load_nak_at = NO_NAK;
	tbp_decoder_init(&r->dec, cfg->rx, cfg->rx_cap);
	/* Validate the models now, not inside the first timed window; a
	 * model that fails here fails again (INVOKE error) when run. */
	for (unsigned i = 0; cfg->workloads[i]; i++)
		if (cfg->workloads[i]->prepare)
			cfg->workloads[i]->prepare(cfg->workloads[i]);
	if (cfg->protocol != TBR_PROTOCOL_TINYBENCH) {
#if TBR_EEMBC
		if (tbr_eembc_init(r) < 0)
			return -1;
#else
		return -1; /* EEMBC is not compiled in (runner_eembc) */
#endif
	}
	return 0;
}

uint16_t tbr_max_payload(const struct tbr *r)
{
	/* Invert TBP_WIRE_MAX: the largest p whose frame, COBS-encoded with
	 * its delimiter, fits the decoder buffer (frame bytes m with
	 * m + m / 254 <= rx_cap - 2; rx_cap >= TBP_WIRE_MAX(6), tbr_init). */
	size_t cap = r->cfg.rx_cap;
	size_t p = cap - 2 - (cap - 1) / 255 - TBP_FRAME_OVERHEAD;

	return (uint16_t)(p > TBP_MAX_PAYLOAD ? TBP_MAX_PAYLOAD : p);
}

/* ----------------------------------------------------------------------
 * Replies
 */
static int port_put(void *ctx, const uint8_t *p, size_t n)
{
	const struct tbr_port *port = ((struct tbr *)ctx)->port;

	return port->write(port->ctx, p, n);
}

/* The reply goes to the port in pieces of up to tx_cap bytes: one write
 * when tx holds the whole frame. */
static int send(struct tbr *r, uint8_t type, uint16_t seq, size_t len)
{
	if (!tbp_frame_write(type, seq, r->cfg.payload, len, r->cfg.tx,
			     r->cfg.tx_cap, port_put, r))
		return -1;
	r->stats.replies++;
	return 0;
}

static void copy_str(char *dst, const char *src, size_t max)
{
	size_t i;

	for (i = 0; src && src[i] && i < max; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

/* The message says what the code and the detail do not (the host prints
 * the code's name, tbp_error_name()): NULL for most errors, which keeps
 * their text out of a device's flash. */
static int send_error(struct tbr *r, uint16_t seq, uint16_t code,
		      uint32_t detail, const char *msg)
{
	struct tbp_error e;

	e.code = code;
	e.detail = detail;
	copy_str(e.message, msg, TBP_STR_ERROR);
	r->stats.errors_sent++;
	return send(r, TBP_ERROR, seq,
		    tbp_error_encode(&e, r->cfg.payload, r->cfg.payload_cap));
}

static int send_ack(struct tbr *r, uint16_t seq, uint8_t status)
{
	struct tbp_load_ack a = { .next_offset = r->load_next, .status = status };

	return send(r, TBP_LOAD_ACK, seq,
		    tbp_load_ack_encode(&a, r->cfg.payload, r->cfg.payload_cap));
}

/* ----------------------------------------------------------------------
 * HELLO
 */
/* Every field the encoder reads is set: no memset. */
static void workload_info(const struct tb_workload *wl,
			  struct tbp_workload_info *wi)
{
	wi->id = wl->id;
	copy_str(wi->name, wl->name, TBP_STR_WL_NAME);
	wi->input_dtype = wl->input_dtype;
	wi->output_dtype = wl->output_dtype;
	wi->input_size = wl->input_size;
	wi->output_size = wl->output_size;
	wi->arena_size = wl->arena_size;
	memcpy(wi->model_hash, wl->model_hash, TBP_HASH_SIZE);
}

static int on_hello(struct tbr *r, const struct tbp_frame *f)
{
	/* Only the fixed part: the workload list is written one entry at a
	 * time, so the core never holds the whole table in RAM (a struct
	 * tbp_hello_rsp would put its 16 entries, 1 KiB, on the stack). */
	struct tbp_hello_rsp_head m;
	struct tbp_workload_info wi;
	struct tbp_writer w;
	struct tbp_hello h;
	unsigned n = 0;

	if (tbp_hello_decode(f->payload, f->len, &h) < 0)
		return send_error(r, f->seq, TBP_E_BAD_PAYLOAD, f->len, NULL);
	while (r->cfg.workloads[n] && n < TBP_MAX_WORKLOADS)
		n++;
	/* Every field is set below: no memset. */
	m.proto_version = TBP_VERSION;
	m.flags = r->cfg.caps;
	m.window = r->cfg.window;
	m.max_payload = tbr_max_payload(r);
	m.clock_hz = r->cfg.clock_hz;
	m.timer_hz = r->cfg.timer_hz;
	m.max_input = r->cfg.input_cap;
	m.stack_size = r->cfg.stack_size;
	m.arena_size = r->cfg.arena_size;
	copy_str(m.board, r->cfg.board, TBP_STR_BOARD);
	copy_str(m.cpu, r->cfg.cpu, TBP_STR_CPU);
	copy_str(m.runner_version, TBR_VERSION, TBP_STR_VERSION);
	copy_str(m.build_id, r->cfg.build_id, TBP_STR_BUILD);
	m.n_workloads = (uint8_t)n;

	tbp_writer_init(&w, r->cfg.payload, r->cfg.payload_cap);
	tbp_hello_rsp_begin_head(&w, &m);
	for (unsigned i = 0; i < n; i++) {
		workload_info(r->cfg.workloads[i], &wi);
		tbp_hello_rsp_add_workload(&w, &wi);
	}
	return send(r, TBP_HELLO_RSP, f->seq, tbp_hello_rsp_finish(&w));
}

/* ----------------------------------------------------------------------
 * Loading an input
 */
static int on_load_begin(struct tbr *r, const struct tbp_frame *f)
{
	struct tbp_load_begin b;

	if (tbp_load_begin_decode(f->payload, f->len, &b) < 0)
		return send_error(r, f->seq, TBP_E_BAD_PAYLOAD, f->len, NULL);
	r->load_active = 0;
	r->input_ready = 0;
	if (b.total == 0 || b.total > r->cfg.input_cap)
		return send_error(r, f->seq, TBP_E_TOO_LARGE, r->cfg.input_cap,
				  NULL);
	r->load_active = 1;
	r->load_total = b.total;
	r->load_crc = b.crc;
	r->load_next = 0;
	r->load_nak_at = NO_NAK;
	return send_ack(r, f->seq, TBP_LOAD_PROGRESS);
}

static int on_load_chunk(struct tbr *r, const struct tbp_frame *f)
{
	struct tbp_load_chunk c;

	if (tbp_load_chunk_decode(f->payload, f->len, &c) < 0)
		return send_error(r, f->seq, TBP_E_BAD_PAYLOAD, f->len, NULL);
	if (!r->load_active) {
		/* The host resends when our DONE was lost: say it again. */
		if (r->input_ready && c.offset < r->load_total &&
		    c.len <= r->load_total - c.offset) {
			r->load_next = r->load_total;
			return send_ack(r, f->seq, TBP_LOAD_DONE);
		}
		return send_error(r, f->seq, TBP_E_NO_LOAD, 0, NULL);
	}
	if (c.offset != r->load_next) {
		/* Lost or repeated chunk: say once where to resume; chunks
		 * already in flight behind it are dropped silently.  A chunk
		 * that asks for an ack always gets one, so a host that timed
		 * out and resent learns where we are even if our first GAP
		 * reply was lost. */
		if (r->load_nak_at == r->load_next &&
		    !(c.flags & TBP_CHUNK_ACK_REQ))
			return 0;
		r->load_nak_at = r->load_next;
		return send_ack(r, f->seq, TBP_LOAD_GAP);
	}
	if (c.len > r->load_total - r->load_next) {
		r->load_active = 0;
		return send_error(r, f->seq, TBP_E_BAD_ARG, r->load_total,
				  "chunk past the end of the input");
	}
	memcpy(r->cfg.input + c.offset, c.data, c.len);
	r->load_next += c.len;
	r->load_nak_at = NO_NAK;
	if (r->load_next == r->load_total) {
		r->load_active = 0;
		if (tbp_crc32(0, r->cfg.input, r->load_total) != r->load_crc)
			return send_error(r, f->seq, TBP_E_INPUT_CRC, r->load_crc,
					  NULL);
		r->input_ready = 1;
		return send_ack(r, f->seq, TBP_LOAD_DONE);
	}
	if (c.flags & TBP_CHUNK_ACK_REQ)
		return send_ack(r, f->seq, TBP_LOAD_PROGRESS);
	return 0;
}

/* ----------------------------------------------------------------------
 * Inference
 */
struct infer_job {
	struct tbr *r;
	const struct tb_workload *wl;
	uint32_t count;
	uint32_t warmups;
	uint8_t flags;
	int rc;
	uint64_t total;
	uint64_t min;
	uint64_t max;
};

static int invoke(struct infer_job *j)
{
	const struct tbr_config *c = &j->r->cfg;

	return j->wl->invoke(j->wl, c->input, c->output, c->arena, c->arena_size);
}

static uint64_t elapsed(const struct tbr_port *p, uint64_t t0, uint64_t t1)
{
	return p->elapsed ? p->elapsed(p->ctx, t0, t1) : t1 - t0;
}

/* Runs on the painted inference stack.  Nothing but inferences and timer
 * reads happen between the two timestamps: no link traffic. */
static void infer_body(void *arg)
{
	struct infer_job *j = arg;
	const struct tbr_port *p = j->r->port;
	uint64_t t0, t1, a, b, d;

	for (uint32_t i = 0; i < j->warmups; i++) {
		j->rc = invoke(j);
		if (j->rc < 0)
			return;
	}
	j->min = UINT64_MAX;
	j->max = 0;
	if (p->timestamp)
		p->timestamp(p->ctx, 1);
	t0 = p->ticks(p->ctx);
	if (j->flags & TBP_INFER_PER_INFERENCE) {
		for (uint32_t i = 0; i < j->count && j->rc >= 0; i++) {
			a = p->ticks(p->ctx);
			j->rc = invoke(j);
			b = p->ticks(p->ctx);
			d = elapsed(p, a, b);
			if (d < j->min)
				j->min = d;
			if (d > j->max)
				j->max = d;
		}
	} else {
		for (uint32_t i = 0; i < j->count && j->rc >= 0; i++)
			j->rc = invoke(j);
	}
	t1 = p->ticks(p->ctx);
	if (p->timestamp)
		p->timestamp(p->ctx, 0);
	j->total = elapsed(p, t0, t1);
	if (!(j->flags & TBP_INFER_PER_INFERENCE))
		j->min = j->max = 0;
}

int tbr_run_batch(struct tbr *r, const struct tb_workload *wl, uint32_t count,
		  uint32_t warmups, uint8_t flags, struct tbr_batch *b)
{
	struct infer_job j = { .r = r, .wl = wl, .count = count,
			       .warmups = warmups, .flags = flags };

	memset(r->cfg.arena, TBR_PAINT, r->cfg.arena_size);
	b->stack_used = 0;
	if (r->port->run_on_stack(r->port->ctx, infer_body, &j, &b->stack_used) < 0)
		return -1;
	b->rc = j.rc;
	b->total = j.total;
	b->min = j.min;
	b->max = j.max;
	return 0;
}

/* Highest byte of the arena that no longer holds the paint, + 1.  Scans
 * down from the top; a value that happens to equal the paint at the very
 * top of the used region makes this read low by those bytes. */
static uint32_t arena_high_water(const struct tbr *r)
{
	uint32_t n = r->cfg.arena_size;

	while (n > 0 && r->cfg.arena[n - 1] == TBR_PAINT)
		n--;
	return n;
}

static const struct tb_workload *find_workload(const struct tbr *r, uint8_t id)
{
	for (unsigned i = 0; r->cfg.workloads[i]; i++)
		if (r->cfg.workloads[i]->id == id)
			return r->cfg.workloads[i];
	return NULL;
}

static int on_infer(struct tbr *r, const struct tbp_frame *f)
{
	struct infer_job j;     /* infer_body() sets the figures */
	struct tbp_infer q;
	struct tbp_infer_rsp rsp;
	uint32_t stack_used = 0;

	if (tbp_infer_decode(f->payload, f->len, &q) < 0)
		return send_error(r, f->seq, TBP_E_BAD_PAYLOAD, f->len, NULL);
	j.wl = find_workload(r, q.workload_id);
	if (!j.wl)
		return send_error(r, f->seq, TBP_E_UNKNOWN_WORKLOAD, q.workload_id,
				  NULL);
	if (q.count == 0)
		return send_error(r, f->seq, TBP_E_BAD_ARG, 0, "count must be >= 1");
	if (!r->input_ready)
		return send_error(r, f->seq, TBP_E_NO_INPUT, 0, NULL);
	if (r->load_total != j.wl->input_size)
		return send_error(r, f->seq, TBP_E_INPUT_SIZE, j.wl->input_size,
				  NULL);
	if (r->cfg.arena_size < j.wl->arena_size)
		return send_error(r, f->seq, TBP_E_ARENA, j.wl->arena_size,
				  NULL);
	if (r->cfg.output_cap < j.wl->output_size ||
	    j.wl->output_size + 64 > r->cfg.payload_cap)
		return send_error(r, f->seq, TBP_E_ARENA, j.wl->output_size,
				  "output buffer too small");
	j.r = r;
	j.count = q.count;
	j.warmups = q.warmups;
	j.flags = q.flags;
	j.rc = 0;

	memset(r->cfg.arena, TBR_PAINT, r->cfg.arena_size);
	if (r->port->run_on_stack(r->port->ctx, infer_body, &j, &stack_used) < 0)
		return send_error(r, f->seq, TBP_E_INVOKE, 0, "stack switch failed");
	if (j.rc < 0)
		return send_error(r, f->seq, TBP_E_INVOKE, (uint32_t)-j.rc,
				  NULL);

	rsp.workload_id = j.wl->id;    /* every field is set: no memset */
	rsp.count = j.count;
	rsp.total_ticks = j.total;
	rsp.min_ticks = j.min;
	rsp.max_ticks = j.max;
	rsp.stack_used = stack_used;
	rsp.stack_size = r->cfg.stack_size;
	rsp.arena_used = arena_high_water(r);
	rsp.arena_size = r->cfg.arena_size;
	rsp.input_crc = tbp_crc32(0, r->cfg.input, r->load_total);
	rsp.output_len = (uint16_t)j.wl->output_size;
	rsp.output = r->cfg.output;
	return send(r, TBP_INFER_RSP, f->seq,
		    tbp_infer_rsp_encode(&rsp, r->cfg.payload, r->cfg.payload_cap));
}

/* ----------------------------------------------------------------------
 * Dispatch
 */
static int on_reset(struct tbr *r, const struct tbp_frame *f)
{
	int rc = send(r, TBP_RESET_RSP, f->seq, 0);

	r->load_active = 0;
	r->input_ready = 0;
	r->load_nak_at = NO_NAK;
	tbp_decoder_reset(&r->dec);
	if (r->port->reset)
		r->port->reset(r->port->ctx);
	return rc;
}

static int dispatch(struct tbr *r, const struct tbp_frame *f)
{
	r->stats.frames_in++;
	switch (f->type) {
	case TBP_HELLO:      return on_hello(r, f);
	case TBP_LOAD_BEGIN: return on_load_begin(r, f);
	case TBP_LOAD_CHUNK: return on_load_chunk(r, f);
	case TBP_INFER:      return on_infer(r, f);
	case TBP_RESET:      return on_reset(r, f);
	}
	return send_error(r, f->seq, TBP_E_UNKNOWN_TYPE, f->type, NULL);
}

int tbr_feed(struct tbr *r, const uint8_t *data, size_t len)
{
#if TBR_EEMBC
	if (r->cfg.protocol != TBR_PROTOCOL_TINYBENCH)
		return tbr_eembc_feed(r, data, len);
#endif
	return tbr_tbp_feed(r, data, len);
}

int tbr_tbp_feed(struct tbr *r, const uint8_t *data, size_t len)
{
	struct tbp_frame f;
	size_t used;
	int rc;

	while (len > 0) {
		rc = tbp_decoder_feed(&r->dec, data, len, &used, &f);
		data += used;
		len -= used;
		if (rc < 0) {
			/* A damaged frame carries no trustworthy sequence
			 * number: stay silent, the host times out and
			 * retries. */
			r->stats.frames_dropped++;
			continue;
		}
		if (rc > 0 && dispatch(r, &f) < 0)
			return -1;
	}
	return 0;
}

int tbr_run(struct tbr *r)
{
	uint8_t buf[64];
	int n;

#if TBR_EEMBC
	if (r->cfg.protocol == TBR_PROTOCOL_EEMBC && tbr_eembc_banner(r) < 0)
		return -1;
#endif
	while (!r->stop) {
		n = r->port->read(r->port->ctx, buf, sizeof(buf));
		if (n < 0)
			return n;
		if (n > 0 && tbr_feed(r, buf, (size_t)n) < 0)
			return -1;
	}
	return 0;
}
