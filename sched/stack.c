/*
 * stack.c - task stacks: mapped in slabs, guarded, handed out when a task
 * first runs, recycled through per-worker pools, and the report of an
 * overflow.
 *
 * A slab is one mapping of WEFT_SLAB_STACKS slots, carved one at a time as
 * stacks are needed.  Each slot is a guard page, then the usable stack,
 * with the fiber header (context, links) at its top, so a stack costs no
 * allocation beyond its mapping and a shallow task touches one page.  A
 * stack without a protected guard page keeps a canary in its lowest word,
 * checked at every switch away from it.
 *
 * Guarding, chosen once per scheduler:
 *  - MADV_GUARD_INSTALL (Linux 6.13+, probed at run time) turns the guard
 *    page into a fault without splitting the mapping: free, unlimited;
 *  - else mprotect(PROT_NONE), which splits the mapping in two per stack;
 *    Linux allows about 65,530 mappings a process (vm.max_map_count), so
 *    this is used only while a budget taken from that limit lasts;
 *  - else the guard page stays an unprotected gap and the canary alone
 *    catches an overflow, at the next switch.
 * A fault in a guard page is caught on the worker's alternate signal stack
 * and reported with the task's name before the process aborts.
 *
 * Stacks of the default size are pooled: per worker (WEFT_POOL_LOCAL), then
 * in a shared list.  Others are mapped for their task and unmapped after.
 */
#include "sched/fault.h"
#include "sched/internal.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef WEFT_VALGRIND
#include <valgrind/valgrind.h>
#define WEFT_VG_REGISTER(f) ((f)->vg_stack = VALGRIND_STACK_REGISTER((f)->lo, (char *)(f)))
#define WEFT_VG_DEREGISTER(f) VALGRIND_STACK_DEREGISTER((f)->vg_stack)
#else
#define WEFT_VG_REGISTER(f) ((void)(f))
#define WEFT_VG_DEREGISTER(f) ((void)(f))
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define WEFT_SLAB_STACKS 64
#define WEFT_POOL_LOCAL 64
#define WEFT_MIN_STACK (16 * 1024)
#define WEFT_ALTSTACK (64 * 1024)

enum { WEFT_GUARD_MADVISE, WEFT_GUARD_MPROTECT, WEFT_GUARD_NONE };

struct weft__slab {
    struct weft__slab *next;
    void *base;
    size_t len;
    unsigned carved; /* slots handed out so far */
};

static size_t page_size(void)
{
    static size_t page;
    if (!page)
        page = (size_t)sysconf(_SC_PAGESIZE);
    return page;
}

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

static int probe_madvise_guard(void)
{
    size_t pg = page_size();
    void *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 0;
    int ok = 0;
    if (madvise(p, pg, MADV_GUARD_INSTALL) == 0) {
        /* Success is not enough: qemu-user (7.2) answers 0 to advice it
         * does not know and installs nothing, and the stacks would then
         * have neither guard nor canary.  A guard page is one the kernel
         * cannot read either: writing from it to a pipe must fail. */
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) == 0) {
            ok = write(fds[1], p, 1) < 0;
            close(fds[0]);
            close(fds[1]);
        }
    }
    munmap(p, 2 * pg);
    return ok;
}

static long mapping_budget(void)
{
    long max = 65530, used = 0;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f) {
        if (fscanf(f, "%ld", &max) != 1)
            max = 65530;
        fclose(f);
    }
    f = fopen("/proc/self/maps", "r");
    if (f) {
        int c;
        while ((c = fgetc(f)) != EOF)
            used += c == '\n';
        fclose(f);
    }
    /* Leave room for the program's own mappings (malloc arenas, libraries). */
    return max - used - 4096;
}

int weft__stacks_init(struct weft_sched *s)
{
    weft__stackpool_t *p = &s->stacks;
    pthread_mutex_init(&p->lock, NULL);
    p->free = NULL;
    p->slabs = NULL;
    p->slot_size = page_size() + s->stack_size;
    atomic_init(&p->mapped, 0);
    atomic_init(&p->in_use, 0);
    if (s->flags & WEFT_STACK_CANARY)
        p->guard_mode = WEFT_GUARD_NONE;
    else if (!(s->flags & WEFT_STACK_MPROTECT) && probe_madvise_guard())
        p->guard_mode = WEFT_GUARD_MADVISE;
    else
        p->guard_mode = WEFT_GUARD_MPROTECT;
    /* Counting the mappings reads /proc/self/maps, which is long under the
     * sanitizers: only mprotect guards need the figure. */
    p->map_budget = p->guard_mode == WEFT_GUARD_MPROTECT ? mapping_budget() : 0;
    return 0;
}

/* Which protection the next stack gets; spends mapping budget.  Locked. */
static int take_guard(weft__stackpool_t *p)
{
    if (p->guard_mode != WEFT_GUARD_MPROTECT)
        return p->guard_mode;
    if (p->map_budget < 2)
        return WEFT_GUARD_NONE;
    p->map_budget -= 2;
    return WEFT_GUARD_MPROTECT;
}

/* Turns slot [slot, slot + slot_size) into a fiber; returns it.  Unlocked:
 * the system calls and the page it touches are paid outside the lock. */
static weft__fiber_t *carve(char *slot, size_t slot_size, size_t requested, int pooled,
                            int guard)
{
    size_t pg = page_size();
    int guarded = guard == WEFT_GUARD_MADVISE
                      ? madvise(slot, pg, MADV_GUARD_INSTALL) == 0
                      : guard == WEFT_GUARD_MPROTECT && mprotect(slot, pg, PROT_NONE) == 0;
    uintptr_t top = (uintptr_t)slot + slot_size;
    weft__fiber_t *f = (weft__fiber_t *)((top - sizeof(weft__fiber_t)) & ~(uintptr_t)63);
    memset(f, 0, sizeof *f);
    f->guard_lo = slot;
    f->lo = slot + pg;
    f->size = (size_t)((char *)f - (char *)f->lo);
    f->requested = requested;
    f->pooled = (uint8_t)pooled;
    /* A failed mprotect keeps its budget spent: a little conservative. */
    f->mprotected = (uint8_t)(guard == WEFT_GUARD_MPROTECT && guarded);
    f->map_len = slot_size;
    /* Only an unguarded stack pays for the page its canary lives in. */
    f->canary = (uint8_t)!guarded;
    if (f->canary)
        *(uint64_t *)f->lo = WEFT_CANARY;
    weft__ctx_create(&f->ctx);
    WEFT_VG_REGISTER(f);
    return f;
}

static void *map_stacks(size_t len)
{
    if (weft__fault_inject("stack mapping"))
        return NULL;
    void *base = mmap(NULL, len, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    return base == MAP_FAILED ? NULL : base;
}

/* A default-size slot never used before, from the newest slab, mapping a
 * new slab when it is used up.  Locked. */
static char *new_slot(weft__stackpool_t *p)
{
    struct weft__slab *slab = p->slabs;
    if (!slab || slab->carved == WEFT_SLAB_STACKS) {
        slab = weft__fault_inject("stack slab record") ? NULL : malloc(sizeof *slab);
        size_t len = p->slot_size * WEFT_SLAB_STACKS;
        void *base = slab ? map_stacks(len) : NULL;
        if (!base) {
            free(slab);
            return NULL;
        }
        slab->base = base;
        slab->len = len;
        slab->carved = 0;
        slab->next = p->slabs;
        p->slabs = slab;
        atomic_fetch_add_explicit(&p->mapped, WEFT_SLAB_STACKS, memory_order_relaxed);
    }
    return (char *)slab->base + (size_t)slab->carved++ * p->slot_size;
}

bool weft__fiber_fits(struct weft_sched *s, size_t requested)
{
    return requested == 0 || requested == s->stack_size;
}

weft__fiber_t *weft__fiber_get(weft__worker_t *w, size_t requested)
{
    struct weft_sched *s = w->sched;
    weft__stackpool_t *p = &s->stacks;
    weft__fiber_t *f = w->free_fibers;
    if (weft__fiber_fits(s, requested)) {
        if (f) {
            w->free_fibers = f->next;
            w->nfree_fibers--;
        } else {
            char *slot = NULL;
            int guard = WEFT_GUARD_NONE;
            pthread_mutex_lock(&p->lock);
            f = p->free;
            if (f)
                p->free = f->next;
            else if ((slot = new_slot(p)))
                guard = take_guard(p);
            pthread_mutex_unlock(&p->lock);
            if (slot)
                f = carve(slot, p->slot_size, s->stack_size, 1, guard);
        }
    } else {
        size_t size = round_up(requested < WEFT_MIN_STACK ? WEFT_MIN_STACK : requested,
                               page_size());
        size_t len = page_size() + size;
        void *base = map_stacks(len);
        if (base) {
            pthread_mutex_lock(&p->lock);
            int guard = take_guard(p);
            pthread_mutex_unlock(&p->lock);
            f = carve(base, len, requested, 0, guard);
            atomic_fetch_add_explicit(&p->mapped, 1, memory_order_relaxed);
        } else {
            f = NULL;
        }
    }
    if (f)
        atomic_fetch_add_explicit(&p->in_use, 1, memory_order_relaxed);
    return f;
}

void weft__fiber_put(weft__worker_t *w, weft__fiber_t *f)
{
    weft__stackpool_t *p = &w->sched->stacks;
    atomic_fetch_sub_explicit(&p->in_use, 1, memory_order_relaxed);
    f->task = NULL;
    if (!f->pooled) {
        pthread_mutex_lock(&p->lock);
        if (f->mprotected)
            p->map_budget += 2;
        pthread_mutex_unlock(&p->lock);
        weft__ctx_destroy(&f->ctx);
        WEFT_VG_DEREGISTER(f);
        munmap(f->guard_lo, f->map_len);
        atomic_fetch_sub_explicit(&p->mapped, 1, memory_order_relaxed);
        return;
    }
    if (w->nfree_fibers < WEFT_POOL_LOCAL) {
        f->next = w->free_fibers;
        w->free_fibers = f;
        w->nfree_fibers++;
        return;
    }
    pthread_mutex_lock(&p->lock);
    f->next = p->free;
    p->free = f;
    pthread_mutex_unlock(&p->lock);
}

static void destroy_list(weft__fiber_t *f)
{
    for (; f; f = f->next) {
        weft__ctx_destroy(&f->ctx);
        WEFT_VG_DEREGISTER(f);
    }
}

void weft__stacks_destroy(struct weft_sched *s)
{
    weft__stackpool_t *p = &s->stacks;
    for (unsigned i = 0; i < s->nworkers; i++) {
        destroy_list(s->workers[i].free_fibers);
        s->workers[i].free_fibers = NULL;
    }
    destroy_list(p->free);
    for (struct weft__slab *slab = p->slabs, *next; slab; slab = next) {
        next = slab->next;
        munmap(slab->base, slab->len);
        free(slab);
    }
    pthread_mutex_destroy(&p->lock);
}

/* ---- overflow reports --------------------------------------------------- */

static void write_str(const char *s)
{
    ssize_t r = write(2, s, strlen(s));
    (void)r;
}

/* Async-signal-safe: called from the SIGSEGV handler. */
static void report_overflow(weft_task_t *t, size_t requested)
{
    char name[64], num[24];
    if (t)
        weft__task_name_into(t, name, sizeof name);
    else
        strcpy(name, "?");
    int i = (int)sizeof num - 1;
    num[i] = '\0';
    do {
        num[--i] = (char)('0' + requested % 10);
        requested /= 10;
    } while (requested && i > 0);
    write_str("weft: task '");
    write_str(name);
    write_str("' overflowed its ");
    write_str(num + i);
    write_str("-byte stack\n");
    abort();
}

void weft__stack_check(weft__fiber_t *f, weft_task_t *t)
{
    if (WEFT_UNLIKELY(f->canary && *(volatile uint64_t *)f->lo != WEFT_CANARY))
        report_overflow(t, f->requested);
}

static struct sigaction previous_segv;
static atomic_flag handler_installed = ATOMIC_FLAG_INIT;

static void on_segv(int sig, siginfo_t *info, void *uctx)
{
    weft__worker_t *w = weft__self();
    weft__fiber_t *f = w ? w->fiber : NULL;
    if (f) {
        char *addr = info->si_addr, *guard = f->guard_lo;
        if (addr >= guard && addr < guard + page_size())
            report_overflow(w->current, f->requested);
        if (f->canary && *(volatile uint64_t *)f->lo != WEFT_CANARY)
            report_overflow(w->current, f->requested);
    }
    /* Not ours: hand the fault to whoever handled it before us. */
    if (previous_segv.sa_flags & SA_SIGINFO) {
        previous_segv.sa_sigaction(sig, info, uctx);
    } else if (previous_segv.sa_handler != SIG_IGN && previous_segv.sa_handler != SIG_DFL) {
        previous_segv.sa_handler(sig);
    } else {
        signal(sig, SIG_DFL); /* the fault repeats on return and kills us */
    }
}

int weft__overflow_handler_install(weft__worker_t *w)
{
    w->altstack = weft__fault_inject("signal stack") ? NULL : malloc(WEFT_ALTSTACK);
    if (w->altstack) {
        stack_t ss = {.ss_sp = w->altstack, .ss_size = WEFT_ALTSTACK, .ss_flags = 0};
        sigaltstack(&ss, NULL);
    }
    if (!atomic_flag_test_and_set(&handler_installed)) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_segv;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, &previous_segv);
    }
    return 0;
}

void weft__overflow_handler_remove(weft__worker_t *w)
{
    if (w->altstack) {
        stack_t ss = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
        sigaltstack(&ss, NULL);
        free(w->altstack);
        w->altstack = NULL;
    }
}
