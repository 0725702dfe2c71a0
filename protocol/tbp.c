/*
 * tbp.c - the tinybench wire protocol (see tbp.h and docs/PROTOCOL.md).
 */
#include "tbp.h"

#include <string.h>

/* ----------------------------------------------------------------------
 * CRC-32/IEEE with a 16-entry table: 64 bytes of flash, two lookups per
 * byte; small enough for any device, fast enough for a 32 KB input.
 */
static const uint32_t crc_nibble[16] = {
	0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC,
	0x76DC4190, 0x6B6B51F4, 0x4DB26158, 0x5005713C,
	0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C,
	0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C,
};

uint32_t tbp_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		crc = (crc >> 4) ^ crc_nibble[crc & 0x0F];
		crc = (crc >> 4) ^ crc_nibble[crc & 0x0F];
	}
	return ~crc;
}

/* ----------------------------------------------------------------------
 * COBS of a buffer (frames are encoded in one pass by tbp_frame_write()).
 */
struct cobs_enc {
	uint8_t *out;
	size_t cap;
	size_t pos;      /* next free byte */
	size_t code_pos; /* where the current block's code byte goes */
	uint8_t code;    /* 1 + data bytes in the current block */
	int ok;
};

static void cobs_enc_start(struct cobs_enc *e, uint8_t *out, size_t cap)
{
	e->out = out;
	e->cap = cap;
	e->ok = cap > 0;
	e->code_pos = 0;
	e->pos = 1;
	e->code = 1;
}

static void cobs_enc_close_block(struct cobs_enc *e)
{
	e->out[e->code_pos] = e->code;
	e->code_pos = e->pos++;
	e->code = 1;
}

static void cobs_enc_put(struct cobs_enc *e, const uint8_t *in, size_t len)
{
	for (size_t i = 0; i < len && e->ok; i++) {
		/* Room for this byte and the code byte of a following block. */
		if (e->pos + 1 > e->cap) {
			e->ok = 0;
			break;
		}
		if (in[i] == 0) {
			cobs_enc_close_block(e);
			continue;
		}
		e->out[e->pos++] = in[i];
		if (++e->code == 0xFF)
			cobs_enc_close_block(e);
	}
}

static size_t cobs_enc_finish(struct cobs_enc *e)
{
	if (!e->ok || e->code_pos >= e->cap)
		return 0;
	e->out[e->code_pos] = e->code;
	return e->pos;
}

size_t tbp_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	struct cobs_enc e;

	cobs_enc_start(&e, out, cap);
	cobs_enc_put(&e, in, len);
	return cobs_enc_finish(&e);
}

long tbp_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	size_t ip = 0, op = 0;

	while (ip < len) {
		uint8_t code = in[ip++];

		if (code == 0)
			return -1;
		/* code - 1 data bytes follow */
		if ((size_t)(code - 1) > len - ip)
			return -1;
		if (op + (size_t)(code - 1) > cap)
			return -1;
		for (uint8_t k = 1; k < code; k++) {
			if (in[ip] == 0)
				return -1;
			out[op++] = in[ip++];
		}
		/* An implied zero follows every block except a full one and the
		 * last one. */
		if (code != 0xFF && ip < len) {
			if (op >= cap)
				return -1;
			out[op++] = 0;
		}
	}
	return (long)op;
}

/* ----------------------------------------------------------------------
 * Frames
 */
static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	       ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Wire bytes of a frame being written: staged in buf, handed to put()
 * whenever buf is full (no put(): buf is the whole output). */
struct frame_out {
	uint8_t *buf;
	size_t cap;
	size_t pos;
	size_t total;
	int (*put)(void *ctx, const uint8_t *p, size_t n);
	void *ctx;
	int ok;
};

static void out_byte(struct frame_out *o, uint8_t b)
{
	if (!o->ok)
		return;
	if (o->pos == o->cap) {
		if (!o->put || o->put(o->ctx, o->buf, o->pos) < 0) {
			o->ok = 0;
			return;
		}
		o->pos = 0;
	}
	o->buf[o->pos++] = b;
	o->total++;
}

/* Byte i of the frame header | payload | crc, the header and the CRC
 * being ends[0..5] and ends[6..9].  Called from two places, kept out of
 * line: 36 bytes less on a Cortex-M. */
#if defined(__GNUC__)
#define TBP_NOINLINE __attribute__((noinline))
#else
#define TBP_NOINLINE
#endif
TBP_NOINLINE static uint8_t frame_byte(const uint8_t *ends,
				       const uint8_t *payload, size_t len,
				       size_t i)
{
	if (i < TBP_HDR_SIZE)
		return ends[i];
	i -= TBP_HDR_SIZE;
	return i < len ? payload[i] : ends[TBP_HDR_SIZE + i - len];
}

/* COBS in one pass over the frame, looking ahead for each block's length
 * instead of going back to patch its code byte, so that no byte needs to
 * be kept once written: the same bytes as tbp_cobs_encode() of the whole
 * frame (a block of 254 data bytes is followed by a new block even at the
 * end, as there). */
size_t tbp_frame_write(uint8_t type, uint16_t seq, const void *payload,
		       size_t len, uint8_t *buf, size_t cap,
		       int (*put)(void *ctx, const uint8_t *p, size_t n),
		       void *ctx)
{
	uint8_t ends[TBP_FRAME_OVERHEAD];
	struct frame_out o = { buf, cap, 0, 0, put, ctx, cap > 0 };
	size_t n = len + TBP_FRAME_OVERHEAD, i = 0, j;
	int full;

	if (len > TBP_MAX_PAYLOAD || (len && !payload))
		return 0;
	ends[0] = TBP_VERSION;
	ends[1] = type;
	put_le16(ends + 2, seq);
	put_le16(ends + 4, (uint16_t)len);
	put_le32(ends + TBP_HDR_SIZE,
		 tbp_crc32(tbp_crc32(0, ends, TBP_HDR_SIZE), payload, len));
	for (;;) {
		/* One block: up to 254 non-zero bytes, its code byte first. */
		for (j = i; j < n && j - i < 254 &&
		     frame_byte(ends, payload, len, j); j++)
			;
		out_byte(&o, (uint8_t)(j - i + 1));
		full = j - i == 254;
		for (; i < j; i++)
			out_byte(&o, frame_byte(ends, payload, len, i));
		if (full)
			continue;       /* no zero to skip */
		if (j == n)
			break;
		i = j + 1;              /* the zero the block stands for */
	}
	out_byte(&o, 0x00);
	if (o.ok && put && o.pos && put(ctx, buf, o.pos) < 0)
		o.ok = 0;
	return o.ok ? o.total : 0;
}

size_t tbp_frame_encode(uint8_t type, uint16_t seq, const void *payload,
			size_t len, uint8_t *out, size_t cap)
{
	return tbp_frame_write(type, seq, payload, len, out, cap, NULL, NULL);
}

void tbp_decoder_init(struct tbp_decoder *d, uint8_t *buf, size_t cap)
{
	memset(d, 0, sizeof(*d));
	d->buf = buf;
	d->cap = cap;
}

void tbp_decoder_reset(struct tbp_decoder *d)
{
	d->len = 0;
	d->discarding = 0;
}

/* The drop counters are in the order of enum tbp_drop, so one increment
 * counts every kind of drop (a device's copy of the decoder is about 100
 * bytes smaller than with one per kind).  Byte arithmetic within the
 * struct, then the uint32_t that is there. */
#define DROP_AT(member, drop) \
	(offsetof(struct tbp_decoder_stats, member) == \
	 offsetof(struct tbp_decoder_stats, overflow) + \
	 ((drop) - TBP_DROP_OVERFLOW) * sizeof(uint32_t))
#define DROP_COUNTER(s, drop) \
	(*(uint32_t *)((unsigned char *)(s) + \
		       offsetof(struct tbp_decoder_stats, overflow) + \
		       ((size_t)(drop) - TBP_DROP_OVERFLOW) * sizeof(uint32_t)))
_Static_assert(DROP_AT(cobs, TBP_DROP_COBS) &&
	       DROP_AT(short_frames, TBP_DROP_SHORT) &&
	       DROP_AT(length, TBP_DROP_LENGTH) && DROP_AT(crc, TBP_DROP_CRC) &&
	       DROP_AT(version, TBP_DROP_VERSION),
	       "struct tbp_decoder_stats must follow enum tbp_drop");

/* Decode the accumulated bytes of one frame in place and validate it:
 * TBP_DROP_NONE, or the enum tbp_drop of why it is dropped. */
static int decode_frame(struct tbp_decoder *d, struct tbp_frame *out)
{
	long n = tbp_cobs_decode(d->buf, d->len, d->buf, d->cap);

	if (n < 0)
		return TBP_DROP_COBS;
	if ((size_t)n < TBP_FRAME_OVERHEAD)
		return TBP_DROP_SHORT;
	out->len = get_le16(d->buf + 4);
	/* A buffer of TBP_WIRE_MAX(TBP_MAX_PAYLOAD) has room for a few bytes
	 * more than the protocol's ceiling: never deliver them. */
	if (out->len > TBP_MAX_PAYLOAD ||
	    (size_t)out->len + TBP_FRAME_OVERHEAD != (size_t)n)
		return TBP_DROP_LENGTH;
	if (tbp_crc32(0, d->buf, (size_t)n - TBP_CRC_SIZE) !=
	    get_le32(d->buf + n - TBP_CRC_SIZE))
		return TBP_DROP_CRC;
	if (d->buf[0] != TBP_VERSION)
		return TBP_DROP_VERSION;
	out->version = d->buf[0];
	out->type = d->buf[1];
	out->seq = get_le16(d->buf + 2);
	out->payload = d->buf + TBP_HDR_SIZE;
	return TBP_DROP_NONE;
}

int tbp_decoder_feed(struct tbp_decoder *d, const uint8_t *data, size_t len,
		     size_t *used, struct tbp_frame *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		uint8_t b = data[i];
		int was_discarding, rc;

		if (b != 0x00) {
			if (d->discarding)
				continue;
			if (d->len >= d->cap) {
				d->discarding = 1;
				d->len = 0;
				d->stats.overflow++;
				*used = i + 1;
				return -TBP_DROP_OVERFLOW;
			}
			d->buf[d->len++] = b;
			continue;
		}
		/* Delimiter: end of a frame, or of garbage being discarded. */
		was_discarding = d->discarding;
		d->discarding = 0;
		if (was_discarding || d->len == 0) {
			d->len = 0;
			continue;
		}
		rc = decode_frame(d, out);
		d->len = 0;
		*used = i + 1;
		if (rc == TBP_DROP_NONE) {
			d->stats.frames++;
			return 1;
		}
		DROP_COUNTER(&d->stats, rc)++;
		return -rc;
	}
	*used = len;
	return 0;
}

/* ----------------------------------------------------------------------
 * Reader / writer
 */
void tbp_writer_init(struct tbp_writer *w, uint8_t *buf, size_t cap)
{
	w->p = buf;
	w->cap = cap;
	w->pos = 0;
	w->ok = 1;
}

static uint8_t *writer_take(struct tbp_writer *w, size_t n)
{
	uint8_t *p;

	if (!w->ok || n > w->cap - w->pos) {
		w->ok = 0;
		return NULL;
	}
	p = w->p + w->pos;
	w->pos += n;
	return p;
}

/* n bytes of v, little-endian: one routine for every width keeps a
 * device's copy of the protocol small. */
static void put_le(struct tbp_writer *w, uint32_t v, size_t n)
{
	uint8_t *p = writer_take(w, n);

	for (size_t i = 0; p && i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

void tbp_put_u8(struct tbp_writer *w, uint8_t v)
{
	put_le(w, v, 1);
}

void tbp_put_u16(struct tbp_writer *w, uint16_t v)
{
	put_le(w, v, 2);
}

void tbp_put_u32(struct tbp_writer *w, uint32_t v)
{
	put_le(w, v, 4);
}

void tbp_put_u64(struct tbp_writer *w, uint64_t v)
{
	put_le(w, (uint32_t)v, 4);
	put_le(w, (uint32_t)(v >> 32), 4);
}

void tbp_put_bytes(struct tbp_writer *w, const void *src, size_t n)
{
	uint8_t *p = writer_take(w, n);

	if (p && n)
		memcpy(p, src, n);
}

void tbp_put_str(struct tbp_writer *w, const char *s, size_t max)
{
	size_t n = 0;

	if (max > 255)
		max = 255;
	while (s && n < max && s[n])
		n++;
	tbp_put_u8(w, (uint8_t)n);
	tbp_put_bytes(w, s, n);
}

void tbp_reader_init(struct tbp_reader *r, const uint8_t *buf, size_t len)
{
	r->p = buf;
	r->len = len;
	r->pos = 0;
	r->ok = 1;
}

const uint8_t *tbp_get_bytes(struct tbp_reader *r, size_t n)
{
	const uint8_t *p;

	if (!r->ok || n > r->len - r->pos) {
		r->ok = 0;
		return NULL;
	}
	p = r->p + r->pos;
	r->pos += n;
	return p;
}

static uint32_t get_le(struct tbp_reader *r, size_t n)
{
	const uint8_t *p = tbp_get_bytes(r, n);
	uint32_t v = 0;

	while (p && n--)
		v = v << 8 | p[n];
	return v;
}

uint8_t tbp_get_u8(struct tbp_reader *r)
{
	return (uint8_t)get_le(r, 1);
}

uint16_t tbp_get_u16(struct tbp_reader *r)
{
	return (uint16_t)get_le(r, 2);
}

uint32_t tbp_get_u32(struct tbp_reader *r)
{
	return get_le(r, 4);
}

uint64_t tbp_get_u64(struct tbp_reader *r)
{
	uint64_t lo = get_le(r, 4);

	return lo | (uint64_t)get_le(r, 4) << 32;
}

void tbp_get_str(struct tbp_reader *r, char *dst, size_t max)
{
	uint8_t n = tbp_get_u8(r);
	const uint8_t *p;

	dst[0] = '\0';
	if (!r->ok)
		return;
	if (n > max) {
		r->ok = 0;
		return;
	}
	p = tbp_get_bytes(r, n);
	if (!p)
		return;
	for (uint8_t i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] > 0x7E) {
			r->ok = 0;
			dst[0] = '\0';
			return;
		}
		dst[i] = (char)p[i];
	}
	dst[n] = '\0';
}

int tbp_reader_done(const struct tbp_reader *r)
{
	return r->ok && r->pos == r->len;
}

/* ----------------------------------------------------------------------
 * Messages.  Encoders walk a table of each message's fields, (kind,
 * offset in its struct) pairs, with one writer: a device's copy of the
 * protocol holds two bytes per field of the replies it writes instead of a
 * call per field.  Decoders read field by field and check what they read;
 * the round-trip tests hold the two to the same layout.
 */
#define F_END   0x00
#define F_U8    0x01
#define F_U16   0x02
#define F_U32   0x04
#define F_U64   0x08
#define F_BYTES 0x40    /* | n: n raw bytes (n < 64) */
#define F_STR   0x80    /* | max: a str of at most max chars (max < 128) */
#define F(kind, type, member) (kind), offsetof(type, member)

_Static_assert(offsetof(struct tbp_hello_rsp, n_workloads) < 256 &&
	       offsetof(struct tbp_workload_info, model_hash) < 256 &&
	       offsetof(struct tbp_infer_rsp, output_len) < 256 &&
	       offsetof(struct tbp_error, message) < 256,
	       "field offsets must fit the tables' bytes");
_Static_assert(TBP_STR_ERROR < 128 && TBP_HASH_SIZE < 64,
	       "string and byte lengths must fit the tables' kinds");

static const uint8_t hello_fields[] = {
	F(F_U16, struct tbp_hello, proto_version), F_END
};
static const uint8_t hello_rsp_fields[] = {
	F(F_U16, struct tbp_hello_rsp, proto_version),
	F(F_U8, struct tbp_hello_rsp, flags),
	F(F_U8, struct tbp_hello_rsp, window),
	F(F_U16, struct tbp_hello_rsp, max_payload),
	F(F_U32, struct tbp_hello_rsp, clock_hz),
	F(F_U32, struct tbp_hello_rsp, timer_hz),
	F(F_U32, struct tbp_hello_rsp, max_input),
	F(F_U32, struct tbp_hello_rsp, stack_size),
	F(F_U32, struct tbp_hello_rsp, arena_size),
	F(F_STR | TBP_STR_BOARD, struct tbp_hello_rsp, board),
	F(F_STR | TBP_STR_CPU, struct tbp_hello_rsp, cpu),
	F(F_STR | TBP_STR_VERSION, struct tbp_hello_rsp, runner_version),
	F(F_STR | TBP_STR_BUILD, struct tbp_hello_rsp, build_id),
	F(F_U8, struct tbp_hello_rsp, n_workloads),
	F_END
};
static const uint8_t workload_fields[] = {
	F(F_U8, struct tbp_workload_info, id),
	F(F_STR | TBP_STR_WL_NAME, struct tbp_workload_info, name),
	F(F_U8, struct tbp_workload_info, input_dtype),
	F(F_U8, struct tbp_workload_info, output_dtype),
	F(F_U32, struct tbp_workload_info, input_size),
	F(F_U32, struct tbp_workload_info, output_size),
	F(F_U32, struct tbp_workload_info, arena_size),
	F(F_BYTES | TBP_HASH_SIZE, struct tbp_workload_info, model_hash),
	F_END
};
static const uint8_t load_begin_fields[] = {
	F(F_U32, struct tbp_load_begin, total),
	F(F_U32, struct tbp_load_begin, crc),
	F_END
};
/* followed by the data: the rest of the payload */
static const uint8_t load_chunk_fields[] = {
	F(F_U32, struct tbp_load_chunk, offset),
	F(F_U8, struct tbp_load_chunk, flags),
	F_END
};
static const uint8_t load_ack_fields[] = {
	F(F_U32, struct tbp_load_ack, next_offset),
	F(F_U8, struct tbp_load_ack, status),
	F_END
};
static const uint8_t infer_fields[] = {
	F(F_U8, struct tbp_infer, workload_id),
	F(F_U8, struct tbp_infer, flags),
	F(F_U32, struct tbp_infer, count),
	F(F_U32, struct tbp_infer, warmups),
	F_END
};
/* followed by output_len bytes of output */
static const uint8_t infer_rsp_fields[] = {
	F(F_U8, struct tbp_infer_rsp, workload_id),
	F(F_U32, struct tbp_infer_rsp, count),
	F(F_U64, struct tbp_infer_rsp, total_ticks),
	F(F_U64, struct tbp_infer_rsp, min_ticks),
	F(F_U64, struct tbp_infer_rsp, max_ticks),
	F(F_U32, struct tbp_infer_rsp, stack_used),
	F(F_U32, struct tbp_infer_rsp, stack_size),
	F(F_U32, struct tbp_infer_rsp, arena_used),
	F(F_U32, struct tbp_infer_rsp, arena_size),
	F(F_U32, struct tbp_infer_rsp, input_crc),
	F(F_U16, struct tbp_infer_rsp, output_len),
	F_END
};
static const uint8_t error_fields[] = {
	F(F_U16, struct tbp_error, code),
	F(F_U32, struct tbp_error, detail),
	F(F_STR | TBP_STR_ERROR, struct tbp_error, message),
	F_END
};

static void put_fields(struct tbp_writer *w, const void *m, const uint8_t *f)
{
	for (; *f; f += 2) {
		const uint8_t *p = (const uint8_t *)m + f[1];

		if (*f & F_STR)
			tbp_put_str(w, (const char *)p, *f & 0x7F);
		else if (*f & F_BYTES)
			tbp_put_bytes(w, p, *f & 0x3F);
		else if (*f == F_U8)
			put_le(w, *p, 1);
		else if (*f == F_U16)
			put_le(w, *(const uint16_t *)p, 2);
		else if (*f == F_U32)
			put_le(w, *(const uint32_t *)p, 4);
		else
			tbp_put_u64(w, *(const uint64_t *)p);
	}
}

/* A whole message: the fields, then n bytes (0 for most). */
static size_t encode(const void *m, const uint8_t *f, const void *data,
		     size_t n, uint8_t *buf, size_t cap)
{
	struct tbp_writer w;

	tbp_writer_init(&w, buf, cap);
	put_fields(&w, m, f);
	tbp_put_bytes(&w, data, n);
	return w.ok ? w.pos : 0;
}

size_t tbp_hello_encode(const struct tbp_hello *m, uint8_t *buf, size_t cap)
{
	return encode(m, hello_fields, NULL, 0, buf, cap);
}

/* The requests a device decodes have a fixed layout: their decoders check
 * the length and read each field at its offset. */
int tbp_hello_decode(const uint8_t *p, size_t len, struct tbp_hello *m)
{
	if (len != 2)
		return -1;
	m->proto_version = get_le16(p);
	return 0;
}

void tbp_hello_rsp_begin(struct tbp_writer *w, const struct tbp_hello_rsp *m)
{
	put_fields(w, m, hello_rsp_fields);
}

/* One table serves both structs: the head's members sit at the offsets
 * they have in struct tbp_hello_rsp. */
#define SAME_OFFSET(mb) \
	offsetof(struct tbp_hello_rsp_head, mb) == offsetof(struct tbp_hello_rsp, mb)
_Static_assert(SAME_OFFSET(proto_version) && SAME_OFFSET(flags) &&
	       SAME_OFFSET(window) && SAME_OFFSET(max_payload) &&
	       SAME_OFFSET(clock_hz) && SAME_OFFSET(timer_hz) &&
	       SAME_OFFSET(max_input) && SAME_OFFSET(stack_size) &&
	       SAME_OFFSET(arena_size) && SAME_OFFSET(board) && SAME_OFFSET(cpu) &&
	       SAME_OFFSET(runner_version) && SAME_OFFSET(build_id) &&
	       SAME_OFFSET(n_workloads),
	       "struct tbp_hello_rsp_head must match struct tbp_hello_rsp");

void tbp_hello_rsp_begin_head(struct tbp_writer *w,
			      const struct tbp_hello_rsp_head *m)
{
	put_fields(w, m, hello_rsp_fields);
}

void tbp_hello_rsp_add_workload(struct tbp_writer *w,
				const struct tbp_workload_info *wl)
{
	put_fields(w, wl, workload_fields);
}

size_t tbp_hello_rsp_finish(struct tbp_writer *w)
{
	return w->ok ? w->pos : 0;
}

int tbp_hello_rsp_decode(const uint8_t *p, size_t len, struct tbp_hello_rsp *m)
{
	struct tbp_reader r;

	memset(m, 0, sizeof(*m));
	tbp_reader_init(&r, p, len);
	m->proto_version = tbp_get_u16(&r);
	m->flags = tbp_get_u8(&r);
	m->window = tbp_get_u8(&r);
	m->max_payload = tbp_get_u16(&r);
	m->clock_hz = tbp_get_u32(&r);
	m->timer_hz = tbp_get_u32(&r);
	m->max_input = tbp_get_u32(&r);
	m->stack_size = tbp_get_u32(&r);
	m->arena_size = tbp_get_u32(&r);
	tbp_get_str(&r, m->board, TBP_STR_BOARD);
	tbp_get_str(&r, m->cpu, TBP_STR_CPU);
	tbp_get_str(&r, m->runner_version, TBP_STR_VERSION);
	tbp_get_str(&r, m->build_id, TBP_STR_BUILD);
	m->n_workloads = tbp_get_u8(&r);
	if (m->n_workloads > TBP_MAX_WORKLOADS)
		return -1;
	for (unsigned i = 0; i < m->n_workloads && r.ok; i++) {
		struct tbp_workload_info *wl = &m->workloads[i];
		const uint8_t *h;

		wl->id = tbp_get_u8(&r);
		tbp_get_str(&r, wl->name, TBP_STR_WL_NAME);
		wl->input_dtype = tbp_get_u8(&r);
		wl->output_dtype = tbp_get_u8(&r);
		wl->input_size = tbp_get_u32(&r);
		wl->output_size = tbp_get_u32(&r);
		wl->arena_size = tbp_get_u32(&r);
		h = tbp_get_bytes(&r, TBP_HASH_SIZE);
		if (h)
			memcpy(wl->model_hash, h, TBP_HASH_SIZE);
	}
	/* Semantic checks: a device that claims nonsense is not trusted. */
	if (r.ok && (m->timer_hz == 0 || m->max_payload < TBP_CHUNK_HDR + 1 ||
		     m->window == 0))
		return -1;
	return tbp_reader_done(&r) ? 0 : -1;
}

size_t tbp_load_begin_encode(const struct tbp_load_begin *m, uint8_t *buf, size_t cap)
{
	return encode(m, load_begin_fields, NULL, 0, buf, cap);
}

int tbp_load_begin_decode(const uint8_t *p, size_t len, struct tbp_load_begin *m)
{
	if (len != 8)
		return -1;
	m->total = get_le32(p);
	m->crc = get_le32(p + 4);
	return 0;
}

size_t tbp_load_chunk_encode(const struct tbp_load_chunk *m, uint8_t *buf, size_t cap)
{
	return encode(m, load_chunk_fields, m->data, m->len, buf, cap);
}

int tbp_load_chunk_decode(const uint8_t *p, size_t len, struct tbp_load_chunk *m)
{
	/* The data is the rest of the payload: 1..65535 bytes. */
	if (len <= TBP_CHUNK_HDR || len - TBP_CHUNK_HDR > 0xFFFF)
		return -1;
	m->len = (uint16_t)(len - TBP_CHUNK_HDR);
	m->data = p + TBP_CHUNK_HDR;
	m->offset = get_le32(p);
	m->flags = p[4];
	return 0;
}

size_t tbp_load_ack_encode(const struct tbp_load_ack *m, uint8_t *buf, size_t cap)
{
	return encode(m, load_ack_fields, NULL, 0, buf, cap);
}

int tbp_load_ack_decode(const uint8_t *p, size_t len, struct tbp_load_ack *m)
{
	struct tbp_reader r;

	tbp_reader_init(&r, p, len);
	m->next_offset = tbp_get_u32(&r);
	m->status = tbp_get_u8(&r);
	if (m->status > TBP_LOAD_DONE)
		return -1;
	return tbp_reader_done(&r) ? 0 : -1;
}

size_t tbp_infer_encode(const struct tbp_infer *m, uint8_t *buf, size_t cap)
{
	return encode(m, infer_fields, NULL, 0, buf, cap);
}

int tbp_infer_decode(const uint8_t *p, size_t len, struct tbp_infer *m)
{
	if (len != 10)
		return -1;
	m->workload_id = p[0];
	m->flags = p[1];
	m->count = get_le32(p + 2);
	m->warmups = get_le32(p + 6);
	return 0;
}

size_t tbp_infer_rsp_encode(const struct tbp_infer_rsp *m, uint8_t *buf, size_t cap)
{
	return encode(m, infer_rsp_fields, m->output, m->output_len, buf, cap);
}

int tbp_infer_rsp_decode(const uint8_t *p, size_t len, struct tbp_infer_rsp *m)
{
	struct tbp_reader r;

	tbp_reader_init(&r, p, len);
	m->workload_id = tbp_get_u8(&r);
	m->count = tbp_get_u32(&r);
	m->total_ticks = tbp_get_u64(&r);
	m->min_ticks = tbp_get_u64(&r);
	m->max_ticks = tbp_get_u64(&r);
	m->stack_used = tbp_get_u32(&r);
	m->stack_size = tbp_get_u32(&r);
	m->arena_used = tbp_get_u32(&r);
	m->arena_size = tbp_get_u32(&r);
	m->input_crc = tbp_get_u32(&r);
	m->output_len = tbp_get_u16(&r);
	m->output = tbp_get_bytes(&r, m->output_len);
	if (!r.ok)
		return -1;
	/* Values that cannot be true of any real run. */
	if (m->count == 0 || m->stack_used > m->stack_size ||
	    m->arena_used > m->arena_size || m->min_ticks > m->max_ticks ||
	    (m->max_ticks && m->max_ticks > m->total_ticks))
		return -1;
	return tbp_reader_done(&r) ? 0 : -1;
}

size_t tbp_error_encode(const struct tbp_error *m, uint8_t *buf, size_t cap)
{
	return encode(m, error_fields, NULL, 0, buf, cap);
}

int tbp_error_decode(const uint8_t *p, size_t len, struct tbp_error *m)
{
	struct tbp_reader r;

	tbp_reader_init(&r, p, len);
	m->code = tbp_get_u16(&r);
	m->detail = tbp_get_u32(&r);
	tbp_get_str(&r, m->message, TBP_STR_ERROR);
	return tbp_reader_done(&r) ? 0 : -1;
}

const char *tbp_type_name(uint8_t type)
{
	switch (type) {
	case TBP_HELLO:      return "HELLO";
	case TBP_LOAD_BEGIN: return "LOAD_BEGIN";
	case TBP_LOAD_CHUNK: return "LOAD_CHUNK";
	case TBP_INFER:      return "INFER";
	case TBP_RESET:      return "RESET";
	case TBP_HELLO_RSP:  return "HELLO_RSP";
	case TBP_LOAD_ACK:   return "LOAD_ACK";
	case TBP_INFER_RSP:  return "INFER_RSP";
	case TBP_RESET_RSP:  return "RESET_RSP";
	case TBP_ERROR:      return "ERROR";
	}
	return "unknown";
}

const char *tbp_error_name(uint16_t code)
{
	switch (code) {
	case TBP_E_UNKNOWN_TYPE:     return "unknown message type";
	case TBP_E_BAD_PAYLOAD:      return "malformed payload";
	case TBP_E_VERSION:          return "unsupported protocol version";
	case TBP_E_TOO_LARGE:        return "input too large";
	case TBP_E_NO_LOAD:          return "chunk without load";
	case TBP_E_INPUT_CRC:        return "input CRC mismatch";
	case TBP_E_NO_INPUT:         return "no input loaded";
	case TBP_E_INPUT_SIZE:       return "input size does not match workload";
	case TBP_E_UNKNOWN_WORKLOAD: return "unknown workload";
	case TBP_E_INVOKE:           return "inference failed";
	case TBP_E_BAD_ARG:          return "argument out of range";
	case TBP_E_ARENA:            return "arena too small";
	}
	return "unknown error";
}

const char *tbp_drop_name(int drop)
{
	if (drop < 0)
		drop = -drop;
	switch (drop) {
	case TBP_DROP_NONE:     return "none";
	case TBP_DROP_OVERFLOW: return "frame too long";
	case TBP_DROP_COBS:     return "bad COBS encoding";
	case TBP_DROP_SHORT:    return "frame too short";
	case TBP_DROP_LENGTH:   return "length field mismatch";
	case TBP_DROP_CRC:      return "CRC mismatch";
	case TBP_DROP_VERSION:  return "unknown frame version";
	}
	return "unknown";
}
