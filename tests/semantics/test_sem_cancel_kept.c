/*
 * test_sem_cancel_kept.c - a cancel that weft_cancel granted (returned 1)
 * is never lost: not when it races the task's return, not when it is
 * forwarded to a task that has finished or is finishing (await, gather,
 * wait_for, shield, group join), and not when a TaskGroup's child errors
 * win over an outside cancel.  asyncio's rules: Task.cancel keeps the
 * request (_must_cancel) when the awaited future refuses it, CPython's
 * test_wait_for_issue86296; TaskGroup re-requests an outside cancel after
 * raising its errors, gh-116720.
 *
 * Each race form aims the cancel with a flag the target sets just before
 * it returns, and checks that the request was seen exactly once: by the
 * call (WEFT_ECANCELED) or at the next suspension point.
 */
#define _GNU_SOURCE /* sched_yield */
#include <sched.h>

#include "sem.h"

#ifdef WEFT_TSAN
#define ROUNDS 300
#else
#define ROUNDS 2000
#endif

/* ---- aiming: a foreign thread that cancels at a task's flag ------------- */

/* One round: the victim to cancel, and the moment, which a task raises
 * after waiting (a bounded spin) for the aimer to watch for it. */
struct shot {
    _Atomic(weft_task_t *) victim;
    atomic_int watching, moment, granted, answered;
};

/* A spin that lets the other threads of a loaded machine run. */
static void relax(unsigned i)
{
    if (i % 64 == 63)
        sched_yield();
}

struct aimer {
    pthread_t th;
    _Atomic(struct shot *) next;
    atomic_int stop;
};

static void *aimer_main(void *arg)
{
    struct aimer *a = arg;
    while (!atomic_load(&a->stop)) {
        struct shot *s = atomic_exchange(&a->next, NULL);
        if (!s) {
            sched_yield();
            continue;
        }
        weft_task_t *v;
        for (unsigned i = 0; !(v = atomic_load(&s->victim)); i++)
            relax(i);
        atomic_store(&s->watching, 1);
        for (unsigned i = 0; !atomic_load(&s->moment) && !weft_task_done(v); i++)
            relax(i);
        atomic_store(&s->granted, weft_cancel(v));
        atomic_store(&s->answered, 1);
    }
    return NULL;
}

static void aimer_start(struct aimer *a)
{
    atomic_store(&a->stop, 0);
    atomic_store(&a->next, NULL);
    CHECK_EQ(pthread_create(&a->th, NULL, aimer_main, a), 0);
}

static void aimer_stop(struct aimer *a)
{
    atomic_store(&a->stop, 1);
    pthread_join(a->th, NULL);
}

/* Called by the task that raises the moment: it waits a bounded while
 * for the aimer to watch. */
static void shot_moment(struct shot *s)
{
    for (unsigned i = 0; i < 20000 && !atomic_load(&s->watching); i++)
        relax(i);
    atomic_store(&s->moment, 1);
}

/* ---- a cancel racing the return ------------------------------------------- */

static int return_soon(void *arg, void **result)
{
    struct shot *s = arg;
    shot_moment(s);
    *result = s;
    return 0;
}

static int racing_returns(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct aimer a;
    aimer_start(&a);
    int granted = 0;
    for (int i = 0; i < ROUNDS; i++) {
        struct shot s = {.victim = NULL};
        atomic_store(&a.next, &s);
        weft_task_t *t = weft_spawn(return_soon, &s);
        CHECK(t != NULL);
        atomic_store(&s.victim, t);
        void *res = NULL;
        int rc = weft_await(t, &res);
        spin_flag(&s.answered);
        if (atomic_load(&s.granted)) {
            CHECK_EQ(rc, WEFT_ECANCELED); /* it never saw the cancel */
            granted++;
        } else {
            CHECK_EQ(rc, 0);
            CHECK(res == &s);
        }
        weft_task_release(t);
    }
    aimer_stop(&a);
    print_message("returns: %d of %d cancels granted\n", granted, ROUNDS);
    return 0;
}

static void test_cancel_granted_at_return_ends_task_cancelled(void **state)
{
    (void)state;
    sem_run(2, racing_returns, NULL, 0);
}

/* ---- forwarded cancels ----------------------------------------------------- */

enum call { C_AWAIT, C_GATHER, C_WAIT_FOR, C_SHIELD, C_GROUP_JOIN };

static int give_value(void *arg, void **result)
{
    *result = arg;
    return 0;
}

/* Waits for t with `call`; returns the call's code, the result in *res. */
static int call_on(enum call call, weft_task_t *t, void **res)
{
    switch (call) {
    case C_AWAIT:
        return weft_await(t, res);
    case C_GATHER: {
        weft_outcome_t o = {0};
        int rc = weft_gather(&t, 1, &o, 0);
        *res = o.result;
        return rc;
    }
    case C_WAIT_FOR:
        return weft_wait_for(t, 100000, res);
    case C_SHIELD:
        return weft_shield(t, res);
    default:
        return WEFT_EINVAL;
    }
}

/* The target has finished; the caller then cancels itself and makes the
 * call, which forwards the request to the finished target: refused, it
 * stays pending, and the next suspension point delivers it. */
static int forward_to_finished(void *arg, void **result)
{
    (void)result;
    enum call call = *(enum call *)arg;
    void *res = NULL;
    intptr_t value = 77;
    if (call == C_GROUP_JOIN) {
        weft_group_t *g = weft_group_new();
        CHECK(g != NULL);
        weft_task_t *c = weft_group_spawn(g, give_value, (void *)value);
        CHECK(c != NULL);
        CHECK_EQ(weft_await(c, NULL), 0);
        CHECK_EQ(weft_cancel(weft_current()), 1);
        /* The group's body saw a cancel it did not deliver: join does. */
        CHECK_EQ(weft_group_join(g), WEFT_ECANCELED);
        weft_group_free(g);
        CHECK_EQ(weft_sleep(1), 0); /* delivered once, by the join */
        return 0;
    }
    weft_task_t *t = weft_spawn(give_value, (void *)value);
    CHECK(t != NULL);
    CHECK_EQ(weft_await(t, NULL), 0);
    CHECK_EQ(weft_cancel(weft_current()), 1);
    CHECK_EQ(call_on(call, t, &res), 0);
    CHECK_EQ((intptr_t)res, value);
    CHECK_EQ(weft_cancelling(), 1);
    CHECK_EQ(weft_sleep(200), WEFT_ECANCELED); /* still pending */
    CHECK_EQ(weft_sleep(1), 0);                /* and delivered once */
    weft_task_release(t);
    return 0;
}

static void run_finished(enum call call)
{
    for (unsigned workers = 1; workers <= 2; workers++)
        sem_run(workers, forward_to_finished, &call, 0);
}

static void test_await_of_finished_task_keeps_pending_cancel(void **state)
{
    (void)state;
    run_finished(C_AWAIT);
}

static void test_gather_of_finished_tasks_keeps_pending_cancel(void **state)
{
    (void)state;
    run_finished(C_GATHER);
}

static void test_wait_for_of_finished_task_keeps_pending_cancel(void **state)
{
    (void)state;
    run_finished(C_WAIT_FOR);
}

static void test_shield_of_finished_task_keeps_pending_cancel(void **state)
{
    (void)state;
    run_finished(C_SHIELD);
}

static void test_group_join_of_finished_children_delivers_pending_cancel(void **state)
{
    (void)state;
    run_finished(C_GROUP_JOIN);
}

/* The race form: the caller waits in the call for a target running on the
 * other worker; the target returns just as the aimer cancels the caller.
 * Whether the target took the forwarded request (and ended cancelled) or
 * refused it, the caller sees it exactly once. */
struct race_round {
    enum call call;
    struct shot shot;
    atomic_int target_started;
    int call_rc, next_rc;
};

static int return_aimed(void *arg, void **result)
{
    struct race_round *r = arg;
    atomic_store(&r->target_started, 1);
    shot_moment(&r->shot);
    *result = r;
    return 0;
}

/* Lets the other worker take the target, so the call really waits. */
static void let_it_start(struct race_round *r)
{
    for (unsigned i = 0; i < 20000 && !atomic_load(&r->target_started); i++)
        relax(i);
}

static int caller_fn(void *arg, void **result)
{
    (void)result;
    struct race_round *r = arg;
    void *res = NULL;
    if (r->call == C_GROUP_JOIN) {
        weft_group_t *g = weft_group_new();
        CHECK(g != NULL);
        CHECK(weft_group_spawn(g, return_aimed, r) != NULL);
        let_it_start(r);
        r->call_rc = weft_group_join(g);
        weft_group_free(g);
    } else {
        weft_task_t *t = weft_spawn(return_aimed, r);
        CHECK(t != NULL);
        let_it_start(r);
        r->call_rc = call_on(r->call, t, &res);
        CHECK(r->call_rc != 0 || res == r);
        weft_task_release(t);
    }
    /* Wait, at no suspension point, for the aimer's answer; then take one
     * suspension point. */
    spin_flag(&r->shot.answered);
    r->next_rc = weft_yield();
    return 0;
}

static int forward_races(void *arg, void **result)
{
    (void)result;
    enum call call = *(enum call *)arg;
    struct aimer a;
    aimer_start(&a);
    int by_call = 0, after = 0;
    for (int i = 0; i < ROUNDS; i++) {
        struct race_round r = {.call = call};
        atomic_store(&a.next, &r.shot);
        weft_task_t *t = weft_spawn(caller_fn, &r);
        CHECK(t != NULL);
        atomic_store(&r.shot.victim, t);
        CHECK_EQ(weft_await(t, NULL), 0);
        CHECK_EQ(atomic_load(&r.shot.granted), 1); /* the caller was running */
        int seen = (r.call_rc == WEFT_ECANCELED) + (r.next_rc == WEFT_ECANCELED);
        CHECK_EQ(seen, 1);
        CHECK(r.call_rc == 0 || r.call_rc == WEFT_ECANCELED);
        by_call += r.call_rc == WEFT_ECANCELED;
        after += r.next_rc == WEFT_ECANCELED;
        weft_task_release(t);
    }
    aimer_stop(&a);
    print_message("forward races: %d seen by the call, %d after it\n", by_call, after);
    return 0;
}

static void run_races(enum call call)
{
    sem_run(2, forward_races, &call, 0);
}

static void test_await_racing_finish_keeps_cancel(void **state)
{
    (void)state;
    run_races(C_AWAIT);
}

static void test_gather_racing_finish_keeps_cancel(void **state)
{
    (void)state;
    run_races(C_GATHER);
}

static void test_wait_for_racing_finish_keeps_cancel(void **state)
{
    (void)state;
    run_races(C_WAIT_FOR);
}

static void test_shield_racing_finish_keeps_cancel(void **state)
{
    (void)state;
    run_races(C_SHIELD);
}

static void test_group_join_racing_finish_keeps_cancel(void **state)
{
    (void)state;
    run_races(C_GROUP_JOIN);
}

/* ---- TaskGroup: errors win, the outside cancel stays pending ------------ */

struct outside {
    _Atomic(weft_task_t *) owner;
    atomic_int owner_cancelled;
    bool join_while_cancelled; /* the cancel comes while join waits */
    atomic_int in_join;
    int join_rc, cancelling, next_rc;
};

static int fail_after_cancel(void *arg, void **result)
{
    (void)result;
    struct outside *o = arg;
    task_wait_flag(&o->owner_cancelled);
    return MY_ERROR;
}

static int group_owner(void *arg, void **result)
{
    (void)result;
    struct outside *o = arg;
    weft_group_t *g = weft_group_new();
    CHECK(g != NULL);
    CHECK(weft_group_spawn(g, fail_after_cancel, o) != NULL);
    if (!o->join_while_cancelled)
        CHECK_EQ(weft_sleep(WEFT_FOREVER), WEFT_ECANCELED); /* the body's sleep */
    atomic_store(&o->in_join, 1);
    o->join_rc = weft_group_join(g);
    o->cancelling = weft_cancelling();
    weft_group_free(g);
    o->next_rc = weft_sleep(200);
    return 0;
}

static int outside_canceller(void *arg, void **result)
{
    (void)result;
    struct outside *o = arg;
    weft_task_t *owner = atomic_load(&o->owner);
    if (o->join_while_cancelled)
        task_wait_flag(&o->in_join);
    weft_sleep(5); /* let it reach its wait; earlier is delivered there too */
    CHECK_EQ(weft_cancel(owner), 1);
    atomic_store(&o->owner_cancelled, 1);
    return 0;
}

static int group_errors_and_outside_cancel(void *arg, void **result)
{
    (void)result;
    struct outside *o = arg;
    weft_task_t *owner = weft_spawn(group_owner, o);
    CHECK(owner != NULL);
    atomic_store(&o->owner, owner);
    weft_task_t *c = weft_spawn(outside_canceller, o);
    CHECK(c != NULL);
    CHECK_EQ(weft_await(c, NULL), 0);
    int rc = weft_await(owner, NULL);
    weft_task_release(c);
    weft_task_release(owner);
    return rc;
}

static void test_group_errors_win_and_outside_cancel_stays_pending(void **state)
{
    (void)state;
    for (int during_join = 0; during_join <= 1; during_join++) {
        for (unsigned workers = 1; workers <= 2; workers++) {
            struct outside o = {.join_while_cancelled = during_join};
            /* The owner returns 0 after its last sleep; a pending cancel it
             * never saw would end it cancelled: it saw it. */
            sem_run(workers, group_errors_and_outside_cancel, &o, 0);
            assert_int_equal(o.join_rc, MY_ERROR);
            assert_int_equal(o.cancelling, 1);
            assert_int_equal(o.next_rc, WEFT_ECANCELED);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_granted_at_return_ends_task_cancelled),
        cmocka_unit_test(test_await_of_finished_task_keeps_pending_cancel),
        cmocka_unit_test(test_gather_of_finished_tasks_keeps_pending_cancel),
        cmocka_unit_test(test_wait_for_of_finished_task_keeps_pending_cancel),
        cmocka_unit_test(test_shield_of_finished_task_keeps_pending_cancel),
        cmocka_unit_test(test_group_join_of_finished_children_delivers_pending_cancel),
        cmocka_unit_test(test_await_racing_finish_keeps_cancel),
        cmocka_unit_test(test_gather_racing_finish_keeps_cancel),
        cmocka_unit_test(test_wait_for_racing_finish_keeps_cancel),
        cmocka_unit_test(test_shield_racing_finish_keeps_cancel),
        cmocka_unit_test(test_group_join_racing_finish_keeps_cancel),
        cmocka_unit_test(test_group_errors_win_and_outside_cancel_stays_pending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
