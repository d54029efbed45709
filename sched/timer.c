/*
 * timer.c - timers kept by the I/O thread: a task's own (behind weft_sleep
 * and the timeouts of weft_wait and weft_wait_for) and a timeout scope's.
 * The I/O thread keeps the deadlines (io.c); this file owns the protocol
 * that makes a timer fire at most once for the arming it was set for.
 *
 * The state word holds a generation, bumped at every arming, and a state:
 *  - arming stores (gen + 1, ARMED) and asks the I/O thread to put the
 *    timer in its heap, tagged with that generation;
 *  - firing (I/O thread) CASes (tag, ARMED) to (tag, FIRED), runs the
 *    timer's fire function, then stores (tag, IDLE): a heap entry left from
 *    an earlier arming carries an older tag and its CAS fails;
 *  - disarming CASes (gen, ARMED) to (gen, IDLE) and asks the I/O thread to
 *    drop the heap entry; if it finds FIRED instead, the firing is under
 *    way and it waits for IDLE, after which the I/O thread does nothing
 *    more for this arming.
 * A task leaves every timed wait through weft__timer_disarm, so nothing
 * fires into a later wait.
 */
#include "sched/internal.h"

#include <ck_pr.h>

void weft__timer_init(weft__timer_t *tm, struct weft_sched *s, void (*fire)(weft__timer_t *))
{
    atomic_init(&tm->state, 0);
    atomic_init(&tm->deadline_ns, 0);
    atomic_init(&tm->remove_queued, 0);
    atomic_init(&tm->arm_queued, 0);
    tm->fire = fire;
    tm->sched = s;
    tm->heap_index = WEFT_NOT_IN_HEAP;
    tm->arm_req.kind = WEFT_IO_TIMER_ARM;
    tm->remove_req.kind = WEFT_IO_TIMER_REMOVE;
    tm->free_req.kind = WEFT_IO_TIMER_FREE;
}

uint64_t weft__deadline_after(int64_t ms)
{
    uint64_t now = weft__now_ns();
    if (ms <= 0)
        return now;
    return (uint64_t)ms > (UINT64_MAX - now) / 1000000 ? UINT64_MAX
                                                       : now + (uint64_t)ms * 1000000;
}

void weft__timer_arm(weft__timer_t *tm, uint64_t deadline_ns)
{
    uint32_t s = atomic_load_explicit(&tm->state, memory_order_relaxed);
    atomic_store_explicit(&tm->deadline_ns, deadline_ns, memory_order_relaxed);
    /* seq_cst (release): the I/O thread reads the deadline after seeing
     * ARMED; with the exchange below it pairs with the I/O thread clearing
     * arm_queued before it reads the state, so a request already queued
     * sees this arming and a node is never queued twice. */
    atomic_store_explicit(&tm->state, ((WEFT_TIMER_GEN(s) + 1) << 2) | WEFT_TIMER_ARMED,
                          memory_order_seq_cst);
    if (!atomic_exchange_explicit(&tm->arm_queued, 1, memory_order_seq_cst))
        weft__io_submit(tm->sched->io, &tm->arm_req);
}

bool weft__timer_disarm(weft__timer_t *tm)
{
    uint32_t s = atomic_load_explicit(&tm->state, memory_order_acquire);
    uint32_t armed = (s & ~3u) | WEFT_TIMER_ARMED;
    /* acq_rel against the I/O thread's CAS in weft__timer_fire; seq_cst,
     * with the exchange below, against the I/O thread clearing
     * remove_queued before it reads the state (io.c): a removal under way
     * either sees this IDLE or lets us queue another. */
    if (atomic_compare_exchange_strong_explicit(&tm->state, &armed, s & ~3u,
                                                memory_order_seq_cst, memory_order_acquire)) {
        /* One removal in flight at a time; a queued one also drops any
         * later entry that is no longer armed (io.c). */
        if (!atomic_exchange_explicit(&tm->remove_queued, 1, memory_order_seq_cst))
            weft__io_submit(tm->sched->io, &tm->remove_req);
        return true;
    }
    /* Acquire: pairs with the I/O thread's release store of IDLE. */
    while (WEFT_TIMER_STATE(atomic_load_explicit(&tm->state, memory_order_acquire)) ==
           WEFT_TIMER_FIRED)
        ck_pr_stall();
    return false;
}

void weft__timer_retire(weft__timer_t *tm)
{
    /* Disarmed first; then the I/O thread, after every request already
     * queued for this timer (the inbox is FIFO), drops its heap entry and
     * frees the memory the timer heads. */
    weft__timer_disarm(tm);
    weft__io_submit(tm->sched->io, &tm->free_req);
}

void weft__timer_fire(weft__timer_t *tm)
{
    uint32_t tag = tm->heap_gen << 2;
    uint32_t armed = tag | WEFT_TIMER_ARMED;
    if (!atomic_compare_exchange_strong_explicit(&tm->state, &armed, tag | WEFT_TIMER_FIRED,
                                                 memory_order_acq_rel, memory_order_relaxed))
        return; /* disarmed, or an older arming */
    tm->fire(tm);
    /* Release: a disarming thread may go on once it sees IDLE. */
    atomic_store_explicit(&tm->state, tag | WEFT_TIMER_IDLE, memory_order_release);
}

/* ---- a task's own timer ------------------------------------------------ */

void weft__task_timer_fire(weft__timer_t *tm)
{
    weft_task_t *t = (weft_task_t *)((char *)tm - offsetof(weft_task_t, timer));
    /* A deadline of 0: the I/O thread had no room for the timer (io.c). */
    int rc = tm->heap_deadline == 0 ? WEFT_ENOMEM
                                    : atomic_load_explicit(&t->timer_rc, memory_order_relaxed);
    atomic_store_explicit(&t->wait_rc, rc, memory_order_relaxed);
    weft__wake(t);
}

void weft__task_timer_arm(weft_task_t *t, uint64_t deadline_ns, int rc_when_fired)
{
    atomic_store_explicit(&t->timer_rc, rc_when_fired, memory_order_relaxed);
    weft__timer_arm(&t->timer, deadline_ns);
}
