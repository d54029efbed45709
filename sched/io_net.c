/*
 * io_net.c - the table of socket records that handles name, sockets'
 * readiness and the system calls on their fds: one edge-triggered epoll
 * set per scheduler, watched by the I/O thread through a uv_poll, name
 * resolution with uv_getaddrinfo, and the end of sockets (at weft_close
 * and at weft_stop).
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
 * Lifetime.  A socket's record is a slot of one process-wide table
 * (below), never freed while any scheduler has a poller: a handle that
 * outlives its socket still finds the slot, sees another generation or the
 * CLOSED bit, and gets UV_EBADF.  A socket's fd and read buffer end when
 * it is closed and the last operation under way has left (api/net.c); the
 * slot goes back to the table on the I/O thread, between batches of
 * edges, because the epoll set hands that thread bare slot pointers: the
 * fd is closed (which takes it out of the set) before, so no batch taken
 * after names the slot, and one taken before is finished before the
 * inbox is read.  A slot reused for a new socket thus never gets an edge
 * of the old one.
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
_Static_assert(UV_EMFILE == WEFT__UV_EMFILE, "libuv's EMFILE");

#define WEFT_NET_EVENTS 128 /* edges taken per epoll_wait */

/* A scheduler's poller. */
struct weft__net {
    weft__io_t *io;
    struct weft_sched *sched;   /* for weft_stats' sockets_open */
    int epfd;                   /* the edge-triggered set of every socket */
    uv_poll_t poll;             /* I/O thread: watches epfd */
    bool polling;               /* I/O thread: poll was started */
    pthread_mutex_t lock;       /* guards live */
    weft__sock_t *live;         /* sockets not yet ended, for weft_stop */
    weft__net_t *next;          /* the registry's list */
    weft__io_req_t start_req;   /* starts the poll on the I/O thread */
    struct epoll_event events[WEFT_NET_EVENTS]; /* I/O thread */
};

/* Pollers by I/O thread: internal.h's scheduler has no field for ours.
 * The table of sockets lives while this list is not empty. */
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

ssize_t WEFT_NOINLINE weft__net_recv(weft__sock_t *s, void *buf, size_t len)
{
    ssize_t n;
    do
        n = recv(s->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    return n >= 0 ? n : sys_error();
}

ssize_t WEFT_NOINLINE weft__net_send(weft__sock_t *s, const void *buf, size_t len)
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

/* ---- the table of sockets -----------------------------------------------
 *
 * Every socket's record is a slot here, named by handles (io_net.h).  The
 * table is an array of chunks, chunk k of WEFT_SOCK_BASE << k slots, made
 * as sockets need them and published with a release store, so that
 * weft__sock_of finds a slot with no lock; and a list of free slots, first
 * in first out, under table_lock.  Only a socket's making and its end take
 * that lock, never a read or a write.
 *
 * Invariants:
 *  - a slot's memory, lock and index last as long as the table;
 *  - a slot that is free or on its way back to the list (end_req queued)
 *    has CLOSED set and no operation bit, under the generation of its last
 *    socket: every handle gets UV_EBADF from it, and nobody writes to it
 *    but the I/O thread that gives it back;
 *  - sock_new gives a taken slot the next generation (never 0; after
 *    WEFT_SOCK_GEN_MAX comes 1), so the handles of its earlier sockets no
 *    longer match it.  A handle could name a later socket only once its
 *    slot has been reused WEFT_SOCK_GEN_MAX times (2^40 - 1 with 64-bit
 *    pointers) after its close; the list, first in first out, spreads the
 *    reuse over every free slot;
 *  - the table goes with the last poller, at the weft_stop of the last
 *    scheduler that has sockets: no handle is usable after that anyway.
 */
_Atomic(weft__sock_t *) weft__sock_chunks[WEFT_SOCK_CHUNKS];

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER; /* guards the three below */
static unsigned table_chunks;               /* chunks made */
static weft__sock_t *free_head, *free_tail; /* free slots, the longest free first */

/* table_lock held. */
static void free_push(weft__sock_t *s)
{
    s->free_next = NULL;
    if (free_tail)
        free_tail->free_next = s;
    else
        free_head = s;
    free_tail = s;
}

/* Makes the next chunk and frees its slots; table_lock held. */
static int table_grow(void)
{
    unsigned k = table_chunks;
    if (k == WEFT_SOCK_CHUNKS)
        return WEFT__UV_EMFILE; /* every index names an open socket */
    size_t n = (size_t)WEFT_SOCK_BASE << k;
    weft__sock_t *c = weft__fault_inject("socket table") ? NULL : calloc(n, sizeof *c);
    if (!c)
        return WEFT_ENOMEM;
    uintptr_t base = (((uintptr_t)1 << k) - 1) * WEFT_SOCK_BASE;
    for (size_t i = 0; i < n; i++) {
        c[i].index = (uint32_t)(base + i);
        c[i].fd = -1;
        atomic_init(&c[i].state, WEFT_SOCK_CLOSED); /* generation 0: no handle's */
        pthread_mutex_init(&c[i].lock, NULL);
        free_push(&c[i]);
    }
    /* Release: pairs with weft__sock_of's acquire; whoever finds the chunk
     * finds its slots as made above. */
    atomic_store_explicit(&weft__sock_chunks[k], c, memory_order_release);
    table_chunks = k + 1;
    return 0;
}

/* A free slot in *out: CLOSED, under its last socket's generation. */
static int slot_take(weft__sock_t **out)
{
    int rc = 0;
    pthread_mutex_lock(&table_lock);
    if (!free_head && (rc = table_grow()) != 0)
        goto done;
    *out = free_head;
    free_head = free_head->free_next;
    if (!free_head)
        free_tail = NULL;
done:
    pthread_mutex_unlock(&table_lock);
    return rc;
}

/* Gives s back to the table: its socket has ended, or it never had one. */
static void slot_put(weft__sock_t *s)
{
    pthread_mutex_lock(&table_lock);
    free_push(s);
    pthread_mutex_unlock(&table_lock);
}

/* Frees the table.  registry_lock held and no poller left: every slot is
 * free, and no handle may be used any more. */
static void table_free(void)
{
    pthread_mutex_lock(&table_lock);
    for (unsigned k = 0; k < table_chunks; k++) {
        /* Relaxed, both: the chunk is ours (table_lock), and no lookup may
         * run from here on (weft_stop's rule), so the store orders nothing. */
        weft__sock_t *c = atomic_load_explicit(&weft__sock_chunks[k], memory_order_relaxed);
        atomic_store_explicit(&weft__sock_chunks[k], NULL, memory_order_relaxed);
        for (size_t i = 0; i < (size_t)WEFT_SOCK_BASE << k; i++)
            pthread_mutex_destroy(&c[i].lock);
        free(c);
    }
    table_chunks = 0;
    free_head = free_tail = NULL;
    pthread_mutex_unlock(&table_lock);
}

/* What a socket leaves in its slot, cleared for the next one. */
static void sock_clear(weft__sock_t *s)
{
    free(s->rbuf);
    s->rbuf = NULL;
    s->rpos = s->rend = 0;
    s->fd = -1;
    s->net = NULL;
    pthread_mutex_lock(&s->lock);
    s->waiter[0] = s->waiter[1] = NULL;
    s->ready[0] = s->ready[1] = false;
    pthread_mutex_unlock(&s->lock);
}

/* A socket for fd (which it owns from here, on failure too), registered
 * with the poller, in slot s (taken from here, on failure too; NULL to
 * take one).  bits: WEFT_SOCK_LISTENER for a listener, and the operations
 * already under way (a connect's WRITING).  On success *out is s under
 * its new generation. */
static int sock_new(weft__net_t *net, weft__sock_t *s, int fd, uintptr_t bits, int port,
                    weft__sock_t **out)
{
    int rc;
    if (!s && (rc = slot_take(&s)) != 0)
        goto fail_take;
    /* Relaxed: the slot is ours since slot_take (table_lock); stale
     * handles only read the state. */
    uintptr_t gen =
        WEFT_SOCK_GEN(atomic_load_explicit(&s->state, memory_order_relaxed)) % WEFT_SOCK_GEN_MAX + 1;
    atomic_store_explicit(&s->state, gen << WEFT_SOCK_FLAG_BITS | bits, memory_order_relaxed);
    /* Release: pairs with the acquire fence of weft_tcp_port (api/net.c),
     * which reads the port, then the generation: one that read a port
     * stored from here on sees this generation, not its handle's. */
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&s->port, port, memory_order_relaxed);
    s->fd = fd;
    s->net = net;
    /* Relaxed: sockets_open is a count for weft_stats; it orders nothing. */
    atomic_fetch_add_explicit(&net->sched->sockets_open, 1, memory_order_relaxed);
    pthread_mutex_lock(&net->lock);
    s->prev = NULL;
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
    /* Relaxed: nobody else has s yet. */
    atomic_store_explicit(&s->state,
                          gen << WEFT_SOCK_FLAG_BITS | (bits & WEFT_SOCK_LISTENER) | WEFT_SOCK_CLOSED,
                          memory_order_relaxed);
    weft__net_release(s); /* closes fd; the I/O thread gives s back */
    return rc;
fail_take:
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
            weft__sock_t *s = net->events[i].data.ptr;
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
    weft__sock_t *s = t->wait_obj;
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

int weft__net_wait(weft_task_t *self, weft__sock_t *s, enum weft__sock_wait what)
{
    int d = what == WEFT_SW_READ || what == WEFT_SW_ACCEPT ? 0 : 1;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    /* Relaxed: weft_close sets CLOSED before it takes this lock (it takes
     * it whenever an operation, ours, is under way). */
    if (atomic_load_explicit(&s->state, memory_order_relaxed) & WEFT_SOCK_CLOSED) {
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

void weft__net_wake_closed(weft__sock_t *s)
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

/* I/O thread, after the batch that may have named s: gives s back. */
static void sock_end_call(weft__io_t *io, weft__io_req_t *req)
{
    (void)io;
    weft__sock_t *s = (weft__sock_t *)((char *)req - offsetof(weft__sock_t, end_req));
    sock_clear(s);
    slot_put(s);
}

void weft__net_release(weft__sock_t *s)
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
    weft__io_call(net->io, &s->end_req, sock_end_call);
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
    if (!net)
        goto unlock;
    /* Every task has finished: what is left open, nobody will close.  Its
     * slots go back while the poller is still listed, so that another
     * scheduler's stop cannot free the table under them. */
    weft__sock_t *s = net->live;
    while (s) {
        weft__sock_t *next = s->next;
        close(s->fd);
        /* Relaxed: no task is left to race with; a handle kept past
         * weft_stop sees CLOSED (until the table goes, below). */
        uintptr_t st = atomic_load_explicit(&s->state, memory_order_relaxed);
        atomic_store_explicit(&s->state, (st & ~(uintptr_t)WEFT_SOCK_OPS) | WEFT_SOCK_CLOSED,
                              memory_order_relaxed);
        sock_clear(s);
        slot_put(s);
        s = next;
    }
    net->live = NULL;
    *p = net->next;
    if (!registry)
        table_free();
unlock:
    pthread_mutex_unlock(&registry_lock);
    if (!net)
        return;
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
                        weft__sock_t **out)
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
    return sock_new(net, NULL, fd, WEFT_SOCK_LISTENER, rc, out);
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

int weft__net_connect_at(weft_task_t *self, const weft__addrs_t *a, size_t i, weft__sock_t **out)
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
    /* WRITING is held while connecting; nobody else has s yet. */
    weft__sock_t *s;
    rc = sock_new(net, NULL, fd, WEFT_SOCK_WRITING, 0, &s);
    if (rc != 0)
        return rc;
    while ((rc = connect_result(fd)) == UV_EAGAIN) {
        rc = weft__net_wait(self, s, WEFT_SW_CONNECT);
        if (rc != 0)
            break;
    }
    if (rc == 0)
        rc = local_port(fd);
    if (rc < 0) {
        /* Relaxed: s is still nobody else's. */
        uintptr_t st = atomic_load_explicit(&s->state, memory_order_relaxed);
        atomic_store_explicit(&s->state, (st & ~(uintptr_t)WEFT_SOCK_WRITING) | WEFT_SOCK_CLOSED,
                              memory_order_relaxed);
        weft__net_release(s);
        return rc;
    }
    atomic_store_explicit(&s->port, rc, memory_order_relaxed); /* after sock_new's fence */
    /* Release: pairs with the acquire of the first operation's op_enter
     * (api/net.c), which then sees the socket complete, wherever the
     * handle went meanwhile. */
    atomic_fetch_and_explicit(&s->state, ~(uintptr_t)WEFT_SOCK_WRITING, memory_order_release);
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

int weft__net_accept_one(weft__sock_t *l, weft__sock_t **spare, weft__sock_t **out)
{
    /* The slot first: a connection taken from the kernel must never be
     * dropped for want of one. */
    if (!*spare) {
        int rc = slot_take(spare);
        if (rc != 0)
            return rc;
    }
    int fd = accept_fd(l->fd);
    if (fd < 0)
        return fd;
    no_delay(fd);
    weft__sock_t *s = *spare;
    *spare = NULL;
    /* Relaxed: the listener's port was set before its handle was ours. */
    return sock_new(l->net, s, fd, 0, atomic_load_explicit(&l->port, memory_order_relaxed), out);
}

void weft__net_spare_put(weft__sock_t *spare)
{
    if (spare)
        slot_put(spare);
}
