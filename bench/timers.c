/*
 * timers.c - bench_timers: N tasks sleep for deadlines spread at random over
 * 1..1000 ms and note how late each wakes (the time from the deadline to
 * the moment the task runs again).  Reports p50, p99 and max lateness in
 * microseconds and how many woke early (must be none: a sleep may end late,
 * never early).  Deadlines come from a fixed hash of the task index, so
 * every system sleeps the same set.
 *
 * With "busy ITERS" the timers run beside CPU work: before the first timer
 * task the main task starts busy tasks, each looping burn(ITERS) (burn.h;
 * bench/run passes the steps for about 50 us) then weft_yield(), until
 * every worker runs at least one (a started task stays on its worker, so
 * one that starts on a worker loads it to the end; a busy task that lands
 * on a worker already covered stays too, and another is spawned, at most
 * MAX_BUSY_PER_WORKER per worker; start_busy says how they are placed).
 * They stop when the timers are done.  Reported besides: the busy tasks'
 * count, how many workers they cover, and busy_share, the share of the
 * workers' time they burned while the timers ran (slices x work_ns /
 * (WORKERS x that time)).  The run fails its check if the busy tasks do
 * not cover every worker.
 *
 * usage: bench_timers [N [WORKERS [busy ITERS]]]   (defaults 100000 and 2)
 */
#include <pthread.h>
#include <stdatomic.h>

#include "burn.h"
#include "common.h"

#define SPAN_MS 1000
#define MAX_BUSY_PER_WORKER 4
#define BUSY_START_MS 2000 /* a busy task not started after this: fail */

/* One busy task: burns and yields until stop. */
typedef struct busy {
    weft_task_t *task;
    pthread_t thread;        /* the worker it started on (it stays there) */
    atomic_int started;      /* set once thread is written */
    _Atomic uint64_t slices; /* burns done */
    uint64_t sink;           /* the last burn's value, kept from the optimiser */
} busy_t;

typedef struct timer_run {
    unsigned long n;
    weft_task_t **task;
    double *late_us;  /* per task: wake-up minus deadline */
    int rc;
    unsigned workers;
    uint64_t iters;   /* busy: burn steps per slice; 0 = no busy tasks */
    busy_t *busy;     /* MAX_BUSY_PER_WORKER * workers of them */
    unsigned nbusy;   /* busy tasks spawned */
    unsigned covered; /* workers with a busy task */
    atomic_int stop;  /* the busy tasks end */
    double timed_s;   /* from the first timer spawn to the end of the gather */
    uint64_t timed_slices; /* busy slices in that time */
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

static int busy_task(void *arg, void **result)
{
    (void)result;
    busy_t *b = arg;
    /* Read before the first suspension: this is the worker it stays on. */
    b->thread = pthread_self();
    /* Release: publishes thread to the main task's acquire load. */
    atomic_store_explicit(&b->started, 1, memory_order_release);
    uint64_t x = (uint64_t)(b - run.busy);
    while (!atomic_load_explicit(&run.stop, memory_order_relaxed)) {
        x = burn(run.iters, x);
        atomic_fetch_add_explicit(&b->slices, 1, memory_order_relaxed);
        weft_yield();
    }
    b->sink = x;
    return 0;
}

static uint64_t busy_slices(void)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < run.nbusy; i++)
        sum += atomic_load_explicit(&run.busy[i].slices, memory_order_relaxed);
    return sum;
}

/* Spawns busy tasks one at a time until every worker runs one; 0 or a
 * negative code.  While another worker still lacks one, the main task
 * waits for the new task to start without suspending, so that its own
 * worker cannot take it and an idle one steals it; for its own worker,
 * last, it sleeps and lets the task run there. */
static int start_busy(void)
{
    pthread_t seen[WEFT_MAX_WORKERS];
    pthread_t me = pthread_self(); /* the main task stays on this worker */
    int me_covered = 0;
    while (run.covered < run.workers && run.nbusy < MAX_BUSY_PER_WORKER * run.workers) {
        busy_t *b = &run.busy[run.nbusy];
        b->task = weft_spawn(busy_task, b);
        if (!b->task)
            return weft_last_error();
        run.nbusy++;
        if (run.covered + !me_covered < run.workers) {
            double until = bench_now() + BUSY_START_MS * 1e-3;
            while (!atomic_load_explicit(&b->started, memory_order_acquire) &&
                   bench_now() < until)
                ;
        }
        for (int ms = 0; !atomic_load_explicit(&b->started, memory_order_acquire); ms++) {
            if (ms == BUSY_START_MS) {
                fprintf(stderr, "bench_timers: busy task %u not started after %d ms\n",
                        run.nbusy - 1, BUSY_START_MS);
                return WEFT_ETIMEDOUT;
            }
            int rc = weft_sleep(1);
            if (rc != 0)
                return rc;
        }
        unsigned k = 0;
        while (k < run.covered && !pthread_equal(seen[k], b->thread))
            k++;
        if (k == run.covered) {
            seen[run.covered++] = b->thread;
            me_covered = me_covered || pthread_equal(b->thread, me);
        }
    }
    return 0;
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
    int rc = run.iters > 0 ? start_busy() : 0;
    double t0 = bench_now();
    uint64_t s0 = busy_slices();
    for (unsigned long i = 0; rc == 0 && i < run.n; i++) {
        run.task[i] = weft_spawn(timer_task, (void *)(uintptr_t)i);
        if (!run.task[i])
            rc = weft_last_error();
    }
    if (rc == 0)
        rc = weft_gather(run.task, run.n, NULL, WEFT_RETURN_EXCEPTIONS);
    run.timed_s = bench_now() - t0;
    run.timed_slices = busy_slices() - s0;
    for (unsigned long i = 0; i < run.n && run.task[i]; i++) {
        if (rc == 0 && weft_await(run.task[i], NULL) != 0)
            rc = weft_await(run.task[i], NULL);
        weft_task_release(run.task[i]);
    }
    atomic_store_explicit(&run.stop, 1, memory_order_relaxed);
    for (unsigned i = 0; i < run.nbusy; i++) {
        int brc = weft_await(run.busy[i].task, NULL);
        if (rc == 0)
            rc = brc;
        weft_task_release(run.busy[i].task);
    }
    return rc;
}

/* One burn of iters on this thread, in ns: the fastest of three. */
static double burn_ns(uint64_t iters)
{
    double best = 1e30;
    volatile uint64_t sink = 0;
    for (int i = 0; i < 3; i++) {
        double t0 = bench_now();
        sink = burn(iters, (uint64_t)i);
        double dt = bench_now() - t0;
        if (dt < best)
            best = dt;
    }
    (void)sink;
    return best * 1e9;
}

int main(int argc, char **argv)
{
    run.n = bench_arg(argc, argv, 1, 100000);
    unsigned workers = (unsigned)bench_arg(argc, argv, 2, 2);
    if (argc > 3 && (argc != 5 || strcmp(argv[3], "busy") != 0)) {
        fprintf(stderr, "usage: bench_timers [N [WORKERS [busy ITERS]]]\n");
        return 2;
    }
    if (workers > WEFT_MAX_WORKERS) {
        fprintf(stderr, "bench_timers: at most %d workers\n", WEFT_MAX_WORKERS);
        return 2;
    }
    run.workers = workers;
    run.iters = argc > 4 ? bench_arg(argc, argv, 4, 0) : 0;
    double work_ns = run.iters > 0 ? burn_ns(run.iters) : 0;
    run.task = calloc(run.n, sizeof *run.task);
    run.late_us = calloc(run.n, sizeof *run.late_us);
    run.busy = calloc(MAX_BUSY_PER_WORKER * workers, sizeof *run.busy);
    if (!run.task || !run.late_us || !run.busy) {
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
    int ok = early == 0 && (run.iters == 0 || run.covered == workers);
    if (run.iters > 0 && run.covered < workers)
        fprintf(stderr, "bench_timers: %u busy tasks cover %u of %u workers\n", run.nbusy,
                run.covered, workers);
    printf("{\"bench\":\"timers\",\"system\":\"weft\",\"n\":%lu,\"workers\":%u,"
           "\"load\":\"%s\",\"wall_s\":%.6f,\"late_p50_us\":%.1f,\"late_p99_us\":%.1f,"
           "\"late_max_us\":%.1f,\"early\":%lu",
           run.n, workers, run.iters > 0 ? "busy" : "alone", wall, p50, p99, max, early);
    if (run.iters > 0)
        printf(",\"iters\":%llu,\"work_ns\":%.1f,\"busy_tasks\":%u,\"busy_workers\":%u,"
               "\"busy_share\":%.3f",
               (unsigned long long)run.iters, work_ns, run.nbusy, run.covered,
               (double)run.timed_slices * work_ns * 1e-9 / ((double)workers * run.timed_s));
    printf(",\"check\":\"%s\"}\n", ok ? "ok" : "FAIL");
    free(run.task);
    free(run.late_us);
    free(run.busy);
    return ok ? 0 : 1;
}
