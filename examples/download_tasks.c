/*
 * download_tasks.c - seed "Run Multiple Async Tasks Together",
 * asyncio.create_task: the same three downloads as tasks, awaited one by
 * one; they ran in the background all along, so this also takes about 3
 * seconds.
 */
#include <stdio.h>
#include <weft.h>

struct download {
    const char *file_name;
    int64_t delay_ms;
};

static int download_file(void *arg, void **result)
{
    (void)result;
    struct download *d = arg;
    printf("Starting download: %s\n", d->file_name);
    int rc = weft_sleep(d->delay_ms); /* simulate download time */
    if (rc < 0)
        return rc;
    printf("Download complete: %s\n", d->file_name);
    return 0;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct download files[3] = {
        {"file1.txt", 2000}, {"file2.txt", 3000}, {"file3.txt", 1000}};
    weft_task_t *task1 = weft_spawn(download_file, &files[0]);
    weft_task_t *task2 = weft_spawn(download_file, &files[1]);
    weft_task_t *task3 = weft_spawn(download_file, &files[2]);
    if (!task1 || !task2 || !task3)
        return weft_last_error();
    /* Scheduled already; awaited one by one. */
    int rc = weft_await(task1, NULL);
    int rc2 = weft_await(task2, NULL);
    int rc3 = weft_await(task3, NULL);
    weft_task_release(task1);
    weft_task_release(task2);
    weft_task_release(task3);
    return rc ? rc : rc2 ? rc2 : rc3;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "download_tasks: %s\n", weft_strerror(rc));
    return rc < 0;
}
