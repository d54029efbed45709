/*
 * test_stress_cancel.c - a validator in Concurrency Kit's style for
 * cancellation: two workers run 100,000 tasks (fewer under ThreadSanitizer)
 * that sleep 0-2 ms, await children and gather them, while a foreign
 * pthread cancels random running tasks and tasks cancel their own
 * children.  Conservation is checked: every task spawned is observed
 * finished exactly once by the task that owns it, its body ran at most
 * once and, if it ran, returned; a task that never ran ended cancelled;
 * every code is one a task can end with.  No hang: ctest's timeout bounds
 * the run.
 *
 * Tasks are spawned in waves so that live tasks stay bounded (TSan allows
 * about 8,000 live fibers).  The canceller reads the current wave's handles
 * only between a "busy" flag it raises and lowers; the main task takes the
 * wave away and waits for "busy" to drop before it releases the handles
 * (a Dekker handshake over seq_cst atomics).
 */
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
#include <time.h>

#include "../unit/check.h"
#include "weft.h"

#ifdef WEFT_TSAN
#define TOTAL 20000 /* tasks, children included */
#define WAVE 400    /* top-level tasks per wave */
#else
#define TOTAL 100000
#define WAVE 1000
#endif
#define MAX_CHILDREN 3
#define MY_ERROR (-7001)

enum kind { LEAF, AWAITER, GATHERER };

/* One record per task, found through its argument. */
struct rec {
    enum kind kind;
    int depth;
    uint64_t seed;
    atomic_int runs;     /* times the body began */
    atomic_int exits;    /* times the body returned */
    atomic_int observed; /* times its owner saw it finished */
};

static struct rec *recs;
static atomic_long nrecs;     /* records handed out */
static atomic_long observed;  /* finishes observed, all tasks */
static atomic_long never_ran; /* observed tasks whose body never ran */
static atomic_long cancelled; /* observed tasks that ended cancelled */
static atomic_long bad_codes; /* codes no task ends with */

static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static struct rec *new_rec(enum kind kind, int depth, uint64_t seed)
{
    long i = atomic_fetch_add(&nrecs, 1);
    if (i >= TOTAL + TOTAL / 2) { /* more than the test allows for */
        CHECK(!"too many records");
        abort();
    }
    struct rec *r = &recs[i];
    r->kind = kind;
    r->depth = depth;
    r->seed = seed * 0x9E3779B97F4A7C15u + (uint64_t)i + 1;
    return r;
}

/* The owner saw t (whose record is r) finish with rc. */
static void observe(weft_task_t *t, struct rec *r, int rc)
{
    CHECK(weft_task_done(t));
    int seen = atomic_fetch_add(&r->observed, 1);
    if (seen != 0)
        CHECK(!"a task observed finished twice");
    atomic_fetch_add(&observed, 1);
    if (rc != 0 && rc != WEFT_ECANCELED && rc != MY_ERROR)
        atomic_fetch_add(&bad_codes, 1);
    int runs = atomic_load(&r->runs);
    CHECK(runs <= 1);
    CHECK_EQ(atomic_load(&r->exits), runs); /* finished: its body returned */
    if (runs == 0) {
        atomic_fetch_add(&never_ran, 1);
        CHECK_EQ(rc, WEFT_ECANCELED);
    }
    if (rc == WEFT_ECANCELED) {
        atomic_fetch_add(&cancelled, 1);
        CHECK(weft_task_cancelled(t));
    }
}

static int node(void *arg, void **result);

static weft_task_t *spawn_node(enum kind kind, int depth, uint64_t seed, struct rec **rp)
{
    struct rec *r = new_rec(kind, depth, seed);
    weft_task_t *t = weft_spawn(node, r);
    CHECK(t != NULL);
    if (!t)
        abort(); /* the counts would be meaningless */
    *rp = r;
    return t;
}

static int leaf(struct rec *r)
{
    uint64_t x = next_rand(&r->seed);
    int rc = weft_sleep((int64_t)(x % 3)); /* 0 (a yield), 1 or 2 ms */
    if (rc == WEFT_ECANCELED && x % 16 == 5)
        rc = weft_sleep(1) == 0 ? 0 : MY_ERROR; /* swallows the cancel */
    if (rc == 0 && x % 64 == 7)
        rc = MY_ERROR;
    return rc;
}

static int awaiter(struct rec *r)
{
    uint64_t x = next_rand(&r->seed);
    struct rec *cr;
    weft_task_t *c = spawn_node(r->depth < 2 && x % 3 == 0 ? GATHERER : LEAF, r->depth + 1,
                                x, &cr);
    if (x % 4 == 1)
        weft_sleep((int64_t)(x >> 8) % 3);
    if (x % 8 == 3)
        weft_cancel(c); /* a task cancels its own child */
    int rc = weft_await(c, NULL);
    observe(c, cr, rc);
    weft_task_release(c);
    return rc;
}

static int gatherer(struct rec *r)
{
    uint64_t x = next_rand(&r->seed);
    size_t n = 1 + x % MAX_CHILDREN;
    weft_task_t *c[MAX_CHILDREN];
    struct rec *cr[MAX_CHILDREN];
    for (size_t i = 0; i < n; i++)
        c[i] = spawn_node(r->depth < 2 && (x >> (8 + i)) % 4 == 0 ? AWAITER : LEAF,
                          r->depth + 1, x + i, &cr[i]);
    weft_outcome_t out[MAX_CHILDREN];
    unsigned flags = (x >> 4) % 2 ? WEFT_RETURN_EXCEPTIONS : 0;
    int rc = weft_gather(c, n, out, flags);
    if (rc != 0 && rc != WEFT_ECANCELED && rc != MY_ERROR)
        atomic_fetch_add(&bad_codes, 1);
    /* Every child is observed once, by awaiting it (gather's default mode
     * leaves some running; a cancelled gatherer forwards to each). */
    for (size_t i = 0; i < n; i++) {
        int crc = weft_await(c[i], NULL);
        observe(c[i], cr[i], crc);
        weft_task_release(c[i]);
    }
    return rc;
}

static int node(void *arg, void **result)
{
    (void)result;
    struct rec *r = arg;
    if (atomic_fetch_add(&r->runs, 1) != 0)
        CHECK(!"a task body ran twice");
    int rc;
    switch (r->kind) {
    case LEAF:
        rc = leaf(r);
        break;
    case AWAITER:
        rc = awaiter(r);
        break;
    default:
        rc = gatherer(r);
        break;
    }
    atomic_fetch_add(&r->exits, 1);
    return rc;
}

/* ---- the foreign canceller ----------------------------------------------- */

static _Atomic(weft_task_t **) wave_pub; /* the current wave, or NULL */
static atomic_int wave_len;
static atomic_int canceller_busy;
static atomic_int canceller_stop;
static atomic_long cancels_made;

static void *canceller(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg | 1;
    while (!atomic_load(&canceller_stop)) {
        atomic_store(&canceller_busy, 1); /* seq_cst: before the load below */
        weft_task_t **w = atomic_load(&wave_pub);
        if (w) {
            int n = atomic_load(&wave_len);
            for (int k = 0; k < 4; k++)
                if (weft_cancel(w[next_rand(&seed) % (uint64_t)n]) == 1)
                    atomic_fetch_add(&cancels_made, 1);
        }
        atomic_store(&canceller_busy, 0);
        struct timespec ts = {0, (long)(next_rand(&seed) % 200) * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static int stress_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    static weft_task_t *wave[WAVE];
    static struct rec *wrec[WAVE];
    static weft_outcome_t out[WAVE];
    uint64_t seed = 88172645463325252u;
    long waves = 0;
    while (atomic_load(&nrecs) < TOTAL) {
        int n = 0;
        for (; n < WAVE; n++) {
            uint64_t x = next_rand(&seed);
            wave[n] = spawn_node((enum kind)(x % 3), 0, x, &wrec[n]);
        }
        atomic_store(&wave_len, n);
        atomic_store(&wave_pub, wave);
        CHECK_EQ(weft_gather(wave, (size_t)n, out, WEFT_RETURN_EXCEPTIONS), 0);
        /* Take the wave away; wait until the canceller is not using it. */
        atomic_store(&wave_pub, NULL); /* seq_cst: before the load below */
        while (atomic_load(&canceller_busy))
            weft_yield();
        for (int i = 0; i < n; i++) {
            observe(wave[i], wrec[i], out[i].rc);
            CHECK_EQ(weft_await(wave[i], NULL), out[i].rc);
            weft_task_release(wave[i]);
        }
        waves++;
    }
    CHECK_EQ(weft_cancelling(), 0);
    print_message("stress: %ld waves, %ld tasks, %ld cancels from the foreign thread, "
                  "%ld ended cancelled, %ld never ran\n",
                  waves, atomic_load(&nrecs), atomic_load(&cancels_made),
                  atomic_load(&cancelled), atomic_load(&never_ran));
    return 0;
}

static void test_foreign_cancels_while_two_workers_run_tasks_each_ends_once(void **state)
{
    (void)state;
    recs = calloc(TOTAL + TOTAL / 2, sizeof *recs);
    assert_non_null(recs);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, canceller, (void *)(uintptr_t)12345), 0);
    weft_config_t cfg = {.workers = 2};
    int rc = weft_run(&cfg, stress_main, NULL, NULL);
    atomic_store(&canceller_stop, 1);
    pthread_join(th, NULL);
    assert_int_equal(rc, 0);
    assert_no_check_failures();
    long n = atomic_load(&nrecs);
    assert_true(n >= TOTAL);
    assert_int_equal(atomic_load(&observed), n); /* each observed ... */
    for (long i = 0; i < n; i++) {
        assert_int_equal(atomic_load(&recs[i].observed), 1); /* ... exactly once */
        assert_true(atomic_load(&recs[i].runs) <= 1);
        assert_int_equal(atomic_load(&recs[i].exits), atomic_load(&recs[i].runs));
    }
    assert_int_equal(atomic_load(&bad_codes), 0);
    assert_true(atomic_load(&cancels_made) > 0);
    assert_true(atomic_load(&cancelled) > 0);
    free(recs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_foreign_cancels_while_two_workers_run_tasks_each_ends_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
