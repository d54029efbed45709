/*
 * skynet.c - bench_skynet: a 10-ary tree of weft tasks, 6 levels below the
 * root, 1,000,000 leaves; leaf i returns i and every node returns the sum of
 * its children, so the root must return 499999500000.  Each inner node
 * spawns its ten children, then awaits them in spawn order, as one writes
 * it (`for i in 0..9: await(t[i])`); `youngest` awaits them youngest
 * first instead, the order that once suited the scheduler, beside it.  The
 * clock runs inside the main task, from the root spawn to its await.
 *
 * usage: bench_skynet [WORKERS] [spawn|youngest]   (default 2 spawn)
 */
#include "common.h"

#include <stdbool.h>

#define SKYNET_LEAVES 1000000u
#define SKYNET_SUM 499999500000ull

_Static_assert(sizeof(void *) >= 8, "a node packs two 32-bit numbers in its arg");

static bool youngest_first; /* the await order */

/* A node's arguments travel in the arg pointer: num low, size high. */
static void *skynet_arg(uint64_t num, uint64_t size)
{
    return (void *)(uintptr_t)(num | size << 32);
}

static int skynet_task(void *arg, void **result)
{
    uint64_t packed = (uint64_t)(uintptr_t)arg;
    uint64_t num = packed & 0xffffffffu, size = packed >> 32;
    if (size == 1) {
        *result = (void *)(uintptr_t)num;
        return 0;
    }
    weft_task_t *child[10];
    uint64_t sub = size / 10;
    int rc = 0, spawned = 0;
    for (; spawned < 10; spawned++) {
        child[spawned] = weft_spawn(skynet_task, skynet_arg(num + (uint64_t)spawned * sub, sub));
        if (child[spawned] == NULL) {
            rc = weft_last_error();
            break;
        }
    }
    uint64_t sum = 0;
    for (int k = 0; k < spawned; k++) {
        int i = youngest_first ? spawned - 1 - k : k;
        void *r = NULL;
        int rci = weft_await(child[i], &r);
        if (rci != 0 && rc == 0)
            rc = rci;
        sum += (uint64_t)(uintptr_t)r;
        weft_task_release(child[i]);
    }
    *result = (void *)(uintptr_t)sum;
    return rc;
}

typedef struct skynet_run {
    uint64_t result;   /* the root's sum */
    double wall;       /* seconds from root spawn to its completion */
    int rc;            /* the root's code */
    bench_counts_t ct; /* runtime counters over the run */
} skynet_run_t;

static int main_task(void *arg, void **result)
{
    (void)result;
    skynet_run_t *run = arg;
    bench_counts_t before = bench_counts();
    double t0 = bench_now();
    weft_task_t *root = weft_spawn(skynet_task, skynet_arg(0, SKYNET_LEAVES));
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

int main(int argc, char **argv)
{
    unsigned workers = (unsigned)bench_arg(argc, argv, 1, 2);
    youngest_first = argc > 2 && strcmp(argv[2], "youngest") == 0;
    if (argc > 2 && !youngest_first && strcmp(argv[2], "spawn") != 0) {
        fprintf(stderr, "bench_skynet: the order is spawn or youngest, not '%s'\n", argv[2]);
        return 2;
    }
    skynet_run_t run = {0};
    weft_config_t cfg = {.workers = workers};
    int rc = weft_run(&cfg, main_task, &run, NULL);
    if (rc != 0)
        fprintf(stderr, "bench_skynet: weft_run: %s\n", weft_strerror(rc));
    int ok = rc == 0 && run.result == SKYNET_SUM;
    printf("{\"bench\":\"skynet\",\"system\":\"weft\",\"workers\":%u,\"order\":\"%s\","
           "\"wall_s\":%.6f,"
           "\"result\":%llu,\"steals\":%llu,\"inline_awaits\":%llu,\"switches\":%llu,"
           "\"peak_rss_kib\":%ld,\"check\":\"%s\"}\n",
           workers, youngest_first ? "youngest" : "spawn", run.wall, (unsigned long long)run.result,
           (unsigned long long)run.ct.steals, (unsigned long long)run.ct.inline_awaits,
           (unsigned long long)run.ct.switches, bench_rss_peak_kib(), ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
}
