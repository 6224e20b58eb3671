/*
 * B3 (single and multi), Jaeger and AWS X-Ray propagation: parse/format on
 * valid and malformed tables, then inject/extract through an array-backed
 * carrier: precedence between formats, baggage merging and limits, custom
 * Jaeger header names.
 */
#include <chaostracing/chaostracing.h>

#include <strings.h>

#include "test.h"

/* Declared in src/propagate/propagation.c until struct ctr_carrier can list
 * its entries (see that file). */
typedef void (*ctr__carrier_pair_fn)(void *arg, const char *name, const char *value);
typedef void (*ctr__carrier_each_fn)(void *ud, ctr__carrier_pair_fn fn, void *arg);
int ctr__propagation_extract_each(const struct ctr_propagation *p, const struct ctr_carrier *c,
                                  ctr__carrier_each_fn each, struct ctr_span_context *out,
                                  char *ts_buf, size_t ts_size, char *bag_buf, size_t bag_size);

/* ---- an array-backed carrier: case-insensitive names, set replaces ------ */

#define MAXH 64
struct hdrs {
    int n;
    int sets; /* calls to set */
    char name[MAXH][128];
    char *value[MAXH];
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
    h->sets++;
    for (int i = 0; i < h->n; i++)
        if (strcasecmp(h->name[i], name) == 0) {
            free(h->value[i]);
            h->value[i] = strdup(value);
            return;
        }
    if (h->n == MAXH || strlen(name) >= sizeof h->name[0])
        abort();
    snprintf(h->name[h->n], sizeof h->name[0], "%s", name);
    h->value[h->n++] = strdup(value);
}

static void hdrs_each(void *ud, ctr__carrier_pair_fn fn, void *arg)
{
    struct hdrs *h = ud;
    for (int i = 0; i < h->n; i++)
        fn(arg, h->name[i], h->value[i]);
}

static void hdrs_free(struct hdrs *h)
{
    for (int i = 0; i < h->n; i++)
        free(h->value[i]);
    h->n = 0;
}

static struct ctr_carrier carrier(struct hdrs *h)
{
    struct ctr_carrier c = {hdrs_get, hdrs_set, h};
    return c;
}

/* Extract with Jaeger baggage listing; buffers are the caller's. */
static int extract(unsigned formats, struct hdrs *h, struct ctr_span_context *ctx, char *ts,
                   size_t ts_size, char *bag, size_t bag_size)
{
    struct ctr_propagation p;
    ctr_propagation_default(&p, formats);
    struct ctr_carrier c = carrier(h);
    return ctr__propagation_extract_each(&p, &c, hdrs_each, ctx, ts, ts_size, bag, bag_size);
}

static void ids_hex(const struct ctr_span_context *ctx, char tid[33], char sid[17])
{
    ctr_hex_encode(ctx->trace_id, CTR_TRACE_ID_LEN, tid);
    ctr_hex_encode(ctx->span_id, CTR_SPAN_ID_LEN, sid);
}

#define ALL_FORMATS                                                                                \
    (CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE | CTR_PROP_B3 | CTR_PROP_B3MULTI | CTR_PROP_JAEGER | \
     CTR_PROP_XRAY)

static const char T32[] = "80f198ee56343ba864fe8b2a57d3eff7";
static const char S16[] = "e457b5a2e4d86bd1";

static struct ctr_span_context sample_ctx(uint8_t flags)
{
    struct ctr_span_context ctx = {0};
    ctr_hex_decode(T32, 16, ctx.trace_id);
    ctr_hex_decode(S16, 8, ctx.span_id);
    ctx.trace_flags = flags;
    return ctx;
}

/* A parse case: input, expected trace id, span id and flags. */
struct valid_case {
    const char *in;
    const char *tid;
    const char *sid;
    int flags;
};

/* ---- B3 single ---------------------------------------------------------- */

static void test_b3_parse_valid(void)
{
    static const struct valid_case cases[] = {
        {"80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1", T32, S16, 1},
        {"80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0", T32, S16, 0},
        {"80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d", T32, S16, 1}, /* debug */
        {"80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1", T32, S16, 0},   /* defer */
        {"80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90", T32, S16, 1},
        {"64fe8b2a57d3eff7-e457b5a2e4d86bd1-1", "000000000000000064fe8b2a57d3eff7", S16, 1},
        {" \t80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1 ", T32, S16, 1},
        {"80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0-0000000000000000", T32, S16, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ctr_span_context ctx;
        char tid[33], sid[17];
        if (ctr_b3_parse(cases[i].in, strlen(cases[i].in), &ctx) != 0)
            TEST_FAIL_AT("refused valid b3 #%zu \"%s\"", i, cases[i].in);
        ids_hex(&ctx, tid, sid);
        ASSERT_STREQ(tid, cases[i].tid);
        ASSERT_STREQ(sid, cases[i].sid);
        ASSERT_EQ(ctx.trace_flags, cases[i].flags);
        ASSERT(ctx.is_remote);
        ASSERT(ctx.trace_state.ptr == NULL && ctx.trace_state.len == 0);
    }
}

static void test_b3_parse_malformed(void)
{
    static const char *const bad[] = {
        "",
        "0",
        "1",
        "d", /* a sampling decision without ids */
        "80f198ee56343ba864fe8b2a57d3eff7",
        "80f198ee56343ba864fe8b2a57d3eff7-",
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-",
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-",
        "80F198EE56343BA864FE8B2A57D3EFF7-e457b5a2e4d86bd1-1", /* upper case */
        "80f198ee56343ba864fe8b2a57d3eff7-E457B5A2E4D86BD1-1",
        "80f198ee56343ba864fe8b2a57d3eff-e457b5a2e4d86bd1-1",   /* 31 */
        "80f198ee56343ba864fe8b2a57d3eff7a-e457b5a2e4d86bd1-1", /* 33 */
        "80f198ee56343ba8-64fe8b2a57d3eff7-e457b5a2e4d86bd1-1", /* extra field */
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd-1",   /* 15-hex span */
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-2",  /* bad state */
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-true",
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b9", /* short parent */
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90-1",
        "00000000000000000000000000000000-e457b5a2e4d86bd1-1", /* zero trace */
        "0000000000000000-e457b5a2e4d86bd1-1",
        "80f198ee56343ba864fe8b2a57d3eff7-0000000000000000-1", /* zero span */
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1,80f198ee56343ba864fe8b2a57d3eff7-"
        "e457b5a2e4d86bd1-1", /* two headers folded */
        "80f198ee56343ba864fe8b2a57d3eff7_e457b5a2e4d86bd1_1",
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2 4d86bd1-1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ctr_span_context ctx = {{1}, {2}, 7, false, {0}};
        if (ctr_b3_parse(bad[i], strlen(bad[i]), &ctx) != CTR_EPARSE)
            TEST_FAIL_AT("accepted malformed b3 #%zu \"%s\"", i, bad[i]);
        ASSERT_EQ(ctx.trace_flags, 7); /* untouched */
        ASSERT_EQ(ctx.trace_id[0], 1);
    }
    /* An embedded NUL counts as a bad character, not the end. */
    const char nul[] = "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1\0";
    struct ctr_span_context ctx;
    ASSERT_EQ(ctr_b3_parse(nul, sizeof nul - 1, &ctx), CTR_EPARSE);
    ASSERT_EQ(ctr_b3_parse(NULL, 0, &ctx), CTR_EPARSE);
}

static void test_b3_format(void)
{
    char out[64];
    struct ctr_span_context ctx = sample_ctx(CTR_TRACE_FLAG_SAMPLED | CTR_TRACE_FLAG_RANDOM);
    ctr_b3_format(&ctx, out);
    ASSERT_STREQ(out, "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1");
    ctx.trace_flags = 0;
    ctr_b3_format(&ctx, out);
    ASSERT_STREQ(out, "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0");
    struct ctr_span_context back;
    ASSERT_EQ(ctr_b3_parse(out, strlen(out), &back), 0);
    ASSERT_MEMEQ(back.trace_id, ctx.trace_id, 16);
    ASSERT_MEMEQ(back.span_id, ctx.span_id, 8);
}

/* ---- Jaeger ------------------------------------------------------------- */

static void test_jaeger_parse_valid(void)
{
    static const struct valid_case cases[] = {
        {"80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:1", T32, S16, 1},
        {"80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:01", T32, S16, 1},
        {"80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:05e3ac9a4f6e3b90:00", T32, S16, 0},
        {"80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:2", T32, S16, 1}, /* debug */
        {"80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:3", T32, S16, 1},
        {"80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:4", T32, S16, 0}, /* other bit */
        {"1:2:0:1", "00000000000000000000000000000001", "0000000000000002", 1},
        {"abc:de:0:1", "00000000000000000000000000000abc", "00000000000000de", 1},
        {"64fe8b2a57d3eff7:e457b5a2e4d86bd1:0:1", "000000000000000064fe8b2a57d3eff7", S16, 1},
        {"80F198EE56343BA864FE8B2A57D3EFF7:E457B5A2E4D86BD1:0:1", T32, S16, 1},
        {"80f198ee56343ba864fe8b2a57d3eff7%3Ae457b5a2e4d86bd1%3A0%3A1", T32, S16, 1},
        {"80f198ee56343ba864fe8b2a57d3eff7%3ae457b5a2e4d86bd1:0%3a1", T32, S16, 1},
        {"  80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:1\t", T32, S16, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ctr_span_context ctx;
        char tid[33], sid[17];
        if (ctr_jaeger_parse(cases[i].in, strlen(cases[i].in), &ctx) != 0)
            TEST_FAIL_AT("refused valid uber-trace-id #%zu \"%s\"", i, cases[i].in);
        ids_hex(&ctx, tid, sid);
        ASSERT_STREQ(tid, cases[i].tid);
        ASSERT_STREQ(sid, cases[i].sid);
        ASSERT_EQ(ctx.trace_flags, cases[i].flags);
        ASSERT(ctx.is_remote);
    }
}

static void test_jaeger_parse_malformed(void)
{
    static const char *const bad[] = {
        "",
        ":::",
        "80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0",
        "80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:1:1",
        "80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1::1", /* empty parent */
        "80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:",
        "80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:001", /* flags > 1 byte */
        "180f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:1",  /* 33 hex */
        "80f198ee56343ba864fe8b2a57d3eff7:1e457b5a2e4d86bd1:0:1",  /* 17 hex */
        "80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:105e3ac9a4f6e3b90:1",
        "0:e457b5a2e4d86bd1:0:1",                                  /* zero trace */
        "00000000000000000000000000000000:e457b5a2e4d86bd1:0:1",   /* zero trace */
        "80f198ee56343ba864fe8b2a57d3eff7:0000000000000000:0:1",   /* zero span */
        "80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bdg:0:1",   /* not hex */
        "80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:x",   /* flags */
        "80f198ee56343ba864fe8b2a57d3eff7%3Be457b5a2e4d86bd1:0:1", /* %3B is not ':' */
        "80f198ee56343ba864fe8b2a57d3eff7%3",
        "80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:1%3",
        "80f198ee56343ba864fe8b2a57d3eff7 :e457b5a2e4d86bd1:0:1",
        "80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:1,80f198ee56343ba864fe8b2a57d3eff7:"
        "e457b5a2e4d86bd1:0:1",
        "-1:e457b5a2e4d86bd1:0:1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ctr_span_context ctx = {{1}, {2}, 7, false, {0}};
        if (ctr_jaeger_parse(bad[i], strlen(bad[i]), &ctx) != CTR_EPARSE)
            TEST_FAIL_AT("accepted malformed uber-trace-id #%zu \"%s\"", i, bad[i]);
        ASSERT_EQ(ctx.trace_flags, 7);
    }
}

static void test_jaeger_format(void)
{
    char out[80];
    struct ctr_span_context ctx = sample_ctx(CTR_TRACE_FLAG_SAMPLED);
    ctr_jaeger_format(&ctx, out);
    ASSERT_STREQ(out, "80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:01");
    ctx.trace_flags = CTR_TRACE_FLAG_RANDOM;
    ctr_jaeger_format(&ctx, out);
    ASSERT_STREQ(out, "80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:00");
}

/* ---- X-Ray -------------------------------------------------------------- */

static void test_xray_parse_valid(void)
{
    static const char XT[] = "5759e988bd862e3fe1be46a994272793";
    static const char XS[] = "53995c3f42cd8ad8";
    static const struct valid_case cases[] = {
        {"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", XT, XS, 1},
        {"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0", XT, XS, 0},
        {"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8", XT, XS, 0},
        {"Sampled=1;Parent=53995c3f42cd8ad8;Root=1-5759e988-bd862e3fe1be46a994272793", XT, XS, 1},
        {"Self=1-67891234-12456789abcdef012345678;Root=1-5759e988-bd862e3fe1be46a994272793;"
         "Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1|68fd508a:5",
         XT, XS, 1},
        {" Root = 1-5759e988-bd862e3fe1be46a994272793 ; Parent=53995c3f42cd8ad8 ;Sampled=1;", XT,
         XS, 1},
        {"Root=1-5759E988-BD862E3FE1BE46A994272793;Parent=53995C3F42CD8AD8;Sampled=1", XT, XS, 1},
        {"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=?", XT, XS, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ctr_span_context ctx;
        char tid[33], sid[17];
        if (ctr_xray_parse(cases[i].in, strlen(cases[i].in), &ctx) != 0)
            TEST_FAIL_AT("refused valid X-Amzn-Trace-Id #%zu \"%s\"", i, cases[i].in);
        ids_hex(&ctx, tid, sid);
        ASSERT_STREQ(tid, cases[i].tid);
        ASSERT_STREQ(sid, cases[i].sid);
        ASSERT_EQ(ctx.trace_flags, cases[i].flags);
        ASSERT(ctx.is_remote);
    }
}

static void test_xray_parse_malformed(void)
{
    static const char *const bad[] = {
        "",
        ";;",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1", /* no parent */
        "Parent=53995c3f42cd8ad8;Sampled=1",                  /* no root */
        "Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
        "Root=1-5759e98-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
        "Root=1-5759e988-bd862e3fe1be46a99427279;Parent=53995c3f42cd8ad8",
        "Root=1-5759e988bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8adz",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=2",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled",
        "Root=1-00000000-000000000000000000000000;Parent=53995c3f42cd8ad8",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0000000000000000",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Root=1-5759e988-bd862e3fe1be46a994272794;"
        "Parent=53995c3f42cd8ad8",
        "root=1-5759e988-bd862e3fe1be46a994272793;parent=53995c3f42cd8ad8", /* keys are cased */
        "Root=1-5759e988-bd862e3fe1be46a994272793,Parent=53995c3f42cd8ad8",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ctr_span_context ctx = {{1}, {2}, 7, false, {0}};
        if (ctr_xray_parse(bad[i], strlen(bad[i]), &ctx) != CTR_EPARSE)
            TEST_FAIL_AT("accepted malformed X-Amzn-Trace-Id #%zu \"%s\"", i, bad[i]);
        ASSERT_EQ(ctx.trace_flags, 7);
    }
}

static void test_xray_format(void)
{
    char out[96];
    struct ctr_span_context ctx = sample_ctx(CTR_TRACE_FLAG_SAMPLED);
    ctr_xray_format(&ctx, out);
    ASSERT_STREQ(out, "Root=1-80f198ee-56343ba864fe8b2a57d3eff7;Parent=e457b5a2e4d86bd1;Sampled=1");
    ctx.trace_flags = 0;
    ctr_xray_format(&ctx, out);
    ASSERT_STREQ(out, "Root=1-80f198ee-56343ba864fe8b2a57d3eff7;Parent=e457b5a2e4d86bd1;Sampled=0");
    struct ctr_span_context back;
    ASSERT_EQ(ctr_xray_parse(out, strlen(out), &back), 0);
    ASSERT_MEMEQ(back.trace_id, ctx.trace_id, 16);
    ASSERT_MEMEQ(back.span_id, ctx.span_id, 8);
    ASSERT_EQ(back.trace_flags, 0);
}

/* ---- inject ------------------------------------------------------------- */

static void test_inject_every_format(void)
{
    struct hdrs h = {0};
    struct ctr_carrier c = carrier(&h);
    struct ctr_propagation p;
    ctr_propagation_default(&p, ALL_FORMATS);
    ASSERT_STREQ(p.jaeger_trace_header, "uber-trace-id");
    ASSERT_STREQ(p.jaeger_baggage_prefix, "uberctx-");
    struct ctr_span_context ctx = sample_ctx(CTR_TRACE_FLAG_SAMPLED);
    ctx.trace_state = (struct ctr_str){"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", 39};
    ASSERT_EQ(ctr_propagation_inject(&p, &ctx, "userId=alice, serverNode=DF%2028;p=1", &c), 0);
    ASSERT_EQ(h.n, 11);
    ASSERT_STREQ(hdrs_get(&h, "traceparent"),
                 "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01");
    ASSERT_STREQ(hdrs_get(&h, "tracestate"), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    ASSERT_STREQ(hdrs_get(&h, "baggage"), "userId=alice,serverNode=DF%2028;p=1");
    ASSERT_STREQ(hdrs_get(&h, "b3"), "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1");
    ASSERT_STREQ(hdrs_get(&h, "X-B3-TraceId"), T32);
    ASSERT_STREQ(hdrs_get(&h, "X-B3-SpanId"), S16);
    ASSERT_STREQ(hdrs_get(&h, "X-B3-Sampled"), "1");
    ASSERT(hdrs_get(&h, "X-B3-ParentSpanId") == NULL);
    ASSERT(hdrs_get(&h, "X-B3-Flags") == NULL);
    ASSERT_STREQ(hdrs_get(&h, "uber-trace-id"),
                 "80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:01");
    ASSERT_STREQ(hdrs_get(&h, "uberctx-userId"), "alice");
    ASSERT_STREQ(hdrs_get(&h, "uberctx-serverNode"), "DF%2028");
    ASSERT_STREQ(hdrs_get(&h, "X-Amzn-Trace-Id"),
                 "Root=1-80f198ee-56343ba864fe8b2a57d3eff7;Parent=e457b5a2e4d86bd1;Sampled=1");
    hdrs_free(&h);

    /* Only what is configured: b3multi alone writes exactly three headers. */
    ctr_propagation_default(&p, CTR_PROP_B3MULTI);
    ctx.trace_flags = 0;
    ASSERT_EQ(ctr_propagation_inject(&p, &ctx, "k=v", &c), 0);
    ASSERT_EQ(h.n, 3);
    ASSERT_STREQ(hdrs_get(&h, "x-b3-sampled"), "0");
    hdrs_free(&h);

    /* The default pair: traceparent and baggage; no tracestate when empty. */
    ctr_propagation_default(&p, CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE);
    ctx.trace_state = (struct ctr_str){NULL, 0};
    ASSERT_EQ(ctr_propagation_inject(&p, &ctx, NULL, &c), 0);
    ASSERT_EQ(h.n, 1);
    ASSERT_STREQ(hdrs_get(&h, "traceparent"),
                 "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-00");
    hdrs_free(&h);
}

static void test_inject_invalid(void)
{
    struct hdrs h = {0};
    struct ctr_carrier c = carrier(&h);
    struct ctr_propagation p;
    ctr_propagation_default(&p, ALL_FORMATS);
    struct ctr_span_context zero = {0};
    ASSERT_EQ(ctr_propagation_inject(&p, &zero, "k=v", &c), CTR_EINVAL);
    struct ctr_span_context half = sample_ctx(1);
    memset(half.span_id, 0, sizeof half.span_id);
    ASSERT_EQ(ctr_propagation_inject(&p, &half, "k=v", &c), CTR_EINVAL);
    ASSERT_EQ(ctr_propagation_inject(NULL, &half, NULL, &c), CTR_EINVAL);
    ASSERT_EQ(h.sets, 0);

    /* An invalid tracestate is left out; malformed baggage members dropped. */
    struct ctr_span_context ctx = sample_ctx(1);
    ctx.trace_state = (struct ctr_str){"Bad=1", 5};
    ASSERT_EQ(ctr_propagation_inject(&p, &ctx, "a=1,bad key=2,,c=\"q\",d=4", &c), 0);
    ASSERT(hdrs_get(&h, "tracestate") == NULL);
    ASSERT_STREQ(hdrs_get(&h, "baggage"), "a=1,d=4");
    ASSERT_STREQ(hdrs_get(&h, "uberctx-a"), "1");
    ASSERT_STREQ(hdrs_get(&h, "uberctx-d"), "4");
    ASSERT(hdrs_get(&h, "uberctx-c") == NULL);
    hdrs_free(&h);

    /* Oversize baggage: whole members up to 8192 bytes, never part of one. */
    struct ctr_buf b = {0};
    for (int i = 0; i < 100; i++)
        ctr_buf_printf(&b, "%sk%02d=%0100d", i ? "," : "", i, 0); /* 104 bytes a member */
    ctr_buf_putc(&b, 0);
    ctr_propagation_default(&p, CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE);
    ASSERT_EQ(ctr_propagation_inject(&p, &ctx, (const char *)b.data, &c), 0);
    const char *bag = hdrs_get(&h, "baggage");
    ASSERT(bag != NULL);
    /* 78 members * 104 + 77 commas = 8189 <= 8192; one more would be 8294. */
    ASSERT_EQ(strlen(bag), 78 * 104 + 77);
    ASSERT(memcmp(bag + strlen(bag) - 104, "k77=", 4) == 0);
    ctr_buf_free(&b);
    hdrs_free(&h);
}

/* Baggage without a span: the W3C header alone, only when baggage is on. */
static void test_inject_baggage_only(void)
{
    struct hdrs h = {0};
    struct ctr_carrier c = carrier(&h);
    struct ctr_propagation p;
    ctr_propagation_default(&p, ALL_FORMATS);
    ASSERT_EQ(ctr_propagation_inject_baggage(&p, "a=1, bad key=2,b=x%2Cy;p=1", &c), 0);
    ASSERT_EQ(h.n, 1);
    ASSERT_STREQ(hdrs_get(&h, "baggage"), "a=1,b=x%2Cy;p=1");
    hdrs_free(&h);

    /* Nothing valid, nothing given, or the baggage format off: no header. */
    h = (struct hdrs){0};
    ASSERT_EQ(ctr_propagation_inject_baggage(&p, "bad key=2,,", &c), 0);
    ASSERT_EQ(ctr_propagation_inject_baggage(&p, NULL, &c), 0);
    ctr_propagation_default(&p, ALL_FORMATS & ~(unsigned)CTR_PROP_BAGGAGE);
    ASSERT_EQ(ctr_propagation_inject_baggage(&p, "a=1", &c), 0);
    ASSERT_EQ(h.sets, 0);
    ASSERT_EQ(ctr_propagation_inject_baggage(NULL, "a=1", &c), CTR_EINVAL);
    ASSERT_EQ(ctr_propagation_inject_baggage(&p, "a=1", NULL), CTR_EINVAL);
    hdrs_free(&h);
}

/* ---- extract ------------------------------------------------------------ */

static void add(struct hdrs *h, const char *name, const char *value)
{
    hdrs_set(h, name, value);
}

static void test_extract_precedence(void)
{
    struct hdrs h = {0};
    add(&h, "traceparent", "00-11111111111111111111111111111111-1111111111111111-01");
    add(&h, "b3", "22222222222222222222222222222222-2222222222222222-0");
    add(&h, "X-B3-TraceId", "33333333333333333333333333333333");
    add(&h, "X-B3-SpanId", "3333333333333333");
    add(&h, "uber-trace-id", "44444444444444444444444444444444:4444444444444444:0:1");
    add(&h, "X-Amzn-Trace-Id",
        "Root=1-55555555-555555555555555555555555;Parent=5555555555555555;Sampled=0");
    struct ctr_span_context ctx;
    char ts[64], bag[64], tid[33], sid[17];
    static const struct {
        unsigned formats;
        char digit;
        int flags;
    } order[] = {
        {ALL_FORMATS, '1', 1},
        {CTR_PROP_B3 | CTR_PROP_JAEGER | CTR_PROP_XRAY, '2', 0},
        {CTR_PROP_B3MULTI | CTR_PROP_XRAY, '2', 0}, /* b3multi also reads the single header */
        {CTR_PROP_JAEGER | CTR_PROP_XRAY, '4', 1},
        {CTR_PROP_XRAY, '5', 0},
    };
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        ASSERT_EQ(extract(order[i].formats, &h, &ctx, ts, sizeof ts, bag, sizeof bag), 0);
        ids_hex(&ctx, tid, sid);
        if (tid[0] != order[i].digit || sid[15] != order[i].digit)
            TEST_FAIL_AT("formats %#x: got %s/%s, want %c", order[i].formats, tid, sid,
                         order[i].digit);
        ASSERT_EQ(ctx.trace_flags, order[i].flags);
        ASSERT(ctx.is_remote);
    }
    /* The first valid one wins: malformed headers are passed over. */
    add(&h, "traceparent", "00-11111111111111111111111111111111-1111111111111111-01-extra");
    add(&h, "b3", "22222222222222222222222222222222-2222222222222222-x");
    ASSERT_EQ(extract(ALL_FORMATS, &h, &ctx, ts, sizeof ts, bag, sizeof bag), 0);
    ids_hex(&ctx, tid, sid);
    ASSERT_STREQ(tid, "33333333333333333333333333333333"); /* b3 multi */
    ASSERT_EQ(ctx.trace_flags, 0);
    add(&h, "X-B3-SpanId", "333333333333333"); /* 15 hex */
    ASSERT_EQ(extract(ALL_FORMATS, &h, &ctx, ts, sizeof ts, bag, sizeof bag), 0);
    ids_hex(&ctx, tid, sid);
    ASSERT_STREQ(tid, "44444444444444444444444444444444");
    add(&h, "uber-trace-id", "0:4444444444444444:0:1");
    ASSERT_EQ(extract(ALL_FORMATS, &h, &ctx, ts, sizeof ts, bag, sizeof bag), 0);
    ids_hex(&ctx, tid, sid);
    ASSERT_STREQ(tid, "55555555555555555555555555555555");
    add(&h, "x-amzn-trace-id", "Root=1-55555555-555555555555555555555555");
    struct ctr_span_context untouched = sample_ctx(1);
    ctx = untouched;
    ASSERT_EQ(extract(ALL_FORMATS, &h, &ctx, ts, sizeof ts, bag, sizeof bag), CTR_EPARSE);
    ASSERT_MEMEQ(&ctx, &untouched, sizeof ctx);
    ASSERT_STREQ(ts, "");
    ASSERT_STREQ(bag, "");
    /* Nothing configured: nothing read. */
    hdrs_free(&h);
    add(&h, "traceparent", "00-11111111111111111111111111111111-1111111111111111-01");
    ASSERT_EQ(extract(0, &h, &ctx, ts, sizeof ts, bag, sizeof bag), CTR_EPARSE);
    ASSERT_EQ(extract(CTR_PROP_BAGGAGE, &h, &ctx, ts, sizeof ts, bag, sizeof bag), CTR_EPARSE);
    hdrs_free(&h);
}

static void test_extract_b3_multi(void)
{
    static const struct {
        const char *tid, *sid, *sampled, *flags;
        int rc, want_flags;
    } cases[] = {
        {T32, S16, "1", NULL, 0, 1},
        {T32, S16, "0", NULL, 0, 0},
        {T32, S16, NULL, NULL, 0, 0}, /* defer */
        {T32, S16, "true", NULL, 0, 1},
        {T32, S16, "false", NULL, 0, 0},
        {T32, S16, NULL, "1", 0, 1}, /* debug implies sampled */
        {T32, S16, "0", "1", 0, 1},
        {T32, S16, "1", "0", 0, 1},
        {" 64fe8b2a57d3eff7 ", S16, " 1", NULL, 0, 1},
        {T32, NULL, "1", NULL, CTR_EPARSE, 0},
        {NULL, S16, "1", NULL, CTR_EPARSE, 0},
        {T32, S16, "2", NULL, CTR_EPARSE, 0},
        {T32, S16, "d", NULL, CTR_EPARSE, 0},
        {T32, S16, "", NULL, CTR_EPARSE, 0},
        {T32, S16, "1", "2", CTR_EPARSE, 0},
        {T32, S16, "1,1", NULL, CTR_EPARSE, 0},
        {"80F198EE56343BA864FE8B2A57D3EFF7", S16, "1", NULL, CTR_EPARSE, 0},
        {"80f198ee56343ba8-4fe8b2a57d3eff7", S16, "1", NULL, CTR_EPARSE, 0},
        {T32, "e457b5a2e4d86bd1-1", NULL, NULL, CTR_EPARSE, 0},
        {"0000000000000000", S16, "1", NULL, CTR_EPARSE, 0},
        {"80f198ee56343ba864fe8b2a57d3eff7,80f198ee56343ba864fe8b2a57d3eff7", S16, "1", NULL,
         CTR_EPARSE, 0}, /* folded */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct hdrs h = {0};
        if (cases[i].tid)
            add(&h, "x-b3-traceid", cases[i].tid);
        if (cases[i].sid)
            add(&h, "X-B3-SPANID", cases[i].sid);
        if (cases[i].sampled)
            add(&h, "X-B3-Sampled", cases[i].sampled);
        if (cases[i].flags)
            add(&h, "X-B3-Flags", cases[i].flags);
        struct ctr_span_context ctx = {0};
        int rc = extract(CTR_PROP_B3MULTI, &h, &ctx, NULL, 0, NULL, 0);
        hdrs_free(&h);
        if (rc != cases[i].rc)
            TEST_FAIL_AT("b3 multi case #%zu: rc %d, want %d", i, rc, cases[i].rc);
        if (rc == 0) {
            char tid[33], sid[17];
            ids_hex(&ctx, tid, sid);
            ASSERT_STREQ(sid, S16);
            ASSERT(strcmp(tid, T32) == 0 || strcmp(tid, "000000000000000064fe8b2a57d3eff7") == 0);
            ASSERT_EQ(ctx.trace_flags, cases[i].want_flags);
        }
    }
    /* Single wins over multi; a sampling-only single header falls back. */
    struct hdrs h = {0};
    add(&h, "X-B3-TraceId", T32);
    add(&h, "X-B3-SpanId", S16);
    add(&h, "X-B3-Sampled", "0");
    add(&h, "b3", "64fe8b2a57d3eff7-e457b5a2e4d86bd1-d");
    struct ctr_span_context ctx;
    char tid[33], sid[17];
    ASSERT_EQ(extract(CTR_PROP_B3, &h, &ctx, NULL, 0, NULL, 0), 0);
    ids_hex(&ctx, tid, sid);
    ASSERT_STREQ(tid, "000000000000000064fe8b2a57d3eff7");
    ASSERT_EQ(ctx.trace_flags, 1);
    add(&h, "b3", "1");
    ASSERT_EQ(extract(CTR_PROP_B3, &h, &ctx, NULL, 0, NULL, 0), 0);
    ids_hex(&ctx, tid, sid);
    ASSERT_STREQ(tid, T32);
    ASSERT_EQ(ctx.trace_flags, 0);
    hdrs_free(&h);
}

static void test_extract_tracestate(void)
{
    struct hdrs h = {0};
    add(&h, "traceparent", "00-11111111111111111111111111111111-1111111111111111-01");
    add(&h, "tracestate", " rojo=00f067aa0ba902b7 ,, congo=t61rcWkgMzE");
    struct ctr_span_context ctx;
    char ts[CTR_TRACESTATE_MAX + 1];
    ASSERT_EQ(extract(CTR_PROP_TRACECONTEXT, &h, &ctx, ts, sizeof ts, NULL, 0), 0);
    ASSERT_STREQ(ts, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    ASSERT(ctx.trace_state.ptr == ts);
    ASSERT_EQ(ctx.trace_state.len, strlen(ts));

    /* Too small a buffer keeps the leading members that fit. */
    char small[30];
    ASSERT_EQ(extract(CTR_PROP_TRACECONTEXT, &h, &ctx, small, sizeof small, NULL, 0), 0);
    ASSERT_STREQ(small, "rojo=00f067aa0ba902b7");
    /* ... dropping members over 128 characters first. */
    struct ctr_buf b = {0};
    ctr_buf_printf(&b, "big=%0200d,a=1,b=2", 0);
    ctr_buf_putc(&b, 0);
    add(&h, "tracestate", (const char *)b.data);
    ctr_buf_free(&b);
    ASSERT_EQ(extract(CTR_PROP_TRACECONTEXT, &h, &ctx, small, sizeof small, NULL, 0), 0);
    ASSERT_STREQ(small, "a=1,b=2");
    ASSERT_EQ(extract(CTR_PROP_TRACECONTEXT, &h, &ctx, ts, sizeof ts, NULL, 0), 0);
    ASSERT_EQ(strlen(ts), 4 + 200 + 8);

    /* Invalid tracestate is dropped whole; the context stays. */
    add(&h, "tracestate", "rojo=1,Upper=2");
    ASSERT_EQ(extract(CTR_PROP_TRACECONTEXT, &h, &ctx, ts, sizeof ts, NULL, 0), 0);
    ASSERT_STREQ(ts, "");
    ASSERT(ctx.trace_state.ptr == NULL && ctx.trace_state.len == 0);
    /* tracestate only comes with a valid traceparent. */
    add(&h, "tracestate", "rojo=1");
    add(&h, "traceparent", "00-11111111111111111111111111111111-1111111111111111-1");
    add(&h, "b3", "22222222222222222222222222222222-2222222222222222-1");
    ASSERT_EQ(extract(CTR_PROP_TRACECONTEXT | CTR_PROP_B3, &h, &ctx, ts, sizeof ts, NULL, 0), 0);
    ASSERT_STREQ(ts, "");
    ASSERT_EQ(ctx.trace_id[0], 0x22);
    hdrs_free(&h);
}

static void test_extract_baggage_merge(void)
{
    struct hdrs h = {0};
    add(&h, "baggage", "userId=alice, shared=w3c;prop=1");
    add(&h, "uberctx-shared", "jaeger");
    add(&h, "UberCtx-Region", "eu%2Dwest 1");   /* URL-decoded, W3C-encoded */
    add(&h, "uberctx-quote", "say%20%22hi%22"); /* '"' is not a baggage-octet */
    add(&h, "uberctx-bad", "50%");              /* bad escape: skipped */
    add(&h, "uberctx-", "no key");
    add(&h, "uberctx-sp ace", "x");
    add(&h, "other", "1");
    char bag[CTR_BAGGAGE_MAX + 1];
    struct ctr_span_context ctx;
    ASSERT_EQ(extract(CTR_PROP_BAGGAGE | CTR_PROP_JAEGER, &h, &ctx, NULL, 0, bag, sizeof bag),
              CTR_EPARSE); /* no context, baggage all the same */
    ASSERT_STREQ(bag, "userId=alice,shared=w3c;prop=1,Region=eu-west%201,quote=say%20%22hi%22");
    ASSERT_EQ(ctr_baggage_validate(bag, strlen(bag)), 4);
    /* Each source only when configured. */
    ASSERT_EQ(extract(CTR_PROP_BAGGAGE, &h, &ctx, NULL, 0, bag, sizeof bag), CTR_EPARSE);
    ASSERT_STREQ(bag, "userId=alice,shared=w3c;prop=1");
    ASSERT_EQ(extract(CTR_PROP_JAEGER, &h, &ctx, NULL, 0, bag, sizeof bag), CTR_EPARSE);
    ASSERT_STREQ(bag, "shared=jaeger,Region=eu-west%201,quote=say%20%22hi%22");
    /* Without a way to list the carrier, Jaeger baggage is out of reach. */
    struct ctr_propagation p;
    ctr_propagation_default(&p, CTR_PROP_BAGGAGE | CTR_PROP_JAEGER);
    struct ctr_carrier c = carrier(&h);
    ASSERT_EQ(ctr_propagation_extract(&p, &c, &ctx, NULL, 0, bag, sizeof bag), CTR_EPARSE);
    ASSERT_STREQ(bag, "userId=alice,shared=w3c;prop=1");

    /* Malformed W3C members are dropped, the rest kept. */
    add(&h, "baggage", "a=1,b c=2,,d=\"x\",e=50%,f=3");
    ASSERT_EQ(extract(CTR_PROP_BAGGAGE, &h, &ctx, NULL, 0, bag, sizeof bag), CTR_EPARSE);
    ASSERT_STREQ(bag, "a=1,f=3");

    /* A small buffer gets whole members only. */
    add(&h, "baggage", "aaaa=1,bbbbbbbbbb=2,c=3");
    char small[12];
    ASSERT_EQ(extract(CTR_PROP_BAGGAGE, &h, &ctx, NULL, 0, small, sizeof small), CTR_EPARSE);
    ASSERT_STREQ(small, "aaaa=1,c=3");
    hdrs_free(&h);
}

static void test_extract_baggage_limits(void)
{
    struct hdrs h = {0};
    struct ctr_buf b = {0};
    char bag[CTR_BAGGAGE_MAX + 1];
    struct ctr_span_context ctx;
    /* Exactly 8192 bytes: kept whole. */
    ctr_buf_printf(&b, "k=");
    while (b.len < CTR_BAGGAGE_MAX)
        ctr_buf_putc(&b, 'v');
    ctr_buf_putc(&b, 0);
    add(&h, "baggage", (const char *)b.data);
    ASSERT_EQ(extract(CTR_PROP_BAGGAGE, &h, &ctx, NULL, 0, bag, sizeof bag), CTR_EPARSE);
    ASSERT_EQ(strlen(bag), CTR_BAGGAGE_MAX);
    /* One byte more: the header is ignored whole. */
    b.len--;
    ctr_buf_putc(&b, 'v');
    ctr_buf_putc(&b, 0);
    add(&h, "baggage", (const char *)b.data);
    ASSERT_EQ(extract(CTR_PROP_BAGGAGE, &h, &ctx, NULL, 0, bag, sizeof bag), CTR_EPARSE);
    ASSERT_STREQ(bag, "");
    /* At most 180 members. */
    b.len = 0;
    for (int i = 0; i < 200; i++)
        ctr_buf_printf(&b, "%sk%d=%d", i ? "," : "", i, i);
    ctr_buf_putc(&b, 0);
    add(&h, "baggage", (const char *)b.data);
    ASSERT_EQ(extract(CTR_PROP_BAGGAGE, &h, &ctx, NULL, 0, bag, sizeof bag), CTR_EPARSE);
    ASSERT_EQ(ctr_baggage_validate(bag, strlen(bag)), 180);
    ASSERT(strstr(bag, ",k179=179") != NULL && strstr(bag, "k180=") == NULL);
    /* W3C plus Jaeger stays within 8192 bytes, whole members only. */
    b.len = 0;
    ctr_buf_printf(&b, "w=");
    while (b.len < CTR_BAGGAGE_MAX - 10)
        ctr_buf_putc(&b, 'v');
    ctr_buf_putc(&b, 0);
    add(&h, "baggage", (const char *)b.data);
    add(&h, "uberctx-long", "0123456789");
    add(&h, "uberctx-s", "1");
    ASSERT_EQ(extract(CTR_PROP_BAGGAGE | CTR_PROP_JAEGER, &h, &ctx, NULL, 0, bag, sizeof bag),
              CTR_EPARSE);
    ASSERT_EQ(strlen(bag), CTR_BAGGAGE_MAX - 10 + 4);
    ASSERT(strcmp(bag + strlen(bag) - 4, ",s=1") == 0);
    ctr_buf_free(&b);
    hdrs_free(&h);
}

static void test_jaeger_custom_names(void)
{
    struct ctr_propagation p;
    ctr_propagation_default(&p, CTR_PROP_JAEGER);
    snprintf(p.jaeger_trace_header, sizeof p.jaeger_trace_header, "%s", "x-my-trace-id");
    snprintf(p.jaeger_baggage_prefix, sizeof p.jaeger_baggage_prefix, "%s", "ctx-");
    struct hdrs h = {0};
    struct ctr_carrier c = carrier(&h);
    struct ctr_span_context ctx = sample_ctx(1);
    ASSERT_EQ(ctr_propagation_inject(&p, &ctx, "team=sre", &c), 0);
    ASSERT_EQ(h.n, 2);
    ASSERT_STREQ(hdrs_get(&h, "x-my-trace-id"),
                 "80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:01");
    ASSERT_STREQ(hdrs_get(&h, "ctx-team"), "sre");
    ASSERT(hdrs_get(&h, "uber-trace-id") == NULL);

    add(&h, "uber-trace-id", "1:1:0:1"); /* the default name is not read */
    add(&h, "uberctx-ignored", "x");
    struct ctr_span_context got;
    char bag[128];
    ASSERT_EQ(ctr__propagation_extract_each(&p, &c, hdrs_each, &got, NULL, 0, bag, sizeof bag), 0);
    ASSERT_MEMEQ(got.trace_id, ctx.trace_id, 16);
    ASSERT_MEMEQ(got.span_id, ctx.span_id, 8);
    ASSERT_STREQ(bag, "team=sre");
    hdrs_free(&h);
    add(&h, "uber-trace-id", "1:1:0:1");
    ASSERT_EQ(ctr__propagation_extract_each(&p, &c, hdrs_each, &got, NULL, 0, bag, sizeof bag),
              CTR_EPARSE);
    /* Empty names fall back to the defaults. */
    p.jaeger_trace_header[0] = '\0';
    ASSERT_EQ(ctr__propagation_extract_each(&p, &c, hdrs_each, &got, NULL, 0, bag, sizeof bag), 0);
    ASSERT_EQ(got.trace_id[15], 1);
    hdrs_free(&h);
}

/* Each format alone: inject then extract gives back ids and the flag. */
static void test_round_trip_each_format(void)
{
    static const unsigned formats[] = {CTR_PROP_TRACECONTEXT, CTR_PROP_B3, CTR_PROP_B3MULTI,
                                       CTR_PROP_JAEGER, CTR_PROP_XRAY};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        for (int sampled = 0; sampled < 2; sampled++) {
            struct hdrs h = {0};
            struct ctr_propagation p;
            ctr_propagation_default(&p, formats[i] | CTR_PROP_BAGGAGE);
            struct ctr_carrier c = carrier(&h);
            struct ctr_span_context in = sample_ctx((uint8_t)sampled), out = {0};
            in.trace_id[0] = (uint8_t)(0x10 + i);
            ASSERT_EQ(ctr_propagation_inject(&p, &in, "k=v%2C1", &c), 0);
            char ts[8], bag[64];
            ASSERT_EQ(
                extract(formats[i] | CTR_PROP_BAGGAGE, &h, &out, ts, sizeof ts, bag, sizeof bag),
                0);
            hdrs_free(&h);
            ASSERT_MEMEQ(out.trace_id, in.trace_id, 16);
            ASSERT_MEMEQ(out.span_id, in.span_id, 8);
            ASSERT_EQ(out.trace_flags, sampled);
            ASSERT_STREQ(bag, "k=v%2C1");
        }
    }
}

TEST_MAIN(TEST_CASE(test_b3_parse_valid), TEST_CASE(test_b3_parse_malformed),
          TEST_CASE(test_b3_format), TEST_CASE(test_jaeger_parse_valid),
          TEST_CASE(test_jaeger_parse_malformed), TEST_CASE(test_jaeger_format),
          TEST_CASE(test_xray_parse_valid), TEST_CASE(test_xray_parse_malformed),
          TEST_CASE(test_xray_format), TEST_CASE(test_inject_every_format),
          TEST_CASE(test_inject_invalid), TEST_CASE(test_inject_baggage_only),
          TEST_CASE(test_extract_precedence), TEST_CASE(test_extract_b3_multi),
          TEST_CASE(test_extract_tracestate), TEST_CASE(test_extract_baggage_merge),
          TEST_CASE(test_extract_baggage_limits), TEST_CASE(test_jaeger_custom_names),
          TEST_CASE(test_round_trip_each_format))
