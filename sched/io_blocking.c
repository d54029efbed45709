/*
 * io_blocking.c - the libuv side of weft_run_blocking: the I/O thread
 * queues the call on libuv's thread pool, takes it back on a cancel while
 * it is still queued, and wakes the calling task when it is over.
 *
 * Exactly one wake-up per call.  Two events may end the wait, both on the
 * I/O thread: the after-work callback (fn ran, or uv_cancel took it back)
 * and the handler of a cancel request.  A cancel request is queued at most
 * once, by the interrupt hook on the canceller's thread, and the record
 * must stay alive until that request has run; so the state word says which
 * of the two came first:
 *   CANCEL_SENT  set by the interrupt hook when it queues the request;
 *   DONE         set by the after-work callback.
 * The hook queues a request only if the call is not DONE; the callback
 * wakes the task unless a request is queued that has not run yet, in which
 * case that request's handler, finding DONE, wakes it.  Either way the task
 * resumes only after the last I/O-thread step that reads the record.
 *
 * weft_stop cancels every task and waits until all have finished before it
 * stops the I/O thread.  A task in a blocking call finishes only after its
 * after-work callback, so the loop holds no work request when it stops.
 */
#include "sched/io_blocking.h"

#include <uv.h>

_Static_assert(sizeof(uv_work_t) <= WEFT_UV_WORK_SIZE, "uv_work_t outgrew its room");
_Static_assert(alignof(uv_work_t) <= alignof(max_align_t), "uv_work_t alignment");

enum { WEFT_BLK_CANCEL_SENT = 1u, WEFT_BLK_DONE = 2u };

static uv_work_t *work_of(weft__blocking_t *b)
{
    return (uv_work_t *)(void *)b->work;
}

/* I/O thread: ends the task's wait.  Nothing may touch b afterwards. */
static void wake(weft__blocking_t *b, int wait_rc)
{
    weft_task_t *t = b->task;
    /* Relaxed: a count for weft_stats; it orders nothing.  Dropped before
     * the wake-up, so a task that has finished is no longer counted. */
    atomic_fetch_sub_explicit(&t->sched->blocking_in_flight, 1, memory_order_relaxed);
    atomic_store_explicit(&t->wait_rc, wait_rc, memory_order_relaxed);
    weft__wake(t); /* publishes wait_rc, b->rc and b->result (acq_rel) */
}

/* I/O thread: the call is over, with wait_rc WEFT_ECANCELED if it never
 * ran.  Wakes the task unless a cancel request still has to run. */
static void finished(weft__blocking_t *b, int wait_rc)
{
    /* acq_rel: pairs with the hook's fetch_or; whichever of the two comes
     * second sees the other's bit, so exactly one side handles the
     * request that is or is not on its way. */
    uint32_t old = atomic_fetch_or_explicit(&b->state, WEFT_BLK_DONE, memory_order_acq_rel);
    if (!(old & WEFT_BLK_CANCEL_SENT) || b->cancel_handled)
        wake(b, wait_rc);
}

/* The scheduler whose blocking call this pool thread is running, if any.
 * A plain thread-local: pool threads never switch stacks. */
static _Thread_local struct weft_sched *running_for;

struct weft_sched *weft__blocking_caller_sched(void)
{
    return running_for;
}

/* Pool thread. */
static void work_cb(uv_work_t *req)
{
    weft__blocking_t *b = req->data;
    void *result = NULL;
    running_for = b->task->sched;
    b->rc = b->fn(b->arg, &result);
    running_for = NULL;
    b->result = result;
}

/* I/O thread; libuv's queue mutex orders fn's writes before this. */
static void after_work_cb(uv_work_t *req, int status)
{
    weft__blocking_t *b = req->data;
    finished(b, status == UV_ECANCELED ? WEFT_ECANCELED : 0);
}

static weft__blocking_t *of_req(weft__io_req_t *req, size_t offset)
{
    return (weft__blocking_t *)((char *)req - offset);
}

static void start_call(weft__io_t *io, weft__io_req_t *req)
{
    weft__blocking_t *b = of_req(req, offsetof(weft__blocking_t, start_req));
    uv_work_t *w = work_of(b);
    w->data = b;
    int rc = uv_queue_work(weft__io_loop(io), w, work_cb, after_work_cb);
    if (rc != 0) {
        b->rc = rc; /* fn never ran; libuv's code is passed through */
        finished(b, 0);
    }
}

static void cancel_call(weft__io_t *io, weft__io_req_t *req)
{
    (void)io;
    weft__blocking_t *b = of_req(req, offsetof(weft__blocking_t, cancel_req));
    b->cancel_handled = true;
    /* Relaxed: only this thread sets DONE.  The start request ran before
     * this one (the inbox keeps order, and the hook runs only after the
     * task queued it), so the work is queued, running or over. */
    if (atomic_load_explicit(&b->state, memory_order_relaxed) & WEFT_BLK_DONE)
        wake(b, 0); /* the after-work callback left the wake-up to us */
    else
        uv_cancel((uv_req_t *)work_of(b)); /* UV_EBUSY once fn runs: it finishes */
}

void weft__blocking_start(weft__blocking_t *b)
{
    atomic_init(&b->state, 0);
    b->cancel_handled = false;
    atomic_fetch_add_explicit(&b->task->sched->blocking_in_flight, 1, memory_order_relaxed);
    weft__io_call(b->io, &b->start_req, start_call);
}

void weft__blocking_interrupt(weft__blocking_t *b)
{
    /* acq_rel: see finished(). */
    uint32_t old = atomic_fetch_or_explicit(&b->state, WEFT_BLK_CANCEL_SENT, memory_order_acq_rel);
    if (!(old & (WEFT_BLK_CANCEL_SENT | WEFT_BLK_DONE)))
        weft__io_call(b->io, &b->cancel_req, cancel_call);
}
