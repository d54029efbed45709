/*
 * fetch_tasks.c - seed "Tasks and Concurrency", asyncio.create_task: two
 * fetches run at once because they are tasks; awaiting both takes about
 * 1 second, not 2.
 */
#include <stdio.h>
#include <weft.h>

struct fetch {
    const char *url;
    char data[96];
};

static int fetch(void *arg, void **result)
{
    struct fetch *f = arg;
    printf("Fetching %s\n", f->url);
    int rc = weft_sleep(1000); /* simulate network I/O */
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
    struct fetch a = {.url = "https://api.example.com/a"};
    struct fetch b = {.url = "https://api.example.com/b"};
    /* These two fetches run concurrently because they are tasks. */
    weft_task_t *task1 = weft_spawn(fetch, &a);
    weft_task_t *task2 = weft_spawn(fetch, &b);
    if (!task1 || !task2)
        return weft_last_error();

    /* Await both results.  Total time is ~1 s, not ~2 s. */
    void *result1 = NULL, *result2 = NULL;
    int rc = weft_await(task1, &result1);
    if (rc == 0)
        rc = weft_await(task2, &result2);
    weft_task_release(task1);
    weft_task_release(task2);
    if (rc < 0)
        return rc;
    printf("%s %s\n", (char *)result1, (char *)result2);
    return 0;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "fetch_tasks: %s\n", weft_strerror(rc));
    return rc < 0;
}
