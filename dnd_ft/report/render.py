"""Leaderboard as Markdown and as one self-contained HTML file (charts embedded as PNG)."""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dnd_ft.evaluation.outputs import LOWER_IS_BETTER, fmt_value
from dnd_ft.report.leaderboard import ID_COLUMNS, Leaderboard, best_rows

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;font-size:.85rem;margin-bottom:1.5rem}
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:right}
th{background:#f3f5f8}td.id{text-align:left}td.best{font-weight:bold;background:#e7f0ff}
tr.baseline td{color:#666}.charts{display:flex;flex-wrap:wrap;gap:1rem}
.charts img{max-width:100%;border:1px solid #eee}
"""


def _delta(value: Any) -> str:
    return "n/a" if value is None else f"{value:+.3f}"


def render_markdown(board: Leaderboard, chart_files: Mapping[str, str] | None = None) -> str:
    """The leaderboard, the fine-tuned-minus-baseline deltas and links to the charts."""
    best = best_rows(board)
    lines = [
        "# dnd-ft leaderboard", "",
        f"{len(board.runs)} run(s), generated {time.strftime('%Y-%m-%d %H:%M')}. Best value per "
        "metric in bold; lower is better for " + ", ".join(sorted(LOWER_IS_BETTER)) + ". "
        "Metric definitions: docs/evaluation.md.", "",
        "| " + " | ".join(board.columns) + " |",
        "|" + "---|" * len(ID_COLUMNS) + "---:|" * len(board.metrics),
    ]  # fmt: skip
    for i, row in enumerate(board.rows):
        cells = [str(row[c]) for c in ID_COLUMNS]
        for m in board.metrics:
            text = fmt_value(row.get(m))
            cells.append(f"**{text}**" if i in best.get(m, ()) else text)
        lines.append("| " + " | ".join(cells) + " |")
    deltas = board.deltas()
    if deltas:
        lines += ["", "## Fine-tuned minus baseline", "",
                  "| model | run | " + " | ".join(board.metrics) + " |",
                  "|---|---|" + "---:|" * len(board.metrics)]  # fmt: skip
        for d in deltas:
            lines.append(
                f"| {d['model']} | {d['run']} | "
                + " | ".join(_delta(d[m]) for m in board.metrics)
                + " |"
            )
    if chart_files:
        lines += ["", "## Charts", ""] + [f"![{m}]({f})" for m, f in chart_files.items()]
    return "\n".join(lines) + "\n"


def _html_table(
    columns: Sequence[str], rows: Sequence[Sequence[str]], classes: Sequence[str] = ()
) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for k, row in enumerate(rows):
        cls = f' class="{classes[k]}"' if k < len(classes) and classes[k] else ""
        body.append(f"<tr{cls}>" + "".join(row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(board: Leaderboard, charts: Mapping[str, Path]) -> str:
    """One HTML page with no external resources: tables, then every chart inlined as base64."""
    best = best_rows(board)
    rows, classes = [], []
    for i, row in enumerate(board.rows):
        cells = [f'<td class="id">{html.escape(str(row[c]))}</td>' for c in ID_COLUMNS]
        for m in board.metrics:
            cls = ' class="best"' if i in best.get(m, ()) else ""
            cells.append(f"<td{cls}>{fmt_value(row.get(m))}</td>")
        rows.append(cells)
        classes.append(row["variant"])
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>dnd-ft leaderboard</title>",
        f"<style>{_CSS}</style></head><body><h1>dnd-ft leaderboard</h1>",
        f"<p>{len(board.runs)} run(s), generated {time.strftime('%Y-%m-%d %H:%M')}. Best value per "
        "metric highlighted; lower is better for " + html.escape(", ".join(sorted(LOWER_IS_BETTER)))
        + ". Definitions: docs/evaluation.md.</p>",
        _html_table(board.columns, rows, classes),
    ]  # fmt: skip
    deltas = board.deltas()
    if deltas:
        delta_rows = [[f'<td class="id">{html.escape(str(d[c]))}</td>' for c in ("model", "run")]
                      + [f"<td>{_delta(d[m])}</td>" for m in board.metrics] for d in deltas]  # fmt: skip
        parts += [
            "<h2>Fine-tuned minus baseline</h2>",
            _html_table(["model", "run", *board.metrics], delta_rows),
        ]
    if charts:
        parts.append("<h2>Charts</h2><div class='charts'>")
        for metric, path in charts.items():
            data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
            parts.append(f"<img alt='{html.escape(metric)}' src='data:image/png;base64,{data}'>")
        parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
