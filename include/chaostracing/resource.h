/*
 * chaostracing: the resource (who emits the spans) and the instrumentation
 * scope (which library made them).
 */
#ifndef CHAOSTRACING_RESOURCE_H
#define CHAOSTRACING_RESOURCE_H

#include "span.h"

struct ctr_resource {
    struct ctr_attr_list attrs;
    struct ctr_arena arena;
    uint32_t dropped;
};

struct ctr_scope {
    struct ctr_str name;    /* "chaostracing" */
    struct ctr_str version; /* CTR_VERSION */
};

struct ctr_config;

/*
 * Build the resource from the configuration: telemetry.sdk.* attributes,
 * process.* and host.name, then OTEL_RESOURCE_ATTRIBUTES, then
 * service.name (OTEL_SERVICE_NAME wins, else the attribute list, else
 * "chaostoolkit"). Returns 0 or CTR_ENOMEM; free with ctr_resource_free().
 */
int ctr_resource_init(struct ctr_resource *r, const struct ctr_config *cfg);
/* Deep-copy `src` (NULL: an empty resource) into `dst`. Returns 0 or
 * CTR_ENOMEM (then `dst` is empty). Free with ctr_resource_free(). */
int ctr_resource_copy(struct ctr_resource *dst, const struct ctr_resource *src);
/* Set one resource attribute (replaces an existing key). */
int ctr_resource_set(struct ctr_resource *r, const struct ctr_attr *attr);
void ctr_resource_free(struct ctr_resource *r);

/* The library's own scope. */
const struct ctr_scope *ctr_scope_default(void);

#endif
