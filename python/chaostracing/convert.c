/*
 * Python values into what the library takes: UTF-8 strings, attributes and
 * JSON text. Conversions that may run Python code (str(), repr()) hold strong
 * references to what they walk and re-check sizes after every such call, so
 * a __str__ that mutates its container cannot make them read freed memory.
 */
#include "binding.h"

#include <math.h>
#include <string.h>

/* Nesting deeper than this is not JSON-encoded (repr() is used instead). */
#define JSON_MAX_DEPTH 200
/* Items of a list attribute kept. */
#define MAX_ARRAY_ITEMS 1024

/* The str objects of ctl_dget()'s keys, by the address of their literal
 * (open addressing; the GIL guards it; a full table falls back to making
 * the key each time). */
#define KEY_SLOTS 128
static struct {
    const char *literal;
    PyObject *key;
} key_slots[KEY_SLOTS];

static PyObject *key_of(const char *literal)
{
    size_t h = (size_t)((uintptr_t)literal >> 3);
    for (size_t i = 0; i < KEY_SLOTS; i++) {
        size_t j = (h + i) % KEY_SLOTS;
        if (key_slots[j].literal == literal)
            return Py_NewRef(key_slots[j].key);
        if (!key_slots[j].literal) {
            PyObject *k = PyUnicode_InternFromString(literal);
            if (k) {
                key_slots[j].literal = literal;
                key_slots[j].key = Py_NewRef(k);
            }
            return k;
        }
    }
    return PyUnicode_FromString(literal);
}

void ctl_dget_clear(void)
{
    for (size_t i = 0; i < KEY_SLOTS; i++) {
        key_slots[i].literal = NULL;
        Py_CLEAR(key_slots[i].key);
    }
}

PyObject *ctl_dget_literal(PyObject *d, const char *literal)
{
    if (!d || !PyDict_Check(d))
        return NULL;
    PyObject *key = key_of(literal);
    /* As PyDict_GetItemString: borrowed, errors (a key's __eq__) cleared. */
    PyObject *v = key ? PyDict_GetItemWithError(d, key) : NULL;
    Py_XDECREF(key);
    if (!v)
        PyErr_Clear();
    return v;
}

PyObject *ctl_utf8(PyObject *s, const char **p, Py_ssize_t *n)
{
    if (!s || !PyUnicode_Check(s))
        return NULL;
    PyObject *b = PyUnicode_AsEncodedString(s, "utf-8", "replace");
    if (!b) {
        PyErr_Clear();
        return NULL;
    }
    *p = PyBytes_AS_STRING(b);
    *n = PyBytes_GET_SIZE(b);
    return b;
}

void ctl_set_str(struct ctr_span *sp, const char *key, PyObject *v)
{
    const char *p;
    Py_ssize_t n;
    PyObject *b = ctl_utf8(v, &p, &n);
    if (b) {
        ctr_span_set_str(sp, key, p, (size_t)n);
        Py_DECREF(b);
    }
}

void ctl_builder_set_str(struct ctr_attr_builder *b, const char *key, PyObject *v)
{
    const char *p;
    Py_ssize_t n;
    PyObject *bytes = ctl_utf8(v, &p, &n);
    if (bytes) {
        struct ctr_attr a = {{key, strlen(key)}, {.type = CTR_VALUE_STRING, .u.s = {p, (size_t)n}}};
        ctr_attr_builder_set(b, &a);
        Py_DECREF(bytes);
    }
}

/* ---- errors ---- */

/* An interrupt raised inside this thread's hook, held until it returns.
 * Guarded by the GIL; one per thread since hooks run in several. */
static _Thread_local PyObject *held_type, *held_value, *held_tb;

/* True for chaoslib's InterruptExecution (what its SIGTERM handler raises,
 * and how a control stops a run), when chaoslib is loaded. No exception set
 * on entry or on return. */
static bool is_interrupt_execution(PyObject *type)
{
    PyObject *name = PyUnicode_FromString("chaoslib.exceptions");
    PyObject *mod = name ? PyImport_GetModule(name) : NULL;
    Py_XDECREF(name);
    PyObject *cls = mod ? PyObject_GetAttrString(mod, "InterruptExecution") : NULL;
    Py_XDECREF(mod);
    bool match = cls && PyExceptionClass_Check(cls) && PyErr_GivenExceptionMatches(type, cls);
    Py_XDECREF(cls);
    PyErr_Clear();
    return match;
}

void ctl_hold_error(void)
{
    if (!PyErr_Occurred())
        return;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (!held_type &&
        (PyErr_GivenExceptionMatches(type, PyExc_KeyboardInterrupt) ||
         PyErr_GivenExceptionMatches(type, PyExc_SystemExit) || is_interrupt_execution(type))) {
        held_type = type;
        held_value = value;
        held_tb = tb;
        return;
    }
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
}

PyObject *ctl_hook_return(void)
{
    if (held_type) {
        PyErr_Restore(held_type, held_value, held_tb);
        held_type = held_value = held_tb = NULL;
        return NULL;
    }
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

PyObject *ctl_api_return(PyObject *result)
{
    if (!held_type)
        return result;
    Py_XDECREF(result);
    PyErr_Restore(held_type, held_value, held_tb); /* the interrupt wins */
    held_type = held_value = held_tb = NULL;
    return NULL;
}

/* ---- JSON ---- */

struct jenc {
    struct ctr_buf *out;
    size_t limit; /* stop once this many bytes are written */
};

enum { J_OK = 0, J_UNENCODABLE = -1, J_FULL = 1 };

static int enc(struct jenc *j, PyObject *v, int depth);

/* Append the UTF-8 of a str as a JSON string. */
static int enc_str(struct jenc *j, PyObject *s)
{
    Py_ssize_t n;
    const char *p = PyUnicode_AsUTF8AndSize(s, &n);
    if (p) {
        ctr_json_put_string(j->out, p, (size_t)n);
        return J_OK;
    }
    PyErr_Clear(); /* lone surrogates: replaced below */
    PyObject *b = ctl_utf8(s, &p, &n);
    if (!b)
        return J_UNENCODABLE;
    ctr_json_put_string(j->out, p, (size_t)n);
    Py_DECREF(b);
    return J_OK;
}

/* Append a float as float.__repr__ writes it, or NaN / Infinity. */
static int enc_float(struct jenc *j, double d)
{
    if (isnan(d)) {
        ctr_buf_puts(j->out, "NaN");
        return J_OK;
    }
    if (isinf(d)) {
        ctr_buf_puts(j->out, d > 0 ? "Infinity" : "-Infinity");
        return J_OK;
    }
    char *r = PyOS_double_to_string(d, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (!r)
        return J_UNENCODABLE;
    ctr_buf_puts(j->out, r);
    PyMem_Free(r);
    return J_OK;
}

/* Append an int in decimal (big ones through int.__str__). */
static int enc_int(struct jenc *j, PyObject *v)
{
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (!overflow && !(x == -1 && PyErr_Occurred())) {
        ctr_buf_printf(j->out, "%lld", x);
        return J_OK;
    }
    PyErr_Clear();
    PyObject *s = PyLong_Type.tp_str(v);
    if (!s)
        return J_UNENCODABLE;
    Py_ssize_t n;
    const char *p = PyUnicode_AsUTF8AndSize(s, &n);
    if (p)
        ctr_buf_append(j->out, p, (size_t)n);
    Py_DECREF(s);
    return p ? J_OK : J_UNENCODABLE;
}

/* A dict key as json writes it: str as is, bool/None/int/float as text. */
static int enc_key(struct jenc *j, PyObject *k)
{
    if (PyUnicode_Check(k))
        return enc_str(j, k);
    struct ctr_buf tmp = {0};
    struct jenc kj = {&tmp, (size_t)-1};
    int rc = J_UNENCODABLE;
    if (k == Py_True || k == Py_False || k == Py_None)
        ctr_buf_puts(&tmp, k == Py_True ? "true" : k == Py_False ? "false" : "null"), rc = J_OK;
    else if (PyLong_Check(k))
        rc = enc_int(&kj, k);
    else if (PyFloat_Check(k))
        rc = enc_float(&kj, PyFloat_AS_DOUBLE(k));
    if (rc == J_OK && !tmp.err)
        ctr_json_put_string(j->out, (const char *)tmp.data, tmp.len);
    ctr_buf_free(&tmp);
    return rc;
}

static int enc_dict(struct jenc *j, PyObject *d, int depth)
{
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    bool first = true;
    ctr_buf_putc(j->out, '{');
    while (PyDict_Next(d, &pos, &k, &v)) {
        /* Our own references: converting a value may run Python code that
         * changes the dict. */
        Py_INCREF(k);
        Py_INCREF(v);
        if (!first)
            ctr_buf_puts(j->out, ", ");
        first = false;
        int rc = enc_key(j, k);
        if (rc == J_OK) {
            ctr_buf_puts(j->out, ": ");
            rc = enc(j, v, depth + 1);
        }
        Py_DECREF(k);
        Py_DECREF(v);
        if (rc != J_OK)
            return rc;
    }
    ctr_buf_putc(j->out, '}');
    return J_OK;
}

static int enc_seq(struct jenc *j, PyObject *seq, int depth)
{
    ctr_buf_putc(j->out, '[');
    /* The size is read again after every item: an item's __str__ may shrink
     * the list. */
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *it = Py_NewRef(PySequence_Fast_GET_ITEM(seq, i));
        if (i)
            ctr_buf_puts(j->out, ", ");
        int rc = enc(j, it, depth + 1);
        Py_DECREF(it);
        if (rc != J_OK)
            return rc;
    }
    ctr_buf_putc(j->out, ']');
    return J_OK;
}

static int enc(struct jenc *j, PyObject *v, int depth)
{
    if (j->out->len > j->limit)
        return J_FULL;
    if (depth > JSON_MAX_DEPTH)
        return J_UNENCODABLE;
    if (v == Py_None || v == Py_True || v == Py_False) {
        ctr_buf_puts(j->out, v == Py_None ? "null" : v == Py_True ? "true" : "false");
        return J_OK;
    }
    if (PyUnicode_Check(v))
        return enc_str(j, v);
    if (PyLong_Check(v))
        return enc_int(j, v);
    if (PyFloat_Check(v))
        return enc_float(j, PyFloat_AS_DOUBLE(v));
    if (PyDict_Check(v))
        return enc_dict(j, v, depth);
    if (PyList_Check(v) || PyTuple_Check(v))
        return enc_seq(j, v, depth);
    /* default=str */
    PyObject *s = PyObject_Str(v);
    if (!s)
        return J_UNENCODABLE;
    int rc = enc_str(j, s);
    Py_DECREF(s);
    return rc;
}

/* Byte length of the first `max_chars` characters of UTF-8 text. */
static size_t prefix_bytes(const uint8_t *p, size_t len, size_t max_chars)
{
    size_t chars = 0;
    for (size_t i = 0; i < len; i++)
        if ((p[i] & 0xC0) != 0x80 && chars++ == max_chars)
            return i;
    return len;
}

int ctl_json(PyObject *v, size_t max_chars, struct ctr_buf *out)
{
    size_t start = out->len;
    struct jenc j = {out, start + max_chars * 4};
    int rc = enc(&j, v, 0);
    if (rc == J_UNENCODABLE) {
        ctl_hold_error();
        out->len = start;
        PyObject *r = PyObject_Repr(v);
        const char *p = NULL;
        Py_ssize_t n = 0;
        PyObject *b = r ? ctl_utf8(r, &p, &n) : NULL;
        if (b)
            ctr_buf_append(out, p, (size_t)n);
        Py_XDECREF(b);
        Py_XDECREF(r);
        ctl_hold_error();
        if (!b)
            return -1;
    }
    out->len = start + prefix_bytes(out->data + start, out->len - start, max_chars);
    return out->err ? -1 : 0;
}

/* The JSON text of `v` as a string attribute through `set`. */
static void set_json(ctl_attr_sink set, void *target, const char *key, PyObject *v,
                     size_t max_chars)
{
    if (!v)
        return;
    struct ctr_buf b = {0};
    if (ctl_json(v, max_chars, &b) == 0) {
        struct ctr_attr a = {{key, strlen(key)},
                             {.type = CTR_VALUE_STRING, .u.s = {(const char *)b.data, b.len}}};
        set(target, &a);
    }
    ctr_buf_free(&b);
}

void ctl_set_json(struct ctr_span *sp, const char *key, PyObject *v)
{
    set_json(ctl_span_sink, sp, key, v, CTL_OUTPUT_MAX_CHARS);
}

void ctl_set_json_max(struct ctr_span *sp, const char *key, PyObject *v, size_t max_chars)
{
    set_json(ctl_span_sink, sp, key, v, max_chars ? max_chars : SIZE_MAX / 8);
}

void ctl_builder_set_json(struct ctr_attr_builder *b, const char *key, PyObject *v)
{
    set_json(ctl_builder_sink, b, key, v, CTL_OUTPUT_MAX_CHARS);
}

int ctl_span_sink(void *span, const struct ctr_attr *a)
{
    return ctr_span_set_attr(span, a);
}

int ctl_builder_sink(void *builder, const struct ctr_attr *a)
{
    return ctr_attr_builder_set(builder, a);
}

/* ---- attributes ---- */

void ctl_set_str_list(struct ctr_span *sp, const char *key, PyObject *list)
{
    if (list && PyList_Check(list) && PyList_GET_SIZE(list) > 0) {
        PyObject *k = PyUnicode_FromString(key);
        if (k && ctl_attr_from_py(k, list, ctl_span_sink, sp) < 0)
            ctl_hold_error();
        Py_XDECREF(k);
    }
}

/* One scalar item: bool, int, float; anything else becomes text in *keep
 * (a bytes object owning the UTF-8). -1 with an exception from str(). */
static int scalar(PyObject *it, struct ctr_value *out, PyObject **keep)
{
    *keep = NULL;
    if (PyBool_Check(it)) {
        out->type = CTR_VALUE_BOOL;
        out->u.b = it == Py_True;
        return 0;
    }
    if (PyLong_Check(it)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(it, &overflow);
        if (!overflow && !(v == -1 && PyErr_Occurred())) {
            out->type = CTR_VALUE_INT;
            out->u.i = v;
            return 0;
        }
        PyErr_Clear();
    } else if (PyFloat_Check(it)) {
        out->type = CTR_VALUE_DOUBLE;
        out->u.d = PyFloat_AS_DOUBLE(it);
        return 0;
    }
    PyObject *s = PyUnicode_Check(it) ? Py_NewRef(it) : PyObject_Str(it);
    if (!s)
        return -1;
    const char *p = "";
    Py_ssize_t n = 0;
    *keep = ctl_utf8(s, &p, &n);
    Py_DECREF(s);
    out->type = CTR_VALUE_STRING;
    out->u.s.ptr = *keep ? p : "";
    out->u.s.len = *keep ? (size_t)n : 0;
    return 0;
}

/* A list or tuple: a homogeneous array, or its str() when mixed. The items
 * are a snapshot (a tuple of strong references), so str() of one item
 * cannot pull another from under us. */
static int sequence(PyObject *value, struct ctr_attr *a, PyObject **owner, struct ctr_value **items,
                    PyObject ***keep, Py_ssize_t *nkeep)
{
    PyObject *snap = PySequence_Tuple(value);
    if (!snap)
        return -1;
    Py_ssize_t n = PyTuple_GET_SIZE(snap);
    if (n > MAX_ARRAY_ITEMS)
        n = MAX_ARRAY_ITEMS;
    *items = PyMem_Calloc((size_t)n + 1, sizeof **items);
    *keep = PyMem_Calloc((size_t)n + 1, sizeof **keep);
    if (!*items || !*keep) {
        Py_DECREF(snap);
        PyErr_NoMemory();
        return -1;
    }
    bool mixed = false;
    for (Py_ssize_t i = 0; i < n && !mixed; i++) {
        PyObject *k = NULL;
        if (scalar(PyTuple_GET_ITEM(snap, i), &(*items)[i], &k) < 0) {
            Py_DECREF(snap);
            return -1;
        }
        if (k)
            (*keep)[(*nkeep)++] = k;
        mixed = (*items)[i].type != (*items)[0].type;
    }
    if (mixed) {
        *owner = PyObject_Str(snap);
        Py_DECREF(snap);
        return *owner ? 0 : -1;
    }
    Py_DECREF(snap);
    a->value.type = CTR_VALUE_ARRAY;
    a->value.u.array.items = *items;
    a->value.u.array.len = (size_t)n;
    return 0;
}

int ctl_attr_from_py(PyObject *key, PyObject *value, ctl_attr_sink set, void *target)
{
    const char *k;
    Py_ssize_t kn;
    PyObject *kb = ctl_utf8(key, &k, &kn);
    if (!kb) {
        PyErr_SetString(PyExc_TypeError, "attribute keys must be str");
        return -1;
    }
    if (value == Py_None) { /* no value: no attribute, as in OpenTelemetry */
        Py_DECREF(kb);
        return 0;
    }
    struct ctr_attr a = {{k, (size_t)kn}, {0}};
    PyObject *owner = NULL, *text = NULL, **keep = NULL;
    struct ctr_value *items = NULL;
    Py_ssize_t nkeep = 0;
    int rc = 0;
    if (PyBytes_Check(value)) {
        a.value.type = CTR_VALUE_BYTES;
        owner = Py_NewRef(value); /* ours while the value is copied */
        a.value.u.s.ptr = PyBytes_AS_STRING(owner);
        a.value.u.s.len = (size_t)PyBytes_GET_SIZE(owner);
    } else if ((PyList_Check(value) || PyTuple_Check(value)) && PySequence_Size(value) > 0) {
        rc = sequence(value, &a, &owner, &items, &keep, &nkeep);
    } else {
        rc = scalar(value, &a.value, &text);
    }
    if (rc == 0 && owner && a.value.type != CTR_VALUE_BYTES) { /* a mixed list's str() */
        const char *p;
        Py_ssize_t n;
        text = ctl_utf8(owner, &p, &n);
        a.value.type = CTR_VALUE_STRING;
        a.value.u.s.ptr = text ? p : "";
        a.value.u.s.len = text ? (size_t)n : 0;
    }
    if (rc == 0 && a.value.type != CTR_VALUE_EMPTY)
        set(target, &a);
    for (Py_ssize_t i = 0; i < nkeep; i++)
        Py_DECREF(keep[i]);
    PyMem_Free(keep);
    PyMem_Free(items);
    Py_XDECREF(text);
    Py_XDECREF(owner);
    Py_DECREF(kb);
    return rc;
}

int ctl_attrs_from_py(PyObject *mapping, ctl_attr_sink set, void *target)
{
    if (!mapping || mapping == Py_None)
        return 0;
    if (!PyDict_Check(mapping) && (!PyMapping_Check(mapping) || PySequence_Check(mapping))) {
        PyErr_Format(PyExc_TypeError, "attributes must be a mapping, not %R", mapping);
        return -1;
    }
    /* A snapshot of the items: str() of a value may change the mapping.
     * (OpenTelemetry passes mappings that are not dicts.) */
    PyObject *items = PyDict_Check(mapping) ? PyDict_Items(mapping) : PyMapping_Items(mapping);
    if (!items)
        return -1;
    int rc = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items) && rc == 0; i++) {
        PyObject *kv = PyList_GET_ITEM(items, i);
        if (PyTuple_Check(kv) && PyTuple_GET_SIZE(kv) == 2)
            rc = ctl_attr_from_py(PyTuple_GET_ITEM(kv, 0), PyTuple_GET_ITEM(kv, 1), set, target);
    }
    Py_DECREF(items);
    return rc;
}
