/*
 * test_bad_input.c - every public function of weft.h given bad input: NULL
 * pointers, out-of-range sizes, counts and ports, calls outside a task where
 * one is needed, a task waiting on itself.  Each call must return the code
 * weft.h and docs/api.md give for it (pointer-returning calls NULL with the
 * code in weft_last_error()) and never crash.
 *
 * "Outside a task" is checked both from the test's own thread and from a
 * thread of libuv's pool (inside weft_run_blocking), which runs while a
 * scheduler and the objects its tasks made are alive; so are the calls the
 * header allows from any thread, which must work there.  Timeouts at both
 * ends of int64_t, and a scheduler that is stopping, have tests of their
 * own.  docs/api.md ("Bad input, function by function") names, row by
 * row, the test that checks each case.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime in check.h */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "weft.h"

static int return_zero(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return 0;
}

static int sleep_forever(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return weft_sleep(WEFT_FOREVER);
}

static int range_nothing(int64_t lo, int64_t hi, void *arg)
{
    (void)lo;
    (void)hi;
    (void)arg;
    return 0;
}

static int range_counts(int64_t lo, int64_t hi, void *arg)
{
    atomic_fetch_add((atomic_int *)arg, (int)(hi - lo));
    return 0;
}

/*
 * Leaves a code other than `code` in weft_last_error(), so that a call
 * checked next is seen to set the code itself rather than leave an old one.
 */
static void prime_last_error(int code)
{
    if (code != WEFT_EINVAL) {
        weft_chan_new(SIZE_MAX);
    } else if (!weft_current()) {
        weft_spawn(return_zero, NULL);
    } else {
        weft_group_t *g = weft_group_new();
        weft_group_join(g);
        weft_group_spawn(g, return_zero, NULL);
        weft_group_free(g);
    }
    CHECK(weft_last_error() != code);
}

/* A pointer-returning call that must fail: NULL and the code left. */
#define CHECK_NULL_WITH(call, code)                                        \
    do {                                                                   \
        prime_last_error(code);                                            \
        CHECK((call) == NULL);                                             \
        CHECK_EQ(weft_last_error(), code);                                 \
    } while (0)

/* cmocka's counterpart of CHECK_NULL_WITH, for the test's own thread. */
#define assert_null_with(call, code)                                       \
    do {                                                                   \
        prime_last_error(code);                                            \
        assert_null(call);                                                 \
        assert_int_equal(weft_last_error(), code);                         \
    } while (0)

/* ---- runtime ------------------------------------------------------------ */

/* The calls that must not be made from a task, made from one. */
static int runtime_in_task(void *arg, void **result)
{
    (void)result;
    weft_sched_t *s = arg;
    weft_task_t *t = weft_spawn(return_zero, NULL);
    CHECK(t != NULL);
    CHECK_EQ(weft_run(NULL, return_zero, NULL, NULL), WEFT_EPERM);
    CHECK_EQ(weft_block_on(t, NULL), WEFT_EPERM);
    CHECK_EQ(weft_stop(s), WEFT_EPERM);
    CHECK_EQ(weft_await(t, NULL), 0);
    weft_task_release(t);
    return 0;
}

static void test_runtime_rejects_bad_input(void **state)
{
    (void)state;
    assert_int_equal(weft_run(NULL, NULL, NULL, NULL), WEFT_EINVAL);

    const weft_config_t bad[] = {
        {.workers = WEFT_MAX_WORKERS + 1},
        {.workers = UINT_MAX},
        {.flags = 0x80u},
        {.flags = ~0u},
        {.stack_size = 1},
        {.stack_size = 16 * 1024 - 1},
        {.stack_size = ((size_t)1 << 30) + 1},
        {.stack_size = SIZE_MAX},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(weft_run(&bad[i], return_zero, NULL, NULL), WEFT_EINVAL);
        assert_null_with(weft_start(&bad[i]), WEFT_EINVAL);
    }

    assert_int_equal(weft_block_on(NULL, NULL), WEFT_EINVAL);
    assert_int_equal(weft_stop(NULL), WEFT_EINVAL);
    assert_null_with(weft_submit(NULL, return_zero, NULL), WEFT_EINVAL);

    weft_sched_t *s = weft_start(&(weft_config_t){.workers = 2});
    assert_non_null(s);
    assert_null_with(weft_submit(s, NULL, NULL), WEFT_EINVAL);
    weft_task_t *t = weft_submit(s, runtime_in_task, s);
    assert_non_null(t);
    assert_int_equal(weft_block_on(t, NULL), 0);
    weft_task_release(t);
    assert_int_equal(weft_stop(s), 0);
    assert_no_check_failures();
}

/* ---- tasks -------------------------------------------------------------- */

static int tasks_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    CHECK_NULL_WITH(weft_spawn(NULL, NULL), WEFT_EINVAL);
    CHECK_NULL_WITH(weft_spawn_opts(NULL, NULL, NULL), WEFT_EINVAL);
    weft_spawn_opts_t opts = {.stack_size = ((size_t)1 << 30) + 1};
    CHECK_NULL_WITH(weft_spawn_opts(return_zero, NULL, &opts), WEFT_EINVAL);
    opts.stack_size = SIZE_MAX;
    CHECK_NULL_WITH(weft_spawn_opts(return_zero, NULL, &opts), WEFT_EINVAL);

    /* An empty name is a name; a tiny stack is raised, not refused; NULL
     * opts are the defaults. */
    opts = (weft_spawn_opts_t){.name = ""};
    weft_task_t *unnamed = weft_spawn_opts(return_zero, NULL, &opts);
    CHECK(unnamed != NULL && strcmp(weft_task_name(unnamed), "") == 0);
    CHECK_EQ(weft_await(unnamed, NULL), 0);
    weft_task_release(unnamed);
    opts.stack_size = 1;
    weft_task_t *small = weft_spawn_opts(return_zero, NULL, &opts);
    weft_task_t *plain = weft_spawn_opts(return_zero, NULL, NULL);
    CHECK(small != NULL && plain != NULL);
    CHECK_EQ(weft_await(small, NULL), 0);
    CHECK_EQ(weft_await(plain, NULL), 0);

    weft_task_t *self = weft_current();
    CHECK(self != NULL);
    CHECK_EQ(weft_await(NULL, NULL), WEFT_EINVAL);
    CHECK_EQ(weft_await(self, NULL), WEFT_EDEADLK);

    CHECK_EQ(weft_cancel(NULL), WEFT_EINVAL);
    CHECK_EQ(weft_task_done(NULL), 0);
    CHECK_EQ(weft_task_cancelled(NULL), 0);
    weft_task_release(NULL);
    CHECK_NULL_WITH(weft_task_name(NULL), WEFT_EINVAL);
    CHECK_EQ(weft_task_set_name(NULL, "x"), WEFT_EINVAL);
    CHECK_EQ(weft_task_set_name(plain, NULL), WEFT_EINVAL);
    CHECK(weft_task_name(plain) != NULL);

    /* ms <= 0 yields; no cancel is pending, none is withdrawn below zero. */
    CHECK_EQ(weft_sleep(0), 0);
    CHECK_EQ(weft_sleep(-1), 0);
    CHECK_EQ(weft_sleep(INT64_MIN), 0);
    CHECK_EQ(weft_cancelling(), 0);
    CHECK_EQ(weft_uncancel(), 0);
    CHECK_EQ(weft_cancelling(), 0);

    weft_task_release(small);
    weft_task_release(plain);
    return 0;
}

static void test_tasks_reject_bad_input(void **state)
{
    (void)state;
    /* Outside any task, before and while a scheduler runs. */
    for (int round = 0; round < 2; round++) {
        weft_sched_t *s = round ? weft_start(NULL) : NULL;
        assert_true(round == 0 || s != NULL);
        assert_null_with(weft_spawn(return_zero, NULL), WEFT_EPERM);
        assert_null_with(weft_spawn_opts(return_zero, NULL, NULL), WEFT_EPERM);
        assert_null(weft_current());
        assert_int_equal(weft_yield(), WEFT_EPERM);
        assert_int_equal(weft_sleep(1), WEFT_EPERM);
        assert_int_equal(weft_sleep(0), WEFT_EPERM);
        assert_int_equal(weft_cancelling(), WEFT_EPERM);
        assert_int_equal(weft_uncancel(), WEFT_EPERM);
        if (s) {
            weft_task_t *t = weft_submit(s, return_zero, NULL);
            assert_non_null(t);
            assert_int_equal(weft_await(t, NULL), WEFT_EPERM);
            assert_int_equal(weft_block_on(t, NULL), 0);
            weft_task_release(t);
            assert_int_equal(weft_stop(s), 0);
        }
    }
    assert_int_equal(weft_run(NULL, tasks_main, NULL, NULL), 0);
    assert_no_check_failures();
}

/* ---- combinators -------------------------------------------------------- */

static int combinators_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    enum { N = 12 }; /* past the 8 waiter nodes kept on the stack */
    weft_task_t *t[N];
    for (int i = 0; i < N; i++)
        CHECK((t[i] = weft_spawn(return_zero, NULL)) != NULL);
    weft_task_t *self = weft_current();
    weft_outcome_t out[N];
    for (int i = 0; i < N; i++)
        out[i] = (weft_outcome_t){.rc = 77, .result = &out[i]};

    /* gather: nothing waited for, no outcome written. */
    CHECK_EQ(weft_gather(NULL, 0, NULL, 0), 0);
    CHECK_EQ(weft_gather(NULL, 1, out, 0), WEFT_EINVAL);
    CHECK_EQ(weft_gather(t, N, out, 0x2u), WEFT_EINVAL);
    CHECK_EQ(weft_gather(t, N, out, ~0u), WEFT_EINVAL);
    for (size_t n = 3; n <= N; n += N - 3) {
        weft_task_t *saved = t[n - 1];
        t[n - 1] = NULL;
        CHECK_EQ(weft_gather(t, n, out, 0), WEFT_EINVAL);
        CHECK_EQ(weft_gather(t, n, out, WEFT_RETURN_EXCEPTIONS), WEFT_EINVAL);
        t[n - 1] = self;
        CHECK_EQ(weft_gather(t, n, out, 0), WEFT_EDEADLK);
        CHECK_EQ(weft_gather(t, n, out, WEFT_RETURN_EXCEPTIONS), WEFT_EDEADLK);
        t[n - 1] = saved;
    }
    for (int i = 0; i < N; i++)
        CHECK(out[i].rc == 77 && out[i].result == &out[i]);

    /* wait: the order of tasks[] is left alone on a refusal. */
    CHECK_EQ(weft_wait(t, 0, 0, WEFT_ALL_COMPLETED), WEFT_EINVAL);
    CHECK_EQ(weft_wait(NULL, 0, 0, WEFT_ALL_COMPLETED), WEFT_EINVAL);
    CHECK_EQ(weft_wait(NULL, 1, 0, WEFT_ALL_COMPLETED), WEFT_EINVAL);
    CHECK_EQ(weft_wait(t, N, 0, -1), WEFT_EINVAL);
    CHECK_EQ(weft_wait(t, N, 0, WEFT_FIRST_EXCEPTION + 1), WEFT_EINVAL);
    CHECK_EQ(weft_wait(t, N, WEFT_FOREVER, INT_MIN), WEFT_EINVAL);
    weft_task_t *order[N];
    memcpy(order, t, sizeof order);
    for (size_t n = 3; n <= N; n += N - 3) {
        weft_task_t *saved = t[n - 1];
        t[n - 1] = NULL;
        CHECK_EQ(weft_wait(t, n, WEFT_FOREVER, WEFT_ALL_COMPLETED), WEFT_EINVAL);
        CHECK(t[n - 1] == NULL);
        t[n - 1] = self;
        CHECK_EQ(weft_wait(t, n, WEFT_FOREVER, WEFT_FIRST_COMPLETED), WEFT_EDEADLK);
        CHECK(t[n - 1] == self);
        t[n - 1] = saved;
    }
    CHECK(memcmp(order, t, sizeof order) == 0);

    CHECK_EQ(weft_wait_for(NULL, 0, NULL), WEFT_EINVAL);
    CHECK_EQ(weft_wait_for(NULL, WEFT_FOREVER, NULL), WEFT_EINVAL);
    CHECK_EQ(weft_wait_for(self, WEFT_FOREVER, NULL), WEFT_EDEADLK);
    CHECK_EQ(weft_wait_for(self, -1, NULL), WEFT_EDEADLK);
    CHECK_EQ(weft_shield(NULL, NULL), WEFT_EINVAL);
    CHECK_EQ(weft_shield(self, NULL), WEFT_EDEADLK);

    /* The refusals left nothing behind: the tasks are awaited normally. */
    CHECK_EQ(weft_gather(t, N, out, 0), 0);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(out[i].rc, 0);
        weft_task_release(t[i]);
    }
    return 0;
}

static void test_combinators_reject_bad_input(void **state)
{
    (void)state;
    weft_sched_t *s = weft_start(NULL);
    assert_non_null(s);
    weft_task_t *t = weft_submit(s, return_zero, NULL);
    assert_non_null(t);
    weft_task_t *tasks[1] = {t};
    /* Outside a task WEFT_EPERM comes first, whatever the other arguments. */
    assert_int_equal(weft_gather(tasks, 1, NULL, 0), WEFT_EPERM);
    assert_int_equal(weft_gather(NULL, 0, NULL, 0), WEFT_EPERM);
    assert_int_equal(weft_gather(NULL, 1, NULL, ~0u), WEFT_EPERM);
    assert_int_equal(weft_wait(tasks, 1, 0, WEFT_ALL_COMPLETED), WEFT_EPERM);
    assert_int_equal(weft_wait(NULL, 0, 0, -1), WEFT_EPERM);
    assert_int_equal(weft_wait_for(t, WEFT_FOREVER, NULL), WEFT_EPERM);
    assert_int_equal(weft_wait_for(NULL, 0, NULL), WEFT_EPERM);
    assert_int_equal(weft_shield(t, NULL), WEFT_EPERM);
    assert_int_equal(weft_shield(NULL, NULL), WEFT_EPERM);
    assert_int_equal(weft_block_on(t, NULL), 0);
    weft_task_release(t);
    assert_int_equal(weft_stop(s), 0);

    assert_int_equal(weft_run(NULL, combinators_main, NULL, NULL), 0);
    assert_no_check_failures();
}

/* ---- timeouts, groups, as_completed ------------------------------------- */

/* What a thread of libuv's pool is handed: objects owned by a task. */
struct foreign {
    weft_timeout_t *timeout;
    weft_group_t *group;
    weft_as_completed_t *it;
    weft_task_t *task;
};

/* Runs on a pool thread: none of the owner-only calls may go through. */
static int scopes_from_pool(void *arg, void **result)
{
    (void)result;
    struct foreign *f = arg;
    weft_task_t *got = NULL;
    CHECK_NULL_WITH(weft_timeout_enter(WEFT_FOREVER), WEFT_EPERM);
    CHECK_NULL_WITH(weft_group_new(), WEFT_EPERM);
    CHECK_NULL_WITH(weft_as_completed_new(&f->task, 1, WEFT_FOREVER), WEFT_EPERM);
    CHECK_EQ(weft_timeout_reschedule(f->timeout, 10), WEFT_EPERM);
    CHECK_EQ(weft_timeout_exit(f->timeout), WEFT_EPERM);
    CHECK_NULL_WITH(weft_group_spawn(f->group, return_zero, NULL), WEFT_EPERM);
    CHECK_EQ(weft_group_join(f->group), WEFT_EPERM);
    CHECK_EQ(weft_as_completed_next(f->it, &got), WEFT_EPERM);
    CHECK(got == NULL);
    return 0;
}

/* Runs as another task: the objects belong to its parent. */
static int scopes_from_other_task(void *arg, void **result)
{
    (void)result;
    struct foreign *f = arg;
    weft_task_t *got = NULL;
    CHECK_EQ(weft_timeout_reschedule(f->timeout, 10), WEFT_EPERM);
    CHECK_EQ(weft_timeout_exit(f->timeout), WEFT_EPERM);
    CHECK_EQ(weft_group_join(f->group), WEFT_EPERM);
    CHECK_EQ(weft_as_completed_next(f->it, &got), WEFT_EPERM);
    CHECK(got == NULL);
    return 0;
}

static int scopes_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *t[2];
    CHECK((t[0] = weft_spawn(return_zero, NULL)) != NULL);
    CHECK((t[1] = weft_spawn(return_zero, NULL)) != NULL);

    /* timeouts */
    CHECK_EQ(weft_timeout_reschedule(NULL, 10), WEFT_EINVAL);
    CHECK_EQ(weft_timeout_exit(NULL), WEFT_EINVAL);
    weft_timeout_t *h = weft_timeout_enter(WEFT_FOREVER);
    CHECK(h != NULL);

    /* groups */
    weft_group_t *g = weft_group_new();
    CHECK(g != NULL);
    CHECK_NULL_WITH(weft_group_spawn(NULL, return_zero, NULL), WEFT_EINVAL);
    CHECK_NULL_WITH(weft_group_spawn(g, NULL, NULL), WEFT_EINVAL);
    CHECK_EQ(weft_group_join(NULL), WEFT_EINVAL);
    CHECK_EQ(weft_group_errors(NULL, NULL, 0), WEFT_EINVAL);
    int errs[2] = {77, 77};
    CHECK_EQ(weft_group_errors(g, NULL, 4), WEFT_EINVAL);
    CHECK_EQ(weft_group_errors(g, NULL, 0), 0);
    CHECK_EQ(weft_group_errors(g, errs, 2), 0);
    CHECK(errs[0] == 77 && errs[1] == 77);
    weft_group_free(NULL);

    /* as_completed */
    weft_task_t *holes[2] = {t[0], NULL};
    CHECK_NULL_WITH(weft_as_completed_new(t, 0, WEFT_FOREVER), WEFT_EINVAL);
    CHECK_NULL_WITH(weft_as_completed_new(NULL, 0, WEFT_FOREVER), WEFT_EINVAL);
    CHECK_NULL_WITH(weft_as_completed_new(NULL, 2, WEFT_FOREVER), WEFT_EINVAL);
    CHECK_NULL_WITH(weft_as_completed_new(holes, 2, WEFT_FOREVER), WEFT_EINVAL);
    weft_as_completed_t *it = weft_as_completed_new(t, 2, WEFT_FOREVER);
    CHECK(it != NULL);
    weft_task_t *got = NULL;
    CHECK_EQ(weft_as_completed_next(NULL, &got), WEFT_EINVAL);
    CHECK_EQ(weft_as_completed_next(it, NULL), WEFT_EINVAL);
    weft_as_completed_free(NULL);

    struct foreign f = {.timeout = h, .group = g, .it = it, .task = t[0]};
    CHECK_EQ(weft_run_blocking(scopes_from_pool, &f, NULL), 0);
    weft_task_t *other = weft_spawn(scopes_from_other_task, &f);
    CHECK(other != NULL);
    CHECK_EQ(weft_await(other, NULL), 0);
    weft_task_release(other);

    /* The objects still work for their owner. */
    int seen = 0;
    while (weft_as_completed_next(it, &got) == 1) {
        CHECK(got == t[0] || got == t[1]);
        seen++;
    }
    CHECK_EQ(seen, 2);
    weft_as_completed_free(it);
    CHECK(weft_group_spawn(g, return_zero, NULL) != NULL);
    CHECK_EQ(weft_group_join(g), 0);
    CHECK_NULL_WITH(weft_group_spawn(g, return_zero, NULL), WEFT_ESHUTDOWN);
    weft_group_free(g);
    CHECK_EQ(weft_timeout_reschedule(h, WEFT_FOREVER), 0);
    CHECK_EQ(weft_timeout_exit(h), 0);

    /* An expired scope cannot be moved; it reports the timeout on exit. */
    h = weft_timeout_enter(0);
    CHECK(h != NULL);
    CHECK_EQ(weft_sleep(WEFT_FOREVER), WEFT_ECANCELED);
    CHECK_EQ(weft_timeout_reschedule(h, 1000), WEFT_EINVAL);
    CHECK_EQ(weft_timeout_exit(h), WEFT_ETIMEDOUT);
    CHECK_EQ(weft_cancelling(), 0);

    weft_task_release(t[0]);
    weft_task_release(t[1]);
    return 0;
}

static void test_scopes_reject_bad_input(void **state)
{
    (void)state;
    weft_task_t *got = NULL;
    assert_null_with(weft_timeout_enter(WEFT_FOREVER), WEFT_EPERM);
    assert_null_with(weft_timeout_enter(-1), WEFT_EPERM);
    assert_int_equal(weft_timeout_reschedule(NULL, 1), WEFT_EINVAL);
    assert_int_equal(weft_timeout_exit(NULL), WEFT_EINVAL);
    assert_null_with(weft_group_new(), WEFT_EPERM);
    assert_null_with(weft_group_spawn(NULL, return_zero, NULL), WEFT_EINVAL);
    assert_int_equal(weft_group_join(NULL), WEFT_EINVAL);
    assert_int_equal(weft_group_errors(NULL, NULL, 0), WEFT_EINVAL);
    weft_group_free(NULL);
    assert_null_with(weft_as_completed_new(NULL, 0, WEFT_FOREVER), WEFT_EPERM);
    assert_int_equal(weft_as_completed_next(NULL, &got), WEFT_EINVAL);
    weft_as_completed_free(NULL);
    assert_int_equal(weft_run(NULL, scopes_main, NULL, NULL), 0);
    assert_no_check_failures();
}

/* ---- channels and sync -------------------------------------------------- */

static int mutex_holder(void *arg, void **result)
{
    (void)result;
    weft_mutex_t *m = arg;
    CHECK_EQ(weft_mutex_lock(m), 0);
    CHECK_EQ(weft_sleep(WEFT_FOREVER), WEFT_ECANCELED);
    CHECK_EQ(weft_mutex_unlock(m), 0);
    return 0;
}

static int sync_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* Blocking calls given NULL from a task return before they wait. */
    void *item = &item;
    CHECK_EQ(weft_chan_send(NULL, item), WEFT_EINVAL);
    CHECK_EQ(weft_chan_recv(NULL, &item), WEFT_EINVAL);
    weft_chan_t *c = weft_chan_new(0);
    CHECK(c != NULL);
    CHECK_EQ(weft_chan_recv(c, NULL), WEFT_EINVAL);
    weft_chan_free(c);
    CHECK_EQ(weft_event_wait(NULL), WEFT_EINVAL);
    CHECK_EQ(weft_sem_acquire(NULL), WEFT_EINVAL);
    CHECK(item == &item);

    CHECK_EQ(weft_mutex_lock(NULL), WEFT_EINVAL);
    CHECK_EQ(weft_mutex_trylock(NULL), WEFT_EINVAL);
    CHECK_EQ(weft_mutex_unlock(NULL), WEFT_EINVAL);
    weft_mutex_t *m = weft_mutex_new();
    CHECK(m != NULL);
    CHECK_EQ(weft_mutex_unlock(m), WEFT_EPERM); /* not held */
    CHECK_EQ(weft_mutex_lock(m), 0);
    CHECK_EQ(weft_mutex_lock(m), WEFT_EDEADLK);
    CHECK_EQ(weft_mutex_trylock(m), WEFT_EDEADLK);
    CHECK_EQ(weft_mutex_unlock(m), 0);
    CHECK_EQ(weft_mutex_unlock(m), WEFT_EPERM);

    /* Held by another task: the caller may not unlock it. */
    weft_task_t *holder = weft_spawn(mutex_holder, m);
    CHECK(holder != NULL);
    while (weft_mutex_trylock(m) == 0) {
        CHECK_EQ(weft_mutex_unlock(m), 0);
        CHECK_EQ(weft_sleep(1), 0);
    }
    CHECK_EQ(weft_mutex_trylock(m), WEFT_EAGAIN);
    CHECK_EQ(weft_mutex_unlock(m), WEFT_EPERM);
    weft_cancel(holder);
    CHECK_EQ(weft_await(holder, NULL), 0);
    weft_task_release(holder);
    CHECK_EQ(weft_mutex_trylock(m), 0);
    CHECK_EQ(weft_mutex_unlock(m), 0);
    weft_mutex_free(m);
    return 0;
}

static void test_sync_rejects_bad_input(void **state)
{
    (void)state;
    void *item = &item;

    /* channels */
    assert_null_with(weft_chan_new(SIZE_MAX), WEFT_EINVAL);
    assert_null_with(weft_chan_new(SIZE_MAX / sizeof(void *)), WEFT_EINVAL);
    assert_int_equal(weft_chan_send(NULL, item), WEFT_EINVAL);
    assert_int_equal(weft_chan_recv(NULL, &item), WEFT_EINVAL);
    assert_int_equal(weft_chan_try_send(NULL, item), WEFT_EINVAL);
    assert_int_equal(weft_chan_try_recv(NULL, &item), WEFT_EINVAL);
    assert_int_equal(weft_chan_close(NULL), WEFT_EINVAL);
    assert_int_equal(weft_chan_len(NULL), 0);
    weft_chan_free(NULL);
    weft_chan_t *c = weft_chan_new(1);
    assert_non_null(c);
    assert_int_equal(weft_chan_recv(c, NULL), WEFT_EINVAL);
    assert_int_equal(weft_chan_try_recv(c, NULL), WEFT_EINVAL);
    assert_int_equal(weft_chan_try_recv(c, &item), WEFT_EAGAIN);
    assert_int_equal(weft_chan_try_send(c, item), 0);
    assert_int_equal(weft_chan_try_recv(c, NULL), WEFT_EINVAL);
    assert_int_equal(weft_chan_len(c), 1); /* the refusal took nothing */
    assert_int_equal(weft_chan_close(c), 0);
    assert_int_equal(weft_chan_close(c), WEFT_ECLOSED);
    assert_int_equal(weft_chan_try_send(c, item), WEFT_ECLOSED);
    weft_chan_free(c);
    c = weft_chan_new(0);
    assert_non_null(c);
    assert_int_equal(weft_chan_try_send(c, item), WEFT_EAGAIN);
    assert_int_equal(weft_chan_try_recv(c, &item), WEFT_EAGAIN);
    weft_chan_free(c);
    assert_ptr_equal(item, &item);

    /* events */
    assert_int_equal(weft_event_set(NULL), WEFT_EINVAL);
    assert_int_equal(weft_event_clear(NULL), WEFT_EINVAL);
    assert_int_equal(weft_event_is_set(NULL), WEFT_EINVAL);
    assert_int_equal(weft_event_wait(NULL), WEFT_EINVAL);
    weft_event_free(NULL);

    /* semaphores */
    assert_int_equal(weft_sem_acquire(NULL), WEFT_EINVAL);
    assert_int_equal(weft_sem_try_acquire(NULL), WEFT_EINVAL);
    assert_int_equal(weft_sem_release(NULL), WEFT_EINVAL);
    weft_sem_free(NULL);
    weft_sem_t *sem = weft_sem_new(0);
    assert_non_null(sem);
    assert_int_equal(weft_sem_try_acquire(sem), WEFT_EAGAIN);
    weft_sem_free(sem);
    sem = weft_sem_new(UINT_MAX);
    assert_non_null(sem);
    assert_int_equal(weft_sem_release(sem), WEFT_EINVAL);
    assert_int_equal(weft_sem_try_acquire(sem), 0);
    assert_int_equal(weft_sem_release(sem), 0);
    assert_int_equal(weft_sem_release(sem), WEFT_EINVAL);
    weft_sem_free(sem);

    /* mutexes: tasks only */
    weft_mutex_t *m = weft_mutex_new();
    assert_non_null(m);
    assert_int_equal(weft_mutex_lock(m), WEFT_EPERM);
    assert_int_equal(weft_mutex_trylock(m), WEFT_EPERM);
    assert_int_equal(weft_mutex_unlock(m), WEFT_EPERM);
    weft_mutex_free(m);
    weft_mutex_free(NULL);

    assert_int_equal(weft_run(NULL, sync_main, NULL, NULL), 0);
    assert_no_check_failures();
}

/* ---- sockets ------------------------------------------------------------ */

struct sock_pair {
    weft_sock_t *listener;
    weft_sock_t *served;
    weft_sock_t *client;
};

static int accept_one(void *arg, void **result)
{
    (void)result;
    struct sock_pair *p = arg;
    return weft_tcp_accept(p->listener, &p->served);
}

/* Runs on a pool thread: a socket call that may wait needs a task. */
static int read_from_pool(void *arg, void **result)
{
    (void)result;
    struct sock_pair *p = arg;
    char buf[4];
    weft_sock_t *out = NULL;
    CHECK_EQ(weft_read(p->client, buf, sizeof buf), WEFT_EPERM);
    CHECK_EQ(weft_write(p->client, "x", 1), WEFT_EPERM);
    CHECK_EQ(weft_tcp_accept(p->listener, &out), WEFT_EPERM);
    CHECK_EQ(weft_tcp_connect("127.0.0.1", weft_tcp_port(p->listener), &out), WEFT_EPERM);
    CHECK_EQ(weft_tcp_listen("127.0.0.1", 0, 0, &out), WEFT_EPERM);
    CHECK(out == NULL);
    CHECK(weft_tcp_port(p->listener) > 0);
    return 0;
}

/* Runs on a pool thread: closing never waits, so any thread may close. */
static int close_from_pool(void *arg, void **result)
{
    (void)result;
    return weft_close(arg);
}

static int sockets_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_sock_t *out = (weft_sock_t *)&out;
    const int bad_ports[] = {-1, 65536, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof bad_ports / sizeof bad_ports[0]; i++) {
        CHECK_EQ(weft_tcp_listen("127.0.0.1", bad_ports[i], 0, &out), WEFT_EINVAL);
        CHECK_EQ(weft_tcp_connect("127.0.0.1", bad_ports[i], &out), WEFT_EINVAL);
    }
    CHECK_EQ(weft_tcp_connect("127.0.0.1", 0, &out), WEFT_EINVAL);
    CHECK_EQ(weft_tcp_listen("127.0.0.1", 0, -1, &out), WEFT_EINVAL);
    CHECK_EQ(weft_tcp_listen("127.0.0.1", 0, INT_MIN, &out), WEFT_EINVAL);
    CHECK_EQ(weft_tcp_listen("127.0.0.1", 0, 0, NULL), WEFT_EINVAL);
    CHECK_EQ(weft_tcp_connect(NULL, 80, &out), WEFT_EINVAL);
    CHECK_EQ(weft_tcp_connect("127.0.0.1", 80, NULL), WEFT_EINVAL);
    CHECK_EQ(weft_tcp_port(NULL), WEFT_EINVAL);
    CHECK_EQ(weft_tcp_accept(NULL, &out), WEFT_EINVAL);
    char buf[4] = {0};
    CHECK_EQ(weft_read(NULL, buf, sizeof buf), WEFT_EINVAL);
    CHECK_EQ(weft_write(NULL, "x", 1), WEFT_EINVAL);
    CHECK_EQ(weft_close(NULL), WEFT_EINVAL);

    struct sock_pair p = {0};
    CHECK_EQ(weft_tcp_listen("127.0.0.1", 0, 0, &p.listener), 0);
    if (!p.listener)
        return 0;
    CHECK_EQ(weft_tcp_accept(p.listener, NULL), WEFT_EINVAL);
    CHECK_EQ(weft_read(p.listener, buf, sizeof buf), WEFT_EINVAL);
    CHECK_EQ(weft_write(p.listener, "x", 1), WEFT_EINVAL);

    weft_task_t *acc = weft_spawn(accept_one, &p);
    CHECK(acc != NULL);
    CHECK_EQ(weft_tcp_connect("127.0.0.1", weft_tcp_port(p.listener), &p.client), 0);
    CHECK_EQ(weft_await(acc, NULL), 0);
    weft_task_release(acc);
    if (p.client && p.served) {
        out = (weft_sock_t *)&out;
        CHECK_EQ(weft_tcp_accept(p.client, &out), WEFT_EINVAL);
        CHECK(out == NULL);
        CHECK_EQ(weft_read(p.client, NULL, 1), WEFT_EINVAL);
        CHECK_EQ(weft_write(p.client, NULL, 1), WEFT_EINVAL);
        CHECK_EQ(weft_read(p.client, buf, 0), 0);
        CHECK_EQ(weft_read(p.client, NULL, 0), 0);
        CHECK_EQ(weft_write(p.client, NULL, 0), 0);
        CHECK_EQ(weft_run_blocking(read_from_pool, &p, NULL), 0);
        /* The refusals took and sent nothing: the stream still works. */
        CHECK_EQ(weft_write(p.client, "ok", 2), 0);
        CHECK_EQ(weft_read(p.served, buf, 2), 2);
        CHECK(memcmp(buf, "ok", 2) == 0);
        /* A len past SSIZE_MAX (a negative size, converted) is refused
         * and takes or sends nothing. */
        CHECK_EQ(weft_read(p.served, buf, SIZE_MAX), WEFT_EINVAL);
        CHECK_EQ(weft_write(p.client, "no", (size_t)SSIZE_MAX + 1), WEFT_EINVAL);
        CHECK_EQ(weft_write(p.client, "ok", 2), 0);
        CHECK_EQ(weft_read(p.served, buf, 2), 2);
        CHECK(memcmp(buf, "ok", 2) == 0);
    }
    CHECK_EQ(weft_run_blocking(close_from_pool, p.client, NULL), 0);
    CHECK_EQ(weft_close(p.served), 0);
    CHECK_EQ(weft_close(p.listener), 0);
    return 0;
}

static void test_sockets_reject_bad_input(void **state)
{
    (void)state;
    weft_sock_t *out = NULL;
    /* Bad arguments are found before the missing task. */
    assert_int_equal(weft_tcp_listen("127.0.0.1", -1, 0, &out), WEFT_EINVAL);
    assert_int_equal(weft_tcp_listen("127.0.0.1", 65536, 0, &out), WEFT_EINVAL);
    assert_int_equal(weft_tcp_listen("127.0.0.1", 0, -1, &out), WEFT_EINVAL);
    assert_int_equal(weft_tcp_listen(NULL, 0, 0, NULL), WEFT_EINVAL);
    assert_int_equal(weft_tcp_listen(NULL, 0, 0, &out), WEFT_EPERM);
    assert_null(out);
    assert_int_equal(weft_tcp_port(NULL), WEFT_EINVAL);
    assert_int_equal(weft_close(NULL), WEFT_EINVAL);
    assert_int_equal(weft_run(NULL, sockets_main, NULL, NULL), 0);
    assert_no_check_failures();
}

/* ---- blocking calls and parallel loops ---------------------------------- */

/* Runs on a pool thread, which is not a task. */
static int task_calls_from_pool(void *arg, void **result)
{
    (void)result;
    weft_task_t *t = arg;
    atomic_int n = 0;
    CHECK_NULL_WITH(weft_spawn(return_zero, NULL), WEFT_EPERM);
    CHECK_NULL_WITH(weft_spawn_opts(return_zero, NULL, NULL), WEFT_EPERM);
    CHECK_EQ(weft_await(t, NULL), WEFT_EPERM);
    CHECK_EQ(weft_yield(), WEFT_EPERM);
    CHECK_EQ(weft_sleep(1), WEFT_EPERM);
    CHECK_EQ(weft_cancelling(), WEFT_EPERM);
    CHECK_EQ(weft_uncancel(), WEFT_EPERM);
    CHECK(weft_current() == NULL);
    CHECK_EQ(weft_run_blocking(return_zero, NULL, NULL), WEFT_EPERM);
    CHECK_EQ(weft_parallel_for(0, 10, 1, range_counts, &n), WEFT_EPERM);
    CHECK_EQ(weft_gather(&t, 1, NULL, 0), WEFT_EPERM);
    CHECK_EQ(weft_wait(&t, 1, 0, WEFT_ALL_COMPLETED), WEFT_EPERM);
    CHECK_EQ(weft_wait_for(t, 0, NULL), WEFT_EPERM);
    CHECK_EQ(weft_shield(t, NULL), WEFT_EPERM);
    CHECK_EQ(atomic_load(&n), 0);
    return 0;
}

static int blocking_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_int n = 0;
    void *r = &r;
    CHECK_EQ(weft_run_blocking(NULL, NULL, NULL), WEFT_EINVAL);
    CHECK_EQ(weft_run_blocking(NULL, NULL, &r), WEFT_EINVAL);
    CHECK(r == &r);
    CHECK_EQ(weft_parallel_for(10, 5, 0, range_counts, &n), WEFT_EINVAL);
    CHECK_EQ(weft_parallel_for(INT64_MAX, INT64_MIN, 0, range_counts, &n), WEFT_EINVAL);
    CHECK_EQ(weft_parallel_for(0, 10, -1, range_counts, &n), WEFT_EINVAL);
    CHECK_EQ(weft_parallel_for(0, 10, INT64_MIN, range_counts, &n), WEFT_EINVAL);
    CHECK_EQ(weft_parallel_for(0, 10, 1, NULL, &n), WEFT_EINVAL);
    CHECK_EQ(weft_parallel_for(5, 5, 0, range_counts, &n), 0);
    CHECK_EQ(weft_parallel_for(INT64_MIN, INT64_MIN, 1, range_nothing, NULL), 0);
    CHECK_EQ(atomic_load(&n), 0);
    /* A grain far past the range is one piece. */
    CHECK_EQ(weft_parallel_for(0, 10, INT64_MAX, range_counts, &n), 0);
    CHECK_EQ(atomic_load(&n), 10);

    weft_task_t *t = weft_spawn(sleep_forever, NULL);
    CHECK(t != NULL);
    CHECK_EQ(weft_run_blocking(task_calls_from_pool, t, NULL), 0);
    weft_cancel(t);
    CHECK_EQ(weft_await(t, NULL), WEFT_ECANCELED);
    weft_task_release(t);
    return 0;
}

static void test_blocking_rejects_bad_input(void **state)
{
    (void)state;
    atomic_int n = 0;
    assert_int_equal(weft_run_blocking(return_zero, NULL, NULL), WEFT_EPERM);
    assert_int_equal(weft_parallel_for(0, 10, 1, range_counts, &n), WEFT_EPERM);
    assert_int_equal(atomic_load(&n), 0);
    assert_int_equal(weft_run(NULL, blocking_main, NULL, NULL), 0);
    assert_no_check_failures();
}

/* ---- insight ------------------------------------------------------------ */

static int insight_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_stats_t st;
    CHECK_EQ(weft_dump(NULL), WEFT_EINVAL);
    CHECK_EQ(weft_stats(NULL), WEFT_EINVAL);
    CHECK_EQ(weft_stats(&st), 0);
    CHECK(st.workers >= 1 && st.workers <= WEFT_MAX_WORKERS);
    return 0;
}

static void test_insight_rejects_bad_input(void **state)
{
    (void)state;
    const int codes[] = {0, 1, -1, INT_MIN, INT_MAX, -99999, WEFT_ECLOSED, WEFT_ECLOSED - 1};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *msg = weft_strerror(codes[i]);
        assert_non_null(msg);
        assert_true(strlen(msg) > 0);
    }
    /* No scheduler runs between the tests. */
    weft_stats_t st;
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    assert_int_equal(weft_dump(devnull), WEFT_EINVAL);
    assert_int_equal(weft_dump(NULL), WEFT_EINVAL);
    assert_int_equal(weft_stats(&st), WEFT_EINVAL);
    assert_int_equal(weft_stats(NULL), WEFT_EINVAL);
    fclose(devnull);
    assert_int_equal(weft_run(NULL, insight_main, NULL, NULL), 0);
    assert_no_check_failures();
}

/* ---- from other threads ------------------------------------------------- */

/*
 * The calls the header allows from any thread, made from threads that are
 * not tasks: the test's own thread and a thread of libuv's pool.  Each must
 * do its work (not refuse it), and the calls that need a task refuse.
 */

struct others {
    weft_sched_t *sched;
    weft_task_t *task; /* asleep until cancelled */
    weft_chan_t *chan; /* capacity 1, empty */
    weft_event_t *event;
    weft_sem_t *sem;   /* no permit */
    weft_mutex_t *mutex;
};

static int handles_from_pool(void *arg, void **result)
{
    (void)result;
    struct others *o = arg;
    CHECK_EQ(weft_task_done(o->task), 0);
    CHECK_EQ(weft_task_cancelled(o->task), 0);
    const char *name = weft_task_name(o->task);
    CHECK(name != NULL && strncmp(name, "Task-", 5) == 0);
    CHECK_EQ(weft_task_set_name(o->task, "renamed"), 0);
    CHECK_EQ(weft_cancel(o->task), 1);
    /* A task made and waited for from a thread that is not a worker. */
    weft_task_t *t = weft_submit(o->sched, return_zero, NULL);
    CHECK(t != NULL);
    CHECK_EQ(weft_block_on(t, NULL), 0);
    CHECK_EQ(weft_task_done(t), 1);
    weft_task_release(t);
    return 0;
}

static int handles_main(void *arg, void **result)
{
    (void)result;
    struct others *o = arg;
    CHECK((o->task = weft_spawn(sleep_forever, NULL)) != NULL);
    CHECK_EQ(weft_run_blocking(handles_from_pool, o, NULL), 0);
    CHECK_EQ(weft_await(o->task, NULL), WEFT_ECANCELED);
    CHECK(strcmp(weft_task_name(o->task), "renamed") == 0);
    weft_task_release(o->task);
    return 0;
}

static void test_task_handles_from_other_threads(void **state)
{
    (void)state;
    struct others o = {.sched = weft_start(&(weft_config_t){.workers = 2})};
    assert_non_null(o.sched);
    /* The test's thread: every call on a handle but await works here. */
    weft_task_t *t = weft_submit(o.sched, sleep_forever, NULL);
    assert_non_null(t);
    assert_int_equal(weft_task_done(t), 0);
    assert_int_equal(weft_task_cancelled(t), 0);
    assert_non_null(weft_task_name(t));
    assert_int_equal(weft_task_set_name(t, "from-thread"), 0);
    assert_string_equal(weft_task_name(t), "from-thread");
    assert_int_equal(weft_await(t, NULL), WEFT_EPERM);
    assert_int_equal(weft_cancel(t), 1);
    assert_int_equal(weft_block_on(t, NULL), WEFT_ECANCELED);
    assert_int_equal(weft_task_done(t), 1);
    assert_int_equal(weft_task_cancelled(t), 1);
    assert_int_equal(weft_cancel(t), 0);
    weft_task_release(t);
    /* A pool thread, while the task it acts on waits. */
    t = weft_submit(o.sched, handles_main, &o);
    assert_non_null(t);
    assert_int_equal(weft_block_on(t, NULL), 0);
    weft_task_release(t);
    assert_int_equal(weft_stop(o.sched), 0);
    assert_no_check_failures();
}

/* Channels, events and semaphores from a pool thread: the waits that can
 * complete at once do; the mutex needs a task. */
static int sync_from_pool(void *arg, void **result)
{
    (void)result;
    struct others *o = arg;
    void *item = NULL;
    CHECK_EQ(weft_chan_send(o->chan, o), 0); /* room: no wait */
    CHECK_EQ(weft_chan_len(o->chan), 1);
    CHECK_EQ(weft_chan_try_send(o->chan, o), WEFT_EAGAIN);
    CHECK_EQ(weft_chan_recv(o->chan, &item), 0); /* buffered: no wait */
    CHECK(item == o);
    CHECK_EQ(weft_chan_try_recv(o->chan, &item), WEFT_EAGAIN);
    CHECK_EQ(weft_chan_try_send(o->chan, o), 0);
    CHECK_EQ(weft_event_set(o->event), 0);
    CHECK_EQ(weft_event_is_set(o->event), 1);
    CHECK_EQ(weft_event_wait(o->event), 0); /* set: no wait */
    CHECK_EQ(weft_sem_try_acquire(o->sem), WEFT_EAGAIN);
    CHECK_EQ(weft_sem_release(o->sem), 0);
    CHECK_EQ(weft_sem_acquire(o->sem), 0); /* a permit: no wait */
    CHECK_EQ(weft_sem_release(o->sem), 0);
    CHECK_EQ(weft_mutex_lock(o->mutex), WEFT_EPERM);
    CHECK_EQ(weft_mutex_trylock(o->mutex), WEFT_EPERM);
    CHECK_EQ(weft_mutex_unlock(o->mutex), WEFT_EPERM);
    return 0;
}

static int sync_others_main(void *arg, void **result)
{
    (void)result;
    struct others *o = arg;
    CHECK_EQ(weft_run_blocking(sync_from_pool, o, NULL), 0);
    /* What the pool thread left is seen by the task. */
    void *item = NULL;
    CHECK_EQ(weft_chan_recv(o->chan, &item), 0);
    CHECK(item == o);
    CHECK_EQ(weft_event_wait(o->event), 0);
    CHECK_EQ(weft_sem_acquire(o->sem), 0);
    CHECK_EQ(weft_mutex_lock(o->mutex), 0);
    CHECK_EQ(weft_mutex_unlock(o->mutex), 0);
    CHECK_EQ(weft_chan_close(o->chan), 0);
    return 0;
}

static void test_sync_from_other_threads(void **state)
{
    (void)state;
    struct others o = {.chan = weft_chan_new(1), .event = weft_event_new(),
                       .sem = weft_sem_new(0), .mutex = weft_mutex_new()};
    assert_true(o.chan && o.event && o.sem && o.mutex);
    assert_int_equal(weft_run(NULL, sync_others_main, &o, NULL), 0);
    /* And from the test's thread, with no scheduler running. */
    void *item = NULL;
    assert_int_equal(weft_chan_send(o.chan, &o), WEFT_ECLOSED);
    assert_int_equal(weft_chan_recv(o.chan, &item), WEFT_ECLOSED);
    assert_int_equal(weft_event_clear(o.event), 0);
    assert_int_equal(weft_event_is_set(o.event), 0);
    assert_int_equal(weft_sem_release(o.sem), 0);
    assert_int_equal(weft_sem_acquire(o.sem), 0);
    weft_chan_free(o.chan);
    weft_event_free(o.event);
    weft_sem_free(o.sem);
    weft_mutex_free(o.mutex);
    assert_no_check_failures();
}

/* Insight from a pool thread: the latest scheduler, and a last error kept
 * per thread apart from the task's. */
static int insight_from_pool(void *arg, void **result)
{
    (void)arg;
    (void)result;
    FILE *devnull = fopen("/dev/null", "w");
    CHECK(devnull != NULL);
    if (devnull) {
        CHECK(weft_dump(devnull) >= 1); /* the task that waits for us */
        fclose(devnull);
    }
    weft_stats_t st;
    CHECK_EQ(weft_stats(&st), 0);
    CHECK(st.tasks_live >= 1);
    CHECK(strlen(weft_strerror(WEFT_ECLOSED)) > 0);
    CHECK(weft_spawn(return_zero, NULL) == NULL);
    CHECK_EQ(weft_last_error(), WEFT_EPERM);
    return 0;
}

static int insight_others_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    CHECK(weft_chan_new(SIZE_MAX) == NULL);
    CHECK_EQ(weft_last_error(), WEFT_EINVAL);
    CHECK_EQ(weft_run_blocking(insight_from_pool, NULL, NULL), 0);
    CHECK_EQ(weft_last_error(), WEFT_EINVAL); /* the pool thread's is its own */
    return 0;
}

static void test_insight_from_other_threads(void **state)
{
    (void)state;
    assert_int_equal(weft_run(NULL, insight_others_main, NULL, NULL), 0);
    assert_no_check_failures();
}

/* ---- times out of range ------------------------------------------------- */

/* Timeouts and sleeps at both ends of int64_t: a timeout <= 0 has
 * expired, a far one never comes, and nothing overflows. */
static int times_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *t[1];
    CHECK((t[0] = weft_spawn(sleep_forever, NULL)) != NULL);
    CHECK_EQ(weft_wait(t, 1, INT64_MIN, WEFT_ALL_COMPLETED), 0);
    CHECK_EQ(weft_wait(t, 1, -1, WEFT_FIRST_COMPLETED), 0);
    CHECK_EQ(weft_task_done(t[0]), 0); /* wait never cancels */
    weft_as_completed_t *it = weft_as_completed_new(t, 1, INT64_MIN);
    CHECK(it != NULL);
    weft_task_t *got = NULL;
    if (it)
        CHECK_EQ(weft_as_completed_next(it, &got), WEFT_ETIMEDOUT);
    weft_as_completed_free(it);
    CHECK(got == NULL);
    CHECK_EQ(weft_wait_for(t[0], INT64_MIN, NULL), WEFT_ETIMEDOUT);
    CHECK_EQ(weft_task_cancelled(t[0]), 1);
    weft_task_release(t[0]);

    /* A sleep to the end of time ends only by a cancel. */
    weft_timeout_t *h = weft_timeout_enter(INT64_MIN);
    CHECK(h != NULL);
    CHECK_EQ(weft_sleep(INT64_MAX - 1), WEFT_ECANCELED);
    CHECK_EQ(weft_timeout_exit(h), WEFT_ETIMEDOUT);
    h = weft_timeout_enter(INT64_MAX - 1);
    CHECK(h != NULL);
    CHECK_EQ(weft_sleep(1), 0);
    CHECK_EQ(weft_timeout_reschedule(h, INT64_MAX - 1), 0);
    CHECK_EQ(weft_timeout_reschedule(h, INT64_MIN), 0);
    CHECK_EQ(weft_sleep(WEFT_FOREVER), WEFT_ECANCELED);
    CHECK_EQ(weft_timeout_exit(h), WEFT_ETIMEDOUT);
    CHECK_EQ(weft_cancelling(), 0);
    return 0;
}

static void test_times_out_of_range(void **state)
{
    (void)state;
    assert_int_equal(weft_run(NULL, times_main, NULL, NULL), 0);
    assert_no_check_failures();
}

/* ---- a scheduler that is stopping --------------------------------------- */

struct stopping {
    weft_sched_t *sched;
    atomic_int stage;   /* 1 once the task sleeps, 2 once it has checked */
    int submit_err;     /* weft_last_error() after weft_submit */
    int stop_rc;        /* a second weft_stop, from another thread */
};

static void *stop_again(void *arg)
{
    struct stopping *st = arg;
    st->stop_rc = weft_stop(st->sched);
    return NULL;
}

/* Woken by weft_stop's cancel, which comes after the stop has begun. */
static int stopped_under(void *arg, void **result)
{
    (void)result;
    struct stopping *st = arg;
    atomic_store(&st->stage, 1);
    CHECK_EQ(weft_sleep(WEFT_FOREVER), WEFT_ECANCELED);
    CHECK(weft_submit(st->sched, return_zero, NULL) == NULL);
    st->submit_err = weft_last_error();
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, stop_again, st), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    atomic_store(&st->stage, 2);
    return WEFT_ECANCELED;
}

static void test_runtime_while_stopping(void **state)
{
    (void)state;
    struct stopping st = {.sched = weft_start(&(weft_config_t){.workers = 2})};
    assert_non_null(st.sched);
    weft_task_t *t = weft_submit(st.sched, stopped_under, &st);
    assert_non_null(t);
    weft_task_release(t);
    while (atomic_load(&st.stage) == 0)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    assert_int_equal(weft_stop(st.sched), 0);
    assert_int_equal(atomic_load(&st.stage), 2);
    assert_int_equal(st.submit_err, WEFT_ESHUTDOWN);
    assert_int_equal(st.stop_rc, WEFT_ESHUTDOWN);
    assert_no_check_failures();
}

/* weft_stop from inside a weft_run_blocking function of the same
 * scheduler would wait for itself. */
static int stop_own_sched(void *arg, void **result)
{
    (void)result;
    return weft_stop(arg);
}

static int blocking_stopper(void *arg, void **result)
{
    (void)result;
    return weft_run_blocking(stop_own_sched, arg, NULL);
}

static void test_stop_from_its_own_blocking_call_is_edeadlk(void **state)
{
    (void)state;
    weft_sched_t *s = weft_start(&(weft_config_t){.workers = 2});
    assert_non_null(s);
    weft_task_t *t = weft_submit(s, blocking_stopper, s);
    assert_non_null(t);
    assert_int_equal(weft_block_on(t, NULL), WEFT_EDEADLK);
    weft_task_release(t);
    assert_int_equal(weft_stop(s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_rejects_bad_input),
        cmocka_unit_test(test_tasks_reject_bad_input),
        cmocka_unit_test(test_combinators_reject_bad_input),
        cmocka_unit_test(test_scopes_reject_bad_input),
        cmocka_unit_test(test_sync_rejects_bad_input),
        cmocka_unit_test(test_sockets_reject_bad_input),
        cmocka_unit_test(test_blocking_rejects_bad_input),
        cmocka_unit_test(test_insight_rejects_bad_input),
        cmocka_unit_test(test_task_handles_from_other_threads),
        cmocka_unit_test(test_sync_from_other_threads),
        cmocka_unit_test(test_insight_from_other_threads),
        cmocka_unit_test(test_times_out_of_range),
        cmocka_unit_test(test_runtime_while_stopping),
        cmocka_unit_test(test_stop_from_its_own_blocking_call_is_edeadlk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
