"""cast_spell, run for real through `ToolExecutor` with the spellcasting registry and the SRD;
and the spellcasting scenarios, whose written results are what the executor returns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dnd_ft.evaluation.executable import fresh_executor, parse_hit_points
from dnd_ft.scenarios import Flow, load_corpus
from dnd_ft.tools.errors import ToolExecutionError
from dnd_ft.tools.executors import SRD, ToolExecutor
from dnd_ft.tools.executors.spells import FULL_CASTER_SLOTS
from dnd_ft.tools.registry import ToolRegistry

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "fixtures" / "scenarios" / "spellcasting"

# Tools whose written results a replay must reproduce: all but the dice, which are hand-rolled.
REPLAYED = ("cast_spell", "lookup_spell", "apply_damage", "heal", "add_condition")


@pytest.fixture(scope="module")
def spellcasting() -> ToolRegistry:
    return ToolRegistry.from_file(ROOT / "configs" / "tools" / "spellcasting.yaml")


@pytest.fixture
def executor(spellcasting: ToolRegistry, srd: SRD) -> ToolExecutor:
    return ToolExecutor(spellcasting, seed=0, srd=srd)


def cast(executor: ToolExecutor, caster: str, spell: str, slot: int, **more: Any) -> dict:
    return executor.execute(
        "cast_spell", {"caster": caster, "spell": spell, "slot_level": slot, **more}
    )


def test_a_cast_spends_a_slot_until_none_is_left(executor: ToolExecutor) -> None:
    first = cast(executor, "Ysolde", "fireball", 3, slots={"1": 4, "3": 1})
    assert first == {
        "ok": True, "caster": "Ysolde", "spell": "Fireball", "spell_level": 3,
        "slot_level": 3, "slots_left": {"1": 4, "3": 0},
    }  # fmt: skip
    again = cast(executor, "ysolde ", "Fireball", 3)  # same caster, any case and spacing
    assert again["ok"] is False and again["caster"] == "Ysolde"
    assert again["reason"] == (
        "Ysolde has no 3rd-level spell slot left; no other slot left can cast Fireball"
    )
    assert again["slots_left"] == {"1": 4, "3": 0}  # a refusal spends nothing


def test_cantrips_spend_nothing_and_take_slot_level_0(executor: ToolExecutor) -> None:
    result = cast(executor, "Corvin", "Fire Bolt", 0, slots={"1": 2})
    assert result["ok"] and result["spell_level"] == 0 and result["slots_left"] == {"1": 2}
    assert cast(executor, "Unknown Caster", "Fire Bolt", 0)["ok"]  # no slots needed at all
    wasted = cast(executor, "Corvin", "Fire Bolt", 1)
    assert not wasted["ok"] and "is a cantrip: it uses no spell slot" in wasted["reason"]
    assert wasted["slots_left"] == {"1": 2}


def test_a_slot_below_the_spell_level_is_refused_and_higher_upcasts(executor: ToolExecutor) -> None:
    low = cast(executor, "Anwen", "Revivify", 2, caster_level=5)
    assert low["ok"] is False
    assert (
        low["reason"]
        == "Revivify is a 3rd-level spell: it needs a slot of level 3 or higher, not 2"
    )
    up = cast(executor, "Anwen", "Cure Wounds", 3)
    assert up["ok"] and up["spell_level"] == 1 and up["slots_left"] == {"1": 4, "2": 3, "3": 1}


def test_refusal_lists_the_other_slots_that_can_cast_it(executor: ToolExecutor) -> None:
    cast(executor, "Anwen", "Cure Wounds", 3, slots={"1": 1, "2": 2, "3": 1})
    result = cast(executor, "Anwen", "Cure Wounds", 3)
    assert result["reason"] == (
        "Anwen has no 3rd-level spell slot left; slots left that can cast Cure Wounds: "
        "1st: 1, 2nd: 2"
    )


def test_caster_level_sets_up_the_srd_table_once(executor: ToolExecutor) -> None:
    result = cast(executor, "Mira", "Magic Missile", 1, caster_level=1)
    assert result["slots_left"] == {"1": 1}
    # later casts spend from the tracked slots: caster_level is not read again
    assert cast(executor, "Mira", "Magic Missile", 1, caster_level=20)["slots_left"] == {"1": 0}
    # slots always replace them (after a rest)
    assert cast(executor, "Mira", "Shield", 1, slots={"1": 2})["slots_left"] == {"1": 1}


def test_unknown_slots_and_spells_outside_the_srd(executor: ToolExecutor) -> None:
    unknown = cast(executor, "Bob", "Magic Missile", 1)
    assert unknown["ok"] is False and "Bob's spell slots are not known yet" in unknown["reason"]
    homebrew = cast(executor, "Bob", "Magic Missle", 1, caster_level=3)
    assert homebrew["ok"] and homebrew["spell_level"] is None
    assert homebrew["note"].startswith("no spell named 'Magic Missle' in the SRD")
    assert "did you mean: Magic Missile" in homebrew["note"]
    assert homebrew["slots_left"] == {"1": 3, "2": 2}


def test_slots_are_per_conversation(executor: ToolExecutor) -> None:
    cast(executor, "Ysolde", "Fireball", 3, slots={"3": 1})
    executor.reset()
    assert executor.store == {}
    assert cast(executor, "Ysolde", "Fireball", 3)["ok"] is False  # slots unknown again


def test_arguments_are_validated_by_the_schema(executor: ToolExecutor) -> None:
    with pytest.raises(ToolExecutionError, match="slot_level: 10 is greater than the maximum of 9"):
        cast(executor, "Ysolde", "Wish", 10)
    with pytest.raises(ToolExecutionError, match="invalid arguments for cast_spell"):
        cast(executor, "Ysolde", "Fireball", 3, slots={"10": 1})


def test_full_caster_table_matches_the_srd() -> None:
    assert sorted(FULL_CASTER_SLOTS) == list(range(1, 21))
    assert FULL_CASTER_SLOTS[5] == (4, 3, 2) and len(FULL_CASTER_SLOTS[17]) == 9
    assert sum(FULL_CASTER_SLOTS[20]) == 22


# --- the spellcasting scenarios -------------------------------------------------------------


def _answered_calls(flow: Flow) -> list[tuple[str, dict[str, Any], str]]:
    """``(tool, arguments, written result)`` for every call of ``flow``, in order."""
    pairs, pending = [], []
    for turn in flow.turns:
        if turn.role == "dm":
            pending = list(turn.tool_calls)
        elif turn.role == "tool":
            call = pending.pop(0)
            pairs.append((call.name, call.arguments, turn.content))
    return pairs


def test_scenario_results_are_what_the_executor_returns(
    spellcasting: ToolRegistry, executor: ToolExecutor
) -> None:
    corpus = load_corpus([SCENARIOS], spellcasting)
    assert corpus.ok, corpus.problems
    assert len(corpus.scenarios) == 2
    for scenario in corpus.scenarios:
        assert len(scenario.flows) >= 2
        for flow in scenario.flows:
            # each flow starts again from the System state, hit points seeded as eval does
            fresh_executor(executor, parse_hit_points(scenario.system))
            calls = _answered_calls(flow)
            assert any(name == "cast_spell" for name, _, _ in calls), flow.title
            assert len({name for name, _, _ in calls}) >= 3, flow.title  # and other tools
            for name, arguments, written in calls:
                if name in REPLAYED:
                    assert executor.execute(name, arguments) == json.loads(written), (
                        f"{scenario.path}: {flow.title}: {name}({arguments})"
                    )
