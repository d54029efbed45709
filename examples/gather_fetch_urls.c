/*
 * gather_fetch_urls.c - seed "Tasks and Concurrency", asyncio.gather: three
 * fetches at once (about 1 second); the results come back as a list in the
 * order the tasks were given.
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
    struct fetch f[3] = {{.url = "https://api.example.com/a"},
                         {.url = "https://api.example.com/b"},
                         {.url = "https://api.example.com/c"}};
    weft_task_t *tasks[3];
    for (int i = 0; i < 3; i++)
        if (!(tasks[i] = weft_spawn(fetch, &f[i])))
            return weft_last_error();
    weft_outcome_t results[3];
    int rc = weft_gather(tasks, 3, results, 0);
    for (int i = 0; i < 3; i++)
        weft_task_release(tasks[i]);
    if (rc < 0)
        return rc;
    /* results is a list of three return values, in order. */
    printf("[");
    for (int i = 0; i < 3; i++)
        printf("%s'%s'", i ? ", " : "", (char *)results[i].result);
    printf("]\n");
    return 0;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "gather_fetch_urls: %s\n", weft_strerror(rc));
    return rc < 0;
}
