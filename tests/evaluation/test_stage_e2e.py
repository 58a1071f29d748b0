"""The whole pipeline on the tiny model: data, train, eval, then the leaderboard of the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADLINE = ("tool_name_f1", "tool_args_exact", "irrelevance_acc", "malformed_rate", "rouge_l",
            "context_entity_recall", "exec_rate", "chrf", "in_character_rate", "grounded_args_rate")  # fmt: skip


@pytest.mark.slow
def test_smoke_run_evaluates_model_and_baseline_and_renders_leaderboard(tmp_path):
    run_dir = tmp_path / "run"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline", "OMP_NUM_THREADS": "2"}
    cmd = [sys.executable, "-m", "dnd_ft", "model=tiny_qwen3", "debug=smoke",
           "eval.max_examples=2", "eval.max_new_tokens=16",  # keep the CPU run to minutes
           f"paths.output_dir={tmp_path}", f"hydra.run.dir={run_dir}"]  # fmt: skip
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stderr[-3000:]

    metrics = json.loads((run_dir / "metrics.json").read_text())
    for prefix in ("eval/", "baseline/eval/"):
        for key in HEADLINE:
            assert f"{prefix}{key}" in metrics, f"{prefix}{key} missing"
        assert metrics[f"{prefix}n_examples"] == 2
    report = json.loads((run_dir / "eval" / "report.json").read_text())
    assert set(report["models"]) == {"fine-tuned", "baseline"}
    assert report["adapter_dir"] == str(run_dir / "adapter")
    records = [
        json.loads(line)
        for line in (run_dir / "eval" / "predictions.jsonl").read_text().splitlines()
    ]
    assert records and all("gold" in r and "score" in r for r in records)
    assert (run_dir / "eval" / "predictions_baseline.jsonl").is_file()
    assert (run_dir / "eval" / "report.md").read_text().startswith("# Evaluation: tiny_qwen3")

    board = subprocess.run([sys.executable, "-m", "dnd_ft.report", str(tmp_path)], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert board.returncode == 0, board.stderr
    md = (tmp_path / "leaderboard" / "leaderboard.md").read_text()
    assert (
        "| tiny_qwen3 | qwen | tiny | fine-tuned |" in md
        and "| tiny_qwen3 | qwen | tiny | baseline |" in md
    )
    assert (tmp_path / "leaderboard" / "leaderboard.html").stat().st_size > 1000
