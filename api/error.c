/*
 * error.c - weft_strerror: a text for every code weft returns (its own, the
 * sockets' -errno values and the name lookups' EAI codes, each named
 * WEFT_E* in weft.h), and the compile-time proof that those names carry
 * libuv's values.
 */
#include "api/weft.h"

#include <limits.h>
#include <string.h>

/* weft.h must not need uv.h, so it spells libuv's values out; uv.h is
 * included here only to check them.  Nothing of libuv is called. */
#include <uv.h>

#define WEFT_SAME_AS_UV(name)                                                                    \
    _Static_assert(WEFT_##name == UV_##name, "WEFT_" #name " differs from libuv's UV_" #name)

WEFT_SAME_AS_UV(ECANCELED);
WEFT_SAME_AS_UV(ETIMEDOUT);
WEFT_SAME_AS_UV(EINVAL);
WEFT_SAME_AS_UV(ENOMEM);
WEFT_SAME_AS_UV(EPERM);
WEFT_SAME_AS_UV(ESHUTDOWN);
WEFT_SAME_AS_UV(EAGAIN);
WEFT_SAME_AS_UV(EACCES);
WEFT_SAME_AS_UV(EADDRINUSE);
WEFT_SAME_AS_UV(EADDRNOTAVAIL);
WEFT_SAME_AS_UV(EAFNOSUPPORT);
WEFT_SAME_AS_UV(EBADF);
WEFT_SAME_AS_UV(EBUSY);
WEFT_SAME_AS_UV(ECONNABORTED);
WEFT_SAME_AS_UV(ECONNREFUSED);
WEFT_SAME_AS_UV(ECONNRESET);
WEFT_SAME_AS_UV(EHOSTDOWN);
WEFT_SAME_AS_UV(EHOSTUNREACH);
WEFT_SAME_AS_UV(EMFILE);
WEFT_SAME_AS_UV(ENETDOWN);
WEFT_SAME_AS_UV(ENETUNREACH);
WEFT_SAME_AS_UV(ENFILE);
WEFT_SAME_AS_UV(ENOBUFS);
WEFT_SAME_AS_UV(ENOTCONN);
WEFT_SAME_AS_UV(EPIPE);
WEFT_SAME_AS_UV(EPROTO);
WEFT_SAME_AS_UV(EAI_ADDRFAMILY);
WEFT_SAME_AS_UV(EAI_AGAIN);
WEFT_SAME_AS_UV(EAI_BADFLAGS);
WEFT_SAME_AS_UV(EAI_CANCELED);
WEFT_SAME_AS_UV(EAI_FAIL);
WEFT_SAME_AS_UV(EAI_FAMILY);
WEFT_SAME_AS_UV(EAI_MEMORY);
WEFT_SAME_AS_UV(EAI_NODATA);
WEFT_SAME_AS_UV(EAI_NONAME);
WEFT_SAME_AS_UV(EAI_OVERFLOW);
WEFT_SAME_AS_UV(EAI_SERVICE);
WEFT_SAME_AS_UV(EAI_SOCKTYPE);
WEFT_SAME_AS_UV(EAI_BADHINTS);
WEFT_SAME_AS_UV(EAI_PROTOCOL);
/* The codes libuv has no name for must not be mistaken for one of its
 * codes: a clash would be a duplicate case label, which does not compile.
 * Never called. */
__attribute__((unused)) static void weft_codes_not_libuvs(int rc)
{
    switch (rc) {
    case WEFT_ECLOSED:
    case WEFT_EDEADLK:
#define WEFT_UV_CASE(code, text) case UV_##code:
        UV_ERRNO_MAP(WEFT_UV_CASE)
#undef WEFT_UV_CASE
        break;
    }
}

const char *weft_strerror(int rc)
{
    switch (rc) {
    case 0:
        return "success";
    /* weft's own.  Some share their value with a socket error (EPERM,
     * ETIMEDOUT, EAGAIN); the text is weft's meaning, which is the one a
     * program meets. */
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
    /* Sockets. */
    case WEFT_EACCES:
        return "permission denied";
    case WEFT_EADDRINUSE:
        return "address already in use";
    case WEFT_EADDRNOTAVAIL:
        return "address not available on this host";
    case WEFT_EAFNOSUPPORT:
        return "address family not supported";
    case WEFT_EBADF:
        return "the socket is closed or being closed";
    case WEFT_EBUSY:
        return "another read or write of the same kind is under way on the socket";
    case WEFT_ECONNABORTED:
        return "connection aborted";
    case WEFT_ECONNREFUSED:
        return "connection refused";
    case WEFT_ECONNRESET:
        return "connection reset by peer";
    case WEFT_EHOSTDOWN:
        return "host is down";
    case WEFT_EHOSTUNREACH:
        return "no route to host";
    case WEFT_EMFILE:
        return "too many open files in the process";
    case WEFT_ENETDOWN:
        return "network is down";
    case WEFT_ENETUNREACH:
        return "network is unreachable";
    case WEFT_ENFILE:
        return "too many open files in the system";
    case WEFT_ENOBUFS:
        return "no buffer space available";
    case WEFT_ENOTCONN:
        return "the socket is not connected";
    case WEFT_EPIPE:
        return "broken pipe: the peer has closed the connection";
    case WEFT_EPROTO:
        return "protocol error";
    /* Name lookups. */
    case WEFT_EAI_ADDRFAMILY:
        return "name lookup: the host has no address of the requested family";
    case WEFT_EAI_AGAIN:
        return "name lookup: temporary failure, try again";
    case WEFT_EAI_BADFLAGS:
        return "name lookup: invalid flags";
    case WEFT_EAI_CANCELED:
        return "name lookup: cancelled";
    case WEFT_EAI_FAIL:
        return "name lookup: permanent failure";
    case WEFT_EAI_FAMILY:
        return "name lookup: address family not supported";
    case WEFT_EAI_MEMORY:
        return "name lookup: out of memory";
    case WEFT_EAI_NODATA:
        return "name lookup: the name has no address";
    case WEFT_EAI_NONAME:
        return "name lookup: unknown host or service";
    case WEFT_EAI_OVERFLOW:
        return "name lookup: argument buffer overflow";
    case WEFT_EAI_SERVICE:
        return "name lookup: service not available for the socket type";
    case WEFT_EAI_SOCKTYPE:
        return "name lookup: socket type not supported";
    case WEFT_EAI_BADHINTS:
        return "name lookup: invalid hints";
    case WEFT_EAI_PROTOCOL:
        return "name lookup: resolved protocol unknown";
    }
    /* Any other -errno (a code from the kernel weft has no name for).
     * INT_MIN has no positive counterpart to look up. */
    const char *text = rc < 0 && rc != INT_MIN ? strerrordesc_np(-rc) : NULL;
    if (text)
        return text;
    return rc > 0 ? "not an error code (weft's codes are negative)"
                  : "unknown error code (not one weft returns)";
}
