"""Python actions and probes called by the test experiments.

Chaos Toolkit imports this module by name, so the tests put this directory on
the PYTHONPATH of the `chaos run` subprocess.
"""

import decimal
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


class SlowStr(decimal.Decimal):
    """A number whose str() sleeps (releasing the GIL) before answering.

    str() is what the control's JSON encoding (default=str) and chaostoolkit's
    journal encoder call for a Decimal, so serialising an output holding these
    runs Python code and lets other threads run in the middle."""

    def __str__(self) -> str:
        time.sleep(0.002)
        return decimal.Decimal.__str__(self)


def slow_output(index: int, delay: float = 0.0, items: int = 8) -> dict:
    """Sleep `delay` s, then return an output that is slow to serialise:
    {"index": i, "values": ["i.0", ...], "nested": {"deep": [{"v": "i"}]}}
    once each SlowStr is turned into its str()."""
    time.sleep(float(delay))
    i = int(index)
    return {
        "index": i,
        "values": [SlowStr(f"{i}.{k}") for k in range(int(items))],
        "nested": {"deep": [{"v": SlowStr(i)}]},
    }


def rich_output() -> dict:
    """An output with every JSON type, non-ASCII text and a value JSON cannot
    encode (a Decimal: encoded as its str())."""
    return {
        "answer": 42,
        "list": [1, 2.5, None, True, False],
        "text": "h\u00e9llo \u2603",
        "nested": {"empty": {}, "tuple": (1, "two")},
        "amount": decimal.Decimal("1.50"),
    }


def gate(name: str, timeout: float = 30.0) -> bool:
    """A point the test controls (test_faults.py's Gates): write
    <dir>/<name>.reached, then wait (polling, so a signal interrupts it at
    once) until <dir>/<name>.go exists or `timeout` s pass. The directory is
    $CHAOSTRACING_TEST_GATES; without it the gate is open."""
    d = os.environ.get("CHAOSTRACING_TEST_GATES")
    if not d:
        return True
    with open(os.path.join(d, f"{name}.reached"), "a") as f:
        f.write(f"{os.getpid()}\n")
    go = os.path.join(d, f"{name}.go")
    end = time.monotonic() + float(timeout)
    while not os.path.exists(go) and time.monotonic() < end:
        time.sleep(0.01)
    return True


def install_slow_log_handler(match: str, marker: str, seconds: float = 3.0) -> str:
    """Add a handler to the `chaostoolkit` logger that, for the first record
    whose message contains `match`, writes `marker` and then sleeps
    `seconds` (in small steps, so a signal lands in Python code: inside the
    logging call that emitted the record)."""
    import logging

    class SlowHandler(logging.Handler):
        fired = False

        def emit(self, record):
            if self.fired or match not in record.getMessage():
                return
            SlowHandler.fired = True
            with open(marker, "w") as f:
                f.write(record.getMessage())
            end = time.monotonic() + float(seconds)
            while time.monotonic() < end:
                time.sleep(0.01)

    logging.getLogger("chaostoolkit").addHandler(SlowHandler(logging.DEBUG))
    return "installed"
