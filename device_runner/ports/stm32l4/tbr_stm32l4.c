/*
 * tbr_stm32l4.c - NUCLEO-L4R5ZI (STM32L4R5ZI, Cortex-M4F), the MLPerf Tiny
 * reference board, at 120 MHz from the PLL.  Board part only; the rest is
 * ports/cortex-m.  Registers from RM0432 (STM32L4+ reference manual),
 * section given with each block.
 *
 * Link: LPUART1 on PG7 (TX) / PG8 (RX), AF8, which the board wires to the
 * ST-LINK virtual COM port, clocked from HSI16.  Timer: the DWT cycle
 * counter.  Timestamp: PF13, Arduino D7 on the Zio connector (CN10), high
 * while the timed window is open: the pin MLPerf Tiny's reference firmware
 * drives (DigitalOut timestampPin(D7)) and the LPM01A shield's D7 input.
 * No LED hangs on it (LD1 is PC7, whose current would land in the energy
 * figure).  Pin map checked in Mbed OS's
 * targets/.../TARGET_NUCLEO_L4R5ZI/PinNames.h (D7 = PF_13, LED1 = PC_7,
 * the VCP on PG7/PG8) and STM32duino's NUCLEO-144 variants (D7 = PF13);
 * the board's own pin table is in UM2179.  Status: builds and links in CI;
 * not yet run on a board.
 */
#include "tbp.h"
#include "tbr_cm.h"
#include "tbr_fw.h"

/* RCC, RM0432 6.4: CR +0x00 (HSION bit 8, HSIRDY bit 10, PLLON bit 24,
 * PLLRDY bit 25), CFGR +0x08 (SW 1:0, SWS 3:2, HPRE 7:4), PLLCFGR +0x0C
 * (PLLSRC 1:0 = 2 HSI16, PLLM 7:4 = M-1, PLLN 14:8, PLLREN bit 24, PLLR
 * 26:25 = 0 for /2), AHB2ENR +0x4C (GPIOFEN bit 5, GPIOGEN bit 6), APB1ENR1
 * +0x58 (PWREN bit 28), APB1ENR2 +0x5C (LPUART1EN bit 0), CCIPR +0x88
 * (LPUART1SEL 11:10 = 2 HSI16). */
#define RCC_BASE     0x40021000u
#define RCC_CR       TBR_REG(RCC_BASE + 0x00u)
#define RCC_CFGR     TBR_REG(RCC_BASE + 0x08u)
#define RCC_PLLCFGR  TBR_REG(RCC_BASE + 0x0Cu)
#define RCC_AHB2ENR  TBR_REG(RCC_BASE + 0x4Cu)
#define RCC_APB1ENR1 TBR_REG(RCC_BASE + 0x58u)
#define RCC_APB1ENR2 TBR_REG(RCC_BASE + 0x5Cu)
#define RCC_CCIPR    TBR_REG(RCC_BASE + 0x88u)

/* PWR, RM0432 5.4: CR2 +0x04 (IOSV bit 9: VDDIO2, which port G needs),
 * CR5 +0x80 (R1MODE bit 8: 0 = range 1 boost, needed above 80 MHz). */
#define PWR_CR2      TBR_REG(0x40007004u)
#define PWR_CR5      TBR_REG(0x40007080u)
/* FLASH_ACR, RM0432 3.7.1: LATENCY 3:0 = 5 wait states at 120 MHz. */
#define FLASH_ACR    TBR_REG(0x40022000u)

/* GPIO, RM0432 8.5: MODER +0x00 (2 bits per pin, 10 = alternate, 01 =
 * output), AFRL +0x20 / AFRH +0x24 (4 bits per pin), BSRR +0x18 (set in
 * 15:0, reset in 31:16).  Ports F and G at 0x48001400 / 0x48001800
 * (RM0432 2.2.2, memory map). */
#define GPIOF_BASE   0x48001400u
#define GPIOG_BASE   0x48001800u
#define TS_PIN       13u                /* PF13 */
#define GPIO_MODER(b) TBR_REG((b) + 0x00u)
#define GPIO_BSRR(b)  TBR_REG((b) + 0x18u)
#define GPIO_AFRL(b)  TBR_REG((b) + 0x20u)
#define GPIO_AFRH(b)  TBR_REG((b) + 0x24u)

/* LPUART1, RM0432 52.7: CR1 +0x00 (UE bit 0, RE bit 2, TE bit 3, RXNEIE
 * bit 5), BRR +0x0C (256 x fck / baud), ISR +0x1C (RXNE bit 5, TXE bit 7,
 * ORE bit 3), ICR +0x20, RDR +0x24, TDR +0x28.  Interrupt 70 (RM0432
 * table 58). */
#define LPUART1_BASE 0x40008000u
#define LPUART_CR1   TBR_REG(LPUART1_BASE + 0x00u)
#define LPUART_BRR   TBR_REG(LPUART1_BASE + 0x0Cu)
#define LPUART_ISR   TBR_REG(LPUART1_BASE + 0x1Cu)
#define LPUART_ICR   TBR_REG(LPUART1_BASE + 0x20u)
#define LPUART_RDR   TBR_REG(LPUART1_BASE + 0x24u)
#define LPUART_TDR   TBR_REG(LPUART1_BASE + 0x28u)
#define ISR_ORE      (1u << 3)
#define ISR_RXNE     (1u << 5)
#define ISR_TXE      (1u << 7)
#define LPUART1_IRQ  70u
_Static_assert(TBR_CM_IRQ == LPUART1_IRQ, "TBR_CM_IRQ (device_runner/firmware/"
	       "meson.build) must be LPUART1_IRQ: the vector table ends at it");

struct tbr_fw_board tbr_fw_board = {
	.board = TBR_BOARD_NAME,
	.cpu = TBR_BOARD_CPU,
	.clock_hz = TBR_BOARD_CLOCK_HZ,
	.timer_hz = TBR_BOARD_CLOCK_HZ,     /* DWT CYCCNT: core cycles */
	.caps = TBP_CAP_PER_INFERENCE | TBP_CAP_TIMESTAMP_PIN,
};

/* 120 MHz: HSI16 / 1 x 15 / 2, range 1 boost, 5 wait states.  RM0432
 * 6.2.9: going above 80 MHz, run with AHB / 2 for 1 us first. */
static void clock_120mhz(void)
{
	RCC_APB1ENR1 |= 1u << 28;
	RCC_CR |= 1u << 8;
	while (!(RCC_CR & (1u << 10)))
		;
	PWR_CR5 &= ~(1u << 8);
	FLASH_ACR = (FLASH_ACR & ~0xFu) | 5u;
	while ((FLASH_ACR & 0xFu) != 5u)
		;
	RCC_PLLCFGR = 2u | (0u << 4) | (15u << 8) | (0u << 25) | (1u << 24);
	RCC_CR |= 1u << 24;
	while (!(RCC_CR & (1u << 25)))
		;
	RCC_CFGR = (RCC_CFGR & ~0xF3u) | (8u << 4) | 3u;  /* PLL, AHB / 2 */
	while (((RCC_CFGR >> 2) & 3u) != 3u)
		;
	for (volatile int i = 0; i < 200; i++)
		;
	RCC_CFGR &= ~0xF0u;                                 /* AHB / 1 */
}

void tbr_port_init(void)
{
	clock_120mhz();
	RCC_AHB2ENR |= (1u << 5) | (1u << 6);
	PWR_CR2 |= 1u << 9;
	RCC_APB1ENR2 |= 1u << 0;
	RCC_CCIPR = (RCC_CCIPR & ~(3u << 10)) | (2u << 10);

	/* PG7, PG8: AF8. */
	GPIO_MODER(GPIOG_BASE) = (GPIO_MODER(GPIOG_BASE) & ~(0xFu << 14)) |
				 (0xAu << 14);
	GPIO_AFRL(GPIOG_BASE) = (GPIO_AFRL(GPIOG_BASE) & ~(0xFu << 28)) | (8u << 28);
	GPIO_AFRH(GPIOG_BASE) = (GPIO_AFRH(GPIOG_BASE) & ~0xFu) | 8u;
	/* PF13: output (push-pull, the reset OTYPER), low. */
	GPIO_BSRR(GPIOF_BASE) = 1u << (TS_PIN + 16);
	GPIO_MODER(GPIOF_BASE) = (GPIO_MODER(GPIOF_BASE) & ~(3u << (2 * TS_PIN))) |
				 (1u << (2 * TS_PIN));

	LPUART_BRR = 35556u;                    /* 256 x 16 MHz / 115200 */
	LPUART_CR1 = (1u << 2) | (1u << 3) | (1u << 5);
	LPUART_CR1 |= 1u << 0;
	tbr_cm_irq_enable(LPUART1_IRQ);
	tbr_cm_timer_init_cycles();
}

void tbr_cm_irq(unsigned irq)
{
	(void)irq;
	if (LPUART_ISR & ISR_ORE)
		LPUART_ICR = ISR_ORE;
	while (LPUART_ISR & ISR_RXNE)
		tbr_fw_rx_push((uint8_t)LPUART_RDR);
}

void tbr_port_write(const uint8_t *buf, size_t len)
{
	while (len--) {
		while (!(LPUART_ISR & ISR_TXE))
			;
		LPUART_TDR = *buf++;
	}
}

void tbr_port_timestamp(int level)
{
	GPIO_BSRR(GPIOF_BASE) = level ? 1u << TS_PIN : 1u << (TS_PIN + 16);
}
