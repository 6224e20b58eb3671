/*
 * The Jaeger collector gRPC exporter: Jaeger api_v2 protobuf + the gRPC
 * exporter machinery of grpc_exporter.c, calling CollectorService/PostSpans.
 */
#include "export/grpc_exporter.h"

#define DEFAULT_ENDPOINT "localhost:14250"

static const struct ctr_exporter_ops jaeger_grpc_ops = {
    .name = "jaeger-grpc",
    .export_batch = ctr__grpc_exporter_export,
    .shutdown = ctr__grpc_exporter_shutdown,
    .after_fork_child = ctr__grpc_exporter_after_fork,
    .destroy = ctr__grpc_exporter_destroy,
};

static const struct ctr__grpc_exporter_def jaeger_grpc_def = {
    .ops = &jaeger_grpc_ops,
    .what = "Jaeger gRPC",
    .method = "/jaeger.api_v2.CollectorService/PostSpans",
    .encode = ctr_jaeger_proto_encode,
    .decode_response = NULL, /* PostSpansResponse is empty */
};

/* Creates the exporter; see exporter.h. On error nothing is left allocated. */
int ctr_jaeger_grpc_exporter_new(const struct ctr_jaeger_grpc_options *opt,
                                 struct ctr_exporter **out, char *err, size_t errlen)
{
    *out = NULL;
    struct ctr__grpc_options o = {
        .endpoint = opt && opt->endpoint && *opt->endpoint ? opt->endpoint : DEFAULT_ENDPOINT,
        .insecure = opt ? opt->insecure : false,
        .tls = opt ? &opt->tls : NULL,
    };
    return ctr__grpc_exporter_new(&jaeger_grpc_def, &o, opt ? opt->timeout_ms : 0, out, err,
                                  errlen);
}
