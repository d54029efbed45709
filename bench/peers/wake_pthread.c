/*
 * wake_pthread.c - the floor under bench_cancel: the same rounds with no
 * runtime, a plain thread blocked in pthread_cond_wait woken by another
 * thread.  It measures what the kernel charges on this machine to wake a
 * sleeping thread, which a parked weft worker pays too.
 *
 * Per round: the sleeper sets an atomic flag and waits on a condition
 * variable; the waker waits for the flag (polling every 20 us), pauses
 * PAUSE_US more, reads CLOCK_MONOTONIC and signals (under the mutex, after
 * setting the predicate); the sleeper reads the clock as soon as it is back
 * from pthread_cond_wait with the predicate set.  Same JSON fields as
 * bench_cancel ("system":"pthread").  Checked: every round woke, no latency
 * is negative.
 *
 * usage: wake_pthread [REPS [PAUSE_US]]   (defaults 2000, 200)
 */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void pause_us(unsigned long us)
{
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000),
                          .tv_nsec = (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

typedef struct wake_run {
    unsigned long reps;     /* rounds */
    unsigned long pause_us; /* waker's pause after the sleeper's flag */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned long go;       /* round the sleeper may leave, under lock */
    atomic_ulong asleep;    /* round whose sleeper is about to wait */
    double *t_wake;         /* per round: just before the signal */
    double *t_resume;       /* per round: just after the wait returned */
} wake_run_t;

static void *sleeper(void *arg)
{
    wake_run_t *run = arg;
    for (unsigned long r = 1; r <= run->reps; r++) {
        pthread_mutex_lock(&run->lock);
        /* Release: pairs with the waker's acquire load. */
        atomic_store_explicit(&run->asleep, r, memory_order_release);
        while (run->go != r)
            pthread_cond_wait(&run->cond, &run->lock);
        run->t_resume[r - 1] = now_s();
        pthread_mutex_unlock(&run->lock);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

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
    wake_run_t run = {
        .reps = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000,
        .pause_us = argc > 2 ? strtoul(argv[2], NULL, 10) : 200,
        .lock = PTHREAD_MUTEX_INITIALIZER,
        .cond = PTHREAD_COND_INITIALIZER,
    };
    unsigned long n = run.reps;
    if (n == 0) {
        fprintf(stderr, "wake_pthread: REPS must be positive\n");
        return 2;
    }
    run.t_wake = calloc(n, sizeof *run.t_wake);
    run.t_resume = calloc(n, sizeof *run.t_resume);
    double *lat = calloc(n, sizeof *lat);
    if (!run.t_wake || !run.t_resume || !lat) {
        fprintf(stderr, "wake_pthread: out of memory\n");
        return 1;
    }
    pthread_t th;
    double t0 = now_s();
    if (pthread_create(&th, NULL, sleeper, &run) != 0) {
        fprintf(stderr, "wake_pthread: pthread_create failed\n");
        return 1;
    }
    for (unsigned long r = 1; r <= n; r++) {
        while (atomic_load_explicit(&run.asleep, memory_order_acquire) != r)
            pause_us(20);
        pause_us(run.pause_us);
        pthread_mutex_lock(&run.lock);
        run.t_wake[r - 1] = now_s();
        run.go = r;
        pthread_cond_signal(&run.cond);
        pthread_mutex_unlock(&run.lock);
    }
    pthread_join(th, NULL);
    double wall = now_s() - t0;
    unsigned long bad = 0;
    double sum = 0;
    for (unsigned long i = 0; i < n; i++) {
        lat[i] = (run.t_resume[i] - run.t_wake[i]) * 1e6;
        bad += !(lat[i] >= 0);
        sum += lat[i];
    }
    qsort(lat, n, sizeof *lat, cmp_double);
    int ok = bad == 0;
    if (!ok)
        fprintf(stderr, "wake_pthread: %lu rounds with a negative latency\n", bad);
    printf("{\"bench\":\"cancel\",\"system\":\"pthread\",\"workers\":1,\"reps\":%lu,"
           "\"pause_us\":%lu,\"wall_s\":%.6f,\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,"
           "\"max_us\":%.2f,\"min_us\":%.2f,\"mean_us\":%.2f,\"check\":\"%s\"}\n",
           n, run.pause_us, wall, quantile(lat, n, 0.50), quantile(lat, n, 0.90),
           quantile(lat, n, 0.99), lat[n - 1], lat[0], sum / (double)n, ok ? "ok" : "FAIL");
    free(lat);
    free(run.t_resume);
    free(run.t_wake);
    return ok ? 0 : 1;
}
