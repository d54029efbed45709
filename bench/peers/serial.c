/*
 * serial.c - the sequential baselines of the fib, skynet and gather
 * workloads: plain C on one thread, no tasks.  Same JSON line as the weft
 * programs, with "system":"serial" and "workers":1.
 *
 * gather: a loop slot[i] = burn(ITERS, burn_seed(i)) for i < N (../burn.h,
 * the work of bench_gather's children); one untimed warm-up round, then
 * REPS timed rounds, the median reported; checked like bench_gather.
 *
 * usage: serial fib N | serial skynet | serial gather N ITERS [REPS]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../burn.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* noinline keeps gcc from turning the recursion into a loop over half of
 * it, which would no longer be one call per fib(n). */
__attribute__((noinline)) static uint64_t fib(unsigned n)
{
    if (n < 2)
        return n;
    return fib(n - 1) + fib(n - 2);
}

__attribute__((noinline)) static uint64_t skynet(uint64_t num, uint64_t size)
{
    if (size == 1)
        return num;
    uint64_t sum = 0, sub = size / 10;
    for (uint64_t i = 0; i < 10; i++)
        sum += skynet(num + i * sub, sub);
    return sum;
}

static uint64_t fib_expected(unsigned n)
{
    uint64_t a = 0, b = 1;
    for (unsigned i = 0; i < n; i++) {
        uint64_t c = a + b;
        a = b;
        b = c;
    }
    return a;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* serial gather N ITERS [REPS] */
static int gather(size_t n, uint64_t iters, unsigned reps)
{
    uint64_t *slot = malloc(n * sizeof *slot);
    double *wall = malloc(reps * sizeof *wall);
    if (!slot || !wall) {
        fprintf(stderr, "serial gather: out of memory\n");
        return 1;
    }
    burn_expect_t ex = burn_expect_init(iters);
    size_t bad = 0;
    for (unsigned k = 0; k <= reps && bad == 0; k++) {
        memset(slot, 0, n * sizeof *slot);
        double t0 = now_s();
        for (size_t i = 0; i < n; i++)
            slot[i] = burn(iters, burn_seed(i));
        double w = now_s() - t0;
        if (k > 0)
            wall[k - 1] = w;
        for (size_t i = 0; i < n; i++)
            if (slot[i] != burn_expect(ex, burn_seed(i)) && bad++ == 0)
                fprintf(stderr, "serial gather: child %zu is wrong\n", i);
    }
    int ok = bad == 0;
    double med = 0;
    if (ok) {
        qsort(wall, reps, sizeof *wall, cmp_double);
        med = reps % 2 ? wall[reps / 2] : (wall[reps / 2 - 1] + wall[reps / 2]) / 2;
    }
    printf("{\"bench\":\"gather\",\"system\":\"serial\",\"mode\":\"gather\",\"n\":%zu,"
           "\"workers\":1,\"iters\":%llu,\"reps\":%u,\"wall_s\":%.6f,\"per_child_ns\":%.1f,"
           "\"check\":\"%s\"}\n",
           n, (unsigned long long)iters, reps, med, med * 1e9 / (double)n, ok ? "ok" : "FAIL");
    free(wall);
    free(slot);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "gather") == 0) {
        size_t n = strtoul(argv[2], NULL, 10);
        uint64_t iters = strtoull(argv[3], NULL, 10);
        unsigned reps = argc >= 5 ? (unsigned)strtoul(argv[4], NULL, 10) : 1;
        if (n == 0 || reps == 0) {
            fprintf(stderr, "serial gather: N and REPS must be positive\n");
            return 2;
        }
        return gather(n, iters, reps);
    }
    if (argc >= 3 && strcmp(argv[1], "fib") == 0) {
        unsigned n = (unsigned)atoi(argv[2]);
        double t0 = now_s();
        uint64_t r = fib(n);
        double wall = now_s() - t0;
        int ok = r == fib_expected(n);
        printf("{\"bench\":\"fib\",\"system\":\"serial\",\"n\":%u,\"workers\":1,"
               "\"wall_s\":%.6f,\"result\":%llu,\"check\":\"%s\"}\n",
               n, wall, (unsigned long long)r, ok ? "ok" : "FAIL");
        return ok ? 0 : 1;
    }
    if (argc >= 2 && strcmp(argv[1], "skynet") == 0) {
        double t0 = now_s();
        uint64_t r = skynet(0, 1000000);
        double wall = now_s() - t0;
        int ok = r == 499999500000ull;
        printf("{\"bench\":\"skynet\",\"system\":\"serial\",\"workers\":1,"
               "\"wall_s\":%.6f,\"result\":%llu,\"check\":\"%s\"}\n",
               wall, (unsigned long long)r, ok ? "ok" : "FAIL");
        return ok ? 0 : 1;
    }
    fprintf(stderr, "usage: %s fib N | %s skynet | %s gather N ITERS [REPS]\n", argv[0],
            argv[0], argv[0]);
    return 2;
}
