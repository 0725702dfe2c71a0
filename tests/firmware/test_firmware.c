/*
 * test_firmware.c - the host side of firmware: ELF footprint and symbols
 * (harness/firmware) and the [qemu] board keys (harness/board).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tb_board.h"
#include "tb_firmware.h"

static const char *self_exe(void)
{
	static char path[4096];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

	cr_assert(n > 0);
	path[n] = '\0';
	return path;
}

Test(firmware, info_of_an_elf)
{
	struct tb_firmware_info fi;
	struct tb_error err = { 0 };

	cr_assert_eq(tb_firmware_info(self_exe(), &fi, &err), 0, "%s", err.msg);
	cr_assert_gt(fi.text_bytes, 0);
	cr_assert_eq(fi.flash_bytes, fi.text_bytes + fi.rodata_bytes + fi.data_bytes);
	cr_assert_eq(fi.static_ram_bytes, fi.data_bytes + fi.bss_bytes);
	cr_assert_eq(strlen(fi.sha256), 64);
}

int tb_test_marker_symbol(void);
int tb_test_marker_symbol(void)
{
	return 42;
}

Test(firmware, symbol_lookup)
{
	struct tb_error err = { 0 };
	uint64_t addr = 0, size = 0;

	cr_assert_eq(tb_test_marker_symbol(), 42);
	cr_assert_eq(tb_firmware_symbol(self_exe(), "tb_test_marker_symbol", &addr, &size, &err),
		     0, "%s", err.msg);
	cr_assert_neq(addr, 0);
	cr_assert_eq(tb_firmware_symbol(self_exe(), "no_such_symbol_xyz", &addr, &size, &err),
		     TB_ERR_NOTFOUND);
	cr_assert(strstr(err.msg, "no_such_symbol_xyz"));
}

Test(firmware, not_an_elf)
{
	struct tb_firmware_info fi;
	struct tb_error err = { 0 };
	char path[] = "/tmp/tbfwXXXXXX";
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "hello", 5), 5);
	close(fd);
	cr_assert_eq(tb_firmware_info(path, &fi, &err), TB_ERR_FORMAT);
	cr_assert(strstr(err.msg, "not an ELF"));
	unlink(path);
}

Test(firmware, locate_missing)
{
	struct tb_error err = { 0 };
	char out[4096];

	setenv("TINYBENCH_FIRMWARE_DIR", "/nonexistent-dir", 1);
	cr_assert_eq(tb_firmware_locate("no-such-board", out, sizeof(out), &err),
		     TB_ERR_NOTFOUND);
	cr_assert(strstr(err.msg, "scripts/build-firmware no-such-board"), "%s", err.msg);
	cr_assert_eq(tb_firmware_locate("../etc", out, sizeof(out), &err), TB_ERR_ARG);
}

static int load(const char *text, struct tb_board **b, struct tb_error *err)
{
	char path[] = "/tmp/tbboardXXXXXX";
	int fd = mkstemp(path), rc;

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rc = tb_board_load_file(path, b, err);
	unlink(path);
	return rc;
}

#define QEMU_BOARD \
	"[board]\nname = q\ncpu = cortex-m4f\narch = armv7e-m\nclock_hz = 25000000\n" \
	"transport = qemu\nreset = process\ntiming = qemu-icount\n"

Test(firmware, qemu_board_keys)
{
	struct tb_board *b = NULL;
	struct tb_error err = { 0 };

	cr_assert_eq(load(QEMU_BOARD "[qemu]\nprogram = qemu-system-arm\nmachine = mps2-an386\n"
			  "icount_shift = 7\nextra = -d guest_errors\n", &b, &err), 0, "%s", err.msg);
	cr_assert_str_eq(b->qemu_machine, "mps2-an386");
	cr_assert_eq(b->qemu_icount_shift, 7);
	cr_assert_str_eq(b->qemu_extra[0], "-d");
	cr_assert_str_eq(b->qemu_extra[1], "guest_errors");
	cr_assert_null(b->qemu_extra[2]);
	cr_assert_str_eq(b->firmware, "q");
	tb_board_free(b);
}

Test(firmware, qemu_board_errors)
{
	struct tb_board *b = NULL;
	struct tb_error err = { 0 };

	cr_assert_neq(load(QEMU_BOARD, &b, &err), 0);
	cr_assert(strstr(err.msg, "[qemu] section"), "%s", err.msg);
	cr_assert_neq(load(QEMU_BOARD "[qemu]\nprogram = qemu-system-arm\nmachine = m\n"
			   "icount_shift = 11\n", &b, &err), 0);
	cr_assert(strstr(err.msg, "icount_shift"), "%s", err.msg);
	cr_assert_neq(load(QEMU_BOARD "[qemu]\nprogram = qemu-system-arm\nmachine = m\n"
			   "icount_shift = 7\nextra = -kernel {image}\n", &b, &err), 0);
	cr_assert(strstr(err.msg, "extra"), "%s", err.msg);
	cr_assert_neq(load("[board]\nname = s\ncpu = host\narch = native\nclock_hz = 0\n"
			   "transport = sim\nreset = process\ntiming = host-monotonic-clock\n"
			   "[qemu]\nmachine = m\n", &b, &err), 0);
	cr_assert(strstr(err.msg, "need transport = qemu"), "%s", err.msg);
}
