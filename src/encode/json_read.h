/*
 * A small, strict JSON reader (RFC 8259), internal to the library; the OTLP
 * JSON decoder is built on it.
 *
 * ctr__json_parse() turns one JSON text into a tree of nodes allocated from a
 * ctr_arena. Strings without escapes point into the caller's input buffer;
 * strings with escapes are decoded (including \uXXXX surrogate pairs) into the
 * arena. So the tree lives until the arena is reset AND the input buffer is
 * still valid. Nesting is limited to CTR__JSON_MAX_DEPTH levels (the parser
 * recurses once per level), every read is bounds-checked against the given
 * length, raw bytes must be well-formed UTF-8 without control characters, and
 * input that is not exactly one JSON value (plus whitespace) is rejected.
 */
#ifndef CTR_ENCODE_JSON_READ_H
#define CTR_ENCODE_JSON_READ_H

#include <chaostracing/common.h>

#define CTR__JSON_MAX_DEPTH 64

enum ctr__json_type {
    CTR__JSON_NULL,
    CTR__JSON_FALSE,
    CTR__JSON_TRUE,
    CTR__JSON_NUMBER, /* u.s holds the number's text exactly as written */
    CTR__JSON_STRING, /* u.s holds the decoded UTF-8 bytes (may contain NUL) */
    CTR__JSON_ARRAY,
    CTR__JSON_OBJECT,
};

struct ctr__json_value {
    enum ctr__json_type type;
    const char *key; /* member name when this value is inside an object */
    size_t key_len;
    struct ctr__json_value *next; /* next element or member of the parent */
    union {
        struct {
            const char *ptr;
            size_t len;
        } s;
        struct {
            struct ctr__json_value *first;
            size_t count;
        } c;
    } u;
};

struct ctr__json_error {
    size_t offset;   /* byte offset in the input where the problem is */
    const char *msg; /* static text */
};

/*
 * Parse `len` bytes at `buf` as one JSON text. On success returns 0 and sets
 * *out. Returns CTR_EPARSE (with `err` filled) for input that is not valid
 * JSON, or CTR_ENOMEM when the arena cannot grow (out of memory or over its
 * limit; err->msg says so). Nothing to free on error beyond resetting the
 * arena.
 */
int ctr__json_parse(struct ctr_arena *a, const char *buf, size_t len, struct ctr__json_value **out,
                    struct ctr__json_error *err);

/* Member `key` of an object (the first one when repeated); NULL when `obj` is
 * NULL, not an object, or has no such member. */
const struct ctr__json_value *ctr__json_get(const struct ctr__json_value *obj, const char *key);

/* True when `v` is a string equal to the NUL-terminated `s`. */
bool ctr__json_str_eq(const struct ctr__json_value *v, const char *s);

/*
 * Read an unsigned 64-bit integer from a JSON number or a string of decimal
 * digits (OTLP JSON writes 64-bit integers as strings). Integral numbers in
 * exponent form are accepted when exact. Returns false when `v` is missing,
 * negative, fractional, out of range or not a number.
 */
bool ctr__json_to_u64(const struct ctr__json_value *v, uint64_t *out);
/* Same for a signed 64-bit integer. */
bool ctr__json_to_i64(const struct ctr__json_value *v, int64_t *out);

/* Append `v` to `b` as compact JSON (numbers as written, strings
 * re-escaped). Errors are sticky in b->err. */
void ctr__json_write(struct ctr_buf *b, const struct ctr__json_value *v);

#endif
