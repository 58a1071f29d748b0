"""The `unsloth` backend: Unsloth's fused kernels and 4-bit QLoRA. CUDA only.

Unsloth patches transformers, TRL and PEFT when it is imported, so it must be imported before
them: the runner calls `dnd_ft.training.backends.preimport` before any stage. On a CPU this
module is only exercised with a stand-in for `unsloth.FastLanguageModel` (tests/training).

Only the weights come from Unsloth. The tokenizer is the project's (`load_prepared_tokenizer`:
control tokens, pad, chat template), the embedding rows of added tokens are fitted the same
way (`fit_to_tokenizer`), and LoRA gets the same settings, control-token rows included
(`wrap_for_method`; Unsloth's get_peft_model hands extra keywords such as
trainable_token_indices on to PEFT's LoraConfig). So a GPU run trains what the CPU path,
which the tests cover, trains.

API used (unsloth 2025.x / 2026.x):
    FastLanguageModel.from_pretrained(model_name, max_seq_length, dtype, load_in_4bit,
                                      full_finetuning, revision, trust_remote_code, ...)
    FastLanguageModel.get_peft_model(model, r, target_modules, lora_alpha, lora_dropout,
                                     bias, use_gradient_checkpointing, random_state, **kwargs)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from dnd_ft.training.backends.base import LoadedModel, wrap_for_method
from dnd_ft.training.precision import Precision

log = logging.getLogger(__name__)


class UnslothBackend:
    name = "unsloth"

    def load(
        self,
        model_cfg: DictConfig,
        trainer_cfg: DictConfig,
        cache_dir: Path,
        precision: Precision,
        parent: Any = None,
    ) -> LoadedModel:
        from unsloth import FastLanguageModel  # imported first by preimport(); cheap here

        from dnd_ft.models import fit_to_tokenizer, load_prepared_tokenizer

        quantized = trainer_cfg.method == "qlora"
        # Unsloth's offloaded checkpointing is the long-context memory saver it is known for;
        # "unsloth" is its documented value, False turns it off.
        checkpointing: str | bool = "unsloth" if trainer_cfg.gradient_checkpointing else False
        model, _ = FastLanguageModel.from_pretrained(  # its tokenizer: ours replaces it
            model_name=_model_name(model_cfg, cache_dir),
            max_seq_length=int(trainer_cfg.max_length),
            # None lets Unsloth pick bf16 or fp16 for the GPU; we pass ours when it is a
            # half type so the Trainer's autocast and the weights agree.
            dtype=precision.torch_dtype() if precision.weights != "float32" else None,
            load_in_4bit=quantized,
            full_finetuning=trainer_cfg.method == "full",
            revision=model_cfg.revision,
            trust_remote_code=model_cfg.trust_remote_code,
            use_gradient_checkpointing=checkpointing,
        )
        prepared = load_prepared_tokenizer(model_cfg, cache_dir)
        fit_to_tokenizer(model, prepared)

        def unsloth_wrap(base: Any, kwargs: dict[str, Any]) -> Any:
            return FastLanguageModel.get_peft_model(
                base, **kwargs, use_gradient_checkpointing=checkpointing,
                random_state=trainer_cfg.seed,
            )  # fmt: skip

        model = wrap_for_method(
            model, prepared.tokenizer, model_cfg, trainer_cfg, unsloth_wrap, parent
        )
        return LoadedModel(
            model=model,
            tokenizer=prepared.tokenizer,
            backend=self.name,
            method=trainer_cfg.method,
            quantized=quantized,
            owns_gradient_checkpointing=True,
        )


def _model_name(model_cfg: DictConfig, cache_dir: Path) -> str:
    """A hub id Unsloth can download (or find in the HF cache), or a local model folder."""
    if model_cfg.source == "hub":
        return str(model_cfg.hub_id)
    from dnd_ft.models import resolve_model_dir

    return str(resolve_model_dir(model_cfg, cache_dir))


def import_unsloth() -> Any:
    """Import unsloth (patching transformers/TRL/PEFT); called by `preimport`."""
    import unsloth

    log.info("unsloth %s imported before transformers", getattr(unsloth, "__version__", "?"))
    return unsloth
