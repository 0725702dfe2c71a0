/*
 * tbr_cm.h - Arm Cortex-M system registers shared by every Cortex-M port.
 *
 * Register-level, no CMSIS.  Addresses and bits from the Armv7-M
 * Architecture Reference Manual (DDI 0403E, "ARMv7-M ARM") section given
 * with each; the Armv8-M manual (DDI 0553) keeps the same addresses for
 * the registers used here (in the Secure state for M33/M55 ports, which
 * run Secure).
 */
#ifndef TBR_CM_H
#define TBR_CM_H

#include <stdint.h>

#define TBR_REG(a) (*(volatile uint32_t *)(uintptr_t)(a))

/* SysTick, ARMv7-M ARM B3.3.2 */
#define SYST_CSR   TBR_REG(0xE000E010u) /* control and status */
#define SYST_RVR   TBR_REG(0xE000E014u) /* reload value, 24 bits */
#define SYST_CVR   TBR_REG(0xE000E018u) /* current value; any write clears */
#define SYST_CSR_ENABLE    (1u << 0)
#define SYST_CSR_TICKINT   (1u << 1)
#define SYST_CSR_CLKSOURCE (1u << 2)    /* 1 = processor clock */

/* System Control Block, ARMv7-M ARM B3.2.2 */
#define SCB_VTOR   TBR_REG(0xE000ED08u) /* B3.2.5 */
#define SCB_AIRCR  TBR_REG(0xE000ED0Cu) /* B3.2.6 */
#define SCB_SHPR3  TBR_REG(0xE000ED20u) /* B3.2.12: PRI_15 (SysTick) in 31:24 */
#define SCB_CPACR  TBR_REG(0xE000ED88u) /* B3.2.20: CP10/CP11 in 23:20 */
#define SCB_AIRCR_VECTKEY     (0x05FAu << 16)
#define SCB_AIRCR_SYSRESETREQ (1u << 2)

/* Debug: DEMCR (C1.6.5) enables the DWT; DWT_CTRL and DWT_CYCCNT (C1.8.7,
 * C1.8.8).  DWT_LAR (CoreSight lock access, 0xC5ACCE55 unlocks) exists on
 * the Cortex-M7 only; writing it elsewhere is ignored. */
#define DEMCR      TBR_REG(0xE000EDFCu)
#define DEMCR_TRCENA (1u << 24)
#define DWT_CTRL   TBR_REG(0xE0001000u)
#define DWT_CYCCNT TBR_REG(0xE0001004u)
#define DWT_LAR    TBR_REG(0xE0001FB0u)
#define DWT_CTRL_CYCCNTENA (1u << 0)

/* NVIC, ARMv7-M ARM B3.4.3: one bit per interrupt, 32 per word. */
#define NVIC_ISER(n) TBR_REG(0xE000E100u + 4u * (n))
#define NVIC_ICER(n) TBR_REG(0xE000E180u + 4u * (n))
#define NVIC_ICPR(n) TBR_REG(0xE000E280u + 4u * (n))
#define NVIC_IPR8(n) (*(volatile uint8_t *)(uintptr_t)(0xE000E400u + (n)))

/* Priorities: SysTick highest, the link's UART below it, so that the timed
 * window can mask the UART (BASEPRI) and keep the timer running. */
#define TBR_CM_PRIO_TIMER 0x00u
#define TBR_CM_PRIO_UART  0x80u

static inline void tbr_cm_irq_enable(unsigned irq)
{
	NVIC_IPR8(irq) = TBR_CM_PRIO_UART;
	NVIC_ICPR(irq / 32) = 1u << (irq % 32);
	NVIC_ISER(irq / 32) = 1u << (irq % 32);
}

/* ---- provided by tbr_cm.c / tbr_cm_asm.S for the board part ------------ */

/* The board's interrupt handler: called for every external interrupt
 * with its number (IPSR - 16). */
void tbr_cm_irq(unsigned irq);

/* Start the timer: the DWT cycle counter extended to 64 bits (hardware),
 * or SysTick converted to instructions under QEMU -icount (sysclk_hz is
 * the machine's SysTick clock).  Sets tbr_fw_board.timer_hz for icount. */
void tbr_cm_timer_init_cycles(void);
void tbr_cm_timer_init_icount(uint32_t sysclk_hz);

#endif
