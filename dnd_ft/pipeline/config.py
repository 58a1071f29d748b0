"""Wire the stages' schemas and checks into Hydra, validate a composed config, compose one.

register_configs()          once per process, before Hydra composes
validate(cfg)               ConfigError listing every problem, or None
compose(["model=tiny_gemma3"])   the `train` config outside a Hydra app (doctor, tests)
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from omegaconf import DictConfig

from dnd_ft.config import store
from dnd_ft.config.checks import Check
from dnd_ft.config.validate import problems as collect_problems
from dnd_ft.config.validate import validate as validate_with
from dnd_ft.locations import bundled, project_root
from dnd_ft.pipeline import stages
from dnd_ft.pipeline.schema import run_config
from dnd_ft.utils import distributed

OVERLAYS = ("experiment", "debug", "sweep")


@cache
def group_schemas() -> dict[str, type]:
    return {name: stages.resolve(group.schema) for name, group in stages.GROUPS.items()}


@cache
def root_schema() -> type:
    return run_config(group_schemas())


def checks() -> list[Check]:
    found: list[Check] = [check_stages]
    found += [stages.resolve(g.check) for g in stages.GROUPS.values() if g.check]
    return found


def register_configs() -> None:
    """Store every schema in Hydra's ConfigStore and register the resolvers (idempotent)."""
    # The sweeper (hydra/sweeper=dnd_ft_optuna). Hydra's plugin scan finds it in an installed
    # wheel, not in an editable install (setuptools' import hook hides the namespace package
    # from pkgutil), so it is registered here too, through Hydra's public `register`.
    from hydra.core.plugins import Plugins

    from hydra_plugins.dnd_ft_sweeper.optuna_sweeper import DndOptunaSweeper

    Plugins.instance().register(DndOptunaSweeper)
    from dnd_ft.pipeline.help import help_page

    store.register(
        root_schema(),
        group_schemas(),
        {
            "project_root": lambda: str(project_root()),
            "bundled": lambda name: str(bundled(name)),
            "dnd_ft_help": help_page,
            "dnd_ft_log_suffix": distributed.log_suffix,
        },
    )


def check_stages(cfg: Any) -> Iterable[str]:
    for stage in cfg.stages:
        if stage not in stages.STAGES:
            yield f"stages: {stage!r} is not one of {', '.join(stages.STAGES)}"
        elif not stages.available(stage):
            yield f"stages: {stage!r} is not available in this version; remove it from stages"
    if len(set(cfg.stages)) != len(cfg.stages):
        yield f"stages: {list(cfg.stages)} repeats a stage; list each once"


def problems(cfg: DictConfig) -> list[str]:
    """Every problem of ``cfg``: unknown keys (``+`` overrides too), then the stages' checks."""
    return collect_problems(cfg, root_schema(), checks(), stages.MOVED)


def validate(cfg: DictConfig) -> None:
    """Raise `ConfigError` listing every problem, or return when the config can run."""
    validate_with(cfg, root_schema(), checks(), stages.MOVED)


def compose(overrides: list[str] | None = None, config_name: str = "train") -> DictConfig:
    """The composed config outside a Hydra app (`run_dir` is then unset: set it yourself)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(store.CONFIG_DIR), version_base="1.3"):
        return hydra_compose(config_name, overrides=list(overrides or []))
