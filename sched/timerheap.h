/*
 * timerheap.h - a binary min-heap of timers ordered by deadline,
 * owned by the I/O thread.  Each timer keeps its index, so a disarmed one
 * is removed in O(log n).
 */
#ifndef WEFT_TIMERHEAP_H
#define WEFT_TIMERHEAP_H

#include "sched/internal.h"

typedef struct weft__timerheap {
    weft__timer_t **a;
    uint32_t n, cap;
} weft__timerheap_t;

int weft__th_push(weft__timerheap_t *h, weft__timer_t *t); /* 0 or WEFT_ENOMEM */
weft__timer_t *weft__th_min(const weft__timerheap_t *h);
void weft__th_remove(weft__timerheap_t *h, weft__timer_t *t);
void weft__th_free(weft__timerheap_t *h);

#endif
