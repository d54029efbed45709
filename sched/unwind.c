/*
 * unwind.c - walks a task's stack by its frame pointers (the library and
 * its users build with -fno-omit-frame-pointer), for weft_dump (from the
 * frame a context switch saved) and for the watchdog (from the registers a
 * signal interrupted).  It only reads memory inside the stack's bounds and
 * calls nothing, so a signal handler may use it.
 */
#include "sched/internal.h"

__attribute__((no_sanitize("address"))) int weft__unwind(void *pc, uintptr_t fp, uintptr_t lo,
                                                         uintptr_t hi, void **out, int max)
{
    int n = 0;
    uintptr_t floor = lo;
    while (n < max && pc) {
        out[n++] = pc;
        if (fp < floor || fp + 2 * sizeof(void *) > hi || fp % sizeof(void *) != 0)
            break;
        const uintptr_t *frame = (const uintptr_t *)fp;
        pc = (void *)frame[1];
        if (frame[0] <= fp) /* frames only ever go up the stack */
            break;
        floor = fp;
        fp = frame[0];
    }
    return n;
}

int weft__unwind_saved(const weft__fiber_t *f, void **out, int max)
{
#if defined(__x86_64__) && !defined(WEFT_CORO_UCONTEXT)
    /* coro_x86_64.S: rbp at sp[6], the return address at sp[7]. */
    uintptr_t lo = (uintptr_t)f->lo, hi = lo + f->size;
    const uintptr_t *sp = f->ctx.sp;
    if ((uintptr_t)sp < lo || (uintptr_t)(sp + 8) > hi)
        return 0;
    return weft__unwind((void *)sp[7], sp[6], (uintptr_t)sp, hi, out, max);
#else
    (void)f;
    (void)out;
    (void)max;
    return 0;
#endif
}
