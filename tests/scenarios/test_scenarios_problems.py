"""One bad fixture per rule: each reports the exact line and what was expected."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from dnd_ft.scenarios import load_corpus, parse_file, parse_text
from dnd_ft.tools.registry import ToolRegistry

# fixture name -> [(line, message fragment)], every problem the file has, in order
BAD = {
    "missing_front_matter.md": [(1, "missing front matter: start the file with a '---' line")],
    "unclosed_front_matter.md": [(1, "front matter is never closed: add a '---' line")],
    "yaml_error.md": [(3, "invalid YAML in front matter: while parsing a flow sequence")],
    "unknown_key.md": [(3, "unknown front-matter key 'titel' (did you mean 'title'?); allowed keys: id, title, category, tags, tools")],
    "bad_category.md": [(3, "unknown category 'combatt' (did you mean 'combat'?); allowed: combat, exploration")],
    "missing_id.md": [(1, "front matter is missing required key 'id'")],
    "unknown_tool_listed.md": [(4, "unknown tool 'cast_fireball' in 'tools'; known tools: roll_dice")],
    "missing_system.md": [(6, "missing '## System' section")],
    "empty_system.md": [(7, "empty '## System' section")],
    "text_before_section.md": [(7, "text before the first section; expected '## System' or '## Conversation: Title'")],
    "unknown_section.md": [(10, "unknown section '## Notes'; expected '## System' or '## Conversation: Title'")],
    "h1_heading.md": [(7, "'# Goblin Fight': '#' headings are not used")],
    "no_conversation.md": [(7, "no '## Conversation' section")],
    "empty_conversation.md": [(28, "empty conversation; add a '### Player' turn and a '### DM' turn")],
    "system_after_conversation.md": [(28, "more than one '## System' section")],
    "duplicate_flow_title.md": [(28, "conversation title 'test!' gives the same record id 'test' as the conversation on line 10")],
    "text_before_turn.md": [(12, "text before the first turn; expected '### Player', '### Player (Name)', '### DM' or '### Tool: NAME'")],
    "unknown_turn.md": [(25, "unknown turn heading '### Narrator'; expected '### Player'")],
    "tool_heading_without_name.md": [(20, "bad tool name 'roll dice' in '### Tool: roll dice'; expected '### Tool: NAME'")],
    "empty_player_turn.md": [(12, "empty Player turn")],
    "empty_dm_turn.md": [(25, "empty DM turn")],
    "empty_tool_result.md": [(20, "empty tool result")],
    "bad_call_json.md": [(18, "invalid JSON in tool_call block: Expecting property name enclosed in double quotes")],
    "bad_shorthand_positional.md": [(17, "tool call 'roll_dice': positional arguments are not allowed")],
    "malicious_shorthand.md": [(17, "not a call of a plain tool name")],
    "json_literal_in_shorthand.md": [(17, "argument 'reason': 'null' is JSON spelling; write None")],
    "repeated_argument_shorthand.md": [(17, "tool call 'roll_dice': argument 'notation': given twice; keep one")],
    "repeated_argument_json.md": [(19, "key 'notation' is given twice in tool_call block; keep one")],
    "call_in_player_turn.md": [(14, "tool_call block outside a DM turn")],
    "starts_with_dm.md": [(12, "a conversation starts with a '### Player' turn, not '### DM'")],
    "ends_with_player.md": [(28, "the conversation ends with a Player turn")],
    "ends_with_tool.md": [(20, "the conversation ends with a tool result; add a '### DM' turn")],
    "unanswered_call.md": [(17, "tool call 'roll_dice' is never answered; add a '### Tool: roll_dice' turn")],
    "result_without_call.md": [(18, "tool result 'roll_dice' answers no call")],
    "results_out_of_order.md": [(21, "tool result 'lookup_monster' is out of order: the next call to answer is 'roll_dice' (line 17)")],
    "dm_after_dm.md": [(28, "two DM turns in a row; merge them")],
    "player_after_tool.md": [(25, "tool results must be followed by a '### DM' turn that uses them, not '### Player'")],
    "tool_not_offered.md": [(18, "tool 'lookup_monster' is not offered by this scenario; add it to 'tools:'")],
    "unknown_tool_call.md": [(17, "unknown tool 'roll_die'; did you mean roll_dice?")],
    "bad_arguments.md": [(17, "tool call 'roll_dice': bad arguments: Additional properties are not allowed ('bonus' was unexpected)")],
    # the JSON ends early (no '}'): the last line with JSON, not the closing fence after it
    "bad_result_json.md": [(22, "invalid JSON in tool result: Expecting ',' delimiter")],
    # the unclosed fence swallows the rest of the file, DM turn included: how the
    # conversation ends is unknown, so that is not reported as well
    "unclosed_fence.md": [(31, "code fence '```text' is never closed; add a closing fence line")],
    # in-fence errors point at the bad line inside the fence
    "bad_call_json_third_line.md": [(19, "invalid JSON in tool_call block: Expecting value")],
    "bad_call_json_at_end.md": [(18, "invalid JSON in tool_call block: Expecting ',' delimiter")],
    "missing_comma_in_call.md": [(18, "invalid JSON in tool_call block: Expecting ',' delimiter")],
    "bad_result_json_inner.md": [(23, "invalid JSON in tool result: Expecting value")],
    "empty_result_json.md": [(21, "empty ```json block in tool result")],
    # one mistake, one message: nothing more about the call, its result or the turn order
    "misspelt_tool_in_call.md": [(17, "unknown tool 'roll_die'; did you mean roll_dice?")],
    "misspelt_tool_unanswered.md": [(17, "unknown tool 'roll_die'; did you mean roll_dice?")],
    "misspelt_tool_in_result.md": [(20, "unknown tool 'roll_dcie' in '### Tool: roll_dcie'")],
    "call_names_wrong_tool.md": [(17, "tool call 'lookup_monster' names the wrong tool")],
    "wrong_result_name.md": [(20, "tool result 'lookup_monster' does not match the call it answers, 'roll_dice' (line 17)")],
    "missing_first_result.md": [(17, "tool call 'roll_dice' is never answered")],
    "broken_call_then_dm.md": [(17, "cannot parse tool call: '(' was never closed")],
    "unknown_tool_listed_and_called.md": [(4, "unknown tool 'cast_fireball' in 'tools'")],
    "not_offered_twice.md": [(17, "tool 'lookup_monster' is not offered by this scenario")],
    "unclosed_result_fence.md": [(21, "code fence '```json' is never closed")],
    "misspelt_section.md": [(6, "unknown section '## Sytem' (did you mean '## System'?)"),
                            (9, "unknown section '## Conversations' (did you mean '## Conversation'?)")],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_fixture(fixtures: Path, registry: ToolRegistry, name: str) -> None:
    path = fixtures / "bad" / name
    result = parse_file(path, registry)
    assert result.scenarios == []
    got = [(p.line, p.message) for p in result.problems]
    assert [line for line, _ in got] == [line for line, _ in BAD[name]], got
    for (_, message), (_, fragment) in zip(got, BAD[name], strict=True):
        assert fragment in message
    assert str(result.problems[0]) == f"{path}:{got[0][0]}: {got[0][1]}"


def test_every_bad_fixture_is_covered(fixtures: Path) -> None:
    assert sorted(p.name for p in (fixtures / "bad").glob("*.md")) == sorted(BAD)


def test_corpus_reports_every_bad_file_sorted(fixtures: Path, registry: ToolRegistry) -> None:
    result = load_corpus([fixtures / "bad", fixtures / "good"], registry)
    assert len(result.scenarios) == 2  # the good files still load
    assert {p.path.name for p in result.problems} == set(BAD)
    assert len(result.problems) == sum(len(v) for v in BAD.values())
    keys = [(str(p.path), p.line) for p in result.problems]
    assert keys == sorted(keys)


def test_duplicate_ids_across_files(fixtures: Path, registry: ToolRegistry) -> None:
    result = load_corpus([fixtures / "dupes"], registry)
    first, second = fixtures / "dupes" / "a_first.md", fixtures / "dupes" / "sub" / "b_second.md"
    assert [s.path for s in result.scenarios] == [first]
    assert [str(p) for p in result.problems] == [
        f"{second}:2: duplicate id 'goblin-ambush': already used by {first}:2 (ids are "
        "compared ignoring case); ids must be unique across the corpus"
    ]


def test_bad_encoding_reports_each_line(
    tmp_path: Path, registry: ToolRegistry, fixtures: Path
) -> None:
    good = (fixtures / "good" / "goblin_ambush.md").read_bytes()
    lines = good.split(b"\n")
    lines[9] = lines[9].replace(b"Keep", b"K\xe9ep")  # latin-1 e-acute
    lines[13] += b" \xff\xfe"
    path = tmp_path / "latin1.md"
    path.write_bytes(b"\n".join(lines))
    result = parse_file(path, registry)
    assert result.scenarios == []
    col10, col14 = lines[9].index(b"\xe9") + 1, lines[13].index(b"\xff") + 1
    assert (col10, col14) == (51, 47)
    assert [str(p) for p in result.problems] == [
        f"{path}:10: invalid UTF-8 byte 0xe9 at column 51; re-save the file as UTF-8",
        f"{path}:14: invalid UTF-8 byte 0xff at column 47; re-save the file as UTF-8",
    ]


def test_missing_path_and_unreadable_file(tmp_path: Path, registry: ToolRegistry) -> None:
    result = load_corpus([tmp_path / "nope.md"], registry)
    assert [str(p) for p in result.problems] == [
        f"{tmp_path / 'nope.md'}:0: no such file or folder"
    ]


def test_folder_and_file_given_twice_parse_once(fixtures: Path, registry: ToolRegistry) -> None:
    good = fixtures / "good"
    result = load_corpus([good, good / "goblin_ambush.md"], registry)
    assert result.ok
    assert len(result.scenarios) == 2


def test_symlinked_file_parses_once(fixtures: Path, registry: ToolRegistry, tmp_path: Path) -> None:
    (tmp_path / "a.md").write_bytes((fixtures / "good" / "goblin_ambush.md").read_bytes())
    (tmp_path / "link.md").symlink_to(tmp_path / "a.md")
    result = load_corpus([tmp_path, tmp_path / "link.md"], registry)
    assert result.ok
    assert [s.path for s in result.scenarios] == [tmp_path / "a.md"]


def test_parsing_leaves_no_cyclic_garbage(fixtures: Path, registry: ToolRegistry) -> None:
    """What lets load_corpus pause the garbage collector: there is nothing for it to find."""
    gc.collect()
    load_corpus([fixtures], registry)  # every fixture, bad ones included
    assert gc.collect() == 0


@pytest.mark.parametrize("enabled", [True, False])
def test_load_corpus_leaves_the_garbage_collector_as_it_was(
    fixtures: Path, registry: ToolRegistry, enabled: bool
) -> None:
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        load_corpus([fixtures / "good"], registry)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_folder_without_scenarios_is_a_problem(tmp_path: Path, registry: ToolRegistry) -> None:
    (tmp_path / "notes.txt").write_text("not a scenario")
    result = load_corpus([tmp_path], registry)
    assert [str(p) for p in result.problems] == [
        f"{tmp_path}:0: no *.md scenario files in this folder"
    ]


def test_dm_turn_after_unanswered_call_is_reported_once(registry: ToolRegistry) -> None:
    text = (
        "---\nid: t\ncategory: combat\ntools: [roll_dice]\n---\n## System\nDM.\n"
        "## Conversation\n### Player\nHit it.\n### DM\n```tool_call\nroll_dice(notation='1d20')\n```\n"
        "### DM\nYou hit.\n"
    )
    result = parse_text(text, "t.md", registry)
    assert [str(p) for p in result.problems] == [
        "t.md:13: tool call 'roll_dice' is never answered; add a '### Tool: roll_dice' turn right "
        "after this DM turn"
    ]


@pytest.mark.parametrize(
    ("front_matter", "expected"),
    [
        ("", ["t.md:2: empty front matter; add at least 'id' and 'category'"]),
        ("- a", ["t.md:2: front matter must be a YAML mapping of keys (id, category, ...), got list"]),
        ("id: a\ncategory: combat\nid: b",
         ["t.md:4: front-matter key 'id' is given twice (first on line 2); keep one"]),
        ("id: a b\ncategory: combat",
         ["t.md:2: 'id' must start with a letter or digit and hold only letters, digits, combining "
          "marks, '.', '_' or '-' (like goblin-ambush or taverne-élan), got 'a b'"]),
        ("id: .hidden\ncategory: combat", ["t.md:2: 'id' must start with a letter or digit and "
         "hold only letters, digits, combining marks, '.', '_' or '-' (like goblin-ambush or "
         "taverne-élan), got '.hidden'"]),
        ("id: a/b\ncategory: combat", ["t.md:2: 'id' must start with a letter or digit and hold "
         "only letters, digits, combining marks, '.', '_' or '-' (like goblin-ambush or "
         "taverne-élan), got 'a/b'"]),
        ("id: a\ncategory: combat\ntags: goblins",
         ["t.md:4: 'tags' must be a list of names, like [a, b], got 'goblins'"]),
        ("id: a\ncategory: combat\ntools: [roll_dice, roll_dice]",
         ["t.md:4: tool 'roll_dice' is listed twice in 'tools'"]),
    ],
)  # fmt: skip
def test_front_matter_problems(
    registry: ToolRegistry, front_matter: str, expected: list[str]
) -> None:
    text = (
        f"---\n{front_matter}\n---\n## System\nDM.\n## Conversation\n### Player\nQ?\n### DM\nA.\n"
    )
    assert [str(p) for p in parse_text(text, "t.md", registry).problems] == expected


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("taverne-élan", "taverne-élan"),  # composed é
        ("taverne-e\u0301lan", "taverne-élan"),  # e + combining acute: NFC makes it one id
        ("дракон-3", "дракон-3"),
        ("竜の洞窟", "竜の洞窟"),
        ("ऋषि-मंदिर", "ऋषि-मंदिर"),  # vowel signs are combining marks
    ],
)
def test_ids_of_any_script_are_accepted_in_nfc(
    registry: ToolRegistry, written: str, stored: str
) -> None:
    text = (
        f"---\nid: {written}\ncategory: combat\n---\n## System\nDM.\n## Conversation\n"
        "### Player\nQ?\n### DM\nA.\n"
    )
    result = parse_text(text, "t.md", registry)
    assert result.problems == []
    assert [s.id for s in result.scenarios] == [stored]


def test_ids_that_differ_only_in_case_or_normal_form_are_duplicates(
    registry: ToolRegistry, tmp_path
) -> None:
    from dnd_ft.scenarios.corpus import load_corpus

    body = "category: combat\n---\n## System\nDM.\n## Conversation\n### Player\nQ?\n### DM\nA.\n"
    (tmp_path / "a.md").write_text(f"---\nid: Taverne-élan\n{body}", encoding="utf-8")
    (tmp_path / "b.md").write_text(f"---\nid: taverne-e\u0301lan\n{body}", encoding="utf-8")
    corpus = load_corpus([str(tmp_path)], registry)
    assert len(corpus.scenarios) == 1
    (problem,) = [str(p) for p in corpus.problems]
    assert problem.startswith(
        f"{tmp_path / 'b.md'}:2: duplicate id 'taverne-élan': already used by"
    )
    assert "ignoring case" in problem
