/*
 * test_stop_load.c - weft_stop from a foreign thread while a large load is
 * mid-flight: tasks asleep (briefly and for ever), awaiting each other,
 * gathering, in wait_for, timeout scopes and as_completed, in task groups,
 * blocked on channels, an event, semaphores and mutexes, spawning more,
 * yielding in CPU loops, in weft_run_blocking, and in TCP accept, name
 * lookup, connect and read with sockets open.  Every body that
 * started must have returned by the time weft_stop does, each with 0, a
 * cancellation or (sockets) an error from the closed peer, and everything
 * the test still holds must be freeable afterwards.
 *
 * The load size is SCALE tasks (100,000), fewer under ThreadSanitizer
 * (its fiber limit) and when WEFT_TEST_SCALE says so (valgrind's run);
 * every kind of wait is there at any size.
 */
#define _POSIX_C_SOURCE 200809L /* POSIX calls under -std=c11 */

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

#include "check.h"
#include "weft.h"

/* ThreadSanitizer dies beyond about 8,000 live threads and fibers. */
#ifdef WEFT_TSAN
#define SCALE 4000
#else
#define SCALE 100000
#endif

#define GATHER_K 9     /* children per gathering task */
#define GROUP_K 9      /* children per task group */
#define CHAN_CAP 8     /* the buffered channel's room */
#define MSG 64         /* bytes per TCP echo message */
#define KEPT 16        /* task handles the test keeps across the stop */

/* ---- counting ------------------------------------------------------------- */

static atomic_long started;   /* bodies that began */
static atomic_long finished;  /* bodies that returned */
static atomic_long cancelled; /* ... with WEFT_ECANCELED or WEFT_ESHUTDOWN */
static atomic_long net_errors;/* ... with a socket error (the peer went) */
static atomic_long in_place;  /* tasks that reached their long wait */
static long expected;         /* how many reach it in all */
static long stop_at;          /* how many must reach it before the stop */
static atomic_long churning;  /* busy tasks that have gone round a few times */
static long churners;         /* how many busy tasks there are */

/* Set once `stop_at` tasks are in place, and once every busy task is busy;
 * waited on by the stopper. */
static weft_event_t *ready, *busy_ev;

struct kind;
typedef int (*body_fn)(const struct kind *k);

/* One kind of load task: its name, its body and, for sockets, the port. */
struct kind {
    const char *name;
    body_fn body;
    bool net;            /* socket errors are a normal end */
    int port;            /* sockets: where to connect */
};

static void arrive(void)
{
    if (atomic_fetch_add(&in_place, 1) + 1 == stop_at)
        CHECK_EQ(weft_event_set(ready), 0);
}

/*
 * The busy tasks (short sleeps, ping-pong, contended locks, spawners, CPU
 * loops, blocking calls) arrive and then wait until everything is in place
 * before they start: a worker kept busy by tasks that keep waking each
 * other pops the newest task from its deque every time, and tasks spawned
 * earlier, at the deque's other end, would wait behind them for as long as
 * the other worker, busy too, does not steal.
 */
static int start_busy(void)
{
    arrive();
    return weft_event_wait(ready);
}

/* Called on each round of a busy loop; the third says the task is busy. */
static void went_round(int *rounds)
{
    if (++*rounds == 3 && atomic_fetch_add(&churning, 1) + 1 == churners)
        CHECK_EQ(weft_event_set(busy_ev), 0);
}

static int run_kind(void *arg, void **result)
{
    (void)result;
    const struct kind *k = arg;
    atomic_fetch_add(&started, 1);
    int rc = k->body(k);
    if (rc == WEFT_ECANCELED || rc == WEFT_ESHUTDOWN) {
        atomic_fetch_add(&cancelled, 1);
    } else if (rc != 0) {
        if (k->net && rc != WEFT_ENOMEM && rc != WEFT_EINVAL && rc != WEFT_EPERM) {
            atomic_fetch_add(&net_errors, 1);
        } else {
            fprintf(stderr, "%s ended with %s\n", k->name, weft_strerror(rc));
            CHECK(!"a body ended with an unexpected code");
        }
    }
    atomic_fetch_add(&finished, 1);
    return rc;
}

static weft_task_t *spawn_kind(const struct kind *k)
{
    weft_task_t *t = weft_spawn(run_kind, (void *)k);
    CHECK(t != NULL);
    return t;
}

/* ---- the shared objects --------------------------------------------------- */

static weft_chan_t *never_sent;   /* receivers wait on it for ever */
static weft_chan_t *never_read;   /* full: senders wait for room */
static weft_chan_t *ping, *pong;  /* unbuffered, busy both ways */
static weft_event_t *never_set;
static weft_sem_t *no_permits;
static weft_sem_t *two_permits;   /* contended */
static weft_mutex_t *held;        /* locked for ever by one task */
static weft_event_t *held_ev;     /* set once it is */
static weft_mutex_t *busy;        /* contended */

/* ---- bodies ---------------------------------------------------------------- */

static int sleep_short(const struct kind *k)
{
    (void)k;
    int rc = start_busy();
    for (int rounds = 0; rc == 0; went_round(&rounds))
        rc = weft_sleep(20 + rounds % 40);
    return rc;
}

static int sleep_forever(const struct kind *k)
{
    (void)k;
    arrive();
    return weft_sleep(WEFT_FOREVER);
}

static const struct kind k_forever = {"sleep_forever", sleep_forever, false, 0};

static int await_one(const struct kind *k)
{
    (void)k;
    weft_task_t *t = spawn_kind(&k_forever);
    if (!t)
        return weft_last_error();
    arrive();
    int rc = weft_await(t, NULL);
    weft_task_release(t);
    return rc;
}

static int gather_some(const struct kind *k)
{
    (void)k;
    weft_task_t *t[GATHER_K];
    size_t n = 0;
    while (n < GATHER_K && (t[n] = spawn_kind(&k_forever)))
        n++;
    arrive();
    int rc = weft_gather(t, n, NULL, n % 2 ? WEFT_RETURN_EXCEPTIONS : 0);
    for (size_t i = 0; i < n; i++)
        weft_task_release(t[i]);
    return rc;
}

/* Waits an hour for a task that sleeps for ever: a timer and a wait on
 * tasks at once. */
static int wait_for_one(const struct kind *k)
{
    (void)k;
    weft_task_t *t = spawn_kind(&k_forever);
    if (!t)
        return weft_last_error();
    arrive();
    int rc = weft_wait_for(t, 3600 * 1000, NULL);
    weft_task_release(t);
    return rc;
}

/* Sleeps for ever inside an hour's timeout scope. */
static int timeout_scope(const struct kind *k)
{
    (void)k;
    weft_timeout_t *h = weft_timeout_enter(3600 * 1000);
    if (!h)
        return weft_last_error();
    arrive();
    int rc = weft_sleep(WEFT_FOREVER);
    int exit_rc = weft_timeout_exit(h);
    CHECK(exit_rc == 0 || exit_rc == WEFT_ECANCELED);
    return rc;
}

/* Iterates over tasks that never finish, with an hour's overall timeout. */
static int as_completed_some(const struct kind *k)
{
    (void)k;
    weft_task_t *t[3];
    size_t n = 0;
    while (n < 3 && (t[n] = spawn_kind(&k_forever)))
        n++;
    weft_as_completed_t *it = n ? weft_as_completed_new(t, n, 3600 * 1000) : NULL;
    int rc = it ? 0 : weft_last_error();
    arrive();
    for (weft_task_t *done; rc >= 0 && (rc = weft_as_completed_next(it, &done)) == 1;)
        continue;
    weft_as_completed_free(it);
    for (size_t i = 0; i < n; i++)
        weft_task_release(t[i]);
    return rc;
}

static int chan_recv_forever(const struct kind *k);

static const struct kind k_group_child = {"group_child", chan_recv_forever, false, 0};

static int group_some(const struct kind *k)
{
    (void)k;
    weft_group_t *g = weft_group_new();
    if (!g)
        return weft_last_error();
    for (int i = 0; i < GROUP_K; i++)
        CHECK(weft_group_spawn(g, run_kind, (void *)&k_group_child) != NULL);
    arrive();
    int rc = weft_group_join(g);
    weft_group_free(g);
    return rc;
}

static int chan_recv_forever(const struct kind *k)
{
    (void)k;
    void *item;
    arrive();
    return weft_chan_recv(never_sent, &item);
}

static int chan_send_forever(const struct kind *k)
{
    (void)k;
    arrive();
    for (;;) {
        int rc = weft_chan_send(never_read, (void *)k);
        if (rc != 0)
            return rc;
    }
}

/* Pingers send on ping and wait on pong; pongers the other way round.
 * A pinger pauses between rounds: tasks that only ever wake each other
 * would keep their worker's own queues from ever running dry (see
 * start_busy). */
static int chan_pinger(const struct kind *k)
{
    (void)k;
    int rc = start_busy();
    for (int rounds = 0; rc == 0; went_round(&rounds)) {
        void *item;
        rc = weft_chan_send(ping, (void *)k);
        if (rc == 0)
            rc = weft_chan_recv(pong, &item);
        if (rc == 0)
            rc = weft_sleep(1);
    }
    return rc;
}

static int chan_ponger(const struct kind *k)
{
    (void)k;
    int rc = start_busy();
    for (int rounds = 0; rc == 0; went_round(&rounds)) {
        void *item;
        rc = weft_chan_recv(ping, &item);
        if (rc == 0)
            rc = weft_chan_send(pong, item);
    }
    return rc;
}

static int event_wait_forever(const struct kind *k)
{
    (void)k;
    arrive();
    return weft_event_wait(never_set);
}

static int sem_wait_forever(const struct kind *k)
{
    (void)k;
    arrive();
    return weft_sem_acquire(no_permits);
}

static int sem_contend(const struct kind *k)
{
    (void)k;
    int rc = start_busy();
    for (int rounds = 0; rc == 0; went_round(&rounds)) {
        rc = weft_sem_acquire(two_permits);
        if (rc != 0)
            break;
        rc = weft_yield(); /* holds the permit across a suspension */
        CHECK_EQ(weft_sem_release(two_permits), 0);
    }
    return rc;
}

/* Takes `held` and keeps it until cancelled. */
static int mutex_hold(const struct kind *k)
{
    (void)k;
    int rc = weft_mutex_lock(held);
    if (rc != 0)
        return rc;
    CHECK_EQ(weft_event_set(held_ev), 0);
    arrive();
    rc = weft_sleep(WEFT_FOREVER);
    CHECK_EQ(weft_mutex_unlock(held), 0);
    return rc;
}

/* Waits for `held`; gets it only when the holder lets go at the stop. */
static int mutex_wait(const struct kind *k)
{
    (void)k;
    int rc = weft_event_wait(held_ev);
    if (rc != 0)
        return rc;
    arrive();
    rc = weft_mutex_lock(held);
    if (rc == 0)
        CHECK_EQ(weft_mutex_unlock(held), 0);
    return rc;
}

static int mutex_contend(const struct kind *k)
{
    (void)k;
    int rc = start_busy();
    for (int rounds = 0; rc == 0; went_round(&rounds)) {
        rc = weft_mutex_lock(busy);
        if (rc != 0)
            break;
        rc = weft_yield();
        CHECK_EQ(weft_mutex_unlock(busy), 0);
    }
    return rc;
}

static int sleep_one(const struct kind *k)
{
    (void)k;
    return weft_sleep(1);
}

static const struct kind k_spawned = {"spawned", sleep_one, false, 0};

/* Spawns short-lived children for as long as it lives: one it lets go
 * of, and one it awaits (which paces it). */
static int spawner(const struct kind *k)
{
    (void)k;
    int rc = start_busy();
    for (int rounds = 0; rc == 0; went_round(&rounds)) {
        weft_task_t *t = weft_spawn(run_kind, (void *)&k_spawned);
        weft_task_t *u = weft_spawn(run_kind, (void *)&k_spawned);
        if (!t || !u)
            rc = weft_last_error();
        weft_task_release(t);
        if (u && (rc = weft_await(u, NULL)) == 0)
            rc = weft_yield(); /* u's own cancel may hide ours */
        weft_task_release(u);
    }
    return rc;
}

static int cpu_yield(const struct kind *k)
{
    (void)k;
    volatile uint64_t x = 1;
    int rc = start_busy();
    for (int rounds = 0; rc == 0; went_round(&rounds)) {
        for (int i = 0; i < 2000; i++)
            x = x * 6364136223846793005ull + 1442695040888963407ull;
        rc = weft_yield();
    }
    return rc;
}

static int nap(void *arg, void **result)
{
    (void)arg;
    (void)result;
    nanosleep(&(struct timespec){.tv_nsec = 200 * 1000}, NULL);
    return 0;
}

static int blocking_loop(const struct kind *k)
{
    (void)k;
    int rc = start_busy();
    for (int rounds = 0; rc == 0; went_round(&rounds)) {
        rc = weft_run_blocking(nap, NULL, NULL);
        if (rc == 0)
            rc = weft_yield(); /* the cancel left pending by a call that ran */
    }
    return rc;
}

/* ---- sockets --------------------------------------------------------------- */

static int echo_conn(void *arg, void **result);

/* Accepts on the listener (its own) until cancelled; a task per socket. */
static int acceptor_body(weft_sock_t *l)
{
    arrive();
    for (;;) {
        weft_sock_t *c;
        int rc = weft_tcp_accept(l, &c);
        if (rc != 0) {
            weft_close(l);
            return rc;
        }
        weft_task_t *t = weft_spawn(echo_conn, c);
        if (!t)
            weft_close(c);
        weft_task_release(t);
    }
}

static int acceptor(void *arg, void **result)
{
    (void)result;
    atomic_fetch_add(&started, 1);
    int rc = acceptor_body(arg);
    if (rc == WEFT_ECANCELED)
        atomic_fetch_add(&cancelled, 1);
    else
        CHECK(!"the acceptor ended without a cancel");
    atomic_fetch_add(&finished, 1);
    return rc;
}

/* The server's side of a connection: echoes until the peer or a cancel
 * ends it. */
static int echo_body(weft_sock_t *s)
{
    char buf[MSG];
    arrive();
    for (;;) {
        ssize_t n = weft_read(s, buf, sizeof buf);
        if (n <= 0) {
            weft_close(s);
            return (int)n;
        }
        int rc = weft_write(s, buf, (size_t)n);
        if (rc != 0) {
            weft_close(s);
            return rc;
        }
    }
}

static int echo_conn(void *arg, void **result)
{
    (void)result;
    atomic_fetch_add(&started, 1);
    int rc = echo_body(arg);
    if (rc == WEFT_ECANCELED)
        atomic_fetch_add(&cancelled, 1);
    else if (rc != 0)
        atomic_fetch_add(&net_errors, 1);
    atomic_fetch_add(&finished, 1);
    return rc;
}

/* A client that echoes messages for ever, or (silent) waits to read. */
static int client_body(const struct kind *k, bool silent)
{
    weft_sock_t *s;
    int rc = weft_tcp_connect("127.0.0.1", k->port, &s);
    if (rc != 0)
        return rc;
    arrive();
    char out[MSG], in[MSG];
    memset(out, 'w', sizeof out);
    for (;;) {
        if (!silent && (rc = weft_write(s, out, sizeof out)) != 0)
            break;
        size_t got = 0;
        while (got < sizeof in) {
            ssize_t n = weft_read(s, in + got, sizeof in - got);
            if (n <= 0) {
                rc = (int)n;
                goto out;
            }
            got += (size_t)n;
        }
        CHECK(memcmp(in, out, sizeof in) == 0);
    }
out:
    weft_close(s);
    return rc;
}

static int echo_client(const struct kind *k)
{
    return client_body(k, false);
}

static int silent_client(const struct kind *k)
{
    return client_body(k, true);
}

/* Connects to a listener nobody accepts on, whose backlog is full: the
 * connect hangs (the kernel drops the SYNs); one that gets through reads
 * for ever. */
static int connect_hang(const struct kind *k)
{
    weft_sock_t *s;
    arrive();
    int rc = weft_tcp_connect("127.0.0.1", k->port, &s);
    if (rc != 0)
        return rc;
    char c;
    ssize_t n = weft_read(s, &c, 1);
    weft_close(s);
    return n < 0 ? (int)n : 0;
}

/* Connects by name over and over: the stop may find it in the lookup on
 * the I/O thread's pool, in the connect, or closing. */
static int resolve_connect(const struct kind *k)
{
    int rc = start_busy();
    for (int rounds = 0; rc == 0; went_round(&rounds)) {
        weft_sock_t *s;
        rc = weft_tcp_connect("localhost", k->port, &s);
        if (rc == 0)
            weft_close(s);
    }
    return rc;
}

/* ---- the load ----------------------------------------------------------- */

/* How many tasks of each kind, and the kinds themselves. */
struct plan {
    long n;
    struct kind kind;
};

static struct plan plans[] = {
    {0, {"sleep_short", sleep_short, false, 0}},
    {0, {"sleep_forever", sleep_forever, false, 0}},
    {0, {"await", await_one, false, 0}},
    {0, {"gather", gather_some, false, 0}},
    {0, {"wait_for", wait_for_one, false, 0}},
    {0, {"timeout", timeout_scope, false, 0}},
    {0, {"as_completed", as_completed_some, false, 0}},
    {0, {"group", group_some, false, 0}},
    {0, {"chan_recv", chan_recv_forever, false, 0}},
    {0, {"chan_send", chan_send_forever, false, 0}},
    {0, {"chan_ping", chan_pinger, false, 0}},
    {0, {"chan_pong", chan_ponger, false, 0}},
    {0, {"event", event_wait_forever, false, 0}},
    {0, {"sem_wait", sem_wait_forever, false, 0}},
    {0, {"sem_contend", sem_contend, false, 0}},
    {0, {"mutex_hold", mutex_hold, false, 0}},
    {0, {"mutex_wait", mutex_wait, false, 0}},
    {0, {"mutex_contend", mutex_contend, false, 0}},
    {0, {"spawner", spawner, false, 0}},
    {0, {"cpu_yield", cpu_yield, false, 0}},
    {0, {"blocking", blocking_loop, false, 0}},
    {0, {"echo_client", echo_client, true, 0}},
    {0, {"silent_client", silent_client, true, 0}},
    {0, {"connect_hang", connect_hang, true, 0}},
    {0, {"resolve_connect", resolve_connect, true, 0}},
};

enum { P_SHORT, P_FOREVER, P_AWAIT, P_GATHER, P_WAIT_FOR, P_TIMEOUT, P_AS_COMPLETED, P_GROUP, P_RECV, P_SEND, P_PING, P_PONG,
       P_EVENT, P_SEM, P_SEM_BUSY, P_HOLD, P_MWAIT, P_MBUSY, P_SPAWNER, P_CPU, P_BLOCK,
       P_ECHO, P_SILENT, P_HANG, P_RESOLVE, P_COUNT };

static long at_least(long n, long min)
{
    return n > min ? n : min;
}

/* Splits about `scale` tasks over the kinds; returns how many will be in
 * place (children included, the acceptor and the server side too). */
static long plan_load(long scale)
{
    long tcp = at_least(scale / 1000, 2); /* connections per client kind */
    plans[P_SHORT].n = at_least(scale / 100, 2);
    plans[P_FOREVER].n = at_least(scale * 89 / 200, 1);
    plans[P_AWAIT].n = at_least(scale / 20, 1);          /* + as many awaited */
    plans[P_GATHER].n = at_least(scale / 100, 1);        /* + GATHER_K each */
    plans[P_WAIT_FOR].n = at_least(scale / 200, 1);      /* + as many awaited */
    plans[P_TIMEOUT].n = at_least(scale / 200, 1);
    plans[P_AS_COMPLETED].n = at_least(scale / 200, 1);  /* + 3 each */
    plans[P_GROUP].n = at_least(scale / 200, 1);         /* + GROUP_K each */
    plans[P_RECV].n = at_least(scale / 20, 1);
    plans[P_SEND].n = at_least(scale / 20, CHAN_CAP + 1);
    plans[P_PING].n = 4;
    plans[P_PONG].n = plans[P_PING].n;
    plans[P_EVENT].n = at_least(scale / 20, 1);
    plans[P_SEM].n = at_least(scale / 20, 1);
    plans[P_SEM_BUSY].n = at_least(scale / 1000, 3);
    plans[P_HOLD].n = 1;
    plans[P_MWAIT].n = at_least(scale / 20, 1);
    plans[P_MBUSY].n = at_least(scale / 1000, 2);
    plans[P_SPAWNER].n = at_least(scale / 500, 1);
    plans[P_CPU].n = at_least(scale / 10000, 2);
    plans[P_BLOCK].n = at_least(scale / 1000, 2);
    plans[P_ECHO].n = tcp;
    plans[P_SILENT].n = tcp;
    plans[P_HANG].n = tcp;
    plans[P_RESOLVE].n = 2;
    churners = plans[P_SHORT].n + plans[P_BLOCK].n + plans[P_RESOLVE].n + plans[P_PING].n + plans[P_PONG].n + plans[P_SEM_BUSY].n + plans[P_MBUSY].n +
               plans[P_SPAWNER].n + plans[P_CPU].n;
    long total = 0;
    for (int i = 0; i < P_COUNT; i++)
        total += plans[i].n;
    total += plans[P_AWAIT].n + plans[P_GATHER].n * GATHER_K + plans[P_WAIT_FOR].n +
             plans[P_AS_COMPLETED].n * 3 + plans[P_GROUP].n * GROUP_K;
    return total + 1 + plans[P_ECHO].n + plans[P_SILENT].n; /* acceptor, server side */
}

/* The first task: opens the listeners and spawns the load. */
static int setup(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_sock_t *echo_l, *full_l;
    int rc = weft_tcp_listen("127.0.0.1", 0, 0, &echo_l);
    CHECK_EQ(rc, 0);
    if (rc != 0)
        return rc;
    /* Nobody accepts here and it is never closed: weft_stop ends it. */
    rc = weft_tcp_listen("127.0.0.1", 0, 1, &full_l);
    CHECK_EQ(rc, 0);
    if (rc != 0)
        return rc;
    plans[P_ECHO].kind.port = plans[P_SILENT].kind.port = plans[P_RESOLVE].kind.port =
        weft_tcp_port(echo_l);
    plans[P_HANG].kind.port = weft_tcp_port(full_l);
    weft_task_t *a = weft_spawn(acceptor, echo_l);
    CHECK(a != NULL);
    weft_task_release(a);
    for (int i = 0; i < P_COUNT; i++) {
        for (long j = 0; j < plans[i].n; j++) {
            weft_task_t *t = spawn_kind(&plans[i].kind);
            if (!t)
                return weft_last_error();
            weft_task_release(t);
        }
    }
    return 0;
}

/* ---- the test ------------------------------------------------------------- */

static long scale_from_env(void)
{
    const char *v = getenv("WEFT_TEST_SCALE");
    long n = v ? strtol(v, NULL, 10) : 0;
    return n > 0 && n < SCALE ? n : SCALE;
}

struct stopper {
    weft_sched_t *s;
    bool early; /* stops while the load is still being built */
    int rc;
    double ms;
};

/* A thread of its own that is neither a worker nor the one that started
 * the scheduler: waits until the load is in place, then stops it. */
static void *stopper_main(void *arg)
{
    struct stopper *st = arg;
    CHECK_EQ(weft_event_wait(ready), 0);
    if (!st->early)
        CHECK_EQ(weft_event_wait(busy_ev), 0);
    double t0 = now_ms();
    st->rc = weft_stop(st->s);
    st->ms = now_ms() - t0;
    return NULL;
}

/*
 * Builds the load and stops it: once all of it is in place and every busy
 * task is busy, or (early) once a third of it is in place, with the rest
 * still being spawned and started.
 */
static void stop_load(bool early)
{
    long scale = scale_from_env();
    atomic_store(&started, 0);
    atomic_store(&finished, 0);
    atomic_store(&cancelled, 0);
    atomic_store(&net_errors, 0);
    atomic_store(&in_place, 0);
    atomic_store(&churning, 0);
    expected = plan_load(scale) + KEPT;
    stop_at = early ? expected / 3 : expected;
    ready = weft_event_new();
    busy_ev = weft_event_new();
    held_ev = weft_event_new();
    never_sent = weft_chan_new(0);
    never_read = weft_chan_new(CHAN_CAP);
    ping = weft_chan_new(0);
    pong = weft_chan_new(0);
    never_set = weft_event_new();
    no_permits = weft_sem_new(0);
    two_permits = weft_sem_new(2);
    held = weft_mutex_new();
    busy = weft_mutex_new();
    assert_true(ready && busy_ev && held_ev && never_sent && never_read && ping && pong &&
                never_set && no_permits && two_permits && held && busy);

    weft_sched_t *s = weft_start(NULL);
    assert_non_null(s);
    struct stopper st = {.s = s, .early = early, .rc = 1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stopper_main, &st), 0);
    weft_task_t *first = weft_submit(s, setup, NULL);
    assert_non_null(first);
    weft_task_release(first);
    /* Handles kept across the stop: weft_stop frees them. */
    for (int i = 0; i < KEPT; i++)
        assert_non_null(weft_submit(s, run_kind, (void *)&k_forever));
    assert_int_equal(pthread_join(th, NULL), 0);

    printf("%s, scale %ld: %ld in place, %ld busy, %ld bodies started, %ld finished (%ld cancelled, "
           "%ld ended by the peer's close); weft_stop took %.1f ms\n",
           early ? "early" : "all in place", scale, atomic_load(&in_place), atomic_load(&churning), atomic_load(&started), atomic_load(&finished),
           atomic_load(&cancelled), atomic_load(&net_errors), st.ms);
    assert_int_equal(st.rc, 0);
    assert_true(atomic_load(&in_place) >= stop_at);
    assert_int_equal(atomic_load(&started), atomic_load(&finished));
    if (!early) {
        assert_true(atomic_load(&churning) >= churners);
        /* Every task in place saw the cancel, but mutex waiters (handed
         * the mutex as the holder let go) and sockets (the peer may close
         * first). */
        assert_true(atomic_load(&cancelled) >= expected - plans[P_MWAIT].n -
                                                  2 * plans[P_ECHO].n - 2 * plans[P_SILENT].n -
                                                  plans[P_HANG].n - plans[P_RESOLVE].n);
    }
    assert_no_check_failures();

    /* What the test made itself is still its own to free. */
    weft_chan_free(never_sent);
    weft_chan_free(never_read);
    weft_chan_free(ping);
    weft_chan_free(pong);
    weft_event_free(never_set);
    weft_sem_free(no_permits);
    weft_sem_free(two_permits);
    weft_mutex_free(held);
    weft_mutex_free(busy);
    weft_event_free(ready);
    weft_event_free(busy_ev);
    weft_event_free(held_ev);
}

static void test_stop_under_load(void **state)
{
    (void)state;
    stop_load(false);
}

static void test_stop_while_building(void **state)
{
    (void)state;
    stop_load(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_under_load),
        cmocka_unit_test(test_stop_while_building),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
