/*
 * tbr_priv.h - what the runner core's files share among themselves (not a
 * port's interface: that is tbr.h).
 */
#ifndef TBR_PRIV_H
#define TBR_PRIV_H

#include "tbr.h"

/* The figures of one batch of inferences. */
struct tbr_batch {
	uint64_t total;            /* timer ticks of the timed inferences */
	uint64_t min;              /* fastest / slowest single inference, */
	uint64_t max;              /* 0 unless flags asked for them */
	uint32_t stack_used;       /* painted stack bytes touched */
	int rc;                    /* the workload's return value (< 0 error) */
};

/*
 * Run warmups untimed, then count timed inferences of wl on the runner's
 * input, on the painted inference stack with the arena painted, exactly
 * as the tinybench INFER does (timestamp pin raised around the window,
 * nothing on the link inside it).  Returns 0 (b->rc says whether the
 * workload failed) or -1 when the port could not switch stacks.
 */
int tbr_run_batch(struct tbr *r, const struct tb_workload *wl, uint32_t count,
		  uint32_t warmups, uint8_t flags, struct tbr_batch *b);

/* The tinybench protocol's byte handler (tbr_feed() without EEMBC). */
int tbr_tbp_feed(struct tbr *r, const uint8_t *data, size_t len);

#if TBR_EEMBC
/* tbr_eembc.c: set up the EEMBC state (0, or -1 for a bad config). */
int tbr_eembc_init(struct tbr *r);
/* Bytes in EEMBC or auto mode; tinybench bytes go on to tbr_tbp_feed(). */
int tbr_eembc_feed(struct tbr *r, const uint8_t *data, size_t len);
/* What EEMBC firmware prints when it starts: "m-init-done", "m-ready". */
int tbr_eembc_banner(struct tbr *r);
#endif

#endif
