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


def test_disk_estimate_grows_with_what_the_run_keeps(compose_cfg):
    from dnd_ft.doctor import estimated_output_bytes

    tiny = estimated_output_bytes(compose_cfg("stages=[data,train,eval]"))
    lora = estimated_output_bytes(compose_cfg("model=qwen3_1_7b", "trainer=lora"))
    full = estimated_output_bytes(compose_cfg("model=qwen3_1_7b", "trainer=full"))
    with_export = estimated_output_bytes(
        compose_cfg("model=qwen3_1_7b", "trainer=lora", "stages=[data,train,eval,export]")
    )
    assert tiny < lora < full
    assert with_export - lora >= 1.7e9 * 2  # the merged weights, 16 bits or more
    assert full > 1.7e9 * 4 * 3 * 2  # fp32 weights and two Adam moments, per kept checkpoint


def test_doctor_warns_when_the_disk_is_smaller_than_the_run(compose_cfg, monkeypatch):
    from dnd_ft import doctor
    from dnd_ft.utils import disk

    cfg = compose_cfg("model=qwen3_1_7b", "trainer=full")
    (finding,) = doctor.check_disk(cfg)
    monkeypatch.setattr(disk, "free_bytes", lambda path: 100 * 2**20)  # a 100 MB disk
    (small,) = doctor.check_disk(cfg)
    assert small.level == "warn" and "0.1 GB free" in small.what
    assert "paths.output_dir=" in small.fix
    assert finding.what.startswith("disk: ") and "GB estimated" in finding.what
