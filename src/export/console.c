/*
 * The console exporter: each batch as the span tree that `chaostracing view`
 * prints (src/render/tree.c), box-drawn, without colour, written with one
 * fwrite per batch so concurrent writers do not interleave inside a batch.
 */
#include <chaostracing/exporter.h>
#include <chaostracing/render.h>

#include <stdlib.h>

/* Buffers larger than this are released after each export. */
#define KEEP_BUFFER_BYTES (1u << 20)

struct console_exporter {
    struct ctr_exporter base;
    FILE *stream;
    bool shut;
    struct ctr_render_options opts;
    struct ctr_buf out;
};

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
        rc = ctr_render_tree(batch, 1, &x->opts, &x->out);
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
    ctr_render_options_default(&x->opts);
    ctr_exporter_init(&x->base, &console_ops);
    snprintf(x->base.destination, sizeof x->base.destination, "%s",
             x->stream == stderr   ? "stderr"
             : x->stream == stdout ? "stdout"
                                   : "stream");
    *out = &x->base;
    return 0;
}
