/*
 * The [power] section of board files (docs/BOARDS.md): the power model the
 * emulated monitors measure, the supply, the timestamp pin; checked as
 * strictly as the rest of the file.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tb_board.h"

static char path[64];

static int load(const char *power, struct tb_board **b, struct tb_error *err)
{
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/tb-board-power-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fprintf(f, "[board]\nname = b\ncpu = cortex-m4f\narch = armv7e-m\nclock_hz = 1\n"
		   "transport = serial\nbaud = 115200\nreset = none\ntiming = cycle-counter\n"
		   "energy_monitor = %s\n%s", strstr(power, "lpm01a-board") ? "lpm01a" : "ppk2",
		power);
	fclose(f);
	int rc = tb_board_load_file(path, b, err);

	unlink(path);
	return rc;
}

Test(board_power, model_and_wiring)
{
	struct tb_board *b;
	struct tb_error err = { 0 };

	cr_assert_eq(load("[power]\nvoltage_mv = 1800\nactive_ua = 5200\nidle_ua = 7\n"
			  "supply = external\ntimestamp_pin = Arduino D7 (PF13)\n", &b, &err), 0,
		     "%s", err.msg);
	cr_assert(b->has_power);
	cr_assert_eq(b->power_voltage_mv, 1800);
	cr_assert_eq(b->power_active_ua, 5200);
	cr_assert_eq(b->power_idle_ua, 7);
	cr_assert(b->power_external_supply);
	cr_assert_str_eq(b->timestamp_pin, "Arduino D7 (PF13)");
	tb_board_free(b);
	/* defaults */
	cr_assert_eq(load("[power]\nactive_ua = 1\nidle_ua = 0\n", &b, &err), 0, "%s", err.msg);
	cr_assert_eq(b->power_voltage_mv, 3300);
	cr_assert(!b->power_external_supply);
	cr_assert_null(b->timestamp_pin);
	tb_board_free(b);
	cr_assert_eq(load("", &b, &err), 0, "%s", err.msg);
	cr_assert(!b->has_power);
	tb_board_free(b);
}

static void bad(const char *power, const char *phrase)
{
	struct tb_board *b = NULL;
	struct tb_error err = { 0 };

	cr_assert_eq(load(power, &b, &err), TB_ERR_FORMAT, "accepted: %s", power);
	cr_assert_null(b);
	cr_assert(strstr(err.msg, phrase), "'%s' not in '%s'", phrase, err.msg);
}

Test(board_power, strict)
{
	bad("[power]\nvoltage_mv = 6000\n", "voltage_mv: '6000' is too large; expected a whole number from 800 to 5000");
	bad("[power]\nvoltage_mv = 3.3\n", "voltage_mv: '3.3' is not a whole number");
	bad("[power]\nactive_ua = 5mA\nidle_ua = 1\n", "active_ua: '5mA' is not a whole number");
	bad("[power]\nactive_ua = 5000\n", "needs both active_ua and idle_ua");
	bad("[power]\nidle_ua = 5000\n", "needs both active_ua and idle_ua");
	bad("[power]\nsupply = battery\n", "supply: 'battery' is not accepted; use one of: monitor, external");
	bad("[power]\ntimestamp_pin =\n", "timestamp_pin: is empty");
	bad("[power]\nvolts = 3\n", "unknown key 'volts' in [power]; known keys: voltage_mv, active_ua, idle_ua, supply, timestamp_pin");
	bad("[power]\nvoltage_mv = 3000\nvoltage_mv = 3300\n", "given twice");
	bad("; lpm01a-board\n[power]\nsupply = external\n", "the LPM01A powers the board itself");
}

Test(board_power, shipped_sim_board)
{
	struct tb_board *b;
	struct tb_error err = { 0 };
	char p[4096];

	snprintf(p, sizeof(p), "%s/boards/sim.ini", getenv("TB_SOURCE_DIR"));
	cr_assert_eq(tb_board_load_file(p, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(b->energy_monitor, TB_BOARD_ENERGY_PPK2);
	cr_assert(b->has_power && b->power_active_ua > b->power_idle_ua);
	tb_board_free(b);
}
