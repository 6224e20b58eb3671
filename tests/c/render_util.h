/*
 * For the renderer tests: what a renderer writes, as a NUL-terminated
 * string, and a comparison that prints both texts when they differ.
 */
#ifndef CTR_TEST_RENDER_UTIL_H
#define CTR_TEST_RENDER_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chaostracing/render.h>

/* ctr_render_tree or ctr_render_report on `b[0..n)` with options `o`. */
typedef int (*render_fn)(const struct ctr_batch *b, size_t n, const void *o, struct ctr_buf *out);

static inline char *render_with(render_fn fn, const struct ctr_batch *b, size_t n, const void *o)
{
    struct ctr_buf out = {0};
    if (fn(b, n, o, &out) != 0) {
        ctr_buf_free(&out);
        return NULL;
    }
    ctr_buf_putc(&out, '\0');
    return (char *)out.data;
}

static inline int tree_fn(const struct ctr_batch *b, size_t n, const void *o, struct ctr_buf *out)
{
    return ctr_render_tree(b, n, o, out);
}

static inline int report_fn(const struct ctr_batch *b, size_t n, const void *o, struct ctr_buf *out)
{
    return ctr_render_report(b, n, o, out);
}

/* The span tree of `b[0..n)` with `o`, malloc'd; NULL on error. */
static inline char *tree_text(const struct ctr_batch *b, size_t n,
                              const struct ctr_render_options *o)
{
    return render_with(tree_fn, b, n, o);
}

/* The HTML report of `b[0..n)` with `o`, malloc'd; NULL on error. */
static inline char *report_text(const struct ctr_batch *b, size_t n,
                                const struct ctr_report_options *o)
{
    return render_with(report_fn, b, n, o);
}

/* Compare and print both texts when they differ. */
static inline bool same_text(const char *got, const char *want)
{
    if (got && strcmp(got, want) == 0)
        return true;
    fprintf(stderr, "got:\n%s\nwant:\n%s\n", got ? got : "(error)", want);
    return false;
}

#endif
