/*
 * task_names.c - seed "Tasks and Concurrency", Task Naming: a fetch task
 * named after its URL (create_task(..., name=...)), its name read back
 * (task.get_name()), and, where Python would look at asyncio.all_tasks()
 * to find which task is stuck, weft_dump listing every live task with its
 * name and what it waits on.  The whole dump (with spawn sites and stacks)
 * goes to stderr; stdout gets its task lines, whose text does not depend
 * on the build.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft.h>

static int fetch(void *arg, void **result)
{
    int rc = weft_sleep(1000);
    if (rc < 0)
        return rc;
    *result = arg;
    return 0;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    const char *urls[2] = {"https://api.example.com/a", "https://api.example.com/b"};
    weft_task_t *tasks[2];
    for (int i = 0; i < 2; i++) {
        char name[64];
        snprintf(name, sizeof name, "fetch-%s", urls[i]);
        weft_spawn_opts_t opts = {.name = name}; /* copied */
        if (!(tasks[i] = weft_spawn_opts(fetch, (void *)urls[i], &opts)))
            return weft_last_error();
    }
    printf("%s\n", weft_task_name(tasks[0]));

    weft_sleep(200); /* both fetches are asleep by now */
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return WEFT_ENOMEM;
    weft_dump(mem);
    fclose(mem);
    fputs(text, stderr);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (strncmp(line, "weft:", 5) == 0 || strncmp(line, "  #", 3) == 0)
            puts(line);
    free(text);

    int rc = weft_gather(tasks, 2, NULL, 0);
    for (int i = 0; i < 2; i++)
        weft_task_release(tasks[i]);
    return rc;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "task_names: %s\n", weft_strerror(rc));
    return rc < 0;
}
