"""What the end-to-end tests run and what they expect back.

A scenario is one way to trace tests/python/experiments/main.json (every
exporter and provider, the control declared in the experiment, in the
settings file or in a --control-file) plus the propagation format the HTTP
activities carry, which is the only format the target service's SDK reads.

A wire is what a protocol keeps of a span once a receiver has turned it back
into OTLP. The differences are the protocols' and the receivers', not ours:
Jaeger thrift and Zipkin carry microseconds (Jaeger's protobuf keeps
nanoseconds); Jaeger and Zipkin have no tag for INTERNAL spans (so they come
back UNSPECIFIED); Jaeger tags keep their type but arrays travel as JSON
text; Zipkin tags are all strings, the status description travels in the
"error" tag and an event is one annotation, `"name":{attributes as JSON}`.
Two things differ by receiver rather than by protocol, and the tests accept
either form: the Collector's Jaeger receiver renames
http.response.status_code to http.status_code (Jaeger's own does not), and
the instrumentation scope may come back as an otel.scope.name tag instead.

An extension scenario (EXTENSION_SCENARIOS) is a small experiment of its
own: two Python activities, one in the background and one in the
foreground, that call the service from inside a CLIENT span made through one
of chaostracing's APIs for other extensions (tests/python/experiments/
apihelpers.py), exported over OTLP/HTTP.
"""

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from e2e_support import Ports
from python_tests_conftest import KIND_INTERNAL, with_tracing

KIND_UNSPECIFIED = 0


@dataclass(frozen=True)
class Wire:
    name: str
    time_unit_ns: int  # 1 (nanoseconds) or 1000 (microseconds)
    internal_kind: int  # what an INTERNAL span comes back as
    typed: bool = True  # attribute values keep their type; else they are strings
    arrays_as_json: bool = True  # array attributes come back as JSON text
    status_message_in_error_tag: bool = False
    events_as_annotations: bool = False

    def value(self, v: Any) -> Any:
        """The attribute value `v` as this wire brings it back."""
        if isinstance(v, list) and self.arrays_as_json:
            return json.dumps(v, separators=(",", ":"))
        if self.typed:
            return v
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)

    def event(self, name: str, attributes: Dict[str, Any]) -> Tuple[str, Dict[str, Any]]:
        """An event's (name, attributes) as the control made it: a Zipkin
        annotation `"name":{attributes}` comes back as the event's name."""
        if not self.events_as_annotations:
            return name, attributes
        quoted, _, attrs = name.partition(":")
        return json.loads(quoted), json.loads(attrs)

    def events(self, span: Dict[str, Any]) -> List[Dict[str, Any]]:
        """The span's events, annotations decoded."""
        out = []
        for e in span["events"]:
            name, attributes = self.event(e["name"], e["attributes"])
            out.append(dict(e, name=name, attributes=attributes))
        return out


OTLP = Wire("otlp", 1, KIND_INTERNAL, arrays_as_json=False)
JAEGER_THRIFT = Wire("jaeger-thrift", 1000, KIND_UNSPECIFIED)
JAEGER_PROTO = Wire("jaeger-proto", 1, KIND_UNSPECIFIED)
ZIPKIN = Wire(
    "zipkin",
    1000,
    KIND_UNSPECIFIED,
    typed=False,
    status_message_in_error_tag=True,
    events_as_annotations=True,
)

# Our propagation name -> the OpenTelemetry SDK's (OTEL_PROPAGATORS) name
# for the same headers, and the headers an HTTP activity carries.
SDK_PROPAGATOR = {
    "tracecontext": "tracecontext",
    "b3": "b3multi",
    "b3multi": "b3multi",
    "b3single": "b3",
    "jaeger": "jaeger",
}
HEADERS = {
    "tracecontext": ["traceparent"],
    "b3": ["x-b3-sampled", "x-b3-spanid", "x-b3-traceid"],
    "b3multi": ["x-b3-sampled", "x-b3-spanid", "x-b3-traceid"],
    "b3single": ["b3"],
    "jaeger": ["uber-trace-id"],
}


class _Propagating:
    """What a scenario's `propagation` (the control's format) implies."""

    propagation: str

    @property
    def sdk_propagator(self) -> str:
        return SDK_PROPAGATOR[self.propagation]

    @property
    def headers(self) -> List[str]:
        return HEADERS[self.propagation]


@dataclass(frozen=True)
class Scenario(_Propagating):
    id: str
    wire: Wire
    propagation: str  # the headers HTTP activities carry (ours)
    settings: Callable[[Ports], Dict[str, Any]]  # configuration keys, or control arguments
    declare: str = "experiment"  # "experiment", "settings" or "control-file"
    env: Dict[str, str] = field(default_factory=dict)


def _otel(exporter: str, endpoint: str, **more: Any) -> Dict[str, Any]:
    return {
        "tracing_provider": "opentelemetry",
        "tracing_opentelemetry_exporter": exporter,
        "tracing_opentelemetry_collector_endpoint": endpoint,
        **more,
    }


INSECURE = {"tracing_opentelemetry_collector_endpoint_insecure": True}

SCENARIOS = [
    # Propagation left to the default (tracecontext).
    Scenario(
        "otlp-http-protobuf",
        OTLP,
        "tracecontext",
        lambda p: _otel("otlp-http", f"http://127.0.0.1:{p.otlp_http}"),
    ),
    Scenario(
        "otlp-http-json",
        OTLP,
        "b3",
        lambda p: _otel("oltp-http", f"http://127.0.0.1:{p.otlp_http}", tracing_propagation="b3"),
        env={"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
    ),
    Scenario(
        "otlp-grpc",
        OTLP,
        "b3single",
        lambda p: _otel(
            "otlp-grpc",
            f"http://127.0.0.1:{p.otlp_grpc}",
            tracing_propagation="b3single",
            **INSECURE,
        ),
    ),
    # The jaeger provider's default propagation is jaeger (uber-trace-id).
    Scenario(
        "jaeger-provider",
        JAEGER_THRIFT,
        "jaeger",
        lambda p: {
            "tracing_provider": "jaeger",
            "tracing_host": "127.0.0.1",
            "tracing_port": p.jaeger_compact,
        },
    ),
    Scenario(
        "jaeger-thrift",
        JAEGER_THRIFT,
        "jaeger",
        lambda p: {
            "tracing_provider": "opentelemetry",
            "tracing_opentelemetry_exporter": "jaeger-thrift",
            "tracing_host": "127.0.0.1",
            "tracing_port": p.jaeger_compact,
            "tracing_propagation": "jaeger",
        },
    ),
    Scenario(
        "jaeger-grpc",
        JAEGER_PROTO,
        "tracecontext",
        lambda p: _otel(
            "jaeger-grpc",
            f"127.0.0.1:{p.jaeger_grpc}",
            tracing_propagation="tracecontext",
            **INSECURE,
        ),
    ),
    Scenario(
        "zipkin",
        ZIPKIN,
        "b3",
        lambda p: _otel(
            "zipkin", f"http://127.0.0.1:{p.zipkin}/api/v2/spans", tracing_propagation="b3"
        ),
    ),
    # ~/.chaostoolkit/settings.yaml (chaos --settings) and --control-file
    # declare the control with arguments instead of configuration keys.
    Scenario(
        "settings-file",
        OTLP,
        "b3single",
        lambda p: {
            "provider": "opentelemetry",
            "exporter": "otlp-grpc",
            "collector_endpoint": f"127.0.0.1:{p.otlp_grpc}",
            "collector_insecure": True,
            "propagation": "b3single",
        },
        declare="settings",
    ),
    Scenario(
        "control-file",
        JAEGER_THRIFT,
        "b3",
        lambda p: {
            "provider": "jaeger",
            "host": "127.0.0.1",
            "port": p.jaeger_compact,
            "propagation": "b3",
        },
        declare="control-file",
    ),
]


# --------------------------------------------------------------------------
# Other extensions' spans around calls to the service
# --------------------------------------------------------------------------
EXTENSION_TITLE = "chaostracing extension spans"


@dataclass(frozen=True)
class Api:
    """One way an extension's activity calls the service inside a span of
    its own: apihelpers.`func`(url), and the spans it makes under the
    activity's, `chain` from the activity's child down to the CLIENT span
    whose context the request carries, plus `other` spans under the
    chain's first; `scope`, the otel.scope.name of spans made through the
    OpenTelemetry API (the instrumenting library's name)."""

    id: str
    func: str
    chain: Tuple[str, ...]
    other: Tuple[str, ...] = ()
    arguments: Dict[str, Any] = field(default_factory=dict)  # control arguments
    scope: Optional[str] = None


API_REQUESTS = Api(
    "requests",
    "requests_get",
    ("GET",),
    arguments={"trace_requests": True},
    scope="opentelemetry.instrumentation.requests",
)
API_OPENTRACING = Api("opentracing", "opentracing_snippet", ("call-service1",))
API_OTEL = Api(
    "otel-api",
    "otel_api",
    ("otel-step", "otel-inner"),
    ("otel-thread", "otel-error"),
    scope="my.extension",
)
API_OWN = Api("own-api", "own_api_call", ("call-service",))


@dataclass(frozen=True)
class ExtensionScenario(_Propagating):
    id: str
    api: Api
    propagation: str = "tracecontext"  # the control's (and so OpenTelemetry's global) format
    wire = OTLP

    @property
    def activities(self) -> List[Tuple[str, bool]]:
        """(name, background) of its activities, in the method's order: the
        background one first (chaoslib starts it in a pool thread and goes
        on with the foreground one in the main thread)."""
        return [(f"{self.api.id}-background", True), (f"{self.api.id}-foreground", False)]

    @staticmethod
    def path(activity: str) -> str:
        """The path the activity calls; the service's span is "GET <path>"."""
        return f"/ext/{activity}"

    def span_names(self, title: str) -> List[str]:
        """The names of the spans the run itself makes, sorted."""
        per_activity = list(self.api.chain) + list(self.api.other)
        names = [title, "method", "rollbacks"]
        for name, _ in self.activities:
            names += [name] + per_activity
        return sorted(names)

    def server_span_names(self) -> List[str]:
        return sorted(f"GET {self.path(name)}" for name, _ in self.activities)

    @property
    def trace_span_count(self) -> int:
        return len(self.span_names("")) + len(self.activities)

    def settings(self, ports: Ports) -> Dict[str, Any]:
        more = {} if self.propagation == "tracecontext" else {"tracing_propagation": self.propagation}
        return _otel("otlp-http", f"http://127.0.0.1:{ports.otlp_http}", **more)

    def experiment(self, title: str, target_url: str, ports: Ports) -> Dict[str, Any]:
        method = []
        for name, background in self.activities:
            provider = {
                "type": "python",
                "module": "apihelpers",
                "func": self.api.func,
                "arguments": {"url": target_url + self.path(name)},
            }
            activity = {"type": "action", "name": name, "provider": provider}
            if background:
                activity["background"] = True
            method.append(activity)
        exp = {"version": "1.0.0", "title": title, "description": "e2e", "method": method}
        return with_tracing(exp, self.settings(ports), self.api.arguments or None)


EXTENSION_SCENARIOS = [
    ExtensionScenario("requests", API_REQUESTS),
    ExtensionScenario("opentracing", API_OPENTRACING),
    ExtensionScenario("otel-api", API_OTEL),
    ExtensionScenario("own-api", API_OWN),
    # OpenTelemetry's global propagator (used by the instrumentation) writes
    # the control's format, the only one the service then reads.
    ExtensionScenario("requests-b3multi", API_REQUESTS, "b3multi"),
]
