"""The pipeline's stages, by name, in the order they run.

A stage is a function `run(ctx: RunContext) -> None` named by a `module:function` path and
imported only when it runs, so heavy stages cost nothing to a run that skips them. A new
stage plugs in with one line here.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dnd_ft.pipeline.context import RunContext

STAGES: dict[str, str] = {
    "data": "dnd_ft.data.stage:run",
    "train": "dnd_ft.training.stage:run",
    "eval": "dnd_ft.evaluation.stage:run",
    "export": "dnd_ft.export.stage:run",
}


def ordered(names: list[str]) -> list[str]:
    """The requested stages in pipeline order, whatever order the user listed them in."""
    return [name for name in STAGES if name in names]


def available(name: str) -> bool:
    """Whether the stage's module is installed, checked without importing it."""
    module = STAGES[name].split(":")[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


def load(name: str) -> Callable[[RunContext], None]:
    module, func = STAGES[name].split(":")
    return getattr(importlib.import_module(module), func)
