/*
 * The span tree: a header per trace, then one line per span with the tree
 * drawing, the name, a right-aligned duration column, status, kind, the
 * chaostoolkit tags, the service when the trace spans several, the status
 * message and how a top-level span with a parent got there. See
 * chaostracing/render.h for the format; layout.c decides the rows.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "encode/json.h"
#include "render/internal.h"

#define NAME_MAX_COLS 200 /* longer names are cut with an ellipsis */
#define VALUE_MAX_COLS 64 /* attribute values and services */
#define MSG_MAX_COLS 120  /* status messages */
#define NAME_COL_MAX 72   /* the duration column starts at most here */
#define MAX_DRAW_DEPTH 32 /* deeper spans are drawn at this depth + marker */
#define MAX_HEADER_SERVICES 3

void ctr_render_options_default(struct ctr_render_options *o)
{
    o->attrs = true;
    o->ascii = false;
    o->color = false;
}

/* The drawing pieces and colours of one rendering. */
struct style {
    const char *bar, *tee, *elbow;
    const char *red, *bold, *dim, *reset;
    bool attrs;
};

static void style_init(struct style *st, const struct ctr_render_options *o)
{
    st->bar = o->ascii ? "|  " : "\xe2\x94\x82  ";
    st->tee = o->ascii ? "|- " : "\xe2\x94\x9c\xe2\x94\x80 ";
    st->elbow = o->ascii ? "`- " : "\xe2\x94\x94\xe2\x94\x80 ";
    st->red = o->color ? "\033[1;31m" : "";
    st->bold = o->color ? "\033[1m" : "";
    st->dim = o->color ? "\033[2m" : "";
    st->reset = o->color ? "\033[0m" : "";
    st->attrs = o->attrs;
}

static bool str_eq(struct ctr_str a, struct ctr_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* The span's name for display ("(no name)" when empty); returns columns. */
static size_t put_name(struct ctr_buf *b, const struct ctr_span *s)
{
    if (!s->name.ptr || s->name.len == 0) {
        if (b)
            ctr_buf_puts(b, "(no name)");
        return 9;
    }
    return ctr__display_put(b, s->name.ptr, s->name.len, NAME_MAX_COLS);
}

/* Columns taken by the tree drawing in front of a name at `depth`. */
static size_t prefix_cols(size_t depth)
{
    if (depth == 0)
        return 0;
    if (depth <= MAX_DRAW_DEPTH)
        return 3 * depth;
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "[depth %zu] ", depth);
    return 3 * MAX_DRAW_DEPTH + (size_t)n;
}

/* Duration text: milliseconds with one decimal, "?" when unknown. */
static void format_ms(const struct ctr_span *s, char *out, size_t n)
{
    if (s->start_ns == 0 || s->end_ns < s->start_ns) {
        snprintf(out, n, "?");
        return;
    }
    uint64_t tenths = (s->end_ns - s->start_ns + 50000) / 100000;
    snprintf(out, n, "%" PRIu64 ".%u", tenths / 10, (unsigned)(tenths % 10));
}

/* Wall-clock text for a start time, "" when unknown. */
static void format_time(uint64_t ns, char *out, size_t n)
{
    out[0] = '\0';
    if (ns == 0 || ns == UINT64_MAX)
        return;
    time_t secs = (time_t)(ns / 1000000000u);
    struct tm tm;
    char day[40];
    if (!gmtime_r(&secs, &tm) || strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        return;
    snprintf(out, n, "%s.%03uZ", day, (unsigned)(ns / 1000000u % 1000u));
}

static const char *kind_text(ctr_span_kind kind)
{
    switch ((int)kind) {
    case CTR_KIND_UNSPECIFIED:
    case CTR_KIND_INTERNAL:
        return NULL;
    case CTR_KIND_SERVER:
    case CTR_KIND_CLIENT:
    case CTR_KIND_PRODUCER:
    case CTR_KIND_CONSUMER:
        return ctr_span_kind_name(kind);
    default:
        return "kind=?";
    }
}

/* Append the display text of attribute `key` of `s` after `sep`, with
 * `label` in front; returns whether anything was written. */
static bool put_tag(struct ctr_buf *b, const struct ctr_span *s, const char *key, const char *sep,
                    const char *label)
{
    const struct ctr_attr *a = ctr_attr_list_get(&s->attrs, key, strlen(key));
    if (!a || a->value.type == CTR_VALUE_EMPTY)
        return false;
    const struct ctr_value *v = &a->value;
    char tmp[CTR__JSON_DOUBLE_MAX];
    ctr_buf_puts(b, sep);
    ctr_buf_puts(b, label);
    switch (v->type) {
    case CTR_VALUE_STRING:
        ctr__display_put(b, v->u.s.ptr, v->u.s.ptr ? v->u.s.len : 0, VALUE_MAX_COLS);
        break;
    case CTR_VALUE_INT:
        ctr_buf_printf(b, "%" PRId64, v->u.i);
        break;
    case CTR_VALUE_DOUBLE:
        ctr_buf_append(b, tmp, ctr__json_format_double(v->u.d, tmp));
        break;
    case CTR_VALUE_BOOL:
        ctr_buf_puts(b, v->u.b ? "true" : "false");
        break;
    case CTR_VALUE_ARRAY:
        ctr_buf_puts(b, "[...]");
        break;
    default:
        ctr_buf_puts(b, "<bytes>");
        break;
    }
    return true;
}

/* The "[type status http N]" tags of a span, when it has any. */
static void put_tags(struct ctr_buf *b, const struct ctr_span *s)
{
    size_t at = b->len;
    const char *sep = "  [";
    if (put_tag(b, s, "chaostoolkit.type", sep, ""))
        sep = " ";
    if (put_tag(b, s, "chaostoolkit.activity.status", sep, ""))
        sep = " ";
    if (!put_tag(b, s, "http.response.status_code", sep, "http "))
        put_tag(b, s, "http.status_code", sep, "http "); /* older conventions */
    if (b->len > at)
        ctr_buf_putc(b, ']');
}

/* The services of the rows in order of appearance (up to three), whether
 * there are more, and whether some span has none. */
struct services {
    struct ctr_str first[MAX_HEADER_SERVICES];
    size_t n;
    bool more, missing;
};

static void collect_services(const struct ctr__layout *l, struct services *sv)
{
    memset(sv, 0, sizeof *sv);
    for (size_t r = 0; r < l->n_rows; r++) {
        struct ctr_str x = l->nodes[l->rows[r].node].service;
        size_t k = 0;
        if (!x.ptr) {
            sv->missing = true;
            continue;
        }
        while (k < sv->n && !str_eq(sv->first[k], x))
            k++;
        if (k < sv->n)
            continue;
        if (sv->n < MAX_HEADER_SERVICES)
            sv->first[sv->n++] = x;
        else
            sv->more = true;
    }
}

/* The header line of trace `t`. */
static void put_header(struct ctr_buf *b, const struct style *st, const struct ctr__layout *l,
                       const struct ctr__rtrace *t, const struct services *sv)
{
    char hex[2 * CTR_TRACE_ID_LEN + 1], when[64];
    ctr_hex_encode(l->nodes[t->first].span->ctx.trace_id, CTR_TRACE_ID_LEN, hex);
    format_time(t->start, when, sizeof when);
    ctr_buf_printf(b, "%strace %s%s  service=", st->bold, hex, st->reset);
    if (sv->n == 0)
        ctr_buf_puts(b, "(none)");
    for (size_t k = 0; k < sv->n; k++) {
        if (k)
            ctr_buf_putc(b, ',');
        ctr__display_put(b, sv->first[k].ptr, sv->first[k].len, VALUE_MAX_COLS);
    }
    if (sv->more)
        ctr_buf_puts(b, ",...");
    ctr_buf_printf(b, "  %zu span%s", t->count, t->count == 1 ? "" : "s");
    if (when[0])
        ctr_buf_printf(b, "  start=%s", when);
    ctr_buf_putc(b, '\n');
}

static void put_spaces(struct ctr_buf *b, size_t n)
{
    static const char sp[] = "                                ";
    while (n > 0) {
        size_t k = n < sizeof sp - 1 ? n : sizeof sp - 1;
        ctr_buf_append(b, sp, k);
        n -= k;
    }
}

/* One row: drawing, name, duration and the notes after it. `last` tracks,
 * per depth, whether the row's ancestor at that depth was a last child. */
static void put_row(struct ctr_buf *b, const struct style *st, const struct ctr__layout *l,
                    const struct ctr__rrow *row, const struct services *sv, size_t name_w,
                    size_t dur_w, bool *last)
{
    const struct ctr__rnode *nd = &l->nodes[row->node];
    const struct ctr_span *s = nd->span;
    size_t d = row->depth, shown = d < MAX_DRAW_DEPTH ? d : MAX_DRAW_DEPTH;
    char dur[32];
    if (d <= MAX_DRAW_DEPTH)
        last[d] = row->last;
    for (size_t k = 1; k < shown; k++)
        ctr_buf_puts(b, last[k] ? "   " : st->bar);
    if (d > 0)
        ctr_buf_puts(b, row->last ? st->elbow : st->tee);
    if (d > MAX_DRAW_DEPTH)
        ctr_buf_printf(b, "[depth %zu] ", d);
    size_t used = prefix_cols(d) + put_name(b, s);
    put_spaces(b, used < name_w ? name_w - used : 0);
    format_ms(s, dur, sizeof dur);
    ctr_buf_puts(b, "  ");
    put_spaces(b, dur_w - strlen(dur));
    ctr_buf_printf(b, "%s ms", dur);
    if (s->status == CTR_STATUS_ERROR)
        ctr_buf_printf(b, "  %sERROR%s", st->red, st->reset);
    else if (s->status == CTR_STATUS_OK)
        ctr_buf_puts(b, "  ok");
    else if (s->status != CTR_STATUS_UNSET)
        ctr_buf_puts(b, "  status=?");
    const char *kt = kind_text(s->kind);
    if (kt)
        ctr_buf_printf(b, "  %s", kt);
    if (st->attrs)
        put_tags(b, s);
    bool multi = sv->n + (sv->missing ? 1 : 0) + (sv->more ? 1 : 0) > 1;
    if (multi && nd->service.ptr && (sv->n == 0 || !str_eq(nd->service, sv->first[0]))) {
        ctr_buf_puts(b, "  service=");
        ctr__display_put(b, nd->service.ptr, nd->service.len, VALUE_MAX_COLS);
    }
    if (s->status_message.ptr && s->status_message.len) {
        ctr_buf_puts(b, "  \"");
        ctr__display_put(b, s->status_message.ptr, s->status_message.len, MSG_MAX_COLS);
        ctr_buf_putc(b, '"');
    }
    if (d == 0 && s->has_parent)
        ctr_buf_printf(b, "  %s%s%s", st->dim, row->cycle ? "(parent cycle)" : "(remote parent)",
                       st->reset);
    ctr_buf_putc(b, '\n');
}

/* The header and rows of the trace just walked. */
static void put_trace(struct ctr_buf *b, const struct style *st, const struct ctr__layout *l,
                      const struct ctr__rtrace *t)
{
    struct services sv;
    collect_services(l, &sv);
    put_header(b, st, l, t, &sv);
    size_t name_w = 0, dur_w = 1;
    char dur[32];
    for (size_t r = 0; r < l->n_rows; r++) {
        const struct ctr_span *s = l->nodes[l->rows[r].node].span;
        size_t w = prefix_cols(l->rows[r].depth) + put_name(NULL, s);
        if (w > name_w)
            name_w = w;
        format_ms(s, dur, sizeof dur);
        if (strlen(dur) > dur_w)
            dur_w = strlen(dur);
    }
    if (name_w > NAME_COL_MAX)
        name_w = NAME_COL_MAX;
    bool last[MAX_DRAW_DEPTH + 1] = {false};
    for (size_t r = 0; r < l->n_rows; r++)
        put_row(b, st, l, &l->rows[r], &sv, name_w, dur_w, last);
}

/* Render every trace into `b`; with `f`, write and empty `b` after each
 * trace. Returns 0, CTR_ENOMEM or CTR_EIO. */
static int render(const struct ctr_batch *batches, size_t n, const struct ctr_render_options *o,
                  struct ctr_buf *b, FILE *f)
{
    struct ctr_render_options defaults;
    struct style st;
    struct ctr__layout l;
    if (!o) {
        ctr_render_options_default(&defaults);
        o = &defaults;
    }
    style_init(&st, o);
    int rc = ctr__layout_init(&l, batches, n);
    for (size_t t = 0; rc == 0 && t < l.n_traces; t++) {
        ctr__layout_walk(&l, t);
        if (t > 0)
            ctr_buf_putc(b, '\n');
        put_trace(b, &st, &l, &l.traces[t]);
        rc = b->err;
        if (rc == 0 && f) {
            if (fwrite(b->data, 1, b->len, f) != b->len)
                rc = CTR_EIO;
            ctr_buf_reset(b);
        }
    }
    ctr__layout_free(&l);
    if (rc == CTR_ENOMEM)
        b->err = rc;
    return rc;
}

int ctr_render_tree(const struct ctr_batch *batches, size_t n, const struct ctr_render_options *o,
                    struct ctr_buf *out)
{
    if (!out || (!batches && n))
        return CTR_EINVAL;
    if (out->err)
        return out->err;
    return render(batches, n, o, out, NULL);
}

int ctr_render_tree_file(const struct ctr_batch *batches, size_t n,
                         const struct ctr_render_options *o, FILE *f)
{
    if (!f || (!batches && n))
        return CTR_EINVAL;
    struct ctr_buf b = {0};
    int rc = render(batches, n, o, &b, f);
    ctr_buf_free(&b);
    return rc;
}
