/*
 * chaostracing: the SDK configuration read from OTEL_* environment variables
 * (opentelemetry-specification sdk-environment-variables.md and
 * protocol/exporter.md). Values that are empty count as unset; an invalid
 * value keeps the default and leaves one warning in `warnings`.
 */
#ifndef CHAOSTRACING_CONFIG_H
#define CHAOSTRACING_CONFIG_H

#include "processor.h"
#include "propagate.h"

typedef enum {
    CTR_SAMPLER_ALWAYS_ON = 0,
    CTR_SAMPLER_ALWAYS_OFF,
    CTR_SAMPLER_TRACEIDRATIO,
    CTR_SAMPLER_PARENTBASED_ALWAYS_ON,
    CTR_SAMPLER_PARENTBASED_ALWAYS_OFF,
    CTR_SAMPLER_PARENTBASED_TRACEIDRATIO,
} ctr_sampler_kind;

/* Exporters. OTEL_TRACES_EXPORTER names the first five; settings (the
 * control, the command-line tool) name every one. */
typedef enum {
    CTR_EXPORTER_OTLP = 0, /* protocol decides http/protobuf, http/json, grpc */
    CTR_EXPORTER_CONSOLE,
    CTR_EXPORTER_FILE,
    CTR_EXPORTER_ZIPKIN,
    CTR_EXPORTER_NONE,
    CTR_EXPORTER_OTLP_HTTP, /* http/protobuf, or http/json when the protocol says so */
    CTR_EXPORTER_OTLP_JSON,
    CTR_EXPORTER_OTLP_GRPC,
    CTR_EXPORTER_JAEGER_THRIFT,
    CTR_EXPORTER_JAEGER_GRPC,
} ctr_exporter_kind;

/* How trace ids are made. */
typedef enum {
    CTR_IDS_RANDOM = 0, /* 16 random bytes */
    CTR_IDS_XRAY,       /* AWS X-Ray: 4 bytes of epoch seconds, 12 random (otel_vendor aws) */
} ctr_id_generator;

typedef enum {
    CTR_PROTOCOL_HTTP_PROTOBUF = 0,
    CTR_PROTOCOL_HTTP_JSON,
    CTR_PROTOCOL_GRPC,
} ctr_otlp_protocol;

struct ctr_config {
    bool sdk_disabled;
    char *service_name; /* OTEL_SERVICE_NAME, NULL if unset */
    /* OTEL_RESOURCE_ATTRIBUTES, percent-decoded; all discarded on a decode
     * error (with a warning). */
    struct ctr_header *resource_attrs;
    size_t n_resource_attrs;

    ctr_sampler_kind sampler;
    double sampler_arg;   /* ratio in [0, 1], default 1.0 */
    ctr_id_generator ids; /* not an OTEL_* variable: the setup sets it */

    struct ctr_limits limits;
    struct ctr_bsp_options bsp;

    ctr_exporter_kind exporter; /* OTEL_TRACES_EXPORTER: first supported entry */
    bool exporter_set;          /* OTEL_TRACES_EXPORTER was set */
    ctr_otlp_protocol protocol;
    /* The traces endpoint URL, resolved by the spec's rules: the per-signal
     * variable as given; the base one with "v1/traces" appended; else the
     * protocol's default. Always set after ctr_config_from_env(). */
    char *otlp_endpoint;
    bool otlp_endpoint_set; /* true when it came from the environment */
    /* The same resolved for each transport whatever the protocol: the URL for
     * OTLP/HTTP ("v1/traces" appended to the base variable) and the endpoint
     * for OTLP/gRPC (as given). Always set after ctr_config_from_env(). */
    char *otlp_http_endpoint;
    char *otlp_grpc_endpoint;
    struct ctr_header *otlp_headers;
    size_t n_otlp_headers;
    uint32_t otlp_timeout_ms;
    bool otlp_gzip;
    char *otlp_certificate;
    char *otlp_client_key;
    char *otlp_client_certificate;
    bool otlp_insecure;

    unsigned propagators; /* CTR_PROP_* bits; default tracecontext|baggage */

    /* OTEL_EXPORTER_ZIPKIN_ENDPOINT (default http://localhost:9411/api/v2/spans)
     * and OTEL_EXPORTER_ZIPKIN_TIMEOUT (ms, default 10000). */
    char *zipkin_endpoint;
    uint32_t zipkin_timeout_ms;

    /* Warnings about ignored values, one per line, NUL-terminated; NULL when
     * there were none. */
    char *warnings;
};

/* Reads a variable; returns NULL when unset. */
typedef const char *(*ctr_getenv_fn)(void *ud, const char *name);

/*
 * Fill `cfg` from the environment through `get` (getenv when NULL).
 * Returns 0 or CTR_ENOMEM. Free with ctr_config_free() in every case.
 */
int ctr_config_from_env(struct ctr_config *cfg, ctr_getenv_fn get, void *ud);
void ctr_config_free(struct ctr_config *cfg);

/*
 * Parse a "k=v,k2=v2" list with percent-decoding (OTEL_*_HEADERS,
 * OTEL_RESOURCE_ATTRIBUTES): whitespace around keys and values is trimmed,
 * empty members are skipped. Returns 0, CTR_EPARSE (a member without '=' or
 * a bad percent escape: nothing is returned) or CTR_ENOMEM. Free the array
 * with ctr_headers_free().
 */
int ctr_parse_kv_list(const char *s, struct ctr_header **out, size_t *n_out);
void ctr_headers_free(struct ctr_header *h, size_t n);

/*
 * Make a traces URL from a user-given endpoint for OTLP/HTTP: an endpoint
 * with no path (or only "/") gets "/v1/traces"; any other path is kept.
 * Returns a malloc'd string or NULL (out of memory or not http(s)://).
 */
char *ctr_otlp_http_traces_url(const char *endpoint);

#endif
