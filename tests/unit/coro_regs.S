/*
 * coro_regs.S - the half of test_coro.c that C cannot write: puts a known
 * value in every register the ABI says a call preserves, calls a function
 * (which suspends the task), and reports which of them came back changed.
 *
 * uint64_t weft_test_regs_across(uint64_t seed, void (*fn)(void));
 *
 * Register n gets seed + n and the result has bit n set if it changed:
 *  - aarch64: x19-x29 (bits 19-29) and d8-d15, which get seed + 100 + n
 *    (bits 48-55);
 *  - x86_64: rbx (bit 3), rbp (bit 5) and r12-r15 (bits 12-15).
 * The frame pointer gets a value too, so frame-pointer walks see a broken
 * chain while fn runs; nothing in this test walks one.
 */
#if defined(__aarch64__)
    .text
    .globl weft_test_regs_across
    .type weft_test_regs_across, %function
    .p2align 4
weft_test_regs_across:
    /* Frame: [0] x29 x30, [16..95] x19-x28, [96..159] d8-d15, [160] seed. */
    stp x29, x30, [sp, #-176]!
    mov x29, sp
    stp x19, x20, [sp, #16]
    stp x21, x22, [sp, #32]
    stp x23, x24, [sp, #48]
    stp x25, x26, [sp, #64]
    stp x27, x28, [sp, #80]
    stp d8, d9, [sp, #96]
    stp d10, d11, [sp, #112]
    stp d12, d13, [sp, #128]
    stp d14, d15, [sp, #144]
    str x0, [sp, #160]
    .irp n, 8, 9, 10, 11, 12, 13, 14, 15
    add x9, x0, #(100 + \n)
    fmov d\n, x9
    .endr
    .irp n, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29
    add x\n, x0, #\n
    .endr
    blr x1
    ldr x0, [sp, #160]
    mov x1, #0
    .irp n, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29
    add x9, x0, #\n
    cmp x\n, x9
    cset x10, ne
    orr x1, x1, x10, lsl #\n
    .endr
    .irp n, 8, 9, 10, 11, 12, 13, 14, 15
    fmov x11, d\n
    add x9, x0, #(100 + \n)
    cmp x11, x9
    cset x10, ne
    orr x1, x1, x10, lsl #(40 + \n)
    .endr
    mov x0, x1
    ldp x19, x20, [sp, #16]
    ldp x21, x22, [sp, #32]
    ldp x23, x24, [sp, #48]
    ldp x25, x26, [sp, #64]
    ldp x27, x28, [sp, #80]
    ldp d8, d9, [sp, #96]
    ldp d10, d11, [sp, #112]
    ldp d12, d13, [sp, #128]
    ldp d14, d15, [sp, #144]
    ldp x29, x30, [sp], #176
    ret
    .size weft_test_regs_across, .-weft_test_regs_across
    .section .note.GNU-stack,"",%progbits

#elif defined(__x86_64__)
    /* weft_check reg, n: sets bit n of rax if reg is not seed (rdi) + n. */
    .macro weft_check reg, n
    leaq \n(%rdi), %rcx
    xorl %edx, %edx
    cmpq %rcx, %\reg
    setne %dl
    shlq $\n, %rdx
    orq %rdx, %rax
    .endm

    .text
    .globl weft_test_regs_across
    .type weft_test_regs_across, @function
    .p2align 4
weft_test_regs_across:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    /* The seed, for after the call; seven pushes leave rsp 16-aligned. */
    pushq %rdi
    leaq 3(%rdi), %rbx
    leaq 5(%rdi), %rbp
    leaq 12(%rdi), %r12
    leaq 13(%rdi), %r13
    leaq 14(%rdi), %r14
    leaq 15(%rdi), %r15
    call *%rsi
    movq (%rsp), %rdi
    xorl %eax, %eax
    weft_check rbx, 3
    weft_check rbp, 5
    weft_check r12, 12
    weft_check r13, 13
    weft_check r14, 14
    weft_check r15, 15
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size weft_test_regs_across, .-weft_test_regs_across
    .section .note.GNU-stack,"",@progbits
#endif
