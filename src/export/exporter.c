/*
 * The NULL-safe entry points of the exporter ops table.
 */
#include <chaostracing/exporter.h>

/* Export one batch through e->ops. Returns the exporter's result, or
 * CTR_EINVAL when `e`, its ops or `batch` is missing. */
int ctr_exporter_export(struct ctr_exporter *e, const struct ctr_batch *batch, uint64_t deadline_ns)
{
    if (!e || !e->ops || !e->ops->export_batch || !batch)
        return CTR_EINVAL;
    return e->ops->export_batch(e, batch, deadline_ns);
}

/* Shut the exporter down by the deadline. A NULL exporter or one without a
 * shutdown op has nothing to do and returns 0. */
int ctr_exporter_shutdown(struct ctr_exporter *e, uint64_t deadline_ns)
{
    if (!e || !e->ops || !e->ops->shutdown)
        return 0;
    return e->ops->shutdown(e, deadline_ns);
}

/* Free the exporter (without shutting it down); NULL-safe. */
void ctr_exporter_destroy(struct ctr_exporter *e)
{
    if (e && e->ops && e->ops->destroy)
        e->ops->destroy(e);
}

void ctr_exporter_init(struct ctr_exporter *e, const struct ctr_exporter_ops *ops)
{
    e->ops = ops;
    atomic_init(&e->stats.spans_exported, 0);
    atomic_init(&e->stats.spans_rejected, 0);
    atomic_init(&e->stats.spans_failed, 0);
    atomic_init(&e->stats.batches_failed, 0);
    atomic_init(&e->stats.retries, 0);
    atomic_init(&e->final, false);
    e->destination[0] = '\0';
}

const char *ctr_exporter_destination(const struct ctr_exporter *e)
{
    return e ? e->destination : "nowhere";
}
