/*
 * gather.c - the combinators over several tasks: weft_gather, weft_wait,
 * weft_wait_for and weft_shield, each one call of the multi-wait
 * (sched/multi.c) with its own condition and its own answer to a cancel,
 * after asyncio's gather, wait, wait_for and shield.
 */
#include "sched/fault.h"
#include "sched/multi.h"

#include <stdlib.h>
#include <string.h>

/* The running task, or NULL; checks the task list for the usual errors. */
static int check_call(weft__worker_t **wp, weft_task_t *const *tasks, size_t n)
{
    weft__worker_t *w = weft__self();
    *wp = w;
    if (!w || !w->current)
        return WEFT_EPERM;
    if (n && !tasks)
        return WEFT_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!tasks[i])
            return WEFT_EINVAL;
        if (tasks[i] == w->current)
            return WEFT_EDEADLK;
    }
    return 0;
}

static void outcome_of(weft_task_t *t, weft_outcome_t *o)
{
    o->rc = t->rc;
    o->result = t->result;
}

int weft_gather(weft_task_t *const *tasks, size_t n, weft_outcome_t *outcomes, unsigned flags)
{
    weft__worker_t *w;
    WEFT_CHECK_TASKS(tasks, n);
    int rc = check_call(&w, tasks, n);
    if (rc != 0)
        return rc;
    if (flags & ~WEFT_RETURN_EXCEPTIONS)
        return WEFT_EINVAL;
    if (n == 0)
        return 0;
    weft__multi_t m = {.tasks = tasks, .n = n, .on_cancel = WEFT_ON_CANCEL_FORWARD};
    atomic_init(&m.until,
                (flags & WEFT_RETURN_EXCEPTIONS) ? WEFT_UNTIL_ALL : WEFT_UNTIL_FAILURE);
    rc = weft__multi_wait(w, &m, WEFT_FOREVER);
    if (rc != 0)
        return rc;
    for (size_t i = 0; outcomes && i < n; i++)
        if (weft__task_is_done(tasks[i]))
            outcome_of(tasks[i], &outcomes[i]);
    if (m.cancelled)
        return WEFT_ECANCELED;
    size_t failed = atomic_load_explicit(&m.first_failed, memory_order_relaxed);
    if (!(flags & WEFT_RETURN_EXCEPTIONS) && failed != n)
        return tasks[failed]->rc;
    return 0;
}

int weft_wait(weft_task_t **tasks, size_t n, int64_t timeout_ms, int when)
{
    weft__worker_t *w;
    WEFT_CHECK_TASKS(tasks, n);
    int rc = check_call(&w, tasks, n);
    if (rc != 0)
        return rc;
    static const int until[] = {
        [WEFT_ALL_COMPLETED] = WEFT_UNTIL_ALL,
        [WEFT_FIRST_COMPLETED] = WEFT_UNTIL_FIRST,
        [WEFT_FIRST_EXCEPTION] = WEFT_UNTIL_EXCEPTION,
    };
    if (n == 0 || when < WEFT_ALL_COMPLETED || when > WEFT_FIRST_EXCEPTION)
        return WEFT_EINVAL;
    /* Room to sort the answer, taken first: memory that runs out after the
     * wait would lose what the wait saw. */
    weft_task_t *small[16];
    weft_task_t **pending = n <= 16                           ? small
                            : weft__fault_inject("wait order") ? NULL
                                                               : malloc(n * sizeof *pending);
    if (!pending)
        return WEFT_ENOMEM;
    weft__multi_t m = {.tasks = tasks, .n = n, .on_cancel = WEFT_ON_CANCEL_RETURN};
    atomic_init(&m.until, until[when]);
    rc = weft__multi_wait(w, &m, timeout_ms);
    if (rc != 0 && rc != WEFT_ETIMEDOUT) {
        if (pending != small)
            free(pending);
        return rc; /* cancelled, or out of memory */
    }
    /* Done ones to the front, each part in input order. */
    size_t done = 0, waiting = 0;
    for (size_t i = 0; i < n; i++) {
        if (weft__task_is_done(tasks[i]))
            tasks[done++] = tasks[i];
        else
            pending[waiting++] = tasks[i];
    }
    memcpy(tasks + done, pending, waiting * sizeof *pending);
    if (pending != small)
        free(pending);
    return (int)done;
}

/* Waits for t alone; a cancel of the caller is forwarded or ends the wait. */
static int wait_one(weft__worker_t *w, weft_task_t **t, int64_t timeout_ms,
                    enum weft__on_cancel on_cancel)
{
    weft__multi_t m = {.tasks = t, .n = 1, .on_cancel = on_cancel};
    atomic_init(&m.until, WEFT_UNTIL_ALL);
    return weft__multi_wait(w, &m, timeout_ms);
}

int weft_wait_for(weft_task_t *t, int64_t timeout_ms, void **result)
{
    weft__worker_t *w;
    WEFT_CHECK_TASK(t);
    int rc = check_call(&w, &t, 1);
    if (rc != 0)
        return rc;
    weft_task_t *self = w->current;
    int before = atomic_load_explicit(&self->cancel_requests, memory_order_relaxed);
    rc = wait_one(w, &t, timeout_ms, WEFT_ON_CANCEL_FORWARD);
    if (rc == WEFT_ETIMEDOUT) {
        /* Cancel it and wait until it has finished, as asyncio does.  We
         * may have moved to another worker while waiting. */
        weft_cancel(t);
        rc = wait_one(weft__self(), &t, WEFT_FOREVER, WEFT_ON_CANCEL_FORWARD);
        /* A cancel of ours that came meanwhile stays a cancel. */
        if (rc == 0 && t->rc == WEFT_ECANCELED)
            return atomic_load_explicit(&self->cancel_requests, memory_order_relaxed) > before
                       ? WEFT_ECANCELED
                       : WEFT_ETIMEDOUT;
    }
    if (rc != 0)
        return rc;
    if (result)
        *result = t->result;
    return t->rc;
}

int weft_shield(weft_task_t *t, void **result)
{
    weft__worker_t *w;
    WEFT_CHECK_TASK(t);
    int rc = check_call(&w, &t, 1);
    if (rc != 0)
        return rc;
    rc = wait_one(w, &t, WEFT_FOREVER, WEFT_ON_CANCEL_RETURN);
    if (rc != 0)
        return rc;
    if (result)
        *result = t->result;
    return t->rc;
}
