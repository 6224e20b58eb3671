/*
 * What a span means in a Chaos Toolkit run, for every renderer: its type
 * (experiment, hypothesis, method, rollbacks, activity), the hypothesis phase
 * and continuous iteration, results (met, tolerance, status), and the tags
 * the terminal view prints after each span. See the README's "What the
 * trace contains" for the attributes the control writes.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "encode/json.h"
#include "render/internal.h"

#define TAG_MAX_COLS 64   /* one tag value */
#define VALUE_MAX_DEPTH 4 /* nested arrays shown deeper are "[...]" */

struct ctr_str ctr__attr_str(const struct ctr_attr_list *attrs, const char *key)
{
    const struct ctr_attr *a = ctr_attr_list_get(attrs, key, strlen(key));
    if (a && a->value.type == CTR_VALUE_STRING && a->value.u.s.ptr)
        return a->value.u.s;
    return (struct ctr_str){NULL, 0};
}

/* A boolean attribute: 1, 0, or -1 when absent or of another type. */
static int attr_bool(const struct ctr_attr_list *attrs, const char *key)
{
    const struct ctr_attr *a = ctr_attr_list_get(attrs, key, strlen(key));
    return a && a->value.type == CTR_VALUE_BOOL ? a->value.u.b : -1;
}

static bool str_is(struct ctr_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.ptr && s.len == n && memcmp(s.ptr, lit, n) == 0;
}

const struct ctr_event *ctr__event_named(const struct ctr_span *s, const char *name)
{
    for (uint32_t i = 0; i < s->events_len; i++)
        if (str_is(s->events[i].name, name))
            return &s->events[i];
    return NULL;
}

void ctr__ctk_read(const struct ctr_span *s, struct ctr__ctk *k)
{
    static const struct {
        const char *text;
        enum ctr__ctk_type type;
    } types[] = {
        {"experiment", CTR__CTK_EXPERIMENT}, {"hypothesis", CTR__CTK_HYPOTHESIS},
        {"method", CTR__CTK_METHOD},         {"rollback", CTR__CTK_ROLLBACKS},
        {"rollbacks", CTR__CTK_ROLLBACKS},   {"activity", CTR__CTK_ACTIVITY},
    };
    const struct ctr_attr_list *a = &s->attrs;
    memset(k, 0, sizeof *k);
    k->type_text = ctr__attr_str(a, "chaostoolkit.type");
    k->type = k->type_text.ptr ? CTR__CTK_OTHER : CTR__CTK_NONE;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (str_is(k->type_text, types[i].text))
            k->type = types[i].type;
    k->phase = ctr__attr_str(a, "chaostoolkit.hypothesis.phase");
    k->met = attr_bool(a, "chaostoolkit.hypothesis.met");
    const struct ctr_attr *it = ctr_attr_list_get(a, "chaostoolkit.hypothesis.iteration", 33);
    if (it && it->value.type == CTR_VALUE_INT && it->value.u.i > 0)
        k->iteration = it->value.u.i;
    k->activity = ctr__attr_str(a, "chaostoolkit.activity.type");
    k->background = attr_bool(a, "chaostoolkit.activity.background");
    k->tolerance_met = attr_bool(a, "chaostoolkit.activity.tolerance_met");
    k->status = ctr__attr_str(a, k->type == CTR__CTK_EXPERIMENT ? "chaostoolkit.experiment.status"
                                                                : "chaostoolkit.activity.status");
    k->deviated = attr_bool(a, "chaostoolkit.experiment.deviated");
    k->interrupted = attr_bool(a, "chaostoolkit.experiment.interrupted");
    k->dry = attr_bool(a, "chaostoolkit.experiment.dry");
    k->exit_signal = ctr__attr_str(a, "chaostoolkit.experiment.exit_signal");
}

bool ctr__ctk_is_continuous(const struct ctr__ctk *k)
{
    return k->type == CTR__CTK_HYPOTHESIS && str_is(k->phase, "continuous");
}

enum ctr__verdict ctr__ctk_verdict(const struct ctr_span *s, const struct ctr__ctk *k)
{
    if (s->status == CTR_STATUS_ERROR)
        return CTR__BAD;
    switch (k->type) {
    case CTR__CTK_ACTIVITY:
        if (str_is(k->status, "failed") || str_is(k->status, "interrupted") ||
            k->tolerance_met == 0)
            return CTR__BAD;
        if (str_is(k->status, "succeeded"))
            return CTR__GOOD;
        break;
    case CTR__CTK_HYPOTHESIS:
        if (k->met >= 0)
            return k->met ? CTR__GOOD : CTR__BAD;
        break;
    case CTR__CTK_EXPERIMENT:
        if (k->deviated == 1 || k->interrupted == 1 ||
            (k->status.ptr && !str_is(k->status, "completed")))
            return CTR__BAD;
        if (str_is(k->status, "completed"))
            return CTR__GOOD;
        break;
    default:
        break;
    }
    return s->status == CTR_STATUS_OK ? CTR__GOOD : CTR__NEUTRAL;
}

/* Continuous hypotheses ordered by start time, then node. */
struct cont {
    uint64_t start;
    size_t node;
};

static int cmp_cont(const void *pa, const void *pb)
{
    const struct cont *a = pa, *b = pb;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->node < b->node ? -1 : a->node > b->node;
}

void ctr__ctk_number_iterations(const struct ctr__layout *l, int64_t *iter)
{
    size_t n = 0, unnumbered = 0;
    for (size_t r = 0; r < l->n_rows; r++) {
        size_t node = l->rows[r].node;
        struct ctr__ctk k;
        ctr__ctk_read(l->nodes[node].span, &k);
        bool cont = ctr__ctk_is_continuous(&k);
        iter[node] = cont ? (k.iteration > 0 ? k.iteration : -1) : 0;
        n += cont;
        unnumbered += iter[node] == -1;
    }
    if (unnumbered == 0)
        return;
    /* Rank by start among all the continuous hypotheses; without memory,
     * number them in row order, which is start order among siblings. */
    struct cont *c = malloc(n * sizeof *c);
    size_t m = 0;
    for (size_t r = 0; r < l->n_rows; r++) {
        size_t node = l->rows[r].node;
        if (iter[node] == 0)
            continue;
        if (c)
            c[m++] = (struct cont){l->nodes[node].span->start_ns, node};
        else if (iter[node] == -1)
            iter[node] = (int64_t)++m;
    }
    if (!c)
        return;
    qsort(c, m, sizeof *c, cmp_cont);
    for (size_t i = 0; i < m; i++)
        if (iter[c[i].node] == -1)
            iter[c[i].node] = (int64_t)i + 1;
    free(c);
}

/* Append `text` after the separator `*sep`, which becomes a space. */
static void tag(struct ctr_buf *b, const char **sep, const char *text)
{
    ctr_buf_puts(b, *sep);
    ctr_buf_puts(b, text);
    *sep = " ";
}

static void tag_str(struct ctr_buf *b, const char **sep, struct ctr_str s)
{
    if (!s.ptr)
        return;
    ctr_buf_puts(b, *sep);
    ctr__display_put(b, s.ptr, s.len, TAG_MAX_COLS);
    *sep = " ";
}

/* The value of attribute `key`, whatever its type, when it has one. */
static void tag_attr(struct ctr_buf *b, const char **sep, const struct ctr_span *s, const char *key)
{
    const struct ctr_attr *a = ctr_attr_list_get(&s->attrs, key, strlen(key));
    if (!a || a->value.type == CTR_VALUE_EMPTY)
        return;
    ctr_buf_puts(b, *sep);
    ctr__value_put(b, &a->value, TAG_MAX_COLS);
    *sep = " ";
}

/* The tags of the Chaos Toolkit span kinds. */
static void ctk_tags(struct ctr_buf *b, const char **sep, const struct ctr_span *s,
                     const struct ctr__ctk *k, int64_t iter)
{
    switch (k->type) {
    case CTR__CTK_HYPOTHESIS:
        tag(b, sep, "hypothesis");
        tag_str(b, sep, k->phase);
        if (iter > 0)
            ctr_buf_printf(b, " iteration %" PRId64, iter);
        if (k->met >= 0)
            tag(b, sep, k->met ? "met" : "deviated");
        break;
    case CTR__CTK_ACTIVITY:
        tag_str(b, sep, k->activity.ptr ? k->activity : k->type_text);
        if (k->background == 1)
            tag(b, sep, "background");
        tag_str(b, sep, k->status);
        break;
    case CTR__CTK_EXPERIMENT:
        tag(b, sep, "experiment");
        tag_str(b, sep, k->status);
        if (k->deviated == 1)
            tag(b, sep, "deviated");
        if (k->interrupted == 1)
            tag(b, sep, "interrupted");
        tag_str(b, sep, k->exit_signal);
        if (k->dry == 1)
            tag(b, sep, "dry");
        break;
    default: /* as written, whatever their types */
        tag_attr(b, sep, s, "chaostoolkit.type");
        tag_attr(b, sep, s, "chaostoolkit.activity.status");
        break;
    }
}

void ctr__ctk_put_tags(struct ctr_buf *b, const struct ctr_span *s, const struct ctr__ctk *k,
                       int64_t iteration)
{
    size_t at = b->len;
    const char *sep = "  [";
    ctk_tags(b, &sep, s, k, iteration);
    const struct ctr_attr *http = ctr_attr_list_get(&s->attrs, "http.response.status_code", 25);
    if (!http || http->value.type == CTR_VALUE_EMPTY)
        http = ctr_attr_list_get(&s->attrs, "http.status_code", 16); /* older conventions */
    if (http && http->value.type != CTR_VALUE_EMPTY) {
        tag(b, &sep, "http ");
        ctr__value_put(b, &http->value, TAG_MAX_COLS);
    }
    if (b->len > at)
        ctr_buf_putc(b, ']');
}

/* Append the raw text of `v` to `b` (strings unescaped: the caller makes
 * the whole display-safe), stopping once `b` holds more than `budget`
 * bytes. */
static void value_raw(struct ctr_buf *b, const struct ctr_value *v, size_t budget, int depth)
{
    char tmp[CTR__JSON_DOUBLE_MAX];
    switch (v->type) {
    case CTR_VALUE_STRING:
        if (!v->u.s.ptr || v->u.s.len == 0)
            ctr_buf_puts(b, "\"\"");
        else
            ctr_buf_append(b, v->u.s.ptr, v->u.s.len < budget ? v->u.s.len : budget);
        return;
    case CTR_VALUE_INT:
        ctr_buf_printf(b, "%" PRId64, v->u.i);
        return;
    case CTR_VALUE_DOUBLE:
        ctr_buf_append(b, tmp, ctr__json_format_double(v->u.d, tmp));
        return;
    case CTR_VALUE_BOOL:
        ctr_buf_puts(b, v->u.b ? "true" : "false");
        return;
    case CTR_VALUE_BYTES:
        ctr_buf_printf(b, "<%zu bytes>", v->u.s.len);
        return;
    case CTR_VALUE_ARRAY:
        break;
    default:
        ctr_buf_puts(b, "(empty)");
        return;
    }
    if (depth >= VALUE_MAX_DEPTH) {
        ctr_buf_puts(b, "[...]");
        return;
    }
    ctr_buf_putc(b, '[');
    for (size_t i = 0; i < v->u.array.len && b->len <= budget; i++) {
        if (i)
            ctr_buf_puts(b, ", ");
        value_raw(b, &v->u.array.items[i], budget, depth + 1);
    }
    ctr_buf_putc(b, ']');
}

size_t ctr__value_put(struct ctr_buf *b, const struct ctr_value *v, size_t max_cols)
{
    if (max_cols < 2)
        max_cols = 2;
    if (v->type == CTR_VALUE_STRING && v->u.s.ptr && v->u.s.len)
        return ctr__display_put(b, v->u.s.ptr, v->u.s.len, max_cols);
    /* A code point takes at most 4 bytes: this budget always overflows
     * the columns when the text is longer than they allow. */
    struct ctr_buf raw = {0};
    value_raw(&raw, v, 4 * max_cols + 8, 0);
    size_t cols = raw.err ? ctr__display_put(b, "?", 1, max_cols)
                          : ctr__display_put(b, (const char *)raw.data, raw.len, max_cols);
    ctr_buf_free(&raw);
    return cols;
}
