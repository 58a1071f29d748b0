"""Bar charts of the leaderboard: one PNG per metric, fine-tuned beside baseline per run.

Runs are grouped by model family (dotted separators, family name on top) and ordered by size
inside a family, as `collect_runs` sorts them; charts come in group order (tool calls, prose,
context). Every rate shares one 0-1 axis and judge scores a 0-5 one, so bars compare across
charts; other metrics share the axis of their group and kind. A missing value reads "n/a"
where its bar would stand, a degenerate variant's bar is hatched, and smoke runs (random-init
tiny models) say so under their name and in a footnote.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dnd_ft.evaluation.outputs import (
    LOWER,
    NEUTRAL,
    RATE,
    SCORE,
    direction,
    fmt_values,
    metric_info,
)
from dnd_ft.report.leaderboard import Leaderboard

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLORS = {"fine-tuned": "#2a6fdb", "baseline": "#b0b7c3"}
NA_TEXT = "n/a"
SMOKE_FOOTNOTE = "(smoke) = random-init tiny model: its bars measure the pipeline, not quality"
_DIRECTION_TEXT = {LOWER: "lower is better", NEUTRAL: "neither way is better"}
_WIDTH = 0.38  # of one bar; a run's pair spans 2 x _WIDTH around its tick


def axis_limits(board: Leaderboard, metric: str) -> tuple[float, float]:
    """The value range of ``metric``'s axis: (0, 1) for rates, (0, 5) for judge scores, else
    from 0 (or the lowest value) to the largest value of any shown metric of the same group
    and kind, so related charts share one scale."""
    info = metric_info(metric)
    if info.kind == RATE:
        return 0.0, 1.0
    if info.kind == SCORE:
        return 0.0, 5.0
    related = [m for m in board.metrics if metric_info(m) == info]
    values = [r[m] for r in board.rows for m in related if isinstance(r.get(m), int | float)]
    low, high = min([0.0, *values]), max([0.0, *values])
    return low, high if high > low else low + 1.0


def chart_title(metric: str) -> str:
    """``metric (which way is better)``; the runs and families are on the axis, not here."""
    way = direction(metric)
    return f"{metric} ({_DIRECTION_TEXT.get(way, 'higher is better')})"


def tick_label(row: dict[str, Any]) -> str:
    """The model, its size unless the name says it, the run label's own part, and "(smoke)"."""
    model, size, run = str(row["model"]), str(row["size"]), str(row["run"])
    lines = [model]
    if size not in ("", "?") and _norm(size) not in _norm(model):
        lines.append(size)
    if run != model:
        tail = run[len(model) :].strip(" _-:") if run.startswith(model) else run
        lines += [tail] if tail else []
    if row.get("smoke"):
        lines.append("(smoke)")
    return "\n".join(lines)


def _norm(text: str) -> str:
    return text.lower().replace(".", "_").replace("-", "_")


def draw_metric(
    board: Leaderboard, metric: str, limits: tuple[float, float] | None = None
) -> Figure:
    """The bar chart of ``metric`` as a matplotlib Figure (the caller closes it)."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; also keeps tests headless
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    runs: list[str] = []  # run labels in leaderboard order
    for row in board.rows:
        if row["run"] not in runs:
            runs.append(row["run"])
    cell = {(r["run"], r["variant"]): r for r in board.rows}
    first = {run: next(r for r in board.rows if r["run"] == run) for run in runs}
    low, high = limits or axis_limits(board, metric)
    span = high - low
    smoke = any(r["smoke"] for r in first.values())
    ticks = [tick_label(first[run]) for run in runs]
    fig, ax = _figure(plt, len(runs), max(t.count("\n") + 1 for t in ticks), smoke)
    shown = [cell[k][metric] for k in cell if isinstance(cell[k].get(metric), int | float)]
    texts = dict(zip(map(repr, shown), fmt_values(shown, base=2), strict=True))
    degenerate_seen = False
    for k, variant in enumerate(COLORS):
        for i, run in enumerate(runs):
            x = i + (k - 0.5) * _WIDTH
            row = cell.get((run, variant))
            value = None if row is None else row.get(metric)
            if not isinstance(value, int | float):
                ax.text(x, low + 0.02 * span, NA_TEXT, ha="center", va="bottom", fontsize=7,
                        color="#777", style="italic")  # fmt: skip
                continue
            degenerate = bool(row and row["degenerate"])
            degenerate_seen |= degenerate
            style = ({"color": "white", "edgecolor": COLORS[variant], "hatch": "////"}
                     if degenerate else {"color": COLORS[variant]})  # fmt: skip
            bars = ax.bar([x], [value], _WIDTH, **style)
            label = texts[repr(value)] + ("*" if degenerate else "")
            ax.bar_label(bars, labels=[label], fontsize=7, padding=1)
    for i in range(1, len(runs)):
        if first[runs[i]]["family"] != first[runs[i - 1]]["family"]:
            ax.axvline(i - 0.5, color="#888", linestyle=":", linewidth=1)
    families = [first[run]["family"] for run in runs]
    for family in dict.fromkeys(families):
        idx = [i for i, f in enumerate(families) if f == family]
        ax.text(sum(idx) / len(idx), 1.02, family, transform=ax.get_xaxis_transform(),
                ha="center", fontsize=8, color="#444")  # fmt: skip
    ax.set_xticks(range(len(runs)), ticks, fontsize=7.5)
    ax.set_xlim(-0.6, len(runs) - 0.4)
    ax.set_ylim(low, high + 0.14 * span)  # headroom for the labels of full bars
    if metric_info(metric).kind == RATE:
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.axhline(low, color="#444", linewidth=0.8)
    ax.set_title(chart_title(metric), fontsize=10, pad=14)
    handles = [Patch(color=c, label=v) for v, c in COLORS.items()]
    if degenerate_seen:
        handles.append(Patch(facecolor="white", edgecolor="#666", hatch="////",
                             label="degenerate*:\nno well-formed\noutput"))  # fmt: skip
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper left",
              bbox_to_anchor=(1.0, 1.0))  # fmt: skip
    ax.spines[["top", "right"]].set_visible(False)
    if smoke:
        fig.text(0.01, 0.01, SMOKE_FOOTNOTE, fontsize=7, color="#8a5a00", ha="left", va="bottom")
    return fig


def _figure(plt: Any, n_runs: int, tick_lines: int, smoke: bool) -> tuple[Any, Any]:
    """A figure whose axes sit at fixed margins (inches), so every chart of one leaderboard
    has the same size and geometry whatever its title, labels or legend."""
    width = max(4.0, 1.1 * n_runs + 2.2)
    bottom = 0.2 + 0.13 * tick_lines + (0.2 if smoke else 0.0)
    height = 2.5 + bottom
    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    fig.subplots_adjust(left=0.55 / width, right=1 - 1.4 / width, bottom=bottom / height,
                        top=1 - 0.55 / height)  # fmt: skip
    return fig, ax


def metric_chart(board: Leaderboard, metric: str, path: Path) -> Path:
    """Write the bar chart of ``metric`` to ``path`` (PNG) and return it."""
    import matplotlib.pyplot as plt

    fig = draw_metric(board, metric)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def write_charts(board: Leaderboard, out_dir: Path) -> dict[str, Path]:
    """One chart per leaderboard metric under ``out_dir``, in group order; metric -> PNG."""
    return {m: metric_chart(board, m, out_dir / f"{m}.png") for _, ms in board.groups() for m in ms}
