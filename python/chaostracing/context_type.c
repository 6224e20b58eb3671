/*
 * The SpanContext type (what extract() returns and OpenTracing's
 * span.context is: ids, flags, baggage), and inject/extract over Python
 * mappings with the propagation formats the control is configured with.
 *
 * Carriers are copied into C strings before the library reads them, so no
 * Python code runs while it does.
 */
#include "binding.h"

#include <string.h>
#include <strings.h>

/* At most this many carrier items are read, each at most this long. */
#define MAX_ITEMS 256
#define MAX_VALUE 8192

typedef struct {
    PyObject_HEAD struct ctr_span_context ctx;
    char tracestate[CTR_TRACESTATE_MAX + 1];
    PyObject *baggage; /* dict of str, or NULL */
} ContextObject;

static int ctx_traverse(ContextObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->baggage);
    return 0;
}

static int ctx_clear(ContextObject *self)
{
    Py_CLEAR(self->baggage);
    return 0;
}

bool ctl_context_check(ctl_state *st, PyObject *o)
{
    return o && Py_TYPE(o) == (PyTypeObject *)st->context_type;
}

PyObject *ctl_context_new(ctl_state *st, const struct ctr_span_context *ctx, PyObject *baggage)
{
    ContextObject *self = PyObject_GC_New(ContextObject, (PyTypeObject *)st->context_type);
    if (!self)
        return NULL;
    self->ctx = *ctx;
    size_t n = ctx->trace_state.ptr ? ctx->trace_state.len : 0;
    if (n > CTR_TRACESTATE_MAX)
        n = 0;
    memcpy(self->tracestate, n ? ctx->trace_state.ptr : "", n);
    self->tracestate[n] = '\0';
    self->ctx.trace_state.ptr = n ? self->tracestate : NULL;
    self->ctx.trace_state.len = n;
    self->baggage = baggage && PyDict_Check(baggage) ? PyDict_Copy(baggage) : NULL;
    ctl_hold_error();
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

void ctl_context_get(PyObject *o, struct ctr_span_context *out, PyObject **baggage)
{
    ContextObject *self = (ContextObject *)o;
    *out = self->ctx;
    if (baggage)
        *baggage = self->baggage;
}

static PyObject *hex_of(const uint8_t *id, size_t n)
{
    char hex[2 * CTR_TRACE_ID_LEN + 1];
    ctr_hex_encode(id, n, hex);
    return PyUnicode_FromString(hex);
}

static PyObject *ctx_trace_id(ContextObject *self, void *unused)
{
    (void)unused;
    return hex_of(self->ctx.trace_id, CTR_TRACE_ID_LEN);
}

static PyObject *ctx_span_id(ContextObject *self, void *unused)
{
    (void)unused;
    return hex_of(self->ctx.span_id, CTR_SPAN_ID_LEN);
}

static PyObject *ctx_flags(ContextObject *self, void *unused)
{
    (void)unused;
    return PyLong_FromLong(self->ctx.trace_flags);
}

static PyObject *ctx_remote(ContextObject *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(self->ctx.is_remote);
}

static PyObject *ctx_valid(ContextObject *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(ctr_span_context_is_valid(&self->ctx));
}

static PyObject *ctx_baggage(ContextObject *self, void *unused)
{
    (void)unused;
    return self->baggage ? PyDict_Copy(self->baggage) : PyDict_New();
}

static PyObject *ctx_repr(ContextObject *self)
{
    char t[2 * CTR_TRACE_ID_LEN + 1], s[2 * CTR_SPAN_ID_LEN + 1];
    ctr_hex_encode(self->ctx.trace_id, CTR_TRACE_ID_LEN, t);
    ctr_hex_encode(self->ctx.span_id, CTR_SPAN_ID_LEN, s);
    return PyUnicode_FromFormat("<chaostracing SpanContext trace_id=%s span_id=%s%s>", t, s,
                                self->ctx.is_remote ? " remote" : "");
}

static PyGetSetDef ctx_getset[] = {
    {"trace_id", (getter)ctx_trace_id, NULL, "The trace id, 32 hex digits.", NULL},
    {"span_id", (getter)ctx_span_id, NULL, "The span id, 16 hex digits.", NULL},
    {"trace_flags", (getter)ctx_flags, NULL, "The W3C trace flags (1: sampled).", NULL},
    {"is_remote", (getter)ctx_remote, NULL, "True when extracted from a carrier.", NULL},
    {"is_valid", (getter)ctx_valid, NULL, "False for all-zero ids.", NULL},
    {"baggage", (getter)ctx_baggage, NULL, "The baggage items (a new dict).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot ctx_slots[] = {
    {Py_tp_dealloc, ctl_dealloc},
    {Py_tp_traverse, ctx_traverse},
    {Py_tp_clear, ctx_clear},
    {Py_tp_getset, ctx_getset},
    {Py_tp_repr, ctx_repr},
    {Py_tp_doc, "What propagates of a span: ids, flags and baggage. A valid parent for "
                "start_span(parent=...)."},
    CTL_COMPAT_NO_NEW{0, NULL},
};

PyType_Spec ctl_context_spec = {
    .name = "chaostracing.control.SpanContext",
    .basicsize = sizeof(ContextObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = ctx_slots,
};

/* ---- inject ---- */

/* A dict, or another mapping with __setitem__ (not a list). */
static bool ctl_is_carrier(PyObject *o)
{
    return o && (PyDict_Check(o) || (PyMapping_Check(o) && !PySequence_Check(o) &&
                                     PyObject_HasAttrString(o, "__setitem__")));
}

struct setter {
    PyObject *carrier;
    PyObject *set; /* an OpenTelemetry Setter, or NULL: carrier[name] = value */
    int failed;
};

static void carrier_set(void *ud, const char *name, const char *value)
{
    struct setter *s = ud;
    if (s->failed)
        return;
    PyObject *k = PyUnicode_FromString(name), *v = PyUnicode_FromString(value);
    if (!k || !v)
        s->failed = 1;
    else if (s->set) {
        PyObject *r = PyObject_CallMethod(s->set, "set", "OOO", s->carrier, k, v);
        s->failed = r == NULL;
        Py_XDECREF(r);
    } else if (PyObject_SetItem(s->carrier, k, v) < 0) {
        s->failed = 1;
    }
    Py_XDECREF(k);
    Py_XDECREF(v);
}

/* The run's W3C baggage with the items of `items` (a dict) added. */
static int baggage_of(ctl_state *st, PyObject *items, struct ctr_buf *out)
{
    if (st->baggage)
        ctr_buf_puts(out, st->baggage);
    PyObject *list = items && PyDict_Check(items) ? PyDict_Items(items) : NULL;
    for (Py_ssize_t i = 0; list && i < PyList_GET_SIZE(list); i++) {
        PyObject *kv = PyList_GET_ITEM(list, i);
        const char *kp, *vp;
        Py_ssize_t kn, vn;
        PyObject *kb = ctl_utf8(PyTuple_GET_ITEM(kv, 0), &kp, &kn);
        PyObject *vb = kb ? ctl_utf8(PyTuple_GET_ITEM(kv, 1), &vp, &vn) : NULL;
        if (vb) {
            ctr_buf_putc(out, 0);
            struct ctr_buf next = {0};
            if (ctr_baggage_put((const char *)out->data, kp, (size_t)kn, vp, (size_t)vn, &next) ==
                0) {
                ctr_buf_reset(out);
                ctr_buf_append(out, next.data, next.len);
            } else {
                out->len--; /* an item that cannot travel is left out */
            }
            ctr_buf_free(&next);
        }
        Py_XDECREF(kb);
        Py_XDECREF(vb);
    }
    Py_XDECREF(list);
    ctr_buf_putc(out, 0);
    return out->err ? -1 : 0;
}

int ctl_inject_into(ctl_state *st, const struct ctr_span_context *ctx, PyObject *baggage,
                    PyObject *carrier, PyObject *setter)
{
    if (!setter && !ctl_is_carrier(carrier)) {
        PyErr_Format(PyExc_TypeError, "inject() wants a dict of headers, not %R",
                     carrier ? carrier : Py_None);
        return -1;
    }
    if (ctx && !ctr_span_context_is_valid(ctx))
        return 0;
    /* The tracestate may live in a span: copied before any Python runs. */
    char ts[CTR_TRACESTATE_MAX + 1];
    struct ctr_span_context c0 = {0};
    if (ctx) {
        c0 = *ctx;
        ctl_ctx_keep_tracestate(&c0, ts);
    }
    struct ctr_propagation dflt;
    const struct ctr_propagation *p = &st->prop;
    if (!st->prop.formats) { /* tracing never configured: W3C */
        ctr_propagation_default(&dflt, CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE);
        p = &dflt;
    }
    /* What the library writes is gathered first: the carrier may be any
     * mapping, whose __setitem__ runs Python code. */
    struct ctr_buf bag = {0};
    if (baggage_of(st, baggage, &bag) < 0) {
        ctr_buf_free(&bag);
        PyErr_NoMemory();
        return -1;
    }
    struct setter s = {carrier, setter, 0};
    struct ctr_carrier c = {NULL, carrier_set, &s, NULL};
    const char *b = (const char *)bag.data;
    if (ctx)
        ctr_propagation_inject(p, &c0, b && *b ? b : NULL, &c);
    else
        ctr_propagation_inject_baggage(p, b && *b ? b : NULL, &c);
    ctr_buf_free(&bag);
    return s.failed ? -1 : 0;
}

/* ---- extract ---- */

struct items {
    struct ctr_header h[MAX_ITEMS];
    size_t n;
};

static const char *items_get(void *ud, const char *name)
{
    struct items *it = ud;
    for (size_t i = 0; i < it->n; i++)
        if (strcasecmp(it->h[i].name, name) == 0)
            return it->h[i].value;
    return NULL;
}

static void items_each(void *ud, void (*fn)(void *arg, const char *name, const char *value),
                       void *arg)
{
    struct items *it = ud;
    for (size_t i = 0; i < it->n; i++)
        fn(arg, it->h[i].name, it->h[i].value);
}

static void items_free(struct items *it)
{
    for (size_t i = 0; i < it->n; i++) {
        PyMem_Free(it->h[i].name);
        PyMem_Free(it->h[i].value);
    }
    it->n = 0;
}

static char *copy_str(PyObject *o)
{
    const char *p;
    Py_ssize_t n;
    PyObject *b = ctl_utf8(o, &p, &n);
    if (!b || n > MAX_VALUE || (size_t)n != strlen(p)) {
        Py_XDECREF(b);
        return NULL;
    }
    char *c = PyMem_Malloc((size_t)n + 1);
    if (c)
        memcpy(c, p, (size_t)n + 1);
    Py_DECREF(b);
    return c;
}

/* Copy the str items of a mapping (a value that is a list: its first). */
static int items_of(PyObject *carrier, struct items *it)
{
    PyObject *list = PyMapping_Items(carrier);
    if (!list)
        return -1;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list) && it->n < MAX_ITEMS; i++) {
        PyObject *kv = PyList_GET_ITEM(list, i);
        if (!PyTuple_Check(kv) || PyTuple_GET_SIZE(kv) != 2)
            continue;
        PyObject *v = PyTuple_GET_ITEM(kv, 1);
        if ((PyList_Check(v) || PyTuple_Check(v)) && PySequence_Size(v) > 0)
            v = PySequence_Fast_GET_ITEM(v, 0);
        char *name = copy_str(PyTuple_GET_ITEM(kv, 0)), *value = name ? copy_str(v) : NULL;
        if (value) {
            it->h[it->n].name = name;
            it->h[it->n].value = value;
            it->n++;
        } else {
            PyMem_Free(name);
        }
    }
    Py_DECREF(list);
    ctl_hold_error();
    return 0;
}

struct bag_dict {
    PyObject *d;
};

static void bag_item(void *arg, const char *k, size_t kn, const char *v, size_t vn)
{
    struct bag_dict *b = arg;
    PyObject *key = PyUnicode_DecodeUTF8(k, (Py_ssize_t)kn, "replace");
    PyObject *val = PyUnicode_DecodeUTF8(v, (Py_ssize_t)vn, "replace");
    if (!key || !val || PyDict_SetItem(b->d, key, val) < 0)
        ctl_hold_error();
    Py_XDECREF(key);
    Py_XDECREF(val);
}

PyObject *ctl_extract_parts(ctl_state *st, PyObject *carrier, PyObject **baggage)
{
    *baggage = NULL;
    if (!carrier || !PyMapping_Check(carrier) || PyUnicode_Check(carrier)) {
        PyErr_Format(PyExc_TypeError, "extract() wants a mapping of headers, not %R",
                     carrier ? carrier : Py_None);
        return NULL;
    }
    struct items *it = PyMem_Calloc(1, sizeof *it);
    if (!it)
        return PyErr_NoMemory();
    if (items_of(carrier, it) < 0) {
        PyMem_Free(it);
        return NULL;
    }
    struct ctr_propagation dflt;
    const struct ctr_propagation *p = &st->prop;
    if (!st->prop.formats) {
        ctr_propagation_default(&dflt, CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE);
        p = &dflt;
    }
    struct ctr_carrier c = {items_get, NULL, it, items_each};
    struct ctr_span_context ctx;
    char ts[CTR_TRACESTATE_MAX + 1], bag[CTR_BAGGAGE_MAX + 1];
    int rc = ctr_propagation_extract(p, &c, &ctx, ts, sizeof ts, bag, sizeof bag);
    items_free(it);
    PyMem_Free(it);
    /* Baggage is read whether or not a span context was. */
    struct bag_dict b = {PyDict_New()};
    if (!b.d)
        return NULL;
    if (bag[0])
        ctr_baggage_each(bag, strlen(bag), bag_item, &b);
    PyObject *r = rc ? Py_NewRef(Py_None) : ctl_context_new(st, &ctx, b.d);
    if (r)
        *baggage = b.d;
    else
        Py_DECREF(b.d);
    return r;
}

PyObject *ctl_extract_from(ctl_state *st, PyObject *carrier)
{
    PyObject *bag;
    PyObject *r = ctl_extract_parts(st, carrier, &bag);
    Py_XDECREF(bag); /* a SpanContext holds it; without one, extract() says None */
    return ctl_api_return(r);
}

/* ---- the module's functions ---- */

const char ctl_api_inject_doc[] =
    "inject($module, /, carrier, span=None)\n--\n\n"
    "Add the propagation headers of `span` (a Span or SpanContext; default: the current\n"
    "span) to a dict, in the formats the control is configured with (W3C traceparent and\n"
    "baggage by default), and return it. Nothing is added when there is no span.";

PyObject *ctl_api_inject(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"carrier", "span", NULL};
    PyObject *carrier, *span = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O", kwlist, &carrier, &span))
        return NULL;
    ctl_state *st = ctl_get_state(module);
    struct ctr_span_context ctx;
    char ts[CTR_TRACESTATE_MAX + 1];
    PyObject *bag = NULL;
    int has;
    if (span && span != Py_None) {
        has = ctl_context_from_py(st, span, &ctx, &bag, ts);
    } else {
        has = ctl_current_context(st, &ctx, &bag, ts);
    }
    if (has < 0)
        return NULL;
    Py_XINCREF(bag);
    int rc = has ? ctl_inject_into(st, &ctx, bag, carrier, NULL) : 0;
    Py_XDECREF(bag);
    if (rc < 0)
        return NULL;
    if (!has && !ctl_is_carrier(carrier)) {
        PyErr_Format(PyExc_TypeError, "inject() wants a dict of headers, not %R", carrier);
        return NULL;
    }
    return ctl_api_return(Py_NewRef(carrier));
}

const char ctl_api_extract_doc[] =
    "extract($module, carrier, /)\n--\n\n"
    "The SpanContext a mapping of headers carries (in the configured formats, W3C by\n"
    "default), with its baggage; None when it carries none. Use it as a parent:\n"
    "start_span(name, parent=extract(headers)).";

PyObject *ctl_api_extract(PyObject *module, PyObject *carrier)
{
    return ctl_extract_from(ctl_get_state(module), carrier);
}
