/*
 * breakfast.c - seed "Running Concurrently" §1, "Making Breakfast
 * Concurrently": coffee (2 s) and toast (1 s) as two tasks, awaited in
 * order.  Both run at once, so breakfast takes about 2 seconds, not 3.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */

#include <stdio.h>
#include <time.h>
#include <weft.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int brew_coffee(void *arg, void **result)
{
    (void)arg;
    printf("Start brewing coffee...\n");
    int rc = weft_sleep(2000);
    if (rc < 0)
        return rc; /* cancelled */
    printf("Coffee is ready!\n");
    *result = "Coffee";
    return 0;
}

static int toast_bread(void *arg, void **result)
{
    (void)arg;
    printf("Start toasting bread...\n");
    int rc = weft_sleep(1000);
    if (rc < 0)
        return rc;
    printf("Toast is ready!\n");
    *result = "Toast";
    return 0;
}

static int breakfast(void *arg, void **result)
{
    (void)arg;
    (void)result;
    double start = now_s();
    printf("--- Starting Breakfast (Concurrent) ---\n");

    /* Schedule both tasks at once; this task keeps running. */
    weft_task_t *task1 = weft_spawn(brew_coffee, NULL);
    weft_task_t *task2 = weft_spawn(toast_bread, NULL);
    if (!task1 || !task2)
        return weft_last_error(); /* weft_run cancels what is left */

    /* Await them for their results, in any order: they already run. */
    void *coffee = NULL, *toast = NULL;
    int rc = weft_await(task1, &coffee);
    if (rc == 0)
        rc = weft_await(task2, &toast);
    weft_task_release(task1);
    weft_task_release(task2);
    if (rc < 0)
        return rc;

    printf("Finished: %s and %s\n", (char *)coffee, (char *)toast);
    printf("Total time taken: %.2f seconds\n", now_s() - start);
    return 0;
}

int main(void)
{
    int rc = weft_run(NULL, breakfast, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "breakfast: %s\n", weft_strerror(rc));
    return rc < 0;
}
