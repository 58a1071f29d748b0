"""The leaderboard: gather many runs' metrics into Markdown, HTML and W&B tables.

    python -m dnd_ft.report outputs/                 # -> outputs/leaderboard/
    python -m dnd_ft.report outputs/multirun/2025-01-01 --out reports/

Library use: `make_leaderboard(paths, out_dir)` writes the files; `push_to_tracker(tracker,
board, charts)` logs the same tables and charts to a `dnd_ft.tracking` tracker.
"""

from __future__ import annotations

from dnd_ft.report.build import make_leaderboard, push_to_tracker

__all__ = ["make_leaderboard", "push_to_tracker"]
