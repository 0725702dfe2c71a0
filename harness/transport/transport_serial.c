/*
 * transport_serial.c - the serial driver: a real serial port through
 * libserialport (USB CDC-ACM, CH340, FTDI, on-board UARTs).
 *
 * libserialport errors are converted here: the code becomes one of ours,
 * libserialport's message (the OS error) is kept in the text.  Its timeout
 * convention differs from ours (0 = forever there, 0 = don't wait here),
 * which the read/write operations translate.
 */
#include "tb_transport.h"

#include <errno.h>
#include <libserialport.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "transport_priv.h"

struct serial_transport {
	struct tb_transport base;    /* first: we cast from it */
	struct sp_port *port;
};

static struct serial_transport *to_serial(struct tb_transport *t)
{
	return (struct serial_transport *)t;
}

/* libserialport's last error text; "" if it has none. */
static void sp_message(enum sp_return r, char *buf, size_t len)
{
	char *msg;

	if (r != SP_ERR_FAIL) {
		snprintf(buf, len, "%s", r == SP_ERR_ARG ? "invalid argument" :
			 r == SP_ERR_MEM ? "out of memory" :
			 r == SP_ERR_SUPP ? "not supported" : "error");
		return;
	}
	msg = sp_last_error_message();
	snprintf(buf, len, "%s", msg ? msg : "unknown error");
	sp_free_error_message(msg);
}

/* Convert a failed libserialport call on port t into our error. */
static int sp_fail(struct tb_transport *t, const char *what, enum sp_return r,
		   struct tb_error *err)
{
	char msg[200];
	int e = r == SP_ERR_FAIL ? sp_last_error_code() : 0;

	sp_message(r, msg, sizeof(msg));
	if (e == EIO || e == ENXIO || e == ENODEV)
		return tb_error_set(err, TB_ERR_CLOSED,
				    "%s: %s: device disconnected (%s)",
				    t->name, what, msg);
	return tb_error_set(err, r == SP_ERR_MEM ? TB_ERR_NOMEM : TB_ERR_IO,
			    "%s: %s: %s", t->name, what, msg);
}

void tb_serial_list_names(char *buf, size_t len)
{
	struct sp_port **ports = NULL;
	size_t off = 0;
	int i;

	if (!len)
		return;
	buf[0] = '\0';
	if (sp_list_ports(&ports) != SP_OK || !ports || !ports[0]) {
		snprintf(buf, len, "none");
		goto out;
	}
	for (i = 0; ports[i] && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					i ? ", " : "",
					sp_get_port_name(ports[i]));
out:
	if (ports)
		sp_free_port_list(ports);
}

static int not_found(const char *name, const char *why, struct tb_error *err)
{
	char avail[256];

	tb_serial_list_names(avail, sizeof(avail));
	return tb_error_set(err, TB_ERR_NOTFOUND,
			    "serial port %s not found (%s); available ports: %s",
			    name, why, avail);
}

/* Find the port; a path that exists but libserialport rejects is a pty
 * or some other non-serial device. */
static int get_port(const char *name, struct sp_port **port,
		    struct tb_error *err)
{
	struct stat st = { 0 };
	enum sp_return r;
	char msg[200];

	if (name[0] == '/' && stat(name, &st))
		return not_found(name, strerror(errno), err);
	r = sp_get_port_by_name(name, port);
	if (r == SP_OK)
		return 0;
	sp_message(r, msg, sizeof(msg));
	if (name[0] == '/' && S_ISCHR(st.st_mode))
		return tb_error_set(err, TB_ERR_UNSUPPORTED,
				    "libserialport cannot use %s (%s); for a pseudo-terminal use the tty transport",
				    name, msg);
	return not_found(name, msg, err);
}

static int open_fail(const char *name, struct tb_error *err)
{
	int e = sp_last_error_code();
	char msg[200];

	sp_message(SP_ERR_FAIL, msg, sizeof(msg));
	if (e == EBUSY)
		return tb_error_set(err, TB_ERR_BUSY,
				    "port %s is busy: another program opened it for exclusive use (%s)",
				    name, msg);
	if (e == ENOENT || e == ENXIO || e == ENODEV)
		return not_found(name, msg, err);
	if (e == ENOTTY || e == EINVAL)
		return tb_error_set(err, TB_ERR_UNSUPPORTED,
				    "libserialport cannot open %s (%s); a pseudo-terminal needs the tty transport",
				    name, msg);
	if (e == EACCES || e == EPERM)
		return tb_error_set(err, TB_ERR_IO,
				    "cannot open port %s: %s (is your user in the dialout group?)",
				    name, msg);
	return tb_error_set(err, TB_ERR_IO, "cannot open port %s: %s", name,
			    msg);
}

/* Same locking as the tty transport, so the two see each other. */
static int claim(struct serial_transport *st, const char *name,
		 struct tb_error *err)
{
	int fd;

	if (sp_get_port_handle(st->port, &fd) != SP_OK)
		return 0;
	if (!flock(fd, LOCK_EX | LOCK_NB))
		return 0;
	if (errno == EWOULDBLOCK)
		return tb_error_set(err, TB_ERR_BUSY,
				    "port %s is busy: another program (or another tinybench) is using it",
				    name);
	return tb_error_set(err, TB_ERR_IO, "port %s: flock: %s", name,
			    strerror(errno));
}

static int configure(struct serial_transport *st, uint32_t baud,
		     struct tb_error *err)
{
	struct tb_transport *t = &st->base;
	enum sp_return r;

	r = sp_set_baudrate(st->port, (int)baud);
	if (r != SP_OK)
		return sp_fail(t, "set baud rate", r, err);
	r = sp_set_bits(st->port, 8);
	if (r == SP_OK)
		r = sp_set_parity(st->port, SP_PARITY_NONE);
	if (r == SP_OK)
		r = sp_set_stopbits(st->port, 1);
	if (r == SP_OK)
		r = sp_set_flowcontrol(st->port, SP_FLOWCONTROL_NONE);
	if (r != SP_OK)
		return sp_fail(t, "set 8N1, no flow control", r, err);
	return 0;
}

static int serial_read(struct tb_transport *t, uint8_t *buf, size_t cap,
		       int timeout_ms, struct tb_error *err)
{
	struct serial_transport *st = to_serial(t);
	enum sp_return r;

	if (timeout_ms == 0)
		r = sp_nonblocking_read(st->port, buf, cap);
	else
		r = sp_blocking_read_next(st->port, buf, cap,
					  timeout_ms < 0 ? 0 : (unsigned)timeout_ms);
	if (r < 0)
		return sp_fail(t, "read", r, err);
	return (int)r;
}

static int serial_write(struct tb_transport *t, const uint8_t *buf,
			size_t len, int timeout_ms, struct tb_error *err)
{
	struct serial_transport *st = to_serial(t);
	enum sp_return r;

	if (timeout_ms == 0)
		r = sp_nonblocking_write(st->port, buf, len);
	else
		r = sp_blocking_write(st->port, buf, len,
				      timeout_ms < 0 ? 0 : (unsigned)timeout_ms);
	if (r < 0)
		return sp_fail(t, "write", r, err);
	if ((size_t)r < len)
		return tb_error_set(err, TB_ERR_TIMEOUT,
				    "%s: wrote %d of %zu bytes in %d ms",
				    t->name, (int)r, len, timeout_ms);
	return 0;
}

static int serial_set_baud(struct tb_transport *t, uint32_t baud,
			   struct tb_error *err)
{
	enum sp_return r = sp_set_baudrate(to_serial(t)->port, (int)baud);

	return r == SP_OK ? 0 : sp_fail(t, "set baud rate", r, err);
}

static enum sp_return set_line(struct sp_port *port, enum tb_reset_line line,
			       bool on)
{
	if (line == TB_RESET_LINE_DTR)
		return sp_set_dtr(port, on ? SP_DTR_ON : SP_DTR_OFF);
	return sp_set_rts(port, on ? SP_RTS_ON : SP_RTS_OFF);
}

/*
 * Assert the line (the pin goes low on a USB-UART), wait, release it.  On
 * boards with the Arduino-style capacitor from DTR/RTS to nRESET the edge
 * resets the MCU.
 */
static int serial_pulse_reset(struct tb_transport *t, enum tb_reset_line line,
			      int duration_ms, struct tb_error *err)
{
	struct serial_transport *st = to_serial(t);
	enum sp_return r;

	r = set_line(st->port, line, true);
	if (r != SP_OK)
		return sp_fail(t, "assert DTR/RTS", r, err);
	tb_transport_sleep_ms(duration_ms);
	r = set_line(st->port, line, false);
	if (r != SP_OK)
		return sp_fail(t, "release DTR/RTS", r, err);
	return 0;
}

static int serial_discard_input(struct tb_transport *t, struct tb_error *err)
{
	enum sp_return r = sp_flush(to_serial(t)->port, SP_BUF_INPUT);

	return r == SP_OK ? 0 : sp_fail(t, "flush input", r, err);
}

static void serial_close(struct tb_transport *t)
{
	struct serial_transport *st = to_serial(t);

	if (st->port) {
		sp_close(st->port);
		sp_free_port(st->port);
	}
	free(st);
}

static const struct tb_transport_ops serial_ops = {
	.version = TB_TRANSPORT_OPS_VERSION,
	.name = "serial",
	.read = serial_read,
	.write = serial_write,
	.set_baud = serial_set_baud,
	.pulse_reset = serial_pulse_reset,
	.discard_input = serial_discard_input,
	.close = serial_close,
};

int tb_transport_serial_open(const char *port_name, uint32_t baud,
			     struct tb_transport **out, struct tb_error *err)
{
	struct serial_transport *st;
	char name[TB_TRANSPORT_NAME_MAX];
	int rc;

	if (!out || !port_name || !baud)
		return tb_error_set(err, TB_ERR_ARG, "tb_transport_serial_open: bad argument");
	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return tb_error_set(err, TB_ERR_NOMEM, "out of memory");
	snprintf(name, sizeof(name), "serial %s", port_name);
	tb_transport_init(&st->base, &serial_ops, name);
	rc = get_port(port_name, &st->port, err);
	if (rc)
		goto out_free;
	if (sp_open(st->port, SP_MODE_READ_WRITE) != SP_OK) {
		rc = open_fail(port_name, err);
		goto out_port;
	}
	rc = claim(st, port_name, err);
	if (!rc)
		rc = configure(st, baud, err);
	if (rc)
		goto out_close;
	*out = &st->base;
	return 0;
out_close:
	sp_close(st->port);
out_port:
	sp_free_port(st->port);
out_free:
	free(st);
	return rc;
}

/* ---- listing ports --------------------------------------------------- */

static const char *kind_name(enum sp_transport tr)
{
	switch (tr) {
	case SP_TRANSPORT_USB:       return "usb";
	case SP_TRANSPORT_BLUETOOTH: return "bluetooth";
	default:                     return "native";
	}
}

static void port_info(struct sp_port *port, struct tb_serial_port_info *info)
{
	enum sp_transport tr = sp_get_port_transport(port);
	int vid, pid;

	memset(info, 0, sizeof(*info));
	info->name = sp_get_port_name(port);
	info->description = sp_get_port_description(port);
	info->kind = kind_name(tr);
	if (tr != SP_TRANSPORT_USB)
		return;
	if (sp_get_port_usb_vid_pid(port, &vid, &pid) == SP_OK) {
		info->has_usb_id = true;
		info->vid = (uint16_t)vid;
		info->pid = (uint16_t)pid;
	}
	info->serial = sp_get_port_usb_serial(port);
	info->manufacturer = sp_get_port_usb_manufacturer(port);
	info->product = sp_get_port_usb_product(port);
}

int tb_serial_list(tb_serial_list_cb cb, void *user, struct tb_error *err)
{
	struct tb_serial_port_info info;
	struct sp_port **ports = NULL;
	enum sp_return r;
	char msg[200];
	int i, rc = 0;

	if (!cb)
		return tb_error_set(err, TB_ERR_ARG, "tb_serial_list: no callback");
	r = sp_list_ports(&ports);
	if (r != SP_OK) {
		sp_message(r, msg, sizeof(msg));
		return tb_error_set(err, TB_ERR_IO, "cannot list serial ports: %s",
				    msg);
	}
	for (i = 0; ports[i] && !rc; i++) {
		port_info(ports[i], &info);
		rc = cb(&info, user);
	}
	sp_free_port_list(ports);
	return rc;
}
