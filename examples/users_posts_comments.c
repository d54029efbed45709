/*
 * users_posts_comments.c - seed "Creating and Managing Tasks", Code
 * Examples, "Concurrent fetching with gather": users (1 s), posts (2 s)
 * and comments (0.5 s) at once; the results come in the order given and
 * the whole takes about 2 seconds, not 3.5.
 */
#include <stdio.h>
#include <weft.h>

struct fetch {
    const char *url;
    int64_t delay_ms;
    char data[64];
};

static int fetch(void *arg, void **result)
{
    struct fetch *f = arg;
    int rc = weft_sleep(f->delay_ms);
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
    struct fetch f[3] = {{.url = "api/users", .delay_ms = 1000},
                         {.url = "api/posts", .delay_ms = 2000},
                         {.url = "api/comments", .delay_ms = 500}};
    weft_task_t *tasks[3];
    for (int i = 0; i < 3; i++)
        if (!(tasks[i] = weft_spawn(fetch, &f[i])))
            return weft_last_error();
    /* Run concurrently. */
    weft_outcome_t results[3];
    int rc = weft_gather(tasks, 3, results, 0);
    for (int i = 0; i < 3; i++)
        weft_task_release(tasks[i]);
    if (rc < 0)
        return rc;
    /* Results in order: users, posts, comments.  Total time: ~2 s. */
    for (int i = 0; i < 3; i++)
        printf("%s\n", (char *)results[i].result);
    return 0;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "users_posts_comments: %s\n", weft_strerror(rc));
    return rc < 0;
}
