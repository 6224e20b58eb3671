/*
 * Internal parts of the renderers (src/render): display-safe text, the
 * layout of spans into traces and tree rows that every view draws from, what
 * a span means in a Chaos Toolkit run, and the pieces the terminal view is
 * made of (tree.c draws the rows; waterfall.c the bars beside them; detail.c
 * the lines below them). report.c draws the same rows as an HTML page.
 */
#ifndef CTR_RENDER_INTERNAL_H
#define CTR_RENDER_INTERNAL_H

#include <chaostracing/render.h>

/*
 * Append `len` bytes of UTF-8 at `s` for a terminal (display.c): C0/C1
 * controls and DEL become \xNN, C1 and bidirectional controls \uNNNN, so text
 * cannot move the cursor or reorder the line; ill-formed bytes become U+FFFD;
 * text wider than `max_cols` (>= 2) columns is cut, ending in "…". With `b`
 * NULL nothing is written. Returns the columns the text takes on a terminal
 * (ctr__cp_width() for each code point written, an escape's length for each
 * escaped one).
 */
size_t ctr__display_put(struct ctr_buf *b, const char *s, size_t len, size_t max_cols);
/* The columns a terminal gives code point `cp`: 2 for East Asian Wide and
 * Fullwidth ones (CJK, Hangul syllables, most emoji), 0 for combining marks,
 * format characters and conjoining Hangul, else 1 (render/widths.h). */
size_t ctr__cp_width(uint32_t cp);
/* Append `n` spaces. */
void ctr__spaces(struct ctr_buf *b, size_t n);

/* How a span went, for colours: failed, succeeded, or neither said. */
enum ctr__verdict { CTR__NEUTRAL, CTR__GOOD, CTR__BAD };

/* The drawing pieces and colours of one rendering (tree.c). */
struct ctr__style {
    const char *bar, *tee, *elbow; /* tree drawing: "│  ", "├─ ", "└─ " */
    const char *vert;              /* "│ ": a line continued below a span with children */
    const char *block, *thin;      /* waterfall cells: a covered cell, a span shorter than one */
    const char *red, *green, *cyan, *bold, *dim, *reset; /* "" without colour */
    bool attrs;
};
void ctr__style_init(struct ctr__style *st, const struct ctr_render_options *o);
/* The colour of a verdict: red, green or cyan ("" without colour). */
const char *ctr__verdict_color(const struct ctr__style *st, enum ctr__verdict v);

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
/* The index in l->traces of the trace with id `id`, or SIZE_MAX. */
size_t ctr__layout_find(const struct ctr__layout *l, const uint8_t id[CTR_TRACE_ID_LEN]);

/* ------------------------------------------------ Chaos Toolkit (ctk.c) -- */

enum ctr__ctk_type {
    CTR__CTK_NONE, /* no chaostoolkit.type */
    CTR__CTK_EXPERIMENT,
    CTR__CTK_HYPOTHESIS,
    CTR__CTK_METHOD,
    CTR__CTK_ROLLBACKS,
    CTR__CTK_ACTIVITY,
    CTR__CTK_OTHER, /* a type this version does not know */
};

/* What a span is in a Chaos Toolkit run, read from its chaostoolkit.*
 * attributes and events. Strings point into the span; absent ones are
 * {NULL, 0}. Tri-state flags are -1 when the attribute is absent. */
struct ctr__ctk {
    enum ctr__ctk_type type;
    struct ctr_str type_text; /* chaostoolkit.type as written */
    struct ctr_str phase;     /* hypothesis: before, after, continuous */
    int met;                  /* hypothesis: chaostoolkit.hypothesis.met */
    int64_t iteration;        /* hypothesis: chaostoolkit.hypothesis.iteration, 0 when absent */
    struct ctr_str activity;  /* activity: action or probe */
    int background;           /* activity: chaostoolkit.activity.background */
    struct ctr_str status;    /* activity or experiment status */
    int tolerance_met;        /* probe: chaostoolkit.activity.tolerance_met */
    int deviated;             /* experiment: chaostoolkit.experiment.deviated */
    int interrupted;          /* experiment: chaostoolkit.experiment.interrupted */
    int dry;                  /* experiment: chaostoolkit.experiment.dry */
    struct ctr_str exit_signal;
};

/* Read the Chaos Toolkit attributes of `s` into `k`. */
void ctr__ctk_read(const struct ctr_span *s, struct ctr__ctk *k);
/* Whether `s` is a continuous hypothesis (phase "continuous"). */
bool ctr__ctk_is_continuous(const struct ctr__ctk *k);
/* How `s` went: BAD for ERROR, a failed or interrupted activity, a probe out
 * of tolerance, a hypothesis not met or a deviated or unfinished experiment;
 * GOOD for OK or their successful counterparts; NEUTRAL otherwise. */
enum ctr__verdict ctr__ctk_verdict(const struct ctr_span *s, const struct ctr__ctk *k);
/*
 * The iteration numbers of the continuous hypotheses among the rows of the
 * trace just walked: iter[node] is chaostoolkit.hypothesis.iteration when
 * the span has it, else its rank by start time among the trace's continuous
 * hypotheses (1-based); other nodes get 0. `iter` has l->n entries.
 */
void ctr__ctk_number_iterations(const struct ctr__layout *l, int64_t *iter);
/* The attribute `key` of `s` when it is a string, else {NULL, 0}. */
struct ctr_str ctr__attr_str(const struct ctr_attr_list *attrs, const char *key);
/* The first event of `s` named `name`, or NULL. */
const struct ctr_event *ctr__event_named(const struct ctr_span *s, const char *name);
/*
 * The " [probe succeeded http 200]" tags of a row (leading two spaces
 * included), nothing when there are none: the Chaos Toolkit type (the
 * activity type for activities), phase and iteration, result, background,
 * experiment status, and the HTTP status code. `iteration` is the row's
 * number from ctr__ctk_number_iterations().
 */
void ctr__ctk_put_tags(struct ctr_buf *b, const struct ctr_span *s, const struct ctr__ctk *k,
                       int64_t iteration);
/* Append a value for display: strings as they are (made display-safe),
 * numbers and booleans as JSON writes them, arrays as [a, b]. At most
 * `max_cols` columns; returns the columns written. */
size_t ctr__value_put(struct ctr_buf *b, const struct ctr_value *v, size_t max_cols);

/* ----------------------------------------------- waterfall (waterfall.c) -- */

/* The time axis of one trace's waterfall: [t0, t1] over `cols` cells. */
struct ctr__axis {
    uint64_t t0, t1;
    size_t cols;
};

/* The axis of the rows of the trace just walked: from the earliest start to
 * the latest end among spans with valid times. */
void ctr__axis_init(struct ctr__axis *ax, const struct ctr__layout *l, size_t cols);
/* Append the axis labels (0, the middle, the end in milliseconds) for bars
 * that start at column `indent`; no newline. */
void ctr__waterfall_axis(struct ctr_buf *b, const struct ctr__axis *ax, size_t indent);
/*
 * Append the bar of `s` on the axis, in `color` ("" for none): cells the
 * span covers are st->block, a span shorter than one cell is st->thin, a
 * span without valid times draws nothing. With `pad` the bar is followed by
 * spaces up to ax->cols columns; without, nothing follows its last cell.
 */
void ctr__waterfall_bar(struct ctr_buf *b, const struct ctr__axis *ax, const struct ctr_span *s,
                        const struct ctr__style *st, const char *color, bool pad);
/* Milliseconds with one decimal ("2013.4") into out[n]. */
void ctr__format_ms(uint64_t ns, char *out, size_t n);

/* --------------------------------------------- lines below (detail.c) -- */

enum ctr__detail_level {
    CTR__DETAIL_NONE,
    CTR__DETAIL_FAILURES, /* exception and deviation summaries */
    CTR__DETAIL_ALL,      /* and every attribute, event and link */
};

/*
 * Append the detail lines of span `s` at `level`, each starting with
 * `prefix` (the tree drawing that continues past the span's row,
 * `prefix_cols` columns) and ending in a newline; lines are cut to `width`
 * columns (0: no width, values are cut at 200 columns).
 */
void ctr__detail_put(struct ctr_buf *b, const struct ctr__style *st, const struct ctr_span *s,
                     enum ctr__detail_level level, const char *prefix, size_t prefix_cols,
                     size_t width);

#endif
