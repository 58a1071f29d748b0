"""The `hf` backend: transformers + PEFT. Runs on CPU, Apple MPS and CUDA.

The base model comes from `dnd_ft.models.load_model` (hub, local folder, GGUF asset or a tiny
model built from config); this module only decides dtype and quantization. Tokenizer,
embedding rows and LoRA wrapping are the steps every backend shares (`backends.base`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from dnd_ft.training.backends.base import LoadedModel, peft_wrap, wrap_for_method
from dnd_ft.training.precision import Precision

log = logging.getLogger(__name__)


class HFBackend:
    name = "hf"

    def load(
        self,
        model_cfg: DictConfig,
        trainer_cfg: DictConfig,
        cache_dir: Path,
        precision: Precision,
        parent: Any = None,
    ) -> LoadedModel:
        from transformers import set_seed

        from dnd_ft.models import load_model, load_prepared_tokenizer

        quantized = trainer_cfg.method == "qlora"
        kwargs: dict[str, Any] = {"dtype": precision.torch_dtype()}
        if quantized:
            import torch

            # NF4 + double quantization (the QLoRA recipe), computing in the run's half type.
            kwargs["quantization"] = "4bit"
            # bitsandbytes places 4-bit weights at load time; the Trainer cannot move them.
            kwargs["device_map"] = {"": torch.cuda.current_device()}
        prepared = load_prepared_tokenizer(model_cfg, cache_dir)
        model = load_model(model_cfg, cache_dir, prepared=prepared, **kwargs)  # rows fitted
        if quantized:
            from peft import prepare_model_for_kbit_training

            model = prepare_model_for_kbit_training(
                model, use_gradient_checkpointing=trainer_cfg.gradient_checkpointing
            )
        set_seed(trainer_cfg.seed)  # LoRA A matrices are drawn at random
        model = wrap_for_method(
            model, prepared.tokenizer, model_cfg, trainer_cfg, peft_wrap, parent
        )
        return LoadedModel(
            model=model,
            tokenizer=prepared.tokenizer,
            backend=self.name,
            method=trainer_cfg.method,
            quantized=quantized,
        )
