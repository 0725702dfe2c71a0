/*
 * tb_transport.h - byte pipes between the host and a device runner.
 *
 * One small interface, several drivers behind a versioned table of
 * operations (like SQLite's VFS or libsigrok's drivers):
 *  - fd:     a tty, pty, pipe or socket file descriptor (transport_fd.c);
 *            used for ptys (the sim runner) and QEMU's serial socket;
 *  - serial: a real serial port through libserialport (transport_serial.c);
 *  - sim:    a native runner spawned on a pty (tb_sim_spawn.h).
 *
 * Callers use the tb_transport_*() wrappers below, never the table directly:
 * the wrappers check arguments, refuse optional operations a driver lacks
 * (TB_ERR_UNSUPPORTED) and count the bytes that cross the wire.
 *
 * Ownership: a constructor's *out is owned by the caller and released with
 * tb_transport_close() (except the sim transport, see tb_sim_spawn.h).
 * Strings in callbacks are valid only during the callback.
 *
 * Threads: a transport is not thread-safe; use each one from one thread at
 * a time.  Different transports may be used from different threads.
 *
 * Timeouts are in milliseconds: < 0 waits forever, 0 only takes what is
 * already there.
 */
#ifndef TB_TRANSPORT_H
#define TB_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tb_err.h"

#define TB_TRANSPORT_OPS_VERSION 1
#define TB_TRANSPORT_NAME_MAX 128

/* Modem control line used to reset a board. */
enum tb_reset_line {
	TB_RESET_LINE_DTR = 1,
	TB_RESET_LINE_RTS = 2,
};

struct tb_transport;

/*
 * A driver.  version is the TB_TRANSPORT_OPS_VERSION the table was written
 * for; operations added in later versions are appended and read only when
 * version says they are there.  Optional operations may be NULL.
 */
struct tb_transport_ops {
	int version;
	const char *name;           /* "fd", "serial", "sim" */

	/* Read what is there, up to cap bytes, waiting up to timeout_ms for
	 * the first byte.  Returns bytes read (> 0), 0 on timeout, or < 0:
	 * TB_ERR_CLOSED when the peer went away, TB_ERR_IO otherwise. */
	int (*read)(struct tb_transport *t, uint8_t *buf, size_t cap,
		    int timeout_ms, struct tb_error *err);
	/* Write all len bytes within timeout_ms (for the whole buffer), or
	 * fail: 0, TB_ERR_TIMEOUT, TB_ERR_CLOSED or TB_ERR_IO. */
	int (*write)(struct tb_transport *t, const uint8_t *buf, size_t len,
		     int timeout_ms, struct tb_error *err);
	/* Optional: change the line rate (ptys accept and ignore it). */
	int (*set_baud)(struct tb_transport *t, uint32_t baud,
			struct tb_error *err);
	/* Optional: assert line for duration_ms, then release it. */
	int (*pulse_reset)(struct tb_transport *t, enum tb_reset_line line,
			   int duration_ms, struct tb_error *err);
	/* Optional: drop bytes received but not read yet. */
	int (*discard_input)(struct tb_transport *t, struct tb_error *err);
	/* Release everything, including t itself.  Must not fail. */
	void (*close)(struct tb_transport *t);
};

/*
 * The part common to every transport.  A driver embeds it as the first
 * member of its own struct, fills it with tb_transport_init() and casts
 * back in its operations.
 */
struct tb_transport {
	const struct tb_transport_ops *ops;
	char name[TB_TRANSPORT_NAME_MAX]; /* for messages: "pty /dev/pts/3" */
	uint64_t bytes_in;          /* read so far, counted by the wrappers */
	uint64_t bytes_out;         /* written so far */
};

/* For drivers: set ops and name, zero the counters. */
void tb_transport_init(struct tb_transport *t,
		       const struct tb_transport_ops *ops, const char *name);

/* The operations, with argument checks and byte counting. */
int tb_transport_read(struct tb_transport *t, uint8_t *buf, size_t cap,
		      int timeout_ms, struct tb_error *err);
int tb_transport_write(struct tb_transport *t, const uint8_t *buf, size_t len,
		       int timeout_ms, struct tb_error *err);
int tb_transport_set_baud(struct tb_transport *t, uint32_t baud,
			  struct tb_error *err);
int tb_transport_pulse_reset(struct tb_transport *t, enum tb_reset_line line,
			     int duration_ms, struct tb_error *err);
int tb_transport_discard_input(struct tb_transport *t, struct tb_error *err);
/* Accepts NULL. */
void tb_transport_close(struct tb_transport *t);

/* ---- fd driver ------------------------------------------------------- */

/*
 * Wrap an open file descriptor.  A tty or pty is switched to raw mode
 * (cfmakeraw, VMIN = VTIME = 0); every fd is made O_NONBLOCK (this changes
 * the open file description, which the caller may share).  With owns_fd the
 * transport closes fd; otherwise the caller keeps it open at least as long
 * as the transport.  For a pipe, the caller must ignore SIGPIPE.  name is
 * used in messages (copied).
 */
int tb_transport_fd_new(int fd, bool owns_fd, const char *name,
			struct tb_transport **out, struct tb_error *err);

/*
 * Open a tty or pty by path, raw, 8N1, no flow control, at baud (ignored
 * by ptys).  The port is claimed with flock() and TIOCEXCL; one that another
 * program holds is TB_ERR_BUSY, one that does not exist TB_ERR_NOTFOUND.
 * The original settings are restored on close.
 */
int tb_transport_tty_open(const char *path, uint32_t baud,
			  struct tb_transport **out, struct tb_error *err);

/* ---- serial driver (libserialport) ----------------------------------- */

/*
 * Open a serial port by name ("/dev/ttyUSB0"), 8N1, no flow control.
 * TB_ERR_NOTFOUND names the port and lists those available; TB_ERR_BUSY if
 * another program holds it; TB_ERR_UNSUPPORTED for a pseudo-terminal
 * (libserialport 0.1.1 cannot open one: use tb_transport_tty_open).
 */
int tb_transport_serial_open(const char *port_name, uint32_t baud,
			     struct tb_transport **out, struct tb_error *err);

/* One serial port, as libserialport sees it.  Unknown strings are NULL. */
struct tb_serial_port_info {
	const char *name;           /* "/dev/ttyUSB0" */
	const char *description;
	const char *kind;           /* "native", "usb", "bluetooth" */
	bool has_usb_id;
	uint16_t vid;               /* USB ids, if has_usb_id */
	uint16_t pid;
	const char *serial;         /* USB serial number */
	const char *manufacturer;
	const char *product;
};

/* Return 0 to go on, anything else to stop (tb_serial_list returns it). */
typedef int (*tb_serial_list_cb)(const struct tb_serial_port_info *info,
				 void *user);

/* Call cb for each serial port of the machine, in libserialport's order. */
int tb_serial_list(tb_serial_list_cb cb, void *user, struct tb_error *err);

/* "/dev/ttyS0, /dev/ttyUSB0" or "none" into buf, for error messages. */
void tb_serial_list_names(char *buf, size_t len);

#endif
