/*
 * mpsc.h - an intrusive multi-producer, single-consumer FIFO queue (after
 * Dmitry Vyukov's node-based MPSC design).  Used by the injector (whose
 * consumers take turns through a try-lock) and by the I/O thread's inbox.
 *
 * Overview: producers swap themselves into head with one atomic exchange
 * and then link the previous head to themselves; the consumer walks from
 * tail.  A stub node lets the last real node be taken.  A producer that has
 * swapped head but not yet linked leaves a short window in which the queue
 * is not empty but pop finds nothing: pop returns NULL, and weft__mpsc_empty
 * (which reads head) still says "not empty", so an idle worker keeps looking
 * instead of sleeping.
 *
 * Memory ordering: the exchange on head is acq_rel (release publishes the
 * node's contents and its NULL next to whoever swaps after it; acquire makes
 * the previous node's contents visible to us before we link it); the link
 * store is release and the consumer's loads of next are acquire: that edge
 * carries each node's contents from producer to consumer.
 */
#ifndef WEFT_MPSC_H
#define WEFT_MPSC_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct weft__mpsc_node {
    _Atomic(struct weft__mpsc_node *) next;
} weft__mpsc_node_t;

typedef struct weft__mpsc {
    _Alignas(64) _Atomic(weft__mpsc_node_t *) head; /* producers' end */
    _Alignas(64) _Atomic(weft__mpsc_node_t *) tail; /* consumer's end */
    weft__mpsc_node_t stub;
} weft__mpsc_t;

static inline void weft__mpsc_init(weft__mpsc_t *q)
{
    atomic_init(&q->stub.next, NULL);
    atomic_init(&q->head, &q->stub);
    atomic_init(&q->tail, &q->stub);
}

/* Appends the chain first..last (already linked through next). */
static inline void weft__mpsc_push_chain(weft__mpsc_t *q, weft__mpsc_node_t *first,
                                         weft__mpsc_node_t *last)
{
    atomic_store_explicit(&last->next, NULL, memory_order_relaxed);
    weft__mpsc_node_t *prev = atomic_exchange_explicit(&q->head, last, memory_order_acq_rel);
    /* Release: pairs with the consumer's acquire load of prev->next. */
    atomic_store_explicit(&prev->next, first, memory_order_release);
}

static inline void weft__mpsc_push(weft__mpsc_t *q, weft__mpsc_node_t *n)
{
    weft__mpsc_push_chain(q, n, n);
}

/* True when nothing has been pushed that pop has not returned.  Both
 * ends must sit on the stub: pop re-pushes the stub behind the last node,
 * and a producer's chain may land before it, leaving head on the stub with
 * nodes still between tail and head. */
static inline int weft__mpsc_empty(weft__mpsc_t *q)
{
    return atomic_load_explicit(&q->head, memory_order_acquire) == &q->stub &&
           atomic_load_explicit(&q->tail, memory_order_acquire) == &q->stub;
}

static inline void weft__mpsc_set_tail(weft__mpsc_t *q, weft__mpsc_node_t *n)
{
    /* Release: others read tail only in weft__mpsc_empty. */
    atomic_store_explicit(&q->tail, n, memory_order_release);
}

/* Consumer only.  NULL when empty or while a producer is mid-push. */
static inline weft__mpsc_node_t *weft__mpsc_pop(weft__mpsc_t *q)
{
    weft__mpsc_node_t *tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    weft__mpsc_node_t *next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (tail == &q->stub) {
        if (next == NULL)
            return NULL;
        weft__mpsc_set_tail(q, next);
        tail = next;
        next = atomic_load_explicit(&next->next, memory_order_acquire);
    }
    if (next != NULL) {
        weft__mpsc_set_tail(q, next);
        return tail;
    }
    if (tail != atomic_load_explicit(&q->head, memory_order_acquire))
        return NULL; /* a producer swapped head and has not linked yet */
    weft__mpsc_push(q, &q->stub);
    next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (next != NULL) {
        weft__mpsc_set_tail(q, next);
        return tail;
    }
    return NULL;
}

#endif
