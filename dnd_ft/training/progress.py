"""A rich progress bar for training: steps, loss, tokens/s, elapsed time and ETA."""

from __future__ import annotations

from typing import Any


class TrainProgress:
    """Thin wrapper so the callback does not depend on rich's API directly.

    Off a terminal (CI, a subprocess, a log file) rich would only print the bar once at the
    end; the Monitor's log lines carry the same numbers there, so the bar is simply disabled.
    """

    def __init__(self, description: str, enabled: bool = True):
        self.description = description
        self.enabled = enabled
        self._progress: Any = None
        self._task: Any = None

    def start(self, total: int, done: int = 0) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True)
        if not (self.enabled and console.is_terminal):
            return
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("{task.fields[tps]} tok/s"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task(
            self.description, total=total, completed=done, loss="-", tps="-"
        )
        self._progress.start()

    def advance(self, step: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=step)

    def update_stats(self, loss: float, tokens_per_second: float) -> None:
        if self._progress is not None:
            self._progress.update(self._task, loss=f"{loss:.4f}", tps=f"{tokens_per_second:,.0f}")

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
