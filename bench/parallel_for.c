/*
 * parallel_for.c - bench_parallel_for: the sum of N doubles with
 * weft_parallel_for beside the same loop run serially on one thread.
 *
 * The array holds a[i] = (i % 1000) / 2: halves of small integers, so every
 * partial sum is exact and the parallel total must equal the serial one
 * bit for bit, whatever the order.  Both sides call the same sum_range().
 * The array is filled once, untimed.  Each side runs one untimed warm-up
 * round and REPS timed rounds, alternating (serial, weft, serial, ...);
 * the medians are reported, with weft's speed-up over serial.
 *
 * usage: bench_parallel_for [N [WORKERS [GRAIN [REPS]]]]
 *        (defaults 100000000, 2, auto (0) and 5)
 */
#include <pthread.h>

#include "common.h"

typedef struct pf_run {
    const double *a;
    int64_t n;
    int64_t grain;
    unsigned reps;
    pthread_mutex_t lock;       /* guards total: a few bodies per round */
    double total;
    double *serial_wall, *weft_wall;
    double serial_total;
    int ok;
} pf_run_t;

static __attribute__((noinline)) double sum_range(const double *a, int64_t lo, int64_t hi)
{
    double s = 0;
    for (int64_t i = lo; i < hi; i++)
        s += a[i];
    return s;
}

static int sum_body(int64_t lo, int64_t hi, void *arg)
{
    pf_run_t *run = arg;
    double s = sum_range(run->a, lo, hi);
    pthread_mutex_lock(&run->lock);
    run->total += s;
    pthread_mutex_unlock(&run->lock);
    return 0;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int main_task(void *arg, void **result)
{
    (void)result;
    pf_run_t *run = arg;
    for (unsigned r = 0; r <= run->reps; r++) {
        double t0 = bench_now();
        double serial = sum_range(run->a, 0, run->n);
        double t1 = bench_now();
        run->total = 0;
        int rc = weft_parallel_for(0, run->n, run->grain, sum_body, run);
        double t2 = bench_now();
        if (rc != 0 || run->total != serial || serial != run->serial_total)
            run->ok = 0;
        if (r > 0) {
            run->serial_wall[r - 1] = t1 - t0;
            run->weft_wall[r - 1] = t2 - t1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    pf_run_t run = {.n = (int64_t)bench_arg(argc, argv, 1, 100000000), .ok = 1};
    unsigned workers = (unsigned)bench_arg(argc, argv, 2, 2);
    /* GRAIN 0 is "auto"; bench_arg rejects 0, so read it by hand. */
    run.grain = argc > 3 ? strtoll(argv[3], NULL, 10) : 0;
    run.reps = (unsigned)bench_arg(argc, argv, 4, 5);
    pthread_mutex_init(&run.lock, NULL);
    double *a = malloc((size_t)run.n * sizeof *a);
    run.serial_wall = calloc(run.reps, sizeof(double));
    run.weft_wall = calloc(run.reps, sizeof(double));
    if (!a || !run.serial_wall || !run.weft_wall || run.grain < 0) {
        fprintf(stderr, "bench_parallel_for: out of memory or bad grain\n");
        return 1;
    }
    double expect = 0;
    for (int64_t i = 0; i < run.n; i++) {
        a[i] = (double)(i % 1000) / 2;
        expect += a[i];
    }
    run.a = a;
    run.serial_total = expect;
    weft_config_t cfg = {.workers = workers};
    int rc = weft_run(&cfg, main_task, &run, NULL);
    if (rc != 0) {
        fprintf(stderr, "bench_parallel_for: weft_run: %s\n", weft_strerror(rc));
        run.ok = 0;
    }
    double ts = median(run.serial_wall, run.reps), tw = median(run.weft_wall, run.reps);
    const char *check = run.ok ? "ok" : "FAIL";
    printf("{\"bench\":\"parallel_for\",\"system\":\"serial\",\"n\":%lld,\"workers\":1,"
           "\"wall_s\":%.6f,\"ns_per_elem\":%.3f,\"check\":\"%s\"}\n",
           (long long)run.n, ts, ts * 1e9 / (double)run.n, check);
    printf("{\"bench\":\"parallel_for\",\"system\":\"weft\",\"n\":%lld,\"workers\":%u,"
           "\"grain\":%lld,\"wall_s\":%.6f,\"ns_per_elem\":%.3f,\"speedup\":%.2f,"
           "\"check\":\"%s\"}\n",
           (long long)run.n, workers, (long long)run.grain, tw, tw * 1e9 / (double)run.n,
           ts / tw, check);
    free(run.weft_wall);
    free(run.serial_wall);
    free(a);
    pthread_mutex_destroy(&run.lock);
    return run.ok ? 0 : 1;
}
