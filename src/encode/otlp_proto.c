/*
 * OTLP protobuf encoder (ExportTraceServiceRequest) and response decoder.
 *
 * The encoder makes two passes: the first computes the exact size of every
 * span (so every length prefix can be written in its minimal form, byte for
 * byte what the reference serializers produce), the second reserves the whole
 * request once and stores fields straight into the buffer with the raw
 * writers of pb.h. Nothing is allocated per field; one scratch array of span
 * sizes is allocated per batch only when the batch exceeds the stack array.
 *
 * Fields are written in field-number order and proto3 defaults are omitted
 * (zero counts, empty strings, kind 0, times 0, UNSET status without message),
 * except that the member of the AnyValue oneof is written even when it holds
 * a zero value. Strings are copied as they are: the span layer guarantees
 * valid UTF-8.
 */
#include <stdlib.h>

#include "chaostracing/encode.h"
#include "encode/pb.h"

/* AnyValue arrays nested deeper than this are encoded as empty values (the
 * span model never nests arrays; the limit only keeps cycles finite). */
#define MAX_VALUE_DEPTH 8
/* Spans whose sizes fit in the stack scratch array. */
#define STACK_SPANS 512

/* One-byte tags (field << 3 | wire type) of every field we write. */
enum {
    T_REQ_RESOURCE_SPANS = 0x0a,  /* 1 LEN */
    T_RS_RESOURCE = 0x0a,         /* 1 LEN */
    T_RS_SCOPE_SPANS = 0x12,      /* 2 LEN */
    T_RES_ATTRS = 0x0a,           /* 1 LEN */
    T_RES_DROPPED = 0x10,         /* 2 VARINT */
    T_SS_SCOPE = 0x0a,            /* 1 LEN */
    T_SS_SPANS = 0x12,            /* 2 LEN */
    T_SCOPE_NAME = 0x0a,          /* 1 LEN */
    T_SCOPE_VERSION = 0x12,       /* 2 LEN */
    T_SPAN_TRACE_ID = 0x0a,       /* 1 LEN */
    T_SPAN_SPAN_ID = 0x12,        /* 2 LEN */
    T_SPAN_TRACE_STATE = 0x1a,    /* 3 LEN */
    T_SPAN_PARENT = 0x22,         /* 4 LEN */
    T_SPAN_NAME = 0x2a,           /* 5 LEN */
    T_SPAN_KIND = 0x30,           /* 6 VARINT */
    T_SPAN_START = 0x39,          /* 7 I64 */
    T_SPAN_END = 0x41,            /* 8 I64 */
    T_SPAN_ATTRS = 0x4a,          /* 9 LEN */
    T_SPAN_DROPPED_ATTRS = 0x50,  /* 10 VARINT */
    T_SPAN_EVENTS = 0x5a,         /* 11 LEN */
    T_SPAN_DROPPED_EVENTS = 0x60, /* 12 VARINT */
    T_SPAN_LINKS = 0x6a,          /* 13 LEN */
    T_SPAN_DROPPED_LINKS = 0x70,  /* 14 VARINT */
    T_SPAN_STATUS = 0x7a,         /* 15 LEN */
    T_SPAN_FLAGS_0 = 0x85,        /* 16 I32: two-byte tag 0x85 0x01 */
    T_SPAN_FLAGS_1 = 0x01,
    T_EVENT_TIME = 0x09,       /* 1 I64 */
    T_EVENT_NAME = 0x12,       /* 2 LEN */
    T_EVENT_ATTRS = 0x1a,      /* 3 LEN */
    T_EVENT_DROPPED = 0x20,    /* 4 VARINT */
    T_LINK_TRACE_ID = 0x0a,    /* 1 LEN */
    T_LINK_SPAN_ID = 0x12,     /* 2 LEN */
    T_LINK_TRACE_STATE = 0x1a, /* 3 LEN */
    T_LINK_ATTRS = 0x22,       /* 4 LEN */
    T_LINK_DROPPED = 0x28,     /* 5 VARINT */
    T_LINK_FLAGS = 0x35,       /* 6 I32 */
    T_STATUS_MESSAGE = 0x12,   /* 2 LEN */
    T_STATUS_CODE = 0x18,      /* 3 VARINT */
    T_KV_KEY = 0x0a,           /* 1 LEN */
    T_KV_VALUE = 0x12,         /* 2 LEN */
    T_AV_STRING = 0x0a,        /* 1 LEN */
    T_AV_BOOL = 0x10,          /* 2 VARINT */
    T_AV_INT = 0x18,           /* 3 VARINT */
    T_AV_DOUBLE = 0x21,        /* 4 I64 */
    T_AV_ARRAY = 0x2a,         /* 5 LEN */
    T_AV_BYTES = 0x3a,         /* 7 LEN */
    T_ARRAY_VALUES = 0x0a,     /* 1 LEN */
};

/* Length of a string, 0 when it has no storage. */
static inline size_t str_len(const struct ctr_str *s)
{
    return s->ptr ? s->len : 0;
}

/* Size of an optional string field: nothing when empty (proto3 default). */
static inline size_t opt_str_size(const struct ctr_str *s)
{
    size_t n = str_len(s);
    return n ? ctr__pb_len_field_size(n) : 0;
}

/* Size of an optional varint field: nothing when zero. */
static inline size_t opt_varint_size(uint64_t v)
{
    return v ? 1 + ctr__pb_varint_size(v) : 0;
}

/* Enums are int32 on the wire; negative ones are sign-extended varints. */
static inline uint64_t enum_wire(int v)
{
    return (uint64_t)(int64_t)v;
}

/* The OTLP flags of a link: W3C flags plus the known/remote bits. */
static inline uint32_t link_flags(const struct ctr_link *l)
{
    return (uint32_t)l->ctx.trace_flags | CTR_SPAN_FLAG_HAS_IS_REMOTE |
           (l->ctx.is_remote ? CTR_SPAN_FLAG_IS_REMOTE : 0);
}

/* ---- size pass ---------------------------------------------------------- */

static inline size_t value_size(const struct ctr_value *v, int depth);

/* Size of the ArrayValue body of an array value. */
static size_t array_body_size(const struct ctr_value *v, int depth)
{
    size_t n = 0;
    if (!v->u.array.items)
        return 0;
    for (size_t i = 0; i < v->u.array.len; i++)
        n += ctr__pb_len_field_size(value_size(&v->u.array.items[i], depth + 1));
    return n;
}

/* Size of the AnyValue body of an array value (out of line: rare). */
static size_t array_value_size(const struct ctr_value *v, int depth)
{
    if (depth >= MAX_VALUE_DEPTH)
        return 0;
    return ctr__pb_len_field_size(array_body_size(v, depth));
}

/* Size of the AnyValue body of `v` (an EMPTY or unknown value has no member). */
static inline size_t value_size(const struct ctr_value *v, int depth)
{
    switch (v->type) {
    case CTR_VALUE_STRING:
    case CTR_VALUE_BYTES:
        return ctr__pb_len_field_size(str_len(&v->u.s));
    case CTR_VALUE_BOOL:
        return 2;
    case CTR_VALUE_INT:
        return 1 + ctr__pb_varint_size((uint64_t)v->u.i);
    case CTR_VALUE_DOUBLE:
        return 9;
    case CTR_VALUE_ARRAY:
        return array_value_size(v, depth);
    case CTR_VALUE_EMPTY:
    default:
        return 0;
    }
}

/* Size of a KeyValue body. */
static inline size_t kv_size(const struct ctr_attr *a)
{
    return opt_str_size(&a->key) + ctr__pb_len_field_size(value_size(&a->value, 0));
}

/* Size of the repeated KeyValue fields of `l` (one-byte tags). */
static size_t attrs_size(const struct ctr_attr_list *l)
{
    size_t n = 0;
    if (!l->items)
        return 0;
    for (uint32_t i = 0; i < l->len; i++)
        n += ctr__pb_len_field_size(kv_size(&l->items[i]));
    return n;
}

/* Size of a Span.Event body. */
static size_t event_size(const struct ctr_event *e)
{
    return (e->time_ns ? 9 : 0) + opt_str_size(&e->name) + attrs_size(&e->attrs) +
           opt_varint_size(e->attrs.dropped);
}

/* Size of a Span.Link body. */
static size_t link_size(const struct ctr_link *l)
{
    return 18 + 10 + opt_str_size(&l->ctx.trace_state) + attrs_size(&l->attrs) +
           opt_varint_size(l->attrs.dropped) + 5;
}

/* Whether a span's Status message is written at all. */
static inline bool has_status(const struct ctr_span *s)
{
    return s->status != CTR_STATUS_UNSET || str_len(&s->status_message);
}

/* Size of a Status body. */
static inline size_t status_size(const struct ctr_span *s)
{
    return opt_str_size(&s->status_message) + opt_varint_size(enum_wire((int)s->status));
}

/* Size of a Span body. */
static size_t span_size(const struct ctr_span *s)
{
    size_t n = 18 + 10; /* trace_id, span_id */
    n += opt_str_size(&s->ctx.trace_state);
    if (s->has_parent)
        n += 10;
    n += opt_str_size(&s->name);
    n += opt_varint_size(enum_wire((int)s->kind));
    n += (s->start_ns ? 9 : 0) + (s->end_ns ? 9 : 0);
    n += attrs_size(&s->attrs) + opt_varint_size(s->attrs.dropped);
    if (s->events)
        for (uint32_t i = 0; i < s->events_len; i++)
            n += ctr__pb_len_field_size(event_size(&s->events[i]));
    n += opt_varint_size(s->events_dropped);
    if (s->links)
        for (uint32_t i = 0; i < s->links_len; i++)
            n += ctr__pb_len_field_size(link_size(&s->links[i]));
    n += opt_varint_size(s->links_dropped);
    if (has_status(s))
        n += ctr__pb_len_field_size(status_size(s));
    if (ctr_span_otlp_flags(s))
        n += 6;
    return n;
}

/* ---- write pass --------------------------------------------------------- */

/* Store an optional string field (nothing when empty). */
static inline uint8_t *w_opt_str(uint8_t *p, uint8_t tag, const struct ctr_str *s)
{
    size_t n = str_len(s);
    return n ? ctr__pb_w_bytes(p, tag, s->ptr, n) : p;
}

/* Store an optional varint field (nothing when zero). */
static inline uint8_t *w_opt_varint(uint8_t *p, uint8_t tag, uint64_t v)
{
    if (!v)
        return p;
    *p++ = tag;
    return ctr__pb_w_varint(p, v);
}

/* Store a tag and the length of a nested message. */
static inline uint8_t *w_head(uint8_t *p, uint8_t tag, size_t n)
{
    *p++ = tag;
    if (n < 0x80) {
        *p++ = (uint8_t)n;
        return p;
    }
    return ctr__pb_w_varint(p, n);
}

static uint8_t *w_array_value(uint8_t *p, const struct ctr_value *v, int depth);

/* Store the AnyValue body of `v`. */
static inline uint8_t *w_value(uint8_t *p, const struct ctr_value *v, int depth)
{
    switch (v->type) {
    case CTR_VALUE_STRING:
        return ctr__pb_w_bytes(p, T_AV_STRING, v->u.s.ptr, str_len(&v->u.s));
    case CTR_VALUE_BYTES:
        return ctr__pb_w_bytes(p, T_AV_BYTES, v->u.s.ptr, str_len(&v->u.s));
    case CTR_VALUE_BOOL:
        p[0] = T_AV_BOOL;
        p[1] = v->u.b ? 1 : 0;
        return p + 2;
    case CTR_VALUE_INT:
        *p++ = T_AV_INT;
        return ctr__pb_w_varint(p, (uint64_t)v->u.i);
    case CTR_VALUE_DOUBLE:
        *p++ = T_AV_DOUBLE;
        return ctr__pb_w_double(p, v->u.d);
    case CTR_VALUE_ARRAY:
        return w_array_value(p, v, depth);
    case CTR_VALUE_EMPTY:
    default:
        return p;
    }
}

/* Store the AnyValue body of an array value (out of line: rare). */
static uint8_t *w_array_value(uint8_t *p, const struct ctr_value *v, int depth)
{
    if (depth >= MAX_VALUE_DEPTH)
        return p;
    p = w_head(p, T_AV_ARRAY, array_body_size(v, depth));
    if (!v->u.array.items)
        return p;
    for (size_t i = 0; i < v->u.array.len; i++) {
        const struct ctr_value *it = &v->u.array.items[i];
        p = w_head(p, T_ARRAY_VALUES, value_size(it, depth + 1));
        p = w_value(p, it, depth + 1);
    }
    return p;
}

/* Store the repeated KeyValue fields of `l` under `tag`. */
static uint8_t *w_attrs(uint8_t *p, uint8_t tag, const struct ctr_attr_list *l)
{
    if (!l->items)
        return p;
    for (uint32_t i = 0; i < l->len; i++) {
        const struct ctr_attr *a = &l->items[i];
        if (a->value.type == CTR_VALUE_STRING) {
            /* The common case, kept free of calls. */
            size_t n = str_len(&a->value.u.s), vs = ctr__pb_len_field_size(n);
            p = w_head(p, tag, opt_str_size(&a->key) + ctr__pb_len_field_size(vs));
            p = w_opt_str(p, T_KV_KEY, &a->key);
            p = w_head(p, T_KV_VALUE, vs);
            p = ctr__pb_w_bytes(p, T_AV_STRING, a->value.u.s.ptr, n);
            continue;
        }
        size_t vs = value_size(&a->value, 0);
        p = w_head(p, tag, opt_str_size(&a->key) + ctr__pb_len_field_size(vs));
        p = w_opt_str(p, T_KV_KEY, &a->key);
        p = w_head(p, T_KV_VALUE, vs);
        p = w_value(p, &a->value, 0);
    }
    return p;
}

/* Store one Span message (tag, length, body) whose body is `size` bytes. */
static uint8_t *w_span(uint8_t *p, const struct ctr_span *s, size_t size)
{
    p = w_head(p, T_SS_SPANS, size);
    p = ctr__pb_w_bytes(p, T_SPAN_TRACE_ID, s->ctx.trace_id, CTR_TRACE_ID_LEN);
    p = ctr__pb_w_bytes(p, T_SPAN_SPAN_ID, s->ctx.span_id, CTR_SPAN_ID_LEN);
    p = w_opt_str(p, T_SPAN_TRACE_STATE, &s->ctx.trace_state);
    if (s->has_parent)
        p = ctr__pb_w_bytes(p, T_SPAN_PARENT, s->parent_span_id, CTR_SPAN_ID_LEN);
    p = w_opt_str(p, T_SPAN_NAME, &s->name);
    p = w_opt_varint(p, T_SPAN_KIND, enum_wire((int)s->kind));
    if (s->start_ns) {
        *p++ = T_SPAN_START;
        p = ctr__pb_w_fixed64(p, s->start_ns);
    }
    if (s->end_ns) {
        *p++ = T_SPAN_END;
        p = ctr__pb_w_fixed64(p, s->end_ns);
    }
    p = w_attrs(p, T_SPAN_ATTRS, &s->attrs);
    p = w_opt_varint(p, T_SPAN_DROPPED_ATTRS, s->attrs.dropped);
    if (s->events) {
        for (uint32_t i = 0; i < s->events_len; i++) {
            const struct ctr_event *e = &s->events[i];
            p = w_head(p, T_SPAN_EVENTS, event_size(e));
            if (e->time_ns) {
                *p++ = T_EVENT_TIME;
                p = ctr__pb_w_fixed64(p, e->time_ns);
            }
            p = w_opt_str(p, T_EVENT_NAME, &e->name);
            p = w_attrs(p, T_EVENT_ATTRS, &e->attrs);
            p = w_opt_varint(p, T_EVENT_DROPPED, e->attrs.dropped);
        }
    }
    p = w_opt_varint(p, T_SPAN_DROPPED_EVENTS, s->events_dropped);
    if (s->links) {
        for (uint32_t i = 0; i < s->links_len; i++) {
            const struct ctr_link *l = &s->links[i];
            p = w_head(p, T_SPAN_LINKS, link_size(l));
            p = ctr__pb_w_bytes(p, T_LINK_TRACE_ID, l->ctx.trace_id, CTR_TRACE_ID_LEN);
            p = ctr__pb_w_bytes(p, T_LINK_SPAN_ID, l->ctx.span_id, CTR_SPAN_ID_LEN);
            p = w_opt_str(p, T_LINK_TRACE_STATE, &l->ctx.trace_state);
            p = w_attrs(p, T_LINK_ATTRS, &l->attrs);
            p = w_opt_varint(p, T_LINK_DROPPED, l->attrs.dropped);
            *p++ = T_LINK_FLAGS;
            p = ctr__pb_w_fixed32(p, link_flags(l));
        }
    }
    p = w_opt_varint(p, T_SPAN_DROPPED_LINKS, s->links_dropped);
    if (has_status(s)) {
        p = w_head(p, T_SPAN_STATUS, status_size(s));
        p = w_opt_str(p, T_STATUS_MESSAGE, &s->status_message);
        p = w_opt_varint(p, T_STATUS_CODE, enum_wire((int)s->status));
    }
    uint32_t flags = ctr_span_otlp_flags(s);
    if (flags) {
        p[0] = T_SPAN_FLAGS_0;
        p[1] = T_SPAN_FLAGS_1;
        p = ctr__pb_w_fixed32(p + 2, flags);
    }
    return p;
}

/*
 * Encode the batch as one ExportTraceServiceRequest with one ResourceSpans and
 * one ScopeSpans. Returns 0; CTR_EINVAL for an empty batch or a NULL span
 * (nothing appended); CTR_ENOMEM (nothing appended; out->err is set). The
 * caller owns `out`.
 */
int ctr_otlp_proto_encode(const struct ctr_batch *batch, struct ctr_buf *out)
{
    if (!out)
        return CTR_EINVAL;
    if (out->err)
        return out->err;
    if (!batch || !batch->spans || batch->len == 0)
        return CTR_EINVAL;

    size_t stack_sizes[STACK_SPANS];
    size_t *sizes = stack_sizes;
    if (batch->len > STACK_SPANS) {
        if (batch->len > SIZE_MAX / sizeof *sizes)
            return CTR_ENOMEM;
        sizes = malloc(batch->len * sizeof *sizes);
        if (!sizes)
            return CTR_ENOMEM;
    }

    /* Size pass. */
    size_t spans_total = 0;
    for (size_t i = 0; i < batch->len; i++) {
        const struct ctr_span *s = batch->spans[i];
        if (!s) {
            if (sizes != stack_sizes)
                free(sizes);
            return CTR_EINVAL;
        }
        sizes[i] = span_size(s);
        spans_total += ctr__pb_len_field_size(sizes[i]);
    }
    const struct ctr_scope *sc = batch->scope;
    size_t scope_body = sc ? opt_str_size(&sc->name) + opt_str_size(&sc->version) : 0;
    size_t ss_body = (sc ? ctr__pb_len_field_size(scope_body) : 0) + spans_total;
    const struct ctr_resource *res = batch->resource;
    uint32_t res_dropped = 0;
    size_t res_body = 0;
    if (res) {
        /* ctr_resource_set() mirrors attrs.dropped into dropped; take the
         * larger in case only one of them was maintained. */
        res_dropped = res->dropped > res->attrs.dropped ? res->dropped : res->attrs.dropped;
        res_body = attrs_size(&res->attrs) + opt_varint_size(res_dropped);
    }
    size_t rs_body = (res ? ctr__pb_len_field_size(res_body) : 0) + ctr__pb_len_field_size(ss_body);
    size_t total = ctr__pb_len_field_size(rs_body);

    if (ctr_buf_reserve(out, total)) {
        if (sizes != stack_sizes)
            free(sizes);
        return out->err;
    }

    /* Write pass. */
    uint8_t *start = out->data + out->len, *p = start;
    p = w_head(p, T_REQ_RESOURCE_SPANS, rs_body);
    if (res) {
        p = w_head(p, T_RS_RESOURCE, res_body);
        p = w_attrs(p, T_RES_ATTRS, &res->attrs);
        p = w_opt_varint(p, T_RES_DROPPED, res_dropped);
    }
    p = w_head(p, T_RS_SCOPE_SPANS, ss_body);
    if (sc) {
        p = w_head(p, T_SS_SCOPE, scope_body);
        p = w_opt_str(p, T_SCOPE_NAME, &sc->name);
        p = w_opt_str(p, T_SCOPE_VERSION, &sc->version);
    }
    for (size_t i = 0; i < batch->len; i++)
        p = w_span(p, batch->spans[i], sizes[i]);

    if (sizes != stack_sizes)
        free(sizes);
    if ((size_t)(p - start) != total) {
        /* Unreachable unless the two passes disagree: never ship bad bytes. */
        ctr_log(CTR_LOG_ERROR, "otlp encoder: size pass %zu != written %zu", total,
                (size_t)(p - start));
        return CTR_EINVAL;
    }
    out->len += total;
    return 0;
}

/* ---- response decoder --------------------------------------------------- */

/* Copy an error message into msg/msg_size, NUL-terminated, cut back to a
 * UTF-8 character boundary when truncated. */
static void copy_message(char *msg, size_t msg_size, const uint8_t *s, size_t n)
{
    if (!msg || msg_size == 0)
        return;
    if (n >= msg_size) {
        n = msg_size - 1;
        /* Do not end inside a multi-byte sequence. */
        size_t k = n;
        while (k > 0 && (s[k] & 0xC0) == 0x80 && n - k < 3)
            k--;
        if (k < n && (s[k] & 0xC0) == 0xC0)
            n = k;
    }
    if (n)
        memcpy(msg, s, n);
    msg[n] = '\0';
}

/* Parse an ExportTracePartialSuccess body, merging into the outputs. */
static int decode_partial_success(const uint8_t *body, size_t len, int64_t *rejected, char *msg,
                                  size_t msg_size)
{
    struct ctr__pb_reader r = {body, body + len};
    while (r.p < r.end) {
        uint32_t field;
        enum ctr__pb_wire wire;
        if (ctr__pb_read_tag(&r, &field, &wire))
            return CTR_EPARSE;
        if (field == 1 && wire == CTR__PB_VARINT) {
            uint64_t v;
            if (ctr__pb_read_varint(&r, &v))
                return CTR_EPARSE;
            if (rejected)
                *rejected = (int64_t)v;
        } else if (field == 2 && wire == CTR__PB_LEN) {
            const uint8_t *s;
            size_t n;
            if (ctr__pb_read_len(&r, &s, &n))
                return CTR_EPARSE;
            copy_message(msg, msg_size, s, n);
        } else if (ctr__pb_skip(&r, field, wire)) {
            return CTR_EPARSE;
        }
    }
    return 0;
}

/*
 * Decode an ExportTraceServiceResponse. Unknown fields of every wire type are
 * skipped; repeated partial_success fields merge as protobuf says (the last
 * value of each member wins). *rejected and msg are reset first; either may be
 * NULL. Returns 0 or CTR_EPARSE (truncated or malformed input; the outputs may
 * then hold values read before the error).
 */
int ctr_otlp_proto_decode_response(const uint8_t *body, size_t len, int64_t *rejected, char *msg,
                                   size_t msg_size)
{
    if (rejected)
        *rejected = 0;
    if (msg && msg_size)
        msg[0] = '\0';
    if (len == 0)
        return 0;
    if (!body)
        return CTR_EPARSE;
    struct ctr__pb_reader r = {body, body + len};
    while (r.p < r.end) {
        uint32_t field;
        enum ctr__pb_wire wire;
        if (ctr__pb_read_tag(&r, &field, &wire))
            return CTR_EPARSE;
        if (field == 1 && wire == CTR__PB_LEN) {
            const uint8_t *s;
            size_t n;
            if (ctr__pb_read_len(&r, &s, &n))
                return CTR_EPARSE;
            if (decode_partial_success(s, n, rejected, msg, msg_size))
                return CTR_EPARSE;
        } else if (ctr__pb_skip(&r, field, wire)) {
            return CTR_EPARSE;
        }
    }
    return 0;
}
