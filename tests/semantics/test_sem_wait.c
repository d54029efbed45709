/*
 * test_sem_wait.c - weft_wait against asyncio.wait (DESIGN.md's semantics
 * table, issue 3 item 2): ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION
 * (a cancelled task is not an exception), done tasks moved to the front
 * with each part in input order, a timeout that is no error and cancels
 * nothing, a cancelled waiter that cancels nothing, n = 0 and bad input.
 */
#include "sem.h"

/* ---- ALL_COMPLETED waits for every task ---------------------------------- */

static int all_completed(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job j[3] = {{.sleep_ms = 30}, {.sleep_ms = 5, .rc = MY_ERROR}, {.sleep_ms = 10}};
    weft_task_t *t[3];
    double start = now_ms();
    for (int i = 0; i < 3; i++)
        t[i] = spawn_job(&j[i]);
    weft_task_t *orig[3] = {t[0], t[1], t[2]};
    CHECK_EQ(weft_wait(t, 3, WEFT_FOREVER, WEFT_ALL_COMPLETED), 3);
    CHECK(now_ms() - start >= 30);
    for (int i = 0; i < 3; i++) {
        CHECK(t[i] == orig[i]); /* all done: the order is the input order */
        CHECK(weft_task_done(t[i]));
        weft_task_release(t[i]);
    }
    return 0;
}

static void test_wait_all_completed_waits_for_every_task(void **state)
{
    (void)state;
    sem_run(2, all_completed, NULL, 0);
}

/* ---- FIRST_COMPLETED: returns on the first; done ones to the front ------- */

static int first_completed(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_int gate = 0;
    struct job slow0 = {.sleep_ms = 1, .gate = &gate};
    struct job slow1 = {.sleep_ms = 1, .gate = &gate};
    struct job fast = {.sleep_ms = 10, .value = 3};
    struct job slow2 = {.sleep_ms = 1, .gate = &gate};
    weft_task_t *t[4] = {spawn_job(&slow0), spawn_job(&slow1), spawn_job(&fast),
                         spawn_job(&slow2)};
    weft_task_t *ts0 = t[0], *ts1 = t[1], *tf = t[2], *ts2 = t[3];
    CHECK_EQ(weft_wait(t, 4, WEFT_FOREVER, WEFT_FIRST_COMPLETED), 1);
    CHECK(t[0] == tf);
    CHECK(t[1] == ts0 && t[2] == ts1 && t[3] == ts2); /* pending, in input order */
    CHECK(weft_task_done(tf));
    CHECK(!weft_task_done(ts0) && !weft_task_done(ts1) && !weft_task_done(ts2));
    atomic_store(&gate, 1);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(weft_await(t[i], NULL), 0); /* nothing was cancelled */
        weft_task_release(t[i]);
    }
    return 0;
}

static void test_wait_first_completed_moves_done_to_front(void **state)
{
    (void)state;
    sem_run(2, first_completed, NULL, 0);
}

/* Several done: all of them at the front, in input order. */
static int several_done(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_int gate = 0;
    struct job p0 = {.sleep_ms = 1, .gate = &gate}, d1 = {0}, p2 = {.sleep_ms = 1, .gate = &gate},
               d3 = {.rc = MY_ERROR}, d4 = {0};
    weft_task_t *t[5] = {spawn_job(&p0), spawn_job(&d1), spawn_job(&p2), spawn_job(&d3),
                         spawn_job(&d4)};
    weft_task_t *o[5] = {t[0], t[1], t[2], t[3], t[4]};
    weft_await(o[1], NULL);
    weft_await(o[3], NULL);
    weft_await(o[4], NULL);
    CHECK_EQ(weft_wait(t, 5, WEFT_FOREVER, WEFT_FIRST_COMPLETED), 3);
    CHECK(t[0] == o[1] && t[1] == o[3] && t[2] == o[4]);
    CHECK(t[3] == o[0] && t[4] == o[2]);
    atomic_store(&gate, 1);
    for (int i = 0; i < 5; i++) {
        weft_await(o[i], NULL);
        weft_task_release(o[i]);
    }
    return 0;
}

static void test_wait_done_ones_to_front_each_part_in_input_order(void **state)
{
    (void)state;
    sem_run(2, several_done, NULL, 0);
}

/* ---- FIRST_EXCEPTION ------------------------------------------------------ */

static int first_exception(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_int gate = 0;
    struct job ok = {.sleep_ms = 1}, slow = {.sleep_ms = 1, .gate = &gate},
               bad = {.sleep_ms = 20, .rc = MY_ERROR};
    weft_task_t *t[3] = {spawn_job(&slow), spawn_job(&ok), spawn_job(&bad)};
    weft_task_t *tslow = t[0], *tok = t[1], *tbad = t[2];
    weft_await(tok, NULL); /* a success does not end the wait */
    int n = weft_wait(t, 3, WEFT_FOREVER, WEFT_FIRST_EXCEPTION);
    CHECK_EQ(n, 2);
    CHECK(t[0] == tok && t[1] == tbad && t[2] == tslow);
    CHECK(!weft_task_done(tslow));
    atomic_store(&gate, 1);
    CHECK_EQ(weft_await(tslow, NULL), 0);
    weft_task_release(tslow);
    weft_task_release(tok);
    weft_task_release(tbad);
    return 0;
}

static void test_wait_first_exception_returns_on_first_error(void **state)
{
    (void)state;
    sem_run(2, first_exception, NULL, 0);
}

static int exception_ignores_cancel(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_int gate = 0;
    struct job c = {.sleep_ms = WEFT_FOREVER}, slow = {.sleep_ms = 1, .gate = &gate};
    weft_task_t *tc = spawn_job(&c), *ts = spawn_job(&slow);
    weft_task_t *t[2] = {tc, ts};
    wait_asleep(&c);
    CHECK_EQ(weft_cancel(tc), 1);
    CHECK_EQ(weft_await(tc, NULL), WEFT_ECANCELED);
    /* A cancelled task is no exception: the wait goes on until the
     * timeout, with one task done. */
    CHECK_EQ(weft_wait(t, 2, 30, WEFT_FIRST_EXCEPTION), 1);
    CHECK(t[0] == tc && t[1] == ts);
    CHECK(!weft_task_done(ts));
    /* ... and without a timeout until every task is done. */
    atomic_store(&gate, 1);
    CHECK_EQ(weft_wait(t, 2, WEFT_FOREVER, WEFT_FIRST_EXCEPTION), 2);
    CHECK(weft_task_done(ts));
    weft_task_release(tc);
    weft_task_release(ts);
    return 0;
}

static void test_wait_first_exception_ignores_cancelled(void **state)
{
    (void)state;
    sem_run(2, exception_ignores_cancel, NULL, 0);
}

static int exception_none(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job a = {.sleep_ms = 5}, b = {.sleep_ms = 25};
    weft_task_t *t[2];
    double start = now_ms();
    t[0] = spawn_job(&a);
    t[1] = spawn_job(&b);
    CHECK_EQ(weft_wait(t, 2, WEFT_FOREVER, WEFT_FIRST_EXCEPTION), 2);
    CHECK(now_ms() - start >= 25);
    weft_task_release(t[0]);
    weft_task_release(t[1]);
    return 0;
}

static void test_wait_first_exception_without_error_waits_for_all(void **state)
{
    (void)state;
    sem_run(2, exception_none, NULL, 0);
}

/* ---- a timeout is no error and cancels nothing ---------------------------- */

static int wait_timeout(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_int gate = 0;
    struct job a = {.sleep_ms = 1, .gate = &gate, .value = 8}, b = {0};
    weft_task_t *ta = spawn_job(&a), *tb = spawn_job(&b);
    weft_await(tb, NULL);
    for (int when = WEFT_ALL_COMPLETED; when <= WEFT_FIRST_EXCEPTION; when++) {
        weft_task_t *t[2] = {ta, tb};
        weft_task_t *one[1] = {ta};
        double start = now_ms();
        CHECK_EQ(weft_wait(t, 2, 40, when == WEFT_FIRST_COMPLETED ? WEFT_ALL_COMPLETED : when), 1);
        double took = now_ms() - start;
        CHECK(took >= 40);
        CHECK(took < 10 * 40 + 2000);
        CHECK(t[0] == tb && t[1] == ta);
        start = now_ms();
        CHECK_EQ(weft_wait(one, 1, 20, when), 0);
        CHECK(now_ms() - start >= 20);
        CHECK(!weft_task_done(ta));
        CHECK_EQ(weft_cancelling(), 0);
    }
    atomic_store(&gate, 1);
    void *r = NULL;
    CHECK_EQ(weft_await(ta, &r), 0); /* never cancelled */
    CHECK_EQ((intptr_t)r, 8);
    CHECK_EQ(atomic_load(&a.sleep_rc), 0);
    weft_task_release(ta);
    weft_task_release(tb);
    return 0;
}

static void test_wait_timeout_is_not_an_error_and_cancels_nothing(void **state)
{
    (void)state;
    sem_run(2, wait_timeout, NULL, 0);
}

/* timeout <= 0: just look. */
static int wait_look(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_int gate = 0;
    struct job a = {.sleep_ms = 1, .gate = &gate}, b = {0};
    weft_task_t *ta = spawn_job(&a), *tb = spawn_job(&b);
    weft_await(tb, NULL);
    weft_task_t *t[2] = {ta, tb};
    double start = now_ms();
    CHECK_EQ(weft_wait(t, 2, 0, WEFT_ALL_COMPLETED), 1);
    CHECK(t[0] == tb && t[1] == ta);
    CHECK_EQ(weft_wait(t, 2, -5, WEFT_FIRST_COMPLETED), 1);
    weft_task_t *one[1] = {ta};
    CHECK_EQ(weft_wait(one, 1, 0, WEFT_FIRST_COMPLETED), 0);
    CHECK(now_ms() - start < 1000);
    atomic_store(&gate, 1);
    CHECK_EQ(weft_await(ta, NULL), 0);
    weft_task_release(ta);
    weft_task_release(tb);
    return 0;
}

static void test_wait_nonpositive_timeout_just_looks(void **state)
{
    (void)state;
    sem_run(2, wait_look, NULL, 0);
}

/* ---- a cancelled waiter: WEFT_ECANCELED, the tasks are not cancelled ----- */

struct waiter {
    struct job j[2];
    weft_task_t *t[2];
    atomic_int waiting;
    int rc;
};

static int wait_both(void *arg, void **result)
{
    (void)result;
    struct waiter *w = arg;
    weft_task_t *t[2] = {w->t[0], w->t[1]};
    atomic_store(&w->waiting, 1);
    w->rc = weft_wait(t, 2, WEFT_FOREVER, WEFT_ALL_COMPLETED);
    return w->rc;
}

static int cancel_waiter(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_int gate = 0;
    struct waiter w = {.j = {{.sleep_ms = 1, .gate = &gate}, {.sleep_ms = WEFT_FOREVER}}};
    w.t[0] = spawn_job(&w.j[0]);
    w.t[1] = spawn_job(&w.j[1]);
    weft_task_t *wt = weft_spawn(wait_both, &w);
    task_wait_flag(&w.waiting);
    wait_asleep(&w.j[1]);
    weft_sleep(5);
    CHECK_EQ(weft_cancel(wt), 1);
    CHECK_EQ(weft_await(wt, NULL), WEFT_ECANCELED);
    CHECK_EQ(w.rc, WEFT_ECANCELED);
    CHECK(!weft_task_done(w.t[0]) && !weft_task_done(w.t[1]));
    atomic_store(&gate, 1);
    CHECK_EQ(weft_await(w.t[0], NULL), 0);
    CHECK(!weft_task_done(w.t[1])); /* still asleep: nobody cancelled it */
    weft_cancel(w.t[1]);
    weft_await(w.t[1], NULL);
    weft_task_release(wt);
    weft_task_release(w.t[0]);
    weft_task_release(w.t[1]);
    return 0;
}

static void test_wait_cancelled_waiter_returns_ecanceled_and_cancels_nothing(void **state)
{
    (void)state;
    sem_run(2, cancel_waiter, NULL, 0);
}

/* ---- n = 0 and bad input ---------------------------------------------------- */

static int wait_bad(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job a = {0};
    weft_task_t *ta = spawn_job(&a);
    weft_task_t *t[2] = {ta, NULL};
    CHECK_EQ(weft_wait(t, 0, WEFT_FOREVER, WEFT_ALL_COMPLETED), WEFT_EINVAL);
    CHECK_EQ(weft_wait(NULL, 0, 10, WEFT_FIRST_COMPLETED), WEFT_EINVAL);
    CHECK_EQ(weft_wait(t, 1, WEFT_FOREVER, 3), WEFT_EINVAL);
    CHECK_EQ(weft_wait(t, 1, WEFT_FOREVER, -1), WEFT_EINVAL);
    CHECK_EQ(weft_wait(t, 2, WEFT_FOREVER, WEFT_ALL_COMPLETED), WEFT_EINVAL);
    CHECK(t[0] == ta);
    CHECK_EQ(weft_wait(t, 1, WEFT_FOREVER, WEFT_ALL_COMPLETED), 1);
    weft_task_release(ta);
    return 0;
}

static void test_wait_zero_is_einval(void **state)
{
    (void)state;
    sem_run(2, wait_bad, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wait_all_completed_waits_for_every_task),
        cmocka_unit_test(test_wait_first_completed_moves_done_to_front),
        cmocka_unit_test(test_wait_done_ones_to_front_each_part_in_input_order),
        cmocka_unit_test(test_wait_first_exception_returns_on_first_error),
        cmocka_unit_test(test_wait_first_exception_ignores_cancelled),
        cmocka_unit_test(test_wait_first_exception_without_error_waits_for_all),
        cmocka_unit_test(test_wait_timeout_is_not_an_error_and_cancels_nothing),
        cmocka_unit_test(test_wait_nonpositive_timeout_just_looks),
        cmocka_unit_test(test_wait_cancelled_waiter_returns_ecanceled_and_cancels_nothing),
        cmocka_unit_test(test_wait_zero_is_einval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
