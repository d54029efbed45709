/*
 * fib.c - bench_fib: fib(n) with one weft task per call and no cutoff.
 * Each call spawns fib(n-1) and fib(n-2), awaits the younger child first
 * (the top of its own deque, so it can run inline), then the elder.
 * The clock runs inside the main task, from the root spawn to its await.
 *
 * usage: bench_fib [N [WORKERS]]   (defaults 30 and 2)
 */
#include "common.h"

typedef struct fib_run {
    unsigned n;        /* fib(n) to compute */
    uint64_t result;   /* what the tree returned */
    double wall;       /* seconds from root spawn to its completion */
    int rc;            /* first failure seen, else 0 */
    bench_counts_t ct; /* runtime counters over the run */
} fib_run_t;

static int fib_task(void *arg, void **result)
{
    uintptr_t n = (uintptr_t)arg;
    if (n < 2) {
        *result = (void *)n;
        return 0;
    }
    weft_task_t *a = weft_spawn(fib_task, (void *)(n - 1));
    if (a == NULL)
        return weft_last_error();
    weft_task_t *b = weft_spawn(fib_task, (void *)(n - 2));
    if (b == NULL) {
        int rc = weft_last_error();
        weft_await(a, NULL);
        weft_task_release(a);
        return rc;
    }
    void *ra = NULL, *rb = NULL;
    int rcb = weft_await(b, &rb);
    int rca = weft_await(a, &ra);
    weft_task_release(b);
    weft_task_release(a);
    *result = (void *)((uintptr_t)ra + (uintptr_t)rb);
    return rca != 0 ? rca : rcb;
}

static int main_task(void *arg, void **result)
{
    (void)result;
    fib_run_t *run = arg;
    bench_counts_t before = bench_counts();
    double t0 = bench_now();
    weft_task_t *root = weft_spawn(fib_task, (void *)(uintptr_t)run->n);
    if (root == NULL)
        return run->rc = weft_last_error();
    void *r = NULL;
    run->rc = weft_await(root, &r);
    run->wall = bench_now() - t0;
    run->ct = bench_counts_since(before);
    weft_task_release(root);
    run->result = (uint64_t)(uintptr_t)r;
    return run->rc;
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
    fib_run_t run = {.n = (unsigned)bench_arg(argc, argv, 1, 30)};
    unsigned workers = (unsigned)bench_arg(argc, argv, 2, 2);
    if (run.n > 60) {
        fprintf(stderr, "bench_fib: n must be at most 60\n");
        return 2;
    }
    weft_config_t cfg = {.workers = workers};
    int rc = weft_run(&cfg, main_task, &run, NULL);
    if (rc != 0)
        fprintf(stderr, "bench_fib: weft_run: %s\n", weft_strerror(rc));
    int ok = rc == 0 && run.result == fib_expected(run.n);
    printf("{\"bench\":\"fib\",\"system\":\"weft\",\"n\":%u,\"workers\":%u,"
           "\"wall_s\":%.6f,\"result\":%llu,\"steals\":%llu,\"inline_awaits\":%llu,"
           "\"switches\":%llu,\"peak_rss_kib\":%ld,\"check\":\"%s\"}\n",
           run.n, workers, run.wall, (unsigned long long)run.result,
           (unsigned long long)run.ct.steals, (unsigned long long)run.ct.inline_awaits,
           (unsigned long long)run.ct.switches, bench_rss_peak_kib(), ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
}
