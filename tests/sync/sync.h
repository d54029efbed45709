/*
 * sync.h - what the channel and synchronisation tests share: the semantics
 * tests' helpers (sem.h) and a way to get a task queued on a wait object
 * without relying on timing.
 *
 * On one worker a task that has set its `ready` flag runs on without giving
 * up the thread until it suspends in the wait that follows; so once the
 * spawner sees the flag (yielding until it does), the task is queued.
 */
#ifndef WEFT_TEST_SYNC_H
#define WEFT_TEST_SYNC_H

#include "../semantics/sem.h"

/* Under TSan fewer fibers may live at once: counts are scaled down. */
#ifdef WEFT_TSAN
#define SYNC_SCALE 20
#else
#define SYNC_SCALE 1
#endif

/* Yields until *flag is non-zero: on one worker, until the task that sets
 * it has run up to its next suspension. */
static inline void yield_until(atomic_int *flag)
{
    double start = now_ms();
    while (!atomic_load(flag)) {
        if (now_ms() - start > SEM_PATIENCE_MS) {
            CHECK(!"yield_until: the flag never came");
            return;
        }
        weft_yield();
    }
}

/* Spawns fn(arg); a failure is a CHECK failure. */
static inline weft_task_t *spawn_checked(weft_fn fn, void *arg)
{
    weft_task_t *t = weft_spawn(fn, arg);
    CHECK(t != NULL);
    return t;
}

/* Awaits t, releases it and returns its code. */
static inline int await_release(weft_task_t *t)
{
    int rc = weft_await(t, NULL);
    weft_task_release(t);
    return rc;
}

#endif /* WEFT_TEST_SYNC_H */
