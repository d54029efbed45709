/*
 * fault.c - the allocation counter behind fault.h, compiled to nothing
 * unless WEFT_FAULT_INJECTION is defined.
 *
 * Every access is relaxed: the counter only numbers allocations, and the
 * test reads the count and the failed site after weft_run has joined every
 * thread of the scheduler, which orders all their writes before its reads.
 */
#include "sched/fault.h"

#ifdef WEFT_FAULT_INJECTION

#include <stdatomic.h>
#include <stddef.h>

/* Relaxed throughout: the test arms between runs, before it starts a
 * scheduler (thread creation orders that); while one runs, the counter only
 * numbers allocations, and exactly one of them sees the armed number. */
static _Atomic uint64_t counted; /* allocations since the arming */
static _Atomic uint64_t armed;   /* the one that fails; 0 = none */
static _Atomic(const char *) failed_site;

bool weft__fault_hit(const char *site)
{
    uint64_t n = atomic_fetch_add_explicit(&counted, 1, memory_order_relaxed) + 1;
    if (n != atomic_load_explicit(&armed, memory_order_relaxed))
        return false;
    atomic_store_explicit(&failed_site, site, memory_order_relaxed);
    return true;
}

void weft__fault_arm(uint64_t n)
{
    atomic_store_explicit(&armed, 0, memory_order_relaxed);
    atomic_store_explicit(&counted, 0, memory_order_relaxed);
    atomic_store_explicit(&failed_site, NULL, memory_order_relaxed);
    atomic_store_explicit(&armed, n, memory_order_relaxed);
}

uint64_t weft__fault_count(void)
{
    return atomic_load_explicit(&counted, memory_order_relaxed);
}

const char *weft__fault_site(void)
{
    return atomic_load_explicit(&failed_site, memory_order_relaxed);
}

#endif
