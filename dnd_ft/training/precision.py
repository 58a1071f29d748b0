"""Which number format a run trains in, decided once from the config and the hardware."""

from __future__ import annotations

from dataclasses import dataclass

from dnd_ft.utils.hardware import Hardware


@dataclass(frozen=True)
class Precision:
    """The resolved precision of a run.

    `name` is fp32, bf16 or fp16. `weights` is the dtype the base model is loaded in and
    `autocast` the mixed-precision flag handed to the Trainer (None for plain fp32).
    """

    name: str
    weights: str  # torch dtype name: float32 | bfloat16 | float16
    autocast: str | None  # bf16 | fp16 | None

    def torch_dtype(self):  # -> torch.dtype
        import torch

        return getattr(torch, self.weights)


def resolve(requested: str, hw: Hardware, method: str) -> Precision:
    """Turn trainer.precision (auto|fp32|bf16|fp16) into a Precision for this machine.

    auto picks bf16 on CUDA GPUs that support it (Ampere and newer), fp16 on older CUDA GPUs
    and fp32 elsewhere: CPU bf16 kernels are slower than fp32 on most x86 CPUs, and MPS
    mixed precision in the Trainer is not reliable enough to be a default. Explicit requests
    the hardware cannot honour are rejected earlier by `dnd_ft.training.checks`.
    """
    name = requested
    if requested == "auto":
        name = ("bf16" if hw.bf16 else "fp16") if hw.accelerator == "cuda" else "fp32"
    # A full fine-tune keeps fp32 master weights under autocast: AdamW updates vanish in bf16
    # weights and the fp16 grad scaler refuses fp16 ones. LoRA keeps the frozen base in the
    # half type (half the memory) while PEFT trains the adapter itself in fp32.
    if name in ("bf16", "fp16"):
        half = "bfloat16" if name == "bf16" else "float16"
        return Precision(name, "float32" if method == "full" else half, name)
    return Precision("fp32", "float32", None)
