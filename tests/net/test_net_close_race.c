/*
 * test_net_close_race.c - weft_close racing another task's socket calls:
 * a looping task calls weft_tcp_accept, weft_read or weft_write again and
 * again while the main task closes the socket under it, ROUNDS times per
 * kind of call, each round on a fresh socket.
 *
 * The promise checked (api/weft.h, docs/api.md "weft_close"): a call that
 * races with the close, or comes after it, returns its normal result or
 * UV_EBADF (-EBADF), never anything else, and never touches freed memory
 * (the AddressSanitizer build sees that; the Release build used to die
 * with "double free or corruption"); a second close returns UV_EBADF; and
 * once everything is closed, weft_stats' sockets_open is back to 0.
 *
 * The rounds take turns between four moments of the close:
 *   BEFORE   the close has returned before the looping task's first call;
 *   BETWEEN  the looping task has finished one call and waits, with the
 *            close, for its next one (the double free);
 *   INSIDE   the looping task has begun a call that can only wait (no
 *            connection, byte or room will come) when the close begins;
 *   RACE     the looping task runs freely with work to do, and the close
 *            comes at once or after yields and busy loads that vary by
 *            round: it lands before the first call, between two or in one,
 *            as it happens (the counts are printed).
 * The looping task lives for the whole case and gets its rounds through a
 * semaphore; it is started while the main task spins without yielding, so
 * the other worker takes it and the two run in parallel whenever two cores
 * are free (they interleave as the OS likes when not).  Ordering goes
 * through atomics, semaphores and weft_yield, never sleeps or timing.
 * Only 127.0.0.1 is used.
 *
 * ROUNDS is 10,000 per kind, under the sanitizers too (the write case is
 * the slowest: a write that waits has first filled about 4 MB of socket
 * buffers, which ThreadSanitizer checks byte by byte; about 40 s there on
 * two cores).  WEFT_TEST_SCALE in the environment lowers it.
 * A name as the first argument runs only the tests whose names match it.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime (check.h), ssize_t under -std=c11 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/check.h"
#include "weft.h"

#define ROUNDS 10000
#define LOCAL "127.0.0.1"
#define MAX_CONNS 3              /* connections waiting for a RACE accept loop */
#define SMALL_WRITE 256          /* a write that finds room */
#define LOOP_WRITE (64u << 10)   /* a tight loop's writes: room for a few dozen */
#define BIG_WRITE (16u << 20)    /* a write that cannot finish: nobody reads */
#define WAIT_LIMIT_MS 20000.0    /* an event that never comes fails the test */
#define STEAL_SPIN_MS 2000.0     /* how long main spins for the looper to be taken */
#define MAX_CALLS 1000000        /* a loop that never sees the close fails too */

enum kind { K_ACCEPT, K_READ, K_WRITE };
enum moment { M_BEFORE, M_BETWEEN, M_INSIDE, M_RACE, M_COUNT };

/* One round: the socket the looper calls on and what both sides saw. */
struct round {
    enum kind kind;
    enum moment moment;
    unsigned step;             /* the round's number among its moment's */
    unsigned yields;           /* RACE: the closer's yields before closing */
    unsigned spins;            /* RACE: and its busy loads after them */
    weft_sock_t *s;            /* the socket the looper uses and main closes */
    atomic_int started;        /* the looper has the round */
    atomic_int entering;       /* INSIDE: the looper is about to call */
    atomic_int paused;         /* BETWEEN: one call done, the looper waits */
    atomic_int closing;        /* the closer is about to call weft_close */
    atomic_int closed;         /* weft_close has returned */
    weft_sock_t *accepted[MAX_CONNS + 1]; /* connections the looper took */
    int n_accepted;
    long calls_ok;             /* calls that returned their normal result */
    bool ebadf_in_flight;      /* the call that got UV_EBADF began before the close */
};

/* Per kind: rounds per moment, and the evidence that the moments met. */
struct tally {
    long rounds[M_COUNT];
    long calls_ok;
    long in_flight; /* rounds whose call was under way when the close came */
    long race[3];   /* RACE rounds whose close came before the first call,
                       between two calls, during one */
};

/* What the main task and the looper share for one case. */
struct case_arg {
    enum kind kind;
    long rounds;
    struct tally tally;
    uint64_t sockets_open;     /* at the end, everything closed */
    weft_sem_t *go;            /* main -> looper: cur is the next round */
    weft_sem_t *done;          /* looper -> main: that round is over */
    struct round *cur;         /* the round, NULL to stop; the semaphores order it */
    atomic_int looper_up;
};

static long rounds_from_env(void)
{
    const char *v = getenv("WEFT_TEST_SCALE");
    long n = v ? strtol(v, NULL, 10) : 0;
    return n > 0 && n < ROUNDS ? n : ROUNDS;
}

static char *big_buffer(void)
{
    static char *buf;
    if (!buf)
        buf = calloc(1, BIG_WRITE);
    return buf;
}

/* Yields until *flag is set; false (and a failed check) after 20 s. */
static bool wait_flag(atomic_int *flag)
{
    double start = now_ms();
    while (!atomic_load(flag)) {
        if (now_ms() - start > WAIT_LIMIT_MS) {
            CHECK(!"wait_flag: the event never came");
            return false;
        }
        weft_yield();
    }
    return true;
}

/* One call of the round's kind on r->s: 0 for a normal result, else the
 * code.  A read's normal result is at least one byte (the peer never ends
 * the stream first); an accept's is a connection, kept for main to close. */
static int one_call(struct round *r, size_t write_len)
{
    switch (r->kind) {
    case K_ACCEPT: {
        weft_sock_t *c = NULL;
        int rc = weft_tcp_accept(r->s, &c);
        if (rc == 0) {
            CHECK(c != NULL);
            CHECK(r->n_accepted < MAX_CONNS + 1);
            if (r->n_accepted < MAX_CONNS + 1)
                r->accepted[r->n_accepted++] = c;
            else
                weft_close(c);
        } else {
            CHECK(c == NULL);
        }
        return rc;
    }
    case K_READ: {
        char buf[64];
        ssize_t n = weft_read(r->s, buf, sizeof buf);
        if (n == 0)
            return WEFT_EINVAL; /* an end of stream nobody made: wrong */
        return n > 0 ? 0 : (int)n;
    }
    case K_WRITE:
        return weft_write(r->s, big_buffer(), write_len);
    }
    return WEFT_EINVAL;
}

/* The looper's round: calls until one returns UV_EBADF, checking that
 * every result before it was normal; then one more call, which must get
 * UV_EBADF as well. */
static void loop_round(struct round *r)
{
    atomic_store(&r->started, 1);
    if (r->moment == M_BETWEEN) {
        CHECK_EQ(one_call(r, SMALL_WRITE), 0);
        r->calls_ok++;
        atomic_store(&r->paused, 1);
        if (!wait_flag(&r->closed))
            return;
    }
    /* RACE: a third of the loops yield between calls, so that the close
     * lands between two more often; the others call back to back (and
     * fill the peer's buffers in a few dozen writes). */
    bool yielding = r->moment == M_RACE && r->step % 3 == 0;
    size_t len = r->moment == M_INSIDE || (r->moment == M_RACE && r->step % 5 == 4) ? BIG_WRITE
                 : yielding                                                       ? SMALL_WRITE
                                                                                  : LOOP_WRITE;
    for (long i = 0;; i++) {
        if (i == MAX_CALLS) {
            CHECK(!"the loop never saw the close");
            return;
        }
        bool before_close = !atomic_load(&r->closing);
        if (r->moment == M_INSIDE)
            atomic_store(&r->entering, 1);
        int rc = one_call(r, len);
        if (rc == 0) {
            r->calls_ok++;
            if (yielding)
                weft_yield();
            continue;
        }
        CHECK_EQ(rc, -EBADF);
        if (rc != -EBADF)
            return;
        r->ebadf_in_flight = before_close;
        break;
    }
    /* UV_EBADF comes from a close only, and a call after it gets it too. */
    CHECK(atomic_load(&r->closing));
    CHECK_EQ(one_call(r, SMALL_WRITE), -EBADF);
}

static int looper(void *arg, void **result)
{
    (void)result;
    struct case_arg *c = arg;
    atomic_store(&c->looper_up, 1);
    for (;;) {
        int rc = weft_sem_acquire(c->go);
        CHECK_EQ(rc, 0);
        if (rc != 0)
            return rc;
        struct round *r = c->cur;
        if (!r)
            return 0;
        loop_round(r);
        CHECK_EQ(weft_sem_release(c->done), 0);
    }
}

static void start_round(struct case_arg *c, struct round *r)
{
    c->cur = r;
    CHECK_EQ(weft_sem_release(c->go), 0);
}

static void close_it(struct round *r)
{
    atomic_store(&r->closing, 1);
    CHECK_EQ(weft_close(r->s), 0);
    atomic_store(&r->closed, 1);
}

/* Hands r to the looper and closes r->s at the round's moment. */
static void close_at_moment(struct case_arg *c, struct round *r)
{
    if (r->moment == M_BEFORE) {
        close_it(r);
        start_round(c, r);
        return;
    }
    start_round(c, r);
    switch (r->moment) {
    case M_BETWEEN:
        wait_flag(&r->paused);
        break;
    case M_INSIDE:
        wait_flag(&r->entering);
        weft_yield(); /* most likely suspended in its call by now */
        break;
    default:
        if (r->yields > 0)
            wait_flag(&r->started);
        for (unsigned i = 0; i < r->yields; i++)
            weft_yield();
        for (unsigned i = 0; i < r->spins; i++)
            (void)atomic_load_explicit(&r->entering, memory_order_relaxed);
        break;
    }
    close_it(r);
}

/* Waits for the looper to finish r and counts what it saw. */
static void finish_round(struct case_arg *c, struct round *r)
{
    CHECK_EQ(weft_sem_acquire(c->done), 0);
    /* The handle stays closed: a second close is a call after the close. */
    CHECK_EQ(weft_close(r->s), -EBADF);
    struct tally *t = &c->tally;
    t->rounds[r->moment]++;
    t->calls_ok += r->calls_ok;
    t->in_flight += r->ebadf_in_flight;
    if (r->moment == M_RACE)
        t->race[r->ebadf_in_flight ? 2 : r->calls_ok > 0 ? 1 : 0]++;
}

static void round_plan(struct round *r, enum kind kind, long i)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->moment = (enum moment)(i % M_COUNT);
    r->step = (unsigned)(i / M_COUNT);
    /* 0 yields: the close goes at once, racing the looper's first call. */
    r->yields = r->step % 7;
    r->spins = (r->step / 7 % 8) * 250;
}

/* ---- accept ---------------------------------------------------------------- */

static void accept_rounds(struct case_arg *c)
{
    for (long i = 0; i < c->rounds; i++) {
        struct round r;
        round_plan(&r, K_ACCEPT, i);
        CHECK_EQ(weft_tcp_listen(LOCAL, 0, 16, &r.s), 0);
        if (!r.s)
            return;
        /* Connections already in the backlog: one for BETWEEN's first
         * accept, 0..MAX_CONNS for RACE, none for INSIDE and BEFORE. */
        int n = r.moment == M_BETWEEN ? 1
                : r.moment == M_RACE  ? (int)(r.step % (MAX_CONNS + 1))
                                      : 0;
        weft_sock_t *clients[MAX_CONNS];
        int port = weft_tcp_port(r.s);
        for (int k = 0; k < n; k++)
            CHECK_EQ(weft_tcp_connect(LOCAL, port, &clients[k]), 0);
        close_at_moment(c, &r);
        finish_round(c, &r);
        /* The clients close first: their TIME_WAIT keeps no listener port. */
        for (int k = 0; k < n; k++)
            CHECK_EQ(weft_close(clients[k]), 0);
        for (int k = 0; k < r.n_accepted; k++)
            CHECK_EQ(weft_close(r.accepted[k]), 0);
    }
}

/* ---- read and write: a fresh connected pair per round ---------------------- */

static void stream_rounds(struct case_arg *c)
{
    weft_sock_t *l;
    CHECK_EQ(weft_tcp_listen(LOCAL, 0, 16, &l), 0);
    if (!l)
        return;
    int port = weft_tcp_port(l);
    for (long i = 0; i < c->rounds; i++) {
        struct round r;
        round_plan(&r, c->kind, i);
        weft_sock_t *peer;
        CHECK_EQ(weft_tcp_connect(LOCAL, port, &peer), 0);
        CHECK_EQ(weft_tcp_accept(l, &r.s), 0);
        if (!peer || !r.s)
            break;
        /* Reads: a byte for BETWEEN's first read, a few for RACE, none
         * for INSIDE.  Writes: nobody reads, so a write of BIG_WRITE
         * always ends up waiting for room. */
        if (c->kind == K_READ) {
            int n = r.moment == M_BETWEEN ? 1 : r.moment == M_RACE ? (int)(r.step % 4) * 50 : 0;
            if (n > 0)
                CHECK_EQ(weft_write(peer, big_buffer(), (size_t)n), 0);
        }
        close_at_moment(c, &r);
        finish_round(c, &r);
        CHECK_EQ(weft_close(peer), 0);
    }
    CHECK_EQ(weft_close(l), 0);
}

/* ---- the cases --------------------------------------------------------------- */

/* Spawns the looper and spins, without yielding, until it runs: only the
 * other worker can have taken it then.  Yields after STEAL_SPIN_MS. */
static weft_task_t *start_looper(struct case_arg *c)
{
    weft_task_t *t = weft_spawn(looper, c);
    CHECK(t != NULL);
    double start = now_ms();
    while (t && !atomic_load(&c->looper_up) && now_ms() - start < STEAL_SPIN_MS)
        ;
    if (t && !atomic_load(&c->looper_up)) {
        printf("the looper was not taken by the other worker: both share one\n");
        wait_flag(&c->looper_up);
    }
    return t;
}

static int case_main(void *arg, void **result)
{
    (void)result;
    struct case_arg *c = arg;
    if (!big_buffer())
        return WEFT_ENOMEM;
    c->go = weft_sem_new(0);
    c->done = weft_sem_new(0);
    CHECK(c->go && c->done);
    weft_task_t *t = c->go && c->done ? start_looper(c) : NULL;
    if (t) {
        if (c->kind == K_ACCEPT)
            accept_rounds(c);
        else
            stream_rounds(c);
        start_round(c, NULL); /* stop */
        CHECK_EQ(weft_await(t, NULL), 0);
        weft_task_release(t);
    }
    weft_sem_free(c->go);
    weft_sem_free(c->done);
    weft_stats_t st;
    CHECK_EQ(weft_stats(&st), 0);
    c->sockets_open = st.sockets_open;
    return 0;
}

static void run_case(enum kind kind, const char *what)
{
    struct case_arg c = {.kind = kind, .rounds = rounds_from_env()};
    weft_config_t cfg = {.workers = 2};
    double start = now_ms();
    assert_int_equal(weft_run(&cfg, case_main, &c, NULL), 0);
    struct tally *t = &c.tally;
    printf("%s: %ld rounds in %.0f ms (before %ld, between %ld, inside %ld, race %ld: "
           "landing before %ld, between %ld, during %ld); %ld normal results; "
           "UV_EBADF to a call under way when the close came: %ld\n",
           what, c.rounds, now_ms() - start, t->rounds[M_BEFORE], t->rounds[M_BETWEEN],
           t->rounds[M_INSIDE], t->rounds[M_RACE], t->race[0], t->race[1], t->race[2],
           t->calls_ok, t->in_flight);
    assert_no_check_failures();
    long total = 0;
    for (int m = 0; m < M_COUNT; m++)
        total += t->rounds[m];
    assert_int_equal(total, c.rounds);
    /* BETWEEN's first call is always normal; INSIDE's calls begin before
     * the close by construction. */
    assert_true(t->calls_ok >= t->rounds[M_BETWEEN]);
    assert_true(t->in_flight >= t->rounds[M_INSIDE]);
    assert_int_equal(c.sockets_open, 0);
}

static void test_close_races_accept_loop(void **state)
{
    (void)state;
    run_case(K_ACCEPT, "accept");
}

static void test_close_races_read_loop(void **state)
{
    (void)state;
    run_case(K_READ, "read");
}

static void test_close_races_write_loop(void **state)
{
    (void)state;
    run_case(K_WRITE, "write");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_close_races_accept_loop),
        cmocka_unit_test(test_close_races_read_loop),
        cmocka_unit_test(test_close_races_write_loop),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(big_buffer());
    return rc;
}
