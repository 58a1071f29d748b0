"""Augmentation: seeded, consistent rewrites backed by the real executors and SRD data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from dnd_ft.data.augment import AugmentContext, augment_records, enabled_techniques
from dnd_ft.data.augment.common import iter_calls, result_of
from dnd_ft.data.augment.srd import plural
from dnd_ft.data.config import AugmentConfig
from dnd_ft.scenarios.corpus import load_corpus
from dnd_ft.scenarios.records import iter_records
from dnd_ft.tools import SRD, ToolRegistry
from tests.data.conftest import SCENARIOS


@pytest.fixture(scope="module")
def ctx() -> Iterator[AugmentContext]:
    registry = ToolRegistry.default()
    context = AugmentContext(registry)
    yield context
    context.srd.close()


@pytest.fixture(scope="module")
def records(ctx: AugmentContext) -> dict[str, dict[str, Any]]:
    corpus = load_corpus([SCENARIOS], ctx.registry)
    return {r["id"]: r for r in iter_records(corpus.scenarios, ctx.registry)}


def run(
    technique: str, record: dict[str, Any], ctx: AugmentContext, seed: int = 7
) -> dict[str, Any]:
    [out] = augment_records([record], [technique], copies=1, seed=seed, ctx=ctx)
    return out


def test_augmentation_is_off_by_default() -> None:
    assert enabled_techniques(AugmentConfig()) == []
    assert enabled_techniques(AugmentConfig(enabled=True, dice_variety=False)) == [
        "entities",
        "srd",
        "irrelevance",
    ]


def test_rows_are_marked_seeded_and_the_input_kept(
    records: dict[str, Any], ctx: AugmentContext
) -> None:
    record = records["wolf-pack/bowshot"]
    before = json.dumps(record)
    a, b = run("entities", record, ctx), run("entities", record, ctx)
    assert a == b and json.dumps(record) == before
    assert (a["id"], a["augmented"], a["augmentation"], a["scenario_id"]) == (
        "wolf-pack/bowshot~entities-1",
        True,
        "entities",
        "wolf-pack",
    )
    assert run("entities", record, ctx, seed=8) != a
    many = augment_records([record], ["entities"], copies=3, seed=7, ctx=ctx)
    assert [r["id"] for r in many] == [f"wolf-pack/bowshot~entities-{k}" for k in (1, 2, 3)]


def test_entity_names_change_consistently_everywhere(
    records: dict[str, Any], ctx: AugmentContext
) -> None:
    out = run("entities", records["market-haggle/saffron"], ctx)
    text = json.dumps(out, ensure_ascii=False)
    assert not re.search(r"\b(Tobias|Greta|Vell)\b", text)
    player = out["messages"][1]["name"]
    call = out["messages"][2]["tool_calls"][0]["function"]["arguments"]
    assert (
        call["character"] == player
        and json.loads(out["messages"][3]["content"])["character"] == player
    )
    assert out["messages"][4]["content"].endswith(f'{player}."')


def test_srd_lookups_swap_to_a_real_entry_with_its_real_result(
    records: dict[str, Any], ctx: AugmentContext
) -> None:
    out = run("srd", records["wolf-pack/bowshot"], ctx)
    [ref] = [r for r in iter_calls(out["messages"]) if r.name == "lookup_monster"]
    new = ref.arguments["name"]
    assert new != "Wolf" and new in SRD.monster_names(ctx.srd)
    assert result_of(out["messages"], ref) == json.loads(json.dumps(ctx.srd.monster(new)))
    assert ctx.srd.monster(new)["type"].startswith("beast")  # same creature type as a wolf
    later = out["messages"][ref.result + 1]["content"]
    assert later.startswith(f"{plural(new)}:") and "Wol" not in later


def test_dice_variety_rerolls_with_the_executor_and_requotes(
    records: dict[str, Any], ctx: AugmentContext
) -> None:
    out = run("dice", records["ogre-bridge/swing"], ctx)
    [ref] = list(iter_calls(out["messages"]))
    notation = ref.arguments["notation"]
    assert notation != "1d20+5" and notation.startswith("1d20")
    result = result_of(out["messages"], ref)
    assert (
        result["notation"] == notation
        and result["total"] == sum(result["rolls"]) + result["modifier"]
    )
    assert out["messages"][ref.result + 1]["content"] == f"A {result['total']} hits the ogre."


def test_rolls_that_feed_a_later_call_are_left_alone(ctx: AugmentContext) -> None:
    record = {"id": "x/y", "scenario_id": "x", "messages": [
        {"role": "user", "content": "Hit it."},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "roll_dice", "arguments": {"notation": "2d6+3"}}}]},
        {"role": "tool", "name": "roll_dice", "content": '{"total": 9, "rolls": [2, 4], "modifier": 3}'},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "apply_damage", "arguments": {"target": "Ogre", "amount": 9}}}]},
        {"role": "tool", "name": "apply_damage", "content": '{"target": "Ogre", "hp": 50}'},
    ]}  # fmt: skip
    assert augment_records([record], ["dice"], copies=1, seed=1, ctx=ctx) == []


def test_irrelevance_adds_a_tool_free_exchange(
    records: dict[str, Any], ctx: AugmentContext
) -> None:
    record = records["riddle-door/study"]
    out = run("irrelevance", record, ctx)
    assert out["messages"][:-2] == record["messages"]
    asked, answered = out["messages"][-2:]
    assert asked["role"] == "user" and asked["name"] == "Mira"
    assert (
        answered["role"] == "assistant"
        and "tool_calls" not in answered
        and "{name}" not in answered["content"]
    )
