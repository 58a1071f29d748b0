"""Corpus statistics: what the scenarios teach, counted (``python -m dnd_ft.scenarios stats``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from dnd_ft.scenarios.model import Scenario

_ROLES = ("player", "dm", "tool")


@dataclass
class CorpusStats:
    """Counts over a set of scenarios. A "flow" is one ``## Conversation`` (one record)."""

    scenarios: int = 0
    flows: int = 0
    turns: int = 0
    turns_by_role: Counter[str] = field(default_factory=Counter)
    scenarios_by_category: Counter[str] = field(default_factory=Counter)
    flows_by_category: Counter[str] = field(default_factory=Counter)
    calls_by_tool: Counter[str] = field(default_factory=Counter)
    tool_call_turns: int = 0  # DM turns with at least one call
    parallel_call_turns: int = 0  # DM turns with two or more calls
    no_tool_dm_turns: int = 0  # DM turns that only talk

    @property
    def mean_turns_per_flow(self) -> float:
        return self.turns / self.flows if self.flows else 0.0


def compute_stats(scenarios: Iterable[Scenario]) -> CorpusStats:
    stats = CorpusStats()
    for scenario in scenarios:
        stats.scenarios += 1
        stats.scenarios_by_category[scenario.category] += 1
        for flow in scenario.flows:
            stats.flows += 1
            stats.flows_by_category[scenario.category] += 1
            for turn in flow.turns:
                stats.turns += 1
                stats.turns_by_role[turn.role] += 1
                if turn.role != "dm":
                    continue
                n_calls = len(turn.tool_calls)
                stats.calls_by_tool.update(call.name for call in turn.tool_calls)
                stats.tool_call_turns += n_calls > 0
                stats.parallel_call_turns += n_calls > 1
                stats.no_tool_dm_turns += n_calls == 0
    return stats


def format_stats(stats: CorpusStats) -> str:
    """A plain-text report: one ``name  value`` table per topic."""
    sections = [
        ("Totals", [
            ("scenarios", stats.scenarios),
            ("flows", stats.flows),
            ("turns", stats.turns),
            ("mean turns per flow", f"{stats.mean_turns_per_flow:.2f}"),
            ("DM turns with tool calls", stats.tool_call_turns),
            ("parallel-call DM turns", stats.parallel_call_turns),
            ("no-tool DM turns", stats.no_tool_dm_turns),
            ("tool calls", sum(stats.calls_by_tool.values())),
        ]),
        ("Turns by role", [(role, stats.turns_by_role[role]) for role in _ROLES]),
        ("By category (scenarios / flows)", [
            (cat, f"{n} / {stats.flows_by_category[cat]}")
            for cat, n in sorted(stats.scenarios_by_category.items())
        ]),
        ("Tool calls by tool", sorted(stats.calls_by_tool.items(), key=lambda kv: (-kv[1], kv[0]))),
    ]  # fmt: skip
    out = []
    for title, rows in sections:
        out.append(title)
        width = max((len(name) for name, _ in rows), default=0)
        out += [f"  {name:<{width}}  {value:>8}" for name, value in rows] or ["  (none)"]
        out.append("")
    return "\n".join(out)
