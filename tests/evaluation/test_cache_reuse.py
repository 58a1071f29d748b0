"""KV cache reuse across the turns of a conversation: the batched runner's tokens, less prefill.

The tiny offline models replay real corpus conversations both ways. A random model never
emits a stop token on its own, so the identity tests scale the stop token's embedding row
(tied, so its output row too) by a factor that makes greedy decoding end some turns on it,
at various lengths, and not others.
"""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf

from dnd_ft.chat.formats import get_format
from dnd_ft.evaluation.generate import build_prompts, cache_reuse_refusal, generate_texts, predict
from tests.conftest import REPO_ROOT

MAX_NEW = 12
PER_TURN = ("prefilled_tokens", "cache_fallback")  # the fields where the two paths differ


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models gain nothing from a second thread, and lose a lot on a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def conversations() -> list[dict[str, Any]]:
    """The first two conversations of the scenario corpus (15 DM turns of 1.5k-2.5k tokens)."""
    from dnd_ft.scenarios import load_corpus
    from dnd_ft.scenarios.records import iter_records
    from dnd_ft.tools.registry import ToolRegistry

    registry = ToolRegistry.default()
    scenarios = load_corpus([REPO_ROOT / "scenarios"], registry).scenarios
    return list(iter_records(scenarios, registry))[:2]


def _tiny(name: str, cache: Path, **tiny: Any) -> tuple[Any, Any, Any]:
    from dnd_ft.models import load_model, load_tokenizer
    from dnd_ft.models.config import model_config

    cfg = OmegaConf.merge(model_config(name), {"tiny": tiny})
    tokenizer = load_tokenizer(cfg, cache)
    return load_model(cfg, cache), tokenizer, get_format(cfg.chat_format, tokenizer)


def _biased_to_stop(model: Any, tokenizer: Any, token: str, scale: float) -> Any:
    import torch

    with torch.no_grad():
        model.get_input_embeddings().weight[tokenizer.convert_tokens_to_ids(token)] *= scale
    return model


def _both_ways(model, tokenizer, fmt, rows) -> tuple[list[dict], list[dict]]:
    """Prediction records of the batched runner and of the reusing one, same settings."""
    kwargs = {"batch_size": 4, "max_new_tokens": MAX_NEW, "max_length": 4096}
    batched = predict(model, tokenizer, fmt, rows, reuse_cache=False, **kwargs)
    reused = predict(model, tokenizer, fmt, rows, reuse_cache=True, **kwargs)
    return batched, reused


def _without(records: list[dict], keys=PER_TURN) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in keys} for r in records]


@pytest.mark.parametrize(
    "name,stop,scale",
    [
        ("tiny_qwen3", "<|im_end|>", 8.0),  # the tokenizer's eos: neither counted nor decoded
        ("tiny_gemma3", "<end_of_turn>", 2.5),  # the generation config's: counted, text cut
    ],
)
def test_reuse_gives_the_batched_tokens(name, stop, scale, models_cache, conversations):
    model, tokenizer, fmt = _tiny(name, models_cache)
    model = _biased_to_stop(model, tokenizer, stop, scale)
    batched, reused = _both_ways(model, tokenizer, fmt, conversations)

    assert _without(reused) == _without(batched)  # texts, parsed calls, token counts
    stopped = [r["new_tokens"] for r in reused if r["new_tokens"] < MAX_NEW]
    assert 0 < len(stopped) < len(reused), "retune the bias: some turns must stop, some not"
    assert not any(r["cache_fallback"] for r in reused)
    prompt_tokens = sum(r["prompt_tokens"] for r in reused)
    assert sum(r["prefilled_tokens"] for r in batched) == prompt_tokens
    # Each token of a conversation's last prompt once, plus every earlier prompt's last token
    # once more: generate fed it to a copy of the cache, and the next turn adds it to ours.
    last = {r["id"]: r["prompt_tokens"] for r in reused}
    turns = {i: sum(r["id"] == i for r in reused) for i in last}
    assert sum(r["prefilled_tokens"] for r in reused) == sum(last[i] + turns[i] - 1 for i in last)
    if name == "tiny_gemma3":  # every layer of the tiny Gemma 3 attends within its window
        assert model.config.sliding_window < min(r["prompt_tokens"] for r in reused)


def test_sliding_window_layers_give_the_batched_tokens(models_cache, conversations):
    """Qwen3 with a local second layer whose window is far shorter than the prompts."""
    model, tokenizer, fmt = _tiny(
        "tiny_qwen3", models_cache, window_from_layer=1, sliding_window=64
    )
    assert list(model.config.layer_types) == ["full_attention", "sliding_attention"]
    batched, reused = _both_ways(model, tokenizer, fmt, conversations)
    assert _without(reused) == _without(batched)
    assert min(r["prompt_tokens"] for r in reused) > 64
    assert sum(r["prefilled_tokens"] for r in reused) < sum(r["prompt_tokens"] for r in reused) / 3


class _Restamping:
    """A chat format whose rendering of the history changes from turn to turn (as templates
    that date the system prompt or drop earlier think blocks do): no prompt extends the last."""

    def __init__(self, fmt: Any) -> None:
        self.fmt, self.stop_strings = fmt, fmt.stop_strings

    def render_prompt(self, messages, tools) -> str:
        return f"(turn {len(messages)})\n" + self.fmt.render_prompt(messages, tools)

    def parse_assistant(self, text: str):
        return self.fmt.parse_assistant(text)


@pytest.fixture(scope="module")
def hermes():
    return get_format("hermes", think=False)


def test_prompts_that_do_not_extend_the_cache_are_counted(tiny_lm, example, hermes):
    model, tokenizer = tiny_lm
    other = {**example, "id": "ambush/again"}
    kwargs = {"max_new_tokens": 6, "batch_size": 3}
    fmt = _Restamping(hermes)
    batched = predict(model, tokenizer, fmt, [example, other], **kwargs)
    reused = predict(model, tokenizer, fmt, [example, other], reuse_cache=True, **kwargs)
    assert _without(reused) == _without(batched)
    # The first turn of each conversation starts it; each later one falls back.
    assert [r["cache_fallback"] for r in reused] == [False, True, True, True] * 2
    assert all(r["prefilled_tokens"] == r["prompt_tokens"] for r in reused)

    plain = predict(model, tokenizer, hermes, [example], reuse_cache=True, **kwargs)
    assert not any(r["cache_fallback"] for r in plain)
    assert all(r["prefilled_tokens"] < r["prompt_tokens"] for r in plain[1:])


def test_truncated_prompts_are_prefilled_afresh(tiny_lm, example, hermes):
    model, tokenizer = tiny_lm
    prompts = [p.prompt for p in build_prompts([example], hermes)]
    lengths = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    kwargs = {"max_new_tokens": 6, "max_length": lengths[1] + 6}  # turns 3 and 4 are cut
    batched = generate_texts(model, tokenizer, prompts, **kwargs)
    reused = generate_texts(model, tokenizer, prompts, conversations=["a"] * 4, **kwargs)
    assert [(g.text, g.new_tokens) for g in reused] == [(g.text, g.new_tokens) for g in batched]
    assert [g.truncated for g in reused] == [False, False, True, True]
    assert not any(g.cache_fallback for g in reused)  # counted as truncated, not as fallbacks
    assert [g.prefilled_tokens for g in reused] == [lengths[0], lengths[1] - lengths[0] + 1,
                                                    lengths[1], lengths[1]]  # fmt: skip


def test_reuse_is_refused_for_sampling_and_other_caches(tiny_lm, example, hermes, monkeypatch):
    model, tokenizer = tiny_lm
    assert cache_reuse_refusal(model) is None
    assert "sampling" in cache_reuse_refusal(model, do_sample=True)
    prompts = [p.prompt for p in build_prompts([example], hermes)]
    sampled = generate_texts(model, tokenizer, prompts, max_new_tokens=4, do_sample=True,
                             conversations=["a"] * 4)  # fmt: skip
    assert [g.prefilled_tokens for g in sampled] == [g.prompt_tokens for g in sampled]
    monkeypatch.setattr(model.generation_config, "cache_implementation", "static")
    assert cache_reuse_refusal(model) == "the generation config asks for a 'static' cache"


def test_an_adapter_model_reuses_its_cache(tiny_lm, example, hermes):
    """The eval stage generates through peft: with the adapter on, and off for the baseline."""
    from peft import LoraConfig, get_peft_model

    model, tokenizer = tiny_lm
    lora = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    peft_model = get_peft_model(copy.deepcopy(model), lora)
    kwargs = {"max_new_tokens": 6}
    for adapter_on in (True, False):
        with contextlib.nullcontext() if adapter_on else peft_model.disable_adapter():
            batched = predict(peft_model, tokenizer, hermes, [example], **kwargs)
            reused = predict(peft_model, tokenizer, hermes, [example], reuse_cache=True, **kwargs)
        assert _without(reused) == _without(batched)
        assert sum(r["prefilled_tokens"] for r in reused) < sum(r["prompt_tokens"] for r in reused)
