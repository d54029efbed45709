/*
 * multi.c - the wait on several tasks at once (multi.h).
 *
 * The waiting task registers one node on each task (no lock: the node goes
 * on the task's waiter list under the task's own state word) and counts
 * the tasks still running in one atomic counter.  Each task, as it
 * finishes, fires its node: it decrements the counter, notes a failure,
 * and wakes the waiter only when the condition has become true, so a
 * gather over n tasks costs O(n) and wakes its task once or twice, not n
 * times.
 *
 * Leaving the wait: every node that has not fired is taken off its task's
 * list (weft__remove_waiter); a node whose task has finished meanwhile is
 * about to fire, and we wait for its "fired" flag, the finisher's last
 * touch of the node and of the multi-wait.  The timer, if any, is disarmed
 * the same way (timer.c).  Nothing touches the wait after it returns.
 */
#include "sched/fault.h"
#include "sched/multi.h"

#include <ck_pr.h>
#include <stdlib.h>

#define WEFT_MULTI_STACK_NODES 8

bool weft__multi_counts_as_failure(int until, int rc)
{
    if (until == WEFT_UNTIL_FAILURE)
        return rc != 0;
    if (until == WEFT_UNTIL_EXCEPTION)
        return rc != 0 && rc != WEFT_ECANCELED;
    return false;
}

static bool satisfied(weft__multi_t *m)
{
    /* seq_cst: pairs with the waiter's reset of its wait state (see
     * weft__multi_wait): either it sees our count or we see it waiting. */
    size_t pending = atomic_load_explicit(&m->pending, memory_order_seq_cst);
    if (pending == 0)
        return true;
    int until = atomic_load_explicit(&m->until, memory_order_seq_cst);
    if (until == WEFT_UNTIL_FIRST)
        return pending < m->n;
    if (until == WEFT_UNTIL_FAILURE || until == WEFT_UNTIL_EXCEPTION)
        return atomic_load_explicit(&m->first_failed, memory_order_seq_cst) != m->n;
    return false;
}

/* tasks[i] has finished: note a failure (by the caller's rule, whatever
 * a cancel does to the wake-up condition). */
static void note_failure(weft__multi_t *m, size_t i)
{
    if (weft__multi_counts_as_failure(m->counts, m->tasks[i]->rc)) {
        size_t none = m->n;
        atomic_compare_exchange_strong_explicit(&m->first_failed, &none, i,
                                                memory_order_seq_cst, memory_order_relaxed);
    }
}

/* tasks[i] has finished: count it.  Returns whether the wait is over. */
static bool note_finished(weft__multi_t *m, size_t i)
{
    note_failure(m, i);
    atomic_fetch_sub_explicit(&m->pending, 1, memory_order_seq_cst);
    return satisfied(m);
}

void weft__multi_fire(weft__waiter_t *n)
{
    weft__multi_t *m = n->ctx;
    weft_task_t *owner = m->owner;
    if (note_finished(m, (size_t)(n - m->nodes)))
        weft__wake(owner);
    /* Release: our last touch of n and m; the waiter may free both once it
     * sees this. */
    atomic_store_explicit(&n->futex, 1, memory_order_release);
}

static bool fired(weft__waiter_t *n)
{
    return atomic_load_explicit(&n->futex, memory_order_acquire) != 0;
}

/*
 * The owner's cancel, just taken: end the wait, or forward it to every
 * unfinished task and wait for all.  If every task has finished, none
 * takes it (asyncio's gather and wait_for the same): the request goes back
 * to the owner, pending for its next suspension point, and the wait goes
 * on as before.  Returns whether the cancel was delivered here.  Called by
 * the owner, or by a canceller holding the owner's claim (so the owner
 * stays suspended meanwhile).
 */
static bool apply_cancel(weft__multi_t *m)
{
    if (m->on_cancel == WEFT_ON_CANCEL_RETURN) {
        m->cancelled = true;
        return true;
    }
    /* Wait for all before any task sees the cancel, so that the first one
     * it ends does not wake us for a failure. */
    int until = atomic_load_explicit(&m->until, memory_order_relaxed);
    atomic_store_explicit(&m->until, WEFT_UNTIL_ALL, memory_order_seq_cst);
    bool taken = false;
    for (size_t i = 0; i < m->n; i++)
        if (!fired(&m->nodes[i]) && weft__cancel(m->tasks[i]))
            taken = true;
    if (taken) {
        m->cancelled = true;
        return true;
    }
    weft__untake_cancel(m->owner);
    /* seq_cst: a finisher that read ALL is seen by our satisfied() after
     * this store (the callers look), or reads the restored condition. */
    atomic_store_explicit(&m->until, until, memory_order_seq_cst);
    return false;
}

bool weft__multi_interrupt(weft_task_t *t)
{
    if (!weft__take_cancel(t))
        return false;
    weft__multi_t *m = t->multi;
    bool delivered = apply_cancel(m);
    if (m->on_cancel == WEFT_ON_CANCEL_RETURN || satisfied(m))
        weft__wake(t); /* we hold the claim: queued when it is dropped */
    /* Refused: the finishers wake the owner, whose request is pending. */
    return delivered;
}

static void post_multi(weft__worker_t *w, void *arg)
{
    weft__arm(w, arg);
}

int weft__multi_wait(weft__worker_t *w, weft__multi_t *m, int64_t timeout_ms)
{
    weft_task_t *self = w->current;
    weft__waiter_t stack_nodes[WEFT_MULTI_STACK_NODES];
    m->nodes = m->n <= WEFT_MULTI_STACK_NODES ? stack_nodes
               : weft__fault_inject("multi-wait nodes") ? NULL
                                                         : malloc(m->n * sizeof *m->nodes);
    if (!m->nodes)
        return WEFT_ENOMEM;
    m->owner = self;
    m->cancelled = false;
    m->counts = atomic_load_explicit(&m->until, memory_order_relaxed);
    atomic_init(&m->pending, m->n);
    atomic_init(&m->first_failed, m->n);
    self->multi = m;
    atomic_store_explicit(&self->wait_kind, WEFT_WAIT_MULTI, memory_order_relaxed);
    atomic_store_explicit(&self->wait_rc, 0, memory_order_relaxed);
    atomic_store_explicit(&self->wstate, 0, memory_order_seq_cst);

    /* Tasks found finished are counted here and subtracted once: the
     * shared counter is touched once per task that finishes later, which
     * keeps a gather over many short tasks from bouncing its cache line.
     * Until then finishers see too many pending and leave the verdict to
     * the look at the top of the loop below. */
    size_t finished = 0;
    for (size_t i = 0; i < m->n; i++) {
        weft__waiter_t *n = &m->nodes[i];
        *n = (weft__waiter_t){.fire = weft__multi_fire, .ctx = m, .child = m->tasks[i]};
        atomic_init(&n->futex, 0);
        if (weft__add_waiter(m->tasks[i], n)) { /* finished already */
            atomic_store_explicit(&n->futex, 1, memory_order_relaxed);
            note_failure(m, i);
            finished++;
        }
    }
    if (finished)
        atomic_fetch_sub_explicit(&m->pending, finished, memory_order_seq_cst);

    bool timed = timeout_ms > 0 && timeout_ms != WEFT_FOREVER;
    if (timed)
        weft__task_timer_arm(self, weft__deadline_after(timeout_ms), WEFT_ETIMEDOUT);
    int rc = 0;
    for (;;) {
        /* A wait whose condition holds is no suspension point, like an
         * await of a finished task: a pending cancel waits for the next. */
        if (!satisfied(m) && weft__take_cancel(self))
            apply_cancel(m);
        if (satisfied(m) || (m->cancelled && m->on_cancel == WEFT_ON_CANCEL_RETURN))
            break;
        /* A forwarded cancel waits for every task, timeout or not. */
        bool forwarding = m->cancelled && m->on_cancel == WEFT_ON_CANCEL_FORWARD;
        int timer_rc = atomic_load_explicit(&self->wait_rc, memory_order_relaxed);
        if (!forwarding && (timeout_ms <= 0 || timer_rc != 0)) {
            rc = timeout_ms <= 0 ? WEFT_ETIMEDOUT : timer_rc;
            break;
        }
        weft__suspend(w, post_multi, self);
        w = weft__self();
        /* Ready for another round: reset the wait state first, then look
         * (satisfied() is seq_cst): a task finishing now either is seen
         * by the look or wakes the next round. */
        atomic_store_explicit(&self->wstate, 0, memory_order_seq_cst);
    }
    if (timed)
        weft__timer_disarm(&self->timer);
    for (size_t i = 0; i < m->n; i++) {
        weft__waiter_t *n = &m->nodes[i];
        if (!fired(n) && !weft__remove_waiter(m->tasks[i], n))
            while (!fired(n)) /* finished meanwhile: its node fires now */
                ck_pr_stall();
    }
    atomic_store_explicit(&self->wait_kind, WEFT_WAIT_NONE, memory_order_relaxed);
    self->multi = NULL;
    if (m->nodes != stack_nodes)
        free(m->nodes);
    m->nodes = NULL;
    if (m->cancelled && m->on_cancel == WEFT_ON_CANCEL_RETURN)
        return WEFT_ECANCELED;
    return rc;
}
