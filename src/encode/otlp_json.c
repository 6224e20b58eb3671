/*
 * OTLP JSON encoder: the protobuf JSON mapping of ExportTraceServiceRequest
 * with the OTLP deviations (hex trace and span ids, enums as integers).
 *
 * Fields appear in field-number order and follow the protobuf encoder's
 * presence rules (proto3 defaults and empty lists omitted, the AnyValue oneof
 * member always written), so the output equals what the reference
 * MessageToDict(use_integers_for_enums=True) gives once its base64 ids are
 * turned into hex, serialized compactly.
 */
#include <string.h>

#include "encode/json.h"

#define MAX_VALUE_DEPTH 8 /* as in the protobuf encoder */

/* Tracks whether a comma is due before the next member of an object. */
struct obj {
    struct ctr_buf *b;
    bool any;
};

/* Start an object; `o` tracks its members. */
static inline void obj_open(struct obj *o, struct ctr_buf *b)
{
    o->b = b;
    o->any = false;
    ctr_buf_putc(b, '{');
}

static inline void obj_close(struct obj *o)
{
    ctr_buf_putc(o->b, '}');
}

/* Write `,"key":` (comma only after the first member). `k` is a literal
 * quoted key with its colon, e.g. "\"name\":". */
static inline void obj_key(struct obj *o, const char *k, size_t klen)
{
    if (o->any)
        ctr_buf_putc(o->b, ',');
    o->any = true;
    ctr_buf_append(o->b, k, klen);
}
#define KEY(o, name) obj_key((o), "\"" name "\":", sizeof("\"" name "\":") - 1)

static inline size_t str_len(const struct ctr_str *s)
{
    return s->ptr ? s->len : 0;
}

/* Member "name":"string", omitted when the string is empty. */
static void opt_str(struct obj *o, const char *k, size_t klen, const struct ctr_str *s)
{
    size_t n = str_len(s);
    if (!n)
        return;
    obj_key(o, k, klen);
    ctr_json_put_string(o->b, s->ptr, n);
}
#define OPT_STR(o, name, s) opt_str((o), "\"" name "\":", sizeof("\"" name "\":") - 1, (s))

/* Member "name":number, omitted when zero. */
static void opt_u64(struct obj *o, const char *k, size_t klen, uint64_t v)
{
    if (!v)
        return;
    obj_key(o, k, klen);
    ctr__json_put_u64(o->b, v);
}
#define OPT_U64(o, name, v) opt_u64((o), "\"" name "\":", sizeof("\"" name "\":") - 1, (v))

/* Member "name":"decimal" for a 64-bit time, omitted when zero. */
static void opt_time(struct obj *o, const char *k, size_t klen, uint64_t v)
{
    if (!v)
        return;
    obj_key(o, k, klen);
    ctr__json_put_u64_str(o->b, v);
}
#define OPT_TIME(o, name, v) opt_time((o), "\"" name "\":", sizeof("\"" name "\":") - 1, (v))

/* Append an AnyValue object. */
static void put_value(struct ctr_buf *b, const struct ctr_value *v, int depth)
{
    struct obj o;
    obj_open(&o, b);
    switch (v->type) {
    case CTR_VALUE_STRING:
        KEY(&o, "stringValue");
        ctr_json_put_string(b, v->u.s.ptr, str_len(&v->u.s));
        break;
    case CTR_VALUE_BOOL:
        KEY(&o, "boolValue");
        ctr__json_put_bool(b, v->u.b);
        break;
    case CTR_VALUE_INT:
        KEY(&o, "intValue");
        ctr__json_put_i64_str(b, v->u.i);
        break;
    case CTR_VALUE_DOUBLE:
        KEY(&o, "doubleValue");
        ctr__json_put_double(b, v->u.d);
        break;
    case CTR_VALUE_BYTES:
        KEY(&o, "bytesValue");
        ctr__json_put_base64(b, (const uint8_t *)v->u.s.ptr, str_len(&v->u.s));
        break;
    case CTR_VALUE_ARRAY:
        if (depth >= MAX_VALUE_DEPTH)
            break;
        KEY(&o, "arrayValue");
        if (v->u.array.items && v->u.array.len) {
            ctr_buf_append(b, "{\"values\":[", 11);
            for (size_t i = 0; i < v->u.array.len; i++) {
                if (i)
                    ctr_buf_putc(b, ',');
                put_value(b, &v->u.array.items[i], depth + 1);
            }
            ctr_buf_append(b, "]}", 2);
        } else {
            ctr_buf_append(b, "{}", 2);
        }
        break;
    case CTR_VALUE_EMPTY:
    default:
        break;
    }
    obj_close(&o);
}

/* Member "attributes":[...] (omitted when empty) then
 * "droppedAttributesCount" (omitted when zero). */
static void put_attrs(struct obj *o, const struct ctr_attr_list *l)
{
    if (l->items && l->len) {
        KEY(o, "attributes");
        ctr_buf_putc(o->b, '[');
        for (uint32_t i = 0; i < l->len; i++) {
            const struct ctr_attr *a = &l->items[i];
            struct obj kv;
            if (i)
                ctr_buf_putc(o->b, ',');
            obj_open(&kv, o->b);
            OPT_STR(&kv, "key", &a->key);
            KEY(&kv, "value");
            put_value(o->b, &a->value, 0);
            obj_close(&kv);
        }
        ctr_buf_putc(o->b, ']');
    }
    OPT_U64(o, "droppedAttributesCount", l->dropped);
}

/* Append one Span object. */
static void put_span(struct ctr_buf *b, const struct ctr_span *s)
{
    struct obj o;
    obj_open(&o, b);
    KEY(&o, "traceId");
    ctr__json_put_hex(b, s->ctx.trace_id, CTR_TRACE_ID_LEN);
    KEY(&o, "spanId");
    ctr__json_put_hex(b, s->ctx.span_id, CTR_SPAN_ID_LEN);
    OPT_STR(&o, "traceState", &s->ctx.trace_state);
    if (s->has_parent) {
        KEY(&o, "parentSpanId");
        ctr__json_put_hex(b, s->parent_span_id, CTR_SPAN_ID_LEN);
    }
    OPT_STR(&o, "name", &s->name);
    if (s->kind) {
        KEY(&o, "kind");
        ctr__json_put_i64(b, (int64_t)s->kind);
    }
    OPT_TIME(&o, "startTimeUnixNano", s->start_ns);
    OPT_TIME(&o, "endTimeUnixNano", s->end_ns);
    put_attrs(&o, &s->attrs);
    if (s->events && s->events_len) {
        KEY(&o, "events");
        ctr_buf_putc(b, '[');
        for (uint32_t i = 0; i < s->events_len; i++) {
            const struct ctr_event *e = &s->events[i];
            struct obj eo;
            if (i)
                ctr_buf_putc(b, ',');
            obj_open(&eo, b);
            OPT_TIME(&eo, "timeUnixNano", e->time_ns);
            OPT_STR(&eo, "name", &e->name);
            put_attrs(&eo, &e->attrs);
            obj_close(&eo);
        }
        ctr_buf_putc(b, ']');
    }
    OPT_U64(&o, "droppedEventsCount", s->events_dropped);
    if (s->links && s->links_len) {
        KEY(&o, "links");
        ctr_buf_putc(b, '[');
        for (uint32_t i = 0; i < s->links_len; i++) {
            const struct ctr_link *l = &s->links[i];
            struct obj lo;
            if (i)
                ctr_buf_putc(b, ',');
            obj_open(&lo, b);
            KEY(&lo, "traceId");
            ctr__json_put_hex(b, l->ctx.trace_id, CTR_TRACE_ID_LEN);
            KEY(&lo, "spanId");
            ctr__json_put_hex(b, l->ctx.span_id, CTR_SPAN_ID_LEN);
            OPT_STR(&lo, "traceState", &l->ctx.trace_state);
            put_attrs(&lo, &l->attrs);
            KEY(&lo, "flags");
            ctr__json_put_u64(b, (uint64_t)l->ctx.trace_flags | CTR_SPAN_FLAG_HAS_IS_REMOTE |
                                     (l->ctx.is_remote ? CTR_SPAN_FLAG_IS_REMOTE : 0));
            obj_close(&lo);
        }
        ctr_buf_putc(b, ']');
    }
    OPT_U64(&o, "droppedLinksCount", s->links_dropped);
    if (s->status != CTR_STATUS_UNSET || str_len(&s->status_message)) {
        struct obj so;
        KEY(&o, "status");
        obj_open(&so, b);
        OPT_STR(&so, "message", &s->status_message);
        if (s->status) {
            KEY(&so, "code");
            ctr__json_put_i64(b, (int64_t)s->status);
        }
        obj_close(&so);
    }
    OPT_U64(&o, "flags", ctr_span_otlp_flags(s));
    obj_close(&o);
}

/*
 * Encode the batch as one OTLP JSON ExportTraceServiceRequest on a single
 * line without a trailing newline. Returns 0; CTR_EINVAL for an empty batch
 * or a NULL span; CTR_ENOMEM (out->len is restored, out->err is set). The
 * caller owns `out`.
 */
int ctr_otlp_json_encode(const struct ctr_batch *batch, struct ctr_buf *out)
{
    if (!out)
        return CTR_EINVAL;
    if (out->err)
        return out->err;
    if (!batch || !batch->spans || batch->len == 0)
        return CTR_EINVAL;
    for (size_t i = 0; i < batch->len; i++)
        if (!batch->spans[i])
            return CTR_EINVAL;

    size_t start = out->len;
    struct obj req, rs, ss;
    obj_open(&req, out);
    KEY(&req, "resourceSpans");
    ctr_buf_putc(out, '[');
    obj_open(&rs, out);
    if (batch->resource) {
        const struct ctr_resource *r = batch->resource;
        struct obj ro;
        struct ctr_attr_list l = r->attrs;
        /* Same count as the protobuf encoder: the larger of the two. */
        if (r->dropped > l.dropped)
            l.dropped = r->dropped;
        KEY(&rs, "resource");
        obj_open(&ro, out);
        put_attrs(&ro, &l);
        obj_close(&ro);
    }
    KEY(&rs, "scopeSpans");
    ctr_buf_putc(out, '[');
    obj_open(&ss, out);
    if (batch->scope) {
        struct obj so;
        KEY(&ss, "scope");
        obj_open(&so, out);
        OPT_STR(&so, "name", &batch->scope->name);
        OPT_STR(&so, "version", &batch->scope->version);
        obj_close(&so);
    }
    KEY(&ss, "spans");
    ctr_buf_putc(out, '[');
    for (size_t i = 0; i < batch->len; i++) {
        if (i)
            ctr_buf_putc(out, ',');
        put_span(out, batch->spans[i]);
    }
    ctr_buf_append(out, "]}]}]}", 6);

    if (out->err) {
        out->len = start;
        return out->err;
    }
    return 0;
}
