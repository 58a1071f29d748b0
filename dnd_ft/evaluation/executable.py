"""Executable checks: do the predicted calls run, and do they leave the same combat state?

Two measurements per conversation (one held-out example):

- **exec rate**: every predicted call, in turn order, runs on a fresh seeded `ToolExecutor`
  whose tracker knows the party's hit points; a call counts as executable when it returns
  without error (unknown tool, invalid arguments, unknown monster, bad dice notation fail).
- **state match**: only the state-changing calls (``apply_damage``, ``heal``,
  ``start_initiative``, ``add_condition`` by default) of the gold turns and of the predicted
  turns are replayed on two fresh executors seeded alike; the final states are compared in
  `comparable_state`, which leaves out initiative rolls and order (dice outcomes, not
  decisions the model makes).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dnd_ft.evaluation.config import METRICS

log = logging.getLogger(__name__)

STATE_TOOLS = tuple(METRICS.state_tools)  # eval.metrics.state_tools
# A list item of the system prompt, "- Name[, Name...]: ... HP 17/17 ..." or "... HP 11 ...".
_ITEM = re.compile(r"^\s*[-*]\s+(?P<names>[^:\n]+):(?P<rest>.*)$", re.MULTILINE)
_HP = re.compile(r"\bHP\s+(?P<hp>\d+)(?:\s*/\s*(?P<max>\d+))?")


def parse_hit_points(system: str) -> list[tuple[str, int, int]]:
    """``(name, hp, max_hp)`` for each list item of ``system`` that states ``HP a/b`` or ``HP n``.

    "- Bandit 1, Bandit 2: HP 11 each" gives one entry per name. Items whose hit points cannot
    be parsed, or where hp > max_hp, are skipped: seeding is a best effort that both sides share.
    """
    entries = []
    for item in _ITEM.finditer(system):
        hp = _HP.search(item["rest"])
        if not hp:
            continue
        current = int(hp["hp"])
        maximum = int(hp["max"]) if hp["max"] else current
        if current > maximum:
            continue
        for name in item["names"].split(","):
            name = " ".join(name.split())
            if name:
                entries.append((name, current, maximum))
    return entries


def fresh_executor(executor: Any, hit_points: Iterable[tuple[str, int, int]]) -> Any:
    """Reset ``executor`` (RNG and tracker) and register the known hit points."""
    executor.reset()
    for name, hp, max_hp in hit_points:
        executor.tracker.add(name, hp, max_hp)
    return executor


def run_calls(executor: Any, calls: Iterable[Mapping[str, Any]]) -> list[str | None]:
    """Execute ``calls`` in order; per call None when it ran, else the error message."""
    from dnd_ft.tools.errors import ToolExecutionError

    outcomes: list[str | None] = []
    for c in calls:
        try:
            executor.execute(c["name"], c["arguments"])
            outcomes.append(None)
        except ToolExecutionError as exc:
            outcomes.append(str(exc))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # A call that passed the schema but broke the handler is still the model's failure.
            outcomes.append(f"{type(exc).__name__}: {exc}")
    return outcomes


def comparable_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """The decision-driven part of a tracker snapshot, keyed by case-folded name.

    Keeps hp, max_hp, damage_taken, conditions and whether a creature is in the initiative
    order; drops the initiative rolls and order, which depend on how many dice were drawn.
    """
    combatants = state.get("combatants", {})
    return {
        "in_combat": bool(state.get("round")),
        "combatants": {
            " ".join(name.split()).casefold(): {
                "hp": c.get("hp"),
                "max_hp": c.get("max_hp"),
                "damage_taken": c.get("damage_taken"),
                "conditions": sorted(c.get("conditions", [])),
                "in_initiative": c.get("initiative") is not None,
            }
            for name, c in combatants.items()
        },
    }


@dataclass
class ConversationExec:
    """Executable-check results of one conversation."""

    calls: int = 0
    executed: int = 0
    errors: list[str] = field(default_factory=list)
    state_checked: bool = False  # gold or prediction changed state
    state_match: bool | None = None
    gold_state: dict[str, Any] | None = None
    pred_state: dict[str, Any] | None = None


def check_conversation(
    executor: Any,
    system: str,
    gold_turns: Sequence[Sequence[Mapping[str, Any]]],
    pred_turns: Sequence[Sequence[Mapping[str, Any]]],
    state_tools: Sequence[str] = STATE_TOOLS,
) -> ConversationExec:
    """Run the executable checks for one conversation on ``executor`` (reset before each use).

    gold_turns, pred_turns: per evaluated DM turn, its calls as ``{"name", "arguments"}``.
    """
    hit_points = parse_hit_points(system)
    result = ConversationExec()
    pred_calls = [c for turn in pred_turns for c in turn]
    outcomes = run_calls(fresh_executor(executor, hit_points), pred_calls)
    result.calls = len(outcomes)
    result.executed = sum(o is None for o in outcomes)
    result.errors = [f"{c['name']}: {o}" for c, o in zip(pred_calls, outcomes, strict=True) if o]

    gold_state_calls = [c for turn in gold_turns for c in turn if c["name"] in state_tools]
    pred_state_calls = [c for c in pred_calls if c["name"] in state_tools]
    if gold_state_calls or pred_state_calls:
        result.state_checked = True
        run_calls(fresh_executor(executor, hit_points), gold_state_calls)
        result.gold_state = comparable_state(executor.state)
        run_calls(fresh_executor(executor, hit_points), pred_state_calls)
        result.pred_state = comparable_state(executor.state)
        result.state_match = result.gold_state == result.pred_state
    return result


@dataclass
class ExecStats:
    """Executable-check metrics over many conversations."""

    calls: int = 0
    executed: int = 0
    conversations: int = 0
    state_checked: int = 0
    state_matched: int = 0

    def add(self, conv: ConversationExec) -> None:
        self.conversations += 1
        self.calls += conv.calls
        self.executed += conv.executed
        self.state_checked += conv.state_checked
        self.state_matched += bool(conv.state_match)

    def summary(self) -> dict[str, float | int | None]:
        return {
            "exec_rate": self.executed / self.calls if self.calls else None,
            "state_match_rate": self.state_matched / self.state_checked
            if self.state_checked
            else None,
            "n_state_conversations": self.state_checked,
        }
