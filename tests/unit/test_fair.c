/*
 * test_fair.c - fairness under saturation, counted in tasks, not time:
 * a woken task does not wait behind tasks that have not started, and a
 * task that yields is back within a bounded number of other tasks,
 * however many fresh tasks are queued (in the deque and spilled into the
 * injector) while pairs of tasks keep waking each other; and a task whose
 * calls never have to wait lets others run after a budget of them.  One
 * worker, so every count is an ordering.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "weft.h"

#ifdef WEFT_TSAN
#define FRESH 20000
#else
#define FRESH 100000
#endif
#define BOUND 1000 /* other tasks that may run first */

static atomic_long fresh_ran;

static int fresh(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_fetch_add(&fresh_ran, 1);
    return 0;
}

/* Spawns FRESH tasks and awaits them all. */
static void flood(weft_task_t **t)
{
    for (int i = 0; i < FRESH; i++)
        CHECK((t[i] = weft_spawn(fresh, NULL)) != NULL);
}

static void drain(weft_task_t **t)
{
    for (int i = 0; i < FRESH; i++) {
        CHECK_EQ(weft_await(t[i], NULL), 0);
        weft_task_release(t[i]);
    }
}

/* ---- pairs that keep the worker busy ------------------------------------- */

/* Pairs bouncing a token keep the worker busy with wake-ups of their own
 * all along, as in a server. */
#define PAIRS 4
static atomic_int stop_pairs;

static int pinger(void *arg, void **result)
{
    (void)result;
    weft_chan_t **ch = arg;
    void *item;
    while (!atomic_load(&stop_pairs))
        if (weft_chan_send(ch[0], ch) != 0 || weft_chan_recv(ch[1], &item) != 0)
            break;
    return weft_chan_close(ch[0]);
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

struct pairs {
    weft_chan_t *ch[PAIRS][2];
    weft_task_t *t[PAIRS][2];
};

static void pairs_start(struct pairs *pp)
{
    atomic_store(&stop_pairs, 0);
    for (int i = 0; i < PAIRS; i++) {
        CHECK((pp->ch[i][0] = weft_chan_new(0)) && (pp->ch[i][1] = weft_chan_new(0)));
        CHECK((pp->t[i][0] = weft_spawn(pinger, pp->ch[i])) &&
              (pp->t[i][1] = weft_spawn(ponger, pp->ch[i])));
    }
}

static void pairs_stop(struct pairs *pp)
{
    atomic_store(&stop_pairs, 1);
    for (int i = 0; i < PAIRS; i++) {
        CHECK_EQ(weft_await(pp->t[i][0], NULL), 0);
        CHECK_EQ(weft_chan_close(pp->ch[i][1]), 0);
        CHECK_EQ(weft_await(pp->t[i][1], NULL), 0);
        weft_task_release(pp->t[i][0]);
        weft_task_release(pp->t[i][1]);
        weft_chan_free(pp->ch[i][0]);
        weft_chan_free(pp->ch[i][1]);
    }
}

/* ---- a woken task before fresh ones -------------------------------------- */

struct wake {
    weft_event_t *event;
    atomic_int waiting;
    atomic_long ran_at_set, ran_at_resume;
};

static int woken(void *arg, void **result)
{
    (void)result;
    struct wake *wk = arg;
    atomic_store(&wk->waiting, 1);
    CHECK_EQ(weft_event_wait(wk->event), 0);
    atomic_store(&wk->ran_at_resume, atomic_load(&fresh_ran));
    return 0;
}

/* A foreign thread sets the event once the worker is busy with the flood. */
static void *setter(void *arg)
{
    struct wake *wk = arg;
    while (atomic_load(&fresh_ran) < 1000)
        ;
    atomic_store(&wk->ran_at_set, atomic_load(&fresh_ran));
    weft_event_set(wk->event);
    return NULL;
}

static int woken_main(void *arg, void **result)
{
    (void)result;
    struct wake *wk = arg;
    weft_task_t *w = weft_spawn(woken, wk);
    CHECK(w != NULL);
    while (!atomic_load(&wk->waiting))
        weft_yield();
    struct pairs pp;
    pairs_start(&pp);
    weft_task_t **t = calloc(FRESH, sizeof *t);
    CHECK(t != NULL);
    atomic_store(&fresh_ran, 0);
    flood(t);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, setter, wk), 0);
    CHECK_EQ(weft_await(w, NULL), 0);
    pairs_stop(&pp);
    drain(t);
    pthread_join(th, NULL);
    weft_task_release(w);
    free(t);
    return 0;
}

static void test_woken_task_runs_before_tasks_not_started(void **state)
{
    (void)state;
    struct wake wk = {.event = weft_event_new()};
    assert_non_null(wk.event);
    weft_config_t cfg = {.workers = 1};
    assert_int_equal(weft_run(&cfg, woken_main, &wk, NULL), 0);
    long behind = atomic_load(&wk.ran_at_resume) - atomic_load(&wk.ran_at_set);
    print_message("the woken task resumed after %ld fresh tasks (of %d)\n", behind, FRESH);
    assert_true(behind <= BOUND);
    weft_event_free(wk.event);
    assert_no_check_failures();
}

/* ---- a yielded task within a bound --------------------------------------- */

static atomic_long ran_at_yield, ran_after_yield;

static int yielder(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_store(&ran_at_yield, atomic_load(&fresh_ran));
    CHECK_EQ(weft_yield(), 0);
    atomic_store(&ran_after_yield, atomic_load(&fresh_ran));
    return 0;
}

static int yield_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct pairs pp;
    pairs_start(&pp);
    weft_task_t **t = calloc(FRESH, sizeof *t);
    CHECK(t != NULL);
    atomic_store(&fresh_ran, 0);
    flood(t);
    /* On top of the flood: it runs first and yields behind it. */
    weft_task_t *y = weft_spawn(yielder, NULL);
    CHECK(y != NULL);
    CHECK_EQ(weft_await(y, NULL), 0);
    pairs_stop(&pp);
    drain(t);
    weft_task_release(y);
    free(t);
    return 0;
}

static void test_yielded_task_runs_within_a_bound(void **state)
{
    (void)state;
    weft_config_t cfg = {.workers = 1};
    assert_int_equal(weft_run(&cfg, yield_main, NULL, NULL), 0);
    long behind = atomic_load(&ran_after_yield) - atomic_load(&ran_at_yield);
    print_message("the yielded task resumed after %ld fresh tasks (of %d)\n", behind, FRESH);
    assert_true(behind <= BOUND);
    assert_no_check_failures();
}

/* ---- calls that never have to wait yield after a budget ------------------ */

#define CALLS 1000
#define BUDGET 128 /* weft's, documented in docs/api.md */

struct busy {
    weft_chan_t *ch;       /* full: every receive succeeds at once */
    weft_task_t *done;     /* finished: every await returns at once */
    bool by_await;
    atomic_int progress;   /* calls the busy task has made */
    atomic_int seen_at;    /* its progress when the other task ran */
};

static int busy_calls(void *arg, void **result)
{
    (void)result;
    struct busy *b = arg;
    for (int i = 0; i < CALLS; i++) {
        void *item;
        CHECK_EQ(b->by_await ? weft_await(b->done, NULL) : weft_chan_recv(b->ch, &item), 0);
        atomic_store(&b->progress, i + 1);
    }
    return 0;
}

static int other(void *arg, void **result)
{
    (void)result;
    struct busy *b = arg;
    atomic_store(&b->seen_at, atomic_load(&b->progress));
    return 0;
}

static int budget_main(void *arg, void **result)
{
    (void)result;
    struct busy *b = arg;
    b->ch = weft_chan_new(CALLS);
    CHECK(b->ch != NULL);
    for (int i = 0; i < CALLS; i++)
        CHECK_EQ(weft_chan_try_send(b->ch, b), 0);
    CHECK((b->done = weft_spawn(fresh, NULL)) != NULL);
    CHECK_EQ(weft_await(b->done, NULL), 0);
    atomic_store(&b->seen_at, -1);
    weft_task_t *o = weft_spawn(other, b);
    weft_task_t *busy = weft_spawn(busy_calls, b); /* on top: runs first */
    CHECK(o && busy);
    CHECK_EQ(weft_await(busy, NULL), 0);
    CHECK_EQ(weft_await(o, NULL), 0);
    weft_task_release(busy);
    weft_task_release(o);
    weft_task_release(b->done);
    weft_chan_free(b->ch);
    return 0;
}

static void test_calls_that_never_wait_yield_after_the_budget(void **state)
{
    (void)state;
    weft_config_t cfg = {.workers = 1};
    for (int by_await = 0; by_await <= 1; by_await++) {
        struct busy b = {.by_await = by_await};
        assert_int_equal(weft_run(&cfg, budget_main, &b, NULL), 0);
        int seen = atomic_load(&b.seen_at);
        print_message("%s: the other task ran after %d of %d calls\n",
                      by_await ? "awaits of a finished task" : "channel receives", seen, CALLS);
        assert_true(seen > 0 && seen <= BUDGET);
        assert_no_check_failures();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_woken_task_runs_before_tasks_not_started),
        cmocka_unit_test(test_yielded_task_runs_within_a_bound),
        cmocka_unit_test(test_calls_that_never_wait_yield_after_the_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
