/*
 * test_sem_as_completed.c - weft_as_completed against asyncio.as_completed
 * (issue 3 item 2): tasks come back in the order they finish, done ones
 * first; an overall timeout gives WEFT_ETIMEDOUT and cancels nothing; a
 * cancel of the caller gives WEFT_ECANCELED and cancels nothing; n = 0
 * and bad input.
 */
#include "sem.h"

/* Tasks that finish in a known order: each waits for the one before. */
struct relay {
    atomic_int go[4];
    struct job j[4];
};

static int completion_order(void *arg, void **result)
{
    (void)result;
    struct relay *r = arg;
    /* Input order 0..3, finishing order 2, 0, 3, 1. */
    static const int order[4] = {2, 0, 3, 1};
    weft_task_t *t[4];
    for (int i = 0; i < 4; i++) {
        r->j[i] = (struct job){.sleep_ms = 1, .gate = &r->go[i], .value = i};
        t[i] = spawn_job(&r->j[i]);
    }
    weft_as_completed_t *it = weft_as_completed_new(t, 4, WEFT_FOREVER);
    CHECK(it != NULL);
    for (int k = 0; k < 4; k++) {
        atomic_store(&r->go[order[k]], 1);
        weft_task_t *got = NULL;
        CHECK_EQ(weft_as_completed_next(it, &got), 1);
        CHECK(got == t[order[k]]);
        CHECK(got && weft_task_done(got));
    }
    weft_task_t *none = NULL;
    CHECK_EQ(weft_as_completed_next(it, &none), 0);
    CHECK_EQ(weft_as_completed_next(it, &none), 0);
    weft_as_completed_free(it);
    for (int i = 0; i < 4; i++)
        weft_task_release(t[i]);
    return 0;
}

static void test_as_completed_yields_tasks_in_completion_order(void **state)
{
    (void)state;
    struct relay r = {0};
    sem_run(2, completion_order, &r, 0);
}

/* Tasks done before the call come first. */
static int done_first(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_int gate = 0;
    struct job p = {.sleep_ms = 1, .gate = &gate}, d = {.rc = MY_ERROR};
    weft_task_t *t[2] = {spawn_job(&p), spawn_job(&d)};
    weft_await(t[1], NULL);
    weft_as_completed_t *it = weft_as_completed_new(t, 2, WEFT_FOREVER);
    weft_task_t *got = NULL;
    CHECK_EQ(weft_as_completed_next(it, &got), 1);
    CHECK(got == t[1]);
    atomic_store(&gate, 1);
    CHECK_EQ(weft_as_completed_next(it, &got), 1);
    CHECK(got == t[0]);
    CHECK_EQ(weft_as_completed_next(it, &got), 0);
    weft_as_completed_free(it);
    weft_task_release(t[0]);
    weft_task_release(t[1]);
    return 0;
}

static void test_as_completed_done_tasks_come_first(void **state)
{
    (void)state;
    sem_run(2, done_first, NULL, 0);
}

/* ---- the overall timeout ----------------------------------------------------- */

static int overall_timeout(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_int gate = 0;
    struct job fast = {.sleep_ms = 5}, slow = {.sleep_ms = 1, .gate = &gate};
    weft_task_t *t[2] = {spawn_job(&slow), spawn_job(&fast)};
    double start = now_ms();
    /* Long enough for the 5 ms task to finish first however loaded the
     * machine (a sanitizer build running beside other tests). */
    enum { OVERALL_MS = 1000 };
    weft_as_completed_t *it = weft_as_completed_new(t, 2, OVERALL_MS);
    weft_task_t *got = NULL;
    CHECK_EQ(weft_as_completed_next(it, &got), 1);
    CHECK(got == t[1]);
    CHECK_EQ(weft_as_completed_next(it, &got), WEFT_ETIMEDOUT);
    double took = now_ms() - start;
    CHECK(took >= OVERALL_MS);
    CHECK(took < 10 * OVERALL_MS + 2000);
    CHECK(!weft_task_done(t[0])); /* not cancelled */
    CHECK_EQ(weft_cancelling(), 0);
    weft_as_completed_free(it);
    atomic_store(&gate, 1);
    CHECK_EQ(weft_await(t[0], NULL), 0);
    weft_task_release(t[0]);
    weft_task_release(t[1]);
    return 0;
}

static void test_as_completed_timeout_is_etimedout_and_cancels_nothing(void **state)
{
    (void)state;
    sem_run(2, overall_timeout, NULL, 0);
}

/* ---- a cancel of the caller ---------------------------------------------- */

struct caller {
    struct job j;
    weft_task_t *t;
    atomic_int iterating;
    int rc;
};

static int iterate(void *arg, void **result)
{
    (void)result;
    struct caller *c = arg;
    weft_as_completed_t *it = weft_as_completed_new(&c->t, 1, WEFT_FOREVER);
    atomic_store(&c->iterating, 1);
    weft_task_t *got = NULL;
    c->rc = weft_as_completed_next(it, &got);
    weft_as_completed_free(it);
    return c->rc;
}

static int cancel_caller(void *arg, void **result)
{
    (void)result;
    struct caller *c = arg;
    atomic_int gate = 0;
    c->j = (struct job){.sleep_ms = 1, .gate = &gate};
    c->t = spawn_job(&c->j);
    weft_task_t *w = weft_spawn(iterate, c);
    task_wait_flag(&c->iterating);
    weft_sleep(5);
    CHECK_EQ(weft_cancel(w), 1);
    CHECK_EQ(weft_await(w, NULL), WEFT_ECANCELED);
    CHECK(!weft_task_done(c->t)); /* not forwarded */
    atomic_store(&gate, 1);
    CHECK_EQ(weft_await(c->t, NULL), 0);
    weft_task_release(w);
    weft_task_release(c->t);
    return 0;
}

static void test_as_completed_cancel_of_caller_is_ecanceled_and_cancels_nothing(void **state)
{
    (void)state;
    struct caller c = {0};
    sem_run(2, cancel_caller, &c, 0);
    assert_int_equal(c.rc, WEFT_ECANCELED);
}

/* ---- n = 0 and bad input ------------------------------------------------- */

static int bad(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *t[1] = {NULL};
    CHECK(weft_as_completed_new(t, 0, WEFT_FOREVER) == NULL);
    CHECK_EQ(weft_last_error(), WEFT_EINVAL);
    CHECK(weft_as_completed_new(t, 1, WEFT_FOREVER) == NULL);
    CHECK_EQ(weft_last_error(), WEFT_EINVAL);
    weft_task_t *got;
    CHECK_EQ(weft_as_completed_next(NULL, &got), WEFT_EINVAL);
    weft_as_completed_free(NULL);
    return 0;
}

static void test_as_completed_zero_is_einval_outside_task_eperm(void **state)
{
    (void)state;
    weft_task_t *t[1] = {NULL};
    assert_null(weft_as_completed_new(t, 1, WEFT_FOREVER));
    assert_int_equal(weft_last_error(), WEFT_EPERM);
    sem_run(2, bad, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_as_completed_yields_tasks_in_completion_order),
        cmocka_unit_test(test_as_completed_done_tasks_come_first),
        cmocka_unit_test(test_as_completed_timeout_is_etimedout_and_cancels_nothing),
        cmocka_unit_test(test_as_completed_cancel_of_caller_is_ecanceled_and_cancels_nothing),
        cmocka_unit_test(test_as_completed_zero_is_einval_outside_task_eperm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
