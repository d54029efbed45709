/*
 * test_sem_cancel.c - the cancellation rows of DESIGN.md's semantics table
 * and issue 3 item 1: cancel before the first run, while suspended, while
 * running (delivered once, at the next suspension point), a task that
 * returns 0 or an error with the cancel undelivered, cancel from another
 * thread, the cancelling counter and uncancel, and a cancel forwarded to
 * the awaited task.  One test per rule, named after it.
 */
#include "sem.h"

/* ---- cancel before first run: it never runs ------------------------------ */

static int cancel_before_run(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* One worker: the children stay queued while this task runs. */
    struct job a = {0}, b = {0};
    weft_task_t *ta = spawn_job(&a), *tb = spawn_job(&b);
    CHECK_EQ(weft_cancel(ta), 1);
    CHECK_EQ(weft_cancel(tb), 1);
    /* ta: awaited before anyone took it (the inline path). */
    CHECK_EQ(weft_await(ta, NULL), WEFT_ECANCELED);
    /* tb: the worker gets to it while this task sleeps. */
    CHECK_EQ(weft_sleep(10), 0);
    CHECK(weft_task_done(tb));
    CHECK_EQ(weft_await(tb, NULL), WEFT_ECANCELED);
    CHECK_EQ(atomic_load(&a.runs), 0);
    CHECK_EQ(atomic_load(&b.runs), 0);
    CHECK(weft_task_cancelled(ta) && weft_task_cancelled(tb));
    weft_task_release(ta);
    weft_task_release(tb);
    return 0;
}

static void test_cancel_before_first_run_never_runs(void **state)
{
    (void)state;
    sem_run(1, cancel_before_run, NULL, 0);
}

/* ---- weft_cancel returns 1 when a request was made, 0 when done ---------- */

static int cancel_return_values(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* The job, cancelled, waits for the gate: it is still running when
     * it is cancelled again. */
    atomic_int gate = 0;
    struct job j = {.sleep_ms = WEFT_FOREVER, .gate = &gate};
    weft_task_t *t = spawn_job(&j);
    wait_asleep(&j);
    CHECK_EQ(weft_cancel(t), 1);
    task_wait_flag(&j.sleep_rc); /* the first cancel has arrived */
    CHECK_EQ(weft_cancel(t), 1);
    atomic_store(&gate, 1);
    CHECK_EQ(weft_await(t, NULL), WEFT_ECANCELED);
    CHECK_EQ(weft_cancel(t), 0);
    struct job k = {.rc = MY_ERROR};
    weft_task_t *u = spawn_job(&k);
    CHECK_EQ(weft_await(u, NULL), MY_ERROR);
    CHECK_EQ(weft_cancel(u), 0);
    CHECK_EQ(weft_await(u, NULL), MY_ERROR); /* a late cancel changes nothing */
    CHECK(!weft_task_cancelled(u));
    weft_task_release(t);
    weft_task_release(u);
    return 0;
}

static void test_cancel_returns_one_if_requested_zero_if_done(void **state)
{
    (void)state;
    sem_run(2, cancel_return_values, NULL, 0);
}

/* ---- cancel while suspended: the wait ends with WEFT_ECANCELED ----------- */

static int cancel_sleeping(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job j = {.sleep_ms = WEFT_FOREVER};
    weft_task_t *t = spawn_job(&j);
    wait_asleep(&j);
    CHECK(!weft_task_done(t));
    CHECK_EQ(weft_cancel(t), 1);
    CHECK_EQ(weft_await(t, NULL), WEFT_ECANCELED);
    CHECK_EQ(atomic_load(&j.sleep_rc), WEFT_ECANCELED);
    CHECK(weft_task_cancelled(t));
    weft_task_release(t);
    return 0;
}

static void test_cancel_while_suspended_wakes_it_with_ecanceled(void **state)
{
    (void)state;
    sem_run(2, cancel_sleeping, NULL, 0);
}

/* ---- cancel while running: at the next suspension point, once ------------ */

struct runner {
    atomic_int started;  /* the child is running */
    atomic_int go;       /* the parent has made its requests */
    int requests;        /* how many requests the parent makes */
    int return_rc;       /* what the child returns if it never suspends */
    bool suspend;        /* the child goes on to suspension points */
    int cancelling_seen; /* weft_cancelling() in the child after go */
    int first_rc;        /* the first suspension point's code */
    int second_rc;       /* the second's */
};

static int runner_fn(void *arg, void **result)
{
    struct runner *r = arg;
    atomic_store(&r->started, 1);
    spin_flag(&r->go); /* running, never suspended, while cancelled */
    r->cancelling_seen = weft_cancelling();
    *result = (void *)(intptr_t)11;
    if (!r->suspend)
        return r->return_rc;
    r->first_rc = weft_yield();
    r->second_rc = weft_sleep(2);
    return r->first_rc;
}

/* Spawns runner_fn, waits (spinning) until it runs on the other worker,
 * cancels it r->requests times and lets it go; returns its code. */
static int run_and_cancel(struct runner *r, void **result)
{
    weft_task_t *t = weft_spawn(runner_fn, r);
    CHECK(t != NULL);
    spin_flag(&r->started);
    for (int i = 0; i < r->requests; i++)
        CHECK_EQ(weft_cancel(t), 1);
    CHECK(!weft_task_done(t));
    atomic_store(&r->go, 1);
    int rc = weft_await(t, result);
    CHECK(weft_task_done(t));
    if (rc == WEFT_ECANCELED)
        CHECK(weft_task_cancelled(t));
    else
        CHECK(!weft_task_cancelled(t));
    weft_task_release(t);
    return rc;
}

static int cancel_running(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct runner r = {.requests = 1, .suspend = true};
    CHECK_EQ(run_and_cancel(&r, NULL), WEFT_ECANCELED);
    CHECK_EQ(r.cancelling_seen, 1);
    CHECK_EQ(r.first_rc, WEFT_ECANCELED);
    CHECK_EQ(r.second_rc, 0); /* delivered once */
    return 0;
}

static void test_cancel_while_running_delivered_at_next_suspension_once(void **state)
{
    (void)state;
    sem_run(2, cancel_running, NULL, 0);
}

/* A task that gets the cancel and goes on: later waits are not cancelled,
 * and a 0 return then ends it normally. */
static int swallow_once(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job j = {.sleep_ms = WEFT_FOREVER, .swallow = true, .on_cancel_sleep_ms = 10,
                    .rc = 0, .value = 3};
    weft_task_t *t = spawn_job(&j);
    wait_asleep(&j);
    CHECK_EQ(weft_cancel(t), 1);
    void *r = NULL;
    CHECK_EQ(weft_await(t, &r), 0);
    CHECK_EQ((intptr_t)r, 3);
    CHECK_EQ(atomic_load(&j.sleep_rc), WEFT_ECANCELED);
    CHECK(!weft_task_cancelled(t));
    weft_task_release(t);
    return 0;
}

static void test_cancel_delivered_once_then_task_may_go_on(void **state)
{
    (void)state;
    sem_run(2, swallow_once, NULL, 0);
}

/* ---- returning with the cancel undelivered ------------------------------- */

static int zero_undelivered(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct runner r = {.requests = 1, .suspend = false, .return_rc = 0};
    void *res = NULL;
    CHECK_EQ(run_and_cancel(&r, &res), WEFT_ECANCELED);
    CHECK_EQ(r.cancelling_seen, 1);
    return 0;
}

static void test_returning_zero_with_undelivered_cancel_ends_cancelled(void **state)
{
    (void)state;
    sem_run(2, zero_undelivered, NULL, 0);
}

static int error_undelivered(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct runner r = {.requests = 1, .suspend = false, .return_rc = MY_ERROR};
    void *res = NULL;
    CHECK_EQ(run_and_cancel(&r, &res), MY_ERROR);
    CHECK_EQ((intptr_t)res, 11);
    return 0;
}

static void test_error_return_keeps_error(void **state)
{
    (void)state;
    sem_run(2, error_undelivered, NULL, 0);
}

/* ---- weft_cancel from a thread outside the scheduler ---------------------- */

struct foreign {
    _Atomic(weft_task_t *) target;
    atomic_int cancel_rc;  /* what weft_cancel returned there */
    atomic_int done;       /* the foreign thread has cancelled */
    atomic_int again_rc;   /* weft_cancel once the target had finished */
    atomic_int finished;   /* the target has finished: cancel again */
};

static void *foreign_canceller(void *arg)
{
    struct foreign *f = arg;
    double start = now_ms();
    weft_task_t *t;
    while (!(t = atomic_load(&f->target)) && now_ms() - start < SEM_PATIENCE_MS)
        thread_sleep_ms(0.2);
    if (t)
        atomic_store(&f->cancel_rc, weft_cancel(t));
    atomic_store(&f->done, 1);
    thread_wait_flag(&f->finished);
    if (t)
        atomic_store(&f->again_rc, weft_cancel(t));
    return NULL;
}

enum target_state { TARGET_QUEUED, TARGET_SLEEPING, TARGET_RUNNING };

static int foreign_cancel(void *arg, void **result)
{
    (void)result;
    enum target_state how = (enum target_state)(intptr_t)arg;
    struct foreign f = {.done = 0};
    atomic_init(&f.again_rc, -1);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, foreign_canceller, &f), 0);
    int rc = 0;
    if (how == TARGET_QUEUED) {
        /* One worker, this task spinning: the child stays queued. */
        struct job j = {0};
        weft_task_t *t = spawn_job(&j);
        atomic_store(&f.target, t);
        spin_flag(&f.done);
        rc = weft_await(t, NULL);
        CHECK_EQ(atomic_load(&j.runs), 0);
        atomic_store(&f.finished, 1);
        pthread_join(th, NULL);
        weft_task_release(t);
    } else if (how == TARGET_SLEEPING) {
        struct job j = {.sleep_ms = WEFT_FOREVER};
        weft_task_t *t = spawn_job(&j);
        wait_asleep(&j);
        atomic_store(&f.target, t);
        rc = weft_await(t, NULL);
        CHECK_EQ(atomic_load(&j.sleep_rc), WEFT_ECANCELED);
        atomic_store(&f.finished, 1);
        pthread_join(th, NULL);
        weft_task_release(t);
    } else {
        struct runner r = {.suspend = true};
        weft_task_t *t = weft_spawn(runner_fn, &r);
        CHECK(t != NULL);
        spin_flag(&r.started);
        atomic_store(&f.target, t);
        spin_flag(&f.done);
        atomic_store(&r.go, 1);
        rc = weft_await(t, NULL);
        CHECK_EQ(r.first_rc, WEFT_ECANCELED);
        CHECK_EQ(r.second_rc, 0);
        atomic_store(&f.finished, 1);
        pthread_join(th, NULL);
        weft_task_release(t);
    }
    CHECK_EQ(atomic_load(&f.cancel_rc), 1);
    CHECK_EQ(atomic_load(&f.again_rc), 0);
    return rc;
}

static void test_cancel_from_foreign_thread(void **state)
{
    (void)state;
    sem_run(1, foreign_cancel, (void *)(intptr_t)TARGET_QUEUED, WEFT_ECANCELED);
    sem_run(2, foreign_cancel, (void *)(intptr_t)TARGET_SLEEPING, WEFT_ECANCELED);
    sem_run(2, foreign_cancel, (void *)(intptr_t)TARGET_RUNNING, WEFT_ECANCELED);
}

/* ---- the cancelling counter and uncancel ---------------------------------- */

static int counting(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *self = weft_current();
    CHECK_EQ(weft_cancelling(), 0);
    CHECK_EQ(weft_uncancel(), 0); /* nothing to withdraw */
    CHECK_EQ(weft_cancelling(), 0);
    CHECK_EQ(weft_cancel(self), 1);
    CHECK_EQ(weft_cancel(self), 1);
    CHECK_EQ(weft_cancelling(), 2);
    CHECK_EQ(weft_uncancel(), 1);
    CHECK_EQ(weft_cancelling(), 1);
    /* One request is left: the pending cancel is delivered. */
    CHECK_EQ(weft_sleep(2), WEFT_ECANCELED);
    CHECK_EQ(weft_cancelling(), 1); /* delivery does not withdraw it */
    CHECK_EQ(weft_sleep(2), 0);
    CHECK_EQ(weft_uncancel(), 0);
    /* Every request withdrawn before delivery: nothing is delivered. */
    CHECK_EQ(weft_cancel(self), 1);
    CHECK_EQ(weft_uncancel(), 0);
    CHECK_EQ(weft_yield(), 0);
    CHECK_EQ(weft_sleep(2), 0);
    return 0;
}

static int counting_from_others(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct runner r = {.requests = 3, .suspend = true};
    CHECK_EQ(run_and_cancel(&r, NULL), WEFT_ECANCELED);
    CHECK_EQ(r.cancelling_seen, 3);
    CHECK_EQ(r.first_rc, WEFT_ECANCELED);
    CHECK_EQ(r.second_rc, 0); /* many requests, one delivery */
    return 0;
}

static void test_cancelling_counts_requests_uncancel_withdraws(void **state)
{
    (void)state;
    sem_run(2, counting, NULL, 0);
    sem_run(2, counting_from_others, NULL, 0);
}

/* A withdrawn cancel leaves a task that returns 0 uncancelled. */
static int withdrawn_then_zero(void *arg, void **result)
{
    (void)arg;
    (void)result;
    CHECK_EQ(weft_cancel(weft_current()), 1);
    CHECK_EQ(weft_uncancel(), 0);
    return 0;
}

static void test_uncancel_to_zero_leaves_nothing_pending(void **state)
{
    (void)state;
    sem_run(2, withdrawn_then_zero, NULL, 0);
}

/* ---- a task cancels itself: delivered at its next suspension point ------- */

static int self_cancel(void *arg, void **result)
{
    (void)arg;
    (void)result;
    CHECK_EQ(weft_cancel(weft_current()), 1);
    CHECK(!weft_task_done(weft_current()));
    CHECK_EQ(weft_sleep(WEFT_FOREVER), WEFT_ECANCELED); /* not asleep forever */
    return WEFT_ECANCELED;
}

static void test_self_cancel_delivered_at_next_suspension(void **state)
{
    (void)state;
    sem_run(2, self_cancel, NULL, WEFT_ECANCELED);
}

/* ---- cancelling a task that awaits another cancels the awaited one ------- */

struct chain {
    struct job leaf;      /* the task at the bottom, asleep */
    int depth;            /* awaiting tasks above the leaf */
    int rc[4];            /* what each level's await returned */
    weft_task_t *top;
};

struct level {
    struct chain *c;
    int d;
};

static int chain_level(void *arg, void **result)
{
    struct level *lv = arg;
    struct chain *c = lv->c;
    weft_task_t *t;
    struct level below = {c, lv->d + 1};
    if (lv->d + 1 == c->depth)
        t = spawn_job(&c->leaf);
    else
        t = weft_spawn(chain_level, &below);
    CHECK(t != NULL);
    c->rc[lv->d] = weft_await(t, result);
    CHECK(weft_task_done(t));
    weft_task_release(t);
    return c->rc[lv->d];
}

static int awaiting_forward(void *arg, void **result)
{
    (void)result;
    struct chain *c = arg;
    struct level top = {c, 0};
    weft_task_t *t = weft_spawn(chain_level, &top);
    CHECK(t != NULL);
    wait_asleep(&c->leaf);
    CHECK_EQ(weft_cancel(t), 1);
    void *r = NULL;
    int rc = weft_await(t, &r);
    if (c->leaf.swallow)
        CHECK_EQ((intptr_t)r, c->leaf.value);
    weft_task_release(t);
    return rc;
}

static void test_awaiting_cancels_forward(void **state)
{
    (void)state;
    for (unsigned workers = 1; workers <= 2; workers++) {
        for (int depth = 1; depth <= 3; depth++) {
            struct chain c = {.leaf = {.sleep_ms = WEFT_FOREVER}, .depth = depth};
            sem_run(workers, awaiting_forward, &c, WEFT_ECANCELED);
            assert_int_equal(atomic_load(&c.leaf.sleep_rc), WEFT_ECANCELED);
            for (int d = 0; d < depth; d++)
                assert_int_equal(c.rc[d], WEFT_ECANCELED);
        }
    }
}

/* The awaiter gets the awaited task's outcome, whatever it is; the cancel
 * was delivered by forwarding it, so the awaiter goes on uncancelled. */
static int forward_swallowed_level(void *arg, void **result)
{
    struct chain *c = arg;
    weft_task_t *t = spawn_job(&c->leaf);
    c->rc[0] = weft_await(t, result);
    weft_task_release(t);
    c->rc[1] = weft_sleep(2); /* not cancelled: the request was used */
    return c->rc[0];
}

static int forward_swallowed(void *arg, void **result)
{
    (void)result;
    struct chain *c = arg;
    weft_task_t *t = weft_spawn(forward_swallowed_level, c);
    CHECK(t != NULL);
    wait_asleep(&c->leaf);
    CHECK_EQ(weft_cancel(t), 1);
    void *r = NULL;
    int rc = weft_await(t, &r);
    CHECK_EQ((intptr_t)r, 42);
    weft_task_release(t);
    return rc;
}

static void test_awaiting_cancel_swallowed_by_awaited_gives_its_outcome(void **state)
{
    (void)state;
    for (unsigned workers = 1; workers <= 2; workers++) {
        struct chain c = {.leaf = {.sleep_ms = WEFT_FOREVER, .swallow = true, .rc = 0,
                                   .value = 42}};
        sem_run(workers, forward_swallowed, &c, 0);
        assert_int_equal(c.rc[0], 0);
        assert_int_equal(c.rc[1], 0);
        struct chain e = {.leaf = {.sleep_ms = WEFT_FOREVER, .swallow = true,
                                   .rc = MY_ERROR, .value = 42}};
        sem_run(workers, forward_swallowed, &e, MY_ERROR);
        assert_int_equal(e.rc[0], MY_ERROR);
    }
}

/* A cancel pending on the awaiter when it starts the await is forwarded
 * too: the awaited task is cancelled, the awaiter gets its outcome. */
static int pending_then_await(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job j = {.sleep_ms = 50};
    weft_task_t *t = spawn_job(&j);
    CHECK_EQ(weft_cancel(weft_current()), 1);
    int rc = weft_await(t, NULL);
    CHECK_EQ(rc, WEFT_ECANCELED);
    CHECK(weft_task_cancelled(t));
    weft_task_release(t);
    return rc;
}

static void test_await_with_pending_cancel_forwards_it(void **state)
{
    (void)state;
    sem_run(2, pending_then_await, NULL, WEFT_ECANCELED);
}

/* ---- a cancel racing a completion: woken exactly once --------------------- */

/* The child's 1 ms sleep ends about when a foreign thread cancels it, or
 * its gather's last child finishes about then.  Whoever wins, the child is
 * woken once: it ends exactly once with 0 or WEFT_ECANCELED, and nothing
 * hangs. */
#ifdef WEFT_TSAN
#define RACES 300
#else
#define RACES 2000
#endif

struct race {
    _Atomic(weft_task_t *) target; /* handed to the canceller, taken once */
    atomic_int round;              /* the round the target belongs to */
    atomic_int cancelled_round;    /* the last round the canceller ended */
    atomic_int stop;
    atomic_int wakes;   /* suspension points that returned, per round */
    atomic_int entered; /* suspension points entered, per round */
};

static int race_leaf(void *arg, void **result)
{
    (void)result;
    struct race *r = arg;
    atomic_fetch_add(&r->entered, 1);
    int rc = weft_sleep(1);
    atomic_fetch_add(&r->wakes, 1);
    return rc;
}

static int race_gather(void *arg, void **result)
{
    (void)result;
    struct race *r = arg;
    weft_task_t *c = weft_spawn(race_leaf, r);
    if (!c)
        return weft_last_error();
    atomic_fetch_add(&r->entered, 1);
    int rc = weft_gather(&c, 1, NULL, 0);
    atomic_fetch_add(&r->wakes, 1);
    weft_await(c, NULL);
    weft_task_release(c);
    return rc;
}

static void *race_canceller(void *arg)
{
    struct race *r = arg;
    uint64_t x = 88172645463325252u;
    while (!atomic_load(&r->stop)) {
        /* Each target is handed over once; the main task keeps its
         * reference until we acknowledge the round. */
        weft_task_t *t = atomic_exchange(&r->target, NULL);
        if (!t) {
            thread_sleep_ms(0.01);
            continue;
        }
        int round = atomic_load(&r->round);
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        thread_sleep_ms((double)(x % 1500) / 1000.0); /* 0-1.5 ms */
        weft_cancel(t);
        atomic_store(&r->cancelled_round, round);
    }
    return NULL;
}

static int races(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct race r = {.stop = 0};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, race_canceller, &r), 0);
    int outcomes[2] = {0, 0};
    for (int i = 1; i <= RACES; i++) {
        atomic_store(&r.wakes, 0);
        atomic_store(&r.entered, 0);
        weft_task_t *t = weft_spawn(i % 2 ? race_leaf : race_gather, &r);
        CHECK(t != NULL);
        atomic_store(&r.round, i);
        atomic_store(&r.target, t);
        int rc = weft_await(t, NULL);
        CHECK(rc == 0 || rc == WEFT_ECANCELED);
        outcomes[rc != 0]++;
        double start = now_ms();
        while (atomic_load(&r.cancelled_round) != i && now_ms() - start < SEM_PATIENCE_MS)
            weft_sleep(0);
        /* One wake per suspension point entered (a task cancelled before
         * it first runs never enters one). */
        CHECK_EQ(atomic_load(&r.wakes), atomic_load(&r.entered));
        weft_task_release(t);
    }
    atomic_store(&r.stop, 1);
    pthread_join(th, NULL);
    print_message("races: %d completed first, %d cancelled first\n", outcomes[0], outcomes[1]);
    return 0;
}

static void test_cancel_racing_completion_wakes_exactly_once(void **state)
{
    (void)state;
    sem_run(2, races, NULL, 0);
}

/* ---- a task that goes on after cancels can sleep again -------------------- */

/* Each cancel ends a sleep once; the task goes on and sleeps again at once
 * (its timer armed, disarmed and armed again in quick succession), while a
 * foreign thread keeps cancelling it.  Sleeps keep working throughout:
 * afterwards a plain 10 ms sleep ends.  (Last in this file: if the timer
 * machinery wedges, ctest's timeout ends the run.) */
struct hammer {
    _Atomic(weft_task_t *) target;
    atomic_int stop;
    atomic_long cancels;
    atomic_long wakes;
};

static int resleep(void *arg, void **result)
{
    (void)result;
    struct hammer *h = arg;
    while (!atomic_load(&h->stop)) {
        weft_sleep(1000);
        atomic_fetch_add(&h->wakes, 1);
    }
    return 0;
}

static void *hammer_fn(void *arg)
{
    struct hammer *h = arg;
    weft_task_t *t;
    double start = now_ms();
    while (!(t = atomic_load(&h->target)) && now_ms() - start < SEM_PATIENCE_MS)
        thread_sleep_ms(0.1);
    for (long i = 0; t && i < 200000; i++)
        atomic_fetch_add(&h->cancels, weft_cancel(t));
    atomic_store(&h->stop, 1);
    if (t)
        weft_cancel(t);
    return NULL;
}

static int hammered(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct hammer h = {.stop = 0};
    weft_task_t *t = weft_spawn(resleep, &h);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, hammer_fn, &h), 0);
    atomic_store(&h.target, t);
    double start = now_ms();
    while (!atomic_load(&h.stop))
        weft_sleep(1);
    pthread_join(th, NULL);
    CHECK(weft_await(t, NULL) == 0 || weft_task_cancelled(t));
    double before = now_ms();
    CHECK_EQ(weft_sleep(10), 0); /* the timers still work */
    CHECK(now_ms() - before >= 10);
    print_message("hammer: %ld cancels, %ld wakes in %.0f ms\n", atomic_load(&h.cancels),
                  atomic_load(&h.wakes), now_ms() - start);
    weft_task_release(t);
    return 0;
}

static void test_task_that_goes_on_after_cancels_can_sleep_again(void **state)
{
    (void)state;
    sem_run(2, hammered, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_before_first_run_never_runs),
        cmocka_unit_test(test_cancel_returns_one_if_requested_zero_if_done),
        cmocka_unit_test(test_cancel_while_suspended_wakes_it_with_ecanceled),
        cmocka_unit_test(test_cancel_while_running_delivered_at_next_suspension_once),
        cmocka_unit_test(test_cancel_delivered_once_then_task_may_go_on),
        cmocka_unit_test(test_returning_zero_with_undelivered_cancel_ends_cancelled),
        cmocka_unit_test(test_error_return_keeps_error),
        cmocka_unit_test(test_cancel_from_foreign_thread),
        cmocka_unit_test(test_cancelling_counts_requests_uncancel_withdraws),
        cmocka_unit_test(test_uncancel_to_zero_leaves_nothing_pending),
        cmocka_unit_test(test_self_cancel_delivered_at_next_suspension),
        cmocka_unit_test(test_awaiting_cancels_forward),
        cmocka_unit_test(test_awaiting_cancel_swallowed_by_awaited_gives_its_outcome),
        cmocka_unit_test(test_await_with_pending_cancel_forwards_it),
        cmocka_unit_test(test_cancel_racing_completion_wakes_exactly_once),
        cmocka_unit_test(test_task_that_goes_on_after_cancels_can_sleep_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
