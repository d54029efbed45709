/*
 * wait_race_endpoints.c - seed "Tasks and Concurrency", asyncio.wait with
 * FIRST_COMPLETED: "racing multiple strategies (e.g., try two API
 * endpoints and use whichever responds first)".  A fetch per endpoint; the
 * first to answer wins, the rest are cancelled.
 */
#include <stdio.h>
#include <weft.h>

struct fetch {
    const char *url;
    int64_t latency_ms; /* how long this endpoint takes to answer */
    char data[96];
};

static int fetch(void *arg, void **result)
{
    struct fetch *f = arg;
    int rc = weft_sleep(f->latency_ms);
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
    struct fetch urls[3] = {{.url = "https://eu.api.example.com", .latency_ms = 1500},
                            {.url = "https://us.api.example.com", .latency_ms = 400},
                            {.url = "https://ap.api.example.com", .latency_ms = 2500}};
    weft_task_t *tasks[3];
    for (int i = 0; i < 3; i++) {
        /* Named after the endpoint: weft_wait reorders the array. */
        weft_spawn_opts_t opts = {.name = urls[i].url};
        if (!(tasks[i] = weft_spawn_opts(fetch, &urls[i], &opts)))
            return weft_last_error();
    }

    /* Return as soon as the first task completes. */
    int done = weft_wait(tasks, 3, WEFT_FOREVER, WEFT_FIRST_COMPLETED);
    if (done < 0)
        return done;
    for (int i = 0; i < done; i++) {
        void *data = NULL;
        weft_await(tasks[i], &data);
        printf("%s\n", (char *)data);
    }

    /* Cancel remaining tasks: we only needed the first result. */
    for (int i = done; i < 3; i++)
        weft_cancel(tasks[i]);
    for (int i = done; i < 3; i++)
        if (weft_await(tasks[i], NULL) == WEFT_ECANCELED)
            printf("Cancelled %s\n", weft_task_name(tasks[i]));
    for (int i = 0; i < 3; i++)
        weft_task_release(tasks[i]);
    return 0;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "wait_race_endpoints: %s\n", weft_strerror(rc));
    return rc < 0;
}
