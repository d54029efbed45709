/*
 * test_sync.c - the rules of weft_mutex_*, weft_sem_* and weft_event_*: a
 * mutex keeps a counter right under 10,000 tasks, a semaphore never lets
 * more than its count in, an event wakes every waiter, waiters are served
 * in FIFO order, a cancel while waiting acquires nothing (and one that
 * comes after the hand-off leaves it acquired), a pending cancel fails a
 * wait at once, ownership rules of the mutex, and bad input.  One test per
 * rule, named after it.  Threads that are not workers may wait on events
 * and semaphores (they block); the mutex is for tasks only.
 */
#include "sync.h"

#include <limits.h>

/* A task that signals `ready` and then waits on one primitive. */
struct waiter {
    weft_mutex_t *m;
    weft_sem_t *s;
    weft_event_t *e;
    atomic_int ready;   /* about to wait */
    int rc;             /* what the wait returned */
    int *order;         /* where to note the turn it got, if set */
    atomic_int *turn;   /* the shared turn counter */
    int id;
};

static void note_turn(struct waiter *w)
{
    if (w->order)
        w->order[atomic_fetch_add(w->turn, 1)] = w->id;
}

static int lock_waiter(void *arg, void **result)
{
    (void)result;
    struct waiter *w = arg;
    atomic_store(&w->ready, 1);
    w->rc = weft_mutex_lock(w->m);
    if (w->rc == 0) {
        note_turn(w);
        CHECK_EQ(weft_mutex_unlock(w->m), 0);
    }
    return w->rc;
}

static int sem_waiter(void *arg, void **result)
{
    (void)result;
    struct waiter *w = arg;
    atomic_store(&w->ready, 1);
    w->rc = weft_sem_acquire(w->s);
    if (w->rc == 0)
        note_turn(w);
    return w->rc;
}

static int event_waiter(void *arg, void **result)
{
    (void)result;
    struct waiter *w = arg;
    atomic_store(&w->ready, 1);
    w->rc = weft_event_wait(w->e);
    return w->rc;
}

/* ---- mutex ---------------------------------------------------------------- */

/* ThreadSanitizer makes a fiber for every task stack, at about a
 * millisecond each: it gets fewer tasks, in waves. */
#ifdef WEFT_TSAN
#define COUNTER_TASKS 1000
#define COUNTER_WAVE 100
#else
#define COUNTER_TASKS 10000
#define COUNTER_WAVE 10000
#endif

struct counter {
    weft_mutex_t *m;
    long value;         /* guarded by m */
    atomic_int inside;  /* tasks between lock and unlock */
    atomic_int overlap; /* times two were inside at once */
};

static int counter_task(void *arg, void **result)
{
    (void)result;
    struct counter *c = arg;
    int rc = weft_mutex_lock(c->m);
    if (rc != 0)
        return rc;
    if (atomic_fetch_add(&c->inside, 1) != 0)
        atomic_fetch_add(&c->overlap, 1);
    long v = c->value;
    weft_yield(); /* let others run, and try the lock, while we hold it */
    c->value = v + 1;
    atomic_fetch_sub(&c->inside, 1);
    return weft_mutex_unlock(c->m);
}

static int counter_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct counter c = {.m = weft_mutex_new()};
    weft_task_t **t = calloc(COUNTER_WAVE, sizeof *t);
    CHECK(c.m != NULL && t != NULL);
    for (int done = 0; done < COUNTER_TASKS; done += COUNTER_WAVE) {
        for (int i = 0; i < COUNTER_WAVE; i++)
            t[i] = spawn_checked(counter_task, &c);
        for (int i = 0; i < COUNTER_WAVE; i++)
            CHECK_EQ(await_release(t[i]), 0);
    }
    CHECK_EQ(c.value, COUNTER_TASKS);
    CHECK_EQ(atomic_load(&c.overlap), 0);
    CHECK_EQ(weft_mutex_trylock(c.m), 0); /* left unlocked */
    CHECK_EQ(weft_mutex_unlock(c.m), 0);
    weft_mutex_free(c.m);
    free(t);
    return 0;
}

static void test_mutex_keeps_a_counter_right_under_many_tasks(void **state)
{
    (void)state;
    sem_run(2, counter_main, NULL, 0);
}

#define FIFO_N 5

static int mutex_fifo_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_mutex_t *m = weft_mutex_new();
    CHECK_EQ(weft_mutex_lock(m), 0);
    struct waiter w[FIFO_N];
    weft_task_t *t[FIFO_N];
    int order[FIFO_N];
    atomic_int turn = 0;
    for (int i = 0; i < FIFO_N; i++) {
        w[i] = (struct waiter){.m = m, .order = order, .turn = &turn, .id = i};
        t[i] = spawn_checked(lock_waiter, &w[i]);
        yield_until(&w[i].ready);
    }
    CHECK_EQ(weft_mutex_unlock(m), 0);
    /* Handed over directly: a newcomer cannot overtake the waiters. */
    CHECK_EQ(weft_mutex_trylock(m), WEFT_EAGAIN);
    for (int i = 0; i < FIFO_N; i++)
        CHECK_EQ(await_release(t[i]), 0);
    for (int i = 0; i < FIFO_N; i++)
        CHECK_EQ(order[i], i);
    weft_mutex_free(m);
    return 0;
}

static void test_mutex_waiters_get_it_in_fifo_order(void **state)
{
    (void)state;
    sem_run(1, mutex_fifo_main, NULL, 0);
}

static int unlock_other(void *arg, void **result)
{
    (void)result;
    weft_mutex_t *m = arg;
    CHECK_EQ(weft_mutex_trylock(m), WEFT_EAGAIN);
    return weft_mutex_unlock(m);
}

static int mutex_owner_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_mutex_t *m = weft_mutex_new();
    CHECK_EQ(weft_mutex_unlock(m), WEFT_EPERM); /* not held */
    CHECK_EQ(weft_mutex_lock(m), 0);
    CHECK_EQ(weft_mutex_lock(m), WEFT_EDEADLK);
    CHECK_EQ(weft_mutex_trylock(m), WEFT_EDEADLK);
    weft_task_t *t = spawn_checked(unlock_other, m);
    CHECK_EQ(await_release(t), WEFT_EPERM);
    CHECK_EQ(weft_mutex_unlock(m), 0); /* still ours */
    CHECK_EQ(weft_mutex_unlock(m), WEFT_EPERM);
    weft_mutex_free(m);
    return 0;
}

static void test_mutex_only_its_holder_unlocks_it(void **state)
{
    (void)state;
    sem_run(2, mutex_owner_main, NULL, 0);
}

static int mutex_cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_mutex_t *m = weft_mutex_new();
    CHECK_EQ(weft_mutex_lock(m), 0);
    struct waiter w = {.m = m};
    weft_task_t *t = spawn_checked(lock_waiter, &w);
    yield_until(&w.ready);
    CHECK_EQ(weft_cancel(t), 1);
    CHECK_EQ(await_release(t), WEFT_ECANCELED);
    /* Nobody waits any more: unlocking frees it. */
    CHECK_EQ(weft_mutex_unlock(m), 0);
    CHECK_EQ(weft_mutex_trylock(m), 0);
    CHECK_EQ(weft_mutex_unlock(m), 0);
    weft_mutex_free(m);
    return 0;
}

static void test_mutex_cancel_while_waiting_acquires_nothing(void **state)
{
    (void)state;
    sem_run(1, mutex_cancel_main, NULL, 0);
}

struct handed_lock {
    weft_mutex_t *m;
    atomic_int ready;
    int lock_rc;
    int next_rc;
    int unlock_rc;
};

static int lock_then_yield(void *arg, void **result)
{
    (void)result;
    struct handed_lock *h = arg;
    atomic_store(&h->ready, 1);
    h->lock_rc = weft_mutex_lock(h->m);
    h->next_rc = weft_yield();
    if (h->lock_rc == 0)
        h->unlock_rc = weft_mutex_unlock(h->m);
    return h->next_rc;
}

static int mutex_handed_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct handed_lock h = {.m = weft_mutex_new()};
    CHECK_EQ(weft_mutex_lock(h.m), 0);
    weft_task_t *t = spawn_checked(lock_then_yield, &h);
    yield_until(&h.ready);
    /* One worker: the waiter is handed the mutex, then cancelled before
     * it runs again; it holds the mutex and sees the cancel next. */
    CHECK_EQ(weft_mutex_unlock(h.m), 0);
    CHECK_EQ(weft_cancel(t), 1);
    CHECK_EQ(await_release(t), WEFT_ECANCELED);
    CHECK_EQ(h.lock_rc, 0);
    CHECK_EQ(h.next_rc, WEFT_ECANCELED);
    CHECK_EQ(h.unlock_rc, 0);
    weft_mutex_free(h.m);
    return 0;
}

static void test_mutex_handed_to_a_cancelled_waiter_stays_acquired(void **state)
{
    (void)state;
    sem_run(1, mutex_handed_main, NULL, 0);
}

/* ---- semaphore ------------------------------------------------------------ */

#define SEM_COUNT 3
#define SEM_TASKS 200

struct bounded {
    weft_sem_t *s;
    atomic_int inside; /* tasks holding a permit */
    atomic_int max;    /* the most at once */
};

static int bounded_task(void *arg, void **result)
{
    (void)result;
    struct bounded *b = arg;
    int rc = weft_sem_acquire(b->s);
    if (rc != 0)
        return rc;
    int now = atomic_fetch_add(&b->inside, 1) + 1;
    int max = atomic_load(&b->max);
    while (now > max && !atomic_compare_exchange_weak(&b->max, &max, now)) {
    }
    for (int i = 0; i < 3; i++)
        weft_yield();
    atomic_fetch_sub(&b->inside, 1);
    return weft_sem_release(b->s);
}

static int bounded_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct bounded b = {.s = weft_sem_new(SEM_COUNT)};
    weft_task_t *t[SEM_TASKS];
    for (int i = 0; i < SEM_TASKS; i++)
        t[i] = spawn_checked(bounded_task, &b);
    for (int i = 0; i < SEM_TASKS; i++)
        CHECK_EQ(await_release(t[i]), 0);
    CHECK(atomic_load(&b.max) >= 1);
    CHECK(atomic_load(&b.max) <= SEM_COUNT);
    /* Every permit came back. */
    for (int i = 0; i < SEM_COUNT; i++)
        CHECK_EQ(weft_sem_try_acquire(b.s), 0);
    CHECK_EQ(weft_sem_try_acquire(b.s), WEFT_EAGAIN);
    weft_sem_free(b.s);
    return 0;
}

static void test_sem_never_lets_more_than_its_count_in(void **state)
{
    (void)state;
    sem_run(2, bounded_main, NULL, 0);
}

static int sem_fifo_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_sem_t *s = weft_sem_new(0);
    struct waiter w[FIFO_N];
    weft_task_t *t[FIFO_N];
    int order[FIFO_N];
    atomic_int turn = 0;
    for (int i = 0; i < FIFO_N; i++) {
        w[i] = (struct waiter){.s = s, .order = order, .turn = &turn, .id = i};
        t[i] = spawn_checked(sem_waiter, &w[i]);
        yield_until(&w[i].ready);
    }
    for (int i = 0; i < FIFO_N; i++) {
        CHECK_EQ(weft_sem_release(s), 0);
        /* The permit went to a waiter, not to the count. */
        CHECK_EQ(weft_sem_try_acquire(s), WEFT_EAGAIN);
        /* Let it run and note its turn before the next release: woken
         * tasks run in no promised order, permits are handed in one. */
        while (atomic_load(&turn) != i + 1)
            weft_yield();
    }
    for (int i = 0; i < FIFO_N; i++)
        CHECK_EQ(await_release(t[i]), 0);
    for (int i = 0; i < FIFO_N; i++)
        CHECK_EQ(order[i], i);
    weft_sem_free(s);
    return 0;
}

static void test_sem_waiters_get_permits_in_fifo_order(void **state)
{
    (void)state;
    sem_run(1, sem_fifo_main, NULL, 0);
}

static int sem_cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_sem_t *s = weft_sem_new(0);
    struct waiter w = {.s = s};
    weft_task_t *t = spawn_checked(sem_waiter, &w);
    yield_until(&w.ready);
    CHECK_EQ(weft_cancel(t), 1);
    CHECK_EQ(await_release(t), WEFT_ECANCELED);
    CHECK_EQ(weft_sem_release(s), 0); /* to the count: nobody waits */
    CHECK_EQ(weft_sem_try_acquire(s), 0);
    CHECK_EQ(weft_sem_try_acquire(s), WEFT_EAGAIN);
    weft_sem_free(s);
    return 0;
}

static void test_sem_cancel_while_waiting_acquires_nothing(void **state)
{
    (void)state;
    sem_run(1, sem_cancel_main, NULL, 0);
}

static void test_sem_try_and_release_work_outside_tasks(void **state)
{
    (void)state;
    weft_sem_t *s = weft_sem_new(1);
    assert_non_null(s);
    assert_int_equal(weft_sem_try_acquire(s), 0);
    assert_int_equal(weft_sem_try_acquire(s), WEFT_EAGAIN);
    assert_int_equal(weft_sem_release(s), 0);
    assert_int_equal(weft_sem_try_acquire(s), 0);
    weft_sem_free(s);
    weft_sem_t *full = weft_sem_new(UINT_MAX);
    assert_non_null(full);
    assert_int_equal(weft_sem_release(full), WEFT_EINVAL);
    weft_sem_free(full);
}

/* ---- event ---------------------------------------------------------------- */

#define EVENT_WAITERS 100

static int event_all_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_event_t *e = weft_event_new();
    CHECK_EQ(weft_event_is_set(e), 0);
    struct waiter w[EVENT_WAITERS];
    weft_task_t *t[EVENT_WAITERS];
    for (int i = 0; i < EVENT_WAITERS; i++) {
        w[i] = (struct waiter){.e = e};
        t[i] = spawn_checked(event_waiter, &w[i]);
    }
    for (int i = 0; i < EVENT_WAITERS; i++)
        task_wait_flag(&w[i].ready);
    weft_sleep(5);
    CHECK_EQ(weft_event_set(e), 0);
    CHECK_EQ(weft_event_is_set(e), 1);
    for (int i = 0; i < EVENT_WAITERS; i++)
        CHECK_EQ(await_release(t[i]), 0);
    /* A set event lets waits through; a cleared one holds them again. */
    CHECK_EQ(weft_event_wait(e), 0);
    CHECK_EQ(weft_event_clear(e), 0);
    CHECK_EQ(weft_event_is_set(e), 0);
    struct waiter late = {.e = e};
    weft_task_t *lt = spawn_checked(event_waiter, &late);
    task_wait_flag(&late.ready);
    weft_sleep(5);
    CHECK(!weft_task_done(lt));
    CHECK_EQ(weft_event_set(e), 0);
    CHECK_EQ(await_release(lt), 0);
    weft_event_free(e);
    return 0;
}

static void test_event_set_wakes_every_waiter(void **state)
{
    (void)state;
    sem_run(2, event_all_main, NULL, 0);
}

static int event_cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_event_t *e = weft_event_new();
    struct waiter a = {.e = e}, b = {.e = e};
    weft_task_t *ta = spawn_checked(event_waiter, &a);
    yield_until(&a.ready);
    weft_task_t *tb = spawn_checked(event_waiter, &b);
    yield_until(&b.ready);
    CHECK_EQ(weft_cancel(ta), 1);
    CHECK_EQ(await_release(ta), WEFT_ECANCELED);
    CHECK(!weft_task_done(tb)); /* the other waiter still waits */
    CHECK_EQ(weft_event_set(e), 0);
    CHECK_EQ(await_release(tb), 0);
    weft_event_free(e);
    return 0;
}

static void test_event_cancel_while_waiting_ends_only_that_wait(void **state)
{
    (void)state;
    sem_run(1, event_cancel_main, NULL, 0);
}

/* ---- a pending cancel, bad input ------------------------------------------ */

static int pending_cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* A call that would wait fails at once and takes nothing; one that
     * need not wait is not a suspension point. */
    weft_task_t *self = weft_current();
    weft_sem_t *s = weft_sem_new(1);
    weft_mutex_t *m = weft_mutex_new();
    weft_event_t *e = weft_event_new();
    CHECK_EQ(weft_cancel(self), 1);
    CHECK_EQ(weft_sem_acquire(s), 0);
    CHECK_EQ(weft_sem_acquire(s), WEFT_ECANCELED);
    CHECK_EQ(weft_cancel(self), 1);
    CHECK_EQ(weft_event_wait(e), WEFT_ECANCELED);
    CHECK_EQ(weft_cancel(self), 1);
    CHECK_EQ(weft_mutex_lock(m), 0);
    CHECK_EQ(weft_mutex_unlock(m), 0);
    CHECK_EQ(weft_yield(), WEFT_ECANCELED); /* still pending after the lock */
    CHECK_EQ(weft_sem_try_acquire(s), WEFT_EAGAIN);
    weft_sem_free(s);
    weft_mutex_free(m);
    weft_event_free(e);
    return 0;
}

static void test_sync_pending_cancel_fails_a_wait_at_once(void **state)
{
    (void)state;
    sem_run(1, pending_cancel_main, NULL, 0);
}

static void test_sync_bad_input_is_refused(void **state)
{
    (void)state;
    assert_int_equal(weft_mutex_lock(NULL), WEFT_EINVAL);
    assert_int_equal(weft_mutex_trylock(NULL), WEFT_EINVAL);
    assert_int_equal(weft_mutex_unlock(NULL), WEFT_EINVAL);
    assert_int_equal(weft_sem_acquire(NULL), WEFT_EINVAL);
    assert_int_equal(weft_sem_try_acquire(NULL), WEFT_EINVAL);
    assert_int_equal(weft_sem_release(NULL), WEFT_EINVAL);
    assert_int_equal(weft_event_set(NULL), WEFT_EINVAL);
    assert_int_equal(weft_event_clear(NULL), WEFT_EINVAL);
    assert_int_equal(weft_event_is_set(NULL), WEFT_EINVAL);
    assert_int_equal(weft_event_wait(NULL), WEFT_EINVAL);
    weft_mutex_free(NULL);
    weft_sem_free(NULL);
    weft_event_free(NULL);
    /* Outside a task the mutex refuses: it is held by tasks. */
    weft_mutex_t *m = weft_mutex_new();
    assert_non_null(m);
    assert_int_equal(weft_mutex_lock(m), WEFT_EPERM);
    assert_int_equal(weft_mutex_trylock(m), WEFT_EPERM);
    assert_int_equal(weft_mutex_unlock(m), WEFT_EPERM);
    weft_mutex_free(m);
}

/* ---- a thread that is not a worker waits on an event and a semaphore ---- */

struct thread_peer {
    weft_event_t *e;
    weft_sem_t *s;
};

static int peer_task(void *arg, void **result)
{
    (void)result;
    struct thread_peer *p = arg;
    /* Give the thread time to block first; either order must work. */
    weft_sleep(5);
    CHECK_EQ(weft_event_set(p->e), 0);
    weft_sleep(5);
    return weft_sem_release(p->s);
}

static void test_sync_a_foreign_thread_blocks_until_a_task_wakes_it(void **state)
{
    (void)state;
    weft_config_t cfg = {.workers = 1};
    weft_sched_t *sched = weft_start(&cfg);
    assert_non_null(sched);
    struct thread_peer p = {.e = weft_event_new(), .s = weft_sem_new(0)};
    assert_true(p.e && p.s);
    weft_task_t *t = weft_submit(sched, peer_task, &p);
    assert_non_null(t);
    assert_int_equal(weft_event_wait(p.e), 0);
    assert_int_equal(weft_sem_acquire(p.s), 0);
    assert_int_equal(weft_block_on(t, NULL), 0);
    weft_task_release(t);
    assert_int_equal(weft_stop(sched), 0);
    assert_int_equal(weft_sem_try_acquire(p.s), WEFT_EAGAIN);
    weft_event_free(p.e);
    weft_sem_free(p.s);
    assert_no_check_failures();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutex_keeps_a_counter_right_under_many_tasks),
        cmocka_unit_test(test_mutex_waiters_get_it_in_fifo_order),
        cmocka_unit_test(test_mutex_only_its_holder_unlocks_it),
        cmocka_unit_test(test_mutex_cancel_while_waiting_acquires_nothing),
        cmocka_unit_test(test_mutex_handed_to_a_cancelled_waiter_stays_acquired),
        cmocka_unit_test(test_sem_never_lets_more_than_its_count_in),
        cmocka_unit_test(test_sem_waiters_get_permits_in_fifo_order),
        cmocka_unit_test(test_sem_cancel_while_waiting_acquires_nothing),
        cmocka_unit_test(test_sem_try_and_release_work_outside_tasks),
        cmocka_unit_test(test_event_set_wakes_every_waiter),
        cmocka_unit_test(test_event_cancel_while_waiting_ends_only_that_wait),
        cmocka_unit_test(test_sync_pending_cancel_fails_a_wait_at_once),
        cmocka_unit_test(test_sync_bad_input_is_refused),
        cmocka_unit_test(test_sync_a_foreign_thread_blocks_until_a_task_wakes_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
