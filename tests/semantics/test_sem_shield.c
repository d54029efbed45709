/*
 * test_sem_shield.c - weft_shield against asyncio.shield (DESIGN.md's
 * semantics table: "weft_shield stops that"): a cancel of the waiting task
 * ends its wait with WEFT_ECANCELED and is not forwarded, the shielded
 * task keeps running; without a cancel the shield gives the task's outcome,
 * a failure or a cancel of the task itself included.
 */
#include "sem.h"

/* ---- the waiter is cancelled, the shielded task goes on ------------------ */

struct handler {
    atomic_int gate;     /* lets the critical task finish */
    struct job save;     /* the critical task */
    weft_task_t *t;      /* its handle */
    atomic_int shielding;
    int rc;              /* what weft_shield returned */
    int save_done_then;  /* the task was done when the shield returned */
};

static int handler_fn(void *arg, void **result)
{
    (void)result;
    struct handler *h = arg;
    h->t = spawn_job(&h->save);
    atomic_store(&h->shielding, 1);
    h->rc = weft_shield(h->t, NULL);
    h->save_done_then = weft_task_done(h->t);
    return h->rc;
}

static int shield_main(void *arg, void **result)
{
    (void)result;
    struct handler *h = arg;
    weft_task_t *t = weft_spawn(handler_fn, h);
    CHECK(t != NULL);
    task_wait_flag(&h->shielding);
    wait_asleep(&h->save);
    weft_sleep(5);
    CHECK_EQ(weft_cancel(t), 1);
    CHECK_EQ(weft_await(t, NULL), WEFT_ECANCELED);
    /* The handler has ended; the save has not been cancelled. */
    CHECK(!weft_task_done(h->t));
    atomic_store(&h->gate, 1);
    void *r = NULL;
    CHECK_EQ(weft_await(h->t, &r), 0);
    CHECK_EQ((intptr_t)r, 77);
    CHECK(!weft_task_cancelled(h->t));
    CHECK_EQ(atomic_load(&h->save.sleep_rc), 0);
    weft_task_release(h->t);
    weft_task_release(t);
    return 0;
}

static void test_shield_keeps_task_running_when_waiter_cancelled(void **state)
{
    (void)state;
    struct handler h = {.save = {.sleep_ms = 1, .value = 77}};
    h.save.gate = &h.gate;
    sem_run(2, shield_main, &h, 0);
    assert_int_equal(h.rc, WEFT_ECANCELED);
    assert_int_equal(h.save_done_then, 0);
    assert_int_equal(atomic_load(&h.save.finished), 1);
}

/* A cancel pending when the shield starts ends it too, not the task. */
static int pending_shield(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job j = {.sleep_ms = 20, .value = 3};
    weft_task_t *t = spawn_job(&j);
    CHECK_EQ(weft_cancel(weft_current()), 1);
    CHECK_EQ(weft_shield(t, NULL), WEFT_ECANCELED);
    void *r = NULL;
    CHECK_EQ(weft_await(t, &r), 0); /* the request was used by the shield */
    CHECK_EQ((intptr_t)r, 3);
    weft_task_release(t);
    return 0;
}

static void test_shield_with_pending_cancel_returns_ecanceled_task_unaffected(void **state)
{
    (void)state;
    sem_run(2, pending_shield, NULL, 0);
}

/* ---- no cancel: the task's outcome, whatever it is ------------------------ */

static int outcomes(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job ok = {.sleep_ms = 5, .value = 1}, bad = {.sleep_ms = 5, .rc = MY_ERROR, .value = 2},
               c = {.sleep_ms = WEFT_FOREVER};
    weft_task_t *a = spawn_job(&ok), *b = spawn_job(&bad), *tc = spawn_job(&c);
    void *r = NULL;
    CHECK_EQ(weft_shield(a, &r), 0);
    CHECK_EQ((intptr_t)r, 1);
    CHECK_EQ(weft_shield(b, &r), MY_ERROR); /* a failure propagates */
    CHECK_EQ((intptr_t)r, 2);
    wait_asleep(&c);
    CHECK_EQ(weft_cancel(tc), 1); /* the shielded task itself cancelled */
    CHECK_EQ(weft_shield(tc, NULL), WEFT_ECANCELED);
    CHECK(weft_task_cancelled(tc));
    CHECK_EQ(weft_cancelling(), 0);
    CHECK_EQ(weft_shield(a, NULL), 0); /* a done task */
    weft_task_release(a);
    weft_task_release(b);
    weft_task_release(tc);
    return 0;
}

static void test_shield_gives_task_outcome_and_its_failure(void **state)
{
    (void)state;
    sem_run(2, outcomes, NULL, 0);
}

static int bad(void *arg, void **result)
{
    (void)arg;
    (void)result;
    CHECK_EQ(weft_shield(NULL, NULL), WEFT_EINVAL);
    return 0;
}

static void test_shield_null_is_einval(void **state)
{
    (void)state;
    sem_run(2, bad, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shield_keeps_task_running_when_waiter_cancelled),
        cmocka_unit_test(test_shield_with_pending_cancel_returns_ecanceled_task_unaffected),
        cmocka_unit_test(test_shield_gives_task_outcome_and_its_failure),
        cmocka_unit_test(test_shield_null_is_einval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
