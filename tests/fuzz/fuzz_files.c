/*
 * fuzz_files.c - parsers of files from outside: board INI files
 * (harness/board), an accuracy dataset's y_labels.csv (harness/accuracy)
 * and firmware ELF images (harness/firmware).  Each mutant is written to a
 * scratch folder and read back through the public API.
 */
#include "fuzz.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tb_board.h"
#include "tb_config.h"
#include "tb_dataset.h"
#include "tb_firmware.h"

static char path[4096];

static const char *source_dir(void)
{
	const char *s = getenv("TB_SOURCE_DIR");

	return s && *s ? s : TB_SOURCE_DIR;
}

static const char *build_dir(void)
{
	const char *s = getenv("TB_BUILD_DIR");

	return s && *s ? s : TB_BUILD_DIR;
}

static const char *setup_file(const char *sub, const char *name)
{
	const char *dir = fz_tmpdir();

	if (!dir)
		return "no scratch folder";
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	return NULL;
}

/* An error must say something; a result must not come with one. */
static const char *outcome(int rc, const struct tb_error *err, const char *ok)
{
	FZ_CHECK(rc <= 0, "returned %d", rc);
	if (rc == 0)
		return ok;
	FZ_CHECK(err->msg[0], "error %d without a message", rc);
	fz_note("%s", err->msg);
	return fz_label("E:%s", tb_strerror(rc));
}

static void seed_glob(struct fz_corpus *c, const char *pattern, size_t max)
{
	glob_t g;

	if (glob(pattern, 0, NULL, &g))
		return;
	for (size_t i = 0; i < g.gl_pathc && i < max; i++)
		fz_seed_file(c, g.gl_pathv[i]);
	globfree(&g);
}

/* ----------------------------------------------------------- board-ini */

static const char *setup_board(void)
{
	return setup_file("boards", "fuzz.ini");
}

static int argv_ok(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		if (i > 4096)
			return 0;
	return 1;
}

static const char *run_board(const uint8_t *data, size_t len)
{
	struct tb_board *b = NULL;
	struct tb_error err = { 0 };
	int rc;

	FZ_CHECK(fz_write_file(path, data, len) == 0, "cannot write %s", path);
	rc = tb_board_load_file(path, &b, &err);
	if (rc) {
		FZ_CHECK(b == NULL, "a board with an error");
		return outcome(rc, &err, NULL);
	}
	FZ_CHECK(b, "no board and no error");
	FZ_CHECK(b->name && b->name[0] && strlen(b->name) <= TB_BOARD_NAME_MAX,
		 "board name '%s'", b->name ? b->name : "(null)");
	FZ_CHECK(b->description && b->cpu && b->arch && b->path, "a string is NULL");
	FZ_CHECK(b->n_usb_ids <= TB_BOARD_USB_IDS_MAX, "%zu USB ids", b->n_usb_ids);
	FZ_CHECK(argv_ok(b->flash_argv) && argv_ok(b->reset_argv) && argv_ok(b->qemu_extra),
		 "a command without its NULL");
	tb_board_free(b);
	return "ok";
}

static void seeds_board(struct fz_corpus *c)
{
	char pattern[4096];

	snprintf(pattern, sizeof(pattern), "%s/boards/*.ini", source_dir());
	seed_glob(c, pattern, 64);
}

static const char *const ini_dict[] = {
	"\n", "[board]\n", "[reset]\n", "[flash]\n", "[qemu]\n", "[power]\n", "[eembc]\n",
	"[usb]\n", " = ", "=", ";", "#", "name", "transport", "serial", "sim", "qemu", "baud",
	"clock_hz", "unknown", "usb_ids", "1915:c00a", ",", "command", "{elf}", "{port}",
	"{", "}", "\"", "'", "\\", "pulse_ms", "method", "dtr", "power", "voltage_mv",
	"active_ua", "protocol", "eembc", "link", "io_manager", "dut_baud", "k", "M",
	"18446744073709551615", "-1",
	NULL
};

const struct fz_target fz_board_ini = {
	.name = "board-ini",
	.what = "harness/board/tb_board.c: board INI files (mutants of boards/*.ini)",
	.ci_iterations = 6000,
	.setup = setup_board,
	.seeds = seeds_board,
	.run = run_board,
	.dict = ini_dict,
};

/* -------------------------------------------------------- dataset-csv */

static char dataset_dir[4096];

static const char *setup_dataset(void)
{
	const char *why = setup_file("dataset", "y_labels.csv");

	snprintf(dataset_dir, sizeof(dataset_dir), "%s/dataset", fz_tmpdir());
	return why;
}

/* A file name that stays inside the folder, as tb_dataset.h promises. */
static int inside(const char *f)
{
	if (!f[0] || f[0] == '/')
		return 0;
	for (const char *s = f; *s; s++)
		if ((s == f || s[-1] == '/') && !strncmp(s, "..", 2) && (s[2] == '/' || !s[2]))
			return 0;
	return 1;
}

static const char *run_dataset(const uint8_t *data, size_t len)
{
	struct tb_dataset *d = NULL;
	struct tb_error err = { 0 };
	const char *out;
	int rc;

	FZ_CHECK(fz_write_file(path, data, len) == 0, "cannot write %s", path);
	rc = tb_dataset_open(dataset_dir, &d, &err);
	if (rc) {
		FZ_CHECK(d == NULL, "a dataset with an error");
		return outcome(rc, &err, NULL);
	}
	FZ_CHECK(d && d->n <= TB_DATASET_MAX_ITEMS, "dataset of %zu items", d ? d->n : 0);
	for (size_t i = 0; i < d->n; i++) {
		const struct tb_dataset_item *it = &d->items[i];

		FZ_CHECK(it->file && inside(it->file), "item %zu: file '%s' leaves the folder", i,
			 it->file ? it->file : "(null)");
		FZ_CHECK(it->num_classes >= 1 && it->num_classes == d->num_classes &&
			 it->label >= 0 && it->label < it->num_classes,
			 "item %zu: label %d of %d classes", i, it->label, it->num_classes);
		FZ_CHECK(d->windowed ? it->window_bytes >= 1 && it->stride_bytes >= 1 &&
			 it->window_bytes <= TB_DATASET_MAX_FILE &&
			 it->stride_bytes <= TB_DATASET_MAX_FILE :
			 !it->window_bytes && !it->stride_bytes,
			 "item %zu: window %u stride %u", i, it->window_bytes, it->stride_bytes);
	}
	out = d->n ? "ok" : "ok:empty";
	tb_dataset_free(d);
	return out;
}

static void seeds_dataset(struct fz_corpus *c)
{
	fz_seed_str(c, "file,num_classes,label\n"
		    "tst_000000_Stop_7.bin,12,0\n"
		    "tst_000001_Left_2.bin,12,11\r\n"
		    "\"sub/quoted, name.bin\",12,3\n"
		    "  spaced.bin , 12 , 5 \n\n");
	fz_seed_str(c, "normal_id_01_00000000.bin,2,0,5120,512\n"
		    "anomaly_id_01_00000001.bin,2,1,5120,2560\n");
	fz_seed_str(c, "file,num_classes,label,window_bytes,stride_bytes\n"
		    "a.bin,2,1,640,128\n");
}

static const char *const csv_dict[] = {
	"\n", "\r\n", ",", "\"", "\"\"", "..", "../", "/", " ", "\t", "file", "num_classes",
	"label", "window_bytes", "stride_bytes", ".bin", "-", "1000000", "1000001",
	"100000000", "2147483648", "\x01",
	NULL
};

const struct fz_target fz_dataset_csv = {
	.name = "dataset-csv",
	.what = "harness/accuracy/tb_dataset.c: an accuracy dataset's y_labels.csv",
	.ci_iterations = 6000,
	.setup = setup_dataset,
	.seeds = seeds_dataset,
	.run = run_dataset,
	.dict = csv_dict,
};

/* ---------------------------------------------------------------- elf */

static const char *setup_elf(void)
{
	return setup_file("elf", "fuzz.elf");
}

static int is_hex64(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

static const char *run_elf(const uint8_t *data, size_t len)
{
	static const char *const symbols[] = { "main", "tbr_init", "_estack", "" };
	struct tb_firmware_info info;
	struct tb_error err = { 0 }, err2 = { 0 };
	uint64_t addr = 0, size = 0;
	int rc, rc2;

	FZ_CHECK(fz_write_file(path, data, len) == 0, "cannot write %s", path);
	rc = tb_firmware_info(path, &info, &err);
	if (rc == 0) {
		FZ_CHECK(is_hex64(info.sha256), "sha256 '%.65s'", info.sha256);
		FZ_CHECK(info.flash_bytes == info.text_bytes + info.rodata_bytes + info.data_bytes &&
			 info.static_ram_bytes == info.data_bytes + info.bss_bytes,
			 "footprint sums disagree");
	}
	rc2 = tb_firmware_symbol(path, symbols[fz_rand() % 4], &addr, &size, &err2);
	if (rc2)
		outcome(rc2, &err2, NULL);
	if (rc)
		return outcome(rc, &err, NULL);
	return rc2 ? "info ok, no symbol" : "info ok, symbol";
}

static void seeds_elf(struct fz_corpus *c)
{
	char pattern[4096];
	const char *env = getenv("TINYBENCH_FIRMWARE_DIR");

	if (env && *env) {
		snprintf(pattern, sizeof(pattern), "%s/*/tinybench-runner-*.elf", env);
		seed_glob(c, pattern, 3);
	}
	snprintf(pattern, sizeof(pattern), "%s/fw/*/tinybench-runner-*.elf", build_dir());
	seed_glob(c, pattern, 3);
	snprintf(pattern, sizeof(pattern), "%s/build/fw/*/tinybench-runner-*.elf", source_dir());
	seed_glob(c, pattern, 3);
}

const struct fz_target fz_elf = {
	.name = "elf",
	.what = "harness/firmware/tb_firmware.c: firmware ELF images (after scripts/build-firmware)",
	.ci_iterations = 400,
	.setup = setup_elf,
	.seeds = seeds_elf,
	.run = run_elf,
};
