"""Shared fixtures for the end-to-end tests of the chaostracing control.

Everything here runs for real on loopback: `chaos run` in a subprocess, a
target HTTP service the experiments call, and an OTLP/HTTP receiver that
decodes what the control sends with the official protobuf classes.
"""

import base64
import copy
import gzip
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from cli_support import EXPERIMENTS, SANITIZED, build_cli, clean_env, run_cli, sanitizer_reports

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHAOS = Path(sys.executable).parent / "chaos"
CONTROL_MODULE = "chaostracing.control"

# Upper bound for one `chaos run`; a normal run takes 1-3 s.
CHAOS_TIMEOUT = 60

# Span kinds and status codes as in opentelemetry/proto/trace/v1/trace.proto.
KIND_INTERNAL = 1
KIND_CLIENT = 3
STATUS_UNSET = 0
STATUS_OK = 1
STATUS_ERROR = 2

# --------------------------------------------------------------------------
# Sanitizers (`make pytest-asan`)
# --------------------------------------------------------------------------
def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "timing: asserts wall-clock bounds that the ASan+UBSan build cannot meet; "
        "skipped by `make pytest-asan` (say why in the test's docstring)",
    )


def pytest_collection_modifyitems(config, items):
    if not SANITIZED:
        return
    skip = pytest.mark.skip(reason="timing-bound: not run against the ASan+UBSan build")
    for item in items:
        if item.get_closest_marker("timing"):
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def sigint_not_ignored():
    """A test run started in the background by a shell without job control
    ignores SIGINT, and the processes it starts inherit that: chaos would
    never see the Ctrl-C the tests send (its Python leaves an ignored SIGINT
    ignored). With a handler installed here instead, exec gives every chaos
    run the default disposition, as a terminal would."""
    before = signal.getsignal(signal.SIGINT)
    if before is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    if before is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture(autouse=True)
def no_sanitizer_report():
    """Under `make pytest-asan`: fail the test during which any process (the
    test itself, a `chaos run`, the CLI...) wrote a sanitizer report, whatever
    that process's exit status or output. A no-op otherwise."""
    before = set(sanitizer_reports())
    yield
    new = {p: t for p, t in sanitizer_reports().items() if p not in before}
    if new:
        pytest.fail(
            "sanitizer report(s) written during this test:\n"
            + "\n".join(f"--- {p}\n{t[-6000:]}" for p, t in new.items()),
            pytrace=False,
        )


# --------------------------------------------------------------------------
# The command-line tool (cli_support.py)
# --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def cli() -> str:
    """build/chaostracing, made once per session with `make cli tools`."""
    return str(build_cli())


@pytest.fixture(scope="session")
def version(cli) -> str:
    """The version `chaostracing version` reports."""
    out = run_cli(cli, "version", timeout=30).stdout
    m = re.match(r"chaostracing (\S+)\n", out)
    assert m, out
    return m.group(1)


# --------------------------------------------------------------------------
# Environment and experiments (clean_env: cli_support.py)
# --------------------------------------------------------------------------
def load_experiment(name: str) -> Dict[str, Any]:
    """Load tests/python/experiments/<name>.json as a fresh dict."""
    with open(EXPERIMENTS / f"{name}.json") as f:
        return json.load(f)


def tracing_control(arguments: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The control declaration for chaostracing.control."""
    provider: Dict[str, Any] = {"type": "python", "module": CONTROL_MODULE}
    if arguments is not None:
        provider["arguments"] = arguments
    return {"name": "tracing", "provider": provider}


def with_tracing(
    experiment: Dict[str, Any],
    configuration: Optional[Dict[str, Any]] = None,
    arguments: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """A copy of `experiment` that declares the control and the given config."""
    exp = copy.deepcopy(experiment)
    exp.setdefault("configuration", {}).update(configuration or {})
    exp["controls"] = [tracing_control(arguments)]
    return exp


def file_config(path: Path) -> Dict[str, Any]:
    """Experiment configuration selecting the file exporter."""
    return {
        "tracing_provider": "opentelemetry",
        "tracing_opentelemetry_exporter": "file",
        "tracing_opentelemetry_file_path": str(path),
    }


# The main experiment (experiments/main.json) and the spans it must produce.
MAIN_TITLE = "chaostracing main experiment"
HYPOTHESIS = "service is healthy"
PROBES = ["probe-http-health", "probe-python-true"]
METHOD_ACTIVITIES = [
    "action-python-answer",
    "action-python-big-output",
    "action-process-echo",
    "action-background-sleep",
    "action-http-post",
    "action-python-fails",
]
SEQUENTIAL_METHOD = [a for a in METHOD_ACTIVITIES if a != "action-background-sleep"]
ROLLBACKS = ["rollback-python"]
# experiment + 2 hypotheses x (1 + 2 probes) + method + activities + rollbacks + 1
MAIN_SPAN_COUNT = 1 + 2 * (1 + len(PROBES)) + 1 + len(METHOD_ACTIVITIES) + 1 + len(ROLLBACKS)
TRACEPARENT_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-01$")


def main_experiment(target_url: str) -> Dict[str, Any]:
    """experiments/main.json calling the target service at target_url."""
    exp = load_experiment("main")
    exp["configuration"]["target_url"] = target_url
    return exp


_control_check: Dict[str, str] = {}


def require_control_importable() -> None:
    """Fail (never skip) the calling test when the control cannot be imported."""
    if "result" not in _control_check:
        p = subprocess.run(
            [sys.executable, "-c", f"import {CONTROL_MODULE}"],
            capture_output=True,
            text=True,
            timeout=30,
            env=clean_env(),
        )
        _control_check["result"] = "" if p.returncode == 0 else p.stderr.strip()[-2000:]
    if _control_check["result"]:
        pytest.fail(
            f"{CONTROL_MODULE} cannot be imported by {sys.executable}:\n"
            + _control_check["result"],
            pytrace=False,
        )


def _mentions_control(obj: Any) -> bool:
    return CONTROL_MODULE in json.dumps(obj)


# --------------------------------------------------------------------------
# Running chaos
# --------------------------------------------------------------------------
@dataclass
class ChaosRun:
    proc: subprocess.CompletedProcess
    journal: Dict[str, Any]
    log: str
    wall: float  # seconds, subprocess start to exit
    pid: int
    cwd: Path
    started_ns: int  # time.time_ns() just before the subprocess started
    ended_ns: int  # time.time_ns() just after it exited

    @property
    def returncode(self) -> int:
        return self.proc.returncode

    def describe(self) -> str:
        """Text to attach to assertion messages."""
        return (
            f"exit={self.proc.returncode}\n--- stdout ---\n{self.proc.stdout[-3000:]}"
            f"\n--- stderr ---\n{self.proc.stderr[-3000:]}\n--- log (tail) ---\n"
            f"{self.log[-4000:]}"
        )


class ChaosRunner:
    """Runs `chaos run` in a fresh directory under tmp_path each call."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self._n = itertools.count(1)
        self.started: List["ChaosProcess"] = []

    def new_dir(self) -> Path:
        d = self.tmp_path / f"run{next(self._n)}"
        d.mkdir()
        return d

    def __call__(
        self,
        experiment: Any,
        env: Optional[Dict[str, str]] = None,
        settings: Optional[Dict[str, Any]] = None,
        args: Optional[List[str]] = None,
        cwd: Optional[Path] = None,
        timeout: float = CHAOS_TIMEOUT,
    ) -> ChaosRun:
        """Run the experiment (a path or a dict) and collect the results.

        settings: the settings file's content (a fresh empty one by default,
        so ~/.chaostoolkit/settings.yaml never leaks in). args: extra options
        for `chaos run`.
        """
        return self.start(experiment, env, settings, args, cwd).wait(timeout)

    def start(
        self,
        experiment: Any,
        env: Optional[Dict[str, str]] = None,
        settings: Optional[Dict[str, Any]] = None,
        args: Optional[List[str]] = None,
        cwd: Optional[Path] = None,
    ) -> "ChaosProcess":
        """Start `chaos run` as __call__ does and return at once; the
        process is the leader of its own process group."""
        cwd = cwd or self.new_dir()
        if isinstance(experiment, (str, Path)):
            exp_path = Path(experiment)
            exp_obj = json.loads(exp_path.read_text())
        else:
            exp_obj = experiment
            exp_path = cwd / "experiment.json"
            exp_path.write_text(json.dumps(experiment, indent=2))
        settings_obj = settings if settings is not None else {}
        if _mentions_control(exp_obj) or _mentions_control(settings_obj):
            require_control_importable()
        settings_path = cwd / "settings.yaml"
        # JSON is valid YAML.
        settings_path.write_text(json.dumps(settings_obj, indent=2))
        cmd = [
            str(CHAOS),
            "--no-version-check",
            "--settings",
            str(settings_path),
            "--log-file",
            str(cwd / "chaostoolkit.log"),
            "run",
            "--journal-path",
            str(cwd / "journal.json"),
            *(args or []),
            str(exp_path),
        ]
        proc = ChaosProcess(cmd, cwd, clean_env(env))
        self.started.append(proc)
        return proc

    def kill_leftovers(self) -> None:
        """Kill (SIGKILL, whole group) the runs a failed test left running."""
        for proc in self.started:
            if proc.popen.poll() is None:
                proc.kill_group()
                proc.popen.communicate()


class ChaosProcess:
    """A `chaos run` started by ChaosRunner.start(): signal it, wait for it."""

    def __init__(self, cmd: List[str], cwd: Path, env: Dict[str, str]):
        self.cmd = cmd
        self.cwd = cwd
        self.log_path = cwd / "chaostoolkit.log"
        self.journal_path = cwd / "journal.json"
        self.started_ns = time.time_ns()
        self.t0 = time.monotonic()
        self.popen = subprocess.Popen(
            cmd,
            cwd=str(cwd),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.pid = self.popen.pid

    def signal(self, sig: int) -> None:
        """Send `sig` to the chaos process itself (not its group)."""
        os.kill(self.pid, sig)

    def kill_group(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait(self, timeout: float = CHAOS_TIMEOUT, journal: bool = True) -> ChaosRun:
        """Wait (bounded) and collect; journal=False for a run that may end
        without writing one (an interrupt that escapes chaos, kill -9)."""
        p = self.popen
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_group()
            out, err = p.communicate()
            pytest.fail(
                f"chaos run did not finish within {timeout} s\n{out[-2000:]}\n"
                f"{err[-2000:]}\n{self.log()[-3000:]}"
            )
        wall = time.monotonic() - self.t0
        ended_ns = time.time_ns()
        proc = subprocess.CompletedProcess(self.cmd, p.returncode, out, err)
        data: Dict[str, Any] = {}
        if self.journal_path.exists():
            data = json.loads(self.journal_path.read_text())
        run = ChaosRun(proc, data, self.log(), wall, p.pid, self.cwd, self.started_ns, ended_ns)
        if journal:
            assert data, "chaos wrote no journal\n" + run.describe()
        return run


@pytest.fixture
def run_chaos(tmp_path):
    """run_chaos(experiment_path_or_dict, env=, settings=, args=) -> ChaosRun;
    run_chaos.start(...) -> ChaosProcess. Runs left running are killed."""
    runner = ChaosRunner(tmp_path)
    yield runner
    runner.kill_leftovers()


# --------------------------------------------------------------------------
# chaostoolkit.log parsing
# --------------------------------------------------------------------------
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LOG_LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (\w+)\] \[([^\]]*)\] ?(.*)$")


@dataclass
class LogRecord:
    level: str
    where: str
    message: str


def parse_log(text: str) -> List[LogRecord]:
    """Records of a chaostoolkit.log file (continuation lines joined)."""
    records: List[LogRecord] = []
    for raw in _ANSI.sub("", text).splitlines():
        m = _LOG_LINE.match(raw)
        if m:
            records.append(LogRecord(m.group(2), m.group(3), m.group(4)))
        elif records:
            records[-1].message += "\n" + raw
    return records


def chaostracing_records(text: str, level: Optional[str] = None) -> List[LogRecord]:
    """Log records whose message starts with "chaostracing:"."""
    return [
        r
        for r in parse_log(text)
        if r.message.startswith("chaostracing:") and (level is None or r.level == level)
    ]


SUMMARY_RE = re.compile(
    r"^chaostracing: (?P<exported>\d+) spans? exported to (?P<dest>.+) "
    r"\((?P<made>\d+) made, (?P<spooled>\d+) spooled(?: to (?P<spool>[^,]+))?, "
    r"(?P<dropped>\d+) dropped(?:: (?P<reasons>[^)]*?))?"
    r"(?:, (?P<flying>\d+) still being sent)?, (?P<failed>\d+) failed exports?\)$"
)


def summary(text: str) -> Dict[str, Any]:
    """The single INFO summary line as a dict: exported, dest, made, spooled,
    spool, dropped, reasons ({why: count}), flying, failed (batches)."""
    found = [
        SUMMARY_RE.match(r.message)
        for r in chaostracing_records(text, "INFO")
        if SUMMARY_RE.match(r.message)
    ]
    assert len(found) == 1, (
        f"expected exactly one chaostracing INFO summary line, found {len(found)}:\n"
        + "\n".join(r.message for r in chaostracing_records(text))
    )
    g = found[0].groupdict()
    out: Dict[str, Any] = {k: int(g[k] or 0) for k in ("exported", "made", "spooled", "dropped", "flying", "failed")}
    out["dest"], out["spool"] = g["dest"], g["spool"]
    out["reasons"] = {}
    for part in (g["reasons"] or "").split(", "):
        if part:
            n, why = part.split(" ", 1)
            out["reasons"][why] = int(n)
    # Every span made is accounted for.
    assert out["made"] == out["exported"] + out["spooled"] + out["dropped"] + out["flying"], out
    return out


def summary_line(text: str):
    """The single INFO summary line parsed as (spans, destination, dropped, failed)."""
    s = summary(text)
    return s["exported"], s["dest"], s["dropped"], s["failed"]


# --------------------------------------------------------------------------
# Decoding spans
# --------------------------------------------------------------------------
def any_value(v) -> Any:
    """Decode an OTLP AnyValue into a Python value (arrays -> lists)."""
    which = v.WhichOneof("value")
    if which is None:
        return None
    if which == "string_value":
        return v.string_value
    if which == "bool_value":
        return v.bool_value
    if which == "int_value":
        return v.int_value
    if which == "double_value":
        return v.double_value
    if which == "bytes_value":
        return bytes(v.bytes_value)
    if which == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in v.kvlist_value.values}
    raise AssertionError(f"unknown AnyValue member {which}")


class Attributes(dict):
    """A dict of decoded attributes; a missing key fails with a clear message."""

    owner = "?"

    def __missing__(self, key):
        raise AssertionError(f"{self.owner} has no attribute {key!r}; it has: {sorted(self)}")


def attributes(kvs, owner: str = "?") -> Dict[str, Any]:
    """KeyValue list -> dict; a duplicated key is a test failure."""
    out = Attributes()
    out.owner = owner
    for kv in kvs:
        assert kv.key not in out, f"duplicate attribute key {kv.key!r}"
        out[kv.key] = any_value(kv.value)
    return out


def flatten(requests) -> List[Dict[str, Any]]:
    """All spans of ExportTraceServiceRequest messages as plain dicts."""
    spans = []
    for req in requests:
        for rs in req.resource_spans:
            resource = attributes(rs.resource.attributes, "the resource")
            for ss in rs.scope_spans:
                for s in ss.spans:
                    spans.append(
                        {
                            "trace_id": s.trace_id.hex(),
                            "span_id": s.span_id.hex(),
                            "parent": s.parent_span_id.hex(),
                            "name": s.name,
                            "kind": s.kind,
                            "start": s.start_time_unix_nano,
                            "end": s.end_time_unix_nano,
                            "attributes": attributes(s.attributes, f"span {s.name!r}"),
                            "events": [
                                {
                                    "name": e.name,
                                    "time": e.time_unix_nano,
                                    "attributes": attributes(
                                        e.attributes, f"event {e.name!r} of span {s.name!r}"
                                    ),
                                }
                                for e in s.events
                            ],
                            "links": [
                                {"trace_id": ln.trace_id.hex(), "span_id": ln.span_id.hex()}
                                for ln in s.links
                            ],
                            "status_code": s.status.code,
                            "status_message": s.status.message,
                            "flags": s.flags,
                            "trace_state": s.trace_state,
                            "resource": resource,
                            "scope": ss.scope.name,
                        }
                    )
    return spans


_HEX_ID = {"traceId": 32, "spanId": 16, "parentSpanId": 16}


def _hex_ids_to_base64(obj: Dict[str, Any], where: str) -> None:
    for key, width in _HEX_ID.items():
        if key not in obj:
            continue
        val = obj[key]
        if key == "parentSpanId" and val == "":
            continue
        assert isinstance(val, str) and re.fullmatch(f"[0-9a-f]{{{width}}}", val), (
            f"{where}.{key} must be {width} lowercase hex digits (OTLP JSON), got {val!r}"
        )
        obj[key] = base64.b64encode(bytes.fromhex(val)).decode()


def parse_otlp_json_line(line: str) -> ExportTraceServiceRequest:
    """Parse one OTLP JSON line into an ExportTraceServiceRequest.

    OTLP JSON differs from protobuf's canonical JSON mapping in one point that
    matters here: traceId, spanId and parentSpanId (also inside links) are
    written as lowercase hex strings, whereas json_format expects base64 for
    `bytes` fields. So the ids are checked to be hex and rewritten to base64
    before json_format.ParseDict; everything else (lowerCamelCase keys, enums
    as integers, 64-bit integers as strings) is accepted by json_format as is.
    """
    doc = json.loads(line)
    for i, rs in enumerate(doc.get("resourceSpans", [])):
        for j, ss in enumerate(rs.get("scopeSpans", [])):
            for k, span in enumerate(ss.get("spans", [])):
                where = f"resourceSpans[{i}].scopeSpans[{j}].spans[{k}]"
                _hex_ids_to_base64(span, where)
                for n, link in enumerate(span.get("links", [])):
                    _hex_ids_to_base64(link, f"{where}.links[{n}]")
    return json_format.ParseDict(doc, ExportTraceServiceRequest())


def read_trace_file(path: Path) -> List[ExportTraceServiceRequest]:
    """Every line of the file exporter's output, decoded."""
    assert path.exists(), f"trace file {path} was not written"
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    assert lines, f"trace file {path} is empty"
    return [parse_otlp_json_line(ln) for ln in lines]


def file_spans(path: Path) -> List[Dict[str, Any]]:
    return flatten(read_trace_file(path))


# --------------------------------------------------------------------------
# Span tree helpers
# --------------------------------------------------------------------------
class Spans:
    """A run's spans with lookups that assert what they find."""

    def __init__(self, spans: List[Dict[str, Any]]):
        self.all = spans
        self.by_id = {}
        for s in spans:
            assert s["span_id"] not in self.by_id, f"span id {s['span_id']} used twice"
            assert re.fullmatch("[0-9a-f]{16}", s["span_id"]) and s["span_id"] != "0" * 16
            self.by_id[s["span_id"]] = s

    def __len__(self):
        return len(self.all)

    def named(self, name: str) -> List[Dict[str, Any]]:
        return [s for s in self.all if s["name"] == name]

    def one(self, name: str) -> Dict[str, Any]:
        found = self.named(name)
        assert len(found) == 1, (
            f"expected exactly one span named {name!r}, found {len(found)}; "
            f"names: {sorted(s['name'] for s in self.all)}"
        )
        return found[0]

    def children(self, parent: Dict[str, Any]) -> List[Dict[str, Any]]:
        return sorted(
            (s for s in self.all if s["parent"] == parent["span_id"]),
            key=lambda s: s["start"],
        )

    def trace_ids(self):
        return {s["trace_id"] for s in self.all}

    def assert_nested_times(self) -> None:
        """Each span has start <= end and lies inside its (local) parent."""
        for s in self.all:
            assert 0 < s["start"] <= s["end"], f"span {s['name']!r} has bad times"
            p = self.by_id.get(s["parent"])
            if p is None:
                continue
            assert p["start"] <= s["start"] and s["end"] <= p["end"], (
                f"span {s['name']!r} [{s['start']}, {s['end']}] is not inside its "
                f"parent {p['name']!r} [{p['start']}, {p['end']}]"
            )


def by_name(spans: List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """{name: span}; two spans with the same name fail."""
    out = {}
    for s in spans:
        assert s.get("name") not in out, f"two spans named {s.get('name')!r}"
        out[s.get("name")] = s
    return out


# --------------------------------------------------------------------------
# Loopback HTTP(S) servers
# --------------------------------------------------------------------------
def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, sent with Content-Length or chunked."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        return b"".join(chunks)
    n = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(n) if n else b""


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive) and no request log on stderr."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean
        pass


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def process_request(self, request, client_address):
        # Kept so that stop() can close live (keep-alive) connections too.
        with self.owner.lock:
            self.owner.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.owner.lock:
            self.owner.connections.discard(request)
        super().shutdown_request(request)

    def finish_request(self, request, client_address):
        owner = self.owner
        if owner.ssl_context is None:
            super().finish_request(request, client_address)
            return
        # The TLS handshake runs here, in the connection's own thread.
        try:
            tls = owner.ssl_context.wrap_socket(request, server_side=True)
        except OSError as e:
            with owner.lock:
                owner.handshake_errors.append(repr(e))
            return
        try:
            super().finish_request(tls, client_address)
        except OSError:
            pass
        finally:
            tls.close()


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 (a free port, or `port`), HTTPS
    when given an ssl.SSLContext (failed handshakes are kept in
    `handshake_errors`). Handlers reach it as `self.server.owner`.
    start()/stop(), or `with`. stop() closes the listening socket and every
    live connection, as a collector that goes away does; restart() listens
    again on the same port. `release` is set by stop(): handlers that hold a
    request (see OtlpReceiver) let go of it then."""

    def __init__(self, handler_cls, ssl_context=None, port: int = 0):
        self.ssl_context = ssl_context
        self.handler_cls = handler_cls
        self.lock = threading.Lock()
        self.handshake_errors: List[str] = []
        self.connections: set = set()
        self.release = threading.Event()
        self._bind(port)
        scheme = "https" if ssl_context is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"

    def _bind(self, port: int) -> None:
        self.httpd = _HTTPServer(("127.0.0.1", port), self.handler_cls)
        self.httpd.owner = self
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        with self.lock:
            live = list(self.connections)
        for conn in live:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.thread.join(5)

    def restart(self):
        """Listen again on the same port after stop()."""
        self.release.clear()
        self._bind(self.port)
        return self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class _TargetHandler(QuietHandler):
    def _handle(self):
        body = read_body(self)
        srv = self.server.owner
        with srv.lock:
            srv.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "header_list": list(self.headers.items()),
                    "body": body,
                }
            )
        status = 500 if self.path.startswith("/fail") else 200
        payload = json.dumps({"ok": status == 200}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle


class TargetService(LoopbackServer):
    """The service experiments call: 200 {"ok": true}, /fail -> 500."""

    def __init__(self):
        super().__init__(_TargetHandler)
        self.requests: List[Dict[str, Any]] = []


class _OtlpHandler(QuietHandler):
    def do_POST(self):
        srv = self.server.owner
        raw = read_body(self)
        headers = {k.lower(): v for k, v in self.headers.items()}
        post: Dict[str, Any] = {
            "path": self.path,
            "headers": headers,
            "raw": raw,
            "time": time.monotonic(),
            # The client certificate the connection presented (TLS only).
            "peer_cert": self.connection.getpeercert() if srv.ssl_context else None,
            # The status sent back; None while held, and for good when the
            # request was never answered (silent, hang-body).
            "answered": None,
        }
        body = raw
        try:
            if headers.get("content-encoding", "").lower() == "gzip":
                body = gzip.decompress(raw)
            post["body"] = body
            if headers.get("content-type", "").startswith("application/json"):
                post["request"] = parse_otlp_json_line(body.decode())
            else:
                post["request"] = ExportTraceServiceRequest.FromString(body)
        except Exception as e:  # recorded; the tests assert on it
            post["error"] = repr(e)
        with srv.lock:
            post["index"] = len(srv.posts)
            srv.posts.append(post)
            step = srv.script.pop(0) if srv.script else srv.default
        if step == "silent":
            # Read, never answer: the client waits until it gives up.
            srv.release.wait(CHAOS_TIMEOUT)
            self.close_connection = True
            return
        if step == "hang-body":
            # A status line, headers announcing 64 bytes, 8 of them, then nothing.
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "64")
            self.end_headers()
            self.wfile.write(b"\x0a\x06partia")
            self.wfile.flush()
            srv.release.wait(CHAOS_TIMEOUT)
            self.close_connection = True
            return
        if srv.delay:
            srv.release.wait(srv.delay)
        if isinstance(step, tuple) and step[0] == "block":
            # Hold the request until the test sets `unblock` (or stop()).
            for _ in range(int(CHAOS_TIMEOUT / 0.05)):
                if srv.unblock.wait(0.05) or srv.release.is_set():
                    break
            step = step[1]
        status, extra = step if isinstance(step, tuple) else (step, {})
        post["answered"] = status
        payload = ExportTraceServiceResponse().SerializeToString() if status == 200 else b""
        self.send_response(status)
        self.send_header("Content-Type", headers.get("content-type") or "application/x-protobuf")
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()


class OtlpReceiver(LoopbackServer):
    """An OTLP/HTTP receiver recording every POST (HTTPS with `ssl_context`),
    protobuf or JSON (decoded with the official classes either way).

    `script` is a list of steps to answer with, in order; once empty every
    POST gets `default` (200). A step is a status code, (status, {header:
    value}), "silent" (read the request, never answer), "hang-body" (answer
    200 with 8 of the 64 body bytes announced, then nothing), or ("block",
    step): hold the request until `unblock` is set, then answer with step.
    Held requests are let go by stop(). `delay`: seconds to wait before
    answering any request (a slow collector). `port` listens on a given port
    (a "late" collector: see refused_port()).
    """

    def __init__(self, ssl_context=None, port: int = 0):
        super().__init__(_OtlpHandler, ssl_context, port)
        self.posts: List[Dict[str, Any]] = []
        self.script: List[Any] = []
        self.default: Any = 200
        self.delay = 0.0
        self.unblock = threading.Event()

    @property
    def endpoint(self) -> str:
        return self.url

    def decoded(self) -> List[ExportTraceServiceRequest]:
        for p in self.posts:
            assert "error" not in p, f"POST #{p['index']} did not decode: {p['error']}"
        return [p["request"] for p in self.posts]

    def spans(self) -> List[Dict[str, Any]]:
        return flatten(self.decoded())

    def acked_spans(self) -> List[Dict[str, Any]]:
        """The spans of the POSTs answered 200 (delivered, as far as the
        sender can know)."""
        return flatten([r for p, r in zip(self.posts, self.decoded()) if p["answered"] == 200])

    def wait_posts(self, n: int, timeout: float = 10.0) -> bool:
        """Wait until at least n POSTs arrived (answered or not); bounded."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if len(self.posts) >= n:
                    return True
            time.sleep(0.01)
        return False


@pytest.fixture
def target():
    srv = TargetService().start()
    yield srv
    srv.stop()


@pytest.fixture
def otlp_receiver():
    srv = OtlpReceiver().start()
    yield srv
    srv.stop()


def refused_port(kind: int = socket.SOCK_STREAM) -> int:
    """A loopback port nobody listens on (bound, then closed); TCP by
    default, UDP with kind=socket.SOCK_DGRAM."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------
# Journal helpers
# --------------------------------------------------------------------------
def journal_activities(journal: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Every run record of the journal, in phase order."""
    return [r for _, r in _phase_runs(journal)]


def _phase_runs(journal: Dict[str, Any]):
    ss = journal.get("steady_states") or {}
    out = []
    if ss.get("before"):
        out += [("before", r) for r in ss["before"].get("probes", [])]
    out += [("method", r) for r in journal.get("run") or []]
    if ss.get("after"):
        out += [("after", r) for r in ss["after"].get("probes", [])]
    out += [("rollbacks", r) for r in journal.get("rollbacks") or []]
    return out


def strip_volatile(journal: Dict[str, Any]) -> List[Any]:
    """The journal's activity definitions and statuses per phase (no times or
    outputs), sorted by name within a phase: a background activity is
    recorded when its worker thread starts it, so its place varies."""
    return sorted(
        (
            (
                phase,
                r["activity"].get("name", ""),
                json.dumps(r["activity"], sort_keys=True),
                r.get("status"),
            )
            for phase, r in _phase_runs(journal)
        ),
        key=lambda t: (["before", "method", "after", "rollbacks"].index(t[0]), t[1]),
    )


_PROPAGATION_HEADERS = {"traceparent", "tracestate", "baggage"}
_TRACEPARENT_VALUE = re.compile(r"\b00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}\b")


def propagation_leaks(obj: Any, where: str = "journal") -> List[str]:
    """Places in obj holding a propagation header name or a traceparent value."""
    found: List[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(k, str) and k.lower() in _PROPAGATION_HEADERS:
                found.append(f"{where}.{k}")
            found.extend(propagation_leaks(v, f"{where}.{k}"))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found.extend(propagation_leaks(v, f"{where}[{i}]"))
    elif isinstance(obj, str) and _TRACEPARENT_VALUE.search(obj):
        found.append(f"{where} = {obj[:120]!r}")
    return found
