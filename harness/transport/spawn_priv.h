/*
 * spawn_priv.h - what the process-backed transports (sim_spawn.c,
 * qemu_spawn.c) share: a child process in its own group that dies with
 * the harness, reaped and stopped without ever signalling a recycled pid,
 * and a transport that wraps the child's line (a pty master, a socket) and
 * says why the line hung up.  Not public.
 */
#ifndef TB_SPAWN_PRIV_H
#define TB_SPAWN_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tb_err.h"
#include "tb_transport.h"

/* ---- the child process ----------------------------------------------- */

struct tb_child {
	pid_t pid;                   /* -1 until forked */
	bool reaped;
	int wstatus;                 /* waitpid()'s, once reaped */
	int poll_ms;                 /* how often a timed reap polls */
};

/* pid -1, not reaped, polling every poll_ms. */
void tb_child_init(struct tb_child *c, int poll_ms);

/*
 * fork(), the child in its own process group (both sides set it, so it
 * exists whoever runs first), killed when the harness dies, with default
 * signal dispositions and an empty signal mask.  Returns as fork(): 0 in
 * the child, which must exec or _exit and make only async-signal-safe
 * calls until then; the pid in the parent (also in c->pid); -1 with errno
 * if there is no child.
 */
pid_t tb_child_fork(struct tb_child *c);

/* Reap the child, waiting up to timeout_ms (< 0: forever).  True once it
 * is reaped (or was never started). */
bool tb_child_reap(struct tb_child *c, int timeout_ms);

/* SIGTERM to the group, SIGKILL after grace_ms, reap.  A reaped pid is
 * never signalled: it may belong to someone else now. */
void tb_child_stop(struct tb_child *c, int grace_ms);

/*
 * "<what> running (pid N)", "<what> exited with status N",
 * "<what> killed by signal N (name)[, core dumped]" or
 * "<what> gone (wait status 0xN)" into buf; tail, if not NULL or empty,
 * is added as ": <tail>" after an exit status or signal.
 */
void tb_child_describe(const struct tb_child *c, const char *what,
		       bool core_dumped_note, const char *tail, char *buf,
		       size_t len);

/* ---- the transport on the child's line ------------------------------- */

/*
 * The driver embeds this first in its own struct and points the ops at
 * the tb_spawned_* operations below.  line is the fd transport the driver
 * opened (owned here, closed by tb_spawned_close()); gone() builds the
 * TB_ERR_CLOSED error for a line that hung up, with the exit status.
 */
struct tb_spawned {
	struct tb_transport base;    /* the transport handed out; first */
	struct tb_transport *line;   /* fd transport, or NULL once closed */
	struct tb_child child;
	int (*gone)(struct tb_spawned *s, struct tb_error *err);
};

int tb_spawned_read(struct tb_transport *t, uint8_t *buf, size_t cap,
		    int timeout_ms, struct tb_error *err);
int tb_spawned_write(struct tb_transport *t, const uint8_t *buf, size_t len,
		     int timeout_ms, struct tb_error *err);
int tb_spawned_set_baud(struct tb_transport *t, uint32_t baud,
			struct tb_error *err);
int tb_spawned_discard_input(struct tb_transport *t, struct tb_error *err);
/* Hang up; the memory stays with the driver until it frees it. */
void tb_spawned_close(struct tb_transport *t);

#endif
