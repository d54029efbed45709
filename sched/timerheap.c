/*
 * timerheap.c - the I/O thread's heap of sleep deadlines (timerheap.h).
 */
#include "sched/fault.h"
#include "sched/timerheap.h"

#include <stdlib.h>

static void put(weft__timerheap_t *h, uint32_t i, weft__timer_t *t)
{
    h->a[i] = t;
    t->heap_index = i;
}

static void sift_up(weft__timerheap_t *h, uint32_t i)
{
    weft__timer_t *t = h->a[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (h->a[parent]->heap_deadline <= t->heap_deadline)
            break;
        put(h, i, h->a[parent]);
        i = parent;
    }
    put(h, i, t);
}

static void sift_down(weft__timerheap_t *h, uint32_t i)
{
    weft__timer_t *t = h->a[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= h->n)
            break;
        if (child + 1 < h->n && h->a[child + 1]->heap_deadline < h->a[child]->heap_deadline)
            child++;
        if (t->heap_deadline <= h->a[child]->heap_deadline)
            break;
        put(h, i, h->a[child]);
        i = child;
    }
    put(h, i, t);
}

int weft__th_push(weft__timerheap_t *h, weft__timer_t *t)
{
    if (h->n == h->cap) {
        uint32_t cap = h->cap ? h->cap * 2 : 1024;
        weft__timer_t **a =
            weft__fault_inject("timer heap") ? NULL : realloc(h->a, cap * sizeof *a);
        if (!a)
            return WEFT_ENOMEM;
        h->a = a;
        h->cap = cap;
    }
    put(h, h->n++, t);
    sift_up(h, h->n - 1);
    return 0;
}

weft__timer_t *weft__th_min(const weft__timerheap_t *h)
{
    return h->n ? h->a[0] : NULL;
}

void weft__th_remove(weft__timerheap_t *h, weft__timer_t *t)
{
    uint32_t i = t->heap_index;
    t->heap_index = WEFT_NOT_IN_HEAP;
    weft__timer_t *last = h->a[--h->n];
    if (i == h->n)
        return;
    put(h, i, last);
    sift_down(h, i);
    sift_up(h, last->heap_index);
}

void weft__th_free(weft__timerheap_t *h)
{
    free(h->a);
    h->a = NULL;
    h->n = h->cap = 0;
}
