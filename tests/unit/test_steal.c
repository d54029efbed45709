/*
 * test_steal.c - unit test of work stealing: with two workers, tasks spawned
 * on one worker's deque are taken and run by the other, and weft_stats
 * counts the steals.
 */
#define _POSIX_C_SOURCE 200809L /* POSIX calls under -std=c11 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "weft.h"

#define TASKS 64
#define ROUNDS 20 /* more rounds only if a round saw no steal at all */

static atomic_int ran;
static pthread_t ran_on[TASKS];

/* Spins about 1 ms of wall time without suspending. */
static int spin(void *arg, void **result)
{
    (void)result;
    ran_on[(intptr_t)arg] = pthread_self();
    double end = now_ms() + 1.0;
    while (now_ms() < end)
        ;
    atomic_fetch_add(&ran, 1);
    return 0;
}

static uint64_t total_steals(void)
{
    weft_stats_t st;
    int rc = weft_stats(&st);
    CHECK_EQ(rc, 0);
    if (rc != 0)
        return 0;
    CHECK_EQ(st.workers, 2);
    uint64_t steals = 0;
    for (unsigned i = 0; i < st.workers && i < WEFT_MAX_WORKERS; i++)
        steals += st.worker[i].steals;
    return steals;
}

static int spawner(void *arg, void **result)
{
    (void)arg;
    uint64_t steals = 0;
    int threads = 1;
    for (int round = 0; round < ROUNDS && (steals == 0 || threads < 2); round++) {
        weft_task_t *t[TASKS];
        atomic_store(&ran, 0);
        for (intptr_t i = 0; i < TASKS; i++) {
            t[i] = weft_spawn(spin, (void *)i);
            if (t[i] == NULL) {
                CHECK(!"weft_spawn returned NULL");
                return weft_last_error();
            }
        }
        for (int i = 0; i < TASKS; i++) {
            CHECK_EQ(weft_await(t[i], NULL), 0);
            weft_task_release(t[i]);
        }
        CHECK_EQ(atomic_load(&ran), TASKS);
        steals = total_steals();
        threads = 1;
        for (int i = 1; i < TASKS; i++)
            if (!pthread_equal(ran_on[i], ran_on[0]))
                threads = 2;
        printf("round %d: %llu steals so far, tasks ran on %s thread\n", round,
               (unsigned long long)steals, threads > 1 ? "more than one" : "one");
    }
    *result = (void *)(uintptr_t)steals;
    CHECK(threads == 2);
    return 0;
}

static void test_steal(void **state)
{
    (void)state;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 2) {
        printf("skipped: %ld CPU online, stealing needs two\n", cpus);
        skip();
    }
    weft_config_t cfg = {.workers = 2};
    void *steals = NULL;
    assert_int_equal(weft_run(&cfg, spawner, NULL, &steals), 0);
    assert_no_check_failures();
    assert_true((uintptr_t)steals > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
