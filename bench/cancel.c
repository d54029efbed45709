/*
 * cancel.c - bench_cancel: how long a cancel from a foreign thread takes to
 * reach a sleeping task.
 *
 * REPS rounds, one after the other.  In round r the main task spawns a
 * sleeper and lets it run (yielding until it has started); the sleeper
 * notes that it is about to sleep and calls weft_sleep(WEFT_FOREVER).  A
 * plain pthread, not a worker, waits for that note, pauses PAUSE_US more so
 * that the sleep is armed and the workers have gone idle, reads
 * CLOCK_MONOTONIC (t_cancel) and calls weft_cancel on the sleeper.  The
 * sleeper reads the same clock (t_resume) as soon as weft_sleep returns,
 * which must be WEFT_ECANCELED.  Latency = t_resume - t_cancel.  The main
 * task awaits the sleeper, waits until the canceller is out of
 * weft_cancel (the canceller borrows the handle), and releases it.
 *
 * Reports the 50th and 99th percentiles and the maximum of the latency, in
 * microseconds, and, to tell where it goes, the time spent inside
 * weft_cancel itself (call_p50_us, call_p99_us).  Checked: every
 * weft_cancel returned 1, every weft_sleep and every await returned
 * WEFT_ECANCELED, and no latency is negative.  A watchdog thread fails the run (exit status 3, a
 * FAIL line saying where each side stood) if no round moves for STUCK_S
 * seconds, so a lost wake-up shows up at once instead of as a hang.
 *
 * usage: bench_cancel [REPS [WORKERS [PAUSE_US]]]   (defaults 2000, 2, 200)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "common.h"

#define STUCK_S 10.0 /* no progress this long: the watchdog fails the run */

typedef struct cancel_run {
    unsigned long reps;          /* rounds */
    unsigned workers;            /* worker threads */
    unsigned long pause_us;      /* canceller's pause after the sleeper's note */
    double *t_cancel;            /* per round: just before weft_cancel */
    double *t_returned;          /* per round: just after weft_cancel returned */
    double *t_resume;            /* per round: just after weft_sleep returned */
    int *sleep_rc;               /* per round: what weft_sleep returned */
    int *cancel_rc;              /* per round: what weft_cancel returned */
    int *await_rc;               /* per round: what weft_await returned */
    weft_task_t *target;         /* this round's sleeper, for the canceller */
    atomic_ulong round;          /* the round under way (from 1) */
    atomic_ulong published;      /* round whose target is set */
    atomic_ulong asleep;         /* round whose sleeper is about to sleep */
    atomic_ulong cancelled;      /* round whose weft_cancel has returned */
    atomic_int quit;             /* the main task gave up: stop waiting */
    atomic_int finished;         /* weft_run returned: the watchdog leaves */
    int rc;                      /* first failure seen, else 0 */
} cancel_run_t;

static void pause_us(unsigned long us)
{
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000),
                          .tv_nsec = (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static int sleeper_task(void *arg, void **result)
{
    (void)result;
    cancel_run_t *run = arg;
    unsigned long r = atomic_load_explicit(&run->round, memory_order_relaxed);
    /* Release: pairs with the canceller's acquire load of asleep. */
    atomic_store_explicit(&run->asleep, r, memory_order_release);
    int rc = weft_sleep(WEFT_FOREVER);
    run->t_resume[r - 1] = bench_now();
    run->sleep_rc[r - 1] = rc;
    return rc;
}

/* The foreign thread: one cancel per round. */
static void *canceller(void *arg)
{
    cancel_run_t *run = arg;
    for (unsigned long r = 1; r <= run->reps; r++) {
        /* Acquire: pairs with the main task's release of published and the
         * sleeper's of asleep; target is then this round's. */
        while (atomic_load_explicit(&run->published, memory_order_acquire) != r ||
               atomic_load_explicit(&run->asleep, memory_order_acquire) != r) {
            if (atomic_load_explicit(&run->quit, memory_order_relaxed))
                return NULL;
            pause_us(20);
        }
        pause_us(run->pause_us);
        weft_task_t *t = run->target;
        run->t_cancel[r - 1] = bench_now();
        run->cancel_rc[r - 1] = weft_cancel(t);
        run->t_returned[r - 1] = bench_now();
        /* Release: the main task may release t once it sees this. */
        atomic_store_explicit(&run->cancelled, r, memory_order_release);
    }
    return NULL;
}

/* The watchdog thread: fails the run when no counter moves for STUCK_S. */
static void *watchdog(void *arg)
{
    cancel_run_t *run = arg;
    unsigned long last = ~0ul;
    double since = bench_now();
    while (!atomic_load_explicit(&run->finished, memory_order_relaxed)) {
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
        unsigned long r = atomic_load_explicit(&run->round, memory_order_relaxed);
        unsigned long p = atomic_load_explicit(&run->published, memory_order_relaxed);
        unsigned long a = atomic_load_explicit(&run->asleep, memory_order_relaxed);
        unsigned long c = atomic_load_explicit(&run->cancelled, memory_order_relaxed);
        unsigned long now = r + p + a + c;
        if (now != last) {
            last = now;
            since = bench_now();
            continue;
        }
        if (bench_now() - since < STUCK_S)
            continue;
        fprintf(stderr, "bench_cancel: stuck for %.0f s: round %lu, published %lu, "
                "asleep %lu, cancelled %lu\n", STUCK_S, r, p, a, c);
        printf("{\"bench\":\"cancel\",\"system\":\"weft\",\"workers\":%u,\"reps\":%lu,"
               "\"stuck\":\"round %lu, asleep %lu, cancelled %lu\",\"check\":\"FAIL\"}\n",
               run->workers, run->reps, r, a, c);
        fflush(stdout);
        _exit(3);
    }
    return NULL;
}

static int main_task(void *arg, void **result)
{
    (void)result;
    cancel_run_t *run = arg;
    int rc = 0;
    for (unsigned long r = 1; r <= run->reps && rc == 0; r++) {
        atomic_store_explicit(&run->round, r, memory_order_relaxed);
        weft_task_t *t = weft_spawn(sleeper_task, run);
        if (t == NULL) {
            rc = weft_last_error();
            break;
        }
        run->target = t;
        /* Release: publishes target to the canceller. */
        atomic_store_explicit(&run->published, r, memory_order_release);
        /* Let the sleeper start as an ordinary task (not inline under our
         * await) before we await it. */
        while (atomic_load_explicit(&run->asleep, memory_order_acquire) != r)
            weft_yield();
        run->await_rc[r - 1] = weft_await(t, NULL);
        /* The canceller may still be inside weft_cancel (the woken worker
         * often preempts it).  Spin briefly, then sleep: a spinning worker
         * would keep it off the CPU when only one is free. */
        for (int spins = 0;
             atomic_load_explicit(&run->cancelled, memory_order_acquire) != r; spins++) {
            if (spins < 100)
                weft_yield();
            else
                weft_sleep(1);
        }
        weft_task_release(t);
    }
    if (rc != 0)
        atomic_store_explicit(&run->quit, 1, memory_order_relaxed);
    run->rc = rc;
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of sorted v[0..n), nearest rank. */
static double quantile(const double *v, unsigned long n, double q)
{
    unsigned long k = (unsigned long)(q * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

int main(int argc, char **argv)
{
    cancel_run_t run = {
        .reps = bench_arg(argc, argv, 1, 2000),
        .workers = (unsigned)bench_arg(argc, argv, 2, 2),
        .pause_us = bench_arg(argc, argv, 3, 200),
    };
    size_t n = run.reps;
    run.t_cancel = calloc(n, sizeof *run.t_cancel);
    run.t_resume = calloc(n, sizeof *run.t_resume);
    run.t_returned = calloc(n, sizeof *run.t_returned);
    run.sleep_rc = calloc(n, sizeof *run.sleep_rc);
    run.cancel_rc = calloc(n, sizeof *run.cancel_rc);
    run.await_rc = calloc(n, sizeof *run.await_rc);
    double *lat = calloc(n, sizeof *lat);
    double *call = calloc(n, sizeof *call);
    if (!run.t_cancel || !run.t_resume || !run.t_returned || !run.sleep_rc || !run.cancel_rc ||
        !run.await_rc || !lat || !call) {
        fprintf(stderr, "bench_cancel: out of memory\n");
        return 1;
    }

    pthread_t th, dog;
    if (pthread_create(&th, NULL, canceller, &run) != 0 ||
        pthread_create(&dog, NULL, watchdog, &run) != 0) {
        fprintf(stderr, "bench_cancel: pthread_create failed\n");
        return 1;
    }
    weft_config_t cfg = {.workers = run.workers};
    double t0 = bench_now();
    int rc = weft_run(&cfg, main_task, &run, NULL);
    double wall = bench_now() - t0;
    if (rc != 0) {
        fprintf(stderr, "bench_cancel: weft_run: %s\n", weft_strerror(rc));
        atomic_store_explicit(&run.quit, 1, memory_order_relaxed);
    }
    pthread_join(th, NULL);
    atomic_store_explicit(&run.finished, 1, memory_order_relaxed);
    pthread_join(dog, NULL);

    unsigned long bad = 0;
    for (size_t i = 0; i < n; i++) {
        lat[i] = (run.t_resume[i] - run.t_cancel[i]) * 1e6;
        call[i] = (run.t_returned[i] - run.t_cancel[i]) * 1e6;
        int good = run.cancel_rc[i] == 1 && run.sleep_rc[i] == WEFT_ECANCELED &&
                   run.await_rc[i] == WEFT_ECANCELED && lat[i] >= 0;
        if (!good && bad++ < 3)
            fprintf(stderr, "bench_cancel: round %zu: cancel %d, sleep %d, await %d, "
                    "latency %.1f us\n", i + 1, run.cancel_rc[i], run.sleep_rc[i],
                    run.await_rc[i], lat[i]);
    }
    int ok = rc == 0 && bad == 0;
    if (bad)
        fprintf(stderr, "bench_cancel: %lu of %zu rounds failed the check\n", bad, n);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += lat[i];
    qsort(lat, n, sizeof *lat, cmp_double);
    qsort(call, n, sizeof *call, cmp_double);
    printf("{\"bench\":\"cancel\",\"system\":\"weft\",\"workers\":%u,\"reps\":%lu,"
           "\"pause_us\":%lu,\"wall_s\":%.6f,\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,"
           "\"max_us\":%.2f,\"min_us\":%.2f,\"mean_us\":%.2f,\"call_p50_us\":%.2f,"
           "\"call_p99_us\":%.2f,\"check\":\"%s\"}\n",
           run.workers, run.reps, run.pause_us, wall, quantile(lat, n, 0.50),
           quantile(lat, n, 0.90), quantile(lat, n, 0.99), lat[n - 1], lat[0],
           sum / (double)n, quantile(call, n, 0.50), quantile(call, n, 0.99), ok ? "ok" : "FAIL");
    free(call);
    free(lat);
    free(run.await_rc);
    free(run.cancel_rc);
    free(run.sleep_rc);
    free(run.t_returned);
    free(run.t_resume);
    free(run.t_cancel);
    return ok ? 0 : 1;
}
