/*
 * shield_save.c - seed "Tasks and Concurrency", Shielding Tasks: a handler
 * saves a record through weft_shield.  The handler is cancelled while the
 * save runs: its wait ends at once with WEFT_ECANCELED, but the cancel is
 * not passed on, and the save completes.
 */
#include <stdio.h>
#include <weft.h>

static int critical_save(void *arg, void **result)
{
    (void)result;
    int id = *(int *)arg;
    printf("Saving record %d...\n", id);
    int rc = weft_sleep(1000); /* await db.commit(data) */
    if (rc < 0)
        return rc;
    printf("Committed record %d\n", id);
    return 0;
}

struct handler {
    int id;
    weft_task_t *save; /* the save, kept so that main can wait for it */
};

static int handler(void *arg, void **result)
{
    (void)result;
    struct handler *h = arg;
    h->save = weft_spawn(critical_save, &h->id);
    if (!h->save)
        return weft_last_error();
    /* Even if the handler is cancelled, the save will complete. */
    int rc = weft_shield(h->save, NULL);
    if (rc == WEFT_ECANCELED)
        printf("Handler cancelled: %s; the save goes on\n", weft_strerror(rc));
    return rc;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct handler h = {.id = 42};
    weft_task_t *t = weft_spawn(handler, &h);
    if (!t)
        return weft_last_error();
    weft_sleep(300);
    weft_cancel(t); /* say, the client went away */
    weft_await(t, NULL);
    weft_task_release(t);
    int rc = 0;
    if (h.save) {
        rc = weft_await(h.save, NULL); /* the save is still running */
        printf("Save ended: %s\n", weft_strerror(rc));
        weft_task_release(h.save);
    }
    return rc;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "shield_save: %s\n", weft_strerror(rc));
    return rc < 0;
}
