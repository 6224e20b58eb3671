/*
 * Process activities: chaoslib starts their program with os.environ, so the
 * activity's context goes there, as the OpenTelemetry environment carrier
 * has it (TRACEPARENT, TRACESTATE, BAGGAGE), for the time of the activity.
 * The variables are put back as they were when it ends, so neither the
 * journal nor later activities keep them. Background process activities
 * overlap: the variables hold the context of the latest one still running,
 * and the original values return when the last one ends.
 */
#include "binding.h"

#include <stdlib.h>
#include <string.h>

static const char *const vars[] = {"TRACEPARENT", "TRACESTATE", "BAGGAGE"};
#define N_VARS (sizeof vars / sizeof vars[0])

struct values {
    PyObject *dict; /* variable name → value */
    bool failed;
};

/* A carrier writing each header as its environment variable into a dict.
 * (The entry is not in the table yet: nobody else can end its span.) */
static void collect(void *ud, const char *header, const char *value)
{
    struct values *v = ud;
    char name[32];
    if (v->failed || ctr_env_var_name(header, name, sizeof name) != 0)
        return;
    PyObject *s = PyUnicode_FromString(value);
    if (!s || PyDict_SetItemString(v->dict, name, s) < 0)
        v->failed = true;
    Py_XDECREF(s);
}

static PyObject *os_environ(void)
{
    PyObject *os = PyImport_ImportModule("os");
    PyObject *env = os ? PyObject_GetAttrString(os, "environ") : NULL;
    Py_XDECREF(os);
    return env;
}

/* True when variable `name` already holds `v` (None: unset), as getenv()
 * sees it (os.environ writes through to it): nothing to change then. */
static bool holds(const char *name, PyObject *v)
{
    const char *now = getenv(name);
    if (!v || v == Py_None)
        return now == NULL;
    const char *want = PyUnicode_AsUTF8(v);
    if (!want) {
        PyErr_Clear();
        return false;
    }
    return now && strcmp(now, want) == 0;
}

/*
 * Set (v a str) or unset (v NULL or None) one variable as os.environ's
 * __setitem__ / __delitem__ do on POSIX: the C environment, then its own
 * dict of bytes (`data`, os.environ._data), without running their Python
 * code on every process activity. Without that dict (another platform, a
 * replaced os.environ), through the mapping itself.
 */
static void set_var(PyObject *env, PyObject *data, const char *name, PyObject *v)
{
    bool unset = !v || v == Py_None;
    if (!data || !PyDict_Check(data)) {
        if (!unset ? PyMapping_SetItemString(env, name, v) < 0
                   : PyMapping_HasKeyString(env, name) && PyMapping_DelItemString(env, name) < 0)
            ctl_hold_error();
        return;
    }
    PyObject *key = PyBytes_FromString(name);
    PyObject *value = key && !unset ? PyUnicode_EncodeFSDefault(v) : NULL;
    if (value && setenv(name, PyBytes_AS_STRING(value), 1) == 0) {
        if (PyDict_SetItem(data, key, value) < 0)
            ctl_hold_error();
    } else if (key && unset) {
        unsetenv(name);
        if (PyDict_DelItem(data, key) < 0)
            PyErr_Clear(); /* KeyError: it was not there */
    }
    Py_XDECREF(value);
    Py_XDECREF(key);
    ctl_hold_error();
}

/* Set the variables to `values` (a dict; None values, or absent: unset),
 * touching only those that change. */
static void apply(PyObject *values)
{
    PyObject *env = NULL, *data = NULL;
    for (size_t i = 0; i < N_VARS; i++) {
        PyObject *v = PyDict_GetItemString(values, vars[i]);
        if (holds(vars[i], v))
            continue;
        if (!env) {
            if (!(env = os_environ()))
                break;
            data = PyObject_GetAttrString(env, "_data");
            PyErr_Clear();
        }
        set_var(env, data, vars[i], v);
    }
    Py_XDECREF(data);
    Py_XDECREF(env);
    ctl_hold_error();
}

void ctl_env_push(ctl_state *st, struct open_entry *e)
{
    /* The library writes the values before any Python code runs. */
    struct ctr_span_context ctx;
    ctr_span_get_context(e->span, &ctx);
    struct values v = {PyDict_New(), false};
    if (!v.dict) {
        ctl_hold_error();
        return;
    }
    struct ctr_propagation w3c;
    ctr_propagation_default(&w3c, CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE);
    struct ctr_carrier c = {NULL, collect, &v, NULL};
    ctr_propagation_inject(&w3c, &ctx, st->baggage, &c);
    PyObject *values = v.dict;
    if (v.failed)
        Py_CLEAR(values);
    if (!values) {
        ctl_hold_error();
        return;
    }
    if (!st->env_stack && !(st->env_stack = PyList_New(0))) {
        Py_DECREF(values);
        ctl_hold_error();
        return;
    }
    if (!st->env_original) {
        /* The first: keep what was there. Read with getenv() (what
         * os.environ writes through to), so no Python code runs, and no
         * other thread's activity can come in between. */
        PyObject *orig = PyDict_New();
        for (size_t i = 0; orig && i < N_VARS; i++) {
            const char *was = getenv(vars[i]);
            PyObject *w = was ? PyUnicode_DecodeFSDefault(was) : Py_NewRef(Py_None);
            if (!w || PyDict_SetItemString(orig, vars[i], w) < 0)
                Py_CLEAR(orig);
            Py_XDECREF(w);
        }
        st->env_original = orig;
        if (!orig) {
            Py_DECREF(values);
            ctl_hold_error();
            return;
        }
    }
    if (PyList_Append(st->env_stack, values) < 0) {
        Py_DECREF(values);
        ctl_hold_error();
        return;
    }
    e->env_saved = values;
    e->st = st;
    apply(values);
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
    apply(now);
    Py_DECREF(now);
    /* The originals are forgotten once they are back and nobody came in
     * meanwhile (apply() runs Python code). */
    if (!n && PyList_GET_SIZE(stack) == 0)
        Py_CLEAR(st->env_original);
}
