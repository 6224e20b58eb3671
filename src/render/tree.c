/*
 * The span tree: a header per trace, then one line per span with the tree
 * drawing, the name, a right-aligned duration column, status, kind, the
 * chaostoolkit tags, the service when the trace spans several, the status
 * message and how a top-level span with a parent got there. See
 * chaostracing/render.h for the format; layout.c decides the rows.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/internal.h"
#include "render/internal.h"

#define NAME_MAX_COLS 200 /* longer names are cut with an ellipsis */
#define VALUE_MAX_COLS 64 /* attribute values and services */
#define MSG_MAX_COLS 120  /* status messages */
#define NAME_COL_MAX 72   /* the duration column starts at most here */
#define NAME_COL_MIN 16   /* with a waterfall, names get at least this */
#define NAME_MIN_CUT 16   /* with a waterfall, a name is cut to no less than this */
#define BAR_MIN_COLS 10   /* the narrowest waterfall */
#define MAX_DRAW_DEPTH 32 /* deeper spans are drawn at this depth + marker */
#define MAX_HEADER_SERVICES 3

void ctr_render_options_default(struct ctr_render_options *o)
{
    memset(o, 0, sizeof *o);
    o->attrs = true;
}

void ctr__style_init(struct ctr__style *st, const struct ctr_render_options *o)
{
    st->bar = o->ascii ? "|  " : "\xe2\x94\x82  ";
    st->vert = o->ascii ? "| " : "\xe2\x94\x82 ";
    st->tee = o->ascii ? "|- " : "\xe2\x94\x9c\xe2\x94\x80 ";
    st->elbow = o->ascii ? "`- " : "\xe2\x94\x94\xe2\x94\x80 ";
    st->block = o->ascii ? "#" : "\xe2\x96\x88"; /* U+2588 full block */
    st->thin = o->ascii ? "|" : "\xe2\x96\x8f";  /* U+258F left one-eighth block */
    st->red = o->color ? "\033[1;31m" : "";
    st->green = o->color ? "\033[32m" : "";
    st->cyan = o->color ? "\033[36m" : "";
    st->bold = o->color ? "\033[1m" : "";
    st->dim = o->color ? "\033[2m" : "";
    st->reset = o->color ? "\033[0m" : "";
    st->attrs = o->attrs;
}

const char *ctr__verdict_color(const struct ctr__style *st, enum ctr__verdict v)
{
    return v == CTR__BAD ? st->red : v == CTR__GOOD ? st->green : st->cyan;
}

static bool str_eq(struct ctr_str a, struct ctr_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* The span's name for display ("(no name)" when empty), at most `max`
 * columns; returns columns. */
static size_t put_name(struct ctr_buf *b, const struct ctr_span *s, size_t max)
{
    if (!s->name.ptr || s->name.len == 0)
        return ctr__display_put(b, "(no name)", 9, max);
    return ctr__display_put(b, s->name.ptr, s->name.len, max);
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
    ctr__format_ms(s->end_ns - s->start_ns, out, n);
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
static void put_header(struct ctr_buf *b, const struct ctr__style *st, const struct ctr__layout *l,
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

/* One trace's rendering: style, columns and per-row facts. */
struct trace_ctx {
    const struct ctr__style *st;
    const struct ctr_render_options *o;
    const struct ctr__layout *l;
    struct services sv;
    int64_t *iter;        /* continuous hypothesis numbers, per node */
    size_t name_w, dur_w; /* columns of the name and duration fields */
    bool waterfall;
    struct ctr__axis axis;
    bool last[MAX_DRAW_DEPTH + 1]; /* per depth: was that ancestor a last child */
    struct ctr_buf prefix;         /* scratch: the prefix of detail lines */
};

/* The notes after a row's duration (or bar): status, kind, tags, service,
 * status message, how a top-level span with a parent got there. Each note
 * starts with two spaces. */
static void put_notes(struct ctr_buf *b, const struct trace_ctx *c, const struct ctr__rrow *row)
{
    const struct ctr__style *st = c->st;
    const struct ctr__rnode *nd = &c->l->nodes[row->node];
    const struct ctr_span *s = nd->span;
    if (s->status == CTR_STATUS_ERROR)
        ctr_buf_printf(b, "  %sERROR%s", st->red, st->reset);
    else if (s->status == CTR_STATUS_OK)
        ctr_buf_printf(b, "  %sok%s", st->green, st->reset);
    else if (s->status != CTR_STATUS_UNSET)
        ctr_buf_puts(b, "  status=?");
    const char *kt = kind_text(s->kind);
    if (kt)
        ctr_buf_printf(b, "  %s", kt);
    if (st->attrs) {
        struct ctr__ctk k;
        ctr__ctk_read(s, &k);
        ctr__ctk_put_tags(b, s, &k, c->iter ? c->iter[row->node] : 0);
    }
    const struct services *sv = &c->sv;
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
    if (row->depth == 0 && s->has_parent) {
        const char *why = row->cycle            ? "(parent cycle)"
                          : s->parent_is_remote ? "(remote parent)"
                                                : "(parent not found)";
        ctr_buf_printf(b, "  %s%s%s", st->dim, why, st->reset);
    }
}

/* Terminal columns of the display-safe text b[from..len) (written by
 * ctr__display_put and printf: well-formed UTF-8). */
static size_t cols_since(const struct ctr_buf *b, size_t from)
{
    size_t n = 0;
    for (size_t i = from; i < b->len;) {
        uint32_t cp;
        size_t k = ctr__utf8_decode((const char *)b->data + i, b->len - i, &cp);
        n += k ? ctr__cp_width(cp) : 1;
        i += k ? k : 1;
    }
    return n;
}

/* The detail lines below a row: the drawing continues for the ancestors
 * that have more children, and for the row's own children. */
static void put_details(struct ctr_buf *b, struct trace_ctx *c, const struct ctr__rrow *row)
{
    const struct ctr_span *s = c->l->nodes[row->node].span;
    size_t shown = row->depth < MAX_DRAW_DEPTH ? row->depth : MAX_DRAW_DEPTH;
    if (c->o->detail == CTR__DETAIL_NONE)
        return;
    ctr_buf_reset(&c->prefix);
    for (size_t k = 1; k <= shown; k++)
        ctr_buf_puts(&c->prefix, c->last[k] ? "   " : c->st->bar);
    ctr_buf_puts(&c->prefix, c->l->nodes[row->node].nkid ? c->st->vert : "  ");
    ctr_buf_putc(&c->prefix, '\0');
    if (c->prefix.err) {
        b->err = c->prefix.err;
        return;
    }
    ctr__detail_put(b, c->st, s, c->o->detail, (const char *)c->prefix.data, 3 * shown + 2,
                    c->waterfall ? c->o->width : 0);
}

/* One row: drawing, name, duration, bar, notes, then its detail lines. */
static void put_row(struct ctr_buf *b, struct trace_ctx *c, const struct ctr__rrow *row)
{
    const struct ctr__style *st = c->st;
    const struct ctr_span *s = c->l->nodes[row->node].span;
    size_t d = row->depth, shown = d < MAX_DRAW_DEPTH ? d : MAX_DRAW_DEPTH;
    size_t row_at = b->len;
    char dur[32];
    if (d <= MAX_DRAW_DEPTH)
        c->last[d] = row->last;
    for (size_t k = 1; k < shown; k++)
        ctr_buf_puts(b, c->last[k] ? "   " : st->bar);
    if (d > 0)
        ctr_buf_puts(b, row->last ? st->elbow : st->tee);
    if (d > MAX_DRAW_DEPTH)
        ctr_buf_printf(b, "[depth %zu] ", d);
    /* With bars, names are cut to the column, but never below a readable
     * NAME_MIN_CUT columns (deep rows push their bars right instead). */
    size_t pc = prefix_cols(d), max = NAME_MAX_COLS;
    if (c->waterfall)
        max = c->name_w > pc + NAME_MIN_CUT ? c->name_w - pc : NAME_MIN_CUT;
    size_t used = pc + put_name(b, s, max);
    ctr__spaces(b, used < c->name_w ? c->name_w - used : 0);
    format_ms(s, dur, sizeof dur);
    ctr_buf_puts(b, "  ");
    ctr__spaces(b, c->dur_w - strlen(dur));
    ctr_buf_printf(b, "%s ms", dur);
    size_t notes_at = b->len;
    put_notes(b, c, row);
    if (c->waterfall && !b->err) {
        /* The bar goes between the duration and the notes just written. */
        struct ctr_buf notes = {0};
        ctr_buf_append(&notes, b->data + notes_at, b->len - notes_at);
        b->len = notes_at;
        struct ctr__ctk k;
        ctr__ctk_read(s, &k);
        ctr_buf_puts(b, "  ");
        ctr__waterfall_bar(b, &c->axis, s, st, ctr__verdict_color(st, ctr__ctk_verdict(s, &k)),
                           notes.len > 0);
        ctr_buf_append(b, notes.data, notes.len);
        if (notes.err)
            b->err = notes.err;
        ctr_buf_free(&notes);
        while (b->len > row_at && b->data[b->len - 1] == ' ')
            b->len--; /* a blank bar and no notes */
    }
    ctr_buf_putc(b, '\n');
    put_details(b, c, row);
}

/* Choose the columns of the trace just walked: names, durations, and with a
 * width the bars, which get what the rest leaves. */
static void plan_columns(struct trace_ctx *c)
{
    const struct ctr__layout *l = c->l;
    size_t width = c->o->width, notes_w = 0, name_cap = NAME_COL_MAX;
    char dur[32];
    struct ctr_buf scratch = {0};
    struct ctr__style plain = *c->st;
    plain.red = plain.green = plain.cyan = plain.bold = plain.dim = plain.reset = "";
    const struct ctr__style *colored = c->st;
    c->st = &plain; /* notes are measured without colour codes */
    c->name_w = 0;
    c->dur_w = 1;
    if (c->waterfall && width * 2 / 5 < name_cap)
        name_cap = width * 2 / 5 > NAME_COL_MIN ? width * 2 / 5 : NAME_COL_MIN;
    for (size_t r = 0; r < l->n_rows; r++) {
        const struct ctr_span *s = l->nodes[l->rows[r].node].span;
        size_t w = prefix_cols(l->rows[r].depth) + put_name(NULL, s, NAME_MAX_COLS);
        if (w > c->name_w)
            c->name_w = w;
        format_ms(s, dur, sizeof dur);
        if (strlen(dur) > c->dur_w)
            c->dur_w = strlen(dur);
        if (c->waterfall) {
            ctr_buf_reset(&scratch);
            put_notes(&scratch, c, &l->rows[r]);
            size_t nc = cols_since(&scratch, 0);
            if (nc > notes_w)
                notes_w = nc;
        }
    }
    ctr_buf_free(&scratch);
    c->st = colored;
    if (c->name_w > name_cap)
        c->name_w = name_cap;
    if (!c->waterfall)
        return;
    size_t left = c->name_w + 2 + c->dur_w + 3 + 2;
    size_t reserve = notes_w < width / 4 ? notes_w : width / 4;
    size_t bar = width > left + reserve + BAR_MIN_COLS ? width - left - reserve : BAR_MIN_COLS;
    ctr__axis_init(&c->axis, l, bar);
}

/* The header and rows of the trace just walked. */
static void put_trace(struct ctr_buf *b, struct trace_ctx *c, const struct ctr__rtrace *t)
{
    collect_services(c->l, &c->sv);
    put_header(b, c->st, c->l, t, &c->sv);
    plan_columns(c);
    if (c->waterfall) {
        ctr_buf_puts(b, c->st->dim);
        ctr__waterfall_axis(b, &c->axis, c->name_w + 2 + c->dur_w + 3 + 2);
        ctr_buf_puts(b, c->st->reset);
        ctr_buf_putc(b, '\n');
    }
    memset(c->last, 0, sizeof c->last);
    for (size_t r = 0; r < c->l->n_rows; r++)
        put_row(b, c, &c->l->rows[r]);
}

/* Render every trace (or the one asked for) into `b`; with `f`, write and
 * empty `b` after each trace. Returns 0, CTR_ENOMEM or CTR_EIO. */
static int render(const struct ctr_batch *batches, size_t n, const struct ctr_render_options *o,
                  struct ctr_buf *b, FILE *f)
{
    struct ctr_render_options defaults;
    struct ctr__style st;
    struct ctr__layout l;
    if (!o) {
        ctr_render_options_default(&defaults);
        o = &defaults;
    }
    ctr__style_init(&st, o);
    struct trace_ctx c = {.st = &st, .o = o, .l = &l, .waterfall = o->width > 0};
    int rc = ctr__layout_init(&l, batches, n);
    if (rc == 0 && l.n > 0 && o->attrs && !(c.iter = calloc(l.n, sizeof *c.iter)))
        rc = CTR_ENOMEM;
    bool first = true;
    for (size_t t = 0; rc == 0 && t < l.n_traces; t++) {
        const struct ctr_span *top = l.nodes[l.traces[t].first].span;
        if (o->trace_id && memcmp(top->ctx.trace_id, o->trace_id, CTR_TRACE_ID_LEN) != 0)
            continue;
        ctr__layout_walk(&l, t);
        if (c.iter)
            ctr__ctk_number_iterations(&l, c.iter);
        if (!first)
            ctr_buf_putc(b, '\n');
        first = false;
        put_trace(b, &c, &l.traces[t]);
        rc = b->err;
        if (rc == 0 && f) {
            if (fwrite(b->data, 1, b->len, f) != b->len)
                rc = CTR_EIO;
            ctr_buf_reset(b);
        }
    }
    free(c.iter);
    ctr_buf_free(&c.prefix);
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

int ctr_render_match_traces(const struct ctr_batch *batches, size_t n, const char *prefix,
                            uint8_t (*ids)[CTR_TRACE_ID_LEN], size_t cap, size_t *count)
{
    if (!prefix || !count || (!batches && n) || (!ids && cap))
        return CTR_EINVAL;
    size_t plen = strlen(prefix);
    if (plen > 2 * CTR_TRACE_ID_LEN)
        return CTR_EINVAL;
    for (size_t i = 0; i < plen; i++)
        if (ctr_hex_digit((unsigned char)prefix[i]) < 0)
            return CTR_EINVAL;
    *count = 0;
    struct ctr__layout l;
    int rc = ctr__layout_init(&l, batches, n);
    for (size_t t = 0; rc == 0 && t < l.n_traces; t++) {
        const uint8_t *id = l.nodes[l.traces[t].first].span->ctx.trace_id;
        size_t i = 0;
        while (i < plen &&
               ctr_hex_digit((unsigned char)prefix[i]) == ((id[i / 2] >> (i % 2 ? 0 : 4)) & 0xF))
            i++;
        if (i < plen)
            continue;
        if (*count < cap)
            memcpy(ids[*count], id, CTR_TRACE_ID_LEN);
        ++*count;
    }
    ctr__layout_free(&l);
    return rc;
}
