/*
 * test_sem_gather.c - weft_gather against asyncio.gather (DESIGN.md's
 * semantics table, issue 3 item 2): outcomes in input order, the first
 * failure returned at once with the others left running, every outcome in
 * place with WEFT_RETURN_EXCEPTIONS, a cancel of the gathering task
 * cancelling every child, duplicates, n = 0, bad input and a wide fan-out.
 */
#include "sem.h"

/* An outcome gather must not have written. */
#define UNTOUCHED (-999)

static void untouch(weft_outcome_t *o, size_t n)
{
    for (size_t i = 0; i < n; i++)
        o[i] = (weft_outcome_t){.rc = UNTOUCHED, .result = (void *)(intptr_t)-1};
}

/* ---- results in input order, not finishing order ------------------------- */

static int in_order(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job j[4] = {{.sleep_ms = 40, .value = 100},
                       {.sleep_ms = 5, .value = 101},
                       {.sleep_ms = 20, .value = 102},
                       {.sleep_ms = 0, .value = 103}};
    weft_task_t *t[4];
    double start = now_ms();
    for (int i = 0; i < 4; i++)
        t[i] = spawn_job(&j[i]);
    weft_outcome_t out[4];
    untouch(out, 4);
    CHECK_EQ(weft_gather(t, 4, out, 0), 0);
    CHECK(now_ms() - start >= 40);
    for (int i = 0; i < 4; i++) {
        CHECK(weft_task_done(t[i]));
        CHECK_EQ(out[i].rc, 0);
        CHECK_EQ((intptr_t)out[i].result, 100 + i);
        weft_task_release(t[i]);
    }
    return 0;
}

static void test_gather_outcomes_in_input_order(void **state)
{
    (void)state;
    sem_run(2, in_order, NULL, 0);
}

/* outcomes may be NULL. */
static int no_outcomes(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job a = {.sleep_ms = 5}, b = {.rc = MY_ERROR};
    weft_task_t *t[2] = {spawn_job(&a), spawn_job(&b)};
    CHECK_EQ(weft_gather(t, 1, NULL, 0), 0);
    CHECK_EQ(weft_gather(t, 2, NULL, WEFT_RETURN_EXCEPTIONS), 0);
    CHECK_EQ(weft_gather(t, 2, NULL, 0), MY_ERROR);
    weft_task_release(t[0]);
    weft_task_release(t[1]);
    return 0;
}

static void test_gather_outcomes_may_be_null(void **state)
{
    (void)state;
    sem_run(2, no_outcomes, NULL, 0);
}

/* ---- default: the first failure at once, the others keep running --------- */

static int first_failure(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_int gate = 0;
    struct job slow = {.sleep_ms = 1, .value = 7, .gate = &gate};
    struct job fails = {.sleep_ms = 10, .rc = MY_ERROR};
    struct job quick = {.sleep_ms = 0, .value = 9};
    weft_task_t *t[3] = {spawn_job(&slow), spawn_job(&fails), spawn_job(&quick)};
    CHECK_EQ(weft_await(t[2], NULL), 0); /* finished before the gather */
    weft_outcome_t out[3];
    untouch(out, 3);
    CHECK_EQ(weft_gather(t, 3, out, 0), MY_ERROR);
    /* Returned while slow still waits for its gate: at once. */
    CHECK(!weft_task_done(t[0]));
    CHECK_EQ(out[0].rc, UNTOUCHED); /* unfinished: left untouched */
    CHECK_EQ(out[1].rc, MY_ERROR);
    CHECK_EQ(out[2].rc, 0); /* finished ones are filled in */
    CHECK_EQ((intptr_t)out[2].result, 9);
    /* Nothing was cancelled: slow goes on and succeeds. */
    atomic_store(&gate, 1);
    void *r = NULL;
    CHECK_EQ(weft_await(t[0], &r), 0);
    CHECK_EQ((intptr_t)r, 7);
    CHECK(!weft_task_cancelled(t[0]));
    CHECK_EQ(atomic_load(&slow.sleep_rc), 0);
    for (int i = 0; i < 3; i++)
        weft_task_release(t[i]);
    return 0;
}

static void test_gather_first_failure_returns_at_once_others_keep_running(void **state)
{
    (void)state;
    sem_run(2, first_failure, NULL, 0);
}

/* A cancelled child is a failure too: gather returns WEFT_ECANCELED. */
static int child_cancelled(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_int gate = 0;
    struct job a = {.sleep_ms = 1, .gate = &gate};
    struct job b = {.sleep_ms = WEFT_FOREVER};
    weft_task_t *t[2] = {spawn_job(&a), spawn_job(&b)};
    wait_asleep(&b);
    CHECK_EQ(weft_cancel(t[1]), 1);
    weft_outcome_t out[2];
    untouch(out, 2);
    CHECK_EQ(weft_gather(t, 2, out, 0), WEFT_ECANCELED);
    CHECK(!weft_task_done(t[0]));
    CHECK_EQ(out[1].rc, WEFT_ECANCELED);
    CHECK_EQ(weft_cancelling(), 0); /* the gathering task was not cancelled */
    atomic_store(&gate, 1);
    CHECK_EQ(weft_await(t[0], NULL), 0);
    weft_task_release(t[0]);
    weft_task_release(t[1]);
    return 0;
}

static void test_gather_cancelled_child_is_a_failure_by_default(void **state)
{
    (void)state;
    sem_run(2, child_cancelled, NULL, 0);
}

/* ---- WEFT_RETURN_EXCEPTIONS: waits for all, each outcome in place -------- */

static int return_exceptions(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job j[4] = {{.sleep_ms = 5, .value = 1},
                       {.sleep_ms = 1, .rc = MY_ERROR, .value = 2},
                       {.sleep_ms = WEFT_FOREVER},
                       {.sleep_ms = 60, .rc = OTHER_ERROR, .value = 4}};
    weft_task_t *t[4];
    double start = now_ms();
    for (int i = 0; i < 4; i++)
        t[i] = spawn_job(&j[i]);
    wait_asleep(&j[2]);
    CHECK_EQ(weft_cancel(t[2]), 1);
    weft_outcome_t out[4];
    untouch(out, 4);
    CHECK_EQ(weft_gather(t, 4, out, WEFT_RETURN_EXCEPTIONS), 0);
    CHECK(now_ms() - start >= 60); /* waited for the slowest */
    CHECK_EQ(out[0].rc, 0);
    CHECK_EQ((intptr_t)out[0].result, 1);
    CHECK_EQ(out[1].rc, MY_ERROR);
    CHECK_EQ((intptr_t)out[1].result, 2);
    CHECK_EQ(out[2].rc, WEFT_ECANCELED);
    CHECK_EQ(out[3].rc, OTHER_ERROR);
    CHECK_EQ((intptr_t)out[3].result, 4);
    for (int i = 0; i < 4; i++) {
        CHECK(weft_task_done(t[i]));
        weft_task_release(t[i]);
    }
    return 0;
}

static void test_gather_return_exceptions_outcomes_in_order(void **state)
{
    (void)state;
    sem_run(2, return_exceptions, NULL, 0);
}

/* ---- cancelling the gathering task cancels every child ------------------- */

struct gatherer {
    struct job j[3];
    weft_task_t *t[3];
    unsigned flags;
    weft_outcome_t out[3];
    atomic_int gathering;
    int rc;
};

static int gather_children(void *arg, void **result)
{
    (void)result;
    struct gatherer *g = arg;
    for (int i = 0; i < 3; i++)
        g->t[i] = spawn_job(&g->j[i]);
    untouch(g->out, 3);
    atomic_store(&g->gathering, 1);
    g->rc = weft_gather(g->t, 3, g->out, g->flags);
    for (int i = 0; i < 3; i++)
        CHECK(weft_task_done(g->t[i])); /* it waited for them */
    return g->rc;
}

static int cancel_gatherer(void *arg, void **result)
{
    (void)result;
    struct gatherer *g = arg;
    weft_task_t *t = weft_spawn(gather_children, g);
    CHECK(t != NULL);
    task_wait_flag(&g->gathering);
    while (!weft_task_done(g->t[0])) /* child 0 ends before the cancel */
        weft_sleep(1);
    for (int i = 0; i < 3; i++)
        if (g->j[i].sleep_ms == WEFT_FOREVER)
            wait_asleep(&g->j[i]);
    CHECK_EQ(weft_cancel(t), 1);
    int rc = weft_await(t, NULL);
    CHECK(weft_task_cancelled(t));
    weft_task_release(t);
    for (int i = 0; i < 3; i++)
        weft_task_release(g->t[i]);
    return rc;
}

static void test_gather_cancel_cancels_children_and_ends_ecanceled_even_with_return_exceptions(
    void **state)
{
    (void)state;
    for (unsigned flags = 0; flags <= WEFT_RETURN_EXCEPTIONS; flags++) {
        /* Child 0 finished already; 1 sleeps; 2 swallows the cancel and
         * needs clean-up time, and gather waits for it. */
        struct gatherer g = {
            .flags = flags,
            .j = {{.sleep_ms = 0, .value = 5},
                  {.sleep_ms = WEFT_FOREVER},
                  {.sleep_ms = WEFT_FOREVER, .swallow = true, .on_cancel_sleep_ms = 20,
                   .rc = 0, .value = 6}},
        };
        sem_run(2, cancel_gatherer, &g, WEFT_ECANCELED);
        assert_int_equal(g.rc, WEFT_ECANCELED);
        assert_int_equal(atomic_load(&g.j[0].runs), 1);
        assert_int_equal(atomic_load(&g.j[1].sleep_rc), WEFT_ECANCELED);
        assert_int_equal(atomic_load(&g.j[2].sleep_rc), WEFT_ECANCELED);
        assert_int_equal(atomic_load(&g.j[2].finished), 1);
        /* Every outcome is in place: each child has finished. */
        assert_int_equal(g.out[0].rc, 0);
        assert_int_equal((intptr_t)g.out[0].result, 5);
        assert_int_equal(g.out[1].rc, WEFT_ECANCELED);
        assert_int_equal(g.out[2].rc, 0);
        assert_int_equal((intptr_t)g.out[2].result, 6);
    }
}

/* ---- the same task twice: its outcome at each position ------------------- */

static int duplicates(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job a = {.sleep_ms = 10, .value = 1}, b = {.sleep_ms = 5, .rc = MY_ERROR, .value = 2};
    weft_task_t *ta = spawn_job(&a), *tb = spawn_job(&b);
    weft_task_t *t[5] = {ta, tb, ta, ta, tb};
    weft_outcome_t out[5];
    untouch(out, 5);
    CHECK_EQ(weft_gather(t, 5, out, WEFT_RETURN_EXCEPTIONS), 0);
    for (int i = 0; i < 5; i++) {
        bool is_a = t[i] == ta;
        CHECK_EQ(out[i].rc, is_a ? 0 : MY_ERROR);
        CHECK_EQ((intptr_t)out[i].result, is_a ? 1 : 2);
    }
    weft_task_t *u[3] = {ta, ta, ta};
    untouch(out, 3);
    CHECK_EQ(weft_gather(u, 3, out, 0), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ((intptr_t)out[i].result, 1);
    CHECK_EQ(atomic_load(&a.runs), 1);
    weft_task_release(ta);
    weft_task_release(tb);
    /* Duplicates of a task still running, default mode. */
    struct job c = {.sleep_ms = 10, .value = 3};
    weft_task_t *tc = spawn_job(&c);
    weft_task_t *v[2] = {tc, tc};
    untouch(out, 2);
    CHECK_EQ(weft_gather(v, 2, out, 0), 0);
    CHECK_EQ((intptr_t)out[0].result, 3);
    CHECK_EQ((intptr_t)out[1].result, 3);
    weft_task_release(tc);
    return 0;
}

static void test_gather_duplicate_task_gives_outcome_at_each_position(void **state)
{
    (void)state;
    sem_run(2, duplicates, NULL, 0);
}

/* ---- n = 0 returns 0 at once ------------------------------------------- */

static int gather_none(void *arg, void **result)
{
    (void)arg;
    (void)result;
    CHECK_EQ(weft_gather(NULL, 0, NULL, 0), 0);
    CHECK_EQ(weft_gather(NULL, 0, NULL, WEFT_RETURN_EXCEPTIONS), 0);
    weft_task_t *t[1] = {NULL};
    CHECK_EQ(weft_gather(t, 0, NULL, 0), 0);
    return 0;
}

static void test_gather_zero_returns_zero(void **state)
{
    (void)state;
    sem_run(2, gather_none, NULL, 0);
}

/* ---- bad input ---------------------------------------------------------- */

static int gather_bad(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job a = {0};
    weft_task_t *ta = spawn_job(&a);
    weft_task_t *t[2] = {ta, NULL};
    CHECK_EQ(weft_gather(t, 2, NULL, 0), WEFT_EINVAL);
    CHECK_EQ(weft_gather(NULL, 2, NULL, 0), WEFT_EINVAL);
    CHECK_EQ(weft_gather(t, 1, NULL, 0x100), WEFT_EINVAL);
    CHECK_EQ(weft_gather(t, 1, NULL, 0), 0);
    weft_task_release(ta);
    return 0;
}

static void test_gather_bad_input_is_einval(void **state)
{
    (void)state;
    sem_run(2, gather_bad, NULL, 0);
}

/* ---- tasks finished before the call -------------------------------------- */

static int gather_done(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job a = {.value = 1}, b = {.rc = MY_ERROR};
    weft_task_t *t[2] = {spawn_job(&a), spawn_job(&b)};
    weft_await(t[0], NULL);
    weft_await(t[1], NULL);
    weft_outcome_t out[2];
    untouch(out, 2);
    CHECK_EQ(weft_gather(t, 2, out, 0), MY_ERROR);
    CHECK_EQ(out[0].rc, 0);
    CHECK_EQ(out[1].rc, MY_ERROR);
    CHECK_EQ(weft_gather(t, 2, out, WEFT_RETURN_EXCEPTIONS), 0);
    weft_task_release(t[0]);
    weft_task_release(t[1]);
    return 0;
}

static void test_gather_of_done_tasks_returns_at_once(void **state)
{
    (void)state;
    sem_run(2, gather_done, NULL, 0);
}

/* ---- a wide fan-out: one counter, every outcome in place ----------------- */

static int give_index(void *arg, void **result)
{
    *result = arg;
    return (intptr_t)arg % 1000 == 999 ? MY_ERROR : 0;
}

#ifdef WEFT_TSAN
#define FAN 20000
#else
#define FAN 100000
#endif

static int fan_out(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t **t = malloc(FAN * sizeof *t);
    weft_outcome_t *out = malloc(FAN * sizeof *out);
    CHECK(t && out);
    if (!t || !out)
        return WEFT_ENOMEM;
    for (intptr_t i = 0; i < FAN; i++) {
        t[i] = weft_spawn(give_index, (void *)i);
        CHECK(t[i] != NULL);
    }
    CHECK_EQ(weft_gather(t, FAN, out, WEFT_RETURN_EXCEPTIONS), 0);
    long bad = 0;
    for (intptr_t i = 0; i < FAN; i++) {
        if ((intptr_t)out[i].result != i || out[i].rc != (i % 1000 == 999 ? MY_ERROR : 0))
            bad++;
        weft_task_release(t[i]);
    }
    CHECK_EQ(bad, 0);
    free(t);
    free(out);
    return 0;
}

static void test_gather_wide_fan_out_keeps_every_outcome(void **state)
{
    (void)state;
    sem_run(2, fan_out, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gather_outcomes_in_input_order),
        cmocka_unit_test(test_gather_outcomes_may_be_null),
        cmocka_unit_test(test_gather_first_failure_returns_at_once_others_keep_running),
        cmocka_unit_test(test_gather_cancelled_child_is_a_failure_by_default),
        cmocka_unit_test(test_gather_return_exceptions_outcomes_in_order),
        cmocka_unit_test(
            test_gather_cancel_cancels_children_and_ends_ecanceled_even_with_return_exceptions),
        cmocka_unit_test(test_gather_duplicate_task_gives_outcome_at_each_position),
        cmocka_unit_test(test_gather_zero_returns_zero),
        cmocka_unit_test(test_gather_bad_input_is_einval),
        cmocka_unit_test(test_gather_of_done_tasks_returns_at_once),
        cmocka_unit_test(test_gather_wide_fan_out_keeps_every_outcome),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
