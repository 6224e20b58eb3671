/*
 * The lines below a span's row in the terminal view. Always (when asked):
 * why it failed (each exception event's type and message) and, for a
 * deviated hypothesis, the probe that deviated with its value and
 * tolerance. With -v also every attribute, event (with its offset from the
 * span's start and its attributes) and link. Multi-line strings (stack
 * traces) are shown line by line; every line is display-safe and cut to the
 * width.
 */
#include <string.h>

#include "render/internal.h"

#define NO_WIDTH_COLS 200 /* a line's text without a width to fit */
#define MIN_TEXT_COLS 40  /* never cut text shorter than this */
#define PART_MAX_COLS 60  /* a probe's value or tolerance in its summary */

/* The lines of one span: where they start and how wide they may be. */
struct lines {
    struct ctr_buf *b;
    const struct ctr__style *st;
    const char *prefix;
    size_t prefix_cols, width;
};

/* Columns left for text indented by `indent` after the prefix. */
static size_t room(const struct lines *ln, size_t indent)
{
    if (ln->width == 0)
        return NO_WIDTH_COLS;
    size_t used = ln->prefix_cols + indent;
    return ln->width > used + MIN_TEXT_COLS ? ln->width - used : MIN_TEXT_COLS;
}

static void start_line(const struct lines *ln, size_t indent)
{
    ctr_buf_puts(ln->b, ln->prefix);
    ctr__spaces(ln->b, indent);
}

static void end_line(const struct lines *ln)
{
    ctr_buf_putc(ln->b, '\n');
}

/* The text of an event attribute that is a string, else {NULL, 0}. */
static struct ctr_str event_str(const struct ctr_event *e, const char *key)
{
    return ctr__attr_str(&e->attrs, key);
}

/* Append `s` (or `fallback` when absent), at most `max` columns; returns
 * the columns written. */
static size_t put_str(struct ctr_buf *b, struct ctr_str s, const char *fallback, size_t max)
{
    if (!s.ptr)
        return ctr__display_put(b, fallback, strlen(fallback), max);
    return ctr__display_put(b, s.ptr, s.len, max);
}

/* "exception TYPE: MESSAGE" for each exception event. */
static void exceptions(const struct lines *ln, const struct ctr_span *s)
{
    for (uint32_t i = 0; i < s->events_len; i++) {
        const struct ctr_event *e = &s->events[i];
        if (!e->name.ptr || e->name.len != 9 || memcmp(e->name.ptr, "exception", 9) != 0)
            continue;
        size_t max = room(ln, 0);
        start_line(ln, 0);
        ctr_buf_puts(ln->b, ln->st->red);
        size_t cols = put_str(ln->b, (struct ctr_str){"exception ", 10}, "", max);
        cols += put_str(ln->b, event_str(e, "exception.type"), "(no type)", max - cols);
        struct ctr_str msg = event_str(e, "exception.message");
        if (msg.ptr && msg.len && cols + 4 < max) {
            cols += put_str(ln->b, (struct ctr_str){": ", 2}, "", max - cols);
            put_str(ln->b, msg, "", max - cols);
        }
        ctr_buf_puts(ln->b, ln->st->reset);
        end_line(ln);
    }
}

/* "deviated: PROBE returned VALUE (tolerance: TOLERANCE)" for each
 * deviation event of a hypothesis. */
static void deviations(const struct lines *ln, const struct ctr_span *s)
{
    for (uint32_t i = 0; i < s->events_len; i++) {
        const struct ctr_event *e = &s->events[i];
        static const char name[] = "chaostoolkit.hypothesis.deviated";
        if (!e->name.ptr || e->name.len != sizeof name - 1 ||
            memcmp(e->name.ptr, name, e->name.len))
            continue;
        struct ctr_buf *b = ln->b;
        struct ctr_str status = event_str(e, "chaostoolkit.probe.status");
        start_line(ln, 0);
        ctr_buf_puts(b, ln->st->red);
        ctr_buf_puts(b, "deviated: ");
        put_str(b, event_str(e, "chaostoolkit.probe.name"), "(probe)", PART_MAX_COLS);
        if (status.ptr && !(status.len == 9 && memcmp(status.ptr, "succeeded", 9) == 0)) {
            ctr_buf_puts(b, " ");
            put_str(b, status, "", PART_MAX_COLS);
            ctr_buf_puts(b, ",");
        }
        ctr_buf_puts(b, " returned ");
        put_str(b, event_str(e, "chaostoolkit.probe.output"), "(nothing)", PART_MAX_COLS);
        ctr_buf_puts(b, " (tolerance: ");
        put_str(b, event_str(e, "chaostoolkit.probe.tolerance"), "?", PART_MAX_COLS);
        ctr_buf_puts(b, ")");
        ctr_buf_puts(b, ln->st->reset);
        end_line(ln);
    }
}

/* One attribute: "key = value", or for a multi-line string "key =" and its
 * lines indented below. */
static void attribute(const struct lines *ln, const struct ctr_attr *a, size_t indent)
{
    const struct ctr_value *v = &a->value;
    size_t max = room(ln, indent);
    start_line(ln, indent);
    size_t cols = ctr__display_put(ln->b, a->key.ptr, a->key.ptr ? a->key.len : 0, max);
    ctr_buf_puts(ln->b, " =");
    cols += 2;
    const char *nl =
        v->type == CTR_VALUE_STRING && v->u.s.ptr ? memchr(v->u.s.ptr, '\n', v->u.s.len) : NULL;
    if (!nl) {
        ctr_buf_putc(ln->b, ' ');
        ctr__value_put(ln->b, v, max > cols + 1 + 2 ? max - cols - 1 : 2);
        end_line(ln);
        return;
    }
    end_line(ln);
    const char *p = v->u.s.ptr, *end = p + v->u.s.len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
        start_line(ln, indent + 2);
        ctr__display_put(ln->b, p, n, room(ln, indent + 2));
        end_line(ln);
        p += n + (eol != NULL);
    }
}

static void dropped(const struct lines *ln, uint32_t n, const char *what, size_t indent)
{
    if (n == 0)
        return;
    start_line(ln, indent);
    ctr_buf_printf(ln->b, "(%u %s%s dropped)", (unsigned)n, what, n == 1 ? "" : "s");
    end_line(ln);
}

/* Every attribute, event and link of `s`. */
static void everything(const struct lines *ln, const struct ctr_span *s)
{
    struct ctr_buf *b = ln->b;
    for (uint32_t i = 0; i < s->attrs.len; i++)
        attribute(ln, &s->attrs.items[i], 0);
    dropped(ln, s->attrs.dropped, "attribute", 0);
    for (uint32_t i = 0; i < s->events_len; i++) {
        const struct ctr_event *e = &s->events[i];
        char at[40] = "?";
        if (e->time_ns >= s->start_ns && s->start_ns)
            ctr__format_ms(e->time_ns - s->start_ns, at, sizeof at);
        start_line(ln, 0);
        ctr_buf_printf(b, "%sevent%s ", ln->st->dim, ln->st->reset);
        put_str(b, e->name, "(no name)", room(ln, 6 + 2 + strlen(at) + 3));
        ctr_buf_printf(b, "  +%s ms", at);
        end_line(ln);
        for (uint32_t k = 0; k < e->attrs.len; k++)
            attribute(ln, &e->attrs.items[k], 2);
        dropped(ln, e->attrs.dropped, "attribute", 2);
    }
    dropped(ln, s->events_dropped, "event", 0);
    for (uint32_t i = 0; i < s->links_len; i++) {
        char trace[2 * CTR_TRACE_ID_LEN + 1], span[2 * CTR_SPAN_ID_LEN + 1];
        ctr_hex_encode(s->links[i].ctx.trace_id, CTR_TRACE_ID_LEN, trace);
        ctr_hex_encode(s->links[i].ctx.span_id, CTR_SPAN_ID_LEN, span);
        start_line(ln, 0);
        ctr_buf_printf(b, "%slink%s %s %s", ln->st->dim, ln->st->reset, trace, span);
        end_line(ln);
        for (uint32_t k = 0; k < s->links[i].attrs.len; k++)
            attribute(ln, &s->links[i].attrs.items[k], 2);
    }
    dropped(ln, s->links_dropped, "link", 0);
}

void ctr__detail_put(struct ctr_buf *b, const struct ctr__style *st, const struct ctr_span *s,
                     enum ctr__detail_level level, const char *prefix, size_t prefix_cols,
                     size_t width)
{
    if (level == CTR__DETAIL_NONE)
        return;
    struct lines ln = {b, st, prefix, prefix_cols, width};
    deviations(&ln, s);
    exceptions(&ln, s);
    if (level == CTR__DETAIL_ALL)
        everything(&ln, s);
}
