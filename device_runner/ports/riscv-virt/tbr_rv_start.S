/*
 * tbr_rv_start.S - RISC-V (RV32, machine mode) startup for the QEMU virt
 * board, and the routines that must be assembly: the stack switch and a
 * spin loop of known length (timer calibration).
 *
 * Linker symbols (qemu-virt.ld): __tbr_stack_start/__tbr_stack_end,
 * __tbr_data_load/__tbr_data_start/__tbr_data_end,
 * __tbr_bss_start/__tbr_bss_end, __global_pointer$.
 */
	.section .text.tbr_rv_start, "ax", @progbits
	.global _start
	.type _start, @function
_start:
	/* No interrupts are ever taken: the runner waits with WFI on a
	 * pending interrupt (mie) with mstatus.MIE clear. */
	csrw mie, zero
	csrci mstatus, 8
	.option push
	.option norelax
	la gp, __global_pointer$
	.option pop
	la sp, __tbr_stack_end
	/* Paint the main stack with 0xA5 before anything runs on it. */
	la t0, __tbr_stack_start
	li t1, 0xA5A5A5A5
1:	bgeu t0, sp, 2f
	sw t1, 0(t0)
	addi t0, t0, 4
	j 1b
	/* Copy .data (a no-op when QEMU loaded it in place), zero .bss. */
2:	la t0, __tbr_data_start
	la t1, __tbr_data_end
	la t2, __tbr_data_load
3:	bgeu t0, t1, 4f
	lw t3, 0(t2)
	sw t3, 0(t0)
	addi t0, t0, 4
	addi t2, t2, 4
	j 3b
4:	la t0, __tbr_bss_start
	la t1, __tbr_bss_end
5:	bgeu t0, t1, 6f
	sw zero, 0(t0)
	addi t0, t0, 4
	j 5b
	/* Any trap is a fault: reset (tbr_rv.c). */
6:	la t0, tbr_port_reset
	csrw mtvec, t0
	call tbr_fw_main
7:	j 7b
	.size _start, . - _start

/* void tbr_port_call_on_stack(fn, arg, top) */
	.section .text.tbr_port_call_on_stack, "ax", @progbits
	.global tbr_port_call_on_stack
	.type tbr_port_call_on_stack, @function
tbr_port_call_on_stack:
	addi sp, sp, -16
	sw ra, 12(sp)
	sw s0, 8(sp)
	mv s0, sp
	mv sp, a2
	mv t0, a0
	mv a0, a1
	jalr t0
	mv sp, s0
	lw s0, 8(sp)
	lw ra, 12(sp)
	addi sp, sp, 16
	ret
	.size tbr_port_call_on_stack, . - tbr_port_call_on_stack

/* void tbr_rv_spin(uint32_t n): exactly 2n + 1 instructions */
	.section .text.tbr_rv_spin, "ax", @progbits
	.global tbr_rv_spin
	.type tbr_rv_spin, @function
tbr_rv_spin:
1:	addi a0, a0, -1
	bnez a0, 1b
	ret
	.size tbr_rv_spin, . - tbr_rv_spin
