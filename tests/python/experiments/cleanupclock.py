"""A control whose cleanup_control appends time.monotonic() (the system-wide
CLOCK_MONOTONIC) to $CHAOSTRACING_TEST_CLEANUP_CLOCK, one line a call.

Declared before and after the tracing control (under two names: chaoslib
cleans up each name once, in declaration order), the difference of its two
lines is the time the tracing control's cleanup_control took.

With $CHAOSTRACING_TEST_SLOW_CLEANUP set to a path, the first call writes
that path and then sleeps 3 s in small steps: a cleanup a Ctrl-C lands in
(the baseline of the "Ctrl-C during cleanup" test)."""

import os
import time


def cleanup_control() -> None:
    path = os.environ.get("CHAOSTRACING_TEST_CLEANUP_CLOCK")
    if path:
        with open(path, "a") as f:
            f.write(f"{time.monotonic()!r}\n")
    slow = os.environ.get("CHAOSTRACING_TEST_SLOW_CLEANUP")
    if slow and not os.path.exists(slow):
        with open(slow, "w") as f:
            f.write("in cleanup_control\n")
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            time.sleep(0.01)
