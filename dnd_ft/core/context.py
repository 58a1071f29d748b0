"""The run context handed to every stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from dnd_ft.core.metrics import Metrics


@dataclass
class RunContext:
    """What a stage gets: its config (read only its own groups), the run folder and metrics.

    `artifacts` carries small results between stages of one run (e.g. `dataset_dir`,
    `adapter_dir`); each stage also finds its inputs on disk so it can run on its own.
    """

    cfg: DictConfig
    run_dir: Path
    metrics: Metrics
    tracker: Any = None  # a dnd_ft.tracking tracker, or None when tracking=none
    trial: Any = None  # a dnd_ft.tuning TrialLink when a sweep launched this run, else None
    artifacts: dict[str, Any] = field(default_factory=dict)
    rank: int = 0  # this process under DDP (torchrun, accelerate launch); 0 alone
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """The process that writes the run's records and saves the model (rank 0)."""
        return self.rank == 0

    def stage_dir(self, name: str) -> Path:
        path = self.run_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path
