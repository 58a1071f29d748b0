"""Shared fixtures: compose the real configs with Hydra, outputs under tmp_path."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, open_dict

from dnd_ft.config.store import CONFIG_DIR
from dnd_ft.pipeline.config import register_configs

# Tests never reach the network: offline models only, no telemetry, W&B offline.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def compose_cfg(tmp_path: Path) -> Iterator[Callable[..., DictConfig]]:
    """compose_cfg(*overrides) -> the `train` config, with run output under tmp_path."""
    register_configs()
    GlobalHydra.instance().clear()

    def _compose(*overrides: str) -> DictConfig:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(
                "train",
                overrides=[f"paths.output_dir={tmp_path}/outputs", *overrides],
                return_hydra_config=False,
            )
        with open_dict(cfg):
            # `${hydra:runtime.output_dir}` only exists inside a Hydra app, not under compose.
            cfg.paths.run_dir = str(tmp_path / "run")
        return cfg

    yield _compose
    GlobalHydra.instance().clear()


@pytest.fixture
def smoke_cfg(compose_cfg: Callable[..., DictConfig]) -> Callable[..., DictConfig]:
    """The fast debug overlay on the tiny Qwen3, plus any extra overrides."""
    return lambda *overrides: compose_cfg("debug=smoke", "model=tiny_qwen3", *overrides)


@pytest.fixture(scope="session")
def qwen_smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `debug=smoke` CLI run (data, train) of tiny_qwen3 with W&B offline, shared by the
    tests that read its outputs (and by the resume tests as the uninterrupted reference)."""
    from tests.training.train_helpers import SMOKE_ARGS, run_cli

    run_dir = tmp_path_factory.mktemp("qwen_smoke") / "run"
    proc = run_cli(
        *SMOKE_ARGS,
        "model=tiny_qwen3",
        "tracking=wandb",
        f"hydra.run.dir={run_dir}",
        cwd=run_dir.parent,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run_dir


@pytest.fixture(scope="session")
def models_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the session: each tiny model is built once and reused by later tests."""
    return tmp_path_factory.mktemp("models-cache")
