"""Fixtures of the models tests: the real model configs and one shared model cache."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from omegaconf import DictConfig, OmegaConf

from dnd_ft.models import config


def model_config(name: str, **overrides: Any) -> DictConfig:
    """configs/model/<name>.yaml merged onto the schema, as Hydra composes it."""
    cfg = OmegaConf.merge(config.model_config(name), overrides)
    assert isinstance(cfg, DictConfig)
    return cfg


@pytest.fixture
def cfg_of() -> Callable[..., DictConfig]:
    return model_config
