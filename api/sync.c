/*
 * sync.c - weft_event_*, weft_sem_*, weft_mutex_*: asyncio's Event,
 * Semaphore and Lock for tasks on any worker.
 *
 * Each object is a spinlock, its state and a FIFO of waiting tasks
 * (sched/waitq.h).  Semaphore permits and the mutex are handed directly to
 * the oldest waiter on release (asyncio's Lock, Go's mutex in starvation
 * mode): the count is not raised and the mutex not freed in between, so a
 * task that arrives later cannot overtake one that waits, and a woken
 * waiter owns what it waited for without retrying.  A waiter is either
 * still queued (a cancel withdraws it: nothing acquired) or already handed
 * what it waited for (the cancel stays pending for the next suspension
 * point).  Events and semaphores may also be waited on by a thread that
 * is not a worker (it blocks); the mutex belongs to tasks only.
 */
#include "sched/fault.h"
#include "sched/waitq.h"

#include <limits.h>
#include <stdlib.h>

/* ---- event --------------------------------------------------------------- */

struct weft_event {
    atomic_flag lock; /* guards set and waiters */
    bool set;         /* asyncio's Event flag */
    weft__wq_t waiters;
};

static const weft__wait_ops_t event_ops = {
    .interrupt = weft__wq_interrupt,
    .what = "event",
};

weft_event_t *weft_event_new(void)
{
    weft_event_t *e = weft__fault_inject("event") ? NULL : malloc(sizeof *e);
    if (!e) {
        weft__set_last_error(WEFT_ENOMEM);
        return NULL;
    }
    atomic_flag_clear_explicit(&e->lock, memory_order_relaxed);
    e->set = false;
    e->waiters = (weft__wq_t){NULL, NULL};
    return e;
}

void weft_event_free(weft_event_t *e)
{
    free(e);
}

int weft_event_set(weft_event_t *e)
{
    if (!e)
        return WEFT_EINVAL;
    weft__spin_lock(&e->lock);
    e->set = true;
    weft__wq_rec_t *all = weft__wq_take_all(&e->waiters);
    weft__spin_unlock(&e->lock);
    weft__wq_wake_list(all, 0);
    return 0;
}

int weft_event_clear(weft_event_t *e)
{
    if (!e)
        return WEFT_EINVAL;
    weft__spin_lock(&e->lock);
    e->set = false;
    weft__spin_unlock(&e->lock);
    return 0;
}

int weft_event_is_set(weft_event_t *e)
{
    if (!e)
        return WEFT_EINVAL;
    weft__spin_lock(&e->lock);
    int set = e->set;
    weft__spin_unlock(&e->lock);
    return set;
}

int weft_event_wait(weft_event_t *e)
{
    if (!e)
        return WEFT_EINVAL;
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    weft__spin_lock(&e->lock);
    if (e->set) {
        weft__spin_unlock(&e->lock);
        return 0;
    }
    weft__wq_rec_t me = {.item = NULL};
    return weft__wq_block(w, self, &e->lock, &e->waiters, &me, &event_ops);
}

/* ---- semaphore ----------------------------------------------------------- */

struct weft_sem {
    atomic_flag lock; /* guards count and waiters */
    unsigned count;   /* free permits; 0 while anyone waits */
    weft__wq_t waiters;
};

static const weft__wait_ops_t sem_ops = {
    .interrupt = weft__wq_interrupt,
    .what = "semaphore",
};

weft_sem_t *weft_sem_new(unsigned count)
{
    weft_sem_t *s = weft__fault_inject("semaphore") ? NULL : malloc(sizeof *s);
    if (!s) {
        weft__set_last_error(WEFT_ENOMEM);
        return NULL;
    }
    atomic_flag_clear_explicit(&s->lock, memory_order_relaxed);
    s->count = count;
    s->waiters = (weft__wq_t){NULL, NULL};
    return s;
}

void weft_sem_free(weft_sem_t *s)
{
    free(s);
}

int weft_sem_try_acquire(weft_sem_t *s)
{
    if (!s)
        return WEFT_EINVAL;
    weft__spin_lock(&s->lock);
    int rc = WEFT_EAGAIN;
    if (s->count > 0) {
        s->count--;
        rc = 0;
    }
    weft__spin_unlock(&s->lock);
    return rc;
}

int weft_sem_acquire(weft_sem_t *s)
{
    if (!s)
        return WEFT_EINVAL;
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    weft__spin_lock(&s->lock);
    if (s->count > 0) {
        s->count--;
        weft__spin_unlock(&s->lock);
        return 0;
    }
    weft__wq_rec_t me = {.item = NULL};
    return weft__wq_block(w, self, &s->lock, &s->waiters, &me, &sem_ops);
}

int weft_sem_release(weft_sem_t *s)
{
    if (!s)
        return WEFT_EINVAL;
    weft__spin_lock(&s->lock);
    weft__wq_rec_t *r = weft__wq_pop(&s->waiters);
    int rc = 0;
    if (!r) {
        if (s->count == UINT_MAX)
            rc = WEFT_EINVAL;
        else
            s->count++;
    }
    weft__spin_unlock(&s->lock);
    if (r)
        weft__wq_wake(r, 0); /* the permit goes to it directly */
    return rc;
}

/* ---- mutex --------------------------------------------------------------- */

struct weft_mutex {
    atomic_flag lock;   /* guards owner and waiters */
    weft_task_t *owner; /* the holding task, or NULL */
    weft__wq_t waiters;
};

static const weft__wait_ops_t mutex_ops = {
    .interrupt = weft__wq_interrupt,
    .what = "mutex",
};

weft_mutex_t *weft_mutex_new(void)
{
    weft_mutex_t *m = weft__fault_inject("mutex") ? NULL : malloc(sizeof *m);
    if (!m) {
        weft__set_last_error(WEFT_ENOMEM);
        return NULL;
    }
    atomic_flag_clear_explicit(&m->lock, memory_order_relaxed);
    m->owner = NULL;
    m->waiters = (weft__wq_t){NULL, NULL};
    return m;
}

void weft_mutex_free(weft_mutex_t *m)
{
    free(m);
}

/* Takes m if it is free; under its lock.  WEFT_EDEADLK if self holds it. */
static int mutex_take(weft_mutex_t *m, weft_task_t *self)
{
    if (m->owner == NULL) {
        m->owner = self;
        return 0;
    }
    return m->owner == self ? WEFT_EDEADLK : WEFT_EAGAIN;
}

int weft_mutex_trylock(weft_mutex_t *m)
{
    if (!m)
        return WEFT_EINVAL;
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    if (!self)
        return WEFT_EPERM;
    weft__spin_lock(&m->lock);
    int rc = mutex_take(m, self);
    weft__spin_unlock(&m->lock);
    return rc;
}

int weft_mutex_lock(weft_mutex_t *m)
{
    if (!m)
        return WEFT_EINVAL;
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    if (!self)
        return WEFT_EPERM;
    weft__spin_lock(&m->lock);
    int rc = mutex_take(m, self);
    if (rc != WEFT_EAGAIN) {
        weft__spin_unlock(&m->lock);
        return rc;
    }
    /* unlock makes us the owner before it wakes us. */
    weft__wq_rec_t me = {.item = NULL};
    return weft__wq_wait(w, self, &m->lock, &m->waiters, &me, &mutex_ops);
}

int weft_mutex_unlock(weft_mutex_t *m)
{
    if (!m)
        return WEFT_EINVAL;
    weft__worker_t *w;
    weft_task_t *self = weft__running(&w);
    weft__spin_lock(&m->lock);
    if (!self || m->owner != self) {
        weft__spin_unlock(&m->lock);
        return WEFT_EPERM;
    }
    weft__wq_rec_t *r = weft__wq_pop(&m->waiters);
    m->owner = r ? r->task : NULL;
    weft__spin_unlock(&m->lock);
    if (r)
        weft__wq_wake(r, 0);
    return 0;
}
