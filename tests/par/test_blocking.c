/*
 * test_blocking.c - weft_run_blocking: results from many tasks at once, a
 * cancel while the call is queued (it never runs), a cancel while it runs
 * (its outcome comes back, the cancel stays pending), cancels racing with
 * completions, weft_stop with calls queued and running, and bad input.
 *
 * libuv's pool is set to 4 threads before the first call, so that 4 calls
 * blocked on a gate this file controls fill it and the next one queues.
 */
#include "../semantics/sem.h"

#define POOL_THREADS 4

#ifdef WEFT_TSAN
#define MANY_TASKS 300
#else
#define MANY_TASKS 1000
#endif

/* A gate the test opens; blocking calls wait on it with a real condition
 * variable (they run on pool threads, not in tasks). */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open;
    atomic_int entered;         /* calls that reached the gate */
};

static void gate_init(struct gate *g)
{
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cond, NULL);
    g->open = false;
    atomic_init(&g->entered, 0);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

static void gate_destroy(struct gate *g)
{
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
}

/* Blocking call: waits at the gate, then returns MY_ERROR with the gate's
 * address as its result. */
static int wait_at_gate(void *arg, void **result)
{
    struct gate *g = arg;
    atomic_fetch_add(&g->entered, 1);
    pthread_mutex_lock(&g->lock);
    while (!g->open)
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
    *result = g;
    return MY_ERROR;
}

/* Blocking call that records that it ran. */
static int mark_ran(void *arg, void **result)
{
    (void)result;
    atomic_store((atomic_int *)arg, 1);
    return 0;
}

/* A task that makes one blocking call at the gate and checks its outcome. */
static int blocker_task(void *arg, void **result)
{
    (void)result;
    void *r = NULL;
    int rc = weft_run_blocking(wait_at_gate, arg, &r);
    CHECK_EQ(rc, MY_ERROR);
    CHECK(r == arg);
    return 0;
}

/* Spawns POOL_THREADS blockers and waits until each holds a pool thread. */
static void fill_pool(struct gate *g, weft_task_t **blockers)
{
    for (int i = 0; i < POOL_THREADS; i++) {
        blockers[i] = weft_spawn(blocker_task, g);
        CHECK(blockers[i] != NULL);
    }
    double start = now_ms();
    while (atomic_load(&g->entered) < POOL_THREADS && now_ms() - start < SEM_PATIENCE_MS)
        weft_sleep(1);
    CHECK_EQ(atomic_load(&g->entered), POOL_THREADS);
}

static void drain_pool(struct gate *g, weft_task_t **blockers)
{
    gate_open(g);
    for (int i = 0; i < POOL_THREADS; i++) {
        CHECK_EQ(weft_await(blockers[i], NULL), 0);
        weft_task_release(blockers[i]);
    }
}

/* ---- many tasks, each with its own call ------------------------------------ */

static int square(void *arg, void **result)
{
    intptr_t i = (intptr_t)arg;
    *result = (void *)(i * i);
    return (int)(i % 7);
}

static int square_task(void *arg, void **result)
{
    void *r = NULL;
    int rc = weft_run_blocking(square, arg, &r);
    intptr_t i = (intptr_t)arg;
    CHECK_EQ(rc, i % 7);
    CHECK_EQ((intptr_t)r, i * i);
    *result = r;
    return 0;
}

static int many_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    static weft_task_t *tasks[MANY_TASKS];
    for (intptr_t i = 0; i < MANY_TASKS; i++) {
        tasks[i] = weft_spawn(square_task, (void *)i);
        CHECK(tasks[i] != NULL);
    }
    for (intptr_t i = 0; i < MANY_TASKS; i++) {
        void *r = NULL;
        CHECK_EQ(weft_await(tasks[i], &r), 0);
        CHECK_EQ((intptr_t)r, i * i);
        weft_task_release(tasks[i]);
    }
    return 0;
}

static void test_blocking_many_tasks_get_their_results(void **state)
{
    (void)state;
    sem_run(2, many_main, NULL, 0);
}

/* ---- cancel while queued: WEFT_ECANCELED, fn never runs ------------------- */

struct queued {
    atomic_int calling;         /* the task is about to call */
    atomic_int ran;             /* the call's fn ran */
    atomic_int rc;              /* what weft_run_blocking returned */
};

static int queued_task(void *arg, void **result)
{
    struct queued *q = arg;
    void *r = (void *)q; /* must stay untouched */
    atomic_store(&q->calling, 1);
    int rc = weft_run_blocking(mark_ran, &q->ran, &r);
    atomic_store(&q->rc, rc);
    CHECK(r == (void *)q);
    *result = NULL;
    return rc;
}

static int cancel_queued_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct gate g;
    gate_init(&g);
    weft_task_t *blockers[POOL_THREADS];
    fill_pool(&g, blockers);
    struct queued q = {0};
    weft_task_t *t = weft_spawn(queued_task, &q);
    CHECK(t != NULL);
    task_wait_flag(&q.calling);
    weft_sleep(20); /* let the call reach libuv's queue (earlier is fine too) */
    CHECK_EQ(weft_cancel(t), 1);
    CHECK_EQ(weft_await(t, NULL), WEFT_ECANCELED);
    CHECK_EQ(atomic_load(&q.rc), WEFT_ECANCELED);
    drain_pool(&g, blockers);
    /* The pool is free again: had the call stayed queued, it would run now. */
    struct gate g2;
    gate_init(&g2);
    gate_open(&g2);
    void *r = NULL;
    CHECK_EQ(weft_run_blocking(wait_at_gate, &g2, &r), MY_ERROR);
    CHECK_EQ(atomic_load(&q.ran), 0);
    weft_task_release(t);
    gate_destroy(&g2);
    gate_destroy(&g);
    return 0;
}

static void test_blocking_cancel_while_queued_never_runs(void **state)
{
    (void)state;
    sem_run(2, cancel_queued_main, NULL, 0);
}

/* ---- cancel while running: fn's outcome, the cancel stays pending --------- */

struct running {
    struct gate gate;
    atomic_int rc;              /* what weft_run_blocking returned */
    atomic_int next_rc;         /* what the next suspension point returned */
};

static int running_task(void *arg, void **result)
{
    struct running *s = arg;
    void *r = NULL;
    int rc = weft_run_blocking(wait_at_gate, &s->gate, &r);
    CHECK(r == &s->gate);
    atomic_store(&s->rc, rc);
    atomic_store(&s->next_rc, weft_sleep(SEM_PATIENCE_MS));
    *result = r;
    return rc;
}

static int cancel_running_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct running s = {0};
    gate_init(&s.gate);
    weft_task_t *t = weft_spawn(running_task, &s);
    CHECK(t != NULL);
    task_wait_flag(&s.gate.entered); /* fn runs on a pool thread */
    CHECK_EQ(weft_cancel(t), 1);
    weft_sleep(10);
    CHECK(!weft_task_done(t)); /* the task waits for fn */
    gate_open(&s.gate);
    void *r = NULL;
    CHECK_EQ(weft_await(t, &r), MY_ERROR);
    CHECK(r == &s.gate);
    CHECK_EQ(atomic_load(&s.rc), MY_ERROR);
    CHECK_EQ(atomic_load(&s.next_rc), WEFT_ECANCELED);
    weft_task_release(t);
    gate_destroy(&s.gate);
    return 0;
}

static void test_blocking_cancel_while_running_gives_fn_outcome(void **state)
{
    (void)state;
    sem_run(2, cancel_running_main, NULL, 0);
}

/* ---- cancels racing with completions: each call either never ran and
 * returned WEFT_ECANCELED, or ran once and returned its own outcome ------ */

struct race_slot {
    atomic_int entered;         /* the task ran (one cancelled first never does) */
    atomic_int ran;             /* times fn ran */
    atomic_int rc;              /* what weft_run_blocking returned */
    intptr_t result;            /* what it stored */
};

static struct race_slot race[MANY_TASKS];

static int race_fn(void *arg, void **result)
{
    struct race_slot *s = arg;
    atomic_fetch_add(&s->ran, 1);
    *result = s;
    return (int)((s - race) % 5);
}

static int race_task(void *arg, void **result)
{
    (void)result;
    struct race_slot *s = arg;
    void *r = NULL;
    atomic_store(&s->entered, 1);
    atomic_store(&s->rc, weft_run_blocking(race_fn, s, &r));
    s->result = (intptr_t)r;
    return 0;
}

static int race_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    static weft_task_t *tasks[MANY_TASKS];
    memset(race, 0, sizeof race);
    for (int i = 0; i < MANY_TASKS; i++) {
        tasks[i] = weft_spawn(race_task, &race[i]);
        CHECK(tasks[i] != NULL);
        if (i % 3 == 0)
            weft_yield(); /* vary how far the earlier calls got */
        if (i >= 2)
            weft_cancel(tasks[i - 2]);
    }
    for (int i = 0; i < MANY_TASKS; i++) {
        weft_cancel(tasks[i]);
        weft_await(tasks[i], NULL);
        weft_task_release(tasks[i]);
    }
    /* One more call through the pool: one taken back cannot run after it. */
    atomic_int ran = 0;
    CHECK_EQ(weft_run_blocking(mark_ran, &ran, NULL), 0);
    int cancelled = 0, unstarted = 0;
    for (int i = 0; i < MANY_TASKS; i++) {
        struct race_slot *s = &race[i];
        if (!atomic_load(&s->entered)) {
            unstarted++;
            CHECK_EQ(atomic_load(&s->ran), 0);
        } else if (atomic_load(&s->rc) == WEFT_ECANCELED) {
            cancelled++;
            CHECK_EQ(atomic_load(&s->ran), 0);
            CHECK_EQ(s->result, 0);
        } else {
            CHECK_EQ(atomic_load(&s->ran), 1);
            CHECK_EQ(atomic_load(&s->rc), i % 5);
            CHECK(s->result == (intptr_t)s);
        }
    }
    print_message("blocking race: %d tasks never started, %d calls taken back, %d ran\n",
                  unstarted, cancelled, MANY_TASKS - unstarted - cancelled);
    return 0;
}

static void test_blocking_cancel_races_with_completion(void **state)
{
    (void)state;
    sem_run(2, race_main, NULL, 0);
}

/* ---- weft_stop with calls running and queued ----------------------------- */

struct stopping {
    struct gate gate;
    struct queued q;
    weft_task_t *queued;        /* the task whose call waits in the queue */
    atomic_int blockers_done;
};

static int stop_blocker(void *arg, void **result)
{
    struct stopping *s = arg;
    int rc = weft_run_blocking(wait_at_gate, &s->gate, result);
    CHECK_EQ(rc, MY_ERROR);
    atomic_fetch_add(&s->blockers_done, 1);
    return rc;
}

/* Opens the gate once weft_stop has ended the queued call. */
static void *opener(void *arg)
{
    struct stopping *s = arg;
    double start = now_ms();
    while (!weft_task_done(s->queued) && now_ms() - start < SEM_PATIENCE_MS)
        thread_sleep_ms(1);
    gate_open(&s->gate);
    return NULL;
}

static void test_blocking_stop_ends_queued_and_waits_for_running(void **state)
{
    (void)state;
    struct stopping s = {0};
    gate_init(&s.gate);
    weft_config_t cfg = {.workers = 2};
    weft_sched_t *sched = weft_start(&cfg);
    assert_non_null(sched);
    for (int i = 0; i < POOL_THREADS; i++) {
        weft_task_t *t = weft_submit(sched, stop_blocker, &s);
        assert_non_null(t);
        weft_task_release(t);
    }
    double start = now_ms();
    while (atomic_load(&s.gate.entered) < POOL_THREADS && now_ms() - start < SEM_PATIENCE_MS)
        thread_sleep_ms(1);
    assert_int_equal(atomic_load(&s.gate.entered), POOL_THREADS);
    s.queued = weft_submit(sched, queued_task, &s.q);
    assert_non_null(s.queued);
    thread_wait_flag(&s.q.calling);
    thread_sleep_ms(20);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, opener, &s), 0);
    /* The handle stays valid while we hold it; weft_stop invalidates it, so
     * the opener must be done with it first: it is, once the gate opens,
     * and weft_stop cannot finish before that. */
    assert_int_equal(weft_stop(sched), 0);
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&s.q.rc), WEFT_ECANCELED);
    assert_int_equal(atomic_load(&s.q.ran), 0);
    assert_int_equal(atomic_load(&s.blockers_done), POOL_THREADS);
    gate_destroy(&s.gate);
    assert_no_check_failures();
}

/* ---- bad input ------------------------------------------------------------ */

static int bad_input_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    void *r = (void *)&r;
    CHECK_EQ(weft_run_blocking(NULL, NULL, &r), WEFT_EINVAL);
    CHECK(r == (void *)&r);
    atomic_int ran = 0;
    CHECK_EQ(weft_run_blocking(mark_ran, &ran, NULL), 0); /* result may be NULL */
    CHECK_EQ(atomic_load(&ran), 1);
    return 0;
}

/* Blocking call that tries task functions: it runs on a plain thread. */
static int try_task_calls(void *arg, void **result)
{
    (void)arg;
    (void)result;
    CHECK(weft_current() == NULL);
    CHECK(weft_spawn(square, NULL) == NULL);
    CHECK_EQ(weft_last_error(), WEFT_EPERM);
    CHECK_EQ(weft_run_blocking(square, NULL, NULL), WEFT_EPERM);
    return 0;
}

static int pool_thread_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    CHECK_EQ(weft_run_blocking(try_task_calls, NULL, NULL), 0);
    return 0;
}

static void test_blocking_bad_input(void **state)
{
    (void)state;
    assert_int_equal(weft_run_blocking(square, NULL, NULL), WEFT_EPERM);
    sem_run(1, bad_input_main, NULL, 0);
    sem_run(1, pool_thread_main, NULL, 0);
}

int main(void)
{
    /* Read once, by libuv's first uv_queue_work in this process. */
    setenv("UV_THREADPOOL_SIZE", "4", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocking_many_tasks_get_their_results),
        cmocka_unit_test(test_blocking_cancel_while_queued_never_runs),
        cmocka_unit_test(test_blocking_cancel_while_running_gives_fn_outcome),
        cmocka_unit_test(test_blocking_cancel_races_with_completion),
        cmocka_unit_test(test_blocking_stop_ends_queued_and_waits_for_running),
        cmocka_unit_test(test_blocking_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
