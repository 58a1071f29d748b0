"""SIGTERM ends a run the way Ctrl-C does: as an interruption, recorded and cleaned up.

Slurm, Kubernetes and `kill` send SIGTERM; Python's default is to die on the spot, leaving no
status.json and an unfinished W&B run. Inside `stop_on_signals` it raises `Interrupted` in
the main thread instead, so the runner's `finally` blocks run. A second SIGTERM kills at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Interrupted(KeyboardInterrupt):
    """A stop asked for by a signal. A KeyboardInterrupt, so everything that handles Ctrl-C
    (the Trainer, rich, Hydra) handles SIGTERM the same way."""

    def __init__(self, signum: int) -> None:
        self.signal = signal.Signals(signum).name
        super().__init__(f"stopped by {self.signal}")


def signal_name(exc: BaseException) -> str:
    """SIGTERM for an `Interrupted` from it, SIGINT for a plain Ctrl-C."""
    return exc.signal if isinstance(exc, Interrupted) else "SIGINT"


def exit_code(exc: BaseException) -> int:
    """The shell's convention, 128 + signal number: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + int(getattr(signal, signal_name(exc)))


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM into `Interrupted` for the duration (main thread only: signals are
    delivered there; elsewhere this does nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        signal.signal(signum, signal.SIG_DFL)  # a second signal is not asked politely
        raise Interrupted(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
