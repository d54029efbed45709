/*
 * runtime.c - a scheduler's life: weft_start, weft_submit, weft_block_on,
 * weft_stop, weft_run, weft_stats, and what each of its threads does first
 * and last (pinning, the thread hooks of weft_config_t).
 */
#include "sched/fault.h"
#include "sched/internal.h"
#include "sched/io_blocking.h"

#include <stdio.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WEFT_MIN_STACK_CFG (16 * 1024)
#define WEFT_MAX_STACK_CFG ((size_t)1 << 30)

/* The scheduler weft_stats reports on outside tasks. */
static _Atomic(weft_sched_t *) latest_sched;

static weft_sched_t *fail(int rc)
{
    weft__set_last_error(rc);
    return NULL;
}

#define WEFT_KNOWN_FLAGS                                                                  \
    (WEFT_STACK_MPROTECT | WEFT_STACK_CANARY | WEFT_MEASURE_SLICES | WEFT_PIN_WORKERS)

void weft__thread_begin(weft_sched_t *s, unsigned index)
{
    /* Pinned before the hook, so the hook sees the CPU it will run on. */
    if ((s->flags & WEFT_PIN_WORKERS) && index != WEFT_IO_THREAD) {
        int rc = weft__pin_self(index);
        if (rc != 0)
            fprintf(stderr, "weft: worker %u could not be pinned (%s); it runs unpinned\n", index,
                    weft_strerror(rc));
    }
    if (s->on_thread_start)
        s->on_thread_start(index, s->hook_arg);
    /* Release: pairs with the acquire in wait_thread_starts, so what the
     * hook wrote is visible to weft_start's caller and the tasks it
     * submits. */
    atomic_fetch_add_explicit(&s->threads_started, 1, memory_order_release);
    weft__futex_wake(&s->threads_started);
}

void weft__thread_end(weft_sched_t *s, unsigned index)
{
    if (s->on_thread_stop)
        s->on_thread_stop(index, s->hook_arg);
}

/* Waits until every worker and the I/O thread has run its start hook. */
static void wait_thread_starts(weft_sched_t *s)
{
    uint32_t want = s->nworkers + 1, seen;
    while ((seen = atomic_load_explicit(&s->threads_started, memory_order_acquire)) < want)
        weft__futex_wait(&s->threads_started, seen);
}

weft_sched_t *weft_start(const weft_config_t *cfg)
{
    weft_config_t c = cfg ? *cfg : (weft_config_t){0};
    if (c.workers > WEFT_MAX_WORKERS || (c.flags & ~WEFT_KNOWN_FLAGS) ||
        (c.stack_size && (c.stack_size < WEFT_MIN_STACK_CFG || c.stack_size > WEFT_MAX_STACK_CFG)))
        return fail(WEFT_EINVAL);
    unsigned nworkers = c.workers;
    if (nworkers == 0) {
        int rc = weft__default_workers(&nworkers);
        if (rc != 0)
            return fail(rc);
    }
    weft_sched_t *s = weft__fault_inject("scheduler") ? NULL : calloc(1, sizeof *s);
    if (!s)
        return fail(WEFT_ENOMEM);
    s->nworkers = nworkers;
    s->on_thread_start = c.on_thread_start;
    s->on_thread_stop = c.on_thread_stop;
    s->hook_arg = c.hook_arg;
    atomic_init(&s->threads_started, 0);
    long page = sysconf(_SC_PAGESIZE);
    size_t stack = c.stack_size ? c.stack_size : WEFT_DEFAULT_STACK;
    s->stack_size = (stack + (size_t)page - 1) / (size_t)page * (size_t)page;
    s->flags = c.flags;
    size_t bytes = s->nworkers * sizeof(weft__worker_t);
    s->workers = weft__fault_inject("workers") ? NULL : aligned_alloc(WEFT_CACHELINE, bytes);
    if (!s->workers)
        goto fail_workers;
    memset(s->workers, 0, bytes);
    for (unsigned i = 0; i < s->nworkers; i++) {
        weft__worker_t *w = &s->workers[i];
        weft__deque_init(&w->deque);
        atomic_init(&w->next, NULL);
        w->sched = s;
        w->index = i;
        w->rng = 0x9E3779B97F4A7C15ull * (i + 1);
    }
    weft__inject_init(&s->inject);
    if (weft__park_init(s) != 0)
        goto fail_park;
    weft__stacks_init(s);
    weft__taskmem_init(s);
    if (weft__io_start(s) != 0)
        goto fail_io;
    if (weft__workers_start(s) != 0)
        goto fail_threads;
    /* With a start hook, weft_start returns after it has returned on every
     * thread, so what the hooks set up is there before any task runs.
     * Without one there is nothing to wait for: a worker that starts late
     * merely finds its work late. */
    if (s->on_thread_start)
        wait_thread_starts(s);
    atomic_store(&latest_sched, s);
    weft__dump_signal_start(s);
    if (c.watchdog_ms && weft__watchdog_start(s, c.watchdog_ms) != 0)
        fprintf(stderr, "weft: the watchdog could not start (another scheduler has it, or "
                        "no memory); this scheduler runs without one\n");
    return s;

fail_threads:
    weft__io_stop(s);
fail_io:
    weft__taskmem_destroy(s);
    weft__stacks_destroy(s);
    weft__park_destroy(s);
fail_park:
    free(s->workers);
fail_workers:
    free(s);
    return fail(WEFT_ENOMEM);
}

weft_task_t *weft_submit(weft_sched_t *s, weft_fn fn, void *arg)
{
    if (!s || !fn) {
        weft__set_last_error(WEFT_EINVAL);
        return NULL;
    }
    if (atomic_load_explicit(&s->stopping, memory_order_acquire)) {
        weft__set_last_error(WEFT_ESHUTDOWN);
        return NULL;
    }
    weft_task_t *t = weft__task_new(s, NULL, fn, arg, NULL, __builtin_return_address(0));
    if (!t)
        return NULL;
    atomic_fetch_add_explicit(&s->taskmem.spawned_foreign, 1, memory_order_relaxed);
    weft__inject_push(s, t, t);
    return t;
}

int weft_block_on(weft_task_t *t, void **result)
{
    WEFT_CHECK_TASK(t);
    if (!t)
        return WEFT_EINVAL;
    if (weft__self()) /* blocking a worker thread could deadlock the scheduler */
        return WEFT_EPERM;
    weft__waiter_t node = {.next = NULL, .task = NULL};
    atomic_init(&node.futex, 0);
    if (!weft__add_waiter(t, &node)) {
        /* Acquire: pairs with the finisher's release store, made after it
         * published rc and result. */
        while (!atomic_load_explicit(&node.futex, memory_order_acquire))
            weft__futex_wait(&node.futex, 0);
    }
    if (result)
        *result = t->result;
    return t->rc;
}

static void cancel_live(weft_task_t *t, void *ctx)
{
    (void)ctx;
    weft__cancel(t);
}

static void count_live(weft_task_t *t, void *ctx)
{
    (void)t;
    ++*(uint64_t *)ctx;
}

static uint64_t unfinished(weft_sched_t *s)
{
    if (weft__tasks_live(s) != 0)
        return 1;
    uint64_t n = 0; /* the counters say none: confirm task by task */
    weft__task_foreach_live(s, count_live, &n);
    return n;
}

/* How long weft_stop waits before it says what for: WEFT_STOP_REPORT_MS
 * (0: never), default 5 s. */
static double stop_report_ms(void)
{
    const char *v = getenv("WEFT_STOP_REPORT_MS");
    char *end;
    double ms = v && *v ? strtod(v, &end) : 5000;
    return v && *v && (*end != '\0' || ms < 0) ? 5000 : ms;
}

int weft_stop(weft_sched_t *s)
{
    if (!s)
        return WEFT_EINVAL;
    if (weft__self())
        return WEFT_EPERM;
    /* It would wait for the very call it runs in. */
    if (weft__blocking_caller_sched() == s)
        return WEFT_EDEADLK;
    if (atomic_exchange(&s->stopping, 1))
        return WEFT_ESHUTDOWN; /* another thread is stopping it */
    weft__dump_signal_stop(s);
    weft__watchdog_stop(s);
    /* From here no task starts and no new wait begins; cancel the waits
     * already under way and wait for every task to finish. */
    weft__task_foreach_live(s, cancel_live, NULL);
    struct timespec pause = {0, 20000};
    double waited_ms = 0, report_ms = stop_report_ms();
    while (unfinished(s) != 0) {
        nanosleep(&pause, NULL);
        waited_ms += pause.tv_nsec / 1e6;
        if (pause.tv_nsec < 1000000)
            pause.tv_nsec *= 2;
        if (report_ms > 0 && waited_ms >= report_ms) {
            /* Once: a task that ignores its cancel (a loop that never
             * reaches a suspension point, a blocking call) is named. */
            report_ms = 0;
            fprintf(stderr, "weft_stop: still waiting after %.0f ms for %" PRIu64
                            " task(s) to finish:\n",
                    waited_ms, weft__tasks_live(s));
            weft__dump_sched(s, stderr);
        }
    }
    weft__workers_join(s);
    weft__io_stop(s);
    weft_sched_t *expect = s;
    atomic_compare_exchange_strong(&latest_sched, &expect, NULL);
    weft__taskmem_destroy(s);
    weft__stacks_destroy(s);
    weft__park_destroy(s);
    free(s->workers);
    free(s);
    return 0;
}

int weft_run(const weft_config_t *cfg, weft_fn main, void *arg, void **result)
{
    if (!main)
        return WEFT_EINVAL;
    if (weft__self())
        return WEFT_EPERM;
    weft_sched_t *s = weft_start(cfg);
    if (!s)
        return weft_last_error();
    weft_task_t *t = weft_submit(s, main, arg);
    int rc = t ? weft_block_on(t, result) : weft_last_error();
    weft_task_release(t);
    weft_stop(s);
    return rc;
}

weft_sched_t *weft__caller_sched(void)
{
    weft__worker_t *w = weft__self();
    return w ? w->sched : atomic_load(&latest_sched);
}

int weft_stats(weft_stats_t *out)
{
    weft_sched_t *s = weft__caller_sched();
    if (!out || !s)
        return WEFT_EINVAL;
    memset(out, 0, sizeof *out);
    out->workers = s->nworkers;
    for (unsigned i = 0; i < s->nworkers; i++) {
        weft__worker_t *v = &s->workers[i];
        weft_worker_stats_t *o = &out->worker[i];
        o->spawns = atomic_load_explicit(&v->n_spawn, memory_order_relaxed);
        o->steals = atomic_load_explicit(&v->n_steal, memory_order_relaxed);
        o->steal_attempts = atomic_load_explicit(&v->n_steal_try, memory_order_relaxed);
        o->parks = atomic_load_explicit(&v->n_park, memory_order_relaxed);
        o->wakeups = atomic_load_explicit(&v->n_wake, memory_order_relaxed);
        o->injector_pops = atomic_load_explicit(&v->n_inject, memory_order_relaxed);
        o->inline_awaits = atomic_load_explicit(&v->n_inline, memory_order_relaxed);
        o->switches = atomic_load_explicit(&v->n_switch, memory_order_relaxed);
        o->longest_slice_ns = atomic_load_explicit(&v->longest_slice_ns, memory_order_relaxed);
    }
    out->tasks_live = weft__tasks_live(s);
    out->stacks_in_use = atomic_load_explicit(&s->stacks.in_use, memory_order_relaxed);
    out->stacks_mapped = atomic_load_explicit(&s->stacks.mapped, memory_order_relaxed);
    /* Relaxed: counters read for a report; they order nothing. */
    out->timers_armed = atomic_load_explicit(&s->timers_armed, memory_order_relaxed);
    out->sockets_open = atomic_load_explicit(&s->sockets_open, memory_order_relaxed);
    out->blocking_in_flight = atomic_load_explicit(&s->blocking_in_flight, memory_order_relaxed);
    out->lookups_in_flight = atomic_load_explicit(&s->lookups_in_flight, memory_order_relaxed);
    return 0;
}
