"""Context awareness: entity extraction, mentions, recall and grounded arguments."""

from __future__ import annotations

import pytest

from dnd_ft.evaluation.context import (
    ContextStats,
    Entity,
    extract_entities,
    grounding_checks,
    history_text,
    mentions,
)

SYSTEM = """You are the Dungeon Master. Always call tools.

### Party
- Rook: tiefling warlock, level 2, HP 17/17
- Sister Maelis: human cleric, HP 24/24

### Scene
Weeping Bridge, a narrow stone span over the swollen river Lisse. Behind the barricade waits
Sable Meg, a bandit leader. Bandit 1 stands beside her. Behind her, behind everyone, rain.

### NPCs
- Sable Meg: bandit leader, HP 11
- Bandit 1, Bandit 2: HP 11 each
- Twelve villagers with pitchforks.
"""


@pytest.fixture(scope="module")
def entities() -> list[Entity]:
    return extract_entities(SYSTEM)


def test_extract_entities(entities):
    by_name = {e.name: e for e in entities}
    assert list(by_name) == ["Rook", "Sister Maelis", "Sable Meg", "Bandit 1", "Bandit 2",
                             "Weeping Bridge", "Lisse"]  # fmt: skip
    assert by_name["Sable Meg"].kind == "npc"  # list sections win over the scene
    assert by_name["Sister Maelis"].aliases == ("Maelis",)  # a title is no alias
    assert by_name["Bandit 1"].aliases == ()
    assert "Behind" not in by_name  # sentence-initial ordinary word, also written in lower case


def test_mentions_full_names_and_unique_aliases(entities):
    assert mentions("Meg spits into the river. Maelis prays.", entities) == {
        "Sable Meg",
        "Sister Maelis",
    }
    assert mentions("the rook circles; bandit 2 falls", entities) == {"Rook", "Bandit 2"}
    assert mentions("Bandit 12 is not here, nor is a meg.", entities) == set()


def test_entity_recall_is_micro_averaged(entities):
    stats = ContextStats()
    stats.add(entities, "Rook swings.", "Rook and Sable Meg trade blows on Weeping Bridge.", [])
    stats.add(
        entities, "Nothing happens.", "The rain falls.", []
    )  # gold mentions nobody: no weight
    summary = stats.summary()
    assert summary["context_entity_recall"] == pytest.approx(1 / 3)
    assert summary["n_entity_mentions"] == 3
    assert summary["grounded_args_rate"] is None


def test_grounded_arguments():
    messages = [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": "I attack the ogre called Grunt."},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"type": "function", "function": {"name": "roll_dice", "arguments": {"reason": "vs Kobold 3"}}}]}]  # fmt: skip
    context = history_text(messages)
    srd = {"monster": {"goblin", "adult red dragon"}, "spell": {"fireball"}}
    calls = [
        {"name": "apply_damage", "arguments": {"target": "bandit 1", "amount": 3}},
        {"name": "apply_damage", "arguments": {"target": "Bandit 9", "amount": 3}},
        {
            "name": "start_initiative",
            "arguments": {"combatants": ["Rook", "Grunt", "Kobold 3", "Ghost"]},
        },
        {"name": "lookup_monster", "arguments": {"name": "Adult  Red Dragon"}},
        {"name": "lookup_spell", "arguments": {"name": "Rook"}},  # in context, but not a spell
        {"name": "ability_check", "arguments": {"character": "Sister Maelis", "dc": 12}},
        {"name": "heal", "arguments": "not an object"},
    ]
    checks = grounding_checks(calls, context, srd)
    assert checks == [("bandit 1", True), ("Bandit 9", False), ("Rook", True), ("Grunt", True),
                      ("Kobold 3", True), ("Ghost", False), ("Adult  Red Dragon", True), ("Rook", False),
                      ("Sister Maelis", True)]  # fmt: skip
    # without SRD names, look-up names are checked against the context instead
    assert grounding_checks(calls[4:5], context, None) == [("Rook", True)]
    stats = ContextStats()
    flags = stats.add([], "", "", checks)
    assert stats.summary()["grounded_args_rate"] == pytest.approx(6 / 9)
    assert flags["ungrounded"] == ["Bandit 9", "Ghost", "Rook"]
