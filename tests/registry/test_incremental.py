"""Two (and three) generations of one model line, through the real CLI on the tiny Qwen3.

v1 trains on the corpus; v2 continues v1 on two new scenarios that use a new tool
(cast_spell, configs/tools/spellcasting.yaml) with a replay of v1's rows; v3 trains a fresh
adapter on top of v2 merged (new_adapter) and is exported from the registry. Each is
registered; the tests read the lineage, the forgetting report and the per-tool scores.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dnd_ft.errors import ConfigError
from dnd_ft.registry.cli import main as registry_cli
from dnd_ft.registry.store import Registry
from tests.training.train_helpers import REPO_ROOT, run_cli

NEW = REPO_ROOT / "tests" / "fixtures" / "scenarios" / "spellcasting"
FAST = ("debug=smoke", "stages=[data,train,eval,register]", "eval.max_examples=2",
        "eval.max_new_tokens=16", "eval.baseline=false")  # fmt: skip
# the two new scenarios: one to train on, one held out
NEW_DATA = (f"data.scenario_dirs=[{NEW}]", "tools=spellcasting", "data.split.train=0.5",
            "data.split.val=0", "data.split.test=0.5")  # fmt: skip


@pytest.fixture(scope="module")
def lineage(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("incremental")
    outputs = root / "outputs"

    def generation(name: str, *extra: str) -> Path:
        run = root / name
        proc = run_cli(*FAST, f"paths.output_dir={outputs}", f"hydra.run.dir={run}", *extra,
                       cwd=root, timeout=600)  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-4000:]
        return run

    runs = {
        "v1": generation("run1"),
        "v2": generation("run2", "trainer.init_from=v1", *NEW_DATA, "tracking=wandb"),
        "v3": generation(
            "run3",
            "trainer.init_from=latest",
            "trainer.init_mode=new_adapter",
            "trainer.lora.r=4",
            *NEW_DATA,
        ),  # fmt: skip
    }
    return {"root": root, "registry": Registry(outputs / "registry"), "runs": runs}


def test_versions_record_full_lineage(lineage: dict) -> None:
    reg: Registry = lineage["registry"]
    v1, v2, v3 = reg.versions("tiny_qwen3")
    assert reg.aliases("tiny_qwen3")["latest"] == "v3"
    assert v1.record["parent"] is None
    assert v2.record["parent"] == {"ref": "tiny_qwen3:v1", "mode": "continue", "version": "v1",
                                   "line": "tiny_qwen3"}  # fmt: skip
    assert v3.record["parent"]["ref"] == "tiny_qwen3:v2"
    assert v3.record["parent"]["mode"] == "new_adapter"
    for v in (v1, v2, v3):
        r = v.record
        assert r["base_model"]["name"] == "tiny_qwen3" and r["chat_format"] == "hermes"
        assert len(r["data"]["sha256"]) == 64 and r["seed"] == 42
        assert r["code"]["commit"] and r["tools"]["sha256"]
        assert reg.verify(v) == []  # every recorded file present, hashes equal
    # the new data: new scenarios, a new tool, v1's rows replayed
    new = sorted(p.stem for p in NEW.glob("*.md"))
    assert (
        sorted(v2.record["data"]["scenarios"]["train"] + v2.record["data"]["scenarios"]["test"])
        == new
    )
    assert v2.record["data"]["replayed_rows"] > 0
    assert "cast_spell" in v2.record["tools"]["names"]
    assert "cast_spell" not in v1.record["tools"]["names"]
    assert v1.record["tools"]["sha256"] != v2.record["tools"]["sha256"]
    # v3 keeps the adapter it is trained on top of inside its own folder
    parents = json.loads((v3.path / "adapter" / "dnd_ft_parents.json").read_text())
    assert parents["merge_first"] == [{"path": "../parents/0", "label": "tiny_qwen3:v2"}]


def test_continuing_changes_weights_but_not_tokenizer_or_format(lineage: dict) -> None:
    from safetensors.torch import load_file

    v1, v2, _ = lineage["registry"].versions("tiny_qwen3")
    a = load_file(str(v1.adapter_dir / "adapter_model.safetensors"))
    b = load_file(str(v2.adapter_dir / "adapter_model.safetensors"))
    assert a.keys() == b.keys()  # the same adapter, trained further
    assert any(not (a[k] == b[k]).all() for k in a)
    for name in ("tokenizer.json", "chat_template.jinja"):
        assert (v1.adapter_dir / name).read_bytes() == (v2.adapter_dir / name).read_bytes()
    assert (v1.path / "data" / "format.json").read_text() == (
        v2.path / "data" / "format.json"
    ).read_text()


def test_forgetting_report_and_per_tool_scores(lineage: dict) -> None:
    v1, v2, _ = lineage["registry"].versions("tiny_qwen3")
    m1, m2 = v1.record["metrics"], v2.record["metrics"]
    assert m2["forgetting/tool_name_f1_before"] == m1["eval/tool_name_f1"]
    assert m2["forgetting/tool_name_f1_after"] == m2["eval/old/tool_name_f1"]
    assert m2["eval/old/n_examples"] == m1["eval/n_examples"]
    report = json.loads((lineage["runs"]["v2"] / "eval" / "report.json").read_text())
    assert report["forgetting"]["parent"] == "tiny_qwen3:v1"
    tools = {t["tool"]: t for t in v2.record["per_tool"]}
    assert tools["cast_spell"]["gold"] > 0  # the held-out new scenario calls the new tool
    # v2 trained on a scenario that calls cast_spell: no tool of the held-out one is unseen
    assert m2["eval/n_unseen_tool_calls"] == 0
    # the leaderboard shows the old split beside the parent's own row
    board = subprocess.run(
        [sys.executable, "-m", "dnd_ft.report", str(lineage["runs"]["v1"]),
         str(lineage["runs"]["v2"]), "--out", str(lineage["root"] / "board")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert board.returncode == 0, board.stderr[-2000:]
    assert "| old split |" in (lineage["root"] / "board" / "leaderboard.md").read_text()


def test_wandb_model_artifact_names_its_parent(lineage: dict) -> None:
    from dnd_ft.tracking.offline import read_offline_run

    run = read_offline_run(lineage["runs"]["v2"])
    kinds = {a["type"]: a for a in run.artifacts if a["type"] in ("model", "dataset")}
    model = kinds["model"]
    assert model["name"] == "tiny_qwen3" and "registry-v2" in model["aliases"]
    assert model["metadata"]["parent_artifact"] == "tiny_qwen3:registry-v1"
    assert model["metadata"]["dataset_sha256"] == kinds["dataset"]["metadata"]["sha256"]


def test_export_from_registry_merges_the_parent_chain(lineage: dict) -> None:
    reg: Registry = lineage["registry"]
    outputs = reg.root.parent
    code = registry_cli(["--dir", str(reg.root), "export", "v3", f"paths.output_dir={outputs}",
                         "export.verify=false"])  # fmt: skip
    assert code == 0
    v3 = reg.resolve("tiny_qwen3:v3")
    assert [e["kind"] for e in v3.record["exports"]] == ["merged"]
    # base + v2 + v3 merged gives what the chain gave, to float precision
    manifest = json.loads((v3.path / "exports" / "manifest.json").read_text())
    assert manifest["checks"]["max_logit_diff"] < 1e-3
    assert manifest["merged"]["path"] == "exports/merged"  # inside the version, not the run
    assert reg.verify(v3) == []
    assert not list(v3.path.parent.glob(".export-*"))


def test_parent_of_another_model_or_shape_is_refused(lineage: dict, compose_cfg) -> None:
    from dnd_ft.pipeline.config import validate

    v1 = lineage["registry"].resolve("tiny_qwen3:v1")
    cfg = compose_cfg("debug=smoke", "model=tiny_gemma3", f"trainer.init_from={v1.adapter_dir}")
    with pytest.raises(ConfigError, match="was trained for model name=tiny_qwen3"):
        validate(cfg)
    cfg = compose_cfg("debug=smoke", f"trainer.init_from={v1.adapter_dir}", "trainer.lora.r=2")
    with pytest.raises(ConfigError, match="trainer.lora.r: 2 but the parent adapter"):
        validate(cfg)
    cfg = compose_cfg("debug=smoke", "trainer.init_from=v7",
                      f"registry.dir={lineage['registry'].root}")  # fmt: skip
    with pytest.raises(ConfigError, match=r"no version 'v7'; it has v1, v2, v3"):
        validate(cfg)


def test_resume_mode_finishes_another_runs_training(qwen_smoke_run: Path, tmp_path: Path) -> None:
    """init_mode=resume: the interrupted run's newest checkpoint, its step count included,
    continued into this run's folder (the other run's folder is left as it was)."""
    before = sorted(p.name for p in (qwen_smoke_run / "train" / "checkpoints").iterdir())
    run = tmp_path / "resumed"
    proc = run_cli("debug=smoke", "stages=[data,train]", "trainer.max_steps=10",
                   f"trainer.init_from={qwen_smoke_run}", "trainer.init_mode=resume",
                   f"hydra.run.dir={run}", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((run / "train" / "summary.json").read_text())
    newest = max(before, key=lambda n: int(n.split("-")[1]))
    assert summary["resumed_from"].endswith(f"{qwen_smoke_run.name}/train/checkpoints/{newest}")
    log = (run / "dnd_ft.log").read_text()
    assert "step 9/10" in log and "step 1/10 " not in log  # only the missing steps trained
    assert (run / "adapter" / "adapter_config.json").is_file()
    assert sorted(p.name for p in (qwen_smoke_run / "train" / "checkpoints").iterdir()) == before
