/*
 * The Span type: one type for the three APIs other extensions use (ours,
 * OpenTelemetry's Span interface, OpenTracing's Span), since their method
 * names do not clash. The OpenTracing-only methods live in ot_span.c.
 *
 * A Span started through an API owns its library span until end(); one made
 * while tracing is off owns nothing and every method is a no-op, so callers
 * never need to check. A view (the control's own activity, hypothesis or
 * phase span) holds ids only and finds the span again at each change. The
 * library keeps a span usable after the tracer that made it shut down, so a
 * Span outliving cleanup_control is safe. Methods convert their Python
 * arguments (which can run Python code, and let another thread end this
 * very span) first, and only then touch the library span, if still there.
 */
#include "binding.h"

#include <string.h>
#include <strings.h>

/* OpenTracing's methods (ot_span.c). */
PyObject *ctl_span_set_tag(ctl_span *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *ctl_span_log_kv(ctl_span *self, PyObject *args, PyObject *kwargs);
PyObject *ctl_span_log(ctl_span *self, PyObject *args, PyObject *kwargs);
PyObject *ctl_span_log_event(ctl_span *self, PyObject *args, PyObject *kwargs);
PyObject *ctl_span_set_operation_name(ctl_span *self, PyObject *name);
PyObject *ctl_span_set_baggage_item(ctl_span *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *ctl_span_get_baggage_item(ctl_span *self, PyObject *key);
PyObject *ctl_span_finish(ctl_span *self, PyObject *args, PyObject *kwargs);
PyObject *ctl_span_get_context(ctl_span *self, void *unused);
PyObject *ctl_span_get_tracer(ctl_span *self, void *unused);

struct ctr_span *ctl_owned_by_id(ctl_state *st, const uint8_t *span_id)
{
    struct ctr_span *s = open_table_by_id(&st->open, span_id);
    struct ctr_span *phases[] = {st->continuous, st->rollbacks, st->method, st->experiment};
    for (size_t i = 0; !s && i < sizeof phases / sizeof phases[0]; i++) {
        struct ctr_span_context c;
        ctr_span_get_context(phases[i], &c);
        if (phases[i] && memcmp(c.span_id, span_id, CTR_SPAN_ID_LEN) == 0)
            s = phases[i];
    }
    return s;
}

struct ctr_span *ctl_span_target(ctl_state *st, ctl_span *s)
{
    if (!s->view)
        return s->span;
    return st->tracer ? ctl_owned_by_id(st, s->ctx.span_id) : NULL;
}

static struct ctr_span *target(ctl_span *self)
{
    return ctl_span_target(ctl_get_state(self->module), self);
}

bool ctl_span_check(ctl_state *st, PyObject *o)
{
    return o && Py_TYPE(o) == (PyTypeObject *)st->span_type;
}

/* Copy what a builder gathered onto the span (if the conversion worked and
 * the span still records), then free the builder. NULL after an error. */
static PyObject *apply(ctl_span *self, struct ctr_attr_builder *b, int rc)
{
    size_t n;
    const struct ctr_attr *items = ctr_attr_builder_items(b, &n);
    struct ctr_span *sp = rc == 0 ? target(self) : NULL;
    for (size_t i = 0; sp && i < n; i++)
        ctr_span_set_attr(sp, &items[i]);
    ctr_attr_builder_free(b);
    if (rc < 0)
        return NULL;
    return ctl_api_return(Py_NewRef(Py_None));
}

static int span_traverse(ctl_span *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->module);
    Py_VISIT(self->baggage);
    Py_VISIT(self->token);
    return 0;
}

static int span_clear(ctl_span *self)
{
    Py_CLEAR(self->module);
    Py_CLEAR(self->baggage);
    Py_CLEAR(self->token);
    return 0;
}

/* End an owned span (once) at `end_ns` (0: now); views are not ours. */
void ctl_span_end_at(ctl_span *self, uint64_t end_ns)
{
    struct ctr_span *sp = self->span;
    self->span = NULL;
    if (!self->view)
        self->ended = true;
    ctr_span_end(sp, end_ns); /* after the tracer's shutdown: dropped */
}

static void span_dealloc(ctl_span *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    ctr_span_free(self->span); /* never ended: not exported, as in OpenTelemetry */
    self->span = NULL;
    PyMem_Free(self->tracestate);
    span_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

PyObject *ctl_span_new(PyObject *module, struct ctr_span *owned, const struct ctr_span_context *ctx,
                       bool view, PyObject *baggage)
{
    ctl_state *st = ctl_get_state(module);
    ctl_span *self = PyObject_GC_New(ctl_span, (PyTypeObject *)st->span_type);
    if (!self) {
        ctr_span_free(owned);
        return NULL;
    }
    if (owned)
        ctr_span_get_context(owned, &self->ctx);
    else if (ctx)
        self->ctx = *ctx;
    else
        memset(&self->ctx, 0, sizeof self->ctx);
    /* Kept past the span's end: the tracestate is copied. */
    size_t tn = self->ctx.trace_state.ptr ? self->ctx.trace_state.len : 0;
    self->tracestate = tn && tn <= CTR_TRACESTATE_MAX ? PyMem_Malloc(tn) : NULL;
    if (self->tracestate)
        memcpy(self->tracestate, self->ctx.trace_state.ptr, tn);
    self->ctx.trace_state.ptr = self->tracestate;
    self->ctx.trace_state.len = self->tracestate ? tn : 0;
    self->ctx.is_remote = false;
    self->record_exception = self->set_status_on_exception = true;
    self->span = ctr_span_is_recording(owned) ? owned : NULL;
    if (!self->span)
        ctr_span_free(owned);
    self->view = view;
    self->ended = false;
    self->baggage = baggage && PyDict_Check(baggage) ? PyDict_Copy(baggage) : NULL;
    if (baggage && PyDict_Check(baggage) && !self->baggage)
        ctl_hold_error(); /* a child without the baggage rather than no child */
    self->token = NULL;
    self->module = Py_NewRef(module);
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static PyObject *span_set_attribute(ctl_span *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "set_attribute(key, value)");
        return NULL;
    }
    struct ctr_attr_builder b = {0};
    return apply(self, &b, ctl_attr_from_py(args[0], args[1], ctl_builder_sink, &b));
}

static PyObject *span_set_attributes(ctl_span *self, PyObject *mapping)
{
    struct ctr_attr_builder b = {0};
    return apply(self, &b, ctl_attrs_from_py(mapping, ctl_builder_sink, &b));
}

/* An event from a builder's attributes, at `time_ns` (0: now). */
static void add_event(ctl_span *self, const char *name, size_t nlen, uint64_t time_ns,
                      struct ctr_attr_builder *b)
{
    size_t n;
    const struct ctr_attr *items = ctr_attr_builder_items(b, &n);
    struct ctr_span *sp = target(self);
    if (sp)
        ctr_span_add_event(sp, name, nlen, time_ns, items, n);
}

static PyObject *span_add_event(ctl_span *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"name", "attributes", "timestamp", NULL};
    const char *name;
    Py_ssize_t nlen;
    PyObject *attrs = NULL, *ts = NULL;
    uint64_t time_ns = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s#|OO", kwlist, &name, &nlen, &attrs, &ts) ||
        ctl_time_from_py(ts, false, &time_ns) < 0)
        return NULL;
    struct ctr_attr_builder b = {0};
    int rc = ctl_attrs_from_py(attrs, ctl_builder_sink, &b);
    if (rc == 0)
        add_event(self, name, (size_t)nlen, time_ns, &b);
    ctr_attr_builder_free(&b);
    if (rc < 0)
        return NULL;
    return ctl_api_return(Py_NewRef(Py_None));
}

static PyObject *span_add_link(ctl_span *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"context", "attributes", NULL};
    PyObject *context, *attrs = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O", kwlist, &context, &attrs))
        return NULL;
    ctl_state *st = ctl_get_state(self->module);
    struct ctr_span_context ctx;
    int has = ctl_context_from_py(st, context, &ctx, NULL, NULL);
    if (has < 0)
        return NULL;
    struct ctr_attr_builder b = {0};
    int rc = ctl_attrs_from_py(attrs, ctl_builder_sink, &b);
    struct ctr_span *sp = rc == 0 && has ? target(self) : NULL;
    if (sp) {
        size_t n;
        const struct ctr_attr *items = ctr_attr_builder_items(&b, &n);
        ctr_span_add_link(sp, &ctx, items, n);
    }
    ctr_attr_builder_free(&b);
    if (rc < 0)
        return NULL;
    return ctl_api_return(Py_NewRef(Py_None));
}

/* A status code by name: "ok", "error", "unset" (any case). -1 if none. */
static int status_by_name(PyObject *name)
{
    static const struct {
        const char *name;
        ctr_status_code code;
    } codes[] = {{"ok", CTR_STATUS_OK}, {"error", CTR_STATUS_ERROR}, {"unset", CTR_STATUS_UNSET}};
    const char *s = name && PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
    ctl_hold_error();
    for (size_t i = 0; s && i < sizeof codes / sizeof codes[0]; i++)
        if (strcasecmp(s, codes[i].name) == 0)
            return (int)codes[i].code;
    return -1;
}

/* set_status("ok" | "error" | "unset", description), or OpenTelemetry's
 * set_status(Status(StatusCode.ERROR, "why")) / set_status(StatusCode.OK). */
static PyObject *span_set_status(ctl_span *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"status", "description", NULL};
    PyObject *status, *desc = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O", kwlist, &status, &desc))
        return NULL;
    PyObject *code = NULL, *d = NULL;
    int c = status_by_name(status);
    if (c < 0 && !PyUnicode_Check(status)) {
        /* A Status has .status_code (and .description); a StatusCode, .name. */
        PyObject *sc = PyObject_GetAttrString(status, "status_code");
        if (sc) {
            d = PyObject_GetAttrString(status, "description");
            ctl_hold_error();
        } else {
            ctl_hold_error();
            sc = Py_NewRef(status);
        }
        code = PyObject_GetAttrString(sc, "name");
        Py_DECREF(sc);
        ctl_hold_error();
        c = status_by_name(code);
    }
    if (c < 0) {
        Py_XDECREF(code);
        Py_XDECREF(d);
        PyErr_Format(PyExc_ValueError,
                     "status must be \"ok\", \"error\", \"unset\" or an OpenTelemetry Status or "
                     "StatusCode, not %R",
                     status);
        return NULL;
    }
    const char *dp = NULL;
    Py_ssize_t dn = 0;
    PyObject *db = ctl_utf8(desc != Py_None ? desc : d, &dp, &dn);
    struct ctr_span *sp = target(self);
    if (sp)
        ctr_span_set_status(sp, (ctr_status_code)c, dp, db ? (size_t)dn : 0);
    Py_XDECREF(db);
    Py_XDECREF(code);
    Py_XDECREF(d);
    return ctl_api_return(Py_NewRef(Py_None));
}

/* The "exception" event (type, message, stack trace, extra attributes) of
 * `exc`; with `set_error`, an ERROR status "Type: message" too. */
void ctl_span_record(ctl_span *self, PyObject *exc, PyObject *attrs, uint64_t time_ns, bool escaped,
                     bool set_error, bool record)
{
    if (!exc || exc == Py_None || (!self->span && !self->view))
        return;
    PyObject *type = PyObject_GetAttrString((PyObject *)Py_TYPE(exc), "__qualname__");
    ctl_hold_error();
    PyObject *msg = PyObject_Str(exc);
    ctl_hold_error(); /* no call below with an exception set */
    PyObject *trace = NULL;
    PyObject *tbmod = PyImport_ImportModule("traceback");
    if (tbmod) {
        PyObject *tb = PyException_GetTraceback(exc);
        PyObject *lines = PyObject_CallMethod(tbmod, "format_exception", "OOO",
                                              (PyObject *)Py_TYPE(exc), exc, tb ? tb : Py_None);
        Py_XDECREF(tb);
        PyObject *empty = PyUnicode_FromString("");
        if (lines && empty)
            trace = PyUnicode_Join(empty, lines);
        Py_XDECREF(lines);
        Py_XDECREF(empty);
        Py_DECREF(tbmod);
    }
    ctl_hold_error();
    struct ctr_attr_builder b = {0};
    ctl_builder_set_str(&b, "exception.type", type);
    ctl_builder_set_str(&b, "exception.message", msg);
    ctl_builder_set_str(&b, "exception.stacktrace", trace);
    if (escaped) {
        struct ctr_attr a = {{"exception.escaped", 17}, {.type = CTR_VALUE_BOOL, .u.b = true}};
        ctr_attr_builder_set(&b, &a);
    }
    if (ctl_attrs_from_py(attrs, ctl_builder_sink, &b) < 0)
        ctl_hold_error();
    if (record)
        add_event(self, "exception", 9, time_ns, &b);
    ctr_attr_builder_free(&b);
    struct ctr_span *sp = set_error ? target(self) : NULL;
    if (sp) {
        PyObject *text = PyUnicode_FromFormat("%S: %S", type ? type : Py_None, msg ? msg : Py_None);
        const char *p = "";
        Py_ssize_t n = 0;
        PyObject *tb = ctl_utf8(text, &p, &n);
        ctl_hold_error();
        if ((sp = target(self)) != NULL) /* Python ran above: still there? */
            ctr_span_set_status(sp, CTR_STATUS_ERROR, p, (size_t)n);
        Py_XDECREF(tb);
        Py_XDECREF(text);
    }
    Py_XDECREF(type);
    Py_XDECREF(msg);
    Py_XDECREF(trace);
}

static PyObject *span_record_exception(ctl_span *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"exception", "attributes", "timestamp", "escaped", NULL};
    PyObject *exc, *attrs = NULL, *ts = NULL;
    int escaped = 0;
    uint64_t time_ns = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|OOp", kwlist, &exc, &attrs, &ts, &escaped) ||
        ctl_time_from_py(ts, false, &time_ns) < 0)
        return NULL;
    if (!PyExceptionInstance_Check(exc)) {
        PyErr_SetString(PyExc_TypeError, "record_exception() wants an exception instance");
        return NULL;
    }
    ctl_span_record(self, exc, attrs, time_ns, escaped, false, true);
    return ctl_hook_return();
}

static PyObject *span_update_name(ctl_span *self, PyObject *name)
{
    const char *p;
    Py_ssize_t n;
    PyObject *b = ctl_utf8(name, &p, &n);
    if (!b) {
        PyErr_SetString(PyExc_TypeError, "update_name() wants a str");
        return NULL;
    }
    struct ctr_span *sp = target(self);
    if (sp)
        ctr_span_update_name(sp, p, (size_t)n);
    Py_DECREF(b);
    return ctl_api_return(Py_NewRef(Py_None));
}

static PyObject *span_end(ctl_span *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"end_time", NULL};
    PyObject *t = NULL;
    uint64_t end_ns = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O", kwlist, &t) ||
        ctl_time_from_py(t, false, &end_ns) < 0)
        return NULL;
    ctl_span_end_at(self, end_ns);
    Py_RETURN_NONE;
}

static PyObject *span_is_recording(ctl_span *self, PyObject *unused)
{
    (void)unused;
    return PyBool_FromLong(ctr_span_is_recording(target(self)));
}

static PyObject *span_get_span_context(ctl_span *self, PyObject *unused)
{
    (void)unused;
    return ctl_api_return(ctl_otel_span_context(ctl_get_state(self->module), &self->ctx));
}

/* `with span:` makes it the current span of the block, and ends it after
 * (an exception leaving the block is recorded and sets an ERROR status). */
static PyObject *span_enter(ctl_span *self, PyObject *unused)
{
    (void)unused;
    if (!self->token) {
        self->token = ctl_current_push(ctl_get_state(self->module), (PyObject *)self);
        if (!self->token)
            return NULL;
    }
    return ctl_api_return(Py_NewRef(self));
}

static PyObject *span_exit(ctl_span *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *token = self->token;
    self->token = NULL;
    if (token) {
        ctl_current_pop(ctl_get_state(self->module), token);
        Py_DECREF(token);
    }
    /* As OpenTelemetry's use_span: an Exception, not an interrupt or exit. */
    if (nargs >= 2 && args[1] != Py_None && PyErr_GivenExceptionMatches(args[1], PyExc_Exception) &&
        (self->record_exception || self->set_status_on_exception))
        ctl_span_record(self, args[1], NULL, 0, true, self->set_status_on_exception,
                        self->record_exception);
    ctl_span_end_at(self, 0);
    PyObject *r = ctl_hook_return();
    if (!r)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static PyObject *span_inject(ctl_span *self, PyObject *headers)
{
    ctl_state *st = ctl_get_state(self->module);
    if (ctl_inject_into(st, &self->ctx, self->baggage, headers, NULL) < 0)
        return NULL;
    return ctl_api_return(Py_NewRef(headers));
}

static PyObject *hex_of(const uint8_t *id, size_t n)
{
    char hex[2 * CTR_TRACE_ID_LEN + 1];
    ctr_hex_encode(id, n, hex);
    return PyUnicode_FromString(hex);
}

static PyObject *span_get_trace_id(ctl_span *self, void *unused)
{
    (void)unused;
    return hex_of(self->ctx.trace_id, CTR_TRACE_ID_LEN);
}

static PyObject *span_get_span_id(ctl_span *self, void *unused)
{
    (void)unused;
    return hex_of(self->ctx.span_id, CTR_SPAN_ID_LEN);
}

static PyObject *span_repr(ctl_span *self)
{
    char t[2 * CTR_TRACE_ID_LEN + 1], s[2 * CTR_SPAN_ID_LEN + 1];
    ctr_hex_encode(self->ctx.trace_id, CTR_TRACE_ID_LEN, t);
    ctr_hex_encode(self->ctx.span_id, CTR_SPAN_ID_LEN, s);
    return PyUnicode_FromFormat("<chaostracing Span trace_id=%s span_id=%s%s>", t, s,
                                self->view ? " (the control's)" : "");
}

#define FAST(f) (PyCFunction)(void (*)(void))(f)

static PyMethodDef span_methods[] = {
    {"set_attribute", FAST(span_set_attribute), METH_FASTCALL,
     "set_attribute($self, key, value, /)\n--\n\nSet an attribute (bool, int, float, str, bytes "
     "or a list of one of those; anything else is stored as its str())."},
    {"set_attributes", (PyCFunction)span_set_attributes, METH_O,
     "set_attributes($self, attributes, /)\n--\n\nSet every item of a dict as an attribute."},
    {"add_event", FAST(span_add_event), METH_VARARGS | METH_KEYWORDS,
     "add_event($self, /, name, attributes=None, timestamp=None)\n--\n\n"
     "Add an event (timestamp: nanoseconds since the epoch, default now)."},
    {"add_link", FAST(span_add_link), METH_VARARGS | METH_KEYWORDS,
     "add_link($self, /, context, attributes=None)\n--\n\nLink another span (or its context)."},
    {"set_status", FAST(span_set_status), METH_VARARGS | METH_KEYWORDS,
     "set_status($self, /, status, description=None)\n--\n\n"
     "Set the status: \"ok\", \"error\", \"unset\", or an OpenTelemetry Status/StatusCode."},
    {"record_exception", FAST(span_record_exception), METH_VARARGS | METH_KEYWORDS,
     "record_exception($self, /, exception, attributes=None, timestamp=None, escaped=False)\n--\n\n"
     "Add an \"exception\" event (the status is left alone, as in OpenTelemetry)."},
    {"update_name", (PyCFunction)span_update_name, METH_O,
     "update_name($self, name, /)\n--\n\nRename the span."},
    {"inject", (PyCFunction)span_inject, METH_O,
     "inject($self, headers, /)\n--\n\nAdd this span's propagation headers (the formats the "
     "control is configured with: traceparent by default) to a dict, and return it."},
    {"end", FAST(span_end), METH_VARARGS | METH_KEYWORDS,
     "end($self, /, end_time=None)\n--\n\nEnd the span (once; end_time in nanoseconds since the "
     "epoch). The control's own spans (current_span() in an activity) are not ended here."},
    {"is_recording", (PyCFunction)span_is_recording, METH_NOARGS,
     "is_recording($self, /)\n--\n\nFalse when tracing is off or the span has ended."},
    {"get_span_context", (PyCFunction)span_get_span_context, METH_NOARGS,
     "get_span_context($self, /)\n--\n\nThe OpenTelemetry SpanContext (opentelemetry-api must be "
     "installed)."},
    {"__enter__", (PyCFunction)span_enter, METH_NOARGS, NULL},
    {"__exit__", FAST(span_exit), METH_FASTCALL, NULL},
    /* OpenTracing (opentracing.c) */
    {"set_tag", FAST(ctl_span_set_tag), METH_FASTCALL,
     "set_tag($self, key, value, /)\n--\n\nOpenTracing: set an attribute; returns the span."},
    {"log_kv", FAST(ctl_span_log_kv), METH_VARARGS | METH_KEYWORDS,
     "log_kv($self, /, key_values, timestamp=None)\n--\n\n"
     "OpenTracing: an event (named by the \"event\" item, else \"log\"); timestamp in seconds."},
    {"log", FAST(ctl_span_log), METH_VARARGS | METH_KEYWORDS,
     "log($self, /, **kwargs)\n--\n\nOpenTracing (deprecated there): log_kv(kwargs)."},
    {"log_event", FAST(ctl_span_log_event), METH_VARARGS | METH_KEYWORDS,
     "log_event($self, /, event, payload=None)\n--\n\nOpenTracing (deprecated there)."},
    {"set_operation_name", (PyCFunction)ctl_span_set_operation_name, METH_O,
     "set_operation_name($self, name, /)\n--\n\nOpenTracing: rename; returns the span."},
    {"set_baggage_item", FAST(ctl_span_set_baggage_item), METH_FASTCALL,
     "set_baggage_item($self, key, value, /)\n--\n\nOpenTracing: baggage propagated with this "
     "span and its children; returns the span."},
    {"get_baggage_item", (PyCFunction)ctl_span_get_baggage_item, METH_O,
     "get_baggage_item($self, key, /)\n--\n\nOpenTracing: a baggage item, or None."},
    {"finish", FAST(ctl_span_finish), METH_VARARGS | METH_KEYWORDS,
     "finish($self, /, finish_time=None)\n--\n\nOpenTracing: end (finish_time in seconds)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef span_getset[] = {
    {"trace_id", (getter)span_get_trace_id, NULL, "The trace id, 32 hex digits.", NULL},
    {"span_id", (getter)span_get_span_id, NULL, "The span id, 16 hex digits.", NULL},
    {"context", (getter)ctl_span_get_context, NULL, "OpenTracing: the SpanContext.", NULL},
    {"tracer", (getter)ctl_span_get_tracer, NULL, "OpenTracing: the tracer.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot span_slots[] = {
    {Py_tp_dealloc, span_dealloc},
    {Py_tp_traverse, span_traverse},
    {Py_tp_clear, span_clear},
    {Py_tp_methods, span_methods},
    {Py_tp_getset, span_getset},
    {Py_tp_repr, span_repr},
    {Py_tp_doc, "A span: use it as a context manager (current in the block, ended after) or call "
                "end(). Also an OpenTelemetry Span and an OpenTracing Span."},
    CTL_COMPAT_NO_NEW /* 3.9: no Py_TPFLAGS_DISALLOW_INSTANTIATION */
    {0, NULL},
};

PyType_Spec ctl_span_spec = {
    .name = "chaostracing.control.Span",
    .basicsize = sizeof(ctl_span),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = span_slots,
};
