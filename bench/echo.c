/*
 * echo.c - weft's server for the echo workload (bench/echo_load.c is the
 * client): a task per connection that writes back what it reads.
 *
 * usage: bench_echo [--workers N] [--port P]
 *   Listens on 127.0.0.1:P (default 0: a free port), prints "listening on
 *   PORT" and serves until SIGTERM or SIGINT, or until its stdin reaches
 *   end of file; then stops the scheduler (which closes every connection)
 *   and exits 0.  N defaults to one worker per CPU.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft.h"

static int echo_conn(void *arg, void **result)
{
    (void)result;
    weft_sock_t *s = arg;
    char buf[4096];
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = weft_read(s, buf, sizeof buf)) > 0)
        rc = weft_write(s, buf, (size_t)n);
    weft_close(s);
    return 0;
}

static int serve(void *arg, void **result)
{
    (void)result;
    int port = *(int *)arg;
    weft_sock_t *l;
    int rc = weft_tcp_listen("127.0.0.1", port, 0, &l);
    if (rc < 0) {
        fprintf(stderr, "bench_echo: listen: %s\n", weft_strerror(rc));
        kill(getpid(), SIGTERM); /* main waits for a signal: end it */
        return rc;
    }
    printf("listening on %d\n", weft_tcp_port(l));
    fflush(stdout);
    for (;;) {
        weft_sock_t *c;
        rc = weft_tcp_accept(l, &c);
        if (rc == WEFT_ECANCELED)
            break;
        if (rc < 0) {
            fprintf(stderr, "bench_echo: accept: %s\n", weft_strerror(rc));
            weft_sleep(10);
            continue;
        }
        weft_task_t *t = weft_spawn(echo_conn, c);
        if (!t)
            weft_close(c);
        weft_task_release(t);
    }
    weft_close(l);
    return 0;
}

/* Turns the end of stdin into a SIGTERM, so a parent that dies ends us. */
static void *watch_stdin(void *arg)
{
    (void)arg;
    char buf[256];
    while (read(0, buf, sizeof buf) > 0)
        ;
    kill(getpid(), SIGTERM);
    return NULL;
}

static int arg_value(int argc, char **argv, int i)
{
    char *end;
    long v = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : -1;
    if (i + 1 >= argc || *end != '\0' || v < 0 || v > 65535) {
        fprintf(stderr, "usage: %s [--workers N] [--port P]\n", argv[0]);
        exit(2);
    }
    return (int)v;
}

int main(int argc, char **argv)
{
    weft_config_t cfg = {0};
    int port = 0;
    for (int i = 1; i < argc; i += 2) {
        if (strcmp(argv[i], "--workers") == 0)
            cfg.workers = (unsigned)arg_value(argc, argv, i);
        else if (strcmp(argv[i], "--port") == 0)
            port = arg_value(argc, argv, i);
        else
            arg_value(argc, argv, argc); /* prints the usage */
    }
    /* Signals are taken by sigwait: blocked in every thread, the workers
     * included (they inherit this mask). */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    weft_sched_t *s = weft_start(&cfg);
    if (!s) {
        fprintf(stderr, "bench_echo: %s\n", weft_strerror(weft_last_error()));
        return 1;
    }
    weft_task_t *t = weft_submit(s, serve, &port);
    pthread_t watcher;
    pthread_create(&watcher, NULL, watch_stdin, NULL);
    pthread_detach(watcher);
    int sig;
    sigwait(&sigs, &sig);
    weft_task_release(t);
    weft_stop(s);
    return 0;
}
