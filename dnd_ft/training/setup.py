"""The train stage's setup hook (dnd_ft.pipeline.stages): runs before any stage of the run.

Two things must happen before anything else: Unsloth, when it will train, is imported before
transformers (it patches it); and a resume that will be refused (a checkpoint of another model
or method) is refused now, before the data stage rewrites the run folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dnd_ft.training import checkpoints
from dnd_ft.training.backends import preimport


def setup_run(cfg: Any) -> None:
    preimport(cfg.trainer, cfg.model)
    root = Path(cfg.paths.run_dir) / "train" / "checkpoints"
    checkpoints.check_resume(str(cfg.trainer.resume), root, checkpoints.run_info(cfg))
