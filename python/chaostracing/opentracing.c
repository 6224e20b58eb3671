/*
 * OpenTracing, as the original chaostoolkit-opentracing README tells
 * extension authors to use it: opentracing.global_tracer() is this tracer
 * while a traced run is on (when the `opentracing` package is installed;
 * nothing here needs it otherwise), `scope_manager.active` is the current
 * span (the activity's own in the thread it runs in, background activities
 * included), and spans are our Span objects with OpenTracing's methods.
 */
#include "binding.h"

#include <string.h>

typedef struct {
    PyObject_HEAD PyObject *module;
    PyObject *manager;
} OTTracerObject;

typedef ctl_holder OTManagerObject;

typedef struct {
    PyObject_HEAD PyObject *module;
    PyObject *span;
    PyObject *token; /* NULL: a view of the current span, not ours to pop */
    bool finish_on_close;
} OTScopeObject;

/* ---- Scope ---- */

static PyObject *scope_new(PyObject *module, PyObject *span, PyObject *token, bool finish)
{
    ctl_state *st = ctl_get_state(module);
    OTScopeObject *s = PyObject_GC_New(OTScopeObject, (PyTypeObject *)st->ot_scope_type);
    if (!s)
        return NULL;
    s->module = Py_NewRef(module);
    s->span = Py_NewRef(span);
    s->token = Py_XNewRef(token);
    s->finish_on_close = finish;
    PyObject_GC_Track(s);
    return (PyObject *)s;
}

static int scope_traverse(OTScopeObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->module);
    Py_VISIT(self->span);
    Py_VISIT(self->token);
    return 0;
}

static int scope_clear(OTScopeObject *self)
{
    Py_CLEAR(self->module);
    Py_CLEAR(self->span);
    Py_CLEAR(self->token);
    return 0;
}

static PyObject *scope_close(OTScopeObject *self, PyObject *unused)
{
    (void)unused;
    PyObject *token = self->token;
    self->token = NULL;
    if (token) {
        ctl_current_pop(ctl_get_state(self->module), token);
        Py_DECREF(token);
    }
    if (self->finish_on_close && ctl_span_check(ctl_get_state(self->module), self->span))
        ctl_span_end_at((ctl_span *)self->span, 0);
    self->finish_on_close = false;
    return ctl_hook_return();
}

static PyObject *scope_enter(OTScopeObject *self, PyObject *unused)
{
    (void)unused;
    return Py_NewRef(self);
}

static PyObject *scope_exit(OTScopeObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    ctl_state *st = ctl_get_state(self->module);
    if (nargs >= 2 && args[1] != Py_None && ctl_span_check(st, self->span))
        ctl_span_record((ctl_span *)self->span, args[1], NULL, 0, true, true, true);
    PyObject *r = scope_close(self, NULL);
    if (!r)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static PyObject *scope_span(OTScopeObject *self, void *unused)
{
    (void)unused;
    return Py_NewRef(self->span);
}

static PyObject *scope_manager(OTScopeObject *self, void *unused)
{
    (void)unused;
    PyObject *t = ctl_ot_tracer(self->module);
    PyObject *m = t ? Py_NewRef(((OTTracerObject *)t)->manager) : NULL;
    Py_XDECREF(t);
    return m;
}

static PyMethodDef scope_methods[] = {
    {"close", (PyCFunction)scope_close, METH_NOARGS,
     "close($self, /)\n--\n\nEnd this scope (and the span, when finish_on_close)."},
    {"__enter__", (PyCFunction)scope_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))scope_exit, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef scope_getset[] = {
    {"span", (getter)scope_span, NULL, "The span of this scope.", NULL},
    {"manager", (getter)scope_manager, NULL, "The scope manager.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot scope_slots[] = {
    {Py_tp_dealloc, ctl_dealloc}, {Py_tp_traverse, scope_traverse},
    {Py_tp_clear, scope_clear},   {Py_tp_methods, scope_methods},
    {Py_tp_getset, scope_getset}, {Py_tp_doc, "An OpenTracing scope: an active span."},
    CTL_COMPAT_NO_NEW{0, NULL},
};

PyType_Spec ctl_ot_scope_spec = {
    .name = "chaostracing.control.Scope",
    .basicsize = sizeof(OTScopeObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = scope_slots,
};

/* ---- ScopeManager ---- */

/* The active scope: the current span's (the activity's in its thread);
 * outside a traced run a scope whose span records nothing, as OpenTracing's
 * no-op tracer has it, so `scope_manager.active.span` always works. */
static PyObject *manager_active(OTManagerObject *self, void *unused)
{
    (void)unused;
    PyObject *span = ctl_api_current_span(self->module, NULL);
    PyObject *scope = span ? scope_new(self->module, span, NULL, false) : NULL;
    Py_XDECREF(span);
    return ctl_api_return(scope);
}

static PyObject *activate(PyObject *module, PyObject *span, bool finish)
{
    ctl_state *st = ctl_get_state(module);
    if (!ctl_span_check(st, span)) {
        PyErr_Format(PyExc_TypeError, "activate() wants a span of this tracer, not %R", span);
        return NULL;
    }
    PyObject *token = ctl_current_push(st, span);
    if (!token)
        return NULL;
    PyObject *scope = scope_new(module, span, token, finish);
    if (!scope)
        ctl_current_pop(st, token);
    Py_DECREF(token);
    return ctl_api_return(scope);
}

static PyObject *manager_activate(OTManagerObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"span", "finish_on_close", NULL};
    PyObject *span;
    int finish = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "Op", kwlist, &span, &finish))
        return NULL;
    return activate(self->module, span, finish);
}

static PyMethodDef manager_methods[] = {
    {"activate", (PyCFunction)(void (*)(void))manager_activate, METH_VARARGS | METH_KEYWORDS,
     "activate($self, /, span, finish_on_close)\n--\n\nMake `span` active; returns its Scope."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef manager_getset[] = {
    {"active", (getter)manager_active, NULL, "The active scope.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot manager_slots[] = {
    CTL_HOLDER_SLOTS,
    {Py_tp_methods, manager_methods},
    {Py_tp_getset, manager_getset},
    {Py_tp_doc, "The OpenTracing scope manager: contexts and threads keep their own scopes; an "
                "activity's thread starts with the activity's."},
    CTL_COMPAT_NO_NEW{0, NULL},
};

PyType_Spec ctl_ot_scope_manager_spec = {
    .name = "chaostracing.control.ScopeManager",
    .basicsize = sizeof(ctl_holder),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = manager_slots,
};

/* ---- Tracer ---- */

static int tracer_traverse(OTTracerObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->module);
    Py_VISIT(self->manager);
    return 0;
}

static int tracer_clear(OTTracerObject *self)
{
    Py_CLEAR(self->module);
    Py_CLEAR(self->manager);
    return 0;
}

/* A reference's type ("child_of", "follows_from") and context. */
static bool reference(PyObject *ref, bool *child_of, PyObject **context)
{
    PyObject *type = PyObject_GetAttrString(ref, "type");
    *context = type ? PyObject_GetAttrString(ref, "referenced_context") : NULL;
    *child_of =
        type && PyUnicode_Check(type) && PyUnicode_CompareWithASCIIString(type, "child_of") == 0;
    Py_XDECREF(type);
    ctl_hold_error();
    return *context != NULL;
}

/* start_span's arguments as OpenTracing has them: the parent is child_of,
 * else the first child_of reference, else the first reference, else the
 * active span (unless ignore_active_span); other references become links;
 * tag "span.kind" sets the kind and "error" an error status. */
static PyObject *ot_start(OTTracerObject *self, PyObject *args, PyObject *kwargs, bool active,
                          int *finish_on_close)
{
    static char *kw_active[] = {"operation_name", "child_of",           "references",      "tags",
                                "start_time",     "ignore_active_span", "finish_on_close", NULL};
    static char *kw_span[] = {"operation_name", "child_of",           "references", "tags",
                              "start_time",     "ignore_active_span", NULL};
    PyObject *name = Py_None, *child_of = Py_None, *refs = Py_None, *tags = Py_None,
             *start = Py_None;
    int ignore = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, active ? "O|OOOOpp" : "|OOOOOp",
                                     active ? kw_active : kw_span, &name, &child_of, &refs, &tags,
                                     &start, &ignore, finish_on_close))
        return NULL;
    ctl_state *st = ctl_get_state(self->module);
    struct ctl_start a = {.name = "", .kind = CTR_KIND_INTERNAL};
    Py_ssize_t nlen = 0;
    PyObject *nb = name != Py_None ? ctl_utf8(name, &a.name, &nlen) : NULL;
    if (name != Py_None && !nb) {
        PyErr_SetString(PyExc_TypeError, "operation_name must be a str");
        return NULL;
    }
    a.nlen = (size_t)nlen;
    PyObject *links = PyList_New(0), *kind = NULL, *result = NULL;
    if (!links || ctl_time_from_py(start, true, &a.start_ns) < 0)
        goto out;
    PyObject *parent = child_of != Py_None ? child_of : NULL;
    PyObject *it = refs != Py_None ? PyObject_GetIter(refs) : NULL;
    if (refs != Py_None && !it)
        goto out;
    PyObject *ref, *first = NULL, *keep = NULL;
    while (it && (ref = PyIter_Next(it)) != NULL) {
        bool is_child;
        PyObject *ctx;
        if (reference(ref, &is_child, &ctx)) {
            if (!parent && is_child && !keep)
                parent = keep = Py_NewRef(ctx);
            else if (!first)
                first = Py_NewRef(ctx);
            else if (PyList_Append(links, ctx) < 0)
                ctl_hold_error();
            Py_DECREF(ctx);
        }
        Py_DECREF(ref);
    }
    Py_XDECREF(it);
    if (first && !parent)
        parent = keep = Py_NewRef(first);
    else if (first && PyList_Append(links, first) < 0)
        ctl_hold_error();
    Py_XDECREF(first);
    if (PyErr_Occurred())
        goto out_keep;
    if (parent) {
        int has = ctl_context_from_py(st, parent, &a.parent_ctx, &a.baggage, a.parent_ts);
        if (has < 0)
            goto out_keep;
        a.parent = has ? 1 : -1;
    } else {
        a.parent = ignore ? -1 : 0;
    }
    if (tags != Py_None && PyDict_Check(tags)) {
        kind = PyDict_GetItemString(tags, "span.kind");
        if (kind && ctl_kind_from_py(kind, &a.kind) < 0)
            ctl_hold_error(); /* an unknown kind stays a tag */
    }
    a.attributes = tags;
    a.links = links;
    result = ctl_start_span_from(self->module, &a);
    PyObject *error = result && tags != Py_None && PyDict_Check(tags)
                          ? PyDict_GetItemString(tags, "error")
                          : NULL;
    if (error && PyObject_IsTrue(error) == 1) {
        struct ctr_span *sp = ctl_span_target(st, (ctl_span *)result);
        if (sp)
            ctr_span_set_status(sp, CTR_STATUS_ERROR, NULL, 0);
    }
    if (result)
        ctl_hold_error(); /* what a truth test raised; an interrupt comes back below */
out_keep:
    Py_XDECREF(keep);
out:
    Py_XDECREF(links);
    Py_XDECREF(nb);
    return ctl_api_return(result);
}

static PyObject *tracer_start_span(OTTracerObject *self, PyObject *args, PyObject *kwargs)
{
    int unused = 0;
    return ot_start(self, args, kwargs, false, &unused);
}

static PyObject *tracer_start_active_span(OTTracerObject *self, PyObject *args, PyObject *kwargs)
{
    int finish = 1;
    PyObject *span = ot_start(self, args, kwargs, true, &finish);
    if (!span)
        return NULL;
    PyObject *scope = activate(self->module, span, finish);
    Py_DECREF(span);
    return scope;
}

/* Formats: "http_headers" and "text_map" (opentracing.Format); others are
 * refused with opentracing's UnsupportedFormatException when it is there. */
static int check_format(PyObject *format)
{
    if (PyUnicode_Check(format) && (PyUnicode_CompareWithASCIIString(format, "http_headers") == 0 ||
                                    PyUnicode_CompareWithASCIIString(format, "text_map") == 0))
        return 0;
    PyObject *mod = PyImport_ImportModule("opentracing");
    PyObject *exc = mod ? PyObject_GetAttrString(mod, "UnsupportedFormatException") : NULL;
    ctl_hold_error();
    PyErr_Format(exc ? exc : PyExc_ValueError,
                 "format %R is not supported: use http_headers or text_map", format);
    Py_XDECREF(exc);
    Py_XDECREF(mod);
    return -1;
}

static PyObject *tracer_inject(OTTracerObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"span_context", "format", "carrier", NULL};
    PyObject *context, *format, *carrier;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO", kwlist, &context, &format, &carrier) ||
        check_format(format) < 0)
        return NULL;
    ctl_state *st = ctl_get_state(self->module);
    struct ctr_span_context ctx;
    char ts[CTR_TRACESTATE_MAX + 1];
    PyObject *bag = NULL;
    int has = ctl_context_from_py(st, context, &ctx, &bag, ts); /* a span is accepted too */
    if (has < 0)
        return NULL;
    Py_XINCREF(bag);
    int rc = has ? ctl_inject_into(st, &ctx, bag, carrier, NULL) : 0;
    Py_XDECREF(bag);
    if (rc < 0)
        return NULL;
    return ctl_api_return(Py_NewRef(Py_None));
}

static PyObject *tracer_extract(OTTracerObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"format", "carrier", NULL};
    PyObject *format, *carrier;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO", kwlist, &format, &carrier) ||
        check_format(format) < 0)
        return NULL;
    return ctl_extract_from(ctl_get_state(self->module), carrier);
}

static PyObject *tracer_scope_manager(OTTracerObject *self, void *unused)
{
    (void)unused;
    return Py_NewRef(self->manager);
}

static PyObject *tracer_active_span(OTTracerObject *self, void *unused)
{
    (void)unused;
    PyObject *s = ctl_current_span(ctl_get_state(self->module), self->module);
    return ctl_api_return(s || PyErr_Occurred() ? s : Py_NewRef(Py_None));
}

static PyMethodDef tracer_methods[] = {
    {"start_span", (PyCFunction)(void (*)(void))tracer_start_span, METH_VARARGS | METH_KEYWORDS,
     "start_span($self, /, operation_name=None, child_of=None, references=None, tags=None, "
     "start_time=None, ignore_active_span=False)\n--\n\n"
     "Start a span, child of child_of (a span or context) or else of the active span."},
    {"start_active_span", (PyCFunction)(void (*)(void))tracer_start_active_span,
     METH_VARARGS | METH_KEYWORDS,
     "start_active_span($self, /, operation_name, child_of=None, references=None, tags=None, "
     "start_time=None, ignore_active_span=False, finish_on_close=True)\n--\n\n"
     "Start a span and make it active; returns its Scope."},
    {"inject", (PyCFunction)(void (*)(void))tracer_inject, METH_VARARGS | METH_KEYWORDS,
     "inject($self, /, span_context, format, carrier)\n--\n\n"
     "Add the propagation headers of a span or span context to a dict (formats http_headers "
     "and text_map), in the formats the control is configured with."},
    {"extract", (PyCFunction)(void (*)(void))tracer_extract, METH_VARARGS | METH_KEYWORDS,
     "extract($self, /, format, carrier)\n--\n\nThe SpanContext of a carrier, or None."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef tracer_getset[] = {
    {"scope_manager", (getter)tracer_scope_manager, NULL, "The scope manager.", NULL},
    {"active_span", (getter)tracer_active_span, NULL, "The active span, or None.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot tracer_slots[] = {
    {Py_tp_dealloc, ctl_dealloc},
    {Py_tp_traverse, tracer_traverse},
    {Py_tp_clear, tracer_clear},
    {Py_tp_methods, tracer_methods},
    {Py_tp_getset, tracer_getset},
    {Py_tp_doc, "The OpenTracing tracer of chaostracing (opentracing.global_tracer() while a "
                "traced run is on)."},
    CTL_COMPAT_NO_NEW{0, NULL},
};

PyType_Spec ctl_ot_tracer_spec = {
    .name = "chaostracing.control.OpenTracingTracer",
    .basicsize = sizeof(OTTracerObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = tracer_slots,
};

PyObject *ctl_ot_tracer(PyObject *module)
{
    ctl_state *st = ctl_get_state(module);
    if (!st->ot_tracer) {
        PyObject *m = ctl_holder_new(st->ot_scope_manager_type, module);
        if (!m)
            return NULL;
        OTTracerObject *t = PyObject_GC_New(OTTracerObject, (PyTypeObject *)st->ot_tracer_type);
        if (!t) {
            Py_DECREF(m);
            return NULL;
        }
        t->module = Py_NewRef(module);
        t->manager = m;
        PyObject_GC_Track(t);
        st->ot_tracer = (PyObject *)t;
    }
    return Py_NewRef(st->ot_tracer);
}

void ctl_ot_register(ctl_state *st, PyObject *module)
{
    if (st->ot_previous)
        return;
    PyObject *ot = PyImport_ImportModule("opentracing");
    if (!ot) {
        ctl_hold_error(); /* not installed: nothing to do */
        return;
    }
    PyObject *prev = PyObject_GetAttrString(ot, "tracer");
    PyObject *reg = PyObject_GetAttrString(ot, "is_tracer_registered");
    PyObject *ours = prev ? ctl_ot_tracer(module) : NULL;
    PyObject *r = ours ? PyObject_CallMethod(ot, "set_global_tracer", "O", ours) : NULL;
    if (r) {
        st->ot_previous = Py_NewRef(prev);
        st->ot_previous_registered = reg ? PyObject_IsTrue(reg) == 1 : 0;
        ctl_log(st, CTR_LOG_DEBUG, "opentracing.global_tracer() is chaostracing's for this run");
    } else {
        ctl_logf(st, CTR_LOG_WARNING, "the OpenTracing tracer could not be registered");
    }
    Py_XDECREF(r);
    Py_XDECREF(ours);
    Py_XDECREF(reg);
    Py_XDECREF(prev);
    Py_DECREF(ot);
    ctl_hold_error();
}

void ctl_ot_unregister(ctl_state *st)
{
    PyObject *prev = st->ot_previous;
    if (!prev)
        return;
    st->ot_previous = NULL;
    PyObject *ot = PyImport_ImportModule("opentracing");
    PyObject *current = ot ? PyObject_GetAttrString(ot, "tracer") : NULL;
    if (current && current == st->ot_tracer) { /* nobody replaced ours meanwhile */
        if (PyObject_SetAttrString(ot, "tracer", prev) < 0 ||
            PyObject_SetAttrString(ot, "is_tracer_registered",
                                   st->ot_previous_registered ? Py_True : Py_False) < 0)
            ctl_hold_error();
    }
    Py_XDECREF(current);
    Py_XDECREF(ot);
    Py_DECREF(prev);
    ctl_hold_error();
}
