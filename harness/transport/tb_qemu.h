/*
 * tb_qemu.h - run runner firmware under QEMU and talk to it on a unix socket.
 *
 * A QEMU board is a peer of the others: its runner speaks the same protocol
 * over its UART, only the UART is QEMU's
 *
 *   -chardev socket,id=tb0,path=<private dir>/uart.sock,server=on,wait=on
 *   -serial chardev:tb0
 *
 * (QEMU waits for us before it starts the CPU, so nothing the firmware
 * sends is lost, ../shared/reference/emulation.md).  tb_qemu_spawn() makes
 * a private folder (mkdtemp, mode 0700) for the socket and QEMU's log,
 * starts
 *
 *   <program> -M <machine> [-cpu <cpu>] -nodefaults -display none
 *             -monitor none -icount shift=<N> -kernel <firmware.elf>
 *             -chardev ... -serial chardev:tb0 [extra...]
 *
 * in its own process group with an argv (never a shell), its stdout and
 * stderr in the log, and connects.  tb_qemu_free() hangs up, stops QEMU
 * with SIGTERM (a clean shutdown for QEMU; SIGKILL after
 * TB_QEMU_KILL_GRACE_MS), reaps it and removes the folder.  When QEMU dies
 * the transport reads TB_ERR_CLOSED with its exit status and the last line
 * of its log.
 *
 * Ownership: *out is the caller's, released with tb_qemu_free(); the
 * transport and strings returned belong to the QEMU handle.  Not
 * thread-safe per handle.
 */
#ifndef TB_QEMU_H
#define TB_QEMU_H

#include <stdbool.h>
#include <sys/types.h>

#include "tb_err.h"
#include "tb_transport.h"

#define TB_QEMU_KILL_GRACE_MS 2000
#define TB_QEMU_CONNECT_MS 10000

/* The channel of the firmware's timestamp bridge (docs/ENERGY.md, "QEMU
 * boards"): a second socket, <dir>/ts.sock (chardev tbts), attached as
 * QEMU's second -serial (mps2: UART1) or as a PCI 16550 at device 1
 * (-device pci-serial,chardev=tbts,addr=1: RISC-V virt has one UART). */
enum tb_qemu_tsline {
	TB_QEMU_TSLINE_NONE = 0,
	TB_QEMU_TSLINE_SERIAL1 = 1,
	TB_QEMU_TSLINE_PCI_SERIAL = 2,
};

struct tb_qemu_config {
	const char *program;         /* "qemu-system-arm" (found on PATH) */
	const char *machine;         /* -M */
	const char *cpu;             /* -cpu, or NULL */
	int icount_shift;            /* -icount shift=N; < 0: none */
	const char *firmware;        /* -kernel: the runner ELF */
	const char *const *extra;    /* more arguments, NULL-terminated, or NULL */
	enum tb_qemu_tsline tsline;  /* the timestamp bridge's channel, or NONE */
};

struct tb_qemu;

int tb_qemu_spawn(const struct tb_qemu_config *cfg, struct tb_qemu **out,
		  struct tb_error *err);
struct tb_transport *tb_qemu_transport(struct tb_qemu *q);
pid_t tb_qemu_pid(const struct tb_qemu *q);
/* The timestamp bridge's channel (read only), or NULL without one.  Owned
 * by the QEMU handle. */
struct tb_transport *tb_qemu_tsline(struct tb_qemu *q);
/* The QEMU command line, space-separated, for messages and the store. */
const char *tb_qemu_command(const struct tb_qemu *q);
/* Has QEMU exited?  *status_text as tb_sim_status(). */
int tb_qemu_status(struct tb_qemu *q, bool *exited, const char **status_text);
/* Accepts NULL. */
void tb_qemu_free(struct tb_qemu *q);

#endif
