/*
 * OpenTracing's Span methods on our Span type (span_type.c lists them):
 * tags (span.kind sets the kind, error an error status), logs as events,
 * operation names, baggage items carried with the span and its children,
 * finish, and the span's context and tracer.
 */
#include "binding.h"

PyObject *ctl_span_set_tag(ctl_span *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "set_tag(key, value)");
        return NULL;
    }
    struct ctr_attr_builder b = {0};
    int rc = ctl_attr_from_py(args[0], args[1], ctl_builder_sink, &b);
    if (rc < 0) {
        ctr_attr_builder_free(&b);
        return NULL;
    }
    bool error = PyUnicode_Check(args[0]) &&
                 PyUnicode_CompareWithASCIIString(args[0], "error") == 0 &&
                 PyObject_IsTrue(args[1]) == 1;
    ctl_hold_error();
    ctr_span_kind kind = CTR_KIND_UNSPECIFIED;
    if (PyUnicode_Check(args[0]) && PyUnicode_CompareWithASCIIString(args[0], "span.kind") == 0 &&
        ctl_kind_from_py(args[1], &kind) < 0) {
        kind = CTR_KIND_UNSPECIFIED; /* an unknown kind stays a tag */
        ctl_hold_error();            /* (the ValueError of ctl_kind_from_py) */
    }
    struct ctr_span *sp = rc == 0 ? ctl_span_target(ctl_get_state(self->module), self) : NULL;
    size_t n;
    const struct ctr_attr *items = ctr_attr_builder_items(&b, &n);
    for (size_t i = 0; sp && i < n; i++)
        ctr_span_set_attr(sp, &items[i]);
    if (sp && error)
        ctr_span_set_status(sp, CTR_STATUS_ERROR, NULL, 0);
    if (sp && kind != CTR_KIND_UNSPECIFIED)
        ctr_span_set_kind(sp, kind);
    ctr_attr_builder_free(&b);
    return ctl_api_return(Py_NewRef(self));
}

/* An event from a dict of fields, named by its "event" item, else "log". */
static PyObject *log_fields(ctl_span *self, PyObject *fields, PyObject *timestamp)
{
    uint64_t time_ns = 0;
    if (ctl_time_from_py(timestamp, true, &time_ns) < 0)
        return NULL;
    if (fields && fields != Py_None && !PyDict_Check(fields)) {
        PyErr_Format(PyExc_TypeError, "log_kv() wants a dict of fields, not %R", fields);
        return NULL;
    }
    const char *name = "log";
    Py_ssize_t nlen = 3;
    PyObject *ev = fields && fields != Py_None ? PyDict_GetItemString(fields, "event") : NULL;
    PyObject *nb = ev ? ctl_utf8(ev, &name, &nlen) : NULL;
    struct ctr_attr_builder b = {0};
    int rc = ctl_attrs_from_py(fields, ctl_builder_sink, &b);
    struct ctr_span *sp = rc == 0 ? ctl_span_target(ctl_get_state(self->module), self) : NULL;
    if (sp) {
        size_t n;
        const struct ctr_attr *items = ctr_attr_builder_items(&b, &n);
        ctr_span_add_event(sp, name, (size_t)nlen, time_ns, items, n);
    }
    ctr_attr_builder_free(&b);
    Py_XDECREF(nb);
    return ctl_api_return(rc < 0 ? NULL : Py_NewRef(self));
}

PyObject *ctl_span_log_kv(ctl_span *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"key_values", "timestamp", NULL};
    PyObject *kv, *ts = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O", kwlist, &kv, &ts))
        return NULL;
    return log_fields(self, kv, ts);
}

PyObject *ctl_span_log(ctl_span *self, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_GET_SIZE(args)) {
        PyErr_SetString(PyExc_TypeError, "log() takes keyword arguments only");
        return NULL;
    }
    return log_fields(self, kwargs, NULL);
}

PyObject *ctl_span_log_event(ctl_span *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"event", "payload", NULL};
    PyObject *event, *payload = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O", kwlist, &event, &payload))
        return NULL;
    PyObject *d = payload && payload != Py_None
                      ? Py_BuildValue("{sOsO}", "event", event, "payload", payload)
                      : Py_BuildValue("{sO}", "event", event);
    PyObject *r = d ? log_fields(self, d, NULL) : NULL;
    Py_XDECREF(d);
    return r;
}

PyObject *ctl_span_set_operation_name(ctl_span *self, PyObject *name)
{
    const char *p;
    Py_ssize_t n;
    PyObject *b = ctl_utf8(name, &p, &n);
    if (!b) {
        PyErr_SetString(PyExc_TypeError, "set_operation_name() wants a str");
        return NULL;
    }
    struct ctr_span *sp = ctl_span_target(ctl_get_state(self->module), self);
    if (sp)
        ctr_span_update_name(sp, p, (size_t)n);
    Py_DECREF(b);
    return Py_NewRef(self);
}

PyObject *ctl_span_set_baggage_item(ctl_span *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyUnicode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "set_baggage_item(key: str, value: str)");
        return NULL;
    }
    if (!self->baggage && !(self->baggage = PyDict_New()))
        return NULL;
    if (PyDict_SetItem(self->baggage, args[0], args[1]) < 0)
        return NULL;
    return Py_NewRef(self);
}

PyObject *ctl_span_get_baggage_item(ctl_span *self, PyObject *key)
{
    PyObject *v = self->baggage ? PyDict_GetItemWithError(self->baggage, key) : NULL;
    if (!v && PyErr_Occurred())
        return NULL;
    return Py_NewRef(v ? v : Py_None);
}

PyObject *ctl_span_finish(ctl_span *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"finish_time", NULL};
    PyObject *t = NULL;
    uint64_t end_ns = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O", kwlist, &t) ||
        ctl_time_from_py(t, true, &end_ns) < 0)
        return NULL;
    ctl_span_end_at(self, end_ns);
    Py_RETURN_NONE;
}

PyObject *ctl_span_get_context(ctl_span *self, void *unused)
{
    (void)unused;
    return ctl_context_new(ctl_get_state(self->module), &self->ctx, self->baggage);
}

PyObject *ctl_span_get_tracer(ctl_span *self, void *unused)
{
    (void)unused;
    return ctl_ot_tracer(self->module);
}
