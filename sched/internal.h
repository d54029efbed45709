/*
 * internal.h - the runtime's shared structures: task, fiber, worker and
 * scheduler, and the functions the sched/ files offer each other and api/.
 * Nothing here is public; the public contract is api/weft.h.
 */
#ifndef WEFT_INTERNAL_H
#define WEFT_INTERNAL_H

#include "api/weft.h"
#include "sched/coro.h"
#include "sched/deque.h"
#include "sched/mpsc.h"

#include <ck_ec.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define WEFT_CACHELINE 64
#define WEFT_DEFAULT_STACK (64 * 1024)
/* weft calls a task may make in one run slice without having to wait
 * before it yields (Tokio's budget: see weft__budget_spend). */
#define WEFT_BUDGET 128

typedef struct weft__worker weft__worker_t;
typedef struct weft__fiber weft__fiber_t;
typedef struct weft__io weft__io_t;

/* ---- waiting ---------------------------------------------------------------
 * A suspended task is woken exactly once.  Its wstate word decides races
 * between the waker (a completion, a timer), a canceller that interrupts the
 * wait and the task's own arming after it has switched out:
 *   WAITING  set after the task's context is saved and its wait registered;
 *   WAKE     set by the (first) waker;
 *   CLAIM    held by a canceller while it interrupts the wait, which keeps
 *            the task (and the wait record on its stack) where it is.
 * Whoever completes WAITING+WAKE without CLAIM, or drops CLAIM after WAKE,
 * makes the task runnable. */
enum { WEFT_W_WAITING = 1u, WEFT_W_WAKE = 2u, WEFT_W_CLAIM = 4u };

/* What a suspended task waits on, for cancellation and for weft_dump. */
enum weft__wait_kind {
    WEFT_WAIT_NONE,
    WEFT_WAIT_TASK,   /* weft_await: a cancel is forwarded */
    WEFT_WAIT_SLEEP,  /* weft_sleep: a cancel stops the timer */
    WEFT_WAIT_MULTI,  /* sched/multi.c */
    WEFT_WAIT_NEXT,   /* weft_as_completed_next: a cancel ends the wait */
    WEFT_WAIT_OBJ,    /* a wait object's queue (channel, lock, socket, ...) */
};

/* A wait object (channel, event, semaphore, mutex, socket, blocking call):
 * what weft_cancel and weft_dump need of it.  The waiting task sets
 * wait_ops and wait_obj, registers itself on the object and suspends with
 * weft__wait_begin / weft__wait_suspend (worker.c); whoever completes the
 * wait sets wait_rc and calls weft__wake exactly once. */
typedef struct weft__wait_ops {
    /* Called by a canceller while it holds the task's claim (the task stays
     * suspended, its wait record in place).  If the wait is still
     * registered, withdraw it, set wait_rc to WEFT_ECANCELED and call
     * weft__wake(t); if a completer has already taken it, do nothing: its
     * wake-up ends the wait and the cancel stays pending for the next
     * suspension point.  Returns nothing: one attempt is enough. */
    void (*interrupt)(weft_task_t *t);
    /* For weft_dump: what the task waits on ("channel receive", ...). */
    const char *what;
} weft__wait_ops_t;

struct weft__multi;

/* A registration on a task's list of awaiters: a task to wake, a thread
 * to wake, or a callback (a multi-wait's entry, an as_completed entry). */
typedef struct weft__waiter {
    struct weft__waiter *next;
    weft_task_t *task;          /* the awaiting task, or NULL */
    void (*fire)(struct weft__waiter *); /* or a callback, run by the finisher */
    void *ctx;                  /* the callback's: its multi-wait or iterator */
    weft_task_t *child;         /* the task it is registered on (callbacks) */
    weft__mpsc_node_t qnode;    /* for the callback's own queue */
    _Atomic uint32_t futex;     /* 1 once woken (thread) or fired (callback) */
} weft__waiter_t;

/* A request to the I/O thread, embedded where it lives (task, io). */
enum weft__io_kind {
    WEFT_IO_TIMER_ARM,
    WEFT_IO_TIMER_REMOVE,
    WEFT_IO_TIMER_FREE,
    WEFT_IO_CALL, /* run req->call on the I/O thread (sockets, offload) */
    WEFT_IO_STOP
};
typedef struct weft__io_req {
    weft__mpsc_node_t node;
    enum weft__io_kind kind;
    void (*call)(struct weft__io *io, struct weft__io_req *req); /* WEFT_IO_CALL */
} weft__io_req_t;

/* The task timer's state word: a generation (bumped at every arming) and
 * a state, so a heap entry left from an earlier arming never fires a later
 * wait.  See sched/timer.c. */
enum { WEFT_TIMER_IDLE = 0, WEFT_TIMER_ARMED = 1, WEFT_TIMER_FIRED = 2 };
#define WEFT_TIMER_STATE(s) ((s) & 3u)
#define WEFT_TIMER_GEN(s) ((s) >> 2)
#define WEFT_NOT_IN_HEAP UINT32_MAX

/* A timer kept by the I/O thread: a task's own (sleeps, timed waits) or a
 * timeout scope's.  sched/timer.c owns the protocol. */
typedef struct weft__timer {
    _Atomic uint32_t state;         /* generation << 2 | WEFT_TIMER_* */
    _Atomic uint64_t deadline_ns;   /* of the latest arming */
    _Atomic uint32_t remove_queued; /* a WEFT_IO_TIMER_REMOVE is in flight */
    _Atomic uint32_t arm_queued;    /* a WEFT_IO_TIMER_ARM is in flight */
    void (*fire)(struct weft__timer *); /* I/O thread, once per arming */
    struct weft_sched *sched;
    uint64_t heap_deadline;         /* I/O thread: the deadline in the heap */
    uint32_t heap_index;            /* I/O thread: heap position, or ~0 */
    uint32_t heap_gen;              /* I/O thread: generation in the heap */
    weft__io_req_t arm_req;
    weft__io_req_t remove_req;
    weft__io_req_t free_req;        /* the last request, for a malloc'ed one */
} weft__timer_t;

/*
 * A task's state word: its reference count and five flags, so that
 * finishing a task nobody waits on (set DONE, drop the scheduler's
 * reference) is one atomic operation, and so that a cancel request and the
 * task's end are decided by one word.  LOCK guards waiter_list while an
 * awaiter adds itself; WAITERS says one ever did; CANCEL is a cancel
 * request not yet delivered; STARTED says who runs it was decided.
 *
 * Claiming.  A task not started sits in a deque or the injector's fresh
 * lane, and whoever takes it from there (the owner's pop, a thief's
 * steal) or its awaiter, wherever it sits in the awaiter's own deque,
 * claims it by setting STARTED with one CAS (weft__claim): only the winner
 * runs it.  An awaiter that claims a task still in its deque leaves the
 * entry there with a reference of its own; whoever later pops or steals
 * that entry finds STARTED, drops the entry and that reference.
 *
 * The cancel protocol.  Every change of CANCEL or DONE is one atomic
 * operation on this word, so a request and the end are ordered:
 *
 *   state          event                         next           by
 *   -------------  ----------------------------  -------------  ------------------
 *   !DONE          weft_cancel (CAS)             CANCEL, ret 1  any thread
 *   !DONE, CANCEL  weft_cancel                   same,   ret 1  any thread (one
 *                                                               delivery for both)
 *   DONE           weft_cancel                   same,   ret 0  any thread
 *   CANCEL         delivered (fetch_and):        !CANCEL        the task, or a
 *                  WEFT_ECANCELED at a                          canceller holding
 *                  suspension point, or                         its claim
 *                  forwarded to an awaited task
 *   !CANCEL        forward refused (the target   CANCEL         the same
 *                  had finished): taken back
 *   CANCEL         weft_uncancel to zero         !CANCEL        the task
 *   CANCEL, never  claimed to run (CAS of        DONE, rc =     its claimer
 *   started        STARTED)                      ECANCELED
 *   !DONE          finish with rc (CAS)          DONE, !CANCEL; the finisher
 *                                                rc = ECANCELED
 *                                                if CANCEL and rc == 0
 *
 * Hence a weft_cancel that returned 1 set or found CANCEL in a word without
 * DONE, and the bit leaves that word only by a delivery (the task sees
 * WEFT_ECANCELED, or the awaited task took the request over), by the
 * task's own weft_uncancel, or in the very CAS that sets DONE, which then
 * turns a return of 0 into WEFT_ECANCELED.  A task that returns an error
 * of its own keeps it, as asyncio's does.  tests/stress/
 * test_stress_cancel_race.c aims cancels at every one of these steps.
 */
#define WEFT_TS_DONE ((uint64_t)1)
#define WEFT_TS_LOCK ((uint64_t)2)
#define WEFT_TS_WAITERS ((uint64_t)4)
#define WEFT_TS_CANCEL ((uint64_t)8)
#define WEFT_TS_STARTED ((uint64_t)16)
#define WEFT_TS_REF ((uint64_t)32)
#define WEFT_TS_REFS(s) ((s) >> 5)

struct weft_task {
    /* Hot: spawn, run, await, finish. */
    weft_fn fn;
    void *arg;
    void *result;
    int rc;
    _Atomic uint64_t state;         /* WEFT_TS_*: refs (+1 until done), flags,
                                     * the pending cancel */
    weft__waiter_t *waiter_list;    /* awaiters, under WEFT_TS_LOCK */
    weft__fiber_t *fiber;           /* the stack it runs on once started */
    struct weft_sched *sched;
    weft__mpsc_node_t qnode;        /* injector link; free-list link */

    /* Waiting and cancellation. */
    _Atomic uint32_t wstate;        /* WEFT_W_* */
    _Atomic int32_t cancel_requests;/* weft_cancelling() */
    _Atomic uint32_t cancels_taken; /* pending requests delivered so far */
    _Atomic int wait_kind;          /* enum weft__wait_kind; weft_dump reads it */
    _Atomic int wait_rc;            /* set by the waker: 0 or an error; a
                                     * timer may set it while the task runs */
    struct weft__multi *multi;      /* WEFT_WAIT_MULTI: what it waits on */
    _Atomic(const weft__wait_ops_t *) wait_ops; /* WEFT_WAIT_OBJ: its hooks */
    void *wait_obj;                 /* WEFT_WAIT_OBJ: the object */
    weft_task_t *awaiting;          /* the task it awaits (cancel forwards) */
    weft_task_t *inline_parent;     /* the awaiter it runs inline under */
    weft_task_t *local_next;        /* its worker's yield or resume list */
    weft__worker_t *home;           /* the worker it runs on once started */
    struct weft_timeout *scopes;    /* open timeout scopes, innermost first */
    _Atomic(weft__worker_t *) queued_on; /* the worker whose deque it was
                                     * pushed on, NULL in the injector */
    bool migrate;                   /* WEFT_MIGRATE: may resume anywhere */
    bool inline_marked;             /* counted as waiting on its inline child */

    /* The task's timer (sleeps, waits with a timeout); sched/timer.c.  It
     * outlives the task: a removal may be on its way when it is reused. */
    weft__timer_t timer;
    _Atomic int timer_rc;           /* wait_rc when it fires */
    uint64_t sleep_until;           /* weft_sleep's deadline, for its arming */

    /* Identity. */
    uint64_t id;
    uint64_t parent_id;             /* the spawning task's, 0 for weft_submit */
    void *spawn_site;               /* the return address of the spawn call */
    _Atomic(char *) name;           /* NULL = "Task-<id>" made on demand */
    size_t stack_size;              /* 0 = the scheduler's default */
    int last_error;                 /* weft_last_error() inside the task */
#ifdef WEFT_DEBUG_CHECKS
    _Atomic uint32_t dead;          /* its last reference is gone (taskmem.c) */
#endif
};

/* ---- fibers: a stack with a context, reused across tasks --------------- */
struct weft__fiber {
    weft__ctx_t ctx;
    weft_task_t *task;          /* the task that started on it */
    weft__fiber_t *next;        /* pool link */
    void *lo;                   /* lowest usable byte (the canary word) */
    size_t size;                /* usable bytes below this header */
    size_t requested;           /* the stack size the task asked for */
    void *guard_lo;             /* the guard page (or unprotected gap) */
    size_t map_len;             /* bytes mapped for a stack of its own */
    uint8_t pooled;             /* default size: goes back to a pool */
    uint8_t mprotected;         /* its guard page costs two mappings */
    uint8_t canary;             /* no guard page: the canary is checked */
    unsigned vg_stack;          /* valgrind's id for this stack, if any */
};

#define WEFT_CANARY 0x5745465443414e59ull /* "WEFTCANY" */

/* ---- worker ------------------------------------------------------------ */
typedef void (*weft__post_fn)(weft__worker_t *w, void *arg);

/* What a worker's watchdog signal handler saw (sched/watchdog.c). */
typedef struct weft__probe {
    _Atomic uint32_t asked;     /* number of the watchdog's latest question */
    uint32_t taken;             /* the last question a handler took up */
    _Atomic uint32_t answered;  /* the question the fields below answer */
    uint64_t id;                /* the task it was running, or 0 */
    char name[64];              /* its name, "" for the default */
    int nframes;
    void *pcs[32];              /* WEFT_UNWIND_FRAMES */
} weft__probe_t;

/* A worker-local FIFO of tasks, linked through local_next. */
typedef struct weft__fifo {
    weft_task_t *head, *tail;
} weft__fifo_t;

struct weft__worker {
    weft__deque_t deque;
    /* Started tasks woken by other threads: they resume only here. */
    _Alignas(WEFT_CACHELINE) weft__mpsc_t inbox;
    _Alignas(WEFT_CACHELINE) _Atomic(weft_task_t *) next; /* just woken */
    _Alignas(WEFT_CACHELINE) struct weft_sched *sched;
    unsigned index;
    unsigned next_streak;       /* consecutive runs from the next slot */
    uint32_t tick;              /* scheduling decisions, for the injector */
    uint64_t rng;               /* victim choice */
    weft_task_t *current;       /* the innermost running task */
    weft__fiber_t *fiber;       /* the fiber running, NULL on the thread stack */
    weft__ctx_t thread_ctx;     /* the worker thread's own stack */
    weft__post_fn post;         /* runs after the next switch, on this thread */
    void *post_arg;
    weft__fifo_t yielded;       /* tasks that yielded, oldest first */
    weft__fifo_t resumed;       /* woken tasks of this worker, oldest first */
    unsigned budget;            /* weft calls left in the running slice */
    weft_task_t *free_tasks;    /* task free list (qnode links) */
    unsigned nfree_tasks;
    weft__fiber_t *free_fibers; /* stack pool */
    unsigned nfree_fibers;
    uint64_t id_next, id_end;   /* block of task ids */
    bool spinning;
    bool idle;                  /* on the idle list (under park lock) */
    _Atomic bool parked;        /* about to sleep or asleep (park.c) */
    _Atomic bool woken_spinning;/* set by a waker that counted us spinning */
    struct ck_ec32 ec;          /* parking */
    pthread_t thread;
    void *altstack;             /* signal stack for overflow reports */
    weft__probe_t probe;        /* the watchdog's question and its answer */
    uint64_t slice_start_ns;    /* when the running task got the worker (0: none) */
    /* Counters: written by this worker only (relaxed), read by weft_stats. */
    _Atomic uint64_t n_spawn, n_steal, n_steal_try, n_park, n_wake, n_inject,
        n_inline, n_switch, n_started, n_finished, longest_slice_ns;
};

typedef struct weft__park {
    _Alignas(WEFT_CACHELINE) _Atomic uint32_t nspinning;
    _Atomic uint32_t nidle;
    pthread_mutex_t lock;
    unsigned *idle;             /* stack of parked worker indices */
    unsigned nidle_list;
} weft__park_t;

typedef struct weft__lane {
    weft__mpsc_t q;
    _Alignas(WEFT_CACHELINE) atomic_flag lock; /* one consumer at a time */
} weft__lane_t;

typedef struct weft__inject {
    weft__lane_t woken; /* started WEFT_MIGRATE tasks, woken or yielded */
    weft__lane_t fresh; /* tasks not started: submitted, deque overflow */
} weft__inject_t;

typedef struct weft__stackpool {
    pthread_mutex_t lock;
    weft__fiber_t *free;        /* shared overflow of the worker pools */
    struct weft__slab *slabs;   /* every mapping, unmapped at stop */
    size_t slot_size;           /* guard + default stack */
    int guard_mode;             /* WEFT_GUARD_* */
    long map_budget;            /* mappings mprotect guards may still use */
    _Atomic uint64_t mapped, in_use;
} weft__stackpool_t;

typedef struct weft__taskmem {
    pthread_mutex_t lock;
    weft_task_t *free;          /* for threads that are not workers */
    struct weft__chunk *chunks; /* every task ever made; freed at stop */
    _Atomic uint64_t spawned_foreign; /* made by weft_submit */
} weft__taskmem_t;

struct weft_sched {
    unsigned nworkers;
    weft__worker_t *workers;
    size_t stack_size;
    unsigned flags;
    _Atomic int stopping;       /* weft_stop began: new waits end cancelled */
    _Atomic int exiting;        /* workers leave their loops */
    _Atomic uint64_t id_blocks;
    weft__inject_t inject;
    weft__park_t park;
    weft__stackpool_t stacks;
    weft__taskmem_t taskmem;
    weft__io_t *io;
    struct weft__watchdog *watchdog; /* NULL unless cfg.watchdog_ms */
    /* What waits leave with the I/O thread, for weft_stats: relaxed, as
     * they are read for reports and order nothing. */
    _Atomic uint64_t timers_armed;       /* io.c: the heap's size */
    _Atomic uint64_t sockets_open;       /* io_net.c: made, not yet ended */
    _Atomic uint64_t blocking_in_flight; /* io_blocking.c: start to wake-up */
    _Atomic uint64_t lookups_in_flight;  /* io_net.c: resolve records alive */
    /* weft_config_t's thread hooks (api/runtime.c runs them). */
    weft_thread_fn on_thread_start;
    weft_thread_fn on_thread_stop;
    void *hook_arg;
    _Atomic uint32_t threads_started;    /* threads past their start hook */
};

/* ---- worker.c ------------------------------------------------------------ */
weft__worker_t *weft__self(void);
int weft__workers_start(struct weft_sched *s);
void weft__workers_join(struct weft_sched *s);
void weft__ready(weft_task_t *t);
void weft__push_local(weft__worker_t *w, weft_task_t *t);
void weft__requeue(weft__worker_t *w, weft_task_t *t);
void weft__suspend(weft__worker_t *w, weft__post_fn post, void *arg);
void weft__run_inline(weft__worker_t *w, weft_task_t *t);
void weft__finish(weft__worker_t *w, weft_task_t *t, int rc, void *result);
bool weft__claim_for_inline(weft__worker_t *w, weft_task_t *t);
int weft__yield(weft__worker_t *w);
int weft__wait_begin(weft_task_t *self, const weft__wait_ops_t *ops, void *obj);
int weft__wait_suspend(weft__worker_t *w, weft_task_t *self);

/* ---- wait protocol (worker.c) -------------------------------------------- */
void weft__wake(weft_task_t *t);
int weft__add_waiter(weft_task_t *t, weft__waiter_t *node);
void weft__arm(weft__worker_t *w, weft_task_t *t);
void weft__interrupt(weft_task_t *t);
bool weft__hold(weft_task_t *t);
void weft__unhold(weft_task_t *t);

/* ---- inject.c -------------------------------------------------------------- */
void weft__inject_init(weft__inject_t *in);
void weft__inject_push(struct weft_sched *s, weft_task_t *first, weft_task_t *last);
void weft__inject_wake(struct weft_sched *s, weft_task_t *t);
void weft__inject_defer_notify(void);
void weft__inject_flush_notify(struct weft_sched *s);
weft_task_t *weft__inject_pop(weft__worker_t *w, bool fresh_first);
int weft__inject_empty(struct weft_sched *s);

/* ---- park.c ---------------------------------------------------------------- */
int weft__park_init(struct weft_sched *s);
void weft__park_destroy(struct weft_sched *s);
void weft__park_notify(struct weft_sched *s);
void weft__park_notify_local(struct weft_sched *s);
void weft__park_wait(weft__worker_t *w);
void weft__park_wake_all(struct weft_sched *s);
void weft__park_wake_home(weft__worker_t *w);
int weft__work_visible(struct weft_sched *s);
void weft__futex_wait(_Atomic uint32_t *addr, uint32_t val);
void weft__futex_wake(_Atomic uint32_t *addr);

/* ---- cpus.c: the default worker count, pinning ------------------------------ */
int weft__default_workers(unsigned *workers); /* 0, or WEFT_EINVAL: bad WEFT_WORKERS */
unsigned weft__cpus_available(void);          /* affinity lowered to the cgroup quota */
unsigned weft__affinity_cpus(void);           /* the calling thread's; 0 if unknown */
int weft__pin_self(unsigned k);               /* to the k-th CPU of its mask, wrapping */
/* The parts, given text and paths (the tests feed them their own). */
int weft__cpu_max_parse(const char *text, unsigned *cpus); /* 1 limit, 0 none, -1 bad */
int weft__cgroup_path_parse(const char *text, char *path, size_t cap); /* 0 or -1 */
unsigned weft__cgroup_cpu_limit(const char *proc_cgroup, const char *root); /* 0 = none */
int weft__workers_env_parse(const char *text, unsigned *workers); /* 0 or WEFT_EINVAL */

/* ---- api/runtime.c: run on each worker thread (index) and the I/O thread
 * (WEFT_IO_THREAD) as it starts and as it ends ---------------------------- */
void weft__thread_begin(struct weft_sched *s, unsigned index);
void weft__thread_end(struct weft_sched *s, unsigned index);

/* ---- stack.c --------------------------------------------------------------- */
int weft__stacks_init(struct weft_sched *s);
void weft__stacks_destroy(struct weft_sched *s);
weft__fiber_t *weft__fiber_get(weft__worker_t *w, size_t requested);
void weft__fiber_put(weft__worker_t *w, weft__fiber_t *f);
bool weft__fiber_fits(struct weft_sched *s, size_t requested);
void weft__stack_check(weft__fiber_t *f, weft_task_t *t);
int weft__overflow_handler_install(weft__worker_t *w);
void weft__overflow_handler_remove(weft__worker_t *w);

/* ---- taskmem.c ------------------------------------------------------------ */
int weft__taskmem_init(struct weft_sched *s);
void weft__taskmem_destroy(struct weft_sched *s);
weft_task_t *weft__task_alloc(struct weft_sched *s, weft__worker_t *w);
void weft__task_free(weft_task_t *t);
void weft__task_foreach_live(struct weft_sched *s, void (*fn)(weft_task_t *, void *),
                             void *ctx);
uint64_t weft__tasks_live(struct weft_sched *s);

/* WEFT_DEBUG_CHECKS: a task whose last reference is gone is kept dead for a
 * while, and a public function given it reports the caller's bug (naming
 * the function and the task) and aborts.  Compiled out otherwise. */
#ifdef WEFT_DEBUG_CHECKS
void weft__task_check(const weft_task_t *t, const char *fn);
void weft__task_check_n(weft_task_t *const *tasks, size_t n, const char *fn);
void weft__task_check_release(const weft_task_t *t);
#define WEFT_CHECK_TASK(t) weft__task_check((t), __func__)
#define WEFT_CHECK_TASKS(tasks, n) weft__task_check_n((tasks), (n), __func__)
#define WEFT_CHECK_RELEASE(t) weft__task_check_release(t)
#else
#define WEFT_CHECK_TASK(t) ((void)0)
#define WEFT_CHECK_TASKS(tasks, n) ((void)0)
#define WEFT_CHECK_RELEASE(t) ((void)0)
#endif

/* ---- timer.c --------------------------------------------------------------- */
void weft__timer_init(weft__timer_t *tm, struct weft_sched *s, void (*fire)(weft__timer_t *));
void weft__timer_arm(weft__timer_t *tm, uint64_t deadline_ns);
bool weft__timer_disarm(weft__timer_t *tm);
void weft__timer_retire(weft__timer_t *tm);
void weft__timer_fire(weft__timer_t *tm);
void weft__task_timer_arm(weft_task_t *t, uint64_t deadline_ns, int rc_when_fired);
void weft__task_timer_fire(weft__timer_t *tm);
uint64_t weft__deadline_after(int64_t ms);

/* ---- multi.c --------------------------------------------------------------- */
void weft__multi_fire(weft__waiter_t *n);
bool weft__multi_interrupt(weft_task_t *t);
int weft__remove_waiter(weft_task_t *t, weft__waiter_t *node);

/* ---- io.c ------------------------------------------------------------------ */
int weft__io_start(struct weft_sched *s);
void weft__io_stop(struct weft_sched *s);
void weft__io_submit(weft__io_t *io, weft__io_req_t *req);
void weft__io_call(weft__io_t *io, weft__io_req_t *req,
                   void (*call)(weft__io_t *io, weft__io_req_t *req));
struct uv_loop_s *weft__io_loop(weft__io_t *io); /* for sched/io*.c only */
uint64_t weft__now_ns(void);

/* ---- watchdog.c ------------------------------------------------------------ */
int weft__watchdog_start(struct weft_sched *s, unsigned ms);
void weft__watchdog_stop(struct weft_sched *s);

/* ---- unwind.c -------------------------------------------------------------- */
#define WEFT_UNWIND_FRAMES 32
int weft__unwind(void *pc, uintptr_t fp, uintptr_t lo, uintptr_t hi, void **out, int max);
int weft__unwind_saved(const weft__fiber_t *f, void **out, int max);

/* ---- api/dump.c ---------------------------------------------------------- */
void weft__dump_signal_start(struct weft_sched *s);
void weft__print_frames(FILE *f, void *const *pcs, int n);
int weft__dump_sched(struct weft_sched *s, FILE *f);
bool weft__task_try_ref(weft_task_t *t);
void weft__dump_signal_stop(struct weft_sched *s);

/* ---- api/runtime.c ------------------------------------------------------- */
struct weft_sched *weft__caller_sched(void);

/* ---- api/task.c, used by the runtime ------------------------------------- */
weft_task_t *weft__task_new(struct weft_sched *s, weft__worker_t *w, weft_fn fn, void *arg,
                            const weft_spawn_opts_t *opts, void *spawn_site);
void weft__task_unref(weft_task_t *t);
int weft__cancel(weft_task_t *t); /* weft_cancel without the debug check */
void weft__timeouts_end(weft_task_t *t); /* api/timeout.c: scopes left open */
void weft__set_last_error(int rc);
size_t weft__task_name_into(weft_task_t *t, char *buf, size_t cap);

/* The task whose qnode n is (injector, inbox). */
static inline weft_task_t *weft__task_of_qnode(weft__mpsc_node_t *n)
{
    return (weft_task_t *)((char *)n - offsetof(weft_task_t, qnode));
}

#define WEFT_LIKELY(x) __builtin_expect(!!(x), 1)
#define WEFT_UNLIKELY(x) __builtin_expect(!!(x), 0)

static inline void weft__stat_inc(_Atomic uint64_t *c)
{
    /* Only the owning worker writes; weft_stats reads racily: relaxed. */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* Whether t has a cancel request not yet delivered.  seq_cst where it
 * pairs with the arming of a wait (weft__arm, weft__interrupt). */
static inline bool weft__cancel_pending(const weft_task_t *t, memory_order mo)
{
    return (atomic_load_explicit(&((weft_task_t *)t)->state, mo) & WEFT_TS_CANCEL) != 0;
}

/*
 * Delivers t's pending cancel request, if there is one: at a suspension
 * point (as WEFT_ECANCELED) or by forwarding it.  Counted, so a timeout
 * scope can tell whether its body saw a cancel (api/timeout.c).  Called by
 * t itself or by a canceller holding t's claim, so t is not done.
 */
static inline bool weft__take_cancel(weft_task_t *t)
{
    if (!weft__cancel_pending(t, memory_order_relaxed))
        return false;
    /* acq_rel: orders the delivery after the request that set the bit. */
    if (!(atomic_fetch_and_explicit(&t->state, ~WEFT_TS_CANCEL, memory_order_acq_rel) &
          WEFT_TS_CANCEL))
        return false;
    atomic_fetch_add_explicit(&t->cancels_taken, 1, memory_order_relaxed);
    return true;
}

/* Makes a request pending on t (not done: t itself, or t held by its
 * claim), without counting a new one: a request taken back, or re-raised. */
static inline void weft__pend_cancel(weft_task_t *t)
{
    /* seq_cst: pairs with the arming of t's next wait, as weft_cancel's. */
    atomic_fetch_or_explicit(&t->state, WEFT_TS_CANCEL, memory_order_seq_cst);
}

/*
 * Forwards t's just-taken cancel to target, as asyncio's Task forwards it
 * to the future it waits on.  A target that has finished refuses it, and
 * then the request stays pending on t (asyncio's _must_cancel).  Returns
 * whether the target took it.
 */
/* Takes back a request weft__take_cancel took: nobody received it. */
static inline void weft__untake_cancel(weft_task_t *t)
{
    atomic_fetch_sub_explicit(&t->cancels_taken, 1, memory_order_relaxed);
    weft__pend_cancel(t);
}

static inline bool weft__forward_cancel(weft_task_t *t, weft_task_t *target)
{
    if (weft__cancel(target))
        return true;
    weft__untake_cancel(t);
    return false;
}

/* The task running on this thread and its worker; NULL outside a task. */
static inline weft_task_t *weft__running(weft__worker_t **wp)
{
    weft__worker_t *w = weft__self();
    *wp = w;
    return w ? w->current : NULL;
}

/*
 * A cooperative budget, as Tokio's: a task whose reads, writes, accepts,
 * channel operations and awaits of finished tasks keep succeeding at once
 * never reaches a suspension point, and would keep its worker for good
 * (a connection whose next request is always there already).  Each such
 * call spends one unit of the slice's budget, reset whenever the worker
 * switches to a task; the call that spends the last yields after it has
 * done its work (not a cancellation point: its result stands).
 */
static inline void weft__budget_spend(weft__worker_t *w)
{
    if (WEFT_UNLIKELY(--w->budget == 0)) {
        w->budget = WEFT_BUDGET;
        weft__yield(w);
    }
}

/* Claims t for running (see the state word); extra adds references in the
 * same step.  Acquire: pairs with the release of the task's creation. */
static inline bool weft__claim(weft_task_t *t, uint64_t extra)
{
    uint64_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
    do {
        if (s & WEFT_TS_STARTED)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&t->state, &s, (s | WEFT_TS_STARTED) + extra,
                                                    memory_order_acquire,
                                                    memory_order_relaxed));
    return true;
}

static inline int weft__task_is_done(const weft_task_t *t)
{
    /* Acquire: pairs with the release in weft__finish, so rc and result
     * are visible once we see the task done. */
    return (atomic_load_explicit(&((weft_task_t *)t)->state, memory_order_acquire) &
            WEFT_TS_DONE) != 0;
}

#endif
