"""The real pretrained SmolLM2-135M-Instruct from its GGUF asset (slow: converts ~40 s once)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from dnd_ft.chat.tokens import HERMES_ADDED_TOKENS
from dnd_ft.models import load_model, load_tokenizer, resolve_model_dir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, dict[str, float]]:
    import yaml
    from omegaconf import OmegaConf

    from dnd_ft.models.config import ModelConfig

    path = Path(__file__).resolve().parents[2] / "configs" / "model" / "smollm2_135m.yaml"
    data = {k: v for k, v in yaml.safe_load(path.read_text()).items() if k != "defaults"}
    cfg = OmegaConf.merge(OmegaConf.structured(ModelConfig), data)
    cache = tmp_path_factory.mktemp("smollm2-cache")
    timings = {}
    start = time.perf_counter()
    resolve_model_dir(cfg, cache)
    timings["convert"] = time.perf_counter() - start
    start = time.perf_counter()
    tok = load_tokenizer(cfg, cache)
    model = load_model(cfg, cache)
    timings["load"] = time.perf_counter() - start
    return tok, model, timings


def test_converted_once_then_loads_fast(smollm2: tuple) -> None:
    tok, model, timings = smollm2
    assert timings["load"] < 15, timings  # a plain safetensors folder, not the GGUF again
    assert type(model).__name__ == "LlamaForCausalLM"
    assert 130e6 < sum(p.numel() for p in model.parameters()) < 140e6
    assert model.config.vocab_size == len(tok) == 49152 + len(HERMES_ADDED_TOKENS)
    assert "quantization_config" not in model.config.to_dict()


def test_tool_tokens_are_single_and_start_at_the_mean(smollm2: tuple) -> None:
    import torch

    tok, model, _ = smollm2
    emb = model.get_input_embeddings().weight
    for text in HERMES_ADDED_TOKENS:
        (token_id,) = tok.encode(text, add_special_tokens=False)
        assert token_id >= 49152
        assert torch.allclose(emb[token_id], emb[:49152].mean(dim=0), atol=1e-6)


def test_greedy_answer_is_coherent_english(smollm2: tuple) -> None:
    tok, model, _ = smollm2
    inputs = tok.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    out = model.generate(**inputs, max_new_tokens=16, do_sample=False)
    answer = tok.decode(out[0][inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "Paris" in answer, answer
