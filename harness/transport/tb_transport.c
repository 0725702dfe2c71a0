/*
 * tb_transport.c - the wrappers every caller goes through, and the time
 * helpers the drivers share.
 */
#include "tb_transport.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <time.h>

#include "transport_priv.h"

int64_t tb_transport_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tb_transport_deadline(int timeout_ms)
{
	if (timeout_ms < 0)
		return -1;
	return tb_transport_now_ms() + timeout_ms;
}

int tb_transport_remaining(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - tb_transport_now_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

void tb_transport_sleep_ms(int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000L,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void tb_transport_init(struct tb_transport *t,
		       const struct tb_transport_ops *ops, const char *name)
{
	t->ops = ops;
	snprintf(t->name, sizeof(t->name), "%s", name ? name : ops->name);
	t->bytes_in = 0;
	t->bytes_out = 0;
}

/* A usable transport: a table we know how to read. */
static int check(struct tb_transport *t, const char *what,
		 struct tb_error *err)
{
	if (!t || !t->ops)
		return tb_error_set(err, TB_ERR_ARG, "%s: no transport", what);
	if (t->ops->version < 1)
		return tb_error_set(err, TB_ERR_ARG,
				    "%s: transport '%s' has ops version %d",
				    what, t->name, t->ops->version);
	return 0;
}

int tb_transport_read(struct tb_transport *t, uint8_t *buf, size_t cap,
		      int timeout_ms, struct tb_error *err)
{
	int n;

	n = check(t, "read", err);
	if (n)
		return n;
	if (!buf || !cap)
		return tb_error_set(err, TB_ERR_ARG, "%s: read into an empty buffer",
				    t->name);
	if (cap > INT_MAX)
		cap = INT_MAX;
	n = t->ops->read(t, buf, cap, timeout_ms, err);
	if (n > 0)
		t->bytes_in += (uint64_t)n;
	return n;
}

int tb_transport_write(struct tb_transport *t, const uint8_t *buf, size_t len,
		       int timeout_ms, struct tb_error *err)
{
	int rc;

	rc = check(t, "write", err);
	if (rc)
		return rc;
	if (!len)
		return 0;
	if (!buf)
		return tb_error_set(err, TB_ERR_ARG, "%s: write from NULL", t->name);
	rc = t->ops->write(t, buf, len, timeout_ms, err);
	if (!rc)
		t->bytes_out += len;
	return rc;
}

static int unsupported(struct tb_transport *t, const char *what,
		       struct tb_error *err)
{
	return tb_error_set(err, TB_ERR_UNSUPPORTED, "%s: %s transport cannot %s",
			    t->name, t->ops->name, what);
}

int tb_transport_set_baud(struct tb_transport *t, uint32_t baud,
			  struct tb_error *err)
{
	int rc = check(t, "set_baud", err);

	if (rc)
		return rc;
	if (!t->ops->set_baud)
		return unsupported(t, "change the baud rate", err);
	if (!baud)
		return tb_error_set(err, TB_ERR_ARG, "%s: baud rate 0", t->name);
	return t->ops->set_baud(t, baud, err);
}

int tb_transport_pulse_reset(struct tb_transport *t, enum tb_reset_line line,
			     int duration_ms, struct tb_error *err)
{
	int rc = check(t, "pulse_reset", err);

	if (rc)
		return rc;
	if (!t->ops->pulse_reset)
		return unsupported(t, "pulse DTR/RTS", err);
	if (line != TB_RESET_LINE_DTR && line != TB_RESET_LINE_RTS)
		return tb_error_set(err, TB_ERR_ARG, "%s: unknown reset line %d",
				    t->name, (int)line);
	if (duration_ms <= 0)
		return tb_error_set(err, TB_ERR_ARG, "%s: reset pulse of %d ms",
				    t->name, duration_ms);
	return t->ops->pulse_reset(t, line, duration_ms, err);
}

int tb_transport_discard_input(struct tb_transport *t, struct tb_error *err)
{
	int rc = check(t, "discard_input", err);

	if (rc)
		return rc;
	if (!t->ops->discard_input)
		return unsupported(t, "discard input", err);
	return t->ops->discard_input(t, err);
}

void tb_transport_close(struct tb_transport *t)
{
	if (t && t->ops && t->ops->close)
		t->ops->close(t);
}
