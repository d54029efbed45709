/*
 * io_net.h - what api/net.c needs of sched/io_net.c: the socket record and
 * the handles that name it, one-shot non-blocking system calls that return
 * a code (never errno), the wait for a socket's readiness, name
 * resolution, and a socket's end.
 */
#ifndef WEFT_IO_NET_H
#define WEFT_IO_NET_H

#include "sched/internal.h"

#include <errno.h>
#include <limits.h>
#include <sys/types.h>

/*
 * Handles.  The weft_sock_t * the user holds is not a pointer: it is the
 * index of a slot in one process-wide table of socket records, and the
 * generation of the socket in that slot (generation << WEFT_SOCK_INDEX_BITS
 * | index; never 0, so never NULL).  A slot's memory stays in the table
 * while any scheduler has sockets, and is reused for later sockets under
 * the next generation, so a handle can always be looked at: one whose
 * generation is not the slot's, or whose socket is closed, gets UV_EBADF
 * without touching anything else.  That is what makes a call racing with
 * weft_close (or coming after it) safe.  See io_net.c's table for the rest.
 */
#if UINTPTR_MAX > 0xffffffffu
#define WEFT_SOCK_INDEX_BITS 24 /* 16,777,152 sockets at once at most */
#else
#define WEFT_SOCK_INDEX_BITS 16 /* 65,472 */
#endif
#define WEFT_SOCK_INDEX_MASK (((uintptr_t)1 << WEFT_SOCK_INDEX_BITS) - 1)
#define WEFT_SOCK_GEN_BITS (sizeof(uintptr_t) * CHAR_BIT - WEFT_SOCK_INDEX_BITS)
#define WEFT_SOCK_GEN_MAX (((uintptr_t)1 << WEFT_SOCK_GEN_BITS) - 1)

/* The table grows by chunks, chunk k holding WEFT_SOCK_BASE << k slots,
 * so an index finds its chunk with one count of leading zeros. */
#define WEFT_SOCK_BASE_SHIFT 6
#define WEFT_SOCK_BASE ((uintptr_t)1 << WEFT_SOCK_BASE_SHIFT)
#define WEFT_SOCK_CHUNKS (WEFT_SOCK_INDEX_BITS - WEFT_SOCK_BASE_SHIFT)

/* The low bits of weft__sock.state; the generation is above them. */
#define WEFT_SOCK_READING 1u  /* a read or an accept is under way */
#define WEFT_SOCK_WRITING 2u  /* a write, or the connect that makes the socket */
#define WEFT_SOCK_CLOSED 4u   /* weft_close was called (or the slot is free) */
#define WEFT_SOCK_CLOSING 8u  /* weft_close is waking the waiters */
#define WEFT_SOCK_LISTENER 16u /* made by weft_tcp_listen: fixed per generation */
#define WEFT_SOCK_OPS (WEFT_SOCK_READING | WEFT_SOCK_WRITING | WEFT_SOCK_CLOSING)
#define WEFT_SOCK_FLAG_BITS 5
#define WEFT_SOCK_GEN(st) ((st) >> WEFT_SOCK_FLAG_BITS)

_Static_assert(WEFT_SOCK_GEN_BITS + WEFT_SOCK_FLAG_BITS <= sizeof(uintptr_t) * CHAR_BIT,
               "a generation and the flags share the state word");

/* libuv's codes that api/net.c returns itself (io_net.c checks that they
 * are libuv's). */
#define WEFT__UV_EBADF (-EBADF)
#define WEFT__UV_EBUSY (-EBUSY)
#define WEFT__UV_EAGAIN (-EAGAIN)
#define WEFT__UV_EMFILE (-EMFILE)

/* What a task waits for; a read and an accept wait for a readable edge, a
 * write and a connect for a writable one. */
enum weft__sock_wait { WEFT_SW_READ, WEFT_SW_ACCEPT, WEFT_SW_WRITE, WEFT_SW_CONNECT };

/* What a read copies out of the socket's own buffer: small reads take what
 * has arrived in one system call, and reads at least this large skip the
 * buffer. */
#define WEFT_SOCK_RBUF (16 * 1024)

typedef struct weft__net weft__net_t;
typedef struct weft__sock weft__sock_t;

/* A slot of the table: the record of the socket of its current generation. */
struct weft__sock {
    _Atomic uintptr_t state;      /* generation << FLAG_BITS | WEFT_SOCK_*: who
                                     may still touch fd, and which socket this is */
    int fd;                       /* non-blocking, registered edge-triggered */
    _Atomic int port;             /* the bound local port (weft_tcp_port reads
                                     it from any thread, see there) */
    uint32_t index;               /* the slot's place in the table; fixed */
    weft__net_t *net;             /* its scheduler's poller */
    pthread_mutex_t lock;         /* guards the four fields below */
    weft_task_t *waiter[2];       /* the task waiting per direction, or NULL */
    bool ready[2];                /* an edge came while nobody waited */
    char *rbuf;                   /* the reader's buffer (WEFT_SOCK_RBUF) */
    size_t rpos, rend;            /* its unread bytes: rbuf[rpos..rend) */
    weft__sock_t *prev, *next;    /* the poller's list of live sockets */
    weft__sock_t *free_next;      /* the table's list of free slots */
    weft__io_req_t end_req;       /* gives the slot back on the I/O thread */
};

/* The table's chunks, NULL until made (io_net.c). */
extern _Atomic(weft__sock_t *) weft__sock_chunks[WEFT_SOCK_CHUNKS];

/*
 * The slot a handle names, and in *gen the generation it names; NULL when
 * it names no slot the table has (a handle from a stopped scheduler, or
 * not a handle).  Any thread; no lock.  The caller compares *gen with the
 * slot's state before it touches anything else.
 */
static inline weft__sock_t *weft__sock_of(weft_sock_t *h, uintptr_t *gen)
{
    uintptr_t v = (uintptr_t)h;
    uintptr_t idx = v & WEFT_SOCK_INDEX_MASK;
    *gen = v >> WEFT_SOCK_INDEX_BITS;
    /* Chunk k holds indices BASE * (2^k - 1) .. BASE * (2^(k+1) - 1) - 1. */
    unsigned long long q = (unsigned long long)(idx >> WEFT_SOCK_BASE_SHIFT) + 1;
    unsigned k = (unsigned)(sizeof q * CHAR_BIT - 1) - (unsigned)__builtin_clzll(q);
    if (k >= WEFT_SOCK_CHUNKS)
        return NULL;
    /* Acquire: pairs with the release that published the chunk (table_grow
     * in io_net.c), so its slots' initial state and locks are seen even by
     * a thread that never synchronised with the growth otherwise. */
    weft__sock_t *chunk = atomic_load_explicit(&weft__sock_chunks[k], memory_order_acquire);
    if (!chunk)
        return NULL;
    return &chunk[idx - (((uintptr_t)1 << k) - 1) * WEFT_SOCK_BASE];
}

/* The handle of s's current generation (s is the caller's, live). */
static inline weft_sock_t *weft__sock_handle(weft__sock_t *s)
{
    /* Relaxed: the generation was set by the caller's own thread (or
     * before the handover that gave it s). */
    uintptr_t gen = WEFT_SOCK_GEN(atomic_load_explicit(&s->state, memory_order_relaxed));
    return (weft_sock_t *)(gen << WEFT_SOCK_INDEX_BITS | s->index);
}

/* A resolved list of addresses (numeric ones are not looked up). */
typedef struct weft__addrs weft__addrs_t;

int weft__net_resolve(weft_task_t *self, const char *host, int port, bool passive,
                      weft__addrs_t **out);
void weft__net_addrs_free(weft__addrs_t *a);
size_t weft__net_addrs_count(const weft__addrs_t *a);

/* A socket for the i-th address: listening (bound) or connected.  Both
 * return a code and, on success, the socket in *out (the caller's, with no
 * operation under way). */
int weft__net_listen_at(struct weft_sched *sc, const weft__addrs_t *a, size_t i,
                        int backlog, weft__sock_t **out);
int weft__net_connect_at(weft_task_t *self, const weft__addrs_t *a, size_t i,
                         weft__sock_t **out);

/* One non-blocking attempt each: a count or a negative code (UV_EAGAIN
 * when the socket is not ready). */
ssize_t weft__net_recv(weft__sock_t *s, void *buf, size_t len);
ssize_t weft__net_send(weft__sock_t *s, const void *buf, size_t len);
/* *spare is a slot taken before the system call, so that a connection
 * once taken always has one: taken here when NULL and kept across attempts
 * that find none; used (set to NULL) when one is.  The caller gives a
 * slot left over back with weft__net_spare_put. */
int weft__net_accept_one(weft__sock_t *l, weft__sock_t **spare, weft__sock_t **out);
void weft__net_spare_put(weft__sock_t *spare);

/*
 * Waits until an edge of readiness (for what) comes after the caller's
 * last attempt that found the socket not ready.  0 to try again, UV_EBADF
 * once the socket is closed, WEFT_ECANCELED when cancelled.  The task may
 * resume on another worker.
 */
int weft__net_wait(weft_task_t *self, weft__sock_t *s, enum weft__sock_wait what);

/* Wakes s's waiters with UV_EBADF (weft_close has marked it closed). */
void weft__net_wake_closed(weft__sock_t *s);

/* Ends a closed socket nobody uses any more: closes the fd and hands the
 * slot back to the table through the I/O thread. */
void weft__net_release(weft__sock_t *s);

/* WEFT_IO_STOP: closes the sockets still open and frees the poller (and
 * the table with the last poller). */
void weft__net_stop(weft__io_t *io);

#endif /* WEFT_IO_NET_H */
