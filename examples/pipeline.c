/*
 * pipeline.c - three stages joined by channels: a generator sends the
 * numbers 1..N, several squarer tasks turn each into its square, and a
 * summer adds the squares up.  Each stage closes the channel after it once
 * it is done, which ends the next stage's loop; the last squarer to finish
 * closes the squares channel.  The main task prints the sum and checks it
 * against n(n+1)(2n+1)/6.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <weft.h>

#define N 1000       /* numbers generated */
#define SQUARERS 4   /* tasks in the middle stage */

struct pipeline {
    weft_chan_t *numbers;   /* generator -> squarers */
    weft_chan_t *squares;   /* squarers -> summer */
    atomic_int squarers;    /* squarers still running */
};

static int generate(void *arg, void **result)
{
    (void)result;
    struct pipeline *p = arg;
    int rc = 0;
    for (uintptr_t i = 1; i <= N && rc == 0; i++)
        rc = weft_chan_send(p->numbers, (void *)i); /* waits while the buffer is full */
    weft_chan_close(p->numbers); /* no more numbers: the squarers' recv ends */
    return rc;
}

static int square(void *arg, void **result)
{
    (void)result;
    struct pipeline *p = arg;
    int rc;
    void *item;
    while ((rc = weft_chan_recv(p->numbers, &item)) == 0) {
        uintptr_t x = (uintptr_t)item;
        rc = weft_chan_send(p->squares, (void *)(x * x));
        if (rc != 0)
            break;
    }
    if (atomic_fetch_sub(&p->squarers, 1) == 1)
        weft_chan_close(p->squares); /* the last one out closes */
    return rc == WEFT_ECLOSED ? 0 : rc;
}

static int sum(void *arg, void **result)
{
    struct pipeline *p = arg;
    uintptr_t total = 0;
    int rc;
    void *item;
    while ((rc = weft_chan_recv(p->squares, &item)) == 0)
        total += (uintptr_t)item;
    *result = (void *)total;
    return rc == WEFT_ECLOSED ? 0 : rc;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct pipeline p = {.numbers = weft_chan_new(16), .squares = weft_chan_new(16)};
    atomic_init(&p.squarers, SQUARERS);
    if (p.numbers == NULL || p.squares == NULL) {
        weft_chan_free(p.numbers);
        weft_chan_free(p.squares);
        return WEFT_ENOMEM;
    }
    weft_task_t *tasks[SQUARERS + 2];
    int n = 0, rc = 0;
    for (; n < SQUARERS + 2; n++) {
        weft_fn stage = n == 0 ? generate : n == SQUARERS + 1 ? sum : square;
        tasks[n] = weft_spawn(stage, &p);
        if (tasks[n] == NULL) {
            rc = weft_last_error();
            weft_chan_close(p.numbers); /* end the stages already running */
            weft_chan_close(p.squares);
            break;
        }
    }
    weft_outcome_t out[SQUARERS + 2];
    int grc = n > 0 ? weft_gather(tasks, (size_t)n, out, WEFT_RETURN_EXCEPTIONS) : 0;
    if (rc == 0)
        rc = grc;
    for (int i = 0; i < n; i++) {
        if (rc == 0 && out[i].rc != 0)
            rc = out[i].rc;
        weft_task_release(tasks[i]);
    }
    if (rc == 0) {
        uintptr_t total = (uintptr_t)out[SQUARERS + 1].result;
        uintptr_t want = (uintptr_t)N * (N + 1) * (2 * N + 1) / 6;
        printf("sum of the squares of 1..%d, squared by %d tasks: %lu\n", N, SQUARERS,
               (unsigned long)total);
        printf("%s\n", total == want ? "matches n(n+1)(2n+1)/6" : "WRONG");
        if (total != want)
            rc = -1;
    }
    weft_chan_free(p.numbers);
    weft_chan_free(p.squares);
    return rc;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "pipeline: %s\n", weft_strerror(rc));
    return rc < 0;
}
