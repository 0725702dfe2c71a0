/*
 * test_board.c - board files and the board registry.
 *
 * Each test writes the board files it needs into a fresh temporary folder,
 * so the file a test is about is right there in the test.
 */
#include <criterion/criterion.h>

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tb_board.h"
#include "tb_config.h"

/* A valid minimal sim board; tests append lines to it. */
#define SIM_BOARD \
	"[board]\n"                          /* 1 */ \
	"name = s\n"                         /* 2 */ \
	"cpu = host\n"                       /* 3 */ \
	"arch = native\n"                    /* 4 */ \
	"clock_hz = 0\n"                     /* 5 */ \
	"transport = sim\n"                  /* 6 */ \
	"reset = process\n"                  /* 7 */ \
	"timing = host-monotonic-clock\n"    /* 8 */

/* A valid minimal serial board (8 lines too). */
#define SERIAL_BOARD \
	"[board]\n" \
	"name = ser\n" \
	"cpu = cortex-m4f\n" \
	"arch = armv7e-m\n" \
	"clock_hz = 48000000\n" \
	"transport = serial\n" \
	"baud = 115200\n" \
	"timing = cycle-counter\n"

static char tmp[64];

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

static void make_tmp(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/tb_test_board_XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
}

static void remove_tmp(void)
{
	nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(board, .init = make_tmp, .fini = remove_tmp);
TestSuite(registry, .init = make_tmp, .fini = remove_tmp);

/* Write text to tmp/rel (creating folders); the path into out. */
static void write_file(const char *rel, const char *text, char *out, size_t len)
{
	char path[512], cmd[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	cr_assert_eq(system(cmd), 0);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
	if (out)
		snprintf(out, len, "%s", path);
}

static void sub_dir(const char *rel, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", tmp, rel);
}

static struct tb_board *load_ok(const char *text)
{
	struct tb_error err = { 0 };
	struct tb_board *b = NULL;
	char path[512];

	write_file("b.ini", text, path, sizeof(path));
	cr_assert_eq(tb_board_load_file(path, &b, &err), 0, "%s", err.msg);
	cr_assert_not_null(b);
	return b;
}

/*
 * Load text as b.ini and expect code with a message containing "b.ini:LINE"
 * (line > 0) and every one of the NULL-terminated substrings.
 */
static void load_bad(const char *text, int code, int line, ...)
{
	struct tb_error err = { 0 };
	struct tb_board *b = (struct tb_board *)1;
	char path[512], where[600];
	const char *s;
	va_list ap;
	int rc;

	write_file("b.ini", text, path, sizeof(path));
	rc = tb_board_load_file(path, &b, &err);
	cr_assert_eq(rc, code, "rc %d (%s), want %d: %s", rc, tb_strerror(rc),
		     code, err.msg);
	cr_assert_eq(err.code, code);
	cr_assert_null(b);
	snprintf(where, sizeof(where), "%s:%d: ", path, line);
	if (line > 0)
		cr_assert(strstr(err.msg, where), "want '%s' in: %s", where, err.msg);
	else
		cr_assert(strstr(err.msg, path), "want the path in: %s", err.msg);
	va_start(ap, line);
	while ((s = va_arg(ap, const char *)))
		cr_assert(strstr(err.msg, s), "want '%s' in: %s", s, err.msg);
	va_end(ap);
}

/* ---- good files ------------------------------------------------------ */

Test(board, full_file_parses)
{
	struct tb_board *b = load_ok(
		"; a comment\n"
		"# another\n"
		"[board]\n"
		"name = testboard\n"
		"description = A test board ; an inline comment\n"
		"cpu = cortex-m4f\n"
		"arch = armv7e-m\n"
		"clock_hz = 48000000\n"
		"flash_bytes = 1048576\n"
		"ram_bytes = 393216\n"
		"transport = serial\n"
		"baud = 115200\n"
		"usb_ids = 1a86:7523 ,0403:6001, ABCD:ef01\n"
		"reset = dtr\n"
		"energy_monitor = ppk2\n"
		"timing = cycle-counter\n"
		"\n"
		"[reset]\n"
		"pulse_ms = 50\n"
		"\n"
		"[flash]\n"
		"command = svl.py {port} -f {image} -b 921600\n"
		"          -v \"a b\" \"q\\\"x\\\\\" \"\" {{literal}}\n");

	cr_assert_str_eq(b->name, "testboard");
	cr_assert_str_eq(b->description, "A test board");
	cr_assert_str_eq(b->cpu, "cortex-m4f");
	cr_assert_str_eq(b->arch, "armv7e-m");
	cr_assert_eq(b->clock_hz, 48000000);
	cr_assert_eq(b->flash_bytes, 1048576);
	cr_assert_eq(b->ram_bytes, 393216);
	cr_assert_eq(b->transport, TB_BOARD_TRANSPORT_SERIAL);
	cr_assert_eq(b->baud, 115200);
	cr_assert_eq(b->n_usb_ids, 3);
	cr_assert_eq(b->usb_ids[0].vid, 0x1a86);
	cr_assert_eq(b->usb_ids[0].pid, 0x7523);
	cr_assert_eq(b->usb_ids[1].vid, 0x0403);
	cr_assert_eq(b->usb_ids[1].pid, 0x6001);
	cr_assert_eq(b->usb_ids[2].vid, 0xabcd);
	cr_assert_eq(b->usb_ids[2].pid, 0xef01);
	cr_assert_eq(b->reset, TB_BOARD_RESET_DTR);
	cr_assert_eq(b->reset_pulse_ms, 50);
	cr_assert_eq(b->energy_monitor, TB_BOARD_ENERGY_PPK2);
	cr_assert_eq(b->timing, TB_BOARD_TIMING_CYCLE_COUNTER);
	cr_assert_null(b->runner);
	cr_assert_null(b->reset_argv);
	cr_assert_null(b->overrides);
	cr_assert(strstr(b->path, "/b.ini"));

	/* Splitting: the continuation line adds arguments. */
	{
		const char *want[] = { "svl.py", "{port}", "-f", "{image}",
				       "-b", "921600", "-v", "a b", "q\"x\\",
				       "", "{{literal}}", NULL };
		int i;

		for (i = 0; want[i]; i++) {
			cr_assert_not_null(b->flash_argv[i], "arg %d missing", i);
			cr_assert_str_eq(b->flash_argv[i], want[i], "arg %d", i);
		}
		cr_assert_null(b->flash_argv[i]);
	}
	tb_board_free(b);
}

Test(board, defaults)
{
	struct tb_board *b = load_ok(SIM_BOARD);

	cr_assert_str_eq(b->description, "");
	cr_assert_eq(b->clock_hz, 0);
	cr_assert_eq(b->flash_bytes, 0);
	cr_assert_eq(b->baud, 0);
	cr_assert_eq(b->n_usb_ids, 0);
	cr_assert_eq(b->energy_monitor, TB_BOARD_ENERGY_NONE);
	cr_assert_str_eq(b->runner, TB_BOARD_DEFAULT_RUNNER);
	cr_assert_null(b->flash_argv);
	tb_board_free(b);

	b = load_ok(SERIAL_BOARD "reset = rts\n");
	cr_assert_eq(b->reset_pulse_ms, TB_BOARD_DEFAULT_PULSE_MS);
	tb_board_free(b);
}

Test(board, riscv_and_reset_command)
{
	struct tb_board *b = load_ok(
		"[board]\nname = esp32-c3.devkit_1\ncpu = esp32c3\n"
		"arch = rv32imc_zicsr\nclock_hz = 160000000\n"
		"transport = serial\nbaud = 921600\nreset = command\n"
		"timing = cycle-counter\n"
		"[reset]\ncommand = esptool.py --port {port} --baud {baud} run\n");

	cr_assert_str_eq(b->arch, "rv32imc_zicsr");
	cr_assert_str_eq(b->reset_argv[0], "esptool.py");
	cr_assert_str_eq(b->reset_argv[2], "{port}");
	tb_board_free(b);
}

Test(board, enum_names_round_trip)
{
	cr_assert_str_eq(tb_board_transport_name(TB_BOARD_TRANSPORT_SIM), "sim");
	cr_assert_str_eq(tb_board_transport_name(TB_BOARD_TRANSPORT_QEMU), "qemu");
	cr_assert_str_eq(tb_board_reset_name(TB_BOARD_RESET_COMMAND), "command");
	cr_assert_str_eq(tb_board_energy_name(TB_BOARD_ENERGY_LPM01A), "lpm01a");
	cr_assert_str_eq(tb_board_timing_name(TB_BOARD_TIMING_HOST_MONOTONIC),
			 "host-monotonic-clock");
	cr_assert_str_eq(tb_board_timing_name((enum tb_board_timing)99), "?");
}

/* ---- bad files: one test per kind of mistake ---------------------------- */

Test(board, unknown_key)
{
	load_bad(SIM_BOARD "buad = 115200\n", TB_ERR_FORMAT, 9,
		 "unknown key 'buad' in [board]", "known keys: name,", "baud", NULL);
}

Test(board, unknown_section)
{
	load_bad(SIM_BOARD "[extra]\n", TB_ERR_FORMAT, 9,
		 "unknown section [extra]", "[board], [flash], [reset]", NULL);
	/* libinih does not trim section names: neither do we. */
	load_bad("[ board ]\nname = x\n", TB_ERR_FORMAT, 1,
		 "unknown section [ board ]", NULL);
}

Test(board, unknown_key_in_other_section)
{
	load_bad(SIM_BOARD "[flash]\nprogram = x\n", TB_ERR_FORMAT, 10,
		 "unknown key 'program' in [flash]", "known keys: command", NULL);
}

Test(board, key_outside_section)
{
	load_bad("name = s\n" SIM_BOARD, TB_ERR_FORMAT, 1,
		 "'name' is outside any section", NULL);
}

Test(board, missing_required_key)
{
	load_bad("# no cpu\n[board]\nname = s\narch = native\nclock_hz = 0\n"
		 "transport = sim\nreset = process\ntiming = host-monotonic-clock\n",
		 TB_ERR_FORMAT, 2, "cpu: required key missing", NULL);
	load_bad("[board]\nname = s\ncpu = host\narch = native\n"
		 "transport = sim\nreset = process\ntiming = host-monotonic-clock\n",
		 TB_ERR_FORMAT, 1, "clock_hz: required", NULL);
}

Test(board, no_board_section)
{
	load_bad("; empty\n", TB_ERR_FORMAT, 0, "no [board] section", NULL);
	load_bad("[flash]\ncommand = x\n", TB_ERR_FORMAT, 0, "no [board] section", NULL);
}

Test(board, negative_number)
{
	load_bad(SIM_BOARD "ram_bytes = -1\n", TB_ERR_FORMAT, 9,
		 "ram_bytes: '-1' is negative", "from 0 to 18446744073709551615", NULL);
}

Test(board, overflowing_number)
{
	load_bad(SIM_BOARD "flash_bytes = 18446744073709551616\n", TB_ERR_FORMAT, 9,
		 "flash_bytes", "too large", NULL);
	/* The largest value is fine. */
	tb_board_free(load_ok(SIM_BOARD "flash_bytes = 18446744073709551615\n"));
}

Test(board, junk_numbers)
{
	load_bad(SIM_BOARD "flash_bytes = 1M\n", TB_ERR_FORMAT, 9,
		 "flash_bytes: '1M' is not a whole number", "decimal digits only", NULL);
	load_bad(SIM_BOARD "flash_bytes = 0x100\n", TB_ERR_FORMAT, 9,
		 "'0x100' is not a whole number", NULL);
	load_bad(SIM_BOARD "flash_bytes = +5\n", TB_ERR_FORMAT, 9, "'+5'", NULL);
	load_bad(SIM_BOARD "flash_bytes = 1 000\n", TB_ERR_FORMAT, 9, "'1 000'", NULL);
	load_bad(SIM_BOARD "flash_bytes =\n", TB_ERR_FORMAT, 9,
		 "flash_bytes: '' is not a whole number", NULL);
}

Test(board, baud_range)
{
	load_bad(SERIAL_BOARD "reset = none\n" "baud = 0\n", TB_ERR_FORMAT, 10,
		 "baud: given twice (first on line 7)", NULL);
	load_bad("[board]\nname = ser\ncpu = c\narch = armv7e-m\nclock_hz = 1\n"
		 "transport = serial\nbaud = 0\nreset = none\ntiming = systick\n",
		 TB_ERR_FORMAT, 7, "baud: '0' is too small", "from 1 to 20000000", NULL);
	load_bad("[board]\nname = ser\ncpu = c\narch = armv7e-m\nclock_hz = 1\n"
		 "transport = serial\nbaud = 4294967296\nreset = none\ntiming = systick\n",
		 TB_ERR_FORMAT, 7, "baud", "too large", NULL);
}

Test(board, bad_usb_ids)
{
	static const char *const bad[] = {
		"1a86-7523", "1a86:752", "1a867:523", "zzzz:0001", "1a86:7523,",
		"1a86:7523,,0403:6001", ":", "0x1a86:0x7523",
	};
	char text[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), SIM_BOARD "usb_ids = %s\n", bad[i]);
		load_bad(text, TB_ERR_FORMAT, 9, "usb_ids: '",
			 "is not a USB id", "vvvv:pppp", NULL);
	}
	load_bad(SIM_BOARD "usb_ids = \n", TB_ERR_FORMAT, 9, "usb_ids: is empty", NULL);
	load_bad(SIM_BOARD "usb_ids = 0001:0001,0001:0002,0001:0003,0001:0004,"
		 "0001:0005,0001:0006,0001:0007,0001:0008,0001:0009\n",
		 TB_ERR_FORMAT, 9, "more than 8 USB ids", NULL);
}

Test(board, bad_enum_values)
{
	load_bad("[board]\nname = s\ncpu = host\narch = native\nclock_hz = 0\n"
		 "transport = usb\nreset = process\ntiming = host-monotonic-clock\n",
		 TB_ERR_FORMAT, 6, "transport: 'usb' is not accepted",
		 "use one of: sim, serial, qemu", NULL);
	load_bad(SIM_BOARD "energy_monitor = joulescope\n", TB_ERR_FORMAT, 9,
		 "energy_monitor: 'joulescope'", "none, ppk2, lpm01a", NULL);
	load_bad(SERIAL_BOARD "reset = DTR\n", TB_ERR_FORMAT, 9,
		 "reset: 'DTR'", "none, process, dtr, rts, command, power", NULL);
	load_bad("[board]\nname = s\ncpu = host\narch = native\nclock_hz = 0\n"
		 "transport = sim\nreset = process\ntiming = wallclock\n",
		 TB_ERR_FORMAT, 8, "timing: 'wallclock'",
		 "host-monotonic-clock, cycle-counter, systick, qemu-icount", NULL);
	load_bad("[board]\nname = s\ncpu = host\narch = x86_64\n", TB_ERR_FORMAT, 4,
		 "arch: 'x86_64' is not accepted", "armv7e-m", "rv32imac", NULL);
}

Test(board, bad_names)
{
	static const char *const bad[] = {
		"Apollo3", "my board", "-x", "a/b", "x_123456789_123456789_123456789_1",
	};
	char text[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[board]\nname = %s\n", bad[i]);
		load_bad(text, TB_ERR_FORMAT, 2, "name: '", "not a valid board name",
			 "lowercase letters", NULL);
	}
	load_bad("[board]\ncpu = cortex m4\n", TB_ERR_FORMAT, 2,
		 "cpu: 'cortex m4' contains white space", NULL);
}

Test(board, duplicate_key)
{
	load_bad(SIM_BOARD "name = t\n", TB_ERR_FORMAT, 9,
		 "name: given twice (first on line 2)", NULL);
}

Test(board, continuation_only_for_commands)
{
	load_bad("[board]\ndescription = one\n  two\n", TB_ERR_FORMAT, 3,
		 "description: an indented line continues", NULL);
}

Test(board, line_too_long)
{
	char text[1024];
	char desc[301];

	memset(desc, 'x', 300);
	desc[300] = '\0';
	snprintf(text, sizeof(text), SIM_BOARD "description = %s\n", desc);
	load_bad(text, TB_ERR_FORMAT, 9, "longer than 198 characters", NULL);
}

Test(board, syntax_error)
{
	load_bad(SIM_BOARD "this line has no equals sign\n", TB_ERR_FORMAT, 9,
		 "syntax error", NULL);
	load_bad(SIM_BOARD "[flash\n", TB_ERR_FORMAT, 9, "syntax error", NULL);
}

Test(board, nul_byte)
{
	char path[512];
	struct tb_error err = { 0 };
	struct tb_board *b;
	FILE *f;

	write_file("nul.ini", "", path, sizeof(path));
	f = fopen(path, "w");
	fwrite("[board]\nna\0me = x\n", 1, 18, f);
	fclose(f);
	cr_assert_eq(tb_board_load_file(path, &b, &err), TB_ERR_FORMAT);
	cr_assert(strstr(err.msg, "nul.ini:2: contains a NUL byte"), "%s", err.msg);
}

Test(board, transport_combinations)
{
	load_bad("[board]\nname = ser\ncpu = c\narch = armv7e-m\nclock_hz = 1\n"
		 "transport = serial\nreset = none\ntiming = systick\n",
		 TB_ERR_FORMAT, 6, "baud: required with transport = serial", NULL);
	load_bad(SERIAL_BOARD "reset = none\nrunner = foo\n", TB_ERR_FORMAT, 10,
		 "runner: only used with transport = sim, not serial", NULL);
	load_bad(SERIAL_BOARD "reset = process\n", TB_ERR_FORMAT, 9,
		 "reset: process needs transport = sim or qemu", NULL);
	load_bad("[board]\nname = s\ncpu = host\narch = native\nclock_hz = 0\n"
		 "transport = sim\nreset = dtr\ntiming = host-monotonic-clock\n",
		 TB_ERR_FORMAT, 7, "reset: dtr needs transport = serial", NULL);
	load_bad("[board]\nname = s\ncpu = c\narch = armv7e-m\nclock_hz = 1\n"
		 "transport = serial\nbaud = 9600\nreset = none\n"
		 "timing = host-monotonic-clock\n",
		 TB_ERR_FORMAT, 9, "timing: host-monotonic-clock needs transport = sim", NULL);
	load_bad(SIM_BOARD "[reset]\npulse_ms = 10\n", TB_ERR_FORMAT, 10,
		 "pulse_ms: only used with reset = dtr, rts or power", NULL);
}

/* reset = power: the board's supply cycled through its energy monitor. */
Test(board, reset_by_power)
{
	struct tb_board *b;

	b = load_ok(SERIAL_BOARD "reset = power\nenergy_monitor = ppk2\n");
	cr_expect_eq(b->reset, TB_BOARD_RESET_POWER);
	cr_expect_str_eq(tb_board_reset_name(b->reset), "power");
	cr_expect_eq(b->reset_pulse_ms, TB_BOARD_DEFAULT_POWER_OFF_MS, "the default off time");
	tb_board_free(b);
	b = load_ok(SERIAL_BOARD "reset = power\nenergy_monitor = lpm01a\n[reset]\npulse_ms = 1500\n");
	cr_expect_eq(b->reset_pulse_ms, 1500);
	tb_board_free(b);
	load_bad(SERIAL_BOARD "reset = power\n", TB_ERR_FORMAT, 9,
		 "power cycles the board through its energy monitor", NULL);
	load_bad(SERIAL_BOARD "reset = power\nenergy_monitor = ppk2\n[power]\nsupply = external\n",
		 TB_ERR_FORMAT, 9, "supply = external", NULL);
	load_bad("[board]\nname = s\ncpu = host\narch = native\nclock_hz = 0\n"
		 "transport = sim\nreset = power\nenergy_monitor = ppk2\n"
		 "timing = host-monotonic-clock\n",
		 TB_ERR_FORMAT, 7, "power needs transport = serial", NULL);
}

/* [qemu] timestamp_line: the channel of the firmware's timestamp bridge. */
Test(board, qemu_timestamp_line)
{
	static const char qemu[] =
		"[board]\nname = q\ncpu = c\narch = armv7e-m\nclock_hz = 25000000\n"
		"transport = qemu\nreset = process\ntiming = qemu-icount\n"
		"[qemu]\nprogram = qemu-system-arm\nmachine = mps2-an386\nicount_shift = 7\n";
	char text[600];
	struct tb_board *b;

	b = load_ok(qemu);
	cr_expect_eq(b->qemu_tsline, TB_BOARD_QEMU_TSLINE_NONE, "the default: no bridge");
	tb_board_free(b);
	snprintf(text, sizeof(text), "%stimestamp_line = serial1\n", qemu);
	b = load_ok(text);
	cr_expect_eq(b->qemu_tsline, TB_BOARD_QEMU_TSLINE_SERIAL1);
	tb_board_free(b);
	snprintf(text, sizeof(text), "%stimestamp_line = pci-serial\n", qemu);
	b = load_ok(text);
	cr_expect_eq(b->qemu_tsline, TB_BOARD_QEMU_TSLINE_PCI_SERIAL);
	tb_board_free(b);
	snprintf(text, sizeof(text), "%stimestamp_line = gpio\n", qemu);
	load_bad(text, TB_ERR_FORMAT, 13, "none, serial1, pci-serial", NULL);
	load_bad(SIM_BOARD "[qemu]\ntimestamp_line = serial1\n", TB_ERR_FORMAT, 10,
		 "[qemu] keys need transport = qemu", NULL);
}

Test(board, reset_command_checks)
{
	load_bad(SERIAL_BOARD "reset = command\n", TB_ERR_FORMAT, 9,
		 "reset: command needs a [reset] section with command = ...", NULL);
	load_bad(SERIAL_BOARD "reset = dtr\n[reset]\ncommand = x\n", TB_ERR_FORMAT, 11,
		 "[reset] command: only used with reset = command, not dtr", NULL);
}

Test(board, command_errors)
{
	load_bad(SIM_BOARD "[flash]\ncommand = flash {img}\n", TB_ERR_FORMAT, 10,
		 "command: unknown placeholder at '{img}'", "{port}, {image}", NULL);
	load_bad(SERIAL_BOARD "reset = command\n[reset]\ncommand = r {image}\n",
		 TB_ERR_FORMAT, 11, "unknown placeholder at '{image}'",
		 "{port}, {baud}, {board}", NULL);
	load_bad(SIM_BOARD "[flash]\ncommand = x \"open\n", TB_ERR_FORMAT, 10,
		 "unterminated double quote", NULL);
	load_bad(SIM_BOARD "[flash]\ncommand =\n", TB_ERR_FORMAT, 10,
		 "command: is empty", NULL);
}

Test(board, missing_file)
{
	struct tb_error err = { 0 };
	struct tb_board *b;

	cr_assert_eq(tb_board_load_file("/nonexistent/x.ini", &b, &err),
		     TB_ERR_NOTFOUND);
	cr_assert(strstr(err.msg, "/nonexistent/x.ini"), "%s", err.msg);
	cr_assert_eq(tb_board_load_file(tmp, &b, &err), TB_ERR_ARG);
	cr_assert(strstr(err.msg, "not a regular file"), "%s", err.msg);
}

/* ---- command expansion ----------------------------------------------- */

Test(board, command_expand)
{
	struct tb_board *b = load_ok(SIM_BOARD
		"[flash]\ncommand = tool --port={port} \"{image}\" -b {baud} {board} {{x}}\n");
	struct tb_board_vars vars = {
		.port = "/dev/ttyUSB0", .image = "/tmp/a b.bin", .board = "s",
		.baud = 921600,
	};
	struct tb_error err = { 0 };
	char **argv;

	cr_assert_eq(tb_board_command_expand(b->flash_argv, &vars, &argv, &err), 0,
		     "%s", err.msg);
	cr_assert_str_eq(argv[0], "tool");
	cr_assert_str_eq(argv[1], "--port=/dev/ttyUSB0");
	cr_assert_str_eq(argv[2], "/tmp/a b.bin");
	cr_assert_str_eq(argv[3], "-b");
	cr_assert_str_eq(argv[4], "921600");
	cr_assert_str_eq(argv[5], "s");
	cr_assert_str_eq(argv[6], "{x}");
	cr_assert_null(argv[7]);
	tb_board_argv_free(argv);

	vars.image = NULL;
	cr_assert_eq(tb_board_command_expand(b->flash_argv, &vars, &argv, &err),
		     TB_ERR_ARG);
	cr_assert(strstr(err.msg, "{image}"), "%s", err.msg);
	cr_assert_null(argv);
	tb_board_free(b);
}

/* The example in docs/BOARDS.md, word for word. */
Test(board, documented_command_example)
{
	struct tb_board *b = load_ok(SIM_BOARD
		"[flash]\n"
		"command = openocd -f interface/cmsis-dap.cfg -f target/stm32l4x.cfg\n"
		"          -c \"program {image} verify reset exit\" --opt=\"a b\"\n");
	struct tb_board_vars vars = { .image = "/path/img.elf" };
	const char *want[] = { "openocd", "-f", "interface/cmsis-dap.cfg", "-f",
			       "target/stm32l4x.cfg", "-c",
			       "program /path/img.elf verify reset exit",
			       "--opt=a b", NULL };
	struct tb_error err = { 0 };
	char **argv;
	int i;

	cr_assert_eq(tb_board_command_expand(b->flash_argv, &vars, &argv, &err), 0,
		     "%s", err.msg);
	for (i = 0; want[i]; i++)
		cr_assert_str_eq(argv[i], want[i], "arg %d", i);
	cr_assert_null(argv[i]);
	tb_board_argv_free(argv);
	tb_board_free(b);
}

/* ---- the registry ---------------------------------------------------- */

static const char *board_text(const char *name, const char *desc)
{
	static char text[512];

	snprintf(text, sizeof(text),
		 "[board]\nname = %s\ndescription = %s\ncpu = host\narch = native\n"
		 "clock_hz = 0\ntransport = sim\nreset = process\n"
		 "timing = host-monotonic-clock\n", name, desc);
	return text;
}

Test(registry, load_dir_sorted_and_lookup)
{
	struct tb_board_registry *reg;
	struct tb_error err = { 0 };
	const struct tb_board *b;
	char dir[512], names[64];

	write_file("p/zeta.ini", board_text("zeta", "z"), NULL, 0);
	write_file("p/alpha.ini", board_text("alpha", "a"), NULL, 0);
	write_file("p/mid.ini", board_text("mid", "m"), NULL, 0);
	write_file("p/README.md", "not a board", NULL, 0);
	write_file("p/.hidden.ini", "garbage", NULL, 0);
	write_file("p/notes.ini.bak", "garbage", NULL, 0);
	sub_dir("p", dir, sizeof(dir));

	cr_assert_eq(tb_board_registry_new(&reg, &err), 0);
	cr_assert_eq(tb_board_registry_load_dir(reg, dir, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_board_registry_count(reg), 3);
	cr_assert_str_eq(tb_board_registry_at(reg, 0)->name, "alpha");
	cr_assert_str_eq(tb_board_registry_at(reg, 1)->name, "mid");
	cr_assert_str_eq(tb_board_registry_at(reg, 2)->name, "zeta");
	cr_assert_null(tb_board_registry_at(reg, 3));
	b = tb_board_registry_get(reg, "mid");
	cr_assert_not_null(b);
	cr_assert(strstr(b->path, "/p/mid.ini"), "%s", b->path);
	cr_assert_null(tb_board_registry_get(reg, "nope"));
	cr_assert_str_eq(tb_board_registry_dirs(reg), dir);

	tb_board_registry_names(reg, names, sizeof(names));
	cr_assert_str_eq(names, "alpha, mid, zeta");
	cr_assert_eq(tb_board_registry_names(reg, names, 8), strlen("alpha, mid, zeta"));
	cr_assert_str_eq(names, "alph...");

	cr_assert_eq(tb_board_registry_find(reg, "mid", &b, &err), 0);
	cr_assert_str_eq(b->name, "mid");
	cr_assert_eq(tb_board_registry_find(reg, "apollo", &b, &err), TB_ERR_NOTFOUND);
	cr_assert_null(b);
	cr_assert_str_eq(err.msg, "unknown board 'apollo'; known boards: alpha, mid, zeta");
	tb_board_registry_free(reg);
}

Test(registry, later_dir_overrides)
{
	struct tb_board_registry *reg;
	struct tb_error err = { 0 };
	const struct tb_board *b;
	char proj[512], user[512], proj_file[512], user_file[512];

	write_file("proj/x.ini", board_text("x", "project"), proj_file, sizeof(proj_file));
	write_file("proj/y.ini", board_text("y", "project"), NULL, 0);
	/* The user's file name does not matter, the board name does. */
	write_file("user/my-x.ini", board_text("x", "user"), user_file, sizeof(user_file));
	sub_dir("proj", proj, sizeof(proj));
	sub_dir("user", user, sizeof(user));

	tb_board_registry_new(&reg, &err);
	cr_assert_eq(tb_board_registry_load_dir(reg, proj, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_board_registry_load_dir(reg, user, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_board_registry_count(reg), 2);
	b = tb_board_registry_get(reg, "x");
	cr_assert_str_eq(b->description, "user");
	cr_assert_str_eq(b->path, user_file);
	cr_assert_str_eq(b->overrides, proj_file);
	b = tb_board_registry_get(reg, "y");
	cr_assert_str_eq(b->description, "project");
	cr_assert_null(b->overrides);
	tb_board_registry_free(reg);
}

Test(registry, same_name_twice_in_one_dir)
{
	struct tb_board_registry *reg;
	struct tb_error err = { 0 };
	char dir[512];

	write_file("d/a.ini", board_text("x", "one"), NULL, 0);
	write_file("d/b.ini", board_text("x", "two"), NULL, 0);
	sub_dir("d", dir, sizeof(dir));
	tb_board_registry_new(&reg, &err);
	cr_assert_eq(tb_board_registry_load_dir(reg, dir, &err), TB_ERR_FORMAT);
	cr_assert(strstr(err.msg, "board 'x' is defined twice"), "%s", err.msg);
	cr_assert(strstr(err.msg, "d/a.ini") && strstr(err.msg, "d/b.ini"), "%s", err.msg);
	cr_assert_eq(tb_board_registry_count(reg), 0);
	tb_board_registry_free(reg);
}

Test(registry, one_bad_file_loads_nothing)
{
	struct tb_board_registry *reg;
	struct tb_error err = { 0 };
	char good[512], mixed[512];

	write_file("good/x.ini", board_text("x", "old"), NULL, 0);
	write_file("mixed/a.ini", board_text("x", "new"), NULL, 0);
	write_file("mixed/b.ini", "[board]\nname = b\nbogus = 1\n", NULL, 0);
	sub_dir("good", good, sizeof(good));
	sub_dir("mixed", mixed, sizeof(mixed));
	tb_board_registry_new(&reg, &err);
	cr_assert_eq(tb_board_registry_load_dir(reg, good, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_board_registry_load_dir(reg, mixed, &err), TB_ERR_FORMAT);
	cr_assert(strstr(err.msg, "mixed/b.ini:3: unknown key 'bogus'"), "%s", err.msg);
	cr_assert_eq(tb_board_registry_count(reg), 1);
	cr_assert_str_eq(tb_board_registry_get(reg, "x")->description, "old");
	tb_board_registry_free(reg);
}

Test(registry, missing_and_empty_dirs)
{
	struct tb_board_registry *reg;
	struct tb_error err = { 0 };
	const struct tb_board *b;
	char dir[512];

	tb_board_registry_new(&reg, &err);
	cr_assert_eq(tb_board_registry_load_dir(reg, "/nonexistent/boards", &err),
		     TB_ERR_NOTFOUND);
	cr_assert(strstr(err.msg, "/nonexistent/boards"), "%s", err.msg);
	cr_assert_eq(tb_board_registry_load_dir(reg, tmp, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_board_registry_count(reg), 0);
	write_file("file.ini", board_text("x", "x"), dir, sizeof(dir));
	cr_assert_eq(tb_board_registry_load_dir(reg, dir, &err), TB_ERR_ARG);
	cr_assert_eq(tb_board_registry_find(reg, "sim", &b, &err), TB_ERR_NOTFOUND);
	cr_assert(strstr(err.msg, "unknown board 'sim'; no boards are defined"),
		  "%s", err.msg);
	tb_board_registry_free(reg);
}

Test(registry, add_replaces)
{
	struct tb_board_registry *reg;
	struct tb_error err = { 0 };
	struct tb_board *b1 = load_ok(board_text("x", "first"));
	struct tb_board *b2;

	tb_board_registry_new(&reg, &err);
	cr_assert_eq(tb_board_registry_add(reg, b1, &err), 0);
	b2 = load_ok(board_text("x", "second"));
	cr_assert_eq(tb_board_registry_add(reg, b2, &err), 0);
	cr_assert_eq(tb_board_registry_count(reg), 1);
	cr_assert_str_eq(tb_board_registry_get(reg, "x")->description, "second");
	cr_assert_not_null(tb_board_registry_get(reg, "x")->overrides);
	tb_board_registry_free(reg);
	tb_board_registry_free(NULL);
	tb_board_free(NULL);
}

Test(registry, usb_matching)
{
	struct tb_board_registry *reg;
	struct tb_error err = { 0 };
	const struct tb_board *found[4];
	char dir[512];

	write_file("u/a.ini", SERIAL_BOARD "reset = dtr\nusb_ids = 1a86:7523\n",
		   NULL, 0);
	/* two boards on the same generic chip, and one with two ids */
	write_file("u/b.ini", "[board]\nname = bee\ncpu = c\narch = armv6-m\n"
		   "clock_hz = 1\ntransport = serial\nbaud = 9600\nreset = none\n"
		   "timing = systick\nusb_ids = 2e8a:000a, 1A86:7523\n", NULL, 0);
	sub_dir("u", dir, sizeof(dir));
	tb_board_registry_new(&reg, &err);
	cr_assert_eq(tb_board_registry_load_dir(reg, dir, &err), 0, "%s", err.msg);
	cr_assert_str_eq(tb_board_match_usb(reg, 0x2e8a, 0x000a)->name, "bee");
	cr_assert_null(tb_board_match_usb(reg, 0x2e8a, 0x000b));
	cr_assert_eq(tb_board_match_usb_all(reg, 0x1a86, 0x7523, found, 4), 2);
	cr_assert_str_eq(found[0]->name, "bee");
	cr_assert_str_eq(found[1]->name, "ser");
	cr_assert_eq(tb_board_match_usb_all(reg, 0x1a86, 0x7523, found, 1), 2);
	cr_assert_str_eq(tb_board_match_usb(reg, 0x1a86, 0x7523)->name, "bee");
	tb_board_registry_free(reg);
}

/* ---- the default search path ----------------------------------------- */

Test(registry, default_env_and_xdg)
{
	struct tb_board_registry *reg;
	struct tb_error err = { 0 };
	char proj[512], xdg[512];

	write_file("proj/x.ini", board_text("x", "project"), NULL, 0);
	write_file("proj/y.ini", board_text("y", "project"), NULL, 0);
	write_file("cfg/tinybench/boards/x.ini", board_text("x", "user"), NULL, 0);
	sub_dir("proj", proj, sizeof(proj));
	sub_dir("cfg", xdg, sizeof(xdg));
	setenv("TINYBENCH_BOARDS_DIR", proj, 1);
	setenv("XDG_CONFIG_HOME", xdg, 1);

	tb_board_registry_new(&reg, &err);
	cr_assert_eq(tb_board_registry_load_default(reg, &err), 0, "%s", err.msg);
	cr_assert_eq(tb_board_registry_count(reg), 2);
	cr_assert_str_eq(tb_board_registry_get(reg, "x")->description, "user");
	cr_assert_str_eq(tb_board_registry_get(reg, "y")->description, "project");
	cr_assert(strstr(tb_board_registry_dirs(reg), "cfg/tinybench/boards"));
	tb_board_registry_free(reg);
}

Test(registry, default_home_fallback)
{
	struct tb_board_registry *reg;
	struct tb_error err = { 0 };
	char proj[512], home[512];

	write_file("proj/x.ini", board_text("x", "project"), NULL, 0);
	write_file("home/.config/tinybench/boards/x.ini", board_text("x", "home"), NULL, 0);
	sub_dir("proj", proj, sizeof(proj));
	sub_dir("home", home, sizeof(home));
	setenv("TINYBENCH_BOARDS_DIR", proj, 1);
	setenv("XDG_CONFIG_HOME", "relative/is/ignored", 1);
	setenv("HOME", home, 1);

	tb_board_registry_new(&reg, &err);
	cr_assert_eq(tb_board_registry_load_default(reg, &err), 0, "%s", err.msg);
	cr_assert_str_eq(tb_board_registry_get(reg, "x")->description, "home");
	tb_board_registry_free(reg);
}

Test(registry, default_env_dir_must_exist)
{
	struct tb_board_registry *reg;
	struct tb_error err = { 0 };

	setenv("TINYBENCH_BOARDS_DIR", "/nonexistent/tb-boards", 1);
	tb_board_registry_new(&reg, &err);
	cr_assert_eq(tb_board_registry_load_default(reg, &err), TB_ERR_NOTFOUND);
	cr_assert(strstr(err.msg, "TINYBENCH_BOARDS_DIR: board folder '/nonexistent/tb-boards' does not exist"),
		  "%s", err.msg);
	tb_board_registry_free(reg);
}

/* ---- the boards the project ships ------------------------------------ */

Test(registry, shipped_boards_load)
{
	struct tb_board_registry *reg;
	struct tb_error err = { 0 };
	const struct tb_board *sim, *apollo;
	char names[256];

	/* Defaults, with an empty user folder: the source tree's boards/. */
	unsetenv("TINYBENCH_BOARDS_DIR");
	setenv("XDG_CONFIG_HOME", tmp, 1);
	tb_board_registry_new(&reg, &err);
	cr_assert_eq(tb_board_registry_load_default(reg, &err), 0, "%s", err.msg);
	cr_assert_str_eq(tb_board_registry_dirs(reg), TB_SOURCE_DIR "/boards");
	tb_board_registry_names(reg, names, sizeof(names));
	cr_assert(strstr(names, "apollo3") && strstr(names, "sim"), "%s", names);

	sim = tb_board_registry_get(reg, "sim");
	cr_assert_not_null(sim);
	cr_assert_str_eq(sim->cpu, "host");
	cr_assert_str_eq(sim->arch, "native");
	cr_assert_eq(sim->clock_hz, 0);
	cr_assert_eq(sim->transport, TB_BOARD_TRANSPORT_SIM);
	cr_assert_eq(sim->reset, TB_BOARD_RESET_PROCESS);
	cr_assert_eq(sim->timing, TB_BOARD_TIMING_HOST_MONOTONIC);
	cr_assert_str_eq(sim->runner, "tinybench-runner-native");

	apollo = tb_board_registry_get(reg, "apollo3");
	cr_assert_not_null(apollo);
	cr_assert_str_eq(apollo->cpu, "cortex-m4f");
	cr_assert_str_eq(apollo->arch, "armv7e-m");
	cr_assert_eq(apollo->clock_hz, 48000000);
	cr_assert_eq(apollo->flash_bytes, 1024 * 1024);
	cr_assert_eq(apollo->ram_bytes, 384 * 1024);
	cr_assert_eq(apollo->transport, TB_BOARD_TRANSPORT_SERIAL);
	cr_assert_eq(apollo->baud, 115200);
	cr_assert_eq(apollo->reset, TB_BOARD_RESET_DTR);
	cr_assert_not_null(apollo->flash_argv);
	cr_assert_eq(tb_board_match_usb(reg, 0x1a86, 0x7523), apollo);
	/* every QEMU board has a power model and a timestamp bridge (energy) */
	for (const char *const *q = (const char *const[]){ "qemu-m4", "qemu-m7", "qemu-m33",
							  "qemu-m55", "qemu-rv32", NULL };
	     *q; q++) {
		const struct tb_board *b = tb_board_registry_get(reg, *q);

		cr_assert_not_null(b, "%s", *q);
		cr_expect(b->has_power && b->power_active_ua > b->power_idle_ua, "%s", *q);
		cr_expect_neq(b->qemu_tsline, TB_BOARD_QEMU_TSLINE_NONE, "%s", *q);
		cr_expect_eq(b->energy_monitor, TB_BOARD_ENERGY_PPK2, "%s", *q);
	}
	tb_board_registry_free(reg);
}

/* ---- protocol (docs/BOARDS.md, docs/EEMBC.md) ------------------------- */

Test(board, protocol_key)
{
	struct tb_board *b;

	b = load_ok(SIM_BOARD);
	cr_expect_eq(b->protocol, TB_BOARD_PROTOCOL_TINYBENCH, "the default");
	tb_board_free(b);
	b = load_ok(SIM_BOARD "protocol = auto\n");
	cr_expect_eq(b->protocol, TB_BOARD_PROTOCOL_AUTO);
	cr_expect_str_eq(tb_board_protocol_name(b->protocol), "auto");
	tb_board_free(b);
	/* An EEMBC board has no timing key: its time is its m-lap-us. */
	b = load_ok("[board]\nname = e\ncpu = cortex-m4f\narch = armv7e-m\n"
		    "clock_hz = 80000000\ntransport = serial\nbaud = 115200\n"
		    "reset = dtr\nprotocol = eembc\n");
	cr_expect_eq(b->protocol, TB_BOARD_PROTOCOL_EEMBC);
	tb_board_free(b);
	load_bad(SIM_BOARD "protocol = mlperf\n", TB_ERR_FORMAT, 9,
		 "protocol: 'mlperf' is not accepted", "tinybench, eembc, auto", NULL);
	load_bad(SIM_BOARD "protocol = eembc\n", TB_ERR_FORMAT, 8,
		 "timing: not used with protocol = eembc", NULL);
	load_bad("[board]\nname = s\ncpu = host\narch = native\nclock_hz = 0\n"
		 "transport = sim\nreset = process\nprotocol = auto\n",
		 TB_ERR_FORMAT, 1, "timing: required key missing", NULL);
	load_bad("[board]\nname = q\ncpu = cortex-m4f\narch = armv7e-m\nclock_hz = 1\n"
		 "transport = qemu\nreset = process\nprotocol = eembc\n"
		 "[qemu]\nprogram = qemu-system-arm\nmachine = mps2-an386\nicount_shift = 7\n",
		 TB_ERR_FORMAT, 8, "eembc is not possible with transport = qemu", NULL);
}

/* [eembc]: the firmware build and the link (docs/BOARDS.md). */
Test(board, eembc_mode_and_link)
{
#define EEMBC_SERIAL "[board]\nname = e\ncpu = cortex-m4f\narch = armv7e-m\n" \
	"clock_hz = 80000000\ntransport = serial\nbaud = 115200\nreset = dtr\n" \
	"protocol = eembc\nenergy_monitor = lpm01a\n"
	struct tb_board *b;

	b = load_ok(EEMBC_SERIAL);
	cr_expect_eq(b->eembc_mode, TB_BOARD_EEMBC_PERFORMANCE);
	cr_expect_eq(b->eembc_link, TB_BOARD_EEMBC_DIRECT);
	cr_expect_eq(b->eembc_dut_baud, 0);
	tb_board_free(b);
	b = load_ok(EEMBC_SERIAL "[eembc]\nmode = energy\nlink = io-manager\n");
	cr_expect_eq(b->eembc_mode, TB_BOARD_EEMBC_ENERGY);
	cr_expect_eq(b->eembc_link, TB_BOARD_EEMBC_IO_MANAGER);
	cr_expect_eq(b->eembc_dut_baud, 9600);
	cr_expect_str_eq(tb_board_eembc_mode_name(b->eembc_mode), "energy");
	cr_expect_str_eq(tb_board_eembc_link_name(b->eembc_link), "io-manager");
	tb_board_free(b);
	b = load_ok(EEMBC_SERIAL "[eembc]\nlink = io-manager\ndut_baud = 115200\n");
	cr_expect_eq(b->eembc_dut_baud, 115200);
	tb_board_free(b);
	load_bad(EEMBC_SERIAL "[eembc]\nmode = turbo\n", TB_ERR_FORMAT, 12,
		 "mode: 'turbo' is not accepted", "performance, energy", NULL);
	load_bad(EEMBC_SERIAL "[eembc]\ndut_baud = 9600\n", TB_ERR_FORMAT, 12,
		 "dut_baud", "link = io-manager", NULL);
	load_bad(SIM_BOARD "[eembc]\nmode = energy\n", TB_ERR_FORMAT, 10,
		 "need protocol = eembc", NULL);
	load_bad("[board]\nname = e\ncpu = cortex-m4f\narch = armv7e-m\n"
		 "clock_hz = 80000000\ntransport = serial\nbaud = 115200\nreset = dtr\n"
		 "protocol = eembc\n[eembc]\nmode = energy\n", TB_ERR_FORMAT, 11,
		 "timed by an energy monitor", NULL);
#undef EEMBC_SERIAL
}
