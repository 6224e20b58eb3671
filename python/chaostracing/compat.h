/*
 * chaostracing.control — the CPython 3.10 API the binding uses, for 3.9 (the
 * oldest version requires-python admits and a wheel is built for). Nothing
 * here is compiled on 3.10 and later except ctl_type_ready(), a no-op there.
 */
#ifndef CHAOSTRACING_COMPAT_H
#define CHAOSTRACING_COMPAT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if PY_VERSION_HEX < 0x030A0000
/* New references, as 3.10's Py_NewRef and Py_XNewRef. */
static inline PyObject *ctl_compat_newref(PyObject *o)
{
    Py_INCREF(o);
    return o;
}
static inline PyObject *ctl_compat_xnewref(PyObject *o)
{
    Py_XINCREF(o);
    return o;
}
#define Py_NewRef(o) ctl_compat_newref((PyObject *)(o))
#define Py_XNewRef(o) ctl_compat_xnewref((PyObject *)(o))

/* 3.10's PyModule_AddObjectRef: adds `value` (a new reference is taken, the
 * caller keeps its own); -1 with an exception set on failure or NULL value. */
static inline int PyModule_AddObjectRef(PyObject *module, const char *name, PyObject *value)
{
    if (!value) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_SystemError, "PyModule_AddObjectRef() with a NULL value");
        return -1;
    }
    Py_INCREF(value);
    if (PyModule_AddObject(module, name, value) < 0) {
        Py_DECREF(value);
        return -1;
    }
    return 0;
}

/* 3.9 has neither flag: types stay mutable there, and ctl_type_ready()
 * forbids instantiation by hand. */
#define Py_TPFLAGS_IMMUTABLETYPE 0
#define Py_TPFLAGS_DISALLOW_INSTANTIATION 0
#endif

/* Finish a heap type made by PyType_FromModuleAndSpec: on 3.9, remove the
 * tp_new inherited from object, which Py_TPFLAGS_DISALLOW_INSTANTIATION
 * does from 3.10 on. Returns `type` (may be NULL). */
static inline PyObject *ctl_type_ready(PyObject *type)
{
#if PY_VERSION_HEX < 0x030A0000
    if (type)
        ((PyTypeObject *)type)->tp_new = NULL;
#endif
    return type;
}

#endif
