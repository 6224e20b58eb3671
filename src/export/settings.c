/*
 * Settings as users write them: the table of names, the values recorded by
 * the binding or the command-line tool, their precedence, and typed reads
 * that turn a wrong type into one clear message. What the settings resolve
 * to is setup.c's business.
 */
#include "export/settings.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/names.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* The names of each setting: as a control argument, as a key of the
 * experiment's configuration (the upstream README's keys), and as an option
 * of the chaostracing command. NULL where a setting cannot be written. */
static const struct {
    const char *argument, *configuration, *command;
} names[CTR__S_COUNT] = {
    [CTR__S_PROVIDER] = {"provider", "tracing_provider", NULL},
    [CTR__S_EXPORTER] = {"exporter", "tracing_opentelemetry_exporter", "exporter"},
    [CTR__S_ENDPOINT] = {"collector_endpoint", "tracing_opentelemetry_collector_endpoint",
                         "endpoint"},
    [CTR__S_INSECURE] = {"collector_insecure", "tracing_opentelemetry_collector_endpoint_insecure",
                         "insecure"},
    [CTR__S_HEADERS] = {"collector_headers", "tracing_opentelemetry_collector_headers", "headers"},
    [CTR__S_FILE_PATH] = {"file_path", "tracing_opentelemetry_file_path", NULL},
    [CTR__S_HOST] = {"host", "tracing_host", NULL},
    [CTR__S_PORT] = {"port", "tracing_port", NULL},
    [CTR__S_PROPAGATION] = {"propagation", "tracing_propagation", NULL},
    [CTR__S_ID_NAME] = {"id_name", "tracing_id_name", NULL},
    /* One argument, two keys: its meaning depends on the provider. */
    [CTR__S_JAEGER_BAGGAGE_PREFIX] = {"baggage_prefix", "baggage_prefix", NULL},
    [CTR__S_OTEL_BAGGAGE_PREFIX] = {"baggage_prefix", "tracing_opentelemetry_baggage_prefix", NULL},
    [CTR__S_GZIP] = {NULL, NULL, "gzip"},
    [CTR__S_CA_FILE] = {NULL, NULL, "cacert"},
    [CTR__S_CLIENT_CERT] = {NULL, NULL, "cert"},
    [CTR__S_CLIENT_KEY] = {NULL, NULL, "key"},
    [CTR__S_TIMEOUT] = {NULL, NULL, "timeout"},
    [CTR__S_FLUSH_TIMEOUT] = {"flush_timeout", "tracing_flush_timeout", NULL},
    [CTR__S_SPOOL_DIR] = {"spool_dir", "tracing_spool_dir", "spool"},
    [CTR__S_SPOOL_MAX_MB] = {"spool_max_mb", "tracing_spool_max_mb", NULL},
    [CTR__S_RECORD_OUTPUT] = {"record_output", "tracing_record_output", NULL},
    [CTR__S_OUTPUT_LIMIT] = {"output_limit", "tracing_output_limit", NULL},
    [CTR__S_REDACT] = {"redact", "tracing_redact", NULL},
    [CTR__S_TRACE_URL] = {"trace_url", "tracing_trace_url", NULL},
    /* Upstream's code reads trace_request, its README says trace_requests. */
    [CTR__S_TRACE_REQUEST] = {"trace_request", NULL, NULL},
    [CTR__S_TRACE_REQUESTS] = {"trace_requests", NULL, NULL},
    [CTR__S_TRACE_HTTPX] = {"trace_httpx", NULL, NULL},
    [CTR__S_TRACE_URLLIB3] = {"trace_urllib3", NULL, NULL},
    [CTR__S_TRACE_BOTOCORE] = {"trace_botocore", NULL, NULL},
    /* The upstream chaostracing.oltp control's keys, read by both fronts. */
    [CTR__S_VENDOR] = {NULL, "otel_vendor", NULL},
    [CTR__S_GCP_SERVICE_ACCOUNT] = {NULL, "otel_gcp_service_account", NULL},
    [CTR__S_GCP_PROJECT_ID] = {NULL, "otel_gcp_project_id", NULL},
};

struct ctr_settings {
    struct ctr__entry *v;
    size_t n, cap;
};

static const char *name_in(enum ctr__setting_id id, enum ctr_setting_source src)
{
    return src == CTR_FROM_COMMAND    ? names[id].command
           : src == CTR_FROM_ARGUMENT ? names[id].argument
                                      : names[id].configuration;
}

int ctr_settings_new(struct ctr_settings **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : CTR_ENOMEM;
}

static void entry_clear(struct ctr__entry *e)
{
    free(e->key);
    free((char *)e->v.text);
    for (size_t i = 0; i < e->v.n_map; i++) {
        free(e->v.map[i].name);
        free(e->v.map[i].value);
    }
    free((struct ctr_header *)e->v.map);
    memset(e, 0, sizeof *e);
}

void ctr_settings_free(struct ctr_settings *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        entry_clear(&s->v[i]);
    free(s->v);
    free(s);
}

/* True for the otel_* keys of the upstream chaostracing.oltp control. */
static bool is_otel_key(const char *key, size_t len)
{
    return len > 5 && strncmp(key, "otel_", 5) == 0;
}

bool ctr_settings_is_config_key(const char *key, size_t len)
{
    return (len > 8 && strncmp(key, "tracing_", 8) == 0) ||
           (len == 14 && memcmp(key, "baggage_prefix", 14) == 0) || is_otel_key(key, len);
}

int ctr__settings_otel_only(struct ctr_setup *st, const struct ctr_settings *s,
                            struct ctr_settings **out)
{
    if (ctr_settings_new(out))
        return CTR_ENOMEM;
    char ignored[512] = "";
    size_t used = 0, more = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct ctr__entry *e = &s->v[i];
        if (e->src != CTR_FROM_CONFIGURATION || is_otel_key(e->key, strlen(e->key))) {
            if (ctr_settings_put(*out, e->src, e->key, strlen(e->key), &e->v))
                return CTR_ENOMEM;
            continue;
        }
        char k[CTR__SHOWN_SIZE];
        ctr__shown(e->key, strlen(e->key), k, sizeof k);
        int n = snprintf(ignored + used, sizeof ignored - used, "%s%s", used ? ", " : "", k);
        if (n < 0 || (size_t)n >= sizeof ignored - used)
            more++;
        else
            used += (size_t)n;
    }
    if (used || more)
        ctr__problem(
            st, CTR_LOG_INFO, false,
            "configured by OTEL_* variables only: the experiment's configuration keys %s%s "
            "are not read",
            ignored, more ? " and others" : "");
    return 0;
}

/* malloc'ed copy of n bytes + NUL; NULL when out of memory. */
static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        if (n)
            memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

int ctr_settings_put(struct ctr_settings *s, enum ctr_setting_source src, const char *key,
                     size_t klen, const struct ctr_setting_value *v)
{
    struct ctr__entry e = {.src = src, .v = *v};
    e.v.text = NULL;
    e.v.map = NULL;
    e.v.n_map = 0;
    e.key = dupn(key, klen);
    if (!e.key)
        return CTR_ENOMEM;
    if (v->text && !(e.v.text = dupn(v->text, v->len))) {
        entry_clear(&e);
        return CTR_ENOMEM;
    }
    if (v->type == CTR_SV_MAP && v->n_map) {
        struct ctr_header *m = calloc(v->n_map, sizeof *m);
        e.v.map = m;
        if (!m) {
            entry_clear(&e);
            return CTR_ENOMEM;
        }
        for (size_t i = 0; i < v->n_map; i++, e.v.n_map++) {
            m[i].name = dupn(v->map[i].name, strlen(v->map[i].name));
            m[i].value = dupn(v->map[i].value, strlen(v->map[i].value));
            if (!m[i].name || !m[i].value) {
                e.v.n_map++;
                entry_clear(&e);
                return CTR_ENOMEM;
            }
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].src == src && strcmp(s->v[i].key, e.key) == 0) {
            entry_clear(&s->v[i]);
            s->v[i] = e;
            return 0;
        }
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct ctr__entry *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv) {
            entry_clear(&e);
            return CTR_ENOMEM;
        }
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = e;
    return 0;
}

int ctr_settings_put_str(struct ctr_settings *s, enum ctr_setting_source src, const char *key,
                         const char *value)
{
    struct ctr_setting_value v = {.type = CTR_SV_STR, .text = value, .len = strlen(value)};
    return ctr_settings_put(s, src, key, strlen(key), &v);
}

void ctr__problem(struct ctr_setup *st, int level, bool fatal, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (fatal) {
        st->enabled = false;
        st->failed = true;
    }
    if (st->n_problems == st->cap_problems) {
        size_t cap = st->cap_problems ? st->cap_problems * 2 : 4;
        struct ctr__problem *p = realloc(st->problems, cap * sizeof *p);
        if (!p) {
            st->oom = true;
            return;
        }
        st->problems = p;
        st->cap_problems = cap;
    }
    char *copy = dupn(text, strlen(text));
    if (!copy) {
        st->oom = true;
        return;
    }
    st->problems[st->n_problems++] = (struct ctr__problem){level, fatal, copy};
}

const struct ctr__entry *ctr__setting(const struct ctr_settings *s, enum ctr__setting_id id,
                                      const char **name)
{
    static const enum ctr_setting_source order[] = {CTR_FROM_COMMAND, CTR_FROM_ARGUMENT,
                                                    CTR_FROM_CONFIGURATION};
    for (size_t o = 0; o < N_ELEMS(order); o++) {
        const char *n = name_in(id, order[o]);
        for (size_t i = 0; n && i < s->n; i++) {
            const struct ctr__entry *e = &s->v[i];
            if (e->src == order[o] && e->v.type != CTR_SV_NULL && strcmp(e->key, n) == 0) {
                if (name)
                    *name = e->key;
                return e;
            }
        }
    }
    return NULL;
}

void ctr__shown(const char *t, size_t len, char *out, size_t size)
{
    size_t o = 0, chars = 0;
    for (size_t i = 0; i < len && o + 8 < size; i++) {
        unsigned char c = (unsigned char)t[i];
        if ((c & 0xC0) != 0x80 && ++chars > CTR__SHOWN_MAX) {
            o += (size_t)snprintf(out + o, size - o, "...");
            break;
        }
        if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o < size ? o : size - 1] = '\0';
}

/* Describe a value for a message: its display text or its string (all
 * `len` bytes) as ctr__shown() writes it; else its type. */
void ctr__entry_shown(const struct ctr__entry *e, char *out, size_t size)
{
    if (e->v.text) {
        ctr__shown(e->v.text, e->v.len, out, size);
        return;
    }
    switch (e->v.type) {
    case CTR_SV_INT:
        snprintf(out, size, "%lld", (long long)e->v.i);
        return;
    case CTR_SV_FLOAT:
        snprintf(out, size, "%g", e->v.d);
        return;
    case CTR_SV_BOOL:
        snprintf(out, size, "%s", e->v.b ? "true" : "false");
        return;
    case CTR_SV_MAP:
        snprintf(out, size, "a mapping");
        return;
    default:
        snprintf(out, size, "a value of another type");
        return;
    }
}

/* A wrong-typed value: one fatal problem naming the setting and the value. */
static int bad(struct ctr_setup *st, const char *name, const struct ctr__entry *e,
               const char *expected)
{
    char v[CTR__SHOWN_SIZE];
    ctr__entry_shown(e, v, sizeof v);
    ctr__problem(st, CTR_LOG_WARNING, true, "%s=%s is not %s", name, v, expected);
    return -1;
}

int ctr__setting_str(struct ctr_setup *st, const struct ctr_settings *s, enum ctr__setting_id id,
                     const char *expected, const char **out)
{
    const char *name;
    const struct ctr__entry *e = ctr__setting(s, id, &name);
    if (!e)
        return 0;
    if (e->v.type != CTR_SV_STR || !e->v.text || strlen(e->v.text) != e->v.len)
        return bad(st, name, e, expected);
    *out = e->v.text;
    return 1;
}

int ctr__setting_bool(struct ctr_setup *st, const struct ctr_settings *s, enum ctr__setting_id id,
                      bool *out)
{
    const char *name;
    const struct ctr__entry *e = ctr__setting(s, id, &name);
    if (!e)
        return 0;
    if (e->v.type == CTR_SV_BOOL) {
        *out = e->v.b;
        return 1;
    }
    if (e->v.type == CTR_SV_STR && e->v.text &&
        (strcasecmp(e->v.text, "true") == 0 || strcasecmp(e->v.text, "false") == 0)) {
        *out = strcasecmp(e->v.text, "true") == 0;
        return 1;
    }
    return bad(st, name, e, "true or false");
}

/* A whole number from an int or a string of digits, in [lo, hi]. */
static int whole(struct ctr_setup *st, const struct ctr_settings *s, enum ctr__setting_id id,
                 long long lo, long long hi, const char *expected, long long *out)
{
    const char *name;
    const struct ctr__entry *e = ctr__setting(s, id, &name);
    if (!e)
        return 0;
    long long v = lo - 1;
    if (e->v.type == CTR_SV_INT) {
        v = e->v.i;
    } else if (e->v.type == CTR_SV_STR && e->v.text && e->v.len && e->v.len < 12 &&
               strspn(e->v.text, "0123456789") == e->v.len) {
        v = strtoll(e->v.text, NULL, 10);
    }
    if (v < lo || v > hi)
        return bad(st, name, e, expected);
    *out = v;
    return 1;
}

int ctr__setting_text(struct ctr_setup *st, const struct ctr_settings *s, enum ctr__setting_id id,
                      const char *expected, char *out, size_t size)
{
    const char *name;
    const struct ctr__entry *e = ctr__setting(s, id, &name);
    if (!e)
        return 0;
    if (e->v.type == CTR_SV_INT)
        snprintf(out, size, "%lld", (long long)e->v.i);
    else if (e->v.type == CTR_SV_STR && e->v.text && strlen(e->v.text) == e->v.len)
        snprintf(out, size, "%s", e->v.text);
    else
        return bad(st, name, e, expected);
    return 1;
}

int ctr__setting_range(struct ctr_setup *st, const struct ctr_settings *s, enum ctr__setting_id id,
                       long long lo, long long hi, const char *expected, long long *out)
{
    return whole(st, s, id, lo, hi, expected, out);
}

int ctr__setting_uint(struct ctr_setup *st, const struct ctr_settings *s, enum ctr__setting_id id,
                      uint32_t *out)
{
    long long v = 0;
    int r = whole(st, s, id, 1, 3600000, "a number of milliseconds (1-3600000)", &v);
    if (r > 0)
        *out = (uint32_t)v;
    return r;
}

int ctr__setting_map(struct ctr_setup *st, const struct ctr_settings *s, enum ctr__setting_id id,
                     const struct ctr_header **map, size_t *n)
{
    const char *name;
    const struct ctr__entry *e = ctr__setting(s, id, &name);
    if (!e)
        return 0;
    if (e->v.type != CTR_SV_MAP) {
        /* Headers carry credentials ("Authorization=Bearer ..."): the value
         * of a refused one is described, never shown. */
        const char *kind = e->v.type == CTR_SV_STR                                ? "a string"
                           : e->v.type == CTR_SV_INT || e->v.type == CTR_SV_FLOAT ? "a number"
                           : e->v.type == CTR_SV_BOOL                             ? "a boolean"
                           : e->v.type == CTR_SV_NULL                             ? "null"
                                                      : "a value of another type";
        ctr__problem(st, CTR_LOG_WARNING, true,
                     "%s (%s, not shown) is not a mapping of header names to string values", name,
                     kind);
        return -1;
    }
    *map = e->v.map;
    *n = e->v.n_map;
    return 1;
}

void ctr__report_unknown(struct ctr_setup *st, const struct ctr_settings *s)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct ctr__entry *e = &s->v[i];
        const char *candidates[CTR__S_COUNT];
        size_t n = 0;
        bool known = false;
        for (int id = 0; id < CTR__S_COUNT; id++) {
            const char *nm = name_in((enum ctr__setting_id)id, e->src);
            if (!nm)
                continue;
            known |= strcmp(nm, e->key) == 0;
            candidates[n++] = nm;
        }
        if (known)
            continue;
        const char *close = ctr__closest(e->key, strlen(e->key), candidates, n);
        const char *what = e->src == CTR_FROM_ARGUMENT        ? "control argument"
                           : e->src == CTR_FROM_CONFIGURATION ? "configuration key"
                                                              : "option";
        char key[CTR__SHOWN_SIZE];
        ctr__shown(e->key, strlen(e->key), key, sizeof key);
        if (close)
            ctr__problem(st, CTR_LOG_WARNING, false,
                         "unknown %s \"%s\" ignored; did you mean \"%s\"?", what, key, close);
        else
            ctr__problem(st, CTR_LOG_WARNING, false, "unknown %s \"%s\" ignored", what, key);
    }
}
