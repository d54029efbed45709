/*
 * test_stop.c - unit tests of weft_stop: it cancels every sleeping task
 * (each sees WEFT_ECANCELED) instead of waiting for its timer, it stops an
 * idle scheduler, and a scheduler can be started and stopped many times;
 * one that cannot finish prints what it waits for.
 */
#define _GNU_SOURCE /* POSIX calls and setenv under -std=c11 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "death.h"
#include "weft.h"

/*
 * ThreadSanitizer tracks every task stack as a fiber and dies beyond 8,128
 * threads and fibers alive at once, so it gets fewer live sleepers.
 */
#ifdef WEFT_TSAN
#define SLEEPERS 4000
#else
#define SLEEPERS 10000
#endif

static atomic_int asleep;    /* sleepers about to call weft_sleep */
static atomic_int cancelled; /* sleepers whose weft_sleep gave WEFT_ECANCELED */

/* Sleeps an hour (odd args: longer than any run of this test, however
 * loaded the machine) or forever (even args); counts a cancel. */
static int sleep_long(void *arg, void **result)
{
    (void)result;
    int64_t ms = (intptr_t)arg % 2 ? 3600 * 1000 : WEFT_FOREVER;
    atomic_fetch_add(&asleep, 1);
    int rc = weft_sleep(ms);
    CHECK_EQ(rc, WEFT_ECANCELED);
    if (rc == WEFT_ECANCELED)
        atomic_fetch_add(&cancelled, 1);
    return rc;
}

/* The main task: spawns the sleepers, lets go of them, and sleeps too. */
static int spawn_sleepers(void *arg, void **result)
{
    (void)arg;
    (void)result;
    for (intptr_t i = 0; i < SLEEPERS; i++) {
        weft_task_t *t = weft_spawn(sleep_long, (void *)i);
        if (t == NULL) {
            CHECK(!"weft_spawn returned NULL");
            return weft_last_error();
        }
        weft_task_release(t);
    }
    return sleep_long((void *)0, result);
}

static void wait_until_asleep(int n)
{
    while (atomic_load(&asleep) < n)
        nanosleep(&(struct timespec){.tv_nsec = 1000 * 1000}, NULL);
}

static void stop_and_count(weft_sched_t *s, int n)
{
    wait_until_asleep(n);
    double t0 = now_ms();
    assert_int_equal(weft_stop(s), 0);
    printf("weft_stop took %.1f ms for %d sleeping tasks\n", now_ms() - t0, n);
    assert_int_equal(atomic_load(&cancelled), n);
    assert_no_check_failures();
}

static void test_stop_spawned_sleepers(void **state)
{
    (void)state;
    atomic_store(&asleep, 0);
    atomic_store(&cancelled, 0);
    weft_sched_t *s = weft_start(NULL);
    assert_non_null(s);
    weft_task_t *main_task = weft_submit(s, spawn_sleepers, NULL);
    assert_non_null(main_task);
    weft_task_release(main_task);
    stop_and_count(s, SLEEPERS + 1);
}

static void test_stop_submitted_sleepers(void **state)
{
    (void)state;
    atomic_store(&asleep, 0);
    atomic_store(&cancelled, 0);
    weft_sched_t *s = weft_start(NULL);
    assert_non_null(s);
    for (intptr_t i = 0; i < SLEEPERS; i++) {
        weft_task_t *t = weft_submit(s, sleep_long, (void *)i);
        assert_non_null(t);
        /* Half the handles are kept: weft_stop frees those too. */
        if (i % 2 == 0)
            weft_task_release(t);
    }
    stop_and_count(s, SLEEPERS);
}

static void test_stop_idle(void **state)
{
    (void)state;
    weft_sched_t *s = weft_start(NULL);
    assert_non_null(s);
    /* Let the workers park; nothing depends on it. */
    nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
    assert_int_equal(weft_stop(s), 0);
}

static int nothing(void *arg, void **result)
{
    *result = arg;
    return 0;
}

static void test_start_stop_repeatedly(void **state)
{
    (void)state;
    for (int i = 0; i < 20; i++) {
        weft_config_t cfg = {.workers = 1 + i % 2};
        weft_sched_t *s = weft_start(&cfg);
        assert_non_null(s);
        if (i % 4 != 3) { /* every fourth stays idle */
            weft_task_t *t = weft_submit(s, nothing, &cfg);
            assert_non_null(t);
            void *res = NULL;
            assert_int_equal(weft_block_on(t, &res), 0);
            assert_ptr_equal(res, &cfg);
            weft_task_release(t);
        }
        assert_int_equal(weft_stop(s), 0);
    }
}

/* ---- a stop that cannot finish says what it waits for -------------------- */

/* In the child, stderr goes through this pipe: a thread copies it on and
 * raises `reported` when weft_stop's report has come. */
static int report_pipe[2];
static atomic_int reported;

static void *copy_stderr(void *arg)
{
    int out = (int)(intptr_t)arg;
    char buf[4096], seen[8192] = "";
    size_t len = 0;
    ssize_t n;
    while ((n = read(report_pipe[0], buf, sizeof buf)) > 0) {
        if (write(out, buf, (size_t)n) != n)
            break;
        size_t room = sizeof seen - 1 - len, take = (size_t)n < room ? (size_t)n : room;
        memcpy(seen + len, buf, take);
        len += take;
        seen[len] = '\0';
        if (strstr(seen, "'stubborn'"))
            atomic_store(&reported, 1);
    }
    return NULL;
}

/* Ignores its cancel: no suspension point until the report is out. */
static atomic_int stubborn_started;

static int stubborn(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_store(&stubborn_started, 1);
    double start = now_ms();
    while (!atomic_load(&reported) && now_ms() - start < 60000)
        ;
    return 0;
}

static void stop_that_waits(const void *arg)
{
    (void)arg;
    setenv("WEFT_STOP_REPORT_MS", "100", 1);
    int out = dup(2);
    if (pipe(report_pipe) != 0)
        _exit(4);
    dup2(report_pipe[1], 2);
    close(report_pipe[1]);
    pthread_t th;
    pthread_create(&th, NULL, copy_stderr, (void *)(intptr_t)out);
    weft_sched_t *s = weft_start(&(weft_config_t){.workers = 2});
    weft_task_t *t = s ? weft_submit(s, stubborn, NULL) : NULL;
    if (t)
        weft_task_set_name(t, "stubborn");
    while (t && !atomic_load(&stubborn_started)) /* the stop must find it running */
        ;
    weft_task_release(t);
    int rc = s ? weft_stop(s) : -1;
    fflush(stderr);
    dup2(out, 2); /* the pipe's last write end: the copier reads its end */
    pthread_join(th, NULL);
    _exit(rc == 0 && atomic_load(&reported) ? 0 : 5);
}

static void test_stop_that_cannot_finish_says_what_it_waits_for(void **state)
{
    (void)state;
    int status = 0;
    char *out = run_in_child(stop_that_waits, NULL, &status);
    printf("--- child's stderr ---\n%s--- end ---\n", out);
    int found = strstr(out, "weft_stop: still waiting after") && strstr(out, "'stubborn'");
    free(out);
    assert_true(found);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_idle),
        cmocka_unit_test(test_start_stop_repeatedly),
        cmocka_unit_test(test_stop_spawned_sleepers),
        cmocka_unit_test(test_stop_submitted_sleepers),
        cmocka_unit_test(test_stop_that_cannot_finish_says_what_it_waits_for),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
