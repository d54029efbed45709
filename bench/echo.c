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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

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

int main(int argc, char **argv)
{
    return server_main(argc, argv, "bench_echo", echo_conn);
}
