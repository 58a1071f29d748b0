"""Optuna samplers by name (`hydra.sweeper.sampler.name`)."""

from __future__ import annotations

import warnings
from typing import Any

from dnd_ft.errors import ConfigError


def make_sampler(spec: Any, dims: dict[str, Any]) -> Any:
    """The sampler ``spec`` (a SamplerConfig) names, for the search space ``dims``."""
    import optuna

    with warnings.catch_warnings():  # Optuna flags NSGA-III and GP as experimental: noise here
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return _make(optuna, spec, dims)


def _make(optuna: Any, spec: Any, dims: dict[str, Any]) -> Any:
    import optuna.distributions as d

    name, seed = spec.name, spec.seed
    if name == "tpe":
        kwargs: dict[str, Any] = {"seed": seed, "multivariate": bool(spec.multivariate)}
        if spec.n_startup_trials is not None:
            kwargs["n_startup_trials"] = spec.n_startup_trials
        return optuna.samplers.TPESampler(**kwargs)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        grid: dict[str, list[Any]] = {}
        for key, dist in dims.items():
            if isinstance(dist, d.CategoricalDistribution):
                grid[key] = list(dist.choices)
            elif isinstance(dist, d.IntDistribution) and not dist.log:
                grid[key] = list(range(dist.low, dist.high + 1, dist.step))
            elif isinstance(dist, d.FloatDistribution) and dist.step is not None:
                n = round((dist.high - dist.low) / dist.step)
                grid[key] = [dist.low + i * dist.step for i in range(n + 1)]
            else:
                raise ConfigError([
                    f"hydra.sweeper.params.{key}: the grid sampler needs a finite set of "
                    "values: use choice(...), range(...), or a float with a step"
                ])  # fmt: skip
        return optuna.samplers.GridSampler(grid, seed=seed)
    if name in ("nsga2", "nsga3"):
        cls = optuna.samplers.NSGAIISampler if name == "nsga2" else optuna.samplers.NSGAIIISampler
        kwargs = {"seed": seed}
        if spec.population_size is not None:
            kwargs["population_size"] = spec.population_size
        return cls(**kwargs)
    if name == "gp":
        try:
            import scipy  # noqa: F401  # Optuna's GP sampler needs scipy beside torch
        except ImportError:
            raise ConfigError([
                "hydra.sweeper.sampler.name=gp: Optuna's GP sampler needs scipy; install "
                "the sweep extra (pip install 'dnd-ft[sweep]') or pick sampler.name=tpe"
            ]) from None  # fmt: skip
        kwargs = {"seed": seed}
        if spec.n_startup_trials is not None:
            kwargs["n_startup_trials"] = spec.n_startup_trials
        return optuna.samplers.GPSampler(**kwargs)
    from dnd_ft.tuning.config import SAMPLERS

    raise ConfigError([f"hydra.sweeper.sampler.name: {name!r} is not one of {', '.join(SAMPLERS)}"])
