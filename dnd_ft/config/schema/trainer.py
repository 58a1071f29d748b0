"""Schema of the `trainer` group: backend and every training hyperparameter."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LoraConfig:
    r: int = 16
    alpha: int = 32  # usually 2 x r
    dropout: float = 0.05
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )


@dataclass
class TrainerConfig:
    backend: str = "auto"  # auto | hf | unsloth
    method: str = "lora"  # lora | qlora | full
    lora: LoraConfig = field(default_factory=LoraConfig)
    learning_rate: float = 2e-4
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = "${model.max_seq_length}"  # type: ignore[assignment]
    packing: bool = False
    seed: int = "${seed}"  # type: ignore[assignment]
