/*
 * test_stay_home.c - a started task resumes on the worker it started on,
 * so errno and __thread variables read after a suspension are its own
 * thread's, as C code (and the compiler, which computes &errno once per
 * function: glibc declares __errno_location const) assumes.
 *
 * 10,000 tasks (WEFT_TEST_SCALE fewer, under valgrind) on 4 workers each go through every kind of suspension —
 * yield, sleep, await of a sleeping child, wait_for, gather, a channel
 * send and receive, an event, a semaphore, a mutex, a blocking call on the
 * pool — and around each one fail a system call and read errno, and
 * compare the address of a __thread variable before and after.  Other
 * tasks on the same workers fail other calls meanwhile, so an errno read
 * through another thread's address shows.  This file is built with the
 * Release flags (-O2), where the hoisting happens.
 */
#define _GNU_SOURCE

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "weft.h"

#ifdef WEFT_TSAN
#define MAX_TASKS 1000
#else
#define MAX_TASKS 10000
#endif
#define WORKERS 4

static __thread int tls_slot;
static int ntasks; /* MAX_TASKS, or WEFT_TEST_SCALE (even) if smaller */

/* The address as the thread computes it now, never a cached one. */
__attribute__((noinline)) static int *tls_slot_now(void)
{
    __asm__ volatile("" ::: "memory");
    return &tls_slot;
}

enum kind {
    K_YIELD, K_SLEEP, K_AWAIT, K_WAIT_FOR, K_GATHER, K_CHAN, K_EVENT, K_SEM, K_MUTEX,
    K_BLOCKING, K_COUNT
};

struct shared {
    weft_chan_t *chan;   /* unbuffered: each send meets a receive */
    weft_event_t *event; /* set once everyone waits on it (or soon after) */
    weft_sem_t *sem;     /* fewer permits than tasks */
    weft_mutex_t *mutex;
    atomic_int at_event;
    atomic_long errno_wrong, tls_moved, checked;
};

static int nap(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return weft_sleep(1);
}

static int blocking_call(void *arg, void **result)
{
    (void)arg;
    (void)result;
    usleep(100);
    return 0;
}

static int suspend_by(struct shared *sh, enum kind k, int i)
{
    switch (k) {
    case K_YIELD:
        return weft_yield();
    case K_SLEEP:
        return weft_sleep(1);
    case K_AWAIT:
    case K_WAIT_FOR:
    case K_GATHER: {
        weft_task_t *c = weft_spawn(nap, NULL);
        if (!c)
            return weft_last_error();
        int rc = k == K_AWAIT      ? weft_await(c, NULL)
                 : k == K_WAIT_FOR ? weft_wait_for(c, 60000, NULL)
                                   : weft_gather(&c, 1, NULL, 0);
        weft_task_release(c);
        return rc;
    }
    case K_CHAN: {
        /* Pairs: even tasks send, odd ones receive (the counts match). */
        void *item = NULL;
        return i % 2 ? weft_chan_recv(sh->chan, &item) : weft_chan_send(sh->chan, sh);
    }
    case K_EVENT:
        if (atomic_fetch_add(&sh->at_event, 1) + 1 == ntasks)
            weft_event_set(sh->event);
        return weft_event_wait(sh->event);
    case K_SEM: {
        int rc = weft_sem_acquire(sh->sem);
        if (rc == 0) {
            weft_yield(); /* hold it across a switch, so others wait */
            weft_sem_release(sh->sem);
        }
        return rc;
    }
    case K_MUTEX: {
        int rc = weft_mutex_lock(sh->mutex);
        if (rc == 0) {
            weft_yield();
            weft_mutex_unlock(sh->mutex);
        }
        return rc;
    }
    case K_BLOCKING:
        return weft_run_blocking(blocking_call, NULL, NULL);
    default:
        return 0;
    }
}

/* Task arguments: each points at its own slot of an array of pointers to
 * the shared state, so a task knows its index from its address. */
static struct shared *slots[MAX_TASKS];

static int ordinary_task(void *arg, void **result)
{
    (void)result;
    struct shared *sh = *(struct shared **)arg;
    int i = (int)((struct shared **)arg - slots);
    for (int k = 0; k < K_COUNT; k++) {
        int *slot = tls_slot_now(); /* the thread it runs on now */
        /* A failing call sets errno here... */
        CHECK(open("/nonexistent/weft", O_RDONLY) == -1);
        CHECK_EQ(errno, ENOENT);
        CHECK_EQ(suspend_by(sh, (enum kind)k, i), 0);
        /* ...and another after the suspension: errno, read the way C
         * code reads it, must be this one's. */
        CHECK(close(-1) == -1);
        if (errno != EBADF)
            atomic_fetch_add(&sh->errno_wrong, 1);
        if (slot != tls_slot_now())
            atomic_fetch_add(&sh->tls_moved, 1);
        atomic_fetch_add(&sh->checked, 1);
    }
    return 0;
}

static int main_task(void *arg, void **result)
{
    (void)result;
    struct shared *sh = arg;
    weft_task_t **t = calloc((size_t)ntasks, sizeof *t);
    CHECK(t != NULL);
    for (int i = 0; i < ntasks; i++) {
        slots[i] = sh;
        t[i] = weft_spawn(ordinary_task, &slots[i]);
        CHECK(t[i] != NULL);
    }
    for (int i = 0; i < ntasks; i++) {
        CHECK_EQ(weft_await(t[i], NULL), 0);
        weft_task_release(t[i]);
    }
    free(t);
    return 0;
}

static void test_errno_and_thread_locals_stay_the_tasks_own(void **state)
{
    (void)state;
    const char *scale = getenv("WEFT_TEST_SCALE");
    ntasks = MAX_TASKS;
    if (scale && atoi(scale) > 0 && atoi(scale) < MAX_TASKS)
        ntasks = atoi(scale) & ~1;
    struct shared sh = {.chan = weft_chan_new(0), .event = weft_event_new(),
                        .sem = weft_sem_new(3), .mutex = weft_mutex_new()};
    assert_non_null(sh.chan);
    assert_non_null(sh.event);
    assert_non_null(sh.sem);
    assert_non_null(sh.mutex);
    weft_config_t cfg = {.workers = WORKERS};
    assert_int_equal(weft_run(&cfg, main_task, &sh, NULL), 0);
    print_message("%ld checks: errno wrong %ld, thread-locals moved %ld\n",
                  atomic_load(&sh.checked), atomic_load(&sh.errno_wrong),
                  atomic_load(&sh.tls_moved));
    assert_int_equal(atomic_load(&sh.checked), (long)ntasks * K_COUNT);
    assert_int_equal(atomic_load(&sh.errno_wrong), 0);
    assert_int_equal(atomic_load(&sh.tls_moved), 0);
    weft_chan_free(sh.chan);
    weft_event_free(sh.event);
    weft_sem_free(sh.sem);
    weft_mutex_free(sh.mutex);
    assert_no_check_failures();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errno_and_thread_locals_stay_the_tasks_own),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
