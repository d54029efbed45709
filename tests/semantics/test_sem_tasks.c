/*
 * test_sem_tasks.c - the task rows of DESIGN.md's semantics table:
 * create_task outside a loop, when a spawned task starts, await (code,
 * result, again on a done task, by several awaiters, on itself), and task
 * names.  One test per rule, named after it.
 */
#include "sem.h"

/* ---- create_task outside a running loop raises -------------------------- */

static int nop(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return 0;
}

static void test_spawn_outside_task_returns_eperm(void **state)
{
    (void)state;
    assert_null(weft_spawn(nop, NULL));
    assert_int_equal(weft_last_error(), WEFT_EPERM);
    weft_spawn_opts_t opts = {.name = "x"};
    assert_null(weft_spawn_opts(nop, NULL, &opts));
    assert_int_equal(weft_last_error(), WEFT_EPERM);
    assert_null(weft_current());
}

/* Every call that needs a task refuses outside one. */
static void test_task_calls_outside_task_return_eperm(void **state)
{
    (void)state;
    weft_config_t cfg = {.workers = 2};
    weft_sched_t *s = weft_start(&cfg);
    assert_non_null(s);
    weft_task_t *t = weft_submit(s, nop, NULL);
    assert_non_null(t);
    assert_int_equal(weft_block_on(t, NULL), 0);
    assert_int_equal(weft_await(t, NULL), WEFT_EPERM);
    assert_int_equal(weft_sleep(1), WEFT_EPERM);
    assert_int_equal(weft_yield(), WEFT_EPERM);
    assert_int_equal(weft_cancelling(), WEFT_EPERM);
    assert_int_equal(weft_uncancel(), WEFT_EPERM);
    weft_task_t *ts[1] = {t};
    assert_int_equal(weft_gather(ts, 1, NULL, 0), WEFT_EPERM);
    assert_int_equal(weft_wait(ts, 1, WEFT_FOREVER, WEFT_ALL_COMPLETED), WEFT_EPERM);
    assert_int_equal(weft_wait_for(t, WEFT_FOREVER, NULL), WEFT_EPERM);
    assert_int_equal(weft_shield(t, NULL), WEFT_EPERM);
    assert_null(weft_timeout_enter(10));
    assert_int_equal(weft_last_error(), WEFT_EPERM);
    assert_null(weft_group_new());
    assert_int_equal(weft_last_error(), WEFT_EPERM);
    assert_null(weft_as_completed_new(ts, 1, WEFT_FOREVER));
    assert_int_equal(weft_last_error(), WEFT_EPERM);
    weft_task_release(t);
    assert_int_equal(weft_stop(s), 0);
}

/* ---- a task starts at the loop's next opportunity ----------------------- */

struct start_order {
    atomic_int child_ran;
    int seen_after_spawn;  /* child_ran right after weft_spawn returned */
    int seen_after_work;   /* ... and after more work without suspending */
};

static int mark_ran(void *arg, void **result)
{
    (void)result;
    atomic_store((atomic_int *)arg, 1);
    return 0;
}

static int spawner_keeps_running(void *arg, void **result)
{
    (void)result;
    struct start_order *o = arg;
    weft_task_t *t = weft_spawn(mark_ran, &o->child_ran);
    CHECK(t != NULL);
    o->seen_after_spawn = atomic_load(&o->child_ran);
    busy_ms(20); /* one worker: nobody else can run the child meanwhile */
    o->seen_after_work = atomic_load(&o->child_ran);
    CHECK_EQ(weft_await(t, NULL), 0);
    CHECK_EQ(atomic_load(&o->child_ran), 1);
    weft_task_release(t);
    return 0;
}

static void test_spawn_queues_child_and_spawner_keeps_running(void **state)
{
    (void)state;
    struct start_order o = {0};
    sem_run(1, spawner_keeps_running, &o, 0);
    assert_int_equal(o.seen_after_spawn, 0);
    assert_int_equal(o.seen_after_work, 0);
}

/* With two workers the child starts without the spawner suspending: an
 * idle worker takes it. */
static int spawner_spins(void *arg, void **result)
{
    (void)result;
    atomic_int *ran = arg;
    weft_task_t *t = weft_spawn(mark_ran, ran);
    CHECK(t != NULL);
    spin_flag(ran);
    CHECK_EQ(weft_await(t, NULL), 0);
    weft_task_release(t);
    return 0;
}

static void test_spawned_task_starts_while_spawner_runs_on_idle_worker(void **state)
{
    (void)state;
    atomic_int ran = 0;
    sem_run(2, spawner_spins, &ran, 0);
    assert_int_equal(atomic_load(&ran), 1);
}

/* ---- await task: its code and result; a done task may be awaited again -- */

static int await_outcomes(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job ok = {.sleep_ms = 10, .rc = 0, .value = 42};
    struct job bad = {.sleep_ms = 10, .rc = MY_ERROR, .value = 7};
    weft_task_t *a = spawn_job(&ok), *b = spawn_job(&bad);
    void *ra = NULL, *rb = NULL;
    CHECK_EQ(weft_await(a, &ra), 0);
    CHECK_EQ((intptr_t)ra, 42);
    CHECK_EQ(weft_await(b, &rb), MY_ERROR);
    CHECK_EQ((intptr_t)rb, 7); /* a failing task's result comes too */
    CHECK_EQ(weft_await(a, NULL), 0); /* result may be NULL */
    weft_task_release(a);
    weft_task_release(b);
    return 0;
}

static void test_await_gives_task_code_and_result(void **state)
{
    (void)state;
    sem_run(2, await_outcomes, NULL, 0);
}

static int await_twice(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job ok = {.sleep_ms = 5, .rc = 0, .value = 42};
    struct job bad = {.sleep_ms = 0, .rc = MY_ERROR, .value = 9};
    weft_task_t *a = spawn_job(&ok), *b = spawn_job(&bad);
    for (int round = 0; round < 3; round++) {
        void *ra = NULL, *rb = NULL;
        CHECK_EQ(weft_await(a, &ra), 0);
        CHECK_EQ((intptr_t)ra, 42);
        CHECK_EQ(weft_await(b, &rb), MY_ERROR);
        CHECK_EQ((intptr_t)rb, 9);
        CHECK(weft_task_done(a) && weft_task_done(b));
        CHECK(!weft_task_cancelled(a) && !weft_task_cancelled(b));
    }
    CHECK_EQ(atomic_load(&ok.runs), 1); /* awaiting again does not rerun */
    CHECK_EQ(atomic_load(&bad.runs), 1);
    weft_task_release(a);
    weft_task_release(b);
    return 0;
}

static void test_done_task_awaited_twice(void **state)
{
    (void)state;
    sem_run(2, await_twice, NULL, 0);
}

/* Several tasks await one task: each gets its outcome. */
struct many {
    weft_task_t *target;
    atomic_int got;
};

static int await_target(void *arg, void **result)
{
    (void)result;
    struct many *m = arg;
    void *r = NULL;
    CHECK_EQ(weft_await(m->target, &r), MY_ERROR);
    CHECK_EQ((intptr_t)r, 5);
    atomic_fetch_add(&m->got, 1);
    return 0;
}

static int many_awaiters(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_int gate = 0;
    struct job j = {.sleep_ms = 1, .rc = MY_ERROR, .value = 5, .gate = &gate};
    struct many m = {.target = spawn_job(&j)};
    enum { N = 50 };
    weft_task_t *w[N];
    for (int i = 0; i < N; i++)
        w[i] = weft_spawn(await_target, &m);
    weft_sleep(20);
    atomic_store(&gate, 1);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(weft_await(w[i], NULL), 0);
        weft_task_release(w[i]);
    }
    CHECK_EQ(atomic_load(&m.got), N);
    weft_task_release(m.target);
    return 0;
}

static void test_many_awaiters_each_get_the_outcome(void **state)
{
    (void)state;
    sem_run(2, many_awaiters, NULL, 0);
}

/* ---- a task awaits itself ------------------------------------------------ */

static int await_self(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *self = weft_current();
    CHECK(self != NULL);
    CHECK_EQ(weft_await(self, NULL), WEFT_EDEADLK);
    weft_task_t *ts[2] = {self, self};
    weft_outcome_t out[2];
    CHECK_EQ(weft_gather(ts, 1, out, 0), WEFT_EDEADLK);
    CHECK_EQ(weft_wait(ts, 1, 10, WEFT_ALL_COMPLETED), WEFT_EDEADLK);
    CHECK_EQ(weft_wait_for(self, 10, NULL), WEFT_EDEADLK);
    CHECK_EQ(weft_shield(self, NULL), WEFT_EDEADLK);
    CHECK(!weft_task_done(self));
    return 0;
}

static void test_await_self_is_edeadlk(void **state)
{
    (void)state;
    sem_run(2, await_self, NULL, 0);
}

/* ---- bad input -------------------------------------------------------------- */

static int bad_input(void *arg, void **result)
{
    (void)arg;
    (void)result;
    CHECK_EQ(weft_await(NULL, NULL), WEFT_EINVAL);
    CHECK(weft_spawn(NULL, NULL) == NULL);
    CHECK_EQ(weft_last_error(), WEFT_EINVAL);
    CHECK_EQ(weft_cancel(NULL), WEFT_EINVAL);
    CHECK(!weft_task_done(NULL));
    CHECK(!weft_task_cancelled(NULL));
    weft_task_release(NULL); /* ignored */
    return 0;
}

static void test_bad_input_is_einval(void **state)
{
    (void)state;
    sem_run(2, bad_input, NULL, 0);
}

/* ---- a running task keeps going without its handle ----------------------- */

static int release_early(void *arg, void **result)
{
    (void)result;
    struct job *j = arg;
    weft_task_t *t = spawn_job(j);
    weft_task_release(t); /* the task is not cancelled by this */
    task_wait_flag(&j->finished);
    CHECK_EQ(atomic_load(&j->sleep_rc), 0);
    return 0;
}

static void test_released_task_keeps_running(void **state)
{
    (void)state;
    struct job j = {.sleep_ms = 20};
    sem_run(2, release_early, &j, 0);
    assert_int_equal(atomic_load(&j.finished), 1);
}

/* ---- names: given, or "Task-N" with N unique ----------------------------- */

#define NAMED 200

static int default_names(void *arg, void **result)
{
    (void)arg;
    (void)result;
    static char names[NAMED + 1][32];
    weft_task_t *t[NAMED];
    for (int i = 0; i < NAMED; i++) {
        t[i] = weft_spawn(nop, NULL);
        CHECK(t[i] != NULL);
    }
    for (int i = 0; i <= NAMED; i++) {
        const char *name = weft_task_name(i < NAMED ? t[i] : weft_current());
        CHECK(name != NULL);
        if (!name)
            return 0;
        snprintf(names[i], sizeof names[i], "%s", name);
        unsigned long long n = 0;
        char tail = 0;
        CHECK_EQ(sscanf(names[i], "Task-%llu%c", &n, &tail), 1);
        for (int k = 0; k < i; k++)
            CHECK(strcmp(names[k], names[i]) != 0);
    }
    for (int i = 0; i < NAMED; i++) {
        weft_await(t[i], NULL);
        CHECK(strcmp(weft_task_name(t[i]), names[i]) == 0); /* stable */
        weft_task_release(t[i]);
    }
    return 0;
}

static void test_names_default_task_n_unique(void **state)
{
    (void)state;
    sem_run(2, default_names, NULL, 0);
}

static int given_names(void *arg, void **result)
{
    (void)arg;
    (void)result;
    char buf[32] = "fetch-a";
    weft_spawn_opts_t opts = {.name = buf};
    weft_task_t *t = weft_spawn_opts(nop, NULL, &opts);
    CHECK(t != NULL);
    strcpy(buf, "changed"); /* the name was copied */
    CHECK(strcmp(weft_task_name(t), "fetch-a") == 0);
    CHECK_EQ(weft_task_set_name(t, "renamed"), 0);
    CHECK(strcmp(weft_task_name(t), "renamed") == 0);
    CHECK_EQ(weft_task_set_name(t, NULL), WEFT_EINVAL);
    CHECK_EQ(weft_await(t, NULL), 0);
    CHECK(strcmp(weft_task_name(t), "renamed") == 0);
    weft_task_release(t);
    /* Zero-filled options mean the defaults. */
    weft_spawn_opts_t zero = {0};
    weft_task_t *u = weft_spawn_opts(nop, NULL, &zero);
    CHECK(u != NULL);
    CHECK(strncmp(weft_task_name(u), "Task-", 5) == 0);
    weft_await(u, NULL);
    weft_task_release(u);
    return 0;
}

static void test_spawn_opts_name_is_copied_and_set_name_renames(void **state)
{
    (void)state;
    sem_run(2, given_names, NULL, 0);
}

/* ---- weft_dump: every live task, its name and what it waits on ---------- */

struct dumped {
    struct job sleeper;
    weft_task_t *sleeping;
};

static int await_it(void *arg, void **result)
{
    (void)result;
    return weft_await(((struct dumped *)arg)->sleeping, NULL);
}

static int dump_tasks(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct dumped d = {.sleeper = {.sleep_ms = WEFT_FOREVER}};
    weft_spawn_opts_t so = {.name = "fetch-sleepy"}, ao = {.name = "fetch-awaiter"};
    d.sleeping = weft_spawn_opts(job_fn, &d.sleeper, &so);
    weft_task_t *a = weft_spawn_opts(await_it, &d, &ao);
    CHECK(d.sleeping && a);
    wait_asleep(&d.sleeper);
    weft_sleep(10); /* the awaiter is waiting by now */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL);
    if (!f)
        return 0;
    int n = weft_dump(f);
    fclose(f);
    CHECK(n >= 3); /* this task, the sleeper and the awaiter */
    int lines = 0;
    const char *sleepy = NULL, *awaiter = NULL, *self = NULL;
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strstr(line, "'fetch-sleepy'"))
            sleepy = line;
        if (strstr(line, "'fetch-awaiter'"))
            awaiter = line;
        if (strstr(line, weft_task_name(weft_current())))
            self = line;
        lines++;
        line = nl ? nl + 1 : NULL;
    }
    CHECK(lines >= n); /* a line per task, maybe a heading */
    CHECK(sleepy && strstr(sleepy, "sleep"));
    CHECK(awaiter && strstr(awaiter, "await"));
    CHECK(self != NULL);
    free(buf);
    CHECK_EQ(weft_dump(NULL), WEFT_EINVAL);
    weft_cancel(a);
    CHECK_EQ(weft_await(a, NULL), WEFT_ECANCELED); /* forwarded to the sleeper */
    CHECK(weft_task_cancelled(d.sleeping));
    weft_task_release(a);
    weft_task_release(d.sleeping);
    return 0;
}

static void test_dump_lists_live_tasks_with_names_and_waits(void **state)
{
    (void)state;
    sem_run(2, dump_tasks, NULL, 0);
    /* No scheduler running: nothing to dump. */
    assert_int_equal(weft_dump(stderr), WEFT_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_outside_task_returns_eperm),
        cmocka_unit_test(test_task_calls_outside_task_return_eperm),
        cmocka_unit_test(test_spawn_queues_child_and_spawner_keeps_running),
        cmocka_unit_test(test_spawned_task_starts_while_spawner_runs_on_idle_worker),
        cmocka_unit_test(test_await_gives_task_code_and_result),
        cmocka_unit_test(test_done_task_awaited_twice),
        cmocka_unit_test(test_many_awaiters_each_get_the_outcome),
        cmocka_unit_test(test_await_self_is_edeadlk),
        cmocka_unit_test(test_bad_input_is_einval),
        cmocka_unit_test(test_released_task_keeps_running),
        cmocka_unit_test(test_names_default_task_n_unique),
        cmocka_unit_test(test_spawn_opts_name_is_copied_and_set_name_renames),
        cmocka_unit_test(test_dump_lists_live_tasks_with_names_and_waits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
