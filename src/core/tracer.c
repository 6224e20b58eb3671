/*
 * The tracer: sampling, span creation, and the processor that receives ended
 * spans.
 */
#include <chaostracing/spool.h>
#include <chaostracing/tracer.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

int ctr_tracer_new(const struct ctr_config *cfg, struct ctr_exporter *exporter, bool batch,
                   struct ctr_tracer **out)
{
    *out = NULL;
    struct ctr_tracer *t = calloc(1, sizeof *t);
    int rc = t ? ctr_resource_init(&t->resource, cfg) : CTR_ENOMEM;
    if (rc) {
        free(t);
        ctr_exporter_destroy(exporter);
        ctr_spool_close(cfg->bsp.spool);
        return rc;
    }
    atomic_init(&t->refs, 1);
    t->scope = ctr_scope_default();
    t->limits = cfg->limits;
    t->sampler = cfg->sampler;
    t->ids = cfg->ids;
    t->disabled = cfg->sdk_disabled;
    double ratio = cfg->sampler_arg;
    if (!(ratio >= 0.0)) /* NaN too */
        ratio = 0.0;
    if (ratio >= 1.0)
        t->ratio_bound = UINT64_MAX;
    else
        t->ratio_bound = (uint64_t)ldexp(ratio, 64);

    if (t->disabled) {
        ctr_exporter_destroy(exporter);
        exporter = NULL;
    }
    if (!exporter || !batch) /* no processor to own the spool */
        ctr_spool_close(cfg->bsp.spool);
    if (exporter) {
        rc = batch ? ctr_batch_processor_new(exporter, &t->resource, t->scope, &cfg->bsp,
                                             &t->processor)
                   : ctr_simple_processor_new(exporter, &t->resource, t->scope, &t->processor);
        if (rc) {
            ctr_resource_free(&t->resource);
            free(t);
            return rc;
        }
    }
    *out = t;
    return 0;
}

/* The low 8 bytes of a trace id as a big-endian number. */
static uint64_t trace_id_low(const uint8_t id[CTR_TRACE_ID_LEN])
{
    uint64_t v = 0;
    for (int i = 8; i < 16; i++)
        v = v << 8 | id[i];
    return v;
}

/* Decide whether a new span is sampled, given its trace id and parent. */
static bool should_sample(const struct ctr_tracer *t, const uint8_t trace_id[CTR_TRACE_ID_LEN],
                          const struct ctr_span_context *parent)
{
    bool root = parent == NULL;
    switch (t->sampler) {
    case CTR_SAMPLER_ALWAYS_ON:
        return true;
    case CTR_SAMPLER_ALWAYS_OFF:
        return false;
    case CTR_SAMPLER_TRACEIDRATIO:
        return t->ratio_bound == UINT64_MAX || trace_id_low(trace_id) < t->ratio_bound;
    case CTR_SAMPLER_PARENTBASED_ALWAYS_ON:
        return root || (parent->trace_flags & CTR_TRACE_FLAG_SAMPLED);
    case CTR_SAMPLER_PARENTBASED_ALWAYS_OFF:
        return !root && (parent->trace_flags & CTR_TRACE_FLAG_SAMPLED);
    case CTR_SAMPLER_PARENTBASED_TRACEIDRATIO:
        if (!root)
            return parent->trace_flags & CTR_TRACE_FLAG_SAMPLED;
        return t->ratio_bound == UINT64_MAX || trace_id_low(trace_id) < t->ratio_bound;
    }
    return true;
}

struct ctr_span *ctr_tracer_start_span(struct ctr_tracer *t, const char *name, size_t nlen,
                                       const struct ctr_span_context *parent, ctr_span_kind kind,
                                       uint64_t start_ns)
{
    struct ctr_span *s = ctr__span_alloc();
    if (!s)
        return NULL;
    if (parent && !ctr_span_context_is_valid(parent))
        parent = NULL;
    if (parent) {
        memcpy(s->ctx.trace_id, parent->trace_id, CTR_TRACE_ID_LEN);
        memcpy(s->parent_span_id, parent->span_id, CTR_SPAN_ID_LEN);
        s->has_parent = true;
        s->parent_is_remote = parent->is_remote;
        if (parent->trace_state.ptr && parent->trace_state.len) {
            char *ts =
                ctr_arena_strndup(&s->arena, parent->trace_state.ptr, parent->trace_state.len);
            if (!ts) {
                ctr_span_free(s);
                return NULL;
            }
            s->ctx.trace_state.ptr = ts;
            s->ctx.trace_state.len = parent->trace_state.len;
        }
    } else if (t->ids == CTR_IDS_XRAY) {
        /* The id holds the start time: read the clock once for both. */
        if (!start_ns)
            start_ns = ctr_now_ns();
        ctr_new_xray_trace_id(start_ns, s->ctx.trace_id);
    } else {
        ctr_new_trace_id(s->ctx.trace_id);
    }
    ctr_new_span_id(s->ctx.span_id);
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    s->tracer = t;
    s->kind = kind >= CTR_KIND_UNSPECIFIED && kind <= CTR_KIND_CONSUMER ? kind : CTR_KIND_INTERNAL;
    bool sampled = !t->disabled && should_sample(t, s->ctx.trace_id, parent);
    s->ctx.trace_flags = sampled ? CTR_TRACE_FLAG_SAMPLED : 0;
    s->recording = sampled;
    /* A span that records nothing needs no clock read. */
    s->start_ns = start_ns ? start_ns : sampled ? ctr_now_ns() : 0;
    if (sampled && ctr__span_init_name(s, name, nlen)) {
        ctr_span_free(s);
        return NULL;
    }
    return s;
}

int ctr_tracer_force_flush(struct ctr_tracer *t, uint64_t deadline_ns)
{
    if (!t || !t->processor)
        return 0;
    return t->processor->ops->force_flush(t->processor, deadline_ns);
}

int ctr_tracer_shutdown(struct ctr_tracer *t, uint64_t deadline_ns)
{
    if (!t || !t->processor)
        return 0;
    return t->processor->ops->shutdown(t->processor, deadline_ns);
}

void ctr_tracer_stats(struct ctr_tracer *t, struct ctr_processor_stats *out)
{
    memset(out, 0, sizeof *out);
    if (t && t->processor)
        t->processor->ops->stats(t->processor, out);
}

void ctr__tracer_release(struct ctr_tracer *t)
{
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (t->processor)
        t->processor->ops->destroy(t->processor);
    ctr_resource_free(&t->resource);
    ctr_redactor_free(t->redactor);
    free(t);
}

struct ctr_tracer *ctr_tracer_retain(struct ctr_tracer *t)
{
    if (t)
        atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    return t;
}

void ctr_tracer_release(struct ctr_tracer *t)
{
    if (t)
        ctr__tracer_release(t);
}

void ctr_tracer_set_redactor(struct ctr_tracer *t, struct ctr_redactor *r)
{
    ctr_redactor_free(t->redactor);
    t->redactor = r;
}

void ctr_tracer_free(struct ctr_tracer *t)
{
    if (!t)
        return;
    /* Spans still open keep the tracer (not its processor's queue) alive. */
    ctr_tracer_shutdown(t, ctr_monotonic_ns());
    ctr__tracer_release(t);
}
