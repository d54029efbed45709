/*
 * blocking.c - bench_blocking: what one weft_run_blocking call costs, round
 * trip task -> I/O thread -> libuv's pool -> I/O thread -> task, with a
 * function that does nothing.
 *
 *  serial:     one task makes CALLS calls one after another: the latency
 *              of one call (every hop is a thread wake-up);
 *  concurrent: TASKS tasks share CALLS calls: the cost per call when many
 *              are in flight and hops are batched;
 *  pthread:    the floor: a plain thread hands CALLS jobs one at a time to
 *              another thread through a mutex and condition variables and
 *              waits for each (two wake-ups per job, no I/O thread).
 *
 * Each mode runs one untimed warm-up round and REPS timed rounds; the
 * median round is reported as ns_per_call.
 *
 * usage: bench_blocking [CALLS [WORKERS [TASKS [REPS]]]]
 *        (defaults 20000, 2, 64 and 5)
 */
#include <pthread.h>
#include <stdatomic.h>

#include "common.h"

typedef struct blk_run {
    unsigned long calls;        /* calls per round */
    unsigned tasks;             /* concurrent mode: tasks in flight */
    atomic_ulong done;          /* calls whose result came back right */
    int rc;                     /* the first failure, else 0 */
} blk_run_t;

static int nothing(void *arg, void **result)
{
    *result = arg;
    return 0;
}

/* Makes n calls; counts those that returned their argument. */
static int caller(blk_run_t *run, unsigned long n)
{
    for (unsigned long i = 0; i < n; i++) {
        void *r = NULL;
        int rc = weft_run_blocking(nothing, (void *)(uintptr_t)(i + 1), &r);
        if (rc != 0)
            return rc;
        if (r == (void *)(uintptr_t)(i + 1))
            atomic_fetch_add_explicit(&run->done, 1, memory_order_relaxed);
    }
    return 0;
}

typedef struct blk_part {
    blk_run_t *run;
    unsigned long n;
} blk_part_t;

static int part_task(void *arg, void **result)
{
    (void)result;
    blk_part_t *p = arg;
    return caller(p->run, p->n);
}

static int serial_round(void *arg, void **result)
{
    (void)result;
    blk_run_t *run = arg;
    return caller(run, run->calls);
}

static int concurrent_round(void *arg, void **result)
{
    (void)result;
    blk_run_t *run = arg;
    unsigned n = run->tasks;
    blk_part_t *parts = calloc(n, sizeof *parts);
    weft_task_t **tasks = calloc(n, sizeof *tasks);
    int rc = WEFT_ENOMEM;
    if (!parts || !tasks)
        goto out;
    rc = 0;
    for (unsigned i = 0; i < n; i++) {
        parts[i].run = run;
        parts[i].n = run->calls / n + (i < run->calls % n);
        tasks[i] = weft_spawn(part_task, &parts[i]);
        if (!tasks[i] && rc == 0)
            rc = weft_last_error();
    }
    for (unsigned i = 0; i < n; i++) {
        if (!tasks[i])
            continue;
        int r = weft_await(tasks[i], NULL);
        if (r != 0 && rc == 0)
            rc = r;
        weft_task_release(tasks[i]);
    }
out:
    free(tasks);
    free(parts);
    return rc;
}

/* ---- the pthread floor ------------------------------------------------------ */

typedef struct handoff {
    pthread_mutex_t lock;
    pthread_cond_t to_worker, to_caller;
    unsigned long posted, taken; /* jobs handed over and finished */
    void *arg, *result;
    int quit;
} handoff_t;

static void *handoff_worker(void *p)
{
    handoff_t *h = p;
    pthread_mutex_lock(&h->lock);
    for (;;) {
        while (h->posted == h->taken && !h->quit)
            pthread_cond_wait(&h->to_worker, &h->lock);
        if (h->posted == h->taken)
            break;
        nothing(h->arg, &h->result);
        h->taken++;
        pthread_cond_signal(&h->to_caller);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

static unsigned long handoff_round(handoff_t *h, unsigned long calls)
{
    unsigned long ok = 0;
    pthread_mutex_lock(&h->lock);
    for (unsigned long i = 0; i < calls; i++) {
        h->arg = (void *)(uintptr_t)(i + 1);
        h->posted++;
        pthread_cond_signal(&h->to_worker);
        while (h->taken != h->posted)
            pthread_cond_wait(&h->to_caller, &h->lock);
        ok += h->result == (void *)(uintptr_t)(i + 1);
    }
    pthread_mutex_unlock(&h->lock);
    return ok;
}

/* ---- driver ------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void report(const char *system, const char *mode, unsigned long calls, unsigned workers,
                   unsigned tasks, double wall, int ok)
{
    printf("{\"bench\":\"blocking\",\"system\":\"%s\",\"mode\":\"%s\",\"calls\":%lu,"
           "\"workers\":%u,\"tasks\":%u,\"wall_s\":%.6f,\"ns_per_call\":%.1f,"
           "\"check\":\"%s\"}\n",
           system, mode, calls, workers, tasks, wall, wall * 1e9 / (double)calls,
           ok ? "ok" : "FAIL");
}

/* Runs one weft mode: a warm-up round, then reps timed ones. */
static int run_weft(weft_sched_t *s, weft_fn round, blk_run_t *run, unsigned reps,
                    double *wall)
{
    int ok = 1;
    for (unsigned r = 0; r <= reps; r++) {
        atomic_store(&run->done, 0);
        double t0 = bench_now();
        weft_task_t *t = weft_submit(s, round, run);
        int rc = t ? weft_block_on(t, NULL) : weft_last_error();
        double dt = bench_now() - t0;
        weft_task_release(t);
        if (rc != 0 || atomic_load(&run->done) != run->calls) {
            fprintf(stderr, "bench_blocking: round failed: %s\n", weft_strerror(rc));
            ok = 0;
        }
        if (r > 0)
            wall[r - 1] = dt;
    }
    return ok;
}

int main(int argc, char **argv)
{
    blk_run_t run = {.calls = bench_arg(argc, argv, 1, 20000)};
    unsigned workers = (unsigned)bench_arg(argc, argv, 2, 2);
    run.tasks = (unsigned)bench_arg(argc, argv, 3, 64);
    unsigned reps = (unsigned)bench_arg(argc, argv, 4, 5);
    double *wall = calloc(reps, sizeof *wall);
    if (!wall)
        return 1;
    int all_ok = 1;

    weft_config_t cfg = {.workers = workers};
    weft_sched_t *s = weft_start(&cfg);
    if (!s) {
        fprintf(stderr, "bench_blocking: weft_start: %s\n", weft_strerror(weft_last_error()));
        return 1;
    }
    int ok = run_weft(s, serial_round, &run, reps, wall);
    report("weft", "serial", run.calls, workers, 1, median(wall, reps), ok);
    all_ok &= ok;
    ok = run_weft(s, concurrent_round, &run, reps, wall);
    report("weft", "concurrent", run.calls, workers, run.tasks, median(wall, reps), ok);
    all_ok &= ok;
    weft_stop(s);

    handoff_t h = {.lock = PTHREAD_MUTEX_INITIALIZER,
                   .to_worker = PTHREAD_COND_INITIALIZER,
                   .to_caller = PTHREAD_COND_INITIALIZER};
    pthread_t th;
    if (pthread_create(&th, NULL, handoff_worker, &h) != 0)
        return 1;
    ok = 1;
    for (unsigned r = 0; r <= reps; r++) {
        double t0 = bench_now();
        unsigned long got = handoff_round(&h, run.calls);
        double dt = bench_now() - t0;
        ok &= got == run.calls;
        if (r > 0)
            wall[r - 1] = dt;
    }
    pthread_mutex_lock(&h.lock);
    h.quit = 1;
    pthread_cond_signal(&h.to_worker);
    pthread_mutex_unlock(&h.lock);
    pthread_join(th, NULL);
    report("pthread", "serial", run.calls, 0, 1, median(wall, reps), ok);
    all_ok &= ok;
    free(wall);
    return all_ok ? 0 : 1;
}
