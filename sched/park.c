/*
 * park.c - idle workers: spinning, parking and waking, after Go's
 * scheduler.
 *
 * A worker with nothing to do first spins (steals, checks the injector);
 * at most half the busy workers spin at once.  When it gives up it parks on
 * its own event count (Concurrency Kit's ck_ec32 over a futex: a wake that
 * finds nobody sleeping costs no system call).  A producer of work wakes a
 * parked worker only when no worker is spinning (a spinner will find the
 * work); the woken worker starts out spinning, and the last spinner that
 * finds work wakes one more, so wake-ups spread as work does.
 *
 * No lost wake-up: a parking worker announces itself idle (nidle), then a
 * seq_cst fence, then looks at every queue once more; a producer makes its
 * work visible, then a seq_cst fence, then reads nidle and nspinning.  With
 * both fences, either the parker sees the work or the producer sees the
 * parker (the store-load "Dekker" pattern).  The last spinner to give up
 * does the same look (worker.c: stop_spinning).
 *
 * Pushes to a worker's own deque (every spawn) skip the fence
 * (weft__park_notify_local): a worker parking at that very moment may miss
 * such a push.  The pushing worker would run the task itself eventually,
 * but it may be busy for long (or spin on that task's progress), so a
 * parked worker also looks at the queues again on its own, 1 ms after it
 * parks and then at growing intervals (ck_ec's backoff with a predicate).
 * The miss can only happen as it parks; later pushes see it idle.
 *
 * A started task resumes only on its own worker (worker.c), so a wake-up
 * from elsewhere goes to that worker's inbox and wakes that worker, if it
 * is parked (weft__park_wake_home), with the same store-load pattern over
 * its `parked` flag.
 */
#include "sched/fault.h"
#include "sched/internal.h"

#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void weft__futex_wait(_Atomic uint32_t *addr, uint32_t val)
{
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

void weft__futex_wake(_Atomic uint32_t *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static int ec_gettime(const struct ck_ec_ops *ops, struct timespec *out)
{
    (void)ops;
    return clock_gettime(CLOCK_MONOTONIC, out);
}

static void ec_wait32(const struct ck_ec_wait_state *st, const uint32_t *addr,
                      uint32_t expected, const struct timespec *deadline)
{
    (void)st;
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline. */
    syscall(SYS_futex, addr, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, deadline,
            NULL, FUTEX_BITSET_MATCH_ANY);
}

static void ec_wake32(const struct ck_ec_ops *ops, const uint32_t *addr)
{
    (void)ops;
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static const struct ck_ec_ops ec_ops = {
    .gettime = ec_gettime,
    .wait32 = ec_wait32,
    .wake32 = ec_wake32,
    .initial_wait_ns = 1000000, /* first look again after 1 ms */
};

static const struct ck_ec_mode ec_mode = {.ops = &ec_ops, .single_producer = false};

int weft__park_init(struct weft_sched *s)
{
    weft__park_t *p = &s->park;
    atomic_init(&p->nspinning, 0);
    atomic_init(&p->nidle, 0);
    p->nidle_list = 0;
    p->idle = weft__fault_inject("idle list") ? NULL : calloc(s->nworkers, sizeof *p->idle);
    if (!p->idle)
        return WEFT_ENOMEM;
    pthread_mutex_init(&p->lock, NULL);
    for (unsigned i = 0; i < s->nworkers; i++)
        ck_ec32_init(&s->workers[i].ec, 0);
    return 0;
}

void weft__park_destroy(struct weft_sched *s)
{
    pthread_mutex_destroy(&s->park.lock);
    free(s->park.idle);
}

int weft__work_visible(struct weft_sched *s)
{
    if (!weft__inject_empty(s))
        return 1;
    for (unsigned i = 0; i < s->nworkers; i++) {
        weft__worker_t *v = &s->workers[i];
        if (weft__deque_nonempty(&v->deque))
            return 1;
    }
    return 0;
}

void weft__park_notify(struct weft_sched *s)
{
    weft__park_t *p = &s->park;
    /* seq_cst fence: the work our caller published is ordered before the
     * loads below (pairs with the fence in weft__park_wait). */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&p->nidle, memory_order_relaxed) == 0 ||
        atomic_load_explicit(&p->nspinning, memory_order_relaxed) != 0)
        return;
    uint32_t zero = 0;
    if (!atomic_compare_exchange_strong_explicit(&p->nspinning, &zero, 1,
                                                 memory_order_seq_cst, memory_order_relaxed))
        return;
    weft__worker_t *w = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->nidle_list > 0) {
        w = &s->workers[p->idle[--p->nidle_list]];
        w->idle = false;
        atomic_fetch_sub_explicit(&p->nidle, 1, memory_order_relaxed);
        /* The woken worker is counted in nspinning on its behalf. */
        atomic_store_explicit(&w->woken_spinning, true, memory_order_relaxed);
    }
    pthread_mutex_unlock(&p->lock);
    if (!w) {
        atomic_fetch_sub_explicit(&p->nspinning, 1, memory_order_seq_cst);
        return;
    }
    ck_ec32_inc(&w->ec, &ec_mode);
}

void weft__park_wake_home(weft__worker_t *w)
{
    /* seq_cst fence: the push to w's inbox is ordered before the load of
     * parked (pairs with the fence in weft__park_wait): either w sees the
     * task in its last look or we see it parked. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&w->parked, memory_order_relaxed))
        ck_ec32_inc(&w->ec, &ec_mode);
}

void weft__park_notify_local(struct weft_sched *s)
{
    if (atomic_load_explicit(&s->park.nidle, memory_order_relaxed) != 0 &&
        atomic_load_explicit(&s->park.nspinning, memory_order_relaxed) == 0)
        weft__park_notify(s);
}

/* What a parking worker must not sleep through: shared work, its own
 * inbox, or the end. */
static int nothing_to_sleep_through(weft__worker_t *w)
{
    struct weft_sched *s = w->sched;
    return weft__work_visible(s) || !weft__mpsc_empty(&w->inbox) ||
           atomic_load_explicit(&s->exiting, memory_order_acquire);
}

/* Ends a parked wait early when work showed up that woke nobody. */
static int park_pred(const struct ck_ec_wait_state *st, struct timespec *deadline)
{
    (void)deadline;
    return nothing_to_sleep_through(st->data);
}

static void unlist(weft__park_t *p, weft__worker_t *w)
{
    for (unsigned i = 0; i < p->nidle_list; i++) {
        if (p->idle[i] == w->index) {
            p->idle[i] = p->idle[--p->nidle_list];
            break;
        }
    }
    w->idle = false;
    atomic_fetch_sub_explicit(&p->nidle, 1, memory_order_relaxed);
}

void weft__park_wait(weft__worker_t *w)
{
    struct weft_sched *s = w->sched;
    weft__park_t *p = &s->park;
    uint32_t seen = ck_ec32_value(&w->ec);
    pthread_mutex_lock(&p->lock);
    p->idle[p->nidle_list++] = w->index;
    w->idle = true;
    atomic_fetch_add_explicit(&p->nidle, 1, memory_order_relaxed);
    pthread_mutex_unlock(&p->lock);
    atomic_store_explicit(&w->parked, true, memory_order_relaxed);
    /* seq_cst fence: our idleness before our last look at the queues
     * (pairs with the fences in weft__park_notify and
     * weft__park_wake_home). */
    atomic_thread_fence(memory_order_seq_cst);
    if (nothing_to_sleep_through(w)) {
        pthread_mutex_lock(&p->lock);
        if (w->idle)
            unlist(p, w);
        pthread_mutex_unlock(&p->lock);
    } else {
        weft__stat_inc(&w->n_park);
        ck_ec32_wait_pred(&w->ec, &ec_mode, seen, park_pred, w, NULL);
        weft__stat_inc(&w->n_wake);
        pthread_mutex_lock(&p->lock);
        if (w->idle) /* woken for exit, not by a notify */
            unlist(p, w);
        pthread_mutex_unlock(&p->lock);
    }
    atomic_store_explicit(&w->parked, false, memory_order_relaxed);
    if (atomic_exchange_explicit(&w->woken_spinning, false, memory_order_relaxed))
        w->spinning = true;
}

void weft__park_wake_all(struct weft_sched *s)
{
    for (unsigned i = 0; i < s->nworkers; i++)
        ck_ec32_inc(&s->workers[i].ec, &ec_mode);
}
