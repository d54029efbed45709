/*
 * test_debug_checks.c - the checks of WEFT_DEBUG_CHECKS (this test links
 * the weft_debug variant of the library): a task handle used after its
 * last release, or released once too often, must make the process print
 * "weft: FUNCTION: task 'NAME' (#ID) ..." and die by SIGABRT.  Each misuse
 * runs in a forked child whose stderr is captured: every public function
 * that takes a task, from a task or (weft_block_on) from a thread, and a
 * release too many of a finished and of a running task.  A last test
 * checks that correct use, with enough tasks to cycle the quarantine,
 * never trips them.
 */
#define _POSIX_C_SOURCE 200809L /* POSIX calls under -std=c11 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "death.h"
#include "weft.h"

#define USED_AFTER ") used after its last release"
#define RELEASED_TWICE ") released twice"

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

/*
 * A finished task named "victim" whose only reference is already given
 * back.  It is not awaited: a task nobody waits on drops the scheduler's
 * reference in the same step that makes it done, so once it is seen done
 * our release is its last, whereas an awaited task may still be waking its
 * awaiters (holding that reference) when the awaiter runs on.
 */
static weft_task_t *released_victim(void)
{
    weft_spawn_opts_t opts = {.name = "victim"};
    weft_task_t *t = weft_spawn_opts(return_zero, NULL, &opts);
    if (!t)
        return NULL;
    while (!weft_task_done(t))
        weft_yield();
    weft_task_release(t);
    return t;
}

/* The misuses, each run as the main task of a child's scheduler. */

static int await_after_release(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *t = released_victim();
    return t ? weft_await(t, NULL) : weft_last_error();
}

static int cancel_after_release(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *t = released_victim();
    return t ? weft_cancel(t) : weft_last_error();
}

static int name_after_release(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *t = released_victim();
    return t && weft_task_name(t) ? 0 : weft_last_error();
}

static int gather_after_release(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *t[2] = {weft_spawn(return_zero, NULL), released_victim()};
    if (!t[0] || !t[1])
        return weft_last_error();
    return weft_gather(t, 2, NULL, 0);
}

static int release_twice_done(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *t = released_victim();
    if (t)
        weft_task_release(t);
    return 0;
}

/* Still running: the second release would take the scheduler's reference. */
static int release_twice_running(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_spawn_opts_t opts = {.name = "victim"};
    weft_task_t *t = weft_spawn_opts(sleep_forever, NULL, &opts);
    if (!t)
        return weft_last_error();
    weft_yield();
    weft_task_release(t);
    weft_task_release(t);
    return 0;
}

/* The unnamed task's default name is reported. */
static int unnamed_after_release(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *t = weft_spawn(return_zero, NULL);
    if (!t)
        return weft_last_error();
    while (!weft_task_done(t))
        weft_yield();
    weft_task_release(t);
    return weft_task_done(t);
}

/* The other functions that take a task, each on a released one; arg
 * says which. */
enum other_call { SET_NAME, CANCELLED, WAIT, WAIT_FOR, SHIELD, AS_COMPLETED, N_OTHER };

static const char *const other_fn[N_OTHER] = {
    "weft_task_set_name", "weft_task_cancelled", "weft_wait",
    "weft_wait_for",      "weft_shield",         "weft_as_completed_new",
};

static int other_after_release(void *arg, void **result)
{
    (void)result;
    weft_task_t *t = released_victim();
    if (!t)
        return weft_last_error();
    switch ((enum other_call)(intptr_t)arg) {
    case SET_NAME:
        return weft_task_set_name(t, "renamed");
    case CANCELLED:
        return weft_task_cancelled(t);
    case WAIT:
        return weft_wait(&t, 1, 0, WEFT_ALL_COMPLETED);
    case WAIT_FOR:
        return weft_wait_for(t, 0, NULL);
    case SHIELD:
        return weft_shield(t, NULL);
    case AS_COMPLETED:
        return weft_as_completed_new(&t, 1, 0) ? 0 : weft_last_error();
    case N_OTHER:
        break;
    }
    return WEFT_EINVAL;
}

typedef int (*scenario_fn)(void);

static int in_task(weft_fn main, void *arg)
{
    return weft_run(&(weft_config_t){.workers = 2}, main, arg, NULL);
}

/* From a thread outside the scheduler: weft_block_on on a released task. */
static int block_on_after_release(void)
{
    weft_sched_t *s = weft_start(&(weft_config_t){.workers = 2});
    if (!s)
        return weft_last_error();
    weft_task_t *t = weft_submit(s, return_zero, NULL);
    if (!t)
        return weft_last_error();
    while (!weft_task_done(t)) /* not weft_block_on: see released_victim */
        nanosleep(&(struct timespec){0, 100000}, NULL);
    weft_task_release(t);
    return weft_block_on(t, NULL);
}

/* What a child runs; weft_fn scenarios run as the main task. */
struct scenario {
    const char *what;
    weft_fn main;         /* run as the main task, given arg; or */
    scenario_fn thread;
    void *arg;
    const char *prefix;   /* what stderr must hold, before the id */
    const char *suffix;   /* and after it */
};

/* In the child: the misuse, which must not return. */
static void misuse_in_child(const void *arg)
{
    const struct scenario *sc = arg;
    int rc = sc->main ? in_task(sc->main, sc->arg) : sc->thread();
    fprintf(stderr, "child: the misuse returned %d (%s)\n", rc, weft_strerror(rc));
}

/* Runs sc in a child; returns its stderr and stores its status. */
static char *run_child(const struct scenario *sc, int *status)
{
    return run_in_child(misuse_in_child, sc, status);
}

/* The child died by SIGABRT with prefix, an id and suffix on one line. */
static void expect_death(const struct scenario *sc)
{
    int status = 0;
    char *out = run_child(sc, &status);
    printf("--- %s: child's stderr ---\n%s--- end ---\n", sc->what, out);
    const char *at = strstr(out, sc->prefix);
    const char *end = at ? strchr(at, '\n') : NULL;
    const char *suffix = at ? strstr(at + strlen(sc->prefix), sc->suffix) : NULL;
    int found = suffix && (!end || suffix < end);
    if (!found)
        printf("%s: stderr lacks \"%s<id>%s\"\n", sc->what, sc->prefix, sc->suffix);
    free(out);
    assert_true(found);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void test_await_after_release_aborts(void **state)
{
    (void)state;
    expect_death(&(struct scenario){"await", await_after_release, NULL, NULL,
                                    "weft: weft_await: task 'victim' (#", USED_AFTER});
}

static void test_cancel_after_release_aborts(void **state)
{
    (void)state;
    expect_death(&(struct scenario){"cancel", cancel_after_release, NULL, NULL,
                                    "weft: weft_cancel: task 'victim' (#", USED_AFTER});
}

static void test_name_after_release_aborts(void **state)
{
    (void)state;
    expect_death(&(struct scenario){"name", name_after_release, NULL, NULL,
                                    "weft: weft_task_name: task 'victim' (#", USED_AFTER});
}

static void test_gather_after_release_aborts(void **state)
{
    (void)state;
    expect_death(&(struct scenario){"gather", gather_after_release, NULL, NULL,
                                    "weft: weft_gather: task 'victim' (#", USED_AFTER});
}

static void test_done_after_release_names_default(void **state)
{
    (void)state;
    expect_death(&(struct scenario){"done, unnamed", unnamed_after_release, NULL, NULL,
                                    "weft: weft_task_done: task 'Task-", USED_AFTER});
}

static void test_block_on_after_release_aborts(void **state)
{
    (void)state;
    expect_death(&(struct scenario){"block_on", NULL, block_on_after_release, NULL,
                                    "weft: weft_block_on: task 'Task-", USED_AFTER});
}

static void test_other_calls_after_release_abort(void **state)
{
    (void)state;
    char prefix[96];
    for (int i = 0; i < N_OTHER; i++) {
        snprintf(prefix, sizeof prefix, "weft: %s: task 'victim' (#", other_fn[i]);
        expect_death(&(struct scenario){other_fn[i], other_after_release, NULL,
                                        (void *)(intptr_t)i, prefix, USED_AFTER});
    }
}

static void test_release_twice_aborts(void **state)
{
    (void)state;
    expect_death(&(struct scenario){"release twice, finished", release_twice_done, NULL, NULL,
                                    "weft: weft_task_release: task 'victim' (#", RELEASED_TWICE});
    expect_death(&(struct scenario){"release twice, running", release_twice_running, NULL, NULL,
                                    "weft: weft_task_release: task 'victim' (#", RELEASED_TWICE});
}

/* Correct use never trips the checks, while records cycle through the
 * quarantine (more tasks die than it holds) and are reused. */
#ifdef WEFT_TSAN
#define ROUNDS 24
#else
#define ROUNDS 96
#endif
#define BATCH 256

static int churn_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *t[BATCH];
    weft_outcome_t out[BATCH];
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < BATCH; i++)
            CHECK((t[i] = weft_spawn(return_zero, NULL)) != NULL);
        CHECK_EQ(weft_gather(t, BATCH, out, WEFT_RETURN_EXCEPTIONS), 0);
        for (int i = 0; i < BATCH; i++) {
            CHECK(weft_task_done(t[i]));
            CHECK(!weft_task_cancelled(t[i]));
            CHECK_EQ(weft_cancel(t[i]), 0);
            CHECK_EQ(weft_await(t[i], NULL), 0);
            weft_task_release(t[i]);
        }
    }
    /* A task whose owner let go while it runs finishes normally. */
    weft_task_t *s = weft_spawn(sleep_forever, NULL);
    CHECK(s != NULL);
    CHECK_EQ(weft_task_set_name(s, "sleeper"), 0);
    CHECK(strcmp(weft_task_name(s), "sleeper") == 0);
    CHECK_EQ(weft_cancel(s), 1);
    CHECK_EQ(weft_wait_for(s, WEFT_FOREVER, NULL), WEFT_ECANCELED);
    CHECK_EQ(weft_shield(s, NULL), WEFT_ECANCELED);
    weft_task_release(s);
    s = weft_spawn(sleep_forever, NULL);
    CHECK(s != NULL);
    weft_task_release(s); /* weft_run's stop cancels it */
    return 0;
}

static void test_correct_use_passes(void **state)
{
    (void)state;
    assert_int_equal(weft_run(&(weft_config_t){.workers = 2}, churn_main, NULL, NULL), 0);
    /* From a thread: submit, block on, release, many times over. */
    weft_sched_t *s = weft_start(&(weft_config_t){.workers = 2});
    assert_non_null(s);
    for (int i = 0; i < ROUNDS * 8; i++) {
        weft_task_t *t = weft_submit(s, return_zero, NULL);
        assert_non_null(t);
        assert_int_equal(weft_block_on(t, NULL), 0);
        assert_int_equal(weft_cancel(t), 0);
        weft_task_release(t);
    }
    assert_int_equal(weft_stop(s), 0);
    assert_no_check_failures();
}

/* ---- a timeout scope left open is reported at its task's end ------------ */

static int scope_left_open(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return weft_timeout_enter(50) ? 0 : weft_last_error();
}

static int leave_scope_in_named_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *t = weft_spawn_opts(scope_left_open, NULL, &(weft_spawn_opts_t){.name = "forgetful"});
    if (!t)
        return weft_last_error();
    int rc = weft_await(t, NULL);
    weft_task_release(t);
    return rc;
}

static void scope_in_child(const void *arg)
{
    (void)arg;
    exit(in_task(leave_scope_in_named_task, NULL) == 0 ? 0 : 1);
}

static void test_scope_left_open_is_reported(void **state)
{
    (void)state;
    int status = 0;
    char *out = run_in_child(scope_in_child, NULL, &status);
    printf("--- child's stderr ---\n%s--- end ---\n", out);
    const char *at = strstr(out, "weft: task 'forgetful' (#");
    int found = at && strstr(at, "ended with a timeout scope open, entered at:") != NULL;
    free(out);
    assert_true(found);
    assert_true(WIFEXITED(status)); /* reported, not fatal: the scope is freed */
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_await_after_release_aborts),
        cmocka_unit_test(test_cancel_after_release_aborts),
        cmocka_unit_test(test_name_after_release_aborts),
        cmocka_unit_test(test_gather_after_release_aborts),
        cmocka_unit_test(test_done_after_release_names_default),
        cmocka_unit_test(test_block_on_after_release_aborts),
        cmocka_unit_test(test_other_calls_after_release_abort),
        cmocka_unit_test(test_release_twice_aborts),
        cmocka_unit_test(test_correct_use_passes),
        cmocka_unit_test(test_scope_left_open_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
