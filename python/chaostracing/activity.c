/*
 * The activity hooks. An activity span is a child of the hypothesis open in
 * its own thread, else of the rollbacks span, else of the method span, so
 * background activities (a thread pool) get the right parent. HTTP
 * activities carry the configured propagation headers, which are removed
 * again after the call so the journal does not keep them; process
 * activities get TRACEPARENT & co. in their environment (process_env.c).
 * While it runs, the activity's span is OpenTelemetry's current span in its
 * thread, when that API is installed (otel.c).
 */
#include "binding.h"

#include <string.h>

#define BEFORE_SIG(name)                                                                           \
#name "($module, /, context, configuration=None, secrets=None, **kwargs)\n--\n\n"
#define AFTER_SIG(name)                                                                            \
#name "($module, /, context, state, configuration=None, secrets=None, **kwargs)\n--\n\n"

/* A provider value with its ${...} templates filled in as chaoslib will do
 * for the call itself, from the configuration only: secrets never go into a
 * trace. New reference; the value itself when there is nothing to fill. */
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
        st->substitute = chaoslib ? PyObject_GetAttrString(chaoslib, "substitute") : NULL;
        Py_XDECREF(chaoslib);
        if (!st->substitute) {
            ctl_hold_error();
            return Py_NewRef(v);
        }
    }
    PyObject *r = PyObject_CallFunctionObjArgs(
        st->substitute, v, configuration ? configuration : Py_None, Py_None, NULL);
    if (!r || !PyUnicode_Check(r)) {
        ctl_hold_error();
        Py_XDECREF(r);
        return Py_NewRef(v);
    }
    return r;
}

/* url.full without credentials. */
static void set_url(struct ctr_span *s, PyObject *url)
{
    const char *p;
    Py_ssize_t n;
    PyObject *b = ctl_utf8(url, &p, &n);
    if (!b)
        return;
    struct ctr_buf out = {0};
    ctr_url_redact(&out, p, (size_t)n);
    if (!out.err)
        ctr_span_set_str(s, "url.full", (const char *)out.data, out.len);
    ctr_buf_free(&out);
    Py_DECREF(b);
}

/* Carrier over an http provider's headers dict: `set` saves what was there
 * the first time a name is set, so the entry can put it back. */
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

/* Add the propagation headers to an http provider's headers (made when
 * missing), remembering what was there. `e` is not in the table yet. */
static void inject_headers(ctl_state *st, struct open_entry *e, PyObject *provider)
{
    PyObject *headers = ctl_dget(provider, "headers");
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
    struct ctr_span_context ctx;
    ctr_span_get_context(e->span, &ctx);
    struct ctr_carrier c = {NULL, headers_set, e, NULL};
    ctr_propagation_inject(&st->prop, &ctx, st->baggage, &c);
}

const char before_activity_control_doc[] =
    BEFORE_SIG(before_activity_control) "Start an activity span.";

PyObject *before_activity_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                  PyObject *kwnames)
{
    ctl_state *st = ctl_get_state(module);
    ctl_drain_logs(st);
    PyObject *ctx = ctl_context_arg(args, nargs, kwnames);
    unsigned long thread = PyThread_get_thread_ident();
    if (!st->tracer || !ctx || !PyDict_Check(ctx) ||
        open_table_has(&st->open, ENTRY_ACTIVITY, ctx, thread))
        return ctl_hook_return();
    uint64_t generation = st->generation;
    struct ctr_span *hypothesis = open_table_hypothesis(&st->open, thread);
    struct ctr_span *parent = hypothesis      ? hypothesis
                              : st->rollbacks ? st->rollbacks
                              : st->method    ? st->method
                                              : st->experiment;
    PyObject *name = ctl_dget(ctx, "name");
    PyObject *provider = ctl_dget(ctx, "provider");
    PyObject *ptype = ctl_dget(provider, "type");
    bool http =
        ptype && PyUnicode_Check(ptype) && PyUnicode_CompareWithASCIIString(ptype, "http") == 0;
    bool process =
        ptype && PyUnicode_Check(ptype) && PyUnicode_CompareWithASCIIString(ptype, "process") == 0;
    const char *p = "activity";
    Py_ssize_t n = 8;
    PyObject *nb = ctl_utf8(name, &p, &n);
    struct ctr_buf oltp_name = {0}; /* chaostracing.oltp: "activity: {name}" */
    if (ctl_oltp(st) && nb) {
        ctr_buf_puts(&oltp_name, "activity: ");
        ctr_buf_append(&oltp_name, p, (size_t)n);
        if (!oltp_name.err) {
            p = (const char *)oltp_name.data;
            n = (Py_ssize_t)oltp_name.len;
        }
    }
    struct ctr_span *s =
        ctl_start(st, p, (size_t)n, parent, http ? CTR_KIND_CLIENT : CTR_KIND_INTERNAL, "activity");
    ctr_buf_free(&oltp_name);
    Py_XDECREF(nb);
    if (!s)
        return PyErr_NoMemory();
    /* Ours until the entry is made: substitution below runs Python code. */
    provider = Py_XNewRef(provider);
    ctl_set_str(s, "chaostoolkit.activity.name", name);
    ctl_set_str(s, "chaostoolkit.activity.type", ctl_dget(ctx, "type"));
    ctl_set_str(s, "chaostoolkit.activity.provider.type", ptype);
    PyObject *bg = ctl_dget(ctx, "background");
    ctr_span_set_bool(s, "chaostoolkit.activity.background", bg && PyObject_IsTrue(bg) == 1);
    ctl_hold_error();
    if (http) {
        PyObject *method = ctl_dget(provider, "method");
        PyObject *upper =
            method && PyUnicode_Check(method) ? PyObject_CallMethod(method, "upper", NULL) : NULL;
        ctl_hold_error();
        if (upper)
            ctl_set_str(s, "http.request.method", upper);
        else
            ctr_span_set_str(s, "http.request.method", "GET", 3);
        Py_XDECREF(upper);
        PyObject *url = substituted(st, ctl_dget(provider, "url"),
                                    ctl_kwarg(args, nargs, kwnames, "configuration"));
        set_url(s, url);
        Py_XDECREF(url);
    } else if (ptype && PyUnicode_Check(ptype)) {
        ctl_set_str(s, "chaostoolkit.activity.provider.module", ctl_dget(provider, "module"));
        ctl_set_str(s, "chaostoolkit.activity.provider.func", ctl_dget(provider, "func"));
        ctl_set_str(s, "chaostoolkit.activity.provider.path", ctl_dget(provider, "path"));
    }
    struct open_entry *e = open_entry_new(ENTRY_ACTIVITY, ctx, thread, s);
    if (!e) {
        Py_XDECREF(provider);
        ctr_span_free(s);
        return PyErr_NoMemory();
    }
    e->hypothesis = hypothesis;
    e->st = st;
    if (http && PyDict_Check(provider))
        inject_headers(st, e, provider);
    Py_XDECREF(provider);
    if (process)
        ctl_env_push(st, e);
    ctl_otel_attach(st, module, e); /* OpenTelemetry's current span in this thread */
    if (st->generation != generation || open_table_add(&st->open, e) < 0) /* cleanup ran, OOM */
        open_entry_close(e);
    return ctl_hook_return();
}

/* Record a failed run: ERROR status and an "exception" event. */
static void record_failure(struct ctr_span *s, PyObject *run)
{
    PyObject *exc = ctl_dget(run, "exception");
    PyObject *joined = NULL;
    if (exc && PyList_Check(exc)) {
        PyObject *empty = PyUnicode_FromString("");
        joined = empty ? PyUnicode_Join(empty, exc) : NULL;
        Py_XDECREF(empty);
        ctl_hold_error();
    } else if (exc && PyUnicode_Check(exc)) {
        joined = Py_NewRef(exc);
    }
    const char *trace = "";
    Py_ssize_t tn = 0;
    PyObject *tb = ctl_utf8(joined, &trace, &tn);
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
    const char *colon = strstr(line, ": ");
    char type[256] = "ActivityFailed";
    const char *message = line;
    if (colon && (size_t)(colon - line) < sizeof type) {
        snprintf(type, sizeof type, "%.*s", (int)(colon - line), line);
        message = colon + 2;
    }
    ctr_span_set_status(s, CTR_STATUS_ERROR, message, strlen(message));
    if (tb && tn) /* upstream's attribute: the exception's text */
        ctr_span_set_str(s, "chaostoolkit.activity.error", trace, (size_t)tn);
    struct ctr_attr attrs[3] = {
        {{"exception.type", 14}, {.type = CTR_VALUE_STRING, .u.s = {type, strlen(type)}}},
        {{"exception.message", 17}, {.type = CTR_VALUE_STRING, .u.s = {message, strlen(message)}}},
        {{"exception.stacktrace", 20}, {.type = CTR_VALUE_STRING, .u.s = {trace, (size_t)tn}}},
    };
    ctr_span_add_event(s, "exception", 9, 0, attrs, tn ? 3 : 2);
    Py_XDECREF(tb);
    Py_XDECREF(joined);
}

/* The HTTP status of an http activity's output; ERROR for 4xx and 5xx. */
static void record_http_status(struct ctr_span *s, PyObject *output)
{
    PyObject *code = ctl_dget(output, "status");
    if (!code || !PyLong_Check(code) || PyBool_Check(code))
        return;
    long long c = PyLong_AsLongLong(code);
    ctl_hold_error();
    ctr_span_set_int(s, "http.response.status_code", c);
    if (c >= 400 && c <= 599) {
        char msg[32];
        snprintf(msg, sizeof msg, "HTTP %lld", c);
        ctr_span_set_status(s, CTR_STATUS_ERROR, msg, strlen(msg));
    }
}

const char after_activity_control_doc[] = AFTER_SIG(after_activity_control) "End an activity span.";

PyObject *after_activity_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                 PyObject *kwnames)
{
    ctl_state *st = ctl_get_state(module);
    ctl_drain_logs(st);
    PyObject *ctx = ctl_context_arg(args, nargs, kwnames);
    /* Out of the table before any Python code runs: other threads may grow or
     * compact it meanwhile, and cleanup may end everything in it. */
    struct open_entry *e =
        open_table_take(&st->open, ENTRY_ACTIVITY, ctx, PyThread_get_thread_ident());
    if (!e)
        return ctl_hook_return();
    uint64_t generation = st->generation;
    struct ctr_span *s = e->span;
    ctl_otel_detach(st, e); /* taken for this thread: its own context */
    open_entry_restore(e);
    PyObject *run = Py_XNewRef(ctl_state_arg(args, nargs, kwnames));
    PyObject *status = Py_XNewRef(ctl_dget(run, "status"));
    PyObject *output = Py_XNewRef(ctl_dget(run, "output"));
    if (!status || status == Py_None) {
        /* chaoslib reports an activity cut short (Ctrl-C, a signal) with no
         * run or no status. */
        ctr_span_set_str(s, "chaostoolkit.activity.status", "interrupted", 11);
        ctr_span_set_status(s, CTR_STATUS_ERROR, "interrupted", 11);
    } else {
        ctl_set_str(s, "chaostoolkit.activity.status", status);
    }
    if (output && st->output_mode != CTR_OUTPUT_NONE)
        ctl_set_json_max(s, "chaostoolkit.activity.output", output,
                         st->output_mode == CTR_OUTPUT_FULL ? 0 : st->output_limit);
    if (ctr_span_get_kind(s) == CTR_KIND_CLIENT)
        record_http_status(s, output);
    if (status && PyUnicode_Check(status) &&
        PyUnicode_CompareWithASCIIString(status, "failed") == 0)
        record_failure(s, run);
    Py_XDECREF(output);
    Py_XDECREF(status);
    Py_XDECREF(run);
    e->end_ns = ctr_now_ns();
    /* A probe waits for its hypothesis (which knows tolerance_met), when that
     * is still open in this run. */
    bool wait = e->hypothesis && st->generation == generation &&
                open_table_has_span(&st->open, e->hypothesis);
    if (!wait || open_table_add(&st->open, e) < 0)
        open_entry_close(e);
    return ctl_hook_return();
}
