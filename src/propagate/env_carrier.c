/*
 * The environment carrier (opentelemetry-specification
 * context/env-carriers.md): a context travels to and from a child process as
 * environment variables named after the headers, upper-cased with '-' as '_'
 * (traceparent → TRACEPARENT, x-b3-traceid → X_B3_TRACEID).
 */
#include <chaostracing/propagate.h>

#include <stdlib.h>
#include <string.h>

int ctr_env_var_name(const char *header, char *out, size_t size)
{
    size_t n = strlen(header);
    if (n == 0 || n >= size)
        return CTR_EINVAL;
    for (size_t i = 0; i <= n; i++) {
        char ch = header[i];
        out[i] = ch == '-' ? '_' : (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
    }
    return 0;
}

/* carrier get: the variable for header `name`, NULL when unset or empty. */
static const char *env_get(void *ud, const char *name)
{
    (void)ud;
    char var[128];
    if (ctr_env_var_name(name, var, sizeof var))
        return NULL;
    const char *v = getenv(var);
    return v && *v ? v : NULL;
}

void ctr_carrier_env(struct ctr_carrier *c)
{
    memset(c, 0, sizeof *c);
    c->get = env_get;
}

int ctr_propagation_extract_env(const struct ctr_propagation *p, struct ctr_span_context *out,
                                char *ts_buf, size_t ts_size, char *bag_buf, size_t bag_size)
{
    struct ctr_carrier c;
    ctr_carrier_env(&c);
    /* Every format may arrive through the environment, whatever we inject. */
    struct ctr_propagation any = *p;
    any.formats |= CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE;
    if (ctr_propagation_extract(&any, &c, out, ts_buf, ts_size, bag_buf, bag_size) == 0)
        return 0;
    const char *tp = getenv("TRACEPARENT");
    if (tp && *tp)
        ctr_log(CTR_LOG_WARNING,
                "chaostracing: TRACEPARENT=%.60s is not a valid W3C traceparent; ignored", tp);
    return CTR_EPARSE;
}
