"""The system under test of the end-to-end experiments.

A small WSGI web service instrumented with the official OpenTelemetry Python
SDK: opentelemetry-instrumentation-wsgi makes one SERVER span per request,
parented by whatever context the request's headers carry, and the SDK's
OTLP/HTTP exporter sends it to the collector or Jaeger the experiment traces
to. Which header format the service understands is the SDK's own choice,
made from OTEL_PROPAGATORS (tracecontext, b3, b3multi, jaeger), so a control
that sent another format leaves the server span without a parent. The
span also names the headers the request carried (test.request.header_names).

    python service.py --otlp-endpoint http://127.0.0.1:4318/v1/traces

Routes: GET or POST anything -> 200 {"ok": true}; paths under /fail -> 500.
Prints "listening http://127.0.0.1:PORT" once it serves; on SIGTERM or
SIGINT it stops serving, flushes its spans and exits 0.
"""

import argparse
import json
import signal
import sys
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

SERVICE_NAME = "chaostracing-e2e-target"


def app(environ, start_response):
    """Answer every request with a small JSON body; /fail* answers 500."""
    size = int(environ.get("CONTENT_LENGTH") or 0)
    if size:
        environ["wsgi.input"].read(size)
    failing = environ.get("PATH_INFO", "").startswith("/fail")
    body = json.dumps({"ok": not failing}).encode()
    start_response(
        "500 Internal Server Error" if failing else "200 OK",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def record_header_names(span, environ):
    """Put the names of the request's headers on the server span (the
    tests check which propagation headers the experiment sent)."""
    names = [k[5:].lower().replace("_", "-") for k in environ if k.startswith("HTTP_")]
    span.set_attribute("test.request.header_names", sorted(names))


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--otlp-endpoint", required=True, help="OTLP/HTTP traces URL")
    parser.add_argument("--service-name", default=SERVICE_NAME)
    args = parser.parse_args()

    provider = TracerProvider(resource=Resource.create({"service.name": args.service_name}))
    # One export per span, at once: the tests look for the spans right after
    # the experiment, and the service never sees more than a few requests.
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=args.otlp_endpoint)))
    trace.set_tracer_provider(provider)

    httpd = make_server(
        "127.0.0.1",
        0,
        OpenTelemetryMiddleware(app, request_hook=record_header_names),
        server_class=_Server,
        handler_class=_QuietHandler,
    )

    def stop(signum, frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"listening http://127.0.0.1:{httpd.server_port}", flush=True)
    httpd.serve_forever(poll_interval=0.05)
    httpd.server_close()
    provider.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
