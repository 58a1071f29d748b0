"""Session: the tool loop on a scripted model in each tiny model's format, undo, state."""

from __future__ import annotations

import json

import pytest

from dnd_ft.agent.loop import MALFORMED_TOOL
from dnd_ft.tools.executors.dice import roll
from tests.play.helpers import FORMATS, call, dm, scripted_session

MODELS = sorted(FORMATS)


@pytest.mark.parametrize("model", MODELS)
def test_a_dice_call_runs_and_its_result_goes_back_to_the_model(model: str) -> None:
    session, generate = scripted_session(model, [
        dm("Swing!", call("roll_dice", notation="1d20+5", reason="Thorin attack")),
        dm("A solid hit."),
    ])  # fmt: skip
    turn = session.player("I attack the goblin")
    assert [e.kind for e in turn.events] == ["reply", "call", "result", "reply"]
    result = turn.events[2].result
    assert result is not None and result["notation"] == "1d20+5"
    assert 6 <= result["total"] <= 25 and result["total"] == result["rolls"][0] + 5
    # the executed total is in the second prompt, in the family's tool-result format
    assert len(generate.prompts) == 2
    fed_back = generate.prompts[1].replace(" ", "").replace('"', "")  # JSON or FunctionGemma's
    assert f"total:{result['total']}" in fed_back
    assert [m["role"] for m in session.messages] == ["system", "user", "assistant", "tool",
                                                     "assistant"]  # fmt: skip
    assert session.messages[1] == {"role": "user", "content": "I attack the goblin",
                                   "name": "Thorin"}  # fmt: skip
    assert json.loads(session.messages[3]["content"]) == result


def test_the_dice_are_seeded_by_the_executor() -> None:
    session, _ = scripted_session("tiny_qwen3", [
        dm("", call("roll_dice", notation="3d6")), dm("ok"),
    ], seed=11)  # fmt: skip
    turn = session.player("roll")
    import random

    assert turn.events[1].result == {k: v for k, v in roll("3d6", random.Random(11)).items()
                                     if k in ("notation", "total", "rolls", "modifier")}  # fmt: skip


def test_undo_restores_messages_and_executor_state() -> None:
    session, _ = scripted_session("tiny_gemma3", [
        dm("Ouch.", call("apply_damage", target="Thorin", amount=5)), dm("Thorin reels."),
        dm("", call("roll_dice", notation="1d20")), dm("rolled"),
        dm("", call("roll_dice", notation="1d20")), dm("rolled again"),
    ])  # fmt: skip
    session.player("the goblin stabs me")
    assert session.state()["combatants"]["Thorin"]["hp"] == 23
    kept = [dict(m) for m in session.messages]
    first = session.player("I roll").events[1].result
    assert session.undo() is not None
    assert session.messages == kept
    assert session.state()["combatants"]["Thorin"]["hp"] == 23  # the damage before stays
    # the dice are back where they were: the same roll comes up again
    assert session.player("I roll").events[1].result == first
    assert session.undo() and session.undo()
    assert session.state()["combatants"]["Thorin"]["hp"] == 28
    assert len(session.messages) == 1 and session.undo() is None


def test_a_malformed_call_is_fed_back_as_an_error_not_a_crash() -> None:
    broken = "<tool_call>\n{not json}\n</tool_call><|im_end|>"
    session, generate = scripted_session("tiny_qwen3", [broken, dm("Let me try again.")])
    turn = session.player("I attack")
    assert [e.kind for e in turn.events] == ["malformed", "reply"]
    error = session.messages[3]
    assert error["role"] == "tool" and error["name"] == MALFORMED_TOOL
    assert "could not be parsed" in json.loads(error["content"])["error"]
    assert "could not be parsed" in generate.prompts[1]


def test_the_round_cap_ends_a_turn_that_keeps_calling() -> None:
    again = dm("", call("roll_dice", notation="1d4"))
    session, _ = scripted_session("tiny_qwen3", [again, again, again], max_rounds=2)
    turn = session.player("roll forever")
    assert turn.capped and turn.rounds == 2 and turn.events[-1].kind == "cap"
    assert session.messages[-1]["role"] == "tool"


def test_a_failed_turn_leaves_the_session_as_it_was() -> None:
    session, generate = scripted_session("tiny_qwen3", [
        dm("", call("apply_damage", target="Elara", amount=4)),
    ])  # fmt: skip

    def explode_second_round(prompt: str) -> str:
        if generate.prompts:
            raise KeyboardInterrupt
        return generate(prompt)

    session.loop.generate = explode_second_round
    with pytest.raises(KeyboardInterrupt):
        session.player("hit Elara")
    assert len(session.messages) == 1
    assert session.state()["combatants"]["Elara"]["hp"] == 14
