/*
 * error.c - weft_strerror: text for weft's codes and for the negative errno
 * values (socket errors) passed through.
 */
#include "api/weft.h"

#include <limits.h>
#include <string.h>

const char *weft_strerror(int rc)
{
    switch (rc) {
    case 0:
        return "success";
    case WEFT_ECANCELED:
        return "the task was cancelled";
    case WEFT_ETIMEDOUT:
        return "the timeout expired";
    case WEFT_EINVAL:
        return "invalid argument";
    case WEFT_ENOMEM:
        return "out of memory";
    case WEFT_EPERM:
        return "not allowed here: needs a task, or must not run in one";
    case WEFT_EDEADLK:
        return "a task cannot await itself";
    case WEFT_ESHUTDOWN:
        return "the scheduler is stopping";
    case WEFT_ECLOSED:
        return "the channel is closed";
    case WEFT_EAGAIN:
        return "it would have to wait";
    }
    /* INT_MIN has no positive counterpart to look up. */
    const char *text = rc < 0 && rc != INT_MIN ? strerrordesc_np(-rc) : NULL;
    return text ? text : "unknown error";
}
