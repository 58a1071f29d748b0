"""A tokenizer lacking the control strings (as some hub models do) gets them, and the model
grows matching embedding rows set to the mean row."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dnd_ft.chat.tokens import HERMES_ADDED_TOKENS
from dnd_ft.models import load_model, load_tokenizer
from dnd_ft.models.hermes_tokenizer import base_tokenizer_dir


def _local_model_without_tool_tokens(folder: Path, cache: Path) -> int:
    """SmolLM2's plain tokenizer next to a small random Qwen3 sized to it."""
    import torch
    from transformers import AutoTokenizer, Qwen3Config, Qwen3ForCausalLM

    shutil.copytree(base_tokenizer_dir(cache), folder)
    vocab = len(AutoTokenizer.from_pretrained(str(folder)))
    config = Qwen3Config(
        vocab_size=vocab,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    Qwen3ForCausalLM(config).save_pretrained(str(folder))
    return vocab


def test_missing_control_tokens_are_added_with_mean_rows(
    tmp_path: Path, models_cache: Path, cfg_of: Callable[..., Any]
) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    folder = tmp_path / "plain"
    old_vocab = _local_model_without_tool_tokens(folder, models_cache)
    cfg = cfg_of("qwen3_0_6b", source="local", local_path=str(folder))

    tok = load_tokenizer(cfg, tmp_path)
    assert len(tok) == old_vocab + len(HERMES_ADDED_TOKENS)
    for text in HERMES_ADDED_TOKENS:
        assert len(tok.encode(text, add_special_tokens=False)) == 1

    model = load_model(cfg, tmp_path)
    original = AutoModelForCausalLM.from_pretrained(str(folder))
    assert model.config.vocab_size == len(tok)
    for layer in ("get_input_embeddings", "get_output_embeddings"):
        grown, old = getattr(model, layer)().weight, getattr(original, layer)().weight
        assert torch.equal(grown[:old_vocab], old)  # pretrained rows untouched
        mean = old.mean(dim=0)
        assert torch.allclose(grown[old_vocab:], mean.expand(len(HERMES_ADDED_TOKENS), -1))
