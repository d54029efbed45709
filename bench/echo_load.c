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
 *
 * It is also the client of the mixed workload (bench/mixed.c and
 * bench/peers/mixed.go are its servers), with --burn:
 *
 *   echo_load --burn STEPS [--heavy H HSTEPS] [--seconds S] HOST PORT CONNS
 *             ROUNDS [SYSTEM [WORKERS]]
 *
 * Then every request is a text line "STEPS SEED\n" and the reply must be
 * the line "RESULT\n", RESULT = burn(STEPS, SEED) of burn.h in decimal,
 * which the client knows in O(1) (burn.h's affine check), so a server that
 * skipped the work fails.  SEED differs per connection and per round.  The
 * first H connections are heavy: they ask for HSTEPS instead and keep
 * asking, one request after the other, until the CONNS - H light ones
 * have made their ROUNDS each; then they finish the request in flight and
 * close.  --seconds S also bounds the run in time: after S seconds no
 * connection starts another round (the rounds in flight finish and count),
 * so runs of different systems watch the same span, and a slow one ends.
 * The JSON line ("bench":"mixed") gives round trips per second and the
 * latency percentiles of the light connections, and the heavy ones' count,
 * median and worst apart; work_ns and heavy_work_ns are one burn of STEPS
 * and HSTEPS timed here (the fastest of three), cut_short how many light
 * connections --seconds stopped before their ROUNDS.
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

#include "burn.h"

#define STUCK_S 10      /* nothing moves this long: the run fails */
#define MAX_EVENTS 64   /* epoll events taken per wait */
#define MAX_SIZE (1u << 20) /* largest message: 1 MiB */
#define LINE_MAX_LEN 64     /* --burn: a request or reply line fits */

typedef struct conn {
    int fd;
    unsigned long id;      /* index, mixed into the message pattern */
    unsigned long round;   /* round trips completed */
    int heavy;             /* --burn: asks for the heavy step count */
    size_t msg_len;        /* bytes of this round's message */
    size_t want_len;       /* bytes of the reply it must get */
    size_t sent;           /* bytes of this round's message written */
    size_t got;            /* bytes of its echo read back */
    uint64_t t_write;      /* ns: just before this round's first write */
    int want_out;          /* EPOLLOUT is armed: a write was partial */
    int closing;           /* all rounds done: waiting for end-of-file */
    unsigned char *msg;    /* this round's message */
    unsigned char *want;   /* the reply it must get (msg itself for echo) */
    unsigned char *in;     /* its echo, as far as it has come */
} conn_t;

typedef struct load {
    const char *bench;     /* JSON label: "echo", or "mixed" with --burn */
    const char *system;    /* JSON label: the server */
    unsigned long workers; /* JSON label: the server's threads */
    unsigned long conns;   /* connections */
    unsigned long rounds;  /* round trips per connection */
    size_t size;           /* message bytes (echo) */
    int burn;              /* --burn given: requests ask for CPU work */
    uint64_t steps;        /* --burn: steps a light request asks for */
    unsigned long heavy;   /* --heavy: connections asking for hsteps */
    uint64_t hsteps;       /* --heavy: steps a heavy request asks for */
    burn_expect_t expect;  /* burn(steps, .) in O(1) */
    burn_expect_t hexpect; /* burn(hsteps, .) in O(1) */
    int ep;                /* the epoll instance */
    conn_t *conn;          /* conns of them */
    uint64_t *lat;         /* ns, one per light round trip, in completion order */
    unsigned long nlat;    /* light round trips completed */
    uint64_t *hlat;        /* ns, one per heavy round trip */
    unsigned long nhlat;   /* heavy round trips completed */
    unsigned long hcap;    /* room in hlat */
    uint64_t t_stop;       /* --seconds: ns after which no round starts; 0 = none */
    unsigned long cut;     /* light connections stopped by t_stop */
    unsigned long light_left; /* light connections with rounds still to make */
    unsigned long open;    /* connections not yet at end-of-file */
    uint64_t t_last;       /* ns: the last light echo completed */
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

/* --burn: the request of connection c's current round, "STEPS SEED\n", and
 * the reply it must get, "RESULT\n"; the seed mixes the connection and the
 * round like fill's pattern. */
static void fill_burn(const load_t *ld, conn_t *c)
{
    uint64_t seed = ((uint64_t)c->id << 32) ^ (uint64_t)c->round ^ 0x9e3779b97f4a7c15u;
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    uint64_t steps = c->heavy ? ld->hsteps : ld->steps;
    uint64_t result = burn_expect(c->heavy ? ld->hexpect : ld->expect, seed);
    c->msg_len = (size_t)snprintf((char *)c->msg, LINE_MAX_LEN, "%llu %llu\n",
                                  (unsigned long long)steps, (unsigned long long)seed);
    c->want_len = (size_t)snprintf((char *)c->want, LINE_MAX_LEN, "%llu\n",
                                   (unsigned long long)result);
}

static void fail(const load_t *ld, const conn_t *c, const char *reason, const char *detail)
{
    fprintf(stderr, "echo_load: connection %lu, after %lu round trips: %s: %s\n", c->id,
            c->round, reason, detail);
    printf("{\"bench\":\"%s\",\"system\":\"%s\",\"workers\":%lu,\"connections\":%lu,"
           "\"rounds\":%lu,\"size\":%zu,\"completed\":%lu,\"reason\":\"%s\",\"conn\":%lu,"
           "\"conn_completed\":%lu,\"check\":\"FAIL\"}\n",
           ld->bench, ld->system, ld->workers, ld->conns, ld->rounds, ld->size, ld->nlat,
           reason, c->id, c->round);
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
    while (c->sent < c->msg_len) {
        ssize_t n = send(c->fd, c->msg + c->sent, c->msg_len - c->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            fail(ld, c, "write", strerror(errno));
        }
        c->sent += (size_t)n;
    }
    want_out(ld, c, c->sent < c->msg_len);
}

static void start_round(load_t *ld, conn_t *c, uint64_t t)
{
    if (ld->burn)
        fill_burn(ld, c);
    else
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
        ssize_t n = recv(c->fd, c->in + c->got, c->want_len - c->got, 0);
        if (n == 0)
            fail(ld, c, "short read", "end of file before the whole echo");
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            fail(ld, c, "read", strerror(errno));
        }
        /* An echo cannot be ahead of what was written; a --burn reply
         * cannot come before the whole request. */
        size_t ahead = ld->burn ? (c->sent == c->msg_len ? c->want_len : 0) : c->sent;
        if (c->got + (size_t)n > ahead)
            fail(ld, c, "extra bytes", "echo ahead of what was written");
        if (memcmp(c->in + c->got, c->want + c->got, (size_t)n) != 0)
            fail(ld, c, "mismatch", ld->burn ? "a reply byte differs from burn's result"
                                             : "an echoed byte differs from the one sent");
        c->got += (size_t)n;
        if (c->got < c->want_len)
            continue;
        uint64_t t = now_ns();
        if (c->heavy) {
            if (ld->nhlat == ld->hcap) {
                unsigned long cap = ld->hcap ? 2 * ld->hcap : 1024;
                uint64_t *h = realloc(ld->hlat, cap * sizeof *h);
                if (h == NULL)
                    fail(ld, c, "memory", "no room for the heavy latencies");
                ld->hlat = h;
                ld->hcap = cap;
            }
            ld->hlat[ld->nhlat++] = t - c->t_write;
            /* A heavy connection asks again while a light one still runs. */
            c->round++;
            if (ld->light_left > 0 && (ld->t_stop == 0 || t < ld->t_stop)) {
                start_round(ld, c, t);
                return;
            }
        } else {
            ld->lat[ld->nlat++] = t - c->t_write;
            ld->t_last = t;
            /* The next echo is almost never back this soon: a read now would
             * mostly return EAGAIN, and the level-triggered epoll reports it. */
            if (++c->round < ld->rounds && (ld->t_stop == 0 || t < ld->t_stop)) {
                start_round(ld, c, t);
                return;
            }
            ld->cut += c->round < ld->rounds;
            ld->light_left--;
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

/* A step count for --burn: 0 or more. */
static uint64_t arg_steps(char **argv, int i)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(argv[i], &end, 10);
    if (*argv[i] == '\0' || *end != '\0' || errno != 0) {
        fprintf(stderr, "echo_load: bad step count '%s'\n", argv[i]);
        exit(2);
    }
    return v;
}

/* One burn of steps on this machine, in ns: the fastest of three. */
static double burn_ns(uint64_t steps)
{
    double best = 1e30;
    volatile uint64_t sink = 0;
    for (int i = 0; i < 3; i++) {
        double t0 = burn_now();
        sink = burn(steps, (uint64_t)i);
        double dt = burn_now() - t0;
        if (dt < best)
            best = dt;
    }
    (void)sink;
    return best * 1e9;
}

static int usage(void)
{
    fprintf(stderr, "usage: echo_load HOST PORT CONNS ROUNDS [SIZE [SYSTEM [WORKERS]]]\n"
                    "       echo_load --burn STEPS [--heavy H HSTEPS] [--seconds S] HOST PORT "
                    "CONNS ROUNDS [SYSTEM [WORKERS]]\n");
    return 2;
}

int main(int argc, char **argv)
{
    load_t ld = {.bench = "echo", .size = 64, .system = "server", .workers = 1};
    int a = 1; /* the first positional argument */
    double seconds = 0;
    while (a < argc && strncmp(argv[a], "--", 2) == 0) {
        if (strcmp(argv[a], "--burn") == 0 && a + 1 < argc) {
            ld.burn = 1;
            ld.bench = "mixed";
            ld.steps = arg_steps(argv, a + 1);
            a += 2;
        } else if (strcmp(argv[a], "--seconds") == 0 && a + 1 < argc) {
            char *end;
            seconds = strtod(argv[a + 1], &end);
            if (*end != '\0' || !(seconds > 0 && seconds < 3600)) {
                fprintf(stderr, "echo_load: bad seconds '%s'\n", argv[a + 1]);
                return 2;
            }
            a += 2;
        } else if (strcmp(argv[a], "--heavy") == 0 && a + 2 < argc) {
            ld.heavy = arg_num(argv, a + 1, 10000);
            ld.hsteps = arg_steps(argv, a + 2);
            a += 3;
        } else {
            return usage();
        }
    }
    int npos = argc - a;
    if (npos < 4 || npos > (ld.burn ? 6 : 7) || ((ld.heavy > 0 || seconds > 0) && !ld.burn))
        return usage();
    ld.conns = arg_num(argv, a + 2, 10000);
    ld.rounds = arg_num(argv, a + 3, 100000000);
    int next = a + 4; /* SIZE (echo only), SYSTEM, WORKERS */
    if (!ld.burn && next < argc)
        ld.size = arg_num(argv, next++, MAX_SIZE);
    if (ld.burn)
        ld.size = LINE_MAX_LEN;
    if (next < argc)
        ld.system = argv[next++];
    if (next < argc)
        ld.workers = arg_num(argv, next++, 4096);
    arg_num(argv, a + 1, 65535);
    if (ld.heavy >= ld.conns) {
        fprintf(stderr, "echo_load: H must leave at least one light connection\n");
        return 2;
    }
    if (ld.rounds > SIZE_MAX / sizeof *ld.lat / ld.conns) {
        fprintf(stderr, "echo_load: CONNS x ROUNDS too large\n");
        return 2;
    }
    double work_ns = 0, hwork_ns = 0;
    if (ld.burn) {
        /* Before the clock: the expected replies, and the work timed here. */
        ld.expect = burn_expect_init(ld.steps);
        work_ns = burn_ns(ld.steps);
        if (ld.heavy > 0) {
            ld.hexpect = burn_expect_init(ld.hsteps);
            hwork_ns = burn_ns(ld.hsteps);
        }
    }
    const char *host = argv[a], *port = argv[a + 1];
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0) {
        fprintf(stderr, "echo_load: %s: %s\n", host, gai_strerror(gai));
        return 1;
    }
    /* The light round trips; the heavy ones are counted apart. */
    unsigned long total = (ld.conns - ld.heavy) * ld.rounds;
    size_t per = ld.burn ? 3 : 2; /* buffers per connection: msg, [want,] in */
    ld.conn = calloc(ld.conns, sizeof *ld.conn);
    ld.lat = malloc(total * sizeof *ld.lat);
    unsigned char *bufs = malloc(ld.conns * per * ld.size);
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
        c->heavy = i < ld.heavy;
        c->msg = bufs + per * i * ld.size;
        c->in = c->msg + ld.size;
        c->want = ld.burn ? c->in + ld.size : c->msg;
        c->msg_len = c->want_len = ld.size; /* --burn: set per round */
        c->fd = dial(ai);
        if (c->fd < 0) {
            fprintf(stderr, "echo_load: connect to %s port %s (connection %lu): %s\n", host,
                    port, i, strerror(errno));
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
    ld.light_left = ld.conns - ld.heavy;

    uint64_t t0 = now_ns();
    if (seconds > 0)
        ld.t_stop = t0 + (uint64_t)(seconds * 1e9);
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
            printf("{\"bench\":\"%s\",\"system\":\"%s\",\"workers\":%lu,\"connections\":%lu,"
                   "\"rounds\":%lu,\"size\":%zu,\"completed\":%lu,\"stuck\":\"%s\","
                   "\"check\":\"FAIL\"}\n",
                   ld.bench, ld.system, ld.workers, ld.conns, ld.rounds, ld.size, ld.nlat,
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
    total = ld.nlat; /* fewer than planned only when --seconds cut the run */
    double wall = (double)(ld.t_last - t0) / 1e9;
    double sum = 0;
    for (unsigned long i = 0; i < total; i++)
        sum += (double)ld.lat[i];
    qsort(ld.lat, total, sizeof *ld.lat, cmp_u64);
    if (!ld.burn) {
        printf("{\"bench\":\"echo\",\"system\":\"%s\",\"workers\":%lu,\"connections\":%lu,"
               "\"rounds\":%lu,\"size\":%zu,\"total\":%lu,\"wall_s\":%.6f,"
               "\"round_trips_per_s\":%.1f,\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,"
               "\"max_us\":%.2f,\"mean_us\":%.2f,\"check\":\"ok\"}\n",
               ld.system, ld.workers, ld.conns, ld.rounds, ld.size, total, wall,
               (double)total / wall, quantile_us(ld.lat, total, 0.50),
               quantile_us(ld.lat, total, 0.90), quantile_us(ld.lat, total, 0.99),
               (double)ld.lat[total - 1] / 1e3, sum / (double)total / 1e3);
    } else {
        double hp50 = 0, hmax = 0;
        if (ld.nhlat > 0) {
            qsort(ld.hlat, ld.nhlat, sizeof *ld.hlat, cmp_u64);
            hp50 = quantile_us(ld.hlat, ld.nhlat, 0.50);
            hmax = (double)ld.hlat[ld.nhlat - 1] / 1e3;
        }
        printf("{\"bench\":\"mixed\",\"system\":\"%s\",\"workers\":%lu,\"connections\":%lu,"
               "\"rounds\":%lu,\"steps\":%llu,\"work_ns\":%.1f,\"heavy\":%lu,"
               "\"heavy_steps\":%llu,\"heavy_work_ns\":%.1f,\"total\":%lu,\"wall_s\":%.6f,"
               "\"round_trips_per_s\":%.1f,\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,"
               "\"max_us\":%.2f,\"mean_us\":%.2f,\"heavy_total\":%lu,\"heavy_p50_us\":%.2f,"
               "\"heavy_max_us\":%.2f,\"seconds\":%g,\"cut_short\":%lu,\"check\":\"ok\"}\n",
               ld.system, ld.workers, ld.conns, ld.rounds, (unsigned long long)ld.steps,
               work_ns, ld.heavy, (unsigned long long)ld.hsteps, hwork_ns, total, wall,
               (double)total / wall, quantile_us(ld.lat, total, 0.50),
               quantile_us(ld.lat, total, 0.90), quantile_us(ld.lat, total, 0.99),
               (double)ld.lat[total - 1] / 1e3, sum / (double)total / 1e3, ld.nhlat, hp50,
               hmax, seconds, ld.cut);
    }
    close(ld.ep);
    free(bufs);
    free(ld.lat);
    free(ld.hlat);
    free(ld.conn);
    return 0;
}
