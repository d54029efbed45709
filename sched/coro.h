/*
 * coro.h - execution contexts: the saved state of a task's stack or of a
 * worker thread's own stack, and the switch between them.  The switch is
 * hand-written assembly on x86_64 and aarch64 (callee-saved registers, the
 * stack pointer and the FP control state the ABI requires preserved) and
 * ucontext elsewhere; the choice is made by CMake (WEFT_CORO_UCONTEXT).
 *
 * Switches are annotated for ThreadSanitizer (fibers) and AddressSanitizer
 * (start/finish_switch_fiber), so the sanitizer builds follow tasks from
 * stack to stack and their reports stay true.
 */
#ifndef WEFT_CORO_H
#define WEFT_CORO_H

#include <stddef.h>
#ifdef WEFT_CORO_UCONTEXT
#include <ucontext.h>
#endif

typedef struct weft__ctx {
    void *sp;            /* saved stack pointer (assembly switch) */
#ifdef WEFT_CORO_UCONTEXT
    ucontext_t uc;       /* saved context (fallback switch) */
#endif
    void *stack_lo;      /* lowest usable address, for ASan */
    size_t stack_size;   /* usable bytes, for ASan */
    void *tsan_fiber;    /* ThreadSanitizer's fiber for this context */
    void *asan_fake;     /* ASan's fake-stack handle while switched out */
} weft__ctx_t;

/* Describes the calling thread's own stack as a context to switch back to. */
void weft__ctx_init_thread(weft__ctx_t *c);

/* Prepares c to start entry() on the stack [lo, lo + size) at its next switch. */
void weft__ctx_make(weft__ctx_t *c, void *lo, size_t size, void (*entry)(void));

/* Creates / destroys what a stack's context keeps across uses (TSan fiber). */
void weft__ctx_create(weft__ctx_t *c);
void weft__ctx_destroy(weft__ctx_t *c);

/*
 * Saves the running context in from and resumes to.  from_exits says the
 * running context will never be resumed (its task finished), so sanitizers
 * may drop what they keep for it.  Returns when from is resumed.
 */
void weft__ctx_switch(weft__ctx_t *from, weft__ctx_t *to, int from_exits);

/* First thing a new context does on its stack: completes the annotation. */
void weft__ctx_started(weft__ctx_t *self);

#endif
