/*
 * The options that say where spans go, shared by `check` and `replay`:
 * -e/--exporter, -u/--endpoint, -H/--header, --gzip, --insecure, --cacert,
 * --cert, --key, -t/--timeout. They become the library's settings (from the
 * command line, over the OTEL_* variables); the library resolves them.
 */
#ifndef CHAOSTRACING_CLI_SENDOPTS_H
#define CHAOSTRACING_CLI_SENDOPTS_H

#include <chaostracing/chaostracing.h>

#include <getopt.h>
#include <stdio.h>

#define SENDOPTS_MAX_HEADERS 32
/* The short options, for a command's optstring. */
#define SENDOPTS_SHORT "e:u:H:t:"
/* The long options, first in a command's table. */
#define SENDOPTS_LONG                                                                              \
    {"exporter", required_argument, NULL, 'e'}, {"endpoint", required_argument, NULL, 'u'},        \
        {"header", required_argument, NULL, 'H'}, {"gzip", no_argument, NULL, 'z'},                \
        {"insecure", no_argument, NULL, 'k'}, {"cacert", required_argument, NULL, 'C'},            \
        {"cert", required_argument, NULL, 'c'}, {"key", required_argument, NULL, 'K'},             \
    {                                                                                              \
        "timeout", required_argument, NULL, 't'                                                    \
    }
/* The usage lines of those options. */
#define SENDOPTS_USAGE                                                                             \
    "  -e, --exporter NAME   otlp-http, otlp-json, otlp-grpc, jaeger-thrift,\n"                    \
    "                        jaeger-grpc, zipkin, file, console\n"                                 \
    "  -u, --endpoint URL    collector URL (host:port for jaeger-thrift/jaeger-grpc,\n"            \
    "                        a path for file)\n"                                                   \
    "  -H, --header K=V      extra header or gRPC metadata (repeatable)\n"                         \
    "      --gzip            compress the request\n"                                               \
    "      --insecure        cleartext gRPC for a scheme-less endpoint\n"                          \
    "      --cacert FILE     CA bundle (PEM) for https endpoints\n"                                \
    "      --cert FILE       client certificate (PEM)\n"                                           \
    "      --key FILE        client key (PEM)\n"                                                   \
    "  -t, --timeout MS      give up after MS milliseconds (default 10000)\n"

struct sendopts {
    const char *command; /* "check": names the command in messages */
    struct ctr_settings *settings;
    struct ctr_header headers[SENDOPTS_MAX_HEADERS];
    char *copies[SENDOPTS_MAX_HEADERS];
    size_t n_headers;
    long timeout_ms;
};

/* Start collecting; false when out of memory. */
bool sendopts_init(struct sendopts *o, const char *command);
/* Take option `c` with `arg` when it is one of ours: 1 taken, 0 not ours,
 * -1 a usage error (printed) or out of memory. */
int sendopts_take(struct sendopts *o, int c, const char *arg);
/*
 * Resolve everything into *setup (CTR_SETUP_CHECK: tracing on whatever the
 * provider says). Problems are printed as "chaostracing COMMAND: ...".
 * Returns 0 with *setup ready, else the exit status to use (64 for a setting
 * that cannot work, 1 when out of memory); *setup is then NULL.
 */
int sendopts_setup(struct sendopts *o, struct ctr_setup **setup);
void sendopts_free(struct sendopts *o);

#endif
