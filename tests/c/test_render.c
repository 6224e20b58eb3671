/*
 * Tests for the span tree renderer (chaostracing/render.h): layout, columns,
 * tags, services, colours, display-safe text, remote parents, parent cycles
 * and very wide and deep traces.
 */
#include <chaostracing/render.h>

#include "fixture.h"
#include "render/internal.h"
#include "render_util.h"
#include "test.h"

#define MS UINT64_C(1000000)

static struct ctr_attr svc_ctk[] = {{S("service.name"), VSTR("chaostoolkit")}};
static struct ctr_attr svc_orders[] = {{S("service.name"), VSTR("orders")}};
static struct ctr_resource res_ctk = {.attrs = ATTRS(svc_ctk)};
static struct ctr_resource res_orders = {.attrs = ATTRS(svc_orders)};

/* Render with the given options into a malloc'd string; NULL on error. */
static char *render(const struct ctr_batch *b, size_t n, const struct ctr_render_options *o)
{
    return tree_text(b, n, o);
}

/* Whether `b[0..n)` renders with `o` exactly as `want` (printed if not). */
static bool renders_as(const struct ctr_batch *b, size_t n, const struct ctr_render_options *o,
                       const char *want)
{
    char *out = render(b, n, o);
    bool same = same_text(out, want);
    free(out);
    return same;
}

/* The same for the spans `spans[0..n)` of one chaostoolkit batch. */
static bool spans_render_as(struct ctr_span *const *spans, size_t n, const char *want)
{
    struct ctr_batch batch = {&res_ctk, NULL, spans, n};
    return renders_as(&batch, 1, NULL, want);
}

/* An experiment in two batches (two services) plus an earlier trace without
 * a resource. */
enum { N_EXP = 7 };
struct experiment {
    struct ctr_span spans[N_EXP];
    struct ctr_span *pa[5], *pb[1], *pc[1];
    struct ctr_batch batches[3];
};

static void set_attrs(struct ctr_span *s, struct ctr_attr *a, uint32_t n)
{
    s->attrs = (struct ctr_attr_list){a, n, n, 0};
}

static struct ctr_attr ctk_exp[] = {{S("chaostoolkit.type"), VSTR("experiment")}};
static struct ctr_attr ctk_hyp[] = {{S("chaostoolkit.type"), VSTR("hypothesis")}};
static struct ctr_attr ctk_method[] = {{S("chaostoolkit.type"), VSTR("method")}};
static struct ctr_attr ctk_probe[] = {{S("chaostoolkit.type"), VSTR("activity")},
                                      {S("chaostoolkit.activity.status"), VSTR("succeeded")},
                                      {S("http.response.status_code"), VINT(200)}};
static struct ctr_attr ctk_kill[] = {{S("chaostoolkit.type"), VSTR("activity")},
                                     {S("chaostoolkit.activity.status"), VSTR("failed")}};
static struct ctr_attr http_old[] = {{S("http.status_code"), VINT(201)}};

static void build_experiment(struct experiment *x)
{
    /* Times in microseconds after FX_T0; children before parents, as a
     * batch processor delivers them. */
    static const struct {
        uint8_t trace, id, parent;
        const char *name;
        int64_t start_us, end_us;
        ctr_span_kind kind;
        ctr_status_code status;
        const char *message;
        struct ctr_attr *attrs;
        uint32_t n_attrs;
    } specs[N_EXP] = {
        {0xaa, 0xc1, 0xb1, "app-responds", 6000, 16200, CTR_KIND_CLIENT, 0, NULL, ctk_probe, 3},
        {0xaa, 0xc2, 0xb2, "kill-pod", 300000, 305550, 0, CTR_STATUS_ERROR, "pod not found",
         ctk_kill, 2},
        {0xaa, 0xb1, 0xa1, "Application is healthy", 5000, 216000, 0, 0, NULL, ctk_hyp, 1},
        {0xaa, 0xb2, 0xa1, "Method", 299000, 1311000, 0, 0, NULL, ctk_method, 1},
        {0xaa, 0xa1, 0, "My experiment", 0, 2013400, 0, CTR_STATUS_OK, NULL, ctk_exp, 1},
        {0xaa, 0xd1, 0x77, "POST /orders", 7000, 10250, CTR_KIND_SERVER, 0, NULL, http_old, 1},
        {0xbb, 0xe1, 0, "nightly-check", -1000000, -958000, 0, 0, NULL, NULL, 0},
    };
    memset(x, 0, sizeof *x);
    for (size_t i = 0; i < N_EXP; i++) {
        struct ctr_span *s = &x->spans[i];
        mk_span(s, specs[i].trace, specs[i].id, specs[i].parent, specs[i].name, 0, 0);
        s->start_ns = FX_T0 + (uint64_t)(specs[i].start_us * 1000);
        s->end_ns = FX_T0 + (uint64_t)(specs[i].end_us * 1000);
        if (specs[i].kind)
            s->kind = specs[i].kind;
        s->status = specs[i].status;
        if (specs[i].message)
            s->status_message = (struct ctr_str){specs[i].message, strlen(specs[i].message)};
        set_attrs(s, specs[i].attrs, specs[i].n_attrs);
    }
    x->spans[5].parent_is_remote = true; /* POST /orders: its flags say so */
    for (size_t i = 0; i < 5; i++)
        x->pa[i] = &x->spans[i];
    x->pb[0] = &x->spans[5];
    x->pc[0] = &x->spans[6];
    x->batches[0] = (struct ctr_batch){&res_ctk, NULL, x->pa, 5};
    x->batches[1] = (struct ctr_batch){&res_orders, NULL, x->pb, 1};
    x->batches[2] = (struct ctr_batch){NULL, NULL, x->pc, 1};
}

static const char experiment_tree[] =
    "trace bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb  service=(none)  1 span  "
    "start=2023-11-14T22:13:19.000Z\n"
    "nightly-check  42.0 ms\n"
    "\n"
    "trace aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa  service=chaostoolkit,orders  6 spans  "
    "start=2023-11-14T22:13:20.000Z\n"
    "My experiment              2013.4 ms  ok  [experiment]\n"
    "\xe2\x94\x9c\xe2\x94\x80 Application is healthy   211.0 ms  [hypothesis]\n"
    "\xe2\x94\x82  \xe2\x94\x94\xe2\x94\x80 app-responds           10.2 ms  client  "
    "[activity succeeded http 200]\n"
    "\xe2\x94\x94\xe2\x94\x80 Method                  1012.0 ms  [method]\n"
    "   \xe2\x94\x94\xe2\x94\x80 kill-pod                5.6 ms  ERROR  [activity failed]  "
    "\"pod not found\"\n"
    "POST /orders                  3.3 ms  server  [http 201]  service=orders  (remote parent)\n";

static void test_tree_layout(void)
{
    struct experiment x;
    build_experiment(&x);
    ASSERT(renders_as(x.batches, 3, NULL, experiment_tree));
}

static void test_ascii_no_attrs_and_color(void)
{
    struct experiment x;
    build_experiment(&x);
    struct ctr_render_options o = {.attrs = false, .ascii = true, .color = false};
    ASSERT(renders_as(x.batches, 3, &o,
                      "trace bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb  service=(none)  1 span  "
                      "start=2023-11-14T22:13:19.000Z\n"
                      "nightly-check  42.0 ms\n"
                      "\n"
                      "trace aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa  service=chaostoolkit,orders  "
                      "6 spans  start=2023-11-14T22:13:20.000Z\n"
                      "My experiment              2013.4 ms  ok\n"
                      "|- Application is healthy   211.0 ms\n"
                      "|  `- app-responds           10.2 ms  client\n"
                      "`- Method                  1012.0 ms\n"
                      "   `- kill-pod                5.6 ms  ERROR  \"pod not found\"\n"
                      "POST /orders                  3.3 ms  server  service=orders  "
                      "(remote parent)\n"));
    o = (struct ctr_render_options){.attrs = true, .ascii = true, .color = true};
    char *out = render(x.batches, 3, &o);
    ASSERT(out != NULL);
    bool header =
        strstr(out, "\033[1mtrace aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\033[0m  service=") != NULL;
    bool error = strstr(out, "5.6 ms  \033[1;31mERROR\033[0m  [activity failed]") != NULL;
    bool note = strstr(out, "service=orders  \033[2m(remote parent)\033[0m\n") != NULL;
    free(out);
    ASSERT(header);
    ASSERT(error);
    ASSERT(note);
}

/* The file variant writes what the buffer variant returns. */
static void test_file_variant_and_arguments(void)
{
    struct experiment x;
    build_experiment(&x);
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    ASSERT(f != NULL);
    int rc = ctr_render_tree_file(x.batches, 3, NULL, f);
    fclose(f);
    bool same = rc == 0 && same_text(buf, experiment_tree);
    free(buf);
    ASSERT(same);

    struct ctr_buf out = {0};
    ASSERT_EQ(ctr_render_tree(NULL, 0, NULL, &out), 0); /* nothing to show */
    ASSERT_EQ(out.len, 0);
    ASSERT_EQ(ctr_render_tree(NULL, 1, NULL, &out), CTR_EINVAL);
    ASSERT_EQ(ctr_render_tree(x.batches, 3, NULL, NULL), CTR_EINVAL);
    ASSERT_EQ(ctr_render_tree_file(x.batches, 3, NULL, NULL), CTR_EINVAL);
    out.err = CTR_ENOMEM; /* a buffer already in error is left alone */
    ASSERT_EQ(ctr_render_tree(x.batches, 3, NULL, &out), CTR_ENOMEM);
    ASSERT_EQ(out.len, 0);
    ctr_buf_free(&out);
    struct ctr_render_options d;
    ctr_render_options_default(&d);
    ASSERT(d.attrs && !d.ascii && !d.color);
}

/* Controls, bidirectional overrides and bad bytes cannot reach the terminal;
 * long text is cut with an ellipsis. */
static void test_display_safe_text(void)
{
    static char long_name[301], long_msg[201], long_type[101], long_svc[101];
    memset(long_name, 'x', sizeof long_name - 1);
    memset(long_msg, 'm', sizeof long_msg - 1);
    memset(long_type, 't', sizeof long_type - 1);
    memset(long_svc, 's', sizeof long_svc - 1);
    struct ctr_attr svc[] = {
        {S("service.name"), {.type = CTR_VALUE_STRING, .u.s = {long_svc, 100}}}};
    struct ctr_resource res = {.attrs = ATTRS(svc)};
    struct ctr_span evil, big;
    mk_span(&evil, 0xcc, 0x01, 0,
            "caf\xc3\xa9 \x1b[31mred\n\xe2\x80\xae"
            "evil\x7f\xc2\x85\xff!",
            0, 1);
    mk_span(&big, 0xcc, 0x02, 0x01, long_name, 1, 2);
    big.status = CTR_STATUS_ERROR;
    big.status_message = (struct ctr_str){long_msg, 200};
    struct ctr_attr type[] = {
        {S("chaostoolkit.type"), {.type = CTR_VALUE_STRING, .u.s = {long_type, 100}}}};
    set_attrs(&big, type, 1);
    struct ctr_span *spans[] = {&evil, &big};
    struct ctr_batch b = {&res, NULL, spans, 2};
    char *out = render(&b, 1, NULL);
    ASSERT(out != NULL);
    char want[2048];
    snprintf(want, sizeof want,
             "trace cccccccccccccccccccccccccccccccc  service=%.63s\xe2\x80\xa6  2 spans  "
             "start=2023-11-14T22:13:20.000Z\n"
             "caf\xc3\xa9 \\x1b[31mred\\x0a\\u202eevil\\x7f\\u0085\xef\xbf\xbd!%*s  1.0 ms\n"
             "\xe2\x94\x94\xe2\x94\x80 %.199s\xe2\x80\xa6  1.0 ms  ERROR  [%.63s\xe2\x80\xa6]  "
             "\"%.119s\xe2\x80\xa6\"\n",
             long_svc, 72 - 42, "", long_name, long_type, long_msg);
    bool same = same_text(out, want);
    bool no_escape = strchr(out, '\033') == NULL;
    free(out);
    ASSERT(same);
    ASSERT(no_escape);
}

/* The columns a terminal gives code points: CJK, Hangul, fullwidth forms
 * and emoji two, combining marks, joiners and selectors none. */
static void test_display_widths(void)
{
    static const struct {
        uint32_t cp;
        size_t w;
    } cases[] = {
        {'a', 1},     {0xE9, 1},    {0xAD, 1},     {0x0301, 0}, {0x0483, 0},  {0x200B, 0},
        {0x200D, 0},  {0xFE0F, 0},  {0x1160, 0},   {0x11A8, 0}, {0x1100, 2},  {0x4E2D, 2},
        {0x5B9F, 2},  {0x3042, 2},  {0xAC00, 2},   {0xFF21, 2}, {0xFF61, 1},  {0x1F525, 2},
        {0x1F600, 2}, {0x1F680, 2}, {0x2764, 1},   {0x2705, 2}, {0x20BB7, 2}, {0x3FFFD, 2},
        {0xE000, 1},  {0xFFFD, 1},  {0x0410, 1},   {0x05D0, 1}, {0x0627, 1},  {0x0E01, 1},
        {0x0E31, 0},  {0xE0001, 0}, {0x10FFFF, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (ctr__cp_width(cases[i].cp) != cases[i].w)
            fprintf(stderr, "U+%04X: %zu columns, want %zu\n", (unsigned)cases[i].cp,
                    ctr__cp_width(cases[i].cp), cases[i].w);
        ASSERT_EQ(ctr__cp_width(cases[i].cp), cases[i].w);
    }
    /* Cut by columns: a wide character that would cross the limit is left
     * out whole, combining marks stay with their base. */
    struct ctr_buf b = {0};
    ASSERT_EQ(ctr__display_put(&b, "\xe5\xae\x9f\xe9\xa8\x93\xe5\xae\x9f\xe9\xa8\x93", 12, 6),
              5); /* 実験実験 in 6 columns: 実験… */
    ctr_buf_putc(&b, 0);
    ASSERT_STREQ((const char *)b.data, "\xe5\xae\x9f\xe9\xa8\x93\xe2\x80\xa6");
    ctr_buf_reset(&b);
    ASSERT_EQ(ctr__display_put(&b, "e\xcc\x81x", 4, 10), 2); /* é (e + U+0301) x */
    ctr_buf_putc(&b, 0);
    ASSERT_STREQ((const char *)b.data, "e\xcc\x81x");
    ctr_buf_free(&b);
}

/* Wide and combining names keep the columns after them aligned. */
static void test_wide_names_align(void)
{
    struct ctr_span root, cjk, emoji, comb;
    mk_span(&root, 0xdd, 0x01, 0, "\xe5\xae\x9f\xe9\xa8\x93", 0, 10); /* 実験: 4 columns */
    mk_span(&cjk, 0xdd, 0x02, 0x01, "\xed\x8c\x8c\xeb\x93\x9c \xec\x82\xad\xec\xa0\x9c", 1, 2);
    mk_span(&emoji, 0xdd, 0x03, 0x01, "\xf0\x9f\x94\xa5 fire", 2, 3); /* 🔥 fire: 7 */
    mk_span(&comb, 0xdd, 0x04, 0x01, "cafe\xcc\x81", 3, 4);           /* café: 4 */
    struct ctr_span *spans[] = {&root, &cjk, &emoji, &comb};
    struct ctr_batch b = {&res_ctk, NULL, spans, 4};
    struct ctr_render_options o = {.attrs = false, .ascii = true, .color = false};
    /* 파드 삭제 is 9 columns; after "|- " the widest name ends at column 12. */
    ASSERT(renders_as(&b, 1, &o,
                      "trace dddddddddddddddddddddddddddddddd  service=chaostoolkit  4 spans  "
                      "start=2023-11-14T22:13:20.000Z\n"
                      "\xe5\xae\x9f\xe9\xa8\x93          10.0 ms\n"
                      "|- \xed\x8c\x8c\xeb\x93\x9c \xec\x82\xad\xec\xa0\x9c   1.0 ms\n"
                      "|- \xf0\x9f\x94\xa5 fire     1.0 ms\n"
                      "`- cafe\xcc\x81        1.0 ms\n"));
}

/* Values of every type as tags; unknown kinds, statuses and times. */
static void test_odd_values(void)
{
    static struct ctr_value items[] = {VINT(1)};
    struct ctr_span a, b, c;
    mk_span(&a, 0xdd, 0x01, 0, "a", 0, 1);
    mk_span(&b, 0xdd, 0x02, 0, "", 2, 1); /* ends before it starts */
    mk_span(&c, 0xdd, 0x03, 0, "c", 3, 4);
    a.kind = (ctr_span_kind)9;
    a.status = (ctr_status_code)5;
    struct ctr_attr a_attrs[] = {{S("chaostoolkit.type"), VDBL(2.5)},
                                 {S("chaostoolkit.activity.status"), VBOOL(true)},
                                 {S("http.response.status_code"), VARR(items)}};
    struct ctr_attr b_attrs[] = {{S("chaostoolkit.type"), VBYTES("\x01")},
                                 {S("http.response.status_code"), {.type = CTR_VALUE_EMPTY}},
                                 {S("http.status_code"), VINT(404)}};
    struct ctr_attr c_attrs[] = {{S("chaostoolkit.type"), {.type = CTR_VALUE_EMPTY}}};
    set_attrs(&a, a_attrs, 3);
    set_attrs(&b, b_attrs, 3);
    set_attrs(&c, c_attrs, 1);
    c.start_ns = 0; /* unknown start: no duration, no trace start */
    struct ctr_span *spans[] = {&a, &b, &c};
    ASSERT(spans_render_as(spans, 3,
                           "trace dddddddddddddddddddddddddddddddd  service=chaostoolkit  "
                           "3 spans\n"
                           "c            ? ms\n"
                           "a          1.0 ms  status=?  kind=?  [2.5 true http [1]]\n"
                           "(no name)    ? ms  [<1 bytes> http 404]\n"));
}

/* Parent cycles and a span that is its own parent: every span once. */
static void test_parent_cycles(void)
{
    struct ctr_span a, b, below, self;
    mk_span(&a, 0xee, 0xa1, 0xa2, "a", 0, 1);
    mk_span(&b, 0xee, 0xa2, 0xa1, "b", 1, 2);
    mk_span(&below, 0xee, 0xa3, 0xa2, "below-b", 2, 3);
    mk_span(&self, 0xee, 0xa4, 0xa4, "self", 3, 4);
    struct ctr_span *spans[] = {&below, &self, &b, &a};
    ASSERT(spans_render_as(spans, 4,
                           "trace eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee  service=chaostoolkit  "
                           "4 spans  start=2023-11-14T22:13:20.000Z\n"
                           "a              1.0 ms  (parent cycle)\n"
                           "\xe2\x94\x94\xe2\x94\x80 b           1.0 ms\n"
                           "   \xe2\x94\x94\xe2\x94\x80 below-b  1.0 ms\n"
                           "self           1.0 ms  (parent cycle)\n"));
}

/* 10,000 siblings and a 10,000-deep chain: every span once, in order, deep
 * ones drawn at depth 32 with a marker, without recursion. */
static void test_wide_and_deep(void)
{
    enum { N = 10000 };
    struct ctr_span *spans = calloc(2 * N, sizeof *spans);
    struct ctr_span **ptrs = calloc(2 * N, sizeof *ptrs);
    static char names[2 * N][16];
    ASSERT(spans && ptrs);
    for (size_t i = 0; i < 2 * N; i++) {
        struct ctr_span *s = &spans[i];
        bool deep = i >= N;
        size_t k = deep ? i - N : i;
        snprintf(names[i], sizeof names[i], "%s-%05zu", deep ? "level" : "act", k);
        mk_span(s, deep ? 0x22 : 0x11, 0, 0, names[i], k, k + 1);
        uint64_t id = (deep ? 0x3000000000000000u : 0x2000000000000000u) + k, pid = id - 1;
        for (int byte = 0; byte < 8; byte++) {
            s->ctx.span_id[byte] = (uint8_t)(id >> (56 - 8 * byte));
            s->parent_span_id[byte] = (uint8_t)(pid >> (56 - 8 * byte));
        }
        s->has_parent = k > 0;
        if (!deep && k > 0) /* siblings: all children of act-00000 */
            memcpy(s->parent_span_id, spans[0].ctx.span_id, CTR_SPAN_ID_LEN);
        ptrs[(i * 7919) % (2 * N)] = s; /* shuffled */
    }
    struct ctr_batch batch = {&res_ctk, NULL, ptrs, 2 * N};
    char *out = render(&batch, 1, NULL);
    free(spans);
    free(ptrs);
    ASSERT(out != NULL);
    static char *lines[2 * N + 8];
    size_t n = 0, longest = 0;
    for (char *p = out; *p && n < NELEM(lines);) {
        char *nl = strchr(p, '\n');
        lines[n++] = p;
        if (!nl)
            break;
        *nl = '\0';
        if ((size_t)(nl - p) > longest)
            longest = (size_t)(nl - p);
        p = nl + 1;
    }
    bool ok = n == 2 * N + 3 && strncmp(lines[1], "act-00000 ", 10) == 0 &&
              strcmp(lines[2], "\xe2\x94\x9c\xe2\x94\x80 act-00001  1.0 ms") == 0 &&
              strcmp(lines[N], "\xe2\x94\x94\xe2\x94\x80 act-09999  1.0 ms") == 0 &&
              lines[N + 1][0] == '\0' && strncmp(lines[N + 3], "level-00000 ", 12) == 0;
    for (size_t k = 1; ok && k < N; k++) {
        const char *row = lines[N + 3 + k], *name = row;
        size_t indent = k < 32 ? k - 1 : 31;
        for (size_t j = 0; j < indent; j++, name += 3)
            ok &= strncmp(name, "   ", 3) == 0;
        ok &= strncmp(name, "\xe2\x94\x94\xe2\x94\x80 ", 7) == 0;
        name += 7;
        char want[48];
        if (k > 32)
            snprintf(want, sizeof want, "[depth %zu] level-%05zu ", k, k);
        else
            snprintf(want, sizeof want, "level-%05zu ", k);
        ok &= strncmp(name, want, strlen(want)) == 0;
        if (!ok)
            fprintf(stderr, "row %zu: %s\n", k, row);
    }
    for (size_t k = 2; ok && k < N; k++)
        ok &= strncmp(lines[k] + 7, names[k - 1], 9) == 0; /* siblings in start order */
    free(out);
    ASSERT(ok);
    ASSERT(longest < 200);
}

TEST_MAIN(TEST_CASE(test_tree_layout), TEST_CASE(test_ascii_no_attrs_and_color),
          TEST_CASE(test_file_variant_and_arguments), TEST_CASE(test_display_safe_text),
          TEST_CASE(test_odd_values), TEST_CASE(test_parent_cycles), TEST_CASE(test_wide_and_deep),
          TEST_CASE(test_display_widths), TEST_CASE(test_wide_names_align))
