/*
 * gather_return_exceptions.c - seed "Running Concurrently" §2, "Handling
 * Exceptions in Gather": with WEFT_RETURN_EXCEPTIONS gather waits for every
 * task and puts each outcome in its place, failures included, where Python
 * gives ["Success", ValueError("Error"), "Success"].  C has no exceptions:
 * the failing task returns a code (WEFT_EINVAL standing in for ValueError)
 * and the list shows what the code means.
 */
#include <stdio.h>
#include <weft.h>

static int good_task(void *arg, void **result)
{
    (void)arg;
    int rc = weft_sleep(100);
    if (rc < 0)
        return rc;
    *result = "Success";
    return 0;
}

static int failing_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int rc = weft_sleep(50);
    if (rc < 0)
        return rc;
    return WEFT_EINVAL; /* raise ValueError("Error") */
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_fn fns[3] = {good_task, failing_task, good_task};
    weft_task_t *tasks[3];
    for (int i = 0; i < 3; i++)
        if (!(tasks[i] = weft_spawn(fns[i], NULL)))
            return weft_last_error();

    weft_outcome_t results[3];
    int rc = weft_gather(tasks, 3, results, WEFT_RETURN_EXCEPTIONS);
    for (int i = 0; i < 3; i++)
        weft_task_release(tasks[i]);
    if (rc < 0)
        return rc; /* only if this task itself was cancelled */

    printf("results: [");
    for (int i = 0; i < 3; i++) {
        if (results[i].rc == 0)
            printf("%s\"%s\"", i ? ", " : "", (char *)results[i].result);
        else
            printf("%sError(%d: %s)", i ? ", " : "", results[i].rc,
                   weft_strerror(results[i].rc));
    }
    printf("]\n");
    return 0;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "gather_return_exceptions: %s\n", weft_strerror(rc));
    return rc < 0;
}
