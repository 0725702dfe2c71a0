/*
 * tbr.h - the device runner core.
 *
 * One core, many ports.  A port (device_runner/ports/<family>/) supplies
 * only what differs between boards: byte I/O on the link, a timer, the
 * timestamp pin, a way to run code on the painted inference stack, and a
 * reset.  The core speaks the protocol (protocol/tbp.h), keeps the loaded
 * input, runs the built-in workloads and measures time and memory.
 *
 * The core allocates nothing: every buffer comes from the port in struct
 * tbr_config and stays owned by the port.  No recursion; stack use of the
 * core itself is bounded by the payload scratch it is given.
 */
#ifndef TBR_H
#define TBR_H

#include <stddef.h>
#include <stdint.h>

#include "tbp.h"
#include "tb_workload.h"

#define TBR_VERSION "0.1.0"

/*
 * The protocols a runner answers (tbr_config.protocol).  EEMBC (the serial
 * protocol of MLPerf Tiny firmware, docs/EEMBC.md) is compiled in only by
 * a build with TBR_EEMBC (meson option runner_eembc); without it
 * tbr_init() refuses anything but TBR_PROTOCOL_TINYBENCH.
 */
enum tbr_protocol {
	TBR_PROTOCOL_TINYBENCH = 0, /* protocol/tbp.h only (the zero value) */
	TBR_PROTOCOL_EEMBC     = 1, /* only EEMBC commands, as MLPerf Tiny firmware */
	TBR_PROTOCOL_AUTO      = 2, /* both: an EEMBC command ("name%") selects
				     * EEMBC, a tinybench frame selects tinybench */
};

/* Byte pattern written over the inference stack and the arena before a
 * run; the high-water mark is the extent that no longer holds it. */
#define TBR_PAINT 0xA5u

struct tbr_port {
	/* Read at least one byte into buf (up to cap).  May block.  Returns
	 * the count, 0 when nothing arrived (the core simply calls again),
	 * or < 0 when the link is gone for good. */
	int (*read)(void *ctx, uint8_t *buf, size_t cap);
	/* Write all len bytes; < 0 on failure. */
	int (*write)(void *ctx, const uint8_t *buf, size_t len);
	/* Free-running counter at tbr_config.timer_hz. */
	uint64_t (*ticks)(void *ctx);
	/* Optional (NULL: t1 - t0): turn two readings of ticks() into the
	 * elapsed count at timer_hz.  For a port whose raw readings are not
	 * in timer units, e.g. an emulator port that converts virtual timer
	 * ticks into an exact instruction count (docs/FIRMWARE.md). */
	uint64_t (*elapsed)(void *ctx, uint64_t t0, uint64_t t1);
	/* Drive the timestamp pin (1 = window open).  May be NULL.  A port
	 * of EEMBC energy-mode firmware (tbr_config.eembc_energy) makes each
	 * call one timestamp instead, whatever the level: a low pulse of
	 * >= 1 us on a pin that idles high (docs/EEMBC.md). */
	void (*timestamp)(void *ctx, int level);
	/* Call fn(arg) on the inference stack, which the port paints with
	 * TBR_PAINT first; store the bytes of it that were touched in *used.
	 * Returns 0, or < 0 if it could not switch stacks. */
	int (*run_on_stack)(void *ctx, void (*fn)(void *), void *arg,
			    uint32_t *used);
	/* Reset the device after RESET_RSP has been written.  May be NULL:
	 * the core then only clears its own state. */
	void (*reset)(void *ctx);
	void *ctx;
};

struct tbr_config {
	const char *board;         /* "sim", "apollo3" */
	const char *cpu;
	const char *build_id;
	uint32_t clock_hz;         /* 0 if unknown */
	uint32_t timer_hz;
	uint8_t caps;              /* TBP_CAP_* */
	uint8_t window;            /* chunks the host may keep in flight */
	uint32_t stack_size;       /* size of the port's inference stack */

	uint8_t *input;            /* loaded input, input_cap bytes */
	uint32_t input_cap;
	uint8_t *arena;            /* tensor arena, 8-byte aligned */
	uint32_t arena_size;
	uint8_t *output;           /* output tensor of the last inference */
	uint32_t output_cap;
	uint8_t *rx;               /* frame decoder buffer */
	size_t rx_cap;             /* >= TBP_WIRE_MAX(max payload accepted) */
	/* Scratch for reply payloads, >= 64 bytes.  It may be the rx buffer
	 * itself (payload_cap <= the buffer's size): the core is done with a
	 * request's payload before it writes the reply. */
	uint8_t *payload;
	size_t payload_cap;
	/* Encoded reply: written to the port in pieces of up to tx_cap
	 * (>= 1) bytes, in one piece when tx_cap >= TBP_WIRE_MAX(payload_cap). */
	uint8_t *tx;
	size_t tx_cap;

	const struct tb_workload *const *workloads; /* NULL-terminated */

	uint8_t protocol;          /* enum tbr_protocol */
	/* EEMBC: the model `profile%` names and `infer%` runs (EEMBC firmware
	 * carries one model); NULL: the first of workloads. */
	const struct tb_workload *eembc_model;
	/* EEMBC energy mode (MLPerf Tiny's energy-mode firmware): `infer%`
	 * and `timestamp%` write no m-lap-us line; the timestamps are the
	 * port's timestamp pulses, which an energy monitor records. */
	uint8_t eembc_energy;
};

/* Counters a port may report (e.g. in a debug build). */
struct tbr_stats {
	uint32_t frames_in;
	uint32_t frames_dropped;
	uint32_t replies;
	uint32_t errors_sent;
};

#if TBR_EEMBC
/* EEMBC command state (tbr_eembc.c).  Bounded: one command line of
 * TBR_EEMBC_CMD_MAX characters, as the reference firmware's buffer. */
#define TBR_EEMBC_CMD_MAX 80
struct tbr_eembc {
	char cmd[TBR_EEMBC_CMD_MAX + 1];
	uint8_t len;
	uint8_t armed;             /* auto mode: the bytes since the last
				    * delimiter may still be a command */
	uint8_t active;            /* EEMBC is the protocol in use */
	uint8_t overflow;          /* the command line was too long */
	uint8_t have_output;       /* cfg.output holds a result */
	uint32_t db_expect;        /* bytes announced by `db load N` */
	uint32_t db_have;          /* bytes received since */
	const struct tb_workload *model;
};
#endif

struct tbr {
	struct tbr_config cfg;
	const struct tbr_port *port;
	struct tbp_decoder dec;
	struct tbr_stats stats;
	/* load state */
	uint32_t load_total;
	uint32_t load_next;
	uint32_t load_crc;
	uint32_t load_nak_at;      /* offset last NAKed, to NAK a gap once */
	uint8_t load_active;
	uint8_t input_ready;
	uint8_t stop;              /* set by a port to leave tbr_run() */
#if TBR_EEMBC
	struct tbr_eembc ee;
#endif
};

/* Check the config and start.  Returns 0 or -1 if a buffer is missing or
 * too small for the protocol (e.g. rx_cap below one minimal frame).  cfg
 * is copied into r->cfg, or may be &r->cfg itself (filled in place). */
int tbr_init(struct tbr *r, const struct tbr_config *cfg,
	     const struct tbr_port *port);

/* Largest chunk payload this runner accepts, derived from rx_cap. */
uint16_t tbr_max_payload(const struct tbr *r);

/* Handle len received bytes (any split); replies are written at once. */
int tbr_feed(struct tbr *r, const uint8_t *data, size_t len);

/* Read from the port and handle frames until the port fails or r->stop.
 * Returns the port's error (< 0) or 0 when stopped. */
int tbr_run(struct tbr *r);

#endif
