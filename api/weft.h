/*
 * weft.h - the one public header of weft: stackful tasks on every core.
 *
 * A task is a plain C function run on its own small stack by one of the
 * worker threads.  It may suspend (await another task, sleep, yield) without
 * blocking its thread; while suspended it may move to another worker.
 *
 * Conventions (libuv's): int functions return 0, or a count, on success and
 * a negative errno-style code on failure.  Functions that return a pointer
 * return NULL on failure and leave the code in weft_last_error().  weft never
 * reports through errno.
 *
 * Ownership: tasks are reference counted.  Every weft_task_t* a function
 * returns is a reference the caller owns and gives back with
 * weft_task_release().  A function that takes a weft_task_t* borrows it.
 *
 * Thread-safety: weft_cancel, weft_task_done, weft_task_cancelled,
 * weft_task_release, weft_submit, weft_strerror and weft_last_error may be
 * called from any thread.  Functions that suspend (weft_await, weft_sleep,
 * weft_yield) and weft_spawn* need a task and return WEFT_EPERM outside one.
 */
#ifndef WEFT_H
#define WEFT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h> /* ssize_t */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(WEFT_STATIC)
#define WEFT_EXPORT
#elif defined(__GNUC__)
#define WEFT_EXPORT __attribute__((visibility("default")))
#else
#define WEFT_EXPORT
#endif

#define WEFT_VERSION_MAJOR 0
#define WEFT_VERSION_MINOR 1

/*
 * Error codes.  weft_strerror() has a text for each.  The errno-valued ones
 * equal libuv's code of the same name (UV_ECONNREFUSED is -ECONNREFUSED on
 * Linux), so a code libuv hands weft passes through unchanged; api/error.c
 * checks each against uv.h when weft is built.  This header needs no uv.h.
 */
#define WEFT_ECANCELED (-ECANCELED) /* the task was cancelled */
#define WEFT_ETIMEDOUT (-ETIMEDOUT) /* a timeout expired (or a connect did) */
#define WEFT_EINVAL (-EINVAL)       /* a bad argument */
#define WEFT_ENOMEM (-ENOMEM)       /* out of memory or mappings */
#define WEFT_EPERM (-EPERM)         /* needs a task (or must not be in one) */
#define WEFT_EDEADLK (-EDEADLK)     /* a task awaits itself */
#define WEFT_ESHUTDOWN (-ESHUTDOWN) /* the scheduler is stopping */
#define WEFT_ECLOSED (-4200)        /* the channel is closed */
#define WEFT_EAGAIN (-EAGAIN)       /* a try operation would have to wait */

/* Sockets: what the kernel answers, as -errno (libuv's values on Linux). */
#define WEFT_EACCES (-EACCES)             /* permission denied */
#define WEFT_EADDRINUSE (-EADDRINUSE)     /* the address has a listener */
#define WEFT_EADDRNOTAVAIL (-EADDRNOTAVAIL) /* not an address of this host */
#define WEFT_EAFNOSUPPORT (-EAFNOSUPPORT) /* e.g. IPv6 on a host without it */
#define WEFT_EBADF (-EBADF)               /* the socket is closed or closing */
#define WEFT_EBUSY (-EBUSY)               /* a read or write already under way */
#define WEFT_ECONNABORTED (-ECONNABORTED) /* a connection aborted before accept */
#define WEFT_ECONNREFUSED (-ECONNREFUSED) /* nobody listens there */
#define WEFT_ECONNRESET (-ECONNRESET)     /* the peer reset the connection */
#define WEFT_EHOSTDOWN (-EHOSTDOWN)       /* the host is down */
#define WEFT_EHOSTUNREACH (-EHOSTUNREACH) /* no route to the host */
#define WEFT_EMFILE (-EMFILE)             /* the process is out of fds */
#define WEFT_ENETDOWN (-ENETDOWN)         /* the network is down */
#define WEFT_ENETUNREACH (-ENETUNREACH)   /* the network is unreachable */
#define WEFT_ENFILE (-ENFILE)             /* the system is out of files */
#define WEFT_ENOBUFS (-ENOBUFS)           /* the kernel is out of buffers */
#define WEFT_ENOTCONN (-ENOTCONN)         /* the socket is not connected */
#define WEFT_EPIPE (-EPIPE)               /* write after the peer has gone */
#define WEFT_EPROTO (-EPROTO)             /* a protocol error */

/* Name lookups (getaddrinfo's EAI_* errors): libuv's own numbers. */
#define WEFT_EAI_ADDRFAMILY (-3000) /* the host has no address of the family */
#define WEFT_EAI_AGAIN (-3001)      /* a temporary failure: try again */
#define WEFT_EAI_BADFLAGS (-3002)   /* bad flags in the hints */
#define WEFT_EAI_CANCELED (-3003)   /* the lookup was cancelled */
#define WEFT_EAI_FAIL (-3004)       /* a permanent failure of the resolver */
#define WEFT_EAI_FAMILY (-3005)     /* the address family is not supported */
#define WEFT_EAI_MEMORY (-3006)     /* the resolver is out of memory */
#define WEFT_EAI_NODATA (-3007)     /* the name has no address */
#define WEFT_EAI_NONAME (-3008)     /* no such host or service */
#define WEFT_EAI_OVERFLOW (-3009)   /* an argument buffer overflowed */
#define WEFT_EAI_SERVICE (-3010)    /* the service is not there for the type */
#define WEFT_EAI_SOCKTYPE (-3011)   /* the socket type is not supported */
#define WEFT_EAI_BADHINTS (-3013)   /* bad hints */
#define WEFT_EAI_PROTOCOL (-3014)   /* the resolved protocol is unknown */

/* A timeout or sleep that never expires. */
#define WEFT_FOREVER INT64_MAX

/* The largest number of workers a scheduler may have. */
#define WEFT_MAX_WORKERS 256

typedef struct weft_task weft_task_t;
typedef struct weft_sched weft_sched_t;

/*
 * A task function.  It returns 0 on success or a negative code, and may
 * store a result pointer in *result (NULL if it does not).
 */
typedef int (*weft_fn)(void *arg, void **result);

/*
 * A thread hook: called on a scheduler's thread as it starts (before it runs
 * any task) and as it ends (after its last task), with the worker's index
 * 0..workers-1, or WEFT_IO_THREAD on the I/O thread.  For naming threads,
 * setting priorities, per-thread state.  It must not call functions that
 * need a task, weft_stop, or wait for tasks.
 */
typedef void (*weft_thread_fn)(unsigned index, void *arg);

/* The index the thread hooks get on the scheduler's I/O thread. */
#define WEFT_IO_THREAD (~0u)

/* Scheduler configuration; zero-filled (or a NULL pointer) means defaults. */
typedef struct weft_config {
    unsigned workers;  /* worker threads; 0 = the CPUs the process may use
                        * (affinity mask, cgroup quota; env WEFT_WORKERS) */
    size_t stack_size; /* default task stack; 0 = 64 KiB */
    unsigned flags;    /* WEFT_STACK_*, WEFT_MEASURE_SLICES, WEFT_PIN_WORKERS */
    unsigned watchdog_ms; /* report a task that runs this long without
                           * suspending (name and stack, on stderr); 0 = off */
    weft_thread_fn on_thread_start; /* NULL = none; weft_start returns once
                                     * it has returned on every thread */
    weft_thread_fn on_thread_stop;  /* NULL = none; runs before weft_stop returns */
    void *hook_arg;                 /* passed to both hooks */
} weft_config_t;

/* Stack protection is picked at run time; these flags force a method. */
#define WEFT_STACK_MPROTECT 0x1u /* a PROT_NONE guard page per stack */
#define WEFT_STACK_CANARY 0x2u   /* no guard page: a canary checked at switches */
/* Time every run slice for weft_stats' longest_slice_ns: one clock read per
 * switch, so it is off unless asked for (a switch costs ~15 ns without). */
#define WEFT_MEASURE_SLICES 0x4u
/* Bind worker k to the k-th CPU (wrapping) of the set weft_start's caller
 * may run on; the I/O thread stays unbound. */
#define WEFT_PIN_WORKERS 0x8u

typedef struct weft_spawn_opts {
    const char *name;  /* copied; NULL = "Task-N" */
    size_t stack_size; /* 0 = the scheduler's default */
    unsigned flags;    /* WEFT_MIGRATE */
} weft_spawn_opts_t;

/*
 * A started task resumes on the worker it started on, so thread-local
 * addresses the compiler keeps across a suspension (&errno, __thread
 * variables) stay its own.  WEFT_MIGRATE: the task promises to keep none,
 * and may resume on any worker (better balance for long-lived tasks that
 * wait often).
 */
#define WEFT_MIGRATE 0x1u

/* Per-worker counters, read with weft_stats(). */
typedef struct weft_worker_stats {
    uint64_t spawns;         /* tasks spawned by tasks on this worker */
    uint64_t steals;         /* tasks taken from other workers */
    uint64_t steal_attempts; /* steal tries, successful or not */
    uint64_t parks;          /* times this worker went to sleep */
    uint64_t wakeups;        /* times it was woken to look for work */
    uint64_t injector_pops;  /* tasks taken from the shared injector */
    uint64_t inline_awaits;  /* awaited children run on the awaiter's stack */
    uint64_t switches;       /* context switches into tasks */
    uint64_t longest_slice_ns; /* longest a task ran here without suspending
                                  (only with WEFT_MEASURE_SLICES, else 0) */
} weft_worker_stats_t;

typedef struct weft_stats {
    unsigned workers;       /* entries used in worker[] */
    uint64_t tasks_live;    /* spawned and not yet finished */
    uint64_t stacks_in_use; /* stacks held by running or suspended tasks */
    uint64_t stacks_mapped; /* stacks mapped, in use or pooled */
    uint64_t timers_armed;  /* timers in the I/O thread's heap */
    uint64_t sockets_open;  /* sockets made and not yet ended */
    uint64_t blocking_in_flight; /* weft_run_blocking calls queued or running */
    uint64_t lookups_in_flight;  /* name resolutions not yet over */
    weft_worker_stats_t worker[WEFT_MAX_WORKERS];
} weft_stats_t;

/* ---- runtime ----------------------------------------------------------- */

/*
 * Starts a scheduler, runs main(arg) as its first task, waits for it, stops
 * the scheduler (cancelling what is left) and returns main's code.  The
 * equivalent of asyncio.run().  WEFT_EPERM when called from a task.
 */
WEFT_EXPORT int weft_run(const weft_config_t *cfg, weft_fn main, void *arg,
                         void **result);

/*
 * Starts worker threads and the I/O thread.  NULL on failure.  With
 * workers = 0 the count is the environment's WEFT_WORKERS (a decimal
 * number 1..WEFT_MAX_WORKERS; empty or 0 = unset) or else the CPUs the
 * calling thread may use: its affinity mask, lowered to the cgroup v2
 * cpu.max quota rounded up.  WEFT_EINVAL (and a line on stderr) for a
 * WEFT_WORKERS that is not such a number.
 */
WEFT_EXPORT weft_sched_t *weft_start(const weft_config_t *cfg);

/*
 * Creates a task from any thread and queues it on s.  Returns a reference
 * the caller owns.  NULL with WEFT_ESHUTDOWN once s is stopping.
 */
WEFT_EXPORT weft_task_t *weft_submit(weft_sched_t *s, weft_fn fn, void *arg);

/*
 * Blocks the calling thread (not a task: WEFT_EPERM there, use weft_await)
 * until t finishes; returns t's code and stores its result.
 */
WEFT_EXPORT int weft_block_on(weft_task_t *t, void **result);

/*
 * Cancels every task still alive (each sees WEFT_ECANCELED where it waits),
 * waits for them, joins every thread and frees everything, s included.
 * Task handles the caller still holds become invalid.  Not from a task.
 */
WEFT_EXPORT int weft_stop(weft_sched_t *s);

/* ---- tasks ------------------------------------------------------------- */

/*
 * Creates a task and queues it on the current worker; the caller keeps
 * running.  Needs a task: NULL with WEFT_EPERM outside one.
 */
WEFT_EXPORT weft_task_t *weft_spawn(weft_fn fn, void *arg);
WEFT_EXPORT weft_task_t *weft_spawn_opts(weft_fn fn, void *arg,
                                         const weft_spawn_opts_t *opts);

/*
 * Waits for t and returns its code, storing its result if result is not
 * NULL.  A finished task may be awaited again.  If the awaiter is cancelled
 * while it waits, the cancel is forwarded to t and the awaiter gets t's
 * outcome.  WEFT_EDEADLK if t is the caller.
 */
WEFT_EXPORT int weft_await(weft_task_t *t, void **result);

/* Gives back a reference.  A running task keeps going without it. */
WEFT_EXPORT void weft_task_release(weft_task_t *t);

/*
 * Requests cancellation of t, from any thread.  Returns 1 if a request was
 * made, 0 if t had already finished.  t sees WEFT_ECANCELED at its current
 * or next suspension point; if it never started it never runs.
 */
WEFT_EXPORT int weft_cancel(weft_task_t *t);

WEFT_EXPORT int weft_task_done(const weft_task_t *t);
WEFT_EXPORT int weft_task_cancelled(const weft_task_t *t);

/*
 * The task's name; valid until the task is renamed or its last reference
 * is released.  NULL with WEFT_ENOMEM if the default "Task-N" cannot be
 * made (WEFT_EINVAL for a NULL t).
 */
WEFT_EXPORT const char *weft_task_name(weft_task_t *t);
WEFT_EXPORT int weft_task_set_name(weft_task_t *t, const char *name);

/* The running task (a borrowed reference), or NULL outside tasks. */
WEFT_EXPORT weft_task_t *weft_current(void);

/* Lets other runnable tasks run first.  WEFT_ECANCELED if cancelled. */
WEFT_EXPORT int weft_yield(void);

/*
 * Suspends the task for at least ms milliseconds (never less); ms <= 0
 * yields.  WEFT_ECANCELED if cancelled while asleep.
 */
WEFT_EXPORT int weft_sleep(int64_t ms);

/* Pending cancel requests of the current task (asyncio's cancelling()). */
WEFT_EXPORT int weft_cancelling(void);

/* Withdraws one cancel request; returns the count left. */
WEFT_EXPORT int weft_uncancel(void);

/* ---- combinators ------------------------------------------------------- */

/* One task's outcome: its code and its result. */
typedef struct weft_outcome {
    int rc;
    void *result;
} weft_outcome_t;

/* weft_gather flag: wait for every task and report each outcome in place. */
#define WEFT_RETURN_EXCEPTIONS 0x1u

/*
 * Waits for tasks[0..n) and stores their outcomes in input order in
 * outcomes[] (which may be NULL).  By default the first failure (a code
 * other than 0, a cancellation included) is returned at once and the
 * other tasks keep running; outcomes of tasks not yet finished are left
 * untouched.  With WEFT_RETURN_EXCEPTIONS it waits for all and returns 0.
 * Cancelling the gathering task cancels every unfinished task, waits for
 * them and returns WEFT_ECANCELED (with either flag).  n = 0 returns 0.
 * Borrows the tasks; the same task may appear more than once.
 */
WEFT_EXPORT int weft_gather(weft_task_t *const *tasks, size_t n, weft_outcome_t *outcomes,
                            unsigned flags);

/* weft_wait's return_when. */
#define WEFT_ALL_COMPLETED 0
#define WEFT_FIRST_COMPLETED 1
#define WEFT_FIRST_EXCEPTION 2 /* a code other than 0 and not a cancel */

/*
 * Waits until `when` holds for tasks[0..n) or timeout_ms passes
 * (WEFT_FOREVER: no timeout; <= 0: just look).  Never cancels and never
 * reports the timeout as an error: returns how many tasks are done, having
 * moved the done ones to the front of tasks[] (each part in input order).
 * WEFT_EINVAL for n = 0 or a bad `when`; WEFT_ECANCELED if the waiting task
 * is cancelled (the tasks are not).
 */
WEFT_EXPORT int weft_wait(weft_task_t **tasks, size_t n, int64_t timeout_ms, int when);

/*
 * Waits for t at most timeout_ms.  On timeout cancels t, waits until it has
 * finished and returns WEFT_ETIMEDOUT, unless t swallowed the cancel and
 * ended with a value or an error of its own: then t's outcome.  A timeout
 * <= 0 on an unfinished task times out at once.  If the waiting task is
 * cancelled, t is cancelled too.
 */
WEFT_EXPORT int weft_wait_for(weft_task_t *t, int64_t timeout_ms, void **result);

/*
 * Waits for t like weft_await, but a cancel of the waiting task is not
 * forwarded to t: the wait ends with WEFT_ECANCELED and t keeps running.
 */
WEFT_EXPORT int weft_shield(weft_task_t *t, void **result);

/*
 * asyncio.as_completed: an iterator over tasks[0..n) in the order they
 * finish, with an optional overall timeout (WEFT_FOREVER: none).  The
 * iterator borrows the tasks and belongs to the calling task.  NULL with
 * WEFT_EPERM outside a task, WEFT_EINVAL for n = 0, WEFT_ENOMEM.
 */
typedef struct weft_as_completed weft_as_completed_t;
WEFT_EXPORT weft_as_completed_t *weft_as_completed_new(weft_task_t *const *tasks, size_t n,
                                                       int64_t timeout_ms);

/*
 * Stores the next task to finish in *t and returns 1; 0 once every task has
 * been returned; WEFT_ETIMEDOUT once the overall timeout has passed (the
 * tasks are not cancelled); WEFT_ECANCELED if the caller is cancelled.
 */
WEFT_EXPORT int weft_as_completed_next(weft_as_completed_t *it, weft_task_t **t);
WEFT_EXPORT void weft_as_completed_free(weft_as_completed_t *it);

/* ---- timeouts (asyncio.timeout) ---------------------------------------- */

typedef struct weft_timeout weft_timeout_t;

/*
 * Opens a timeout scope for the calling task: when ms pass (WEFT_FOREVER:
 * never; <= 0: at once) the task is cancelled.  NULL with WEFT_EPERM
 * outside a task, WEFT_ENOMEM.
 */
WEFT_EXPORT weft_timeout_t *weft_timeout_enter(int64_t ms);

/* Moves the deadline to ms from now.  WEFT_EINVAL once it has expired. */
WEFT_EXPORT int weft_timeout_reschedule(weft_timeout_t *h, int64_t ms);

/*
 * Closes the scope and frees h.  If it expired, withdraws its cancel
 * request and, if the task was handed a cancel inside the scope, returns
 * WEFT_ETIMEDOUT when no other request is left (of nested expired scopes
 * only the outermost reports the timeout) or WEFT_ECANCELED when one is (a
 * cancel from elsewhere stays a cancel).  Else 0: the body ran to its end.
 */
WEFT_EXPORT int weft_timeout_exit(weft_timeout_t *h);

/* ---- task groups (asyncio.TaskGroup) ------------------------------------ */

typedef struct weft_group weft_group_t;

/* A group owned by the calling task.  NULL with WEFT_EPERM outside a task. */
WEFT_EXPORT weft_group_t *weft_group_new(void);

/*
 * Spawns fn(arg) into g.  The handle belongs to the group (valid until
 * weft_group_free; do not release it).  NULL with WEFT_ESHUTDOWN once the
 * group is aborting (a child failed) or joined.
 */
WEFT_EXPORT weft_task_t *weft_group_spawn(weft_group_t *g, weft_fn fn, void *arg);

/*
 * Waits for every child (the owner only).  The first child failure that is
 * not a cancellation cancels the other children and, once, the owner;
 * join withdraws that cancel and returns the first failure (child errors
 * win over a cancel).  If the owner is cancelled (before or during join)
 * the children are cancelled, and join returns WEFT_ECANCELED once they
 * have finished.  Else 0.
 */
WEFT_EXPORT int weft_group_join(weft_group_t *g);

/* Copies the codes of every failed child (cancellations excluded), in the
 * order they failed, up to cap; returns how many there are. */
WEFT_EXPORT int weft_group_errors(weft_group_t *g, int *errs, size_t cap);

/* Frees g and the children's handles; children still running are
 * cancelled and finish on their own. */
WEFT_EXPORT void weft_group_free(weft_group_t *g);

/* ---- insight ----------------------------------------------------------- */

/*
 * A text for rc, never NULL and never to be freed: for every WEFT_E* code,
 * any other -errno, and a fallback that says the code is unknown.
 */
WEFT_EXPORT const char *weft_strerror(int rc);

/* The code left by the last call that returned NULL (per task, else per thread). */
WEFT_EXPORT int weft_last_error(void);

/*
 * Writes one line per live task of the calling task's scheduler (outside
 * tasks: the most recently started one) to f: its id, its name and what it
 * is doing - waiting (on a task, a sleep, several tasks, as_completed) or
 * runnable/running.  Returns the number of tasks listed; WEFT_EINVAL
 * without a scheduler or f.
 */
WEFT_EXPORT int weft_dump(FILE *f);

/*
 * Counters of the calling task's scheduler, or, outside tasks, of the most
 * recently started scheduler still running.  WEFT_EINVAL if there is none.
 */
WEFT_EXPORT int weft_stats(weft_stats_t *out);

/* ---- channels and task-aware synchronisation -------------------------- */

/*
 * Every blocking call below suspends the calling task, never its worker
 * thread.  Called from a thread that is not a worker, send, recv,
 * event_wait and sem_acquire block that thread until the wait completes
 * (such a wait cannot be cancelled); the mutex belongs to tasks only
 * (WEFT_EPERM outside one).  Everything else may be called from any
 * thread.  Waiters are served in FIFO order: what they wait for is handed
 * to the oldest one directly.  A blocking call is a suspension point:
 * WEFT_ECANCELED if the task is cancelled before or while it waits, and
 * then nothing was sent, received or acquired; a wait that was completed
 * before the cancel arrived returns 0 and the cancel stays pending for the
 * next suspension point.  Freeing an object while anyone waits on it, or
 * using it after, is the caller's bug.  NULL arguments: WEFT_EINVAL.
 */

typedef struct weft_chan weft_chan_t;
typedef struct weft_event weft_event_t;
typedef struct weft_sem weft_sem_t;
typedef struct weft_mutex weft_mutex_t;

/*
 * A multi-producer multi-consumer channel of void* items holding up to
 * capacity items; 0 makes it unbuffered: a send completes only when a
 * receiver has taken the item.  NULL with WEFT_ENOMEM.
 */
WEFT_EXPORT weft_chan_t *weft_chan_new(size_t capacity);

/*
 * Sends item: to the oldest waiting receiver, else into the buffer, else
 * waits for room.  WEFT_ECLOSED if the channel is closed, or is closed
 * while the sender waits (the item was not sent).
 */
WEFT_EXPORT int weft_chan_send(weft_chan_t *c, void *item);

/*
 * Receives the oldest item into *item, waiting for one.  Once the channel
 * is closed, what is buffered is still received; then WEFT_ECLOSED.
 */
WEFT_EXPORT int weft_chan_recv(weft_chan_t *c, void **item);

/* As send and recv, but WEFT_EAGAIN instead of waiting; any thread. */
WEFT_EXPORT int weft_chan_try_send(weft_chan_t *c, void *item);
WEFT_EXPORT int weft_chan_try_recv(weft_chan_t *c, void **item);

/*
 * Closes c and wakes every waiter: waiting senders get WEFT_ECLOSED (their
 * items were not sent), waiting receivers too (nothing is buffered while
 * receivers wait).  Any thread.  WEFT_ECLOSED if already closed.
 */
WEFT_EXPORT int weft_chan_close(weft_chan_t *c);

/* Items buffered now (0 for NULL); any thread. */
WEFT_EXPORT size_t weft_chan_len(weft_chan_t *c);

/* Frees c and the buffer slots (not the items). */
WEFT_EXPORT void weft_chan_free(weft_chan_t *c);

/* asyncio.Event: set wakes every waiter; a set event lets waits through. */
WEFT_EXPORT weft_event_t *weft_event_new(void);
WEFT_EXPORT int weft_event_set(weft_event_t *e);
WEFT_EXPORT int weft_event_clear(weft_event_t *e);
WEFT_EXPORT int weft_event_is_set(weft_event_t *e); /* 1 or 0 */
WEFT_EXPORT int weft_event_wait(weft_event_t *e);
WEFT_EXPORT void weft_event_free(weft_event_t *e);

/*
 * A counting semaphore of count permits.  try_acquire: WEFT_EAGAIN when
 * none is free.  release (any thread) gives a permit to the oldest waiter,
 * else adds it to the count (WEFT_EINVAL past UINT_MAX).
 */
WEFT_EXPORT weft_sem_t *weft_sem_new(unsigned count);
WEFT_EXPORT int weft_sem_acquire(weft_sem_t *s);
WEFT_EXPORT int weft_sem_try_acquire(weft_sem_t *s);
WEFT_EXPORT int weft_sem_release(weft_sem_t *s);
WEFT_EXPORT void weft_sem_free(weft_sem_t *s);

/*
 * A mutex held by a task (not a thread: the holder may move between
 * workers).  lock: WEFT_EDEADLK if the caller holds it already.
 * trylock: WEFT_EAGAIN if another task holds it.  unlock hands it to the
 * oldest waiter; WEFT_EPERM if the caller does not hold it.  All three need
 * a task.  A task must unlock what it holds before it finishes.
 */
WEFT_EXPORT weft_mutex_t *weft_mutex_new(void);
WEFT_EXPORT int weft_mutex_lock(weft_mutex_t *m);
WEFT_EXPORT int weft_mutex_trylock(weft_mutex_t *m);
WEFT_EXPORT int weft_mutex_unlock(weft_mutex_t *m);
WEFT_EXPORT void weft_mutex_free(weft_mutex_t *m);

/* ---- blocking calls and parallel loops --------------------------------- */

/*
 * Runs fn(arg, &r) on libuv's thread pool (a plain thread, not a task: task
 * functions return WEFT_EPERM there) and suspends only the calling task
 * until it returns; returns fn's code and stores r in *result (if result
 * is not NULL).  A cancel while the call is still queued takes it back:
 * WEFT_ECANCELED, fn never runs and *result is untouched.  Once fn runs it
 * cannot be stopped: the task waits for it and gets its outcome, and the
 * cancel stays pending for the next suspension point.  WEFT_EPERM outside a
 * task, WEFT_EINVAL for a NULL fn.  weft_stop waits for calls that run.
 */
WEFT_EXPORT int weft_run_blocking(weft_fn fn, void *arg, void **result);

/* A loop body: handles [lo, hi) and returns 0 or an error. */
typedef int (*weft_range_fn)(int64_t lo, int64_t hi, void *arg);

/*
 * Runs body over [begin, end) split in sub-ranges of at most grain
 * elements (0: about 8 per worker), spread over the workers, and waits for
 * all of them.  Bodies may run in parallel, in any order, and may spawn and
 * await.  Returns 0, or the first error a body returned (the other bodies
 * still run to completion), or WEFT_ECANCELED if the caller was cancelled
 * (pieces not yet started then never run; cancellation wins over body
 * errors).  begin == end returns 0 at once; begin > end, grain < 0 or a
 * NULL body WEFT_EINVAL; outside a task WEFT_EPERM.  arg is borrowed.
 */
WEFT_EXPORT int weft_parallel_for(int64_t begin, int64_t end, int64_t grain, weft_range_fn body,
                                  void *arg);

/* ---- sockets ------------------------------------------------------------
 * TCP over IPv4 and IPv6.  Every call that may wait suspends the task, not
 * its thread, and is cancellable (WEFT_ECANCELED; a cancelled connect
 * leaves no socket, a cancelled accept no connection taken, a cancelled
 * read no bytes taken).  Errors from the network are the WEFT_E* socket
 * codes above (WEFT_ECONNREFUSED, WEFT_ECONNRESET, WEFT_EPIPE,
 * WEFT_EADDRINUSE, ...; -errno on Linux, as libuv's); SIGPIPE is never
 * raised.  One read (or accept) and one write may be under way on a socket
 * at a time, from any tasks; a second one of the same kind returns
 * WEFT_EBUSY.  A call on a socket being closed, or waiting when weft_close
 * comes, returns WEFT_EBADF.
 * A socket belongs to the scheduler whose task made it.
 */
typedef struct weft_sock weft_sock_t;

/*
 * Listens on host (a name or a numeric address; NULL = every IPv4
 * interface) and port (0 = a free port, see weft_tcp_port) with the given
 * backlog (0 = the system's largest).  Names are tried in the order they
 * resolve.  *out is the caller's, ended by weft_close.  WEFT_EINVAL for a
 * NULL out, a port outside 0..65535 or a negative backlog; WEFT_EPERM
 * outside a task; WEFT_EADDRINUSE, name resolution errors (WEFT_EAI_*).
 */
WEFT_EXPORT int weft_tcp_listen(const char *host, int port, int backlog, weft_sock_t **out);

/* The socket's bound local port; WEFT_EINVAL for NULL, WEFT_EBADF once s
 * is closed.  Any thread. */
WEFT_EXPORT int weft_tcp_port(weft_sock_t *s);

/*
 * Waits for a connection on listener and stores it in *out (the caller's).
 * WEFT_EINVAL for NULL arguments or a socket that does not listen.
 */
WEFT_EXPORT int weft_tcp_accept(weft_sock_t *listener, weft_sock_t **out);

/*
 * Connects to host (a name, resolved on the I/O thread, or a numeric IPv4
 * or IPv6 address) and port 1..65535, trying each address in turn; the
 * last failure is returned (WEFT_ECONNREFUSED, ...).  *out is the caller's.
 */
WEFT_EXPORT int weft_tcp_connect(const char *host, int port, weft_sock_t **out);

/*
 * Reads at most len bytes: returns how many (at least 1; waits until some
 * arrive), 0 at the end of the stream (and for len 0), or a negative code.
 */
WEFT_EXPORT ssize_t weft_read(weft_sock_t *s, void *buf, size_t len);

/*
 * Writes all len bytes; 0 once the kernel has them, else the error.  When
 * it fails or is cancelled part of buf may have been sent.
 */
WEFT_EXPORT int weft_write(weft_sock_t *s, const void *buf, size_t len);

/*
 * Closes s: operations waiting on it end with WEFT_EBADF; its fd goes once
 * the last operation under way has left.  Every later call with s, from
 * any task or thread, racing the close or long after it, gets WEFT_EBADF,
 * and so does a second close, until the scheduler stops.  Any thread;
 * never waits.
 */
WEFT_EXPORT int weft_close(weft_sock_t *s);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_H */
