/*
 * The OTLP/gRPC exporter: OTLP protobuf + the gRPC exporter machinery of
 * grpc_exporter.c, calling TraceService/Export.
 */
#include "export/grpc_exporter.h"

static const struct ctr_exporter_ops otlp_grpc_ops = {
    .name = "otlp-grpc",
    .export_batch = ctr__grpc_exporter_export,
    .shutdown = ctr__grpc_exporter_shutdown,
    .after_fork_child = ctr__grpc_exporter_after_fork,
    .destroy = ctr__grpc_exporter_destroy,
};

static const struct ctr__grpc_exporter_def otlp_grpc_def = {
    .ops = &otlp_grpc_ops,
    .what = "OTLP/gRPC",
    .method = "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    .encode = ctr_otlp_proto_encode,
    .decode_response = ctr_otlp_proto_decode_response,
};

/* Creates the exporter; see exporter.h. On error nothing is left allocated. */
int ctr_otlp_grpc_exporter_new(const struct ctr_otlp_grpc_options *opt, struct ctr_exporter **out,
                               char *err, size_t errlen)
{
    *out = NULL;
    if (!opt) {
        if (err && errlen)
            snprintf(err, errlen, "OTLP/gRPC exporter: no options given");
        return CTR_EINVAL;
    }
    struct ctr__grpc_options o = {
        .endpoint = opt->endpoint,
        .insecure = opt->insecure,
        .metadata = opt->headers,
        .n_metadata = opt->n_headers,
        .gzip = opt->gzip,
        .tls = &opt->tls,
    };
    return ctr__grpc_exporter_new(&otlp_grpc_def, &o, opt->timeout_ms, out, err, errlen);
}
