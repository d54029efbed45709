/*
 * graceful_worker.c - seed "Tasks and Concurrency", Task Cancellation: a
 * worker that loops "Working..." once a second; cancelled, it cleans up
 * and ends cancelled ("Always re-raise CancelledError": it returns
 * WEFT_ECANCELED).  The main task lets it work for 3.5 s, cancels it and
 * awaits it.
 */
#include <stdio.h>
#include <weft.h>

static int graceful_worker(void *arg, void **result)
{
    (void)arg;
    (void)result;
    for (;;) {
        int rc = weft_sleep(1000);
        if (rc == WEFT_ECANCELED) { /* except asyncio.CancelledError: */
            printf("Cleaning up before cancellation...\n");
            return rc; /* raise */
        }
        printf("Working...\n");
    }
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *t = weft_spawn(graceful_worker, NULL);
    if (!t)
        return weft_last_error();
    weft_sleep(3500);
    weft_cancel(t);
    int rc = weft_await(t, NULL);
    printf("Worker ended: %s\n", weft_strerror(rc));
    weft_task_release(t);
    return 0;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "graceful_worker: %s\n", weft_strerror(rc));
    return rc < 0;
}
