/*
 * test_parallel_for.c - weft_parallel_for: every index visited exactly
 * once and the sum equal to the serial one, the grain (0, 1, huge), empty
 * and reversed ranges, ranges at the ends of int64_t, a body error, bodies
 * that spawn and await, and a cancel of the caller.
 */
#include "../semantics/sem.h"

#ifdef WEFT_TSAN
#define BIG_N 1000000
#define GRAIN1_N 10000
#else
#define BIG_N 10000000
#define GRAIN1_N 100000
#endif

#define WORKERS 2

/* The value summed for index i: cheap, not a simple series. */
static int64_t value(int64_t i)
{
    return (int64_t)(((uint64_t)i * 2654435761u) % 1000u);
}

struct sum {
    int64_t base;               /* the range's begin: seen[i - base] */
    uint8_t *seen;              /* visits per index */
    atomic_llong total;
    atomic_int bodies;          /* body calls */
    atomic_llong widest;        /* the largest sub-range a body got */
};

static int sum_body(int64_t lo, int64_t hi, void *arg)
{
    struct sum *s = arg;
    int64_t local = 0;
    for (int64_t i = lo; i < hi; i++) {
        s->seen[i - s->base]++; /* bodies get disjoint ranges: no race */
        local += value(i);
    }
    atomic_fetch_add(&s->total, local);
    atomic_fetch_add(&s->bodies, 1);
    long long w = atomic_load(&s->widest);
    while (hi - lo > w && !atomic_compare_exchange_weak(&s->widest, &w, hi - lo)) {
    }
    return 0;
}

struct sum_case {
    int64_t begin, end, grain;
    struct sum s;
};

static int sum_main(void *arg, void **result)
{
    (void)result;
    struct sum_case *c = arg;
    CHECK_EQ(weft_parallel_for(c->begin, c->end, c->grain, sum_body, &c->s), 0);
    return 0;
}

/* Runs sum_body over [begin, end) and checks visits and the sum; returns
 * the number of body calls. */
static int check_sum(int64_t begin, int64_t end, int64_t grain, long long *widest)
{
    int64_t n = end - begin;
    struct sum_case c = {.begin = begin, .end = end, .grain = grain};
    c.s.base = begin;
    c.s.seen = calloc((size_t)n, 1);
    assert_non_null(c.s.seen);
    sem_run(WORKERS, sum_main, &c, 0);
    int64_t serial = 0;
    int64_t bad = 0;
    for (int64_t i = begin; i < end; i++) {
        serial += value(i);
        bad += c.s.seen[i - begin] != 1;
    }
    free(c.s.seen);
    assert_int_equal(bad, 0);
    assert_int_equal(atomic_load(&c.s.total), serial);
    if (widest)
        *widest = atomic_load(&c.s.widest);
    return atomic_load(&c.s.bodies);
}

static void test_parallel_for_sum_equals_serial(void **state)
{
    (void)state;
    long long widest = 0;
    int bodies = check_sum(0, BIG_N, 0, &widest);
    /* Grain 0: about 8 leaves per worker, halving gives 8..16 per worker. */
    assert_true(bodies >= 8 * WORKERS && bodies <= 16 * WORKERS);
    assert_true(widest <= (BIG_N + 8 * WORKERS - 1) / (8 * WORKERS));
}

static void test_parallel_for_grain_one(void **state)
{
    (void)state;
    long long widest = 0;
    assert_int_equal(check_sum(0, GRAIN1_N, 1, &widest), GRAIN1_N);
    assert_int_equal(widest, 1);
}

static void test_parallel_for_grain_huge_is_one_body(void **state)
{
    (void)state;
    long long widest = 0;
    assert_int_equal(check_sum(-5000, 5000, INT64_MAX, &widest), 1);
    assert_int_equal(widest, 10000);
    assert_int_equal(check_sum(-5000, 5000, 10000, NULL), 1);
    assert_int_equal(check_sum(-5000, 5000, 9999, NULL), 2);
}

static void test_parallel_for_int64_ends(void **state)
{
    (void)state;
    check_sum(INT64_MIN, INT64_MIN + 3000, 7, NULL);
    check_sum(INT64_MAX - 3000, INT64_MAX, 7, NULL);
}

/* ---- the whole int64_t range: sizes past INT64_MAX ----------------------- */

struct tiles {
    atomic_int bodies;
    _Atomic uint64_t covered;   /* sum of sizes, mod 2^64 */
    atomic_int at_min, at_max;  /* a sub-range starts at begin / ends at end */
};

static int tile_body(int64_t lo, int64_t hi, void *arg)
{
    struct tiles *t = arg;
    CHECK(lo < hi);
    atomic_fetch_add(&t->bodies, 1);
    atomic_fetch_add(&t->covered, (uint64_t)hi - (uint64_t)lo);
    if (lo == INT64_MIN)
        atomic_fetch_add(&t->at_min, 1);
    if (hi == INT64_MAX)
        atomic_fetch_add(&t->at_max, 1);
    return 0;
}

static int tiles_main(void *arg, void **result)
{
    (void)result;
    struct tiles *t = arg;
    /* 2^64 - 1 elements: halves of 2^63 - 1 and 2^63, the second split
     * once more because it exceeds the grain. */
    CHECK_EQ(weft_parallel_for(INT64_MIN, INT64_MAX, INT64_MAX, tile_body, t), 0);
    CHECK_EQ(atomic_load(&t->bodies), 3);
    CHECK(atomic_load(&t->covered) == UINT64_MAX);
    atomic_store(&t->bodies, 0);
    atomic_store(&t->covered, 0);
    CHECK_EQ(weft_parallel_for(INT64_MIN, INT64_MAX, 0, tile_body, t), 0);
    CHECK(atomic_load(&t->bodies) >= 8 * WORKERS);
    CHECK(atomic_load(&t->covered) == UINT64_MAX);
    CHECK_EQ(atomic_load(&t->at_min), 2);
    CHECK_EQ(atomic_load(&t->at_max), 2);
    return 0;
}

static void test_parallel_for_whole_int64_range(void **state)
{
    (void)state;
    struct tiles t = {0};
    sem_run(WORKERS, tiles_main, &t, 0);
}

/* ---- empty, reversed and bad arguments ----------------------------------- */

static int never_body(int64_t lo, int64_t hi, void *arg)
{
    (void)lo;
    (void)hi;
    atomic_fetch_add((atomic_int *)arg, 1);
    return MY_ERROR;
}

static int bad_args_main(void *arg, void **result)
{
    (void)result;
    atomic_int *calls = arg;
    CHECK_EQ(weft_parallel_for(5, 5, 0, never_body, calls), 0);
    CHECK_EQ(weft_parallel_for(INT64_MIN, INT64_MIN, 1, never_body, calls), 0);
    CHECK_EQ(weft_parallel_for(6, 5, 0, never_body, calls), WEFT_EINVAL);
    CHECK_EQ(weft_parallel_for(INT64_MAX, INT64_MIN, 0, never_body, calls), WEFT_EINVAL);
    CHECK_EQ(weft_parallel_for(0, 10, -1, never_body, calls), WEFT_EINVAL);
    CHECK_EQ(weft_parallel_for(0, 10, 0, NULL, calls), WEFT_EINVAL);
    CHECK_EQ(atomic_load(calls), 0);
    return 0;
}

static void test_parallel_for_empty_reversed_and_bad_args(void **state)
{
    (void)state;
    atomic_int calls = 0;
    assert_int_equal(weft_parallel_for(0, 10, 1, never_body, &calls), WEFT_EPERM);
    sem_run(WORKERS, bad_args_main, &calls, 0);
    assert_int_equal(atomic_load(&calls), 0);
}

/* ---- a body error: returned, and every body still runs -------------------- */

struct failing {
    atomic_llong visited;
};

static int failing_body(int64_t lo, int64_t hi, void *arg)
{
    struct failing *f = arg;
    atomic_fetch_add(&f->visited, hi - lo);
    if (lo <= 5000 && 5000 < hi)
        return MY_ERROR;
    if (lo <= 7000 && 7000 < hi)
        return OTHER_ERROR;
    return 0;
}

static int first_error_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct failing f = {0};
    int rc = weft_parallel_for(0, 10000, 100, failing_body, &f);
    CHECK(rc == MY_ERROR || rc == OTHER_ERROR);
    CHECK_EQ(atomic_load(&f.visited), 10000);
    /* One failing body: its code exactly. */
    atomic_store(&f.visited, 0);
    CHECK_EQ(weft_parallel_for(0, 6000, 100, failing_body, &f), MY_ERROR);
    CHECK_EQ(atomic_load(&f.visited), 6000);
    return 0;
}

static void test_parallel_for_body_error_propagates(void **state)
{
    (void)state;
    sem_run(WORKERS, first_error_main, NULL, 0);
}

/* ---- bodies that spawn and await ------------------------------------------ */

struct nested {
    atomic_llong total;
};

struct nested_part {
    int64_t lo, hi;
};

static int part_sum(void *arg, void **result)
{
    struct nested_part *p = arg;
    int64_t s = 0;
    for (int64_t i = p->lo; i < p->hi; i++)
        s += value(i);
    *result = (void *)(intptr_t)s;
    return 0;
}

static int spawning_body(int64_t lo, int64_t hi, void *arg)
{
    struct nested *n = arg;
    int64_t mid = lo + (hi - lo) / 2;
    struct nested_part a = {lo, mid}, b = {mid, hi};
    weft_task_t *ta = weft_spawn(part_sum, &a);
    weft_task_t *tb = weft_spawn(part_sum, &b);
    if (!ta || !tb)
        return WEFT_ENOMEM;
    void *ra = NULL, *rb = NULL;
    int rc = weft_await(tb, &rb);
    if (rc == 0)
        rc = weft_await(ta, &ra);
    weft_task_release(ta);
    weft_task_release(tb);
    if (weft_yield() != 0) /* a suspension point inside the body */
        return WEFT_ECANCELED;
    atomic_fetch_add(&n->total, (intptr_t)ra + (intptr_t)rb);
    return rc;
}

static int nested_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct nested n = {0};
    CHECK_EQ(weft_parallel_for(0, 200000, 1000, spawning_body, &n), 0);
    int64_t serial = 0;
    for (int64_t i = 0; i < 200000; i++)
        serial += value(i);
    CHECK_EQ(atomic_load(&n.total), serial);
    return 0;
}

static void test_parallel_for_body_spawns_and_awaits(void **state)
{
    (void)state;
    sem_run(WORKERS, nested_main, NULL, 0);
}

/* ---- cancel the caller ------------------------------------------------------ */

struct cancelled {
    atomic_int started;         /* bodies that began */
    atomic_int returned;        /* bodies that returned */
    atomic_int not_cancelled;   /* bodies whose sleep ended otherwise */
    atomic_int rc;              /* what weft_parallel_for returned */
    atomic_int after_rc;        /* the caller's next suspension point */
};

/* Sleeps until cancelled: the loop ends only if the cancel reaches every
 * body that started. */
static int sleeping_body(int64_t lo, int64_t hi, void *arg)
{
    (void)lo;
    (void)hi;
    struct cancelled *c = arg;
    atomic_fetch_add(&c->started, 1);
    int rc = weft_sleep(WEFT_FOREVER);
    if (rc != WEFT_ECANCELED)
        atomic_fetch_add(&c->not_cancelled, 1);
    atomic_fetch_add(&c->returned, 1);
    return rc;
}

static int looping_caller(void *arg, void **result)
{
    (void)result;
    struct cancelled *c = arg;
    atomic_store(&c->rc, weft_parallel_for(0, 64, 1, sleeping_body, c));
    atomic_store(&c->after_rc, weft_sleep(1)); /* the cancel was delivered once */
    return atomic_load(&c->rc);
}

static int cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct cancelled c = {0};
    weft_task_t *t = weft_spawn(looping_caller, &c);
    CHECK(t != NULL);
    double start = now_ms();
    while (atomic_load(&c.started) < 2 && now_ms() - start < SEM_PATIENCE_MS)
        weft_sleep(1);
    CHECK_EQ(weft_cancel(t), 1);
    CHECK_EQ(weft_await(t, NULL), WEFT_ECANCELED);
    CHECK_EQ(atomic_load(&c.rc), WEFT_ECANCELED);
    CHECK_EQ(atomic_load(&c.after_rc), 0);
    CHECK_EQ(atomic_load(&c.not_cancelled), 0);
    CHECK_EQ(atomic_load(&c.started), atomic_load(&c.returned));
    weft_task_release(t);
    return 0;
}

static void test_parallel_for_cancel_caller(void **state)
{
    (void)state;
    sem_run(WORKERS, cancel_main, NULL, 0);
}

/* A caller already cancelled when it calls: nothing runs. */
static int precancelled_main(void *arg, void **result)
{
    (void)result;
    atomic_int *calls = arg;
    weft_cancel(weft_current());
    CHECK_EQ(weft_parallel_for(0, 1000, 1, never_body, calls), WEFT_ECANCELED);
    CHECK_EQ(weft_cancelling(), 1);
    CHECK_EQ(weft_sleep(1), 0); /* delivered by the loop */
    return 0;
}

static void test_parallel_for_cancelled_before_call_runs_nothing(void **state)
{
    (void)state;
    atomic_int calls = 0;
    sem_run(WORKERS, precancelled_main, &calls, 0);
    assert_int_equal(atomic_load(&calls), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parallel_for_sum_equals_serial),
        cmocka_unit_test(test_parallel_for_grain_one),
        cmocka_unit_test(test_parallel_for_grain_huge_is_one_body),
        cmocka_unit_test(test_parallel_for_int64_ends),
        cmocka_unit_test(test_parallel_for_whole_int64_range),
        cmocka_unit_test(test_parallel_for_empty_reversed_and_bad_args),
        cmocka_unit_test(test_parallel_for_body_error_propagates),
        cmocka_unit_test(test_parallel_for_body_spawns_and_awaits),
        cmocka_unit_test(test_parallel_for_cancel_caller),
        cmocka_unit_test(test_parallel_for_cancelled_before_call_runs_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
