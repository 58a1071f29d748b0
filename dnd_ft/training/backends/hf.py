"""The `hf` backend: transformers + PEFT. Runs on CPU, Apple MPS and CUDA.

The base model comes from `dnd_ft.models.load_model` (hub, local folder, GGUF asset or a tiny
model built from config); this module only decides dtype and quantization and wraps the
model for the training method.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from dnd_ft.training.backends.base import LoadedModel, control_token_ids, peft_lora_config
from dnd_ft.training.precision import Precision

log = logging.getLogger(__name__)


class HFBackend:
    name = "hf"

    def load(
        self, model_cfg: DictConfig, trainer_cfg: DictConfig, cache_dir: Path, precision: Precision
    ) -> LoadedModel:
        from transformers import set_seed

        from dnd_ft.models import load_model, load_tokenizer

        quantized = trainer_cfg.method == "qlora"
        kwargs: dict[str, Any] = {"dtype": precision.torch_dtype()}
        if quantized:
            import torch

            # NF4 + double quantization (the QLoRA recipe), computing in the run's half type.
            kwargs["quantization"] = "4bit"
            # bitsandbytes places 4-bit weights at load time; the Trainer cannot move them.
            kwargs["device_map"] = {"": torch.cuda.current_device()}
        tokenizer = load_tokenizer(model_cfg, cache_dir)
        model = load_model(model_cfg, cache_dir, **kwargs)
        # No KV cache while training: it costs memory, and transformers only detects packed
        # rows from position_ids when no cache is passed.
        model.config.use_cache = False
        if quantized:
            from peft import prepare_model_for_kbit_training

            model = prepare_model_for_kbit_training(
                model, use_gradient_checkpointing=trainer_cfg.gradient_checkpointing
            )
        if trainer_cfg.method in ("lora", "qlora"):
            from peft import get_peft_model

            set_seed(trainer_cfg.seed)  # LoRA A matrices are drawn at random
            tokens = None
            if trainer_cfg.lora.train_control_tokens:
                tokens = control_token_ids(tokenizer, model_cfg.chat_format)
            model = get_peft_model(model, peft_lora_config(trainer_cfg, tokens))
        _log_trainable(model)
        return LoadedModel(
            model=model,
            tokenizer=tokenizer,
            backend=self.name,
            method=trainer_cfg.method,
            quantized=quantized,
        )

    def save_merged(
        self,
        loaded: LoadedModel,
        adapter_dir: Path,
        out_dir: Path,
        model_cfg: DictConfig,
        cache_dir: Path,
        precision: Precision,
    ) -> None:
        model = loaded.model
        if loaded.method == "full":
            merged = model
        elif loaded.quantized:
            # Merging into 4-bit weights would round the update away: reload the base in 16
            # bits and apply the saved adapter to it.
            import torch
            from peft import PeftModel

            from dnd_ft.models import load_model

            base = load_model(model_cfg, cache_dir, dtype=torch.bfloat16)
            merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
        else:
            merged = model.merge_and_unload()
        merged.config.use_cache = True  # the merged model is for inference
        merged.save_pretrained(str(out_dir))
        loaded.tokenizer.save_pretrained(str(out_dir))


def _log_trainable(model: Any) -> None:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    log.info(
        "trainable parameters: %s of %s (%.2f%%)",
        f"{trainable:,}",
        f"{total:,}",
        100 * trainable / max(total, 1),
    )
