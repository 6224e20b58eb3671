/*
 * chaostracing: the tracer — resource, sampler, limits, id generation and a
 * processor, built from a ctr_config.
 */
#ifndef CHAOSTRACING_TRACER_H
#define CHAOSTRACING_TRACER_H

#include <stdatomic.h>

#include "config.h"
#include "redact.h"
#include "processor.h"
#include "resource.h"

#ifdef CHAOSTRACING_INTERNAL /* the library's own view; see common.h */
struct ctr_tracer {
    atomic_int refs; /* the owner + every span it started that is not yet ended or freed */
    struct ctr_resource resource;
    const struct ctr_scope *scope;
    struct ctr_limits limits;
    ctr_sampler_kind sampler;
    uint64_t ratio_bound;            /* traceidratio: sample when id's low 8 bytes < bound */
    ctr_id_generator ids;            /* how root spans get their trace id */
    bool disabled;                   /* OTEL_SDK_DISABLED: every span is non-recording */
    struct ctr_processor *processor; /* owned; NULL = drop every span */
    struct ctr_redactor *redactor;   /* owned; NULL = strings kept as given */
};
#endif

/*
 * Create a tracer from `cfg`. `exporter` is owned from here on (even on
 * error); with NULL (or a disabled SDK) spans are made but never exported.
 * When `batch` is true spans go through a batch processor with cfg->bsp,
 * else through the simple processor. cfg->bsp.spool is owned from here on as
 * well (closed when there is no batch processor to take it). Returns 0,
 * CTR_EINVAL or CTR_ENOMEM.
 */
int ctr_tracer_new(const struct ctr_config *cfg, struct ctr_exporter *exporter, bool batch,
                   struct ctr_tracer **out);

/*
 * Start a span. `parent` may be NULL (a root span: new trace id) or a valid
 * local or remote context (same trace id, parent span id recorded). The
 * sampler decides; an unsampled span is returned non-recording, still with
 * ids for propagation. `start_ns` 0 means now. Returns NULL only when out of
 * memory.
 */
struct ctr_span *ctr_tracer_start_span(struct ctr_tracer *t, const char *name, size_t nlen,
                                       const struct ctr_span_context *parent, ctr_span_kind kind,
                                       uint64_t start_ns);

/* Give the tracer a redactor (owned from here on): every string set on its
 * spans from then on is redacted (chaostracing/redact.h). Call before the
 * tracer is shared between threads. */
void ctr_tracer_set_redactor(struct ctr_tracer *t, struct ctr_redactor *r);

/* Flush and shut the processor down by the deadline; idempotent. */
int ctr_tracer_shutdown(struct ctr_tracer *t, uint64_t deadline_ns);
int ctr_tracer_force_flush(struct ctr_tracer *t, uint64_t deadline_ns);
void ctr_tracer_stats(struct ctr_tracer *t, struct ctr_processor_stats *out);
/*
 * Shut down with a zero deadline if needed and drop the caller's reference.
 * Spans the tracer started that are still open hold references of their own,
 * so they stay safe to use: their setters work on the span alone, and ending
 * one after shutdown drops it (counted). The memory goes with the last span.
 */
void ctr_tracer_free(struct ctr_tracer *t);

/* Take a reference of one's own (the tracer stays valid, though possibly
 * shut down, until ctr_tracer_release()): for a call made without the lock
 * that protects the owner's pointer, such as a flush. Returns `t`. */
struct ctr_tracer *ctr_tracer_retain(struct ctr_tracer *t);
/* Drop a reference taken with ctr_tracer_retain() (no shutdown). */
void ctr_tracer_release(struct ctr_tracer *t);

/* Fresh random ids from the calling thread's generator (xoshiro256**, seeded
 * once per thread from getrandom). Never all zero. */
void ctr_new_trace_id(uint8_t out[CTR_TRACE_ID_LEN]);
void ctr_new_span_id(uint8_t out[CTR_SPAN_ID_LEN]);
/* An AWS X-Ray compatible trace id for a span starting at `unix_ns`: its
 * first 4 bytes are the epoch seconds (big-endian), the other 12 random. */
void ctr_new_xray_trace_id(uint64_t unix_ns, uint8_t out[CTR_TRACE_ID_LEN]);

#endif
