/*
 * io.c - the I/O thread: one libuv loop on a thread of its own, fed through
 * a lock-free inbox.  It owns sleep deadlines now (and sockets and blocking
 * calls as they come).  This file, and the files it owns, are the only ones
 * that call libuv (sched/io*.c).
 *
 * Tasks hand requests over with weft__io_submit: a push on the MPSC inbox
 * (mpsc.h) and, only when the inbox was not already signalled, one
 * uv_async_send; the async callback drains the whole inbox, so a burst of
 * requests costs one wake-up of this thread.
 *
 * Sleeps: deadlines are kept in nanoseconds in a heap (timerheap.c) under
 * one timerfd, set to the earliest deadline as an absolute CLOCK_MONOTONIC
 * time (uv_hrtime's clock) and polled by the loop.  libuv's own timers
 * count whole milliseconds from a cached clock, which makes a sleep about
 * a millisecond late on average; the timerfd, with this thread's timer
 * slack cut to 1 ns, wakes within microseconds of the deadline and never
 * before it.  A woken task goes back to the workers through the injector.
 */
#include "sched/fault.h"
#include "sched/internal.h"
#include "sched/io_net.h"
#include "sched/timerheap.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <uv.h>

struct weft__io {
    uv_loop_t loop;
    uv_async_t async;
    uv_poll_t timer;            /* readable when timer_fd expires */
    int timer_fd;
    uint64_t timer_set;         /* the deadline timer_fd is set to, 0 = none */
    weft__mpsc_t inbox;
    _Atomic uint32_t signalled; /* an uv_async_send is on its way */
    weft__timerheap_t heap;
    weft__io_req_t stop_req;
    pthread_t thread;
    struct weft_sched *sched;
};

uint64_t weft__now_ns(void)
{
    return uv_hrtime();
}

void weft__io_submit(weft__io_t *io, weft__io_req_t *req)
{
    weft__mpsc_push(&io->inbox, &req->node);
    /* acq_rel: release makes our push visible to the drain that resets the
     * flag after reading it (its exchange is acquire). */
    if (!atomic_exchange_explicit(&io->signalled, 1, memory_order_acq_rel))
        uv_async_send(&io->async);
}

/* Runs call(io, req) on the I/O thread, after the requests queued before. */
void weft__io_call(weft__io_t *io, weft__io_req_t *req,
                   void (*call)(weft__io_t *io, weft__io_req_t *req))
{
    req->kind = WEFT_IO_CALL;
    req->call = call;
    weft__io_submit(io, req);
}

struct uv_loop_s *weft__io_loop(weft__io_t *io)
{
    return &io->loop;
}

static weft__timer_t *timer_of(weft__io_req_t *req, size_t offset)
{
    return (weft__timer_t *)((char *)req - offset);
}

static void arm_timer(weft__io_t *io);

/*
 * Fires what is due.  The workers are notified once, after the batch: a
 * timer stays FIRED until its fire function returns, and a task woken by
 * it waits for IDLE before it leaves its sleep (timer.c), so the futex
 * wake-up of a parked worker (tens of microseconds on some hosts) must not
 * happen inside that window, where a woken task would spin on it.
 */
static void fire_timers(weft__io_t *io)
{
    uint64_t now = uv_hrtime();
    weft__timer_t *t;
    weft__inject_defer_notify();
    while ((t = weft__th_min(&io->heap)) && t->heap_deadline <= now) {
        weft__th_remove(&io->heap, t);
        weft__timer_fire(t);
    }
    weft__inject_flush_notify(io->sched);
}

static void on_timer(uv_poll_t *poll, int status, int events)
{
    (void)status;
    (void)events;
    weft__io_t *io = poll->data;
    /* Consumes the expiry; EAGAIN means it was set again since, and the
     * deadlines are read from the heap anyway. */
    uint64_t expirations;
    ssize_t got = read(io->timer_fd, &expirations, sizeof expirations);
    (void)got;
    io->timer_set = 0; /* an expired timerfd is disarmed */
    fire_timers(io);
    arm_timer(io);
}

/* Sets timer_fd to the earliest deadline; a syscall only when it moves.
 * Runs after every batch that may have changed the heap, so it also
 * publishes the heap's size for weft_stats. */
static void arm_timer(weft__io_t *io)
{
    /* Relaxed: a count read for reports; it orders nothing. */
    atomic_store_explicit(&io->sched->timers_armed, io->heap.n, memory_order_relaxed);
    weft__timer_t *t = weft__th_min(&io->heap);
    uint64_t due = t ? t->heap_deadline : 0;
    if (due == io->timer_set)
        return;
    /* A zero it_value disarms; a deadline already past fires at once. */
    struct itimerspec its = {.it_value = {.tv_sec = (time_t)(due / 1000000000),
                                          .tv_nsec = (long)(due % 1000000000)}};
    if (due != 0 && its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1;
    if (timerfd_settime(io->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
        io->timer_set = due;
}

static void handle(weft__io_t *io, weft__io_req_t *req)
{
    weft__timer_t *t;
    switch (req->kind) {
    case WEFT_IO_TIMER_ARM: {
        t = timer_of(req, offsetof(weft__timer_t, arm_req));
        /* Cleared before we read the state (seq_cst, see timer.c): a later
         * arming either queues again or is the one we read. */
        atomic_store_explicit(&t->arm_queued, 0, memory_order_seq_cst);
        uint32_t s = atomic_load_explicit(&t->state, memory_order_seq_cst);
        if (t->heap_index != WEFT_NOT_IN_HEAP)
            weft__th_remove(&io->heap, t);
        if (WEFT_TIMER_STATE(s) != WEFT_TIMER_ARMED)
            break; /* disarmed before we got here */
        t->heap_gen = WEFT_TIMER_GEN(s);
        t->heap_deadline = atomic_load_explicit(&t->deadline_ns, memory_order_relaxed);
        if (weft__th_push(&io->heap, t) != 0) {
            /* No room: end the wait now rather than never, marked with a
             * deadline of 0 (no arming has one) so that it ends with
             * WEFT_ENOMEM, not as if its time had come (timer.c,
             * api/timeout.c). */
            t->heap_deadline = 0;
            weft__timer_fire(t);
        }
        break;
    }
    case WEFT_IO_TIMER_REMOVE:
        t = timer_of(req, offsetof(weft__timer_t, remove_req));
        /* The request node may be queued again from here on.  seq_cst,
         * with the load below, against weft__timer_disarm's CAS and
         * exchange (timer.c): either we see its IDLE or it sees our 0 and
         * queues another removal; with release and acquire both could
         * miss, leaving the entry in the heap until its deadline. */
        atomic_store_explicit(&t->remove_queued, 0, memory_order_seq_cst);
        if (t->heap_index != WEFT_NOT_IN_HEAP &&
            WEFT_TIMER_STATE(atomic_load_explicit(&t->state, memory_order_seq_cst)) !=
                WEFT_TIMER_ARMED)
            weft__th_remove(&io->heap, t);
        break;
    case WEFT_IO_TIMER_FREE:
        t = timer_of(req, offsetof(weft__timer_t, free_req));
        if (t->heap_index != WEFT_NOT_IN_HEAP)
            weft__th_remove(&io->heap, t);
        free(t); /* a retired timer heads the memory it lives in */
        break;
    case WEFT_IO_CALL:
        req->call(io, req);
        break;
    case WEFT_IO_STOP:
        weft__net_stop(io); /* the sockets left open, and their poller */
        uv_close((uv_handle_t *)&io->async, NULL);
        uv_poll_stop(&io->timer);
        uv_close((uv_handle_t *)&io->timer, NULL);
        break;
    }
}

static void on_async(uv_async_t *async)
{
    weft__io_t *io = async->data;
    /* Acquire: pairs with the submitters' exchange (see weft__io_submit);
     * anything pushed after this reset signals again. */
    atomic_exchange_explicit(&io->signalled, 0, memory_order_acq_rel);
    weft__mpsc_node_t *n;
    bool stop = false;
    while ((n = weft__mpsc_pop(&io->inbox))) {
        weft__io_req_t *req = (weft__io_req_t *)n;
        stop |= req->kind == WEFT_IO_STOP;
        handle(io, req);
    }
    if (!stop) {
        fire_timers(io);
        arm_timer(io);
    }
}

static void *io_main(void *arg)
{
    weft__io_t *io = arg;
    /* Timer slack (50 us by default) would add itself to every sleep. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    weft__thread_begin(io->sched, WEFT_IO_THREAD);
    uv_run(&io->loop, UV_RUN_DEFAULT);
    weft__thread_end(io->sched, WEFT_IO_THREAD);
    return NULL;
}

int weft__io_start(struct weft_sched *s)
{
    weft__io_t *io = weft__fault_inject("I/O thread") ? NULL : calloc(1, sizeof *io);
    if (!io)
        return WEFT_ENOMEM;
    io->sched = s;
    weft__mpsc_init(&io->inbox);
    atomic_init(&io->signalled, 0);
    int rc = uv_loop_init(&io->loop);
    if (rc != 0)
        goto fail_loop;
    rc = uv_async_init(&io->loop, &io->async, on_async);
    if (rc != 0)
        goto fail_async;
    io->async.data = io;
    io->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (io->timer_fd < 0) {
        rc = WEFT_ENOMEM;
        goto fail_timerfd;
    }
    rc = uv_poll_init(&io->loop, &io->timer, io->timer_fd);
    if (rc != 0)
        goto fail_poll;
    io->timer.data = io;
    uv_poll_start(&io->timer, UV_READABLE, on_timer);
    if (pthread_create(&io->thread, NULL, io_main, io) != 0) {
        rc = WEFT_ENOMEM;
        goto fail_thread;
    }
    s->io = io;
    return 0;

fail_thread:
    uv_close((uv_handle_t *)&io->timer, NULL);
fail_poll:
    close(io->timer_fd);
fail_timerfd:
    uv_close((uv_handle_t *)&io->async, NULL);
    uv_run(&io->loop, UV_RUN_DEFAULT);
fail_async:
    uv_loop_close(&io->loop);
fail_loop:
    free(io);
    return rc;
}

void weft__io_stop(struct weft_sched *s)
{
    weft__io_t *io = s->io;
    io->stop_req.kind = WEFT_IO_STOP;
    weft__io_submit(io, &io->stop_req);
    pthread_join(io->thread, NULL);
    /* The stop request closed both handles; a busy loop here is a bug. */
    if (uv_loop_close(&io->loop) != 0)
        fprintf(stderr, "weft: the I/O loop still had handles open at stop\n");
    close(io->timer_fd);
    weft__th_free(&io->heap);
    free(io);
    s->io = NULL;
}
