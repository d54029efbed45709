/*
 * test_coro.c - unit test of the context switch itself (sched/coro.c and
 * sched/coro_<arch>.S): across its suspensions a task keeps every register
 * the ABI says a call preserves (set and checked by coro_regs.S) and its
 * floating-point rounding mode (aarch64's FPCR; x86_64's MXCSR and x87
 * control word), while the other tasks on the same worker, and the worker
 * itself, put other values in them.
 */
#define _POSIX_C_SOURCE 200809L /* POSIX calls under -std=c11 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fenv.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "check.h"
#include "weft.h"

#define TASKS 4
#define ROUNDS 2000

#if defined(__x86_64__) || defined(__aarch64__)
/*
 * coro_regs.S: sets each callee-saved register to seed + its number
 * (aarch64's d8-d15 to seed + 100 + n), calls fn and returns a mask of the
 * registers that came back changed (bit n for register n, d8-d15 at bits
 * 48-55).
 */
uint64_t weft_test_regs_across(uint64_t seed, void (*fn)(void));
#define HAVE_REGS 1
#else
#define HAVE_REGS 0
#endif

static const int modes[TASKS] = {FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO, FE_TONEAREST};

/* The rounding mode as each place that keeps one says it, one value if
 * they agree and -1 if they do not. */
static int rounding(void)
{
    int mode = fegetround();
#if defined(__x86_64__)
    /* fegetround reads the x87 control word; SSE arithmetic obeys MXCSR. */
    static const int sse[4] = {FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO};
    if (sse[(_mm_getcsr() >> 13) & 3] != mode)
        return -1;
#endif
    return mode;
}

static void yield_once(void)
{
    CHECK_EQ(weft_yield(), 0);
}

static int keeper(void *arg, void **result)
{
    (void)result;
    int k = (int)(intptr_t)arg;
    CHECK_EQ(fesetround(modes[k]), 0);
    /* Seeds of different tasks differ in their upper half. */
    uint64_t seed = (uint64_t)(k + 1) << 40;
    for (int r = 0; r < ROUNDS; r++) {
#if HAVE_REGS
        uint64_t changed = weft_test_regs_across(seed + ((uint64_t)r << 8), yield_once);
        if (changed != 0) {
            fprintf(stderr, "task %d round %d: registers changed, mask 0x%" PRIx64 "\n", k, r,
                    changed);
            CHECK(changed == 0);
            break;
        }
#else
        yield_once();
#endif
        int mode = rounding();
        if (mode != modes[k]) {
            fprintf(stderr, "task %d round %d: rounding mode %d, not %d\n", k, r, mode, modes[k]);
            CHECK(mode == modes[k]);
            break;
        }
    }
    CHECK_EQ(fesetround(FE_TONEAREST), 0);
    return 0;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_task_t *t[TASKS];
    for (intptr_t k = 0; k < TASKS; k++) {
        t[k] = weft_spawn(keeper, (void *)k);
        if (!t[k]) {
            CHECK(!"weft_spawn returned NULL");
            return weft_last_error();
        }
    }
    for (int k = 0; k < TASKS; k++) {
        CHECK_EQ(weft_await(t[k], NULL), 0);
        weft_task_release(t[k]);
    }
    /* The yields switched for real: on the one worker another task was
     * ready at each of them but perhaps the last few of the last task. */
    weft_stats_t st;
    CHECK_EQ(weft_stats(&st), 0);
    CHECK_EQ(st.workers, 1);
    CHECK(st.worker[0].switches >= (uint64_t)(TASKS - 1) * ROUNDS);
    return 0;
}

static void test_coro_keeps_registers_and_rounding(void **state)
{
    (void)state;
    weft_config_t cfg = {.workers = 1};
    assert_int_equal(weft_run(&cfg, main_task, NULL, NULL), 0);
    assert_no_check_failures();
    assert_int_equal(fegetround(), FE_TONEAREST);
}

int main(void)
{
    if (!HAVE_REGS)
        printf("no register check for this architecture: rounding modes only\n");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coro_keeps_registers_and_rounding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
