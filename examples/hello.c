/*
 * hello.c - the README's example: two tasks sleep and return a word each;
 * the main task awaits both and prints them.
 */
#include <stdio.h>
#include <weft.h>

struct job {
    const char *word; /* what the task returns */
    int64_t ms;       /* how long it sleeps first */
};

static int say(void *arg, void **result)
{
    struct job *job = arg;
    int rc = weft_sleep(job->ms); /* suspends the task, not its thread */
    if (rc < 0)
        return rc; /* WEFT_ECANCELED */
    *result = (void *)job->word;
    return 0;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct job a = {"hello", 20}, b = {"world", 10};
    weft_task_t *ta = weft_spawn(say, &a); /* both start at once */
    weft_task_t *tb = weft_spawn(say, &b);
    if (ta == NULL || tb == NULL)
        return weft_last_error(); /* weft_run cancels what is left */
    void *wa = NULL, *wb = NULL;
    int rc = weft_await(ta, &wa); /* about 20 ms; b is done by then */
    if (rc == 0)
        rc = weft_await(tb, &wb);
    if (rc == 0)
        printf("%s %s\n", (char *)wa, (char *)wb);
    weft_task_release(ta);
    weft_task_release(tb);
    return rc;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL); /* like asyncio.run() */
    if (rc < 0)
        fprintf(stderr, "hello: %s\n", weft_strerror(rc));
    return rc < 0;
}
