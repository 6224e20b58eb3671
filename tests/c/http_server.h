/*
 * Test helper (header-only): a scriptable HTTP/1.1 server on 127.0.0.1 in a
 * thread of the test, for the HTTP exporters.
 *
 * It keeps connections alive and reads any number of requests on each. Each
 * request is recorded (request line, method, path, header block, body,
 * arrival time, connection number) and answered by the next step of the
 * script, then by `then_status` with an empty body once the script is done.
 * A TLS ClientHello gets a plain-HTTP 400 and the connection is closed, as a
 * misconfigured collector would do. Tests read `reqs`, `n_reqs`,
 * `n_accepted` and `n_tls` under `mu`.
 */
#ifndef CTR_TEST_HTTP_SERVER_H
#define CTR_TEST_HTTP_SERVER_H

#include <chaostracing/common.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* What a step does with the request it answers. */
enum action {
    RESPOND, /* send `status`, `headers` and `body` */
    SILENT,  /* never answer anything on this connection again */
    CLOSE,   /* close the connection without an answer */
};

struct step {
    enum action act;
    int status;
    const char *headers; /* extra header lines, each ending in \r\n */
    const void *body;
    size_t body_len;
};

struct req {
    char line[256]; /* the request line */
    char method[16];
    char path[256];
    char headers[8192]; /* the raw header block, request line excluded */
    char *body;         /* body_len bytes, then a NUL */
    size_t body_len;
    uint64_t t_ns; /* monotonic arrival time */
    int conn_no;   /* which accepted connection carried it (1-based) */
};

#define MAX_CONNS 16
#define MAX_REQS 32
#define MAX_SCRIPT 8

struct conn {
    int fd;
    int no;
    bool silent;
    struct ctr_buf in;
};

struct server {
    int lfd;
    int port;
    int stop_pipe[2];
    pthread_t th;
    pthread_mutex_t mu;
    struct step script[MAX_SCRIPT];
    size_t n_script;
    size_t next;
    int then_status; /* the answer once the script is done */
    struct req reqs[MAX_REQS];
    size_t n_reqs;
    int n_accepted;
    int n_tls; /* TLS handshakes seen */
    struct conn conns[MAX_CONNS];
    size_t n_conns;
};

/* Close connection i; the last one takes its place. */
static inline void conn_close(struct server *s, size_t i)
{
    close(s->conns[i].fd);
    ctr_buf_free(&s->conns[i].in);
    s->conns[i] = s->conns[--s->n_conns];
}

/* Send all `n` bytes, giving up silently when the peer has gone. */
static inline void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        c += w;
        n -= (size_t)w;
    }
}

/* Find "\r\nname:" in a header block; copy the trimmed value. */
static inline bool header_value(const char *block, const char *name, char *out, size_t size)
{
    size_t nl = strlen(name);
    for (const char *p = block; (p = strstr(p, "\r\n")) != NULL; p += 2) {
        const char *h = p + 2;
        if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
            const char *v = h + nl + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t len = e ? (size_t)(e - v) : strlen(v);
            if (len >= size)
                len = size - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return true;
        }
    }
    return false;
}

/* Record the request of `hlen` header bytes (`block`, NUL-terminated) and
 * `clen` body bytes at `data`. Called with s->mu held. */
static inline void record_request(struct server *s, const struct conn *c, const char *block,
                                  const char *data, size_t hlen, size_t clen)
{
    if (s->n_reqs >= MAX_REQS)
        return;
    struct req *r = &s->reqs[s->n_reqs++];
    memset(r, 0, sizeof *r);
    const char *eol = strstr(block, "\r\n");
    size_t ll = eol ? (size_t)(eol - block) : strlen(block);
    snprintf(r->line, sizeof r->line, "%.*s", (int)ll, block);
    sscanf(block, "%15s %255s", r->method, r->path);
    snprintf(r->headers, sizeof r->headers, "%s", eol ? eol : "");
    r->body = malloc(clen + 1);
    if (r->body) {
        memcpy(r->body, data + hlen, clen);
        r->body[clen] = '\0';
    }
    r->body_len = clen;
    r->t_ns = ctr_monotonic_ns();
    r->conn_no = c->no;
}

/* Handle every complete request buffered on connection i. Returns false when
 * the connection was closed. */
static inline bool serve_requests(struct server *s, size_t i)
{
    for (;;) {
        struct conn *c = &s->conns[i];
        if (c->in.len < 4)
            return true;
        const char *data = (const char *)c->in.data;
        if (data[0] == 0x16) {
            /* A TLS ClientHello: answer in plain HTTP, as a misconfigured
             * collector would, and hang up. */
            static const char plain[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
            send_all(c->fd, plain, sizeof plain - 1);
            pthread_mutex_lock(&s->mu);
            s->n_tls++;
            pthread_mutex_unlock(&s->mu);
            conn_close(s, i);
            return false;
        }
        const char *end = memmem(data, c->in.len, "\r\n\r\n", 4);
        if (!end)
            return true;
        size_t hlen = (size_t)(end - data) + 4;
        char block[8192];
        size_t bl = hlen < sizeof block ? hlen : sizeof block - 1;
        memcpy(block, data, bl);
        block[bl] = '\0';
        char cl[32] = "0";
        header_value(block, "Content-Length", cl, sizeof cl);
        size_t clen = (size_t)strtoull(cl, NULL, 10);
        if (c->in.len < hlen + clen)
            return true;

        pthread_mutex_lock(&s->mu);
        record_request(s, c, block, data, hlen, clen);
        struct step st = {RESPOND, s->then_status, "", NULL, 0};
        if (s->next < s->n_script)
            st = s->script[s->next++];
        pthread_mutex_unlock(&s->mu);

        memmove(c->in.data, c->in.data + hlen + clen, c->in.len - hlen - clen);
        c->in.len -= hlen + clen;
        if (c->silent)
            continue;
        if (st.act == CLOSE) {
            conn_close(s, i);
            return false;
        }
        if (st.act == SILENT) {
            c->silent = true;
            continue;
        }
        char head[1024];
        int n = snprintf(head, sizeof head,
                         "HTTP/1.1 %d Scripted\r\nContent-Length: %zu\r\nConnection: "
                         "keep-alive\r\n%s\r\n",
                         st.status, st.body_len, st.headers ? st.headers : "");
        send_all(c->fd, head, (size_t)n);
        if (st.body_len)
            send_all(c->fd, st.body, st.body_len);
    }
}

/* The server thread: accept, read and answer until the stop pipe is
 * written. */
static inline void *server_main(void *arg)
{
    struct server *s = arg;
    for (;;) {
        struct pollfd pf[2 + MAX_CONNS];
        pf[0] = (struct pollfd){s->stop_pipe[0], POLLIN, 0};
        pf[1] = (struct pollfd){s->lfd, POLLIN, 0};
        size_t n = s->n_conns;
        for (size_t i = 0; i < n; i++)
            pf[2 + i] = (struct pollfd){s->conns[i].fd, POLLIN, 0};
        if (poll(pf, 2 + n, 1000) < 0 && errno != EINTR)
            break;
        if (pf[0].revents)
            break;
        /* Connections from last to first: conn_close moves the last one. */
        for (size_t i = n; i-- > 0;) {
            if (!pf[2 + i].revents)
                continue;
            char buf[65536];
            ssize_t r = recv(s->conns[i].fd, buf, sizeof buf, 0);
            if (r <= 0) {
                conn_close(s, i);
                continue;
            }
            ctr_buf_append(&s->conns[i].in, buf, (size_t)r);
            serve_requests(s, i);
        }
        if (pf[1].revents & POLLIN) {
            int fd = accept(s->lfd, NULL, NULL);
            if (fd >= 0) {
                if (s->n_conns < MAX_CONNS) {
                    pthread_mutex_lock(&s->mu);
                    int no = ++s->n_accepted;
                    pthread_mutex_unlock(&s->mu);
                    s->conns[s->n_conns++] = (struct conn){fd, no, false, {0}};
                } else {
                    close(fd);
                }
            }
        }
    }
    while (s->n_conns)
        conn_close(s, s->n_conns - 1);
    return NULL;
}

/* Start a server that answers with the `n` steps of `script` (at most
 * MAX_SCRIPT), then `then_status`. Exits the test program on failure. */
static inline struct server *server_start_then(const struct step *script, size_t n, int then_status)
{
    struct server *s = calloc(1, sizeof *s);
    if (!s)
        exit(2);
    pthread_mutex_init(&s->mu, NULL);
    s->n_script = n < MAX_SCRIPT ? n : MAX_SCRIPT;
    for (size_t i = 0; i < s->n_script; i++)
        s->script[i] = script[i];
    s->then_status = then_status;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(s->lfd, 16) != 0 || getsockname(s->lfd, (struct sockaddr *)&a, &al) != 0 ||
        pipe(s->stop_pipe) != 0) {
        perror("server_start");
        exit(2);
    }
    s->port = ntohs(a.sin_port);
    if (pthread_create(&s->th, NULL, server_main, s) != 0) {
        perror("pthread_create");
        exit(2);
    }
    return s;
}

/* Start a server that answers with `script`, then 200s. */
static inline struct server *server_start(const struct step *script, size_t n)
{
    return server_start_then(script, n, 200);
}

/* Start a server that answers the `n` statuses of `statuses` in order (at
 * most MAX_SCRIPT), with empty bodies, then `then_status`. */
static inline struct server *server_start_statuses(const int *statuses, size_t n, int then_status)
{
    struct step script[MAX_SCRIPT];
    if (n > MAX_SCRIPT)
        n = MAX_SCRIPT;
    for (size_t i = 0; i < n; i++)
        script[i] = (struct step){RESPOND, statuses[i], "", NULL, 0};
    return server_start_then(script, n, then_status);
}

/* Stop the thread and free everything; NULL-safe. */
static inline void server_free(struct server *s)
{
    if (!s)
        return;
    if (write(s->stop_pipe[1], "x", 1) != 1)
        perror("write");
    pthread_join(s->th, NULL);
    close(s->lfd);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    for (size_t i = 0; i < s->n_reqs; i++)
        free(s->reqs[i].body);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* How many requests the server has recorded. */
static inline size_t server_nreqs(struct server *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_reqs;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* A loopback port where nothing listens. */
static inline int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        perror("closed_port");
        exit(2);
    }
    close(fd);
    return ntohs(a.sin_port);
}

#endif
