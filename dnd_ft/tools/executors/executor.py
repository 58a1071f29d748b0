"""`ToolExecutor`: runs validated tool calls against dice, the SRD and a combat tracker.

One seeded ``random.Random`` feeds every roll, so the same calls in the same order give the
same results. `reset` rewinds it and clears the tracker and the tools' store, so evaluation
can replay the gold calls and the predicted calls from the same start and compare `state`.

Tools come in two kinds: the built-in handlers below, and tools whose spec names a function
(``executor: "package.module:function"``, see `dnd_ft.tools.executors.external`). A spec's
reference wins over a built-in handler of the same name: the tools file said so explicitly.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Mapping
from typing import Any

from dnd_ft.tools.errors import RegistryError, ToolExecutionError
from dnd_ft.tools.executors import dice, external
from dnd_ft.tools.executors.combat import CombatTracker
from dnd_ft.tools.executors.srd import SRD
from dnd_ft.tools.registry import ToolRegistry

Handler = Callable[[dict[str, Any]], dict[str, Any]]

# What the model sees of each result: the fields the scenario corpus uses (docs/tools.md), so
# augmented and executed results look exactly like hand-written ones. The tracker's methods
# return more (``damage_taken``, ``down``, ...) for tests and state comparison.
RESULT_FIELDS: dict[str, tuple[str, ...]] = {
    "roll_dice": ("notation", "total", "rolls", "modifier"),
    "apply_damage": ("target", "hp", "max_hp", "damage"),
    "heal": ("target", "hp", "max_hp", "healed"),
    "start_initiative": ("order",),
    "add_condition": ("target", "conditions"),
}


class ToolExecutor:
    """Executes the registry's tools: built-in handlers and executors named by reference.

    srd: look-up data; None opens the fetched 2014 SRD asset on the first look-up.
    Raises `RegistryError` when a spec's executor reference cannot be imported (all of them
    listed): a config problem is reported at start, never scored as failed calls.
    """

    def __init__(self, registry: ToolRegistry, seed: int, srd: SRD | None = None) -> None:
        self.registry = registry
        self.seed = seed
        self._srd = srd
        self._rng = random.Random(seed)
        self.tracker = CombatTracker(self._rng)
        # per-conversation state of the tools named by reference (spell slots, ...)
        self.store: dict[str, Any] = {}
        self._state = external.ExecutorState(self._rng, self.tracker, lambda: self.srd, self.store)
        self._external = _resolve_all(registry)
        self._handlers: dict[str, Handler] = {
            "roll_dice": self._roll_dice,
            "lookup_monster": lambda a: self.srd.monster(a["name"]),
            "lookup_spell": lambda a: self.srd.spell(a["name"]),
            "lookup_condition": lambda a: self.srd.condition(a["name"]),
            "apply_damage": lambda a: self.tracker.apply_damage(
                a["target"], a["amount"], a.get("damage_type")
            ),
            "heal": lambda a: self.tracker.heal(a["target"], a["amount"]),
            "start_initiative": lambda a: self.tracker.start_initiative(list(a["combatants"])),
            "add_condition": lambda a: self.tracker.add_condition(a["target"], a["condition"]),
            "ability_check": lambda a: self.tracker.ability_check(
                a["character"], a["ability"], a["dc"]
            ),
        }

    @classmethod
    def from_config(cls, cfg: Any, registry: ToolRegistry | None = None) -> ToolExecutor:
        """Build from the ``tools`` config group (its specs, ``seed`` and ``srd_edition``)."""
        if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
            cfg = dataclasses.asdict(cfg)
        registry = registry if registry is not None else ToolRegistry.from_config(cfg)
        seed = cfg.get("seed")
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ToolExecutionError(f"tools.seed must be an integer, got {seed!r}")
        return cls(registry, seed=seed, srd=SRD(edition=str(cfg.get("srd_edition", "2014"))))

    @property
    def srd(self) -> SRD:
        if self._srd is None:
            self._srd = SRD()
        return self._srd

    @property
    def state(self) -> dict[str, Any]:
        """Snapshot of the combat tracker (JSON-serializable; see `CombatTracker.snapshot`)."""
        return self.tracker.snapshot()

    def has_executor(self, name: str) -> bool:
        """Whether ``name`` is in the registry and can run (a built-in handler or a reference)."""
        return name in self.registry and (name in self._external or name in self._handlers)

    def execute(self, name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Validate ``arguments`` against the tool's schema, run it and return its result.

        Raises `ToolExecutionError` for an unknown tool, invalid arguments, a tool declared
        without a handler, or a failure inside the tool (unknown monster, bad dice notation).
        """
        problems = self.registry.validate_arguments(name, arguments)
        if problems:
            if name not in self.registry:
                raise ToolExecutionError(problems[0])
            raise ToolExecutionError(f"invalid arguments for {name}: {'; '.join(problems)}")
        if name in self._external:
            reference, fn = self._external[name]
            return external.call(name, reference, fn, dict(arguments), self._state)
        handler = self._handlers.get(name)
        if handler is None:
            raise ToolExecutionError(
                f"tool {name!r} is declared in registry {self.registry.name!r} but has no "
                "executor; add `executor: package.module:function` to its spec in the tools "
                "file (see dnd_ft/tools/executors/spells.py for one)"
            )
        result = handler(dict(arguments))
        fields = RESULT_FIELDS.get(name)
        return {k: result[k] for k in fields if k in result} if fields else result

    def reset(self) -> None:
        """Rewind the RNG to ``seed`` and forget all combat state and the tools' store."""
        self._rng.seed(self.seed)
        self.tracker.reset()
        self.store.clear()  # cleared in place: the executors' state holds this same dict

    def _roll_dice(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return dice.roll(arguments["notation"], self._rng)


def _resolve_all(registry: ToolRegistry) -> dict[str, tuple[str, external.ExternalExecutor]]:
    """Tool name -> (reference, callable) for every spec naming an executor; one
    `RegistryError` lists every reference that does not resolve."""
    found: dict[str, tuple[str, external.ExternalExecutor]] = {}
    problems: list[str] = []
    for spec in registry:
        if spec.executor is None:
            continue
        try:
            found[spec.name] = (spec.executor, external.resolve(spec.name, spec.executor))
        except RegistryError as exc:
            problems.append(str(exc))
    if problems:
        raise RegistryError(
            f"{len(problems)} executor reference(s) in registry {registry.name!r} do not "
            "resolve:\n" + "\n".join(problems)
        )
    return found
