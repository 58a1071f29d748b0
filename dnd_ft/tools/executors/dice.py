"""Dice rolls with the ``d20`` package, made reproducible by a caller-owned RNG.

d20 draws every die from the module-level ``random`` of ``d20.expression``. Rather than
reseeding Python's global RNG (and disturbing everyone else's draws), we point that one
module attribute at our own ``random.Random`` for the duration of a roll, under a lock.
"""

from __future__ import annotations

import functools
import random
import threading
from typing import Any

from dnd_ft.tools.errors import ToolExecutionError

MAX_DICE = 100  # per roll: bounds the tool result a model has to read
_SWAP_LOCK = threading.Lock()


def roll(notation: str, rng: random.Random) -> dict[str, Any]:
    """Roll ``notation`` (e.g. ``2d6+3``, ``4d6kh3``) drawing dice from ``rng``.

    Returns ``{"notation", "total", "rolls", "kept", "dropped", "modifier", "detail"}``:
    ``rolls`` are all dice in the order rolled (as the scenario corpus writes them), ``kept``
    and ``dropped`` split them by keep/drop operators, ``modifier`` is the total minus the
    kept dice (the ``+3`` of ``2d6+3``), ``detail`` the readable roll with dropped dice struck
    through (``4d6kh3 (5, ~~1~~, 3, 6) = 14``).
    """
    import d20
    import d20.expression as d20_expression

    notation = notation.strip()
    with _SWAP_LOCK:
        saved = d20_expression.random
        d20_expression.random = rng  # Random has the randrange d20 calls
        try:
            result = _roller().roll(notation, stringifier=_stringifier())
            detail = str(result)  # the shared stringifier keeps per-call state: stay locked
        except d20.TooManyRolls:
            raise ToolExecutionError(
                f"dice notation {notation!r} rolls more than {MAX_DICE} dice; roll fewer dice"
            ) from None
        except d20.RollError as exc:
            raise ToolExecutionError(
                f"invalid dice notation {notation!r}: {exc} "
                "(expected e.g. 1d20+5, 2d6+3, 4d6kh3 or 2d20kl1)"
            ) from None
        finally:
            d20_expression.random = saved
    rolls: list[int] = []
    kept: list[int] = []
    dropped: list[int] = []
    _collect(result.expr, True, rolls, kept, dropped)
    return {
        "notation": notation,
        "total": result.total,
        "rolls": rolls,
        "kept": kept,
        "dropped": dropped,
        "modifier": result.total - sum(kept),
        "detail": detail,
    }


def roll_d20(rng: random.Random) -> int:
    """One d20, drawn the same way d20 draws it (``randrange(20) + 1``)."""
    return rng.randrange(20) + 1


def _collect(
    node: Any, kept: bool, all_out: list[int], kept_out: list[int], dropped_out: list[int]
) -> None:
    """Walk the rolled expression tree: every die's final value, and kept / dropped."""
    import d20

    kept = kept and node.kept
    if isinstance(node, d20.Dice):
        for die in node.values:
            all_out.append(int(die.number))
            (kept_out if kept and die.kept else dropped_out).append(int(die.number))
        return
    for child in node.children:
        _collect(child, kept, all_out, kept_out, dropped_out)


@functools.cache
def _roller() -> Any:
    import d20

    return d20.Roller(d20.RollContext(max_rolls=MAX_DICE))


@functools.cache
def _stringifier() -> Any:
    """d20's Markdown stringifier without bold crits and backticks: plain text plus ~~dropped~~."""
    import d20

    class PlainStringifier(d20.MarkdownStringifier):
        _str_expression = d20.SimpleStringifier._str_expression
        _str_die = d20.SimpleStringifier._str_die

    return PlainStringifier()
