/*
 * test_overflow.c - death tests of stack overflow detection.  A child
 * process runs a task named "deep" that overruns its 64 KiB stack by about
 * 2 KiB and then yields; the child must die by SIGABRT after printing which
 * task overflowed.  Run with the default protection, with a guard page
 * (WEFT_STACK_MPROTECT) and with a canary (WEFT_STACK_CANARY), in the
 * three ways of enum how.
 */
#define _POSIX_C_SOURCE 200809L /* POSIX calls under -std=c11 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "death.h"
#include "weft.h"

#define STACK 65536
#define OVERRUN 2048
#define EXPECTED "weft: task 'deep' overflowed its 65536-byte stack"

/* The address of a local near the top of the task's stack. */
static char *volatile stack_top;

/* Set when "deep" starts. */
static atomic_int deep_started;

/*
 * Each frame holds 1 KiB and writes all of it; the addition after the call
 * keeps the compiler from turning the recursion into a loop.
 */
__attribute__((noinline)) static int recurse(void)
{
    volatile char buf[1024];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (char)i;
    if (stack_top - (char *)buf < STACK + OVERRUN)
        return recurse() + buf[0];
    return buf[0];
}

static int deep(void *arg, void **result)
{
    (void)arg;
    (void)result;
    volatile char here = 0;
    stack_top = (char *)&here;
    atomic_store(&deep_started, 1);
    int r = recurse();
    weft_yield(); /* a canary is checked here, if not before */
    return r;
}

enum how {
    AT_ONCE,       /* stack_size STACK, awaited at once */
    STARTED_FIRST, /* stack_size STACK, started by a worker before the await */
    INLINE,        /* the default stack size (also STACK), awaited at once on
                      one worker, so that no one steals it first: it may run
                      inline, on the stack of the task awaiting it */
};

static const char *const how_name[] = {"awaited at once", "started first",
                                       "default stack size, awaited at once"};

/* Spawns "deep" and awaits it as (enum how)arg says. */
static int spawn_deep(void *arg, void **result)
{
    (void)result;
    enum how how = (enum how)(intptr_t)arg;
    weft_spawn_opts_t opts = {.name = "deep", .stack_size = how == INLINE ? 0 : STACK};
    weft_task_t *t = weft_spawn_opts(deep, NULL, &opts);
    if (t == NULL)
        return weft_last_error();
    while (how == STARTED_FIRST && !atomic_load(&deep_started))
        weft_yield();
    int rc = weft_await(t, NULL);
    weft_task_release(t);
    return rc;
}

struct child_args {
    unsigned flags;
    enum how how;
};

/* In the child: runs spawn_deep(how) under flags. */
static void overflow_in_child(const void *arg)
{
    const struct child_args *c = arg;
    weft_config_t cfg = {.workers = c->how == INLINE ? 1 : 2, .stack_size = STACK,
                         .flags = c->flags};
    int rc = weft_run(&cfg, spawn_deep, (void *)(intptr_t)c->how, NULL);
    fprintf(stderr, "child: weft_run returned %d (%s)\n", rc, weft_strerror(rc));
}

/* Runs spawn_deep(how) under flags in a child; returns its stderr and status. */
static char *run_child(unsigned flags, enum how how, int *status)
{
    struct child_args c = {flags, how};
    return run_in_child(overflow_in_child, &c, status);
}

/* Checks one child's death; returns 0 if it died as it should. */
static int died_right(unsigned flags, enum how way, const char *what)
{
    const char *how = how_name[way];
    int status = 0;
    char *out = run_child(flags, way, &status);
    printf("--- %s, %s: child's stderr ---\n%s--- end ---\n", what, how, out);
    if (WIFSIGNALED(status))
        printf("%s, %s: child died by signal %d (%s)\n", what, how,
               WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        printf("%s, %s: child exited with %d\n", what, how, WEXITSTATUS(status));
    int found = strstr(out, EXPECTED) != NULL;
    free(out);
    if (!found)
        printf("%s, %s: FAILED: stderr lacks \"%s\"\n", what, how, EXPECTED);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
        printf("%s, %s: FAILED: the child did not die by SIGABRT\n", what, how);
    return found && WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT ? 0 : 1;
}

/* "deep" with a stack size of its own, awaited at once and started first. */
static void expect_death(unsigned flags, const char *what)
{
    int failed = died_right(flags, AT_ONCE, what);
    failed += died_right(flags, STARTED_FIRST, what);
    assert_int_equal(failed, 0);
}

static void test_overflow_default(void **state)
{
    (void)state;
    expect_death(0, "default");
}

static void test_overflow_mprotect(void **state)
{
    (void)state;
    expect_death(WEFT_STACK_MPROTECT, "WEFT_STACK_MPROTECT");
}

static void test_overflow_canary(void **state)
{
    (void)state;
    expect_death(WEFT_STACK_CANARY, "WEFT_STACK_CANARY");
}

/* "deep" with the default stack size, awaited at once, under each method. */
static void test_overflow_inline(void **state)
{
    (void)state;
    int failed = died_right(0, INLINE, "default");
    failed += died_right(WEFT_STACK_MPROTECT, INLINE, "WEFT_STACK_MPROTECT");
    failed += died_right(WEFT_STACK_CANARY, INLINE, "WEFT_STACK_CANARY");
    assert_int_equal(failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overflow_default),
        cmocka_unit_test(test_overflow_mprotect),
        cmocka_unit_test(test_overflow_canary),
        cmocka_unit_test(test_overflow_inline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
