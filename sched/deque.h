/*
 * deque.h - the per-worker work-stealing deque: Chase and Lev's dynamic
 * circular deque (SPAA 2005) on a fixed ring, with the C11 memory orders of
 * Le, Pop, Cohen and Zappa Nardelli, "Correct and Efficient Work-Stealing
 * for Weak Memory Models" (PPoPP 2013), Figure 1.
 *
 * Overview: the owner pushes and pops at bottom (LIFO, no atomic
 * read-modify-write unless one element is left); thieves take from top
 * (FIFO) with a CAS on top.  The ring never grows: when it is full the owner
 * moves half of it to the injector (Tokio's design), so no old buffer ever
 * has to be reclaimed.
 *
 * Invariants: top only increases, and only by CAS; bottom is written by the
 * owner alone; the elements live in slot[i % WEFT_DEQUE_SIZE] for
 * top <= i < bottom; the owner writes a slot only when bottom - top <
 * WEFT_DEQUE_SIZE, so a slot a thief has read but not yet claimed is never
 * overwritten before its CAS on top fails.
 *
 * Memory ordering, by the paper's lines (each use below says which):
 *  - push stores bottom with release (the paper: release fence, then a
 *    relaxed store); a thief's acquire load of bottom pairs with it, so the
 *    task's fields written before the push are visible to the thief.  We
 *    store bottom with release in pop too, so ThreadSanitizer, which does
 *    not model fences, also sees that edge.
 *  - pop: bottom-1 is stored before top is read, with a seq_cst fence in
 *    between; steal reads top, then (seq_cst fence) bottom.  The two fences
 *    make owner and thief agree on who takes the last element: at least one
 *    of them sees the other's write.
 *  - the CAS on top is seq_cst, as in the paper, when the last element is
 *    contended, and in steal.
 */
#ifndef WEFT_DEQUE_H
#define WEFT_DEQUE_H

#include <stdatomic.h>
#include <stdint.h>

#define WEFT_DEQUE_SIZE 256 /* a power of two */

struct weft_task;

typedef struct weft__deque {
    _Alignas(64) _Atomic int64_t top;
    _Alignas(64) _Atomic int64_t bottom;
    _Atomic(struct weft_task *) slot[WEFT_DEQUE_SIZE];
} weft__deque_t;

#define WEFT__SLOT(d, i) (&(d)->slot[(uint64_t)(i) & (WEFT_DEQUE_SIZE - 1)])

static inline void weft__deque_init(weft__deque_t *d)
{
    atomic_init(&d->top, 0);
    atomic_init(&d->bottom, 0);
    for (int i = 0; i < WEFT_DEQUE_SIZE; i++)
        atomic_init(&d->slot[i], NULL);
}

/* Owner: pushes t at bottom; 0 when the ring is full. */
static inline int weft__deque_push(weft__deque_t *d, struct weft_task *t)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    /* Acquire: pairs with a thief's CAS on top, so its read of the slot is
     * done before we reuse the slot. */
    int64_t top = atomic_load_explicit(&d->top, memory_order_acquire);
    if (b - top >= WEFT_DEQUE_SIZE)
        return 0;
    atomic_store_explicit(WEFT__SLOT(d, b), t, memory_order_relaxed);
    /* Release: publishes the slot and the task to thieves (see header). */
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    return 1;
}

/* Owner: the task at bottom, without taking it, or NULL. */
static inline struct weft_task *weft__deque_peek(weft__deque_t *d)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t top = atomic_load_explicit(&d->top, memory_order_relaxed);
    if (b <= top)
        return NULL;
    return atomic_load_explicit(WEFT__SLOT(d, b - 1), memory_order_relaxed);
}

/* Owner: takes the task at bottom (LIFO), or NULL. */
static inline struct weft_task *weft__deque_pop(weft__deque_t *d)
{
    /* Empty: thieves only raise top, and only we raise bottom, so a top
     * already at bottom stays there; no need to pay for the fence. */
    if (atomic_load_explicit(&d->top, memory_order_relaxed) >=
        atomic_load_explicit(&d->bottom, memory_order_relaxed))
        return NULL;
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
    atomic_store_explicit(&d->bottom, b, memory_order_relaxed);
    /* seq_cst fence: orders our store of bottom before our load of top,
     * against the thieves' fence between their loads of top and bottom. */
    atomic_thread_fence(memory_order_seq_cst);
    int64_t top = atomic_load_explicit(&d->top, memory_order_relaxed);
    struct weft_task *t = NULL;
    if (top <= b) {
        t = atomic_load_explicit(WEFT__SLOT(d, b), memory_order_relaxed);
        if (top == b) {
            /* The last element: race the thieves for it with a CAS on top. */
            if (!atomic_compare_exchange_strong_explicit(&d->top, &top, top + 1,
                                                         memory_order_seq_cst,
                                                         memory_order_relaxed))
                t = NULL;
            atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
        }
    } else {
        atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    }
    return t;
}

/* Thief (or the owner, for FIFO order): takes the task at top, or NULL. */
static inline struct weft_task *weft__deque_steal(weft__deque_t *d)
{
    /* Acquire: pairs with the CAS of whoever advanced top before us. */
    int64_t top = atomic_load_explicit(&d->top, memory_order_acquire);
    /* seq_cst fence: pairs with the fence in pop (see header). */
    atomic_thread_fence(memory_order_seq_cst);
    /* Acquire: pairs with the release store of bottom in push. */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_acquire);
    if (top >= b)
        return NULL;
    struct weft_task *t = atomic_load_explicit(WEFT__SLOT(d, top), memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(&d->top, &top, top + 1,
                                                 memory_order_seq_cst, memory_order_relaxed))
        return NULL;
    return t;
}

/* Anyone: an estimate of whether the deque holds tasks. */
static inline int weft__deque_nonempty(weft__deque_t *d)
{
    return atomic_load_explicit(&d->bottom, memory_order_acquire) >
           atomic_load_explicit(&d->top, memory_order_acquire);
}

/*
 * Owner, when push found the ring full: claims the oldest half with one CAS
 * on top and links it through link() into a chain for the injector.
 * Returns the number claimed (0 if thieves raced us; then retry the push).
 */
static inline int weft__deque_take_half(weft__deque_t *d, struct weft_task **out)
{
    int64_t top = atomic_load_explicit(&d->top, memory_order_acquire);
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int n = (int)((b - top) / 2);
    for (int i = 0; i < n; i++)
        out[i] = atomic_load_explicit(WEFT__SLOT(d, top + i), memory_order_relaxed);
    if (n == 0 || !atomic_compare_exchange_strong_explicit(&d->top, &top, top + n,
                                                           memory_order_seq_cst,
                                                           memory_order_relaxed))
        return 0;
    return n;
}

#endif
