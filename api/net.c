/*
 * net.c - TCP sockets for tasks: weft_tcp_listen, weft_tcp_accept,
 * weft_tcp_connect, weft_read, weft_write, weft_close, weft_tcp_port.  The
 * argument checks, who may use a socket when, and the loops that try a
 * system call and wait for readiness; the readiness itself and the calls
 * on the fd are sched/io_net.c's.
 *
 * A socket's use word says which operations are under way (one read or
 * accept, one write, a close waking them) and whether it is closed.  Its
 * fd and memory end when it is closed and the last operation has left, so
 * a close never pulls the fd from under a task inside a system call: the
 * close wakes the waiters with UV_EBADF, and whoever leaves last ends it.
 */
#include "sched/fault.h"
#include "sched/io_net.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void op_exit(weft_sock_t *s, uint32_t bit)
{
    /* acq_rel: release hands what we did with the fd and buffer to the
     * next operation and to whoever ends the socket; acquire pairs with
     * the other operations' exits and the closer's, when we end it. */
    uint32_t old = atomic_fetch_and_explicit(&s->use, ~bit, memory_order_acq_rel);
    if ((old & ~bit) == WEFT_SOCK_CLOSED)
        weft__net_release(s);
}

/* Starts an operation (bit) on s: UV_EBUSY if one of its kind is under
 * way, UV_EBADF once s is closed. */
static int op_enter(weft_sock_t *s, uint32_t bit)
{
    /* Acquire: pairs with the release in op_exit of the task that did the
     * previous operation of this kind, so its buffer state is ours. */
    uint32_t old = atomic_fetch_or_explicit(&s->use, bit, memory_order_acquire);
    if (old & bit)
        return WEFT__UV_EBUSY;
    if (old & WEFT_SOCK_CLOSED) {
        /* A close under way may have counted us: leave like an operation,
         * ending the socket if we are the last. */
        op_exit(s, bit);
        return WEFT__UV_EBADF;
    }
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
    for (size_t i = 0; i < weft__net_addrs_count(a); i++) {
        rc = weft__net_listen_at(self->sched, a, i, backlog ? backlog : SOMAXCONN, out);
        if (rc == 0)
            break;
    }
    weft__net_addrs_free(a);
    return rc;
}

int weft_tcp_port(weft_sock_t *s)
{
    return s ? s->port : WEFT_EINVAL;
}

int weft_tcp_accept(weft_sock_t *listener, weft_sock_t **out)
{
    if (!listener || !out)
        return WEFT_EINVAL;
    *out = NULL;
    if (!listener->listener)
        return WEFT_EINVAL;
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    if (!self)
        return WEFT_EPERM;
    int rc = op_enter(listener, WEFT_SOCK_READING);
    if (rc != 0)
        return rc;
    weft_sock_t *spare = NULL;
    while ((rc = weft__net_accept_one(listener, &spare, out)) == WEFT__UV_EAGAIN) {
        rc = weft__net_wait(self, listener, WEFT_SW_ACCEPT);
        if (rc != 0)
            break;
    }
    free(spare);
    op_exit(listener, WEFT_SOCK_READING);
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
    for (size_t i = 0; i < weft__net_addrs_count(a); i++) {
        rc = weft__net_connect_at(self, a, i, out);
        if (rc == 0 || rc == WEFT_ECANCELED)
            break;
    }
    weft__net_addrs_free(a);
    return rc;
}

/* Takes what is buffered, or one system call's worth. */
static ssize_t read_some(weft_task_t *self, weft_sock_t *s, char *buf, size_t len)
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
ssize_t weft_read(weft_sock_t *s, void *buf, size_t len)
{
    if (!s || (!buf && len) || len > SSIZE_MAX || s->listener)
        return WEFT_EINVAL;
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    if (!self)
        return WEFT_EPERM;
    int rc = op_enter(s, WEFT_SOCK_READING);
    if (rc != 0)
        return rc;
    ssize_t n = len ? read_some(self, s, buf, len) : 0;
    op_exit(s, WEFT_SOCK_READING);
    return n;
}

int weft_write(weft_sock_t *s, const void *buf, size_t len)
{
    if (!s || (!buf && len) || len > SSIZE_MAX || s->listener)
        return WEFT_EINVAL;
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    if (!self)
        return WEFT_EPERM;
    int rc = op_enter(s, WEFT_SOCK_WRITING);
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
    return rc;
}

int weft_close(weft_sock_t *s)
{
    if (!s)
        return WEFT_EINVAL;
    uint32_t old = atomic_load_explicit(&s->use, memory_order_relaxed);
    do {
        if (old & WEFT_SOCK_CLOSED)
            return WEFT__UV_EBADF;
        /* acq_rel: acquire pairs with the exits of earlier operations, in
         * case we end the socket; release orders our CLOSED before the
         * lock weft__net_wake_closed takes (waiters read it under it). */
    } while (!atomic_compare_exchange_weak_explicit(&s->use, &old,
                                                    old | WEFT_SOCK_CLOSED | WEFT_SOCK_CLOSING,
                                                    memory_order_acq_rel,
                                                    memory_order_relaxed));
    if (old & (WEFT_SOCK_READING | WEFT_SOCK_WRITING))
        weft__net_wake_closed(s);
    op_exit(s, WEFT_SOCK_CLOSING);
    return 0;
}
