"""Response quality: overlap scores and the rule checks, on hand-written replies."""

from __future__ import annotations

import pytest

from dnd_ft.evaluation.quality import (
    QualityStats,
    corpus_chrf,
    invented_roll,
    numbers_in,
    out_of_character,
    roll_claims,
    rouge_l,
)

ROLL = [{"name": "roll_dice", "arguments": {"notation": "1d20+3"}}]


def test_rouge_l_and_chrf_bounds():
    text = "The goblin shrieks and charges across the bridge."
    assert rouge_l(text, text) == pytest.approx(1.0)
    assert rouge_l("Completely unrelated words here.", text) == 0.0
    assert corpus_chrf([text], [text]) == pytest.approx(1.0)
    assert 0.0 < corpus_chrf(["The goblin charges."], [text]) < 1.0
    assert corpus_chrf([], []) is None


@pytest.mark.parametrize("text", [
    "As an AI, I cannot decide what the goblin does.",
    "I'm an AI language model and dice are random.",
    "Sorry, as a large model I can't roleplay violence.",
])  # fmt: skip
def test_out_of_character_phrases(text):
    assert out_of_character(text) is not None


def test_in_character_text_and_word_boundaries():
    assert out_of_character("The paladin raises her shield; the ogre roars.") is None
    assert out_of_character("Saias an ai-lment?", ["as an ai"]) is None  # not on a word boundary
    assert out_of_character("anything", []) is None


@pytest.mark.parametrize("text,number", [
    ("Bandit 3 rolls a 17 and the bolt flies true.", 17),
    ("A natural 20! The blade finds the gap.", 20),
    ("That's 19 to hit, more than enough.", 19),
    ("The ogre takes 7 fire damage.", 7),
    ("A total of 14 against the orc's shield.", 14),
    ("Her 12 vs AC 14 glances off.", 12),
    ("An 8 misses by a mile.", 8),
    ("1d20+5 = 23, a hit.", 23),
])  # fmt: skip
def test_roll_claims_find_stated_results(text, number):
    assert number in [n for _, n in roll_claims(text)]


def test_numbers_that_are_not_roll_results():
    assert roll_claims("Make a DC 15 Dexterity saving throw. The bridge is 30 feet long.") == []
    assert roll_claims("Bandit 2 and Bandit 3 crouch by the river.") == []
    assert roll_claims("Crossbow +3 to hit, 1d8+1 piercing damage; roll 2d6 for the fall.") == []


def test_invented_roll_definition():
    text = "The crossbow bolt hits: 6 piercing damage to Wren."
    assert invented_roll(text, [], ROLL) is True
    assert invented_roll(text, ROLL, ROLL) is False  # it rolled
    assert invented_roll(text, [], []) is None  # gold does not roll: not applicable
    assert invented_roll("Roll for it! Bandit 3 takes aim.", [], ROLL) is False  # no number stated
    # a number from the current exchange's tool results is a restatement, not an invention
    assert invented_roll(text, [], ROLL, known_numbers={6}) is False
    check = [{"name": "ability_check", "arguments": {"character": "Jory"}}]
    assert invented_roll("You roll a 15 and heave the gate open.", [], check) is True


def test_numbers_in_tool_results():
    assert numbers_in(['{"total": 19, "rolls": [14], "modifier": 5}', "1.5"]) == {19, 14, 5}


def test_quality_stats_summary():
    stats = QualityStats(min_words=2, max_words=6)
    gold = "The goblin falls."
    stats.add("The goblin falls.", gold, [], [])
    stats.add("As an AI I think the goblin falls down dead now.", gold, [], [])
    stats.add("", "", [{"name": "roll_dice", "arguments": {}}], ROLL)  # tool-only turn
    stats.add("You roll a 3.", "", [], ROLL)
    s = stats.summary()
    assert s["n_text_turns"] == 2
    assert s["length_ok_rate"] == 0.5  # the second reply has 11 words
    assert s["in_character_rate"] == pytest.approx(2 / 3)
    assert s["invented_roll_rate"] == 0.5
    assert 0 < s["rouge_l"] < 1 and 0 < s["chrf"] < 1
