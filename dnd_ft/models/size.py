"""How many parameters a model config means, without loading it (for disk estimates).

Tiny models are counted from their architecture; the others from ``model.size`` ("0.6B",
"270M"), which every model config states for the leaderboard anyway.
"""

from __future__ import annotations

import re
from typing import Any

_SIZE = re.compile(r"^\s*([\d.]+)\s*([kmbt]?)\s*$", re.IGNORECASE)
_SCALE = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
TINY_VOCAB = {"qwen": 49_152 + 16, "gemma": 4_000}  # SmolLM2's BPE + tool tokens; our SentencePiece


def parse_size(size: Any) -> float | None:
    """Parameters a human size names ("270M" -> 2.7e8), or None ("tiny", unknown)."""
    match = _SIZE.match(str(size))
    return float(match.group(1)) * _SCALE[match.group(2).lower()] if match else None


def parameter_count(model_cfg: Any) -> int:
    """Parameters of ``model_cfg``: counted for source=tiny, else from ``model.size``."""
    if model_cfg.source == "tiny":
        a = model_cfg.tiny
        vocab = TINY_VOCAB.get(model_cfg.family, 50_000)
        attention = (
            a.hidden_size * a.head_dim * (2 * a.num_attention_heads + 2 * a.num_key_value_heads)
        )
        mlp = 3 * a.hidden_size * a.intermediate_size
        embeddings = vocab * a.hidden_size * (1 if a.tie_word_embeddings else 2)
        return int(embeddings + a.num_hidden_layers * (attention + mlp))
    return int(parse_size(model_cfg.size) or 1e9)  # unknown: assume a 1B model
