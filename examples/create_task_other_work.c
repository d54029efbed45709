/*
 * create_task_other_work.c - seed "Creating and Managing Tasks",
 * asyncio.create_task: two fetches start running at once; the main task
 * does other work meanwhile, then waits for the results (about 1 second
 * in all).
 */
#include <stdio.h>
#include <weft.h>

struct fetch {
    const char *url;
    char data[64];
};

static int fetch_data(void *arg, void **result)
{
    struct fetch *f = arg;
    int rc = weft_sleep(1000);
    if (rc < 0)
        return rc;
    snprintf(f->data, sizeof f->data, "Data from %s", f->url);
    *result = f->data;
    return 0;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct fetch a = {.url = "url1"}, b = {.url = "url2"};
    /* Create tasks (they start running at once). */
    weft_task_t *task1 = weft_spawn(fetch_data, &a);
    weft_task_t *task2 = weft_spawn(fetch_data, &b);
    if (!task1 || !task2)
        return weft_last_error();

    /* Do other work while the tasks run... */
    long sum = 0;
    for (long i = 1; i <= 1000000; i++)
        sum += i;
    printf("Other work done: %ld\n", sum);

    /* Wait for results. */
    void *result1 = NULL, *result2 = NULL;
    int rc = weft_await(task1, &result1);
    if (rc == 0)
        rc = weft_await(task2, &result2);
    weft_task_release(task1);
    weft_task_release(task2);
    if (rc < 0)
        return rc;
    printf("%s\n%s\n", (char *)result1, (char *)result2);
    return 0;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "create_task_other_work: %s\n", weft_strerror(rc));
    return rc < 0;
}
