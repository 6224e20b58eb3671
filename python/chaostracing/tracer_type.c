/*
 * Our API for other extensions: chaostracing.tracer() (one Tracer object,
 * valid across runs: it starts spans in whatever run is on), current_span(),
 * inject(), extract(). The module-level functions do the same work.
 */
#include "binding.h"

typedef ctl_holder TracerObject;

static PyObject *tracer_start_span(TracerObject *self, PyObject *args, PyObject *kwargs)
{
    return ctl_start_span(self->module, args, kwargs);
}

static PyObject *tracer_current_span(TracerObject *self, PyObject *unused)
{
    return ctl_api_current_span(self->module, unused);
}

static PyObject *tracer_inject(TracerObject *self, PyObject *args, PyObject *kwargs)
{
    return ctl_api_inject(self->module, args, kwargs);
}

static PyObject *tracer_extract(TracerObject *self, PyObject *carrier)
{
    return ctl_api_extract(self->module, carrier);
}

static PyMethodDef tracer_methods[] = {
    {"start_span", (PyCFunction)(void (*)(void))tracer_start_span, METH_VARARGS | METH_KEYWORDS,
     ctl_start_span_doc},
    {"current_span", (PyCFunction)tracer_current_span, METH_NOARGS, ctl_api_current_span_doc},
    {"inject", (PyCFunction)(void (*)(void))tracer_inject, METH_VARARGS | METH_KEYWORDS,
     ctl_api_inject_doc},
    {"extract", (PyCFunction)tracer_extract, METH_O, ctl_api_extract_doc},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot tracer_slots[] = {
    CTL_HOLDER_SLOTS,
    {Py_tp_methods, tracer_methods},
    {Py_tp_doc, "The tracer other extensions start spans with (chaostracing.tracer())."},
    CTL_COMPAT_NO_NEW{0, NULL},
};

PyType_Spec ctl_tracer_spec = {
    .name = "chaostracing.control.Tracer",
    .basicsize = sizeof(ctl_holder),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = tracer_slots,
};

const char ctl_api_tracer_doc[] =
    "tracer($module, /)\n--\n\n"
    "The tracer for other extensions: start_span(), current_span(), inject(), extract().\n"
    "It is always there; when tracing is off its spans record nothing.";

PyObject *ctl_api_tracer(PyObject *module, PyObject *unused)
{
    (void)unused;
    ctl_state *st = ctl_get_state(module);
    if (!st->tracer_obj) {
        if (!(st->tracer_obj = ctl_holder_new(st->tracer_type, module)))
            return NULL;
    }
    return Py_NewRef(st->tracer_obj);
}

const char ctl_api_current_span_doc[] =
    "current_span($module, /)\n--\n\n"
    "The current span: the one of the enclosing `with` block (in this thread or task), else\n"
    "the span of the activity running in this thread (background activities included),\n"
    "else the current phase's. Outside a traced run: a span that records nothing.\n"
    "The control's own spans are not ended through it.";

PyObject *ctl_api_current_span(PyObject *module, PyObject *unused)
{
    (void)unused;
    ctl_state *st = ctl_get_state(module);
    PyObject *s = ctl_current_span(st, module);
    if (s || PyErr_Occurred())
        return ctl_api_return(s);
    return ctl_api_return(ctl_span_new(module, NULL, NULL, false, NULL));
}
