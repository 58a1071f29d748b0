"""What the user sees when a model cannot be had: short messages naming the fix."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dnd_ft.errors import StageError
from dnd_ft.models import (
    ModelLoadError,
    load_model,
    load_tokenizer,
    resolve_dtype,
    resolve_model_dir,
)

CfgOf = Callable[..., Any]


@pytest.fixture
def offline_empty_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The hub is unreachable here anyway; offline mode makes the failure immediate."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-empty"))


@pytest.mark.usefixtures("offline_empty_hub")
@pytest.mark.parametrize("loader", [load_tokenizer, load_model, resolve_model_dir])
def test_hub_model_not_cached_says_how_to_get_it(
    loader: Callable, tmp_path: Path, cfg_of: CfgOf
) -> None:
    with pytest.raises(ModelLoadError, match=r"Qwen/Qwen3-0\.6B") as info:
        loader(cfg_of("qwen3_0_6b"), tmp_path)
    message = str(info.value)
    assert "hf download Qwen/Qwen3-0.6B" in message
    assert "HF_HUB_OFFLINE=1" in message and "model=tiny_qwen3" in message
    assert isinstance(info.value, StageError)


@pytest.mark.usefixtures("offline_empty_hub")
def test_gated_gemma_hint_and_pinned_revision(tmp_path: Path, cfg_of: CfgOf) -> None:
    with pytest.raises(ModelLoadError, match="--revision abc123") as info:
        resolve_model_dir(cfg_of("gemma3_270m", revision="abc123"), tmp_path)
    assert "hf login" in str(info.value)


def test_hub_without_hub_id(tmp_path: Path, cfg_of: CfgOf) -> None:
    with pytest.raises(ModelLoadError, match="model.hub_id is not set"):
        resolve_model_dir(cfg_of("qwen3_0_6b", hub_id=None), tmp_path)


def test_local_folder_missing(tmp_path: Path, cfg_of: CfgOf) -> None:
    missing = tmp_path / "nope"
    cfg = cfg_of("tiny_qwen3", source="local", local_path=str(missing))
    with pytest.raises(ModelLoadError, match=rf"{missing}.* is not a folder"):
        load_model(cfg, tmp_path)


def test_local_folder_incomplete(tmp_path: Path, cfg_of: CfgOf, models_cache: Path) -> None:
    built = resolve_model_dir(cfg_of("tiny_gemma3"), models_cache)
    local = tmp_path / "my-model"
    shutil.copytree(built, local)
    (local / "model.safetensors").unlink()
    cfg = cfg_of("tiny_gemma3", source="local", local_path=str(local))
    with pytest.raises(ModelLoadError, match=r"my-model.*missing weights"):
        load_tokenizer(cfg, tmp_path)


def test_local_folder_loads(tmp_path: Path, cfg_of: CfgOf, models_cache: Path) -> None:
    built = resolve_model_dir(cfg_of("tiny_gemma3"), models_cache)
    local = tmp_path / "copy"
    shutil.copytree(built, local)
    cfg = cfg_of("tiny_gemma3", source="local", local_path=str(local))
    assert resolve_model_dir(cfg, tmp_path) == local
    model = load_model(cfg, tmp_path)
    assert model.config.vocab_size == len(load_tokenizer(cfg, tmp_path))


def test_local_path_unset(tmp_path: Path, cfg_of: CfgOf) -> None:
    with pytest.raises(ModelLoadError, match="model.local_path is not set"):
        resolve_model_dir(cfg_of("tiny_qwen3", source="local"), tmp_path)


def test_unknown_source_and_unsupported_tiny_family(tmp_path: Path, cfg_of: CfgOf) -> None:
    with pytest.raises(ModelLoadError, match="model.source='ftp' is not one of"):
        resolve_model_dir(cfg_of("tiny_qwen3", source="ftp"), tmp_path)
    with pytest.raises(ModelLoadError, match="not model.family='llama'"):
        resolve_model_dir(cfg_of("tiny_qwen3", family="llama"), tmp_path)


def test_unknown_gguf_asset(tmp_path: Path, cfg_of: CfgOf) -> None:
    with pytest.raises(ModelLoadError, match="model.gguf_asset='nope' is not a known asset"):
        resolve_model_dir(cfg_of("smollm2_135m", gguf_asset="nope"), tmp_path)


def test_the_gemma_asset_takes_only_gemma_formats(tmp_path: Path, cfg_of: CfgOf) -> None:
    with pytest.raises(ModelLoadError, match="chat_format='hermes' is not a Gemma format.*"
                       "functiongemma or gemma3"):  # fmt: skip
        resolve_model_dir(cfg_of("gemma3_270m_offline", chat_format="hermes"), tmp_path)


def test_a_gemma_config_on_a_gguf_without_sentencepiece_is_refused(
    tmp_path: Path, cfg_of: CfgOf
) -> None:
    # SmolLM2's GGUF holds a byte-level BPE ('gpt2'): no tokenizer.model can be rebuilt
    cfg = cfg_of("gemma3_270m_offline", gguf_asset="smollm2")
    with pytest.raises(ModelLoadError, match="holds a 'gpt2' tokenizer, not a SentencePiece"):
        resolve_model_dir(cfg, tmp_path)
    assert not [p for p in (tmp_path / "models").iterdir() if not p.name.startswith(".")]


def test_bad_dtype_and_cpu_quantization(models_cache: Path, cfg_of: CfgOf) -> None:
    import torch

    assert resolve_dtype("bf16") is torch.bfloat16 and resolve_dtype("auto") == "auto"
    with pytest.raises(ModelLoadError, match="dtype='float13' is not a known dtype"):
        resolve_dtype("float13")
    if torch.cuda.is_available():
        pytest.skip("4-bit loading works on this machine")
    with pytest.raises(ModelLoadError, match="quantization=4bit needs a CUDA GPU"):
        load_model(cfg_of("tiny_gemma3"), models_cache, quantization="4bit")
    with pytest.raises(ModelLoadError, match="quantization='3bit' is not supported"):
        load_model(cfg_of("tiny_gemma3"), models_cache, quantization="3bit")
