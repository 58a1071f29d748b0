"""The small interface every training backend implements."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from omegaconf import DictConfig

from dnd_ft.training.precision import Precision


@dataclass
class LoadedModel:
    """A model ready for the Trainer, with what later steps need to know about it."""

    model: Any  # a PeftModel for lora/qlora, the plain PreTrainedModel for full
    tokenizer: Any
    backend: str  # hf | unsloth
    method: str  # lora | qlora | full
    quantized: bool  # 4-bit base weights: merging must reload the base in 16 bits
    # The backend already enabled gradient checkpointing itself (Unsloth's own variant), so
    # the Trainer must not enable the stock one on top.
    owns_gradient_checkpointing: bool = False


class Backend(Protocol):
    """Loads a base model with its adapter and writes a merged copy after training."""

    name: str

    def load(
        self, model_cfg: DictConfig, trainer_cfg: DictConfig, cache_dir: Path, precision: Precision
    ) -> LoadedModel:
        """Return the base model (quantized if method=qlora) wrapped for `trainer_cfg.method`."""
        ...

    def save_merged(
        self,
        loaded: LoadedModel,
        adapter_dir: Path,
        out_dir: Path,
        model_cfg: DictConfig,
        cache_dir: Path,
        precision: Precision,
    ) -> None:
        """Write base + adapter as one standalone model (safetensors + tokenizer) to out_dir."""
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


def peft_lora_config(trainer_cfg: DictConfig, token_ids: list[int] | None = None) -> Any:
    """The peft.LoraConfig the config asks for (shared by the backends that use PEFT).

    token_ids: embedding rows to train alongside the adapter (`trainer.lora.train_control_tokens`).
    """
    from peft import LoraConfig, TaskType

    extra = {"trainable_token_indices": token_ids} if token_ids else {}
    return LoraConfig(**lora_kwargs(trainer_cfg), task_type=TaskType.CAUSAL_LM, **extra)


def control_token_ids(tokenizer: Any, chat_format: str) -> list[int]:
    """Ids of the chat format's control tokens (each a single token: dnd_ft.models checks)."""
    from dnd_ft.models.loading import control_strings

    return sorted(set(tokenizer.convert_tokens_to_ids(control_strings(chat_format))))
