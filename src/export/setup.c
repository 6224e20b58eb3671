/*
 * What settings resolve to: provider, exporter and its endpoint, headers,
 * TLS, propagation, sampler; then the tracer. See chaostracing/settings.h for
 * the precedence and settings.c for the names.
 *
 * Defaults per exporter (when no endpoint is given):
 *   otlp-http / otlp-json  OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, else
 * http://localhost:4318/v1/traces otlp-grpc              the same variables as given, else
 * http://localhost:4317 jaeger-grpc            localhost:14250 zipkin
 * OTEL_EXPORTER_ZIPKIN_ENDPOINT, else http://localhost:9411/api/v2/spans jaeger-thrift
 * tracing_host:tracing_port, else localhost:6831 file tracing_opentelemetry_file_path, else
 * ./chaostracing-traces.jsonl
 *
 * otel_vendor / OTEL_VENDOR (the upstream chaostracing.oltp control's
 * option, read by both fronts) adds a propagator: aws the X-Ray header (and
 * X-Ray trace ids), gcp X-Cloud-Trace-Context, azure W3C; the spans still go
 * by OTLP, to a Collector with the vendor's exporter (said at INFO).
 * CTR_SETUP_OTEL_ONLY (chaostracing.oltp) reads the OTEL_* variables, control
 * arguments and otel_* keys only, with the opentelemetry provider implied.
 */
#include "export/settings.h"

#include <chaostracing/endpoint.h>
#include <chaostracing/spool.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/names.h"

#define DEFAULT_FILE "chaostracing-traces.jsonl"
#define DEFAULT_JAEGER_GRPC "localhost:14250"
#define DEFAULT_AGENT_HOST "localhost"
#define DEFAULT_AGENT_PORT 6831

/* How an exporter is named in messages. */
static const char *what_of(ctr_exporter_kind k)
{
    switch (k) {
    case CTR_EXPORTER_OTLP_GRPC:
        return "OTLP/gRPC";
    case CTR_EXPORTER_OTLP_JSON:
        return "OTLP/HTTP JSON";
    case CTR_EXPORTER_JAEGER_THRIFT:
        return "Jaeger agent";
    case CTR_EXPORTER_JAEGER_GRPC:
        return "Jaeger gRPC";
    case CTR_EXPORTER_ZIPKIN:
        return "Zipkin";
    case CTR_EXPORTER_FILE:
        return "file";
    case CTR_EXPORTER_CONSOLE:
        return "console";
    default:
        return "OTLP/HTTP";
    }
}

/* Without a provider, tracing is on when something says where spans go: a
 * setting naming an exporter, an endpoint or a file, or OTEL_TRACES_EXPORTER
 * or an OTLP endpoint in the environment. Returns that thing's name, or NULL. */
static const char *implied_by(const struct ctr_settings *s, ctr_getenv_fn get, void *ud)
{
    static const enum ctr__setting_id ids[] = {CTR__S_EXPORTER, CTR__S_ENDPOINT, CTR__S_FILE_PATH};
    static const char *const vars[] = {"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
                                       "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"};
    const char *name = NULL;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (ctr__setting(s, ids[i], &name))
            return name;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = get ? get(ud, vars[i]) : getenv(vars[i]);
        if (v && *v)
            return vars[i];
    }
    return NULL;
}

/* 1 for the jaeger provider, 0 for opentelemetry, -1 when tracing is off
 * (noop, or a bad value: a problem was added). */
static int resolve_provider(struct ctr_setup *st, const struct ctr_settings *s, unsigned flags,
                            ctr_getenv_fn get, void *ud)
{
    static const char *const providers[] = {"noop", "opentelemetry", "jaeger"};
    const char *p = "noop", *name = NULL;
    /* A check always sends, as OpenTelemetry would; so does chaostracing.oltp,
     * as upstream did. */
    if (flags & (CTR_SETUP_CHECK | CTR_SETUP_OTEL_ONLY))
        return 0;
    int r =
        ctr__setting_str(st, s, CTR__S_PROVIDER, "a string (noop, opentelemetry or jaeger)", &p);
    if (r < 0)
        return -1;
    ctr__setting(s, CTR__S_PROVIDER, &name);
    if (r == 0) {
        const char *why = implied_by(s, get, ud);
        if (why) {
            ctr__problem(st, CTR_LOG_INFO, false,
                         "tracing_provider is not set; tracing with opentelemetry as %s is set",
                         why);
            return 0;
        }
        ctr__problem(st, CTR_LOG_INFO, false,
                     "tracing_provider is not set and nothing says where spans go: no spans are "
                     "recorded (set tracing_provider to opentelemetry or jaeger, or an exporter)");
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(p, providers[i]) == 0) {
            if (i == 0)
                ctr__problem(st, CTR_LOG_INFO, false, "%s is noop: no spans are recorded", name);
            return i == 0 ? -1 : i == 2;
        }
    }
    const char *close = ctr__closest(p, strlen(p), providers, 3);
    char v[CTR__SHOWN_SIZE];
    ctr__shown(p, strlen(p), v, sizeof v);
    ctr__problem(st, CTR_LOG_WARNING, true, "%s=%s is not one of noop, opentelemetry, jaeger%s%s%s",
                 name, v, close ? "; did you mean \"" : "", close ? close : "", close ? "\"?" : "");
    return -1;
}

/* The exporter kind: the jaeger provider's agent, the named one, else
 * OTEL_TRACES_EXPORTER with OTEL_EXPORTER_OTLP_PROTOCOL. -1 on a bad name. */
static int resolve_kind(struct ctr_setup *st, const struct ctr_settings *s, bool jaeger,
                        ctr_exporter_kind *kind)
{
    const char *name = NULL, *key = NULL;
    *kind = st->cfg.exporter;
    if (jaeger) {
        *kind = CTR_EXPORTER_JAEGER_THRIFT;
        return 0;
    }
    int r = ctr__setting_str(st, s, CTR__S_EXPORTER, "an exporter name", &name);
    if (r < 0)
        return -1;
    if (r > 0) {
        const struct ctr__exporter_name *x =
            ctr__exporter_lookup(name, strlen(name), CTR__IN_SETTING);
        if (!x) {
            char valid[512], v[CTR__SHOWN_SIZE];
            ctr__exporter_names(CTR__IN_SETTING, valid, sizeof valid);
            const char *close = ctr__exporter_closest(name, strlen(name), CTR__IN_SETTING);
            ctr__setting(s, CTR__S_EXPORTER, &key);
            ctr__shown(name, strlen(name), v, sizeof v);
            ctr__problem(st, CTR_LOG_WARNING, true, "%s=%s is not one of %s%s%s%s", key, v, valid,
                         close ? "; did you mean \"" : "", close ? close : "", close ? "\"?" : "");
            return -1;
        }
        *kind = x->kind;
    } else if (!st->cfg.exporter_set && ctr__setting(s, CTR__S_FILE_PATH, NULL)) {
        *kind = CTR_EXPORTER_FILE; /* a file path alone says where spans go */
    }
    ctr_otlp_protocol proto = st->cfg.protocol;
    if (*kind == CTR_EXPORTER_OTLP)
        *kind = proto == CTR_PROTOCOL_GRPC        ? CTR_EXPORTER_OTLP_GRPC
                : proto == CTR_PROTOCOL_HTTP_JSON ? CTR_EXPORTER_OTLP_JSON
                                                  : CTR_EXPORTER_OTLP_HTTP;
    else if (*kind == CTR_EXPORTER_OTLP_HTTP && proto == CTR_PROTOCOL_HTTP_JSON)
        *kind = CTR_EXPORTER_OTLP_JSON; /* OTEL_EXPORTER_OTLP_PROTOCOL=http/json */
    return 0;
}

/* Check a user-given endpoint; a refused one is a fatal problem, naming
 * `key` (the settings it came from; NULL on the command line). `url`: it must
 * carry an http(s) scheme. */
static bool endpoint_ok(struct ctr_setup *st, const char *key, ctr_exporter_kind kind,
                        const char *ep, bool url)
{
    struct ctr_endpoint e;
    char why[160];
    const char *expected = url ? "an http:// or https:// URL"
                           : kind == CTR_EXPORTER_JAEGER_THRIFT
                               ? "host:port"
                               : "host:port, http://host:port or https://host:port";
    int rc = ctr_endpoint_parse(ep, &e, why, sizeof why);
    if (rc == 0 && url && !e.scheme[0]) {
        snprintf(why, sizeof why, "it needs an http:// or https:// scheme");
        rc = CTR_EPARSE;
    } else if (rc == 0 && !url && e.has_userinfo) {
        snprintf(why, sizeof why, "user:password@ is not allowed here");
        rc = CTR_EPARSE;
    } else if (rc == 0 && kind == CTR_EXPORTER_JAEGER_THRIFT && e.scheme[0]) {
        snprintf(why, sizeof why, "the Jaeger agent takes host:port, without a scheme");
        rc = CTR_EPARSE;
    }
    if (rc == 0)
        return true;
    char msg[512];
    ctr_endpoint_error(msg, sizeof msg, what_of(kind), ep, expected, why);
    if (key)
        ctr__problem(st, CTR_LOG_WARNING, true, "%s (%s)", msg, key);
    else
        ctr__problem(st, CTR_LOG_WARNING, true, "%s", msg);
    return false;
}

/* Env headers overridden per name (any case) by the configured mapping. The
 * array is malloc'ed (strings borrowed); NULL with *n = 0 when there are none. */
static struct ctr_header *merge_headers(const struct ctr_config *cfg,
                                        const struct ctr_header *given, size_t n_given, size_t *n)
{
    *n = 0;
    struct ctr_header *h = calloc(cfg->n_otlp_headers + n_given + 1, sizeof *h);
    if (!h)
        return NULL;
    for (size_t i = 0; i < n_given; i++)
        h[(*n)++] = given[i];
    for (size_t i = 0; i < cfg->n_otlp_headers; i++) {
        bool overridden = false;
        for (size_t j = 0; j < n_given && !overridden; j++)
            overridden = strcasecmp(given[j].name, cfg->otlp_headers[i].name) == 0;
        if (!overridden)
            h[(*n)++] = cfg->otlp_headers[i];
    }
    return h;
}

/* The network options every exporter but the agent, file and console take. */
struct net {
    const char *endpoint;
    bool insecure, gzip;
    uint32_t timeout_ms;
    struct ctr_tls_options tls;
    const struct ctr_header *headers;
    size_t n_headers;
};

/* Read the network settings; -1 after a fatal problem. */
static int read_net(struct ctr_setup *st, const struct ctr_settings *s, ctr_exporter_kind kind,
                    struct net *n)
{
    const struct ctr_config *c = &st->cfg;
    memset(n, 0, sizeof *n);
    n->insecure = kind == CTR_EXPORTER_OTLP_GRPC && c->otlp_insecure;
    n->gzip = kind != CTR_EXPORTER_ZIPKIN && kind != CTR_EXPORTER_JAEGER_GRPC && c->otlp_gzip;
    n->timeout_ms = kind == CTR_EXPORTER_ZIPKIN ? c->zipkin_timeout_ms : c->otlp_timeout_ms;
    n->tls = (struct ctr_tls_options){c->otlp_certificate, c->otlp_client_certificate,
                                      c->otlp_client_key, false};
    if (ctr__setting_str(st, s, CTR__S_ENDPOINT, "a collector URL", &n->endpoint) < 0 ||
        ctr__setting_bool(st, s, CTR__S_INSECURE, &n->insecure) < 0 ||
        ctr__setting_bool(st, s, CTR__S_GZIP, &n->gzip) < 0 ||
        ctr__setting_uint(st, s, CTR__S_TIMEOUT, &n->timeout_ms) < 0 ||
        ctr__setting_str(st, s, CTR__S_CA_FILE, "a file path", &n->tls.ca_file) < 0 ||
        ctr__setting_str(st, s, CTR__S_CLIENT_CERT, "a file path", &n->tls.client_cert) < 0 ||
        ctr__setting_str(st, s, CTR__S_CLIENT_KEY, "a file path", &n->tls.client_key) < 0 ||
        ctr__setting_map(st, s, CTR__S_HEADERS, &n->headers, &n->n_headers) < 0)
        return -1;
    const char *key = NULL;
    const struct ctr__entry *given = ctr__setting(s, CTR__S_ENDPOINT, &key);
    if (given && given->src == CTR_FROM_COMMAND)
        key = NULL; /* the command line's option is the endpoint itself */
    bool url = kind != CTR_EXPORTER_OTLP_GRPC && kind != CTR_EXPORTER_JAEGER_GRPC;
    if (n->endpoint && !endpoint_ok(st, key, kind, n->endpoint, url))
        return -1;
    return 0;
}

/* The Jaeger agent's host and port: tracing_host/tracing_port (a missing
 * one takes its default), else the command line's host:port, else
 * localhost:6831. Checked as one endpoint, so every form of it is refused
 * with the same words. */
static int read_agent(struct ctr_setup *st, const struct ctr_settings *s, char *host, size_t hsize,
                      uint16_t *port)
{
    const char *h = NULL, *ep = NULL, *hkey = NULL, *pkey = NULL;
    char ptext[32] = "", composed[CTR_ENDPOINT_HOST_MAX + 40], key[128] = "";
    /* Only the command line's one destination option names the agent (and
     * wins, being first in precedence): a collector endpoint left in an
     * experiment's configuration is not the agent's. */
    const struct ctr__entry *given = ctr__setting(s, CTR__S_ENDPOINT, NULL);
    if (given && given->src == CTR_FROM_COMMAND) {
        if (ctr__setting_str(st, s, CTR__S_ENDPOINT, "host:port", &ep) < 0)
            return -1;
    } else {
        if (ctr__setting_str(st, s, CTR__S_HOST, "a host name", &h) < 0 ||
            ctr__setting_text(st, s, CTR__S_PORT, "a port number", ptext, sizeof ptext) < 0)
            return -1;
        if (!h && !ptext[0]) {
            snprintf(host, hsize, "%s", DEFAULT_AGENT_HOST);
            *port = DEFAULT_AGENT_PORT;
            return 0;
        }
        ctr__setting(s, CTR__S_HOST, &hkey);
        ctr__setting(s, CTR__S_PORT, &pkey);
        const char *hh = h ? h : DEFAULT_AGENT_HOST;
        bool v6 = strchr(hh, ':') && hh[0] != '[';
        snprintf(composed, sizeof composed, "%s%s%s%s%s", v6 ? "[" : "", hh, v6 ? "]" : "",
                 ptext[0] ? ":" : "", ptext);
        snprintf(key, sizeof key, "%s%s%s", h ? hkey : "", h && ptext[0] ? ", " : "",
                 ptext[0] ? pkey : "");
        ep = composed;
    }
    struct ctr_endpoint e;
    if (!endpoint_ok(st, key[0] ? key : NULL, CTR_EXPORTER_JAEGER_THRIFT, ep, false))
        return -1;
    ctr_endpoint_parse(ep, &e, NULL, 0);
    snprintf(host, hsize, "%s%s%s", e.ipv6 ? "[" : "", e.host, e.ipv6 ? "]" : "");
    *port = e.port ? e.port : DEFAULT_AGENT_PORT;
    return 0;
}

/* Make the exporter for `kind` into st->exporter. Returns 0 (also after a
 * fatal problem, recorded in `st`) or CTR_ENOMEM. */
static int make_exporter(struct ctr_setup *st, const struct ctr_settings *s, ctr_exporter_kind kind)
{
    char err[512] = "";
    int rc = 0;
    struct ctr_exporter **out = &st->exporter;
    const struct ctr_config *c = &st->cfg;
    if (kind == CTR_EXPORTER_NONE)
        return 0;
    if (kind == CTR_EXPORTER_CONSOLE) {
        rc = ctr_console_exporter_new(NULL, out);
    } else if (kind == CTR_EXPORTER_FILE) {
        const char *path = NULL, *key = NULL;
        if (ctr__setting_str(st, s, CTR__S_FILE_PATH, "a file path", &path) < 0)
            return 0;
        const struct ctr__entry *ep = ctr__setting(s, CTR__S_ENDPOINT, &key);
        if (!path && ep && ep->src == CTR_FROM_COMMAND && ep->v.type == CTR_SV_STR)
            path = ep->v.text; /* the command line's one destination option */
        rc = ctr_file_exporter_new(path ? path : DEFAULT_FILE, out, err, sizeof err);
    } else if (kind == CTR_EXPORTER_JAEGER_THRIFT) {
        char host[300];
        struct ctr_jaeger_agent_options o = {0};
        if (read_agent(st, s, host, sizeof host, &o.port) < 0)
            return 0;
        o.host = host;
        rc = ctr_jaeger_agent_exporter_new(&o, out, err, sizeof err);
    } else {
        struct net n;
        if (read_net(st, s, kind, &n) < 0)
            return 0;
        size_t nh = 0;
        struct ctr_header *hs = merge_headers(c, n.headers, n.n_headers, &nh);
        if (!hs)
            return CTR_ENOMEM;
        if (kind == CTR_EXPORTER_OTLP_HTTP || kind == CTR_EXPORTER_OTLP_JSON) {
            char *url = n.endpoint ? ctr_otlp_http_traces_url(n.endpoint) : NULL;
            struct ctr_otlp_http_options o = {.url = url ? url : c->otlp_http_endpoint,
                                              .headers = hs,
                                              .n_headers = nh,
                                              .timeout_ms = n.timeout_ms,
                                              .gzip = n.gzip,
                                              .json = kind == CTR_EXPORTER_OTLP_JSON,
                                              .ca_file = n.tls.ca_file,
                                              .client_cert = n.tls.client_cert,
                                              .client_key = n.tls.client_key};
            rc = n.endpoint && !url ? CTR_ENOMEM
                                    : ctr_otlp_http_exporter_new(&o, out, err, sizeof err);
            free(url);
        } else if (kind == CTR_EXPORTER_OTLP_GRPC) {
            struct ctr_otlp_grpc_options o = {.endpoint =
                                                  n.endpoint ? n.endpoint : c->otlp_grpc_endpoint,
                                              .insecure = n.insecure,
                                              .headers = hs,
                                              .n_headers = nh,
                                              .timeout_ms = n.timeout_ms,
                                              .gzip = n.gzip,
                                              .tls = n.tls};
            rc = ctr_otlp_grpc_exporter_new(&o, out, err, sizeof err);
        } else if (kind == CTR_EXPORTER_JAEGER_GRPC) {
            struct ctr_jaeger_grpc_options o = {.endpoint =
                                                    n.endpoint ? n.endpoint : DEFAULT_JAEGER_GRPC,
                                                .insecure = n.insecure,
                                                .timeout_ms = n.timeout_ms,
                                                .tls = n.tls};
            rc = ctr_jaeger_grpc_exporter_new(&o, out, err, sizeof err);
        } else {
            struct ctr_zipkin_options o = {.url = n.endpoint ? n.endpoint : c->zipkin_endpoint,
                                           .timeout_ms = n.timeout_ms,
                                           .tls = n.tls};
            rc = ctr_zipkin_exporter_new(&o, out, err, sizeof err);
        }
        free(hs);
    }
    if (rc && rc != CTR_ENOMEM)
        ctr__problem(st, CTR_LOG_WARNING, true, "cannot export to %s: %s", what_of(kind),
                     err[0] ? err : ctr_strerror(rc));
    return rc == CTR_ENOMEM ? rc : 0;
}

/* Propagation for HTTP activities: OTEL_PROPAGATORS, or tracing_propagation
 * (a name or a ','-list); the jaeger provider uses uber-trace-id (renamed by
 * tracing_id_name) and uberctx- baggage (baggage_prefix);
 * tracing_opentelemetry_baggage_prefix switches the opentelemetry provider to
 * b3, as upstream did. Bad values are warned about and the default kept. */
/* A Jaeger header name or prefix into `out` (which holds the default); one
 * that does not fit is refused with a warning and the default kept. */
static void jaeger_name(struct ctr_setup *st, const struct ctr_settings *s, enum ctr__setting_id id,
                        const char *expected, char *out, size_t size)
{
    const char *v = NULL, *key = NULL;
    if (ctr__setting_str(st, s, id, expected, &v) <= 0 || !*v)
        return;
    if (strlen(v) >= size) {
        ctr__setting(s, id, &key);
        ctr__problem(st, CTR_LOG_WARNING, false, "%s is longer than %zu characters; using %s", key,
                     size - 1, out);
        return;
    }
    snprintf(out, size, "%s", v);
}

static void resolve_propagation(struct ctr_setup *st, const struct ctr_settings *s, bool jaeger)
{
    unsigned formats = jaeger ? CTR_PROP_JAEGER : st->cfg.propagators;
    const char *key = NULL, *v = NULL;
    const struct ctr__entry *bp = jaeger ? NULL : ctr__setting(s, CTR__S_OTEL_BAGGAGE_PREFIX, NULL);
    if (bp && !(bp->v.type == CTR_SV_BOOL && !bp->v.b) && !(bp->v.type == CTR_SV_STR && !bp->v.len))
        formats = CTR_PROP_B3MULTI;
    /* An empty value is no choice: the default stays. */
    if (ctr__setting_str(st, s, CTR__S_PROPAGATION, "a propagation name", &v) > 0 && *v) {
        ctr__setting(s, CTR__S_PROPAGATION, &key);
        unsigned bits = 0;
        bool ok = true;
        for (const char *p = v; *p && ok;) {
            size_t len = strcspn(p, ",");
            const char *b = p, *e = p + len;
            while (b < e && (*b == ' ' || *b == '\t'))
                b++;
            while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            const struct ctr__propagator_name *pn =
                ctr__propagator_lookup(b, (size_t)(e - b), CTR__IN_SETTING);
            if (!pn) {
                char valid[256], shown[CTR__SHOWN_SIZE];
                ctr__propagator_names(CTR__IN_SETTING, valid, sizeof valid);
                const char *close = ctr__propagator_closest(b, (size_t)(e - b), CTR__IN_SETTING);
                ctr__shown(v, strlen(v), shown, sizeof shown);
                ctr__problem(st, CTR_LOG_WARNING, false, "%s=%s is not one of %s%s%s%s; using %s",
                             key, shown, valid, close ? "; did you mean \"" : "",
                             close ? close : "", close ? "\"?" : "",
                             jaeger ? "jaeger" : "OTEL_PROPAGATORS");
                ok = false;
            } else {
                bits |= pn->setting_bits;
            }
            p += len + (p[len] == ',');
        }
        if (ok)
            formats = bits;
    }
    ctr_propagation_default(&st->prop, formats);
    if (jaeger) {
        jaeger_name(st, s, CTR__S_ID_NAME, "a header name", st->prop.jaeger_trace_header,
                    sizeof st->prop.jaeger_trace_header);
        jaeger_name(st, s, CTR__S_JAEGER_BAGGAGE_PREFIX, "a header prefix",
                    st->prop.jaeger_baggage_prefix, sizeof st->prop.jaeger_baggage_prefix);
    }
}

/* Split the environment's warnings (one per line) into problems. */
static void env_warnings(struct ctr_setup *st)
{
    for (const char *p = st->cfg.warnings; p && *p;) {
        size_t len = strcspn(p, "\n");
        ctr__problem(st, CTR_LOG_WARNING, false, "%.*s", (int)len, p);
        p += len + (p[len] == '\n');
    }
}

/* otel_vendor (else OTEL_VENDOR): the cloud whose trace conventions to
 * follow. It adds a propagator (and X-Ray ids for aws) and says in one INFO
 * how spans reach that cloud; an unknown value is one WARNING, nothing else
 * changes. */
static void resolve_vendor(struct ctr_setup *st, const struct ctr_settings *s, ctr_getenv_fn get,
                           void *ud)
{
    const char *key = "OTEL_VENDOR", *v = NULL;
    size_t vn = 0;
    char shown[CTR__SHOWN_SIZE];
    const struct ctr__entry *e = ctr__setting(s, CTR__S_VENDOR, &key);
    if (e) {
        ctr__entry_shown(e, shown, sizeof shown);
        if (e->v.type == CTR_SV_STR) {
            v = e->v.text;
            vn = e->v.len;
        }
    } else {
        v = get ? get(ud, "OTEL_VENDOR") : getenv("OTEL_VENDOR");
        vn = v ? strlen(v) : 0;
        if (!vn)
            return; /* empty is unset */
        ctr__shown(v, vn, shown, sizeof shown);
    }
    const struct ctr__vendor_name *vendor =
        v && memchr(v, '\0', vn) == NULL ? ctr__vendor_lookup(v, vn) : NULL;
    if (!vendor) {
        char valid[64];
        ctr__vendor_names(valid, sizeof valid);
        const char *close = v ? ctr__vendor_closest(v, vn) : NULL;
        ctr__problem(st, CTR_LOG_WARNING, false,
                     "%s=%s is not one of %s%s%s%s; no vendor's conventions are applied", key,
                     shown, valid, close ? "; did you mean \"" : "", close ? close : "",
                     close ? "\"?" : "");
        return;
    }
    switch (vendor->vendor) {
    case CTR__VENDOR_AWS:
        st->cfg.ids = CTR_IDS_XRAY;
        st->prop.formats |= CTR_PROP_XRAY;
        ctr__problem(st, CTR_LOG_INFO, false,
                     "%s is aws: trace ids are X-Ray's and HTTP activities get X-Amzn-Trace-Id; "
                     "send the spans to AWS X-Ray through an OpenTelemetry Collector with its "
                     "awsxray exporter (or the AWS Distro for OpenTelemetry)",
                     key);
        break;
    case CTR__VENDOR_GCP: {
        bool sa = ctr__setting(s, CTR__S_GCP_SERVICE_ACCOUNT, NULL) != NULL;
        bool project = ctr__setting(s, CTR__S_GCP_PROJECT_ID, NULL) != NULL;
        const char *unused = sa && project ? "; otel_gcp_service_account and otel_gcp_project_id "
                                             "are not used (the Collector's exporter has the "
                                             "credentials and the project)"
                             : sa          ? "; otel_gcp_service_account is not used (the "
                                             "Collector's exporter has the credentials)"
                             : project     ? "; otel_gcp_project_id is not used (the Collector's "
                                             "exporter names the project)"
                                           : "";
        st->prop.formats |= CTR_PROP_CLOUDTRACE;
        ctr__problem(st, CTR_LOG_INFO, false,
                     "%s is gcp: HTTP activities get X-Cloud-Trace-Context; spans are sent by "
                     "OTLP: export them to Google Cloud Trace through an OpenTelemetry Collector "
                     "with Google Cloud's exporter (googlecloud)%s",
                     key, unused);
        break;
    }
    case CTR__VENDOR_AZURE:
        st->prop.formats |= CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE;
        ctr__problem(st, CTR_LOG_INFO, false,
                     "%s is azure: HTTP activities get W3C traceparent; spans are sent by OTLP: "
                     "export them to Azure Monitor through an OpenTelemetry Collector with the "
                     "Azure Monitor exporter (azuremonitor)",
                     key);
        break;
    default:
        break;
    }
}

static int build_setup(struct ctr_setup *st, const struct ctr_settings *s, unsigned flags,
                       ctr_getenv_fn get, void *ud)
{
    ctr__report_unknown(st, s);
    int jaeger = resolve_provider(st, s, flags, get, ud);
    if (jaeger < 0)
        return st->oom ? CTR_ENOMEM : 0;
    int rc = ctr_config_from_env(&st->cfg, get, ud);
    st->cfg_loaded = true;
    if (rc)
        return rc;
    env_warnings(st);
    if (st->cfg.sdk_disabled && !(flags & CTR_SETUP_CHECK)) {
        ctr__problem(st, CTR_LOG_INFO, false, "OTEL_SDK_DISABLED is true: no spans are recorded");
        return st->oom ? CTR_ENOMEM : 0;
    }
    st->cfg.sdk_disabled = false;
    if (jaeger || (flags & CTR_SETUP_CHECK))
        st->cfg.sampler = CTR_SAMPLER_ALWAYS_ON; /* the Jaeger client's constant sampler */
    st->enabled = true;
    resolve_propagation(st, s, jaeger == 1);
    resolve_vendor(st, s, get, ud);
    if (!st->failed && (rc = ctr__setup_run_options(st, s, flags, get, ud)) != 0)
        return rc;
    ctr_exporter_kind kind;
    if (st->failed || resolve_kind(st, s, jaeger == 1, &kind) < 0)
        return st->oom ? CTR_ENOMEM : 0;
    rc = make_exporter(st, s, kind);
    if (rc == CTR_ENOMEM)
        return rc;
    if (st->exporter) /* exporters name their destination without credentials */
        snprintf(st->destination, sizeof st->destination, "%s",
                 ctr_exporter_destination(st->exporter));
    return st->oom ? CTR_ENOMEM : 0;
}

int ctr_setup_build(const struct ctr_settings *s, unsigned flags, ctr_getenv_fn get, void *ud,
                    struct ctr_setup **out)
{
    struct ctr_setup *st = calloc(1, sizeof *st);
    *out = st;
    if (!st)
        return CTR_ENOMEM;
    snprintf(st->destination, sizeof st->destination, "nowhere");
    ctr_propagation_default(&st->prop, CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE);
    struct ctr_settings *own = NULL;
    if ((flags & CTR_SETUP_OTEL_ONLY) && ctr__settings_otel_only(st, s, &own)) {
        ctr_settings_free(own);
        return CTR_ENOMEM;
    }
    int rc = build_setup(st, own ? own : s, flags, get, ud);
    ctr_settings_free(own);
    return rc;
}

void ctr_setup_free(struct ctr_setup *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n_problems; i++)
        free(st->problems[i].text);
    free(st->problems);
    if (st->cfg_loaded)
        ctr_config_free(&st->cfg);
    ctr_exporter_destroy(st->exporter);
    ctr_spool_close(st->spool);
    ctr_redactor_free(st->redactor);
    free(st->trace_url);
    free(st->spool_dir);
    free(st);
}

bool ctr_setup_enabled(const struct ctr_setup *st)
{
    return st && st->enabled;
}

bool ctr_setup_failed(const struct ctr_setup *st)
{
    return st && st->failed;
}

size_t ctr_setup_problem_count(const struct ctr_setup *st)
{
    return st ? st->n_problems : 0;
}

const char *ctr_setup_problem(const struct ctr_setup *st, size_t i, int *level, bool *fatal)
{
    if (!st || i >= st->n_problems)
        return NULL;
    if (level)
        *level = st->problems[i].level;
    if (fatal)
        *fatal = st->problems[i].fatal;
    return st->problems[i].text;
}

const char *ctr_setup_destination(const struct ctr_setup *st)
{
    return st ? st->destination : "nowhere";
}

const struct ctr_propagation *ctr_setup_propagation(const struct ctr_setup *st)
{
    static struct ctr_propagation w3c;
    if (!st) {
        ctr_propagation_default(&w3c, CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE);
        return &w3c;
    }
    return &st->prop;
}

struct ctr_exporter *ctr_setup_take_exporter(struct ctr_setup *st)
{
    if (!st || !st->enabled || st->started)
        return NULL;
    struct ctr_exporter *e = st->exporter;
    st->exporter = NULL;
    st->started = true;
    return e;
}

int ctr_setup_start(struct ctr_setup *st, const struct ctr_start_options *o,
                    struct ctr_tracer **out)
{
    *out = NULL;
    if (!st || !st->enabled || st->started)
        return CTR_EINVAL;
    struct ctr_config cfg = st->cfg;
    if (o && o->batch_size)
        cfg.bsp.max_queue_size = cfg.bsp.max_export_batch_size = o->batch_size;
    if (o && o->timeout_ms)
        cfg.bsp.export_timeout_ms = o->timeout_ms;
    st->started = true;
    struct ctr_exporter *e = st->exporter;
    st->exporter = NULL;
    /* What does not arrive is spooled; a failure that may pass is retried. */
    cfg.bsp.spool = st->spool;
    cfg.bsp.retry_failed = st->spool != NULL || st->redactor != NULL;
    st->spool = NULL;
    int rc = ctr_tracer_new(&cfg, e, true, out);
    if (rc == 0) {
        ctr_tracer_set_redactor(*out, st->redactor);
        st->redactor = NULL;
    }
    return rc;
}
