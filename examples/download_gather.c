/*
 * download_gather.c - seed "Run Multiple Async Tasks Together",
 * asyncio.gather: three downloads of 2, 3 and 1 seconds run at once and
 * gather waits for all: about 3 seconds in all (the longest), not 6.
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
    weft_task_t *tasks[3];
    for (int i = 0; i < 3; i++)
        if (!(tasks[i] = weft_spawn(download_file, &files[i])))
            return weft_last_error();
    int rc = weft_gather(tasks, 3, NULL, 0); /* await asyncio.gather(...) */
    for (int i = 0; i < 3; i++)
        weft_task_release(tasks[i]);
    return rc;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "download_gather: %s\n", weft_strerror(rc));
    return rc < 0;
}
