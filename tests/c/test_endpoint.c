/*
 * Endpoints as users write them (src/core/endpoint.c: the parser, the error
 * message, URL redaction) and the name tables with the closest-match helper
 * behind every "did you mean" (src/core/names.c).
 */
#include <chaostracing/endpoint.h>

#include <stdbool.h>

#include "core/names.h"
#include "test.h"

/* ---- ctr_endpoint_parse ------------------------------------------------------- */

static void test_endpoint_accepted_forms(void)
{
    static const struct {
        const char *in, *scheme, *host;
        bool ipv6;
        unsigned port;
        bool userinfo;
        const char *rest;
    } ok[] = {
        {"http://localhost:4318", "http", "localhost", false, 4318, false, ""},
        {"HTTPS://Collector.example.com/v1/traces?x=1#top", "https", "Collector.example.com", false,
         0, false, "/v1/traces?x=1#top"},
        {"Http://h:4318/", "http", "h", false, 4318, false, "/"},
        {"http://h?q=a@b", "http", "h", false, 0, false, "?q=a@b"},
        {"http://h#frag", "http", "h", false, 0, false, "#frag"},
        {"http://h/p@x", "http", "h", false, 0, false, "/p@x"},
        {"https://user:pw@h:443/p", "https", "h", false, 443, true, "/p"},
        {"http://token@h", "http", "h", false, 0, true, ""},
        /* The userinfo ends at the last '@' of the authority. */
        {"http://u:p@ss@h:1", "http", "h", false, 1, true, ""},
        {"localhost:4317", "", "localhost", false, 4317, false, ""},
        {"collector", "", "collector", false, 0, false, ""},
        {"10.0.0.1:14250", "", "10.0.0.1", false, 14250, false, ""},
        {"[::1]:4317", "", "::1", true, 4317, false, ""},
        {"[::1]", "", "::1", true, 0, false, ""},
        {"http://[2001:db8::1]:4318/x", "http", "2001:db8::1", true, 4318, false, "/x"},
        {"https://[fe80::1%25eth0]", "https", "fe80::1%25eth0", true, 0, false, ""},
        {"user:pw@h:4317", "", "h", false, 4317, true, ""},
        {"h:1", "", "h", false, 1, false, ""},
        {"h:65535", "", "h", false, 65535, false, ""},
        {"h:004317", "", "h", false, 4317, false, ""},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct ctr_endpoint e;
        char why[160] = "untouched";
        int rc = ctr_endpoint_parse(ok[i].in, &e, why, sizeof why);
        if (rc != 0)
            TEST_FAIL_AT("\"%s\" refused: %s", ok[i].in, why);
        ASSERT_STREQ(e.scheme, ok[i].scheme);
        ASSERT_STREQ(e.host, ok[i].host);
        ASSERT_EQ(e.ipv6, ok[i].ipv6);
        ASSERT_EQ(e.port, ok[i].port);
        ASSERT_EQ(e.has_userinfo, ok[i].userinfo);
        ASSERT_STREQ(e.rest, ok[i].rest);
        ASSERT_STREQ(why, "untouched"); /* no reason written on success */
    }
    /* `rest` points into the input. */
    const char *in = "http://h:1/path";
    struct ctr_endpoint e;
    ASSERT_EQ(ctr_endpoint_parse(in, &e, NULL, 0), 0);
    ASSERT(e.rest == in + 10);
}

static void test_endpoint_rejected_forms(void)
{
    char long_host[300];
    memset(long_host, 'a', 256);
    memcpy(long_host + 256, ":1", 3);
    static const struct {
        const char *in, *why;
    } bad[] = {
        {"", "the endpoint is empty"},
        {"http://h :1", "the endpoint contains blanks or control characters"},
        {"http://h/\x7f", "the endpoint contains blanks or control characters"},
        {"h:4317\n", "the endpoint contains blanks or control characters"},
        {"ftp://h/x", "scheme \"ftp\" is not http or https"},
        {"://h", "scheme \"\" is not http or https"},
        {"grpc://h:4317", "scheme \"grpc\" is not http or https"},
        {"http://", "the host is missing"},
        {"http://:4318", "the host is missing"},
        {"http:///v1/traces", "the host is missing"},
        {"https://user:pw@", "the host is missing"},
        {":4317", "the host is missing"},
        {"h:99999", "port 99999 is outside 1-65535"},
        {"h:0", "port 0 is outside 1-65535"},
        {"h:123456789012345678901234", "port 123456789012345678901234 is outside 1-65535"},
        {"http://[::1]:70000", "port 70000 is outside 1-65535"},
        {"h:", "the port after ':' is missing"},
        {"h:68x31", "port \"68x31\" is not a number"},
        {"h:-1", "port \"-1\" is not a number"},
        {"h:4317:1", "port \"4317:1\" is not a number"},
        {"h:4317/v1", "it has a path but no scheme (write http:// or https:// before it)"},
        {"h?x=1", "it has a path but no scheme (write http:// or https:// before it)"},
        {"http:/h", "it has a path but no scheme (write http:// or https:// before it)"},
        {"[::1", "\"[::1\" has a bad IPv6 address"},
        {"[]:1", "\"[]:1\" has a bad IPv6 address"},
        {"[::1]x", "\"[::1]x\" has text after the IPv6 address"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ctr_endpoint e;
        char why[160] = "";
        ASSERT_EQ(ctr_endpoint_parse(bad[i].in, &e, why, sizeof why), CTR_EPARSE);
        ASSERT_STREQ(why, bad[i].why);
    }
    struct ctr_endpoint e;
    char why[160];
    ASSERT_EQ(ctr_endpoint_parse(NULL, &e, why, sizeof why), CTR_EPARSE);
    ASSERT_STREQ(why, "the endpoint is empty");
    ASSERT_EQ(ctr_endpoint_parse(long_host, &e, why, sizeof why), CTR_EPARSE);
    ASSERT_STREQ(why, "the host name is longer than 255 characters");
    memcpy(long_host + 255, ":1", 3); /* exactly 255 characters is fine */
    ASSERT_EQ(ctr_endpoint_parse(long_host, &e, NULL, 0), 0);
    ASSERT_EQ(strlen(e.host), 255);
    /* A short reason buffer is cut, still NUL-terminated. */
    char tiny[8];
    ASSERT_EQ(ctr_endpoint_parse("h:99999", &e, tiny, sizeof tiny), CTR_EPARSE);
    ASSERT_STREQ(tiny, "port 99");
}

/* A refused endpoint's reason never repeats the credentials it held. */
static void test_endpoint_reasons_hold_no_password(void)
{
    static const char *const bad[] = {
        "https://user:s3cr3t@",   "user:s3cr3t@h:4317/v1", "http://u:s3cr3t@h:x1",
        "http://u:s:3cr3t@h:x1",  "u:s3cr3t@h:99999",      "https://u:s3cr3t@[::1",
        "http://u:s3cr3t@[::1]x", "u:s3cr3t@:1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ctr_endpoint e;
        char why[160] = "", msg[512];
        ASSERT_EQ(ctr_endpoint_parse(bad[i], &e, why, sizeof why), CTR_EPARSE);
        ctr_endpoint_error(msg, sizeof msg, "OTLP/HTTP", bad[i], "an http:// or https:// URL", why);
        if (strstr(msg, "3cr3t"))
            TEST_FAIL_AT("\"%s\": %s", bad[i], msg);
    }
}

static void test_endpoint_error_message(void)
{
    char msg[256];
    ctr_endpoint_error(msg, sizeof msg, "OTLP/gRPC", "http://u:p@h:4317", "host:port",
                       "user:password@ is not allowed here");
    ASSERT_STREQ(msg, "OTLP/gRPC endpoint \"http://REDACTED:REDACTED@h:4317\" is not host:port: "
                      "user:password@ is not allowed here");
    ctr_endpoint_error(msg, sizeof msg, "Zipkin", NULL, "a URL", "the endpoint is empty");
    ASSERT_STREQ(msg, "Zipkin endpoint \"\" is not a URL: the endpoint is empty");
    char tiny[12];
    ctr_endpoint_error(tiny, sizeof tiny, "Zipkin", "h", "a URL", "why");
    ASSERT_STREQ(tiny, "Zipkin endp");
    ctr_endpoint_error(NULL, 0, "Zipkin", "h", "a URL", "why"); /* no buffer: nothing */
}

/* ---- ctr_url_redact ------------------------------------------------------------- */

static void test_url_redact(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"http://user:pw@h:1/p", "http://REDACTED:REDACTED@h:1/p"},
        {"https://token@h", "https://REDACTED:REDACTED@h"},
        {"HTTP://u:p@[::1]:4318/v1/traces?q=1",
         "HTTP://REDACTED:REDACTED@[::1]:4318/v1/traces?q=1"},
        {"http://u:p@ss@h/x", "http://REDACTED:REDACTED@h/x"},
        {"http://h/p@x", "http://h/p@x"},
        {"http://h?q=a@b", "http://h?q=a@b"},
        {"http://h#a@b", "http://h#a@b"},
        {"http://h/p?r=http://u:p@x", "http://h/p?r=http://u:p@x"},
        {"https://h:4318/v1/traces", "https://h:4318/v1/traces"},
        {"ftp://u:p@h/f", "ftp://REDACTED:REDACTED@h/f"},
        /* Bare endpoints: the same rule up to the first '/', '?' or '#'. */
        {"user:pw@h:4317", "REDACTED:REDACTED@h:4317"},
        {"h:4317", "h:4317"},
        {"/tmp/a@b.jsonl", "/tmp/a@b.jsonl"},
        {"not a url", "not a url"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ctr_buf b = {0};
        ctr_buf_puts(&b, "> "); /* appended, not overwritten */
        ctr_url_redact(&b, cases[i].in, strlen(cases[i].in));
        ctr_buf_putc(&b, 0);
        char got[128] = "(out of memory)";
        if (!b.err)
            snprintf(got, sizeof got, "%s", (const char *)b.data);
        ctr_buf_free(&b);
        ASSERT_MEMEQ(got, "> ", 2);
        ASSERT_STREQ(got + 2, cases[i].out);
    }
    /* Only `len` bytes are read. */
    struct ctr_buf b = {0};
    ctr_url_redact(&b, "http://u:p@h/xyz", 13);
    ctr_url_redact(&b, "|http://h@x", 9);
    ctr_buf_putc(&b, 0);
    char got[128] = "(out of memory)";
    if (!b.err)
        snprintf(got, sizeof got, "%s", (const char *)b.data);
    ctr_buf_free(&b);
    ASSERT_STREQ(got, "http://REDACTED:REDACTED@h/|http://h");
}

/* ---- ctr__closest --------------------------------------------------------------- */

static void test_closest_finds_typos(void)
{
    static const char *const names[] = {"provider", "exporter", "collector_endpoint", "port",
                                        "tracing_opentelemetry_exporter"};
    static const struct {
        const char *word, *want; /* want NULL: no suggestion */
    } cases[] = {
        {"exportr", "exporter"},   /* one deletion */
        {"exporterr", "exporter"}, /* one insertion */
        {"exporten", "exporter"},  /* one substitution */
        {"exproter", "exporter"},  /* a swap of neighbours */
        {"xeporter", "exporter"},  /* a swap at the start */
        {"expotr", "exporter"},    /* two edits, the floor of 2 */
        {"EXPORTR", "exporter"},   /* case is ignored */
        {"Exporter", "exporter"},  /* only the case differs */
        {"exporter", NULL},        /* the name itself is no suggestion */
        {"collector_endpiont", "collector_endpoint"},
        {"collectorendpoint", "collector_endpoint"},
        {"tracing_opentelemetry_exportr", "tracing_opentelemetry_exporter"},
        {"prot", "port"},
        {"collector", "collector_endpoint"}, /* written in part */
        {"endpoint", "collector_endpoint"},  /* only its last part */
        {"ENDPOINT", "collector_endpoint"},
        {"ndpoint", NULL}, /* not a whole part */
        {"tracing_opentelemetry", "tracing_opentelemetry_exporter"},
        {"zz", NULL},
        {"banana", NULL},
        {"x", NULL},
        {"tracing_provider_of_other_things", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = ctr__closest(cases[i].word, strlen(cases[i].word), names, 5);
        if (got != cases[i].want && !(got && cases[i].want && strcmp(got, cases[i].want) == 0))
            TEST_FAIL_AT("\"%s\": got %s, want %s", cases[i].word, got ? got : "NULL",
                         cases[i].want ? cases[i].want : "NULL");
    }
    /* Only `len` bytes of the word count. */
    ASSERT_STREQ(ctr__closest("exportrXYZ", 7, names, 5), "exporter");
    /* A last part two names end with suggests neither. */
    static const char *const two[] = {"collector_endpoint", "agent_endpoint"};
    ASSERT(ctr__closest("endpoint", 8, two, 2) == NULL);
}

static void test_closest_bounds(void)
{
    static const char *const twelve[] = {"abcdefghijkl"};
    /* A third of the length: 4 edits of a 12-letter word, not 5. */
    ASSERT_STREQ(ctr__closest("abcdefghWXYZ", 12, twelve, 1), "abcdefghijkl");
    ASSERT(ctr__closest("abcdefgVWXYZ", 12, twelve, 1) == NULL);
    /* At least 2 for short words, and ties go to the first candidate. */
    static const char *const b3[] = {"b3", "b4", "b3multi"};
    ASSERT_STREQ(ctr__closest("b5", 2, b3, 3), "b3");
    ASSERT(ctr__closest("xyz", 3, b3, 1) == NULL);
    /* Words and candidates longer than 64 characters are never compared. */
    char w65[66], c65[66], w64[65];
    memset(w65, 'a', 65);
    w65[65] = '\0';
    memcpy(c65, w65, sizeof c65);
    c65[64] = 'b';
    memset(w64, 'a', 64);
    w64[64] = '\0';
    const char *const long_names[] = {c65};
    ASSERT(ctr__closest(w65, 65, long_names, 1) == NULL);
    ASSERT(ctr__closest(w64, 64, long_names, 1) == NULL);
    const char *const short_names[] = {w64};
    ASSERT(ctr__closest(w65, 65, short_names, 1) == NULL);
    ASSERT(ctr__closest(w64, 63, short_names, 1) == w64); /* 64 is still compared */
    /* Nothing to compare. */
    ASSERT(ctr__closest(NULL, 3, b3, 3) == NULL);
    ASSERT(ctr__closest("b3", 0, b3, 3) == NULL);
    ASSERT(ctr__closest("b5", 2, b3, 0) == NULL);
}

/* ---- the name tables ------------------------------------------------------------ */

static void test_name_tables(void)
{
    char list[512];
    ctr__exporter_names(CTR__IN_SETTING, list, sizeof list);
    ASSERT_STREQ(list, "otlp-http (also oltp-http), otlp-json (also otlp-http-json), otlp-grpc "
                       "(also oltp-grpc), otlp, jaeger-thrift, jaeger-grpc, zipkin, file, "
                       "console, none");
    ctr__exporter_names(CTR__IN_ENV, list, sizeof list);
    ASSERT_STREQ(list, "otlp, zipkin, file, console, none");
    ctr__propagator_names(CTR__IN_SETTING, list, sizeof list);
    ASSERT_STREQ(list, "tracecontext, w3c, baggage, b3, b3multi, b3single, b3-single, jaeger, "
                       "xray, none");
    ctr__propagator_names(CTR__IN_ENV, list, sizeof list);
    ASSERT_STREQ(list, "tracecontext, baggage, b3, b3multi, jaeger, xray, none");
    char tiny[10];
    ctr__exporter_names(CTR__IN_ENV, tiny, sizeof tiny);
    ASSERT_STREQ(tiny, "otlp, zip");

    const struct ctr__exporter_name *x = ctr__exporter_lookup("OLTP-GRPC", 9, CTR__IN_SETTING);
    ASSERT(x && x->kind == CTR_EXPORTER_OTLP_GRPC);
    ASSERT_STREQ(x->canonical, "otlp-grpc");
    ASSERT(ctr__exporter_lookup("otlp-http", 9, CTR__IN_ENV) == NULL);
    ASSERT(ctr__exporter_lookup("otlp-httpX", 9, CTR__IN_SETTING) != NULL);
    ASSERT(ctr__exporter_lookup("otlp-htt", 8, CTR__IN_SETTING) == NULL);
    const struct ctr__propagator_name *p = ctr__propagator_lookup("B3", 2, CTR__IN_ENV);
    ASSERT(p && p->env_bits == CTR_PROP_B3 && p->setting_bits == CTR_PROP_B3MULTI);
    ASSERT(ctr__propagator_lookup("w3c", 3, CTR__IN_ENV) == NULL);
    /* Suggestions name what an alias stands for. */
    ASSERT_STREQ(ctr__exporter_closest("oltp-grcp", 9, CTR__IN_SETTING), "otlp-grpc");
    ASSERT_STREQ(ctr__exporter_closest("zipkn", 5, CTR__IN_ENV), "zipkin");
    ASSERT(ctr__exporter_closest("jaeger-thrif", 12, CTR__IN_ENV) == NULL);
    ASSERT_STREQ(ctr__propagator_closest("tracecontex", 11, CTR__IN_ENV), "tracecontext");
    ASSERT(ctr__propagator_closest("b3singel", 8, CTR__IN_ENV) == NULL);
    ASSERT_STREQ(ctr__propagator_closest("b3singel", 8, CTR__IN_SETTING), "b3single");
}

TEST_MAIN(TEST_CASE(test_endpoint_accepted_forms), TEST_CASE(test_endpoint_rejected_forms),
          TEST_CASE(test_endpoint_reasons_hold_no_password), TEST_CASE(test_endpoint_error_message),
          TEST_CASE(test_url_redact), TEST_CASE(test_closest_finds_typos),
          TEST_CASE(test_closest_bounds), TEST_CASE(test_name_tables))
