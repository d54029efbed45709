/*
 * parallel_for.c - weft_parallel_for: a range split in halves over the
 * work-stealing workers, as oneTBB's parallel_for and Cilk's loops do.
 *
 * Each piece spawns its upper half, recurses on the lower one and then
 * awaits the upper half.  The spawned half sits on top of the worker's
 * deque, so unless an idle worker has stolen it, the await runs it inline:
 * a range costs about one task per leaf and context switches only where
 * work was stolen.  The recursion is at most 64 levels deep (one per
 * halving of a 64-bit size).
 *
 * The caller awaits a root piece, so its cancel reaches the tree through
 * weft_await's forwarding: a piece whose task was asked to cancel raises
 * the loop's flag, and from then on every piece stops splitting, skips the
 * bodies it has not started and cancels its spawned half before awaiting
 * it (a half that has not started never runs).
 */
#include "sched/internal.h"

#include <stdbool.h>

/* Leaves per worker when the caller leaves the grain to us: enough for
 * stealing to even out unequal pieces, few enough to keep tasks cheap. */
#define WEFT_PF_LEAVES_PER_WORKER 8

typedef struct pf_loop {
    weft_range_fn body;
    void *arg;
    uint64_t grain;             /* a piece of at most this many runs as one body */
    _Atomic int err;            /* the first body error, 0 if none */
    _Atomic bool cancelled;     /* a piece's task was asked to cancel */
} pf_loop_t;

typedef struct pf_piece {
    pf_loop_t *loop;
    int64_t lo, hi;
} pf_piece_t;

/* Raises the loop's flag if the running piece was asked to cancel: only
 * the piece that awaits it (or weft_stop) cancels a piece, so the request
 * came from the caller.  Returns whether the loop is cancelled. */
static bool pf_cancelled(pf_loop_t *l)
{
    /* Relaxed: the flag only stops work early; results travel through
     * the awaits, which order them. */
    if (weft_cancelling() > 0) {
        atomic_store_explicit(&l->cancelled, true, memory_order_relaxed);
        return true;
    }
    return atomic_load_explicit(&l->cancelled, memory_order_relaxed);
}

static void pf_note(pf_loop_t *l, int rc)
{
    int none = 0;
    /* Relaxed: the caller reads err after awaiting every piece. */
    if (rc != 0)
        atomic_compare_exchange_strong_explicit(&l->err, &none, rc, memory_order_relaxed,
                                                memory_order_relaxed);
}

static int pf_piece_main(void *arg, void **result);

static void pf_run(pf_loop_t *l, int64_t lo, int64_t hi)
{
    if (pf_cancelled(l))
        return;
    uint64_t size = (uint64_t)hi - (uint64_t)lo;
    if (size <= l->grain) {
        pf_note(l, l->body(lo, hi, l->arg));
        return;
    }
    int64_t mid = lo + (int64_t)(size / 2);
    pf_piece_t upper = {.loop = l, .lo = mid, .hi = hi};
    weft_task_t *t = weft_spawn(pf_piece_main, &upper);
    pf_run(l, lo, mid);
    if (!t) { /* out of memory: this task does the upper half too */
        pf_run(l, mid, hi);
        return;
    }
    if (pf_cancelled(l))
        weft_cancel(t);
    /* A piece itself ends only with 0 or WEFT_ECANCELED: WEFT_ENOMEM means
     * it never started (no stack for it), so its half is still to do. */
    int rc = weft_await(t, NULL);
    weft_task_release(t);
    if (rc == WEFT_ENOMEM)
        pf_run(l, mid, hi);
}

static int pf_piece_main(void *arg, void **result)
{
    (void)result;
    pf_piece_t *p = arg;
    pf_run(p->loop, p->lo, p->hi);
    return pf_cancelled(p->loop) ? WEFT_ECANCELED : 0;
}

int weft_parallel_for(int64_t begin, int64_t end, int64_t grain, weft_range_fn body, void *arg)
{
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    if (!self)
        return WEFT_EPERM;
    if (!body || begin > end || grain < 0)
        return WEFT_EINVAL;
    if (begin == end)
        return 0;
    /* Delivered here, not by forwarding: an idle worker could steal the
     * root and finish the loop before our await would forward it. */
    if (weft__take_cancel(self))
        return WEFT_ECANCELED;
    uint64_t size = (uint64_t)end - (uint64_t)begin;
    uint64_t g = (uint64_t)grain;
    if (g == 0) {
        uint64_t leaves = (uint64_t)w->sched->nworkers * WEFT_PF_LEAVES_PER_WORKER;
        g = size / leaves + (size % leaves != 0);
    }
    pf_loop_t l = {.body = body, .arg = arg, .grain = g};
    atomic_init(&l.err, 0);
    atomic_init(&l.cancelled, false);
    pf_piece_t root = {.loop = &l, .lo = begin, .hi = end};
    weft_task_t *t = weft_spawn(pf_piece_main, &root);
    if (!t)
        return weft_last_error();
    int rc = weft_await(t, NULL);
    weft_task_release(t);
    if (rc == WEFT_ECANCELED || rc == WEFT_ENOMEM)
        return rc; /* WEFT_ENOMEM: the root never started, no body ran */
    return atomic_load_explicit(&l.err, memory_order_relaxed);
}
