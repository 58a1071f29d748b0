"""Combat tracker semantics (documented in dnd_ft/tools/executors/combat.py)."""

from __future__ import annotations

import json
import random

import pytest

from dnd_ft.tools.errors import ToolExecutionError
from dnd_ft.tools.executors import CombatTracker
from dnd_ft.tools.executors.combat import ABILITIES, CONDITIONS
from dnd_ft.tools.registry import ToolRegistry


def test_damage_floors_at_zero_and_heal_caps_at_max() -> None:
    t = CombatTracker()
    t.add("Aria", hp=10, max_hp=12)
    r = t.apply_damage("Aria", 15, "fire")
    assert r == {
        "target": "Aria",
        "hp": 0,
        "max_hp": 12,
        "damage_taken": 10,
        "damage": 15,
        "damage_type": "fire",
        "down": True,
    }
    r = t.heal("aria", 50)
    assert r["hp"] == 12 and r["healed"] == 12 and r["damage_taken"] == 0


def test_unknown_target_tracks_damage_taken() -> None:
    t = CombatTracker()
    r = t.apply_damage("Goblin 1", 5)
    assert r["hp"] is None and r["max_hp"] is None and r["damage_taken"] == 5 and r["down"] is False
    assert t.heal("goblin 1", 3)["damage_taken"] == 2
    assert t.heal("GOBLIN 1", 9)["healed"] == 2  # cannot heal more than the damage taken


def test_names_match_ignoring_case_and_spaces() -> None:
    t = CombatTracker()
    t.add("Goblin  1", hp=7)
    t.apply_damage("goblin 1", 3)
    assert list(t.snapshot()["combatants"]) == ["Goblin 1"]
    assert t.get("GOBLIN 1").hp == 4


def test_conditions_are_a_set() -> None:
    t = CombatTracker()
    assert t.add_condition("Aria", "Prone")["added"] is True
    r = t.add_condition("Aria", "prone")
    assert r["added"] is False and r["conditions"] == ["prone"]
    assert t.add_condition("Aria", "poisoned")["conditions"] == ["poisoned", "prone"]
    with pytest.raises(ToolExecutionError, match="unknown condition 'sleepy'"):
        t.add_condition("Aria", "sleepy")


def test_initiative_order_is_seeded_descending_and_stable() -> None:
    names = [f"C{i}" for i in range(12)]
    a = CombatTracker(random.Random(3)).start_initiative(names)
    b = CombatTracker(random.Random(3)).start_initiative(names)
    assert a == b and a["round"] == 1
    rolls = [e["initiative"] for e in a["order"]]
    assert rolls == sorted(rolls, reverse=True) and all(1 <= r <= 20 for r in rolls)
    for first, second in zip(a["order"], a["order"][1:], strict=False):  # ties keep listed order
        if first["initiative"] == second["initiative"]:
            assert names.index(first["name"]) < names.index(second["name"])


def test_new_initiative_starts_a_new_encounter() -> None:
    t = CombatTracker(random.Random(0))
    t.start_initiative(["Aria", "Goblin"])
    t.start_initiative(["Aria", "Wolf"])
    state = t.snapshot()
    assert sorted(state["order"]) == ["Aria", "Wolf"]
    assert state["combatants"]["Goblin"]["initiative"] is None


def test_duplicate_combatants_are_rejected() -> None:
    with pytest.raises(ToolExecutionError, match="combatants listed twice: Goblin, goblin"):
        CombatTracker().start_initiative(["Goblin", "goblin"])


def test_ability_check() -> None:
    t = CombatTracker(random.Random(5))
    r = t.ability_check("Aria", "Strength", 10)
    assert (
        r["ability"] == "strength" and r["success"] == (r["roll"] >= 10) and r["total"] == r["roll"]
    )
    assert t.ability_check("Aria", "strength", 1)["success"] is True
    assert t.ability_check("Aria", "strength", 21)["success"] is False
    assert t.snapshot()["combatants"] == {}  # a check changes no state


def test_snapshot_is_json_and_reset_clears() -> None:
    t = CombatTracker(random.Random(0))
    t.add("Aria", 12)
    t.start_initiative(["Aria", "Goblin"])
    t.add_condition("Goblin", "prone")
    state = t.snapshot()
    assert json.loads(json.dumps(state)) == state
    assert state["combatants"]["Goblin"] == {
        "hp": None,
        "max_hp": None,
        "damage_taken": 0,
        "conditions": ["prone"],
        "initiative": state["combatants"]["Goblin"]["initiative"],
    }
    t.reset()
    assert t.snapshot() == {"round": 0, "order": [], "combatants": {}}


@pytest.mark.parametrize(("hp", "max_hp"), [(-1, 5), (6, 5)])
def test_add_rejects_impossible_hp(hp: int, max_hp: int) -> None:
    with pytest.raises(ValueError, match="need 0 <= hp <= max_hp"):
        CombatTracker().add("Aria", hp, max_hp)


def test_empty_name_is_rejected() -> None:
    with pytest.raises(ToolExecutionError, match="creature name is empty"):
        CombatTracker().apply_damage("  ", 1)


def test_tracker_vocabulary_matches_the_default_registry(registry: ToolRegistry) -> None:
    condition = registry.get("add_condition").properties["condition"]
    assert set(condition["enum"]) == CONDITIONS
    assert tuple(registry.get("ability_check").properties["ability"]["enum"]) == ABILITIES
