/*
 * dump.c - weft_dump: a line per live task, for people.  It walks task
 * memory as weft_stop does (taskmem.c) and reads only what the tasks
 * publish atomically (state, wait state, wait kind, name), so it runs no
 * task code and takes no lock a task could hold.
 */
#include "sched/internal.h"

#include <inttypes.h>

struct dump {
    FILE *f;
    int n;
};

static const char *waiting_on(int kind)
{
    switch (kind) {
    case WEFT_WAIT_TASK:
        return "waiting: awaiting a task";
    case WEFT_WAIT_SLEEP:
        return "waiting: sleeping";
    case WEFT_WAIT_MULTI:
        return "waiting: on several tasks (gather, wait, wait_for, shield, join)";
    case WEFT_WAIT_NEXT:
        return "waiting: as_completed";
    case WEFT_WAIT_OBJ:
        return "waiting: "; /* followed by the object's own words */
    }
    return "waiting";
}

static void dump_one(weft_task_t *t, void *ctx)
{
    struct dump *d = ctx;
    char name[64];
    weft__task_name_into(t, name, sizeof name);
    uint32_t ws = atomic_load_explicit(&t->wstate, memory_order_acquire);
    int kind = atomic_load_explicit(&t->wait_kind, memory_order_relaxed);
    bool waiting = (ws & WEFT_W_WAITING) && !(ws & WEFT_W_WAKE);
    const char *what = !waiting ? "runnable or running" : waiting_on(kind);
    const char *obj = waiting && kind == WEFT_WAIT_OBJ
                          ? atomic_load_explicit(&t->wait_ops, memory_order_relaxed)->what
                          : NULL;
    fprintf(d->f, "  #%" PRIu64 " '%s': %s%s%s\n", t->id, name, what, obj ? obj : "",
            atomic_load_explicit(&t->cancel_pending, memory_order_relaxed)
                ? ", cancel pending"
                : "");
    d->n++;
}

int weft_dump(FILE *f)
{
    struct weft_sched *s = weft__caller_sched();
    if (!f || !s)
        return WEFT_EINVAL;
    struct dump d = {.f = f};
    fprintf(f, "weft: live tasks\n");
    weft__task_foreach_live(s, dump_one, &d);
    return d.n;
}
