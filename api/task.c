/*
 * task.c - the task API: spawn, await, release, cancel, names, yield,
 * sleep, the cancelling counter and the per-task last error.
 *
 * Cancellation (asyncio's rules): weft_cancel counts a request and marks it
 * pending; the pending request is delivered once, at the task's current or
 * next suspension point, where that point's wait is interrupted (worker.c,
 * weft__interrupt).  A sleeping task wakes with WEFT_ECANCELED; a task
 * awaiting another forwards the cancel to it and gets its outcome; a task
 * that never started never runs; one that returns 0 with the request still
 * pending ends cancelled.
 */
#include "sched/fault.h"
#include "sched/internal.h"
#include "sched/timerheap.h"

#include <ck_pr.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WEFT_ID_BLOCK 1024
#define WEFT_MAX_STACK ((size_t)1 << 30)

/* Outside tasks: per thread.  Read only through weft__self() first, so it
 * is never read from a task that may have moved threads. */
static __thread int tls_last_error;

void weft__set_last_error(int rc)
{
    weft__worker_t *w = weft__self();
    if (w && w->current)
        w->current->last_error = rc;
    else
        tls_last_error = rc;
}

int weft_last_error(void)
{
    weft__worker_t *w = weft__self();
    return w && w->current ? w->current->last_error : tls_last_error;
}

static weft_task_t *fail(int rc)
{
    weft__set_last_error(rc);
    return NULL;
}

static uint64_t next_id(struct weft_sched *s, weft__worker_t *w)
{
    if (!w) {
        uint64_t block = atomic_fetch_add_explicit(&s->id_blocks, 1, memory_order_relaxed);
        return block * WEFT_ID_BLOCK + 1;
    }
    if (WEFT_UNLIKELY(w->id_next == w->id_end)) {
        uint64_t block = atomic_fetch_add_explicit(&s->id_blocks, 1, memory_order_relaxed);
        w->id_next = block * WEFT_ID_BLOCK + 1;
        w->id_end = w->id_next + WEFT_ID_BLOCK;
    }
    return w->id_next++;
}

weft_task_t *weft__task_new(struct weft_sched *s, weft__worker_t *w, weft_fn fn, void *arg,
                            const weft_spawn_opts_t *opts, void *spawn_site)
{
    char *name = NULL;
    if (opts && (opts->stack_size > WEFT_MAX_STACK || (opts->flags & ~WEFT_MIGRATE)))
        return fail(WEFT_EINVAL);
    if (opts && opts->name &&
        (weft__fault_inject("spawn name") || !(name = strdup(opts->name))))
        return fail(WEFT_ENOMEM);
    weft_task_t *t = weft__task_alloc(s, w);
    if (!t) {
        free(name);
        return fail(WEFT_ENOMEM);
    }
    t->fn = fn;
    t->arg = arg;
    t->result = NULL;
    t->rc = 0;
    t->waiter_list = NULL;
    t->fiber = NULL;
    atomic_store_explicit(&t->wstate, 0, memory_order_relaxed);
    atomic_store_explicit(&t->cancel_requests, 0, memory_order_relaxed);
    atomic_store_explicit(&t->cancels_taken, 0, memory_order_relaxed);
    atomic_store_explicit(&t->wait_kind, WEFT_WAIT_NONE, memory_order_relaxed);
    t->awaiting = NULL;
    t->inline_parent = NULL;
    t->inline_marked = false;
    t->home = NULL;
    atomic_store_explicit(&t->queued_on, NULL, memory_order_relaxed);
    t->scopes = NULL;
    t->migrate = opts && (opts->flags & WEFT_MIGRATE);
    t->id = next_id(s, w);
    t->parent_id = w && w->current ? w->current->id : 0;
    t->spawn_site = spawn_site;
    atomic_store_explicit(&t->name, name, memory_order_relaxed);
    t->stack_size = opts ? opts->stack_size : 0;
    t->last_error = 0;
    /* Release: a walker (weft__task_foreach_live) that takes a reference
     * from this count sees the fields above. */
    atomic_store_explicit(&t->state, 2 * WEFT_TS_REF, memory_order_release);
    return t;
}

/* site: the caller's return address, which weft_dump shows. */
static weft_task_t *spawn_from(weft_fn fn, void *arg, const weft_spawn_opts_t *opts, void *site)
{
    weft__worker_t *w;
    if (!weft__running(&w))
        return fail(WEFT_EPERM);
    if (!fn)
        return fail(WEFT_EINVAL);
    weft_task_t *t = weft__task_new(w->sched, w, fn, arg, opts, site);
    if (!t)
        return NULL;
    weft__stat_inc(&w->n_spawn);
    weft__push_local(w, t);
    return t;
}

weft_task_t *weft_spawn_opts(weft_fn fn, void *arg, const weft_spawn_opts_t *opts)
{
    return spawn_from(fn, arg, opts, __builtin_return_address(0));
}

weft_task_t *weft_spawn(weft_fn fn, void *arg)
{
    return spawn_from(fn, arg, NULL, __builtin_return_address(0));
}

void weft__task_unref(weft_task_t *t)
{
    /* The sole owner of a finished task: nobody else can change the word
     * (awaiters see DONE and leave it alone, walkers only read it), so no
     * atomic read-modify-write is needed.  Acquire: pairs with the release
     * in weft__finish. */
    uint64_t old = atomic_load_explicit(&t->state, memory_order_acquire);
    if (WEFT_LIKELY((old & ~(WEFT_TS_WAITERS | WEFT_TS_STARTED)) ==
                    (WEFT_TS_REF | WEFT_TS_DONE))) {
        atomic_store_explicit(&t->state, 0, memory_order_relaxed);
        weft__task_free(t);
        return;
    }
    /* acq_rel: the last owner sees every other owner's writes.  While the
     * task runs the scheduler holds a reference, dropped in weft__finish. */
    old = atomic_fetch_sub_explicit(&t->state, WEFT_TS_REF, memory_order_acq_rel);
    if (WEFT_TS_REFS(old) == 1)
        weft__task_free(t);
}

void weft_task_release(weft_task_t *t)
{
    if (t) {
        WEFT_CHECK_RELEASE(t);
        weft__task_unref(t);
    }
}

static void begin_wait(weft_task_t *self, enum weft__wait_kind kind)
{
    atomic_store_explicit(&self->wait_kind, kind, memory_order_relaxed);
    atomic_store_explicit(&self->wait_rc, 0, memory_order_relaxed);
    atomic_store_explicit(&self->wstate, 0, memory_order_relaxed);
}

/* ---- await ---------------------------------------------------------------- */

static void post_await(weft__worker_t *w, void *arg)
{
    weft__waiter_t *node = arg;
    weft_task_t *self = node->task;
    if (weft__add_waiter(self->awaiting, node))
        weft__requeue(w, self); /* finished meanwhile: nothing to wait for */
    else
        weft__arm(w, self);
}

static void wait_task(weft__worker_t *w, weft_task_t *self, weft_task_t *t)
{
    /* A pending cancel is delivered here by forwarding it, as asyncio's
     * Task forwards it to the future it waits on; if t has finished
     * meanwhile, it stays pending on us. */
    if (weft__take_cancel(self))
        weft__forward_cancel(self, t);
    self->awaiting = t;
    begin_wait(self, WEFT_WAIT_TASK);
    if (weft__claim_for_inline(w, t)) {
        /* t runs on our stack.  If it suspended, we were marked waiting on
         * it (worker.c, mark_inline_parents); a canceller may still hold
         * the claim for a moment, and nobody else wakes us. */
        weft__run_inline(w, t);
        if (self->inline_marked) {
            self->inline_marked = false;
            uint32_t expect = WEFT_W_WAITING;
            while (!atomic_compare_exchange_weak_explicit(&self->wstate, &expect, 0,
                                                          memory_order_acquire,
                                                          memory_order_relaxed)) {
                expect = WEFT_W_WAITING;
                ck_pr_stall();
            }
        }
    } else {
        weft__waiter_t node = {.next = NULL, .task = self};
        atomic_init(&node.futex, 0);
        weft__suspend(w, post_await, &node);
    }
    atomic_store_explicit(&self->wait_kind, WEFT_WAIT_NONE, memory_order_relaxed);
    self->awaiting = NULL;
}

int weft_await(weft_task_t *t, void **result)
{
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    WEFT_CHECK_TASK(t);
    if (!t)
        return WEFT_EINVAL;
    if (!self)
        return WEFT_EPERM;
    if (t == self)
        return WEFT_EDEADLK;
    if (!weft__task_is_done(t))
        wait_task(w, self, t);
    else
        weft__budget_spend(w);
    if (result)
        *result = t->result;
    return t->rc;
}

/* ---- cancellation ------------------------------------------------------- */

/* The request half of the protocol in sched/internal.h (state word). */
static inline int request_cancel(weft_task_t *t)
{
    if (!t)
        return WEFT_EINVAL;
    /* Counted first, so that a task that sees the request delivered also
     * sees it in weft_cancelling(); taken back if the task has finished
     * (or, for weft_stop's walker, if the record is free). */
    atomic_fetch_add_explicit(&t->cancel_requests, 1, memory_order_relaxed);
    uint64_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
    do {
        if ((s & WEFT_TS_DONE) || WEFT_TS_REFS(s) == 0) {
            atomic_fetch_sub_explicit(&t->cancel_requests, 1, memory_order_relaxed);
            return 0;
        }
        if (s & WEFT_TS_CANCEL)
            break; /* pending already: one delivery answers both */
        /* seq_cst: pairs with the arming of a wait (see weft__arm): either
         * the arming task sees CANCEL or weft__interrupt sees it waiting.
         * The CAS against DONE is what orders us with weft__finish. */
    } while (!atomic_compare_exchange_weak_explicit(&t->state, &s, s | WEFT_TS_CANCEL,
                                                    memory_order_seq_cst,
                                                    memory_order_relaxed));
    weft__interrupt(t);
    return 1;
}

int weft_cancel(weft_task_t *t)
{
    WEFT_CHECK_TASK(t);
    return request_cancel(t);
}

/* For weft_stop's walker, which holds no reference: the task may die under
 * it, and cancelling task memory is harmless (sched/taskmem.c). */
int weft__cancel(weft_task_t *t)
{
    return request_cancel(t);
}

int weft_cancelling(void)
{
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    if (!self)
        return WEFT_EPERM;
    return atomic_load_explicit(&self->cancel_requests, memory_order_relaxed);
}

int weft_uncancel(void)
{
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    if (!self)
        return WEFT_EPERM;
    int32_t n = atomic_load_explicit(&self->cancel_requests, memory_order_relaxed);
    while (n > 0 && !atomic_compare_exchange_weak_explicit(&self->cancel_requests, &n, n - 1,
                                                           memory_order_relaxed,
                                                           memory_order_relaxed)) {
    }
    if (n <= 1) /* no request left: none is pending either (asyncio 3.13) */
        atomic_fetch_and_explicit(&self->state, ~WEFT_TS_CANCEL, memory_order_relaxed);
    return n > 0 ? n - 1 : 0;
}

int weft_task_done(const weft_task_t *t)
{
    WEFT_CHECK_TASK(t);
    return t && weft__task_is_done(t);
}

int weft_task_cancelled(const weft_task_t *t)
{
    WEFT_CHECK_TASK(t);
    return t && weft__task_is_done(t) && t->rc == WEFT_ECANCELED;
}

/* ---- names ------------------------------------------------------------------ */

const char *weft_task_name(weft_task_t *t)
{
    WEFT_CHECK_TASK(t);
    if (!t) {
        weft__set_last_error(WEFT_EINVAL);
        return NULL;
    }
    char *name = atomic_load_explicit(&t->name, memory_order_acquire);
    if (name)
        return name;
    char buf[32];
    snprintf(buf, sizeof buf, "Task-%" PRIu64, t->id);
    char *made = weft__fault_inject("default name") ? NULL : strdup(buf);
    if (!made) {
        weft__set_last_error(WEFT_ENOMEM);
        return NULL;
    }
    /* Whoever names it first wins; acq_rel publishes the string. */
    if (!atomic_compare_exchange_strong_explicit(&t->name, &name, made, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        free(made);
        return name;
    }
    return made;
}

int weft_task_set_name(weft_task_t *t, const char *name)
{
    WEFT_CHECK_TASK(t);
    if (!t || !name)
        return WEFT_EINVAL;
    char *copy = weft__fault_inject("task rename") ? NULL : strdup(name);
    if (!copy)
        return WEFT_ENOMEM;
    free(atomic_exchange_explicit(&t->name, copy, memory_order_acq_rel));
    return 0;
}

size_t weft__task_name_into(weft_task_t *t, char *buf, size_t cap)
{
    /* Async-signal-safe: no allocation, no stdio. */
    const char *name = atomic_load_explicit(&t->name, memory_order_acquire);
    size_t n = 0;
    if (name) {
        while (name[n] && n + 1 < cap) {
            buf[n] = name[n];
            n++;
        }
    } else {
        char digits[24];
        int d = 0;
        uint64_t id = t->id;
        do {
            digits[d++] = (char)('0' + id % 10);
            id /= 10;
        } while (id);
        for (const char *p = "Task-"; *p && n + 1 < cap; p++)
            buf[n++] = *p;
        while (d > 0 && n + 1 < cap)
            buf[n++] = digits[--d];
    }
    buf[n] = '\0';
    return n;
}

/* ---- yield and sleep ----------------------------------------------------- */

weft_task_t *weft_current(void)
{
    weft__worker_t *w;
    return weft__running(&w);
}

int weft_yield(void)
{
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    if (!self)
        return WEFT_EPERM;
    if (weft__take_cancel(self))
        return WEFT_ECANCELED;
    weft__yield(w);
    return weft__take_cancel(self) ? WEFT_ECANCELED : 0;
}

static void post_sleep(weft__worker_t *w, void *arg)
{
    weft_task_t *self = arg;
    weft__task_timer_arm(self, self->sleep_until, 0);
    weft__arm(w, self);
}

/* Under the sleeper's claim: it waits on nothing but a cancel. */
static void interrupt_sleep_forever(weft_task_t *t)
{
    atomic_store_explicit(&t->wait_rc, WEFT_ECANCELED, memory_order_relaxed);
    weft__wake(t);
}

static const weft__wait_ops_t sleep_forever = {
    .interrupt = interrupt_sleep_forever,
    .what = "sleeping forever",
};

int weft_sleep(int64_t ms)
{
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    if (!self)
        return WEFT_EPERM;
    if (ms <= 0)
        return weft_yield();
    if (ms == WEFT_FOREVER) {
        /* No deadline, so no timer: only a cancel ends it, with no trip
         * through the I/O thread. */
        if (weft__wait_begin(self, &sleep_forever, NULL) != 0)
            return WEFT_ECANCELED;
        return weft__wait_suspend(w, self);
    }
    if (weft__take_cancel(self) || atomic_load_explicit(&self->sched->stopping, memory_order_acquire))
        return WEFT_ECANCELED;
    uint64_t now = weft__now_ns();
    uint64_t span = (uint64_t)ms > (UINT64_MAX - now) / 1000000 ? UINT64_MAX - now
                                                                  : (uint64_t)ms * 1000000;
    self->sleep_until = now + span;
    begin_wait(self, WEFT_WAIT_SLEEP);
    weft__suspend(w, post_sleep, self);
    weft__timer_disarm(&self->timer); /* a cancel may have woken us first */
    atomic_store_explicit(&self->wait_kind, WEFT_WAIT_NONE, memory_order_relaxed);
    if (weft__take_cancel(self))
        return WEFT_ECANCELED;
    return atomic_load_explicit(&self->wait_rc, memory_order_relaxed);
}
