/*
 * test_submit.c - unit tests of weft_submit and weft_block_on from foreign
 * threads: many threads submitting at once, and the lost wake-up case where
 * every worker is parked when a task arrives.
 */
#define _POSIX_C_SOURCE 200809L /* POSIX calls under -std=c11 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "weft.h"

#define THREADS 4
#ifdef WEFT_TSAN /* a tenth: TSan's per-task cost is tens of microseconds */
#define PER_THREAD 10000
#define ONE_BY_ONE 10000
#else
#define PER_THREAD 100000
#define ONE_BY_ONE 100000
#endif

static atomic_long counter;

static int bump(void *arg, void **result)
{
    (void)arg;
    *result = (void *)(intptr_t)(atomic_fetch_add(&counter, 1) + 1);
    return 0;
}

/* ---- four threads submit 100,000 tasks each ----------------------------- */

static void *submitter(void *arg)
{
    weft_sched_t *s = arg;
    weft_task_t **t = calloc(PER_THREAD, sizeof *t);
    CHECK(t != NULL);
    if (t == NULL)
        return NULL;
    for (int i = 0; i < PER_THREAD; i++) {
        t[i] = weft_submit(s, bump, NULL);
        CHECK(t[i] != NULL);
        if (t[i] == NULL) {
            fprintf(stderr, "weft_submit: %s\n", weft_strerror(weft_last_error()));
            break;
        }
    }
    for (int i = 0; i < PER_THREAD && t[i] != NULL; i++) {
        void *res = NULL;
        CHECK_EQ(weft_block_on(t[i], &res), 0);
        CHECK(res != NULL);
        weft_task_release(t[i]);
    }
    free(t);
    return NULL;
}

static void test_many_submitters(void **state)
{
    (void)state;
    atomic_store(&counter, 0);
    weft_sched_t *s = weft_start(NULL);
    assert_non_null(s);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, submitter, s), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(atomic_load(&counter), THREADS * PER_THREAD);
    assert_int_equal(weft_stop(s), 0);
    assert_no_check_failures();
}

/* ---- lost wake-up: submit to parked workers, one task at a time --------- */

static void *one_by_one(void *arg)
{
    weft_sched_t *s = arg;
    for (long i = 1; i <= ONE_BY_ONE; i++) {
        /* Now and then, let the workers park again before the next one. */
        if (i % 10000 == 0)
            nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
        weft_task_t *t = weft_submit(s, bump, NULL);
        CHECK(t != NULL);
        if (t == NULL)
            break;
        void *res = NULL;
        CHECK_EQ(weft_block_on(t, &res), 0);
        CHECK_EQ((intptr_t)res, i);
        weft_task_release(t);
    }
    return NULL;
}

static void test_submit_to_parked(void **state)
{
    (void)state;
    atomic_store(&counter, 0);
    weft_sched_t *s = weft_start(NULL);
    assert_non_null(s);
    /* Let every worker run out of work and park; nothing depends on it. */
    nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, one_by_one, s), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(atomic_load(&counter), ONE_BY_ONE);
    weft_stats_t st;
    if (weft_stats(&st) == 0) {
        unsigned long long parks = 0, wakeups = 0;
        for (unsigned i = 0; i < st.workers && i < WEFT_MAX_WORKERS; i++) {
            parks += st.worker[i].parks;
            wakeups += st.worker[i].wakeups;
        }
        printf("%u workers parked %llu times, woken %llu times\n", st.workers,
               parks, wakeups);
    }
    assert_int_equal(weft_stop(s), 0);
    assert_no_check_failures();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_submitters),
        cmocka_unit_test(test_submit_to_parked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
