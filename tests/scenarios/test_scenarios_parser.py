"""The parser on hand-made good fixtures and on inline edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from dnd_ft.scenarios import ParseResult, Scenario, parse_file, parse_text
from dnd_ft.tools.registry import ToolRegistry

HEAD = "---\nid: t\ncategory: combat\ntools: [roll_dice]\n---\n\n## System\nYou are the DM.\n\n"


def _one(result: ParseResult) -> Scenario:
    assert result.problems == []
    assert len(result.scenarios) == 1
    return result.scenarios[0]


def test_goblin_ambush(fixtures: Path, registry: ToolRegistry) -> None:
    s = _one(parse_file(fixtures / "good" / "goblin_ambush.md", registry))
    assert (s.id, s.title, s.category) == (
        "goblin-ambush",
        "Goblin Ambush on the Trade Road",
        "combat",
    )
    assert s.tags == ("goblins", "initiative")
    assert s.tools == ("roll_dice", "lookup_monster", "start_initiative")
    assert s.system == (
        "You are the Dungeon Master for a D&D 5e session. Keep the game moving.\n"
        "\n"
        "### Party\n"
        "- Thorin: dwarf fighter, level 3, HP 28/28, AC 18\n"
        "- Elara: elf wizard, level 3, HP 14/14, AC 12\n"
        "\n"
        "### Scene\n"
        "The Old Trade Road at dusk. Four goblins hide in the ditch."
    )
    (flow,) = s.flows
    assert (flow.title, flow.slug, flow.line) == ("Ambush", "ambush", 19)
    roles = [(t.role, t.speaker, t.line) for t in flow.turns]
    assert roles == [("player", "Thorin", 21), ("dm", None, 24), ("tool", "roll_dice", 29),
                     ("dm", None, 34)]  # fmt: skip
    call = flow.turns[1].tool_calls[0]
    assert (call.name, call.arguments, call.line) == (
        "roll_dice", {"notation": "1d20+5", "reason": "Thorin attack roll"}, 26)  # fmt: skip
    assert flow.turns[1].content == ""
    assert flow.turns[2].content == '{"total":17,"rolls":[12],"modifier":5}'  # compact JSON
    assert flow.turns[3].content == "A 17 hits! Your axe bites into the goblin's shield arm..."


def test_parallel_shorthand_multi_flow(fixtures: Path, registry: ToolRegistry) -> None:
    s = _one(parse_file(fixtures / "good" / "parallel_shorthand.md", registry))
    assert "#### Notes for the DM\nGrub lies about the toll." in s.system  # #### is content
    first, second = s.flows
    assert (first.title, first.slug, second.title, second.slug) == ("Parley", "parley", "", "2")
    player = first.turns[0]
    # a fenced block in a player's message is kept verbatim, its '##' line is not a heading
    assert player.content == (
        "I try to talk our way past. My plan:\n\n"
        "```yaml\n## this is not a heading\napproach: flattery\n```"
    )
    dm = first.turns[1]
    assert dm.content == "Grub squints at you. Let me see how persuasive you are."
    assert [(c.name, c.arguments) for c in dm.tool_calls] == [
        ("ability_check", {"character": "Elara", "ability": "charisma", "dc": 13}),
        ("lookup_monster", {"name": "Troll"}),
    ]
    assert [t.speaker for t in first.turns[2:4]] == ["ability_check", "lookup_monster"]
    assert first.turns[2].content == '{"roll":15,"success":true}'
    # JSON list of calls; a plain-text result; an untagged fence result kept as text
    assert [(c.name, c.line) for c in second.turns[1].tool_calls] == [
        ("roll_dice", 58), ("add_condition", 59)]  # each call on its own line  # fmt: skip
    assert second.turns[2].content == "Total 18 (rolled 15, +3)."
    assert second.turns[3].content == "Grub: prone"
    assert [t.role for t in second.turns] == ["player", "dm", "tool", "tool", "dm", "player", "dm"]


def test_headings_inside_fences_lists_and_comments_are_content(registry: ToolRegistry) -> None:
    text = HEAD + (
        "## Conversation\n\n### Player\nLook:\n\n~~~\n## Conversation: fake\n### DM\n~~~\n\n"
        "- a list item\n\n  ### DM\n\n<!--\n## Conversation: commented out\n-->\n\n"
        "> ## quoted\n\n### DM\nSeen.\n"
    )
    s = _one(parse_text(text, "x.md", registry))
    (flow,) = s.flows
    assert [t.role for t in flow.turns] == ["player", "dm"]
    assert "## Conversation: fake" in flow.turns[0].content
    assert "  ### DM" in flow.turns[0].content
    assert "> ## quoted" in flow.turns[0].content


def test_tool_call_fence_nested_in_a_list_is_content(registry: ToolRegistry) -> None:
    text = HEAD + (
        "## Conversation\n\n### Player\nHi\n\n### DM\n- example:\n\n"
        '  ```tool_call\n  roll_dice(notation="1d20")\n  ```\n'
    )
    s = _one(parse_text(text, "x.md", registry))
    dm = s.flows[0].turns[1]
    assert dm.tool_calls == ()
    assert "```tool_call" in dm.content


def test_crlf_bom_and_trailing_spaces(registry: ToolRegistry) -> None:
    text = "\ufeff" + (HEAD + "## Conversation\n\n### Player\nHi   \n\n\n### DM\nHello.\n").replace(
        "\n", "\r\n"
    )
    s = _one(parse_text(text, "x.md", registry))
    assert [(t.content, t.line) for t in s.flows[0].turns] == [("Hi", 12), ("Hello.", 16)]


def test_dm_text_around_call_and_other_fences(registry: ToolRegistry) -> None:
    text = HEAD + (
        "## Conversation\n\n### Player\nAttack!\n\n### DM\nBefore.\n\n"
        '```tool_call\nroll_dice(notation="1d20")\n```\n\nAfter.\n\n```text\nkept\n```\n\n'
        "### Tool: roll_dice\n```json\n7\n```\n\n### DM\nMiss.\n"
    )
    s = _one(parse_text(text, "x.md", registry))
    assert s.flows[0].turns[1].content == "Before.\n\n\nAfter.\n\n```text\nkept\n```"
    assert s.flows[0].turns[2].content == "7"


def test_optional_front_matter_keys_default(registry: ToolRegistry) -> None:
    text = "---\nid: plain\ncategory: rules\n---\n## System\nDM.\n## Conversation\n### Player\nQ?\n### DM\nA.\n"
    s = _one(parse_text(text, "x.md", registry))
    assert (s.title, s.tags, s.tools) == ("", (), ())


def test_custom_categories(registry: ToolRegistry) -> None:
    text = HEAD.replace("combat", "heist") + "## Conversation\n### Player\nQ?\n### DM\nA.\n"
    assert not parse_text(text, "x.md", registry).ok
    assert parse_text(text, "x.md", registry, categories=["heist"]).ok


@pytest.mark.parametrize("name", ["goblin_ambush.md", "parallel_shorthand.md"])
def test_parse_file_and_parse_text_agree(fixtures: Path, registry: ToolRegistry, name: str) -> None:
    path = fixtures / "good" / name
    assert parse_file(path, registry) == parse_text(path.read_text("utf-8"), path, registry)


def test_default_registry_is_used_when_none_given(fixtures: Path) -> None:
    assert parse_file(fixtures / "good" / "goblin_ambush.md").ok
