"""The train stage through the real CLI: tiny Qwen3 and Gemma3, artifacts, W&B, failures."""

from __future__ import annotations

import json

import pytest

from dnd_ft.tracking.offline import read_offline_run
from dnd_ft.training import checkpoints

from .train_helpers import SMOKE_ARGS, read_metrics, reload_and_generate, run_cli

PNG = b"\x89PNG\r\n\x1a\n"


def _assert_trained(run_dir):
    assert json.loads((run_dir / "status.json").read_text())["status"] == "ok"
    m = read_metrics(run_dir)
    for key in (
        "train/loss_first",
        "train/loss_last",
        "train/tokens_per_second",
        "train/steps",
        "train/peak_memory_mb",
        "train/seconds",
        "train/eval_loss",
        "train/packing_efficiency",
    ):
        assert key in m, key
    assert m["train/steps"] == 8
    assert m["train/loss_last"] < m["train/loss_first"] - 0.1  # ln(vocab) at the start
    assert m["train/tokens_per_second"] > 0 and m["train/peak_memory_mb"] > 0
    assert (run_dir / "train" / "loss_curve.png").read_bytes()[:8] == PNG
    history = json.loads((run_dir / "train" / "history.json").read_text())
    assert [r["step"] for r in history if "loss" in r] == list(range(1, 9))
    kept = checkpoints.list_checkpoints(run_dir / "train" / "checkpoints")
    assert [p.name for p in kept] == ["checkpoint-4", "checkpoint-8"]
    assert all(checkpoints.is_complete(p) for p in kept)
    return m


def _assert_adapter_works(model_name, adapter_dir):
    import torch

    assert (adapter_dir / "adapter_config.json").is_file()
    assert (adapter_dir / "tokenizer_config.json").is_file()
    _, base, adapted, generated = reload_and_generate(model_name, adapter_dir)
    assert not torch.allclose(base, adapted)  # the trained adapter changes the model
    assert len(generated) > 0


def test_tiny_qwen3_smoke_run_trains_and_writes_everything(qwen_smoke_run):
    _assert_trained(qwen_smoke_run)
    summary = json.loads((qwen_smoke_run / "train" / "summary.json").read_text())
    assert summary["backend"] == "hf" and summary["precision"] == "fp32"


def test_tiny_qwen3_adapter_reloads_with_peft_and_generates(qwen_smoke_run):
    _assert_adapter_works("tiny_qwen3", qwen_smoke_run / "adapter")


def test_wandb_offline_run_holds_the_training_metrics(qwen_smoke_run):
    run = read_offline_run(qwen_smoke_run)
    metrics = read_metrics(qwen_smoke_run)
    history = json.loads((qwen_smoke_run / "train" / "history.json").read_text())
    assert run.run["name"] == "tiny_qwen3" and run.run["group"] == "qwen"
    assert run.run["job_type"] == "train" and run.exit_code == 0
    assert run.series("train/loss") == pytest.approx([r["loss"] for r in history if "loss" in r])
    assert run.series("train/eval_loss") == pytest.approx(
        [r["eval_loss"] for r in history if "eval_loss" in r]
    )
    assert run.summary["train/loss_last"] == pytest.approx(metrics["train/loss_last"])
    assert run.summary["train/eval_loss"] == pytest.approx(metrics["train/eval_loss"])
    assert run.summary["status"] == "ok"
    assert run.config["trainer"]["max_steps"] == 8 and run.config["model"]["name"] == "tiny_qwen3"
    assert any(f.startswith("media/images/train/loss_curve") for f in run.files)
    assert "data/report.json" in run.files
    assert run.summary["data_report/splits/train/examples"] == metrics["data/examples/train"]


def test_tiny_gemma3_smoke_run_trains_and_its_adapter_generates(tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli(*SMOKE_ARGS, "model=tiny_gemma3", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _assert_trained(run_dir)
    _assert_adapter_works("tiny_gemma3", run_dir / "adapter")


def test_divergence_stops_with_a_diagnosis(tmp_path):
    """learning_rate=1e30 blows the weights up after the first update: a real NaN/inf."""
    run_dir = tmp_path / "run"
    proc = run_cli(
        *SMOKE_ARGS,
        "model=tiny_qwen3",
        "trainer.learning_rate=1e30",
        f"hydra.run.dir={run_dir}",
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert "training diverged: " in proc.stderr and "lower trainer.learning_rate" in proc.stderr
    assert "trainer.precision=fp32" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "failed" and status["stage"] == "train"
    assert "NonFiniteLoss" in status["traceback"]  # the cause, kept for the post-mortem
    assert checkpoints.latest_complete(run_dir / "train" / "checkpoints") is None
    assert not (run_dir / "adapter").exists()


def test_training_without_data_says_to_run_the_data_stage(tmp_path):
    proc = run_cli("debug=smoke", "stages=[train]", f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert proc.returncode == 1
    assert "run the data stage first (stages=[data,train])" in proc.stderr
