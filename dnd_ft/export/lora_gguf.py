"""The adapter as a LoRA GGUF beside an f16 GGUF of its base (``export.lora_gguf``).

llama.cpp (and Ollama's ``ADAPTER``) can apply a LoRA GGUF to a base GGUF at load time, so
several adapters can share one base file on a device. llama.cpp's ``convert_lora_to_gguf.py``
converts only the LoRA matrices: it refuses an adapter that carries embedding or output rows
(``embed_tokens``/``lm_head``), which our control-token training adds
(``trainer.lora.train_control_tokens``, on by default). Such adapters are refused here by name
before anything is written; their path is the merged GGUF.

The base GGUF is converted from the model the adapter applies to exactly as training loaded
it (control tokens added, parents of a ``new_adapter`` generation merged), so its vocabulary
and weights are the adapter's base.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LORA_TYPE = "lora_f16"  # the table's name for base f16 + LoRA f16
ROW_MODULES = ("embed_tokens", "lm_head", "wte", "embed_out", "output")


def config_problems(cfg: Any) -> list[str]:
    """Why this run's adapter cannot become a LoRA GGUF, from the config alone (startup)."""
    e, t = cfg.export, cfg.trainer
    if e.adapter_dir:  # an earlier run's adapter: its own config is read at export
        return []
    if t.method == "full":
        return [
            "export.lora_gguf: trainer.method=full trains every weight and leaves no adapter; "
            "use trainer.method=lora or export.lora_gguf=false (the merged GGUF)"
        ]
    out = []
    if t.lora.train_control_tokens:
        out.append(
            "export.lora_gguf: trainer.lora.train_control_tokens=true trains embedding rows, "
            "which llama.cpp's LoRA converter refuses; set trainer.lora.train_control_tokens="
            "false (only where the base already knows the format's control tokens) or use "
            "the merged GGUF (export.gguf=[f16])"
        )
    rows = [m for m in t.lora.target_modules if m in ROW_MODULES]
    if rows:
        out.append(
            f"export.lora_gguf: trainer.lora.target_modules has {', '.join(rows)}: llama.cpp "
            "applies LoRA to the transformer's projections only; drop them or use the merged GGUF"
        )
    return out


def adapter_problem(adapter_dir: Path) -> str | None:
    """Why the saved adapter cannot become a LoRA GGUF, from its adapter_config.json."""
    config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    rows = config.get("trainable_token_indices")
    if rows:
        count = sum(len(v) for v in rows.values()) if isinstance(rows, dict) else len(rows)
        return (
            f"export.lora_gguf: {adapter_dir} trained {count} embedding rows (control "
            "tokens), which llama.cpp's LoRA converter refuses; export the merged GGUF "
            "(export.gguf=[f16]) or retrain with trainer.lora.train_control_tokens=false"
        )
    saved = [m for m in config.get("modules_to_save") or [] if m]
    targets = config.get("target_modules") or []
    targets = [targets] if isinstance(targets, str) else list(targets)
    whole = [m for m in [*saved, *targets] if m.split(".")[-1] in ROW_MODULES]
    if whole:
        return (
            f"export.lora_gguf: {adapter_dir} trains {', '.join(whole)}, which llama.cpp's LoRA "
            "converter refuses; export the merged GGUF (export.gguf=[f16])"
        )
    return None


def save_base(model: Any, tokenizer: Any, out: Path, base_dir: Path | None) -> Path:
    """``model`` (the base the adapter applies to, float32) as an HF folder to convert."""
    from dnd_ft.export.merge import save_folder

    save_folder(model, tokenizer, out, base_dir)
    return out


def convert_lora(adapter_dir: Path, base_folder: Path, out: Path, cache_dir: str | Path) -> float:
    """llama.cpp's ``convert_lora_to_gguf.py`` on ``adapter_dir`` (f16); seconds taken."""
    from dnd_ft.export.isolated import convert_with_tool
    from dnd_ft.export.llamacpp_tools import ensure_tools

    tools = ensure_tools(cache_dir)
    args = [str(tools / "convert_lora_to_gguf.py"), "--base", str(base_folder), "--outtype",
            "f16", "--outfile", "{out}", str(adapter_dir)]  # fmt: skip
    failure = f"export.lora_gguf: llama.cpp's LoRA converter failed on {adapter_dir}"
    return convert_with_tool(tools, args, out, failure)


def write_lora_pair(
    ctx: Any, out_dir: Path, base_folder: Path, adapter: Path
) -> tuple[Path, Path, float]:
    """(base f16 GGUF, LoRA f16 GGUF, seconds) for the adapter; the base folder is removed."""
    import shutil

    from dnd_ft.export.gguf import convert

    name, cache_dir = ctx.cfg.model.name, ctx.cfg.paths.cache_dir
    base = out_dir / f"{name}-base-f16.gguf"
    lora = out_dir / f"{name}-lora-f16.gguf"
    try:
        took = convert(base_folder, base, "f16", cache_dir)
        took += convert_lora(adapter, base_folder, lora, cache_dir)
    finally:
        shutil.rmtree(base_folder, ignore_errors=True)
    return base, lora, took
