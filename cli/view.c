/*
 * `chaostracing view`: read OTLP JSON lines, one ExportTraceServiceRequest per
 * line, and print a span tree per trace.
 *
 * Flow: every input line is parsed on its own (jsonread.c) into a per-line
 * arena; the few fields the view shows are copied into a flat array of spans
 * whose strings live in a pool that is freed at exit. When all input is read,
 * spans are sorted by (trace id, span id), parents are found by binary search,
 * and each trace is walked depth-first without recursion, so neither deep
 * trees nor parent cycles can exhaust the stack or loop forever.
 */
#include "view.h"
#include "jsonread.h"

#include <chaostracing/common.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE ((size_t)256 * 1024 * 1024) /* longer lines are skipped */
#define LINE_ARENA_LIMIT ((size_t)1 << 31)   /* tree memory for one line */
#define READ_CHUNK ((size_t)1 << 20)
#define MAX_MESSAGES 20    /* problems printed before going quiet */
#define NAME_MAX_COLS 200  /* longer names are cut with an ellipsis */
#define VALUE_MAX_COLS 64  /* attribute values */
#define MSG_MAX_COLS 120   /* status messages */
#define NAME_COL_MAX 72    /* the duration column starts at most here */
#define MAX_DRAW_DEPTH 32  /* deeper spans are drawn at this depth + marker */
#define NO_PARENT SIZE_MAX /* parent index of a top-level span */

struct view_opts {
    bool attrs;
    bool ascii;
    bool color;
};

enum span_flag {
    SF_HAS_PARENT = 1,
    SF_VISITED = 2,
    SF_ON_PATH = 4,
};

struct vspan {
    uint8_t trace[16];
    uint8_t id[8];
    uint8_t parent[8];
    uint8_t flags;  /* enum span_flag */
    int32_t kind;   /* -1 when unreadable */
    int32_t status; /* -1 when unreadable */
    uint64_t start;
    uint64_t end;
    const char *name; /* pooled, display-safe */
    const char *status_msg;
    const char *ctk_type;   /* chaostoolkit.type */
    const char *ctk_status; /* chaostoolkit.activity.status */
    const char *http;       /* http.response.status_code */
    const char *service;    /* service.name of the resource */
    /* Tree, filled per trace. */
    size_t parent_ix;
    size_t kid0; /* first child in the trace's kid list */
    size_t nkid;
};

struct view {
    struct view_opts opts;
    struct vspan *spans;
    size_t n, cap;
    struct jr_arena pool; /* strings kept until exit */
    struct jr_arena line; /* the current line's JSON tree */
    const char *last_service;
    size_t last_service_len;
    const char *last_service_copy;
    unsigned long bad_lines, bad_spans, messages;
    bool io_error;
    bool oom;
    const char *src;      /* name of the input being read */
    unsigned long lineno; /* 1-based line number in `src` */
};

/* ------------------------------------------------------------ messages -- */

/* Report a problem with the current line on stderr; after MAX_MESSAGES only
 * the total is reported at the end. */
static void
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    report(struct view *v, const char *fmt, ...)
{
    v->messages++;
    if (v->messages > MAX_MESSAGES) {
        if (v->messages == MAX_MESSAGES + 1)
            fprintf(stderr, "chaostracing: more problems; only the first %d are shown\n",
                    MAX_MESSAGES);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s:%lu: ", v->src, v->lineno);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ------------------------------------------------------ display strings -- */

/* Decode one UTF-8 sequence of at most `n` bytes at p into *cp; returns its
 * length, or 1 with *cp = U+FFFD for a malformed byte. */
static size_t u8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        c &= 0x07;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (n < len) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        c = (c << 6) | (p[i] & 0x3F);
    }
    *cp = c;
    return len;
}

/* Display width of a display-safe UTF-8 string: one column per code point. */
static size_t u8_cols(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/*
 * Copy `len` bytes of UTF-8 into the pool for printing on a terminal: C0/C1
 * control characters, DEL and bidirectional overrides become visible escapes
 * (\x1b, \u202e), so a span name cannot move the cursor or reorder the line;
 * text beyond `max_cols` columns is replaced by an ellipsis. Returns the
 * pooled NUL-terminated copy, or NULL (and sets v->oom) when out of memory.
 */
/* The escape that stands for code point `cp` on screen, or 0 when it is
 * printed as itself; the escape text goes to esc[16]. */
static int display_escape(uint32_t cp, char *esc)
{
    if (cp < 0x20 || cp == 0x7F)
        return snprintf(esc, 16, "\\x%02x", (unsigned)cp);
    if ((cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
        (cp >= 0x2066 && cp <= 0x2069))
        return snprintf(esc, 16, "\\u%04x", (unsigned)cp);
    return 0;
}

/* Columns that `len` bytes take once escaped, counting no further than
 * `stop` (so the scan is bounded for long text). */
static size_t display_cols(const char *s, size_t len, size_t stop)
{
    size_t cols = 0;
    for (size_t i = 0; i < len && cols <= stop;) {
        uint32_t cp;
        char esc[16];
        i += u8_decode((const unsigned char *)s + i, len - i, &cp);
        int elen = display_escape(cp, esc);
        cols += elen > 0 ? (size_t)elen : 1;
    }
    return cols;
}

static const char *display_copy(struct view *v, const char *s, size_t len, size_t max_cols)
{
    size_t cap = (len < max_cols ? len : max_cols) * 6 + 8;
    char *out = jr_arena_alloc(&v->pool, cap);
    if (!out) {
        v->oom = true;
        return NULL;
    }
    /* Text that does not fit is cut one column early to make room for "…". */
    size_t limit = display_cols(s, len, max_cols) > max_cols ? max_cols - 1 : max_cols;
    size_t o = 0, cols = 0, i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = u8_decode((const unsigned char *)s + i, len - i, &cp);
        char esc[16];
        int elen = display_escape(cp, esc);
        size_t w = elen > 0 ? (size_t)elen : 1;
        if (cols + w > limit) {
            memcpy(out + o, "\xe2\x80\xa6", 3); /* U+2026 */
            o += 3;
            break;
        }
        if (elen > 0) {
            memcpy(out + o, esc, (size_t)elen);
            o += (size_t)elen;
        } else if (cp == 0xFFFD && n == 1) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
        } else {
            memcpy(out + o, s + i, n);
            o += n;
        }
        cols += w;
        i += n;
    }
    out[o] = '\0';
    return out;
}

/* Display copy of a JSON string value; NULL when `j` is not a string. */
static const char *display_str(struct view *v, const struct jr_value *j, size_t max_cols)
{
    if (!j || j->type != JR_STRING)
        return NULL;
    return display_copy(v, j->u.s.ptr, j->u.s.len, max_cols);
}

/* ------------------------------------------------------------ OTLP bits -- */

/* Value of one hex digit or -1. */
static int hexdig(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Value of one standard base64 character or -1. */
static int b64dig(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/*
 * Decode an id of `n` bytes (16 or 8) from a JSON string: hex as OTLP JSON
 * requires (either case), or base64 as protobuf's generic JSON mapping writes
 * it. Returns false when the string is neither.
 */
static bool parse_id(const struct jr_value *j, uint8_t *out, size_t n)
{
    if (!j || j->type != JR_STRING)
        return false;
    const char *s = j->u.s.ptr;
    size_t len = j->u.s.len;
    if (len == 2 * n) {
        for (size_t i = 0; i < n; i++) {
            int hi = hexdig(s[2 * i]), lo = hexdig(s[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return false;
            out[i] = (uint8_t)(hi << 4 | lo);
        }
        return true;
    }
    /* base64: 16 bytes -> 24 chars with "==", 8 bytes -> 12 chars with "=". */
    size_t b64len = (n + 2) / 3 * 4, pad = b64len - (n * 4 + 2) / 3;
    size_t body = b64len - pad;
    if (len != b64len && len != body)
        return false;
    for (size_t i = body; i < len; i++)
        if (s[i] != '=')
            return false;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < body; i++) {
        int d = b64dig(s[i]);
        if (d < 0)
            return false;
        acc = (acc << 6) | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o < n)
                out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return o == n && acc == 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/*
 * An OTLP enum written as an integer (OTLP JSON) or as its protobuf name with
 * `prefix` ("SPAN_KIND_"), whose values are `names[0..n)`. Missing means 0
 * (proto3 default); anything else unreadable gives -1.
 */
static int32_t read_enum(const struct jr_value *j, const char *prefix, const char *const *names,
                         size_t n)
{
    int64_t x;
    if (!j)
        return 0;
    if (jr_to_i64(j, &x))
        return x >= 0 && x <= INT32_MAX ? (int32_t)x : -1;
    if (j->type == JR_STRING) {
        size_t pl = strlen(prefix);
        if (j->u.s.len > pl && memcmp(j->u.s.ptr, prefix, pl) == 0)
            for (size_t i = 0; i < n; i++)
                if (j->u.s.len - pl == strlen(names[i]) &&
                    memcmp(j->u.s.ptr + pl, names[i], j->u.s.len - pl) == 0)
                    return (int32_t)i;
    }
    return -1;
}

static const char *const kind_names[] = {"UNSPECIFIED", "INTERNAL", "SERVER",
                                         "CLIENT",      "PRODUCER", "CONSUMER"};
static const char *const status_names[] = {"UNSET", "OK", "ERROR"};

/* Text of a scalar AnyValue for display, pooled; NULL when absent or OOM. */
static const char *anyvalue_text(struct view *v, const struct jr_value *val)
{
    const struct jr_value *x;
    if ((x = jr_get(val, "stringValue")))
        return display_str(v, x, VALUE_MAX_COLS);
    if ((x = jr_get(val, "intValue"))) {
        int64_t i;
        char tmp[32];
        if (!jr_to_i64(x, &i))
            return display_copy(v, "?", 1, VALUE_MAX_COLS);
        int n = snprintf(tmp, sizeof(tmp), "%" PRId64, i);
        return display_copy(v, tmp, (size_t)n, VALUE_MAX_COLS);
    }
    if ((x = jr_get(val, "doubleValue"))) {
        if (x->type == JR_NUMBER || x->type == JR_STRING)
            return display_copy(v, x->u.s.ptr, x->u.s.len, VALUE_MAX_COLS);
        return display_copy(v, "?", 1, VALUE_MAX_COLS);
    }
    if ((x = jr_get(val, "boolValue"))) {
        const char *b = x->type == JR_TRUE ? "true" : x->type == JR_FALSE ? "false" : "?";
        return display_copy(v, b, strlen(b), VALUE_MAX_COLS);
    }
    if (jr_get(val, "arrayValue"))
        return display_copy(v, "[...]", 5, VALUE_MAX_COLS);
    if (jr_get(val, "kvlistValue"))
        return display_copy(v, "{...}", 5, VALUE_MAX_COLS);
    if (jr_get(val, "bytesValue"))
        return display_copy(v, "<bytes>", 7, VALUE_MAX_COLS);
    return NULL;
}

/* The service.name of a Resource, pooled and shared by consecutive lines that
 * name the same service; NULL when the resource has none. */
static const char *resource_service(struct view *v, const struct jr_value *resource)
{
    const struct jr_value *attrs = jr_get(resource, "attributes");
    if (!attrs || attrs->type != JR_ARRAY)
        return NULL;
    for (const struct jr_value *kv = attrs->u.c.first; kv; kv = kv->next) {
        if (!jr_str_eq(jr_get(kv, "key"), "service.name"))
            continue;
        const struct jr_value *s = jr_get(jr_get(kv, "value"), "stringValue");
        if (!s || s->type != JR_STRING)
            return NULL;
        if (v->last_service_copy && v->last_service_len == s->u.s.len &&
            memcmp(v->last_service, s->u.s.ptr, s->u.s.len) == 0)
            return v->last_service_copy;
        const char *copy = display_str(v, s, VALUE_MAX_COLS);
        /* Remember the raw bytes too, so the next line can match them. */
        const char *raw = jr_arena_strndup(&v->pool, s->u.s.ptr, s->u.s.len);
        if (!copy || !raw) {
            v->oom = true;
            return NULL;
        }
        v->last_service = raw;
        v->last_service_len = s->u.s.len;
        v->last_service_copy = copy;
        return copy;
    }
    return NULL;
}

/* Append one span object to the view; malformed spans are reported and
 * counted. `no` is the span's 1-based position in the line. */
static void add_span(struct view *v, const struct jr_value *js, const char *service, size_t no)
{
    struct vspan sp;
    memset(&sp, 0, sizeof(sp));
    if (!js || js->type != JR_OBJECT) {
        v->bad_spans++;
        report(v, "span %zu skipped: not a JSON object", no);
        return;
    }
    if (!parse_id(jr_get(js, "traceId"), sp.trace, 16) || all_zero(sp.trace, 16)) {
        v->bad_spans++;
        report(v, "span %zu skipped: traceId is not 32 hex digits (or is all zero)", no);
        return;
    }
    if (!parse_id(jr_get(js, "spanId"), sp.id, 8) || all_zero(sp.id, 8)) {
        v->bad_spans++;
        report(v, "span %zu skipped: spanId is not 16 hex digits (or is all zero)", no);
        return;
    }
    const struct jr_value *pj = jr_get(js, "parentSpanId");
    if (pj && !(pj->type == JR_STRING && pj->u.s.len == 0)) {
        if (!parse_id(pj, sp.parent, 8)) {
            v->bad_spans++;
            report(v, "span %zu skipped: parentSpanId is not 16 hex digits", no);
            return;
        }
        if (!all_zero(sp.parent, 8))
            sp.flags |= SF_HAS_PARENT;
    }
    const struct jr_value *name = jr_get(js, "name");
    if (name && name->type == JR_STRING && name->u.s.len > 0)
        sp.name = display_str(v, name, NAME_MAX_COLS);
    else
        sp.name = display_copy(v, "(no name)", 9, NAME_MAX_COLS);
    sp.kind = read_enum(jr_get(js, "kind"), "SPAN_KIND_", kind_names, 6);
    if (!jr_to_u64(jr_get(js, "startTimeUnixNano"), &sp.start))
        sp.start = 0;
    if (!jr_to_u64(jr_get(js, "endTimeUnixNano"), &sp.end))
        sp.end = 0;
    const struct jr_value *st = jr_get(js, "status");
    sp.status = read_enum(jr_get(st, "code"), "STATUS_CODE_", status_names, 3);
    const struct jr_value *msg = jr_get(st, "message");
    if (msg && msg->type == JR_STRING && msg->u.s.len > 0)
        sp.status_msg = display_str(v, msg, MSG_MAX_COLS);
    const struct jr_value *attrs = jr_get(js, "attributes");
    const char *old_http = NULL;
    if (attrs && attrs->type == JR_ARRAY) {
        for (const struct jr_value *kv = attrs->u.c.first; kv; kv = kv->next) {
            const struct jr_value *key = jr_get(kv, "key");
            const char **slot = NULL;
            if (jr_str_eq(key, "chaostoolkit.type"))
                slot = &sp.ctk_type;
            else if (jr_str_eq(key, "chaostoolkit.activity.status"))
                slot = &sp.ctk_status;
            else if (jr_str_eq(key, "http.response.status_code"))
                slot = &sp.http;
            else if (jr_str_eq(key, "http.status_code")) /* older conventions */
                slot = &old_http;
            if (slot && !*slot)
                *slot = anyvalue_text(v, jr_get(kv, "value"));
        }
    }
    if (!sp.http)
        sp.http = old_http;
    sp.service = service;
    if (v->oom)
        return;
    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 1024;
        struct vspan *ns =
            ncap < SIZE_MAX / sizeof(*ns) ? realloc(v->spans, ncap * sizeof(*ns)) : NULL;
        if (!ns) {
            v->oom = true;
            return;
        }
        v->spans = ns;
        v->cap = ncap;
    }
    v->spans[v->n++] = sp;
}

/* Parse one input line and collect its spans. Blank lines are ignored. */
static void process_line(struct view *v, const char *line, size_t len)
{
    if (v->lineno == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
        line += 3; /* a byte order mark some editors add */
        len -= 3;
    }
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    if (i == len)
        return;
    jr_arena_reset(&v->line);
    struct jr_value *root;
    struct jr_error err;
    int rc = jr_parse(&v->line, line, len, &root, &err);
    if (rc) {
        v->bad_lines++;
        report(v, "invalid JSON at column %zu: %s; line skipped", err.offset + 1, err.msg);
        return;
    }
    if (root->type != JR_OBJECT) {
        v->bad_lines++;
        report(v, "not an OTLP ExportTraceServiceRequest (not a JSON object); line skipped");
        return;
    }
    const struct jr_value *rss = jr_get(root, "resourceSpans");
    if (!rss)
        return;
    if (rss->type != JR_ARRAY) {
        v->bad_lines++;
        report(v, "resourceSpans is not an array; line skipped");
        return;
    }
    size_t no = 0;
    for (const struct jr_value *rs = rss->u.c.first; rs; rs = rs->next) {
        const char *service = resource_service(v, jr_get(rs, "resource"));
        const struct jr_value *sss = jr_get(rs, "scopeSpans");
        if (!sss)
            sss = jr_get(rs, "instrumentationLibrarySpans"); /* OTLP < 0.19 */
        if (!sss || sss->type != JR_ARRAY)
            continue;
        for (const struct jr_value *ss = sss->u.c.first; ss; ss = ss->next) {
            const struct jr_value *spans = jr_get(ss, "spans");
            if (!spans || spans->type != JR_ARRAY)
                continue;
            for (const struct jr_value *js = spans->u.c.first; js; js = js->next) {
                add_span(v, js, service, ++no);
                if (v->oom)
                    return;
            }
        }
    }
}

/* --------------------------------------------------------- line reader -- */

struct reader {
    FILE *f;
    char *buf;
    size_t cap;
    size_t start; /* first unread byte */
    size_t end;   /* one past the last byte read */
    bool eof;
};

enum { READ_LINE = 1, READ_EOF = 0, READ_ERROR = -1, READ_TOO_LONG = 2, READ_NOMEM = -2 };

/*
 * Next line of the input, without its '\n' and NUL-terminated in place, valid
 * until the next call. Lines longer than MAX_LINE are consumed and reported as
 * READ_TOO_LONG. Returns READ_LINE, READ_TOO_LONG, READ_EOF, READ_ERROR
 * (errno set) or READ_NOMEM.
 */
static int read_line(struct reader *r, char **line, size_t *len)
{
    bool discarding = false;
    for (;;) {
        size_t avail = r->end - r->start;
        char *s = r->buf + r->start;
        char *nl = avail ? memchr(s, '\n', avail) : NULL;
        if (nl) {
            r->start = (size_t)(nl - r->buf) + 1;
            if (discarding)
                return READ_TOO_LONG;
            *nl = '\0';
            *line = s;
            *len = (size_t)(nl - s);
            return READ_LINE;
        }
        if (discarding || avail > MAX_LINE) {
            discarding = true;
            r->start = r->end = 0;
            avail = 0;
        }
        if (r->eof) {
            if (discarding)
                return READ_TOO_LONG;
            if (avail == 0)
                return READ_EOF;
            s[avail] = '\0'; /* the buffer always keeps one spare byte */
            *line = s;
            *len = avail;
            r->start = r->end;
            return READ_LINE;
        }
        if (r->start > 0) {
            memmove(r->buf, r->buf + r->start, avail);
            r->start = 0;
            r->end = avail;
        }
        if (r->cap - r->end < READ_CHUNK / 4 + 1) {
            size_t ncap = r->cap ? r->cap * 2 : READ_CHUNK;
            char *nb = realloc(r->buf, ncap);
            if (!nb)
                return READ_NOMEM;
            r->buf = nb;
            r->cap = ncap;
        }
        size_t got = fread(r->buf + r->end, 1, r->cap - r->end - 1, r->f);
        r->end += got;
        if (got == 0) {
            if (ferror(r->f))
                return READ_ERROR;
            r->eof = true;
        }
    }
}

/* Read every line of `path` ("-" = stdin) into the view. Returns false when
 * the file cannot be opened or read (reported on stderr). */
static bool read_input(struct view *v, const char *path)
{
    bool is_stdin = strcmp(path, "-") == 0;
    struct reader r = {0};
    r.f = is_stdin ? stdin : fopen(path, "rb");
    if (!r.f) {
        fprintf(stderr, "chaostracing: cannot read %s: %s\n", path, strerror(errno));
        return false;
    }
    v->src = is_stdin ? "<stdin>" : path;
    v->lineno = 0;
    bool ok = true;
    for (;;) {
        char *line;
        size_t len;
        errno = 0;
        int rc = read_line(&r, &line, &len);
        if (rc == READ_EOF)
            break;
        if (rc == READ_ERROR || rc == READ_NOMEM) {
            fprintf(stderr, "chaostracing: cannot read %s: %s\n", path,
                    rc == READ_NOMEM ? "out of memory" : strerror(errno ? errno : EIO));
            ok = false;
            break;
        }
        v->lineno++;
        if (rc == READ_TOO_LONG) {
            v->bad_lines++;
            report(v, "line longer than %zu MiB; skipped", MAX_LINE >> 20);
            continue;
        }
        process_line(v, line, len);
        if (v->oom)
            break;
    }
    free(r.buf);
    if (!is_stdin)
        fclose(r.f);
    return ok;
}

/* ------------------------------------------------------------- the tree -- */

/* Order of spans by (trace id, span id). */
static int cmp_trace_id(const void *pa, const void *pb)
{
    const struct vspan *a = pa, *b = pb;
    int c = memcmp(a->trace, b->trace, 16);
    return c ? c : memcmp(a->id, b->id, 8);
}

/* A span's position among its siblings: by parent, start time, then index. */
struct kid {
    size_t parent;
    uint64_t start;
    size_t ix;
};

static int cmp_kid(const void *pa, const void *pb)
{
    const struct kid *a = pa, *b = pb;
    if (a->parent != b->parent)
        return a->parent < b->parent ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->ix < b->ix ? -1 : a->ix > b->ix;
}

/* One trace: spans[first .. first+count) after the sort. */
struct trace {
    size_t first;
    size_t count;
    uint64_t start; /* earliest start time */
};

static int cmp_trace(const void *pa, const void *pb)
{
    const struct trace *a = pa, *b = pb;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->first < b->first ? -1 : a->first > b->first;
}

/* A printed line: which span, how deep, and how it is marked. */
struct row {
    size_t ix;
    size_t depth;
    bool last;  /* last child of its parent */
    bool cycle; /* top of a parent cycle */
};

struct frame {
    size_t ix;
    size_t next; /* next child to visit */
};

struct walk {
    struct vspan *s;
    const size_t *kids;
    struct frame *stack;
    struct row *rows;
    size_t nrows;
};

/* Emit the subtree of `top` (already marked visited) in preorder. */
static void walk_from(struct walk *w, size_t top, bool cycle)
{
    struct vspan *s = w->s;
    size_t sp = 0;
    w->rows[w->nrows++] = (struct row){top, 0, true, cycle};
    w->stack[sp++] = (struct frame){top, 0};
    while (sp > 0) {
        struct frame *f = &w->stack[sp - 1];
        const struct vspan *p = &s[f->ix];
        while (f->next < p->nkid && (s[w->kids[p->kid0 + f->next]].flags & SF_VISITED))
            f->next++;
        if (f->next == p->nkid) {
            sp--;
            continue;
        }
        size_t c = w->kids[p->kid0 + f->next++];
        size_t j = f->next;
        while (j < p->nkid && (s[w->kids[p->kid0 + j]].flags & SF_VISITED))
            j++;
        s[c].flags |= SF_VISITED;
        w->rows[w->nrows++] = (struct row){c, sp, j == p->nkid, false};
        w->stack[sp++] = (struct frame){c, 0};
    }
}

/* Find the parent index of every span of trace `t`, and the children lists.
 * Returns the kid list (caller frees) or NULL when out of memory. */
static size_t *link_trace(struct vspan *s, const struct trace *t)
{
    size_t a = t->first, b = t->first + t->count;
    struct kid *k = malloc(t->count * sizeof(*k));
    size_t *kids = malloc(t->count * sizeof(*kids));
    if (!k || !kids) {
        free(k);
        free(kids);
        return NULL;
    }
    size_t nk = 0;
    for (size_t i = a; i < b; i++) {
        s[i].parent_ix = NO_PARENT;
        s[i].nkid = 0;
        s[i].kid0 = 0;
        s[i].flags &= (uint8_t) ~(SF_VISITED | SF_ON_PATH);
        if (!(s[i].flags & SF_HAS_PARENT))
            continue;
        size_t lo = a, hi = b;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = memcmp(s[mid].id, s[i].parent, 8);
            if (c == 0) {
                s[i].parent_ix = mid;
                break;
            }
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (s[i].parent_ix != NO_PARENT)
            k[nk++] = (struct kid){s[i].parent_ix, s[i].start, i};
    }
    qsort(k, nk, sizeof(*k), cmp_kid);
    for (size_t i = 0; i < nk; i++) {
        struct vspan *p = &s[k[i].parent];
        if (p->nkid == 0)
            p->kid0 = i;
        p->nkid++;
        kids[i] = k[i].ix;
    }
    free(k);
    return kids;
}

/* The member of the parent cycle above unvisited span `i` that starts first:
 * every unvisited span after the roots' walk hangs below such a cycle. */
static size_t cycle_top(struct vspan *s, size_t i)
{
    size_t x = i;
    s[x].flags |= SF_ON_PATH;
    while (s[x].parent_ix != NO_PARENT && !(s[s[x].parent_ix].flags & SF_ON_PATH)) {
        x = s[x].parent_ix;
        s[x].flags |= SF_ON_PATH;
    }
    if (s[x].parent_ix == NO_PARENT)
        return x; /* cannot happen: such a span would be a root */
    size_t first = s[x].parent_ix, best = first;
    for (size_t y = s[first].parent_ix; y != first; y = s[y].parent_ix)
        if (s[y].start < s[best].start)
            best = y;
    return best;
}

/* Columns taken by the tree drawing in front of a name at `depth`. */
static size_t prefix_cols(size_t depth)
{
    if (depth == 0)
        return 0;
    if (depth <= MAX_DRAW_DEPTH)
        return 3 * depth;
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "[depth %zu] ", depth);
    return 3 * MAX_DRAW_DEPTH + (size_t)n;
}

/* Duration text: milliseconds with one decimal, "?" when unknown. */
static void format_ms(const struct vspan *sp, char *out, size_t n)
{
    if (sp->start == 0 || sp->end < sp->start) {
        snprintf(out, n, "?");
        return;
    }
    uint64_t tenths = (sp->end - sp->start + 50000) / 100000;
    snprintf(out, n, "%" PRIu64 ".%u", tenths / 10, (unsigned)(tenths % 10));
}

/* Wall-clock text for a start time, "" when unknown. */
static void format_time(uint64_t ns, char *out, size_t n)
{
    out[0] = '\0';
    if (ns == 0)
        return;
    time_t secs = (time_t)(ns / 1000000000u);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return;
    char day[40];
    if (strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        return;
    snprintf(out, n, "%s.%03uZ", day, (unsigned)(ns / 1000000u % 1000u));
}

static const char *kind_text(int32_t kind)
{
    switch (kind) {
    case 0:
    case 1:
        return NULL;
    case 2:
        return "server";
    case 3:
        return "client";
    case 4:
        return "producer";
    case 5:
        return "consumer";
    default:
        return "kind=?";
    }
}

static void put_spaces(size_t n)
{
    static const char sp[] = "                                ";
    while (n > 0) {
        size_t k = n < sizeof(sp) - 1 ? n : sizeof(sp) - 1;
        fwrite(sp, 1, k, stdout);
        n -= k;
    }
}

/* Print the header and the rows of one trace. */
static void print_trace(const struct view *v, const struct vspan *s, const struct trace *t,
                        const struct row *rows, size_t nrows)
{
    const struct view_opts *o = &v->opts;
    const char *bar = o->ascii ? "|  " : "\xe2\x94\x82  ";
    const char *tee = o->ascii ? "|- " : "\xe2\x94\x9c\xe2\x94\x80 ";
    const char *elbow = o->ascii ? "`- " : "\xe2\x94\x94\xe2\x94\x80 ";
    const char *red = o->color ? "\033[1;31m" : "", *bold = o->color ? "\033[1m" : "";
    const char *dim = o->color ? "\033[2m" : "", *reset = o->color ? "\033[0m" : "";

    /* Services in order of appearance: the header lists up to three. */
    const char *svc[3] = {NULL, NULL, NULL};
    size_t nsvc = 0;
    bool more_svc = false, missing_svc = false;
    for (size_t r = 0; r < nrows; r++) {
        const char *x = s[rows[r].ix].service;
        if (!x) {
            missing_svc = true;
            continue;
        }
        size_t k = 0;
        while (k < nsvc && svc[k] != x && strcmp(svc[k], x) != 0)
            k++;
        if (k < nsvc)
            continue;
        if (nsvc < 3)
            svc[nsvc++] = x;
        else
            more_svc = true;
    }
    bool multi = nsvc + (missing_svc ? 1 : 0) + (more_svc ? 1 : 0) > 1;

    char hex[33], when[64];
    for (size_t i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", s[t->first].trace[i]);
    format_time(t->start, when, sizeof(when));
    printf("%strace %s%s  service=", bold, hex, reset);
    if (nsvc == 0)
        fputs("(none)", stdout);
    for (size_t k = 0; k < nsvc; k++)
        printf("%s%s", k ? "," : "", svc[k]);
    if (more_svc)
        fputs(",...", stdout);
    printf("  %zu span%s", t->count, t->count == 1 ? "" : "s");
    if (when[0])
        printf("  start=%s", when);
    fputc('\n', stdout);

    /* Column widths. */
    size_t name_w = 0, dur_w = 1;
    char dur[32];
    for (size_t r = 0; r < nrows; r++) {
        size_t w = prefix_cols(rows[r].depth) + u8_cols(s[rows[r].ix].name);
        if (w > name_w)
            name_w = w;
        format_ms(&s[rows[r].ix], dur, sizeof(dur));
        if (strlen(dur) > dur_w)
            dur_w = strlen(dur);
    }
    if (name_w > NAME_COL_MAX)
        name_w = NAME_COL_MAX;

    bool last[MAX_DRAW_DEPTH + 1] = {false};
    for (size_t r = 0; r < nrows; r++) {
        const struct row *row = &rows[r];
        const struct vspan *sp = &s[row->ix];
        size_t d = row->depth;
        size_t shown = d < MAX_DRAW_DEPTH ? d : MAX_DRAW_DEPTH;
        if (d <= MAX_DRAW_DEPTH)
            last[d] = row->last;
        for (size_t k = 1; k < shown; k++)
            fputs(last[k] ? "   " : bar, stdout);
        if (d > 0)
            fputs(row->last ? elbow : tee, stdout);
        if (d > MAX_DRAW_DEPTH)
            printf("[depth %zu] ", d);
        fputs(sp->name, stdout);
        size_t used = prefix_cols(d) + u8_cols(sp->name);
        put_spaces(used < name_w ? name_w - used : 0);
        format_ms(sp, dur, sizeof(dur));
        fputs("  ", stdout);
        put_spaces(dur_w - strlen(dur));
        printf("%s ms", dur);
        if (sp->status == 2)
            printf("  %sERROR%s", red, reset);
        else if (sp->status == 1)
            fputs("  ok", stdout);
        else if (sp->status != 0)
            fputs("  status=?", stdout);
        const char *kt = kind_text(sp->kind);
        if (kt)
            printf("  %s", kt);
        if (o->attrs && (sp->ctk_type || sp->ctk_status || sp->http)) {
            const char *sep = "";
            fputs("  [", stdout);
            if (sp->ctk_type) {
                fputs(sp->ctk_type, stdout);
                sep = " ";
            }
            if (sp->ctk_status) {
                printf("%s%s", sep, sp->ctk_status);
                sep = " ";
            }
            if (sp->http)
                printf("%shttp %s", sep, sp->http);
            fputc(']', stdout);
        }
        if (multi && sp->service && sp->service != svc[0] &&
            (!svc[0] || strcmp(sp->service, svc[0]) != 0))
            printf("  service=%s", sp->service);
        if (sp->status_msg)
            printf("  \"%s\"", sp->status_msg);
        if (d == 0 && (sp->flags & SF_HAS_PARENT))
            printf("  %s%s%s", dim, row->cycle ? "(parent cycle)" : "(remote parent)", reset);
        fputc('\n', stdout);
    }
}

/* Link, order and print every trace. Returns false when out of memory. */
static bool print_all(struct view *v)
{
    struct vspan *s = v->spans;
    size_t n = v->n;
    if (n == 0)
        return true;
    qsort(s, n, sizeof(*s), cmp_trace_id);

    size_t nt = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || memcmp(s[i].trace, s[i - 1].trace, 16) != 0)
            nt++;
    struct trace *traces = malloc(nt * sizeof(*traces));
    struct frame *stack = malloc(n * sizeof(*stack));
    struct row *rows = malloc(n * sizeof(*rows));
    struct kid *rk = malloc(n * sizeof(*rk));
    bool ok = traces && stack && rows && rk;
    if (ok) {
        size_t ti = 0;
        for (size_t i = 0; i < n; i++) {
            if (i == 0 || memcmp(s[i].trace, s[i - 1].trace, 16) != 0)
                traces[ti++] = (struct trace){i, 0, UINT64_MAX};
            struct trace *t = &traces[ti - 1];
            t->count++;
            if (s[i].start < t->start)
                t->start = s[i].start;
        }
        qsort(traces, nt, sizeof(*traces), cmp_trace);
    }
    for (size_t ti = 0; ok && ti < nt; ti++) {
        const struct trace *t = &traces[ti];
        size_t *kids = link_trace(s, t);
        if (!kids) {
            ok = false;
            break;
        }
        struct walk w = {s, kids, stack, rows, 0};
        size_t nr = 0;
        for (size_t i = t->first; i < t->first + t->count; i++)
            if (s[i].parent_ix == NO_PARENT)
                rk[nr++] = (struct kid){0, s[i].start, i};
        qsort(rk, nr, sizeof(*rk), cmp_kid);
        for (size_t r = 0; r < nr; r++) {
            s[rk[r].ix].flags |= SF_VISITED;
            walk_from(&w, rk[r].ix, false);
        }
        /* What is left hangs below parent cycles; show each cycle once. */
        for (size_t i = t->first; i < t->first + t->count; i++) {
            if (s[i].flags & SF_VISITED)
                continue;
            size_t top = cycle_top(s, i);
            s[top].flags |= SF_VISITED;
            walk_from(&w, top, true);
        }
        if (ti > 0)
            fputc('\n', stdout);
        print_trace(v, s, t, w.rows, w.nrows);
        free(kids);
    }
    free(traces);
    free(stack);
    free(rows);
    free(rk);
    return ok;
}

/* ---------------------------------------------------------- the command -- */

void cli_view_usage(FILE *f)
{
    fputs("usage: chaostracing view [--no-attrs] [--ascii] [--color=auto|always|never] "
          "FILE...\n"
          "\n"
          "Print the spans in OTLP JSON lines files (one ExportTraceServiceRequest per\n"
          "line, as the file exporter writes them) as one tree per trace. FILE '-' (or\n"
          "no FILE with a pipe on standard input) reads standard input.\n"
          "\n"
          "  --no-attrs   do not show chaostoolkit.type, chaostoolkit.activity.status\n"
          "               and http.response.status_code after each span\n"
          "  --ascii      draw the tree with ASCII instead of box-drawing characters\n"
          "  --color=WHEN colour ERROR and headers: auto (a terminal, NO_COLOR unset),\n"
          "               always or never\n"
          "\n"
          "Exit status: 0 ok; 1 a file could not be read; 2 malformed lines or spans\n"
          "were skipped (each reported on stderr as FILE:LINE: ...); 64 usage error.\n",
          f);
}

int cli_view_main(int argc, char **argv)
{
    struct view v;
    memset(&v, 0, sizeof(v));
    v.opts.attrs = true;
    v.line.limit = LINE_ARENA_LIMIT;
    int color = -1; /* auto */
    const char **files = calloc((size_t)argc + 1, sizeof(*files));
    size_t nfiles = 0;
    if (!files) {
        fputs("chaostracing: out of memory\n", stderr);
        return CLI_EXIT_IO;
    }
    bool opts_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts_done || a[0] != '-' || strcmp(a, "-") == 0) {
            files[nfiles++] = a;
        } else if (strcmp(a, "--") == 0) {
            opts_done = true;
        } else if (strcmp(a, "--no-attrs") == 0) {
            v.opts.attrs = false;
        } else if (strcmp(a, "--ascii") == 0) {
            v.opts.ascii = true;
        } else if (strcmp(a, "--color") == 0 || strcmp(a, "--color=always") == 0) {
            color = 1;
        } else if (strcmp(a, "--color=never") == 0) {
            color = 0;
        } else if (strcmp(a, "--color=auto") == 0) {
            color = -1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_view_usage(stdout);
            free(files);
            return CLI_EXIT_OK;
        } else {
            fprintf(stderr, "chaostracing view: unknown option '%s'\n", a);
            cli_view_usage(stderr);
            free(files);
            return CLI_EXIT_USAGE;
        }
    }
    if (nfiles == 0) {
        if (isatty(STDIN_FILENO)) {
            fputs("chaostracing view: no FILE given (use '-' for standard input)\n", stderr);
            cli_view_usage(stderr);
            free(files);
            return CLI_EXIT_USAGE;
        }
        files[nfiles++] = "-";
    }
    if (color < 0) {
        const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
        color = isatty(STDOUT_FILENO) && !(nc && nc[0]) && !(term && strcmp(term, "dumb") == 0);
    }
    v.opts.color = color == 1;

    for (size_t i = 0; i < nfiles && !v.oom; i++)
        if (!read_input(&v, files[i]))
            v.io_error = true;
    free(files);
    jr_arena_free(&v.line);

    if (!v.oom && !print_all(&v))
        v.oom = true;
    fflush(stdout);
    if (v.oom)
        fputs("chaostracing: out of memory\n", stderr);
    else if (v.n == 0 && !v.io_error)
        fputs("chaostracing: no spans found\n", stderr);
    if (v.bad_lines || v.bad_spans)
        fprintf(stderr, "chaostracing: skipped %lu malformed line%s and %lu malformed span%s\n",
                v.bad_lines, v.bad_lines == 1 ? "" : "s", v.bad_spans, v.bad_spans == 1 ? "" : "s");
    free(v.spans);
    jr_arena_free(&v.pool);
    if (v.io_error || v.oom)
        return CLI_EXIT_IO;
    if (v.bad_lines || v.bad_spans)
        return CLI_EXIT_SKIPPED;
    return CLI_EXIT_OK;
}
