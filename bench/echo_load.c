/*
 * echo_load.c - the load generator of the echo workload, the one client for
 * every server measured (weft's bench_echo, the Go and libuv peers).  Plain
 * C on one thread with epoll and no runtime of its own, so that what it
 * measures is the server.
 *
 * CONNS connections are opened before the clock starts.  Each then makes
 * ROUNDS round trips one after the other: it writes a SIZE-byte message
 * (a pattern that differs per connection and per round, so that an echo
 * from the wrong connection or round cannot pass), reads until the whole
 * echo is back, compares every byte, and records the latency from just
 * before the write to the read that completed the echo (CLOCK_MONOTONIC).
 * After its last round a connection shuts down its sending side and must
 * then read end-of-file: an echo server sends nothing beyond the echo and
 * closes when its client does.
 *
 * Reports, in one JSON line: round trips per second (all connections
 * together, from the first write to the last echo), the 50th, 90th and
 * 99th percentiles, maximum and mean of the latency in microseconds
 * (nearest rank), the connection count and the total of round trips.
 * Fails (a FAIL line, exit status 1) on a byte that differs, an end of
 * file before an echo is whole, bytes after the last echo, or any socket
 * error; exits 3 if nothing moves on any connection for STUCK_S seconds.
 *
 * usage: echo_load HOST PORT CONNS ROUNDS [SIZE [SYSTEM [WORKERS]]]
 *   SIZE defaults to 64.  SYSTEM and WORKERS only label the JSON line (the
 *   server's name and thread count; defaults "server" and 1).
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STUCK_S 10      /* nothing moves this long: the run fails */
#define MAX_EVENTS 64   /* epoll events taken per wait */
#define MAX_SIZE (1u << 20) /* largest message: 1 MiB */

typedef struct conn {
    int fd;
    unsigned long id;      /* index, mixed into the message pattern */
    unsigned long round;   /* round trips completed */
    size_t sent;           /* bytes of this round's message written */
    size_t got;            /* bytes of its echo read back */
    uint64_t t_write;      /* ns: just before this round's first write */
    int want_out;          /* EPOLLOUT is armed: a write was partial */
    int closing;           /* all rounds done: waiting for end-of-file */
    unsigned char *msg;    /* this round's message */
    unsigned char *in;     /* its echo, as far as it has come */
} conn_t;

typedef struct load {
    const char *system;    /* JSON label: the server */
    unsigned long workers; /* JSON label: the server's threads */
    unsigned long conns;   /* connections */
    unsigned long rounds;  /* round trips per connection */
    size_t size;           /* message bytes */
    int ep;                /* the epoll instance */
    conn_t *conn;          /* conns of them */
    uint64_t *lat;         /* ns, one per round trip, in completion order */
    unsigned long nlat;    /* round trips completed, all connections */
    unsigned long open;    /* connections not yet at end-of-file */
    uint64_t t_last;       /* ns: the last echo completed */
} load_t;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned long arg_num(char **argv, int i, unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(argv[i], &end, 10);
    if (*argv[i] == '\0' || *end != '\0' || errno != 0 || v == 0 || v > max) {
        fprintf(stderr, "echo_load: bad argument '%s' (1 to %lu)\n", argv[i], max);
        exit(2);
    }
    return v;
}

/* The message of connection c's round r: an LCG over 64-bit words seeded
 * by both, so that every byte depends on the connection and the round. */
static void fill(unsigned char *msg, size_t size, unsigned long c, unsigned long r)
{
    uint64_t x = ((uint64_t)c << 32) ^ (uint64_t)r ^ 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < size; i++) {
        if (i % 8 == 0)
            x = x * 6364136223846793005u + 1442695040888963407u;
        msg[i] = (unsigned char)(x >> (8 * (i % 8)));
    }
}

static void fail(const load_t *ld, const conn_t *c, const char *reason, const char *detail)
{
    fprintf(stderr, "echo_load: connection %lu, after %lu round trips: %s: %s\n", c->id,
            c->round, reason, detail);
    printf("{\"bench\":\"echo\",\"system\":\"%s\",\"workers\":%lu,\"connections\":%lu,"
           "\"rounds\":%lu,\"size\":%zu,\"completed\":%lu,\"reason\":\"%s\",\"conn\":%lu,"
           "\"conn_completed\":%lu,\"check\":\"FAIL\"}\n",
           ld->system, ld->workers, ld->conns, ld->rounds, ld->size, ld->nlat, reason, c->id,
           c->round);
    exit(1);
}

static void want_out(load_t *ld, conn_t *c, int on)
{
    if (c->want_out == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0u), .data.ptr = c};
    if (epoll_ctl(ld->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        fail(ld, c, "epoll_ctl", strerror(errno));
    c->want_out = on;
}

/* Writes what is left of this round's message; arms EPOLLOUT if the socket
 * takes only part of it. */
static void push(load_t *ld, conn_t *c)
{
    while (c->sent < ld->size) {
        ssize_t n = send(c->fd, c->msg + c->sent, ld->size - c->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            fail(ld, c, "write", strerror(errno));
        }
        c->sent += (size_t)n;
    }
    want_out(ld, c, c->sent < ld->size);
}

static void start_round(load_t *ld, conn_t *c, uint64_t t)
{
    fill(c->msg, ld->size, c->id, c->round);
    c->sent = 0;
    c->got = 0;
    c->t_write = t;
    push(ld, c);
}

/* Reads what has come back; completes the round when the echo is whole. */
static void pull(load_t *ld, conn_t *c)
{
    for (;;) {
        if (c->closing) {
            unsigned char extra[256];
            ssize_t n = recv(c->fd, extra, sizeof extra, 0);
            if (n == 0) {
                close(c->fd);
                c->fd = -1;
                ld->open--;
                return;
            }
            if (n > 0)
                fail(ld, c, "extra bytes", "the server sent more than the echo");
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            fail(ld, c, "read", strerror(errno));
        }
        ssize_t n = recv(c->fd, c->in + c->got, ld->size - c->got, 0);
        if (n == 0)
            fail(ld, c, "short read", "end of file before the whole echo");
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            fail(ld, c, "read", strerror(errno));
        }
        if (c->got + (size_t)n > c->sent)
            fail(ld, c, "extra bytes", "echo ahead of what was written");
        if (memcmp(c->in + c->got, c->msg + c->got, (size_t)n) != 0)
            fail(ld, c, "mismatch", "an echoed byte differs from the one sent");
        c->got += (size_t)n;
        if (c->got < ld->size)
            continue;
        uint64_t t = now_ns();
        ld->lat[ld->nlat++] = t - c->t_write;
        ld->t_last = t;
        /* The next echo is almost never back this soon: a read now would
         * mostly return EAGAIN, and the level-triggered epoll reports it. */
        if (++c->round < ld->rounds) {
            start_round(ld, c, t);
            return;
        }
        c->closing = 1;
        if (shutdown(c->fd, SHUT_WR) != 0)
            fail(ld, c, "shutdown", strerror(errno));
        return;
    }
}

static int dial(const struct addrinfo *ai)
{
    for (; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            return fd;
        int e = errno;
        close(fd);
        errno = e;
    }
    return -1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static double quantile_us(const uint64_t *v, unsigned long n, double q)
{
    unsigned long k = (unsigned long)(q * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)v[k - 1] / 1e3;
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 8) {
        fprintf(stderr, "usage: echo_load HOST PORT CONNS ROUNDS [SIZE [SYSTEM [WORKERS]]]\n");
        return 2;
    }
    load_t ld = {
        .conns = arg_num(argv, 3, 10000),
        .rounds = arg_num(argv, 4, 100000000),
        .size = argc > 5 ? arg_num(argv, 5, MAX_SIZE) : 64,
        .system = argc > 6 ? argv[6] : "server",
        .workers = argc > 7 ? arg_num(argv, 7, 4096) : 1,
    };
    arg_num(argv, 2, 65535);
    if (ld.rounds > SIZE_MAX / sizeof *ld.lat / ld.conns) {
        fprintf(stderr, "echo_load: CONNS x ROUNDS too large\n");
        return 2;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai;
    int gai = getaddrinfo(argv[1], argv[2], &hints, &ai);
    if (gai != 0) {
        fprintf(stderr, "echo_load: %s: %s\n", argv[1], gai_strerror(gai));
        return 1;
    }
    unsigned long total = ld.conns * ld.rounds;
    ld.conn = calloc(ld.conns, sizeof *ld.conn);
    ld.lat = malloc(total * sizeof *ld.lat);
    unsigned char *bufs = malloc(ld.conns * 2 * ld.size);
    ld.ep = epoll_create1(EPOLL_CLOEXEC);
    if (ld.conn == NULL || ld.lat == NULL || bufs == NULL || ld.ep < 0) {
        fprintf(stderr, "echo_load: out of memory or no epoll\n");
        return 1;
    }
    /* Every connection is established before the clock starts, so the
     * figures hold no handshakes. */
    for (unsigned long i = 0; i < ld.conns; i++) {
        conn_t *c = &ld.conn[i];
        c->id = i;
        c->msg = bufs + 2 * i * ld.size;
        c->in = c->msg + ld.size;
        c->fd = dial(ai);
        if (c->fd < 0) {
            fprintf(stderr, "echo_load: connect to %s port %s (connection %lu): %s\n", argv[1],
                    argv[2], i, strerror(errno));
            return 1;
        }
        /* A round trip is one small write each way: Nagle would hold it. */
        int one = 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
            fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0 ||
            epoll_ctl(ld.ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
            fprintf(stderr, "echo_load: setting up connection %lu: %s\n", i, strerror(errno));
            return 1;
        }
    }
    freeaddrinfo(ai);
    ld.open = ld.conns;

    uint64_t t0 = now_ns();
    for (unsigned long i = 0; i < ld.conns; i++)
        start_round(&ld, &ld.conn[i], now_ns());
    struct epoll_event evs[MAX_EVENTS];
    while (ld.open > 0) {
        int n = epoll_wait(ld.ep, evs, MAX_EVENTS, STUCK_S * 1000);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "echo_load: epoll_wait: %s\n", strerror(errno));
            return 1;
        }
        if (n == 0) {
            unsigned long closing = 0;
            for (unsigned long i = 0; i < ld.conns; i++)
                closing += ld.conn[i].fd >= 0 && ld.conn[i].closing;
            fprintf(stderr, "echo_load: stuck for %d s: %lu of %lu round trips done, "
                    "%lu connections waiting for end-of-file\n",
                    STUCK_S, ld.nlat, total, closing);
            printf("{\"bench\":\"echo\",\"system\":\"%s\",\"workers\":%lu,\"connections\":%lu,"
                   "\"rounds\":%lu,\"size\":%zu,\"completed\":%lu,\"stuck\":\"%s\","
                   "\"check\":\"FAIL\"}\n",
                   ld.system, ld.workers, ld.conns, ld.rounds, ld.size, ld.nlat,
                   ld.nlat < total ? "echo" : "end-of-file");
            return 3;
        }
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (c->fd < 0)
                continue;
            if (evs[i].events & EPOLLOUT)
                push(&ld, c);
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                pull(&ld, c);
        }
    }
    double wall = (double)(ld.t_last - t0) / 1e9;
    double sum = 0;
    for (unsigned long i = 0; i < total; i++)
        sum += (double)ld.lat[i];
    qsort(ld.lat, total, sizeof *ld.lat, cmp_u64);
    printf("{\"bench\":\"echo\",\"system\":\"%s\",\"workers\":%lu,\"connections\":%lu,"
           "\"rounds\":%lu,\"size\":%zu,\"total\":%lu,\"wall_s\":%.6f,"
           "\"round_trips_per_s\":%.1f,\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,"
           "\"max_us\":%.2f,\"mean_us\":%.2f,\"check\":\"ok\"}\n",
           ld.system, ld.workers, ld.conns, ld.rounds, ld.size, total, wall,
           (double)total / wall, quantile_us(ld.lat, total, 0.50),
           quantile_us(ld.lat, total, 0.90), quantile_us(ld.lat, total, 0.99),
           (double)ld.lat[total - 1] / 1e3, sum / (double)total / 1e3);
    close(ld.ep);
    free(bufs);
    free(ld.lat);
    free(ld.conn);
    return 0;
}
