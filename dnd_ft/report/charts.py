"""Bar charts of the leaderboard: one PNG per metric, fine-tuned beside baseline per run.

Runs are grouped by model family (dotted separators, family name on top) and ordered by size
inside a family, as `collect_runs` sorts them.
"""

from __future__ import annotations

from pathlib import Path

from dnd_ft.evaluation.outputs import LOWER_IS_BETTER
from dnd_ft.report.leaderboard import Leaderboard

COLORS = {"fine-tuned": "#2a6fdb", "baseline": "#b0b7c3"}


def metric_chart(board: Leaderboard, metric: str, path: Path) -> Path:
    """Write the bar chart of ``metric`` to ``path`` (PNG) and return it."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; also keeps tests headless
    import matplotlib.pyplot as plt

    groups: list[tuple[str, str]] = []  # (run label, family), in leaderboard order
    for row in board.rows:
        key = (row["run"], row["family"])
        if key not in groups:
            groups.append(key)
    labels = [_tick(board, run) for run, _ in groups]
    width = 0.38
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(groups) + 1.5), 3.2), dpi=110)
    for k, variant in enumerate(COLORS):
        xs, ys = [], []
        for i, (run, _) in enumerate(groups):
            value = next((r.get(metric) for r in board.rows
                          if r["run"] == run and r["variant"] == variant), None)  # fmt: skip
            if isinstance(value, int | float):
                xs.append(i + (k - 0.5) * width)
                ys.append(value)
        bars = ax.bar(xs, ys, width, label=variant, color=COLORS[variant])
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    for i in range(1, len(groups)):
        if groups[i][1] != groups[i - 1][1]:
            ax.axvline(i - 0.5, color="#888", linestyle=":", linewidth=1)
    for family in dict.fromkeys(f for _, f in groups):
        idx = [i for i, (_, f) in enumerate(groups) if f == family]
        ax.text(sum(idx) / len(idx), 1.02, family, transform=ax.get_xaxis_transform(),
                ha="center", fontsize=8, color="#444")  # fmt: skip
    ax.set_xticks(range(len(groups)), labels, fontsize=8)
    arrow = " (lower is better)" if metric in LOWER_IS_BETTER else ""
    ax.set_title(f"{metric}{arrow}", fontsize=10, pad=14)
    ax.margins(y=0.15)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def _tick(board: Leaderboard, run: str) -> str:
    row = next(r for r in board.rows if r["run"] == run)
    tick = f"{row['model']}\n{row['size']}"
    return tick if run == row["model"] else f"{tick}\n{run}"


def write_charts(board: Leaderboard, out_dir: Path) -> dict[str, Path]:
    """One chart per leaderboard metric under ``out_dir``; metric -> PNG path."""
    return {m: metric_chart(board, m, out_dir / f"{m}.png") for m in board.metrics}
