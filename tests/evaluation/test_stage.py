"""The eval stage in-process on the tiny model: metrics, files, baseline, adapter, fallbacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, open_dict

from dnd_ft.config.store import CONFIG_DIR
from dnd_ft.core.context import RunContext
from dnd_ft.core.metrics import Metrics
from dnd_ft.errors import StageError
from dnd_ft.evaluation import stage
from dnd_ft.pipeline.config import register_configs

FAST = [
    "model=tiny_qwen3",
    "debug=smoke",
    "eval.max_examples=1",
    "eval.max_new_tokens=4",
    "eval.batch_size=8",
]


def _cfg(run_dir: Path, *overrides: str) -> DictConfig:
    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose("train", overrides=[*FAST, *overrides])
    finally:
        GlobalHydra.instance().clear()
    with open_dict(cfg):
        cfg.paths.run_dir = str(run_dir)
    return cfg


def _ctx(cfg: DictConfig, tracker=None) -> RunContext:
    run_dir = Path(cfg.paths.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    return RunContext(
        cfg=cfg, run_dir=run_dir, metrics=Metrics(run_dir / "metrics.json"), tracker=tracker
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """The real data stage's output for the tiny Qwen3 (built once for this module)."""
    from dnd_ft.data.stage import run as data_run

    ctx = _ctx(_cfg(tmp_path_factory.mktemp("data_run")))
    data_run(ctx)
    return Path(ctx.artifacts.get("data_dir") or ctx.run_dir / "data")


class _Tracker:
    def __init__(self):
        self.tables = {}

    def log_table(self, key, columns, rows):
        self.tables[key] = (columns, rows)


def test_base_model_only(tmp_path, data_dir):
    tracker = _Tracker()
    ctx = _ctx(_cfg(tmp_path / "run"), tracker)
    ctx.artifacts["data_dir"] = data_dir
    stage.run(ctx)
    m = ctx.metrics.values
    for key in ("tool_name_f1", "tool_args_exact", "irrelevance_acc", "malformed_rate", "rouge_l",
                "context_entity_recall", "tool_name_precision", "tool_name_recall", "hallucination_rate",
                "exec_rate", "state_match_rate", "chrf", "in_character_rate", "grounded_args_rate"):  # fmt: skip
        assert f"eval/{key}" in m and f"baseline/eval/{key}" in m, key
        assert m[f"eval/{key}"] == m[f"baseline/eval/{key}"]  # no adapter: the same model
    assert m["eval/n_examples"] == 1
    out = ctx.run_dir / "eval"
    records = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(records) == m["eval/n_turns"] and all(r["new_tokens"] <= 4 for r in records)
    assert (out / "predictions_baseline.jsonl").read_text() == (
        out / "predictions.jsonl"
    ).read_text()
    report = json.loads((out / "report.json").read_text())
    assert report["adapter_dir"] is None and report["split"] == "test"
    assert "| tool_name_f1 |" in (out / "report.md").read_text()
    assert set(tracker.tables) == {"eval/metrics_table", "eval/tools_table"}


def test_adapter_and_same_weights_baseline(tmp_path, data_dir):
    from peft import LoraConfig, get_peft_model

    from dnd_ft.models import load_model

    cfg = _cfg(tmp_path / "run", "eval.baseline=true")
    base = load_model(cfg.model, cfg.paths.cache_dir)
    peft = get_peft_model(
        base, LoraConfig(r=2, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    peft.save_pretrained(str(tmp_path / "adapter"))
    with open_dict(cfg):
        cfg.eval.adapter_dir = str(tmp_path / "adapter")
    ctx = _ctx(cfg)
    ctx.artifacts["data_dir"] = data_dir
    stage.run(ctx)
    out = ctx.run_dir / "eval"
    tuned = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    base_records = [
        json.loads(x) for x in (out / "predictions_baseline.jsonl").read_text().splitlines()
    ]
    assert [r["turn"] for r in tuned] == [r["turn"] for r in base_records]
    assert json.loads((out / "report.json").read_text())["adapter_dir"] == str(tmp_path / "adapter")
    assert "baseline/eval/rouge_l" in ctx.metrics.values


def test_empty_split_falls_back_to_val(tmp_path, data_dir):
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    (copy / "test.jsonl").write_text("")
    rows, split = stage.load_rows(copy, "test", "val", 2)
    assert split == "val" and len(rows) == 2
    with pytest.raises(StageError, match="split 'test' .* has no examples"):
        stage.load_rows(copy, "test", None, None)


def test_missing_data_and_bad_adapter(tmp_path):
    with pytest.raises(StageError, match="no dataset at .*run the data stage first"):
        stage.load_rows(tmp_path / "nowhere", "test", "val", None)
    (tmp_path / "not_an_adapter").mkdir()
    ctx = _ctx(_cfg(tmp_path / "run", f"eval.adapter_dir={tmp_path / 'not_an_adapter'}"))
    with pytest.raises(StageError, match="has no adapter_config.json"):
        stage.resolve_adapter(ctx)


def test_judge_runs_when_enabled(tmp_path, data_dir):
    cfg = _cfg(tmp_path / "run", "eval.baseline=false", "eval.judge.enabled=true", "eval.judge.max_turns=2",
               "eval.judge.max_new_tokens=2")  # fmt: skip
    ctx = _ctx(cfg)
    ctx.artifacts["data_dir"] = data_dir
    stage.run(ctx)
    m = ctx.metrics.values
    assert m["eval/n_judged"] == 2 and "eval/judge_score" in m and "eval/judge_parse_rate" in m
    assert not any(k.startswith("baseline/") for k in m)
    assert set(json.loads((ctx.run_dir / "eval" / "report.json").read_text())["models"]) == {
        "fine-tuned"
    }
