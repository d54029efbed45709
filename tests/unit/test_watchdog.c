/*
 * test_watchdog.c - unit tests of the blocking-task watchdog
 * (weft_config_t.watchdog_ms): a task that blocks its worker longer than
 * the threshold is reported once, by name, with a stack; tasks that
 * suspend often are never reported; a scheduler without it reports nothing.
 * Also weft_stats' longest run slice, the same fact measured on request.
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp, pread, POSIX calls */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "weft.h"

/* Blocks its worker thread, as a task calling a blocking function does. */
static int block_worker(void *arg, void **result)
{
    (void)result;
    long ms = (long)(intptr_t)arg;
    nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000}, NULL);
    return 0;
}

static int sleep_often(void *arg, void **result)
{
    (void)arg;
    (void)result;
    for (int i = 0; i < 40; i++)
        CHECK_EQ(weft_sleep(5), 0);
    return 0;
}

static int watch_main(void *arg, void **result)
{
    (void)result;
    long block_ms = (long)(intptr_t)arg;
    weft_spawn_opts_t opts = {.name = "blocker"};
    weft_task_t *b = weft_spawn_opts(block_worker, (void *)(intptr_t)block_ms, &opts);
    opts.name = "sleeper";
    weft_task_t *s = weft_spawn_opts(sleep_often, NULL, &opts);
    CHECK(b && s);
    CHECK_EQ(weft_await(b, NULL), 0);
    CHECK_EQ(weft_await(s, NULL), 0);
    weft_task_release(b);
    weft_task_release(s);
    return 0;
}

/* Runs watch_main with stderr sent to a file; returns what was written. */
static char *run_capturing(unsigned watchdog_ms, long block_ms)
{
    char path[] = "/tmp/weft-watchdog-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    weft_config_t cfg = {.workers = 2, .watchdog_ms = watchdog_ms};
    int rc = weft_run(&cfg, watch_main, (void *)(intptr_t)block_ms, NULL);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    assert_int_equal(rc, 0);
    off_t len = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(pread(fd, text, (size_t)len, 0), len);
    close(fd);
    fputs(text, stderr); /* for the log */
    return text;
}

static int count(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

static void test_watchdog_reports_a_blocking_task_once_with_its_stack(void **state)
{
    (void)state;
    /* Blocks 1.5 s against a 100 ms threshold: generous both ways. */
    char *text = run_capturing(100, 1500);
    assert_int_equal(count(text, "weft: watchdog: task #"), 1);
    assert_non_null(strstr(text, "'blocker' has run for"));
    assert_null(strstr(text, "'sleeper'"));
#if defined(__x86_64__)
    assert_non_null(strstr(text, "      #0 0x"));
#endif
    free(text);
    assert_no_check_failures();
}

static void test_watchdog_is_off_by_default(void **state)
{
    (void)state;
    char *text = run_capturing(0, 300);
    assert_null(strstr(text, "weft: watchdog"));
    free(text);
    assert_no_check_failures();
}

/* Blocks a worker for 200 ms, then reads the longest slice of any worker. */
static int slice_main(void *arg, void **result)
{
    (void)arg;
    weft_task_t *b = weft_spawn(block_worker, (void *)(intptr_t)200);
    weft_task_t *s = weft_spawn(sleep_often, NULL);
    CHECK(b && s);
    CHECK_EQ(weft_await(b, NULL), 0);
    CHECK_EQ(weft_await(s, NULL), 0);
    weft_task_release(b);
    weft_task_release(s);
    weft_stats_t st;
    CHECK_EQ(weft_stats(&st), 0);
    uint64_t longest = 0;
    for (unsigned i = 0; i < st.workers; i++)
        if (st.worker[i].longest_slice_ns > longest)
            longest = st.worker[i].longest_slice_ns;
    *result = (void *)(uintptr_t)longest;
    return 0;
}

static uint64_t longest_slice(unsigned flags)
{
    weft_config_t cfg = {.workers = 2, .flags = flags};
    void *longest = NULL;
    assert_int_equal(weft_run(&cfg, slice_main, NULL, &longest), 0);
    return (uint64_t)(uintptr_t)longest;
}

static void test_longest_slice_is_measured_only_when_asked(void **state)
{
    (void)state;
    /* The blocker ran at least its 200 ms in one slice; preemption only
     * makes the slice longer. */
    assert_true(longest_slice(WEFT_MEASURE_SLICES) >= 200000000u);
    assert_int_equal(longest_slice(0), 0);
    assert_no_check_failures();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watchdog_reports_a_blocking_task_once_with_its_stack),
        cmocka_unit_test(test_watchdog_is_off_by_default),
        cmocka_unit_test(test_longest_slice_is_measured_only_when_asked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
