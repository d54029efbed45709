/*
 * await_vs_tasks.c - seed "Tasks", "Key Differences: await vs
 * create_task()": awaiting each piece of work as it is started runs one at
 * a time (like `await coroutine()`, about 2 s for two 1 s jobs), while
 * starting both as tasks first runs them at once (about 1 s); `await task`
 * waits for that one task, gather for several.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */

#include <stdio.h>
#include <time.h>
#include <weft.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int my_coroutine(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return weft_sleep(1000);
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* await my_coroutine(); await my_coroutine(): one at a time. */
    double start = now_s();
    for (int i = 0; i < 2; i++) {
        weft_task_t *t = weft_spawn(my_coroutine, NULL);
        if (!t)
            return weft_last_error();
        int rc = weft_await(t, NULL); /* before the next one starts */
        weft_task_release(t);
        if (rc < 0)
            return rc;
    }
    printf("await one by one: %.0f s\n", now_s() - start);

    /* create_task twice, then gather: both at once. */
    start = now_s();
    weft_task_t *tasks[2] = {weft_spawn(my_coroutine, NULL), weft_spawn(my_coroutine, NULL)};
    if (!tasks[0] || !tasks[1])
        return weft_last_error();
    int rc = weft_gather(tasks, 2, NULL, 0);
    weft_task_release(tasks[0]);
    weft_task_release(tasks[1]);
    if (rc < 0)
        return rc;
    printf("tasks, then gather: %.0f s\n", now_s() - start);
    return 0;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "await_vs_tasks: %s\n", weft_strerror(rc));
    return rc < 0;
}
