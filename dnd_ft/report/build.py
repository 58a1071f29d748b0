"""Write the leaderboard files, and push the same tables to a tracker."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dnd_ft.report.charts import write_charts
from dnd_ft.report.collect import collect_runs
from dnd_ft.report.leaderboard import Leaderboard, build_leaderboard
from dnd_ft.report.render import render_html, render_markdown
from dnd_ft.utils.io import atomic_write_text

log = logging.getLogger(__name__)


@dataclass
class LeaderboardFiles:
    board: Leaderboard
    markdown: Path
    html: Path
    charts: dict[str, Path]


def make_leaderboard(
    paths: Iterable[str | Path], out_dir: str | Path | None = None
) -> LeaderboardFiles:
    """Collect the runs under ``paths`` and write ``leaderboard.md``, ``leaderboard.html`` and
    ``charts/<metric>.png`` into ``out_dir`` (default: ``<first path>/leaderboard``).

    Raises FileNotFoundError when no run under ``paths`` has eval metrics.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("give at least one run folder or folder of runs")
    out = Path(out_dir) if out_dir is not None else paths[0] / "leaderboard"
    runs = collect_runs(paths)
    if not runs:
        raise FileNotFoundError(
            f"no run with eval metrics under {', '.join(map(str, paths))}; a run folder holds "
            "metrics.json with eval/... keys (run the eval stage first)"
        )
    board = build_leaderboard(runs)
    charts = write_charts(board, out / "charts")
    md = out / "leaderboard.md"
    atomic_write_text(
        md, render_markdown(board, {m: f"charts/{p.name}" for m, p in charts.items()})
    )
    page = out / "leaderboard.html"
    atomic_write_text(page, render_html(board, charts))
    log.info("leaderboard of %d run(s) written to %s", len(runs), out)
    return LeaderboardFiles(board, md, page, charts)


def push_to_tracker(
    tracker: Any, board: Leaderboard, charts: Mapping[str, Path] | None = None
) -> None:
    """Log the leaderboard (a table), its deltas, summary metrics and charts to ``tracker``.

    Summary keys are ``leaderboard/<run>/<variant>/<metric>`` so one W&B run can hold a whole
    comparison; any `dnd_ft.tracking` tracker works (W&B makes them wandb.Table and Image).
    """
    tracker.log_table("leaderboard/table", board.columns, board.table())
    deltas = board.deltas()
    if deltas:
        columns = ["model", "run", *board.metrics]
        tracker.log_table("leaderboard/deltas", columns, [[d[c] for c in columns] for d in deltas])
    summary = {
        f"leaderboard/{row['run']}/{row['variant']}/{m}": row[m]
        for row in board.rows for m in board.metrics if row.get(m) is not None
    }  # fmt: skip
    tracker.summary(summary)
    for metric, path in (charts or {}).items():
        tracker.log_image(f"leaderboard/charts/{metric}", path)
