/*
 * multi.h - a wait on several tasks at once, under weft_gather, weft_wait,
 * weft_wait_for and weft_shield: one registration per task, one atomic
 * completion counter per call.
 */
#ifndef WEFT_MULTI_H
#define WEFT_MULTI_H

#include "sched/internal.h"

/* When the wait is over. */
enum weft__until {
    WEFT_UNTIL_ALL,         /* every task finished */
    WEFT_UNTIL_FIRST,       /* one task finished */
    WEFT_UNTIL_FAILURE,     /* every one, or one that failed (code != 0) */
    WEFT_UNTIL_EXCEPTION,   /* every one, or one that failed, not cancelled */
};

/* What a cancel of the waiting task does. */
enum weft__on_cancel {
    WEFT_ON_CANCEL_FORWARD, /* cancel every unfinished task, wait for all */
    WEFT_ON_CANCEL_RETURN,  /* end the wait at once, leave the tasks be */
};

typedef struct weft__multi {
    weft_task_t *owner;          /* the waiting task */
    weft_task_t *const *tasks;   /* borrowed */
    size_t n;
    weft__waiter_t *nodes;       /* one per task, registered on it */
    _Atomic size_t pending;      /* tasks not yet seen finished */
    _Atomic size_t first_failed; /* index of the first failure, or n */
    _Atomic int until;           /* enum weft__until: when to wake; ALL while
                                  * a forwarded cancel is waited out */
    int counts;                  /* the caller's until: what a failure is */
    enum weft__on_cancel on_cancel;
    bool cancelled;              /* the owner's cancel was delivered here:
                                  * returned, or taken by some task */
} weft__multi_t;

/*
 * Waits as m says, or until timeout_ms passes (WEFT_FOREVER: never; <= 0:
 * only looks).  m->tasks, n, until and on_cancel are set by the caller.
 * Returns 0, WEFT_ETIMEDOUT, WEFT_ECANCELED (ON_CANCEL_RETURN) or
 * WEFT_ENOMEM.  When it returns no task touches m any more.
 */
int weft__multi_wait(weft__worker_t *w, weft__multi_t *m, int64_t timeout_ms);

/* Whether tasks[i] failed the way `until` counts. */
bool weft__multi_counts_as_failure(int until, int rc);

#endif
