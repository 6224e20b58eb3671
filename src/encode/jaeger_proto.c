/*
 * Jaeger api_v2 protobuf (jaegertracing/jaeger-idl proto/api_v2/model.proto
 * and collector.proto): a PostSpansRequest for the collector's gRPC
 * CollectorService/PostSpans, mapped from the OTel model as
 * opentelemetry-specification trace/sdk_exporters/jaeger.md and
 * common/mapping-to-non-otlp.md describe:
 *
 *  - the resource's service.name is the process's service_name, every other
 *    resource attribute a process tag;
 *  - the parent is the first reference (CHILD_OF), links follow (FOLLOWS_FROM);
 *  - span kind is the "span.kind" tag (none for INTERNAL); status is
 *    "otel.status_code" / "otel.status_description", and ERROR adds error=true;
 *  - the scope is otel.scope.name/version plus the older
 *    otel.library.name/version; dropped counts are otel.dropped_*_count tags;
 *  - events are logs with an "event" field (unless the event has its own
 *    "event" attribute); arrays are tags holding a JSON list.
 *
 * Proto3 default values (0, false, empty) are left out, as protobuf writers do.
 */
#include <chaostracing/encode.h>

#include "encode/json.h"
#include "encode/pb.h"
#include "encode/jaeger_map.h"

/* Field numbers. */
enum {
    REQ_BATCH = 1,
    BATCH_SPANS = 1,
    BATCH_PROCESS = 2,
    PROCESS_SERVICE_NAME = 1,
    PROCESS_TAGS = 2,
    SPAN_TRACE_ID = 1,
    SPAN_SPAN_ID = 2,
    SPAN_OPERATION_NAME = 3,
    SPAN_REFERENCES = 4,
    SPAN_FLAGS = 5,
    SPAN_START_TIME = 6,
    SPAN_DURATION = 7,
    SPAN_TAGS = 8,
    SPAN_LOGS = 9,
    REF_TRACE_ID = 1,
    REF_SPAN_ID = 2,
    REF_TYPE = 3,
    KV_KEY = 1,
    KV_TYPE = 2,
    KV_STR = 3,
    KV_BOOL = 4,
    KV_INT64 = 5,
    KV_FLOAT64 = 6,
    KV_BINARY = 7,
    LOG_TIMESTAMP = 1,
    LOG_FIELDS = 2,
    TS_SECONDS = 1,
    TS_NANOS = 2,
};

/* ValueType and SpanRefType. */
enum { VT_STRING = 0, VT_BOOL = 1, VT_INT64 = 2, VT_FLOAT64 = 3, VT_BINARY = 4 };
enum { REF_CHILD_OF = 0, REF_FOLLOWS_FROM = 1 };

/* Jaeger's span flag for a sampled span. */
#define JAEGER_FLAG_SAMPLED 1u

/* Write a string or bytes field unless it is empty. */
static void put_opt_bytes(struct ctr_buf *b, uint32_t field, const void *p, size_t n)
{
    if (n > 0)
        ctr__pb_put_bytes_field(b, field, p, n);
}

/* Write a varint field unless it is 0. */
static void put_opt_varint(struct ctr_buf *b, uint32_t field, uint64_t v)
{
    if (v != 0) {
        ctr__pb_put_tag(b, field, CTR__PB_VARINT);
        ctr__pb_put_varint(b, v);
    }
}

/* A Timestamp or Duration of `ns` nanoseconds, as field `field`. */
static void put_time(struct ctr_buf *b, uint32_t field, uint64_t ns)
{
    size_t m = ctr__pb_begin(b, field);
    put_opt_varint(b, TS_SECONDS, ns / 1000000000u);
    put_opt_varint(b, TS_NANOS, ns % 1000000000u);
    ctr__pb_end(b, m);
}

/* A KeyValue with a string value. */
static void put_str_tag(struct ctr_buf *b, uint32_t field, const char *key, size_t klen,
                        const char *val, size_t vlen)
{
    size_t m = ctr__pb_begin(b, field);
    put_opt_bytes(b, KV_KEY, key, klen);
    put_opt_bytes(b, KV_STR, val, vlen);
    ctr__pb_end(b, m);
}

/* A KeyValue with a bool value. */
static void put_bool_tag(struct ctr_buf *b, uint32_t field, const char *key, size_t klen, bool v)
{
    size_t m = ctr__pb_begin(b, field);
    put_opt_bytes(b, KV_KEY, key, klen);
    put_opt_varint(b, KV_TYPE, VT_BOOL);
    put_opt_varint(b, KV_BOOL, v);
    ctr__pb_end(b, m);
}

/* A KeyValue with an int64 value. */
static void put_int_tag(struct ctr_buf *b, uint32_t field, const char *key, size_t klen, int64_t v)
{
    size_t m = ctr__pb_begin(b, field);
    put_opt_bytes(b, KV_KEY, key, klen);
    put_opt_varint(b, KV_TYPE, VT_INT64);
    put_opt_varint(b, KV_INT64, (uint64_t)v);
    ctr__pb_end(b, m);
}

/* Append one array item as a JSON value. */
static void json_item(struct ctr_buf *b, const struct ctr_value *v)
{
    switch (v->type) {
    case CTR_VALUE_STRING:
        ctr_json_put_string(b, v->u.s.ptr ? v->u.s.ptr : "", v->u.s.ptr ? v->u.s.len : 0);
        break;
    case CTR_VALUE_BOOL:
        ctr__json_put_bool(b, v->u.b);
        break;
    case CTR_VALUE_INT:
        ctr__json_put_i64(b, v->u.i);
        break;
    case CTR_VALUE_DOUBLE:
        ctr__json_put_double(b, v->u.d);
        break;
    case CTR_VALUE_BYTES:
        ctr__json_put_base64(b, (const uint8_t *)v->u.s.ptr, v->u.s.ptr ? v->u.s.len : 0);
        break;
    default:
        ctr__json_put_raw(b, "null", 4);
        break;
    }
}

/* A KeyValue for an attribute, as field `field`. Arrays become a JSON list
 * in a string tag, built in `scratch`. */
static void put_attr(struct ctr_buf *b, uint32_t field, const struct ctr_attr *a,
                     struct ctr_buf *scratch)
{
    const struct ctr_value *v = &a->value;
    size_t m = ctr__pb_begin(b, field);
    put_opt_bytes(b, KV_KEY, a->key.ptr, a->key.ptr ? a->key.len : 0);
    switch (v->type) {
    case CTR_VALUE_STRING:
        put_opt_bytes(b, KV_STR, v->u.s.ptr, v->u.s.ptr ? v->u.s.len : 0);
        break;
    case CTR_VALUE_BOOL:
        put_opt_varint(b, KV_TYPE, VT_BOOL);
        put_opt_varint(b, KV_BOOL, v->u.b);
        break;
    case CTR_VALUE_INT:
        put_opt_varint(b, KV_TYPE, VT_INT64);
        put_opt_varint(b, KV_INT64, (uint64_t)v->u.i);
        break;
    case CTR_VALUE_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &v->u.d, sizeof bits);
        put_opt_varint(b, KV_TYPE, VT_FLOAT64);
        if (bits != 0) {
            ctr__pb_put_tag(b, KV_FLOAT64, CTR__PB_I64);
            ctr__pb_put_fixed64(b, bits);
        }
        break;
    }
    case CTR_VALUE_BYTES:
        put_opt_varint(b, KV_TYPE, VT_BINARY);
        put_opt_bytes(b, KV_BINARY, v->u.s.ptr, v->u.s.ptr ? v->u.s.len : 0);
        break;
    case CTR_VALUE_ARRAY:
        ctr_buf_reset(scratch);
        ctr_buf_putc(scratch, '[');
        for (size_t i = 0; i < v->u.array.len; i++) {
            if (i)
                ctr_buf_putc(scratch, ',');
            json_item(scratch, &v->u.array.items[i]);
        }
        ctr_buf_putc(scratch, ']');
        if (scratch->err)
            b->err = scratch->err;
        else
            put_opt_bytes(b, KV_STR, scratch->data, scratch->len);
        break;
    default: /* empty: an empty string tag */
        break;
    }
    ctr__pb_end(b, m);
}

/* A SpanRef. */
static void put_ref(struct ctr_buf *b, const uint8_t *trace_id, const uint8_t *span_id, int type)
{
    size_t m = ctr__pb_begin(b, SPAN_REFERENCES);
    ctr__pb_put_bytes_field(b, REF_TRACE_ID, trace_id, CTR_TRACE_ID_LEN);
    ctr__pb_put_bytes_field(b, REF_SPAN_ID, span_id, CTR_SPAN_ID_LEN);
    put_opt_varint(b, REF_TYPE, (uint64_t)type);
    ctr__pb_end(b, m);
}

/* Append a string constant's bytes and length. */
#define LIT(s) s, sizeof(s) - 1

/* One Span. */
static void put_span(struct ctr_buf *b, const struct ctr_span *s, const struct ctr_scope *scope,
                     struct ctr_buf *scratch)
{
    size_t m = ctr__pb_begin(b, BATCH_SPANS);
    ctr__pb_put_bytes_field(b, SPAN_TRACE_ID, s->ctx.trace_id, CTR_TRACE_ID_LEN);
    ctr__pb_put_bytes_field(b, SPAN_SPAN_ID, s->ctx.span_id, CTR_SPAN_ID_LEN);
    put_opt_bytes(b, SPAN_OPERATION_NAME, s->name.ptr, s->name.ptr ? s->name.len : 0);
    if (s->has_parent)
        put_ref(b, s->ctx.trace_id, s->parent_span_id, REF_CHILD_OF);
    for (uint32_t i = 0; i < s->links_len; i++)
        put_ref(b, s->links[i].ctx.trace_id, s->links[i].ctx.span_id, REF_FOLLOWS_FROM);
    put_opt_varint(b, SPAN_FLAGS,
                   (s->ctx.trace_flags & CTR_TRACE_FLAG_SAMPLED) ? JAEGER_FLAG_SAMPLED : 0);
    put_time(b, SPAN_START_TIME, s->start_ns);
    put_time(b, SPAN_DURATION, s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0);

    for (uint32_t i = 0; i < s->attrs.len; i++) {
        const struct ctr_attr *a = &s->attrs.items[i];
        if (ctr__jaeger_replaced_error_attr(s, a))
            continue;
        put_attr(b, SPAN_TAGS, a, scratch);
    }
    if (scope && scope->name.ptr && scope->name.len) {
        put_str_tag(b, SPAN_TAGS, LIT("otel.scope.name"), scope->name.ptr, scope->name.len);
        put_str_tag(b, SPAN_TAGS, LIT("otel.library.name"), scope->name.ptr, scope->name.len);
        if (scope->version.ptr && scope->version.len) {
            put_str_tag(b, SPAN_TAGS, LIT("otel.scope.version"), scope->version.ptr,
                        scope->version.len);
            put_str_tag(b, SPAN_TAGS, LIT("otel.library.version"), scope->version.ptr,
                        scope->version.len);
        }
    }
    const char *kind = ctr__jaeger_kind(s->kind);
    if (kind)
        put_str_tag(b, SPAN_TAGS, LIT("span.kind"), kind, strlen(kind));
    if (s->status == CTR_STATUS_OK) {
        put_str_tag(b, SPAN_TAGS, LIT("otel.status_code"), LIT("OK"));
    } else if (s->status == CTR_STATUS_ERROR) {
        put_str_tag(b, SPAN_TAGS, LIT("otel.status_code"), LIT("ERROR"));
        if (s->status_message.ptr && s->status_message.len)
            put_str_tag(b, SPAN_TAGS, LIT("otel.status_description"), s->status_message.ptr,
                        s->status_message.len);
        put_bool_tag(b, SPAN_TAGS, LIT("error"), true);
    }
    if (s->attrs.dropped)
        put_int_tag(b, SPAN_TAGS, LIT("otel.dropped_attributes_count"), s->attrs.dropped);
    if (s->events_dropped)
        put_int_tag(b, SPAN_TAGS, LIT("otel.dropped_events_count"), s->events_dropped);
    if (s->links_dropped)
        put_int_tag(b, SPAN_TAGS, LIT("otel.dropped_links_count"), s->links_dropped);

    for (uint32_t i = 0; i < s->events_len; i++) {
        const struct ctr_event *ev = &s->events[i];
        size_t lm = ctr__pb_begin(b, SPAN_LOGS);
        put_time(b, LOG_TIMESTAMP, ev->time_ns);
        if (!ctr_attr_list_get(&ev->attrs, "event", 5))
            put_str_tag(b, LOG_FIELDS, LIT("event"), ev->name.ptr, ev->name.ptr ? ev->name.len : 0);
        for (uint32_t j = 0; j < ev->attrs.len; j++)
            put_attr(b, LOG_FIELDS, &ev->attrs.items[j], scratch);
        ctr__pb_end(b, lm);
    }
    ctr__pb_end(b, m);
}

/* Appends the PostSpansRequest; see encode.h. */
int ctr_jaeger_proto_encode(const struct ctr_batch *batch, struct ctr_buf *out)
{
    if (!batch || batch->len == 0 || !batch->spans)
        return CTR_EINVAL;
    if (out->err)
        return out->err;
    struct ctr_buf scratch = {0};
    size_t req = ctr__pb_begin(out, REQ_BATCH);
    for (size_t i = 0; i < batch->len; i++)
        put_span(out, batch->spans[i], batch->scope, &scratch);

    size_t pm = ctr__pb_begin(out, BATCH_PROCESS);
    const struct ctr_attr *svc = NULL;
    if (batch->resource)
        svc = ctr_attr_list_get(&batch->resource->attrs, "service.name", 12);
    if (svc && svc->value.type == CTR_VALUE_STRING && svc->value.u.s.len)
        put_opt_bytes(out, PROCESS_SERVICE_NAME, svc->value.u.s.ptr, svc->value.u.s.len);
    else
        put_opt_bytes(out, PROCESS_SERVICE_NAME, LIT("unknown_service"));
    if (batch->resource) {
        const struct ctr_attr_list *ra = &batch->resource->attrs;
        for (uint32_t i = 0; i < ra->len; i++) {
            if (&ra->items[i] == svc)
                continue;
            put_attr(out, PROCESS_TAGS, &ra->items[i], &scratch);
        }
    }
    ctr__pb_end(out, pm);
    ctr__pb_end(out, req);
    ctr_buf_free(&scratch);
    return out->err ? out->err : 0;
}
