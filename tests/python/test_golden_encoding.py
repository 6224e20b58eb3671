"""Check the OTLP golden fixtures with the official decoders.

tests/c/test_encode.c asserts that the C encoders reproduce these files byte
for byte; here the official opentelemetry-proto classes decode them and every
field is checked against literal expectations, and each JSON line, parsed with
google.protobuf.json_format after the OTLP hex ids are turned back into
base64, must equal the protobuf message.
"""

import base64
import json
import math
import re
import struct
from pathlib import Path

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

FIXTURES = Path(__file__).resolve().parents[1] / "c" / "fixtures"
NAMES = ["otlp_basic", "otlp_full", "otlp_nested"]
T0 = 1700000000000000000


def load_bin(name: str) -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest.FromString((FIXTURES / f"{name}.bin").read_bytes())


def value(v):
    """AnyValue -> Python value (None when no member is set)."""
    which = v.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [value(x) for x in v.array_value.values]
    if which == "bytes_value":
        return bytes(v.bytes_value)
    return getattr(v, which)


def kind_of(v) -> str:
    return v.WhichOneof("value")


def attrs(kvs) -> dict:
    out = {}
    for kv in kvs:
        assert kv.key not in out, f"duplicate key {kv.key}"
        out[kv.key] = kv.value
    return out


def only_span_container(req):
    assert len(req.resource_spans) == 1
    rs = req.resource_spans[0]
    assert len(rs.scope_spans) == 1
    ss = rs.scope_spans[0]
    assert ss.scope.name == "chaostracing"
    assert ss.scope.version == "0.1.0"
    res = {k: value(v) for k, v in attrs(rs.resource.attributes).items()}
    assert res == {
        "service.name": "chaostoolkit",
        "telemetry.sdk.language": "c",
        "process.pid": 4242,
    }
    return rs, ss


def test_basic_decodes():
    req = load_bin("otlp_basic")
    rs, ss = only_span_container(req)
    assert rs.resource.dropped_attributes_count == 0
    assert len(ss.spans) == 1
    s = ss.spans[0]
    assert s.trace_id.hex() == "0af7651916cd43dd8448eb211c80319c"
    assert s.span_id.hex() == "b7ad6b7169203331"
    assert s.parent_span_id == b""
    assert s.trace_state == ""
    assert s.name == "experiment"
    assert s.kind == 1
    assert s.start_time_unix_nano == T0
    assert s.end_time_unix_nano == T0 + 1500000000
    assert {k: value(v) for k, v in attrs(s.attributes).items()} == {
        "chaostoolkit.experiment.title": "basic"
    }
    assert not s.HasField("status")
    assert s.flags == 0x101
    assert len(s.events) == 0 and len(s.links) == 0


def test_full_root_span_values():
    req = load_bin("otlp_full")
    rs, ss = only_span_container(req)
    assert rs.resource.dropped_attributes_count == 1
    assert [s.span_id.hex() for s in ss.spans] == [
        "00f067aa0ba902b7",
        "a1a2a3a4a5a6a7a8",
        "b1b2b3b4b5b6b7b8",
        "c1c2c3c4c5c6c7c8",
    ]
    s = ss.spans[0]
    assert s.trace_id.hex() == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert s.parent_span_id == b""
    assert s.trace_state == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
    assert s.name == "chaos run \u2713 \u00e9xp\u00e9riment \u65e5\u672c"
    assert s.kind == 2
    assert (s.start_time_unix_nano, s.end_time_unix_nano) == (T0, T0 + 2000000000)
    assert s.dropped_attributes_count == 3
    a = attrs(s.attributes)
    assert len(a) == 35
    expected_kinds = {
        "s.": "string_value",
        "b.": "bool_value",
        "i.": "int_value",
        "d.": "double_value",
        "bytes.": "bytes_value",
        "arr.": "array_value",
    }
    for key, v in a.items():
        want = next((m for p, m in expected_kinds.items() if key.startswith(p)), None)
        assert kind_of(v) == want, key
    assert value(a["s.plain"]) == "hello"
    assert value(a["s.empty"]) == ""
    assert value(a["s.escape"]) == 'quote" backslash\\ nl\n tab\t cr\r bell\x07 nul\x00 del\x7f /'
    assert value(a["s.unicode"]) == (
        "h\u00e9llo w\u00f6rld \u2014 \u65e5\u672c\u8a9e \U0001f680 \u2028\u2029\x85"
    )
    assert value(a["s.long"]) == "x" * 300
    assert value(a["b.true"]) is True
    assert value(a["b.false"]) is False
    assert value(a["i.zero"]) == 0
    assert value(a["i.pos"]) == 42
    assert value(a["i.neg"]) == -1
    assert value(a["i.min"]) == -(2**63)
    assert value(a["i.max"]) == 2**63 - 1
    assert value(a["i.big"]) == 1 << 40
    assert struct.pack("<d", value(a["d.zero"])) == struct.pack("<d", 0.0)
    assert struct.pack("<d", value(a["d.negzero"])) == struct.pack("<d", -0.0)
    assert value(a["d.pi"]) == 3.141592653589793
    assert value(a["d.tenth"]) == 0.1
    assert value(a["d.big"]) == 1e300
    assert value(a["d.small"]) == 1.5e-7
    assert value(a["d.int"]) == 3.0
    assert value(a["d.e16"]) == 1e16
    assert value(a["d.frac"]) == 123456.789
    assert math.isnan(value(a["d.nan"]))
    assert value(a["d.inf"]) == math.inf
    assert value(a["d.ninf"]) == -math.inf
    assert value(a["bytes.bin"]) == b"\x00\x01\xfe\xff"
    assert value(a["bytes.empty"]) == b""
    assert value(a["bytes.abc"]) == b"abc"
    assert value(a["bytes.hello"]) == b"hello"
    assert value(a["arr.str"]) == ["a", "", "\u00fc"]
    assert value(a["arr.int"]) == [1, -2, 0]
    assert value(a["arr.bool"]) == [True, False]
    assert value(a["arr.double"]) == [1.5, -0.25]
    assert value(a["arr.empty"]) == []
    assert kind_of(a["arr.empty"]) == "array_value"
    assert kind_of(a["empty.value"]) is None

    assert len(s.events) == 3
    e0, e1, e2 = s.events
    assert (e0.time_unix_nano, e0.name, e0.dropped_attributes_count) == (T0 + 1000, "exception", 2)
    assert {k: value(v) for k, v in attrs(e0.attributes).items()} == {
        "exception.type": "ValueError",
        "exception.message": "bad\nthing",
        "count": 7,
    }
    assert (e1.time_unix_nano, e1.name, len(e1.attributes)) == (T0 + 2000, "tick", 0)
    assert (e2.time_unix_nano, e2.name, len(e2.attributes)) == (0, "", 0)
    assert s.dropped_events_count == 1

    assert len(s.links) == 2
    l0, l1 = s.links
    assert l0.trace_id.hex() == "11112222333344445555666677778888"
    assert l0.span_id.hex() == "99990000aaaabbbb"
    assert l0.trace_state == "k=v"
    assert {k: value(v) for k, v in attrs(l0.attributes).items()} == {"link.kind": "follows"}
    assert l0.dropped_attributes_count == 1
    assert l0.flags == 0x301  # sampled, remote-ness known, remote
    assert l1.trace_id.hex() == "0102030405060708090a0b0c0d0e0f10"
    assert l1.span_id.hex() == "1112131415161718"
    assert (l1.trace_state, len(l1.attributes), l1.flags) == ("", 0, 0x100)
    assert s.dropped_links_count == 4

    assert s.status.code == 2
    assert s.status.message == "boom: it failed \u2717"
    assert s.flags == 0x101


def test_full_other_spans():
    _, ss = only_span_container(load_bin("otlp_full"))
    child, odd, big = ss.spans[1:]
    assert child.parent_span_id.hex() == "00f067aa0ba902b7"
    assert (child.name, child.kind) == ("activity", 3)
    assert (child.start_time_unix_nano, child.end_time_unix_nano) == (T0 + 10, T0 + 20)
    assert {k: value(v) for k, v in attrs(child.attributes).items()} == {"http.status_code": 200}
    assert child.HasField("status")
    assert (child.status.code, child.status.message) == (1, "")
    assert child.flags == 0x301  # sampled, remote parent

    assert odd.parent_span_id.hex() == "a1a2a3a4a5a6a7a8"
    assert (odd.name, odd.kind) == ("", 0)
    assert (odd.start_time_unix_nano, odd.end_time_unix_nano) == (1, 2)
    assert (odd.status.code, odd.status.message) == (0, "unset but noted")
    assert odd.flags == 0x100  # not sampled, local parent

    assert (big.name, big.kind, big.flags) == ("big", 4, 0x101)
    payload = value(attrs(big.attributes)["big.payload"])
    assert payload == "0123456789abcdef" * 1250


def test_full_uses_long_length_prefixes():
    """The fixture really exercises 2- and 3-byte length varints and the
    two-byte tag of Span.flags (field 16, fixed32)."""
    raw = (FIXTURES / "otlp_full.bin").read_bytes()
    # "big.payload" value: AnyValue string of 20000 bytes -> 0x0a a0 9c 01.
    assert b"\x0a\xa0\x9c\x01" + b"0123456789abcdef" in raw
    # "s.long": 300 bytes -> 0x0a ac 02.
    assert b"\x0a\xac\x02" + b"x" * 300 in raw
    # Span.flags 0x301 of the child span.
    assert b"\x85\x01\x01\x03\x00\x00" in raw
    # i.min is a 10-byte varint (not zigzag).
    assert b"\x18\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01" in raw


def test_nested_cycle_cut():
    _, ss = only_span_container(load_bin("otlp_nested"))
    v = attrs(ss.spans[0].attributes)["cycle"]
    depth = 0
    while kind_of(v) == "array_value":
        assert len(v.array_value.values) == 1
        v = v.array_value.values[0]
        depth += 1
    assert depth == 8
    assert kind_of(v) is None


def otlp_json_to_message(line: str) -> ExportTraceServiceRequest:
    """Parse an OTLP JSON line: hex ids back to base64, then json_format."""
    doc = json.loads(line)

    def fix(obj, where):
        for key, width in (("traceId", 32), ("spanId", 16), ("parentSpanId", 16)):
            if key in obj:
                assert re.fullmatch(f"[0-9a-f]{{{width}}}", obj[key]), (where, key, obj[key])
                obj[key] = base64.b64encode(bytes.fromhex(obj[key])).decode()

    for rs in doc["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for i, span in enumerate(ss["spans"]):
                fix(span, f"span {i}")
                for j, link in enumerate(span.get("links", [])):
                    fix(link, f"span {i} link {j}")
    return json_format.ParseDict(doc, ExportTraceServiceRequest())


@pytest.mark.parametrize("name", NAMES)
def test_json_line_equals_protobuf(name):
    raw = (FIXTURES / f"{name}.json").read_bytes()
    text = raw.decode("utf-8")  # valid UTF-8
    assert len(text.splitlines()) == 1 and not text.endswith("\n")  # one line
    from_json = otlp_json_to_message(text)
    from_bin = load_bin(name)
    # Byte comparison (NaN != NaN defeats message equality).
    assert from_json.SerializeToString(deterministic=True) == from_bin.SerializeToString(
        deterministic=True
    )
    # And the JSON re-parses to exactly the golden bytes.
    assert from_json.SerializeToString() == (FIXTURES / f"{name}.bin").read_bytes()


def test_json_conventions():
    doc = json.loads((FIXTURES / "otlp_full.json").read_text(encoding="utf-8"))
    span = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert span["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736"  # hex, not base64
    assert span["kind"] == 2  # enum as integer
    assert span["startTimeUnixNano"] == str(T0)  # 64-bit as string
    assert span["flags"] == 0x101
    a = {kv["key"]: kv["value"] for kv in span["attributes"]}
    assert a["i.min"] == {"intValue": "-9223372036854775808"}
    assert a["d.nan"] == {"doubleValue": "NaN"}
    assert a["d.ninf"] == {"doubleValue": "-Infinity"}
    assert a["bytes.bin"] == {"bytesValue": "AAH+/w=="}
    assert a["b.false"] == {"boolValue": False}
    assert a["empty.value"] == {}
    assert span["status"] == {"message": "boom: it failed \u2717", "code": 2}
    assert "parentSpanId" not in span
    child = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
    assert child["parentSpanId"] == "00f067aa0ba902b7"
