/*
 * serial.c - the sequential baselines of the fib and skynet workloads:
 * plain C recursion on one thread, no tasks.  Same JSON line as the weft
 * programs, with "system":"serial" and "workers":1.
 *
 * usage: serial fib N | serial skynet
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int main(int argc, char **argv)
{
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
    fprintf(stderr, "usage: %s fib N | %s skynet\n", argv[0], argv[0]);
    return 2;
}
