/*
 * A small, strict JSON reader for the command-line tool (RFC 8259).
 *
 * jr_parse() turns one JSON text into a tree of jr_value nodes allocated from
 * an arena. Strings without escapes point into the caller's input buffer;
 * strings with escapes are decoded (including \uXXXX surrogate pairs) into the
 * arena. So the tree lives until the arena is reset AND the input buffer is
 * still valid. Nesting is limited to JR_MAX_DEPTH levels, every read is
 * bounds-checked against the given length, and input that is not exactly one
 * JSON value (plus whitespace) is rejected.
 *
 * The library does not need JSON input; this reader is private to cli/.
 */
#ifndef CHAOSTRACING_CLI_JSONREAD_H
#define CHAOSTRACING_CLI_JSONREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JR_MAX_DEPTH 64

enum jr_type {
    JR_NULL,
    JR_FALSE,
    JR_TRUE,
    JR_NUMBER, /* u.s holds the number's text exactly as written */
    JR_STRING, /* u.s holds the decoded UTF-8 bytes (may contain NUL) */
    JR_ARRAY,
    JR_OBJECT,
};

struct jr_value {
    enum jr_type type;
    const char *key; /* member name when this value is inside an object */
    size_t key_len;
    struct jr_value *next; /* next element or member of the parent */
    union {
        struct {
            const char *ptr;
            size_t len;
        } s;
        struct {
            struct jr_value *first;
            size_t count;
        } c;
    } u;
};

/*
 * Bump allocator: memory comes in chunks that are released together.
 * Initialise with {0} and set `limit` (total bytes, 0 = unlimited).
 */
struct jr_chunk;
struct jr_arena {
    struct jr_chunk *head;
    size_t total; /* bytes held in chunks */
    size_t limit;
};

/* Allocate `n` bytes aligned for any object; NULL when out of memory or
 * over the arena's limit. The memory lives until reset or free. */
void *jr_arena_alloc(struct jr_arena *a, size_t n);
/* Copy `len` bytes and add a NUL; NULL on failure. */
char *jr_arena_strndup(struct jr_arena *a, const char *s, size_t len);
/* Release every chunk except the oldest one, which is kept for reuse. */
void jr_arena_reset(struct jr_arena *a);
/* Release everything. The arena can be used again afterwards. */
void jr_arena_free(struct jr_arena *a);

struct jr_error {
    size_t offset;   /* byte offset in the input where the problem is */
    const char *msg; /* static text */
};

/*
 * Parse `len` bytes at `buf` as one JSON text. On success returns 0 and sets
 * *out. Returns CTR_EPARSE (with `err` filled) for input that is not valid
 * JSON, or CTR_ENOMEM when the arena cannot grow. Nothing to free on error
 * beyond resetting the arena.
 */
int jr_parse(struct jr_arena *a, const char *buf, size_t len, struct jr_value **out,
             struct jr_error *err);

/* Member `key` of an object (the first one when repeated); NULL when `obj` is
 * NULL, not an object, or has no such member. */
const struct jr_value *jr_get(const struct jr_value *obj, const char *key);

/* True when `v` is a string equal to the NUL-terminated `s`. */
bool jr_str_eq(const struct jr_value *v, const char *s);

/*
 * Read an unsigned 64-bit integer from a JSON number or a string of decimal
 * digits (OTLP JSON writes 64-bit integers as strings). Integral numbers in
 * exponent form are accepted when exact. Returns false when `v` is missing,
 * negative, fractional, out of range or not a number.
 */
bool jr_to_u64(const struct jr_value *v, uint64_t *out);
/* Same for a signed 64-bit integer. */
bool jr_to_i64(const struct jr_value *v, int64_t *out);

#endif
