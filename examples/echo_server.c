/*
 * echo_server.c - a TCP echo server with a task per connection: each task
 * reads what arrives and writes it back, suspending (not blocking its
 * thread) while it waits, so a few worker threads serve thousands of
 * connections.
 *
 *   echo_server PORT             serves on 127.0.0.1:PORT (0: a free port,
 *                                printed) until SIGINT
 *   echo_server --self-test N    serves on a free port, runs N client tasks
 *                                that each echo a few messages and check
 *                                every byte, prints a summary and exits
 *
 * Stopping on SIGINT: a signal handler may call only async-signal-safe
 * functions, and no weft function is one (weft_stop takes locks, joins
 * threads and frees memory).  So the handler only posts a semaphore; the
 * main thread, waiting on it, calls weft_stop, which cancels every task:
 * the acceptor closes the listener, each connection task closes its
 * socket, and the program prints how many tasks it stopped and exits 0.
 * SIGINT is blocked in weft's threads (they inherit the mask weft_start
 * runs with), so the handler runs on the main thread and never interrupts
 * a worker.
 */
#define _POSIX_C_SOURCE 200809L /* sigaction, pthread_sigmask, sem_t */

#include <errno.h>
#include <semaphore.h>
#include <signal.h>
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

/* Posted by the SIGINT handler, or by serve when it cannot listen. */
static sem_t wake_main;
static atomic_int listen_failed;

static void on_sigint(int sig)
{
    (void)sig;
    sem_post(&wake_main); /* async-signal-safe, unlike anything in weft */
}

static int serve(void *arg, void **result)
{
    (void)result;
    int port = *(int *)arg;
    weft_sock_t *l;
    int rc = weft_tcp_listen("127.0.0.1", port, 0, &l);
    if (rc < 0) {
        fprintf(stderr, "listen: %s\n", weft_strerror(rc));
        atomic_store(&listen_failed, 1);
        sem_post(&wake_main); /* nothing to serve: main stops */
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
    sem_init(&wake_main, 0, 0);
    struct sigaction sa = {.sa_handler = on_sigint};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    /* Blocked while weft starts its threads, which inherit the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    weft_sched_t *s = weft_start(NULL);
    pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
    if (!s)
        return 1;
    weft_task_t *t = weft_submit(s, serve, &port);
    weft_task_release(t);
    while (sem_wait(&wake_main) != 0 && errno == EINTR)
        continue;
    weft_stats_t st;
    int live = weft_stats(&st) == 0 ? (int)st.tasks_live : 0;
    int rc = weft_stop(s); /* cancels the acceptor and every connection */
    if (atomic_load(&listen_failed) || rc != 0)
        return 1;
    printf("echo_server: interrupted, stopped %d tasks\n", live);
    return 0;
usage:
    fprintf(stderr, "usage: %s PORT | --self-test N\n", argv[0]);
    return 2;
}
