/*
 * death.h - what the death tests share: running code in a forked child
 * that is expected to die, with its stderr captured.  Include after
 * <cmocka.h>.
 */
#ifndef WEFT_TEST_DEATH_H
#define WEFT_TEST_DEATH_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Runs child(arg) in a forked child with stderr going to a pipe, no core
 * file and none of cmocka's signal handlers; a child that returns exits
 * with 3.  Returns what the child wrote on stderr (free it) and stores its
 * wait status.
 */
static char *run_in_child(void (*child)(const void *arg), const void *arg, int *status)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        close(fd[1]);
        setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
        int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            signal(sigs[i], SIG_DFL);
        child(arg);
        _exit(3);
    }
    close(fd[1]);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    ssize_t n;
    while ((n = read(fd[0], out + len, cap - 1 - len)) > 0) {
        len += (size_t)n;
        if (len == cap - 1) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
    }
    out[len] = '\0';
    close(fd[0]);
    assert_int_equal(waitpid(pid, status, 0), pid);
    return out;
}

#endif /* WEFT_TEST_DEATH_H */
