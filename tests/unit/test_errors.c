/*
 * test_errors.c - the error codes of weft.h and weft_strerror: every
 * WEFT_E* code has a text of its own (not the fallback, not another code's),
 * the list walked here is every WEFT_E* the header defines (read from the
 * header itself, so a new code without a text fails here), unknown codes get
 * a clear fallback, and codes that sockets and name lookups really return
 * arrive under their WEFT_E* names with their own text.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime in check.h */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "weft.h"

#ifndef WEFT_HEADER
#error "WEFT_HEADER must name api/weft.h (tests/CMakeLists.txt defines it)"
#endif

struct code {
    int value;
    const char *name;
};

#define CODE(name) {name, #name}

/* Every WEFT_E* of weft.h; test_table_is_the_header checks that. */
static const struct code codes[] = {
    CODE(WEFT_ECANCELED),     CODE(WEFT_ETIMEDOUT),      CODE(WEFT_EINVAL),
    CODE(WEFT_ENOMEM),        CODE(WEFT_EPERM),          CODE(WEFT_EDEADLK),
    CODE(WEFT_ESHUTDOWN),     CODE(WEFT_ECLOSED),        CODE(WEFT_EAGAIN),
    CODE(WEFT_EACCES),        CODE(WEFT_EADDRINUSE),     CODE(WEFT_EADDRNOTAVAIL),
    CODE(WEFT_EAFNOSUPPORT),  CODE(WEFT_EBADF),          CODE(WEFT_EBUSY),
    CODE(WEFT_ECONNABORTED),  CODE(WEFT_ECONNREFUSED),   CODE(WEFT_ECONNRESET),
    CODE(WEFT_EHOSTDOWN),     CODE(WEFT_EHOSTUNREACH),   CODE(WEFT_EMFILE),
    CODE(WEFT_ENETDOWN),      CODE(WEFT_ENETUNREACH),    CODE(WEFT_ENFILE),
    CODE(WEFT_ENOBUFS),       CODE(WEFT_ENOTCONN),       CODE(WEFT_EPIPE),
    CODE(WEFT_EPROTO),        CODE(WEFT_EAI_ADDRFAMILY), CODE(WEFT_EAI_AGAIN),
    CODE(WEFT_EAI_BADFLAGS),  CODE(WEFT_EAI_CANCELED),   CODE(WEFT_EAI_FAIL),
    CODE(WEFT_EAI_FAMILY),    CODE(WEFT_EAI_MEMORY),     CODE(WEFT_EAI_NODATA),
    CODE(WEFT_EAI_NONAME),    CODE(WEFT_EAI_OVERFLOW),   CODE(WEFT_EAI_SERVICE),
    CODE(WEFT_EAI_SOCKTYPE),  CODE(WEFT_EAI_BADHINTS),   CODE(WEFT_EAI_PROTOCOL),
};
#define NCODES (sizeof codes / sizeof codes[0])

/* The fallbacks: a negative code nobody defines, and a positive one. */
static const char *unknown_text(void)
{
    return weft_strerror(-99999);
}

static const char *positive_text(void)
{
    return weft_strerror(1);
}

static void test_every_code_has_its_own_text(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCODES; i++) {
        const char *msg = weft_strerror(codes[i].value);
        if (!msg || !*msg || strcmp(msg, unknown_text()) == 0 ||
            strcmp(msg, positive_text()) == 0 || strcmp(msg, weft_strerror(0)) == 0)
            fail_msg("%s (%d) has no text of its own: \"%s\"", codes[i].name, codes[i].value,
                     msg ? msg : "(null)");
        assert_true(codes[i].value < 0);
        for (size_t j = 0; j < i; j++) {
            if (codes[j].value == codes[i].value)
                fail_msg("%s and %s are both %d", codes[j].name, codes[i].name, codes[i].value);
            if (strcmp(weft_strerror(codes[j].value), msg) == 0)
                fail_msg("%s and %s share the text \"%s\"", codes[j].name, codes[i].name, msg);
        }
    }
}

/* libuv's values on Linux: -errno, and its own numbers for lookups. */
static void test_values_are_libuvs(void **state)
{
    (void)state;
    assert_int_equal(WEFT_ECONNREFUSED, -ECONNREFUSED);
    assert_int_equal(WEFT_ECONNRESET, -ECONNRESET);
    assert_int_equal(WEFT_EPIPE, -EPIPE);
    assert_int_equal(WEFT_EADDRINUSE, -EADDRINUSE);
    assert_int_equal(WEFT_EBADF, -EBADF);
    assert_int_equal(WEFT_EBUSY, -EBUSY);
    assert_int_equal(WEFT_EAI_NONAME, -3008);
    assert_int_equal(WEFT_EAI_AGAIN, -3001);
}

/* Is name, at p, a whole identifier? */
static bool is_name(const char *p, const char *name)
{
    size_t n = strlen(name);
    return strncmp(p, name, n) == 0 && !(isalnum((unsigned char)p[n]) || p[n] == '_');
}

static void test_table_is_the_header(void **state)
{
    (void)state;
    FILE *f = fopen(WEFT_HEADER, "r");
    if (!f)
        fail_msg("cannot open %s", WEFT_HEADER);
    char line[512];
    size_t found = 0;
    while (fgets(line, sizeof line, f)) {
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "#define", 7) != 0)
            continue;
        p += 7;
        while (*p == ' ' || *p == '\t')
            p++;
        /* A code is a WEFT_E* macro with a negative value, "(-...)";
         * WEFT_EXPORT and the like are not codes. */
        if (strncmp(p, "WEFT_E", 6) != 0)
            continue;
        const char *v = p;
        while (isalnum((unsigned char)*v) || *v == '_')
            v++;
        while (*v == ' ' || *v == '\t')
            v++;
        if (strncmp(v, "(-", 2) != 0)
            continue;
        size_t i = 0;
        while (i < NCODES && !is_name(p, codes[i].name))
            i++;
        if (i == NCODES) {
            fclose(f);
            fail_msg("weft.h defines a code this test does not walk: %s", p);
        }
        found++;
    }
    fclose(f);
    /* And the other way: each code of the table is defined there once. */
    assert_int_equal(found, NCODES);
}

static void test_unknown_codes_get_a_fallback(void **state)
{
    (void)state;
    const int unknown[] = {-99999, -4201, -3012, -3015, INT_MIN, -5000};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        assert_string_equal(weft_strerror(unknown[i]), unknown_text());
    assert_non_null(strstr(unknown_text(), "unknown"));
    const int positive[] = {1, EPIPE, INT_MAX};
    for (size_t i = 0; i < sizeof positive / sizeof positive[0]; i++)
        assert_string_equal(weft_strerror(positive[i]), positive_text());
    assert_string_not_equal(positive_text(), unknown_text());
    assert_string_equal(weft_strerror(0), "success");
    /* A -errno weft has no name for still gets the system's description. */
    const char *noent = weft_strerror(-ENOENT);
    assert_string_not_equal(noent, unknown_text());
    assert_true(strlen(noent) > 0);
}

/* ---- codes as sockets and lookups return them ---------------------------- */

struct seen {
    int refused, lookup;
};

static int network_main(void *arg, void **result)
{
    (void)result;
    struct seen *seen = arg;
    /* A port nobody listens on: bind one, then close it. */
    weft_sock_t *l, *c = NULL;
    CHECK_EQ(weft_tcp_listen("127.0.0.1", 0, 0, &l), 0);
    int port = weft_tcp_port(l);
    CHECK_EQ(weft_close(l), 0);
    seen->refused = weft_tcp_connect("127.0.0.1", port, &c);
    if (c)
        weft_close(c);
    /* A name with an empty label: the resolver refuses it without asking
     * any server, so the test needs no network. */
    seen->lookup = weft_tcp_connect("a..b", 80, &c);
    if (seen->lookup == 0)
        weft_close(c);
    return 0;
}

static void test_network_codes_arrive_named(void **state)
{
    (void)state;
    struct seen seen = {0, 0};
    assert_int_equal(weft_run(&(weft_config_t){.workers = 1}, network_main, &seen, NULL), 0);
    assert_no_check_failures();
    assert_int_equal(seen.refused, WEFT_ECONNREFUSED);
    assert_string_equal(weft_strerror(seen.refused), "connection refused");
    assert_int_equal(seen.lookup, WEFT_EAI_NONAME);
    assert_string_not_equal(weft_strerror(seen.lookup), unknown_text());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_has_its_own_text),
        cmocka_unit_test(test_values_are_libuvs),
        cmocka_unit_test(test_table_is_the_header),
        cmocka_unit_test(test_unknown_codes_get_a_fallback),
        cmocka_unit_test(test_network_codes_arrive_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
