"""A multirun outlives its failing jobs: each is recorded, the rest run, the exit code says."""

from __future__ import annotations

import json

from dnd_ft.pipeline.multirun import SUMMARY_FILE
from tests.training.train_helpers import run_cli


def test_a_failing_job_is_recorded_and_the_multirun_goes_on(tmp_path):
    # Offline with an empty hub cache, the hub model's job cannot get its tokenizer.
    sweep = tmp_path / "sweep"
    proc = run_cli(
        "-m", "model=qwen3_0_6b,tiny_gemma3", "debug=smoke", "eval.max_examples=1",
        f"hydra.sweep.dir={sweep}", cwd=tmp_path, timeout=600,
        env={"HF_HOME": str(tmp_path / "hf"), "HF_HUB_CACHE": str(tmp_path / "hf" / "hub")},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-3000:]
    failed = json.loads((sweep / "0_qwen3_0_6b" / "status.json").read_text())
    assert failed["status"] == "failed" and failed["stage"] == "data"
    assert "Qwen/Qwen3-0.6B" in failed["error"] and "hf download" in failed["error"]
    assert (
        not (sweep / "0_qwen3_0_6b" / "metrics.json").exists()
        or json.loads((sweep / "0_qwen3_0_6b" / "metrics.json").read_text()) == {}
    )
    ok = json.loads((sweep / "1_tiny_gemma3" / "status.json").read_text())
    assert ok["status"] == "ok" and ok["completed"] == ["data", "train", "eval"]
    assert "eval/tool_name_f1" in json.loads((sweep / "1_tiny_gemma3" / "metrics.json").read_text())
    summary = json.loads((sweep / SUMMARY_FILE).read_text())
    assert summary["cpu_seconds"] > 0 and summary["wall_seconds"] > 0
    assert [(j["job"], j["status"]) for j in summary["jobs"]] == [
        ("0_qwen3_0_6b", "failed"),
        ("1_tiny_gemma3", "ok"),
    ]
    assert "multirun: 2 job(s), 1 ok, 1 not ok in " in proc.stderr and " min CPU (" in proc.stderr
    assert "0_qwen3_0_6b: failed in stage data: " in proc.stderr
    assert "Traceback" not in proc.stderr
    # each job records its own combination and the command as typed
    manifest = json.loads((sweep / "1_tiny_gemma3" / "manifest.json").read_text())
    assert "model=tiny_gemma3" in manifest["overrides"]
    assert "model=qwen3_0_6b,tiny_gemma3" not in manifest["overrides"]
    assert " -m dnd_ft -m model=qwen3_0_6b,tiny_gemma3 " in manifest["command"]
