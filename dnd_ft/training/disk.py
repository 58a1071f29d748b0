"""Bytes the train stage writes, estimated from the config (for `python -m dnd_ft.doctor`)."""

from __future__ import annotations

from typing import Any

LORA_SHARE = 0.02  # LoRA r=16 on every projection of a 0.5-2B model: ~1.5-2% of its weights


def estimate(cfg: Any, parameters: int) -> int:
    """Checkpoints (weights plus AdamW's two fp32 moments of what trains, times the number
    kept, plus one being written) and the final adapter or model."""
    t = cfg.trainer
    trained = parameters if t.method == "full" else int(parameters * LORA_SHARE)
    checkpoint = trained * 4 * 3  # fp32 weights + exp_avg + exp_avg_sq
    kept = (t.save_total_limit + 1) if t.save_steps > 0 else 0
    final = trained * 4
    return checkpoint * kept + final
