/*
 * The OTLP/HTTP exporter: OTLP protobuf (or JSON) + the HTTP exporter
 * machinery of http_exporter.c (optional gzip, the OTLP retry policy, the
 * partial success of a protobuf answer), posting to the traces URL.
 */
#include "export/http_exporter.h"

static const struct ctr__http_exporter_def otlp_http_proto_def = {
    .name = "otlp-http",
    .what = "OTLP/HTTP",
    .headers_what = "OTLP",
    .content_type = "application/x-protobuf",
    .encode = ctr_otlp_proto_encode,
    .decode_response = ctr_otlp_proto_decode_response,
};

/* http/json: the answer's body is not read (a 2xx delivers every span). */
static const struct ctr__http_exporter_def otlp_http_json_def = {
    .name = "otlp-http",
    .what = "OTLP/HTTP",
    .headers_what = "OTLP",
    .content_type = "application/json",
    .encode = ctr_otlp_json_encode,
    .decode_response = NULL,
};

/* Creates the exporter; see exporter.h. On error nothing is left allocated. */
int ctr_otlp_http_exporter_new(const struct ctr_otlp_http_options *opt, struct ctr_exporter **out,
                               char *err, size_t errlen)
{
    *out = NULL;
    if (!opt || !opt->url) {
        if (err && errlen)
            snprintf(err, errlen, "OTLP/HTTP exporter: no URL given");
        return CTR_EINVAL;
    }
    struct ctr_tls_options tls = {
        .ca_file = opt->ca_file,
        .client_cert = opt->client_cert,
        .client_key = opt->client_key,
        .insecure_skip_verify = opt->insecure_skip_verify,
    };
    struct ctr__http_exporter_options o = {
        .url = opt->url,
        .headers = opt->headers,
        .n_headers = opt->n_headers,
        .timeout_ms = opt->timeout_ms,
        .gzip = opt->gzip,
        .tls = &tls,
    };
    return ctr__http_exporter_new(opt->json ? &otlp_http_json_def : &otlp_http_proto_def, &o, out,
                                  err, errlen);
}
