"""What must never reach a client: a Python traceback, a source location, an exception's name.

docs/api.md: a 500 "carries no detail, the log has it under the request id"; the same holds for
``error`` frames on the sockets.
"""

from __future__ import annotations

import re

TRACE = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|"
    r"\b(?:[A-Z][A-Za-z]*(?:Error|Exception)|KeyError|StopIteration|AssertionError)\b(?::|\()"
)


def leaked_trace(text: str) -> str | None:
    """The first trace-like fragment of ``text``, or None."""
    found = TRACE.search(text)
    return None if found is None else found.group(0)
