/*
 * Connected non-blocking UDP socket. See udp.h.
 */
#include "transport/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Longest wait for room in a full socket buffer, per datagram. */
#define MAX_WAIT_MS 200

struct ctr__udp {
    int fd;
    char peer[INET6_ADDRSTRLEN + 16];
};

/* Format `sa` as "addr:port" or "[addr]:port" into `out`. */
static void format_peer(const struct sockaddr *sa, char *out, size_t size)
{
    char addr[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, addr, sizeof addr);
        port = ntohs(in->sin_port);
        snprintf(out, size, "%s:%u", addr, port);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof addr);
        port = ntohs(in6->sin6_port);
        snprintf(out, size, "[%s]:%u", addr, port);
    }
}

/* Open a socket for `ai` and connect it. Returns the descriptor, or -1 with
 * errno set. */
static int open_one(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -1;
    int sndbuf = CTR__UDP_SNDBUF;
    /* Best effort: the kernel caps the size; a failure leaves the default. */
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* See udp.h. On error nothing is left open or allocated. */
int ctr__udp_open(const char *host, uint16_t port, struct ctr__udp **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    char name[256];
    size_t hl = host ? strlen(host) : 0;
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host++;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof name || port == 0) {
        if (err && errlen)
            snprintf(err, errlen, "UDP destination needs a host and a port from 1 to 65535");
        return CTR_EINVAL;
    }
    memcpy(name, host, hl);
    name[hl] = '\0';
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);

    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_protocol = IPPROTO_UDP;
    hints.ai_flags = AI_NUMERICSERV;
    struct addrinfo *res = NULL;
    int g = getaddrinfo(name, service, &hints, &res);
    if (g != 0) {
        if (err && errlen)
            snprintf(err, errlen, "cannot resolve %s: %s", name,
                     g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
        return g == EAI_MEMORY ? CTR_ENOMEM : CTR_EINVAL;
    }

    struct ctr__udp *u = calloc(1, sizeof *u);
    if (!u) {
        freeaddrinfo(res);
        return CTR_ENOMEM;
    }
    u->fd = -1;
    int last_errno = 0;
    /* IPv4 addresses first, then the others, each in resolver order. */
    for (int pass = 0; pass < 2 && u->fd < 0; pass++) {
        for (const struct addrinfo *ai = res; ai && u->fd < 0; ai = ai->ai_next) {
            if ((ai->ai_family == AF_INET) != (pass == 0))
                continue;
            if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
                continue;
            u->fd = open_one(ai);
            if (u->fd < 0)
                last_errno = errno;
            else
                format_peer(ai->ai_addr, u->peer, sizeof u->peer);
        }
    }
    freeaddrinfo(res);
    if (u->fd < 0) {
        if (err && errlen)
            snprintf(err, errlen, "cannot open a UDP socket to %s port %u: %s", name,
                     (unsigned)port, last_errno ? strerror(last_errno) : "no usable address");
        free(u);
        return CTR_ECONNECT;
    }
    *out = u;
    return 0;
}

/* Map a send() errno to a CTR_E* code. */
static int map_errno(int e)
{
    switch (e) {
    case ECONNREFUSED:
        return CTR_ECONNECT;
    case EMSGSIZE:
        return CTR_ETOOBIG;
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case ENOBUFS:
        return CTR_ETIMEOUT;
    default:
        return CTR_EIO;
    }
}

/* See udp.h: send() without blocking, one bounded wait on EAGAIN. */
int ctr__udp_send(struct ctr__udp *u, const void *p, size_t n, uint64_t deadline_ns, int *sys_errno)
{
    bool waited = false;
    for (;;) {
        ssize_t w = send(u->fd, p, n, MSG_NOSIGNAL);
        if (w >= 0) {
            if (sys_errno)
                *sys_errno = 0;
            return 0;
        }
        int e = errno;
        if (e == EINTR)
            continue;
        if ((e == EAGAIN || e == EWOULDBLOCK) && !waited) {
            /* Wait once for room, bounded by the deadline. */
            uint64_t now = ctr_monotonic_ns();
            uint64_t left_ms = now < deadline_ns ? (deadline_ns - now) / 1000000u : 0;
            if (left_ms > MAX_WAIT_MS)
                left_ms = MAX_WAIT_MS;
            if (left_ms > 0) {
                struct pollfd pfd = {.fd = u->fd, .events = POLLOUT};
                int pr;
                do {
                    pr = poll(&pfd, 1, (int)left_ms);
                } while (pr < 0 && errno == EINTR);
                waited = true;
                if (pr > 0)
                    continue;
            }
        }
        if (sys_errno)
            *sys_errno = e;
        return map_errno(e);
    }
}

/* SO_ERROR reads and clears the pending error; see udp.h. */
int ctr__udp_pending_error(struct ctr__udp *u)
{
    int e = 0;
    socklen_t len = sizeof e;
    if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
        return 0;
    return e;
}

/* The peer address text, owned by `u`. */
const char *ctr__udp_peer(const struct ctr__udp *u)
{
    return u->peer;
}

/* Close and free; NULL-safe. */
void ctr__udp_close(struct ctr__udp *u)
{
    if (!u)
        return;
    if (u->fd >= 0)
        close(u->fd);
    free(u);
}
