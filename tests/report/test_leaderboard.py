"""The leaderboard, built from hand-made run folders (real metrics.json / manifest.json files)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from dnd_ft.report import make_leaderboard, push_to_tracker
from dnd_ft.report.cli import main
from dnd_ft.report.collect import collect_runs, find_run_dirs, size_key
from dnd_ft.report.leaderboard import best_rows, build_leaderboard

ROOT = Path(__file__).resolve().parents[2]


def make_run(folder: Path, name: str, family: str, size: str, tuned: dict, base: dict | None = None,
             run_name: str | None = None) -> Path:  # fmt: skip
    folder.mkdir(parents=True)
    metrics = {"train/loss": 1.0, **{f"eval/{k}": v for k, v in tuned.items()}}
    metrics |= {f"baseline/eval/{k}": v for k, v in (base or {}).items()}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    manifest = {
        "run_name": run_name or name,
        "model": {"name": name, "family": family, "size": size},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "status.json").write_text(json.dumps({"status": "ok"}))
    return folder


@pytest.fixture
def runs_root(tmp_path: Path) -> Path:
    root = tmp_path / "multirun"
    make_run(root / "0", "qwen3_1_7b", "qwen", "1.7B", {"tool_name_f1": 0.9, "rouge_l": 0.41, "malformed_rate": 0.02},
             {"tool_name_f1": 0.5, "rouge_l": 0.30, "malformed_rate": 0.10})  # fmt: skip
    make_run(root / "1", "qwen3_0_6b", "qwen", "0.6B", {"tool_name_f1": 0.8, "rouge_l": 0.35, "malformed_rate": 0.05},
             {"tool_name_f1": 0.4, "rouge_l": 0.25, "malformed_rate": 0.20})  # fmt: skip
    make_run(
        root / "2" / "nested",
        "gemma3_270m",
        "gemma",
        "270M",
        {"tool_name_f1": 0.7, "rouge_l": None},
    )
    (root / "3").mkdir()
    (root / "3" / "metrics.json").write_text(
        json.dumps({"train/loss": 2.0})
    )  # trained, never evaluated
    make_run(
        root / "wandb" / "x", "ignored", "qwen", "9B", {"tool_name_f1": 1.0}
    )  # tracker folders skipped
    return root


def test_find_and_order_runs(runs_root):
    assert len(find_run_dirs([runs_root])) == 4
    runs = collect_runs([runs_root])
    assert [r.model for r in runs] == [
        "gemma3_270m",
        "qwen3_0_6b",
        "qwen3_1_7b",
    ]  # family, then size
    assert (
        size_key("0.6B") == pytest.approx(6e8)
        and size_key("270M") == 2.7e8
        and size_key("tiny") == 0
    )


def test_rows_side_by_side_and_best(runs_root):
    board = build_leaderboard(collect_runs([runs_root]))
    assert [(r["model"], r["variant"]) for r in board.rows] == [
        ("gemma3_270m", "fine-tuned"), ("qwen3_0_6b", "fine-tuned"), ("qwen3_0_6b", "baseline"),
        ("qwen3_1_7b", "fine-tuned"), ("qwen3_1_7b", "baseline"),
    ]  # fmt: skip
    assert board.metrics == ["tool_name_f1", "malformed_rate", "rouge_l"]  # in HEADLINE order
    best = best_rows(board)
    assert [board.rows[i]["model"] for i in best["tool_name_f1"]] == ["qwen3_1_7b"]
    assert [board.rows[i]["model"] for i in best["malformed_rate"]] == [
        "qwen3_1_7b"
    ]  # lower is better
    deltas = {d["model"]: d for d in board.deltas()}
    assert deltas["qwen3_0_6b"]["tool_name_f1"] == pytest.approx(0.4)
    assert "gemma3_270m" not in deltas  # no baseline


def test_files_are_written_with_the_numbers(runs_root):
    files = make_leaderboard([runs_root])
    out = runs_root / "leaderboard"
    assert files.markdown == out / "leaderboard.md" and files.html == out / "leaderboard.html"
    md = files.markdown.read_text()
    assert (
        "| qwen3_1_7b | qwen | 1.7B | fine-tuned | qwen3_1_7b | **0.900** | **0.020** | **0.410** |"
        in md
    )
    assert "| qwen3_0_6b | qwen | 0.6B | baseline | qwen3_0_6b | 0.400 | 0.200 | 0.250 |" in md
    assert "| gemma3_270m | gemma | 270M | fine-tuned | gemma3_270m | 0.700 | n/a | n/a |" in md
    assert "| qwen3_0_6b | qwen3_0_6b | +0.400 | -0.150 | +0.100 |" in md
    assert "![rouge_l](charts/rouge_l.png)" in md
    assert set(files.charts) == {"tool_name_f1", "malformed_rate", "rouge_l"}
    png = (out / "charts" / "rouge_l.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    page = files.html.read_text()
    assert '<td class="best">0.900</td>' in page
    assert base64.b64encode(png).decode()[:200] in page  # embedded, not linked
    assert "src='charts/" not in page and "http" not in page.split("</style>")[1]
    # a rerun overwrites, and the leaderboard's own folder is not taken for a run
    assert len(make_leaderboard([runs_root]).board.runs) == 3


def test_duplicate_run_names_get_their_folder(tmp_path):
    make_run(
        tmp_path / "a" / "run", "tiny_qwen3", "qwen", "tiny", {"tool_name_f1": 0.1, "rouge_l": 0.5}
    )
    make_run(
        tmp_path / "b" / "run", "tiny_qwen3", "qwen", "tiny", {"tool_name_f1": 0.2, "rouge_l": 0.5}
    )
    board = make_leaderboard([tmp_path], tmp_path / "out").board
    assert [r["run"] for r in board.rows] == ["tiny_qwen3 (a/run)", "tiny_qwen3 (b/run)"]
    assert best_rows(board) == {"tool_name_f1": {1}}  # equal rouge_l everywhere: nothing is best


def test_missing_manifest_and_bad_json(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"eval/tool_name_f1": 0.5}))
    assert collect_runs([tmp_path])[0].model == "unknown"
    (run / "metrics.json").write_text("{not json")
    with pytest.raises(ValueError, match="metrics.json: not valid JSON"):
        collect_runs([tmp_path])


def test_errors_for_empty_or_missing_paths(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="no run with eval metrics"):
        make_leaderboard([tmp_path])
    assert main([str(tmp_path / "nope")]) == 1
    assert "no such folder" in capsys.readouterr().err


class _Tracker:
    def __init__(self):
        self.tables, self.summaries, self.images = {}, {}, {}

    def log_table(self, key, columns, rows):
        self.tables[key] = (columns, rows)

    def summary(self, values):
        self.summaries.update(values)

    def log_image(self, key, path):
        self.images[key] = path


def test_push_to_tracker(runs_root):
    files = make_leaderboard([runs_root])
    tracker = _Tracker()
    push_to_tracker(tracker, files.board, files.charts)
    columns, rows = tracker.tables["leaderboard/table"]
    assert columns[:5] == ["model", "family", "size", "variant", "run"]
    assert ["qwen3_1_7b", "qwen", "1.7B", "baseline", "qwen3_1_7b", 0.5, 0.1, 0.3] in rows
    assert tracker.summaries["leaderboard/qwen3_0_6b/fine-tuned/tool_name_f1"] == 0.8
    assert "leaderboard/deltas" in tracker.tables
    assert set(tracker.images) == {f"leaderboard/charts/{m}" for m in files.board.metrics}


def test_push_to_offline_wandb(runs_root, tmp_path, monkeypatch):
    """The real W&B tracker, offline: tables and summary land in the run file."""
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    assert main([str(runs_root), "--out", str(tmp_path / "lb"), "--wandb"]) == 0
    assert list((tmp_path / "lb").rglob("*.wandb"))


def test_module_entry_point(runs_root):
    out = subprocess.run([sys.executable, "-m", "dnd_ft.report", str(runs_root), "--out", str(runs_root / "x")],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "3 run(s), 5 row(s)" in out.stdout
    assert (runs_root / "x" / "leaderboard.html").is_file()
