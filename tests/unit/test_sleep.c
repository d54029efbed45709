/*
 * test_sleep.c - unit tests of weft_sleep and of cancellation around it:
 * wake-up order and never early, 100,000 sleepers at once, sleep(0) as a
 * yield, a cancelled sleep, a cancel before the first run, a cancel that is
 * never delivered, and a cancel forwarded through weft_await.
 */
#define _POSIX_C_SOURCE 200809L /* POSIX calls under -std=c11 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "weft.h"

#define MY_ERROR (-77)

/* Suspends the calling task until *flag is set (ctest's timeout bounds it). */
static void wait_for_flag(atomic_int *flag)
{
    while (!atomic_load(flag))
        CHECK_EQ(weft_sleep(1), 0);
}

/* ---- wake-up order, never early ----------------------------------------- */

static atomic_int wake_seq;  /* wake-ups so far in this round */
static atomic_int sleepers_in; /* sleepers at the start line */

struct sleeper {
    int64_t ms;      /* how long to sleep */
    int rc;          /* what weft_sleep returned */
    double elapsed;  /* how long it took, ms */
    int woke;        /* place in the wake-up order, from 0 */
};

static int sleep_and_measure(void *arg, void **result)
{
    (void)result;
    struct sleeper *sl = arg;
    /* Start together: the order must not depend on who started first. */
    atomic_fetch_add(&sleepers_in, 1);
    while (atomic_load(&sleepers_in) < 3)
        weft_yield();
    double t0 = now_ms();
    sl->rc = weft_sleep(sl->ms);
    sl->elapsed = now_ms() - t0;
    sl->woke = atomic_fetch_add(&wake_seq, 1);
    return sl->rc;
}

/*
 * Sleeping is never early, in every round.  The order is checked in up to
 * three rounds: a task can wake on time and still resume late on a busy
 * machine (or under a sanitizer), so one round out of order is retried; a
 * runtime that wakes out of order fails all three.
 */
static int sleep_order(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int in_order = 0;
    for (int round = 0; round < 3 && !in_order; round++) {
        struct sleeper sl[3] = {{.ms = 30}, {.ms = 10}, {.ms = 20}};
        weft_task_t *t[3];
        atomic_store(&wake_seq, 0);
        atomic_store(&sleepers_in, 0);
        for (int i = 0; i < 3; i++) {
            t[i] = weft_spawn(sleep_and_measure, &sl[i]);
            if (t[i] == NULL) {
                CHECK(!"weft_spawn returned NULL");
                return WEFT_ENOMEM; /* the others would outlive sl[] */
            }
        }
        for (int i = 0; i < 3; i++) {
            CHECK_EQ(weft_await(t[i], NULL), 0);
            weft_task_release(t[i]);
        }
        for (int i = 0; i < 3; i++) {
            printf("round %d: sleep(%lld) took %.3f ms, woke %d\n", round,
                   (long long)sl[i].ms, sl[i].elapsed, sl[i].woke);
            CHECK_EQ(sl[i].rc, 0);
            CHECK(sl[i].elapsed >= (double)sl[i].ms);
        }
        /* 10 ms first, then 20 ms, then 30 ms. */
        in_order = sl[1].woke == 0 && sl[2].woke == 1 && sl[0].woke == 2;
    }
    CHECK(in_order);
    return 0;
}

static void test_sleep_order(void **state)
{
    (void)state;
    assert_int_equal(weft_run(NULL, sleep_order, NULL, NULL), 0);
    assert_no_check_failures();
}

/* ---- 100,000 sleepers at once ------------------------------------------- */

/*
 * ThreadSanitizer tracks every task stack as a fiber and dies beyond 8,128
 * threads and fibers alive at once, so it gets fewer live sleepers.
 */
#ifdef WEFT_TSAN
#define SLEEPERS 4000
#else
#define SLEEPERS 100000
#endif

static atomic_int slept;

static int nap(void *arg, void **result)
{
    (void)arg;
    (void)result;
    double t0 = now_ms();
    int rc = weft_sleep(50);
    CHECK(now_ms() - t0 >= 50.0);
    if (rc == 0)
        atomic_fetch_add(&slept, 1);
    return rc;
}

static int many_sleepers(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t **t = calloc(SLEEPERS, sizeof *t);
    if (t == NULL)
        return WEFT_ENOMEM;
    int n = 0;
    while (n < SLEEPERS && (t[n] = weft_spawn(nap, NULL)) != NULL)
        n++;
    if (n < SLEEPERS)
        fprintf(stderr, "weft_spawn %d: %s\n", n, weft_strerror(weft_last_error()));
    CHECK_EQ(n, SLEEPERS);
    for (int i = 0; i < n; i++) {
        CHECK_EQ(weft_await(t[i], NULL), 0);
        weft_task_release(t[i]);
    }
    free(t);
    return 0;
}

static void test_many_sleepers(void **state)
{
    (void)state;
    atomic_store(&slept, 0);
    assert_int_equal(weft_run(NULL, many_sleepers, NULL, NULL), 0);
    assert_int_equal(atomic_load(&slept), SLEEPERS);
    assert_no_check_failures();
}

/* ---- sleep(0) and yield let others run ---------------------------------- */

static atomic_int other_ran;

static int set_flag(void *arg, void **result)
{
    (void)result;
    atomic_store((atomic_int *)arg, 1);
    return 0;
}

/*
 * With one worker, the spawned task can run only if the spawner gives way:
 * each of weft_sleep(0), weft_sleep(-1) and weft_yield() must let it.
 */
static int give_way(void *arg, void **result)
{
    (void)arg;
    (void)result;
    for (int how = 0; how < 3; how++) {
        atomic_store(&other_ran, 0);
        weft_task_t *t = weft_spawn(set_flag, &other_ran);
        if (t == NULL) {
            CHECK(!"weft_spawn returned NULL");
            return weft_last_error();
        }
        int tries = 0;
        while (!atomic_load(&other_ran) && tries < 1000) {
            int rc = how == 0 ? weft_sleep(0) : how == 1 ? weft_sleep(-1) : weft_yield();
            CHECK_EQ(rc, 0);
            tries++;
        }
        CHECK(atomic_load(&other_ran));
        CHECK(tries >= 1);
        printf("way %d: the other task ran after %d yields\n", how, tries);
        CHECK_EQ(weft_await(t, NULL), 0);
        weft_task_release(t);
    }
    return 0;
}

static void test_sleep_zero_yields(void **state)
{
    (void)state;
    weft_config_t cfg = {.workers = 1};
    assert_int_equal(weft_run(&cfg, give_way, NULL, NULL), 0);
    assert_no_check_failures();
}

/* ---- cancelling a sleeping task ----------------------------------------- */

struct victim {
    atomic_int started; /* set just before it sleeps (or awaits) */
    atomic_int entered; /* set when its function is entered */
    int rc;             /* what its weft_sleep (or weft_await) returned */
    int64_t ms;         /* how long it sleeps */
};

static int sleep_long(void *arg, void **result)
{
    (void)result;
    struct victim *v = arg;
    atomic_store(&v->entered, 1);
    atomic_store(&v->started, 1);
    v->rc = weft_sleep(v->ms);
    return v->rc;
}

static int cancel_sleeper(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int64_t lengths[2] = {60 * 1000, WEFT_FOREVER};
    for (int i = 0; i < 2; i++) {
        struct victim v = {.ms = lengths[i]};
        weft_task_t *t = weft_spawn(sleep_long, &v);
        if (t == NULL) {
            CHECK(!"weft_spawn returned NULL");
            return weft_last_error();
        }
        wait_for_flag(&v.started);
        CHECK(!weft_task_done(t));
        CHECK_EQ(weft_cancel(t), 1);
        CHECK_EQ(weft_await(t, NULL), WEFT_ECANCELED);
        CHECK_EQ(v.rc, WEFT_ECANCELED);
        CHECK(weft_task_done(t));
        CHECK(weft_task_cancelled(t));
        CHECK_EQ(weft_cancel(t), 0); /* already finished */
        weft_task_release(t);
    }
    return 0;
}

static void test_cancel_sleeping(void **state)
{
    (void)state;
    assert_int_equal(weft_run(NULL, cancel_sleeper, NULL, NULL), 0);
    assert_no_check_failures();
}

/* ---- a task cancelled before it runs never runs ------------------------- */

static int cancel_before_run(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* One worker, and no suspension between spawn and cancel. */
    struct victim v = {.ms = 0};
    weft_task_t *t = weft_spawn(sleep_long, &v);
    if (t == NULL) {
        CHECK(!"weft_spawn returned NULL");
        return weft_last_error();
    }
    CHECK_EQ(weft_cancel(t), 1);
    CHECK_EQ(weft_await(t, NULL), WEFT_ECANCELED);
    CHECK(!atomic_load(&v.entered));
    CHECK(weft_task_done(t));
    CHECK(weft_task_cancelled(t));
    weft_task_release(t);
    return 0;
}

static void test_cancel_before_run(void **state)
{
    (void)state;
    weft_config_t cfg = {.workers = 1};
    assert_int_equal(weft_run(&cfg, cancel_before_run, NULL, NULL), 0);
    assert_no_check_failures();
}

/* ---- an undelivered cancel ---------------------------------------------- */

struct busy {
    atomic_int started;   /* the task is running */
    atomic_int cancelled; /* weft_cancel has returned */
    int rc;               /* what the task returns */
};

static int busy_then_return(void *arg, void **result)
{
    struct busy *b = arg;
    atomic_store(&b->started, 1);
    while (!atomic_load(&b->cancelled))
        ; /* spin: no suspension point, so the cancel is never delivered */
    *result = b;
    return b->rc;
}

static int undelivered_cancel(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* 0 with a pending cancel ends cancelled; an error keeps the error. */
    int returns[2] = {0, MY_ERROR}, want[2] = {WEFT_ECANCELED, MY_ERROR};
    for (int i = 0; i < 2; i++) {
        struct busy b = {.rc = returns[i]};
        weft_task_t *t = weft_spawn(busy_then_return, &b);
        if (t == NULL) {
            CHECK(!"weft_spawn returned NULL");
            return weft_last_error();
        }
        /* Spin, not sleep: t never suspends, and a started task resumes
         * only on its own worker, so we must not share one with it (the
         * other worker takes t from our deque). */
        while (!atomic_load(&b.started))
            ;
        CHECK_EQ(weft_cancel(t), 1);
        atomic_store(&b.cancelled, 1);
        CHECK_EQ(weft_await(t, NULL), want[i]);
        if (want[i] == WEFT_ECANCELED)
            CHECK(weft_task_cancelled(t));
        weft_task_release(t);
    }
    return 0;
}

static void test_undelivered_cancel(void **state)
{
    (void)state;
    weft_config_t cfg = {.workers = 2};
    assert_int_equal(weft_run(&cfg, undelivered_cancel, NULL, NULL), 0);
    assert_no_check_failures();
}

/* ---- cancelling an awaiter cancels the awaited -------------------------- */

struct chain {
    struct victim inner; /* the awaited task, asleep forever */
    atomic_int awaiting; /* set just before the awaiter calls weft_await */
    int await_rc;        /* what the awaiter's weft_await returned */
    int yield_first;     /* the awaiter lets the inner task start first */
};

static int await_sleeper(void *arg, void **result)
{
    (void)result;
    struct chain *c = arg;
    weft_task_t *t = weft_spawn(sleep_long, &c->inner);
    if (t == NULL) {
        CHECK(!"weft_spawn returned NULL");
        return weft_last_error();
    }
    if (c->yield_first)
        wait_for_flag(&c->inner.started); /* then the await truly suspends */
    atomic_store(&c->awaiting, 1);
    c->await_rc = weft_await(t, NULL);
    CHECK(weft_task_done(t));
    CHECK(weft_task_cancelled(t));
    weft_task_release(t);
    return c->await_rc;
}

static int cancel_awaiter(void *arg, void **result)
{
    (void)arg;
    (void)result;
    for (int i = 0; i < 2; i++) {
        struct chain c = {.inner = {.ms = WEFT_FOREVER}, .yield_first = i};
        weft_task_t *t = weft_spawn(await_sleeper, &c);
        if (t == NULL) {
            CHECK(!"weft_spawn returned NULL");
            return weft_last_error();
        }
        wait_for_flag(&c.inner.started);
        wait_for_flag(&c.awaiting);
        /*
         * The awaiter set the flag just before weft_await; give it a few
         * more milliseconds to be inside, so that this tests a cancel
         * forwarded by a waiting awaiter, not one pending before the await.
         */
        for (int j = 0; j < 5; j++)
            CHECK_EQ(weft_sleep(1), 0);
        CHECK_EQ(weft_cancel(t), 1);
        CHECK_EQ(weft_await(t, NULL), WEFT_ECANCELED);
        CHECK_EQ(c.inner.rc, WEFT_ECANCELED);
        CHECK_EQ(c.await_rc, WEFT_ECANCELED);
        CHECK(weft_task_cancelled(t));
        weft_task_release(t);
    }
    return 0;
}

static void test_cancel_awaiter(void **state)
{
    (void)state;
    assert_int_equal(weft_run(NULL, cancel_awaiter, NULL, NULL), 0);
    assert_no_check_failures();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sleep_order),
        cmocka_unit_test(test_sleep_zero_yields),
        cmocka_unit_test(test_cancel_sleeping),
        cmocka_unit_test(test_cancel_before_run),
        cmocka_unit_test(test_undelivered_cancel),
        cmocka_unit_test(test_cancel_awaiter),
        cmocka_unit_test(test_many_sleepers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
