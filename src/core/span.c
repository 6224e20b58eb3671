/*
 * The span model: arena, attribute lists with limits, span setters, end and
 * free. A span lives in the first block of its own arena, so a typical span
 * costs one allocation and one free.
 */
#include <chaostracing/span.h>
#include <chaostracing/redact.h>
#include <chaostracing/tracer.h>

#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

void ctr_limits_default(struct ctr_limits *l)
{
    l->attr_count = 128;
    l->attr_value_len = UINT32_MAX;
    l->event_count = 128;
    l->link_count = 128;
    l->event_attr_count = 128;
    l->link_attr_count = 128;
}

bool ctr_span_context_is_valid(const struct ctr_span_context *ctx)
{
    uint8_t t = 0, s = 0;
    for (int i = 0; i < CTR_TRACE_ID_LEN; i++)
        t |= ctx->trace_id[i];
    for (int i = 0; i < CTR_SPAN_ID_LEN; i++)
        s |= ctx->span_id[i];
    return t && s;
}

static int copy_plain(struct ctr_arena *a, const char *s, size_t len, uint32_t max_chars,
                      struct ctr_str *out);

/*
 * Copy a string into the arena, with what `r` (may be NULL) redacts replaced,
 * truncated to `max_chars` characters, with invalid UTF-8 bytes replaced by
 * U+FFFD. Returns 0 or CTR_ENOMEM.
 */
static int copy_text(struct ctr_arena *a, const char *s, size_t len, uint32_t max_chars,
                     struct ctr_str *out, const struct ctr_redactor *r)
{
    if (!r)
        return copy_plain(a, s, len, max_chars, out);
    struct ctr_buf red = {0};
    int rc;
    if (ctr_redact(r, s, len, &red))
        rc = red.err ? CTR_ENOMEM : copy_plain(a, (const char *)red.data, red.len, max_chars, out);
    else
        rc = copy_plain(a, s, len, max_chars, out);
    ctr_buf_free(&red);
    return rc;
}

/* copy_text() without redaction. */
static int copy_plain(struct ctr_arena *a, const char *s, size_t len, uint32_t max_chars,
                      struct ctr_str *out)
{
    bool valid;
    size_t keep = ctr__utf8_valid_prefix(s, len, max_chars, &valid);
    if (valid) {
        char *p = ctr_arena_strndup(a, s, keep);
        if (!p)
            return CTR_ENOMEM;
        out->ptr = p;
        out->len = keep;
        return 0;
    }
    /* Worst case every byte becomes three. */
    char *p = ctr_arena_alloc(a, keep * 3 + 1);
    if (!p)
        return CTR_ENOMEM;
    size_t i = 0, o = 0;
    while (i < keep) {
        size_t k = ctr__utf8_decode(s + i, keep - i, NULL);
        if (k) {
            memcpy(p + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(p + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    p[o] = '\0';
    out->ptr = p;
    out->len = o;
    return 0;
}

/* Deep-copy a primitive value (not an array). */
static int copy_scalar(struct ctr_arena *a, const struct ctr_value *in, struct ctr_value *out,
                       uint32_t max_len, const struct ctr_redactor *r)
{
    out->type = in->type;
    switch (in->type) {
    case CTR_VALUE_STRING:
        return copy_text(a, in->u.s.ptr ? in->u.s.ptr : "", in->u.s.ptr ? in->u.s.len : 0, max_len,
                         &out->u.s, r);
    case CTR_VALUE_BYTES: {
        char *p =
            ctr_arena_strndup(a, in->u.s.ptr ? in->u.s.ptr : "", in->u.s.ptr ? in->u.s.len : 0);
        if (!p)
            return CTR_ENOMEM;
        out->u.s.ptr = p;
        out->u.s.len = in->u.s.ptr ? in->u.s.len : 0;
        return 0;
    }
    case CTR_VALUE_BOOL:
        out->u.b = in->u.b;
        return 0;
    case CTR_VALUE_INT:
        out->u.i = in->u.i;
        return 0;
    case CTR_VALUE_DOUBLE:
        out->u.d = in->u.d;
        return 0;
    default:
        return CTR_EINVAL;
    }
}

static int copy_value(struct ctr_arena *a, const struct ctr_value *in, struct ctr_value *out,
                      uint32_t max_len, const struct ctr_redactor *r)
{
    if (in->type != CTR_VALUE_ARRAY)
        return copy_scalar(a, in, out, max_len, r);
    size_t n = in->u.array.len;
    if (n > SIZE_MAX / sizeof(struct ctr_value))
        return CTR_ENOMEM;
    struct ctr_value *items = n ? ctr_arena_alloc(a, n * sizeof *items) : NULL;
    if (n && !items)
        return CTR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct ctr_value *it = &in->u.array.items[i];
        if (it->type == CTR_VALUE_ARRAY || it->type == CTR_VALUE_EMPTY)
            return CTR_EINVAL;
        int rc = copy_scalar(a, it, &items[i], max_len, r);
        if (rc)
            return rc;
    }
    out->type = CTR_VALUE_ARRAY;
    out->u.array.items = items;
    out->u.array.len = n;
    return 0;
}

const struct ctr_attr *ctr_attr_list_get(const struct ctr_attr_list *list, const char *key,
                                         size_t klen)
{
    for (uint32_t i = 0; i < list->len; i++) {
        const struct ctr_attr *at = &list->items[i];
        if (at->key.len == klen && memcmp(at->key.ptr, key, klen) == 0)
            return at;
    }
    return NULL;
}

/* ctr_attr_list_set() with the values redacted by `r` (may be NULL). */
static int attr_set(struct ctr_attr_list *list, struct ctr_arena *arena,
                    const struct ctr_attr *attr, uint32_t max_count, uint32_t max_value_len,
                    const struct ctr_redactor *r)
{
    if (!attr->key.ptr || attr->key.len == 0 || attr->value.type == CTR_VALUE_EMPTY ||
        attr->value.type > CTR_VALUE_ARRAY) {
        list->dropped++;
        return CTR_EINVAL;
    }
    struct ctr_attr *slot =
        (struct ctr_attr *)ctr_attr_list_get(list, attr->key.ptr, attr->key.len);
    if (!slot) {
        if (list->len >= max_count) {
            list->dropped++;
            return 0;
        }
        if (list->len == list->cap) {
            uint32_t cap = list->cap ? list->cap * 2 : 16;
            struct ctr_attr *items = ctr_arena_alloc(arena, (size_t)cap * sizeof *items);
            if (!items)
                return CTR_ENOMEM;
            if (list->len)
                memcpy(items, list->items, (size_t)list->len * sizeof *items);
            list->items = items;
            list->cap = cap;
        }
        struct ctr_attr tmp;
        int rc = copy_text(arena, attr->key.ptr, attr->key.len, UINT32_MAX, &tmp.key, NULL);
        if (rc)
            return rc;
        rc = copy_value(arena, &attr->value, &tmp.value, max_value_len, r);
        if (rc) {
            list->dropped++;
            return rc;
        }
        list->items[list->len++] = tmp;
        return 0;
    }
    struct ctr_value v;
    int rc = copy_value(arena, &attr->value, &v, max_value_len, r);
    if (rc)
        return rc;
    slot->value = v;
    return 0;
}

int ctr_attr_list_set(struct ctr_attr_list *list, struct ctr_arena *arena,
                      const struct ctr_attr *attr, uint32_t max_count, uint32_t max_value_len)
{
    return attr_set(list, arena, attr, max_count, max_value_len, NULL);
}

int ctr_attr_builder_set(struct ctr_attr_builder *b, const struct ctr_attr *attr)
{
    return ctr_attr_list_set(&b->list, &b->arena, attr, UINT32_MAX, UINT32_MAX);
}

const struct ctr_attr *ctr_attr_builder_items(const struct ctr_attr_builder *b, size_t *n)
{
    *n = b->list.len;
    return b->list.items;
}

void ctr_attr_builder_free(struct ctr_attr_builder *b)
{
    ctr_arena_free(&b->arena);
    memset(&b->list, 0, sizeof b->list);
}

/* The redactor of the span's tracer, or NULL. */
static const struct ctr_redactor *span_redactor(const struct ctr_span *s)
{
    return s->tracer ? s->tracer->redactor : NULL;
}

/* The limits that apply to a span: its tracer's, else the defaults. */
static const struct ctr_limits *span_limits(const struct ctr_span *s)
{
    static const struct ctr_limits defaults = {128, UINT32_MAX, 128, 128, 128, 128};
    return s->tracer ? &s->tracer->limits : &defaults;
}

static bool writable(const struct ctr_span *s)
{
    return s && s->recording && !s->ended;
}

const char *ctr_span_kind_name(ctr_span_kind k)
{
    static const char *const names[] = {"unspecified", "internal", "server",
                                        "client",      "producer", "consumer"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : names[0];
}

uint32_t ctr_span_otlp_flags(const struct ctr_span *s)
{
    uint32_t f = s->ctx.trace_flags | CTR_SPAN_FLAG_HAS_IS_REMOTE;
    if (s->has_parent && s->parent_is_remote)
        f |= CTR_SPAN_FLAG_IS_REMOTE;
    return f;
}

int ctr_span_set_attr(struct ctr_span *s, const struct ctr_attr *attr)
{
    if (!writable(s))
        return 0;
    const struct ctr_limits *l = span_limits(s);
    return attr_set(&s->attrs, &s->arena, attr, l->attr_count, l->attr_value_len, span_redactor(s));
}

int ctr_span_set_str(struct ctr_span *s, const char *key, const char *val, size_t vlen)
{
    struct ctr_attr a = {{key, strlen(key)}, {.type = CTR_VALUE_STRING, .u.s = {val, vlen}}};
    return ctr_span_set_attr(s, &a);
}

int ctr_span_set_int(struct ctr_span *s, const char *key, int64_t v)
{
    struct ctr_attr a = {{key, strlen(key)}, {.type = CTR_VALUE_INT, .u.i = v}};
    return ctr_span_set_attr(s, &a);
}

int ctr_span_set_bool(struct ctr_span *s, const char *key, bool v)
{
    struct ctr_attr a = {{key, strlen(key)}, {.type = CTR_VALUE_BOOL, .u.b = v}};
    return ctr_span_set_attr(s, &a);
}

int ctr_span_set_double(struct ctr_span *s, const char *key, double v)
{
    struct ctr_attr a = {{key, strlen(key)}, {.type = CTR_VALUE_DOUBLE, .u.d = v}};
    return ctr_span_set_attr(s, &a);
}

/* Grow an arena-held array of `size`-byte elements to hold one more. */
static void *grow(struct ctr_arena *a, void *items, uint32_t len, uint32_t *cap, size_t size)
{
    if (len < *cap)
        return items;
    uint32_t ncap = *cap ? *cap * 2 : 4;
    void *n = ctr_arena_alloc(a, (size_t)ncap * size);
    if (!n)
        return NULL;
    if (len)
        memcpy(n, items, (size_t)len * size);
    *cap = ncap;
    return n;
}

/* Copy `n` attributes into a fresh list under the given limits. */
static int copy_attrs(struct ctr_arena *a, struct ctr_attr_list *list, const struct ctr_attr *attrs,
                      size_t n, uint32_t max_count, uint32_t max_len, const struct ctr_redactor *r)
{
    for (size_t i = 0; i < n; i++) {
        int rc = attr_set(list, a, &attrs[i], max_count, max_len, r);
        if (rc == CTR_ENOMEM)
            return rc;
    }
    return 0;
}

int ctr_span_add_event(struct ctr_span *s, const char *name, size_t nlen, uint64_t time_ns,
                       const struct ctr_attr *attrs, size_t n_attrs)
{
    if (!writable(s))
        return 0;
    const struct ctr_limits *l = span_limits(s);
    if (s->events_len >= l->event_count) {
        s->events_dropped++;
        return 0;
    }
    struct ctr_event *ev = grow(&s->arena, s->events, s->events_len, &s->events_cap, sizeof *ev);
    if (!ev)
        return CTR_ENOMEM;
    s->events = ev;
    struct ctr_event e = {0};
    e.time_ns = time_ns ? time_ns : ctr_now_ns();
    int rc = copy_text(&s->arena, name ? name : "", name ? nlen : 0, UINT32_MAX, &e.name,
                       span_redactor(s));
    if (!rc)
        rc = copy_attrs(&s->arena, &e.attrs, attrs, n_attrs, l->event_attr_count, l->attr_value_len,
                        span_redactor(s));
    if (rc)
        return rc;
    s->events[s->events_len++] = e;
    return 0;
}

int ctr_span_add_link(struct ctr_span *s, const struct ctr_span_context *ctx,
                      const struct ctr_attr *attrs, size_t n_attrs)
{
    if (!writable(s))
        return 0;
    if (!ctx || !ctr_span_context_is_valid(ctx))
        return CTR_EINVAL;
    const struct ctr_limits *l = span_limits(s);
    if (s->links_len >= l->link_count) {
        s->links_dropped++;
        return 0;
    }
    struct ctr_link *lk = grow(&s->arena, s->links, s->links_len, &s->links_cap, sizeof *lk);
    if (!lk)
        return CTR_ENOMEM;
    s->links = lk;
    struct ctr_link k = {0};
    k.ctx = *ctx;
    k.ctx.trace_state.ptr = NULL;
    k.ctx.trace_state.len = 0;
    int rc = 0;
    if (ctx->trace_state.ptr && ctx->trace_state.len)
        rc = copy_plain(&s->arena, ctx->trace_state.ptr, ctx->trace_state.len, UINT32_MAX,
                        &k.ctx.trace_state);
    if (!rc)
        rc = copy_attrs(&s->arena, &k.attrs, attrs, n_attrs, l->link_attr_count, l->attr_value_len,
                        span_redactor(s));
    if (rc)
        return rc;
    s->links[s->links_len++] = k;
    return 0;
}

int ctr_span_set_status(struct ctr_span *s, ctr_status_code code, const char *msg, size_t mlen)
{
    if (!writable(s) || code == CTR_STATUS_UNSET || s->status == CTR_STATUS_OK)
        return 0;
    if (code != CTR_STATUS_OK && code != CTR_STATUS_ERROR)
        return CTR_EINVAL;
    s->status = code;
    s->status_message.ptr = NULL;
    s->status_message.len = 0;
    if (code == CTR_STATUS_ERROR && msg && mlen)
        return copy_text(&s->arena, msg, mlen, span_limits(s)->attr_value_len, &s->status_message,
                         span_redactor(s));
    return 0;
}

int ctr_span_update_name(struct ctr_span *s, const char *name, size_t nlen)
{
    if (!writable(s))
        return 0;
    return copy_text(&s->arena, name ? name : "", name ? nlen : 0, UINT32_MAX, &s->name,
                     span_redactor(s));
}

int ctr_span_set_kind(struct ctr_span *s, ctr_span_kind kind)
{
    if (!writable(s) || kind < CTR_KIND_INTERNAL || kind > CTR_KIND_CONSUMER)
        return 0;
    s->kind = kind;
    return 0;
}

int ctr__span_init_name(struct ctr_span *s, const char *name, size_t nlen)
{
    return copy_text(&s->arena, name ? name : "", name ? nlen : 0, UINT32_MAX, &s->name,
                     span_redactor(s));
}

void ctr_span_end(struct ctr_span *s, uint64_t end_ns)
{
    if (!s || s->ended)
        return;
    if (!s->recording) { /* nothing to export: no clock read */
        ctr_span_free(s);
        return;
    }
    s->end_ns = end_ns ? end_ns : ctr_now_ns();
    if (s->end_ns < s->start_ns)
        s->end_ns = s->start_ns;
    s->ended = true;
    struct ctr_tracer *t = s->tracer;
    if (!t || !t->processor) {
        ctr_span_free(s);
        return;
    }
    /* The processor owns the span from here on and never needs the tracer:
     * give the span's reference back once it is handed over. */
    s->tracer = NULL;
    t->processor->ops->on_end(t->processor, s);
    ctr__tracer_release(t);
}

void ctr_span_free(struct ctr_span *s)
{
    if (!s)
        return;
    struct ctr_tracer *t = s->tracer;
    struct ctr_arena a = s->arena;
    bool inside = ctr__arena_owns(&a, s);
    ctr_arena_free(&a);
    if (!inside)
        free(s);
    if (t)
        ctr__tracer_release(t);
}

bool ctr_span_is_recording(const struct ctr_span *s)
{
    return s && s->recording && !s->ended;
}

void ctr_span_get_context(const struct ctr_span *s, struct ctr_span_context *out)
{
    if (!s) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = s->ctx;
}

void ctr_span_set_essential(struct ctr_span *s)
{
    if (s)
        s->essential = true;
}

ctr_span_kind ctr_span_get_kind(const struct ctr_span *s)
{
    return s ? s->kind : CTR_KIND_UNSPECIFIED;
}

ctr_status_code ctr_span_get_status(const struct ctr_span *s)
{
    return s ? s->status : CTR_STATUS_UNSET;
}

struct ctr_span *ctr__span_alloc(void)
{
    struct ctr_arena a = {0};
    struct ctr_span *s = ctr_arena_alloc(&a, sizeof *s);
    if (!s)
        return NULL;
    memset(s, 0, sizeof *s);
    s->arena = a;
    return s;
}
