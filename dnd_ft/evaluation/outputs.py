"""The eval stage's outputs: report.json, report.md and the tracker's tables."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dnd_ft.utils.io import atomic_write_text

log = logging.getLogger(__name__)

# Headline metrics in the order reports show them; metrics.json holds every key.
HEADLINE = (
    "tool_name_f1", "tool_name_precision", "tool_name_recall", "tool_args_exact",
    "tool_turn_exact", "irrelevance_acc", "hallucination_rate", "missing_rate", "malformed_rate",
    "schema_valid_rate", "exec_rate", "state_match_rate", "rouge_l", "chrf", "in_character_rate",
    "invented_roll_rate", "length_ok_rate", "context_entity_recall", "grounded_args_rate",
    "judge_score",
)  # fmt: skip
LOWER_IS_BETTER = {"hallucination_rate", "missing_rate", "malformed_rate", "invented_roll_rate"}


def fmt_value(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def metric_rows(reports: Mapping[str, Mapping[str, Any]]) -> list[list[Any]]:
    """``[metric, value per model..., delta]`` rows for the headline metrics.

    reports: label -> flat metrics, e.g. {"fine-tuned": {...}, "baseline": {...}}; the delta is
    first minus last when there are two.
    """
    labels = list(reports)
    rows = []
    for key in HEADLINE:
        values = [reports[label].get(key) for label in labels]
        if all(v is None for v in values) and key == "judge_score":
            continue
        delta = None
        if len(values) == 2 and all(isinstance(v, int | float) for v in values):
            delta = values[0] - values[1]
        rows.append([key, *values, delta])
    return rows


def render_markdown(summary: Mapping[str, Any]) -> str:
    """A human-readable report.md of one eval run (see `write_reports` for the summary shape)."""
    reports = {label: part["metrics"] for label, part in summary["models"].items()}
    labels = list(reports)
    lines = [
        f"# Evaluation: {summary['model']}",
        "",
        f"Split `{summary['split']}`: {summary['n_examples']} conversations, "
        f"{summary['n_turns']} DM turns. Adapter: `{summary.get('adapter_dir') or 'none'}`.",
        "Metric definitions: docs/evaluation.md. Lower is better for: "
        + ", ".join(sorted(LOWER_IS_BETTER))
        + ".",
        "",
        "| metric | " + " | ".join(labels) + (" | delta |" if len(labels) == 2 else " |"),
        "|---|" + "---:|" * (len(labels) + (len(labels) == 2)),
    ]
    for row in metric_rows(reports):
        cells = [fmt_value(v) for v in row[1 : 1 + len(labels)]]
        if len(labels) == 2:
            cells.append("" if row[-1] is None else f"{row[-1]:+.3f}")
        lines.append(f"| {row[0]} | " + " | ".join(cells) + " |")
    for label, part in summary["models"].items():
        lines += ["", f"## Per tool ({label})", "",
                  "| tool | gold | pred | matched | precision | recall | f1 | args exact |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        for t in part["tools"]:
            lines.append(
                f"| {t['tool']} | {t['gold']} | {t['pred']} | {t['matched']} | "
                + " | ".join(fmt_value(t[k]) for k in ("precision", "recall", "f1", "args_exact"))
                + " |"
            )
        if part.get("categories"):
            keys = [k for k in next(iter(part["categories"].values())) if k != "n_turns"]
            lines += ["", f"## Per category ({label})", "",
                      "| category | turns | " + " | ".join(keys) + " |",
                      "|---|---:|" + "---:|" * len(keys)]  # fmt: skip
            for cat, values in part["categories"].items():
                lines.append(f"| {cat} | {values['n_turns']} | "
                             + " | ".join(fmt_value(values[k]) for k in keys) + " |")  # fmt: skip
    return "\n".join(lines) + "\n"


def write_reports(out_dir: Path, summary: Mapping[str, Any]) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` into ``out_dir``.

    summary: ``{"model", "split", "n_examples", "n_turns", "adapter_dir",
    "models": {label: EvalReport.to_dict()}}``.
    """
    json_path, md_path = out_dir / "report.json", out_dir / "report.md"
    atomic_write_text(json_path, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(md_path, render_markdown(summary))
    return json_path, md_path


def log_to_tracker(tracker: Any, summary: Mapping[str, Any]) -> None:
    """Per-metric and per-tool tables (W&B tables when the tracker is W&B)."""
    if tracker is None:
        return
    reports = {label: part["metrics"] for label, part in summary["models"].items()}
    labels = list(reports)
    metric_columns = ["metric", *labels] + (["delta"] if len(labels) == 2 else [])
    metric_data = [row if len(labels) == 2 else row[:-1] for row in metric_rows(reports)]
    tool_columns = [
        "model",
        "tool",
        "gold",
        "pred",
        "matched",
        "precision",
        "recall",
        "f1",
        "args_exact",
    ]
    tool_data = [[label, *(t[c] for c in tool_columns[1:])]
                 for label, part in summary["models"].items() for t in part["tools"]]  # fmt: skip
    _table(tracker, "eval/metrics_table", metric_columns, metric_data)
    _table(tracker, "eval/tools_table", tool_columns, tool_data)


def _table(tracker: Any, key: str, columns: list[str], data: list[list[Any]]) -> None:
    try:
        tracker.log_table(key, columns, data)  # dnd_ft.tracking.Tracker: a wandb.Table under W&B
    except Exception as exc:  # tracking is a side channel: never lose an eval run to it
        log.warning("could not log %s to the tracker: %s", key, exc)
