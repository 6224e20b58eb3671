/*
 * Starting spans for the three APIs: what their arguments mean (parents,
 * kinds, links, times) in one place, and the module's start_span().
 *
 * Every argument is converted before the tracer is looked at: conversion
 * runs Python code, during which another thread may end the run.
 */
#include "binding.h"

#include <math.h>
#include <string.h>
#include <strings.h>

/* At most this many links are taken from one start_span() call. */
#define MAX_LINKS 128

int ctl_kind_from_py(PyObject *v, ctr_span_kind *out)
{
    *out = CTR_KIND_INTERNAL;
    if (!v || v == Py_None)
        return 0;
    PyObject *name = PyUnicode_Check(v) ? Py_NewRef(v) : PyObject_GetAttrString(v, "name");
    ctl_hold_error();
    const char *s = name && PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
    ctl_hold_error();
    for (int k = CTR_KIND_INTERNAL; s && k <= CTR_KIND_CONSUMER; k++) {
        if (strcasecmp(s, ctr_span_kind_name((ctr_span_kind)k)) == 0) {
            *out = (ctr_span_kind)k;
            Py_DECREF(name);
            return 0;
        }
    }
    Py_XDECREF(name);
    PyErr_Format(PyExc_ValueError,
                 "kind must be internal, client, server, producer or consumer (or an "
                 "OpenTelemetry SpanKind), not %R",
                 v);
    return -1;
}

int ctl_time_from_py(PyObject *v, bool seconds, uint64_t *out)
{
    *out = 0;
    if (!v || v == Py_None)
        return 0;
    double d;
    if (PyLong_Check(v) && !PyBool_Check(v)) {
        if (!seconds) {
            unsigned long long ns = PyLong_AsUnsignedLongLong(v);
            if (PyErr_Occurred()) {
                PyErr_Format(PyExc_ValueError, "a time in nanoseconds since the epoch, not %R", v);
                return -1;
            }
            *out = ns;
            return 0;
        }
        d = PyLong_AsDouble(v);
    } else if (PyFloat_Check(v)) {
        d = PyFloat_AS_DOUBLE(v);
    } else {
        PyErr_Format(PyExc_TypeError, "a time must be a number (%s since the epoch), not %R",
                     seconds ? "seconds" : "nanoseconds", v);
        return -1;
    }
    double ns = seconds ? d * 1e9 : d;
    if (PyErr_Occurred() || !isfinite(ns) || ns < 0 || ns >= 1.8e19) {
        ctl_hold_error();
        PyErr_Format(PyExc_ValueError, "not a time since the epoch: %R", v);
        return -1;
    }
    *out = (uint64_t)llround(ns);
    return 0;
}

/* An int attribute of `o` as big-endian bytes; false when absent. */
static bool int_bytes(PyObject *o, const char *attr, uint8_t *out, size_t n)
{
    PyObject *v = PyObject_GetAttrString(o, attr);
    PyObject *b = v && PyLong_Check(v)
                      ? PyObject_CallMethod(v, "to_bytes", "ns", (Py_ssize_t)n, "big")
                      : NULL;
    bool ok = b && PyBytes_Check(b) && PyBytes_GET_SIZE(b) == (Py_ssize_t)n;
    if (ok)
        memcpy(out, PyBytes_AS_STRING(b), n);
    Py_XDECREF(b);
    Py_XDECREF(v);
    ctl_hold_error();
    return ok;
}

void ctl_ctx_keep_tracestate(struct ctr_span_context *c, char *buf)
{
    size_t n = c->trace_state.ptr ? c->trace_state.len : 0;
    if (!buf || n > CTR_TRACESTATE_MAX)
        n = 0;
    if (n && c->trace_state.ptr != buf)
        memmove(buf, c->trace_state.ptr, n);
    if (buf)
        buf[n] = '\0';
    c->trace_state.ptr = n ? buf : NULL;
    c->trace_state.len = n;
}

/* The tracestate of an OpenTelemetry SpanContext (its to_header()). */
static void otel_tracestate(PyObject *v, struct ctr_span_context *out, char *ts_buf)
{
    PyObject *ts = ts_buf ? PyObject_GetAttrString(v, "trace_state") : NULL;
    PyObject *h = ts && ts != Py_None ? PyObject_CallMethod(ts, "to_header", NULL) : NULL;
    const char *p;
    Py_ssize_t n;
    PyObject *b = h ? ctl_utf8(h, &p, &n) : NULL;
    if (b) {
        out->trace_state.ptr = p;
        out->trace_state.len = (size_t)n;
    }
    ctl_ctx_keep_tracestate(out, ts_buf); /* copied before `b` goes */
    Py_XDECREF(b);
    Py_XDECREF(h);
    Py_XDECREF(ts);
    ctl_hold_error();
}

int ctl_context_from_py(ctl_state *st, PyObject *v, struct ctr_span_context *out,
                        PyObject **baggage, char *ts_buf)
{
    memset(out, 0, sizeof *out);
    if (baggage)
        *baggage = NULL;
    if (!v || v == Py_None)
        return 0;
    if (ctl_span_check(st, v)) {
        ctl_span *s = (ctl_span *)v;
        *out = s->ctx;
        if (baggage)
            *baggage = s->baggage;
        ctl_ctx_keep_tracestate(out, ts_buf);
        return ctr_span_context_is_valid(out);
    }
    if (ctl_context_check(st, v)) {
        ctl_context_get(v, out, baggage);
        ctl_ctx_keep_tracestate(out, ts_buf);
        return ctr_span_context_is_valid(out);
    }
    /* OpenTelemetry: a span (get_span_context()), or a SpanContext. */
    PyObject *get = PyObject_GetAttrString(v, "get_span_context");
    ctl_hold_error();
    if (get) {
        if (!PyCallable_Check(get)) {
            Py_DECREF(get);
            PyErr_Format(PyExc_TypeError, "%R has a get_span_context that is not callable", v);
            return -1;
        }
        PyObject *c = PyObject_CallNoArgs(get);
        Py_DECREF(get);
        if (!c)
            return -1;
        int r = c == v ? 0 : ctl_context_from_py(st, c, out, NULL, ts_buf);
        Py_DECREF(c);
        return r;
    }
    if (int_bytes(v, "trace_id", out->trace_id, CTR_TRACE_ID_LEN) &&
        int_bytes(v, "span_id", out->span_id, CTR_SPAN_ID_LEN)) {
        PyObject *flags = PyObject_GetAttrString(v, "trace_flags");
        long f = flags && PyLong_Check(flags) ? PyLong_AsLong(flags) : 0;
        Py_XDECREF(flags);
        PyObject *remote = PyObject_GetAttrString(v, "is_remote");
        out->is_remote = remote && PyObject_IsTrue(remote) == 1;
        Py_XDECREF(remote);
        ctl_hold_error();
        out->trace_flags = (uint8_t)(f & 0xff);
        otel_tracestate(v, out, ts_buf);
        return ctr_span_context_is_valid(out);
    }
    PyErr_Format(PyExc_TypeError,
                 "a parent or link must be a Span, a SpanContext (chaostracing, OpenTracing or "
                 "OpenTelemetry) or None, not %R",
                 v);
    return -1;
}

/* Links as converted before the span exists. */
struct links {
    struct ctr_span_context ctx[MAX_LINKS];
    struct ctr_attr_builder attrs[MAX_LINKS];
    size_t n;
};

static void links_free(struct links *l)
{
    for (size_t i = 0; i < l->n; i++)
        ctr_attr_builder_free(&l->attrs[i]);
    l->n = 0;
}

/* One link: a context-like object, an OpenTelemetry Link (.context,
 * .attributes), or a (context, attributes) pair. */
static int link_from_py(ctl_state *st, PyObject *item, struct links *l)
{
    PyObject *ctx = NULL, *attrs = NULL;
    if (PyTuple_Check(item) && PyTuple_GET_SIZE(item) == 2) {
        ctx = Py_NewRef(PyTuple_GET_ITEM(item, 0));
        attrs = Py_NewRef(PyTuple_GET_ITEM(item, 1));
    } else if (!ctl_span_check(st, item) && !ctl_context_check(st, item) &&
               PyObject_HasAttrString(item, "context") &&
               PyObject_HasAttrString(item, "attributes")) {
        ctx = PyObject_GetAttrString(item, "context");
        attrs = ctx ? PyObject_GetAttrString(item, "attributes") : NULL;
        if (!attrs) {
            Py_XDECREF(ctx);
            return -1;
        }
    } else {
        ctx = Py_NewRef(item);
    }
    struct ctr_attr_builder *b = &l->attrs[l->n];
    memset(b, 0, sizeof *b);
    int has = ctl_context_from_py(st, ctx, &l->ctx[l->n], NULL, NULL);
    int rc = has < 0 ? -1 : 0;
    if (rc == 0 && attrs && attrs != Py_None) {
        /* OpenTelemetry gives attributes as a mapping that is not a dict. */
        PyObject *d = PyDict_Check(attrs) ? Py_NewRef(attrs) : PyDict_New();
        if (!d || (d != attrs && PyDict_Update(d, attrs) < 0))
            rc = -1;
        else
            rc = ctl_attrs_from_py(d, ctl_builder_sink, b);
        Py_XDECREF(d);
    }
    Py_XDECREF(ctx);
    Py_XDECREF(attrs);
    if (rc < 0 || !has)
        ctr_attr_builder_free(b);
    else
        l->n++;
    return rc;
}

static int links_from_py(ctl_state *st, PyObject *links, struct links *l)
{
    l->n = 0;
    if (!links || links == Py_None)
        return 0;
    PyObject *it = PyObject_GetIter(links);
    if (!it)
        return -1;
    PyObject *item;
    int rc = 0;
    while (rc == 0 && (item = PyIter_Next(it)) != NULL) {
        if (l->n < MAX_LINKS)
            rc = link_from_py(st, item, l);
        Py_DECREF(item);
    }
    Py_DECREF(it);
    if (rc == 0 && PyErr_Occurred())
        rc = -1;
    if (rc < 0)
        links_free(l);
    return rc;
}

PyObject *ctl_start_span_from(PyObject *module, struct ctl_start *a)
{
    ctl_state *st = ctl_get_state(module);
    struct ctr_attr_builder attrs = {0};
    struct links *links = PyMem_Calloc(1, sizeof *links);
    if (!links)
        return ctl_api_return(PyErr_NoMemory());
    PyObject *bag = a->baggage;
    struct ctr_span_context parent;
    char ts[CTR_TRACESTATE_MAX + 1];
    bool has_parent = false;
    if (a->parent == 1) {
        parent = a->parent_ctx;
        ctl_ctx_keep_tracestate(&parent, ts);
        has_parent = ctr_span_context_is_valid(&parent);
    } else if (a->parent == 0) {
        has_parent = ctl_current_context(st, &parent, bag ? NULL : &bag, ts);
    }
    Py_XINCREF(bag); /* the current span's: it may go while Python runs below */
    if (ctl_attrs_from_py(a->attributes, ctl_builder_sink, &attrs) < 0 ||
        links_from_py(st, a->links, links) < 0) {
        ctr_attr_builder_free(&attrs);
        PyMem_Free(links);
        Py_XDECREF(bag);
        return NULL;
    }
    /* From here on no Python code runs until the span is made. */
    struct ctr_span *sp = NULL;
    if (st->tracer) {
        sp = ctr_tracer_start_span(st->tracer, a->name, a->nlen, has_parent ? &parent : NULL,
                                   a->kind, a->start_ns);
        if (!sp) {
            ctr_attr_builder_free(&attrs);
            links_free(links);
            PyMem_Free(links);
            Py_XDECREF(bag);
            return ctl_api_return(PyErr_NoMemory());
        }
        for (size_t i = 0; i < links->n; i++) {
            size_t n;
            const struct ctr_attr *items = ctr_attr_builder_items(&links->attrs[i], &n);
            ctr_span_add_link(sp, &links->ctx[i], items, n);
        }
        size_t n;
        const struct ctr_attr *items = ctr_attr_builder_items(&attrs, &n);
        for (size_t i = 0; i < n; i++)
            ctr_span_set_attr(sp, &items[i]);
    }
    ctr_attr_builder_free(&attrs);
    links_free(links);
    PyMem_Free(links);
    /* Tracing off: a span that records nothing, with its parent's ids (as
     * the OpenTelemetry API has it), so propagation still works. */
    PyObject *span = ctl_span_new(module, sp, sp || !has_parent ? NULL : &parent, false, bag);
    Py_XDECREF(bag);
    return ctl_api_return(span);
}

const char ctl_start_span_doc[] =
    "start_span($module, /, name, attributes=None, kind='internal', links=None, parent=None,\n"
    "           start_time=None)\n--\n\n"
    "Start a span. Its parent is `parent` (a Span or SpanContext, e.g. one passed to a\n"
    "thread the activity started) or else the current span: the span of the enclosing\n"
    "`with` block, else the activity running in this thread, else the current phase.\n"
    "kind: internal, client, server, producer or consumer. links: Spans, SpanContexts or\n"
    "(context, attributes) pairs. start_time: nanoseconds since the epoch. When tracing is\n"
    "off the span records nothing, so callers need no check.";

PyObject *ctl_start_span(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"name", "attributes", "kind", "links", "parent", "start_time", NULL};
    struct ctl_start a = {0};
    Py_ssize_t nlen;
    PyObject *kind = NULL, *parent = NULL, *start = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s#|OOOOO", kwlist, &a.name, &nlen,
                                     &a.attributes, &kind, &a.links, &parent, &start))
        return NULL;
    a.nlen = (size_t)nlen;
    ctl_state *st = ctl_get_state(module);
    if (ctl_kind_from_py(kind, &a.kind) < 0 || ctl_time_from_py(start, false, &a.start_ns) < 0)
        return NULL;
    if (parent && parent != Py_None) {
        int has = ctl_context_from_py(st, parent, &a.parent_ctx, &a.baggage, a.parent_ts);
        if (has < 0)
            return NULL;
        a.parent = has ? 1 : -1;
    }
    return ctl_start_span_from(module, &a);
}
