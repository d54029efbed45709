/*
 * gather_first_error.c - the seeds' rule for gather without
 * return_exceptions: "if any awaitable raises an exception, gather raises
 * it immediately" (seed "Running Concurrently" §2), and, as in asyncio,
 * the other tasks are not cancelled: they keep running and can still be
 * awaited.  (Seed "Tasks" says gather "cancels all other tasks" and raises
 * "after all tasks finish"; asyncio does neither, and neither does weft.)
 */
#include <stdio.h>
#include <string.h>
#include <weft.h>

struct fetch {
    const char *url;
    int64_t ms;
    char data[64];
};

static int fetch(void *arg, void **result)
{
    struct fetch *f = arg;
    int rc = weft_sleep(f->ms);
    if (rc < 0)
        return rc;
    if (strstr(f->url, "bad"))
        return WEFT_ECONNREFUSED; /* raises ConnectionError */
    snprintf(f->data, sizeof f->data, "Data from %s", f->url);
    *result = f->data;
    return 0;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct fetch f[3] = {{.url = "https://a.example.com", .ms = 1000},
                         {.url = "https://bad.example.com", .ms = 200},
                         {.url = "https://c.example.com", .ms = 1000}};
    weft_task_t *tasks[3];
    for (int i = 0; i < 3; i++)
        if (!(tasks[i] = weft_spawn(fetch, &f[i])))
            return weft_last_error();

    int rc = weft_gather(tasks, 3, NULL, 0);
    int running = 0;
    for (int i = 0; i < 3; i++)
        running += !weft_task_done(tasks[i]);
    printf("gather failed at once: %s (%d tasks still running)\n", weft_strerror(rc), running);

    /* Nothing was cancelled: the others finish and give their results. */
    for (int i = 0; i < 3; i += 2) {
        void *data = NULL;
        if (weft_await(tasks[i], &data) == 0)
            printf("%s\n", (char *)data);
    }
    for (int i = 0; i < 3; i++)
        weft_task_release(tasks[i]);
    return 0;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "gather_first_error: %s\n", weft_strerror(rc));
    return rc < 0;
}
