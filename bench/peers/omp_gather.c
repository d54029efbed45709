/*
 * omp_gather.c - the OpenMP peer of bench_gather (gcc -fopenmp, libgomp):
 * inside `#pragma omp parallel` one thread (`single`) creates N tasks with
 * `#pragma omp task`, each running burn(ITERS, burn_seed(i)) (../burn.h,
 * the same work as weft's children) into slot[i], then `taskwait`s.  The
 * other threads of the team run tasks at the single's closing barrier.
 *
 * The team is started by one untimed parallel region, then one untimed
 * warm-up round runs, then REPS timed rounds, as in bench_gather.  The
 * clock runs inside the single, from before the first task is created to
 * after the taskwait.  Checked after every round with the clock stopped:
 * slot[i] == burn(ITERS, burn_seed(i)) for every i (burn.h's O(1) check).
 *
 * usage: omp_gather N THREADS ITERS [REPS]
 */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../burn.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static unsigned long arg(int argc, char **argv, int i, unsigned long def)
{
    if (i >= argc)
        return def;
    char *end;
    unsigned long v = strtoul(argv[i], &end, 10);
    if (*argv[i] == '\0' || *end != '\0') {
        fprintf(stderr, "%s: bad argument '%s'\n", argv[0], argv[i]);
        exit(2);
    }
    return v;
}

/* One round: N tasks and a taskwait, timed inside the single. */
static double round_once(uint64_t *slot, size_t n, uint64_t iters, int threads)
{
    double wall = 0;
#pragma omp parallel num_threads(threads)
#pragma omp single
    {
        double t0 = burn_now();
        for (size_t i = 0; i < n; i++) {
#pragma omp task firstprivate(i) shared(slot)
            slot[i] = burn(iters, burn_seed(i));
        }
#pragma omp taskwait
        wall = burn_now() - t0;
    }
    return wall;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s N THREADS ITERS [REPS]\n", argv[0]);
        return 2;
    }
    size_t n = arg(argc, argv, 1, 10000);
    int threads = (int)arg(argc, argv, 2, 2);
    uint64_t iters = arg(argc, argv, 3, 0);
    unsigned reps = (unsigned)arg(argc, argv, 4, 1);
    if (n == 0 || threads == 0 || reps == 0) {
        fprintf(stderr, "%s: N, THREADS and REPS must be positive\n", argv[0]);
        return 2;
    }
    uint64_t *slot = malloc(n * sizeof *slot);
    double *wall = malloc(reps * sizeof *wall);
    if (!slot || !wall) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    burn_expect_t ex = burn_expect_init(iters);

    /* One child's work alone, for comparison. */
    double work_ns = 0;
    if (iters > 0) {
        volatile uint64_t sink = 0;
        double w0 = burn_now();
        for (unsigned i = 0; i < 200; i++)
            sink += burn(iters, burn_seed(i));
        work_ns = (burn_now() - w0) * 1e9 / 200;
        (void)sink;
    }

    /* Start the team. */
#pragma omp parallel num_threads(threads)
    {
        volatile int x = omp_get_thread_num();
        (void)x;
    }

    size_t bad = 0;
    for (unsigned k = 0; k <= reps && bad == 0; k++) {
        memset(slot, 0, n * sizeof *slot);
        double w = round_once(slot, n, iters, threads);
        if (k > 0)
            wall[k - 1] = w;
        for (size_t i = 0; i < n; i++) {
            uint64_t want = burn_expect(ex, burn_seed(i));
            if (slot[i] != want && bad++ == 0)
                fprintf(stderr, "omp_gather: child %zu: %llu, want %llu\n", i,
                        (unsigned long long)slot[i], (unsigned long long)want);
        }
    }
    int ok = bad == 0;
    double med = 0;
    if (ok) {
        qsort(wall, reps, sizeof *wall, cmp_double);
        med = reps % 2 ? wall[reps / 2] : (wall[reps / 2 - 1] + wall[reps / 2]) / 2;
    } else {
        fprintf(stderr, "omp_gather: %zu children failed the check\n", bad);
    }
    printf("{\"bench\":\"gather\",\"system\":\"omp\",\"mode\":\"gather\",\"n\":%zu,"
           "\"workers\":%d,\"iters\":%llu,\"work_ns\":%.1f,\"reps\":%u,\"wall_s\":%.6f,"
           "\"per_child_ns\":%.1f,\"check\":\"%s\"}\n",
           n, threads, (unsigned long long)iters, work_ns, reps, med, med * 1e9 / (double)n,
           ok ? "ok" : "FAIL");
    free(wall);
    free(slot);
    return ok ? 0 : 1;
}
