/*
 * The resource: SDK, process and host attributes, OTEL_RESOURCE_ATTRIBUTES
 * and the service name.
 */
#include <chaostracing/config.h>
#include <chaostracing/resource.h>

#include <limits.h>
#include <string.h>
#include <unistd.h>

static int set_str(struct ctr_resource *r, const char *key, const char *val)
{
    struct ctr_attr a = {{key, strlen(key)}, {.type = CTR_VALUE_STRING, .u.s = {val, strlen(val)}}};
    return ctr_resource_set(r, &a);
}

int ctr_resource_set(struct ctr_resource *r, const struct ctr_attr *attr)
{
    int rc = ctr_attr_list_set(&r->attrs, &r->arena, attr, 128, UINT32_MAX);
    r->dropped = r->attrs.dropped;
    return rc == CTR_EINVAL ? 0 : rc;
}

int ctr_resource_init(struct ctr_resource *r, const struct ctr_config *cfg)
{
    memset(r, 0, sizeof *r);
    int rc = 0;
    rc |= set_str(r, "telemetry.sdk.name", "chaostracing");
    rc |= set_str(r, "telemetry.sdk.language", "c");
    rc |= set_str(r, "telemetry.sdk.version", CTR_VERSION);

    struct ctr_attr pid = {{"process.pid", 11}, {.type = CTR_VALUE_INT, .u.i = (int64_t)getpid()}};
    rc |= ctr_resource_set(r, &pid);

    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n > 0) {
        path[n] = '\0';
        const char *base = strrchr(path, '/');
        rc |= set_str(r, "process.executable.name", base ? base + 1 : path);
        rc |= set_str(r, "process.executable.path", path);
    }
    char host[256];
    if (gethostname(host, sizeof host) == 0) {
        host[sizeof host - 1] = '\0';
        rc |= set_str(r, "host.name", host);
    }
    rc |= set_str(r, "os.type", "linux");

    const char *service = "chaostoolkit";
    if (cfg) {
        for (size_t i = 0; i < cfg->n_resource_attrs; i++)
            rc |= set_str(r, cfg->resource_attrs[i].name, cfg->resource_attrs[i].value);
        const struct ctr_attr *given = ctr_attr_list_get(&r->attrs, "service.name", 12);
        if (cfg->service_name && *cfg->service_name)
            service = cfg->service_name;
        else if (given && given->value.type == CTR_VALUE_STRING)
            service = NULL; /* keep the one from OTEL_RESOURCE_ATTRIBUTES */
    }
    if (service)
        rc |= set_str(r, "service.name", service);
    if (rc) {
        ctr_resource_free(r);
        return CTR_ENOMEM;
    }
    return 0;
}

int ctr_resource_copy(struct ctr_resource *dst, const struct ctr_resource *src)
{
    memset(dst, 0, sizeof *dst);
    for (uint32_t i = 0; src && i < src->attrs.len; i++) {
        if (ctr_attr_list_set(&dst->attrs, &dst->arena, &src->attrs.items[i], UINT32_MAX,
                              UINT32_MAX) == CTR_ENOMEM) {
            ctr_resource_free(dst);
            return CTR_ENOMEM;
        }
    }
    dst->dropped = src ? src->dropped : 0;
    dst->attrs.dropped = src ? src->attrs.dropped : 0;
    return 0;
}

void ctr_resource_free(struct ctr_resource *r)
{
    ctr_arena_free(&r->arena);
    memset(r, 0, sizeof *r);
}

const struct ctr_scope *ctr_scope_default(void)
{
    static const struct ctr_scope scope = {{CTR_SCOPE_NAME, sizeof CTR_SCOPE_NAME - 1},
                                           {CTR_VERSION, sizeof CTR_VERSION - 1}};
    return &scope;
}
