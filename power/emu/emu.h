/*
 * emu.h - what the instrument emulators (ppk2_emu.c, lpm01a_emu.c) share.
 *
 * An emulator is a program that behaves like the instrument on a pty: it
 * answers the command set and, while acquiring, streams samples at the real
 * rate.  The current it "measures" comes from a profile (the board's power
 * model: active current while the timestamp line is high, idle current
 * otherwise, at the board's voltage), with a slow ripple on the active
 * current so that the integral is not trivially rate x constant, and
 * measurement noise on each sample.  The line is the virtual timestamp line
 * (tb_vline.h) the sim runner drives.
 *
 * Ground truth: for every timed window it samples, the emulator knows the
 * exact edges and integrates the profile analytically; it writes one JSON
 * line per window to --truth FILE:
 *
 *   {"instrument":"ppk2","window":1,"rise_ns":..,"fall_ns":..,
 *    "duration_s":..,"voltage_v":..,"energy_uj":..,"mean_mw":..}
 *
 * Samples are generated for times up to `now - lag` (lag 50 ms), so that
 * every edge the runner publishes is known before the samples around it.
 *
 * Timestamp styles (--timestamps): `level` (tinybench firmware), the line
 * is high while the window is open and the profile is active exactly
 * then; `pulses` (EEMBC energy-mode firmware), the line idles high and
 * each timestamp is a short low pulse: the profile is active from the
 * falling edge of the first pulse of an acquisition to that of the
 * second, of the third to the fourth, and so on (the device computes
 * between its two timestamps), and the truth's rise_ns / fall_ns are
 * those two falling edges.  The instrument still samples the line itself
 * (emu_line_level()), so a pulse shorter than a sample period can fall
 * between two samples, as on the wire.
 */
#ifndef TB_EMU_H
#define TB_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tb_vline.h"

struct emu_profile {
	double volt_v;
	double active_a;
	double idle_a;
	double ripple;           /* relative amplitude of the active ripple */
	double ripple_hz;
	double noise_a;          /* rms noise of one sample */
	int64_t t_base_ns;       /* phase reference of the ripple */
	bool powered;            /* target power on */
};

/* The emulator's view of the timestamp line: every edge seen so far. */
struct emu_line {
	struct tb_vline *v;      /* NULL: the line stays low */
	uint64_t seen;
	struct tb_vline_edge *edges;
	size_t n, cap;
	bool overrun;
	int last_level;          /* of the last edge read */
};

/* Edges of the power profile's activity (the window): the line's own
 * edges in level style, derived from the pulses in pulse style. */
struct emu_edges {
	struct tb_vline_edge *edges;
	size_t n, cap;
};

struct emu {
	const char *prog;        /* "tinybench-emu-ppk2" */
	const char *instrument;  /* "ppk2" */
	/* options (argv's strings) */
	const char *port;        /* --port TTY, or NULL */
	bool use_pty;            /* --pty */
	const char *tsline;      /* --tsline PATH, or NULL */
	const char *truth_path;  /* --truth FILE, or NULL */
	int fd;
	struct emu_profile prof;
	struct emu_line line;
	bool pulses;             /* --timestamps pulses */
	struct emu_edges act;    /* pulse style: activity edges of this
				  * acquisition */
	FILE *truth;
	int64_t lag_ns;
	/* acquisition */
	bool streaming;
	double hz;
	int64_t t_start_ns;
	uint64_t k;              /* samples generated (emitted or dropped) */
	int level;               /* sampled true level at the last sample */
	unsigned window;         /* windows (rises) sampled while streaming */
	int64_t window_rise_ns;  /* of the current window, 0 if none */
	int64_t closed_at_ns;    /* when the last window closed, 0 if none */
	int64_t closed_len_ns;   /* and how long it lasted */
	/* faults */
	unsigned fault_window;   /* window the faults apply to (1-based;
				  * 0: every window) */
	uint64_t rng;
};

/* The defaults every emulator starts from: 3.3 V, 5 mA active, 0.4 mA
 * idle, 5 % ripple at 37 Hz, noise 1 % of the active current, 50 ms lag,
 * faults in window 1, the noise generator seeded with seed. */
void emu_init(struct emu *e, const char *prog, const char *instrument,
	      uint64_t seed);
/* Parse an option every emulator takes at argv[i]; returns the index of
 * the next argument, or i if it is not one (the instrument's own).  A bad
 * value exits with status 2 after printing an error.  Options: --port TTY,
 * --pty, --tsline PATH, --truth FILE, --voltage-mv MV, --active-ua UA,
 * --idle-ua UA, --ripple FRAC, --ripple-hz HZ, --noise-ua UA, --lag-ms MS,
 * --seed N, --fault-window K, --timestamps level|pulses. */
int emu_parse_common(struct emu *e, int argc, char **argv, int i);
/*
 * The whole command line: the common options, -h/--help, and the
 * instrument's own options, which all take a value: option(e, opt, val)
 * returns 1 if it took opt, 0 if opt is not one of its own, -1 after
 * printing why val is bad.  Exactly one of --port and --pty is required.
 * Returns -1 to go on, or the status to exit with: 0 after --help, 2 after
 * a usage error (usage() printed).
 */
int emu_parse_args(struct emu *e, int argc, char **argv, void (*usage)(FILE *f),
		   int (*option)(struct emu *e, const char *opt, const char *val));
/* Open the port (or make a pty and print its path), map the line. */
int emu_setup(struct emu *e);
/* Serve the host until it hangs up: input() gets what it sends (waiting
 * 1 ms while streaming, 50 ms otherwise), then stream() runs while
 * streaming.  input() and stream() get the emulator they were given. */
void emu_run(struct emu *e, void (*input)(struct emu *e, const uint8_t *buf, int n),
	     void (*stream)(struct emu *e));

int emu_write_all(struct emu *e, const void *buf, size_t len);

/* Instantaneous true current at t for a line level. */
double emu_current(const struct emu_profile *p, int64_t t_ns, int level);
/* True charge (A s) over [a, b] following the line's edges. */
double emu_charge(struct emu *e, int64_t a_ns, int64_t b_ns);

/* Read new edges from the shared line. */
void emu_line_update(struct emu *e);
/* True level of the line at t (what a sampling input sees). */
int emu_line_level(struct emu *e, int64_t t_ns);
/* Edges of the line to level in (a, b]: what an edge-triggered event
 * input (the LPM01A's) catches between two samples, however short. */
unsigned emu_line_edges_in(struct emu *e, int64_t a_ns, int64_t b_ns, int level);

/* Time of sample k of the acquisition. */
static inline int64_t emu_sample_ns(const struct emu *e, uint64_t k)
{
	return e->t_start_ns + (int64_t)((double)k * 1e9 / e->hz);
}

/* Samples due now (for times up to now - lag). */
uint64_t emu_due(const struct emu *e);

/* Gaussian noise, rms 1 (deterministic from --seed). */
double emu_noise(struct emu *e);

/* Call once per generated sample k (in order): updates the window count
 * and writes the truth of a window that just closed.  Returns the
 * profile's activity at the sample's time (1 in the window: the level of
 * the line in level style). */
int emu_track(struct emu *e, uint64_t k);

/* In a window the faults apply to (the sample emu_track() last saw). */
static inline bool emu_faulty(const struct emu *e)
{
	return e->window_rise_ns &&
	       (e->fault_window == 0 || e->window == e->fault_window);
}

/* Within ms after the close of a window that lasted at least min_ms (the
 * sample emu_track() last saw): faults on the closing timestamp. */
static inline bool emu_just_closed(const struct emu *e, int64_t t_ns, double min_ms, double ms)
{
	return e->closed_at_ns && (double)e->closed_len_ns >= min_ms * 1e6 &&
	       (double)(t_ns - e->closed_at_ns) < ms * 1e6;
}

void emu_start(struct emu *e, double hz);
void emu_stop(struct emu *e);

/* Wait for input (timeout_ms) and return bytes read (0 none, < 0 gone). */
int emu_read(struct emu *e, uint8_t *buf, size_t cap, int timeout_ms);

#endif
