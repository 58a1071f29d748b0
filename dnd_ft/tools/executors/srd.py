"""Read-only look-ups in the SRD 5e SQLite file, returning compact summaries for tool results.

The file comes from ``dnd_ft.assets.asset_path("srd")`` (5e-database, SRD 5.1, CC-BY-4.0).
Tables ``monsters``, ``spells`` and ``conditions`` each hold ``index``, ``name`` and ``data``
(the 5e-database JSON document). The database opens on the first query, read-only.
"""

from __future__ import annotations

import difflib
import json
import sqlite3
from pathlib import Path
from typing import Any

from dnd_ft.tools.errors import ToolExecutionError

EDITIONS = ("2014",)  # editions with a packaged asset; see dnd_ft.assets.ASSETS
_TABLES = {"monster": "monsters", "spell": "spells", "condition": "conditions"}
_ABILITIES = ("strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma")
MAX_ACTIONS = 4  # attacks listed per monster: enough to run a fight, short enough to read
MAX_DESCRIPTION = 300  # characters of a spell's description


class SRD:
    """SRD 5e data by name. ``path`` defaults to the fetched ``srd`` asset of ``edition``."""

    def __init__(self, path: str | Path | None = None, edition: str = "2014") -> None:
        if path is None and edition not in EDITIONS:
            raise ToolExecutionError(
                f"no SRD data for edition {edition!r}; set tools.srd_edition to one of "
                f"{', '.join(EDITIONS)}"
            )
        self._path = Path(path) if path is not None else None
        self.edition = edition
        self._conn: sqlite3.Connection | None = None
        self._index: dict[str, dict[str, str]] = {}  # table -> lookup key -> row index

    # --- public look-ups ----------------------------------------------------------------

    def monster(self, name: str) -> dict[str, Any]:
        """Stat-block summary of a monster: AC, HP, speed, abilities, CR and main attacks."""
        return summarize_monster(self._data("monster", name))

    def spell(self, name: str) -> dict[str, Any]:
        """Spell summary: level, school, casting, components, duration and damage dice."""
        return summarize_spell(self._data("spell", name))

    def condition(self, name: str) -> dict[str, Any]:
        """A condition's name and its rules, one effect per list item."""
        data = self._data("condition", name)
        return {"name": data["name"], "effects": [d.lstrip("- ").strip() for d in data["desc"]]}

    def monster_names(self) -> list[str]:
        return self._names("monsters")

    def spell_names(self) -> list[str]:
        return self._names("spells")

    def condition_names(self) -> list[str]:
        return self._names("conditions")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> SRD:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals ----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            if self._path is None:
                from dnd_ft.assets import asset_path

                self._path = asset_path("srd")
            if not self._path.is_file():
                raise ToolExecutionError(
                    f"SRD database {self._path} not found; run `python -m dnd_ft.assets fetch srd`"
                )
            # mode=ro: a look-up tool must never write to the shared cache file.
            self._conn = sqlite3.connect(f"{self._path.resolve().as_uri()}?mode=ro", uri=True)
        return self._conn

    def _names(self, table: str) -> list[str]:
        rows = self._connect().execute(f'SELECT name FROM "{table}" ORDER BY name')
        return [name for (name,) in rows]

    def _lookup_index(self, table: str) -> dict[str, str]:
        """Normalized name and index -> row index, built once per table."""
        if table not in self._index:
            rows = self._connect().execute(f'SELECT "index", name FROM "{table}"')
            keys: dict[str, str] = {}
            for index, name in rows:
                keys[_normalize(name)] = index
                keys[_normalize(index)] = index
            self._index[table] = keys
        return self._index[table]

    def _data(self, kind: str, name: str) -> dict[str, Any]:
        table = _TABLES[kind]
        index = self._lookup_index(table).get(_normalize(name))
        if index is None:
            raise ToolExecutionError(self._not_found(kind, table, name))
        (data,) = (
            self._connect()
            .execute(f'SELECT data FROM "{table}" WHERE "index" = ?', (index,))
            .fetchone()
        )
        return json.loads(data)

    def _not_found(self, kind: str, table: str, name: str) -> str:
        names = self._names(table)
        by_key = {_normalize(n): n for n in names}
        query = _normalize(name)
        close = difflib.get_close_matches(query, list(by_key), n=3, cutoff=0.6)
        # Substring hits catch partial names ("red dragon" -> "Adult Red Dragon").
        candidates = set(close) | {k for k in by_key if query and query in k}
        ranked = sorted(candidates, key=lambda k: (-_similarity(query, k), k))
        suggestions = [by_key[k] for k in ranked[:5]]
        hint = f"; did you mean: {', '.join(suggestions)}?" if suggestions else ""
        return f"no {kind} named {name!r} in the SRD ({self.edition}){hint}"


def summarize_monster(m: dict[str, Any]) -> dict[str, Any]:
    """The parts of a 5e-database monster a game master needs at the table."""
    kind = m["type"] + (f" ({m['subtype']})" if m.get("subtype") else "")
    out: dict[str, Any] = {
        "name": m["name"],
        "size": m["size"],
        "type": kind,
        "alignment": m.get("alignment"),
        "armor_class": m["armor_class"][0]["value"] if m.get("armor_class") else None,
        "hit_points": m["hit_points"],
        "hit_dice": m.get("hit_points_roll") or m.get("hit_dice"),
        "speed": ", ".join(f"{k} {v}" for k, v in m.get("speed", {}).items()),
        "abilities": {a[:3]: m[a] for a in _ABILITIES},
        "challenge_rating": m["challenge_rating"],
        "xp": m.get("xp"),
    }
    for key in ("damage_vulnerabilities", "damage_resistances", "damage_immunities"):
        if m.get(key):
            out[key] = list(m[key])
    if m.get("condition_immunities"):
        out["condition_immunities"] = [c["index"] for c in m["condition_immunities"]]
    out["actions"] = [_action(a) for a in m.get("actions", []) if _is_attack(a)][:MAX_ACTIONS]
    return out


def summarize_spell(s: dict[str, Any]) -> dict[str, Any]:
    """The parts of a 5e-database spell a game master needs to resolve a cast."""
    out: dict[str, Any] = {
        "name": s["name"],
        "level": s["level"],
        "school": s["school"]["name"],
        "casting_time": s["casting_time"],
        "range": s["range"],
        "components": ", ".join(s["components"]),
        "duration": s["duration"],
        "concentration": s["concentration"],
        "ritual": s["ritual"],
        "description": _shorten(s["desc"][0] if s.get("desc") else ""),
    }
    damage = s.get("damage") or {}
    dice = damage.get("damage_at_slot_level") or damage.get("damage_at_character_level")
    if dice:
        out["damage"] = {
            "dice": dice[min(dice, key=int)],  # at the spell's own level / a 1st-level caster
            "type": damage.get("damage_type", {}).get("index"),
        }
    if s.get("heal_at_slot_level"):
        heal = s["heal_at_slot_level"]
        out["healing"] = heal[min(heal, key=int)]
    if s.get("dc"):
        out["save"] = {
            "ability": s["dc"]["dc_type"]["index"],
            "on_success": s["dc"].get("dc_success"),
        }
    if s.get("attack_type"):
        out["attack"] = s["attack_type"]
    return out


def _is_attack(action: dict[str, Any]) -> bool:
    return (
        "attack_bonus" in action
        or "dc" in action
        or any("damage_dice" in d for d in action.get("damage", []))
    )


def _action(a: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": a["name"]}
    if "attack_bonus" in a:
        out["attack_bonus"] = a["attack_bonus"]
    if "dc" in a:
        out["save_dc"] = f"{a['dc']['dc_type']['index']} {a['dc']['dc_value']}"
    damage = [
        f"{d['damage_dice']} {d['damage_type']['index']}"
        for d in a.get("damage", [])
        if "damage_dice" in d and "damage_type" in d
    ]
    if damage:
        out["damage"] = " plus ".join(damage)
    return out


def _normalize(name: str) -> str:
    """Case-, space- and hyphen-insensitive key: "Adult Red Dragon" == "adult-red-dragon"."""
    return " ".join(name.replace("-", " ").replace("_", " ").casefold().split())


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _shorten(text: str, limit: int = MAX_DESCRIPTION) -> str:
    """Cut at the last sentence end before ``limit`` (else a word boundary) to keep results short."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = cut.rfind(". ")
    return cut[: end + 1] if end > limit // 3 else cut.rsplit(" ", 1)[0] + "…"
