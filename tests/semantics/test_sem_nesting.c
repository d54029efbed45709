/*
 * test_sem_nesting.c - timeout scopes, task groups, an outside cancel and
 * a child failure nested 1 to 3 deep, each level checked against what
 * asyncio does (timeouts.py, taskgroups.py):
 *  - of nested timeouts that have all expired when they exit only the
 *    outermost reports WEFT_ETIMEDOUT, the inner ones WEFT_ECANCELED;
 *  - an inner timeout that expires alone reports it, outer ones do not;
 *  - an outside cancel stays a cancel through every level;
 *  - a child's failure wins over the cancels its group sends, and the
 *    scopes around the group see no timeout.
 * Unlike asyncio, a group does not see an error its owner's own code
 * returns (C has no exception leaving the block): an outer group whose
 * children are fine joins with 0 even when the inner level failed.
 */
#define _POSIX_C_SOURCE 200809L /* POSIX calls under -std=c11 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "../unit/check.h"
#include "weft.h"


enum level { TIMEOUT_SHORT, TIMEOUT_MID, TIMEOUT_LATE, TIMEOUT_LONG, GROUP };
enum inner { SLEEP, FAIL_CHILD, OUTSIDE_CANCEL };

#define MY_ERROR (-7777)
#define MAX_DEPTH 3

struct plan {
    int depth;
    enum level level[MAX_DEPTH]; /* [0] is the outermost */
    enum inner inner;
    int want[MAX_DEPTH];         /* what each level's exit or join returns */
    int want_inner;              /* what the innermost operation returns */
    int resleeps;                /* sleeps after a cancel, to let more expire */
};

struct run {
    const struct plan *p;
    weft_task_t *self;
    atomic_int armed;            /* the innermost sleep is about to start */
};

static int sleep_then_fail(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int rc = weft_sleep(10);
    return rc != 0 ? rc : MY_ERROR;
}

static int sleep_a_while(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return weft_sleep(100);
}

static int64_t timeout_ms(enum level l)
{
    return l == TIMEOUT_SHORT ? 20 : l == TIMEOUT_MID ? 40 : l == TIMEOUT_LATE ? 60 : 5000;
}

/* Runs level d and everything inside it; returns that level's result. */
static int level(struct run *r, int d)
{
    const struct plan *p = r->p;
    if (d == p->depth) {
        if (p->inner == FAIL_CHILD) /* the failure lives in the group above */
            return weft_sleep(10000);
        atomic_store(&r->armed, 1);
        int rc = weft_sleep(10000);
        /* A body that goes on after a cancel, until the other scopes have
         * expired too: then they all expired before any exit. */
        for (int i = 0; i < p->resleeps; i++)
            weft_sleep(300);
        return rc;
    }
    int got, inner;
    if (p->level[d] == GROUP) {
        weft_group_t *g = weft_group_new();
        CHECK(g != NULL);
        weft_group_spawn(g, sleep_a_while, NULL);
        if (p->inner == FAIL_CHILD && d == p->depth - 1)
            weft_group_spawn(g, sleep_then_fail, NULL);
        inner = level(r, d + 1);
        got = weft_group_join(g);
        weft_group_free(g);
    } else {
        weft_timeout_t *h = weft_timeout_enter(timeout_ms(p->level[d]));
        CHECK(h != NULL);
        inner = level(r, d + 1);
        got = weft_timeout_exit(h);
    }
    if (d == p->depth - 1)
        CHECK_EQ(inner, p->want_inner);
    CHECK_EQ(got, p->want[d]);
    return got != 0 ? got : inner;
}

static int body(void *arg, void **result)
{
    (void)result;
    struct run *r = arg;
    r->self = weft_current();
    level(r, 0);
    return 0;
}

static void *canceller(void *arg)
{
    struct run *r = arg;
    while (!atomic_load(&r->armed))
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL); /* asleep by now */
    weft_cancel(r->self);
    return NULL;
}

static int main_task(void *arg, void **result)
{
    (void)result;
    struct run *r = arg;
    weft_task_t *t = weft_spawn(body, r);
    CHECK(t != NULL);
    pthread_t th;
    bool outside = r->p->inner == OUTSIDE_CANCEL;
    if (outside) {
        while (!atomic_load(&r->armed))
            weft_sleep(1);
        pthread_create(&th, NULL, canceller, r);
    }
    weft_await(t, NULL);
    if (outside)
        pthread_join(th, NULL);
    weft_task_release(t);
    return 0;
}

static void run_plan(const struct plan *p)
{
    struct run r = {.p = p};
    weft_config_t cfg = {.workers = 2};
    assert_int_equal(weft_run(&cfg, main_task, &r, NULL), 0);
    assert_no_check_failures();
}

#define T WEFT_ETIMEDOUT
#define C WEFT_ECANCELED

static const struct plan plans[] = {
    /* depth 1 */
    {1, {TIMEOUT_SHORT}, SLEEP, {T}, C, 0},
    {1, {GROUP}, FAIL_CHILD, {MY_ERROR}, C, 0},
    {1, {TIMEOUT_LONG}, OUTSIDE_CANCEL, {0}, C, 0},
    {1, {GROUP}, OUTSIDE_CANCEL, {C}, C, 0},
    /* depth 2 */
    {2, {TIMEOUT_SHORT, TIMEOUT_MID}, SLEEP, {T, C}, C, 1},
    {2, {TIMEOUT_MID, TIMEOUT_SHORT}, SLEEP, {T, C}, C, 1},
    {2, {TIMEOUT_LONG, TIMEOUT_SHORT}, SLEEP, {0, T}, C, 0},
    {2, {TIMEOUT_LONG, GROUP}, FAIL_CHILD, {0, MY_ERROR}, C, 0},
    {2, {GROUP, TIMEOUT_SHORT}, SLEEP, {0, T}, C, 0},
    {2, {TIMEOUT_LONG, TIMEOUT_LONG}, OUTSIDE_CANCEL, {0, 0}, C, 0},
    /* depth 3 */
    {3, {TIMEOUT_SHORT, TIMEOUT_MID, TIMEOUT_LATE}, SLEEP, {T, C, C}, C, 2},
    {3, {TIMEOUT_LATE, TIMEOUT_SHORT, TIMEOUT_MID}, SLEEP, {T, C, C}, C, 2},
    {3, {TIMEOUT_LONG, GROUP, TIMEOUT_SHORT}, SLEEP, {0, 0, T}, C, 0},
    {3, {GROUP, TIMEOUT_LONG, GROUP}, FAIL_CHILD, {0, 0, MY_ERROR}, C, 0},
    {3, {TIMEOUT_LONG, GROUP, TIMEOUT_LONG}, OUTSIDE_CANCEL, {0, C, 0}, C, 0},
};

static void test_nested_timeouts_groups_cancel_and_failure(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++) {
        print_message("plan %zu (depth %d)\n", i, plans[i].depth);
        run_plan(&plans[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nested_timeouts_groups_cancel_and_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
