/*
 * What a setup starts (src/export/setup.c): the propagation formats and
 * header names, the sampler, ctr_setup_start() and its options, what each
 * OTLP/HTTP name and protocol puts on the wire, and the free paths (every
 * setup is freed before its tracer is used, so ASan sees anything borrowed).
 * test_settings.c covers names, destinations and problems.
 */
#include <unistd.h>

#include "http_server.h"
#include "log_capture.h"
#include "scratch.h"
#include "setup_build.h"

#define SECOND_NS 1000000000ull

/* ---- propagation ---------------------------------------------------------------- */

static void test_propagation_formats(void)
{
    const struct {
        const char *provider, *propagation, *env; /* tracing_propagation, OTEL_PROPAGATORS */
        const struct put *more;
        unsigned want;
        const char *warning; /* the one problem, or NULL for none */
    } rows[] = {
        {"opentelemetry", NULL, NULL, NULL, W3C, NULL},
        {"opentelemetry", NULL, "b3", NULL, CTR_PROP_B3, NULL},
        {"opentelemetry", NULL, "b3multi,jaeger", NULL, CTR_PROP_B3MULTI | CTR_PROP_JAEGER, NULL},
        {"opentelemetry", NULL, "none", NULL, 0, NULL},
        /* "b3" in tracing_propagation: the X-B3-* headers, as the Jaeger client sent. */
        {"opentelemetry", "b3", NULL, NULL, CTR_PROP_B3MULTI, NULL},
        {"opentelemetry", "b3", "tracecontext", NULL, CTR_PROP_B3MULTI, NULL},
        {"opentelemetry", "B3Single", NULL, NULL, CTR_PROP_B3, NULL},
        {"opentelemetry", "b3-single", NULL, NULL, CTR_PROP_B3, NULL},
        {"opentelemetry", "b3multi", NULL, NULL, CTR_PROP_B3MULTI, NULL},
        {"opentelemetry", "tracecontext", "xray", NULL, W3C, NULL},
        {"opentelemetry", "w3c", NULL, NULL, W3C, NULL},
        {"opentelemetry", "baggage", NULL, NULL, CTR_PROP_BAGGAGE, NULL},
        {"opentelemetry", " jaeger , xray ", NULL, NULL, CTR_PROP_JAEGER | CTR_PROP_XRAY, NULL},
        {"opentelemetry", "tracecontext,b3,", NULL, NULL, W3C | CTR_PROP_B3MULTI, NULL},
        {"opentelemetry", "none", NULL, NULL, 0, NULL},
        {"opentelemetry", "b4", "xray", NULL, CTR_PROP_XRAY,
         "tracing_propagation=b4 is not one of " PROPAGATORS
         "; did you mean \"b3\"?; using OTEL_PROPAGATORS"},
        {"opentelemetry", "b3,carrot-cake", NULL, NULL, W3C,
         "tracing_propagation=b3,carrot-cake is not one of " PROPAGATORS
         "; using OTEL_PROPAGATORS"},
        {"opentelemetry", "", "xray", NULL, CTR_PROP_XRAY, NULL}, /* empty: no choice */
        {"jaeger", NULL, NULL, NULL, CTR_PROP_JAEGER, NULL},
        {"jaeger", NULL, "b3", NULL, CTR_PROP_JAEGER, NULL},
        {"jaeger", "b3", NULL, NULL, CTR_PROP_B3MULTI, NULL},
        {"jaeger", "jaegr", NULL, NULL, CTR_PROP_JAEGER,
         "tracing_propagation=jaegr is not one of " PROPAGATORS
         "; did you mean \"jaeger\"?; using jaeger"},
        /* Any baggage prefix switches opentelemetry to b3, as upstream did. */
        {"opentelemetry", NULL, NULL, PUTS({CONF, "tracing_opentelemetry_baggage_prefix", "x-"}),
         CTR_PROP_B3MULTI, NULL},
        {"opentelemetry", NULL, "xray", PUTS({ARG, "baggage_prefix", "x-"}), CTR_PROP_B3MULTI,
         NULL},
        {"opentelemetry", "jaeger", NULL,
         PUTS({CONF, "tracing_opentelemetry_baggage_prefix", "x-"}), CTR_PROP_JAEGER, NULL},
        {"opentelemetry", NULL, NULL, PUTS({CONF, "tracing_opentelemetry_baggage_prefix", ""}), W3C,
         NULL},
        {"opentelemetry", NULL, NULL, PUTS({CONF, "baggage_prefix", "x-"}), W3C, NULL},
        {"jaeger", NULL, NULL, PUTS({CONF, "tracing_opentelemetry_baggage_prefix", "x-"}),
         CTR_PROP_JAEGER, NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct put p[4] = {{CONF, "tracing_provider", rows[i].provider}, {ARG, "exporter", "none"}};
        if (rows[i].propagation)
            p[2] = (struct put){CONF, "tracing_propagation", rows[i].propagation};
        struct outcome o;
        run(&o, 0, ENV({"OTEL_PROPAGATORS", rows[i].env}), p, rows[i].more);
        if (!o.enabled || o.failed || o.prop.formats != rows[i].want ||
            o.n != (rows[i].warning != NULL) ||
            (o.n && (o.fatal || o.level != CTR_LOG_WARNING || strcmp(o.first, rows[i].warning))))
            TEST_FAIL_AT("row %zu: formats %#x (want %#x), problems:\n%s", i, o.prop.formats,
                         rows[i].want, o.all);
    }
    /* A false baggage prefix switches nothing. */
    struct ctr_settings *s = settings_of(OTEL, NULL);
    struct ctr_setting_value no = {.type = CTR_SV_BOOL, .b = false};
    ASSERT_EQ(ctr_settings_put(s, CONF, "tracing_opentelemetry_baggage_prefix", 36, &no), 0);
    struct outcome o;
    outcome_of(build(s, 0, NULL), &o);
    ASSERT_UEQ(o.prop.formats, W3C);
}

/* The jaeger provider's header names, copied into the propagation. */
static void test_jaeger_header_names(void)
{
    const struct {
        const struct put *p;
        const char *trace, *baggage;
    } rows[] = {
        {PUTS({CONF, "tracing_provider", "jaeger"}), "uber-trace-id", "uberctx-"},
        {PUTS({CONF, "tracing_provider", "jaeger"}, {CONF, "tracing_id_name", "x-trace-id"},
              {CONF, "baggage_prefix", "ctx-"}),
         "x-trace-id", "ctx-"},
        {PUTS({ARG, "provider", "jaeger"}, {ARG, "id_name", "my-trace"},
              {ARG, "baggage_prefix", "my-"}, {CONF, "baggage_prefix", "conf-"}),
         "my-trace", "my-"},
        /* The opentelemetry provider has no use for them. */
        {PUTS({CONF, "tracing_provider", "opentelemetry"}, {CONF, "tracing_id_name", "x-trace-id"},
              {CONF, "baggage_prefix", "ctx-"}),
         "uber-trace-id", "uberctx-"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct outcome o;
        run(&o, 0, NULL, rows[i].p, PUTS({ARG, "port", "9"}));
        ASSERT(o.enabled && o.n == 0);
        ASSERT_STREQ(o.prop.jaeger_trace_header, rows[i].trace);
        ASSERT_STREQ(o.prop.jaeger_baggage_prefix, rows[i].baggage);
    }
    /* A name that does not fit is refused with a warning; tracing goes on. */
    char long_name[80];
    memset(long_name, 'h', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    struct outcome o;
    run(&o, 0, NULL,
        PUTS({CONF, "tracing_provider", "jaeger"}, {CONF, "tracing_id_name", long_name}),
        PUTS({ARG, "port", "9"}));
    ASSERT(o.enabled && !o.failed && o.n == 1);
    ASSERT_STREQ(o.first, "tracing_id_name is longer than 63 characters; using uber-trace-id");
    ASSERT_STREQ(o.prop.jaeger_trace_header, "uber-trace-id");
}

/* ---- starting ----------------------------------------------------------------------- */

/*
 * Start `st` (freed here, before the tracer is used), record one span named
 * `name`, end it and shut the tracer down. Returns 1 when the span recorded,
 * 0 when it did not, or the negative code of ctr_setup_start().
 */
static int one_span(struct ctr_setup *st, const struct ctr_start_options *o, const char *name)
{
    struct ctr_tracer *t = (struct ctr_tracer *)&t; /* must be cleared on error */
    int rc = ctr_setup_start(st, o, &t);
    ctr_setup_free(st);
    if (rc)
        return t ? -1000 : rc;
    struct ctr_span *sp = ctr_tracer_start_span(t, name, strlen(name), NULL, CTR_KIND_INTERNAL, 0);
    int recording = sp && ctr_span_is_recording(sp);
    ctr_span_end(sp, 0);
    ctr_tracer_shutdown(t, ctr_monotonic_ns() + 5 * SECOND_NS);
    ctr_tracer_free(t);
    return recording;
}

static struct ctr_setup *setup_of(unsigned flags, const struct var *env, const struct put *p)
{
    return build(settings_of(flags ? NULL : OTEL, p), flags, env);
}

/* The jaeger provider and a check sample every span; OTEL_TRACES_SAMPLER
 * rules otherwise. */
static void test_sampler(void)
{
    const struct var *off = ENV({"OTEL_TRACES_SAMPLER", "always_off"});
    const struct put *none = PUTS({ARG, "exporter", "none"});
    ASSERT_EQ(one_span(setup_of(0, NULL, none), NULL, "s"), 1);
    ASSERT_EQ(one_span(setup_of(0, off, none), NULL, "s"), 0);
    ASSERT_EQ(one_span(setup_of(CTR_SETUP_CHECK, off, none), NULL, "s"), 1);
    const struct put *jaeger = PUTS({ARG, "provider", "jaeger"}, {ARG, "host", "127.0.0.1"},
                                    {ARG, "port", "9"}); /* discard */
    ASSERT_EQ(one_span(build(settings_of(jaeger, NULL), 0, off), NULL, "s"), 1);
}

static void test_start_once_and_only_when_enabled(void)
{
    struct ctr_setup *st = setup_of(0, NULL, PUTS({ARG, "exporter", "none"}));
    struct ctr_tracer *t = NULL, *t2 = (struct ctr_tracer *)&t2;
    ASSERT_EQ(ctr_setup_start(st, NULL, &t), 0);
    ASSERT(t != NULL);
    ASSERT_EQ(ctr_setup_start(st, NULL, &t2), CTR_EINVAL);
    ASSERT(t2 == NULL);
    ctr_setup_free(st);
    ctr_tracer_free(t);
    /* noop, a disabled SDK, a failure: no tracer, *out cleared. */
    ASSERT_EQ(one_span(build(settings_of(NULL, NULL), 0, NULL), NULL, "s"), CTR_EINVAL);
    ASSERT_EQ(one_span(setup_of(0, ENV({"OTEL_SDK_DISABLED", "true"}), NULL), NULL, "s"),
              CTR_EINVAL);
    ASSERT_EQ(one_span(setup_of(0, NULL, PUTS({ARG, "exporter", "zipkn"})), NULL, "s"), CTR_EINVAL);
    ASSERT_EQ(ctr_setup_start(NULL, NULL, &t), CTR_EINVAL);
    ASSERT(t == NULL);
    /* A setup that failed: freed unstarted. */
    struct ctr_settings *s = settings_of(OTEL, PUTS({ARG, "exporter", "zipkin"}));
    struct ctr_setting_value one = {.type = CTR_SV_INT, .i = 1};
    ASSERT_EQ(ctr_settings_put(s, CONF, "tracing_propagation", 19, &one), 0);
    st = build(s, 0, NULL);
    ASSERT(ctr_setup_failed(st) && st->exporter == NULL); /* not even made */
    ASSERT_EQ(one_span(st, NULL, "s"), CTR_EINVAL);
    ctr_setup_free(NULL);
    ctr_settings_free(NULL);
}

/* Spans reach the file with the resource from the environment. */
static void test_start_exports_to_file(void)
{
    char path[300];
    make_tmpdir();
    snprintf(path, sizeof path, "%s/spans.jsonl", tmpdir);
    const struct var *env =
        ENV({"OTEL_SERVICE_NAME", "svc-from-env"}, {"OTEL_RESOURCE_ATTRIBUTES", "team=chaos"});
    struct ctr_start_options so = {.batch_size = 1, .timeout_ms = 2000};
    ASSERT_EQ(one_span(setup_of(0, env, PUTS({ARG, "exporter", "file"}, {ARG, "file_path", path})),
                       &so, "settings-span"),
              1);
    char *text = slurp(path, NULL);
    unlink(path);
    ASSERT(text != NULL);
    bool ok = strstr(text, "\"settings-span\"") && strstr(text, "\"svc-from-env\"") &&
              strstr(text, "\"team\"") && strchr(text, '\n') == strrchr(text, '\n');
    free(text);
    ASSERT(ok);
}

/* A copy of request `i` taken under the server's lock; false when absent. */
static bool request(struct server *srv, size_t i, struct req *out)
{
    pthread_mutex_lock(&srv->mu);
    bool have = i < srv->n_reqs;
    if (have) {
        *out = srv->reqs[i];
        out->body = NULL; /* owned by the server */
    }
    pthread_mutex_unlock(&srv->mu);
    return have;
}

/* Wait up to `ms` for the server to have `n` requests. */
static bool wait_requests(struct server *srv, size_t n, unsigned ms)
{
    for (unsigned waited = 0; server_nreqs(srv) < n && waited < ms; waited += 10)
        usleep(10000);
    return server_nreqs(srv) >= n;
}

/* batch_size: the worker sends as soon as that many spans wait, long before
 * the 5 s schedule delay; timeout_ms bounds an export. */
static void test_start_options(void)
{
    struct server *srv = server_start(NULL, 0);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", srv->port);
    struct ctr_setup *st = setup_of(0, NULL, PUTS({ARG, "collector_endpoint", ep}));
    struct ctr_tracer *t;
    struct ctr_start_options so = {.batch_size = 3};
    ASSERT_EQ(ctr_setup_start(st, &so, &t), 0);
    ctr_setup_free(st);
    uint64_t t0 = ctr_monotonic_ns();
    for (int i = 0; i < 3; i++) {
        if (i == 2) {
            usleep(300000);
            ASSERT_EQ(server_nreqs(srv), 0); /* two spans: not a batch yet */
        }
        ctr_span_end(ctr_tracer_start_span(t, "b", 1, NULL, CTR_KIND_INTERNAL, 0), 0);
    }
    ASSERT(wait_requests(srv, 1, 3000));
    ASSERT(ctr_monotonic_ns() - t0 < 4 * SECOND_NS);
    ctr_tracer_free(t);
    server_free(srv);

    static const struct step silent[] = {{SILENT, 0, NULL, NULL, 0}};
    srv = server_start(silent, 1);
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", srv->port);
    st = setup_of(0, NULL, PUTS({ARG, "collector_endpoint", ep}));
    so = (struct ctr_start_options){.batch_size = 1, .timeout_ms = 300};
    ASSERT_EQ(ctr_setup_start(st, &so, &t), 0);
    ctr_setup_free(st);
    t0 = ctr_monotonic_ns();
    ctr_span_end(ctr_tracer_start_span(t, "t", 1, NULL, CTR_KIND_INTERNAL, 0), 0);
    /* The export gives up at 300 ms; the span is kept and tried again after
     * a 1 s pause: a second request comes long before the exporter's own 10 s. */
    ASSERT(wait_requests(srv, 2, 5000));
    uint64_t took = ctr_monotonic_ns() - t0;
    struct ctr_processor_stats stats;
    ctr_tracer_stats(t, &stats);
    ctr_tracer_free(t);
    server_free(srv);
    ASSERT_UEQ(stats.spans_failed, 0);
    ASSERT(took >= SECOND_NS && took < 3 * SECOND_NS);
}

/* Which body each OTLP/HTTP name sends, to /v1/traces, with the configured
 * headers merged over OTEL_EXPORTER_OTLP_HEADERS. */
static void test_otlp_http_names_on_the_wire(void)
{
    static const char proto[] = "application/x-protobuf", json[] = "application/json";
    static const struct {
        const char *exporter, *protocol, *type; /* exporter NULL: OTEL_TRACES_EXPORTER=otlp */
    } rows[] = {
        {"otlp-http", NULL, proto},   {"otlp-http", "http/json", json},
        {"otlp-http", "grpc", proto}, {"oltp-http", "http/json", json},
        {"otlp-json", NULL, json},    {"otlp-http-json", "http/protobuf", json},
        {"otlp", "http/json", json},  {"otlp", NULL, proto},
        {NULL, "http/json", json},    {NULL, "http/protobuf", proto},
    };
    static struct ctr_header h[] = {{(char *)"X-Tenant", (char *)"conf"}};
    struct server *srv = server_start(NULL, 0);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", srv->port);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct put p[3] = {{ARG, "collector_endpoint", ep}};
        if (rows[i].exporter)
            p[1] = (struct put){ARG, "exporter", rows[i].exporter};
        struct ctr_settings *s = settings_of(OTEL, p);
        struct ctr_setting_value map = {.type = CTR_SV_MAP, .map = h, .n_map = 1};
        ASSERT_EQ(ctr_settings_put(s, CONF, "tracing_opentelemetry_collector_headers", 39, &map),
                  0);
        const struct var env[] = {{"OTEL_EXPORTER_OTLP_PROTOCOL", rows[i].protocol},
                                  {"OTEL_TRACES_EXPORTER", "otlp"},
                                  {"OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=env,x-env-only=1"},
                                  {NULL, NULL}};
        ASSERT_EQ(one_span(build(s, 0, env), NULL, "wire"), 1);
        struct req r;
        char type[64] = "", tenant[16] = "", env_only[16] = "";
        ASSERT(request(srv, i, &r));
        header_value(r.headers, "Content-Type", type, sizeof type);
        header_value(r.headers, "X-Tenant", tenant, sizeof tenant);
        header_value(r.headers, "x-env-only", env_only, sizeof env_only);
        if (strcmp(r.path, "/v1/traces") || strcmp(type, rows[i].type) || strcmp(tenant, "conf") ||
            strcmp(env_only, "1"))
            TEST_FAIL_AT("row %zu: %s %s, X-Tenant %s, x-env-only %s", i, r.path, type, tenant,
                         env_only);
    }
    ASSERT_EQ(server_nreqs(srv), sizeof rows / sizeof rows[0]);
    server_free(srv);
}

/* The TLS files reach the exporter: from OTEL_EXPORTER_OTLP_* or the
 * command line, which wins; a cleartext gRPC channel says it ignores them. */
static void test_tls_files_reach_the_exporter(void)
{
    static const char ignored[] = "uses cleartext HTTP/2: the TLS certificate settings are ignored";
    const struct var *ca = ENV({"OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem"});
    const struct {
        unsigned flags;
        const struct var *env;
        const struct put *p;
        size_t warnings;
    } rows[] = {
        {0, ca, PUTS({ARG, "exporter", "otlp-grpc"}, {ARG, "collector_endpoint", "http://c:4317"}),
         1},
        {0, NULL,
         PUTS({ARG, "exporter", "otlp-grpc"}, {ARG, "collector_endpoint", "http://c:4317"}), 0},
        {0, ca, PUTS({ARG, "exporter", "otlp-grpc"}, {ARG, "collector_endpoint", "https://c:4317"}),
         0},
        {0, ca,
         PUTS({ARG, "exporter", "jaeger-grpc"}, {ARG, "collector_endpoint", "http://j:14250"}), 1},
        {CTR_SETUP_CHECK, NULL,
         PUTS({CMD, "exporter", "otlp-grpc"}, {CMD, "endpoint", "c:4317"},
              {CMD, "insecure", "true"}, {CMD, "cert", "/nonexistent/cert.pem"},
              {CMD, "key", "/nonexistent/key.pem"}),
         1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        logs_reset();
        struct outcome o;
        run(&o, rows[i].flags, rows[i].env, rows[i].flags ? NULL : OTEL, rows[i].p);
        ASSERT(o.enabled && o.n == 0);
        if (logs_count(CTR_LOG_WARNING, ignored) != rows[i].warnings)
            TEST_FAIL_AT("row %zu: %zu warnings", i, logs_count(CTR_LOG_WARNING, ignored));
    }
    ctr_log_set_sink(NULL, NULL);
}

static void test_instrumentations(void)
{
    const struct {
        const struct put *p;
        unsigned want;
    } rows[] = {
        {PUTS({ARG, "provider", "opentelemetry"}, {ARG, "exporter", "none"}), 0},
        {PUTS({ARG, "provider", "opentelemetry"}, {ARG, "exporter", "none"},
              {ARG, "trace_request", "true"}),
         CTR_INSTRUMENT_REQUESTS},
        {PUTS({ARG, "provider", "opentelemetry"}, {ARG, "exporter", "none"},
              {ARG, "trace_requests", "true"}),
         CTR_INSTRUMENT_REQUESTS},
        {PUTS({ARG, "provider", "opentelemetry"}, {ARG, "exporter", "none"},
              {ARG, "trace_requests", "false"}, {ARG, "trace_httpx", "true"},
              {ARG, "trace_urllib3", "true"}, {ARG, "trace_botocore", "true"}),
         CTR_INSTRUMENT_HTTPX | CTR_INSTRUMENT_URLLIB3 | CTR_INSTRUMENT_BOTOCORE},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct ctr_setup *st = build(settings_of(rows[i].p, NULL), 0, NULL);
        ASSERT_EQ(ctr_setup_problem_count(st), 0);
        ASSERT_EQ(ctr_setup_instrumentations(st), rows[i].want);
        ctr_setup_free(st);
    }
    /* Not a boolean: named, and tracing is off as for any wrong type. */
    struct outcome o;
    run(&o, 0, NULL,
        PUTS({ARG, "provider", "opentelemetry"}, {ARG, "exporter", "none"},
             {ARG, "trace_httpx", "yes please"}),
        NULL);
    ASSERT(refused(&o, "trace_httpx=yes please is not true or false", 0));
    /* Only control arguments: as configuration keys they are unknown. */
    run(&o, 0, NULL,
        PUTS({ARG, "provider", "opentelemetry"}, {ARG, "exporter", "none"},
             {CONF, "tracing_trace_httpx", "true"}),
        NULL);
    ASSERT(o.enabled && o.n == 1);
}

static void test_zz_cleanup(void)
{
    cleanup_tmpdir();
}

TEST_MAIN(TEST_CASE(test_propagation_formats), TEST_CASE(test_jaeger_header_names),
          TEST_CASE(test_sampler), TEST_CASE(test_start_once_and_only_when_enabled),
          TEST_CASE(test_start_exports_to_file), TEST_CASE(test_start_options),
          TEST_CASE(test_otlp_http_names_on_the_wire), TEST_CASE(test_tls_files_reach_the_exporter),
          TEST_CASE(test_instrumentations), TEST_CASE(test_zz_cleanup))
