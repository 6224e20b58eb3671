/*
 * Protocol Buffers wire-format primitives shared by the protobuf encoders.
 *
 * Two writer styles:
 *  - raw writers (ctr__pb_w_*) store at a pointer into memory the caller has
 *    already reserved and return the advanced pointer. Encoders that compute
 *    exact message sizes first (OTLP) use these on the hot path; they never
 *    fail and never allocate.
 *  - buffer writers (ctr__pb_put_*) append to a ctr_buf and inherit its sticky
 *    error; nested messages use ctr__pb_begin()/ctr__pb_end(), which
 *    back-patch the minimal length prefix.
 *
 * The reader (struct ctr__pb_reader) is bounds-checked everywhere and is safe
 * on arbitrary bytes: every function returns 0 or CTR_EPARSE.
 */
#ifndef CTR_ENCODE_PB_H
#define CTR_ENCODE_PB_H

#include <string.h>

#include "chaostracing/common.h"

enum ctr__pb_wire {
    CTR__PB_VARINT = 0,
    CTR__PB_I64 = 1,
    CTR__PB_LEN = 2,
    CTR__PB_SGROUP = 3,
    CTR__PB_EGROUP = 4,
    CTR__PB_I32 = 5,
};

/* Largest field number protobuf allows (2^29 - 1). */
#define CTR__PB_MAX_FIELD 536870911u

/* The tag value (field << 3 | wire type) of a field. */
#define CTR__PB_TAG(field, wire) ((uint32_t)(field) << 3 | (uint32_t)(wire))

/* Bytes needed by the minimal varint encoding of `v` (1..10). */
static inline size_t ctr__pb_varint_size(uint64_t v)
{
#if defined(__GNUC__)
    /* floor(log2(v)) * 9 / 64 + 1, without a division. */
    return (size_t)(((63 ^ __builtin_clzll(v | 1)) * 9 + 73) / 64);
#else
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
#endif
}

/* Bytes of a length-delimited field with a one-byte tag (fields 1..15)
 * whose payload is `n` bytes. */
static inline size_t ctr__pb_len_field_size(size_t n)
{
    return n < 0x80 ? n + 2 : 1 + ctr__pb_varint_size(n) + n;
}

/* Store the minimal varint of `v` at `p`; returns the byte after it. */
static inline uint8_t *ctr__pb_w_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/*
 * Copy `n` bytes to `p` and return p + n. Short strings (most keys and
 * values) are copied with a few overlapping fixed-size moves, which the
 * compiler turns into plain loads and stores instead of a libc call.
 */
static inline uint8_t *ctr__pb_copy(uint8_t *p, const void *src, size_t n)
{
    const uint8_t *s = (const uint8_t *)src;
    if (n >= 8 && n <= 32) {
        uint64_t a, b;
        if (n > 16) {
            uint64_t c, d;
            memcpy(&a, s, 8);
            memcpy(&b, s + 8, 8);
            memcpy(&c, s + n - 16, 8);
            memcpy(&d, s + n - 8, 8);
            memcpy(p, &a, 8);
            memcpy(p + 8, &b, 8);
            memcpy(p + n - 16, &c, 8);
            memcpy(p + n - 8, &d, 8);
        } else {
            memcpy(&a, s, 8);
            memcpy(&b, s + n - 8, 8);
            memcpy(p, &a, 8);
            memcpy(p + n - 8, &b, 8);
        }
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(p, &a, 4);
        memcpy(p + n - 4, &b, 4);
    } else if (n > 0 && n < 4) {
        uint8_t first = s[0], mid = s[n / 2], last = s[n - 1];
        p[0] = first;
        p[n / 2] = mid;
        p[n - 1] = last;
    } else if (n > 32) {
        memcpy(p, s, n);
    }
    return p + n;
}

/* Store `v` as 4 little-endian bytes. */
static inline uint8_t *ctr__pb_w_fixed32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
    return p + 4;
}

/* Store `v` as 8 little-endian bytes. */
static inline uint8_t *ctr__pb_w_fixed64(uint8_t *p, uint64_t v)
{
    p = ctr__pb_w_fixed32(p, (uint32_t)v);
    return ctr__pb_w_fixed32(p, (uint32_t)(v >> 32));
}

/* Store the IEEE-754 bits of `d` as a little-endian fixed64. */
static inline uint8_t *ctr__pb_w_double(uint8_t *p, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return ctr__pb_w_fixed64(p, bits);
}

/* Store a one-byte tag, a length and `n` bytes of payload (fields 1..15). */
static inline uint8_t *ctr__pb_w_bytes(uint8_t *p, uint8_t tag, const void *data, size_t n)
{
    *p++ = tag;
    if (n < 0x80)
        *p++ = (uint8_t)n;
    else
        p = ctr__pb_w_varint(p, n);
    return ctr__pb_copy(p, data, n);
}

/* Buffer writers: append to `b`; errors are sticky in b->err. */
void ctr__pb_put_varint(struct ctr_buf *b, uint64_t v);
void ctr__pb_put_tag(struct ctr_buf *b, uint32_t field, enum ctr__pb_wire wire);
void ctr__pb_put_fixed32(struct ctr_buf *b, uint32_t v);
void ctr__pb_put_fixed64(struct ctr_buf *b, uint64_t v);
void ctr__pb_put_double(struct ctr_buf *b, double d);
/* A whole length-delimited field: tag, length, `n` bytes. */
void ctr__pb_put_bytes_field(struct ctr_buf *b, uint32_t field, const void *data, size_t n);
/*
 * Open a nested message (or any length-delimited field) numbered `field`:
 * writes the tag and a one-byte length placeholder and returns the mark to
 * pass to ctr__pb_end(), which writes the real length, moving the payload
 * when the length needs more than one byte.
 */
size_t ctr__pb_begin(struct ctr_buf *b, uint32_t field);
void ctr__pb_end(struct ctr_buf *b, size_t mark);

/* Reader over [p, end). */
struct ctr__pb_reader {
    const uint8_t *p;
    const uint8_t *end;
};

/* Read a varint (at most 10 bytes); 0 or CTR_EPARSE. */
int ctr__pb_read_varint(struct ctr__pb_reader *r, uint64_t *v);
/* Read a tag; rejects field 0, field numbers above 2^29-1 and wire types
 * 6 and 7. 0 or CTR_EPARSE. */
int ctr__pb_read_tag(struct ctr__pb_reader *r, uint32_t *field, enum ctr__pb_wire *wire);
int ctr__pb_read_fixed32(struct ctr__pb_reader *r, uint32_t *v);
int ctr__pb_read_fixed64(struct ctr__pb_reader *r, uint64_t *v);
/* Read a length prefix and point `*data` at that many bytes, which must lie
 * inside the reader. 0 or CTR_EPARSE. */
int ctr__pb_read_len(struct ctr__pb_reader *r, const uint8_t **data, size_t *len);
/* Skip the value of a field whose tag was just read (groups included, nested
 * at most 32 deep). 0 or CTR_EPARSE. */
int ctr__pb_skip(struct ctr__pb_reader *r, uint32_t field, enum ctr__pb_wire wire);

#endif
