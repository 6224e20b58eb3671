/*
 * The SDK configuration from OTEL_* environment variables
 * (opentelemetry-specification configuration/sdk-environment-variables.md and
 * protocol/exporter.md).
 *
 * Rules applied throughout:
 * - An empty value counts as unset.
 * - A value that cannot be used is ignored as if it were unset: the next
 *   variable in line (the general OTEL_EXPORTER_OTLP_* after the per-signal
 *   OTEL_EXPORTER_OTLP_TRACES_*) or the default applies, and one line goes to
 *   cfg->warnings saying what was ignored and what is used instead.
 * - Booleans are true only for a case-insensitive "true"; any other value is
 *   false (with a warning unless it is "false").
 * - Integers are decimal, 0 to 4294967295, optionally surrounded by spaces or
 *   tabs. Durations and timeouts are milliseconds; a timeout of 0 means
 *   "no limit", stored as CTR_CONFIG_TIMEOUT_INDEFINITE_MS.
 * - Enum values (sampler, exporter, protocol, compression, propagators) are
 *   matched case-insensitively after trimming spaces and tabs.
 * - Values echoed into warnings are truncated and escaped, because warnings
 *   end up in logs; header values are never echoed (they carry credentials).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chaostracing/config.h"
#include "chaostracing/endpoint.h"

#include "core/names.h"

/* What a timeout of 0 ("indefinite" in the spec) becomes: the largest number
 * of milliseconds a signed 32-bit integer holds, about 24.8 days. */
#define CTR_CONFIG_TIMEOUT_INDEFINITE_MS 2147483647u
#define DEFAULT_OTLP_TIMEOUT_MS 10000u
#define DEFAULT_HTTP_ENDPOINT "http://localhost:4318/v1/traces"
#define DEFAULT_GRPC_ENDPOINT "http://localhost:4317"
#define DEFAULT_ZIPKIN_ENDPOINT "http://localhost:9411/api/v2/spans"
#define DEFAULT_ZIPKIN_TIMEOUT_MS 10000u
#define TRACES_PATH "v1/traces"

/* At most this many characters of a value are echoed in a warning. */
#define ECHO_MAX 64
#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
/* The most variables one setting is read from (per-signal, then general). */
#define MAX_NAMES 2

/* The state of one ctr_config_from_env() call. */
struct env {
    ctr_getenv_fn get;
    void *ud;
    struct ctr_buf warnings; /* lines separated by '\n', no NUL */
};

/* The default getter: the process environment. */
static const char *process_getenv(void *ud, const char *name)
{
    (void)ud;
    return getenv(name);
}

/* The value of `name`, or NULL when it is unset or empty. */
static const char *env_value(struct env *e, const char *name)
{
    const char *v = e->get(e->ud, name);
    return v && *v ? v : NULL;
}

/* Bytes of `c` once escaped for a log line. */
static size_t echo_len(unsigned char c)
{
    if (c == '\\')
        return 2;
    return c >= 0x20 && c < 0x7f ? 1 : 4;
}

/*
 * Write `s[0..n)` into `out` for a log line: printable ASCII as is, '\' as
 * "\\", any other byte as "\xHH"; when the result would pass ECHO_MAX
 * characters it is cut on an escape boundary and ends with "...".
 */
static void echo(const char *s, size_t n, char out[ECHO_MAX + 1])
{
    static const char hex[] = "0123456789abcdef";
    size_t full = 0, i, o = 0;
    for (i = 0; i < n && full <= ECHO_MAX; i++)
        full += echo_len((unsigned char)s[i]);
    size_t budget = full > ECHO_MAX ? ECHO_MAX - 3 : ECHO_MAX;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t len = echo_len(c);
        if (o + len > budget)
            break;
        if (len == 1) {
            out[o++] = (char)c;
        } else if (len == 2) {
            out[o++] = '\\';
            out[o++] = '\\';
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (full > ECHO_MAX) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* Append one formatted line (at most 511 bytes) to the warnings. Out of
 * memory is recorded in e->warnings.err and reported at the end. */
static void warn(struct env *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void warn(struct env *e, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (e->warnings.len)
        ctr_buf_putc(&e->warnings, '\n');
    ctr_buf_puts(&e->warnings, line);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Narrow [*b, *e) so it neither starts nor ends with a space or tab. */
static void trim(const char **b, const char **e)
{
    while (*b < *e && is_blank(**b))
        (*b)++;
    while (*e > *b && is_blank((*e)[-1]))
        (*e)--;
}

/* True when [p, p+n) equals `lit` ignoring ASCII case. */
static bool token_is(const char *p, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(p, lit, n) == 0;
}

/*
 * Step through a ','-separated list: stores the next member, trimmed of
 * blanks and not empty, in [*b, *b + *len) and returns true; false at the
 * end. *pos starts at the list and is NULL once the list is used up.
 */
static bool next_member(const char **pos, const char **b, size_t *len)
{
    while (*pos) {
        const char *p = *pos, *end = p + strcspn(p, ","), *e = end;
        *pos = *end ? end + 1 : NULL;
        *b = p;
        trim(b, &e);
        if (e > *b) {
            *len = (size_t)(e - *b);
            return true;
        }
    }
    return false;
}

/* malloc'd copy of `s[0..n)` plus a NUL; NULL on out of memory. */
static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* ---- one setting read from a list of variables ---------------------------- */

/* Check `v`; on success store the result through `out` and return NULL, else
 * return why it was rejected ("is not ...") and leave `out` alone. */
typedef const char *(*parse_fn)(const char *v, const void *arg, void *out);

/* The result of reading one setting from up to MAX_NAMES variables. */
struct lookup {
    const char *val[MAX_NAMES];
    const char *why[MAX_NAMES]; /* rejection reason, NULL if valid or unset */
    size_t n;                   /* variables read, at most MAX_NAMES */
    size_t chosen;              /* index of the variable used, or n */
};

/* Read `names` (the first MAX_NAMES of them) in order and keep the first
 * value `parse` accepts. */
static void lookup(struct env *e, const char *const *names, size_t n, parse_fn parse,
                   const void *arg, void *out, struct lookup *lk)
{
    lk->n = n < MAX_NAMES ? n : MAX_NAMES;
    lk->chosen = lk->n;
    for (size_t i = 0; i < lk->n && lk->chosen == lk->n; i++) {
        lk->why[i] = NULL;
        lk->val[i] = env_value(e, names[i]);
        if (lk->val[i]) {
            lk->why[i] = parse(lk->val[i], arg, out);
            if (!lk->why[i])
                lk->chosen = i;
        }
    }
}

/* One warning per value `lookup` rejected, ending with `instead` (what is
 * used in its place). */
static void report(struct env *e, const char *const *names, const struct lookup *lk,
                   const char *instead)
{
    for (size_t i = 0; i < lk->chosen; i++) {
        if (lk->why[i]) {
            /* A URL's user:password@ never reaches a warning. */
            char shown[ECHO_MAX + 1];
            struct ctr_buf r = {0};
            ctr_url_redact(&r, lk->val[i], strlen(lk->val[i]));
            echo(r.err ? "" : (const char *)r.data, r.err ? 0 : r.len, shown);
            ctr_buf_free(&r);
            warn(e, "%s=%s %s; %s", names[i], shown, lk->why[i], instead);
        }
    }
}

/* Constraints on an integer setting. */
struct u32_rule {
    uint32_t min;
    bool timeout; /* 0 means indefinite */
};

/* parse_fn for integers: decimal digits with optional blanks around them. */
static const char *parse_u32(const char *v, const void *arg, void *out)
{
    const struct u32_rule *r = arg;
    const char *p = v;
    uint64_t x = 0;
    bool big = false;
    while (is_blank(*p))
        p++;
    if (*p < '0' || *p > '9')
        return "is not a non-negative integer";
    for (; *p >= '0' && *p <= '9'; p++) {
        x = x * 10 + (uint64_t)(*p - '0');
        if (x > UINT32_MAX) {
            big = true;
            x = UINT32_MAX;
        }
    }
    while (is_blank(*p))
        p++;
    if (*p)
        return "is not a non-negative integer";
    if (big)
        return "is larger than 4294967295";
    if (x < r->min)
        return "is not a positive integer";
    if (r->timeout && x == 0)
        x = CTR_CONFIG_TIMEOUT_INDEFINITE_MS;
    *(uint32_t *)out = (uint32_t)x;
    return NULL;
}

/*
 * An integer setting from `names` (first valid wins), else `def`. Sets *found
 * (when not NULL) to whether a variable supplied it.
 */
static uint32_t env_u32(struct env *e, const char *const *names, size_t n, uint32_t def,
                        uint32_t min, bool timeout, bool *found)
{
    struct u32_rule rule = {min, timeout};
    struct lookup lk;
    uint32_t v = def;
    char instead[48];
    lookup(e, names, n, parse_u32, &rule, &v, &lk);
    if (v == UINT32_MAX)
        snprintf(instead, sizeof instead, "using no limit");
    else
        snprintf(instead, sizeof instead, "using %u", (unsigned)v);
    report(e, names, &lk, instead);
    if (found)
        *found = lk.chosen < lk.n;
    return v;
}

/* One name of an enum setting. */
struct enum_name {
    const char *name;
    int value;
};

/* The names an enum setting accepts. */
struct enum_rule {
    const struct enum_name *names;
    size_t n;
};

/* The entry of `table` named [p, p+len) (any case), or NULL. */
static const struct enum_name *find_name(const struct enum_name *table, size_t n, const char *p,
                                         size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (token_is(p, len, table[i].name))
            return &table[i];
    return NULL;
}

/* parse_fn for enums: a case-insensitive name from the rule's table. */
static const char *parse_enum(const char *v, const void *arg, void *out)
{
    const struct enum_rule *r = arg;
    const char *b = v, *end = v + strlen(v);
    trim(&b, &end);
    const struct enum_name *found = find_name(r->names, r->n, b, (size_t)(end - b));
    if (!found)
        return "is not supported";
    *(int *)out = found->value;
    return NULL;
}

/* An enum setting from `names` (first valid wins), else `def`. */
static int env_enum(struct env *e, const char *const *names, size_t n,
                    const struct enum_name *table, size_t table_len, int def)
{
    struct enum_rule rule = {table, table_len};
    struct lookup lk;
    int v = def;
    char instead[64];
    lookup(e, names, n, parse_enum, &rule, &v, &lk);
    const char *shown = "?";
    for (size_t i = 0; i < table_len; i++) {
        if (table[i].value == v) {
            shown = table[i].name;
            break;
        }
    }
    snprintf(instead, sizeof instead, "using %s", shown);
    report(e, names, &lk, instead);
    return v;
}

/* parse_fn for a sampling ratio: a plain decimal number in [0, 1]
 * ("0.25", ".5", "1", "2.5e-1"). Parsed by hand so the result does not
 * depend on the C locale's decimal point. */
static const char *parse_ratio(const char *v, const void *arg, void *out)
{
    static const char *const bad = "is not a number in [0, 1]";
    const char *p = v;
    uint64_t mant = 0;
    int exp10 = 0, digits = 0;
    (void)arg;
    while (is_blank(*p))
        p++;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (mant < UINT64_MAX / 10 - 9)
            mant = mant * 10 + (uint64_t)(*p - '0');
        else
            exp10++;
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
            if (mant < UINT64_MAX / 10 - 9) {
                mant = mant * 10 + (uint64_t)(*p - '0');
                exp10--;
            }
        }
    }
    if (digits == 0)
        return bad;
    if (*p == 'e' || *p == 'E') {
        int sign = 1, ev = 0, edigits = 0;
        p++;
        if (*p == '+' || *p == '-')
            sign = *p++ == '-' ? -1 : 1;
        for (; *p >= '0' && *p <= '9'; p++, edigits++)
            if (ev < 10000)
                ev = ev * 10 + (*p - '0');
        if (edigits == 0)
            return bad;
        exp10 += sign * ev;
    }
    while (is_blank(*p))
        p++;
    if (*p)
        return bad;
    /* Powers of ten up to 1e22 are exact doubles, so a short ratio such as
     * "0.25" takes one correctly rounded division. */
    static const double tens[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    double d = (double)mant;
    while (exp10 < 0 && d != 0.0) {
        int k = -exp10 > 22 ? 22 : -exp10;
        d /= tens[k];
        exp10 += k;
    }
    while (exp10 > 0 && d != 0.0 && d <= 1.0) {
        int k = exp10 > 22 ? 22 : exp10;
        d *= tens[k];
        exp10 -= k;
    }
    if (!(d >= 0.0 && d <= 1.0))
        return bad;
    *(double *)out = d;
    return NULL;
}

/*
 * A boolean setting: the first variable of `names` that is set decides (a
 * value that is not "true" is false, and it does not fall through to the
 * next variable). Warns about values other than "true" and "false".
 */
static bool env_bool(struct env *e, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = env_value(e, names[i]);
        if (!v)
            continue;
        if (strcasecmp(v, "true") == 0)
            return true;
        if (strcasecmp(v, "false") != 0) {
            char shown[ECHO_MAX + 1];
            echo(v, strlen(v), shown);
            warn(e, "%s=%s is not true or false; using false", names[i], shown);
        }
        return false;
    }
    return false;
}

/* A malloc'd copy of the first set variable of `names` in *out (NULL when
 * none is set). Returns 0 or CTR_ENOMEM. */
static int env_string(struct env *e, const char *const *names, size_t n, char **out)
{
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *v = env_value(e, names[i]);
        if (v) {
            *out = dup_n(v, strlen(v));
            return *out ? 0 : CTR_ENOMEM;
        }
    }
    return 0;
}

/* ---- key=value lists -------------------------------------------------------- */

/*
 * Percent-decode `s[0..n)` into a malloc'd NUL-terminated string in *out.
 * Returns 0, CTR_EPARSE ('%' without two hex digits after it, or an escape
 * that decodes to a NUL byte, which a C string cannot carry) or CTR_ENOMEM.
 */
static int percent_decode(const char *s, size_t n, char **out)
{
    char *d = malloc(n + 1);
    size_t o = 0;
    *out = NULL;
    if (!d)
        return CTR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            d[o++] = s[i];
            continue;
        }
        int hi = i + 2 < n ? ctr_hex_digit(s[i + 1]) : -1;
        int lo = i + 2 < n ? ctr_hex_digit(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi | lo) == 0) {
            free(d);
            return CTR_EPARSE;
        }
        d[o++] = (char)(hi << 4 | lo);
        i += 2;
    }
    d[o] = '\0';
    *out = d;
    return 0;
}

/* Free `n` name/value pairs and the array; NULL-safe. */
void ctr_headers_free(struct ctr_header *h, size_t n)
{
    if (!h)
        return;
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
}

/*
 * Parse "k=v,k2=v2": members split on ',', each split at its first '=', keys
 * and values trimmed of spaces and tabs and then percent-decoded. Blank
 * members are skipped. Returns 0 with a malloc'd array in *out (NULL when the
 * list is empty; free with ctr_headers_free()), CTR_EPARSE (a member without
 * '=', an empty key or a bad escape; nothing is returned) or CTR_ENOMEM.
 */
int ctr_parse_kv_list(const char *s, struct ctr_header **out, size_t *n_out)
{
    struct ctr_header *h;
    size_t cap = 1, n = 0;
    int rc = 0;
    *out = NULL;
    *n_out = 0;
    if (!s)
        return 0;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    h = calloc(cap, sizeof *h);
    if (!h)
        return CTR_ENOMEM;
    const char *pos = s, *b;
    size_t len;
    while (next_member(&pos, &b, &len)) {
        const char *eq = memchr(b, '=', len);
        if (!eq) {
            rc = CTR_EPARSE;
            break;
        }
        const char *kb = b, *ke = eq, *vb = eq + 1, *ve = b + len;
        trim(&kb, &ke);
        trim(&vb, &ve);
        if (kb == ke) {
            rc = CTR_EPARSE;
            break;
        }
        rc = percent_decode(kb, (size_t)(ke - kb), &h[n].name);
        if (rc == 0)
            rc = percent_decode(vb, (size_t)(ve - vb), &h[n].value);
        n++; /* so that a half-filled pair is freed */
        if (rc)
            break;
    }
    if (rc || n == 0) {
        ctr_headers_free(h, n);
        return rc;
    }
    *out = h;
    *n_out = n;
    return 0;
}

/* True for the characters of an HTTP header name (RFC 9110 token). */
static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* True when every pair can go on the wire as an HTTP header: the name is a
 * token and the value has no control characters other than tab (so a
 * decoded %0D%0A cannot inject a header). */
static bool headers_are_valid(const struct ctr_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)h[i].name; *p; p++)
            if (!is_tchar(*p))
                return false;
        for (const unsigned char *p = (const unsigned char *)h[i].value; *p; p++)
            if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
                return false;
    }
    return true;
}

/*
 * OTLP headers from the first variable of `names` holding a valid list; an
 * invalid list is ignored whole, with a warning that does not echo the value.
 * Returns 0 or CTR_ENOMEM.
 */
static int env_headers(struct env *e, const char *const *names, size_t n, struct ctr_header **out,
                       size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    for (size_t i = 0; i < n; i++) {
        const char *v = env_value(e, names[i]);
        if (!v)
            continue;
        int rc = ctr_parse_kv_list(v, out, n_out);
        if (rc == CTR_ENOMEM)
            return rc;
        if (rc == 0 && headers_are_valid(*out, *n_out))
            return 0;
        ctr_headers_free(*out, *n_out);
        *out = NULL;
        *n_out = 0;
        warn(e,
             "%s is not a valid list of name=value HTTP headers (percent-encoded, separated "
             "by ','); all of them ignored",
             names[i]);
    }
    return 0;
}

/* ---- endpoints -------------------------------------------------------------- */

/* malloc'd `base` + "/" + `path` with the slashes at the seam merged into one;
 * NULL on out of memory. */
static char *join_path(const char *base, const char *path)
{
    size_t blen = strlen(base), plen = strlen(path);
    while (blen && base[blen - 1] == '/')
        blen--;
    char *url = malloc(blen + 1 + plen + 1);
    if (url) {
        memcpy(url, base, blen);
        url[blen] = '/';
        memcpy(url + blen + 1, path, plen + 1);
    }
    return url;
}

/*
 * Make the traces URL from a user-given OTLP/HTTP endpoint: "/v1/traces"
 * replaces an empty or "/" path; any other path is kept; a query or fragment
 * is kept after the path. Returns a malloc'd string, or NULL when out of
 * memory or when `endpoint` does not start with http:// or https:// (any
 * case) followed by a host.
 */
char *ctr_otlp_http_traces_url(const char *endpoint)
{
    size_t scheme;
    if (!endpoint)
        return NULL;
    if (strncasecmp(endpoint, "http://", 7) == 0)
        scheme = 7;
    else if (strncasecmp(endpoint, "https://", 8) == 0)
        scheme = 8;
    else
        return NULL;
    size_t host = strcspn(endpoint + scheme, "/?#");
    if (host == 0)
        return NULL;
    const char *path = endpoint + scheme + host;
    size_t plen = strcspn(path, "?#");
    if (plen > 1)
        return dup_n(endpoint, strlen(endpoint));
    const char *rest = path + plen;
    size_t head = scheme + host, rlen = strlen(rest), tlen = strlen("/" TRACES_PATH);
    char *url = malloc(head + tlen + rlen + 1);
    if (!url)
        return NULL;
    memcpy(url, endpoint, head);
    memcpy(url + head, "/" TRACES_PATH, tlen);
    memcpy(url + head + tlen, rest, rlen + 1);
    return url;
}

/*
 * Resolve the OTLP endpoints: for HTTP, the per-signal variable as given,
 * else the general one with "v1/traces" appended, else the default URL; for
 * gRPC, either variable as given, else the default. cfg->otlp_endpoint is the
 * one for cfg->protocol (which must be set). Returns 0 or CTR_ENOMEM.
 */
static int resolve_endpoint(struct env *e, struct ctr_config *cfg)
{
    const char *traces = env_value(e, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    const char *base = env_value(e, "OTEL_EXPORTER_OTLP_ENDPOINT");
    const char *given = traces ? traces : base;
    cfg->otlp_endpoint_set = given != NULL;
    cfg->otlp_http_endpoint = traces ? dup_n(traces, strlen(traces))
                              : base ? join_path(base, TRACES_PATH)
                                     : dup_n(DEFAULT_HTTP_ENDPOINT, strlen(DEFAULT_HTTP_ENDPOINT));
    if (!given)
        given = DEFAULT_GRPC_ENDPOINT;
    cfg->otlp_grpc_endpoint = dup_n(given, strlen(given));
    const char *mine =
        cfg->protocol == CTR_PROTOCOL_GRPC ? cfg->otlp_grpc_endpoint : cfg->otlp_http_endpoint;
    cfg->otlp_endpoint = mine ? dup_n(mine, strlen(mine)) : NULL;
    return cfg->otlp_endpoint && cfg->otlp_http_endpoint && cfg->otlp_grpc_endpoint ? 0
                                                                                    : CTR_ENOMEM;
}

/* ---- lists of names: exporters and propagators ------------------------------- */

/*
 * OTEL_TRACES_EXPORTER: a ','-list of which we use the first entry we
 * support: "otlp", "console", "zipkin", and "file", a chaostracing extension
 * (OTLP JSON lines appended to a file whose path the caller supplies, e.g.
 * the control's configuration or the CLI). "none" applies when no other
 * supported exporter is named. Unknown entries, and supported ones after the
 * first, are ignored with a warning; a list with nothing usable leaves the
 * default, otlp.
 */
static void parse_exporters(struct env *e, struct ctr_config *cfg)
{
    const char *v = env_value(e, "OTEL_TRACES_EXPORTER");
    bool have = false, saw_none = false;
    cfg->exporter = CTR_EXPORTER_OTLP;
    if (!v)
        return;
    cfg->exporter_set = true;
    const char *pos = v, *b;
    size_t len;
    while (next_member(&pos, &b, &len)) {
        const struct ctr__exporter_name *k = ctr__exporter_lookup(b, len, CTR__IN_ENV);
        char shown[ECHO_MAX + 1];
        echo(b, len, shown);
        if (!k) {
            char names[256];
            ctr__exporter_names(CTR__IN_ENV, names, sizeof names);
            warn(e, "OTEL_TRACES_EXPORTER: \"%s\" is not a supported exporter (%s); ignored", shown,
                 names);
        } else if (k->kind == CTR_EXPORTER_NONE) {
            saw_none = true;
        } else if (have) {
            warn(e, "OTEL_TRACES_EXPORTER: \"%s\" ignored, only one exporter is used", shown);
        } else {
            have = true;
            cfg->exporter = k->kind;
        }
    }
    if (saw_none && have)
        warn(e, "OTEL_TRACES_EXPORTER: \"none\" ignored, the list names other exporters");
    else if (saw_none)
        cfg->exporter = CTR_EXPORTER_NONE;
    else if (!have)
        warn(e, "OTEL_TRACES_EXPORTER names no supported exporter; using otlp");
}

/*
 * OTEL_PROPAGATORS: a ','-list of tracecontext, baggage, b3, b3multi, jaeger,
 * xray, or "none" alone (no propagator). Unknown entries are ignored with a
 * warning; a list with nothing usable leaves the default tracecontext,baggage.
 */
static void parse_propagators(struct env *e, struct ctr_config *cfg)
{
    const char *v = env_value(e, "OTEL_PROPAGATORS");
    unsigned bits = 0;
    bool saw_none = false;
    cfg->propagators = CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE;
    if (!v)
        return;
    const char *pos = v, *b;
    size_t len;
    while (next_member(&pos, &b, &len)) {
        const struct ctr__propagator_name *k = ctr__propagator_lookup(b, len, CTR__IN_ENV);
        if (!k) {
            char shown[ECHO_MAX + 1], names[256];
            echo(b, len, shown);
            ctr__propagator_names(CTR__IN_ENV, names, sizeof names);
            warn(e, "OTEL_PROPAGATORS: \"%s\" is not a supported propagator (%s); ignored", shown,
                 names);
        } else if (k->env_bits == 0) {
            saw_none = true;
        } else {
            bits |= k->env_bits;
        }
    }
    if (saw_none && bits)
        warn(e, "OTEL_PROPAGATORS: \"none\" ignored, the list names other propagators");
    if (bits || saw_none)
        cfg->propagators = bits;
    else
        warn(e, "OTEL_PROPAGATORS names no supported propagator; using tracecontext,baggage");
}

/* ---- the whole configuration ---------------------------------------------------- */

/* A list of variable names and its length, as the env_* helpers take them. */
#define NAMES(...)                                                                                 \
    ((const char *const[]){__VA_ARGS__}), N_ELEMS(((const char *const[]){__VA_ARGS__}))
/* The per-signal OTLP variable, then the general one. */
#define OTLP(suffix) NAMES("OTEL_EXPORTER_OTLP_TRACES_" suffix, "OTEL_EXPORTER_OTLP_" suffix)

/* OTEL_TRACES_SAMPLER and, for the ratio samplers, OTEL_TRACES_SAMPLER_ARG. */
static void read_sampler(struct env *e, struct ctr_config *cfg)
{
    static const struct enum_name samplers[] = {
        {"always_on", CTR_SAMPLER_ALWAYS_ON},
        {"always_off", CTR_SAMPLER_ALWAYS_OFF},
        {"traceidratio", CTR_SAMPLER_TRACEIDRATIO},
        {"parentbased_always_on", CTR_SAMPLER_PARENTBASED_ALWAYS_ON},
        {"parentbased_always_off", CTR_SAMPLER_PARENTBASED_ALWAYS_OFF},
        {"parentbased_traceidratio", CTR_SAMPLER_PARENTBASED_TRACEIDRATIO},
    };
    cfg->sampler = (ctr_sampler_kind)env_enum(e, NAMES("OTEL_TRACES_SAMPLER"), samplers,
                                              N_ELEMS(samplers), CTR_SAMPLER_PARENTBASED_ALWAYS_ON);
    cfg->sampler_arg = 1.0;
    /* The argument means something only to the ratio samplers. */
    if (cfg->sampler == CTR_SAMPLER_TRACEIDRATIO ||
        cfg->sampler == CTR_SAMPLER_PARENTBASED_TRACEIDRATIO) {
        static const char *const arg[] = {"OTEL_TRACES_SAMPLER_ARG"};
        struct lookup lk;
        lookup(e, arg, 1, parse_ratio, NULL, &cfg->sampler_arg, &lk);
        report(e, arg, &lk, "using 1.0");
    }
}

/* The OTEL_*_LIMIT variables; the general OTEL_ATTRIBUTE_* ones apply to
 * span, event and link attributes unless a specific variable overrides. */
static void read_limits(struct env *e, struct ctr_limits *l)
{
    bool found;
    ctr_limits_default(l);
    uint32_t count =
        env_u32(e, NAMES("OTEL_ATTRIBUTE_COUNT_LIMIT"), l->attr_count, 0, false, &found);
    if (found)
        l->attr_count = l->event_attr_count = l->link_attr_count = count;
    l->attr_value_len =
        env_u32(e, NAMES("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"), l->attr_value_len, 0, false, NULL);
    l->attr_value_len = env_u32(e, NAMES("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT"),
                                l->attr_value_len, 0, false, NULL);
    l->attr_count =
        env_u32(e, NAMES("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"), l->attr_count, 0, false, NULL);
    l->event_count =
        env_u32(e, NAMES("OTEL_SPAN_EVENT_COUNT_LIMIT"), l->event_count, 0, false, NULL);
    l->link_count = env_u32(e, NAMES("OTEL_SPAN_LINK_COUNT_LIMIT"), l->link_count, 0, false, NULL);
    l->event_attr_count =
        env_u32(e, NAMES("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT"), l->event_attr_count, 0, false, NULL);
    l->link_attr_count =
        env_u32(e, NAMES("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT"), l->link_attr_count, 0, false, NULL);
}

/* The OTEL_BSP_* variables; the batch size is clamped to the queue size. */
static void read_bsp(struct env *e, struct ctr_bsp_options *o)
{
    bool batch_set;
    ctr_bsp_options_default(o);
    o->schedule_delay_ms =
        env_u32(e, NAMES("OTEL_BSP_SCHEDULE_DELAY"), o->schedule_delay_ms, 0, false, NULL);
    o->export_timeout_ms =
        env_u32(e, NAMES("OTEL_BSP_EXPORT_TIMEOUT"), o->export_timeout_ms, 0, true, NULL);
    o->max_queue_size =
        env_u32(e, NAMES("OTEL_BSP_MAX_QUEUE_SIZE"), o->max_queue_size, 1, false, NULL);
    o->max_export_batch_size = env_u32(e, NAMES("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
                                       o->max_export_batch_size, 1, false, &batch_set);
    if (o->max_export_batch_size > o->max_queue_size) {
        /* Only a size the user chose deserves a warning; the default batch
         * size simply shrinks with a small queue. */
        if (batch_set)
            warn(e,
                 "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=%u is larger than the queue size %u; "
                 "using %u",
                 (unsigned)o->max_export_batch_size, (unsigned)o->max_queue_size,
                 (unsigned)o->max_queue_size);
        o->max_export_batch_size = o->max_queue_size;
    }
}

/* The OTEL_EXPORTER_OTLP_[TRACES_]* variables. Returns 0 or CTR_ENOMEM. */
static int read_otlp(struct env *e, struct ctr_config *cfg)
{
    static const struct enum_name protocols[] = {
        {"http/protobuf", CTR_PROTOCOL_HTTP_PROTOBUF},
        {"http/json", CTR_PROTOCOL_HTTP_JSON},
        {"grpc", CTR_PROTOCOL_GRPC},
    };
    static const struct enum_name compressions[] = {{"none", 0}, {"gzip", 1}};
    int rc;
    cfg->protocol = (ctr_otlp_protocol)env_enum(e, OTLP("PROTOCOL"), protocols, N_ELEMS(protocols),
                                                CTR_PROTOCOL_HTTP_PROTOBUF);
    if ((rc = resolve_endpoint(e, cfg)) != 0)
        return rc;
    if ((rc = env_headers(e, OTLP("HEADERS"), &cfg->otlp_headers, &cfg->n_otlp_headers)) != 0)
        return rc;
    cfg->otlp_timeout_ms = env_u32(e, OTLP("TIMEOUT"), DEFAULT_OTLP_TIMEOUT_MS, 0, true, NULL);
    cfg->otlp_gzip = env_enum(e, OTLP("COMPRESSION"), compressions, N_ELEMS(compressions), 0) == 1;
    if ((rc = env_string(e, OTLP("CERTIFICATE"), &cfg->otlp_certificate)) != 0 ||
        (rc = env_string(e, OTLP("CLIENT_KEY"), &cfg->otlp_client_key)) != 0 ||
        (rc = env_string(e, OTLP("CLIENT_CERTIFICATE"), &cfg->otlp_client_certificate)) != 0)
        return rc;
    cfg->otlp_insecure = env_bool(e, OTLP("INSECURE"));
    return 0;
}

/* parse_fn for a URL: http:// or https:// (any case), a host, and no blanks
 * or control characters. Stores the value itself in *(const char **)out. */
static const char *parse_http_url(const char *v, const void *arg, void *out)
{
    size_t scheme;
    (void)arg;
    if (strncasecmp(v, "http://", 7) == 0)
        scheme = 7;
    else if (strncasecmp(v, "https://", 8) == 0)
        scheme = 8;
    else
        return "is not an http:// or https:// URL";
    if (strcspn(v + scheme, "/?#") == 0)
        return "has no host";
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return "contains blanks or control characters";
    *(const char **)out = v;
    return NULL;
}

/* OTEL_EXPORTER_ZIPKIN_ENDPOINT (an http(s) URL used as given) and
 * OTEL_EXPORTER_ZIPKIN_TIMEOUT (milliseconds, 0 = no limit). Returns 0 or
 * CTR_ENOMEM. */
static int read_zipkin(struct env *e, struct ctr_config *cfg)
{
    static const char *const endpoint[] = {"OTEL_EXPORTER_ZIPKIN_ENDPOINT"};
    const char *url = DEFAULT_ZIPKIN_ENDPOINT;
    struct lookup lk;
    lookup(e, endpoint, 1, parse_http_url, NULL, &url, &lk);
    report(e, endpoint, &lk, "using " DEFAULT_ZIPKIN_ENDPOINT);
    cfg->zipkin_endpoint = dup_n(url, strlen(url));
    if (!cfg->zipkin_endpoint)
        return CTR_ENOMEM;
    cfg->zipkin_timeout_ms =
        env_u32(e, NAMES("OTEL_EXPORTER_ZIPKIN_TIMEOUT"), DEFAULT_ZIPKIN_TIMEOUT_MS, 0, true, NULL);
    return 0;
}

/* OTEL_RESOURCE_ATTRIBUTES: all of them, or none on a malformed list.
 * Returns 0 or CTR_ENOMEM. */
static int read_resource_attrs(struct env *e, struct ctr_config *cfg)
{
    const char *v = env_value(e, "OTEL_RESOURCE_ATTRIBUTES");
    if (!v)
        return 0;
    int rc = ctr_parse_kv_list(v, &cfg->resource_attrs, &cfg->n_resource_attrs);
    if (rc == CTR_EPARSE) {
        char shown[ECHO_MAX + 1];
        echo(v, strlen(v), shown);
        warn(e,
             "OTEL_RESOURCE_ATTRIBUTES=%s is not a valid key=value list (a member without '=', "
             "an empty key or a bad %%-escape); all of it ignored",
             shown);
        rc = 0;
    }
    return rc;
}

/*
 * Fill `cfg` from the environment through `get` (getenv when NULL). Returns 0
 * or CTR_ENOMEM; in both cases `cfg` owns what it holds and must be released
 * with ctr_config_free().
 */
int ctr_config_from_env(struct ctr_config *cfg, ctr_getenv_fn get, void *ud)
{
    struct env e = {get ? get : process_getenv, ud, {0}};
    int rc;
    memset(cfg, 0, sizeof *cfg);
    cfg->sdk_disabled = env_bool(&e, NAMES("OTEL_SDK_DISABLED"));
    if ((rc = env_string(&e, NAMES("OTEL_SERVICE_NAME"), &cfg->service_name)) != 0 ||
        (rc = read_resource_attrs(&e, cfg)) != 0)
        goto out;
    read_sampler(&e, cfg);
    read_limits(&e, &cfg->limits);
    read_bsp(&e, &cfg->bsp);
    parse_exporters(&e, cfg);
    if ((rc = read_otlp(&e, cfg)) != 0)
        goto out;
    if ((rc = read_zipkin(&e, cfg)) != 0)
        goto out;
    parse_propagators(&e, cfg);
    if (e.warnings.err) {
        rc = CTR_ENOMEM;
    } else if (e.warnings.len) {
        cfg->warnings = dup_n((const char *)e.warnings.data, e.warnings.len);
        if (!cfg->warnings)
            rc = CTR_ENOMEM;
    }
out:
    ctr_buf_free(&e.warnings);
    return rc;
}

/* Free everything `cfg` owns and zero it; safe on a zeroed, partly filled or
 * already freed configuration. */
void ctr_config_free(struct ctr_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->service_name);
    ctr_headers_free(cfg->resource_attrs, cfg->n_resource_attrs);
    free(cfg->otlp_endpoint);
    free(cfg->otlp_http_endpoint);
    free(cfg->otlp_grpc_endpoint);
    ctr_headers_free(cfg->otlp_headers, cfg->n_otlp_headers);
    free(cfg->otlp_certificate);
    free(cfg->otlp_client_key);
    free(cfg->otlp_client_certificate);
    free(cfg->zipkin_endpoint);
    free(cfg->warnings);
    memset(cfg, 0, sizeof *cfg);
}
