/*
 * timer.c - a task's own timer, behind weft_sleep and the timeouts of
 * weft_wait and weft_wait_for.  The I/O thread keeps the deadlines
 * (io.c); this file owns the protocol that makes a timer fire at most once
 * into the wait it was armed for.
 *
 * The state word holds a generation, bumped at every arming, and a state:
 *  - arming stores (gen + 1, ARMED) and asks the I/O thread to put the
 *    timer in its heap, tagged with that generation;
 *  - firing (I/O thread) CASes (tag, ARMED) to (tag, FIRED), wakes the
 *    task, then stores (tag, IDLE): a heap entry left from an earlier
 *    arming carries an older tag and its CAS fails;
 *  - disarming (the task, or a canceller holding its claim) CASes
 *    (gen, ARMED) to (gen, IDLE) and asks the I/O thread to drop the heap
 *    entry; if it finds FIRED instead, the firing is under way and it waits
 *    for IDLE, after which the I/O thread never touches the task again for
 *    this arming.
 * A task leaves every timed wait through weft__timer_disarm, so nothing
 * fires into a later wait.
 */
#include "sched/internal.h"

#include <ck_pr.h>

void weft__timer_arm(weft_task_t *t, uint64_t deadline_ns, int rc_when_fired)
{
    uint32_t s = atomic_load_explicit(&t->timer_state, memory_order_relaxed);
    atomic_store_explicit(&t->deadline_ns, deadline_ns, memory_order_relaxed);
    atomic_store_explicit(&t->timer_rc, rc_when_fired, memory_order_relaxed);
    /* Release: the I/O thread reads the deadline after seeing ARMED. */
    atomic_store_explicit(&t->timer_state, ((WEFT_TIMER_GEN(s) + 1) << 2) | WEFT_TIMER_ARMED,
                          memory_order_release);
    weft__io_submit(t->sched->io, &t->timer_arm_req);
}

bool weft__timer_disarm(weft_task_t *t)
{
    uint32_t s = atomic_load_explicit(&t->timer_state, memory_order_acquire);
    uint32_t armed = (s & ~3u) | WEFT_TIMER_ARMED;
    /* acq_rel: against the I/O thread's CAS in weft__timer_fire. */
    if (atomic_compare_exchange_strong_explicit(&t->timer_state, &armed, s & ~3u,
                                                memory_order_acq_rel, memory_order_acquire)) {
        /* One removal in flight at a time; a queued one also drops any
         * later entry that is no longer armed (io.c). */
        if (!atomic_exchange_explicit(&t->remove_queued, 1, memory_order_acq_rel))
            weft__io_submit(t->sched->io, &t->timer_remove_req);
        return true;
    }
    /* Acquire: pairs with the I/O thread's release store of IDLE. */
    while (WEFT_TIMER_STATE(atomic_load_explicit(&t->timer_state, memory_order_acquire)) ==
           WEFT_TIMER_FIRED)
        ck_pr_stall();
    return false;
}

void weft__timer_fire(weft_task_t *t)
{
    uint32_t tag = t->heap_gen << 2;
    uint32_t armed = tag | WEFT_TIMER_ARMED;
    if (!atomic_compare_exchange_strong_explicit(&t->timer_state, &armed,
                                                 tag | WEFT_TIMER_FIRED, memory_order_acq_rel,
                                                 memory_order_relaxed))
        return; /* disarmed, or an older arming */
    t->wait_rc = atomic_load_explicit(&t->timer_rc, memory_order_relaxed);
    weft__wake(t);
    /* Release: the disarming task may go on once it sees IDLE. */
    atomic_store_explicit(&t->timer_state, tag | WEFT_TIMER_IDLE, memory_order_release);
}
