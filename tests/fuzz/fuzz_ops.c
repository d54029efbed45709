/*
 * fuzz_ops.c - the libFuzzer harness: reads its input as a script of weft
 * API calls, runs it in one weft_run with two workers and, before main
 * returns, checks what must hold whatever the calls were and however the
 * threads interleaved them: every task ran its body at most once and
 * finished once, every outcome seen equals what the task returned, no
 * channel item was lost, duplicated or invented, and nothing outlives main.
 * A broken invariant aborts with a message, so libFuzzer keeps the input.
 *
 * Input: byte 0 picks the three channels' capacities and main's own code;
 * the rest is main's script.  A script is a sequence of operations, each an
 * opcode byte (taken modulo OP_COUNT) and its argument bytes; a spawned task
 * runs the bytes its spawn took as its own script.  tests/fuzz/README.md
 * lists the operations.
 *
 * Deadlock freedom by construction: a task waits only for tasks spawned
 * after it (a higher slot index), so waits form no cycle, and every
 * blocking channel operation runs inside a timeout scope.  Work per input
 * is bounded by OP_BUDGET operations, MAX_SLOTS tasks, MAX_DEPTH levels of
 * spawning and MAX_NEST levels of scopes within a task.
 */
#include "weft.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
    MAX_INPUT = 512,  /* bytes of input read; the rest is ignored */
    OP_BUDGET = 400,  /* operations per input, over all tasks */
    MAX_SLOTS = 64,   /* tasks per input, group children included */
    MAX_DEPTH = 3,    /* main's children are at depth 1 */
    MAX_NEST = 3,     /* timeout scopes and groups inside one another */
    MAX_SCRIPT = 12,  /* bytes a spawn, a scope or a group body takes */
    MAX_PICK = 4,     /* tasks one gather or wait looks at */
    MAX_ITEMS = 256,  /* channel items per input */
    MAX_GROUPS = 16,  /* groups per input */
    NCHAN = 3,
    STATS_PATIENCE_MS = 5000, /* for the last stacks to go back */
};

/* Codes no part of weft uses: what task bodies return. */
#define E_ONE (-7001)
#define E_TWO (-7002)
#define MAIN_ERR (-7003)
#define UNSET (-7777) /* an outcome gather did not fill */

enum op {
    OP_SPAWN,     /* a b script[a % 13]: a child (b: its code, flags) */
    OP_GROUP,     /* a b, 1 + a % 3 children (x y script[x % 13]), body[b % 10] */
    OP_CANCEL,    /* a: any task */
    OP_AWAIT,     /* a: a later task (255: the caller itself) */
    OP_GATHER,    /* a b picks[1 + a % 4]: b & 1 = WEFT_RETURN_EXCEPTIONS */
    OP_WAIT,      /* a b picks[1 + a % 4]: mode b % 3, timeout (b >> 2) & 3 */
    OP_WAIT_FOR,  /* a b: a later task, timeout b & 3 */
    OP_SHIELD,    /* a: a later task */
    OP_TIMEOUT,   /* a b body[b % 13]: timeout a & 3, reschedule if a & 4 */
    OP_SEND,      /* a: channel a % 3 in a timeout scope of (a / 3) % 4 */
    OP_RECV,      /* a: the same */
    OP_TRY_SEND,  /* a: channel a % 3 */
    OP_TRY_RECV,  /* a */
    OP_CLOSE,     /* a */
    OP_PARTNER,   /* a: a child that sends (a & 1) or receives on (a >> 1) % 3 */
    OP_SLEEP,     /* a: a % 3 ms */
    OP_YIELD,
    OP_COUNT
};

/* A script: bytes of the input (or of a partner's fixed script). */
typedef struct script {
    const uint8_t *p;
    size_t len, pos;
} script_t;

/* One spawned task: what it was told to do and what it did. */
struct slot {
    weft_task_t *t;        /* our reference, or the group's handle */
    weft_group_t *group;   /* the group that owns t, or NULL */
    script_t script;       /* the body's operations */
    int depth;             /* spawn depth, main's children at 1 */
    int planned;           /* the code the body returns unless cancelled */
    bool swallow;          /* the body goes on after WEFT_ECANCELED */
    atomic_int ready;      /* 1 once the fields above are set, 2 if the spawn failed */
    atomic_int runs;       /* bodies started */
    atomic_int returns;    /* bodies that returned */
    atomic_int ret_rc;     /* the code the body returned */
};

/* What one task's script runs with. */
struct ctx {
    int rank;            /* its slot, -1 for main: it waits on higher ones */
    int depth;           /* spawn depth */
    int nest;            /* scopes and groups open */
    weft_group_t *group; /* the innermost group it opened, or NULL */
    bool swallow;        /* a cancel does not end its script */
};

static struct {
    struct slot slots[MAX_SLOTS];
    atomic_int nslots;              /* reserved, may pass MAX_SLOTS */
    weft_chan_t *chan[NCHAN];
    atomic_int nitems;              /* item numbers given out */
    atomic_int item_chan[MAX_ITEMS + 1]; /* channel + 1 once its send began */
    atomic_int item_sent[MAX_ITEMS + 1]; /* 1 once a send returned 0 */
    atomic_int item_recv[MAX_ITEMS + 1]; /* times received */
    weft_group_t *groups[MAX_GROUPS];
    atomic_int ngroups;
    atomic_int budget;              /* operations left */
    int main_plan;                  /* main's code */
} st;

static const size_t chan_caps[4] = {0, 1, 2, 8};
static const int64_t chan_tmo[4] = {0, 1, 2, 5};
static const int64_t wait_tmo[4] = {0, 1, 2, WEFT_FOREVER};
static const int planned_rc[4] = {0, 0, E_ONE, E_TWO};
static int main_marker; /* main's result */

/* A partner: one channel operation given 5 ms (argument ch + 9). */
static const uint8_t partner_script[2][NCHAN][2] = {
    {{OP_RECV, 9}, {OP_RECV, 10}, {OP_RECV, 11}},
    {{OP_SEND, 9}, {OP_SEND, 10}, {OP_SEND, 11}},
};

static int run_script(struct ctx *c, script_t *s);

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz_ops: invariant broken: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

static uint8_t next(script_t *s)
{
    return s->pos < s->len ? s->p[s->pos++] : 0;
}

/* The next n bytes (fewer at the end) as a script of their own. */
static script_t take(script_t *s, size_t n)
{
    size_t left = s->len - s->pos;
    script_t r = {s->p + s->pos, n < left ? n : left, 0};
    s->pos += r.len;
    return r;
}

static int nslots(void)
{
    int n = atomic_load(&st.nslots);
    return n < MAX_SLOTS ? n : MAX_SLOTS;
}

/* A published slot above rank, starting the search at a; -1 if none. */
static int pick_above(int rank, uint8_t a)
{
    int lo = rank + 1, n = nslots();
    if (lo >= n)
        return -1;
    int span = n - lo;
    for (int j = 0; j < span; j++) {
        int i = lo + (a + j) % span;
        if (atomic_load_explicit(&st.slots[i].ready, memory_order_acquire) == 1)
            return i;
    }
    return -1;
}

/*
 * Checks one outcome of slot i's task, which has finished: a body that ran
 * returned once and its code (or a cancellation, for a body that returned
 * 0 with a cancel pending) came back with its result; a body that never
 * ran means the task was cancelled first.
 */
static void check_outcome(int i, int rc, void *res, const char *via)
{
    struct slot *sl = &st.slots[i];
    int runs = atomic_load(&sl->runs), returns = atomic_load(&sl->returns);
    if (runs > 1)
        die("task %d: body ran %d times", i, runs);
    if (runs == 0) {
        if (rc != WEFT_ECANCELED)
            die("task %d: %s gave %d for a task that never ran", i, via, rc);
        return;
    }
    if (returns != 1)
        die("task %d: %s saw it finished, its body returned %d times", i, via, returns);
    int ret = atomic_load(&sl->ret_rc);
    if (rc != ret && !(ret == 0 && rc == WEFT_ECANCELED))
        die("task %d: %s gave %d, the body returned %d", i, via, rc, ret);
    if (res != sl)
        die("task %d: %s gave result %p, the body stored %p", i, via, res, (void *)sl);
}

/* Slot i's task has finished: its outcome as weft_await gives it, checked. */
static int outcome_of(int i, void **res)
{
    weft_task_t *t = st.slots[i].t;
    if (!weft_task_done(t))
        die("task %d: expected finished, it is not", i);
    void *r = NULL;
    int rc = weft_await(t, &r);
    check_outcome(i, rc, r, "weft_await of a finished task");
    if (res)
        *res = r;
    return rc;
}

static int body(void *arg, void **result)
{
    struct slot *sl = arg;
    int i = (int)(sl - st.slots);
    if (atomic_fetch_add(&sl->runs, 1) != 0)
        die("task %d: body started twice", i);
    struct ctx c = {.rank = i, .depth = sl->depth, .swallow = sl->swallow};
    script_t s = sl->script;
    int rc = run_script(&c, &s) == WEFT_ECANCELED ? WEFT_ECANCELED : sl->planned;
    atomic_store(&sl->ret_rc, rc);
    atomic_fetch_add(&sl->returns, 1);
    *result = sl;
    return rc;
}

/* Spawns a child (into g if not NULL) running script; b: code and flags. */
static void spawn_child(struct ctx *c, script_t script, uint8_t b, weft_group_t *g)
{
    if (c->depth >= MAX_DEPTH)
        return;
    int i = atomic_fetch_add(&st.nslots, 1);
    if (i >= MAX_SLOTS)
        return;
    struct slot *sl = &st.slots[i];
    sl->script = script;
    sl->depth = c->depth + 1;
    sl->planned = planned_rc[b & 3];
    sl->swallow = b & 4;
    sl->group = g;
    weft_task_t *t;
    if (g) {
        t = weft_group_spawn(g, body, sl);
    } else if (b & 8) {
        weft_spawn_opts_t o = {.name = "fuzz-child", .stack_size = (b & 16) ? 128 * 1024 : 0};
        t = weft_spawn_opts(body, sl, &o);
    } else {
        t = weft_spawn(body, sl);
    }
    if (!t) {
        int e = weft_last_error();
        if (!(g && e == WEFT_ESHUTDOWN) && e != WEFT_ENOMEM)
            die("task %d: spawn failed with %d", i, e);
        atomic_store_explicit(&sl->ready, 2, memory_order_release);
        return;
    }
    sl->t = t;
    /* Release: whoever picks the slot sees t and the fields above. */
    atomic_store_explicit(&sl->ready, 1, memory_order_release);
}

/* After a timeout scope around one operation that returned rc: whether
 * the cancel it got is to be passed on. */
static int scope_result(int rc, int ex, const char *what)
{
    if (ex != 0 && ex != WEFT_ETIMEDOUT && ex != WEFT_ECANCELED)
        die("%s: weft_timeout_exit gave %d", what, ex);
    if (rc != WEFT_ECANCELED) {
        if (ex != 0)
            die("%s: returned %d without a cancel, yet the scope exit gave %d", what, rc, ex);
        return 0;
    }
    return ex == WEFT_ETIMEDOUT ? 0 : WEFT_ECANCELED;
}

static weft_timeout_t *enter(int64_t ms)
{
    weft_timeout_t *h = weft_timeout_enter(ms);
    if (!h)
        die("weft_timeout_enter failed with %d", weft_last_error());
    return h;
}

/* A fresh item for channel ch, 0 once MAX_ITEMS are out. */
static uintptr_t new_item(int ch)
{
    int x = atomic_fetch_add(&st.nitems, 1) + 1;
    if (x > MAX_ITEMS)
        return 0;
    atomic_store(&st.item_chan[x], ch + 1);
    return (uintptr_t)x;
}

static void received(int ch, void *item)
{
    uintptr_t x = (uintptr_t)item;
    if (x == 0 || x > MAX_ITEMS || atomic_load(&st.item_chan[x]) != ch + 1)
        die("channel %d: received item %p that was never sent on it", ch, item);
    if (atomic_fetch_add(&st.item_recv[x], 1) != 0)
        die("channel %d: item %lu received twice", ch, (unsigned long)x);
}

static int op_chan(int op, uint8_t a)
{
    int ch = a % NCHAN;
    weft_chan_t *c = st.chan[ch];
    int rc;
    switch (op) {
    case OP_SEND: {
        uintptr_t x = new_item(ch);
        if (!x)
            return 0;
        weft_timeout_t *h = enter(chan_tmo[(a / NCHAN) % 4]);
        rc = weft_chan_send(c, (void *)x);
        int ex = weft_timeout_exit(h);
        if (rc != 0 && rc != WEFT_ECLOSED && rc != WEFT_ECANCELED)
            die("weft_chan_send gave %d", rc);
        if (rc == 0)
            atomic_store(&st.item_sent[x], 1);
        return scope_result(rc, ex, "weft_chan_send");
    }
    case OP_RECV: {
        void *item = NULL;
        weft_timeout_t *h = enter(chan_tmo[(a / NCHAN) % 4]);
        rc = weft_chan_recv(c, &item);
        int ex = weft_timeout_exit(h);
        if (rc != 0 && rc != WEFT_ECLOSED && rc != WEFT_ECANCELED)
            die("weft_chan_recv gave %d", rc);
        if (rc == 0)
            received(ch, item);
        return scope_result(rc, ex, "weft_chan_recv");
    }
    case OP_TRY_SEND: {
        uintptr_t x = new_item(ch);
        if (!x)
            return 0;
        rc = weft_chan_try_send(c, (void *)x);
        if (rc != 0 && rc != WEFT_EAGAIN && rc != WEFT_ECLOSED)
            die("weft_chan_try_send gave %d", rc);
        if (rc == 0)
            atomic_store(&st.item_sent[x], 1);
        return 0;
    }
    case OP_TRY_RECV: {
        void *item = NULL;
        rc = weft_chan_try_recv(c, &item);
        if (rc != 0 && rc != WEFT_EAGAIN && rc != WEFT_ECLOSED)
            die("weft_chan_try_recv gave %d", rc);
        if (rc == 0)
            received(ch, item);
        return 0;
    }
    default: /* OP_CLOSE */
        rc = weft_chan_close(c);
        if (rc != 0 && rc != WEFT_ECLOSED)
            die("weft_chan_close gave %d", rc);
        return 0;
    }
}

/* Reads 1 + a % MAX_PICK task picks above c's rank; 0 if none is there. */
static size_t read_picks(struct ctx *c, script_t *s, uint8_t a, int *idx, weft_task_t **ts)
{
    size_t k = 1 + a % MAX_PICK;
    for (size_t j = 0; j < k; j++) {
        idx[j] = pick_above(c->rank, next(s));
        if (idx[j] < 0)
            return 0;
        ts[j] = st.slots[idx[j]].t;
    }
    return k;
}

static int op_gather(struct ctx *c, script_t *s)
{
    uint8_t a = next(s), b = next(s);
    int idx[MAX_PICK];
    weft_task_t *ts[MAX_PICK];
    size_t k = read_picks(c, s, a, idx, ts);
    if (!k)
        return 0;
    weft_outcome_t out[MAX_PICK];
    for (size_t j = 0; j < k; j++)
        out[j] = (weft_outcome_t){UNSET, NULL};
    unsigned flags = (b & 1) ? WEFT_RETURN_EXCEPTIONS : 0;
    int rc = weft_gather(ts, k, out, flags);
    bool all = flags || rc == 0;
    if (flags && rc != 0 && rc != WEFT_ECANCELED)
        die("weft_gather(WEFT_RETURN_EXCEPTIONS) gave %d", rc);
    bool found = rc == 0 || rc == WEFT_ECANCELED;
    for (size_t j = 0; j < k; j++) {
        if (out[j].rc == UNSET) {
            if (all)
                die("weft_gather gave %d and left outcome %zu unset", rc, j);
            continue;
        }
        check_outcome(idx[j], out[j].rc, out[j].result, "weft_gather");
        found = found || out[j].rc == rc;
        outcome_of(idx[j], NULL);
    }
    if (!found)
        die("weft_gather gave %d, which no task returned", rc);
    return rc == WEFT_ECANCELED ? WEFT_ECANCELED : 0;
}

static int op_wait(struct ctx *c, script_t *s)
{
    uint8_t a = next(s), b = next(s);
    int idx[MAX_PICK];
    weft_task_t *ts[MAX_PICK], *moved[MAX_PICK];
    size_t k = read_picks(c, s, a, idx, ts);
    if (!k)
        return 0;
    int when = b % 3;
    int64_t tmo = wait_tmo[(b >> 2) & 3];
    memcpy(moved, ts, sizeof ts);
    int n = weft_wait(moved, k, tmo, when);
    if (n == WEFT_ECANCELED)
        return WEFT_ECANCELED;
    if (n < 0 || (size_t)n > k)
        die("weft_wait gave %d for %zu tasks", n, k);
    /* The same tasks, each as often as before; the first n finished. */
    bool failed = false;
    for (size_t j = 0; j < k; j++) {
        int have = 0, want = 0;
        for (size_t m = 0; m < k; m++) {
            have += moved[m] == moved[j];
            want += ts[m] == moved[j];
        }
        if (have != want)
            die("weft_wait did not only reorder its tasks");
        if ((int)j < n) {
            if (!weft_task_done(moved[j]))
                die("weft_wait counted task %zu done, it is not", j);
            int r = weft_await(moved[j], NULL);
            failed = failed || (r != 0 && r != WEFT_ECANCELED);
        }
    }
    for (size_t j = 0; j < k; j++)
        if (weft_task_done(ts[j]))
            outcome_of(idx[j], NULL);
    if (tmo == WEFT_FOREVER) {
        if (when == WEFT_ALL_COMPLETED && (size_t)n != k)
            die("weft_wait(ALL_COMPLETED, forever) gave %d of %zu", n, k);
        if (when == WEFT_FIRST_COMPLETED && n < 1)
            die("weft_wait(FIRST_COMPLETED, forever) gave 0");
        if (when == WEFT_FIRST_EXCEPTION && (size_t)n != k && !failed)
            die("weft_wait(FIRST_EXCEPTION, forever) gave %d of %zu, none failed", n, k);
    }
    return 0;
}

static int op_wait_for(struct ctx *c, script_t *s)
{
    uint8_t a = next(s), b = next(s);
    int i = pick_above(c->rank, a);
    if (i < 0)
        return 0;
    void *res = NULL, *want_res;
    int rc = weft_wait_for(st.slots[i].t, wait_tmo[b & 3], &res);
    int want = outcome_of(i, &want_res);
    if (rc == WEFT_ETIMEDOUT || (rc == WEFT_ECANCELED && want == WEFT_ECANCELED)) {
        if (want != WEFT_ECANCELED)
            die("task %d: weft_wait_for gave %d, the task ended with %d", i, rc, want);
    } else if (rc != want || res != want_res) {
        die("task %d: weft_wait_for gave %d, the task ended with %d", i, rc, want);
    }
    return rc == WEFT_ECANCELED ? WEFT_ECANCELED : 0;
}

static int op_shield(struct ctx *c, script_t *s)
{
    int i = pick_above(c->rank, next(s));
    if (i < 0)
        return 0;
    void *res = NULL;
    int rc = weft_shield(st.slots[i].t, &res);
    if (rc == WEFT_ECANCELED) {
        /* Our own cancel (the task goes on) or the task's outcome. */
        if (weft_task_done(st.slots[i].t))
            outcome_of(i, NULL);
        return WEFT_ECANCELED;
    }
    void *want_res;
    int want = outcome_of(i, &want_res);
    if (rc != want || res != want_res)
        die("task %d: weft_shield gave %d, the task ended with %d", i, rc, want);
    return 0;
}

static int op_timeout(struct ctx *c, script_t *s)
{
    uint8_t a = next(s), b = next(s);
    script_t inner = take(s, b % (MAX_SCRIPT + 1));
    if (c->nest >= MAX_NEST)
        return 0;
    weft_timeout_t *h = enter(wait_tmo[a & 3]);
    if (a & 4) {
        int rc = weft_timeout_reschedule(h, wait_tmo[(a >> 3) & 3]);
        if (rc != 0 && rc != WEFT_EINVAL)
            die("weft_timeout_reschedule gave %d", rc);
    }
    struct ctx ic = *c;
    ic.nest++;
    int raised = run_script(&ic, &inner);
    int ex = weft_timeout_exit(h);
    if (ex == WEFT_ETIMEDOUT)
        return 0;
    if (ex == WEFT_ECANCELED)
        return WEFT_ECANCELED;
    if (ex != 0)
        die("weft_timeout_exit gave %d", ex);
    return raised;
}

static int op_group(struct ctx *c, script_t *s)
{
    uint8_t a = next(s), b = next(s);
    size_t nkids = 1 + a % 3;
    script_t kids[3];
    uint8_t kid_b[3];
    for (size_t j = 0; j < nkids; j++) {
        uint8_t x = next(s);
        kid_b[j] = next(s);
        kids[j] = take(s, x % (MAX_SCRIPT + 1));
    }
    script_t inner = take(s, b % 10);
    if (c->nest >= MAX_NEST)
        return 0;
    int gi = atomic_fetch_add(&st.ngroups, 1);
    if (gi >= MAX_GROUPS)
        return 0;
    weft_group_t *g = weft_group_new();
    if (!g)
        die("weft_group_new failed with %d", weft_last_error());
    st.groups[gi] = g; /* main frees it once every task has finished */
    for (size_t j = 0; j < nkids; j++)
        spawn_child(c, kids[j], kid_b[j], g);
    struct ctx ic = *c;
    ic.nest++;
    ic.group = g;
    int raised = run_script(&ic, &inner);
    int rc = weft_group_join(g);
    /* Every child has finished; each failure is listed once. */
    int failures = 0;
    for (int i = 0; i < nslots(); i++) {
        struct slot *sl = &st.slots[i];
        if (atomic_load_explicit(&sl->ready, memory_order_acquire) != 1 || sl->group != g)
            continue;
        int r = outcome_of(i, NULL);
        failures += r != 0 && r != WEFT_ECANCELED;
    }
    int errs[MAX_SLOTS];
    int n = weft_group_errors(g, errs, MAX_SLOTS);
    if (n != failures)
        die("weft_group_errors gave %d, %d children failed", n, failures);
    for (int j = 0; j < n; j++)
        if (errs[j] != E_ONE && errs[j] != E_TWO)
            die("weft_group_errors listed %d", errs[j]);
    if (n > 0 ? rc != errs[0] : (rc != 0 && rc != WEFT_ECANCELED))
        die("weft_group_join gave %d with %d failures (first %d)", rc, n, n ? errs[0] : 0);
    if (rc == WEFT_ECANCELED || (rc == 0 && raised))
        return WEFT_ECANCELED;
    return 0;
}

/* Runs one operation; WEFT_ECANCELED when the script is to stop there. */
static int run_op(struct ctx *c, script_t *s)
{
    int op = next(s) % OP_COUNT;
    switch (op) {
    case OP_SPAWN: {
        uint8_t a = next(s), b = next(s);
        script_t child = take(s, a % (MAX_SCRIPT + 1));
        spawn_child(c, child, b, (c->group && (b & 32)) ? c->group : NULL);
        return 0;
    }
    case OP_GROUP:
        return op_group(c, s);
    case OP_CANCEL: {
        uint8_t a = next(s);
        int i = pick_above(-1, a);
        if (i < 0)
            return 0;
        int rc = weft_cancel(st.slots[i].t);
        if (rc != 0 && rc != 1)
            die("weft_cancel gave %d", rc);
        if (rc == 0 && !weft_task_done(st.slots[i].t))
            die("task %d: weft_cancel gave 0 but it has not finished", i);
        return 0;
    }
    case OP_AWAIT: {
        uint8_t a = next(s);
        if (a == 255 && c->rank >= 0) {
            int rc = weft_await(weft_current(), NULL);
            if (rc != WEFT_EDEADLK)
                die("weft_await of the caller itself gave %d", rc);
            return 0;
        }
        int i = pick_above(c->rank, a);
        if (i < 0)
            return 0;
        void *res = NULL;
        int rc = weft_await(st.slots[i].t, &res);
        check_outcome(i, rc, res, "weft_await");
        return rc == WEFT_ECANCELED ? WEFT_ECANCELED : 0;
    }
    case OP_GATHER:
        return op_gather(c, s);
    case OP_WAIT:
        return op_wait(c, s);
    case OP_WAIT_FOR:
        return op_wait_for(c, s);
    case OP_SHIELD:
        return op_shield(c, s);
    case OP_TIMEOUT:
        return op_timeout(c, s);
    case OP_SEND:
    case OP_RECV:
    case OP_TRY_SEND:
    case OP_TRY_RECV:
    case OP_CLOSE:
        return op_chan(op, next(s));
    case OP_PARTNER: {
        uint8_t a = next(s);
        script_t p = {partner_script[a & 1][(a >> 1) % NCHAN], 2, 0};
        spawn_child(c, p, 0, NULL);
        return 0;
    }
    case OP_SLEEP: {
        int rc = weft_sleep(next(s) % 3);
        if (rc != 0 && rc != WEFT_ECANCELED)
            die("weft_sleep gave %d", rc);
        return rc;
    }
    default: { /* OP_YIELD */
        int rc = weft_yield();
        if (rc != 0 && rc != WEFT_ECANCELED)
            die("weft_yield gave %d", rc);
        return rc;
    }
    }
}

/* Runs s until its end, the budget's end or a cancel it passes on. */
static int run_script(struct ctx *c, script_t *s)
{
    while (s->pos < s->len) {
        if (atomic_fetch_sub(&st.budget, 1) <= 0)
            return 0;
        if (run_op(c, s) == WEFT_ECANCELED && !c->swallow)
            return WEFT_ECANCELED;
    }
    return 0;
}

/* Awaits every task (twice: the same outcome), tasks spawned meanwhile too. */
static void await_all(void)
{
    for (int done = 0, n; done < (n = nslots()); done = n) {
        for (int i = done; i < n; i++) {
            struct slot *sl = &st.slots[i];
            int ready;
            while ((ready = atomic_load_explicit(&sl->ready, memory_order_acquire)) == 0)
                weft_yield(); /* its spawner is between reserving and spawning */
            if (ready != 1)
                continue;
            void *r1 = NULL, *r2 = NULL;
            int rc1 = weft_await(sl->t, &r1);
            check_outcome(i, rc1, r1, "the final weft_await");
            int rc2 = weft_await(sl->t, &r2);
            if (rc2 != rc1 || r2 != r1)
                die("task %d: awaited twice, gave %d then %d", i, rc1, rc2);
            if (weft_task_cancelled(sl->t) != (rc1 == WEFT_ECANCELED))
                die("task %d: weft_task_cancelled disagrees with its code %d", i, rc1);
        }
    }
}

/* Takes what the channels still hold; then every item whose send returned
 * 0 was received exactly once, and no other item was received. */
static void check_items(void)
{
    for (int ch = 0; ch < NCHAN; ch++) {
        void *item;
        int rc;
        while ((rc = weft_chan_try_recv(st.chan[ch], &item)) == 0)
            received(ch, item);
        if (rc != WEFT_ECLOSED)
            die("channel %d: closed and drained, try_recv gave %d", ch, rc);
    }
    int n = atomic_load(&st.nitems);
    for (int x = 1; x <= n && x <= MAX_ITEMS; x++) {
        int sent = atomic_load(&st.item_sent[x]), got = atomic_load(&st.item_recv[x]);
        if (sent && got != 1)
            die("item %d: sent, received %d times", x, got);
        if (!sent && got != 0)
            die("item %d: its send failed, yet it was received", x);
    }
}

static int fuzz_main(void *arg, void **result)
{
    script_t *s = arg;
    struct ctx c = {.rank = -1};
    run_script(&c, s);
    for (int ch = 0; ch < NCHAN; ch++) {
        int rc = weft_chan_close(st.chan[ch]);
        if (rc != 0 && rc != WEFT_ECLOSED)
            die("weft_chan_close gave %d", rc);
    }
    await_all();
    check_items();
    int cancelling = weft_cancelling();
    if (cancelling != 0)
        die("main: %d cancel requests left after every scope and group closed", cancelling);
    int ngroups = atomic_load(&st.ngroups);
    for (int i = 0; i < ngroups && i < MAX_GROUPS; i++)
        weft_group_free(st.groups[i]);
    for (int i = 0; i < nslots(); i++)
        if (atomic_load(&st.slots[i].ready) == 1 && !st.slots[i].group)
            weft_task_release(st.slots[i].t);
    /* A finished task gives its stack back just after it has woken us. */
    weft_stats_t stats;
    for (int ms = 0;; ms++) {
        if (weft_stats(&stats) != 0)
            die("weft_stats failed");
        if (stats.tasks_live == 1 && stats.stacks_in_use == 1)
            break;
        if (stats.tasks_live != 1 || ms >= STATS_PATIENCE_MS)
            die("main: %llu tasks live, %llu stacks in use; 1 and 1 expected",
                (unsigned long long)stats.tasks_live, (unsigned long long)stats.stacks_in_use);
        weft_sleep(1);
    }
    *result = &main_marker;
    return st.main_plan;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (size > MAX_INPUT)
        size = MAX_INPUT;
    memset(&st, 0, sizeof st);
    atomic_store(&st.budget, OP_BUDGET);
    for (int ch = 0; ch < NCHAN; ch++) {
        st.chan[ch] = weft_chan_new(chan_caps[(data[0] >> (2 * ch)) & 3]);
        if (!st.chan[ch])
            die("weft_chan_new failed");
    }
    st.main_plan = (data[0] & 0x40) ? MAIN_ERR : 0;
    script_t s = {data + 1, size - 1, 0};
    weft_config_t cfg = {.workers = 2};
    void *res = NULL;
    int rc = weft_run(&cfg, fuzz_main, &s, &res);
    if (rc != st.main_plan || res != &main_marker)
        die("weft_run gave %d (result %p), main returned %d (%p)", rc, res, st.main_plan,
            (void *)&main_marker);
    for (int ch = 0; ch < NCHAN; ch++)
        weft_chan_free(st.chan[ch]);
    return 0;
}
