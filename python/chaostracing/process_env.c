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
    char name[N_VARS][16];
    char value[N_VARS][CTR_BAGGAGE_MAX + 1];
    size_t n;
};

static void collect(void *ud, const char *header, const char *value)
{
    struct values *v = ud;
    if (v->n < N_VARS && ctr_env_var_name(header, v->name[v->n], sizeof v->name[0]) == 0) {
        snprintf(v->value[v->n], sizeof v->value[0], "%s", value);
        v->n++;
    }
}

static PyObject *os_environ(void)
{
    PyObject *os = PyImport_ImportModule("os");
    PyObject *env = os ? PyObject_GetAttrString(os, "environ") : NULL;
    Py_XDECREF(os);
    return env;
}

/* Set the variables to `values` (a dict; None values, or absent: unset). */
static void apply(PyObject *values)
{
    PyObject *env = os_environ();
    for (size_t i = 0; env && i < N_VARS; i++) {
        PyObject *v = PyDict_GetItemString(values, vars[i]);
        if (v && v != Py_None) {
            if (PyMapping_SetItemString(env, vars[i], v) < 0)
                ctl_hold_error();
        } else if (PyMapping_HasKeyString(env, vars[i]) &&
                   PyMapping_DelItemString(env, vars[i]) < 0) {
            ctl_hold_error();
        }
    }
    Py_XDECREF(env);
    ctl_hold_error();
}

void ctl_env_push(ctl_state *st, struct open_entry *e)
{
    /* The library writes the values before any Python code runs. */
    struct ctr_span_context ctx;
    ctr_span_get_context(e->span, &ctx);
    struct values *v = PyMem_Calloc(1, sizeof *v);
    if (!v)
        return;
    struct ctr_propagation w3c;
    ctr_propagation_default(&w3c, CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE);
    struct ctr_carrier c = {NULL, collect, v, NULL};
    ctr_propagation_inject(&w3c, &ctx, st->baggage, &c);
    PyObject *values = PyDict_New();
    for (size_t i = 0; values && i < v->n; i++) {
        PyObject *s = PyUnicode_FromString(v->value[i]);
        if (!s || PyDict_SetItemString(values, v->name[i], s) < 0)
            Py_CLEAR(values);
        Py_XDECREF(s);
    }
    PyMem_Free(v);
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
