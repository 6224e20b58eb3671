/*
 * What the settings say about a run beyond the exporter: how long cleanup
 * waits, how activity outputs are recorded, where undelivered spans are
 * spooled, what is redacted, and the trace link template.
 *
 *   tracing_flush_timeout   ms cleanup waits for delivery            1000
 *   tracing_record_output   full | truncated | none                  truncated
 *   tracing_output_limit    characters kept when truncated          4096
 *   tracing_spool_dir       a directory, or off (CHAOSTRACING_SPOOL_DIR)
 *                           $XDG_CACHE_HOME/chaostracing/spool
 *   tracing_spool_max_mb    the spool's bound                         64
 *   tracing_redact          more sensitive words, ','-separated
 *   tracing_trace_url       a link with {trace_id} (CHAOSTRACING_TRACE_URL)
 *   trace_request(s), trace_httpx, trace_urllib3, trace_botocore
 *                           control arguments: client libraries to instrument
 */
#include "export/settings.h"

#include <chaostracing/spool.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_FLUSH_MS 1000

/* An environment variable through the setup's getter; NULL when unset or
 * empty. */
static const char *env(ctr_getenv_fn get, void *ud, const char *name)
{
    const char *v = get ? get(ud, name) : getenv(name);
    return v && *v ? v : NULL;
}

static void read_output(struct ctr_setup *st, const struct ctr_settings *s)
{
    static const char *const modes[] = {"truncated", "full", "none"};
    const char *m = NULL, *key = NULL;
    long long limit = CTR_OUTPUT_DEFAULT_LIMIT;
    st->output_mode = CTR_OUTPUT_TRUNCATED;
    st->output_limit = CTR_OUTPUT_DEFAULT_LIMIT;
    if (ctr__setting_str(st, s, CTR__S_RECORD_OUTPUT, "full, truncated or none", &m) > 0) {
        int found = -1;
        for (int i = 0; i < 3; i++)
            if (strcasecmp(m, modes[i]) == 0)
                found = i;
        if (found < 0) {
            char shown[CTR__SHOWN_SIZE];
            ctr__setting(s, CTR__S_RECORD_OUTPUT, &key);
            ctr__shown(m, strlen(m), shown, sizeof shown);
            ctr__problem(st, CTR_LOG_WARNING, false,
                         "%s=%s is not one of full, truncated, none; using truncated", key, shown);
        } else {
            st->output_mode = (enum ctr_output_mode)found;
        }
    }
    if (ctr__setting_range(st, s, CTR__S_OUTPUT_LIMIT, 1, 1 << 24,
                           "a number of characters (1-16777216)", &limit) > 0)
        st->output_limit = (uint32_t)limit;
}

/* The spool: the setting, else CHAOSTRACING_SPOOL_DIR, else the default
 * directory; "off", "none", "false" or "" turn it off. A spool that cannot be
 * opened is one warning, not a reason to stop tracing. */
static int open_spool(struct ctr_setup *st, const struct ctr_settings *s, ctr_getenv_fn get,
                      void *ud)
{
    const char *dir = NULL;
    char def[4096];
    long long mb = 64;
    int r = ctr__setting_str(st, s, CTR__S_SPOOL_DIR, "a directory, or off", &dir);
    if (r < 0 || ctr__setting_range(st, s, CTR__S_SPOOL_MAX_MB, 1, 1 << 20,
                                    "a size in MiB (1-1048576)", &mb) < 0)
        return 0;
    if (r == 0 && !(dir = env(get, ud, "CHAOSTRACING_SPOOL_DIR")) &&
        ctr_spool_default_dir(get, ud, def, sizeof def) == 0)
        dir = def;
    if (!dir || !*dir || strcasecmp(dir, "off") == 0 || strcasecmp(dir, "none") == 0 ||
        strcasecmp(dir, "false") == 0)
        return 0;
    char err[512] = "";
    int rc = ctr_spool_open(dir, (uint64_t)mb << 20, &st->spool, err, sizeof err);
    if (rc == CTR_ENOMEM)
        return rc;
    if (rc)
        ctr__problem(st, CTR_LOG_WARNING, false,
                     "%s; spans not delivered by the end of the run will be lost", err);
    else if (!(st->spool_dir = strdup(dir)))
        return CTR_ENOMEM;
    return 0;
}

/* The redactor: the built-in rules, tracing_redact's words. */
static int make_redactor(struct ctr_setup *st, const struct ctr_settings *s)
{
    if (ctr_redactor_new(&st->redactor))
        return CTR_ENOMEM;
    const char *words = NULL;
    if (ctr__setting_str(st, s, CTR__S_REDACT, "a ','-separated list of words", &words) <= 0)
        return 0;
    for (const char *p = words; *p;) {
        size_t len = strcspn(p, ",");
        const char *b = p, *e = p + len;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > b && ctr_redactor_add_word(st->redactor, b, (size_t)(e - b)))
            return CTR_ENOMEM;
        p += len + (p[len] == ',');
    }
    return 0;
}

/* The instrumentation arguments: booleans, false by default. */
static void read_instrumentations(struct ctr_setup *st, const struct ctr_settings *s)
{
    static const struct {
        enum ctr__setting_id id;
        unsigned bit;
    } args[] = {
        {CTR__S_TRACE_REQUEST, CTR_INSTRUMENT_REQUESTS},
        {CTR__S_TRACE_REQUESTS, CTR_INSTRUMENT_REQUESTS},
        {CTR__S_TRACE_HTTPX, CTR_INSTRUMENT_HTTPX},
        {CTR__S_TRACE_URLLIB3, CTR_INSTRUMENT_URLLIB3},
        {CTR__S_TRACE_BOTOCORE, CTR_INSTRUMENT_BOTOCORE},
    };
    st->instrumentations = 0;
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) {
        bool on = false;
        if (ctr__setting_bool(st, s, args[i].id, &on) > 0 && on)
            st->instrumentations |= args[i].bit;
    }
}

int ctr__setup_run_options(struct ctr_setup *st, const struct ctr_settings *s, unsigned flags,
                           ctr_getenv_fn get, void *ud)
{
    long long flush = DEFAULT_FLUSH_MS;
    st->flush_timeout_ms = DEFAULT_FLUSH_MS;
    if (ctr__setting_range(st, s, CTR__S_FLUSH_TIMEOUT, 0, 600000,
                           "a number of milliseconds (0-600000)", &flush) > 0)
        st->flush_timeout_ms = (uint32_t)flush;
    read_output(st, s);
    read_instrumentations(st, s);
    const char *url = NULL;
    if (ctr__setting_str(st, s, CTR__S_TRACE_URL, "a URL template", &url) <= 0)
        url = env(get, ud, "CHAOSTRACING_TRACE_URL");
    if (url && !(st->trace_url = strdup(url)))
        return CTR_ENOMEM;
    if (flags & CTR_SETUP_CHECK)
        return 0; /* a check sends its own spans, now, as given */
    int rc = make_redactor(st, s);
    return rc ? rc : open_spool(st, s, get, ud);
}

enum ctr_output_mode ctr_setup_output(const struct ctr_setup *st, uint32_t *limit)
{
    *limit = st && st->output_mode == CTR_OUTPUT_TRUNCATED ? st->output_limit : 0;
    return st ? st->output_mode : CTR_OUTPUT_TRUNCATED;
}

uint32_t ctr_setup_flush_timeout_ms(const struct ctr_setup *st)
{
    return st ? st->flush_timeout_ms : DEFAULT_FLUSH_MS;
}

const char *ctr_setup_spool_dir(const struct ctr_setup *st)
{
    return st ? st->spool_dir : NULL;
}

unsigned ctr_setup_instrumentations(const struct ctr_setup *st)
{
    return st ? st->instrumentations : 0;
}

const char *ctr_setup_trace_url(const struct ctr_setup *st)
{
    return st ? st->trace_url : NULL;
}

void ctr_trace_link(const char *tmpl, const uint8_t trace_id[CTR_TRACE_ID_LEN],
                    const uint8_t *span_id, struct ctr_buf *out)
{
    char tid[2 * CTR_TRACE_ID_LEN + 1], sid[2 * CTR_SPAN_ID_LEN + 1];
    ctr_hex_encode(trace_id, CTR_TRACE_ID_LEN, tid);
    if (span_id)
        ctr_hex_encode(span_id, CTR_SPAN_ID_LEN, sid);
    for (const char *p = tmpl; *p;) {
        if (strncmp(p, "{trace_id}", 10) == 0) {
            ctr_buf_puts(out, tid);
            p += 10;
        } else if (span_id && strncmp(p, "{span_id}", 9) == 0) {
            ctr_buf_puts(out, sid);
            p += 9;
        } else {
            ctr_buf_putc(out, (uint8_t)*p++);
        }
    }
}

int ctr_setup_add_secret(struct ctr_setup *st, const char *key, const char *value, size_t len)
{
    if (!st || !st->redactor || (key && !ctr_redact_is_sensitive(st->redactor, key, strlen(key))))
        return 0;
    return ctr_redactor_add_secret(st->redactor, value, len);
}
