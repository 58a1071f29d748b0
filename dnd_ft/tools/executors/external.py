"""Executors named in a tools file: ``executor: "package.module:function"`` on a spec.

A new tool needs no edit of `ToolExecutor`: its spec names a function, which is called as
``fn(arguments, state) -> dict``. ``arguments`` have passed the tool's JSON schema already;
``state`` (`ExecutorState`) is what the built-in tools share: the executor's seeded RNG (so a
replay rolls the same dice), the combat tracker, the SRD, and a ``store`` dict that lives for
one conversation (`ToolExecutor.reset` empties it), where a tool keeps its own state (spell
slots, say) under a key of its own. The returned dict is the result the model reads.

Tools files are trusted config, like Hydra's ``_target_``: a reference is imported as written.
Scenario files are not: they only name tools (front matter ``tools:``), never code.
"""

from __future__ import annotations

import importlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dnd_ft.tools.errors import RegistryError, ToolExecutionError

if TYPE_CHECKING:
    from dnd_ft.tools.executors.combat import CombatTracker
    from dnd_ft.tools.executors.srd import SRD

ExternalExecutor = Callable[[dict[str, Any], "ExecutorState"], dict[str, Any]]


@dataclass
class ExecutorState:
    """What an executor named by reference may read and change (see the module docstring).

    srd_source: opens the SRD on first use, so a tool that never looks anything up costs no
    database connection (and runs where the SRD asset is not fetched).
    """

    rng: random.Random
    tracker: CombatTracker
    srd_source: Callable[[], SRD]
    store: dict[str, Any] = field(default_factory=dict)

    @property
    def srd(self) -> SRD:
        return self.srd_source()


def resolve(tool: str, reference: str) -> ExternalExecutor:
    """The callable ``reference`` names, imported now; `RegistryError` says what to fix.

    A config problem, not a failed call: evaluation counts a failed call against the model, so
    a misspelt reference must stop the run when the executor is built, not score as zero.
    """
    module_name, _, attr = reference.partition(":")
    where = f"tool {tool!r}: executor {reference!r}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # the reference's own path is wrong, or the module imports something not installed
        own = exc.name is not None and f"{module_name}.".startswith(f"{exc.name}.")
        hint = (
            "fix the module path in the tools file's `executor:` key"
            if own
            else f"install {exc.name!r}, which the module imports"
        )
        raise RegistryError(f"{where}: cannot import {module_name!r} ({exc}); {hint}") from None
    except Exception as exc:  # the module itself is broken: say so, with its own error
        raise RegistryError(
            f"{where}: importing {module_name!r} failed: {type(exc).__name__}: {exc}; "
            "fix that module"
        ) from exc
    fn = getattr(module, attr, None)
    if fn is None:
        names = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        raise RegistryError(
            f"{where}: module {module_name!r} has no attribute {attr!r}; callables there: "
            f"{', '.join(names) or 'none'}; fix the name after the colon"
        )
    if not callable(fn) or isinstance(fn, type):
        raise RegistryError(
            f"{where}: {attr!r} is a {type(fn).__name__}, not a function; point the "
            "reference at a function taking (arguments: dict, state: ExecutorState) -> dict"
        )
    return fn


def call(tool: str, reference: str, fn: ExternalExecutor, arguments: dict[str, Any],
         state: ExecutorState) -> dict[str, Any]:  # fmt: skip
    """Run ``fn`` and check its result is a JSON object, the only thing a tool turn can hold."""
    result = fn(arguments, state)
    if not isinstance(result, dict):
        raise ToolExecutionError(
            f"tool {tool!r}: executor {reference!r} returned a {type(result).__name__}, not a "
            "dict; return the result the model should read as a JSON object "
            '(a refusal too, like {"ok": false, "reason": "..."})'
        )
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        raise ToolExecutionError(
            f"tool {tool!r}: executor {reference!r} returned a dict that is not JSON ({exc}); "
            "return only strings, numbers, booleans, None, lists and dicts"
        ) from None
    return result
