"""The small interface every training backend implements, and the steps they all share.

A backend decides only how the base weights are loaded (and quantized); the tokenizer
(`dnd_ft.models.prepare_tokenizer`: control tokens, pad, chat template), the embedding rows
for added tokens (`fit_to_tokenizer`), and the wrapping for the method (`wrap_for_method`:
LoRA with the control-token rows) are this module's and the models stage's, the same for
every backend. The loss and masks come from the data and the training loop, also shared.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from omegaconf import DictConfig

from dnd_ft.training.precision import Precision

log = logging.getLogger(__name__)

# Wraps a model with LoRA: (model, adapter settings as PEFT's LoraConfig takes them) -> model.
PeftWrap = Callable[[Any, dict[str, Any]], Any]


@dataclass
class LoadedModel:
    """A model ready for the Trainer, with what later steps need to know about it."""

    model: Any  # a PeftModel for lora/qlora, the plain PreTrainedModel for full
    tokenizer: Any
    backend: str  # hf | unsloth
    method: str  # lora | qlora | full
    quantized: bool  # 4-bit base weights
    # The backend already enabled gradient checkpointing itself (Unsloth's own variant), so
    # the Trainer must not enable the stock one on top.
    owns_gradient_checkpointing: bool = False


class Backend(Protocol):
    """Loads a base model and wraps it for the training method."""

    name: str

    def load(
        self,
        model_cfg: DictConfig,
        trainer_cfg: DictConfig,
        cache_dir: Path,
        precision: Precision,
        parent: Any = None,
    ) -> LoadedModel:
        """Return the base model (quantized if method=qlora) wrapped for `trainer_cfg.method`;
        ``parent``: a `dnd_ft.registry.parent.Parent` to start from (trainer.init_from)."""
        ...


def lora_kwargs(trainer_cfg: DictConfig) -> dict[str, Any]:
    """The adapter settings of `trainer_cfg.lora`, named as PEFT and Unsloth both take them."""
    lora = trainer_cfg.lora
    return {
        "r": lora.r,
        "lora_alpha": lora.alpha,
        "lora_dropout": lora.dropout,
        "target_modules": list(lora.target_modules),
        "bias": "none",
    }


def adapter_kwargs(trainer_cfg: DictConfig, tokenizer: Any, chat_format: str) -> dict[str, Any]:
    """`lora_kwargs` plus the control-token rows to train (`trainer.lora.train_control_tokens`):
    a model that had them added at load time (SmolLM2 has no <tool_call>) cannot learn to
    emit them with LoRA on the projections alone. PEFT calls them trainable_token_indices."""
    from dnd_ft.models import control_token_ids

    kwargs = lora_kwargs(trainer_cfg)
    if trainer_cfg.lora.train_control_tokens:
        kwargs["trainable_token_indices"] = control_token_ids(tokenizer, chat_format)
    return kwargs


def peft_lora_config(trainer_cfg: DictConfig, token_ids: list[int] | None = None) -> Any:
    """The peft.LoraConfig of `trainer_cfg.lora`, training the embedding rows ``token_ids``."""
    from peft import LoraConfig, TaskType

    extra = {"trainable_token_indices": token_ids} if token_ids else {}
    return LoraConfig(**lora_kwargs(trainer_cfg), **extra, task_type=TaskType.CAUSAL_LM)


def peft_wrap(model: Any, kwargs: dict[str, Any]) -> Any:
    """LoRA through PEFT itself (the hf backend)."""
    from peft import LoraConfig, TaskType, get_peft_model

    return get_peft_model(model, LoraConfig(**kwargs, task_type=TaskType.CAUSAL_LM))


def wrap_for_method(
    model: Any,
    tokenizer: Any,
    model_cfg: DictConfig,
    trainer_cfg: DictConfig,
    wrap: PeftWrap,
    parent: Any = None,
) -> Any:
    """What every backend does after loading: no KV cache while training (it costs memory,
    and transformers only detects packed rows from position_ids without one), then the
    method's wrapping with the shared adapter settings (from ``parent`` when one is given:
    `dnd_ft.training.init`; the same PEFT calls Unsloth makes to load a saved adapter)."""
    model.config.use_cache = False

    def settings() -> dict[str, Any]:
        return adapter_kwargs(trainer_cfg, tokenizer, model_cfg.chat_format)

    if parent is not None and trainer_cfg.init_mode != "resume":
        from dnd_ft.training.init import prepare

        model = prepare(model, parent, trainer_cfg, wrap, settings)
    elif trainer_cfg.method in ("lora", "qlora"):
        model = wrap(model, settings())
    _log_trainable(model)
    return model


def _log_trainable(model: Any) -> None:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    log.info(
        "trainable parameters: %s of %s (%.2f%%)",
        f"{trainable:,}",
        f"{total:,}",
        100 * trainable / max(total, 1),
    )
