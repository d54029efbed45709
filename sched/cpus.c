/*
 * cpus.c - how many CPUs the process may use, which is the default number
 * of workers, and the binding of a worker to one of them
 * (WEFT_PIN_WORKERS).
 *
 * The online CPU count is wrong in two common places: under taskset or a
 * cpuset the process may run on fewer CPUs than the machine has, and in a
 * container the cgroup's CPU quota may allow the time of two CPUs on a
 * 64-core host.  Workers beyond what the process may use only add switches
 * and steals that find nothing.  So the count is the calling thread's
 * affinity mask, lowered to the cgroup v2 quota (cpu.max) rounded up, the
 * smallest along the cgroup's path to the root as the kernel enforces
 * each level; Go 1.25 counts GOMAXPROCS the same way.  The environment's
 * WEFT_WORKERS replaces the count, as GOMAXPROCS does Go's.
 *
 * Files are read with open/read into buffers on the stack: weft_start
 * makes no allocation here that the fault-injection tests would not see.
 * The parsers take text and paths so the tests can feed them their own.
 */
#include "sched/fault.h"
#include "sched/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The most CPUs an affinity mask is read for: far past any machine. */
#define WEFT_MAX_CPU_IDS (1u << 16)

/* ---- affinity -------------------------------------------------------------- */

/*
 * The calling thread's affinity mask: in *fixed when the kernel's CPU ids
 * fit a cpu_set_t (1,024), else in a set it allocates, which the caller
 * frees if it differs from fixed.  NULL if the mask cannot be read.
 */
static cpu_set_t *allowed_set(cpu_set_t *fixed, size_t *size)
{
    if (sched_getaffinity(0, sizeof *fixed, fixed) == 0) {
        *size = sizeof *fixed;
        return fixed;
    }
    /* EINVAL: the kernel has more CPU ids than the set holds. */
    int err = errno;
    for (unsigned n = 2 * CPU_SETSIZE; err == EINVAL && n <= WEFT_MAX_CPU_IDS; n *= 2) {
        cpu_set_t *set = weft__fault_inject("cpu set") ? NULL : CPU_ALLOC(n);
        if (!set)
            return NULL;
        *size = CPU_ALLOC_SIZE(n);
        if (sched_getaffinity(0, *size, set) == 0)
            return set;
        err = errno;
        CPU_FREE(set);
    }
    return NULL;
}

/* The k-th CPU (counting from 0, wrapping) of set; -1 if it is empty. */
static int nth_cpu(const cpu_set_t *set, size_t size, unsigned k)
{
    int n = CPU_COUNT_S(size, set);
    if (n <= 0)
        return -1;
    unsigned want = k % (unsigned)n;
    for (size_t c = 0; c < size * CHAR_BIT; c++)
        if (CPU_ISSET_S(c, size, set) && want-- == 0)
            return (int)c;
    return -1;
}

unsigned weft__affinity_cpus(void)
{
    cpu_set_t fixed;
    size_t size;
    cpu_set_t *set = allowed_set(&fixed, &size);
    if (!set)
        return 0;
    int n = CPU_COUNT_S(size, set);
    if (set != &fixed)
        CPU_FREE(set);
    return n > 0 ? (unsigned)n : 0;
}

int weft__pin_self(unsigned k)
{
    /* The thread's own mask is the one weft_start's caller had: threads
     * inherit it, and nothing has changed it since the worker began. */
    cpu_set_t fixed;
    size_t size;
    cpu_set_t *set = allowed_set(&fixed, &size);
    if (!set)
        return WEFT_ENOMEM;
    int rc = WEFT_EINVAL;
    int cpu = nth_cpu(set, size, k);
    if (cpu >= 0) {
        CPU_ZERO_S(size, set);
        CPU_SET_S((size_t)cpu, size, set);
        rc = sched_setaffinity(0, size, set) == 0 ? 0 : -errno;
    }
    if (set != &fixed)
        CPU_FREE(set);
    return rc;
}

/* ---- cgroup v2 ------------------------------------------------------------- */

/* Reads up to cap - 1 bytes of path into buf, NUL-terminated.  The length,
 * or -1 if the file cannot be read or does not fit. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            if (n < 0)
                return -1;
            break;
        }
        len += (size_t)n;
        if (len == cap - 1) { /* full: the file may go on */
            char more;
            n = read(fd, &more, 1);
            close(fd);
            if (n != 0)
                return -1;
            break;
        }
    }
    buf[len] = '\0';
    return (ssize_t)len;
}

/* A decimal number of digits only; false if there are none or it overflows. */
static bool parse_u64(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *out = v;
    return true;
}

int weft__cpu_max_parse(const char *text, unsigned *cpus)
{
    /* "max PERIOD" (no limit) or "QUOTA PERIOD", in microseconds. */
    const char *p = text;
    uint64_t quota = 0, period;
    bool unlimited = strncmp(p, "max", 3) == 0;
    if (unlimited)
        p += 3;
    else if (!parse_u64(&p, &quota))
        return -1;
    if (*p++ != ' ' || !parse_u64(&p, &period) || period == 0)
        return -1;
    if (*p == '\n')
        p++;
    if (*p != '\0')
        return -1;
    if (unlimited)
        return 0;
    /* ceil(quota / period), at least one CPU: a quota of half a CPU still
     * needs a worker to run on. */
    uint64_t n = quota / period + (quota % period != 0);
    *cpus = n == 0 ? 1 : n > UINT_MAX ? UINT_MAX : (unsigned)n;
    return 1;
}

int weft__cgroup_path_parse(const char *text, char *path, size_t cap)
{
    /* cgroup v2 has one line, "0::/path"; the v1 hierarchies of a hybrid
     * setup have a line each with a nonzero id, which we pass over. */
    for (const char *line = text; *line; ) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len >= 4 && strncmp(line, "0::/", 4) == 0) {
            size_t n = len - 3;
            if (n >= cap)
                return -1;
            memcpy(path, line + 3, n);
            path[n] = '\0';
            return 0;
        }
        line += len + (end != NULL);
    }
    return -1;
}

unsigned weft__cgroup_cpu_limit(const char *proc_cgroup, const char *root)
{
    char text[8192];
    char rel[4096];
    if (read_small(proc_cgroup, text, sizeof text) < 0 ||
        weft__cgroup_path_parse(text, rel, sizeof rel) != 0)
        return 0;
    /* A process outside its cgroup namespace's root sees "/../x": that
     * path is not under root, so there is nothing to read. */
    if (strstr(rel, "/..") != NULL)
        return 0;
    char dir[sizeof rel + 256];
    int len = snprintf(dir, sizeof dir, "%s%s", root, strcmp(rel, "/") == 0 ? "" : rel);
    if (len < 0 || (size_t)len >= sizeof dir)
        return 0;
    /* Every level from the process's cgroup up to root limits it; the
     * kernel enforces each, so the smallest counts. */
    size_t root_len = strlen(root);
    unsigned best = 0;
    for (;;) {
        char file[sizeof dir + 16];
        char max[128];
        unsigned cpus;
        snprintf(file, sizeof file, "%s/cpu.max", dir);
        if (read_small(file, max, sizeof max) >= 0 && weft__cpu_max_parse(max, &cpus) == 1 &&
            (best == 0 || cpus < best))
            best = cpus;
        if ((size_t)len <= root_len)
            break;
        while ((size_t)len > root_len && dir[len - 1] != '/')
            len--;
        if ((size_t)len > root_len)
            len--; /* the slash */
        dir[len] = '\0';
    }
    return best;
}

/* ---- the count --------------------------------------------------------------- */

int weft__workers_env_parse(const char *text, unsigned *workers)
{
    /* Digits only: a sign, a space or a suffix is a mistake to report, not
     * to guess at. */
    const char *p = text;
    uint64_t n;
    if (!parse_u64(&p, &n) || *p != '\0' || n > WEFT_MAX_WORKERS)
        return WEFT_EINVAL;
    *workers = (unsigned)n;
    return 0;
}

unsigned weft__cpus_available(void)
{
    unsigned n = weft__affinity_cpus();
    if (n == 0) { /* no mask to read: the online CPUs, as before */
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        n = online < 1 ? 1 : online > (long)UINT_MAX ? UINT_MAX : (unsigned)online;
    }
    unsigned quota = weft__cgroup_cpu_limit("/proc/self/cgroup", "/sys/fs/cgroup");
    if (quota != 0 && quota < n)
        n = quota;
    return n;
}

int weft__default_workers(unsigned *workers)
{
    const char *env = getenv("WEFT_WORKERS");
    if (env && *env) {
        unsigned n;
        if (weft__workers_env_parse(env, &n) != 0) {
            fprintf(stderr, "weft: WEFT_WORKERS=\"%s\" is not a number of workers from 0 to %u\n",
                    env, (unsigned)WEFT_MAX_WORKERS);
            return WEFT_EINVAL;
        }
        if (n != 0) {
            *workers = n;
            return 0;
        }
    }
    unsigned n = weft__cpus_available();
    *workers = n > WEFT_MAX_WORKERS ? WEFT_MAX_WORKERS : n;
    return 0;
}
