/*
 * group.c - task groups (asyncio.TaskGroup): children spawned into a
 * group, the first real failure cancelling the rest and the owner, and a
 * join that waits for all and reports every failure.
 *
 * Each child carries a completion callback (a waiter node with a callback,
 * run by whoever finishes the child, even a child cancelled before it ever
 * ran) that records its failure in the group the moment it ends, so
 * siblings are cancelled at once and not at join.  The group is shared by
 * the owner and the unfinished children: it is reference counted and freed
 * by whoever lets go last.  Its lock guards
 * the child and error arrays; it is never held across a suspension.
 */
#include "sched/fault.h"
#include "sched/multi.h"

#include <ck_pr.h>
#include <stdlib.h>

struct weft_group {
    pthread_mutex_t lock;
    _Atomic int refs;          /* the owner's, plus one per running child */
    weft_task_t *owner;
    int cancelling_before;     /* the owner's cancel requests at creation */
    weft_task_t **children;    /* handles the group owns */
    size_t nchildren, cap;
    int *errors;               /* failures other than cancellations; room
                                * for cap, so a finishing child never
                                * allocates */
    size_t nerrors;
    bool aborting;             /* a child failed: no more spawns */
    bool joined;
    bool cancelled_owner;      /* the abort cancelled the owner once */
};

struct watch {
    weft__waiter_t node; /* first: the callback gets the node */
    weft_group_t *g;
};

static void group_unref(weft_group_t *g)
{
    /* acq_rel: whoever frees sees every other holder's writes. */
    if (atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < g->nchildren; i++)
        weft_task_release(g->children[i]);
    pthread_mutex_destroy(&g->lock);
    free(g->children);
    free(g->errors);
    free(g);
}

/* The first failure: cancel every child still running and the owner once.
 * Called with the lock held. */
static void abort_locked(weft_group_t *g, bool cancel_owner)
{
    if (!g->aborting) {
        g->aborting = true;
        for (size_t i = 0; i < g->nchildren; i++)
            weft_cancel(g->children[i]);
    }
    if (cancel_owner && !g->cancelled_owner && !g->joined) {
        g->cancelled_owner = true;
        weft_cancel(g->owner);
    }
}

static void on_child_done(weft__waiter_t *n)
{
    struct watch *cw = (struct watch *)n;
    weft_group_t *g = cw->g;
    int rc = n->child->rc; /* written before the finisher runs callbacks */
    free(cw);
    if (rc != 0 && rc != WEFT_ECANCELED) {
        pthread_mutex_lock(&g->lock);
        g->errors[g->nerrors++] = rc; /* one per child at most: room for it */
        abort_locked(g, true);
        pthread_mutex_unlock(&g->lock);
    }
    group_unref(g);
}

/* Room for one more child and for its failure: the failure is recorded
 * when the child finishes, where nobody could be told that memory ran out.
 * Locked.  A children array that grew while errors could not keeps cap as
 * it was: both hold at least cap. */
static int grow_locked(weft_group_t *g)
{
    size_t cap = g->cap ? 2 * g->cap : 8;
    weft_task_t **a =
        weft__fault_inject("group children") ? NULL : realloc(g->children, cap * sizeof *a);
    if (!a)
        return WEFT_ENOMEM;
    g->children = a;
    int *e = weft__fault_inject("group errors") ? NULL : realloc(g->errors, cap * sizeof *e);
    if (!e)
        return WEFT_ENOMEM;
    g->errors = e;
    g->cap = cap;
    return 0;
}

static weft_task_t *current_task(void)
{
    weft__worker_t *w = weft__self();
    return w ? w->current : NULL;
}

weft_group_t *weft_group_new(void)
{
    weft_task_t *self = current_task();
    if (!self) {
        weft__set_last_error(WEFT_EPERM);
        return NULL;
    }
    weft_group_t *g = weft__fault_inject("group") ? NULL : calloc(1, sizeof *g);
    if (!g) {
        weft__set_last_error(WEFT_ENOMEM);
        return NULL;
    }
    pthread_mutex_init(&g->lock, NULL);
    atomic_init(&g->refs, 1);
    g->owner = self;
    g->cancelling_before = atomic_load_explicit(&self->cancel_requests, memory_order_relaxed);
    return g;
}

weft_task_t *weft_group_spawn(weft_group_t *g, weft_fn fn, void *arg)
{
    if (!g || !fn) {
        weft__set_last_error(WEFT_EINVAL);
        return NULL;
    }
    struct watch *cw = weft__fault_inject("group child") ? NULL : calloc(1, sizeof *cw);
    if (!cw) {
        weft__set_last_error(WEFT_ENOMEM);
        return NULL;
    }
    cw->g = g;
    cw->node.fire = on_child_done;
    int rc = 0;
    weft_task_t *t = NULL;
    pthread_mutex_lock(&g->lock);
    if (g->aborting || g->joined) {
        rc = WEFT_ESHUTDOWN;
    } else if (g->nchildren == g->cap) {
        rc = grow_locked(g);
    }
    if (rc == 0) {
        atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
        t = weft_spawn(fn, arg);
        if (t) {
            g->children[g->nchildren++] = t;
        } else {
            rc = weft_last_error();
            atomic_fetch_sub_explicit(&g->refs, 1, memory_order_relaxed);
        }
    }
    pthread_mutex_unlock(&g->lock);
    if (!t) {
        free(cw);
        weft__set_last_error(rc);
        return NULL;
    }
    /* Outside the lock: a child already finished runs the callback here. */
    cw->node.child = t;
    atomic_init(&cw->node.futex, 0);
    if (weft__add_waiter(t, &cw->node))
        on_child_done(&cw->node);
    return t;
}

/*
 * Waits until every child spawned so far has finished; returns whether the
 * owner was cancelled meanwhile (the children were then cancelled too).
 * The children are waited for from a snapshot (children may spawn more,
 * which moves the array); once memory for it or for the multi-wait's
 * registrations runs out, WEFT_JOIN_STEP at a time from the stack, which
 * the multi-wait takes without allocating: out of memory makes a join
 * slower, never fail.
 */
#define WEFT_JOIN_STEP 8

static int wait_children(weft__worker_t *w, weft_group_t *g, bool *cancelled)
{
    bool stepwise = false;
    for (size_t waited = 0;;) {
        weft_task_t *step[WEFT_JOIN_STEP];
        pthread_mutex_lock(&g->lock);
        size_t n = g->nchildren - waited;
        weft_task_t **snapshot = step;
        if (n > WEFT_JOIN_STEP) {
            snapshot = stepwise || weft__fault_inject("group join")
                           ? NULL
                           : malloc(n * sizeof *snapshot);
            if (!snapshot) {
                snapshot = step;
                n = WEFT_JOIN_STEP;
            }
        }
        for (size_t i = 0; i < n; i++)
            snapshot[i] = g->children[waited + i];
        if (n == 0)
            g->joined = true; /* nothing new: from now on spawning fails */
        pthread_mutex_unlock(&g->lock);
        if (n == 0)
            return 0;
        weft__multi_t m = {.tasks = snapshot, .n = n, .on_cancel = WEFT_ON_CANCEL_FORWARD};
        atomic_init(&m.until, WEFT_UNTIL_ALL);
        int rc = weft__multi_wait(w, &m, WEFT_FOREVER);
        if (snapshot != step)
            free(snapshot);
        if (rc == WEFT_ENOMEM && !stepwise) { /* it returns before it waits */
            stepwise = true;
            continue;
        }
        if (rc != 0)
            return rc;
        if (m.cancelled) {
            *cancelled = true;
            pthread_mutex_lock(&g->lock);
            abort_locked(g, false);
            pthread_mutex_unlock(&g->lock);
        }
        waited += n;
        w = weft__self();
    }
}

int weft_group_join(weft_group_t *g)
{
    if (!g)
        return WEFT_EINVAL;
    weft__worker_t *w = weft__self();
    if (!w || w->current != g->owner)
        return WEFT_EPERM;
    weft_task_t *self = g->owner;
    bool cancelled = false;
    /* A cancel the body already saw (requests above the count at creation,
     * not counting the group's own): abort the children, as asyncio's
     * TaskGroup does when its block ends in CancelledError. */
    pthread_mutex_lock(&g->lock);
    int own = g->cancelled_owner ? 1 : 0;
    if (atomic_load_explicit(&self->cancel_requests, memory_order_relaxed) - own >
        g->cancelling_before) {
        cancelled = true;
        abort_locked(g, false);
    }
    pthread_mutex_unlock(&g->lock);
    int rc = wait_children(w, g, &cancelled);
    if (rc != 0)
        return rc;
    /* Every child has finished, but a child's callback may still be
     * recording its failure on the finishing thread (our own wake-up can
     * come first): wait for the last of them, a few instructions. */
    while (atomic_load_explicit(&g->refs, memory_order_acquire) > 1)
        ck_pr_stall();
    pthread_mutex_lock(&g->lock);
    bool withdraw = g->cancelled_owner;
    int first = g->nerrors ? g->errors[0] : 0;
    pthread_mutex_unlock(&g->lock);
    if (withdraw)
        weft_uncancel(); /* the group's own cancel of the owner */
    if (first) {
        /* Child errors win over a cancel, but a cancel from outside stays
         * pending for the owner's next suspension point, which the wait
         * above may have consumed (CPython 3.13, gh-116720: uncancel and
         * cancel again, so the count stays). */
        if (atomic_load_explicit(&self->cancel_requests, memory_order_relaxed) > 0)
            weft__pend_cancel(self);
        return first;
    }
    if (cancelled ||
        atomic_load_explicit(&self->cancel_requests, memory_order_relaxed) > g->cancelling_before) {
        weft__take_cancel(self); /* delivered by this return, if still pending */
        return WEFT_ECANCELED;
    }
    return 0;
}

int weft_group_errors(weft_group_t *g, int *errs, size_t cap)
{
    if (!g || (cap && !errs))
        return WEFT_EINVAL;
    pthread_mutex_lock(&g->lock);
    size_t n = g->nerrors;
    for (size_t i = 0; i < n && i < cap; i++)
        errs[i] = g->errors[i];
    pthread_mutex_unlock(&g->lock);
    return (int)n;
}

void weft_group_free(weft_group_t *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->lock);
    g->joined = true;
    abort_locked(g, false); /* children still running end on their own */
    pthread_mutex_unlock(&g->lock);
    group_unref(g);
}
