/*
 * Tests of the spool (chaostracing/spool.h) and of the batch processor's
 * part in it: retries of retryable failures, the reserve for essential spans,
 * spilling what the shutdown deadline leaves, replaying earlier runs while
 * idle, and the stats invariant through all of it.
 *
 * Spans come from make_span (texp.h): their ids encode their sequence
 * number, so what reaches an exporter after a trip through the disk can be
 * checked span by span. Concurrent senders and killed writers are real
 * processes (fork); the collector that is down and back is a real OTLP/HTTP
 * exporter against loopback. Every directory lives under one scratch
 * directory in /tmp, removed at the end; every wait is bounded.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chaostracing/decode.h>
#include <chaostracing/spool.h>

#include "test.h"
#include "texp.h"
#include "scratch.h"
#include "log_capture.h"
#include "http_server.h"

/* --- files and directories --------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    remove(path);
    return 0;
}

/* Remove `path` and everything below it; nothing when it does not exist. */
static void rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Remove the scratch directory at exit (forked children _exit). */
static void remove_scratch(void)
{
    rm_tree(tmpdir);
}

/* "<scratch>/<name>" into `out`, with nothing there yet. */
static const char *fresh_path(char *out, size_t size, const char *name)
{
    if (!tmpdir[0]) {
        make_tmpdir();
        atexit(remove_scratch);
    }
    snprintf(out, size, "%s/%s", tmpdir, name);
    rm_tree(out);
    return out;
}

#define MAX_LISTED 1024

/* The names in `dir` (no "." or ".."), sorted. */
struct listing {
    char name[MAX_LISTED][256];
    size_t n;
};

static int cmp_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* List `dir` into a malloc'ed listing (empty when `dir` cannot be read). */
static struct listing *list_dir(const char *dir)
{
    struct listing *l = calloc(1, sizeof *l);
    if (!l)
        abort();
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) && l->n < MAX_LISTED) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            snprintf(l->name[l->n++], sizeof l->name[0], "%s", de->d_name);
    }
    if (d)
        closedir(d);
    qsort(l->name, l->n, sizeof l->name[0], cmp_name);
    return l;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The span count a spool file name carries ("…-<count>.jsonl"); -1 when the
 * name is not one. */
static long name_spans(const char *name)
{
    const char *suffix = strstr(name, ".jsonl");
    const char *dash = NULL;
    for (const char *p = name; suffix && p < suffix; p++)
        if (*p == '-')
            dash = p;
    if (!dash || dash + 1 == suffix)
        return -1;
    long n = 0;
    for (const char *p = dash + 1; p < suffix; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        n = n * 10 + (*p - '0');
    }
    return n;
}

/* Unclaimed spool files in `dir` and the spans they hold (by their names). */
static size_t spool_files(const char *dir, long *spans)
{
    struct listing *l = list_dir(dir);
    size_t files = 0;
    *spans = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (ends_with(l->name[i], ".jsonl")) {
            files++;
            *spans += name_spans(l->name[i]);
        }
    }
    free(l);
    return files;
}

/* How many names `dir` holds. */
static size_t entries(const char *dir)
{
    struct listing *l = list_dir(dir);
    size_t n = l->n;
    free(l);
    return n;
}

/* The only name in `dir` into `out`; false when there is not exactly one. */
static bool only_name(const char *dir, char *out, size_t size)
{
    struct listing *l = list_dir(dir);
    bool one = l->n == 1;
    if (one)
        snprintf(out, size, "%s", l->name[0]);
    free(l);
    return one;
}

/* Claim the oldest unclaimed spool file of `dir` in the name of `pid`, as
 * that process would; its new path goes to `out`. */
static bool claim_for(const char *dir, pid_t pid, char *out, size_t size)
{
    struct listing *l = list_dir(dir);
    bool ok = false;
    for (size_t i = 0; i < l->n && !ok; i++) {
        if (!ends_with(l->name[i], ".jsonl"))
            continue;
        char from[1024];
        snprintf(from, sizeof from, "%s/%s", dir, l->name[i]);
        snprintf(out, size, "%s.claimed.%ld", from, (long)pid);
        ok = rename(from, out) == 0;
    }
    free(l);
    return ok;
}

/* --- spans on disk ------------------------------------------------------ */

/* The OTLP JSON line of spans first .. first + n - 1 (n <= 64), as the
 * processor writes it. The caller frees `out`. */
static void encode_spans(uint64_t first, size_t n, struct ctr_buf *out)
{
    struct ctr_span *spans[64];
    test_resource_init();
    for (size_t i = 0; i < n; i++)
        spans[i] = make_span(first + i);
    struct ctr_batch b = {&test_resource, &test_scope, spans, n};
    memset(out, 0, sizeof *out);
    if (ctr_otlp_json_encode(&b, out) != 0 || out->err)
        abort();
    for (size_t i = 0; i < n; i++)
        ctr_span_free(spans[i]);
}

/* Spool spans first .. first + n - 1 as one file. */
static int write_spans(struct ctr_spool *s, uint64_t first, size_t n, uint64_t *evicted)
{
    struct ctr_buf line;
    encode_spans(first, n, &line);
    int rc = ctr_spool_write(s, line.data, line.len, n, evicted);
    ctr_buf_free(&line);
    return rc;
}

static struct ctr_spool *open_spool(const char *dir, uint64_t max_bytes)
{
    struct ctr_spool *s = NULL;
    char err[256];
    if (ctr_spool_open(dir, max_bytes, &s, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        abort();
    }
    return s;
}

/* Decode every line of `text` and add 1 to seen[seq] for each span, as long
 * as seq < n_seen. Returns the spans decoded, or -1 when a line is not a
 * whole request or a span has ids make_span would not give. */
static long decode_count(const char *text, size_t len, int *seen, size_t n_seen)
{
    struct ctr_trace_data d;
    ctr_trace_data_init(&d);
    long total = -1;
    const char *p = text, *end = text + len;
    bool ok = true;
    while (ok && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        ok = ctr_trace_data_append_line(&d, p, n, NULL, 0) == 0;
        p += n + 1;
    }
    for (size_t b = 0; ok && b < d.n_batches; b++) {
        for (size_t i = 0; ok && i < d.batches[b].len; i++) {
            uint64_t seq;
            const struct ctr_span *s = d.batches[b].spans[i];
            ok = seq_of(s, &seq) && s->start_ns == seq;
            if (ok && seq < n_seen)
                seen[seq]++;
        }
    }
    if (ok && d.spans_skipped == 0)
        total = (long)d.n_spans;
    ctr_trace_data_free(&d);
    return total;
}

/* Decode every unclaimed spool file of `dir` into seen[]; the spans, or -1
 * when a file does not decode whole. */
static long decode_spool(const char *dir, int *seen, size_t n_seen)
{
    struct listing *l = list_dir(dir);
    long total = 0;
    for (size_t i = 0; i < l->n && total >= 0; i++) {
        if (!ends_with(l->name[i], ".jsonl"))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, l->name[i]);
        size_t len = 0;
        char *text = slurp(path, &len);
        long n = text ? decode_count(text, len, seen, n_seen) : -1;
        total = n < 0 ? -1 : total + n;
        free(text);
    }
    free(l);
    return total;
}

static bool all_seen_once(const int *seen, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (seen[i] != 1)
            return false;
    return true;
}

/* --- processes ---------------------------------------------------------- */

/* Wait up to `ms` for `pid`; kill it if it is still there. Its exit status,
 * or -1 when it was killed or did not exit normally. */
static int reap(pid_t pid, unsigned ms)
{
    uint64_t t0 = now_ns();
    int status = 0;
    pid_t r;
    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && ms_since(t0) < ms)
        sleep_ms(1);
    if (r == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* --- processors over a spool ------------------------------------------- */

/* A batch processor over a fresh exporter double and, for a named test, a
 * spool in a fresh scratch directory of that name (r->dir). */
struct rig {
    char dir[512];
    struct watch w;
    struct texp *t;
    struct ctr_processor *p;
};

/* Set up `r`: the double fails every call with `fail_rc` (0: never); the
 * processor has the options given and, when `name` is not NULL, a spool. */
static void rig_start(struct rig *r, const char *name, int fail_rc, uint32_t queue,
                      uint32_t delay_ms, uint32_t timeout_ms, uint32_t batch, bool retry)
{
    r->t = texp_new(&r->w);
    r->t->fail_every = fail_rc ? 1 : 0;
    r->t->fail_rc = fail_rc;
    struct ctr_bsp_options o = {queue, delay_ms, timeout_ms, batch, retry, NULL};
    r->dir[0] = '\0';
    if (name)
        o.spool = open_spool(fresh_path(r->dir, sizeof r->dir, name), 0);
    if (ctr_batch_processor_new(&r->t->base, &test_resource, &test_scope, &o, &r->p) != 0)
        abort();
}

/* Destroy the processor, wait for the exporter to go, remove the spool. */
static bool rig_done(struct rig *r)
{
    r->p->ops->destroy(r->p);
    bool gone = wait_atomic_at_least(&r->w.destroyed, 1, 2000);
    if (r->dir[0])
        rm_tree(r->dir);
    return gone;
}

/* End spans first .. first + n - 1, essential ones when `essential`. */
static void end_spans(struct ctr_processor *p, uint64_t first, uint64_t n, bool essential)
{
    for (uint64_t i = first; i < first + n; i++) {
        struct ctr_span *s = make_span(i);
        if (essential)
            ctr_span_set_essential(s);
        p->ops->on_end(p, s);
    }
}

/* Write one spool file holding spans first .. first + n - 1 into `dir`. */
static int spool_file(const char *dir, uint64_t first, size_t n)
{
    struct ctr_spool *s = open_spool(dir, 0);
    int rc = write_spans(s, first, n, NULL);
    ctr_spool_close(s);
    return rc;
}

/* Poll until the processor has replayed `n` spans or `ms` pass. */
static bool wait_replayed(struct ctr_processor *p, uint64_t n, unsigned ms)
{
    uint64_t t0 = now_ns();
    while (stats_of(p).spans_replayed < n) {
        if (ms_since(t0) >= ms)
            return false;
        sleep_ms(1);
    }
    return true;
}

/* Shut `p` down with a deadline `ms` from now; returns its result, the time
 * it took in *el (printed after `what`). */
static int timed_shutdown(struct ctr_processor *p, unsigned ms, const char *what, double *el)
{
    uint64_t t0 = now_ns();
    int rc = p->ops->shutdown(p, ctr_deadline_after_ms(ms));
    *el = ms_since(t0);
    fprintf(stderr, "  shutdown, %s, deadline %u ms: %.1f ms\n", what, ms, *el);
    return rc;
}

/* The span counters a test expects; any not named is expected to be 0. */
struct counts {
    uint64_t ended, exported, failed, rejected, dropped, spooled, lost, queued;
};

/* True when the counters of `st` are `want` and add up; otherwise both go
 * to `why`. */
static bool counts_are(const struct ctr_processor_stats *st, struct counts want, char *why,
                       size_t size)
{
    struct counts got = {st->spans_ended,    st->spans_exported, st->spans_failed,
                         st->spans_rejected, st->spans_dropped,  st->spans_spooled,
                         st->spans_lost,     st->queue_len};
    if (memcmp(&got, &want, sizeof got) == 0 && stats_consistent(st))
        return true;
    snprintf(why, size,
             "ended/exported/failed/rejected/dropped/spooled/lost/queued: got %" PRIu64 "/%" PRIu64
             "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64
             ", want %" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64
             "/%" PRIu64 "/%" PRIu64,
             got.ended, got.exported, got.failed, got.rejected, got.dropped, got.spooled, got.lost,
             got.queued, want.ended, want.exported, want.failed, want.rejected, want.dropped,
             want.spooled, want.lost, want.queued);
    return false;
}

/* ASSERT_COUNTS(st, .ended = 5, .exported = 5): the counters of a stats
 * snapshot are those (the others 0) and satisfy the invariant. */
#define ASSERT_COUNTS(st, ...)                                                                     \
    do {                                                                                           \
        char why_[512];                                                                            \
        struct ctr_processor_stats st_ = (st);                                                     \
        if (!counts_are(&st_, (struct counts){__VA_ARGS__}, why_, sizeof why_))                    \
            TEST_FAIL_AT("%s", why_);                                                              \
    } while (0)

/* ===================================================================== */
/* Spool files                                                            */
/* ===================================================================== */

/* One write: one file named "<20-digit ns>-<pid>-<16 hex>-<spans>.jsonl"
 * holding the line and a newline, mode 0600, in a directory made 0700 with
 * its parents; it decodes to the same spans with their ids; nothing else is
 * left behind. */
static void test_write_one_file(void)
{
    char base[512], dir[600];
    fresh_path(base, sizeof base, "write");
    snprintf(dir, sizeof dir, "%s/a/b/spool", base);
    struct ctr_spool *s = NULL;
    char err[256];
    ASSERT_EQ(ctr_spool_open(dir, 0, &s, err, sizeof err), 0);
    ASSERT_STREQ(ctr_spool_dir(s), dir);
    const char *made[] = {"", "/a", "/a/b", "/a/b/spool"};
    for (size_t i = 0; i < 4; i++) {
        char p[700];
        struct stat st;
        snprintf(p, sizeof p, "%s%s", base, made[i]);
        ASSERT_EQ(stat(p, &st), 0);
        ASSERT(S_ISDIR(st.st_mode));
        ASSERT_EQ(st.st_mode & 0777, 0700);
    }

    struct ctr_buf line;
    encode_spans(7, 3, &line);
    uint64_t evicted = 0;
    int rc = ctr_spool_write(s, line.data, line.len, 3, &evicted);
    char name[256] = "";
    bool one = only_name(dir, name, sizeof name); /* no .tmp left */
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(evicted, 0);
    ASSERT(one);

    /* The name: 20 digits, our pid, 16 hex digits, the span count. */
    char want_tail[64];
    snprintf(want_tail, sizeof want_tail, "-%ld-", (long)getpid());
    for (int i = 0; i < 20; i++)
        ASSERT(name[i] >= '0' && name[i] <= '9');
    ASSERT(strncmp(name + 20, want_tail, strlen(want_tail)) == 0);
    const char *hex = name + 20 + strlen(want_tail);
    for (int i = 0; i < 16; i++)
        ASSERT((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'));
    ASSERT_STREQ(hex + 16, "-3.jsonl");

    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT(S_ISREG(st.st_mode));
    ASSERT_EQ(st.st_mode & 0777, 0600);
    size_t len = 0;
    char *text = slurp(path, &len);
    ASSERT(text != NULL);
    bool same =
        len == line.len + 1 && memcmp(text, line.data, line.len) == 0 && text[len - 1] == '\n';
    int seen[16] = {0};
    long decoded = decode_count(text, len, seen, 16);
    free(text);
    ctr_buf_free(&line);
    ASSERT(same);
    ASSERT_EQ(decoded, 3);
    for (int i = 0; i < 16; i++)
        ASSERT_EQ(seen[i], i >= 7 && i < 10);

    ctr_spool_close(s);
    rm_tree(base);
}

/* A write removes what dead writers left (an old "*.tmp") and old files set
 * aside in corrupt/, and keeps fresh ones. */
static void test_write_removes_leftovers(void)
{
    char base[512], p[700];
    fresh_path(base, sizeof base, "leftovers");
    struct ctr_spool *s = NULL;
    char err[256];
    ASSERT_EQ(ctr_spool_open(base, 0, &s, err, sizeof err), 0);
    snprintf(p, sizeof p, "%s/corrupt", base);
    ASSERT_EQ(mkdir(p, 0700), 0);
    const char *files[] = {"/1-1-1-1.jsonl.tmp", "/2-2-2-2.jsonl.tmp", "/corrupt/3-3-3-3.jsonl",
                           "/corrupt/4-4-4-4.jsonl"};
    time_t ages[] = {601, 10, 8 * 24 * 3600, 3600}; /* seconds old */
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", base, files[i]);
        FILE *f = fopen(p, "w");
        ASSERT(f != NULL);
        fputs("x", f);
        fclose(f);
        struct timespec t[2] = {{time(NULL) - ages[i], 0}, {time(NULL) - ages[i], 0}};
        ASSERT_EQ(utimensat(AT_FDCWD, p, t, 0), 0);
    }
    struct ctr_buf line;
    encode_spans(0, 1, &line);
    ASSERT_EQ(ctr_spool_write(s, line.data, line.len, 1, NULL), 0);
    ctr_buf_free(&line);
    bool left[4];
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", base, files[i]);
        left[i] = access(p, F_OK) == 0;
    }
    ctr_spool_close(s);
    rm_tree(base);
    ASSERT(!left[0] && left[1] && !left[2] && left[3]);
}

/* A directory that cannot be made is refused with a message naming it. */
static void test_open_refused(void)
{
    char base[512], dir[600];
    fresh_path(base, sizeof base, "refused");
    int fd = open(base, O_WRONLY | O_CREAT | O_EXCL, 0600); /* a file where a dir should be */
    ASSERT(fd >= 0);
    close(fd);
    snprintf(dir, sizeof dir, "%s/spool", base);
    struct ctr_spool *s = (struct ctr_spool *)1;
    char err[256] = "";
    ASSERT_EQ(ctr_spool_open(dir, 0, &s, err, sizeof err), CTR_EIO);
    ASSERT(s == NULL);
    ASSERT(strstr(err, dir) != NULL);
    ASSERT_EQ(ctr_spool_open("", 0, &s, err, sizeof err), CTR_EIO);
    ASSERT_EQ(ctr_spool_open(NULL, 0, &s, NULL, 0), CTR_EIO);
    rm_tree(base);
}

/* The bound: the oldest files go first, their span counts are reported; a
 * line larger than the bound is refused and leaves the spool as it was. */
static void test_bound_evicts_oldest(void)
{
    char dir[512];
    fresh_path(dir, sizeof dir, "bound");
    struct ctr_buf a, b, c;
    encode_spans(10, 2, &a); /* A: 2 spans */
    encode_spans(20, 3, &b); /* B: 3 spans */
    encode_spans(30, 1, &c); /* C: 1 span; D is the same size */
    uint64_t bound = (a.len + 1) + (b.len + 1) + (c.len + 1);
    ctr_buf_free(&a);
    ctr_buf_free(&b);
    ctr_buf_free(&c);
    struct ctr_spool *s = open_spool(dir, bound);
    uint64_t ev = 0;
    ASSERT_EQ(write_spans(s, 10, 2, &ev), 0);
    ASSERT_EQ(write_spans(s, 20, 3, &ev), 0);
    ASSERT_EQ(write_spans(s, 30, 1, &ev), 0);
    ASSERT_EQ(ev, 0);
    long spans = 0;
    ASSERT_EQ(spool_files(dir, &spans), 3);

    ASSERT_EQ(write_spans(s, 31, 1, &ev), 0); /* D: A (2 spans) goes */
    ASSERT_EQ(ev, 2);
    int seen[64] = {0};
    ASSERT_EQ(decode_spool(dir, seen, 64), 5);
    ASSERT(seen[10] == 0 && seen[11] == 0);
    ASSERT(seen[20] && seen[21] && seen[22] && seen[30] && seen[31]);

    ASSERT_EQ(write_spans(s, 40, 3, &ev), 0); /* E, as big as B: B goes */
    ASSERT_EQ(ev, 5);
    memset(seen, 0, sizeof seen);
    ASSERT_EQ(decode_spool(dir, seen, 64), 5);
    ASSERT(seen[20] == 0 && seen[21] == 0 && seen[22] == 0);
    ASSERT(seen[30] && seen[31] && seen[40] && seen[41] && seen[42]);

    /* Larger than the whole bound: refused, nothing evicted. */
    ASSERT_EQ(write_spans(s, 0, 40, &ev), CTR_EFULL);
    ASSERT_EQ(ev, 5);
    ASSERT_EQ(spool_files(dir, &spans), 3);
    ASSERT_EQ(spans, 5);
    /* The bound counts the newline too: a line of exactly max_bytes does
     * not fit, one byte less does. */
    struct ctr_buf big;
    encode_spans(50, 1, &big);
    struct ctr_spool *tight = open_spool(dir, big.len);
    ASSERT_EQ(ctr_spool_write(tight, big.data, big.len, 1, NULL), CTR_EFULL);
    ctr_spool_close(tight);
    ctr_buf_free(&big);
    ctr_spool_close(s);
    rm_tree(dir);
}

/* Claimed files (here by our parent, a live process) are never evicted; when
 * only claimed files are left the write is refused. */
static void test_claimed_never_evicted(void)
{
    char dir[512];
    fresh_path(dir, sizeof dir, "claimed");
    struct ctr_buf one;
    encode_spans(50, 1, &one);
    struct ctr_spool *s = open_spool(dir, 2 * (one.len + 1));
    ctr_buf_free(&one);
    uint64_t ev = 0;
    ASSERT_EQ(write_spans(s, 50, 1, &ev), 0); /* X */
    ASSERT_EQ(write_spans(s, 51, 1, &ev), 0); /* Y */

    /* Claim X (the oldest) as another live process would. */
    char x[1100], z[1100];
    ASSERT(claim_for(dir, getppid(), x, sizeof x));

    ASSERT_EQ(write_spans(s, 52, 1, &ev), 0); /* Z: Y goes, not X */
    ASSERT_EQ(ev, 1);
    struct stat st;
    ASSERT_EQ(stat(x, &st), 0);
    int seen[64] = {0};
    ASSERT_EQ(decode_spool(dir, seen, 64), 1);
    ASSERT_EQ(seen[52], 1);

    /* Claim Z too: nothing can go, so the next write is refused. */
    ASSERT(claim_for(dir, getppid(), z, sizeof z));
    ASSERT_EQ(write_spans(s, 53, 1, &ev), CTR_EFULL);
    ASSERT_EQ(ev, 1);
    ASSERT_EQ(stat(x, &st), 0);
    ASSERT_EQ(stat(z, &st), 0);
    ctr_spool_close(s);
    rm_tree(dir);
}

/* Sets or unsets an environment variable. */
static void set_env(const char *name, const char *value)
{
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

/* $XDG_CACHE_HOME (absolute) wins, else $HOME/.cache, else none. */
static void test_default_dir(void)
{
    char *xdg = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
    char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    char out[256], tiny[16];
    int rc[6];
    char got[4][256] = {"", "", "", ""};

    set_env("XDG_CACHE_HOME", "/x/cache");
    set_env("HOME", "/home/u");
    rc[0] = ctr_spool_default_dir(NULL, NULL, out, sizeof out);
    snprintf(got[0], sizeof got[0], "%s", out);
    set_env("XDG_CACHE_HOME", NULL);
    rc[1] = ctr_spool_default_dir(NULL, NULL, out, sizeof out);
    snprintf(got[1], sizeof got[1], "%s", out);
    set_env("XDG_CACHE_HOME", "relative/cache"); /* not absolute: ignored */
    rc[2] = ctr_spool_default_dir(NULL, NULL, out, sizeof out);
    snprintf(got[2], sizeof got[2], "%s", out);
    set_env("XDG_CACHE_HOME", NULL);
    set_env("HOME", NULL);
    rc[3] = ctr_spool_default_dir(NULL, NULL, out, sizeof out);
    set_env("HOME", "");
    rc[4] = ctr_spool_default_dir(NULL, NULL, out, sizeof out);
    set_env("HOME", "/home/u");
    rc[5] = ctr_spool_default_dir(NULL, NULL, tiny, sizeof tiny); /* does not fit */

    set_env("XDG_CACHE_HOME", xdg);
    set_env("HOME", home);
    free(xdg);
    free(home);
    ASSERT_EQ(rc[0], 0);
    ASSERT_STREQ(got[0], "/x/cache/chaostracing/spool");
    ASSERT_EQ(rc[1], 0);
    ASSERT_STREQ(got[1], "/home/u/.cache/chaostracing/spool");
    ASSERT_EQ(rc[2], 0);
    ASSERT_STREQ(got[2], "/home/u/.cache/chaostracing/spool");
    ASSERT_EQ(rc[3], CTR_EINVAL);
    ASSERT_EQ(rc[4], CTR_EINVAL);
    ASSERT_EQ(rc[5], CTR_EINVAL);
}

/* ===================================================================== */
/* Replay                                                                 */
/* ===================================================================== */

/* A spool in a fresh scratch directory and an exporter double to replay it
 * through; `st` adds up every replay_once(). */
struct replay {
    char dir[512];
    struct ctr_spool *s;
    struct watch w;
    struct texp *t;
    struct ctr_replay_stats st;
};

static void replay_start(struct replay *r, const char *name)
{
    memset(&r->st, 0, sizeof r->st);
    r->s = open_spool(fresh_path(r->dir, sizeof r->dir, name), 0);
    r->t = texp_new(&r->w);
}

/* One ctr_spool_replay_one() with a 2 s deadline and `keep_going`. */
static int replay_once_if(struct replay *r, ctr_replay_continue_fn keep_going, void *ud)
{
    return ctr_spool_replay_one(r->s, &r->t->base, ctr_deadline_after_ms(2000), keep_going, ud,
                                &r->st);
}

static int replay_once(struct replay *r)
{
    return replay_once_if(r, NULL, NULL);
}

/* Replay until nothing is left (at most `max` files); the files handled. */
static int replay_all(struct replay *r, int max)
{
    int n = 0;
    while (n < max && replay_once(r) == 1)
        n++;
    return n;
}

static void replay_done(struct replay *r)
{
    ctr_exporter_destroy(&r->t->base);
    ctr_spool_close(r->s);
    rm_tree(r->dir);
}

/* Files go oldest first, one per call, through the exporter, and are
 * deleted; then there is nothing left to send. */
static void test_replay_oldest_first(void)
{
    struct replay r;
    replay_start(&r, "replay");
    for (uint64_t f = 0; f < 3; f++)
        ASSERT_EQ(write_spans(r.s, f * 3, 3, NULL), 0);
    for (uint64_t f = 0; f < 3; f++) {
        ASSERT_EQ(replay_once(&r), 1);
        ASSERT_EQ(r.st.files_sent, f + 1);
        ASSERT_EQ(r.st.spans_sent, 3 * (f + 1));
        ASSERT_EQ(r.st.files_left, 2 - f);
        ASSERT_EQ(entries(r.dir), 2 - f);
    }
    ASSERT_EQ(replay_once(&r), 0);
    struct texp_view v = texp_view(r.t);
    ASSERT_EQ(v.calls, 3);
    ASSERT_EQ(v.spans, 9);
    ASSERT(v.order_ok); /* 0..8: oldest file first */
    ASSERT(v.ids_ok);
    ASSERT(v.batch_ok); /* the resource and scope came back too */
    ASSERT_EQ(r.st.files_failed + r.st.files_corrupt + r.st.files_busy, 0);
    ASSERT_EQ(r.st.last_error, 0);
    ASSERT_EQ(entries(r.dir), 0);
    replay_done(&r);
}

/* A failed export gives the file back as it was (same name, same bytes) and
 * reports the error; the next replay sends it whole. */
static void test_replay_failure_gives_back(void)
{
    struct replay r;
    replay_start(&r, "giveback");
    ASSERT_EQ(write_spans(r.s, 0, 4, NULL), 0);
    char name0[256], name1[256] = "", path[1024];
    ASSERT(only_name(r.dir, name0, sizeof name0));
    snprintf(path, sizeof path, "%s/%s", r.dir, name0);
    size_t len0 = 0, len1 = 0;
    char *bytes0 = slurp(path, &len0);
    r.t->fail_mask = 1;
    r.t->fail_rc = CTR_ECONNECT;
    int rc = replay_once(&r);
    bool one = only_name(r.dir, name1, sizeof name1);
    char *bytes1 = slurp(path, &len1);
    bool same_bytes = bytes0 && bytes1 && len0 == len1 && memcmp(bytes0, bytes1, len0) == 0;
    free(bytes0);
    free(bytes1);
    ASSERT_EQ(rc, 1);
    ASSERT_EQ(r.st.files_failed, 1);
    ASSERT_EQ(r.st.files_sent, 0);
    ASSERT_EQ(r.st.files_left, 1);
    ASSERT_EQ(r.st.last_error, CTR_ECONNECT);
    ASSERT(one);
    ASSERT_STREQ(name1, name0);
    ASSERT(same_bytes);

    memset(&r.st, 0, sizeof r.st);
    ASSERT_EQ(replay_once(&r), 1);
    ASSERT_EQ(r.st.files_sent, 1);
    ASSERT_EQ(r.st.spans_sent, 4);
    ASSERT_EQ(r.st.last_error, 0);
    for (uint64_t i = 0; i < 4; i++)
        ASSERT_EQ(texp_times_seen(r.t, i), 2); /* at least once: sent whole again */
    ASSERT_EQ(entries(r.dir), 0);
    replay_done(&r);
}

/* Garbage, a Chaos Toolkit journal and a truncated line are moved to
 * corrupt/ under their names, counted and logged, never exported; the good
 * files around them still go. */
static void test_replay_corrupt(void)
{
    struct replay r;
    replay_start(&r, "corrupt");
    ASSERT_EQ(write_spans(r.s, 0, 2, NULL), 0); /* good, oldest */
    const char *garbage = "\x01\x02 this is not JSON {";
    ASSERT_EQ(ctr_spool_write(r.s, (const uint8_t *)garbage, strlen(garbage), 2, NULL), 0);
    const char *journal = "{\"chaoslib-version\": \"1.42.0\", \"status\": \"completed\", "
                          "\"deviated\": false, \"run\": []}";
    ASSERT_EQ(ctr_spool_write(r.s, (const uint8_t *)journal, strlen(journal), 1, NULL), 0);
    ASSERT_EQ(write_spans(r.s, 2, 2, NULL), 0); /* to be truncated */
    struct listing *l = list_dir(r.dir);
    ASSERT_EQ(l->n, 4);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", r.dir, l->name[3]);
    struct stat sb;
    ASSERT_EQ(stat(path, &sb), 0);
    ASSERT_EQ(truncate(path, sb.st_size / 2), 0);
    char bad[3][256];
    for (int i = 0; i < 3; i++)
        snprintf(bad[i], sizeof bad[i], "%s", l->name[i + 1]);
    free(l);
    ASSERT_EQ(write_spans(r.s, 4, 2, NULL), 0); /* good, newest */

    logs_reset();
    ASSERT_EQ(replay_all(&r, 10), 5);
    ASSERT_EQ(r.st.files_sent, 2);
    ASSERT_EQ(r.st.spans_sent, 4);
    ASSERT_EQ(r.st.files_corrupt, 3);
    ASSERT_EQ(r.st.files_failed, 0);
    struct texp_view v = texp_view(r.t);
    ASSERT_EQ(v.calls, 2);
    ASSERT(v.ids_ok);
    for (uint64_t i = 0; i < 6; i++)
        ASSERT_EQ(texp_times_seen(r.t, i), i == 2 || i == 3 ? 0 : 1);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "not OTLP JSON"), 3);
    ctr_log_set_sink(NULL, NULL);

    /* Only corrupt/ is left, holding the three files under their names. */
    char only[256] = "", cdir[600];
    ASSERT(only_name(r.dir, only, sizeof only));
    ASSERT_STREQ(only, "corrupt");
    snprintf(cdir, sizeof cdir, "%s/corrupt", r.dir);
    l = list_dir(cdir);
    bool names_kept = l->n == 3;
    for (size_t i = 0; names_kept && i < 3; i++)
        names_kept = strcmp(l->name[i], bad[i]) == 0;
    free(l);
    ASSERT(names_kept);
    replay_done(&r);
}

struct gate {
    int calls, allow;
};

/* keep_going: true for the first `allow` calls. */
static bool gate_open(void *ud)
{
    struct gate *g = ud;
    return g->calls++ < g->allow;
}

/* keep_going is asked before each batch of a file; false stops there and
 * gives the file back, to be sent whole later. */
static void test_replay_keep_going(void)
{
    struct replay r;
    replay_start(&r, "keepgoing");
    /* One file, two requests (lines): two batches. */
    struct ctr_buf a, b;
    encode_spans(0, 2, &a);
    encode_spans(2, 2, &b);
    ctr_buf_putc(&a, '\n');
    ctr_buf_append(&a, b.data, b.len);
    ctr_buf_free(&b);
    int wrote = ctr_spool_write(r.s, a.data, a.len, 4, NULL);
    ctr_buf_free(&a);
    ASSERT_EQ(wrote, 0);
    char name0[256], name1[256] = "";
    ASSERT(only_name(r.dir, name0, sizeof name0));

    struct gate g = {0, 1};
    ASSERT_EQ(replay_once_if(&r, gate_open, &g), 1);
    ASSERT_EQ(g.calls, 2);
    ASSERT_EQ(texp_view(r.t).calls, 1); /* the first batch only */
    ASSERT_EQ(r.st.files_failed, 1);
    ASSERT_EQ(r.st.files_sent, 0);
    ASSERT_EQ(r.st.last_error, CTR_ESHUTDOWN);
    ASSERT(only_name(r.dir, name1, sizeof name1));
    ASSERT_STREQ(name1, name0);

    struct gate closed = {0, 0};
    ASSERT_EQ(replay_once_if(&r, gate_open, &closed), 1);
    ASSERT_EQ(texp_view(r.t).calls, 1); /* nothing sent */
    ASSERT_EQ(r.st.files_failed, 2);

    memset(&r.st, 0, sizeof r.st);
    ASSERT_EQ(replay_once(&r), 1);
    ASSERT_EQ(r.st.files_sent, 1);
    ASSERT_EQ(r.st.spans_sent, 4);
    ASSERT_EQ(texp_view(r.t).calls, 3);
    for (uint64_t i = 0; i < 4; i++)
        ASSERT_EQ(texp_times_seen(r.t, i), i < 2 ? 2 : 1);
    ASSERT_EQ(entries(r.dir), 0);
    replay_done(&r);
}

/* A claim left by a process that is gone is taken back and sent. */
static void test_replay_stale_claim(void)
{
    struct replay r;
    char claimed[1100];
    replay_start(&r, "stale");
    ASSERT_EQ(write_spans(r.s, 0, 2, NULL), 0);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    ASSERT(pid > 0);
    ASSERT_EQ(reap(pid, 5000), 0);
    ASSERT(kill(pid, 0) != 0 && errno == ESRCH); /* gone */
    ASSERT(claim_for(r.dir, pid, claimed, sizeof claimed));

    ASSERT_EQ(replay_once(&r), 1);
    ASSERT_EQ(r.st.files_sent, 1);
    ASSERT_EQ(r.st.spans_sent, 2);
    ASSERT_EQ(r.st.files_busy, 0);
    ASSERT_EQ(texp_times_seen(r.t, 0), 1);
    ASSERT_EQ(texp_times_seen(r.t, 1), 1);
    ASSERT_EQ(entries(r.dir), 0);
    replay_done(&r);
}

/* A claim by another live process is left alone and counted busy; once that
 * process is gone the file is sent. */
static void test_replay_live_claim(void)
{
    struct replay r;
    char claimed[1100];
    replay_start(&r, "live");
    ASSERT_EQ(write_spans(r.s, 0, 2, NULL), 0);
    int gate[2];
    ASSERT_EQ(pipe(gate), 0);
    pid_t pid = fork();
    if (pid == 0) { /* lives until the parent closes its end */
        char c;
        close(gate[1]);
        while (read(gate[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(gate[0]);
    bool claimed_ok = pid > 0 && claim_for(r.dir, pid, claimed, sizeof claimed);
    int rc = replay_once(&r);
    struct stat sb;
    bool still_claimed = stat(claimed, &sb) == 0;
    close(gate[1]); /* the child exits */
    int status = pid > 0 ? reap(pid, 5000) : -1;
    ASSERT(claimed_ok);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(r.st.files_busy, 1);
    ASSERT_EQ(r.st.files_sent, 0);
    ASSERT_EQ(texp_view(r.t).calls, 0);
    ASSERT(still_claimed);
    ASSERT_EQ(status, 0);

    memset(&r.st, 0, sizeof r.st);
    ASSERT_EQ(replay_once(&r), 1);
    ASSERT_EQ(r.st.files_sent, 1);
    ASSERT_EQ(r.st.files_busy, 0);
    ASSERT_EQ(texp_view(r.t).spans, 2);
    replay_done(&r);
}

/* ===================================================================== */
/* Concurrency: processes                                                 */
/* ===================================================================== */

#define CR_PROCS 4
#define CR_FILES 120
#define CR_SPANS 5

/* A child of test_concurrent_replay: wait for the start, then replay the
 * spool through a file exporter writing `out` until nothing is left. Exit
 * status 0, or the step that failed. */
static int replay_child(const char *dir, const char *out, int start_fd)
{
    char c;
    while (read(start_fd, &c, 1) < 0 && errno == EINTR)
        ;
    struct ctr_spool *s = NULL;
    struct ctr_exporter *e = NULL;
    if (ctr_spool_open(dir, 0, &s, NULL, 0) != 0)
        return 10;
    if (ctr_file_exporter_new(out, &e, NULL, 0) != 0)
        return 11;
    struct ctr_replay_stats st = {0};
    int rc, rounds = 0;
    while ((rc = ctr_spool_replay_one(s, e, ctr_deadline_after_ms(5000), NULL, NULL, &st)) == 1 &&
           ++rounds < 10 * CR_FILES)
        ;
    if (ctr_exporter_shutdown(e, ctr_deadline_after_ms(2000)) != 0)
        return 12;
    ctr_exporter_destroy(e);
    ctr_spool_close(s);
    if (rc < 0)
        return 13;
    return st.files_failed || st.files_corrupt ? 14 : 0;
}

/* Four processes replay the same spool at once: every span is sent exactly
 * once in all (no file twice), and nothing is left. */
static void test_concurrent_replay(void)
{
    char dir[512], outdir[512];
    fresh_path(dir, sizeof dir, "crspool");
    fresh_path(outdir, sizeof outdir, "crout");
    ASSERT_EQ(mkdir(outdir, 0700), 0);
    struct ctr_spool *s = open_spool(dir, 0);
    for (uint64_t f = 0; f < CR_FILES; f++)
        ASSERT_EQ(write_spans(s, f * CR_SPANS, CR_SPANS, NULL), 0);
    int start[2];
    ASSERT_EQ(pipe(start), 0);
    pid_t kids[CR_PROCS];
    char outs[CR_PROCS][700];
    for (int i = 0; i < CR_PROCS; i++) {
        snprintf(outs[i], sizeof outs[i], "%s/%d.jsonl", outdir, i);
        kids[i] = fork();
        if (kids[i] == 0) {
            close(start[1]);
            _exit(replay_child(dir, outs[i], start[0]));
        }
    }
    close(start[0]);
    uint64_t t0 = now_ns();
    close(start[1]); /* go */
    int status[CR_PROCS];
    for (int i = 0; i < CR_PROCS; i++)
        status[i] = kids[i] > 0 ? reap(kids[i], 20000) : -1;
    double el = ms_since(t0);

    static int seen[CR_FILES * CR_SPANS];
    memset(seen, 0, sizeof seen);
    long per[CR_PROCS], total = 0;
    for (int i = 0; i < CR_PROCS; i++) {
        size_t len = 0;
        char *text = slurp(outs[i], &len);
        per[i] = text ? decode_count(text, len, seen, CR_FILES * CR_SPANS) : 0;
        total += per[i] > 0 ? per[i] : 0;
        free(text);
    }
    fprintf(stderr, "  %d processes, %d files: %.1f ms; spans sent per process %ld %ld %ld %ld\n",
            CR_PROCS, CR_FILES, el, per[0], per[1], per[2], per[3]);
    for (int i = 0; i < CR_PROCS; i++)
        ASSERT_EQ(status[i], 0);
    ASSERT_EQ(total, CR_FILES * CR_SPANS);
    ASSERT(all_seen_once(seen, CR_FILES * CR_SPANS));
    ASSERT_EQ(entries(dir), 0);
    ctr_spool_close(s);
    rm_tree(dir);
    rm_tree(outdir);
}

#define KW_LINES 48 /* requests a file: 64 spans each, about 1 MB */

/* The bytes of every file test_writer_killed's writer writes: KW_LINES
 * requests of 64 spans, joined by newlines. */
static void killed_writer_payload(struct ctr_buf *all)
{
    struct ctr_buf one;
    encode_spans(0, 64, &one);
    memset(all, 0, sizeof *all);
    for (int i = 0; i < KW_LINES; i++) {
        if (i)
            ctr_buf_putc(all, '\n');
        ctr_buf_append(all, one.data, one.len);
    }
    ctr_buf_free(&one);
}

/* The child of test_writer_killed: write files until killed. Large files
 * make the kill land inside a write. */
static void killed_writer(const char *dir)
{
    struct ctr_spool *s = NULL;
    if (ctr_spool_open(dir, 0, &s, NULL, 0) != 0)
        _exit(10);
    struct ctr_buf all;
    killed_writer_payload(&all);
    for (int i = 0; i < 100000; i++)
        ctr_spool_write(s, all.data, all.len, 64 * KW_LINES, NULL);
    _exit(11); /* never reached in time */
}

/* True when `dir` holds a .tmp file: a write is under way. */
static bool writing_now(const char *dir)
{
    struct listing *l = list_dir(dir);
    bool tmp = false;
    for (size_t i = 0; i < l->n && !tmp; i++)
        tmp = ends_with(l->name[i], ".tmp");
    free(l);
    return tmp;
}

/* The .jsonl files of `dir` now whose size is not `size`: a reader would
 * see them torn. */
static int torn_now(const char *dir, off_t size)
{
    struct listing *l = list_dir(dir);
    int torn = 0;
    for (size_t i = 0; i < l->n; i++) {
        char path[1024];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, l->name[i]);
        if (ends_with(l->name[i], ".jsonl") && stat(path, &st) == 0 && st.st_size != size)
            torn++;
    }
    free(l);
    return torn;
}

/* What a killed writer may leave: whole files (requests, a newline, the
 * spans its name says) and ".tmp" files; *tmp gets their number. Returns the
 * spans in whole files, or -1 on anything else. */
static long check_killed_spool(const char *dir, int *tmp)
{
    struct listing *l = list_dir(dir);
    long spans = 0;
    *tmp = 0;
    for (size_t i = 0; i < l->n && spans >= 0; i++) {
        const char *name = l->name[i];
        if (ends_with(name, ".jsonl.tmp")) {
            (*tmp)++;
            continue;
        }
        long want = ends_with(name, ".jsonl") ? name_spans(name) : -1;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        size_t len = 0;
        char *text = want > 0 ? slurp(path, &len) : NULL;
        bool whole = text && len > 0 && text[len - 1] == '\n';
        long got = whole ? decode_count(text, len, NULL, 0) : -1;
        if (got != want) {
            fprintf(stderr, "  torn or foreign file %s (%zu bytes)\n", name, len);
            spans = -1;
        } else {
            spans += got;
        }
        free(text);
    }
    free(l);
    return spans;
}

/* Writers killed with SIGKILL in the middle of writing leave no torn .jsonl
 * (nor does a reader see one while they write), and replay sends every whole
 * file and ignores the .tmp ones. */
static void test_writer_killed(void)
{
    char dir[512];
    fresh_path(dir, sizeof dir, "killed");
    struct ctr_buf payload;
    killed_writer_payload(&payload);
    off_t size = (off_t)payload.len + 1;
    ctr_buf_free(&payload);
    int tmp_total = 0, torn_seen = 0, looks = 0;
    long whole_total = 0;
    for (int round = 0; round < 4; round++) {
        rm_tree(dir);
        pid_t pid = fork();
        if (pid == 0)
            killed_writer(dir);
        ASSERT(pid > 0);
        uint64_t t0 = now_ns();
        long spans = 0;
        /* Kill once a few files are whole and another is being written. */
        while ((spool_files(dir, &spans) < (size_t)(1 + round) || !writing_now(dir)) &&
               ms_since(t0) < 5000) {
            torn_seen += torn_now(dir, size);
            looks++;
        }
        kill(pid, SIGKILL);
        int status = reap(pid, 5000);
        ASSERT_EQ(status, -1); /* killed, not exited */

        int tmp = 0;
        long whole = check_killed_spool(dir, &tmp);
        tmp_total += tmp;
        whole_total += whole;
        ASSERT(whole > 0);

        struct ctr_spool *s = open_spool(dir, 0);
        struct watch w;
        struct texp *t = texp_new(&w);
        struct ctr_replay_stats st = {0};
        int rounds = 0;
        while (rounds < 1000 &&
               ctr_spool_replay_one(s, &t->base, ctr_deadline_after_ms(5000), NULL, NULL, &st) == 1)
            rounds++;
        uint64_t sent = texp_view(t).spans;
        bool ids = texp_view(t).ids_ok;
        ctr_exporter_destroy(&t->base);
        ctr_spool_close(s);
        ASSERT_EQ(st.files_corrupt, 0);
        ASSERT_EQ(st.files_failed, 0);
        ASSERT_EQ(st.spans_sent, (uint64_t)whole);
        ASSERT_EQ(sent, (uint64_t)whole);
        ASSERT(ids);
        long left_spans = 0;
        ASSERT_EQ(spool_files(dir, &left_spans), 0); /* only .tmp files may remain */
    }
    fprintf(stderr,
            "  4 writers killed: %ld spans in whole files, %d .tmp files left behind; "
            "%d looks while writing, %d torn files seen\n",
            whole_total, tmp_total, looks, torn_seen);
    ASSERT_EQ(torn_seen, 0);
    /* A .tmp left behind shows a kill landed inside a write (the kills aim
     * at one), so the check above was not vacuous. */
    ASSERT(tmp_total > 0);
    rm_tree(dir);
}

/* ===================================================================== */
/* The batch processor with a spool                                       */
/* ===================================================================== */

/* A dead exporter (always CTR_ECONNECT) with retry_failed and a spool: a
 * short shutdown writes every span to the spool and drops none; a second
 * processor with a working exporter sends them while idle, ids kept, and
 * the spool is empty after. */
static void test_dead_exporter_spooled_then_replayed(void)
{
    struct rig r;
    rig_start(&r, "dead", CTR_ECONNECT, 100, 20, 1000, 10, true);
    end_spans(r.p, 0, 25, false);
    ASSERT(wait_atomic_at_least(&r.t->calls_started, 1, 2000));
    ASSERT_COUNTS(stats_of(r.p), .ended = 25, .queued = 25);
    logs_reset();
    double el;
    ASSERT_EQ(timed_shutdown(r.p, 150, "dead exporter", &el), CTR_ETIMEOUT);
    ASSERT(el < 500.0);
    ASSERT_COUNTS(stats_of(r.p), .ended = 25, .spooled = 25);
    ASSERT_EQ(logs_count(CTR_LOG_INFO, "spooled"), 1);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, ""), 0);
    ctr_log_set_sink(NULL, NULL);
    long spans = 0;
    ASSERT_EQ(spool_files(r.dir, &spans), 1); /* a batch a line, a run's spill a file */
    ASSERT_EQ(spans, 25);
    r.p->ops->destroy(r.p);
    ASSERT_EQ(atomic_load(&r.w.destroyed), 1);

    struct watch w2;
    struct texp *t2 = texp_new(&w2);
    struct ctr_bsp_options o = {100, 1, 2000, 10, false, open_spool(r.dir, 0)};
    struct ctr_processor *p = NULL;
    ASSERT_EQ(ctr_batch_processor_new(&t2->base, &test_resource, &test_scope, &o, &p), 0);
    end_spans(p, 1000, 1, false); /* the worker starts with the first span */
    ASSERT(wait_replayed(p, 25, 3000));
    struct ctr_processor_stats st = stats_of(p);
    ASSERT_COUNTS(st, .ended = 1, .exported = 1);
    ASSERT_EQ(st.spans_replayed, 25);
    ASSERT_EQ(st.spool_corrupt, 0);
    for (uint64_t i = 0; i < 25; i++)
        ASSERT_EQ(texp_times_seen(t2, i), 1);
    ASSERT_EQ(texp_times_seen(t2, 1000), 1);
    struct texp_view v = texp_view(t2);
    ASSERT(v.ids_ok);
    ASSERT(v.batch_ok); /* with the resource of the first run */
    ASSERT_EQ(spool_files(r.dir, &spans), 0);
    ASSERT_EQ(p->ops->shutdown(p, ctr_deadline_after_ms(1000)), 0);
    ASSERT_COUNTS(stats_of(p), .ended = 1, .exported = 1);
    p->ops->destroy(p);
    rm_tree(r.dir);
}

/* The same against real OTLP/HTTP (JSON) exporters: a collector that is down
 * (nothing listens on the port), then one that is up; what it receives
 * decodes to the spans that were ended in the first run. */
static void test_collector_down_then_up(void)
{
    char dir[512], url[128], err[256];
    fresh_path(dir, sizeof dir, "http");
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/traces", closed_port());
    struct ctr_otlp_http_options ho = {.url = url, .timeout_ms = 300, .json = true};
    struct ctr_exporter *e = NULL;
    ASSERT_EQ(ctr_otlp_http_exporter_new(&ho, &e, err, sizeof err), 0);
    test_resource_init();
    struct ctr_bsp_options o = {100, 20, 300, 10, true, open_spool(dir, 0)};
    struct ctr_processor *p = NULL;
    ASSERT_EQ(ctr_batch_processor_new(e, &test_resource, &test_scope, &o, &p), 0);
    end_spans(p, 0, 15, false);
    sleep_ms(100);
    double el;
    int rc = timed_shutdown(p, 500, "collector down", &el);
    struct ctr_processor_stats st = stats_of(p);
    p->ops->destroy(p);
    ASSERT_EQ(rc, CTR_ETIMEOUT);
    ASSERT(el < 900.0);
    ASSERT_COUNTS(st, .ended = 15, .spooled = 15);

    struct server *srv = server_start(NULL, 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/traces", srv->port);
    ho.timeout_ms = 2000;
    ASSERT_EQ(ctr_otlp_http_exporter_new(&ho, &e, err, sizeof err), 0);
    o = (struct ctr_bsp_options){100, 1, 2000, 10, false, open_spool(dir, 0)};
    ASSERT_EQ(ctr_batch_processor_new(e, &test_resource, &test_scope, &o, &p), 0);
    end_spans(p, 100, 1, false);
    bool replayed = wait_replayed(p, 15, 5000);
    rc = p->ops->shutdown(p, ctr_deadline_after_ms(1000));
    st = stats_of(p);
    p->ops->destroy(p);
    int seen[101] = {0};
    long got = 0;
    pthread_mutex_lock(&srv->mu);
    for (size_t i = 0; i < srv->n_reqs && got >= 0; i++) {
        long n = decode_count(srv->reqs[i].body, srv->reqs[i].body_len, seen, 101);
        got = n < 0 ? -1 : got + n;
    }
    pthread_mutex_unlock(&srv->mu);
    server_free(srv);
    ASSERT(replayed);
    ASSERT_EQ(rc, 0);
    ASSERT_COUNTS(st, .ended = 1, .exported = 1);
    ASSERT_EQ(st.spans_replayed, 15);
    ASSERT_EQ(got, 16);
    ASSERT(all_seen_once(seen, 15));
    ASSERT_EQ(seen[100], 1);
    long spans = 0;
    ASSERT_EQ(spool_files(dir, &spans), 0);
    rm_tree(dir);
}

/* A final refusal (CTR_EHTTP) is counted failed, never kept or spooled. */
static void test_refusal_counts_failed(void)
{
    struct rig r;
    rig_start(&r, "refusal", CTR_EHTTP, 100, 60000, 1000, 10, true);
    end_spans(r.p, 0, 10, false);
    ASSERT_EQ(r.p->ops->force_flush(r.p, ctr_deadline_after_ms(2000)), 0);
    ASSERT_EQ(r.p->ops->shutdown(r.p, ctr_deadline_after_ms(1000)), 0);
    ASSERT_COUNTS(stats_of(r.p), .ended = 10, .failed = 10);
    ASSERT_EQ(stats_of(r.p).batches_failed, 1);
    ASSERT_EQ(texp_view(r.t).calls, 1); /* not tried again */
    long spans = 0;
    ASSERT_EQ(spool_files(r.dir, &spans), 0);
    ASSERT(rig_done(&r));
}

/* An export blocked past the shutdown deadline: its batch is spooled with the
 * queued spans, and the worker, when the export returns, does not count it
 * again. */
static void test_inflight_spooled_once(void)
{
    struct rig r;
    rig_start(&r, "inflight", 0, 100, 60000, 30000, 5, true);
    r.t->block = true;
    end_spans(r.p, 0, 5, false); /* a full batch: exported at once, and blocks */
    ASSERT(wait_atomic_at_least(&r.t->calls_started, 1, 2000));
    end_spans(r.p, 5, 3, false);
    ASSERT_COUNTS(stats_of(r.p), .ended = 8, .queued = 8);
    double el;
    ASSERT_EQ(timed_shutdown(r.p, 100, "export blocked", &el), CTR_ETIMEOUT);
    ASSERT(el < 400.0);
    ASSERT_COUNTS(stats_of(r.p), .ended = 8, .spooled = 8);
    int seen[8] = {0};
    ASSERT_EQ(decode_spool(r.dir, seen, 8), 8);
    ASSERT(all_seen_once(seen, 8));

    texp_set_block(r.t, false); /* the export returns 0 now */
    ASSERT(wait_atomic_at_least(&r.w.shutdown_calls, 1, 2000));
    ASSERT_COUNTS(stats_of(r.p), .ended = 8, .spooled = 8);
    ASSERT(rig_done(&r));
}

/* The invariant holds in every snapshot taken while shutdown writes the
 * spool (here 20,000 spans, some MB to write and fsync), not only before and
 * after. */
static void test_invariant_while_spooling(void)
{
    struct rig r;
    rig_start(&r, "spilling", 0, 20000, 60000, 30000, 512, true);
    r.t->block = true;
    end_spans(r.p, 0, 20000, false);
    ASSERT(wait_atomic_at_least(&r.t->calls_started, 1, 2000));
    atomic_bool stop = false;
    struct checker c = {.p = r.p, .stop = &stop};
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, checker_run, &c), 0);
    sleep_ms(5);
    double el;
    int rc = timed_shutdown(r.p, 20, "20,000 spans to spool", &el);
    sleep_ms(5);
    atomic_store(&stop, true);
    pthread_join(th, NULL);
    fprintf(stderr, "  %d stats snapshots meanwhile, %d inconsistent\n", atomic_load(&c.snapshots),
            atomic_load(&c.bad));
    texp_set_block(r.t, false);
    ASSERT_EQ(rc, CTR_ETIMEOUT);
    ASSERT_EQ(atomic_load(&c.bad), 0);
    ASSERT_COUNTS(stats_of(r.p), .ended = 20000, .spooled = 20000);
    ASSERT(rig_done(&r));
}

/* Spool a dead exporter's `n` spans into `s` at shutdown; the stats after. */
static struct ctr_processor_stats spool_dead(struct ctr_spool *s, uint64_t n)
{
    struct watch w;
    struct texp *t = texp_new(&w);
    t->fail_every = 1;
    t->fail_rc = CTR_ECONNECT;
    struct ctr_bsp_options o = {100, 60000, 1000, 10, true, s};
    struct ctr_processor *p = NULL;
    if (ctr_batch_processor_new(&t->base, &test_resource, &test_scope, &o, &p) != 0)
        abort();
    end_spans(p, 0, n, false);
    p->ops->shutdown(p, ctr_deadline_after_ms(100));
    struct ctr_processor_stats st = stats_of(p);
    p->ops->destroy(p);
    return st;
}

/* A spool that refuses (bound too small; directory gone after open): the
 * spans are counted lost, with one warning. */
static void test_spool_refuses(void)
{
    char dir[512];
    fresh_path(dir, sizeof dir, "refuses");
    logs_reset();
    ASSERT_COUNTS(spool_dead(open_spool(dir, 16), 5), .ended = 5, .lost = 5);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, ""), 1);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "could not be spooled"), 1);
    long spans = 0;
    ASSERT_EQ(spool_files(dir, &spans), 0);

    /* The directory replaced by a file after open (a read-only directory
     * would do too, but not for root). */
    struct ctr_spool *s = open_spool(dir, 0);
    rm_tree(dir);
    int fd = open(dir, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT(fd >= 0);
    close(fd);
    logs_reset();
    ASSERT_COUNTS(spool_dead(s, 7), .ended = 7, .lost = 7);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, ""), 1);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "could not be spooled"), 1);
    ctr_log_set_sink(NULL, NULL);
    rm_tree(dir);
}

/* A spool with room for less than one run's spill: what is counted spooled
 * is what the spool holds afterwards (the spill never evicts itself), the
 * rest is lost; with room for it, older runs' files make way, counted. */
static void test_spooled_is_on_disk(void)
{
    char dir[512];
    fresh_path(dir, sizeof dir, "ondisk");
    /* The bytes of the spill of spans 0..29 in batches of 10, and of an
     * older file of 5 spans: a line and a newline each. */
    uint64_t spill = 0, older = 0;
    for (uint64_t first = 0; first <= 30; first += 10) {
        struct ctr_buf line;
        encode_spans(first == 30 ? 100 : first, first == 30 ? 5 : 10, &line);
        *(first == 30 ? &older : &spill) += line.len + 1;
        ctr_buf_free(&line);
    }
    logs_reset();
    struct ctr_processor_stats st = spool_dead(open_spool(dir, spill / 2), 30);
    int seen[64] = {0};
    long on_disk = decode_spool(dir, seen, 64);
    fprintf(stderr,
            "  room for half the spill: spooled %" PRIu64 ", lost %" PRIu64 ", on disk %ld\n",
            st.spans_spooled, st.spans_lost, on_disk);
    ASSERT_EQ(st.spans_spooled + st.spans_lost, 30);
    ASSERT_EQ((long)st.spans_spooled, on_disk);
    ASSERT(stats_consistent(&st));
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "older spans removed"), 0);
    rm_tree(dir);

    /* Room for the spill but not for an older file too: the older goes. */
    ASSERT_EQ(spool_file(dir, 100, 5), 0);
    logs_reset();
    st = spool_dead(open_spool(dir, spill + older / 2), 30);
    memset(seen, 0, sizeof seen);
    on_disk = decode_spool(dir, seen, 64);
    ASSERT_COUNTS(st, .ended = 30, .spooled = 30);
    ASSERT_EQ(on_disk, 30);
    ASSERT(all_seen_once(seen, 30));
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "5 older spans removed"), 1);
    ctr_log_set_sink(NULL, NULL);
    rm_tree(dir);
}

/* With the queue full of ordinary spans (exporter blocked), essential spans
 * are still queued, up to the 64-slot reserve; then they are dropped too. */
static void test_essential_reserve(void)
{
    struct rig r;
    rig_start(&r, NULL, 0, 20, 60000, 30000, 5, false);
    r.t->block = true;
    end_spans(r.p, 0, 5, false);
    ASSERT(wait_atomic_at_least(&r.t->calls_started, 1, 2000));
    end_spans(r.p, 5, 23, false);  /* 20 queued, 3 dropped */
    end_spans(r.p, 100, 65, true); /* 64 queued, 1 dropped */
    end_spans(r.p, 28, 1, false);  /* still no room */
    ASSERT_COUNTS(stats_of(r.p), .ended = 94, .dropped = 5, .queued = 89);

    texp_set_block(r.t, false);
    ASSERT_EQ(r.p->ops->force_flush(r.p, ctr_deadline_after_ms(5000)), 0);
    ASSERT_COUNTS(stats_of(r.p), .ended = 94, .exported = 89, .dropped = 5);
    for (uint64_t i = 100; i < 164; i++)
        ASSERT_EQ(texp_times_seen(r.t, i), 1);
    ASSERT_EQ(texp_times_seen(r.t, 164), 0);
    for (uint64_t i = 25; i <= 28; i++)
        ASSERT_EQ(texp_times_seen(r.t, i), 0);
    ASSERT_EQ(r.p->ops->shutdown(r.p, ctr_deadline_after_ms(1000)), 0);
    ASSERT(rig_done(&r));
}

/* A batch kept for a retry while the queue filled up: its essential spans
 * go back into the reserve, its ordinary ones are dropped and counted. */
static void test_requeue_keeps_essential(void)
{
    struct rig r;
    rig_start(&r, NULL, 0, 10, 60000, 30000, 10, true);
    r.t->block = true;
    r.t->fail_mask = 1;
    r.t->fail_rc = CTR_ECONNECT;
    for (uint64_t i = 0; i < 10; i++) /* even ones essential */
        end_spans(r.p, i, 1, i % 2 == 0);
    ASSERT(wait_atomic_at_least(&r.t->calls_started, 1, 2000));
    end_spans(r.p, 10, 10, false);
    texp_set_block(r.t, false); /* call 1 fails */
    uint64_t t0 = now_ns();
    while (stats_of(r.p).spans_dropped < 5 && ms_since(t0) < 2000)
        sleep_ms(1);
    ASSERT_COUNTS(stats_of(r.p), .ended = 20, .dropped = 5, .queued = 15);

    ASSERT_EQ(r.p->ops->force_flush(r.p, ctr_deadline_after_ms(5000)), 0); /* after the pause */
    ASSERT_COUNTS(stats_of(r.p), .ended = 20, .exported = 15, .dropped = 5);
    for (uint64_t i = 0; i < 20; i++) {
        int want = i >= 10 ? 1 : i % 2 == 0 ? 2 : 1; /* essential: failed once, then sent */
        ASSERT_EQ(texp_times_seen(r.t, i), want);
    }
    ASSERT_EQ(r.p->ops->shutdown(r.p, ctr_deadline_after_ms(1000)), 0);
    ASSERT(rig_done(&r));
}

/* Retryable failures: the batch is kept and sent again after 1 s, then 2 s;
 * a success resets the pause to 1 s. */
static void test_retry_pause_doubles(void)
{
    struct rig r;
    rig_start(&r, NULL, 0, 100, 4000, 30000, 10, true);
    r.t->fail_mask = 1u | 2u | 8u; /* calls 1, 2 and 4 */
    r.t->fail_rc = CTR_ERETRYABLE;
    end_spans(r.p, 0, 3, false);
    ASSERT_EQ(r.p->ops->force_flush(r.p, ctr_deadline_after_ms(6000)), 0);
    ASSERT_COUNTS(stats_of(r.p), .ended = 3, .exported = 3);
    end_spans(r.p, 3, 2, false);
    ASSERT_EQ(r.p->ops->force_flush(r.p, ctr_deadline_after_ms(4000)), 0);
    struct texp_view v = texp_view(r.t);
    double g1 = (double)(v.call_ns[1] - v.call_ns[0]) / 1e6;
    double g2 = (double)(v.call_ns[2] - v.call_ns[1]) / 1e6;
    double g4 = (double)(v.call_ns[4] - v.call_ns[3]) / 1e6;
    fprintf(stderr, "  pauses: %.0f ms, %.0f ms; after a success: %.0f ms\n", g1, g2, g4);
    ASSERT_EQ(v.calls, 5);
    ASSERT(g1 >= 990.0 && g1 < 1700.0);
    ASSERT(g2 >= 1990.0 && g2 < 3000.0);
    ASSERT(g4 >= 990.0 && g4 < 1700.0);
    ASSERT_COUNTS(stats_of(r.p), .ended = 5, .exported = 5);
    for (uint64_t i = 0; i < 5; i++)
        ASSERT_EQ(texp_times_seen(r.t, i), i < 3 ? 3 : 2);
    ASSERT_EQ(r.p->ops->shutdown(r.p, ctr_deadline_after_ms(1000)), 0);
    ASSERT(rig_done(&r));
}

/* Without a flush, the kept batch goes when the pause ends: its spans have
 * waited their schedule delay already. */
static void test_retry_after_pause_on_timer(void)
{
    struct rig r;
    rig_start(&r, NULL, 0, 100, 1500, 30000, 10, true);
    r.t->fail_mask = 1;
    r.t->fail_rc = CTR_ECONNECT;
    end_spans(r.p, 0, 3, false);
    ASSERT(wait_handled(r.p, 3, 6000));
    struct texp_view v = texp_view(r.t);
    double gap = (double)(v.call_ns[1] - v.call_ns[0]) / 1e6;
    fprintf(stderr, "  schedule delay 1500 ms, pause 1000 ms: retried after %.0f ms\n", gap);
    ASSERT_EQ(v.calls, 2);
    ASSERT(gap >= 990.0 && gap < 1900.0); /* not 1000 + 1500 */
    ASSERT_COUNTS(stats_of(r.p), .ended = 3, .exported = 3);
    ASSERT_EQ(r.p->ops->shutdown(r.p, ctr_deadline_after_ms(1000)), 0);
    ASSERT(rig_done(&r));
}

/* A replay of the spool inside a slow export does not hold shutdown past its
 * deadline: the worker is left to finish it, like a live export. */
static void test_replay_does_not_hold_shutdown(void)
{
    struct rig r;
    rig_start(&r, "replayhold", 0, 100, 1, 3000, 10, false);
    r.t->block_from = 2; /* the live span goes, the replay blocks */
    ASSERT_EQ(spool_file(r.dir, 0, 3), 0);
    end_spans(r.p, 100, 1, false);
    ASSERT(wait_atomic_at_least(&r.t->calls_started, 2, 2000));
    double el;
    int rc = timed_shutdown(r.p, 100, "replay blocked", &el);
    texp_set_block(r.t, false);
    ASSERT(el < 1000.0); /* not the 3 s of the replay's export */
    ASSERT_EQ(rc, CTR_ETIMEOUT);
    ASSERT_COUNTS(stats_of(r.p), .ended = 1, .exported = 1);
    ASSERT(wait_atomic_at_least(&r.w.shutdown_calls, 1, 2000));
    ASSERT(rig_done(&r));
}

/* A failed replay is not tried again at once (the worker pauses 30 s), but a
 * successful live export ends the pause and the file goes. */
static void test_replay_pause_after_failure(void)
{
    struct rig r;
    rig_start(&r, "replaypause", 0, 100, 1, 2000, 10, false);
    r.t->fail_mask = 2; /* the replay after the first live export */
    r.t->fail_rc = CTR_ECONNECT;
    ASSERT_EQ(spool_file(r.dir, 0, 3), 0);
    end_spans(r.p, 100, 1, false);
    ASSERT(wait_atomic_at_least(&r.t->calls_started, 2, 2000));
    sleep_ms(300);
    ASSERT_EQ(texp_view(r.t).calls, 2);
    long spans = 0;
    ASSERT_EQ(spool_files(r.dir, &spans), 1); /* given back */
    ASSERT_EQ(stats_of(r.p).spans_replayed, 0);

    end_spans(r.p, 101, 1, false);
    ASSERT(wait_replayed(r.p, 3, 2000));
    ASSERT_COUNTS(stats_of(r.p), .ended = 2, .exported = 2);
    ASSERT_EQ(texp_view(r.t).calls, 4);
    ASSERT_EQ(spool_files(r.dir, &spans), 0);
    ASSERT_EQ(r.p->ops->shutdown(r.p, ctr_deadline_after_ms(1000)), 0);
    ASSERT(rig_done(&r));
}

/* In a child: 0 when every counter is zero (the spool's too) and they add
 * up, else 1. */
static int child_counters_zero(struct ctr_processor *p)
{
    char why[512];
    struct ctr_processor_stats st = stats_of(p);
    return counts_are(&st, (struct counts){0}, why, sizeof why) && st.spans_replayed == 0 &&
                   st.spool_corrupt == 0
               ? 0
               : 1;
}

/* After fork the child's counters start at zero, the spool's too: the child
 * of a processor that replayed, and of one that spooled at shutdown. */
static void test_fork_resets_spool_counters(void)
{
    struct rig r;
    rig_start(&r, "fork", 0, 100, 1, 2000, 10, false);
    ASSERT_EQ(spool_file(r.dir, 0, 3), 0);
    end_spans(r.p, 100, 1, false);
    ASSERT(wait_replayed(r.p, 3, 2000));
    ASSERT(wait_handled(r.p, 1, 2000));
    pid_t pid = fork();
    if (pid == 0)
        _exit(child_counters_zero(r.p));
    ASSERT(pid > 0);
    ASSERT_EQ(reap(pid, 5000), 0);
    ASSERT_EQ(r.p->ops->shutdown(r.p, ctr_deadline_after_ms(1000)), 0);
    ASSERT_COUNTS(stats_of(r.p), .ended = 1, .exported = 1);
    ASSERT(rig_done(&r));

    rig_start(&r, "fork", CTR_ECONNECT, 100, 60000, 1000, 10, true);
    end_spans(r.p, 0, 4, false);
    r.p->ops->shutdown(r.p, ctr_deadline_after_ms(100));
    ASSERT_COUNTS(stats_of(r.p), .ended = 4, .spooled = 4);
    pid = fork();
    if (pid == 0)
        _exit(child_counters_zero(r.p));
    ASSERT(pid > 0);
    ASSERT_EQ(reap(pid, 5000), 0);
    ASSERT(rig_done(&r));
}

TEST_MAIN(TEST_CASE(test_write_one_file), TEST_CASE(test_write_removes_leftovers),
          TEST_CASE(test_open_refused), TEST_CASE(test_bound_evicts_oldest),
          TEST_CASE(test_claimed_never_evicted), TEST_CASE(test_default_dir),
          TEST_CASE(test_replay_oldest_first), TEST_CASE(test_replay_failure_gives_back),
          TEST_CASE(test_replay_corrupt), TEST_CASE(test_replay_keep_going),
          TEST_CASE(test_replay_stale_claim), TEST_CASE(test_replay_live_claim),
          TEST_CASE(test_concurrent_replay), TEST_CASE(test_writer_killed),
          TEST_CASE(test_dead_exporter_spooled_then_replayed),
          TEST_CASE(test_collector_down_then_up), TEST_CASE(test_refusal_counts_failed),
          TEST_CASE(test_inflight_spooled_once), TEST_CASE(test_invariant_while_spooling),
          TEST_CASE(test_spool_refuses), TEST_CASE(test_spooled_is_on_disk),
          TEST_CASE(test_essential_reserve), TEST_CASE(test_requeue_keeps_essential),
          TEST_CASE(test_retry_pause_doubles), TEST_CASE(test_retry_after_pause_on_timer),
          TEST_CASE(test_replay_does_not_hold_shutdown), TEST_CASE(test_replay_pause_after_failure),
          TEST_CASE(test_fork_resets_spool_counters))
