/*
 * tbr.c - the device runner core: protocol handling, input loading,
 * timed inference and memory high-water marks.  See tbr.h.
 */
#include "tbr.h"
#include "tbr_priv.h"

#include <string.h>

#define NO_NAK 0xFFFFFFFFu

/* tbr_init() clears what follows the config, which may be filled in place. */
_Static_assert(offsetof(struct tbr, cfg) == 0, "struct tbr starts with its config");

int tbr_init(struct tbr *r, const struct tbr_config *cfg,
	     const struct tbr_port *port)
{
	/* cfg may be &r->cfg, a config the port filled in place (the
	 * firmware's: no copy of it on the stack, tbr_fw.c). */
	memset(&r->port, 0, sizeof(*r) - offsetof(struct tbr, port));
	if (!cfg || !port || !port->read || !port->write || !port->ticks ||
	    !port->run_on_stack)
		return -1;
	if (!cfg->input || !cfg->arena || !cfg->output || !cfg->rx ||
	    !cfg->payload || !cfg->tx || !cfg->workloads || !cfg->timer_hz)
		return -1;
	if (cfg->rx_cap < TBP_WIRE_MAX(TBP_CHUNK_HDR + 1) || !cfg->tx_cap ||
	    cfg->payload_cap < 64)
		return -1;
	if (cfg != &r->cfg)
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

/* No message text: the code and the detail say what went wrong (the
 * host prints the code's name, tbp_error_name(); docs/PROTOCOL.md lists
 * what each code's detail is), and text would sit in a device's flash. */
static int send_error(struct tbr *r, uint16_t seq, uint16_t code,
		      uint32_t detail)
{
	struct tbp_error e;

	e.code = code;
	e.detail = detail;
	e.message[0] = '\0';
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
/* HELLO_RSP is written field by field straight from the config and the
 * workloads, in the order of tbp_hello_rsp_begin() and
 * tbp_hello_rsp_add_workload() (the tests decode it with
 * tbp_hello_rsp_decode()): no struct tbp_hello_rsp_head and struct
 * tbp_workload_info with copies of the strings (about 220 bytes of stack),
 * no string copy routine, and about 100 bytes less code. */
static void put_workload(struct tbp_writer *w, const struct tb_workload *wl)
{
	tbp_put_u8(w, wl->id);
	tbp_put_str(w, wl->name, TBP_STR_WL_NAME);
	tbp_put_u8(w, wl->input_dtype);
	tbp_put_u8(w, wl->output_dtype);
	tbp_put_u32(w, wl->input_size);
	tbp_put_u32(w, wl->output_size);
	tbp_put_u32(w, wl->arena_size);
	tbp_put_bytes(w, wl->model_hash, TBP_HASH_SIZE);
}

static int on_hello(struct tbr *r, const struct tbp_frame *f)
{
	const struct tbr_config *c = &r->cfg;
	struct tbp_writer w;
	struct tbp_hello h;
	unsigned n = 0;

	if (tbp_hello_decode(f->payload, f->len, &h) < 0)
		return send_error(r, f->seq, TBP_E_BAD_PAYLOAD, f->len);
	while (c->workloads[n] && n < TBP_MAX_WORKLOADS)
		n++;
	tbp_writer_init(&w, c->payload, c->payload_cap);
	tbp_put_u16(&w, TBP_VERSION);
	tbp_put_u8(&w, c->caps);
	tbp_put_u8(&w, c->window);
	tbp_put_u16(&w, tbr_max_payload(r));
	tbp_put_u32(&w, c->clock_hz);
	tbp_put_u32(&w, c->timer_hz);
	tbp_put_u32(&w, c->input_cap);
	tbp_put_u32(&w, c->stack_size);
	tbp_put_u32(&w, c->arena_size);
	tbp_put_str(&w, c->board, TBP_STR_BOARD);
	tbp_put_str(&w, c->cpu, TBP_STR_CPU);
	tbp_put_str(&w, TBR_VERSION, TBP_STR_VERSION);
	tbp_put_str(&w, c->build_id, TBP_STR_BUILD);
	tbp_put_u8(&w, (uint8_t)n);
	for (unsigned i = 0; i < n; i++)
		put_workload(&w, c->workloads[i]);
	return send(r, TBP_HELLO_RSP, f->seq, tbp_hello_rsp_finish(&w));
}

/* ----------------------------------------------------------------------
 * Loading an input
 */
static int on_load_begin(struct tbr *r, const struct tbp_frame *f)
{
	struct tbp_load_begin b;

	if (tbp_load_begin_decode(f->payload, f->len, &b) < 0)
		return send_error(r, f->seq, TBP_E_BAD_PAYLOAD, f->len);
	r->load_active = 0;
	r->input_ready = 0;
	if (b.total == 0 || b.total > r->cfg.input_cap)
		return send_error(r, f->seq, TBP_E_TOO_LARGE, r->cfg.input_cap);
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
		return send_error(r, f->seq, TBP_E_BAD_PAYLOAD, f->len);
	if (!r->load_active) {
		/* The host resends when our DONE was lost: say it again. */
		if (r->input_ready && c.offset < r->load_total &&
		    c.len <= r->load_total - c.offset) {
			r->load_next = r->load_total;
			return send_ack(r, f->seq, TBP_LOAD_DONE);
		}
		return send_error(r, f->seq, TBP_E_NO_LOAD, 0);
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
		/* detail: the declared size the chunk runs past */
		return send_error(r, f->seq, TBP_E_BAD_ARG, r->load_total);
	}
	memcpy(r->cfg.input + c.offset, c.data, c.len);
	r->load_next += c.len;
	r->load_nak_at = NO_NAK;
	if (r->load_next == r->load_total) {
		r->load_active = 0;
		if (tbp_crc32(0, r->cfg.input, r->load_total) != r->load_crc)
			return send_error(r, f->seq, TBP_E_INPUT_CRC, r->load_crc);
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
	/* min and max stay 0 unless each inference is timed. */
	j->min = j->flags & TBP_INFER_PER_INFERENCE ? UINT64_MAX : 0;
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
		return send_error(r, f->seq, TBP_E_BAD_PAYLOAD, f->len);
	j.wl = find_workload(r, q.workload_id);
	if (!j.wl)
		return send_error(r, f->seq, TBP_E_UNKNOWN_WORKLOAD, q.workload_id);
	if (q.count == 0)
		return send_error(r, f->seq, TBP_E_BAD_ARG, 0);  /* the count */
	if (!r->input_ready)
		return send_error(r, f->seq, TBP_E_NO_INPUT, 0);
	if (r->load_total != j.wl->input_size)
		return send_error(r, f->seq, TBP_E_INPUT_SIZE, j.wl->input_size);
	if (r->cfg.arena_size < j.wl->arena_size)
		return send_error(r, f->seq, TBP_E_ARENA, j.wl->arena_size);
	/* ARENA covers the output buffer too (docs/PROTOCOL.md); the
	 * detail, the output size, tells the two apart. */
	if (r->cfg.output_cap < j.wl->output_size ||
	    j.wl->output_size + 64 > r->cfg.payload_cap)
		return send_error(r, f->seq, TBP_E_ARENA, j.wl->output_size);
	j.r = r;
	j.count = q.count;
	j.warmups = q.warmups;
	j.flags = q.flags;
	j.rc = 0;

	memset(r->cfg.arena, TBR_PAINT, r->cfg.arena_size);
	if (r->port->run_on_stack(r->port->ctx, infer_body, &j, &stack_used) < 0)
		/* detail 0: the stack switch failed; a workload's error
		 * is its -rc, >= 1 */
		return send_error(r, f->seq, TBP_E_INVOKE, 0);
	if (j.rc < 0)
		return send_error(r, f->seq, TBP_E_INVOKE, (uint32_t)-j.rc);

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
	return send_error(r, f->seq, TBP_E_UNKNOWN_TYPE, f->type);
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
