/*
 * tb_link.h - the host end of the tinybench protocol (protocol/tbp.h).
 *
 * A link sits on a transport and turns requests into validated replies.
 * The device is untrusted input: every reply is checked for its sequence
 * number, type, length and field values before anything is believed, and
 * damaged frames are dropped and counted, never acted on.
 *
 * Ownership: the link borrows the transport (the caller closes it after
 * tb_link_free()).  Pointers inside returned structs (tbp_infer_rsp.output)
 * point into the link and stay valid until the next call on it.
 * Not thread-safe: one link is used by one thread at a time.
 */
#ifndef TB_LINK_H
#define TB_LINK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "tb_err.h"
#include "tbp.h"

struct tb_transport;
struct tb_link;

struct tb_link_config {
	/* Line rate in bytes per second, used to scale timeouts to the data
	 * in flight; 0 for links that are not rate-limited (ptys, sockets). */
	uint32_t bytes_per_sec;
	int hello_timeout_ms;   /* per attempt; 0 = default (1000) */
	int hello_attempts;     /* 0 = default (3) */
	int ack_timeout_ms;     /* base wait for a LOAD_ACK; 0 = default (1000) */
	int max_retries;        /* upload retransmissions; 0 = default (8) */
	/* Optional: polled while waiting; a non-zero value aborts the wait
	 * with TB_ERR_INTERRUPTED (set it from a signal handler). */
	volatile sig_atomic_t *cancel;
};

/* What one upload cost on the wire. */
struct tb_upload_stats {
	uint32_t payload_bytes;  /* input bytes delivered */
	uint64_t wire_out;       /* bytes host -> device, all frames of the upload */
	uint64_t wire_in;        /* bytes device -> host */
	uint32_t chunks;         /* LOAD_CHUNK frames sent, resends included */
	uint32_t resent_chunks;
	uint32_t round_trips;    /* times the host stopped and waited for a reply */
	uint32_t chunk_size;     /* data bytes per chunk */
	uint32_t window;         /* chunks in flight */
};

/* Counters over the life of the link. */
struct tb_link_stats {
	uint32_t frames_in;
	uint32_t frames_dropped; /* bad CRC, COBS, length, version, overflow */
	uint32_t stale_frames;   /* good frames with an unexpected seq */
	uint32_t timeouts;
	uint32_t retries;        /* requests repeated after a damaged or lost reply
				  * (an INFER repeat re-runs the batch), and
				  * upload chunks sent again */
};

int tb_link_new(struct tb_transport *t, const struct tb_link_config *cfg,
		struct tb_link **out, struct tb_error *err);
void tb_link_free(struct tb_link *l);

/* HELLO with retries.  On success *caps is filled and validated (version,
 * sizes, strings, workload list) and kept in the link for later checks. */
int tb_link_hello(struct tb_link *l, struct tbp_hello_rsp *caps,
		  struct tb_error *err);

/* Upload an input (sliding window of chunks, go-back-N on gaps and
 * timeouts, CRC-32 checked by the device).  st may be NULL. */
int tb_link_upload(struct tb_link *l, const void *data, size_t len,
		   struct tb_upload_stats *st, struct tb_error *err);

/* Run req->warmups + req->count inferences; waits up to timeout_ms.  The
 * reply is validated against the request, the HELLO capabilities and the
 * CRC of the last uploaded input. */
int tb_link_infer(struct tb_link *l, const struct tbp_infer *req,
		  int timeout_ms, struct tbp_infer_rsp *rsp,
		  struct tb_error *err);

/* tb_link_infer(), with the next input's upload sent right behind the
 * INFER (LOAD_BEGIN and a window of chunks without waiting) so that it
 * overlaps the inference; then the upload completes as tb_link_upload()
 * does.  Only for a device whose HELLO sets TBP_CAP_RX_BUFFERED.  rsp is
 * the INFER's reply (its output stays valid until the next call); st
 * counts every byte of both (docs/PROTOCOL.md, "Pipelined uploads").  On
 * failure the device may hold neither input: upload again. */
int tb_link_infer_then_upload(struct tb_link *l, const struct tbp_infer *req,
			      int timeout_ms, struct tbp_infer_rsp *rsp,
			      const void *data, size_t len,
			      struct tb_upload_stats *st, struct tb_error *err);

/* RESET and wait for RESET_RSP. */
int tb_link_reset(struct tb_link *l, int timeout_ms, struct tb_error *err);

void tb_link_get_stats(const struct tb_link *l, struct tb_link_stats *st);

/* Capabilities from the last successful HELLO, or NULL. */
const struct tbp_hello_rsp *tb_link_caps(const struct tb_link *l);

/* Validate a decoded HELLO_RSP (exposed for tests). */
int tb_link_check_caps(const struct tbp_hello_rsp *caps, struct tb_error *err);

#endif
