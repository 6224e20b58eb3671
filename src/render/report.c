/*
 * The HTML report: one self-contained page for one trace. The page carries
 * its stylesheet and script inline (report.css and report.js, embedded by
 * tools/embed-report-assets.py) and the trace as a JSON model in a
 * <script type="application/json"> block; a Content-Security-Policy lets
 * only those two run and forbids every fetch, image, font and frame, so the
 * page makes no request at all.
 *
 * Escaping: text in HTML (the title) has & < > " ' as character
 * references; the JSON model has <, >, &, U+2028 and U+2029 as \uXXXX
 * escapes, so no span data can end the script block ("</script>") or open
 * a comment. The script puts text into the page with textContent only.
 *
 * The model: {"version", "traceId", "title", "service", "start" (UTC text),
 * "duration" (µs), "otherTraces", "spans": [...]}, spans in tree order
 * (preorder, siblings by start), each {"id", "parent" (index or -1),
 * "depth", "name", "start", "end" (µs from the trace's start; end null when
 * the times are not valid), "status" (0 unset, 1 ok, 2 error), "message",
 * "kind", "service", "verdict" ("good", "bad", "neutral"), "ctk" {type,
 * phase, iteration, met, activity, background, status, deviated},
 * "attrs" [[key, value]...], "events" [{"name", "t", "attrs"}],
 * "links" [{"traceId", "spanId"}]}.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "encode/json.h"
#include "render/internal.h"
#include "render/report_assets.h"

#define MAX_VALUE_DEPTH 8                      /* nested arrays deeper are "[...]" */
#define MAX_SAFE_INT INT64_C(9007199254740992) /* 2^53: exact in JavaScript */

void ctr_report_options_default(struct ctr_report_options *o)
{
    memset(o, 0, sizeof *o);
}

/* -------------------------------------------------------------- escaping -- */

/* Append `len` bytes of text for an HTML text or attribute context. */
static void put_html(struct ctr_buf *b, const char *s, size_t len)
{
    size_t from = 0;
    for (size_t i = 0; i < len; i++) {
        const char *ref = NULL;
        switch (s[i]) {
        case '&':
            ref = "&amp;";
            break;
        case '<':
            ref = "&lt;";
            break;
        case '>':
            ref = "&gt;";
            break;
        case '"':
            ref = "&quot;";
            break;
        case '\'':
            ref = "&#39;";
            break;
        default:
            continue;
        }
        ctr_buf_append(b, s + from, i - from);
        ctr_buf_puts(b, ref);
        from = i + 1;
    }
    ctr_buf_append(b, s + from, len - from);
}

/* Append JSON text for a <script> block: < > & and the JavaScript line
 * separators as \u escapes (they only ever occur inside JSON strings). */
static void put_script_json(struct ctr_buf *b, const uint8_t *s, size_t len)
{
    size_t from = 0;
    for (size_t i = 0; i < len; i++) {
        const char *esc = NULL;
        size_t skip = 1;
        if (s[i] == '<')
            esc = "\\u003c";
        else if (s[i] == '>')
            esc = "\\u003e";
        else if (s[i] == '&')
            esc = "\\u0026";
        else if (s[i] == 0xE2 && i + 2 < len && s[i + 1] == 0x80 && (s[i + 2] & 0xFE) == 0xA8) {
            esc = s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029";
            skip = 3;
        }
        if (!esc)
            continue;
        ctr_buf_append(b, s + from, i - from);
        ctr_buf_puts(b, esc);
        from = i + skip;
        i += skip - 1;
    }
    ctr_buf_append(b, s + from, len - from);
}

/* ----------------------------------------------------------------- model -- */

static void key(struct ctr_buf *b, const char *k)
{
    ctr_json_put_string(b, k, strlen(k));
    ctr_buf_putc(b, ':');
}

static void str(struct ctr_buf *b, struct ctr_str s)
{
    if (s.ptr)
        ctr_json_put_string(b, s.ptr, s.len);
    else
        ctr_buf_puts(b, "null");
}

/* An attribute value: strings, numbers (integers past 2^53 as strings),
 * booleans, arrays; bytes as "<N bytes>", empty as null. */
static void value(struct ctr_buf *b, const struct ctr_value *v, int depth)
{
    switch (v->type) {
    case CTR_VALUE_STRING:
        ctr_json_put_string(b, v->u.s.ptr ? v->u.s.ptr : "", v->u.s.ptr ? v->u.s.len : 0);
        return;
    case CTR_VALUE_INT:
        if (v->u.i > -MAX_SAFE_INT && v->u.i < MAX_SAFE_INT)
            ctr__json_put_i64(b, v->u.i);
        else
            ctr__json_put_i64_str(b, v->u.i);
        return;
    case CTR_VALUE_DOUBLE:
        ctr__json_put_double(b, v->u.d);
        return;
    case CTR_VALUE_BOOL:
        ctr__json_put_bool(b, v->u.b);
        return;
    case CTR_VALUE_BYTES:
        ctr_buf_printf(b, "\"<%zu bytes>\"", v->u.s.len);
        return;
    case CTR_VALUE_ARRAY:
        break;
    default:
        ctr_buf_puts(b, "null");
        return;
    }
    if (depth >= MAX_VALUE_DEPTH) {
        ctr_buf_puts(b, "\"[...]\"");
        return;
    }
    ctr_buf_putc(b, '[');
    for (size_t i = 0; i < v->u.array.len; i++) {
        if (i)
            ctr_buf_putc(b, ',');
        value(b, &v->u.array.items[i], depth + 1);
    }
    ctr_buf_putc(b, ']');
}

static void attrs(struct ctr_buf *b, const struct ctr_attr_list *l)
{
    ctr_buf_putc(b, '[');
    for (uint32_t i = 0; i < l->len; i++) {
        if (i)
            ctr_buf_putc(b, ',');
        ctr_buf_putc(b, '[');
        str(b, l->items[i].key);
        ctr_buf_putc(b, ',');
        value(b, &l->items[i].value, 0);
        ctr_buf_putc(b, ']');
    }
    ctr_buf_putc(b, ']');
}

/* Microseconds from t0, or null when unknown. */
static void offset(struct ctr_buf *b, uint64_t t, uint64_t t0)
{
    if (t == 0 || t < t0)
        ctr_buf_puts(b, "null");
    else
        ctr__json_put_u64(b, (t - t0) / 1000);
}

static void ctk(struct ctr_buf *b, const struct ctr__ctk *k, int64_t iteration)
{
    static const char *const types[] = {NULL,        "experiment", "hypothesis", "method",
                                        "rollbacks", "activity",   NULL};
    ctr_buf_putc(b, '{');
    key(b, "type");
    if (types[k->type])
        ctr_json_put_string(b, types[k->type], strlen(types[k->type]));
    else
        str(b, k->type_text);
    if (k->phase.ptr) {
        ctr_buf_putc(b, ',');
        key(b, "phase");
        str(b, k->phase);
    }
    if (iteration > 0) {
        ctr_buf_putc(b, ',');
        key(b, "iteration");
        ctr__json_put_i64(b, iteration);
    }
    const struct {
        const char *name;
        int v;
    } flags[] = {{"met", k->met}, {"background", k->background}, {"deviated", k->deviated}};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        if (flags[i].v < 0)
            continue;
        ctr_buf_putc(b, ',');
        key(b, flags[i].name);
        ctr__json_put_bool(b, flags[i].v);
    }
    if (k->activity.ptr) {
        ctr_buf_puts(b, ",");
        key(b, "activity");
        str(b, k->activity);
    }
    if (k->status.ptr) {
        ctr_buf_puts(b, ",");
        key(b, "status");
        str(b, k->status);
    }
    ctr_buf_putc(b, '}');
}

static const char *const verdict_names[] = {"neutral", "good", "bad"};

/* One span of the model; `parent` is its parent's index or -1. */
static void span(struct ctr_buf *b, const struct ctr__layout *l, const struct ctr__rrow *row,
                 long parent, uint64_t t0, int64_t iteration)
{
    const struct ctr__rnode *nd = &l->nodes[row->node];
    const struct ctr_span *s = nd->span;
    char hex[2 * CTR_TRACE_ID_LEN + 1];
    struct ctr__ctk k;
    ctr__ctk_read(s, &k);
    ctr_hex_encode(s->ctx.span_id, CTR_SPAN_ID_LEN, hex);
    bool valid = s->start_ns != 0 && s->end_ns >= s->start_ns;
    ctr_buf_printf(b, "{\"id\":\"%s\",\"parent\":%ld,\"depth\":%zu,\"name\":", hex, parent,
                   row->depth);
    str(b, s->name.ptr ? s->name : (struct ctr_str){"", 0});
    ctr_buf_puts(b, ",\"start\":");
    offset(b, s->start_ns, t0);
    ctr_buf_puts(b, ",\"end\":");
    offset(b, valid ? s->end_ns : 0, t0);
    ctr_buf_printf(b, ",\"status\":%d,\"message\":", (int)s->status);
    str(b, s->status_message.len ? s->status_message : (struct ctr_str){NULL, 0});
    ctr_buf_puts(b, ",\"kind\":");
    const char *kind = s->kind == CTR_KIND_INTERNAL || s->kind == CTR_KIND_UNSPECIFIED
                           ? NULL
                           : ctr_span_kind_name(s->kind);
    str(b, (struct ctr_str){kind, kind ? strlen(kind) : 0});
    ctr_buf_puts(b, ",\"service\":");
    str(b, nd->service);
    ctr_buf_printf(b, ",\"verdict\":\"%s\",\"ctk\":", verdict_names[ctr__ctk_verdict(s, &k)]);
    ctk(b, &k, iteration);
    ctr_buf_puts(b, ",\"attrs\":");
    attrs(b, &s->attrs);
    ctr_buf_puts(b, ",\"events\":[");
    for (uint32_t i = 0; i < s->events_len; i++) {
        ctr_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
        str(b, s->events[i].name.ptr ? s->events[i].name : (struct ctr_str){"", 0});
        ctr_buf_puts(b, ",\"t\":");
        offset(b, s->events[i].time_ns, t0);
        ctr_buf_puts(b, ",\"attrs\":");
        attrs(b, &s->events[i].attrs);
        ctr_buf_putc(b, '}');
    }
    ctr_buf_puts(b, "],\"links\":[");
    for (uint32_t i = 0; i < s->links_len; i++) {
        char tid[2 * CTR_TRACE_ID_LEN + 1], sid[2 * CTR_SPAN_ID_LEN + 1];
        ctr_hex_encode(s->links[i].ctx.trace_id, CTR_TRACE_ID_LEN, tid);
        ctr_hex_encode(s->links[i].ctx.span_id, CTR_SPAN_ID_LEN, sid);
        ctr_buf_printf(b, "%s{\"traceId\":\"%s\",\"spanId\":\"%s\"}", i ? "," : "", tid, sid);
    }
    ctr_buf_puts(b, "]}");
}

/* The model of the trace just walked. `row_of` (l->n entries) and `iter`
 * are work space. */
static void model(struct ctr_buf *b, const struct ctr__layout *l, size_t ti, struct ctr_str title,
                  size_t *row_of, int64_t *iter)
{
    struct ctr__axis ax;
    ctr__axis_init(&ax, l, 0);
    ctr__ctk_number_iterations(l, iter);
    char hex[2 * CTR_TRACE_ID_LEN + 1], when[64] = "";
    const struct ctr__rnode *top = &l->nodes[l->traces[ti].first];
    ctr_hex_encode(top->span->ctx.trace_id, CTR_TRACE_ID_LEN, hex);
    time_t secs = (time_t)(ax.t0 / 1000000000u);
    struct tm tm;
    if (ax.t0 && gmtime_r(&secs, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    ctr_buf_printf(b, "{\"version\":\"%s\",\"traceId\":\"%s\",\"title\":", CTR_VERSION, hex);
    str(b, title);
    ctr_buf_puts(b, ",\"service\":");
    str(b, l->n_rows ? l->nodes[l->rows[0].node].service : (struct ctr_str){NULL, 0});
    ctr_buf_printf(b, ",\"start\":\"%s\",\"duration\":%" PRIu64 ",\"otherTraces\":%zu,\"spans\":[",
                   when, (ax.t1 - ax.t0) / 1000, l->n_traces - 1);
    for (size_t r = 0; r < l->n_rows; r++)
        row_of[l->rows[r].node] = r;
    for (size_t r = 0; r < l->n_rows; r++) {
        size_t p = l->nodes[l->rows[r].node].parent;
        /* A parent drawn below its child (a cycle's top) is no parent here. */
        long parent =
            p != CTR__NO_PARENT && row_of[p] < r && !l->rows[r].cycle ? (long)row_of[p] : -1;
        if (r)
            ctr_buf_putc(b, ',');
        span(b, l, &l->rows[r], l->rows[r].depth ? parent : -1, ax.t0, iter[l->rows[r].node]);
    }
    ctr_buf_puts(b, "]}");
}

/* ------------------------------------------------------------------ page -- */

static void page(struct ctr_buf *b, struct ctr_str title, const struct ctr_buf *json)
{
    ctr_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                    "script-src 'sha256-" CTR__REPORT_JS_SHA256
                    "'; style-src 'sha256-" CTR__REPORT_CSS_SHA256
                    "'; base-uri 'none'; form-action 'none'\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<meta name=\"generator\" content=\"chaostracing " CTR_VERSION "\">\n<title>");
    put_html(b, title.ptr, title.len);
    ctr_buf_puts(b, " \xc2\xb7 chaostracing report</title>\n<style>");
    ctr_buf_puts(b, ctr__report_css);
    ctr_buf_puts(b, "</style>\n</head>\n<body>\n<header><h1>");
    put_html(b, title.ptr, title.len);
    ctr_buf_puts(b, "</h1><noscript>This report draws its timeline with JavaScript, which is "
                    "turned off.</noscript></header>\n<main><div id=\"chart\"><div id=\"axis\">"
                    "</div><div id=\"rows\"></div></div><aside id=\"details\"></aside></main>\n"
                    "<script type=\"application/json\" id=\"trace-data\">");
    put_script_json(b, json->data, json->len);
    ctr_buf_puts(b, "</script>\n<script>");
    ctr_buf_puts(b, ctr__report_js);
    ctr_buf_puts(b, "</script>\n</body>\n</html>\n");
}

int ctr_render_report(const struct ctr_batch *batches, size_t n, const struct ctr_report_options *o,
                      struct ctr_buf *out)
{
    if (!out || (!batches && n))
        return CTR_EINVAL;
    if (out->err)
        return out->err;
    struct ctr__layout l;
    struct ctr_buf json = {0};
    size_t *row_of = NULL;
    int64_t *iter = NULL;
    int rc = ctr__layout_init(&l, batches, n);
    size_t ti = l.n_traces ? l.n_traces - 1 : SIZE_MAX; /* the latest */
    if (rc == 0 && o && o->trace_id)
        ti = ctr__layout_find(&l, o->trace_id);
    if (rc == 0 && ti == SIZE_MAX)
        rc = CTR_EINVAL; /* no spans, or not that trace */
    if (rc == 0 && (!(row_of = calloc(l.n, sizeof *row_of)) || !(iter = calloc(l.n, sizeof *iter))))
        rc = CTR_ENOMEM;
    if (rc == 0) {
        ctr__layout_walk(&l, ti);
        const struct ctr_span *root = l.nodes[l.rows[0].node].span;
        struct ctr_str title = root->name.len ? root->name : (struct ctr_str){"(no name)", 9};
        if (o && o->title)
            title = (struct ctr_str){o->title, strlen(o->title)};
        model(&json, &l, ti, title, row_of, iter);
        if (json.err)
            rc = json.err;
        else
            page(out, title, &json);
        rc = rc ? rc : out->err;
    }
    free(row_of);
    free(iter);
    ctr_buf_free(&json);
    ctr__layout_free(&l);
    if (rc == CTR_ENOMEM)
        out->err = rc;
    return rc;
}
