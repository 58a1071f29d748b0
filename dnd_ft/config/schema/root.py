"""Schema of the primary config (`configs/train.yaml`): the run-level keys and the groups."""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import MISSING

from dnd_ft.config.schema.data import DataConfig
from dnd_ft.config.schema.eval import EvalConfig
from dnd_ft.config.schema.export import ExportConfig
from dnd_ft.config.schema.model import ModelConfig
from dnd_ft.config.schema.paths import PathsConfig
from dnd_ft.config.schema.tools import ToolsConfig
from dnd_ft.config.schema.tracking import TrackingConfig
from dnd_ft.config.schema.trainer import TrainerConfig


@dataclass
class RunConfig:
    """Everything `python -m dnd_ft` runs with. Groups are filled from `configs/<group>/`."""

    stages: list[str] = field(default_factory=lambda: ["data", "train", "eval"])
    seed: int = 42
    task_name: str = "train"  # names the run folder: outputs/<task_name>/...
    run_name: str = MISSING  # W&B run name and leaderboard row label
    tags: list[str] = field(default_factory=list)
    # Metric a sweeper optimises (a key of metrics.json); returned by the entrypoint.
    optimized_metric: str | None = None
    model: ModelConfig = MISSING
    data: DataConfig = MISSING
    trainer: TrainerConfig = MISSING
    eval: EvalConfig = MISSING
    export: ExportConfig = MISSING
    tracking: TrackingConfig = MISSING
    tools: ToolsConfig = MISSING
    paths: PathsConfig = MISSING
