/*
 * fault.h - fault injection for the tests of out-of-memory paths: built
 * with WEFT_FAULT_INJECTION, the Nth allocation the runtime makes fails;
 * otherwise every check is a constant false the compiler removes.
 *
 * Every allocation site of the runtime asks weft__fault_inject(site) right
 * before it allocates and, on true, goes on exactly as if the allocation
 * had returned NULL (or MAP_FAILED).  One process-wide counter numbers the
 * allocations of every scheduler and thread in the order they ask, so a
 * test arms N, runs a program, and the Nth allocation fails once.
 */
#ifndef WEFT_FAULT_H
#define WEFT_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#ifdef WEFT_FAULT_INJECTION

/* Counts one allocation at site; true when it is the armed one. */
bool weft__fault_hit(const char *site);

/* Test hooks: arm the Nth allocation from now (0: none fails) and reset
 * the count; how many allocations were counted since; the site that failed
 * last (NULL if none has since the arming). */
void weft__fault_arm(uint64_t n);
uint64_t weft__fault_count(void);
const char *weft__fault_site(void);

static inline bool weft__fault_inject(const char *site)
{
    return weft__fault_hit(site);
}

#else

static inline bool weft__fault_inject(const char *site)
{
    (void)site;
    return false;
}

#endif

#endif /* WEFT_FAULT_H */
