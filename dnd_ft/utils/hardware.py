"""What this machine can run on: CUDA, Apple MPS or CPU. Shared by the doctor and the manifest."""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Hardware:
    accelerator: str  # cuda | mps | cpu
    device_name: str
    device_count: int
    device_memory_gb: float | None
    bf16: bool  # whether bf16 training is supported here
    cpu_count: int
    ram_gb: float | None
    platform: str
    torch: str | None

    def as_dict(self) -> dict:
        return asdict(self)


def detect() -> Hardware:
    """Probe the accelerator through torch (imported here, not at package import)."""
    try:
        import torch
    except ImportError:
        torch = None
    accel, name, count, mem, bf16 = (
        "cpu",
        platform.processor() or platform.machine(),
        0,
        None,
        False,
    )
    if torch is not None and torch.cuda.is_available():
        accel, count = "cuda", torch.cuda.device_count()
        name = torch.cuda.get_device_name(0)
        mem = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
        bf16 = torch.cuda.is_bf16_supported()
    elif (
        torch is not None
        and getattr(torch.backends, "mps", None)
        and torch.backends.mps.is_available()
    ):
        accel, count, name = "mps", 1, "Apple MPS"
    return Hardware(
        accelerator=accel,
        device_name=name,
        device_count=count,
        device_memory_gb=mem,
        bf16=bf16,
        cpu_count=os.cpu_count() or 1,
        ram_gb=_ram_gb(),
        platform=platform.platform(),
        torch=getattr(torch, "__version__", None),
    )


def _ram_gb() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages * size / 2**30, 1)
