"""Import + configure of a control, timed in-process, with RSS before/after.

    python probe_import.py IMPL ENDPOINT

Run in a fresh interpreter per sample (the driver does). What `chaos run`
has already imported before it loads a control (chaoslib and its run
machinery, logging, json) is imported first, outside the timer, so the figure
is what the control itself adds. Interpreter start is excluded. Prints one
JSON line: ns for import + configure, RSS added in bytes.
"""

import json
import logging
import os
import sys
import time

import chaoslib  # noqa: F401  (chaos run has these loaded already)
import chaoslib.control  # noqa: F401
import chaoslib.run  # noqa: F401
import chaoslib.types  # noqa: F401


def mem():
    """VmRSS, RssAnon and RssFile of this process, in bytes."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0]) * 1024
    return out


class NoOptionalPackages:
    """Makes the optional integrations unimportable: "ours" measures the
    control alone, "ours-otel" with opentelemetry-api installed (the control
    then loads it and installs its TracerProvider)."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("opentelemetry", "opentracing"):
            raise ImportError(name)
        return None


def main():
    impl, endpoint = sys.argv[1], sys.argv[2]
    if impl in ("ours", "ours-file"):
        sys.meta_path.insert(0, NoOptionalPackages())
    logging.getLogger("chaostoolkit").addHandler(logging.NullHandler())
    logging.getLogger("chaostoolkit").propagate = False
    m0 = mem()
    t0 = time.perf_counter_ns()
    if impl in ("ours", "ours-otel"):
        import chaostracing.control as ctl

        ctl.configure_control(
            configuration={
                "tracing_provider": "opentelemetry",
                "tracing_opentelemetry_exporter": "otlp-http",
                "tracing_opentelemetry_collector_endpoint": endpoint,
            }
        )
    elif impl == "ours-file":
        import chaostracing.control as ctl

        ctl.configure_control(
            configuration={
                "tracing_provider": "opentelemetry",
                "tracing_opentelemetry_exporter": "file",
                "tracing_opentelemetry_file_path": "/dev/null",
            }
        )
    elif impl == "upstream-control":
        import chaostracing.control as ctl

        t = ctl.configure_control(
            configuration={
                "tracing_provider": "opentelemetry",
                "tracing_opentelemetry_exporter": "oltp-http",
                "tracing_opentelemetry_collector_endpoint": endpoint,
            }
        )
        assert t is not None
    elif impl == "upstream-oltp":
        from chaoslib.run import EventHandlerRegistry

        import chaostracing.oltp as oltp

        # endpoint from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the driver sets it)
        oltp.configure_control(
            experiment={"title": "bench"}, event_registry=EventHandlerRegistry(), configuration={}
        )
    else:
        raise SystemExit(f"unknown impl {impl}")
    t1 = time.perf_counter_ns()
    m1 = mem()
    if impl == "ours-otel" and "opentelemetry.trace" not in sys.modules:
        raise SystemExit("ours-otel: opentelemetry-api is not installed in this venv")
    print(
        json.dumps(
            {
                "impl": impl,
                "ns": t1 - t0,
                "rss_added": m1["VmRSS"] - m0["VmRSS"],
                "anon_added": m1["RssAnon"] - m0["RssAnon"],
                "file_added": m1["RssFile"] - m0["RssFile"],
                "rss_before": m0["VmRSS"],
            }
        )
    )
    sys.stdout.flush()
    if impl.startswith("ours"):
        ctl.cleanup_control()
    os._exit(0)  # no exporter shutdown at exit: not part of this measurement


if __name__ == "__main__":
    main()
