"""Our Python span API (chaostracing.control.start_span), the counterpart of
`probe_sdk.py span`.

    python probe_pyspan.py ENDPOINT [--reps R] [--n N]

Configured like a real run (OTLP/HTTP to the live receiver at ENDPOINT, an
experiment and method span open, so new spans have a parent), then start+end
with 0 and 10 attributes and as a context manager. Prints JSON lines; prints
{"metric": "span_py", "missing": true} when the installed control has no
start_span yet.
"""

import argparse
import json
import logging
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from activities import SPAN_ATTRS as ATTRS  # noqa: E402  (same spans as the SDK's)
from activities import SPAN_NAME as NAME  # noqa: E402


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("endpoint")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--n", type=int, default=5000)
    a = ap.parse_args()

    import chaostracing.control as ctl

    if not hasattr(ctl, "start_span"):
        print(json.dumps({"impl": "ours", "metric": "span_py", "missing": True}))
        return
    cap = Capture()
    log = logging.getLogger("chaostoolkit")
    log.addHandler(cap)
    log.setLevel(logging.INFO)
    log.propagate = False

    configuration = {
        "tracing_provider": "opentelemetry",
        "tracing_opentelemetry_exporter": "otlp-http",
        "tracing_opentelemetry_collector_endpoint": a.endpoint,
    }
    experiment = {"title": "python span api", "method": []}
    ctl.configure_control(configuration=configuration)
    ctl.before_experiment_control(context=experiment, configuration=configuration)
    ctl.before_method_control(context=experiment, configuration=configuration)
    start_span = ctl.start_span
    clock = time.perf_counter_ns

    def plain():
        start_span(NAME).end()

    def attrs():
        start_span(NAME, ATTRS).end()

    def cm():
        with start_span(NAME):
            pass

    def measure(metric, fn):
        """ns per call of fn, a.reps times after a warm-up repetition."""
        samples = []
        for rep in range(a.reps + 1):
            t0 = clock()
            for _ in range(a.n):
                fn()
            if rep:
                samples.append((clock() - t0) / a.n)
            time.sleep(0.02)  # let the export thread drain between repetitions
        print(json.dumps({"impl": "ours", "metric": metric, "unit": "ns/span",
                          "samples": samples}), flush=True)

    for metric, fn in (("span_py", plain), ("span_py_attrs10", attrs), ("span_py_cm", cm)):
        measure(metric, fn)
    # The OpenTelemetry API's span path through our TracerProvider (what
    # instrumentations and OpenTelemetry-API extensions use), when installed.
    try:
        from opentelemetry import trace
    except ImportError:
        trace = None
    if trace is not None:
        tr = trace.get_tracer("bench")

        def otel_plain():
            tr.start_span(NAME).end()

        def otel_attrs():
            tr.start_span(NAME, attributes=ATTRS).end()

        def otel_cm():
            with tr.start_as_current_span(NAME):
                pass

        for metric, fn in (("span_otel_api", otel_plain), ("span_otel_api_attrs10", otel_attrs),
                           ("span_otel_api_cm", otel_cm)):
            measure(metric, fn)
    ctl.after_method_control(context=experiment, state=[], configuration=configuration)
    ctl.after_experiment_control(context=experiment, state={"status": "completed"},
                                 configuration=configuration)
    ctl.cleanup_control()
    print(json.dumps({"impl": "ours", "metric": "span_py_delivery",
                      "log": [m for m in cap.messages if "spans exported" in m]}), flush=True)


if __name__ == "__main__":
    main()
