/*
 * Jaeger thrift encoder: the agent's emitBatch message in the thrift compact
 * protocol (jaegertracing/jaeger-idl thrift/jaeger.thrift, thrift/agent.thrift),
 * with the OpenTelemetry → Jaeger mapping of opentelemetry-specification
 * specification/trace/sdk_exporters/jaeger.md:
 *
 *  - ids: big-endian bytes read as unsigned 64-bit numbers and reinterpreted
 *    as signed i64 (traceIdHigh = first 8 bytes, traceIdLow = last 8);
 *  - times in microseconds (truncated; the duration is end minus start, each
 *    truncated, so children and events stay inside); flags 1 when sampled;
 *  - the parent → parentSpanId and a first CHILD_OF reference; links →
 *    FOLLOWS_FROM references after it;
 *  - attributes → tags of the matching type, arrays → a STRING tag holding a
 *    JSON list, bytes → BINARY; then otel.scope.name / otel.scope.version,
 *    span.kind (not for INTERNAL), otel.status_code ("OK" / "ERROR"),
 *    otel.status_description and error=true (replacing an "error" attribute);
 *  - events → logs: an "event" field with the name (unless an attribute
 *    called "event" is there), the attributes, and
 *    otel.event.dropped_attributes_count when non-zero;
 *  - resource service.name → Process.serviceName, the other resource
 *    attributes → process tags.
 *
 * Required fields are always written; optional lists only when non-empty.
 */
#include "encode/jaeger_thrift.h"

#include <string.h>

#include "encode/json.h"
#include "encode/thrift.h"
#include "encode/jaeger_map.h"

/* Field ids (jaeger.thrift, agent.thrift). */
enum {
    ARGS_BATCH = 1,
    BATCH_PROCESS = 1,
    BATCH_SPANS = 2,
    BATCH_SEQNO = 3,
    PROCESS_SERVICE = 1,
    PROCESS_TAGS = 2,
    SPAN_TRACE_LOW = 1,
    SPAN_TRACE_HIGH = 2,
    SPAN_SPAN_ID = 3,
    SPAN_PARENT = 4,
    SPAN_NAME = 5,
    SPAN_REFS = 6,
    SPAN_FLAGS = 7,
    SPAN_START = 8,
    SPAN_DURATION = 9,
    SPAN_TAGS = 10,
    SPAN_LOGS = 11,
    TAG_KEY = 1,
    TAG_VTYPE = 2,
    TAG_VSTR = 3,
    TAG_VDOUBLE = 4,
    TAG_VBOOL = 5,
    TAG_VLONG = 6,
    TAG_VBINARY = 7,
    LOG_TIMESTAMP = 1,
    LOG_FIELDS = 2,
    REF_TYPE = 1,
    REF_TRACE_LOW = 2,
    REF_TRACE_HIGH = 3,
    REF_SPAN_ID = 4,
};

/* TagType and SpanRefType enum values. */
enum { VT_STRING = 0, VT_DOUBLE = 1, VT_BOOL = 2, VT_LONG = 3, VT_BINARY = 4 };
enum { REF_CHILD_OF = 0, REF_FOLLOWS_FROM = 1 };

#define METHOD "emitBatch"
#define METHOD_LEN (sizeof METHOD - 1)
#define UNKNOWN_SERVICE "unknown_service"

/* See jaeger_thrift.h. */
void ctr__jaeger_cut_none(struct ctr__jaeger_cut *c)
{
    c->drop_logs = false;
    c->max_value = SIZE_MAX;
    c->max_attrs = UINT32_MAX;
    c->mark = false;
}

/* Length of a string, 0 when it has no storage. */
static size_t str_len(const struct ctr_str *s)
{
    return s->ptr ? s->len : 0;
}

/* `n` bytes of `p`, shortened to at most `cap` bytes without splitting a
 * UTF-8 sequence (text) or at exactly `cap` bytes (binary). */
static size_t cut_len(const char *p, size_t n, size_t cap, bool text)
{
    if (n <= cap)
        return n;
    size_t m = cap;
    if (text) {
        while (m > 0 && ((unsigned char)p[m] & 0xc0) == 0x80)
            m--;
    }
    return m;
}

/* 8 big-endian bytes as an unsigned number reinterpreted as signed (two's
 * complement, without relying on implementation-defined conversions). */
static int64_t be_i64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v <= (uint64_t)INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
}

/* Nanoseconds to microseconds as an i64. */
static int64_t ns_to_us(uint64_t ns)
{
    return (int64_t)(ns / 1000u);
}

/* ---- tags ---------------------------------------------------------------- */

/* Tag header: open the struct, write the key and the value type. */
static void tag_begin(struct ctr__thrift_writer *w, const char *key, size_t klen, int vtype)
{
    ctr__thrift_struct_begin(w);
    ctr__thrift_field_binary(w, TAG_KEY, key, klen);
    ctr__thrift_field_i32(w, TAG_VTYPE, vtype);
}

/* A STRING tag. */
static void tag_str(struct ctr__thrift_writer *w, const char *key, size_t klen, const char *v,
                    size_t vlen)
{
    tag_begin(w, key, klen, VT_STRING);
    ctr__thrift_field_binary(w, TAG_VSTR, v, vlen);
    ctr__thrift_struct_end(w);
}

/* A BOOL tag (the value in vBool's field header). */
static void tag_bool(struct ctr__thrift_writer *w, const char *key, size_t klen, bool v)
{
    tag_begin(w, key, klen, VT_BOOL);
    ctr__thrift_field_bool(w, TAG_VBOOL, v);
    ctr__thrift_struct_end(w);
}

/* A LONG tag. */
static void tag_long(struct ctr__thrift_writer *w, const char *key, size_t klen, int64_t v)
{
    tag_begin(w, key, klen, VT_LONG);
    ctr__thrift_field_i64(w, TAG_VLONG, v);
    ctr__thrift_struct_end(w);
}

#define TAG_LIT(w, lit, fn, v) fn((w), (lit), sizeof(lit) - 1, (v))

/* Append one array item to the JSON list in `j`. */
static void json_item(struct ctr_buf *j, const struct ctr_value *v)
{
    switch (v->type) {
    case CTR_VALUE_STRING:
        ctr_json_put_string(j, v->u.s.ptr ? v->u.s.ptr : "", str_len(&v->u.s));
        break;
    case CTR_VALUE_BOOL:
        ctr__json_put_bool(j, v->u.b);
        break;
    case CTR_VALUE_INT:
        ctr__json_put_i64(j, v->u.i);
        break;
    case CTR_VALUE_DOUBLE:
        ctr__json_put_double(j, v->u.d);
        break;
    case CTR_VALUE_BYTES:
        ctr__json_put_base64(j, (const uint8_t *)v->u.s.ptr, str_len(&v->u.s));
        break;
    case CTR_VALUE_EMPTY:
    case CTR_VALUE_ARRAY: /* never nested in the span model */
    default:
        ctr__json_put_raw(j, "null", 4);
        break;
    }
}

/* One tag for an attribute, values capped at `cap` bytes. `scratch` holds the
 * JSON text of an array value. */
static void tag_attr(struct ctr__thrift_writer *w, struct ctr_buf *scratch,
                     const struct ctr_attr *a, size_t cap)
{
    const char *key = a->key.ptr ? a->key.ptr : "";
    size_t klen = str_len(&a->key);
    const struct ctr_value *v = &a->value;
    switch (v->type) {
    case CTR_VALUE_STRING: {
        const char *s = v->u.s.ptr ? v->u.s.ptr : "";
        tag_str(w, key, klen, s, cut_len(s, str_len(&v->u.s), cap, true));
        break;
    }
    case CTR_VALUE_BOOL:
        tag_bool(w, key, klen, v->u.b);
        break;
    case CTR_VALUE_INT:
        tag_long(w, key, klen, v->u.i);
        break;
    case CTR_VALUE_DOUBLE:
        tag_begin(w, key, klen, VT_DOUBLE);
        ctr__thrift_field_double(w, TAG_VDOUBLE, v->u.d);
        ctr__thrift_struct_end(w);
        break;
    case CTR_VALUE_BYTES: {
        const char *s = v->u.s.ptr ? v->u.s.ptr : "";
        tag_begin(w, key, klen, VT_BINARY);
        ctr__thrift_field_binary(w, TAG_VBINARY, s, cut_len(s, str_len(&v->u.s), cap, false));
        ctr__thrift_struct_end(w);
        break;
    }
    case CTR_VALUE_ARRAY: {
        ctr_buf_reset(scratch);
        ctr_buf_putc(scratch, '[');
        for (size_t i = 0; v->u.array.items && i < v->u.array.len; i++) {
            if (i)
                ctr_buf_putc(scratch, ',');
            json_item(scratch, &v->u.array.items[i]);
        }
        ctr_buf_putc(scratch, ']');
        if (scratch->err) {
            w->b->err = scratch->err;
            return;
        }
        const char *s = (const char *)scratch->data;
        tag_str(w, key, klen, s, cut_len(s, scratch->len, cap, true));
        break;
    }
    case CTR_VALUE_EMPTY:
    default:
        tag_str(w, key, klen, "", 0);
        break;
    }
}

/* ---- span ---------------------------------------------------------------- */

/* Number of attributes of `l` the cut keeps. */
static uint32_t kept_attrs(const struct ctr_attr_list *l, const struct ctr__jaeger_cut *cut)
{
    uint32_t n = l->items ? l->len : 0;
    return n < cut->max_attrs ? n : cut->max_attrs;
}

/* Write the span's tags list (attributes, then the mapped fields). */
static void span_tags(struct ctr__thrift_writer *w, struct ctr_buf *scratch,
                      const struct ctr_span *s, const struct ctr_scope *scope,
                      const struct ctr__jaeger_cut *cut)
{
    uint32_t n_attrs = kept_attrs(&s->attrs, cut);
    uint32_t all_attrs = s->attrs.items ? s->attrs.len : 0;
    uint32_t skipped = 0;
    for (uint32_t i = 0; i < n_attrs; i++)
        skipped += ctr__jaeger_replaced_error_attr(s, &s->attrs.items[i]);
    const char *kind = ctr__jaeger_kind(s->kind);
    size_t desc_len = str_len(&s->status_message);
    bool error = s->status == CTR_STATUS_ERROR;
    size_t scope_name_len = scope ? str_len(&scope->name) : 0;
    size_t scope_version_len = scope ? str_len(&scope->version) : 0;
    uint32_t dropped_logs = cut->drop_logs && s->events ? s->events_len : 0;
    uint32_t dropped_tags = all_attrs - n_attrs;

    uint32_t n = n_attrs - skipped + (scope_name_len > 0) + (scope_version_len > 0) +
                 (kind != NULL) + (s->status != CTR_STATUS_UNSET) + (error && desc_len > 0) +
                 error + (cut->mark ? 1u + (dropped_logs > 0) + (dropped_tags > 0) : 0u);
    if (n == 0)
        return;
    ctr__thrift_field_list(w, SPAN_TAGS, CTR__THRIFT_STRUCT, n);
    for (uint32_t i = 0; i < n_attrs; i++) {
        if (!ctr__jaeger_replaced_error_attr(s, &s->attrs.items[i]))
            tag_attr(w, scratch, &s->attrs.items[i], cut->max_value);
    }
    if (scope_name_len)
        tag_str(w, "otel.scope.name", 15, scope->name.ptr,
                cut_len(scope->name.ptr, scope_name_len, cut->max_value, true));
    if (scope_version_len)
        tag_str(w, "otel.scope.version", 18, scope->version.ptr,
                cut_len(scope->version.ptr, scope_version_len, cut->max_value, true));
    if (kind)
        tag_str(w, "span.kind", 9, kind, strlen(kind));
    if (s->status == CTR_STATUS_OK)
        tag_str(w, "otel.status_code", 16, "OK", 2);
    else if (error)
        tag_str(w, "otel.status_code", 16, "ERROR", 5);
    if (error && desc_len)
        tag_str(w, "otel.status_description", 23, s->status_message.ptr,
                cut_len(s->status_message.ptr, desc_len, cut->max_value, true));
    if (error)
        TAG_LIT(w, "error", tag_bool, true);
    if (cut->mark) {
        TAG_LIT(w, CTR__JAEGER_TAG_TRUNCATED, tag_bool, true);
        if (dropped_logs)
            TAG_LIT(w, CTR__JAEGER_TAG_DROPPED_LOGS, tag_long, (int64_t)dropped_logs);
        if (dropped_tags)
            TAG_LIT(w, CTR__JAEGER_TAG_DROPPED_TAGS, tag_long, (int64_t)dropped_tags);
    }
}

/* Write one reference struct. */
static void span_ref(struct ctr__thrift_writer *w, int type, const uint8_t *trace_id,
                     const uint8_t *span_id)
{
    ctr__thrift_struct_begin(w);
    ctr__thrift_field_i32(w, REF_TYPE, type);
    ctr__thrift_field_i64(w, REF_TRACE_LOW, be_i64(trace_id + 8));
    ctr__thrift_field_i64(w, REF_TRACE_HIGH, be_i64(trace_id));
    ctr__thrift_field_i64(w, REF_SPAN_ID, be_i64(span_id));
    ctr__thrift_struct_end(w);
}

/* Write one event as a Log struct. */
static void span_log(struct ctr__thrift_writer *w, struct ctr_buf *scratch,
                     const struct ctr_event *e, const struct ctr__jaeger_cut *cut)
{
    uint32_t n_attrs = kept_attrs(&e->attrs, cut);
    bool own_event = ctr_attr_list_get(&e->attrs, "event", 5) != NULL;
    uint32_t n = n_attrs + !own_event + (e->attrs.dropped > 0);
    ctr__thrift_struct_begin(w);
    ctr__thrift_field_i64(w, LOG_TIMESTAMP, ns_to_us(e->time_ns));
    ctr__thrift_field_list(w, LOG_FIELDS, CTR__THRIFT_STRUCT, n);
    if (!own_event) {
        const char *name = e->name.ptr ? e->name.ptr : "";
        tag_str(w, "event", 5, name, cut_len(name, str_len(&e->name), cut->max_value, true));
    }
    for (uint32_t i = 0; i < n_attrs; i++)
        tag_attr(w, scratch, &e->attrs.items[i], cut->max_value);
    if (e->attrs.dropped)
        TAG_LIT(w, "otel.event.dropped_attributes_count", tag_long, (int64_t)e->attrs.dropped);
    ctr__thrift_struct_end(w);
}

/* Append a Span struct; see jaeger_thrift.h. Returns 0 or CTR_ENOMEM. */
int ctr__jaeger_put_span(struct ctr_buf *b, struct ctr_buf *scratch, const struct ctr_span *s,
                         const struct ctr_scope *scope, const struct ctr__jaeger_cut *cut)
{
    struct ctr__thrift_writer w;
    ctr__thrift_writer_init(&w, b);
    const uint8_t *tid = s->ctx.trace_id;
    ctr__thrift_struct_begin(&w);
    ctr__thrift_field_i64(&w, SPAN_TRACE_LOW, be_i64(tid + 8));
    ctr__thrift_field_i64(&w, SPAN_TRACE_HIGH, be_i64(tid));
    ctr__thrift_field_i64(&w, SPAN_SPAN_ID, be_i64(s->ctx.span_id));
    ctr__thrift_field_i64(&w, SPAN_PARENT, s->has_parent ? be_i64(s->parent_span_id) : 0);
    size_t name_cap = cut->max_value > CTR__JAEGER_NAME_MIN ? cut->max_value : CTR__JAEGER_NAME_MIN;
    const char *name = s->name.ptr ? s->name.ptr : "";
    ctr__thrift_field_binary(&w, SPAN_NAME, name, cut_len(name, str_len(&s->name), name_cap, true));

    uint32_t n_links = s->links ? s->links_len : 0;
    uint32_t n_refs = (s->has_parent ? 1u : 0u) + n_links;
    if (n_refs) {
        ctr__thrift_field_list(&w, SPAN_REFS, CTR__THRIFT_STRUCT, n_refs);
        if (s->has_parent)
            span_ref(&w, REF_CHILD_OF, tid, s->parent_span_id);
        for (uint32_t i = 0; i < n_links; i++)
            span_ref(&w, REF_FOLLOWS_FROM, s->links[i].ctx.trace_id, s->links[i].ctx.span_id);
    }
    ctr__thrift_field_i32(&w, SPAN_FLAGS, (s->ctx.trace_flags & CTR_TRACE_FLAG_SAMPLED) ? 1 : 0);
    ctr__thrift_field_i64(&w, SPAN_START, ns_to_us(s->start_ns));
    /* Both ends truncated, so children and events stay inside the span as
     * they are in nanoseconds (a truncated duration could end it 1 µs early). */
    ctr__thrift_field_i64(&w, SPAN_DURATION,
                          s->end_ns > s->start_ns ? ns_to_us(s->end_ns) - ns_to_us(s->start_ns)
                                                  : 0);
    span_tags(&w, scratch, s, scope, cut);

    uint32_t n_logs = s->events && !cut->drop_logs ? s->events_len : 0;
    if (n_logs) {
        ctr__thrift_field_list(&w, SPAN_LOGS, CTR__THRIFT_STRUCT, n_logs);
        for (uint32_t i = 0; i < n_logs; i++)
            span_log(&w, scratch, &s->events[i], cut);
    }
    ctr__thrift_struct_end(&w);
    return ctr__thrift_writer_error(&w);
}

/* ---- process ------------------------------------------------------------- */

/* True for the resource attribute that becomes the service name. */
static bool is_service_name(const struct ctr_attr *a)
{
    return str_len(&a->key) == 12 && memcmp(a->key.ptr, "service.name", 12) == 0;
}

/* Append a Process struct; see jaeger_thrift.h. Returns 0 or CTR_ENOMEM. */
int ctr__jaeger_put_process(struct ctr_buf *b, struct ctr_buf *scratch,
                            const struct ctr_resource *r, const struct ctr__jaeger_cut *cut)
{
    const char *service = UNKNOWN_SERVICE;
    size_t service_len = sizeof UNKNOWN_SERVICE - 1;
    uint32_t all = r && r->attrs.items ? r->attrs.len : 0;
    uint32_t kept = r ? kept_attrs(&r->attrs, cut) : 0;
    uint32_t n_tags = 0;
    for (uint32_t i = 0; i < all; i++) {
        const struct ctr_attr *a = &r->attrs.items[i];
        if (is_service_name(a)) {
            if (a->value.type == CTR_VALUE_STRING && str_len(&a->value.u.s)) {
                service = a->value.u.s.ptr;
                service_len = a->value.u.s.len;
            }
        } else if (i < kept) {
            n_tags++;
        }
    }
    uint32_t dropped = 0;
    for (uint32_t i = kept; i < all; i++)
        dropped += !is_service_name(&r->attrs.items[i]);
    if (cut->mark)
        n_tags += 1u + (dropped > 0);

    struct ctr__thrift_writer w;
    ctr__thrift_writer_init(&w, b);
    ctr__thrift_struct_begin(&w);
    size_t name_cap = cut->max_value > CTR__JAEGER_NAME_MIN ? cut->max_value : CTR__JAEGER_NAME_MIN;
    ctr__thrift_field_binary(&w, PROCESS_SERVICE, service,
                             cut_len(service, service_len, name_cap, true));
    if (n_tags) {
        ctr__thrift_field_list(&w, PROCESS_TAGS, CTR__THRIFT_STRUCT, n_tags);
        for (uint32_t i = 0; i < kept; i++) {
            if (!is_service_name(&r->attrs.items[i]))
                tag_attr(&w, scratch, &r->attrs.items[i], cut->max_value);
        }
        if (cut->mark) {
            TAG_LIT(&w, CTR__JAEGER_TAG_TRUNCATED, tag_bool, true);
            if (dropped)
                TAG_LIT(&w, CTR__JAEGER_TAG_DROPPED_TAGS, tag_long, (int64_t)dropped);
        }
    }
    ctr__thrift_struct_end(&w);
    return ctr__thrift_writer_error(&w);
}

/* ---- bounds for the cut ---------------------------------------------------- */

/* Bytes a value could take in a tag (JSON arrays estimated from above: every
 * byte of a string item may become a 6-byte escape). */
static size_t value_bound(const struct ctr_value *v)
{
    switch (v->type) {
    case CTR_VALUE_STRING:
    case CTR_VALUE_BYTES:
        return str_len(&v->u.s) * 2 + 4;
    case CTR_VALUE_ARRAY: {
        size_t n = 2;
        for (size_t i = 0; v->u.array.items && i < v->u.array.len; i++) {
            const struct ctr_value *it = &v->u.array.items[i];
            n += 1 + ((it->type == CTR_VALUE_STRING || it->type == CTR_VALUE_BYTES)
                          ? str_len(&it->u.s) * 6 + 4
                          : 32);
        }
        return n;
    }
    default:
        return 0;
    }
}

/* Longest value bound in an attribute list. */
static size_t attrs_longest(const struct ctr_attr_list *l)
{
    size_t m = 0;
    for (uint32_t i = 0; l->items && i < l->len; i++) {
        size_t n = value_bound(&l->items[i].value);
        if (n > m)
            m = n;
    }
    return m;
}

/* Upper bound of what a value cap can shorten in a span. */
size_t ctr__jaeger_span_longest_value(const struct ctr_span *s)
{
    size_t m = attrs_longest(&s->attrs);
    if (str_len(&s->name) > m)
        m = str_len(&s->name);
    if (str_len(&s->status_message) > m)
        m = str_len(&s->status_message);
    for (uint32_t i = 0; s->events && i < s->events_len; i++) {
        size_t n = attrs_longest(&s->events[i].attrs);
        if (n > m)
            m = n;
        if (str_len(&s->events[i].name) > m)
            m = str_len(&s->events[i].name);
    }
    return m;
}

/* Upper bound of what a value cap can shorten in a resource. */
size_t ctr__jaeger_process_longest_value(const struct ctr_resource *r)
{
    return r ? attrs_longest(&r->attrs) : 0;
}

/* ---- message framing ------------------------------------------------------- */

/* Message header, arguments and Batch up to the spans list header. */
void ctr__jaeger_put_head(struct ctr_buf *b, int32_t seq, const uint8_t *process, size_t plen,
                          uint32_t n_spans)
{
    ctr__thrift_put_message_begin(b, METHOD, METHOD_LEN, CTR__THRIFT_ONEWAY, seq);
    /* emitBatch_args.batch, then Batch.process: both struct fields, id 1. */
    ctr__thrift_put_field_header(b, 0, ARGS_BATCH, CTR__THRIFT_STRUCT);
    ctr__thrift_put_field_header(b, 0, BATCH_PROCESS, CTR__THRIFT_STRUCT);
    ctr_buf_append(b, process, plen);
    ctr__thrift_put_field_header(b, BATCH_PROCESS, BATCH_SPANS, CTR__THRIFT_LIST);
    ctr__thrift_put_list_header(b, CTR__THRIFT_STRUCT, n_spans);
}

/* Bytes ctr__jaeger_put_head() appends. */
size_t ctr__jaeger_head_size(int32_t seq, size_t plen, uint32_t n_spans)
{
    return 2 + ctr__thrift_varint_size((uint32_t)seq) + ctr__thrift_varint_size(METHOD_LEN) +
           METHOD_LEN + 2 + plen + 1 + ctr__thrift_list_header_size(n_spans);
}

/* Batch.seqNo and the two stop bytes. */
void ctr__jaeger_put_tail(struct ctr_buf *b, int32_t seq)
{
    ctr__thrift_put_field_header(b, BATCH_SPANS, BATCH_SEQNO, CTR__THRIFT_I64);
    ctr__thrift_put_i64(b, seq);
    ctr_buf_putc(b, CTR__THRIFT_STOP); /* Batch */
    ctr_buf_putc(b, CTR__THRIFT_STOP); /* emitBatch_args */
}

/* Bytes ctr__jaeger_put_tail() appends. */
size_t ctr__jaeger_tail_size(int32_t seq)
{
    return 1 + ctr__thrift_varint_size(ctr__thrift_zigzag64(seq)) + 2;
}

/* ---- the public encoder ---------------------------------------------------- */

/*
 * The public encoder (encode.h): one whole emitBatch message for every span of
 * the batch, without splitting or cutting. Returns 0, CTR_EINVAL (no spans)
 * or CTR_ENOMEM; `out` is appended to and owned by the caller.
 */
int ctr_jaeger_thrift_encode(const struct ctr_batch *batch, int32_t seq_id, struct ctr_buf *out)
{
    if (!batch || !batch->spans || batch->len == 0 || batch->len > INT32_MAX || !out)
        return CTR_EINVAL;
    struct ctr__jaeger_cut none;
    ctr__jaeger_cut_none(&none);
    struct ctr_buf process = {0}, scratch = {0};
    int rc = ctr__jaeger_put_process(&process, &scratch, batch->resource, &none);
    if (rc == 0) {
        ctr__jaeger_put_head(out, seq_id, process.data, process.len, (uint32_t)batch->len);
        for (size_t i = 0; i < batch->len && rc == 0; i++)
            rc = ctr__jaeger_put_span(out, &scratch, batch->spans[i], batch->scope, &none);
        ctr__jaeger_put_tail(out, seq_id);
    }
    if (rc == 0 && (out->err || scratch.err))
        rc = out->err ? out->err : scratch.err;
    ctr_buf_free(&process);
    ctr_buf_free(&scratch);
    return rc;
}
