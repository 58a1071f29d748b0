"""Entity substitution: rename the party and the NPCs consistently throughout a conversation.

Names come from the players' ``name`` fields and from ``- Name: ...`` bullets under the
system prompt's ``### Party`` and ``### NPCs`` sections. Each word of a name (titles such as
"Captain" stay) gets a new name unused in the record, and every whole-word occurrence is
replaced everywhere: system prompt, turns, speaker names, call arguments and tool results,
so ``apply_damage(target="Wren")`` and "Wren's thigh" move together.
"""

from __future__ import annotations

import random
import re
from typing import Any

from dnd_ft.data.augment.common import AugmentContext, all_text, map_strings, word_replacer
from dnd_ft.data.augment.names import FIRST_NAMES, SURNAMES, TITLES

_SECTION = re.compile(r"^###\s+(.+?)\s*$", re.MULTILINE)
_BULLET = re.compile(r"^\s*[-*]\s+\**([^:*\n]+?)\**\s*:", re.MULTILINE)
_NAME_WORD = re.compile(r"[A-Z][a-z'’-]+\Z")
NAME_SECTIONS = ("party", "npc", "npcs", "characters", "cast", "people")


def find_names(record: dict[str, Any]) -> dict[str, bool]:
    """Name words to rename -> whether the word is a surname (last word of a longer name)."""
    found: list[str] = []
    for message in record["messages"]:
        if message.get("role") == "user" and message.get("name"):
            found.append(message["name"])
    system = next(
        (m.get("content") or "" for m in record["messages"] if m.get("role") == "system"), ""
    )
    found += _bullet_names(system)
    words: dict[str, bool] = {}
    for name in found:
        parts = [p for p in name.split() if p not in TITLES]
        if not parts or not all(_NAME_WORD.match(p) for p in parts):
            continue  # "Bandit 1, Bandit 2" or a description, not a name
        for k, part in enumerate(parts):
            words.setdefault(part, k > 0 and k == len(parts) - 1)
    return words


def substitute_entities(
    record: dict[str, Any], rng: random.Random, ctx: AugmentContext
) -> dict[str, Any] | None:
    words = find_names(record)
    if not words:
        return None
    text = all_text(record)
    mapping: dict[str, str] = {}
    for surname in (False, True):
        todo = [w for w, s in words.items() if s == surname]
        pool = [
            n for n in (SURNAMES if surname else FIRST_NAMES) if not re.search(rf"\b{n}\b", text)
        ]
        if len(pool) < len(todo):
            return None
        mapping.update(zip(todo, rng.sample(pool, len(todo)), strict=True))
    map_strings(record, word_replacer(mapping))
    return record


def _bullet_names(system: str) -> list[str]:
    names = []
    sections = list(_SECTION.finditer(system))
    for k, section in enumerate(sections):
        if not any(section.group(1).lower().startswith(s) for s in NAME_SECTIONS):
            continue
        end = sections[k + 1].start() if k + 1 < len(sections) else len(system)
        names += [m.group(1).strip() for m in _BULLET.finditer(system, section.end(), end)]
    return names
