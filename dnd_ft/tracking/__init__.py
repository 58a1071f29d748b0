"""Experiment tracking: one interface, Weights & Biases behind it (or nothing).

    tracker = start_tracker(cfg, run_dir)    # None when tracking.backend=none
    tracker.log({"train/loss": 1.2}, step=10)
    tracker.summary({"train/eval_loss": 0.9})
    tracker.log_image("train/loss_curve", png_path)
    tracker.log_table("eval/samples", ["prompt", "reply"], rows)
    tracker.finish(metrics, status="ok")    # the runner calls this in a finally block

`dnd_ft.tracking.offline.read_offline_run(run_dir)` reads an offline run back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from omegaconf import DictConfig


class Tracker(Protocol):
    def log(self, values: dict[str, Any], step: int | None = None) -> None: ...

    def summary(self, values: dict[str, Any]) -> None: ...

    def log_image(self, key: str, path: Path) -> None: ...

    def log_table(self, key: str, columns: list[str], rows: list[list[Any]]) -> None: ...

    def finish(self, metrics: dict[str, Any], status: str = "ok") -> None: ...


def start_tracker(cfg: DictConfig, run_dir: Path) -> Tracker | None:
    """The tracker `cfg.tracking` asks for, started; None for tracking.backend=none."""
    backend = cfg.tracking.backend
    if backend == "none":
        return None
    if backend == "wandb":
        from dnd_ft.tracking.wandb_tracker import start_wandb

        return start_wandb(cfg, Path(run_dir))
    raise ValueError(f"tracking.backend: unknown backend {backend!r}; use wandb or none")
