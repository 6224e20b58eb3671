#!/usr/bin/env python3
r"""Generate the OTLP golden fixtures under tests/c/fixtures/.

The messages are built with the official opentelemetry-proto classes and
serialized by the official protobuf runtime, independently of the C encoder;
tests/c/test_encode.c builds the same spans by hand and must produce exactly
these bytes.

    .bin   ExportTraceServiceRequest.SerializeToString()
    .json  json_format.MessageToDict(use_integers_for_enums=True) with the ids
           rewritten from base64 to lower-case hex (the OTLP JSON rule),
           dumped compactly on one line (UTF-8, no trailing newline, the
           Unicode line breaks U+0085/U+2028/U+2029 written as \u escapes)

Run: /tmp/venv/bin/python tests/python/make_golden.py [output-dir]
Keep the values here and in test_encode.c in step.
"""

import base64
import json
import math
import sys
from pathlib import Path

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

OUT = Path(__file__).resolve().parents[1] / "c" / "fixtures"

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
T0 = 1700000000000000000


def av(v) -> AnyValue:
    """AnyValue for a Python value; None -> empty AnyValue."""
    if v is None:
        return AnyValue()
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    if isinstance(v, str):
        return AnyValue(string_value=v)
    if isinstance(v, bytes):
        return AnyValue(bytes_value=v)
    if isinstance(v, list):
        return AnyValue(array_value=ArrayValue(values=[av(x) for x in v]))
    raise TypeError(v)


def kvs(pairs):
    return [KeyValue(key=k, value=av(v)) for k, v in pairs]


def request(spans, resource_attrs, resource_dropped=0):
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(
                    attributes=kvs(resource_attrs),
                    dropped_attributes_count=resource_dropped,
                ),
                scope_spans=[
                    ScopeSpans(
                        scope=InstrumentationScope(name="chaostracing", version="0.1.0"),
                        spans=spans,
                    )
                ],
            )
        ]
    )


RESOURCE = [
    ("service.name", "chaostoolkit"),
    ("telemetry.sdk.language", "c"),
    ("process.pid", 4242),
]


def basic() -> ExportTraceServiceRequest:
    span = Span(
        trace_id=bytes.fromhex("0af7651916cd43dd8448eb211c80319c"),
        span_id=bytes.fromhex("b7ad6b7169203331"),
        name="experiment",
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=T0,
        end_time_unix_nano=T0 + 1500000000,
        attributes=kvs([("chaostoolkit.experiment.title", "basic")]),
        flags=0x101,
    )
    return request([span], RESOURCE)


# Attributes of the first span of otlp_full: every value type and edge case.
FULL_ATTRS = [
    ("s.plain", "hello"),
    ("s.empty", ""),
    ("s.escape", 'quote" backslash\\ nl\n tab\t cr\r bell\x07 nul\x00 del\x7f /'),
    ("s.unicode", "h\u00e9llo w\u00f6rld \u2014 \u65e5\u672c\u8a9e \U0001f680 \u2028\u2029\x85"),
    ("s.long", "x" * 300),
    ("b.true", True),
    ("b.false", False),
    ("i.zero", 0),
    ("i.pos", 42),
    ("i.neg", -1),
    ("i.min", INT64_MIN),
    ("i.max", INT64_MAX),
    ("i.big", 1 << 40),
    ("d.zero", 0.0),
    ("d.negzero", -0.0),
    ("d.pi", 3.141592653589793),
    ("d.tenth", 0.1),
    ("d.big", 1e300),
    ("d.small", 1.5e-7),
    ("d.int", 3.0),
    ("d.e16", 1e16),
    ("d.frac", 123456.789),
    ("d.nan", math.nan),
    ("d.inf", math.inf),
    ("d.ninf", -math.inf),
    ("bytes.bin", b"\x00\x01\xfe\xff"),
    ("bytes.empty", b""),
    ("bytes.abc", b"abc"),
    ("bytes.hello", b"hello"),
    ("arr.str", ["a", "", "\u00fc"]),
    ("arr.int", [1, -2, 0]),
    ("arr.bool", [True, False]),
    ("arr.double", [1.5, -0.25]),
    ("arr.empty", []),
    ("empty.value", None),
]


def full() -> ExportTraceServiceRequest:
    trace = bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736")
    root = Span(
        trace_id=trace,
        span_id=bytes.fromhex("00f067aa0ba902b7"),
        trace_state="rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
        name="chaos run \u2713 \u00e9xp\u00e9riment \u65e5\u672c",
        kind=Span.SPAN_KIND_SERVER,
        start_time_unix_nano=T0,
        end_time_unix_nano=T0 + 2000000000,
        attributes=kvs(FULL_ATTRS),
        dropped_attributes_count=3,
        events=[
            Span.Event(
                time_unix_nano=T0 + 1000,
                name="exception",
                attributes=kvs(
                    [
                        ("exception.type", "ValueError"),
                        ("exception.message", "bad\nthing"),
                        ("count", 7),
                    ]
                ),
                dropped_attributes_count=2,
            ),
            Span.Event(time_unix_nano=T0 + 2000, name="tick"),
            Span.Event(),
        ],
        dropped_events_count=1,
        links=[
            Span.Link(
                trace_id=bytes.fromhex("11112222333344445555666677778888"),
                span_id=bytes.fromhex("99990000aaaabbbb"),
                trace_state="k=v",
                attributes=kvs([("link.kind", "follows")]),
                dropped_attributes_count=1,
                flags=0x301,
            ),
            Span.Link(
                trace_id=bytes.fromhex("0102030405060708090a0b0c0d0e0f10"),
                span_id=bytes.fromhex("1112131415161718"),
                flags=0x100,
            ),
        ],
        dropped_links_count=4,
        status=Status(code=Status.STATUS_CODE_ERROR, message="boom: it failed \u2717"),
        flags=0x101,
    )
    child = Span(
        trace_id=trace,
        span_id=bytes.fromhex("a1a2a3a4a5a6a7a8"),
        parent_span_id=bytes.fromhex("00f067aa0ba902b7"),
        name="activity",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=T0 + 10,
        end_time_unix_nano=T0 + 20,
        attributes=kvs([("http.status_code", 200)]),
        status=Status(code=Status.STATUS_CODE_OK),
        flags=0x301,
    )
    # Unsampled, local parent, kind 0, empty name, UNSET status with a message.
    odd = Span(
        trace_id=trace,
        span_id=bytes.fromhex("b1b2b3b4b5b6b7b8"),
        parent_span_id=bytes.fromhex("a1a2a3a4a5a6a7a8"),
        start_time_unix_nano=1,
        end_time_unix_nano=2,
        status=Status(message="unset but noted"),
        flags=0x100,
    )
    # Big enough for three-byte length prefixes.
    big = Span(
        trace_id=trace,
        span_id=bytes.fromhex("c1c2c3c4c5c6c7c8"),
        name="big",
        kind=Span.SPAN_KIND_PRODUCER,
        start_time_unix_nano=T0,
        end_time_unix_nano=T0 + 1,
        attributes=kvs([("big.payload", "0123456789abcdef" * 1250)]),
        flags=0x101,
    )
    return request([root, child, odd, big], RESOURCE, resource_dropped=1)


# Depth at which the C encoders cut nested arrays (MAX_VALUE_DEPTH).
NEST_DEPTH = 8


def nested() -> ExportTraceServiceRequest:
    """A self-containing array value as the C encoders cut it: eight levels
    of one-element arrays ending in an empty AnyValue."""
    v = AnyValue()
    for _ in range(NEST_DEPTH):
        v = AnyValue(array_value=ArrayValue(values=[v]))
    span = Span(
        trace_id=bytes.fromhex("0af7651916cd43dd8448eb211c80319c"),
        span_id=bytes.fromhex("b7ad6b7169203331"),
        name="nested",
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=T0,
        end_time_unix_nano=T0 + 1,
        attributes=[KeyValue(key="cycle", value=v)],
        flags=0x101,
    )
    return request([span], RESOURCE)


FIXTURES = {"otlp_basic": basic, "otlp_full": full, "otlp_nested": nested}


def _hexify(obj: dict) -> None:
    for key in ("traceId", "spanId", "parentSpanId"):
        if key in obj:
            obj[key] = base64.b64decode(obj[key]).hex()


def otlp_json(msg: ExportTraceServiceRequest) -> str:
    """OTLP JSON of `msg` on one line: canonical protobuf JSON, hex ids."""
    doc = json_format.MessageToDict(msg, use_integers_for_enums=True)
    for rs in doc.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                _hexify(span)
                for link in span.get("links", []):
                    _hexify(link)
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    # The encoders escape the Unicode line breaks too, so that a line never
    # splits for readers such as Python's str.splitlines(). They only occur
    # inside strings, where the escape means the same character.
    for ch in ("\x85", "\u2028", "\u2029"):
        text = text.replace(ch, "\\u%04x" % ord(ch))
    return text


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    out.mkdir(parents=True, exist_ok=True)
    for name, build in FIXTURES.items():
        msg = build()
        (out / f"{name}.bin").write_bytes(msg.SerializeToString())
        (out / f"{name}.json").write_bytes(otlp_json(msg).encode("utf-8"))
        print(f"wrote {out / name}.bin and .json")


if __name__ == "__main__":
    main()
