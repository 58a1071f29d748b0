"""Context awareness: does the DM use the people, places and names the context gives it?

**Entities** come from the system prompt: the names before the colon of the list items under
``### Party``, ``### NPCs`` and ``### Monsters`` ("- Bandit 1, Bandit 2: ..." gives two), and
the capitalised name phrases of ``### Scene`` ("Weeping Bridge", "Sable Meg"), without a
leading article; a single capitalised word that opens a sentence counts only when it is
possessive ("Millbrook's") or also capitalised mid-sentence, and never when it also appears in
lower case (ordinary words such as "Behind", "Initiative"). A reply *mentions* an entity when
it contains its full name (case-insensitive, on word boundaries) or, for a character of two or
more words, a capitalised part of the name that no other entity shares ("Meg" for "Sable Meg";
titles such as "Captain" never count).

- **entity recall** = over all turns, of the entities the gold reply mentions, the fraction the
  generated reply mentions too (micro average: summed over turns).
- **grounded arguments** = of the string arguments of predicted calls under the keys
  ``target``, ``character``, ``combatants`` (each item) and ``name``, the fraction found in the
  context: for ``lookup_monster`` / ``lookup_spell`` / ``lookup_condition`` the ``name`` must be
  an SRD name (case-insensitive); every other value must appear, case-insensitively on word
  boundaries, in the system prompt or an earlier message (text, tool result or call).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dnd_ft.evaluation.config import METRICS

LIST_SECTIONS = {"party": "party", "npcs": "npc", "monsters": "monster"}
SCENE_SECTIONS = {"scene"}
GROUNDED_KEYS = tuple(METRICS.grounded_keys)  # eval.metrics.grounded_keys
SRD_TOOLS = {"lookup_monster": "monster", "lookup_spell": "spell", "lookup_condition": "condition"}
TITLES = {"captain", "sister", "brother", "old", "saint", "lord", "lady", "sir", "king", "queen",
          "father", "mother", "master", "mistress", "young", "the", "of", "guildmistress",
          "guildmaster", "harbormaster", "mayor", "elder"}  # fmt: skip
LEADING = {"a", "an", "the", "this", "that", "these", "those", "his", "her", "their", "its",
           "your", "you", "he", "she", "it", "they", "we", "in", "on", "at", "as", "by", "from",
           "to", "with", "and", "but", "or", "if", "when", "while", "there", "here", "one",
           "two", "three", "four", "five", "six", "twelve", "some", "all", "every"}  # fmt: skip

_SECTION = re.compile(r"^#{2,4}\s+(.+?)\s*$", re.MULTILINE)
_ITEM_NAMES = re.compile(r"^\s*[-*]\s+([^:\n]+):", re.MULTILINE)
_WORD = r"[A-Z][\w'’-]*"
_PHRASE = re.compile(rf"{_WORD}(?:(?:\s+(?:of|the|de|von|van)\s+|\s+){_WORD}|\s+\d+\b)*")


@dataclass(frozen=True)
class Entity:
    name: str
    kind: str  # party, npc, monster or scene
    aliases: tuple[str, ...] = ()


def _sections(system: str) -> dict[str, str]:
    heads = list(_SECTION.finditer(system))
    return {
        h.group(1).strip().lower(): system[
            h.end() : heads[i + 1].start() if i + 1 < len(heads) else None
        ]
        for i, h in enumerate(heads)
    }


def _scene_names(text: str) -> list[str]:
    names = []
    for match in _PHRASE.finditer(text):
        raw = match.group(0)
        possessive = raw.endswith(("'s", "’s"))
        tokens = raw.removesuffix("'s").removesuffix("’s").split()
        while tokens and tokens[0].lower() in LEADING:
            tokens = tokens[1:]
        if not tokens:
            continue
        phrase = " ".join(tokens)
        at_start = re.search(r"(^|[.!?:;]\s+|\n\s*)$", text[: match.start()]) is not None
        if len(tokens) == 1 and at_start and not possessive and _ordinary(phrase, text):
            continue
        names.append(phrase)
    return names


def _ordinary(word: str, text: str) -> bool:
    """A sentence-initial capitalised word is ordinary unless it is capitalised mid-sentence
    too, and certainly so when it also appears in lower case ("Behind ... behind")."""
    if re.search(rf"\b{re.escape(word.lower())}\b", text):
        return True
    return not re.search(rf"[^.!?\s]\s+{re.escape(word)}\b", text)


def extract_entities(system: str) -> list[Entity]:
    """Entities of a system prompt, list sections first, deduplicated case-insensitively."""
    found: dict[str, Entity] = {}
    sections = _sections(system)
    for title, body in sections.items():
        kind = LIST_SECTIONS.get(title)
        if kind is None:
            continue
        for item in _ITEM_NAMES.finditer(body):
            for name in item.group(1).split(","):
                name = " ".join(name.split())
                if name and len(name.split()) <= 5:
                    found.setdefault(name.casefold(), Entity(name, kind))
    for title, body in sections.items():
        if title in SCENE_SECTIONS:
            for name in _scene_names(body):
                found.setdefault(name.casefold(), Entity(name, "scene"))
    entities = list(found.values())
    token_owners: dict[str, int] = {}
    for e in entities:
        for token in set(e.name.split()):
            token_owners[token] = token_owners.get(token, 0) + 1
    result = []
    for e in entities:
        aliases: tuple[str, ...] = ()
        if e.kind != "scene" and len(e.name.split()) > 1:
            aliases = tuple(
                t for t in e.name.split()
                if t[0].isupper() and t.isalpha() and len(t) >= 3
                and t.lower() not in TITLES and token_owners.get(t, 0) == 1
            )  # fmt: skip
        result.append(Entity(e.name, e.kind, aliases))
    return result


def _name_pattern(name: str) -> str:
    return r"(?<!\w)" + r"\s+".join(re.escape(t) for t in name.split()) + r"(?!\w)"


def mentions(text: str, entities: Iterable[Entity]) -> set[str]:
    """Names of the ``entities`` that ``text`` mentions (full name or unique alias)."""
    hits = set()
    for e in entities:
        if re.search(_name_pattern(e.name), text, re.IGNORECASE) or any(
            re.search(_name_pattern(a), text) for a in e.aliases
        ):
            hits.add(e.name)
    return hits


def appears_in(value: str, text: str) -> bool:
    """Whether ``value`` occurs in ``text`` case-insensitively on word boundaries."""
    value = " ".join(value.split())
    return bool(value) and re.search(_name_pattern(value), text, re.IGNORECASE) is not None


def history_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """Everything the model has seen: every message's text and the arguments of its calls."""
    parts = []
    for m in messages:
        parts.append(str(m.get("content") or ""))
        for c in m.get("tool_calls") or []:
            args = c.get("function", c).get("arguments", {})
            parts.append(args if isinstance(args, str) else json.dumps(args, ensure_ascii=False))
    return "\n".join(parts)


def grounding_checks(
    calls: Iterable[Mapping[str, Any]],
    context: str,
    srd_names: Mapping[str, Collection[str]] | None = None,
    keys: Collection[str] = GROUNDED_KEYS,
) -> list[tuple[str, bool]]:
    """``(value, grounded)`` for each checked string argument of ``calls``.

    srd_names: kind ("monster", "spell", "condition") -> case-folded SRD names; when None,
    look-up names are checked against the context like every other value.
    """
    results = []
    for c in calls:
        args = c.get("arguments")
        if not isinstance(args, Mapping):
            continue
        for key in keys:
            values = args.get(key)
            values = values if isinstance(values, list) else [values]
            for value in values:
                if not isinstance(value, str):
                    continue
                kind = SRD_TOOLS.get(c["name"]) if key == "name" else None
                if kind and srd_names is not None:
                    ok = " ".join(value.split()).casefold() in srd_names.get(kind, ())
                else:
                    ok = appears_in(value, context)
                results.append((value, ok))
    return results


@dataclass
class ContextStats:
    """Accumulates entity recall and grounded-argument counts over turns."""

    gold_mentions: int = 0
    recalled: int = 0
    args_checked: int = 0
    args_grounded: int = 0

    def add(
        self,
        entities: Sequence[Entity],
        pred_text: str,
        gold_text: str,
        grounding: Sequence[tuple[str, bool]],
    ) -> dict[str, Any]:
        gold = mentions(gold_text, entities)
        pred = mentions(pred_text, entities)
        self.gold_mentions += len(gold)
        self.recalled += len(gold & pred)
        self.args_checked += len(grounding)
        self.args_grounded += sum(ok for _, ok in grounding)
        return {
            "entities_gold": sorted(gold),
            "entities_pred": sorted(pred),
            "ungrounded": [v for v, ok in grounding if not ok],
        }

    def summary(self) -> dict[str, float | int | None]:
        return {
            "context_entity_recall": self.recalled / self.gold_mentions
            if self.gold_mentions
            else None,
            "grounded_args_rate": self.args_grounded / self.args_checked
            if self.args_checked
            else None,
            "n_entity_mentions": self.gold_mentions,
        }
