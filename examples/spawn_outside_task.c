/*
 * spawn_outside_task.c - seed "Tasks and Concurrency": "Tasks must be
 * created from within a running event loop.  Calling create_task() outside
 * of an async context raises RuntimeError."  weft_spawn outside a task
 * returns NULL and leaves WEFT_EPERM in weft_last_error(); inside a task
 * (here the main task of weft_run) it works.
 */
#include <stdio.h>
#include <weft.h>

static int work(void *arg, void **result)
{
    (void)arg;
    *result = "done";
    return 0;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *t = weft_spawn(work, NULL);
    if (!t)
        return weft_last_error();
    void *r = NULL;
    int rc = weft_await(t, &r);
    weft_task_release(t);
    if (rc == 0)
        printf("inside a task: weft_spawn works, the task says \"%s\"\n", (char *)r);
    return rc;
}

int main(void)
{
    weft_task_t *t = weft_spawn(work, NULL); /* no task is running here */
    if (!t)
        printf("outside a task: weft_spawn failed: %s\n", weft_strerror(weft_last_error()));
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "spawn_outside_task: %s\n", weft_strerror(rc));
    return rc < 0 || t != NULL;
}
