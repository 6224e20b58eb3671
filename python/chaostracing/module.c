/*
 * chaostracing.control — the Chaos Toolkit control, as a CPython extension
 * module written in C: module definition, state, initialisation and GC.
 *
 * Interpreters and threads:
 *  - Main interpreter only. The library's log sink and fork handlers are
 *    process-wide, so two interpreters would share (and steal) each other's
 *    messages. Importing the module in a sub-interpreter raises ImportError
 *    (and Python 3.12+ is told so through Py_mod_multiple_interpreters).
 *  - The GIL is required: hooks from chaoslib's worker threads share the
 *    module state and rely on it. On a free-threaded build (3.13t) the
 *    module declares Py_MOD_GIL_USED, so importing it turns the GIL back on.
 */
#include "binding.h"

#include <pthread.h>
#include <stdlib.h>

ctl_state *ctl_get_state(PyObject *module)
{
    return (ctl_state *)PyModule_GetState(module);
}

/* The Chaos Toolkit hooks, exposed as Hook objects by control_exec(). */
static PyMethodDef hook_defs[] = {
    {"configure_control", (PyCFunction)(void (*)(void))ctl_native_configure_control,
     METH_FASTCALL | METH_KEYWORDS, configure_control_doc},
    {"cleanup_control", ctl_cleanup_control, METH_NOARGS, cleanup_control_doc},
    CTL_SHARED_HOOK_DEFS,
    {NULL, NULL, 0, NULL},
};

/* The API for other extensions (chaostracing/__init__.py re-exports it). */
static PyMethodDef control_methods[] = {
    {"start_span", (PyCFunction)(void (*)(void))ctl_start_span, METH_VARARGS | METH_KEYWORDS,
     ctl_start_span_doc},
    {"tracer", ctl_api_tracer, METH_NOARGS, ctl_api_tracer_doc},
    {"current_span", ctl_api_current_span, METH_NOARGS, ctl_api_current_span_doc},
    {"inject", (PyCFunction)(void (*)(void))ctl_api_inject, METH_VARARGS | METH_KEYWORDS,
     ctl_api_inject_doc},
    {"extract", ctl_api_extract, METH_O, ctl_api_extract_doc},
    {NULL, NULL, 0, NULL},
};

/* The types of the module: where they are kept, and under which name they
 * are exposed (NULL: not exposed). */
static int add_types(PyObject *module, ctl_state *st)
{
    const struct {
        PyType_Spec *spec;
        PyObject **slot;
        const char *name;
    } types[] = {
        {&ctl_span_spec, &st->span_type, "Span"},
        {&ctl_context_spec, &st->context_type, "SpanContext"},
        {&ctl_tracer_spec, &st->tracer_type, "Tracer"},
        {&ctl_hook_spec, &st->hook_type, NULL},
        {&ctl_run_events_spec, &st->run_events_type, NULL},
        {&ctl_ot_tracer_spec, &st->ot_tracer_type, NULL},
        {&ctl_ot_scope_manager_spec, &st->ot_scope_manager_type, NULL},
        {&ctl_ot_scope_spec, &st->ot_scope_type, NULL},
        {&ctl_otel_provider_spec, &st->otel_provider_type, NULL},
        {&ctl_otel_tracer_spec, &st->otel_tracer_type, NULL},
        {&ctl_otel_cm_spec, &st->otel_cm_type, NULL},
        {&ctl_otel_propagator_spec, &st->otel_propagator_type, NULL},
        {&ctl_otel_coro_spec, &st->otel_coro_type, NULL},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        *types[i].slot = PyType_FromModuleAndSpec(module, types[i].spec, NULL);
        if (!*types[i].slot ||
            (types[i].name && PyModule_AddObjectRef(module, types[i].name, *types[i].slot) < 0))
            return -1;
    }
    st->current = PyContextVar_New("chaostracing.current_span", NULL);
    return st->current ? 0 : -1;
}

static void register_atfork(void)
{
    pthread_atfork(ctl_logq_atfork_prepare, ctl_logq_atfork_parent, ctl_logq_atfork_child);
}

static int control_exec(PyObject *module)
{
    if (PyInterpreterState_Get() != PyInterpreterState_Main()) {
        PyErr_SetString(PyExc_ImportError,
                        "chaostracing.control can only be used in the main interpreter");
        return -1;
    }
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_atfork);
    ctl_state *st = ctl_get_state(module);
    memset(st, 0, sizeof *st);
    if (PyModule_AddStringConstant(module, "__version__", CTR_VERSION) < 0)
        return -1;
    if (add_types(module, st) < 0)
        return -1;
    PyObject *modname = PyModule_GetNameObject(module);
    if (!modname)
        return -1;
    int rc = 0;
    for (PyMethodDef *def = hook_defs; def->ml_name && rc == 0; def++) {
        PyObject *func = PyCFunction_NewEx(def, module, modname);
        PyObject *hook = func ? ctl_hook_new((PyTypeObject *)st->hook_type, func) : NULL;
        rc = hook ? PyModule_AddObjectRef(module, def->ml_name, hook) : -1;
        Py_XDECREF(hook);
        Py_XDECREF(func);
    }
    Py_DECREF(modname);
    return rc ? rc : ctl_add_oltp_hooks(module);
}

/* Every object the state holds. */
#define OBJECTS(st)                                                                                \
    &st->logger, &st->substitute, &st->span_type, &st->hook_type, &st->run_events_type,            \
        &st->context_type, &st->tracer_type, &st->tracer_obj, &st->current, &st->ot_tracer_type,   \
        &st->ot_scope_manager_type, &st->ot_scope_type, &st->ot_tracer, &st->ot_previous,          \
        &st->otel_provider_type, &st->otel_tracer_type, &st->otel_cm_type,                         \
        &st->otel.get_current_span, &st->otel.set_span_in_context, &st->otel.attach,               \
        &st->otel.detach, &st->otel.span_context, &st->otel.trace_flags, &st->otel.trace_state,    \
        &st->otel.provider, &st->otel.instrumented, &st->otel.cv, &st->otel.span_key,              \
        &st->otel.context_cls, &st->otel.textmap, &st->otel.previous_textmap,                      \
        &st->otel_propagator_type, &st->otel_coro_type, &st->env_stack, &st->env_original,         \
        &st->env_keys, &st->os_module, &st->os_environ, &st->os_environ_data

static int control_traverse(PyObject *module, visitproc visit, void *arg)
{
    ctl_state *st = ctl_get_state(module);
    if (!st)
        return 0;
    PyObject **objs[] = {OBJECTS(st)};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++)
        Py_VISIT(*objs[i]);
    return open_table_traverse(&st->open, visit, arg);
}

static int control_clear(PyObject *module)
{
    ctl_state *st = ctl_get_state(module);
    if (!st)
        return 0;
    PyObject **objs[] = {OBJECTS(st)};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++)
        Py_CLEAR(*objs[i]);
    return 0;
}

static void control_free(void *module)
{
    ctl_state *st = ctl_get_state((PyObject *)module);
    if (!st)
        return;
    /* At interpreter exit: never wait on the network here. */
    size_t n;
    struct open_entry **all = open_table_take_all(&st->open, &n);
    for (size_t i = 0; i < n; i++) {
        ctr_span_free(all[i]->span);
        open_entry_free(all[i]);
    }
    free(all);
    ctl_dget_clear();
    ctr_span_free(st->continuous);
    ctr_span_free(st->method);
    ctr_span_free(st->rollbacks);
    ctr_span_free(st->experiment);
    ctr_tracer_free(st->tracer); /* zero deadline */
    st->tracer = NULL;
    free(st->tracestate);
    free(st->baggage);
    free(st->trace_url);
    control_clear((PyObject *)module);
}

static PyModuleDef_Slot control_slots[] = {
    {Py_mod_exec, control_exec},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
#if PY_VERSION_HEX >= 0x030D0000
    {Py_mod_gil, Py_MOD_GIL_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef control_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "chaostracing.control",
    .m_doc = "The chaostracing control for the Chaos Toolkit: one span per experiment, phase and "
             "activity, exported by the chaostracing C library.",
    .m_size = sizeof(ctl_state),
    .m_methods = control_methods,
    .m_slots = control_slots,
    .m_traverse = control_traverse,
    .m_clear = control_clear,
    .m_free = control_free,
};

PyMODINIT_FUNC PyInit_control(void)
{
    return PyModuleDef_Init(&control_module);
}
