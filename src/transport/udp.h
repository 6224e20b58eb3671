/*
 * A connected, non-blocking UDP socket for exporters that send datagrams
 * (the Jaeger agent exporter).
 *
 * The host is resolved once, when the socket is opened (getaddrinfo with
 * AF_UNSPEC and SOCK_DGRAM); IPv4 and IPv6 literals and names work. When a
 * name resolves to both families, an IPv4 address is preferred: "localhost"
 * then reaches an agent or collector listening on 127.0.0.1 (what Go servers
 * bind for "localhost:6831"), which an ::1 destination would miss.
 *
 * Connecting a UDP socket only fixes its destination; it also makes the
 * kernel report an ICMP "port unreachable" for an earlier datagram as
 * ECONNREFUSED on a later call, which is how a missing agent is noticed.
 */
#ifndef CTR_TRANSPORT_UDP_H
#define CTR_TRANSPORT_UDP_H

#include "chaostracing/common.h"

struct ctr__udp;

/* Socket send buffer asked for (the kernel caps it at net.core.wmem_max). */
#define CTR__UDP_SNDBUF (4 * 1024 * 1024)

/*
 * Resolve `host` (brackets around an IPv6 literal are accepted) and open a
 * socket connected to it on `port`, non-blocking and close-on-exec, with a
 * generous send buffer. Returns 0 with *out set (free with ctr__udp_close),
 * CTR_EINVAL (empty host, port 0, resolution failed: message in `err`),
 * CTR_ECONNECT (no address could be connected: message in `err`) or
 * CTR_ENOMEM.
 */
int ctr__udp_open(const char *host, uint16_t port, struct ctr__udp **out, char *err, size_t errlen);

/*
 * Send one datagram of `n` bytes. Never blocks beyond `deadline_ns`
 * (monotonic): when the socket buffer is full, waits for room at most until
 * then (and at most 200 ms), then gives up. Returns
 *   0               the kernel accepted the datagram;
 *   CTR_ECONNECT    ECONNREFUSED: an ICMP port unreachable came back for an
 *                   earlier datagram; this one was not sent;
 *   CTR_ETOOBIG     EMSGSIZE: too large for the socket or the path;
 *   CTR_ETIMEOUT    the buffer stayed full (EAGAIN);
 *   CTR_EIO         any other error.
 * `*sys_errno` (may be NULL) receives the errno of a failure, 0 on success.
 */
int ctr__udp_send(struct ctr__udp *u, const void *p, size_t n, uint64_t deadline_ns,
                  int *sys_errno);

/*
 * Take (and clear) the socket's pending asynchronous error without waiting:
 * ECONNREFUSED when an ICMP port unreachable has come back since the last
 * call, another errno value for other ICMP errors, 0 when there is none.
 */
int ctr__udp_pending_error(struct ctr__udp *u);

/* The connected address as text ("127.0.0.1:6831", "[::1]:6831"). */
const char *ctr__udp_peer(const struct ctr__udp *u);

/* Close the socket and free `u`; NULL is fine. */
void ctr__udp_close(struct ctr__udp *u);

#endif
