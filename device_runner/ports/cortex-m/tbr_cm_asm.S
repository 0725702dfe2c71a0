/*
 * tbr_cm_asm.S - Cortex-M startup and the few routines that must be
 * assembly: reset (stack painting before anything runs on the stack),
 * the SysTick handler of the icount timer (a fixed instruction count),
 * the stack switch and a spin loop of known length (timer calibration).
 *
 * Linker symbols (tbr_cm.ld): __tbr_stack_start/__tbr_stack_end (main
 * stack), __tbr_data_load/__tbr_data_start/__tbr_data_end, __tbr_bss_start/
 * __tbr_bss_end.
 */
	.syntax unified
	.thumb

/* ---- reset ------------------------------------------------------------ */
	.section .text.tbr_cm_reset, "ax", %progbits
	.global tbr_cm_reset
	.type tbr_cm_reset, %function
	.thumb_func
tbr_cm_reset:
	/* Paint the main stack with 0xA5 from its limit up to where we are:
	 * nothing has used it yet, so its high-water mark is exact. */
	ldr r0, =__tbr_stack_start
	mov r1, sp
	ldr r2, =0xA5A5A5A5
1:	cmp r0, r1
	bhs 2f
	str r2, [r0], #4
	b 1b
	/* Copy .data from its load address in flash. */
2:	ldr r0, =__tbr_data_start
	ldr r1, =__tbr_data_end
	ldr r2, =__tbr_data_load
3:	cmp r0, r1
	bhs 4f
	ldr r3, [r2], #4
	str r3, [r0], #4
	b 3b
	/* Zero .bss. */
4:	ldr r0, =__tbr_bss_start
	ldr r1, =__tbr_bss_end
	movs r2, #0
5:	cmp r0, r1
	bhs 6f
	str r2, [r0], #4
	b 5b
6:
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
	/* Full access to CP10/CP11 (FPU, MVE): CPACR, ARMv7-M ARM B3.2.20. */
	ldr r0, =0xE000ED88
	ldr r1, [r0]
	orr r1, r1, #(0xF << 20)
	str r1, [r0]
	dsb
	isb
#endif
	bl tbr_fw_main
	b .
	.size tbr_cm_reset, . - tbr_cm_reset

/* ---- SysTick handler of the icount timer ------------------------------ *
 * Counts wraps of SysTick.  It runs inside timed windows, so its
 * instructions are part of the emulated instruction count: it is written
 * here so that their number is fixed, TBR_CM_SYSTICK_INSNS (5, ending with
 * the exception return), and tbr_cm.c subtracts 5 per wrap. */
#ifdef TBR_CM_TIMER_ICOUNT
	.section .text.tbr_cm_systick_icount, "ax", %progbits
	.global tbr_cm_systick_icount
	.type tbr_cm_systick_icount, %function
	.thumb_func
tbr_cm_systick_icount:
	ldr r0, =tbr_cm_wraps
	ldr r1, [r0]
	adds r1, r1, #1
	str r1, [r0]
	bx lr
	.size tbr_cm_systick_icount, . - tbr_cm_systick_icount
#endif

/* ---- void tbr_port_call_on_stack(fn, arg, top) ------------------------ *
 * Run fn(arg) in Thread mode on the process stack (PSP = top), so that
 * exceptions taken meanwhile stack on the main stack and do not show in
 * the inference stack's high-water mark. */
	.section .text.tbr_port_call_on_stack, "ax", %progbits
	.global tbr_port_call_on_stack
	.type tbr_port_call_on_stack, %function
	.thumb_func
tbr_port_call_on_stack:
	push {r4, lr}
	msr psp, r2
	mrs r4, control
	orr r3, r4, #2          /* CONTROL.SPSEL = 1: Thread mode uses PSP */
	msr control, r3
	isb
	mov r3, r0
	mov r0, r1
	blx r3
	mrs r3, control
	bic r3, r3, #2          /* back to MSP, keep FPCA as it is */
	msr control, r3
	isb
	pop {r4, pc}
	.size tbr_port_call_on_stack, . - tbr_port_call_on_stack

/* ---- void tbr_cm_spin(uint32_t n): exactly 2n + 1 instructions -------- */
	.section .text.tbr_cm_spin, "ax", %progbits
	.global tbr_cm_spin
	.type tbr_cm_spin, %function
	.thumb_func
tbr_cm_spin:
1:	subs r0, r0, #1
	bne 1b
	bx lr
	.size tbr_cm_spin, . - tbr_cm_spin
