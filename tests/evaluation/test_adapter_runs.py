"""Evaluating an adapter from another run: the README's command works as written, and an
adapter of another model (or chat format) is refused by name before anything loads."""

from __future__ import annotations

import json

import pytest

from dnd_ft.errors import ConfigError
from dnd_ft.pipeline.config import validate
from tests.training.train_helpers import run_cli


def test_an_adapter_of_another_model_is_refused_by_name(qwen_smoke_run, compose_cfg):
    adapter = qwen_smoke_run / "adapter"
    cfg = compose_cfg("model=tiny_gemma3", "stages=[eval]", f"eval.adapter_dir={adapter}")
    with pytest.raises(ConfigError) as info:
        validate(cfg)
    (problem,) = info.value.problems
    assert problem.startswith(
        f"eval.adapter_dir: {adapter} was trained for model name=tiny_qwen3, chat_format=hermes, "
        "but this run's model is name=tiny_gemma3, chat_format=functiongemma; set model=tiny_qwen3"
    )
    cfg = compose_cfg("model=tiny_qwen3", "stages=[export]", f"export.adapter_dir={adapter}")
    validate(cfg)  # the right model: accepted
    bad = compose_cfg("model=tiny_gemma3", "stages=[export]", f"export.adapter_dir={adapter}")
    with pytest.raises(ConfigError, match="export.adapter_dir: .* was trained for model"):
        validate(bad)


def test_the_readme_eval_command_evaluates_an_earlier_runs_adapter(qwen_smoke_run, tmp_path):
    # README: python -m dnd_ft stages=[eval] eval.adapter_dir=outputs/train/runs/<run>/adapter
    run = tmp_path / "eval_run"
    proc = run_cli(
        "stages=[eval]", f"eval.adapter_dir={qwen_smoke_run}/adapter", "eval.max_examples=1",
        "eval.max_new_tokens=16", f"hydra.run.dir={run}", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((run / "eval" / "report.json").read_text())
    assert report["adapter_dir"] == str(qwen_smoke_run / "adapter")
    assert set(report["models"]) == {"fine-tuned", "baseline"}
    # the held-out split of the run that trained the adapter, not a new one
    assert (
        "the held-out split of the run that trained the adapter" in (run / "dnd_ft.log").read_text()
    )
    assert not (run / "data").exists()
