/*
 * The span API for other extensions: start_span() and the Span type.
 *
 * A Span wraps a library span until end(); one made while tracing is off
 * wraps nothing and every method is a no-op, so callers never need to check.
 * The library keeps a span usable after the tracer that made it shut down
 * (ending it then drops it), so a Span outliving cleanup_control is safe.
 * Methods convert their Python arguments (which can run Python code, and let
 * another thread end this very span) into a builder first, and only then
 * touch the library span, if it is still there.
 */
#include "binding.h"

#include <string.h>
#include <strings.h>

typedef struct {
    PyObject_HEAD struct ctr_span *span; /* NULL when ended or not recording */
    struct ctr_span_context ctx;         /* kept for trace_id/inject after end */
    PyObject *module;
} SpanObject;

/* Copy what a builder gathered onto the span (if the conversion worked and
 * the span still records), then free the builder. NULL after an error. */
static PyObject *apply(SpanObject *self, struct ctr_attr_builder *b, int rc)
{
    size_t n;
    const struct ctr_attr *items = ctr_attr_builder_items(b, &n);
    for (size_t i = 0; rc == 0 && self->span && i < n; i++)
        ctr_span_set_attr(self->span, &items[i]);
    ctr_attr_builder_free(b);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
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

static void span_finish(SpanObject *self)
{
    struct ctr_span *sp = self->span;
    self->span = NULL;
    ctr_span_end(sp, 0); /* after the tracer's shutdown: dropped */
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

static PyObject *span_set_attribute(SpanObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "set_attribute(key, value)");
        return NULL;
    }
    struct ctr_attr_builder b = {0};
    return apply(self, &b, ctl_attr_from_py(args[0], args[1], ctl_builder_sink, &b));
}

static PyObject *span_set_attributes(SpanObject *self, PyObject *mapping)
{
    struct ctr_attr_builder b = {0};
    return apply(self, &b, ctl_attrs_from_py(mapping, ctl_builder_sink, &b));
}

static PyObject *span_add_event(SpanObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"name", "attributes", NULL};
    const char *name;
    Py_ssize_t nlen;
    PyObject *attrs = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s#|O", kwlist, &name, &nlen, &attrs))
        return NULL;
    struct ctr_attr_builder b = {0};
    int rc = ctl_attrs_from_py(attrs, ctl_builder_sink, &b);
    if (rc == 0 && self->span) {
        size_t n;
        const struct ctr_attr *items = ctr_attr_builder_items(&b, &n);
        ctr_span_add_event(self->span, name, (size_t)nlen, 0, items, n);
    }
    ctr_attr_builder_free(&b);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *span_set_status(SpanObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"status", "description", NULL};
    PyObject *status;
    const char *desc = NULL;
    Py_ssize_t dlen = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|z#", kwlist, &status, &desc, &dlen))
        return NULL;
    static const struct {
        const char *name;
        ctr_status_code code;
    } codes[] = {{"ok", CTR_STATUS_OK}, {"error", CTR_STATUS_ERROR}, {"unset", CTR_STATUS_UNSET}};
    const char *s = PyUnicode_Check(status) ? PyUnicode_AsUTF8(status) : NULL;
    PyErr_Clear();
    for (size_t i = 0; s && i < sizeof codes / sizeof codes[0]; i++) {
        if (strcasecmp(s, codes[i].name) == 0) {
            ctr_span_set_status(self->span, codes[i].code, desc, desc ? (size_t)dlen : 0);
            Py_RETURN_NONE;
        }
    }
    PyErr_Format(PyExc_ValueError, "status must be \"ok\", \"error\" or \"unset\", not %R", status);
    return NULL;
}

/* Record `exc` as an "exception" event (type, message, stack trace) and an
 * ERROR status. */
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
    ctl_hold_error();
    const char *tp = "Exception", *mp = "", *trp = "";
    Py_ssize_t tn = 9, mn = 0, trn = 0;
    PyObject *tb = ctl_utf8(type, &tp, &tn), *mb = ctl_utf8(msg, &mp, &mn),
             *trb = ctl_utf8(trace, &trp, &trn);
    struct ctr_attr attrs[3] = {
        {{"exception.type", 14}, {.type = CTR_VALUE_STRING, .u.s = {tp, (size_t)tn}}},
        {{"exception.message", 17}, {.type = CTR_VALUE_STRING, .u.s = {mp, (size_t)mn}}},
        {{"exception.stacktrace", 20}, {.type = CTR_VALUE_STRING, .u.s = {trp, (size_t)trn}}},
    };
    if (self->span) { /* Python ran above: still ours? */
        ctr_span_add_event(self->span, "exception", 9, 0, attrs, trn ? 3 : 2);
        ctr_span_set_status(self->span, CTR_STATUS_ERROR, mp, (size_t)mn);
    }
    Py_XDECREF(tb);
    Py_XDECREF(mb);
    Py_XDECREF(trb);
    Py_XDECREF(type);
    Py_XDECREF(msg);
    Py_XDECREF(trace);
}

static PyObject *span_record_exception(SpanObject *self, PyObject *exc)
{
    if (!PyExceptionInstance_Check(exc)) {
        PyErr_SetString(PyExc_TypeError, "record_exception() wants an exception instance");
        return NULL;
    }
    record_pyexception(self, exc);
    return ctl_hook_return();
}

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
    PyObject *r = ctl_hook_return();
    if (!r)
        return NULL;
    Py_DECREF(r);
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

static PyObject *span_inject(SpanObject *self, PyObject *headers)
{
    if (!PyDict_Check(headers)) {
        PyErr_SetString(PyExc_TypeError, "inject() wants a dict of headers");
        return NULL;
    }
    ctl_state *st = ctl_get_state(self->module);
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

static PyObject *hex_of(const uint8_t *id, size_t n)
{
    char hex[2 * CTR_TRACE_ID_LEN + 1];
    ctr_hex_encode(id, n, hex);
    return PyUnicode_FromString(hex);
}

static PyObject *span_get_trace_id(SpanObject *self, void *unused)
{
    (void)unused;
    return hex_of(self->ctx.trace_id, CTR_TRACE_ID_LEN);
}

static PyObject *span_get_span_id(SpanObject *self, void *unused)
{
    (void)unused;
    return hex_of(self->ctx.span_id, CTR_SPAN_ID_LEN);
}

static PyObject *span_get_recording(SpanObject *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(ctr_span_is_recording(self->span));
}

static PyMethodDef span_methods[] = {
    {"set_attribute", (PyCFunction)(void (*)(void))span_set_attribute, METH_FASTCALL,
     "set_attribute($self, key, value, /)\n--\n\nSet an attribute (bool, int, float, str, bytes "
     "or a list of one of those; anything else is stored as its str())."},
    {"set_attributes", (PyCFunction)span_set_attributes, METH_O,
     "set_attributes($self, attributes, /)\n--\n\nSet every item of a dict as an attribute."},
    {"add_event", (PyCFunction)(void (*)(void))span_add_event, METH_VARARGS | METH_KEYWORDS,
     "add_event($self, /, name, attributes=None)\n--\n\nAdd a timestamped event."},
    {"set_status", (PyCFunction)(void (*)(void))span_set_status, METH_VARARGS | METH_KEYWORDS,
     "set_status($self, /, status, description=None)\n--\n\n"
     "Set the status: \"ok\", \"error\" or \"unset\"."},
    {"record_exception", (PyCFunction)span_record_exception, METH_O,
     "record_exception($self, exception, /)\n--\n\n"
     "Add an \"exception\" event and set the status to error."},
    {"inject", (PyCFunction)span_inject, METH_O,
     "inject($self, headers, /)\n--\n\nAdd this span's propagation headers (the formats the "
     "control is configured with: traceparent by default) to a dict, and return it."},
    {"end", (PyCFunction)span_end, METH_NOARGS, "end($self, /)\n--\n\nEnd the span (once)."},
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
    CTL_COMPAT_NO_NEW /* 3.9: no Py_TPFLAGS_DISALLOW_INSTANTIATION */
    {0, NULL},
};

PyType_Spec ctl_span_spec = {
    .name = "chaostracing.control.Span",
    .basicsize = sizeof(SpanObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = span_slots,
};

/* The parent of a span started in this thread: the open activity (or
 * hypothesis) of this thread, else the current phase. */
static struct ctr_span *current_parent(ctl_state *st)
{
    struct ctr_span *s = open_table_innermost(&st->open, PyThread_get_thread_ident());
    return s ? s : st->rollbacks ? st->rollbacks : st->method ? st->method : st->experiment;
}

const char ctl_start_span_doc[] =
    "start_span($module, /, name, attributes=None, kind='internal')\n--\n\n"
    "Start a span, child of the activity running in this thread (or of the\n"
    "current phase). kind: internal, client, server, producer or consumer.\n"
    "When tracing is off the span records nothing, so callers need no check.";

PyObject *ctl_start_span(PyObject *module, PyObject *args, PyObject *kwargs)
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
        PyErr_SetString(PyExc_ValueError,
                        "kind must be internal, client, server, producer or consumer");
        return NULL;
    }
    ctl_state *st = ctl_get_state(module);
    struct ctr_span *sp = NULL;
    if (st->tracer) {
        struct ctr_span *parent = current_parent(st);
        struct ctr_span_context pctx;
        ctr_span_get_context(parent, &pctx);
        sp = ctr_tracer_start_span(st->tracer, name, (size_t)nlen, parent ? &pctx : NULL,
                                   (ctr_span_kind)kind, 0);
        if (!sp)
            return PyErr_NoMemory();
    }
    SpanObject *self = PyObject_GC_New(SpanObject, (PyTypeObject *)st->span_type);
    if (!self) {
        ctr_span_free(sp);
        return NULL;
    }
    ctr_span_get_context(sp, &self->ctx);
    self->ctx.trace_state.ptr = NULL; /* kept past the span's end: ids only */
    self->ctx.trace_state.len = 0;
    self->span = ctr_span_is_recording(sp) ? sp : NULL;
    if (!self->span)
        ctr_span_free(sp);
    self->module = Py_NewRef(module);
    PyObject_GC_Track(self);
    if (self->span) {
        PyObject *r = span_set_attributes(self, attrs ? attrs : Py_None);
        if (!r) {
            Py_DECREF(self);
            return NULL;
        }
        Py_DECREF(r);
    }
    return (PyObject *)self;
}
