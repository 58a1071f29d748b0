"""Scenario-level train/val/test splits: seeded, stratified by category, leak-free.

Whole scenarios are assigned, so every flow and every augmented copy of a scenario lands in
the same split. Within a category, scenarios are ordered by ``sha256(seed:id)``: the result
depends on the seed and the ids only, never on file order. Each category gets
``floor(fraction * n)`` scenarios per split; its leftover scenarios go to the splits furthest
below their share of the corpus so far, which keeps tiny categories from all landing in
train. Finally every split with a non-zero fraction gets at least one scenario when the
corpus has enough (taken from the largest split).
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

SPLITS = ("train", "val", "test")


def split_key(scenario_id: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{scenario_id}".encode()).hexdigest()


def assign_splits(
    categories: Mapping[str, str], fractions: Mapping[str, float], seed: int
) -> dict[str, str]:
    """Map each scenario id to a split.

    categories: scenario id -> category. fractions: split -> fraction (sums to 1).
    """
    shares = {s: float(fractions.get(s, 0.0)) for s in SPLITS}
    by_category: dict[str, list[str]] = defaultdict(list)
    for sid, category in categories.items():
        by_category[category].append(sid)
    assigned: dict[str, list[str]] = {s: [] for s in SPLITS}
    seen = 0
    for category in sorted(by_category):
        ids = sorted(by_category[category], key=lambda sid: (split_key(sid, seed), sid))
        seen += len(ids)
        counts = {s: math.floor(shares[s] * len(ids) + 1e-9) for s in SPLITS}
        for _ in range(len(ids) - sum(counts.values())):
            # the split furthest below its share of everything seen so far gets the leftover
            deficit = {
                s: shares[s] * seen - len(assigned[s]) - counts[s] for s in SPLITS if shares[s] > 0
            }
            counts[max(deficit, key=lambda s: (deficit[s], -SPLITS.index(s)))] += 1
        start = 0
        for s in SPLITS:
            assigned[s] += ids[start : start + counts[s]]
            start += counts[s]
    _fill_empty_splits(assigned, shares, categories, seed)
    return {sid: s for s in SPLITS for sid in assigned[s]}


def _fill_empty_splits(
    assigned: dict[str, list[str]],
    shares: Mapping[str, float],
    categories: Mapping[str, str],
    seed: int,
) -> None:
    """Give each non-zero split one scenario, moved from the largest split that can spare one."""
    for split in SPLITS:
        if shares[split] <= 0 or assigned[split]:
            continue
        donor = max(SPLITS, key=lambda s: (len(assigned[s]), -SPLITS.index(s)))
        if len(assigned[donor]) <= 1:
            return  # too few scenarios to go round
        # from the donor's most common category, the scenario that sorts last
        counts: dict[str, int] = defaultdict(int)
        for sid in assigned[donor]:
            counts[categories[sid]] += 1
        category = max(sorted(counts), key=lambda c: counts[c])
        pool = [sid for sid in assigned[donor] if categories[sid] == category]
        moved = max(pool, key=lambda sid: (split_key(sid, seed), sid))
        assigned[donor].remove(moved)
        assigned[split].append(moved)


def split_records(
    records: Iterable[dict[str, Any]], assignment: Mapping[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """Records grouped by the split of their ``scenario_id`` (input order kept)."""
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    for record in records:
        out[assignment[record["scenario_id"]]].append(record)
    return out
