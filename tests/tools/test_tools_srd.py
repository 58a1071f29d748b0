"""SRD look-ups against the real 5e-database SQLite file."""

from __future__ import annotations

import json
import sqlite3

import pytest

from dnd_ft.tools.errors import ToolExecutionError
from dnd_ft.tools.executors import SRD
from dnd_ft.tools.executors.combat import CONDITIONS


def test_counts(srd: SRD) -> None:
    assert len(srd.monster_names()) >= 300
    assert len(srd.spell_names()) >= 300
    assert {c.lower() for c in srd.condition_names()} == CONDITIONS


def test_goblin(srd: SRD) -> None:
    goblin = srd.monster("goblin")
    assert goblin["name"] == "Goblin"
    assert goblin["armor_class"] == 15 and goblin["hit_points"] == 7
    assert goblin["challenge_rating"] == 0.25 and goblin["xp"] == 50
    assert goblin["abilities"]["dex"] == 14
    assert {"name": "Scimitar", "attack_bonus": 4, "damage": "1d6+2 slashing"} in goblin["actions"]


@pytest.mark.parametrize("name", ["Adult Red Dragon", "adult-red-dragon", "  ADULT red  DRAGON "])
def test_lookup_by_name_or_index_any_case(srd: SRD, name: str) -> None:
    dragon = srd.monster(name)
    assert dragon["name"] == "Adult Red Dragon" and dragon["damage_immunities"] == ["fire"]
    assert dragon["actions"][0] == {
        "name": "Bite",
        "attack_bonus": 14,
        "damage": "2d10+8 piercing plus 2d6 fire",
    }


def test_fireball(srd: SRD) -> None:
    fireball = srd.spell("Fireball")
    assert fireball["level"] == 3 and fireball["school"] == "Evocation"
    assert fireball["damage"] == {"dice": "8d6", "type": "fire"}
    assert fireball["save"] == {"ability": "dex", "on_success": "half"}
    assert fireball["concentration"] is False and len(fireball["description"]) <= 300


def test_cantrip_and_healing(srd: SRD) -> None:
    assert srd.spell("fire bolt")["damage"] == {"dice": "1d10", "type": "fire"}
    assert srd.spell("cure-wounds")["healing"] == "1d8 + MOD"


def test_condition(srd: SRD) -> None:
    prone = srd.condition("Prone")
    assert (
        prone["name"] == "Prone"
        and prone["effects"][1] == "The creature has disadvantage on attack rolls."
    )


def test_every_entry_summarizes_to_json(srd: SRD) -> None:
    for name in srd.monster_names():
        json.dumps(srd.monster(name))
    for name in srd.spell_names():
        json.dumps(srd.spell(name))


def test_not_found_suggests_close_names(srd: SRD) -> None:
    with pytest.raises(
        ToolExecutionError,
        match=r"no monster named 'gobin' in the SRD \(2014\); did you mean: Goblin",
    ):
        srd.monster("gobin")
    with pytest.raises(ToolExecutionError, match="did you mean: Fireball, Fire Bolt"):
        srd.spell("firebal")
    with pytest.raises(ToolExecutionError, match=r"no spell named 'xyzzy' in the SRD \(2014\)$"):
        srd.spell("xyzzy")


def test_database_is_read_only(srd: SRD) -> None:
    srd.monster("goblin")
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        srd._connect().execute("CREATE TABLE scratch (x)")


def test_missing_file_fails_on_first_lookup_not_before(tmp_path) -> None:
    srd = SRD(tmp_path / "absent.sqlite3")  # constructing opens nothing
    with pytest.raises(
        ToolExecutionError,
        match="absent.sqlite3 not found; run `python -m dnd_ft.assets fetch srd`",
    ):
        srd.monster("goblin")


def test_unknown_edition() -> None:
    with pytest.raises(
        ToolExecutionError, match="no SRD data for edition '2024'; set tools.srd_edition"
    ):
        SRD(edition="2024")
