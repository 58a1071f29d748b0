"""The data report: what went into each split, and everything cleaning did or found."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from dnd_ft.data.clean import CleanAction
from dnd_ft.data.split import SPLITS


def build_report(
    splits: Mapping[str, Sequence[dict[str, Any]]],
    actions: Sequence[CleanAction],
    *,
    scenarios: int,
    assignment: Mapping[str, str],
    chat_format: Mapping[str, Any],
    max_length: int,
) -> dict[str, Any]:
    """Counts per split, category, tool and role; token statistics; cleaning actions."""
    report: dict[str, Any] = {
        "scenarios": scenarios,
        "scenarios_per_split": dict(Counter(assignment.values())),
        "format": dict(chat_format),
        "max_length": max_length,
        "splits": {s: _split_stats(splits.get(s, [])) for s in SPLITS},
        "cleaning": {
            "counts": dict(Counter(a.action for a in actions)),
            "actions": [a.to_dict() for a in actions],
        },
    }
    report["overlength"] = [a.to_dict() for a in actions if a.action == "overlength"]
    return report


def _split_stats(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    tools: Counter[str] = Counter()
    roles: Counter[str] = Counter()
    for row in rows:
        for m in row["messages"]:
            roles[m["role"]] += 1
            tools.update(c["function"]["name"] for c in m.get("tool_calls") or [])
    tokens = [r["num_tokens"] for r in rows if r.get("num_tokens") is not None]
    return {
        "examples": len(rows),
        "scenarios": len({r["scenario_id"] for r in rows}),
        "augmented": sum(bool(r.get("augmented")) for r in rows),
        "augmentation": dict(Counter(r["augmentation"] for r in rows if r.get("augmented"))),
        "categories": dict(Counter(r["category"] for r in rows)),
        "tool_calls": dict(tools),
        "turns": dict(roles),
        "tokens": {
            "total": sum(tokens),
            "max": max(tokens, default=0),
            "mean": round(sum(tokens) / len(tokens), 1) if tokens else 0,
        }
        if tokens
        else None,  # fmt: skip
    }


def render_markdown(report: Mapping[str, Any]) -> str:
    """A readable summary of `build_report`'s dict."""
    fmt = report["format"]
    per_split = ", ".join(f"{s} {report['scenarios_per_split'].get(s, 0)}" for s in SPLITS)
    lines = [
        "# Data report",
        "",
        f"- scenarios: {report['scenarios']} ({per_split})",
        f"- chat format: `{fmt.get('chat_format')}` {fmt.get('options', {})}",
        f"- max length: {report['max_length']} tokens; over-length examples: {len(report['overlength'])}",
        "",
        "## Splits",
        "",
        "| split | examples | scenarios | augmented | tokens (total / max / mean) |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for s in SPLITS:
        st = report["splits"][s]
        tok = st["tokens"]
        tok_text = f"{tok['total']} / {tok['max']} / {tok['mean']}" if tok else "-"
        lines.append(
            f"| {s} | {st['examples']} | {st['scenarios']} | {st['augmented']} | {tok_text} |"
        )
    lines += _table("Categories", "category", report, "categories")
    lines += _table("Tool calls", "tool", report, "tool_calls")
    lines += _table("Turns", "role", report, "turns")
    lines += _table("Augmentation", "technique", report, "augmentation")
    lines += ["", "## Cleaning", ""]
    counts = report["cleaning"]["counts"]
    lines += [f"- {k}: {v}" for k, v in sorted(counts.items())] or ["- nothing to clean"]
    notable = [a for a in report["cleaning"]["actions"] if a["action"] != "normalized"]
    if notable:
        lines += ["", "| record | action | detail |", "| --- | --- | --- |"]
        lines += [f"| {a['record_id']} | {a['action']} | {a['detail']} |" for a in notable]
    return "\n".join(lines) + "\n"


def _table(title: str, label: str, report: Mapping[str, Any], key: str) -> list[str]:
    names = sorted({n for s in SPLITS for n in report["splits"][s][key]})
    if not names:
        return []
    lines = ["", f"## {title}", "", f"| {label} | " + " | ".join(SPLITS) + " |",
             "| --- |" + " ---: |" * len(SPLITS)]  # fmt: skip
    for n in names:
        lines.append(
            f"| {n} | " + " | ".join(str(report["splits"][s][key].get(n, 0)) for s in SPLITS) + " |"
        )
    return lines
