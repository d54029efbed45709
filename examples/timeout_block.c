/*
 * timeout_block.c - seed "Tasks and Concurrency": "the asyncio.timeout()
 * context manager provides a cleaner approach for timing out a block of
 * operations".  A timeout scope of 1 second around two fetches: the first
 * answers in 0.4 s, the second is slow; when the second expires the body
 * is cancelled and weft_timeout_exit reports the timeout (where Python's
 * async with raises TimeoutError).
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

/* Spawns a fetch and awaits it: "await fetch(...)". */
static int await_fetch(struct fetch *f, void **data)
{
    weft_task_t *t = weft_spawn(fetch, f);
    if (!t)
        return weft_last_error();
    int rc = weft_await(t, data); /* a cancel of this task reaches the fetch */
    weft_task_release(t);
    return rc;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct fetch fast = {.url = "https://fast.example.com", .ms = 400};
    struct fetch slow = {.url = "https://slow.example.com", .ms = 10000};

    weft_timeout_t *scope = weft_timeout_enter(1000); /* async with asyncio.timeout(1): */
    if (!scope)
        return weft_last_error();
    void *data = NULL;
    int rc = await_fetch(&fast, &data);
    if (rc == 0) {
        printf("%s\n", (char *)data);
        rc = await_fetch(&slow, &data);
        if (rc == 0)
            printf("%s\n", (char *)data);
    }
    int exit_rc = weft_timeout_exit(scope);
    if (exit_rc == WEFT_ETIMEDOUT) { /* except TimeoutError: */
        printf("The block timed out after 1 second\n");
        return 0;
    }
    return exit_rc ? exit_rc : rc;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "timeout_block: %s\n", weft_strerror(rc));
    return rc < 0;
}
