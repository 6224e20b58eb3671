/*
 * The settings library (src/export/settings.c and setup.c), what settings
 * resolve to: names and their precedence, typed reads, the exporter and
 * endpoint each name means, and the problems users see. test_setup.c covers
 * propagation and the tracer a setup starts.
 */
#include <limits.h>
#include <unistd.h>

#include "log_capture.h"
#include "scratch.h"
#include "setup_build.h"

/* ---- names and precedence ------------------------------------------------------- */

static void test_is_config_key(void)
{
    ASSERT(ctr_settings_is_config_key("tracing_provider", 16));
    ASSERT(ctr_settings_is_config_key("tracing_x", 9));
    ASSERT(ctr_settings_is_config_key("tracing_providerXYZ", 16));
    ASSERT(ctr_settings_is_config_key("baggage_prefix", 14));
    ASSERT(!ctr_settings_is_config_key("tracing_", 8));
    ASSERT(!ctr_settings_is_config_key("baggage_prefix2", 15));
    ASSERT(!ctr_settings_is_config_key("Tracing_provider", 16));
    ASSERT(!ctr_settings_is_config_key("provider", 8));
}

/* A setting's names as a command option, a control argument and a
 * configuration key (indexed by enum ctr_setting_source). */
static const char *const EXPORTER_NAMES[] = {"exporter", "exporter",
                                             "tracing_opentelemetry_exporter"};
static const char *const ENDPOINT_NAMES[] = {"endpoint", "collector_endpoint",
                                             "tracing_opentelemetry_collector_endpoint"};

/* A command value beats an argument, which beats a configuration key, which
 * beats OTEL_*; a null counts as absent. */
static void test_precedence_of_sources(void)
{
    const char *const N = NULL_VALUE;
    const struct var *traces = ENV({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://env:4/traces"},
                                   {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:5"});
    const struct {
        const char *const *names;
        const char *v[3]; /* command, argument, configuration; NULL: not written */
        const struct var *env;
        const char *want;
    } rows[] = {
        {EXPORTER_NAMES,
         {"console", "zipkin", "jaeger-thrift"},
         ENV({"OTEL_TRACES_EXPORTER", "none"}),
         "stderr"},
        {EXPORTER_NAMES,
         {NULL, "zipkin", "jaeger-thrift"},
         ENV({"OTEL_TRACES_EXPORTER", "none"}),
         ZIPKIN_DEFAULT},
        {EXPORTER_NAMES,
         {NULL, NULL, "jaeger-thrift"},
         ENV({"OTEL_TRACES_EXPORTER", "none"}),
         AGENT_DEFAULT},
        {EXPORTER_NAMES,
         {NULL, NULL, NULL},
         ENV({"OTEL_TRACES_EXPORTER", "zipkin"}),
         ZIPKIN_DEFAULT},
        {EXPORTER_NAMES, {NULL, NULL, NULL}, NULL, HTTP_DEFAULT},
        {EXPORTER_NAMES, {N, N, "console"}, ENV({"OTEL_TRACES_EXPORTER", "zipkin"}), "stderr"},
        {EXPORTER_NAMES, {N, N, N}, ENV({"OTEL_TRACES_EXPORTER", "console"}), "stderr"},
        {EXPORTER_NAMES, {"none", N, "console"}, NULL, "nowhere"},
        /* The same order for the endpoint, over both OTEL_EXPORTER_OTLP_*. */
        {ENDPOINT_NAMES,
         {"http://cmd:1", "http://arg:2", "http://conf:3"},
         traces,
         "http://cmd:1/v1/traces"},
        {ENDPOINT_NAMES, {N, "http://arg:2", "http://conf:3"}, traces, "http://arg:2/v1/traces"},
        {ENDPOINT_NAMES, {NULL, NULL, "http://conf:3"}, traces, "http://conf:3/v1/traces"},
        {ENDPOINT_NAMES, {NULL, NULL, N}, traces, "http://env:4/traces"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct put p[4] = {{0}};
        size_t n = 0;
        for (int src = CMD; src <= CONF; src++)
            if (rows[i].v[src])
                p[n++] = (struct put){src, rows[i].names[src], rows[i].v[src]};
        struct outcome o;
        run(&o, 0, rows[i].env, OTEL, p);
        ASSERT(works(&o, rows[i].want, i));
    }
}

/* A later value for the same name and source replaces the earlier one. */
static void test_later_put_replaces(void)
{
    struct outcome o;
    run(&o, 0, NULL, OTEL,
        PUTS({ARG, "exporter", "zipkin"}, {CONF, "tracing_opentelemetry_exporter", "none"},
             {ARG, "exporter", "console"}));
    ASSERT(works(&o, "stderr", 0));
    /* Replacing a mapping frees the old one (ASan), and a null removes. */
    struct ctr_settings *s = settings_of(OTEL, PUTS({ARG, "exporter", "console"}));
    struct ctr_header h[] = {{(char *)"a", (char *)"1"}, {(char *)"b", (char *)"2"}};
    struct ctr_setting_value map = {.type = CTR_SV_MAP, .map = h, .n_map = 2};
    struct ctr_setting_value null = {.type = CTR_SV_NULL};
    ASSERT_EQ(ctr_settings_put(s, ARG, "collector_headers", 17, &map), 0);
    ASSERT_EQ(ctr_settings_put(s, ARG, "collector_headers", 17, &map), 0);
    ASSERT_EQ(ctr_settings_put(s, ARG, "exporter", 8, &null), 0);
    ASSERT_EQ(ctr_settings_put(s, CONF, "tracing_opentelemetry_exporter", 30, &null), 0);
    outcome_of(build(s, 0, ENV({"OTEL_TRACES_EXPORTER", "none"})), &o);
    ASSERT(works(&o, "nowhere", 1));
}

/* ---- exporters and their destinations ------------------------------------------- */

struct dest_row {
    const char *exporter; /* NULL: none written */
    const char *endpoint; /* the collector_endpoint argument, or NULL */
    const struct var *env;
    const char *want;
};

static void check_destinations(const struct dest_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct put p[3] = {{0}};
        size_t k = 0;
        if (rows[i].exporter)
            p[k++] = (struct put){ARG, "exporter", rows[i].exporter};
        if (rows[i].endpoint)
            p[k++] = (struct put){ARG, "collector_endpoint", rows[i].endpoint};
        struct outcome o;
        run(&o, 0, rows[i].env, OTEL, p);
        if (!works(&o, rows[i].want, i) || (strcmp(o.dest, "nowhere") != 0) != o.exporter)
            TEST_FAIL_AT("exporter %s, endpoint %s", rows[i].exporter ? rows[i].exporter : "-",
                         rows[i].endpoint ? rows[i].endpoint : "-");
    }
}

static void test_exporter_names_default_destinations(void)
{
    const struct dest_row rows[] = {
        {"otlp-http", NULL, NULL, HTTP_DEFAULT},
        {"oltp-http", NULL, NULL, HTTP_DEFAULT},
        {"OTLP-HTTP", NULL, NULL, HTTP_DEFAULT},
        {"otlp-json", NULL, NULL, HTTP_DEFAULT},
        {"otlp-http-json", NULL, NULL, HTTP_DEFAULT},
        {"otlp-grpc", NULL, NULL, GRPC_DEFAULT},
        {"oltp-grpc", NULL, NULL, GRPC_DEFAULT},
        {"Otlp-Grpc", NULL, NULL, GRPC_DEFAULT},
        {"otlp", NULL, NULL, HTTP_DEFAULT},
        {"jaeger-thrift", NULL, NULL, AGENT_DEFAULT},
        {"JAEGER-THRIFT", NULL, NULL, AGENT_DEFAULT},
        {"jaeger-grpc", NULL, NULL, "https://localhost:14250"},
        {"zipkin", NULL, NULL, ZIPKIN_DEFAULT},
        {"ZipKin", NULL, NULL, ZIPKIN_DEFAULT},
        {"console", NULL, NULL, "stderr"},
        {"CONSOLE", NULL, NULL, "stderr"},
        {"none", NULL, NULL, "nowhere"},
        {"None", NULL, NULL, "nowhere"},
        {NULL, NULL, NULL, HTTP_DEFAULT},
    };
    check_destinations(rows, sizeof rows / sizeof rows[0]);
}

static void test_exporter_env_destinations(void)
{
    const struct dest_row rows[] = {
        {"otlp", NULL, ENV({"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}), GRPC_DEFAULT},
        {"otlp", NULL, ENV({"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}), HTTP_DEFAULT},
        {"otlp-http", NULL, ENV({"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}), HTTP_DEFAULT},
        {"otlp-grpc", NULL, ENV({"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}), GRPC_DEFAULT},
        {NULL, NULL, ENV({"OTEL_TRACES_EXPORTER", "otlp"}, {"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}),
         GRPC_DEFAULT},
        {NULL, NULL, ENV({"OTEL_TRACES_EXPORTER", "zipkin"}), ZIPKIN_DEFAULT},
        {NULL, NULL, ENV({"OTEL_TRACES_EXPORTER", "console"}), "stderr"},
        {NULL, NULL, ENV({"OTEL_TRACES_EXPORTER", "none"}), "nowhere"},
        /* The base endpoint gets /v1/traces for HTTP, is used as given for gRPC. */
        {"otlp-http", NULL, ENV({"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"}),
         "http://collector:4318/v1/traces"},
        {"otlp-json", NULL, ENV({"OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318/"}),
         "https://collector:4318/v1/traces"},
        {"otlp-http", NULL, ENV({"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/base"}),
         "http://collector:4318/base/v1/traces"},
        {"otlp-grpc", NULL, ENV({"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"}),
         "http://collector:4317"},
        {"otlp-grpc", NULL, ENV({"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"}),
         "https://collector:4317"},
        {"otlp-grpc", NULL,
         ENV({"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"},
             {"OTEL_EXPORTER_OTLP_INSECURE", "true"}),
         "http://collector:4317"},
        {"otlp", NULL,
         ENV({"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
             {"OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4317"}),
         "https://collector:4317"},
        /* The per-signal endpoint as given, over the base one. */
        {"otlp-http", NULL,
         ENV({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/custom"}),
         "http://collector:4318/custom"},
        {"otlp-http", NULL,
         ENV({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1/x"},
             {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://b:2"}),
         "http://t:1/x"},
        {"otlp-grpc", NULL,
         ENV({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:4317/ignored"},
             {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://b:2"}),
         "http://t:4317"},
        {"zipkin", NULL, ENV({"OTEL_EXPORTER_ZIPKIN_ENDPOINT", "http://zipkin:9411/api/v2/spans"}),
         "http://zipkin:9411/api/v2/spans"},
        /* Each exporter reads only its own variables. */
        {"zipkin", NULL, ENV({"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"}),
         ZIPKIN_DEFAULT},
        {"jaeger-grpc", NULL, ENV({"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"}),
         "https://localhost:14250"},
        {"otlp-http", NULL, ENV({"OTEL_EXPORTER_ZIPKIN_ENDPOINT", "http://zipkin:9411/x"}),
         HTTP_DEFAULT},
    };
    check_destinations(rows, sizeof rows / sizeof rows[0]);
}

static void test_exporter_given_endpoints(void)
{
    const struct dest_row rows[] = {
        {"otlp-http", "http://collector:4318", NULL, "http://collector:4318/v1/traces"},
        {"otlp-http", "https://collector", NULL, "https://collector/v1/traces"},
        {"oltp-http", "http://collector:4318/", NULL, "http://collector:4318/v1/traces"},
        {"otlp-http", "http://collector:4318/custom", NULL, "http://collector:4318/custom"},
        {"otlp-http", "http://[::1]:4318", NULL, "http://[::1]:4318/v1/traces"},
        {"otlp-json", "http://collector:4318?tenant=a", NULL,
         "http://collector:4318/v1/traces?tenant=a"},
        {"otlp-http", "https://user:pw@collector:4318", NULL,
         "https://REDACTED:REDACTED@collector:4318/v1/traces"},
        {"otlp-http", "http://given:1", ENV({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://e:2/x"}),
         "http://given:1/v1/traces"},
        {"otlp", "http://given:1", ENV({"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}), "http://given:1"},
        {"otlp-grpc", "http://collector:4317", NULL, "http://collector:4317"},
        {"otlp-grpc", "collector:4317", NULL, "https://collector:4317"},
        {"otlp-grpc", "[::1]:4317", NULL, "https://[::1]:4317"},
        {"oltp-grpc", "https://collector:4317/some/path", NULL, "https://collector:4317"},
        {"jaeger-grpc", "jaeger:14250", NULL, "https://jaeger:14250"},
        {"jaeger-grpc", "http://jaeger:14250", NULL, "http://jaeger:14250"},
        {"zipkin", "http://zipkin:9411/api/v2/spans", NULL, "http://zipkin:9411/api/v2/spans"},
        {"zipkin", "https://zipkin", NULL, "https://zipkin"},
        /* A collector endpoint is not the Jaeger agent's. */
        {"jaeger-thrift", "collector:6832", NULL, AGENT_DEFAULT},
        {"jaeger-thrift", "http://collector:4318", NULL, AGENT_DEFAULT},
        {"console", "http://collector:4318", NULL, "stderr"},
    };
    check_destinations(rows, sizeof rows / sizeof rows[0]);
    struct outcome o;
    run(&o, 0, NULL, OTEL,
        PUTS({ARG, "exporter", "otlp-grpc"}, {ARG, "collector_endpoint", "collector:4317"},
             {CONF, "tracing_opentelemetry_collector_endpoint_insecure", "true"}));
    ASSERT(works(&o, "http://collector:4317", 0));
    run(&o, CTR_SETUP_CHECK, ENV({"OTEL_EXPORTER_OTLP_INSECURE", "true"}), NULL,
        PUTS({CMD, "exporter", "jaeger-grpc"}, {CMD, "endpoint", "jaeger:14250"},
             {CMD, "insecure", "false"}));
    ASSERT(works(&o, "https://jaeger:14250", 1));
}

/* The agent: tracing_host/tracing_port, or the command's endpoint. */
static void test_jaeger_agent_destinations(void)
{
    const struct {
        unsigned flags;
        const struct put *p;
        const char *want;
    } rows[] = {
        {0, PUTS({ARG, "exporter", "jaeger-thrift"}, {CONF, "tracing_host", "agent"}),
         "udp://agent:6831"},
        {0, PUTS({ARG, "exporter", "jaeger-thrift"}, {ARG, "port", "6832"}),
         "udp://localhost:6832"},
        {0, PUTS({ARG, "provider", "jaeger"}, {ARG, "host", "agent"}, {ARG, "port", "6833"}),
         "udp://agent:6833"},
        {0, PUTS({ARG, "provider", "Jaeger"}, {CONF, "tracing_opentelemetry_exporter", "zipkin"}),
         AGENT_DEFAULT},
        {0, PUTS({ARG, "provider", "jaeger"}, {CONF, "tracing_host", "::1"}), "udp://[::1]:6831"},
        {0,
         PUTS({ARG, "provider", "jaeger"},
              {CONF, "tracing_opentelemetry_collector_endpoint", "collector:14268"}),
         AGENT_DEFAULT},
        {CTR_SETUP_CHECK, PUTS({CMD, "exporter", "jaeger-thrift"}, {CMD, "endpoint", "agent:7000"}),
         "udp://agent:7000"},
        {CTR_SETUP_CHECK, PUTS({CMD, "exporter", "jaeger-thrift"}, {CMD, "endpoint", "[::1]:7000"}),
         "udp://[::1]:7000"},
        {CTR_SETUP_CHECK, PUTS({CMD, "exporter", "jaeger-thrift"}, {CMD, "endpoint", "agent"}),
         "udp://agent:6831"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct outcome o;
        run(&o, rows[i].flags, NULL, rows[i].flags ? NULL : OTEL, rows[i].p);
        ASSERT(works(&o, rows[i].want, i));
    }
    struct outcome o;
    run(&o, CTR_SETUP_CHECK, NULL, NULL,
        PUTS({CMD, "exporter", "jaeger-thrift"}, {CMD, "endpoint", "http://agent:6831"}));
    ASSERT(refused(&o,
                   "Jaeger agent endpoint \"http://agent:6831\" is not host:port: the Jaeger "
                   "agent takes host:port, without a scheme",
                   0));
}

static void test_file_exporter_paths(void)
{
    char cwd[PATH_MAX], dir[PATH_MAX], path[PATH_MAX + 32], want[PATH_MAX + 32];
    make_tmpdir();
    ASSERT(getcwd(cwd, sizeof cwd) && realpath(tmpdir, dir));
    snprintf(path, sizeof path, "%s/conf.jsonl", tmpdir);
    snprintf(want, sizeof want, "%s/conf.jsonl", dir);
    struct outcome o;
    run(&o, 0, NULL, OTEL,
        PUTS({CONF, "tracing_opentelemetry_exporter", "FILE"},
             {CONF, "tracing_opentelemetry_file_path", path}));
    ASSERT(works(&o, want, 0));
    ASSERT_EQ(unlink(path), 0); /* opened (created) when built */
    /* The command line's one destination option is the path. */
    snprintf(path, sizeof path, "%s/cmd.jsonl", tmpdir);
    snprintf(want, sizeof want, "%s/cmd.jsonl", dir);
    run(&o, CTR_SETUP_CHECK, NULL, NULL, PUTS({CMD, "exporter", "file"}, {CMD, "endpoint", path}));
    ASSERT(works(&o, want, 1));
    ASSERT_EQ(unlink(path), 0);
    /* No path: ./chaostracing-traces.jsonl. */
    ASSERT_EQ(chdir(tmpdir), 0);
    run(&o, 0, ENV({"OTEL_TRACES_EXPORTER", "file"}), OTEL, NULL);
    int rc = unlink("chaostracing-traces.jsonl");
    ASSERT_EQ(chdir(cwd), 0);
    snprintf(want, sizeof want, "%s/chaostracing-traces.jsonl", dir);
    ASSERT(works(&o, want, 2));
    ASSERT_EQ(rc, 0);
    /* A path that cannot be opened turns tracing off. */
    run(&o, 0, NULL, OTEL, PUTS({ARG, "exporter", "file"}, {ARG, "file_path", tmpdir}));
    snprintf(want, sizeof want, "cannot export to file: cannot open %s: Is a directory", tmpdir);
    ASSERT(refused(&o, want, 3));
}

/* ---- problems ------------------------------------------------------------------- */

static void test_unknown_names(void)
{
    const struct {
        const struct put *p;
        const char *want;
    } rows[] = {
        {PUTS({CONF, "tracing_opentelemetry_exporter", "otlp-htp"}),
         "tracing_opentelemetry_exporter=otlp-htp is not one of " EXPORTERS
         "; did you mean \"otlp-http\"?"},
        {PUTS({ARG, "exporter", "oltp-grcp"}),
         "exporter=oltp-grcp is not one of " EXPORTERS "; did you mean \"otlp-grpc\"?"},
        {PUTS({ARG, "exporter", "jaeger-thirft"}),
         "exporter=jaeger-thirft is not one of " EXPORTERS "; did you mean \"jaeger-thrift\"?"},
        {PUTS({CONF, "tracing_opentelemetry_exporter", "carrot-cake-factory"}),
         "tracing_opentelemetry_exporter=carrot-cake-factory is not one of " EXPORTERS},
        {PUTS({CONF, "tracing_opentelemetry_exporter", "otlp\x1b[31m"}),
         "tracing_opentelemetry_exporter=otlp\\x1b[31m is not one of " EXPORTERS},
        {PUTS({CONF, "tracing_provider", "opentelemtry"}),
         "tracing_provider=opentelemtry is not one of noop, opentelemetry, jaeger; did you mean "
         "\"opentelemetry\"?"},
        {PUTS({ARG, "provider", "Jaegr"}),
         "provider=Jaegr is not one of noop, opentelemetry, jaeger; did you mean \"jaeger\"?"},
        {PUTS({CONF, "tracing_provider", "carrot-cake-factory"}),
         "tracing_provider=carrot-cake-factory is not one of noop, opentelemetry, jaeger"},
        {PUTS({CONF, "tracing_provider", "open\ntelemetry"}),
         "tracing_provider=open\\x0atelemetry is not one of noop, opentelemetry, jaeger; did "
         "you mean \"opentelemetry\"?"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct outcome o;
        run(&o, 0, NULL, OTEL, rows[i].p);
        ASSERT(refused(&o, rows[i].want, i));
    }
    /* The command line has no provider: its exporter names are checked too. */
    struct outcome o;
    run(&o, CTR_SETUP_CHECK, NULL, NULL, PUTS({CMD, "exporter", "zipkn"}));
    ASSERT(refused(&o, "exporter=zipkn is not one of " EXPORTERS "; did you mean \"zipkin\"?", 0));
}

/* A value of the wrong type: one fatal problem naming the setting as
 * written and the value. */
static void test_wrong_types(void)
{
    static const struct {
        const char *provider, *exporter; /* the settings that make the key read */
        enum ctr_setting_source src;
        const char *key;
        struct ctr_setting_value v; /* a STR's len: strlen(text) when 0 */
        const char *want;
    } rows[] = {
        {NULL,
         NULL,
         CONF,
         "tracing_provider",
         {CTR_SV_INT, .i = 3},
         "tracing_provider=3 is not a string (noop, opentelemetry or jaeger)"},
        {NULL,
         NULL,
         ARG,
         "provider",
         {CTR_SV_BOOL, .b = true},
         "provider=true is not a string (noop, opentelemetry or jaeger)"},
        {"opentelemetry",
         NULL,
         CONF,
         "tracing_opentelemetry_exporter",
         {CTR_SV_INT, .i = 4},
         "tracing_opentelemetry_exporter=4 is not an exporter name"},
        {"opentelemetry",
         NULL,
         ARG,
         "exporter",
         {CTR_SV_OTHER, "['zipkin']"},
         "exporter=['zipkin'] is not an exporter name"},
        {"opentelemetry",
         NULL,
         CONF,
         "tracing_opentelemetry_collector_headers",
         {CTR_SV_OTHER, "['a', 'b']"},
         "tracing_opentelemetry_collector_headers (a value of another type, not shown) is not a "
         "mapping of header names to string values"},
        {"opentelemetry",
         "otlp-grpc",
         ARG,
         "collector_headers",
         {CTR_SV_STR, "a=b"},
         "collector_headers (a string, not shown) is not a mapping of header names to string "
         "values"},
        {"opentelemetry",
         "zipkin",
         ARG,
         "collector_headers",
         {CTR_SV_OTHER},
         "collector_headers (a value of another type, not shown) is not a mapping of header names "
         "to string values"},
        {"opentelemetry",
         NULL,
         ARG,
         "collector_insecure",
         {CTR_SV_STR, "maybe"},
         "collector_insecure=maybe is not true or false"},
        {"opentelemetry",
         "otlp-grpc",
         CONF,
         "tracing_opentelemetry_collector_endpoint_insecure",
         {CTR_SV_INT, .i = 1},
         "tracing_opentelemetry_collector_endpoint_insecure=1 is not true or false"},
        {"opentelemetry",
         NULL,
         ARG,
         "collector_insecure",
         {CTR_SV_STR, "tr\nue"},
         "collector_insecure=tr\\x0aue is not true or false"},
        {"jaeger",
         NULL,
         CONF,
         "tracing_port",
         {CTR_SV_INT, .i = 0},
         "Jaeger agent endpoint \"localhost:0\" is not host:port: port 0 is outside 1-65535 "
         "(tracing_port)"},
        {"jaeger",
         NULL,
         ARG,
         "port",
         {CTR_SV_INT, .i = 70000},
         "Jaeger agent endpoint \"localhost:70000\" is not host:port: port 70000 is outside "
         "1-65535 (port)"},
        {"opentelemetry",
         "jaeger-thrift",
         CONF,
         "tracing_port",
         {CTR_SV_STR, "68x31"},
         "Jaeger agent endpoint \"localhost:68x31\" is not host:port: port \"68x31\" is not a "
         "number (tracing_port)"},
        {"jaeger",
         NULL,
         CONF,
         "tracing_port",
         {CTR_SV_FLOAT, .d = 6831.5},
         "tracing_port=6831.5 is not a port number"},
        {"jaeger",
         NULL,
         CONF,
         "tracing_port",
         {CTR_SV_INT, .i = -1},
         "Jaeger agent endpoint \"localhost:-1\" is not host:port: port \"-1\" is not a number "
         "(tracing_port)"},
        {"jaeger",
         NULL,
         CONF,
         "tracing_host",
         {CTR_SV_BOOL, .b = false},
         "tracing_host=false is not a host name"},
        {"opentelemetry",
         "otlp-http",
         CONF,
         "tracing_opentelemetry_collector_endpoint",
         {CTR_SV_INT, .i = 4318},
         "tracing_opentelemetry_collector_endpoint=4318 is not a collector URL"},
        {"opentelemetry",
         "file",
         CONF,
         "tracing_opentelemetry_file_path",
         {CTR_SV_STR, "a\0b", 3},
         "tracing_opentelemetry_file_path=a\\x00b is not a file path"},
        {NULL,
         "zipkin",
         CMD,
         "timeout",
         {CTR_SV_STR, "10s"},
         "timeout=10s is not a number of milliseconds (1-3600000)"},
        {NULL,
         "zipkin",
         CMD,
         "timeout",
         {CTR_SV_INT, .i = 0},
         "timeout=0 is not a number of milliseconds (1-3600000)"},
        {NULL, NULL, CMD, "gzip", {CTR_SV_STR, "yes"}, "gzip=yes is not true or false"},
        {NULL, "otlp-grpc", CMD, "cacert", {CTR_SV_INT, .i = 1}, "cacert=1 is not a file path"},
        {"opentelemetry",
         NULL,
         CONF,
         "tracing_propagation",
         {CTR_SV_INT, .i = 1},
         "tracing_propagation=1 is not a propagation name"},
        {"jaeger",
         NULL,
         CONF,
         "tracing_id_name",
         {CTR_SV_INT, .i = 7},
         "tracing_id_name=7 is not a header name"},
        {"jaeger",
         NULL,
         CONF,
         "baggage_prefix",
         {CTR_SV_MAP},
         "baggage_prefix=a mapping is not a header prefix"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct put base[3] = {{0}};
        size_t k = 0;
        if (rows[i].provider)
            base[k++] = (struct put){CONF, "tracing_provider", rows[i].provider};
        if (rows[i].exporter)
            base[k++] = (struct put){ARG, "exporter", rows[i].exporter};
        struct ctr_settings *s = settings_of(base, NULL);
        struct ctr_setting_value v = rows[i].v;
        if (v.text && !v.len)
            v.len = strlen(v.text);
        ASSERT_EQ(ctr_settings_put(s, rows[i].src, rows[i].key, strlen(rows[i].key), &v), 0);
        struct outcome o;
        /* A check does not read the provider. */
        bool check = !rows[i].provider && !strstr(rows[i].key, "provider");
        outcome_of(build(s, check ? CTR_SETUP_CHECK : 0, NULL), &o);
        ASSERT(refused(&o, rows[i].want, i));
    }
}

/* A refused endpoint: one fatal problem, the setting's name appended unless
 * it came from the command line. */
static void test_refused_endpoints(void)
{
#define GRPC_FORMS "host:port, http://host:port or https://host:port"
#define URL_FORMS "an http:// or https:// URL"
    static const struct {
        const char *exporter;
        enum ctr_setting_source src;
        const char *endpoint, *want;
    } rows[] = {
        {"otlp-grpc", ARG, "collector:99999",
         "OTLP/gRPC endpoint \"collector:99999\" is not " GRPC_FORMS
         ": port 99999 is outside 1-65535 (collector_endpoint)"},
        {"otlp-http", CONF, "ftp://collector/v1/traces",
         "OTLP/HTTP endpoint \"ftp://collector/v1/traces\" is not " URL_FORMS
         ": scheme \"ftp\" is not http or https (tracing_opentelemetry_collector_endpoint)"},
        {"zipkin", CMD, "http://:9411/api/v2/spans",
         "Zipkin endpoint \"http://:9411/api/v2/spans\" is not " URL_FORMS ": the host is missing"},
        {"otlp-grpc", ARG, "http://user:secret@collector:4317",
         "OTLP/gRPC endpoint \"http://REDACTED:REDACTED@collector:4317\" is not " GRPC_FORMS
         ": user:password@ is not allowed here (collector_endpoint)"},
        {"jaeger-grpc", CONF, "user:secret@jaeger:14250",
         "Jaeger gRPC endpoint \"REDACTED:REDACTED@jaeger:14250\" is not " GRPC_FORMS
         ": user:password@ is not allowed here (tracing_opentelemetry_collector_endpoint)"},
        {"otlp-grpc", CONF, "collector:4317/v1",
         "OTLP/gRPC endpoint \"collector:4317/v1\" is not " GRPC_FORMS
         ": it has a path but no scheme (write http:// or https:// before it) "
         "(tracing_opentelemetry_collector_endpoint)"},
        {"otlp-http", ARG, "collector:4318",
         "OTLP/HTTP endpoint \"collector:4318\" is not " URL_FORMS
         ": it needs an http:// or https:// scheme (collector_endpoint)"},
        {"otlp-json", CMD, "[::1]:4318",
         "OTLP/HTTP JSON endpoint \"[::1]:4318\" is not " URL_FORMS
         ": it needs an http:// or https:// scheme"},
        {"zipkin", ARG, "http://zipkin:68x31/api",
         "Zipkin endpoint \"http://zipkin:68x31/api\" is not " URL_FORMS
         ": port \"68x31\" is not a number (collector_endpoint)"},
        {"otlp-http", ARG, "",
         "OTLP/HTTP endpoint \"\" is not " URL_FORMS
         ": the endpoint is empty (collector_endpoint)"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct put p[] = {{rows[i].src, ENDPOINT_NAMES[rows[i].src], rows[i].endpoint},
                                {ARG, "exporter", rows[i].exporter},
                                {0, NULL, NULL}};
        struct outcome o;
        run(&o, 0, NULL, OTEL, p);
        ASSERT(refused(&o, rows[i].want, i));
        ASSERT(!o.exporter);
    }
}

/* No message shows a password from an endpoint's userinfo or a header. */
static void test_messages_hold_no_secret(void)
{
    const struct {
        const char *exporter, *endpoint;
        const struct var *env;
    } rows[] = {
        {"otlp-grpc", "http://user:s3cr3t@collector:4317", NULL},
        {"otlp-grpc", "user:s3cr3t@collector:4317", NULL},
        {"otlp-http", "https://user:s3cr3t@", NULL},
        {"otlp-http", "user:s3cr3t@collector:4318/v1/traces", NULL},
        {"otlp-http", "http://user:s3cr3t@collector:99999", NULL},
        {"otlp-http", "ftp://user:s3cr3t@collector/x", NULL},
        {"zipkin", "http://u:s3:cr3t@zipkin:x/api", NULL},
        {"otlp-http", "https://user:s3cr3t@collector:4318", NULL},
        {"zipkin", "https://user:s3cr3t@zipkin/api/v2/spans", NULL},
        {"otlp-http", NULL, ENV({"OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://u:s3cr3t@collector"})},
        {"zipkin", NULL, ENV({"OTEL_EXPORTER_ZIPKIN_ENDPOINT", "http://u:s3cr3t@zip kin/"})},
        {"otlp-grpc", NULL, ENV({"OTEL_EXPORTER_OTLP_ENDPOINT", "u:s3cr3t@collector:4317"})},
        {"otlp-http", NULL, ENV({"OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%ZZs3cr3t"})},
    };
    static struct ctr_header h[] = {{(char *)"Authorization", (char *)"Bearer s3cr3t"},
                                    {(char *)"bad name", (char *)"s3cr3t"}};
    logs_reset();
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct put p[3] = {{ARG, "exporter", rows[i].exporter}};
        if (rows[i].endpoint)
            p[1] = (struct put){ARG, "collector_endpoint", rows[i].endpoint};
        struct ctr_settings *s = settings_of(OTEL, p);
        struct ctr_setting_value map = {.type = CTR_SV_MAP, .map = h, .n_map = 2};
        ASSERT_EQ(ctr_settings_put(s, ARG, "collector_headers", 17, &map), 0);
        struct outcome o;
        outcome_of(build(s, 0, rows[i].env), &o);
        if (strstr(o.all, "3cr3t") || strstr(o.dest, "3cr3t"))
            TEST_FAIL_AT("row %zu: destination %s, problems:\n%s", i, o.dest, o.all);
    }
    ASSERT_EQ(logs_count(-1, "3cr3t"), 0);
}

/* Unknown names: one WARNING each, with the closest known name; tracing
 * stays on. */
static void test_unknown_settings_warn(void)
{
    static const struct {
        unsigned flags;
        enum ctr_setting_source src;
        const char *key, *want;
    } rows[] = {
        {0, ARG, "exportr",
         "unknown control argument \"exportr\" ignored; did you mean \"exporter\"?"},
        {0, ARG, "Exporter",
         "unknown control argument \"Exporter\" ignored; did you mean \"exporter\"?"},
        {0, ARG, "colector_endpoint",
         "unknown control argument \"colector_endpoint\" ignored; did you mean "
         "\"collector_endpoint\"?"},
        {0, ARG, "bad\nkey", "unknown control argument \"bad\\x0akey\" ignored"},
        {0, CONF, "tracing_opentelemetry_exporterr",
         "unknown configuration key \"tracing_opentelemetry_exporterr\" ignored; did you mean "
         "\"tracing_opentelemetry_exporter\"?"},
        {0, CONF, "TRACING_HOST",
         "unknown configuration key \"TRACING_HOST\" ignored; did you mean \"tracing_host\"?"},
        {0, CONF, "tracing_colour", "unknown configuration key \"tracing_colour\" ignored"},
        {0, CONF, "exporter",
         "unknown configuration key \"exporter\" ignored; did you mean "
         "\"tracing_opentelemetry_exporter\"?"},
        {0, ARG, "endpoint",
         "unknown control argument \"endpoint\" ignored; did you mean \"collector_endpoint\"?"},
        {CTR_SETUP_CHECK, CMD, "endpiont",
         "unknown option \"endpiont\" ignored; did you mean \"endpoint\"?"},
        {CTR_SETUP_CHECK, CMD, "file_path", "unknown option \"file_path\" ignored"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct outcome o;
        const struct put p[] = {{rows[i].src, rows[i].key, "zipkin"},
                                {CONF, "tracing_opentelemetry_exporter", "console"},
                                {0, NULL, NULL}};
        run(&o, rows[i].flags, NULL, rows[i].flags ? NULL : OTEL, p);
        ASSERT(o.enabled && !o.failed);
        ASSERT_STREQ(o.dest, "stderr");
        ASSERT_EQ(o.n, 1);
        ASSERT_EQ(o.level, CTR_LOG_WARNING);
        ASSERT(!o.fatal);
        ASSERT_STREQ(o.first, rows[i].want);
    }
}

/* The noop provider is a choice (off, not failed); a bad setting is a
 * failure; OTEL_SDK_DISABLED is a choice unless checking. */
static void test_enabled_failed_and_disabled(void)
{
    struct outcome o;
    const struct put *const noops[] = {
        NULL,
        PUTS({CONF, "tracing_provider", "noop"}),
        PUTS({ARG, "provider", "NOOP"}, {CONF, "tracing_provider", "opentelemetry"}),
        PUTS({CONF, "tracing_provider", NULL_VALUE}),
    };
    for (size_t i = 0; i < sizeof noops / sizeof noops[0]; i++) {
        /* The environment is not even read: no warning about it. */
        run(&o, 0, ENV({"OTEL_TRACES_SAMPLER", "sometimes"}), noops[i], NULL);
        ASSERT(!o.enabled && !o.failed && !o.exporter);
        ASSERT_EQ(o.n, 1);
        ASSERT_EQ(o.level, CTR_LOG_INFO); /* said once, where people look */
#define NONE                                                                                       \
    "tracing_provider is not set and nothing says where spans go: no spans are recorded (set "     \
    "tracing_provider to opentelemetry or jaeger, or an exporter)"
        static const char *const said[] = {
            NONE,
            "tracing_provider is noop: no spans are recorded",
            "provider is noop: no spans are recorded",
            NONE,
        };
#undef NONE
        ASSERT_STREQ(o.first, said[i]);
        ASSERT_STREQ(o.dest, "nowhere");
    }
    /* No provider, but something says where spans go: opentelemetry. */
    const struct {
        const struct var *env;
        const struct put *p;
        const char *why;
    } implied[] = {
        {NULL, PUTS({CONF, "tracing_opentelemetry_exporter", "console"}),
         "tracing_opentelemetry_exporter"},
        {NULL, PUTS({ARG, "collector_endpoint", "http://127.0.0.1:9"}), "collector_endpoint"},
        {NULL, PUTS({CONF, "tracing_opentelemetry_file_path", "/dev/null"}),
         "tracing_opentelemetry_file_path"},
        {ENV({"OTEL_TRACES_EXPORTER", "console"}), NULL, "OTEL_TRACES_EXPORTER"},
        {ENV({"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"}), NULL,
         "OTEL_EXPORTER_OTLP_ENDPOINT"},
        {ENV({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:9/v1/traces"}), NULL,
         "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
    };
    for (size_t i = 0; i < sizeof implied / sizeof implied[0]; i++) {
        run(&o, 0, implied[i].env, implied[i].p, NULL);
        ASSERT(o.enabled && !o.failed);
        char want[200];
        snprintf(want, sizeof want,
                 "tracing_provider is not set; tracing with opentelemetry as %s is set",
                 implied[i].why);
        ASSERT_STREQ(o.first, want);
        ASSERT_EQ(o.level, CTR_LOG_INFO);
    }
    run(&o, 0, ENV({"OTEL_SDK_DISABLED", "true"}), OTEL, PUTS({ARG, "exporter", "zipkin"}));
    ASSERT(!o.enabled && !o.failed && !o.exporter);
    ASSERT_EQ(o.n, 1);
    ASSERT_EQ(o.level, CTR_LOG_INFO);
    ASSERT(!o.fatal);
    ASSERT_STREQ(o.first, "OTEL_SDK_DISABLED is true: no spans are recorded");
    ASSERT_STREQ(o.dest, "nowhere");
    /* Checking: on anyway, with no provider written. */
    run(&o, CTR_SETUP_CHECK, ENV({"OTEL_SDK_DISABLED", "true"}), NULL,
        PUTS({CMD, "exporter", "zipkin"}));
    ASSERT(works(&o, ZIPKIN_DEFAULT, 0));
    run(&o, CTR_SETUP_CHECK, NULL, NULL, NULL);
    ASSERT(works(&o, HTTP_DEFAULT, 1));
    /* Problems past the last are NULL; the outputs may be NULL. */
    struct ctr_setup *st = build(settings_of(NULL, NULL), 0, NULL);
    ASSERT(ctr_setup_problem(st, 0, NULL, NULL) != NULL);
    ASSERT(ctr_setup_problem(st, 1, NULL, NULL) == NULL);
    ctr_setup_free(st);
    ASSERT(!ctr_setup_enabled(NULL) && !ctr_setup_failed(NULL));
    ASSERT_EQ(ctr_setup_problem_count(NULL), 0);
    ASSERT(ctr_setup_problem(NULL, 0, NULL, NULL) == NULL);
    ASSERT_STREQ(ctr_setup_destination(NULL), "nowhere");
}

/* Warnings about OTEL_* variables become WARNING problems, one a line; a
 * non-fatal problem never turns tracing off. */
static void test_env_warnings_are_problems(void)
{
    struct outcome o;
    run(&o, 0,
        ENV({"OTEL_TRACES_SAMPLER", "sometimes"}, {"OTEL_PROPAGATORS", "b3,carrot"},
            {"OTEL_BSP_MAX_QUEUE_SIZE", "-1"}),
        OTEL, PUTS({ARG, "exporter", "none"}, {ARG, "exportr", "none"}));
    ASSERT(o.enabled && !o.failed);
    ASSERT_EQ(o.n, 4);
    ASSERT_EQ(o.level, CTR_LOG_WARNING);
    ASSERT(!o.fatal);
    ASSERT(strncmp(o.all, "unknown control argument \"exportr\"", 34) == 0);
    ASSERT(strstr(o.all, "\nOTEL_TRACES_SAMPLER=sometimes "));
    ASSERT(strstr(o.all, "\nOTEL_PROPAGATORS: \"carrot\" "));
    ASSERT(strstr(o.all, "\nOTEL_BSP_MAX_QUEUE_SIZE=-1 "));
    ASSERT_UEQ(o.prop.formats, CTR_PROP_B3);
}

static void test_zz_cleanup(void)
{
    cleanup_tmpdir();
}

TEST_MAIN(TEST_CASE(test_is_config_key), TEST_CASE(test_precedence_of_sources),
          TEST_CASE(test_later_put_replaces), TEST_CASE(test_exporter_names_default_destinations),
          TEST_CASE(test_exporter_env_destinations), TEST_CASE(test_exporter_given_endpoints),
          TEST_CASE(test_jaeger_agent_destinations), TEST_CASE(test_file_exporter_paths),
          TEST_CASE(test_unknown_names), TEST_CASE(test_wrong_types),
          TEST_CASE(test_refused_endpoints), TEST_CASE(test_messages_hold_no_secret),
          TEST_CASE(test_unknown_settings_warn), TEST_CASE(test_enabled_failed_and_disabled),
          TEST_CASE(test_env_warnings_are_problems), TEST_CASE(test_zz_cleanup))
