/*
 * coro_x86_64.S - the x86_64 (System V) context switch.
 *
 * weft__ctx_jump(void **save_sp, void *new_sp) pushes the callee-saved
 * registers and the MXCSR / x87 control words (the FP control state the ABI
 * says a callee preserves), stores the stack pointer in *save_sp, loads
 * new_sp and pops the same frame.  A new context's frame is built by
 * weft__ctx_make in coro.c: its return address is weft__ctx_start, which
 * calls the entry function kept in rbx.
 *
 * Frame at the saved sp: [0] mxcsr (4) + x87 cw (2), [8] r15, [16] r14,
 * [24] r13, [32] r12, [40] rbx, [48] rbp, [56] return address.
 */
    .text
    .globl weft__ctx_jump
    .hidden weft__ctx_jump
    .type weft__ctx_jump, @function
    .p2align 4
weft__ctx_jump:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size weft__ctx_jump, .-weft__ctx_jump

    .globl weft__ctx_start
    .hidden weft__ctx_start
    .type weft__ctx_start, @function
    .p2align 4
weft__ctx_start:
    /* rsp is 16-byte aligned here, as a call site requires. */
    call *%rbx
    ud2
    .size weft__ctx_start, .-weft__ctx_start

    .section .note.GNU-stack,"",@progbits
