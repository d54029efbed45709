/*
 * test_dump.c - unit tests of weft_dump: each live task is listed with its
 * name, its parent and spawn site, what it waits on, and, when suspended,
 * its stack; a cancel that arrives while the dump holds a task is still
 * delivered; WEFT_DUMP_SIGNAL makes a signal print the dump on stderr.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream, setenv, POSIX calls */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "weft.h"

static atomic_int asleep;

static int sleep_forever(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_fetch_add(&asleep, 1);
    return weft_sleep(WEFT_FOREVER);
}

static int await_arg(void *arg, void **result)
{
    atomic_fetch_add(&asleep, 1);
    return weft_await(arg, result);
}

/* The dump as a string (caller frees). */
static char *dump_text(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    int n = weft_dump(f);
    fclose(f);
    CHECK(n >= 1);
    return text;
}

static void wait_asleep(int n)
{
    double t0 = now_ms();
    while (atomic_load(&asleep) < n && now_ms() - t0 < 60000)
        weft_sleep(1);
    weft_sleep(20); /* past the arming; the dump reads the wait state only */
}

static int dump_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_spawn_opts_t opts = {.name = "sleeper"};
    weft_task_t *sleeper = weft_spawn_opts(sleep_forever, NULL, &opts);
    opts.name = "awaiter";
    weft_task_t *awaiter = weft_spawn_opts(await_arg, sleeper, &opts);
    CHECK(sleeper && awaiter);
    wait_asleep(2);
    char *text = dump_text();
    CHECK(text != NULL);
    if (text) {
        CHECK(strstr(text, "'sleeper': waiting: sleeping forever") != NULL);
        const char *aw = strstr(text, "'awaiter': waiting: awaiting task #");
        CHECK(aw != NULL);
        const char *sl = strstr(text, "'sleeper'");
        CHECK(sl != NULL);
        if (aw && sl) {
            /* "#<id> 'sleeper'": the id the awaiter names is the sleeper's. */
            const char *id = sl;
            while (id > text && id[-1] != '#')
                id--;
            unsigned long long sleeper_id = strtoull(id, NULL, 10);
            unsigned long long awaited = strtoull(aw + strlen("'awaiter': waiting: awaiting task #"),
                                                  NULL, 10);
            CHECK_EQ(awaited, sleeper_id);
        }
        CHECK(strstr(text, "spawned by #") != NULL);
        CHECK(strstr(text, "submitted from a thread at ") != NULL);
#if defined(__x86_64__)
        CHECK(strstr(text, "      #0 0x") != NULL); /* a frame of a stack */
#endif
        free(text);
    }
    /* The held tasks were let go: a cancel still reaches both. */
    CHECK_EQ(weft_cancel(awaiter), 1);
    CHECK_EQ(weft_await(awaiter, NULL), WEFT_ECANCELED);
    CHECK_EQ(weft_await(sleeper, NULL), WEFT_ECANCELED);
    weft_task_release(sleeper);
    weft_task_release(awaiter);
    return 0;
}

static void test_dump_lists_name_parent_site_wait_and_stack(void **state)
{
    (void)state;
    atomic_store(&asleep, 0);
    assert_int_equal(weft_run(NULL, dump_main, NULL, NULL), 0);
    assert_no_check_failures();
}

/* Dumps over and over while a canceller cancels what it holds. */
static int dump_race_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    enum { N = 200 };
    weft_task_t *t[N];
    for (int i = 0; i < N; i++)
        CHECK((t[i] = weft_spawn(sleep_forever, NULL)) != NULL);
    FILE *devnull = fopen("/dev/null", "w");
    CHECK(devnull != NULL);
    for (int i = 0; i < N; i++) {
        if (devnull)
            weft_dump(devnull);
        weft_cancel(t[i]);
    }
    if (devnull)
        fclose(devnull);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(weft_await(t[i], NULL), WEFT_ECANCELED);
        weft_task_release(t[i]);
    }
    return 0;
}

static void test_dump_never_loses_a_cancel(void **state)
{
    (void)state;
    assert_int_equal(weft_run(NULL, dump_race_main, NULL, NULL), 0);
    assert_no_check_failures();
}

static void test_dump_bad_input(void **state)
{
    (void)state;
    weft_sched_t *s = weft_start(NULL);
    assert_non_null(s);
    assert_int_equal(weft_dump(NULL), WEFT_EINVAL);
    assert_int_equal(weft_stop(s), 0);
}

static void test_dump_signal_prints_on_stderr(void **state)
{
    (void)state;
    char path[] = "/tmp/weft-dump-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    setenv("WEFT_DUMP_SIGNAL", "SIGUSR1", 1);
    weft_sched_t *s = weft_start(NULL);
    unsetenv("WEFT_DUMP_SIGNAL");
    assert_non_null(s);
    raise(SIGUSR1);
    char buf[4096];
    ssize_t got = 0;
    double t0 = now_ms();
    while (now_ms() - t0 < 30000) { /* the dump thread prints soon after */
        got = pread(fd, buf, sizeof buf - 1, 0);
        if (got > 0) {
            buf[got] = '\0';
            if (strstr(buf, "weft: live tasks"))
                break;
        }
        nanosleep(&(struct timespec){.tv_nsec = 5 * 1000 * 1000}, NULL);
    }
    assert_int_equal(weft_stop(s), 0);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    assert_true(got > 0);
    assert_non_null(strstr(buf, "weft: live tasks"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dump_lists_name_parent_site_wait_and_stack),
        cmocka_unit_test(test_dump_never_loses_a_cancel),
        cmocka_unit_test(test_dump_bad_input),
        cmocka_unit_test(test_dump_signal_prints_on_stderr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
