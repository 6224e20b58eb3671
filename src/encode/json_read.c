/*
 * Strict JSON reader: tokenizer and tree builder in one pass, with the nodes
 * in a ctr_arena. See json_read.h for the contract.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <chaostracing/encode.h>

#include "core/internal.h"
#include "encode/json_read.h"

/* ---------------------------------------------------------------- lexing -- */

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

/* Four hex digits at p (caller checked the bounds); -1 when not hex. */
static long hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = ctr_hex_digit(p[i]);
        if (h < 0)
            return -1;
        v = (v << 4) | h;
    }
    return v;
}

/* ---------------------------------------------------------------- parser -- */

struct parser {
    struct ctr_arena *a;
    const char *buf;
    const char *p;
    const char *end;
    struct ctr__json_error *err;
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
        size_t n = ctr__utf8_decode(q, (size_t)(ps->end - q), NULL);
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
    char *d = ctr_arena_alloc(ps->a, (size_t)(q - start) + 1);
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
            n += ctr__utf8_encode((uint32_t)cp, d + n);
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

static int parse_value(struct parser *ps, struct ctr__json_value *v, int depth);

/* Allocate a zeroed node; NULL on failure. */
static struct ctr__json_value *new_node(struct parser *ps)
{
    struct ctr__json_value *v = ctr_arena_alloc(ps->a, sizeof(*v));
    if (v)
        memset(v, 0, sizeof(*v));
    return v;
}

/* Parse the array or object at ps->p ('[' or '{'); `depth` counts the
 * enclosing containers. */
static int parse_container(struct parser *ps, struct ctr__json_value *v, int depth)
{
    bool obj = *ps->p == '{';
    char close = obj ? '}' : ']';
    const char *unterminated = obj ? "unterminated object" : "unterminated array";
    struct ctr__json_value **tail = &v->u.c.first;
    v->type = obj ? CTR__JSON_OBJECT : CTR__JSON_ARRAY;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    for (;;) {
        const char *key = NULL;
        size_t key_len = 0;
        int rc;
        if (ps->p >= ps->end)
            return fail(ps, ps->p, unterminated);
        if (obj) {
            if (*ps->p != '"')
                return fail(ps, ps->p, "expected a string key");
            if ((rc = parse_string(ps, &key, &key_len)) != 0)
                return rc;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':')
                return fail(ps, ps->p, "expected ':'");
            ps->p++;
            skip_ws(ps);
        }
        struct ctr__json_value *item = new_node(ps);
        if (!item)
            return nomem(ps);
        item->key = key;
        item->key_len = key_len;
        if ((rc = parse_value(ps, item, depth)) != 0)
            return rc;
        *tail = item;
        tail = &item->next;
        v->u.c.count++;
        skip_ws(ps);
        if (ps->p >= ps->end)
            return fail(ps, ps->p, unterminated);
        if (*ps->p == close) {
            ps->p++;
            return 0;
        }
        if (*ps->p != ',')
            return fail(ps, ps->p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
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
static int parse_value(struct parser *ps, struct ctr__json_value *v, int depth)
{
    if (ps->p >= ps->end)
        return fail(ps, ps->p, "unexpected end of input");
    switch (*ps->p) {
    case '{':
    case '[':
        if (depth >= CTR__JSON_MAX_DEPTH)
            return fail(ps, ps->p, "nesting deeper than 64 levels");
        return parse_container(ps, v, depth + 1);
    case '"':
        v->type = CTR__JSON_STRING;
        return parse_string(ps, &v->u.s.ptr, &v->u.s.len);
    case 't':
        v->type = CTR__JSON_TRUE;
        return match_literal(ps, "true", 4) ? 0 : fail(ps, ps->p, "invalid literal");
    case 'f':
        v->type = CTR__JSON_FALSE;
        return match_literal(ps, "false", 5) ? 0 : fail(ps, ps->p, "invalid literal");
    case 'n':
        v->type = CTR__JSON_NULL;
        return match_literal(ps, "null", 4) ? 0 : fail(ps, ps->p, "invalid literal");
    default: {
        size_t n = scan_number(ps->p, ps->end);
        if (n == 0)
            return fail(ps, ps->p,
                        (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
                            ? "invalid number"
                            : "unexpected character");
        v->type = CTR__JSON_NUMBER;
        v->u.s.ptr = ps->p;
        v->u.s.len = n;
        ps->p += n;
        return 0;
    }
    }
}

/* Parse exactly one JSON text; see json_read.h. */
int ctr__json_parse(struct ctr_arena *a, const char *buf, size_t len, struct ctr__json_value **out,
                    struct ctr__json_error *err)
{
    struct parser ps = {a, buf, buf, buf + len, err};
    *out = NULL;
    err->offset = 0;
    err->msg = NULL;
    skip_ws(&ps);
    if (ps.p >= ps.end)
        return fail(&ps, ps.p, "empty input");
    struct ctr__json_value *root = new_node(&ps);
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

const struct ctr__json_value *ctr__json_get(const struct ctr__json_value *obj, const char *key)
{
    if (!obj || obj->type != CTR__JSON_OBJECT)
        return NULL;
    size_t n = strlen(key);
    for (const struct ctr__json_value *m = obj->u.c.first; m; m = m->next)
        if (m->key_len == n && memcmp(m->key, key, n) == 0)
            return m;
    return NULL;
}

bool ctr__json_str_eq(const struct ctr__json_value *v, const char *s)
{
    if (!v || v->type != CTR__JSON_STRING)
        return false;
    size_t n = strlen(s);
    return v->u.s.len == n && memcmp(v->u.s.ptr, s, n) == 0;
}

/*
 * Shared integer reader: the digits of a number or numeric string, with an
 * optional '-' when `allow_neg`. Sets *neg and *mag (the magnitude). Returns
 * false when the text is not an exact integer that fits in 64 bits.
 */
static bool read_integer(const struct ctr__json_value *v, bool allow_neg, bool *neg, uint64_t *mag)
{
    if (!v || (v->type != CTR__JSON_NUMBER && v->type != CTR__JSON_STRING))
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

bool ctr__json_to_u64(const struct ctr__json_value *v, uint64_t *out)
{
    bool neg;
    uint64_t m;
    if (!read_integer(v, false, &neg, &m))
        return false;
    *out = m;
    return true;
}

bool ctr__json_to_i64(const struct ctr__json_value *v, int64_t *out)
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

/* --------------------------------------------------------------- writing -- */

/* Append `v` compactly; `depth` guards the recursion (the parser already
 * limits nesting to CTR__JSON_MAX_DEPTH, so this never cuts a parsed tree). */
static void write_value(struct ctr_buf *b, const struct ctr__json_value *v, int depth)
{
    switch (v->type) {
    case CTR__JSON_NULL:
        ctr_buf_puts(b, "null");
        return;
    case CTR__JSON_FALSE:
        ctr_buf_puts(b, "false");
        return;
    case CTR__JSON_TRUE:
        ctr_buf_puts(b, "true");
        return;
    case CTR__JSON_NUMBER:
        ctr_buf_append(b, v->u.s.ptr, v->u.s.len);
        return;
    case CTR__JSON_STRING:
        ctr_json_put_string(b, v->u.s.ptr, v->u.s.len);
        return;
    case CTR__JSON_ARRAY:
    case CTR__JSON_OBJECT:
        break;
    }
    bool obj = v->type == CTR__JSON_OBJECT;
    ctr_buf_putc(b, obj ? '{' : '[');
    if (depth < CTR__JSON_MAX_DEPTH) {
        for (const struct ctr__json_value *m = v->u.c.first; m; m = m->next) {
            if (m != v->u.c.first)
                ctr_buf_putc(b, ',');
            if (obj) {
                ctr_json_put_string(b, m->key, m->key_len);
                ctr_buf_putc(b, ':');
            }
            write_value(b, m, depth + 1);
        }
    }
    ctr_buf_putc(b, obj ? '}' : ']');
}

void ctr__json_write(struct ctr_buf *b, const struct ctr__json_value *v)
{
    write_value(b, v, 0);
}
