/*
 * worker.c - the worker threads: what runs next, switching between task
 * stacks, suspension and wake-up, running an awaited child inline, and
 * stealing.
 *
 * Tasks stay home: a task that has started runs only on the worker it
 * started on (marl's rule), because C code keeps thread-local addresses
 * across calls (gcc computes &errno once per function: glibc declares
 * __errno_location const).  Only tasks that have not started are stolen
 * (the deque and the injector's fresh lane hold nothing else); a started
 * task woken by another thread goes to its home worker's inbox, and that
 * worker is woken if it is parked.  A task spawned with WEFT_MIGRATE
 * promised not to keep such addresses and may resume anywhere.
 *
 * Scheduling order on a worker: the "next" slot (a task this worker just
 * woke, for message-passing latency; capped at WEFT_NEXT_CAP runs in a row);
 * then the woken tasks of this worker, its own and those from its inbox, in
 * the order they were woken, so that a woken task never waits behind tasks
 * that have not started; then the own deque (LIFO, tasks not started);
 * then tasks that yielded; then the injector; then, spinning, steal from
 * random victims; then park (park.c).  Every WEFT_FAIR_EVERY decisions a
 * fairness check comes first, taking from the sources the order above may
 * starve — the yielded tasks, the injector, the oldest end of the deque —
 * in turn, so each is reached within a bounded number of decisions
 * whatever else is queued (fair_take).
 *
 * Switching: a task that suspends picks the next task itself and switches
 * straight to it; only when nothing is runnable locally does it switch to
 * the worker thread's own stack, which steals or parks.  Whatever must
 * happen after the suspending context is saved (registering as a waiter,
 * queueing the task again, returning a finished task's stack) is left in
 * w->post and run by whichever context runs next on this thread.  That is
 * what makes it safe to publish a suspended task: nobody can resume it
 * before its registers are saved.
 */
#include "sched/internal.h"

#include <ck_pr.h>
#include <stdlib.h>
#include <string.h>

#define WEFT_FAIR_EVERY 61 /* decisions between fairness checks */
#define WEFT_OLDEST_ROUND 64 /* fairness checks between takes of the oldest */
#define WEFT_NEXT_CAP 16     /* runs in a row from the next slot */
#define WEFT_STEAL_ROUNDS 4

static __thread weft__worker_t *tls_worker;

/*
 * The worker this code runs on.  Not inlined and opaque to the optimiser
 * (the asm barrier): a task may resume on another thread after any
 * suspension, and a cached address of this thread's TLS would then be
 * another thread's.  Everything in weft that needs the worker calls this
 * again after each suspension point.
 */
__attribute__((noinline)) weft__worker_t *weft__self(void)
{
    __asm__ volatile("" ::: "memory");
    return tls_worker;
}

static void run_post(weft__worker_t *w)
{
    weft__post_fn post = w->post;
    if (post) {
        w->post = NULL;
        post(w, w->post_arg);
    }
}

static uint32_t next_random(weft__worker_t *w)
{
    /* xorshift64: victim choice needs speed, not quality. */
    uint64_t x = w->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    w->rng = x;
    return (uint32_t)(x >> 32);
}

/* ---- run queues ---------------------------------------------------------- */

/* A deque entry taken by its worker or a thief: its task, claimed, or
 * NULL when an awaiter claimed the task before (the entry's reference is
 * then dropped). */
static weft_task_t *claim_entry(weft_task_t *t)
{
    if (weft__claim(t, 0))
        return t;
    weft__task_unref(t);
    return NULL;
}

static weft_task_t *pop_fresh(weft__worker_t *w)
{
    weft_task_t *t;
    while ((t = weft__deque_pop(&w->deque)))
        if ((t = claim_entry(t)))
            return t;
    return NULL;
}

static weft_task_t *steal_fresh(weft__deque_t *d)
{
    weft_task_t *t;
    while ((t = weft__deque_steal(d)))
        if ((t = claim_entry(t)))
            return t;
    return NULL;
}

/* Queues a task not started yet on this worker's deque; a full deque
 * moves its older half to the injector (entries already claimed by their
 * awaiters are dropped there, so only unclaimed tasks travel). */
void weft__push_local(weft__worker_t *w, weft_task_t *t)
{
    atomic_store_explicit(&t->queued_on, w, memory_order_relaxed);
    while (!weft__deque_push(&w->deque, t)) {
        weft_task_t *half[WEFT_DEQUE_SIZE / 2];
        int n = weft__deque_take_half(&w->deque, half), kept = 0;
        for (int i = 0; i < n; i++) {
            /* Only this worker's awaiters claim from its deque, and we
             * are it: a claimed entry here stays claimed. */
            if (atomic_load_explicit(&half[i]->state, memory_order_relaxed) & WEFT_TS_STARTED) {
                weft__task_unref(half[i]);
                continue;
            }
            atomic_store_explicit(&half[i]->queued_on, NULL, memory_order_relaxed);
            half[kept++] = half[i];
        }
        for (int i = 0; i + 1 < kept; i++)
            atomic_store_explicit(&half[i]->qnode.next, &half[i + 1]->qnode,
                                  memory_order_relaxed);
        if (kept > 0)
            weft__inject_push(w->sched, half[0], half[kept - 1]);
    }
    weft__park_notify_local(w->sched);
}

static void fifo_push(weft__fifo_t *f, weft_task_t *t)
{
    t->local_next = NULL;
    if (f->tail)
        f->tail->local_next = t;
    else
        f->head = t;
    f->tail = t;
}

static weft_task_t *fifo_pop(weft__fifo_t *f)
{
    weft_task_t *t = f->head;
    if (t) {
        f->head = t->local_next;
        if (!f->head)
            f->tail = NULL;
    }
    return t;
}

/* A started task runnable again on this, its home worker; one that may
 * migrate goes where any worker can take it. */
void weft__requeue(weft__worker_t *w, weft_task_t *t)
{
    if (t->migrate)
        weft__inject_wake(w->sched, t);
    else
        fifo_push(&w->resumed, t);
}

/* A woken task goes to the next slot; the one it displaces is requeued. */
static void push_next(weft__worker_t *w, weft_task_t *t)
{
    /* Only this worker uses its slot: relaxed. */
    weft_task_t *old = atomic_exchange_explicit(&w->next, t, memory_order_relaxed);
    if (old)
        weft__requeue(w, old);
}

static weft_task_t *take_next(weft__worker_t *w)
{
    if (atomic_load_explicit(&w->next, memory_order_relaxed) == NULL)
        return NULL;
    return atomic_exchange_explicit(&w->next, NULL, memory_order_relaxed);
}

/* Makes a woken (so started) task runnable where it may run. */
void weft__ready(weft_task_t *t)
{
    weft__worker_t *w = weft__self();
    if (!t->migrate) {
        weft__worker_t *home = t->home;
        if (w == home) {
            push_next(w, t);
        } else {
            weft__mpsc_push(&home->inbox, &t->qnode);
            weft__park_wake_home(home);
        }
    } else if (w && w->sched == t->sched) {
        push_next(w, t);
        weft__park_notify_local(w->sched);
    } else {
        weft__inject_wake(t->sched, t);
    }
}

/* The woken tasks of this worker, in the order they were woken: the inbox
 * joins the local list first. */
static weft_task_t *take_resumed(weft__worker_t *w)
{
    weft__mpsc_node_t *n;
    while (!weft__mpsc_empty(&w->inbox) && (n = weft__mpsc_pop(&w->inbox)))
        fifo_push(&w->resumed, weft__task_of_qnode(n));
    return fifo_pop(&w->resumed);
}

/*
 * The fairness check: the sources that the usual order may starve, one
 * each check in turn, so each is reached within 4 checks: the yielded
 * tasks; the injector's fresh lane; the newest task not started, which a
 * stream of wake-ups would keep waiting; the injector's woken lane.  And
 * every WEFT_OLDEST_ROUND checks the oldest end of our own deque, which
 * LIFO pops never reach while newer tasks keep coming: rarely, since in
 * fork-join code it is the biggest subtree, best left for a thief or for
 * its awaiter to run inline.
 */
static weft_task_t *fair_take(weft__worker_t *w)
{
    unsigned round = w->tick / WEFT_FAIR_EVERY;
    weft_task_t *t;
    if (round % WEFT_OLDEST_ROUND == 0 && (t = steal_fresh(&w->deque)))
        return t;
    switch (round % 4) {
    case 0:
        return fifo_pop(&w->yielded);
    case 1:
        return weft__inject_pop(w, true);
    case 2:
        return pop_fresh(w);
    default:
        return weft__inject_pop(w, false);
    }
}

/* The next task from this worker's own queues. */
static weft_task_t *next_local(weft__worker_t *w)
{
    weft_task_t *t;
    if (WEFT_UNLIKELY(++w->tick % WEFT_FAIR_EVERY == 0) && (t = fair_take(w)))
        return t;
    if (w->next_streak < WEFT_NEXT_CAP && (t = take_next(w))) {
        w->next_streak++;
        return t;
    }
    w->next_streak = 0;
    if ((t = take_resumed(w)) || (t = pop_fresh(w)) || (t = take_next(w)) ||
        (t = fifo_pop(&w->yielded)))
        return t;
    return weft__inject_pop(w, false);
}

/* ---- starting, switching, finishing ------------------------------------- */

static void fiber_entry(void);

static int must_not_start(weft_task_t *t)
{
    return weft__cancel_pending(t, memory_order_relaxed) ||
           atomic_load_explicit(&t->sched->stopping, memory_order_relaxed);
}

/*
 * Turns a candidate into a task that can be switched to: a task that never
 * started and is cancelled ends here without running; one that needs a
 * stack gets it (or ends with WEFT_ENOMEM).  Returns NULL when nothing
 * local is left.
 */
static weft_task_t *prepare(weft__worker_t *w, weft_task_t *t)
{
    while (t && !t->fiber) {
        if (must_not_start(t)) {
            weft__finish(w, t, WEFT_ECANCELED, NULL);
        } else {
            weft__fiber_t *f = weft__fiber_get(w, t->stack_size);
            if (f) {
                f->task = t;
                t->fiber = f;
                weft__ctx_make(&f->ctx, f->lo, f->size, fiber_entry);
                weft__stat_inc(&w->n_started);
                return t;
            }
            weft__finish(w, t, WEFT_ENOMEM, NULL);
        }
        t = next_local(w);
    }
    return t;
}

/*
 * With WEFT_MEASURE_SLICES, each point where the worker passes from one
 * task to another (or to none) ends the running slice and may start the
 * next; the longest is kept for weft_stats.
 */
static bool measuring_slices(const weft__worker_t *w)
{
    return w->sched->flags & WEFT_MEASURE_SLICES;
}

static void slice_mark(weft__worker_t *w, bool starts)
{
    uint64_t now = weft__now_ns();
    if (w->slice_start_ns) {
        uint64_t d = now - w->slice_start_ns;
        /* Relaxed: a figure for reports, written by this worker only. */
        if (d > atomic_load_explicit(&w->longest_slice_ns, memory_order_relaxed))
            atomic_store_explicit(&w->longest_slice_ns, d, memory_order_relaxed);
    }
    w->slice_start_ns = starts ? now : 0;
}

/* Switches from the running context to t (prepared) or to the thread. */
static void switch_to(weft__worker_t *w, weft__ctx_t *from, weft_task_t *t, int exits)
{
    if (w->fiber)
        weft__stack_check(w->fiber, w->current);
    if (measuring_slices(w))
        slice_mark(w, t != NULL);
    weft__ctx_t *to = &w->thread_ctx;
    w->fiber = NULL;
    w->current = t;
    if (t) {
        t->home = w;
        w->budget = WEFT_BUDGET;
        w->fiber = t->fiber;
        to = &t->fiber->ctx;
        weft__stat_inc(&w->n_switch);
    }
    weft__ctx_switch(from, to, exits);
}

/*
 * A task run inline shares its awaiter's stack, so when it suspends its
 * awaiters (the chain of inline parents) wait too: from now on they count
 * as waiting on their inline child, so a cancel of theirs is forwarded like
 * any other.  Until a suspension this costs nothing, and a cancel that
 * comes earlier stays pending on the awaiter, as if it came just after the
 * child finished.  Marking before the switch is safe: nobody wakes an
 * inline parent, a canceller only forwards through it.
 */
static void mark_inline_parents(weft_task_t *t)
{
    for (weft_task_t *p = t->inline_parent; p && !p->inline_marked; p = p->inline_parent) {
        p->inline_marked = true;
        /* seq_cst: the same pairing with weft_cancel as weft__arm. */
        atomic_store_explicit(&p->wstate, WEFT_W_WAITING, memory_order_seq_cst);
        if (weft__cancel_pending(p, memory_order_seq_cst))
            weft__interrupt(p);
    }
}

void weft__suspend(weft__worker_t *w, weft__post_fn post, void *arg)
{
    weft__fiber_t *self = w->fiber;
    if (w->current->inline_parent)
        mark_inline_parents(w->current);
    weft_task_t *t = prepare(w, next_local(w));
    w->post = post;
    w->post_arg = arg;
    switch_to(w, &self->ctx, t, 0);
    run_post(weft__self());
}

static void post_yield(weft__worker_t *w, void *arg)
{
    weft_task_t *t = arg;
    /* One that may migrate goes to idle workers, if any; else it waits on
     * this worker, where queueing costs no atomic operation. */
    if (t->migrate && atomic_load_explicit(&w->sched->park.nidle, memory_order_relaxed)) {
        weft__inject_wake(w->sched, t);
        return;
    }
    fifo_push(&w->yielded, t);
}

int weft__yield(weft__worker_t *w)
{
    weft_task_t *self = w->current;
    weft_task_t *t = prepare(w, next_local(w));
    if (!t)
        return 0;
    w->post = post_yield;
    w->post_arg = self;
    switch_to(w, &w->fiber->ctx, t, 0);
    run_post(weft__self());
    return 0;
}

static void post_fiber_put(weft__worker_t *w, void *arg)
{
    weft__fiber_put(w, arg);
}

/* Every task that starts on a stack of its own begins here. */
static void fiber_entry(void)
{
    weft__worker_t *w = weft__self();
    weft__fiber_t *f = w->fiber;
    weft__ctx_started(&f->ctx);
    run_post(w);
    for (;;) {
        weft_task_t *t = f->task;
        void *result = NULL;
        int rc = t->fn(t->arg, &result);
        weft__stack_check(f, t); /* before another task inherits the stack */
        if (WEFT_UNLIKELY(t->scopes != NULL))
            weft__timeouts_end(t);
        w = weft__self();
        weft__finish(w, t, rc, result);
        /* A task that never ran takes this stack over where it stands:
         * no switch, no trip through the pool. */
        weft_task_t *n = next_local(w);
        while (n && !n->fiber && must_not_start(n)) {
            weft__finish(w, n, WEFT_ECANCELED, NULL);
            n = next_local(w);
        }
        if (n && !n->fiber && f->pooled && weft__fiber_fits(w->sched, n->stack_size)) {
            f->task = n;
            n->fiber = f;
            n->home = w;
            w->budget = WEFT_BUDGET;
            w->current = n;
            weft__stat_inc(&w->n_started);
            if (measuring_slices(w))
                slice_mark(w, true);
            continue;
        }
        n = prepare(w, n);
        w->post = post_fiber_put;
        w->post_arg = f;
        switch_to(w, &f->ctx, n, 1);
        abort(); /* a finished stack is only ever restarted at fiber_entry */
    }
}

void weft__run_inline(weft__worker_t *w, weft_task_t *t)
{
    weft_task_t *parent = w->current;
    if (must_not_start(t)) {
        weft__finish(w, t, WEFT_ECANCELED, NULL);
        return;
    }
    t->fiber = w->fiber;
    t->home = w;
    t->inline_parent = parent;
    w->current = t;
    weft__stat_inc(&w->n_inline);
    weft__stat_inc(&w->n_started);
    if (measuring_slices(w))
        slice_mark(w, true);
    void *result = NULL;
    int rc = t->fn(t->arg, &result);
    weft__stack_check(t->fiber, t); /* name the child, not its awaiter */
    if (WEFT_UNLIKELY(t->scopes != NULL))
        weft__timeouts_end(t);
    w = weft__self();
    w->current = parent;
    if (measuring_slices(w))
        slice_mark(w, true);
    weft__finish(w, t, rc, result);
}

/*
 * Claims t, a task the running task awaits, to run it inline on the
 * awaiter's stack: from the top of this worker's deque (the entry goes),
 * or from anywhere deeper in it (the entry stays, with a reference, for
 * whoever pops it to drop).  Not a task that asked for a stack size: the
 * awaiter's stack may be smaller.
 */
bool weft__claim_for_inline(weft__worker_t *w, weft_task_t *t)
{
    /* Relaxed: only w itself writes w here, so reading w means w wrote
     * it; any other value, however stale, only means "not ours".  The
     * claim's CAS decides the rest. */
    if (t->stack_size != 0 || atomic_load_explicit(&t->queued_on, memory_order_relaxed) != w)
        return false;
    if (weft__deque_peek(&w->deque) == t && weft__deque_pop(&w->deque) == t)
        return claim_entry(t) != NULL;
    return weft__claim(t, WEFT_TS_REF);
}

static void wake_waiter(weft__waiter_t *n)
{
    weft_task_t *t = n->task;
    if (n->fire) {
        n->fire(n);
    } else if (t) {
        weft__wake(t);
    } else {
        /* Release: pairs with the thread's acquire load; rc and result were
         * published before by the exchange in weft__finish. */
        atomic_store_explicit(&n->futex, 1, memory_order_release);
        weft__futex_wake(&n->futex);
    }
}

void weft__finish(weft__worker_t *w, weft_task_t *t, int rc, void *result)
{
    weft__stat_inc(&w->n_finished);
    /* One CAS sets DONE and consumes an undelivered cancel, which turns a
     * success into a cancellation (the protocol in internal.h): a request
     * either lands before it, and is seen here, or finds DONE.  When
     * nobody waits (the common case) the same step drops the scheduler's
     * reference; from then on t may be freed by its owner, so nothing
     * below touches it.  acq_rel: release publishes rc and result to
     * whoever sees DONE; acquire pairs with earlier owners' releases. */
    uint64_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
    bool alone;
    do {
        t->rc = rc == 0 && (s & WEFT_TS_CANCEL) ? WEFT_ECANCELED : rc;
        t->result = result;
        alone = !(s & (WEFT_TS_LOCK | WEFT_TS_WAITERS));
    } while (!atomic_compare_exchange_weak_explicit(
        &t->state, &s, ((s & ~WEFT_TS_CANCEL) | WEFT_TS_DONE) - (alone ? WEFT_TS_REF : 0),
        memory_order_acq_rel, memory_order_relaxed));
    if (alone) {
        if (WEFT_TS_REFS(s) == 1) /* its owners released it already */
            weft__task_free(t);
        return;
    }
    /* Awaiters: DONE is set and we keep our reference; wait for one that
     * is adding itself (a few stores; acquire pairs with its release
     * unlock), wake them all, and only then let go. */
    while (s & WEFT_TS_LOCK)
        s = atomic_load_explicit(&t->state, memory_order_acquire);
    weft__waiter_t *n = t->waiter_list;
    while (n) {
        weft__waiter_t *next = n->next; /* n dies once its owner wakes */
        wake_waiter(n);
        n = next;
    }
    weft__task_unref(t);
}

/* Takes t's lock; false if t has finished (its waiters are being woken). */
static bool lock_waiters(weft_task_t *t, bool mark)
{
    uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
    for (;;) {
        if (s & WEFT_TS_DONE)
            return false;
        if (s & WEFT_TS_LOCK) {
            ck_pr_stall();
            s = atomic_load_explicit(&t->state, memory_order_acquire);
            continue;
        }
        /* Acquire: the list as the previous holder of the lock left it. */
        uint64_t want = s | WEFT_TS_LOCK | (mark ? WEFT_TS_WAITERS : 0);
        if (atomic_compare_exchange_weak_explicit(&t->state, &s, want, memory_order_acquire,
                                                  memory_order_acquire))
            return true;
    }
}

static void unlock_waiters(weft_task_t *t)
{
    /* Release: the finisher, whose DONE step reads this value, sees the
     * list as we leave it. */
    atomic_fetch_and_explicit(&t->state, ~WEFT_TS_LOCK, memory_order_release);
}

int weft__remove_waiter(weft_task_t *t, weft__waiter_t *node)
{
    if (!lock_waiters(t, false))
        return 0;
    for (weft__waiter_t **p = &t->waiter_list; *p; p = &(*p)->next) {
        if (*p == node) {
            *p = node->next;
            break;
        }
    }
    unlock_waiters(t);
    return 1;
}

int weft__add_waiter(weft_task_t *t, weft__waiter_t *node)
{
    if (!lock_waiters(t, true))
        return 1;
    node->next = t->waiter_list;
    t->waiter_list = node;
    unlock_waiters(t);
    return 0;
}

/* ---- the wait protocol (see internal.h) ---------------------------------- */

void weft__wake(weft_task_t *t)
{
    /* acq_rel: release publishes wait_rc and whatever the waker did;
     * acquire pairs with the arming fetch_or, so the saved context and the
     * registration are complete before we queue the task. */
    uint32_t old = atomic_fetch_or_explicit(&t->wstate, WEFT_W_WAKE, memory_order_acq_rel);
    if (old == WEFT_W_WAITING)
        weft__ready(t);
}

void weft__arm(weft__worker_t *w, weft_task_t *t)
{
    /* Runs after t's context is saved.  Release publishes the saved
     * context to a waker or canceller; acquire pairs with a wake that came
     * before we armed; seq_cst (with the canceller's seq_cst store of
     * CANCEL and CAS on wstate) makes sure that either we see the
     * cancel below or the canceller sees us waiting. */
    uint32_t old = atomic_fetch_or_explicit(&t->wstate, WEFT_W_WAITING, memory_order_seq_cst);
    if (old & WEFT_W_WAKE) {
        weft__requeue(w, t);
        return;
    }
    if (weft__cancel_pending(t, memory_order_seq_cst))
        weft__interrupt(t);
}

/*
 * Waiting on an object (channel, lock, socket, ...).  With the object's
 * lock held, the task calls weft__wait_begin, registers itself on the
 * object and drops the lock; then weft__wait_suspend switches away.  A
 * completer may wake it in between: the wstate protocol queues it when it
 * arms (weft__arm), so nothing is lost.  A cancel that arrives after
 * weft__wait_begin reaches the object's interrupt hook (interrupt_wait).
 */
int weft__wait_begin(weft_task_t *self, const weft__wait_ops_t *ops, void *obj)
{
    if (weft__take_cancel(self) ||
        atomic_load_explicit(&self->sched->stopping, memory_order_acquire))
        return WEFT_ECANCELED;
    /* Relaxed: the arming's release (weft__arm) publishes both to a
     * canceller; weft_dump only prints the ops' name. */
    atomic_store_explicit(&self->wait_ops, ops, memory_order_relaxed);
    self->wait_obj = obj;
    atomic_store_explicit(&self->wait_kind, WEFT_WAIT_OBJ, memory_order_relaxed);
    atomic_store_explicit(&self->wait_rc, 0, memory_order_relaxed);
    atomic_store_explicit(&self->wstate, 0, memory_order_relaxed);
    return 0;
}

static void post_wait_obj(weft__worker_t *w, void *arg)
{
    weft__arm(w, arg);
}

/* Returns the completer's wait_rc, or WEFT_ECANCELED when a cancel
 * withdrew the wait (the request is then delivered).  The task may resume
 * on another worker: callers re-read weft__self() if they need it. */
int weft__wait_suspend(weft__worker_t *w, weft_task_t *self)
{
    weft__suspend(w, post_wait_obj, self);
    atomic_store_explicit(&self->wait_kind, WEFT_WAIT_NONE, memory_order_relaxed);
    int rc = atomic_load_explicit(&self->wait_rc, memory_order_relaxed);
    if (rc == WEFT_ECANCELED)
        weft__take_cancel(self);
    return rc;
}

/* Under the claim: the task stays suspended, its wait record stays put. */
static bool interrupt_wait(weft_task_t *t)
{
    switch (atomic_load_explicit(&t->wait_kind, memory_order_relaxed)) {
    case WEFT_WAIT_SLEEP:
        /* Stop the timer; if it already fired, its wake-up ends the sleep
         * and the pending cancel is delivered there. */
        if (weft__timer_disarm(&t->timer)) {
            atomic_store_explicit(&t->wait_rc, WEFT_ECANCELED, memory_order_relaxed);
            weft__wake(t); /* we hold the claim: queued when we drop it */
        }
        return false;
    case WEFT_WAIT_MULTI:
        return weft__multi_interrupt(t);
    case WEFT_WAIT_NEXT:
        weft__wake(t); /* we hold the claim: queued when we drop it */
        return false;
    case WEFT_WAIT_OBJ:
        atomic_load_explicit(&t->wait_ops, memory_order_relaxed)->interrupt(t);
        return false;
    case WEFT_WAIT_TASK:
        /* asyncio forwards each cancel to the awaited task; the awaiter
         * then gets that task's outcome.  One that has finished refuses
         * it: the request stays pending on the awaiter, whom the finisher
         * wakes, so there is nothing to try again. */
        return weft__take_cancel(t) && weft__forward_cancel(t, t->awaiting);
    case WEFT_WAIT_NONE:
        break;
    }
    return false;
}

void weft__interrupt(weft_task_t *t)
{
    for (;;) {
        /* seq_cst: pairs with the arming in weft__arm (and the canceller's
         * CAS of CANCEL): one of the two sees the other. */
        if (!weft__cancel_pending(t, memory_order_seq_cst))
            return;
        uint32_t expect = WEFT_W_WAITING;
        /* Acquire: pairs with the release of the arming, so the wait record
         * is visible; seq_cst: see weft__arm. */
        if (!atomic_compare_exchange_strong_explicit(&t->wstate, &expect,
                                                     WEFT_W_WAITING | WEFT_W_CLAIM,
                                                     memory_order_seq_cst,
                                                     memory_order_seq_cst))
            return;
        bool again = interrupt_wait(t);
        uint32_t old = atomic_fetch_and_explicit(&t->wstate, ~WEFT_W_CLAIM,
                                                 memory_order_acq_rel);
        if (old & WEFT_W_WAKE) {
            weft__ready(t); /* the waker left the queueing to us */
            return;
        }
        if (!again)
            return;
    }
}

/*
 * Holds a waiting task where it is, the way a canceller does (the claim),
 * so weft_dump can read its stack: a waker that comes meanwhile leaves the
 * queueing to weft__unhold.  False if t is not waiting.
 */
bool weft__hold(weft_task_t *t)
{
    uint32_t expect = WEFT_W_WAITING;
    /* Acquire: pairs with the release of the arming, so the saved context
     * and the stack below it are visible. */
    return atomic_compare_exchange_strong_explicit(&t->wstate, &expect,
                                                   WEFT_W_WAITING | WEFT_W_CLAIM,
                                                   memory_order_seq_cst, memory_order_relaxed);
}

void weft__unhold(weft_task_t *t)
{
    /* acq_rel, as a canceller dropping its claim (weft__interrupt):
     * acquire sees a waker's WAKE and what it published; release hands
     * the task back to whoever queues it. */
    uint32_t old = atomic_fetch_and_explicit(&t->wstate, ~WEFT_W_CLAIM, memory_order_acq_rel);
    if (old & WEFT_W_WAKE)
        weft__ready(t); /* the waker left the queueing to us */
    else
        weft__interrupt(t); /* a canceller that found our claim gave up */
}

/* ---- stealing and the worker loop -------------------------------------- */

static weft_task_t *steal(weft__worker_t *w)
{
    struct weft_sched *s = w->sched;
    unsigned n = s->nworkers;
    for (int round = 0; round < WEFT_STEAL_ROUNDS; round++) {
        unsigned start = next_random(w) % n;
        for (unsigned i = 0; i < n; i++) {
            weft__worker_t *v = &s->workers[(start + i) % n];
            if (v == w)
                continue;
            weft__stat_inc(&w->n_steal_try);
            /* Tasks not started (and ones that may migrate) only: the
             * victim's next slot and woken lists stay its own. */
            weft_task_t *t = steal_fresh(&v->deque);
            if (t) {
                weft__stat_inc(&w->n_steal);
                return t;
            }
        }
        weft_task_t *t = weft__inject_pop(w, false);
        if (t)
            return t;
        for (int i = 0; i < 32; i++)
            ck_pr_stall();
    }
    return NULL;
}

/* Stops spinning; returns true if the caller must look again. */
static bool stop_spinning(weft__worker_t *w, bool found)
{
    struct weft_sched *s = w->sched;
    w->spinning = false;
    uint32_t left = atomic_fetch_sub_explicit(&s->park.nspinning, 1, memory_order_seq_cst) - 1;
    if (left != 0)
        return false;
    if (found) {
        /* The last spinner found work: there may be more, wake one more. */
        weft__park_notify(s);
        return false;
    }
    /* The last spinner gives up: work pushed while it was counted as
     * spinning woke nobody, so look once more (seq_cst: pairs with the
     * fence in weft__park_notify). */
    atomic_thread_fence(memory_order_seq_cst);
    return weft__work_visible(s);
}

static weft_task_t *find_work(weft__worker_t *w)
{
    struct weft_sched *s = w->sched;
    for (;;) {
        weft_task_t *t = next_local(w);
        if (t) {
            if (w->spinning) /* a spinner that finds work stops counting */
                stop_spinning(w, true);
            return t;
        }
        if (atomic_load_explicit(&s->exiting, memory_order_acquire))
            return NULL;
        if (!w->spinning) {
            /* At most half of the busy workers spin (Go's rule). */
            uint32_t spinning = atomic_load_explicit(&s->park.nspinning, memory_order_relaxed);
            uint32_t idle = atomic_load_explicit(&s->park.nidle, memory_order_relaxed);
            if (2 * spinning < s->nworkers - idle) {
                w->spinning = true;
                atomic_fetch_add_explicit(&s->park.nspinning, 1, memory_order_seq_cst);
            }
        }
        if (w->spinning) {
            t = steal(w);
            if (t) {
                stop_spinning(w, true);
                return t;
            }
            if (stop_spinning(w, false)) {
                w->spinning = true;
                atomic_fetch_add_explicit(&s->park.nspinning, 1, memory_order_seq_cst);
                continue;
            }
        }
        weft__park_wait(w);
    }
}

static void *worker_main(void *arg)
{
    weft__worker_t *w = arg;
    tls_worker = w;
    weft__ctx_init_thread(&w->thread_ctx);
    weft__overflow_handler_install(w);
    weft__thread_begin(w->sched, w->index); /* pinning, the start hook */
    for (;;) {
        weft_task_t *t = prepare(w, find_work(w));
        if (t) {
            switch_to(w, &w->thread_ctx, t, 0);
            w = weft__self();
            run_post(w);
            continue;
        }
        if (atomic_load_explicit(&w->sched->exiting, memory_order_acquire))
            break;
    }
    weft__thread_end(w->sched, w->index);
    weft__overflow_handler_remove(w);
    tls_worker = NULL;
    return NULL;
}

int weft__workers_start(struct weft_sched *s)
{
    for (unsigned i = 0; i < s->nworkers; i++)
        weft__mpsc_init(&s->workers[i].inbox);
    unsigned started = 0;
    for (; started < s->nworkers; started++) {
        weft__worker_t *w = &s->workers[started];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            break;
    }
    if (started == s->nworkers)
        return 0;
    atomic_store(&s->exiting, 1);
    weft__park_wake_all(s);
    for (unsigned i = 0; i < started; i++)
        pthread_join(s->workers[i].thread, NULL);
    return WEFT_ENOMEM;
}

void weft__workers_join(struct weft_sched *s)
{
    atomic_store_explicit(&s->exiting, 1, memory_order_seq_cst);
    weft__park_wake_all(s);
    for (unsigned i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i].thread, NULL);
}
