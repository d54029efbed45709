/*
 * test_stress_mix.c - a validator for everything at once: waves of tasks
 * on every worker doing a random mix of spawn, await, cancel, sleep,
 * gather, wait, wait_for, timeout scopes, task groups, channels (bounded
 * and unbuffered, producers and consumers), blocking calls and TCP
 * exchanges with a listener task, while two foreign threads cancel random
 * tasks of the running wave and tasks cancel their own children.
 *
 * Conservation is checked as in Concurrency Kit's validators: every task
 * spawned is observed finished exactly once by its owner, its body ran at
 * most once and returned if it ran, and a task that never ran ended
 * cancelled; every result reaches whoever awaited it (each task has a
 * value of its own to deliver); every channel item sent is received
 * exactly once and an item whose send failed never; every socket message
 * comes back intact; a blocking call that was taken back never ran.  At
 * the end the scheduler's counters of what waits leave behind (tasks,
 * stacks, timers, sockets, blocking calls, name lookups) fall back to the
 * main task's own; samples taken during the run, while something is
 * known to be counted, show that they do count.
 *
 * It runs for WEFT_STRESS_SECONDS (default 15 s, well within a minute per
 * build) with the seed
 * WEFT_STRESS_SEED (default: from the clock), printing the seed and the
 * totals.  Waves bound the live tasks (TSan allows about 8,000 fibers).
 * The foreign threads read a wave's handles only between a "busy" flag
 * they raise and lower; the main task takes the wave away and waits for
 * both flags to drop before it releases the handles (a Dekker handshake
 * over seq_cst atomics).  No hang: ctest's timeout bounds the run.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep under -std=c11 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/check.h"
#include "weft.h"

#ifdef WEFT_TSAN
#define WAVE 150             /* top-level tasks per wave */
#define CANCEL_PAUSE_US 40000 /* the most a foreign canceller rests */
#else
#define WAVE 600
#define CANCEL_PAUSE_US 500
#endif
#define RECS_PER_OP 12 /* the most tasks one top-level task makes, itself included */
#define POOL (WAVE * RECS_PER_OP)
#define MAX_CHILDREN 4
#define MY_ERROR (-7001)
#define DEFAULT_SECONDS 15
#define WORKERS 4
#define LOCAL "127.0.0.1"
#define MAX_MSG (128 * 1024)
#define HDR 8 /* a message's header: its length and its seed */
#define READ_EOF 1
#define LONG_MS 60000 /* a deadline the run never reaches: its timer must be removed */
#define PRODUCERS 3
#define CONSUMERS 3
#define ITEMS 16 /* per producer */

enum kind {
    /* What a top-level task does, chosen at random. */
    K_LEAF,     /* sleeps 0-3 ms; may fail, may swallow a cancel */
    K_AWAIT,    /* spawns a child, may cancel it, awaits it */
    K_GATHER,   /* gathers children, either flag */
    K_WAIT,     /* weft_wait on children, any return_when and timeout */
    K_WAIT_FOR, /* weft_wait_for on a child */
    K_GROUP,    /* a TaskGroup of children */
    K_CHAN,     /* a channel with producers and consumers */
    K_SOCK,     /* a client exchanging checked messages with the listener */
    K_BLOCKING, /* weft_run_blocking */
    K_TIMEOUT,  /* a timeout scope around a sleep */
    K_OPS,
    /* Children of a channel task. */
    K_PRODUCER = K_OPS,
    K_CONSUMER,
    K_KINDS
};

static const char *const kind_name[K_KINDS] = {
    "leaf", "await", "gather", "wait", "wait_for", "group", "chan", "sock",
    "blocking", "timeout", "producer", "consumer",
};

/* One record per task, found through its argument; reused wave by wave. */
struct rec {
    enum kind kind;
    int depth;
    uint64_t seed;
    uintptr_t value;          /* the result it delivers when it ends with 0 */
    void *ctx;                /* producers and consumers: their channel task's */
    int slot;                 /* a producer's share of the items */
    bool unspawned;           /* its group refused it: no task runs it */
    atomic_int runs;          /* times the body began */
    atomic_int exits;         /* times the body returned */
    atomic_int observed;      /* times its owner saw it finished */
    atomic_int blocking_runs; /* K_BLOCKING: times the call's function ran */
};

static struct rec *pool;
static atomic_int pool_used;

/* Totals, printed at the end. */
static atomic_long n_tasks, n_observed, n_cancelled, n_never_ran;
static atomic_long n_ran[K_KINDS];
static atomic_long n_task_cancels, n_items, n_msgs, n_bytes, n_partial, n_timeouts;
static atomic_long n_blocking_ran, n_blocking_taken_back;

/* The largest values of the counters checked at the end, sampled while
 * something is known to be counted: they show that the counters count. */
static atomic_ulong max_timers, max_sockets, max_blocking, max_lookups;

static void raise_to(atomic_ulong *max, uint64_t v)
{
    unsigned long old = atomic_load(max);
    while (old < v && !atomic_compare_exchange_weak(max, &old, (unsigned long)v))
        ;
}

/* From a task, a pool thread or a canceller while a wave runs (weft_stats
 * outside tasks needs the scheduler running). */
static void sample_counters(void)
{
    weft_stats_t *st = malloc(sizeof *st); /* large for a task's stack */
    if (st && weft_stats(st) == 0) {
        raise_to(&max_timers, st->timers_armed);
        raise_to(&max_sockets, st->sockets_open);
        raise_to(&max_blocking, st->blocking_in_flight);
        raise_to(&max_lookups, st->lookups_in_flight);
    }
    free(st);
}

static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static struct rec *new_rec(enum kind kind, int depth, uint64_t seed, void *ctx)
{
    int i = atomic_fetch_add(&pool_used, 1);
    if (i >= POOL) { /* more than a wave may make: the counts would be meaningless */
        CHECK(!"too many records in one wave");
        abort();
    }
    struct rec *r = &pool[i];
    r->kind = kind;
    r->depth = depth;
    r->seed = seed * 0x9E3779B97F4A7C15u + (uint64_t)i + 1;
    r->value = (uintptr_t)(next_rand(&r->seed) | 1);
    r->ctx = ctx;
    return r;
}

static int node(void *arg, void **result);

/* Spawns a task for r, which must be complete: the task may run at once. */
static weft_task_t *spawn_of(struct rec *r)
{
    weft_task_t *t = weft_spawn(node, r);
    CHECK(t != NULL);
    if (!t)
        abort();
    atomic_fetch_add(&n_tasks, 1);
    return t;
}

static weft_task_t *spawn_rec(enum kind kind, int depth, uint64_t seed, void *ctx,
                              struct rec **rp)
{
    *rp = new_rec(kind, depth, seed, ctx);
    return spawn_of(*rp);
}

static bool allowed(int rc)
{
    return rc == 0 || rc == WEFT_ECANCELED || rc == MY_ERROR || rc == WEFT_ETIMEDOUT;
}

/* The owner saw t (whose record is r) finish with rc and result res. */
static void observe(weft_task_t *t, struct rec *r, int rc, void *res)
{
    CHECK(weft_task_done(t));
    if (atomic_fetch_add(&r->observed, 1) != 0)
        CHECK(!"a task observed finished twice");
    atomic_fetch_add(&n_observed, 1);
    CHECK(allowed(rc));
    int runs = atomic_load(&r->runs);
    CHECK(runs <= 1);
    CHECK_EQ(atomic_load(&r->exits), runs); /* finished: its body returned */
    if (runs == 0) {
        atomic_fetch_add(&n_never_ran, 1);
        CHECK_EQ(rc, WEFT_ECANCELED);
    }
    if (rc == 0)
        CHECK(res == (void *)r->value);
    if (rc == WEFT_ECANCELED) {
        atomic_fetch_add(&n_cancelled, 1);
        CHECK(weft_task_cancelled(t));
    }
}

static int await_observe(weft_task_t *t, struct rec *r, void **res)
{
    void *v = NULL;
    int rc = weft_await(t, &v);
    observe(t, r, rc, v);
    if (res)
        *res = v;
    return rc;
}

static void cancel_child(weft_task_t *t)
{
    if (weft_cancel(t) == 1)
        atomic_fetch_add(&n_task_cancels, 1);
}

/* A child of a top-level task may await one of its own. */
static enum kind child_kind(const struct rec *r, uint64_t x)
{
    return r->depth == 0 && x % 4 == 0 ? K_AWAIT : K_LEAF;
}

/* ---- tasks, awaits and the combinators ------------------------------------ */

static int leaf(struct rec *r)
{
    uint64_t x = next_rand(&r->seed);
    int rc = weft_sleep((int64_t)(x % 4)); /* 0 (a yield) to 3 ms */
    if (rc == WEFT_ECANCELED && x % 16 == 5)
        rc = weft_sleep(1) == 0 ? 0 : MY_ERROR; /* swallows the cancel */
    if (rc == 0 && x % 32 == 7)
        rc = MY_ERROR;
    return rc;
}

static int awaiter(struct rec *r)
{
    uint64_t x = next_rand(&r->seed);
    struct rec *cr;
    weft_task_t *c = spawn_rec(child_kind(r, x >> 3), r->depth + 1, x, NULL, &cr);
    if (x % 4 == 1)
        weft_sleep((int64_t)((x >> 8) % 3));
    if (x % 8 == 3)
        cancel_child(c);
    int rc = await_observe(c, cr, NULL);
    weft_task_release(c);
    return rc;
}

#define UNTOUCHED 12345 /* an outcome gather did not write */

static int gatherer(struct rec *r)
{
    uint64_t x = next_rand(&r->seed);
    size_t n = 1 + x % MAX_CHILDREN;
    weft_task_t *c[MAX_CHILDREN];
    struct rec *cr[MAX_CHILDREN];
    weft_outcome_t out[MAX_CHILDREN];
    for (size_t i = 0; i < n; i++) {
        c[i] = spawn_rec(child_kind(r, x >> (8 + i)), r->depth + 1, x + i, NULL, &cr[i]);
        out[i] = (weft_outcome_t){.rc = UNTOUCHED, .result = NULL};
    }
    if ((x >> 16) % 8 == 0)
        cancel_child(c[(x >> 20) % n]);
    unsigned flags = (x >> 4) % 2 ? WEFT_RETURN_EXCEPTIONS : 0;
    int rc = weft_gather(c, n, out, flags);
    CHECK(allowed(rc));
    if (flags)
        CHECK(rc == 0 || rc == WEFT_ECANCELED);
    /* Every child is observed once, by awaiting it: gather's default mode
     * leaves some running.  What gather wrote must be the outcome. */
    for (size_t i = 0; i < n; i++) {
        void *res;
        int crc = await_observe(c[i], cr[i], &res);
        if (rc == 0) /* every child finished (and, by default, succeeded) */
            CHECK(out[i].rc != UNTOUCHED);
        if (out[i].rc != UNTOUCHED) {
            CHECK_EQ(out[i].rc, crc);
            if (crc == 0)
                CHECK(out[i].result == res);
        }
        weft_task_release(c[i]);
    }
    return rc;
}

static int waiter(struct rec *r)
{
    uint64_t x = next_rand(&r->seed);
    size_t n = 1 + x % MAX_CHILDREN;
    weft_task_t *c[MAX_CHILDREN], *order[MAX_CHILDREN];
    struct rec *cr[MAX_CHILDREN];
    for (size_t i = 0; i < n; i++)
        order[i] = c[i] = spawn_rec(child_kind(r, x >> (8 + i)), r->depth + 1, x + i, NULL,
                                    &cr[i]);
    static const int whens[] = {WEFT_ALL_COMPLETED, WEFT_FIRST_COMPLETED, WEFT_FIRST_EXCEPTION};
    int when = whens[(x >> 12) % 3];
    static const int64_t timeouts[] = {WEFT_FOREVER, LONG_MS, 0, 1, 2, 3};
    int64_t timeout = timeouts[(x >> 16) % 6];
    int done = weft_wait(order, n, timeout, when);
    if (done >= 0) {
        CHECK(done <= (int)n);
        for (int i = 0; i < done; i++)
            CHECK(weft_task_done(order[i]));
        for (size_t i = 0; i < n; i++) { /* a permutation of the input */
            int seen = 0;
            for (size_t j = 0; j < n; j++)
                seen += order[j] == c[i];
            CHECK_EQ(seen, 1);
        }
        if (timeout >= LONG_MS && when == WEFT_ALL_COMPLETED)
            CHECK_EQ(done, (int)n);
        if (timeout >= LONG_MS)
            CHECK(done >= 1);
    } else {
        CHECK_EQ(done, WEFT_ECANCELED);
    }
    for (size_t i = 0; i < n; i++) {
        await_observe(c[i], cr[i], NULL);
        weft_task_release(c[i]);
    }
    return done >= 0 ? 0 : done;
}

static int wait_forer(struct rec *r)
{
    uint64_t x = next_rand(&r->seed);
    struct rec *cr;
    weft_task_t *c = spawn_rec(child_kind(r, x >> 3), r->depth + 1, x, NULL, &cr);
    static const int64_t timeouts[] = {-1, 0, 1, 2, 3, LONG_MS};
    void *res = NULL;
    int rc = weft_wait_for(c, timeouts[(x >> 8) % 6], &res);
    CHECK(allowed(rc));
    void *cres;
    int crc = await_observe(c, cr, &cres);
    if (rc == WEFT_ETIMEDOUT) {
        CHECK_EQ(crc, WEFT_ECANCELED); /* else wait_for reports the child's outcome */
        atomic_fetch_add(&n_timeouts, 1);
    } else if (rc == 0 || rc == MY_ERROR) {
        CHECK_EQ(crc, rc);
        if (rc == 0)
            CHECK(res == cres);
    }
    weft_task_release(c);
    return rc;
}

static int grouper(struct rec *r)
{
    uint64_t x = next_rand(&r->seed);
    weft_group_t *g = weft_group_new();
    CHECK(g != NULL);
    if (!g)
        return MY_ERROR;
    size_t n = 1 + x % MAX_CHILDREN;
    weft_task_t *c[MAX_CHILDREN];
    struct rec *cr[MAX_CHILDREN];
    for (size_t i = 0; i < n; i++) {
        cr[i] = new_rec(child_kind(r, x >> (8 + i)), r->depth + 1, x + i, NULL);
        c[i] = weft_group_spawn(g, node, cr[i]);
        if (!c[i]) { /* a child failed already: the group refuses more */
            CHECK_EQ(weft_last_error(), WEFT_ESHUTDOWN);
            cr[i]->unspawned = true;
        } else {
            atomic_fetch_add(&n_tasks, 1);
        }
        if ((x >> (16 + i)) % 4 == 0)
            weft_sleep(0);
    }
    if ((x >> 24) % 8 == 0 && c[0])
        cancel_child(c[0]);
    int rc = weft_group_join(g);
    CHECK(rc == 0 || rc == MY_ERROR || rc == WEFT_ECANCELED);
    int errs[MAX_CHILDREN];
    int ne = weft_group_errors(g, errs, MAX_CHILDREN);
    CHECK(ne >= 0 && ne <= (int)n);
    for (int k = 0; k < ne && k < MAX_CHILDREN; k++)
        CHECK_EQ(errs[k], MY_ERROR);
    if (rc == MY_ERROR)
        CHECK(ne >= 1);
    else
        CHECK_EQ(ne, 0); /* a child's error wins over a cancel */
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (!c[i])
            continue;
        CHECK(weft_task_done(c[i])); /* join waited for every child */
        failed += await_observe(c[i], cr[i], NULL) == MY_ERROR;
    }
    CHECK_EQ(failed, ne);
    weft_group_free(g);
    return rc;
}

/* ---- channels ------------------------------------------------------------- */

/* A channel task's state, on its stack: it outlives its children. */
struct chanop {
    weft_chan_t *c;
    atomic_int consumers_live;
    atomic_int sent[PRODUCERS * ITEMS]; /* 1 once the send returned 0 */
    atomic_int got[PRODUCERS * ITEMS];  /* times the item was received */
};

static int producer(struct rec *r)
{
    struct chanop *op = r->ctx;
    int rc = 0;
    for (int k = 0; k < ITEMS; k++) {
        int idx = r->slot * ITEMS + k;
        rc = weft_chan_send(op->c, (void *)(uintptr_t)(idx + 1));
        if (rc == 0) {
            atomic_store(&op->sent[idx], 1);
        } else {
            if (rc == WEFT_ECLOSED)
                rc = 0; /* every consumer left */
            CHECK(rc == 0 || rc == WEFT_ECANCELED);
            break;
        }
        if (next_rand(&r->seed) % 8 == 0)
            weft_yield();
    }
    return rc;
}

static int consumer(struct rec *r)
{
    struct chanop *op = r->ctx;
    int rc;
    for (;;) {
        void *item;
        rc = weft_chan_recv(op->c, &item);
        if (rc != 0)
            break;
        uintptr_t idx = (uintptr_t)item - 1;
        CHECK(idx < PRODUCERS * ITEMS);
        if (idx < PRODUCERS * ITEMS)
            atomic_fetch_add(&op->got[idx], 1);
    }
    if (rc == WEFT_ECLOSED)
        rc = 0;
    CHECK(rc == 0 || rc == WEFT_ECANCELED);
    /* The last consumer to leave closes, so no producer waits for ever. */
    if (atomic_fetch_sub(&op->consumers_live, 1) == 1) {
        int crc = weft_chan_close(op->c);
        CHECK(crc == 0 || crc == WEFT_ECLOSED);
    }
    return rc;
}

static int chan_task(struct rec *r)
{
    uint64_t x = next_rand(&r->seed);
    struct chanop op;
    memset(&op, 0, sizeof op);
    op.c = weft_chan_new(x % 3 == 0 ? 0 : 1 + (x >> 2) % 4);
    CHECK(op.c != NULL);
    if (!op.c)
        return MY_ERROR;
    int np = 1 + (int)((x >> 4) % PRODUCERS), nc = 1 + (int)((x >> 6) % CONSUMERS);
    atomic_store(&op.consumers_live, nc);
    weft_task_t *p[PRODUCERS], *c[CONSUMERS];
    struct rec *pr[PRODUCERS], *cr[CONSUMERS];
    for (int i = 0; i < np; i++) {
        pr[i] = new_rec(K_PRODUCER, r->depth + 1, x + (uint64_t)i, &op);
        pr[i]->slot = i;
        p[i] = spawn_of(pr[i]);
    }
    for (int i = 0; i < nc; i++)
        c[i] = spawn_rec(K_CONSUMER, r->depth + 1, x + 8 + (uint64_t)i, &op, &cr[i]);
    if ((x >> 10) % 8 == 0)
        cancel_child(p[(x >> 13) % (uint64_t)np]);
    if ((x >> 16) % 8 == 0)
        cancel_child(c[(x >> 19) % (uint64_t)nc]);
    for (int i = 0; i < np; i++) {
        await_observe(p[i], pr[i], NULL);
        weft_task_release(p[i]);
    }
    int rc = weft_chan_close(op.c);
    CHECK(rc == 0 || rc == WEFT_ECLOSED);
    for (int i = 0; i < nc; i++) {
        await_observe(c[i], cr[i], NULL);
        weft_task_release(c[i]);
    }
    /* What the consumers left in the buffer is still there, once. */
    void *item;
    while ((rc = weft_chan_try_recv(op.c, &item)) == 0) {
        uintptr_t idx = (uintptr_t)item - 1;
        CHECK(idx < PRODUCERS * ITEMS);
        if (idx < PRODUCERS * ITEMS)
            atomic_fetch_add(&op.got[idx], 1);
    }
    CHECK_EQ(rc, WEFT_ECLOSED);
    for (int i = 0; i < PRODUCERS * ITEMS; i++) {
        int sent = atomic_load(&op.sent[i]), got = atomic_load(&op.got[i]);
        CHECK_EQ(got, sent); /* sent once and received once, or neither */
        atomic_fetch_add(&n_items, got);
    }
    weft_chan_free(op.c);
    return 0;
}

/* ---- sockets -------------------------------------------------------------- */

static atomic_int server_port;
static atomic_long handlers_live, handlers_started, handlers_ended;

/* Byte i of the message with this seed. */
static unsigned char msg_byte(uint32_t seed, size_t i)
{
    return (unsigned char)((seed >> (i % 25)) ^ (i * 131u));
}

/* Reads exactly len bytes: 0, READ_EOF at an early end, or the error;
 * *got says how many came. */
static int read_full(weft_sock_t *s, unsigned char *p, size_t len, size_t *got)
{
    size_t k = 0;
    int rc = 0;
    while (k < len) {
        ssize_t n = weft_read(s, p + k, len - k);
        if (n <= 0) {
            rc = n == 0 ? READ_EOF : (int)n;
            break;
        }
        k += (size_t)n;
    }
    *got = k;
    return rc;
}

/* The server's side of one connection: checks each message and sends it
 * back with every byte flipped, until the client closes. */
static int handler(void *arg, void **result)
{
    (void)result;
    weft_sock_t *s = arg;
    unsigned char *buf = malloc(HDR + MAX_MSG);
    CHECK(buf != NULL);
    while (buf) {
        size_t got;
        int rc = read_full(s, buf, HDR, &got);
        if (rc == READ_EOF && got == 0)
            break; /* the client closed between messages */
        uint32_t len = 0, seed = 0;
        if (rc == 0) {
            memcpy(&len, buf, 4);
            memcpy(&seed, buf + 4, 4);
            CHECK(len >= 1 && len <= MAX_MSG);
            if (len < 1 || len > MAX_MSG)
                break;
            rc = read_full(s, buf + HDR, len, &got);
        }
        if (rc == 0) {
            for (size_t i = 0; i < len; i++) {
                if (buf[HDR + i] != msg_byte(seed, i)) {
                    CHECK(!"a message arrived damaged");
                    break;
                }
                buf[HDR + i] ^= 0x5a;
            }
            rc = weft_write(s, buf, HDR + len);
        }
        if (rc != 0) {
            /* A cancelled client leaves in the middle of a message. */
            CHECK(rc == READ_EOF || rc == -ECONNRESET || rc == -EPIPE);
            atomic_fetch_add(&n_partial, 1);
            break;
        }
    }
    free(buf);
    CHECK_EQ(weft_close(s), 0);
    atomic_fetch_add(&handlers_ended, 1);
    atomic_fetch_sub(&handlers_live, 1);
    return 0;
}

static int acceptor(void *arg, void **result)
{
    (void)result;
    weft_sock_t *l = arg;
    int rc;
    for (;;) {
        weft_sock_t *s;
        rc = weft_tcp_accept(l, &s);
        if (rc != 0)
            break;
        atomic_fetch_add(&handlers_live, 1);
        atomic_fetch_add(&handlers_started, 1);
        weft_task_t *h = weft_spawn(handler, s);
        CHECK(h != NULL);
        weft_task_release(h);
    }
    CHECK_EQ(rc, WEFT_ECANCELED); /* how the main task ends it */
    CHECK_EQ(weft_close(l), 0);
    return 0;
}

static int client(struct rec *r)
{
    uint64_t x = next_rand(&r->seed);
    weft_sock_t *s;
    /* Now and then a name, so that lookups (and cancelled ones) happen. */
    int rc = weft_tcp_connect(x % 8 == 0 ? "localhost" : LOCAL, atomic_load(&server_port), &s);
    if (rc != 0) {
        CHECK_EQ(rc, WEFT_ECANCELED);
        return rc;
    }
    if ((x >> 8) % 4 == 0)
        sample_counters(); /* s is open */
    unsigned char *out = malloc(2 * (HDR + MAX_MSG));
    CHECK(out != NULL);
    if (!out) {
        weft_close(s);
        return MY_ERROR;
    }
    unsigned char *in = out + HDR + MAX_MSG;
    int msgs = 1 + (int)((x >> 4) % 5);
    for (int m = 0; m < msgs && rc == 0; m++) {
        uint64_t y = next_rand(&r->seed);
        uint32_t len = (uint32_t)(y % 32 == 0 ? 1 + (y >> 8) % MAX_MSG : 1 + (y >> 8) % 2048);
        uint32_t seed = (uint32_t)(y >> 32);
        memcpy(out, &len, 4);
        memcpy(out + 4, &seed, 4);
        for (size_t i = 0; i < len; i++)
            out[HDR + i] = msg_byte(seed, i);
        rc = weft_write(s, out, HDR + len);
        size_t got;
        if (rc == 0)
            rc = read_full(s, in, HDR + len, &got);
        if (rc != 0)
            break;
        CHECK(memcmp(in, out, HDR) == 0);
        for (size_t i = 0; i < len; i++) {
            if (in[HDR + i] != (out[HDR + i] ^ 0x5a)) {
                CHECK(!"a reply arrived damaged");
                break;
            }
        }
        atomic_fetch_add(&n_msgs, 1);
        atomic_fetch_add(&n_bytes, (long)len);
    }
    free(out);
    CHECK_EQ(weft_close(s), 0);
    CHECK(rc == 0 || rc == WEFT_ECANCELED); /* the server never leaves first */
    return rc;
}

/* ---- blocking calls and timeout scopes ------------------------------------ */

static int blocking_fn(void *arg, void **result)
{
    struct rec *r = arg;
    atomic_fetch_add(&r->blocking_runs, 1);
    if (r->value % 4 == 1)
        sample_counters(); /* this call is in flight */
    struct timespec ts = {0, (long)(r->value % 200) * 1000}; /* up to 0.2 ms */
    nanosleep(&ts, NULL);
    *result = (void *)(r->value ^ 2);
    return 0;
}

static int blocking_task(struct rec *r)
{
    void *res = NULL;
    int rc = weft_run_blocking(blocking_fn, r, &res);
    int runs = atomic_load(&r->blocking_runs);
    if (rc == 0) {
        CHECK_EQ(runs, 1);
        CHECK(res == (void *)(r->value ^ 2));
        atomic_fetch_add(&n_blocking_ran, 1);
    } else {
        CHECK_EQ(rc, WEFT_ECANCELED); /* taken back before it ran */
        CHECK_EQ(runs, 0);
        CHECK(res == NULL);
        atomic_fetch_add(&n_blocking_taken_back, 1);
    }
    return rc;
}

static int timeout_task(struct rec *r)
{
    uint64_t x = next_rand(&r->seed);
    static const int64_t scopes[] = {-1, 0, 1, 2, 3, LONG_MS, WEFT_FOREVER};
    int64_t ms = scopes[x % 7];
    weft_timeout_t *h = weft_timeout_enter(ms);
    CHECK(h != NULL);
    if (!h)
        return MY_ERROR;
    bool moved = (x >> 4) % 4 == 0;
    if (moved)
        weft_timeout_reschedule(h, (int64_t)((x >> 8) % 4)); /* may have expired */
    int rc = weft_sleep((int64_t)((x >> 12) % 4));
    /* The scope's timer is in the heap, counted by the I/O thread when it
     * handled the sleep's timer, after the scope's. */
    if (rc == 0 && ms == LONG_MS && !moved && (x >> 12) % 4 != 0)
        sample_counters();
    int trc = weft_timeout_exit(h);
    CHECK(trc == 0 || trc == WEFT_ETIMEDOUT || trc == WEFT_ECANCELED);
    if (trc == WEFT_ETIMEDOUT) {
        CHECK_EQ(rc, WEFT_ECANCELED); /* the scope's cancel reached the sleep */
        atomic_fetch_add(&n_timeouts, 1);
    }
    return trc != 0 ? trc : rc;
}

/* ---- every task's body ------------------------------------------------------ */

static int node(void *arg, void **result)
{
    struct rec *r = arg;
    if (atomic_fetch_add(&r->runs, 1) != 0)
        CHECK(!"a task body ran twice");
    atomic_fetch_add(&n_ran[r->kind], 1);
    int rc;
    switch (r->kind) {
    case K_LEAF: rc = leaf(r); break;
    case K_AWAIT: rc = awaiter(r); break;
    case K_GATHER: rc = gatherer(r); break;
    case K_WAIT: rc = waiter(r); break;
    case K_WAIT_FOR: rc = wait_forer(r); break;
    case K_GROUP: rc = grouper(r); break;
    case K_CHAN: rc = chan_task(r); break;
    case K_SOCK: rc = client(r); break;
    case K_BLOCKING: rc = blocking_task(r); break;
    case K_TIMEOUT: rc = timeout_task(r); break;
    case K_PRODUCER: rc = producer(r); break;
    default: rc = consumer(r); break;
    }
    if (rc == 0)
        *result = (void *)r->value;
    atomic_fetch_add(&r->exits, 1);
    return rc;
}

/* ---- the foreign cancellers ------------------------------------------------- */

#define CANCELLERS 2

static _Atomic(weft_task_t **) wave_pub; /* the current wave, or NULL */
static atomic_int wave_len;
static atomic_int canceller_busy[CANCELLERS];
static atomic_int canceller_stop;
static atomic_long foreign_cancels;


static void *canceller(void *arg)
{
    int me = (int)(uintptr_t)arg;
    uint64_t seed = 0x2545F4914F6CDD1Du * (uint64_t)(me + 1);
    while (!atomic_load(&canceller_stop)) {
        atomic_store(&canceller_busy[me], 1); /* seq_cst: before the load below */
        weft_task_t **w = atomic_load(&wave_pub);
        if (w) {
            int n = atomic_load(&wave_len);
            for (int k = 0; k < 2; k++)
                if (weft_cancel(w[next_rand(&seed) % (uint64_t)n]) == 1)
                    atomic_fetch_add(&foreign_cancels, 1);
            sample_counters();
        }
        atomic_store(&canceller_busy[me], 0);
        struct timespec ts = {0, (long)(next_rand(&seed) % CANCEL_PAUSE_US) * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* ---- the main task ------------------------------------------------------------ */

struct run {
    double seconds;
    uint64_t seed;
    long waves;
    double elapsed_s;
};

static void run_wave(uint64_t *seed)
{
    static weft_task_t *wave[WAVE];
    static struct rec *wrec[WAVE];
    static weft_outcome_t out[WAVE];
    /* Every task of the last wave has finished: its records are free. */
    memset(pool, 0, POOL * sizeof *pool);
    atomic_store(&pool_used, 0);
    for (int i = 0; i < WAVE; i++) {
        uint64_t x = next_rand(seed);
        wave[i] = spawn_rec((enum kind)(x % K_OPS), 0, x, NULL, &wrec[i]);
    }
    atomic_store(&wave_len, WAVE);
    atomic_store(&wave_pub, wave);
    CHECK_EQ(weft_gather(wave, WAVE, out, WEFT_RETURN_EXCEPTIONS), 0);
    /* Take the wave away; wait until no canceller uses it. */
    atomic_store(&wave_pub, NULL); /* seq_cst: before the loads below */
    for (int k = 0; k < CANCELLERS; k++)
        while (atomic_load(&canceller_busy[k]))
            weft_yield();
    for (int i = 0; i < WAVE; i++) {
        observe(wave[i], wrec[i], out[i].rc, out[i].result);
        void *res;
        CHECK_EQ(weft_await(wave[i], &res), out[i].rc);
        CHECK(res == out[i].result);
        weft_task_release(wave[i]);
    }
    int used = atomic_load(&pool_used);
    for (int i = 0; i < used; i++) { /* children included */
        struct rec *r = &pool[i];
        CHECK_EQ(atomic_load(&r->observed), r->unspawned ? 0 : 1);
        CHECK(atomic_load(&r->runs) <= 1);
        CHECK_EQ(atomic_load(&r->exits), atomic_load(&r->runs));
    }
}

/* Waits (yielding: a sleep would arm a timer) until the counters of what
 * waits leave behind show only the main task. */
static void expect_counters_clear(void)
{
    static weft_stats_t st; /* large for a task's stack */
    double start = now_ms();
    for (;;) {
        CHECK_EQ(weft_stats(&st), 0);
        if (st.tasks_live == 1 && st.stacks_in_use == 1 && st.timers_armed == 0 &&
            st.sockets_open == 0 && st.blocking_in_flight == 0 && st.lookups_in_flight == 0)
            return;
        if (now_ms() - start > 30000.0)
            break;
        weft_yield();
    }
    CHECK(!"something was left behind");
    fprintf(stderr,
            "tasks_live %llu stacks_in_use %llu timers_armed %llu sockets_open %llu "
            "blocking_in_flight %llu lookups_in_flight %llu\n",
            (unsigned long long)st.tasks_live, (unsigned long long)st.stacks_in_use,
            (unsigned long long)st.timers_armed, (unsigned long long)st.sockets_open,
            (unsigned long long)st.blocking_in_flight, (unsigned long long)st.lookups_in_flight);
    weft_dump(stderr);
}

static int stress_main(void *arg, void **result)
{
    (void)result;
    struct run *run = arg;
    weft_sock_t *l;
    CHECK_EQ(weft_tcp_listen(LOCAL, 0, 0, &l), 0);
    if (!l)
        return MY_ERROR;
    atomic_store(&server_port, weft_tcp_port(l));
    weft_task_t *acc = weft_spawn(acceptor, l);
    CHECK(acc != NULL);
    uint64_t seed = run->seed;
    double start = now_ms();
    do {
        run_wave(&seed);
        run->waves++;
    } while (now_ms() - start < run->seconds * 1000.0);
    run->elapsed_s = (now_ms() - start) / 1000.0;
    CHECK_EQ(weft_cancel(acc), 1);
    CHECK_EQ(weft_await(acc, NULL), 0);
    weft_task_release(acc);
    /* Every client has closed: each handler sees the end and leaves. */
    while (atomic_load(&handlers_live) != 0 && now_ms() - start < (run->seconds + 30) * 1000.0)
        weft_sleep(1);
    CHECK_EQ(atomic_load(&handlers_live), 0);
    CHECK_EQ(weft_cancelling(), 0);
    expect_counters_clear();
    return 0;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 0) : dflt;
}

static void test_mixed_load_accounts_for_every_task_item_message_and_counter(void **state)
{
    (void)state;
    struct run run = {.seconds = (double)env_u64("WEFT_STRESS_SECONDS", DEFAULT_SECONDS)};
    run.seed = env_u64("WEFT_STRESS_SEED", (uint64_t)time(NULL) * 2654435761u) | 1;
    print_message("stress mix: seed %llu (WEFT_STRESS_SEED), %.0f s, %d workers, "
                  "waves of %d\n",
                  (unsigned long long)run.seed, run.seconds, WORKERS, WAVE);
    pool = calloc(POOL, sizeof *pool);
    assert_non_null(pool);
    pthread_t th[CANCELLERS];
    for (int k = 0; k < CANCELLERS; k++)
        assert_int_equal(pthread_create(&th[k], NULL, canceller, (void *)(uintptr_t)k), 0);
    weft_config_t cfg = {.workers = WORKERS};
    int rc = weft_run(&cfg, stress_main, &run, NULL);
    atomic_store(&canceller_stop, 1);
    for (int k = 0; k < CANCELLERS; k++)
        pthread_join(th[k], NULL);
    print_message("stress mix: seed %llu, %.1f s, %ld waves, %ld tasks (%ld ended cancelled, "
                  "%ld never ran), %ld cancels from tasks, %ld from foreign threads\n",
                  (unsigned long long)run.seed, run.elapsed_s, run.waves, atomic_load(&n_tasks),
                  atomic_load(&n_cancelled), atomic_load(&n_never_ran),
                  atomic_load(&n_task_cancels), atomic_load(&foreign_cancels));
    print_message("stress mix: bodies run:");
    for (int k = 0; k < K_KINDS; k++)
        print_message(" %s %ld", kind_name[k], atomic_load(&n_ran[k]));
    print_message("\nstress mix: %ld channel items, %ld messages (%ld bytes) over %ld "
                  "connections, %ld cut short, %ld blocking calls ran, %ld taken back, "
                  "%ld timeouts\n",
                  atomic_load(&n_items), atomic_load(&n_msgs), atomic_load(&n_bytes),
                  atomic_load(&handlers_started), atomic_load(&n_partial),
                  atomic_load(&n_blocking_ran), atomic_load(&n_blocking_taken_back),
                  atomic_load(&n_timeouts));
    print_message("stress mix: most seen at once: %lu timers armed, %lu sockets open, "
                  "%lu blocking calls, %lu lookups\n",
                  atomic_load(&max_timers), atomic_load(&max_sockets),
                  atomic_load(&max_blocking), atomic_load(&max_lookups));
    assert_int_equal(rc, 0);
    assert_no_check_failures();
    assert_int_equal(atomic_load(&n_observed), atomic_load(&n_tasks)); /* each once */
    assert_int_equal(atomic_load(&handlers_ended), atomic_load(&handlers_started));
    for (int k = 0; k < K_KINDS; k++)
        assert_true(atomic_load(&n_ran[k]) > 0);
    assert_true(atomic_load(&n_msgs) > 0);
    assert_true(atomic_load(&n_items) > 0);
    assert_true(atomic_load(&foreign_cancels) > 0);
    assert_true(atomic_load(&n_task_cancels) > 0);
    assert_true(atomic_load(&max_timers) > 0);
    assert_true(atomic_load(&max_sockets) > 0);
    assert_true(atomic_load(&max_blocking) > 0);
    free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mixed_load_accounts_for_every_task_item_message_and_counter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
