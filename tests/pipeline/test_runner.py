"""The run folder: resolved config, manifest, metrics and status, whatever the stages do."""

from __future__ import annotations

import json

import pytest
import yaml

from dnd_ft.core.metrics import Metrics
from dnd_ft.errors import ConfigError, StageError
from dnd_ft.pipeline import runner, stages


def test_run_folder_has_config_manifest_metrics_status(compose_cfg, tmp_path):
    cfg = compose_cfg("stages=[]", "seed=7")
    metrics = runner.run_pipeline(cfg)
    run = tmp_path / "run"
    resolved = yaml.safe_load((run / "config.yaml").read_text())
    assert resolved["seed"] == 7 and resolved["trainer"]["seed"] == 7  # interpolations resolved
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["seed"] == 7
    assert manifest["packages"]["torch"].startswith("2.")
    assert manifest["hardware"]["accelerator"] in {"cpu", "cuda", "mps"}
    assert len(manifest["tool_registry"]["sha256"]) == 64
    assert manifest["scenario_corpus"]["files"] > 0
    assert set(manifest["git"]) == {"commit", "dirty"}
    assert json.loads((run / "status.json").read_text())["status"] == "ok"
    assert metrics.values == {}


def test_manifest_hashes_change_with_the_tools(compose_cfg, tmp_path):
    from dnd_ft.pipeline.manifest import tools_hash

    cfg = compose_cfg()
    before = tools_hash(cfg.tools)
    cfg.tools.specs[0].description = "changed"
    assert tools_hash(cfg.tools) != before


def _broken_stage(ctx):
    ctx.metrics.update({"data/partial": 1})
    raise StageError("scenarios/x.md:3: broken on purpose")


def test_failed_stage_marks_the_run_failed(compose_cfg, tmp_path, monkeypatch):
    monkeypatch.setitem(
        stages.STAGES, "data", stages.Stage(f"{__name__}:_broken_stage", ("data/",))
    )
    cfg = compose_cfg("stages=[data]")
    with pytest.raises(StageError, match="broken on purpose"):
        runner.run_pipeline(cfg)
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["status"] == "failed" and status["stage"] == "data"
    assert "broken on purpose" in status["error"]
    # what the stage measured before failing is kept
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == {"data/partial": 1}


def test_invalid_config_stops_before_anything_runs(compose_cfg, tmp_path):
    cfg = compose_cfg("data.split.test=0.5")
    with pytest.raises(ConfigError, match="data.split"):
        runner.run_pipeline(cfg)
    assert not (tmp_path / "run" / "manifest.json").exists()


def test_stages_run_in_pipeline_order():
    assert stages.ordered(["eval", "data", "train"]) == ["data", "train", "eval"]


def test_metrics_are_flat_persistent_and_json_safe(tmp_path):
    path = tmp_path / "metrics.json"
    m = Metrics(path)
    m.update({"loss_first": 3.5, "bad": float("nan")}, prefix="train/")
    assert Metrics(path).values == {"train/loss_first": 3.5, "train/bad": None}
    m.update({"eval/x": 1})
    assert json.loads(path.read_text())["eval/x"] == 1


def test_run_files_follow_the_umask(tmp_path):
    import stat
    import subprocess
    import sys

    run = tmp_path / "run"
    cmd = f"umask 002; exec {sys.executable} -m dnd_ft stages=[data] hydra.run.dir={run}"
    proc = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ("status.json", "config.yaml", "manifest.json", "metrics.json",
                 ".hydra/overrides.yaml", "data/train.jsonl", "data/report.md"):  # fmt: skip
        assert stat.S_IMODE((run / name).stat().st_mode) == 0o664, name
    assert stat.S_IMODE((run / "data").stat().st_mode) == 0o775
