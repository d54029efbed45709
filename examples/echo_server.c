/*
 * echo_server.c - a TCP echo server with a task per connection: each task
 * reads what arrives and writes it back, suspending (not blocking its
 * thread) while it waits, so a few worker threads serve thousands of
 * connections.
 *
 *   echo_server PORT             serves on 127.0.0.1:PORT until SIGINT
 *   echo_server --self-test N    serves on a free port, runs N client tasks
 *                                that each echo a few messages and check
 *                                every byte, prints a summary and exits
 */
#define _POSIX_C_SOURCE 200809L /* sigwait, pthread_sigmask, kill */

#include <signal.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft.h>

#define MESSAGES 3   /* per self-test client */
#define MSG_LEN 100  /* bytes per message */

static atomic_long accepted;

/* One connection: echo until the peer closes (or the task is cancelled). */
static int serve_conn(void *arg, void **result)
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

/* Accepts connections on the listener for ever, a task for each. */
static int acceptor(void *arg, void **result)
{
    (void)result;
    weft_sock_t *l = arg;
    for (;;) {
        weft_sock_t *c;
        int rc = weft_tcp_accept(l, &c);
        if (rc == WEFT_ECANCELED)
            return rc;
        if (rc < 0) { /* out of fds, say: report and go on */
            fprintf(stderr, "accept: %s\n", weft_strerror(rc));
            weft_sleep(10);
            continue;
        }
        atomic_fetch_add(&accepted, 1);
        weft_task_t *t = weft_spawn(serve_conn, c);
        if (t == NULL)
            weft_close(c);
        weft_task_release(t);
    }
}

struct client {
    int port;
    unsigned id;
    int ok; /* every echo came back whole and equal */
};

static int client(void *arg, void **result)
{
    (void)result;
    struct client *c = arg;
    weft_sock_t *s;
    int rc = weft_tcp_connect("127.0.0.1", c->port, &s);
    if (rc < 0)
        return rc;
    c->ok = 1;
    for (unsigned m = 0; m < MESSAGES && rc == 0 && c->ok; m++) {
        char out[MSG_LEN], in[MSG_LEN];
        for (size_t k = 0; k < MSG_LEN; k++)
            out[k] = (char)(c->id * 31u + m * 7u + k);
        rc = weft_write(s, out, sizeof out);
        for (size_t got = 0; rc == 0 && got < sizeof in;) {
            ssize_t n = weft_read(s, in + got, sizeof in - got);
            if (n <= 0)
                rc = n < 0 ? (int)n : -1;
            else
                got += (size_t)n;
        }
        c->ok = rc == 0 && memcmp(in, out, sizeof in) == 0;
    }
    weft_close(s);
    return rc;
}

static int self_test(void *arg, void **result)
{
    (void)result;
    unsigned n = *(unsigned *)arg;
    weft_sock_t *l;
    int rc = weft_tcp_listen("127.0.0.1", 0, 0, &l);
    if (rc < 0) {
        fprintf(stderr, "listen: %s\n", weft_strerror(rc));
        return rc;
    }
    weft_task_t *server = weft_spawn(acceptor, l);
    struct client *clients = calloc(n, sizeof *clients);
    weft_task_t **tasks = calloc(n, sizeof *tasks);
    weft_outcome_t *outcomes = calloc(n, sizeof *outcomes);
    if (!server || !clients || !tasks || !outcomes) {
        rc = WEFT_ENOMEM;
        goto out;
    }
    for (unsigned i = 0; i < n; i++) {
        clients[i] = (struct client){.port = weft_tcp_port(l), .id = i};
        tasks[i] = weft_spawn(client, &clients[i]);
    }
    weft_gather(tasks, n, outcomes, WEFT_RETURN_EXCEPTIONS);
    unsigned good = 0;
    for (unsigned i = 0; i < n; i++) {
        good += outcomes[i].rc == 0 && clients[i].ok;
        if (outcomes[i].rc != 0)
            fprintf(stderr, "client %u: %s\n", i, weft_strerror(outcomes[i].rc));
        weft_task_release(tasks[i]);
    }
    printf("%u clients connected and echoed %d messages of %d bytes each\n", n, MESSAGES,
           MSG_LEN);
    printf("%u of %u got every byte back\n", good, n);
    printf("the server accepted %ld connections\n", atomic_load(&accepted));
    rc = good == n ? 0 : 1;
out:
    /* The server's connection tasks have seen their clients close; the
     * acceptor waits for ever and is cancelled. */
    weft_cancel(server);
    weft_await(server, NULL);
    weft_task_release(server);
    weft_close(l);
    free(outcomes);
    free(tasks);
    free(clients);
    return rc;
}

static int serve(void *arg, void **result)
{
    (void)result;
    int port = *(int *)arg;
    weft_sock_t *l;
    int rc = weft_tcp_listen("127.0.0.1", port, 0, &l);
    if (rc < 0) {
        fprintf(stderr, "listen: %s\n", weft_strerror(rc));
        kill(getpid(), SIGINT); /* main waits for it: nothing to serve */
        return rc;
    }
    printf("listening on %d\n", weft_tcp_port(l));
    fflush(stdout);
    rc = acceptor(l, NULL); /* until weft_stop cancels it */
    weft_close(l);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--self-test") == 0) {
        unsigned n = (unsigned)strtoul(argv[2], NULL, 10);
        if (n == 0)
            goto usage;
        return weft_run(NULL, self_test, &n, NULL) == 0 ? 0 : 1;
    }
    if (argc != 2)
        goto usage;
    int port = atoi(argv[1]);
    /* SIGINT is taken by sigwait below: blocked in every thread, the
     * workers included (they inherit the mask). */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    weft_sched_t *s = weft_start(NULL);
    if (!s)
        return 1;
    weft_task_t *t = weft_submit(s, serve, &port);
    int sig;
    sigwait(&sigs, &sig);
    weft_task_release(t);
    weft_stop(s); /* cancels the acceptor and every connection */
    return 0;
usage:
    fprintf(stderr, "usage: %s PORT | --self-test N\n", argv[0]);
    return 2;
}
