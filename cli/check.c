/*
 * `chaostracing check`: send a small test trace through an exporter and say
 * whether it was delivered. The configuration comes from the OTEL_*
 * environment variables, overridden by the options, so the same command
 * checks what an experiment would use.
 */
#include "check.h"

#include <chaostracing/chaostracing.h>
#include <chaostracing/settings.h>

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

/* The test trace: a root span and children carrying every attribute type,
 * an event, a link and an error status, so a receiver sees the whole model. */
static void emit_trace(struct ctr_tracer *t, long n, uint8_t trace_id[CTR_TRACE_ID_LEN])
{
    struct ctr_span *root =
        ctr_tracer_start_span(t, "chaostracing check", 18, NULL, CTR_KIND_SERVER, 0);
    if (!root)
        return;
    struct ctr_span_context root_ctx;
    ctr_span_get_context(root, &root_ctx);
    memcpy(trace_id, root_ctx.trace_id, CTR_TRACE_ID_LEN);
    ctr_span_set_str(root, "chaostoolkit.type", "check", 5);
    for (long i = 1; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "check span %ld", i);
        struct ctr_span *s = ctr_tracer_start_span(t, name, strlen(name), &root_ctx,
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
        ctr_span_add_link(s, &root_ctx, NULL, 0);
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

/* Record a command-line setting; false when out of memory. */
static bool put(struct ctr_settings *s, const char *key, const struct ctr_setting_value *v)
{
    return ctr_settings_put(s, CTR_FROM_COMMAND, key, strlen(key), v) == 0;
}

static bool put_bool(struct ctr_settings *s, const char *key)
{
    struct ctr_setting_value v = {.type = CTR_SV_BOOL, .b = true};
    return put(s, key, &v);
}

/* Print the setup's problems; true when tracing cannot start. */
static bool report(const struct ctr_setup *setup)
{
    for (size_t i = 0; i < ctr_setup_problem_count(setup); i++) {
        int level;
        const char *msg = ctr_setup_problem(setup, i, &level, NULL);
        if (level >= CTR_LOG_INFO)
            fprintf(stderr, "chaostracing check: %s\n", msg);
    }
    return !ctr_setup_enabled(setup);
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
    struct ctr_header headers[MAX_HEADERS];
    char *header_copies[MAX_HEADERS] = {0};
    size_t n_headers = 0;
    long spans = 3, timeout_ms = 10000;
    int status = CLI_EXIT_USAGE;
    struct ctr_settings *set = NULL;
    struct ctr_setup *setup = NULL;
    if (ctr_settings_new(&set))
        return CLI_EXIT_IO;
    bool ok = true;
    int c;
    optind = 1;
    while (ok && (c = getopt_long(argc, argv, "e:u:H:n:t:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'e':
            ok = ctr_settings_put_str(set, CTR_FROM_COMMAND, "exporter", optarg) == 0;
            break;
        case 'u':
            ok = ctr_settings_put_str(set, CTR_FROM_COMMAND, "endpoint", optarg) == 0;
            break;
        case 'H': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || n_headers == MAX_HEADERS) {
                fprintf(stderr, "chaostracing check: --header wants NAME=VALUE\n");
                goto out;
            }
            char *copy = strdup(optarg);
            if (!copy)
                goto out;
            header_copies[n_headers] = copy;
            copy[eq - optarg] = '\0';
            headers[n_headers].name = copy;
            headers[n_headers].value = copy + (eq - optarg) + 1;
            n_headers++;
            break;
        }
        case 'z':
            ok = put_bool(set, "gzip");
            break;
        case 'k':
            ok = put_bool(set, "insecure");
            break;
        case 'C':
            ok = ctr_settings_put_str(set, CTR_FROM_COMMAND, "cacert", optarg) == 0;
            break;
        case 'c':
            ok = ctr_settings_put_str(set, CTR_FROM_COMMAND, "cert", optarg) == 0;
            break;
        case 'K':
            ok = ctr_settings_put_str(set, CTR_FROM_COMMAND, "key", optarg) == 0;
            break;
        case 'n':
            spans = strtol(optarg, NULL, 10);
            if (spans < 1 || spans > 100000) {
                fprintf(stderr, "chaostracing check: --spans wants 1..100000\n");
                goto out;
            }
            break;
        case 't':
            timeout_ms = strtol(optarg, NULL, 10);
            if (timeout_ms < 1 || timeout_ms > 600000) {
                fprintf(stderr, "chaostracing check: --timeout wants 1..600000 ms\n");
                goto out;
            }
            ok = ctr_settings_put_str(set, CTR_FROM_COMMAND, "timeout", optarg) == 0;
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
    struct ctr_setting_value hv = {.type = CTR_SV_MAP, .map = headers, .n_map = n_headers};
    if (ok && n_headers)
        ok = put(set, "headers", &hv);
    if (!ok || ctr_setup_build(set, CTR_SETUP_CHECK, NULL, NULL, &setup)) {
        fprintf(stderr, "chaostracing check: out of memory\n");
        status = CLI_EXIT_IO;
        goto out;
    }
    if (report(setup))
        goto out;
    char destination[512];
    snprintf(destination, sizeof destination, "%s", ctr_setup_destination(setup));
    struct ctr_start_options so = {.batch_size = (uint32_t)spans,
                                   .timeout_ms = (uint32_t)timeout_ms};
    struct ctr_tracer *t = NULL;
    int rc = ctr_setup_start(setup, &so, &t);
    if (rc) {
        fprintf(stderr, "chaostracing check: %s\n", ctr_strerror(rc));
        status = 1;
        goto out;
    }
    uint8_t trace_id[CTR_TRACE_ID_LEN] = {0};
    emit_trace(t, spans, trace_id);
    ctr_tracer_shutdown(t, ctr_deadline_after_ms((uint64_t)timeout_ms));
    struct ctr_processor_stats ps;
    ctr_tracer_stats(t, &ps);
    ctr_tracer_free(t);
    char hex[2 * CTR_TRACE_ID_LEN + 1];
    ctr_hex_encode(trace_id, CTR_TRACE_ID_LEN, hex);
    printf("trace_id=%s exported=%llu failed=%llu dropped=%llu destination=%s\n", hex,
           (unsigned long long)ps.spans_exported,
           (unsigned long long)(ps.spans_failed + ps.spans_rejected),
           (unsigned long long)ps.spans_dropped, destination);
    status = ps.spans_exported == (uint64_t)spans ? CLI_EXIT_OK : 1;
out:
    ctr_setup_free(setup);
    ctr_settings_free(set);
    for (size_t i = 0; i < MAX_HEADERS; i++)
        free(header_copies[i]);
    return status;
}
