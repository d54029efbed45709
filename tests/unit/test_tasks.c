/*
 * test_tasks.c - unit tests of tasks: spawn and await at volume, fork-join
 * trees (fib, skynet), awaiting a done task again, errors and results passed
 * to the awaiter and out of weft_run, names, and the calls that need (or
 * refuse) a task.
 */
#define _POSIX_C_SOURCE 200809L /* POSIX calls under -std=c11 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "weft.h"

/* A code no part of weft uses, to see that a task's own code comes back. */
#define MY_ERROR (-77)

/* ---- 1,000,000 spawn/await ---------------------------------------------- */

static int add_one(void *arg, void **result)
{
    *result = (void *)((intptr_t)arg + 1);
    return 0;
}

static int spawn_await_loop(void *arg, void **result)
{
    intptr_t n = (intptr_t)arg, sum = 0;
    (void)result;
    for (intptr_t i = 0; i < n; i++) {
        weft_task_t *t = weft_spawn(add_one, (void *)i);
        if (t == NULL) {
            CHECK(!"weft_spawn returned NULL");
            return weft_last_error();
        }
        void *res = NULL;
        int rc = weft_await(t, &res);
        CHECK_EQ(rc, 0);
        sum += (intptr_t)res - i;
        weft_task_release(t);
    }
    CHECK_EQ(sum, n);
    return 0;
}

/*
 * ThreadSanitizer makes each task cost tens of microseconds (its fiber
 * bookkeeping, much of it in the kernel), so its build runs a tenth of
 * the million-task cases: the same code paths, in minutes less.
 */
#ifdef WEFT_TSAN
#define MANY_TASKS 100000
#else
#define MANY_TASKS 1000000
#endif

static void test_spawn_await_million(void **state)
{
    (void)state;
    assert_int_equal(weft_run(NULL, spawn_await_loop, (void *)MANY_TASKS, NULL), 0);
    assert_no_check_failures();
}

/* ---- fib with a task per call ------------------------------------------- */

static intptr_t fib_serial(intptr_t n)
{
    return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2);
}

static int fib_task(void *arg, void **result)
{
    intptr_t n = (intptr_t)arg;
    if (n < 2) {
        *result = (void *)n;
        return 0;
    }
    weft_task_t *a = weft_spawn(fib_task, (void *)(n - 1));
    weft_task_t *b = weft_spawn(fib_task, (void *)(n - 2));
    if (a == NULL || b == NULL) {
        CHECK(!"weft_spawn returned NULL");
        return WEFT_ENOMEM; /* the leaked handles do not matter to the test */
    }
    void *ra = NULL, *rb = NULL;
    int rc = weft_await(b, &rb);
    int rc2 = weft_await(a, &ra);
    weft_task_release(a);
    weft_task_release(b);
    if (rc == 0)
        rc = rc2;
    *result = (void *)((intptr_t)ra + (intptr_t)rb);
    return rc;
}

static int fib_range(void *arg, void **result)
{
    (void)arg;
    (void)result;
    for (intptr_t n = 20; n <= 25; n++) {
        weft_task_t *t = weft_spawn(fib_task, (void *)n);
        if (t == NULL) {
            CHECK(!"weft_spawn returned NULL");
            return weft_last_error();
        }
        void *res = NULL;
        CHECK_EQ(weft_await(t, &res), 0);
        CHECK_EQ((intptr_t)res, fib_serial(n));
        weft_task_release(t);
    }
    return 0;
}

static void test_fib(void **state)
{
    (void)state;
    assert_int_equal(weft_run(NULL, fib_range, NULL, NULL), 0);
    assert_no_check_failures();
}

/* ---- skynet: 10-ary tree, 6 levels, 1,000,000 leaves (5 under TSan) ---- */

struct skynet_node {
    int64_t num;  /* the first leaf number under this node */
    int64_t size; /* leaves under this node */
};

static int skynet(void *arg, void **result)
{
    const struct skynet_node *node = arg;
    if (node->size == 1) {
        *result = (void *)(intptr_t)node->num;
        return 0;
    }
    /* The children borrow these from our stack: we await them all first. */
    struct skynet_node kids[10];
    weft_task_t *t[10];
    int64_t step = node->size / 10;
    for (int i = 0; i < 10; i++) {
        kids[i] = (struct skynet_node){node->num + i * step, step};
        t[i] = weft_spawn(skynet, &kids[i]);
        if (t[i] == NULL) {
            CHECK(!"weft_spawn returned NULL");
            return WEFT_ENOMEM; /* spawned children would outlive kids[] */
        }
    }
    int64_t sum = 0;
    int rc = 0;
    for (int i = 0; i < 10; i++) {
        void *res = NULL;
        int r = weft_await(t[i], &res);
        if (rc == 0)
            rc = r;
        sum += (intptr_t)res;
        weft_task_release(t[i]);
    }
    *result = (void *)(intptr_t)sum;
    return rc;
}

static void test_skynet(void **state)
{
    (void)state;
    struct skynet_node root = {0, MANY_TASKS}; /* a tree over 0..MANY_TASKS-1 */
    void *res = NULL;
    assert_int_equal(weft_run(NULL, skynet, &root, &res), 0);
    assert_true((int64_t)(intptr_t)res == (int64_t)MANY_TASKS * (MANY_TASKS - 1) / 2);
    assert_no_check_failures();
}

/* ---- awaiting a done task twice, errors to the awaiter ------------------ */

static int answer = 42;

static int give_answer(void *arg, void **result)
{
    (void)arg;
    *result = &answer;
    return 0;
}

static int fail_with_result(void *arg, void **result)
{
    (void)arg;
    *result = &answer;
    return MY_ERROR;
}

static int await_twice(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_fn fns[2] = {give_answer, fail_with_result};
    int want[2] = {0, MY_ERROR};
    for (int i = 0; i < 2; i++) {
        weft_task_t *t = weft_spawn(fns[i], NULL);
        if (t == NULL) {
            CHECK(!"weft_spawn returned NULL");
            return weft_last_error();
        }
        void *r1 = NULL, *r2 = NULL;
        CHECK_EQ(weft_await(t, &r1), want[i]);
        CHECK(weft_task_done(t));
        CHECK(!weft_task_cancelled(t));
        CHECK_EQ(weft_await(t, &r2), want[i]);
        CHECK(r2 == r1);
        if (want[i] == 0)
            CHECK(r1 == &answer);
        CHECK_EQ(weft_await(t, NULL), want[i]); /* a NULL result is allowed */
        weft_task_release(t);
    }
    return 0;
}

static void test_await_done_twice(void **state)
{
    (void)state;
    assert_int_equal(weft_run(NULL, await_twice, NULL, NULL), 0);
    assert_no_check_failures();
}

/* A deeper error: it comes back through two awaits and out of weft_run. */
static int await_failing_child(void *arg, void **result)
{
    (void)arg;
    weft_task_t *t = weft_spawn(fail_with_result, NULL);
    if (t == NULL)
        return weft_last_error();
    int rc = weft_await(t, result);
    weft_task_release(t);
    return rc;
}

static void test_error_to_awaiter(void **state)
{
    (void)state;
    void *res = NULL;
    assert_int_equal(weft_run(NULL, await_failing_child, NULL, &res), MY_ERROR);
    assert_ptr_equal(res, &answer);
    assert_no_check_failures();
}

/* ---- weft_run's result -------------------------------------------------- */

static void test_run_result(void **state)
{
    (void)state;
    void *res = NULL;
    assert_int_equal(weft_run(NULL, give_answer, NULL, &res), 0);
    assert_ptr_equal(res, &answer);
    assert_int_equal(weft_run(NULL, fail_with_result, NULL, NULL), MY_ERROR);
    weft_config_t cfg = {.workers = 1};
    res = NULL;
    assert_int_equal(weft_run(&cfg, give_answer, NULL, &res), 0);
    assert_ptr_equal(res, &answer);
}

/* ---- calls that need a task, and calls that refuse one ------------------ */

static void test_outside_a_task(void **state)
{
    (void)state;
    assert_null(weft_current());
    assert_null(weft_spawn(give_answer, NULL));
    assert_int_equal(weft_last_error(), WEFT_EPERM);
    weft_spawn_opts_t opts = {.name = "x"};
    assert_null(weft_spawn_opts(give_answer, NULL, &opts));
    assert_int_equal(weft_last_error(), WEFT_EPERM);
    assert_int_equal(weft_yield(), WEFT_EPERM);
    assert_int_equal(weft_sleep(1), WEFT_EPERM);
}

static int nested_calls(void *arg, void **result)
{
    (void)arg;
    (void)result;
    CHECK(weft_current() != NULL);
    CHECK_EQ(weft_await(weft_current(), NULL), WEFT_EDEADLK);
    weft_task_t *t = weft_spawn(give_answer, NULL);
    if (t == NULL) {
        CHECK(!"weft_spawn returned NULL");
        return weft_last_error();
    }
    CHECK_EQ(weft_block_on(t, NULL), WEFT_EPERM);
    CHECK_EQ(weft_run(NULL, give_answer, NULL, NULL), WEFT_EPERM);
    void *res = NULL;
    CHECK_EQ(weft_await(t, &res), 0);
    CHECK(res == &answer);
    weft_task_release(t);
    return 0;
}

static void test_inside_a_task(void **state)
{
    (void)state;
    assert_int_equal(weft_run(NULL, nested_calls, NULL, NULL), 0);
    assert_no_check_failures();
}

/* ---- names -------------------------------------------------------------- */

#define NAMED 100

static int own_name(void *arg, void **result)
{
    (void)arg;
    *result = (void *)weft_task_name(weft_current());
    return 0;
}

static int is_default_name(const char *s)
{
    if (s == NULL || strncmp(s, "Task-", 5) != 0 || s[5] == '\0')
        return 0;
    for (s += 5; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static int names(void *arg, void **result)
{
    (void)arg;
    (void)result;
    static weft_task_t *t[NAMED];
    CHECK(is_default_name(weft_task_name(weft_current())));
    for (int i = 0; i < NAMED; i++) {
        t[i] = weft_spawn(own_name, NULL);
        if (t[i] == NULL) {
            CHECK(!"weft_spawn returned NULL");
            return weft_last_error();
        }
    }
    for (int i = 0; i < NAMED; i++) {
        void *res = NULL;
        CHECK_EQ(weft_await(t[i], &res), 0);
        CHECK(res != NULL && strcmp(res, weft_task_name(t[i])) == 0);
    }
    for (int i = 0; i < NAMED; i++) {
        CHECK(is_default_name(weft_task_name(t[i])));
        CHECK(strcmp(weft_task_name(t[i]), weft_task_name(weft_current())) != 0);
        for (int j = 0; j < i; j++)
            CHECK(strcmp(weft_task_name(t[i]), weft_task_name(t[j])) != 0);
    }
    for (int i = 0; i < NAMED; i++)
        weft_task_release(t[i]);

    /* A given name is copied: changing the caller's buffer changes nothing. */
    char buf[32] = "worker-7";
    weft_spawn_opts_t opts = {.name = buf};
    weft_task_t *n = weft_spawn_opts(own_name, NULL, &opts);
    if (n == NULL) {
        CHECK(!"weft_spawn_opts returned NULL");
        return weft_last_error();
    }
    strcpy(buf, "changed");
    void *res = NULL;
    CHECK_EQ(weft_await(n, &res), 0);
    CHECK(res != NULL && strcmp(res, "worker-7") == 0);
    CHECK(strcmp(weft_task_name(n), "worker-7") == 0);
    strcpy(buf, "renamed");
    CHECK_EQ(weft_task_set_name(n, buf), 0);
    strcpy(buf, "changed");
    CHECK(strcmp(weft_task_name(n), "renamed") == 0);
    weft_task_release(n);

    /* A task may rename itself. */
    CHECK_EQ(weft_task_set_name(weft_current(), "main"), 0);
    CHECK(strcmp(weft_task_name(weft_current()), "main") == 0);
    return 0;
}

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(weft_run(NULL, names, NULL, NULL), 0);
    assert_no_check_failures();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outside_a_task),
        cmocka_unit_test(test_run_result),
        cmocka_unit_test(test_inside_a_task),
        cmocka_unit_test(test_await_done_twice),
        cmocka_unit_test(test_error_to_awaiter),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_spawn_await_million),
        cmocka_unit_test(test_fib),
        cmocka_unit_test(test_skynet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
