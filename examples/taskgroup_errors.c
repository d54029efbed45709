/*
 * taskgroup_errors.c - seed "Tasks and Concurrency", TaskGroup with
 * except*: two tasks fail, one with a ValueError and one with an OSError;
 * the group waits for both and reports every failure, which the owner
 * handles by kind.  C has no exceptions: the tasks return codes
 * (WEFT_EINVAL for the ValueError, -EIO for the OSError), join returns the
 * first and weft_group_errors lists them all (the ExceptionGroup).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <weft.h>

/*
 * In asyncio both tasks, started together, fail in the same turn of the
 * loop.  Here they run in parallel, and the first failure cancels the
 * other: to show two failures every time, each waits until both have
 * started, then fails.
 */
static atomic_int started;

static void both_started(void)
{
    atomic_fetch_add(&started, 1);
    while (atomic_load(&started) < 2)
        weft_yield();
}

static int might_fail(void *arg, void **result)
{
    (void)arg;
    (void)result;
    both_started();
    return WEFT_EINVAL; /* raise ValueError */
}

static int might_also_fail(void *arg, void **result)
{
    (void)arg;
    (void)result;
    both_started();
    return -EIO; /* raise OSError */
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_group_t *tg = weft_group_new();
    if (!tg)
        return weft_last_error();
    weft_group_spawn(tg, might_fail, NULL);
    weft_group_spawn(tg, might_also_fail, NULL);
    int rc = weft_group_join(tg);
    if (rc < 0 && rc != WEFT_ECANCELED) {
        int errs[8];
        int n = weft_group_errors(tg, errs, 8);
        /* except* ValueError as eg: */
        for (int i = 0; i < n && i < 8; i++)
            if (errs[i] == WEFT_EINVAL)
                printf("ValueError occurred: %s\n", weft_strerror(errs[i]));
        /* except* OSError as eg: */
        for (int i = 0; i < n && i < 8; i++)
            if (errs[i] == -EIO)
                printf("OSError occurred: %s\n", weft_strerror(errs[i]));
        rc = 0; /* handled */
    }
    weft_group_free(tg);
    return rc;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "taskgroup_errors: %s\n", weft_strerror(rc));
    return rc < 0;
}
