/*
 * tbd_port.c - finding a board's serial port by USB id and serial number.
 *
 * USB serial ports are renamed when a cable is pulled and plugged back
 * (/dev/ttyUSB0 becomes /dev/ttyUSB1), so a daemon that owns a board for
 * weeks names it by what does not change: VID:PID and the USB serial
 * number.  The worker asks for the port before every connection; when a
 * port vanished mid-run the reconnect waits for it to come back (the
 * board's port_wait_ms) and finds it under whatever name it now has.
 */
#include "tbd.h"
#include "tb_transport.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

bool tbd_port_matches(const struct tb_serial_port_info *p, uint16_t vid,
		      uint16_t pid, const char *serial)
{
	if (!p->has_usb_id || p->vid != vid || p->pid != pid)
		return false;
	if (serial && serial[0])
		return p->serial && !strcmp(p->serial, serial);
	return true;
}

struct find {
	uint16_t vid, pid;
	const char *serial;
	char *port;
	size_t len;
	int matches;
	char names[512];
};

static int on_port(const struct tb_serial_port_info *p, void *user)
{
	struct find *f = user;
	size_t n = strlen(f->names);

	if (!tbd_port_matches(p, f->vid, f->pid, f->serial))
		return 0;
	if (f->matches++ == 0)
		snprintf(f->port, f->len, "%s", p->name);
	snprintf(f->names + n, sizeof(f->names) - n, "%s%s", n ? ", " : "", p->name);
	return 0;
}

int tbd_port_find(uint16_t vid, uint16_t pid, const char *serial, int wait_ms,
		  char *port, size_t len, struct tb_error *err)
{
	struct timespec start, now, pause = { 0, 250 * 1000000L };
	struct find f = { .vid = vid, .pid = pid, .serial = serial, .port = port, .len = len };
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		f.matches = 0;
		f.names[0] = '\0';
		rc = tb_serial_list(on_port, &f, err);
		if (rc < 0)
			return rc;
		if (f.matches == 1)
			return TB_OK;
		if (f.matches > 1)
			return tb_error_set(err, TB_ERR_BUSY,
					    "%d ports match USB %04x:%04x%s%s (%s): give the serial number",
					    f.matches, vid, pid, serial && serial[0] ? " serial " : "",
					    serial ? serial : "", f.names);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 +
		    (now.tv_nsec - start.tv_nsec) / 1000000 >= wait_ms)
			break;
		nanosleep(&pause, NULL);
	}
	return tb_error_set(err, TB_ERR_NOTFOUND,
			    "no serial port with USB id %04x:%04x%s%s (waited %d ms)",
			    vid, pid, serial && serial[0] ? " and serial number " : "",
			    serial ? serial : "", wait_ms);
}
