"""Fixtures of the models tests: the real model configs and one shared model cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from omegaconf import DictConfig, OmegaConf

from dnd_ft.config.schema.model import ModelConfig

MODEL_CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "model"


def model_config(name: str, **overrides: Any) -> DictConfig:
    """configs/model/<name>.yaml merged onto the schema, as Hydra composes it."""
    data = yaml.safe_load((MODEL_CONFIGS / f"{name}.yaml").read_text())
    data.pop("defaults", None)
    cfg = OmegaConf.merge(OmegaConf.structured(ModelConfig), data, overrides)
    assert isinstance(cfg, DictConfig)
    return cfg


@pytest.fixture(scope="session")
def models_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the session: each tiny model is built once and reused by later tests."""
    return tmp_path_factory.mktemp("models-cache")


@pytest.fixture
def cfg_of() -> Callable[..., DictConfig]:
    return model_config
