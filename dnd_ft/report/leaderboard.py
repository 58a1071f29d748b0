"""The leaderboard as data: one row per (run, variant), the metric columns to show, the rows
that can be "best", and which way each fine-tuned-minus-baseline delta points.

Metric groups and directions come from `dnd_ft.evaluation.outputs.METRICS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnd_ft.evaluation.outputs import GROUPS, HEADLINE, HIGHER, LOWER, direction, metric_info
from dnd_ft.report.collect import Run

ID_COLUMNS = ["model", "family", "size", "variant", "run"]
DEGENERATE_NOTE = (
    "degenerate: produced no well-formed output (no reply with text and no parsed tool call); "
    "never counted as best"
)
SMOKE_NOTE = (
    "smoke: a random-init tiny model (model.source tiny); its numbers measure the pipeline, "
    "not a model's quality"
)


def is_degenerate(metrics: Mapping[str, Any]) -> bool:
    """True when a variant produced no well-formed turn: it was scored on some turns, parsed
    no tool call in any of them (``n_pred_calls == 0``; malformed calls do not count) and
    wrote text in none (``in_character_rate`` is null: its denominator is the turns whose
    reply has text after stripping whitespace). Such a model, e.g. an untrained base model
    that prints only newlines, "wins" irrelevance_acc and malformed_rate by saying nothing.

    Metrics without these keys (older runs) are never judged degenerate.
    """
    if metrics.get("n_turns") == 0 or "in_character_rate" not in metrics:
        return False
    return metrics.get("n_pred_calls") == 0 and metrics["in_character_rate"] is None


NEVER_CALLS_NOTE = (
    "never calls: made no tool call at all; not counted as best on the metrics that not "
    "calling wins (irrelevance_acc, malformed_rate, hallucination_rate)"
)


def never_calls(metrics: Mapping[str, Any]) -> bool:
    """True when a variant was scored on some turns and attempted no tool call in any of
    them, well-formed or not: it is right on every turn that needs none by staying silent."""
    if not metrics.get("n_turns") or "n_pred_calls" not in metrics:
        return False
    return metrics["n_pred_calls"] == 0 and not metrics.get("n_malformed_calls")


def row_notes(row: Mapping[str, Any]) -> list[str]:
    """The labels of a leaderboard row ("smoke", "degenerate") or of a delta row ("smoke",
    "degenerate fine-tuned", "degenerate baseline")."""
    notes = ["smoke"] if row.get("smoke") else []
    if "baseline_degenerate" not in row:
        if row.get("degenerate"):
            return notes + ["degenerate"]
        return notes + (["never calls"] if row.get("never_calls") else [])
    notes += ["degenerate fine-tuned"] if row.get("degenerate") else []
    return notes + (["degenerate baseline"] if row["baseline_degenerate"] else [])


def verdict(metric: str, delta: Any) -> str | None:
    """The delta's cue: "better", "worse" or None (no delta, no change, no direction)."""
    if not isinstance(delta, int | float) or delta == 0:
        return None
    way = direction(metric)
    if way == HIGHER:
        return "better" if delta > 0 else "worse"
    if way == LOWER:
        return "better" if delta < 0 else "worse"
    return None


@dataclass
class Leaderboard:
    """Rows (dicts of ID_COLUMNS, path, source, smoke, degenerate and metric keys) and the
    metrics that have any value, in group order."""

    rows: list[dict[str, Any]]
    metrics: list[str]
    runs: list[Run] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return ID_COLUMNS + self.metrics

    def groups(self) -> list[tuple[str, list[str]]]:
        """``(group, metrics)`` in GROUPS order, for the groups that have a shown metric."""
        return [(g, ms) for g in GROUPS
                if (ms := [m for m in self.metrics if metric_info(m).group == g])]  # fmt: skip

    @property
    def has_smoke(self) -> bool:
        return any(row["smoke"] for row in self.rows)

    @property
    def has_degenerate(self) -> bool:
        return any(row["degenerate"] for row in self.rows)

    @property
    def has_never_calls(self) -> bool:
        return any(row.get("never_calls") and not row["degenerate"] for row in self.rows)

    def table(self) -> list[list[Any]]:
        """Rows as lists in `columns` order (for W&B tables)."""
        return [[row.get(c) for c in self.columns] for row in self.rows]

    def deltas(self) -> list[dict[str, Any]]:
        """Per run with both variants: fine-tuned minus baseline for every metric, plus
        ``smoke``, ``degenerate`` (the fine-tuned variant) and ``baseline_degenerate`` flags."""
        out = []
        for run in self.runs:
            if not (run.has_variant("fine-tuned") and run.has_variant("baseline")):
                continue
            tuned, base = run.variant_metrics("fine-tuned"), run.variant_metrics("baseline")
            row: dict[str, Any] = {
                "model": run.model, "run": _label(run, self.runs), "smoke": run.smoke,
                "degenerate": is_degenerate(tuned), "baseline_degenerate": is_degenerate(base),
            }  # fmt: skip
            for m in self.metrics:
                a, b = tuned.get(m), base.get(m)
                row[m] = (
                    a - b if isinstance(a, int | float) and isinstance(b, int | float) else None
                )
            out.append(row)
        return out


def _label(run: Run, runs: Sequence[Run]) -> str:
    """The run's name; when other runs share it (sweeps, reruns), plus the shortest tail of its
    folder path that tells them apart ("tiny_qwen3 (multirun/3)")."""
    same = [r for r in runs if r.run_name == run.run_name]
    if len(same) == 1:
        return run.run_name
    parts = Path(run.path).parts
    for n in range(1, len(parts) + 1):
        tail = parts[-n:]
        if all(Path(r.path).parts[-n:] != tail for r in same if r is not run):
            return f"{run.run_name} ({'/'.join(tail)})"
    return f"{run.run_name} ({run.path})"


def build_leaderboard(runs: Sequence[Run], metrics: Sequence[str] = HEADLINE) -> Leaderboard:
    """Fine-tuned and baseline rows of each run, side by side, then one per exported GGUF
    type, for ``metrics`` with values (ordered by group, then as given)."""
    rows = []
    for run in runs:
        for variant in run.variants():
            values = run.variant_metrics(variant)
            rows.append({
                "model": run.model, "family": run.family, "size": run.size,
                "variant": variant, "run": _label(run, runs), "path": str(run.path),
                "source": run.source, "smoke": run.smoke, "degenerate": is_degenerate(values),
                "never_calls": never_calls(values),
                **{m: values.get(m) for m in metrics},
            })  # fmt: skip
    shown = [m for m in metrics if any(isinstance(r.get(m), int | float) for r in rows)]
    shown.sort(key=lambda m: GROUPS.index(metric_info(m).group))  # stable: keeps the given order
    return Leaderboard(rows=rows, metrics=shown, runs=list(runs))


def best_rows(board: Leaderboard) -> dict[str, set[int]]:
    """Indices of the rows holding the best value per metric (all ties), honouring each
    metric's direction.

    Only comparable rows compete: never a degenerate row (`is_degenerate`: a model that says
    nothing never calls a tool wrongly), on the metrics that not calling wins never a row that
    made no call (`never_calls`), and smoke rows only when no real model has a value.
    No row for a metric with no direction (counts), nor when every competing row has the same
    value (nothing stands out; a lone row is best on a one-row board).
    """
    best: dict[str, set[int]] = {}
    for m in board.metrics:
        way = direction(m)
        if way not in (HIGHER, LOWER):
            continue
        silent_wins = metric_info(m).abstention_wins
        scored = [(i, r[m], r["smoke"]) for i, r in enumerate(board.rows)
                  if isinstance(r.get(m), int | float) and not r["degenerate"]
                  and not (silent_wins and r.get("never_calls"))]  # fmt: skip
        if any(not smoke for _, _, smoke in scored):
            scored = [s for s in scored if not s[2]]
        values = {v for _, v, _ in scored}
        if not values or (len(values) < 2 and len(board.rows) > 1):
            continue
        top = min(values) if way == LOWER else max(values)
        best[m] = {i for i, v, _ in scored if v == top}
    return best
