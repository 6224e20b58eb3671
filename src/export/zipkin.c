/*
 * The Zipkin exporter: the Zipkin v2 JSON encoder + the HTTP exporter
 * machinery of http_exporter.c (the shared retry policy, no compression).
 *
 * A batch is POSTed as one JSON array (Content-Type: application/json) to
 * the spans URL, by default http://localhost:9411/api/v2/spans. Zipkin
 * answers 202 Accepted; any 2xx counts as delivered and its body is not read.
 */
#include "export/http_exporter.h"

#define DEFAULT_URL "http://localhost:9411/api/v2/spans"

static const struct ctr__http_exporter_def zipkin_def = {
    .name = "zipkin",
    .what = "Zipkin",
    .headers_what = "Zipkin",
    .content_type = "application/json",
    .encode = ctr_zipkin_json_encode,
    .decode_response = NULL,
};

/*
 * Creates the exporter; see exporter.h. Returns 0, CTR_EINVAL (a URL that is
 * not http(s)://host..., or libcurl could not be initialised; the message is
 * in `err`) or CTR_ENOMEM. On error nothing is left allocated.
 */
int ctr_zipkin_exporter_new(const struct ctr_zipkin_options *opt, struct ctr_exporter **out,
                            char *err, size_t errlen)
{
    struct ctr__http_exporter_options o = {
        .url = opt && opt->url && opt->url[0] ? opt->url : DEFAULT_URL,
        .timeout_ms = opt ? opt->timeout_ms : 0,
        .tls = opt ? &opt->tls : NULL,
    };
    return ctr__http_exporter_new(&zipkin_def, &o, out, err, errlen);
}
