"""Kill a training run with SIGKILL after its first complete checkpoint; rerunning in the same
run folder resumes and ends exactly where an uninterrupted run ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from dnd_ft.training import checkpoints

from .train_helpers import SMOKE_ARGS, adapter_tensors, read_metrics, run_cli


def _start(run_dir, cwd, *extra):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline"}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dnd_ft",
            *SMOKE_ARGS,
            "model=tiny_qwen3",
            f"hydra.run.dir={run_dir}",
            *extra,
        ],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill reaches every child
    )


def _wait_for_checkpoint(proc, run_dir, step=4):
    marker = run_dir / "train" / "checkpoints" / f"checkpoint-{step}" / checkpoints.MARKER
    deadline = time.monotonic() + 240
    while not marker.exists():
        assert proc.poll() is None, "the run ended before its first checkpoint"
        assert time.monotonic() < deadline, "no complete checkpoint within 240 s"
        time.sleep(0.05)


def test_resume_after_sigkill_matches_an_uninterrupted_run(qwen_smoke_run, tmp_path):
    import torch

    run_dir = tmp_path / "run"
    proc = _start(run_dir, tmp_path)
    try:
        _wait_for_checkpoint(proc, run_dir)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (run_dir / "adapter").exists()  # it really died mid-training

    resumed = run_cli(*SMOKE_ARGS, "model=tiny_qwen3", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads((run_dir / "train" / "summary.json").read_text())
    assert summary["resumed_from"].endswith("checkpoint-4")

    ref, got = read_metrics(qwen_smoke_run), read_metrics(run_dir)
    assert got["train/steps"] == ref["train/steps"] == 8
    assert got["train/loss_first"] == pytest.approx(ref["train/loss_first"], rel=1e-6)
    assert got["train/loss_last"] == pytest.approx(ref["train/loss_last"], rel=1e-5)
    assert got["train/eval_loss"] == pytest.approx(ref["train/eval_loss"], rel=1e-5)
    a, b = adapter_tensors(qwen_smoke_run / "adapter"), adapter_tensors(run_dir / "adapter")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6), key


def test_sigterm_leaves_an_interrupted_run_that_resumes(tmp_path):
    from dnd_ft.tracking.offline import read_offline_run

    run_dir = tmp_path / "run"
    proc = _start(run_dir, tmp_path, "tracking=wandb")
    try:
        _wait_for_checkpoint(proc, run_dir)
        proc.send_signal(signal.SIGTERM)  # what `kill`, Slurm and Kubernetes send first
        assert proc.wait(timeout=120) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "interrupted" and status["signal"] == "SIGTERM"
    assert status["stage"] == "train" and status["completed"] == ["data"]
    run = read_offline_run(run_dir)  # the W&B run was finished: its file is complete
    assert run.summary["status"] == "interrupted" and run.exit_code == 130
    assert not (run_dir / "adapter").exists()

    resumed = run_cli(*SMOKE_ARGS, "model=tiny_qwen3", f"hydra.run.dir={run_dir}",
                      "trainer.resume=auto", cwd=tmp_path)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads((run_dir / "train" / "summary.json").read_text())
    assert summary["resumed_from"].endswith("checkpoint-4") and summary["train/steps"] == 8
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "ok" and status["attempt"] == 2
    assert status["previous"][-1]["status"] == "interrupted"
    assert (run_dir / "adapter" / "adapter_config.json").is_file()


def test_a_refused_resume_changes_nothing_in_the_run_folder(qwen_smoke_run, tmp_path):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(qwen_smoke_run, run_dir)
    watched = ["config.yaml", "manifest.json", ".hydra/overrides.yaml", ".hydra/config.yaml",
               "status.json", "metrics.json", "data/train.jsonl", "train/summary.json"]  # fmt: skip
    before = {name: (run_dir / name).read_bytes() for name in watched}
    stamps = {name: (run_dir / name).stat().st_mtime_ns for name in watched}

    proc = run_cli(*SMOKE_ARGS, "model=tiny_qwen3", "trainer.method=full",
                   f"hydra.run.dir={run_dir}", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 1
    assert (
        "trainer.resume:" in proc.stderr
        and "method: checkpoint 'lora', config 'full'" in proc.stderr
    )
    for name in watched:
        assert (run_dir / name).read_bytes() == before[name], name
        assert (run_dir / name).stat().st_mtime_ns == stamps[name], name
