"""Scores on tools never called in training: hand-built records, a hand-written train split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dnd_ft.evaluation.generate import gold_turn
from dnd_ft.evaluation.outputs import METRICS, render_markdown
from dnd_ft.evaluation.scoring import score_predictions
from dnd_ft.evaluation.stage import Evaluator
from dnd_ft.evaluation.unseen import METRIC_NAMES, called_tools, trained_tools, unseen_metrics
from dnd_ft.tools.registry import ToolRegistry

# The example (tests/evaluation/conftest.py) calls roll_dice on turn 2, apply_damage on turn 4.
ROLL = {"name": "roll_dice", "arguments": {"notation": "1d20+5"}}


def record(example, turn, calls=()):
    return {"id": example["id"], "turn": turn, "content": "", "tool_calls": list(calls),
            "malformed": [], "gold": gold_turn(example["messages"][turn]),
            "new_tokens": 1, "truncated": False}  # fmt: skip


@pytest.fixture(scope="module")
def registry():
    return ToolRegistry.default()


def test_calls_of_a_tool_unseen_in_training_are_scored_apart(example, registry):
    wrong_amount = {"name": "apply_damage", "arguments": {"target": "Goblin 1", "amount": 5}}
    records = [record(example, 2, [ROLL]), record(example, 4, [wrong_amount])]
    report = score_predictions([example], records, registry, trained_tools={"roll_dice"})
    m = report.metrics
    assert report.unseen_tools == ["apply_damage"]
    assert m["n_unseen_tool_calls"] == 1
    assert m["unseen_tool_name_precision"] == m["unseen_tool_name_recall"] == 1.0
    assert m["unseen_tool_name_f1"] == 1.0
    assert m["unseen_tool_args_exact"] == 0.0  # 5 damage instead of 7
    assert m["tool_args_exact"] == pytest.approx(1 / 2)  # overall: roll_dice was exact
    assert report.to_dict()["unseen_tools"] == ["apply_damage"]


def test_a_missed_unseen_call_scores_zero_not_undefined(example, registry):
    records = [record(example, 2, [ROLL]), record(example, 4)]
    m = score_predictions([example], records, registry, trained_tools={"roll_dice"}).metrics
    assert m["unseen_tool_name_recall"] == 0.0 and m["unseen_tool_name_precision"] == 0.0
    assert m["unseen_tool_name_f1"] == 0.0
    assert m["unseen_tool_args_exact"] is None  # nothing matched to compare arguments of


def test_no_unseen_gold_call_gives_none(example, registry):
    records = [record(example, 2, [ROLL]), record(example, 4)]
    seen = {"roll_dice", "apply_damage"}
    report = score_predictions([example], records, registry, trained_tools=seen)
    assert report.unseen_tools == []
    assert report.metrics["n_unseen_tool_calls"] == 0
    assert all(report.metrics[k] is None for k in METRIC_NAMES if not k.startswith("n_"))


def test_without_trained_tools_nothing_is_added(example, registry):
    report = score_predictions([example], [record(example, 2, [ROLL])], registry)
    assert not set(METRIC_NAMES) & set(report.metrics)
    assert report.unseen_tools is None and "unseen_tools" not in report.to_dict()


def test_hallucinated_names_are_not_unseen_tools():
    per_tool = {"roll_dice": {"gold": 2, "pred": 2, "matched": 2, "args_exact": 2},
                "summon_dragon": {"gold": 0, "pred": 1, "matched": 0, "args_exact": 0},
                "cast_spell": {"gold": 4, "pred": 2, "matched": 2, "args_exact": 1}}  # fmt: skip
    metrics, unseen = unseen_metrics(per_tool, trained={"roll_dice"})
    assert unseen == ["cast_spell"]
    assert metrics["unseen_tool_name_precision"] == 1.0
    assert metrics["unseen_tool_name_recall"] == 0.5
    assert metrics["unseen_tool_name_f1"] == pytest.approx(2 / 3)
    assert metrics["unseen_tool_args_exact"] == 0.5 and metrics["n_unseen_tool_calls"] == 4


def _write_train(data_dir: Path, calls: list[str]) -> None:
    """train.jsonl as the data stage stores it: arguments as JSON strings, tools as a string."""
    messages = [{"role": "user", "content": "Go."}]
    for name in calls:
        call = {"type": "function", "function": {"name": name, "arguments": "{}"}}
        messages += [{"role": "assistant", "content": "", "tool_calls": [call]},
                     {"role": "tool", "name": name, "content": "{}"}]  # fmt: skip
    row = {"id": "a/1", "scenario_id": "a", "split": "train", "tools": "[]", "messages": messages}
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "train.jsonl").write_text(json.dumps(row) + "\n")


def test_trained_tools_are_read_from_the_train_split(tmp_path):
    _write_train(tmp_path, ["roll_dice", "heal", "roll_dice"])
    assert trained_tools(tmp_path) == {"roll_dice", "heal"}
    assert called_tools([{"messages": [{"role": "assistant", "tool_calls": [ROLL]}]}]) == {
        "roll_dice"
    }
    seen = Evaluator._seen_tools
    assert seen(tmp_path, {"cast_spell"}) == {"roll_dice", "heal", "cast_spell"}
    assert seen(tmp_path / "nowhere", None) is None  # no train.jsonl: nothing known
    assert seen(None, {"heal"}) == {"heal"}


def test_metrics_are_registered_and_reported(example, registry):
    assert all(name in METRICS for name in METRIC_NAMES)
    records = [record(example, 2, [ROLL]), record(example, 4)]
    report = score_predictions([example], records, registry, trained_tools={"roll_dice"})
    summary = {"model": "tiny", "split": "test", "n_examples": 1, "n_turns": 2,
               "adapter_dir": None, "models": {"fine-tuned": report.to_dict()}}  # fmt: skip
    md = render_markdown(summary)
    assert "Never called in training: apply_damage (1 gold calls): unseen_tool_name_f1 0.000" in md
