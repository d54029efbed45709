/*
 * coro_ucontext.c - the portable context switch (getcontext/makecontext/
 * swapcontext) for architectures without an assembly one.  Slower: glibc's
 * swapcontext saves and restores the signal mask with a system call.
 */
#include "sched/coro.h"

void weft__ctx_arch_make(weft__ctx_t *c, void *lo, size_t size, void (*entry)(void));
void weft__ctx_arch_jump(weft__ctx_t *from, weft__ctx_t *to);

void weft__ctx_arch_make(weft__ctx_t *c, void *lo, size_t size, void (*entry)(void))
{
    getcontext(&c->uc);
    c->uc.uc_stack.ss_sp = lo;
    c->uc.uc_stack.ss_size = size;
    c->uc.uc_link = NULL;
    makecontext(&c->uc, entry, 0);
}

void weft__ctx_arch_jump(weft__ctx_t *from, weft__ctx_t *to)
{
    swapcontext(&from->uc, &to->uc);
}
