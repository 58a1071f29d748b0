"""Small helpers the stages' config checks share.

A check is a function of the whole composed config that yields messages of the form
``key: what is wrong; how to fix it``; every problem is collected and raised together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Check = Callable[[Any], Iterable[str]]


def one_of(key: str, value: object, allowed: Iterable[str]) -> Iterable[str]:
    """A problem when ``value`` is not in ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        yield f"{key}: {value!r} is not one of {', '.join(allowed)}"
