/*
 * crawl.c - CPU and I/O in one program.  A tiny HTTP server task serves
 * 100 generated pages on 127.0.0.1; a crawler fetches all of them at once
 * with at most 10 requests in flight (a semaphore), and each page, once
 * fetched, is parsed on the workers (words, links and a checksum, the
 * parse repeated to make it real CPU work) while other fetches wait on the
 * network.  Prints the totals, which depend only on the pages.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft.h>

#define PAGES 100
#define IN_FLIGHT 10
#define PARSE_ROUNDS 200 /* CPU work per page */

/* ---- the server --------------------------------------------------------- */

/* Page n: a title, n % 40 + 20 words and three links. */
static int page_body(int n, char *buf, size_t cap)
{
    int len = snprintf(buf, cap, "<html><title>page %d</title><p>", n);
    for (int i = 0; i < n % 40 + 20 && len < (int)cap; i++)
        len += snprintf(buf + len, cap - (size_t)len, "w%d ", (n * 31 + i) % 97);
    for (int k = 1; k <= 3 && len < (int)cap; k++)
        len += snprintf(buf + len, cap - (size_t)len, "<a href=\"/page/%d\">next</a> ",
                        (n * 7 + k * 13) % PAGES);
    len += snprintf(buf + len, cap - (size_t)len, "</p></html>\n");
    return len;
}

/* One request: reads up to the blank line, answers, closes. */
static int serve_one(void *arg, void **result)
{
    (void)result;
    weft_sock_t *s = arg;
    char req[1024] = "";
    size_t got = 0;
    int rc = 0;
    while (got < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
        ssize_t n = weft_read(s, req + got, sizeof req - 1 - got);
        if (n <= 0) {
            rc = n < 0 ? (int)n : 0;
            break;
        }
        got += (size_t)n;
        req[got] = '\0';
    }
    int page;
    if (rc == 0 && sscanf(req, "GET /page/%d ", &page) == 1 && page >= 0 && page < PAGES) {
        char body[2048], head[128];
        int blen = page_body(page, body, sizeof body);
        int hlen = snprintf(head, sizeof head,
                            "HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n", blen);
        rc = weft_write(s, head, (size_t)hlen);
        if (rc == 0)
            rc = weft_write(s, body, (size_t)blen);
    } else if (rc == 0) {
        static const char nf[] = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        rc = weft_write(s, nf, sizeof nf - 1);
    }
    weft_close(s);
    return rc;
}

/* Accepts until cancelled; each request is a task of its own. */
static int server(void *arg, void **result)
{
    (void)result;
    weft_sock_t *l = arg;
    for (;;) {
        weft_sock_t *c;
        int rc = weft_tcp_accept(l, &c);
        if (rc < 0)
            return rc == WEFT_ECANCELED ? 0 : rc;
        weft_task_t *t = weft_spawn(serve_one, c);
        if (!t) {
            weft_close(c);
            continue;
        }
        weft_task_release(t);
    }
}

/* ---- the crawler -------------------------------------------------------- */

typedef struct crawl {
    int port;
    weft_sem_t *slots;
    atomic_int in_flight, max_in_flight;
} crawl_t;

typedef struct page {
    crawl_t *c;
    int n;
    long words, links;
    uint64_t checksum;
} page_t;

/* Fetches /page/n into buf; returns the body's length or an error. */
static int fetch(crawl_t *c, int n, char *buf, size_t cap)
{
    weft_sock_t *s;
    int rc = weft_tcp_connect("127.0.0.1", c->port, &s);
    if (rc < 0)
        return rc;
    char req[64];
    int len = snprintf(req, sizeof req, "GET /page/%d HTTP/1.0\r\n\r\n", n);
    rc = weft_write(s, req, (size_t)len);
    size_t got = 0;
    while (rc == 0 && got < cap - 1) {
        ssize_t r = weft_read(s, buf + got, cap - 1 - got);
        if (r < 0)
            rc = (int)r;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    weft_close(s);
    buf[got] = '\0';
    char *body = strstr(buf, "\r\n\r\n");
    if (rc == 0 && (strncmp(buf, "HTTP/1.0 200", 12) != 0 || !body))
        rc = WEFT_EINVAL;
    if (rc < 0)
        return rc;
    body += 4;
    size_t blen = got - (size_t)(body - buf);
    memmove(buf, body, blen + 1);
    return (int)blen;
}

/* Words, links and an FNV-1a checksum of the body, PARSE_ROUNDS times. */
static void parse(page_t *p, const char *body, int len)
{
    for (int round = 0; round < PARSE_ROUNDS; round++) {
        long words = 0, links = 0;
        uint64_t h = 0xcbf29ce484222325ull;
        int in_word = 0;
        for (int i = 0; i < len; i++) {
            h = (h ^ (unsigned char)body[i]) * 0x100000001b3ull;
            int space = body[i] == ' ' || body[i] == '>' || body[i] == '<';
            words += !space && !in_word;
            in_word = !space;
            links += strncmp(body + i, "<a href=", 8) == 0;
        }
        p->words = words;
        p->links = links;
        p->checksum = h;
    }
}

static int crawl_page(void *arg, void **result)
{
    (void)result;
    page_t *p = arg;
    crawl_t *c = p->c;
    char buf[4096];
    int rc = weft_sem_acquire(c->slots);
    if (rc < 0)
        return rc;
    int now = atomic_fetch_add(&c->in_flight, 1) + 1;
    for (int max = atomic_load(&c->max_in_flight);
         now > max && !atomic_compare_exchange_weak(&c->max_in_flight, &max, now);) {
    }
    int len = fetch(c, p->n, buf, sizeof buf);
    atomic_fetch_sub(&c->in_flight, 1);
    weft_sem_release(c->slots);
    if (len < 0)
        return len;
    parse(p, buf, len); /* on this worker, while others fetch */
    return 0;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    weft_sock_t *l;
    int rc = weft_tcp_listen("127.0.0.1", 0, 128, &l);
    if (rc < 0)
        return rc;
    crawl_t c = {.port = weft_tcp_port(l), .slots = weft_sem_new(IN_FLIGHT)};
    weft_task_t *srv = weft_spawn(server, l);
    static page_t pages[PAGES];
    static weft_task_t *tasks[PAGES];
    int n = 0;
    for (; c.slots && srv && n < PAGES; n++) {
        pages[n] = (page_t){.c = &c, .n = n};
        if (!(tasks[n] = weft_spawn(crawl_page, &pages[n])))
            break;
    }
    rc = n < PAGES ? weft_last_error() : 0;
    int grc = n > 0 ? weft_gather(tasks, (size_t)n, NULL, WEFT_RETURN_EXCEPTIONS) : 0;
    for (int i = 0; i < n; i++) {
        int one = weft_await(tasks[i], NULL);
        if (rc == 0 && one < 0) {
            fprintf(stderr, "crawl: page %d: %s\n", i, weft_strerror(one));
            rc = one;
        }
        weft_task_release(tasks[i]);
    }
    if (rc == 0)
        rc = grc;
    if (srv) {
        weft_cancel(srv);
        weft_await(srv, NULL);
        weft_task_release(srv);
    }
    weft_close(l);
    weft_sem_free(c.slots);
    if (rc < 0)
        return rc;
    long words = 0, links = 0;
    uint64_t sum = 0;
    for (int i = 0; i < PAGES; i++) {
        words += pages[i].words;
        links += pages[i].links;
        sum ^= pages[i].checksum;
    }
    int most = atomic_load(&c.max_in_flight);
    printf("fetched %d pages, never more than %d in flight: %s\n", PAGES, IN_FLIGHT,
           most <= IN_FLIGHT ? "yes" : "NO");
    fprintf(stderr, "crawl: at most %d requests were in flight at once\n", most);
    printf("words %ld, links %ld, checksum %016llx\n", words, links, (unsigned long long)sum);
    return 0;
}

int main(void)
{
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0)
        fprintf(stderr, "crawl: %s\n", weft_strerror(rc));
    return rc < 0;
}
