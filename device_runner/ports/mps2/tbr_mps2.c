/*
 * tbr_mps2.c - Arm MPS2/MPS3 FPGA images as QEMU models them: qemu-m4
 * (mps2-an386), qemu-m7 (mps2-an500), qemu-m33 (mps2-an505), qemu-m55
 * (mps3-an547).  Board part only: the CMSDK UART and the board strings;
 * the rest is ports/cortex-m.
 *
 * Per-machine values come from device_runner/meson.build:
 *   TBR_MPS2_UART_BASE   UART0 (an386/an500: 0x40004000, Application Notes
 *                        AN386/AN500 memory map; an505: 0x50200000 and
 *                        an547: 0x59303000, the Secure aliases, since the
 *                        runner stays in the Secure state)
 *   TBR_CM_IRQ           UART0 receive interrupt (0, 32, 33; the vector
 *                        table of ports/cortex-m ends at it)
 *   TBR_MPS2_SYSCLK_HZ   the machine's SysTick clock in QEMU
 *   TBR_BOARD_NAME, TBR_BOARD_CPU, TBR_BOARD_CLOCK_HZ
 *
 * The timestamp bridge (TBR_FW_TSLINE, tbr_fw.h) writes its edges to UART1,
 * 0x1000 above UART0 on all four machines (QEMU's memory map of each:
 * `info mtree`), QEMU's second -serial, transmit only.
 *
 * CMSDK APB UART, Arm Cortex-M System Design Kit TRM (DDI 0479) 4.3:
 *   DATA +0x00, STATE +0x04 (bit 0 TX full, bit 1 RX full), CTRL +0x08
 *   (bit 0 TX enable, bit 1 RX enable, bit 3 RX interrupt enable),
 *   INTSTATUS/INTCLEAR +0x0C (bit 1 RX), BAUDDIV +0x10 (>= 16).
 * QEMU does not pace the UART by BAUDDIV; 25 MHz / 217 = 115200 on an FPGA.
 */
#include "tbp.h"
#include "tbr_cm.h"
#include "tbr_fw.h"

#define UART_DATA      TBR_REG(TBR_MPS2_UART_BASE + 0x00u)
#define UART_STATE     TBR_REG(TBR_MPS2_UART_BASE + 0x04u)
#define UART_CTRL      TBR_REG(TBR_MPS2_UART_BASE + 0x08u)
#define UART_INTCLEAR  TBR_REG(TBR_MPS2_UART_BASE + 0x0Cu)
#define UART_BAUDDIV   TBR_REG(TBR_MPS2_UART_BASE + 0x10u)
#define STATE_TXFULL   (1u << 0)
#define STATE_RXFULL   (1u << 1)
#define CTRL_TXEN      (1u << 0)
#define CTRL_RXEN      (1u << 1)
#define CTRL_RXINTEN   (1u << 3)
#define INT_RX         (1u << 1)

/* The icount timer (ports/cortex-m/tbr_cm.c) converts SysTick ticks into
 * instructions with a shift, not a division: 1e9 / sysclk must be a
 * number of ns over a power of two (at most 2^9). */
_Static_assert((1000000000ull << 9) % TBR_MPS2_SYSCLK_HZ == 0,
	       "TBR_MPS2_SYSCLK_HZ must divide 1e9 x 2^9");

struct tbr_fw_board tbr_fw_board = {
	.board = TBR_BOARD_NAME,
	.cpu = TBR_BOARD_CPU,
	.clock_hz = TBR_BOARD_CLOCK_HZ,
	/* Instructions, estimated at the nominal clock (1 per cycle). */
	.timer_hz = TBR_BOARD_CLOCK_HZ,
	.caps = TBP_CAP_PER_INFERENCE | TBP_CAP_TICKS_ARE_INSNS,
};

void tbr_port_init(void)
{
	UART_BAUDDIV = 217;
	UART_INTCLEAR = 0xFu;
	UART_CTRL = CTRL_TXEN | CTRL_RXEN | CTRL_RXINTEN;
	tbr_cm_irq_enable(TBR_CM_IRQ);
	tbr_cm_timer_init_icount(TBR_MPS2_SYSCLK_HZ);
}

/* Whatever interrupt it is, it can only be the receiver: drain it. */
void tbr_cm_irq(unsigned irq)
{
	(void)irq;
	UART_INTCLEAR = INT_RX;
	while (UART_STATE & STATE_RXFULL)
		tbr_fw_rx_push((uint8_t)UART_DATA);
}

void tbr_port_write(const uint8_t *buf, size_t len)
{
	while (len--) {
		while (UART_STATE & STATE_TXFULL)
			;
		UART_DATA = *buf++;
	}
}

void tbr_port_timestamp(int level)
{
	(void)level;    /* no pin anyone could watch under QEMU: the bridge */
}

#ifdef TBR_FW_TSLINE
#define TS_BASE        (TBR_MPS2_UART_BASE + 0x1000u)
#define TS_DATA        TBR_REG(TS_BASE + 0x00u)
#define TS_STATE       TBR_REG(TS_BASE + 0x04u)
#define TS_CTRL        TBR_REG(TS_BASE + 0x08u)
#define TS_BAUDDIV     TBR_REG(TS_BASE + 0x10u)

void tbr_port_tsline_init(void)
{
	TS_BAUDDIV = 217;
	TS_CTRL = CTRL_TXEN;
}

void tbr_port_tsline_write(const uint8_t *buf, size_t len)
{
	while (len--) {
		while (TS_STATE & STATE_TXFULL)
			;
		TS_DATA = *buf++;
	}
}
#endif
