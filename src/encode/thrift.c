/*
 * Thrift compact protocol writer. See thrift.h.
 */
#include "encode/thrift.h"

#include <string.h>

/* Append the unsigned LEB128 varint of `v`. */
void ctr__thrift_put_varint(struct ctr_buf *b, uint64_t v)
{
    if (ctr_buf_reserve(b, 10))
        return;
    uint8_t *p = b->data + b->len;
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    b->len = (size_t)(p - b->data);
}

/* Append an i32 (or i16) as a zigzag varint. */
void ctr__thrift_put_i32(struct ctr_buf *b, int32_t v)
{
    ctr__thrift_put_varint(b, ctr__thrift_zigzag32(v));
}

/* Append an i64 as a zigzag varint. */
void ctr__thrift_put_i64(struct ctr_buf *b, int64_t v)
{
    ctr__thrift_put_varint(b, ctr__thrift_zigzag64(v));
}

/* Append the 8 IEEE-754 bytes of `d`, least significant first. */
void ctr__thrift_put_double(struct ctr_buf *b, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    if (ctr_buf_reserve(b, 8))
        return;
    for (int i = 0; i < 8; i++)
        b->data[b->len++] = (uint8_t)(bits >> (8 * i));
}

/* Append a varint length and `n` bytes. */
void ctr__thrift_put_binary(struct ctr_buf *b, const void *p, size_t n)
{
    ctr__thrift_put_varint(b, n);
    ctr_buf_append(b, p, n);
}

/* Append a list header for `size` elements of type `elem`. */
void ctr__thrift_put_list_header(struct ctr_buf *b, enum ctr__thrift_type elem, uint32_t size)
{
    if (size <= 14) {
        ctr_buf_putc(b, (uint8_t)(size << 4 | ((unsigned)elem & 0x0f)));
    } else {
        ctr_buf_putc(b, (uint8_t)(0xf0 | ((unsigned)elem & 0x0f)));
        ctr__thrift_put_varint(b, size);
    }
}

/* Append a field header, short form when the id grows by 1..15. */
void ctr__thrift_put_field_header(struct ctr_buf *b, int16_t prev_id, int16_t id,
                                  enum ctr__thrift_type type)
{
    int delta = (int)id - (int)prev_id;
    if (delta > 0 && delta <= 15) {
        ctr_buf_putc(b, (uint8_t)(delta << 4 | ((int)type & 0x0f)));
    } else {
        ctr_buf_putc(b, (uint8_t)((int)type & 0x0f));
        ctr__thrift_put_i32(b, id);
    }
}

/* Append a message header (protocol id, type and version, seqid, name). */
void ctr__thrift_put_message_begin(struct ctr_buf *b, const char *name, size_t name_len,
                                   enum ctr__thrift_msg type, int32_t seq_id)
{
    ctr_buf_putc(b, CTR__THRIFT_PROTOCOL_ID);
    ctr_buf_putc(b, (uint8_t)(((unsigned)type & 0x07) << 5 | CTR__THRIFT_VERSION));
    ctr__thrift_put_varint(b, (uint32_t)seq_id);
    ctr__thrift_put_binary(b, name, name_len);
}

/* Point the writer at `b`, outside any struct, with no error. */
void ctr__thrift_writer_init(struct ctr__thrift_writer *w, struct ctr_buf *b)
{
    w->b = b;
    w->err = 0;
    w->depth = 0;
    w->last_id[0] = 0;
}

/* Record a misuse once; later calls see w->err and do nothing. */
static void misuse(struct ctr__thrift_writer *w)
{
    if (!w->err)
        w->err = CTR_EINVAL;
}

/* Push a struct: its field ids start from 0. CTR_EINVAL past the depth limit. */
void ctr__thrift_struct_begin(struct ctr__thrift_writer *w)
{
    if (w->err)
        return;
    if (w->depth >= CTR__THRIFT_MAX_DEPTH) {
        misuse(w);
        return;
    }
    w->last_id[++w->depth] = 0;
}

/* Write the stop byte and pop. CTR_EINVAL when no struct is open. */
void ctr__thrift_struct_end(struct ctr__thrift_writer *w)
{
    if (w->err)
        return;
    if (w->depth == 0) {
        misuse(w);
        return;
    }
    ctr_buf_putc(w->b, CTR__THRIFT_STOP);
    w->depth--;
}

/* Field header in the innermost struct; remembers `id` for the next delta. */
void ctr__thrift_field(struct ctr__thrift_writer *w, int16_t id, enum ctr__thrift_type type)
{
    if (w->err)
        return;
    if (w->depth == 0) {
        misuse(w);
        return;
    }
    ctr__thrift_put_field_header(w->b, w->last_id[w->depth], id, type);
    w->last_id[w->depth] = id;
}

/* A boolean field: the value is the header's type (1 true, 2 false). */
void ctr__thrift_field_bool(struct ctr__thrift_writer *w, int16_t id, bool v)
{
    ctr__thrift_field(w, id, v ? CTR__THRIFT_BOOL_TRUE : CTR__THRIFT_BOOL_FALSE);
}

/* An i32 field: header and zigzag varint. */
void ctr__thrift_field_i32(struct ctr__thrift_writer *w, int16_t id, int32_t v)
{
    ctr__thrift_field(w, id, CTR__THRIFT_I32);
    if (!w->err)
        ctr__thrift_put_i32(w->b, v);
}

/* An i64 field: header and zigzag varint. */
void ctr__thrift_field_i64(struct ctr__thrift_writer *w, int16_t id, int64_t v)
{
    ctr__thrift_field(w, id, CTR__THRIFT_I64);
    if (!w->err)
        ctr__thrift_put_i64(w->b, v);
}

/* A double field: header and 8 little-endian bytes. */
void ctr__thrift_field_double(struct ctr__thrift_writer *w, int16_t id, double v)
{
    ctr__thrift_field(w, id, CTR__THRIFT_DOUBLE);
    if (!w->err)
        ctr__thrift_put_double(w->b, v);
}

/* A binary (or string) field: header, varint length, bytes. */
void ctr__thrift_field_binary(struct ctr__thrift_writer *w, int16_t id, const void *p, size_t n)
{
    ctr__thrift_field(w, id, CTR__THRIFT_BINARY);
    if (!w->err)
        ctr__thrift_put_binary(w->b, p, n);
}

/* A list field's field header and list header. */
void ctr__thrift_field_list(struct ctr__thrift_writer *w, int16_t id, enum ctr__thrift_type elem,
                            uint32_t size)
{
    ctr__thrift_field(w, id, CTR__THRIFT_LIST);
    if (!w->err)
        ctr__thrift_put_list_header(w->b, elem, size);
}
