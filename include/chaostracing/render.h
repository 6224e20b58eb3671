/*
 * chaostracing: what people look at. The span tree that `chaostracing view`
 * prints and the console exporter writes, one block per trace, optionally
 * with a waterfall (each span's bar on the trace's time axis) and detail
 * lines below the spans:
 *
 *   trace 4bf92f3577b34da6a3ce929d0e0e4736  service=chaostoolkit  4 spans  start=...Z
 *                                      0              1006.7 ms        2013.4 ms
 *   My experiment         2013.4 ms  ████████████████████████████████████████  ok  [experiment]
 *   ├─ Method             1012.0 ms                ████████████████████        [method]
 *   │  ├─ kill-pod           5.6 ms                ▏   ERROR  [action failed]  "pod not found"
 *   │  │    exception KeyError: 'pod'
 *   │  └─ wait            1000.0 ms                 ███████████████████        [action succeeded]
 *
 * Traces are ordered by their earliest start, siblings by start time; a span
 * whose parent is not among the spans is shown at the top with "(remote
 * parent)" when its flags say the parent is remote, else "(parent not
 * found)"; a parent cycle once from its earliest span with "(parent
 * cycle)". Tags read the Chaos Toolkit attributes: activity type and status,
 * hypothesis phase ("continuous iteration N", numbered by start time when
 * the span has no chaostoolkit.hypothesis.iteration) and result, experiment
 * status. Text is display-safe: control and bidirectional-override
 * characters are shown as escapes (\x1b, \u202e), long names end in "…".
 * Any number of spans, any depth: nothing recurses.
 *
 * The HTML report (ctr_render_report) draws the same traces as a page.
 */
#ifndef CHAOSTRACING_RENDER_H
#define CHAOSTRACING_RENDER_H

#include <stdio.h>

#include "encode.h"

struct ctr_render_options {
    bool attrs; /* [chaostoolkit.type chaostoolkit.activity.status http N] tags */
    bool ascii; /* ASCII instead of box-drawing characters */
    bool color; /* ANSI colours: bold headers, status colours, dim notes */
    /* 0: the tree alone. Otherwise the columns lines should fit: a waterfall
     * is drawn between the durations and the notes, as wide as the names,
     * durations and (up to a quarter of the width) notes leave, at least 10
     * columns; names are cut to keep the bars aligned. */
    unsigned width;
    /* 0: no lines below the spans; 1: exceptions and deviated probes; 2:
     * also every attribute, event and link. */
    unsigned detail;
    /* Only the trace with this id (CTR_TRACE_ID_LEN bytes); NULL: all. */
    const uint8_t *trace_id;
};

/* The defaults: tags shown, box drawing, no colour, no waterfall, no detail
 * lines, every trace. */
void ctr_render_options_default(struct ctr_render_options *o);

/*
 * Append the span trees of all spans in `batches[0..n)` to `out` (each
 * span's service is its batch's resource service.name). `o` NULL means the
 * defaults. Returns 0, CTR_EINVAL (NULL out, or batches NULL with n > 0) or
 * CTR_ENOMEM (out->err is set). Spans and batches are only read.
 */
int ctr_render_tree(const struct ctr_batch *batches, size_t n, const struct ctr_render_options *o,
                    struct ctr_buf *out);

/* The same, written to `f` one trace at a time. Returns 0, CTR_EINVAL,
 * CTR_ENOMEM or CTR_EIO (a write failed). Does not flush `f`. */
int ctr_render_tree_file(const struct ctr_batch *batches, size_t n,
                         const struct ctr_render_options *o, FILE *f);

/* ------------------------------------------------------------ HTML report -- */

struct ctr_report_options {
    /* The trace to show (CTR_TRACE_ID_LEN bytes); NULL: the one that starts
     * last. */
    const uint8_t *trace_id;
    /* The page's title; NULL: the name of the trace's first span. */
    const char *title;
};

/* The defaults: the latest trace, titled after its first span. */
void ctr_report_options_default(struct ctr_report_options *o);

/*
 * Append to `out` one self-contained HTML page showing one trace of
 * `batches[0..n)` as a timeline: phases and activities as bars on one time
 * axis, the windows of Chaos Toolkit actions shaded across it, hypothesis
 * results, status colours, and each span's attributes, events and exception
 * on a click. The page loads nothing: its style and script are inline and
 * its Content-Security-Policy forbids any request. All span data is escaped
 * for the HTML and script contexts it lands in. `o` NULL means the defaults.
 * Returns 0, CTR_EINVAL (NULL out, batches NULL with n > 0, no spans, or no
 * trace with o->trace_id) or CTR_ENOMEM (out->err is set).
 */
int ctr_render_report(const struct ctr_batch *batches, size_t n, const struct ctr_report_options *o,
                      struct ctr_buf *out);

/*
 * The traces among the spans of `batches[0..n)` whose lower-case hex id
 * starts with `prefix` (hex digits in any case; "" matches every trace), in
 * start order: their ids go to ids[0..cap) (ids may be NULL when cap is 0)
 * and their number to *count. Returns 0, CTR_EINVAL (prefix NULL, longer than
 * 32 characters or not hex) or CTR_ENOMEM.
 */
int ctr_render_match_traces(const struct ctr_batch *batches, size_t n, const char *prefix,
                            uint8_t (*ids)[CTR_TRACE_ID_LEN], size_t cap, size_t *count);

#endif
