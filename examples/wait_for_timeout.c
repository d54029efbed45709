/*
 * wait_for_timeout.c - seed "Tasks and Concurrency", asyncio.wait_for: a
 * fetch from a slow server, given 5 seconds.  It does not answer in time:
 * wait_for cancels it, waits until it has finished and reports the
 * timeout (where Python raises asyncio.TimeoutError).
 */
#include <stdio.h>
#include <weft.h>

static int fetch(void *arg, void **result)
{
    (void)arg;
    int rc = weft_sleep(60 * 1000); /* the slow server */
    if (rc < 0)
        return rc;
    *result = "Data from https://slow.example.com";
    return 0;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *t = weft_spawn(fetch, NULL);
    if (!t)
        return weft_last_error();
    void *data = NULL;
    int rc = weft_wait_for(t, 5000, &data);
    weft_task_release(t);
    if (rc == WEFT_ETIMEDOUT) { /* except asyncio.TimeoutError: */
        printf("Request timed out after 5 seconds\n");
        return 0;
    }
    if (rc == 0)
        printf("%s\n", (char *)data);
    return rc;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "wait_for_timeout: %s\n", weft_strerror(rc));
    return rc < 0;
}
