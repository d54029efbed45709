/*
 * test_workers.c - how many workers a scheduler gets and what runs on their
 * threads: the parsers of cgroup v2's cpu.max and /proc/self/cgroup (fed
 * text, and files in a temporary directory), the affinity mask (the calling
 * thread bound to one CPU), the WEFT_WORKERS override and its bad values,
 * the thread hooks (once per thread, distinct indices, start before any
 * task, stop at weft_stop), WEFT_PIN_WORKERS (each worker's own mask, read
 * in its start hook), and a real cgroup with a one-CPU cpu.max where the
 * machine allows making one (root and cgroup v2 with the cpu controller;
 * the test says why when it skips).
 *
 * Run as `test_workers --expect-workers N`, the program instead starts a
 * scheduler with the defaults and exits 0 when it has N workers: the
 * cgroup test runs it in the cgroup, and ctest under `taskset -c 0`.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_*, gettid */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "sched/internal.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* ---- helpers ------------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Writes text to an existing kernel file (cgroupfs); 0 or -errno. */
static int write_kernel_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int rc = n == (ssize_t)strlen(text) ? 0 : n < 0 ? -errno : -EIO;
    close(fd);
    return rc;
}

static bool read_text(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
    return true;
}

/* Does the space-separated list in text hold word? */
static bool has_word(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = text; (p = strstr(p, word)) != NULL; p += n)
        if ((p == text || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

static unsigned sched_workers(void)
{
    static weft_stats_t st; /* 18 KiB: not on the stack */
    assert_int_equal(weft_stats(&st), 0);
    return st.workers;
}

/* What a scheduler with the defaults would get, computed from the mask
 * and the cgroup files directly. */
static unsigned expected_default(void)
{
    cpu_set_t set;
    assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
    unsigned n = (unsigned)CPU_COUNT(&set);
    unsigned quota = weft__cgroup_cpu_limit("/proc/self/cgroup", "/sys/fs/cgroup");
    if (quota && quota < n)
        n = quota;
    return n > WEFT_MAX_WORKERS ? WEFT_MAX_WORKERS : n;
}

/* ---- cpu.max and /proc/self/cgroup, as text ------------------------------ */

static void test_cpu_max_parse(void **state)
{
    (void)state;
    struct {
        const char *text;
        int rc;
        unsigned cpus;
    } cases[] = {
        {"max 100000\n", 0, 0},
        {"max 100000", 0, 0},
        {"100000 100000\n", 1, 1},
        {"50000 100000\n", 1, 1},  /* half a CPU still needs a worker */
        {"1 100000\n", 1, 1},
        {"0 100000\n", 1, 1},
        {"150000 100000\n", 1, 2}, /* rounded up */
        {"200000 100000\n", 1, 2},
        {"200001 100000\n", 1, 3},
        {"6400000 100000\n", 1, 64},
        {"18446744073709551615 1\n", 1, UINT_MAX},
        {"", -1, 0},
        {"\n", -1, 0},
        {"max\n", -1, 0},
        {"100000\n", -1, 0},
        {"100000 0\n", -1, 0},
        {"-100000 100000\n", -1, 0},
        {"100000 -100000\n", -1, 0},
        {"100000  100000\n", -1, 0},
        {"100000 100000 1\n", -1, 0},
        {"100000 100000\n\n", -1, 0},
        {"maxi 100000\n", -1, 0},
        {"abc 100000\n", -1, 0},
        {"99999999999999999999 100000\n", -1, 0}, /* past 64 bits */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned cpus = 12345;
        int rc = weft__cpu_max_parse(cases[i].text, &cpus);
        if (rc != cases[i].rc || (rc == 1 && cpus != cases[i].cpus))
            fail_msg("cpu.max \"%s\": %d, %u CPUs; want %d, %u", cases[i].text, rc, cpus,
                     cases[i].rc, cases[i].cpus);
    }
}

static void test_cgroup_path_parse(void **state)
{
    (void)state;
    char path[64];
    assert_int_equal(weft__cgroup_path_parse("0::/a/b\n", path, sizeof path), 0);
    assert_string_equal(path, "/a/b");
    assert_int_equal(weft__cgroup_path_parse("0::/\n", path, sizeof path), 0);
    assert_string_equal(path, "/");
    assert_int_equal(weft__cgroup_path_parse("0::/no/newline", path, sizeof path), 0);
    assert_string_equal(path, "/no/newline");
    /* A hybrid setup: v1 hierarchies first, the v2 line last. */
    const char *hybrid = "12:cpu,cpuacct:/docker/x\n10::/not-v2\n4:memory:/m\n0::/system.slice/y\n";
    assert_int_equal(weft__cgroup_path_parse(hybrid, path, sizeof path), 0);
    assert_string_equal(path, "/system.slice/y");
    /* cgroup v1 only: no "0::" line. */
    assert_int_equal(weft__cgroup_path_parse("4:memory:/m\n1:cpu:/\n", path, sizeof path), -1);
    assert_int_equal(weft__cgroup_path_parse("", path, sizeof path), -1);
    assert_int_equal(weft__cgroup_path_parse("0::\n", path, sizeof path), -1);
    /* A path that does not fit is refused, not cut. */
    assert_int_equal(weft__cgroup_path_parse("0::/abcdefgh\n", path, 9), -1);
    assert_int_equal(weft__cgroup_path_parse("0::/abcdefgh\n", path, 10), 0);
    assert_string_equal(path, "/abcdefgh");
}

static void test_workers_env_parse(void **state)
{
    (void)state;
    unsigned n = 99;
    assert_int_equal(weft__workers_env_parse("4", &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(weft__workers_env_parse("0", &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(weft__workers_env_parse("256", &n), 0);
    assert_int_equal(n, WEFT_MAX_WORKERS);
    const char *bad[] = {"",   "257", "-1",  "+4",         " 4", "4 ",
                         "4x", "0x8", "4.0", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = 99;
        if (weft__workers_env_parse(bad[i], &n) != WEFT_EINVAL || n != 99)
            fail_msg("WEFT_WORKERS=\"%s\" was taken", bad[i]);
    }
}

/* ---- cgroup files in a temporary directory ------------------------------- */

static void test_cgroup_limit_from_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/weft-cpus-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char proc[64], root[64], a[128], ab[192], f_root[256], f_a[256], f_ab[256];
    snprintf(proc, sizeof proc, "%s/cgroup", dir);
    snprintf(root, sizeof root, "%s/fs", dir);
    snprintf(a, sizeof a, "%s/a", root);
    snprintf(ab, sizeof ab, "%s/b", a);
    snprintf(f_root, sizeof f_root, "%s/cpu.max", root);
    snprintf(f_a, sizeof f_a, "%s/cpu.max", a);
    snprintf(f_ab, sizeof f_ab, "%s/cpu.max", ab);
    assert_int_equal(mkdir(root, 0700), 0);
    assert_int_equal(mkdir(a, 0700), 0);
    assert_int_equal(mkdir(ab, 0700), 0);

    /* No /proc/self/cgroup to read: no limit. */
    assert_int_equal(weft__cgroup_cpu_limit(proc, root), 0);

    write_file(proc, "1:cpu:/v1\n0::/a/b\n");
    /* No cpu.max anywhere: no limit. */
    assert_int_equal(weft__cgroup_cpu_limit(proc, root), 0);
    /* Only the cgroup's own level. */
    write_file(f_ab, "150000 100000\n");
    assert_int_equal(weft__cgroup_cpu_limit(proc, root), 2);
    /* A parent allows more: the smaller, the cgroup's own, counts. */
    write_file(f_a, "400000 100000\n");
    write_file(f_root, "max 100000\n");
    assert_int_equal(weft__cgroup_cpu_limit(proc, root), 2);
    /* The cgroup has none, its parent has one. */
    write_file(f_ab, "max 100000\n");
    assert_int_equal(weft__cgroup_cpu_limit(proc, root), 4);
    /* The top level is read too (a container's namespace root). */
    write_file(f_root, "100000 100000\n");
    assert_int_equal(weft__cgroup_cpu_limit(proc, root), 1);
    /* A level that cannot be parsed is passed over. */
    write_file(f_root, "garbage\n");
    assert_int_equal(weft__cgroup_cpu_limit(proc, root), 4);
    /* A process at the root of its namespace. */
    write_file(proc, "0::/\n");
    write_file(f_root, "250000 100000\n");
    assert_int_equal(weft__cgroup_cpu_limit(proc, root), 3);
    /* cgroup v1 only: nothing to read. */
    write_file(proc, "1:cpu:/\n");
    assert_int_equal(weft__cgroup_cpu_limit(proc, root), 0);
    /* Outside the namespace's root: not under root, not read. */
    write_file(proc, "0::/../a/b\n");
    assert_int_equal(weft__cgroup_cpu_limit(proc, root), 0);
    /* A cgroup whose directory is not there (removed): its parents count. */
    write_file(proc, "0::/a/gone\n");
    assert_int_equal(weft__cgroup_cpu_limit(proc, root), 3);
    write_file(f_root, "max 100000\n");
    assert_int_equal(weft__cgroup_cpu_limit(proc, root), 4);

    const char *files[] = {f_ab, f_a, f_root, proc};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        assert_int_equal(unlink(files[i]), 0);
    assert_int_equal(rmdir(ab), 0);
    assert_int_equal(rmdir(a), 0);
    assert_int_equal(rmdir(root), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* ---- the thread hooks ------------------------------------------------------ */

#define SLOTS (WEFT_MAX_WORKERS + 1)
#define NTASKS 200

struct hooks {
    unsigned nworkers;          /* the slot of the I/O thread */
    atomic_uint starts, stops;
    atomic_uint start_calls[SLOTS], stop_calls[SLOTS];
    atomic_int bad_index;
    pid_t start_tid[SLOTS], stop_tid[SLOTS];
    atomic_uint tasks_done;
    unsigned done_at_stop[SLOTS];
    cpu_set_t mask[SLOTS];      /* the thread's affinity in its start hook */
};

/* The index the start hook saw on this thread; -1 on other threads. */
static __thread int hooked_index = -1;

/* Read through a call: a task may not keep a thread-local's address. */
static __attribute__((noinline)) int hooked_here(void)
{
    return hooked_index;
}

static unsigned slot_of(struct hooks *h, unsigned index)
{
    if (index == WEFT_IO_THREAD)
        return h->nworkers;
    if (index >= h->nworkers) {
        atomic_fetch_add(&h->bad_index, 1);
        return SLOTS - 1;
    }
    return index;
}

static void on_start(unsigned index, void *arg)
{
    struct hooks *h = arg;
    unsigned k = slot_of(h, index);
    atomic_fetch_add(&h->start_calls[k], 1);
    h->start_tid[k] = gettid();
    CHECK_EQ(sched_getaffinity(0, sizeof h->mask[k], &h->mask[k]), 0);
    hooked_index = (int)index;
    atomic_fetch_add(&h->starts, 1);
}

static void on_stop(unsigned index, void *arg)
{
    struct hooks *h = arg;
    unsigned k = slot_of(h, index);
    atomic_fetch_add(&h->stop_calls[k], 1);
    h->stop_tid[k] = gettid();
    h->done_at_stop[k] = atomic_load(&h->tasks_done);
    atomic_fetch_add(&h->stops, 1);
}

static int hooked_task(void *arg, void **result)
{
    (void)result;
    struct hooks *h = arg;
    for (int i = 0; i < 3; i++) {
        /* Every start hook has run before any task: weft_start waited. */
        CHECK_EQ(atomic_load(&h->starts), h->nworkers + 1);
        /* And this thread is a worker whose start hook ran here. */
        int idx = hooked_here();
        CHECK(idx >= 0 && (unsigned)idx < h->nworkers);
        CHECK_EQ(atomic_load(&h->stops), 0);
        weft_yield();
    }
    atomic_fetch_add(&h->tasks_done, 1);
    return 0;
}

static void test_hooks_once_per_thread(void **state)
{
    (void)state;
    static struct hooks h; /* big: not on the stack */
    memset(&h, 0, sizeof h);
    h.nworkers = 3;
    weft_config_t cfg = {.workers = 3, .on_thread_start = on_start, .on_thread_stop = on_stop,
                         .hook_arg = &h};
    weft_sched_t *s = weft_start(&cfg);
    assert_non_null(s);
    /* weft_start has returned: every start hook has, none of the stops. */
    assert_int_equal(atomic_load(&h.starts), 4);
    assert_int_equal(atomic_load(&h.stops), 0);
    for (unsigned k = 0; k <= h.nworkers; k++) {
        assert_int_equal(atomic_load(&h.start_calls[k]), 1);
        assert_int_not_equal(h.start_tid[k], gettid());
        for (unsigned j = 0; j < k; j++)
            assert_int_not_equal(h.start_tid[j], h.start_tid[k]);
    }
    weft_task_t *t[NTASKS];
    for (int i = 0; i < NTASKS; i++)
        assert_non_null(t[i] = weft_submit(s, hooked_task, &h));
    for (int i = 0; i < NTASKS; i++) {
        assert_int_equal(weft_block_on(t[i], NULL), 0);
        weft_task_release(t[i]);
    }
    assert_int_equal(atomic_load(&h.stops), 0);
    assert_int_equal(weft_stop(s), 0);
    /* weft_stop has returned: each thread ran its stop hook once, on the
     * thread its start hook ran on, after every task. */
    assert_int_equal(atomic_load(&h.stops), 4);
    assert_int_equal(atomic_load(&h.starts), 4);
    for (unsigned k = 0; k <= h.nworkers; k++) {
        assert_int_equal(atomic_load(&h.stop_calls[k]), 1);
        assert_int_equal(h.stop_tid[k], h.start_tid[k]);
        assert_int_equal(h.done_at_stop[k], NTASKS);
    }
    assert_int_equal(atomic_load(&h.bad_index), 0);
    assert_no_check_failures();
}

static int nothing(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return 0;
}

static void test_hooks_under_weft_run(void **state)
{
    (void)state;
    static struct hooks h;
    memset(&h, 0, sizeof h);
    h.nworkers = 2;
    weft_config_t only_stop = {.workers = 2, .on_thread_stop = on_stop, .hook_arg = &h};
    assert_int_equal(weft_run(&only_stop, nothing, NULL, NULL), 0);
    assert_int_equal(atomic_load(&h.starts), 0);
    assert_int_equal(atomic_load(&h.stops), 3);
    memset(&h, 0, sizeof h);
    h.nworkers = 2;
    weft_config_t both = {.workers = 2, .on_thread_start = on_start, .on_thread_stop = on_stop,
                          .hook_arg = &h};
    assert_int_equal(weft_run(&both, nothing, NULL, NULL), 0);
    assert_int_equal(atomic_load(&h.starts), 3);
    assert_int_equal(atomic_load(&h.stops), 3);
    for (unsigned k = 0; k <= h.nworkers; k++) {
        assert_int_equal(atomic_load(&h.start_calls[k]), 1);
        assert_int_equal(atomic_load(&h.stop_calls[k]), 1);
    }
    assert_int_equal(atomic_load(&h.bad_index), 0);
    assert_no_check_failures();
}

/* ---- the affinity mask ------------------------------------------------------- */

static void test_affinity_limits_workers(void **state)
{
    (void)state;
    cpu_set_t saved, one;
    assert_int_equal(sched_getaffinity(0, sizeof saved, &saved), 0);
    int first = 0;
    while (!CPU_ISSET(first, &saved))
        first++;
    CPU_ZERO(&one);
    CPU_SET(first, &one);

    static struct hooks h;
    memset(&h, 0, sizeof h);
    h.nworkers = 1;
    weft_config_t cfg = {.on_thread_start = on_start, .hook_arg = &h};
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
    unsigned mask_cpus = weft__affinity_cpus();
    unsigned available = weft__cpus_available();
    weft_sched_t *s = weft_start(&cfg);
    unsigned workers = s ? sched_workers() : 0;
    unsigned starts = atomic_load(&h.starts);
    if (s)
        weft_stop(s);
    /* Restored before any assert can leave the test. */
    assert_int_equal(sched_setaffinity(0, sizeof saved, &saved), 0);
    assert_int_equal(mask_cpus, 1);
    assert_int_equal(available, 1);
    assert_non_null(s);
    assert_int_equal(workers, 1);
    assert_int_equal(starts, 2); /* the worker and the I/O thread */
    assert_int_equal(atomic_load(&h.bad_index), 0);

    /* With the whole mask back, the count follows it again. */
    assert_int_equal(weft__affinity_cpus(), (unsigned)CPU_COUNT(&saved));
    s = weft_start(NULL);
    assert_non_null(s);
    assert_int_equal(sched_workers(), expected_default());
    assert_int_equal(weft_stop(s), 0);
    assert_no_check_failures();
}

/* ---- WEFT_WORKERS ------------------------------------------------------------ */

static unsigned workers_with_env(const char *value, const weft_config_t *cfg)
{
    assert_int_equal(setenv("WEFT_WORKERS", value, 1), 0);
    weft_sched_t *s = weft_start(cfg);
    unsetenv("WEFT_WORKERS");
    if (!s)
        fail_msg("WEFT_WORKERS=\"%s\": weft_start failed: %s", value,
                 weft_strerror(weft_last_error()));
    unsigned n = sched_workers();
    assert_int_equal(weft_stop(s), 0);
    return n;
}

static void test_env_overrides_default(void **state)
{
    (void)state;
    assert_int_equal(workers_with_env("3", NULL), 3);
    assert_int_equal(workers_with_env("1", NULL), 1);
    /* More than the CPUs is the user's call; a zero-filled config is the
     * defaults as much as NULL is. */
    assert_int_equal(workers_with_env("16", &(weft_config_t){.workers = 0}), 16);
    /* cfg.workers, set by the program, wins over the environment. */
    assert_int_equal(workers_with_env("3", &(weft_config_t){.workers = 2}), 2);
    /* Empty and 0 mean unset. */
    assert_int_equal(workers_with_env("", NULL), expected_default());
    assert_int_equal(workers_with_env("0", NULL), expected_default());
}

static int count_lines_with(const char *path, const char *needle)
{
    char buf[4096];
    if (!read_text(path, buf, sizeof buf))
        return -1;
    int n = 0;
    for (const char *p = buf; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_env_bad_value_fails_start(void **state)
{
    (void)state;
    const char *bad[] = {"abc", "-1", "257", " 3", "3 ", "2x", "99999999999999999999"};
    /* stderr into a file, to check the message that names the variable. */
    char log[] = "/tmp/weft-workers-log-XXXXXX";
    int fd = mkstemp(log);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved_err = dup(2);
    assert_true(saved_err >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    int failures = 0, run_rc = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("WEFT_WORKERS", bad[i], 1);
        weft_sched_t *s = weft_start(NULL);
        if (s) {
            weft_stop(s);
            failures++;
        } else if (weft_last_error() != WEFT_EINVAL) {
            failures++;
        }
    }
    setenv("WEFT_WORKERS", "abc", 1);
    run_rc = weft_run(NULL, nothing, NULL, NULL);
    unsetenv("WEFT_WORKERS");
    fflush(stderr);
    dup2(saved_err, 2);
    close(saved_err);
    close(fd);
    int lines = count_lines_with(log, "WEFT_WORKERS=\"");
    int abc = count_lines_with(log, "WEFT_WORKERS=\"abc\"");
    unlink(log);
    assert_int_equal(failures, 0);
    assert_int_equal(run_rc, WEFT_EINVAL);
    assert_int_equal(lines, (int)(sizeof bad / sizeof bad[0]) + 1);
    assert_int_equal(abc, 2);
    /* A bad value does not matter when the program sets the count. */
    assert_int_equal(setenv("WEFT_WORKERS", "abc", 1), 0);
    weft_sched_t *s = weft_start(&(weft_config_t){.workers = 2});
    unsetenv("WEFT_WORKERS");
    assert_non_null(s);
    assert_int_equal(weft_stop(s), 0);
}

/* ---- WEFT_PIN_WORKERS -------------------------------------------------------- */

static void test_pin_workers(void **state)
{
    (void)state;
    cpu_set_t allowed;
    assert_int_equal(sched_getaffinity(0, sizeof allowed, &allowed), 0);
    int cpus[CPU_SETSIZE], n = 0;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &allowed))
            cpus[n++] = c;
    if (n == 1)
        fprintf(stderr, "test_pin_workers: one CPU allowed, so every mask is that CPU\n");
    /* One more worker than CPUs: the last wraps to the first CPU. */
    unsigned workers = (unsigned)n + 1 > WEFT_MAX_WORKERS ? WEFT_MAX_WORKERS : (unsigned)n + 1;
    static struct hooks h;
    memset(&h, 0, sizeof h);
    h.nworkers = workers;
    weft_config_t cfg = {.workers = workers, .flags = WEFT_PIN_WORKERS,
                         .on_thread_start = on_start, .hook_arg = &h};
    weft_sched_t *s = weft_start(&cfg);
    assert_non_null(s);
    assert_int_equal(weft_stop(s), 0);
    for (unsigned k = 0; k < workers; k++) {
        if (CPU_COUNT(&h.mask[k]) != 1 || !CPU_ISSET(cpus[k % (unsigned)n], &h.mask[k]))
            fail_msg("worker %u: %d CPUs in its mask, want only CPU %d", k,
                     CPU_COUNT(&h.mask[k]), cpus[k % (unsigned)n]);
    }
    /* The I/O thread and the caller keep the whole set. */
    assert_true(CPU_EQUAL(&h.mask[workers], &allowed));
    cpu_set_t after;
    assert_int_equal(sched_getaffinity(0, sizeof after, &after), 0);
    assert_true(CPU_EQUAL(&after, &allowed));

    /* Without the flag every worker may run anywhere it was allowed. */
    memset(&h, 0, sizeof h);
    h.nworkers = workers;
    cfg.flags = 0;
    s = weft_start(&cfg);
    assert_non_null(s);
    assert_int_equal(weft_stop(s), 0);
    for (unsigned k = 0; k <= workers; k++)
        assert_true(CPU_EQUAL(&h.mask[k], &allowed));
    assert_int_equal(atomic_load(&h.bad_index), 0);
    assert_no_check_failures();
}

/* ---- a real cgroup ----------------------------------------------------------- */

static void count_start(unsigned index, void *arg)
{
    if (index != WEFT_IO_THREAD)
        atomic_fetch_add((atomic_uint *)arg, 1);
}

/* `test_workers --expect-workers N`: the defaults give N workers (and N
 * worker start hooks). */
static int expect_workers(unsigned want)
{
    atomic_uint hooks = 0;
    weft_sched_t *s = weft_start(&(weft_config_t){.on_thread_start = count_start,
                                                  .hook_arg = &hooks});
    if (!s) {
        fprintf(stderr, "test_workers: weft_start: %s\n", weft_strerror(weft_last_error()));
        return 2;
    }
    static weft_stats_t st;
    int rc = weft_stats(&st);
    weft_stop(s);
    unsigned got = rc == 0 ? st.workers : 0;
    printf("test_workers: %u workers, %u worker start hooks (want %u)\n", got,
           (unsigned)atomic_load(&hooks), want);
    return got == want && atomic_load(&hooks) == want ? 0 : 1;
}

/*
 * Can parent have a child cgroup with cpu.max?  The cpu controller must be
 * in its cgroup.controllers and handed down in cgroup.subtree_control,
 * which we enable if we can (*enabled: undo it afterwards).  Why not, on
 * stderr, if it cannot.
 */
static bool cpu_parent(const char *parent, bool *enabled)
{
    char file[4400], text[4096];
    *enabled = false;
    snprintf(file, sizeof file, "%s/cgroup.controllers", parent);
    if (!read_text(file, text, sizeof text) || !has_word(text, "cpu")) {
        fprintf(stderr, "test_cgroup_cpu_max_one_cpu: %s: no cpu controller\n", parent);
        return false;
    }
    snprintf(file, sizeof file, "%s/cgroup.subtree_control", parent);
    if (read_text(file, text, sizeof text) && has_word(text, "cpu"))
        return true;
    /* EBUSY: cgroup v2 lets a cgroup with processes of its own hand a
     * controller down only at the root ("no internal processes"). */
    int rc = write_kernel_file(file, "+cpu");
    if (rc != 0) {
        fprintf(stderr, "test_cgroup_cpu_max_one_cpu: %s: cannot hand the cpu controller down: %s\n",
                parent, strerror(-rc));
        return false;
    }
    *enabled = true;
    return true;
}

static void cpu_parent_undo(const char *parent, bool enabled)
{
    char file[4400];
    snprintf(file, sizeof file, "%s/cgroup.subtree_control", parent);
    if (enabled)
        write_kernel_file(file, "-cpu"); /* fails harmlessly if others use it now */
}

static void test_cgroup_cpu_max_one_cpu(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        fprintf(stderr, "test_cgroup_cpu_max_one_cpu: skipped: making a cgroup needs root\n");
        skip();
    }
    struct statfs fs;
    if (statfs("/sys/fs/cgroup", &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
        fprintf(stderr, "test_cgroup_cpu_max_one_cpu: skipped: /sys/fs/cgroup is not cgroup v2 "
                        "(cgroup v1 or a hybrid setup, where the cpu controller is v1's)\n");
        skip();
    }
    /* The parent of the test's cgroup: the hierarchy's root if it will
     * do (the root may hand controllers down while it has processes),
     * else the cgroup this process is in. */
    char text[8192], rel[4096], parent[4200];
    assert_true(read_text("/proc/self/cgroup", text, sizeof text));
    assert_int_equal(weft__cgroup_path_parse(text, rel, sizeof rel), 0);
    bool enabled_here;
    snprintf(parent, sizeof parent, "/sys/fs/cgroup");
    if (!cpu_parent(parent, &enabled_here)) {
        snprintf(parent, sizeof parent, "/sys/fs/cgroup%s", strcmp(rel, "/") ? rel : "");
        if (strcmp(rel, "/") == 0 || !cpu_parent(parent, &enabled_here)) {
            fprintf(stderr, "test_cgroup_cpu_max_one_cpu: skipped: no cgroup here can have a "
                            "child with cpu.max\n");
            skip();
        }
    }
    char child[4300], max_file[4400], procs[4400], self[4096];
    snprintf(child, sizeof child, "%s/weft-test-%d", parent, (int)getpid());
    if (mkdir(child, 0755) != 0) {
        fprintf(stderr, "test_cgroup_cpu_max_one_cpu: skipped: cannot make %s: %s\n", child,
                strerror(errno));
        cpu_parent_undo(parent, enabled_here);
        skip();
    }
    snprintf(max_file, sizeof max_file, "%s/cpu.max", child);
    snprintf(procs, sizeof procs, "%s/cgroup.procs", child);
    int set_rc = write_kernel_file(max_file, "100000 100000");
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    int status = -1;
    if (set_rc == 0 && len > 0) {
        self[len] = '\0';
        fprintf(stderr, "test_cgroup_cpu_max_one_cpu: %s with cpu.max \"100000 100000\"; "
                        "%u CPUs in the mask\n", child, weft__affinity_cpus());
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            /* Into the cgroup ("0" is the writer), then a clean program. */
            if (write_kernel_file(procs, "0") != 0)
                _exit(90);
            execl(self, self, "--expect-workers", "1", (char *)NULL);
            _exit(91);
        }
        if (pid > 0)
            waitpid(pid, &status, 0);
    }
    /* The child is reaped, so the cgroup is empty and can go. */
    int rm = -1;
    for (int i = 0; i < 200 && (rm = rmdir(child)) != 0 && errno == EBUSY; i++)
        usleep(10000);
    cpu_parent_undo(parent, enabled_here);
    assert_int_equal(set_rc, 0);
    assert_true(len > 0);
    assert_int_equal(rm, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--expect-workers") == 0)
        return expect_workers((unsigned)strtoul(argv[2], NULL, 10));
    /* The tests choose WEFT_WORKERS themselves. */
    unsetenv("WEFT_WORKERS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_max_parse),
        cmocka_unit_test(test_cgroup_path_parse),
        cmocka_unit_test(test_workers_env_parse),
        cmocka_unit_test(test_cgroup_limit_from_files),
        cmocka_unit_test(test_hooks_once_per_thread),
        cmocka_unit_test(test_hooks_under_weft_run),
        cmocka_unit_test(test_affinity_limits_workers),
        cmocka_unit_test(test_env_overrides_default),
        cmocka_unit_test(test_env_bad_value_fails_start),
        cmocka_unit_test(test_pin_workers),
        cmocka_unit_test(test_cgroup_cpu_max_one_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
