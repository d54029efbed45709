/*
 * test_steal.c - unit test of work stealing: with two workers, tasks spawned
 * on one worker's deque are taken and run by the other, and weft_stats
 * counts the steals; and the oldest task of a deque runs even while newer
 * tasks keep waking each other and no thief comes.
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

/* ---- the oldest task of a deque is not starved ----------------------------- */

#define PAIRS 4
#define BOUND 1000000 /* round trips per pair before giving up */

static atomic_int oldest_ran;

/* Tasks that keep sleeping 1 ms until the oldest has run: their wake-ups
 * keep the worker's other queues busy at every fairness check. */
static int sleep_loop(void *arg, void **result)
{
    (void)arg;
    (void)result;
    while (!atomic_load(&oldest_ran))
        weft_sleep(1);
    return 0;
}

static int oldest(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_store(&oldest_ran, 1);
    return 0;
}

/* Bounces a token with its ponger until the oldest task has run. */
static int pinger(void *arg, void **result)
{
    weft_chan_t **ch = arg;
    long n = 0;
    void *item;
    while (!atomic_load(&oldest_ran) && n < BOUND) {
        if (weft_chan_send(ch[0], &n) != 0 || weft_chan_recv(ch[1], &item) != 0)
            break;
        n++;
    }
    CHECK_EQ(weft_chan_close(ch[0]), 0);
    *result = (void *)(intptr_t)n;
    return 0;
}

static int ponger(void *arg, void **result)
{
    (void)result;
    weft_chan_t **ch = arg;
    void *item;
    while (weft_chan_recv(ch[0], &item) == 0)
        if (weft_chan_send(ch[1], item) != 0)
            break;
    return 0;
}

/* One worker: the oldest task sits at the far end of the deque while the
 * pairs wake each other into the next slot, each wake-up pushing the task
 * it displaces onto the near end, where the worker pops it straight back. */
static int starve_main(void *arg, void **result)
{
    int nsleepers = *(int *)arg;
    atomic_store(&oldest_ran, 0);
    /* The sleepers start first (our own sleep lets them), so their
     * wake-ups come all along; then the oldest, then the pairs. */
    weft_task_t **sleepers = calloc((size_t)nsleepers + 1, sizeof *sleepers);
    CHECK(sleepers != NULL);
    for (int i = 0; i < nsleepers; i++)
        CHECK((sleepers[i] = weft_spawn(sleep_loop, NULL)) != NULL);
    if (nsleepers)
        weft_sleep(5);
    weft_task_t *first = weft_spawn(oldest, NULL);
    weft_chan_t *ch[PAIRS][2];
    weft_task_t *p[PAIRS], *q[PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        ch[i][0] = weft_chan_new(0);
        ch[i][1] = weft_chan_new(0);
        p[i] = weft_spawn(pinger, ch[i]);
        q[i] = weft_spawn(ponger, ch[i]);
        CHECK(ch[i][0] && ch[i][1] && p[i] && q[i]);
    }
    long most = 0;
    for (int i = 0; i < PAIRS; i++) {
        void *n = NULL;
        CHECK_EQ(weft_await(p[i], &n), 0);
        CHECK_EQ(weft_chan_close(ch[i][1]), 0);
        CHECK_EQ(weft_await(q[i], NULL), 0);
        if ((long)(intptr_t)n > most)
            most = (long)(intptr_t)n;
        weft_task_release(p[i]);
        weft_task_release(q[i]);
        weft_chan_free(ch[i][0]);
        weft_chan_free(ch[i][1]);
    }
    CHECK_EQ(weft_await(first, NULL), 0);
    weft_task_release(first);
    for (int i = 0; i < nsleepers; i++) {
        CHECK_EQ(weft_await(sleepers[i], NULL), 0);
        weft_task_release(sleepers[i]);
    }
    free(sleepers);
    printf("the oldest task ran after at most %ld round trips of a pair\n", most);
    *result = (void *)(intptr_t)most;
    return 0;
}

static void test_oldest_task_runs_while_newer_ones_keep_waking_each_other(void **state)
{
    (void)state;
    weft_config_t cfg = {.workers = 1};
    /* Alone, and with 5,000 tasks waking from 1 ms sleeps all along. */
    for (int nsleepers = 0; nsleepers <= 5000; nsleepers += 5000) {
        void *most = NULL;
        assert_int_equal(weft_run(&cfg, starve_main, &nsleepers, &most), 0);
        assert_no_check_failures();
        assert_true((intptr_t)most < BOUND);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steal),
        cmocka_unit_test(test_oldest_task_runs_while_newer_ones_keep_waking_each_other),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
