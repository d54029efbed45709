/*
 * sem.h - what the semantics tests share: cmocka, CHECK() (tests/unit/
 * check.h), a scheduler run that asserts after it returns, and small task
 * bodies (sleepers, failers, spinners) whose behaviour each test sets
 * through a struct job.
 *
 * Ordering between tasks and threads goes through atomics and events, never
 * through timing; elapsed times are only checked as loose bounds.
 */
#ifndef WEFT_TEST_SEM_H
#define WEFT_TEST_SEM_H

#define _POSIX_C_SOURCE 200809L /* POSIX calls under -std=c11 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/check.h"
#include "weft.h"

/* Codes no part of weft uses, to see that a task's own code comes back. */
#define MY_ERROR (-7001)
#define OTHER_ERROR (-7002)

/* How long a task waits for an event before the test gives up on it. */
#define SEM_PATIENCE_MS 20000.0

/* Runs main_fn(arg) on a scheduler of `workers` workers; asserts that it
 * returned want and that no CHECK() failed. */
static inline void sem_run(unsigned workers, weft_fn main_fn, void *arg, int want)
{
    weft_config_t cfg = {.workers = workers};
    assert_int_equal(weft_run(&cfg, main_fn, arg, NULL), want);
    assert_no_check_failures();
}

/* Sleeps the calling thread (not a task) for ms milliseconds. */
static inline void thread_sleep_ms(double ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1e3),
                          .tv_nsec = (long)((ms - (double)(time_t)(ms / 1e3) * 1e3) * 1e6)};
    nanosleep(&ts, NULL);
}

/* Suspends the calling task until *flag is non-zero (1 ms naps). */
static inline void task_wait_flag(atomic_int *flag)
{
    double start = now_ms();
    while (!atomic_load(flag)) {
        if (now_ms() - start > SEM_PATIENCE_MS) {
            CHECK(!"task_wait_flag: the event never came");
            return;
        }
        weft_sleep(1);
    }
}

/* Spins the calling task, without suspending, until *flag is non-zero. */
static inline void spin_flag(atomic_int *flag)
{
    double start = now_ms();
    while (!atomic_load(flag)) {
        if (now_ms() - start > SEM_PATIENCE_MS) {
            CHECK(!"spin_flag: the event never came");
            return;
        }
    }
}

/* Blocks the calling thread (not a task) until *flag is non-zero. */
static inline void thread_wait_flag(atomic_int *flag)
{
    double start = now_ms();
    while (!atomic_load(flag)) {
        if (now_ms() - start > SEM_PATIENCE_MS) {
            CHECK(!"thread_wait_flag: the event never came");
            return;
        }
        thread_sleep_ms(0.2);
    }
}

/* Spins without suspending for ms milliseconds. */
static inline void busy_ms(double ms)
{
    double start = now_ms();
    while (now_ms() - start < ms) {
    }
}

/*
 * A configurable task body.  It marks `started`, sleeps `sleep_ms`
 * (WEFT_FOREVER: until cancelled), records what the sleep returned in
 * `sleep_rc`, runs `on_cancel_sleep_ms` more if the sleep was cancelled
 * (a clean-up that needs time), marks `finished` and returns:
 * the sleep's code if it failed and `swallow` is 0, else `rc` with
 * `value` as its result.
 */
struct job {
    int64_t sleep_ms;           /* how long to sleep (0: do not sleep) */
    int rc;                     /* the code to return when not cancelled */
    intptr_t value;             /* the result to give with it */
    bool swallow;               /* a cancel does not end the job */
    int64_t on_cancel_sleep_ms; /* clean-up time after a cancel */
    atomic_int started;         /* the body began */
    atomic_int asleep;          /* the body is about to sleep */
    atomic_int finished;        /* the body ended (clean-up included) */
    atomic_int runs;            /* how often the body began */
    atomic_int sleep_rc;        /* what the sleep returned */
    atomic_int *gate;           /* if set: wait for it before returning */
};

static inline int job_fn(void *arg, void **result)
{
    struct job *j = arg;
    atomic_fetch_add(&j->runs, 1);
    atomic_store(&j->started, 1);
    int rc = 0;
    if (j->sleep_ms != 0) {
        atomic_store(&j->asleep, 1);
        rc = weft_sleep(j->sleep_ms);
        atomic_store(&j->sleep_rc, rc);
        if (rc == WEFT_ECANCELED && j->on_cancel_sleep_ms > 0)
            CHECK_EQ(weft_sleep(j->on_cancel_sleep_ms), 0); /* delivered once */
    }
    if (j->gate)
        task_wait_flag(j->gate);
    atomic_store(&j->finished, 1);
    if (rc != 0 && !j->swallow)
        return rc;
    *result = (void *)j->value;
    return j->rc;
}

/* Spawns job_fn(j); a failure is a CHECK failure. */
static inline weft_task_t *spawn_job(struct job *j)
{
    weft_task_t *t = weft_spawn(job_fn, j);
    CHECK(t != NULL);
    return t;
}

/* Waits (suspending) until j is asleep, then a little more so that the
 * sleep has really begun: the cancel then meets a suspended task.  A
 * cancel that comes earlier is delivered by the sleep anyway. */
static inline void wait_asleep(struct job *j)
{
    task_wait_flag(&j->asleep);
    weft_sleep(5);
}

#endif /* WEFT_TEST_SEM_H */
