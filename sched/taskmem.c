/*
 * taskmem.c - task objects: allocated in chunks, recycled through
 * per-worker free lists (no lock, no malloc on spawn in the steady state),
 * and never returned to the system while the scheduler lives.
 *
 * Keeping the memory lets weft_stop walk every task ever made without a
 * registry on the hot path.  The walker takes no reference: it only reads
 * the state word and cancels what is unfinished, and cancelling is safe on
 * any task memory (a task freed meanwhile is reset when it is reused, and a
 * wait is interrupted only under the claim, which only a task really
 * waiting can give).  So a task's last owner may free it with plain stores
 * (api/task.c, weft__task_unref).
 *
 * Threads that are not workers (weft_submit, weft_block_on) use a shared
 * list under a lock.  A worker whose free list grows past WEFT_FREE_LOCAL
 * (tasks spawned elsewhere and finished here) gives half back to it.
 *
 * With WEFT_DEBUG_CHECKS a freed task waits in a quarantine before it is
 * reused, and the checks that report a released handle live here too.
 */
#include "sched/fault.h"
#include "sched/internal.h"

#include <stdlib.h>
#include <string.h>

#define WEFT_CHUNK_TASKS 256
#define WEFT_FREE_LOCAL 4096

struct weft__chunk {
    struct weft__chunk *next;
    weft_task_t tasks[WEFT_CHUNK_TASKS];
};

static weft_task_t *link_of(weft_task_t *t)
{
    return (weft_task_t *)atomic_load_explicit(&t->qnode.next, memory_order_relaxed);
}

static void set_link(weft_task_t *t, weft_task_t *next)
{
    atomic_store_explicit(&t->qnode.next, (weft__mpsc_node_t *)next, memory_order_relaxed);
}

#ifdef WEFT_DEBUG_CHECKS
/*
 * The quarantine of WEFT_DEBUG_CHECKS: a task whose last reference is gone
 * is marked dead and kept, name and id included, while the next
 * WEFT_QUARANTINE tasks die, so that a caller still using it is caught
 * instead of reaching a reused record.  One FIFO for every scheduler under
 * a plain mutex: a debug build pays a lock per task freed.
 */
#define WEFT_QUARANTINE 4096

static pthread_mutex_t quarantine_lock = PTHREAD_MUTEX_INITIALIZER;
static weft_task_t *quarantine[WEFT_QUARANTINE]; /* a ring, oldest at head */
static size_t quarantine_head, quarantine_len;

/* Marks t dead and keeps it; returns the oldest kept task once the ring is
 * full (to be reused now), else NULL. */
static weft_task_t *quarantine_put(weft_task_t *t)
{
    /* Relaxed: the mark is read by a caller that holds no reference, so
     * there is no edge to build; the quarantine lock below publishes it to
     * whoever takes the record out. */
    atomic_store_explicit(&t->dead, 1, memory_order_relaxed);
    weft_task_t *oldest = NULL;
    pthread_mutex_lock(&quarantine_lock);
    if (quarantine_len == WEFT_QUARANTINE) {
        oldest = quarantine[quarantine_head];
        quarantine[quarantine_head] = t;
        quarantine_head = (quarantine_head + 1) % WEFT_QUARANTINE;
    } else {
        quarantine[(quarantine_head + quarantine_len++) % WEFT_QUARANTINE] = t;
    }
    pthread_mutex_unlock(&quarantine_lock);
    return oldest;
}

/* Drops s's tasks from the quarantine: their chunks are about to go. */
static void quarantine_forget(struct weft_sched *s)
{
    pthread_mutex_lock(&quarantine_lock);
    size_t kept = 0;
    for (size_t i = 0; i < quarantine_len; i++) {
        weft_task_t *t = quarantine[(quarantine_head + i) % WEFT_QUARANTINE];
        if (t->sched != s)
            quarantine[(quarantine_head + kept++) % WEFT_QUARANTINE] = t;
    }
    quarantine_len = kept;
    pthread_mutex_unlock(&quarantine_lock);
}

/* Prints the caller's bug and aborts, like the overflow report. */
static _Noreturn void report_dead(const weft_task_t *t, const char *fn, const char *what)
{
    char name[128];
    weft__task_name_into((weft_task_t *)t, name, sizeof name);
    fprintf(stderr, "weft: %s: task '%s' (#%llu) %s\n", fn, name, (unsigned long long)t->id,
            what);
    fflush(stderr);
    abort();
}

void weft__task_check(const weft_task_t *t, const char *fn)
{
    /* Relaxed: see quarantine_put; a caller using a record it holds no
     * reference to has no edge to rely on, and the mark only diagnoses. */
    if (t && atomic_load_explicit(&((weft_task_t *)t)->dead, memory_order_relaxed))
        report_dead(t, fn, "used after its last release");
}

void weft__task_check_n(weft_task_t *const *tasks, size_t n, const char *fn)
{
    for (size_t i = 0; tasks && i < n; i++)
        weft__task_check(tasks[i], fn);
}

void weft__task_check_release(const weft_task_t *t)
{
    /* Dead, or only the scheduler's reference (held until it is done) is
     * left: the caller owns none. */
    weft_task_t *task = (weft_task_t *)t;
    uint64_t st = atomic_load_explicit(&task->state, memory_order_relaxed);
    if (atomic_load_explicit(&task->dead, memory_order_relaxed) ||
        (!(st & WEFT_TS_DONE) && WEFT_TS_REFS(st) <= 1))
        report_dead(t, "weft_task_release", "released twice");
}
#endif

int weft__taskmem_init(struct weft_sched *s)
{
    weft__taskmem_t *m = &s->taskmem;
    pthread_mutex_init(&m->lock, NULL);
    m->free = NULL;
    m->chunks = NULL;
    atomic_init(&m->spawned_foreign, 0);
    return 0;
}

void weft__taskmem_destroy(struct weft_sched *s)
{
    weft__taskmem_t *m = &s->taskmem;
#ifdef WEFT_DEBUG_CHECKS
    quarantine_forget(s);
#endif
    for (struct weft__chunk *c = m->chunks, *next; c; c = next) {
        next = c->next;
        for (int i = 0; i < WEFT_CHUNK_TASKS; i++)
            free(atomic_load_explicit(&c->tasks[i].name, memory_order_relaxed));
        free(c);
    }
    pthread_mutex_destroy(&m->lock);
}

/* Takes up to n tasks from the shared list, making a chunk if it is empty.
 * Returns them linked (*got of them), or NULL when out of memory. */
static weft_task_t *refill(struct weft_sched *s, unsigned n, unsigned *got)
{
    weft__taskmem_t *m = &s->taskmem;
    pthread_mutex_lock(&m->lock);
    if (!m->free) {
        struct weft__chunk *c = weft__fault_inject("task chunk") ? NULL : calloc(1, sizeof *c);
        if (c) {
            c->next = m->chunks;
            m->chunks = c;
            for (int i = WEFT_CHUNK_TASKS - 1; i >= 0; i--) {
                weft_task_t *t = &c->tasks[i];
                /* Timer fields outlive a task: a removal may still be on
                 * its way to the I/O thread when the memory is reused. */
                weft__timer_init(&t->timer, s, weft__task_timer_fire);
                set_link(t, m->free);
                m->free = t;
            }
        }
    }
    weft_task_t *first = m->free, *last = first;
    *got = first != NULL;
    for (; last && *got < n && link_of(last); ++*got)
        last = link_of(last);
    if (last) {
        m->free = link_of(last);
        set_link(last, NULL);
    }
    pthread_mutex_unlock(&m->lock);
    return first;
}

weft_task_t *weft__task_alloc(struct weft_sched *s, weft__worker_t *w)
{
    weft_task_t *t;
    unsigned got;
    if (w) {
        if (WEFT_UNLIKELY(!w->free_tasks)) {
            w->free_tasks = refill(s, WEFT_CHUNK_TASKS, &got);
            w->nfree_tasks = got;
        }
        t = w->free_tasks;
        if (t) {
            w->free_tasks = link_of(t);
            w->nfree_tasks--;
        }
    } else {
        t = refill(s, 1, &got);
    }
    if (!t)
        return NULL;
    t->sched = s;
#ifdef WEFT_DEBUG_CHECKS
    atomic_store_explicit(&t->dead, 0, memory_order_relaxed); /* ours alone */
#endif
    return t;
}

void weft__task_free(weft_task_t *t)
{
#ifdef WEFT_DEBUG_CHECKS
    if (!(t = quarantine_put(t)))
        return;
#endif
    /* Nobody holds the task: plain accesses would do, the atomics are
     * only for the walkers that read names of live tasks. */
    char *name = atomic_load_explicit(&t->name, memory_order_relaxed);
    if (WEFT_UNLIKELY(name != NULL)) {
        free(name);
        atomic_store_explicit(&t->name, NULL, memory_order_relaxed);
    }
    struct weft_sched *s = t->sched;
    weft__worker_t *w = weft__self();
    if (w && w->sched == s) {
        set_link(t, w->free_tasks);
        w->free_tasks = t;
        if (WEFT_LIKELY(++w->nfree_tasks < WEFT_FREE_LOCAL))
            return;
        /* Give half back, so tasks made on one worker and finished on
         * another do not pile up on the second. */
        weft_task_t *last = t;
        for (unsigned i = 1; i < WEFT_FREE_LOCAL / 2; i++)
            last = link_of(last);
        w->free_tasks = link_of(last);
        w->nfree_tasks -= WEFT_FREE_LOCAL / 2;
        pthread_mutex_lock(&s->taskmem.lock);
        set_link(last, s->taskmem.free);
        s->taskmem.free = t;
        pthread_mutex_unlock(&s->taskmem.lock);
        return;
    }
    pthread_mutex_lock(&s->taskmem.lock);
    set_link(t, s->taskmem.free);
    s->taskmem.free = t;
    pthread_mutex_unlock(&s->taskmem.lock);
}

void weft__task_foreach_live(struct weft_sched *s, void (*fn)(weft_task_t *, void *),
                             void *ctx)
{
    weft__taskmem_t *m = &s->taskmem;
    pthread_mutex_lock(&m->lock);
    struct weft__chunk *chunks = m->chunks; /* chunks are only ever added */
    pthread_mutex_unlock(&m->lock);
    for (struct weft__chunk *c = chunks; c; c = c->next) {
        for (int i = 0; i < WEFT_CHUNK_TASKS; i++) {
            weft_task_t *t = &c->tasks[i];
            uint64_t st = atomic_load_explicit(&t->state, memory_order_acquire);
            if (WEFT_TS_REFS(st) != 0 && !(st & WEFT_TS_DONE))
                fn(t, ctx);
        }
    }
}

uint64_t weft__tasks_live(struct weft_sched *s)
{
    /* Finished counts first: a task counted finished was counted spawned
     * before, so the difference never goes negative. */
    uint64_t finished = 0, spawned = 0;
    for (unsigned i = 0; i < s->nworkers; i++)
        finished += atomic_load_explicit(&s->workers[i].n_finished, memory_order_acquire);
    for (unsigned i = 0; i < s->nworkers; i++)
        spawned += atomic_load_explicit(&s->workers[i].n_spawn, memory_order_acquire);
    spawned += atomic_load_explicit(&s->taskmem.spawned_foreign, memory_order_acquire);
    return spawned - finished;
}
