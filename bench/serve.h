/*
 * serve.h - what weft's benchmark servers (echo.c, mixed.c) share: the
 * listener task that spawns a task per connection, the options, and the
 * stop on SIGTERM, SIGINT or the end of stdin.  A server has a name and
 * a connection task (which owns and closes
 * its socket) and its main calls server_main with them.
 *
 * usage: NAME [--workers N] [--port P]
 *   Listens on 127.0.0.1:P (default 0: a free port), prints "listening on
 *   PORT" and serves until SIGTERM or SIGINT, or until its stdin reaches
 *   end of file; then stops the scheduler (which closes every connection)
 *   and exits 0.  N defaults to one worker per CPU.
 */
#ifndef WEFT_BENCH_SERVE_H
#define WEFT_BENCH_SERVE_H

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft.h"

struct server {
    const char *name; /* for messages */
    weft_fn conn;     /* a connection's task; its arg is the socket */
    int port;
};

static int serve(void *arg, void **result)
{
    (void)result;
    const struct server *sv = arg;
    int port = sv->port;
    weft_sock_t *l;
    int rc = weft_tcp_listen("127.0.0.1", port, 0, &l);
    if (rc < 0) {
        fprintf(stderr, "%s: listen: %s\n", sv->name, weft_strerror(rc));
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
            fprintf(stderr, "%s: accept: %s\n", sv->name, weft_strerror(rc));
            weft_sleep(10);
            continue;
        }
        weft_task_t *t = weft_spawn(sv->conn, c);
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

/* The whole program: parses the options, serves until told to stop. */
static int server_main(int argc, char **argv, const char *name, weft_fn conn)
{
    weft_config_t cfg = {0};
    struct server sv = {.name = name, .conn = conn, .port = 0};
    for (int i = 1; i < argc; i += 2) {
        if (strcmp(argv[i], "--workers") == 0)
            cfg.workers = (unsigned)arg_value(argc, argv, i);
        else if (strcmp(argv[i], "--port") == 0)
            sv.port = arg_value(argc, argv, i);
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
        fprintf(stderr, "%s: %s\n", name, weft_strerror(weft_last_error()));
        return 1;
    }
    weft_task_t *t = weft_submit(s, serve, &sv);
    pthread_t watcher;
    pthread_create(&watcher, NULL, watch_stdin, NULL);
    pthread_detach(watcher);
    int sig;
    sigwait(&sigs, &sig);
    weft_task_release(t);
    weft_stop(s);
    return 0;
}

#endif
