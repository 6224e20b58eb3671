/*
 * chaostracing: endpoints as users write them. One parser serves the
 * settings (validation with a clear reason), the transports and the log lines
 * (redaction), so an endpoint means the same thing everywhere.
 */
#ifndef CHAOSTRACING_ENDPOINT_H
#define CHAOSTRACING_ENDPOINT_H

#include "common.h"

#define CTR_ENDPOINT_HOST_MAX 255

struct ctr_endpoint {
    char scheme[8];                       /* "http", "https", or "" when none was written */
    char host[CTR_ENDPOINT_HOST_MAX + 1]; /* an IPv6 address without its brackets */
    bool ipv6;                            /* the host was written as [address] */
    uint16_t port;                        /* 0 when none was written */
    bool has_userinfo;                    /* "user:password@" before the host */
    const char *rest; /* path, query and fragment: points into the input, "" when none */
};

/*
 * Parse "scheme://[userinfo@]host[:port][/path][?query][#fragment]" with an
 * http or https scheme (any case), or a bare "host[:port]" / "[v6]:port".
 * Rejects blanks and control characters, a missing host, a port that is not
 * a number in 1..65535, an unknown scheme, and a bare endpoint with a path.
 * The userinfo ends at the last '@' of the authority. Returns 0, or
 * CTR_EPARSE with the reason in `err` (a phrase such as "port 99999 is
 * outside 1-65535", never quoting the userinfo; `err` may be NULL).
 */
int ctr_endpoint_parse(const char *s, struct ctr_endpoint *out, char *err, size_t errlen);

/*
 * Write the message for an endpoint that was refused into `err`:
 * `WHAT endpoint "ENDPOINT" is not EXPECTED: WHY`, the endpoint redacted.
 */
void ctr_endpoint_error(char *err, size_t errlen, const char *what, const char *endpoint,
                        const char *expected, const char *why);

/*
 * Append `url` to `out` with any "user:password@" replaced by
 * "REDACTED:REDACTED@", as the OpenTelemetry HTTP conventions ask for
 * url.full and as every log line about an endpoint needs. The userinfo is
 * what precedes the last '@' before the first '/', '?' or '#' after "://",
 * or from the start in a bare "user:password@host:port" endpoint. Text with
 * no such '@' is appended as it is.
 */
void ctr_url_redact(struct ctr_buf *out, const char *url, size_t len);

#endif
