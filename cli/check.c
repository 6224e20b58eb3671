/*
 * `chaostracing check`: send a small test trace through an exporter and say
 * whether it was delivered. The configuration comes from the OTEL_*
 * environment variables, overridden by the options, so the same command
 * checks what an experiment would use.
 */
#include "check.h"

#include <chaostracing/chaostracing.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADERS 32

void cli_check_usage(FILE *f)
{
    fputs("usage: chaostracing check [OPTIONS]\n"
          "\n"
          "Send a test trace and report whether the backend accepted it. Settings come\n"
          "from the OTEL_* environment variables; options override them.\n"
          "\n"
          "  -e, --exporter NAME   otlp-http, otlp-json, otlp-grpc, jaeger-thrift,\n"
          "                        jaeger-grpc, zipkin, file, console\n"
          "  -u, --endpoint URL    collector URL (host:port for jaeger-thrift/jaeger-grpc,\n"
          "                        a path for file)\n"
          "  -H, --header K=V      extra header or gRPC metadata (repeatable)\n"
          "      --gzip            compress the request\n"
          "      --insecure        cleartext gRPC for a scheme-less endpoint\n"
          "      --cacert FILE     CA bundle (PEM) for https endpoints\n"
          "      --cert FILE       client certificate (PEM)\n"
          "      --key FILE        client key (PEM)\n"
          "  -n, --spans N         spans in the test trace (default 3)\n"
          "  -t, --timeout MS      give up after MS milliseconds (default 10000)\n"
          "\n"
          "Prints 'trace_id=<hex> exported=N failed=N dropped=N destination=...' and\n"
          "exits 0 when every span was delivered, 1 otherwise, 64 on a usage error.\n",
          f);
}

struct check_opts {
    const char *exporter;
    const char *endpoint;
    struct ctr_header headers[MAX_HEADERS];
    size_t n_headers;
    bool gzip, insecure;
    struct ctr_tls_options tls;
    long spans;
    long timeout_ms;
};

/* Build the exporter the options name; 0 or a CTR_E* code with `err` set. */
static int make_exporter(const struct check_opts *o, const struct ctr_config *cfg,
                         struct ctr_exporter **out, char *err, size_t errlen)
{
    const char *name = o->exporter;
    if (!name) {
        switch (cfg->exporter) {
        case CTR_EXPORTER_CONSOLE:
            name = "console";
            break;
        case CTR_EXPORTER_ZIPKIN:
            name = "zipkin";
            break;
        default:
            name = cfg->protocol == CTR_PROTOCOL_GRPC        ? "otlp-grpc"
                   : cfg->protocol == CTR_PROTOCOL_HTTP_JSON ? "otlp-json"
                                                             : "otlp-http";
        }
    }
    struct ctr_tls_options tls = o->tls;
    if (!tls.ca_file)
        tls.ca_file = cfg->otlp_certificate;
    if (!tls.client_cert)
        tls.client_cert = cfg->otlp_client_certificate;
    if (!tls.client_key)
        tls.client_key = cfg->otlp_client_key;
    const struct ctr_header *hs = o->n_headers ? o->headers : cfg->otlp_headers;
    size_t nh = o->n_headers ? o->n_headers : cfg->n_otlp_headers;
    uint32_t timeout = (uint32_t)o->timeout_ms;

    if (!strcmp(name, "otlp-http") || !strcmp(name, "otlp-json")) {
        char *url = o->endpoint ? ctr_otlp_http_traces_url(o->endpoint) : NULL;
        if (o->endpoint && !url) {
            snprintf(err, errlen, "%s is not an http:// or https:// URL", o->endpoint);
            return CTR_EINVAL;
        }
        struct ctr_otlp_http_options opt = {
            .url = url ? url : cfg->otlp_endpoint,
            .headers = hs,
            .n_headers = nh,
            .timeout_ms = timeout,
            .gzip = o->gzip || cfg->otlp_gzip,
            .json = !strcmp(name, "otlp-json"),
            .ca_file = tls.ca_file,
            .client_cert = tls.client_cert,
            .client_key = tls.client_key,
        };
        int rc = ctr_otlp_http_exporter_new(&opt, out, err, errlen);
        free(url);
        return rc;
    }
    if (!strcmp(name, "otlp-grpc")) {
        struct ctr_otlp_grpc_options opt = {
            .endpoint = o->endpoint ? o->endpoint : cfg->otlp_endpoint,
            .insecure = o->insecure || cfg->otlp_insecure,
            .headers = hs,
            .n_headers = nh,
            .timeout_ms = timeout,
            .gzip = o->gzip || cfg->otlp_gzip,
            .tls = tls,
        };
        return ctr_otlp_grpc_exporter_new(&opt, out, err, errlen);
    }
    if (!strcmp(name, "jaeger-thrift")) {
        struct ctr_jaeger_agent_options opt = {0};
        char host[256] = "localhost";
        opt.port = 6831;
        if (o->endpoint) {
            const char *colon = strrchr(o->endpoint, ':');
            size_t hl = colon ? (size_t)(colon - o->endpoint) : strlen(o->endpoint);
            if (hl && hl < sizeof host) {
                memcpy(host, o->endpoint, hl);
                host[hl] = '\0';
            }
            if (colon)
                opt.port = (uint16_t)atoi(colon + 1);
        }
        opt.host = host;
        return ctr_jaeger_agent_exporter_new(&opt, out, err, errlen);
    }
    if (!strcmp(name, "jaeger-grpc")) {
        struct ctr_jaeger_grpc_options opt = {
            .endpoint = o->endpoint ? o->endpoint : "localhost:14250",
            .insecure = o->insecure,
            .timeout_ms = timeout,
            .tls = tls,
        };
        return ctr_jaeger_grpc_exporter_new(&opt, out, err, errlen);
    }
    if (!strcmp(name, "zipkin")) {
        struct ctr_zipkin_options opt = {
            .url = o->endpoint ? o->endpoint : cfg->zipkin_endpoint,
            .timeout_ms = timeout,
            .tls = tls,
        };
        return ctr_zipkin_exporter_new(&opt, out, err, errlen);
    }
    if (!strcmp(name, "file"))
        return ctr_file_exporter_new(o->endpoint ? o->endpoint : "chaostracing-traces.jsonl", out,
                                     err, errlen);
    if (!strcmp(name, "console"))
        return ctr_console_exporter_new(NULL, out);
    snprintf(err, errlen, "unknown exporter '%s'", name);
    return CTR_EINVAL;
}

/* The test trace: a root span and children carrying every attribute type,
 * an event, a link and an error status, so a receiver sees the whole model. */
static void emit_trace(struct ctr_tracer *t, long n, uint8_t trace_id[CTR_TRACE_ID_LEN])
{
    struct ctr_span *root =
        ctr_tracer_start_span(t, "chaostracing check", 18, NULL, CTR_KIND_SERVER, 0);
    if (!root)
        return;
    memcpy(trace_id, root->ctx.trace_id, CTR_TRACE_ID_LEN);
    ctr_span_set_str(root, "chaostoolkit.type", "check", 5);
    for (long i = 1; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "check span %ld", i);
        struct ctr_span *s = ctr_tracer_start_span(t, name, strlen(name), &root->ctx,
                                                   i % 2 ? CTR_KIND_CLIENT : CTR_KIND_INTERNAL, 0);
        if (!s)
            break;
        struct ctr_value tags[2] = {{.type = CTR_VALUE_STRING, .u.s = {"alpha", 5}},
                                    {.type = CTR_VALUE_STRING, .u.s = {"beta", 4}}};
        struct ctr_attr attrs[] = {
            {{"check.string", 12}, {.type = CTR_VALUE_STRING, .u.s = {"h\xc3\xa9llo", 6}}},
            {{"check.int", 9}, {.type = CTR_VALUE_INT, .u.i = -42}},
            {{"check.bool", 10}, {.type = CTR_VALUE_BOOL, .u.b = true}},
            {{"check.double", 12}, {.type = CTR_VALUE_DOUBLE, .u.d = 2.5}},
            {{"check.bytes", 11}, {.type = CTR_VALUE_BYTES, .u.s = {"\x00\x01\x02", 3}}},
            {{"check.array", 11}, {.type = CTR_VALUE_ARRAY, .u.array = {tags, 2}}},
        };
        for (size_t a = 0; a < sizeof attrs / sizeof attrs[0]; a++)
            ctr_span_set_attr(s, &attrs[a]);
        ctr_span_set_int(s, "check.index", i);
        struct ctr_attr ev = {{"check.event.attr", 16},
                              {.type = CTR_VALUE_STRING, .u.s = {"v", 1}}};
        ctr_span_add_event(s, "check event", 11, 0, &ev, 1);
        ctr_span_add_link(s, &root->ctx, NULL, 0);
        if (i == n - 1)
            ctr_span_set_status(s, CTR_STATUS_ERROR, "check error", 11);
        ctr_span_end(s, 0);
    }
    ctr_span_end(root, 0);
}

/* Log sink for the command: everything at INFO and above on stderr. */
static void log_stderr(void *ud, int level, const char *msg)
{
    (void)ud;
    if (level >= CTR_LOG_INFO)
        fprintf(stderr, "%s\n", msg);
}

int cli_check_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"exporter", required_argument, NULL, 'e'}, {"endpoint", required_argument, NULL, 'u'},
        {"header", required_argument, NULL, 'H'},   {"gzip", no_argument, NULL, 'z'},
        {"insecure", no_argument, NULL, 'k'},       {"cacert", required_argument, NULL, 'C'},
        {"cert", required_argument, NULL, 'c'},     {"key", required_argument, NULL, 'K'},
        {"spans", required_argument, NULL, 'n'},    {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    struct check_opts o = {.spans = 3, .timeout_ms = 10000};
    char *header_copies[MAX_HEADERS] = {0};
    int status = CLI_EXIT_USAGE;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "e:u:H:n:t:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'e':
            o.exporter = optarg;
            break;
        case 'u':
            o.endpoint = optarg;
            break;
        case 'H': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || o.n_headers == MAX_HEADERS) {
                fprintf(stderr, "chaostracing check: --header wants NAME=VALUE\n");
                goto out;
            }
            char *copy = strdup(optarg);
            if (!copy)
                goto out;
            header_copies[o.n_headers] = copy;
            copy[eq - optarg] = '\0';
            o.headers[o.n_headers].name = copy;
            o.headers[o.n_headers].value = copy + (eq - optarg) + 1;
            o.n_headers++;
            break;
        }
        case 'z':
            o.gzip = true;
            break;
        case 'k':
            o.insecure = true;
            break;
        case 'C':
            o.tls.ca_file = optarg;
            break;
        case 'c':
            o.tls.client_cert = optarg;
            break;
        case 'K':
            o.tls.client_key = optarg;
            break;
        case 'n':
            o.spans = strtol(optarg, NULL, 10);
            if (o.spans < 1 || o.spans > 100000) {
                fprintf(stderr, "chaostracing check: --spans wants 1..100000\n");
                goto out;
            }
            break;
        case 't':
            o.timeout_ms = strtol(optarg, NULL, 10);
            if (o.timeout_ms < 1 || o.timeout_ms > 600000) {
                fprintf(stderr, "chaostracing check: --timeout wants 1..600000 ms\n");
                goto out;
            }
            break;
        case 'h':
            cli_check_usage(stdout);
            status = CLI_EXIT_OK;
            goto out;
        default:
            cli_check_usage(stderr);
            goto out;
        }
    }

    ctr_log_set_sink(log_stderr, NULL);
    struct ctr_config cfg;
    if (ctr_config_from_env(&cfg, NULL, NULL)) {
        ctr_config_free(&cfg);
        status = CLI_EXIT_IO;
        goto out;
    }
    if (cfg.warnings)
        fprintf(stderr, "%s\n", cfg.warnings);
    cfg.sdk_disabled = false;
    cfg.sampler = CTR_SAMPLER_ALWAYS_ON;
    /* One request for the whole trace. */
    cfg.bsp.max_queue_size = (uint32_t)o.spans;
    cfg.bsp.max_export_batch_size = (uint32_t)o.spans;
    cfg.bsp.export_timeout_ms = (uint32_t)o.timeout_ms;

    char err[512] = "";
    struct ctr_exporter *exporter = NULL;
    int rc = make_exporter(&o, &cfg, &exporter, err, sizeof err);
    if (rc) {
        fprintf(stderr, "chaostracing check: %s\n", err[0] ? err : ctr_strerror(rc));
        ctr_config_free(&cfg);
        status = rc == CTR_EINVAL ? CLI_EXIT_USAGE : 1;
        goto out;
    }
    char destination[sizeof exporter->destination];
    snprintf(destination, sizeof destination, "%s", exporter->destination);
    struct ctr_tracer *t = NULL;
    rc = ctr_tracer_new(&cfg, exporter, true, &t);
    ctr_config_free(&cfg);
    if (rc) {
        fprintf(stderr, "chaostracing check: %s\n", ctr_strerror(rc));
        status = 1;
        goto out;
    }
    uint8_t trace_id[CTR_TRACE_ID_LEN] = {0};
    emit_trace(t, o.spans, trace_id);
    ctr_tracer_shutdown(t, ctr_deadline_after_ms((uint64_t)o.timeout_ms));
    struct ctr_processor_stats ps;
    ctr_tracer_stats(t, &ps);
    ctr_tracer_free(t);
    char hex[2 * CTR_TRACE_ID_LEN + 1];
    ctr_hex_encode(trace_id, CTR_TRACE_ID_LEN, hex);
    printf("trace_id=%s exported=%llu failed=%llu dropped=%llu destination=%s\n", hex,
           (unsigned long long)ps.spans_exported,
           (unsigned long long)(ps.spans_failed + ps.spans_rejected),
           (unsigned long long)ps.spans_dropped, destination);
    status = ps.spans_exported == (uint64_t)o.spans ? CLI_EXIT_OK : 1;
out:
    for (size_t i = 0; i < MAX_HEADERS; i++)
        free(header_copies[i]);
    return status;
}
