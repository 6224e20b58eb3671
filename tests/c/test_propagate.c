/*
 * W3C trace context and baggage: formatting and strict validation, with the
 * malformed cases of the specifications.
 */
#include <chaostracing/chaostracing.h>

#include "test.h"

static void test_traceparent_round_trip(void)
{
    struct ctr_span_context ctx;
    const char *in = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    ASSERT_EQ(ctr_traceparent_parse(in, strlen(in), &ctx), 0);
    ASSERT(ctx.is_remote);
    ASSERT_EQ(ctx.trace_flags, 1);
    ASSERT_EQ(ctx.trace_id[0], 0x4b);
    ASSERT_EQ(ctx.span_id[7], 0xb7);
    char out[CTR_TRACEPARENT_LEN + 1];
    ctr_traceparent_format(&ctx, out);
    ASSERT_STREQ(out, in);
    /* Surrounding white space is allowed. */
    const char *padded = "  00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\t";
    ASSERT_EQ(ctr_traceparent_parse(padded, strlen(padded), &ctx), 0);
    ASSERT_EQ(ctx.trace_flags, 0);
    ctr_traceparent_format(&ctx, out);
    ASSERT_STREQ(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
}

static void test_traceparent_future_versions(void)
{
    struct ctr_span_context ctx;
    const char *v1 =
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds";
    ASSERT_EQ(ctr_traceparent_parse(v1, strlen(v1), &ctx), 0);
    ASSERT_EQ(ctx.trace_flags, 1);
    const char *v1short = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    ASSERT_EQ(ctr_traceparent_parse(v1short, strlen(v1short), &ctx), 0);
}

static void test_traceparent_malformed(void)
{
    static const char *const bad[] = {
        "",
        "00",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",    /* short flags */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",  /* v00 + trailing */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  /* v00 + trailing */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   /* version ff */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   /* upper case */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   /* zero trace */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   /* zero span */
        "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",   /* misplaced dash */
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",   /* separators */
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   /* bad version hex */
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.x", /* v01 bad suffix */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",   /* bad flags */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01,00-"
        "4bf92f3577b34da6a3ce929d0e0e4736-"
        "00f067aa0ba902b7-01", /* two headers folded together */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ctr_span_context ctx = {{1}, {1}, 7, false, {0}};
        if (ctr_traceparent_parse(bad[i], strlen(bad[i]), &ctx) != CTR_EPARSE)
            TEST_FAIL_AT("accepted malformed traceparent #%zu: \"%s\"", i, bad[i]);
        ASSERT_EQ(ctx.trace_flags, 7); /* untouched on error */
    }
    ASSERT_EQ(ctr_traceparent_parse(NULL, 0, NULL), CTR_EPARSE);
}

static void test_tracestate(void)
{
    static const struct {
        const char *s;
        int want;
    } cases[] = {
        {"", 0},
        {"rojo=00f067aa0ba902b7", 1},
        {"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", 2},
        {" rojo=1 , congo=2 ", 2},
        {"rojo=1,,congo=2", 2},
        {"fw529a3039@dt=abc", 1},
        {"a*b_c-d/e=1", 1},
        {"Rojo=1", CTR_EPARSE},        /* upper-case key */
        {"1abc=1", CTR_EPARSE},        /* key must start with a letter */
        {"rojo", CTR_EPARSE},          /* no value */
        {"rojo=", CTR_EPARSE},         /* empty value */
        {"rojo=a=b", CTR_EPARSE},      /* '=' in value */
        {"rojo=1,rojo=2", CTR_EPARSE}, /* duplicate key */
        {"t@=1", CTR_EPARSE},          /* empty system id */
        {"t@toolongsystemid=1", CTR_EPARSE},
        {"rojo=va\x01lue", CTR_EPARSE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = ctr_tracestate_validate(cases[i].s, strlen(cases[i].s));
        if (got != cases[i].want)
            TEST_FAIL_AT("tracestate \"%s\": got %d, want %d", cases[i].s, got, cases[i].want);
    }
    /* 32 members are fine, 33 are not. */
    struct ctr_buf b = {0};
    for (int i = 0; i < 33; i++)
        ctr_buf_printf(&b, "%sk%d=v", i ? "," : "", i);
    ASSERT_EQ(ctr_tracestate_validate((const char *)b.data, b.len), CTR_EPARSE);
    b.len = 0;
    for (int i = 0; i < 32; i++)
        ctr_buf_printf(&b, "%sk%d=v", i ? "," : "", i);
    ASSERT_EQ(ctr_tracestate_validate((const char *)b.data, b.len), 32);
    ctr_buf_free(&b);
}

static void test_baggage(void)
{
    static const struct {
        const char *s;
        int want;
    } cases[] = {
        {"userId=alice", 1},
        {"userId=alice,serverNode=DF%2028,isProduction=false", 3},
        {"key1 = value1 ; prop1 ; prop2=x, key2=v2", 2},
        {"k=", 1},
        {"", CTR_EPARSE},
        {"=v", CTR_EPARSE},
        {"k", CTR_EPARSE},
        {"k=v,", CTR_EPARSE},
        {"k=va lue", CTR_EPARSE},
        {"k=\"quoted\"", CTR_EPARSE},
        {"k=50%", CTR_EPARSE},
        {"k=%zz", CTR_EPARSE},
        {"k(1)=v", CTR_EPARSE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = ctr_baggage_validate(cases[i].s, strlen(cases[i].s));
        if (got != cases[i].want)
            TEST_FAIL_AT("baggage \"%s\": got %d, want %d", cases[i].s, got, cases[i].want);
    }
    /* Over 8192 bytes is refused whole. */
    size_t n = CTR_BAGGAGE_MAX + 1;
    char *big = malloc(n + 1);
    ASSERT(big != NULL);
    memset(big, 'a', n);
    big[0] = 'k';
    big[1] = '=';
    big[n] = '\0';
    ASSERT_EQ(ctr_baggage_validate(big, n), CTR_EPARSE);
    ASSERT_EQ(ctr_baggage_validate(big, n - 1), 1);
    free(big);
}

struct items {
    char text[512];
    int n;
};

static void collect(void *arg, const char *k, size_t kn, const char *v, size_t vn)
{
    struct items *it = arg;
    size_t used = strlen(it->text);
    snprintf(it->text + used, sizeof it->text - used, "%s%.*s=[%.*s]", it->n ? "|" : "", (int)kn, k,
             (int)vn, v);
    it->n++;
}

static void test_baggage_items(void)
{
    struct ctr_buf out = {0};
    /* A new key is appended, its value escaped; properties of others kept. */
    ASSERT_EQ(ctr_baggage_put("a=1;p=q, b=2", "user", 4, "Jo, 50% \"x\"", 11, &out), 0);
    ctr_buf_putc(&out, 0);
    ASSERT_STREQ((const char *)out.data, "a=1;p=q,b=2,user=Jo%2C%2050%25%20%22x%22");
    /* The same key replaces the earlier member; malformed members are dropped. */
    ctr_buf_reset(&out);
    ASSERT_EQ(ctr_baggage_put("a=1,bad member,a=3,c=", "a", 1, "z", 1, &out), 0);
    ctr_buf_putc(&out, 0);
    ASSERT_STREQ((const char *)out.data, "c=,a=z");
    /* No base; a key that is not a token is refused with nothing written. */
    ctr_buf_reset(&out);
    ASSERT_EQ(ctr_baggage_put(NULL, "k", 1, "", 0, &out), 0);
    ASSERT_EQ(out.len, 2);
    ASSERT_EQ(ctr_baggage_put("k=", "bad key", 7, "v", 1, &out), CTR_EINVAL);
    ASSERT_EQ(ctr_baggage_put("k=", "", 0, "v", 1, &out), CTR_EINVAL);
    ASSERT_EQ(out.len, 2);
    /* Too long for a baggage header: refused. */
    char *big = malloc(CTR_BAGGAGE_MAX);
    ASSERT(big != NULL);
    memset(big, ' ', CTR_BAGGAGE_MAX); /* each space takes three bytes */
    ctr_buf_reset(&out);
    ASSERT_EQ(ctr_baggage_put(NULL, "k", 1, big, CTR_BAGGAGE_MAX / 3 + 1, &out), CTR_EINVAL);
    ASSERT_EQ(out.len, 0);
    free(big);
    ctr_buf_free(&out);

    struct items it = {"", 0};
    const char *b = "userId=alice, node=DF%2028;p=1,bad,esc=%zz,e=";
    ASSERT_EQ(ctr_baggage_each(b, strlen(b), collect, &it), 3);
    ASSERT_STREQ(it.text, "userId=[alice]|node=[DF 28]|e=[]");
    ASSERT_EQ(ctr_baggage_each(NULL, 0, collect, &it), 0);
}

TEST_MAIN(TEST_CASE(test_traceparent_round_trip), TEST_CASE(test_traceparent_future_versions),
          TEST_CASE(test_traceparent_malformed), TEST_CASE(test_tracestate),
          TEST_CASE(test_baggage), TEST_CASE(test_baggage_items))
