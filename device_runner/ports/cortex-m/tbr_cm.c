/*
 * tbr_cm.c - what every Cortex-M port shares: the vector table, fault and
 * interrupt dispatch, the two timers, the idle wait, the timed window and
 * the reset.  The board part (UART, pins, clocks, the board strings) is in
 * the port's own folder; see docs/FIRMWARE.md.
 */
#include "tbr_cm.h"
#include "tbr_fw.h"

/* The one external interrupt the runner enables: the link's UART (the
 * build passes its number; the port checks it against its datasheet). */
#ifndef TBR_CM_IRQ
#error "TBR_CM_IRQ: the link UART's interrupt number (device_runner/firmware/meson.build)"
#endif

extern uint32_t __tbr_stack_end;   /* linker script: top of the main stack */
void tbr_cm_reset(void);
void tbr_cm_systick_icount(void);
void tbr_cm_spin(uint32_t n);

/* ---- exceptions ------------------------------------------------------- */

/* A fault (HardFault, MemManage, BusFault, UsageFault, SecureFault):
 * reset, so that a crashed board comes back by itself; the host sees a
 * silent device, times out and says HELLO again. */
static void fault(void)
{
	tbr_port_reset();
}

/* Every external interrupt: hand its number to the board. */
static void irq_dispatch(void)
{
	uint32_t ipsr;

	__asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
	tbr_cm_irq(ipsr - 16u);
}

static void unused(void)
{
}

#ifndef TBR_CM_TIMER_ICOUNT
static void systick_cycles(void);
#endif

/* ARMv7-M ARM B1.5.3: the table, SP first, then the exception handlers by
 * number; VTOR's reset value (0, or the machine's) points at it.  It ends
 * at the link UART's interrupt, the only one ever enabled: the entries of
 * the interrupts below it stay 0 (never taken: their enable bits stay
 * clear), and none past it is needed.  The table's alignment (B3.2.5: a
 * power of two at least 4 x entries) is that of the start of the code
 * memory. */
typedef void (*tbr_cm_vector)(void);

__attribute__((section(".vectors"), used))
const tbr_cm_vector tbr_cm_vectors[16 + TBR_CM_IRQ + 1] = {
	[0] = (tbr_cm_vector)(uintptr_t)&__tbr_stack_end,
	[1] = tbr_cm_reset,
	[2] = unused,            /* NMI */
	[3] = fault,             /* HardFault */
	[4] = fault,             /* MemManage */
	[5] = fault,             /* BusFault */
	[6] = fault,             /* UsageFault */
	[7] = fault,             /* SecureFault (Armv8-M) */
	[11] = unused,           /* SVCall */
	[12] = unused,           /* DebugMonitor */
	[14] = unused,           /* PendSV */
#ifdef TBR_CM_TIMER_ICOUNT
	[15] = tbr_cm_systick_icount,
#else
	[15] = systick_cycles,
#endif
	[16 + TBR_CM_IRQ] = irq_dispatch,
};

/* ---- reset and idle --------------------------------------------------- */

void tbr_port_reset(void)
{
	__asm__ volatile("dsb" ::: "memory");
	SCB_AIRCR = SCB_AIRCR_VECTKEY | SCB_AIRCR_SYSRESETREQ;
	__asm__ volatile("dsb" ::: "memory");
	for (;;)
		__asm__ volatile("wfi");
}

/* Wait for bytes with WFI: PRIMASK closes the race between the check and
 * the WFI (a pending interrupt still ends the WFI, ARMv7-M ARM B1.5.19),
 * and the handler runs as soon as PRIMASK is cleared. */
int tbr_port_read(uint8_t *buf, size_t cap)
{
	for (;;) {
		__asm__ volatile("cpsid i" ::: "memory");
		if (!tbr_fw_rx_empty()) {
			__asm__ volatile("cpsie i" ::: "memory");
			break;
		}
		__asm__ volatile("dsb\n\twfi\n\tcpsie i\n\tisb" ::: "memory");
	}
	return tbr_fw_rx_pop(buf, cap);
}

/* Timed window: BASEPRI masks the UART (priority TBR_CM_PRIO_UART) and
 * keeps the timer's interrupt (priority 0). */
void tbr_port_window(int open)
{
	uint32_t v = open ? TBR_CM_PRIO_UART : 0;

	__asm__ volatile("msr basepri, %0\n\tisb" :: "r"(v) : "memory");
}

/* ---- timer: DWT cycle counter, 64 bits --------------------------------- *
 * CYCCNT is 32 bits (89 s at 48 MHz).  SysTick interrupts every 2^24
 * cycles, far more often than CYCCNT wraps, and counts its wraps. */
#ifndef TBR_CM_TIMER_ICOUNT
static volatile uint32_t cyc_hi, cyc_last;

static void systick_cycles(void)
{
	uint32_t c = DWT_CYCCNT;

	if (c < cyc_last)
		cyc_hi++;
	cyc_last = c;
}

void tbr_cm_timer_init_cycles(void)
{
	DEMCR |= DEMCR_TRCENA;
	DWT_LAR = 0xC5ACCE55u;
	DWT_CYCCNT = 0;
	DWT_CTRL |= DWT_CTRL_CYCCNTENA;
	SCB_SHPR3 = (SCB_SHPR3 & 0x00FFFFFFu) | (TBR_CM_PRIO_TIMER << 24);
	SYST_RVR = 0x00FFFFFFu;
	SYST_CVR = 0;
	SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_TICKINT | SYST_CSR_CLKSOURCE;
}

uint64_t tbr_port_ticks(void)
{
	uint32_t h, l, c;

	do {
		h = cyc_hi;
		l = cyc_last;
		c = DWT_CYCCNT;
	} while (h != cyc_hi || l != cyc_last);
	if (c < l)
		h++;
	return (uint64_t)h << 32 | c;
}

uint64_t tbr_port_elapsed(uint64_t t0, uint64_t t1)
{
	return t1 - t0;
}
#endif

/* ---- timer: instructions under QEMU -icount ----------------------------- *
 * With -icount shift=N, QEMU advances virtual time by 2^N ns per executed
 * instruction, and SysTick (clocked at the machine's sysclk) counts that
 * virtual time: one tick per 1e9/sysclk ns.  A reading is
 *   raw = wraps * 2^24 + (reload - current value)
 * and the instructions between two readings are
 *   round((raw1 - raw0) * (1e9 / sysclk) / 2^N)
 * minus the 5 instructions of the wrap handler per wrap in between.  For
 * N >= 7 a tick is < 1/2 instruction even at 32 MHz (31.25 ns vs 128 ns),
 * so the rounding recovers the exact count whatever the phase of the
 * counter.  N is found at start-up by timing tbr_cm_spin(), whose length is
 * known; the harness passes -icount shift=N from the board file.
 * (The DWT cycle counter reads 0 in QEMU 7.2: not usable.)
 *
 * No division at run time: 1e9 / sysclk = ns_num / 2^k (the build checks
 * that sysclk divides 1e9 x 2^9: 25, 20 and 32 MHz do), so the division by
 * 2^k x 2^N is a shift, fixed at start-up (icount_shift = k + N), and the
 * result is the same integer the division gave.  A 64-bit division would
 * link libgcc's __aeabi_uldivmod, about 900 bytes. */
#define SYSTICK_PERIOD (1ull << 24)
#define SYSTICK_RELOAD (SYSTICK_PERIOD - 1)
#define TBR_CM_SYSTICK_INSNS 5u

#ifdef TBR_CM_TIMER_ICOUNT
volatile uint32_t tbr_cm_wraps;
static uint32_t ns_num;         /* ns per tick = ns_num / 2^den_log2 */
static uint32_t icount_shift;   /* den_log2 + N */

uint64_t tbr_port_ticks(void)
{
	uint32_t w, v;

	do {
		w = tbr_cm_wraps;
		v = SYST_CVR;
	} while (w != tbr_cm_wraps);
	/* At 0 the wrap has been counted but the period has not restarted:
	 * the reading is the last tick of the previous period. */
	if (v == 0)
		return (uint64_t)w * SYSTICK_PERIOD - 1;
	return (uint64_t)w * SYSTICK_PERIOD + (SYSTICK_RELOAD - v);
}

uint64_t tbr_port_elapsed(uint64_t t0, uint64_t t1)
{
	/* round(raw * ns_num / 2^icount_shift), as (x + half) >> shift */
	uint64_t x = (t1 - t0) * ns_num;
	uint64_t insns = icount_shift ?
		(x + (1ull << (icount_shift - 1))) >> icount_shift : x;
	uint32_t wraps = (uint32_t)((t1 + 1) >> 24) - (uint32_t)((t0 + 1) >> 24);

	return insns - (uint64_t)wraps * TBR_CM_SYSTICK_INSNS;
}

static uint32_t gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

void tbr_cm_timer_init_icount(uint32_t sysclk_hz)
{
	uint32_t g = gcd(1000000000u, sysclk_hz), n;
	/* 1e9 / sysclk = ns_num / ns_den in lowest terms; ns_den is a power
	 * of two (the build checks it), 2^den_log2. */
	uint32_t den_log2 = (uint32_t)__builtin_ctz(sysclk_hz / g);
	uint64_t t0, t1, t2, d, err, best = ~0ull;

	ns_num = 1000000000u / g;
	SCB_SHPR3 = (SCB_SHPR3 & 0x00FFFFFFu) | (TBR_CM_PRIO_TIMER << 24);
	SYST_RVR = (uint32_t)SYSTICK_RELOAD;
	SYST_CVR = 0;
	SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_TICKINT | SYST_CSR_CLKSOURCE;

	/* Calibration: 2 * 65536 more instructions in the second run, so d
	 * ticks of ns_num / 2^den_log2 ns are 131072 x 2^N ns: pick the N
	 * that fits best, comparing d x ns_num with 131072 x 2^(den_log2+N)
	 * (no division). */
	t0 = tbr_port_ticks();
	tbr_cm_spin(1000);
	t1 = tbr_port_ticks();
	tbr_cm_spin(1000 + 65536);
	t2 = tbr_port_ticks();
	d = ((t2 - t1) - (t1 - t0)) * ns_num;
	for (n = 0; n <= 10; n++) {
		uint64_t expect = 131072ull << (den_log2 + n);

		err = expect > d ? expect - d : d - expect;
		if (err < best) {
			best = err;
			icount_shift = den_log2 + n;
		}
	}
}
#endif
