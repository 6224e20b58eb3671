/*
 * OpenTelemetry's global text-map propagator, while our TracerProvider is
 * the global one: the formats the control is configured with (tracing_
 * propagation, OTEL_PROPAGATORS, otel_vendor), written and read by the
 * library, so opentelemetry.propagate.inject() and the instrumentations send
 * what the control's own HTTP activities send. The one set before comes
 * back at cleanup.
 */
#include "binding.h"

#include <string.h>

typedef ctl_holder PropagatorObject;

/* OpenTelemetry baggage of `context` merged into `bag` (a new dict). */
static PyObject *baggage_with(PyObject *context, PyObject *bag)
{
    PyObject *d = bag ? PyDict_Copy(bag) : PyDict_New();
    PyObject *mod = d ? PyImport_ImportModule("opentelemetry.baggage") : NULL;
    PyObject *all =
        mod ? PyObject_CallMethod(mod, "get_all", "O", context ? context : Py_None) : NULL;
    if (all && PyDict_Update(d, all) < 0)
        ctl_hold_error();
    Py_XDECREF(all);
    Py_XDECREF(mod);
    ctl_hold_error();
    return d;
}

static PyObject *prop_inject(PropagatorObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"carrier", "context", "setter", NULL};
    PyObject *carrier, *context = Py_None, *setter = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|OO", kwlist, &carrier, &context, &setter))
        return NULL;
    ctl_state *st = ctl_get_state(self->module);
    if (!ctl_otel_on(st))
        return ctl_api_return(Py_NewRef(Py_None));
    PyObject *span = PyObject_CallOneArg(st->otel.get_current_span, context);
    if (!span)
        return NULL;
    struct ctr_span_context ctx;
    char ts[CTR_TRACESTATE_MAX + 1];
    PyObject *own = NULL;
    int has = ctl_context_from_py(st, span, &ctx, &own, ts);
    /* Without a span the baggage still travels, in the W3C header alone (as
     * OpenTelemetry's baggage propagator writes it). */
    PyObject *bag = has >= 0 ? baggage_with(context, has > 0 ? own : NULL) : NULL;
    int rc = bag ? ctl_inject_into(st, has > 0 ? &ctx : NULL, bag, carrier,
                                   setter != Py_None ? setter : NULL)
                 : (has < 0 ? -1 : 0);
    Py_XDECREF(bag);
    Py_DECREF(span);
    if (rc < 0)
        return NULL;
    return ctl_api_return(Py_NewRef(Py_None));
}

/* The carrier's items through an OpenTelemetry Getter (first values). */
static PyObject *items_through(PyObject *carrier, PyObject *getter)
{
    if (getter == Py_None)
        return PyDict_Check(carrier) ? PyDict_Copy(carrier) : NULL;
    PyObject *d = PyDict_New();
    PyObject *name = d ? PyUnicode_FromString("keys") : NULL;
    PyObject *keys = name ? PyObject_CallMethodOneArg(getter, name, carrier) : NULL;
    Py_XDECREF(name);
    PyObject *it = keys ? PyObject_GetIter(keys) : NULL;
    PyObject *k;
    while (it && (k = PyIter_Next(it)) != NULL) {
        PyObject *vals = PyObject_CallMethod(getter, "get", "OO", carrier, k);
        PyObject *first =
            vals && vals != Py_None && PySequence_Check(vals) && PySequence_Size(vals) > 0
                ? PySequence_GetItem(vals, 0)
                : NULL;
        if (first && PyDict_SetItem(d, k, first) < 0)
            ctl_hold_error();
        Py_XDECREF(first);
        Py_XDECREF(vals);
        Py_DECREF(k);
        ctl_hold_error();
    }
    Py_XDECREF(it);
    Py_XDECREF(keys);
    ctl_hold_error();
    return d;
}

static PyObject *prop_extract(PropagatorObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"carrier", "context", "getter", NULL};
    PyObject *carrier, *context = Py_None, *getter = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|OO", kwlist, &carrier, &context, &getter))
        return NULL;
    ctl_state *st = ctl_get_state(self->module);
    PyObject *trace = PyImport_ImportModule("opentelemetry.trace");
    PyObject *ctxmod = trace ? PyImport_ImportModule("opentelemetry.context") : NULL;
    PyObject *result = NULL;
    if (!ctxmod)
        goto out;
    result = context != Py_None ? Py_NewRef(context) : PyObject_CallMethod(ctxmod, "Context", NULL);
    PyObject *items = result ? items_through(carrier, getter) : NULL;
    PyObject *bag = NULL;
    PyObject *sc = items ? ctl_extract_parts(st, items, &bag) : NULL;
    Py_XDECREF(items);
    if (sc && sc != Py_None) {
        struct ctr_span_context ctx;
        PyObject *own;
        ctl_context_get(sc, &ctx, &own);
        PyObject *osc = ctl_otel_span_context(st, &ctx);
        /* (A SpanContext is a tuple: CallMethod's "O" would spread it.) */
        PyObject *cls = osc ? PyObject_GetAttrString(trace, "NonRecordingSpan") : NULL;
        PyObject *nrs = cls ? PyObject_CallOneArg(cls, osc) : NULL;
        PyObject *with =
            nrs ? PyObject_CallMethod(trace, "set_span_in_context", "OO", nrs, result) : NULL;
        if (with)
            Py_SETREF(result, with);
        Py_XDECREF(nrs);
        Py_XDECREF(cls);
        Py_XDECREF(osc);
    }
    /* The baggage, with or without a span context (as OpenTelemetry's
     * baggage propagator reads it), added to the context's own. */
    PyObject *bmod =
        bag && PyDict_GET_SIZE(bag) ? PyImport_ImportModule("opentelemetry.baggage") : NULL;
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (bmod && PyDict_Next(bag, &pos, &k, &v)) {
        PyObject *next = PyObject_CallMethod(bmod, "set_baggage", "OOO", k, v, result);
        if (next)
            Py_SETREF(result, next);
        else
            ctl_hold_error();
    }
    Py_XDECREF(bmod);
    Py_XDECREF(bag);
    Py_XDECREF(sc);
    ctl_hold_error(); /* a step that failed leaves the context as it was */
out:
    Py_XDECREF(ctxmod);
    Py_XDECREF(trace);
    if (!result && !PyErr_Occurred())
        PyErr_SetString(PyExc_RuntimeError, "extract(): no OpenTelemetry context");
    return ctl_api_return(result);
}

static void add_name(void *ud, const char *name, const char *value)
{
    (void)value;
    PyObject *s = PyUnicode_FromString(name);
    if (!s || PySet_Add((PyObject *)ud, s) < 0)
        ctl_hold_error();
    Py_XDECREF(s);
}

/* The header names the configured formats write (found by writing them). */
static PyObject *prop_fields(PropagatorObject *self, void *unused)
{
    (void)unused;
    ctl_state *st = ctl_get_state(self->module);
    PyObject *set = PySet_New(NULL);
    if (!set)
        return NULL;
    struct ctr_span_context ctx = {.trace_flags = 1};
    memset(ctx.trace_id, 0x11, sizeof ctx.trace_id);
    memset(ctx.span_id, 0x22, sizeof ctx.span_id);
    struct ctr_carrier c = {NULL, add_name, set, NULL};
    ctr_propagation_inject(&st->prop, &ctx, "k=v", &c);
    return ctl_api_return(set);
}

static PyMethodDef prop_methods[] = {
    {"inject", (PyCFunction)(void (*)(void))prop_inject, METH_VARARGS | METH_KEYWORDS,
     "inject($self, /, carrier, context=None, setter=None)\n--\n\n"
     "Write the context's span (and baggage) in the control's formats."},
    {"extract", (PyCFunction)(void (*)(void))prop_extract, METH_VARARGS | METH_KEYWORDS,
     "extract($self, /, carrier, context=None, getter=None)\n--\n\n"
     "A Context with the remote span (and baggage) the carrier holds."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef prop_getset[] = {
    {"fields", (getter)prop_fields, NULL, "The header names it writes.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot prop_slots[] = {
    CTL_HOLDER_SLOTS,
    {Py_tp_methods, prop_methods},
    {Py_tp_getset, prop_getset},
    {Py_tp_doc, "An OpenTelemetry TextMapPropagator writing the control's formats."},
    CTL_COMPAT_NO_NEW{0, NULL},
};

PyType_Spec ctl_otel_propagator_spec = {
    .name = "chaostracing.control.Propagator",
    .basicsize = sizeof(ctl_holder),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = prop_slots,
};

void ctl_otel_set_propagator(ctl_state *st, PyObject *module)
{
    if (st->otel.previous_textmap || !st->otel.ours)
        return;
    PyObject *textmap = PyImport_ImportModule("opentelemetry.propagators.textmap");
    PyObject *abc = textmap ? PyObject_GetAttrString(textmap, "TextMapPropagator") : NULL;
    PyObject *reg =
        abc ? PyObject_CallMethod(abc, "register", "O", st->otel_propagator_type) : NULL;
    PyObject *propagate = reg ? PyImport_ImportModule("opentelemetry.propagate") : NULL;
    PyObject *prev = propagate ? PyObject_CallMethod(propagate, "get_global_textmap", NULL) : NULL;
    PyObject *ours = prev ? ctl_holder_new(st->otel_propagator_type, module) : NULL;
    if (ours) {
        PyObject *r = PyObject_CallMethod(propagate, "set_global_textmap", "O", ours);
        if (r) {
            st->otel.previous_textmap = Py_NewRef(prev);
            st->otel.textmap = Py_NewRef(ours);
        }
        Py_XDECREF(r);
    }
    Py_XDECREF(ours);
    Py_XDECREF(prev);
    Py_XDECREF(propagate);
    Py_XDECREF(reg);
    Py_XDECREF(abc);
    Py_XDECREF(textmap);
    ctl_hold_error();
}

void ctl_otel_unset_propagator(ctl_state *st)
{
    PyObject *prev = st->otel.previous_textmap, *ours = st->otel.textmap;
    st->otel.previous_textmap = st->otel.textmap = NULL;
    if (!prev)
        return;
    PyObject *propagate = PyImport_ImportModule("opentelemetry.propagate");
    PyObject *now = propagate ? PyObject_CallMethod(propagate, "get_global_textmap", NULL) : NULL;
    if (now && now == ours) { /* nobody replaced ours meanwhile */
        PyObject *r = PyObject_CallMethod(propagate, "set_global_textmap", "O", prev);
        Py_XDECREF(r);
    }
    Py_XDECREF(now);
    Py_XDECREF(propagate);
    Py_DECREF(prev);
    Py_XDECREF(ours);
    ctl_hold_error();
}
