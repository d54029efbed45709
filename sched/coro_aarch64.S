/*
 * coro_aarch64.S - the aarch64 (AAPCS64) context switch.
 *
 * weft__ctx_jump(void **save_sp, void *new_sp) saves x19-x28, the frame
 * pointer x29, the link register x30, d8-d15 and FPCR (the callee-saved
 * registers and FP control state of AAPCS64) in a 176-byte frame, stores sp
 * in *save_sp, loads new_sp and restores the same frame.  A new context's
 * frame (built by weft__ctx_make in coro.c) has x30 = weft__ctx_start and
 * the entry function in x19.
 *
 * Frame: [0] x19 x20, [16] x21 x22, [32] x23 x24, [48] x25 x26,
 * [64] x27 x28, [80] x29 x30, [96] d8 d9, [112] d10 d11, [128] d12 d13,
 * [144] d14 d15, [160] fpcr.
 */
    .text
    .globl weft__ctx_jump
    .hidden weft__ctx_jump
    .type weft__ctx_jump, %function
    .p2align 4
weft__ctx_jump:
    sub sp, sp, #176
    stp x19, x20, [sp, #0]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    stp d8, d9, [sp, #96]
    stp d10, d11, [sp, #112]
    stp d12, d13, [sp, #128]
    stp d14, d15, [sp, #144]
    mrs x9, fpcr
    str x9, [sp, #160]
    mov x9, sp
    str x9, [x0]
    mov sp, x1
    ldr x9, [sp, #160]
    msr fpcr, x9
    ldp x19, x20, [sp, #0]
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    ldp d8, d9, [sp, #96]
    ldp d10, d11, [sp, #112]
    ldp d12, d13, [sp, #128]
    ldp d14, d15, [sp, #144]
    add sp, sp, #176
    ret
    .size weft__ctx_jump, .-weft__ctx_jump

    .globl weft__ctx_start
    .hidden weft__ctx_start
    .type weft__ctx_start, %function
    .p2align 4
weft__ctx_start:
    blr x19
    brk #0
    .size weft__ctx_start, .-weft__ctx_start

    .section .note.GNU-stack,"",%progbits
