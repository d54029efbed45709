/*
 * net.c - TCP sockets for tasks: weft_tcp_listen, weft_tcp_accept,
 * weft_tcp_connect, weft_read, weft_write, weft_close, weft_tcp_port.  The
 * argument checks, who may use a socket when, and the loops that try a
 * system call and wait for readiness; the readiness itself, the calls on
 * the fd and the table of socket records are sched/io_net.c's.
 *
 * Who owns a socket.  The user's handle (io_net.h: a slot of the table
 * and a generation) names the socket from its making until weft_close;
 * each call under way holds it too, as a bit of the slot's state word
 * (READING for a read or an accept, WRITING for a write, CLOSING for the
 * close while it wakes the waiters; at most one of each, so the bits are
 * a reference count that cannot exceed three).  weft_close sets CLOSED,
 * which no operation can enter past, and wakes the waiting ones with
 * UV_EBADF; whoever clears the last bit after CLOSED ends the socket (its
 * fd, its read buffer) exactly once.  The slot itself is never freed
 * while the scheduler runs: a call with the handle of a closed socket,
 * racing with the close or long after it, reads the state word, sees
 * CLOSED or another generation, and returns UV_EBADF without writing
 * anything.  Every change of the word is a CAS or a fetch-and on the word
 * of the caller's own generation, so a stale handle never changes a later
 * socket's state.
 *
 * Cost per read or write: one load of the state word (which picks the
 * error code for bad arguments), one CAS to enter, one fetch-and to
 * leave; no lock.
 */
#include "sched/fault.h"
#include "sched/io_net.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* The live socket h names, of the kind asked (listener or not), and its
 * generation: UV_EBADF for a handle of a closed socket (or none),
 * WEFT_EINVAL for the wrong kind. */
static int sock_check(weft_sock_t *h, bool listener, weft__sock_t **out, uintptr_t *gen)
{
    weft__sock_t *s = weft__sock_of(h, gen);
    if (!s)
        return WEFT__UV_EBADF;
    /* Relaxed: this only picks an error code; op_enter's CAS decides. */
    uintptr_t st = atomic_load_explicit(&s->state, memory_order_relaxed);
    if (WEFT_SOCK_GEN(st) != *gen || (st & WEFT_SOCK_CLOSED))
        return WEFT__UV_EBADF;
    if (!(st & WEFT_SOCK_LISTENER) != !listener)
        return WEFT_EINVAL;
    *out = s;
    return 0;
}

static void op_exit(weft__sock_t *s, uintptr_t bit)
{
    /* acq_rel: release hands what we did with the fd and buffer to the
     * next operation's acquire (op_enter) and to whoever ends the socket;
     * acquire pairs with the other operations' exits and the closer's
     * CAS, when we end it. */
    uintptr_t old = atomic_fetch_and_explicit(&s->state, ~bit, memory_order_acq_rel);
    if ((old & ~bit & (WEFT_SOCK_OPS | WEFT_SOCK_CLOSED)) == WEFT_SOCK_CLOSED)
        weft__net_release(s);
}

/* Starts an operation (bit) on the socket of generation gen in s:
 * UV_EBADF once it is closed (or the slot holds another socket), UV_EBUSY
 * if an operation of that kind is under way.  Writes nothing on failure. */
static int op_enter(weft__sock_t *s, uintptr_t gen, uintptr_t bit)
{
    /* Relaxed: the CAS below rereads the word; it gives the edges. */
    uintptr_t old = atomic_load_explicit(&s->state, memory_order_relaxed);
    do {
        if (WEFT_SOCK_GEN(old) != gen || (old & WEFT_SOCK_CLOSED))
            return WEFT__UV_EBADF;
        if (old & bit)
            return WEFT__UV_EBUSY;
        /* Acquire on success: pairs with the release in op_exit of the
         * task that did the previous operation of this kind, so its
         * buffer state is ours, and with the making of the socket
         * (connect's release).  Relaxed on failure: we only look again. */
    } while (!atomic_compare_exchange_weak_explicit(&s->state, &old, old | bit,
                                                    memory_order_acquire,
                                                    memory_order_relaxed));
    return 0;
}

int weft_tcp_listen(const char *host, int port, int backlog, weft_sock_t **out)
{
    if (!out || port < 0 || port > 65535 || backlog < 0)
        return WEFT_EINVAL;
    *out = NULL;
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    if (!self)
        return WEFT_EPERM;
    weft__addrs_t *a;
    int rc = weft__net_resolve(self, host, port, true, &a);
    if (rc != 0)
        return rc;
    weft__sock_t *s;
    for (size_t i = 0; i < weft__net_addrs_count(a); i++) {
        rc = weft__net_listen_at(self->sched, a, i, backlog ? backlog : SOMAXCONN, &s);
        if (rc == 0) {
            *out = weft__sock_handle(s);
            break;
        }
    }
    weft__net_addrs_free(a);
    return rc;
}

int weft_tcp_port(weft_sock_t *h)
{
    if (!h)
        return WEFT_EINVAL;
    uintptr_t gen;
    weft__sock_t *s = weft__sock_of(h, &gen);
    if (!s)
        return WEFT__UV_EBADF;
    /* No operation is entered (any thread, never waits), so the slot may
     * be given a new socket while we look: the port is read between two
     * reads of the generation, as a sequence lock's reader does.  Relaxed
     * first read: the handle came to us after its port was set. */
    uintptr_t st = atomic_load_explicit(&s->state, memory_order_relaxed);
    if (WEFT_SOCK_GEN(st) != gen || (st & WEFT_SOCK_CLOSED))
        return WEFT__UV_EBADF;
    int port = atomic_load_explicit(&s->port, memory_order_relaxed);
    /* Acquire: pairs with sock_new's release fence (io_net.c): if the port
     * read was a later socket's, the read below sees that socket's
     * generation. */
    atomic_thread_fence(memory_order_acquire);
    st = atomic_load_explicit(&s->state, memory_order_relaxed);
    return WEFT_SOCK_GEN(st) == gen ? port : WEFT__UV_EBADF;
}

int weft_tcp_accept(weft_sock_t *listener, weft_sock_t **out)
{
    if (!listener || !out)
        return WEFT_EINVAL;
    *out = NULL;
    weft__sock_t *l;
    uintptr_t gen;
    int rc = sock_check(listener, true, &l, &gen);
    if (rc != 0)
        return rc;
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    if (!self)
        return WEFT_EPERM;
    rc = op_enter(l, gen, WEFT_SOCK_READING);
    if (rc != 0)
        return rc;
    weft__sock_t *spare = NULL, *s;
    while ((rc = weft__net_accept_one(l, &spare, &s)) == WEFT__UV_EAGAIN) {
        rc = weft__net_wait(self, l, WEFT_SW_ACCEPT);
        if (rc != 0)
            break;
    }
    weft__net_spare_put(spare);
    op_exit(l, WEFT_SOCK_READING);
    if (rc == 0) {
        *out = weft__sock_handle(s);
        weft__budget_spend(weft__self()); /* may have moved: WEFT_MIGRATE */
    }
    return rc;
}

int weft_tcp_connect(const char *host, int port, weft_sock_t **out)
{
    if (!host || !out || port <= 0 || port > 65535)
        return WEFT_EINVAL;
    *out = NULL;
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    if (!self)
        return WEFT_EPERM;
    weft__addrs_t *a;
    int rc = weft__net_resolve(self, host, port, false, &a);
    if (rc != 0)
        return rc;
    /* Each address in turn, as resolved; the last failure is reported. */
    weft__sock_t *s;
    for (size_t i = 0; i < weft__net_addrs_count(a); i++) {
        rc = weft__net_connect_at(self, a, i, &s);
        if (rc == 0)
            *out = weft__sock_handle(s);
        if (rc == 0 || rc == WEFT_ECANCELED)
            break;
    }
    weft__net_addrs_free(a);
    return rc;
}

/* Takes what is buffered, or one system call's worth. */
static ssize_t read_some(weft_task_t *self, weft__sock_t *s, char *buf, size_t len)
{
    if (s->rpos < s->rend) {
        size_t n = s->rend - s->rpos < len ? s->rend - s->rpos : len;
        memcpy(buf, s->rbuf + s->rpos, n);
        s->rpos += n;
        return (ssize_t)n;
    }
    bool direct = len >= WEFT_SOCK_RBUF;
    if (!direct && !s->rbuf &&
        (weft__fault_inject("socket read buffer") || !(s->rbuf = malloc(WEFT_SOCK_RBUF))))
        return WEFT_ENOMEM;
    for (;;) {
        ssize_t n = direct ? weft__net_recv(s, buf, len) : weft__net_recv(s, s->rbuf, WEFT_SOCK_RBUF);
        if (n >= 0) {
            if (direct || n == 0)
                return n;
            s->rpos = 0;
            s->rend = (size_t)n;
            return read_some(self, s, buf, len);
        }
        if (n != WEFT__UV_EAGAIN)
            return n;
        int rc = weft__net_wait(self, s, WEFT_SW_READ);
        if (rc != 0)
            return rc;
    }
}

/* A length past SSIZE_MAX is no buffer's: a negative size, converted. */
ssize_t weft_read(weft_sock_t *h, void *buf, size_t len)
{
    if (!h || (!buf && len) || len > SSIZE_MAX)
        return WEFT_EINVAL;
    weft__sock_t *s;
    uintptr_t gen;
    int rc = sock_check(h, false, &s, &gen);
    if (rc != 0)
        return rc;
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    if (!self)
        return WEFT_EPERM;
    rc = op_enter(s, gen, WEFT_SOCK_READING);
    if (rc != 0)
        return rc;
    ssize_t n = len ? read_some(self, s, buf, len) : 0;
    op_exit(s, WEFT_SOCK_READING);
    if (n > 0)
        weft__budget_spend(weft__self());
    return n;
}

int weft_write(weft_sock_t *h, const void *buf, size_t len)
{
    if (!h || (!buf && len) || len > SSIZE_MAX)
        return WEFT_EINVAL;
    weft__sock_t *s;
    uintptr_t gen;
    int rc = sock_check(h, false, &s, &gen);
    if (rc != 0)
        return rc;
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    if (!self)
        return WEFT_EPERM;
    rc = op_enter(s, gen, WEFT_SOCK_WRITING);
    if (rc != 0)
        return rc;
    const char *p = buf;
    while (len > 0) {
        ssize_t n = weft__net_send(s, p, len);
        if (n >= 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n != WEFT__UV_EAGAIN) {
            rc = (int)n;
            break;
        }
        rc = weft__net_wait(self, s, WEFT_SW_WRITE);
        if (rc != 0)
            break;
    }
    op_exit(s, WEFT_SOCK_WRITING);
    if (rc == 0)
        weft__budget_spend(weft__self());
    return rc;
}

int weft_close(weft_sock_t *h)
{
    if (!h)
        return WEFT_EINVAL;
    uintptr_t gen;
    weft__sock_t *s = weft__sock_of(h, &gen);
    if (!s)
        return WEFT__UV_EBADF;
    /* Relaxed: the CAS below rereads the word; it gives the edges. */
    uintptr_t old = atomic_load_explicit(&s->state, memory_order_relaxed);
    do {
        if (WEFT_SOCK_GEN(old) != gen || (old & WEFT_SOCK_CLOSED))
            return WEFT__UV_EBADF;
        /* acq_rel on success: acquire pairs with the exits of earlier
         * operations, in case we end the socket; release orders our CLOSED
         * before the lock weft__net_wake_closed takes (waiters read it
         * under that lock).  Relaxed on failure: we only look again. */
    } while (!atomic_compare_exchange_weak_explicit(
        &s->state, &old, old | WEFT_SOCK_CLOSED | WEFT_SOCK_CLOSING, memory_order_acq_rel,
        memory_order_relaxed));
    if (old & (WEFT_SOCK_READING | WEFT_SOCK_WRITING))
        weft__net_wake_closed(s);
    op_exit(s, WEFT_SOCK_CLOSING);
    return 0;
}
