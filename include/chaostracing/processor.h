/*
 * chaostracing: span processors. The batch processor owns a bounded queue and
 * one worker thread: ending a span never waits on the network; a full queue
 * drops and counts; flush and shutdown take deadlines.
 */
#ifndef CHAOSTRACING_PROCESSOR_H
#define CHAOSTRACING_PROCESSOR_H

#include "exporter.h"

/*
 * Counters. At any time spans_ended = exported + failed + rejected + dropped
 * + spooled + lost + queue_len: every span handed to the processor is
 * accounted for.
 */
struct ctr_processor_stats {
    uint64_t spans_ended;    /* handed to the processor */
    uint64_t spans_dropped;  /* queue full, or ended after shutdown */
    uint64_t spans_exported; /* accepted by the exporter */
    uint64_t spans_failed;   /* in batches the exporter did not deliver (a final
                                refusal, or any failure without retry_failed) */
    uint64_t spans_rejected; /* partial success rejections */
    uint64_t batches_failed; /* exports that failed (kept spans included) */
    uint64_t spans_spooled;  /* written to the spool at shutdown */
    uint64_t spans_lost;     /* not delivered by the shutdown deadline and not spooled
                                (no spool, or it was full or failed) */
    uint64_t spans_replayed; /* of earlier runs, sent from the spool (not ended here) */
    uint64_t spool_corrupt;  /* spool files set aside as unreadable */
    uint64_t queue_len;      /* now: queued, being exported or being spooled */
};

struct ctr_processor;

#ifdef CHAOSTRACING_INTERNAL /* the library's own view; see common.h */
struct ctr_processor_ops {
    /* Take ownership of an ended, recording span. Never blocks on I/O. */
    void (*on_end)(struct ctr_processor *p, struct ctr_span *s);
    /* Export everything queued before the call; CTR_ETIMEOUT past the
     * deadline (the rest stays queued). */
    int (*force_flush)(struct ctr_processor *p, uint64_t deadline_ns);
    /* Flush, stop the worker and shut the exporter down, all by the deadline.
     * Spans still queued at the deadline are dropped and counted. Idempotent. */
    int (*shutdown)(struct ctr_processor *p, uint64_t deadline_ns);
    void (*stats)(struct ctr_processor *p, struct ctr_processor_stats *out);
    /* Free; calls shutdown with a zero deadline first if needed. */
    void (*destroy)(struct ctr_processor *p);
};

struct ctr_processor {
    const struct ctr_processor_ops *ops;
    struct ctr_exporter *exporter; /* owned */
};
#endif

struct ctr_spool;

struct ctr_bsp_options {
    uint32_t max_queue_size;        /* 2048 */
    uint32_t schedule_delay_ms;     /* 5000 */
    uint32_t export_timeout_ms;     /* 30000 */
    uint32_t max_export_batch_size; /* 512, at most max_queue_size */
    /* Keep a batch whose export failed for a reason that may pass (the
     * collector unreachable, slow, or asking to come back) at the head of the
     * queue and try again after a pause (1 s doubling up to the schedule
     * delay), instead of counting it failed. Default false. */
    bool retry_failed;
    /* Owned by the processor made with these options (closed on error too):
     * at shutdown, what was not delivered by the deadline (queued, kept for
     * a retry, or still in an export) is written there as OTLP JSON instead
     * of being dropped; while the queue is empty the worker sends what
     * earlier runs left there. NULL (the default): neither. */
    struct ctr_spool *spool;
};
void ctr_bsp_options_default(struct ctr_bsp_options *o);

/*
 * A batch processor exporting through `exporter` (owned from here on, even on
 * error). The processor keeps its own copy of `resource`; `scope` must
 * outlive it (the library's scope is static). The worker thread
 * starts lazily on the first span. After fork(), the child drops the spans it
 * inherited (the parent exports them), resets its exporter through
 * after_fork_child and starts its own worker on its first span.
 * Returns 0, CTR_EINVAL or CTR_ENOMEM.
 */
int ctr_batch_processor_new(struct ctr_exporter *exporter, const struct ctr_resource *resource,
                            const struct ctr_scope *scope, const struct ctr_bsp_options *opt,
                            struct ctr_processor **out);

/* A processor that exports each span synchronously on end (tests, CLI). */
int ctr_simple_processor_new(struct ctr_exporter *exporter, const struct ctr_resource *resource,
                             const struct ctr_scope *scope, struct ctr_processor **out);

#endif
