/*
 * dump.c - weft_dump, for people: every live task with its id, name,
 * parent, spawn site, what it waits on and, when it is suspended, its
 * stack; and the WEFT_DUMP_SIGNAL thread that prints it on a signal.
 *
 * It walks task memory as weft_stop does (taskmem.c), takes a reference on
 * each task it shows, and reads a task's wait record and stack only while
 * it holds the task suspended with a canceller's claim (weft__hold), so
 * the task cannot resume under it.  It runs no task code and takes no lock
 * a task could hold; a task woken meanwhile is queued when the claim is
 * dropped.
 */
#include "sched/internal.h"
#include "sched/multi.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct dump {
    FILE *f;
    int n;
};

/* "0xADDR (file+0xOFF symbol+0xOFF)": file+offset is what addr2line -e wants. */
static void print_address(FILE *f, void *addr)
{
    Dl_info info = {0};
    fprintf(f, "%p", addr);
    if (!dladdr(addr, &info) || !info.dli_fname)
        return;
    const char *file = info.dli_fname, *sym = info.dli_sname;
    uintptr_t base = (uintptr_t)info.dli_fbase, at = (uintptr_t)info.dli_saddr;
    fprintf(f, " (%s+0x%" PRIxPTR, file, (uintptr_t)addr - base);
    if (sym)
        fprintf(f, " %s+0x%" PRIxPTR, sym, (uintptr_t)addr - at);
    fputc(')', f);
}

/* Frames print as "#k 0xADDR (file+0xOFF)", one per line. */
void weft__print_frames(FILE *f, void *const *pcs, int n)
{
    for (int k = 0; k < n; k++) {
        fprintf(f, "      #%d ", k);
        print_address(f, pcs[k]);
        fputc('\n', f);
    }
}

static void print_stack(FILE *f, weft__fiber_t *fb)
{
    void *pcs[WEFT_UNWIND_FRAMES];
    int n = weft__unwind_saved(fb, pcs, WEFT_UNWIND_FRAMES);
    if (n == 0)
        fprintf(f, "      (no frames: stacks unwind with the x86_64 context switch only)\n");
    weft__print_frames(f, pcs, n);
}

/* What a held (suspended) task waits on; its wait record is stable. */
static void print_wait(FILE *f, weft_task_t *t)
{
    switch (atomic_load_explicit(&t->wait_kind, memory_order_relaxed)) {
    case WEFT_WAIT_TASK:
        if (t->inline_marked)
            fprintf(f, "waiting: awaiting task #%" PRIu64 ", which runs on its stack",
                    t->awaiting->id);
        else
            fprintf(f, "waiting: awaiting task #%" PRIu64, t->awaiting->id);
        return;
    case WEFT_WAIT_SLEEP: {
        uint64_t now = weft__now_ns();
        uint64_t left = t->sleep_until > now ? t->sleep_until - now : 0;
        fprintf(f, "waiting: timer due in %.3f ms", (double)left / 1e6);
        return;
    }
    case WEFT_WAIT_MULTI:
        fprintf(f, "waiting: on %zu tasks (gather, wait, wait_for, shield or join), %zu pending",
                t->multi->n, atomic_load_explicit(&t->multi->pending, memory_order_relaxed));
        return;
    case WEFT_WAIT_NEXT:
        fprintf(f, "waiting: as_completed");
        return;
    case WEFT_WAIT_OBJ:
        fprintf(f, "waiting: %s", atomic_load_explicit(&t->wait_ops, memory_order_relaxed)->what);
        return;
    }
    fprintf(f, "waiting");
}

/* A reference, unless the task is finishing or gone. */
bool weft__task_try_ref(weft_task_t *t)
{
    uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
    while (WEFT_TS_REFS(s) != 0 && !(s & WEFT_TS_DONE)) {
        /* Acquire: the fields weft__task_new published before its release. */
        if (atomic_compare_exchange_weak_explicit(&t->state, &s, s + WEFT_TS_REF,
                                                  memory_order_acquire, memory_order_acquire))
            return true;
    }
    return false;
}

static void dump_one(weft_task_t *t, void *ctx)
{
    struct dump *d = ctx;
    if (!weft__task_try_ref(t))
        return;
    char name[64];
    weft__task_name_into(t, name, sizeof name);
    fprintf(d->f, "  #%" PRIu64 " '%s': ", t->id, name);
    bool held = weft__hold(t);
    if (held)
        print_wait(d->f, t);
    else
        fprintf(d->f, "runnable or running");
    if (weft__cancel_pending(t, memory_order_relaxed))
        fprintf(d->f, ", cancel pending");
    fputc('\n', d->f);
    if (t->parent_id)
        fprintf(d->f, "    spawned by #%" PRIu64 " at ", t->parent_id);
    else
        fprintf(d->f, "    submitted from a thread at ");
    print_address(d->f, t->spawn_site);
    fputc('\n', d->f);
    /* An inline parent's frames sit under its child's: shown there. */
    if (held && t->fiber && !t->inline_marked)
        print_stack(d->f, t->fiber);
    if (held)
        weft__unhold(t);
    weft__task_unref(t);
    d->n++;
}

int weft_dump(FILE *f)
{
    struct weft_sched *s = weft__caller_sched();
    if (!f || !s)
        return WEFT_EINVAL;
    return weft__dump_sched(s, f);
}

int weft__dump_sched(struct weft_sched *s, FILE *f)
{
    struct dump d = {.f = f};
    fprintf(f, "weft: live tasks\n");
    weft__task_foreach_live(s, dump_one, &d);
    fflush(f);
    return d.n;
}

/* ---- WEFT_DUMP_SIGNAL ------------------------------------------------------
 * A signal handler may only do async-signal-safe things: it writes a byte
 * to a pipe, and a thread of ours reads it and prints the dump. */

static int dump_pipe[2] = {-1, -1};
static pthread_t dump_thread;
static int dump_signo;
static struct weft_sched *dump_owner; /* the scheduler that installed it */
static struct sigaction dump_old_action;

static void on_dump_signal(int signo)
{
    (void)signo;
    int saved = errno;
    char c = 'd';
    ssize_t n = write(dump_pipe[1], &c, 1);
    (void)n; /* a full pipe already has a dump coming */
    errno = saved;
}

static void *dump_main(void *arg)
{
    (void)arg;
    char c;
    while (read(dump_pipe[0], &c, 1) == 1 && c == 'd')
        weft_dump(stderr);
    return NULL;
}

/* "USR1", "SIGUSR1" or a number; 0 if it names no signal we may take. */
static int parse_signal(const char *v)
{
    if (strncmp(v, "SIG", 3) == 0)
        v += 3;
    if (strcmp(v, "USR1") == 0)
        return SIGUSR1;
    if (strcmp(v, "USR2") == 0)
        return SIGUSR2;
    if (strcmp(v, "QUIT") == 0)
        return SIGQUIT;
    char *end;
    long n = strtol(v, &end, 10);
    if (*v && !*end && n > 0 && n < NSIG && n != SIGKILL && n != SIGSTOP && n != SIGSEGV)
        return (int)n;
    return 0;
}

/* Installs the handler if WEFT_DUMP_SIGNAL asks for one and no other
 * scheduler has it.  Called by weft_start. */
void weft__dump_signal_start(struct weft_sched *s)
{
    const char *v = getenv("WEFT_DUMP_SIGNAL");
    if (!v || !*v || dump_signo)
        return;
    int signo = parse_signal(v);
    if (!signo) {
        fprintf(stderr, "weft: WEFT_DUMP_SIGNAL='%s' names no usable signal; ignored\n", v);
        return;
    }
    if (pipe2(dump_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return;
    /* The reader blocks; only the handler's end must never block. */
    fcntl(dump_pipe[0], F_SETFL, 0);
    if (pthread_create(&dump_thread, NULL, dump_main, NULL) != 0) {
        close(dump_pipe[0]);
        close(dump_pipe[1]);
        return;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_dump_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(signo, &sa, &dump_old_action);
    dump_signo = signo;
    dump_owner = s;
}

/* Called by weft_stop before the scheduler goes away. */
void weft__dump_signal_stop(struct weft_sched *s)
{
    if (!dump_signo || dump_owner != s)
        return;
    sigaction(dump_signo, &dump_old_action, NULL);
    char c = 'q';
    ssize_t n = write(dump_pipe[1], &c, 1);
    (void)n;
    pthread_join(dump_thread, NULL);
    close(dump_pipe[0]);
    close(dump_pipe[1]);
    dump_signo = 0;
    dump_owner = NULL;
}
