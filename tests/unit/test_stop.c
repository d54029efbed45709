/*
 * test_stop.c - unit tests of weft_stop: it cancels every sleeping task
 * (each sees WEFT_ECANCELED) instead of waiting for its timer, it stops an
 * idle scheduler, and a scheduler can be started and stopped many times.
 */
#define _POSIX_C_SOURCE 200809L /* POSIX calls under -std=c11 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "check.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_idle),
        cmocka_unit_test(test_start_stop_repeatedly),
        cmocka_unit_test(test_stop_spawned_sleepers),
        cmocka_unit_test(test_stop_submitted_sleepers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
