/*
 * Tests for the terminal view's waterfall, Chaos Toolkit tags, continuous
 * iterations and detail lines (src/render/waterfall.c, ctk.c, detail.c,
 * tree.c), trace selection (ctr_render_match_traces) and ctr_json_kind.
 */
#include <chaostracing/decode.h>
#include <chaostracing/render.h>

#include "fixture.h"
#include "render_util.h"
#include "test.h"

static struct ctr_attr svc[] = {{S("service.name"), VSTR("chaostoolkit")}};
static struct ctr_resource res = {.attrs = ATTRS(svc)};

/* Render spans[0..n) of one batch with `o` into a malloc'd string. */
static char *render(struct ctr_span **spans, size_t n, const struct ctr_render_options *o)
{
    struct ctr_batch b = {&res, NULL, spans, n};
    return tree_text(&b, 1, o);
}

static void set_attrs(struct ctr_span *s, struct ctr_attr *a, uint32_t n)
{
    s->attrs = (struct ctr_attr_list){a, n, n, 0};
}

/* A run: the experiment (0-1000 ms), the hypothesis before it (0-100, met),
 * the method (100-800) with a background action (100-500), a probe that
 * runs beside it (150-300) and an action that fails (500-600), a continuous
 * hypothesis twice (120-130, 400-410), the hypothesis after it (800-900,
 * deviated), and the rollbacks (900-1000). */
enum { N_RUN = 10 };
struct run {
    struct ctr_span s[N_RUN];
    struct ctr_span *p[N_RUN];
    struct ctr_event exc, dev;
};

static struct ctr_attr a_exp[] = {{S("chaostoolkit.type"), VSTR("experiment")},
                                  {S("chaostoolkit.experiment.status"), VSTR("completed")},
                                  {S("chaostoolkit.experiment.deviated"), VBOOL(true)}};
static struct ctr_attr a_before[] = {{S("chaostoolkit.type"), VSTR("hypothesis")},
                                     {S("chaostoolkit.hypothesis.phase"), VSTR("before")},
                                     {S("chaostoolkit.hypothesis.met"), VBOOL(true)}};
static struct ctr_attr a_after[] = {{S("chaostoolkit.type"), VSTR("hypothesis")},
                                    {S("chaostoolkit.hypothesis.phase"), VSTR("after")},
                                    {S("chaostoolkit.hypothesis.met"), VBOOL(false)}};
static struct ctr_attr a_cont[] = {{S("chaostoolkit.type"), VSTR("hypothesis")},
                                   {S("chaostoolkit.hypothesis.phase"), VSTR("continuous")},
                                   {S("chaostoolkit.hypothesis.met"), VBOOL(true)}};
static struct ctr_attr a_method[] = {{S("chaostoolkit.type"), VSTR("method")}};
static struct ctr_attr a_rollbacks[] = {{S("chaostoolkit.type"), VSTR("rollback")}};
static struct ctr_attr a_bg[] = {{S("chaostoolkit.type"), VSTR("activity")},
                                 {S("chaostoolkit.activity.type"), VSTR("action")},
                                 {S("chaostoolkit.activity.background"), VBOOL(true)},
                                 {S("chaostoolkit.activity.status"), VSTR("succeeded")}};
static struct ctr_attr a_probe[] = {{S("chaostoolkit.type"), VSTR("activity")},
                                    {S("chaostoolkit.activity.type"), VSTR("probe")},
                                    {S("chaostoolkit.activity.status"), VSTR("succeeded")},
                                    {S("http.response.status_code"), VINT(503)}};
static struct ctr_attr a_fail[] = {{S("chaostoolkit.type"), VSTR("activity")},
                                   {S("chaostoolkit.activity.type"), VSTR("action")},
                                   {S("chaostoolkit.activity.status"), VSTR("failed")}};
static struct ctr_attr e_exc[] = {
    {S("exception.type"), VSTR("ActivityFailed")},
    {S("exception.message"), VSTR("ValueError: boom")},
    {S("exception.stacktrace"), VSTR("Traceback:\n  File \"x.py\"\nValueError: boom\n")}};
static struct ctr_attr e_dev[] = {{S("chaostoolkit.probe.name"), VSTR("probe-health")},
                                  {S("chaostoolkit.probe.tolerance"), VSTR("200")},
                                  {S("chaostoolkit.probe.output"), VSTR("503")},
                                  {S("chaostoolkit.probe.status"), VSTR("succeeded")}};

static void build_run(struct run *r)
{
    static const struct {
        uint8_t id, parent;
        const char *name;
        uint64_t start, end;
        struct ctr_attr *attrs;
        uint32_t n;
    } specs[N_RUN] = {
        {0x01, 0, "my experiment", 0, 1000, a_exp, 3},
        {0x02, 0x01, "healthy", 0, 100, a_before, 3},
        {0x03, 0x01, "method", 100, 800, a_method, 1},
        {0x04, 0x03, "stress-cpu", 100, 500, a_bg, 4},
        {0x05, 0x03, "probe-latency", 150, 300, a_probe, 4},
        {0x06, 0x03, "kill-pod", 500, 600, a_fail, 3},
        {0x07, 0x01, "healthy", 400, 410, a_cont, 3},
        {0x08, 0x01, "healthy", 120, 130, a_cont, 3},
        {0x09, 0x01, "healthy", 800, 900, a_after, 3},
        {0x0a, 0x01, "rollbacks", 900, 1000, a_rollbacks, 1},
    };
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < N_RUN; i++) {
        mk_span(&r->s[i], 0xaa, specs[i].id, specs[i].parent, specs[i].name, specs[i].start,
                specs[i].end);
        set_attrs(&r->s[i], specs[i].attrs, specs[i].n);
        r->p[i] = &r->s[i];
    }
    r->s[0].status = CTR_STATUS_ERROR;
    r->s[0].status_message = (struct ctr_str)S("experiment deviated");
    r->s[5].status = CTR_STATUS_ERROR;
    r->exc = (struct ctr_event){FX_T0 + 599 * 1000000u, S("exception"), ATTRS(e_exc)};
    r->s[5].events = &r->exc;
    r->s[5].events_len = 1;
    r->s[8].status = CTR_STATUS_ERROR;
    r->dev = (struct ctr_event){FX_T0 + 900 * 1000000u, S("chaostoolkit.hypothesis.deviated"),
                                ATTRS(e_dev)};
    r->s[8].events = &r->dev;
    r->s[8].events_len = 1;
}

static const char run_view[] =
    "trace aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa  service=chaostoolkit  10 spans  "
    "start=2023-11-14T22:13:20.000Z\n"
    "                                0                  1000.0 ms\n"
    "my experiment        1000.0 ms  ############################  ERROR  "
    "[experiment completed deviated]  \"experiment deviated\"\n"
    "|- healthy            100.0 ms  ###                           [hypothesis before met]\n"
    "|- method             700.0 ms     ###################        [method]\n"
    "|  |- stress-cpu      400.0 ms     ###########                "
    "[action background succeeded]\n"
    "|  |- probe-latency   150.0 ms      ####                      "
    "[probe succeeded http 503]\n"
    "|  `- kill-pod        100.0 ms                ###             ERROR  [action failed]\n"
    "|       exception ActivityFailed: ValueError: boom\n"
    "|- healthy             10.0 ms     |                          "
    "[hypothesis continuous iteration 1 met]\n"
    "|- healthy             10.0 ms             |                  "
    "[hypothesis continuous iteration 2 met]\n"
    "|- healthy            100.0 ms                        ###     ERROR  "
    "[hypothesis after deviated]\n"
    "|    deviated: probe-health returned 503 (tolerance: 200)\n"
    "`- rollbacks          100.0 ms                           ###  [rollback]\n";

/* Bars on the run's time axis beside the tree: background work overlaps
 * the probe, the continuous hypotheses are numbered by start time, the
 * failure and the deviation are explained below their rows. */
static void test_waterfall_of_a_run(void)
{
    struct run r;
    build_run(&r);
    struct ctr_render_options o;
    ctr_render_options_default(&o);
    o.ascii = true;
    o.width = 80;
    o.detail = 1;
    char *out = render(r.p, N_RUN, &o);
    bool same = same_text(out, run_view);
    free(out);
    ASSERT(same);
}

/* Box drawing and block characters; colours by result; NULL options mean
 * the tree alone, as the console exporter prints it. */
static void test_unicode_colour_and_defaults(void)
{
    struct run r;
    build_run(&r);
    struct ctr_render_options o;
    ctr_render_options_default(&o);
    ASSERT(o.width == 0 && o.detail == 0 && o.trace_id == NULL && o.attrs && !o.color);
    o.width = 80;
    o.detail = 1;
    char *out = render(r.p, N_RUN, &o);
    ASSERT(out != NULL);
    bool block = strstr(out, "\xe2\x94\x9c\xe2\x94\x80 healthy            100.0 ms  "
                             "\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88   ") != NULL;
    bool thin = strstr(out, "10.0 ms     \xe2\x96\x8f  ") != NULL;
    bool more = strstr(out, "\xe2\x94\x82 deviated: probe-health") == NULL; /* a leaf */
    free(out);
    ASSERT(block);
    ASSERT(thin);
    ASSERT(more);

    o.color = true;
    out = render(r.p, N_RUN, &o);
    ASSERT(out != NULL);
    bool red_bar =
        strstr(out, "ms                \033[1;31m\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88"
                    "\033[0m             \033[1;31mERROR\033[0m  [action failed]") != NULL;
    bool green_bar =
        strstr(out, "100.0 ms  \033[32m\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\033[0m") != NULL;
    bool cyan_method = strstr(out, "700.0 ms     \033[36m\xe2\x96\x88") != NULL;
    bool red_detail =
        strstr(out, "\033[1;31mexception ActivityFailed: ValueError: boom\033[0m\n") != NULL;
    bool dim_axis = strstr(out, "\033[2m                                0") != NULL;
    free(out);
    ASSERT(red_bar);
    ASSERT(green_bar);
    ASSERT(cyan_method);
    ASSERT(red_detail);
    ASSERT(dim_axis);

    out = render(r.p, N_RUN, NULL);
    ASSERT(out != NULL);
    bool plain = strstr(out, "\n\xe2\x94\x82  \xe2\x94\x94\xe2\x94\x80 kill-pod        100.0 ms  "
                             "ERROR  [action failed]\n\xe2\x94\x9c") != NULL;
    free(out);
    ASSERT(plain);
}

/* Terminal columns of UTF-8 text as the test counts them: the CJK and
 * Hangul used below (lead bytes 0xE3-0xED) two, every other code point one. */
static size_t test_cols(const char *s, size_t n)
{
    size_t cols = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xC0) == 0x80)
            continue;
        cols += c >= 0xE3 && c <= 0xED ? 2 : 1;
    }
    return cols;
}

/* Wide names and notes (CJK) keep the durations and the bars in line. */
static void test_wide_text_keeps_the_columns(void)
{
    struct ctr_span s[3];
    mk_span(&s[0], 0xee, 0x01, 0, "\xe5\xae\x9f\xe9\xa8\x93 experiment", 0, 1000);
    mk_span(&s[1], 0xee, 0x02, 0x01, "\xe3\x83\x9d\xe3\x83\x83\xe3\x83\x89\xe5\x89\x8a\xe9\x99\xa4",
            100, 600); /* ポッド削除 */
    s[1].status = CTR_STATUS_ERROR;
    s[1].status_message = (struct ctr_str){"\xe8\xa6\x8b\xe3\x81\xa4\xe3\x81\x8b\xe3\x82\x89"
                                           "\xe3\x81\xaa\xe3\x81\x84",
                                           18}; /* 見つからない */
    mk_span(&s[2], 0xee, 0x03, 0x01, "probe", 600, 900);
    struct ctr_span *p[] = {&s[0], &s[1], &s[2]};
    struct ctr_render_options o;
    ctr_render_options_default(&o);
    o.width = 100; /* the notes (21 columns) fit in the quarter kept for them */
    char *out = render(p, 3, &o);
    ASSERT(out != NULL);
    size_t rows = 0, ms_col = 0, widest = 0;
    bool aligned = true;
    for (char *line = out, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        size_t n = (size_t)(nl - line);
        char *ms = strstr(line, " ms ");
        if (!ms || ms > nl || line[0] == ' ') /* not a span row, or the axis */
            continue;
        size_t w = test_cols(line, n);
        widest = w > widest ? w : widest;
        size_t col = test_cols(line, (size_t)(ms - line));
        if (rows++ == 0)
            ms_col = col;
        else if (col != ms_col)
            aligned = false;
    }
    if (!aligned || rows != 3 || widest != 100)
        fprintf(stderr, "%s", out);
    free(out);
    ASSERT_EQ(rows, 3);
    ASSERT(aligned);
    ASSERT_EQ(widest, 100); /* the row with notes fills the width, no more */
}

/* -v: every attribute, event (multi-line values line by line) and link,
 * dropped counts, values cut to the width. */
static void test_verbose_details(void)
{
    struct run r;
    build_run(&r);
    static char long_value[500];
    memset(long_value, 'v', sizeof long_value - 1);
    static struct ctr_value arr_items[] = {VINT(1), VSTR("two"), VBOOL(false)};
    struct ctr_attr extra[] = {
        {S("chaostoolkit.type"), VSTR("activity")},
        {S("chaostoolkit.activity.type"), VSTR("action")},
        {S("chaostoolkit.activity.status"), VSTR("failed")},
        {S("list"), VARR(arr_items)},
        {S("ratio"), VDBL(0.5)},
        {S("blob"), VBYTES("abc")},
        {S("empty"), VSTR("")},
        {S("long"), {.type = CTR_VALUE_STRING, .u.s = {long_value, sizeof long_value - 1}}},
    };
    r.s[5].attrs = (struct ctr_attr_list)ATTRS_D(extra, 3);
    struct ctr_link link = {.ctx = r.s[0].ctx};
    r.s[5].links = &link;
    r.s[5].links_len = 1;
    r.s[5].events_dropped = 2;
    struct ctr_render_options o;
    ctr_render_options_default(&o);
    o.ascii = true;
    o.width = 80;
    o.detail = 2;
    struct ctr_span *one[] = {&r.s[5]};
    char *out = render(one, 1, &o);
    char want[4096];
    snprintf(want, sizeof want,
             "trace aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa  service=chaostoolkit  1 span  "
             "start=2023-11-14T22:13:20.500Z\n"
             "                    0                50.0 ms        100.0 ms\n"
             "kill-pod  100.0 ms  ########################################  ERROR  "
             "[action failed]  (parent not found)\n"
             "  exception ActivityFailed: ValueError: boom\n"
             "  chaostoolkit.type = activity\n"
             "  chaostoolkit.activity.type = action\n"
             "  chaostoolkit.activity.status = failed\n"
             "  list = [1, two, false]\n"
             "  ratio = 0.5\n"
             "  blob = <3 bytes>\n"
             "  empty = \"\"\n"
             "  long = %.70s\xe2\x80\xa6\n"
             "  (3 attributes dropped)\n"
             "  event exception  +99.0 ms\n"
             "    exception.type = ActivityFailed\n"
             "    exception.message = ValueError: boom\n"
             "    exception.stacktrace =\n"
             "      Traceback:\n"
             "        File \"x.py\"\n"
             "      ValueError: boom\n"
             "  (2 events dropped)\n"
             "  link aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 0101010101010101\n",
             long_value);
    bool same = same_text(out, want);
    free(out);
    ASSERT(same);
}

/* Names longer than the name column are cut so the bars stay aligned;
 * hostile text stays display-safe; odd times draw no bar; a width too small
 * still gets a 10-column waterfall; a trace whose spans all take no time
 * draws thin marks. */
static void test_hostile_names_and_odd_times(void)
{
    size_t big = 100000;
    char *huge = malloc(big + 1);
    ASSERT(huge != NULL);
    memset(huge, 'n', big);
    huge[big] = '\0';
    struct ctr_span a, b, c, d;
    mk_span(&a, 0xcc, 0x01, 0, huge, 0, 10);
    mk_span(&b, 0xcc, 0x02, 0x01, "evil\x1b[2J\xe2\x80\xae", 2, 4);
    mk_span(&c, 0xcc, 0x03, 0x01, "backwards", 5, 3);
    mk_span(&d, 0xcc, 0x04, 0x01, "", 6, 6);
    struct ctr_span *spans[] = {&a, &b, &c, &d};
    struct ctr_render_options o;
    ctr_render_options_default(&o);
    o.ascii = true;
    o.width = 60;
    char *out = render(spans, 4, &o);
    ASSERT(out != NULL);
    const char *want_tail = "n\xe2\x80\xa6  10.0 ms  #########################\n"
                            "|- evil\\x1b[2J\\u202e       2.0 ms       #####\n"
                            "|- backwards                 ? ms\n"
                            "`- (no name)               0.0 ms                 |\n";
    const char *rows = strchr(strchr(out, '\n') + 1, '\n') + 1;
    size_t longest = 0, cur = 0;
    for (const char *p = rows; *p; p++) { /* the header is not cut */
        cur = *p == '\n' ? 0 : cur + ((*p & 0xC0) != 0x80);
        longest = cur > longest ? cur : longest;
    }
    bool tail = strstr(rows, want_tail) != NULL;
    bool no_escape = strchr(out, '\033') == NULL;
    if (!tail)
        fprintf(stderr, "got:\n%s\n", out);
    free(out);
    free(huge);
    ASSERT(tail);
    ASSERT(no_escape);
    ASSERT(longest <= 60);

    o.width = 1; /* far too narrow: the bars keep 10 columns */
    mk_span(&a, 0xcc, 0x01, 0, "a", 7, 7);
    struct ctr_span *one[] = {&a};
    out = render(one, 1, &o);
    bool narrow = same_text(out, "trace cccccccccccccccccccccccccccccccc  service=chaostoolkit  "
                                 "1 span  start=2023-11-14T22:13:20.007Z\n"
                                 "           0   0.0 ms\n"
                                 "a  0.0 ms  |\n");
    free(out);
    ASSERT(narrow);
}

/* Iteration numbers: chaostoolkit.hypothesis.iteration when a span has it,
 * else the rank by start among the continuous hypotheses. */
static void test_iteration_numbers(void)
{
    struct ctr_attr with_number[] = {{S("chaostoolkit.type"), VSTR("hypothesis")},
                                     {S("chaostoolkit.hypothesis.phase"), VSTR("continuous")},
                                     {S("chaostoolkit.hypothesis.iteration"), VINT(7)}};
    struct ctr_span s[3];
    mk_span(&s[0], 0xdd, 0x01, 0, "third", 30, 31);
    mk_span(&s[1], 0xdd, 0x02, 0, "first", 10, 11);
    mk_span(&s[2], 0xdd, 0x03, 0, "numbered", 20, 21);
    set_attrs(&s[0], a_cont, 2);
    set_attrs(&s[1], a_cont, 2);
    set_attrs(&s[2], with_number, 3);
    struct ctr_span *p[] = {&s[0], &s[1], &s[2]};
    char *out = render(p, 3, NULL);
    bool same = same_text(out, "trace dddddddddddddddddddddddddddddddd  service=chaostoolkit  "
                               "3 spans  start=2023-11-14T22:13:20.010Z\n"
                               "first     1.0 ms  [hypothesis continuous iteration 1]\n"
                               "numbered  1.0 ms  [hypothesis continuous iteration 7]\n"
                               "third     1.0 ms  [hypothesis continuous iteration 3]\n");
    free(out);
    ASSERT(same);
}

/* --trace: a prefix of hex digits in any case picks traces in start order;
 * the renderer then shows only the one asked for. */
static void test_trace_selection(void)
{
    struct ctr_span s[3];
    mk_span(&s[0], 0xab, 0x01, 0, "late", 50, 60);
    mk_span(&s[1], 0xac, 0x02, 0, "early", 0, 1);
    mk_span(&s[2], 0x12, 0x03, 0, "other", 20, 21);
    struct ctr_span *p[] = {&s[0], &s[1], &s[2]};
    struct ctr_batch b = {&res, NULL, p, 3};
    uint8_t ids[2][CTR_TRACE_ID_LEN];
    size_t count = 99;
    ASSERT_EQ(ctr_render_match_traces(&b, 1, "A", ids, 2, &count), 0);
    ASSERT_EQ(count, 2);
    ASSERT_EQ(ids[0][0], 0xac); /* starts first */
    ASSERT_EQ(ids[1][0], 0xab);
    ASSERT_EQ(ctr_render_match_traces(&b, 1, "aBaBab", ids, 2, &count), 0);
    ASSERT_EQ(count, 1);
    ASSERT_EQ(ids[0][0], 0xab);
    ASSERT_EQ(ctr_render_match_traces(&b, 1, "", NULL, 0, &count), 0);
    ASSERT_EQ(count, 3);
    ASSERT_EQ(ctr_render_match_traces(&b, 1, "ff", ids, 2, &count), 0);
    ASSERT_EQ(count, 0);
    ASSERT_EQ(ctr_render_match_traces(&b, 1, "12345678901234567890123456789012a", ids, 2, &count),
              CTR_EINVAL);
    ASSERT_EQ(ctr_render_match_traces(&b, 1, "xyz", ids, 2, &count), CTR_EINVAL);
    ASSERT_EQ(ctr_render_match_traces(&b, 1, NULL, ids, 2, &count), CTR_EINVAL);
    ASSERT_EQ(ctr_render_match_traces(&b, 1, "a", NULL, 2, &count), CTR_EINVAL);

    uint8_t want[CTR_TRACE_ID_LEN];
    memset(want, 0x12, sizeof want);
    struct ctr_render_options o;
    ctr_render_options_default(&o);
    o.trace_id = want;
    char *out = render(p, 3, &o);
    bool same = same_text(out, "trace 12121212121212121212121212121212  service=chaostoolkit  "
                               "1 span  start=2023-11-14T22:13:20.020Z\n"
                               "other  1.0 ms\n");
    free(out);
    ASSERT(same);
    memset(want, 0x77, sizeof want);
    out = render(p, 3, &o);
    ASSERT(out != NULL && out[0] == '\0');
    free(out);
}

/* What a whole file is when its lines are not OTLP JSON requests. */
static void test_json_kind(void)
{
    static const struct {
        const char *text;
        enum ctr_json_kind kind;
    } cases[] = {
        {"{\n  \"chaoslib-version\": \"1.44\",\n  \"experiment\": {\"title\": \"t\"},\n"
         "  \"status\": \"completed\",\n  \"run\": []\n}\n",
         CTR_JSON_CTK_JOURNAL},
        {"{\"experiment\": {}, \"steady_states\": {\"before\": null}}", CTR_JSON_CTK_JOURNAL},
        {"{\"title\": \"t\", \"method\": []}", CTR_JSON_CTK_EXPERIMENT},
        {"{\"title\": \"t\", \"steady-state-hypothesis\": {}}", CTR_JSON_CTK_EXPERIMENT},
        {"{\n \"resourceSpans\": [\n ]\n}", CTR_JSON_REQUEST},
        {"{}", CTR_JSON_REQUEST},
        {"[1, 2]", CTR_JSON_OTHER},
        {"{\"experiment\": \"not an object\", \"run\": []}", CTR_JSON_OTHER},
        {"{\"a\": 1}\n{\"b\": 2}\n", CTR_JSON_NOT_JSON},
        {"plain text", CTR_JSON_NOT_JSON},
        {"", CTR_JSON_NOT_JSON},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        enum ctr_json_kind kind = (enum ctr_json_kind) - 1;
        ASSERT_EQ(ctr_json_kind(cases[i].text, strlen(cases[i].text), 0, &kind), 0);
        if (kind != cases[i].kind)
            TEST_FAIL_AT("case %zu: kind %d, want %d", i, (int)kind, (int)cases[i].kind);
    }
    enum ctr_json_kind kind;
    ASSERT_EQ(ctr_json_kind(NULL, 1, 0, &kind), CTR_EINVAL);
    ASSERT_EQ(ctr_json_kind("{}", 2, 0, NULL), CTR_EINVAL);
    const char big[] = "{\"a\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]}";
    ASSERT_EQ(ctr_json_kind(big, strlen(big), 64, &kind), CTR_ETOOBIG);
}

TEST_MAIN(TEST_CASE(test_waterfall_of_a_run), TEST_CASE(test_unicode_colour_and_defaults),
          TEST_CASE(test_wide_text_keeps_the_columns), TEST_CASE(test_verbose_details),
          TEST_CASE(test_hostile_names_and_odd_times), TEST_CASE(test_iteration_numbers),
          TEST_CASE(test_trace_selection), TEST_CASE(test_json_kind))
