/*
 * tbb.cpp - the oneTBB peer of the fib and skynet workloads: the same task
 * trees as bench_fib and bench_skynet, built with tbb::task_group, one task
 * per call and no cutoff.  The thread count is set with tbb::global_control.
 *
 * usage: tbb fib N WORKERS | tbb skynet WORKERS
 */
#include <tbb/global_control.h>
#include <tbb/task_group.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

static double now_s()
{
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

/* Like weft's bench_fib: both calls are tasks, the caller only waits. */
static uint64_t fib(unsigned n)
{
    if (n < 2)
        return n;
    uint64_t a = 0, b = 0;
    tbb::task_group g;
    g.run([&] { a = fib(n - 1); });
    g.run([&] { b = fib(n - 2); });
    g.wait();
    return a + b;
}

/* Like weft's bench_skynet: every node spawns its ten children as tasks. */
static uint64_t skynet(uint64_t num, uint64_t size)
{
    if (size == 1)
        return num;
    uint64_t part[10];
    uint64_t sub = size / 10;
    tbb::task_group g;
    for (uint64_t i = 0; i < 10; i++)
        g.run([&part, i, num, sub] { part[i] = skynet(num + i * sub, sub); });
    g.wait();
    uint64_t sum = 0;
    for (uint64_t i = 0; i < 10; i++)
        sum += part[i];
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

/* TBB starts its threads on first use; do that before the clock starts,
 * as weft's workers are already running when its main task starts. */
static void warm_up()
{
    if (fib(12) != 144)
        std::abort();
}

int main(int argc, char **argv)
{
    if (argc >= 4 && std::strcmp(argv[1], "fib") == 0) {
        unsigned n = (unsigned)std::atoi(argv[2]);
        unsigned workers = (unsigned)std::atoi(argv[3]);
        tbb::global_control gc(tbb::global_control::max_allowed_parallelism, workers);
        warm_up();
        double t0 = now_s();
        uint64_t r = fib(n);
        double wall = now_s() - t0;
        bool ok = r == fib_expected(n);
        std::printf("{\"bench\":\"fib\",\"system\":\"tbb\",\"n\":%u,\"workers\":%u,"
                    "\"wall_s\":%.6f,\"result\":%llu,\"check\":\"%s\"}\n",
                    n, workers, wall, (unsigned long long)r, ok ? "ok" : "FAIL");
        return ok ? 0 : 1;
    }
    if (argc >= 3 && std::strcmp(argv[1], "skynet") == 0) {
        unsigned workers = (unsigned)std::atoi(argv[2]);
        tbb::global_control gc(tbb::global_control::max_allowed_parallelism, workers);
        warm_up();
        double t0 = now_s();
        uint64_t r = skynet(0, 1000000);
        double wall = now_s() - t0;
        bool ok = r == 499999500000ull;
        std::printf("{\"bench\":\"skynet\",\"system\":\"tbb\",\"workers\":%u,"
                    "\"wall_s\":%.6f,\"result\":%llu,\"check\":\"%s\"}\n",
                    workers, wall, (unsigned long long)r, ok ? "ok" : "FAIL");
        return ok ? 0 : 1;
    }
    std::fprintf(stderr, "usage: %s fib N WORKERS | %s skynet WORKERS\n", argv[0], argv[0]);
    return 2;
}
