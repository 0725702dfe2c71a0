/*
 * tb_power.c - the driver list, the wrappers every caller goes through, and
 * the std_* helpers drivers share (tb_power.h).
 */
#include "tb_power.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

extern const struct tb_power_driver tb_ppk2_driver;
extern const struct tb_power_driver tb_lpm01a_driver;

/*
 * Drivers built in.  A Joulescope driver would be appended here when the
 * jsdrv library is found (power/README.md): it is not packaged, so it is
 * not built.
 */
const struct tb_power_driver *const tb_power_drivers[] = {
	&tb_ppk2_driver,
	&tb_lpm01a_driver,
	NULL,
};

const struct tb_power_driver *tb_power_driver_find(const char *name, char *names,
						   size_t len)
{
	const struct tb_power_driver *found = NULL;
	size_t off = 0;

	if (names && len)
		names[0] = '\0';
	for (size_t i = 0; tb_power_drivers[i]; i++) {
		if (name && !strcmp(name, tb_power_drivers[i]->name))
			found = tb_power_drivers[i];
		if (names && off < len)
			off += (size_t)snprintf(names + off, len - off, "%s%s",
						i ? ", " : "", tb_power_drivers[i]->name);
	}
	return found;
}

const struct tb_power_driver *tb_power_driver_by_usb(uint16_t vid, uint16_t pid)
{
	for (size_t i = 0; tb_power_drivers[i]; i++) {
		const struct tb_power_usb_id *id = tb_power_drivers[i]->usb_ids;

		for (; id && id->vid; id++)
			if (id->vid == vid && id->pid == pid)
				return tb_power_drivers[i];
	}
	return NULL;
}

int tb_power_open_transport(const struct tb_power_driver *drv, struct tb_transport *t,
			    struct tb_power_dev **out, struct tb_error *err)
{
	int rc;

	*out = NULL;
	if (!drv || !t || drv->version < 1) {
		tb_transport_close(t);
		return tb_error_set(err, TB_ERR_ARG, "tb_power_open: bad driver or transport");
	}
	rc = drv->open(t, out, err);
	if (rc < 0)
		return tb_error_prefix(err, "%s on %s: ", drv->name, t->name);
	(*out)->drv = drv;
	(*out)->info.driver = drv->name;
	return TB_OK;
}

int tb_power_open(const struct tb_power_driver *drv, const char *port,
		  struct tb_power_dev **out, struct tb_error *err)
{
	struct tb_transport *t = NULL;
	int rc;

	*out = NULL;
	if (!drv || !port)
		return tb_error_set(err, TB_ERR_ARG, "tb_power_open: NULL argument");
	/* libserialport for real ports; it cannot open a pty (an emulator),
	 * which the fd transport does (baud ignored). */
	if (strncmp(port, "/dev/pts/", 9))
		rc = tb_transport_serial_open(port, drv->baud, &t, err);
	else
		rc = TB_ERR_UNSUPPORTED;
	if (rc == TB_ERR_UNSUPPORTED)
		rc = tb_transport_tty_open(port, 0, &t, err);
	if (rc < 0)
		return tb_error_prefix(err, "energy monitor %s: ", drv->name);
	return tb_power_open_transport(drv, t, out, err);
}

const struct tb_power_info *tb_power_get_info(const struct tb_power_dev *d)
{
	return &d->info;
}

static int check(struct tb_power_dev *d, struct tb_error *err)
{
	if (!d)
		return tb_error_set(err, TB_ERR_ARG, "energy monitor: NULL device");
	if (d->gone)
		return tb_error_set(err, TB_ERR_CLOSED, "%s on %s is gone", d->drv->name,
				    d->t->name);
	return TB_OK;
}

int tb_power_configure(struct tb_power_dev *d, const struct tb_power_config *c,
		       struct tb_error *err)
{
	struct tb_power_config zero = { 0 };
	int rc = check(d, err);

	if (rc < 0)
		return rc;
	if (d->running)
		return tb_error_set(err, TB_ERR_ARG, "%s: configure while acquiring", d->drv->name);
	return d->drv->configure(d, c ? c : &zero, err);
}

int tb_power_target(struct tb_power_dev *d, bool on, struct tb_error *err)
{
	int rc = check(d, err);

	return rc < 0 ? rc : d->drv->target_power(d, on, err);
}

int tb_power_start(struct tb_power_dev *d, const struct tb_power_sink *sink,
		   struct tb_error *err)
{
	int rc = check(d, err);

	if (rc < 0)
		return rc;
	if (!sink || !sink->samples || !sink->event)
		return tb_error_set(err, TB_ERR_ARG, "%s: start without a sink", d->drv->name);
	if (d->running)
		return tb_error_set(err, TB_ERR_ARG, "%s: already acquiring", d->drv->name);
	d->sink = *sink;
	rc = d->drv->start(d, sink, err);
	if (rc == TB_OK)
		d->running = true;
	return rc;
}

int tb_power_poll(struct tb_power_dev *d, int timeout_ms, struct tb_error *err)
{
	int rc = check(d, err);

	if (rc < 0)
		return rc;
	if (!d->running)
		return tb_error_set(err, TB_ERR_ARG, "%s: poll without an acquisition",
				    d->drv->name);
	return d->drv->poll(d, timeout_ms, err);
}

int tb_power_stop(struct tb_power_dev *d, struct tb_error *err)
{
	int rc = check(d, err);

	if (rc < 0) {
		if (d)
			d->running = false;
		return rc;
	}
	if (!d->running)
		return TB_OK;
	rc = d->drv->stop(d, err);
	d->running = false;
	return rc;
}

bool tb_power_gone(const struct tb_power_dev *d)
{
	return d && d->gone;
}

void tb_power_close(struct tb_power_dev *d)
{
	if (!d)
		return;
	d->drv->close(d);
}

int tb_power_std_lost(struct tb_power_dev *d, int rc, const char *what,
		      struct tb_error *err)
{
	char was[TB_ERROR_MSG_MAX];

	if (rc != TB_ERR_CLOSED && rc != TB_ERR_IO)
		return rc;
	d->gone = true;
	snprintf(was, sizeof(was), "%s", err ? err->msg : "");
	return tb_error_set(err, TB_ERR_CLOSED,
			    "energy monitor %s on %s went away during %s (%s)",
			    d->drv->name, d->t->name, what, was);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tb_power_std_drain(struct tb_power_dev *d, int quiet_ms, int max_ms,
		       void (*fn)(struct tb_power_dev *d, const uint8_t *buf, size_t n),
		       struct tb_error *err)
{
	uint8_t buf[16384];
	int64_t end = now_ms() + max_ms;
	int rc;

	for (;;) {
		int64_t left = end - now_ms();

		if (left <= 0)
			return TB_OK;
		rc = tb_transport_read(d->t, buf, sizeof(buf),
				       left < quiet_ms ? (int)left : quiet_ms, err);
		if (rc == 0)
			return TB_OK;
		if (rc < 0)
			return tb_power_std_lost(d, rc, "a drain", err);
		if (fn)
			fn(d, buf, (size_t)rc);
	}
}
