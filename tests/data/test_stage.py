"""The data stage end to end, on the real composed config and the fixture corpus."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from omegaconf import DictConfig, OmegaConf

from dnd_ft.chat.formats import get_format, load_format
from dnd_ft.core.context import RunContext
from dnd_ft.core.metrics import Metrics
from dnd_ft.data.config import DataConfig
from dnd_ft.data.rows import load_split
from dnd_ft.data.stage import build_datasets, run
from dnd_ft.errors import StageError
from dnd_ft.tools import ToolRegistry
from tests.data.conftest import SCENARIOS

SPLITS = ("train", "val", "test")


def run_stage(cfg: DictConfig) -> RunContext:
    run_dir = Path(cfg.paths.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ctx = RunContext(cfg=cfg, run_dir=run_dir, metrics=Metrics(run_dir / "metrics.json"))
    run(ctx)
    return ctx


@pytest.fixture
def data_cfg(compose_cfg: Callable[..., DictConfig]) -> Callable[..., DictConfig]:
    return lambda *extra: compose_cfg(
        "stages=[data]", "model=tiny_qwen3", f"data.scenario_dirs=[{SCENARIOS}]", *extra
    )


def test_stage_writes_loadable_leak_free_splits(data_cfg: Callable[..., DictConfig]) -> None:
    from datasets import load_dataset, load_from_disk

    ctx = run_stage(data_cfg())
    out = ctx.artifacts["data_dir"]
    assert out == ctx.run_dir / "data"
    assert sorted(p.name for p in out.iterdir()) == [
        "format.json", "hf", "report.json", "report.md", "test.jsonl", "train.jsonl",
        "val.jsonl"]  # fmt: skip
    files = {s: str(out / f"{s}.jsonl") for s in SPLITS}
    ds = load_dataset("json", data_files=files, cache_dir=str(ctx.run_dir / "hf-cache"))
    assert sum(ds[s].num_rows for s in SPLITS) == 6  # one row per flow
    saved = load_from_disk(str(out / "hf"))  # the same rows, ready for push_to_hub
    assert {s: saved[s].num_rows for s in SPLITS} == {s: ds[s].num_rows for s in SPLITS}
    assert saved["train"][0]["text"] == ds["train"][0]["text"]
    rows = {s: load_split(out, s) for s in SPLITS}
    owners = {r["scenario_id"]: s for s in SPLITS for r in rows[s]}
    assert all(owners[r["scenario_id"]] == s for s in SPLITS for r in rows[s])  # leak-free
    assert all(rows[s] for s in SPLITS)  # five scenarios fill all three splits
    fmt = load_format(out)
    assert fmt.options == {"speaker_names": True, "think": True}  # Qwen3: empty think block
    for row in rows["train"] + rows["val"] + rows["test"]:
        assert row["split"] in SPLITS and row["augmented"] is False and row["num_tokens"] > 0
        assert fmt.render(row["messages"], row["tools"]).text == row["text"]
        assert all(0 <= s < e <= len(row["text"]) for s, e in row["spans"])
        for m in row["messages"]:
            assert all(
                isinstance(c["function"]["arguments"], dict) for c in m.get("tool_calls", [])
            )
    metrics = ctx.metrics.values
    assert metrics["data/scenarios"] == 5 and metrics["data/augmented"] == 0
    assert sum(metrics[f"data/examples/{s}"] for s in SPLITS) == 6
    assert metrics["data/tokens/train"] == sum(r["num_tokens"] for r in rows["train"])
    report = json.loads((out / "report.json").read_text())
    assert report["splits"]["train"]["examples"] == metrics["data/examples/train"]
    assert "| split | examples |" in (out / "report.md").read_text()


def test_augmented_rows_go_to_train_only(data_cfg: Callable[..., DictConfig]) -> None:
    ctx = run_stage(data_cfg("data=augmented"))
    out = ctx.artifacts["data_dir"]
    train = load_split(out, "train")
    augmented = [r for r in train if r["augmented"]]
    assert augmented and all("~" in r["id"] and r["augmentation"] for r in augmented)
    assert not any(r["augmented"] for s in ("val", "test") for r in load_split(out, s))
    assert ctx.metrics.values["data/augmented"] == len(augmented)


def test_scenario_problems_fail_the_stage_with_file_and_line(
    data_cfg: Callable[..., DictConfig], tmp_path: Path
) -> None:
    bad = tmp_path / "corpus" / "bad.md"
    bad.parent.mkdir()
    bad.write_text("---\nid: bad\ncategory: combat\n---\n\n## Conversation: X\n\n### DM\nHello.\n")
    with pytest.raises(StageError, match=r"scenario problem\(s\).*\n  .*bad\.md:\d+: "):
        run_stage(data_cfg(f"data.scenario_dirs=[{bad.parent}]"))


def test_an_empty_corpus_fails_the_stage(
    data_cfg: Callable[..., DictConfig], tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(StageError, match=r"scenario problem\(s\).*\n  .*empty:0: "):
        run_stage(data_cfg(f"data.scenario_dirs=[{tmp_path / 'empty'}]"))
    with pytest.raises(StageError, match="no scenarios found in data.scenario_dirs=\\[\\]"):
        build_datasets([], OmegaConf.structured(DataConfig(seed=1, max_length=9)), ToolRegistry.default(),
                       get_format("gemma3"))  # fmt: skip


def test_build_datasets_reports_and_drops_overlength(tiny_tokenizer: Any) -> None:
    cfg = OmegaConf.structured(DataConfig(max_length=50, drop_overlength=True, seed=1))  # type: ignore[arg-type]
    build = build_datasets(
        [SCENARIOS], cfg, ToolRegistry.default(), get_format("functiongemma"), tiny_tokenizer
    )
    assert all(rows == [] for rows in build.splits.values())
    assert len(build.report["overlength"]) == 6
    assert build.report["overlength"][0]["detail"].endswith("> max_length 50; dropped")
    assert build.format["chat_format"] == "functiongemma"
