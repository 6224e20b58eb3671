/*
 * Exporters declared in exporter.h whose implementation is under way. Each
 * answers CTR_EUNSUPPORTED until its own file replaces the function here.
 */
#include <chaostracing/exporter.h>

#include <stdio.h>

static int pending(const char *what, struct ctr_exporter **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        snprintf(err, errlen, "the %s exporter is not available in this build", what);
    return CTR_EUNSUPPORTED;
}

int ctr_otlp_grpc_exporter_new(const struct ctr_otlp_grpc_options *opt, struct ctr_exporter **out,
                               char *err, size_t errlen)
{
    (void)opt;
    return pending("OTLP/gRPC", out, err, errlen);
}

int ctr_jaeger_agent_exporter_new(const struct ctr_jaeger_agent_options *opt,
                                  struct ctr_exporter **out, char *err, size_t errlen)
{
    (void)opt;
    return pending("Jaeger agent", out, err, errlen);
}

int ctr_jaeger_grpc_exporter_new(const struct ctr_jaeger_grpc_options *opt,
                                 struct ctr_exporter **out, char *err, size_t errlen)
{
    (void)opt;
    return pending("Jaeger gRPC", out, err, errlen);
}

int ctr_zipkin_exporter_new(const struct ctr_zipkin_options *opt, struct ctr_exporter **out,
                            char *err, size_t errlen)
{
    (void)opt;
    return pending("Zipkin", out, err, errlen);
}
