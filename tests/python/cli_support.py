"""Building and running the project's programs for the end-to-end tests.

- `build_cli()`: `make -C <root> cli tools` once per session (build/chaostracing
  and build/tools/prop_tool); a failed build fails the calling test, never
  skips it.
- `clean_env()`: the environment every subprocess gets: no OTEL_*, no
  TRACEPARENT/TRACESTATE/BAGGAGE, no proxy for loopback.
- `run_cli()`: run build/chaostracing with that environment and a timeout.
- `run_check()`: run `chaostracing check` and parse the one line it prints,
  "trace_id=<hex> exported=N failed=N dropped=N destination=<where>".

The session fixtures `cli` and `version` (conftest.py) are built on these.
"""

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, Optional, Union

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "build" / "chaostracing"
PROP_TOOL = ROOT / "build" / "tools" / "prop_tool"
EXPERIMENTS = Path(__file__).resolve().parent / "experiments"
LOOPBACK = "127.0.0.1,localhost,::1"

CHECK_LINE = re.compile(
    r"^trace_id=([0-9a-f]{32}) exported=(\d+) failed=(\d+) dropped=(\d+) destination=(\S+)$"
)

_DROPPED_VARS = {"TRACEPARENT", "TRACESTATE", "BAGGAGE", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"}


# --------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------
_build: Dict[str, str] = {}


def build_cli() -> Path:
    """`make -C <root> cli tools` once per session; fail the test if it fails.

    Returns the path of build/chaostracing (build/tools/prop_tool is PROP_TOOL).
    """
    if "error" not in _build:
        proc = subprocess.run(
            ["make", "-C", str(ROOT), "cli", "tools"],
            capture_output=True,
            text=True,
            timeout=900,
        )
        _build["error"] = (
            "" if proc.returncode == 0 else (proc.stdout[-4000:] + proc.stderr[-4000:])
        )
    if _build["error"]:
        pytest.fail("make cli tools failed:\n" + _build["error"], pytrace=False)
    assert CLI.is_file(), "make cli did not produce build/chaostracing"
    assert PROP_TOOL.is_file(), "make tools did not produce build/tools/prop_tool"
    return CLI


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------
def clean_env(extra: Optional[Dict[str, Any]] = None) -> Dict[str, str]:
    """A copy of os.environ for a subprocess of the tests.

    Without OTEL_*, TRACEPARENT/TRACESTATE/BAGGAGE and proxy variables;
    loopback excluded from any proxy; the experiments' helper module directory
    first on PYTHONPATH (for `chaos run`). Then `extra` is applied: a value of
    None removes the variable.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith("OTEL_") and k.upper() not in _DROPPED_VARS
    }
    pp = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(EXPERIMENTS) + (os.pathsep + pp if pp else "")
    env["NO_PROXY"] = env["no_proxy"] = LOOPBACK
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    for k, v in (extra or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def run_cli(
    cli: Union[str, Path], *args: str, env: Optional[Dict[str, Any]] = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    """Run `cli *args` with clean_env(env); text output, bounded by `timeout` s."""
    return subprocess.run(
        [str(cli), *args], capture_output=True, text=True, timeout=timeout, env=clean_env(env)
    )


class CheckRun:
    """One `chaostracing check`: the process, its wall-clock bounds and the
    parsed result line (exactly one stdout line, matching CHECK_LINE)."""

    def __init__(self, proc: subprocess.CompletedProcess, t0_ns: int, t1_ns: int, wall: float):
        self.proc = proc
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.t0_us = t0_ns // 1000
        self.t1_us = t1_ns // 1000
        self.wall = wall
        self.stderr_lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        lines = proc.stdout.splitlines()
        assert len(lines) == 1, self.describe()
        m = CHECK_LINE.match(lines[0])
        assert m, self.describe()
        self.fields: Dict[str, str] = dict(p.partition("=")[::2] for p in lines[0].split())
        self.trace_id = m.group(1)
        self.exported, self.failed, self.dropped = (int(m.group(i)) for i in (2, 3, 4))
        self.destination = m.group(5)

    def describe(self) -> str:
        """Text to attach to assertion messages."""
        return f"exit={self.returncode}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


def run_check(
    cli: Union[str, Path], *args: str, env: Optional[Dict[str, Any]] = None, timeout: float = 60
) -> CheckRun:
    """Run `cli check *args` (see run_cli) and parse its result line."""
    t0 = time.time_ns()
    m0 = time.monotonic()
    proc = run_cli(cli, "check", *args, env=env, timeout=timeout)
    return CheckRun(proc, t0, time.time_ns(), time.monotonic() - m0)
