/* Internal helpers shared by the files of src/core. */
#ifndef CTR_CORE_INTERNAL_H
#define CTR_CORE_INTERNAL_H

#include <chaostracing/span.h>

/* A zeroed span living in the first block of its own arena; NULL on OOM. */
struct ctr_span *ctr__span_alloc(void);
/* Set the initial name (sanitised UTF-8). */
int ctr__span_init_name(struct ctr_span *s, const char *name, size_t nlen);
/*
 * UTF-8 (src/core/utf8.c). Decode the well-formed sequence at s[0..n) (n >= 1):
 * returns its length and stores the code point in *cp (when not NULL), or
 * returns 0 for an ill-formed byte (overlong, surrogate, > U+10FFFF, cut).
 */
size_t ctr__utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Write code point `cp` (<= U+10FFFF) as 1-4 bytes at `out`; returns the
 * count. */
size_t ctr__utf8_encode(uint32_t cp, char *out);
/*
 * Walk at most `max_chars` UTF-8 characters of s[0..len); returns the byte
 * length walked and sets *valid to false if an invalid byte was met (each
 * invalid byte counts as one character).
 */
size_t ctr__utf8_valid_prefix(const char *s, size_t len, uint32_t max_chars, bool *valid);

/* Drop one reference to the tracer; the last one frees it (see tracer.c). */
void ctr__tracer_release(struct ctr_tracer *t);
/* True when `p` points into one of the arena's blocks. */
bool ctr__arena_owns(const struct ctr_arena *a, const void *p);

#endif
