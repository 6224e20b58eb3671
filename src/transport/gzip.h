/*
 * gzip compression of request bodies, shared by the transports that offer
 * it: OTLP/HTTP (Content-Encoding: gzip) and gRPC (grpc-encoding: gzip).
 */
#ifndef CTR_TRANSPORT_GZIP_H
#define CTR_TRANSPORT_GZIP_H

#include <chaostracing/common.h>

/*
 * Append the gzip form (RFC 1952 member) of `len` bytes of `in` to `out`,
 * failing as soon as `out` would hold more than `max_len` bytes in all (what
 * it held before counts). Returns 0, CTR_ETOOBIG or CTR_ENOMEM; on error the
 * bytes appended so far stay in `out` (the caller resets or frees it).
 */
int ctr__gzip_compress(const uint8_t *in, size_t len, struct ctr_buf *out, size_t max_len);

#endif
