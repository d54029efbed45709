/*
 * test_chan.c - the rules of weft_chan_*: every item moves exactly once
 * between many producers and consumers, an unbuffered send completes only
 * when received, waiters on each side are served in FIFO order, close
 * wakes both sides (receivers drain the buffer first), the try variants
 * never wait, a cancelled send sends nothing and a cancelled receive
 * receives nothing (an item already handed over is delivered), a thread
 * that is not a worker blocks until a task answers, and bad input.  One
 * test per rule, named after it.
 */
#include "sync.h"

/* ---- 4 producers x 4 consumers: each item exactly once ------------------ */

#define MPMC_SIDES 4
#define MPMC_ITEMS (1000000 / SYNC_SCALE)

struct mpmc {
    weft_chan_t *c;
    atomic_uchar *seen;     /* per item: how often it was received */
    atomic_ullong sum;      /* of the items received */
    atomic_int next_producer;
};

static int mpmc_producer(void *arg, void **result)
{
    (void)result;
    struct mpmc *m = arg;
    int p = atomic_fetch_add(&m->next_producer, 1);
    for (uintptr_t i = (uintptr_t)p; i < MPMC_ITEMS; i += MPMC_SIDES) {
        int rc = weft_chan_send(m->c, (void *)(i + 1)); /* items are never NULL */
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int mpmc_consumer(void *arg, void **result)
{
    (void)result;
    struct mpmc *m = arg;
    for (;;) {
        void *item;
        int rc = weft_chan_recv(m->c, &item);
        if (rc == WEFT_ECLOSED)
            return 0;
        if (rc != 0)
            return rc;
        uintptr_t v = (uintptr_t)item;
        CHECK(v >= 1 && v <= MPMC_ITEMS);
        if (v >= 1 && v <= MPMC_ITEMS)
            atomic_fetch_add_explicit(&m->seen[v - 1], 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&m->sum, v, memory_order_relaxed);
    }
}

static int mpmc_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct mpmc m = {.c = weft_chan_new(64), .seen = calloc(MPMC_ITEMS, 1)};
    CHECK(m.c != NULL && m.seen != NULL);
    weft_task_t *prod[MPMC_SIDES], *cons[MPMC_SIDES];
    for (int i = 0; i < MPMC_SIDES; i++) {
        cons[i] = spawn_checked(mpmc_consumer, &m);
        prod[i] = spawn_checked(mpmc_producer, &m);
    }
    for (int i = 0; i < MPMC_SIDES; i++)
        CHECK_EQ(await_release(prod[i]), 0);
    CHECK_EQ(weft_chan_close(m.c), 0);
    for (int i = 0; i < MPMC_SIDES; i++)
        CHECK_EQ(await_release(cons[i]), 0);
    unsigned long long n = MPMC_ITEMS;
    CHECK_EQ(atomic_load(&m.sum), n * (n + 1) / 2);
    size_t wrong = 0;
    for (size_t i = 0; i < MPMC_ITEMS; i++)
        wrong += atomic_load(&m.seen[i]) != 1;
    CHECK_EQ(wrong, 0);
    CHECK_EQ(weft_chan_len(m.c), 0);
    weft_chan_free(m.c);
    free(m.seen);
    return 0;
}

static void test_chan_mpmc_moves_every_item_exactly_once(void **state)
{
    (void)state;
    sem_run(2, mpmc_main, NULL, 0);
}

/* ---- unbuffered: a send completes only when a receiver took the item ---- */

struct one_send {
    weft_chan_t *c;
    void *item;
    atomic_int ready; /* about to send (or receive) */
    atomic_int done;  /* the call returned */
    int rc;           /* what it returned */
    void *got;        /* a receiver's item */
};

static int send_one(void *arg, void **result)
{
    (void)result;
    struct one_send *s = arg;
    atomic_store(&s->ready, 1);
    s->rc = weft_chan_send(s->c, s->item);
    atomic_store(&s->done, 1);
    return s->rc;
}

static int recv_one(void *arg, void **result)
{
    (void)result;
    struct one_send *s = arg;
    atomic_store(&s->ready, 1);
    s->rc = weft_chan_recv(s->c, &s->got);
    atomic_store(&s->done, 1);
    return s->rc;
}

static int rendezvous_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int token;
    struct one_send s = {.c = weft_chan_new(0), .item = &token};
    weft_task_t *t = spawn_checked(send_one, &s);
    yield_until(&s.ready);
    /* However long we wait, the send cannot complete without us. */
    for (int i = 0; i < 20; i++)
        weft_yield();
    CHECK_EQ(weft_sleep(10), 0);
    CHECK_EQ(atomic_load(&s.done), 0);
    CHECK_EQ(weft_chan_len(s.c), 0);
    void *got = NULL;
    CHECK_EQ(weft_chan_recv(s.c, &got), 0);
    CHECK(got == &token);
    CHECK_EQ(await_release(t), 0);
    CHECK_EQ(s.rc, 0);
    /* Nobody is waiting now: an unbuffered channel holds nothing. */
    CHECK_EQ(weft_chan_try_send(s.c, &token), WEFT_EAGAIN);
    weft_chan_free(s.c);
    return 0;
}

static void test_chan_unbuffered_send_completes_only_when_received(void **state)
{
    (void)state;
    sem_run(1, rendezvous_main, NULL, 0);
}

/* ---- FIFO: items in order, waiters served oldest first ------------------ */

#define FIFO_N 5

static int fifo_items_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_chan_t *c = weft_chan_new(8);
    for (uintptr_t i = 1; i <= 8; i++)
        CHECK_EQ(weft_chan_try_send(c, (void *)i), 0);
    /* The ring wraps: take three, add three more. */
    for (uintptr_t i = 1; i <= 3; i++) {
        void *v;
        CHECK_EQ(weft_chan_try_recv(c, &v), 0);
        CHECK_EQ((uintptr_t)v, i);
        CHECK_EQ(weft_chan_try_send(c, (void *)(8 + i)), 0);
    }
    CHECK_EQ(weft_chan_len(c), 8);
    for (uintptr_t i = 4; i <= 11; i++) {
        void *v;
        CHECK_EQ(weft_chan_recv(c, &v), 0);
        CHECK_EQ((uintptr_t)v, i);
    }
    weft_chan_free(c);
    return 0;
}

static void test_chan_items_come_out_in_the_order_sent(void **state)
{
    (void)state;
    sem_run(1, fifo_items_main, NULL, 0);
}

static int fifo_receivers_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_chan_t *c = weft_chan_new(0);
    struct one_send r[FIFO_N];
    weft_task_t *t[FIFO_N];
    for (int i = 0; i < FIFO_N; i++) {
        r[i] = (struct one_send){.c = c};
        t[i] = spawn_checked(recv_one, &r[i]);
        yield_until(&r[i].ready); /* queued before the next one */
    }
    for (uintptr_t i = 0; i < FIFO_N; i++)
        CHECK_EQ(weft_chan_try_send(c, (void *)(i + 1)), 0);
    for (int i = 0; i < FIFO_N; i++) {
        CHECK_EQ(await_release(t[i]), 0);
        CHECK_EQ((uintptr_t)r[i].got, (uintptr_t)i + 1);
    }
    weft_chan_free(c);
    return 0;
}

static void test_chan_receivers_are_served_in_fifo_order(void **state)
{
    (void)state;
    sem_run(1, fifo_receivers_main, NULL, 0);
}

static int fifo_senders_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* Buffered and full: waiting senders' items enter the ring in order. */
    weft_chan_t *c = weft_chan_new(2);
    CHECK_EQ(weft_chan_try_send(c, (void *)(uintptr_t)1), 0);
    CHECK_EQ(weft_chan_try_send(c, (void *)(uintptr_t)2), 0);
    struct one_send s[FIFO_N];
    weft_task_t *t[FIFO_N];
    for (int i = 0; i < FIFO_N; i++) {
        s[i] = (struct one_send){.c = c, .item = (void *)(uintptr_t)(i + 3)};
        t[i] = spawn_checked(send_one, &s[i]);
        yield_until(&s[i].ready);
    }
    for (uintptr_t i = 1; i <= FIFO_N + 2; i++) {
        void *v;
        CHECK_EQ(weft_chan_recv(c, &v), 0);
        CHECK_EQ((uintptr_t)v, i);
    }
    for (int i = 0; i < FIFO_N; i++)
        CHECK_EQ(await_release(t[i]), 0);
    weft_chan_free(c);
    return 0;
}

static void test_chan_senders_are_served_in_fifo_order(void **state)
{
    (void)state;
    sem_run(1, fifo_senders_main, NULL, 0);
}

/* ---- close ---------------------------------------------------------------- */

static int close_waiters_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* Receivers waiting on an empty channel. */
    weft_chan_t *rc_chan = weft_chan_new(0);
    struct one_send r[3];
    weft_task_t *rt[3];
    for (int i = 0; i < 3; i++) {
        r[i] = (struct one_send){.c = rc_chan};
        rt[i] = spawn_checked(recv_one, &r[i]);
        yield_until(&r[i].ready);
    }
    /* Senders waiting on a full one. */
    weft_chan_t *sc_chan = weft_chan_new(1);
    CHECK_EQ(weft_chan_try_send(sc_chan, (void *)(uintptr_t)7), 0);
    struct one_send s[3];
    weft_task_t *st[3];
    for (int i = 0; i < 3; i++) {
        s[i] = (struct one_send){.c = sc_chan, .item = (void *)(uintptr_t)(100 + i)};
        st[i] = spawn_checked(send_one, &s[i]);
        yield_until(&s[i].ready);
    }
    CHECK_EQ(weft_chan_close(rc_chan), 0);
    CHECK_EQ(weft_chan_close(sc_chan), 0);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(await_release(rt[i]), WEFT_ECLOSED);
        CHECK_EQ(await_release(st[i]), WEFT_ECLOSED);
    }
    /* The waiting senders' items were not sent: only the buffered one. */
    void *v;
    CHECK_EQ(weft_chan_recv(sc_chan, &v), 0);
    CHECK_EQ((uintptr_t)v, 7);
    CHECK_EQ(weft_chan_recv(sc_chan, &v), WEFT_ECLOSED);
    CHECK_EQ(weft_chan_close(rc_chan), WEFT_ECLOSED);
    weft_chan_free(rc_chan);
    weft_chan_free(sc_chan);
    return 0;
}

static void test_chan_close_wakes_waiters_on_both_sides(void **state)
{
    (void)state;
    sem_run(1, close_waiters_main, NULL, 0);
}

static int close_drain_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_chan_t *c = weft_chan_new(4);
    for (uintptr_t i = 1; i <= 3; i++)
        CHECK_EQ(weft_chan_send(c, (void *)i), 0);
    CHECK_EQ(weft_chan_close(c), 0);
    CHECK_EQ(weft_chan_send(c, (void *)(uintptr_t)9), WEFT_ECLOSED);
    CHECK_EQ(weft_chan_try_send(c, (void *)(uintptr_t)9), WEFT_ECLOSED);
    void *v;
    CHECK_EQ(weft_chan_recv(c, &v), 0);
    CHECK_EQ((uintptr_t)v, 1);
    CHECK_EQ(weft_chan_try_recv(c, &v), 0);
    CHECK_EQ((uintptr_t)v, 2);
    CHECK_EQ(weft_chan_recv(c, &v), 0);
    CHECK_EQ((uintptr_t)v, 3);
    CHECK_EQ(weft_chan_recv(c, &v), WEFT_ECLOSED);
    CHECK_EQ(weft_chan_try_recv(c, &v), WEFT_ECLOSED);
    CHECK_EQ(weft_chan_close(c), WEFT_ECLOSED);
    weft_chan_free(c);
    return 0;
}

static void test_chan_receivers_drain_the_buffer_after_close(void **state)
{
    (void)state;
    sem_run(1, close_drain_main, NULL, 0);
}

/* ---- try variants never wait; they work outside tasks ------------------- */

static void test_chan_try_variants_never_wait(void **state)
{
    (void)state;
    /* No scheduler at all: the try calls need no task. */
    weft_chan_t *c = weft_chan_new(1);
    assert_non_null(c);
    void *v = NULL;
    assert_int_equal(weft_chan_try_recv(c, &v), WEFT_EAGAIN);
    assert_int_equal(weft_chan_try_send(c, (void *)(uintptr_t)5), 0);
    assert_int_equal(weft_chan_try_send(c, (void *)(uintptr_t)6), WEFT_EAGAIN);
    assert_int_equal(weft_chan_len(c), 1);
    assert_int_equal(weft_chan_try_recv(c, &v), 0);
    assert_int_equal((uintptr_t)v, 5);
    assert_int_equal(weft_chan_try_recv(c, &v), WEFT_EAGAIN);
    assert_int_equal(weft_chan_close(c), 0);
    assert_int_equal(weft_chan_try_send(c, v), WEFT_ECLOSED);
    assert_int_equal(weft_chan_try_recv(c, &v), WEFT_ECLOSED);
    weft_chan_free(c);
    weft_chan_t *u = weft_chan_new(0);
    assert_non_null(u);
    assert_int_equal(weft_chan_try_send(u, v), WEFT_EAGAIN);
    assert_int_equal(weft_chan_try_recv(u, &v), WEFT_EAGAIN);
    weft_chan_free(u);
}

static int try_to_waiter_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* A try call completes against a waiter on the other side. */
    weft_chan_t *c = weft_chan_new(0);
    struct one_send r = {.c = c};
    weft_task_t *rt = spawn_checked(recv_one, &r);
    yield_until(&r.ready);
    CHECK_EQ(weft_chan_try_send(c, (void *)(uintptr_t)42), 0);
    CHECK_EQ(await_release(rt), 0);
    CHECK_EQ((uintptr_t)r.got, 42);
    struct one_send s = {.c = c, .item = (void *)(uintptr_t)43};
    weft_task_t *stk = spawn_checked(send_one, &s);
    yield_until(&s.ready);
    void *v;
    CHECK_EQ(weft_chan_try_recv(c, &v), 0);
    CHECK_EQ((uintptr_t)v, 43);
    CHECK_EQ(await_release(stk), 0);
    weft_chan_free(c);
    return 0;
}

static void test_chan_try_variants_complete_with_a_waiter(void **state)
{
    (void)state;
    sem_run(1, try_to_waiter_main, NULL, 0);
}

/* ---- cancellation --------------------------------------------------------- */

static int cancel_send_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    size_t caps[] = {0, 1};
    for (int k = 0; k < 2; k++) {
        weft_chan_t *c = weft_chan_new(caps[k]);
        if (caps[k] == 1)
            CHECK_EQ(weft_chan_try_send(c, (void *)(uintptr_t)1), 0); /* full */
        struct one_send s = {.c = c, .item = (void *)(uintptr_t)2};
        weft_task_t *t = spawn_checked(send_one, &s);
        yield_until(&s.ready);
        CHECK_EQ(atomic_load(&s.done), 0);
        CHECK_EQ(weft_cancel(t), 1);
        CHECK_EQ(await_release(t), WEFT_ECANCELED);
        CHECK_EQ(s.rc, WEFT_ECANCELED);
        /* Nothing was sent, and the sender is no longer queued. */
        void *v;
        if (caps[k] == 1) {
            CHECK_EQ(weft_chan_try_recv(c, &v), 0);
            CHECK_EQ((uintptr_t)v, 1);
        }
        CHECK_EQ(weft_chan_try_recv(c, &v), WEFT_EAGAIN);
        CHECK_EQ(weft_chan_len(c), 0);
        weft_chan_free(c);
    }
    return 0;
}

static void test_chan_cancelled_send_sends_nothing(void **state)
{
    (void)state;
    sem_run(1, cancel_send_main, NULL, 0);
}

static int cancel_recv_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_chan_t *c = weft_chan_new(0);
    struct one_send r = {.c = c};
    weft_task_t *t = spawn_checked(recv_one, &r);
    yield_until(&r.ready);
    CHECK_EQ(weft_cancel(t), 1);
    CHECK_EQ(await_release(t), WEFT_ECANCELED);
    CHECK(r.got == NULL);
    /* The receiver is gone: a send has nobody to hand its item to. */
    CHECK_EQ(weft_chan_try_send(c, (void *)(uintptr_t)1), WEFT_EAGAIN);
    weft_chan_free(c);
    return 0;
}

static void test_chan_cancelled_recv_receives_nothing(void **state)
{
    (void)state;
    sem_run(1, cancel_recv_main, NULL, 0);
}

struct handed {
    weft_chan_t *c;
    atomic_int ready;
    int recv_rc;  /* the receive, completed before the cancel came */
    void *got;
    int next_rc;  /* the next suspension point */
};

static int recv_then_yield(void *arg, void **result)
{
    (void)result;
    struct handed *h = arg;
    atomic_store(&h->ready, 1);
    h->recv_rc = weft_chan_recv(h->c, &h->got);
    h->next_rc = weft_yield();
    return h->next_rc;
}

static int handed_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct handed h = {.c = weft_chan_new(0)};
    weft_task_t *t = spawn_checked(recv_then_yield, &h);
    yield_until(&h.ready);
    /* One worker: the receiver is handed the item and made runnable, then
     * cancelled before it runs again. */
    CHECK_EQ(weft_chan_try_send(h.c, (void *)(uintptr_t)77), 0);
    CHECK_EQ(weft_cancel(t), 1);
    CHECK_EQ(await_release(t), WEFT_ECANCELED);
    CHECK_EQ(h.recv_rc, 0);
    CHECK_EQ((uintptr_t)h.got, 77);
    CHECK_EQ(h.next_rc, WEFT_ECANCELED);
    weft_chan_free(h.c);
    return 0;
}

static void test_chan_item_handed_to_a_cancelled_receiver_is_delivered(void **state)
{
    (void)state;
    sem_run(1, handed_main, NULL, 0);
}

static int pending_cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* A cancel pending before the call: a send or receive that would wait
     * fails at once; one that can complete does. */
    weft_chan_t *c = weft_chan_new(1);
    weft_task_t *self = weft_current();
    CHECK_EQ(weft_cancel(self), 1);
    CHECK_EQ(weft_chan_send(c, (void *)(uintptr_t)1), 0);
    CHECK_EQ(weft_chan_send(c, (void *)(uintptr_t)2), WEFT_ECANCELED);
    CHECK_EQ(weft_cancel(self), 1);
    void *v;
    CHECK_EQ(weft_chan_recv(c, &v), 0);
    CHECK_EQ((uintptr_t)v, 1);
    CHECK_EQ(weft_chan_recv(c, &v), WEFT_ECANCELED);
    CHECK_EQ(weft_chan_len(c), 0);
    weft_chan_free(c);
    return 0;
}

static void test_chan_pending_cancel_fails_a_wait_at_once(void **state)
{
    (void)state;
    sem_run(1, pending_cancel_main, NULL, 0);
}

/* ---- bad input ------------------------------------------------------------ */

static int bad_input_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_chan_t *c = weft_chan_new(1);
    void *v = NULL;
    CHECK_EQ(weft_chan_send(NULL, v), WEFT_EINVAL);
    CHECK_EQ(weft_chan_recv(NULL, &v), WEFT_EINVAL);
    CHECK_EQ(weft_chan_recv(c, NULL), WEFT_EINVAL);
    CHECK_EQ(weft_chan_try_send(NULL, v), WEFT_EINVAL);
    CHECK_EQ(weft_chan_try_recv(NULL, &v), WEFT_EINVAL);
    CHECK_EQ(weft_chan_try_recv(c, NULL), WEFT_EINVAL);
    CHECK_EQ(weft_chan_close(NULL), WEFT_EINVAL);
    CHECK_EQ(weft_chan_len(NULL), 0);
    weft_chan_free(NULL);
    weft_chan_free(c);
    return 0;
}

static void test_chan_bad_input_is_refused(void **state)
{
    (void)state;
    sem_run(1, bad_input_main, NULL, 0);
    assert_null(weft_chan_new(SIZE_MAX));
    assert_int_equal(weft_last_error(), WEFT_EINVAL);
    assert_string_equal(weft_strerror(WEFT_EAGAIN), "it would have to wait");
}

/* ---- a thread that is not a worker blocks; tasks wake it ---------------- */

#define THREAD_ROUNDS 1000

struct echo {
    weft_chan_t *in;   /* thread -> task, unbuffered */
    weft_chan_t *out;  /* task -> thread, unbuffered */
};

static int echo_task(void *arg, void **result)
{
    (void)result;
    struct echo *e = arg;
    for (int i = 0; i < THREAD_ROUNDS; i++) {
        void *v;
        int rc = weft_chan_recv(e->in, &v);
        if (rc != 0)
            return rc;
        rc = weft_chan_send(e->out, (void *)((uintptr_t)v * 2));
        if (rc != 0)
            return rc;
    }
    /* The thread's next receive blocks until this close. */
    weft_sleep(5);
    return weft_chan_close(e->out);
}

static void test_chan_a_foreign_thread_blocks_until_a_task_answers(void **state)
{
    (void)state;
    weft_config_t cfg = {.workers = 2};
    weft_sched_t *s = weft_start(&cfg);
    assert_non_null(s);
    struct echo e = {.in = weft_chan_new(0), .out = weft_chan_new(0)};
    assert_true(e.in && e.out);
    weft_task_t *t = weft_submit(s, echo_task, &e);
    assert_non_null(t);
    for (uintptr_t i = 1; i <= THREAD_ROUNDS; i++) {
        void *v = NULL;
        assert_int_equal(weft_chan_send(e.in, (void *)i), 0);
        assert_int_equal(weft_chan_recv(e.out, &v), 0);
        assert_int_equal((uintptr_t)v, 2 * i);
    }
    void *v;
    assert_int_equal(weft_chan_recv(e.out, &v), WEFT_ECLOSED);
    assert_int_equal(weft_block_on(t, NULL), 0);
    weft_task_release(t);
    assert_int_equal(weft_stop(s), 0);
    weft_chan_free(e.in);
    weft_chan_free(e.out);
    assert_no_check_failures();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chan_mpmc_moves_every_item_exactly_once),
        cmocka_unit_test(test_chan_unbuffered_send_completes_only_when_received),
        cmocka_unit_test(test_chan_items_come_out_in_the_order_sent),
        cmocka_unit_test(test_chan_receivers_are_served_in_fifo_order),
        cmocka_unit_test(test_chan_senders_are_served_in_fifo_order),
        cmocka_unit_test(test_chan_close_wakes_waiters_on_both_sides),
        cmocka_unit_test(test_chan_receivers_drain_the_buffer_after_close),
        cmocka_unit_test(test_chan_try_variants_never_wait),
        cmocka_unit_test(test_chan_try_variants_complete_with_a_waiter),
        cmocka_unit_test(test_chan_cancelled_send_sends_nothing),
        cmocka_unit_test(test_chan_cancelled_recv_receives_nothing),
        cmocka_unit_test(test_chan_item_handed_to_a_cancelled_receiver_is_delivered),
        cmocka_unit_test(test_chan_pending_cancel_fails_a_wait_at_once),
        cmocka_unit_test(test_chan_bad_input_is_refused),
        cmocka_unit_test(test_chan_a_foreign_thread_blocks_until_a_task_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
