/*
 * Protocol Buffers wire-format primitives: buffer writers with back-patched
 * lengths and a bounds-checked reader. See pb.h.
 */
#include "encode/pb.h"

/* Groups inside groups deeper than this are treated as malformed input. */
#define PB_MAX_GROUP_DEPTH 32

/* Append the minimal varint of `v`. */
void ctr__pb_put_varint(struct ctr_buf *b, uint64_t v)
{
    if (ctr_buf_reserve(b, 10))
        return;
    uint8_t *end = ctr__pb_w_varint(b->data + b->len, v);
    b->len = (size_t)(end - b->data);
}

/* Append the tag of `field` with wire type `wire`. */
void ctr__pb_put_tag(struct ctr_buf *b, uint32_t field, enum ctr__pb_wire wire)
{
    ctr__pb_put_varint(b, CTR__PB_TAG(field, wire));
}

/* Append `v` as 4 little-endian bytes. */
void ctr__pb_put_fixed32(struct ctr_buf *b, uint32_t v)
{
    if (ctr_buf_reserve(b, 4))
        return;
    ctr__pb_w_fixed32(b->data + b->len, v);
    b->len += 4;
}

/* Append `v` as 8 little-endian bytes. */
void ctr__pb_put_fixed64(struct ctr_buf *b, uint64_t v)
{
    if (ctr_buf_reserve(b, 8))
        return;
    ctr__pb_w_fixed64(b->data + b->len, v);
    b->len += 8;
}

/* Append the IEEE-754 bits of `d` as a fixed64. */
void ctr__pb_put_double(struct ctr_buf *b, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    ctr__pb_put_fixed64(b, bits);
}

/* Append a length-delimited field: tag, length, then `n` bytes of `data`. */
void ctr__pb_put_bytes_field(struct ctr_buf *b, uint32_t field, const void *data, size_t n)
{
    ctr__pb_put_tag(b, field, CTR__PB_LEN);
    ctr__pb_put_varint(b, n);
    ctr_buf_append(b, data, n);
}

/* Write the tag and a one-byte placeholder; the mark is the offset where the
 * payload starts. */
size_t ctr__pb_begin(struct ctr_buf *b, uint32_t field)
{
    ctr__pb_put_tag(b, field, CTR__PB_LEN);
    ctr_buf_putc(b, 0);
    return b->len;
}

/* Patch the length of the field opened at `mark`. The payload moves right
 * when its length needs more than the one reserved byte. */
void ctr__pb_end(struct ctr_buf *b, size_t mark)
{
    if (b->err || mark == 0 || mark > b->len)
        return;
    size_t n = b->len - mark;
    size_t vs = ctr__pb_varint_size(n);
    if (vs > 1) {
        if (ctr_buf_reserve(b, vs - 1))
            return;
        memmove(b->data + mark + vs - 1, b->data + mark, n);
        b->len += vs - 1;
    }
    ctr__pb_w_varint(b->data + mark - 1, n);
}

/* Read a varint of at most 10 bytes; bits past 64 are ignored, as the
 * reference decoders do. */
int ctr__pb_read_varint(struct ctr__pb_reader *r, uint64_t *v)
{
    uint64_t out = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (r->p >= r->end)
            return CTR_EPARSE;
        uint8_t c = *r->p++;
        out |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            *v = out;
            return 0;
        }
    }
    return CTR_EPARSE;
}

/* Read and validate a tag. */
int ctr__pb_read_tag(struct ctr__pb_reader *r, uint32_t *field, enum ctr__pb_wire *wire)
{
    uint64_t t;
    if (ctr__pb_read_varint(r, &t))
        return CTR_EPARSE;
    uint64_t f = t >> 3;
    unsigned w = (unsigned)(t & 7);
    if (f == 0 || f > CTR__PB_MAX_FIELD || w > CTR__PB_I32)
        return CTR_EPARSE;
    *field = (uint32_t)f;
    *wire = (enum ctr__pb_wire)w;
    return 0;
}

/* Read 4 little-endian bytes. */
int ctr__pb_read_fixed32(struct ctr__pb_reader *r, uint32_t *v)
{
    if (r->end - r->p < 4)
        return CTR_EPARSE;
    const uint8_t *p = r->p;
    *v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    r->p += 4;
    return 0;
}

/* Read 8 little-endian bytes. */
int ctr__pb_read_fixed64(struct ctr__pb_reader *r, uint64_t *v)
{
    uint32_t lo = 0, hi = 0;
    if (r->end - r->p < 8)
        return CTR_EPARSE;
    ctr__pb_read_fixed32(r, &lo);
    ctr__pb_read_fixed32(r, &hi);
    *v = (uint64_t)hi << 32 | lo;
    return 0;
}

/* Read a length prefix and the bytes it covers. */
int ctr__pb_read_len(struct ctr__pb_reader *r, const uint8_t **data, size_t *len)
{
    uint64_t n;
    if (ctr__pb_read_varint(r, &n))
        return CTR_EPARSE;
    if (n > (uint64_t)(r->end - r->p))
        return CTR_EPARSE;
    *data = r->p;
    *len = (size_t)n;
    r->p += n;
    return 0;
}

/* Skip one value; `depth` counts the groups we are inside. */
static int pb_skip_depth(struct ctr__pb_reader *r, uint32_t field, enum ctr__pb_wire wire,
                         int depth)
{
    uint64_t v;
    const uint8_t *data;
    size_t len;
    switch (wire) {
    case CTR__PB_VARINT:
        return ctr__pb_read_varint(r, &v);
    case CTR__PB_I64:
        return ctr__pb_read_fixed64(r, &v);
    case CTR__PB_I32: {
        uint32_t v32;
        return ctr__pb_read_fixed32(r, &v32);
    }
    case CTR__PB_LEN:
        return ctr__pb_read_len(r, &data, &len);
    case CTR__PB_SGROUP:
        if (depth >= PB_MAX_GROUP_DEPTH)
            return CTR_EPARSE;
        for (;;) {
            uint32_t f;
            enum ctr__pb_wire w;
            if (ctr__pb_read_tag(r, &f, &w))
                return CTR_EPARSE;
            if (w == CTR__PB_EGROUP)
                return f == field ? 0 : CTR_EPARSE;
            if (pb_skip_depth(r, f, w, depth + 1))
                return CTR_EPARSE;
        }
    case CTR__PB_EGROUP: /* an end without a start */
    default:
        return CTR_EPARSE;
    }
}

/* Skip the value of the field whose tag was just read. */
int ctr__pb_skip(struct ctr__pb_reader *r, uint32_t field, enum ctr__pb_wire wire)
{
    return pb_skip_depth(r, field, wire, 0);
}
