"""The Zipkin exporter end to end: `chaostracing check -e zipkin` against a
loopback HTTP receiver that answers like a Zipkin server (202 Accepted).

No PyPI package ships a Zipkin v2 decoder or the official zipkin2-api.yaml
schema, so every request body is parsed with the standard `json` module in
strict mode (no duplicate keys, no NaN/Infinity, UTF-8 only) and checked field
by field against the rules of openzipkin/zipkin-api zipkin2-api.yaml
(validate_zipkin_v2 below), then against what the test trace contains.

The CLI is built with `make -C <root> cli tools`; the test fails if that fails.
"""

import base64
import ipaddress
import json
import re
import socket
import time
from typing import Any, Dict, List, Set

import pytest

from cli_support import run_check, run_cli
from conftest import LoopbackServer, QuietHandler, by_name, read_body, refused_port

SPANS_PATH = "/api/v2/spans"
HEX16 = re.compile(r"^[0-9a-f]{16}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")


# --------------------------------------------------------------------------
# The Zipkin v2 rules (openzipkin/zipkin-api zipkin2-api.yaml)
# --------------------------------------------------------------------------
SPAN_FIELDS = {
    "traceId",
    "name",
    "parentId",
    "id",
    "kind",
    "timestamp",
    "duration",
    "debug",
    "shared",
    "localEndpoint",
    "remoteEndpoint",
    "annotations",
    "tags",
}
ENDPOINT_FIELDS = {"serviceName", "ipv4", "ipv6", "port"}
KINDS = {"CLIENT", "SERVER", "PRODUCER", "CONSUMER"}
INT64_MAX = 2**63 - 1


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise ValueError(f"duplicate JSON keys {sorted(dup)}")
    return dict(pairs)


def _no_constants(name):
    raise ValueError(f"{name} is not valid JSON")


def strict_json(body: bytes) -> Any:
    """Parse `body` as RFC 8259 JSON: UTF-8, no duplicate keys, no NaN."""
    text = body.decode("utf-8")  # strict: invalid UTF-8 raises
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_object(obj, known: Set[str], where: str, problems: List[str]) -> bool:
    """Whether obj is a JSON object (else a problem); fields outside `known`
    are a problem too."""
    if not isinstance(obj, dict):
        problems.append(f"{where} is not an object")
        return False
    extra = set(obj) - known
    if extra:
        problems.append(f"{where} has unknown fields {sorted(extra)}")
    return True


def _check_endpoint(ep, where: str, problems: List[str]) -> None:
    if not _is_object(ep, ENDPOINT_FIELDS, where, problems):
        return
    if "serviceName" in ep and not isinstance(ep["serviceName"], str):
        problems.append(f"{where}.serviceName is not a string")
    for field, address in (("ipv4", ipaddress.IPv4Address), ("ipv6", ipaddress.IPv6Address)):
        if field in ep:
            try:
                address(ep[field])
            except (ValueError, TypeError):
                problems.append(f"{where}.{field} {ep[field]!r} is not an IP{field[2:]} address")
    if "port" in ep and not (_is_int(ep["port"]) and 0 <= ep["port"] <= 65535):
        problems.append(f"{where}.port {ep['port']!r} is not a port number")


def validate_zipkin_v2(doc: Any) -> List[str]:
    """Every way `doc` breaks the ListOfSpans definition; [] when valid."""
    problems: List[str] = []
    if not isinstance(doc, list):
        return ["the body is not a JSON array (ListOfSpans)"]
    for i, s in enumerate(doc):
        w = f"span[{i}]"
        if not _is_object(s, SPAN_FIELDS, w, problems):
            continue
        tid = s.get("traceId")
        if not (isinstance(tid, str) and (HEX16.match(tid) or HEX32.match(tid))):
            problems.append(f"{w}.traceId {tid!r} is not 16 or 32 lower-case hex digits")
        elif set(tid) == {"0"}:
            problems.append(f"{w}.traceId is all zeros")
        sid = s.get("id")
        if not (isinstance(sid, str) and HEX16.match(sid)) or sid == "0" * 16:
            problems.append(f"{w}.id {sid!r} is not 16 lower-case hex digits (non-zero)")
        if "parentId" in s:
            pid = s["parentId"]
            if not (isinstance(pid, str) and HEX16.match(pid)) or pid == "0" * 16:
                problems.append(f"{w}.parentId {pid!r} is not 16 lower-case hex digits")
            elif pid == sid:
                problems.append(f"{w}.parentId equals its id")
        if "name" in s and not isinstance(s["name"], str):
            problems.append(f"{w}.name is not a string")
        if "kind" in s and s["kind"] not in KINDS:
            problems.append(f"{w}.kind {s['kind']!r} is not one of {sorted(KINDS)}")
        if "timestamp" in s and not (_is_int(s["timestamp"]) and 0 < s["timestamp"] <= INT64_MAX):
            problems.append(f"{w}.timestamp {s['timestamp']!r} is not a positive int64")
        if "duration" in s and not (_is_int(s["duration"]) and 1 <= s["duration"] <= INT64_MAX):
            problems.append(f"{w}.duration {s['duration']!r} is not an int64 >= 1")
        for flag in ("debug", "shared"):
            if flag in s and not isinstance(s[flag], bool):
                problems.append(f"{w}.{flag} is not a boolean")
        for ep in ("localEndpoint", "remoteEndpoint"):
            if ep in s:
                _check_endpoint(s[ep], f"{w}.{ep}", problems)
        if "annotations" in s:
            anns = s["annotations"]
            if not isinstance(anns, list):
                problems.append(f"{w}.annotations is not an array")
                anns = []
            for j, a in enumerate(anns):
                if not (isinstance(a, dict) and set(a) == {"timestamp", "value"}):
                    problems.append(f"{w}.annotations[{j}] is not {{timestamp, value}}: {a!r}")
                    continue
                if not (_is_int(a["timestamp"]) and a["timestamp"] > 0):
                    problems.append(f"{w}.annotations[{j}].timestamp is not a positive integer")
                if not isinstance(a["value"], str):
                    problems.append(f"{w}.annotations[{j}].value is not a string")
        if "tags" in s:
            tags = s["tags"]
            if not isinstance(tags, dict):
                problems.append(f"{w}.tags is not an object")
            else:
                for k, v in tags.items():
                    if not isinstance(v, str):
                        problems.append(f"{w}.tags[{k!r}] = {v!r} is not a string")
    return problems


def parse_zipkin_body(body: bytes) -> List[Dict[str, Any]]:
    """Strict-parse and validate one POST body; a violation fails the test."""
    doc = strict_json(body)
    problems = validate_zipkin_v2(doc)
    assert not problems, "the body breaks the Zipkin v2 API:\n" + "\n".join(problems)
    return doc


# --------------------------------------------------------------------------
# A Zipkin-like receiver on loopback
# --------------------------------------------------------------------------
class _ZipkinHandler(QuietHandler):
    def do_POST(self):
        srv = self.server.owner
        body = read_body(self)
        with srv.lock:
            status = srv.script.pop(0) if srv.script else 202
            srv.posts.append(
                {
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                    "answered": status,
                    "time": time.monotonic(),
                }
            )
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class ZipkinReceiver(LoopbackServer):
    """Records every POST; answers the statuses in `script`, then 202.
    `url` is the spans URL (https with `ssl_context`)."""

    def __init__(self, ssl_context=None):
        super().__init__(_ZipkinHandler, ssl_context)
        self.posts: List[Dict[str, Any]] = []
        self.script: List[int] = []
        self.url += SPANS_PATH


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------
def test_check_trace_is_valid_zipkin_v2(cli, version):
    with ZipkinReceiver() as rx:
        run = run_check(cli, "-e", "zipkin", "-u", rx.url, "-n", "4", "-t", "5000")
    assert run.returncode == 0, run.describe()
    assert (run.exported, run.failed, run.dropped) == (4, 0, 0), run.describe()
    assert run.destination == rx.url
    assert run.stderr_lines == [], run.describe()
    assert len(rx.posts) == 1, [p["answered"] for p in rx.posts]
    post = rx.posts[0]
    assert post["path"] == SPANS_PATH
    assert post["headers"].get("content-type") == "application/json", post["headers"]
    assert "content-encoding" not in post["headers"]
    spans = parse_zipkin_body(post["body"])
    assert len(spans) == 4

    # Ids: one trace, the printed one; unique span ids; parents.
    assert {s["traceId"] for s in spans} == {run.trace_id}
    assert len({s["id"] for s in spans}) == 4
    named = by_name(spans)
    assert set(named) == {"chaostracing check", "check span 1", "check span 2", "check span 3"}
    root = named["chaostracing check"]
    assert "parentId" not in root
    children = [named[f"check span {i}"] for i in (1, 2, 3)]
    for c in children:
        assert c["parentId"] == root["id"], c

    # Kinds: SERVER root, CLIENT odd children, internal (absent) even ones.
    assert root["kind"] == "SERVER"
    assert [c.get("kind") for c in children] == ["CLIENT", None, "CLIENT"]

    # Times: integer microseconds of the wall clock during the run; children
    # inside the root. timestamp and duration are each truncated to whole
    # microseconds, so an end (timestamp + duration) may fall 1 us short of
    # the true end: that is the slack below.
    for s in spans:
        assert run.t0_us <= s["timestamp"] <= run.t1_us, (s["name"], s["timestamp"], run.t0_us)
        assert s["timestamp"] + s["duration"] <= run.t1_us + 1
    root_end = root["timestamp"] + root["duration"]
    for c in children:
        assert root["timestamp"] <= c["timestamp"], c["name"]
        assert c["timestamp"] + c["duration"] <= root_end + 1, c["name"]

    # localEndpoint from the resource's service.name (the SDK's default here).
    for s in spans:
        assert s["localEndpoint"] == {"serviceName": "chaostoolkit"}, s["localEndpoint"]
        assert "remoteEndpoint" not in s  # no peer attributes in the test trace
        assert "debug" not in s and "shared" not in s

    # Tags: all strings, the OTel mapping for each attribute type; the
    # resource's attributes (but service.name) on every span; the scope.
    scope_tags = {
        "otel.scope.name": "chaostracing",
        "otel.scope.version": version,
        "otel.library.name": "chaostracing",
        "otel.library.version": version,
    }
    resource = {
        k: v
        for k, v in root["tags"].items()
        if k != "chaostoolkit.type" and not k.startswith("otel.")
    }
    assert "service.name" not in resource
    assert {k: resource.get(k) for k in ("telemetry.sdk.name", "telemetry.sdk.language")} == {
        "telemetry.sdk.name": "chaostracing",
        "telemetry.sdk.language": "c",
    }, resource
    assert resource.get("telemetry.sdk.version") == version
    assert resource.get("host.name") == socket.gethostname(), resource
    assert re.fullmatch(r"[1-9][0-9]*", resource.get("process.pid", "")), resource
    assert resource.get("process.executable.name") == "chaostracing", resource
    assert root["tags"] == {"chaostoolkit.type": "check", **resource, **scope_tags}
    for i, c in enumerate(children, start=1):
        t = dict(c["tags"])
        for k, v in resource.items():
            assert t.pop(k) == v, (c["name"], k)
        assert t.pop("check.string") == "h\u00e9llo"
        assert t.pop("check.int") == "-42"
        assert t.pop("check.bool") == "true"
        assert t.pop("check.double") == "2.5"
        assert base64.b64decode(t.pop("check.bytes"), validate=True) == b"\x00\x01\x02"
        assert json.loads(t.pop("check.array")) == ["alpha", "beta"]
        assert t.pop("check.index") == str(i)
        status = {"otel.status_code": "ERROR", "error": "check error"} if i == 3 else {}
        assert t == {**scope_tags, **status}, (c["name"], t)

    # Events become annotations: "name":{attributes as JSON}.
    assert "annotations" not in root
    for c in children:
        (ann,) = c["annotations"]
        assert json.loads("{" + ann["value"] + "}") == {"check event": {"check.event.attr": "v"}}
        assert ann["value"] == '"check event":{"check.event.attr":"v"}'
        assert c["timestamp"] <= ann["timestamp"] <= c["timestamp"] + c["duration"] + 1


def test_service_name_and_endpoint_from_environment(cli):
    # OTEL_TRACES_EXPORTER=zipkin picks the exporter, OTEL_EXPORTER_ZIPKIN_ENDPOINT
    # the URL (used as given), OTEL_SERVICE_NAME the localEndpoint.
    with ZipkinReceiver() as rx:
        url = f"http://127.0.0.1:{rx.port}/custom/zipkin/spans"
        run = run_check(
            cli,
            "-n",
            "2",
            env={
                "OTEL_TRACES_EXPORTER": "zipkin",
                "OTEL_EXPORTER_ZIPKIN_ENDPOINT": url,
                "OTEL_SERVICE_NAME": "zipkin-check-svc",
            },
        )
    assert run.returncode == 0, run.describe()
    assert run.destination == url
    assert [p["path"] for p in rx.posts] == ["/custom/zipkin/spans"]
    spans = parse_zipkin_body(rx.posts[0]["body"])
    assert len(spans) == 2
    assert {s["localEndpoint"]["serviceName"] for s in spans} == {"zipkin-check-svc"}
    assert {s["traceId"] for s in spans} == {run.trace_id}


def test_503_is_retried_with_the_same_body(cli):
    with ZipkinReceiver() as rx:
        rx.script = [503]
        run = run_check(cli, "-e", "zipkin", "-u", rx.url, "-n", "3", "-t", "5000")
    assert run.returncode == 0, run.describe()
    assert (run.exported, run.failed) == (3, 0)
    assert [p["answered"] for p in rx.posts] == [503, 202]
    first, second = rx.posts
    assert first["body"] == second["body"], "the retry must resend the same spans"
    # Backoff: 100 ms with equal jitter, so at least 50 ms between the two.
    assert second["time"] - first["time"] >= 0.045
    spans = parse_zipkin_body(second["body"])
    assert {s["traceId"] for s in spans} == {run.trace_id}
    assert len(spans) == 3
    assert run.stderr_lines == [], run.describe()


def test_400_is_not_retried(cli):
    with ZipkinReceiver() as rx:
        rx.script = [400]
        run = run_check(cli, "-e", "zipkin", "-u", rx.url, "-n", "3", "-t", "5000")
    assert run.returncode == 1, run.describe()
    assert (run.exported, run.failed) == (0, 3)
    assert [p["answered"] for p in rx.posts] == [400]
    assert len(run.stderr_lines) == 1, run.describe()
    assert f"export to {rx.url} failed: HTTP 400" in run.stderr_lines[0]


def test_refused_port_fails_cleanly(cli):
    port = refused_port()
    url = f"http://127.0.0.1:{port}{SPANS_PATH}"
    run = run_check(cli, "-e", "zipkin", "-u", url, "-n", "3", "-t", "5000")
    assert run.returncode == 1, run.describe()
    assert (run.exported, run.failed, run.dropped) == (0, 3, 0)
    assert run.destination == url
    # At shutdown a refused connection is not retried: no waiting for 5 s.
    assert run.wall < 3.0, run.wall
    assert len(run.stderr_lines) == 1, run.describe()
    line = run.stderr_lines[0]
    assert line.startswith(f"chaostracing: export to {url} failed: "), line
    assert "refused" in line and "3 spans not delivered" in line, line


def test_bad_endpoint_is_a_usage_error(cli):
    run = run_cli(cli, "check", "-e", "zipkin", "-u", "localhost:9411/api/v2/spans", timeout=30)
    assert run.returncode == 64, run
    assert "http:// or https://" in run.stderr, run.stderr
    assert run.stdout == ""


def test_many_spans_in_one_request(cli):
    with ZipkinReceiver() as rx:
        run = run_check(cli, "-e", "zipkin", "-u", rx.url, "-n", "500", "-t", "10000")
    assert run.returncode == 0, run.describe()
    assert run.exported == 500
    assert len(rx.posts) == 1
    spans = parse_zipkin_body(rx.posts[0]["body"])
    assert len(spans) == 500
    assert len({s["id"] for s in spans}) == 500
    (root,) = [s for s in spans if "parentId" not in s]
    assert all(s["parentId"] == root["id"] for s in spans if s is not root)


def test_validator_rejects_what_zipkin_rejects():
    # The checks above are only as good as the validator: it must fail on
    # each rule of zipkin2-api.yaml it encodes.
    good = {
        "traceId": "a" * 32,
        "id": "b" * 16,
        "parentId": "c" * 16,
        "kind": "CLIENT",
        "name": "n",
        "timestamp": 1,
        "duration": 1,
        "localEndpoint": {"serviceName": "s", "ipv4": "10.0.0.1", "port": 80},
        "annotations": [{"timestamp": 1, "value": "v"}],
        "tags": {"k": "v"},
    }
    assert validate_zipkin_v2([good]) == []
    assert validate_zipkin_v2([dict(good, traceId="b" * 16)]) == []
    bad = [
        {"traceId": "A" * 32},
        {"traceId": "a" * 31},
        {"traceId": "0" * 32},
        {"id": "b" * 15},
        {"parentId": "b" * 16},
        {"kind": "INTERNAL"},
        {"timestamp": 1.5},
        {"duration": 0},
        {"duration": True},
        {"tags": {"k": 1}},
        {"tags": {"k": True}},
        {"annotations": [{"timestamp": 1}]},
        {"annotations": [{"timestamp": 1, "value": "v", "x": 1}]},
        {"localEndpoint": {"serviceName": "s", "ipv4": "::1"}},
        {"remoteEndpoint": {"port": 70000}},
        {"links": []},
        {"shared": "yes"},
    ]
    for change in bad:
        assert validate_zipkin_v2([dict(good, **change)]), change
    assert validate_zipkin_v2({"spans": []})
    for text in (b'[{"a":1,"a":2}]', b"[NaN]", b"[\xff]"):
        with pytest.raises(ValueError):
            strict_json(text)
