"""Optuna pruners by name, from the sweep config's `pruner` block (a plain mapping).

The sweeper stores the block in the study's user attributes when it creates the study, and
each job builds the same pruner from there: a trial in another process or machine prunes by
the same rule as one in the sweeper's own process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# name -> (class in optuna.pruners, the pruner's own keys of the config block)
PRUNERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "none": ("NopPruner", ()),
    "median": ("MedianPruner", ("n_startup_trials", "n_warmup_steps", "interval_steps")),
    "percentile": (
        "PercentilePruner",
        ("percentile", "n_startup_trials", "n_warmup_steps", "interval_steps"),
    ),
    "successive_halving": (
        "SuccessiveHalvingPruner",
        ("min_resource", "reduction_factor", "min_early_stopping_rate", "bootstrap_count"),
    ),
    "hyperband": ("HyperbandPruner", ("min_resource", "max_resource", "reduction_factor")),
    # Paired per-instance scores: a trial is cut when a Wilcoxon signed-rank test says its
    # val conversations' losses are worse than the best trial's on the same conversations.
    "wilcoxon": ("WilcoxonPruner", ("p_threshold", "n_startup_steps")),
}
# Pruners that take one value per instance (conversation), not one per training step.
PER_INSTANCE = frozenset({"wilcoxon"})


def make_pruner(spec: Mapping[str, Any] | None) -> Any:
    """The pruner ``spec`` names (``{"name": "median", "n_warmup_steps": 4, ...}``); keys the
    named pruner does not take are ignored (one block serves every pruner)."""
    import optuna

    spec = dict(spec or {})
    name = spec.get("name", "none")
    if name not in PRUNERS:
        raise ValueError(f"pruner {name!r} is not one of {', '.join(PRUNERS)}")
    cls, keys = PRUNERS[name]
    kwargs = {k: spec[k] for k in keys if spec.get(k) is not None}
    return getattr(optuna.pruners, cls)(**kwargs)
