"""A small combat tracker: hit points, conditions and initiative order.

Semantics (the model only sees tool results, so they must be predictable):

- Names match case- and space-insensitively ("goblin 1" is "Goblin  1"); the first spelling
  seen is the one shown.
- A creature named by apply_damage, heal, add_condition or start_initiative that was never
  registered joins with *unknown* hit points (``hp`` and ``max_hp`` are None); the tracker
  then counts ``damage_taken`` instead, so damage and healing still leave comparable state.
- Damage floors hit points at 0; healing caps at ``max_hp``. Reaching 0 HP is reported
  (``down``) but adds no condition by itself: the model calls add_condition for that.
- Conditions are a set per creature (exhaustion has no levels here).
- start_initiative rolls d20 + 0 per combatant (the tracker knows no Dexterity scores) and
  orders highest first; ties keep the listed order. Calling it again starts a new encounter.
- ability_check rolls d20 + 0 against the DC; success when the roll >= DC. It changes no state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from dnd_ft.tools.errors import ToolExecutionError
from dnd_ft.tools.executors.dice import roll_d20

# The 15 SRD conditions, lowercase (the registry's add_condition enum).
CONDITIONS = frozenset(
    {
        "blinded", "charmed", "deafened", "exhaustion", "frightened",
        "grappled", "incapacitated", "invisible", "paralyzed", "petrified",
        "poisoned", "prone", "restrained", "stunned", "unconscious",
    }
)  # fmt: skip
ABILITIES = ("strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma")


@dataclass
class Combatant:
    name: str
    hp: int | None = None  # None: unknown, only damage_taken is tracked
    max_hp: int | None = None
    damage_taken: int = 0  # net damage since joining (healing subtracts), floored at 0
    conditions: set[str] = field(default_factory=set)
    initiative: int | None = None

    def snapshot(self) -> dict[str, Any]:
        return {
            "hp": self.hp,
            "max_hp": self.max_hp,
            "damage_taken": self.damage_taken,
            "conditions": sorted(self.conditions),
            "initiative": self.initiative,
        }


class CombatTracker:
    """Combat state driven by tool calls; ``rng`` draws initiative and ability checks."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng if rng is not None else random.Random(0)
        self._combatants: dict[str, Combatant] = {}
        self._order: list[str] = []  # keys, highest initiative first
        self.round = 0  # 0: no combat started

    def reset(self) -> None:
        """Forget every combatant and the initiative order."""
        self._combatants.clear()
        self._order.clear()
        self.round = 0

    def add(self, name: str, hp: int, max_hp: int | None = None) -> Combatant:
        """Register (or re-register) a creature with known hit points, e.g. a scenario's party."""
        max_hp = hp if max_hp is None else max_hp
        if not 0 <= hp <= max_hp:
            raise ValueError(f"{name}: need 0 <= hp <= max_hp, got hp={hp}, max_hp={max_hp}")
        combatant = self._get(name)
        combatant.hp, combatant.max_hp, combatant.damage_taken = hp, max_hp, 0
        return combatant

    def get(self, name: str) -> Combatant | None:
        return self._combatants.get(_key(name))

    @property
    def order(self) -> list[str]:
        """Display names in initiative order."""
        return [self._combatants[k].name for k in self._order]

    # --- tool operations ----------------------------------------------------------------

    def start_initiative(self, combatants: list[str]) -> dict[str, Any]:
        keys = [_key(n) for n in combatants]
        if not keys:
            raise ToolExecutionError("start_initiative needs at least one combatant")
        if len(set(keys)) != len(keys):
            dupes = sorted({n for n, k in zip(combatants, keys, strict=True) if keys.count(k) > 1})
            raise ToolExecutionError(
                f"combatants listed twice: {', '.join(dupes)}; name each creature once "
                "('Goblin 1', 'Goblin 2')"
            )
        for c in self._combatants.values():  # a new encounter: old rolls no longer count
            c.initiative = None
        rolled = []
        for name in combatants:
            c = self._get(name)
            c.initiative = roll_d20(self._rng)
            rolled.append(c)
        rolled.sort(key=lambda c: -c.initiative)  # sort is stable: ties keep listed order
        self._order = [_key(c.name) for c in rolled]
        self.round = 1
        return {"order": [{"name": c.name, "initiative": c.initiative} for c in rolled], "round": 1}

    def apply_damage(
        self, target: str, amount: int, damage_type: str | None = None
    ) -> dict[str, Any]:
        _check_amount(amount)
        c = self._get(target)
        if c.hp is None:
            dealt = amount
        else:
            dealt = min(amount, c.hp)
            c.hp -= dealt
        c.damage_taken += dealt
        result = self._hp_result(c)
        result["damage"] = amount
        if damage_type:
            result["damage_type"] = damage_type
        result["down"] = c.hp == 0
        return result

    def heal(self, target: str, amount: int) -> dict[str, Any]:
        _check_amount(amount)
        c = self._get(target)
        if c.hp is None:
            healed = min(amount, c.damage_taken)
        else:
            max_hp = c.max_hp if c.max_hp is not None else c.hp
            healed = min(amount, max_hp - c.hp)
            c.hp += healed
        c.damage_taken = max(0, c.damage_taken - healed)
        result = self._hp_result(c)
        result["healed"] = healed
        return result

    def add_condition(self, target: str, condition: str) -> dict[str, Any]:
        condition = condition.strip().lower()
        if condition not in CONDITIONS:
            raise ToolExecutionError(
                f"unknown condition {condition!r}; use one of {', '.join(sorted(CONDITIONS))}"
            )
        c = self._get(target)
        added = condition not in c.conditions
        c.conditions.add(condition)
        return {
            "target": c.name,
            "condition": condition,
            "added": added,
            "conditions": sorted(c.conditions),
        }

    def ability_check(self, character: str, ability: str, dc: int) -> dict[str, Any]:
        ability = ability.strip().lower()
        if ability not in ABILITIES:
            raise ToolExecutionError(
                f"unknown ability {ability!r}; use one of {', '.join(ABILITIES)}"
            )
        roll = roll_d20(self._rng)
        return {
            "character": character,
            "ability": ability,
            "dc": dc,
            "roll": roll,
            "modifier": 0,
            "total": roll,
            "success": roll >= dc,
        }

    def snapshot(self) -> dict[str, Any]:
        """JSON-serializable state: compare it after predicted calls and after gold calls."""
        return {
            "round": self.round,
            "order": self.order,
            "combatants": {c.name: c.snapshot() for _, c in sorted(self._combatants.items())},
        }

    # --- helpers ------------------------------------------------------------------------

    def _get(self, name: str) -> Combatant:
        """The combatant called ``name``, joining with unknown hit points if new."""
        key = _key(name)
        if not key:
            raise ToolExecutionError("creature name is empty; name the target of the tool call")
        if key not in self._combatants:
            self._combatants[key] = Combatant(name=" ".join(name.split()))
        return self._combatants[key]

    @staticmethod
    def _hp_result(c: Combatant) -> dict[str, Any]:
        return {"target": c.name, "hp": c.hp, "max_hp": c.max_hp, "damage_taken": c.damage_taken}


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _check_amount(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise ToolExecutionError(f"amount must be a whole number >= 0, got {amount!r}")
