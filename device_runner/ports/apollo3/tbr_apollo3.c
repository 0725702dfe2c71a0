/*
 * tbr_apollo3.c - SparkFun RedBoard Artemis (and the other Artemis boards):
 * Ambiq Apollo3 Blue, Cortex-M4F
 * at 48 MHz (the HFRC default; burst mode is not used).  Board part only;
 * the rest is ports/cortex-m.  Registers from the Apollo3 Blue SoC
 * datasheet (DS-A3-0p9p1), section numbers given with each block.
 *
 * Link: UART0 (PL011-style, datasheet 11.x) on pads 48 (TX) / 49 (RX),
 * function 0, wired to the board's CH340 USB bridge.  Timer: the DWT cycle
 * counter.  Timestamp: pad 28, the RedBoard Artemis's Arduino D7 (the pin
 * MLPerf Tiny's energy set-up and the LPM01A shield use), high while the
 * timed window is open; no LED or other load on the board hangs on it
 * (the blue LED "13" is pad 5).  Pin map: SparkFun's RedBoard Artemis
 * variant, Mbed OS targets/TARGET_Ambiq_Micro/TARGET_Apollo3/
 * TARGET_SFE_ARTEMIS/PinNames.h (D7 = 28) and bsp/am_bsp_pins.h there
 * (LED_BLUE = 5, COM UART 48/49).  Status: builds and links in CI; not yet
 * run on a board.
 */
#include "tbp.h"
#include "tbr_cm.h"
#include "tbr_fw.h"

/* Power control, 3.8: DEVPWREN (0x40021008) bit 7 PWRUART0; DEVPWRSTATUS
 * (0x40021014) bit 2 HCPA (the UART0 power domain) when on. */
#define PWRCTRL_DEVPWREN     TBR_REG(0x40021008u)
#define PWRCTRL_DEVPWRSTATUS TBR_REG(0x40021014u)
#define DEVPWREN_PWRUART0    (1u << 7)
#define DEVPWRSTATUS_HCPA    (1u << 2)

/* GPIO, 10.x: PADKEY (0x40010060) = 0x73 unlocks PADREG/ALTPADCFG/CFG;
 * PADREGx: one byte per pad (pad 28: PADREGH, 0x4001001C, byte 0), bits
 * 5:3 function select (3 = GPIO on every pad), bit 1 input enable; CFGx:
 * 4 bits per pad (pad 28: CFGD, 0x4001004C, bits 19:16), bits 2:1 output
 * configuration (01 = push-pull); WTSA/WTCA set/clear outputs of pads
 * 0-31; ENSA enables them. */
#define GPIO_BASE     0x40010000u
#define GPIO_PADKEY   TBR_REG(GPIO_BASE + 0x060u)
#define GPIO_PADREG8(pad) (*(volatile uint8_t *)(uintptr_t)(GPIO_BASE + (pad)))
#define GPIO_CFG(pad) TBR_REG(GPIO_BASE + 0x040u + 4u * ((pad) / 8u))
#define GPIO_WTSA     TBR_REG(GPIO_BASE + 0x090u)
#define GPIO_WTCA     TBR_REG(GPIO_BASE + 0x098u)
#define GPIO_ENSA     TBR_REG(GPIO_BASE + 0x0A8u)
#define PADKEY_KEY    0x73u
#define PAD_TX 48u
#define PAD_RX 49u
#define PAD_TS 28u      /* RedBoard Artemis D7 */

/* UART0, 11.x: DR +0x00, FR +0x18 (bit 4 RXFE, bit 5 TXFF), IBRD +0x24,
 * FBRD +0x28, LCRH +0x2C (bits 6:5 WLEN = 3: 8 bits, bit 4 FEN), CR +0x30
 * (bit 0 UARTEN, bits 6:4 CLKSEL = 1: 24 MHz, bit 3 CLKEN, bit 8 TXE,
 * bit 9 RXE), IFLS +0x34, IER +0x38 (bit 4 RXIM, bit 6 RTIM), IEC +0x44.
 * Interrupt 15 (table 3.x "Apollo3 interrupts"). */
#define UART0_BASE   0x4001C000u
#define UART_DR      TBR_REG(UART0_BASE + 0x00u)
#define UART_FR      TBR_REG(UART0_BASE + 0x18u)
#define UART_IBRD    TBR_REG(UART0_BASE + 0x24u)
#define UART_FBRD    TBR_REG(UART0_BASE + 0x28u)
#define UART_LCRH    TBR_REG(UART0_BASE + 0x2Cu)
#define UART_CR      TBR_REG(UART0_BASE + 0x30u)
#define UART_IFLS    TBR_REG(UART0_BASE + 0x34u)
#define UART_IER     TBR_REG(UART0_BASE + 0x38u)
#define UART_IEC     TBR_REG(UART0_BASE + 0x44u)
#define FR_RXFE      (1u << 4)
#define FR_TXFF      (1u << 5)
#define UART0_IRQ    15u
_Static_assert(TBR_CM_IRQ == UART0_IRQ, "TBR_CM_IRQ (device_runner/firmware/"
	       "meson.build) must be UART0_IRQ: the vector table ends at it");

struct tbr_fw_board tbr_fw_board = {
	.board = TBR_BOARD_NAME,
	.cpu = TBR_BOARD_CPU,
	.clock_hz = TBR_BOARD_CLOCK_HZ,
	.timer_hz = TBR_BOARD_CLOCK_HZ,     /* DWT CYCCNT: core cycles */
	.caps = TBP_CAP_PER_INFERENCE | TBP_CAP_TIMESTAMP_PIN,
};

static void pad_function(unsigned pad, unsigned fn, int input)
{
	GPIO_PADREG8(pad) = (uint8_t)((fn << 3) | (input ? 0x2u : 0));
}

void tbr_port_init(void)
{
	PWRCTRL_DEVPWREN |= DEVPWREN_PWRUART0;
	while (!(PWRCTRL_DEVPWRSTATUS & DEVPWRSTATUS_HCPA))
		;
	GPIO_PADKEY = PADKEY_KEY;
	pad_function(PAD_TX, 0, 0);
	pad_function(PAD_RX, 0, 1);
	pad_function(PAD_TS, 3, 0);              /* function 3: GPIO */
	GPIO_CFG(PAD_TS) = (GPIO_CFG(PAD_TS) & ~(0xFu << (4 * (PAD_TS % 8)))) |
			   (0x2u << (4 * (PAD_TS % 8)));   /* push-pull */
	GPIO_PADKEY = 0;
	GPIO_ENSA = 1u << PAD_TS;
	GPIO_WTCA = 1u << PAD_TS;

	/* 24 MHz UART clock / (16 x 115200) = 13 + 1/64. */
	UART_CR = (1u << 4) | (1u << 3);
	UART_IBRD = 13;
	UART_FBRD = 1;
	UART_LCRH = (3u << 5) | (1u << 4);
	UART_IFLS = 0;                           /* RX interrupt at 1/8 full */
	UART_IEC = 0x7FFu;
	UART_IER = (1u << 4) | (1u << 6);
	UART_CR = (1u << 4) | (1u << 3) | (1u << 8) | (1u << 9) | (1u << 0);
	tbr_cm_irq_enable(UART0_IRQ);
	tbr_cm_timer_init_cycles();
}

void tbr_cm_irq(unsigned irq)
{
	(void)irq;
	UART_IEC = (1u << 4) | (1u << 6);
	while (!(UART_FR & FR_RXFE))
		tbr_fw_rx_push((uint8_t)UART_DR);
}

void tbr_port_write(const uint8_t *buf, size_t len)
{
	while (len--) {
		while (UART_FR & FR_TXFF)
			;
		UART_DR = *buf++;
	}
}

void tbr_port_timestamp(int level)
{
	if (level)
		GPIO_WTSA = 1u << PAD_TS;
	else
		GPIO_WTCA = 1u << PAD_TS;
}
