/*
 * tbr_fw.h - the bare-metal firmware around the runner core.
 *
 * tbr_fw.c is the same for every board: static buffers, the tbr_port
 * table, the main loop and the test hooks.  A port (device_runner/ports/
 * <family>/) supplies only what differs between boards: startup (vector
 * table, .data/.bss set-up, stack painting from reset), the UART, the
 * timer, the timestamp pin, the stack switch, the reset and the memory map
 * (its linker script).  docs/FIRMWARE.md describes how to add one.
 *
 * Buffer sizes come from the build (device_runner/meson.build, per board):
 *   TBR_FW_INPUT_MAX    largest input in bytes
 *   TBR_FW_ARENA_SIZE   tensor arena
 *   TBR_FW_STACK_SIZE   painted inference stack
 *   TBR_FW_MAX_PAYLOAD  largest frame payload the runner receives
 *   TBR_FW_OUTPUT_MAX   largest output tensor
 *   TBR_FW_RX_RING      receive ring (power of two; default 256)
 *   TBR_FW_TX_CHUNK     reply bytes staged per tbr_port_write() (32)
 *   TBR_FW_NO_WORKLOADS build with an empty workload list (footprint)
 *   TBR_FW_USER_MODEL   the image of a user model: the input, arena and
 *                       output sizes come from the build's tbr_fw_model.h
 *   TBR_FW_TEST_HOOKS   the hang hook below (QEMU boards)
 *   TBR_FW_TSLINE       the timestamp bridge below (QEMU boards)
 * and the workloads it carries from the build's tbr_fw_workloads.c.
 * Nothing is allocated at run time.
 */
#ifndef TBR_FW_H
#define TBR_FW_H

#include <stddef.h>
#include <stdint.h>

/* The footprint build (no workloads) measures the runner alone: no
 * bridge. */
#if defined(TBR_FW_TSLINE) && defined(TBR_FW_NO_WORKLOADS)
#undef TBR_FW_TSLINE
#endif

/* What the board reports in HELLO. */
struct tbr_fw_board {
	const char *board;          /* "qemu-m4" */
	const char *cpu;            /* "cortex-m4f" */
	uint32_t clock_hz;          /* nominal core clock, 0 if unknown */
	uint32_t timer_hz;          /* rate of tbr_port_elapsed() units */
	uint8_t caps;               /* TBP_CAP_* */
};

/* ---- provided by the port ---------------------------------------------- */

/* Filled in by tbr_port_init() (timer_hz may depend on a calibration). */
extern struct tbr_fw_board tbr_fw_board;

/* Clocks, UART, timer, timestamp pin.  Called once from tbr_fw_main(). */
void tbr_port_init(void);
/* Wait (idle, WFI) until at least one byte arrived; return 1..cap. */
int tbr_port_read(uint8_t *buf, size_t cap);
/* Send len bytes, blocking. */
void tbr_port_write(const uint8_t *buf, size_t len);
/* Free-running 64-bit counter and the elapsed count between two readings
 * in units of tbr_fw_board.timer_hz (see tbr_port.elapsed in tbr.h). */
uint64_t tbr_port_ticks(void);
uint64_t tbr_port_elapsed(uint64_t t0, uint64_t t1);
/* Timestamp pin: 1 = timed window open.  A no-op without a pin. */
void tbr_port_timestamp(int level);
/* QEMU boards (TBR_FW_TSLINE): the timestamp bridge's byte channel, a
 * second UART the harness reads (mps2: UART1; RISC-V virt: a PCI 16550).
 * Called only when the harness switched the bridge on (tbr_fw_tsline). */
void tbr_port_tsline_init(void);
void tbr_port_tsline_write(const uint8_t *buf, size_t len);
/* Mask / unmask everything but the timer around the timed window. */
void tbr_port_window(int open);
/* Call fn(arg) with the stack pointer at top (8-byte aligned), return
 * with the caller's stack back. */
void tbr_port_call_on_stack(void (*fn)(void *), void *arg, void *top);
/* System reset; does not return. */
void tbr_port_reset(void) __attribute__((noreturn));

/* ---- provided by tbr_fw.c ---------------------------------------------- */

struct tb_workload;
/* The built-in workloads this image carries, NULL-terminated (generated
 * from tbr_fw_workloads.c.in by the build: -Dfirmware_workloads). */
extern const struct tb_workload *const tbr_fw_workloads[];

/* The entry point the port's reset handler calls after .data/.bss. */
void tbr_fw_main(void) __attribute__((noreturn));

/* Receive ring for ports whose UART interrupt hands over bytes: push from
 * the interrupt handler (drops the byte and counts it when full), pop in
 * tbr_port_read().  Single producer (ISR), single consumer (main loop). */
void tbr_fw_rx_push(uint8_t b);
int tbr_fw_rx_pop(uint8_t *buf, size_t cap);
int tbr_fw_rx_empty(void);

/*
 * Test hook (QEMU boards only: TBR_FW_TEST_HOOKS), for the harness's hang
 * test (docs/FIRMWARE.md): when magic is
 * TBR_FW_FAULT_MAGIC, INFER request number hang_at (1-based, counted from
 * reset) never returns -- the runner spins as a stuck workload would.
 * The words live in .noinit, so power-on garbage is ignored unless the
 * magic matches; QEMU sets them with `-device loader` before the CPU
 * starts (the harness's --runner-arg hang-at=N for QEMU boards).
 */
#define TBR_FW_FAULT_MAGIC 0x544C4654u /* "TFLT" */
struct tbr_fw_fault {
	uint32_t magic;
	uint32_t hang_at;
};
extern volatile struct tbr_fw_fault tbr_fw_fault;

/*
 * The timestamp bridge (QEMU boards only: TBR_FW_TSLINE; docs/ENERGY.md,
 * "QEMU boards").  QEMU has no pin an instrument could watch, so when the
 * harness measures energy it writes this word pair with `-device loader`
 * (magic TBR_FW_TSLINE_MAGIC, on = 1) and attaches a second serial
 * channel; the firmware then reports TBP_CAP_TIMESTAMP_PIN in HELLO and
 * sends every edge of its timestamp "pin" on that channel:
 *
 *   rise:  "R\n"                 (the window opens)
 *   fall:  "F" 16 hex digits "\n" (it closed; the digits are the
 *                                  instructions from the rise to the fall,
 *                                  counted by the port's icount timer)
 *
 * The rise is stamped right after its byte is written and the fall before
 * its bytes are, so the interval brackets the timed window's two timer
 * reads by a few tens of instructions.  The harness turns each window into
 * two edges on the virtual timestamp line, its length the instruction count
 * at the nominal clock: an estimate of the window, not a time anyone
 * measured.
 */
#define TBR_FW_TSLINE_MAGIC 0x4E4C5354u /* "TSLN" */
struct tbr_fw_tsline {
	uint32_t magic;
	uint32_t on;
};
extern volatile struct tbr_fw_tsline tbr_fw_tsline;

#endif
