"""Cross-field checks of the ``data`` group, registered with `dnd_ft.config.validate`.

Importing this module registers them (the config package imports it next to its own checks).
"""

from __future__ import annotations

from collections.abc import Iterable

from omegaconf import DictConfig

from dnd_ft.config.validate import register_check
from dnd_ft.data.split import SPLITS


@register_check
def check_data_stage(cfg: DictConfig) -> Iterable[str]:
    data = cfg.data
    aug = data.augment
    if aug.enabled and aug.copies < 1:
        yield f"data.augment.copies: {aug.copies} makes no augmented rows; use 1 or more, or data.augment.enabled=false"
    bad = [s for s in aug.splits if s not in SPLITS]
    if bad:
        yield f"data.augment.splits: {bad} are not splits; use some of {', '.join(SPLITS)}"
    if data.max_length < 1:
        yield f"data.max_length: {data.max_length} must be a positive number of tokens"
    if not data.scenario_dirs:
        yield "data.scenario_dirs: list at least one folder or file of scenario markdown"
