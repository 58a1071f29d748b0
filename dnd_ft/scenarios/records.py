"""Turn parsed scenarios into chat records in the Hugging Face convention.

One record per flow::

    {"id": "goblin-ambush/ambush", "scenario_id": "goblin-ambush", "flow": "Ambush",
     "category": "combat", "tags": [...], "tools": [<HF function schemas>],
     "messages": [{"role": "system", ...}, {"role": "user", "name": "Thorin", ...},
                  {"role": "assistant", "content": "", "tool_calls": [
                      {"type": "function", "function": {"name": ..., "arguments": {...}}}]},
                  {"role": "tool", "name": "roll_dice", "content": "{...}"}, ...],
     "source": "scenarios/combat/goblin-ambush.md:20"}

Arguments stay dicts here; the data stage decides how to store them (Arrow merges dict keys
across rows, so it may serialise them to JSON strings).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from dnd_ft.scenarios.model import Scenario, Turn

if TYPE_CHECKING:
    from dnd_ft.tools.registry import ToolRegistry


def to_records(scenario: Scenario, registry: ToolRegistry) -> list[dict[str, Any]]:
    """One chat record per flow of ``scenario``; ``tools`` holds the offered tools' schemas."""
    records = []
    for flow in scenario.flows:
        messages: list[dict[str, Any]] = [{"role": "system", "content": scenario.system}]
        messages += [_message(turn) for turn in flow.turns]
        records.append({
            "id": f"{scenario.id}/{flow.slug}",
            "scenario_id": scenario.id,
            "flow": flow.title,
            "category": scenario.category,
            "tags": list(scenario.tags),
            "tools": registry.schemas(scenario.tools),  # fresh dicts: records share nothing
            "messages": messages,
            "source": f"{scenario.path}:{flow.line}",
        })  # fmt: skip
    return records


def iter_records(scenarios: Iterable[Scenario], registry: ToolRegistry) -> Iterator[dict]:
    """Records of all ``scenarios`` in order."""
    for scenario in scenarios:
        yield from to_records(scenario, registry)


def _message(turn: Turn) -> dict[str, Any]:
    if turn.role == "player":
        message: dict[str, Any] = {"role": "user", "content": turn.content}
        if turn.speaker:
            message["name"] = turn.speaker
        return message
    if turn.role == "tool":
        return {"role": "tool", "name": turn.speaker, "content": turn.content}
    message = {"role": "assistant", "content": turn.content}
    if turn.tool_calls:
        message["tool_calls"] = [
            {"type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in turn.tool_calls
        ]
    return message
