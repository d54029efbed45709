/*
 * test_sem_wait_for.c - weft_wait_for against asyncio.wait_for (DESIGN.md's
 * semantics table, issue 3 item 2): the outcome when the task ends in time;
 * on timeout the task is cancelled, waited for, and WEFT_ETIMEDOUT
 * returned, unless it swallowed the cancel and ended with a value or an
 * error of its own; a timeout <= 0 expires at once; a cancel of the waiter
 * cancels the task.
 */
#include "sem.h"

/* ---- in time: the task's outcome ---------------------------------------- */

static int in_time(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job ok = {.sleep_ms = 10, .value = 4};
    struct job bad = {.sleep_ms = 10, .rc = MY_ERROR, .value = 5};
    weft_task_t *a = spawn_job(&ok), *b = spawn_job(&bad);
    void *r = NULL;
    CHECK_EQ(weft_wait_for(a, 5000, &r), 0);
    CHECK_EQ((intptr_t)r, 4);
    CHECK_EQ(weft_wait_for(b, WEFT_FOREVER, &r), MY_ERROR);
    CHECK_EQ((intptr_t)r, 5);
    CHECK_EQ(weft_wait_for(a, 5000, NULL), 0); /* done, awaited again */
    CHECK(!weft_task_cancelled(a) && !weft_task_cancelled(b));
    weft_task_release(a);
    weft_task_release(b);
    return 0;
}

static void test_wait_for_in_time_gives_task_outcome(void **state)
{
    (void)state;
    sem_run(2, in_time, NULL, 0);
}

/* ---- on timeout: cancel, wait until it has finished, WEFT_ETIMEDOUT ------ */

static int times_out(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* The task needs 40 ms to clean up after the cancel: wait_for waits. */
    struct job j = {.sleep_ms = WEFT_FOREVER, .on_cancel_sleep_ms = 40};
    weft_task_t *t = spawn_job(&j);
    double start = now_ms();
    void *r = (void *)(intptr_t)-1;
    CHECK_EQ(weft_wait_for(t, 30, &r), WEFT_ETIMEDOUT);
    double took = now_ms() - start;
    CHECK(took >= 30 + 40);
    CHECK(took < 10 * 70 + 2000);
    CHECK(weft_task_done(t)); /* finished before wait_for returned */
    CHECK(weft_task_cancelled(t));
    CHECK_EQ(atomic_load(&j.sleep_rc), WEFT_ECANCELED);
    CHECK_EQ(atomic_load(&j.finished), 1);
    CHECK(r == (void *)(intptr_t)-1); /* no result on a timeout */
    CHECK_EQ(weft_cancelling(), 0);  /* the waiter was not cancelled */
    CHECK_EQ(weft_sleep(1), 0);
    weft_task_release(t);
    return 0;
}

static void test_wait_for_timeout_cancels_waits_and_returns_etimedout(void **state)
{
    (void)state;
    sem_run(2, times_out, NULL, 0);
}

/* ---- the task swallowed the cancel: its outcome --------------------------- */

static int swallowed(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job v = {.sleep_ms = WEFT_FOREVER, .swallow = true, .rc = 0, .value = 42};
    struct job e = {.sleep_ms = WEFT_FOREVER, .swallow = true, .rc = MY_ERROR, .value = 43};
    weft_task_t *tv = spawn_job(&v), *te = spawn_job(&e);
    void *r = NULL;
    CHECK_EQ(weft_wait_for(tv, 20, &r), 0);
    CHECK_EQ((intptr_t)r, 42);
    CHECK_EQ(atomic_load(&v.sleep_rc), WEFT_ECANCELED);
    r = NULL;
    CHECK_EQ(weft_wait_for(te, 20, &r), MY_ERROR);
    CHECK_EQ((intptr_t)r, 43);
    CHECK_EQ(atomic_load(&e.sleep_rc), WEFT_ECANCELED);
    weft_task_release(tv);
    weft_task_release(te);
    return 0;
}

static void test_wait_for_swallowed_cancel_gives_task_outcome(void **state)
{
    (void)state;
    sem_run(2, swallowed, NULL, 0);
}

/* ---- timeout <= 0: expired already --------------------------------------- */

static int nonpositive(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int64_t timeouts[2] = {0, -5};
    for (int i = 0; i < 2; i++) {
        struct job j = {.sleep_ms = 5000};
        weft_task_t *t = spawn_job(&j);
        double start = now_ms();
        CHECK_EQ(weft_wait_for(t, timeouts[i], NULL), WEFT_ETIMEDOUT);
        CHECK(now_ms() - start < 2500); /* not the task's 5 s */
        CHECK(weft_task_done(t));
        CHECK(weft_task_cancelled(t));
        weft_task_release(t);
    }
    /* A finished task is no timeout, even with timeout <= 0. */
    struct job d = {.value = 6};
    weft_task_t *t = spawn_job(&d);
    weft_await(t, NULL);
    void *r = NULL;
    CHECK_EQ(weft_wait_for(t, 0, &r), 0);
    CHECK_EQ((intptr_t)r, 6);
    CHECK_EQ(weft_wait_for(t, -1, NULL), 0);
    weft_task_release(t);
    return 0;
}

static void test_wait_for_nonpositive_timeout_times_out_at_once(void **state)
{
    (void)state;
    sem_run(2, nonpositive, NULL, 0);
}

/* ---- a cancel of the waiter cancels the task ------------------------------ */

struct waiter {
    struct job j;
    weft_task_t *t;
    int64_t timeout;
    atomic_int waiting;
    int rc;
};

static int wait_for_child(void *arg, void **result)
{
    struct waiter *w = arg;
    w->t = spawn_job(&w->j);
    atomic_store(&w->waiting, 1);
    w->rc = weft_wait_for(w->t, w->timeout, result);
    CHECK(weft_task_done(w->t));
    weft_task_release(w->t);
    return w->rc;
}

static int cancel_waiter(void *arg, void **result)
{
    (void)result;
    struct waiter *w = arg;
    weft_task_t *t = weft_spawn(wait_for_child, w);
    CHECK(t != NULL);
    task_wait_flag(&w->waiting);
    wait_asleep(&w->j);
    CHECK_EQ(weft_cancel(t), 1);
    void *r = NULL;
    int rc = weft_await(t, &r);
    if (w->j.swallow)
        CHECK_EQ((intptr_t)r, w->j.value);
    weft_task_release(t);
    return rc;
}

static void test_wait_for_cancel_of_waiter_cancels_task(void **state)
{
    (void)state;
    int64_t timeouts[2] = {WEFT_FOREVER, 10000};
    for (int i = 0; i < 2; i++) {
        struct waiter w = {.j = {.sleep_ms = WEFT_FOREVER}, .timeout = timeouts[i]};
        sem_run(2, cancel_waiter, &w, WEFT_ECANCELED);
        assert_int_equal(w.rc, WEFT_ECANCELED);
        assert_int_equal(atomic_load(&w.j.sleep_rc), WEFT_ECANCELED);
        /* The task swallows the forwarded cancel: the waiter gets its
         * outcome, as asyncio's wait_for returns the inner result. */
        struct waiter s = {.j = {.sleep_ms = WEFT_FOREVER, .swallow = true, .rc = 0, .value = 9},
                           .timeout = timeouts[i]};
        sem_run(2, cancel_waiter, &s, 0);
        assert_int_equal(s.rc, 0);
    }
}

/* ---- bad input ------------------------------------------------------------- */

static int bad(void *arg, void **result)
{
    (void)arg;
    (void)result;
    CHECK_EQ(weft_wait_for(NULL, 10, NULL), WEFT_EINVAL);
    return 0;
}

static void test_wait_for_null_is_einval(void **state)
{
    (void)state;
    sem_run(2, bad, NULL, 0);
}

/* ---- a cancel of the waiter while it waits out the timed-out task -------- */

/* Times out, then needs clean-up time; a second cancel may cut it short. */
struct slow_cleanup {
    atomic_int timed_out; /* the timeout's cancel has arrived */
    atomic_int gate;      /* the clean-up may end */
};

static int slow_cleanup_fn(void *arg, void **result)
{
    (void)result;
    struct slow_cleanup *c = arg;
    int rc = weft_sleep(WEFT_FOREVER);
    atomic_store(&c->timed_out, 1);
    double start = now_ms();
    while (!atomic_load(&c->gate) && now_ms() - start < SEM_PATIENCE_MS)
        weft_sleep(1); /* the waiter's forwarded cancel ends one of these */
    return rc;
}

struct late_waiter {
    struct slow_cleanup c;
    atomic_int waiting;
    int rc;
};

static int late_wait_for(void *arg, void **result)
{
    (void)result;
    struct late_waiter *w = arg;
    weft_task_t *t = weft_spawn(slow_cleanup_fn, &w->c);
    atomic_store(&w->waiting, 1);
    w->rc = weft_wait_for(t, 20, NULL);
    CHECK(weft_task_done(t));
    weft_task_release(t);
    return w->rc;
}

static int cancel_late(void *arg, void **result)
{
    (void)result;
    struct late_waiter *w = arg;
    weft_task_t *t = weft_spawn(late_wait_for, w);
    task_wait_flag(&w->c.timed_out); /* wait_for now waits for the clean-up */
    weft_sleep(5);
    CHECK_EQ(weft_cancel(t), 1);
    weft_sleep(5);
    atomic_store(&w->c.gate, 1);
    int rc = weft_await(t, NULL);
    weft_task_release(t);
    return rc;
}

/* asyncio (3.12 wait_for over timeouts.timeout): the outer cancel leaves
 * a request after the timeout withdraws its own, so CancelledError
 * propagates, not TimeoutError.  The cancel must not be lost. */
static void test_wait_for_cancel_of_waiter_after_timeout_is_ecanceled(void **state)
{
    (void)state;
    struct late_waiter w = {0};
    sem_run(2, cancel_late, &w, WEFT_ECANCELED);
    assert_int_equal(w.rc, WEFT_ECANCELED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wait_for_in_time_gives_task_outcome),
        cmocka_unit_test(test_wait_for_timeout_cancels_waits_and_returns_etimedout),
        cmocka_unit_test(test_wait_for_swallowed_cancel_gives_task_outcome),
        cmocka_unit_test(test_wait_for_nonpositive_timeout_times_out_at_once),
        cmocka_unit_test(test_wait_for_cancel_of_waiter_cancels_task),
        cmocka_unit_test(test_wait_for_cancel_of_waiter_after_timeout_is_ecanceled),
        cmocka_unit_test(test_wait_for_null_is_einval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
