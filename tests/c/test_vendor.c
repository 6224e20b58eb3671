/*
 * What the upstream chaostracing.oltp control's options turn on in the
 * library: the Google Cloud Trace header (parse, format, inject, extract),
 * X-Ray trace ids, otel_vendor / OTEL_VENDOR and its messages, the OTEL-only
 * setup of chaostracing.oltp (CTR_SETUP_OTEL_ONLY), and baggage members as
 * the root span's attributes take them (decoded).
 */
#include <strings.h>
#include <time.h>

#include "setup_build.h"

/* ---- an array-backed carrier: case-insensitive names, set replaces ------------- */

#define MAXH 16
struct hdrs {
    int n;
    char name[MAXH][64];
    char value[MAXH][128];
};

static const char *hdrs_get(void *ud, const char *name)
{
    struct hdrs *h = ud;
    for (int i = 0; i < h->n; i++)
        if (strcasecmp(h->name[i], name) == 0)
            return h->value[i];
    return NULL;
}

static void hdrs_set(void *ud, const char *name, const char *value)
{
    struct hdrs *h = ud;
    int i = 0;
    while (i < h->n && strcasecmp(h->name[i], name) != 0)
        i++;
    if (i == MAXH)
        abort();
    snprintf(h->name[i], sizeof h->name[i], "%s", name);
    snprintf(h->value[i], sizeof h->value[i], "%s", value);
    if (i == h->n)
        h->n++;
}

static const char T32[] = "4bf92f3577b34da6a3ce929d0e0e4736";

static struct ctr_span_context ctx_of(const char *tid, const char *sid, uint8_t flags)
{
    struct ctr_span_context c = {0};
    if (ctr_hex_decode(tid, 16, c.trace_id) || ctr_hex_decode(sid, 8, c.span_id))
        abort();
    c.trace_flags = flags;
    return c;
}

/* ---- X-Cloud-Trace-Context ------------------------------------------------------ */

static void test_cloudtrace_parse_valid(void)
{
    static const struct {
        const char *in, *tid, *sid;
        int flags;
    } rows[] = {
        {"4bf92f3577b34da6a3ce929d0e0e4736/1234567890;o=1", T32, "00000000499602d2", 1},
        {"4bf92f3577b34da6a3ce929d0e0e4736/1234567890;o=0", T32, "00000000499602d2", 0},
        /* No options: a context, not sampled (as Google's Go propagator reads it). */
        {"4bf92f3577b34da6a3ce929d0e0e4736/1", T32, "0000000000000001", 0},
        {"4BF92F3577B34DA6A3CE929D0E0E4736/1;o=1", T32, "0000000000000001", 1},
        {"  4bf92f3577b34da6a3ce929d0e0e4736/18446744073709551615;o=1 ", T32, "ffffffffffffffff",
         1},
        {"4bf92f3577b34da6a3ce929d0e0e4736/00000000000000000042;o=1", T32, "000000000000002a", 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct ctr_span_context c;
        char tid[33], sid[17];
        if (ctr_cloudtrace_parse(rows[i].in, strlen(rows[i].in), &c) != 0)
            TEST_FAIL_AT("refused valid X-Cloud-Trace-Context #%zu \"%s\"", i, rows[i].in);
        ctr_hex_encode(c.trace_id, 16, tid);
        ctr_hex_encode(c.span_id, 8, sid);
        ASSERT_STREQ(tid, rows[i].tid);
        ASSERT_STREQ(sid, rows[i].sid);
        ASSERT_EQ(c.trace_flags, rows[i].flags);
        ASSERT(c.is_remote);
    }
}

static void test_cloudtrace_parse_malformed(void)
{
    static const char *const bad[] = {
        "",
        "/",
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "4bf92f3577b34da6a3ce929d0e0e4736/",
        "4bf92f3577b34da6a3ce929d0e0e4736/;o=1",
        "4bf92f3577b34da6a3ce929d0e0e473/1;o=1",   /* 31 digits */
        "4bf92f3577b34da6a3ce929d0e0e47361/1;o=1", /* 33 digits */
        "4bf92f3577b34da6a3ce929d0e0e473g/1;o=1",
        "00000000000000000000000000000000/1;o=1",
        "4bf92f3577b34da6a3ce929d0e0e4736/0;o=1",
        "4bf92f3577b34da6a3ce929d0e0e4736/18446744073709551616;o=1", /* 2^64 */
        "4bf92f3577b34da6a3ce929d0e0e4736/123456789012345678901;o=1",
        "4bf92f3577b34da6a3ce929d0e0e4736/-1;o=1",
        "4bf92f3577b34da6a3ce929d0e0e4736/12a;o=1",
        "4bf92f3577b34da6a3ce929d0e0e4736/1;o=2",
        "4bf92f3577b34da6a3ce929d0e0e4736/1;o=",
        "4bf92f3577b34da6a3ce929d0e0e4736/1;o=11",
        "4bf92f3577b34da6a3ce929d0e0e4736/1;x=1",
        "4bf92f3577b34da6a3ce929d0e0e4736/1;",
        "4bf92f3577b34da6a3ce929d0e0e4736-1;o=1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ctr_span_context c = {{1}, {2}, 7, false, {0}};
        if (ctr_cloudtrace_parse(bad[i], strlen(bad[i]), &c) != CTR_EPARSE)
            TEST_FAIL_AT("accepted malformed X-Cloud-Trace-Context #%zu \"%s\"", i, bad[i]);
        ASSERT_EQ(c.trace_flags, 7);
    }
    ASSERT_EQ(ctr_cloudtrace_parse(NULL, 0, NULL), CTR_EPARSE);
}

static void test_cloudtrace_format(void)
{
    char out[64];
    struct ctr_span_context c = ctx_of(T32, "00000000499602d2", CTR_TRACE_FLAG_SAMPLED);
    ctr_cloudtrace_format(&c, out);
    ASSERT_STREQ(out, "4bf92f3577b34da6a3ce929d0e0e4736/1234567890;o=1");
    c = ctx_of(T32, "ffffffffffffffff", 0);
    ctr_cloudtrace_format(&c, out);
    ASSERT_STREQ(out, "4bf92f3577b34da6a3ce929d0e0e4736/18446744073709551615;o=0");
    struct ctr_span_context back;
    ASSERT_EQ(ctr_cloudtrace_parse(out, strlen(out), &back), 0);
    ASSERT_MEMEQ(back.trace_id, c.trace_id, 16);
    ASSERT_MEMEQ(back.span_id, c.span_id, 8);
    ASSERT_EQ(back.trace_flags, 0);
}

/* Injected beside the other formats; extracted after every other one. */
static void test_cloudtrace_inject_extract(void)
{
    struct hdrs h = {0};
    struct ctr_carrier c = {hdrs_get, hdrs_set, &h, NULL};
    struct ctr_propagation p;
    ctr_propagation_default(&p, CTR_PROP_TRACECONTEXT | CTR_PROP_CLOUDTRACE);
    struct ctr_span_context ctx = ctx_of(T32, "00000000499602d2", CTR_TRACE_FLAG_SAMPLED);
    ASSERT_EQ(ctr_propagation_inject(&p, &ctx, NULL, &c), 0);
    ASSERT_EQ(h.n, 2);
    ASSERT_STREQ(hdrs_get(&h, "x-cloud-trace-context"),
                 "4bf92f3577b34da6a3ce929d0e0e4736/1234567890;o=1");
    ASSERT_STREQ(hdrs_get(&h, "traceparent"),
                 "00-4bf92f3577b34da6a3ce929d0e0e4736-00000000499602d2-01");

    /* Alone, it is read. */
    struct hdrs only = {0};
    hdrs_set(&only, "X-Cloud-Trace-Context", "0af7651916cd43dd8448eb211c80319c/7;o=1");
    struct ctr_carrier oc = {hdrs_get, hdrs_set, &only, NULL};
    struct ctr_span_context got;
    char ts[64], bag[64];
    ASSERT_EQ(ctr_propagation_extract(&p, &oc, &got, ts, sizeof ts, bag, sizeof bag), 0);
    char tid[33];
    ctr_hex_encode(got.trace_id, 16, tid);
    ASSERT_STREQ(tid, "0af7651916cd43dd8448eb211c80319c");
    ASSERT_EQ(got.span_id[7], 7);
    /* traceparent wins when both are there. */
    hdrs_set(&only, "traceparent", "00-0af7651916cd43dd8448eb211c80319d-b7ad6b7169203331-01");
    ASSERT_EQ(ctr_propagation_extract(&p, &oc, &got, ts, sizeof ts, bag, sizeof bag), 0);
    ctr_hex_encode(got.trace_id, 16, tid);
    ASSERT_STREQ(tid, "0af7651916cd43dd8448eb211c80319d");
    /* Not configured: not read. */
    struct hdrs gcp = {0};
    hdrs_set(&gcp, "X-Cloud-Trace-Context", "0af7651916cd43dd8448eb211c80319c/7;o=1");
    struct ctr_carrier gc = {hdrs_get, hdrs_set, &gcp, NULL};
    ctr_propagation_default(&p, CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE);
    ASSERT_EQ(ctr_propagation_extract(&p, &gc, &got, ts, sizeof ts, bag, sizeof bag), CTR_EPARSE);
}

/* ---- X-Ray trace ids -------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_xray_trace_ids(void)
{
    uint8_t a[16], b[16];
    ctr_new_xray_trace_id(1700000000123456789ull, a);
    ctr_new_xray_trace_id(1700000000123456789ull, b);
    ASSERT_UEQ(be32(a), 1700000000u);
    ASSERT_UEQ(be32(b), 1700000000u);
    ASSERT(memcmp(a + 4, b + 4, 12) != 0); /* the rest is random */
    ctr_new_xray_trace_id(0, a);
    uint8_t any = 0;
    for (int i = 0; i < 16; i++)
        any |= a[i];
    ASSERT(any != 0);

    /* A tracer told so gives root spans such ids, with the span's start;
     * children keep their parent's. */
    struct ctr_config cfg;
    ASSERT_EQ(ctr_config_from_env(&cfg, table_get, NULL), 0);
    cfg.ids = CTR_IDS_XRAY;
    struct ctr_tracer *t;
    ASSERT_EQ(ctr_tracer_new(&cfg, NULL, false, &t), 0);
    ctr_config_free(&cfg);
    uint64_t before = ctr_now_ns() / 1000000000u;
    struct ctr_span *root = ctr_tracer_start_span(t, "r", 1, NULL, CTR_KIND_INTERNAL, 0);
    struct ctr_span *old =
        ctr_tracer_start_span(t, "o", 1, NULL, CTR_KIND_INTERNAL, 1600000000000000000ull);
    uint64_t after = ctr_now_ns() / 1000000000u;
    struct ctr_span_context rc, oc, cc;
    ctr_span_get_context(root, &rc);
    ctr_span_get_context(old, &oc);
    struct ctr_span *child = ctr_tracer_start_span(t, "c", 1, &rc, CTR_KIND_INTERNAL, 0);
    ctr_span_get_context(child, &cc);
    ctr_span_end(child, 0);
    ctr_span_end(old, 0);
    ctr_span_end(root, 0);
    ctr_tracer_free(t);
    ASSERT(be32(rc.trace_id) >= before && be32(rc.trace_id) <= after);
    ASSERT_UEQ(be32(oc.trace_id), 1600000000u);
    ASSERT_MEMEQ(cc.trace_id, rc.trace_id, 16);
}

/* ---- otel_vendor ------------------------------------------------------------------ */

#define NONE_EXPORTER                                                                              \
    {                                                                                              \
        ARG, "exporter", "none"                                                                    \
    }
#define VALID "aws, gcp, azure"

static void test_vendor_setting(void)
{
    static const struct {
        const char *conf, *env; /* otel_vendor, OTEL_VENDOR */
        unsigned formats;
        ctr_id_generator ids;
        int level; /* of the one problem */
        const char *said;
    } rows[] = {
        {NULL, NULL, W3C, CTR_IDS_RANDOM, -1, NULL},
        {NULL, "", W3C, CTR_IDS_RANDOM, -1, NULL},
        {"aws", NULL, W3C | CTR_PROP_XRAY, CTR_IDS_XRAY, CTR_LOG_INFO,
         "otel_vendor is aws: trace ids are X-Ray's"},
        {NULL, "AWS", W3C | CTR_PROP_XRAY, CTR_IDS_XRAY, CTR_LOG_INFO,
         "OTEL_VENDOR is aws: trace ids are X-Ray's"},
        {"gcp", "aws", W3C | CTR_PROP_CLOUDTRACE, CTR_IDS_RANDOM, CTR_LOG_INFO,
         "otel_vendor is gcp: HTTP activities get X-Cloud-Trace-Context; spans are sent by OTLP: "
         "export them to Google Cloud Trace through an OpenTelemetry Collector with Google "
         "Cloud's exporter (googlecloud)"},
        {NULL, "azure", W3C, CTR_IDS_RANDOM, CTR_LOG_INFO,
         "OTEL_VENDOR is azure: HTTP activities get W3C traceparent; spans are sent by OTLP: "
         "export them to Azure Monitor through an OpenTelemetry Collector with the Azure Monitor "
         "exporter (azuremonitor)"},
        {"gcq", NULL, W3C, CTR_IDS_RANDOM, CTR_LOG_WARNING,
         "otel_vendor=gcq is not one of " VALID
         "; did you mean \"gcp\"?; no vendor's conventions are applied"},
        {NULL, "digitalocean", W3C, CTR_IDS_RANDOM, CTR_LOG_WARNING,
         "OTEL_VENDOR=digitalocean is not one of " VALID "; no vendor's conventions are applied"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct put p[3] = {NONE_EXPORTER};
        if (rows[i].conf)
            p[1] = (struct put){CONF, "otel_vendor", rows[i].conf};
        struct ctr_setup *st = build(settings_of(OTEL, p), 0, ENV({"OTEL_VENDOR", rows[i].env}));
        ctr_id_generator ids = st->cfg.ids;
        struct outcome o;
        outcome_of(st, &o);
        if (!o.enabled || o.failed || o.prop.formats != rows[i].formats || ids != rows[i].ids ||
            o.n != (rows[i].said != NULL) ||
            (o.n && (o.fatal || o.level != rows[i].level ||
                     strncmp(o.first, rows[i].said, strlen(rows[i].said)) != 0)))
            TEST_FAIL_AT("row %zu: formats %#x (want %#x), ids %d, problems:\n%s", i,
                         o.prop.formats, rows[i].formats, (int)ids, o.all);
    }
    /* Not a string: the same warning, with the value shown; tracing stays on. */
    struct ctr_settings *s = settings_of(OTEL, PUTS(NONE_EXPORTER));
    struct ctr_setting_value three = {.type = CTR_SV_INT, .i = 3};
    ASSERT_EQ(ctr_settings_put(s, CONF, "otel_vendor", 11, &three), 0);
    struct outcome o;
    outcome_of(build(s, 0, NULL), &o);
    ASSERT(o.enabled && !o.failed && o.n == 1);
    ASSERT_STREQ(o.first, "otel_vendor=3 is not one of " VALID "; no vendor's conventions are "
                          "applied");
    /* The vendor adds to an explicit propagator list. */
    run(&o, 0, ENV({"OTEL_PROPAGATORS", "b3"}, {"OTEL_VENDOR", "gcp"}), OTEL, PUTS(NONE_EXPORTER));
    ASSERT_UEQ(o.prop.formats, CTR_PROP_B3 | CTR_PROP_CLOUDTRACE);
}

/* Upstream's GCP keys are known (no "unknown key" warning) and named as not
 * used when the vendor is gcp; a typo of otel_vendor gets the closest name. */
static void test_vendor_keys(void)
{
    struct outcome o;
    run(&o, 0, NULL, OTEL,
        PUTS(NONE_EXPORTER, {CONF, "otel_vendor", "gcp"},
             {CONF, "otel_gcp_service_account", "/secret/sa.json"},
             {CONF, "otel_gcp_project_id", "my-project"}));
    ASSERT(o.enabled && o.n == 1);
    ASSERT(strstr(o.first, "; otel_gcp_service_account and otel_gcp_project_id are not used"));
    ASSERT(!strstr(o.all, "/secret/sa.json"));
    run(&o, 0, NULL, OTEL,
        PUTS(NONE_EXPORTER, {CONF, "otel_vendor", "gcp"}, {CONF, "otel_gcp_project_id", "p"}));
    ASSERT(strstr(o.first, "; otel_gcp_project_id is not used"));
    run(&o, 0, NULL, OTEL,
        PUTS(NONE_EXPORTER, {CONF, "otel_gcp_service_account", "x"},
             {CONF, "otel_gcp_project_id", "p"}));
    ASSERT(works(&o, "nowhere", 0));
    run(&o, 0, NULL, OTEL, PUTS(NONE_EXPORTER, {CONF, "otel_vendr", "aws"}));
    ASSERT_EQ(o.n, 1);
    ASSERT_STREQ(o.first,
                 "unknown configuration key \"otel_vendr\" ignored; did you mean \"otel_vendor\"?");
    ASSERT(ctr_settings_is_config_key("otel_vendor", 11));
    ASSERT(ctr_settings_is_config_key("otel_gcp_project_id", 19));
    ASSERT(!ctr_settings_is_config_key("otel_", 5));
    ASSERT(!ctr_settings_is_config_key("OTEL_VENDOR", 11));
}

/* ---- CTR_SETUP_OTEL_ONLY ------------------------------------------------------------ */

static void test_otel_only(void)
{
    struct outcome o;
    /* Nothing written: on, OTLP/HTTP to the default endpoint, no "provider
     * not set" message. */
    run(&o, CTR_SETUP_OTEL_ONLY, NULL, NULL, NULL);
    ASSERT(works(&o, HTTP_DEFAULT, 0));
    run(&o, CTR_SETUP_OTEL_ONLY,
        ENV({"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"},
            {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}),
        NULL, NULL);
    ASSERT(works(&o, "http://127.0.0.1:9/v1/traces", 1));
    run(&o, CTR_SETUP_OTEL_ONLY, ENV({"OTEL_TRACES_EXPORTER", "console"}), NULL, NULL);
    ASSERT(works(&o, "stderr", 2));
    /* The experiment's tracing_* keys are not read: one INFO names them. */
    run(&o, CTR_SETUP_OTEL_ONLY, NULL,
        PUTS({CONF, "tracing_provider", "noop"}, {CONF, "tracing_opentelemetry_exporter", "file"},
             {CONF, "baggage_prefix", "x-"}, {CONF, "otel_vendor", "aws"}),
        NULL);
    ASSERT(o.enabled && !o.failed);
    ASSERT_STREQ(o.dest, HTTP_DEFAULT);
    ASSERT_EQ(o.n, 2);
    ASSERT_EQ(o.level, CTR_LOG_INFO);
    ASSERT_STREQ(o.first,
                 "configured by OTEL_* variables only: the experiment's configuration keys "
                 "tracing_provider, tracing_opentelemetry_exporter, baggage_prefix are "
                 "not read");
    ASSERT(strstr(o.all, "\notel_vendor is aws: "));
    ASSERT_UEQ(o.prop.formats, W3C | CTR_PROP_XRAY);
    /* OTEL_SDK_DISABLED still turns it off; arguments are read as ever. */
    run(&o, CTR_SETUP_OTEL_ONLY, ENV({"OTEL_SDK_DISABLED", "true"}), NULL, NULL);
    ASSERT(!o.enabled && !o.failed && o.n == 1);
    ASSERT_STREQ(o.first, "OTEL_SDK_DISABLED is true: no spans are recorded");
    run(&o, CTR_SETUP_OTEL_ONLY, NULL, PUTS({ARG, "exporter", "none"}), NULL);
    ASSERT(works(&o, "nowhere", 3));
    run(&o, CTR_SETUP_OTEL_ONLY, NULL, PUTS({ARG, "exportr", "none"}), NULL);
    ASSERT_EQ(o.n, 1);
    ASSERT_STREQ(o.first,
                 "unknown control argument \"exportr\" ignored; did you mean \"exporter\"?");
    /* Without the flag the same keys are read. */
    run(&o, 0, NULL, PUTS({CONF, "tracing_provider", "noop"}), NULL);
    ASSERT(!o.enabled);
}

/* ---- baggage members, decoded ------------------------------------------------------ */

struct members {
    int n;
    char text[512];
};

static void add_member(void *arg, const char *k, size_t kn, const char *v, size_t vn)
{
    struct members *m = arg;
    size_t used = strlen(m->text);
    snprintf(m->text + used, sizeof m->text - used, "[%.*s]=[%.*s]", (int)kn, k, (int)vn, v);
    m->n++;
}

static void test_baggage_each(void)
{
    static const struct {
        const char *in;
        int n;
        const char *want;
    } rows[] = {
        {"", 0, ""},
        {"team=chaos", 1, "[team]=[chaos]"},
        {" team = chaos , run=42;prop=1;flag ", 2, "[team]=[chaos][run]=[42]"},
        {"user=J%C3%B6rg%20M,empty=", 2, "[user]=[J\xc3\xb6rg M][empty]=[]"},
        {"bad key=1,ok=2,=3,noval,x=%zz,y=%41", 2, "[ok]=[2][y]=[A]"},
        {"nul=a%00b,after=1", 1, "[after]=[1]"},
        {",,a=1,", 1, "[a]=[1]"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct members m = {0};
        int n = ctr_baggage_each(rows[i].in, strlen(rows[i].in), add_member, &m);
        if (n != rows[i].n || m.n != n || strcmp(m.text, rows[i].want) != 0)
            TEST_FAIL_AT("row %zu: %d members \"%s\", want %d \"%s\"", i, n, m.text, rows[i].n,
                         rows[i].want);
    }
    struct members m = {0};
    ASSERT_EQ(ctr_baggage_each(NULL, 0, add_member, &m), 0);
}

TEST_MAIN(TEST_CASE(test_cloudtrace_parse_valid), TEST_CASE(test_cloudtrace_parse_malformed),
          TEST_CASE(test_cloudtrace_format), TEST_CASE(test_cloudtrace_inject_extract),
          TEST_CASE(test_xray_trace_ids), TEST_CASE(test_vendor_setting),
          TEST_CASE(test_vendor_keys), TEST_CASE(test_otel_only), TEST_CASE(test_baggage_each))
