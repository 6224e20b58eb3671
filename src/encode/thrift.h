/*
 * Thrift compact protocol writer (apache/thrift doc/specs/thrift-compact-protocol.md).
 *
 * Two layers:
 *  - stateless primitives (ctr__thrift_put_*) append one encoded item to a
 *    ctr_buf: varints, zigzag integers, little-endian doubles, length-prefixed
 *    binaries, list headers, field headers (given the previous field id of the
 *    enclosing struct) and the message header;
 *  - a writer (struct ctr__thrift_writer) that remembers the last field id of
 *    every open struct, so field headers use the one-byte delta form when the
 *    id grows by 1..15, and that carries booleans in the field header's type
 *    nibble.
 *
 * Everything appends to a ctr_buf and inherits its sticky CTR_ENOMEM; misuse
 * of the writer (a field outside a struct, structs nested deeper than
 * CTR__THRIFT_MAX_DEPTH, an unbalanced end) is recorded once in w->err as
 * CTR_EINVAL and later calls become no-ops. Nothing here allocates except
 * buffer space.
 */
#ifndef CTR_ENCODE_THRIFT_H
#define CTR_ENCODE_THRIFT_H

#include "chaostracing/common.h"

/* Field types (the low nibble of a field header). */
enum ctr__thrift_type {
    CTR__THRIFT_STOP = 0,
    CTR__THRIFT_BOOL_TRUE = 1,
    CTR__THRIFT_BOOL_FALSE = 2,
    CTR__THRIFT_I8 = 3,
    CTR__THRIFT_I16 = 4,
    CTR__THRIFT_I32 = 5,
    CTR__THRIFT_I64 = 6,
    CTR__THRIFT_DOUBLE = 7,
    CTR__THRIFT_BINARY = 8, /* strings too */
    CTR__THRIFT_LIST = 9,
    CTR__THRIFT_SET = 10,
    CTR__THRIFT_MAP = 11,
    CTR__THRIFT_STRUCT = 12,
};
/* Element type of booleans inside lists and sets (stored as one byte 1/0). */
#define CTR__THRIFT_ELEM_BOOL 2

/* Message types (the top three bits of the second header byte). */
enum ctr__thrift_msg {
    CTR__THRIFT_CALL = 1,
    CTR__THRIFT_REPLY = 2,
    CTR__THRIFT_EXCEPTION = 3,
    CTR__THRIFT_ONEWAY = 4,
};

#define CTR__THRIFT_PROTOCOL_ID 0x82
#define CTR__THRIFT_VERSION 1
#define CTR__THRIFT_MAX_DEPTH 16

/* Zigzag folding of signed integers (0, -1, 1, -2 ... → 0, 1, 2, 3 ...),
 * written without shifting negative values. */
static inline uint32_t ctr__thrift_zigzag32(int32_t n)
{
    return ((uint32_t)n << 1) ^ (n < 0 ? UINT32_MAX : 0u);
}
static inline uint64_t ctr__thrift_zigzag64(int64_t n)
{
    return ((uint64_t)n << 1) ^ (n < 0 ? UINT64_MAX : 0u);
}

/* Bytes of the unsigned LEB128 varint of `v` (1..10). */
static inline size_t ctr__thrift_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Bytes of a list header for `size` elements: one up to 14, else 1 + varint. */
static inline size_t ctr__thrift_list_header_size(uint32_t size)
{
    return size <= 14 ? 1 : 1 + ctr__thrift_varint_size(size);
}

/* Stateless primitives; errors are sticky in b->err. */
void ctr__thrift_put_varint(struct ctr_buf *b, uint64_t v);
/* i16 and i32 are zigzag varints of the 32-bit value; i64 of the 64-bit one. */
void ctr__thrift_put_i32(struct ctr_buf *b, int32_t v);
void ctr__thrift_put_i64(struct ctr_buf *b, int64_t v);
/* IEEE-754 bits, 8 bytes little-endian (the compact protocol's byte order). */
void ctr__thrift_put_double(struct ctr_buf *b, double d);
/* Varint length then the bytes (strings are UTF-8 binaries, no NUL). */
void ctr__thrift_put_binary(struct ctr_buf *b, const void *p, size_t n);
/* List (or set) header: (size << 4 | type) up to 14 elements, else
 * 0xF0 | type followed by the varint size. */
void ctr__thrift_put_list_header(struct ctr_buf *b, enum ctr__thrift_type elem, uint32_t size);
/*
 * Field header for field `id` of type `type` in a struct whose previous field
 * was `prev_id` (0 at the start of a struct): one byte (delta << 4 | type)
 * when 1 <= id - prev_id <= 15, else the type byte and the zigzag id.
 */
void ctr__thrift_put_field_header(struct ctr_buf *b, int16_t prev_id, int16_t id,
                                  enum ctr__thrift_type type);
/*
 * Message header: 0x82, (type << 5 | 1), the sequence id as a varint of its
 * 32-bit two's complement value, and the method name as a binary.
 */
void ctr__thrift_put_message_begin(struct ctr_buf *b, const char *name, size_t name_len,
                                   enum ctr__thrift_msg type, int32_t seq_id);

/* The struct-aware writer. Initialise with ctr__thrift_writer_init(). */
struct ctr__thrift_writer {
    struct ctr_buf *b;
    int err;                                    /* CTR_EINVAL after misuse, sticky */
    int depth;                                  /* open structs */
    int16_t last_id[CTR__THRIFT_MAX_DEPTH + 1]; /* [depth]: last field written */
};

/* Start writing to `b` outside any struct. */
void ctr__thrift_writer_init(struct ctr__thrift_writer *w, struct ctr_buf *b);
/* Open a struct (a field value, list element or message argument struct):
 * its first field id is measured from 0. */
void ctr__thrift_struct_begin(struct ctr__thrift_writer *w);
/* Close the innermost struct with the stop byte 0x00. */
void ctr__thrift_struct_end(struct ctr__thrift_writer *w);
/* Field header of field `id` in the innermost struct. For booleans use
 * ctr__thrift_field_bool() instead. */
void ctr__thrift_field(struct ctr__thrift_writer *w, int16_t id, enum ctr__thrift_type type);
/* A whole boolean field: the value lives in the header's type nibble. */
void ctr__thrift_field_bool(struct ctr__thrift_writer *w, int16_t id, bool v);
/* Whole fields: header and value. */
void ctr__thrift_field_i32(struct ctr__thrift_writer *w, int16_t id, int32_t v);
void ctr__thrift_field_i64(struct ctr__thrift_writer *w, int16_t id, int64_t v);
void ctr__thrift_field_double(struct ctr__thrift_writer *w, int16_t id, double v);
void ctr__thrift_field_binary(struct ctr__thrift_writer *w, int16_t id, const void *p, size_t n);
/* A list field's header: field header then the list header. The caller then
 * writes `size` elements (structs with struct_begin/struct_end). */
void ctr__thrift_field_list(struct ctr__thrift_writer *w, int16_t id, enum ctr__thrift_type elem,
                            uint32_t size);
/* 0, the writer's CTR_EINVAL or the buffer's CTR_ENOMEM. */
static inline int ctr__thrift_writer_error(const struct ctr__thrift_writer *w)
{
    return w->err ? w->err : w->b->err;
}

#endif
