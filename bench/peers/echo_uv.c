/*
 * echo_uv.c - the libuv peer of the echo workload: a single-threaded TCP
 * echo server on 127.0.0.1, the way libuv's own guide writes one:
 * uv_read_start with a buffer of its own for every read, uv_write of what
 * came in, the buffer given up when the write completes.  It prints
 * "listening on PORT" once it accepts connections (port 0 picks a free
 * one), closes a connection after its client does (once the echoes queued
 * before are written), and exits 0 on SIGTERM after closing every handle.
 *
 * Given-up buffers go on a free list instead of back to malloc: a 64 KiB
 * malloc and free per read made glibc trim and regrow its heap with brk
 * about every third read, which cut this server's round trips per second
 * by four to five times on the reference machine.  That is the allocator,
 * not libuv, so the peer does not pay it.
 *
 * usage: echo_uv [--port P]   (default 0)
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define CHUNK_DATA (64 * 1024) /* what libuv suggests for one read */

/* One read's buffer and the write that sends it back, in one allocation:
 * alloc_cb takes it, read_cb turns it into the write, write_cb gives it
 * back to the free list. */
typedef struct echo_chunk {
    uv_write_t req;          /* the write echoing data[] */
    struct echo_chunk *next; /* in the free list */
    char data[CHUNK_DATA];   /* what one read received */
} echo_chunk_t;

typedef struct echo_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_signal_t term;    /* SIGTERM: close everything and leave the loop */
    echo_chunk_t *spare; /* free list; the loop thread is the only user */
} echo_server_t;

static void free_handle(uv_handle_t *h)
{
    free(h);
}

static void close_client(uv_stream_t *client)
{
    if (!uv_is_closing((uv_handle_t *)client))
        uv_close((uv_handle_t *)client, free_handle);
}

static void give_back(uv_loop_t *loop, echo_chunk_t *chunk)
{
    echo_server_t *srv = loop->data;
    chunk->next = srv->spare;
    srv->spare = chunk;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested; /* 64 KiB on Unix, CHUNK_DATA */
    echo_server_t *srv = h->loop->data;
    echo_chunk_t *chunk = srv->spare;
    if (chunk != NULL)
        srv->spare = chunk->next;
    else
        chunk = malloc(sizeof *chunk);
    /* A null base makes libuv report UV_ENOBUFS to read_cb. */
    *buf = uv_buf_init(chunk != NULL ? chunk->data : NULL, chunk != NULL ? CHUNK_DATA : 0);
}

static void write_cb(uv_write_t *req, int status)
{
    echo_chunk_t *chunk = (echo_chunk_t *)((char *)req - offsetof(echo_chunk_t, req));
    /* UV_ECANCELED: the connection was closed with this echo still queued. */
    if (status < 0 && status != UV_ECANCELED) {
        fprintf(stderr, "echo_uv: write: %s\n", uv_strerror(status));
        close_client(req->handle);
    }
    give_back(req->handle->loop, chunk);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    (void)status; /* the connection closes either way */
    close_client(req->handle);
    free(req);
}

static void read_cb(uv_stream_t *client, ssize_t nread, const uv_buf_t *buf)
{
    echo_chunk_t *chunk =
        buf->base != NULL ? (echo_chunk_t *)(buf->base - offsetof(echo_chunk_t, data)) : NULL;
    if (nread > 0) {
        uv_buf_t out = uv_buf_init(buf->base, (unsigned)nread);
        int rc = uv_write(&chunk->req, client, &out, 1, write_cb);
        if (rc < 0) {
            fprintf(stderr, "echo_uv: write: %s\n", uv_strerror(rc));
            give_back(client->loop, chunk);
            close_client(client);
        }
        return;
    }
    if (chunk != NULL)
        give_back(client->loop, chunk);
    if (nread == 0) /* EAGAIN: nothing this time */
        return;
    if (nread == UV_EOF) {
        /* The client is done sending: close once the echoes queued so far
         * are out, which is what uv_shutdown waits for. */
        uv_shutdown_t *req = malloc(sizeof *req);
        if (req != NULL && uv_shutdown(req, client, shutdown_cb) == 0)
            return;
        free(req);
    } else {
        fprintf(stderr, "echo_uv: read: %s\n", uv_strerror((int)nread));
    }
    close_client(client);
}

static void connection_cb(uv_stream_t *listener, int status)
{
    if (status < 0) {
        fprintf(stderr, "echo_uv: accept: %s\n", uv_strerror(status));
        return;
    }
    uv_tcp_t *client = malloc(sizeof *client);
    if (client == NULL) {
        fprintf(stderr, "echo_uv: out of memory\n");
        return;
    }
    uv_tcp_init(listener->loop, client);
    int rc = uv_accept(listener, (uv_stream_t *)client);
    /* One small write per round trip: Nagle would hold the echo back. */
    if (rc == 0)
        rc = uv_tcp_nodelay(client, 1);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)client, alloc_cb, read_cb);
    if (rc < 0) {
        fprintf(stderr, "echo_uv: accept: %s\n", uv_strerror(rc));
        close_client((uv_stream_t *)client);
    }
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
    echo_server_t *srv = arg;
    if (uv_is_closing(h))
        return;
    int own = h == (uv_handle_t *)&srv->listener || h == (uv_handle_t *)&srv->term;
    uv_close(h, own ? NULL : free_handle);
}

static void term_cb(uv_signal_t *sig, int signum)
{
    (void)signum;
    echo_server_t *srv = sig->data;
    uv_walk(srv->loop, close_walk_cb, srv);
}

int main(int argc, char **argv)
{
    long port = 0;
    if (argc == 3 && strcmp(argv[1], "--port") == 0) {
        char *end;
        port = strtol(argv[2], &end, 10);
        if (*argv[2] == '\0' || *end != '\0' || port < 0 || port > 65535)
            argc = 0;
    }
    if (argc != 1 && argc != 3) {
        fprintf(stderr, "usage: echo_uv [--port P]\n");
        return 2;
    }
    echo_server_t srv = {.loop = uv_default_loop(), .spare = NULL};
    srv.loop->data = &srv;
    struct sockaddr_in addr;
    struct sockaddr_storage bound;
    int len = sizeof bound;
    int rc = uv_ip4_addr("127.0.0.1", (int)port, &addr);
    if (rc == 0)
        rc = uv_tcp_init(srv.loop, &srv.listener);
    if (rc == 0)
        rc = uv_tcp_bind(&srv.listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv.listener, SOMAXCONN, connection_cb);
    if (rc == 0)
        rc = uv_tcp_getsockname(&srv.listener, (struct sockaddr *)&bound, &len);
    if (rc == 0)
        rc = uv_signal_init(srv.loop, &srv.term);
    srv.term.data = &srv;
    if (rc == 0)
        rc = uv_signal_start(&srv.term, term_cb, SIGTERM);
    if (rc < 0) {
        fprintf(stderr, "echo_uv: port %ld: %s\n", port, uv_strerror(rc));
        return 1;
    }
    /* stdout is a pipe under bench/run, so fully buffered: flush the line
     * that tells the port. */
    printf("listening on %d\n", ntohs(((struct sockaddr_in *)&bound)->sin_port));
    fflush(stdout);
    rc = uv_run(srv.loop, UV_RUN_DEFAULT);
    if (rc == 0)
        rc = uv_loop_close(srv.loop);
    while (srv.spare != NULL) {
        echo_chunk_t *chunk = srv.spare;
        srv.spare = chunk->next;
        free(chunk);
    }
    if (rc != 0) {
        fprintf(stderr, "echo_uv: loop left with handles open (%d)\n", rc);
        return 1;
    }
    return 0;
}
