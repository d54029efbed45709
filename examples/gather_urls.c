/*
 * gather_urls.c - seed "Creating and Managing Tasks", asyncio.gather: three
 * fetches run concurrently and their results come back as a list,
 * [result1, result2, result3], in the order given (about 1 second).
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
    struct fetch f[3] = {{.url = "url1"}, {.url = "url2"}, {.url = "url3"}};
    weft_task_t *tasks[3];
    for (int i = 0; i < 3; i++)
        if (!(tasks[i] = weft_spawn(fetch_data, &f[i])))
            return weft_last_error();
    weft_outcome_t results[3];
    int rc = weft_gather(tasks, 3, results, 0);
    for (int i = 0; i < 3; i++)
        weft_task_release(tasks[i]);
    if (rc < 0)
        return rc;
    /* results is a list: [result1, result2, result3] */
    for (int i = 0; i < 3; i++)
        printf("result%d: %s\n", i + 1, (char *)results[i].result);
    return 0;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "gather_urls: %s\n", weft_strerror(rc));
    return rc < 0;
}
