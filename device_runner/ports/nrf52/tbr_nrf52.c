/*
 * tbr_nrf52.c - nRF52840 DK (PCA10056): Nordic nRF52840, Cortex-M4F at
 * 64 MHz.  Board part only; the rest is ports/cortex-m.  Registers from the
 * nRF52840 Product Specification v1.7 ("PS"), section given with each.
 *
 * Link: UARTE0 on P0.06 (TX) / P0.08 (RX), the pins the DK routes to the
 * J-Link virtual COM port.  Receive: EasyDMA into a 1-byte buffer with the
 * ENDRX_STARTRX short; each ENDRX hands the byte to the ring.  Timer: the
 * DWT cycle counter.  Timestamp: P1.08, the DK's Arduino D7 (as on the
 * Nucleo, MLPerf Tiny's timestamp pin), high while the timed window is
 * open.  Nothing else on the DK hangs on it (LED1-4 are P0.13-P0.16, the
 * buttons P0.11/12/24/25); P0.13, the earlier choice, lights LED1.  Pin
 * map: Zephyr's boards/nordic/nrf52840dk/nrf52840dk_nrf52840.dts (its
 * arduino_header: D0-D7 = P1.01-P1.08; led0 = P0.13).  Status: builds and
 * links in CI; not yet run on a board.
 */
#include "tbp.h"
#include "tbr_cm.h"
#include "tbr_fw.h"

/* CLOCK, PS 6.4.7: TASKS_HFCLKSTART +0x000, EVENTS_HFCLKSTARTED +0x100. */
#define CLOCK_TASKS_HFCLKSTART    TBR_REG(0x40000000u)
#define CLOCK_EVENTS_HFCLKSTARTED TBR_REG(0x40000100u)

/* GPIO, PS 6.9.2: P0 at 0x50000000, P1 at 0x50000300; OUTSET +0x508,
 * OUTCLR +0x50C, DIRSET +0x518. */
#define P0_OUTSET   TBR_REG(0x50000508u)
#define P0_DIRSET   TBR_REG(0x50000518u)
#define P1_OUTSET   TBR_REG(0x50000808u)
#define P1_OUTCLR   TBR_REG(0x5000080Cu)
#define P1_DIRSET   TBR_REG(0x50000818u)
#define PIN_TX 6u       /* P0.06 */
#define PIN_RX 8u       /* P0.08 */
#define PIN_TS 8u       /* P1.08 */

/* UARTE0, PS 6.34.9: TASKS_STARTRX +0x000, TASKS_STARTTX +0x008,
 * EVENTS_ENDRX +0x110, EVENTS_ENDTX +0x120, SHORTS +0x200 (ENDRX_STARTRX
 * bit 5), INTENSET +0x304 (ENDRX bit 4), ENABLE +0x500 (8 = UARTE),
 * PSEL.TXD +0x50C, PSEL.RXD +0x514, BAUDRATE +0x524 (0x01D7E000 = 115200),
 * CONFIG +0x56C, RXD.PTR +0x534, RXD.MAXCNT +0x538, TXD.PTR +0x544,
 * TXD.MAXCNT +0x548.  Interrupt 2 (UARTE0_UART0, PS 4.2.4 instantiation). */
#define UARTE0_BASE 0x40002000u
#define U_TASKS_STARTRX TBR_REG(UARTE0_BASE + 0x000u)
#define U_TASKS_STARTTX TBR_REG(UARTE0_BASE + 0x008u)
#define U_EVENTS_ENDRX  TBR_REG(UARTE0_BASE + 0x110u)
#define U_EVENTS_ENDTX  TBR_REG(UARTE0_BASE + 0x120u)
#define U_SHORTS        TBR_REG(UARTE0_BASE + 0x200u)
#define U_INTENSET      TBR_REG(UARTE0_BASE + 0x304u)
#define U_ENABLE        TBR_REG(UARTE0_BASE + 0x500u)
#define U_PSEL_TXD      TBR_REG(UARTE0_BASE + 0x50Cu)
#define U_PSEL_RXD      TBR_REG(UARTE0_BASE + 0x514u)
#define U_BAUDRATE      TBR_REG(UARTE0_BASE + 0x524u)
#define U_RXD_PTR       TBR_REG(UARTE0_BASE + 0x534u)
#define U_RXD_MAXCNT    TBR_REG(UARTE0_BASE + 0x538u)
#define U_TXD_PTR       TBR_REG(UARTE0_BASE + 0x544u)
#define U_TXD_MAXCNT    TBR_REG(UARTE0_BASE + 0x548u)
#define U_CONFIG        TBR_REG(UARTE0_BASE + 0x56Cu)
#define UARTE0_IRQ      2u
_Static_assert(TBR_CM_IRQ == UARTE0_IRQ, "TBR_CM_IRQ (device_runner/firmware/"
	       "meson.build) must be UARTE0_IRQ: the vector table ends at it");

static volatile uint8_t rx_byte;

struct tbr_fw_board tbr_fw_board = {
	.board = TBR_BOARD_NAME,
	.cpu = TBR_BOARD_CPU,
	.clock_hz = TBR_BOARD_CLOCK_HZ,
	.timer_hz = TBR_BOARD_CLOCK_HZ,     /* DWT CYCCNT: core cycles */
	.caps = TBP_CAP_PER_INFERENCE | TBP_CAP_TIMESTAMP_PIN,
};

void tbr_port_init(void)
{
	CLOCK_EVENTS_HFCLKSTARTED = 0;
	CLOCK_TASKS_HFCLKSTART = 1;     /* the crystal: an accurate baud rate */
	while (!CLOCK_EVENTS_HFCLKSTARTED)
		;
	P1_OUTCLR = 1u << PIN_TS;
	P1_DIRSET = 1u << PIN_TS;
	P0_DIRSET = 1u << PIN_TX;
	P0_OUTSET = 1u << PIN_TX;

	U_PSEL_TXD = PIN_TX;
	U_PSEL_RXD = PIN_RX;
	U_BAUDRATE = 0x01D7E000u;
	U_CONFIG = 0;                   /* 8N1, no flow control */
	U_ENABLE = 8;
	U_RXD_PTR = (uint32_t)(uintptr_t)&rx_byte;
	U_RXD_MAXCNT = 1;
	U_SHORTS = 1u << 5;             /* ENDRX -> STARTRX */
	U_EVENTS_ENDRX = 0;
	U_INTENSET = 1u << 4;
	tbr_cm_irq_enable(UARTE0_IRQ);
	U_TASKS_STARTRX = 1;
	tbr_cm_timer_init_cycles();
}

void tbr_cm_irq(unsigned irq)
{
	(void)irq;
	if (U_EVENTS_ENDRX) {
		U_EVENTS_ENDRX = 0;
		tbr_fw_rx_push(rx_byte);
	}
}

/* EasyDMA reads Data RAM only (PS 6.34.9 / 4.2.3: 0x20000000..): the
 * firmware's replies come from its RAM staging buffer (tbr_fw.c) and go
 * out as they are; anything else (flash) through a copy on the stack. */
static void tx_dma(const uint8_t *p, size_t n)
{
	U_EVENTS_ENDTX = 0;
	U_TXD_PTR = (uint32_t)(uintptr_t)p;
	U_TXD_MAXCNT = n;
	U_TASKS_STARTTX = 1;
	while (!U_EVENTS_ENDTX)
		;
}

void tbr_port_write(const uint8_t *buf, size_t len)
{
	uint8_t copy[16];

	while (len) {
		size_t n = len < 0xFFFF ? len : 0xFFFF;   /* TXD.MAXCNT: 16 bits */

		if ((uintptr_t)buf >= 0x20000000u && (uintptr_t)buf < 0x20040000u) {
			tx_dma(buf, n);
		} else {
			n = n < sizeof(copy) ? n : sizeof(copy);
			for (size_t i = 0; i < n; i++)
				copy[i] = buf[i];
			tx_dma(copy, n);
		}
		buf += n;
		len -= n;
	}
}

void tbr_port_timestamp(int level)
{
	if (level)
		P1_OUTSET = 1u << PIN_TS;
	else
		P1_OUTCLR = 1u << PIN_TS;
}
