/*
 * test_fault.c - out of memory at every allocation site: one program that
 * uses every part of weft, run once per allocation it makes, with that
 * allocation failing (the weft_fault library, built with
 * WEFT_FAULT_INJECTION; sched/fault.h).
 *
 * The fault fires once, so each step of the program that gets WEFT_ENOMEM
 * notes it and tries again, and every run must still reach the full,
 * checked result, leave no task or stack behind, and (under ASan) leak
 * nothing.  A task that ends with WEFT_ENOMEM never started (it got no
 * stack): the task bodies here retry their own steps, so that is the only
 * way one of them ends with it.  The walk runs on one worker, so that the
 * number of allocations is the same from run to run.
 */
#define _POSIX_C_SOURCE 200809L /* POSIX calls under -std=c11 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../unit/check.h"
#include "sched/fault.h"
#include "weft.h"

#define TRIES 5 /* the fault fires once: a step needs two tries at most */

/* How often a step was told WEFT_ENOMEM, over the whole test. */
static atomic_long enomem_seen;

/* After WEFT_ENOMEM: whether to try again. */
static bool again(int *tries)
{
    atomic_fetch_add(&enomem_seen, 1);
    if (++*tries < TRIES)
        return true;
    CHECK(!"WEFT_ENOMEM again and again: the fault fires only once");
    return false;
}

/* rcvar = expr, again while it gives WEFT_ENOMEM. */
#define RETRY(rcvar, expr)                                                 \
    do {                                                                   \
        int tries_ = 0;                                                    \
        while (((rcvar) = (expr)) == WEFT_ENOMEM && again(&tries_))        \
            ;                                                              \
    } while (0)

/* A loop whose body runs once, then again while cond holds (after a
 * WEFT_ENOMEM, which again() counts and bounds). */
#define ATTEMPT(cond)                                                      \
    for (int tries_ = -1; tries_ < 0 ? (tries_ = 0, true) : ((cond) && again(&tries_));)

/* ptr = expr, again while it gives NULL with WEFT_ENOMEM. */
#define RETRY_PTR(ptr, expr)                                               \
    do {                                                                   \
        int tries_ = 0;                                                    \
        while (!((ptr) = (expr)) && weft_last_error() == WEFT_ENOMEM &&    \
               again(&tries_))                                             \
            ;                                                              \
    } while (0)

static weft_task_t *spawn(weft_fn fn, void *arg)
{
    weft_task_t *t;
    RETRY_PTR(t, weft_spawn(fn, arg));
    CHECK(t != NULL);
    return t;
}

/* Runs fn(arg) as a task until it has run (not WEFT_ENOMEM); its code. */
static int run_one(weft_fn fn, void *arg, void **result)
{
    int rc = WEFT_ENOMEM;
    ATTEMPT(rc == WEFT_ENOMEM) {
        weft_task_t *t = spawn(fn, arg);
        if (!t)
            return -1;
        rc = weft_await(t, result);
        weft_task_release(t);
    }
    return rc;
}

static int sleep_ms(int64_t ms)
{
    int rc;
    RETRY(rc, weft_sleep(ms));
    return rc;
}

/* ---- task bodies ---------------------------------------------------------- */

static int square(void *arg, void **result)
{
    intptr_t i = (intptr_t)arg;
    int rc = sleep_ms(1);
    if (rc != 0)
        return rc;
    *result = (void *)(i * i);
    return 0;
}

static int sleep_forever(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return weft_sleep(WEFT_FOREVER);
}

static int triple(void *arg, void **result)
{
    *result = (void *)((intptr_t)arg * 3);
    return 0;
}

/* Runs square(args[i]) for i < n as tasks, all at once, until each has run;
 * the sum of the squares, or -1. */
#define MAXN 32
static long run_squares(intptr_t first, size_t n)
{
    intptr_t pending[MAXN];
    size_t nleft = n;
    long sum = 0;
    for (size_t i = 0; i < n; i++)
        pending[i] = first + (intptr_t)i;
    ATTEMPT(nleft > 0) {
        weft_task_t *t[MAXN];
        weft_outcome_t out[MAXN];
        for (size_t k = 0; k < nleft; k++)
            if (!(t[k] = spawn(square, (void *)pending[k])))
                return -1;
        int rc;
        RETRY(rc, weft_gather(t, nleft, out, WEFT_RETURN_EXCEPTIONS));
        CHECK_EQ(rc, 0);
        size_t left = 0;
        for (size_t k = 0; k < nleft; k++) {
            if (out[k].rc == WEFT_ENOMEM) {
                pending[left++] = pending[k];
            } else {
                CHECK_EQ(out[k].rc, 0);
                sum += (long)(intptr_t)out[k].result;
            }
            weft_task_release(t[k]);
        }
        nleft = left;
        if (rc != 0)
            return -1;
    }
    return nleft == 0 ? sum : -1;
}

/* ---- the program's steps: each returns its checked result ---------------- */

/* What one run of the program produced, compared with WANT below. */
struct outcome {
    long spawned, named, gathered, waited, waited_for, timed_out, scoped, grouped;
    long completed, channelled, synced, slept, blocking, looped, echoed;
    long tasks_left, stacks_left; /* at the end, over those at the start */
};

static const struct outcome WANT = {
    .spawned = 55, .named = 49 + 9, .gathered = 650, .waited = 2870, .waited_for = 81,
    .timed_out = 1, .scoped = 2, .grouped = 55, .completed = 385, .channelled = 5050,
    .synced = 8, .slept = 1, .blocking = 42, .looped = 1000, .echoed = 1,
};

static long step_spawn(void)
{
    long sum = 0;
    for (intptr_t i = 1; i <= 5; i++) {
        void *r = NULL;
        CHECK_EQ(run_one(square, (void *)i, &r), 0);
        sum += (long)(intptr_t)r;
    }
    return sum;
}

/* A name, a rename, a stack of its own (a mapping of its own), and a
 * default name made on demand. */
static long step_named(void)
{
    weft_spawn_opts_t opts = {.name = "fault-named", .stack_size = 128 * 1024};
    int rc = WEFT_ENOMEM;
    void *r = NULL;
    ATTEMPT(rc == WEFT_ENOMEM) {
        weft_task_t *t;
        RETRY_PTR(t, weft_spawn_opts(square, (void *)7, &opts));
        if (!t)
            return -1;
        const char *name = weft_task_name(t);
        CHECK(name && strcmp(name, "fault-named") == 0);
        RETRY(rc, weft_task_set_name(t, "renamed"));
        CHECK_EQ(rc, 0);
        name = weft_task_name(t);
        CHECK(name && strcmp(name, "renamed") == 0);
        rc = weft_await(t, &r);
        weft_task_release(t);
    }
    CHECK_EQ(rc, 0);
    long sum = (long)(intptr_t)r;
    rc = WEFT_ENOMEM;
    ATTEMPT(rc == WEFT_ENOMEM) {
        weft_task_t *t = spawn(square, (void *)3);
        if (!t)
            return -1;
        const char *name;
        RETRY_PTR(name, weft_task_name(t));
        CHECK(name && strncmp(name, "Task-", 5) == 0);
        rc = weft_await(t, &r);
        weft_task_release(t);
    }
    CHECK_EQ(rc, 0);
    return sum + (long)(intptr_t)r;
}

/* weft_wait over 20 tasks (it sorts them through memory of its own). */
static long step_wait(void)
{
    enum { N = 20 };
    weft_task_t *t[N], *orig[N];
    for (intptr_t i = 0; i < N; i++)
        if (!(orig[i] = t[i] = spawn(square, (void *)(i + 1))))
            return -1;
    int rc;
    RETRY(rc, weft_wait(t, N, WEFT_FOREVER, WEFT_ALL_COMPLETED));
    CHECK_EQ(rc, N);
    long sum = 0;
    for (intptr_t i = 0; i < N; i++) {
        void *r = NULL;
        rc = weft_await(orig[i], &r);
        if (rc == WEFT_ENOMEM)
            rc = run_one(square, (void *)(i + 1), &r);
        CHECK_EQ(rc, 0);
        sum += (long)(intptr_t)r;
        weft_task_release(orig[i]);
    }
    return sum;
}

/* wait_for, with t's own WEFT_ENOMEM (it never ran: run it again) told
 * apart from the wait's (no room for the timer: wait again). */
static int wait_for_retry(weft_fn fn, void *arg, int64_t ms, void **r, bool *cancelled)
{
    int rc = WEFT_ENOMEM;
    weft_task_t *t = NULL;
    ATTEMPT(rc == WEFT_ENOMEM) {
        if (!t && !(t = spawn(fn, arg)))
            return -1;
        rc = weft_wait_for(t, ms, r);
        if (rc == WEFT_ENOMEM && weft_task_done(t)) {
            weft_task_release(t);
            t = NULL;
        }
    }
    if (t) {
        *cancelled = weft_task_cancelled(t);
        weft_task_release(t);
    }
    return rc;
}

static long step_wait_for(long *timed_out)
{
    void *r = NULL;
    bool cancelled = false;
    CHECK_EQ(wait_for_retry(square, (void *)9, 60000, &r, &cancelled), 0);
    CHECK(!cancelled);
    CHECK_EQ(wait_for_retry(sleep_forever, NULL, 5, NULL, &cancelled), WEFT_ETIMEDOUT);
    *timed_out = cancelled;
    return (long)(intptr_t)r;
}

/* A scope that expires, and one that does not. */
static long step_scopes(void)
{
    long ok = 0;
    int64_t ms[2] = {5, 60000};
    for (int s = 0; s < 2; s++) {
        int rc = WEFT_ENOMEM, ex = WEFT_ENOMEM;
        ATTEMPT(ex == WEFT_ENOMEM) {
            weft_timeout_t *h;
            RETRY_PTR(h, weft_timeout_enter(ms[s]));
            if (!h)
                return -1;
            /* WEFT_ENOMEM from the exit: no room for the deadline. */
            rc = s == 0 ? weft_sleep(WEFT_FOREVER) : sleep_ms(1);
            ex = weft_timeout_exit(h);
        }
        if (s == 0)
            ok += rc == WEFT_ECANCELED && ex == WEFT_ETIMEDOUT;
        else
            ok += rc == 0 && ex == 0;
    }
    return ok;
}

struct group_try {
    atomic_long sum;
};

struct group_item {
    struct group_try *g;
    intptr_t i;
};

static int group_child(void *arg, void **result)
{
    (void)result;
    struct group_item *it = arg;
    int rc = sleep_ms(1);
    if (rc != 0)
        return rc;
    atomic_fetch_add(&it->g->sum, (long)it->i);
    return 0;
}

/* A group of 10: a child that never started fails the group, which is
 * then tried again whole. */
static long step_group(void)
{
    int rc = WEFT_ENOMEM;
    long sum = -1;
    ATTEMPT(rc == WEFT_ENOMEM) {
        struct group_try g = {0};
        struct group_item items[10];
        weft_group_t *grp;
        RETRY_PTR(grp, weft_group_new());
        if (!grp)
            return -1;
        for (int i = 0; i < 10; i++) {
            items[i] = (struct group_item){&g, i + 1};
            weft_task_t *c;
            RETRY_PTR(c, weft_group_spawn(grp, group_child, &items[i]));
            if (!c) {
                CHECK_EQ(weft_last_error(), WEFT_ESHUTDOWN); /* a child failed */
                break;
            }
        }
        rc = weft_group_join(grp);
        int errs[10];
        int n = weft_group_errors(grp, errs, 10);
        CHECK(rc == 0 ? n == 0 : (n >= 1 && errs[0] == rc));
        weft_group_free(grp);
        sum = atomic_load(&g.sum);
    }
    CHECK_EQ(rc, 0);
    return sum;
}

static long step_as_completed(void)
{
    enum { N = 10 };
    weft_task_t *t[N];
    for (intptr_t i = 0; i < N; i++)
        if (!(t[i] = spawn(square, (void *)(i + 1))))
            return -1;
    weft_as_completed_t *it;
    RETRY_PTR(it, weft_as_completed_new(t, N, 60000));
    long sum = 0;
    for (int k = 0; it && k < N; k++) {
        weft_task_t *d = NULL;
        int rc;
        RETRY(rc, weft_as_completed_next(it, &d));
        CHECK_EQ(rc, 1);
        if (rc != 1)
            break;
        void *r = NULL;
        rc = weft_await(d, &r);
        if (rc == WEFT_ENOMEM) {
            intptr_t i = 0;
            while (t[i] != d)
                i++;
            rc = run_one(square, (void *)(i + 1), &r);
        }
        CHECK_EQ(rc, 0);
        sum += (long)(intptr_t)r;
    }
    int rc;
    if (it)
        RETRY(rc, weft_as_completed_next(it, &t[0]));
    CHECK(it && rc == 0);
    weft_as_completed_free(it);
    for (int i = 0; i < N; i++)
        weft_task_release(t[i]);
    return sum;
}

/* Two tasks that need each other: waits until both are done or one has
 * failed; then, if one failed, unblocks the other with stop(ctx).  Returns
 * whether both ended with 0. */
static bool pair(weft_fn fa, void *a, weft_fn fb, void *b, void (*stop)(void *), void *ctx)
{
    weft_task_t *t[2], *orig[2];
    if (!(t[0] = orig[0] = spawn(fa, a)))
        return false;
    if (!(t[1] = orig[1] = spawn(fb, b))) {
        weft_cancel(orig[0]);
        weft_await(orig[0], NULL);
        weft_task_release(orig[0]);
        return false;
    }
    int rc;
    RETRY(rc, weft_wait(t, 2, WEFT_FOREVER, WEFT_FIRST_EXCEPTION));
    if (rc != 2)
        stop(ctx);
    weft_outcome_t out[2];
    RETRY(rc, weft_gather(orig, 2, out, WEFT_RETURN_EXCEPTIONS));
    CHECK_EQ(rc, 0);
    weft_task_release(orig[0]);
    weft_task_release(orig[1]);
    /* Only a task that never started may fail, and only then does the
     * other one see the stop. */
    for (int i = 0; i < 2; i++)
        CHECK(out[i].rc == 0 || out[i].rc == WEFT_ENOMEM || out[i].rc == WEFT_ECLOSED ||
              out[i].rc == WEFT_ECANCELED);
    return out[0].rc == 0 && out[1].rc == 0 && rc == 0;
}

struct chan_try {
    weft_chan_t *c;
    long sum;
};

static int producer(void *arg, void **result)
{
    (void)result;
    struct chan_try *ct = arg;
    for (intptr_t i = 1; i <= 100; i++) {
        int rc = weft_chan_send(ct->c, (void *)i);
        if (rc != 0)
            return rc;
    }
    return weft_chan_close(ct->c);
}

static int consumer(void *arg, void **result)
{
    (void)result;
    struct chan_try *ct = arg;
    for (;;) {
        void *item;
        int rc = weft_chan_recv(ct->c, &item);
        if (rc == WEFT_ECLOSED)
            return 0;
        if (rc != 0)
            return rc;
        ct->sum += (long)(intptr_t)item;
    }
}

static void close_chan(void *ctx)
{
    weft_chan_close(((struct chan_try *)ctx)->c);
}

static long step_channel(void)
{
    ATTEMPT(true) {
        struct chan_try ct = {0};
        RETRY_PTR(ct.c, weft_chan_new(4));
        if (!ct.c)
            return -1;
        bool ok = pair(producer, &ct, consumer, &ct, close_chan, &ct);
        weft_chan_free(ct.c);
        if (ok)
            return ct.sum;
    }
    return -1;
}

struct sync_state {
    weft_event_t *e;
    weft_sem_t *s;
    weft_mutex_t *m;
    int counter;       /* under m */
    atomic_int inside; /* holders of a permit of s */
    atomic_int most;
};

static int sync_body(void *arg, void **result)
{
    (void)result;
    struct sync_state *st = arg;
    int rc = weft_event_wait(st->e);
    if (rc == 0)
        rc = weft_sem_acquire(st->s);
    if (rc != 0)
        return rc;
    int in = atomic_fetch_add(&st->inside, 1) + 1;
    for (int most = atomic_load(&st->most); in > most;)
        if (atomic_compare_exchange_weak(&st->most, &most, in))
            break;
    rc = weft_mutex_lock(st->m);
    if (rc == 0) {
        int v = st->counter;
        weft_yield(); /* others queue on the mutex meanwhile */
        st->counter = v + 1;
        rc = weft_mutex_unlock(st->m);
    }
    atomic_fetch_sub(&st->inside, 1);
    int rel = weft_sem_release(st->s);
    return rc != 0 ? rc : rel;
}

/* Eight tasks wait for an event, then take one of two permits and a
 * mutex in turn. */
static long step_sync(void)
{
    enum { N = 8 };
    struct sync_state st = {0};
    RETRY_PTR(st.e, weft_event_new());
    RETRY_PTR(st.s, weft_sem_new(2));
    RETRY_PTR(st.m, weft_mutex_new());
    if (!st.e || !st.s || !st.m)
        return -1;
    weft_task_t *t[N];
    for (int i = 0; i < N; i++)
        if (!(t[i] = spawn(sync_body, &st)))
            return -1;
    for (int i = 0; i < 3; i++)
        weft_yield(); /* let them reach the event */
    weft_event_set(st.e);
    weft_outcome_t out[N];
    int rc;
    RETRY(rc, weft_gather(t, N, out, WEFT_RETURN_EXCEPTIONS));
    CHECK_EQ(rc, 0);
    for (int i = 0; i < N; i++) {
        if (out[i].rc == WEFT_ENOMEM)
            out[i].rc = run_one(sync_body, &st, NULL);
        CHECK_EQ(out[i].rc, 0);
        weft_task_release(t[i]);
    }
    CHECK(atomic_load(&st.most) <= 2);
    weft_event_free(st.e);
    weft_sem_free(st.s);
    weft_mutex_free(st.m);
    return st.counter;
}

static int count_range(int64_t lo, int64_t hi, void *arg)
{
    atomic_int *counts = arg;
    for (int64_t i = lo; i < hi; i++)
        atomic_fetch_add(&counts[i], 1);
    return 0;
}

/* Every index of the loop exactly once. */
static long step_parallel_for(void)
{
    enum { N = 1000 };
    static atomic_int counts[N];
    for (int i = 0; i < N; i++)
        atomic_store(&counts[i], 0);
    int rc;
    RETRY(rc, weft_parallel_for(0, N, 10, count_range, counts));
    CHECK_EQ(rc, 0);
    long once = 0;
    for (int i = 0; i < N; i++)
        once += atomic_load(&counts[i]) == 1;
    return once;
}

/* ---- sockets: an echo through a listener, a name lookup and a
 * connection ------------------------------------------------------------- */

#define ECHO_BYTES 20000

struct echo_try {
    weft_sock_t *listener;
    int port;
    long verified; /* bytes the client got back intact */
};

/* Echoes connections until one carried all the bytes: a connect that
 * failed after the kernel had begun it leaves a connection that ends at
 * once, which is simply served and closed. */
static int server(void *arg, void **result)
{
    (void)result;
    struct echo_try *et = arg;
    for (;;) {
        weft_sock_t *c;
        int rc;
        RETRY(rc, weft_tcp_accept(et->listener, &c));
        if (rc != 0)
            return rc;
        long echoed = 0;
        char buf[1000];
        for (;;) {
            ssize_t n;
            RETRY(n, weft_read(c, buf, sizeof buf));
            if (n == WEFT_ECANCELED) {
                weft_close(c);
                return WEFT_ECANCELED;
            }
            if (n <= 0)
                break;
            if ((rc = weft_write(c, buf, (size_t)n)) != 0)
                break;
            echoed += n;
        }
        weft_close(c);
        if (echoed == ECHO_BYTES)
            return 0;
    }
}

static int client(void *arg, void **result)
{
    (void)result;
    struct echo_try *et = arg;
    weft_sock_t *s;
    int rc;
    RETRY(rc, weft_tcp_connect("localhost", et->port, &s));
    if (rc != 0)
        return rc;
    static char out[ECHO_BYTES];
    for (int i = 0; i < ECHO_BYTES; i++)
        out[i] = (char)(i * 7 + 1);
    rc = weft_write(s, out, ECHO_BYTES);
    long got = 0;
    char buf[4096];
    while (rc == 0 && got < ECHO_BYTES) {
        ssize_t n;
        RETRY(n, weft_read(s, buf, sizeof buf));
        if (n <= 0) {
            rc = n < 0 ? (int)n : WEFT_EINVAL;
            break;
        }
        if (memcmp(buf, out + got, (size_t)n) != 0)
            rc = WEFT_EINVAL;
        got += n;
    }
    weft_close(s);
    if (rc == 0)
        et->verified = got;
    return rc;
}

static long step_tcp(void)
{
    ATTEMPT(true) {
        struct echo_try et = {0};
        int rc;
        RETRY(rc, weft_tcp_listen("127.0.0.1", 0, 0, &et.listener));
        CHECK_EQ(rc, 0);
        if (rc != 0)
            return -1;
        et.port = weft_tcp_port(et.listener);
        weft_task_t *t[2], *orig[2] = {NULL, NULL};
        bool ok = false;
        if ((t[0] = orig[0] = spawn(server, &et)) && (t[1] = orig[1] = spawn(client, &et))) {
            RETRY(rc, weft_wait(t, 2, WEFT_FOREVER, WEFT_FIRST_EXCEPTION));
            if (rc != 2) { /* one never started: the other may wait forever */
                weft_cancel(orig[0]);
                weft_cancel(orig[1]);
            }
            weft_outcome_t out[2];
            RETRY(rc, weft_gather(orig, 2, out, WEFT_RETURN_EXCEPTIONS));
            CHECK_EQ(rc, 0);
            for (int i = 0; i < 2; i++)
                CHECK(out[i].rc == 0 || out[i].rc == WEFT_ENOMEM || out[i].rc == WEFT_ECANCELED);
            ok = out[0].rc == 0 && out[1].rc == 0;
            weft_task_release(orig[1]);
        }
        if (orig[0])
            weft_task_release(orig[0]);
        weft_close(et.listener);
        if (ok)
            return et.verified == ECHO_BYTES;
    }
    return -1;
}

/* ---- the program ---------------------------------------------------------- */

static int program(void *arg, void **result)
{
    (void)result;
    struct outcome *o = arg;
    weft_stats_t before, after;
    CHECK_EQ(weft_stats(&before), 0);
    o->spawned = step_spawn();
    o->named = step_named();
    o->gathered = run_squares(1, 12);
    o->waited = step_wait();
    o->waited_for = step_wait_for(&o->timed_out);
    o->scoped = step_scopes();
    o->grouped = step_group();
    o->completed = step_as_completed();
    o->channelled = step_channel();
    o->synced = step_sync();
    o->slept = sleep_ms(2) == 0;
    void *r = NULL;
    int rc;
    RETRY(rc, weft_run_blocking(triple, (void *)14, &r));
    CHECK_EQ(rc, 0);
    o->blocking = (long)(intptr_t)r;
    o->looped = step_parallel_for();
    o->echoed = step_tcp();
    /* A finished task gives its stack back just after its last switch,
     * maybe on the other worker a moment after its awaiter saw it done. */
    double start = now_ms();
    do
        CHECK_EQ(weft_stats(&after), 0);
    while ((after.tasks_live != before.tasks_live ||
            after.stacks_in_use != before.stacks_in_use) &&
           now_ms() - start < 20000 && sleep_ms(1) == 0);
    o->tasks_left = (long)after.tasks_live - (long)before.tasks_live;
    o->stacks_left = (long)after.stacks_in_use - (long)before.stacks_in_use;
    return 0;
}

/* Runs the program on `workers` workers to its end: a run the fault
 * stopped before the program began (the scheduler could not start, or the
 * program got no stack) is run again.  Asserts the whole result.  The
 * watchdog is on (and never fires) for its allocations. */
static void run_program(unsigned workers)
{
    weft_config_t cfg = {.workers = workers, .watchdog_ms = 600000};
    struct outcome o;
    int rc = WEFT_ENOMEM;
    for (int tries = 0; rc == WEFT_ENOMEM && tries < TRIES; tries++) {
        memset(&o, 0, sizeof o);
        rc = weft_run(&cfg, program, &o, NULL);
    }
    assert_int_equal(rc, 0);
    assert_no_check_failures();
#define FIELD(f) assert_int_equal(o.f, WANT.f)
    FIELD(spawned); FIELD(named); FIELD(gathered); FIELD(waited); FIELD(waited_for);
    FIELD(timed_out); FIELD(scoped); FIELD(grouped); FIELD(completed); FIELD(channelled);
    FIELD(synced); FIELD(slept); FIELD(blocking); FIELD(looped); FIELD(echoed);
    FIELD(tasks_left); FIELD(stacks_left);
#undef FIELD
}

/* ---- the walk ------------------------------------------------------------- */

struct site_count {
    const char *site;
    unsigned hits;
};

/*
 * Counts the allocations of one run (K), then fails each of them in turn.
 * On one worker the program makes the same allocations in every run, so
 * the Nth always exists and must fail.  On two, stealing changes a few of
 * them (task chunks, stacks) from run to run: a run that made fewer than N
 * has nothing to fail, and only its result is checked.
 */
static void walk(unsigned workers)
{
    weft__fault_arm(0);
    run_program(workers);
    uint64_t k = weft__fault_count();
    assert_true(k > 0);
    assert_null(weft__fault_site());
    if (workers == 1) {
        weft__fault_arm(0);
        run_program(workers);
        assert_int_equal(weft__fault_count(), k);
    }
    struct site_count sites[64];
    size_t nsites = 0;
    unsigned unfired = 0;
    long seen_before = atomic_load(&enomem_seen);
    double start = now_ms();
    for (uint64_t n = 1; n <= k; n++) {
        weft__fault_arm(n);
        run_program(workers);
        const char *site = weft__fault_site();
        if (workers > 1 && weft__fault_count() < n) {
            unfired++;
            continue;
        }
        assert_true(weft__fault_count() >= n);
        assert_non_null(site);
        size_t i = 0;
        while (i < nsites && strcmp(sites[i].site, site) != 0)
            i++;
        if (i == nsites) {
            assert_true(nsites < sizeof sites / sizeof sites[0]);
            sites[nsites++] = (struct site_count){site, 0};
        }
        sites[i].hits++;
    }
    weft__fault_arm(0);
    printf("fault walk on %u worker%s: K = %llu allocations, %zu sites, %.1f s, "
           "WEFT_ENOMEM seen %ld times, %u runs made fewer than N\n",
           workers, workers == 1 ? "" : "s", (unsigned long long)k, nsites,
           (now_ms() - start) / 1e3, atomic_load(&enomem_seen) - seen_before, unfired);
    for (size_t i = 0; i < nsites; i++)
        printf("  %-22s failed in %u run%s\n", sites[i].site, sites[i].hits,
               sites[i].hits == 1 ? "" : "s");
}

static void test_fault_walk_one_worker(void **state)
{
    (void)state;
    walk(1);
}

static void test_fault_walk_two_workers(void **state)
{
    (void)state;
    walk(2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_walk_one_worker),
        cmocka_unit_test(test_fault_walk_two_workers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
