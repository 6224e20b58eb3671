/*
 * Process activities: chaoslib starts their program with env=os.environ, so
 * the activity's context goes there, as the OpenTelemetry environment
 * carrier has it (TRACEPARENT, TRACESTATE, BAGGAGE), for the time of the
 * activity. The variables are put back as they were when it ends, so neither
 * the journal nor later activities keep them. Background process activities
 * overlap: the variables hold the context of the latest one still running,
 * and the original values return when the last one ends.
 *
 * On POSIX the values go into os.environ's own dict of bytes (its _data,
 * which subprocess reads through env=os.environ) and not into the C
 * environment: setenv() keeps every distinct "NAME=value" string it was
 * given for the life of the process (a new traceparent per activity), and
 * code reading getenv() in this process has no business seeing one
 * activity's context. No Python code runs while the values are read or
 * written. Without that dict (another platform, a replaced os.environ),
 * the mapping itself is used.
 */
#include "binding.h"

#include <string.h>

static const char *const vars[] = {"TRACEPARENT", "TRACESTATE", "BAGGAGE"};
#define N_VARS (sizeof vars / sizeof vars[0])

/* A set of values: a tuple of N_VARS entries, bytes (set) or None (unset). */

struct values {
    PyObject *v[N_VARS];
    bool failed;
};

/* A carrier writing each header into the slot of its environment variable. */
static void collect(void *ud, const char *header, const char *value)
{
    struct values *v = ud;
    char name[32];
    if (v->failed || ctr_env_var_name(header, name, sizeof name) != 0)
        return;
    for (size_t i = 0; i < N_VARS; i++) {
        if (strcmp(name, vars[i]) != 0)
            continue;
        PyObject *b = PyBytes_FromString(value);
        if (!b)
            v->failed = true;
        else
            Py_XSETREF(v->v[i], b);
    }
}

static PyObject *values_tuple(struct values *v)
{
    PyObject *t = v->failed ? NULL : PyTuple_New(N_VARS);
    for (size_t i = 0; i < N_VARS; i++) {
        if (t)
            PyTuple_SET_ITEM(t, i, v->v[i] ? v->v[i] : Py_NewRef(Py_None));
        else
            Py_XDECREF(v->v[i]);
        v->v[i] = NULL;
    }
    return t;
}

/* os.environ, and its dict of bytes when it has one. */
struct environ {
    PyObject *env;
    PyObject *data; /* NULL: use the mapping */
};

static int environ_open(ctl_state *st, struct environ *e)
{
    e->env = e->data = NULL;
    if (!st->env_keys) {
        PyObject *k[N_VARS] = {NULL};
        for (size_t i = 0; i < N_VARS; i++)
            k[i] = PyBytes_FromString(vars[i]);
        st->env_keys = k[0] && k[1] && k[2] ? PyTuple_Pack(N_VARS, k[0], k[1], k[2]) : NULL;
        for (size_t i = 0; i < N_VARS; i++)
            Py_XDECREF(k[i]);
        if (!st->env_keys)
            return -1;
    }
    if (!st->os_module && !(st->os_module = PyImport_ImportModule("os")))
        return -1;
    /* os.environ, and its _data as long as it is the same object (looking
     * _data up goes through the whole MutableMapping class chain). */
    PyObject *env = ctl_dget(PyModule_GetDict(st->os_module), "environ");
    if (!env) {
        PyErr_SetString(PyExc_RuntimeError, "os.environ is gone");
        return -1;
    }
    if (env != st->os_environ) {
        Py_XSETREF(st->os_environ, Py_NewRef(env));
        PyObject *data = PyObject_GetAttrString(env, "_data");
        Py_XSETREF(st->os_environ_data, data && PyDict_CheckExact(data) ? Py_NewRef(data) : NULL);
        Py_XDECREF(data);
        PyErr_Clear();
    }
    e->env = Py_NewRef(env);
    e->data = Py_XNewRef(st->os_environ_data);
    return 0;
}

static void environ_close(struct environ *e)
{
    Py_CLEAR(e->data);
    Py_CLEAR(e->env);
}

/* Variable i's value now: bytes or None (a new reference), NULL on error. */
static PyObject *environ_get(ctl_state *st, struct environ *e, size_t i)
{
    if (e->data) {
        PyObject *b = PyDict_GetItemWithError(e->data, PyTuple_GET_ITEM(st->env_keys, i));
        if (b && PyBytes_Check(b))
            return Py_NewRef(b);
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    }
    PyObject *s = PyMapping_HasKeyString(e->env, vars[i]) ? PyMapping_GetItemString(e->env, vars[i])
                                                          : Py_NewRef(Py_None);
    if (!s || s == Py_None)
        return s;
    PyObject *b = PyUnicode_Check(s) ? PyUnicode_EncodeFSDefault(s) : NULL;
    if (!b && !PyErr_Occurred())
        b = Py_NewRef(Py_None);
    Py_DECREF(s);
    return b;
}

static void environ_set(ctl_state *st, struct environ *e, size_t i, PyObject *v)
{
    bool unset = v == Py_None;
    if (e->data) {
        PyObject *key = PyTuple_GET_ITEM(st->env_keys, i);
        if (!unset ? PyDict_SetItem(e->data, key, v) < 0 : PyDict_DelItem(e->data, key) < 0)
            ctl_hold_error(); /* KeyError: it was not there */
        return;
    }
    if (unset) {
        if (PyMapping_HasKeyString(e->env, vars[i]) && PyMapping_DelItemString(e->env, vars[i]) < 0)
            ctl_hold_error();
        return;
    }
    PyObject *s = PyUnicode_DecodeFSDefaultAndSize(PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v));
    if (!s || PyMapping_SetItemString(e->env, vars[i], s) < 0)
        ctl_hold_error();
    Py_XDECREF(s);
}

static bool same(PyObject *a, PyObject *b)
{
    if (a == Py_None || b == Py_None)
        return a == b;
    return PyBytes_GET_SIZE(a) == PyBytes_GET_SIZE(b) &&
           memcmp(PyBytes_AS_STRING(a), PyBytes_AS_STRING(b), (size_t)PyBytes_GET_SIZE(a)) == 0;
}

/* Set the variables to `values`, touching only those that change. */
static void apply(ctl_state *st, PyObject *values)
{
    struct environ e;
    if (environ_open(st, &e) == 0) {
        for (size_t i = 0; i < N_VARS; i++) {
            PyObject *want = PyTuple_GET_ITEM(values, i);
            PyObject *now = environ_get(st, &e, i);
            if (now && !same(now, want))
                environ_set(st, &e, i, want);
            Py_XDECREF(now);
        }
    }
    environ_close(&e);
    ctl_hold_error();
}

/* The variables as they are now (a values tuple), or NULL. */
static PyObject *read_now(ctl_state *st)
{
    struct environ e;
    struct values v = {{NULL}, false};
    if (environ_open(st, &e) == 0) {
        for (size_t i = 0; i < N_VARS && !v.failed; i++)
            v.failed = !(v.v[i] = environ_get(st, &e, i));
    } else {
        v.failed = true;
    }
    environ_close(&e);
    return values_tuple(&v);
}

void ctl_env_push(ctl_state *st, struct open_entry *e)
{
    /* The library writes the values before any Python code runs. */
    struct ctr_span_context ctx;
    ctr_span_get_context(e->span, &ctx);
    struct values v = {{NULL}, false};
    struct ctr_propagation w3c;
    ctr_propagation_default(&w3c, CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE);
    struct ctr_carrier c = {NULL, collect, &v, NULL};
    ctr_propagation_inject(&w3c, &ctx, st->baggage, &c);
    PyObject *values = values_tuple(&v);
    if (!values) {
        ctl_hold_error();
        return;
    }
    if (!st->env_stack && !(st->env_stack = PyList_New(0))) {
        Py_DECREF(values);
        ctl_hold_error();
        return;
    }
    /* The first keeps what was there (no Python code runs on POSIX, so no
     * other thread's activity comes in between). */
    if (!st->env_original && !(st->env_original = read_now(st))) {
        Py_DECREF(values);
        ctl_hold_error();
        return;
    }
    if (PyList_Append(st->env_stack, values) < 0) {
        Py_DECREF(values);
        ctl_hold_error();
        return;
    }
    e->env_saved = values;
    e->st = st;
    apply(st, values);
}

void ctl_env_pop(ctl_state *st, struct open_entry *e)
{
    PyObject *values = e->env_saved;
    e->env_saved = NULL;
    if (!values)
        return;
    PyObject *stack = st->env_stack;
    for (Py_ssize_t i = stack ? PyList_GET_SIZE(stack) : 0; i-- > 0;) {
        if (PyList_GET_ITEM(stack, i) == values) {
            if (PySequence_DelItem(stack, i) < 0)
                ctl_hold_error();
            break;
        }
    }
    Py_DECREF(values);
    if (!stack || !st->env_original)
        return;
    Py_ssize_t n = PyList_GET_SIZE(stack);
    PyObject *now = n ? Py_NewRef(PyList_GET_ITEM(stack, n - 1)) : Py_NewRef(st->env_original);
    apply(st, now);
    Py_DECREF(now);
    /* The originals are forgotten once they are back and nobody came in
     * meanwhile (without os.environ's dict, apply() runs Python code). */
    if (!n && PyList_GET_SIZE(stack) == 0)
        Py_CLEAR(st->env_original);
}
