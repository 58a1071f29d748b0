"""Dice variety: change the dice or modifier of one ``roll_dice`` call and really roll it.

Only plain ``NdM+K`` notation is varied (a d20 keeps one die; other rolls may gain or lose
a die, or shift the modifier by 1-2). The tool result is replaced by a seeded roll of the
real executor, and where the next DM reply quotes the old total, the new total replaces it.
A roll whose total feeds a later call (``apply_damage(amount=14)``) is left alone, since
changing it would break the state the later results describe.
"""

from __future__ import annotations

import random
import re
from typing import Any

from dnd_ft.data.augment.common import (
    AugmentContext,
    CallRef,
    compact_json,
    iter_calls,
    result_of,
    set_arguments,
)

_PLAIN = re.compile(r"(\d*)d(\d+)(?:\s*([+-])\s*(\d+))?\Z")


def vary_dice(
    record: dict[str, Any], rng: random.Random, ctx: AugmentContext
) -> dict[str, Any] | None:
    messages = record["messages"]
    refs = list(iter_calls(messages))
    eligible = [r for r in refs if _eligible(r, refs, messages)]
    if not eligible:
        return None
    ref = rng.choice(eligible)
    old_notation = ref.arguments["notation"]
    old_total = result_of(messages, ref)["total"]
    new_notation = _vary(old_notation, rng)
    arguments = {**ref.arguments, "notation": new_notation}
    if isinstance(arguments.get("reason"), str):
        arguments["reason"] = arguments["reason"].replace(old_notation, new_notation)
    result = ctx.executor(seed=rng.randrange(2**31)).execute("roll_dice", arguments)
    set_arguments(messages, ref, arguments)
    messages[ref.result]["content"] = compact_json(result)
    _requote(messages, ref, old_notation, new_notation, old_total, result["total"])
    return record


def _eligible(ref: CallRef, refs: list[CallRef], messages: list[dict[str, Any]]) -> bool:
    if ref.name != "roll_dice" or not _PLAIN.match(str(ref.arguments.get("notation", "")).strip()):
        return False
    result = result_of(messages, ref)
    if not isinstance(result, dict) or not isinstance(result.get("total"), int):
        return False
    later = [r for r in refs if r.message > ref.message and r.name != "roll_dice"]
    return not any(result["total"] in r.arguments.values() for r in later)


def _vary(notation: str, rng: random.Random) -> str:
    count, sides, sign, mod = _PLAIN.match(notation.strip()).groups()
    n, m = int(count or 1), (int(mod or 0) * (-1 if sign == "-" else 1))
    while True:
        new_n, new_m = n, m
        if sides != "20" and rng.random() < 0.5:
            new_n = max(1, n + rng.choice((-1, 1)))
        else:
            new_m = m + rng.choice((-2, -1, 1, 2))
        if (new_n, new_m) != (n, m):
            break
    modifier = f"+{new_m}" if new_m > 0 else (f"-{-new_m}" if new_m < 0 else "")
    return f"{new_n}d{sides}{modifier}"


def _requote(
    messages: list[dict[str, Any]],
    ref: CallRef,
    old_notation: str,
    new_notation: str,
    old: int,
    new: int,
) -> None:
    """Update the calling turn's mention of the notation and the next reply's quoted total."""
    caller = messages[ref.message]
    caller["content"] = _swap_word(caller.get("content") or "", old_notation, new_notation)
    for message in messages[ref.result + 1 :]:
        if message.get("role") == "user":
            return
        if message.get("role") == "assistant" and message.get("content"):
            message["content"] = _swap_word(message["content"], old_notation, new_notation)
            message["content"] = _swap_word(message["content"], str(old), str(new))
            return


def _swap_word(text: str, old: str, new: str) -> str:
    return re.sub(rf"(?<![\w+-]){re.escape(old)}(?![\w+-])", new, text)
