"""The control and `chaostracing check` accept the same exporter names and
endpoints and pick the same destinations (issue 7).

Contract both sides are held to:
- accepted: the control's cleanup logs one INFO line
  "chaostracing: N spans exported to DEST (...)" (conftest.summary_line) and
  `check` prints "... destination=DEST" (cli_support.CHECK_LINE): the same DEST;
- rejected: `check` exits 64 with "chaostracing check: MSG" on stderr, and the
  control logs a WARNING containing the same MSG and records nothing (no
  summary line).
Every endpoint is a loopback port nobody listens on (or a default one), the
CLI is bounded by -t 300 and the control's cleanup by its ~2 s deadline.
"""

import re
from dataclasses import dataclass
from typing import Dict, List, Optional

import pytest

from cli_support import CHECK_LINE, run_cli
from conftest import (
    SUMMARY_RE,
    chaostracing_records,
    load_experiment,
    refused_port,
    with_tracing,
)

# name -> the canonical exporter it means
NAMES = {
    "otlp-http": "otlp-http",
    "oltp-http": "otlp-http",
    "otlp": "otlp-http",
    "otlp-json": "otlp-json",
    "otlp-http-json": "otlp-json",
    "otlp-grpc": "otlp-grpc",
    "oltp-grpc": "otlp-grpc",
    "jaeger-thrift": "jaeger-thrift",
    "jaeger-grpc": "jaeger-grpc",
    "zipkin": "zipkin",
    "file": "file",
    "console": "console",
    "none": "none",
}
CANONICAL = sorted(set(NAMES.values()))

# Endpoint forms; {port} is a refused loopback port, {dir} the run's directory.
FORMS = {
    "none": None,
    "http": "http://127.0.0.1:{port}",
    "https": "https://127.0.0.1:{port}",
    "hostport": "127.0.0.1:{port}",
    "ipv6": "[::1]:{port}",
    "port-99999": "http://127.0.0.1:99999",
    "port-0": "http://127.0.0.1:0",
    "ftp": "ftp://x",
    "empty": "",
    "path": "{dir}/traces.jsonl",
    "relative": "traces.jsonl",
    "hostport-99999": "127.0.0.1:99999",
    "hostport-0": "127.0.0.1:0",
}
BAD = {"port-99999", "port-0", "ftp", "empty", "hostport-99999", "hostport-0"}

# canonical exporter -> (forms that must be accepted, forms that must be
# rejected, forms where only agreement is asserted)
URL_EXPORTER = ({"none", "http", "https"}, {"port-99999", "port-0", "ftp", "empty"}, {"hostport"})
MATRIX = {
    "otlp-http": URL_EXPORTER,
    "otlp-json": URL_EXPORTER,
    "zipkin": URL_EXPORTER,
    "otlp-grpc": (
        {"none", "http", "https", "hostport", "ipv6"},
        {"port-99999", "port-0", "ftp", "empty"},
        set(),
    ),
    "jaeger-grpc": (
        {"none", "hostport", "ipv6"},
        {"hostport-99999", "hostport-0", "ftp", "empty"},
        {"http"},
    ),
    "jaeger-thrift": ({"none", "hostport", "ipv6"}, {"hostport-99999", "hostport-0", "empty"}, set()),
    "file": ({"none", "path", "relative"}, {"empty"}, set()),
    "console": ({"none"}, set(), set()),
    "none": ({"none"}, set(), set()),
}


def cases():
    out = []
    for name, canon in NAMES.items():
        accept, reject, either = MATRIX[canon]
        forms = sorted(accept | reject | either)
        if name != canon:  # an alias: the name is what is tested
            forms = [f for f in forms if f in ("none", "http")]
        for form in forms:
            expect = "accept" if form in accept else "reject" if form in reject else "agree"
            out.append(pytest.param(name, form, expect, id=f"{name}/{form}"))
    return out


@dataclass
class Outcome:
    destination: Optional[str]  # accepted: where spans go
    message: Optional[str]  # rejected: check's MSG, or the control's warnings
    detail: str


def control_configuration(name: str, endpoint: Optional[str]) -> Dict[str, object]:
    conf: Dict[str, object] = {
        "tracing_provider": "opentelemetry",
        "tracing_opentelemetry_exporter": name,
    }
    if endpoint is None:
        return conf
    canon = NAMES.get(name)
    if canon == "jaeger-thrift" and endpoint == "":
        conf["tracing_host"] = ""
    elif canon == "jaeger-thrift":  # host:port or [v6]:port
        host, _, port = endpoint.rpartition(":")
        conf["tracing_host"] = host.strip("[]")
        conf["tracing_port"] = int(port)
    elif canon == "file":
        conf["tracing_opentelemetry_file_path"] = endpoint
    else:
        conf["tracing_opentelemetry_collector_endpoint"] = endpoint
    return conf


def control_outcome(run_chaos, name: str, endpoint: Optional[str], cwd) -> Outcome:
    exp = with_tracing(load_experiment("minimal"), control_configuration(name, endpoint))
    run = run_chaos(exp, cwd=cwd)
    records = chaostracing_records(run.log)
    summaries = [SUMMARY_RE.match(r.message) for r in records if r.level == "INFO"]
    summaries = [m for m in summaries if m]
    warnings = [r.message for r in records if r.level == "WARNING"]
    detail = "control log:\n" + "\n".join(f"{r.level} {r.message}" for r in records)
    assert len(summaries) <= 1, detail
    if summaries:
        return Outcome(summaries[0].group(2), None, detail)
    return Outcome(None, "\n".join(warnings), detail)


def check_outcome(cli, name: str, endpoint: Optional[str], cwd) -> Outcome:
    args = ["check", "-e", name, "-t", "300"]
    if endpoint is not None:
        args += ["-u", endpoint]
    p = run_cli(cli, *args, timeout=30, cwd=cwd)
    detail = f"check {args[1:]}: exit={p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    if p.returncode == 64:
        msgs = re.findall(r"^chaostracing check: (.+)$", p.stderr, re.M)
        assert len(msgs) == 1 and msgs[0].strip(), detail
        assert not p.stdout.strip(), detail
        return Outcome(None, msgs[0].strip(), detail)
    assert p.returncode in (0, 1), detail
    lines = p.stdout.splitlines()
    assert len(lines) == 1 and CHECK_LINE.match(lines[0]), detail
    return Outcome(CHECK_LINE.match(lines[0]).group(5), None, detail)


def compare(run_chaos, cli, tmp_path, name: str, endpoint: Optional[str]):
    cwd = tmp_path / "run"
    cwd.mkdir()
    ctl = control_outcome(run_chaos, name, endpoint, cwd)
    chk = check_outcome(cli, name, endpoint, cwd)
    return ctl, chk, f"{ctl.detail}\n{chk.detail}"


@pytest.mark.parametrize("name, form, expect", cases())
def test_control_and_check_agree(run_chaos, cli, tmp_path, name, form, expect):
    endpoint = FORMS[form]
    if endpoint is not None:
        endpoint = endpoint.format(port=refused_port(), dir=tmp_path / "run")
    ctl, chk, detail = compare(run_chaos, cli, tmp_path, name, endpoint)

    if chk.destination is not None:
        assert ctl.destination == chk.destination, "accepted by check, not so by the control\n" + (
            detail
        )
    else:
        assert ctl.destination is None, "rejected by check, accepted by the control\n" + detail
        assert chk.message in ctl.message, (
            "the control's warning does not carry check's message\n" + detail
        )
    if expect == "accept":
        assert chk.destination is not None, detail
    elif expect == "reject":
        assert chk.destination is None, f"{endpoint!r} must be rejected\n{detail}"


def test_unknown_exporter_names_the_valid_ones_and_the_closest(run_chaos, cli, tmp_path):
    ctl, chk, detail = compare(run_chaos, cli, tmp_path, "otlp-grcp", None)
    assert chk.destination is None and ctl.destination is None, detail
    assert 'did you mean "otlp-grpc"?' in chk.message, detail
    missing = [n for n in CANONICAL if n not in chk.message]
    assert not missing, f"the message does not name {missing}\n{detail}"
    assert chk.message in ctl.message, detail


# e. The bugs that made the table fail, spelled out.
def test_check_otlp_grpc_defaults_to_the_grpc_port(cli, tmp_path):
    out = check_outcome(cli, "otlp-grpc", None, tmp_path)
    assert out.destination == "http://localhost:4317", out.detail


@pytest.mark.parametrize(
    "name, endpoint",
    [("jaeger-thrift", "localhost:99999"), ("otlp-http", "http://localhost:99999")],
)
def test_check_rejects_an_out_of_range_port(cli, tmp_path, name, endpoint):
    out = check_outcome(cli, name, endpoint, tmp_path)
    assert out.destination is None, f"accepted as {out.destination}\n{out.detail}"
    assert "99999" in out.message, out.detail


def test_check_accepts_the_alias_the_control_accepts(cli, tmp_path):
    url = f"http://127.0.0.1:{refused_port()}"
    out = check_outcome(cli, "oltp-http", url, tmp_path)
    assert out.destination == url + "/v1/traces", out.detail
