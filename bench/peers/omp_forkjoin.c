/*
 * omp_forkjoin.c - the OpenMP-tasks peer of the fib and skynet workloads
 * (gcc -fopenmp, libgomp): the same task trees as bench_fib and
 * bench_skynet, every call a task, the parent waiting with taskwait.
 *
 * usage: omp_forkjoin fib N THREADS | omp_forkjoin skynet THREADS
 */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../burn.h" /* burn_now */

static uint64_t fib(unsigned n)
{
    if (n < 2)
        return n;
    uint64_t a, b;
#pragma omp task shared(a)
    a = fib(n - 1);
#pragma omp task shared(b)
    b = fib(n - 2);
#pragma omp taskwait
    return a + b;
}

static uint64_t skynet(uint64_t num, uint64_t size)
{
    if (size == 1)
        return num;
    uint64_t part[10], sub = size / 10;
    for (int i = 0; i < 10; i++) {
#pragma omp task shared(part)
        part[i] = skynet(num + (uint64_t)i * sub, sub);
    }
#pragma omp taskwait
    uint64_t sum = 0;
    for (int i = 0; i < 10; i++)
        sum += part[i];
    return sum;
}

static uint64_t fib_loop(unsigned n)
{
    uint64_t a = 0, b = 1;
    for (unsigned i = 0; i < n; i++) {
        uint64_t t = a + b;
        a = b;
        b = t;
    }
    return a;
}

/* Runs the tree on a team of `threads`, one thread starting it. */
static uint64_t run(int threads, int which, unsigned n, double *wall)
{
    uint64_t r = 0;
#pragma omp parallel num_threads(threads)
    {
#pragma omp single
        {
            double t0 = burn_now();
            r = which == 0 ? fib(n) : skynet(0, 1000000);
            *wall = burn_now() - t0;
        }
    }
    return r;
}

int main(int argc, char **argv)
{
    double wall;
    if (argc == 4 && strcmp(argv[1], "fib") == 0) {
        unsigned n = (unsigned)strtoul(argv[2], NULL, 10);
        int threads = atoi(argv[3]);
        if (n > 60 || threads < 1) {
            fprintf(stderr, "omp_forkjoin: bad arguments\n");
            return 2;
        }
        run(threads, 0, 12, &wall); /* the team exists before the clock starts */
        uint64_t r = run(threads, 0, n, &wall);
        int ok = r == fib_loop(n);
        printf("{\"bench\":\"fib\",\"system\":\"omp\",\"n\":%u,\"workers\":%d,\"wall_s\":%.6f,"
               "\"result\":%llu,\"check\":\"%s\"}\n",
               n, threads, wall, (unsigned long long)r, ok ? "ok" : "FAIL");
        return !ok;
    }
    if (argc == 3 && strcmp(argv[1], "skynet") == 0) {
        int threads = atoi(argv[2]);
        if (threads < 1) {
            fprintf(stderr, "omp_forkjoin: bad arguments\n");
            return 2;
        }
        run(threads, 0, 12, &wall);
        uint64_t r = run(threads, 1, 0, &wall);
        int ok = r == 499999500000ull;
        printf("{\"bench\":\"skynet\",\"system\":\"omp\",\"workers\":%d,\"wall_s\":%.6f,"
               "\"result\":%llu,\"check\":\"%s\"}\n",
               threads, wall, (unsigned long long)r, ok ? "ok" : "FAIL");
        return !ok;
    }
    fprintf(stderr, "usage: %s fib N THREADS | %s skynet THREADS\n", argv[0], argv[0]);
    return 2;
}
