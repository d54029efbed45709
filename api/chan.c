/*
 * chan.c - weft_chan_*: bounded and unbuffered MPMC channels between tasks,
 * with close.
 *
 * A channel is a ring of `cap` item slots and two FIFO queues of waiting
 * tasks (sched/waitq.h), all under one spinlock.  Invariants, under the
 * lock: receivers wait only while the ring is empty and no sender waits;
 * senders wait only while the ring is full (len == cap, always so when
 * cap = 0) and no receiver waits.  So at most one queue is non-empty, and
 * an operation that finds a waiter on the other side completes at once:
 * a send hands its item straight to the oldest receiver, a receive takes
 * the oldest buffered item (or, unbuffered, the oldest sender's item) and
 * moves the oldest waiting sender's item into the freed slot.  Handing
 * items to waiters in queue order keeps both sides FIFO-fair and means a
 * woken waiter never has to retry.
 *
 * Cancel-safety comes from the wait protocol: a waiter is either still
 * queued (a cancel withdraws it: nothing was sent or received) or already
 * taken by a completer (the operation happened; the cancel stays pending).
 * A thread that is not a worker may send and receive too: it blocks on a
 * futex in its wait record instead of suspending.
 */
#include "sched/fault.h"
#include "sched/waitq.h"

#include <stdlib.h>

struct weft_chan {
    atomic_flag lock;  /* guards everything below */
    bool closed;       /* weft_chan_close was called */
    size_t cap;        /* ring slots; 0 = unbuffered */
    size_t head;       /* index of the oldest buffered item */
    size_t len;        /* buffered items */
    weft__wq_t recvq;  /* receivers waiting for an item */
    weft__wq_t sendq;  /* senders waiting for room (rec->item: their item) */
    void *ring[];      /* cap slots */
};

static const weft__wait_ops_t send_ops = {
    .interrupt = weft__wq_interrupt,
    .what = "channel send",
};

static const weft__wait_ops_t recv_ops = {
    .interrupt = weft__wq_interrupt,
    .what = "channel receive",
};

weft_chan_t *weft_chan_new(size_t capacity)
{
    if (capacity > (SIZE_MAX - sizeof(weft_chan_t)) / sizeof(void *)) {
        weft__set_last_error(WEFT_EINVAL);
        return NULL;
    }
    weft_chan_t *c =
        weft__fault_inject("channel") ? NULL : malloc(sizeof *c + capacity * sizeof(void *));
    if (!c) {
        weft__set_last_error(WEFT_ENOMEM);
        return NULL;
    }
    atomic_flag_clear_explicit(&c->lock, memory_order_relaxed);
    c->closed = false;
    c->cap = capacity;
    c->head = 0;
    c->len = 0;
    c->recvq = (weft__wq_t){NULL, NULL};
    c->sendq = (weft__wq_t){NULL, NULL};
    return c;
}

void weft_chan_free(weft_chan_t *c)
{
    free(c);
}

/* Under the lock. */
static void ring_put(weft_chan_t *c, void *item)
{
    size_t i = c->head + c->len;
    c->ring[i < c->cap ? i : i - c->cap] = item;
    c->len++;
}

/* Under the lock, with len > 0. */
static void *ring_take(weft_chan_t *c)
{
    void *item = c->ring[c->head];
    c->head = c->head + 1 < c->cap ? c->head + 1 : 0;
    c->len--;
    return item;
}

/*
 * The part of a send that never waits, under the lock.  Returns 0 when the
 * item went to a receiver (*woken: wake it once the lock is dropped) or
 * into the ring, WEFT_ECLOSED, or WEFT_EAGAIN when the sender must wait.
 */
static int send_now(weft_chan_t *c, void *item, weft__wq_rec_t **woken)
{
    if (c->closed)
        return WEFT_ECLOSED;
    weft__wq_rec_t *r = weft__wq_pop(&c->recvq);
    if (r) {
        r->item = item;
        *woken = r;
        return 0;
    }
    if (c->len < c->cap) {
        ring_put(c, item);
        return 0;
    }
    return WEFT_EAGAIN;
}

/*
 * The part of a receive that never waits, under the lock.  Returns 0 with
 * the item in *item (a sender whose item was taken or moved into the ring
 * goes to *woken), WEFT_ECLOSED once the channel is closed and drained, or
 * WEFT_EAGAIN when the receiver must wait.
 */
static int recv_now(weft_chan_t *c, void **item, weft__wq_rec_t **woken)
{
    if (c->len > 0) {
        *item = ring_take(c);
        weft__wq_rec_t *s = weft__wq_pop(&c->sendq);
        if (s) {
            ring_put(c, s->item);
            *woken = s;
        }
        return 0;
    }
    weft__wq_rec_t *s = weft__wq_pop(&c->sendq);
    if (s) {
        *item = s->item;
        *woken = s;
        return 0;
    }
    return c->closed ? WEFT_ECLOSED : WEFT_EAGAIN;
}

int weft_chan_send(weft_chan_t *c, void *item)
{
    if (!c)
        return WEFT_EINVAL;
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    weft__wq_rec_t *woken = NULL;
    weft__spin_lock(&c->lock);
    int rc = send_now(c, item, &woken);
    if (rc != WEFT_EAGAIN) {
        weft__spin_unlock(&c->lock);
        if (woken)
            weft__wq_wake(woken, 0);
        if (self)
            weft__budget_spend(w); /* done without waiting */
        return rc;
    }
    weft__wq_rec_t me = {.item = item};
    return weft__wq_block(w, self, &c->lock, &c->sendq, &me, &send_ops);
}

int weft_chan_recv(weft_chan_t *c, void **item)
{
    if (!c || !item)
        return WEFT_EINVAL;
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    weft__wq_rec_t *woken = NULL;
    weft__spin_lock(&c->lock);
    int rc = recv_now(c, item, &woken);
    if (rc != WEFT_EAGAIN) {
        weft__spin_unlock(&c->lock);
        if (woken)
            weft__wq_wake(woken, 0);
        if (self)
            weft__budget_spend(w); /* done without waiting */
        return rc;
    }
    weft__wq_rec_t me = {.item = NULL};
    rc = weft__wq_block(w, self, &c->lock, &c->recvq, &me, &recv_ops);
    if (rc == 0)
        *item = me.item;
    return rc;
}

int weft_chan_try_send(weft_chan_t *c, void *item)
{
    if (!c)
        return WEFT_EINVAL;
    weft__wq_rec_t *woken = NULL;
    weft__spin_lock(&c->lock);
    int rc = send_now(c, item, &woken);
    weft__spin_unlock(&c->lock);
    if (woken)
        weft__wq_wake(woken, 0);
    return rc;
}

int weft_chan_try_recv(weft_chan_t *c, void **item)
{
    if (!c || !item)
        return WEFT_EINVAL;
    weft__wq_rec_t *woken = NULL;
    weft__spin_lock(&c->lock);
    int rc = recv_now(c, item, &woken);
    weft__spin_unlock(&c->lock);
    if (woken)
        weft__wq_wake(woken, 0);
    return rc;
}

int weft_chan_close(weft_chan_t *c)
{
    if (!c)
        return WEFT_EINVAL;
    weft__spin_lock(&c->lock);
    if (c->closed) {
        weft__spin_unlock(&c->lock);
        return WEFT_ECLOSED;
    }
    c->closed = true;
    /* Receivers wait only on an empty ring: nothing is left for them. */
    weft__wq_rec_t *receivers = weft__wq_take_all(&c->recvq);
    weft__wq_rec_t *senders = weft__wq_take_all(&c->sendq);
    weft__spin_unlock(&c->lock);
    weft__wq_wake_list(receivers, WEFT_ECLOSED);
    weft__wq_wake_list(senders, WEFT_ECLOSED);
    return 0;
}

size_t weft_chan_len(weft_chan_t *c)
{
    if (!c)
        return 0;
    weft__spin_lock(&c->lock);
    size_t n = c->len;
    weft__spin_unlock(&c->lock);
    return n;
}
