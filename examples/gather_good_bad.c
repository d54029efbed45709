/*
 * gather_good_bad.c - seed "Tasks and Concurrency", gather with
 * return_exceptions=True: a good and a bad fetch (the bad one "raises
 * ConnectionError", here returns WEFT_ECONNREFUSED as a socket would); both
 * run to completion and each outcome is reported in order.
 */
#include <stdio.h>
#include <string.h>
#include <weft.h>

struct fetch {
    const char *url;
    char data[96];
};

static int fetch(void *arg, void **result)
{
    struct fetch *f = arg;
    printf("Fetching %s\n", f->url);
    int rc = weft_sleep(1000);
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
    struct fetch f[2] = {{.url = "https://good.example.com"}, {.url = "https://bad.example.com"}};
    weft_task_t *tasks[2];
    for (int i = 0; i < 2; i++)
        if (!(tasks[i] = weft_spawn(fetch, &f[i])))
            return weft_last_error();
    weft_outcome_t results[2];
    int rc = weft_gather(tasks, 2, results, WEFT_RETURN_EXCEPTIONS);
    for (int i = 0; i < 2; i++)
        weft_task_release(tasks[i]);
    if (rc < 0)
        return rc;
    for (int i = 0; i < 2; i++) {
        if (results[i].rc != 0) /* isinstance(r, Exception) */
            printf("Task failed: %s\n", weft_strerror(results[i].rc));
        else
            printf("Task succeeded: %s\n", (char *)results[i].result);
    }
    return 0;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "gather_good_bad: %s\n", weft_strerror(rc));
    return rc < 0;
}
