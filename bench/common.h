/*
 * common.h - what the weft benchmark programs share: a monotonic clock,
 * RSS readings, argument parsing, and a sum of weft_stats counters.
 * Header-only; every function is static.
 */
#ifndef WEFT_BENCH_COMMON_H
#define WEFT_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "weft.h"

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The resident set now, in KiB (VmRSS of /proc/self/status); -1 if unknown. */
static inline long bench_rss_now_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

/* The peak resident set so far, in KiB (ru_maxrss is in KiB on Linux). */
static inline long bench_rss_peak_kib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss;
}

/* argv[i] as a positive number, or def when absent; exits on junk. */
static inline unsigned long bench_arg(int argc, char **argv, int i, unsigned long def)
{
    if (i >= argc)
        return def;
    char *end;
    unsigned long v = strtoul(argv[i], &end, 10);
    if (*argv[i] == '\0' || *end != '\0' || v == 0) {
        fprintf(stderr, "%s: bad argument '%s'\n", argv[0], argv[i]);
        exit(2);
    }
    return v;
}

/* Counters summed over all workers; all zero if weft_stats fails. */
typedef struct bench_counts {
    uint64_t steals;
    uint64_t inline_awaits;
    uint64_t switches;
    uint64_t parks;
    uint64_t injector_pops;
} bench_counts_t;

static inline bench_counts_t bench_counts(void)
{
    static weft_stats_t st; /* large: keep it off the small task stack */
    bench_counts_t c = {0, 0, 0, 0, 0};
    if (weft_stats(&st) != 0)
        return c;
    for (unsigned i = 0; i < st.workers && i < WEFT_MAX_WORKERS; i++) {
        c.steals += st.worker[i].steals;
        c.inline_awaits += st.worker[i].inline_awaits;
        c.switches += st.worker[i].switches;
        c.parks += st.worker[i].parks;
        c.injector_pops += st.worker[i].injector_pops;
    }
    return c;
}

static inline bench_counts_t bench_counts_since(bench_counts_t before)
{
    bench_counts_t now = bench_counts();
    bench_counts_t d = {now.steals - before.steals,
                        now.inline_awaits - before.inline_awaits,
                        now.switches - before.switches, now.parks - before.parks,
                        now.injector_pops - before.injector_pops};
    return d;
}

#endif /* WEFT_BENCH_COMMON_H */
