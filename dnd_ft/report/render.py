"""Leaderboard as Markdown and as one self-contained HTML file (charts embedded as PNG).

Both read top to bottom by metric group (tool calls, prose, context): per group the scores
of every run and variant, the fine-tuned-minus-baseline deltas with a better/worse cue from
each metric's direction, then the group's charts. Best values are marked among comparable
rows only (see `best_rows`); degenerate variants and smoke models carry a visible label.
"""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dnd_ft.evaluation.outputs import HIGHER, LOWER, direction, fmt_values
from dnd_ft.report.leaderboard import (
    DEGENERATE_NOTE,
    ID_COLUMNS,
    NEVER_CALLS_NOTE,
    SMOKE_NOTE,
    Leaderboard,
    best_rows,
    row_notes,
    verdict,
)

_ARROW = {HIGHER: "↑", LOWER: "↓"}
_WAY = {HIGHER: "higher is better", LOWER: "lower is better"}
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#222;max-width:100%}
h2{margin-top:2.2rem;border-bottom:2px solid #dfe3e8;padding-bottom:.2rem}
h3{font-size:1rem;margin:1.2rem 0 .4rem}
p.meta,ul.legend{font-size:.9rem;color:#444}ul.legend{padding-left:1.2rem}
.frame{overflow-x:auto;width:fit-content;max-width:100%;border:1px solid #dfe3e8;
margin-bottom:1rem}
table{border-collapse:separate;border-spacing:0;font-size:.82rem}
th,td{border-bottom:1px solid #e6e9ed;border-right:1px solid #eef0f2;padding:.28rem .5rem;
text-align:right;white-space:nowrap}
th{background:#f3f5f8;vertical-align:bottom;white-space:normal;min-width:3.6rem;
max-width:6.5rem;font-weight:600}
th.id,td.id{text-align:left}
.sticky,.sticky2{position:sticky;z-index:1;background:#fff;box-sizing:border-box}
.sticky{left:0;width:11rem;min-width:11rem;max-width:11rem;white-space:normal;
overflow-wrap:anywhere}
.sticky2{left:11rem;width:7rem;min-width:7rem;max-width:7rem}
.sticky,.sticky2{box-shadow:inset -1px 0 0 #c9ced6}
th.sticky,th.sticky2{background:#f3f5f8;z-index:2}
td.best{font-weight:bold;background:#e7f0ff}
td.better{background:#e2f3e5;color:#0a6320}td.worse{background:#fbe3e3;color:#9b1111}
tr.family-start td{border-top:2px solid #9aa3ae}tr.baseline td{color:#666}tr.degenerate td{color:#999}
.sub{display:block;font-size:.72rem;color:#777}
.sub .badge{margin-left:0}.badge{display:inline-block;font-size:.68rem;line-height:1.3;padding:0 .35rem;
border-radius:.6rem;margin-left:.3rem;vertical-align:1px}
.badge.smoke{background:#fff1d6;color:#7a4f00;border:1px solid #eec26a}
.badge.degenerate,.badge.never{background:#f0f0f0;color:#555;border:1px solid #bbb}
.charts{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}
.charts img{max-width:calc(50% - .5rem);box-sizing:border-box;height:auto;border:1px solid #eee}
"""


def _column_texts(
    rows: Sequence[Mapping[str, Any]], metrics: Sequence[str], signed: bool = False
) -> dict[str, list[str]]:
    """Per metric, the printed values of ``rows`` (one precision per column)."""
    return {m: fmt_values([r.get(m) for r in rows], signed=signed) for m in metrics}


def _intro(board: Leaderboard) -> str:
    return (
        f"{len(board.runs)} run(s), generated {time.strftime('%Y-%m-%d %H:%M')}. "
        "↑ higher is better, ↓ lower is better, no arrow: neither (counts). The best value per "
        "metric is marked among the rows that produced well-formed output (and among real "
        "models when there are any); deltas are fine-tuned minus baseline, marked better or "
        "worse by the metric's direction. Metric definitions: docs/evaluation.md."
    )


def _notes(board: Leaderboard) -> list[str]:
    notes = []
    if board.has_smoke:
        notes.append(SMOKE_NOTE)
    if board.has_degenerate:
        notes.append(DEGENERATE_NOTE)
    if board.has_never_calls:
        notes.append(NEVER_CALLS_NOTE)
    return notes


# -- Markdown --------------------------------------------------------------------------------


def _md_heading(metric: str) -> str:
    arrow = _ARROW.get(direction(metric))
    return f"{metric} {arrow}" if arrow else metric


def _md_delta(metric: str, value: Any, text: str) -> str:
    cue = verdict(metric, value)
    return f"{text} ({cue})" if cue else text


def render_markdown(board: Leaderboard, chart_files: Mapping[str, str] | None = None) -> str:
    """Per metric group: the leaderboard, the deltas and links to the group's charts.

    A ``notes`` column (smoke, degenerate) follows the id columns when any row has a note."""
    best, deltas = best_rows(board), board.deltas()
    lines = ["# dnd-ft leaderboard", "", _intro(board), ""]
    for note in _notes(board):
        label, _, text = note.partition(": ")
        lines.append(f"- **{label}**: {text}")
    ids = ID_COLUMNS + (["notes"] if any(map(row_notes, board.rows)) else [])
    delta_ids = ["model", "run"] + (["notes"] if any(map(row_notes, deltas)) else [])
    for group, metrics in board.groups():
        title = group.capitalize()
        texts = _column_texts(board.rows, metrics)
        lines += ["", f"## {title}", "", _md_header(ids, metrics)]
        for i, row in enumerate(board.rows):
            cells = [", ".join(row_notes(row)) if c == "notes" else str(row[c]) for c in ids]
            for m in metrics:
                text = texts[m][i]
                cells.append(f"**{text}**" if i in best.get(m, ()) else text)
            lines.append("| " + " | ".join(cells) + " |")
        if deltas:
            dtexts = _column_texts(deltas, metrics, signed=True)
            lines += ["", f"### {title}: fine-tuned minus baseline", "",
                      _md_header(delta_ids, metrics)]  # fmt: skip
            for k, d in enumerate(deltas):
                cells = [", ".join(row_notes(d)) if c == "notes" else str(d[c]) for c in delta_ids]
                cells += [_md_delta(m, d[m], dtexts[m][k]) for m in metrics]
                lines.append("| " + " | ".join(cells) + " |")
        charts = [m for m in metrics if chart_files and m in chart_files]
        if charts and chart_files:
            lines += ["", f"### {title}: charts", ""]
            lines += [f"![{m}]({chart_files[m]})" for m in charts]
    return "\n".join(lines) + "\n"


def _md_header(ids: Sequence[str], metrics: Sequence[str]) -> str:
    return ("| " + " | ".join([*ids, *map(_md_heading, metrics)]) + " |\n|"
            + "---|" * len(ids) + "---:|" * len(metrics))  # fmt: skip


# -- HTML ------------------------------------------------------------------------------------


def _badge(kind: str, title: str) -> str:
    return f'<span class="badge {kind}" title="{html.escape(title)}">{kind}</span>'


def _th(metric: str) -> str:
    way = direction(metric)
    title = f' title="{_WAY[way]}"' if way in _WAY else ""
    name = html.escape(metric).replace("_", "_<wbr>")
    arrow = f" {_ARROW[way]}" if way in _ARROW else ""
    return f"<th{title}>{name}{arrow}</th>"


def _model_cell(row: Mapping[str, Any], show_run: bool) -> str:
    badge = _badge("smoke", SMOKE_NOTE) if row.get("smoke") else ""
    sub = [str(row["family"]), str(row["size"])] if "family" in row else []
    if show_run and row["run"] != row["model"]:
        sub.append(str(row["run"]))
    subline = f'<span class="sub">{html.escape(" · ".join(sub))}</span>' if sub else ""
    return f'<td class="id sticky">{html.escape(str(row["model"]))}{badge}{subline}</td>'


def _html_table(head: Sequence[str], rows: Sequence[str]) -> str:
    return (f'<div class="frame"><table><thead><tr>{"".join(head)}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")  # fmt: skip


def _board_table(board: Leaderboard, metrics: Sequence[str], best: Mapping[str, set[int]]) -> str:
    show_run = any(r["run"] != r["model"] for r in board.rows)
    texts = _column_texts(board.rows, metrics)
    head = ['<th class="id sticky">model</th>', '<th class="id sticky2">variant</th>']
    head += [_th(m) for m in metrics]
    rows = []
    for i, row in enumerate(board.rows):
        classes = [row["variant"]] + (["degenerate"] if row["degenerate"] else [])
        if i and row["family"] != board.rows[i - 1]["family"]:
            classes.append("family-start")
        variant = html.escape(row["variant"])
        if row["degenerate"]:
            variant += f'<span class="sub">{_badge("degenerate", DEGENERATE_NOTE)}</span>'
        elif row.get("never_calls"):
            variant += f'<span class="sub">{_badge("never calls", NEVER_CALLS_NOTE)}</span>'
        cells = [_model_cell(row, show_run), f'<td class="id sticky2">{variant}</td>']
        for m in metrics:
            cls = ' class="best"' if i in best.get(m, ()) else ""
            cells.append(f"<td{cls}>{html.escape(texts[m][i])}</td>")
        rows.append(f'<tr class="{" ".join(classes)}">' + "".join(cells) + "</tr>")
    return _html_table(head, rows)


def _delta_table(deltas: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> str:
    texts = _column_texts(deltas, metrics, signed=True)
    head = ['<th class="id sticky">model</th>'] + [_th(m) for m in metrics]
    rows = []
    for k, d in enumerate(deltas):
        model = html.escape(str(d["model"])) + (_badge("smoke", SMOKE_NOTE) if d["smoke"] else "")
        sub = [str(d["run"])] if d["run"] != d["model"] else []
        sub += ["degenerate fine-tuned"] if d["degenerate"] else []
        sub += ["vs a degenerate baseline"] if d["baseline_degenerate"] else []
        if sub:
            model += f'<span class="sub">{html.escape(" · ".join(sub))}</span>'
        cells = [f'<td class="id sticky">{model}</td>']
        for m in metrics:
            cue = verdict(m, d[m])
            cls = f' class="{cue}" title="{cue} ({_WAY[direction(m)]})"' if cue else ""
            cells.append(f"<td{cls}>{html.escape(texts[m][k])}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return _html_table(head, rows)


def _chart_figures(metrics: Sequence[str], charts: Mapping[str, Path]) -> str:
    figures = []
    for m in metrics:
        if m not in charts:
            continue
        data = base64.b64encode(Path(charts[m]).read_bytes()).decode("ascii")
        figures.append(f"<img alt='{html.escape(m)}' src='data:image/png;base64,{data}'>")
    return f"<div class='charts'>{''.join(figures)}</div>" if figures else ""


def _anchor(group: str) -> str:
    return group.replace(" ", "-")


def render_html(board: Leaderboard, charts: Mapping[str, Path]) -> str:
    """One HTML page with no external resources: per group its tables, then its charts
    (inlined as base64). Tables scroll inside their own frame with the model column pinned."""
    best, deltas = best_rows(board), board.deltas()
    groups = board.groups()
    nav = " · ".join(f"<a href='#{_anchor(g)}'>{html.escape(g)}</a>" for g, _ in groups)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in _notes(board))
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>dnd-ft leaderboard</title>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<style>{_CSS}</style></head><body><h1>dnd-ft leaderboard</h1>",
        f"<p class='meta'>{html.escape(_intro(board))}</p>",
        f"<ul class='legend'>{notes}</ul>" if notes else "",
        f"<p class='meta'>Sections: {nav}</p>",
    ]
    for group, metrics in groups:
        parts += [f"<section id='{_anchor(group)}'><h2>{html.escape(group.capitalize())}</h2>",
                  _board_table(board, metrics, best)]  # fmt: skip
        if deltas:
            parts += ["<h3>Fine-tuned minus baseline</h3>", _delta_table(deltas, metrics)]
        parts += [_chart_figures(metrics, charts), "</section>"]
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p) + "\n"
