"""Schema of the `eval` group."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EvalConfig:
    split: str = "test"
    max_new_tokens: int = 256
    batch_size: int = 8
    baseline: bool = True  # also evaluate the base model without the adapter
