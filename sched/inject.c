/*
 * inject.c - the injector: the shared queue for tasks any worker may run:
 * tasks not started yet (submitted from outside, or the overflow of full
 * deques) and started tasks spawned with WEFT_MIGRATE that were woken or
 * yielded.  Started tasks without it go to their own worker's inbox
 * (worker.c), never here.
 *
 * Two lanes, woken tasks and fresh ones (see weft__inject_pop).  Producers
 * never lock: a push is one atomic exchange (mpsc.h), so foreign
 * submitters do not queue behind each other on a lock.  Consumers are the
 * workers; they take turns through a try-lock (a worker that finds it taken
 * goes on with other sources), and a worker that gets the fresh lane's lock
 * moves a batch into its own deque, where the others can steal it.
 */
#include "sched/internal.h"

#include <stdlib.h>

#define WEFT_INJECT_BATCH 32

void weft__inject_init(weft__inject_t *in)
{
    weft__mpsc_init(&in->woken.q);
    atomic_flag_clear(&in->woken.lock);
    weft__mpsc_init(&in->fresh.q);
    atomic_flag_clear(&in->fresh.lock);
}

void weft__inject_push(struct weft_sched *s, weft_task_t *first, weft_task_t *last)
{
    weft__mpsc_push_chain(&s->inject.fresh.q, &first->qnode, &last->qnode);
    weft__park_notify(s);
}

/* Set on the I/O thread while it fires a batch of timers: the wake-ups
 * are queued at once and the workers notified once, after the batch. */
static _Thread_local bool notify_deferred, notify_due;

void weft__inject_wake(struct weft_sched *s, weft_task_t *t)
{
    weft__mpsc_push(&s->inject.woken.q, &t->qnode);
    if (notify_deferred)
        notify_due = true;
    else
        weft__park_notify(s);
}

void weft__inject_defer_notify(void)
{
    notify_deferred = true;
}

void weft__inject_flush_notify(struct weft_sched *s)
{
    notify_deferred = false;
    if (notify_due) {
        notify_due = false;
        weft__park_notify(s);
    }
}

int weft__inject_empty(struct weft_sched *s)
{
    return weft__mpsc_empty(&s->inject.woken.q) && weft__mpsc_empty(&s->inject.fresh.q);
}

/* Takes a task from a lane.  From the fresh lane (tasks not started) a
 * batch more goes to our deque, where thieves can take them, and the task
 * returned is claimed; the woken lane holds started tasks that may
 * migrate, which never go to a deque: one at a time. */
static weft_task_t *lane_pop(weft__worker_t *w, weft__lane_t *in, bool fresh)
{
    if (weft__mpsc_empty(&in->q))
        return NULL;
    /* Acquire: pairs with the release clear of the previous consumer, which
     * hands over the queue's consumer-side state (tail). */
    if (atomic_flag_test_and_set_explicit(&in->lock, memory_order_acquire))
        return NULL;
    weft__mpsc_node_t *n = weft__mpsc_pop(&in->q);
    weft_task_t *first = n ? weft__task_of_qnode(n) : NULL;
    int moved = 0;
    while (fresh && first && moved < WEFT_INJECT_BATCH) {
        /* Keep half the ring free so a batch never overflows back here. */
        int64_t used = atomic_load_explicit(&w->deque.bottom, memory_order_relaxed) -
                       atomic_load_explicit(&w->deque.top, memory_order_relaxed);
        if (used >= WEFT_DEQUE_SIZE / 2 || !(n = weft__mpsc_pop(&in->q)))
            break;
        weft_task_t *t = weft__task_of_qnode(n);
        atomic_store_explicit(&t->queued_on, w, memory_order_relaxed);
        weft__deque_push(&w->deque, t);
        moved++;
    }
    int more = !weft__mpsc_empty(&in->q);
    atomic_flag_clear_explicit(&in->lock, memory_order_release);
    if (first)
        weft__stat_inc(&w->n_inject);
    if (moved || more)
        weft__park_notify(w->sched);
    /* Nobody claims a task in the injector (only a deque's own worker
     * claims from it, and an entry moved here was unclaimed): ours. */
    if (fresh && first && !weft__claim(first, 0))
        abort();
    return first;
}

/*
 * Woken tasks come before fresh ones: they hold stacks and often finish
 * soon, while fresh ones only start work.  fresh_first (every 61st
 * decision) keeps a stream of wake-ups from starving fresh tasks.
 */
weft_task_t *weft__inject_pop(weft__worker_t *w, bool fresh_first)
{
    weft__inject_t *in = &w->sched->inject;
    weft_task_t *t = lane_pop(w, fresh_first ? &in->fresh : &in->woken, fresh_first);
    return t ? t : lane_pop(w, fresh_first ? &in->woken : &in->fresh, !fresh_first);
}
