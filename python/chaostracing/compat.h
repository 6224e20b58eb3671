/*
 * What the binding uses from CPython 3.10+ that 3.9 (the oldest version the
 * package supports) lacks, defined as 3.10 does.
 */
#ifndef CHAOSTRACING_COMPAT_H
#define CHAOSTRACING_COMPAT_H

#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *ctl_compat_new_ref(PyObject *o)
{
    Py_INCREF(o);
    return o;
}
static inline PyObject *ctl_compat_xnew_ref(PyObject *o)
{
    Py_XINCREF(o);
    return o;
}
#define Py_NewRef(o) ctl_compat_new_ref((PyObject *)(o))
#define Py_XNewRef(o) ctl_compat_xnew_ref((PyObject *)(o))

/* Add `value` to the module without stealing the reference. */
static inline int PyModule_AddObjectRef(PyObject *module, const char *name, PyObject *value)
{
    Py_XINCREF(value);
    if (PyModule_AddObject(module, name, value) < 0) {
        Py_XDECREF(value);
        return -1;
    }
    return 0;
}

/* Heap types cannot be made immutable before 3.10; instantiation is refused
 * by a tp_new that raises (CTL_COMPAT_NO_NEW in the type's slots). */
#define Py_TPFLAGS_IMMUTABLETYPE 0
#define Py_TPFLAGS_DISALLOW_INSTANTIATION 0
static inline PyObject *ctl_compat_no_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    (void)args, (void)kwargs;
    PyErr_Format(PyExc_TypeError, "cannot create '%s' instances", type->tp_name);
    return NULL;
}
#define CTL_COMPAT_NO_NEW {Py_tp_new, (void *)ctl_compat_no_new},
#else
#define CTL_COMPAT_NO_NEW
#endif

/* Take the exception being raised (normalised, with its traceback) and set
 * it again: PyErr_GetRaisedException() where there is one (3.12+). */
static inline PyObject *ctl_err_take(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type = NULL, *exc = NULL, *tb = NULL;
    PyErr_Fetch(&type, &exc, &tb);
    PyErr_NormalizeException(&type, &exc, &tb);
    if (exc && tb)
        PyException_SetTraceback(exc, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return exc;
#endif
}

static inline void ctl_err_restore(PyObject *exc)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(exc);
#else
    if (exc)
        PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(exc)), exc, PyException_GetTraceback(exc));
#endif
}

#endif
