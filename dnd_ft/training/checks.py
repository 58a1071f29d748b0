"""Config checks of the `trainer` group (wired in by the stage registry, dnd_ft.pipeline.stages).

Two kinds: plain value checks that always run, and hardware checks (qlora, unsloth, bf16,
fp16 need CUDA) that run only when the `train` stage is in `stages`, so a config that only
builds data or evaluates still validates on a laptop. Every message names the key and a fix.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path

from omegaconf import DictConfig

from dnd_ft.config.checks import one_of
from dnd_ft.training.config import BACKENDS, INIT_MODES, METHODS, PRECISIONS, SCHEDULERS
from dnd_ft.utils.hardware import Hardware, detect

CPU_FIX = "on this machine use trainer=cpu (LoRA, fp32) with a small model such as model=tiny_qwen3"


def check_values(t: DictConfig) -> Iterable[str]:
    """Checks that depend only on the trainer config itself."""
    yield from one_of("trainer.backend", t.backend, BACKENDS)
    yield from one_of("trainer.method", t.method, METHODS)
    yield from one_of("trainer.precision", t.precision, PRECISIONS)
    yield from one_of("trainer.lr_scheduler", t.lr_scheduler, SCHEDULERS)
    if not t.learning_rate > 0:
        yield f"trainer.learning_rate: must be > 0, got {t.learning_rate}"
    if t.embedding_learning_rate is not None and not t.embedding_learning_rate > 0:
        yield (
            f"trainer.embedding_learning_rate: must be > 0 (or null for learning_rate), "
            f"got {t.embedding_learning_rate}"
        )
    if not 0 <= t.warmup_ratio < 1:
        yield f"trainer.warmup_ratio: a fraction of the steps in [0, 1), got {t.warmup_ratio}"
    for key in ("batch_size", "eval_batch_size", "grad_accum", "save_total_limit"):
        if t[key] < 1:
            yield f"trainer.{key}: must be >= 1, got {t[key]}"
    for key in ("logging_steps", "eval_steps", "save_steps"):
        if t[key] < 0:
            yield f"trainer.{key}: must be >= 0 (0 turns it off), got {t[key]}"
    if t.max_tokens > 0 and t.max_steps > 0:
        yield (
            f"trainer.max_tokens={t.max_tokens} and trainer.max_steps={t.max_steps}: set one "
            "(max_tokens picks the number of steps itself); e.g. trainer.max_steps=-1"
        )
    if t.max_steps <= 0 and t.epochs <= 0:
        yield "trainer.epochs: must be > 0 unless trainer.max_steps > 0"
    if t.max_length < 16:
        yield f"trainer.max_length: {t.max_length} tokens is too short for a chat example"
    if t.method in ("lora", "qlora"):
        if t.lora.r < 1:
            yield f"trainer.lora.r: must be >= 1, got {t.lora.r}"
        if not 0 <= t.lora.dropout < 1:
            yield f"trainer.lora.dropout: must be in [0, 1), got {t.lora.dropout}"
        if not t.lora.target_modules:
            yield "trainer.lora.target_modules: list at least one module, e.g. [q_proj, v_proj]"
    if t.early_stopping.patience > 0 and t.eval_steps == 0:
        yield (
            "trainer.early_stopping.patience: needs periodic evaluation; "
            "set trainer.eval_steps > 0 or trainer.early_stopping.patience=0"
        )
    for key in ("call", "decision"):
        if not t.loss_weights[key] > 0:
            yield f"trainer.loss_weights.{key}: must be > 0 (1.0 is the plain loss), got {t.loss_weights[key]}"
    if weighted(t) and not t.target_logits_only:
        yield (
            "trainer.loss_weights: weights need the project's own loss; set "
            "trainer.target_logits_only=true or the weights back to 1.0"
        )
    if t.resume not in ("auto", "never") and not str(t.resume).strip():
        yield "trainer.resume: auto, never or the path of a checkpoint folder"


def weighted(t: DictConfig) -> bool:
    """Whether the loss weighs some assistant tokens apart from the others."""
    return t.loss_weights.call != 1.0 or t.loss_weights.decision != 1.0


def check_hardware(t: DictConfig, model: DictConfig, hw: Hardware) -> Iterable[str]:
    """Checks of what this machine can run; `hw` is passed in so tests can ask about a GPU."""
    where = hw.accelerator
    if t.method == "qlora":
        if where != "cuda":
            yield (
                f"trainer.method: qlora loads 4-bit weights with bitsandbytes and needs a CUDA "
                f"GPU (this machine has {where}); use trainer=lora, or {CPU_FIX}"
            )
        elif t.backend == "hf" and importlib.util.find_spec("bitsandbytes") is None:
            yield (
                "trainer.method: qlora with trainer.backend=hf needs bitsandbytes; "
                "pip install 'dnd-ft[cuda]'"
            )
    if t.backend == "unsloth":
        if where != "cuda":
            yield (
                f"trainer.backend: unsloth runs only on CUDA GPUs (this machine has {where}); "
                f"use trainer.backend=hf (or auto), or {CPU_FIX}"
            )
        elif importlib.util.find_spec("unsloth") is None:
            yield "trainer.backend: unsloth is not installed; pip install 'dnd-ft[cuda]'"
        if model.source == "gguf_asset":
            yield (
                f"trainer.backend: unsloth cannot load the GGUF weights of model={model.name}; "
                "use trainer.backend=hf"
            )
        if weighted(t):
            yield (
                "trainer.loss_weights: Unsloth computes its own fused loss, which takes no "
                "weights; use trainer.backend=hf or set the weights back to 1.0"
            )
    if t.precision == "bf16" and not hw.bf16:
        yield (
            f"trainer.precision: bf16 is not supported on {where}"
            f"{' (' + hw.device_name + ')' if where == 'cuda' else ''}; "
            "use trainer.precision=auto (fp32 on CPU/MPS, fp16 on older GPUs)"
        )
    if t.precision == "fp16" and where != "cuda":
        yield (
            f"trainer.precision: fp16 mixed precision needs a CUDA GPU (this machine has "
            f"{where}); use trainer.precision=fp32 or auto"
        )
    if t.resume not in ("auto", "never") and not Path(t.resume).is_dir():
        yield (
            f"trainer.resume: {t.resume} is not a folder; point it at a checkpoint-N folder "
            "or use trainer.resume=auto"
        )


def check_trainer(cfg: DictConfig) -> Iterable[str]:
    """The registered check: values always, hardware only when this run trains."""
    yield from check_values(cfg.trainer)
    if "train" in cfg.stages:
        yield from check_hardware(cfg.trainer, cfg.model, detect())
        yield from check_init(cfg)


def check_init(cfg: DictConfig) -> Iterable[str]:
    """trainer.init_from names something usable by this run (at startup, not after the data
    stage has run): it exists, and it belongs to this model and chat format."""
    t = cfg.trainer
    yield from one_of("trainer.init_mode", t.init_mode, INIT_MODES)
    if not t.init_from or t.init_mode not in INIT_MODES:
        return
    from dnd_ft.errors import ConfigError
    from dnd_ft.training.init import parent_of

    try:
        parent_of(cfg)
    except ConfigError as exc:
        yield from exc.problems
