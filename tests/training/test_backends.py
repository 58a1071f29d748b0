"""One training path: the unsloth backend differs from hf only in who loads the weights.

Unsloth cannot be imported without an NVIDIA GPU, so a stand-in plays
`unsloth.FastLanguageModel` here: its from_pretrained loads the folder with transformers and
returns the raw tokenizer (as Unsloth does), its get_peft_model hands the keywords to PEFT
(as Unsloth's does, extra keywords included). What is checked is our code around it: the
project's tokenizer preparation, added-token rows and LoRA settings, shared with hf.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from dnd_ft.chat.tokens import HERMES_ADDED_TOKENS
from dnd_ft.models import control_token_ids
from dnd_ft.training.backends.hf import HFBackend
from dnd_ft.training.backends.unsloth import UnslothBackend
from dnd_ft.training.precision import Precision
from tests.models.test_added_tokens import _local_model_without_tool_tokens

FP32 = Precision("fp32", "float32", None)


class StandIn:
    """Records what the backend asked of `FastLanguageModel`."""

    def __init__(self) -> None:
        self.loaded: list[dict] = []
        self.peft: list[dict] = []
        self.module = types.ModuleType("unsloth")
        self.module.FastLanguageModel = types.SimpleNamespace(  # type: ignore[attr-defined]
            from_pretrained=self.from_pretrained, get_peft_model=self.get_peft_model
        )

    def from_pretrained(self, model_name, **kwargs):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.loaded.append({"model_name": model_name, **kwargs})
        return AutoModelForCausalLM.from_pretrained(model_name), AutoTokenizer.from_pretrained(
            model_name
        )

    def get_peft_model(self, model, use_gradient_checkpointing, random_state, **kwargs):
        from peft import LoraConfig, get_peft_model

        self.peft.append({**kwargs, "use_gradient_checkpointing": use_gradient_checkpointing})
        return get_peft_model(model, LoraConfig(**kwargs, task_type="CAUSAL_LM"))


@pytest.fixture
def plain_model(tmp_path: Path, models_cache: Path) -> tuple[Path, int]:
    """A local model whose tokenizer lacks the Hermes tool tokens (as SmolLM2's does)."""
    folder = tmp_path / "plain"
    return folder, _local_model_without_tool_tokens(folder, models_cache)


def test_unsloth_backend_prepares_and_wraps_exactly_as_hf(
    plain_model, smoke_cfg, tmp_path, monkeypatch
):
    import torch

    folder, old_vocab = plain_model
    cfg = smoke_cfg("model=qwen3_0_6b", "model.source=local", f"model.local_path={folder}")
    stand_in = StandIn()
    monkeypatch.setitem(sys.modules, "unsloth", stand_in.module)

    u = UnslothBackend().load(cfg.model, cfg.trainer, tmp_path, FP32)
    h = HFBackend().load(cfg.model, cfg.trainer, tmp_path, FP32)

    (asked,) = stand_in.loaded  # Unsloth loads the weights, in our dtype and settings
    assert asked["model_name"] == str(folder) and asked["load_in_4bit"] is False
    assert asked["max_seq_length"] == cfg.trainer.max_length
    # The tokenizer is the project's, not the one Unsloth returned: control tokens added...
    assert u.tokenizer.get_vocab() == h.tokenizer.get_vocab()
    assert len(u.tokenizer) == old_vocab + len(HERMES_ADDED_TOKENS)
    assert u.tokenizer.chat_template == h.tokenizer.chat_template
    assert u.tokenizer.pad_token == h.tokenizer.pad_token
    # ... the model grew the same rows, initialised the same way ...
    ue, he = u.model.get_input_embeddings().weight, h.model.get_input_embeddings().weight
    assert ue.shape == he.shape == (len(h.tokenizer), 64)
    assert torch.equal(ue, he)
    # ... and LoRA trains the same modules and the same control-token rows.
    (peft_kwargs,) = stand_in.peft
    ids = control_token_ids(h.tokenizer, "hermes")
    assert peft_kwargs["trainable_token_indices"] == ids
    uc, hc = u.model.peft_config["default"], h.model.peft_config["default"]
    for key in ("r", "lora_alpha", "lora_dropout", "target_modules", "trainable_token_indices"):
        assert getattr(uc, key) == getattr(hc, key), key
    assert u.owns_gradient_checkpointing and not h.owns_gradient_checkpointing
    assert u.model.config.use_cache is False
