/*
 * Unary gRPC calls over libcurl's HTTP/2. See grpc.h and grpc/grpc
 * doc/PROTOCOL-HTTP2.md for the wire rules followed here.
 */
#include "transport/grpc.h"

#include <chaostracing/endpoint.h>

#include "encode/pb.h"
#include "transport/gzip.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* The most of an answer's message kept after decompression. */
#define MAX_RESPONSE_MESSAGE CTR__HTTP_MAX_RESPONSE
/* The most of a grpc-status-details-bin value kept (base64 text). */
#define MAX_DETAILS (64u * 1024u)

struct ctr__grpc_channel {
    struct ctr__http_client *http;
    char *url;    /* scheme://authority/method */
    char *target; /* scheme://authority */
    bool gzip;
};

/* ---- status codes ---- */

static const char *const code_names[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *ctr__grpc_code_name(int code)
{
    if (code < 0 || (size_t)code >= sizeof code_names / sizeof code_names[0])
        return "UNKNOWN";
    return code_names[code];
}

/* grpc/grpc doc/http-grpc-status-mapping.md: only for answers that carry no
 * grpc-status. */
int ctr__grpc_code_from_http(long http_status)
{
    switch (http_status) {
    case 400:
        return CTR__GRPC_INTERNAL;
    case 401:
        return CTR__GRPC_UNAUTHENTICATED;
    case 403:
        return CTR__GRPC_PERMISSION_DENIED;
    case 404:
        return CTR__GRPC_UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
        return CTR__GRPC_UNAVAILABLE;
    default:
        return CTR__GRPC_UNKNOWN;
    }
}

bool ctr__grpc_code_retryable(int code, bool has_retry_info)
{
    switch (code) {
    case CTR__GRPC_CANCELLED:
    case CTR__GRPC_DEADLINE_EXCEEDED:
    case CTR__GRPC_ABORTED:
    case CTR__GRPC_OUT_OF_RANGE:
    case CTR__GRPC_UNAVAILABLE:
    case CTR__GRPC_DATA_LOSS:
        return true;
    case CTR__GRPC_RESOURCE_EXHAUSTED:
        return has_retry_info;
    default:
        return false;
    }
}

/* ---- header values ---- */

size_t ctr__grpc_format_timeout(uint64_t ns, char out[CTR__GRPC_TIMEOUT_MAX])
{
    const uint64_t max = 99999999u; /* TimeoutValue is at most 8 digits */
    uint64_t ms = ns / 1000000u;
    if (ms == 0)
        ms = 1;
    if (ms <= max)
        return (size_t)snprintf(out, CTR__GRPC_TIMEOUT_MAX, "%" PRIu64 "m", ms);
    uint64_t s = ns / 1000000000u + (ns % 1000000000u != 0);
    if (s <= max)
        return (size_t)snprintf(out, CTR__GRPC_TIMEOUT_MAX, "%" PRIu64 "S", s);
    uint64_t m = s / 60 + (s % 60 != 0);
    if (m <= max)
        return (size_t)snprintf(out, CTR__GRPC_TIMEOUT_MAX, "%" PRIu64 "M", m);
    uint64_t h = m / 60 + (m % 60 != 0);
    if (h > max)
        h = max;
    return (size_t)snprintf(out, CTR__GRPC_TIMEOUT_MAX, "%" PRIu64 "H", h);
}

size_t ctr__grpc_percent_decode(const char *in, size_t n, char *out, size_t size)
{
    size_t o = 0;
    if (size == 0)
        return 0;
    for (size_t i = 0; i < n && o + 1 < size; i++) {
        if (in[i] == '%' && i + 2 < n && ctr_hex_digit(in[i + 1]) >= 0 &&
            ctr_hex_digit(in[i + 2]) >= 0) {
            out[o++] = (char)(ctr_hex_digit(in[i + 1]) << 4 | ctr_hex_digit(in[i + 2]));
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
    return o;
}

/* ---- RetryInfo ---- */

/* Read a Duration{1 seconds, 2 nanos} as milliseconds rounded up, capped at
 * one day, negative as 0. 0 or CTR_EPARSE. */
static int read_duration_ms(const uint8_t *p, size_t n, int64_t *ms)
{
    struct ctr__pb_reader r = {p, p + n};
    int64_t secs = 0, nanos = 0;
    while (r.p < r.end) {
        uint32_t field;
        enum ctr__pb_wire wire;
        uint64_t v;
        if (ctr__pb_read_tag(&r, &field, &wire))
            return CTR_EPARSE;
        if ((field == 1 || field == 2) && wire == CTR__PB_VARINT) {
            if (ctr__pb_read_varint(&r, &v))
                return CTR_EPARSE;
            if (field == 1)
                secs = (int64_t)v;
            else
                nanos = (int64_t)(int32_t)(uint32_t)v;
        } else if (ctr__pb_skip(&r, field, wire)) {
            return CTR_EPARSE;
        }
    }
    const int64_t day_ms = 86400000;
    if (secs < 0 || (secs == 0 && nanos <= 0)) {
        *ms = 0;
    } else if (secs >= day_ms / 1000) {
        *ms = day_ms;
    } else {
        int64_t v = secs * 1000 + (nanos > 0 ? (nanos + 999999) / 1000000 : -((-nanos) / 1000000));
        *ms = v < 0 ? 0 : v > day_ms ? day_ms : v;
    }
    return 0;
}

/* Scan one Any{1 type_url, 2 value}: when it is a RetryInfo, set *delay_ms.
 * 0 or CTR_EPARSE. */
static int read_any(const uint8_t *p, size_t n, int64_t *delay_ms)
{
    static const char want[] = "google.rpc.RetryInfo";
    struct ctr__pb_reader r = {p, p + n};
    const uint8_t *type = NULL, *value = NULL;
    size_t type_len = 0, value_len = 0;
    while (r.p < r.end) {
        uint32_t field;
        enum ctr__pb_wire wire;
        if (ctr__pb_read_tag(&r, &field, &wire))
            return CTR_EPARSE;
        if ((field == 1 || field == 2) && wire == CTR__PB_LEN) {
            const uint8_t *d;
            size_t dl;
            if (ctr__pb_read_len(&r, &d, &dl))
                return CTR_EPARSE;
            if (field == 1) {
                type = d;
                type_len = dl;
            } else {
                value = d;
                value_len = dl;
            }
        } else if (ctr__pb_skip(&r, field, wire)) {
            return CTR_EPARSE;
        }
    }
    /* The type URL's last segment names the type ("type.googleapis.com/..."). */
    size_t wl = sizeof want - 1;
    if (!type || type_len < wl || memcmp(type + type_len - wl, want, wl) != 0 ||
        (type_len > wl && type[type_len - wl - 1] != '/'))
        return 0;
    /* RetryInfo{1 retry_delay: Duration}; an absent delay means 0. */
    struct ctr__pb_reader ri = {value, value ? value + value_len : NULL};
    int64_t ms = 0;
    while (ri.p && ri.p < ri.end) {
        uint32_t field;
        enum ctr__pb_wire wire;
        if (ctr__pb_read_tag(&ri, &field, &wire))
            return CTR_EPARSE;
        if (field == 1 && wire == CTR__PB_LEN) {
            const uint8_t *d;
            size_t dl;
            if (ctr__pb_read_len(&ri, &d, &dl) || read_duration_ms(d, dl, &ms))
                return CTR_EPARSE;
        } else if (ctr__pb_skip(&ri, field, wire)) {
            return CTR_EPARSE;
        }
    }
    *delay_ms = ms;
    return 0;
}

int ctr__grpc_parse_retry_info(const uint8_t *status, size_t n, int64_t *delay_ms)
{
    *delay_ms = -1;
    struct ctr__pb_reader r = {status, status + n};
    int64_t found = -1;
    while (r.p < r.end) {
        uint32_t field;
        enum ctr__pb_wire wire;
        if (ctr__pb_read_tag(&r, &field, &wire))
            return CTR_EPARSE;
        if (field == 3 && wire == CTR__PB_LEN) {
            const uint8_t *d;
            size_t dl;
            int64_t ms = -1;
            if (ctr__pb_read_len(&r, &d, &dl) || read_any(d, dl, &ms))
                return CTR_EPARSE;
            if (ms >= 0 && found < 0)
                found = ms;
        } else if (ctr__pb_skip(&r, field, wire)) {
            return CTR_EPARSE;
        }
    }
    *delay_ms = found;
    return 0;
}

/* ---- framing and compression ---- */

int ctr__grpc_frame(struct ctr_buf *out, const uint8_t *msg, size_t len, bool gzip)
{
    ctr_buf_reset(out);
    if (ctr_buf_reserve(out, 5 + (gzip ? 0 : len)))
        return CTR_ENOMEM;
    out->len = 5;
    if (gzip) {
        int rc = ctr__gzip_compress(msg, len, out, 5 + (size_t)CTR__GRPC_MAX_MESSAGE);
        if (rc)
            return rc;
    } else {
        if (len > CTR__GRPC_MAX_MESSAGE)
            return CTR_ETOOBIG;
        ctr_buf_append(out, msg, len);
        if (out->err)
            return CTR_ENOMEM;
    }
    size_t n = out->len - 5;
    out->data[0] = gzip ? 1 : 0;
    out->data[1] = (uint8_t)(n >> 24);
    out->data[2] = (uint8_t)(n >> 16);
    out->data[3] = (uint8_t)(n >> 8);
    out->data[4] = (uint8_t)n;
    return 0;
}

int ctr__grpc_unframe(const uint8_t *body, size_t n, bool *compressed, const uint8_t **msg,
                      size_t *len)
{
    *compressed = false;
    *msg = NULL;
    *len = 0;
    if (n == 0)
        return 0;
    if (n < 5 || body[0] > 1)
        return CTR_EPARSE;
    size_t l = (size_t)body[1] << 24 | (size_t)body[2] << 16 | (size_t)body[3] << 8 | body[4];
    if (l != n - 5)
        return CTR_EPARSE; /* truncated, or a second message follows */
    *compressed = body[0] == 1;
    *msg = body + 5;
    *len = l;
    return 0;
}

int ctr__grpc_gunzip(const uint8_t *in, size_t len, struct ctr_buf *out, size_t max_out)
{
    ctr_buf_reset(out);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK) /* gzip or zlib header */
        return CTR_ENOMEM;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = len > (1u << 30) ? (1u << 30) : (uInt)len;
    int rc = 0;
    for (;;) {
        if (ctr_buf_reserve(out, 16 * 1024)) {
            rc = CTR_ENOMEM;
            break;
        }
        size_t room = out->cap - out->len;
        if (room > (1u << 30))
            room = 1u << 30;
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)room;
        int ret = inflate(&zs, Z_NO_FLUSH);
        out->len += room - zs.avail_out;
        if (out->len > max_out) {
            rc = CTR_EPARSE;
            break;
        }
        if (ret == Z_STREAM_END) {
            if (zs.avail_in != 0)
                rc = CTR_EPARSE; /* trailing garbage */
            break;
        }
        if (ret == Z_MEM_ERROR) {
            rc = CTR_ENOMEM;
            break;
        }
        if (ret != Z_OK && !(ret == Z_BUF_ERROR && zs.avail_out == 0)) {
            rc = CTR_EPARSE; /* corrupt, or the input ended early */
            break;
        }
    }
    inflateEnd(&zs);
    return rc;
}

/* ---- the channel ---- */

/* Write "PREFIX ARG" into the caller's error buffer. */
static void set_err(char *err, size_t errlen, const char *what, const char *msg, const char *arg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s %s%s", what, msg, arg ? arg : "");
}

/* malloc'ed copy of `n` bytes of `s` plus a NUL; NULL when out of memory. */
static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/*
 * The "scheme://authority" a channel calls, from an endpoint: http:// is
 * cleartext (prior knowledge), https:// is TLS, a bare host:port is TLS
 * unless `insecure`. A path is ignored (gRPC uses the method path).
 * Returns the malloc'ed target; NULL with the reason in `why` for an endpoint
 * that is not one of those forms (user:password@ included: gRPC credentials
 * go in metadata), NULL with `why` empty when out of memory.
 */
static char *parse_endpoint(const char *ep, bool insecure, bool *tls, char *why, size_t whylen)
{
    struct ctr_endpoint e;
    why[0] = '\0';
    if (ctr_endpoint_parse(ep, &e, why, whylen))
        return NULL;
    if (e.has_userinfo) {
        snprintf(why, whylen, "user:password@ is not allowed (send credentials as metadata)");
        return NULL;
    }
    const char *scheme = e.scheme[0] ? e.scheme : insecure ? "http" : "https";
    *tls = strcmp(scheme, "https") == 0;
    char port[8] = "";
    if (e.port)
        snprintf(port, sizeof port, ":%u", (unsigned)e.port);
    size_t n = strlen(scheme) + 3 + strlen(e.host) + 2 + strlen(port) + 1;
    char *t = malloc(n);
    if (t)
        snprintf(t, n, "%s://%s%s%s%s", scheme, e.ipv6 ? "[" : "", e.host, e.ipv6 ? "]" : "", port);
    return t;
}

/* True when `name` (already lower-cased) is a valid gRPC metadata name:
 * digits, lower-case letters, '_', '-' and '.'. */
static bool metadata_name_ok(const char *name)
{
    if (!*name)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* Names the channel sets itself, or that HTTP/2 forbids. */
static bool metadata_reserved(const char *name)
{
    static const char *const reserved[] = {
        "content-type",    "content-length", "content-encoding", "te",
        "user-agent",      "host",           "connection",       "transfer-encoding",
        "upgrade",         "keep-alive",     "proxy-connection", "expect",
        "accept-encoding",
    };
    if (strncmp(name, "grpc-", 5) == 0)
        return true;
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        if (strcmp(name, reserved[i]) == 0)
            return true;
    }
    return false;
}

/*
 * The header line for one metadata entry, or NULL: *skip tells whether it was
 * refused (a WARNING has been logged) rather than out of memory. Names are
 * lower-cased; "-bin" values are sent base64-encoded without padding.
 */
static char *metadata_line(const struct ctr_header *h, size_t index, const char *what, bool *skip)
{
    *skip = true;
    const char *value = h->value ? h->value : "";
    size_t nl = h->name ? strlen(h->name) : 0;
    char name[256];
    if (nl == 0 || nl >= sizeof name) {
        ctr_log(CTR_LOG_WARNING,
                "chaostracing: %s metadata #%zu skipped: its name is empty or too long", what,
                index + 1);
        return NULL;
    }
    for (size_t i = 0; i <= nl; i++) {
        char c = h->name[i];
        name[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    if (!metadata_name_ok(name)) {
        /* Never echo the bytes: they may hold a token or CR/LF. */
        ctr_log(CTR_LOG_WARNING,
                "chaostracing: %s metadata #%zu skipped: its name has characters gRPC does "
                "not allow (only 0-9 a-z _ - .)",
                what, index + 1);
        return NULL;
    }
    if (metadata_reserved(name)) {
        ctr_log(CTR_LOG_WARNING,
                "chaostracing: %s metadata %s skipped: the exporter sets it itself", what, name);
        return NULL;
    }
    size_t vl = strlen(value);
    bool bin = nl > 4 && strcmp(name + nl - 4, "-bin") == 0;
    if (strpbrk(value, "\r\n")) {
        ctr_log(CTR_LOG_WARNING,
                "chaostracing: %s metadata %s skipped: its value contains CR or LF", what, name);
        return NULL;
    }
    if (!bin) {
        for (size_t i = 0; i < vl; i++) {
            unsigned char c = (unsigned char)value[i];
            if (c < 0x20 || c >= 0x7f) {
                ctr_log(CTR_LOG_WARNING,
                        "chaostracing: %s metadata %s skipped: its value is not printable ASCII "
                        "(name it with a -bin suffix to send bytes)",
                        what, name);
                return NULL;
            }
        }
    }
    *skip = false;
    size_t enc_len = bin ? ctr_base64_len(vl) : vl;
    size_t n = nl + 2 + enc_len + 1;
    char *line = malloc(n);
    if (!line)
        return NULL;
    memcpy(line, name, nl);
    if (vl == 0) {
        line[nl] = ';'; /* how curl sends a header with an empty value */
        line[nl + 1] = '\0';
        return line;
    }
    line[nl] = ':';
    line[nl + 1] = ' ';
    if (bin) {
        size_t w = ctr_base64_encode((const uint8_t *)value, vl, line + nl + 2);
        while (w > 0 && line[nl + 2 + w - 1] == '=')
            w--;
        line[nl + 2 + w] = '\0';
    } else {
        memcpy(line + nl + 2, value, vl + 1);
    }
    return line;
}

int ctr__grpc_channel_new(const struct ctr__grpc_options *o, struct ctr__grpc_channel **out,
                          char *err, size_t errlen)
{
    *out = NULL;
    const char *what = o->what ? o->what : "gRPC";
    if (err && errlen)
        err[0] = '\0';
    const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
    if (!vi || !(vi->features & CURL_VERSION_HTTP2)) {
        set_err(err, errlen, what,
                "exporter needs HTTP/2, and this libcurl was built without it (libcurl ",
                vi && vi->version ? vi->version : "?");
        if (err && errlen && strlen(err) + 2 < errlen)
            memcpy(err + strlen(err), ")", 2);
        return CTR_EUNSUPPORTED;
    }
    if (!o->endpoint || !*o->endpoint) {
        set_err(err, errlen, what, "exporter: no endpoint given", NULL);
        return CTR_EINVAL;
    }
    if (!o->method || o->method[0] != '/') {
        set_err(err, errlen, what, "exporter: bad method path", NULL);
        return CTR_EINVAL;
    }

    bool tls = false;
    char why[128];
    int rc = 0;
    char **lines = NULL;
    size_t n_lines = 0;
    struct ctr__grpc_channel *ch = calloc(1, sizeof *ch);
    if (!ch)
        return CTR_ENOMEM;
    ch->target = parse_endpoint(o->endpoint, o->insecure, &tls, why, sizeof why);
    if (!ch->target) {
        if (why[0])
            ctr_endpoint_error(err, errlen, what, o->endpoint,
                               "host:port, http://host:port or https://host:port", why);
        rc = why[0] ? CTR_EINVAL : CTR_ENOMEM;
        goto out;
    }
    size_t ul = strlen(ch->target) + strlen(o->method) + 1;
    ch->url = malloc(ul);
    lines = calloc(o->n_metadata + 8, sizeof *lines);
    if (!ch->url || !lines) {
        rc = CTR_ENOMEM;
        goto out;
    }
    snprintf(ch->url, ul, "%s%s", ch->target, o->method);
    ch->gzip = o->gzip;

    static const char *const fixed[] = {"Content-Type: application/grpc", "TE: trailers",
                                        "Accept:"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        lines[n_lines++] = dupn(fixed[i], strlen(fixed[i]));
    if (o->gzip) {
        static const char ge[] = "grpc-encoding: gzip", gae[] = "grpc-accept-encoding: gzip";
        lines[n_lines++] = dupn(ge, sizeof ge - 1);
        lines[n_lines++] = dupn(gae, sizeof gae - 1);
    }
    for (size_t i = 0; i < n_lines; i++) {
        if (!lines[i]) {
            rc = CTR_ENOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < o->n_metadata; i++) {
        bool skip;
        char *line = metadata_line(&o->metadata[i], i, what, &skip);
        if (!line && !skip) {
            rc = CTR_ENOMEM;
            goto out;
        }
        if (line)
            lines[n_lines++] = line;
    }

    const struct ctr_tls_options *t = o->tls;
    if (t && t->insecure_skip_verify && tls)
        ctr_log(CTR_LOG_WARNING,
                "chaostracing: %s exporter to %s does not verify the server's TLS certificate "
                "(insecure_skip_verify)",
                what, ch->target);
    if (t && !tls && (t->ca_file || t->client_cert || t->client_key))
        ctr_log(CTR_LOG_WARNING,
                "chaostracing: %s exporter to %s uses cleartext HTTP/2: the TLS certificate "
                "settings are ignored",
                what, ch->target);

    struct ctr__http_options ho = {
        .headers = (const char *const *)lines,
        .n_headers = n_lines,
        .ca_file = t ? t->ca_file : NULL,
        .client_cert = t ? t->client_cert : NULL,
        .client_key = t ? t->client_key : NULL,
        .insecure_skip_verify = t ? t->insecure_skip_verify : false,
        .version = tls ? CTR__HTTP_VERSION_2_TLS : CTR__HTTP_VERSION_2_PRIOR_KNOWLEDGE,
        .user_agent = "chaostracing/" CTR_VERSION " grpc-c-libcurl",
        /* libcurl before 8.0.0 cannot reuse a cleartext HTTP/2 ("prior
         * knowledge") connection: the second request fails with "Error in
         * the HTTP2 framing layer" (curl/curl#10634, fixed by #10643). */
        .no_reuse = !tls && vi->version_num < 0x080000,
    };
    rc = ctr__http_client_new(&ho, &ch->http);
    if (rc == CTR_EINVAL)
        set_err(err, errlen, what, "exporter: libcurl could not be initialised", NULL);

out:
    if (lines) {
        for (size_t i = 0; i < n_lines; i++)
            free(lines[i]);
        free(lines);
    }
    if (rc) {
        if (rc == CTR_ENOMEM && err && errlen)
            snprintf(err, errlen, "out of memory");
        ctr__grpc_channel_free(ch);
        return rc;
    }
    *out = ch;
    return 0;
}

const char *ctr__grpc_channel_url(const struct ctr__grpc_channel *ch)
{
    return ch->url;
}

const char *ctr__grpc_channel_target(const struct ctr__grpc_channel *ch)
{
    return ch->target;
}

bool ctr__grpc_channel_gzip(const struct ctr__grpc_channel *ch)
{
    return ch->gzip;
}

void ctr__grpc_result_init(struct ctr__grpc_result *r)
{
    memset(r, 0, sizeof *r);
    r->retry_delay_ms = -1;
    ctr__http_response_init(&r->http);
}

void ctr__grpc_result_free(struct ctr__grpc_result *r)
{
    ctr__http_response_free(&r->http);
    ctr_buf_free(&r->response);
    ctr_buf_free(&r->details);
    ctr_buf_free(&r->tmp);
}

/* Forget what the header callback noted (a new response begins). */
static void reset_headers(struct ctr__grpc_result *r)
{
    r->saw_status = false;
    r->header_code = CTR__GRPC_UNKNOWN;
    r->raw_message_len = 0;
    r->encoding[0] = '\0';
    ctr_buf_reset(&r->details);
}

/* Header and trailer lines: note grpc-status, grpc-message,
 * grpc-status-details-bin and grpc-encoding (the last one seen wins, so the
 * trailers override the headers). */
static void on_header(void *ud, const char *line, size_t len)
{
    struct ctr__grpc_result *r = ud;
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        reset_headers(r);
        return;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return;
    size_t nl = (size_t)(colon - line);
    const char *v = colon + 1;
    size_t vl = len - nl - 1;
    while (vl && (*v == ' ' || *v == '\t')) {
        v++;
        vl--;
    }
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        vl--;
#define IS(name) (nl == sizeof(name) - 1 && strncasecmp(line, name, nl) == 0)
    if (IS("grpc-status")) {
        int code = 0;
        bool ok = vl > 0 && vl <= 3;
        for (size_t i = 0; ok && i < vl; i++) {
            if (v[i] < '0' || v[i] > '9')
                ok = false;
            else
                code = code * 10 + (v[i] - '0');
        }
        r->saw_status = true;
        r->header_code = ok ? code : CTR__GRPC_UNKNOWN;
    } else if (IS("grpc-message")) {
        size_t n = vl < sizeof r->raw_message ? vl : sizeof r->raw_message;
        memcpy(r->raw_message, v, n);
        r->raw_message_len = n;
    } else if (IS("grpc-status-details-bin")) {
        ctr_buf_reset(&r->details);
        if (vl <= MAX_DETAILS)
            ctr_buf_append(&r->details, v, vl);
    } else if (IS("grpc-encoding")) {
        snprintf(r->encoding, sizeof r->encoding, "%.*s", (int)(vl < 31 ? vl : 31), v);
    }
#undef IS
}

/* Copy `s` into r->reason. */
static void set_reason(struct ctr__grpc_result *r, const char *s)
{
    snprintf(r->reason, sizeof r->reason, "%s", s);
}

/* Replace control characters so that a message stays on one log line. */
static void sanitize(char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
    }
}

/* Read the answer's message of an OK call into r->response. */
static void read_response(struct ctr__grpc_result *r)
{
    bool compressed;
    const uint8_t *msg;
    size_t len;
    ctr_buf_reset(&r->response);
    r->response_err = 0;
    if (r->http.body_truncated ||
        ctr__grpc_unframe(r->http.body.data, r->http.body.len, &compressed, &msg, &len)) {
        r->response_err = CTR_EPARSE;
        return;
    }
    if (!msg)
        return;
    if (compressed) {
        if (strcasecmp(r->encoding, "gzip") != 0) {
            r->response_err = CTR_EPARSE; /* compressed with what we did not offer */
            return;
        }
        int rc = ctr__grpc_gunzip(msg, len, &r->response, MAX_RESPONSE_MESSAGE);
        if (rc)
            r->response_err = rc;
        return;
    }
    ctr_buf_append(&r->response, msg, len);
    if (r->response.err)
        r->response_err = CTR_ENOMEM;
}

/* Fill r->code / message from what the answer carried. */
static void read_status(struct ctr__grpc_result *r)
{
    r->outcome = CTR__GRPC_STATUS;
    r->http_status = r->http.status;
    if (r->saw_status) {
        r->code = r->header_code;
        ctr__grpc_percent_decode(r->raw_message, r->raw_message_len, r->message, sizeof r->message);
    } else if (r->http.status != 200) {
        r->code = ctr__grpc_code_from_http(r->http.status);
        r->from_http_status = true;
        snprintf(r->message, sizeof r->message, "HTTP %ld without grpc-status%s", r->http.status,
                 r->http.http_major == 1 ? " (the answer came over HTTP/1.1)" : "");
    } else {
        r->code = CTR__GRPC_INTERNAL;
        snprintf(r->message, sizeof r->message, "the answer carried no grpc-status%s",
                 r->http.http_major == 1 ? " (it came over HTTP/1.1, not HTTP/2)" : "");
    }
    sanitize(r->message);
    if (r->code == CTR__GRPC_OK) {
        read_response(r);
        return;
    }
    if (r->details.len > 0) {
        ctr_buf_reset(&r->tmp);
        int64_t ms = -1;
        if (ctr_base64_decode((const char *)r->details.data, r->details.len, &r->tmp) == 0 &&
            ctr__grpc_parse_retry_info(r->tmp.data, r->tmp.len, &ms) == 0 && ms >= 0) {
            r->has_retry_info = true;
            r->retry_delay_ms = ms;
        }
    }
}

int ctr__grpc_call(struct ctr__grpc_channel *ch, const uint8_t *frame, size_t len,
                   uint64_t deadline_ns, struct ctr__grpc_result *r)
{
    r->outcome = CTR__GRPC_FAILED;
    r->code = CTR__GRPC_UNKNOWN;
    r->message[0] = '\0';
    r->has_retry_info = false;
    r->retry_delay_ms = -1;
    r->http_status = 0;
    r->from_http_status = false;
    r->response_err = 0;
    r->reason[0] = '\0';
    ctr_buf_reset(&r->response);
    reset_headers(r);

    uint64_t now = ctr_monotonic_ns();
    if (now >= deadline_ns) {
        r->outcome = CTR__GRPC_TIMEOUT;
        set_reason(r, "deadline passed before the call");
        return CTR_ETIMEOUT;
    }
    char timeout[CTR__GRPC_TIMEOUT_MAX];
    ctr__grpc_format_timeout(deadline_ns - now, timeout);
    char timeout_line[32];
    snprintf(timeout_line, sizeof timeout_line, "grpc-timeout: %s", timeout);
    const char *extra[] = {timeout_line};

    struct ctr__http_request req = {
        .url = ch->url,
        .body = frame,
        .len = len,
        .deadline_ns = deadline_ns,
        .headers = extra,
        .n_headers = 1,
        .on_header = on_header,
        .on_header_ud = r,
    };
    int rc = ctr__http_send(ch->http, &req, &r->http);
    if (rc == CTR_ETIMEOUT) {
        r->outcome = CTR__GRPC_TIMEOUT;
        set_reason(r, "deadline passed before the call");
        return rc;
    }
    if (rc) {
        set_reason(r, r->http.reason[0] ? r->http.reason : "out of memory");
        return rc;
    }
    switch (r->http.outcome) {
    case CTR__HTTP_ANSWERED:
        read_status(r);
        break;
    case CTR__HTTP_CONNECT:
        r->outcome = CTR__GRPC_CONNECT;
        set_reason(r, r->http.reason);
        break;
    case CTR__HTTP_TIMEOUT:
        r->outcome = CTR__GRPC_TIMEOUT;
        set_reason(r, r->http.reason);
        break;
    case CTR__HTTP_TLS:
        r->outcome = CTR__GRPC_TLS;
        set_reason(r, r->http.reason);
        break;
    case CTR__HTTP_FAILED:
    default:
        if (r->http.curl_code == CURLE_HTTP2 || r->http.curl_code == CURLE_HTTP2_STREAM) {
            /* The stream or the connection was reset: what gRPC libraries
             * report as UNAVAILABLE. Start the next call on a new
             * connection. */
            ctr__http_client_close(ch->http);
            r->outcome = CTR__GRPC_CONNECT;
            snprintf(r->reason, sizeof r->reason, "HTTP/2 stream failed: %.200s", r->http.reason);
        } else {
            r->outcome = CTR__GRPC_FAILED;
            set_reason(r, r->http.reason);
        }
        break;
    }
    return 0;
}

void ctr__grpc_channel_after_fork(struct ctr__grpc_channel *ch)
{
    if (ch)
        ctr__http_client_after_fork(ch->http);
}

void ctr__grpc_channel_close(struct ctr__grpc_channel *ch)
{
    if (ch)
        ctr__http_client_close(ch->http);
}

void ctr__grpc_channel_free(struct ctr__grpc_channel *ch)
{
    if (!ch)
        return;
    ctr__http_client_free(ch->http);
    free(ch->url);
    free(ch->target);
    free(ch);
}
