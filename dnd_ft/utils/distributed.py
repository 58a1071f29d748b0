"""Which process of a multi-process launch this is (torchrun, `accelerate launch`), read from
the environment those launchers set; no torch import, so every layer may ask.

Under DDP every process runs the pipeline in the same run folder: rank 0 builds the data,
writes the run's records (status.json, metrics.json, config, W&B) and saves the model; the
others train beside it and keep their own records under `<run>/.ranks/<rank>/` (docs/sweeps.md).
"""

from __future__ import annotations

import os


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main() -> bool:
    return rank() == 0


def log_suffix() -> str:
    """ "" for rank 0 (or one process), ".rank<N>" for the others: each its own log file."""
    return "" if is_main() else f".rank{rank()}"
