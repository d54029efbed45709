/*
 * blocking.c - weft_run_blocking, the task side: runs a function that may
 * block its thread on libuv's thread pool and suspends only the calling
 * task until it is over.  The libuv side is sched/io_blocking.c.
 *
 * Cancellation takes the call back only while it is still queued; once fn
 * runs nothing can stop it, so the task waits for it and gets its outcome
 * (nothing fn made is lost) and the cancel stays pending for the task's
 * next suspension point.  asyncio's to_thread instead abandons the thread
 * and raises at once; here the caller would then have no way to free what
 * fn returns.
 */
#include "sched/io_blocking.h"

static void interrupt_blocking(weft_task_t *t)
{
    weft__blocking_interrupt(t->wait_obj);
}

static const weft__wait_ops_t blocking_ops = {
    .interrupt = interrupt_blocking,
    .what = "blocking call",
};

int weft_run_blocking(weft_fn fn, void *arg, void **result)
{
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    if (!self)
        return WEFT_EPERM;
    if (!fn)
        return WEFT_EINVAL;
    weft__blocking_t b = {
        .fn = fn,
        .arg = arg,
        .task = self,
        .io = self->sched->io,
    };
    int rc = weft__wait_begin(self, &blocking_ops, &b);
    if (rc != 0)
        return rc;
    weft__blocking_start(&b);
    if (weft__wait_suspend(w, self) == WEFT_ECANCELED)
        return WEFT_ECANCELED; /* taken back before it ran */
    if (result)
        *result = b.result;
    return b.rc;
}
