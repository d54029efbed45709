/*
 * wait_first_completed.c - seed "Running Concurrently" §3, asyncio.wait
 * with FIRST_COMPLETED: three downloads of random length (1 to 3 s) race;
 * weft_wait returns when the first is done, with the done tasks moved to
 * the front of the array, and the others are cancelled.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <weft.h>

struct download {
    const char *server;
    int64_t delay_ms; /* drawn in main: rand() is not for many threads */
    char data[64];
};

static int download_file(void *arg, void **result)
{
    struct download *d = arg;
    int rc = weft_sleep(d->delay_ms);
    if (rc < 0)
        return rc;
    snprintf(d->data, sizeof d->data, "Data from %s", d->server);
    *result = d->data;
    return 0;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct download d[3] = {{.server = "Server A"}, {.server = "Server B"},
                            {.server = "Server C"}};
    /* random.uniform(1, 3), in steps of 0.1 s and never twice the same,
     * so that one download wins clearly. */
    for (int i = 0; i < 3; i++) {
        int same;
        do {
            d[i].delay_ms = 1000 + 100 * (rand() % 21);
            same = 0;
            for (int k = 0; k < i; k++)
                same |= d[k].delay_ms == d[i].delay_ms;
        } while (same);
    }
    weft_task_t *tasks[3];
    for (int i = 0; i < 3; i++)
        if (!(tasks[i] = weft_spawn(download_file, &d[i])))
            return weft_last_error();

    /* Wait until the FIRST task completes: tasks[0..done) are done. */
    int done = weft_wait(tasks, 3, WEFT_FOREVER, WEFT_FIRST_COMPLETED);
    if (done < 0)
        return done;
    printf("Completed tasks: %d\n", done);
    printf("Pending tasks: %d\n", 3 - done);

    for (int i = 0; i < done; i++) {
        void *data = NULL;
        weft_await(tasks[i], &data); /* done: returns at once */
        printf("Winner: %s\n", (char *)data);
    }

    /* Cancel the pending ones: we do not need them. */
    for (int i = done; i < 3; i++)
        weft_cancel(tasks[i]);
    for (int i = 0; i < 3; i++)
        weft_task_release(tasks[i]);
    return 0;
}

int main(void)
{
    srand((unsigned)time(NULL));
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "wait_first_completed: %s\n", weft_strerror(rc));
    return rc < 0;
}
