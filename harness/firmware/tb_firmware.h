/*
 * tb_firmware.h - runner firmware images on the host: finding or building
 * the image of a board, and reading what the ELF says about it (static
 * footprint, SHA-256, symbol addresses).  docs/FIRMWARE.md.
 *
 * Ownership: everything is written into caller-supplied buffers and
 * structs; nothing is kept.  Building runs scripts/build-firmware as a child
 * process (argv, never a shell) whose output goes to our standard error.
 */
#ifndef TB_FIRMWARE_H
#define TB_FIRMWARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tb_err.h"

/* Static footprint of a firmware ELF, from its allocated sections:
 * flash = text + rodata + initialised data (what is programmed),
 * static RAM = data + bss (incl. the stacks and buffers the linker
 * script reserves). */
struct tb_firmware_info {
	char sha256[65];            /* of the ELF file, lower-case hex */
	uint64_t flash_bytes;
	uint64_t static_ram_bytes;
	uint64_t text_bytes;        /* executable sections */
	uint64_t rodata_bytes;      /* other read-only allocated sections */
	uint64_t data_bytes;        /* writable, initialised */
	uint64_t bss_bytes;         /* writable, zeroed or uninitialised */
};

/*
 * The image of firmware build `name` (a board's `firmware`), as
 * tinybench-runner-<name>.elf in the first folder that has it:
 *   $TINYBENCH_FIRMWARE_DIR/<name>/, <build dir>/fw/<name>/,
 *   <source dir>/build/fw/<name>/.
 * TB_ERR_NOTFOUND lists where it looked.
 */
int tb_firmware_locate(const char *name, char *out, size_t len,
		       struct tb_error *err);

/*
 * Build firmware `name` with <source dir>/scripts/build-firmware into
 * <build dir>/fw/<name>/ and return the image path (as _locate).
 */
int tb_firmware_build(const char *name, char *out, size_t len,
		      struct tb_error *err);

/*
 * The image of firmware `name` that carries the user model blob (a
 * .tbnn) as workload 64 named model_name (scripts/build-firmware
 * --model): tinybench-runner-<name>.elf in <root>/<name>-model-<first 12
 * hex digits of the blob's SHA-256>/, the roots as for _locate.  Built
 * into <build dir>/fw/ when missing, or always with build (an incremental
 * build: it also renames the model when model_name changed), unless this
 * tinybench has no build script (installed) and the image is there.  A
 * model too large for the board fails the build, which says why on our
 * standard error.
 */
int tb_firmware_model(const char *name, const char *blob, const char *model_name,
		      bool build, char *out, size_t len, struct tb_error *err);

/* Footprint and hash of an ELF file.  TB_ERR_FORMAT if it is not ELF. */
int tb_firmware_info(const char *path, struct tb_firmware_info *info,
		     struct tb_error *err);

/* Address and size of a symbol of the ELF.  TB_ERR_NOTFOUND if absent. */
int tb_firmware_symbol(const char *path, const char *symbol, uint64_t *addr,
		       uint64_t *size, struct tb_error *err);

#endif
