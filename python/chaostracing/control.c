/*
 * chaostracing.control — the Chaos Toolkit control, as a CPython extension
 * module written in C.
 *
 * Chaos Toolkit imports this module by path and calls its hooks with keyword
 * arguments only, after inspecting their signatures (hence the hand-written
 * __text_signature__ docstrings). Every hook copies what it needs out of the
 * Python objects into spans owned by the C core; the core never sees a
 * PyObject and its worker thread never needs the GIL. Messages from the core
 * (any thread) are queued and forwarded to the "chaostoolkit" logger at the
 * next hook, with the GIL held.
 *
 * Parents are found by identity, never through a thread-local "current span":
 * the experiment, method and rollbacks spans are single; hypothesis spans are
 * keyed by (hypothesis dict, thread) and activity spans by (activity dict,
 * thread), so background activities (a thread pool) and the continuous
 * hypothesis (its own thread) get the right parents.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <chaostracing/chaostracing.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OUTPUT_MAX_CHARS 4096
/* The flush deadline at cleanup: with shutdown itself, a silent collector
 * costs under 2 s at exit. */
#define CLEANUP_DEADLINE_MS 1800
#define DEFAULT_FILE_PATH "chaostracing-traces.jsonl"

/* ------------------------------------------------------------------------ */
/* Messages from the core, queued from any thread.                          */
/* ------------------------------------------------------------------------ */

#define LOGQ_CAP 64
#define LOGQ_MSG 1024

static struct {
    pthread_mutex_t lock;
    int level[LOGQ_CAP];
    char msg[LOGQ_CAP][LOGQ_MSG];
    unsigned head, len, lost;
} logq = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The core's log sink: copy the message into the queue, never block long. */
static void logq_push(void *ud, int level, const char *msg)
{
    (void)ud;
    pthread_mutex_lock(&logq.lock);
    if (logq.len == LOGQ_CAP) {
        logq.lost++;
    } else {
        unsigned i = (logq.head + logq.len) % LOGQ_CAP;
        logq.level[i] = level;
        snprintf(logq.msg[i], LOGQ_MSG, "%s", msg);
        logq.len++;
    }
    pthread_mutex_unlock(&logq.lock);
}

static void logq_prepare(void)
{
    pthread_mutex_lock(&logq.lock);
}

static void logq_release(void)
{
    pthread_mutex_unlock(&logq.lock);
}

static void logq_child(void)
{
    pthread_mutex_init(&logq.lock, NULL);
}

/* ------------------------------------------------------------------------ */
/* Module state.                                                            */
/* ------------------------------------------------------------------------ */

enum entry_kind { ENTRY_HYPOTHESIS, ENTRY_ACTIVITY };

/* At most this many headers injected into one request (b3multi + jaeger
 * baggage reach a handful). */
#define MAX_INJECTED 16

/* One open hypothesis or activity span. Holds a strong reference to the
 * context dict so its identity cannot be reused while the span is open. */
struct open_entry {
    enum entry_kind kind;
    PyObject *context;
    unsigned long thread;
    struct ctr_span *span;
    PyObject *headers;    /* the http provider's headers dict we injected into */
    bool created_headers; /* we added "headers" to the provider */
    /* Headers the propagators set, with what was there before (NULL: absent). */
    char *inj_name[MAX_INJECTED];
    PyObject *inj_saved[MAX_INJECTED];
    int n_inj;
    /* A hypothesis probe: its span ends with the hypothesis, because the
     * probe's tolerance_met is only known then; end_ns is set once the
     * activity itself is over. */
    struct ctr_span *hypothesis;
    uint64_t end_ns;
};

typedef struct {
    struct ctr_tracer *tracer;
    char destination[600];
    int configured;

    struct ctr_span *experiment;
    unsigned long experiment_thread;
    struct ctr_span *method;
    struct ctr_span *rollbacks;
    bool method_seen;
    char *tracestate; /* from TRACESTATE, for injection */
    char *baggage;    /* from BAGGAGE, for injection */

    struct open_entry *open;
    size_t n_open, cap_open;

    PyObject *logger;            /* logging.getLogger("chaostoolkit"), lazily */
    PyObject *json_dumps;        /* json.dumps, lazily */
    PyObject *substitute;        /* chaoslib.substitute, lazily */
    struct ctr_propagation prop; /* formats injected into HTTP activities */
    uint64_t generation;         /* bumped for every tracer: user spans check it */
    PyObject *span_type;         /* chaostracing.control.Span */
    PyObject *hook_type;         /* chaostracing.control.Hook */
} ctl_state;

static ctl_state *get_state(PyObject *module)
{
    return (ctl_state *)PyModule_GetState(module);
}

/* ------------------------------------------------------------------------ */
/* Logging to the "chaostoolkit" logger.                                    */
/* ------------------------------------------------------------------------ */

/* Log one message; prefixes "chaostracing: " when missing. Never raises. */
static void pylog(ctl_state *st, int level, const char *msg)
{
    PyObject *et, *ev, *etb;
    PyErr_Fetch(&et, &ev, &etb);
    if (!st->logger) {
        PyObject *logging = PyImport_ImportModule("logging");
        if (logging) {
            st->logger = PyObject_CallMethod(logging, "getLogger", "s", "chaostoolkit");
            Py_DECREF(logging);
        }
        if (!st->logger) {
            PyErr_Clear();
            fprintf(stderr, "%s\n", msg);
            PyErr_Restore(et, ev, etb);
            return;
        }
    }
    const char *prefix = strncmp(msg, "chaostracing", 12) == 0 ? "" : "chaostracing: ";
    PyObject *text = PyUnicode_FromFormat("%s%s", prefix, msg);
    if (!text) {
        PyErr_Clear();
        text = PyUnicode_DecodeUTF8(msg, (Py_ssize_t)strlen(msg), "replace");
    }
    if (text) {
        PyObject *r = PyObject_CallMethod(st->logger, "log", "iO", level, text);
        Py_XDECREF(r);
        Py_DECREF(text);
    }
    PyErr_Clear();
    PyErr_Restore(et, ev, etb);
}

static void pylogf(ctl_state *st, int level, const char *fmt, ...)
{
    char msg[LOGQ_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pylog(st, level, msg);
}

/* Forward queued core messages to Python logging (GIL held). */
static void drain_logs(ctl_state *st)
{
    for (;;) {
        int level;
        char msg[LOGQ_MSG];
        unsigned lost = 0;
        pthread_mutex_lock(&logq.lock);
        if (logq.len == 0) {
            lost = logq.lost;
            logq.lost = 0;
            pthread_mutex_unlock(&logq.lock);
            if (lost)
                pylogf(st, CTR_LOG_WARNING, "%u further messages were dropped", lost);
            return;
        }
        level = logq.level[logq.head];
        memcpy(msg, logq.msg[logq.head], LOGQ_MSG);
        logq.head = (logq.head + 1) % LOGQ_CAP;
        logq.len--;
        pthread_mutex_unlock(&logq.lock);
        pylog(st, level, msg);
    }
}

/* ------------------------------------------------------------------------ */
/* Reading Python values.                                                   */
/* ------------------------------------------------------------------------ */

/* Borrowed item of a dict by C-string key, or NULL (no exception). */
static PyObject *dget(PyObject *d, const char *key)
{
    if (!d || !PyDict_Check(d))
        return NULL;
    PyObject *v = PyDict_GetItemString(d, key);
    return v;
}

/* UTF-8 of a str, with lone surrogates replaced; NULL (no exception) for a
 * non-str. The returned object owns the bytes: DECREF it when done. */
static PyObject *utf8_of(PyObject *s, const char **p, Py_ssize_t *n)
{
    if (!s || !PyUnicode_Check(s))
        return NULL;
    PyObject *b = PyUnicode_AsEncodedString(s, "utf-8", "replace");
    if (!b) {
        PyErr_Clear();
        return NULL;
    }
    *p = PyBytes_AS_STRING(b);
    *n = PyBytes_GET_SIZE(b);
    return b;
}

static void set_pystr(struct ctr_span *sp, const char *key, PyObject *v)
{
    const char *p;
    Py_ssize_t n;
    PyObject *b = utf8_of(v, &p, &n);
    if (b) {
        ctr_span_set_str(sp, key, p, (size_t)n);
        Py_DECREF(b);
    }
}

static void set_cstr(struct ctr_span *sp, const char *key, const char *v)
{
    ctr_span_set_str(sp, key, v, strlen(v));
}

/* JSON text of any value (json.dumps with default=str), truncated to
 * OUTPUT_MAX_CHARS characters by the span limits. Sets `key` on the span. */
/*
 * The JSON text of `v` (what json.dumps(v, default=str, ensure_ascii=False)
 * gives), or its repr() when it cannot be encoded. The C encoder is made once:
 * json.dumps would build a new one per call. It is made without a markers
 * dict, so it keeps no state between calls and threads may share it; a
 * circular structure ends in RecursionError and falls back to repr().
 */
static PyObject *json_text(ctl_state *st, PyObject *v)
{
    if (!st->json_dumps) {
        PyObject *cjson = PyImport_ImportModule("_json");
        PyObject *make = cjson ? PyObject_GetAttrString(cjson, "make_encoder") : NULL;
        PyObject *strenc = cjson ? PyObject_GetAttrString(cjson, "encode_basestring") : NULL;
        if (make && strenc)
            st->json_dumps =
                PyObject_CallFunction(make, "OOOOssOOO", Py_None, (PyObject *)&PyUnicode_Type,
                                      strenc, Py_None, ": ", ", ", Py_False, Py_False, Py_True);
        Py_XDECREF(make);
        Py_XDECREF(strenc);
        Py_XDECREF(cjson);
        PyErr_Clear();
    }
    PyObject *text = NULL;
    if (st->json_dumps) {
        PyObject *chunks = PyObject_CallFunction(st->json_dumps, "Oi", v, 0);
        if (chunks) {
            PyObject *empty = PyUnicode_FromString("");
            text = empty ? PyUnicode_Join(empty, chunks) : NULL;
            Py_XDECREF(empty);
            Py_DECREF(chunks);
        }
    }
    if (!text) {
        PyErr_Clear();
        text = PyObject_Repr(v);
    }
    if (!text)
        PyErr_Clear();
    return text;
}

/* JSON text of any value, truncated to OUTPUT_MAX_CHARS characters, set as
 * attribute `key`. */
static void set_json(ctl_state *st, struct ctr_span *sp, const char *key, PyObject *v)
{
    if (!v)
        return;
    PyObject *text = json_text(st, v);
    if (!text)
        return;
    const char *p;
    Py_ssize_t n;
    PyObject *b = utf8_of(text, &p, &n);
    if (b) {
        struct ctr_attr a = {{key, strlen(key)}, {.type = CTR_VALUE_STRING, .u.s = {p, (size_t)n}}};
        /* Cap the length here as well as by the span limits. */
        if (PyUnicode_GET_LENGTH(text) > OUTPUT_MAX_CHARS) {
            PyObject *cut = PyUnicode_Substring(text, 0, OUTPUT_MAX_CHARS);
            const char *cp;
            Py_ssize_t cn;
            PyObject *cb = cut ? utf8_of(cut, &cp, &cn) : NULL;
            if (cb) {
                a.value.u.s.ptr = cp;
                a.value.u.s.len = (size_t)cn;
                ctr_span_set_attr(sp, &a);
                Py_DECREF(cb);
            }
            Py_XDECREF(cut);
            PyErr_Clear();
        } else {
            ctr_span_set_attr(sp, &a);
        }
        Py_DECREF(b);
    }
    Py_DECREF(text);
}

/* A provider value with its ${...} templates filled in as chaoslib will do
 * for the call itself (new reference; the value itself when there is nothing
 * to substitute or chaoslib cannot). */
static PyObject *substituted(ctl_state *st, PyObject *v, PyObject *configuration)
{
    if (!v || !PyUnicode_Check(v))
        return Py_XNewRef(v);
    const char *u = PyUnicode_AsUTF8(v);
    if (!u || !strstr(u, "${")) {
        PyErr_Clear();
        return Py_NewRef(v);
    }
    if (!st->substitute) {
        PyObject *chaoslib = PyImport_ImportModule("chaoslib");
        if (chaoslib) {
            st->substitute = PyObject_GetAttrString(chaoslib, "substitute");
            Py_DECREF(chaoslib);
        }
        if (!st->substitute) {
            PyErr_Clear();
            return Py_NewRef(v);
        }
    }
    PyObject *r = PyObject_CallFunctionObjArgs(
        st->substitute, v, configuration ? configuration : Py_None, Py_None, NULL);
    if (!r || !PyUnicode_Check(r)) {
        PyErr_Clear();
        Py_XDECREF(r);
        return Py_NewRef(v);
    }
    return r;
}

/* url.full with any user:password replaced by REDACTED:REDACTED, as the
 * HTTP semantic conventions require. */
static void set_url(struct ctr_span *sp, PyObject *url)
{
    const char *p;
    Py_ssize_t n;
    PyObject *b = utf8_of(url, &p, &n);
    if (!b)
        return;
    const char *scheme = strstr(p, "://");
    const char *host = scheme ? scheme + 3 : NULL;
    const char *at = NULL;
    for (const char *c = host; c && *c && *c != '/' && *c != '?' && *c != '#'; c++)
        if (*c == '@')
            at = c;
    if (at) {
        struct ctr_buf out = {0};
        ctr_buf_append(&out, p, (size_t)(host - p));
        ctr_buf_puts(&out, "REDACTED:REDACTED");
        ctr_buf_append(&out, at, (size_t)(p + n - at));
        if (!out.err)
            ctr_span_set_str(sp, "url.full", (const char *)out.data, out.len);
        ctr_buf_free(&out);
    } else {
        ctr_span_set_str(sp, "url.full", p, (size_t)n);
    }
    Py_DECREF(b);
}

/* The "tags" list as a string array attribute. */
static void set_str_list(struct ctr_span *sp, const char *key, PyObject *list)
{
    if (!list || !PyList_Check(list))
        return;
    Py_ssize_t n = PyList_GET_SIZE(list);
    if (n <= 0 || n > 1024)
        return;
    struct ctr_value *items = calloc((size_t)n, sizeof *items);
    PyObject **keep = calloc((size_t)n, sizeof *keep);
    size_t m = 0;
    if (items && keep) {
        for (Py_ssize_t i = 0; i < n; i++) {
            const char *p;
            Py_ssize_t len;
            PyObject *b = utf8_of(PyList_GET_ITEM(list, i), &p, &len);
            if (!b)
                continue;
            keep[m] = b;
            items[m].type = CTR_VALUE_STRING;
            items[m].u.s.ptr = p;
            items[m].u.s.len = (size_t)len;
            m++;
        }
        if (m) {
            struct ctr_attr a = {{key, strlen(key)}, {.type = CTR_VALUE_ARRAY}};
            a.value.u.array.items = items;
            a.value.u.array.len = m;
            ctr_span_set_attr(sp, &a);
        }
    }
    for (size_t i = 0; i < m; i++)
        Py_DECREF(keep[i]);
    free(items);
    free(keep);
}

/* Find a keyword argument of a FASTCALL call by name; borrowed or NULL. */
static PyObject *kwarg(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, const char *name)
{
    if (!kwnames)
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *k = PyTuple_GET_ITEM(kwnames, i);
        if (PyUnicode_CompareWithASCIIString(k, name) == 0)
            return args[nargs + i];
    }
    return NULL;
}

/* The context: first positional argument or the "context" keyword. */
static PyObject *context_arg(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs > 0)
        return args[0];
    return kwarg(args, nargs, kwnames, "context");
}

static PyObject *state_arg(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs > 1)
        return args[1];
    return kwarg(args, nargs, kwnames, "state");
}

/* ------------------------------------------------------------------------ */
/* Open spans.                                                              */
/* ------------------------------------------------------------------------ */

static struct open_entry *find_entry(ctl_state *st, enum entry_kind kind, PyObject *ctx,
                                     unsigned long thread)
{
    for (size_t i = 0; i < st->n_open; i++) {
        struct open_entry *e = &st->open[i];
        if (e->kind == kind && e->context == ctx && e->thread == thread && !e->end_ns)
            return e;
    }
    return NULL;
}

/* The innermost hypothesis span open in `thread`, or NULL. */
static struct ctr_span *hypothesis_in_thread(ctl_state *st, unsigned long thread)
{
    for (size_t i = st->n_open; i-- > 0;)
        if (st->open[i].kind == ENTRY_HYPOTHESIS && st->open[i].thread == thread)
            return st->open[i].span;
    return NULL;
}

static struct open_entry *add_entry(ctl_state *st)
{
    if (st->n_open == st->cap_open) {
        size_t cap = st->cap_open ? st->cap_open * 2 : 8;
        struct open_entry *n = realloc(st->open, cap * sizeof *n);
        if (!n)
            return NULL;
        st->open = n;
        st->cap_open = cap;
    }
    struct open_entry *e = &st->open[st->n_open++];
    memset(e, 0, sizeof *e);
    return e;
}

/* Forget the injected header names and saved values. */
static void clear_injected(struct open_entry *e)
{
    for (int i = 0; i < e->n_inj; i++) {
        free(e->inj_name[i]);
        e->inj_name[i] = NULL;
        Py_CLEAR(e->inj_saved[i]);
    }
    e->n_inj = 0;
}

/* Put back the provider headers as they were before injection. */
static void restore_headers(struct open_entry *e, PyObject *provider)
{
    if (!e->headers)
        return;
    for (int i = e->n_inj; i-- > 0;) {
        if (e->inj_saved[i])
            PyDict_SetItemString(e->headers, e->inj_name[i], e->inj_saved[i]);
        else if (PyDict_GetItemString(e->headers, e->inj_name[i]))
            PyDict_DelItemString(e->headers, e->inj_name[i]);
    }
    clear_injected(e);
    if (e->created_headers && provider && PyDict_Check(provider) && PyDict_Size(e->headers) == 0 &&
        PyDict_GetItemString(provider, "headers") == e->headers)
        PyDict_DelItemString(provider, "headers");
    PyErr_Clear();
    Py_CLEAR(e->headers);
}

/* Remove entry `e` (after its span was ended or handed on). */
static void drop_entry(ctl_state *st, struct open_entry *e)
{
    clear_injected(e);
    Py_CLEAR(e->headers);
    Py_CLEAR(e->context);
    size_t idx = (size_t)(e - st->open);
    memmove(&st->open[idx], &st->open[idx + 1], (st->n_open - idx - 1) * sizeof *e);
    st->n_open--;
}

static const struct ctr_span_context *ctx_of(struct ctr_span *s)
{
    return s ? &s->ctx : NULL;
}

static struct ctr_span *start(ctl_state *st, const char *name, size_t nlen, struct ctr_span *parent,
                              ctr_span_kind kind, const char *type)
{
    struct ctr_span *s = ctr_tracer_start_span(st->tracer, name, nlen, ctx_of(parent), kind, 0);
    if (s)
        set_cstr(s, "chaostoolkit.type", type);
    return s;
}

/* ------------------------------------------------------------------------ */
/* configure_control / cleanup_control.                                     */
/* ------------------------------------------------------------------------ */

/* A setting: the control argument `arg` wins over configuration key `conf`.
 * Borrowed, or NULL when neither is given (or both are None). */
static PyObject *setting(PyObject *kwargs, PyObject *configuration, const char *arg,
                         const char *conf, const char **from)
{
    PyObject *v = kwargs ? dget(kwargs, arg) : NULL;
    if (v && v != Py_None) {
        *from = arg;
        return v;
    }
    v = dget(configuration, conf);
    if (v && v != Py_None) {
        *from = conf;
        return v;
    }
    return NULL;
}

/* Log one warning about an ill-typed or unknown setting value. */
static void bad_setting(ctl_state *st, const char *key, PyObject *v, const char *expected)
{
    PyObject *r = PyObject_Repr(v);
    const char *p = "?";
    Py_ssize_t n = 1;
    PyObject *b = r ? utf8_of(r, &p, &n) : NULL;
    if (!r)
        PyErr_Clear();
    pylogf(st, CTR_LOG_WARNING, "%s=%.*s is not %s; tracing is off for this run", key,
           (int)(n > 120 ? 120 : n), p, expected);
    Py_XDECREF(b);
    Py_XDECREF(r);
}

/* The exporters a configuration can name, with the seed README's spellings. */
enum xkind {
    X_OTLP_HTTP,
    X_OTLP_JSON,
    X_OTLP_GRPC,
    X_JAEGER_THRIFT,
    X_JAEGER_GRPC,
    X_ZIPKIN,
    X_FILE,
    X_CONSOLE,
    X_NONE,
};

static const struct {
    const char *name;
    enum xkind kind;
} exporter_names[] = {
    {"otlp-http", X_OTLP_HTTP},
    {"oltp-http", X_OTLP_HTTP},
    {"otlp", X_OTLP_HTTP},
    {"otlp-http-json", X_OTLP_JSON},
    {"otlp-grpc", X_OTLP_GRPC},
    {"oltp-grpc", X_OTLP_GRPC},
    {"jaeger-thrift", X_JAEGER_THRIFT},
    {"jaeger-grpc", X_JAEGER_GRPC},
    {"zipkin", X_ZIPKIN},
    {"file", X_FILE},
    {"console", X_CONSOLE},
    {"none", X_NONE},
};

/* A string setting as UTF-8: 1 with *out (valid while *owner lives; DECREF
 * it), 0 when absent, -1 when ill-typed (logged). */
static int str_setting(ctl_state *st, PyObject *kwargs, PyObject *configuration, const char *arg,
                       const char *conf, const char **out, PyObject **owner, const char *expected)
{
    const char *from = NULL;
    PyObject *v = setting(kwargs, configuration, arg, conf, &from);
    *owner = NULL;
    if (!v)
        return 0;
    Py_ssize_t n;
    PyObject *b = utf8_of(v, out, &n);
    if (!b || (Py_ssize_t)strlen(*out) != n) {
        Py_XDECREF(b);
        bad_setting(st, from, v, expected);
        return -1;
    }
    *owner = b;
    return 1;
}

/* A boolean setting: true/false, or the strings "true"/"false". */
static int bool_setting(ctl_state *st, PyObject *kwargs, PyObject *configuration, const char *arg,
                        const char *conf, bool *out)
{
    const char *from = NULL;
    PyObject *v = setting(kwargs, configuration, arg, conf, &from);
    if (!v)
        return 0;
    if (PyBool_Check(v)) {
        *out = v == Py_True;
        return 1;
    }
    if (PyUnicode_Check(v)) {
        if (PyUnicode_CompareWithASCIIString(v, "true") == 0 ||
            PyUnicode_CompareWithASCIIString(v, "false") == 0) {
            *out = PyUnicode_CompareWithASCIIString(v, "true") == 0;
            return 1;
        }
    }
    bad_setting(st, from, v, "true or false");
    return -1;
}

/* The Jaeger agent address from tracing_host/tracing_port (host/port). */
static int agent_address(ctl_state *st, PyObject *kwargs, PyObject *configuration, char *host,
                         size_t hsize, uint16_t *port)
{
    const char *h = "localhost";
    PyObject *owner = NULL;
    if (str_setting(st, kwargs, configuration, "host", "tracing_host", &h, &owner, "a host name") <
        0)
        return -1;
    snprintf(host, hsize, "%s", h);
    Py_XDECREF(owner);
    *port = 6831;
    const char *from = NULL;
    PyObject *p = setting(kwargs, configuration, "port", "tracing_port", &from);
    if (p) {
        long v = -1;
        if (PyLong_Check(p) && !PyBool_Check(p))
            v = PyLong_AsLong(p);
        else if (PyUnicode_Check(p)) {
            const char *u = PyUnicode_AsUTF8(p);
            char *end = NULL;
            v = u && *u ? strtol(u, &end, 10) : -1;
            if (!end || *end)
                v = -1;
        }
        PyErr_Clear();
        if (v < 1 || v > 65535) {
            bad_setting(st, from, p, "a port number");
            return -1;
        }
        *port = (uint16_t)v;
    }
    return 0;
}

/* Collect the exporter headers: OTEL_EXPORTER_OTLP_[TRACES_]HEADERS,
 * overridden per name by the configured mapping. The arrays and `keep`
 * (owners of the strings) are freed by free_headers(). Returns 0 or -1
 * (logged). */
struct header_set {
    struct ctr_header *h;
    size_t n;
    PyObject **keep;
    size_t nkeep;
};

static void free_headers(struct header_set *hs)
{
    for (size_t i = 0; i < hs->nkeep; i++)
        Py_DECREF(hs->keep[i]);
    free(hs->keep);
    free(hs->h);
    memset(hs, 0, sizeof *hs);
}

static int collect_headers(ctl_state *st, const struct ctr_config *cfg, PyObject *kwargs,
                           PyObject *configuration, struct header_set *hs)
{
    const char *from = NULL;
    memset(hs, 0, sizeof *hs);
    PyObject *hd = setting(kwargs, configuration, "collector_headers",
                           "tracing_opentelemetry_collector_headers", &from);
    if (hd && !PyDict_Check(hd)) {
        bad_setting(st, from, hd, "a mapping of header names to values");
        return -1;
    }
    size_t nh = cfg->n_otlp_headers + (hd ? (size_t)PyDict_Size(hd) : 0);
    hs->h = calloc(nh ? nh : 1, sizeof *hs->h);
    hs->keep = calloc(nh ? nh * 2 : 1, sizeof *hs->keep);
    if (!hs->h || !hs->keep) {
        free_headers(hs);
        return -1;
    }
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    while (hd && PyDict_Next(hd, &pos, &k, &v)) {
        PyObject *vs = PyUnicode_Check(v)                                          ? Py_NewRef(v)
                       : (PyLong_Check(v) || PyFloat_Check(v)) && !PyBool_Check(v) ? PyObject_Str(v)
                                                                                   : NULL;
        const char *kp, *vp;
        Py_ssize_t kn, vn;
        PyObject *kb = PyUnicode_Check(k) ? utf8_of(k, &kp, &kn) : NULL;
        PyObject *vb = vs ? utf8_of(vs, &vp, &vn) : NULL;
        Py_XDECREF(vs);
        if (!kb || !vb) {
            Py_XDECREF(kb);
            Py_XDECREF(vb);
            PyErr_Clear();
            bad_setting(st, from, hd, "a mapping of header names to string values");
            free_headers(hs);
            return -1;
        }
        hs->keep[hs->nkeep++] = kb;
        hs->keep[hs->nkeep++] = vb;
        hs->h[hs->n].name = (char *)kp;
        hs->h[hs->n].value = (char *)vp;
        hs->n++;
    }
    size_t given = hs->n;
    for (size_t i = 0; i < cfg->n_otlp_headers; i++) {
        bool overridden = false;
        for (size_t j = 0; j < given && !overridden; j++)
            overridden = strcasecmp(hs->h[j].name, cfg->otlp_headers[i].name) == 0;
        if (!overridden)
            hs->h[hs->n++] = cfg->otlp_headers[i];
    }
    return 0;
}

/* Which exporter: the jaeger provider's agent, else the configured name,
 * else OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_PROTOCOL. Returns 0 or -1
 * (logged). */
static int choose_exporter(ctl_state *st, const struct ctr_config *cfg, PyObject *kwargs,
                           PyObject *configuration, bool jaeger_provider, enum xkind *kind)
{
    if (jaeger_provider) {
        *kind = X_JAEGER_THRIFT;
        return 0;
    }
    const char *from = NULL;
    PyObject *exp =
        setting(kwargs, configuration, "exporter", "tracing_opentelemetry_exporter", &from);
    if (exp) {
        const char *name = PyUnicode_Check(exp) ? PyUnicode_AsUTF8(exp) : NULL;
        PyErr_Clear();
        for (size_t i = 0; name && i < sizeof exporter_names / sizeof exporter_names[0]; i++) {
            if (strcasecmp(name, exporter_names[i].name) == 0) {
                *kind = exporter_names[i].kind;
                return 0;
            }
        }
        bad_setting(st, from, exp,
                    "one of otlp-http (oltp-http), otlp-grpc (oltp-grpc), jaeger-thrift, "
                    "jaeger-grpc, zipkin, file, console");
        return -1;
    }
    switch (cfg->exporter) {
    case CTR_EXPORTER_CONSOLE:
        *kind = X_CONSOLE;
        break;
    case CTR_EXPORTER_FILE:
        *kind = X_FILE;
        break;
    case CTR_EXPORTER_NONE:
        *kind = X_NONE;
        break;
    case CTR_EXPORTER_ZIPKIN:
        *kind = X_ZIPKIN;
        break;
    default:
        *kind = cfg->protocol == CTR_PROTOCOL_GRPC        ? X_OTLP_GRPC
                : cfg->protocol == CTR_PROTOCOL_HTTP_JSON ? X_OTLP_JSON
                                                          : X_OTLP_HTTP;
    }
    return 0;
}

/* The gRPC endpoint from the environment (used as given), else the default. */
static const char *env_grpc_endpoint(const struct ctr_config *cfg)
{
    if (cfg->otlp_endpoint_set && cfg->protocol == CTR_PROTOCOL_GRPC)
        return cfg->otlp_endpoint;
    const char *v = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    if (!v || !*v)
        v = getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
    return v && *v ? v : "http://localhost:4317";
}

/* Build the exporter from the settings and the environment. Returns 0 with
 * *out set (NULL means "no exporter": spans are made but not exported), or
 * -1 when tracing must stay off (the reason was logged). */
static int make_exporter(ctl_state *st, struct ctr_config *cfg, PyObject *kwargs,
                         PyObject *configuration, bool jaeger_provider, struct ctr_exporter **out)
{
    *out = NULL;
    char err[512] = "";
    enum xkind kind;
    if (choose_exporter(st, cfg, kwargs, configuration, jaeger_provider, &kind) < 0)
        return -1;
    if (kind == X_NONE)
        return 0;

    int rc = 0;
    const char *what = "";
    PyObject *owner = NULL;
    const char *endpoint = NULL;
    struct ctr_tls_options tls = {cfg->otlp_certificate, cfg->otlp_client_certificate,
                                  cfg->otlp_client_key, false};
    switch (kind) {
    case X_CONSOLE:
        what = "stderr";
        rc = ctr_console_exporter_new(NULL, out);
        break;
    case X_FILE: {
        const char *from = NULL;
        PyObject *p =
            setting(kwargs, configuration, "file_path", "tracing_opentelemetry_file_path", &from);
        PyObject *fs = NULL;
        what = DEFAULT_FILE_PATH;
        if (p && ((!PyUnicode_Check(p) && !PyBytes_Check(p)) || !PyUnicode_FSConverter(p, &fs))) {
            PyErr_Clear();
            bad_setting(st, from, p, "a file path");
            return -1;
        }
        if (fs)
            what = PyBytes_AS_STRING(fs);
        rc = ctr_file_exporter_new(what, out, err, sizeof err);
        if (rc)
            pylogf(st, CTR_LOG_WARNING,
                   "cannot write traces to %s: %s; tracing is off for this run", what,
                   err[0] ? err : ctr_strerror(rc));
        Py_XDECREF(fs);
        return rc ? -1 : 0;
    }
    case X_JAEGER_THRIFT: {
        char host[256];
        struct ctr_jaeger_agent_options opt = {0};
        if (agent_address(st, kwargs, configuration, host, sizeof host, &opt.port) < 0)
            return -1;
        opt.host = host;
        what = "the Jaeger agent";
        rc = ctr_jaeger_agent_exporter_new(&opt, out, err, sizeof err);
        break;
    }
    case X_OTLP_HTTP:
    case X_OTLP_JSON:
    case X_OTLP_GRPC:
    case X_JAEGER_GRPC:
    case X_ZIPKIN: {
        if (str_setting(st, kwargs, configuration, "collector_endpoint",
                        "tracing_opentelemetry_collector_endpoint", &endpoint, &owner,
                        "a collector URL") < 0)
            return -1;
        bool insecure = kind == X_OTLP_GRPC && cfg->otlp_insecure;
        if (bool_setting(st, kwargs, configuration, "collector_insecure",
                         "tracing_opentelemetry_collector_endpoint_insecure", &insecure) < 0) {
            Py_XDECREF(owner);
            return -1;
        }
        struct header_set hs;
        if (collect_headers(st, cfg, kwargs, configuration, &hs) < 0) {
            Py_XDECREF(owner);
            return -1;
        }
        if (kind == X_OTLP_HTTP || kind == X_OTLP_JSON) {
            char *url = endpoint ? ctr_otlp_http_traces_url(endpoint)
                                 : strdup(cfg->otlp_endpoint ? cfg->otlp_endpoint
                                                             : "http://localhost:4318/v1/traces");
            if (!url) {
                pylogf(st, CTR_LOG_WARNING,
                       "collector endpoint %.200s is not an http:// or https:// URL; tracing is "
                       "off for this run",
                       endpoint ? endpoint : "");
                free_headers(&hs);
                Py_XDECREF(owner);
                return -1;
            }
            struct ctr_otlp_http_options opt = {
                .url = url,
                .headers = hs.h,
                .n_headers = hs.n,
                .timeout_ms = cfg->otlp_timeout_ms,
                .gzip = cfg->otlp_gzip,
                .json = kind == X_OTLP_JSON,
                .ca_file = tls.ca_file,
                .client_cert = tls.client_cert,
                .client_key = tls.client_key,
            };
            rc = ctr_otlp_http_exporter_new(&opt, out, err, sizeof err);
            if (rc)
                pylogf(st, CTR_LOG_WARNING, "cannot export to %s: %s; tracing is off for this run",
                       url, err[0] ? err : ctr_strerror(rc));
            free(url);
            free_headers(&hs);
            Py_XDECREF(owner);
            return rc ? -1 : 0;
        }
        if (kind == X_OTLP_GRPC) {
            struct ctr_otlp_grpc_options opt = {
                .endpoint = endpoint ? endpoint : env_grpc_endpoint(cfg),
                .insecure = insecure,
                .headers = hs.h,
                .n_headers = hs.n,
                .timeout_ms = cfg->otlp_timeout_ms,
                .gzip = cfg->otlp_gzip,
                .tls = tls,
            };
            what = opt.endpoint;
            rc = ctr_otlp_grpc_exporter_new(&opt, out, err, sizeof err);
        } else if (kind == X_JAEGER_GRPC) {
            struct ctr_jaeger_grpc_options opt = {
                .endpoint = endpoint ? endpoint : "localhost:14250",
                .insecure = insecure,
                .timeout_ms = cfg->otlp_timeout_ms,
                .tls = tls,
            };
            what = opt.endpoint;
            rc = ctr_jaeger_grpc_exporter_new(&opt, out, err, sizeof err);
        } else {
            struct ctr_zipkin_options opt = {
                .url = endpoint ? endpoint : cfg->zipkin_endpoint,
                .timeout_ms = cfg->zipkin_timeout_ms,
                .tls = tls,
            };
            what = opt.url ? opt.url : "Zipkin";
            rc = ctr_zipkin_exporter_new(&opt, out, err, sizeof err);
        }
        if (rc)
            pylogf(st, CTR_LOG_WARNING, "cannot export to %s: %s; tracing is off for this run",
                   what, err[0] ? err : ctr_strerror(rc));
        free_headers(&hs);
        Py_XDECREF(owner);
        return rc ? -1 : 0;
    }
    case X_NONE:
        break;
    }
    if (rc) {
        pylogf(st, CTR_LOG_WARNING, "cannot export to %s: %s; tracing is off for this run", what,
               err[0] ? err : ctr_strerror(rc));
        return -1;
    }
    return 0;
}

/* Propagation formats for HTTP activities: OTEL_PROPAGATORS, or
 * tracing_propagation (propagation): "b3" means the X-B3-* headers as the
 * Jaeger client and upstream's B3Format sent them; the jaeger provider uses
 * uber-trace-id (renamed by tracing_id_name) and uberctx- baggage
 * (baggage_prefix); tracing_opentelemetry_baggage_prefix switches the
 * opentelemetry provider to b3, as upstream did. Returns 0 or -1 (logged). */
static int configure_propagation(ctl_state *st, const struct ctr_config *cfg, PyObject *kwargs,
                                 PyObject *configuration, bool jaeger_provider)
{
    unsigned formats = jaeger_provider ? CTR_PROP_JAEGER : cfg->propagators;
    const char *name = NULL;
    PyObject *owner = NULL;
    if (!jaeger_provider) {
        const char *from = NULL;
        PyObject *bp = setting(kwargs, configuration, "baggage_prefix",
                               "tracing_opentelemetry_baggage_prefix", &from);
        if (bp && PyObject_IsTrue(bp) == 1)
            formats = CTR_PROP_B3MULTI;
        PyErr_Clear();
    }
    int r = str_setting(st, kwargs, configuration, "propagation", "tracing_propagation", &name,
                        &owner, "a propagation name");
    if (r < 0)
        return -1;
    if (r > 0) {
        static const struct {
            const char *name;
            unsigned bits;
        } names[] = {
            {"b3", CTR_PROP_B3MULTI},
            {"b3multi", CTR_PROP_B3MULTI},
            {"b3single", CTR_PROP_B3},
            {"b3-single", CTR_PROP_B3},
            {"jaeger", CTR_PROP_JAEGER},
            {"tracecontext", CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE},
            {"w3c", CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE},
            {"xray", CTR_PROP_XRAY},
        };
        unsigned bits = 0;
        for (size_t i = 0; i < sizeof names / sizeof names[0] && !bits; i++)
            if (strcasecmp(name, names[i].name) == 0)
                bits = names[i].bits;
        if (!bits) {
            pylogf(st, CTR_LOG_WARNING,
                   "tracing_propagation=%.64s is not one of b3, b3single, jaeger, tracecontext, "
                   "xray; using %s",
                   name, jaeger_provider ? "jaeger" : "OTEL_PROPAGATORS");
        } else {
            formats = bits;
        }
        Py_XDECREF(owner);
    }
    ctr_propagation_default(&st->prop, formats);
    if (jaeger_provider) {
        const char *v;
        if (str_setting(st, kwargs, configuration, "id_name", "tracing_id_name", &v, &owner,
                        "a header name") > 0) {
            snprintf(st->prop.jaeger_trace_header, sizeof st->prop.jaeger_trace_header, "%s", v);
            Py_DECREF(owner);
        }
        if (str_setting(st, kwargs, configuration, "baggage_prefix", "baggage_prefix", &v, &owner,
                        "a header prefix") > 0) {
            snprintf(st->prop.jaeger_baggage_prefix, sizeof st->prop.jaeger_baggage_prefix, "%s",
                     v);
            Py_DECREF(owner);
        }
    }
    return 0;
}

/* End the span of entry `e` and forget the entry. A span whose activity or
 * hypothesis never reported its end is marked as not completed. */
static void close_entry(ctl_state *st, struct open_entry *e)
{
    restore_headers(e, e->context ? dget(e->context, "provider") : NULL);
    if (!e->end_ns)
        ctr_span_set_status(e->span, CTR_STATUS_ERROR, "not completed", 13);
    ctr_span_end(e->span, e->end_ns);
    e->span = NULL;
    drop_entry(st, e);
}

/* End every span still open (an interrupted run), children first. */
static void end_open_spans(ctl_state *st)
{
    while (st->n_open)
        close_entry(st, &st->open[st->n_open - 1]);
    struct ctr_span **phases[] = {&st->method, &st->rollbacks, &st->experiment};
    for (size_t i = 0; i < 3; i++) {
        if (*phases[i]) {
            ctr_span_set_status(*phases[i], CTR_STATUS_ERROR, "not completed", 13);
            ctr_span_end(*phases[i], 0);
            *phases[i] = NULL;
        }
    }
}

/* Stop tracing: end open spans, flush by the deadline with the GIL released,
 * log the summary line and free the tracer. */
static void shutdown_tracing(ctl_state *st, bool summary)
{
    struct ctr_tracer *t = st->tracer;
    if (!t) {
        drain_logs(st);
        return;
    }
    end_open_spans(st);
    st->tracer = NULL;
    struct ctr_processor_stats ps;
    Py_BEGIN_ALLOW_THREADS ctr_tracer_shutdown(t, ctr_deadline_after_ms(CLEANUP_DEADLINE_MS));
    ctr_tracer_stats(t, &ps);
    ctr_tracer_free(t);
    Py_END_ALLOW_THREADS drain_logs(st);
    if (summary)
        pylogf(st, CTR_LOG_INFO, "%llu spans exported to %s (%llu dropped, %llu failed exports)",
               (unsigned long long)ps.spans_exported, st->destination,
               (unsigned long long)(ps.spans_dropped + ps.spans_failed),
               (unsigned long long)ps.batches_failed);
    free(st->tracestate);
    free(st->baggage);
    st->tracestate = st->baggage = NULL;
    st->method_seen = false;
}

PyDoc_STRVAR(configure_control_doc,
             "configure_control($module, /, configuration=None, secrets=None, settings=None, "
             "experiment=None, **kwargs)\n--\n\n"
             "Configure tracing for this run from the control arguments, the experiment's\n"
             "configuration and the OTEL_* environment variables, in that order of precedence.");

static PyObject *configure_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                   PyObject *kwnames)
{
    ctl_state *st = get_state(module);
    PyObject *configuration = NULL;
    PyObject *kwargs = PyDict_New();
    if (!kwargs)
        return NULL;
    if (nargs > 0)
        configuration = args[0];
    if (kwnames) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kwnames); i++) {
            PyObject *k = PyTuple_GET_ITEM(kwnames, i);
            if (PyUnicode_CompareWithASCIIString(k, "configuration") == 0)
                configuration = args[nargs + i];
            else if (PyDict_SetItem(kwargs, k, args[nargs + i]) < 0) {
                Py_DECREF(kwargs);
                return NULL;
            }
        }
    }
    if (configuration && !PyDict_Check(configuration))
        configuration = NULL;

    st->configured++;
    if (st->tracer) {
        pylog(st, CTR_LOG_WARNING,
              "the control is declared more than once (settings and experiment?); the first "
              "declaration's configuration is used");
        Py_DECREF(kwargs);
        Py_RETURN_NONE;
    }
    ctr_log_set_sink(logq_push, NULL);

    const char *from = NULL;
    PyObject *prov = setting(kwargs, configuration, "provider", "tracing_provider", &from);
    const char *provider = "noop";
    if (prov) {
        provider = PyUnicode_Check(prov) ? PyUnicode_AsUTF8(prov) : NULL;
        if (!provider) {
            PyErr_Clear();
            bad_setting(st, from, prov, "a string (noop or opentelemetry)");
            Py_DECREF(kwargs);
            Py_RETURN_NONE;
        }
    }
    if (strcasecmp(provider, "noop") == 0) {
        pylog(st, CTR_LOG_DEBUG, "tracing_provider is noop: no spans are recorded");
        Py_DECREF(kwargs);
        Py_RETURN_NONE;
    }
    bool jaeger_provider = strcasecmp(provider, "jaeger") == 0;
    if (!jaeger_provider && strcasecmp(provider, "opentelemetry") != 0) {
        bad_setting(st, from, prov, "one of noop, opentelemetry, jaeger");
        Py_DECREF(kwargs);
        Py_RETURN_NONE;
    }

    struct ctr_config cfg;
    if (ctr_config_from_env(&cfg, NULL, NULL)) {
        ctr_config_free(&cfg);
        Py_DECREF(kwargs);
        return PyErr_NoMemory();
    }
    if (cfg.warnings) {
        char *save = NULL;
        for (char *line = strtok_r(cfg.warnings, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save))
            pylog(st, CTR_LOG_WARNING, line);
    }
    struct ctr_exporter *exporter = NULL;
    if (cfg.sdk_disabled) {
        pylog(st, CTR_LOG_INFO, "OTEL_SDK_DISABLED is true: no spans are recorded");
        ctr_config_free(&cfg);
        Py_DECREF(kwargs);
        Py_RETURN_NONE;
    }
    if (jaeger_provider)
        cfg.sampler = CTR_SAMPLER_ALWAYS_ON; /* the Jaeger client's constant sampler */
    if (configure_propagation(st, &cfg, kwargs, configuration, jaeger_provider) < 0 ||
        make_exporter(st, &cfg, kwargs, configuration, jaeger_provider, &exporter) < 0) {
        ctr_config_free(&cfg);
        Py_DECREF(kwargs);
        drain_logs(st);
        Py_RETURN_NONE;
    }
    snprintf(st->destination, sizeof st->destination, "%s",
             exporter ? exporter->destination : "nowhere");
    struct ctr_tracer *t = NULL;
    int rc = ctr_tracer_new(&cfg, exporter, true, &t);
    ctr_config_free(&cfg);
    Py_DECREF(kwargs);
    if (rc) {
        pylogf(st, CTR_LOG_WARNING, "cannot start tracing: %s", ctr_strerror(rc));
        Py_RETURN_NONE;
    }
    st->tracer = t;
    st->generation++;
    pylogf(st, CTR_LOG_DEBUG, "tracing to %s", st->destination);
    drain_logs(st);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(cleanup_doc, "cleanup_control($module, /)\n--\n\n"
                          "Flush the spans (under 2 s) and log a summary line.");

static PyObject *cleanup_control(PyObject *module, PyObject *unused)
{
    (void)unused;
    ctl_state *st = get_state(module);
    if (st->configured > 0)
        st->configured--;
    if (st->configured == 0)
        shutdown_tracing(st, true);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------ */
/* Experiment, method and rollbacks.                                        */
/* ------------------------------------------------------------------------ */

#define BEFORE_SIG(name)                                                                           \
#name "($module, /, context, configuration=None, secrets=None, **kwargs)\n--\n\n"
#define AFTER_SIG(name)                                                                            \
#name "($module, /, context, state, configuration=None, secrets=None, **kwargs)\n--\n\n"

/* The environment as a carrier: header "x-b3-traceid" is variable
 * X_B3_TRACEID (opentelemetry-specification context/env-carriers.md). */
static const char *env_get(void *ud, const char *name)
{
    (void)ud;
    char var[128];
    size_t n = strlen(name);
    if (n >= sizeof var)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        var[i] = ch == '-' ? '_' : (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
    }
    var[n] = '\0';
    const char *v = getenv(var);
    return v && *v ? v : NULL;
}

/* Extract the parent of the experiment span from the environment (a CI
 * pipeline's trace), keeping its tracestate and baggage for HTTP activities.
 * A malformed TRACEPARENT is logged and ignored. */
static bool env_parent(ctl_state *st, struct ctr_span_context *parent)
{
    char ts[CTR_TRACESTATE_MAX + 1], bag[CTR_BAGGAGE_MAX + 1];
    struct ctr_carrier c = {env_get, NULL, NULL};
    /* Every format may arrive through the environment, whatever we inject. */
    struct ctr_propagation any = st->prop;
    any.formats |= CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE;
    bool ok = ctr_propagation_extract(&any, &c, parent, ts, sizeof ts, bag, sizeof bag) == 0;
    if (!ok) {
        const char *tp = getenv("TRACEPARENT");
        if (tp && *tp)
            pylogf(st, CTR_LOG_WARNING, "TRACEPARENT=%.60s is not a valid W3C traceparent; ignored",
                   tp);
        return false;
    }
    if (ts[0]) {
        st->tracestate = strdup(ts);
        if (st->tracestate) {
            parent->trace_state.ptr = st->tracestate;
            parent->trace_state.len = strlen(ts);
        }
    }
    if (bag[0])
        st->baggage = strdup(bag);
    return true;
}

PyDoc_STRVAR(before_experiment_control_doc,
             BEFORE_SIG(before_experiment_control) "Start the experiment span.");

static PyObject *before_experiment_control(PyObject *module, PyObject *const *args,
                                           Py_ssize_t nargs, PyObject *kwnames)
{
    ctl_state *st = get_state(module);
    drain_logs(st);
    PyObject *ctx = context_arg(args, nargs, kwnames);
    if (!st->tracer || st->experiment || !ctx || !PyDict_Check(ctx))
        Py_RETURN_NONE;

    struct ctr_span_context parent;
    bool has_parent = env_parent(st, &parent);

    PyObject *title = dget(ctx, "title");
    const char *p = "experiment";
    Py_ssize_t n = 10;
    PyObject *tb = utf8_of(title, &p, &n);
    struct ctr_span *s = ctr_tracer_start_span(st->tracer, p, (size_t)n,
                                               has_parent ? &parent : NULL, CTR_KIND_INTERNAL, 0);
    Py_XDECREF(tb);
    if (!s)
        return PyErr_NoMemory();
    set_cstr(s, "chaostoolkit.type", "experiment");
    set_pystr(s, "chaostoolkit.experiment.title", title);
    set_str_list(s, "chaostoolkit.experiment.tags", dget(ctx, "tags"));
    PyObject *contrib = dget(ctx, "contributions");
    if (contrib && PyDict_Check(contrib)) {
        PyObject *k, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(contrib, &pos, &k, &v)) {
            const char *kp;
            Py_ssize_t kn;
            PyObject *kb = utf8_of(k, &kp, &kn);
            if (!kb)
                continue;
            char key[256];
            snprintf(key, sizeof key, "chaostoolkit.experiment.contributions.%.*s", (int)kn, kp);
            if (PyUnicode_Check(v))
                set_pystr(s, key, v);
            else
                set_json(st, s, key, v);
            Py_DECREF(kb);
        }
    }
    st->experiment = s;
    st->experiment_thread = PyThread_get_thread_ident();
    Py_RETURN_NONE;
}

PyDoc_STRVAR(after_experiment_control_doc,
             AFTER_SIG(after_experiment_control) "End the experiment span.");

static PyObject *after_experiment_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                          PyObject *kwnames)
{
    ctl_state *st = get_state(module);
    drain_logs(st);
    struct ctr_span *s = st->experiment;
    if (!s)
        Py_RETURN_NONE;
    /* Anything still open below the experiment ends now. */
    while (st->n_open)
        close_entry(st, &st->open[st->n_open - 1]);
    PyObject *journal = state_arg(args, nargs, kwnames);
    PyObject *status = dget(journal, "status");
    PyObject *deviated = dget(journal, "deviated");
    set_pystr(s, "chaostoolkit.experiment.status", status);
    bool dev = deviated && PyObject_IsTrue(deviated) == 1;
    PyErr_Clear();
    ctr_span_set_bool(s, "chaostoolkit.experiment.deviated", dev);
    const char *sv = status && PyUnicode_Check(status) ? PyUnicode_AsUTF8(status) : NULL;
    PyErr_Clear();
    if (sv && strcmp(sv, "completed") != 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "experiment %.100s", sv);
        ctr_span_set_status(s, CTR_STATUS_ERROR, msg, strlen(msg));
    } else if (dev) {
        ctr_span_set_status(s, CTR_STATUS_ERROR, "experiment deviated", 19);
    }
    if (st->method) {
        ctr_span_end(st->method, 0);
        st->method = NULL;
    }
    if (st->rollbacks) {
        ctr_span_end(st->rollbacks, 0);
        st->rollbacks = NULL;
    }
    ctr_span_end(s, 0);
    st->experiment = NULL;
    Py_RETURN_NONE;
}

/* Start the method or rollbacks span. */
static PyObject *before_phase(PyObject *module, struct ctr_span **slot, const char *name,
                              const char *type)
{
    ctl_state *st = get_state(module);
    drain_logs(st);
    if (!st->tracer || *slot)
        Py_RETURN_NONE;
    *slot = start(st, name, strlen(name), st->experiment, CTR_KIND_INTERNAL, type);
    if (!*slot)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *after_phase(PyObject *module, struct ctr_span **slot)
{
    ctl_state *st = get_state(module);
    drain_logs(st);
    if (*slot) {
        ctr_span_end(*slot, 0);
        *slot = NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(before_method_control_doc, BEFORE_SIG(before_method_control) "Start the method span.");
static PyObject *before_method_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                       PyObject *kwnames)
{
    (void)args, (void)nargs, (void)kwnames;
    ctl_state *st = get_state(module);
    st->method_seen = true;
    return before_phase(module, &st->method, "method", "method");
}

PyDoc_STRVAR(after_method_control_doc, AFTER_SIG(after_method_control) "End the method span.");
static PyObject *after_method_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                      PyObject *kwnames)
{
    (void)args, (void)nargs, (void)kwnames;
    return after_phase(module, &get_state(module)->method);
}

PyDoc_STRVAR(before_rollback_control_doc,
             BEFORE_SIG(before_rollback_control) "Start the rollbacks span.");
static PyObject *before_rollback_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                         PyObject *kwnames)
{
    (void)args, (void)nargs, (void)kwnames;
    ctl_state *st = get_state(module);
    return before_phase(module, &st->rollbacks, "rollbacks", "rollback");
}

PyDoc_STRVAR(after_rollback_control_doc,
             AFTER_SIG(after_rollback_control) "End the rollbacks span.");
static PyObject *after_rollback_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                        PyObject *kwnames)
{
    (void)args, (void)nargs, (void)kwnames;
    return after_phase(module, &get_state(module)->rollbacks);
}

/* ------------------------------------------------------------------------ */
/* Hypothesis.                                                              */
/* ------------------------------------------------------------------------ */

PyDoc_STRVAR(before_hypothesis_control_doc,
             BEFORE_SIG(before_hypothesis_control) "Start a hypothesis span.");

static PyObject *before_hypothesis_control(PyObject *module, PyObject *const *args,
                                           Py_ssize_t nargs, PyObject *kwnames)
{
    ctl_state *st = get_state(module);
    drain_logs(st);
    PyObject *ctx = context_arg(args, nargs, kwnames);
    unsigned long thread = PyThread_get_thread_ident();
    if (!st->tracer || !ctx || find_entry(st, ENTRY_HYPOTHESIS, ctx, thread))
        Py_RETURN_NONE;
    const char *phase = thread != st->experiment_thread ? "continuous"
                        : st->method_seen               ? "after"
                                                        : "before";
    PyObject *title = dget(ctx, "title");
    const char *p = "hypothesis";
    Py_ssize_t n = 10;
    PyObject *tb = utf8_of(title, &p, &n);
    struct ctr_span *s = start(st, p, (size_t)n, st->experiment, CTR_KIND_INTERNAL, "hypothesis");
    Py_XDECREF(tb);
    if (!s)
        return PyErr_NoMemory();
    set_pystr(s, "chaostoolkit.hypothesis.title", title);
    set_cstr(s, "chaostoolkit.hypothesis.phase", phase);
    struct open_entry *e = add_entry(st);
    if (!e) {
        ctr_span_free(s);
        return PyErr_NoMemory();
    }
    e->kind = ENTRY_HYPOTHESIS;
    e->context = Py_NewRef(ctx);
    e->thread = thread;
    e->span = s;
    Py_RETURN_NONE;
}

/* The run that made the hypothesis deviate: the first probe run whose
 * tolerance was not met or that failed, else the last one. Borrowed. */
static PyObject *deviating_run(PyObject *probes)
{
    if (!probes || !PyList_Check(probes) || PyList_GET_SIZE(probes) == 0)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(probes);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *run = PyList_GET_ITEM(probes, i);
        PyObject *tm = dget(run, "tolerance_met");
        PyObject *status = dget(run, "status");
        if (tm == Py_False)
            return run;
        if (status && PyUnicode_Check(status) &&
            PyUnicode_CompareWithASCIIString(status, "failed") == 0)
            return run;
    }
    return PyList_GET_ITEM(probes, n - 1);
}

PyDoc_STRVAR(after_hypothesis_control_doc,
             AFTER_SIG(after_hypothesis_control) "End a hypothesis span.");

static PyObject *after_hypothesis_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                          PyObject *kwnames)
{
    ctl_state *st = get_state(module);
    drain_logs(st);
    PyObject *ctx = context_arg(args, nargs, kwnames);
    struct open_entry *e = find_entry(st, ENTRY_HYPOTHESIS, ctx, PyThread_get_thread_ident());
    if (!e)
        Py_RETURN_NONE;
    struct ctr_span *s = e->span;
    PyObject *state = state_arg(args, nargs, kwnames);
    PyObject *met = dget(state, "steady_state_met");
    if (met == Py_True || met == Py_False)
        ctr_span_set_bool(s, "chaostoolkit.hypothesis.met", met == Py_True);
    if (met == Py_False) {
        ctr_span_set_status(s, CTR_STATUS_ERROR, "steady-state hypothesis deviated", 32);
        PyObject *run = deviating_run(dget(state, "probes"));
        PyObject *activity = dget(run, "activity");
        struct ctr_span *tmp =
            ctr_tracer_start_span(st->tracer, "x", 1, NULL, CTR_KIND_INTERNAL, 0);
        /* Collect the event's attributes on a scratch span, then copy them. */
        if (tmp && tmp->recording) {
            set_pystr(tmp, "chaostoolkit.probe.name", dget(activity, "name"));
            set_json(st, tmp, "chaostoolkit.probe.tolerance", dget(activity, "tolerance"));
            set_json(st, tmp, "chaostoolkit.probe.output", run ? dget(run, "output") : NULL);
            PyObject *status = dget(run, "status");
            set_pystr(tmp, "chaostoolkit.probe.status", status);
            ctr_span_add_event(s, "chaostoolkit.hypothesis.deviated", 32, 0, tmp->attrs.items,
                               tmp->attrs.len);
        } else {
            ctr_span_add_event(s, "chaostoolkit.hypothesis.deviated", 32, 0, NULL, 0);
        }
        ctr_span_free(tmp);
    }
    /* The probes of this hypothesis, in the order they ran, get their
     * tolerance_met from the runs in the same order. */
    PyObject *probes = dget(state, "probes");
    Py_ssize_t nprobes = probes && PyList_Check(probes) ? PyList_GET_SIZE(probes) : 0;
    Py_ssize_t i = 0;
    for (size_t k = 0; k < st->n_open;) {
        struct open_entry *p = &st->open[k];
        if (p->kind != ENTRY_ACTIVITY || p->hypothesis != s) {
            k++;
            continue;
        }
        PyObject *tm = i < nprobes ? dget(PyList_GET_ITEM(probes, i), "tolerance_met") : NULL;
        i++;
        if (p->end_ns && (tm == Py_True || tm == Py_False)) {
            ctr_span_set_bool(p->span, "chaostoolkit.activity.tolerance_met", tm == Py_True);
            /* A failed activity keeps its own error message. */
            if (tm == Py_False && p->span->status == CTR_STATUS_UNSET)
                ctr_span_set_status(p->span, CTR_STATUS_ERROR, "tolerance not met", 17);
        }
        close_entry(st, p); /* removes it: do not advance k */
    }
    e = find_entry(st, ENTRY_HYPOTHESIS, ctx, PyThread_get_thread_ident());
    if (e) {
        e->end_ns = ctr_now_ns();
        close_entry(st, e);
    }
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------ */
/* Activities.                                                              */
/* ------------------------------------------------------------------------ */

/* Carrier over an http provider's headers dict (GIL held): `set` saves what
 * was there the first time a name is set, so restore_headers() can undo it. */
static void headers_set(void *ud, const char *name, const char *value)
{
    struct open_entry *e = ud;
    bool seen = false;
    for (int i = 0; i < e->n_inj && !seen; i++)
        seen = strcmp(e->inj_name[i], name) == 0;
    if (!seen) {
        if (e->n_inj == MAX_INJECTED)
            return;
        char *copy = strdup(name);
        if (!copy)
            return;
        e->inj_name[e->n_inj] = copy;
        e->inj_saved[e->n_inj] = Py_XNewRef(PyDict_GetItemString(e->headers, name));
        e->n_inj++;
    }
    PyObject *v = PyUnicode_FromString(value);
    if (!v || PyDict_SetItemString(e->headers, name, v) < 0)
        PyErr_Clear();
    Py_XDECREF(v);
}

/* Add the propagation headers (traceparent, b3, uber-trace-id... as
 * configured) to an http provider's headers, remembering what was there to
 * put it back afterwards. */
static void inject_headers(ctl_state *st, struct open_entry *e, PyObject *provider,
                           struct ctr_span *s)
{
    PyObject *headers = dget(provider, "headers");
    if (headers && !PyDict_Check(headers))
        return; /* not ours to touch */
    if (!headers) {
        headers = PyDict_New();
        if (!headers || PyDict_SetItemString(provider, "headers", headers) < 0) {
            Py_XDECREF(headers);
            PyErr_Clear();
            return;
        }
        e->created_headers = true;
        e->headers = headers; /* the new reference */
    } else {
        e->headers = Py_NewRef(headers);
    }
    struct ctr_carrier c = {NULL, headers_set, e, NULL}; /* injection only */
    ctr_propagation_inject(&st->prop, &s->ctx, st->baggage, &c);
}

PyDoc_STRVAR(before_activity_control_doc,
             BEFORE_SIG(before_activity_control) "Start an activity span.");

static PyObject *before_activity_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                         PyObject *kwnames)
{
    ctl_state *st = get_state(module);
    drain_logs(st);
    PyObject *ctx = context_arg(args, nargs, kwnames);
    unsigned long thread = PyThread_get_thread_ident();
    if (!st->tracer || !ctx || !PyDict_Check(ctx) || find_entry(st, ENTRY_ACTIVITY, ctx, thread))
        Py_RETURN_NONE;

    struct ctr_span *hypothesis = hypothesis_in_thread(st, thread);
    struct ctr_span *parent = hypothesis;
    if (!parent)
        parent = st->rollbacks ? st->rollbacks : st->method ? st->method : st->experiment;

    PyObject *name = dget(ctx, "name");
    PyObject *provider = dget(ctx, "provider");
    PyObject *ptype = dget(provider, "type");
    bool http =
        ptype && PyUnicode_Check(ptype) && PyUnicode_CompareWithASCIIString(ptype, "http") == 0;
    const char *p = "activity";
    Py_ssize_t n = 8;
    PyObject *nb = utf8_of(name, &p, &n);
    struct ctr_span *s =
        start(st, p, (size_t)n, parent, http ? CTR_KIND_CLIENT : CTR_KIND_INTERNAL, "activity");
    Py_XDECREF(nb);
    if (!s)
        return PyErr_NoMemory();
    set_pystr(s, "chaostoolkit.activity.name", name);
    set_pystr(s, "chaostoolkit.activity.type", dget(ctx, "type"));
    set_pystr(s, "chaostoolkit.activity.provider.type", ptype);
    PyObject *bg = dget(ctx, "background");
    ctr_span_set_bool(s, "chaostoolkit.activity.background", bg && PyObject_IsTrue(bg) == 1);
    PyErr_Clear();
    if (http) {
        PyObject *method = dget(provider, "method");
        PyObject *upper =
            method && PyUnicode_Check(method) ? PyObject_CallMethod(method, "upper", NULL) : NULL;
        PyErr_Clear();
        if (upper)
            set_pystr(s, "http.request.method", upper);
        else
            set_cstr(s, "http.request.method", "GET");
        Py_XDECREF(upper);
        /* Configuration only: secrets never go into a trace. */
        PyObject *url =
            substituted(st, dget(provider, "url"), kwarg(args, nargs, kwnames, "configuration"));
        set_url(s, url);
        Py_XDECREF(url);
    } else if (ptype && PyUnicode_Check(ptype)) {
        set_pystr(s, "chaostoolkit.activity.provider.module", dget(provider, "module"));
        set_pystr(s, "chaostoolkit.activity.provider.func", dget(provider, "func"));
        set_pystr(s, "chaostoolkit.activity.provider.path", dget(provider, "path"));
    }

    struct open_entry *e = add_entry(st);
    if (!e) {
        ctr_span_free(s);
        return PyErr_NoMemory();
    }
    e->kind = ENTRY_ACTIVITY;
    e->context = Py_NewRef(ctx);
    e->thread = thread;
    e->span = s;
    e->hypothesis = hypothesis;
    if (http && PyDict_Check(provider))
        inject_headers(st, e, provider, s);
    Py_RETURN_NONE;
}

/* Record a failed run: ERROR status and an "exception" event. */
static void record_failure(struct ctr_span *s, PyObject *run)
{
    PyObject *exc = dget(run, "exception");
    PyObject *joined = NULL;
    if (exc && PyList_Check(exc)) {
        PyObject *empty = PyUnicode_FromString("");
        joined = empty ? PyUnicode_Join(empty, exc) : NULL;
        Py_XDECREF(empty);
        PyErr_Clear();
    } else if (exc && PyUnicode_Check(exc)) {
        joined = Py_NewRef(exc);
    }
    const char *trace = "", *last = "activity failed";
    Py_ssize_t tn = 0;
    PyObject *tb = utf8_of(joined, &trace, &tn);
    /* The exception's last line: "module.Type: message". */
    char line[1024] = "activity failed";
    if (tb && tn) {
        Py_ssize_t end = tn;
        while (end > 0 && (trace[end - 1] == '\n' || trace[end - 1] == ' '))
            end--;
        Py_ssize_t begin = end;
        while (begin > 0 && trace[begin - 1] != '\n')
            begin--;
        snprintf(line, sizeof line, "%.*s", (int)(end - begin), trace + begin);
    }
    last = line;
    const char *colon = strstr(last, ": ");
    char type[256] = "ActivityFailed";
    const char *message = last;
    if (colon && (size_t)(colon - last) < sizeof type) {
        snprintf(type, sizeof type, "%.*s", (int)(colon - last), last);
        message = colon + 2;
    }
    ctr_span_set_status(s, CTR_STATUS_ERROR, message, strlen(message));
    struct ctr_attr attrs[3] = {
        {{"exception.type", 14}, {.type = CTR_VALUE_STRING, .u.s = {type, strlen(type)}}},
        {{"exception.message", 17}, {.type = CTR_VALUE_STRING, .u.s = {message, strlen(message)}}},
        {{"exception.stacktrace", 20}, {.type = CTR_VALUE_STRING, .u.s = {trace, (size_t)tn}}},
    };
    ctr_span_add_event(s, "exception", 9, 0, attrs, tn ? 3 : 2);
    Py_XDECREF(tb);
    Py_XDECREF(joined);
}

PyDoc_STRVAR(after_activity_control_doc, AFTER_SIG(after_activity_control) "End an activity span.");

static PyObject *after_activity_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                        PyObject *kwnames)
{
    ctl_state *st = get_state(module);
    drain_logs(st);
    PyObject *ctx = context_arg(args, nargs, kwnames);
    struct open_entry *e = find_entry(st, ENTRY_ACTIVITY, ctx, PyThread_get_thread_ident());
    if (!e)
        Py_RETURN_NONE;
    struct ctr_span *s = e->span;
    PyObject *provider = dget(ctx, "provider");
    restore_headers(e, provider);
    PyObject *run = state_arg(args, nargs, kwnames);
    PyObject *status = dget(run, "status");
    set_pystr(s, "chaostoolkit.activity.status", status);
    PyObject *output = dget(run, "output");
    if (output)
        set_json(st, s, "chaostoolkit.activity.output", output);
    if (s->kind == CTR_KIND_CLIENT) {
        PyObject *code = dget(output, "status");
        if (code && PyLong_Check(code) && !PyBool_Check(code)) {
            long long c = PyLong_AsLongLong(code);
            PyErr_Clear();
            ctr_span_set_int(s, "http.response.status_code", c);
            if (c >= 400 && c <= 599) {
                char msg[32];
                snprintf(msg, sizeof msg, "HTTP %lld", c);
                ctr_span_set_status(s, CTR_STATUS_ERROR, msg, strlen(msg));
            }
        }
    }
    if (status && PyUnicode_Check(status) &&
        PyUnicode_CompareWithASCIIString(status, "failed") == 0)
        record_failure(s, run);
    e->end_ns = ctr_now_ns();
    if (!e->hypothesis)
        close_entry(st, e); /* probes end with their hypothesis */
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------ */
/* The span API for other extensions.                                       */
/* ------------------------------------------------------------------------ */

/*
 * A span started by extension code with start_span(). It wraps a core span
 * until end(); a span made while tracing is off wraps nothing and every
 * method is a no-op, so extensions never need to check. A span that outlives
 * the tracer that made it (ended after cleanup_control) is discarded, never
 * handed to a freed processor: `generation` tells.
 */
typedef struct {
    PyObject_HEAD struct ctr_span *span; /* NULL when ended or not recording */
    struct ctr_span_context ctx;         /* kept for trace_id/inject after end */
    PyObject *module;
    uint64_t generation;
} SpanObject;

/* Set one attribute from a Python value: bool, int, float, str, bytes, a
 * list/tuple of one of those, else its str(). Returns 0 or -1 (TypeError for
 * a non-str key). */
static int set_pyattr(struct ctr_span *sp, PyObject *key, PyObject *value)
{
    const char *k;
    Py_ssize_t kn;
    PyObject *kb = utf8_of(key, &k, &kn);
    if (!kb) {
        PyErr_SetString(PyExc_TypeError, "attribute keys must be str");
        return -1;
    }
    struct ctr_attr a = {{k, (size_t)kn}, {0}};
    PyObject *owner = NULL;
    struct ctr_value *items = NULL;
    PyObject **keep = NULL;
    Py_ssize_t nkeep = 0;
    if (PyBool_Check(value)) {
        a.value.type = CTR_VALUE_BOOL;
        a.value.u.b = value == Py_True;
    } else if (PyLong_Check(value)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (overflow) {
            owner = PyObject_Str(value);
        } else {
            a.value.type = CTR_VALUE_INT;
            a.value.u.i = v;
        }
    } else if (PyFloat_Check(value)) {
        a.value.type = CTR_VALUE_DOUBLE;
        a.value.u.d = PyFloat_AS_DOUBLE(value);
    } else if (PyBytes_Check(value)) {
        a.value.type = CTR_VALUE_BYTES;
        a.value.u.s.ptr = PyBytes_AS_STRING(value);
        a.value.u.s.len = (size_t)PyBytes_GET_SIZE(value);
    } else if ((PyList_Check(value) || PyTuple_Check(value)) &&
               PySequence_Fast_GET_SIZE(value) > 0 && PySequence_Fast_GET_SIZE(value) <= 1024) {
        Py_ssize_t n = PySequence_Fast_GET_SIZE(value);
        PyObject **src = PySequence_Fast_ITEMS(value);
        items = calloc((size_t)n, sizeof *items);
        keep = calloc((size_t)n, sizeof *keep);
        if (!items || !keep) {
            free(items);
            free(keep);
            Py_DECREF(kb);
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *it = src[i];
            if (PyBool_Check(it)) {
                items[i].type = CTR_VALUE_BOOL;
                items[i].u.b = it == Py_True;
            } else if (PyLong_Check(it)) {
                items[i].type = CTR_VALUE_INT;
                items[i].u.i = PyLong_AsLongLong(it);
            } else if (PyFloat_Check(it)) {
                items[i].type = CTR_VALUE_DOUBLE;
                items[i].u.d = PyFloat_AS_DOUBLE(it);
            } else {
                PyObject *str = PyUnicode_Check(it) ? Py_NewRef(it) : PyObject_Str(it);
                const char *p = "";
                Py_ssize_t len = 0;
                keep[nkeep] = str ? utf8_of(str, &p, &len) : NULL;
                Py_XDECREF(str);
                if (keep[nkeep])
                    nkeep++;
                items[i].type = CTR_VALUE_STRING;
                items[i].u.s.ptr = p;
                items[i].u.s.len = (size_t)len;
            }
            if (items[i].type != items[0].type) /* mixed: stringify the whole list */
                break;
        }
        PyErr_Clear();
        bool mixed = false;
        for (Py_ssize_t i = 1; i < n; i++)
            mixed |= items[i].type != items[0].type;
        if (mixed) {
            owner = PyObject_Str(value);
        } else {
            a.value.type = CTR_VALUE_ARRAY;
            a.value.u.array.items = items;
            a.value.u.array.len = (size_t)n;
        }
    } else {
        owner = PyUnicode_Check(value) ? Py_NewRef(value) : PyObject_Str(value);
    }
    PyObject *ob = NULL;
    if (owner) {
        const char *p;
        Py_ssize_t n;
        ob = utf8_of(owner, &p, &n);
        if (ob) {
            a.value.type = CTR_VALUE_STRING;
            a.value.u.s.ptr = p;
            a.value.u.s.len = (size_t)n;
        }
    }
    PyErr_Clear();
    if (a.value.type != CTR_VALUE_EMPTY)
        ctr_span_set_attr(sp, &a);
    for (Py_ssize_t i = 0; i < nkeep; i++)
        Py_DECREF(keep[i]);
    free(keep);
    free(items);
    Py_XDECREF(ob);
    Py_XDECREF(owner);
    Py_DECREF(kb);
    return 0;
}

/* Copy a mapping's items as attributes onto a scratch span's list, then call
 * `apply` with them; used for events. Returns 0 or -1. */
static int set_pyattrs(struct ctr_span *sp, PyObject *mapping)
{
    if (!mapping || mapping == Py_None)
        return 0;
    if (!PyDict_Check(mapping)) {
        PyErr_SetString(PyExc_TypeError, "attributes must be a dict");
        return -1;
    }
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    while (PyDict_Next(mapping, &pos, &k, &v))
        if (set_pyattr(sp, k, v) < 0)
            return -1;
    return 0;
}

static int span_traverse(SpanObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->module);
    return 0;
}

static int span_clear(SpanObject *self)
{
    Py_CLEAR(self->module);
    return 0;
}

/* Hand the span to the tracer that made it, or discard it when that tracer
 * is gone. */
static void span_finish(SpanObject *self)
{
    struct ctr_span *sp = self->span;
    if (!sp)
        return;
    self->span = NULL;
    ctl_state *st = self->module ? get_state(self->module) : NULL;
    if (st && st->tracer && st->generation == self->generation && sp->tracer == st->tracer)
        ctr_span_end(sp, 0);
    else
        ctr_span_free(sp);
}

static void span_dealloc(SpanObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    ctr_span_free(self->span); /* never ended: not exported, as in OpenTelemetry */
    self->span = NULL;
    span_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

PyDoc_STRVAR(span_set_attribute_doc, "set_attribute($self, key, value, /)\n--\n\n"
                                     "Set an attribute (bool, int, float, str, bytes or a list of "
                                     "one of those; anything else is stored as its str()).");
static PyObject *span_set_attribute(SpanObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "set_attribute(key, value)");
        return NULL;
    }
    if (self->span && set_pyattr(self->span, args[0], args[1]) < 0)
        return NULL;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(span_set_attributes_doc, "set_attributes($self, attributes, /)\n--\n\n"
                                      "Set every item of a dict as an attribute.");
static PyObject *span_set_attributes(SpanObject *self, PyObject *mapping)
{
    if (self->span && set_pyattrs(self->span, mapping) < 0)
        return NULL;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(span_add_event_doc, "add_event($self, /, name, attributes=None)\n--\n\n"
                                 "Add a timestamped event with optional attributes.");
static PyObject *span_add_event(SpanObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"name", "attributes", NULL};
    const char *name;
    Py_ssize_t nlen;
    PyObject *attrs = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s#|O", kwlist, &name, &nlen, &attrs))
        return NULL;
    if (!self->span)
        Py_RETURN_NONE;
    /* Collect the attributes on a scratch span so they get the same
     * conversions and limits, then copy them into the event. */
    ctl_state *st = get_state(self->module);
    struct ctr_span *tmp =
        st->tracer ? ctr_tracer_start_span(st->tracer, "e", 1, NULL, CTR_KIND_INTERNAL, 0) : NULL;
    if (tmp && tmp->recording && set_pyattrs(tmp, attrs) < 0) {
        ctr_span_free(tmp);
        return NULL;
    }
    if (tmp && tmp->recording)
        ctr_span_add_event(self->span, name, (size_t)nlen, 0, tmp->attrs.items, tmp->attrs.len);
    else
        ctr_span_add_event(self->span, name, (size_t)nlen, 0, NULL, 0);
    ctr_span_free(tmp);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(span_set_status_doc, "set_status($self, /, status, description=None)\n--\n\n"
                                  "Set the status: \"ok\", \"error\" or \"unset\".");
static PyObject *span_set_status(SpanObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"status", "description", NULL};
    const char *status;
    const char *desc = NULL;
    Py_ssize_t dlen = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|z#", kwlist, &status, &desc, &dlen))
        return NULL;
    ctr_status_code code;
    if (strcasecmp(status, "ok") == 0)
        code = CTR_STATUS_OK;
    else if (strcasecmp(status, "error") == 0)
        code = CTR_STATUS_ERROR;
    else if (strcasecmp(status, "unset") == 0)
        code = CTR_STATUS_UNSET;
    else {
        PyErr_Format(PyExc_ValueError, "status must be \"ok\", \"error\" or \"unset\", not %R",
                     PyTuple_GET_ITEM(args, 0));
        return NULL;
    }
    if (self->span)
        ctr_span_set_status(self->span, code, desc, desc ? (size_t)dlen : 0);
    Py_RETURN_NONE;
}

/* Record `exc` as an "exception" event (type, message, stack trace). */
static void record_pyexception(SpanObject *self, PyObject *exc)
{
    if (!self->span || !exc || exc == Py_None)
        return;
    PyObject *type = PyObject_GetAttrString((PyObject *)Py_TYPE(exc), "__qualname__");
    PyObject *msg = PyObject_Str(exc);
    PyObject *trace = NULL;
    PyObject *tbmod = PyImport_ImportModule("traceback");
    if (tbmod) {
        PyObject *lines = PyObject_CallMethod(tbmod, "format_exception", "O", exc);
        PyObject *empty = PyUnicode_FromString("");
        if (lines && empty)
            trace = PyUnicode_Join(empty, lines);
        Py_XDECREF(lines);
        Py_XDECREF(empty);
        Py_DECREF(tbmod);
    }
    PyErr_Clear();
    const char *tp = "Exception", *mp = "", *trp = "";
    Py_ssize_t tn = 9, mn = 0, trn = 0;
    PyObject *tb = utf8_of(type, &tp, &tn), *mb = utf8_of(msg, &mp, &mn),
             *trb = utf8_of(trace, &trp, &trn);
    struct ctr_attr attrs[3] = {
        {{"exception.type", 14}, {.type = CTR_VALUE_STRING, .u.s = {tp, (size_t)tn}}},
        {{"exception.message", 17}, {.type = CTR_VALUE_STRING, .u.s = {mp, (size_t)mn}}},
        {{"exception.stacktrace", 20}, {.type = CTR_VALUE_STRING, .u.s = {trp, (size_t)trn}}},
    };
    ctr_span_add_event(self->span, "exception", 9, 0, attrs, trn ? 3 : 2);
    ctr_span_set_status(self->span, CTR_STATUS_ERROR, mp, (size_t)mn);
    Py_XDECREF(tb);
    Py_XDECREF(mb);
    Py_XDECREF(trb);
    Py_XDECREF(type);
    Py_XDECREF(msg);
    Py_XDECREF(trace);
}

PyDoc_STRVAR(span_record_exception_doc, "record_exception($self, exception, /)\n--\n\n"
                                        "Add an \"exception\" event and set the status to error.");
static PyObject *span_record_exception(SpanObject *self, PyObject *exc)
{
    if (!PyExceptionInstance_Check(exc)) {
        PyErr_SetString(PyExc_TypeError, "record_exception() wants an exception instance");
        return NULL;
    }
    record_pyexception(self, exc);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(span_end_doc, "end($self, /)\n--\n\nEnd the span; it is exported in the background. "
                           "Ending twice does nothing.");
static PyObject *span_end(SpanObject *self, PyObject *unused)
{
    (void)unused;
    span_finish(self);
    Py_RETURN_NONE;
}

static PyObject *span_enter(SpanObject *self, PyObject *unused)
{
    (void)unused;
    return Py_NewRef(self);
}

static PyObject *span_exit(SpanObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs >= 2 && args[1] != Py_None)
        record_pyexception(self, args[1]);
    span_finish(self);
    Py_RETURN_FALSE;
}

/* Carrier setting items of a Python dict. */
static void dict_set(void *ud, const char *name, const char *value)
{
    PyObject *v = PyUnicode_FromString(value);
    if (!v || PyDict_SetItemString((PyObject *)ud, name, v) < 0)
        PyErr_Clear();
    Py_XDECREF(v);
}

PyDoc_STRVAR(span_inject_doc,
             "inject($self, headers, /)\n--\n\n"
             "Add this span's propagation headers (the formats the control is configured\n"
             "with: traceparent by default) to a dict of HTTP headers, and return it.");
static PyObject *span_inject(SpanObject *self, PyObject *headers)
{
    if (!PyDict_Check(headers)) {
        PyErr_SetString(PyExc_TypeError, "inject() wants a dict of headers");
        return NULL;
    }
    ctl_state *st = get_state(self->module);
    if (ctr_span_context_is_valid(&self->ctx)) {
        struct ctr_carrier c = {NULL, dict_set, headers, NULL};
        struct ctr_propagation dflt;
        const struct ctr_propagation *p = &st->prop;
        if (!st->prop.formats) {
            ctr_propagation_default(&dflt, CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE);
            p = &dflt;
        }
        ctr_propagation_inject(p, &self->ctx, st->baggage, &c);
    }
    return Py_NewRef(headers);
}

static PyObject *span_get_trace_id(SpanObject *self, void *unused)
{
    (void)unused;
    char hex[2 * CTR_TRACE_ID_LEN + 1];
    ctr_hex_encode(self->ctx.trace_id, CTR_TRACE_ID_LEN, hex);
    return PyUnicode_FromString(hex);
}

static PyObject *span_get_span_id(SpanObject *self, void *unused)
{
    (void)unused;
    char hex[2 * CTR_SPAN_ID_LEN + 1];
    ctr_hex_encode(self->ctx.span_id, CTR_SPAN_ID_LEN, hex);
    return PyUnicode_FromString(hex);
}

static PyObject *span_get_recording(SpanObject *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(self->span && self->span->recording);
}

static PyMethodDef span_methods[] = {
    {"set_attribute", (PyCFunction)(void (*)(void))span_set_attribute, METH_FASTCALL,
     span_set_attribute_doc},
    {"set_attributes", (PyCFunction)span_set_attributes, METH_O, span_set_attributes_doc},
    {"add_event", (PyCFunction)(void (*)(void))span_add_event, METH_VARARGS | METH_KEYWORDS,
     span_add_event_doc},
    {"set_status", (PyCFunction)(void (*)(void))span_set_status, METH_VARARGS | METH_KEYWORDS,
     span_set_status_doc},
    {"record_exception", (PyCFunction)span_record_exception, METH_O, span_record_exception_doc},
    {"inject", (PyCFunction)span_inject, METH_O, span_inject_doc},
    {"end", (PyCFunction)span_end, METH_NOARGS, span_end_doc},
    {"__enter__", (PyCFunction)span_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))span_exit, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef span_getset[] = {
    {"trace_id", (getter)span_get_trace_id, NULL, "The trace id, 32 hex digits.", NULL},
    {"span_id", (getter)span_get_span_id, NULL, "The span id, 16 hex digits.", NULL},
    {"is_recording", (getter)span_get_recording, NULL, "False when tracing is off.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot span_slots[] = {
    {Py_tp_dealloc, span_dealloc},
    {Py_tp_traverse, span_traverse},
    {Py_tp_clear, span_clear},
    {Py_tp_methods, span_methods},
    {Py_tp_getset, span_getset},
    {Py_tp_doc, "A span started by start_span(); use it as a context manager or call end()."},
    {0, NULL},
};

static PyType_Spec span_spec = {
    .name = "chaostracing.control.Span",
    .basicsize = sizeof(SpanObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = span_slots,
};

/* The parent for a span started by extension code in this thread: the open
 * activity of this thread, else its hypothesis, else the current phase. */
static struct ctr_span *current_parent(ctl_state *st)
{
    unsigned long thread = PyThread_get_thread_ident();
    for (size_t i = st->n_open; i-- > 0;) {
        struct open_entry *e = &st->open[i];
        if (e->thread == thread && !e->end_ns)
            return e->span;
    }
    return st->rollbacks ? st->rollbacks : st->method ? st->method : st->experiment;
}

PyDoc_STRVAR(start_span_doc,
             "start_span($module, /, name, attributes=None, kind='internal')\n--\n\n"
             "Start a span, child of the activity running in this thread (or of the\n"
             "current phase). kind: internal, client, server, producer or consumer.\n"
             "When tracing is off the span records nothing, so callers need no check.");

static PyObject *start_span(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"name", "attributes", "kind", NULL};
    const char *name;
    Py_ssize_t nlen;
    PyObject *attrs = NULL;
    const char *kind_name = "internal";
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s#|Os", kwlist, &name, &nlen, &attrs,
                                     &kind_name))
        return NULL;
    int kind = -1;
    for (int k = CTR_KIND_INTERNAL; k <= CTR_KIND_CONSUMER; k++)
        if (strcasecmp(kind_name, ctr_span_kind_name((ctr_span_kind)k)) == 0)
            kind = k;
    if (kind < 0) {
        PyErr_Format(PyExc_ValueError,
                     "kind must be internal, client, server, producer or consumer");
        return NULL;
    }
    ctl_state *st = get_state(module);
    SpanObject *self = PyObject_GC_New(SpanObject, (PyTypeObject *)st->span_type);
    if (!self)
        return NULL;
    self->span = NULL;
    memset(&self->ctx, 0, sizeof self->ctx);
    self->module = Py_NewRef(module);
    self->generation = st->generation;
    PyObject_GC_Track(self);
    if (st->tracer) {
        struct ctr_span *parent = current_parent(st);
        struct ctr_span *sp = ctr_tracer_start_span(st->tracer, name, (size_t)nlen, ctx_of(parent),
                                                    (ctr_span_kind)kind, 0);
        if (!sp) {
            Py_DECREF(self);
            return PyErr_NoMemory();
        }
        self->ctx = sp->ctx;
        self->ctx.trace_state.ptr = NULL;
        self->ctx.trace_state.len = 0;
        if (sp->recording) {
            self->span = sp;
            if (set_pyattrs(sp, attrs) < 0) {
                Py_DECREF(self);
                return NULL;
            }
        } else {
            ctr_span_free(sp);
        }
    }
    return (PyObject *)self;
}

/* ------------------------------------------------------------------------ */
/* Hooks with a ready signature.                                            */
/* ------------------------------------------------------------------------ */

/*
 * chaoslib calls inspect.signature() on a hook before every call. For a C
 * function that means parsing __text_signature__ with ast each time (about
 * 70 µs, two orders of magnitude more than the hook itself). So each hook is
 * exposed as a Hook: a vectorcall object forwarding to the C function, whose
 * __signature__ is computed once and then handed out, which
 * inspect.signature() returns at once. It deliberately has no __wrapped__.
 */
typedef struct {
    PyObject_HEAD vectorcallfunc vectorcall;
    PyObject *func; /* the builtin function */
    PyObject *sig;  /* inspect.Signature, lazily */
} HookObject;

static PyObject *hook_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                                 PyObject *kwnames)
{
    return PyObject_Vectorcall(((HookObject *)callable)->func, args, nargsf, kwnames);
}

static int hook_traverse(HookObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->func);
    Py_VISIT(self->sig);
    return 0;
}

static int hook_clear(HookObject *self)
{
    Py_CLEAR(self->func);
    Py_CLEAR(self->sig);
    return 0;
}

static void hook_dealloc(HookObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    hook_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *hook_get_signature(HookObject *self, void *unused)
{
    (void)unused;
    if (!self->sig) {
        PyObject *inspect = PyImport_ImportModule("inspect");
        if (!inspect)
            return NULL;
        self->sig = PyObject_CallMethod(inspect, "signature", "O", self->func);
        Py_DECREF(inspect);
        if (!self->sig)
            return NULL;
    }
    return Py_NewRef(self->sig);
}

/* __name__, __qualname__, __doc__ and __text_signature__ of the function. */
static PyObject *hook_get_attr(HookObject *self, void *name)
{
    return PyObject_GetAttrString(self->func, (const char *)name);
}

static PyObject *hook_repr(HookObject *self)
{
    return PyUnicode_FromFormat("<chaostracing hook %R>", self->func);
}

static PyMemberDef hook_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(HookObject, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef hook_getset[] = {
    {"__signature__", (getter)hook_get_signature, NULL, NULL, NULL},
    {"__name__", (getter)hook_get_attr, NULL, NULL, "__name__"},
    {"__qualname__", (getter)hook_get_attr, NULL, NULL, "__qualname__"},
    {"__doc__", (getter)hook_get_attr, NULL, NULL, "__doc__"},
    {"__text_signature__", (getter)hook_get_attr, NULL, NULL, "__text_signature__"},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot hook_slots[] = {
    {Py_tp_dealloc, hook_dealloc}, {Py_tp_traverse, hook_traverse},
    {Py_tp_clear, hook_clear},     {Py_tp_call, PyVectorcall_Call},
    {Py_tp_repr, hook_repr},       {Py_tp_members, hook_members},
    {Py_tp_getset, hook_getset},   {0, NULL},
};

static PyType_Spec hook_spec = {
    .name = "chaostracing.control.Hook",
    .basicsize = sizeof(HookObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
             Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = hook_slots,
};

/* ------------------------------------------------------------------------ */
/* Module definition.                                                       */
/* ------------------------------------------------------------------------ */

#define HOOK(name)                                                                                 \
    {                                                                                              \
#name, (PyCFunction)(void (*)(void))name, METH_FASTCALL | METH_KEYWORDS, name##_doc        \
    }

/* The Chaos Toolkit hooks, exposed as Hook objects by control_exec(). */
static PyMethodDef hook_defs[] = {
    HOOK(configure_control),         {"cleanup_control", cleanup_control, METH_NOARGS, cleanup_doc},
    HOOK(before_experiment_control), HOOK(after_experiment_control),
    HOOK(before_hypothesis_control), HOOK(after_hypothesis_control),
    HOOK(before_method_control),     HOOK(after_method_control),
    HOOK(before_rollback_control),   HOOK(after_rollback_control),
    HOOK(before_activity_control),   HOOK(after_activity_control),
    {NULL, NULL, 0, NULL},
};

static PyMethodDef control_methods[] = {
    {"start_span", (PyCFunction)(void (*)(void))start_span, METH_VARARGS | METH_KEYWORDS,
     start_span_doc},
    {NULL, NULL, 0, NULL},
};

static int control_exec(PyObject *module)
{
    static int atfork_done;
    if (!atfork_done) {
        pthread_atfork(logq_prepare, logq_release, logq_child);
        atfork_done = 1;
    }
    ctl_state *st = get_state(module);
    memset(st, 0, sizeof *st);
    if (PyModule_AddStringConstant(module, "__version__", CTR_VERSION) < 0)
        return -1;
    st->span_type = PyType_FromModuleAndSpec(module, &span_spec, NULL);
    if (!st->span_type || PyModule_AddObjectRef(module, "Span", st->span_type) < 0)
        return -1;
    st->hook_type = PyType_FromModuleAndSpec(module, &hook_spec, NULL);
    if (!st->hook_type)
        return -1;
    PyObject *modname = PyModule_GetNameObject(module);
    if (!modname)
        return -1;
    for (PyMethodDef *def = hook_defs; def->ml_name; def++) {
        HookObject *h = PyObject_GC_New(HookObject, (PyTypeObject *)st->hook_type);
        if (!h) {
            Py_DECREF(modname);
            return -1;
        }
        h->vectorcall = hook_vectorcall;
        h->sig = NULL;
        h->func = PyCFunction_NewEx(def, module, modname);
        PyObject_GC_Track(h);
        if (!h->func || PyModule_AddObjectRef(module, def->ml_name, (PyObject *)h) < 0) {
            Py_DECREF(h);
            Py_DECREF(modname);
            return -1;
        }
        Py_DECREF(h);
    }
    Py_DECREF(modname);
    return 0;
}

static int control_traverse(PyObject *module, visitproc visit, void *arg)
{
    ctl_state *st = get_state(module);
    if (!st)
        return 0;
    Py_VISIT(st->logger);
    Py_VISIT(st->json_dumps);
    Py_VISIT(st->substitute);
    Py_VISIT(st->span_type);
    Py_VISIT(st->hook_type);
    for (size_t i = 0; i < st->n_open; i++) {
        Py_VISIT(st->open[i].context);
        Py_VISIT(st->open[i].headers);
    }
    return 0;
}

static int control_clear(PyObject *module)
{
    ctl_state *st = get_state(module);
    if (!st)
        return 0;
    Py_CLEAR(st->logger);
    Py_CLEAR(st->json_dumps);
    Py_CLEAR(st->substitute);
    Py_CLEAR(st->span_type);
    Py_CLEAR(st->hook_type);
    return 0;
}

static void control_free(void *module)
{
    ctl_state *st = get_state((PyObject *)module);
    if (!st)
        return;
    if (st->tracer) {
        ctr_tracer_free(st->tracer); /* zero deadline: never waits at exit */
        st->tracer = NULL;
    }
    while (st->n_open)
        drop_entry(st, &st->open[st->n_open - 1]);
    free(st->open);
    free(st->tracestate);
    free(st->baggage);
    control_clear((PyObject *)module);
}

static PyModuleDef_Slot control_slots[] = {
    {Py_mod_exec, control_exec},
    {0, NULL},
};

static struct PyModuleDef control_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "chaostracing.control",
    .m_doc = "The chaostracing control for the Chaos Toolkit: one span per experiment, phase and "
             "activity, exported by the chaostracing C library.",
    .m_size = sizeof(ctl_state),
    .m_methods = control_methods,
    .m_slots = control_slots,
    .m_traverse = control_traverse,
    .m_clear = control_clear,
    .m_free = control_free,
};

PyMODINIT_FUNC PyInit_control(void)
{
    return PyModuleDef_Init(&control_module);
}
