/*
 * test_sem_group.c - task groups against asyncio.TaskGroup (DESIGN.md's
 * semantics table, issue 3 item 4): join waits for every child; the first
 * failure that is not a cancellation cancels the siblings and, once, the
 * owner, and join returns it; weft_group_errors lists every failure; child
 * errors win over a cancel of the owner; a cancelled owner cancels the
 * children and join returns WEFT_ECANCELED once they have finished; no
 * spawning into an aborting or joined group; a child cancelled alone is no
 * failure; bad input.
 */
#include "sem.h"

/* ---- join waits for every child ------------------------------------------- */

static int join_all(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job j[5];
    weft_task_t *t[5];
    weft_group_t *g = weft_group_new();
    CHECK(g != NULL);
    double start = now_ms();
    for (int i = 0; i < 5; i++) {
        j[i] = (struct job){.sleep_ms = 10 * (i + 1), .value = 2 * i};
        t[i] = weft_group_spawn(g, job_fn, &j[i]);
        CHECK(t[i] != NULL);
    }
    CHECK_EQ(weft_group_join(g), 0);
    CHECK(now_ms() - start >= 50);
    for (int i = 0; i < 5; i++) {
        void *r = NULL;
        CHECK(weft_task_done(t[i]));
        CHECK_EQ(weft_await(t[i], &r), 0); /* the handles stay valid until free */
        CHECK_EQ((intptr_t)r, 2 * i);
    }
    CHECK_EQ(weft_group_errors(g, NULL, 0), 0);
    weft_group_free(g);
    return 0;
}

static void test_group_join_waits_for_every_child(void **state)
{
    (void)state;
    sem_run(2, join_all, NULL, 0);
}

/* Children may spawn more children into the group while it is joined. */
struct nested_spawn {
    weft_group_t *g;
    struct job late;
};

static int spawn_later(void *arg, void **result)
{
    (void)result;
    struct nested_spawn *n = arg;
    CHECK_EQ(weft_sleep(10), 0);
    CHECK(weft_group_spawn(n->g, job_fn, &n->late) != NULL);
    return 0;
}

static int join_late(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct nested_spawn n = {.g = weft_group_new(), .late = {.sleep_ms = 30}};
    CHECK(weft_group_spawn(n.g, spawn_later, &n) != NULL);
    CHECK_EQ(weft_group_join(n.g), 0);
    CHECK_EQ(atomic_load(&n.late.finished), 1); /* join waited for it too */
    weft_group_free(n.g);
    return 0;
}

static void test_group_join_waits_for_children_spawned_meanwhile(void **state)
{
    (void)state;
    sem_run(2, join_late, NULL, 0);
}

/* ---- the first failure cancels the siblings and the owner ---------------- */

struct aborted {
    struct job sib, fails, done_ok;
    atomic_int gate; /* lets `fails` fail, once done_ok is done */
    int owner_sleep_rc;
    int join_rc;
    int spawn_err;
    int cancelling_after;
};

static int first_failure(void *arg, void **result)
{
    (void)result;
    struct aborted *a = arg;
    weft_group_t *g = weft_group_new();
    weft_task_t *ok = weft_group_spawn(g, job_fn, &a->done_ok);
    weft_task_t *sib = weft_group_spawn(g, job_fn, &a->sib);
    weft_task_t *bad = weft_group_spawn(g, job_fn, &a->fails);
    CHECK(ok && sib && bad);
    while (!weft_task_done(ok)) /* so that the abort cannot cancel it */
        CHECK_EQ(weft_sleep(1), 0);
    atomic_store(&a->gate, 1);
    /* The body waits; the failure cancels it. */
    a->owner_sleep_rc = weft_sleep(WEFT_FOREVER);
    CHECK(weft_group_spawn(g, job_fn, &a->sib) == NULL);
    a->spawn_err = weft_last_error();
    a->join_rc = weft_group_join(g);
    a->cancelling_after = weft_cancelling();
    CHECK(weft_task_cancelled(sib));
    CHECK_EQ(weft_await(ok, NULL), 0);
    CHECK_EQ(weft_await(bad, NULL), MY_ERROR);
    int errs[4] = {0};
    CHECK_EQ(weft_group_errors(g, errs, 4), 1);
    CHECK_EQ(errs[0], MY_ERROR);
    weft_group_free(g);
    CHECK_EQ(weft_sleep(2), 0); /* the group's cancel was withdrawn */
    return 0;
}

static void test_group_first_failure_cancels_siblings_and_owner(void **state)
{
    (void)state;
    struct aborted a = {.sib = {.sleep_ms = WEFT_FOREVER},
                        .fails = {.sleep_ms = 20, .rc = MY_ERROR},
                        .done_ok = {.sleep_ms = 1}};
    a.fails.gate = &a.gate;
    sem_run(2, first_failure, &a, 0);
    assert_int_equal(a.owner_sleep_rc, WEFT_ECANCELED);
    assert_int_equal(a.join_rc, MY_ERROR);
    assert_int_equal(a.spawn_err, WEFT_ESHUTDOWN);
    assert_int_equal(a.cancelling_after, 0);
    assert_int_equal(atomic_load(&a.sib.sleep_rc), WEFT_ECANCELED);
}

/* The owner already in join: the failure cancels the siblings, join
 * returns it (the owner's cancel is the group's own and withdrawn). */
static int fail_during_join(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job sib = {.sleep_ms = WEFT_FOREVER}, bad = {.sleep_ms = 20, .rc = MY_ERROR};
    weft_group_t *g = weft_group_new();
    weft_group_spawn(g, job_fn, &sib);
    weft_group_spawn(g, job_fn, &bad);
    CHECK_EQ(weft_group_join(g), MY_ERROR);
    CHECK_EQ(atomic_load(&sib.sleep_rc), WEFT_ECANCELED);
    CHECK_EQ(weft_cancelling(), 0);
    CHECK(weft_group_spawn(g, job_fn, &sib) == NULL);
    CHECK_EQ(weft_last_error(), WEFT_ESHUTDOWN);
    weft_group_free(g);
    CHECK_EQ(weft_sleep(2), 0);
    return 0;
}

static void test_group_failure_during_join_returns_it(void **state)
{
    (void)state;
    sem_run(2, fail_during_join, NULL, 0);
}

/* ---- every failure is listed (the ExceptionGroup) ------------------------- */

struct barrier {
    atomic_int arrived;
    int n;
};

struct failer {
    struct barrier *b;
    int rc;
};

/* Fails once every failer has arrived, so none is cancelled first. */
static int fail_together(void *arg, void **result)
{
    (void)result;
    struct failer *f = arg;
    atomic_fetch_add(&f->b->arrived, 1);
    double start = now_ms();
    while (atomic_load(&f->b->arrived) < f->b->n && now_ms() - start < SEM_PATIENCE_MS)
        weft_yield();
    return f->rc;
}

static int all_errors(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct barrier b = {.n = 2};
    struct failer f1 = {&b, MY_ERROR}, f2 = {&b, OTHER_ERROR};
    struct job sib = {.sleep_ms = WEFT_FOREVER};
    weft_group_t *g = weft_group_new();
    weft_task_t *tsib = weft_group_spawn(g, job_fn, &sib);
    weft_group_spawn(g, fail_together, &f1);
    weft_group_spawn(g, fail_together, &f2);
    int rc = weft_group_join(g);
    CHECK(rc == MY_ERROR || rc == OTHER_ERROR);
    int errs[4] = {0};
    CHECK_EQ(weft_group_errors(g, errs, 4), 2);
    CHECK(errs[0] == rc); /* join returns the first, errors lists all in order */
    CHECK((errs[0] == MY_ERROR && errs[1] == OTHER_ERROR) ||
          (errs[0] == OTHER_ERROR && errs[1] == MY_ERROR));
    int one[1] = {0};
    CHECK_EQ(weft_group_errors(g, one, 1), 2); /* a small cap: the count still */
    CHECK_EQ(one[0], rc);
    CHECK_EQ(weft_group_errors(g, NULL, 0), 2);
    CHECK(weft_task_cancelled(tsib)); /* cancelled (maybe before it ran): not listed */
    weft_group_free(g);
    return 0;
}

static void test_group_errors_lists_every_failure_not_cancellations(void **state)
{
    (void)state;
    sem_run(2, all_errors, NULL, 0);
}

/* ---- a child cancelled on its own is no failure --------------------------- */

static int child_cancelled(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job c = {.sleep_ms = WEFT_FOREVER}, other = {.sleep_ms = 30, .value = 1};
    weft_group_t *g = weft_group_new();
    weft_task_t *tc = weft_group_spawn(g, job_fn, &c);
    weft_task_t *to = weft_group_spawn(g, job_fn, &other);
    wait_asleep(&c);
    CHECK_EQ(weft_cancel(tc), 1);
    CHECK_EQ(weft_group_join(g), 0);
    CHECK(weft_task_cancelled(tc));
    CHECK_EQ(weft_await(to, NULL), 0); /* the sibling was not cancelled */
    CHECK_EQ(atomic_load(&other.sleep_rc), 0);
    CHECK_EQ(weft_group_errors(g, NULL, 0), 0);
    weft_group_free(g);
    return 0;
}

static void test_group_child_cancelled_alone_is_not_a_failure(void **state)
{
    (void)state;
    sem_run(2, child_cancelled, NULL, 0);
}

/* A child cancelled before it first runs never runs; the group still
 * ends, and frees everything (AddressSanitizer's leak check sees it). */
static int cancelled_before_run(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* One worker, and the owner does not suspend before the cancels: the
     * children are still queued. */
    struct job a = {0}, b = {0};
    weft_group_t *g = weft_group_new();
    weft_task_t *ta = weft_group_spawn(g, job_fn, &a);
    weft_task_t *tb = weft_group_spawn(g, job_fn, &b);
    CHECK_EQ(weft_cancel(ta), 1);
    CHECK_EQ(weft_group_join(g), 0); /* a lone cancel is no failure */
    CHECK(weft_task_cancelled(ta));
    CHECK_EQ(atomic_load(&a.runs), 0);
    CHECK_EQ(weft_await(tb, NULL), 0);
    weft_group_free(g);
    /* Freed before its children ran: they are cancelled and never run. */
    struct job c = {0};
    weft_group_t *h = weft_group_new();
    weft_task_t *tc = weft_group_spawn(h, job_fn, &c);
    CHECK(tc != NULL);
    weft_group_free(h);
    CHECK_EQ(weft_sleep(10), 0); /* the worker disposes of the child */
    CHECK_EQ(atomic_load(&c.runs), 0);
    return 0;
}

static void test_group_child_cancelled_before_first_run_never_runs_and_is_freed(void **state)
{
    (void)state;
    sem_run(1, cancelled_before_run, NULL, 0);
}

/* ---- the owner cancelled: children cancelled, join WEFT_ECANCELED -------- */

struct owner {
    struct job kids[3];
    atomic_int joining;
    atomic_int in_body;
    bool cancel_before_join; /* the cancel reaches the body, not the join */
    int body_rc;
    int join_rc;
    int all_done;
};

static int owner_fn(void *arg, void **result)
{
    (void)result;
    struct owner *o = arg;
    weft_group_t *g = weft_group_new();
    weft_task_t *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = weft_group_spawn(g, job_fn, &o->kids[i]);
    if (o->cancel_before_join) {
        atomic_store(&o->in_body, 1);
        o->body_rc = weft_sleep(WEFT_FOREVER);
    }
    atomic_store(&o->joining, 1);
    o->join_rc = weft_group_join(g);
    o->all_done = 1;
    for (int i = 0; i < 3; i++)
        o->all_done &= weft_task_done(t[i]);
    weft_group_free(g);
    return o->join_rc;
}

static int cancel_owner(void *arg, void **result)
{
    (void)result;
    struct owner *o = arg;
    weft_task_t *t = weft_spawn(owner_fn, o);
    task_wait_flag(o->cancel_before_join ? &o->in_body : &o->joining);
    for (int i = 0; i < 3; i++)
        if (o->kids[i].sleep_ms == WEFT_FOREVER)
            wait_asleep(&o->kids[i]);
    weft_sleep(5);
    CHECK_EQ(weft_cancel(t), 1);
    int rc = weft_await(t, NULL);
    weft_task_release(t);
    return rc;
}

static void test_group_owner_cancelled_cancels_children_join_ecanceled_after_they_finish(
    void **state)
{
    (void)state;
    for (int before = 0; before <= 1; before++) {
        struct owner o = {
            .cancel_before_join = before,
            .kids = {{.sleep_ms = WEFT_FOREVER},
                     {.sleep_ms = WEFT_FOREVER, .on_cancel_sleep_ms = 30},
                     {.sleep_ms = 1}},
        };
        sem_run(2, cancel_owner, &o, WEFT_ECANCELED);
        if (before)
            assert_int_equal(o.body_rc, WEFT_ECANCELED);
        assert_int_equal(o.join_rc, WEFT_ECANCELED);
        assert_int_equal(o.all_done, 1);
        assert_int_equal(atomic_load(&o.kids[0].sleep_rc), WEFT_ECANCELED);
        assert_int_equal(atomic_load(&o.kids[1].sleep_rc), WEFT_ECANCELED);
        assert_int_equal(atomic_load(&o.kids[1].finished), 1);
    }
}

/* ---- child errors win over a cancel of the owner --------------------------- */

static void test_group_child_errors_win_over_owner_cancel(void **state)
{
    (void)state;
    for (int before = 0; before <= 1; before++) {
        /* Kid 1 answers the cancel with an error of its own. */
        struct owner o = {
            .cancel_before_join = before,
            .kids = {{.sleep_ms = WEFT_FOREVER},
                     {.sleep_ms = WEFT_FOREVER, .swallow = true, .rc = MY_ERROR},
                     {.sleep_ms = 1}},
        };
        sem_run(2, cancel_owner, &o, MY_ERROR);
        assert_int_equal(o.join_rc, MY_ERROR);
        assert_int_equal(o.all_done, 1);
    }
}

/* ---- no spawning once joined ------------------------------------------------ */

static int spawn_after_join(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job j = {.sleep_ms = 1};
    weft_group_t *g = weft_group_new();
    CHECK(weft_group_spawn(g, job_fn, &j) != NULL);
    CHECK_EQ(weft_group_join(g), 0);
    CHECK(weft_group_spawn(g, job_fn, &j) == NULL);
    CHECK_EQ(weft_last_error(), WEFT_ESHUTDOWN);
    weft_group_free(g);
    /* An empty group joins at once. */
    weft_group_t *e = weft_group_new();
    CHECK_EQ(weft_group_join(e), 0);
    CHECK(weft_group_spawn(e, job_fn, &j) == NULL);
    CHECK_EQ(weft_last_error(), WEFT_ESHUTDOWN);
    weft_group_free(e);
    CHECK_EQ(atomic_load(&j.runs), 1);
    return 0;
}

static void test_group_spawn_after_join_or_abort_is_eshutdown(void **state)
{
    (void)state;
    sem_run(2, spawn_after_join, NULL, 0); /* after an abort: see first_failure */
}

/* ---- free without join cancels what still runs ---------------------------- */

static int free_early(void *arg, void **result)
{
    (void)result;
    struct job *j = arg;
    weft_group_t *g = weft_group_new();
    weft_group_spawn(g, job_fn, j);
    wait_asleep(j);
    weft_group_free(g);
    task_wait_flag(&j->finished);
    return 0;
}

static void test_group_free_cancels_children_still_running(void **state)
{
    (void)state;
    struct job j = {.sleep_ms = WEFT_FOREVER};
    sem_run(2, free_early, &j, 0);
    assert_int_equal(atomic_load(&j.sleep_rc), WEFT_ECANCELED);
}

/* ---- bad input ------------------------------------------------------------- */

struct foreign_join {
    weft_group_t *g;
    int rc;
};

static int join_not_owner(void *arg, void **result)
{
    (void)result;
    struct foreign_join *f = arg;
    f->rc = weft_group_join(f->g);
    return 0;
}

static int group_bad(void *arg, void **result)
{
    (void)arg;
    (void)result;
    CHECK(weft_group_spawn(NULL, job_fn, NULL) == NULL);
    CHECK_EQ(weft_last_error(), WEFT_EINVAL);
    weft_group_t *g = weft_group_new();
    CHECK(weft_group_spawn(g, NULL, NULL) == NULL);
    CHECK_EQ(weft_last_error(), WEFT_EINVAL);
    CHECK_EQ(weft_group_join(NULL), WEFT_EINVAL);
    CHECK_EQ(weft_group_errors(NULL, NULL, 0), WEFT_EINVAL);
    CHECK_EQ(weft_group_errors(g, NULL, 3), WEFT_EINVAL);
    struct foreign_join f = {.g = g};
    weft_task_t *t = weft_spawn(join_not_owner, &f);
    weft_await(t, NULL);
    weft_task_release(t);
    CHECK_EQ(f.rc, WEFT_EPERM); /* only the owner joins */
    CHECK_EQ(weft_group_join(g), 0);
    weft_group_free(g);
    weft_group_free(NULL);
    return 0;
}

static void test_group_bad_input_einval_join_by_non_owner_eperm(void **state)
{
    (void)state;
    assert_null(weft_group_new());
    assert_int_equal(weft_last_error(), WEFT_EPERM);
    sem_run(2, group_bad, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_join_waits_for_every_child),
        cmocka_unit_test(test_group_join_waits_for_children_spawned_meanwhile),
        cmocka_unit_test(test_group_first_failure_cancels_siblings_and_owner),
        cmocka_unit_test(test_group_failure_during_join_returns_it),
        cmocka_unit_test(test_group_errors_lists_every_failure_not_cancellations),
        cmocka_unit_test(test_group_child_cancelled_alone_is_not_a_failure),
        cmocka_unit_test(test_group_child_cancelled_before_first_run_never_runs_and_is_freed),
        cmocka_unit_test(
            test_group_owner_cancelled_cancels_children_join_ecanceled_after_they_finish),
        cmocka_unit_test(test_group_child_errors_win_over_owner_cancel),
        cmocka_unit_test(test_group_spawn_after_join_or_abort_is_eshutdown),
        cmocka_unit_test(test_group_free_cancels_children_still_running),
        cmocka_unit_test(test_group_bad_input_einval_join_by_non_owner_eperm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
