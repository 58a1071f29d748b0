"""Scoring hand-built prediction records end to end, and the report files."""

from __future__ import annotations

import json

import pytest

from dnd_ft.evaluation.generate import dm_turns, gold_turn
from dnd_ft.evaluation.outputs import log_to_tracker, render_markdown, write_reports
from dnd_ft.evaluation.scoring import options_from_config, score_predictions
from dnd_ft.tools.registry import ToolRegistry


def record(example, turn, content="", calls=(), malformed=()):
    return {"id": example["id"], "turn": turn, "content": content, "tool_calls": list(calls),
            "malformed": list(malformed), "gold": gold_turn(example["messages"][turn]),
            "new_tokens": 5, "truncated": False}  # fmt: skip


def perfect_records(example):
    return [record(example, i, g["content"], g["tool_calls"])
            for i in dm_turns(example["messages"]) for g in [gold_turn(example["messages"][i])]]  # fmt: skip


@pytest.fixture(scope="module")
def registry():
    return ToolRegistry.default()


def test_gold_as_prediction_scores_perfectly(example, registry):
    from dnd_ft.assets import asset_path
    from dnd_ft.tools.executors import SRD

    records = perfect_records(example)
    report = score_predictions([example], records, registry, seed=3, srd=SRD(asset_path("srd")))
    m = report.metrics
    for key in ("tool_name_f1", "tool_args_exact", "tool_turn_exact", "irrelevance_acc", "exec_rate",
                "state_match_rate", "rouge_l", "chrf", "in_character_rate", "length_ok_rate",
                "context_entity_recall", "grounded_args_rate", "schema_valid_rate"):  # fmt: skip
        assert m[key] == pytest.approx(1.0), key
    assert (
        m["hallucination_rate"] == 0 and m["malformed_rate"] == 0 and m["invented_roll_rate"] == 0
    )
    assert m["n_turns"] == 4 and m["n_examples"] == 1
    assert records[0]["score"]["exact"] is True
    assert report.categories["combat"]["n_turns"] == 4


def test_bad_predictions_are_explained(example, registry):
    records = [
        record(example, 2, "Thorin rolls a 17 and the axe bites deep.", []),  # no roll: invented
        record(
            example,
            4,
            "",
            [{"name": "apply_damage", "arguments": {"target": "Goblin 1", "amount": 5}}],
        ),
        record(example, 6, "As an AI I cannot narrate.", [], malformed=['{"name": "roll_dice"']),
        record(example, 8, "Hollis Brand is fine.", [{"name": "summon_dragon", "arguments": {}}]),
    ]
    report = score_predictions([example], records, registry, seed=3, srd=None)
    m = report.metrics
    assert m["tool_name_recall"] == pytest.approx(1 / 2)  # apply_damage matched, roll_dice missed
    assert m["tool_args_exact"] == 0.0
    assert m["irrelevance_acc"] == 0.0  # both no-call turns got calls (one malformed)
    assert m["malformed_rate"] == pytest.approx(1 / 4)
    assert m["hallucination_rate"] == pytest.approx(1 / 2)
    assert m["invented_roll_rate"] == 1.0
    assert m["in_character_rate"] == pytest.approx(2 / 3)
    assert m["state_match_rate"] == 0.0  # 5 damage instead of 7
    assert m["exec_rate"] == pytest.approx(1 / 2)  # summon_dragon does not exist
    assert (
        "apply_damage: wrong value for 'amount': 5 (expected 7)" in records[1]["score"]["problems"]
    )
    assert records[-1]["score"]["conversation"]["state_match"] is False


def test_scoring_rejects_records_of_unknown_examples(example, registry):
    bad = record(example, 2)
    bad["id"] = "elsewhere/flow"
    with pytest.raises(ValueError, match="unknown example 'elsewhere/flow'"):
        score_predictions([example], [bad], registry)


def test_options_from_config():
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"free_text_args": [], "min_words": 1})
    opts = options_from_config(cfg)
    assert opts.free_text_args == [] and opts.min_words == 1 and opts.max_words == 250


class _Tracker:
    def __init__(self):
        self.tables = {}

    def log_table(self, key, columns, rows):
        self.tables[key] = (columns, rows)


def test_reports_and_tracker_tables(example, registry, tmp_path):
    tuned = score_predictions([example], perfect_records(example), registry).to_dict()
    base = score_predictions(
        [example], [record(example, i) for i in dm_turns(example["messages"])], registry
    )
    summary = {"model": "tiny_qwen3", "split": "test", "n_examples": 1, "n_turns": 4, "adapter_dir": None,
               "models": {"fine-tuned": tuned, "baseline": base.to_dict()}}  # fmt: skip
    json_path, md_path = write_reports(tmp_path, summary)
    assert (
        json.loads(json_path.read_text())["models"]["fine-tuned"]["metrics"]["tool_name_f1"] == 1.0
    )
    md = md_path.read_text()
    assert md == render_markdown(summary)
    assert "No adapter: the base model itself." in md
    full = render_markdown({**summary, "merged_dir": "/runs/x/merged"})
    assert "Fine-tuned model (all weights): `/runs/x/merged`." in full and "Adapter:" not in full
    assert "| tool_name_f1 | 1.000 | 0.000 | +1.000 |" in md  # a silent baseline scores 0
    assert "| tool_args_exact | 1.000 | n/a |" in md  # nothing matched: undefined
    assert "| irrelevance_acc | 1.000 | 1.000 | +0.000 |" in md
    assert "## Per tool (fine-tuned)" in md and "| roll_dice | 1 | 1 | 1 |" in md
    tracker = _Tracker()
    log_to_tracker(tracker, summary)
    columns, rows = tracker.tables["eval/metrics_table"]
    assert columns == ["metric", "fine-tuned", "baseline", "delta"]
    assert ["tool_args_exact", 1.0, None, None] in rows
    columns, rows = tracker.tables["eval/tools_table"]
    assert columns[:2] == ["model", "tool"]
    assert [r[:2] for r in rows] == [["fine-tuned", "apply_damage"], ["fine-tuned", "roll_dice"],
                                     ["baseline", "apply_damage"], ["baseline", "roll_dice"]]  # fmt: skip
