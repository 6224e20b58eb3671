"""The real backends and the system under test, run on loopback.

- `build(name)`: the path of the collector or Jaeger binary, built once by
  build.sh into a cache outside the repository.
- `Collector`: the OpenTelemetry Collector built from otelcol-manifest.yaml,
  with a generated config: OTLP (gRPC, HTTP), Jaeger (thrift compact UDP,
  gRPC) and Zipkin receivers on free loopback ports, writing OTLP JSON lines
  through the file exporter.
- `Jaeger`: Jaeger v2 with in-memory storage, the same receivers and its
  query API on free loopback ports, not tracing itself.
- `TargetService`: service.py in its own process, instrumented with the
  OpenTelemetry Python SDK and exporting to one of them.

Every start, wait and stop is bounded. The chaos runner, the span decoders
and the tree helpers are tests/python's (conftest.py, cli_support.py), loaded
here under the name `python_tests_conftest`, since this directory has a
conftest.py of its own.
"""

import contextlib
import importlib.util
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

HERE = Path(__file__).resolve().parent
PY_TESTS = HERE.parent / "python"
if str(PY_TESTS) not in sys.path:
    sys.path.insert(0, str(PY_TESTS))


def _python_tests_conftest():
    name = "python_tests_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, PY_TESTS / "conftest.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_python_tests_conftest()

from cli_support import clean_env  # noqa: E402
from python_tests_conftest import flatten, parse_otlp_json_line, refused_port  # noqa: E402

SERVICE_PY = HERE / "service.py"
BUILD_SH = HERE / "build.sh"
# A cold build of both backends takes ~10 minutes on two cores.
BUILD_TIMEOUT = 2400
START_TIMEOUT = 60
READY_LINE = "Everything is ready"
# How long a finished run's spans may take to show up in a backend, and how
# long a complete trace must stay unchanged (more would be duplicates).
WAIT_TIMEOUT = 20
SETTLE = 0.5


class BackendError(Exception):
    """A backend could not be built, started or queried."""


def build(name: str) -> Path:
    """The binary of `name` ("otelcol" or "jaeger"), built by build.sh if
    it is not in the cache yet (progress goes to stderr)."""
    proc = subprocess.run(
        [str(BUILD_SH), name], stdout=subprocess.PIPE, text=True, timeout=BUILD_TIMEOUT
    )
    if proc.returncode != 0:
        raise BackendError(f"tests/e2e/build.sh {name} failed (exit {proc.returncode})")
    return Path(proc.stdout.strip().splitlines()[-1])


def free_ports(n: int, taken=()) -> List[int]:
    """n distinct free loopback TCP ports, none of them in `taken` (a port
    nobody listens on, as refused_port() finds one, is a free one)."""
    ports: List[int] = []
    while len(ports) < n:
        p = refused_port()
        if p not in ports and p not in taken:
            ports.append(p)
    return ports


def loopback(port: int) -> str:
    return f"127.0.0.1:{port}"


@dataclass
class Ports:
    """Where the backend's receivers listen, all on 127.0.0.1."""

    otlp_grpc: int
    otlp_http: int
    jaeger_grpc: int
    jaeger_compact: int  # UDP
    zipkin: int

    @classmethod
    def pick(cls) -> "Ports":
        otlp_grpc, otlp_http, jaeger_grpc, zipkin = free_ports(4)
        compact = refused_port(socket.SOCK_DGRAM)
        return cls(otlp_grpc, otlp_http, jaeger_grpc, compact, zipkin)

    def tcp(self) -> List[int]:
        return [self.otlp_grpc, self.otlp_http, self.jaeger_grpc, self.zipkin]

    @property
    def otlp_http_traces(self) -> str:
        return f"http://127.0.0.1:{self.otlp_http}/v1/traces"

    def receivers(self) -> Dict[str, Any]:
        """The receivers section of a collector config for these ports."""
        return {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": loopback(self.otlp_grpc)},
                    "http": {"endpoint": loopback(self.otlp_http)},
                }
            },
            "jaeger": {
                "protocols": {
                    "grpc": {"endpoint": loopback(self.jaeger_grpc)},
                    "thrift_compact": {"endpoint": loopback(self.jaeger_compact)},
                }
            },
            "zipkin": {"endpoint": loopback(self.zipkin)},
        }


# A collector's own telemetry: no metrics endpoint (by default one more port,
# 8888), info logs (into NAME.log).
QUIET_TELEMETRY = {"metrics": {"level": "none"}, "logs": {"level": "info"}}


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def listening_sockets(pid: int) -> Set[Tuple[str, str, int]]:
    """(protocol, address, port) of every listening TCP socket and bound UDP
    socket process `pid` holds, from /proc."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    found = set()
    for proto, state in (("tcp", "0A"), ("tcp6", "0A"), ("udp", "07"), ("udp6", "07")):
        with open(f"/proc/{pid}/net/{proto}") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[9] not in inodes or fields[3] != state:
                    continue
                addr, port = fields[1].split(":")
                if len(addr) == 8:  # IPv4, little-endian hex
                    addr = socket.inet_ntoa(bytes.fromhex(addr)[::-1])
                found.add((proto.rstrip("6"), addr, int(port, 16)))
    return found


class Child:
    """A child process (in its own session) that start() launches; stop()
    sends SIGTERM and, after `timeout` seconds, SIGKILL. See running()."""

    proc: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 30) -> "Child":
        raise NotImplementedError

    def stop(self, timeout: float = 15) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


@contextlib.contextmanager
def running(child):
    """Start `child`, yield it, stop it whatever happens."""
    child.start()
    try:
        yield child
    finally:
        child.stop()


class Backend(Child):
    """A collector distribution run with a generated config (JSON, which
    is YAML) in `workdir`; its log goes to workdir/NAME.log."""

    name = "backend"

    def __init__(self, binary: Path, workdir: Path):
        self.binary = binary
        self.workdir = workdir
        self.ports = Ports.pick()
        self.config_path = workdir / f"{self.name}.yaml"
        self.log_path = workdir / f"{self.name}.log"

    def config(self) -> Dict[str, Any]:
        raise NotImplementedError

    def tcp_ports(self) -> List[int]:
        return self.ports.tcp()

    def sockets(self) -> Set[Tuple[str, str, int]]:
        """The sockets its config asks for, as listening_sockets() gives them."""
        return {("tcp", "127.0.0.1", p) for p in self.tcp_ports()} | {
            ("udp", "127.0.0.1", self.ports.jaeger_compact)
        }

    def log(self, tail: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:] if self.log_path.exists() else ""

    def start(self, timeout: float = START_TIMEOUT) -> "Backend":
        """Start and wait until it says it is ready and every TCP port
        accepts connections; BackendError with its log otherwise."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(self.config(), indent=2))
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [str(self.binary), "--config", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=clean_env(),
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BackendError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
            if READY_LINE in self.log(10**7) and all(_accepts(p) for p in self.tcp_ports()):
                return self
            time.sleep(0.1)
        self.stop()
        raise BackendError(f"{self.name} not ready within {timeout} s:\n{self.log()}")


class Collector(Backend):
    """The OpenTelemetry Collector, writing every span to `traces_path`."""

    name = "otelcol"

    def __init__(self, binary: Path, workdir: Path):
        super().__init__(binary, workdir)
        self.traces_path = workdir / "collector-traces.jsonl"

    def config(self) -> Dict[str, Any]:
        return {
            "receivers": self.ports.receivers(),
            "exporters": {
                "file": {"path": str(self.traces_path), "flush_interval": "100ms"},
                "debug": {"verbosity": "basic"},
            },
            "service": {
                "telemetry": QUIET_TELEMETRY,
                "pipelines": {
                    "traces": {
                        "receivers": ["otlp", "jaeger", "zipkin"],
                        "exporters": ["file", "debug"],
                    }
                },
            },
        }

    def all_spans(self) -> List[Dict[str, Any]]:
        """Every span the file exporter has written so far (flatten()'s dicts)."""
        if not self.traces_path.exists():
            return []
        lines = [ln for ln in self.traces_path.read_text().splitlines() if ln.strip()]
        return flatten(parse_otlp_json_line(ln) for ln in lines)

    def wait_trace(self, root_name: str, count: int, since_ns: int, timeout: float = WAIT_TIMEOUT):
        """(trace id, spans) of the trace whose root span is named
        `root_name`, once it has `count` spans (or what it has at the
        timeout); (None, []) when no such root arrived."""

        def lookup():
            spans = self.all_spans()
            roots = [s for s in spans if s["name"] == root_name and s["start"] >= since_ns - 10**6]
            if not roots:
                return None, []
            tid = roots[0]["trace_id"]
            return tid, [s for s in spans if s["trace_id"] == tid]

        return settle(lookup, count, timeout)


class Jaeger(Backend):
    """Jaeger v2: in-memory storage, query API (HTTP and gRPC) on loopback,
    no self-tracing, no sampling or health endpoints."""

    name = "jaeger"

    def __init__(self, binary: Path, workdir: Path):
        super().__init__(binary, workdir)
        self.query_http, self.query_grpc = free_ports(2, taken=self.ports.tcp())
        self.query_url = f"http://127.0.0.1:{self.query_http}"

    def tcp_ports(self) -> List[int]:
        return super().tcp_ports() + [self.query_http, self.query_grpc]

    def config(self) -> Dict[str, Any]:
        return {
            "extensions": {
                "jaeger_storage": {"backends": {"memstore": {"memory": {"max_traces": 10000}}}},
                "jaeger_query": {
                    "storage": {"traces": "memstore"},
                    # On by default in v2: it would trace our queries into itself.
                    "enable_tracing": False,
                    # Traces come back as they were received.
                    "max_clock_skew_adjust": "0s",
                    "http": {"endpoint": loopback(self.query_http)},
                    "grpc": {"endpoint": loopback(self.query_grpc)},
                },
            },
            "receivers": self.ports.receivers(),
            "exporters": {"jaeger_storage_exporter": {"trace_storage": "memstore"}},
            "service": {
                "extensions": ["jaeger_storage", "jaeger_query"],
                "telemetry": QUIET_TELEMETRY,
                "pipelines": {
                    "traces": {
                        "receivers": ["otlp", "jaeger", "zipkin"],
                        "exporters": ["jaeger_storage_exporter"],
                    }
                },
            },
        }

    def get(self, path: str, params: Optional[Dict[str, str]] = None, timeout: float = 10) -> Any:
        """GET a query API path; (status, decoded JSON body or None)."""
        url = self.query_url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, None

    def trace_url(self, trace_id: str) -> str:
        return f"{self.query_url}/api/v3/traces/{trace_id}"

    def find_traces(self, service: str, operation: str, since_ns: int) -> List[str]:
        """Trace ids of `service` with a span named `operation` started
        after since_ns (through /api/v3/traces)."""

        def rfc3339(ns: int) -> str:
            return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + "Z"

        status, body = self.get(
            "/api/v3/traces",
            {
                "query.service_name": service,
                "query.operation_name": operation,
                "query.start_time_min": rfc3339(since_ns - 10**9),
                "query.start_time_max": rfc3339(time.time_ns() + 60 * 10**9),
                "query.num_traces": "20",
            },
        )
        if status != 200 or not body:
            return []
        return sorted({s["trace_id"] for s in v3_spans(body)})

    def wait_trace(self, root_name: str, count: int, since_ns: int, timeout: float = WAIT_TIMEOUT):
        """Like Collector.wait_trace: the trace is found by its root span's
        name through /api/v3/traces, then read by id (/api/v3/traces/{id})."""

        def lookup():
            ids = self.find_traces("chaostoolkit", root_name, since_ns)
            if len(ids) != 1:
                return None, []
            return ids[0], self.v3_trace(ids[0])

        return settle(lookup, count, timeout)

    def v3_trace(self, trace_id: str) -> List[Dict[str, Any]]:
        """/api/v3/traces/{id} as flatten()'s span dicts ([] when not found)."""
        status, body = self.get(f"/api/v3/traces/{trace_id}")
        return v3_spans(body) if status == 200 and body else []

    def v1_trace(self, trace_id: str) -> Optional[Dict[str, Any]]:
        """/api/traces/{id}: the one trace of its "data" list, or None."""
        status, body = self.get(f"/api/traces/{trace_id}")
        if status != 200 or not body or not body.get("data"):
            return None
        (trace,) = body["data"]
        return trace


def v3_spans(body: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The spans of an /api/v3 answer ({"result": OTLP JSON})."""
    return flatten([parse_otlp_json_line(json.dumps(body["result"]))])


def v1_spans(trace: Dict[str, Any]) -> Dict[str, Tuple[str, str, str, int, int]]:
    """{span id: (operation, parent id, service, start µs, duration µs)} of
    a trace as /api/traces/{id} gives it (Jaeger.v1_trace)."""
    out = {}
    for s in trace["spans"]:
        parents = [r["spanID"] for r in s["references"] if r["refType"] == "CHILD_OF"]
        assert len(parents) <= 1, s
        service = trace["processes"][s["processID"]]["serviceName"]
        out[s["spanID"]] = (
            s["operationName"],
            (parents or [""])[0],
            service,
            s["startTime"],
            s["duration"],
        )
    return out


def settle(lookup, count: int, timeout: float):
    """Call lookup() -> (trace id, spans) every 0.1 s until it has `count`
    spans and, a moment later, still the same number; or until `timeout`
    seconds have passed. Returns its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        tid, spans = lookup()
        if len(spans) >= count:
            time.sleep(SETTLE)
            tid2, again = lookup()
            if tid2 == tid and len(again) == len(spans):
                return tid, again
        if time.monotonic() > deadline:
            return tid, spans
        time.sleep(0.1)


class TargetService(Child):
    """service.py in its own process; `url` once started. On SIGTERM it
    flushes its spans before it exits."""

    def __init__(self, otlp_traces_url: str, propagators: str, log_path: Path):
        self.otlp_traces_url = otlp_traces_url
        self.propagators = propagators
        self.log_path = log_path
        self.url = ""

    def start(self, timeout: float = 30) -> "TargetService":
        env = clean_env({"OTEL_PROPAGATORS": self.propagators, "OTEL_SDK_DISABLED": None})
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVICE_PY), "--otlp-endpoint", self.otlp_traces_url],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=env,
            start_new_session=True,
        )
        line = _read_line(self.proc, timeout)
        if not line.startswith("listening "):
            self.stop()
            raise BackendError(f"service.py did not start: {line!r}\n{self.log_path.read_text()}")
        self.url = line.split()[1]
        return self

    def stop(self, timeout: float = 15) -> None:
        super().stop(timeout)
        if self.proc is not None:
            self.proc.stdout.close()
            self.log.close()


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    """The first stdout line of `proc`, or "" after `timeout` seconds."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        if sel.select(timeout):
            return proc.stdout.readline().strip()
        return ""
    finally:
        sel.close()
