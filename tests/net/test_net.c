/*
 * test_net.c - TCP sockets: many connections echoing checked bytes, the
 * errors of the network (refused, reset, broken pipe, address in use), end
 * of stream, cancelling a blocked accept, read and connect, a close while a
 * read waits, bad input, IPv6 and names, and weft_stop with sockets left
 * open (valgrind's memcheck runs that one in the Release build).
 *
 * Every port comes from port 0 on 127.0.0.1.  Ordering between tasks goes
 * through atomics and events, never timing.  A name as the first argument
 * runs only the tests whose names match it (cmocka's filter).
 */
#define _GNU_SOURCE /* SO_LINGER, accept4 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../unit/check.h"
#include "weft.h"

#ifdef WEFT_TSAN
#define ECHO_CONNS 50
#define ECHO_MSGS 200
#else
#define ECHO_CONNS 200
#define ECHO_MSGS 1000
#endif

#define LOCAL "127.0.0.1"

static void run_main(unsigned workers, weft_fn fn, void *arg)
{
    weft_config_t cfg = {.workers = workers};
    assert_int_equal(weft_run(&cfg, fn, arg, NULL), 0);
    assert_no_check_failures();
}

/* Suspends the calling task until *flag is set (1 ms naps). */
static void wait_flag(atomic_int *flag)
{
    double start = now_ms();
    while (!atomic_load(flag)) {
        if (now_ms() - start > 20000.0) {
            CHECK(!"wait_flag: the event never came");
            return;
        }
        weft_sleep(1);
    }
}

/* A connected pair made by one task: *a dialled, *b accepted.  The
 * listener is closed. */
static void connect_pair(weft_sock_t **a, weft_sock_t **b)
{
    weft_sock_t *l;
    CHECK_EQ(weft_tcp_listen(LOCAL, 0, 16, &l), 0);
    CHECK_EQ(weft_tcp_connect(LOCAL, weft_tcp_port(l), a), 0);
    CHECK_EQ(weft_tcp_accept(l, b), 0);
    CHECK_EQ(weft_close(l), 0);
}

/* Reads exactly len bytes; false at an early end or error. */
static bool read_full(weft_sock_t *s, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = weft_read(s, p, len);
        if (n <= 0) {
            CHECK(n > 0);
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* ---- many connections, every byte checked -------------------------------- */

static int echo_conn(void *arg, void **result)
{
    (void)result;
    weft_sock_t *s = arg;
    char buf[4096];
    ssize_t n;
    int rc = 0;
    while ((n = weft_read(s, buf, sizeof buf)) > 0) {
        rc = weft_write(s, buf, (size_t)n);
        if (rc != 0)
            break;
    }
    CHECK(n == 0 || rc == 0);
    CHECK_EQ(rc, 0);
    CHECK_EQ(weft_close(s), 0);
    return 0;
}

static int acceptor(void *arg, void **result)
{
    (void)result;
    weft_sock_t *l = arg;
    for (;;) {
        weft_sock_t *c;
        int rc = weft_tcp_accept(l, &c);
        if (rc == WEFT_ECANCELED)
            return rc;
        CHECK_EQ(rc, 0);
        if (rc != 0)
            return rc;
        weft_task_t *t = weft_spawn(echo_conn, c);
        CHECK(t != NULL);
        weft_task_release(t);
    }
}

struct client {
    int port;
    unsigned id;
    unsigned msgs;
    atomic_long *checked;
};

/* Message i of client id: a length and bytes that differ per both. */
static size_t msg_len(unsigned id, unsigned i)
{
    return 1 + (id * 131u + i * 31u) % 700u;
}

static unsigned char msg_byte(unsigned id, unsigned i, size_t k)
{
    return (unsigned char)(id * 7u + i * 13u + k);
}

static int echo_client(void *arg, void **result)
{
    (void)result;
    struct client *c = arg;
    weft_sock_t *s;
    CHECK_EQ(weft_tcp_connect(LOCAL, c->port, &s), 0);
    if (!s)
        return -1;
    unsigned char out[1024], in[1024];
    long bytes = 0;
    for (unsigned i = 0; i < c->msgs; i++) {
        size_t len = msg_len(c->id, i);
        for (size_t k = 0; k < len; k++)
            out[k] = msg_byte(c->id, i, k);
        CHECK_EQ(weft_write(s, out, len), 0);
        if (!read_full(s, in, len))
            break;
        CHECK(memcmp(in, out, len) == 0);
        bytes += (long)len;
    }
    CHECK_EQ(weft_close(s), 0);
    atomic_fetch_add(c->checked, bytes);
    return 0;
}

static int echo_many(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_sock_t *l;
    CHECK_EQ(weft_tcp_listen(LOCAL, 0, 0, &l), 0);
    int port = weft_tcp_port(l);
    CHECK(port > 0);
    weft_task_t *acc = weft_spawn(acceptor, l);
    static struct client clients[ECHO_CONNS];
    weft_task_t *tasks[ECHO_CONNS];
    atomic_long checked = 0;
    long want = 0;
    for (unsigned i = 0; i < ECHO_CONNS; i++) {
        clients[i] = (struct client){.port = port, .id = i, .msgs = ECHO_MSGS, .checked = &checked};
        for (unsigned m = 0; m < ECHO_MSGS; m++)
            want += (long)msg_len(i, m);
        tasks[i] = weft_spawn(echo_client, &clients[i]);
    }
    CHECK_EQ(weft_gather(tasks, ECHO_CONNS, NULL, WEFT_RETURN_EXCEPTIONS), 0);
    for (unsigned i = 0; i < ECHO_CONNS; i++) {
        CHECK_EQ(weft_await(tasks[i], NULL), 0);
        weft_task_release(tasks[i]);
    }
    CHECK_EQ(atomic_load(&checked), want);
    weft_cancel(acc);
    CHECK_EQ(weft_await(acc, NULL), WEFT_ECANCELED);
    weft_task_release(acc);
    CHECK_EQ(weft_close(l), 0);
    return 0;
}

static void test_echo_many_connections(void **state)
{
    (void)state;
    run_main(4, echo_many, NULL);
}

/* ---- end of stream ------------------------------------------------------- */

static int end_of_stream(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_sock_t *a, *b;
    connect_pair(&a, &b);
    CHECK_EQ(weft_write(a, "abc", 3), 0);
    CHECK_EQ(weft_close(a), 0);
    char buf[8];
    CHECK(read_full(b, buf, 3));
    CHECK(memcmp(buf, "abc", 3) == 0);
    CHECK_EQ(weft_read(b, buf, sizeof buf), 0);
    CHECK_EQ(weft_read(b, buf, sizeof buf), 0); /* and it stays so */
    CHECK_EQ(weft_read(b, buf, 0), 0);
    CHECK_EQ(weft_close(b), 0);
    return 0;
}

static void test_end_of_stream_reads_zero(void **state)
{
    (void)state;
    run_main(2, end_of_stream, NULL);
}

/* ---- the network's errors ------------------------------------------------ */

static int refused(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_sock_t *l, *c = (weft_sock_t *)&c;
    CHECK_EQ(weft_tcp_listen(LOCAL, 0, 0, &l), 0);
    int port = weft_tcp_port(l);
    CHECK_EQ(weft_close(l), 0);
    CHECK_EQ(weft_tcp_connect(LOCAL, port, &c), -ECONNREFUSED);
    CHECK(c == NULL);
    return 0;
}

static void test_connect_to_closed_port_is_refused(void **state)
{
    (void)state;
    run_main(2, refused, NULL);
}

static int addr_in_use(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_sock_t *l, *m;
    CHECK_EQ(weft_tcp_listen(LOCAL, 0, 0, &l), 0);
    CHECK_EQ(weft_tcp_listen(LOCAL, weft_tcp_port(l), 0, &m), -EADDRINUSE);
    CHECK_EQ(weft_close(l), 0);
    return 0;
}

static void test_listen_on_used_port_is_addrinuse(void **state)
{
    (void)state;
    run_main(2, addr_in_use, NULL);
}

/* A plain socket connected to port, which the test closes with a reset. */
static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK_EQ(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    return fd;
}

static void raw_reset(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(fd);
}

static int reset_by_peer(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_sock_t *l, *s;
    CHECK_EQ(weft_tcp_listen(LOCAL, 0, 0, &l), 0);
    /* The kernel completes the handshake before accept: no wait here. */
    int fd = raw_connect(weft_tcp_port(l));
    CHECK_EQ(weft_tcp_accept(l, &s), 0);
    raw_reset(fd);
    char buf[16];
    CHECK_EQ(weft_read(s, buf, sizeof buf), -ECONNRESET);
    CHECK_EQ(weft_close(s), 0);

    /* The other way: a write meets the reset (the first may still be
     * taken by the kernel; the reset comes back on a later one). */
    fd = raw_connect(weft_tcp_port(l));
    CHECK_EQ(weft_tcp_accept(l, &s), 0);
    raw_reset(fd);
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++)
        rc = weft_write(s, buf, sizeof buf);
    CHECK(rc == -ECONNRESET || rc == -EPIPE);
    CHECK_EQ(weft_close(s), 0);
    CHECK_EQ(weft_close(l), 0);
    return 0;
}

static void test_reset_by_peer_is_econnreset(void **state)
{
    (void)state;
    run_main(2, reset_by_peer, NULL);
}

struct mid_write {
    weft_sock_t *s;
    atomic_int started;
};

static int close_after_some(void *arg, void **result)
{
    (void)result;
    struct mid_write *m = arg;
    char buf[1024];
    CHECK(read_full(m->s, buf, sizeof buf)); /* the writer is under way */
    atomic_store(&m->started, 1);
    /* Unread bytes are left: the kernel answers with a reset. */
    CHECK_EQ(weft_close(m->s), 0);
    return 0;
}

static int peer_closes_mid_write(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_sock_t *a;
    struct mid_write m = {0};
    connect_pair(&a, &m.s);
    weft_task_t *t = weft_spawn(close_after_some, &m);
    size_t len = 64u << 20;
    char *big = calloc(1, len);
    int rc = weft_write(a, big, len);
    CHECK(rc == -EPIPE || rc == -ECONNRESET);
    CHECK(atomic_load(&m.started));
    free(big);
    CHECK_EQ(weft_await(t, NULL), 0);
    weft_task_release(t);
    CHECK_EQ(weft_close(a), 0);
    return 0;
}

static void test_peer_closes_mid_write_is_epipe_or_reset(void **state)
{
    (void)state;
    run_main(2, peer_closes_mid_write, NULL);
}

/* ---- cancelling blocked calls ---------------------------------------------- */

struct blocked {
    weft_sock_t *s;
    atomic_int entered;
    ssize_t rc;
};

static int accept_blocked(void *arg, void **result)
{
    (void)result;
    struct blocked *b = arg;
    weft_sock_t *c = (weft_sock_t *)&c;
    atomic_store(&b->entered, 1);
    b->rc = weft_tcp_accept(b->s, &c);
    CHECK(c == NULL);
    return (int)b->rc;
}

static int read_blocked(void *arg, void **result)
{
    (void)result;
    struct blocked *b = arg;
    char buf[16];
    atomic_store(&b->entered, 1);
    b->rc = weft_read(b->s, buf, sizeof buf);
    return b->rc < 0 ? (int)b->rc : 0;
}

static int cancel_blocked(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* accept */
    struct blocked b = {0};
    CHECK_EQ(weft_tcp_listen(LOCAL, 0, 0, &b.s), 0);
    weft_task_t *t = weft_spawn(accept_blocked, &b);
    wait_flag(&b.entered);
    CHECK_EQ(weft_sleep(5), 0); /* most likely asleep in accept by now */
    CHECK_EQ(weft_cancel(t), 1);
    CHECK_EQ(weft_await(t, NULL), WEFT_ECANCELED);
    weft_task_release(t);
    /* The listener still works, then closes. */
    weft_sock_t *c, *d;
    CHECK_EQ(weft_tcp_connect(LOCAL, weft_tcp_port(b.s), &c), 0);
    CHECK_EQ(weft_tcp_accept(b.s, &d), 0);
    CHECK_EQ(weft_close(b.s), 0);

    /* read: a cancelled read takes no bytes */
    struct blocked r = {.s = d};
    t = weft_spawn(read_blocked, &r);
    wait_flag(&r.entered);
    CHECK_EQ(weft_sleep(5), 0);
    CHECK_EQ(weft_cancel(t), 1);
    CHECK_EQ(weft_await(t, NULL), WEFT_ECANCELED);
    weft_task_release(t);
    CHECK_EQ(weft_write(c, "xyz", 3), 0);
    char buf[4];
    CHECK(read_full(d, buf, 3));
    CHECK(memcmp(buf, "xyz", 3) == 0);
    CHECK_EQ(weft_close(c), 0);
    CHECK_EQ(weft_close(d), 0);
    return 0;
}

static void test_cancel_blocked_accept_and_read(void **state)
{
    (void)state;
    run_main(2, cancel_blocked, NULL);
}

static int connect_far(void *arg, void **result)
{
    (void)result;
    (void)arg;
    weft_sock_t *s = (weft_sock_t *)&s;
    /* TEST-NET-1 (RFC 5737): never answers, or is unreachable here. */
    int rc = weft_tcp_connect("192.0.2.1", 9, &s);
    CHECK(s == NULL);
    return rc;
}

static int cancel_connect(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *t = weft_spawn(connect_far, NULL);
    CHECK_EQ(weft_sleep(5), 0);
    weft_cancel(t);
    int rc = weft_await(t, NULL);
    CHECK(rc < 0); /* cancelled, or the network said no first */
    weft_task_release(t);
    return 0;
}

static void test_cancel_blocked_connect(void **state)
{
    (void)state;
    run_main(2, cancel_connect, NULL);
}

/* ---- close while a read waits, and calls racing with a close --------------- */

static int close_wakes_reader(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_sock_t *a;
    struct blocked r = {0};
    connect_pair(&a, &r.s);
    weft_task_t *t = weft_spawn(read_blocked, &r);
    wait_flag(&r.entered);
    CHECK_EQ(weft_sleep(5), 0);
    CHECK_EQ(weft_close(r.s), 0);
    CHECK_EQ(weft_await(t, NULL), -EBADF);
    CHECK_EQ(r.rc, -EBADF);
    weft_task_release(t);
    /* The peer sees the end of the stream. */
    char buf[4];
    CHECK_EQ(weft_read(a, buf, sizeof buf), 0);
    CHECK_EQ(weft_close(a), 0);
    return 0;
}

static void test_close_while_read_waits_is_ebadf(void **state)
{
    (void)state;
    run_main(2, close_wakes_reader, NULL);
}

static int second_reader(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_sock_t *a;
    struct blocked r = {0};
    connect_pair(&a, &r.s);
    weft_task_t *t = weft_spawn(read_blocked, &r);
    wait_flag(&r.entered);
    CHECK_EQ(weft_sleep(5), 0);
    char buf[4];
    CHECK_EQ(weft_read(r.s, buf, sizeof buf), -EBUSY);
    CHECK_EQ(weft_write(a, "k", 1), 0);
    CHECK_EQ(weft_await(t, NULL), 0);
    CHECK_EQ(r.rc, 1);
    weft_task_release(t);
    CHECK_EQ(weft_close(a), 0);
    CHECK_EQ(weft_close(r.s), 0);
    return 0;
}

static void test_second_concurrent_read_is_ebusy(void **state)
{
    (void)state;
    run_main(2, second_reader, NULL);
}

/* ---- bad input ----------------------------------------------------------- */

static int bad_input(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_sock_t *s;
    CHECK_EQ(weft_tcp_listen(LOCAL, 0, 0, NULL), WEFT_EINVAL);
    CHECK_EQ(weft_tcp_listen(LOCAL, -1, 0, &s), WEFT_EINVAL);
    CHECK_EQ(weft_tcp_listen(LOCAL, 65536, 0, &s), WEFT_EINVAL);
    CHECK_EQ(weft_tcp_listen(LOCAL, 0, -1, &s), WEFT_EINVAL);
    CHECK_EQ(weft_tcp_connect(NULL, 80, &s), WEFT_EINVAL);
    CHECK_EQ(weft_tcp_connect(LOCAL, 0, &s), WEFT_EINVAL);
    CHECK_EQ(weft_tcp_connect(LOCAL, 65536, &s), WEFT_EINVAL);
    CHECK_EQ(weft_tcp_connect(LOCAL, 80, NULL), WEFT_EINVAL);
    CHECK_EQ(weft_tcp_accept(NULL, &s), WEFT_EINVAL);
    CHECK_EQ(weft_tcp_port(NULL), WEFT_EINVAL);
    CHECK_EQ(weft_read(NULL, &s, 1), WEFT_EINVAL);
    CHECK_EQ(weft_write(NULL, "x", 1), WEFT_EINVAL);
    CHECK_EQ(weft_close(NULL), WEFT_EINVAL);
    CHECK(weft_tcp_connect("no-such-host.invalid", 80, &s) < 0);

    weft_sock_t *l, *a, *b;
    CHECK_EQ(weft_tcp_listen(LOCAL, 0, 0, &l), 0);
    CHECK_EQ(weft_tcp_accept(l, NULL), WEFT_EINVAL);
    char buf[4];
    CHECK_EQ(weft_read(l, buf, sizeof buf), WEFT_EINVAL);  /* a listener */
    CHECK_EQ(weft_write(l, buf, sizeof buf), WEFT_EINVAL);
    CHECK_EQ(weft_tcp_connect(LOCAL, weft_tcp_port(l), &a), 0);
    CHECK_EQ(weft_tcp_accept(l, &b), 0);
    CHECK_EQ(weft_tcp_accept(a, &s), WEFT_EINVAL); /* not a listener */
    CHECK_EQ(weft_read(a, NULL, 1), WEFT_EINVAL);
    CHECK_EQ(weft_write(a, NULL, 1), WEFT_EINVAL);
    CHECK_EQ(weft_tcp_port(a) > 0, 1);
    CHECK_EQ(weft_tcp_port(b), weft_tcp_port(l));
    CHECK_EQ(weft_close(a), 0);
    CHECK_EQ(weft_close(b), 0);
    CHECK_EQ(weft_close(l), 0);
    return 0;
}

static void test_bad_input_is_einval(void **state)
{
    (void)state;
    run_main(2, bad_input, NULL);
}

static int make_pair(void *arg, void **result)
{
    (void)result;
    weft_sock_t **p = arg;
    connect_pair(&p[0], &p[1]);
    CHECK_EQ(weft_tcp_listen(LOCAL, 0, 0, &p[2]), 0);
    return 0;
}

static void test_outside_a_task_is_eperm(void **state)
{
    (void)state;
    weft_sock_t *s, *p[3];
    char buf[4];
    assert_int_equal(weft_tcp_listen(LOCAL, 0, 0, &s), WEFT_EPERM);
    assert_int_equal(weft_tcp_connect(LOCAL, 80, &s), WEFT_EPERM);
    /* Sockets made in a task, used from this plain thread. */
    weft_sched_t *sc = weft_start(&(weft_config_t){.workers = 1});
    assert_non_null(sc);
    weft_task_t *t = weft_submit(sc, make_pair, p);
    assert_int_equal(weft_block_on(t, NULL), 0);
    weft_task_release(t);
    assert_no_check_failures();
    assert_int_equal(weft_read(p[0], buf, sizeof buf), WEFT_EPERM);
    assert_int_equal(weft_write(p[0], buf, sizeof buf), WEFT_EPERM);
    assert_int_equal(weft_tcp_accept(p[2], &s), WEFT_EPERM);
    assert_true(weft_tcp_port(p[2]) > 0); /* any thread */
    assert_int_equal(weft_close(p[0]), 0); /* any thread */
    /* p[1] and p[2] are left for weft_stop. */
    assert_int_equal(weft_stop(sc), 0);
}

/* ---- IPv6 and names ------------------------------------------------------- */

static int ipv6(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_sock_t *l, *a, *b;
    int rc = weft_tcp_listen("::1", 0, 0, &l);
    if (rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT) {
        *(int *)arg = 1; /* no IPv6 here */
        return 0;
    }
    CHECK_EQ(rc, 0);
    if (rc != 0)
        return 0;
    CHECK_EQ(weft_tcp_connect("::1", weft_tcp_port(l), &a), 0);
    CHECK_EQ(weft_tcp_accept(l, &b), 0);
    CHECK_EQ(weft_write(a, "v6", 2), 0);
    char buf[2];
    CHECK(read_full(b, buf, 2));
    CHECK(memcmp(buf, "v6", 2) == 0);
    CHECK_EQ(weft_close(a), 0);
    CHECK_EQ(weft_close(b), 0);
    CHECK_EQ(weft_close(l), 0);
    return 0;
}

static void test_ipv6_loopback(void **state)
{
    (void)state;
    int skipped = 0;
    run_main(2, ipv6, &skipped);
    if (skipped)
        skip();
}

static int by_name(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* "localhost" may resolve to ::1 first: that one is refused and the
     * next address is tried. */
    weft_sock_t *l, *a, *b;
    CHECK_EQ(weft_tcp_listen(LOCAL, 0, 0, &l), 0);
    CHECK_EQ(weft_tcp_connect("localhost", weft_tcp_port(l), &a), 0);
    CHECK_EQ(weft_tcp_accept(l, &b), 0);
    CHECK_EQ(weft_write(b, "hi", 2), 0);
    char buf[2];
    CHECK(read_full(a, buf, 2));
    CHECK(memcmp(buf, "hi", 2) == 0);
    CHECK_EQ(weft_close(a), 0);
    CHECK_EQ(weft_close(b), 0);
    CHECK_EQ(weft_close(l), 0);
    return 0;
}

static void test_connect_by_name(void **state)
{
    (void)state;
    run_main(2, by_name, NULL);
}

/* ---- weft_stop with sockets left open --------------------------------------- */

static int leave_open(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_sock_t *l, *a, *b;
    CHECK_EQ(weft_tcp_listen(LOCAL, 0, 0, &l), 0);
    CHECK_EQ(weft_tcp_connect(LOCAL, weft_tcp_port(l), &a), 0);
    CHECK_EQ(weft_tcp_accept(l, &b), 0);
    CHECK_EQ(weft_write(a, "left", 4), 0);
    char buf[2];
    CHECK_EQ(weft_read(b, buf, 2), 2); /* b's buffer keeps the rest */
    /* A reader left waiting, an acceptor too: weft_stop cancels them. */
    static struct blocked r, acc;
    r = (struct blocked){.s = a};
    acc = (struct blocked){.s = l};
    weft_task_release(weft_spawn(read_blocked, &r));
    weft_task_release(weft_spawn(accept_blocked, &acc));
    wait_flag(&r.entered);
    wait_flag(&acc.entered);
    return 0;
}

static void test_stop_frees_open_sockets(void **state)
{
    (void)state;
    run_main(2, leave_open, NULL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_many_connections),
        cmocka_unit_test(test_end_of_stream_reads_zero),
        cmocka_unit_test(test_connect_to_closed_port_is_refused),
        cmocka_unit_test(test_listen_on_used_port_is_addrinuse),
        cmocka_unit_test(test_reset_by_peer_is_econnreset),
        cmocka_unit_test(test_peer_closes_mid_write_is_epipe_or_reset),
        cmocka_unit_test(test_cancel_blocked_accept_and_read),
        cmocka_unit_test(test_cancel_blocked_connect),
        cmocka_unit_test(test_close_while_read_waits_is_ebadf),
        cmocka_unit_test(test_second_concurrent_read_is_ebusy),
        cmocka_unit_test(test_bad_input_is_einval),
        cmocka_unit_test(test_outside_a_task_is_eperm),
        cmocka_unit_test(test_ipv6_loopback),
        cmocka_unit_test(test_connect_by_name),
        cmocka_unit_test(test_stop_frees_open_sockets),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
