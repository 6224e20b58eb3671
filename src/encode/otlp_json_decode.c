/*
 * OTLP JSON decoder: one ExportTraceServiceRequest per line into batches of
 * struct ctr_span, the reverse of otlp_json.c. See chaostracing/decode.h for
 * what is accepted and how kvlistValue is kept.
 *
 * Each line is parsed by the strict JSON reader into a tree in `d->tree`
 * (reset per line); everything kept is copied out of it: span fields into the
 * span's own arena, resources, scopes and span pointer arrays into `d->meta`.
 * Attribute values are read by otlp_json_attrs.c.
 *
 * Leniency, inside a valid request: a span without valid ids (or that is not
 * an object) is skipped and reported; an attribute, event or link that
 * cannot be read is dropped and added to the matching dropped count; any
 * other member of the wrong type or out of range is ignored, as if absent
 * (so a span with a mangled time is still shown, its duration unknown).
 * Internal functions return 0, CTR_ENOMEM, or CTR_EPARSE for "unreadable".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chaostracing/decode.h>

#include "core/internal.h"
#include "encode/otlp_json_read.h"

typedef struct ctr__json_value json;

static const char *const kind_names[] = {"UNSPECIFIED", "INTERNAL", "SERVER",
                                         "CLIENT",      "PRODUCER", "CONSUMER"};
static const char *const status_names[] = {"UNSET", "OK", "ERROR"};

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* An id of `n` bytes: hex of either case (OTLP JSON), or base64 as
 * protobuf's generic JSON mapping writes bytes. False when neither. */
static bool read_id(struct ctr_trace_data *d, const json *j, uint8_t *out, size_t n)
{
    if (!j || j->type != CTR__JSON_STRING)
        return false;
    const char *s = j->u.s.ptr;
    size_t len = j->u.s.len;
    if (len == 2 * n) {
        for (size_t i = 0; i < n; i++) {
            int hi = ctr_hex_digit(s[2 * i]), lo = ctr_hex_digit(s[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return false;
            out[i] = (uint8_t)(hi << 4 | lo);
        }
        return true;
    }
    if (len < (4 * n + 2) / 3 || len > ctr_base64_len(n))
        return false;
    ctr_buf_reset(&d->scratch);
    if (ctr_base64_decode(s, len, &d->scratch) || d->scratch.len != n)
        return false;
    memcpy(out, d->scratch.data, n);
    return true;
}

/* A 64-bit time; 0 (unknown) when missing or unreadable. */
static uint64_t opt_time(const json *j)
{
    uint64_t v = 0;
    return j && ctr__json_to_u64(j, &v) ? v : 0;
}

/* An enum as an integer (any non-negative int32, so values newer than this
 * code survive) or as its protobuf name `prefix` + names[i]; 0 when missing
 * or unreadable. */
static int opt_enum(const json *j, const char *prefix, const char *const *names, size_t n)
{
    int64_t v = 0;
    if (!j)
        return 0;
    if (ctr__json_to_i64(j, &v))
        return v >= 0 && v <= INT32_MAX ? (int)v : 0;
    size_t pl = strlen(prefix);
    if (j->type != CTR__JSON_STRING || j->u.s.len <= pl || memcmp(j->u.s.ptr, prefix, pl) != 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (j->u.s.len - pl == strlen(names[i]) &&
            memcmp(j->u.s.ptr + pl, names[i], j->u.s.len - pl) == 0)
            return (int)i;
    return 0;
}

/* ctr__otlp_str() where a member of another type counts as missing: 0 or
 * CTR_ENOMEM. */
static int opt_str(struct ctr_arena *a, const json *j, struct ctr_str *out)
{
    int rc = ctr__otlp_str(a, j, out);
    return rc == CTR_EPARSE ? 0 : rc;
}

/* The items of a span's "events" or "links" array: how many to allocate
 * (none when it is not an array). */
static uint32_t item_count(const json *arr)
{
    size_t n = arr && arr->type == CTR__JSON_ARRAY ? arr->u.c.count : 0;
    return n > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)n;
}

/* One Span.Event; CTR_EPARSE drops it. */
static int read_event(struct ctr_trace_data *d, struct ctr_span *s, const json *j,
                      struct ctr_event *e)
{
    memset(e, 0, sizeof *e);
    if (!j || j->type != CTR__JSON_OBJECT)
        return CTR_EPARSE;
    e->time_ns = opt_time(ctr__otlp_member(j, "timeUnixNano"));
    int rc = opt_str(&s->arena, ctr__otlp_member(j, "name"), &e->name);
    return rc ? rc : ctr__otlp_attrs(d, &s->arena, j, &e->attrs);
}

/* One Span.Link; CTR_EPARSE drops it (also for invalid ids, as
 * ctr_span_add_link() refuses them). */
static int read_link(struct ctr_trace_data *d, struct ctr_span *s, const json *j,
                     struct ctr_link *l)
{
    memset(l, 0, sizeof *l);
    if (!j || j->type != CTR__JSON_OBJECT ||
        !read_id(d, ctr__otlp_member(j, "traceId"), l->ctx.trace_id, CTR_TRACE_ID_LEN) ||
        !read_id(d, ctr__otlp_member(j, "spanId"), l->ctx.span_id, CTR_SPAN_ID_LEN) ||
        !ctr_span_context_is_valid(&l->ctx))
        return CTR_EPARSE;
    uint32_t flags = ctr__otlp_u32(ctr__otlp_member(j, "flags"));
    l->ctx.trace_flags = (uint8_t)flags;
    l->ctx.is_remote = (flags & CTR_SPAN_FLAG_IS_REMOTE) && (flags & CTR_SPAN_FLAG_HAS_IS_REMOTE);
    int rc = opt_str(&s->arena, ctr__otlp_member(j, "traceState"), &l->ctx.trace_state);
    return rc ? rc : ctr__otlp_attrs(d, &s->arena, j, &l->attrs);
}

/* Events and links of span `s`: readable ones kept, others counted. */
static int read_events_links(struct ctr_trace_data *d, struct ctr_span *s, const json *ev,
                             const json *ln)
{
    uint32_t ne = item_count(ev), nl = item_count(ln);
    s->events = ne ? ctr_arena_alloc(&s->arena, (size_t)ne * sizeof *s->events) : NULL;
    s->links = nl ? ctr_arena_alloc(&s->arena, (size_t)nl * sizeof *s->links) : NULL;
    if ((ne && !s->events) || (nl && !s->links))
        return CTR_ENOMEM;
    s->events_cap = ne;
    s->links_cap = nl;
    for (const json *x = ne ? ev->u.c.first : NULL; x && s->events_len < ne; x = x->next) {
        int rc = read_event(d, s, x, &s->events[s->events_len]);
        if (rc == CTR_EPARSE && s->events_dropped < UINT32_MAX)
            s->events_dropped++;
        else if (rc)
            return rc;
        else
            s->events_len++;
    }
    for (const json *x = nl ? ln->u.c.first : NULL; x && s->links_len < nl; x = x->next) {
        int rc = read_link(d, s, x, &s->links[s->links_len]);
        if (rc == CTR_EPARSE && s->links_dropped < UINT32_MAX)
            s->links_dropped++;
        else if (rc)
            return rc;
        else
            s->links_len++;
    }
    return 0;
}

/* The members of span `s` after its ids. Returns 0 or CTR_ENOMEM. */
static int read_span_body(struct ctr_trace_data *d, const json *js, struct ctr_span *s)
{
    const json *st = ctr__otlp_member(js, "status");
    uint32_t flags = ctr__otlp_u32(ctr__otlp_member(js, "flags"));
    s->kind = (ctr_span_kind)opt_enum(ctr__otlp_member(js, "kind"), "SPAN_KIND_", kind_names, 6);
    s->status =
        (ctr_status_code)opt_enum(ctr__otlp_member(st, "code"), "STATUS_CODE_", status_names, 3);
    s->start_ns = opt_time(ctr__otlp_member(js, "startTimeUnixNano"));
    s->end_ns = opt_time(ctr__otlp_member(js, "endTimeUnixNano"));
    s->ctx.trace_flags = (uint8_t)flags;
    s->parent_is_remote =
        s->has_parent && (flags & CTR_SPAN_FLAG_HAS_IS_REMOTE) && (flags & CTR_SPAN_FLAG_IS_REMOTE);
    s->events_dropped = ctr__otlp_u32(ctr__otlp_member(js, "droppedEventsCount"));
    s->links_dropped = ctr__otlp_u32(ctr__otlp_member(js, "droppedLinksCount"));
    int rc = opt_str(&s->arena, ctr__otlp_member(js, "name"), &s->name);
    if (!rc)
        rc = opt_str(&s->arena, ctr__otlp_member(js, "traceState"), &s->ctx.trace_state);
    if (!rc)
        rc = opt_str(&s->arena, ctr__otlp_member(st, "message"), &s->status_message);
    if (!rc)
        rc = ctr__otlp_attrs(d, &s->arena, js, &s->attrs);
    return rc ? rc
              : read_events_links(d, s, ctr__otlp_member(js, "events"),
                                  ctr__otlp_member(js, "links"));
}

/* Decode one Span into a new span (*out). CTR_EPARSE with *why for a
 * malformed span. */
static int read_span(struct ctr_trace_data *d, const json *js, struct ctr_span **out,
                     const char **why)
{
    struct ctr_span_context ctx = {0};
    uint8_t parent[CTR_SPAN_ID_LEN] = {0};
    *out = NULL;
    *why = "not a JSON object";
    if (!js || js->type != CTR__JSON_OBJECT)
        return CTR_EPARSE;
    *why = "traceId is not 32 hex digits (or is all zero)";
    if (!read_id(d, ctr__otlp_member(js, "traceId"), ctx.trace_id, CTR_TRACE_ID_LEN) ||
        all_zero(ctx.trace_id, CTR_TRACE_ID_LEN))
        return CTR_EPARSE;
    *why = "spanId is not 16 hex digits (or is all zero)";
    if (!read_id(d, ctr__otlp_member(js, "spanId"), ctx.span_id, CTR_SPAN_ID_LEN) ||
        all_zero(ctx.span_id, CTR_SPAN_ID_LEN))
        return CTR_EPARSE;
    const json *pj = ctr__otlp_member(js, "parentSpanId");
    *why = "parentSpanId is not 16 hex digits";
    if (pj && !ctr__json_str_eq(pj, "") && !read_id(d, pj, parent, CTR_SPAN_ID_LEN))
        return CTR_EPARSE;

    struct ctr_span *s = ctr__span_alloc();
    if (!s)
        return CTR_ENOMEM;
    s->ctx = ctx;
    memcpy(s->parent_span_id, parent, CTR_SPAN_ID_LEN);
    s->has_parent = !all_zero(parent, CTR_SPAN_ID_LEN);
    s->recording = true;
    s->ended = true;
    int rc = read_span_body(d, js, s);
    if (rc) {
        ctr_span_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* The resource of a ResourceSpans, kept in d->meta; NULL (and 0) when the
 * message has none. Unreadable attributes are counted as dropped. */
static int read_resource(struct ctr_trace_data *d, const json *j, struct ctr_resource **out)
{
    *out = NULL;
    if (!j || j->type != CTR__JSON_OBJECT)
        return 0;
    struct ctr_resource *r = ctr_arena_alloc(&d->meta, sizeof *r);
    if (!r)
        return CTR_ENOMEM;
    memset(r, 0, sizeof *r);
    int rc = ctr__otlp_attrs(d, &d->meta, j, &r->attrs);
    if (rc)
        return rc;
    r->dropped = r->attrs.dropped;
    *out = r;
    return 0;
}

/* The scope of a ScopeSpans (name and version), kept in d->meta; NULL when
 * the message has none. */
static int read_scope(struct ctr_trace_data *d, const json *ss, struct ctr_scope **out)
{
    const json *j = ctr__otlp_member(ss, "scope");
    *out = NULL;
    if (!j)
        j = ctr__otlp_member(ss, "instrumentationLibrary"); /* OTLP < 0.19 */
    if (!j || j->type != CTR__JSON_OBJECT)
        return 0;
    struct ctr_scope *sc = ctr_arena_alloc(&d->meta, sizeof *sc);
    if (!sc)
        return CTR_ENOMEM;
    int rc = opt_str(&d->meta, ctr__otlp_member(j, "name"), &sc->name);
    if (!rc)
        rc = opt_str(&d->meta, ctr__otlp_member(j, "version"), &sc->version);
    *out = sc;
    return rc;
}

/* Append one batch for the non-empty array `spans` of a ScopeSpans. */
static int add_batch(struct ctr_trace_data *d, struct ctr_resource *res, const json *ss,
                     const json *spans, size_t *span_no)
{
    struct ctr_scope *scope;
    int rc = read_scope(d, ss, &scope);
    if (rc)
        return rc;
    size_t n = spans->u.c.count;
    struct ctr_span **arr =
        n < SIZE_MAX / sizeof *arr ? ctr_arena_alloc(&d->meta, n * sizeof *arr) : NULL;
    if (!arr)
        return CTR_ENOMEM;
    struct ctr_batch *all = ctr__otlp_grow(d->batches, d->n_batches, &d->cap_batches, sizeof *all);
    if (!all)
        return CTR_ENOMEM;
    d->batches = all;
    struct ctr_batch *b = &d->batches[d->n_batches++];
    *b = (struct ctr_batch){res, scope, arr, 0};
    for (const json *js = spans->u.c.first; js; js = js->next) {
        const char *why;
        ++*span_no;
        rc = read_span(d, js, &arr[b->len], &why);
        if (rc == CTR_EPARSE) {
            d->spans_skipped++;
            if (d->on_skip)
                d->on_skip(d->on_skip_ud, *span_no, why);
            continue;
        }
        if (rc)
            return rc;
        b->len++;
        d->n_spans++;
    }
    if (b->len == 0)
        d->n_batches--;
    return 0;
}

/* Free the spans of batches [from, n_batches) and forget those batches. */
static void drop_batches(struct ctr_trace_data *d, size_t from)
{
    for (size_t i = from; i < d->n_batches; i++) {
        for (size_t k = 0; k < d->batches[i].len; k++)
            ctr_span_free(d->batches[i].spans[k]);
        d->n_spans -= d->batches[i].len;
    }
    d->n_batches = from;
}

/* Every ResourceSpans of the array `rss`. */
static int add_request(struct ctr_trace_data *d, const json *rss)
{
    size_t span_no = 0;
    for (const json *rs = rss->u.c.first; rs; rs = rs->next) {
        const json *sss = ctr__otlp_member(rs, "scopeSpans");
        struct ctr_resource *res = NULL;
        bool have_res = false;
        if (!sss)
            sss = ctr__otlp_member(rs, "instrumentationLibrarySpans"); /* OTLP < 0.19 */
        if (!sss || sss->type != CTR__JSON_ARRAY)
            continue;
        for (const json *ss = sss->u.c.first; ss; ss = ss->next) {
            const json *spans = ctr__otlp_member(ss, "spans");
            if (!spans || spans->type != CTR__JSON_ARRAY || spans->u.c.count == 0)
                continue;
            int rc = have_res ? 0 : read_resource(d, ctr__otlp_member(rs, "resource"), &res);
            have_res = true;
            if (!rc)
                rc = add_batch(d, res, ss, spans, &span_no);
            if (rc)
                return rc;
        }
    }
    return 0;
}

void ctr_trace_data_init(struct ctr_trace_data *d)
{
    memset(d, 0, sizeof *d);
    d->max_tree_bytes = CTR_DECODE_TREE_LIMIT;
}

int ctr_trace_data_append_line(struct ctr_trace_data *d, const char *line, size_t len, char *err,
                               size_t err_size)
{
    char dummy[1];
    if (!err || !err_size) {
        err = dummy;
        err_size = sizeof dummy;
    }
    err[0] = '\0';
    if (!d || (!line && len))
        return CTR_EINVAL;
    json *root;
    struct ctr__json_error je;
    d->tree.limit = d->max_tree_bytes;
    int rc = ctr__json_parse(&d->tree, line ? line : "", len, &root, &je);
    if (rc == CTR_EPARSE) {
        snprintf(err, err_size, "invalid JSON at column %zu: %s", je.offset + 1, je.msg);
    } else if (rc) {
        bool limit = d->tree.limit && d->tree.total > d->tree.limit / 2;
        snprintf(err, err_size, "%s at column %zu", limit ? "line too large to decode" : je.msg,
                 je.offset + 1);
        rc = limit ? CTR_ETOOBIG : CTR_ENOMEM;
    } else if (root->type != CTR__JSON_OBJECT) {
        snprintf(err, err_size, "not an OTLP ExportTraceServiceRequest (not a JSON object)");
        rc = CTR_EFORMAT;
    } else {
        const json *rss = ctr__json_get(root, "resourceSpans");
        size_t first = d->n_batches;
        if (!rss && root->u.c.count > 0) {
            snprintf(err, err_size, "not an OTLP ExportTraceServiceRequest (no resourceSpans)");
            rc = CTR_EFORMAT;
        } else if (rss && rss->type != CTR__JSON_ARRAY) {
            snprintf(err, err_size, "resourceSpans is not an array");
            rc = CTR_EPARSE;
        } else if (rss && (rc = add_request(d, rss)) != 0) {
            drop_batches(d, first);
            snprintf(err, err_size, "%s", ctr_strerror(rc));
        }
    }
    ctr_arena_reset(&d->tree); /* a huge line's tree is not kept */
    return rc;
}

void ctr_trace_data_free(struct ctr_trace_data *d)
{
    if (!d)
        return;
    drop_batches(d, 0);
    free(d->batches);
    free(d->pending);
    ctr_buf_free(&d->scratch);
    ctr_arena_free(&d->meta);
    ctr_arena_free(&d->tree);
    memset(d, 0, sizeof *d);
}
