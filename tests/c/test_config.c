/*
 * Tests for the OTEL_* environment configuration (src/core/config.c). The
 * environment is a table handed to ctr_config_from_env() through its getter,
 * so no test touches the process environment except the one that checks the
 * getenv fallback.
 */
#include <stdbool.h>

#include "chaostracing/config.h"
#include "env_table.h"
#include "test.h"

/* ---- a table-driven environment --------------------------------------------- */

static int load(struct ctr_config *cfg, const struct var *vars)
{
    return ctr_config_from_env(cfg, table_get, (void *)vars);
}

#define LOAD(cfg, ...) load((cfg), (const struct var[]){__VA_ARGS__, {NULL, NULL}})

static int load1(struct ctr_config *cfg, const char *name, const char *value)
{
    const struct var vars[] = {{name, value}, {NULL, NULL}};
    return load(cfg, vars);
}

/* Lines in the warnings (0 when there are none). */
static int n_warnings(const struct ctr_config *cfg)
{
    if (!cfg->warnings)
        return 0;
    int n = 1;
    for (const char *p = cfg->warnings; *p; p++)
        n += *p == '\n';
    return n;
}

static bool warned(const struct ctr_config *cfg, const char *needle)
{
    return cfg->warnings && strstr(cfg->warnings, needle) != NULL;
}

#define DEFAULT_PROPS (CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE)

/* ---- defaults ------------------------------------------------------------------ */

static void test_defaults_with_empty_environment(void)
{
    struct ctr_config c;
    ASSERT_EQ(load(&c, NULL), 0);
    ASSERT_EQ(c.sdk_disabled, false);
    ASSERT(c.service_name == NULL);
    ASSERT(c.resource_attrs == NULL);
    ASSERT_UEQ(c.n_resource_attrs, 0);
    ASSERT_EQ(c.sampler, CTR_SAMPLER_PARENTBASED_ALWAYS_ON);
    ASSERT(c.sampler_arg == 1.0);
    ASSERT_UEQ(c.limits.attr_count, 128);
    ASSERT_UEQ(c.limits.attr_value_len, UINT32_MAX);
    ASSERT_UEQ(c.limits.event_count, 128);
    ASSERT_UEQ(c.limits.link_count, 128);
    ASSERT_UEQ(c.limits.event_attr_count, 128);
    ASSERT_UEQ(c.limits.link_attr_count, 128);
    ASSERT_UEQ(c.bsp.max_queue_size, 2048);
    ASSERT_UEQ(c.bsp.schedule_delay_ms, 5000);
    ASSERT_UEQ(c.bsp.export_timeout_ms, 30000);
    ASSERT_UEQ(c.bsp.max_export_batch_size, 512);
    ASSERT_EQ(c.exporter, CTR_EXPORTER_OTLP);
    ASSERT_EQ(c.protocol, CTR_PROTOCOL_HTTP_PROTOBUF);
    ASSERT_STREQ(c.otlp_endpoint, "http://localhost:4318/v1/traces");
    ASSERT_EQ(c.otlp_endpoint_set, false);
    ASSERT(c.otlp_headers == NULL);
    ASSERT_UEQ(c.n_otlp_headers, 0);
    ASSERT_UEQ(c.otlp_timeout_ms, 10000);
    ASSERT_EQ(c.otlp_gzip, false);
    ASSERT(c.otlp_certificate == NULL);
    ASSERT(c.otlp_client_key == NULL);
    ASSERT(c.otlp_client_certificate == NULL);
    ASSERT_EQ(c.otlp_insecure, false);
    ASSERT_UEQ(c.propagators, DEFAULT_PROPS);
    ASSERT_STREQ(c.zipkin_endpoint, "http://localhost:9411/api/v2/spans");
    ASSERT_UEQ(c.zipkin_timeout_ms, 10000);
    ASSERT(c.warnings == NULL);
    ctr_config_free(&c);
}

/* Every variable set to "" behaves as unset: defaults and no warning. */
static void test_empty_values_are_unset(void)
{
    static const char *const names[] = {
        "OTEL_SDK_DISABLED",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_TRACES_SAMPLER",
        "OTEL_TRACES_SAMPLER_ARG",
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        "OTEL_ATTRIBUTE_COUNT_LIMIT",
        "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
        "OTEL_SPAN_EVENT_COUNT_LIMIT",
        "OTEL_SPAN_LINK_COUNT_LIMIT",
        "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
        "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
        "OTEL_BSP_SCHEDULE_DELAY",
        "OTEL_BSP_EXPORT_TIMEOUT",
        "OTEL_BSP_MAX_QUEUE_SIZE",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_CLIENT_KEY",
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_INSECURE",
        "OTEL_EXPORTER_OTLP_TRACES_INSECURE",
        "OTEL_PROPAGATORS",
        "OTEL_EXPORTER_ZIPKIN_ENDPOINT",
        "OTEL_EXPORTER_ZIPKIN_TIMEOUT",
    };
    struct var vars[sizeof names / sizeof names[0] + 1];
    size_t n = sizeof names / sizeof names[0];
    for (size_t i = 0; i < n; i++)
        vars[i] = (struct var){names[i], ""};
    vars[n] = (struct var){NULL, NULL};
    struct ctr_config c;
    ASSERT_EQ(load(&c, vars), 0);
    ASSERT(c.warnings == NULL);
    ASSERT(c.service_name == NULL);
    ASSERT(c.resource_attrs == NULL);
    ASSERT_EQ(c.sampler, CTR_SAMPLER_PARENTBASED_ALWAYS_ON);
    ASSERT_UEQ(c.limits.attr_count, 128);
    ASSERT_UEQ(c.bsp.max_queue_size, 2048);
    ASSERT_EQ(c.exporter, CTR_EXPORTER_OTLP);
    ASSERT_STREQ(c.otlp_endpoint, "http://localhost:4318/v1/traces");
    ASSERT_EQ(c.otlp_endpoint_set, false);
    ASSERT(c.otlp_headers == NULL);
    ASSERT(c.otlp_certificate == NULL);
    ASSERT_UEQ(c.otlp_timeout_ms, 10000);
    ASSERT_UEQ(c.propagators, DEFAULT_PROPS);
    ASSERT_STREQ(c.zipkin_endpoint, "http://localhost:9411/api/v2/spans");
    ASSERT_UEQ(c.zipkin_timeout_ms, 10000);
    ctr_config_free(&c);
}

/* A NULL getter reads the process environment. */
static void test_null_getter_uses_getenv(void)
{
    struct ctr_config c;
    ASSERT_EQ(setenv("OTEL_SERVICE_NAME", "from-getenv", 1), 0);
    int rc = ctr_config_from_env(&c, NULL, NULL);
    unsetenv("OTEL_SERVICE_NAME");
    ASSERT_EQ(rc, 0);
    ASSERT_STREQ(c.service_name, "from-getenv");
    ctr_config_free(&c);
}

/* The getter receives `ud` unchanged. */
static const char *ud_get(void *ud, const char *name)
{
    return strcmp(name, "OTEL_SERVICE_NAME") == 0 ? (const char *)ud : NULL;
}

static void test_getter_receives_user_data(void)
{
    struct ctr_config c;
    char name[] = "svc-from-ud";
    ASSERT_EQ(ctr_config_from_env(&c, ud_get, name), 0);
    ASSERT_STREQ(c.service_name, "svc-from-ud");
    ASSERT(c.service_name != name); /* a copy */
    ctr_config_free(&c);
}

/* ---- booleans and OTEL_SDK_DISABLED ------------------------------------------------ */

static void test_boolean_parsing(void)
{
    static const struct {
        const char *value;
        bool want;
        bool warns;
    } cases[] = {
        {"true", true, false},  {"TRUE", true, false},   {"True", true, false},
        {"tRuE", true, false},  {"false", false, false}, {"FALSE", false, false},
        {"1", false, true},     {"yes", false, true},    {"on", false, true},
        {" true", false, true}, {"true ", false, true},  {"t", false, true},
        {"truex", false, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ctr_config c;
        ASSERT_EQ(load1(&c, "OTEL_SDK_DISABLED", cases[i].value), 0);
        if (c.sdk_disabled != cases[i].want || warned(&c, "OTEL_SDK_DISABLED") != cases[i].warns) {
            ctr_config_free(&c);
            TEST_FAIL_AT("OTEL_SDK_DISABLED=\"%s\": want %d (warning %d)", cases[i].value,
                         cases[i].want, cases[i].warns);
        }
        if (cases[i].warns && !warned(&c, "using false")) {
            ctr_config_free(&c);
            TEST_FAIL_AT("the warning for \"%s\" does not say false is used", cases[i].value);
        }
        ASSERT_EQ(n_warnings(&c), cases[i].warns ? 1 : 0);
        ctr_config_free(&c);
    }
}

static void test_sdk_disabled_keeps_other_settings(void)
{
    struct ctr_config c;
    ASSERT_EQ(LOAD(&c, {"OTEL_SDK_DISABLED", "true"}, {"OTEL_SERVICE_NAME", "svc"},
                   {"OTEL_PROPAGATORS", "b3"}),
              0);
    ASSERT_EQ(c.sdk_disabled, true);
    /* Propagators still apply with the SDK disabled (the spec says so). */
    ASSERT_UEQ(c.propagators, CTR_PROP_B3);
    ASSERT_STREQ(c.service_name, "svc");
    ctr_config_free(&c);
}

/* ---- service name and resource attributes ---------------------------------------------- */

static void test_service_name_and_resource_attributes(void)
{
    struct ctr_config c;
    ASSERT_EQ(LOAD(&c, {"OTEL_SERVICE_NAME", "my service"},
                   {"OTEL_RESOURCE_ATTRIBUTES",
                    "service.name=other, deployment.environment = prod%20eu ,team=a%3Db%2Cc"}),
              0);
    ASSERT_STREQ(c.service_name, "my service");
    ASSERT_UEQ(c.n_resource_attrs, 3);
    ASSERT_STREQ(c.resource_attrs[0].name, "service.name");
    ASSERT_STREQ(c.resource_attrs[0].value, "other");
    ASSERT_STREQ(c.resource_attrs[1].name, "deployment.environment");
    ASSERT_STREQ(c.resource_attrs[1].value, "prod eu");
    ASSERT_STREQ(c.resource_attrs[2].name, "team");
    ASSERT_STREQ(c.resource_attrs[2].value, "a=b,c");
    ASSERT(c.warnings == NULL);
    ctr_config_free(&c);
}

static void test_bad_resource_attributes_are_all_discarded(void)
{
    static const char *const bad[] = {"a=1,b=%zz", "a=1,novalue", "a=1,=2", "a=%4"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ctr_config c;
        ASSERT_EQ(LOAD(&c, {"OTEL_RESOURCE_ATTRIBUTES", bad[i]}, {"OTEL_SERVICE_NAME", "svc"}), 0);
        ASSERT(c.resource_attrs == NULL);
        ASSERT_UEQ(c.n_resource_attrs, 0);
        ASSERT_STREQ(c.service_name, "svc");
        ASSERT(warned(&c, "OTEL_RESOURCE_ATTRIBUTES="));
        ASSERT(warned(&c, bad[i]));
        ASSERT(warned(&c, "all of it ignored"));
        ASSERT_EQ(n_warnings(&c), 1);
        ctr_config_free(&c);
    }
}

/* ---- ctr_parse_kv_list ------------------------------------------------------------------ */

static void test_kv_list_table(void)
{
    static const struct {
        const char *in;
        int rc;
        size_t n;
        const char *kv[8]; /* name, value, name, value, ... */
    } cases[] = {
        {"a=1", 0, 1, {"a", "1"}},
        {"a=1,b=2", 0, 2, {"a", "1", "b", "2"}},
        {"  a  =  1  ,\tb\t=\t2\t", 0, 2, {"a", "1", "b", "2"}},
        {"a=b=c", 0, 1, {"a", "b=c"}},
        {"a==", 0, 1, {"a", "="}},
        {"k=", 0, 1, {"k", ""}},
        {"k = ", 0, 1, {"k", ""}},
        {"a=1,,b=2", 0, 2, {"a", "1", "b", "2"}},
        {",a=1,", 0, 1, {"a", "1"}},
        {" , ,", 0, 0, {0}},
        {"", 0, 0, {0}},
        {"k%20ey=v%2cw", 0, 1, {"k ey", "v,w"}},
        {"x=%41%62%7E%7e", 0, 1, {"x", "Ab~~"}},
        {"x=%20padded%20", 0, 1, {"x", " padded "}},
        {"x=caf%C3%A9", 0, 1, {"x", "caf\xc3\xa9"}},
        {"x=a+b", 0, 1, {"x", "a+b"}},
        {"Authorization=Bearer abc", 0, 1, {"Authorization", "Bearer abc"}},
        {"x=%", CTR_EPARSE, 0, {0}},
        {"x=%4", CTR_EPARSE, 0, {0}},
        {"x=%4g", CTR_EPARSE, 0, {0}},
        {"x=%g4", CTR_EPARSE, 0, {0}},
        {"%=1", CTR_EPARSE, 0, {0}},
        {"x=%00", CTR_EPARSE, 0, {0}},
        {"a=1,b", CTR_EPARSE, 0, {0}},
        {"novalue", CTR_EPARSE, 0, {0}},
        {"=v", CTR_EPARSE, 0, {0}},
        {" =v", CTR_EPARSE, 0, {0}},
        {"a=1,b=2,c=%zz", CTR_EPARSE, 0, {0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ctr_header *h = (struct ctr_header *)1;
        size_t n = 99;
        int rc = ctr_parse_kv_list(cases[i].in, &h, &n);
        if (rc != cases[i].rc || n != cases[i].n) {
            if (rc == 0)
                ctr_headers_free(h, n);
            TEST_FAIL_AT("\"%s\": rc %d n %zu, want rc %d n %zu", cases[i].in, rc, n, cases[i].rc,
                         cases[i].n);
        }
        if (n == 0 && h != NULL)
            TEST_FAIL_AT("\"%s\": no members but a non-NULL array", cases[i].in);
        for (size_t k = 0; k < n; k++) {
            if (strcmp(h[k].name, cases[i].kv[2 * k]) != 0 ||
                strcmp(h[k].value, cases[i].kv[2 * k + 1]) != 0) {
                ctr_headers_free(h, n);
                TEST_FAIL_AT("\"%s\": member %zu is \"%s\"=\"%s\"", cases[i].in, k, h[k].name,
                             h[k].value);
            }
        }
        ctr_headers_free(h, n);
    }
}

static void test_kv_list_null_input(void)
{
    struct ctr_header *h = (struct ctr_header *)1;
    size_t n = 5;
    ASSERT_EQ(ctr_parse_kv_list(NULL, &h, &n), 0);
    ASSERT(h == NULL);
    ASSERT_UEQ(n, 0);
    ctr_headers_free(NULL, 0);
}

/* ---- sampler -------------------------------------------------------------------------- */

static void test_sampler_names(void)
{
    static const struct {
        const char *value;
        ctr_sampler_kind want;
        bool warns;
    } cases[] = {
        {"always_on", CTR_SAMPLER_ALWAYS_ON, false},
        {"always_off", CTR_SAMPLER_ALWAYS_OFF, false},
        {"traceidratio", CTR_SAMPLER_TRACEIDRATIO, false},
        {"parentbased_always_on", CTR_SAMPLER_PARENTBASED_ALWAYS_ON, false},
        {"parentbased_always_off", CTR_SAMPLER_PARENTBASED_ALWAYS_OFF, false},
        {"parentbased_traceidratio", CTR_SAMPLER_PARENTBASED_TRACEIDRATIO, false},
        {"ALWAYS_OFF", CTR_SAMPLER_ALWAYS_OFF, false},
        {" always_off ", CTR_SAMPLER_ALWAYS_OFF, false},
        {"jaeger_remote", CTR_SAMPLER_PARENTBASED_ALWAYS_ON, true},
        {"parentbased_jaeger_remote", CTR_SAMPLER_PARENTBASED_ALWAYS_ON, true},
        {"xray", CTR_SAMPLER_PARENTBASED_ALWAYS_ON, true},
        {"always", CTR_SAMPLER_PARENTBASED_ALWAYS_ON, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ctr_config c;
        ASSERT_EQ(load1(&c, "OTEL_TRACES_SAMPLER", cases[i].value), 0);
        bool ok = c.sampler == cases[i].want && c.sampler_arg == 1.0 &&
                  warned(&c, "OTEL_TRACES_SAMPLER=") == cases[i].warns &&
                  (!cases[i].warns || warned(&c, "using parentbased_always_on"));
        ctr_config_free(&c);
        if (!ok)
            TEST_FAIL_AT("OTEL_TRACES_SAMPLER=\"%s\"", cases[i].value);
    }
}

static void test_sampler_arg_range(void)
{
    static const struct {
        const char *arg;
        double want;
        bool warns;
    } cases[] = {
        {"0", 0.0, false},        {"1", 1.0, false},       {"0.25", 0.25, false},
        {".5", 0.5, false},       {"0.1", 0.1, false},     {"1.0", 1.0, false},
        {"0.000", 0.0, false},    {"2.5e-1", 0.25, false}, {"25E-2", 0.25, false},
        {"0.01e1", 0.1, false},   {" 0.5 ", 0.5, false},   {"1.5", 1.0, true},
        {"-0.1", 1.0, true},      {"abc", 1.0, true},      {"0.5x", 1.0, true},
        {"nan", 1.0, true},       {"inf", 1.0, true},      {"1e400", 1.0, true},
        {".", 1.0, true},         {"1e", 1.0, true},       {"0,5", 1.0, true},
        {"1.0000001", 1.0, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ctr_config c;
        ASSERT_EQ(LOAD(&c, {"OTEL_TRACES_SAMPLER", "traceidratio"},
                       {"OTEL_TRACES_SAMPLER_ARG", cases[i].arg}),
                  0);
        bool ok = c.sampler == CTR_SAMPLER_TRACEIDRATIO && c.sampler_arg == cases[i].want &&
                  warned(&c, "OTEL_TRACES_SAMPLER_ARG=") == cases[i].warns &&
                  (!cases[i].warns || warned(&c, "using 1.0"));
        double got = c.sampler_arg;
        ctr_config_free(&c);
        if (!ok)
            TEST_FAIL_AT("OTEL_TRACES_SAMPLER_ARG=\"%s\": got %.17g", cases[i].arg, got);
    }
}

static void test_sampler_arg_only_for_ratio_samplers(void)
{
    struct ctr_config c;
    /* parentbased_traceidratio takes it. */
    ASSERT_EQ(LOAD(&c, {"OTEL_TRACES_SAMPLER", "parentbased_traceidratio"},
                   {"OTEL_TRACES_SAMPLER_ARG", "0.125"}),
              0);
    ASSERT_EQ(c.sampler, CTR_SAMPLER_PARENTBASED_TRACEIDRATIO);
    ASSERT(c.sampler_arg == 0.125);
    ctr_config_free(&c);
    /* always_on has no argument: ignored, even when invalid. */
    ASSERT_EQ(LOAD(&c, {"OTEL_TRACES_SAMPLER", "always_on"}, {"OTEL_TRACES_SAMPLER_ARG", "7"}), 0);
    ASSERT(c.sampler_arg == 1.0);
    ASSERT(c.warnings == NULL);
    ctr_config_free(&c);
    /* Without OTEL_TRACES_SAMPLER the argument is not used. */
    ASSERT_EQ(load1(&c, "OTEL_TRACES_SAMPLER_ARG", "0.5"), 0);
    ASSERT_EQ(c.sampler, CTR_SAMPLER_PARENTBASED_ALWAYS_ON);
    ASSERT(c.sampler_arg == 1.0);
    ctr_config_free(&c);
}

/* ---- integers, limits, batch processor ------------------------------------------------ */

static void test_integer_parsing(void)
{
    static const struct {
        const char *value;
        uint32_t want;
        const char *warning; /* NULL: none */
    } cases[] = {
        {"0", 0, NULL},
        {"42", 42, NULL},
        {" 42\t", 42, NULL},
        {"007", 7, NULL},
        {"4294967295", 4294967295u, NULL},
        {"4294967296", 128, "is larger than 4294967295; using 128"},
        {"99999999999999999999999", 128, "is larger than 4294967295; using 128"},
        {"-1", 128, "is not a non-negative integer; using 128"},
        {"+5", 128, "is not a non-negative integer; using 128"},
        {"1e3", 128, "is not a non-negative integer; using 128"},
        {"0x10", 128, "is not a non-negative integer; using 128"},
        {"12 3", 128, "is not a non-negative integer; using 128"},
        {"3.5", 128, "is not a non-negative integer; using 128"},
        {"abc", 128, "is not a non-negative integer; using 128"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ctr_config c;
        ASSERT_EQ(load1(&c, "OTEL_SPAN_EVENT_COUNT_LIMIT", cases[i].value), 0);
        bool ok = c.limits.event_count == cases[i].want &&
                  (cases[i].warning
                       ? warned(&c, cases[i].warning) &&
                             warned(&c, "OTEL_SPAN_EVENT_COUNT_LIMIT=") && n_warnings(&c) == 1
                       : c.warnings == NULL);
        uint32_t got = c.limits.event_count;
        ctr_config_free(&c);
        if (!ok)
            TEST_FAIL_AT("OTEL_SPAN_EVENT_COUNT_LIMIT=\"%s\": got %u", cases[i].value,
                         (unsigned)got);
    }
}

static void test_limits_each_variable(void)
{
    struct ctr_config c;
    ASSERT_EQ(LOAD(&c, {"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100"},
                   {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "10"}, {"OTEL_SPAN_EVENT_COUNT_LIMIT", "11"},
                   {"OTEL_SPAN_LINK_COUNT_LIMIT", "12"}, {"OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "13"},
                   {"OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "0"}),
              0);
    ASSERT_UEQ(c.limits.attr_value_len, 100);
    ASSERT_UEQ(c.limits.attr_count, 10);
    ASSERT_UEQ(c.limits.event_count, 11);
    ASSERT_UEQ(c.limits.link_count, 12);
    ASSERT_UEQ(c.limits.event_attr_count, 13);
    ASSERT_UEQ(c.limits.link_attr_count, 0);
    ASSERT(c.warnings == NULL);
    ctr_config_free(&c);
}

static void test_limits_general_and_specific(void)
{
    struct ctr_config c;
    /* The general limits apply to span, event and link attributes. */
    ASSERT_EQ(
        LOAD(&c, {"OTEL_ATTRIBUTE_COUNT_LIMIT", "7"}, {"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "50"}),
        0);
    ASSERT_UEQ(c.limits.attr_count, 7);
    ASSERT_UEQ(c.limits.event_attr_count, 7);
    ASSERT_UEQ(c.limits.link_attr_count, 7);
    ASSERT_UEQ(c.limits.attr_value_len, 50);
    ASSERT_UEQ(c.limits.event_count, 128);
    ASSERT_UEQ(c.limits.link_count, 128);
    ctr_config_free(&c);
    /* The specific ones win, in either order of declaration. */
    ASSERT_EQ(LOAD(&c, {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "3"},
                   {"OTEL_ATTRIBUTE_COUNT_LIMIT", "7"}, {"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "50"},
                   {"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "20"},
                   {"OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "2"}),
              0);
    ASSERT_UEQ(c.limits.attr_count, 3);
    ASSERT_UEQ(c.limits.event_attr_count, 7);
    ASSERT_UEQ(c.limits.link_attr_count, 2);
    ASSERT_UEQ(c.limits.attr_value_len, 20);
    ctr_config_free(&c);
    /* An invalid specific one falls back to the general one, saying so. */
    ASSERT_EQ(LOAD(&c, {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "x"},
                   {"OTEL_ATTRIBUTE_COUNT_LIMIT", "7"},
                   {"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "-5"}),
              0);
    ASSERT_UEQ(c.limits.attr_count, 7);
    ASSERT_UEQ(c.limits.attr_value_len, UINT32_MAX);
    ASSERT(warned(&c, "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT=x is not a non-negative integer; using 7"));
    ASSERT(warned(&c, "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT=-5 is not a non-negative integer; "
                      "using no limit"));
    ASSERT_EQ(n_warnings(&c), 2);
    ctr_config_free(&c);
    /* An invalid general one is reported once, not once per limit it feeds. */
    ASSERT_EQ(load1(&c, "OTEL_ATTRIBUTE_COUNT_LIMIT", "lots"), 0);
    ASSERT_UEQ(c.limits.attr_count, 128);
    ASSERT_UEQ(c.limits.event_attr_count, 128);
    ASSERT_STREQ(c.warnings, "OTEL_ATTRIBUTE_COUNT_LIMIT=lots is not a non-negative integer; "
                             "using 128");
    ctr_config_free(&c);
}

static void test_bsp_values(void)
{
    struct ctr_config c;
    ASSERT_EQ(LOAD(&c, {"OTEL_BSP_SCHEDULE_DELAY", "250"}, {"OTEL_BSP_EXPORT_TIMEOUT", "1500"},
                   {"OTEL_BSP_MAX_QUEUE_SIZE", "100"}, {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"}),
              0);
    ASSERT_UEQ(c.bsp.schedule_delay_ms, 250);
    ASSERT_UEQ(c.bsp.export_timeout_ms, 1500);
    ASSERT_UEQ(c.bsp.max_queue_size, 100);
    ASSERT_UEQ(c.bsp.max_export_batch_size, 10);
    ASSERT(c.warnings == NULL);
    ctr_config_free(&c);
    /* A schedule delay of 0 is valid; an export timeout of 0 means no limit. */
    ASSERT_EQ(LOAD(&c, {"OTEL_BSP_SCHEDULE_DELAY", "0"}, {"OTEL_BSP_EXPORT_TIMEOUT", "0"}), 0);
    ASSERT_UEQ(c.bsp.schedule_delay_ms, 0);
    ASSERT_UEQ(c.bsp.export_timeout_ms, 2147483647u);
    ASSERT(c.warnings == NULL);
    ctr_config_free(&c);
}

static void test_bsp_bad_values(void)
{
    struct ctr_config c;
    ASSERT_EQ(LOAD(&c, {"OTEL_BSP_MAX_QUEUE_SIZE", "abc"}, {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "0"},
                   {"OTEL_BSP_SCHEDULE_DELAY", "5s"}, {"OTEL_BSP_EXPORT_TIMEOUT", "-1"}),
              0);
    ASSERT_UEQ(c.bsp.max_queue_size, 2048);
    ASSERT_UEQ(c.bsp.max_export_batch_size, 512);
    ASSERT_UEQ(c.bsp.schedule_delay_ms, 5000);
    ASSERT_UEQ(c.bsp.export_timeout_ms, 30000);
    ASSERT(warned(&c, "OTEL_BSP_MAX_QUEUE_SIZE=abc is not a non-negative integer; using 2048"));
    ASSERT(warned(&c, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=0 is not a positive integer; using 512"));
    ASSERT(warned(&c, "OTEL_BSP_SCHEDULE_DELAY=5s is not a non-negative integer; using 5000"));
    ASSERT(warned(&c, "OTEL_BSP_EXPORT_TIMEOUT=-1 is not a non-negative integer; using 30000"));
    ASSERT_EQ(n_warnings(&c), 4);
    ctr_config_free(&c);
    ASSERT_EQ(load1(&c, "OTEL_BSP_MAX_QUEUE_SIZE", "0"), 0);
    ASSERT_UEQ(c.bsp.max_queue_size, 2048);
    ASSERT(warned(&c, "OTEL_BSP_MAX_QUEUE_SIZE=0 is not a positive integer; using 2048"));
    ctr_config_free(&c);
}

static void test_bsp_batch_size_clamped(void)
{
    struct ctr_config c;
    /* A batch size the user set above the queue size: clamped, with a warning. */
    ASSERT_EQ(
        LOAD(&c, {"OTEL_BSP_MAX_QUEUE_SIZE", "100"}, {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "400"}), 0);
    ASSERT_UEQ(c.bsp.max_queue_size, 100);
    ASSERT_UEQ(c.bsp.max_export_batch_size, 100);
    ASSERT_STREQ(c.warnings, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=400 is larger than the queue size "
                             "100; using 100");
    ctr_config_free(&c);
    /* Against the default queue size too. */
    ASSERT_EQ(load1(&c, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "5000"), 0);
    ASSERT_UEQ(c.bsp.max_export_batch_size, 2048);
    ASSERT(warned(&c, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=5000"));
    ctr_config_free(&c);
    /* The default batch size shrinks with a small queue, silently. */
    ASSERT_EQ(load1(&c, "OTEL_BSP_MAX_QUEUE_SIZE", "64"), 0);
    ASSERT_UEQ(c.bsp.max_export_batch_size, 64);
    ASSERT(c.warnings == NULL);
    ctr_config_free(&c);
    /* Equal sizes are fine. */
    ASSERT_EQ(LOAD(&c, {"OTEL_BSP_MAX_QUEUE_SIZE", "8"}, {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "8"}),
              0);
    ASSERT_UEQ(c.bsp.max_export_batch_size, 8);
    ASSERT(c.warnings == NULL);
    ctr_config_free(&c);
}

/* ---- exporter selection -------------------------------------------------------------- */

static void test_exporter_list(void)
{
    static const struct {
        const char *value;
        ctr_exporter_kind want;
        int n_warnings;
        const char *warning;
    } cases[] = {
        {"otlp", CTR_EXPORTER_OTLP, 0, NULL},
        {"console", CTR_EXPORTER_CONSOLE, 0, NULL},
        {"zipkin", CTR_EXPORTER_ZIPKIN, 0, NULL},
        {"file", CTR_EXPORTER_FILE, 0, NULL},
        {"none", CTR_EXPORTER_NONE, 0, NULL},
        {" CONSOLE ", CTR_EXPORTER_CONSOLE, 0, NULL},
        {",,console,", CTR_EXPORTER_CONSOLE, 0, NULL},
        {"jaeger,console", CTR_EXPORTER_CONSOLE, 1, "\"jaeger\" is not a supported exporter"},
        {"foo,bar,file", CTR_EXPORTER_FILE, 2, "\"bar\" is not a supported exporter"},
        {"logging", CTR_EXPORTER_OTLP, 2, "names no supported exporter; using otlp"},
        {"console,otlp", CTR_EXPORTER_CONSOLE, 1, "\"otlp\" ignored, only one exporter is used"},
        {"none,console", CTR_EXPORTER_CONSOLE, 1, "\"none\" ignored"},
        {"none, none", CTR_EXPORTER_NONE, 0, NULL},
        {"none,foo", CTR_EXPORTER_NONE, 1, "\"foo\" is not a supported exporter"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ctr_config c;
        ASSERT_EQ(load1(&c, "OTEL_TRACES_EXPORTER", cases[i].value), 0);
        bool ok = c.exporter == cases[i].want && n_warnings(&c) == cases[i].n_warnings &&
                  (!cases[i].warning ||
                   (warned(&c, cases[i].warning) && warned(&c, "OTEL_TRACES_EXPORTER")));
        int got = c.exporter;
        char w[512];
        snprintf(w, sizeof w, "%s", c.warnings ? c.warnings : "(none)");
        ctr_config_free(&c);
        if (!ok)
            TEST_FAIL_AT("OTEL_TRACES_EXPORTER=\"%s\": got %d, warnings:\n%s", cases[i].value, got,
                         w);
    }
}

/* ---- OTLP: protocol, endpoint, precedence --------------------------------------------- */

static void test_protocol(void)
{
    struct ctr_config c;
    ASSERT_EQ(load1(&c, "OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"), 0);
    ASSERT_EQ(c.protocol, CTR_PROTOCOL_HTTP_JSON);
    ctr_config_free(&c);
    ASSERT_EQ(load1(&c, "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"), 0);
    ASSERT_EQ(c.protocol, CTR_PROTOCOL_GRPC);
    ASSERT_STREQ(c.otlp_endpoint, "http://localhost:4317");
    ASSERT_EQ(c.otlp_endpoint_set, false);
    ctr_config_free(&c);
    /* The per-signal variable wins. */
    ASSERT_EQ(LOAD(&c, {"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
                   {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"}),
              0);
    ASSERT_EQ(c.protocol, CTR_PROTOCOL_HTTP_PROTOBUF);
    ASSERT(c.warnings == NULL);
    ctr_config_free(&c);
    /* An unknown value warns and leaves the default. */
    ASSERT_EQ(load1(&c, "OTEL_EXPORTER_OTLP_PROTOCOL", "http/thrift"), 0);
    ASSERT_EQ(c.protocol, CTR_PROTOCOL_HTTP_PROTOBUF);
    ASSERT_STREQ(c.warnings, "OTEL_EXPORTER_OTLP_PROTOCOL=http/thrift is not supported; using "
                             "http/protobuf");
    ctr_config_free(&c);
    /* An unknown per-signal value is ignored: the general one applies. */
    ASSERT_EQ(LOAD(&c, {"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
                   {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "udp"}),
              0);
    ASSERT_EQ(c.protocol, CTR_PROTOCOL_GRPC);
    ASSERT_STREQ(c.warnings, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=udp is not supported; using grpc");
    ctr_config_free(&c);
}

static void test_endpoint_resolution(void)
{
    static const struct {
        const char *protocol; /* NULL: unset */
        const char *base;
        const char *traces;
        const char *want;
        bool set;
    } cases[] = {
        {NULL, NULL, NULL, "http://localhost:4318/v1/traces", false},
        {"http/json", NULL, NULL, "http://localhost:4318/v1/traces", false},
        {"grpc", NULL, NULL, "http://localhost:4317", false},
        {NULL, "http://h:4318", NULL, "http://h:4318/v1/traces", true},
        {NULL, "http://h:4318/", NULL, "http://h:4318/v1/traces", true},
        {NULL, "http://h:4318/base", NULL, "http://h:4318/base/v1/traces", true},
        {NULL, "http://h:4318/base/", NULL, "http://h:4318/base/v1/traces", true},
        {NULL, "https://h/v1/traces", NULL, "https://h/v1/traces/v1/traces", true},
        {"http/json", "http://h:4318", NULL, "http://h:4318/v1/traces", true},
        {NULL, NULL, "http://t:9999", "http://t:9999", true},
        {NULL, NULL, "http://t:9999/custom/path", "http://t:9999/custom/path", true},
        {NULL, "http://h:4318", "http://t:1/x", "http://t:1/x", true},
        {"grpc", "http://h:4317", NULL, "http://h:4317", true},
        {"grpc", "http://h:4317/", NULL, "http://h:4317/", true},
        {"grpc", "h:4317", NULL, "h:4317", true},
        {"grpc", "http://h:4317", "https://t:443", "https://t:443", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ctr_config c;
        const struct var vars[] = {
            {"OTEL_EXPORTER_OTLP_PROTOCOL", cases[i].protocol},
            {"OTEL_EXPORTER_OTLP_ENDPOINT", cases[i].base},
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", cases[i].traces},
            {NULL, NULL},
        };
        ASSERT_EQ(load(&c, vars), 0);
        bool ok = c.otlp_endpoint && strcmp(c.otlp_endpoint, cases[i].want) == 0 &&
                  c.otlp_endpoint_set == cases[i].set && c.warnings == NULL;
        char got[256];
        snprintf(got, sizeof got, "%s", c.otlp_endpoint ? c.otlp_endpoint : "(null)");
        ctr_config_free(&c);
        if (!ok)
            TEST_FAIL_AT("case %zu: got \"%s\", want \"%s\" (set %d)", i, got, cases[i].want,
                         cases[i].set);
    }
}

static void test_otlp_traces_variables_win(void)
{
    struct ctr_config c;
    ASSERT_EQ(LOAD(&c, {"OTEL_EXPORTER_OTLP_HEADERS", "a=1,b=2"},
                   {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "c=3"},
                   {"OTEL_EXPORTER_OTLP_TIMEOUT", "1000"},
                   {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2000"},
                   {"OTEL_EXPORTER_OTLP_COMPRESSION", "none"},
                   {"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip"},
                   {"OTEL_EXPORTER_OTLP_CERTIFICATE", "/base/ca.pem"},
                   {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/traces/ca.pem"},
                   {"OTEL_EXPORTER_OTLP_CLIENT_KEY", "/base/key.pem"},
                   {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/traces/key.pem"},
                   {"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/base/cert.pem"},
                   {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "/traces/cert.pem"},
                   {"OTEL_EXPORTER_OTLP_INSECURE", "false"},
                   {"OTEL_EXPORTER_OTLP_TRACES_INSECURE", "true"}),
              0);
    /* Per-signal headers replace the general ones; they are not merged. */
    ASSERT_UEQ(c.n_otlp_headers, 1);
    ASSERT_STREQ(c.otlp_headers[0].name, "c");
    ASSERT_STREQ(c.otlp_headers[0].value, "3");
    ASSERT_UEQ(c.otlp_timeout_ms, 2000);
    ASSERT_EQ(c.otlp_gzip, true);
    ASSERT_STREQ(c.otlp_certificate, "/traces/ca.pem");
    ASSERT_STREQ(c.otlp_client_key, "/traces/key.pem");
    ASSERT_STREQ(c.otlp_client_certificate, "/traces/cert.pem");
    ASSERT_EQ(c.otlp_insecure, true);
    ASSERT(c.warnings == NULL);
    ctr_config_free(&c);
    /* Reversed: the per-signal "false"/"none" still win over the general ones. */
    ASSERT_EQ(LOAD(&c, {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"},
                   {"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"},
                   {"OTEL_EXPORTER_OTLP_INSECURE", "true"},
                   {"OTEL_EXPORTER_OTLP_TRACES_INSECURE", "false"}),
              0);
    ASSERT_EQ(c.otlp_gzip, false);
    ASSERT_EQ(c.otlp_insecure, false);
    ctr_config_free(&c);
}

static void test_otlp_general_variables(void)
{
    struct ctr_config c;
    ASSERT_EQ(LOAD(&c, {"OTEL_EXPORTER_OTLP_HEADERS", "api-key=s%3Dcret, x-team = chaos"},
                   {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"},
                   {"OTEL_EXPORTER_OTLP_COMPRESSION", "GZIP"},
                   {"OTEL_EXPORTER_OTLP_CERTIFICATE", "/ca.pem"},
                   {"OTEL_EXPORTER_OTLP_CLIENT_KEY", "/key.pem"},
                   {"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/cert.pem"},
                   {"OTEL_EXPORTER_OTLP_INSECURE", "TRUE"}),
              0);
    ASSERT_UEQ(c.n_otlp_headers, 2);
    ASSERT_STREQ(c.otlp_headers[0].name, "api-key");
    ASSERT_STREQ(c.otlp_headers[0].value, "s=cret");
    ASSERT_STREQ(c.otlp_headers[1].name, "x-team");
    ASSERT_STREQ(c.otlp_headers[1].value, "chaos");
    ASSERT_UEQ(c.otlp_timeout_ms, 2500);
    ASSERT_EQ(c.otlp_gzip, true);
    ASSERT_STREQ(c.otlp_certificate, "/ca.pem");
    ASSERT_STREQ(c.otlp_client_key, "/key.pem");
    ASSERT_STREQ(c.otlp_client_certificate, "/cert.pem");
    ASSERT_EQ(c.otlp_insecure, true);
    ASSERT(c.warnings == NULL);
    ctr_config_free(&c);
}

static void test_otlp_bad_values(void)
{
    struct ctr_config c;
    ASSERT_EQ(LOAD(&c, {"OTEL_EXPORTER_OTLP_TIMEOUT", "10s"},
                   {"OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"},
                   {"OTEL_EXPORTER_OTLP_INSECURE", "yes"}),
              0);
    ASSERT_UEQ(c.otlp_timeout_ms, 10000);
    ASSERT_EQ(c.otlp_gzip, false);
    ASSERT_EQ(c.otlp_insecure, false);
    ASSERT(warned(&c, "OTEL_EXPORTER_OTLP_TIMEOUT=10s is not a non-negative integer; using 10000"));
    ASSERT(warned(&c, "OTEL_EXPORTER_OTLP_COMPRESSION=zstd is not supported; using none"));
    ASSERT(warned(&c, "OTEL_EXPORTER_OTLP_INSECURE=yes is not true or false; using false"));
    ASSERT_EQ(n_warnings(&c), 3);
    ctr_config_free(&c);
    /* A bad per-signal value is ignored and the general one applies. */
    ASSERT_EQ(LOAD(&c, {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "soon"},
                   {"OTEL_EXPORTER_OTLP_TIMEOUT", "5000"},
                   {"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "br"},
                   {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"}),
              0);
    ASSERT_UEQ(c.otlp_timeout_ms, 5000);
    ASSERT_EQ(c.otlp_gzip, true);
    ASSERT(warned(&c, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT=soon is not a non-negative integer; "
                      "using 5000"));
    ASSERT(warned(&c, "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=br is not supported; using gzip"));
    ASSERT_EQ(n_warnings(&c), 2);
    ctr_config_free(&c);
    /* Both bad: two warnings, both naming the default. */
    ASSERT_EQ(
        LOAD(&c, {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "a"}, {"OTEL_EXPORTER_OTLP_TIMEOUT", "b"}),
        0);
    ASSERT_UEQ(c.otlp_timeout_ms, 10000);
    ASSERT_STREQ(c.warnings,
                 "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT=a is not a non-negative integer; using 10000\n"
                 "OTEL_EXPORTER_OTLP_TIMEOUT=b is not a non-negative integer; using 10000");
    ctr_config_free(&c);
    /* A timeout of 0 means no limit. */
    ASSERT_EQ(load1(&c, "OTEL_EXPORTER_OTLP_TIMEOUT", "0"), 0);
    ASSERT_UEQ(c.otlp_timeout_ms, 2147483647u);
    ASSERT(c.warnings == NULL);
    ctr_config_free(&c);
}

/* ---- Zipkin ------------------------------------------------------------------------- */

static void test_zipkin_variables(void)
{
    struct ctr_config c;
    ASSERT_EQ(LOAD(&c, {"OTEL_EXPORTER_ZIPKIN_ENDPOINT", "https://zipkin.example:9411/x/spans?a=b"},
                   {"OTEL_EXPORTER_ZIPKIN_TIMEOUT", " 2500 "}),
              0);
    /* Used as given: no path is added or changed. */
    ASSERT_STREQ(c.zipkin_endpoint, "https://zipkin.example:9411/x/spans?a=b");
    ASSERT_UEQ(c.zipkin_timeout_ms, 2500);
    ASSERT(c.warnings == NULL);
    /* The OTLP settings are untouched. */
    ASSERT_STREQ(c.otlp_endpoint, "http://localhost:4318/v1/traces");
    ASSERT_UEQ(c.otlp_timeout_ms, 10000);
    ctr_config_free(&c);
    ASSERT(c.zipkin_endpoint == NULL);
    /* The OTLP timeout does not leak into Zipkin's, nor the other way. */
    ASSERT_EQ(LOAD(&c, {"OTEL_EXPORTER_OTLP_TIMEOUT", "1234"},
                   {"OTEL_EXPORTER_ZIPKIN_ENDPOINT", "HTTP://127.0.0.1:1/api/v2/spans"}),
              0);
    ASSERT_UEQ(c.zipkin_timeout_ms, 10000);
    ASSERT_UEQ(c.otlp_timeout_ms, 1234);
    ASSERT_STREQ(c.zipkin_endpoint, "HTTP://127.0.0.1:1/api/v2/spans");
    ASSERT(c.warnings == NULL);
    ctr_config_free(&c);
    /* 0 means no limit, as for every timeout. */
    ASSERT_EQ(load1(&c, "OTEL_EXPORTER_ZIPKIN_TIMEOUT", "0"), 0);
    ASSERT_UEQ(c.zipkin_timeout_ms, 2147483647u);
    ASSERT(c.warnings == NULL);
    ctr_config_free(&c);
}

static void test_zipkin_bad_values(void)
{
    /* Each bad endpoint: the value, how the warning shows it, and why. */
    static const struct {
        const char *endpoint, *shown, *why;
    } bad[] = {
        {"localhost:9411/api/v2/spans", "localhost:9411/api/v2/spans",
         "is not an http:// or https:// URL"},
        {"ftp://host/api/v2/spans", "ftp://host/api/v2/spans", "is not an http:// or https:// URL"},
        {"http:///api/v2/spans", "http:///api/v2/spans", "has no host"},
        {"http://", "http://", "has no host"},
        {"http://host/a b", "http://host/a b", "contains blanks or control characters"},
        {"http://host/a\tb", "http://host/a\\x09b", "contains blanks or control characters"},
        {"http://u:pw@host/a b", "http://REDACTED:REDACTED@host/a b",
         "contains blanks or control characters"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ctr_config c;
        char expect[256];
        ASSERT_EQ(load1(&c, "OTEL_EXPORTER_ZIPKIN_ENDPOINT", bad[i].endpoint), 0);
        ASSERT_STREQ(c.zipkin_endpoint, "http://localhost:9411/api/v2/spans");
        snprintf(expect, sizeof expect,
                 "OTEL_EXPORTER_ZIPKIN_ENDPOINT=%s %s; using http://localhost:9411/api/v2/spans",
                 bad[i].shown, bad[i].why);
        ASSERT_STREQ(c.warnings, expect);
        ctr_config_free(&c);
    }
    struct ctr_config c;
    ASSERT_EQ(
        LOAD(&c, {"OTEL_EXPORTER_ZIPKIN_TIMEOUT", "10s"}, {"OTEL_EXPORTER_OTLP_TIMEOUT", "3000"}),
        0);
    ASSERT_UEQ(c.zipkin_timeout_ms, 10000); /* the default, not the OTLP value */
    ASSERT_UEQ(c.otlp_timeout_ms, 3000);
    ASSERT_STREQ(c.warnings,
                 "OTEL_EXPORTER_ZIPKIN_TIMEOUT=10s is not a non-negative integer; using 10000");
    ctr_config_free(&c);
    ASSERT_EQ(load1(&c, "OTEL_EXPORTER_ZIPKIN_TIMEOUT", "99999999999"), 0);
    ASSERT_UEQ(c.zipkin_timeout_ms, 10000);
    ASSERT_STREQ(c.warnings,
                 "OTEL_EXPORTER_ZIPKIN_TIMEOUT=99999999999 is larger than 4294967295; using 10000");
    ctr_config_free(&c);
}

static void test_otlp_bad_headers(void)
{
    struct ctr_config c;
    /* A malformed per-signal list is ignored whole; the general one applies;
     * the warning names the variable but never echoes the (secret) value. */
    ASSERT_EQ(LOAD(&c, {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "authorization=Bearer%ZZsecret"},
                   {"OTEL_EXPORTER_OTLP_HEADERS", "x=1"}),
              0);
    ASSERT_UEQ(c.n_otlp_headers, 1);
    ASSERT_STREQ(c.otlp_headers[0].name, "x");
    ASSERT(warned(&c, "OTEL_EXPORTER_OTLP_TRACES_HEADERS is not a valid list"));
    ASSERT(!warned(&c, "secret"));
    ASSERT(!warned(&c, "Bearer"));
    ASSERT_EQ(n_warnings(&c), 1);
    ctr_config_free(&c);
    /* Decoded CR/LF in a value or a bad header name could inject headers. */
    static const char *const bad[] = {"a=1,x=evil%0D%0AHost: other", "bad name=1", "x=%7F",
                                      "ok=1,b(c)=2", "no-equals"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_EQ(load1(&c, "OTEL_EXPORTER_OTLP_HEADERS", bad[i]), 0);
        bool ok = c.otlp_headers == NULL && c.n_otlp_headers == 0 &&
                  warned(&c, "OTEL_EXPORTER_OTLP_HEADERS is not a valid list") &&
                  n_warnings(&c) == 1;
        ctr_config_free(&c);
        if (!ok)
            TEST_FAIL_AT("OTEL_EXPORTER_OTLP_HEADERS=\"%s\" was accepted", bad[i]);
    }
    /* A tab and non-ASCII bytes are allowed in values. */
    ASSERT_EQ(load1(&c, "OTEL_EXPORTER_OTLP_HEADERS", "x=a%09b%C3%A9"), 0);
    ASSERT_UEQ(c.n_otlp_headers, 1);
    ASSERT_STREQ(c.otlp_headers[0].value, "a\tb\xc3\xa9");
    ctr_config_free(&c);
}

/* ---- propagators ------------------------------------------------------------------------ */

static void test_propagators(void)
{
    static const struct {
        const char *value;
        unsigned want;
        int n_warnings;
    } cases[] = {
        {"tracecontext", CTR_PROP_TRACECONTEXT, 0},
        {"baggage", CTR_PROP_BAGGAGE, 0},
        {"b3", CTR_PROP_B3, 0},
        {"b3multi", CTR_PROP_B3MULTI, 0},
        {"jaeger", CTR_PROP_JAEGER, 0},
        {"xray", CTR_PROP_XRAY, 0},
        {"tracecontext,baggage,b3,b3multi,jaeger,xray", 0x3f, 0},
        {" B3 , Jaeger ", CTR_PROP_B3 | CTR_PROP_JAEGER, 0},
        {"b3,b3,,b3", CTR_PROP_B3, 0},
        {"none", 0, 0},
        {" none ", 0, 0},
        {"none,b3", CTR_PROP_B3, 1},
        {"ottrace,tracecontext", CTR_PROP_TRACECONTEXT, 1},
        {"foo,bar", DEFAULT_PROPS, 3},
        {",", DEFAULT_PROPS, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ctr_config c;
        ASSERT_EQ(load1(&c, "OTEL_PROPAGATORS", cases[i].value), 0);
        bool ok = c.propagators == cases[i].want && n_warnings(&c) == cases[i].n_warnings &&
                  (cases[i].n_warnings == 0 || warned(&c, "OTEL_PROPAGATORS"));
        unsigned got = c.propagators;
        ctr_config_free(&c);
        if (!ok)
            TEST_FAIL_AT("OTEL_PROPAGATORS=\"%s\": got 0x%x", cases[i].value, got);
    }
    struct ctr_config c;
    ASSERT_EQ(load1(&c, "OTEL_PROPAGATORS", "tracecontext,w3c"), 0);
    ASSERT_STREQ(c.warnings, "OTEL_PROPAGATORS: \"w3c\" is not a supported propagator "
                             "(tracecontext, baggage, b3, b3multi, "
                             "jaeger, xray, none); ignored");
    ctr_config_free(&c);
}

/* ---- ctr_otlp_http_traces_url ------------------------------------------------------------ */

static void test_http_traces_url(void)
{
    static const struct {
        const char *in;
        const char *want; /* NULL: rejected */
    } cases[] = {
        {"http://h:4318", "http://h:4318/v1/traces"},
        {"http://h:4318/", "http://h:4318/v1/traces"},
        {"https://collector.example.com", "https://collector.example.com/v1/traces"},
        {"HTTP://h", "HTTP://h/v1/traces"},
        {"HttpS://h/", "HttpS://h/v1/traces"},
        {"http://h:4318/v1/traces", "http://h:4318/v1/traces"},
        {"http://h:4318/custom", "http://h:4318/custom"},
        {"http://h:4318/custom/", "http://h:4318/custom/"},
        {"http://h:4318//", "http://h:4318//"},
        {"http://h:4318?x=1", "http://h:4318/v1/traces?x=1"},
        {"http://h:4318/?x=1", "http://h:4318/v1/traces?x=1"},
        {"http://[::1]:4318", "http://[::1]:4318/v1/traces"},
        {"http://127.0.0.1:4318/p?q", "http://127.0.0.1:4318/p?q"},
        {"grpc://h:4317", NULL},
        {"h:4318", NULL},
        {"ftp://h", NULL},
        {"http:/h", NULL},
        {"http://", NULL},
        {"http:///v1/traces", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = ctr_otlp_http_traces_url(cases[i].in);
        bool ok = cases[i].want ? got && strcmp(got, cases[i].want) == 0 : got == NULL;
        char shown[256];
        snprintf(shown, sizeof shown, "%s", got ? got : "(null)");
        free(got);
        if (!ok)
            TEST_FAIL_AT("\"%s\": got \"%s\", want \"%s\"", cases[i].in, shown,
                         cases[i].want ? cases[i].want : "(null)");
    }
    ASSERT(ctr_otlp_http_traces_url(NULL) == NULL);
}

/* ---- warnings -------------------------------------------------------------------------- */

static void test_warnings_are_escaped_and_truncated(void)
{
    struct ctr_config c;
    /* Control characters and a backslash are escaped. */
    ASSERT_EQ(load1(&c, "OTEL_BSP_MAX_QUEUE_SIZE", "1\n2\x1b[31m\\\xff"), 0);
    ASSERT_STREQ(c.warnings, "OTEL_BSP_MAX_QUEUE_SIZE=1\\x0a2\\x1b[31m\\\\\\xff is not a "
                             "non-negative integer; using 2048");
    ASSERT_EQ(n_warnings(&c), 1);
    ctr_config_free(&c);

    /* A long value is cut to 64 characters, ending with "...". */
    char longv[300];
    memset(longv, 'x', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    ASSERT_EQ(load1(&c, "OTEL_TRACES_SAMPLER", longv), 0);
    char want[256];
    snprintf(want, sizeof want,
             "OTEL_TRACES_SAMPLER=%.61s... is not supported; using "
             "parentbased_always_on",
             longv);
    ASSERT_STREQ(c.warnings, want);
    ctr_config_free(&c);

    /* Exactly 64 characters fit untouched. */
    longv[64] = '\0';
    ASSERT_EQ(load1(&c, "OTEL_TRACES_SAMPLER", longv), 0);
    snprintf(want, sizeof want,
             "OTEL_TRACES_SAMPLER=%.64s is not supported; using "
             "parentbased_always_on",
             longv);
    ASSERT_STREQ(c.warnings, want);
    ctr_config_free(&c);

    /* Escapes are never split by the cut: 30 bytes of 0x01 = 120 characters. */
    char ctl[31];
    memset(ctl, 1, 30);
    ctl[30] = '\0';
    ASSERT_EQ(load1(&c, "OTEL_PROPAGATORS", ctl), 0);
    /* 15 escapes (60 characters) fit in 61, then "...". */
    ASSERT(warned(&c, "\"\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01"
                      "\\x01...\" is not"));
    ctr_config_free(&c);
}

static void test_warnings_joined_by_newlines(void)
{
    struct ctr_config c;
    ASSERT_EQ(LOAD(&c, {"OTEL_SDK_DISABLED", "maybe"}, {"OTEL_TRACES_SAMPLER", "bogus"},
                   {"OTEL_PROPAGATORS", "nope"}),
              0);
    ASSERT_STREQ(
        c.warnings,
        "OTEL_SDK_DISABLED=maybe is not true or false; using false\n"
        "OTEL_TRACES_SAMPLER=bogus is not supported; using parentbased_always_on\n"
        "OTEL_PROPAGATORS: \"nope\" is not a supported propagator (tracecontext, baggage, b3, "
        "b3multi, jaeger, xray, none); ignored\n"
        "OTEL_PROPAGATORS names no supported propagator; using tracecontext,baggage");
    ctr_config_free(&c);
}

/* ---- freeing ---------------------------------------------------------------------------- */

static void test_free_is_safe_and_idempotent(void)
{
    struct ctr_config c;
    memset(&c, 0, sizeof c);
    ctr_config_free(&c);
    ctr_config_free(&c);
    ctr_config_free(NULL);
    ASSERT_EQ(LOAD(&c, {"OTEL_SERVICE_NAME", "s"}, {"OTEL_RESOURCE_ATTRIBUTES", "a=1"},
                   {"OTEL_EXPORTER_OTLP_HEADERS", "h=1"}, {"OTEL_EXPORTER_OTLP_CERTIFICATE", "/c"},
                   {"OTEL_SDK_DISABLED", "nah"}),
              0);
    ASSERT(c.warnings != NULL);
    ctr_config_free(&c);
    ASSERT(c.service_name == NULL && c.resource_attrs == NULL && c.otlp_endpoint == NULL &&
           c.otlp_headers == NULL && c.otlp_certificate == NULL && c.warnings == NULL &&
           c.zipkin_endpoint == NULL);
    ASSERT_UEQ(c.n_resource_attrs, 0);
    ASSERT_UEQ(c.n_otlp_headers, 0);
    ctr_config_free(&c);
    /* A struct full of garbage is overwritten, not freed, by from_env. */
    memset(&c, 0xa5, sizeof c);
    ASSERT_EQ(load(&c, NULL), 0);
    ASSERT_STREQ(c.otlp_endpoint, "http://localhost:4318/v1/traces");
    ctr_config_free(&c);
}

TEST_MAIN(TEST_CASE(test_defaults_with_empty_environment), TEST_CASE(test_empty_values_are_unset),
          TEST_CASE(test_null_getter_uses_getenv), TEST_CASE(test_getter_receives_user_data),
          TEST_CASE(test_boolean_parsing), TEST_CASE(test_sdk_disabled_keeps_other_settings),
          TEST_CASE(test_service_name_and_resource_attributes),
          TEST_CASE(test_bad_resource_attributes_are_all_discarded), TEST_CASE(test_kv_list_table),
          TEST_CASE(test_kv_list_null_input), TEST_CASE(test_sampler_names),
          TEST_CASE(test_sampler_arg_range), TEST_CASE(test_sampler_arg_only_for_ratio_samplers),
          TEST_CASE(test_integer_parsing), TEST_CASE(test_limits_each_variable),
          TEST_CASE(test_limits_general_and_specific), TEST_CASE(test_bsp_values),
          TEST_CASE(test_bsp_bad_values), TEST_CASE(test_bsp_batch_size_clamped),
          TEST_CASE(test_exporter_list), TEST_CASE(test_protocol),
          TEST_CASE(test_endpoint_resolution), TEST_CASE(test_otlp_traces_variables_win),
          TEST_CASE(test_otlp_general_variables), TEST_CASE(test_otlp_bad_values),
          TEST_CASE(test_otlp_bad_headers), TEST_CASE(test_zipkin_variables),
          TEST_CASE(test_zipkin_bad_values), TEST_CASE(test_propagators),
          TEST_CASE(test_http_traces_url), TEST_CASE(test_warnings_are_escaped_and_truncated),
          TEST_CASE(test_warnings_joined_by_newlines), TEST_CASE(test_free_is_safe_and_idempotent))
