"""Schema of the `paths` group: where inputs are read and run output is written."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING


@dataclass
class PathsConfig:
    root_dir: str = MISSING  # the project checkout; `${project_root:}` resolves it
    scenarios_dir: str = MISSING
    output_dir: str = MISSING  # parent of all run folders (git-ignored)
    cache_dir: str = MISSING  # offline models and assets built once and reused
    run_dir: str = "${hydra:runtime.output_dir}"  # this run's folder, set by Hydra
