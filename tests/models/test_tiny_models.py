"""Tiny Qwen3 / Gemma3 models: built from config in seconds, cached, deterministic, usable."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dnd_ft.chat.tokens import (
    GEMMA_SPECIAL_TOKENS,
    HERMES_ADDED_TOKENS,
    HERMES_SPECIAL_TOKENS,
)
from dnd_ft.models import load_model, load_tokenizer, resolve_model_dir
from dnd_ft.models.cache import MARKER

CfgOf = Callable[..., Any]  # the cfg_of fixture: model name -> composed model config
TINY = ["tiny_qwen3", "tiny_gemma3"]
CONTROL = {
    "tiny_qwen3": [*HERMES_SPECIAL_TOKENS, *HERMES_ADDED_TOKENS],
    "tiny_gemma3": GEMMA_SPECIAL_TOKENS,
}


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


@pytest.mark.parametrize("name", TINY)
def test_builds_a_complete_hf_folder_then_reuses_it(
    name: str, models_cache: Path, cfg_of: CfgOf
) -> None:
    cfg = cfg_of(name)
    folder = resolve_model_dir(cfg, models_cache)
    assert folder.parent == models_cache / "models"
    assert folder.name.startswith(f"{name}-")
    for file in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "chat_template.jinja",
        MARKER,
    ):
        assert (folder / file).is_file(), file
    if name == "tiny_gemma3":
        assert (folder / "tokenizer.model").is_file()  # llama.cpp converts Gemma from it
        assert "vocab_file" not in json.loads((folder / "tokenizer_config.json").read_text())
    marker = (folder / MARKER).stat().st_mtime_ns

    start = time.perf_counter()
    again = resolve_model_dir(cfg, models_cache)
    assert again == folder
    assert time.perf_counter() - start < 1.0
    assert (folder / MARKER).stat().st_mtime_ns == marker  # not rebuilt
    assert not list(folder.parent.glob(".*.tmp"))  # no build leftovers


@pytest.mark.parametrize("name", TINY)
def test_real_architecture_at_the_configured_size(
    name: str, models_cache: Path, cfg_of: CfgOf
) -> None:
    cfg = cfg_of(name)
    config = json.loads((resolve_model_dir(cfg, models_cache) / "config.json").read_text())
    assert config["architectures"] == [
        "Qwen3ForCausalLM" if name == "tiny_qwen3" else "Gemma3ForCausalLM"
    ]
    for key in (
        "hidden_size",
        "intermediate_size",
        "num_hidden_layers",
        "num_attention_heads",
        "num_key_value_heads",
        "head_dim",
    ):
        assert config[key] == cfg.tiny[key], key
    tok = load_tokenizer(cfg, models_cache)
    assert config["vocab_size"] == len(tok)
    if name == "tiny_gemma3":
        assert config["query_pre_attn_scalar"] == cfg.tiny.head_dim  # agrees with llama.cpp


@pytest.mark.parametrize("name", TINY)
def test_same_seed_rebuilds_identical_weights(name: str, models_cache: Path, cfg_of: CfgOf) -> None:
    cfg = cfg_of(name)
    folder = resolve_model_dir(cfg, models_cache)
    before = _weights(folder)
    shutil.rmtree(folder)
    assert resolve_model_dir(cfg, models_cache) == folder  # same spec, same folder
    after = _weights(folder)
    assert before.keys() == after.keys()
    assert all(before[k].equal(after[k]) for k in before)

    reseeded = resolve_model_dir(cfg_of(name, tiny={"seed": 7}), models_cache)
    assert reseeded != folder  # the seed is part of the cache key
    other = _weights(reseeded)
    assert not other["model.embed_tokens.weight"].equal(before["model.embed_tokens.weight"])


@pytest.mark.parametrize("name", TINY)
def test_reload_and_generate(name: str, models_cache: Path, cfg_of: CfgOf) -> None:
    import torch

    cfg = cfg_of(name)
    tok = load_tokenizer(cfg, models_cache)
    model = load_model(cfg, models_cache)
    assert model.dtype == torch.float32
    assert tok.pad_token is not None and tok.pad_token != tok.eos_token
    inputs = tok.apply_chat_template(
        [
            {"role": "system", "content": "You are the DM."},
            {"role": "user", "content": "I open the door."},
        ],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    out = model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert out.shape[1] == inputs["input_ids"].shape[1] + 5 or tok.eos_token_id in out[0].tolist()
    assert isinstance(tok.decode(out[0]), str)


@pytest.mark.parametrize("name", TINY)
def test_control_strings_are_single_tokens(name: str, models_cache: Path, cfg_of: CfgOf) -> None:
    tok = load_tokenizer(cfg_of(name), models_cache)
    for text in CONTROL[name]:
        ids = tok.encode(f"a{text}b", add_special_tokens=False)
        assert tok.convert_ids_to_tokens(ids).count(text) == 1, text
        assert len(tok.encode(text, add_special_tokens=False)) == 1, text
    # Tool-calling strings survive skip_special_tokens so the call parser still sees them.
    tool_token = "<tool_call>" if name == "tiny_qwen3" else "<start_function_call>"
    assert tool_token in tok.decode(
        tok.encode(f"x{tool_token}y", add_special_tokens=False), skip_special_tokens=True
    )


@pytest.mark.parametrize("name", TINY)
def test_offsets_map_tokens_back_to_the_text(name: str, models_cache: Path, cfg_of: CfgOf) -> None:
    tok = load_tokenizer(cfg_of(name), models_cache)
    assert tok.is_fast
    text = "Élodie rolls 1d20+5 🐉 <|im_start|><start_of_turn> vs AC 15."
    enc = tok(text, return_offsets_mapping=True, add_special_tokens=False)
    spans = enc["offset_mapping"]
    assert len(spans) == len(enc["input_ids"])
    assert all(0 <= s <= e <= len(text) for s, e in spans)
    assert [s for s, _ in spans] == sorted(s for s, _ in spans)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)


def test_gemma_bos_and_qwen_no_bos(models_cache: Path, cfg_of: CfgOf) -> None:
    gemma = load_tokenizer(cfg_of("tiny_gemma3"), models_cache)
    assert gemma("hi")["input_ids"][0] == gemma.bos_token_id == 2
    assert (gemma.pad_token_id, gemma.eos_token_id, gemma.unk_token_id) == (0, 1, 3)
    qwen = load_tokenizer(cfg_of("tiny_qwen3"), models_cache)
    assert qwen.bos_token is None and qwen.eos_token == "<|im_end|>"
    assert qwen("hi")["input_ids"] == qwen("hi", add_special_tokens=False)["input_ids"]


def test_data_stage_detects_the_think_block_of_qwen3_only(models_cache: Path, cfg_of: Any) -> None:
    from types import SimpleNamespace

    from dnd_ft.chat import chat_template, get_format
    from dnd_ft.models import load_tokenizer

    assert get_format("hermes", load_tokenizer(cfg_of("tiny_qwen3"), models_cache)).think is True
    smollm_like = SimpleNamespace(chat_template=chat_template("hermes"))  # what smollm2_135m gets
    assert get_format("hermes", smollm_like).think is False
