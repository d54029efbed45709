/*
 * waitq.h - what the task-aware wait objects (api/chan.c, api/sync.c)
 * share: a spinlock per object, a FIFO of wait records kept on the waiting
 * tasks' own stacks, and the steps to wait on a queue, to complete a wait
 * and to withdraw one when the waiter is cancelled.
 *
 * A record is queued under its object's lock and taken off exactly once:
 * by a completer, which stores the outcome in the record (or in the object)
 * and wakes the task with weft__wq_wake, or by the cancel hook, which wakes
 * it with WEFT_ECANCELED.  Whoever unlinks the record owns the wake-up; the
 * record stays valid until then because its task stays suspended.  The
 * task's wait_obj points at the record, not at the object, so the hook
 * finds both the queue and the lock through it.
 *
 * A waiter may also be a thread that is not a worker (weft__wq_wait_thread):
 * its record has no task, and the completer wakes it through a futex word
 * in the record instead.  Such a wait cannot be cancelled.
 *
 * Critical sections are a few loads and stores and never suspend, so the
 * lock is a spinlock; waking happens after it is dropped.
 */
#ifndef WEFT_WAITQ_H
#define WEFT_WAITQ_H

#include "sched/internal.h"

#include <ck_pr.h>

struct weft__wq;

/* One waiting task, on its stack. */
typedef struct weft__wq_rec {
    struct weft__wq_rec *next;  /* towards the tail */
    struct weft__wq_rec *prev;  /* towards the head */
    struct weft__wq *q;         /* the queue it is on; NULL once taken off */
    atomic_flag *lock;          /* its object's lock, for the cancel hook */
    weft_task_t *task;          /* the waiting task; NULL for a thread */
    void *item;                 /* a channel's item: to send, or received */
    int rc;                     /* a thread's outcome, set before futex */
    _Atomic uint32_t futex;     /* a thread's: 1 once its wait has ended */
} weft__wq_rec_t;

/* Waiters, oldest first.  Zero-filled is empty. */
typedef struct weft__wq {
    weft__wq_rec_t *head;
    weft__wq_rec_t *tail;
} weft__wq_t;

static inline void weft__spin_lock(atomic_flag *l)
{
    /* Acquire: pairs with the release in weft__spin_unlock, so the holder
     * sees the object and its queues as the previous holder left them. */
    while (atomic_flag_test_and_set_explicit(l, memory_order_acquire))
        ck_pr_stall();
}

static inline void weft__spin_unlock(atomic_flag *l)
{
    /* Release: publishes this holder's changes to the next holder. */
    atomic_flag_clear_explicit(l, memory_order_release);
}

static inline bool weft__wq_empty(const weft__wq_t *q)
{
    return q->head == NULL;
}

static inline void weft__wq_push(weft__wq_t *q, weft__wq_rec_t *r)
{
    r->q = q;
    r->next = NULL;
    r->prev = q->tail;
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
}

static inline void weft__wq_unlink(weft__wq_rec_t *r)
{
    weft__wq_t *q = r->q;
    if (r->prev)
        r->prev->next = r->next;
    else
        q->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        q->tail = r->prev;
    r->q = NULL;
}

/* The oldest waiter, taken off the queue; NULL if there is none. */
static inline weft__wq_rec_t *weft__wq_pop(weft__wq_t *q)
{
    weft__wq_rec_t *r = q->head;
    if (r)
        weft__wq_unlink(r);
    return r;
}

/* Every waiter, taken off the queue, as a list linked by next. */
static inline weft__wq_rec_t *weft__wq_take_all(weft__wq_t *q)
{
    weft__wq_rec_t *first = q->head;
    for (weft__wq_rec_t *r = first; r; r = r->next)
        r->q = NULL;
    q->head = q->tail = NULL;
    return first;
}

/*
 * Ends r's wait with rc, after the lock is dropped.  r belongs to a task
 * that may run (and leave the frame r lives in) as soon as it is woken:
 * nothing touches r afterwards.
 */
static inline void weft__wq_wake(weft__wq_rec_t *r, int rc)
{
    weft_task_t *t = r->task;
    if (WEFT_LIKELY(t != NULL)) {
        /* Relaxed: weft__wake's release publishes it with the record. */
        atomic_store_explicit(&t->wait_rc, rc, memory_order_relaxed);
        weft__wake(t);
        return;
    }
    r->rc = rc;
    /* Release: pairs with the waiting thread's acquire load, so it sees rc
     * and the item.  From here the record may be gone: a futex wake on a
     * stale address is harmless (every futex waiter re-checks its word). */
    atomic_store_explicit(&r->futex, 1, memory_order_release);
    weft__futex_wake(&r->futex);
}

/* Wakes every record of a list from weft__wq_take_all with rc. */
static inline void weft__wq_wake_list(weft__wq_rec_t *r, int rc)
{
    while (r) {
        weft__wq_rec_t *next = r->next; /* r dies once its task runs */
        weft__wq_wake(r, rc);
        r = next;
    }
}

/*
 * Queues the running task on q and suspends it.  Called with the object's
 * lock held; returns with it dropped.  Returns the completer's code (0, or
 * what it passed to weft__wq_wake) or WEFT_ECANCELED when a cancel came
 * first (then nothing was queued, or the hook withdrew the record).
 */
static inline int weft__wq_wait(weft__worker_t *w, weft_task_t *self, atomic_flag *lock,
                                weft__wq_t *q, weft__wq_rec_t *r,
                                const weft__wait_ops_t *ops)
{
    int rc = weft__wait_begin(self, ops, r);
    if (rc != 0) {
        weft__spin_unlock(lock);
        return rc;
    }
    r->task = self;
    r->lock = lock;
    weft__wq_push(q, r);
    weft__spin_unlock(lock);
    return weft__wait_suspend(w, self);
}

/*
 * Queues the calling thread, which is not a worker, on q and blocks it
 * until a completer ends the wait.  Called with the object's lock held;
 * returns with it dropped.  Returns what the completer passed to
 * weft__wq_wake.  A worker thread must never block here: it would stop
 * every task queued behind it, possibly the one that would wake it.
 */
static inline int weft__wq_wait_thread(atomic_flag *lock, weft__wq_t *q, weft__wq_rec_t *r)
{
    r->task = NULL;
    r->lock = lock;
    atomic_init(&r->futex, 0);
    weft__wq_push(q, r);
    weft__spin_unlock(lock);
    /* Acquire: pairs with the completer's release store in weft__wq_wake. */
    while (!atomic_load_explicit(&r->futex, memory_order_acquire))
        weft__futex_wait(&r->futex, 0);
    return r->rc;
}

/*
 * Waits on q: as the running task `self` (suspending it), or, called from a
 * thread that is not a worker (self and w NULL), by blocking the thread.
 * Called with the object's lock held; returns with it dropped.
 */
static inline int weft__wq_block(weft__worker_t *w, weft_task_t *self, atomic_flag *lock,
                                 weft__wq_t *q, weft__wq_rec_t *r,
                                 const weft__wait_ops_t *ops)
{
    if (self)
        return weft__wq_wait(w, self, lock, q, r, ops);
    if (w) { /* a worker between tasks: never blocked */
        weft__spin_unlock(lock);
        return WEFT_EPERM;
    }
    return weft__wq_wait_thread(lock, q, r);
}

/*
 * The cancel hook of every wait object (weft__wait_ops_t.interrupt): if the
 * record is still queued, withdraw it and end the wait cancelled; if a
 * completer took it, its wake-up ends the wait and the cancel stays
 * pending.
 */
static inline void weft__wq_interrupt(weft_task_t *t)
{
    weft__wq_rec_t *r = t->wait_obj;
    weft__spin_lock(r->lock);
    bool queued = r->q != NULL;
    if (queued)
        weft__wq_unlink(r);
    weft__spin_unlock(r->lock);
    if (queued)
        weft__wq_wake(r, WEFT_ECANCELED);
}

#endif /* WEFT_WAITQ_H */
