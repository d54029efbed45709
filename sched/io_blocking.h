/*
 * io_blocking.h - the record of one weft_run_blocking call, shared by the
 * task side (api/blocking.c) and the libuv side (sched/io_blocking.c).
 * The record lives on the calling task's stack: the task stays suspended
 * until the I/O thread wakes it, and nothing touches the record after that.
 */
#ifndef WEFT_IO_BLOCKING_H
#define WEFT_IO_BLOCKING_H

#include "sched/internal.h"

#include <stdalign.h>
#include <stddef.h>

/* Room for libuv's uv_work_t, which this header may not name;
 * sched/io_blocking.c checks the size and alignment at compile time. */
#define WEFT_UV_WORK_SIZE 192

typedef struct weft__blocking {
    weft_fn fn;                 /* run on libuv's thread pool */
    void *arg;
    void *result;               /* fn's result, written by the pool thread */
    int rc;                     /* fn's code, written by the pool thread */
    weft_task_t *task;          /* the suspended caller */
    weft__io_t *io;
    _Atomic uint32_t state;     /* WEFT_BLK_* (sched/io_blocking.c) */
    bool cancel_handled;        /* I/O thread: the cancel request ran */
    weft__io_req_t start_req;   /* queues the work */
    weft__io_req_t cancel_req;  /* tries uv_cancel, at most once */
    alignas(max_align_t) unsigned char work[WEFT_UV_WORK_SIZE]; /* uv_work_t */
} weft__blocking_t;

/* Queues b->fn on the thread pool (through the I/O thread); the task is
 * woken once, with wait_rc WEFT_ECANCELED if fn never ran, else 0 and fn's
 * outcome in b->rc and b->result. */
void weft__blocking_start(weft__blocking_t *b);

/* On a pool thread inside a weft_run_blocking function: that call's
 * scheduler; else NULL. */
struct weft_sched *weft__blocking_caller_sched(void);

/* The wait's interrupt hook (under the task's claim): asks the I/O thread
 * to take the work back if it has not started. */
void weft__blocking_interrupt(weft__blocking_t *b);

#endif /* WEFT_IO_BLOCKING_H */
