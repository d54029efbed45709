/*
 * echo_server_sigint.c - the check behind the ctest entry
 * example_echo_server_sigint: starts `echo_server 0`, waits for the port it
 * prints, opens a few connections and echoes a line on each (so their
 * tasks are alive), sends SIGINT, and expects exit code 0 and the line
 * "echo_server: interrupted, stopped N tasks" with N covering the acceptor
 * and every connection.
 *
 *   echo_server_sigint PATH_TO_ECHO_SERVER
 */
#define _POSIX_C_SOURCE 200809L /* fork, kill, alarm, fdopen */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONNS 5

static int fail(const char *what)
{
    fprintf(stderr, "echo_server_sigint: %s\n", what);
    return 1;
}

/* A blocking client socket to 127.0.0.1:port that has echoed one line. */
static int connect_and_echo(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char back[6];
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        write(fd, "hello\n", 6) != 6)
        return -1;
    for (size_t got = 0; got < sizeof back;) {
        ssize_t n = read(fd, back + got, sizeof back - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return memcmp(back, "hello\n", 6) == 0 ? fd : -1;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return fail("usage: echo_server_sigint PATH_TO_ECHO_SERVER");
    alarm(60); /* a server that never stops fails the check, not the run */
    int out[2];
    if (pipe(out) != 0)
        return fail("pipe");
    pid_t pid = fork();
    if (pid < 0)
        return fail("fork");
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(argv[1], argv[1], "0", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[256];
    int port = 0;
    if (!f || !fgets(line, sizeof line, f) || sscanf(line, "listening on %d", &port) != 1) {
        kill(pid, SIGKILL);
        return fail("the server did not print its port");
    }
    int fds[CONNS];
    for (int i = 0; i < CONNS; i++) {
        if ((fds[i] = connect_and_echo(port)) < 0) {
            kill(pid, SIGKILL);
            return fail("a connection did not echo");
        }
    }
    kill(pid, SIGINT);
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return fail("waitpid");
    int stopped = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "echo_server: interrupted, stopped %d tasks", &stopped) == 1)
            fputs(line, stdout);
    for (int i = 0; i < CONNS; i++)
        close(fds[i]);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail("the server did not exit with 0");
    if (stopped < CONNS + 1)
        return fail("no line saying it stopped the acceptor and every connection");
    printf("echo_server_sigint: exit code 0 after SIGINT with %d connections open\n", CONNS);
    return 0;
}
