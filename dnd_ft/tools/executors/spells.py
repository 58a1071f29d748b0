"""``cast_spell``: spend a caster's spell slots, tracked for one conversation.

The executor of the ``cast_spell`` spec in ``configs/tools/spellcasting.yaml``, called by
reference (`dnd_ft.tools.executors.external`). Rules, after SRD 5.1 "Casting a Spell":

- A spell of level N needs a slot of level N or higher (a higher one casts it "upcast"); a
  cantrip (level 0) needs none and is cast with ``slot_level`` 0. The spell's level comes
  from the SRD; a spell the SRD lacks (homebrew, a misspelling) is cast at the slot given,
  with a ``note`` saying its level was not checked.
- A caster's slots come from ``slots`` (slots left per level, as the party list states them),
  else from ``caster_level`` and the SRD's full-caster table, on their first cast; later
  casts spend from the tracked slots. ``slots`` given again replaces them (after a rest).
- A cast that cannot happen is a result, ``{"ok": false, "reason": ...}``, not an error: the
  model reads why (no 3rd-level slot left) and tells the player, as a DM would.

Casters match case- and space-insensitively, like the combat tracker's creatures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dnd_ft.tools.errors import ToolExecutionError

if TYPE_CHECKING:
    from dnd_ft.tools.executors.external import ExecutorState

STORE_KEY = "cast_spell"  # this tool's part of the executor's per-conversation store

# Spell slots per slot level 1-9 of a full caster (bard, cleric, druid, sorcerer, wizard) by
# class level: the SRD 5.1 class tables (the wizard's, p. 53).
FULL_CASTER_SLOTS: dict[int, tuple[int, ...]] = {
    1: (2,), 2: (3,), 3: (4, 2), 4: (4, 3), 5: (4, 3, 2), 6: (4, 3, 3), 7: (4, 3, 3, 1),
    8: (4, 3, 3, 2), 9: (4, 3, 3, 3, 1), 10: (4, 3, 3, 3, 2), 11: (4, 3, 3, 3, 2, 1),
    12: (4, 3, 3, 3, 2, 1), 13: (4, 3, 3, 3, 2, 1, 1), 14: (4, 3, 3, 3, 2, 1, 1),
    15: (4, 3, 3, 3, 2, 1, 1, 1), 16: (4, 3, 3, 3, 2, 1, 1, 1), 17: (4, 3, 3, 3, 2, 1, 1, 1, 1),
    18: (4, 3, 3, 3, 3, 1, 1, 1, 1), 19: (4, 3, 3, 3, 3, 2, 1, 1, 1),
    20: (4, 3, 3, 3, 3, 2, 2, 1, 1),
}  # fmt: skip


def cast_spell(arguments: dict[str, Any], state: ExecutorState) -> dict[str, Any]:
    """Cast ``arguments["spell"]`` for ``caster`` with a slot of ``slot_level``.

    Returns ``{"ok", "caster", "spell", "spell_level", "slot_level", "slots_left"}`` (slots
    left per level, keys "1".."9"; empty while the caster's slots are unknown), with
    ``reason`` before ``slots_left`` when ``ok`` is false and ``note`` when the spell is not
    in the SRD.
    """
    caster = " ".join(arguments["caster"].split())
    slot_level = int(arguments["slot_level"])
    casters: dict[str, dict[str, Any]] = state.store.setdefault(STORE_KEY, {})
    entry = _caster_entry(casters, caster, arguments)
    spell, spell_level, note = _spell_level(state, arguments["spell"])
    result: dict[str, Any] = {
        "ok": True,
        "caster": entry["name"] if entry else caster,
        "spell": spell,
        "spell_level": spell_level,
        "slot_level": slot_level,
    }
    if note:
        result["note"] = note
    reason = _refusal(result, entry)
    if reason is not None:
        result["ok"] = False
        result["reason"] = reason
    elif slot_level > 0 and entry is not None:
        entry["slots"][slot_level] -= 1
    result["slots_left"] = _shown(entry)
    return result


def _caster_entry(
    casters: dict[str, dict[str, Any]], caster: str, arguments: dict[str, Any]
) -> dict[str, Any] | None:
    """The tracked ``{"name", "slots": {level: left}}`` of ``caster``, set up from ``slots``
    or ``caster_level`` when given (``slots`` always wins; ``caster_level`` only sets up a
    caster seen for the first time); None while their slots are unknown."""
    key = caster.casefold()
    entry = casters.get(key)
    name = entry["name"] if entry else caster  # the first spelling seen is the one shown
    if "slots" in arguments:
        slots = {int(level): int(n) for level, n in arguments["slots"].items()}
        entry = casters[key] = {"name": name, "slots": slots}
    elif entry is None and "caster_level" in arguments:
        table = FULL_CASTER_SLOTS[int(arguments["caster_level"])]
        entry = casters[key] = {"name": name, "slots": dict(enumerate(table, start=1))}
    return entry


def _spell_level(state: ExecutorState, name: str) -> tuple[str, int | None, str | None]:
    """``(SRD name, level, None)``, or ``(name as given, None, why)`` when the SRD has no such
    spell or cannot be opened: the cast then goes ahead at the slot given."""
    try:
        found = state.srd.spell(name)
    except ToolExecutionError as exc:
        return name, None, f"{exc} (its level was not checked)"
    return str(found["name"]), int(found["level"]), None


def _refusal(result: dict[str, Any], entry: dict[str, Any] | None) -> str | None:
    """Why the cast in ``result`` cannot happen, or None when it can."""
    spell, level, slot = result["spell"], result["spell_level"], result["slot_level"]
    caster = result["caster"]
    if level == 0 and slot > 0:
        return f"{spell} is a cantrip: it uses no spell slot; cast it with slot_level 0"
    if level is not None and slot < level:
        return (
            f"{spell} is a {_ordinal(level)}-level spell: it needs a slot of level {level} or "
            f"higher, not {slot}"
        )
    if slot == 0:
        return None  # a cantrip (or a spell the SRD lacks, cast as one)
    if entry is None:
        return (
            f"{caster}'s spell slots are not known yet; give slots (the slots left per level, "
            'like {"1": 4, "2": 2}) or caster_level on their first cast'
        )
    if entry["slots"].get(slot, 0) > 0:
        return None
    # the other slots that could cast it (its level or higher), so the DM can offer one
    others = [
        f"{_ordinal(lv)}: {n}"
        for lv, n in sorted(entry["slots"].items())
        if lv != slot and n > 0 and lv >= (level or 1)
    ]
    rest = (
        f"; slots left that can cast {spell}: {', '.join(others)}"
        if others
        else f"; no other slot left can cast {spell}"
    )
    return f"{caster} has no {_ordinal(slot)}-level spell slot left{rest}"


def _shown(entry: dict[str, Any] | None) -> dict[str, int]:
    """Slots left per level as the model reads them: ``{"1": 3, "2": 0}``, levels in order."""
    if entry is None:
        return {}
    return {str(level): n for level, n in sorted(entry["slots"].items())}


def _ordinal(n: int) -> str:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(n, "th")
    return f"{n}{suffix}"
