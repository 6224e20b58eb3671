/*
 * Internal parts of the renderers (src/render): display-safe text and the
 * layout of spans into traces and tree rows, which every view (the tree
 * today, a waterfall or detail lines later) draws from.
 */
#ifndef CTR_RENDER_INTERNAL_H
#define CTR_RENDER_INTERNAL_H

#include <chaostracing/render.h>

/*
 * Append `len` bytes of UTF-8 at `s` for a terminal (display.c): C0/C1
 * controls and DEL become \xNN, C1 and bidirectional controls \uNNNN, so text
 * cannot move the cursor or reorder the line; ill-formed bytes become U+FFFD;
 * text wider than `max_cols` (>= 2) columns is cut, ending in "…". With `b`
 * NULL nothing is written. Returns the columns (one per code point written).
 */
size_t ctr__display_put(struct ctr_buf *b, const char *s, size_t len, size_t max_cols);

/* One span as laid out (layout.c). */
struct ctr__rnode {
    const struct ctr_span *span;
    struct ctr_str service; /* its resource's service.name; ptr NULL when none */
    size_t parent;          /* index of the parent node, or CTR__NO_PARENT */
    size_t kid0, nkid;      /* its children: kids[kid0 .. kid0 + nkid) */
    uint8_t flags;          /* private to layout.c */
};
#define CTR__NO_PARENT SIZE_MAX

/* One trace: nodes[first .. first + count). */
struct ctr__rtrace {
    size_t first, count;
    uint64_t start; /* earliest start time */
};

/* One line of a trace's tree. */
struct ctr__rrow {
    size_t node;
    size_t depth;
    bool last;  /* last child of its parent */
    bool cycle; /* top of a parent cycle */
};

struct ctr__rkid;
struct ctr__rframe;

struct ctr__layout {
    struct ctr__rnode *nodes; /* sorted by (trace id, span id) */
    size_t n;
    struct ctr__rtrace *traces; /* by earliest start */
    size_t n_traces;
    struct ctr__rrow *rows; /* of the trace last walked, in preorder */
    size_t n_rows;
    /* Work space, n entries each. */
    size_t *kids;
    struct ctr__rkid *keys;
    struct ctr__rframe *stack;
};

/* Collect the spans of `batches[0..n)` and group them into traces. Returns 0
 * or CTR_ENOMEM; free with ctr__layout_free() either way. */
int ctr__layout_init(struct ctr__layout *l, const struct ctr_batch *batches, size_t n);
/* Link trace `t` (parents, children in start order) and fill l->rows. */
void ctr__layout_walk(struct ctr__layout *l, size_t t);
void ctr__layout_free(struct ctr__layout *l);

#endif
