"""Every configs/model file composes onto the schema and names a loadable source."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dnd_ft.models.config import CHAT_FORMATS, FAMILIES, SOURCES

MODEL_DIR = Path(__file__).resolve().parents[2] / "configs" / "model"
NAMES = sorted(p.stem for p in MODEL_DIR.glob("*.yaml"))
HUB_IDS = {
    "qwen3_0_6b": "Qwen/Qwen3-0.6B",
    "qwen3_1_7b": "Qwen/Qwen3-1.7B",
    "qwen2_5_0_5b": "Qwen/Qwen2.5-0.5B-Instruct",
    "gemma3_270m": "google/gemma-3-270m-it",
    "gemma3_1b": "google/gemma-3-1b-it",
    "functiongemma_270m": "google/functiongemma-270m-it",
    "smollm2_135m": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "gemma3_270m_offline": "google/gemma-3-270m",  # the pretrained base the GGUF holds
}


def test_the_expected_models_exist() -> None:
    assert set(HUB_IDS) | {"tiny_qwen3", "tiny_gemma3"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_model_config_is_consistent(name: str, cfg_of: Callable[..., Any]) -> None:
    cfg = cfg_of(name)
    assert cfg.name == name
    assert cfg.family in FAMILIES and cfg.chat_format in CHAT_FORMATS and cfg.source in SOURCES
    assert (MODEL_DIR / f"{name}.yaml").read_text().startswith(f"# python -m dnd_ft model={name}")
    if name in HUB_IDS:
        assert cfg.hub_id == HUB_IDS[name]
    if cfg.source == "tiny":
        assert cfg.tiny.hidden_size % 128 == 0  # Cactus quantizes in groups of 128
        assert cfg.family in ("qwen", "gemma")
    if cfg.family == "gemma":
        assert cfg.chat_format in ("functiongemma", "gemma3", "template")
