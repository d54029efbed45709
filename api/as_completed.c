/*
 * as_completed.c - asyncio.as_completed: the tasks in the order they
 * finish.
 *
 * The iterator registers one node on each task for its whole life.  A task
 * finishing puts its node on the iterator's queue (an MPSC queue: the
 * finishers produce, the owner consumes) and, if the owner is waiting in
 * weft_as_completed_next, wakes it.  "Is the owner waiting" is a word the
 * owner sets to WAITING before it suspends; a finisher CASes it from
 * WAITING to WAKING, wakes the owner and sets it back to IDLE, and the
 * owner, leaving the wait, CASes WAITING to IDLE or waits out a WAKING: so
 * a wake-up only ever lands in the wait it was meant for.
 */
#include "sched/fault.h"
#include "sched/internal.h"

#include <ck_pr.h>
#include <stdlib.h>

enum { AC_IDLE, AC_WAITING, AC_WAKING };

struct weft_as_completed {
    weft_task_t *owner;
    weft_task_t *const *tasks;
    size_t n, returned;
    weft__waiter_t *nodes;
    weft__mpsc_t done;           /* fired nodes, in the order they fired */
    _Atomic uint32_t waiting;    /* AC_* */
    uint64_t deadline;           /* of the overall timeout, or 0 */
};

static void on_finished(weft__waiter_t *n)
{
    weft_as_completed_t *it = n->ctx;
    weft__mpsc_push(&it->done, &n->qnode);
    uint32_t waiting = AC_WAITING;
    /* seq_cst: pairs with the owner's store of WAITING and its look at the
     * queue: either it sees our node or we see it waiting. */
    if (atomic_compare_exchange_strong_explicit(&it->waiting, &waiting, AC_WAKING,
                                                memory_order_seq_cst, memory_order_relaxed)) {
        weft__wake(it->owner);
        atomic_store_explicit(&it->waiting, AC_IDLE, memory_order_release);
    }
    /* Release: our last touch; weft_as_completed_free may go on. */
    atomic_store_explicit(&n->futex, 1, memory_order_release);
}

weft_as_completed_t *weft_as_completed_new(weft_task_t *const *tasks, size_t n,
                                           int64_t timeout_ms)
{
    WEFT_CHECK_TASKS(tasks, n);
    weft__worker_t *w = weft__self();
    int rc = 0;
    weft_as_completed_t *it = NULL;
    if (!w || !w->current)
        rc = WEFT_EPERM;
    else if (n == 0 || !tasks)
        rc = WEFT_EINVAL;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (!tasks[i])
            rc = WEFT_EINVAL;
    if (rc == 0 && (weft__fault_inject("as_completed") || !(it = calloc(1, sizeof *it))))
        rc = WEFT_ENOMEM;
    if (rc == 0 && (weft__fault_inject("as_completed nodes") ||
                    !(it->nodes = calloc(n, sizeof *it->nodes)))) {
        free(it);
        rc = WEFT_ENOMEM;
    }
    if (rc != 0) {
        weft__set_last_error(rc);
        return NULL;
    }
    it->owner = w->current;
    it->tasks = tasks;
    it->n = n;
    weft__mpsc_init(&it->done);
    atomic_init(&it->waiting, AC_IDLE);
    if (timeout_ms != WEFT_FOREVER)
        it->deadline = weft__deadline_after(timeout_ms);
    for (size_t i = 0; i < n; i++) {
        weft__waiter_t *node = &it->nodes[i];
        node->ctx = it;
        node->child = tasks[i];
        node->fire = on_finished;
        atomic_init(&node->futex, 0);
        if (weft__add_waiter(tasks[i], node))
            on_finished(node); /* finished already */
    }
    return it;
}

static void post_next(weft__worker_t *w, void *arg)
{
    weft__arm(w, arg);
}

/* Waits for a node on the queue, the deadline or a cancel. */
static int wait_for_one(weft__worker_t *w, weft_as_completed_t *it)
{
    weft_task_t *self = w->current;
    atomic_store_explicit(&self->wait_kind, WEFT_WAIT_NEXT, memory_order_relaxed);
    atomic_store_explicit(&self->wait_rc, 0, memory_order_relaxed);
    atomic_store_explicit(&self->wstate, 0, memory_order_seq_cst);
    atomic_store_explicit(&it->waiting, AC_WAITING, memory_order_seq_cst);
    int rc = 0;
    if (weft__mpsc_empty(&it->done)) {
        if (it->deadline)
            weft__task_timer_arm(self, it->deadline, WEFT_ETIMEDOUT);
        weft__suspend(w, post_next, self);
        if (it->deadline)
            weft__timer_disarm(&self->timer);
        rc = atomic_load_explicit(&self->wait_rc, memory_order_relaxed);
    }
    uint32_t waiting = AC_WAITING;
    while (!atomic_compare_exchange_weak_explicit(&it->waiting, &waiting, AC_IDLE,
                                                  memory_order_acquire, memory_order_relaxed)) {
        if (waiting == AC_IDLE)
            break; /* a finisher woke us and is done */
        waiting = AC_WAITING;
        ck_pr_stall();
    }
    atomic_store_explicit(&self->wait_kind, WEFT_WAIT_NONE, memory_order_relaxed);
    return rc;
}

int weft_as_completed_next(weft_as_completed_t *it, weft_task_t **t)
{
    if (!it || !t)
        return WEFT_EINVAL;
    weft__worker_t *w = weft__self();
    if (!w || w->current != it->owner)
        return WEFT_EPERM;
    for (;;) {
        if (it->returned == it->n)
            return 0;
        weft__mpsc_node_t *q = weft__mpsc_pop(&it->done);
        if (q) {
            weft__waiter_t *n = (weft__waiter_t *)((char *)q - offsetof(weft__waiter_t, qnode));
            *t = n->child;
            it->returned++;
            return 1;
        }
        if (!weft__mpsc_empty(&it->done))
            continue; /* a finisher is mid-push */
        if (weft__take_cancel(it->owner))
            return WEFT_ECANCELED;
        if (it->deadline && weft__now_ns() >= it->deadline)
            return WEFT_ETIMEDOUT;
        int rc = wait_for_one(w, it);
        w = weft__self();
        /* WEFT_ENOMEM: the I/O thread had no room for the deadline. */
        if ((rc == WEFT_ETIMEDOUT || rc == WEFT_ENOMEM) && weft__mpsc_empty(&it->done))
            return rc;
    }
}

void weft_as_completed_free(weft_as_completed_t *it)
{
    if (!it)
        return;
    for (size_t i = 0; i < it->n; i++) {
        weft__waiter_t *n = &it->nodes[i];
        if (!atomic_load_explicit(&n->futex, memory_order_acquire) &&
            !weft__remove_waiter(it->tasks[i], n))
            while (!atomic_load_explicit(&n->futex, memory_order_acquire))
                ck_pr_stall(); /* finished meanwhile: its node fires now */
    }
    free(it->nodes);
    free(it);
}
