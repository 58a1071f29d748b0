"""The leaderboard, built from hand-made run folders (real metrics.json / manifest.json files)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dnd_ft.evaluation.outputs import (
    HEADLINE,
    HIGHER,
    LOWER,
    LOWER_IS_BETTER,
    METRICS,
    NEUTRAL,
    decimals_for,
    direction,
    fmt_values,
    metric_info,
)
from dnd_ft.report import make_leaderboard, push_to_tracker
from dnd_ft.report.charts import axis_limits, chart_title, draw_metric
from dnd_ft.report.cli import main
from dnd_ft.report.collect import collect_runs, find_run_dirs, size_key
from dnd_ft.report.leaderboard import best_rows, build_leaderboard, is_degenerate, verdict

ROOT = Path(__file__).resolve().parents[2]


def make_run(folder: Path, name: str, family: str, size: str, tuned: dict, base: dict | None = None,
             run_name: str | None = None, source: str | None = None) -> Path:  # fmt: skip
    folder.mkdir(parents=True)
    metrics = {"train/loss": 1.0, **{f"eval/{k}": v for k, v in tuned.items()}}
    metrics |= {f"baseline/eval/{k}": v for k, v in (base or {}).items()}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    model = {"name": name, "family": family, "size": size}
    manifest = {
        "run_name": run_name or name,
        "model": model | ({"source": source} if source else {}),
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
    # one table per metric group: tool calls (tool_name_f1, malformed_rate), then prose (rouge_l)
    assert md.index("## Tool calls") < md.index("## Prose")
    assert "| qwen3_1_7b | qwen | 1.7B | fine-tuned | qwen3_1_7b | **0.900** | **0.020** |" in md
    assert "| qwen3_1_7b | qwen | 1.7B | fine-tuned | qwen3_1_7b | **0.410** |" in md
    assert "| qwen3_0_6b | qwen | 0.6B | baseline | qwen3_0_6b | 0.400 | 0.200 |" in md
    assert "| qwen3_0_6b | qwen | 0.6B | baseline | qwen3_0_6b | 0.250 |" in md
    assert "| gemma3_270m | gemma | 270M | fine-tuned | gemma3_270m | 0.700 | n/a |" in md
    assert "| gemma3_270m | gemma | 270M | fine-tuned | gemma3_270m | n/a |" in md
    assert "| qwen3_0_6b | qwen3_0_6b | +0.400 (better) | -0.150 (better) |" in md
    assert "| qwen3_0_6b | qwen3_0_6b | +0.100 (better) |" in md
    assert "| tool_name_f1 ↑ | malformed_rate ↓ |" in md
    assert "![rouge_l](charts/rouge_l.png)" in md
    assert md.index("charts/malformed_rate.png") < md.index("## Prose") < md.index("charts/rouge")
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


# -- an honest leaderboard: directions, degenerate rows, smoke models, precision, charts ------

SILENT = {  # an untrained base model that prints only newlines
    "tool_name_f1": 0.0, "irrelevance_acc": 1.0, "malformed_rate": 0.0, "rouge_l": 0.0,
    "in_character_rate": None, "n_pred_calls": 0, "n_malformed_calls": 0, "n_turns": 30,
}  # fmt: skip


@pytest.fixture
def honest_root(tmp_path: Path) -> Path:
    """Two smoke families with degenerate baselines, one real model with a baseline that
    writes prose, an n/a value and a 0.0037 value."""
    root = tmp_path / "runs"
    make_run(root / "g", "tiny_gemma3", "gemma", "tiny",
             {"tool_name_f1": 0.167, "irrelevance_acc": 0.6, "malformed_rate": 0.233,
              "rouge_l": 0.041, "in_character_rate": 1.0, "n_pred_calls": 18, "n_turns": 30},
             SILENT, source="tiny")  # fmt: skip
    make_run(root / "q", "tiny_qwen3", "qwen", "tiny",
             {"tool_name_f1": 0.0, "irrelevance_acc": 0.4, "malformed_rate": 0.3,
              "rouge_l": 0.0037, "in_character_rate": 1.0, "n_pred_calls": 0,
              "n_malformed_calls": 9, "n_turns": 30},
             SILENT, run_name="tiny_qwen3 full", source="tiny")  # fmt: skip
    make_run(root / "s", "smollm2_135m", "llama", "135M",
             {"tool_name_f1": 0.379, "irrelevance_acc": 0.529, "malformed_rate": 0.024,
              "rouge_l": 0.123, "in_character_rate": 0.98, "n_pred_calls": 27, "n_turns": 42},
             {"tool_name_f1": 0.0, "irrelevance_acc": 0.9, "malformed_rate": 0.0,
              "rouge_l": None, "in_character_rate": 0.95, "n_pred_calls": 0, "n_turns": 42},
             source="gguf_asset")  # fmt: skip
    return root


def _row(board, model, variant):
    return next(
        i for i, r in enumerate(board.rows) if (r["model"], r["variant"]) == (model, variant)
    )


def test_every_metric_has_one_direction():
    assert all(m in METRICS for m in HEADLINE)
    lower = {"hallucination_rate", "missing_rate", "malformed_rate", "invented_roll_rate",
             "capped_rate"}  # fmt: skip
    assert lower == LOWER_IS_BETTER  # its other users (eval report.md) see the same set
    assert (direction("tool_name_f1"), direction("malformed_rate")) == (HIGHER, LOWER)
    assert direction("n_pred_calls") == NEUTRAL and direction("no_such_metric") == NEUTRAL
    assert metric_info("rouge_l").group == "prose" and metric_info("judge_score").kind == "score"


def test_degenerate_rule():
    assert is_degenerate(SILENT)
    assert is_degenerate(SILENT | {"n_malformed_calls": 5})  # broken calls only: nothing usable
    assert not is_degenerate(SILENT | {"in_character_rate": 1.0})  # wrote prose
    assert not is_degenerate(SILENT | {"n_pred_calls": 1})  # made a parsed call
    assert not is_degenerate(SILENT | {"n_turns": 0})  # nothing was evaluated
    assert not is_degenerate({"tool_name_f1": 0.0, "n_pred_calls": 0})  # cannot tell: not judged


def test_never_calls_rule():
    from dnd_ft.report.leaderboard import never_calls

    assert never_calls(SILENT) and never_calls(SILENT | {"in_character_rate": 0.9})
    assert not never_calls(SILENT | {"n_malformed_calls": 2})  # it tried: broken calls count
    assert not never_calls(SILENT | {"n_pred_calls": 1})
    assert not never_calls({"n_turns": 4})  # cannot tell: not judged


def test_degenerate_baseline_is_never_best_and_is_marked(honest_root):
    files = make_leaderboard([honest_root])
    board = files.board
    best = best_rows(board)
    degenerate = {i for i, r in enumerate(board.rows) if r["degenerate"]}
    assert degenerate == {
        _row(board, "tiny_gemma3", "baseline"),
        _row(board, "tiny_qwen3", "baseline"),
    }
    # the silent baselines' irrelevance_acc 1.0 and malformed_rate 0.0 win nothing; nor does
    # the real model's baseline, which writes prose but never calls (0.9 and 0.0 by silence):
    # the one row left that calls has nothing to be compared with
    assert "irrelevance_acc" not in best and "malformed_rate" not in best
    assert best["tool_name_f1"] == {_row(board, "smollm2_135m", "fine-tuned")}
    assert not degenerate & set().union(*best.values())
    md = files.markdown.read_text()
    assert "| tiny_gemma3 | gemma | tiny | baseline | tiny_gemma3 | smoke, degenerate |" in md
    assert "- **degenerate**: produced no well-formed output" in md
    assert "| smollm2_135m | llama | 135M | baseline | smollm2_135m | never calls | " in md
    assert "- **never calls**: made no tool call at all" in md
    page = files.html.read_text()
    assert 'class="badge degenerate"' in page and 'tr class="baseline degenerate' in page
    assert "degenerate: produced no well-formed output" in page


def test_smoke_models_from_manifest_source(honest_root, tmp_path):
    runs = {r.model: r for r in collect_runs([honest_root])}
    assert runs["tiny_qwen3"].smoke and runs["tiny_qwen3"].source == "tiny"
    assert not runs["smollm2_135m"].smoke and runs["smollm2_135m"].source == "gguf_asset"
    make_run(tmp_path / "old", "tiny_qwen3", "qwen", "tiny", {"tool_name_f1": 0.1})
    assert collect_runs([tmp_path / "old"])[0].source == "unknown"  # no source: not smoke
    assert not collect_runs([tmp_path / "old"])[0].smoke
    files = make_leaderboard([honest_root])
    board = files.board
    # smoke rows do not compete with real models: the tiny models' in_character_rate 1.0 is
    # not best, the real model's 0.98 is
    assert best_rows(board)["in_character_rate"] == {_row(board, "smollm2_135m", "fine-tuned")}
    smoke_only = build_leaderboard([r for r in collect_runs([honest_root]) if r.smoke])
    assert best_rows(smoke_only)["tool_name_f1"] == {0}  # among smoke runs alone they compete
    md = files.markdown.read_text()
    assert "| tiny_qwen3 | qwen | tiny | fine-tuned | tiny_qwen3 full | smoke |" in md
    assert "- **smoke**: a random-init tiny model" in md
    page = files.html.read_text()
    assert 'class="badge smoke"' in page and "measure the pipeline, not a model" in page


def test_delta_directions(honest_root):
    assert verdict("tool_name_f1", 0.2) == "better" and verdict("tool_name_f1", -0.1) == "worse"
    assert verdict("malformed_rate", 0.233) == "worse"
    assert verdict("malformed_rate", -0.1) == "better"
    assert verdict("n_pred_calls", 5) is None and verdict("rouge_l", 0.0) is None
    assert verdict("rouge_l", None) is None
    files = make_leaderboard([honest_root])
    md = files.markdown.read_text()
    assert "| tiny_gemma3 | tiny_gemma3 | smoke, degenerate baseline | +0.167 (better) | " \
           "-0.400 (worse) | +0.233 (worse) |" in md  # fmt: skip
    page = files.html.read_text()
    assert '<td class="worse" title="worse (lower is better)">+0.233</td>' in page
    assert '<td class="better" title="better (higher is better)">+0.167</td>' in page
    assert "<td>+0.000</td>" in page  # tiny_qwen3's tool_name_f1 did not move: no cue


def test_precision_helper():
    assert fmt_values([0.0037, 0.41, None]) == ["0.0037", "0.410", "n/a"]
    assert fmt_values([0.0037, 0.41], base=2) == ["0.0037", "0.41"]  # never 0.00
    assert fmt_values([0.41, 0.4149], base=2) == ["0.410", "0.415"]  # distinct values differ
    assert fmt_values([0.05, 0.12], base=2) == ["0.05", "0.12"]
    assert fmt_values([0.4, -0.15], signed=True) == ["+0.400", "-0.150"]
    assert fmt_values([3, 4]) == ["3", "4"] and fmt_values([1e-9]) == ["1.0e-09"]
    assert decimals_for([0.9, 0.5]) == 3 and decimals_for([0.0037, 0.0038, 0.00371]) == 5


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]


def test_charts_share_axes_and_show_na_and_precision(honest_root):
    import matplotlib.pyplot as plt

    board = build_leaderboard(collect_runs([honest_root]))
    rouge = draw_metric(board, "rouge_l")
    zeros = draw_metric(board, "tool_name_f1")
    try:
        # rates share one 0-1 axis, even where every value is small or zero
        assert rouge.axes[0].get_ylim() == zeros.axes[0].get_ylim()
        assert rouge.axes[0].get_ylim()[0] == 0 and rouge.axes[0].get_ylim()[1] >= 1.0
        texts = _texts(rouge)
        assert "n/a" in texts  # smollm2's baseline has no rouge_l: the bar position says so
        assert "0.0037" in texts and "0.12" in texts
        assert "0.00*" in texts  # a degenerate bar's value is starred (hatched, in the legend)
        assert any("measure the pipeline" in t for t in texts)  # smoke footnote
        assert rouge.axes[0].get_title() == "rouge_l (higher is better)"
        ticks = [t.get_text() for t in rouge.axes[0].get_xticklabels()]
        assert ticks == ["tiny_gemma3\n(smoke)", "smollm2_135m", "tiny_qwen3\nfull\n(smoke)"]
    finally:
        plt.close("all")
    assert axis_limits(board, "judge_score") == (0.0, 5.0)
    assert chart_title("malformed_rate") == "malformed_rate (lower is better)"


def test_charts_and_sections_in_group_order(honest_root):
    files = make_leaderboard([honest_root])
    assert list(files.charts) == ["tool_name_f1", "irrelevance_acc", "malformed_rate", "rouge_l",
                                  "in_character_rate"]  # fmt: skip
    page = files.html.read_text()
    assert page.index("<h2>Tool calls</h2>") < page.index("<h2>Prose</h2>")
    assert page.index("alt='malformed_rate'") < page.index("<h2>Prose</h2>")


def test_html_tables_keep_the_model_column(honest_root):
    page = make_leaderboard([honest_root]).html.read_text()
    css = page.split("</style>")[0]
    assert "position:sticky" in css and "left:0" in css and "overflow-x:auto" in css
    body = page.split("</style>")[1]
    assert body.count('<div class="frame"><table>') == 4  # 2 groups x (board, deltas)
    assert '<th class="id sticky">model</th>' in body and '<td class="id sticky">' in body


def test_screenshot_in_headless_chromium(honest_root, tmp_path):
    if not any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")):
        pytest.skip("no Chromium on PATH (apt-get install -y chromium)")
    page = make_leaderboard([honest_root]).html
    out = tmp_path / "board.png"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "screenshot_leaderboard.py"), str(page),
                           "--out", str(out), "--height", "900"],
                          capture_output=True, text=True, cwd=ROOT, timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"\x89PNG")


def test_exported_gguf_types_get_their_own_rows(tmp_path):
    run = make_run(tmp_path / "r", "qwen3_0_6b", "qwen", "0.6B", {"tool_name_f1": 0.8},
                   {"tool_name_f1": 0.4})  # fmt: skip
    metrics = json.loads((run / "metrics.json").read_text())
    metrics |= {"export/f16/eval/tool_name_f1": 0.79, "export/q4_k_m/eval/tool_name_f1": 0.71,
                "export/q4_k_m/bytes": 123, "export/merged_bytes": 456}  # fmt: skip
    (run / "metrics.json").write_text(json.dumps(metrics))
    board = build_leaderboard(collect_runs([tmp_path]))
    variants = [r["variant"] for r in board.rows]
    assert variants == ["fine-tuned", "baseline", "gguf f16", "gguf q4_k_m"]
    assert board.rows[3]["tool_name_f1"] == 0.71
