"""Register every schema in Hydra's ConfigStore.

Each group file starts with `defaults: [base_<group>, _self_]`, so Hydra merges it onto the
dataclass: a misspelt key in a file or on the command line fails at startup naming the key.
"""

from __future__ import annotations

from pathlib import Path

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from dnd_ft.config.schema.data import DataConfig
from dnd_ft.config.schema.eval import EvalConfig
from dnd_ft.config.schema.export import ExportConfig
from dnd_ft.config.schema.model import ModelConfig
from dnd_ft.config.schema.paths import PathsConfig
from dnd_ft.config.schema.root import RunConfig
from dnd_ft.config.schema.tools import ToolsConfig
from dnd_ft.config.schema.tracking import TrackingConfig
from dnd_ft.config.schema.trainer import TrainerConfig

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = PROJECT_ROOT / "configs"

GROUP_SCHEMAS: dict[str, type] = {
    "model": ModelConfig,
    "data": DataConfig,
    "trainer": TrainerConfig,
    "eval": EvalConfig,
    "export": ExportConfig,
    "tracking": TrackingConfig,
    "tools": ToolsConfig,
    "paths": PathsConfig,
}

_registered = False


def register_configs() -> None:
    """Store the schemas and resolvers once per process (Hydra's store is global)."""
    global _registered
    if _registered:
        return
    cs = ConfigStore.instance()
    cs.store(name="base_train", node=RunConfig)
    for group, schema in GROUP_SCHEMAS.items():
        cs.store(group=group, name=f"base_{group}", node=schema)
    if not OmegaConf.has_resolver("project_root"):
        OmegaConf.register_new_resolver("project_root", lambda: str(PROJECT_ROOT))
    _registered = True
