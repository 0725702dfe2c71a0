/*
 * fuzz_io.h - a transport that plays back a fuzz input (fuzz_io.c): the
 * drivers on top of a transport (tb_link, the EEMBC driver) read it as
 * the device's bytes, in chunks of random size, and everything they write
 * is accepted and dropped.  A read that may not wait (timeout 0) finds
 * nothing, as on a quiet line; when the input is used up the transport
 * reports the peer gone (TB_ERR_CLOSED), so no run ever waits.
 *
 * With turns, the input is a device that answers requests: FZ_TURN bytes
 * split it into replies, and a reply is heard only after the host wrote
 * something since the last one (a chunk never runs into the next reply).
 * A host that waits for more before it writes finds the device gone.
 */
#define FZ_TURN 0x1E
#ifndef TB_FUZZ_IO_H
#define TB_FUZZ_IO_H

#include <stddef.h>
#include <stdint.h>

#include "tb_transport.h"

struct fz_pipe {
	struct tb_transport base;
	const uint8_t *p;
	size_t n, pos;
	unsigned max_chunk;
	int turns;
	int at_turn;       /* the next byte starts a reply */
	int wrote;         /* the host wrote since the last reply began */
};

void fz_pipe_init(struct fz_pipe *pipe, const uint8_t *p, size_t n, int turns);

#endif
