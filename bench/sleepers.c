/*
 * sleepers.c - bench_sleepers: N tasks that each weft_sleep(100).  Reports
 * the wall time from the first spawn to the last wake-up, the peak RSS
 * (ru_maxrss) minus the RSS (VmRSS) read just before the first spawn, that
 * difference per task, and how many sleepers had started when the first
 * one woke (about the peak number alive at once, since spawning N tasks
 * can take longer than 100 ms).  For diagnosis it also reports the time
 * the spawn loop took, when the last sleeper began its sleep, and the
 * shortest and longest single sleep.  The main task keeps every handle and
 * awaits them in spawn order; the handle array is allocated and touched
 * before the baseline is read.
 *
 * usage: bench_sleepers [N [WORKERS]]   (defaults 100000 and 2)
 */
#include <stdatomic.h>

#include "common.h"

#define SLEEP_MS 100

typedef struct sleep_run {
    unsigned long n;                 /* sleepers */
    weft_task_t **task;              /* their handles */
    atomic_ulong started;            /* sleepers that have begun to sleep */
    atomic_ulong woken;              /* sleepers that have woken */
    atomic_ulong live_at_first_wake; /* started when the first one woke */
    _Atomic double last_wake;        /* bench_now() of the last wake-up */
    double t0;                       /* bench_now() before the first spawn */
    long rss_base_kib;               /* VmRSS before the first spawn */
    long rss_peak_kib;               /* ru_maxrss after the last await */
    int rc;                          /* first failure seen, else 0 */
    atomic_ulong early;              /* sleepers that woke before SLEEP_MS */
    _Atomic double min_slept;        /* the shortest sleep seen, in seconds */
    _Atomic double max_slept;        /* the longest sleep seen, in seconds */
    double spawned_at;               /* bench_now() after the last spawn */
    _Atomic double last_start;       /* bench_now() of the latest sleep start */
} sleep_run_t;

static int sleeper_task(void *arg, void **result)
{
    (void)result;
    sleep_run_t *run = arg;
    atomic_fetch_add_explicit(&run->started, 1, memory_order_relaxed);
    double slept = bench_now();
    double last = atomic_load_explicit(&run->last_start, memory_order_relaxed);
    while (slept > last && !atomic_compare_exchange_weak_explicit(
                               &run->last_start, &last, slept, memory_order_relaxed,
                               memory_order_relaxed)) {
    }
    int rc = weft_sleep(SLEEP_MS);
    double now = bench_now();
    double took = now - slept;
    if (took < SLEEP_MS * 1e-3)
        atomic_fetch_add_explicit(&run->early, 1, memory_order_relaxed);
    double min = atomic_load_explicit(&run->min_slept, memory_order_relaxed);
    while (took < min && !atomic_compare_exchange_weak_explicit(
                             &run->min_slept, &min, took, memory_order_relaxed,
                             memory_order_relaxed)) {
    }
    double max = atomic_load_explicit(&run->max_slept, memory_order_relaxed);
    while (took > max && !atomic_compare_exchange_weak_explicit(
                             &run->max_slept, &max, took, memory_order_relaxed,
                             memory_order_relaxed)) {
    }
    unsigned long woken = atomic_fetch_add_explicit(&run->woken, 1, memory_order_acq_rel) + 1;
    if (woken == 1)
        atomic_store(&run->live_at_first_wake,
                     atomic_load_explicit(&run->started, memory_order_relaxed));
    if (woken == run->n)
        atomic_store(&run->last_wake, now);
    return rc;
}

static int main_task(void *arg, void **result)
{
    (void)result;
    sleep_run_t *run = arg;
    run->rss_base_kib = bench_rss_now_kib();
    run->t0 = bench_now();
    unsigned long spawned = 0;
    for (; spawned < run->n; spawned++) {
        run->task[spawned] = weft_spawn(sleeper_task, run);
        if (run->task[spawned] == NULL) {
            run->rc = weft_last_error();
            fprintf(stderr, "bench_sleepers: spawn %lu: %s\n", spawned,
                    weft_strerror(run->rc));
            break;
        }
    }
    run->spawned_at = bench_now();
    for (unsigned long i = 0; i < spawned; i++) {
        int rc = weft_await(run->task[i], NULL);
        if (rc != 0 && run->rc == 0)
            run->rc = rc;
        weft_task_release(run->task[i]);
    }
    run->rss_peak_kib = bench_rss_peak_kib();
    return run->rc;
}

int main(int argc, char **argv)
{
    static sleep_run_t run; /* zeroed atomics */
    run.n = bench_arg(argc, argv, 1, 100000);
    atomic_store(&run.min_slept, 1e9);
    unsigned workers = (unsigned)bench_arg(argc, argv, 2, 2);
    run.task = malloc(run.n * sizeof *run.task);
    if (run.task == NULL) {
        fprintf(stderr, "bench_sleepers: out of memory\n");
        return 1;
    }
    memset(run.task, 0, run.n * sizeof *run.task); /* resident before the baseline */
    weft_config_t cfg = {.workers = workers};
    int rc = weft_run(&cfg, main_task, &run, NULL);
    if (rc != 0)
        fprintf(stderr, "bench_sleepers: weft_run: %s\n", weft_strerror(rc));
    unsigned long early = atomic_load(&run.early);
    double min_slept_ms = atomic_load(&run.min_slept) * 1e3;
    double max_slept_ms = atomic_load(&run.max_slept) * 1e3;
    if (early != 0)
        fprintf(stderr, "bench_sleepers: %lu sleepers woke before %d ms (shortest %.3f ms)\n",
                early, SLEEP_MS, min_slept_ms);
    unsigned long woken = atomic_load(&run.woken);
    double wall = woken == run.n ? atomic_load(&run.last_wake) - run.t0 : 0.0;
    long delta = run.rss_peak_kib - run.rss_base_kib;
    unsigned long live = atomic_load(&run.live_at_first_wake);
    int ok = rc == 0 && woken == run.n && early == 0;
    printf("{\"bench\":\"sleepers\",\"system\":\"weft\",\"n\":%lu,\"workers\":%u,"
           "\"wall_s\":%.6f,\"rss_base_kib\":%ld,\"rss_peak_kib\":%ld,\"rss_delta_kib\":%ld,"
           "\"kib_per_task\":%.3f,\"live_at_first_wake\":%lu,\"kib_per_live\":%.3f,"
           "\"spawn_s\":%.6f,\"last_start_s\":%.6f,\"min_sleep_ms\":%.3f,\"max_sleep_ms\":%.3f,\"early\":%lu,\"check\":\"%s\"}\n",
           run.n, workers, wall, run.rss_base_kib, run.rss_peak_kib, delta,
           (double)delta / (double)run.n, live, live ? (double)delta / (double)live : 0.0,
           run.spawned_at - run.t0, atomic_load(&run.last_start) - run.t0, min_slept_ms, max_slept_ms, early,
           ok ? "ok" : "FAIL");
    free(run.task);
    return ok ? 0 : 1;
}
