"""Response quality of the DM's prose: overlap with the gold reply and rule checks.

- ROUGE-L F1 (``rouge-score``, no stemming) per turn, averaged; chrF (``sacrebleu``) over the
  corpus of turns, divided by 100 so every eval metric is a fraction in [0, 1]. Both only on
  turns whose gold reply has text (a tool-call-only turn has no prose to compare).
- **in character**: the reply contains none of the out-of-character phrases (``as an AI``,
  ``language model``...; configurable), matched case-insensitively on word boundaries.
- **invented roll**: on a turn whose gold reply calls a rolling tool (``roll_dice`` or
  ``ability_check``), the prediction calls none of them yet its text states a roll result:
  a number in one of the patterns of `ROLL_RESULT` ("rolls a 17", "natural 20", "14 to hit",
  "takes 6 damage", "a total of 19", "18 vs AC"...) that appears in no tool result of the
  current exchange (since the last player message). Rate = flagged / such turns.
- **length ok**: the reply has between ``min_words`` and ``max_words`` words (whitespace
  split), on turns whose gold reply has text.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from dnd_ft.evaluation.config import METRICS

# Defaults of eval.metrics.out_of_character and eval.metrics.roll_tools.
OUT_OF_CHARACTER = tuple(METRICS.out_of_character)
ROLL_TOOLS = tuple(METRICS.roll_tools)

# A stated number: not a modifier ("+5 to hit") and not part of dice notation ("2d6").
_N = r"(?<![+\-−])(\d{1,3})(?!d\d)"
_OWNER = r"(?:the|your|his|her|their|its|a|an)?\s*"
ROLL_RESULT = tuple(re.compile(p, re.IGNORECASE) for p in (
    rf"\broll(?:s|ed)?\s+(?:a|an)?\s*{_N}\b",  # "rolls a 17", "rolled 4"
    rf"\bnat(?:ural)?\s+{_N}\b",  # "natural 20", "nat 1"
    rf"\b(?:total|result)\s+(?:of|is|was|:)\s*{_N}\b",  # "a total of 19"
    rf"\b{_N}\s+(?:on|for)\s+{_OWNER}(?:d\d+|die|dice|roll|check|save|saving throw|attack)\b",
    rf"\b{_N}\s+to\s+hit\b",  # "19 to hit"
    rf"\b{_N}\s+(?:points?\s+of\s+)?(?:[a-z]+\s+)?damage\b",  # "6 damage", "7 fire damage"
    rf"\b{_N}\s*(?:vs\.?|versus|against)\s+(?:AC|DC)\b",  # "18 vs AC"
    rf"\b(?:a|an)\s+{_N}\s+(?:beats|hits|misses|fails|succeeds|isn't|is not|won't|falls)\b",
    rf"\b\d*d\d+(?:\s*[+-]\s*\d+)?\s*(?:=|:|gives|comes up)\s*{_N}\b",  # "1d20+5 = 17"
))  # fmt: skip


def words(text: str) -> int:
    return len(text.split())


@lru_cache(maxsize=16)
def _ooc_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(p) for p in phrases)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def out_of_character(text: str, phrases: Sequence[str] = OUT_OF_CHARACTER) -> str | None:
    """The first out-of-character phrase in ``text``, or None when it stays in character."""
    if not phrases:
        return None
    match = _ooc_pattern(tuple(phrases)).search(text)
    return match.group(0) if match else None


def roll_claims(text: str) -> list[tuple[str, int]]:
    """Every phrase of ``text`` that reads as a stated roll result, with its number."""
    claims = []
    for pattern in ROLL_RESULT:
        claims += [(m.group(0), int(m.group(1))) for m in pattern.finditer(text)]
    return claims


def invented_roll(
    pred_text: str,
    pred_calls: Iterable[Mapping[str, Any]],
    gold_calls: Iterable[Mapping[str, Any]],
    roll_tools: Collection[str] = ROLL_TOOLS,
    known_numbers: Collection[int] = (),
) -> bool | None:
    """True: the gold turn rolls, the prediction does not and states a result anyway.

    known_numbers: numbers the model may repeat, e.g. those in the tool results of the current
    exchange (a reply that restates the last roll while narrating invents nothing).
    None when the check does not apply (the gold turn calls no rolling tool).
    """
    if not any(c["name"] in roll_tools for c in gold_calls):
        return None
    if any(c["name"] in roll_tools for c in pred_calls):
        return False
    return any(number not in known_numbers for _, number in roll_claims(pred_text))


def numbers_in(texts: Iterable[str]) -> set[int]:
    """All whole numbers written in ``texts`` (tool results are JSON text)."""
    return {int(n) for text in texts for n in re.findall(r"(?<![\w.])\d{1,3}(?![\w.])", text)}


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1 of one reply against its reference (0 when either has no tokens)."""
    return _rouge().score(reference, prediction)["rougeL"].fmeasure


@lru_cache(maxsize=1)
def _rouge() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def corpus_chrf(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    """sacrebleu corpus chrF on a 0-1 scale; None for an empty corpus."""
    if not predictions:
        return None
    from sacrebleu.metrics import CHRF

    return CHRF().corpus_score(list(predictions), [list(references)]).score / 100.0


@dataclass
class QualityStats:
    """Accumulates per-turn quality checks; `summary` gives the metrics."""

    min_words: int = METRICS.min_words
    max_words: int = METRICS.max_words
    phrases: Sequence[str] = OUT_OF_CHARACTER
    roll_tools: Collection[str] = ROLL_TOOLS
    rouge: list[float] = field(default_factory=list)
    hyps: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    replies: int = 0  # turns where the model wrote prose
    in_character: int = 0
    roll_turns: int = 0
    invented: int = 0
    length_checked: int = 0
    length_ok: int = 0

    def add(
        self,
        pred_text: str,
        gold_text: str,
        pred_calls: Sequence[Mapping[str, Any]],
        gold_calls: Sequence[Mapping[str, Any]],
        known_numbers: Collection[int] = (),
    ) -> dict[str, Any]:
        """Score one turn; returns its per-turn flags (saved beside the prediction)."""
        flags: dict[str, Any] = {}
        pred_text, gold_text = pred_text.strip(), gold_text.strip()
        if gold_text:
            flags["rouge_l"] = rouge_l(pred_text, gold_text)
            self.rouge.append(flags["rouge_l"])
            self.hyps.append(pred_text)
            self.refs.append(gold_text)
            flags["length_ok"] = self.min_words <= words(pred_text) <= self.max_words
            self.length_checked += 1
            self.length_ok += flags["length_ok"]
        if pred_text:
            phrase = out_of_character(pred_text, self.phrases)
            flags["out_of_character"] = phrase
            self.replies += 1
            self.in_character += phrase is None
        invented = invented_roll(pred_text, pred_calls, gold_calls, self.roll_tools, known_numbers)
        if invented is not None:
            flags["invented_roll"] = invented
            self.roll_turns += 1
            self.invented += invented
        return flags

    def summary(self) -> dict[str, float | int | None]:
        return {
            "rouge_l": sum(self.rouge) / len(self.rouge) if self.rouge else None,
            "chrf": corpus_chrf(self.hyps, self.refs),
            "in_character_rate": self.in_character / self.replies if self.replies else None,
            "invented_roll_rate": self.invented / self.roll_turns if self.roll_turns else None,
            "length_ok_rate": self.length_ok / self.length_checked if self.length_checked else None,
            "n_text_turns": self.length_checked,
        }
