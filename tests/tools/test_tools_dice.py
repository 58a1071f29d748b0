"""Dice rolls through d20: reproducible by seed, varied notation, global RNG untouched."""

from __future__ import annotations

import random

import d20.expression
import pytest

from dnd_ft.tools.errors import ToolExecutionError
from dnd_ft.tools.executors.dice import MAX_DICE, roll

NOTATIONS = ["2d6+3", "1d20+5", "4d6kh3", "1d8-1", "2d20kl1", "1d12"]


def _rolls(seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [roll(n, rng) for n in NOTATIONS * 3]


def test_same_seed_same_rolls() -> None:
    assert _rolls(7) == _rolls(7)


def test_different_seeds_differ() -> None:
    assert _rolls(7) != _rolls(8)


def test_global_random_is_untouched() -> None:
    random.seed(123)
    before = random.getstate()
    roll("10d6", random.Random(1))
    assert random.getstate() == before
    assert d20.expression.random is random  # the module attribute is restored


@pytest.mark.parametrize("seed", range(20))
def test_notation_variety(seed: int) -> None:
    rng = random.Random(seed)
    r = roll("2d6+3", rng)
    assert len(r["rolls"]) == 2 and all(1 <= v <= 6 for v in r["rolls"])
    assert r["modifier"] == 3 and r["total"] == sum(r["rolls"]) + 3 and 5 <= r["total"] <= 15

    r = roll("1d20+5", rng)
    assert r["modifier"] == 5 and 6 <= r["total"] <= 25 and r["detail"].endswith(f"= {r['total']}")

    r = roll("4d6kh3", rng)
    assert len(r["rolls"]) == 4 and len(r["kept"]) == 3 and len(r["dropped"]) == 1
    assert sorted(r["kept"] + r["dropped"]) == sorted(r["rolls"])  # all dice, in roll order
    assert r["dropped"][0] <= min(r["kept"]) and r["total"] == sum(r["kept"])
    assert "~~" in r["detail"]  # the dropped die is struck through

    r = roll("1d8-1", rng)
    assert r["modifier"] == -1 and 0 <= r["total"] <= 7

    r = roll(" 2d20kl1 ", rng)
    assert r["notation"] == "2d20kl1" and r["total"] == min(r["rolls"])


@pytest.mark.parametrize("notation", ["2d", "1d6 fire", "", "1d0", "1d6/0", "two dice"])
def test_invalid_notation_names_it(notation: str) -> None:
    with pytest.raises(ToolExecutionError, match=f"invalid dice notation '{notation.strip()}'"):
        roll(notation, random.Random(0))


def test_too_many_dice() -> None:
    with pytest.raises(ToolExecutionError, match=f"rolls more than {MAX_DICE} dice"):
        roll(f"{MAX_DICE + 1}d6", random.Random(0))
