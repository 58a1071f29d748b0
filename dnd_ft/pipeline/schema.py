"""The run-level schema: the primary config's own keys, the `paths` group, and the root
dataclass that holds every group (built from the stage registry, so it names no stage)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from omegaconf import MISSING

from dnd_ft.tuning.config import TrialConfig


@dataclass
class PathsConfig:
    # The home of outputs/: the checkout when running from one, else the current folder.
    root_dir: str = "${project_root:}"
    # The bundled scenarios (the checkout's scenarios/, or the copy inside an installed wheel).
    scenarios_dir: str = "${bundled:scenarios}"
    output_dir: str = "${paths.root_dir}/outputs"  # parent of all run folders (git-ignored)
    # Offline models and assets, built or fetched once and reused.
    cache_dir: str = "${oc.env:DND_FT_CACHE,${oc.env:HOME}/.cache/dnd-ft}"
    run_dir: str = "${hydra:runtime.output_dir}"  # this run's folder, set by Hydra


@dataclass
class RunKeys:
    """The primary config's own keys (`configs/train.yaml`)."""

    stages: list[str] = field(default_factory=lambda: ["data", "train", "eval"])
    seed: int = 42
    task_name: str = "train"  # names the run folder: outputs/<task_name>/...
    run_name: str = MISSING  # W&B run name and leaderboard row label
    tags: list[str] = field(default_factory=list)
    # Metric a sweeper optimises (a key of metrics.json); returned by the entrypoint.
    optimized_metric: str | None = None
    # Set by the sweeper on the jobs it launches: which Optuna trial this run is.
    trial: TrialConfig = field(default_factory=TrialConfig)


def run_config(groups: Mapping[str, type]) -> type:
    """The root dataclass: `RunKeys` plus one field per group, typed by its schema."""
    extra = [(name, schema, dataclasses.field(default=MISSING)) for name, schema in groups.items()]
    return dataclasses.make_dataclass("RunConfig", extra, bases=(RunKeys,))
