"""ToolExecutor: validation before execution, seeded replay, state for evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from dnd_ft.config.store import CONFIG_DIR
from dnd_ft.pipeline.config import register_configs
from dnd_ft.tools.errors import ToolExecutionError
from dnd_ft.tools.executors import SRD, ToolExecutor
from dnd_ft.tools.registry import ToolRegistry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tools"

# A short fight: the same calls must give the same results and state for the same seed.
FIGHT = [
    ("start_initiative", {"combatants": ["Aria", "Goblin 1", "Goblin 2"]}),
    ("roll_dice", {"notation": "1d20+4", "reason": "Aria's longsword"}),
    ("apply_damage", {"target": "Goblin 1", "amount": 9, "damage_type": "slashing"}),
    ("add_condition", {"target": "Goblin 2", "condition": "frightened"}),
    ("ability_check", {"character": "Aria", "ability": "strength", "dc": 12}),
    ("apply_damage", {"target": "Aria", "amount": 5}),
    ("heal", {"target": "Aria", "amount": 20}),
]


def _run(executor: ToolExecutor) -> list[dict]:
    executor.tracker.add("Aria", hp=11, max_hp=14)
    executor.tracker.add("Goblin 1", hp=7)
    return [executor.execute(name, args) for name, args in FIGHT]


@pytest.fixture
def executor(registry: ToolRegistry, srd: SRD) -> ToolExecutor:
    return ToolExecutor(registry, seed=42, srd=srd)


def test_fight_end_state(executor: ToolExecutor) -> None:
    results = _run(executor)
    assert results[2]["hp"] == 0
    assert results[6] == {"target": "Aria", "hp": 14, "max_hp": 14, "healed": 8}
    state = executor.state
    assert json.loads(json.dumps(state)) == state
    assert state["round"] == 1 and len(state["order"]) == 3
    assert state["combatants"]["Goblin 2"]["conditions"] == ["frightened"]
    # results carry exactly the fields the scenario corpus writes (RESULT_FIELDS)
    assert set(results[1]) == {"notation", "total", "rolls", "modifier"}


def test_same_seed_same_results_and_reset_replays(registry: ToolRegistry, srd: SRD) -> None:
    a, b = ToolExecutor(registry, seed=42, srd=srd), ToolExecutor(registry, seed=42, srd=srd)
    first = _run(a)
    assert _run(b) == first and a.state == b.state
    state = a.state
    a.reset()
    assert a.state["combatants"] == {}
    assert _run(a) == first and a.state == state


def test_lookups(executor: ToolExecutor) -> None:
    assert executor.execute("lookup_monster", {"name": "Goblin"})["hit_points"] == 7
    assert executor.execute("lookup_spell", {"name": "fireball"})["level"] == 3
    with pytest.raises(ToolExecutionError, match="did you mean: Goblin"):
        executor.execute("lookup_monster", {"name": "goblinn"})


def test_arguments_are_validated_first(executor: ToolExecutor) -> None:
    with pytest.raises(
        ToolExecutionError,
        match="invalid arguments for apply_damage: amount: -3 is less than the minimum of 0",
    ):
        executor.execute("apply_damage", {"target": "Goblin", "amount": -3})
    with pytest.raises(ToolExecutionError, match="'condition' is a required property"):
        executor.execute("add_condition", {"target": "Goblin"})
    assert executor.state["combatants"] == {}  # nothing ran


def test_unknown_tool_and_bad_dice(executor: ToolExecutor) -> None:
    with pytest.raises(ToolExecutionError, match="unknown tool 'cast_spell'"):
        executor.execute("cast_spell", {})
    with pytest.raises(ToolExecutionError, match="invalid dice notation '2d'"):
        executor.execute("roll_dice", {"notation": "2d"})


def test_declared_tool_without_executor() -> None:
    executor = ToolExecutor(ToolRegistry.from_file(FIXTURES / "group.yaml"), seed=0)
    assert executor.has_executor("roll_dice") and not executor.has_executor("order_drink")
    with pytest.raises(
        ToolExecutionError,
        match="'order_drink' is declared in registry 'tavern' but has no executor",
    ):
        executor.execute("order_drink", {"drink": "ale"})


def test_from_composed_hydra_config() -> None:
    """configs/tools/default.yaml composes against the ToolsConfig schema, seed interpolated."""
    register_configs()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(overrides=["+tools=default", "+seed=7"])
    executor = ToolExecutor.from_config(cfg.tools)
    assert executor.seed == 7 and executor.registry.name == "default"
    assert executor.registry.digest() == ToolRegistry.default().digest()
    assert executor.srd.edition == "2014"
