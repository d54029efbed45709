/*
 * task_cancel.c - seed "Creating and Managing Tasks", Task Cancellation: a
 * long operation is cancelled after 5 seconds; awaiting it then gives
 * WEFT_ECANCELED (where Python raises asyncio.CancelledError).
 */
#include <stdio.h>
#include <weft.h>

static int long_operation(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return weft_sleep(60 * 60 * 1000); /* an hour; ends early if cancelled */
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *task = weft_spawn(long_operation, NULL);
    if (!task)
        return weft_last_error();

    /* Cancel after 5 seconds. */
    weft_sleep(5000);
    weft_cancel(task);

    int rc = weft_await(task, NULL);
    if (rc == WEFT_ECANCELED) /* except asyncio.CancelledError: */
        printf("Task was cancelled\n");
    weft_task_release(task);
    return 0;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "task_cancel: %s\n", weft_strerror(rc));
    return rc < 0;
}
