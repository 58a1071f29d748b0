"""SRD variation: swap a looked-up monster or spell for a similar real one, with its real result.

For each distinct ``lookup_monster`` / ``lookup_spell`` name in a conversation we pick
another SRD entry close to it (monsters: same creature type, nearest challenge rating;
spells: nearest level, same school first), call the real executor for the new name as the
tool result, and rename the old name everywhere it appears as a word ("Goblin", "goblins",
"Goblin 2"; spells only in their capitalised form, since "sleep" is not always Sleep). The rest of the story is not rewritten, so a few details may no longer fit:
this is noise we accept for variety in the calls.
"""

from __future__ import annotations

import random
from typing import Any

from dnd_ft.data.augment.common import (
    AugmentContext,
    all_text,
    compact_json,
    iter_calls,
    map_strings,
    set_arguments,
    word_replacer,
)

LOOKUPS = {"lookup_monster": "monster", "lookup_spell": "spell"}
CHOICES = 6  # pick among this many nearest candidates


def vary_srd(
    record: dict[str, Any], rng: random.Random, ctx: AugmentContext
) -> dict[str, Any] | None:
    messages = record["messages"]
    refs = [
        r
        for r in iter_calls(messages)
        if r.name in LOOKUPS and isinstance(r.arguments.get("name"), str)
    ]
    if not refs:
        return None
    text = all_text(record)
    swaps: dict[tuple[str, str], str] = {}
    for ref in refs:
        key = (LOOKUPS[ref.name], ref.arguments["name"])
        if key not in swaps:
            new = _pick(ctx, key[0], key[1], rng, text)
            if new is None:
                return None
            swaps[key] = new
    executor = ctx.executor(seed=rng.randrange(2**31))
    mapping: dict[str, str] = {}
    for (kind, old), new in swaps.items():
        mapping[old] = new
        if kind == "monster":  # "goblins" are goblins; but "sleep" is not always the spell
            mapping.update({old.lower(): new.lower(), plural(old): plural(new),
                            plural(old).lower(): plural(new).lower()})  # fmt: skip
    map_strings(record, word_replacer(mapping))  # before the new results go in
    for ref in refs:
        new = swaps[(LOOKUPS[ref.name], ref.arguments["name"])]
        set_arguments(messages, ref, {**ref.arguments, "name": new})
        if ref.result is not None:
            messages[ref.result]["content"] = compact_json(
                executor.execute(ref.name, {"name": new})
            )
    return record


def plural(name: str) -> str:
    """English plural of a monster name's last word (Wolf -> Wolves, Harpy -> Harpies)."""
    head, _, last = name.rpartition(" ")
    low = last.lower()
    if low.endswith(("s", "x", "ch", "sh")):
        last += "es"
    elif low.endswith("y") and low[-2:-1] not in "aeiou":
        last = last[:-1] + "ies"
    elif low.endswith("f") and not low.endswith("ff"):
        last = last[:-1] + "ves"
    elif low.endswith("fe"):
        last = last[:-2] + "ves"
    else:
        last += "s"
    return f"{head} {last}" if head else last


def _pick(ctx: AugmentContext, kind: str, old: str, rng: random.Random, text: str) -> str | None:
    index = _index(ctx, kind)
    if old.lower() not in {n.lower() for n in index}:
        return None  # not an SRD entry: nothing real to swap with
    ref = next(v for n, v in index.items() if n.lower() == old.lower())
    candidates = [
        n for n in index
        if n.lower() != old.lower() and old.lower() not in n.lower() and n.lower() not in old.lower()
        and n not in text
    ]  # fmt: skip
    if not candidates:
        return None
    candidates.sort(key=lambda n: (_distance(kind, ref, index[n]), n))
    return rng.choice(candidates[:CHOICES])


def _distance(kind: str, a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[float, ...]:
    if kind == "monster":  # (type, challenge rating)
        return (a[0] != b[0], abs(a[1] - b[1]))
    return (abs(a[0] - b[0]), a[1] != b[1])  # spells: (level, school)


def _index(ctx: AugmentContext, kind: str) -> dict[str, tuple[Any, ...]]:
    """name -> comparison key, built once per run (reads every SRD entry)."""
    key = f"srd:{kind}"
    if key not in ctx.cache:
        srd = ctx.srd
        if kind == "monster":
            ctx.cache[key] = {
                n: (str(m.get("type", "")).split(" (")[0], float(m.get("challenge_rating") or 0))
                for n in srd.monster_names() if (m := srd.monster(n))
            }  # fmt: skip
        else:
            ctx.cache[key] = {
                n: (int(s.get("level") or 0), str(s.get("school", "")))
                for n in srd.spell_names() if (s := srd.spell(n))
            }  # fmt: skip
    return ctx.cache[key]
