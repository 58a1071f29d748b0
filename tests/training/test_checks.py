"""Trainer config checks, precision and backend selection, on this CPU and on a pretend GPU."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from dnd_ft.errors import ConfigError
from dnd_ft.pipeline.config import validate
from dnd_ft.training import backends
from dnd_ft.training.checks import check_hardware, check_values
from dnd_ft.training.precision import resolve
from dnd_ft.utils.hardware import Hardware

CPU = Hardware("cpu", "x86_64", 0, None, False, 2, 16.0, "linux", "2.13")
A100 = dataclasses.replace(CPU, accelerator="cuda", device_name="A100", device_count=1, bf16=True)
T4 = dataclasses.replace(A100, device_name="T4", bf16=False)


def _problems(cfg, hw):
    return list(check_values(cfg.trainer)) + list(check_hardware(cfg.trainer, cfg.model, hw))


def test_every_trainer_preset_is_valid_where_it_is_meant_to_run(compose_cfg):
    for preset, hw in (("cpu", CPU), ("lora", CPU), ("full", CPU), ("lora", A100), ("qlora", A100)):
        cfg = compose_cfg(f"trainer={preset}", "trainer.backend=auto")
        problems = [p for p in _problems(cfg, hw) if "bitsandbytes" not in p]
        assert problems == [], (preset, hw.accelerator, problems)


def test_qlora_on_cpu_names_the_key_and_the_fix(compose_cfg):
    cfg = compose_cfg("trainer=qlora")
    with pytest.raises(
        ConfigError, match=r"trainer.method: qlora .* needs a CUDA GPU .*trainer=cpu"
    ):
        validate(cfg)


def test_unsloth_and_bf16_and_fp16_on_cpu_are_reported_together(compose_cfg):
    cfg = compose_cfg("trainer.backend=unsloth", "trainer.precision=bf16")
    problems = _problems(cfg, CPU)
    assert any(p.startswith("trainer.backend: unsloth runs only on CUDA") for p in problems)
    assert any(p.startswith("trainer.precision: bf16 is not supported on cpu") for p in problems)
    cfg = compose_cfg("trainer.precision=fp16")
    assert any("fp16 mixed precision needs a CUDA GPU" in p for p in _problems(cfg, CPU))


def test_bf16_on_a_gpu_without_it_is_refused(compose_cfg):
    cfg = compose_cfg("trainer.precision=bf16")
    assert any("bf16 is not supported on cuda (T4)" in p for p in _problems(cfg, T4))
    assert _problems(cfg, A100) == []


def test_hardware_checks_only_apply_when_training(compose_cfg):
    validate(compose_cfg("trainer=qlora", "stages=[data]"))  # no error: nothing trains


def test_value_problems(compose_cfg):
    cfg = compose_cfg(
        "trainer=cpu",  # a LoRA preset: the lora.r check applies to LoRA runs only
        "trainer.learning_rate=0",
        "trainer.embedding_learning_rate=-1e-3",
        "trainer.lora.r=0",
        "trainer.warmup_ratio=1.5",
        "trainer.early_stopping.patience=3",
        "trainer.eval_steps=0",
    )
    problems = list(check_values(cfg.trainer))
    for start in (
        "trainer.learning_rate:",
        "trainer.embedding_learning_rate:",
        "trainer.lora.r:",
        "trainer.warmup_ratio:",
        "trainer.early_stopping.patience:",
    ):
        assert any(p.startswith(start) for p in problems), (start, problems)


def test_resume_path_must_exist(compose_cfg, tmp_path):
    cfg = compose_cfg(f"trainer.resume={tmp_path}/nope")
    assert any(p.startswith("trainer.resume:") for p in _problems(cfg, CPU))


def test_precision_auto_per_device():
    assert resolve("auto", CPU, "lora").name == "fp32"
    assert resolve("auto", A100, "lora") == resolve("bf16", A100, "lora")
    assert resolve("auto", A100, "lora").weights == "bfloat16"
    assert resolve("auto", A100, "full").weights == "float32"  # fp32 master weights
    assert resolve("auto", T4, "lora").name == "fp16"


def test_auto_backend_is_hf_on_cpu_and_says_why(compose_cfg):
    cfg = compose_cfg("trainer=lora")
    name, reason = backends.select(cfg.trainer, cfg.model)
    assert name == "hf" and "no CUDA GPU" in reason
    assert backends.select(compose_cfg("trainer.backend=unsloth").trainer)[0] == "unsloth"


def test_preimport_on_cpu_imports_neither_unsloth_nor_transformers(tmp_path):
    code = (
        "import sys\n"
        "from omegaconf import OmegaConf\n"
        "from dnd_ft.training.backends import preimport\n"
        "name = preimport(OmegaConf.create({'backend': 'auto'}))\n"
        "print(name, 'unsloth' in sys.modules, 'transformers' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["hf", "False", "False"]


def test_auto_backend_on_a_cuda_machine(compose_cfg, monkeypatch):
    """What auto picks where there is a GPU (this box has none: the probe is replaced)."""
    import importlib.util

    monkeypatch.setattr(backends, "_cuda_available", lambda: True)
    real_find_spec = importlib.util.find_spec
    installed = {"unsloth": False}

    def find_spec(name, *args):
        if name == "unsloth":
            return object() if installed["unsloth"] else None
        return real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    cfg = compose_cfg("trainer=lora", "model=qwen3_0_6b")
    assert backends.select(cfg.trainer, cfg.model) == (
        "hf",
        "auto: unsloth is not installed (pip install 'dnd-ft[cuda]' to use it)",
    )
    installed["unsloth"] = True
    assert backends.select(cfg.trainer, cfg.model)[0] == "unsloth"
    gguf = compose_cfg("trainer=lora", "model=smollm2_135m")
    assert backends.select(gguf.trainer, gguf.model)[0] == "hf"  # unsloth cannot read GGUF


def test_loss_weights_are_checked_and_keep_auto_on_the_hf_loss(compose_cfg, monkeypatch):
    cfg = compose_cfg("trainer.loss_weights.call=0")
    assert any(p.startswith("trainer.loss_weights.call: must be > 0") for p in _problems(cfg, CPU))
    off = compose_cfg("trainer.loss_weights.call=2", "trainer.target_logits_only=false")
    assert any("set trainer.target_logits_only=true" in p for p in _problems(off, CPU))
    explicit = compose_cfg("trainer.loss_weights.decision=2", "trainer.backend=unsloth")
    assert any("Unsloth computes its own fused loss" in p for p in _problems(explicit, A100))
    monkeypatch.setattr(backends, "_cuda_available", lambda: True)
    auto = compose_cfg("trainer=lora", "trainer.loss_weights.call=2")
    name, reason = backends.select(auto.trainer, auto.model)
    assert name == "hf" and "loss_weights" in reason
