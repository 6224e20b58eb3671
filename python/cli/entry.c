/*
 * chaostracing._cli — the `chaostracing` command for the console script that
 * pip installs ([project.scripts] in pyproject.toml). The command is the C
 * code of cli/ (the same cli_main() as the standalone binary of `make cli`);
 * this file only turns a Python argv into a C one and runs it.
 *
 * main(argv=None, /) runs the command and returns its exit status. With no
 * argv it uses sys.argv. While the command runs, SIGINT and SIGPIPE have
 * their default actions, as in the standalone binary: Ctrl-C stops it and
 * `chaostracing view ... | head` ends quietly. The previous handlers are
 * put back afterwards. The GIL stays held, so calls never overlap (getopt
 * keeps global state).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <chaostracing/common.h>

#include "cli.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

/* Copy the bytes objects of `items` (already converted with
 * PyUnicode_FSConverter) into a NULL-terminated argv. Returns NULL with
 * MemoryError set on failure; the caller frees the array (not the strings,
 * which belong to the bytes objects). */
static char **argv_from_bytes(PyObject *const *items, Py_ssize_t n)
{
    char **argv = calloc((size_t)n + 1, sizeof *argv);
    if (!argv) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        argv[i] = PyBytes_AS_STRING(items[i]);
    return argv;
}

/* Run cli_main() on `argv` with default SIGINT and SIGPIPE actions; returns
 * its status. C stdio is flushed before the handlers are restored. */
static int run_with_default_signals(int argc, char **argv)
{
    struct sigaction dfl = {0}, old_int, old_pipe;
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGINT, &dfl, &old_int);
    sigaction(SIGPIPE, &dfl, &old_pipe);
    int status = cli_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    sigaction(SIGPIPE, &old_pipe, NULL);
    sigaction(SIGINT, &old_int, NULL);
    return status;
}

PyDoc_STRVAR(cli_entry_main_doc,
             "main($module, argv=None, /)\n--\n\n"
             "Run the chaostracing command with argv (default: sys.argv; argv[0] is the\n"
             "program name) and return its exit status.");

static PyObject *cli_entry_main(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs > 1) {
        PyErr_Format(PyExc_TypeError, "main() takes at most 1 argument (%zd given)", nargs);
        return NULL;
    }
    PyObject *seq = nargs == 1 && args[0] != Py_None ? args[0] : PySys_GetObject("argv");
    if (!seq) {
        PyErr_SetString(PyExc_RuntimeError, "sys.argv is not set");
        return NULL;
    }
    PyObject *fast = PySequence_Fast(seq, "argv must be a sequence of str or bytes");
    if (!fast)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    if (n < 1 || n > INT_MAX - 1) {
        Py_DECREF(fast);
        PyErr_SetString(PyExc_ValueError, "argv must hold the program name and its arguments");
        return NULL;
    }
    /* Python-level output written so far comes before the command's. */
    PyObject *r = PyObject_CallMethod(PySys_GetObject("stdout"), "flush", NULL);
    Py_XDECREF(r);
    r = PyObject_CallMethod(PySys_GetObject("stderr"), "flush", NULL);
    Py_XDECREF(r);
    PyErr_Clear(); /* a closed or missing sys.stdout is no reason not to run */

    PyObject **bytes = PyMem_Calloc((size_t)n, sizeof *bytes);
    if (!bytes) {
        Py_DECREF(fast);
        return PyErr_NoMemory();
    }
    PyObject *result = NULL;
    Py_ssize_t converted = 0;
    for (; converted < n; converted++)
        if (!PyUnicode_FSConverter(PySequence_Fast_GET_ITEM(fast, converted), &bytes[converted]))
            goto done;
    char **argv = argv_from_bytes(bytes, n);
    if (!argv)
        goto done;
    result = PyLong_FromLong(run_with_default_signals((int)n, argv));
    free(argv);
done:
    for (Py_ssize_t i = 0; i < converted; i++)
        Py_DECREF(bytes[i]);
    PyMem_Free(bytes);
    Py_DECREF(fast);
    return result;
}

static PyMethodDef cli_entry_methods[] = {
    {"main", (PyCFunction)(void (*)(void))cli_entry_main, METH_FASTCALL, cli_entry_main_doc},
    {NULL, NULL, 0, NULL},
};

static int cli_entry_exec(PyObject *module)
{
    return PyModule_AddStringConstant(module, "__version__", CTR_VERSION);
}

/* No Py_mod_gil or Py_mod_multiple_interpreters slot: the defaults (the GIL
 * is used; sub-interpreters that share the main GIL) keep calls serialized,
 * which the global getopt state needs. */
static PyModuleDef_Slot cli_entry_slots[] = {
    {Py_mod_exec, cli_entry_exec},
    {0, NULL},
};

static struct PyModuleDef cli_entry_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "chaostracing._cli",
    .m_doc = "The chaostracing command-line tool, for the console script pip installs.",
    .m_size = 0,
    .m_methods = cli_entry_methods,
    .m_slots = cli_entry_slots,
};

PyMODINIT_FUNC PyInit__cli(void)
{
    return PyModuleDef_Init(&cli_entry_module);
}
