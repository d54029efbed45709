/*
 * wait_timeout_first.c - seed "Creating and Managing Tasks", asyncio.wait
 * with timeout=5.0 and FIRST_COMPLETED: three fetches of 1, 7 and 9
 * seconds; the wait ends when the first is done (the 5 s timeout would
 * end it otherwise, with nothing cancelled), the results of the done ones
 * are used and the pending ones cancelled.
 */
#include <stdio.h>
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
    snprintf(f->data, sizeof f->data, "Data from %s", f->url);
    *result = f->data;
    return 0;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct fetch f[3] = {{.url = "url1", .ms = 1000},
                         {.url = "url2", .ms = 7000},
                         {.url = "url3", .ms = 9000}};
    weft_task_t *tasks[3];
    for (int i = 0; i < 3; i++)
        if (!(tasks[i] = weft_spawn(fetch, &f[i])))
            return weft_last_error();

    int done = weft_wait(tasks, 3, 5000, WEFT_FIRST_COMPLETED); /* or WEFT_ALL_COMPLETED */
    if (done < 0)
        return done;
    printf("done: %d, pending: %d\n", done, 3 - done);
    for (int i = 0; i < done; i++) {
        void *r = NULL;
        weft_await(tasks[i], &r); /* task.result() */
        printf("%s\n", (char *)r);
    }
    for (int i = done; i < 3; i++)
        weft_cancel(tasks[i]);
    for (int i = 0; i < 3; i++)
        weft_task_release(tasks[i]);
    return 0;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "wait_timeout_first: %s\n", weft_strerror(rc));
    return rc < 0;
}
