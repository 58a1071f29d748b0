"""Command line of the leaderboard.

python -m dnd_ft.report outputs/                         # every run under outputs/
python -m dnd_ft.report outputs/multirun/<date> --out reports/families
python -m dnd_ft.report outputs/ --wandb --project dnd-ft  # also log it to W&B
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dnd_ft.report.build import LeaderboardFiles


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dnd_ft.report",
        description="Gather the metrics of many runs into a leaderboard (Markdown, HTML, charts).",
    )
    parser.add_argument(
        "paths", nargs="+", type=Path, help="run folders or folders of runs (searched recursively)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default: <first path>/leaderboard)"
    )
    parser.add_argument(
        "--wandb", action="store_true", help="also log the tables and charts to a W&B run"
    )
    parser.add_argument(
        "--project", default="dnd-ft", help="W&B project for --wandb (default: dnd-ft)"
    )
    parser.add_argument(
        "--mode", default="offline", choices=["offline", "online"], help="W&B mode for --wandb"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from dnd_ft.report.build import make_leaderboard, push_to_tracker

    try:
        files = make_leaderboard(args.paths, args.out)
    except (FileNotFoundError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    if args.wandb:
        _push_wandb(files, args.project, args.mode, push_to_tracker)
    out = sys.stdout
    out.write(f"{len(files.board.runs)} run(s), {len(files.board.rows)} row(s)\n")
    out.write(f"markdown: {files.markdown}\nhtml:     {files.html}\n")
    return 0


def _push_wandb(
    files: LeaderboardFiles, project: str, mode: str, push: Callable[..., None]
) -> None:
    """Log the leaderboard into a fresh W&B run of its own (job_type leaderboard)."""
    import wandb

    from dnd_ft.tracking.wandb_tracker import WandbTracker

    run = wandb.init(project=project, mode=mode, job_type="leaderboard", dir=str(files.html.parent))
    tracker = WandbTracker(run, files.html.parent, log_data_report=False)
    push(tracker, files.board, files.charts)
    tracker.finish({}, status="ok")
