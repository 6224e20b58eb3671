/*
 * Internal to the OTLP JSON decoder (otlp_json_decode.c for requests and
 * spans, otlp_json_attrs.c for values and attribute lists). The functions
 * read members of a parsed JSON tree (json_read.h); "unreadable" means of the
 * wrong type or out of range.
 */
#ifndef CTR_ENCODE_OTLP_JSON_READ_H
#define CTR_ENCODE_OTLP_JSON_READ_H

#include <chaostracing/decode.h>

#include "encode/json_read.h"

/* Member `key` of `obj` when it is there and not null (null means "default"
 * in protobuf JSON); NULL otherwise, also when `obj` is NULL or not an
 * object. */
const struct ctr__json_value *ctr__otlp_member(const struct ctr__json_value *obj, const char *key);

/* A 32-bit count or flags word; 0 when `j` is NULL or unreadable. */
uint32_t ctr__otlp_u32(const struct ctr__json_value *j);

/* Copy the string `j` into `a` (NUL-terminated); `j` NULL gives an empty
 * string. Returns 0, CTR_EPARSE (not a string) or CTR_ENOMEM. */
int ctr__otlp_str(struct ctr_arena *a, const struct ctr__json_value *j, struct ctr_str *out);

/* The malloc'd array `items` (`len` items of `size` bytes, capacity *cap)
 * with room for one more: moved, or as it was; NULL when out of memory
 * (`items` is left alone). */
void *ctr__otlp_grow(void *items, size_t len, size_t *cap, size_t size);

/*
 * The attribute list of `owner` (a Resource, Span, Event or Link object):
 * its "attributes" and "droppedAttributesCount", each ignored when
 * unreadable. Unreadable KeyValues are added to the dropped count; storage
 * comes from `a`, scratch space from `d`. Returns 0 or CTR_ENOMEM.
 */
int ctr__otlp_attrs(struct ctr_trace_data *d, struct ctr_arena *a,
                    const struct ctr__json_value *owner, struct ctr_attr_list *out);

#endif
