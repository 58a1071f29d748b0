"""Schema of the `tracking` group (Weights & Biases or nothing) and its checks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dnd_ft.config.checks import one_of

BACKENDS = ("none", "wandb")
MODES = ("offline", "online", "disabled")


@dataclass
class TrackingConfig:
    backend: str = "none"  # none | wandb
    project: str = "dnd-ft"
    entity: str | None = None
    mode: str = "offline"  # offline | online | disabled; WANDB_MODE in the environment wins
    group: str = "${model.family}"  # runs of one family sit together in the W&B workspace
    job_type: str = "train"
    tags: list[str] = field(default_factory=list)  # added to the run-level `tags`
    notes: str | None = None  # free text shown on the W&B run page
    log_data_report: bool = True  # log run_dir/data/report.json as a table and summary


def check_tracking(cfg: Any) -> Iterable[str]:
    yield from one_of("tracking.backend", cfg.tracking.backend, BACKENDS)
    yield from one_of("tracking.mode", cfg.tracking.mode, MODES)
