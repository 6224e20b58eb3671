"""The `chaostracing` command that pip installs (the console script into the
extension module chaostracing._cli) against the standalone binary of
`make cli`: same C code, so the same output, exit statuses and signals; and
one version everywhere (CTR_VERSION, the package metadata, both modules).
"""

import importlib.metadata
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cli_support import ROOT, clean_env

VENV_BIN = Path(sys.executable).parent
PIP_CLI = VENV_BIN / "chaostracing"


def run(cli, *args, stdin=None, timeout=60):
    return subprocess.run(
        [str(cli), *args], input=stdin, capture_output=True, timeout=timeout, env=clean_env()
    )


def header_version() -> str:
    text = (ROOT / "include" / "chaostracing" / "common.h").read_text()
    return re.search(r'^#define CTR_VERSION "([^"]+)"', text, re.M).group(1)


@pytest.fixture(scope="module")
def trace_file(cli, tmp_path_factory):
    """A trace of 40 spans written by the pip-installed command's `check`."""
    path = tmp_path_factory.mktemp("entry") / "check.jsonl"
    proc = run(PIP_CLI, "check", "-e", "file", "-u", str(path), "-n", "40", timeout=60)
    assert proc.returncode == 0, proc
    assert b"exported=40 failed=0 dropped=0" in proc.stdout, proc
    return path


def test_pip_puts_the_command_on_the_venv_path():
    assert PIP_CLI.is_file() and os.access(PIP_CLI, os.X_OK)
    first = PIP_CLI.read_text().splitlines()[0]
    assert first == f"#!{sys.executable}", first
    # The console script imports the C extension, not a Python copy of the tool.
    assert "from chaostracing._cli import main" in PIP_CLI.read_text()
    import chaostracing._cli as mod

    assert mod.__file__.endswith(".so"), mod.__file__


def test_one_version_everywhere(cli):
    import chaostracing
    import chaostracing._cli
    import chaostracing.control

    version = header_version()
    assert importlib.metadata.version("chaostracing") == version
    assert chaostracing.__version__ == version
    assert chaostracing._cli.__version__ == version
    assert chaostracing.control.__version__ == version
    pip_out = run(PIP_CLI, "--version")
    assert pip_out.returncode == 0
    assert pip_out.stdout.decode().splitlines()[0] == f"chaostracing {version}"
    assert pip_out.stdout == run(cli, "--version").stdout


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        ["help", "view"],
        ["check", "--help"],
        ["no-such-command"],
        ["view", "/nonexistent/traces.jsonl"],
        ["check", "-e", "no-such-exporter"],
        ["check", "-n", "many"],
    ],
    ids=lambda a: " ".join(a) or "no-args",
)
def test_same_output_and_status_as_the_binary(cli, args):
    pip_run, bin_run = run(PIP_CLI, *args), run(cli, *args)
    assert (pip_run.returncode, pip_run.stdout, pip_run.stderr) == (
        bin_run.returncode,
        bin_run.stdout,
        bin_run.stderr,
    )


def test_same_span_tree_from_a_file_and_stdin(cli, trace_file):
    data = trace_file.read_bytes()
    by_file = run(PIP_CLI, "view", str(trace_file))
    assert by_file.returncode == 0, by_file
    assert by_file.stdout.count(b"\n") > 40
    assert by_file.stdout == run(cli, "view", str(trace_file)).stdout
    assert run(PIP_CLI, "view", "-", stdin=data).stdout == run(cli, "view", "-", stdin=data).stdout
    # Malformed lines: both skip and report them the same way (exit 2).
    bad = data + b"{not json\n"
    pip_bad, bin_bad = run(PIP_CLI, "view", "-", stdin=bad), run(cli, "view", "-", stdin=bad)
    assert pip_bad.returncode == bin_bad.returncode == 2
    assert (pip_bad.stdout, pip_bad.stderr) == (bin_bad.stdout, bin_bad.stderr)


def test_a_closed_pipe_ends_it_quietly_like_the_binary(cli, trace_file):
    """`chaostracing view big | head -n 1`: killed by SIGPIPE, no traceback or
    I/O error message, as the standalone binary (Python ignores SIGPIPE, so
    the entry point must restore the default action)."""
    big = trace_file.parent / "big.jsonl"  # one trace whose tree is far beyond a pipe's 64 KiB
    made = run(cli, "check", "-e", "file", "-u", str(big), "-n", "10000")
    assert made.returncode == 0, made
    results = []
    for tool in (PIP_CLI, cli):
        proc = subprocess.run(
            ["bash", "-c", 'set -o pipefail; "$0" view "$1" | head -n 1', str(tool), str(big)],
            capture_output=True,
            timeout=60,
            env=clean_env(),
        )
        results.append((proc.returncode, proc.stdout.count(b"\n"), proc.stderr))
    assert results[0] == results[1] == (128 + signal.SIGPIPE, 1, b"")


def test_main_in_process(capfd):
    import chaostracing._cli as mod

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGPIPE)
    print("python output first", flush=False)
    assert mod.main(["chaostracing", "--version"]) == 0
    out = capfd.readouterr().out
    assert out.startswith(f"python output first\nchaostracing {header_version()}\n"), out
    assert mod.main([b"chaostracing", b"no-such-command"]) == 64
    assert "unknown command 'no-such-command'" in capfd.readouterr().err
    # The handlers Python had are back.
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGPIPE)) == before
    with pytest.raises(TypeError):
        mod.main(["chaostracing", 3])
    with pytest.raises(TypeError):
        mod.main(["chaostracing"], 1)
    with pytest.raises(ValueError):
        mod.main([])
    with pytest.raises(ValueError):
        mod.main(["chaos\0tracing"])


def test_the_whole_cli_suite_passes_against_the_entry_point(cli):
    """test_cli.py again, with $CHAOSTRACING_CLI pointing at the console script."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_cli.py"],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "CHAOSTRACING_CLI": str(PIP_CLI)},
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert re.search(r"\d+ passed", proc.stdout), proc.stdout[-2000:]
