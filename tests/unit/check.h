/*
 * check.h - what the unit tests share: CHECK() for code that runs inside
 * tasks, and a monotonic clock in milliseconds.
 *
 * cmocka's assert_* macros longjmp out of the test on failure, which must
 * never happen on a task's stack or on a worker thread.  Code in tasks uses
 * CHECK() instead: it prints the failed condition and counts it, and the test
 * function asserts after the scheduler is gone that the count is zero.
 */
#ifndef WEFT_TEST_CHECK_H
#define WEFT_TEST_CHECK_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* Failed CHECK()s since the program started. */
static atomic_int check_failures;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,        \
                    __LINE__, #cond);                                      \
            atomic_fetch_add(&check_failures, 1);                          \
        }                                                                  \
    } while (0)

/* CHECK(a == b) for integers, printing both values when it fails. */
#define CHECK_EQ(a, b)                                                     \
    do {                                                                   \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);   \
        if (check_a_ != check_b_) {                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", \
                    __FILE__, __LINE__, #a, #b, check_a_, check_b_);       \
            atomic_fetch_add(&check_failures, 1);                          \
        }                                                                  \
    } while (0)

/* Asserted by every test function at its end, outside any task. */
#define assert_no_check_failures()                                         \
    assert_int_equal(atomic_exchange(&check_failures, 0), 0)

static inline double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

#endif /* WEFT_TEST_CHECK_H */
