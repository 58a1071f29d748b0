"""Training backends behind one interface: `hf` (transformers + PEFT) and `unsloth` (CUDA).

    name, reason = select(trainer_cfg, model_cfg)   # resolves trainer.backend=auto
    backend = get(name)                             # -> HFBackend | UnslothBackend
    preimport(trainer_cfg)                          # import unsloth first when it will be used

Nothing here imports transformers: `preimport` must be able to import Unsloth before it.
"""

from __future__ import annotations

import importlib.util
import logging

from omegaconf import DictConfig

from dnd_ft.training.backends.base import Backend, LoadedModel

log = logging.getLogger(__name__)

__all__ = ["Backend", "LoadedModel", "get", "preimport", "select"]


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def select(trainer_cfg: DictConfig, model_cfg: DictConfig | None = None) -> tuple[str, str]:
    """(backend name, why) for trainer.backend, resolving `auto`.

    auto prefers Unsloth (about 2x faster, less memory) but only where it runs: a CUDA GPU,
    the package installed, and weights it can read (not a GGUF asset).
    """
    requested = trainer_cfg.backend
    if requested != "auto":
        return requested, f"trainer.backend={requested}"
    if not _cuda_available():
        return "hf", "auto: no CUDA GPU, and unsloth runs only on CUDA"
    weights = trainer_cfg.get("loss_weights")
    if weights is not None and (weights.call != 1.0 or weights.decision != 1.0):
        return "hf", "auto: trainer.loss_weights need the hf backend's loss (Unsloth fuses its own)"
    if importlib.util.find_spec("unsloth") is None:
        return "hf", "auto: unsloth is not installed (pip install 'dnd-ft[cuda]' to use it)"
    if model_cfg is not None and model_cfg.source == "gguf_asset":
        return "hf", f"auto: unsloth cannot load the GGUF weights of {model_cfg.name}"
    return "unsloth", "auto: CUDA GPU and unsloth installed"


def get(name: str) -> Backend:
    """The backend object for a name returned by `select`."""
    if name == "hf":
        from dnd_ft.training.backends.hf import HFBackend

        return HFBackend()
    if name == "unsloth":
        from dnd_ft.training.backends.unsloth import UnslothBackend

        return UnslothBackend()
    raise ValueError(f"trainer.backend: unknown backend {name!r}; use auto, hf or unsloth")


def preimport(trainer_cfg: DictConfig, model_cfg: DictConfig | None = None) -> str:
    """Import unsloth now if this run will train with it; returns the selected backend.

    Unsloth patches transformers, TRL and PEFT at import time and warns (and runs slower)
    when they were imported first, so the runner calls this (through the train stage's setup
    hook, `dnd_ft.training.setup`) before any stage. On CPU it
    only decides the backend and imports nothing heavy besides torch.
    """
    name, reason = select(trainer_cfg, model_cfg)
    log.info("training backend: %s (%s)", name, reason)
    if name == "unsloth" and _cuda_available():
        from dnd_ft.training.backends.unsloth import import_unsloth

        import_unsloth()
    return name
