/*
 * The OpenTelemetry API's TracerProvider and Tracer, backed by the control's
 * C tracer, and the context manager start_as_current_span() returns (also a
 * decorator). The types are registered as the API's abstract classes
 * (otel.c), so the API and the instrumentations take them as their own.
 * Spans are our Span objects; they carry the instrumenting library's name as
 * otel.scope.name (all spans of a run are exported under one scope).
 */
#include "binding.h"

#include <string.h>

typedef ctl_holder ProviderObject;

typedef struct {
    PyObject_HEAD PyObject *module;
    PyObject *scope; /* the instrumenting library's name (str) or NULL */
} OTelTracerObject;

/* What start_as_current_span() was given, for `with` or as a decorator. */
typedef struct {
    PyObject_HEAD PyObject *tracer;
    PyObject *name, *context, *kind, *attributes, *links, *start_time;
    bool record_exception, set_status_on_exception, end_on_exit;
    bool is_async;   /* the function is a coroutine function */
    PyObject *func;  /* as a decorator: the function */
    PyObject *span;  /* in a `with` block */
    PyObject *token; /* in a `with` block */
} CMObject;

/* ---- Tracer ---- */

static int tracer_traverse(OTelTracerObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->module);
    Py_VISIT(self->scope);
    return 0;
}

static int tracer_clear(OTelTracerObject *self)
{
    Py_CLEAR(self->module);
    Py_CLEAR(self->scope);
    return 0;
}

/* A mapping of attributes (OpenTelemetry passes its own types) as a dict
 * with otel.scope.name added; new reference. */
static PyObject *attributes_of(OTelTracerObject *t, PyObject *attrs)
{
    PyObject *d = PyDict_New();
    if (!d)
        return NULL;
    if (attrs && attrs != Py_None && PyDict_Update(d, attrs) < 0) {
        Py_DECREF(d);
        return NULL;
    }
    if (t->scope && PyDict_SetItemString(d, "otel.scope.name", t->scope) < 0)
        ctl_hold_error();
    return d;
}

/* Start a span as the API's Tracer.start_span() has it: parent from
 * `context` (an OpenTelemetry Context; None: the current span). */
static PyObject *otel_start(OTelTracerObject *t, PyObject *name, PyObject *context, PyObject *kind,
                            PyObject *attrs, PyObject *links, PyObject *start_time)
{
    ctl_state *st = ctl_get_state(t->module);
    struct ctl_start a = {.kind = CTR_KIND_INTERNAL};
    Py_ssize_t nlen;
    PyObject *nb = ctl_utf8(name, &a.name, &nlen);
    if (!nb) {
        PyErr_SetString(PyExc_TypeError, "a span name must be a str");
        return NULL;
    }
    a.nlen = (size_t)nlen;
    PyObject *d = NULL, *r = NULL;
    if (ctl_kind_from_py(kind, &a.kind) < 0 || ctl_time_from_py(start_time, false, &a.start_ns) < 0)
        goto out;
    if (context && context != Py_None) {
        PyObject *parent =
            ctl_otel_on(st) ? PyObject_CallOneArg(st->otel.get_current_span, context) : NULL;
        if (!parent)
            goto out;
        int has = ctl_context_from_py(st, parent, &a.parent_ctx, NULL, a.parent_ts);
        Py_DECREF(parent);
        if (has < 0)
            goto out;
        a.parent = has ? 1 : -1; /* a context without a span: a new trace */
    }
    if (!(d = attributes_of(t, attrs)))
        goto out;
    a.attributes = d;
    a.links = links;
    r = ctl_start_span_from(t->module, &a);
out:
    Py_XDECREF(d);
    Py_DECREF(nb);
    return ctl_api_return(r);
}

static PyObject *tracer_start_span(OTelTracerObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"name",
                             "context",
                             "kind",
                             "attributes",
                             "links",
                             "start_time",
                             "record_exception",
                             "set_status_on_exception",
                             NULL};
    PyObject *name, *context = NULL, *kind = NULL, *attrs = NULL, *links = NULL, *start = NULL;
    int rec = 1, status = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|OOOOOpp", kwlist, &name, &context, &kind,
                                     &attrs, &links, &start, &rec, &status))
        return NULL;
    PyObject *span = otel_start(self, name, context, kind, attrs, links, start);
    if (span) { /* what `with span:` does with an exception */
        ((ctl_span *)span)->record_exception = rec;
        ((ctl_span *)span)->set_status_on_exception = status;
    }
    return span;
}

static PyObject *cm_new(OTelTracerObject *self, PyObject *args, PyObject *kwargs);

static PyMethodDef tracer_methods[] = {
    {"start_span", (PyCFunction)(void (*)(void))tracer_start_span, METH_VARARGS | METH_KEYWORDS,
     "start_span($self, /, name, context=None, kind=SpanKind.INTERNAL, attributes=None, "
     "links=None, start_time=None, record_exception=True, set_status_on_exception=True)\n--\n\n"
     "Start a span (child of the span in `context`, else of the current span)."},
    {"start_as_current_span", (PyCFunction)(void (*)(void))cm_new, METH_VARARGS | METH_KEYWORDS,
     "start_as_current_span($self, /, name, context=None, kind=SpanKind.INTERNAL, "
     "attributes=None, links=None, start_time=None, record_exception=True, "
     "set_status_on_exception=True, end_on_exit=True)\n--\n\n"
     "A context manager (or decorator) running its block in a new current span."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot tracer_slots[] = {
    {Py_tp_dealloc, ctl_dealloc},
    {Py_tp_traverse, tracer_traverse},
    {Py_tp_clear, tracer_clear},
    {Py_tp_methods, tracer_methods},
    {Py_tp_doc, "An OpenTelemetry Tracer whose spans go into the run's trace."},
    CTL_COMPAT_NO_NEW{0, NULL},
};

PyType_Spec ctl_otel_tracer_spec = {
    .name = "chaostracing.control.OpenTelemetryTracer",
    .basicsize = sizeof(OTelTracerObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = tracer_slots,
};

/* ---- start_as_current_span ---- */

static int cm_traverse(CMObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->tracer);
    Py_VISIT(self->name);
    Py_VISIT(self->context);
    Py_VISIT(self->kind);
    Py_VISIT(self->attributes);
    Py_VISIT(self->links);
    Py_VISIT(self->start_time);
    Py_VISIT(self->func);
    Py_VISIT(self->span);
    Py_VISIT(self->token);
    return 0;
}

static int cm_clear(CMObject *self)
{
    Py_CLEAR(self->tracer);
    Py_CLEAR(self->name);
    Py_CLEAR(self->context);
    Py_CLEAR(self->kind);
    Py_CLEAR(self->attributes);
    Py_CLEAR(self->links);
    Py_CLEAR(self->start_time);
    Py_CLEAR(self->func);
    Py_CLEAR(self->span);
    Py_CLEAR(self->token);
    return 0;
}

static CMObject *cm_alloc(ctl_state *st)
{
    CMObject *cm = PyObject_GC_New(CMObject, (PyTypeObject *)st->otel_cm_type);
    if (!cm)
        return NULL;
    cm->tracer = cm->name = cm->context = cm->kind = cm->attributes = cm->links = cm->start_time =
        cm->func = cm->span = cm->token = NULL;
    cm->record_exception = cm->set_status_on_exception = cm->end_on_exit = true;
    cm->is_async = false;
    PyObject_GC_Track(cm);
    return cm;
}

static PyObject *cm_new(OTelTracerObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"name",
                             "context",
                             "kind",
                             "attributes",
                             "links",
                             "start_time",
                             "record_exception",
                             "set_status_on_exception",
                             "end_on_exit",
                             NULL};
    PyObject *name, *context = NULL, *kind = NULL, *attrs = NULL, *links = NULL, *start = NULL;
    int rec = 1, status = 1, end = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|OOOOOppp", kwlist, &name, &context, &kind,
                                     &attrs, &links, &start, &rec, &status, &end))
        return NULL;
    CMObject *cm = cm_alloc(ctl_get_state(self->module));
    if (!cm)
        return NULL;
    cm->tracer = Py_NewRef(self);
    cm->name = Py_NewRef(name);
    cm->context = Py_XNewRef(context);
    cm->kind = Py_XNewRef(kind);
    cm->attributes = Py_XNewRef(attrs);
    cm->links = Py_XNewRef(links);
    cm->start_time = Py_XNewRef(start);
    cm->record_exception = rec;
    cm->set_status_on_exception = status;
    cm->end_on_exit = end;
    return (PyObject *)cm;
}

static ctl_state *cm_state(CMObject *cm)
{
    return ctl_get_state(((OTelTracerObject *)cm->tracer)->module);
}

/* Start the span and make it current: the span, and *token. */
PyObject *ctl_otel_cm_start(PyObject *self, PyObject **token)
{
    CMObject *cm = (CMObject *)self;
    PyObject *span = otel_start((OTelTracerObject *)cm->tracer, cm->name, cm->context, cm->kind,
                                cm->attributes, cm->links, cm->start_time);
    if (!span)
        return NULL;
    *token = ctl_current_push(cm_state(cm), span);
    if (!*token) {
        Py_DECREF(span);
        return NULL;
    }
    return span;
}

/* Leave: the span stops being current, the exception (if any) is recorded
 * as the API does, and the span ends (end_on_exit). */
void ctl_otel_cm_finish(PyObject *self, PyObject *span, PyObject *token, PyObject *exc)
{
    CMObject *cm = (CMObject *)self;
    ctl_state *st = cm_state(cm);
    ctl_current_pop(st, token);
    /* As the API's use_span(): an Exception, not an interrupt or exit. */
    if (exc && exc != Py_None && PyErr_GivenExceptionMatches(exc, PyExc_Exception))
        ctl_span_record((ctl_span *)span, exc, NULL, 0, true, cm->set_status_on_exception,
                        cm->record_exception);
    if (cm->end_on_exit)
        ctl_span_end_at((ctl_span *)span, 0);
}

static PyObject *cm_enter(CMObject *self, PyObject *unused)
{
    (void)unused;
    if (self->span || self->func) {
        PyErr_SetString(PyExc_RuntimeError, "start_as_current_span() can be entered once");
        return NULL;
    }
    PyObject *token = NULL;
    PyObject *span = ctl_otel_cm_start((PyObject *)self, &token);
    if (!span)
        return NULL;
    self->span = span;
    self->token = token;
    return ctl_api_return(Py_NewRef(span));
}

static PyObject *cm_exit(CMObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *span = self->span, *token = self->token;
    self->span = self->token = NULL;
    if (span) {
        ctl_otel_cm_finish((PyObject *)self, span, token, nargs >= 2 ? args[1] : NULL);
        Py_DECREF(span);
        Py_XDECREF(token);
    }
    PyObject *r = ctl_hook_return();
    if (!r)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

/* True when `func` is a coroutine function (as inspect, which an
 * extension's code has loaded when it has any, sees it). */
static bool is_coroutine_function(PyObject *func)
{
    PyObject *inspect = PyImport_ImportModule("inspect");
    PyObject *r = inspect ? PyObject_CallMethod(inspect, "iscoroutinefunction", "O", func) : NULL;
    int yes = r ? PyObject_IsTrue(r) : 0;
    Py_XDECREF(r);
    Py_XDECREF(inspect);
    ctl_hold_error();
    return yes > 0;
}

/* As a decorator: cm(func) is a function running each call in a new span;
 * calling that runs func. inspect.signature() follows __wrapped__, so
 * chaoslib still sees the function's own arguments. A coroutine function
 * gives a coroutine function: each call's coroutine runs in its span, from
 * its first step to its end (otel_async.c), as the API's decorator does. */
static PyObject *cm_call(CMObject *self, PyObject *args, PyObject *kwargs)
{
    if (!self->func) {
        if (PyTuple_GET_SIZE(args) != 1 || (kwargs && PyDict_GET_SIZE(kwargs)) ||
            !PyCallable_Check(PyTuple_GET_ITEM(args, 0))) {
            PyErr_SetString(PyExc_TypeError, "start_as_current_span(...) decorates a function");
            return NULL;
        }
        CMObject *d = cm_alloc(cm_state(self));
        if (!d)
            return NULL;
        d->tracer = Py_NewRef(self->tracer);
        d->name = Py_NewRef(self->name);
        d->context = Py_XNewRef(self->context);
        d->kind = Py_XNewRef(self->kind);
        d->attributes = Py_XNewRef(self->attributes);
        d->links = Py_XNewRef(self->links);
        d->start_time = Py_XNewRef(self->start_time);
        d->record_exception = self->record_exception;
        d->set_status_on_exception = self->set_status_on_exception;
        d->end_on_exit = self->end_on_exit;
        d->func = Py_NewRef(PyTuple_GET_ITEM(args, 0));
        d->is_async = is_coroutine_function(d->func);
        return ctl_api_return((PyObject *)d);
    }
    if (self->is_async)
        return ctl_otel_coroutine_new(cm_state(self), (PyObject *)self, self->func, args, kwargs);
    PyObject *token = NULL;
    PyObject *span = ctl_otel_cm_start((PyObject *)self, &token);
    if (!span)
        return NULL;
    PyObject *r = PyObject_Call(self->func, args, kwargs);
    PyObject *exc = r ? NULL : ctl_err_take();
    ctl_otel_cm_finish((PyObject *)self, span, token, exc);
    Py_DECREF(span);
    Py_DECREF(token);
    if (!r)
        ctl_err_restore(exc); /* steals it */
    return ctl_api_return(r);
}

static PyObject *cm_wrapped(CMObject *self, void *name)
{
    if (!self->func) {
        PyErr_SetString(PyExc_AttributeError, (const char *)name);
        return NULL;
    }
    if (strcmp((const char *)name, "__wrapped__") == 0)
        return Py_NewRef(self->func);
    return PyObject_GetAttrString(self->func, (const char *)name);
}

/* What inspect (3.12+) and asyncio look for to call a decorated coroutine
 * function one: their marker objects, only when the function is one. */
static PyObject *cm_marker(CMObject *self, void *which)
{
    const char *mod = which ? "asyncio.coroutines" : "inspect";
    const char *name = which ? "_is_coroutine" : "_is_coroutine_mark";
    PyObject *m = self->is_async ? PyImport_ImportModule(mod) : NULL;
    PyObject *r = m ? PyObject_GetAttrString(m, name) : NULL;
    Py_XDECREF(m);
    if (!r) {
        PyErr_Clear();
        PyErr_SetString(PyExc_AttributeError, which ? "_is_coroutine" : "_is_coroutine_marker");
    }
    return r;
}

/* A decorated coroutine function shows the function's code, defaults and
 * annotations, so inspect.iscoroutinefunction() (before 3.12's marker) takes
 * it for what it stands for, as the API's `async def` wrapper is. */
static PyObject *cm_async_attr(CMObject *self, void *name)
{
    if (!self->is_async) {
        PyErr_SetString(PyExc_AttributeError, (const char *)name);
        return NULL;
    }
    return PyObject_GetAttrString(self->func, (const char *)name);
}

/* A decorated function used as a method binds like one. */
static PyObject *cm_descr_get(PyObject *self, PyObject *obj, PyObject *type)
{
    (void)type;
    if (!((CMObject *)self)->func || !obj || obj == Py_None)
        return Py_NewRef(self);
    return PyMethod_New(self, obj);
}

static PyMethodDef cm_methods[] = {
    {"__enter__", (PyCFunction)cm_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))cm_exit, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef cm_getset[] = {
    {"__wrapped__", (getter)cm_wrapped, NULL, "The decorated function.", "__wrapped__"},
    {"__name__", (getter)cm_wrapped, NULL, NULL, "__name__"},
    {"__qualname__", (getter)cm_wrapped, NULL, NULL, "__qualname__"},
    {"__module__", (getter)cm_wrapped, NULL, NULL, "__module__"},
    {"_is_coroutine_marker", (getter)cm_marker, NULL, NULL, NULL},
    {"__code__", (getter)cm_async_attr, NULL, NULL, "__code__"},
    {"__defaults__", (getter)cm_async_attr, NULL, NULL, "__defaults__"},
    {"__kwdefaults__", (getter)cm_async_attr, NULL, NULL, "__kwdefaults__"},
    {"__annotations__", (getter)cm_async_attr, NULL, NULL, "__annotations__"},
    {"_is_coroutine", (getter)cm_marker, NULL, NULL, "asyncio"},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot cm_slots[] = {
    {Py_tp_dealloc, ctl_dealloc},
    {Py_tp_traverse, cm_traverse},
    {Py_tp_clear, cm_clear},
    {Py_tp_methods, cm_methods},
    {Py_tp_getset, cm_getset},
    {Py_tp_call, cm_call},
    {Py_tp_descr_get, cm_descr_get},
    {Py_tp_doc, "start_as_current_span(): `with` it, or decorate a function with it."},
    CTL_COMPAT_NO_NEW{0, NULL},
};

PyType_Spec ctl_otel_cm_spec = {
    .name = "chaostracing.control.CurrentSpan",
    .basicsize = sizeof(CMObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = cm_slots,
};

/* ---- TracerProvider ---- */

static PyObject *provider_get_tracer(ProviderObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"instrumenting_module_name", "instrumenting_library_version",
                             "schema_url", "attributes", NULL};
    PyObject *name = NULL, *version = NULL, *schema = NULL, *attrs = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|OOOO", kwlist, &name, &version, &schema,
                                     &attrs))
        return NULL;
    ctl_state *st = ctl_get_state(self->module);
    OTelTracerObject *t = PyObject_GC_New(OTelTracerObject, (PyTypeObject *)st->otel_tracer_type);
    if (!t)
        return NULL;
    t->module = Py_NewRef(self->module);
    t->scope = name && PyUnicode_Check(name) && PyUnicode_GET_LENGTH(name) ? Py_NewRef(name) : NULL;
    PyObject_GC_Track(t);
    return (PyObject *)t;
}

static PyObject *provider_force_flush(ProviderObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"timeout_millis", NULL};
    unsigned int ms = 30000;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|I", kwlist, &ms))
        return NULL;
    ctl_state *st = ctl_get_state(self->module);
    /* Our own reference: cleanup may free the run's tracer meanwhile. */
    struct ctr_tracer *t = ctr_tracer_retain(st->tracer);
    int rc = 0;
    if (t) {
        Py_BEGIN_ALLOW_THREADS;
        rc = ctr_tracer_force_flush(t, ctr_deadline_after_ms(ms));
        ctr_tracer_release(t);
        Py_END_ALLOW_THREADS;
    }
    return PyBool_FromLong(rc == 0);
}

static PyObject *provider_shutdown(ProviderObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    Py_RETURN_NONE; /* the control ends the run's tracing, at cleanup */
}

static PyMethodDef provider_methods[] = {
    {"get_tracer", (PyCFunction)(void (*)(void))provider_get_tracer, METH_VARARGS | METH_KEYWORDS,
     "get_tracer($self, /, instrumenting_module_name, instrumenting_library_version=None, "
     "schema_url=None, attributes=None)\n--\n\nA Tracer whose spans go into the run's trace."},
    {"force_flush", (PyCFunction)(void (*)(void))provider_force_flush, METH_VARARGS | METH_KEYWORDS,
     "force_flush($self, /, timeout_millis=30000)\n--\n\nSend what is queued; True when done."},
    {"shutdown", (PyCFunction)provider_shutdown, METH_NOARGS,
     "shutdown($self, /)\n--\n\nNothing: the control ends tracing when the run ends."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot provider_slots[] = {
    CTL_HOLDER_SLOTS,
    {Py_tp_methods, provider_methods},
    {Py_tp_doc, "The OpenTelemetry TracerProvider of chaostracing: its tracers' spans go into "
                "the traced run, through the control's C tracer and exporter."},
    CTL_COMPAT_NO_NEW{0, NULL},
};

PyType_Spec ctl_otel_provider_spec = {
    .name = "chaostracing.control.TracerProvider",
    .basicsize = sizeof(ProviderObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = provider_slots,
};

PyObject *ctl_otel_provider_new(PyObject *module)
{
    return ctl_holder_new(ctl_get_state(module)->otel_provider_type, module);
}
