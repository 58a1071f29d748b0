"""Data augmentation: seeded variants of chat records, off unless ``data.augment.enabled``.

Each technique takes a deep copy of a record and an RNG seeded by (seed, record id,
technique, copy), and returns the changed record or None when it does not apply. Augmented
rows keep their ``scenario_id`` (so they stay in their scenario's split), get an id suffix
``~<technique>-<copy>`` and ``augmented: true``, ``augmentation: "<technique>"``.
"""

from __future__ import annotations

import copy
import json
import logging
import random
from collections.abc import Callable, Iterable
from typing import Any

from dnd_ft.data.augment.common import AugmentContext
from dnd_ft.data.augment.dice import vary_dice
from dnd_ft.data.augment.entities import substitute_entities
from dnd_ft.data.augment.irrelevance import add_irrelevance
from dnd_ft.data.augment.srd import vary_srd

log = logging.getLogger(__name__)
Technique = Callable[[dict[str, Any], random.Random, AugmentContext], "dict[str, Any] | None"]

# config flag (data.augment.<flag>) -> (technique name, function)
TECHNIQUES: dict[str, tuple[str, Technique]] = {
    "entity_substitution": ("entities", substitute_entities),
    "srd_variation": ("srd", vary_srd),
    "dice_variety": ("dice", vary_dice),
    "irrelevance": ("irrelevance", add_irrelevance),
}

__all__ = ["TECHNIQUES", "AugmentContext", "augment_records", "enabled_techniques"]


def enabled_techniques(cfg: Any) -> list[str]:
    """Technique names switched on in an ``AugmentConfig`` (empty when augmentation is off)."""
    if not cfg.enabled:
        return []
    return [name for flag, (name, _) in TECHNIQUES.items() if getattr(cfg, flag, False)]


def augment_records(
    records: Iterable[dict[str, Any]],
    techniques: list[str],
    copies: int,
    seed: int,
    ctx: AugmentContext,
) -> list[dict[str, Any]]:
    """New augmented records (the inputs are not modified or returned)."""
    by_name = {name: fn for name, fn in TECHNIQUES.values()}
    out = []
    for record in records:
        original = json.dumps(record, sort_keys=True, default=str)
        for name in techniques:
            for k in range(1, copies + 1):
                rng = random.Random(f"{seed}:{record['id']}:{name}:{k}")
                try:
                    new = by_name[name](copy.deepcopy(record), rng, ctx)
                except Exception as exc:  # one odd record must not stop the run; say which
                    log.warning("augmentation %s skipped %s: %s", name, record["id"], exc)
                    continue
                if new is None or json.dumps(new, sort_keys=True, default=str) == original:
                    continue
                new.update(id=f"{record['id']}~{name}-{k}", augmented=True, augmentation=name)
                out.append(new)
    return out
