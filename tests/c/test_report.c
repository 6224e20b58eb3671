/*
 * Tests for the HTML report (src/render/report.c): the page's shape and
 * Content-Security-Policy, the embedded JSON model read back with the
 * library's JSON reader, escaping of hostile span data for the HTML and
 * script contexts, huge and deep traces, and the options.
 */
#include <chaostracing/render.h>

#include "encode/json_read.h"
#include "fixture.h"
#include "render/report_assets.h"
#include "render_util.h"
#include "test.h"

static struct ctr_attr svc[] = {{S("service.name"), VSTR("chaostoolkit")}};
static struct ctr_resource res = {.attrs = ATTRS(svc)};

#define MODEL_OPEN "<script type=\"application/json\" id=\"trace-data\">"

/* The page for spans[0..n) with `o`, NUL-terminated; NULL on error. */
static char *page(struct ctr_span **spans, size_t n, const struct ctr_report_options *o)
{
    struct ctr_batch b = {&res, NULL, spans, n};
    return report_text(&b, 1, o);
}

/* The JSON model's text inside `html` (points into it; *len set). */
static const char *model_text(const char *html, size_t *len)
{
    const char *at = strstr(html, MODEL_OPEN);
    if (!at)
        return NULL;
    at += strlen(MODEL_OPEN);
    const char *end = strstr(at, "</script>");
    *len = end ? (size_t)(end - at) : 0;
    return end ? at : NULL;
}

/* Parse the model of `html` into `a`; NULL when it is not valid JSON. */
static const struct ctr__json_value *model(const char *html, struct ctr_arena *a)
{
    size_t len;
    const char *text = model_text(html, &len);
    struct ctr__json_value *root = NULL;
    struct ctr__json_error e;
    if (!text || ctr__json_parse(a, text, len, &root, &e) != 0)
        return NULL;
    return root;
}

/* Item `i` of JSON array `arr`, or NULL. */
static const struct ctr__json_value *item(const struct ctr__json_value *arr, size_t i)
{
    if (!arr || arr->type != CTR__JSON_ARRAY)
        return NULL;
    const struct ctr__json_value *v = arr->u.c.first;
    while (v && i--)
        v = v->next;
    return v;
}

static int64_t num(const struct ctr__json_value *v)
{
    int64_t x = INT64_MIN;
    ctr__json_to_i64(v, &x);
    return x;
}

static bool is_str(const struct ctr__json_value *v, const char *s, size_t n)
{
    return v && v->type == CTR__JSON_STRING && v->u.s.len == n && memcmp(v->u.s.ptr, s, n) == 0;
}

/* How often `needle` occurs in `hay`, ignoring ASCII case. */
static size_t count_nocase(const char *hay, const char *needle)
{
    size_t n = 0, k = strlen(needle);
    for (const char *p = hay; *p; p++)
        n += strncasecmp(p, needle, k) == 0;
    return n;
}

static struct ctr_attr a_exp[] = {{S("chaostoolkit.type"), VSTR("experiment")},
                                  {S("chaostoolkit.experiment.status"), VSTR("completed")}};
static struct ctr_attr a_bg[] = {{S("chaostoolkit.type"), VSTR("activity")},
                                 {S("chaostoolkit.activity.type"), VSTR("action")},
                                 {S("chaostoolkit.activity.background"), VBOOL(true)},
                                 {S("chaostoolkit.activity.status"), VSTR("failed")},
                                 {S("big"), VINT(INT64_C(9007199254740993))},
                                 {S("small"), VINT(-42)},
                                 {S("ratio"), VDBL(0.25)}};
static struct ctr_attr a_cont[] = {{S("chaostoolkit.type"), VSTR("hypothesis")},
                                   {S("chaostoolkit.hypothesis.phase"), VSTR("continuous")},
                                   {S("chaostoolkit.hypothesis.met"), VBOOL(true)}};
static struct ctr_attr e_exc[] = {{S("exception.message"), VSTR("boom")}};

/* The page: doctype, a CSP that lets only the embedded style and script
 * run and forbids every request, the title, and a model holding the spans
 * in tree order with parents, depths, times, results and attributes. */
static void test_page_and_model(void)
{
    struct ctr_span s[4];
    mk_span(&s[0], 0xaa, 0x01, 0, "experiment", 0, 1000);
    mk_span(&s[1], 0xaa, 0x02, 0x01, "stress", 100, 500);
    mk_span(&s[2], 0xaa, 0x03, 0x01, "steady", 50, 60);
    mk_span(&s[3], 0xaa, 0x04, 0x03, "probe", 52, 53);
    s[0].attrs = (struct ctr_attr_list)ATTRS(a_exp);
    s[1].attrs = (struct ctr_attr_list)ATTRS(a_bg);
    s[2].attrs = (struct ctr_attr_list)ATTRS(a_cont);
    s[1].status = CTR_STATUS_ERROR;
    s[1].status_message = (struct ctr_str)S("it broke");
    s[1].kind = CTR_KIND_CLIENT;
    struct ctr_event ev = {FX_T0 + 400 * 1000000u, S("exception"), ATTRS(e_exc)};
    s[1].events = &ev;
    s[1].events_len = 1;
    struct ctr_link link = {.ctx = s[3].ctx};
    s[1].links = &link;
    s[1].links_len = 1;
    struct ctr_span *p[] = {&s[3], &s[1], &s[0], &s[2]};
    char *html = page(p, 4, NULL);
    ASSERT(html != NULL);
    bool head = strncmp(html, "<!DOCTYPE html>\n<html lang=\"en\">", 32) == 0;
    bool csp =
        strstr(html, "content=\"default-src 'none'; script-src 'sha256-" CTR__REPORT_JS_SHA256
                     "'; style-src 'sha256-" CTR__REPORT_CSS_SHA256 "'; base-uri 'none'; "
                     "form-action 'none'\">") != NULL;
    bool title = strstr(html, "<title>experiment \xc2\xb7 chaostracing report</title>") != NULL &&
                 strstr(html, "<h1>experiment</h1>") != NULL;
    bool assets = strstr(html, ctr__report_js) != NULL && strstr(html, ctr__report_css) != NULL;
    bool no_remote = strstr(html, "http://") == NULL && strstr(html, "https://") == NULL &&
                     strstr(html, " src=") == NULL && strstr(html, "<link") == NULL;
    struct ctr_arena a = {0};
    const struct ctr__json_value *m = model(html, &a);
    const struct ctr__json_value *spans = ctr__json_get(m, "spans");
    ASSERT(head);
    ASSERT(csp);
    ASSERT(title);
    ASSERT(assets);
    ASSERT(no_remote);
    ASSERT(m != NULL);
    ASSERT(is_str(ctr__json_get(m, "traceId"), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 32));
    ASSERT_EQ(num(ctr__json_get(m, "duration")), 1000000);
    ASSERT(is_str(ctr__json_get(m, "start"), "2023-11-14 22:13:20 UTC", 23));
    ASSERT_EQ(num(ctr__json_get(m, "otherTraces")), 0);
    ASSERT_EQ(spans->u.c.count, 4);
    static const struct {
        const char *name;
        int64_t parent, depth, start, end;
        const char *verdict;
    } want[] = {{"experiment", -1, 0, 0, 1000000, "good"},
                {"steady", 0, 1, 50000, 60000, "good"},
                {"probe", 1, 2, 52000, 53000, "neutral"},
                {"stress", 0, 1, 100000, 500000, "bad"}};
    for (size_t i = 0; i < NELEM(want); i++) {
        const struct ctr__json_value *sp = item(spans, i);
        ASSERT(is_str(ctr__json_get(sp, "name"), want[i].name, strlen(want[i].name)));
        ASSERT_EQ(num(ctr__json_get(sp, "parent")), want[i].parent);
        ASSERT_EQ(num(ctr__json_get(sp, "depth")), want[i].depth);
        ASSERT_EQ(num(ctr__json_get(sp, "start")), want[i].start);
        ASSERT_EQ(num(ctr__json_get(sp, "end")), want[i].end);
        ASSERT(ctr__json_str_eq(ctr__json_get(sp, "verdict"), want[i].verdict));
    }
    const struct ctr__json_value *steady = ctr__json_get(item(spans, 1), "ctk");
    ASSERT(ctr__json_str_eq(ctr__json_get(steady, "phase"), "continuous"));
    ASSERT_EQ(num(ctr__json_get(steady, "iteration")), 1);
    ASSERT_EQ(ctr__json_get(steady, "met")->type, CTR__JSON_TRUE);
    const struct ctr__json_value *stress = item(spans, 3), *k = ctr__json_get(stress, "ctk");
    ASSERT(ctr__json_str_eq(ctr__json_get(k, "activity"), "action"));
    ASSERT_EQ(ctr__json_get(k, "background")->type, CTR__JSON_TRUE);
    ASSERT(ctr__json_str_eq(ctr__json_get(stress, "kind"), "client"));
    ASSERT(ctr__json_str_eq(ctr__json_get(stress, "message"), "it broke"));
    ASSERT_EQ(num(ctr__json_get(stress, "status")), 2);
    const struct ctr__json_value *attrs = ctr__json_get(stress, "attrs");
    ASSERT(is_str(item(item(attrs, 4), 1), "9007199254740993", 16)); /* past 2^53: text */
    ASSERT_EQ(num(item(item(attrs, 5), 1)), -42);
    ASSERT_EQ(item(item(attrs, 6), 1)->type, CTR__JSON_NUMBER);
    const struct ctr__json_value *e0 = item(ctr__json_get(stress, "events"), 0);
    ASSERT(ctr__json_str_eq(ctr__json_get(e0, "name"), "exception"));
    ASSERT_EQ(num(ctr__json_get(e0, "t")), 400000);
    const struct ctr__json_value *l0 = item(ctr__json_get(stress, "links"), 0);
    ASSERT(ctr__json_str_eq(ctr__json_get(l0, "spanId"), "0404040404040404"));
    ctr_arena_free(&a); /* the model points into the page: free it last */
    free(html);
}

/* Span data cannot leave the JSON block or the title: no "</script" but
 * the page's own two, no raw < > & in the model, HTML references in the
 * title; and the model reads back to the very same text. */
static void test_hostile_text_is_escaped(void)
{
    static const char evil[] = "</script><script>alert(1)</script></SCRIPT ><!--<img src=x "
                               "onerror=alert(2)>&amp;'\"\xe2\x80\xa8\xe2\x80\xa9\\u003c";
    struct ctr_span s[2];
    mk_span(&s[0], 0xbb, 0x01, 0, evil, 0, 10);
    mk_span(&s[1], 0xbb, 0x02, 0x01, "child", 1, 2);
    struct ctr_attr attrs[] = {{S("k</script>"), VSTR("v<!--")}};
    s[1].attrs = (struct ctr_attr_list)ATTRS(attrs);
    struct ctr_span *p[] = {&s[0], &s[1]};
    char *html = page(p, 2, NULL);
    ASSERT(html != NULL);
    size_t len;
    const char *json = model_text(html, &len);
    bool raw = false;
    for (size_t i = 0; json && i < len; i++)
        raw |= json[i] == '<' || json[i] == '>' || json[i] == '&' ||
               (i + 2 < len && memcmp(json + i, "\xe2\x80", 2) == 0 &&
                ((unsigned char)json[i + 2] & 0xFE) == 0xA8);
    bool closes = count_nocase(html, "</script") == 2;
    bool comments = strstr(html, "<!--") == NULL;
    bool title = strstr(html, "<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;/"
                              "SCRIPT &gt;&lt;!--&lt;img src=x onerror=alert(2)&gt;&amp;amp;&#39;"
                              "&quot;") != NULL;
    struct ctr_arena a = {0};
    const struct ctr__json_value *m = model(html, &a);
    const struct ctr__json_value *spans = ctr__json_get(m, "spans");
    ASSERT(json != NULL);
    ASSERT(!raw);
    ASSERT(closes);
    ASSERT(comments);
    ASSERT(title);
    ASSERT(m != NULL);
    ASSERT(is_str(ctr__json_get(m, "title"), evil, sizeof evil - 1));
    ASSERT(is_str(ctr__json_get(item(spans, 0), "name"), evil, sizeof evil - 1));
    const struct ctr__json_value *kv = item(ctr__json_get(item(spans, 1), "attrs"), 0);
    ASSERT(is_str(item(kv, 0), "k</script>", 10));
    ASSERT(is_str(item(kv, 1), "v<!--", 5));
    ctr_arena_free(&a);
    free(html);
}

/* A 1 MB name, bytes that are not UTF-8, and a 3,000-deep chain: a valid
 * page whose model reads back, depths and parents intact. */
static void test_huge_and_deep(void)
{
    enum { DEEP = 3000 };
    size_t big = 1 << 20;
    char *huge = malloc(big + 1);
    struct ctr_span *s = calloc(DEEP, sizeof *s);
    struct ctr_span **p = calloc(DEEP, sizeof *p);
    ASSERT(huge && s && p);
    memset(huge, 'h', big);
    memcpy(huge + 10, "\xff\xfe\xc3", 3);
    huge[big] = '\0';
    for (size_t i = 0; i < DEEP; i++) {
        mk_span(&s[i], 0xcc, 0, 0, i == 0 ? huge : "level", i, i + 1);
        memcpy(s[i].ctx.span_id, &(uint64_t){i + 1}, 8);
        if (i) {
            s[i].has_parent = true;
            memcpy(s[i].parent_span_id, &(uint64_t){i}, 8);
        }
        p[DEEP - 1 - i] = &s[i];
    }
    char *html = page(p, DEEP, NULL);
    struct ctr_arena a = {0};
    const struct ctr__json_value *m = html ? model(html, &a) : NULL;
    const struct ctr__json_value *spans = ctr__json_get(m, "spans");
    bool ok = m && spans && spans->u.c.count == DEEP;
    const struct ctr__json_value *last = ok ? item(spans, DEEP - 1) : NULL;
    const struct ctr__json_value *name = ok ? ctr__json_get(item(spans, 0), "name") : NULL;
    bool depth = ok && num(ctr__json_get(last, "depth")) == DEEP - 1 &&
                 num(ctr__json_get(last, "parent")) == DEEP - 2;
    bool text = name && name->type == CTR__JSON_STRING && name->u.s.len >= big &&
                memcmp(name->u.s.ptr + 10, "\xef\xbf\xbd", 3) == 0; /* U+FFFD */
    ctr_arena_free(&a);
    free(html);
    free(huge);
    free(s);
    free(p);
    ASSERT(ok);
    ASSERT(depth);
    ASSERT(text);
}

/* Which trace: the latest by default, or the one asked for; errors. */
static void test_options_and_errors(void)
{
    struct ctr_span s[2];
    mk_span(&s[0], 0x11, 0x01, 0, "old run", 0, 1);
    mk_span(&s[1], 0x22, 0x02, 0, "new run", 5000, 5001);
    struct ctr_span *p[] = {&s[0], &s[1]};
    char *html = page(p, 2, NULL);
    bool latest = html && strstr(html, "<h1>new run</h1>") && strstr(html, "\"otherTraces\":1");
    free(html);
    ASSERT(latest);
    uint8_t id[CTR_TRACE_ID_LEN];
    memset(id, 0x11, sizeof id);
    struct ctr_report_options o;
    ctr_report_options_default(&o);
    ASSERT(o.trace_id == NULL && o.title == NULL);
    o.trace_id = id;
    o.title = "Nightly <run>";
    html = page(p, 2, &o);
    bool chosen = html && strstr(html, "<h1>Nightly &lt;run&gt;</h1>") &&
                  strstr(html, "\"name\":\"old run\"") && !strstr(html, "\"name\":\"new run\"");
    free(html);
    ASSERT(chosen);
    memset(id, 0x33, sizeof id);
    struct ctr_batch b = {&res, NULL, p, 2};
    struct ctr_buf out = {0};
    ASSERT_EQ(ctr_render_report(&b, 1, &o, &out), CTR_EINVAL);   /* no such trace */
    ASSERT_EQ(ctr_render_report(&b, 0, NULL, &out), CTR_EINVAL); /* no spans */
    ASSERT_EQ(ctr_render_report(NULL, 1, NULL, &out), CTR_EINVAL);
    ASSERT_EQ(ctr_render_report(&b, 1, NULL, NULL), CTR_EINVAL);
    out.err = CTR_ENOMEM;
    ASSERT_EQ(ctr_render_report(&b, 1, NULL, &out), CTR_ENOMEM);
    ASSERT_EQ(out.len, 0);
    ctr_buf_free(&out);
}

TEST_MAIN(TEST_CASE(test_page_and_model), TEST_CASE(test_hostile_text_is_escaped),
          TEST_CASE(test_huge_and_deep), TEST_CASE(test_options_and_errors))
