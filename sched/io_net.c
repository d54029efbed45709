/*
 * io_net.c - sockets' readiness and the system calls on their fds: one
 * edge-triggered epoll set per scheduler, watched by the I/O thread through
 * a uv_poll, name resolution with uv_getaddrinfo, and the end of sockets
 * (at weft_close and at weft_stop).
 *
 * The design is Go's netpoller.  Every socket is non-blocking and is
 * registered once, when it is made, for both directions with EPOLLET: a
 * task always tries the system call itself first, and only when the kernel
 * says EAGAIN does it wait for the next edge.  Waiting needs no request to
 * the I/O thread and no epoll_ctl: the task records itself on the socket
 * (under the socket's lock) and suspends; the I/O thread, woken by the
 * epoll set becoming readable, takes the batch of edges and wakes the
 * waiters.  An edge that finds no waiter sets the direction's ready flag,
 * which the next waiter consumes instead of sleeping, so an edge between a
 * task's EAGAIN and its registration is never lost.
 *
 * Why not a uv_poll per socket: libuv's polls are level-triggered, so a
 * poll left started while its task is busy fires again and again; it must
 * be stopped when nobody waits and started again (a request through the
 * inbox and epoll_ctl calls) for nearly every wait.  One edge-triggered set
 * costs neither.  It is Linux's epoll; kqueue's EV_CLEAR would give the
 * same shape elsewhere.
 *
 * Lifetime: the epoll set hands the I/O thread bare pointers to sockets,
 * so a socket's memory is freed only by the I/O thread, between batches;
 * its fd is closed (which takes it out of the set) before that.
 */
#include "sched/fault.h"
#include "sched/io_net.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

_Static_assert(UV_EBADF == WEFT__UV_EBADF, "libuv's EBADF");
_Static_assert(UV_EBUSY == WEFT__UV_EBUSY, "libuv's EBUSY");
_Static_assert(UV_EAGAIN == WEFT__UV_EAGAIN, "libuv's EAGAIN");

#define WEFT_NET_EVENTS 128 /* edges taken per epoll_wait */

/* A scheduler's poller. */
struct weft__net {
    weft__io_t *io;
    struct weft_sched *sched;   /* for weft_stats' sockets_open */
    int epfd;                   /* the edge-triggered set of every socket */
    uv_poll_t poll;             /* I/O thread: watches epfd */
    bool polling;               /* I/O thread: poll was started */
    pthread_mutex_t lock;       /* guards live */
    weft_sock_t *live;          /* sockets not yet ended, for weft_stop */
    weft__net_t *next;          /* the registry's list */
    weft__io_req_t start_req;   /* starts the poll on the I/O thread */
    struct epoll_event events[WEFT_NET_EVENTS]; /* I/O thread */
};

/* Pollers by I/O thread: internal.h's scheduler has no field for ours. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static weft__net_t *registry;

/* ---- system calls: each returns a count or libuv's code --------------------
 * Not inlined: errno must be read on the thread that made the call, and a
 * caller that suspends between two calls may resume on another thread
 * while a compiler keeps the first thread's errno address. */

#define WEFT_NOINLINE __attribute__((noinline))

static WEFT_NOINLINE int sys_error(void)
{
    return uv_translate_sys_error(errno);
}

ssize_t WEFT_NOINLINE weft__net_recv(weft_sock_t *s, void *buf, size_t len)
{
    ssize_t n;
    do
        n = recv(s->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    return n >= 0 ? n : sys_error();
}

ssize_t WEFT_NOINLINE weft__net_send(weft_sock_t *s, const void *buf, size_t len)
{
    ssize_t n;
    do
        n = send(s->fd, buf, len, MSG_NOSIGNAL); /* EPIPE, never SIGPIPE */
    while (n < 0 && errno == EINTR);
    return n >= 0 ? n : sys_error();
}

static void on_epoll(uv_poll_t *poll, int status, int events);

static void net_start(weft__io_t *io, weft__io_req_t *req)
{
    weft__net_t *net = (weft__net_t *)((char *)req - offsetof(weft__net_t, start_req));
    uv_loop_t *loop = weft__io_loop(io);
    if (uv_poll_init(loop, &net->poll, net->epfd) != 0)
        return; /* no sockets will ever be ready: their waits end at weft_stop */
    net->poll.data = net;
    net->polling = true;
    uv_poll_start(&net->poll, UV_READABLE, on_epoll);
}

/* The poller of sc, made on first use. */
static int net_of(struct weft_sched *sc, weft__net_t **out)
{
    int rc = 0;
    pthread_mutex_lock(&registry_lock);
    weft__net_t *net;
    for (net = registry; net; net = net->next)
        if (net->io == sc->io)
            goto done;
    net = weft__fault_inject("socket poller") ? NULL : calloc(1, sizeof *net);
    if (!net) {
        rc = WEFT_ENOMEM;
        goto done;
    }
    net->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (net->epfd < 0) {
        rc = sys_error();
        free(net);
        net = NULL;
        goto done;
    }
    net->io = sc->io;
    net->sched = sc;
    pthread_mutex_init(&net->lock, NULL);
    net->next = registry;
    registry = net;
    /* Edges that come before the poll starts wait in the set. */
    weft__io_call(sc->io, &net->start_req, net_start);
done:
    pthread_mutex_unlock(&registry_lock);
    *out = net;
    return rc;
}

/* A socket's record, zero-filled; plain free() undoes it until sock_new
 * has taken it. */
static weft_sock_t *sock_alloc(void)
{
    return weft__fault_inject("socket") ? NULL : calloc(1, sizeof(weft_sock_t));
}

/* A socket for fd (which it owns from here, on failure too), registered
 * with the poller; s is its record (taken from here, on failure too), or
 * NULL to make one. */
static int sock_new(weft__net_t *net, weft_sock_t *s, int fd, bool listener, weft_sock_t **out)
{
    int rc;
    if (!s && !(s = sock_alloc())) {
        rc = WEFT_ENOMEM;
        goto fail_alloc;
    }
    s->fd = fd;
    s->listener = listener;
    s->net = net;
    /* Relaxed: sockets_open is a count for weft_stats; it orders nothing. */
    atomic_fetch_add_explicit(&net->sched->sockets_open, 1, memory_order_relaxed);
    atomic_init(&s->use, 0);
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_lock(&net->lock);
    s->next = net->live;
    if (net->live)
        net->live->prev = s;
    net->live = s;
    pthread_mutex_unlock(&net->lock);
    /* Both directions, once: a socket is never re-armed.  From here the
     * I/O thread may see s; it is complete. */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                             .data.ptr = s};
    if (epoll_ctl(net->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        rc = sys_error();
        goto fail_add;
    }
    *out = s;
    return 0;

fail_add:
    atomic_store_explicit(&s->use, WEFT_SOCK_CLOSED, memory_order_relaxed);
    weft__net_release(s); /* closes fd; the I/O thread frees s */
    return rc;
fail_alloc:
    close(fd);
    return rc;
}

/* ---- readiness -------------------------------------------------------- */

static void wake_with(weft_task_t *t, int rc)
{
    atomic_store_explicit(&t->wait_rc, rc, memory_order_relaxed);
    weft__wake(t); /* publishes wait_rc (acq_rel) */
}

/* I/O thread: the set is readable; take its edges and wake the waiters. */
static void on_epoll(uv_poll_t *poll, int status, int events)
{
    (void)status;
    (void)events;
    weft__net_t *net = poll->data;
    int n;
    do {
        n = epoll_wait(net->epfd, net->events, WEFT_NET_EVENTS, 0);
        for (int i = 0; i < n; i++) {
            weft_sock_t *s = net->events[i].data.ptr;
            uint32_t e = net->events[i].events;
            /* An error or a hang-up ends waits both ways: the next call
             * reports it. */
            bool edge[2] = {(e & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0,
                            (e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0};
            weft_task_t *wake[2] = {NULL, NULL};
            pthread_mutex_lock(&s->lock);
            for (int d = 0; d < 2; d++) {
                if (!edge[d])
                    continue;
                wake[d] = s->waiter[d];
                s->waiter[d] = NULL;
                s->ready[d] = wake[d] == NULL;
            }
            pthread_mutex_unlock(&s->lock);
            for (int d = 0; d < 2; d++)
                if (wake[d])
                    wake_with(wake[d], 0);
        }
    } while (n == WEFT_NET_EVENTS);
}

static void interrupt_dir(weft_task_t *t, int d)
{
    weft_sock_t *s = t->wait_obj;
    pthread_mutex_lock(&s->lock);
    bool mine = s->waiter[d] == t;
    if (mine)
        s->waiter[d] = NULL;
    pthread_mutex_unlock(&s->lock);
    if (mine)
        wake_with(t, WEFT_ECANCELED);
}

static void interrupt_read(weft_task_t *t)
{
    interrupt_dir(t, 0);
}

static void interrupt_write(weft_task_t *t)
{
    interrupt_dir(t, 1);
}

static const weft__wait_ops_t wait_ops[] = {
    [WEFT_SW_READ] = {interrupt_read, "socket read"},
    [WEFT_SW_ACCEPT] = {interrupt_read, "socket accept"},
    [WEFT_SW_WRITE] = {interrupt_write, "socket write"},
    [WEFT_SW_CONNECT] = {interrupt_write, "socket connect"},
};

int weft__net_wait(weft_task_t *self, weft_sock_t *s, enum weft__sock_wait what)
{
    int d = what == WEFT_SW_READ || what == WEFT_SW_ACCEPT ? 0 : 1;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    /* Relaxed: weft_close sets CLOSED before it takes this lock. */
    if (atomic_load_explicit(&s->use, memory_order_relaxed) & WEFT_SOCK_CLOSED) {
        rc = WEFT__UV_EBADF;
        goto unlock;
    }
    if (s->ready[d]) { /* an edge since the attempt: try again at once */
        s->ready[d] = false;
        goto unlock;
    }
    rc = weft__wait_begin(self, &wait_ops[what], s);
    if (rc != 0)
        goto unlock;
    s->waiter[d] = self;
    pthread_mutex_unlock(&s->lock);
    return weft__wait_suspend(weft__self(), self);
unlock:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void weft__net_wake_closed(weft_sock_t *s)
{
    pthread_mutex_lock(&s->lock);
    weft_task_t *w[2] = {s->waiter[0], s->waiter[1]};
    s->waiter[0] = s->waiter[1] = NULL;
    pthread_mutex_unlock(&s->lock);
    for (int d = 0; d < 2; d++)
        if (w[d])
            wake_with(w[d], WEFT__UV_EBADF);
}

/* ---- the end of a socket ---------------------------------------------- */

static void sock_free(weft_sock_t *s)
{
    pthread_mutex_destroy(&s->lock);
    free(s->rbuf);
    free(s);
}

static void sock_free_call(weft__io_t *io, weft__io_req_t *req)
{
    (void)io;
    sock_free((weft_sock_t *)((char *)req - offsetof(weft_sock_t, free_req)));
}

void weft__net_release(weft_sock_t *s)
{
    weft__net_t *net = s->net;
    /* Closing takes the fd out of the set: no batch taken from here on
     * names s.  One taken before is finished before the inbox is read. */
    close(s->fd);
    atomic_fetch_sub_explicit(&net->sched->sockets_open, 1, memory_order_relaxed);
    pthread_mutex_lock(&net->lock);
    if (s->prev)
        s->prev->next = s->next;
    else
        net->live = s->next;
    if (s->next)
        s->next->prev = s->prev;
    pthread_mutex_unlock(&net->lock);
    weft__io_call(net->io, &s->free_req, sock_free_call);
}

static void on_poll_closed(uv_handle_t *h)
{
    weft__net_t *net = h->data;
    close(net->epfd);
    pthread_mutex_destroy(&net->lock);
    free(net);
}

void weft__net_stop(weft__io_t *io)
{
    pthread_mutex_lock(&registry_lock);
    weft__net_t **p = &registry;
    while (*p && (*p)->io != io)
        p = &(*p)->next;
    weft__net_t *net = *p;
    if (net)
        *p = net->next;
    pthread_mutex_unlock(&registry_lock);
    if (!net)
        return;
    /* Every task has finished: what is left open, nobody will close. */
    weft_sock_t *s = net->live;
    while (s) {
        weft_sock_t *next = s->next;
        close(s->fd);
        sock_free(s);
        s = next;
    }
    if (net->polling) {
        uv_close((uv_handle_t *)&net->poll, on_poll_closed);
    } else {
        net->poll.data = net;
        on_poll_closed((uv_handle_t *)&net->poll);
    }
}

/* ---- addresses and name resolution -------------------------------------- */

struct weft__addrs {
    size_t n;
    struct sockaddr_storage addr[];
};

size_t weft__net_addrs_count(const weft__addrs_t *a)
{
    return a->n;
}

void weft__net_addrs_free(weft__addrs_t *a)
{
    free(a);
}

static socklen_t addr_len(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                     : sizeof(struct sockaddr_in);
}

/* A lookup on the I/O thread, shared by the waiting task and that thread;
 * a cancelled task leaves it to the I/O thread, which frees it. */
typedef struct resolve {
    weft__io_req_t start_req;
    weft__io_req_t cancel_req;
    weft__io_t *io;
    struct weft_sched *sched;   /* counts the record in lookups_in_flight */
    uv_getaddrinfo_t req;
    pthread_mutex_t lock;       /* guards task, status, res */
    weft_task_t *task;          /* the waiting task; NULL once woken */
    int status;                 /* uv_getaddrinfo's result, for the task */
    struct addrinfo *res;
    bool passive;
    bool inflight;              /* I/O thread: uv_getaddrinfo is running */
    bool cancelled;             /* I/O thread: the cancel call has run */
    char service[8];
    char host[];
} resolve_t;

static void resolve_free(resolve_t *r)
{
    /* Relaxed: a count for weft_stats; it orders nothing. */
    atomic_fetch_sub_explicit(&r->sched->lookups_in_flight, 1, memory_order_relaxed);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* Hands the result to the waiting task; false if it left (then r stays
 * the I/O thread's).  After true, r is the task's: do not touch it. */
static bool resolve_done(resolve_t *r, int status, struct addrinfo *res)
{
    pthread_mutex_lock(&r->lock);
    weft_task_t *t = r->task;
    r->task = NULL;
    if (t) {
        r->status = status;
        r->res = res;
    }
    pthread_mutex_unlock(&r->lock);
    if (!t) {
        uv_freeaddrinfo(res);
        return false;
    }
    wake_with(t, 0);
    return true;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    resolve_t *r = req->data;
    r->inflight = false;
    bool cancelled = r->cancelled; /* read first: true hands r to the task */
    if (!resolve_done(r, status, res) && cancelled)
        resolve_free(r);
}

static void resolve_start(weft__io_t *io, weft__io_req_t *req)
{
    resolve_t *r = (resolve_t *)((char *)req - offsetof(resolve_t, start_req));
    pthread_mutex_lock(&r->lock);
    bool waited = r->task != NULL;
    pthread_mutex_unlock(&r->lock);
    if (!waited)
        return; /* cancelled already: the cancel call, queued next, frees r */
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | (r->passive ? AI_PASSIVE : 0)};
    r->req.data = r;
    r->inflight = true;
    int rc = uv_getaddrinfo(weft__io_loop(io), &r->req, on_resolved, r->host, r->service,
                            &hints);
    if (rc != 0) {
        r->inflight = false;
        resolve_done(r, rc, NULL); /* the task still waits: it takes r */
    }
}

static void resolve_cancel(weft__io_t *io, weft__io_req_t *req)
{
    (void)io;
    resolve_t *r = (resolve_t *)((char *)req - offsetof(resolve_t, cancel_req));
    r->cancelled = true;
    if (r->inflight)
        uv_cancel((uv_req_t *)&r->req); /* on_resolved frees r, cancelled or not */
    else
        resolve_free(r);
}

static void resolve_interrupt(weft_task_t *t)
{
    resolve_t *r = t->wait_obj;
    pthread_mutex_lock(&r->lock);
    bool mine = r->task == t;
    if (mine)
        r->task = NULL;
    pthread_mutex_unlock(&r->lock);
    if (!mine)
        return;
    /* Queued after resolve_start (which ran or will run first), so that
     * the lookup is withdrawn if it has not begun and r freed once it is
     * over. */
    weft__io_call(r->io, &r->cancel_req, resolve_cancel);
    wake_with(t, WEFT_ECANCELED);
}

static const weft__wait_ops_t resolve_ops = {resolve_interrupt, "name resolution"};

/* Copies the IPv4 and IPv6 stream addresses of res, in order. */
static int addrs_from(const struct addrinfo *res, weft__addrs_t **out)
{
    size_t n = 0;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
        n += ai->ai_family == AF_INET || ai->ai_family == AF_INET6;
    if (n == 0)
        return UV_EAI_NONAME;
    weft__addrs_t *a =
        weft__fault_inject("resolved addresses") ? NULL : malloc(sizeof *a + n * sizeof a->addr[0]);
    if (!a)
        return WEFT_ENOMEM;
    a->n = 0;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        memset(&a->addr[a->n], 0, sizeof a->addr[0]);
        memcpy(&a->addr[a->n], ai->ai_addr, ai->ai_addrlen);
        a->n++;
    }
    *out = a;
    return 0;
}

/* A numeric address needs no lookup: parsed here, on the task. */
static bool numeric(const char *host, int port, weft__addrs_t **out, int *rc)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
        return false;
    weft__addrs_t *a =
        weft__fault_inject("numeric address") ? NULL : malloc(sizeof *a + sizeof a->addr[0]);
    *rc = a ? 0 : WEFT_ENOMEM;
    if (a) {
        a->n = 1;
        a->addr[0] = ss;
        *out = a;
    }
    return true;
}

int weft__net_resolve(weft_task_t *self, const char *host, int port, bool passive,
                      weft__addrs_t **out)
{
    int rc;
    if (!host)
        host = "0.0.0.0"; /* a listener's every IPv4 interface */
    if (numeric(host, port, out, &rc))
        return rc;
    size_t hlen = strlen(host);
    resolve_t *r = weft__fault_inject("name lookup") ? NULL : calloc(1, sizeof *r + hlen + 1);
    if (!r)
        return WEFT_ENOMEM;
    memcpy(r->host, host, hlen + 1);
    snprintf(r->service, sizeof r->service, "%d", port);
    r->passive = passive;
    r->io = self->sched->io;
    r->sched = self->sched;
    atomic_fetch_add_explicit(&r->sched->lookups_in_flight, 1, memory_order_relaxed);
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_lock(&r->lock);
    rc = weft__wait_begin(self, &resolve_ops, r);
    if (rc != 0) {
        pthread_mutex_unlock(&r->lock);
        resolve_free(r);
        return rc;
    }
    r->task = self;
    pthread_mutex_unlock(&r->lock);
    weft__io_call(r->io, &r->start_req, resolve_start);
    rc = weft__wait_suspend(weft__self(), self);
    if (rc != 0)
        return rc; /* cancelled: r is the I/O thread's now */
    /* Woken by resolve_done: r is ours, and its fields were published by
     * the wake (acq_rel) and the lock. */
    rc = r->status;
    if (rc == 0) {
        rc = addrs_from(r->res, out);
        uv_freeaddrinfo(r->res);
    }
    resolve_free(r);
    return rc;
}

/* ---- making sockets --------------------------------------------------- */

static WEFT_NOINLINE int new_fd(int family)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    return fd >= 0 ? fd : sys_error();
}

static WEFT_NOINLINE int local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return sys_error();
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
}

static WEFT_NOINLINE int bind_listen(int fd, const struct sockaddr_storage *ss, int backlog)
{
    int one = 1;
    /* A port in TIME_WAIT may be bound again; one that listens may not. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)ss, addr_len(ss)) != 0 || listen(fd, backlog) != 0)
        return sys_error();
    return 0;
}

int weft__net_listen_at(struct weft_sched *sc, const weft__addrs_t *a, size_t i, int backlog,
                        weft_sock_t **out)
{
    weft__net_t *net;
    int rc = net_of(sc, &net);
    if (rc != 0)
        return rc;
    int fd = new_fd(a->addr[i].ss_family);
    if (fd < 0)
        return fd;
    rc = bind_listen(fd, &a->addr[i], backlog);
    if (rc == 0)
        rc = local_port(fd);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    int port = rc;
    rc = sock_new(net, NULL, fd, true, out);
    if (rc == 0)
        (*out)->port = port;
    return rc;
}

static void no_delay(int fd)
{
    /* Small request and response messages go out at once (Go does the
     * same); writes are not coalesced by the kernel's Nagle delay. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static WEFT_NOINLINE int start_connect(int fd, const struct sockaddr_storage *ss)
{
    if (connect(fd, (const struct sockaddr *)ss, addr_len(ss)) == 0 || errno == EINPROGRESS)
        return 0;
    return sys_error();
}

/* 0 once connected, UV_EAGAIN while in progress, or the error. */
static WEFT_NOINLINE int connect_result(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return sys_error();
    if (err != 0)
        return uv_translate_sys_error(err);
    struct sockaddr_storage ss;
    len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
        return 0;
    return errno == ENOTCONN ? UV_EAGAIN : sys_error();
}

int weft__net_connect_at(weft_task_t *self, const weft__addrs_t *a, size_t i, weft_sock_t **out)
{
    weft__net_t *net;
    int rc = net_of(self->sched, &net);
    if (rc != 0)
        return rc;
    int fd = new_fd(a->addr[i].ss_family);
    if (fd < 0)
        return fd;
    no_delay(fd);
    rc = start_connect(fd, &a->addr[i]);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    weft_sock_t *s;
    rc = sock_new(net, NULL, fd, false, &s);
    if (rc != 0)
        return rc;
    /* Held while connecting; nobody else has s yet. */
    atomic_store_explicit(&s->use, WEFT_SOCK_WRITING, memory_order_relaxed);
    while ((rc = connect_result(fd)) == UV_EAGAIN) {
        rc = weft__net_wait(self, s, WEFT_SW_CONNECT);
        if (rc != 0)
            break;
    }
    if (rc == 0)
        rc = local_port(fd);
    if (rc < 0) {
        atomic_store_explicit(&s->use, WEFT_SOCK_CLOSED, memory_order_relaxed);
        weft__net_release(s);
        return rc;
    }
    s->port = rc;
    /* Release: a task that gets s from us (through a channel, say) sees
     * it complete; its acquire is the handover's. */
    atomic_store_explicit(&s->use, 0, memory_order_release);
    *out = s;
    return 0;
}

static WEFT_NOINLINE int accept_fd(int lfd)
{
    int fd;
    do
        fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
    return fd >= 0 ? fd : sys_error();
}

int weft__net_accept_one(weft_sock_t *l, weft_sock_t **spare, weft_sock_t **out)
{
    /* The record first: a connection taken from the kernel must never be
     * dropped for want of one. */
    if (!*spare && !(*spare = sock_alloc()))
        return WEFT_ENOMEM;
    int fd = accept_fd(l->fd);
    if (fd < 0)
        return fd;
    no_delay(fd);
    weft_sock_t *s = *spare;
    *spare = NULL;
    int rc = sock_new(l->net, s, fd, false, out);
    if (rc == 0)
        (*out)->port = l->port;
    return rc;
}
