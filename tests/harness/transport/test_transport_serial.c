/*
 * test_transport_serial.c - the libserialport driver's error paths and the
 * port listing.  No test here needs hardware; set TB_TEST_SERIAL_PORT to a
 * real port (nothing is written to it) to also run the busy test on it.
 */
#include <criterion/criterion.h>

#include <pty.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tb_transport.h"

Test(transport_serial, open_nonexistent_is_notfound)
{
	struct tb_transport *t = (struct tb_transport *)1;
	struct tb_error err = { 0 };
	int rc;

	rc = tb_transport_serial_open("/dev/ttyUSB_NOPE42", 115200, &t, &err);
	cr_assert_eq(rc, TB_ERR_NOTFOUND, "%d %s", rc, err.msg);
	cr_assert_null(t);
	cr_assert(strstr(err.msg, "/dev/ttyUSB_NOPE42"), "%s", err.msg);
	cr_assert(strstr(err.msg, "available ports:"), "%s", err.msg);
}

Test(transport_serial, open_unknown_name_is_notfound)
{
	struct tb_transport *t;
	struct tb_error err = { 0 };
	int rc;

	rc = tb_transport_serial_open("COM77", 115200, &t, &err);
	cr_assert_eq(rc, TB_ERR_NOTFOUND, "%d %s", rc, err.msg);
	cr_assert(strstr(err.msg, "COM77"), "%s", err.msg);
}

/* libserialport 0.1.1 cannot open a pty: say so and point elsewhere. */
Test(transport_serial, pty_is_unsupported)
{
	struct tb_transport *t;
	struct tb_error err = { 0 };
	char path[64];
	int m, s, rc;

	cr_assert_eq(openpty(&m, &s, path, NULL, NULL), 0);
	rc = tb_transport_serial_open(path, 115200, &t, &err);
	cr_assert_eq(rc, TB_ERR_UNSUPPORTED, "%d %s", rc, err.msg);
	cr_assert(strstr(err.msg, path), "%s", err.msg);
	cr_assert(strstr(err.msg, "tty transport"), "%s", err.msg);
	close(m);
	close(s);
}

Test(transport_serial, bad_arguments)
{
	struct tb_transport *t;
	struct tb_error err = { 0 };

	cr_assert_eq(tb_transport_serial_open(NULL, 115200, &t, &err), TB_ERR_ARG);
	cr_assert_eq(tb_transport_serial_open("/dev/ttyS0", 0, &t, &err), TB_ERR_ARG);
}

struct seen {
	int count;
	int stop_at;
};

static int count_port(const struct tb_serial_port_info *info, void *user)
{
	struct seen *seen = user;

	cr_assert_not_null(info->name);
	cr_assert_not_null(info->kind);
	cr_assert(!strcmp(info->kind, "native") || !strcmp(info->kind, "usb") ||
		  !strcmp(info->kind, "bluetooth"), "kind %s", info->kind);
	if (!info->has_usb_id)
		cr_assert_eq(info->vid, 0);
	seen->count++;
	return seen->count == seen->stop_at ? 42 : 0;
}

Test(transport_serial, list_ports)
{
	struct seen seen = { 0, -1 };
	struct tb_error err = { 0 };
	char names[256];
	int rc;

	rc = tb_serial_list(count_port, &seen, &err);
	cr_assert_eq(rc, 0, "%d %s", rc, err.msg);
	tb_serial_list_names(names, sizeof(names));
	cr_assert(seen.count > 0 || !strcmp(names, "none"), "%s", names);
	if (seen.count > 0) {
		/* A callback's non-zero return stops the walk and comes back. */
		seen = (struct seen){ 0, 1 };
		cr_assert_eq(tb_serial_list(count_port, &seen, &err), 42);
		cr_assert_eq(seen.count, 1);
	}
	cr_assert_eq(tb_serial_list(NULL, NULL, &err), TB_ERR_ARG);
}

Test(transport_serial, busy_on_real_port)
{
	const char *port = getenv("TB_TEST_SERIAL_PORT");
	struct tb_transport *a, *b;
	struct tb_error err = { 0 };
	int rc;

	if (!port || !*port)
		cr_skip_test("TB_TEST_SERIAL_PORT not set");
	rc = tb_transport_serial_open(port, 115200, &a, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	rc = tb_transport_serial_open(port, 115200, &b, &err);
	cr_assert_eq(rc, TB_ERR_BUSY, "%d %s", rc, err.msg);
	/* The tty driver sees the same lock. */
	rc = tb_transport_tty_open(port, 115200, &b, &err);
	cr_assert_eq(rc, TB_ERR_BUSY, "%d %s", rc, err.msg);
	tb_transport_close(a);
}
