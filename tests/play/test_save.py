"""Sessions become scenarios: the saved file parses back to the session and lints clean,
whatever the model wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dnd_ft.agent.save import NO_ANSWER, NO_REPLY, make_id, to_scenario_markdown
from dnd_ft.scenarios import parse_file, parse_text, to_records
from dnd_ft.tools.registry import ToolRegistry
from tests.play.helpers import REPO_ROOT, call, dm, scripted_session

REGISTRY = ToolRegistry.default()


def saved(session, name: str = "my-session"):
    out = to_scenario_markdown(session.context, session.messages, REGISTRY, scenario_id=name)
    result = parse_text(out.text, f"{name}.md", REGISTRY)
    assert not result.problems, "\n".join(map(str, result.problems)) + "\n" + out.text
    return out, result.scenarios[0]


@pytest.mark.parametrize("model", ["tiny_gemma3", "tiny_qwen3"])
def test_a_session_parses_back_to_its_messages(model: str) -> None:
    session, _ = scripted_session(model, [
        dm("Swing!", call("roll_dice", notation="1d20+5", reason="Thorin attack")),
        dm("A hit.", call("apply_damage", target="Goblin", amount=6, damage_type="slashing")),
        dm("The goblin falls."),
        dm("Elara's turn: what do you do?"),
    ])  # fmt: skip
    session.player("I attack the goblin")
    session.player("I wait", name="Elara")
    out, scenario = saved(session)
    assert out.notes == []
    assert (scenario.id, scenario.category, scenario.system) == ("my-session", "combat",
                                                                 session.context.system)  # fmt: skip
    assert scenario.tools == session.context.tools and "play-session" in scenario.tags
    (record,) = to_records(scenario, REGISTRY)
    assert record["messages"] == session.messages
    assert record["tools"] == session.tools


def test_what_a_scenario_cannot_hold_is_repaired_and_reported() -> None:
    session, _ = scripted_session("tiny_qwen3", [
        # a call to a tool not offered, one with bad arguments, and a good one
        dm("Let me see.", call("heal", target="Thorin", amount=1), call("roll_dice", dice="1d20"),
           call("roll_dice", notation="1d20")),
        "<tool_call>\n{broken\n</tool_call><|im_end|>",  # malformed
        dm("### DM\n```tool_call\nroll_dice(notation=\"1d4\")\nand <!-- more\nHeading\n---"),
        dm(""),  # an empty reply
    ])  # fmt: skip
    session.player("### Player (Mallory)\nI cheat")
    session.player("and now?")
    out, scenario = saved(session)
    notes = "\n".join(out.notes)
    assert "'heal' is not offered" in notes and "roll_dice(dice='1d20')" in notes
    assert "malformed" in notes and "escaped" in notes and "empty DM reply" in notes
    player, first, result, second, player2, empty = scenario.flows[0].turns
    assert first.content == "Let me see." and [c.name for c in first.tool_calls] == ["roll_dice"]
    assert result.speaker == "roll_dice" and json.loads(result.content)["notation"] == "1d20"
    # the text that looked like structure is kept, escaped, in one DM turn (two merged: the
    # malformed call's turn and the one after it)
    assert second.content.splitlines()[:2] == ["\\### DM", "\\```tool_call"]
    assert not second.tool_calls and player.content.startswith("\\### Player")
    assert (player2.role, empty.content) == ("player", NO_REPLY)


def test_a_capped_turn_gets_a_closing_dm_turn() -> None:
    again = dm("", call("roll_dice", notation="1d4"))
    session, _ = scripted_session("tiny_gemma3", [again, again], max_rounds=2)
    session.player("roll forever")
    out, scenario = saved(session)
    turns = scenario.flows[0].turns
    assert [t.role for t in turns] == ["player", "dm", "tool", "dm", "tool", "dm"]
    assert turns[-1].content == NO_ANSWER and "round cap" in out.notes[0]


def test_nothing_to_save_before_the_first_line() -> None:
    session, _ = scripted_session("tiny_qwen3", [])
    with pytest.raises(ValueError, match="at least one player line"):
        to_scenario_markdown(session.context, session.messages, REGISTRY, scenario_id="x")


def test_ids_from_file_names() -> None:
    assert make_id("my session (2)") == "my-session-2"
    assert make_id("_x") == "x" and make_id("2026-12-01") == "2026-12-01"
    assert make_id("###").startswith("session")


def test_the_saved_file_lints_and_exports_on_the_command_line(tmp_path: Path) -> None:
    session, _ = scripted_session("tiny_qwen3", [
        dm("", call("roll_dice", notation="2d6+1")), dm("Done."),
    ])  # fmt: skip
    session.player("I roll damage")
    path = tmp_path / "played.md"
    path.write_text(saved(session, "played")[0].text, encoding="utf-8")
    for args in (["lint", str(path)], ["export", str(path), "--out", str(tmp_path / "o.jsonl")]):
        proc = subprocess.run([sys.executable, "-m", "dnd_ft.scenarios", *args], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
    (row,) = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert row["id"] == "played/play-session" and row["messages"] == session.messages


def test_a_corpus_scenario_keeps_its_system_and_tools(tmp_path: Path) -> None:
    from dnd_ft.agent.session import Context

    source = parse_file(REPO_ROOT / "scenarios/combat/goblin-ambush-trade-road.md", REGISTRY)
    context = Context.from_scenario(source.scenarios[0], "ambush at dusk")
    messages = [{"role": "system", "content": context.system},
                {"role": "user", "name": "Pip", "content": "hi"}, dm("Hello.")]  # fmt: skip
    text = to_scenario_markdown(context, messages, REGISTRY, scenario_id="goblins-played").text
    (scenario,) = parse_text(text, "g.md", REGISTRY).scenarios
    assert scenario.system == source.scenarios[0].system
    assert scenario.flows[0].title == "Ambush at Dusk" and scenario.category == "combat"
    with pytest.raises(ValueError, match="no conversation titled 'nope'"):
        Context.from_scenario(source.scenarios[0], "nope")
