/*
 * Strict JSON reader for the command-line tool: tokenizer and tree builder in
 * one pass, with an arena for the nodes. See jsonread.h for the contract.
 */
#include "jsonread.h"

#include <chaostracing/common.h>

#include <math.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- arena -- */

struct jr_chunk {
    struct jr_chunk *next; /* older chunk */
    size_t cap;
    size_t used;
    max_align_t data[];
};

#define JR_CHUNK_MIN ((size_t)64 * 1024)
#define JR_CHUNK_MAX ((size_t)64 * 1024 * 1024)
#define JR_ALIGN (alignof(max_align_t))

/* Allocate from the newest chunk, or start a bigger one. NULL on OOM/limit. */
void *jr_arena_alloc(struct jr_arena *a, size_t n)
{
    if (n > SIZE_MAX / 2)
        return NULL;
    n = (n + JR_ALIGN - 1) & ~(JR_ALIGN - 1);
    if (n == 0)
        n = JR_ALIGN;
    struct jr_chunk *c = a->head;
    if (c && c->cap - c->used >= n) {
        void *p = (char *)c->data + c->used;
        c->used += n;
        return p;
    }
    size_t cap = c ? c->cap * 2 : JR_CHUNK_MIN;
    if (cap > JR_CHUNK_MAX)
        cap = JR_CHUNK_MAX;
    if (cap < n)
        cap = n;
    if (a->limit && (a->total > a->limit || cap > a->limit - a->total)) {
        cap = n; /* one last exact-size try within the limit */
        if (a->total > a->limit || cap > a->limit - a->total)
            return NULL;
    }
    c = malloc(sizeof(*c) + cap);
    if (!c)
        return NULL;
    c->next = a->head;
    c->cap = cap;
    c->used = n;
    a->head = c;
    a->total += cap;
    return c->data;
}

/* Copy into the arena with a trailing NUL; NULL on failure. */
char *jr_arena_strndup(struct jr_arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *d = jr_arena_alloc(a, len + 1);
    if (!d)
        return NULL;
    if (len)
        memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

/* Keep the oldest chunk (emptied), free the others. */
void jr_arena_reset(struct jr_arena *a)
{
    struct jr_chunk *c = a->head;
    if (!c)
        return;
    while (c->next) {
        struct jr_chunk *older = c->next;
        a->total -= c->cap;
        free(c);
        c = older;
    }
    c->used = 0;
    a->head = c;
}

/* Free every chunk; the arena is empty and reusable afterwards. */
void jr_arena_free(struct jr_arena *a)
{
    struct jr_chunk *c = a->head;
    while (c) {
        struct jr_chunk *older = c->next;
        free(c);
        c = older;
    }
    a->head = NULL;
    a->total = 0;
}

/* ---------------------------------------------------------------- lexing -- */

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 when it is not one. */
static size_t utf8_seq_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

/* Length of the JSON number at p (RFC 8259 grammar), or 0 when there is none
 * or it is malformed (leading zeros, missing digits). */
static size_t scan_number(const char *p, const char *end)
{
    const char *q = p;
    if (q < end && *q == '-')
        q++;
    if (q >= end)
        return 0;
    if (*q == '0') {
        q++;
        if (q < end && *q >= '0' && *q <= '9')
            return 0;
    } else if (*q >= '1' && *q <= '9') {
        while (q < end && *q >= '0' && *q <= '9')
            q++;
    } else {
        return 0;
    }
    if (q < end && *q == '.') {
        q++;
        if (q >= end || *q < '0' || *q > '9')
            return 0;
        while (q < end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        if (q >= end || *q < '0' || *q > '9')
            return 0;
        while (q < end && *q >= '0' && *q <= '9')
            q++;
    }
    return (size_t)(q - p);
}

/* Value of one hex digit, or -1. */
static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits at p (caller checked the bounds); -1 when not hex. */
static long hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = (v << 4) | h;
    }
    return v;
}

/* Append code point `cp` as UTF-8 at d; returns the bytes written (1..4). */
static size_t put_utf8(char *d, unsigned long cp)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xC0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---------------------------------------------------------------- parser -- */

struct parser {
    struct jr_arena *a;
    const char *buf;
    const char *p;
    const char *end;
    struct jr_error *err;
};

/* Record a syntax error at `at`; returns CTR_EPARSE. */
static int fail(struct parser *ps, const char *at, const char *msg)
{
    ps->err->offset = (size_t)(at - ps->buf);
    ps->err->msg = msg;
    return CTR_EPARSE;
}

/* Record an allocation failure; returns CTR_ENOMEM. */
static int nomem(struct parser *ps)
{
    ps->err->offset = (size_t)(ps->p - ps->buf);
    ps->err->msg = "out of memory (input too large)";
    return CTR_ENOMEM;
}

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

/*
 * Parse the string literal at ps->p (which is '"'). Escape-free strings point
 * into the input; others are decoded into the arena. Lone surrogates in \u
 * escapes become U+FFFD; raw bytes must be valid UTF-8 without control
 * characters. Returns 0, CTR_EPARSE or CTR_ENOMEM.
 */
static int parse_string(struct parser *ps, const char **out, size_t *out_len)
{
    const char *start = ps->p + 1;
    const char *q = start;
    bool escaped = false;
    while (q < ps->end && *q != '"') {
        unsigned char c = (unsigned char)*q;
        if (c == '\\') {
            escaped = true;
            if (ps->end - q < 2) {
                q = ps->end;
                break;
            }
            q += 2; /* the escape itself is checked while decoding */
            continue;
        }
        if (c < 0x20)
            return fail(ps, q, "control character in string");
        size_t n = utf8_seq_len((const unsigned char *)q, (const unsigned char *)ps->end);
        if (n == 0)
            return fail(ps, q, "invalid UTF-8 in string");
        q += n;
    }
    if (q >= ps->end)
        return fail(ps, ps->p, "unterminated string");
    ps->p = q + 1;
    if (!escaped) {
        *out = start;
        *out_len = (size_t)(q - start);
        return 0;
    }
    /* Decoding never makes the text longer: \uXXXX (6 bytes) gives at most 3,
     * a surrogate pair (12 bytes) gives 4. */
    char *d = jr_arena_alloc(ps->a, (size_t)(q - start) + 1);
    if (!d)
        return nomem(ps);
    size_t n = 0;
    for (const char *s = start; s < q;) {
        if (*s != '\\') {
            d[n++] = *s++;
            continue;
        }
        const char *esc = s;
        s++;
        if (s >= q)
            return fail(ps, esc, "invalid escape");
        char e = *s++;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            d[n++] = e;
            break;
        case 'b':
            d[n++] = '\b';
            break;
        case 'f':
            d[n++] = '\f';
            break;
        case 'n':
            d[n++] = '\n';
            break;
        case 'r':
            d[n++] = '\r';
            break;
        case 't':
            d[n++] = '\t';
            break;
        case 'u': {
            if (q - s < 4)
                return fail(ps, esc, "invalid \\u escape");
            long cp = hex4(s);
            if (cp < 0)
                return fail(ps, esc, "invalid \\u escape");
            s += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                long lo = -1;
                if (q - s >= 6 && s[0] == '\\' && s[1] == 'u')
                    lo = hex4(s + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    s += 6;
                } else {
                    cp = 0xFFFD; /* lone high surrogate */
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = 0xFFFD; /* lone low surrogate */
            }
            n += put_utf8(d + n, (unsigned long)cp);
            break;
        }
        default:
            return fail(ps, esc, "invalid escape");
        }
    }
    d[n] = '\0';
    *out = d;
    *out_len = n;
    return 0;
}

static int parse_value(struct parser *ps, struct jr_value *v, int depth);

/* Allocate a zeroed node; NULL on failure. */
static struct jr_value *new_node(struct parser *ps)
{
    struct jr_value *v = jr_arena_alloc(ps->a, sizeof(*v));
    if (v)
        memset(v, 0, sizeof(*v));
    return v;
}

/* Parse the array at ps->p ('['); `depth` counts the enclosing containers. */
static int parse_array(struct parser *ps, struct jr_value *v, int depth)
{
    struct jr_value **tail = &v->u.c.first;
    v->type = JR_ARRAY;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return 0;
    }
    for (;;) {
        if (ps->p >= ps->end)
            return fail(ps, ps->p, "unterminated array");
        struct jr_value *item = new_node(ps);
        if (!item)
            return nomem(ps);
        int rc = parse_value(ps, item, depth);
        if (rc)
            return rc;
        *tail = item;
        tail = &item->next;
        v->u.c.count++;
        skip_ws(ps);
        if (ps->p >= ps->end)
            return fail(ps, ps->p, "unterminated array");
        if (*ps->p == ']') {
            ps->p++;
            return 0;
        }
        if (*ps->p != ',')
            return fail(ps, ps->p, "expected ',' or ']'");
        ps->p++;
        skip_ws(ps);
    }
}

/* Parse the object at ps->p ('{'); `depth` counts the enclosing containers. */
static int parse_object(struct parser *ps, struct jr_value *v, int depth)
{
    struct jr_value **tail = &v->u.c.first;
    v->type = JR_OBJECT;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return 0;
    }
    for (;;) {
        if (ps->p >= ps->end)
            return fail(ps, ps->p, "unterminated object");
        if (*ps->p != '"')
            return fail(ps, ps->p, "expected a string key");
        const char *key;
        size_t key_len;
        int rc = parse_string(ps, &key, &key_len);
        if (rc)
            return rc;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':')
            return fail(ps, ps->p, "expected ':'");
        ps->p++;
        skip_ws(ps);
        struct jr_value *item = new_node(ps);
        if (!item)
            return nomem(ps);
        item->key = key;
        item->key_len = key_len;
        rc = parse_value(ps, item, depth);
        if (rc)
            return rc;
        *tail = item;
        tail = &item->next;
        v->u.c.count++;
        skip_ws(ps);
        if (ps->p >= ps->end)
            return fail(ps, ps->p, "unterminated object");
        if (*ps->p == '}') {
            ps->p++;
            return 0;
        }
        if (*ps->p != ',')
            return fail(ps, ps->p, "expected ',' or '}'");
        ps->p++;
        skip_ws(ps);
    }
}

/* Match the literal `lit` at ps->p. */
static bool match_literal(struct parser *ps, const char *lit, size_t n)
{
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, lit, n) != 0)
        return false;
    ps->p += n;
    return true;
}

/* Parse any value at ps->p into *v (whose key/next the caller owns). */
static int parse_value(struct parser *ps, struct jr_value *v, int depth)
{
    if (ps->p >= ps->end)
        return fail(ps, ps->p, "unexpected end of input");
    switch (*ps->p) {
    case '{':
    case '[':
        if (depth >= JR_MAX_DEPTH)
            return fail(ps, ps->p, "nesting deeper than 64 levels");
        return *ps->p == '{' ? parse_object(ps, v, depth + 1) : parse_array(ps, v, depth + 1);
    case '"':
        v->type = JR_STRING;
        return parse_string(ps, &v->u.s.ptr, &v->u.s.len);
    case 't':
        v->type = JR_TRUE;
        return match_literal(ps, "true", 4) ? 0 : fail(ps, ps->p, "invalid literal");
    case 'f':
        v->type = JR_FALSE;
        return match_literal(ps, "false", 5) ? 0 : fail(ps, ps->p, "invalid literal");
    case 'n':
        v->type = JR_NULL;
        return match_literal(ps, "null", 4) ? 0 : fail(ps, ps->p, "invalid literal");
    default: {
        size_t n = scan_number(ps->p, ps->end);
        if (n == 0)
            return fail(ps, ps->p,
                        (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
                            ? "invalid number"
                            : "unexpected character");
        v->type = JR_NUMBER;
        v->u.s.ptr = ps->p;
        v->u.s.len = n;
        ps->p += n;
        return 0;
    }
    }
}

/* Parse exactly one JSON text; see jsonread.h. */
int jr_parse(struct jr_arena *a, const char *buf, size_t len, struct jr_value **out,
             struct jr_error *err)
{
    struct parser ps = {a, buf, buf, buf + len, err};
    *out = NULL;
    err->offset = 0;
    err->msg = NULL;
    skip_ws(&ps);
    if (ps.p >= ps.end)
        return fail(&ps, ps.p, "empty input");
    struct jr_value *root = new_node(&ps);
    if (!root)
        return nomem(&ps);
    int rc = parse_value(&ps, root, 0);
    if (rc)
        return rc;
    skip_ws(&ps);
    if (ps.p != ps.end)
        return fail(&ps, ps.p, "unexpected data after the JSON value");
    *out = root;
    return 0;
}

/* ---------------------------------------------------------------- access -- */

const struct jr_value *jr_get(const struct jr_value *obj, const char *key)
{
    if (!obj || obj->type != JR_OBJECT)
        return NULL;
    size_t n = strlen(key);
    for (const struct jr_value *m = obj->u.c.first; m; m = m->next)
        if (m->key_len == n && memcmp(m->key, key, n) == 0)
            return m;
    return NULL;
}

bool jr_str_eq(const struct jr_value *v, const char *s)
{
    if (!v || v->type != JR_STRING)
        return false;
    size_t n = strlen(s);
    return v->u.s.len == n && memcmp(v->u.s.ptr, s, n) == 0;
}

/*
 * Shared integer reader: the digits of a number or numeric string, with an
 * optional '-' when `allow_neg`. Sets *neg and *mag (the magnitude). Returns
 * false when the text is not an exact integer that fits in 64 bits.
 */
static bool read_integer(const struct jr_value *v, bool allow_neg, bool *neg, uint64_t *mag)
{
    if (!v || (v->type != JR_NUMBER && v->type != JR_STRING))
        return false;
    const char *p = v->u.s.ptr, *end = p + v->u.s.len;
    if (scan_number(p, end) != v->u.s.len)
        return false;
    *neg = (*p == '-');
    if (*neg && !allow_neg)
        return false;
    const char *d = *neg ? p + 1 : p;
    uint64_t m = 0;
    const char *q = d;
    for (; q < end && *q >= '0' && *q <= '9'; q++) {
        unsigned dig = (unsigned)(*q - '0');
        if (m > (UINT64_MAX - dig) / 10)
            return false;
        m = m * 10 + dig;
    }
    if (q != end) {
        /* Fraction or exponent: accept only an exact integral value. */
        char tmp[128];
        size_t n = (size_t)(end - d);
        if (n >= sizeof(tmp))
            return false;
        memcpy(tmp, d, n);
        tmp[n] = '\0';
        double x = strtod(tmp, NULL);
        if (!isfinite(x) || x != floor(x) || x >= 18446744073709551616.0)
            return false;
        m = (uint64_t)x;
    }
    *mag = m;
    return true;
}

bool jr_to_u64(const struct jr_value *v, uint64_t *out)
{
    bool neg;
    uint64_t m;
    if (!read_integer(v, false, &neg, &m))
        return false;
    *out = m;
    return true;
}

bool jr_to_i64(const struct jr_value *v, int64_t *out)
{
    bool neg;
    uint64_t m;
    if (!read_integer(v, true, &neg, &m))
        return false;
    if (neg) {
        if (m > (uint64_t)INT64_MAX + 1)
            return false;
        *out = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
    } else {
        if (m > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)m;
    }
    return true;
}
