"""Executable checks: calls run on the real executors; gold and predicted state replays."""

from __future__ import annotations

import pytest

from dnd_ft.evaluation.executable import (
    ExecStats,
    check_conversation,
    comparable_state,
    parse_hit_points,
)
from dnd_ft.tools.executors import SRD, ToolExecutor
from dnd_ft.tools.registry import ToolRegistry

SYSTEM = """You are the Dungeon Master.

### Party
- Rook: tiefling warlock, level 2, HP 17/17, AC 13
- Wren: half-elf bard, level 2, HP 9/15, AC 14

### NPCs
- Sable Meg: bandit leader, HP 11, AC 12
- Bandit 1, Bandit 2: HP 11 each, AC 12
- Twelve villagers with pitchforks, holding the gate.
- Broken: HP 20/10
"""


@pytest.fixture
def executor() -> ToolExecutor:
    from dnd_ft.assets import asset_path

    return ToolExecutor(ToolRegistry.default(), seed=7, srd=SRD(asset_path("srd")))


def call(name: str, /, **arguments) -> dict:
    return {"name": name, "arguments": arguments}


def test_parse_hit_points_reads_party_and_npcs():
    assert parse_hit_points(SYSTEM) == [
        ("Rook", 17, 17), ("Wren", 9, 15), ("Sable Meg", 11, 11), ("Bandit 1", 11, 11), ("Bandit 2", 11, 11),
    ]  # fmt: skip


def test_exec_rate_counts_failing_calls(executor):
    pred = [[call("roll_dice", notation="1d20+5")],
            [call("lookup_monster", name="Goblin"), call("lookup_monster", name="Space Kraken")],
            [call("cast_spell", name="Fireball"), call("apply_damage", target="Rook", amount=-1)]]  # fmt: skip
    result = check_conversation(executor, SYSTEM, gold_turns=[[], [], []], pred_turns=pred)
    assert (result.calls, result.executed) == (5, 2)
    assert len(result.errors) == 3 and result.errors[0].startswith("lookup_monster:")
    # the one state-changing call failed, so the state still equals the gold's (no change)
    assert result.state_checked and result.state_match


def test_state_match_ignores_call_order_that_does_not_matter_and_non_state_tools(executor):
    gold = [[call("roll_dice", notation="1d8"), call("apply_damage", target="Wren", amount=6)],
            [call("heal", target="Wren", amount=4)]]  # fmt: skip
    pred = [
        [call("apply_damage", target="wren", amount=6)],
        [call("heal", target="Wren", amount=4)],
    ]
    result = check_conversation(executor, SYSTEM, gold, pred)
    assert result.state_checked and result.state_match
    assert result.gold_state["combatants"]["wren"]["hp"] == 7  # 9 - 6 + 4, party HP was seeded


def test_state_mismatch_on_wrong_amount(executor):
    gold = [[call("apply_damage", target="Bandit 1", amount=11)]]
    pred = [[call("apply_damage", target="Bandit 1", amount=6)]]
    result = check_conversation(executor, SYSTEM, gold, pred)
    assert result.state_match is False
    assert result.pred_state["combatants"]["bandit 1"]["hp"] == 5


def test_state_compares_who_is_in_initiative_not_the_rolls(executor):
    gold = [[call("start_initiative", combatants=["Rook", "Wren", "Sable Meg"])]]
    same_set = [[call("start_initiative", combatants=["Sable Meg", "Rook", "Wren"])]]
    missing_one = [[call("start_initiative", combatants=["Rook", "Wren"])]]
    assert check_conversation(executor, SYSTEM, gold, same_set).state_match is True
    assert check_conversation(executor, SYSTEM, gold, missing_one).state_match is False
    # a model that never starts combat when the gold does fails the state check
    assert check_conversation(executor, SYSTEM, gold, [[]]).state_match is False


def test_comparable_state_drops_rolls():
    state = {"round": 1, "order": ["A"], "combatants": {"A  b": {"hp": 3, "max_hp": 5, "damage_taken": 2,
             "conditions": ["prone"], "initiative": 17}}}  # fmt: skip
    assert comparable_state(state) == {"in_combat": True, "combatants": {"a b": {
        "hp": 3, "max_hp": 5, "damage_taken": 2, "conditions": ["prone"], "in_initiative": True}}}  # fmt: skip


def test_exec_stats_summary(executor):
    stats = ExecStats()
    stats.add(check_conversation(executor, SYSTEM, [[call("heal", target="Wren", amount=1)]],
                                 [[call("heal", target="Wren", amount=1)]]))  # fmt: skip
    stats.add(check_conversation(executor, SYSTEM, [[]], [[call("roll_dice", notation="bogus")]]))
    summary = stats.summary()
    assert summary == {"exec_rate": 0.5, "state_match_rate": 1.0, "n_state_conversations": 1}
