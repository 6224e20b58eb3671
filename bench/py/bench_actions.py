"""Python actions for the benchmark experiments (imported by `chaos run`)."""


def answer(value: int = 42) -> dict:
    """Return at once with a small JSON-able output."""
    return {"answer": value}
