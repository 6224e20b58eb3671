/*
 * Zipkin v2 JSON encoder: a ListOfSpans as openzipkin/zipkin-api
 * zipkin2-api.yaml defines it, filled by the OpenTelemetry mapping
 * (opentelemetry-specification trace/sdk_exporters/zipkin.md and
 * common/mapping-to-non-otlp.md):
 *
 * - traceId (32 lower-case hex), parentId (absent for a root), id (16 hex);
 * - kind CLIENT, SERVER, PRODUCER or CONSUMER, absent for internal spans;
 * - timestamp and duration in whole microseconds (end and start truncated
 *   each, so children stay inside their parents), duration at least 1;
 * - localEndpoint.serviceName from the resource's service.name; for CLIENT
 *   and PRODUCER spans a remoteEndpoint from the first peer attribute of the
 *   specification's ranking (an IP literal goes to ipv4/ipv6, anything else
 *   to serviceName, with the matching port attribute when there is one);
 * - events become annotations whose value is the event name, or, when the
 *   event has attributes, the name as a JSON string, ':' and the attributes
 *   as a JSON object: "name":{"key":"value"};
 * - tags are strings: the span's attributes (booleans "true"/"false",
 *   numbers in decimal, bytes in base64, arrays as JSON text), then the
 *   resource's attributes but service.name (a span attribute of the same key
 *   wins; the Python SDK and the Collector's Zipkin exporter also carry the
 *   resource this way), the non-zero otel.dropped_*_count, otel.scope.name
 *   and otel.scope.version with their deprecated aliases otel.library.name
 *   and otel.library.version, otel.status_code "OK" or "ERROR" (absent when
 *   unset) and, for ERROR, "error" with the description. An attribute whose
 *   key the encoder writes itself is left out, as is an "error" attribute
 *   saying false on a span without ERROR status (Zipkin marks every span
 *   carrying an "error" tag as failed);
 * - a span without a start time (before 1970-01-01T00:00:00.001Z) has no
 *   timestamp and duration, as Zipkin wants for incomplete spans.
 *
 * Links have no Zipkin equivalent yet (the mapping says TBD) and are not
 * written; `debug` and `shared` are never set. Members that would be empty
 * are omitted.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "encode/json.h"

#define MAX_VALUE_DEPTH 8
/* Longest IP literal checked with inet_pton (an IPv6 text form fits). */
#define IP_TEXT_MAX 64

/* The encoder's state: the output and a scratch buffer for values that are
 * JSON text inside a JSON string (array tags, annotation values). */
struct zw {
    struct ctr_buf *b;
    struct ctr_buf scratch;
};

/* Tracks whether a comma is due before the next member of an object. */
struct obj {
    struct ctr_buf *b;
    bool any;
};

static void obj_open(struct obj *o, struct ctr_buf *b)
{
    o->b = b;
    o->any = false;
    ctr_buf_putc(b, '{');
}

static void obj_close(struct obj *o)
{
    ctr_buf_putc(o->b, '}');
}

/* Write `,"key":` (the comma only after the first member); `k` is a literal
 * quoted key with its colon. */
static void obj_key(struct obj *o, const char *k, size_t klen)
{
    if (o->any)
        ctr_buf_putc(o->b, ',');
    o->any = true;
    ctr_buf_append(o->b, k, klen);
}
#define KEY(o, name) obj_key((o), "\"" name "\":", sizeof("\"" name "\":") - 1)

/* Write `,"key":` for a key that is not a literal (escaped as needed). */
static void obj_dyn_key(struct obj *o, const char *k, size_t klen)
{
    if (o->any)
        ctr_buf_putc(o->b, ',');
    o->any = true;
    ctr_json_put_string(o->b, k, klen);
    ctr_buf_putc(o->b, ':');
}

static size_t str_len(const struct ctr_str *s)
{
    return s->ptr ? s->len : 0;
}

static bool str_is(const struct ctr_str *s, const char *lit)
{
    size_t n = strlen(lit);
    return str_len(s) == n && memcmp(s->ptr, lit, n) == 0;
}

/*
 * Append `v` as a typed JSON value: strings as strings, booleans and
 * integers bare, doubles bare (NaN and the infinities as the strings "NaN",
 * "Infinity", "-Infinity"), bytes as a base64 string, arrays as arrays, an
 * empty value as null.
 */
static void put_json_value(struct ctr_buf *b, const struct ctr_value *v, int depth)
{
    switch (v->type) {
    case CTR_VALUE_STRING:
        ctr_json_put_string(b, v->u.s.ptr, str_len(&v->u.s));
        return;
    case CTR_VALUE_BOOL:
        ctr__json_put_bool(b, v->u.b);
        return;
    case CTR_VALUE_INT:
        ctr__json_put_i64(b, v->u.i);
        return;
    case CTR_VALUE_DOUBLE:
        ctr__json_put_double(b, v->u.d);
        return;
    case CTR_VALUE_BYTES:
        ctr__json_put_base64(b, (const uint8_t *)v->u.s.ptr, str_len(&v->u.s));
        return;
    case CTR_VALUE_ARRAY:
        ctr_buf_putc(b, '[');
        if (depth < MAX_VALUE_DEPTH && v->u.array.items) {
            for (size_t i = 0; i < v->u.array.len; i++) {
                if (i)
                    ctr_buf_putc(b, ',');
                put_json_value(b, &v->u.array.items[i], depth + 1);
            }
        }
        ctr_buf_putc(b, ']');
        return;
    case CTR_VALUE_EMPTY:
    default:
        ctr_buf_append(b, "null", 4);
        return;
    }
}

/* Move an allocation failure of the scratch buffer to the output, where the
 * encoder reports it. */
static void scratch_check(struct zw *w)
{
    if (w->scratch.err && !w->b->err)
        w->b->err = w->scratch.err;
}

/* Append `v` as a Zipkin tag value: always a JSON string. */
static void put_tag_value(struct zw *w, const struct ctr_value *v)
{
    struct ctr_buf *b = w->b;
    char num[CTR__JSON_DOUBLE_MAX];
    switch (v->type) {
    case CTR_VALUE_STRING:
        ctr_json_put_string(b, v->u.s.ptr, str_len(&v->u.s));
        return;
    case CTR_VALUE_BOOL:
        ctr_buf_puts(b, v->u.b ? "\"true\"" : "\"false\"");
        return;
    case CTR_VALUE_INT:
        ctr__json_put_i64_str(b, v->u.i);
        return;
    case CTR_VALUE_DOUBLE: {
        size_t n = ctr__json_format_double(v->u.d, num);
        ctr_json_put_string(b, num, n);
        return;
    }
    case CTR_VALUE_BYTES:
        ctr__json_put_base64(b, (const uint8_t *)v->u.s.ptr, str_len(&v->u.s));
        return;
    case CTR_VALUE_ARRAY:
        ctr_buf_reset(&w->scratch);
        put_json_value(&w->scratch, v, 0);
        scratch_check(w);
        ctr_json_put_string(b, (const char *)w->scratch.data, w->scratch.len);
        return;
    case CTR_VALUE_EMPTY:
    default:
        ctr_buf_append(b, "\"\"", 2);
        return;
    }
}

/* Tags the encoder writes itself for one span; an attribute with one of
 * these keys is left out so that no key appears twice. */
struct own_tags {
    const char *keys[12];
    size_t n;
};

static bool own_tag(const struct own_tags *t, const struct ctr_str *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (str_is(key, t->keys[i]))
            return true;
    return false;
}

/* True for an "error" attribute that says the span did not fail: false, or
 * the string "false" in any case. */
static bool says_false(const struct ctr_value *v)
{
    if (v->type == CTR_VALUE_BOOL)
        return !v->u.b;
    return v->type == CTR_VALUE_STRING && str_len(&v->u.s) == 5 &&
           strncasecmp(v->u.s.ptr, "false", 5) == 0;
}

/* A tag with a literal key and a string value. */
static void put_str_tag(struct obj *o, const char *key, const char *val, size_t vlen)
{
    obj_dyn_key(o, key, strlen(key));
    ctr_json_put_string(o->b, val, vlen);
}

/* A tag with a literal key and a count as a decimal string. */
static void put_count_tag(struct obj *o, const char *key, uint64_t n)
{
    obj_dyn_key(o, key, strlen(key));
    ctr__json_put_u64_str(o->b, n);
}

/* True when attribute `a` of the span goes into its tags. */
static bool span_attr_tagged(const struct own_tags *own, const struct ctr_attr *a)
{
    return !own_tag(own, &a->key) && !(str_is(&a->key, "error") && says_false(&a->value));
}

/* True when resource attribute `a` goes into the tags of span `s`: not
 * service.name (that is the localEndpoint), not a key the span has. */
static bool resource_attr_tagged(const struct own_tags *own, const struct ctr_attr *a,
                                 const struct ctr_span *s)
{
    return span_attr_tagged(own, a) && !str_is(&a->key, "service.name") &&
           !ctr_attr_list_get(&s->attrs, a->key.ptr, str_len(&a->key));
}

/* Member "tags":{...} of a span, omitted when there would be none. */
static void put_tags(struct zw *w, struct obj *span, const struct ctr_span *s,
                     const struct ctr_resource *res, const struct ctr_scope *scope)
{
    struct own_tags own = {{0}, 0};
    if (s->attrs.dropped)
        own.keys[own.n++] = "otel.dropped_attributes_count";
    if (s->events_dropped)
        own.keys[own.n++] = "otel.dropped_events_count";
    if (s->links_dropped)
        own.keys[own.n++] = "otel.dropped_links_count";
    if (scope && str_len(&scope->name)) {
        own.keys[own.n++] = "otel.scope.name";
        own.keys[own.n++] = "otel.library.name";
    }
    if (scope && str_len(&scope->version)) {
        own.keys[own.n++] = "otel.scope.version";
        own.keys[own.n++] = "otel.library.version";
    }
    if (s->status == CTR_STATUS_OK || s->status == CTR_STATUS_ERROR)
        own.keys[own.n++] = "otel.status_code";
    if (s->status == CTR_STATUS_ERROR)
        own.keys[own.n++] = "error";

    const struct ctr_attr_list *ra = res ? &res->attrs : NULL;
    size_t n_attrs = 0;
    for (uint32_t i = 0; s->attrs.items && i < s->attrs.len; i++)
        n_attrs += span_attr_tagged(&own, &s->attrs.items[i]);
    for (uint32_t i = 0; ra && ra->items && i < ra->len; i++)
        n_attrs += resource_attr_tagged(&own, &ra->items[i], s);
    if (n_attrs == 0 && own.n == 0)
        return;

    struct obj t;
    KEY(span, "tags");
    obj_open(&t, w->b);
    for (uint32_t i = 0; s->attrs.items && i < s->attrs.len; i++) {
        const struct ctr_attr *a = &s->attrs.items[i];
        if (!span_attr_tagged(&own, a))
            continue;
        obj_dyn_key(&t, a->key.ptr, str_len(&a->key));
        put_tag_value(w, &a->value);
    }
    for (uint32_t i = 0; ra && ra->items && i < ra->len; i++) {
        const struct ctr_attr *a = &ra->items[i];
        if (!resource_attr_tagged(&own, a, s))
            continue;
        obj_dyn_key(&t, a->key.ptr, str_len(&a->key));
        put_tag_value(w, &a->value);
    }
    if (s->attrs.dropped)
        put_count_tag(&t, "otel.dropped_attributes_count", s->attrs.dropped);
    if (s->events_dropped)
        put_count_tag(&t, "otel.dropped_events_count", s->events_dropped);
    if (s->links_dropped)
        put_count_tag(&t, "otel.dropped_links_count", s->links_dropped);
    if (scope && str_len(&scope->name))
        put_str_tag(&t, "otel.scope.name", scope->name.ptr, scope->name.len);
    if (scope && str_len(&scope->version))
        put_str_tag(&t, "otel.scope.version", scope->version.ptr, scope->version.len);
    if (scope && str_len(&scope->name))
        put_str_tag(&t, "otel.library.name", scope->name.ptr, scope->name.len);
    if (scope && str_len(&scope->version))
        put_str_tag(&t, "otel.library.version", scope->version.ptr, scope->version.len);
    if (s->status == CTR_STATUS_OK)
        put_str_tag(&t, "otel.status_code", "OK", 2);
    if (s->status == CTR_STATUS_ERROR) {
        put_str_tag(&t, "otel.status_code", "ERROR", 5);
        put_str_tag(&t, "error", s->status_message.ptr, str_len(&s->status_message));
    }
    obj_close(&t);
}

/* Member "annotations":[...], omitted for a span without events. */
static void put_annotations(struct zw *w, struct obj *span, const struct ctr_span *s)
{
    if (!s->events || s->events_len == 0)
        return;
    KEY(span, "annotations");
    ctr_buf_putc(w->b, '[');
    for (uint32_t i = 0; i < s->events_len; i++) {
        const struct ctr_event *e = &s->events[i];
        struct obj a;
        if (i)
            ctr_buf_putc(w->b, ',');
        obj_open(&a, w->b);
        KEY(&a, "timestamp");
        ctr__json_put_u64(w->b, e->time_ns / 1000u);
        KEY(&a, "value");
        bool has_attrs = (e->attrs.items && e->attrs.len) || e->attrs.dropped;
        if (!has_attrs) {
            ctr_json_put_string(w->b, e->name.ptr, str_len(&e->name));
        } else {
            /* "name":{"k":v,...} built in the scratch buffer, then written
             * as one JSON string. */
            struct ctr_buf *sb = &w->scratch;
            struct obj attrs;
            ctr_buf_reset(sb);
            ctr_json_put_string(sb, e->name.ptr, str_len(&e->name));
            ctr_buf_putc(sb, ':');
            obj_open(&attrs, sb);
            for (uint32_t k = 0; e->attrs.items && k < e->attrs.len; k++) {
                const struct ctr_attr *at = &e->attrs.items[k];
                obj_dyn_key(&attrs, at->key.ptr, str_len(&at->key));
                put_json_value(sb, &at->value, 0);
            }
            if (e->attrs.dropped) {
                KEY(&attrs, "otel.dropped_attributes_count");
                ctr__json_put_u64(sb, e->attrs.dropped);
            }
            obj_close(&attrs);
            scratch_check(w);
            ctr_json_put_string(w->b, (const char *)sb->data, sb->len);
        }
        obj_close(&a);
    }
    ctr_buf_putc(w->b, ']');
}

/* The attributes that may name the remote side, best first, each with the
 * attribute holding its port (or NULL). */
static const struct {
    const char *key;
    const char *port_key;
} remote_keys[] = {
    {"peer.service", NULL},
    {"server.address", NULL},
    {"net.peer.name", NULL},
    {"network.peer.address", "network.peer.port"},
    {"server.socket.domain", NULL},
    {"server.socket.address", "server.socket.port"},
    {"net.sock.peer.name", NULL},
    {"net.sock.peer.addr", "net.sock.peer.port"},
    {"peer.hostname", NULL},
    {"peer.address", NULL},
    {"db.name", NULL},
};

/* A port from an integer attribute, or a string of digits; 0 when absent or
 * out of range. */
static int attr_port(const struct ctr_attr_list *l, const char *key)
{
    const struct ctr_attr *a = key ? ctr_attr_list_get(l, key, strlen(key)) : NULL;
    if (!a)
        return 0;
    int64_t p = -1;
    if (a->value.type == CTR_VALUE_INT) {
        p = a->value.u.i;
    } else if (a->value.type == CTR_VALUE_STRING && str_len(&a->value.u.s) &&
               str_len(&a->value.u.s) <= 5) {
        p = 0;
        for (size_t i = 0; i < a->value.u.s.len; i++) {
            char c = a->value.u.s.ptr[i];
            if (c < '0' || c > '9')
                return 0;
            p = p * 10 + (c - '0');
        }
    }
    return p >= 1 && p <= 65535 ? (int)p : 0;
}

/* Member "remoteEndpoint" for CLIENT and PRODUCER spans that carry a peer
 * attribute. */
static void put_remote_endpoint(struct zw *w, struct obj *span, const struct ctr_span *s)
{
    if (s->kind != CTR_KIND_CLIENT && s->kind != CTR_KIND_PRODUCER)
        return;
    for (size_t i = 0; i < sizeof remote_keys / sizeof remote_keys[0]; i++) {
        const char *k = remote_keys[i].key;
        const struct ctr_attr *a = ctr_attr_list_get(&s->attrs, k, strlen(k));
        if (!a || a->value.type != CTR_VALUE_STRING || str_len(&a->value.u.s) == 0)
            continue;
        const struct ctr_str *v = &a->value.u.s;
        const char *field = "serviceName";
        if (v->len < IP_TEXT_MAX) {
            char text[IP_TEXT_MAX];
            struct in6_addr addr;
            memcpy(text, v->ptr, v->len);
            text[v->len] = '\0';
            if (inet_pton(AF_INET, text, &addr) == 1)
                field = "ipv4";
            else if (inet_pton(AF_INET6, text, &addr) == 1)
                field = "ipv6";
        }
        struct obj ep;
        KEY(span, "remoteEndpoint");
        obj_open(&ep, w->b);
        obj_dyn_key(&ep, field, strlen(field));
        ctr_json_put_string(w->b, v->ptr, v->len);
        int port = attr_port(&s->attrs, remote_keys[i].port_key);
        if (port) {
            KEY(&ep, "port");
            ctr__json_put_u64(w->b, (uint64_t)port);
        }
        obj_close(&ep);
        return;
    }
}

/* The Zipkin name of a span kind; NULL for internal and unspecified. */
static const char *kind_name(ctr_span_kind k)
{
    switch (k) {
    case CTR_KIND_CLIENT:
        return "CLIENT";
    case CTR_KIND_SERVER:
        return "SERVER";
    case CTR_KIND_PRODUCER:
        return "PRODUCER";
    case CTR_KIND_CONSUMER:
        return "CONSUMER";
    default:
        return NULL;
    }
}

/* Append one Span object. `service` is the localEndpoint's serviceName. */
static void put_span(struct zw *w, const struct ctr_span *s, const struct ctr_str *service,
                     const struct ctr_batch *batch)
{
    struct ctr_buf *b = w->b;
    struct obj o;
    obj_open(&o, b);
    KEY(&o, "traceId");
    ctr__json_put_hex(b, s->ctx.trace_id, CTR_TRACE_ID_LEN);
    if (s->has_parent) {
        KEY(&o, "parentId");
        ctr__json_put_hex(b, s->parent_span_id, CTR_SPAN_ID_LEN);
    }
    KEY(&o, "id");
    ctr__json_put_hex(b, s->ctx.span_id, CTR_SPAN_ID_LEN);
    const char *kind = kind_name(s->kind);
    if (kind) {
        KEY(&o, "kind");
        ctr_buf_putc(b, '"');
        ctr_buf_puts(b, kind);
        ctr_buf_putc(b, '"');
    }
    if (str_len(&s->name)) {
        KEY(&o, "name");
        ctr_json_put_string(b, s->name.ptr, s->name.len);
    }
    if (s->start_ns >= 1000u) {
        /* Both ends truncated to microseconds, so a child's interval stays
         * inside its parent's as it is in nanoseconds. */
        uint64_t end_us = s->end_ns / 1000u, start_us = s->start_ns / 1000u;
        uint64_t dur_us = end_us > start_us ? end_us - start_us : 0;
        KEY(&o, "timestamp");
        ctr__json_put_u64(b, s->start_ns / 1000u);
        KEY(&o, "duration");
        ctr__json_put_u64(b, dur_us ? dur_us : 1);
    }
    if (str_len(service)) {
        struct obj ep;
        KEY(&o, "localEndpoint");
        obj_open(&ep, b);
        KEY(&ep, "serviceName");
        ctr_json_put_string(b, service->ptr, service->len);
        obj_close(&ep);
    }
    put_remote_endpoint(w, &o, s);
    put_annotations(w, &o, s);
    put_tags(w, &o, s, batch->resource, batch->scope);
    obj_close(&o);
}

/* The resource's service.name, or "unknown_service" (the SDK default) when
 * there is no resource or it has no string service.name. */
static struct ctr_str service_name(const struct ctr_resource *r)
{
    static const char fallback[] = "unknown_service";
    const struct ctr_attr *a = r ? ctr_attr_list_get(&r->attrs, "service.name", 12) : NULL;
    if (a && a->value.type == CTR_VALUE_STRING && str_len(&a->value.u.s))
        return a->value.u.s;
    return (struct ctr_str){fallback, sizeof fallback - 1};
}

/*
 * Encode the batch as one Zipkin v2 JSON array on a single line. Returns 0;
 * CTR_EINVAL for an empty batch or a NULL span; CTR_ENOMEM (out->len is
 * restored, out->err is set). The caller owns `out`.
 */
int ctr_zipkin_json_encode(const struct ctr_batch *batch, struct ctr_buf *out)
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
    struct zw w = {out, {0}};
    struct ctr_str service = service_name(batch->resource);
    ctr_buf_putc(out, '[');
    for (size_t i = 0; i < batch->len && !out->err; i++) {
        if (i)
            ctr_buf_putc(out, ',');
        put_span(&w, batch->spans[i], &service, batch);
    }
    ctr_buf_putc(out, ']');
    ctr_buf_free(&w.scratch);
    if (out->err) {
        out->len = start;
        return out->err;
    }
    return 0;
}
