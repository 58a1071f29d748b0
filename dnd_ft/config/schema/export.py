"""Schema of the `export` group."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ExportConfig:
    merged: bool = True  # write merged weights (safetensors + tokenizer + chat template)
    gguf_quantizations: list[str] = field(default_factory=list)
    cactus: bool = False
