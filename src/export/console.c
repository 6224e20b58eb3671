/*
 * The console exporter: each batch as a readable span tree.
 *
 *   trace 4bf92f3577b34da6a3ce929d0e0e4736
 *     experiment  [internal] 1500.000 ms  OK
 *         chaos.title="my experiment" runs=3
 *         event started +0.250 ms  phase=setup
 *       method  [internal] 900.000 ms  ERROR: "probe failed"
 *
 * Spans are grouped by trace, traces and siblings ordered by start time,
 * children indented under their parent; a span whose parent is not in the
 * batch is shown at the top of its trace. Output is plain ASCII: control
 * characters and bytes above 0x7e are written as \xHH. One fwrite per batch.
 */
#include <chaostracing/exporter.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Indentation stops growing past this depth. */
#define MAX_INDENT_DEPTH 32
/* Attribute lines are wrapped near this column. */
#define WRAP_COLUMN 100
/* Longest string value shown before "...". */
#define MAX_VALUE_BYTES 200
/* Most array items shown. */
#define MAX_ARRAY_ITEMS 16
/* Buffers larger than this are released after each export. */
#define KEEP_BUFFER_BYTES (1u << 20)

struct console_exporter {
    struct ctr_exporter base;
    FILE *stream;
    bool shut;
    struct ctr_buf out;
};

/* Append `s` with control and non-ASCII bytes (and the backslash) escaped;
 * with `quoted`, also escape the double quote. At most `max` input bytes are
 * shown, then "...". */
static void put_escaped(struct ctr_buf *b, const char *s, size_t len, bool quoted, size_t max)
{
    size_t n = len > max ? max : len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || (quoted && c == '"')) {
            ctr_buf_putc(b, '\\');
            ctr_buf_putc(b, c);
        } else if (c == '\n') {
            ctr_buf_puts(b, "\\n");
        } else if (c == '\t') {
            ctr_buf_puts(b, "\\t");
        } else if (c < 0x20 || c > 0x7e) {
            ctr_buf_printf(b, "\\x%02x", c);
        } else {
            ctr_buf_putc(b, c);
        }
    }
    if (len > max)
        ctr_buf_puts(b, "...");
}

/* True when a string value can be shown without quotes. */
static bool bare_ok(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (c && strchr("._-:/@+%", c));
        if (!ok)
            return false;
    }
    return true;
}

/* Append a string value, quoted when it holds anything but plain tokens. */
static void put_str_value(struct ctr_buf *b, struct ctr_str s)
{
    const char *p = s.ptr ? s.ptr : "";
    size_t len = s.ptr ? s.len : 0;
    if (bare_ok(p, len) && len <= MAX_VALUE_BYTES) {
        ctr_buf_append(b, p, len);
        return;
    }
    ctr_buf_putc(b, '"');
    put_escaped(b, p, len, true, MAX_VALUE_BYTES);
    ctr_buf_putc(b, '"');
}

/* Append one attribute value in compact form. */
static void put_value(struct ctr_buf *b, const struct ctr_value *v, bool in_array)
{
    switch (v->type) {
    case CTR_VALUE_STRING:
        put_str_value(b, v->u.s);
        break;
    case CTR_VALUE_BOOL:
        ctr_buf_puts(b, v->u.b ? "true" : "false");
        break;
    case CTR_VALUE_INT:
        ctr_buf_printf(b, "%" PRId64, v->u.i);
        break;
    case CTR_VALUE_DOUBLE:
        ctr_buf_printf(b, "%.15g", v->u.d);
        break;
    case CTR_VALUE_BYTES:
        if (v->u.s.len <= 32) {
            ctr_buf_puts(b, "0x");
            for (size_t i = 0; i < v->u.s.len; i++)
                ctr_buf_printf(b, "%02x", (unsigned char)v->u.s.ptr[i]);
        } else {
            ctr_buf_printf(b, "<%zu bytes>", v->u.s.len);
        }
        break;
    case CTR_VALUE_ARRAY:
        if (in_array) {
            ctr_buf_puts(b, "[...]");
            break;
        }
        ctr_buf_putc(b, '[');
        for (size_t i = 0; i < v->u.array.len && i < MAX_ARRAY_ITEMS; i++) {
            if (i)
                ctr_buf_putc(b, ',');
            put_value(b, &v->u.array.items[i], true);
        }
        if (v->u.array.len > MAX_ARRAY_ITEMS)
            ctr_buf_printf(b, ",...(%zu more)", v->u.array.len - MAX_ARRAY_ITEMS);
        ctr_buf_putc(b, ']');
        break;
    case CTR_VALUE_EMPTY:
    default:
        ctr_buf_puts(b, "<empty>");
        break;
    }
}

static void put_indent(struct ctr_buf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ctr_buf_putc(b, ' ');
}

/* Append "key=value" items on lines indented by `indent`, wrapped near
 * WRAP_COLUMN. When `line_start` is not SIZE_MAX, the items continue the
 * line that begins at that offset of `b` (an event or link head), after two
 * spaces; otherwise they start on a new line. Ends the last line. */
static void put_attrs(struct ctr_buf *b, const struct ctr_attr_list *l, size_t indent,
                      size_t line_start)
{
    bool open = line_start != SIZE_MAX; /* a line is being written */
    bool head = open;                   /* ... and it begins with an event/link head */
    size_t on_line = 0;                 /* items on the current line */
    struct ctr_buf item = {0};
    for (uint32_t i = 0; i < l->len; i++) {
        const struct ctr_attr *a = &l->items[i];
        ctr_buf_reset(&item);
        put_escaped(&item, a->key.ptr ? a->key.ptr : "", a->key.ptr ? a->key.len : 0, false,
                    MAX_VALUE_BYTES);
        ctr_buf_putc(&item, '=');
        put_value(&item, &a->value, false);
        if (item.err) {
            b->err = item.err;
            break;
        }
        if (open && on_line > 0 && b->len - line_start + 1 + item.len > WRAP_COLUMN) {
            ctr_buf_putc(b, '\n');
            open = head = false;
        }
        if (!open) {
            line_start = b->len;
            put_indent(b, indent);
            open = true;
            on_line = 0;
        }
        if (on_line > 0)
            ctr_buf_putc(b, ' ');
        else if (head)
            ctr_buf_puts(b, "  ");
        ctr_buf_append(b, item.data, item.len);
        on_line++;
    }
    ctr_buf_free(&item);
    if (l->dropped) {
        if (!open) {
            put_indent(b, indent);
            open = true;
        } else {
            ctr_buf_putc(b, ' ');
        }
        ctr_buf_printf(b, "(%" PRIu32 " dropped)", l->dropped);
    }
    if (open)
        ctr_buf_putc(b, '\n');
}

/* Append a duration or offset in milliseconds with three decimals. */
static void put_ms(struct ctr_buf *b, uint64_t ns)
{
    ctr_buf_printf(b, "%" PRIu64 ".%03u ms", ns / 1000000u, (unsigned)(ns % 1000000u / 1000u));
}

/* Append one span: its line, attributes, events and links. */
static void put_span(struct ctr_buf *b, const struct ctr_span *s, size_t depth)
{
    size_t indent = 2 + 2 * (depth > MAX_INDENT_DEPTH ? MAX_INDENT_DEPTH : depth);
    put_indent(b, indent);
    put_escaped(b, s->name.ptr ? s->name.ptr : "", s->name.ptr ? s->name.len : 0, false,
                MAX_VALUE_BYTES);
    ctr_buf_printf(b, "  [%s] ", ctr_span_kind_name(s->kind));
    put_ms(b, s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0);
    switch (s->status) {
    case CTR_STATUS_OK:
        ctr_buf_puts(b, "  OK\n");
        break;
    case CTR_STATUS_ERROR:
        ctr_buf_puts(b, "  ERROR");
        if (s->status_message.ptr && s->status_message.len) {
            ctr_buf_puts(b, ": ");
            put_str_value(b, s->status_message);
        }
        ctr_buf_putc(b, '\n');
        break;
    case CTR_STATUS_UNSET:
    default:
        ctr_buf_puts(b, "  UNSET\n");
        break;
    }
    size_t sub = indent + 4;
    put_attrs(b, &s->attrs, sub, SIZE_MAX);
    for (uint32_t i = 0; i < s->events_len; i++) {
        const struct ctr_event *ev = &s->events[i];
        size_t start = b->len;
        put_indent(b, sub);
        ctr_buf_puts(b, "event ");
        put_escaped(b, ev->name.ptr ? ev->name.ptr : "", ev->name.ptr ? ev->name.len : 0, false,
                    MAX_VALUE_BYTES);
        if (ev->time_ns >= s->start_ns) {
            ctr_buf_puts(b, " +");
            put_ms(b, ev->time_ns - s->start_ns);
        } else {
            ctr_buf_puts(b, " -");
            put_ms(b, s->start_ns - ev->time_ns);
        }
        if (ev->attrs.len || ev->attrs.dropped)
            put_attrs(b, &ev->attrs, sub + 2, start);
        else
            ctr_buf_putc(b, '\n');
    }
    if (s->events_dropped) {
        put_indent(b, sub);
        ctr_buf_printf(b, "(%" PRIu32 " events dropped)\n", s->events_dropped);
    }
    for (uint32_t i = 0; i < s->links_len; i++) {
        const struct ctr_link *ln = &s->links[i];
        char tid[2 * CTR_TRACE_ID_LEN + 1], sid[2 * CTR_SPAN_ID_LEN + 1];
        ctr_hex_encode(ln->ctx.trace_id, CTR_TRACE_ID_LEN, tid);
        ctr_hex_encode(ln->ctx.span_id, CTR_SPAN_ID_LEN, sid);
        size_t start = b->len;
        put_indent(b, sub);
        ctr_buf_printf(b, "link %s-%s", tid, sid);
        if (ln->attrs.len || ln->attrs.dropped)
            put_attrs(b, &ln->attrs, sub + 2, start);
        else
            ctr_buf_putc(b, '\n');
    }
    if (s->links_dropped) {
        put_indent(b, sub);
        ctr_buf_printf(b, "(%" PRIu32 " links dropped)\n", s->links_dropped);
    }
}

struct by_start {
    uint64_t start;
    size_t idx;
};

static int cmp_start(const void *a, const void *b)
{
    const struct by_start *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Ids of one span, for finding parents by binary search. */
struct by_id {
    uint8_t key[CTR_TRACE_ID_LEN + CTR_SPAN_ID_LEN];
    size_t idx;
};

static int cmp_id(const void *a, const void *b)
{
    const struct by_id *x = a, *y = b;
    int c = memcmp(x->key, y->key, sizeof x->key);
    if (c)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_id_key(const void *k, const void *elt)
{
    return memcmp(k, ((const struct by_id *)elt)->key, CTR_TRACE_ID_LEN + CTR_SPAN_ID_LEN);
}

struct tree {
    const struct ctr_batch *batch;
    struct by_start *order; /* spans by start time */
    size_t *parent;         /* index of the parent in the batch, SIZE_MAX for none */
    size_t *kids;           /* children of every span, grouped, in start order */
    size_t *kid_start;      /* span i's children: kids[kid_start[i] .. kid_start[i+1]) */
    bool *printed;
    size_t *stack; /* pairs (span index, depth) */
};

/* Print the subtree under `root` (depth 0), skipping spans already printed
 * (which also breaks parent cycles). */
static void put_subtree(struct ctr_buf *b, struct tree *t, size_t root)
{
    size_t sp = 0;
    t->stack[sp++] = root;
    t->stack[sp++] = 0;
    while (sp > 0) {
        size_t depth = t->stack[--sp];
        size_t i = t->stack[--sp];
        if (t->printed[i])
            continue;
        t->printed[i] = true;
        put_span(b, t->batch->spans[i], depth);
        /* Push children last-first so the earliest is printed first. */
        for (size_t k = t->kid_start[i + 1]; k > t->kid_start[i]; k--) {
            size_t c = t->kids[k - 1];
            if (t->printed[c])
                continue;
            t->stack[sp++] = c;
            t->stack[sp++] = depth + 1;
        }
    }
}

/* Render a whole batch into `b`. Returns 0 or CTR_ENOMEM. */
static int render(struct ctr_buf *b, const struct ctr_batch *batch)
{
    size_t n = batch->len;
    struct tree t = {.batch = batch};
    struct by_id *ids = calloc(n, sizeof *ids);
    t.order = calloc(n, sizeof *t.order);
    t.parent = calloc(n, sizeof *t.parent);
    t.kids = calloc(n, sizeof *t.kids);
    t.kid_start = calloc(n + 1, sizeof *t.kid_start);
    t.printed = calloc(n, sizeof *t.printed);
    /* Each span is pushed at most once by its parent, plus once as a root. */
    t.stack = calloc(4 * n, sizeof *t.stack);
    int rc = 0;
    if (!ids || !t.order || !t.parent || !t.kids || !t.kid_start || !t.printed || !t.stack) {
        rc = CTR_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct ctr_span *s = batch->spans[i];
        t.order[i] = (struct by_start){s->start_ns, i};
        memcpy(ids[i].key, s->ctx.trace_id, CTR_TRACE_ID_LEN);
        memcpy(ids[i].key + CTR_TRACE_ID_LEN, s->ctx.span_id, CTR_SPAN_ID_LEN);
        ids[i].idx = i;
    }
    qsort(t.order, n, sizeof *t.order, cmp_start);
    qsort(ids, n, sizeof *ids, cmp_id);

    /* Parents, then children grouped per parent in start order (a counting
     * sort over the start-ordered list). */
    size_t *count = t.kid_start; /* counts first, turned into offsets below */
    for (size_t i = 0; i < n; i++) {
        const struct ctr_span *s = batch->spans[i];
        t.parent[i] = SIZE_MAX;
        if (!s->has_parent)
            continue;
        uint8_t key[CTR_TRACE_ID_LEN + CTR_SPAN_ID_LEN];
        memcpy(key, s->ctx.trace_id, CTR_TRACE_ID_LEN);
        memcpy(key + CTR_TRACE_ID_LEN, s->parent_span_id, CTR_SPAN_ID_LEN);
        const struct by_id *p = bsearch(key, ids, n, sizeof *ids, cmp_id_key);
        if (p && p->idx != i) {
            t.parent[i] = p->idx;
            count[p->idx + 1]++;
        }
    }
    for (size_t i = 0; i < n; i++)
        t.kid_start[i + 1] += t.kid_start[i];
    {
        size_t *fill = calloc(n + 1, sizeof *fill);
        if (!fill) {
            rc = CTR_ENOMEM;
            goto out;
        }
        memcpy(fill, t.kid_start, (n + 1) * sizeof *fill);
        for (size_t o = 0; o < n; o++) {
            size_t i = t.order[o].idx;
            if (t.parent[i] != SIZE_MAX)
                t.kids[fill[t.parent[i]]++] = i;
        }
        free(fill);
    }

    /* Traces in order of their earliest span; in each, the roots in start
     * order, then whatever a parent cycle left unprinted. */
    for (size_t o = 0; o < n; o++) {
        const struct ctr_span *first = batch->spans[t.order[o].idx];
        if (t.printed[t.order[o].idx])
            continue;
        char tid[2 * CTR_TRACE_ID_LEN + 1];
        ctr_hex_encode(first->ctx.trace_id, CTR_TRACE_ID_LEN, tid);
        ctr_buf_printf(b, "trace %s\n", tid);
        for (int pass = 0; pass < 2; pass++) {
            for (size_t q = o; q < n; q++) {
                size_t i = t.order[q].idx;
                const struct ctr_span *s = batch->spans[i];
                if (t.printed[i] || (pass == 0 && t.parent[i] != SIZE_MAX) ||
                    memcmp(s->ctx.trace_id, first->ctx.trace_id, CTR_TRACE_ID_LEN) != 0)
                    continue;
                put_subtree(b, &t, i);
            }
        }
    }
    if (b->err)
        rc = b->err;
out:
    free(ids);
    free(t.order);
    free(t.parent);
    free(t.kids);
    free(t.kid_start);
    free(t.printed);
    free(t.stack);
    return rc;
}

/* export_batch op: render and write the batch. Returns 0, CTR_ENOMEM,
 * CTR_EIO (the stream failed) or CTR_ESHUTDOWN. */
static int console_export(struct ctr_exporter *e, const struct ctr_batch *batch,
                          uint64_t deadline_ns)
{
    (void)deadline_ns;
    struct console_exporter *x = (struct console_exporter *)e;
    if (!batch || batch->len == 0)
        return 0;
    int rc = x->shut ? CTR_ESHUTDOWN : 0;
    if (rc == 0) {
        ctr_buf_reset(&x->out);
        rc = render(&x->out, batch);
    }
    if (rc == 0) {
        if (fwrite(x->out.data, 1, x->out.len, x->stream) != x->out.len || fflush(x->stream) != 0)
            rc = CTR_EIO;
    }
    if (rc == 0) {
        atomic_fetch_add(&x->base.stats.spans_exported, (uint_fast64_t)batch->len);
    } else {
        atomic_fetch_add(&x->base.stats.spans_failed, (uint_fast64_t)batch->len);
        atomic_fetch_add(&x->base.stats.batches_failed, 1);
    }
    if (x->out.cap > KEEP_BUFFER_BYTES)
        ctr_buf_free(&x->out);
    return rc;
}

/* shutdown op: flush the stream (it is not ours to close). */
static int console_shutdown(struct ctr_exporter *e, uint64_t deadline_ns)
{
    (void)deadline_ns;
    struct console_exporter *x = (struct console_exporter *)e;
    x->shut = true;
    return fflush(x->stream) == 0 ? 0 : CTR_EIO;
}

static void console_destroy(struct ctr_exporter *e)
{
    struct console_exporter *x = (struct console_exporter *)e;
    ctr_buf_free(&x->out);
    free(x);
}

static const struct ctr_exporter_ops console_ops = {
    .name = "console",
    .export_batch = console_export,
    .shutdown = console_shutdown,
    .after_fork_child = NULL,
    .destroy = console_destroy,
};

/* Creates the exporter; the stream is borrowed and must outlive it.
 * Returns 0 or CTR_ENOMEM. */
int ctr_console_exporter_new(FILE *stream, struct ctr_exporter **out)
{
    *out = NULL;
    struct console_exporter *x = calloc(1, sizeof *x);
    if (!x)
        return CTR_ENOMEM;
    x->stream = stream ? stream : stderr;
    ctr_exporter_init(&x->base, &console_ops);
    snprintf(x->base.destination, sizeof x->base.destination, "%s",
             x->stream == stderr   ? "stderr"
             : x->stream == stdout ? "stdout"
                                   : "stream");
    *out = &x->base;
    return 0;
}
