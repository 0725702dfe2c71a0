/*
 * tb_energy.h - energy measurement inside a run (docs/ENERGY.md).
 *
 * The session calls these around its own steps; with no energy requested
 * every call is a no-op on a NULL handle, so the session does not branch.
 *
 *   tb_energy_open()          before connecting: find the monitor (the
 *                             board's default, --energy NAME[:PORT], or an
 *                             auto-detected USB device); on the sim board
 *                             start the instrument's emulator and the
 *                             virtual timestamp line, and add the line to
 *                             the runner's arguments; on a QEMU board the
 *                             same, the line fed from the firmware's
 *                             timestamp bridge (tb_energy_bridge());
 *                             identify, configure, power the target on.
 *   tb_energy_trial_begin()   right before INFER: start an acquisition and
 *                             a reader thread.
 *   tb_energy_trial_end()     after INFER_RSP: wait until the stream covers
 *                             the window, stop, find the window from the
 *                             edges, integrate; fill the trial's energy
 *                             figures or fail the trial with the reason.
 *   tb_energy_store_trace()   after the trial is stored: its power trace.
 *
 * Ownership: *out of tb_energy_open() belongs to the caller
 * (tb_energy_free(), NULL accepted); it stops the emulator it started and
 * removes the timestamp line.  The runner-argument array it hands back
 * lives as long as the handle.  Nothing here prints.
 */
#ifndef TB_ENERGY_H
#define TB_ENERGY_H

#include <stdbool.h>
#include <stdint.h>

#include "tb_board.h"
#include "tb_err.h"
#include "tb_link.h"
#include "tb_power.h"
#include "tb_store.h"
#include "tb_transport.h"

/* A zeroed struct: no energy measurement. */
struct tb_energy_opts {
	const char *spec;              /* NULL: none; "default": the board's
					* energy_monitor; "ppk2", "lpm01a",
					* "ppk2:/dev/ttyACM0" */
	double sample_hz;              /* 0: the instrument's default */
	double min_window_ms;          /* 0: 100 ms */
	double max_lost_frac;          /* 0: 0.001 (0.1 % of the window);
					* negative: no lost sample allowed */
	const char *const *emu_args;   /* extra emulator arguments (tests:
					* --truth FILE, --fault ...); used for
					* the first emulator only, not for one
					* restarted after a failure */
};

#define TB_ENERGY_DEFAULT_MIN_WINDOW_MS 100.0
#define TB_ENERGY_DEFAULT_MAX_LOST 0.001

struct tb_energy;

/*
 * *runner_args: the runner's extra arguments; on the sim board it is
 * replaced by an array (owned by the handle) that adds the virtual
 * timestamp line.  *out is NULL when o->spec is NULL.
 */
int tb_energy_open(const struct tb_board *board, const struct tb_energy_opts *o,
		   const char *const **runner_args, struct tb_energy **out,
		   struct tb_error *err);
void tb_energy_free(struct tb_energy *e);

/* "emulated:ppk2" / "measured:lpm01a", or NULL for a NULL handle. */
const char *tb_energy_method(const struct tb_energy *e);
/* The instrument, or NULL. */
const struct tb_power_info *tb_energy_info(const struct tb_energy *e);
/* Where it is: "/dev/ttyACM0" or "emulator tinybench-emu-ppk2 (pid 123)". */
const char *tb_energy_port(const struct tb_energy *e);

/*
 * A QEMU board (docs/ENERGY.md, "QEMU boards"): its firmware reports the
 * timestamp edges on a channel of its own (the timestamp bridge), which
 * the harness replays on the virtual line, the window's length its
 * instruction count at the nominal clock.  tb_energy_wants_timestamp_line()
 * says the connection must switch the bridge on (tb_conn_opts
 * timestamp_line); before every trial the session hands over the current
 * connection's channel (it changes when QEMU is restarted) and the rate of
 * the counts (HELLO's timer_hz).  No-ops on other boards.
 */
bool tb_energy_wants_timestamp_line(const struct tb_energy *e);
void tb_energy_bridge(struct tb_energy *e, struct tb_transport *channel, double units_hz);

int tb_energy_trial_begin(struct tb_energy *e, struct tb_link *link,
			  struct tb_error *err);
/* inferences: N of the batch; duration_s: the device's own length of the
 * timed window (ticks / timer_hz; <= 0 if not a time). */
int tb_energy_trial_end(struct tb_energy *e, struct tb_link *link,
			uint64_t inferences, double duration_s, struct tb_error *err);
/*
 * EEMBC energy-mode firmware (docs/EEMBC.md) reports no time: its timed
 * window is what the monitor saw between two timestamp pulses.  A
 * calibration batch is measured like a trial, ended with
 * tb_energy_probe_end() (the window only has to exist: no minimum length,
 * lost samples allowed, no figures kept); tb_energy_window_s() is the
 * window of the last tb_energy_trial_end() (NaN if none).
 */
int tb_energy_probe_end(struct tb_energy *e, struct tb_link *link, uint64_t inferences,
			double *window_s, struct tb_error *err);
double tb_energy_window_s(const struct tb_energy *e);
/* The board marks its window with timestamp pulses (EEMBC energy mode). */
bool tb_energy_pulses(const struct tb_energy *e);

/* Copy the figures of the last tb_energy_trial_end() into a trial. */
void tb_energy_fill(const struct tb_energy *e, struct tb_trial *t);
/* The runner must drive a timestamp pin (HELLO flag TBP_CAP_TIMESTAMP_PIN). */
int tb_energy_check_device(const struct tb_energy *e, unsigned hello_flags,
			   const char *board, struct tb_error *err);
int tb_energy_store_trace(struct tb_energy *e, struct tb_store *store,
			  int64_t run_id, int64_t idx, struct tb_error *err);

/*
 * Reset a board by its supply (reset = power): stop any acquisition, switch
 * the target's power off through the monitor, wait off_ms, switch it on.
 * A monitor that went away is reopened first.  The _cb form is a
 * tb_conn_opts power_cycle callback (user = the handle; off time: the
 * board's [reset] pulse_ms).
 */
int tb_energy_power_cycle(struct tb_energy *e, unsigned off_ms, struct tb_error *err);
int tb_energy_power_cycle_cb(void *user, struct tb_error *err);

/* Find an emulator program ("tinybench-emu-ppk2"): $TINYBENCH_EMU_DIR,
 * the folder of the running executable, <build>/power/emu,
 * <libexecdir>/tinybench. */
int tb_energy_emulator_locate(const char *name, char *out, size_t len,
			      struct tb_error *err);

#endif
