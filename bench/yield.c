/*
 * yield.c - bench_yield: two tasks on one worker (cfg.workers = 1) each call
 * weft_yield() N times; ns per switch = wall / (2N), the wall clock running
 * in the main task from the first spawn until both are awaited.  Each
 * yielder also counts the yields after which the other had moved on; with
 * a fair yield that is every one of them but the first and last few, and a
 * run where it falls below half is reported as "check":"FAIL" (a yield
 * that resumes its own caller would measure no switch at all).
 *
 * usage: bench_yield [N]   (default 10000000)
 */
#include "common.h"

typedef struct yielder {
    unsigned long n;             /* yields to do */
    volatile unsigned long done; /* yields done so far */
    volatile unsigned long *peer; /* the other yielder's done */
    unsigned long alternations;  /* yields after which the peer had moved on */
} yielder_t;

static int yield_task(void *arg, void **result)
{
    (void)result;
    yielder_t *y = arg;
    for (unsigned long i = 0; i < y->n; i++) {
        unsigned long seen = *y->peer;
        int rc = weft_yield();
        if (rc != 0)
            return rc;
        y->done = i + 1;
        y->alternations += *y->peer != seen;
    }
    return 0;
}

typedef struct yield_run {
    unsigned long n;   /* yields per task */
    yielder_t y[2];    /* the two yielders */
    double wall;       /* seconds from first spawn to both awaited */
    int rc;            /* first failure seen, else 0 */
    bench_counts_t ct; /* runtime counters over the run */
} yield_run_t;

static int main_task(void *arg, void **result)
{
    (void)result;
    yield_run_t *run = arg;
    run->y[0] = (yielder_t){.n = run->n, .peer = &run->y[1].done};
    run->y[1] = (yielder_t){.n = run->n, .peer = &run->y[0].done};
    bench_counts_t before = bench_counts();
    double t0 = bench_now();
    weft_task_t *a = weft_spawn(yield_task, &run->y[0]);
    weft_task_t *b = weft_spawn(yield_task, &run->y[1]);
    if (a == NULL || b == NULL)
        run->rc = weft_last_error();
    int rca = a != NULL ? weft_await(a, NULL) : 0;
    int rcb = b != NULL ? weft_await(b, NULL) : 0;
    run->wall = bench_now() - t0;
    run->ct = bench_counts_since(before);
    if (a != NULL)
        weft_task_release(a);
    if (b != NULL)
        weft_task_release(b);
    if (run->rc == 0)
        run->rc = rca != 0 ? rca : rcb;
    return run->rc;
}

int main(int argc, char **argv)
{
    yield_run_t run = {.n = bench_arg(argc, argv, 1, 10000000)};
    weft_config_t cfg = {.workers = 1};
    int rc = weft_run(&cfg, main_task, &run, NULL);
    if (rc != 0)
        fprintf(stderr, "bench_yield: weft_run: %s\n", weft_strerror(rc));
    unsigned long alt = run.y[0].alternations + run.y[1].alternations;
    int ok = rc == 0 && run.y[0].done == run.n && run.y[1].done == run.n && alt >= run.n;
    if (rc == 0 && alt < run.n)
        fprintf(stderr, "bench_yield: only %lu of %lu yields let the other task run\n", alt,
                2 * run.n);
    printf("{\"bench\":\"yield\",\"system\":\"weft\",\"workers\":1,\"n\":%lu,\"wall_s\":%.6f,"
           "\"ns_per_switch\":%.3f,\"alternations\":%lu,\"switches\":%llu,\"check\":\"%s\"}\n",
           run.n, run.wall, run.wall * 1e9 / (2.0 * (double)run.n), alt,
           (unsigned long long)run.ct.switches, ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
}
