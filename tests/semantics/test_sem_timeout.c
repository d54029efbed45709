/*
 * test_sem_timeout.c - timeout scopes against asyncio.timeout (DESIGN.md's
 * semantics table, issue 3 item 3): expiry cancels the body and exit turns
 * that into WEFT_ETIMEDOUT; a scope that does not expire, or whose body
 * ran to its end, exits with 0; of nested expired scopes only the
 * outermost reports the timeout; an outside cancel stays a cancel;
 * reschedule; timeouts <= 0; bad input.  (Deeper nesting with groups is in
 * test_sem_nesting.c.)
 */
#include "sem.h"

/* Spins, never suspending, until the current task has n cancel requests
 * (the scopes' timers have fired). */
static void spin_until_cancelling(int n)
{
    double start = now_ms();
    while (weft_cancelling() < n) {
        if (now_ms() - start > SEM_PATIENCE_MS) {
            CHECK(!"the timeout never fired");
            return;
        }
    }
}

/* ---- expiry cancels the body; exit returns WEFT_ETIMEDOUT ---------------- */

static int expires(void *arg, void **result)
{
    (void)arg;
    (void)result;
    double start = now_ms();
    weft_timeout_t *h = weft_timeout_enter(30);
    CHECK(h != NULL);
    CHECK_EQ(weft_sleep(WEFT_FOREVER), WEFT_ECANCELED);
    double took = now_ms() - start;
    CHECK(took >= 30);
    CHECK(took < 10 * 30 + 2000);
    CHECK_EQ(weft_timeout_exit(h), WEFT_ETIMEDOUT);
    CHECK_EQ(weft_cancelling(), 0); /* its request was withdrawn */
    CHECK_EQ(weft_sleep(2), 0);
    return 0;
}

static void test_timeout_expiry_cancels_body_and_exit_returns_etimedout(void **state)
{
    (void)state;
    sem_run(2, expires, NULL, 0);
}

/* The expiry cancels what the body waits on, as any cancel does. */
static int expires_in_await(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job j = {.sleep_ms = WEFT_FOREVER};
    weft_task_t *t = spawn_job(&j);
    weft_timeout_t *h = weft_timeout_enter(20);
    CHECK_EQ(weft_await(t, NULL), WEFT_ECANCELED);
    CHECK_EQ(weft_timeout_exit(h), WEFT_ETIMEDOUT);
    CHECK(weft_task_cancelled(t));
    weft_task_release(t);
    return 0;
}

static void test_timeout_expiry_cancels_what_body_awaits(void **state)
{
    (void)state;
    sem_run(2, expires_in_await, NULL, 0);
}

/* ---- no expiry, or a body that ran to its end: 0 ------------------------- */

static int no_expiry(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_timeout_t *h = weft_timeout_enter(5000);
    CHECK_EQ(weft_sleep(10), 0);
    CHECK_EQ(weft_timeout_exit(h), 0);
    weft_timeout_t *f = weft_timeout_enter(WEFT_FOREVER);
    CHECK_EQ(weft_sleep(10), 0);
    CHECK_EQ(weft_timeout_exit(f), 0);
    CHECK_EQ(weft_cancelling(), 0);
    return 0;
}

static void test_timeout_not_expired_exits_zero(void **state)
{
    (void)state;
    sem_run(2, no_expiry, NULL, 0);
}

static int ran_to_end(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_timeout_t *h = weft_timeout_enter(5);
    spin_until_cancelling(1); /* expired while the body never suspended */
    CHECK_EQ(weft_timeout_exit(h), 0);
    CHECK_EQ(weft_cancelling(), 0);
    CHECK_EQ(weft_sleep(2), 0); /* nothing left pending */
    return 0;
}

static void test_timeout_expired_body_that_never_suspended_exits_zero(void **state)
{
    (void)state;
    sem_run(2, ran_to_end, NULL, 0);
}

/* ---- nested: only the outermost expired scope reports the timeout -------- */

static int nested_both(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_timeout_t *outer = weft_timeout_enter(10);
    weft_timeout_t *inner = weft_timeout_enter(10);
    spin_until_cancelling(2); /* both fired before the body suspends */
    CHECK_EQ(weft_sleep(WEFT_FOREVER), WEFT_ECANCELED);
    CHECK_EQ(weft_timeout_exit(inner), WEFT_ECANCELED);
    CHECK_EQ(weft_timeout_exit(outer), WEFT_ETIMEDOUT);
    CHECK_EQ(weft_cancelling(), 0);
    return 0;
}

static void test_timeout_nested_expired_only_outermost_reports(void **state)
{
    (void)state;
    sem_run(2, nested_both, NULL, 0);
}

static int nested_inner(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_timeout_t *outer = weft_timeout_enter(10000);
    weft_timeout_t *inner = weft_timeout_enter(20);
    CHECK_EQ(weft_sleep(WEFT_FOREVER), WEFT_ECANCELED);
    CHECK_EQ(weft_timeout_exit(inner), WEFT_ETIMEDOUT);
    CHECK_EQ(weft_sleep(5), 0);
    CHECK_EQ(weft_timeout_exit(outer), 0);
    return 0;
}

static void test_timeout_inner_expiring_alone_reports_outer_does_not(void **state)
{
    (void)state;
    sem_run(2, nested_inner, NULL, 0);
}

/* ---- an outside cancel stays a cancel ------------------------------------ */

static int outside_and_expired(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_timeout_t *h = weft_timeout_enter(5);
    CHECK_EQ(weft_cancel(weft_current()), 1); /* from "outside" the scope */
    spin_until_cancelling(2);
    CHECK_EQ(weft_sleep(WEFT_FOREVER), WEFT_ECANCELED);
    CHECK_EQ(weft_timeout_exit(h), WEFT_ECANCELED);
    CHECK_EQ(weft_cancelling(), 1); /* the outside request is still there */
    return WEFT_ECANCELED;
}

static int outside_cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *t = weft_spawn(outside_and_expired, NULL);
    CHECK_EQ(weft_await(t, NULL), WEFT_ECANCELED);
    weft_task_release(t);
    return 0;
}

struct outsider {
    atomic_int in_scope;
    int exit_rc;
};

static int outside_only(void *arg, void **result)
{
    (void)result;
    struct outsider *o = arg;
    weft_timeout_t *h = weft_timeout_enter(10000);
    atomic_store(&o->in_scope, 1);
    CHECK_EQ(weft_sleep(WEFT_FOREVER), WEFT_ECANCELED);
    o->exit_rc = weft_timeout_exit(h); /* not expired: 0, the cancel is ours */
    return WEFT_ECANCELED;
}

static int outside_only_main(void *arg, void **result)
{
    (void)result;
    weft_task_t *t = weft_spawn(outside_only, arg);
    task_wait_flag(&((struct outsider *)arg)->in_scope);
    weft_sleep(5);
    CHECK_EQ(weft_cancel(t), 1);
    CHECK_EQ(weft_await(t, NULL), WEFT_ECANCELED);
    weft_task_release(t);
    return 0;
}

static void test_timeout_outside_cancel_stays_cancel(void **state)
{
    (void)state;
    sem_run(2, outside_cancel_main, NULL, 0);
    struct outsider o = {0};
    sem_run(2, outside_only_main, &o, 0);
    assert_int_equal(o.exit_rc, 0);
}

/* ---- timeout <= 0 expires at once ---------------------------------------- */

static int nonpositive(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int64_t ms[2] = {0, -10};
    for (int i = 0; i < 2; i++) {
        double start = now_ms();
        weft_timeout_t *h = weft_timeout_enter(ms[i]);
        CHECK(h != NULL);
        CHECK_EQ(weft_sleep(5000), WEFT_ECANCELED);
        CHECK(now_ms() - start < 2500);
        CHECK_EQ(weft_timeout_exit(h), WEFT_ETIMEDOUT);
    }
    return 0;
}

static void test_timeout_nonpositive_expires_at_once(void **state)
{
    (void)state;
    sem_run(2, nonpositive, NULL, 0);
}

/* ---- reschedule ------------------------------------------------------------ */

static int reschedule(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* From never to soon. */
    weft_timeout_t *h = weft_timeout_enter(WEFT_FOREVER);
    CHECK_EQ(weft_timeout_reschedule(h, 20), 0);
    CHECK_EQ(weft_sleep(WEFT_FOREVER), WEFT_ECANCELED);
    CHECK_EQ(weft_timeout_exit(h), WEFT_ETIMEDOUT);
    /* From soon to later. */
    h = weft_timeout_enter(20);
    CHECK_EQ(weft_timeout_reschedule(h, 10000), 0);
    CHECK_EQ(weft_sleep(60), 0);
    CHECK_EQ(weft_timeout_exit(h), 0);
    /* From soon to never. */
    h = weft_timeout_enter(20);
    CHECK_EQ(weft_timeout_reschedule(h, WEFT_FOREVER), 0);
    CHECK_EQ(weft_sleep(60), 0);
    CHECK_EQ(weft_timeout_exit(h), 0);
    /* Once expired it cannot be moved. */
    h = weft_timeout_enter(5);
    spin_until_cancelling(1);
    CHECK_EQ(weft_timeout_reschedule(h, 10000), WEFT_EINVAL);
    CHECK_EQ(weft_yield(), WEFT_ECANCELED);
    CHECK_EQ(weft_timeout_exit(h), WEFT_ETIMEDOUT);
    return 0;
}

static void test_timeout_reschedule_moves_deadline_einval_once_expired(void **state)
{
    (void)state;
    sem_run(2, reschedule, NULL, 0);
}

/* ---- bad input --------------------------------------------------------------- */

static int bad(void *arg, void **result)
{
    (void)arg;
    (void)result;
    CHECK_EQ(weft_timeout_exit(NULL), WEFT_EINVAL);
    CHECK_EQ(weft_timeout_reschedule(NULL, 10), WEFT_EINVAL);
    return 0;
}

static void test_timeout_null_is_einval_outside_task_eperm(void **state)
{
    (void)state;
    assert_null(weft_timeout_enter(10));
    assert_int_equal(weft_last_error(), WEFT_EPERM);
    sem_run(2, bad, NULL, 0);
}

/* ---- a scope left open ends with its task ------------------------------- */

/* Returns on an "error path" with its 50 ms scope still open. */
static int leave_scope_open(void *arg, void **result)
{
    (void)arg;
    (void)result;
    CHECK(weft_timeout_enter(50) != NULL);
    return MY_ERROR;
}

static int scope_leakers_and_sleepers(void *arg, void **result)
{
    (void)arg;
    (void)result;
    enum { N = 100 };
    weft_task_t *t[N];
    for (int i = 0; i < N; i++)
        CHECK((t[i] = weft_spawn(leave_scope_open, NULL)) != NULL);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(weft_await(t[i], NULL), MY_ERROR);
        weft_task_release(t[i]);
    }
    /* Their records go to these sleepers, which outlive the 50 ms: the
     * scopes must cancel none of them. */
    struct job j[N];
    memset(j, 0, sizeof j);
    for (int i = 0; i < N; i++) {
        j[i].sleep_ms = 200;
        t[i] = spawn_job(&j[i]);
    }
    for (int i = 0; i < N; i++) {
        CHECK_EQ(weft_await(t[i], NULL), 0);
        CHECK_EQ(atomic_load(&j[i].sleep_rc), 0);
        weft_task_release(t[i]);
    }
    /* No timer of theirs is left behind. */
    weft_stats_t st;
    CHECK_EQ(weft_stats(&st), 0);
    CHECK_EQ(st.timers_armed, 0);
    return 0;
}

static void test_scope_left_open_ends_with_its_task(void **state)
{
    (void)state;
    for (unsigned workers = 1; workers <= 2; workers++)
        sem_run(workers, scope_leakers_and_sleepers, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeout_expiry_cancels_body_and_exit_returns_etimedout),
        cmocka_unit_test(test_timeout_expiry_cancels_what_body_awaits),
        cmocka_unit_test(test_timeout_not_expired_exits_zero),
        cmocka_unit_test(test_timeout_expired_body_that_never_suspended_exits_zero),
        cmocka_unit_test(test_timeout_nested_expired_only_outermost_reports),
        cmocka_unit_test(test_timeout_inner_expiring_alone_reports_outer_does_not),
        cmocka_unit_test(test_timeout_outside_cancel_stays_cancel),
        cmocka_unit_test(test_timeout_nonpositive_expires_at_once),
        cmocka_unit_test(test_timeout_reschedule_moves_deadline_einval_once_expired),
        cmocka_unit_test(test_timeout_null_is_einval_outside_task_eperm),
        cmocka_unit_test(test_scope_left_open_ends_with_its_task),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
