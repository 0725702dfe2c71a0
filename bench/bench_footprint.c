/*
 * bench_footprint.c - flash and RAM of runner firmware images, read from
 * their ELF files with the harness's own reader (harness/firmware).
 *
 *   tinybench-bench-footprint FIRMWARE.elf...
 *
 * bench/firmware-footprint builds the runner without workloads and runs
 * this on it: what the harness costs the device.  Static RAM is split into
 * the input buffer, the stacks (the painted inference stack and the main
 * stack, as reserved: bench/firmware-stack measures what the runner uses of
 * the main one), the arena and the rest (frame buffers, runner state, the
 * receive ring); the issue-4 goal is <= 4096 B of flash and <= 512 B for
 * the rest (docs/FIRMWARE.md, "Runner footprint").
 */
#include <stdio.h>

#include "tb_firmware.h"

static uint64_t symbol_size(const char *elf, const char *name)
{
	uint64_t addr, size = 0;

	if (tb_firmware_symbol(elf, name, &addr, &size, NULL) < 0)
		return 0;
	return size;
}

static uint64_t symbol_addr(const char *elf, const char *name)
{
	uint64_t addr = 0;

	if (tb_firmware_symbol(elf, name, &addr, NULL, NULL) < 0)
		return 0;
	return addr;
}

int main(int argc, char **argv)
{
	struct tb_firmware_info fi;
	struct tb_error err = { 0 };
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: tinybench-bench-footprint FIRMWARE.elf...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		const char *elf = argv[i];
		uint64_t input, istack, mstack, arena, rest;

		if (tb_firmware_info(elf, &fi, &err) < 0) {
			fprintf(stderr, "tinybench-bench-footprint: %s\n", err.msg);
			rc = 1;
			continue;
		}
		input = symbol_size(elf, "input_buf");
		istack = symbol_size(elf, "infer_stack");
		arena = symbol_size(elf, "arena_buf");
		mstack = symbol_addr(elf, "__tbr_stack_end") -
			 symbol_addr(elf, "__tbr_stack_start");
		rest = fi.static_ram_bytes - input - istack - mstack - arena;
		printf("%s\n", elf);
		printf("  flash       %7llu B  (text %llu, rodata %llu, data %llu)\n",
		       (unsigned long long)fi.flash_bytes,
		       (unsigned long long)fi.text_bytes,
		       (unsigned long long)fi.rodata_bytes,
		       (unsigned long long)fi.data_bytes);
		printf("  static RAM  %7llu B  (data %llu, bss %llu)\n",
		       (unsigned long long)fi.static_ram_bytes,
		       (unsigned long long)fi.data_bytes,
		       (unsigned long long)fi.bss_bytes);
		printf("    input buffer  %7llu B\n", (unsigned long long)input);
		printf("    stacks        %7llu B  (inference %llu, main %llu)\n",
		       (unsigned long long)(istack + mstack),
		       (unsigned long long)istack, (unsigned long long)mstack);
		printf("    arena         %7llu B\n", (unsigned long long)arena);
		printf("    the rest      %7llu B  (frame buffers, runner state, receive ring)\n",
		       (unsigned long long)rest);
		printf("  goal (no workloads): flash <= 4096 B %s, rest <= 512 B %s"
		       " (stacks and arena apart)\n",
		       fi.flash_bytes <= 4096 ? "met" : "NOT met",
		       rest <= 512 ? "met" : "NOT met");
	}
	return rc;
}
