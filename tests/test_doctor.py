"""The doctor reads the same config as a run and says what blocks it, with the fix."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

from dnd_ft.doctor import diagnose
from dnd_ft.utils.hardware import detect


def _fails(findings):
    return [f for f in findings if f.level == "fail"]


def test_offline_default_is_ready_here(compose_cfg):
    assert _fails(diagnose(compose_cfg())) == []


def test_qlora_on_cpu_fails_with_a_fix(compose_cfg):
    cpu = dataclasses.replace(detect(), accelerator="cpu", bf16=False)
    fails = _fails(diagnose(compose_cfg("trainer=qlora"), cpu))
    assert any("qlora" in f.what and "trainer=lora" in f.fix for f in fails)
    assert len({f.what for f in fails}) == len(fails)  # each problem reported once


def test_unsloth_needs_cuda(compose_cfg):
    cpu = dataclasses.replace(detect(), accelerator="cpu")
    fails = _fails(diagnose(compose_cfg("trainer.backend=unsloth"), cpu))
    assert any(
        "unsloth runs only on CUDA GPUs" in f.what and "trainer.backend=hf" in f.fix for f in fails
    )


def test_uncached_hub_model_offline_fails(compose_cfg, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    fails = _fails(diagnose(compose_cfg("model=qwen3_0_6b")))
    assert any("Qwen/Qwen3-0.6B" in f.what and "model=tiny_qwen3" in f.fix for f in fails)


def test_exit_code_follows_findings():
    ok = subprocess.run([sys.executable, "-m", "dnd_ft.doctor"], capture_output=True, text=True)
    bad = subprocess.run(
        [sys.executable, "-m", "dnd_ft.doctor", "trainer=qlora"], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stdout
    assert bad.returncode == 1 and "qlora" in bad.stdout
