/* The OpenTelemetry-to-Jaeger mapping rules both Jaeger encoders share
 * (opentelemetry-specification trace/sdk_exporters/jaeger.md). */
#ifndef CTR_ENCODE_JAEGER_MAP_H
#define CTR_ENCODE_JAEGER_MAP_H

#include <chaostracing/span.h>

#include <string.h>

/* The span.kind tag value, or NULL for internal and unspecified spans. */
static inline const char *ctr__jaeger_kind(ctr_span_kind k)
{
    return k >= CTR_KIND_SERVER && k <= CTR_KIND_CONSUMER ? ctr_span_kind_name(k) : NULL;
}

/* True when attribute `a` is an "error" attribute that the error=true tag of
 * an ERROR span replaces. */
static inline bool ctr__jaeger_replaced_error_attr(const struct ctr_span *s,
                                                   const struct ctr_attr *a)
{
    return s->status == CTR_STATUS_ERROR && a->key.ptr && a->key.len == 5 &&
           memcmp(a->key.ptr, "error", 5) == 0;
}

#endif
