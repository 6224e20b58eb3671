"""Python actions and probes called by the test experiments.

Chaos Toolkit imports this module by name, so the tests put this directory on
the PYTHONPATH of the `chaos run` subprocess.
"""

import os
import time


def answer(value: int = 42) -> dict:
    """Return a small JSON-able mapping (checked in the activity output)."""
    return {"answer": value}


def always_true() -> bool:
    """A probe that always holds."""
    return True


def sleep_then_return(seconds: float = 0.3) -> str:
    """Sleep (used as a background action overlapping the next activity)."""
    time.sleep(float(seconds))
    return "slept"


def fail_with_exception(message: str = "ctk-boom") -> None:
    """An action that fails: chaoslib turns the exception into ActivityFailed."""
    raise ValueError(message)


def touch(path: str) -> str:
    """Create the marker file that makes `marker_absent` deviate."""
    with open(path, "w") as f:
        f.write("x")
    return path


def marker_absent(path: str) -> bool:
    """True while the marker file does not exist."""
    return not os.path.exists(path)


def rollback_ok() -> str:
    """A rollback action."""
    return "rolled back"


def big_output(size: int = 10000) -> str:
    """A large output: the control truncates its JSON text to 4096 chars."""
    return "x" * int(size)
