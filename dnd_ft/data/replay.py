"""Replay: rows of the parent's training split mixed into an incremental run's training set.

Training on new scenarios alone erases old skills (catastrophic forgetting); mixing in a
share of what the parent trained on is the plain remedy. The old rows are re-rendered in
this run's chat format (a parent of another format is refused earlier, at startup, but the
format's options, e.g. Qwen3's empty think block, may differ) and marked
``augmentation: "replay <parent>"`` so reports and the registry count them apart.
"""

from __future__ import annotations

import logging
import random
from typing import Any

log = logging.getLogger(__name__)


def parent_for_replay(cfg: Any) -> Any:
    """The `Parent` whose training rows this run replays, or None (no init_from, resume,
    replay off, or no training in this run)."""
    if not cfg.data.replay or "train" not in cfg.stages:
        return None
    from dnd_ft.registry.parent import run_parent

    return run_parent(cfg)


def replay_rows(
    parent: Any, n_new: int, ratio: float, seed: int, render: Any, exclude: set[str]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """About ``ratio x n_new`` rows drawn (seeded) from the parent's train split, each
    rendered by ``render(record) -> row``; and what the report says about them.

    exclude: scenario ids this run already has in a split: an old training row of a
    scenario that is now held out would leak it, and one now in train would count twice."""
    from dnd_ft.data.rows import load_split

    if parent.data_dir is None:
        log.warning("data: %s has no datasets beside it; nothing to replay", parent.label)
        return [], {"from": parent.label, "ratio": ratio, "available": 0, "rows": 0}
    old = [r for r in load_split(parent.data_dir, "train") if r["scenario_id"] not in exclude]
    want = min(len(old), round(ratio * n_new))
    picked = random.Random(seed).sample(old, want) if want else []
    rows = []
    for record in picked:
        record = {**record, "augmentation": f"replay {parent.label}", "augmented": False}
        rows.append(render(record))
    log.info("data: replaying %d of %d training rows of %s", len(rows), len(old), parent.label)
    info = {"from": parent.label, "ratio": ratio, "available": len(old), "rows": len(rows)}
    return rows, info
