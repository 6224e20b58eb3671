/*
 * The machinery shared by the gRPC exporters (OTLP/gRPC, Jaeger collector
 * gRPC): encode the batch, frame it, make the unary call through a
 * transport/grpc.h channel, and apply the retry policy of export/retry.h to
 * the gRPC status codes the OTLP specification calls retryable.
 *
 * Each exporter file supplies a definition (its method, encoder and response
 * decoder) and an ops table made of the functions below.
 */
#ifndef CTR_EXPORT_GRPC_EXPORTER_H
#define CTR_EXPORT_GRPC_EXPORTER_H

#include <chaostracing/exporter.h>

#include "transport/grpc.h"

struct ctr__grpc_exporter_def {
    const struct ctr_exporter_ops *ops;
    const char *what;   /* "OTLP/gRPC": names the exporter in messages */
    const char *method; /* "/package.Service/Method" */
    /* Append the request message for a batch; 0, CTR_ENOMEM or CTR_EINVAL. */
    int (*encode)(const struct ctr_batch *batch, struct ctr_buf *out);
    /* Read a successful answer's message: spans the server rejected and its
     * message (NUL-terminated). 0 or CTR_EPARSE. NULL: nothing to read. */
    int (*decode_response)(const uint8_t *body, size_t len, int64_t *rejected, char *msg,
                           size_t msg_size);
};

/*
 * Create a gRPC exporter of kind `def`. `o` gives the endpoint, metadata,
 * compression and TLS (its `method` and `what` are taken from `def`);
 * `timeout_ms` bounds each export, retries included (0 = 10000).
 * Returns 0, CTR_EINVAL / CTR_EUNSUPPORTED (message in `err`) or CTR_ENOMEM.
 */
int ctr__grpc_exporter_new(const struct ctr__grpc_exporter_def *def,
                           const struct ctr__grpc_options *o, uint32_t timeout_ms,
                           struct ctr_exporter **out, char *err, size_t errlen);

/* The ops, for the exporters' tables. */
int ctr__grpc_exporter_export(struct ctr_exporter *e, const struct ctr_batch *batch,
                              uint64_t deadline_ns);
int ctr__grpc_exporter_shutdown(struct ctr_exporter *e, uint64_t deadline_ns);
void ctr__grpc_exporter_after_fork(struct ctr_exporter *e);
void ctr__grpc_exporter_destroy(struct ctr_exporter *e);

#endif
