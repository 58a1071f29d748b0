"""Lint messages point at the line to fix, and one mistake gives one message.

A misspelt tool name or broken JSON used to bring follow-on messages (the call "never
answered", its result "answers no call", ...) and JSON errors named the closing fence.
Each case here asserts the exact ``file:line: message`` list.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dnd_ft.scenarios import parse_text
from dnd_ft.scenarios.cli import main
from dnd_ft.tools.registry import ToolRegistry

_JSON_HINT = 'expected {"name": "TOOL", "arguments": {...}} or a list of them'


def _registry_note(registry: ToolRegistry) -> str:
    return f"(registry 'default' has {', '.join(registry.names())})"


def test_lint_names_the_bad_line_once_per_mistake(
    fixtures: Path, registry: ToolRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    """The four reported cases, through ``python -m dnd_ft.scenarios lint``."""
    bad = fixtures / "bad"
    names = [
        "bad_call_json_third_line.md",  # bad JSON on the 3rd line inside the fence
        "bad_result_json_inner.md",  # bad JSON on the 2nd line of a tool result
        "misspelt_tool_in_call.md",  # roll_die(...) answered by '### Tool: roll_dice'
        "misspelt_tool_in_result.md",  # roll_dice(...) answered by '### Tool: roll_dcie'
    ]
    assert main(["lint", *(str(bad / name) for name in names)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"{bad / names[0]}:19: invalid JSON in tool_call block: Expecting value; {_JSON_HINT}",
        f"{bad / names[1]}:23: invalid JSON in tool result: Expecting value",
        f"{bad / names[2]}:17: unknown tool 'roll_die'; did you mean roll_dice? "
        + _registry_note(registry),
        f"{bad / names[3]}:20: unknown tool 'roll_dcie' in '### Tool: roll_dcie'; it answers "
        "the call to 'roll_dice' (line 17): write '### Tool: roll_dice'",
    ]
    assert err == "4 problem(s) in 4 file(s); 0 valid scenario(s)\n"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bad_call_json_at_end.md",  # no closing '}': the last JSON line, not the fence
         [f"18: invalid JSON in tool_call block: Expecting ',' delimiter; {_JSON_HINT}"]),
        ("missing_comma_in_call.md",  # the line the ',' is missing from, not the next one
         [f"18: invalid JSON in tool_call block: Expecting ',' delimiter; {_JSON_HINT}"]),
        ("bad_result_json.md", ["22: invalid JSON in tool result: Expecting ',' delimiter"]),
        ("empty_result_json.md",
         ["21: empty ```json block in tool result; put the tool's output in it as JSON"]),
        ("bad_call_json.md",  # and its result is not "a result without a call"
         ["18: invalid JSON in tool_call block: Expecting property name enclosed in double "
          f"quotes; {_JSON_HINT}"]),
        ("broken_call_then_dm.md",  # not also "two DM turns in a row"
         ["17: cannot parse tool call: '(' was never closed; expected one call per line, like "
          'roll_dice(notation="1d20", reason="attack")']),
        ("misspelt_tool_unanswered.md", None),  # not also "never answered"
        ("wrong_result_name.md",
         ["20: tool result 'lookup_monster' does not match the call it answers, 'roll_dice' "
          "(line 17): write '### Tool: roll_dice', or call 'lookup_monster'"]),
        ("call_names_wrong_tool.md",  # not also its bad arguments, nor its result
         ["17: tool call 'lookup_monster' names the wrong tool: its arguments and its result "
          "('### Tool: roll_dice', line 20) are those of 'roll_dice'; call 'roll_dice'"]),
        ("missing_first_result.md",  # not also "lookup_monster is out of order"
         ["17: tool call 'roll_dice' is never answered; add a '### Tool: roll_dice' turn right "
          "after this DM turn"]),
        ("unknown_tool_listed_and_called.md",  # the call is not reported again
         ["4: unknown tool 'cast_fireball' in 'tools'; known tools: "
          + ", ".join(ToolRegistry.default().names())]),
        ("not_offered_twice.md",  # one missing 'tools:' entry, reported at its first call
         ["17: tool 'lookup_monster' is not offered by this scenario; add it to 'tools:' in "
          "the front matter"]),
        ("unclosed_result_fence.md",  # the swallowed rest is neither JSON nor a bad ending
         ["21: code fence '```json' is never closed; add a closing fence line"]),
        ("misspelt_section.md",  # not also "missing '## System'" and "no '## Conversation'"
         ["6: unknown section '## Sytem' (did you mean '## System'?); expected '## System' or "
          "'## Conversation: Title'",
          "9: unknown section '## Conversations' (did you mean '## Conversation'?); expected "
          "'## System' or '## Conversation: Title'"]),
    ],
)  # fmt: skip
def test_bad_fixture_messages(
    fixtures: Path, registry: ToolRegistry, name: str, expected: list[str] | None
) -> None:
    path = fixtures / "bad" / name
    if expected is None:
        expected = [
            f"17: unknown tool 'roll_die'; did you mean roll_dice? {_registry_note(registry)}"
        ]
    text = path.read_text(encoding="utf-8")
    got = [str(p) for p in parse_text(text, path, registry).problems]
    assert got == [f"{path}:{line}" for line in expected]


_HEAD = (
    "---\nid: t\ncategory: combat\ntools: [roll_dice, lookup_monster]\n---\n"
    "## System\nDM.\n## Conversation\n### Player\nHit it.\n### DM\n"
)  # the DM turn is line 11: what follows it starts on line 12


def _problems(body: str, registry: ToolRegistry, head: str = _HEAD) -> list[str]:
    return [str(p) for p in parse_text(head + body, "t.md", registry).problems]


def _result(name: str, payload: str = "{}") -> str:
    return f"### Tool: {name}\n```json\n{payload}\n```\n"


def test_unknown_call_among_parallel_calls_pairs_with_its_result(registry: ToolRegistry) -> None:
    body = (
        "```tool_call\nroll_die(notation='1d20')\nlookup_monster(name='Orc')\n```\n"
        + _result("roll_dice")
        + _result("lookup_monster")
        + "### DM\nOk.\n"
    )
    assert _problems(body, registry) == [
        f"t.md:13: unknown tool 'roll_die'; did you mean roll_dice? {_registry_note(registry)}"
    ]


def test_misspelt_result_and_an_order_mistake_are_two_messages(registry: ToolRegistry) -> None:
    body = (
        "```tool_call\nroll_dice(notation='1d20')\nlookup_monster(name='Orc')\n```\n"
        + _result("lookup_monster")  # line 16: answers the second call first
        + _result("roll_dce")  # line 20: misspelt
        + "### DM\nOk.\n"
    )
    assert _problems(body, registry) == [
        "t.md:16: tool result 'lookup_monster' is out of order: the next call to answer is "
        "'roll_dice' (line 13); answer calls in the order made",
        "t.md:20: unknown tool 'roll_dce' in '### Tool: roll_dce'; it answers the call to "
        "'roll_dice' (line 13): write '### Tool: roll_dice'",
    ]


@pytest.mark.parametrize(
    ("calls", "results", "expected"),
    [
        # the misspelt first result does not take the second call's name
        (["lookup_monster(name='Orc')", "roll_dice(notation='1d20')"],
         ["roll_dice", "roll_dice"],
         ["t.md:16: tool result 'roll_dice' does not match the call it answers, "
          "'lookup_monster' (line 13): write '### Tool: lookup_monster', or call 'roll_dice'"]),
        # the first of two roll_dice calls has no result; the others are in order
        (["roll_dice(notation='1d20')", "lookup_monster(name='Orc')", "roll_dice(notation='1d6')"],
         ["lookup_monster", "roll_dice"],
         ["t.md:13: tool call 'roll_dice' is never answered; add a '### Tool: roll_dice' turn "
          "right after this DM turn"]),
        # an unknown call answered as meant, among calls of the same tool
        (["roll_die(notation='1d20')", "roll_dice(notation='1d6')"],
         ["roll_dice", "roll_dice"],
         ["t.md:13: unknown tool 'roll_die'; did you mean roll_dice? {note}"]),
        # a result for each call, swapped: one message, at the result that jumps ahead
        (["roll_dice(notation='1d20')", "lookup_monster(name='Orc')"],
         ["lookup_monster", "roll_dice"],
         ["t.md:16: tool result 'lookup_monster' is out of order: the next call to answer is "
          "'roll_dice' (line 13); answer calls in the order made"]),
    ],
)  # fmt: skip
def test_results_are_matched_to_calls_one_message_per_mistake(
    registry: ToolRegistry, calls: list[str], results: list[str], expected: list[str]
) -> None:
    body = "```tool_call\n" + "\n".join(calls) + "\n```\n"
    body += "".join(_result(name) for name in results) + "### DM\nOk.\n"
    note = _registry_note(registry)
    assert _problems(body, registry) == [line.format(note=note) for line in expected]


def test_result_without_call_with_an_unknown_name_is_one_message(registry: ToolRegistry) -> None:
    assert _problems("Rolling.\n" + _result("roll_dce") + "### DM\nOk.\n", registry) == [
        "t.md:13: tool result 'roll_dce' answers no call: a '### Tool: roll_dce' turn must "
        "follow a DM turn that calls 'roll_dce'; 'roll_dce' is not a known tool (did you mean "
        "'roll_dice'?)"
    ]


def test_tool_not_offered_is_reported_once_per_file(registry: ToolRegistry) -> None:
    call = "```tool_call\nheal(target='Pip', amount=3)\n```\n" + _result("heal") + "### DM\nOk.\n"
    body = call + "## Conversation: Two\n### Player\nAgain.\n### DM\n" + call
    assert _problems(body, registry) == [
        "t.md:13: tool 'heal' is not offered by this scenario; add it to 'tools:' in the "
        "front matter"
    ]


def test_unclosed_tool_call_fence_is_not_parsed_as_calls(registry: ToolRegistry) -> None:
    body = "```tool_call\nroll_dice(notation='1d20')\n" + "### Tool: roll_dice\n{}\n"
    assert _problems(body, registry) == [
        "t.md:12: code fence '```tool_call' is never closed; add a closing fence line"
    ]


def test_unclosed_fence_in_system_swallows_the_conversations(registry: ToolRegistry) -> None:
    text = "---\nid: t\ncategory: combat\n---\n## System\nDM.\n```\n## Conversation\n### Player\n"
    assert [str(p) for p in parse_text(text, "t.md", registry).problems] == [
        "t.md:7: code fence '```' is never closed; add a closing fence line"
    ]


@pytest.mark.parametrize(
    ("front_matter", "expected"),
    [
        ("id: t\ntags: [a, b\ncategory: combat",  # the '[' line, not the next key's
         "t.md:3: invalid YAML in front matter: while parsing a flow sequence: did not find "
         "expected ',' or ']'"),
        ('id: t\ntitle: "An\ncategory: combat',  # the opening quote's line
         "t.md:3: invalid YAML in front matter: while scanning a quoted scalar: found "
         "unexpected end of stream"),
        ("id: t\ncategory\ntags: [a]",  # the key without ':'
         "t.md:3: invalid YAML in front matter: while scanning a simple key: could not find "
         "expected ':'"),
        ("id: t\n  category: combat",
         "t.md:3: invalid YAML in front matter: mapping values are not allowed in this context"),
    ],
)  # fmt: skip
def test_yaml_errors_name_the_line_to_fix(
    registry: ToolRegistry, front_matter: str, expected: str
) -> None:
    text = (
        f"---\n{front_matter}\n---\n## System\nDM.\n## Conversation\n### Player\nQ?\n### DM\nA.\n"
    )
    assert [str(p) for p in parse_text(text, "t.md", registry).problems] == [expected]
