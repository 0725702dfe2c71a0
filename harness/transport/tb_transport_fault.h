/*
 * tb_transport_fault.h - a transport that damages the bytes of another one.
 *
 * The fault driver is a peer of the fd, serial and sim drivers (same
 * tb_transport_ops table) that sits on top of an inner transport and, byte
 * by byte, corrupts (flips one random bit), drops, delays or stalls what
 * crosses it, with probabilities from a seeded generator.  The tests use it
 * to show that the protocol and the session survive a bad line: at a byte
 * error rate of 1e-3 every run still completes with correct outputs, and
 * the retries it cost are stored with the trials (docs/DAEMON.md, "Faults").
 * It is never used in a normal run; a board gets one only when the CLI's
 * --fault option or the daemon's per-board `fault =` key asks for it.
 *
 * Ownership: with owns_inner, closing the fault transport closes the inner
 * one; otherwise the caller keeps the inner transport open at least as long
 * as the fault transport and closes it afterwards (the sim spawner owns the
 * transport of a spawned runner, so the session wraps it with owns_inner =
 * false).  The config is copied.  Not thread-safe, like every transport.
 */
#ifndef TB_TRANSPORT_FAULT_H
#define TB_TRANSPORT_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "tb_err.h"
#include "tb_transport.h"

/* Directions a fault applies to (bit mask; 0 means both). */
#define TB_FAULT_TX 1u   /* host -> device (writes) */
#define TB_FAULT_RX 2u   /* device -> host (reads) */

struct tb_fault_config {
	double ber;          /* probability that a byte has one bit flipped */
	double drop_rate;    /* probability that a byte is lost */
	double stall_rate;   /* probability, per byte, that the line stalls */
	int stall_ms;        /* how long a stall holds bytes back (no loss) */
	int delay_ms;        /* latency added to every write */
	unsigned dirs;       /* TB_FAULT_TX | TB_FAULT_RX; 0 = both */
	uint64_t seed;       /* generator seed; 0 = from the clock.  The n-th
			      * fault transport of a process uses the n-th
			      * stream of the seed, so a board reset (a new
			      * transport) does not replay the same damage */
};

/* What the transport did so far. */
struct tb_fault_stats {
	uint64_t bytes;      /* bytes that crossed it, both directions */
	uint64_t corrupted;
	uint64_t dropped;
	uint64_t stalls;
};

/*
 * Parse "ber=1e-3,drop=1e-4,stall=0.001:500,delay=2,dir=rx,seed=7" (every
 * key optional, comma-separated, each at most once).  Rates are 0..1,
 * stall_ms and delay_ms 0..60000, dir is tx, rx or both.  TB_ERR_ARG
 * names the bad item.
 */
int tb_fault_config_parse(const char *spec, struct tb_fault_config *cfg,
			  struct tb_error *err);

/* Wrap inner.  The new transport's name is "fault(<inner name>)". */
int tb_transport_fault_new(struct tb_transport *inner, bool owns_inner,
			   const struct tb_fault_config *cfg,
			   struct tb_transport **out, struct tb_error *err);

/* Counters of a transport made by tb_transport_fault_new(); zeros for
 * any other transport. */
void tb_transport_fault_stats(const struct tb_transport *t,
			      struct tb_fault_stats *st);

#endif
