/*
 * watchdog.c - finding a task that blocks its worker.  A heartbeat task
 * ticks every 20 ms while a "legacy-io" task calls a function that holds
 * its thread for 300 ms (a busy loop standing in for a slow library call
 * or a blocking read).  With cfg.watchdog_ms set, weft reports the task on
 * stderr, by name and with its stack, once; then the same call is made the
 * right way, through weft_run_blocking, and nothing is reported.  Sending
 * SIGUSR1 to the process while it runs (WEFT_DUMP_SIGNAL=SIGUSR1) prints
 * every live task with its stack, as weft_dump does.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <weft.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int blocking_call(void *arg, void **result)
{
    (void)arg;
    volatile uint64_t x = 1;
    for (double end = now_s() + 0.3; now_s() < end;)
        for (int i = 0; i < 1000; i++)
            x = x * 6364136223846793005u + 1442695040888963407u;
    *result = (void *)(uintptr_t)x;
    return 0;
}

static int legacy_io(void *arg, void **result)
{
    (void)result;
    if (arg) /* the right way: the call runs on a pool thread */
        return weft_run_blocking(blocking_call, NULL, result);
    void *ignored;
    return blocking_call(NULL, &ignored); /* holds its worker */
}

static int heartbeat(void *arg, void **result)
{
    (void)arg;
    (void)result;
    for (int i = 0; i < 20; i++) {
        int rc = weft_sleep(20);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int round_of(const char *how, void *offload)
{
    weft_spawn_opts_t io_opts = {.name = "legacy-io"}, hb_opts = {.name = "heartbeat"};
    weft_task_t *t[2] = {weft_spawn_opts(legacy_io, offload, &io_opts),
                         weft_spawn_opts(heartbeat, NULL, &hb_opts)};
    if (!t[0] || !t[1])
        return weft_last_error();
    int rc = weft_gather(t, 2, NULL, 0);
    weft_task_release(t[0]);
    weft_task_release(t[1]);
    printf("%s: done\n", how);
    return rc;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int rc = round_of("blocking call in a task (reported on stderr)", NULL);
    if (rc == 0)
        rc = round_of("the same call through weft_run_blocking", (void *)1);
    return rc;
}

int main(void)
{
    weft_config_t cfg = {.workers = 1, .watchdog_ms = 100};
    int rc = weft_run(&cfg, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "watchdog: %s\n", weft_strerror(rc));
    return rc < 0;
}
