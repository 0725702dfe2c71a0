/*
 * tbr_rv.c - the runner on QEMU's RISC-V virt board (qemu-rv32), machine
 * mode, one hart.  Register-level:
 *   NS16550A UART0 at 0x10000000 (QEMU virt memory map; registers as the
 *   TI PC16550D datasheet: RBR/THR +0, IER +1 (bit 0 receive data
 *   available), FCR +2, LCR +3, LSR +5 (bit 0 data ready, bit 5 THR
 *   empty)), its interrupt is PLIC source 10;
 *   PLIC at 0x0C000000 (RISC-V PLIC specification 1.0.0: priority
 *   +4*source, enable of context 0 (hart 0 M-mode) +0x2000, threshold
 *   +0x200000, claim/complete +0x200004);
 *   the SiFive test device at 0x00100000 (write 0x7777: reset);
 *   the timestamp bridge (TBR_FW_TSLINE, tbr_fw.h): virt has one UART, so
 *   the harness adds a PCI 16550 (`-device pci-serial,addr=1`, device 1
 *   on bus 0): its configuration space in the ECAM window at 0x30000000
 *   (+ device << 15), its I/O BAR placed at 0x1000 of the PCI I/O window
 *   at 0x03000000 (QEMU virt memory map; PCI Local Bus 3.0: command +0x04
 *   bit 0 I/O space, BAR0 +0x10), transmit only;
 *   mcycle/mcycleh, mie.MEIE (RISC-V privileged specification 1.12).
 *
 * Timing: under QEMU -icount shift=N, mcycle reads virtual time in ns,
 * which advances exactly 2^N per executed instruction; N is found at
 * start-up by timing tbr_rv_spin() (2n + 1 instructions), so elapsed
 * counts are exact instruction counts.  Nothing interrupts the runner: it
 * never enables mstatus.MIE and waits for the UART with WFI, which a
 * pending, enabled interrupt ends (privileged spec. 3.3.3).
 */
#include "tbp.h"
#include "tbr_fw.h"

#define REG8(a)  (*(volatile uint8_t *)(uintptr_t)(a))
#define REG32(a) (*(volatile uint32_t *)(uintptr_t)(a))

#define UART_BASE  0x10000000u
#define UART_RBR   REG8(UART_BASE + 0)
#define UART_THR   REG8(UART_BASE + 0)
#define UART_IER   REG8(UART_BASE + 1)
#define UART_FCR   REG8(UART_BASE + 2)
#define UART_LCR   REG8(UART_BASE + 3)
#define UART_LSR   REG8(UART_BASE + 5)
#define LSR_DR     0x01u
#define LSR_THRE   0x20u
#define UART_IRQ   10u

#define PLIC_BASE      0x0C000000u
#define PLIC_PRIORITY(s) REG32(PLIC_BASE + 4u * (s))
#define PLIC_ENABLE0   REG32(PLIC_BASE + 0x2000u)
#define PLIC_THRESHOLD REG32(PLIC_BASE + 0x200000u)
#define PLIC_CLAIM     REG32(PLIC_BASE + 0x200004u)

#define TEST_FINISHER  REG32(0x00100000u)
#define FINISHER_RESET 0x7777u
#define MIE_MEIE       (1u << 11)

/* CSR instructions (Zicsr), also when the link step compiles this file
 * (LTO, in the footprint build) with the linker's plain -march=rv32imac,
 * which names picolibc's multilib but not Zicsr. */
#define ZICSR(insn) ".option push\n\t.option arch, +zicsr\n\t" insn \
		    "\n\t.option pop"

void tbr_rv_spin(uint32_t n);

static uint32_t icount_shift;

struct tbr_fw_board tbr_fw_board = {
	.board = TBR_BOARD_NAME,
	.cpu = TBR_BOARD_CPU,
	.clock_hz = TBR_BOARD_CLOCK_HZ,
	.timer_hz = TBR_BOARD_CLOCK_HZ,  /* instructions at the nominal clock */
	.caps = TBP_CAP_PER_INFERENCE | TBP_CAP_TICKS_ARE_INSNS,
};

uint64_t tbr_port_ticks(void)
{
	uint32_t hi, lo, hi2;

	do {
		__asm__ volatile(ZICSR("csrr %0, mcycleh") : "=r"(hi));
		__asm__ volatile(ZICSR("csrr %0, mcycle") : "=r"(lo));
		__asm__ volatile(ZICSR("csrr %0, mcycleh") : "=r"(hi2));
	} while (hi != hi2);
	return (uint64_t)hi << 32 | lo;
}

/* (t1 - t0) >> icount_shift in 32-bit halves: a variable 64-bit shift
 * would link libgcc's __lshrdi3.  hi << 1 << (31 - s) is hi << (32 - s)
 * without the undefined shift by 32 when s is 0. */
uint64_t tbr_port_elapsed(uint64_t t0, uint64_t t1)
{
	uint64_t d = t1 - t0;
	uint32_t s = icount_shift, lo = (uint32_t)d, hi = (uint32_t)(d >> 32);

	return (uint64_t)(hi >> s) << 32 | (lo >> s | hi << 1 << (31 - s));
}

static void calibrate(void)
{
	uint64_t t0, t1, t2, d, x;

	t0 = tbr_port_ticks();
	tbr_rv_spin(1000);
	t1 = tbr_port_ticks();
	tbr_rv_spin(1000 + 65536);
	t2 = tbr_port_ticks();
	d = (t2 - t1) - (t1 - t0);      /* 131072 instructions */
	d += d / 4;
	/* Doubling x rather than shifting by icount_shift: a variable 64-bit
	 * shift would link libgcc's __ashldi3. */
	for (icount_shift = 0, x = 131072ull * 2; icount_shift < 16 && x <= d;
	     x += x)
		icount_shift++;
}

void tbr_port_init(void)
{
	UART_LCR = 0x03;        /* 8N1 */
	UART_FCR = 0x07;        /* FIFO on, both cleared */
	UART_IER = 0x01;        /* receive data available */
	PLIC_PRIORITY(UART_IRQ) = 1;
	PLIC_ENABLE0 |= 1u << UART_IRQ;
	PLIC_THRESHOLD = 0;
	__asm__ volatile(ZICSR("csrs mie, %0") :: "r"(MIE_MEIE));
	calibrate();
}

int tbr_port_read(uint8_t *buf, size_t cap)
{
	uint32_t id;
	int n = 0;

	for (;;) {
		while ((size_t)n < cap && (UART_LSR & LSR_DR))
			buf[n++] = UART_RBR;
		if (n)
			return n;
		/* Drained: the UART's line is low; retire the interrupt, look
		 * once more (a byte may have come meanwhile), then sleep. */
		id = PLIC_CLAIM;
		if (id)
			PLIC_CLAIM = id;
		if (UART_LSR & LSR_DR)
			continue;
		__asm__ volatile("wfi");
	}
}

void tbr_port_write(const uint8_t *buf, size_t len)
{
	while (len--) {
		while (!(UART_LSR & LSR_THRE))
			;
		UART_THR = *buf++;
	}
}

void tbr_port_timestamp(int level)
{
	(void)level;
}

#ifdef TBR_FW_TSLINE
#define TS_CFG(off)  REG32(0x30000000u + (1u << 15) + (off))
#define TS_IO        0x1000u
#define TS_BASE      (0x03000000u + TS_IO)
#define TS_THR       REG8(TS_BASE + 0)
#define TS_FCR       REG8(TS_BASE + 2)
#define TS_LCR       REG8(TS_BASE + 3)
#define TS_LSR       REG8(TS_BASE + 5)

void tbr_port_tsline_init(void)
{
	TS_CFG(0x10) = TS_IO;   /* BAR0: I/O space at TS_IO */
	TS_CFG(0x04) = 1u;      /* command: I/O space enable */
	TS_LCR = 0x03;          /* 8N1 */
	TS_FCR = 0x07;
}

void tbr_port_tsline_write(const uint8_t *buf, size_t len)
{
	while (len--) {
		while (!(TS_LSR & LSR_THRE))
			;
		TS_THR = *buf++;
	}
}
#endif

void tbr_port_window(int open)
{
	(void)open;     /* interrupts are never taken */
}

/* Also the trap vector (mtvec, tbr_rv_start.S): a trap (illegal
 * instruction, access fault) resets, as a board would.  It never returns,
 * so it needs no interrupt handler's register saving; mtvec wants it
 * 4-byte aligned.  Out of line: a call is smaller than its copy. */
__attribute__((noinline, aligned(4))) void tbr_port_reset(void)
{
	TEST_FINISHER = FINISHER_RESET;
	for (;;)
		__asm__ volatile("wfi");
}

