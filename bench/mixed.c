/*
 * mixed.c - weft's server for the mixed workload (bench/echo_load.c --burn
 * is the client, bench/peers/mixed.go the Go peer): requests that each cost
 * some CPU, served by a task per connection.
 *
 * A request is a text line "STEPS SEED\n"; the reply is the line
 * "RESULT\n" with RESULT = burn(STEPS, SEED) (burn.h) in decimal.  The
 * task is written the way a newcomer would write it, on purpose: it reads
 * into a buffer until a whole line is there, parses it with strtoull and
 * reads errno after each call, burns the steps in a plain loop that never
 * yields, and writes the reply.  So a long request holds its worker for
 * its whole burn, and the task reads a thread-local (errno) between its
 * suspensions.  A tuned server (weft_yield inside the loop, say) would go
 * beside this one, never in its place.
 *
 * usage: bench_mixed [--workers N] [--port P]
 *   Listens on 127.0.0.1:P (default 0: a free port), prints "listening on
 *   PORT" and serves until SIGTERM or SIGINT, or until its stdin reaches
 *   end of file; then stops the scheduler (which closes every connection)
 *   and exits 0.  N defaults to one worker per CPU.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "burn.h"
#include "serve.h"

#define LINE_CAP 256 /* longest request line taken */

/* Serves one connection: a request line in, its reply line out, until the
 * client closes. */
static int mixed_conn(void *arg, void **result)
{
    (void)result;
    weft_sock_t *s = arg;
    char buf[LINE_CAP];
    size_t have = 0;
    for (;;) {
        char *nl = memchr(buf, '\n', have);
        if (nl == NULL) {
            if (have == sizeof buf) {
                fprintf(stderr, "bench_mixed: request line too long\n");
                break;
            }
            ssize_t n = weft_read(s, buf + have, sizeof buf - have);
            if (n < 0 && n != WEFT_ECANCELED)
                fprintf(stderr, "bench_mixed: read: %s\n", weft_strerror((int)n));
            if (n <= 0)
                break;
            have += (size_t)n;
            continue;
        }
        *nl = '\0';
        char *end;
        errno = 0;
        unsigned long long steps = strtoull(buf, &end, 10);
        int bad = errno != 0 || end == buf;
        char *rest = end;
        unsigned long long seed = strtoull(rest, &end, 10);
        bad = bad || errno != 0 || end == rest || *end != '\0';
        if (bad) {
            fprintf(stderr, "bench_mixed: bad request '%s'\n", buf);
            break;
        }
        uint64_t r = burn(steps, seed);
        char out[32];
        int len = snprintf(out, sizeof out, "%llu\n", (unsigned long long)r);
        int rc = weft_write(s, out, (size_t)len);
        if (rc < 0) {
            fprintf(stderr, "bench_mixed: write: %s\n", weft_strerror(rc));
            break;
        }
        size_t used = (size_t)(nl + 1 - buf);
        memmove(buf, nl + 1, have - used);
        have -= used;
    }
    weft_close(s);
    return 0;
}

int main(int argc, char **argv)
{
    return server_main(argc, argv, "bench_mixed", mixed_conn);
}
