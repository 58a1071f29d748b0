"""Records in the Hugging Face chat convention, and corpus stats."""

from __future__ import annotations

import json
import re
from pathlib import Path

from dnd_ft.scenarios import compute_stats, format_stats, load_corpus, parse_file, to_records
from dnd_ft.tools.registry import ToolRegistry


def test_goblin_record_has_hf_shape(fixtures: Path, registry: ToolRegistry) -> None:
    path = fixtures / "good" / "goblin_ambush.md"
    (scenario,) = parse_file(path, registry).scenarios
    (record,) = to_records(scenario, registry)
    assert set(record) == {
        "id",
        "scenario_id",
        "flow",
        "category",
        "tags",
        "tools",
        "messages",
        "source",
    }
    assert record["id"] == "goblin-ambush/ambush"
    assert (record["scenario_id"], record["flow"], record["category"]) == (
        "goblin-ambush",
        "Ambush",
        "combat",
    )
    assert record["tags"] == ["goblins", "initiative"]
    assert record["source"] == f"{path}:19"
    assert record["tools"] == registry.schemas(["roll_dice", "lookup_monster", "start_initiative"])
    assert record["tools"][0]["type"] == "function"
    assert record["tools"][0]["function"]["name"] == "roll_dice"
    assert record["messages"] == [
        {"role": "system", "content": scenario.system},
        {"role": "user", "name": "Thorin", "content": "I draw my axe and charge the nearest goblin!"},
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
            "name": "roll_dice", "arguments": {"notation": "1d20+5", "reason": "Thorin attack roll"}}}]},
        {"role": "tool", "name": "roll_dice", "content": '{"total":17,"rolls":[12],"modifier":5}'},
        {"role": "assistant", "content": "A 17 hits! Your axe bites into the goblin's shield arm..."},
    ]  # fmt: skip


def test_multi_flow_records_share_system(fixtures: Path, registry: ToolRegistry) -> None:
    (scenario,) = parse_file(fixtures / "good" / "parallel_shorthand.md", registry).scenarios
    records = to_records(scenario, registry)
    assert [r["id"] for r in records] == ["bridge-troll/parley", "bridge-troll/2"]
    assert records[0]["messages"][0] == records[1]["messages"][0]
    user = records[1]["messages"][1]
    assert user == {"role": "user", "content": "We rush the troll."}  # no (Name): no "name"
    parallel = records[1]["messages"][2]
    assert [c["function"]["name"] for c in parallel["tool_calls"]] == ["roll_dice", "add_condition"]
    assert [m["role"] for m in records[1]["messages"]] == [
        "system", "user", "assistant", "tool", "tool", "assistant", "user", "assistant"]  # fmt: skip
    json.dumps(records)  # plain JSON types only


def test_stats(fixtures: Path, registry: ToolRegistry) -> None:
    stats = compute_stats(load_corpus([fixtures / "good"], registry).scenarios)
    assert (stats.scenarios, stats.flows, stats.turns) == (2, 3, 16)
    assert dict(stats.turns_by_role) == {"player": 4, "dm": 7, "tool": 5}
    assert dict(stats.calls_by_tool) == {"roll_dice": 2, "ability_check": 1, "lookup_monster": 1,
                                          "add_condition": 1}  # fmt: skip
    assert (stats.tool_call_turns, stats.parallel_call_turns, stats.no_tool_dm_turns) == (3, 2, 4)
    assert dict(stats.scenarios_by_category) == {"combat": 1, "social": 1}
    text = format_stats(stats)
    assert re.search(r"\n  mean turns per flow +5\.33\n", text)
    assert re.search(r"\n  parallel-call DM turns +2\n", text)
    assert re.search(r"\n  roll_dice +2\n", text)
