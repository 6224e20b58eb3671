/*
 * The simple span processor: each span is exported synchronously, in the
 * thread that ends it, as a batch of one. For tests and the CLI, where
 * waiting on the exporter is what the caller wants. A mutex serialises the
 * exporter calls (exporters are called from one thread at a time); the
 * counters are atomics so stats never wait behind an export.
 *
 * No fork handling: a fork while another thread is exporting leaves the
 * child with that mutex held. Use the batch processor in programs that fork.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <chaostracing/processor.h>

#define SIMPLE_EXPORT_TIMEOUT_MS 30000u

struct simple {
    struct ctr_processor base;    /* first: the public handle */
    struct ctr_resource resource; /* our own copy */
    const struct ctr_scope *scope;
    pthread_mutex_t mu; /* held around every exporter call */
    bool shut;          /* guarded by mu */
    atomic_uint_fast64_t ended, dropped, exported, failed, rejected, batches_failed, busy;
};

/* Export the span at once (deadline now + 30 s) and free it; after shutdown
 * the span is dropped and counted. */
static void simple_on_end(struct ctr_processor *p, struct ctr_span *s)
{
    struct simple *sp = (struct simple *)p;
    if (!s)
        return;
    atomic_fetch_add(&sp->ended, 1);
    pthread_mutex_lock(&sp->mu);
    if (sp->shut) {
        pthread_mutex_unlock(&sp->mu);
        atomic_fetch_add(&sp->dropped, 1);
        ctr_span_free(s);
        return;
    }
    struct ctr_exporter *e = sp->base.exporter;
    struct ctr_span *one[1] = {s};
    struct ctr_batch batch = {
        .resource = &sp->resource, .scope = sp->scope, .spans = one, .len = 1};
    atomic_fetch_add(&sp->busy, 1);
    uint64_t rej0 = atomic_load(&e->stats.spans_rejected);
    int rc = ctr_exporter_export(e, &batch, ctr_deadline_after_ms(SIMPLE_EXPORT_TIMEOUT_MS));
    uint64_t rej = atomic_load(&e->stats.spans_rejected) - rej0;
    if (rc != 0) {
        atomic_fetch_add(&sp->failed, 1);
        atomic_fetch_add(&sp->batches_failed, 1);
    } else if (rej) {
        atomic_fetch_add(&sp->rejected, 1);
    } else {
        atomic_fetch_add(&sp->exported, 1);
    }
    atomic_fetch_sub(&sp->busy, 1);
    pthread_mutex_unlock(&sp->mu);
    ctr_span_free(s);
}

/* Nothing is ever queued: every span was exported by the time on_end
 * returned. Returns 0. */
static int simple_force_flush(struct ctr_processor *p, uint64_t deadline_ns)
{
    (void)p;
    (void)deadline_ns;
    return 0;
}

/* Mark shut down (waiting for an export in progress), then shut the exporter
 * down by the deadline. Idempotent: later calls return 0. Returns the
 * exporter's shutdown result. */
static int simple_shutdown(struct ctr_processor *p, uint64_t deadline_ns)
{
    struct simple *sp = (struct simple *)p;
    pthread_mutex_lock(&sp->mu);
    if (sp->shut) {
        pthread_mutex_unlock(&sp->mu);
        return 0;
    }
    sp->shut = true;
    atomic_store(&sp->base.exporter->final, true);
    int rc = ctr_exporter_shutdown(sp->base.exporter, deadline_ns);
    pthread_mutex_unlock(&sp->mu);
    return rc;
}

/* Counters; queue_len is the span being exported, if any. */
static void simple_stats(struct ctr_processor *p, struct ctr_processor_stats *out)
{
    struct simple *sp = (struct simple *)p;
    memset(out, 0, sizeof *out); /* no spool: those counters stay 0 */
    out->spans_ended = atomic_load(&sp->ended);
    out->spans_dropped = atomic_load(&sp->dropped);
    out->spans_exported = atomic_load(&sp->exported);
    out->spans_failed = atomic_load(&sp->failed);
    out->spans_rejected = atomic_load(&sp->rejected);
    out->batches_failed = atomic_load(&sp->batches_failed);
    out->queue_len = atomic_load(&sp->busy);
}

/* Shut down with a zero deadline if needed, destroy the exporter, free. */
static void simple_destroy(struct ctr_processor *p)
{
    struct simple *sp = (struct simple *)p;
    if (!sp)
        return;
    simple_shutdown(p, ctr_monotonic_ns());
    ctr_exporter_destroy(sp->base.exporter);
    pthread_mutex_destroy(&sp->mu);
    ctr_resource_free(&sp->resource);
    free(sp);
}

static const struct ctr_processor_ops simple_ops = {
    .on_end = simple_on_end,
    .force_flush = simple_force_flush,
    .shutdown = simple_shutdown,
    .stats = simple_stats,
    .destroy = simple_destroy,
};

/* See processor.h. The exporter is owned from here on and destroyed on
 * error. Returns 0, CTR_EINVAL (no exporter) or CTR_ENOMEM. */
int ctr_simple_processor_new(struct ctr_exporter *exporter, const struct ctr_resource *resource,
                             const struct ctr_scope *scope, struct ctr_processor **out)
{
    *out = NULL;
    if (!exporter)
        return CTR_EINVAL;
    struct simple *sp = calloc(1, sizeof *sp);
    if (!sp || ctr_resource_copy(&sp->resource, resource) != 0) {
        free(sp);
        ctr_exporter_destroy(exporter);
        return CTR_ENOMEM;
    }
    if (pthread_mutex_init(&sp->mu, NULL) != 0) {
        ctr_resource_free(&sp->resource);
        free(sp);
        ctr_exporter_destroy(exporter);
        return CTR_ENOMEM;
    }
    sp->base.ops = &simple_ops;
    sp->base.exporter = exporter;
    sp->scope = scope;
    *out = &sp->base;
    return 0;
}
