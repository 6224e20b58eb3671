/*
 * configure_control and cleanup_control: the control's arguments and the
 * experiment's configuration become the library's settings (Python values
 * converted, nothing decided here), the library resolves them, and its
 * problems are logged. cleanup_control ends the run's tracing.
 */
#include "binding.h"

#include <string.h>

/* Nesting of the secrets mapping walked for values. */
#define SECRETS_DEPTH 8
/* Characters of repr() kept for messages about a value. */
#define SHOWN_CHARS 200

/* Owners of the bytes a converted value points into: a list of objects and
 * the header array of a mapping. */
struct keep {
    PyObject *objs;
    struct ctr_header *map;
};

static void keep_free(struct keep *k)
{
    Py_CLEAR(k->objs);
    PyMem_Free(k->map);
    k->map = NULL;
}

/* Keep `o` (a new reference, may be NULL) alive until keep_free(); false
 * when `o` is NULL or out of memory. */
static bool hold(struct keep *k, PyObject *o)
{
    if (!o)
        return false;
    if (!k->objs)
        k->objs = PyList_New(0);
    bool ok = k->objs && PyList_Append(k->objs, o) == 0;
    Py_DECREF(o);
    return ok;
}

/* repr() of `v`, cut, as the display text of a value of another type. */
static void display(PyObject *v, struct ctr_setting_value *out, struct keep *k)
{
    PyObject *r = PyObject_Repr(v);
    PyObject *cut = r ? PyUnicode_Substring(r, 0, SHOWN_CHARS) : NULL;
    Py_XDECREF(r);
    const char *p;
    Py_ssize_t n;
    PyObject *b = cut ? ctl_utf8(cut, &p, &n) : NULL;
    Py_XDECREF(cut);
    ctl_hold_error();
    if (hold(k, b)) {
        out->text = p;
        out->len = (size_t)n;
    }
}

/* A header value: str, or a number given as such (written as its str()). */
static PyObject *header_text(PyObject *v)
{
    if (PyUnicode_Check(v))
        return Py_NewRef(v);
    if ((PyLong_Check(v) || PyFloat_Check(v)) && !PyBool_Check(v))
        return PyObject_Str(v);
    return NULL;
}

/* A dict of str → str (or number) as a MAP; false when it is not one. */
static bool to_map(PyObject *d, struct ctr_setting_value *out, struct keep *k)
{
    PyObject *items = PyDict_Items(d); /* a snapshot: str() may run Python */
    if (!items)
        return false;
    Py_ssize_t n = PyList_GET_SIZE(items);
    k->map = PyMem_Calloc((size_t)n + 1, sizeof *k->map);
    bool ok = k->map != NULL;
    for (Py_ssize_t i = 0; ok && i < n; i++) {
        PyObject *kv = PyList_GET_ITEM(items, i);
        PyObject *vs = header_text(PyTuple_GET_ITEM(kv, 1));
        const char *kp, *vp;
        Py_ssize_t kn, vn;
        PyObject *kb = ctl_utf8(PyTuple_GET_ITEM(kv, 0), &kp, &kn);
        PyObject *vb = vs ? ctl_utf8(vs, &vp, &vn) : NULL;
        Py_XDECREF(vs);
        bool held_k = hold(k, kb), held_v = hold(k, vb);
        ok = held_k && held_v && strlen(kp) == (size_t)kn && strlen(vp) == (size_t)vn;
        if (ok) {
            k->map[i].name = (char *)kp;
            k->map[i].value = (char *)vp;
        }
    }
    Py_DECREF(items);
    ctl_hold_error();
    if (ok) {
        out->type = CTR_SV_MAP;
        out->map = k->map;
        out->n_map = (size_t)n;
    }
    return ok;
}

/* Convert one Python value (types only, no meaning) and record it. */
static int put(struct ctr_settings *set, enum ctr_setting_source src, PyObject *key, PyObject *v)
{
    const char *kp;
    Py_ssize_t kn;
    PyObject *kb = ctl_utf8(key, &kp, &kn);
    if (!kb)
        return 0; /* not a str key: not ours */
    if (src == CTR_FROM_CONFIGURATION && !ctr_settings_is_config_key(kp, (size_t)kn)) {
        Py_DECREF(kb);
        return 0;
    }
    struct ctr_setting_value sv = {.type = CTR_SV_OTHER};
    struct keep k = {NULL, NULL};
    if (v == Py_None) {
        sv.type = CTR_SV_NULL;
    } else if (PyBool_Check(v)) {
        sv.type = CTR_SV_BOOL;
        sv.b = v == Py_True;
    } else if (PyLong_Check(v)) {
        int overflow = 0;
        sv.i = PyLong_AsLongLongAndOverflow(v, &overflow);
        sv.type = overflow ? CTR_SV_OTHER : CTR_SV_INT;
        PyErr_Clear();
    } else if (PyFloat_Check(v)) {
        sv.type = CTR_SV_FLOAT;
        sv.d = PyFloat_AS_DOUBLE(v);
    } else if (PyUnicode_Check(v)) {
        const char *p;
        Py_ssize_t n;
        if (hold(&k, ctl_utf8(v, &p, &n))) {
            sv.type = CTR_SV_STR;
            sv.text = p;
            sv.len = (size_t)n;
        }
    } else if (PyBytes_Check(v)) { /* a file path given as bytes */
        sv.type = CTR_SV_STR;
        sv.text = PyBytes_AS_STRING(v);
        sv.len = (size_t)PyBytes_GET_SIZE(v);
    } else if (PyDict_Check(v)) {
        /* Not shown in messages when refused: header values are secrets. */
        if (!to_map(v, &sv, &k)) {
            sv.text = "a mapping with values that are not strings";
            sv.len = strlen(sv.text);
        }
    }
    if (sv.type == CTR_SV_OTHER && !sv.text)
        display(v, &sv, &k);
    int rc = ctr_settings_put(set, src, kp, (size_t)kn, &sv);
    keep_free(&k);
    Py_DECREF(kb);
    return rc;
}

/* Record every item of a dict from `src`; -1 when out of memory. */
static int put_all(struct ctr_settings *set, enum ctr_setting_source src, PyObject *d)
{
    if (!d || !PyDict_Check(d))
        return 0;
    PyObject *items = PyDict_Items(d);
    if (!items)
        return -1;
    int rc = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items) && rc == 0; i++) {
        PyObject *kv = PyList_GET_ITEM(items, i);
        rc = put(set, src, PyTuple_GET_ITEM(kv, 0), PyTuple_GET_ITEM(kv, 1));
    }
    Py_DECREF(items);
    return rc;
}

/* Tell the library never to export the string values of `secrets` (any
 * nesting: chaoslib groups them by provider). */
static void add_secrets(struct ctr_setup *setup, PyObject *secrets, int depth)
{
    if (!secrets || !PyDict_Check(secrets) || depth > SECRETS_DEPTH)
        return;
    PyObject *items = PyDict_Items(secrets);
    for (Py_ssize_t i = 0; items && i < PyList_GET_SIZE(items); i++) {
        PyObject *v = PyTuple_GET_ITEM(PyList_GET_ITEM(items, i), 1);
        const char *p;
        Py_ssize_t n;
        PyObject *b = ctl_utf8(v, &p, &n);
        if (b)
            ctr_setup_add_secret(setup, NULL, p, (size_t)n);
        Py_XDECREF(b);
        add_secrets(setup, v, depth + 1);
    }
    Py_XDECREF(items);
    ctl_hold_error();
}

/* Configuration values under sensitive keys ("api_token"...) are secrets too:
 * the library decides which keys are. */
static void add_configuration_secrets(struct ctr_setup *setup, PyObject *configuration)
{
    PyObject *items =
        configuration && PyDict_Check(configuration) ? PyDict_Items(configuration) : NULL;
    for (Py_ssize_t i = 0; items && i < PyList_GET_SIZE(items); i++) {
        PyObject *kv = PyList_GET_ITEM(items, i);
        const char *kp, *vp;
        Py_ssize_t kn, vn;
        PyObject *kb = ctl_utf8(PyTuple_GET_ITEM(kv, 0), &kp, &kn);
        PyObject *vb = kb ? ctl_utf8(PyTuple_GET_ITEM(kv, 1), &vp, &vn) : NULL;
        if (vb)
            ctr_setup_add_secret(setup, kp, vp, (size_t)vn);
        Py_XDECREF(kb);
        Py_XDECREF(vb);
    }
    Py_XDECREF(items);
    ctl_hold_error();
}

/* Keep what the hooks and cleanup need to know of the setup. */
static void keep_options(ctl_state *st, const struct ctr_setup *setup)
{
    st->prop = *ctr_setup_propagation(setup);
    snprintf(st->destination, sizeof st->destination, "%s", ctr_setup_destination(setup));
    st->flush_ms = ctr_setup_flush_timeout_ms(setup);
    st->output_mode = ctr_setup_output(setup, &st->output_limit);
    const char *spool = ctr_setup_spool_dir(setup);
    snprintf(st->spool_dir, sizeof st->spool_dir, "%s", spool ? spool : "");
    free(st->trace_url);
    const char *url = ctr_setup_trace_url(setup);
    st->trace_url = url ? strdup(url) : NULL;
    st->interrupted = false;
    st->exit_signal = NULL;
}

/* Log the setup's problems; a problem that turned tracing off says so. */
static void log_problems(ctl_state *st, const struct ctr_setup *setup)
{
    for (size_t i = 0; i < ctr_setup_problem_count(setup); i++) {
        int level;
        bool fatal;
        const char *msg = ctr_setup_problem(setup, i, &level, &fatal);
        ctl_logf(st, level, "%s%s", msg, fatal ? "; tracing is off for this run" : "");
    }
}

const char configure_control_doc[] =
    "configure_control($module, /, configuration=None, secrets=None, settings=None, "
    "experiment=None, event_registry=None, **kwargs)\n--\n\n"
    "Configure tracing for this run from the control arguments, the experiment's\n"
    "configuration and the OTEL_* environment variables, in that order of precedence.";

PyObject *configure_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    static const char *const named[] = {"configuration", "secrets", "settings", "experiment",
                                        "event_registry"};
    ctl_state *st = ctl_get_state(module);
    PyObject *configuration =
        nargs > 0 ? args[0] : ctl_kwarg(args, nargs, kwnames, "configuration");
    st->configured++;
    if (st->tracer) {
        ctl_log(st, CTR_LOG_WARNING,
                "the control is declared more than once (settings and experiment?); the first "
                "declaration's configuration is used");
        return ctl_hook_return();
    }
    ctr_log_set_sink(ctl_log_sink, NULL);
    struct ctr_settings *set = NULL;
    if (ctr_settings_new(&set))
        return PyErr_NoMemory();
    int rc = put_all(set, CTR_FROM_CONFIGURATION, configuration);
    for (Py_ssize_t i = 0; rc == 0 && kwnames && i < PyTuple_GET_SIZE(kwnames); i++) {
        PyObject *k = PyTuple_GET_ITEM(kwnames, i);
        bool is_named = false;
        for (size_t j = 0; j < sizeof named / sizeof named[0]; j++)
            is_named |= PyUnicode_CompareWithASCIIString(k, named[j]) == 0;
        if (!is_named)
            rc = put(set, CTR_FROM_ARGUMENT, k, args[nargs + i]);
    }
    struct ctr_setup *setup = NULL;
    if (rc == 0)
        rc = ctr_setup_build(set, st->configuring == CTL_FRONT_OLTP ? CTR_SETUP_OTEL_ONLY : 0, NULL,
                             NULL, &setup);
    ctr_settings_free(set);
    if (rc) {
        ctr_setup_free(setup);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    log_problems(st, setup);
    if (ctr_setup_enabled(setup)) {
        add_secrets(setup, nargs > 1 ? args[1] : ctl_kwarg(args, nargs, kwnames, "secrets"), 0);
        add_configuration_secrets(setup, configuration);
        struct ctr_tracer *t = NULL;
        rc = ctr_setup_start(setup, NULL, &t);
        if (rc) {
            ctl_logf(st, CTR_LOG_WARNING, "cannot start tracing: %s", ctr_strerror(rc));
        } else {
            st->tracer = t;
            st->generation++;
            keep_options(st, setup);
            ctl_logf(st, CTR_LOG_DEBUG, "tracing to %s", st->destination);
            if (ctl_register_run_events(st, module,
                                        ctl_kwarg(args, nargs, kwnames, "event_registry")) < 0)
                ctl_hold_error();
            /* The other extensions' APIs, when their packages are installed. */
            ctl_otel_setup(st, module, ctr_setup_instrumentations(setup));
            ctl_ot_register(st, module);
        }
    }
    ctr_setup_free(setup);
    ctl_drain_logs(st);
    return ctl_hook_return();
}

/* The reasons spans were dropped, ", "-separated, into `out`. */
static void drop_reasons(const ctl_state *st, const struct ctr_processor_stats *ps, char *out,
                         size_t size)
{
    const struct {
        uint64_t n;
        const char *why;
    } r[] = {{ps->spans_dropped, "queue full"},
             {ps->spans_failed + ps->spans_rejected, "rejected by the collector"},
             {ps->spans_lost, st->spool_dir[0] ? "spool full or not writable"
                                               : "not delivered in time with no spool"}};
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        if (!r[i].n || used >= size)
            continue;
        int n = snprintf(out + used, size - used, "%s%llu %s", used ? ", " : ": ",
                         (unsigned long long)r[i].n, r[i].why);
        used += n > 0 ? (size_t)n : 0;
    }
}

/* The summary: every span made is exported, spooled, dropped (with why) or
 * still being sent when the deadline passed. */
static void log_summary(ctl_state *st, const struct ctr_processor_stats *ps)
{
    uint64_t dropped = ps->spans_dropped + ps->spans_failed + ps->spans_rejected + ps->spans_lost;
    char reasons[256], spooled[640] = "", flying[64] = "";
    drop_reasons(st, ps, reasons, sizeof reasons);
    if (ps->spans_spooled)
        snprintf(spooled, sizeof spooled, " to %s", st->spool_dir);
    if (ps->queue_len)
        snprintf(flying, sizeof flying, ", %llu still being sent",
                 (unsigned long long)ps->queue_len);
    ctl_logf(st, CTR_LOG_INFO,
             "%llu spans exported to %s (%llu made, %llu spooled%s, %llu dropped%s%s, %llu failed "
             "exports)",
             (unsigned long long)ps->spans_exported, st->destination,
             (unsigned long long)ps->spans_ended, (unsigned long long)ps->spans_spooled, spooled,
             (unsigned long long)dropped, reasons, flying, (unsigned long long)ps->batches_failed);
}

void ctl_shutdown_tracing(ctl_state *st, bool summary)
{
    struct ctr_tracer *t = st->tracer;
    if (!t) {
        ctl_drain_logs(st);
        return;
    }
    ctl_otel_teardown(st);
    ctl_ot_unregister(st);
    t = st->tracer; /* Python ran: cleanup may have been called meanwhile */
    if (!t)
        return;
    /* End what is still open (an interrupted run), children first. */
    size_t n;
    struct open_entry **all = open_table_take_all(&st->open, &n);
    for (size_t i = n; i-- > 0;)
        open_entry_close(all[i]);
    free(all);
    struct ctr_span **phases[] = {&st->continuous, &st->method, &st->rollbacks, &st->experiment};
    for (size_t i = 0; i < 4; i++) {
        if (*phases[i]) {
            ctr_span_set_status(*phases[i], CTR_STATUS_ERROR, "not completed", 13);
            ctr_span_end(*phases[i], 0);
            *phases[i] = NULL;
        }
    }
    st->tracer = NULL;
    st->generation++;
    struct ctr_processor_stats ps;
    uint32_t flush_ms = st->flush_ms;
    Py_BEGIN_ALLOW_THREADS;
    ctr_tracer_shutdown(t, ctr_deadline_after_ms(flush_ms));
    ctr_tracer_stats(t, &ps);
    ctr_tracer_free(t);
    Py_END_ALLOW_THREADS;
    ctl_drain_logs(st);
    if (summary)
        log_summary(st, &ps);
    free(st->tracestate);
    free(st->baggage);
    st->tracestate = st->baggage = NULL;
    st->method_seen = false;
}

const char cleanup_control_doc[] = "cleanup_control($module, /)\n--\n\n"
                                   "Flush the spans (under 2 s) and log a summary line.";

PyObject *cleanup_control(PyObject *module, PyObject *unused)
{
    (void)unused;
    ctl_state *st = ctl_get_state(module);
    if (st->configured > 0)
        st->configured--;
    if (st->configured == 0)
        ctl_shutdown_tracing(st, true);
    return ctl_hook_return();
}
