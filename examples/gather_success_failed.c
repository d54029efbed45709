/*
 * gather_success_failed.c - seed "Creating and Managing Tasks", "Error
 * Handling with gather" (and seed "Tasks" 7_asyncio.py's
 * gather(task1, task2, return_exceptions=True)): two tasks, the second
 * fails; with WEFT_RETURN_EXCEPTIONS both outcomes come back, in order,
 * and the loop tells a failure from a result.
 */
#include <errno.h>
#include <stdio.h>
#include <weft.h>

static int task1(void *arg, void **result)
{
    (void)arg;
    int rc = weft_sleep(200);
    if (rc < 0)
        return rc;
    *result = "task1 finished";
    return 0;
}

static int task2(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int rc = weft_sleep(100);
    if (rc < 0)
        return rc;
    return -ENOENT; /* raises: the thing it looked for is not there */
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *tasks[2] = {weft_spawn(task1, NULL), weft_spawn(task2, NULL)};
    if (!tasks[0] || !tasks[1])
        return weft_last_error();
    weft_outcome_t results[2];
    int rc = weft_gather(tasks, 2, results, WEFT_RETURN_EXCEPTIONS); /* don't raise */
    weft_task_release(tasks[0]);
    weft_task_release(tasks[1]);
    if (rc < 0)
        return rc;
    for (int i = 0; i < 2; i++) {
        if (results[i].rc != 0) /* isinstance(result, Exception) */
            printf("Task failed: %s\n", weft_strerror(results[i].rc));
        else
            printf("Success: %s\n", (char *)results[i].result);
    }
    return 0;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "gather_success_failed: %s\n", weft_strerror(rc));
    return rc < 0;
}
