"""What a training run leaves behind: the adapter (or full model), the loss curve, memory."""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dnd_ft.models.identity import write_identity
from dnd_ft.training.backends.base import LoadedModel
from dnd_ft.utils.io import atomic_dir, atomic_write_text

log = logging.getLogger(__name__)


def save_adapter(
    loaded: LoadedModel, out: Path, model_cfg: Any, lineage: Callable[[Path], None] | None = None
) -> Path:
    """PEFT adapter (adapter_config.json + adapter_model.safetensors), the tokenizer, and
    which base model and chat format it belongs to (`dnd_ft.models.identity`); ``lineage``
    writes the parents it was trained on top of into the folder (`dnd_ft.training.init`).

    The tokenizer travels with the adapter so `PeftModel.from_pretrained(base, out)` plus
    `AutoTokenizer.from_pretrained(out)` is all evaluation and export need.
    """
    with atomic_dir(out) as tmp:
        loaded.model.save_pretrained(str(tmp))
        loaded.tokenizer.save_pretrained(str(tmp))
        write_identity(tmp, model_cfg)
        if lineage is not None:
            lineage(tmp)
    log.info("adapter written to %s", out)
    return out


def save_full_model(loaded: LoadedModel, out: Path, model_cfg: Any) -> Path:
    """A full fine-tune's weights as a standalone model: safetensors, config, tokenizer, chat
    template and its identity (merging a LoRA adapter is the export stage's job)."""
    with atomic_dir(out) as tmp:
        loaded.model.config.use_cache = True  # the saved model is for inference
        loaded.model.save_pretrained(str(tmp))
        loaded.tokenizer.save_pretrained(str(tmp))
        write_identity(tmp, model_cfg)
    log.info("fine-tuned model written to %s", out)
    return out


def plot_loss(history: list[dict[str, float]], path: Path, title: str) -> Path | None:
    """Train loss per logged step and val loss per evaluation, as a PNG (Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: runs on servers and in tests
    import matplotlib.pyplot as plt

    train = [(r["step"], r["loss"]) for r in history if math.isfinite(r.get("loss", math.nan))]
    val = [(r["step"], r["eval_loss"]) for r in history if "eval_loss" in r]
    if not train and not val:
        return None
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    if train:
        ax.plot(*zip(*train, strict=True), label="train loss", lw=1.5)
    if val:
        ax.plot(*zip(*val, strict=True), "o-", label="val loss", lw=1.5)
    ax.set(xlabel="optimizer step", ylabel="loss (mean token cross-entropy)", title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def write_history(history: list[dict[str, float]], path: Path) -> None:
    rows = [{k: (v if math.isfinite(v) else None) for k, v in r.items()} for r in history]
    atomic_write_text(path, json.dumps(rows, indent=1) + "\n")


def peak_memory_mb(device: str) -> float:
    """CUDA: peak allocated by torch; MPS: driver allocation now; CPU: the process's max RSS."""
    import torch

    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    if device == "mps":
        return torch.mps.driver_allocated_memory() / 2**20
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10  # bytes on macOS, KiB on Linux


def first_last(history: list[dict[str, Any]], key: str) -> tuple[float | None, float | None]:
    values = [r[key] for r in history if key in r]
    return (values[0], values[-1]) if values else (None, None)
