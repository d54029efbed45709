/*
 * watchdog.c - the blocking-task detector (weft_config_t.watchdog_ms): a
 * thread that notices a worker whose task has run longer than the
 * threshold without suspending and reports it once, with its name and its
 * stack, on stderr.
 *
 * Noticing costs the workers nothing: the thread samples counters each
 * worker already keeps (switches, inline runs, finishes, parks, steal
 * attempts); a worker whose counters stand still for the threshold is
 * either parked or stuck in one task.  To tell which, and to see the
 * stack, the thread sends the worker a signal: the handler runs on the
 * worker's own thread, where its current task and registers can be read
 * without a race, records them (weft__unwind reads memory and calls
 * nothing, so it is safe there) and raises a flag the thread waits for.
 * One watchdog runs per process, since the signal handler is global.
 */
#include "sched/fault.h"
#include "sched/internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

#define WEFT_WATCHDOG_SIGNAL SIGURG /* ignored by default, like Go's preemption signal */

struct weft__watchdog {
    struct weft_sched *sched;
    unsigned ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    struct watch {
        uint64_t progress;   /* the counters' sum when last seen moving */
        uint64_t since_ns;   /* when they last moved */
        bool reported;       /* this stall was reported */
    } *watch;
};

static _Atomic(struct weft__watchdog *) active;
static struct sigaction old_action;

static void on_probe(int signo, siginfo_t *info, void *uc_arg)
{
    (void)signo;
    (void)info;
    weft__worker_t *w = weft__self();
    if (!w)
        return;
    weft__probe_t *p = &w->probe;
    /* A signal that comes after its question timed out must not rewrite
     * the fields while the watchdog reads the answer to a later one: each
     * question is taken up once.  Handlers run one at a time on this
     * thread, so `taken` needs no atomics.  Acquire: pairs with the
     * watchdog's release store of `asked`, so our writes below come after
     * its reads of the answer to the previous question; a stale read only
     * makes a late handler skip. */
    uint32_t q = atomic_load_explicit(&p->asked, memory_order_acquire);
    if (q == p->taken)
        return;
    p->taken = q;
    weft_task_t *t = w->current;
    p->id = t ? t->id : 0;
    p->nframes = 0;
    /* The name, copied here: the task cannot end while we interrupt it. */
    const char *name = t ? atomic_load_explicit(&t->name, memory_order_relaxed) : NULL;
    size_t n = 0;
    for (; name && name[n] && n + 1 < sizeof p->name; n++)
        p->name[n] = name[n];
    p->name[n] = '\0';
#if defined(__x86_64__)
    if (t && w->fiber) {
        const ucontext_t *uc = uc_arg;
        uintptr_t lo = (uintptr_t)w->fiber->lo;
        p->nframes = weft__unwind((void *)uc->uc_mcontext.gregs[REG_RIP],
                                  (uintptr_t)uc->uc_mcontext.gregs[REG_RBP], lo,
                                  lo + w->fiber->size, p->pcs, WEFT_UNWIND_FRAMES);
    }
#else
    (void)uc_arg;
#endif
    /* Release: the watchdog reads what we wrote once it sees the answer. */
    atomic_store_explicit(&p->answered, q, memory_order_release);
}

static uint64_t progress_of(weft__worker_t *w)
{
    /* Relaxed: only whether the counters moved matters; nothing is read
     * through them. */
    return atomic_load_explicit(&w->n_switch, memory_order_relaxed) +
           atomic_load_explicit(&w->n_inline, memory_order_relaxed) +
           atomic_load_explicit(&w->n_finished, memory_order_relaxed) +
           atomic_load_explicit(&w->n_park, memory_order_relaxed) +
           atomic_load_explicit(&w->n_steal_try, memory_order_relaxed);
}

/* Asks worker w what it runs; false if it did not answer in time. */
static bool probe(weft__worker_t *w)
{
    /* Only this thread writes `asked`.  Release: the handler that takes
     * this question up (acquire) writes the fields after we are done
     * reading the previous answer (report). */
    uint32_t q = atomic_load_explicit(&w->probe.asked, memory_order_relaxed) + 1;
    atomic_store_explicit(&w->probe.asked, q, memory_order_release);
    if (pthread_kill(w->thread, WEFT_WATCHDOG_SIGNAL) != 0)
        return false;
    for (int i = 0; i < 1000; i++) { /* a second at most */
        /* Acquire: pairs with the handler's release store. */
        if (atomic_load_explicit(&w->probe.answered, memory_order_acquire) == q)
            return true;
        nanosleep(&(struct timespec){.tv_nsec = 1000 * 1000}, NULL);
    }
    return false;
}

static void report(weft__worker_t *w, uint64_t stalled_ms)
{
    weft__probe_t *p = &w->probe;
    if (!p->id)
        return; /* parked or looking for work: no task to blame */
    char dflt[32];
    snprintf(dflt, sizeof dflt, "Task-%llu", (unsigned long long)p->id);
    flockfile(stderr);
    fprintf(stderr,
            "weft: watchdog: task #%llu '%s' has run for %llu ms on worker %u without "
            "suspending (a blocking call or a long computation?)\n",
            (unsigned long long)p->id, p->name[0] ? p->name : dflt,
            (unsigned long long)stalled_ms, w->index);
    weft__print_frames(stderr, p->pcs, p->nframes);
    funlockfile(stderr);
}

static void check(struct weft__watchdog *wd, uint64_t now)
{
    struct weft_sched *s = wd->sched;
    for (unsigned i = 0; i < s->nworkers; i++) {
        weft__worker_t *w = &s->workers[i];
        struct watch *k = &wd->watch[i];
        uint64_t p = progress_of(w);
        if (p != k->progress) {
            k->progress = p;
            k->since_ns = now;
            k->reported = false;
            continue;
        }
        uint64_t stalled_ms = (now - k->since_ns) / 1000000;
        if (k->reported || stalled_ms < wd->ms)
            continue;
        k->reported = true; /* once per stall, answered or not */
        if (probe(w))
            report(w, stalled_ms);
    }
}

static void *watchdog_main(void *arg)
{
    struct weft__watchdog *wd = arg;
    uint64_t period_ns = (uint64_t)wd->ms * 1000000 / 4;
    if (period_ns < 1000000)
        period_ns = 1000000;
    pthread_mutex_lock(&wd->lock);
    while (!wd->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        uint64_t ns = (uint64_t)until.tv_nsec + period_ns;
        until.tv_sec += (time_t)(ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&wd->cond, &wd->lock, &until);
        if (wd->stop)
            break;
        pthread_mutex_unlock(&wd->lock);
        check(wd, weft__now_ns());
        pthread_mutex_lock(&wd->lock);
    }
    pthread_mutex_unlock(&wd->lock);
    return NULL;
}

int weft__watchdog_start(struct weft_sched *s, unsigned ms)
{
    struct weft__watchdog *wd = weft__fault_inject("watchdog") ? NULL : calloc(1, sizeof *wd);
    if (!wd)
        return WEFT_ENOMEM;
    wd->watch =
        weft__fault_inject("watchdog table") ? NULL : calloc(s->nworkers, sizeof *wd->watch);
    if (!wd->watch) {
        free(wd);
        return WEFT_ENOMEM;
    }
    /* seq_cst (the default): a claim of the process-wide signal handler;
     * it publishes nothing else. */
    struct weft__watchdog *none = NULL;
    if (!atomic_compare_exchange_strong(&active, &none, wd)) {
        free(wd->watch);
        free(wd);
        return WEFT_EINVAL; /* another scheduler has it */
    }
    wd->sched = s;
    wd->ms = ms;
    uint64_t now = weft__now_ns();
    for (unsigned i = 0; i < s->nworkers; i++)
        wd->watch[i].since_ns = now;
    pthread_mutex_init(&wd->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wd->cond, &ca);
    pthread_condattr_destroy(&ca);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_probe;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(WEFT_WATCHDOG_SIGNAL, &sa, &old_action);
    if (pthread_create(&wd->thread, NULL, watchdog_main, wd) != 0) {
        sigaction(WEFT_WATCHDOG_SIGNAL, &old_action, NULL);
        pthread_cond_destroy(&wd->cond);
        pthread_mutex_destroy(&wd->lock);
        atomic_store(&active, NULL);
        free(wd->watch);
        free(wd);
        return WEFT_ENOMEM;
    }
    s->watchdog = wd;
    return 0;
}

void weft__watchdog_stop(struct weft_sched *s)
{
    struct weft__watchdog *wd = s->watchdog;
    if (!wd)
        return;
    pthread_mutex_lock(&wd->lock);
    wd->stop = true;
    pthread_cond_signal(&wd->cond);
    pthread_mutex_unlock(&wd->lock);
    pthread_join(wd->thread, NULL);
    /* The workers are still running: a probe already sent is handled
     * before the handler goes (the watchdog waited for its answer). */
    sigaction(WEFT_WATCHDOG_SIGNAL, &old_action, NULL);
    pthread_cond_destroy(&wd->cond);
    pthread_mutex_destroy(&wd->lock);
    atomic_store(&active, NULL);
    free(wd->watch);
    free(wd);
    s->watchdog = NULL;
}
