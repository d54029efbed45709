/*
 * gather_fetch_data.c - seed "Running Concurrently" §2, asyncio.gather:
 * fetch_data(1), (2) and (3) run at once (about 1 second in all) and the
 * results come back in the order the tasks were given.
 */
#include <stdint.h>
#include <stdio.h>
#include <weft.h>

struct record {
    int id;
    const char *data;
};

static int fetch_data(void *arg, void **result)
{
    struct record *r = arg;
    printf("Fetching %d...\n", r->id);
    int rc = weft_sleep(1000);
    if (rc < 0)
        return rc;
    r->data = "some data";
    *result = r;
    return 0;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct record rec[3] = {{.id = 1}, {.id = 2}, {.id = 3}};
    weft_task_t *tasks[3];
    for (int i = 0; i < 3; i++)
        if (!(tasks[i] = weft_spawn(fetch_data, &rec[i])))
            return weft_last_error(); /* weft_run cancels what is left */

    /* Wait for all; outcomes[i] belongs to tasks[i]. */
    weft_outcome_t results[3];
    int rc = weft_gather(tasks, 3, results, 0);
    for (int i = 0; i < 3; i++)
        weft_task_release(tasks[i]);
    if (rc < 0)
        return rc;

    for (int i = 0; i < 3; i++) {
        struct record *r = results[i].result;
        printf("{'id': %d, 'data': '%s'}\n", r->id, r->data);
    }
    return 0;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "gather_fetch_data: %s\n", weft_strerror(rc));
    return rc < 0;
}
