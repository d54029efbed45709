/*
 * pingpong.c - bench_pingpong: a token bounced N times between two tasks
 * through two unbuffered channels.  The main task sends i on `ping` and
 * receives on `pong`; the other task receives on `ping` and sends the
 * token plus one back on `pong`.  ns per round trip = wall / N, the clock
 * running in the main task from the first send to the last receive.
 * Checked: every reply is the token sent plus one, the bouncer saw N
 * tokens, and both tasks end cleanly (the bouncer on the closed channel).
 *
 * usage: bench_pingpong [N [WORKERS]]   (defaults 1000000 and 1)
 */
#include "common.h"

#include <stdint.h>

typedef struct pingpong {
    unsigned long n;     /* round trips */
    weft_chan_t *ping;   /* main -> bouncer */
    weft_chan_t *pong;   /* bouncer -> main */
    unsigned long seen;  /* tokens the bouncer received */
    unsigned long bad;   /* replies that were not token + 1 */
    double wall;         /* seconds for the N round trips */
    int rc;              /* first failure, else 0 */
    bench_counts_t ct;   /* runtime counters over the timed part */
} pingpong_t;

static int bouncer(void *arg, void **result)
{
    (void)result;
    pingpong_t *p = arg;
    for (;;) {
        void *token;
        int rc = weft_chan_recv(p->ping, &token);
        if (rc == WEFT_ECLOSED)
            return 0;
        if (rc != 0)
            return rc;
        p->seen++;
        rc = weft_chan_send(p->pong, (void *)((uintptr_t)token + 1));
        if (rc != 0)
            return rc;
    }
}

static int main_task(void *arg, void **result)
{
    (void)result;
    pingpong_t *p = arg;
    weft_task_t *b = weft_spawn(bouncer, p);
    if (b == NULL)
        return weft_last_error();
    bench_counts_t before = bench_counts();
    double t0 = bench_now();
    for (unsigned long i = 0; i < p->n && p->rc == 0; i++) {
        void *reply = NULL;
        p->rc = weft_chan_send(p->ping, (void *)(uintptr_t)i);
        if (p->rc == 0)
            p->rc = weft_chan_recv(p->pong, &reply);
        p->bad += p->rc == 0 && (uintptr_t)reply != i + 1;
    }
    p->wall = bench_now() - t0;
    p->ct = bench_counts_since(before);
    weft_chan_close(p->ping);
    int rcb = weft_await(b, NULL);
    weft_task_release(b);
    if (p->rc == 0)
        p->rc = rcb;
    return p->rc;
}

int main(int argc, char **argv)
{
    pingpong_t p = {.n = bench_arg(argc, argv, 1, 1000000)};
    unsigned workers = (unsigned)bench_arg(argc, argv, 2, 1);
    p.ping = weft_chan_new(0);
    p.pong = weft_chan_new(0);
    if (p.ping == NULL || p.pong == NULL) {
        fprintf(stderr, "bench_pingpong: weft_chan_new: %s\n", weft_strerror(weft_last_error()));
        return 1;
    }
    weft_config_t cfg = {.workers = workers};
    int rc = weft_run(&cfg, main_task, &p, NULL);
    if (rc != 0)
        fprintf(stderr, "bench_pingpong: %s\n", weft_strerror(rc));
    int ok = rc == 0 && p.bad == 0 && p.seen == p.n;
    if (rc == 0 && !ok)
        fprintf(stderr, "bench_pingpong: %lu bad replies, %lu of %lu tokens bounced\n", p.bad,
                p.seen, p.n);
    printf("{\"bench\":\"pingpong\",\"system\":\"weft\",\"workers\":%u,\"n\":%lu,"
           "\"wall_s\":%.6f,\"ns_per_roundtrip\":%.3f,\"switches\":%llu,\"steals\":%llu,"
           "\"parks\":%llu,\"check\":\"%s\"}\n",
           workers, p.n, p.wall, p.wall * 1e9 / (double)p.n,
           (unsigned long long)p.ct.switches, (unsigned long long)p.ct.steals,
           (unsigned long long)p.ct.parks, ok ? "ok" : "FAIL");
    weft_chan_free(p.ping);
    weft_chan_free(p.pong);
    return ok ? 0 : 1;
}
