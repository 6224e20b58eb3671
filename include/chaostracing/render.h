/*
 * chaostracing: what people look at. The span tree that `chaostracing view`
 * prints and the console exporter writes, one block per trace:
 *
 *   trace 4bf92f3577b34da6a3ce929d0e0e4736  service=chaostoolkit  3 spans  start=...Z
 *   My experiment         2013.4 ms  ok  [experiment]
 *   ├─ Method             1012.0 ms  [method]
 *   │  └─ kill-pod           5.6 ms  ERROR  [activity failed]  "pod not found"
 *
 * Traces are ordered by their earliest start, siblings by start time; a span
 * whose parent is not among the spans is shown at the top with "(remote
 * parent)", a parent cycle once from its earliest span with "(parent
 * cycle)". Text is display-safe: control and bidirectional-override
 * characters are shown as escapes (\x1b, \u202e), long names end in "…".
 * Any number of spans, any depth: nothing recurses.
 */
#ifndef CHAOSTRACING_RENDER_H
#define CHAOSTRACING_RENDER_H

#include <stdio.h>

#include "encode.h"

struct ctr_render_options {
    bool attrs; /* [chaostoolkit.type chaostoolkit.activity.status http N] tags */
    bool ascii; /* ASCII instead of box-drawing characters */
    bool color; /* ANSI colours: bold headers, red ERROR, dim notes */
};

/* The defaults: tags shown, box drawing, no colour. */
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

#endif
