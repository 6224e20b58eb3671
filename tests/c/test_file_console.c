/*
 * The file exporter (OTLP JSON lines, O_APPEND, concurrent writers) and the
 * console exporter (the span tree of src/render, one write per batch).
 */
#include <chaostracing/exporter.h>

#include "fixture.h"
#include "scratch.h"
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- spans built by hand (no tracer needed) ---- */

#define T0 1700000000000000000ull

static struct ctr_attr res_attrs[] = {
    {{"service.name", 12}, {.type = CTR_VALUE_STRING, .u.s = {"chaostoolkit", 12}}},
};
static struct ctr_resource test_resource = {.attrs = {res_attrs, 1, 1, 0}};
static struct ctr_scope test_scope = {{"chaostracing", 12}, {CTR_VERSION, sizeof CTR_VERSION - 1}};

static struct ctr_batch mk_batch(struct ctr_span *const *spans, size_t n)
{
    return (struct ctr_batch){&test_resource, &test_scope, spans, n};
}

/* ---- a strict little JSON syntax checker ---- */

static const char *js_value(const char *p, int depth);

static const char *js_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static const char *js_string(const char *p)
{
    if (*p != '"')
        return NULL;
    for (p++; *p != '"'; p++) {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
    }
    return p + 1;
}

static const char *js_number(const char *p)
{
    const char *q = p;
    if (*q == '-')
        q++;
    if (*q < '0' || *q > '9')
        return NULL;
    while ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' ||
           *q == '-')
        q++;
    return q;
}

static const char *js_value(const char *p, int depth)
{
    if (depth > 64)
        return NULL;
    p = js_ws(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        bool obj = *p == '{';
        p = js_ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (obj) {
                p = js_string(js_ws(p));
                if (!p)
                    return NULL;
                p = js_ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            p = js_value(p, depth + 1);
            if (!p)
                return NULL;
            p = js_ws(p);
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p == close)
                return p + 1;
            return NULL;
        }
    }
    if (*p == '"')
        return js_string(p);
    if (strncmp(p, "true", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    if (strncmp(p, "null", 4) == 0)
        return p + 4;
    return js_number(p);
}

/* True when `s` is exactly one JSON value (no newline inside). */
static bool json_valid(const char *s)
{
    const char *end = js_value(s, 0);
    return end && *js_ws(end) == '\0';
}

/* ---- helpers ---- */

/* Split `s` into lines in place; returns the count, lines in `out`. A final
 * line without '\n' counts too. */
static size_t split_lines(char *s, char **out, size_t max)
{
    size_t n = 0;
    while (*s && n < max) {
        out[n++] = s;
        char *nl = strchr(s, '\n');
        if (!nl)
            break;
        *nl = '\0';
        s = nl + 1;
    }
    return n;
}

/* ---- file exporter ---- */

static void test_file_two_batches_two_lines(void)
{
    make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/two.jsonl", tmpdir);
    unlink(path);

    struct ctr_span a, b, c;
    mk_span(&a, 0x11, 0x01, 0, "experiment", 0, 100);
    mk_span(&b, 0x11, 0x02, 0x01, "method \"quoted\"\n", 10, 50);
    mk_span(&c, 0x22, 0x03, 0, "other", 5, 6);
    struct ctr_span *s1[] = {&a, &b};
    struct ctr_span *s2[] = {&c};
    struct ctr_batch b1 = mk_batch(s1, 2), b2 = mk_batch(s2, 1);

    mode_t old = umask(022);
    struct ctr_exporter *e = NULL;
    char err[256] = "x";
    ASSERT_EQ(ctr_file_exporter_new(path, &e, err, sizeof err), 0);
    umask(old);
    ASSERT(e != NULL);
    ASSERT_STREQ(err, "");
    ASSERT_STREQ(e->ops->name, "file");
    struct stat st;
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0644);
    ASSERT_EQ(st.st_size, 0);

    ASSERT_EQ(ctr_exporter_export(e, &b1, ctr_deadline_after_ms(1000)), 0);
    ASSERT_EQ(ctr_exporter_export(e, &b2, ctr_deadline_after_ms(1000)), 0);
    struct ctr_batch empty = mk_batch(s1, 0);
    ASSERT_EQ(ctr_exporter_export(e, &empty, ctr_deadline_after_ms(1000)), 0); /* no line */
    ASSERT_UEQ(atomic_load(&e->stats.spans_exported), 3);
    ASSERT_UEQ(atomic_load(&e->stats.spans_failed), 0);
    ASSERT_EQ(ctr_exporter_shutdown(e, ctr_deadline_after_ms(1000)), 0);
    ASSERT_EQ(ctr_exporter_shutdown(e, ctr_deadline_after_ms(1000)), 0); /* idempotent */
    /* After shutdown: refused and counted. */
    ASSERT_EQ(ctr_exporter_export(e, &b2, ctr_deadline_after_ms(1000)), CTR_ESHUTDOWN);
    ASSERT_UEQ(atomic_load(&e->stats.spans_failed), 1);
    ASSERT_UEQ(atomic_load(&e->stats.batches_failed), 1);
    ctr_exporter_destroy(e);

    size_t len = 0;
    char *text = slurp(path, &len);
    ASSERT(text != NULL);
    ASSERT(len > 0 && text[len - 1] == '\n');
    char *lines[8];
    size_t n = split_lines(text, lines, 8);
    ASSERT_EQ(n, 2);

    /* Each line is exactly the JSON encoder's output for its batch. */
    struct ctr_buf want1 = {0}, want2 = {0};
    ASSERT_EQ(ctr_otlp_json_encode(&b1, &want1), 0);
    ASSERT_EQ(ctr_otlp_json_encode(&b2, &want2), 0);
    ctr_buf_putc(&want1, '\0');
    ctr_buf_putc(&want2, '\0');
    for (size_t i = 0; i < n; i++) {
        if (strncmp(lines[i], "{\"resourceSpans\":", 17) != 0) {
            free(text);
            TEST_FAIL_AT("line %zu does not start with {\"resourceSpans\": : %.60s", i, lines[i]);
        }
        if (!json_valid(lines[i])) {
            free(text);
            TEST_FAIL_AT("line %zu is not valid JSON", i);
        }
    }
    int same1 = strcmp(lines[0], (char *)want1.data) == 0;
    int same2 = strcmp(lines[1], (char *)want2.data) == 0;
    /* The escaped name of span b is on the first line, not split across two. */
    int has_b = strstr(lines[0], "method \\\"quoted\\\"\\n") != NULL;
    int has_c = strstr(lines[1], "\"other\"") != NULL;
    ctr_buf_free(&want1);
    ctr_buf_free(&want2);
    free(text);
    unlink(path);
    ASSERT(same1);
    ASSERT(same2);
    ASSERT(has_b);
    ASSERT(has_c);
}

static void test_file_appends_to_existing(void)
{
    make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/existing.jsonl", tmpdir);
    FILE *f = fopen(path, "w");
    ASSERT(f != NULL);
    fputs("previous line\n", f);
    fclose(f);

    struct ctr_span a;
    mk_span(&a, 0x33, 0x04, 0, "x", 0, 1);
    struct ctr_span *s1[] = {&a};
    struct ctr_batch b1 = mk_batch(s1, 1);
    struct ctr_exporter *e = NULL;
    char err[256];
    ASSERT_EQ(ctr_file_exporter_new(path, &e, err, sizeof err), 0);
    ASSERT_EQ(ctr_exporter_export(e, &b1, ctr_deadline_after_ms(1000)), 0);
    ctr_exporter_destroy(e); /* destroy without shutdown still leaves the data */

    char *text = slurp(path, NULL);
    ASSERT(text != NULL);
    int ok = strncmp(text, "previous line\n{\"resourceSpans\":", 31) == 0;
    size_t nl = 0;
    for (char *p = text; *p; p++)
        nl += *p == '\n';
    free(text);
    unlink(path);
    ASSERT(ok);
    ASSERT_EQ(nl, 2);
}

static void test_file_destination_is_absolute(void)
{
    make_tmpdir();
    char cwd[512];
    ASSERT(getcwd(cwd, sizeof cwd) != NULL);
    ASSERT_EQ(chdir(tmpdir), 0);
    struct ctr_exporter *e = NULL;
    char err[256];
    int rc = ctr_file_exporter_new("rel.jsonl", &e, err, sizeof err);
    int cd = chdir(cwd);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(cd, 0);
    char want[600];
    snprintf(want, sizeof want, "%s/rel.jsonl", tmpdir);
    char *real = realpath(want, NULL);
    ASSERT(real != NULL);
    int same = strcmp(e->destination, real) == 0;
    free(real);
    ctr_exporter_destroy(e);
    unlink(want);
    ASSERT(same);
}

static void test_file_bad_path_is_eio(void)
{
    struct ctr_exporter *e = (struct ctr_exporter *)1;
    char err[256] = "";
    int rc = ctr_file_exporter_new("/nonexistent-dir-ctr/x/spans.jsonl", &e, err, sizeof err);
    ASSERT_EQ(rc, CTR_EIO);
    ASSERT(e == NULL);
    ASSERT(strstr(err, "/nonexistent-dir-ctr/x/spans.jsonl") != NULL);
    ASSERT(strstr(err, strerror(ENOENT)) != NULL);

    make_tmpdir(); /* a directory is not writable as a file */
    rc = ctr_file_exporter_new(tmpdir, &e, err, sizeof err);
    ASSERT_EQ(rc, CTR_EIO);
    ASSERT(strstr(err, strerror(EISDIR)) != NULL);

    ASSERT_EQ(ctr_file_exporter_new("", &e, err, sizeof err), CTR_EINVAL);
}

/* Several processes appending big lines to one file: every line must come
 * out whole (the test fails if writes interleave inside a line). */
static void test_file_concurrent_processes(void)
{
    make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/concurrent.jsonl", tmpdir);
    unlink(path);
    enum { PROCS = 4, BATCHES = 40 };

    static char big[16 * 1024];
    memset(big, 'a', sizeof big - 1);
    struct ctr_attr attr = {{"payload", 7},
                            {.type = CTR_VALUE_STRING, .u.s = {big, sizeof big - 1}}};

    struct ctr_exporter *e = NULL;
    char err[256];
    ASSERT_EQ(ctr_file_exporter_new(path, &e, err, sizeof err), 0);
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        ASSERT(pids[p] >= 0);
        if (pids[p] == 0) {
            if (e->ops->after_fork_child)
                e->ops->after_fork_child(e);
            struct ctr_span s;
            mk_span(&s, (uint8_t)(0x40 + p), 0x05, 0, "worker", 0, 1);
            s.attrs = (struct ctr_attr_list){&attr, 1, 1, 0};
            struct ctr_span *arr[] = {&s};
            struct ctr_batch b = mk_batch(arr, 1);
            int bad = 0;
            for (int i = 0; i < BATCHES; i++)
                bad |= ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000)) != 0;
            _exit(bad);
        }
    }
    int all_ok = 1;
    for (int p = 0; p < PROCS; p++) {
        int status = 0;
        waitpid(pids[p], &status, 0);
        all_ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    ctr_exporter_destroy(e);
    ASSERT(all_ok);

    char *text = slurp(path, NULL);
    ASSERT(text != NULL);
    static char *lines[PROCS * BATCHES + 8];
    size_t n = split_lines(text, lines, PROCS * BATCHES + 8);
    int per_proc[PROCS] = {0};
    size_t bad_lines = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(lines[i], "{\"resourceSpans\":", 17) != 0 || !json_valid(lines[i])) {
            bad_lines++;
            continue;
        }
        /* Which worker wrote it: its trace id. */
        for (int p = 0; p < PROCS; p++) {
            char tid[40];
            snprintf(tid, sizeof tid, "\"traceId\":\"%02x%02x", 0x40 + p, 0x40 + p);
            if (strstr(lines[i], tid))
                per_proc[p]++;
        }
    }
    free(text);
    unlink(path);
    ASSERT_EQ(n, PROCS * BATCHES);
    ASSERT_EQ(bad_lines, 0);
    for (int p = 0; p < PROCS; p++)
        ASSERT_EQ(per_proc[p], BATCHES);
}

/* ---- console exporter ---- */

/* Run the console exporter on `batch` and return what it printed
 * (malloc'd). */
static char *console_render(const struct ctr_batch *batch, int *rc)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;
    struct ctr_exporter *e = NULL;
    *rc = ctr_console_exporter_new(f, &e);
    if (*rc == 0) {
        *rc = ctr_exporter_export(e, batch, ctr_deadline_after_ms(1000));
        if (*rc == 0 && atomic_load(&e->stats.spans_exported) != batch->len)
            *rc = -100;
        ctr_exporter_shutdown(e, ctr_deadline_after_ms(1000));
        ctr_exporter_destroy(e);
    }
    fclose(f);
    return buf;
}

static void test_console_tree(void)
{
    /* Trace 0xaa: experiment > method > {probe, action}; an orphan whose
     * parent is not in the batch; trace 0xbb starts later. The batch order
     * is scrambled on purpose. */
    struct ctr_span exp, method, probe, action, orphan, other;
    mk_span(&exp, 0xaa, 0x01, 0, "experiment", 0, 1500);
    mk_span(&method, 0xaa, 0x02, 0x01, "method", 100, 1000);
    mk_span(&probe, 0xaa, 0x03, 0x02, "probe-a", 200, 300);
    mk_span(&action, 0xaa, 0x04, 0x02, "action b", 150, 160);
    mk_span(&orphan, 0xaa, 0x05, 0x09, "rollback", 1200, 1300);
    mk_span(&other, 0xbb, 0x06, 0, "later", 2000, 2000);

    struct ctr_attr exp_attrs[] = {
        {S("chaos.title"), VSTR("my experiment")}, /* not a tag: not shown */
        {S("chaostoolkit.type"), VSTR("experiment")},
    };
    exp.attrs = (struct ctr_attr_list)ATTRS(exp_attrs);
    exp.status = CTR_STATUS_OK;
    method.status = CTR_STATUS_ERROR;
    method.status_message = (struct ctr_str)S("probe failed");
    probe.kind = CTR_KIND_CLIENT;
    struct ctr_attr probe_attrs[] = {
        {S("chaostoolkit.type"), VSTR("activity")},
        {S("chaostoolkit.activity.status"), VSTR("succeeded")},
        {S("http.response.status_code"), VINT(503)},
    };
    probe.attrs = (struct ctr_attr_list)ATTRS_D(probe_attrs, 2);

    struct ctr_span *spans[] = {&probe, &other, &orphan, &action, &method, &exp};
    struct ctr_batch b = mk_batch(spans, 6);
    int rc = -1;
    char *out = console_render(&b, &rc);
    ASSERT(out != NULL);
    const char *want =
        "trace aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa  service=chaostoolkit  5 spans  "
        "start=2023-11-14T22:13:20.000Z\n"
        "experiment      1500.0 ms  ok  [experiment]\n"
        "\xe2\x94\x94\xe2\x94\x80 method        900.0 ms  ERROR  \"probe failed\"\n"
        "   \xe2\x94\x9c\xe2\x94\x80 action b    10.0 ms\n"
        "   \xe2\x94\x94\xe2\x94\x80 probe-a    100.0 ms  client  [activity succeeded http 503]\n"
        "rollback         100.0 ms  (parent not found)\n"
        "\n"
        "trace bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb  service=chaostoolkit  1 span  "
        "start=2023-11-14T22:13:22.000Z\n"
        "later  0.0 ms\n";
    int same = strcmp(out, want) == 0;
    if (!same)
        fprintf(stderr, "got:\n%s\nwant:\n%s\n", out, want);
    free(out);
    ASSERT_EQ(rc, 0);
    ASSERT(same);
}

/* Span text cannot drive the terminal; parent cycles are shown once. */
static void test_console_display_safe_and_cycles(void)
{
    struct ctr_span s;
    mk_span(&s, 0xcc, 0x01, 0, "caf\xc3\xa9\n\x1b[31m", 0, 1);
    static char longv[300];
    memset(longv, 'v', sizeof longv - 1);
    struct ctr_attr attrs[] = {
        {S("chaostoolkit.type"), {.type = CTR_VALUE_STRING, .u.s = {longv, sizeof longv - 1}}},
        {S("chaostoolkit.activity.status"), VSTR("x\"y\x07")},
    };
    s.attrs = (struct ctr_attr_list)ATTRS(attrs);
    /* A span that is its own parent and a two-span parent cycle must still
     * be printed, once each. */
    struct ctr_span self, c1, c2;
    mk_span(&self, 0xcc, 0x07, 0x07, "self", 5, 6);
    mk_span(&c1, 0xcc, 0x08, 0x09, "cycle1", 7, 8);
    mk_span(&c2, 0xcc, 0x09, 0x08, "cycle2", 9, 10);
    struct ctr_span *spans[] = {&s, &self, &c1, &c2};
    struct ctr_batch b = mk_batch(spans, 4);
    int rc = -1;
    char *out = console_render(&b, &rc);
    ASSERT(out != NULL);
    char want[2048];
    snprintf(want, sizeof want,
             "trace cccccccccccccccccccccccccccccccc  service=chaostoolkit  4 spans  "
             "start=2023-11-14T22:13:20.000Z\n"
             "caf\xc3\xa9\\x0a\\x1b[31m  1.0 ms  [%.63s\xe2\x80\xa6 x\"y\\x07]\n"
             "self              1.0 ms  (parent cycle)\n"
             "cycle1            1.0 ms  (parent cycle)\n"
             "\xe2\x94\x94\xe2\x94\x80 cycle2         1.0 ms\n",
             longv);
    int same = strcmp(out, want) == 0;
    if (!same)
        fprintf(stderr, "got:\n%s\nwant:\n%s\n", out, want);
    int controls = 0;
    for (const char *p = out; *p; p++)
        controls += *p != '\n' && ((unsigned char)*p < 0x20 || *p == 0x7f);
    free(out);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(controls, 0);
    ASSERT(same);
}

static void test_console_defaults(void)
{
    struct ctr_exporter *e = NULL;
    ASSERT_EQ(ctr_console_exporter_new(NULL, &e), 0);
    ASSERT_STREQ(e->destination, "stderr");
    ASSERT_STREQ(e->ops->name, "console");
    ctr_exporter_destroy(e);
    /* NULL-safe wrappers. */
    ASSERT_EQ(ctr_exporter_export(NULL, NULL, 0), CTR_EINVAL);
    ASSERT_EQ(ctr_exporter_shutdown(NULL, 0), 0);
    ctr_exporter_destroy(NULL);
}

static void test_zz_cleanup(void)
{
    cleanup_tmpdir();
}

TEST_MAIN(TEST_CASE(test_file_two_batches_two_lines), TEST_CASE(test_file_appends_to_existing),
          TEST_CASE(test_file_destination_is_absolute), TEST_CASE(test_file_bad_path_is_eio),
          TEST_CASE(test_file_concurrent_processes), TEST_CASE(test_console_tree),
          TEST_CASE(test_console_display_safe_and_cycles), TEST_CASE(test_console_defaults),
          TEST_CASE(test_zz_cleanup))
