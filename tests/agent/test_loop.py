"""The tool loop with a scripted model: calls run, results go back, errors never crash."""

from __future__ import annotations

import json

import pytest

from dnd_ft.agent.loop import MALFORMED_TOOL, ToolLoop
from dnd_ft.chat.formats import get_format
from dnd_ft.tools.executors import ToolExecutor
from dnd_ft.tools.registry import ToolRegistry

CHAT = [
    {"role": "system", "content": "You are the DM."},
    {"role": "user", "content": "I attack the goblin!", "name": "Brenna"},
]


def scripted(*outputs: str):
    """A model that writes ``outputs`` in order, remembering the prompts it was given."""
    prompts: list[str] = []
    queue = list(outputs)

    def generate(prompt: str) -> str:
        prompts.append(prompt)
        return queue.pop(0)

    generate.prompts = prompts  # type: ignore[attr-defined]
    return generate


def hermes_call(name: str, arguments: dict) -> str:
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"


@pytest.fixture
def setup():
    registry = ToolRegistry.default()
    return get_format("hermes", think=False), registry, ToolExecutor(registry, seed=7)


def test_a_call_runs_and_its_result_goes_back(setup) -> None:
    fmt, registry, executor = setup
    gen = scripted(hermes_call("roll_dice", {"notation": "1d20+5"}), "A 17 hits.")
    turn = ToolLoop(fmt, registry, executor, gen).turn(CHAT, registry.schemas())
    call, result, reply = turn.events
    assert (call.kind, call.name, result.kind, reply.kind) == (
        "call",
        "roll_dice",
        "result",
        "reply",
    )
    total = result.result["total"]
    assert 6 <= total <= 25 and reply.text == "A 17 hits."
    assert [m["role"] for m in turn.messages] == ["assistant", "tool", "assistant"]
    # the second generation saw the executed result in the family's own format
    assert f'"total":{total}' in gen.prompts[1] and "<tool_response>" in gen.prompts[1]
    assert turn.rounds == 2 and not turn.capped


def test_bad_arguments_and_malformed_calls_become_error_results(setup) -> None:
    fmt, registry, executor = setup
    gen = scripted(
        hermes_call("roll_dice", {"dice": "1d20"}) + "\n<tool_call>\n{not json\n</tool_call>",
        "Let me try again.",
    )
    turn = ToolLoop(fmt, registry, executor, gen).turn(CHAT, registry.schemas())
    kinds = [e.kind for e in turn.events]
    assert kinds == ["call", "error", "malformed", "reply"]
    assert "notation" in turn.events[1].result["error"]  # what the schema wanted
    tools = [m for m in turn.messages if m["role"] == "tool"]
    assert [m["name"] for m in tools] == ["roll_dice", MALFORMED_TOOL]
    assert "could not be parsed" in json.loads(tools[1]["content"])["error"]


def test_the_round_cap_stops_a_model_that_only_calls(setup) -> None:
    fmt, registry, executor = setup
    gen = scripted(*[hermes_call("roll_dice", {"notation": "1d4"})] * 3)
    turn = ToolLoop(fmt, registry, executor, gen, max_rounds=3).turn(CHAT, registry.schemas())
    assert turn.capped and turn.rounds == 3 and turn.events[-1].kind == "cap"
    assert len(turn.calls) == 3


def test_gemma_calls_run_through_the_same_loop() -> None:
    registry = ToolRegistry.default()
    fmt = get_format("functiongemma")
    call = fmt.render([*CHAT, {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "roll_dice", "arguments": {"notation": "2d6"}}}
    ]}], registry.schemas())  # fmt: skip
    # the call exactly as the format writes it, cut from a rendered conversation
    written = call.text[call.call_spans[0][0] : call.call_spans[0][1]]
    gen = scripted(written, "Seven damage.")
    turn = ToolLoop(fmt, registry, ToolExecutor(registry, seed=1), gen).turn(
        CHAT, registry.schemas()
    )
    assert [e.kind for e in turn.events] == ["call", "result", "reply"]
    assert 2 <= turn.events[1].result["total"] <= 12
