/*
 * tb_sim_spawn.h - run a native device runner on a pseudo-terminal.
 *
 * The sim board is a peer of the hardware boards: its runner speaks the same
 * protocol over a tty, only the tty is a pty and the "device" a process.
 *
 * tb_sim_spawn() opens a pty pair, sets it raw (before the runner starts, so
 * nothing the host sends early is echoed or line-edited), and runs
 *
 *     runner_path --port <slave path> [extra_args...]
 *
 * in its own process group, with stdout redirected to stderr (the host's
 * stdout may carry JSON) and every other host fd closed (close-on-exec).
 *
 * The hang-up race: a pty master reads EIO (hang-up) whenever no process has
 * the slave open, including the moment before the runner gets to open
 * --port.  To close that window the spawner opens the slave itself and hands
 * it to the runner as its stdin, so a slave fd is open from fork() until
 * the runner exits; the parent keeps none.  Thus:
 *  - bytes written before the runner opens --port wait in the pty buffer;
 *  - a runner that never opens --port looks like a silent device (timeouts);
 *  - when the runner exits (or crashes), every slave fd closes and reads on
 *    the master return TB_ERR_CLOSED at once, with the exit status in the
 *    message ("runner exited with status 3").
 * Runners must not read their stdin; they should set the port raw with
 * TCSANOW (TCSAFLUSH would drop bytes the host already sent).
 *
 * A runner that fails to start (missing, not executable) is reported by
 * tb_sim_spawn() itself, not later as a timeout.
 *
 * Ownership: *out belongs to the caller, released with tb_sim_free().  The
 * transport from tb_sim_transport() and the strings returned here belong
 * to the sim and live until tb_sim_free().  Not thread-safe per sim.
 */
#ifndef TB_SIM_SPAWN_H
#define TB_SIM_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tb_err.h"
#include "tb_transport.h"

/* How long tb_sim_free() waits after SIGTERM before SIGKILL. */
#define TB_SIM_KILL_GRACE_MS 500

struct tb_sim;

/* extra_args: NULL-terminated, or NULL for none. */
int tb_sim_spawn(const char *runner_path, const char *const *extra_args,
		 struct tb_sim **out, struct tb_error *err);

/*
 * The host's end of the pty.  tb_transport_close() on it hangs up the pty
 * (the runner sees EIO); its memory stays with the sim until tb_sim_free().
 */
struct tb_transport *tb_sim_transport(struct tb_sim *sim);

pid_t tb_sim_pid(const struct tb_sim *sim);

/* The slave's path ("/dev/pts/4"), as passed to --port. */
const char *tb_sim_port(const struct tb_sim *sim);

/*
 * Has the runner exited?  Reaps it if so (waitpid WNOHANG).  *status_text
 * (optional) is "runner running (pid N)", "runner exited with status 3" or
 * "runner killed by signal 11 (Segmentation fault)"; it is owned by the sim
 * and valid until the next call on it.
 */
int tb_sim_status(struct tb_sim *sim, bool *exited, const char **status_text);

/*
 * Stop the runner (SIGTERM to its process group, SIGKILL after
 * TB_SIM_KILL_GRACE_MS), reap it, close the pty, free.  Accepts NULL.
 */
void tb_sim_free(struct tb_sim *sim);

/*
 * Find a runner executable called name, trying in order:
 *   $TINYBENCH_RUNNER_DIR/name, the folder of the running executable
 *   (/proc/self/exe), <build dir>/device_runner/ports/native/name,
 *   <libexecdir>/tinybench/name.
 * A name containing '/' is taken as a path and only checked.  Writes the
 * path into out (len bytes); TB_ERR_NOTFOUND lists where it looked.
 */
int tb_runner_locate(const char *name, char *out, size_t len,
		     struct tb_error *err);

#endif
