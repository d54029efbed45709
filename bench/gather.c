/*
 * gather.c - bench_gather: fan-out and fan-in.  One task spawns N children,
 * then collects them with one combinator call:
 *
 *  gather: weft_gather(tasks, N, outcomes, 0), results in input order;
 *  wait:   weft_wait(tasks, N, WEFT_FOREVER, WEFT_ALL_COMPLETED).
 *
 * Each child i runs burn(ITERS, burn_seed(i)) (burn.h: a calibrated loop,
 * the same in the OpenMP and serial peers), stores the value in slot[i] and
 * returns it as its result.  ITERS = 0 gives trivial children, which
 * measure the runtime's cost per child alone.
 *
 * A round: clock; spawn N; the combinator; release N; clock.  The program
 * runs one untimed warm-up round, then REPS timed rounds, and reports the
 * median round (wall_s, per_child_ns = wall / N) and the medians of its
 * three parts (spawn, collect, release).  Checked after every round, with
 * the clock stopped: every child finished with 0, its outcome (gather) and
 * its slot hold exactly burn(ITERS, burn_seed(i)) (computed in O(1), see
 * burn.h), and weft_wait reported all N done.
 *
 * A watchdog thread ends the program (exit status 3, a FAIL line) if no
 * round makes progress for STUCK_S seconds, saying in which phase and how
 * many children had finished: a lost task shows up as a quick failure
 * rather than a hang until bench/run's time limit.
 *
 * usage: bench_gather [N [WORKERS [ITERS [MODE [REPS]]]]]
 *          N        children per round (default 10000)
 *          WORKERS  worker threads (default 2)
 *          ITERS    burn steps per child; "auto" (default) calibrates
 *                   for 10 us; 0 = trivial children
 *          MODE     gather (default) or wait
 *          REPS     timed rounds (default 1)
 *        bench_gather calibrate [NS]
 *          prints the burn steps for NS nanoseconds (default 10000) as a
 *          bare number: bench/run passes it to every system.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "burn.h"
#include "common.h"

#define DEFAULT_CHILD_NS 10000.0
#define STUCK_S 10.0 /* no progress this long: the watchdog fails the run */

enum gather_mode { MODE_GATHER, MODE_WAIT };

typedef struct gather_run {
    size_t n;                  /* children per round */
    unsigned workers;          /* worker threads */
    uint64_t iters;            /* burn steps per child */
    enum gather_mode mode;     /* which combinator collects them */
    unsigned reps;             /* timed rounds */
    weft_task_t **task;        /* the children's handles */
    weft_outcome_t *outcome;   /* weft_gather's outcomes */
    double *wall;              /* per timed round: seconds, whole round */
    double *spawn;             /* per timed round: the spawn loop */
    double *collect;           /* per timed round: the combinator */
    double *release;           /* per timed round: the release loop */
    double work_ns;            /* one child's burn, timed serially */
    bench_counts_t ct;         /* runtime counters over the timed rounds */
    int rc;                    /* first failure seen, else 0 */
    int ok;                    /* every round passed its check */
} gather_run_t;

/* Read by the children; set before weft_run. */
static uint64_t child_iters;
static uint64_t *slot;

/* What the watchdog watches: the main task moves phase on (release) at
 * each step of each round; spawned says how many handles are set. */
enum { PHASE_SETUP, PHASE_SPAWN, PHASE_COLLECT, PHASE_RELEASE, PHASE_DONE };
static const char *const phase_name[] = {"setup", "spawn", "collect", "release", "done"};
static atomic_ulong progress; /* phase changes so far */
static atomic_int phase;
static atomic_size_t spawned_now;
static atomic_uint round_now;

static int child_task(void *arg, void **result)
{
    uintptr_t i = (uintptr_t)arg;
    uint64_t r = burn(child_iters, burn_seed(i));
    slot[i] = r;
    *result = (void *)(uintptr_t)r;
    return 0;
}

static void set_phase(int p)
{
    /* Release: pairs with the watchdog's acquire load of progress. */
    atomic_store_explicit(&phase, p, memory_order_relaxed);
    atomic_fetch_add_explicit(&progress, 1, memory_order_release);
}

/* The watchdog thread: fails the run when nothing moves for STUCK_S. */
static void *watchdog(void *arg)
{
    gather_run_t *run = arg;
    unsigned long last = atomic_load_explicit(&progress, memory_order_acquire);
    double since = bench_now();
    for (;;) {
        usleep(100000);
        unsigned long now = atomic_load_explicit(&progress, memory_order_acquire);
        int p = atomic_load_explicit(&phase, memory_order_relaxed);
        if (p == PHASE_DONE)
            return NULL;
        if (now != last) {
            last = now;
            since = bench_now();
            continue;
        }
        if (bench_now() - since < STUCK_S)
            continue;
        size_t spawned = atomic_load_explicit(&spawned_now, memory_order_acquire), done = 0;
        if (p == PHASE_COLLECT)
            for (size_t i = 0; i < spawned; i++)
                done += weft_task_done(run->task[i]) != 0;
        fprintf(stderr, "bench_gather: stuck for %.0f s in round %u, phase %s: "
                "%zu of %zu children done\n", STUCK_S,
                atomic_load_explicit(&round_now, memory_order_relaxed), phase_name[p], done,
                spawned);
        printf("{\"bench\":\"gather\",\"system\":\"weft\",\"mode\":\"%s\",\"n\":%zu,"
               "\"workers\":%u,\"stuck\":\"%s\",\"done\":%zu,\"check\":\"FAIL\"}\n",
               run->mode == MODE_GATHER ? "gather" : "wait", run->n, run->workers,
               phase_name[p], done);
        fflush(stdout);
        _exit(3);
    }
}

/* One round; stores its times in the run's arrays at k when timed. */
static int round_once(gather_run_t *run, int timed, unsigned k, burn_expect_t ex)
{
    size_t n = run->n, spawned = 0;
    int rc = 0;
    memset(slot, 0, n * sizeof *slot);
    memset(run->outcome, 0, n * sizeof *run->outcome);
    set_phase(PHASE_SPAWN);

    double t0 = bench_now();
    for (; spawned < n; spawned++) {
        run->task[spawned] = weft_spawn(child_task, (void *)(uintptr_t)spawned);
        if (run->task[spawned] == NULL) {
            rc = weft_last_error();
            break;
        }
    }
    double t1 = bench_now();
    /* Release: the watchdog may read the handles once it sees this. */
    atomic_store_explicit(&spawned_now, spawned, memory_order_release);
    set_phase(PHASE_COLLECT);
    int got = 0;
    if (spawned > 0) {
        if (run->mode == MODE_GATHER)
            got = weft_gather(run->task, spawned, run->outcome, 0);
        else
            got = weft_wait(run->task, spawned, WEFT_FOREVER, WEFT_ALL_COMPLETED);
    }
    double t2 = bench_now();
    /* weft_wait moves the done tasks to the front, each part in input
     * order: with all of them done the order is unchanged, so the handles
     * can be checked against their index before they are released. */
    int done_ok = 1;
    for (size_t i = 0; i < spawned; i++)
        done_ok &= weft_task_done(run->task[i]);
    set_phase(PHASE_RELEASE);
    double t3 = bench_now();
    for (size_t i = 0; i < spawned; i++)
        weft_task_release(run->task[i]);
    double t4 = bench_now();
    set_phase(PHASE_SETUP);

    if (rc != 0) {
        fprintf(stderr, "bench_gather: spawn %zu of %zu: %s\n", spawned, n, weft_strerror(rc));
        return rc;
    }
    if (run->mode == MODE_GATHER && got != 0) {
        fprintf(stderr, "bench_gather: weft_gather: %s\n", weft_strerror(got));
        return got;
    }
    if (run->mode == MODE_WAIT && got != (int)n) {
        fprintf(stderr, "bench_gather: weft_wait returned %d, not %zu\n", got, n);
        return got < 0 ? got : -1;
    }
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t want = burn_expect(ex, burn_seed(i));
        int good = slot[i] == want;
        if (run->mode == MODE_GATHER)
            good &= run->outcome[i].rc == 0 &&
                    (uint64_t)(uintptr_t)run->outcome[i].result == want;
        if (!good && bad++ == 0)
            fprintf(stderr, "bench_gather: child %zu: slot %llu, outcome %d/%llu, want %llu\n",
                    i, (unsigned long long)slot[i], run->outcome[i].rc,
                    (unsigned long long)(uintptr_t)run->outcome[i].result,
                    (unsigned long long)want);
    }
    if (!done_ok) {
        fprintf(stderr, "bench_gather: a task was not done after the combinator\n");
        bad++;
    }
    if (bad) {
        fprintf(stderr, "bench_gather: %zu children failed the check\n", bad);
        return -1;
    }
    if (timed) {
        /* The done check (t2..t3) is not part of the round. */
        run->spawn[k] = t1 - t0;
        run->collect[k] = t2 - t1;
        run->release[k] = t4 - t3;
        run->wall[k] = (t1 - t0) + (t2 - t1) + (t4 - t3);
    }
    return 0;
}

static int main_task(void *arg, void **result)
{
    (void)result;
    gather_run_t *run = arg;
    burn_expect_t ex = burn_expect_init(run->iters);

    /* One child's work alone, on this task, for comparison. */
    if (run->iters > 0) {
        const unsigned probes = 200;
        volatile uint64_t sink = 0;
        double w0 = bench_now();
        for (unsigned i = 0; i < probes; i++)
            sink += burn(run->iters, burn_seed(i));
        run->work_ns = (bench_now() - w0) * 1e9 / probes;
        (void)sink;
    }

    int rc = round_once(run, 0, 0, ex);
    bench_counts_t before = bench_counts();
    for (unsigned k = 0; rc == 0 && k < run->reps; k++) {
        atomic_store_explicit(&round_now, k + 1, memory_order_relaxed);
        rc = round_once(run, 1, k, ex);
    }
    run->ct = bench_counts_since(before);
    run->rc = rc;
    run->ok = rc == 0;
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n); sorts v. */
static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint64_t parse_iters(const char *s, const char *prog)
{
    if (strcmp(s, "auto") == 0)
        return burn_calibrate(DEFAULT_CHILD_NS);
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == '\0' || *end != '\0') {
        fprintf(stderr, "%s: bad ITERS '%s' (a number or auto)\n", prog, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "calibrate") == 0) {
        double ns = (double)bench_arg(argc, argv, 2, (unsigned long)DEFAULT_CHILD_NS);
        printf("%llu\n", (unsigned long long)burn_calibrate(ns));
        return 0;
    }
    gather_run_t run = {
        .n = bench_arg(argc, argv, 1, 10000),
        .workers = (unsigned)bench_arg(argc, argv, 2, 2),
        .mode = MODE_GATHER,
    };
    run.iters = parse_iters(argc > 3 ? argv[3] : "auto", argv[0]);
    if (argc > 4 && strcmp(argv[4], "wait") == 0)
        run.mode = MODE_WAIT;
    else if (argc > 4 && strcmp(argv[4], "gather") != 0) {
        fprintf(stderr, "%s: MODE must be gather or wait\n", argv[0]);
        return 2;
    }
    run.reps = (unsigned)bench_arg(argc, argv, 5, 1);
    if (run.n > (size_t)INT32_MAX) {
        fprintf(stderr, "%s: N too large\n", argv[0]);
        return 2;
    }

    run.task = malloc(run.n * sizeof *run.task);
    run.outcome = malloc(run.n * sizeof *run.outcome);
    slot = malloc(run.n * sizeof *slot);
    double *times = malloc(4 * (size_t)run.reps * sizeof *times);
    if (!run.task || !run.outcome || !slot || !times) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    run.wall = times;
    run.spawn = times + run.reps;
    run.collect = times + 2 * (size_t)run.reps;
    run.release = times + 3 * (size_t)run.reps;
    child_iters = run.iters;

    pthread_t dog;
    if (pthread_create(&dog, NULL, watchdog, &run) != 0) {
        fprintf(stderr, "%s: pthread_create failed\n", argv[0]);
        return 1;
    }
    weft_config_t cfg = {.workers = run.workers};
    int rc = weft_run(&cfg, main_task, &run, NULL);
    set_phase(PHASE_DONE);
    pthread_join(dog, NULL);
    if (rc != 0)
        fprintf(stderr, "bench_gather: weft_run: %s\n", weft_strerror(rc));
    int ok = rc == 0 && run.ok;
    double wall = 0, spawn = 0, collect = 0, release = 0;
    if (ok) {
        wall = median(run.wall, run.reps);
        spawn = median(run.spawn, run.reps);
        collect = median(run.collect, run.reps);
        release = median(run.release, run.reps);
    }
    double per = 1e9 / (double)run.n;
    printf("{\"bench\":\"gather\",\"system\":\"weft\",\"mode\":\"%s\",\"n\":%zu,\"workers\":%u,"
           "\"iters\":%llu,\"work_ns\":%.1f,\"reps\":%u,\"wall_s\":%.6f,\"per_child_ns\":%.1f,"
           "\"spawn_ns\":%.1f,\"collect_ns\":%.1f,\"release_ns\":%.1f,"
           "\"steals\":%llu,\"injector_pops\":%llu,\"switches\":%llu,\"parks\":%llu,"
           "\"check\":\"%s\"}\n",
           run.mode == MODE_GATHER ? "gather" : "wait", run.n, run.workers,
           (unsigned long long)run.iters, run.work_ns, run.reps, wall, wall * per,
           spawn * per, collect * per, release * per,
           (unsigned long long)(run.ct.steals / run.reps),
           (unsigned long long)(run.ct.injector_pops / run.reps),
           (unsigned long long)(run.ct.switches / run.reps),
           (unsigned long long)(run.ct.parks / run.reps), ok ? "ok" : "FAIL");
    free(times);
    free(slot);
    free(run.outcome);
    free(run.task);
    return ok ? 0 : 1;
}
