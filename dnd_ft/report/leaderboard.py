"""The leaderboard as data: one row per (run, variant) and the metric columns to show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnd_ft.evaluation.outputs import HEADLINE, LOWER_IS_BETTER
from dnd_ft.report.collect import VARIANTS, Run

ID_COLUMNS = ["model", "family", "size", "variant", "run"]


@dataclass
class Leaderboard:
    """Rows (dicts with ID_COLUMNS and metric keys) and the metrics that have any value."""

    rows: list[dict[str, Any]]
    metrics: list[str]
    runs: list[Run] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return ID_COLUMNS + self.metrics

    def table(self) -> list[list[Any]]:
        """Rows as lists in `columns` order (for W&B tables)."""
        return [[row.get(c) for c in self.columns] for row in self.rows]

    def deltas(self) -> list[dict[str, Any]]:
        """Per run with both variants: fine-tuned minus baseline for every metric."""
        out = []
        for run in self.runs:
            if not (run.has_variant("fine-tuned") and run.has_variant("baseline")):
                continue
            tuned, base = run.variant_metrics("fine-tuned"), run.variant_metrics("baseline")
            row: dict[str, Any] = {"model": run.model, "run": _label(run, self.runs)}
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
    """Fine-tuned and baseline rows of each run, side by side, for ``metrics`` with values."""
    rows = []
    for run in runs:
        for variant in VARIANTS:
            if not run.has_variant(variant):
                continue
            values = run.variant_metrics(variant)
            rows.append({
                "model": run.model, "family": run.family, "size": run.size,
                "variant": variant, "run": _label(run, runs), "path": str(run.path),
                **{m: values.get(m) for m in metrics},
            })  # fmt: skip
    shown = [m for m in metrics if any(isinstance(r.get(m), int | float) for r in rows)]
    return Leaderboard(rows=rows, metrics=shown, runs=list(runs))


def best_rows(board: Leaderboard) -> dict[str, set[int]]:
    """Indices of the rows holding the best value per metric (all ties), honouring
    lower-is-better metrics; no row when every row has the same value (nothing stands out)."""
    best: dict[str, set[int]] = {}
    for m in board.metrics:
        scored = [(i, r[m]) for i, r in enumerate(board.rows) if isinstance(r.get(m), int | float)]
        values = {v for _, v in scored}
        if len(values) < 2 and len(board.rows) > 1:
            continue
        top = min(values) if m in LOWER_IS_BETTER else max(values)
        best[m] = {i for i, v in scored if v == top}
    return best
