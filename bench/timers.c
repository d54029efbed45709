/*
 * timers.c - bench_timers: N tasks sleep for deadlines spread at random over
 * 1..1000 ms and note how late each wakes (the time from the deadline to
 * the moment the task runs again).  Reports p50, p99 and max lateness in
 * microseconds and how many woke early (must be none: a sleep may end late,
 * never early).  Deadlines come from a fixed hash of the task index, so
 * every system sleeps the same set.
 *
 * usage: bench_timers [N [WORKERS]]   (defaults 100000 and 2)
 */
#include "common.h"

#define SPAN_MS 1000

typedef struct timer_run {
    unsigned long n;
    weft_task_t **task;
    double *late_us;  /* per task: wake-up minus deadline */
    int rc;
} timer_run_t;

static timer_run_t run;

/* The i-th deadline in ms, 1..SPAN_MS (splitmix64 of i). */
static int64_t deadline_ms(uint64_t i)
{
    uint64_t z = i + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return 1 + (int64_t)(z % SPAN_MS);
}

static int timer_task(void *arg, void **result)
{
    (void)result;
    uintptr_t i = (uintptr_t)arg;
    int64_t ms = deadline_ms(i);
    double due = bench_now() + (double)ms * 1e-3;
    int rc = weft_sleep(ms);
    run.late_us[i] = (bench_now() - due) * 1e6;
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    for (unsigned long i = 0; i < run.n; i++) {
        run.task[i] = weft_spawn(timer_task, (void *)(uintptr_t)i);
        if (!run.task[i])
            return weft_last_error();
    }
    int rc = weft_gather(run.task, run.n, NULL, WEFT_RETURN_EXCEPTIONS);
    for (unsigned long i = 0; i < run.n; i++) {
        if (rc == 0 && weft_await(run.task[i], NULL) != 0)
            rc = weft_await(run.task[i], NULL);
        weft_task_release(run.task[i]);
    }
    return rc;
}

int main(int argc, char **argv)
{
    run.n = bench_arg(argc, argv, 1, 100000);
    unsigned workers = (unsigned)bench_arg(argc, argv, 2, 2);
    run.task = calloc(run.n, sizeof *run.task);
    run.late_us = calloc(run.n, sizeof *run.late_us);
    if (!run.task || !run.late_us) {
        fprintf(stderr, "bench_timers: out of memory\n");
        return 1;
    }
    weft_config_t cfg = {.workers = workers};
    double t0 = bench_now();
    int rc = weft_run(&cfg, main_task, NULL, NULL);
    double wall = bench_now() - t0;
    if (rc != 0) {
        fprintf(stderr, "bench_timers: %s\n", weft_strerror(rc));
        return 1;
    }
    unsigned long early = 0;
    for (unsigned long i = 0; i < run.n; i++)
        early += run.late_us[i] < 0;
    qsort(run.late_us, run.n, sizeof *run.late_us, cmp_double);
    double p50 = run.late_us[run.n / 2], p99 = run.late_us[run.n * 99 / 100];
    double max = run.late_us[run.n - 1];
    const char *check = early == 0 ? "ok" : "FAIL";
    printf("{\"bench\":\"timers\",\"system\":\"weft\",\"n\":%lu,\"workers\":%u,"
           "\"wall_s\":%.6f,\"late_p50_us\":%.1f,\"late_p99_us\":%.1f,\"late_max_us\":%.1f,"
           "\"early\":%lu,\"check\":\"%s\"}\n",
           run.n, workers, wall, p50, p99, max, early, check);
    free(run.task);
    free(run.late_us);
    return early == 0 ? 0 : 1;
}
