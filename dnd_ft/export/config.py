"""Schema of the `export` group and its checks.

Today the export stage writes the merged model and checks it (logits against base + adapter,
an exact reload); GGUF, Ollama and Cactus outputs join it with the export issue (their keys
arrive with them, so no key here promises what is not built).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dnd_ft.config.checks import one_of
from dnd_ft.models.identity import mismatch

DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass
class ExportConfig:
    # Merge the LoRA adapter into the base in float32 and save safetensors, the tokenizer
    # (tokenizer.model too where the base has one) and the chat template training used.
    merged: bool = True
    dtype: str = "auto"  # of the saved weights; auto = the base model's own dtype
    adapter_dir: str | None = None  # export this adapter (default: this run's adapter/)


def check_export(cfg: Any) -> Iterable[str]:
    e = cfg.export
    yield from one_of("export.dtype", e.dtype, DTYPES)
    if e.adapter_dir and not Path(e.adapter_dir, "adapter_config.json").is_file():
        yield (
            f"export.adapter_dir: {e.adapter_dir} holds no adapter_config.json; point it at a "
            "run's adapter/ folder or leave it unset (this run's own adapter)"
        )
    elif e.adapter_dir:
        wrong = mismatch(Path(e.adapter_dir), cfg.model, "export.adapter_dir")
        if wrong:
            yield wrong
    if "export" in cfg.stages and not e.merged:
        yield (
            "export.merged: false leaves the export stage nothing to write; set "
            "export.merged=true or drop export from stages"
        )
