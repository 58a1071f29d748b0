"""Schemas of the tuning layer: the `trial` keys a sweeper sets on each job it launches, and
`hydra.sweeper` of the `dnd_ft_optuna` sweeper (configs/sweep/*.yaml set it).

Imported by Hydra's plugin scan at every startup: dataclasses only, no Optuna.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrialConfig:
    study: str | None = None  # the study's name in `storage`
    storage: str | None = None  # an Optuna storage URL, or a journal file (storage.py)
    number: int | None = None  # this job's trial number in the study


SAMPLERS = ("tpe", "random", "grid", "nsga2", "nsga3", "gp")
DIRECTIONS = ("minimize", "maximize")


@dataclass
class SamplerConfig:
    name: str = "tpe"  # one of SAMPLERS
    # Same seed, same study state: the same proposals (one worker; several workers share the
    # storage but each draws from its own generator, so give each its own seed).
    seed: int | None = None
    n_startup_trials: int | None = None  # tpe, gp: random trials before the model kicks in
    multivariate: bool = False  # tpe: model the parameters jointly
    population_size: int | None = None  # nsga2, nsga3


@dataclass
class PrunerConfig:
    # none | median | percentile | successive_halving | hyperband | wilcoxon
    # (dnd_ft/tuning/pruners.py); a trial reports its val loss at every trainer.eval_steps;
    # for wilcoxon, the loss of each val conversation (paired with the best trial's).
    name: str = "none"
    n_startup_trials: int | None = None  # median, percentile: trials before any pruning
    n_warmup_steps: int | None = None  # median, percentile: steps before a trial can be pruned
    interval_steps: int | None = None
    percentile: float | None = None  # percentile: prune below this percentile (e.g. 25.0)
    min_resource: Any = None  # successive_halving, hyperband: steps ("auto" or an int)
    max_resource: Any = None  # hyperband ("auto" or an int)
    reduction_factor: int | None = None
    min_early_stopping_rate: int | None = None
    bootstrap_count: int | None = None
    p_threshold: float | None = None  # wilcoxon: prune below this p-value (Optuna: 0.1)
    n_startup_steps: int | None = None  # wilcoxon: paired conversations before any pruning


@dataclass
class OptunaSweeperConfig:
    _target_: str = "hydra_plugins.dnd_ft_sweeper.optuna_sweeper.DndOptunaSweeper"
    study_name: str = "dnd_ft"
    # An Optuna storage URL or a journal file; null: <hydra.sweep.dir>/optuna.journal
    storage: str | None = None
    objective: list[str] = field(default_factory=lambda: ["eval/tool_name_f1"])  # metrics keys
    direction: list[str] = field(default_factory=lambda: ["maximize"])  # one per objective
    n_trials: int = 20  # complete + pruned trials the study should end with
    n_jobs: int = 1  # trials per launcher batch (joblib runs a batch in parallel)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    pruner: PrunerConfig = field(default_factory=PrunerConfig)
    # Stop when more than this share of finished trials failed (after 3 have finished).
    max_failure_rate: float = 0.5
    # A trial that was running when its sweep died: retried this many times, then failed.
    retry_stale: int = 1
    # A running trial of another host counts as stale when its heartbeat is this old.
    stale_after_seconds: int = 600
    plots: bool = True  # Optuna's plots into <sweep dir>/plots/
    leaderboard: bool = True  # the trials' leaderboard (dnd_ft.report) into <sweep dir>
    # key -> a Hydra sweep ("choice(a,b)", "range(4,33,4)", "interval(0.0,0.1)",
    # "tag(log, interval(1e-5,1e-2))"), a mapping ({type: float, low, high, log, step} /
    # {type: int, ...} / {type: categorical, choices: [...]}), or a fixed value.
    params: dict[str, Any] = field(default_factory=dict)
    # Trials to run first, each a mapping of some params to values (known good settings, a
    # baseline); queued when the study is created, not again when it continues.
    enqueue: list[dict[str, Any]] = field(default_factory=list)
