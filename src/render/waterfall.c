/*
 * The waterfall beside the span tree: each span's bar placed on its trace's
 * time axis, one character cell at a time. The axis runs from the earliest
 * start to the latest end of the trace's spans; a cell covers
 * (t1 - t0) / cols of it. A span covers the cells between its rounded start
 * and end (at least one); one shorter than half a cell is a thin mark in the
 * cell where it starts, so instants stay visible, and two spans that overlap
 * in time (background activities) overlap on screen too.
 */
#include <inttypes.h>
#include <string.h>

#include "render/internal.h"

void ctr__format_ms(uint64_t ns, char *out, size_t n)
{
    uint64_t tenths = (ns + 50000) / 100000;
    snprintf(out, n, "%" PRIu64 ".%u", tenths / 10, (unsigned)(tenths % 10));
}

static bool valid_times(const struct ctr_span *s)
{
    return s->start_ns != 0 && s->end_ns >= s->start_ns;
}

void ctr__axis_init(struct ctr__axis *ax, const struct ctr__layout *l, size_t cols)
{
    ax->t0 = UINT64_MAX;
    ax->t1 = 0;
    ax->cols = cols;
    for (size_t r = 0; r < l->n_rows; r++) {
        const struct ctr_span *s = l->nodes[l->rows[r].node].span;
        if (!valid_times(s))
            continue;
        if (s->start_ns < ax->t0)
            ax->t0 = s->start_ns;
        if (s->end_ns > ax->t1)
            ax->t1 = s->end_ns;
    }
    if (ax->t0 > ax->t1)
        ax->t0 = ax->t1 = 0;
}

/* Where time `t` falls on the axis, in cells (0..cols). */
static double cell_of(const struct ctr__axis *ax, uint64_t t)
{
    uint64_t span = ax->t1 - ax->t0;
    if (span == 0 || t <= ax->t0)
        return 0;
    if (t >= ax->t1)
        return (double)ax->cols;
    return (double)(t - ax->t0) / (double)span * (double)ax->cols;
}

void ctr__waterfall_axis(struct ctr_buf *b, const struct ctr__axis *ax, size_t indent)
{
    char end[40], mid[40], tmp[32];
    ctr__format_ms(ax->t1 - ax->t0, tmp, sizeof tmp);
    snprintf(end, sizeof end, "%s ms", tmp);
    ctr__format_ms((ax->t1 - ax->t0) / 2, tmp, sizeof tmp);
    snprintf(mid, sizeof mid, "%s ms", tmp);
    size_t ne = strlen(end), nm = strlen(mid);
    ctr__spaces(b, indent);
    ctr_buf_putc(b, '0');
    size_t at = 1; /* columns written after the indent */
    /* The middle label centred, when two spaces separate it from both ends. */
    size_t mid_at = ax->cols / 2 > nm / 2 ? ax->cols / 2 - nm / 2 : 0;
    if (mid_at >= at + 2 && mid_at + nm + 2 <= (ax->cols > ne ? ax->cols - ne : 0)) {
        ctr__spaces(b, mid_at - at);
        ctr_buf_append(b, mid, nm);
        at = mid_at + nm;
    }
    size_t end_at = ax->cols > ne ? ax->cols - ne : 0;
    ctr__spaces(b, end_at > at + 1 ? end_at - at : 2);
    ctr_buf_append(b, end, ne);
}

void ctr__waterfall_bar(struct ctr_buf *b, const struct ctr__axis *ax, const struct ctr_span *s,
                        const struct ctr__style *st, const char *color, bool pad)
{
    if (!valid_times(s) || ax->cols == 0) {
        if (pad)
            ctr__spaces(b, ax->cols);
        return;
    }
    /* Cells from the rounded start to the rounded end, at least one; a span
     * shorter than half a cell is a thin mark in the cell it starts in. */
    double x0 = cell_of(ax, s->start_ns), x1 = cell_of(ax, s->end_ns);
    bool thin = x1 - x0 < 0.5;
    size_t from = (size_t)(thin ? x0 : x0 + 0.5), to = (size_t)(x1 + 0.5);
    if (from >= ax->cols)
        from = ax->cols - 1;
    if (thin || to <= from)
        to = from + 1;
    ctr__spaces(b, from);
    ctr_buf_puts(b, color);
    for (size_t c = from; c < to; c++)
        ctr_buf_puts(b, thin ? st->thin : st->block);
    if (color[0])
        ctr_buf_puts(b, st->reset);
    if (pad)
        ctr__spaces(b, ax->cols - to);
}
