"""Errors a user can act on. The entrypoint prints them without a traceback."""

from __future__ import annotations


class DndFtError(Exception):
    """Base for user-facing errors: the message says what went wrong and how to fix it."""


class ConfigError(DndFtError):
    """One or more config problems, reported together."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} config problem(s):\n{lines}")


class StageError(DndFtError):
    """A pipeline stage failed for a reason the user can fix (bad data, OOM, missing model)."""


class Pruned(Exception):
    """The sweep's pruner stopped this trial's training early (not an error: the run ends
    with status "pruned", and the stages after training are skipped)."""

    def __init__(self, step: int, value: float):
        self.step, self.value = step, value
        super().__init__(f"pruned at step {step} (val loss {value:.4f})")
