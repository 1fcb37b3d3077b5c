"""Remember a one-argument function's last answer, keyed by the argument's identity.

For conversions called with the same object many times in a row: every row of a
batch carries the batch's one clock reading, converted once per column per row
(issue 4). The cached pair holds a reference to the argument, so its identity
cannot be reused while it is remembered, and it is replaced as one tuple, so a
thread never sees one call's argument with another's answer. Only for pure
functions of immutable arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

A = TypeVar("A")
R = TypeVar("R")

_NOTHING = object()


def remember_last(fn: Callable[[A], R]) -> Callable[[A], R]:
    last: list[tuple[object, R | None]] = [(_NOTHING, None)]

    def call(value: A) -> R:
        pair = last[0]
        if value is pair[0]:
            return pair[1]  # type: ignore[return-value]
        answer = fn(value)
        last[0] = (value, answer)
        return answer

    call.__doc__, call.__name__ = fn.__doc__, fn.__name__
    return call
