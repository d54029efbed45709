/*
 * taskgroup_double.c - seed "Tasks and Concurrency", asyncio.TaskGroup:
 * five tasks double their item after 0.5 s; the group's join waits for all
 * of them (about 0.5 s in all), and then every result is there.
 */
#include <stdint.h>
#include <stdio.h>
#include <weft.h>

static int process(void *arg, void **result)
{
    intptr_t item = (intptr_t)arg;
    int rc = weft_sleep(500);
    if (rc < 0)
        return rc;
    *result = (void *)(item * 2);
    return 0;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *results[5];
    weft_group_t *tg = weft_group_new(); /* async with asyncio.TaskGroup() as tg: */
    if (!tg)
        return weft_last_error();
    int spawn_rc = 0;
    for (intptr_t i = 0; i < 5 && spawn_rc == 0; i++)
        if (!(results[i] = weft_group_spawn(tg, process, (void *)i))) /* the group owns it */
            spawn_rc = weft_last_error();
    int rc = weft_group_join(tg); /* the end of the async with block */
    if (rc == 0)
        rc = spawn_rc;

    /* All tasks are done here.  Access results safely. */
    if (rc == 0) {
        printf("[");
        for (int i = 0; i < 5; i++) {
            void *r = NULL;
            weft_await(results[i], &r); /* done: its result at once */
            printf("%s%d", i ? ", " : "", (int)(intptr_t)r);
        }
        printf("]\n");
    }
    weft_group_free(tg);
    return rc;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "taskgroup_double: %s\n", weft_strerror(rc));
    return rc < 0;
}
