/*
 * OTLP JSON decoding, part two: AnyValue and KeyValue lists into struct
 * ctr_value and struct ctr_attr_list, with kvlistValue flattened into dotted
 * keys (see chaostracing/decode.h), plus the small member readers the span
 * decoder (otlp_json_decode.c) shares. See otlp_json_read.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "encode/otlp_json_read.h"

typedef struct ctr__json_value json;

/* The members of AnyValue, in proto field order. */
enum { AV_STRING, AV_BOOL, AV_INT, AV_DOUBLE, AV_ARRAY, AV_KVLIST, AV_BYTES, AV_COUNT };
static const char *const av_keys[AV_COUNT] = {"stringValue", "boolValue",  "intValue",
                                              "doubleValue", "arrayValue", "kvlistValue",
                                              "bytesValue"};

/* A member that is there and not null (null means "default" in proto JSON). */
const struct ctr__json_value *ctr__otlp_member(const struct ctr__json_value *obj, const char *key)
{
    const json *m = ctr__json_get(obj, key);
    return m && m->type != CTR__JSON_NULL ? m : NULL;
}

/* A 32-bit count or flags word; 0 when missing or unreadable. */
uint32_t ctr__otlp_u32(const struct ctr__json_value *j)
{
    uint64_t v = 0;
    return j && ctr__json_to_u64(j, &v) && v <= UINT32_MAX ? (uint32_t)v : 0;
}

/* Copy a string member into `a`; a missing one is empty. CTR_EPARSE when it
 * is not a string. */
int ctr__otlp_str(struct ctr_arena *a, const struct ctr__json_value *j, struct ctr_str *out)
{
    out->ptr = NULL;
    out->len = 0;
    if (!j)
        return 0;
    if (j->type != CTR__JSON_STRING)
        return CTR_EPARSE;
    char *p = ctr_arena_strndup(a, j->u.s.ptr, j->u.s.len);
    if (!p)
        return CTR_ENOMEM;
    out->ptr = p;
    out->len = j->u.s.len;
    return 0;
}

/* A double from a number, a numeric string or "NaN" / "Infinity" /
 * "-Infinity". */
static int read_double(struct ctr_trace_data *d, const json *j, double *out)
{
    if (j->type != CTR__JSON_NUMBER && j->type != CTR__JSON_STRING)
        return CTR_EPARSE;
    const char *s = j->u.s.ptr;
    size_t len = j->u.s.len;
    if (j->type == CTR__JSON_STRING) {
        static const char *const special[] = {"NaN", "Infinity", "-Infinity"};
        static const double values[] = {NAN, INFINITY, -INFINITY};
        for (size_t i = 0; i < 3; i++) {
            if (len == strlen(special[i]) && memcmp(s, special[i], len) == 0) {
                *out = values[i];
                return 0;
            }
        }
        if (len == 0 || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
            return CTR_EPARSE;
    }
    ctr_buf_reset(&d->scratch);
    ctr_buf_append(&d->scratch, s, len);
    ctr_buf_putc(&d->scratch, '\0');
    if (d->scratch.err)
        return CTR_ENOMEM;
    char *end;
    *out = strtod((const char *)d->scratch.data, &end);
    return end == (char *)d->scratch.data + len ? 0 : CTR_EPARSE;
}

/* The one AnyValue member of `v` in *m (NULL for an empty AnyValue) and its
 * AV_* index in *which. CTR_EPARSE when `v` is not an object or has more
 * than one member of the oneof. */
static int value_member(const json *v, const json **m, int *which)
{
    *m = NULL;
    *which = AV_COUNT;
    if (!v)
        return 0;
    if (v->type != CTR__JSON_OBJECT)
        return CTR_EPARSE;
    for (const json *x = v->u.c.first; x; x = x->next) {
        for (int i = 0; i < AV_COUNT; i++) {
            if (x->key_len != strlen(av_keys[i]) || memcmp(x->key, av_keys[i], x->key_len) != 0)
                continue;
            if (*m)
                return CTR_EPARSE;
            *m = x;
            *which = i;
        }
    }
    return 0;
}

/* Decode the AnyValue `v` into `out` (storage from `a`). A kvlistValue here
 * (inside an array) becomes a string with its JSON text. */
static int read_value(struct ctr_trace_data *d, struct ctr_arena *a, const json *v,
                      struct ctr_value *out)
{
    const json *m;
    int which, rc = value_member(v, &m, &which);
    memset(out, 0, sizeof *out);
    if (rc || !m)
        return rc; /* unreadable, or an empty AnyValue */
    switch (which) {
    case AV_STRING:
        out->type = CTR_VALUE_STRING;
        return ctr__otlp_str(a, m, &out->u.s);
    case AV_BOOL:
        out->type = CTR_VALUE_BOOL;
        out->u.b = m->type == CTR__JSON_TRUE;
        return m->type == CTR__JSON_TRUE || m->type == CTR__JSON_FALSE ? 0 : CTR_EPARSE;
    case AV_INT:
        out->type = CTR_VALUE_INT;
        return ctr__json_to_i64(m, &out->u.i) ? 0 : CTR_EPARSE;
    case AV_DOUBLE:
        out->type = CTR_VALUE_DOUBLE;
        return read_double(d, m, &out->u.d);
    case AV_BYTES:
        out->type = CTR_VALUE_BYTES;
        if (m->type != CTR__JSON_STRING)
            return CTR_EPARSE;
        ctr_buf_reset(&d->scratch);
        rc = ctr_base64_decode(m->u.s.ptr, m->u.s.len, &d->scratch);
        break;
    case AV_KVLIST:
        out->type = CTR_VALUE_STRING;
        ctr_buf_reset(&d->scratch);
        ctr__json_write(&d->scratch, m);
        rc = d->scratch.err;
        break;
    default: { /* AV_ARRAY */
        out->type = CTR_VALUE_ARRAY;
        const json *vals = ctr__otlp_member(m, "values");
        if (m->type != CTR__JSON_OBJECT || (vals && vals->type != CTR__JSON_ARRAY))
            return CTR_EPARSE;
        size_t n = vals ? vals->u.c.count : 0;
        if (n == 0)
            return 0;
        struct ctr_value *items =
            n < SIZE_MAX / sizeof *items ? ctr_arena_alloc(a, n * sizeof *items) : NULL;
        if (!items)
            return CTR_ENOMEM;
        size_t i = 0;
        for (const json *x = vals->u.c.first; x; x = x->next)
            if ((rc = read_value(d, a, x, &items[i++])) != 0)
                return rc;
        out->u.array.items = items;
        out->u.array.len = n;
        return 0;
    }
    }
    if (rc)
        return rc;
    char *p = ctr_arena_strndup(a, (const char *)d->scratch.data, d->scratch.len);
    if (!p)
        return CTR_ENOMEM;
    out->u.s.ptr = p;
    out->u.s.len = d->scratch.len;
    return 0;
}

/* The malloc'd array `items` (`len` items of `size` bytes, capacity *cap)
 * with room for one more: moved, or as it was; NULL when out of memory
 * (`items` is left alone). */
void *ctr__otlp_grow(void *items, size_t len, size_t *cap, size_t size)
{
    if (len < *cap)
        return items;
    size_t n = *cap ? *cap * 2 : 16;
    void *p = n < SIZE_MAX / size ? realloc(items, n * size) : NULL;
    if (p)
        *cap = n;
    return p;
}

/* Queue one decoded attribute. */
static int push_attr(struct ctr_trace_data *d, struct ctr_str key, const struct ctr_value *v)
{
    struct ctr_attr *p = ctr__otlp_grow(d->pending, d->n_pending, &d->cap_pending, sizeof *p);
    if (!p)
        return CTR_ENOMEM;
    d->pending = p;
    d->pending[d->n_pending++] = (struct ctr_attr){key, *v};
    return 0;
}

/*
 * Queue the KeyValue `kv`, its key prefixed by `prefix` and a dot when
 * `prefix` is not NULL; a kvlistValue is flattened into one attribute per
 * member. Unreadable members add to *dropped. Returns 0 or CTR_ENOMEM.
 */
static int add_kv(struct ctr_trace_data *d, struct ctr_arena *a, const struct ctr_str *prefix,
                  const json *kv, uint64_t *dropped)
{
    const json *k = ctr__otlp_member(kv, "key"), *v = ctr__otlp_member(kv, "value"), *m;
    int which;
    if (!kv || kv->type != CTR__JSON_OBJECT || (k && k->type != CTR__JSON_STRING) ||
        value_member(v, &m, &which)) {
        ++*dropped;
        return 0;
    }
    const char *kp = k ? k->u.s.ptr : "";
    size_t klen = k ? k->u.s.len : 0, plen = prefix ? prefix->len + 1 : 0;
    char *key = ctr_arena_alloc(a, plen + klen + 1);
    if (!key)
        return CTR_ENOMEM;
    if (prefix) {
        memcpy(key, prefix->ptr, prefix->len);
        key[prefix->len] = '.';
    }
    memcpy(key + plen, kp, klen);
    key[plen + klen] = '\0';
    struct ctr_str full = {key, plen + klen};
    struct ctr_value val = {.type = CTR_VALUE_EMPTY};
    if (which == AV_KVLIST) {
        const json *vals = ctr__otlp_member(m, "values");
        if (m->type != CTR__JSON_OBJECT || (vals && vals->type != CTR__JSON_ARRAY)) {
            ++*dropped;
            return 0;
        }
        if (vals && vals->u.c.count > 0) {
            for (const json *x = vals->u.c.first; x; x = x->next) {
                int rc = add_kv(d, a, &full, x, dropped);
                if (rc)
                    return rc;
            }
            return 0;
        }
        return push_attr(d, full, &val); /* an empty list: the key alone */
    }
    int rc = read_value(d, a, v, &val);
    if (rc == CTR_EPARSE) {
        ++*dropped;
        return 0;
    }
    return rc ? rc : push_attr(d, full, &val);
}

int ctr__otlp_attrs(struct ctr_trace_data *d, struct ctr_arena *a, const json *owner,
                    struct ctr_attr_list *out)
{
    const json *arr = ctr__otlp_member(owner, "attributes");
    const json *drop = ctr__otlp_member(owner, "droppedAttributesCount");
    memset(out, 0, sizeof *out);
    if (arr && arr->type != CTR__JSON_ARRAY)
        arr = NULL;
    uint64_t dropped = ctr__otlp_u32(drop);
    size_t base = d->n_pending;
    int rc = 0;
    for (const json *kv = arr ? arr->u.c.first : NULL; kv && !rc; kv = kv->next)
        rc = add_kv(d, a, NULL, kv, &dropped);
    size_t n = d->n_pending - base;
    if (!rc && n > UINT32_MAX - 1) { /* cannot happen below 4 GiB of input */
        dropped += n - (UINT32_MAX - 1);
        n = UINT32_MAX - 1;
    }
    if (!rc && n) {
        out->items = ctr_arena_alloc(a, n * sizeof *out->items);
        if (out->items)
            memcpy(out->items, d->pending + base, n * sizeof *out->items);
        else
            rc = CTR_ENOMEM;
        out->len = out->cap = (uint32_t)n;
    }
    d->n_pending = base;
    out->dropped = dropped > UINT32_MAX ? UINT32_MAX : (uint32_t)dropped;
    return rc;
}
