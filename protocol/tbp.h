/*
 * tbp.h - the tinybench wire protocol, shared by the harness and the runner.
 *
 * This header and tbp.c are the whole protocol implementation; both sides
 * compile the same two files.  docs/PROTOCOL.md is the prose specification.
 *
 * Layers:
 *   frame   := version u8 | type u8 | seq u16 | len u16 | payload[len] | crc32 u32
 *   wire    := COBS(frame) 0x00
 * All integers are little-endian.  The CRC is CRC-32 (IEEE 802.3, reflected,
 * init and final xor 0xFFFFFFFF) over version..payload.  COBS removes every
 * zero byte from the frame, so 0x00 only ever appears as the delimiter and a
 * receiver that lost bytes resynchronises at the next 0x00.
 *
 * Device-safe C11: no allocation, no stdio.  Every function works on
 * caller-owned buffers and never reads or writes outside the lengths it is
 * given.  Decoders treat their input as untrusted: every length and field is
 * checked, strings must be printable ASCII, counts must fit the arrays.
 *
 * Wire codes (message types, error codes, flags) have explicit values and
 * are only ever appended to.
 */
#ifndef TBP_H
#define TBP_H

#include <stddef.h>
#include <stdint.h>

#define TBP_VERSION        1

#define TBP_HDR_SIZE       6
#define TBP_CRC_SIZE       4
#define TBP_FRAME_OVERHEAD (TBP_HDR_SIZE + TBP_CRC_SIZE)
/* Protocol ceiling on one frame's payload.  Peers advertise a smaller
 * limit for what they can receive (struct tbp_hello_rsp.max_payload). */
#define TBP_MAX_PAYLOAD    4096u

/* Worst-case COBS output for n input bytes (one code byte per 254 bytes of
 * data plus the leading one). */
#define TBP_COBS_MAX(n)    ((n) + (n) / 254u + 1u)
/* Worst-case wire bytes for a frame with payload p, including delimiter. */
#define TBP_WIRE_MAX(p)    (TBP_COBS_MAX((p) + TBP_FRAME_OVERHEAD) + 1u)

/* Message types.  Replies have the top bit set. */
enum tbp_type {
	TBP_HELLO          = 0x01, /* host -> device: who are you */
	TBP_LOAD_BEGIN     = 0x02, /* host -> device: an input of N bytes follows */
	TBP_LOAD_CHUNK     = 0x03, /* host -> device: bytes at an offset */
	TBP_INFER          = 0x04, /* host -> device: W warm-ups, then N timed */
	TBP_RESET          = 0x05, /* host -> device: reset the runner */

	TBP_HELLO_RSP      = 0x81,
	TBP_LOAD_ACK       = 0x82,
	TBP_INFER_RSP      = 0x84,
	TBP_RESET_RSP      = 0x85,
	TBP_ERROR          = 0xFF, /* device -> host: request refused */
};

/* Error codes carried in TBP_ERROR. */
enum tbp_error_code {
	TBP_E_UNKNOWN_TYPE     = 1,  /* message type not understood */
	TBP_E_BAD_PAYLOAD      = 2,  /* payload too short/long or malformed */
	TBP_E_VERSION          = 3,  /* protocol version not supported */
	TBP_E_TOO_LARGE        = 4,  /* input larger than max_input */
	TBP_E_NO_LOAD          = 5,  /* chunk without a LOAD_BEGIN */
	TBP_E_INPUT_CRC        = 6,  /* assembled input fails its CRC */
	TBP_E_NO_INPUT         = 7,  /* INFER without a complete input */
	TBP_E_INPUT_SIZE       = 8,  /* input size differs from the workload's */
	TBP_E_UNKNOWN_WORKLOAD = 9,  /* no such workload id */
	TBP_E_INVOKE           = 10, /* the workload returned an error */
	TBP_E_BAD_ARG          = 11, /* a field value is out of range */
	TBP_E_ARENA            = 12, /* arena too small for the workload */
};

/* LOAD_CHUNK flags */
#define TBP_CHUNK_ACK_REQ  0x01u /* reply with LOAD_ACK after this chunk */

/* LOAD_ACK status */
enum tbp_load_status {
	TBP_LOAD_PROGRESS = 0, /* next_offset bytes received in order */
	TBP_LOAD_GAP      = 1, /* a chunk did not start at next_offset: resend */
	TBP_LOAD_DONE     = 2, /* all bytes received and the CRC matches */
};

/* INFER flags */
#define TBP_INFER_PER_INFERENCE 0x01u /* also time each inference (min/max) */

/* HELLO_RSP capability flags */
#define TBP_CAP_TIMESTAMP_PIN   0x01u /* drives a timestamp GPIO around the window */
#define TBP_CAP_PER_INFERENCE   0x02u /* supports TBP_INFER_PER_INFERENCE */
#define TBP_CAP_TICKS_ARE_INSNS 0x04u /* timer counts instructions (emulator) */
/* The port keeps receiving while an INFER runs (an interrupt- or DMA-fed
 * buffer, a pty): the host may send the next upload right behind an INFER
 * (docs/PROTOCOL.md, "Pipelined uploads"). */
#define TBP_CAP_RX_BUFFERED     0x08u

/* Limits of decoded strings (bytes, excluding the terminator) and lists. */
#define TBP_STR_BOARD      32
#define TBP_STR_CPU        32
#define TBP_STR_VERSION    16
#define TBP_STR_BUILD      40
#define TBP_STR_WL_NAME    16
#define TBP_STR_ERROR      96
#define TBP_MAX_WORKLOADS  16
#define TBP_HASH_SIZE      32

/* Element types are those of workloads/tb_workload.h (enum tb_dtype). */

/* ----------------------------------------------------------------------
 * Checksums and COBS
 */

/* CRC-32/IEEE.  Start with crc = 0 and feed pieces; the result of one call
 * can be passed as crc to continue. */
uint32_t tbp_crc32(uint32_t crc, const void *data, size_t len);

/* COBS-encode len bytes into out (cap bytes).  Returns the encoded length
 * (without delimiter), or 0 if cap is too small. */
size_t tbp_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/* COBS-decode len bytes (no delimiter) into out; out may equal in (decoding
 * in place is safe).  Returns the decoded length, or -1 if the input is not
 * valid COBS (a zero byte, or a code running past the end) or does not fit. */
long tbp_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/* ----------------------------------------------------------------------
 * Frames
 */

struct tbp_frame {
	uint8_t version;
	uint8_t type;
	uint16_t seq;
	uint16_t len;
	const uint8_t *payload; /* points into the decoder's buffer */
};

/* Encode one frame onto the wire: COBS(header|payload|crc) then 0x00.
 * Returns the number of wire bytes written to out, or 0 if cap is too small
 * (use TBP_WIRE_MAX(len)) or len > TBP_MAX_PAYLOAD. */
size_t tbp_frame_encode(uint8_t type, uint16_t seq, const void *payload,
			size_t len, uint8_t *out, size_t cap);

/* The same wire bytes, written without room for the whole frame (a device
 * with little RAM): they are staged in buf (cap >= 1 bytes) and handed to
 * put(ctx, buf, n) each time buf is full and once at the end; put()
 * returns < 0 to give up.  Returns the number of wire bytes, 0 if len >
 * TBP_MAX_PAYLOAD or put() failed.  With put NULL this is
 * tbp_frame_encode() (0 when the frame does not fit buf). */
size_t tbp_frame_write(uint8_t type, uint16_t seq, const void *payload,
		       size_t len, uint8_t *buf, size_t cap,
		       int (*put)(void *ctx, const uint8_t *p, size_t n),
		       void *ctx);

/* Why a received frame was dropped. */
enum tbp_drop {
	TBP_DROP_NONE     = 0,
	TBP_DROP_OVERFLOW = 1, /* more bytes than the buffer before a delimiter */
	TBP_DROP_COBS     = 2, /* invalid COBS encoding */
	TBP_DROP_SHORT    = 3, /* shorter than header + CRC */
	TBP_DROP_LENGTH   = 4, /* len field disagrees with the frame size,
				* or over TBP_MAX_PAYLOAD */
	TBP_DROP_CRC      = 5, /* checksum mismatch */
	TBP_DROP_VERSION  = 6, /* version byte not TBP_VERSION */
};

struct tbp_decoder_stats {
	uint32_t frames;    /* good frames delivered */
	uint32_t overflow;
	uint32_t cobs;
	uint32_t short_frames;
	uint32_t length;
	uint32_t crc;
	uint32_t version;
};

/* Streaming decoder.  The caller supplies the buffer; a buffer of
 * TBP_WIRE_MAX(max_payload) bytes holds any frame of up to max_payload.
 * Bytes of an oversized frame are discarded up to the next delimiter. */
struct tbp_decoder {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int discarding;
	struct tbp_decoder_stats stats;
};

void tbp_decoder_init(struct tbp_decoder *d, uint8_t *buf, size_t cap);

/* Drop any partial frame (e.g. after a reset of the peer). */
void tbp_decoder_reset(struct tbp_decoder *d);

/* Feed up to len bytes.  Stops after the first complete frame or drop.
 * *used is set to the number of bytes consumed; feed the rest next call.
 * Returns 1 when *out holds a good frame (valid until the next call),
 * 0 when all bytes were consumed without completing a frame, or
 * -enum tbp_drop when a frame was dropped (stats updated). */
int tbp_decoder_feed(struct tbp_decoder *d, const uint8_t *data, size_t len,
		     size_t *used, struct tbp_frame *out);

/* ----------------------------------------------------------------------
 * Payload reader/writer: bounds-checked little-endian fields.  After an
 * overrun the object is marked bad and every later call is a no-op; check
 * ok once at the end.
 */

struct tbp_writer {
	uint8_t *p;
	size_t cap;
	size_t pos;
	int ok;
};

struct tbp_reader {
	const uint8_t *p;
	size_t len;
	size_t pos;
	int ok;
};

void tbp_writer_init(struct tbp_writer *w, uint8_t *buf, size_t cap);
void tbp_put_u8(struct tbp_writer *w, uint8_t v);
void tbp_put_u16(struct tbp_writer *w, uint16_t v);
void tbp_put_u32(struct tbp_writer *w, uint32_t v);
void tbp_put_u64(struct tbp_writer *w, uint64_t v);
void tbp_put_bytes(struct tbp_writer *w, const void *src, size_t n);
/* u8 length + bytes; strings longer than max are truncated to max. */
void tbp_put_str(struct tbp_writer *w, const char *s, size_t max);

void tbp_reader_init(struct tbp_reader *r, const uint8_t *buf, size_t len);
uint8_t tbp_get_u8(struct tbp_reader *r);
uint16_t tbp_get_u16(struct tbp_reader *r);
uint32_t tbp_get_u32(struct tbp_reader *r);
uint64_t tbp_get_u64(struct tbp_reader *r);
/* Returns a pointer to n bytes inside the reader's buffer, or NULL. */
const uint8_t *tbp_get_bytes(struct tbp_reader *r, size_t n);
/* Reads a u8-length string into dst (max chars + NUL).  Marks the reader
 * bad if longer than max or not printable ASCII (0x20..0x7E). */
void tbp_get_str(struct tbp_reader *r, char *dst, size_t max);
/* True when every read was in bounds and all bytes were consumed. */
int tbp_reader_done(const struct tbp_reader *r);

/* ----------------------------------------------------------------------
 * Messages.  *_encode() write a payload and return its length (0 when it
 * does not fit); *_decode() parse a payload and return 0, or -1 when it is
 * malformed (wrong length, bad string, count out of range, value out of
 * range).  Decoded pointers point into the payload.
 */

struct tbp_hello {
	uint16_t proto_version; /* highest version the host speaks */
};

struct tbp_workload_info {
	uint8_t id;
	char name[TBP_STR_WL_NAME + 1];
	uint8_t input_dtype;
	uint8_t output_dtype;
	uint32_t input_size;
	uint32_t output_size;
	uint32_t arena_size;     /* planned arena bytes */
	uint8_t model_hash[TBP_HASH_SIZE];
};

struct tbp_hello_rsp {
	uint16_t proto_version;
	uint8_t flags;           /* TBP_CAP_* */
	uint8_t window;          /* chunks the host may have in flight */
	uint16_t max_payload;    /* largest payload the device can receive */
	uint32_t clock_hz;       /* CPU clock, 0 if unknown */
	uint32_t timer_hz;       /* tick rate of the elapsed-time counter */
	uint32_t max_input;      /* largest input in bytes */
	uint32_t stack_size;     /* painted inference stack */
	uint32_t arena_size;     /* tensor arena */
	char board[TBP_STR_BOARD + 1];
	char cpu[TBP_STR_CPU + 1];
	char runner_version[TBP_STR_VERSION + 1];
	char build_id[TBP_STR_BUILD + 1];
	uint8_t n_workloads;
	struct tbp_workload_info workloads[TBP_MAX_WORKLOADS];
};

/* The fixed part of HELLO_RSP alone (everything before the workload list):
 * what a device fills in for tbp_hello_rsp_begin_head(), without the
 * room of the whole list on its stack.  The same members in the same order
 * as struct tbp_hello_rsp (tbp.c checks every offset). */
struct tbp_hello_rsp_head {
	uint16_t proto_version;
	uint8_t flags;
	uint8_t window;
	uint16_t max_payload;
	uint32_t clock_hz;
	uint32_t timer_hz;
	uint32_t max_input;
	uint32_t stack_size;
	uint32_t arena_size;
	char board[TBP_STR_BOARD + 1];
	char cpu[TBP_STR_CPU + 1];
	char runner_version[TBP_STR_VERSION + 1];
	char build_id[TBP_STR_BUILD + 1];
	uint8_t n_workloads;
};

struct tbp_load_begin {
	uint32_t total;          /* bytes that follow */
	uint32_t crc;            /* tbp_crc32(0, data, total) */
};

struct tbp_load_chunk {
	uint32_t offset;
	uint8_t flags;           /* TBP_CHUNK_* */
	uint16_t len;
	const uint8_t *data;
};

struct tbp_load_ack {
	uint32_t next_offset;    /* bytes received in order so far */
	uint8_t status;          /* enum tbp_load_status */
};

struct tbp_infer {
	uint8_t workload_id;
	uint8_t flags;           /* TBP_INFER_* */
	uint32_t count;          /* timed inferences, >= 1 */
	uint32_t warmups;
};

struct tbp_infer_rsp {
	uint8_t workload_id;
	uint32_t count;
	uint64_t total_ticks;    /* elapsed timer ticks for all count inferences */
	uint64_t min_ticks;      /* fastest single inference, 0 if not timed */
	uint64_t max_ticks;      /* slowest single inference, 0 if not timed */
	uint32_t stack_used;     /* stack high-water of the inference, bytes */
	uint32_t stack_size;
	uint32_t arena_used;     /* arena high-water, bytes */
	uint32_t arena_size;
	uint32_t input_crc;      /* CRC-32 of the input the runs used */
	uint16_t output_len;
	const uint8_t *output;
};

struct tbp_error {
	uint16_t code;           /* enum tbp_error_code */
	uint32_t detail;         /* a number that helps (expected size...) */
	char message[TBP_STR_ERROR + 1];
};

size_t tbp_hello_encode(const struct tbp_hello *m, uint8_t *buf, size_t cap);
int tbp_hello_decode(const uint8_t *p, size_t len, struct tbp_hello *m);

/* HELLO_RSP is written in two steps so that a device never needs the whole
 * struct (workload list included) in RAM: the fixed part (m->workloads is
 * not read, m->n_workloads is), then exactly n_workloads calls of
 * add_workload(); tbp_hello_rsp_finish() returns the payload length, 0 if
 * it did not fit.  The decoder rejects a count that disagrees with the
 * payload. */
void tbp_hello_rsp_begin(struct tbp_writer *w, const struct tbp_hello_rsp *m);
/* The same from the fixed part alone (a device's way). */
void tbp_hello_rsp_begin_head(struct tbp_writer *w,
			      const struct tbp_hello_rsp_head *m);
void tbp_hello_rsp_add_workload(struct tbp_writer *w,
				const struct tbp_workload_info *wl);
size_t tbp_hello_rsp_finish(struct tbp_writer *w);
int tbp_hello_rsp_decode(const uint8_t *p, size_t len, struct tbp_hello_rsp *m);

size_t tbp_load_begin_encode(const struct tbp_load_begin *m, uint8_t *buf, size_t cap);
int tbp_load_begin_decode(const uint8_t *p, size_t len, struct tbp_load_begin *m);

/* Chunk header size: payload = header + data. */
#define TBP_CHUNK_HDR 5
size_t tbp_load_chunk_encode(const struct tbp_load_chunk *m, uint8_t *buf, size_t cap);
int tbp_load_chunk_decode(const uint8_t *p, size_t len, struct tbp_load_chunk *m);

size_t tbp_load_ack_encode(const struct tbp_load_ack *m, uint8_t *buf, size_t cap);
int tbp_load_ack_decode(const uint8_t *p, size_t len, struct tbp_load_ack *m);

size_t tbp_infer_encode(const struct tbp_infer *m, uint8_t *buf, size_t cap);
int tbp_infer_decode(const uint8_t *p, size_t len, struct tbp_infer *m);

size_t tbp_infer_rsp_encode(const struct tbp_infer_rsp *m, uint8_t *buf, size_t cap);
int tbp_infer_rsp_decode(const uint8_t *p, size_t len, struct tbp_infer_rsp *m);

size_t tbp_error_encode(const struct tbp_error *m, uint8_t *buf, size_t cap);
int tbp_error_decode(const uint8_t *p, size_t len, struct tbp_error *m);

/* Static names for logs and error messages; never NULL. */
const char *tbp_type_name(uint8_t type);
const char *tbp_error_name(uint16_t code);
const char *tbp_drop_name(int drop);

#endif
