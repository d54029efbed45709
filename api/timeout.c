/*
 * timeout.c - timeout scopes (asyncio.timeout): a timer that cancels the
 * task that opened the scope, and at exit tells its own cancel from one
 * that came from elsewhere by the task's cancel-request count, as
 * CPython's timeouts.py does.
 *
 * Nothing of a scope outlives its task: the task keeps its open scopes in
 * a list, and a task that ends with one still open (an error path that
 * forgot weft_timeout_exit) has it disarmed and freed at its end, before
 * the record can be reused by another task the timer would then cancel.
 * WEFT_DEBUG_CHECKS reports that end with the task's name and the scope's
 * entry site.
 */
#include "sched/fault.h"
#include "sched/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

struct weft_timeout {
    weft__timer_t timer;   /* first: the I/O thread frees the scope through it */
    weft_task_t *task;     /* the task it cancels */
    int cancelling_before; /* the task's cancel requests at enter */
    uint32_t taken_before; /* cancels it had been delivered at enter */
    _Atomic int expired;   /* the timer fired and cancelled the task:
                            * EXPIRED, or NO_ROOM when the I/O thread had
                            * no room to keep its deadline */
    weft_timeout_t *outer; /* the task's scope opened before this one */
    void *site;            /* the return address of weft_timeout_enter */
};

enum { EXPIRED = 1, NO_ROOM = 2 };

/* A scope whose deadline could not be kept (a deadline of 0, see io.c)
 * ends its body at once, as an expiry would, and its exit reports
 * WEFT_ENOMEM: better than a body left to run with no bound. */
static void on_expiry(weft__timer_t *tm)
{
    weft_timeout_t *h = (weft_timeout_t *)tm;
    atomic_store_explicit(&h->expired, tm->heap_deadline == 0 ? NO_ROOM : EXPIRED,
                          memory_order_relaxed);
    weft_cancel(h->task);
}

static weft_task_t *running(void)
{
    weft__worker_t *w = weft__self();
    return w ? w->current : NULL;
}

weft_timeout_t *weft_timeout_enter(int64_t ms)
{
    weft_task_t *self = running();
    if (!self) {
        weft__set_last_error(WEFT_EPERM);
        return NULL;
    }
    weft_timeout_t *h = weft__fault_inject("timeout scope") ? NULL : malloc(sizeof *h);
    if (!h) {
        weft__set_last_error(WEFT_ENOMEM);
        return NULL;
    }
    weft__timer_init(&h->timer, self->sched, on_expiry);
    h->task = self;
    h->cancelling_before = atomic_load_explicit(&self->cancel_requests, memory_order_relaxed);
    h->taken_before = atomic_load_explicit(&self->cancels_taken, memory_order_relaxed);
    atomic_init(&h->expired, 0);
    h->site = __builtin_return_address(0);
    h->outer = self->scopes;
    self->scopes = h;
    if (ms != WEFT_FOREVER)
        weft__timer_arm(&h->timer, weft__deadline_after(ms));
    return h;
}

int weft_timeout_reschedule(weft_timeout_t *h, int64_t ms)
{
    if (!h)
        return WEFT_EINVAL;
    if (running() != h->task)
        return WEFT_EPERM;
    /* After the disarm the expiry has either not happened or completed. */
    weft__timer_disarm(&h->timer);
    if (atomic_load_explicit(&h->expired, memory_order_relaxed))
        return WEFT_EINVAL; /* asyncio: cannot change an expiring timeout */
    if (ms != WEFT_FOREVER)
        weft__timer_arm(&h->timer, weft__deadline_after(ms));
    return 0;
}

int weft_timeout_exit(weft_timeout_t *h)
{
    if (!h)
        return WEFT_EINVAL;
    weft_task_t *self = running();
    if (self != h->task)
        return WEFT_EPERM;
    weft__timer_disarm(&h->timer);
    int expired = atomic_load_explicit(&h->expired, memory_order_relaxed);
    int before = h->cancelling_before;
    uint32_t taken_before = h->taken_before;
    for (weft_timeout_t **p = &self->scopes; *p; p = &(*p)->outer) {
        if (*p == h) {
            *p = h->outer;
            break;
        }
    }
    weft__timer_retire(&h->timer); /* h is the I/O thread's to free now */
    if (!expired)
        return 0;
    /* Did the body see a cancel?  asyncio's exit looks at the exception
     * leaving the block; ours is a cancel delivered inside the scope.  If
     * none was, the body ran to its end: nothing to report. */
    bool seen = atomic_load_explicit(&self->cancels_taken, memory_order_relaxed) != taken_before;
    int left = weft_uncancel();
    if (!seen)
        return 0;
    if (left > before)
        return WEFT_ECANCELED;
    return expired == NO_ROOM ? WEFT_ENOMEM : WEFT_ETIMEDOUT;
}

/* t ends with scopes still open: each is disarmed (after which its expiry
 * has either not happened or is complete, so it cancels nobody else) and
 * handed to the I/O thread to free. */
void weft__timeouts_end(weft_task_t *t)
{
    while (t->scopes) {
        weft_timeout_t *h = t->scopes;
        t->scopes = h->outer;
#ifdef WEFT_DEBUG_CHECKS
        char name[64];
        weft__task_name_into(t, name, sizeof name);
        fprintf(stderr, "weft: task '%s' (#%" PRIu64 ") ended with a timeout scope open, "
                        "entered at:\n", name, t->id);
        weft__print_frames(stderr, &h->site, 1);
#endif
        weft__timer_disarm(&h->timer);
        weft__timer_retire(&h->timer);
    }
}
