/*
 * burn.h - the calibrated CPU work of the gather workload, shared by
 * bench_gather and its peers (peers/omp_gather.c, peers/serial.c) so that
 * every system runs the same instructions; also the work of a mixed
 * request (mixed.c, checked by echo_load.c --burn) and of a timersbusy
 * slice (timers.c).  The Go peers carry the same loop.  Header-only, no
 * weft.
 *
 * burn(iters, seed) runs iters steps of a 64-bit LCG, x = a*x + c, starting
 * from x = seed.  The empty asm hides x from the compiler at every step, so
 * the loop is neither folded nor vectorised and costs one dependent
 * multiply-add per step (about 1 ns).
 *
 * The check is cheap because the map is affine in the seed: after n steps
 * x = A*seed + B (mod 2^64) with A = a^n and B = burn(n, 0).  So
 * burn_expect_init() runs burn twice (seeds 0 and 1) and burn_expect()
 * gives any child's exact result in O(1): a child that skipped steps or
 * used another seed is caught.
 *
 * burn_calibrate(ns) returns the step count that takes about ns on this
 * machine: the fastest of several timed trials, since on a shared machine
 * interference only ever makes a trial slower.
 */
#ifndef WEFT_BENCH_BURN_H
#define WEFT_BENCH_BURN_H

#include <stdint.h>
#include <time.h>

#define BURN_MUL 6364136223846793005ull
#define BURN_ADD 1442695040888963407ull

__attribute__((noinline)) static uint64_t burn(uint64_t iters, uint64_t seed)
{
    uint64_t x = seed;
    for (uint64_t i = 0; i < iters; i++) {
        x = x * BURN_MUL + BURN_ADD;
        __asm__ volatile("" : "+r"(x));
    }
    return x;
}

/* The affine map that burn(iters, .) is: x -> a*x + b. */
typedef struct burn_expect {
    uint64_t a; /* burn(iters, 1) - burn(iters, 0) */
    uint64_t b; /* burn(iters, 0) */
} burn_expect_t;

static inline burn_expect_t burn_expect_init(uint64_t iters)
{
    burn_expect_t e;
    e.b = burn(iters, 0);
    e.a = burn(iters, 1) - e.b;
    return e;
}

/* What burn(iters, seed) returns, without running it. */
static inline uint64_t burn_expect(burn_expect_t e, uint64_t seed)
{
    return e.a * seed + e.b;
}

/* The seed of child i: its index spread over 64 bits (an odd multiplier,
 * so distinct indexes give distinct seeds). */
static inline uint64_t burn_seed(uint64_t i)
{
    return i * 0x9e3779b97f4a7c15ull + 1;
}

static inline double burn_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Steps for about ns nanoseconds: the fastest of 7 trials of 200,000 steps
 * (about 0.2 ms each), after one untimed trial to raise the clock. */
static inline uint64_t burn_calibrate(double ns)
{
    const uint64_t trial = 200000;
    double best = 1e30;
    volatile uint64_t sink = burn(trial, 0);
    for (int i = 0; i < 7; i++) {
        double t0 = burn_now();
        sink = burn(trial, (uint64_t)i);
        double dt = burn_now() - t0;
        if (dt < best)
            best = dt;
    }
    (void)sink;
    double per_step_ns = best * 1e9 / (double)trial;
    uint64_t iters = (uint64_t)(ns / per_step_ns + 0.5);
    return iters ? iters : 1;
}

#endif /* WEFT_BENCH_BURN_H */
