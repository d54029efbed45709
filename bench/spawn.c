/*
 * spawn.c - bench_spawn: the cost of spawn + await, in two modes.
 *
 *  inline: one task runs PAIRS times {t = weft_spawn(noop); weft_await(t);
 *          weft_task_release(t)}.  No other task exists, so the child is
 *          normally still on the spawner's deque when awaited.  Prints
 *          ns per pair = wall / PAIRS.
 *  stolen: one task runs BATCHES times {spawn 1000 children that each do
 *          WORK_ITERS steps of arithmetic (about 250 ns); await them
 *          youngest first; release them}.  The awaiter takes children from
 *          the bottom of its deque while idle workers steal from the top,
 *          so with two workers about half of them run on the other worker
 *          and their awaits may suspend.  Prints ns per pair = wall /
 *          (BATCHES * 1000), the serial cost of one child's work (work_ns,
 *          timed on the same task without spawning) and how many children
 *          ran on another thread than their spawner (moved, moved_frac).
 *          Only printed when WORKERS >= 2.
 *
 * usage: bench_spawn [WORKERS [PAIRS [BATCHES]]]  (defaults 2, 10000000, 2000)
 */
#include <pthread.h>

#include "common.h"

#define BATCH 1000
#define WORK_ITERS 250

typedef struct spawn_run {
    unsigned long pairs;   /* inline mode: spawn+await pairs */
    unsigned long batches; /* stolen mode: batches of BATCH children */
    unsigned workers;      /* worker threads */
    int rc;                /* first failure seen, else 0 */
} spawn_run_t;

static int noop_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return 0;
}

/* About 250 ns of dependent arithmetic the compiler cannot fold away. */
static uint64_t work(uint64_t x)
{
    for (int i = 0; i < WORK_ITERS; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        __asm__ volatile("" : "+r"(x));
    }
    return x;
}

/* The thread that spawned the current batch; children compare theirs. */
static pthread_t spawner;

/*
 * glibc declares pthread_self() const, so a compiler may reuse one call's
 * value across a suspension, after which the task may be on another
 * thread.  A call through a volatile pointer is made every time.
 */
static pthread_t (*volatile this_thread)(void) = pthread_self;

/* A child's result: its work with the low bit replaced by "ran on another
 * thread than the one that spawned it". */
static int work_task(void *arg, void **result)
{
    uint64_t moved = !pthread_equal(this_thread(), spawner);
    *result = (void *)(uintptr_t)((work((uint64_t)(uintptr_t)arg) & ~1ull) | moved);
    return 0;
}

static void print_line(const char *mode, spawn_run_t *run, unsigned long pairs, double wall,
                       double work_ns, unsigned long moved, bench_counts_t ct, int ok)
{
    printf("{\"bench\":\"spawn\",\"system\":\"weft\",\"mode\":\"%s\",\"workers\":%u,"
           "\"pairs\":%lu,\"wall_s\":%.6f,\"ns_per_pair\":%.3f,\"work_ns\":%.3f,"
           "\"moved\":%lu,\"moved_frac\":%.4f,"
           "\"steals\":%llu,\"injector_pops\":%llu,\"inline_awaits\":%llu,\"switches\":%llu,"
           "\"parks\":%llu,\"check\":\"%s\"}\n",
           mode, run->workers, pairs, wall, wall * 1e9 / (double)pairs, work_ns, moved,
           (double)moved / (double)pairs,
           (unsigned long long)ct.steals, (unsigned long long)ct.injector_pops,
           (unsigned long long)ct.inline_awaits, (unsigned long long)ct.switches,
           (unsigned long long)ct.parks, ok ? "ok" : "FAIL");
    fflush(stdout);
}

static int run_inline(spawn_run_t *run)
{
    bench_counts_t before = bench_counts();
    double t0 = bench_now();
    unsigned long done = 0;
    int rc = 0;
    for (; done < run->pairs; done++) {
        weft_task_t *t = weft_spawn(noop_task, NULL);
        if (t == NULL) {
            rc = weft_last_error();
            break;
        }
        rc = weft_await(t, NULL);
        weft_task_release(t);
        if (rc != 0)
            break;
    }
    double wall = bench_now() - t0;
    bench_counts_t ct = bench_counts_since(before);
    if (rc != 0)
        fprintf(stderr, "bench_spawn inline: %s after %lu pairs\n", weft_strerror(rc), done);
    print_line("inline", run, run->pairs, wall, 0.0, 0, ct, rc == 0);
    return rc;
}

static int run_stolen(spawn_run_t *run)
{
    static weft_task_t *child[BATCH]; /* only the main task uses it */

    /* The serial cost of the children's work, for comparison. */
    uint64_t sink = 0;
    double w0 = bench_now();
    for (unsigned long i = 0; i < run->batches * BATCH; i++)
        sink += work(i) & ~1ull;
    double work_ns = (bench_now() - w0) * 1e9 / (double)(run->batches * BATCH);

    uint64_t sum = 0;
    unsigned long moved = 0;
    int rc = 0;
    bench_counts_t before = bench_counts();
    double t0 = bench_now();
    for (unsigned long b = 0; b < run->batches && rc == 0; b++) {
        int n = 0;
        spawner = this_thread();
        for (; n < BATCH; n++) {
            child[n] = weft_spawn(work_task, (void *)(uintptr_t)(b * BATCH + (unsigned long)n));
            if (child[n] == NULL) {
                rc = weft_last_error();
                break;
            }
        }
        for (int i = n - 1; i >= 0; i--) {
            void *r = NULL;
            int rci = weft_await(child[i], &r);
            if (rci != 0 && rc == 0)
                rc = rci;
            sum += (uint64_t)(uintptr_t)r & ~1ull;
            moved += (uintptr_t)r & 1;
            weft_task_release(child[i]);
        }
    }
    double wall = bench_now() - t0;
    bench_counts_t ct = bench_counts_since(before);
    if (rc != 0)
        fprintf(stderr, "bench_spawn stolen: %s\n", weft_strerror(rc));
    int ok = rc == 0 && sum == sink;
    if (rc == 0 && sum != sink)
        fprintf(stderr, "bench_spawn stolen: children's results do not add up\n");
    print_line("stolen", run, run->batches * BATCH, wall, work_ns, moved, ct, ok);
    return ok ? 0 : -1;
}

static int main_task(void *arg, void **result)
{
    (void)result;
    spawn_run_t *run = arg;
    run->rc = run_inline(run);
    if (run->rc == 0 && run->workers >= 2)
        run->rc = run_stolen(run);
    return run->rc;
}

int main(int argc, char **argv)
{
    spawn_run_t run = {
        .workers = (unsigned)bench_arg(argc, argv, 1, 2),
        .pairs = bench_arg(argc, argv, 2, 10000000),
        .batches = bench_arg(argc, argv, 3, 2000),
    };
    weft_config_t cfg = {.workers = run.workers};
    int rc = weft_run(&cfg, main_task, &run, NULL);
    if (rc != 0) {
        fprintf(stderr, "bench_spawn: weft_run: %s\n", weft_strerror(rc));
        return 1;
    }
    return 0;
}
