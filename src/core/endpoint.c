/*
 * Endpoint parsing and URL redaction; see chaostracing/endpoint.h.
 */
#include <chaostracing/endpoint.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Write the reason for a rejection; returns CTR_EPARSE. */
static int reject(char *err, size_t errlen, const char *fmt, const char *arg, size_t alen)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, (int)(alen > 64 ? 64 : alen), arg);
    return CTR_EPARSE;
}

/* Parse a port of `n` digits; 0 or CTR_EPARSE. */
static int parse_port(const char *p, size_t n, uint16_t *out, char *err, size_t errlen)
{
    unsigned long v = 0;
    if (n == 0)
        return reject(err, errlen, "the port after ':' is missing%.*s", "", 0);
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return reject(err, errlen, "port \"%.*s\" is not a number", p, n);
        if (v <= 65535)
            v = v * 10 + (unsigned long)(p[i] - '0');
    }
    if (v < 1 || v > 65535)
        return reject(err, errlen, "port %.*s is outside 1-65535", p, n);
    *out = (uint16_t)v;
    return 0;
}

int ctr_endpoint_parse(const char *s, struct ctr_endpoint *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->rest = "";
    if (!s || !*s)
        return reject(err, errlen, "the endpoint is empty%.*s", "", 0);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c <= 0x20 || *c == 0x7f)
            return reject(err, errlen, "the endpoint contains blanks or control characters%.*s", "",
                          0);
    const char *auth = s;
    const char *sep = strstr(s, "://");
    if (sep) {
        size_t sl = (size_t)(sep - s);
        if (sl == 4 && strncasecmp(s, "http", 4) == 0)
            memcpy(out->scheme, "http", 5);
        else if (sl == 5 && strncasecmp(s, "https", 5) == 0)
            memcpy(out->scheme, "https", 6);
        else
            return reject(err, errlen, "scheme \"%.*s\" is not http or https", s, sl);
        auth = sep + 3;
    }
    size_t al = strcspn(auth, "/?#");
    out->rest = auth + al;
    if (!sep && *out->rest)
        return reject(err, errlen,
                      "it has a path but no scheme (write http:// or https:// before it)%.*s", "",
                      0);
    /* The userinfo ends at the last '@' (a password may hold one), as in
     * ctr_url_redact(). Reasons below never quote it. */
    const char *at = NULL;
    for (const char *c = auth; c < auth + al; c++)
        if (*c == '@')
            at = c;
    if (at) {
        out->has_userinfo = true;
        al -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    const char *host = auth, *port = NULL;
    size_t hl = al;
    if (al && auth[0] == '[') {
        const char *close = memchr(auth, ']', al);
        if (!close || close == auth + 1)
            return reject(err, errlen, "\"%.*s\" has a bad IPv6 address", auth, al);
        host = auth + 1;
        hl = (size_t)(close - host);
        out->ipv6 = true;
        const char *after = close + 1;
        if (after < auth + al) {
            if (*after != ':')
                return reject(err, errlen, "\"%.*s\" has text after the IPv6 address", auth, al);
            port = after + 1;
        }
    } else {
        const char *colon = memchr(auth, ':', al);
        if (colon) {
            hl = (size_t)(colon - auth);
            port = colon + 1;
        }
    }
    if (hl == 0)
        return reject(err, errlen, "the host is missing%.*s", "", 0);
    if (hl > CTR_ENDPOINT_HOST_MAX)
        return reject(err, errlen, "the host name is longer than 255 characters%.*s", "", 0);
    memcpy(out->host, host, hl);
    out->host[hl] = '\0';
    if (port && parse_port(port, (size_t)(auth + al - port), &out->port, err, errlen))
        return CTR_EPARSE;
    return 0;
}

void ctr_endpoint_error(char *err, size_t errlen, const char *what, const char *endpoint,
                        const char *expected, const char *why)
{
    if (!err || !errlen)
        return;
    struct ctr_buf shown = {0};
    ctr_url_redact(&shown, endpoint ? endpoint : "", endpoint ? strlen(endpoint) : 0);
    ctr_buf_putc(&shown, 0);
    snprintf(err, errlen, "%s endpoint \"%.200s\" is not %s: %s", what,
             shown.err ? "" : (const char *)shown.data, expected, why);
    ctr_buf_free(&shown);
}

void ctr_url_redact(struct ctr_buf *out, const char *url, size_t len)
{
    const char *end = url + len;
    const char *sep = NULL;
    for (const char *c = url; c + 2 < end && !sep; c++)
        if (c[0] == ':' && c[1] == '/' && c[2] == '/')
            sep = c;
    const char *auth = sep ? sep + 3 : url; /* a bare "user:pw@host:port" too */
    const char *at = NULL;
    for (const char *c = auth; c < end && *c != '/' && *c != '?' && *c != '#'; c++)
        if (*c == '@')
            at = c;
    if (!at) {
        ctr_buf_append(out, url, len);
        return;
    }
    ctr_buf_append(out, url, (size_t)(auth - url));
    ctr_buf_puts(out, "REDACTED:REDACTED");
    ctr_buf_append(out, at, (size_t)(end - at));
}
