"""End-to-end tests of the `chaostracing` command-line tool (cli/).

The input files are OTLP JSON lines built with the official opentelemetry-proto
classes and protobuf's JSON printer, with the ids turned from base64 into hex
as OTLP JSON requires: the same shape the file exporter writes. The binary is
built with `make cli tools` unless CHAOSTRACING_CLI names one to test instead.
"""

import base64
import ctypes
import ctypes.util
import json
import os
import random
import re
import subprocess
import time

import pytest
from google.protobuf.json_format import MessageToJson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from cli_support import ROOT, build_cli

T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z in ns
CLIENT, SERVER, INTERNAL = 3, 2, 1
OK, ERROR = 1, 2


@pytest.fixture(scope="session")
def cli():
    """Path of the binary: $CHAOSTRACING_CLI, or build/chaostracing freshly made
    (this overrides conftest's `cli` for this module)."""
    return os.environ.get("CHAOSTRACING_CLI") or str(build_cli())


def run(cli, *args, stdin=None, timeout=60, columns="100"):
    """Run the tool with its output fitted to `columns` ($COLUMNS; None: unset);
    returns the CompletedProcess with text output."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": columns}
    if columns is None:
        del env["COLUMNS"]
    return subprocess.run(
        [cli, *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=env,
    )


def out_lines(proc):
    return proc.stdout.decode("utf-8").splitlines()


def err_lines(proc):
    return proc.stderr.decode("utf-8").splitlines()


# ---------------------------------------------------------------- builders --


def any_value(v):
    a = common_pb2.AnyValue()
    if isinstance(v, bool):
        a.bool_value = v
    elif isinstance(v, int):
        a.int_value = v
    else:
        a.string_value = v
    return a


def span(trace, sid, name, start_ms, dur_ms, parent=None, kind=INTERNAL, code=0, msg="", attrs=None):
    """A Span with times relative to T0 in milliseconds."""
    start = T0 + round(start_ms * 1e6)
    s = trace_pb2.Span(
        trace_id=bytes.fromhex(trace),
        span_id=bytes.fromhex(sid),
        name=name,
        kind=kind,
        start_time_unix_nano=start,
        end_time_unix_nano=start + round(dur_ms * 1e6),
    )
    if parent:
        s.parent_span_id = bytes.fromhex(parent)
    s.status.code = code
    if msg:
        s.status.message = msg
    for k, v in (attrs or {}).items():
        s.attributes.append(common_pb2.KeyValue(key=k, value=any_value(v)))
    return s


def request(*resources):
    """An ExportTraceServiceRequest from (service name, [spans]) pairs."""
    req = ExportTraceServiceRequest()
    for service, spans in resources:
        rs = req.resource_spans.add()
        rs.resource.attributes.append(
            common_pb2.KeyValue(key="service.name", value=any_value(service))
        )
        ss = rs.scope_spans.add()
        ss.scope.name = "chaostracing"
        ss.spans.extend(spans)
    return req


def otlp_json_line(req, hex_ids=True):
    """One OTLP JSON line: protobuf's JSON with integer enums and hex ids."""
    doc = json.loads(MessageToJson(req, use_integers_for_enums=True, indent=None))
    if hex_ids:
        for rs in doc.get("resourceSpans", []):
            for ss in rs.get("scopeSpans", []):
                for sp in ss.get("spans", []):
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if key in sp:
                            sp[key] = base64.b64decode(sp[key]).hex()
    return json.dumps(doc, separators=(",", ":"))


TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACE2 = "0af7651916cd43dd8448eb211c80319c"


def experiment_lines():
    """Two exporter lines for a chaos experiment, children before parents as
    a batch exporter writes them, plus a span of another service whose parent
    lives elsewhere, and a second, earlier trace."""
    T = TRACE
    ctk = "chaostoolkit.type"
    st = "chaostoolkit.activity.status"
    http = "http.response.status_code"
    batch1 = [
        span(T, "00000000000000c1", "app-responds", 6, 10.2, "00000000000000b1", CLIENT,
             attrs={ctk: "activity", st: "succeeded", http: 200}),
        span(T, "00000000000000b1", "Application is healthy", 5, 211.0, "00000000000000a1",
             attrs={ctk: "hypothesis"}),
        span(T, "00000000000000c2", "kill-pod", 300, 5.55, "00000000000000b2", code=ERROR,
             msg="pod not found", attrs={ctk: "activity", st: "failed"}),
    ]
    batch2 = [
        span(T, "00000000000000c3", "wait-for-recovery", 310, 1000.0, "00000000000000b2",
             attrs={ctk: "activity", st: "succeeded"}),
        span(T, "00000000000000b2", "Method", 299, 1012.0, "00000000000000a1", attrs={ctk: "method"}),
        span(T, "00000000000000a1", "My experiment", 0, 2013.4, code=OK, attrs={ctk: "experiment"}),
    ]
    remote = [
        span(T, "00000000000000d1", "POST /orders", 7, 3.25, "00f067aa0ba902b7", SERVER,
             attrs={http: 201}),
    ]
    other = [span(TRACE2, "0000000000000e01", "nightly-check", -1000, 42.0)]
    return [
        otlp_json_line(request(("chaostoolkit", batch1))),
        otlp_json_line(request(("chaostoolkit", batch2), ("orders", remote))),
        otlp_json_line(request(("probe", other))),
    ]


EXPECTED = """\
trace 0af7651916cd43dd8448eb211c80319c  service=probe  1 span  start=2023-11-14T22:13:19.000Z
                        0                                  21.0 ms                           42.0 ms
nightly-check  42.0 ms  ████████████████████████████████████████████████████████████████████████████

trace 4bf92f3577b34da6a3ce929d0e0e4736  service=chaostoolkit,orders  7 spans  start=2023-11-14T22:13:20.000Z
                                      0             1006.7 ms     2013.4 ms
My experiment              2013.4 ms  █████████████████████████████████████  ok  [experiment]
├─ Application is healthy   211.0 ms  ████                                   [hypothesis]
│  └─ app-responds           10.2 ms  ▏                                      client  [activity succeeded http 200]
└─ Method                  1012.0 ms       ███████████████████               [method]
   ├─ kill-pod                5.6 ms       ▏                                 ERROR  [activity failed]  "pod not found"
   └─ wait-for-recovery    1000.0 ms        ██████████████████               [activity succeeded]
POST /orders                  3.3 ms  ▏                                      server  [http 201]  service=orders  (parent not found)
"""


def write_lines(tmp_path, name, lines):
    p = tmp_path / name
    p.write_bytes(b"".join((ln if isinstance(ln, bytes) else ln.encode()) + b"\n" for ln in lines))
    return p


# ------------------------------------------------------------------- tests --


def test_tree_header_error_and_remote_parent(cli, tmp_path):
    f = write_lines(tmp_path, "traces.jsonl", experiment_lines())
    proc = run(cli, "view", str(f))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == EXPECTED
    assert proc.stderr == b""


def test_no_attrs_and_ascii(cli, tmp_path):
    f = write_lines(tmp_path, "traces.jsonl", experiment_lines())
    proc = run(cli, "view", "--no-attrs", "--ascii", str(f))
    assert proc.returncode == 0, proc.stderr
    assert out_lines(proc)[4:] == [
        "trace 4bf92f3577b34da6a3ce929d0e0e4736  service=chaostoolkit,orders  7 spans  "
        "start=2023-11-14T22:13:20.000Z",
        "                                      0             1006.7 ms     2013.4 ms",
        "My experiment              2013.4 ms  #####################################  ok",
        "|- Application is healthy   211.0 ms  ####",
        "|  `- app-responds           10.2 ms  |                                      client",
        "`- Method                  1012.0 ms       ###################",
        "   |- kill-pod                5.6 ms       |                                 ERROR  "
        "\"pod not found\"",
        "   `- wait-for-recovery    1000.0 ms        ##################",
        "POST /orders                  3.3 ms  |                                      server  "
        "service=orders  (parent not found)",
    ]


def test_stdin_and_split_files_make_one_tree(cli, tmp_path):
    lines = experiment_lines()
    a = write_lines(tmp_path, "a.jsonl", lines[:1])
    proc = run(cli, "view", str(a), "-", stdin=("\n".join(lines[1:]) + "\n").encode())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == EXPECTED
    # No FILE and a pipe on stdin reads stdin too.
    proc = run(cli, "view", stdin=("\n".join(lines)).encode())
    assert proc.returncode == 0 and proc.stdout.decode() == EXPECTED


def test_base64_ids_from_generic_protobuf_json_are_accepted(cli, tmp_path):
    req = request(("svc", [
        span(TRACE, "00000000000000a1", "root", 0, 1.0),
        span(TRACE, "00000000000000a2", "child", 0.5, 0.25, "00000000000000a1", CLIENT),
    ]))
    f = write_lines(tmp_path, "b64.jsonl", [otlp_json_line(req, hex_ids=False)])
    proc = run(cli, "view", str(f))
    assert proc.returncode == 0, proc.stderr
    assert out_lines(proc)[2:] == [
        "root      1.0 ms  " + "█" * 74,
        "└─ child  0.3 ms  " + " " * 37 + "█" * 19 + " " * 20 + "client",
    ]


def test_garbage_lines_are_reported_and_skipped(cli, tmp_path):
    good = experiment_lines()
    f = write_lines(tmp_path, "mixed.jsonl", [
        good[0],
        "this is not json",
        '{"resourceSpans": [',
        "",
        good[1],
        "[1, 2, 3]",
        '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"00000000000000f1"}]}]}]}',
        good[2],
    ])
    proc = run(cli, "view", str(f))
    assert proc.returncode == 2
    assert proc.stdout.decode() == EXPECTED
    assert err_lines(proc) == [
        f"{f}:2: invalid JSON at column 1: invalid literal; line skipped",
        f"{f}:3: invalid JSON at column 20: unterminated array; line skipped",
        f"{f}:6: not an OTLP ExportTraceServiceRequest (not a JSON object); line skipped",
        f"{f}:7: span 1 skipped: traceId is not 32 hex digits (or is all zero)",
        "chaostracing: skipped 3 malformed lines and 1 malformed span",
    ]


@pytest.mark.parametrize(
    "text, column, message",
    [
        ('{"a":1,}', 8, "expected a string key"),
        ('{"a" 1}', 6, "expected ':'"),
        ("[1,2", 5, "unterminated array"),
        ("[1 2]", 4, "expected ',' or ']'"),
        ('{"a":01}', 6, "invalid number"),
        ('{"a":-}', 6, "invalid number"),
        ('{"a":1.}', 6, "invalid number"),
        ('{"a":NaN}', 6, "unexpected character"),
        ('{"a":tru}', 6, "invalid literal"),
        ('{"a":"x"} x', 11, "unexpected data after the JSON value"),
        ('{"a":"\\x"}', 7, "invalid escape"),
        ('{"a":"\\u12"}', 7, "invalid \\u escape"),
        ('{"a":"tab\there"}', 10, "control character in string"),
        ('{"a":"abc', 6, "unterminated string"),
        ('{"a":"abc\\', 6, "unterminated string"),
        (b'{"a":"\xc3\x28"}', 7, "invalid UTF-8 in string"),
        (b'{"a":"\xed\xa0\x80"}', 7, "invalid UTF-8 in string"),  # encoded surrogate
        (b'{"a":"\xc0\xaf"}', 7, "invalid UTF-8 in string"),  # overlong
        (b'{"a":1\x00}', 7, "expected ',' or '}'"),
        ("[" * 65 + "]" * 65, 65, "nesting deeper than 64 levels"),
        ("[" * 1_000_000, 65, "nesting deeper than 64 levels"),
    ],
)
def test_invalid_json_is_rejected_with_position(cli, tmp_path, text, column, message):
    raw = text if isinstance(text, bytes) else text.encode()
    f = tmp_path / "bad.jsonl"
    f.write_bytes(raw + b"\n")
    proc = run(cli, "view", str(f))
    assert proc.returncode == 2
    assert err_lines(proc)[0] == f"{f}:1: invalid JSON at column {column}: {message}; line skipped"


@pytest.mark.parametrize(
    "text",
    [
        '{"x":' + "[" * 63 + "]" * 63 + "}",  # 64 levels: the limit
        '{"a":"\\ud800","b":"\\udc00x","c":[1e5,-0.5E-3,0,-0,true,false,null,{}],"d":"\\/"}',
        '  {"resourceSpans":[]}  \r',
        "{}",
    ],
)
def test_valid_json_without_spans_is_not_an_error(cli, tmp_path, text):
    f = tmp_path / "ok.jsonl"
    f.write_text(text + "\n")
    proc = run(cli, "view", str(f))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b""
    assert err_lines(proc) == ["chaostracing: no spans found"]


def test_escapes_are_decoded_and_terminal_controls_neutralised(cli, tmp_path):
    name = "caf\u00e9 \U0001f600 \x1b[31mred\n\u202eevil"
    line = otlp_json_line(request(("svc", [span(TRACE, "00000000000000a1", name, 0, 1.0)])))
    assert "\\ud83d\\ude00" in json.dumps(name)  # the file uses a surrogate pair escape
    line = line.replace(json.dumps(name, ensure_ascii=False)[1:-1], json.dumps(name)[1:-1])
    assert "\\ud83d\\ude00" in line and "\\u001b" in line
    f = write_lines(tmp_path, "esc.jsonl", [line])
    proc = run(cli, "view", str(f))
    assert proc.returncode == 0, proc.stderr
    # 😀 takes two columns: the row fills the 100 columns with 57 cells.
    assert out_lines(proc)[2] == "caf\u00e9 \U0001f600 \\x1b[31mred\\x0a\\u202eevil  1.0 ms  " + "█" * 57
    assert b"\x1b" not in proc.stdout


def test_unreadable_files_exit_1_but_the_rest_is_shown(cli, tmp_path):
    f = write_lines(tmp_path, "traces.jsonl", experiment_lines())
    missing = tmp_path / "missing.jsonl"
    proc = run(cli, "view", str(missing), str(f), str(tmp_path))
    assert proc.returncode == 1
    assert proc.stdout.decode() == EXPECTED
    assert err_lines(proc) == [
        f"chaostracing: cannot read {missing}: No such file or directory",
        f"chaostracing: cannot read {tmp_path}: Is a directory",
    ]
    if os.geteuid() != 0:  # root can read anything
        locked = write_lines(tmp_path, "locked.jsonl", experiment_lines())
        locked.chmod(0)
        assert run(cli, "view", str(locked)).returncode == 1


def test_usage_errors(cli):
    proc = run(cli, "view", "--bogus", "x")
    assert proc.returncode == 64
    assert err_lines(proc)[0] == "chaostracing view: unknown option '--bogus'"
    proc = run(cli, "frobnicate")
    assert proc.returncode == 64
    assert err_lines(proc)[0] == "chaostracing: unknown command 'frobnicate'"
    assert run(cli).returncode == 64


def test_help(cli):
    proc = run(cli, "--help")
    assert proc.returncode == 0
    text = proc.stdout.decode()
    assert text.startswith("usage: chaostracing COMMAND [ARGS...]\n")
    for cmd in ("view", "version", "help"):
        assert re.search(rf"^  {cmd}\s+\S", text, re.M), cmd
    proc = run(cli, "view", "--help")
    assert proc.returncode == 0
    assert proc.stdout.decode().startswith("usage: chaostracing view [-v] [--trace ID] [--width N]")


def test_version_reports_ctr_version_and_libcurl(cli):
    header = (ROOT / "include" / "chaostracing" / "common.h").read_text()
    version = re.search(r'#define CTR_VERSION "([^"]+)"', header).group(1)
    lib = ctypes.CDLL(ctypes.util.find_library("curl") or "libcurl.so.4")
    lib.curl_version.restype = ctypes.c_char_p
    curl = lib.curl_version().decode().split()[0].split("/")[1]  # "libcurl/7.88.1 ..."
    proc = run(cli, "version")
    assert proc.returncode == 0
    lines = out_lines(proc)
    assert lines[0] == f"chaostracing {version}"
    assert lines[1].split()[:2] == ["libcurl", curl]
    assert out_lines(run(cli, "--version")) == lines


def test_twenty_thousand_spans_wide_and_deep(cli, tmp_path):
    """10,000 siblings under one root and a 10,000-deep chain, shuffled over
    40 lines: all printed, in start order, quickly and without recursion."""
    wide, deep = "11111111111111111111111111111111", "22222222222222222222222222222222"
    spans = [span(wide, "1000000000000000", "root", 0, 20000.0)]
    spans += [
        span(wide, f"{0x2000000000000000 + i:016x}", f"act-{i:05d}", 1 + i, 0.5,
             "1000000000000000", CLIENT, attrs={"chaostoolkit.type": "activity"})
        for i in range(9999)
    ]
    for d in range(10000):
        parent = f"{0x3000000000000000 + d - 1:016x}" if d else None
        spans.append(span(deep, f"{0x3000000000000000 + d:016x}", f"level-{d}", 30000 + d, 1.0, parent))
    assert len(spans) == 20000
    random.Random(7).shuffle(spans)
    lines = [otlp_json_line(request(("chaostoolkit", spans[i:i + 500])))
             for i in range(0, len(spans), 500)]
    f = write_lines(tmp_path, "big.jsonl", lines)

    t = time.monotonic()
    proc = run(cli, "view", str(f))
    elapsed = time.monotonic() - t
    assert proc.returncode == 0, proc.stderr[:2000]
    assert elapsed < 5.0, f"took {elapsed:.2f} s"
    out = out_lines(proc)
    assert len(out) == 20000 + 2 + 2 + 1  # rows, two headers, two time axes, one blank line
    assert out[0].startswith(f"trace {wide}  service=chaostoolkit  10000 spans  ")
    assert out[1].split() == ["0", "10000.0", "ms", "20000.0", "ms"]
    assert out[2] == "root          20000.0 ms  " + "\u2588" * 54
    assert out[3] == "├─ act-00000      0.5 ms  \u258f" + " " * 55 + "client  [activity]"
    assert [ln[3:12] for ln in out[3:10002]] == [f"act-{i:05d}" for i in range(9999)]
    # Each activity's mark moves right with its start time (1 ms apart).
    marks = [ln.index("\u258f") for ln in out[3:10002]]
    assert marks == sorted(marks) and marks[0] == 26 and marks[-1] == 26 + 26
    assert out[10001] == "└─ act-09998      0.5 ms  " + " " * 26 + "\u258f" + " " * 29 + "client  [activity]"
    assert out[10002] == ""
    assert out[10003].startswith(f"trace {deep}  service=chaostoolkit  10000 spans  ")
    chain = out[10005:]
    assert chain[0].startswith("level-0 ")
    assert chain[1].startswith("└─ level-1 ")
    assert chain[32].startswith("   " * 31 + "└─ level-32 ")
    assert chain[33].startswith("   " * 31 + "└─ [depth 33] level-33 ")
    assert chain[9999].startswith("   " * 31 + "└─ [depth 9999] level-9999 ")
    assert max(len(ln) for ln in chain) < 200


def test_huge_lines_and_parent_cycles(cli, tmp_path):
    T = TRACE
    cycle = request(("svc", [
        span(T, "00000000000000a1", "a", 0, 1.0, "00000000000000a2"),
        span(T, "00000000000000a2", "b", 1, 1.0, "00000000000000a1"),
        span(T, "00000000000000a3", "below-b", 2, 1.0, "00000000000000a2"),
        span(T, "00000000000000a4", "self", 3, 1.0, "00000000000000a4"),
    ]))
    big_name = "x" * 20_000_000
    big = request(("svc", [span(TRACE2, "00000000000000b1", big_name, 0, 1.0)]))
    many = '{"resourceSpans":[],"junk":[' + "1," * 3_000_000 + "1]}"
    f = write_lines(tmp_path, "huge.jsonl", [otlp_json_line(cycle), otlp_json_line(big), many])
    proc = run(cli, "view", str(f))
    assert proc.returncode == 0, proc.stderr
    out = out_lines(proc)
    assert out[2] == "x" * 39 + "\u2026" + "  1.0 ms  " + "\u2588" * 50  # cut to the name column
    # a and b are each other's parent, self is its own: every span is still
    # shown once, the cycle from its earliest span.
    assert out[4:] == [
        f"trace {T}  service=svc  4 spans  start=2023-11-14T22:13:20.000Z",
        "                       0                          2.0 ms                      4.0 ms",
        "a              1.0 ms  " + "\u2588" * 15 + " " * 46 + "  (parent cycle)",
        "└─ b           1.0 ms  " + " " * 15 + "\u2588" * 16,
        "   └─ below-b  1.0 ms  " + " " * 31 + "\u2588" * 15,
        "self           1.0 ms  " + " " * 46 + "\u2588" * 15 + "  (parent cycle)",
    ]


def reference_bad_lines(lines):
    """How many lines the tool must skip as malformed, by Python's own JSON
    reader plus the rules the tool adds (UTF-8, depth 64, no NaN)."""

    def depth(x):
        if isinstance(x, dict):
            return 1 + max((depth(v) for v in x.values()), default=0)
        if isinstance(x, list):
            return 1 + max((depth(v) for v in x), default=0)
        return 0

    def reject(c):
        raise ValueError(c)

    bad = 0
    for raw in lines:
        if raw.strip(b" \t\r") == b"":
            continue
        try:
            doc = json.loads(raw.decode("utf-8"), parse_constant=reject)
            if depth(doc) > 64:
                raise ValueError("deep")
        except (ValueError, RecursionError):
            bad += 1
            continue
        if not isinstance(doc, dict) or (
            "resourceSpans" in doc and not isinstance(doc["resourceSpans"], list)
        ):
            bad += 1
    return bad


def test_fuzzed_input_never_crashes_and_counts_bad_lines(cli, tmp_path):
    rng = random.Random(1234)
    seeds = [ln.encode() for ln in experiment_lines()]
    lines = []
    for i in range(3000):
        kind = i % 3
        if kind == 0:  # random bytes
            raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        elif kind == 1:  # a valid line with a few bytes changed
            raw = bytearray(rng.choice(seeds))
            for _ in range(rng.randrange(1, 4)):
                raw[rng.randrange(len(raw))] = rng.choice(b'{}[]",:\\0123456789eE-+.tfnu \x00\xff\xc3')
            raw = bytes(raw)
        else:  # a valid line cut short
            s = rng.choice(seeds)
            raw = s[: rng.randrange(len(s))]
        lines.extend(raw.split(b"\n"))
    f = tmp_path / "fuzz.jsonl"
    f.write_bytes(b"\n".join(lines) + b"\n")
    proc = run(cli, "view", "--no-attrs", str(f), timeout=120)
    assert proc.returncode in (0, 2), proc.returncode  # a signal would be negative
    expected = reference_bad_lines(lines)
    assert expected > 2000
    summary = err_lines(proc)[-1]
    m = re.fullmatch(r"chaostracing: skipped (\d+) malformed lines and (\d+) malformed spans?", summary)
    assert m, summary
    assert int(m.group(1)) == expected
    # Only the first 20 problems are listed; the rest are counted.
    listed = [ln for ln in err_lines(proc) if ln.startswith(f"{f}:")]
    assert len(listed) == 20


# ------------------------------------------------------- waterfall options --


def axis_width(line):
    """Columns from the start of a time-axis line to the end of its last label."""
    return len(line.rstrip())


def test_width_comes_from_option_columns_or_default(cli, tmp_path):
    f = write_lines(tmp_path, "traces.jsonl", experiment_lines())
    # The second trace's rows: the name column ends at 36, the bars fill
    # the width the notes leave (a quarter of the width at most).
    assert axis_width(out_lines(run(cli, "view", str(f)))[5]) == 100 - 25  # COLUMNS=100
    assert axis_width(out_lines(run(cli, "view", str(f), columns="160"))[5]) == 160 - 40
    assert axis_width(out_lines(run(cli, "view", "--width", "80", str(f)))[5]) == 80 - 20
    assert axis_width(out_lines(run(cli, "view", "--width=80", str(f), columns="160"))[5]) == 60
    # Not a terminal and no COLUMNS: 120 columns.
    assert axis_width(out_lines(run(cli, "view", str(f), columns=None))[5]) == 120 - 30
    for bad in ("0", "-3", "wide", "100000"):
        proc = run(cli, "view", "--width", bad, str(f))
        assert proc.returncode == 64
        assert err_lines(proc)[0] == (
            f"chaostracing view: --width wants a number of columns, not '{bad}'"
        )
    proc = run(cli, "view", str(f), "--width")
    assert proc.returncode == 64
    assert err_lines(proc)[0] == "chaostracing view: option '--width' needs a value"


def test_color_is_forced_or_refused(cli, tmp_path):
    f = write_lines(tmp_path, "traces.jsonl", experiment_lines())
    plain = run(cli, "view", str(f)).stdout
    assert b"\x1b" not in plain  # piped, NO_COLOR set
    colored = run(cli, "view", "--color", str(f)).stdout
    assert b"\x1b[1;31mERROR\x1b[0m" in colored  # kill-pod
    assert b"\x1b[32mok\x1b[0m" in colored  # the experiment
    assert b"\x1b[1;31m\xe2\x96\x8f\x1b[0m" in colored  # kill-pod's red mark
    assert run(cli, "view", "--color", "--no-color", str(f)).stdout == plain
    assert run(cli, "view", "--color=always", "--color=never", str(f)).stdout == plain


def test_trace_picks_one_trace_by_prefix(cli, tmp_path):
    f = write_lines(tmp_path, "traces.jsonl", experiment_lines())
    proc = run(cli, "view", "--trace", "4BF9", str(f))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == EXPECTED.split("\n\n", 1)[1]
    proc = run(cli, "view", f"--trace={TRACE2}", str(f))
    assert proc.returncode == 0
    assert proc.stdout.decode() == EXPECTED.split("\n\n", 1)[0] + "\n"
    # Unknown, ambiguous and malformed prefixes: a message naming the
    # traces, exit 1, nothing printed.
    proc = run(cli, "view", "--trace", "ff", str(f))
    assert (proc.returncode, proc.stdout) == (1, b"")
    assert err_lines(proc) == [
        f"chaostracing view: no trace id starts with 'ff' (2 traces read: {TRACE2}, {TRACE})"
    ]
    both = write_lines(tmp_path, "both.jsonl", experiment_lines() + [otlp_json_line(request(
        ("svc", [span("4bf90000000000000000000000000001", "00000000000000a1", "x", 5, 1.0)])))])
    proc = run(cli, "view", "--trace", "4bf9", str(both))
    assert (proc.returncode, proc.stdout) == (1, b"")
    assert err_lines(proc) == [
        "chaostracing view: '4bf9' matches 2 traces (give more digits): "
        f"{TRACE}, 4bf90000000000000000000000000001"
    ]
    proc = run(cli, "view", "--trace", "xyz", str(f))
    assert proc.returncode == 1
    assert err_lines(proc) == [
        "chaostracing view: --trace wants the hex digits a trace id starts with, not 'xyz'"
    ]


def test_pretty_printed_request_is_read_whole(cli, tmp_path):
    """A request written over many lines (as `json.dumps(indent=2)` does) is
    one JSON document, not a file of broken lines."""
    doc = json.dumps(json.loads(experiment_lines()[0]), indent=2)
    f = tmp_path / "pretty.json"
    f.write_text(doc + "\n")
    proc = run(cli, "view", str(f))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    names = [ln for ln in out_lines(proc) if "app-responds" in ln or "kill-pod" in ln]
    assert len(names) == 2


def test_other_json_documents_are_not_trace_files(cli, tmp_path):
    experiment = tmp_path / "experiment.json"
    experiment.write_text(json.dumps({"title": "t", "method": [{"name": "a"}]}, indent=2))
    proc = run(cli, "view", str(experiment))
    assert (proc.returncode, proc.stdout) == (1, b"")
    assert err_lines(proc) == [
        f"chaostracing: {experiment} is not an OTLP JSON trace file (it looks like a Chaos "
        "Toolkit experiment): all of its 8 lines were skipped. Give the file the control's "
        "file exporter writes (tracing_opentelemetry_file_path, one ExportTraceServiceRequest "
        "per line)."
    ]
    other = tmp_path / "other.json"
    other.write_text('[\n  1,\n  2\n]\n')
    proc = run(cli, "view", str(other))
    assert proc.returncode == 1
    assert "(it is one JSON document, not JSON lines)" in err_lines(proc)[0]
    # The other files given are still shown.
    good = write_lines(tmp_path, "traces.jsonl", experiment_lines())
    proc = run(cli, "view", str(other), str(good))
    assert proc.returncode == 1
    assert proc.stdout.decode() == EXPECTED
