"""A Hydra callback that writes the leaderboard of a multirun when it ends (the same files as
`python -m dnd_ft.report <sweep dir>`); experiment=compare_families turns it on."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class MultirunLeaderboard(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from dnd_ft.report.build import make_leaderboard

        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            files = make_leaderboard([sweep_dir], sweep_dir / "leaderboard")
        except FileNotFoundError as exc:  # every job failed before its eval
            log.warning("no leaderboard: %s", exc)
            return
        sys.stderr.write(f"leaderboard: {files.html}\n")
