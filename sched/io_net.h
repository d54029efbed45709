/*
 * io_net.h - what api/net.c needs of sched/io_net.c: the socket structure,
 * one-shot non-blocking system calls that return a code (never errno), the
 * wait for a socket's readiness, name resolution, and a socket's end.
 */
#ifndef WEFT_IO_NET_H
#define WEFT_IO_NET_H

#include "sched/internal.h"

#include <errno.h>
#include <sys/types.h>

/* Bits of weft_sock.use: the operations under way, and the close. */
#define WEFT_SOCK_READING 1u /* a read or an accept */
#define WEFT_SOCK_WRITING 2u /* a write or the connect that makes the socket */
#define WEFT_SOCK_CLOSED 4u  /* weft_close was called */
#define WEFT_SOCK_CLOSING 8u /* weft_close is waking the waiters */
#define WEFT_SOCK_OPS (WEFT_SOCK_READING | WEFT_SOCK_WRITING | WEFT_SOCK_CLOSING)

/* libuv's codes that api/net.c returns itself (io_net.c checks that they
 * are libuv's). */
#define WEFT__UV_EBADF (-EBADF)
#define WEFT__UV_EBUSY (-EBUSY)
#define WEFT__UV_EAGAIN (-EAGAIN)

/* What a task waits for; a read and an accept wait for a readable edge, a
 * write and a connect for a writable one. */
enum weft__sock_wait { WEFT_SW_READ, WEFT_SW_ACCEPT, WEFT_SW_WRITE, WEFT_SW_CONNECT };

/* What a read copies out of the socket's own buffer: small reads take what
 * has arrived in one system call, and reads at least this large skip the
 * buffer. */
#define WEFT_SOCK_RBUF (16 * 1024)

typedef struct weft__net weft__net_t;

struct weft_sock {
    int fd;                       /* non-blocking, registered edge-triggered */
    bool listener;                /* made by weft_tcp_listen */
    int port;                     /* the bound local port */
    weft__net_t *net;             /* its scheduler's poller */
    _Atomic uint32_t use;         /* WEFT_SOCK_*: who may still touch fd */
    pthread_mutex_t lock;         /* guards the four fields below */
    weft_task_t *waiter[2];       /* the task waiting per direction, or NULL */
    bool ready[2];                /* an edge came while nobody waited */
    char *rbuf;                   /* the reader's buffer (WEFT_SOCK_RBUF) */
    size_t rpos, rend;            /* its unread bytes: rbuf[rpos..rend) */
    weft_sock_t *prev, *next;     /* the poller's list of live sockets */
    weft__io_req_t free_req;      /* frees it on the I/O thread */
};

/* A resolved list of addresses (numeric ones are not looked up). */
typedef struct weft__addrs weft__addrs_t;

int weft__net_resolve(weft_task_t *self, const char *host, int port, bool passive,
                      weft__addrs_t **out);
void weft__net_addrs_free(weft__addrs_t *a);
size_t weft__net_addrs_count(const weft__addrs_t *a);

/* A socket for the i-th address: listening (bound) or connected.  Both
 * return a code and, on success, the socket in *out. */
int weft__net_listen_at(struct weft_sched *sc, const weft__addrs_t *a, size_t i,
                        int backlog, weft_sock_t **out);
int weft__net_connect_at(weft_task_t *self, const weft__addrs_t *a, size_t i,
                         weft_sock_t **out);

/* One non-blocking attempt each: a count or a negative code (UV_EAGAIN
 * when the socket is not ready). */
ssize_t weft__net_recv(weft_sock_t *s, void *buf, size_t len);
ssize_t weft__net_send(weft_sock_t *s, const void *buf, size_t len);
/* *spare is a socket record made before the system call, so that a
 * connection once taken always has one: made here when NULL and kept
 * across attempts that find none; taken (set to NULL) when one is.  The
 * caller frees a record left over with free(). */
int weft__net_accept_one(weft_sock_t *l, weft_sock_t **spare, weft_sock_t **out);

/*
 * Waits until an edge of readiness (for what) comes after the caller's
 * last attempt that found the socket not ready.  0 to try again, UV_EBADF
 * once the socket is closed, WEFT_ECANCELED when cancelled.  The task may
 * resume on another worker.
 */
int weft__net_wait(weft_task_t *self, weft_sock_t *s, enum weft__sock_wait what);

/* Marks the socket closed and wakes its waiters with UV_EBADF. */
void weft__net_wake_closed(weft_sock_t *s);

/* Ends a closed socket nobody uses any more: closes the fd and hands the
 * memory to the I/O thread. */
void weft__net_release(weft_sock_t *s);

/* WEFT_IO_STOP: closes the sockets still open and frees the poller. */
void weft__net_stop(weft__io_t *io);

#endif /* WEFT_IO_NET_H */
