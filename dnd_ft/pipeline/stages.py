"""The one registry: the pipeline's stages and the config groups, each by module path.

A stage is a function ``run(ctx: RunContext) -> None``; a group is a dataclass schema with an
optional check (``check(cfg) -> Iterable[str]`` of ``key: problem; fix`` messages). Each lives
in its own package beside the code it configures and is imported only when needed, so
startup stays cheap and a heavy stage costs nothing to a run that skips it. Nothing outside
this module names a stage's internals: a new stage or group plugs in with one entry here.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stage:
    run: str  # "module:function" taking the RunContext
    metrics: tuple[str, ...]  # metrics.json key prefixes this stage writes
    disk: str | None = None  # "module:function" estimating the bytes it writes, for doctor
    # "module:function" of the config, called before any stage of a run that includes this
    # one starts (the train stage imports Unsloth there, before transformers is imported).
    setup: str | None = None


@dataclass(frozen=True)
class Group:
    schema: str  # "module:Dataclass"
    check: str | None = None  # "module:function" yielding problems of the composed config


STAGES: dict[str, Stage] = {
    "data": Stage("dnd_ft.data.stage:run", ("data/",)),
    "train": Stage(
        "dnd_ft.training.stage:run",
        ("train/",),
        disk="dnd_ft.training.disk:estimate",
        setup="dnd_ft.training.setup:setup_run",
    ),
    "eval": Stage("dnd_ft.evaluation.stage:run", ("eval/", "baseline/eval/")),
    "export": Stage("dnd_ft.export.stage:run", ("export/",), disk="dnd_ft.export.stage:estimate"),
    "register": Stage("dnd_ft.registry.stage:run", ("registry/",)),
}

GROUPS: dict[str, Group] = {
    "model": Group("dnd_ft.models.config:ModelConfig", "dnd_ft.models.config:check_model"),
    "data": Group("dnd_ft.data.config:DataConfig", "dnd_ft.data.config:check_data"),
    "trainer": Group(
        "dnd_ft.training.config:TrainerConfig", "dnd_ft.training.checks:check_trainer"
    ),
    "eval": Group("dnd_ft.evaluation.config:EvalConfig", "dnd_ft.evaluation.config:check_eval"),
    "export": Group("dnd_ft.export.config:ExportConfig", "dnd_ft.export.config:check_export"),
    "tracking": Group(
        "dnd_ft.tracking.config:TrackingConfig", "dnd_ft.tracking.config:check_tracking"
    ),
    "tools": Group("dnd_ft.tools.config:ToolsConfig"),
    "registry": Group(
        "dnd_ft.registry.config:RegistryConfig", "dnd_ft.registry.config:check_registry"
    ),
    "paths": Group("dnd_ft.pipeline.schema:PathsConfig"),
    # python -m dnd_ft.play: no pipeline stage, but the same composed config (model, tools)
    "play": Group("dnd_ft.play.config:PlayConfig", "dnd_ft.play.config:check_play"),
}

# Keys that existed once, and where their job went (shown instead of "unknown key").
MOVED: dict[str, str] = {
    "trainer.merge": "the export stage writes the merged model: add export to stages "
    "(stages=[data,train,eval,export]; export.merged=true)",
}


def resolve(path: str) -> Any:
    """The object a ``module:name`` path names, imported now."""
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def ordered(names: list[str]) -> list[str]:
    """The requested stages in pipeline order, whatever order the user listed them in."""
    return [name for name in STAGES if name in names]


def available(name: str) -> bool:
    """Whether the stage's module is installed, checked without importing it."""
    module = STAGES[name].run.split(":")[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


def load(name: str) -> Callable[..., None]:
    """The run function of stage ``name``."""
    return resolve(STAGES[name].run)


def owner(metric: str) -> str | None:
    """The stage that writes ``metric`` (its prefix, or ``time/<stage>_seconds``)."""
    for name, stage in STAGES.items():
        if metric.startswith(stage.metrics) or metric == f"time/{name}_seconds":
            return name
    return None
