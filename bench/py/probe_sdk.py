"""OpenTelemetry Python SDK figures: the peer for the Python-API span row and
the Python export rows.

    python probe_sdk.py span ENDPOINT [--reps R] [--n N]
    python probe_sdk.py export ENDPOINT|- [--n N]

span: start+end with 0 and 10 attributes, and as a context manager, through a
BatchSpanProcessor exporting over OTLP/HTTP to ENDPOINT (a live receiver).
The queue is flushed between repetitions, outside the timer, so no span is
dropped (a dropped span is cheaper than a queued one).

export: N spans with 10 attributes through BatchSpanProcessor + OTLPSpanExporter
(queue big enough for all of them), timed until shutdown returns; "-" is the
baseline without a processor. Prints JSON lines.
"""

import argparse
import json
import os
import resource
import sys
import time

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from activities import SPAN_ATTRS as ATTRS  # noqa: E402
from activities import SPAN_NAME as NAME  # noqa: E402


def exporter(endpoint):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=endpoint)


class Counting:
    """Wraps a SpanExporter and counts the spans it delivered."""

    def __init__(self, inner):
        self.inner = inner
        self.ok = 0

    def export(self, spans):
        r = self.inner.export(spans)
        if r == SpanExportResult.SUCCESS:
            self.ok += len(spans)
        return r

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return True


def cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def cmd_span(a):
    cnt = Counting(exporter(a.endpoint))
    bsp = BatchSpanProcessor(cnt, max_queue_size=65536, max_export_batch_size=512)
    tp = TracerProvider()
    tp.add_span_processor(bsp)
    tr = tp.get_tracer("bench")
    parent = tr.start_span("parent")
    ctx = trace.set_span_in_context(parent)
    clock = time.perf_counter_ns

    def plain():
        tr.start_span(NAME, context=ctx).end()

    def attrs():
        tr.start_span(NAME, context=ctx, attributes=ATTRS).end()

    def cm():
        with tr.start_as_current_span(NAME, context=ctx):
            pass

    total = 0
    for metric, fn in (("span_py", plain), ("span_py_attrs10", attrs), ("span_py_cm", cm)):
        samples = []
        for rep in range(a.reps + 1):
            t0 = clock()
            for _ in range(a.n):
                fn()
            dt = clock() - t0
            total += a.n
            if rep:
                samples.append(dt / a.n)
            tp.force_flush()
        print(json.dumps({"impl": "otel-sdk", "metric": metric, "unit": "ns/span",
                          "samples": samples}), flush=True)
    parent.end()
    tp.shutdown()
    print(json.dumps({"impl": "otel-sdk", "metric": "span_py_delivery", "ended": total + 1,
                      "exported": cnt.ok}), flush=True)


def cmd_export(a):
    base = a.endpoint == "-"
    tp = TracerProvider()
    cnt = None
    if not base:
        cnt = Counting(exporter(a.endpoint))
        tp.add_span_processor(
            BatchSpanProcessor(cnt, max_queue_size=a.n + 1024, max_export_batch_size=512))
    tr = tp.get_tracer("bench")
    parent = tr.start_span("parent")
    ctx = trace.set_span_in_context(parent)
    c0 = cpu()
    t0 = time.perf_counter()
    for _ in range(a.n):
        tr.start_span(NAME, context=ctx, attributes=ATTRS).end()
    parent.end()
    tp.shutdown()
    wall = time.perf_counter() - t0
    print(json.dumps({"impl": "otel-sdk", "metric": "export", "n": a.n, "wall_s": wall,
                      "cpu_s": cpu() - c0, "exported": cnt.ok if cnt else -1,
                      "baseline": base}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["span", "export"])
    ap.add_argument("endpoint")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--n", type=int, default=5000)
    a = ap.parse_args()
    os.environ.pop("OTEL_SDK_DISABLED", None)
    (cmd_span if a.cmd == "span" else cmd_export)(a)


if __name__ == "__main__":
    main()
