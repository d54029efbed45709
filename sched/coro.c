/*
 * coro.c - context creation and the annotated switch around the
 * architecture's jump (assembly in coro_<arch>.S, or coro_ucontext.c).
 */
#include "sched/coro.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#if defined(WEFT_TSAN)
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
#endif
#if defined(WEFT_ASAN)
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom,
                                    size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save,
                                     const void **bottom_old, size_t *size_old);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif

#ifdef WEFT_CORO_UCONTEXT
void weft__ctx_arch_make(weft__ctx_t *c, void *lo, size_t size, void (*entry)(void));
void weft__ctx_arch_jump(weft__ctx_t *from, weft__ctx_t *to);
#else
void weft__ctx_jump(void **save_sp, void *new_sp);
void weft__ctx_start(void);

static void weft__ctx_arch_make(weft__ctx_t *c, void *lo, size_t size,
                                void (*entry)(void))
{
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
#if defined(__x86_64__)
    /* 16 spare bytes, then the 64-byte frame weft__ctx_jump pops. */
    uint64_t *f = (uint64_t *)(top - 16 - 64);
    memset(f, 0, 64);
    f[0] = 0x1F80u | ((uint64_t)0x037Fu << 32); /* default MXCSR, x87 CW */
    f[5] = (uint64_t)(uintptr_t)entry;          /* rbx */
    f[7] = (uint64_t)(uintptr_t)weft__ctx_start; /* return address */
#elif defined(__aarch64__)
    uint64_t *f = (uint64_t *)(top - 176);
    memset(f, 0, 176);
    f[0] = (uint64_t)(uintptr_t)entry;           /* x19 */
    f[11] = (uint64_t)(uintptr_t)weft__ctx_start; /* x30 */
#else
#error "no assembly context switch for this architecture; build with WEFT_CORO=ucontext"
#endif
    c->sp = f;
}

static void weft__ctx_arch_jump(weft__ctx_t *from, weft__ctx_t *to)
{
    weft__ctx_jump(&from->sp, to->sp);
}
#endif

void weft__ctx_init_thread(weft__ctx_t *c)
{
    memset(c, 0, sizeof *c);
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstack(&attr, &c->stack_lo, &c->stack_size);
        pthread_attr_destroy(&attr);
    }
#if defined(WEFT_TSAN)
    c->tsan_fiber = __tsan_get_current_fiber();
#endif
}

void weft__ctx_create(weft__ctx_t *c)
{
#if defined(WEFT_TSAN)
    c->tsan_fiber = __tsan_create_fiber(0);
#else
    (void)c;
#endif
}

void weft__ctx_destroy(weft__ctx_t *c)
{
#if defined(WEFT_TSAN)
    if (c->tsan_fiber)
        __tsan_destroy_fiber(c->tsan_fiber);
    c->tsan_fiber = NULL;
#else
    (void)c;
#endif
}

void weft__ctx_make(weft__ctx_t *c, void *lo, size_t size, void (*entry)(void))
{
    c->stack_lo = lo;
    c->stack_size = size;
    c->asan_fake = NULL;
#if defined(WEFT_TSAN)
    /* A restarted stack never returned from its old frames: give TSan a
     * fresh fiber, or its shadow call stack grows with every reuse. */
    weft__ctx_destroy(c);
    weft__ctx_create(c);
#endif
#if defined(WEFT_ASAN)
    /* The same for ASan: the redzones of those frames stay poisoned, and
     * code that is not instrumented (libc, libuv) and so does not rewrite
     * the shadow of its own frames would be reported for writing there. */
    __asan_unpoison_memory_region(lo, size);
#endif
    weft__ctx_arch_make(c, lo, size, entry);
}

void weft__ctx_switch(weft__ctx_t *from, weft__ctx_t *to, int from_exits)
{
#if defined(WEFT_ASAN)
    __sanitizer_start_switch_fiber(from_exits ? NULL : &from->asan_fake,
                                   to->stack_lo, to->stack_size);
#else
    (void)from_exits;
#endif
#if defined(WEFT_TSAN)
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
    weft__ctx_arch_jump(from, to);
    weft__ctx_started(from);
}

void weft__ctx_started(weft__ctx_t *self)
{
#if defined(WEFT_ASAN)
    __sanitizer_finish_switch_fiber(self->asan_fake, NULL, NULL);
#else
    (void)self;
#endif
}
