/*
 * tb_power.h - energy monitors: one driver per instrument behind one
 * interface (the libsigrok model: power/<driver>/api.c registers a table of
 * callbacks, power/<driver>/protocol.c holds the wire protocol).
 *
 * Drivers: ppk2 (Nordic Power Profiler Kit II), lpm01a (ST X-NUCLEO-LPM01A
 * "PowerShield").  A Joulescope driver (jsdrv) is not built: its C library
 * is not packaged; power/README.md describes the seam it would fill.
 *
 * An instrument is a byte stream (tb_transport.h): libserialport for a real
 * device, a pty for an emulator (power/emu/, a program that is a peer of the
 * real device).  The driver decodes the stream into
 *  - samples: current in amperes at a fixed rate, numbered from 0 at
 *    tb_power_start(); every sample period gets exactly one sample, so the
 *    index is time (a sample the instrument lost is replaced by a filler
 *    and reported with a TB_POWER_EV_LOST event);
 *  - events at a sample index: timestamp-line edges, lost samples,
 *    messages and errors of the instrument, end of acquisition.
 *
 * Threads: a device is not thread-safe; use it from one thread at a time
 * (tb_energy.c polls it from a reader thread between start and stop, and
 * does everything else from the session's thread).  The sink's callbacks
 * run inside tb_power_poll()/tb_power_stop(), in the caller's thread.
 *
 * Ownership: tb_power_open*() returns a device the caller frees with
 * tb_power_close() (NULL accepted); it owns its transport from then on,
 * including when open fails.  Strings in events are valid only during the
 * callback.  Nothing here prints.
 */
#ifndef TB_POWER_H
#define TB_POWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tb_err.h"
#include "tb_transport.h"

#define TB_POWER_OPS_VERSION 1

enum tb_power_event_type {
	TB_POWER_EV_EDGE  = 1, /* the timestamp line changed level */
	TB_POWER_EV_LOST  = 2, /* samples lost; fillers were inserted */
	TB_POWER_EV_ERROR = 3, /* the instrument reported an error */
	TB_POWER_EV_INFO  = 4, /* a message of the instrument */
	TB_POWER_EV_END   = 5, /* the acquisition ended */
};

struct tb_power_event {
	enum tb_power_event_type type;
	uint64_t index;        /* the event lies before sample `index` */
	int level;             /* EDGE: the new level, 0 or 1 */
	uint64_t count;        /* LOST: samples lost, replaced by fillers at
				* [index - count, index) */
	uint64_t span_start;   /* LOST: the loss happened somewhere in
				* [span_start, index) (= index - count when
				* the instrument says exactly where) */
	const char *text;      /* ERROR/INFO: the instrument's words */
};

/* Where a driver delivers what it decodes. */
struct tb_power_sink {
	/* n samples (current, amperes), the first of which has index first. */
	void (*samples)(void *user, uint64_t first, const float *amps, size_t n);
	void (*event)(void *user, const struct tb_power_event *ev);
	void *user;
};

/* Which edges of the timestamp line an instrument reports. */
enum tb_power_edges {
	/* It samples the line with the current (PPK2 logic inputs): both
	 * edges, at sample resolution. */
	TB_POWER_EDGES_BOTH   = 0,
	/* It reports one polarity as events (LPM01A `eventsrc d7 ris`): the
	 * window opens at the rising edge and lasts the device's own
	 * measured duration (the runner reports timer ticks). */
	TB_POWER_EDGES_RISING = 1,
	/* It reports falling edges as events (LPM01A `eventsrc d7 fal`):
	 * the timestamps of a line that idles high and pulses low, each
	 * caught by the event input whatever the pulse's length. */
	TB_POWER_EDGES_FALLING = 2,
};

/* How the device marks its timed window on the line (docs/ENERGY.md). */
enum tb_power_ts_style {
	/* tinybench firmware: the line is high while the window is open. */
	TB_POWER_TS_LEVEL  = 0,
	/* EEMBC energy-mode firmware (MLPerf Tiny): the line idles high and
	 * each timestamp is a low pulse (>= 1 us); the window runs from the
	 * falling edge of one pulse to the falling edge of the next. */
	TB_POWER_TS_PULSES = 1,
};

/* Configuration; a zeroed struct means the driver's defaults. */
struct tb_power_config {
	uint32_t voltage_mv;   /* target supply (0: 3300) */
	bool external_supply;  /* the board has its own supply at voltage_mv
				* (PPK2 ampere-meter mode); default: the
				* instrument powers the board (PPK2 source
				* meter, LPM01A) */
	double sample_hz;      /* 0: the driver's default */
	int ts_input;          /* PPK2 logic input D0..D7 carrying the line */
	enum tb_power_ts_style ts_style; /* what to listen for: an instrument
				* with an event input (LPM01A) reports the
				* edges that matter to the style */
};

/* What an instrument says it is, and how it is configured. */
struct tb_power_info {
	const char *driver;    /* "ppk2" */
	char model[64];        /* "Nordic Power Profiler Kit II" */
	char version[64];      /* firmware version / hardware id */
	char serial[64];       /* unique id, "" if unknown */
	char detail[256];      /* calibration etc., one line */
	bool emulated;         /* the peer says it is an emulator */
	double sample_hz;      /* configured rate */
	uint32_t voltage_mv;   /* configured supply */
	enum tb_power_edges edges;
};

struct tb_power_usb_id {
	uint16_t vid;
	uint16_t pid;
};

struct tb_power_dev;

/*
 * A driver.  version is the TB_POWER_OPS_VERSION it was written for;
 * operations added later are appended and read only when version says
 * they are there.
 */
struct tb_power_driver {
	int version;
	const char *name;              /* "ppk2": --energy ppk2 */
	const char *long_name;
	const struct tb_power_usb_id *usb_ids; /* NULL-terminated by vid 0 */
	uint32_t baud;                 /* line rate of the real device */
	double default_hz;             /* default sample rate */

	/* Take t, identify the instrument (fill dev->info) or fail. */
	int (*open)(struct tb_transport *t, struct tb_power_dev **out,
		    struct tb_error *err);
	int (*configure)(struct tb_power_dev *d, const struct tb_power_config *c,
			 struct tb_error *err);
	/* Power the target on or off (the instrument's output). */
	int (*target_power)(struct tb_power_dev *d, bool on, struct tb_error *err);
	/* Start an acquisition; samples and events go to sink. */
	int (*start)(struct tb_power_dev *d, const struct tb_power_sink *sink,
		     struct tb_error *err);
	/* Read what arrived (waiting up to timeout_ms for the first byte),
	 * decode it, call the sink.  0 also on timeout. */
	int (*poll)(struct tb_power_dev *d, int timeout_ms, struct tb_error *err);
	/* End the acquisition; what is still in flight goes to the sink. */
	int (*stop)(struct tb_power_dev *d, struct tb_error *err);
	/* Release everything, the transport included. */
	void (*close)(struct tb_power_dev *d);
};

/* The part common to every device; drivers embed it first. */
struct tb_power_dev {
	const struct tb_power_driver *drv;
	struct tb_transport *t;
	struct tb_power_info info;
	struct tb_power_sink sink;     /* while running */
	bool running;
	bool gone;                     /* the instrument went away */
};

/* NULL-terminated list of the drivers built in. */
extern const struct tb_power_driver *const tb_power_drivers[];

/* The driver called name, or NULL.  names (optional) gets "ppk2, lpm01a". */
const struct tb_power_driver *tb_power_driver_find(const char *name,
						   char *names, size_t len);

/* The driver whose USB id this is, or NULL. */
const struct tb_power_driver *tb_power_driver_by_usb(uint16_t vid, uint16_t pid);

/*
 * Open the instrument on port: a serial port through libserialport, or a
 * tty/pty (an emulator) through the fd transport.  Identifies it.
 */
int tb_power_open(const struct tb_power_driver *drv, const char *port,
		  struct tb_power_dev **out, struct tb_error *err);

/* Same on a transport the caller opened (ownership passes to the device). */
int tb_power_open_transport(const struct tb_power_driver *drv,
			    struct tb_transport *t, struct tb_power_dev **out,
			    struct tb_error *err);

const struct tb_power_info *tb_power_get_info(const struct tb_power_dev *d);
int tb_power_configure(struct tb_power_dev *d, const struct tb_power_config *c,
		       struct tb_error *err);
int tb_power_target(struct tb_power_dev *d, bool on, struct tb_error *err);
int tb_power_start(struct tb_power_dev *d, const struct tb_power_sink *sink,
		   struct tb_error *err);
int tb_power_poll(struct tb_power_dev *d, int timeout_ms, struct tb_error *err);
int tb_power_stop(struct tb_power_dev *d, struct tb_error *err);
/* True once the instrument went away (read/write failed: closed). */
bool tb_power_gone(const struct tb_power_dev *d);
void tb_power_close(struct tb_power_dev *d);

/* ---- helpers for drivers (std_* in libsigrok) -------------------------- */

/* Mark the device gone and word the error: "<driver> on <port> went away
 * during <what> (<transport message>)". */
int tb_power_std_lost(struct tb_power_dev *d, int rc, const char *what,
		      struct tb_error *err);

/* Read and drop input until quiet_ms pass without a byte (at most
 * max_ms); each chunk read is handed to fn (may be NULL). */
int tb_power_std_drain(struct tb_power_dev *d, int quiet_ms, int max_ms,
		       void (*fn)(struct tb_power_dev *d, const uint8_t *buf,
				  size_t n),
		       struct tb_error *err);

#endif
