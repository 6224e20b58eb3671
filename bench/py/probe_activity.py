"""Per-activity control overhead, one implementation and exporter per process.

    python probe_activity.py IMPL EXPORTER [ENDPOINT] [--reps R] [--n N]

IMPL is ours (chaostracing.control, the C extension), empty (hooks that do
nothing: the cost of the calls themselves), upstream-control (the
Python upstream's chaostracing.control, OpenTracing shim over the OTel SDK) or
upstream-oltp (the upstream's chaostracing.oltp event handler). EXPORTER is
none, file (/dev/null) or otlp (OTLP/HTTP to ENDPOINT). Hooks are called
with the keyword arguments chaoslib would pass them (it only passes what the
signature names). Prints one JSON line with ns per activity (before + after
hooks) for each repetition.
"""

import argparse
import copy
import inspect
import json
import logging
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import activities  # noqa: E402


class Capture(logging.Handler):
    """Keeps the control's log messages (its summary line, warnings)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(f"{record.levelname}: {record.getMessage()}")


def kwargs_for(func, **avail):
    """The arguments chaoslib passes: only those the signature names."""
    params = inspect.signature(func).parameters
    return {k: v for k, v in avail.items() if k in params}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("impl", choices=["ours", "empty", "upstream-control", "upstream-oltp"])
    ap.add_argument("exporter", choices=["none", "file", "otlp"])
    ap.add_argument("endpoint", nargs="?", default="")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--n", type=int, default=1500, help="activities per repetition")
    ap.add_argument(
        "--via-chaoslib",
        action="store_true",
        help="call the hooks the way `chaos run` does: chaoslib's apply_python_control "
        "(module lookup, inspect.signature, argument copy) and its event registry",
    )
    a = ap.parse_args()

    cap = Capture()
    log = logging.getLogger("chaostoolkit")
    log.addHandler(cap)
    # INFO: the control's summary line and warnings, without paying for
    # chaoslib's per-hook debug records in the timed loops.
    log.setLevel(logging.INFO)
    log.propagate = False

    configuration = dict(activities.CONFIGURATION)
    experiment = copy.deepcopy(activities.EXPERIMENT)
    secrets = activities.SECRETS
    pairs = activities.activity_set()

    if a.impl == "ours":
        import chaostracing.control as ctl

        if a.exporter == "file":
            configuration["tracing_opentelemetry_exporter"] = "file"
            configuration["tracing_opentelemetry_file_path"] = "/dev/null"
        elif a.exporter == "otlp":
            configuration["tracing_opentelemetry_exporter"] = "otlp-http"
            configuration["tracing_opentelemetry_collector_endpoint"] = a.endpoint
        # "none": OTEL_TRACES_EXPORTER=none in the environment (set by the driver).
        ctl.configure_control(configuration=configuration, secrets=secrets)
    elif a.impl == "empty":
        import empty_control as ctl
    elif a.impl == "upstream-control":
        import chaostracing.control as ctl

        assert a.exporter == "otlp", "the upstream control needs an exporter"
        configuration["tracing_opentelemetry_exporter"] = "oltp-http"
        configuration["tracing_opentelemetry_collector_endpoint"] = a.endpoint
        tracer = ctl.configure_control(configuration=configuration, secrets=secrets)
        assert tracer is not None, "upstream control did not create a tracer"
    else:
        from chaoslib.run import EventHandlerRegistry

        import chaostracing.oltp as oltp

        assert a.exporter == "otlp", "the upstream oltp handler exports over OTLP/HTTP"
        # configured through OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (set by the driver)
        registry = EventHandlerRegistry()
        oltp.configure_control(
            experiment=experiment, event_registry=registry, configuration=configuration
        )
        handler = oltp.REGISTRY_HANDLER

    if a.via_chaoslib:
        from chaoslib.control.python import apply_python_control
        from chaoslib.run import EventHandlerRegistry

        module = {
            "ours": "chaostracing.control",
            "empty": "empty_control",
            "upstream-control": "chaostracing.control",
            "upstream-oltp": "chaostracing.oltp",
        }[a.impl]
        decl = {"name": "tracing", "provider": {"type": "python", "module": module}}
        if a.impl == "upstream-oltp":
            handler.start_method(experiment)
        else:
            registry = EventHandlerRegistry()
            for level in ("experiment", "method"):
                apply_python_control(
                    level=f"{level}-before",
                    control=decl,
                    experiment=experiment,
                    context=experiment,
                    configuration=configuration,
                    secrets=secrets,
                )

        def one(act, run):
            apply_python_control(
                level="activity-before",
                control=decl,
                experiment=experiment,
                context=act,
                configuration=configuration,
                secrets=secrets,
            )
            registry.start_activity(act)
            registry.activity_completed(act, run)
            apply_python_control(
                level="activity-after",
                control=decl,
                experiment=experiment,
                context=act,
                state=run,
                configuration=configuration,
                secrets=secrets,
            )

    elif a.impl == "upstream-oltp":
        handler.start_method(experiment)

        def one(act, run):
            handler.start_activity(act)
            handler.activity_completed(act, run)

    else:
        before = ctl.before_activity_control
        after = ctl.after_activity_control
        ctl.before_experiment_control(
            context=experiment,
            **kwargs_for(
                ctl.before_experiment_control, configuration=configuration, secrets=secrets
            ),
        )
        ctl.before_method_control(
            context=experiment,
            **kwargs_for(ctl.before_method_control, configuration=configuration, secrets=secrets),
        )
        bkw = kwargs_for(before, configuration=configuration, secrets=secrets)
        akw = kwargs_for(after, configuration=configuration, secrets=secrets)

        def one(act, run):
            before(context=act, **bkw)
            after(context=act, state=run, **akw)

    per_kind = {act["provider"]["type"]: (act, run) for act, run in pairs}
    samples = []
    kind_samples = {k: [] for k in per_kind}
    clock = time.perf_counter_ns
    for rep in range(a.reps + 1):  # repetition 0 warms up
        t0 = clock()
        for i in range(a.n):
            act, run = pairs[i % 3]
            one(act, run)
        dt = clock() - t0
        if rep:
            samples.append(dt / a.n)
        # each provider type alone, a third of the iterations each
        for kind, (act, run) in per_kind.items():
            k = a.n // 3
            t0 = clock()
            for _ in range(k):
                one(act, run)
            if rep:
                kind_samples[kind].append((clock() - t0) / k)

    if a.impl == "upstream-oltp":
        handler.method_completed(experiment, [])
        handler.finish({"status": "completed", "deviated": False})
        from opentelemetry import trace

        trace.get_tracer_provider().shutdown()
    else:
        ctl.after_method_control(
            context=experiment,
            state=[],
            **kwargs_for(ctl.after_method_control, configuration=configuration, secrets=secrets),
        )
        ctl.after_experiment_control(
            context=experiment,
            state={"status": "completed", "deviated": False},
            **kwargs_for(
                ctl.after_experiment_control, configuration=configuration, secrets=secrets
            ),
        )
        ctl.cleanup_control()
        if a.impl == "upstream-control":
            from opentelemetry import trace

            trace.get_tracer_provider().shutdown()

    print(
        json.dumps(
            {
                "impl": a.impl,
                "exporter": a.exporter,
                "via": "chaoslib" if a.via_chaoslib else "direct",
                "metric": "activity",
                "unit": "ns/activity",
                "samples": samples,
                "by_kind": kind_samples,
                "activities": (a.reps + 1) * (a.n + 3 * (a.n // 3)),
                "log": [m for m in cap.messages if "spans exported" in m or "WARNING" in m][-5:],
            }
        )
    )


if __name__ == "__main__":
    main()
