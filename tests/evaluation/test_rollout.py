"""Live rollouts: a scripted model plays a conversation, its calls run, the end state is scored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dnd_ft.chat.formats import get_format
from dnd_ft.errors import ConfigError
from dnd_ft.evaluation.outputs import log_to_tracker, render_markdown
from dnd_ft.evaluation.rollout import play, split_conversation
from dnd_ft.evaluation.rollout_score import end_state_metrics, score_rollouts
from dnd_ft.pipeline.config import validate
from dnd_ft.tools.executors import ToolExecutor
from dnd_ft.tools.registry import ToolRegistry

ROOT = Path(__file__).resolve().parents[2]
SYSTEM = """You are the Dungeon Master.

### Party
- Thorin: dwarf fighter, HP 28/28, AC 18
"""
DICE = ["roll_dice", "ability_check", "start_initiative"]


def _call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def _row() -> dict[str, Any]:
    """A goblin hits Thorin (a roll, then its damage), then a healer heals him: two DM turns."""
    tools = ToolRegistry.default().schemas(["roll_dice", "apply_damage", "heal"])
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "name": "Thorin", "content": "I charge the goblin!"},
        {"role": "assistant", "content": "The goblin slashes back.",
         "tool_calls": [_call("roll_dice", notation="1d6+2", reason="goblin scimitar")]},
        {"role": "tool", "name": "roll_dice",
         "content": '{"notation":"1d6+2","total":6,"rolls":[4],"modifier":2}'},
        {"role": "assistant", "content": "", "tool_calls": [_call("apply_damage", target="Thorin", amount=6)]},
        {"role": "tool", "name": "apply_damage", "content": '{"target":"Thorin","hp":22,"max_hp":28,"damage":6}'},
        {"role": "assistant", "content": "Six damage: Thorin is at 22."},
        {"role": "user", "name": "Mira", "content": "I heal Thorin for 3."},
        {"role": "assistant", "content": "", "tool_calls": [_call("heal", target="Thorin", amount=3)]},
        {"role": "tool", "name": "heal", "content": '{"target":"Thorin","hp":25,"max_hp":28,"healed":3}'},
        {"role": "assistant", "content": "Warm light: Thorin is at 25."},
    ]  # fmt: skip
    return {"id": "goblin/heal", "category": "combat", "messages": messages, "tools": tools}


def hermes(name: str, **arguments: Any) -> str:
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"


def scripted(*outputs: str):
    """A model writing ``outputs`` in order (the last one again when they run out)."""
    prompts: list[str] = []
    queue = list(outputs)

    def generate(prompt: str) -> str:
        prompts.append(prompt)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    generate.prompts = prompts  # type: ignore[attr-defined]
    return generate


def _play(generate, row=None, **options):
    registry = ToolRegistry.default()
    fmt = get_format("hermes", think=False)
    options.setdefault("dice_tools", DICE)
    return play(row or _row(), fmt, registry, ToolExecutor(registry, seed=0), generate, **options)


def gold_model():
    """Makes the gold DM's calls, turn by turn."""
    return scripted(
        hermes("roll_dice", notation="1d6+2", reason="the goblin swings"),
        hermes("apply_damage", target="Thorin", amount=6),
        "Thorin takes 6.",
        hermes("heal", target="Thorin", amount=3),
        "Thorin is back up to 25.",
    )


def test_reproducing_the_gold_calls_reaches_the_gold_end_state() -> None:
    gen = gold_model()
    record = _play(gen)
    assert record["passed"] and record["gold_changes_state"] and record["differences"] == []
    assert record["end_state"]["combatants"]["thorin"]["hp"] == 25
    first = record["turns"][0]
    # the roll made as the gold made it shows the gold's hand-written outcome
    assert first["calls"][0]["result"]["total"] == 6 and record["gold_dice"] == 1
    assert [c["name"] for c in first["calls"]] == ["roll_dice", "apply_damage"]
    assert first["rounds"] == 3 and first["reply"] == "Thorin takes 6."
    # the second DM turn saw the model's own first turn, never the gold's
    assert "Thorin takes 6." in gen.prompts[3] and "Thorin is at 22" not in gen.prompts[3]


def test_other_hit_points_fail_with_the_difference_named() -> None:
    record = _play(scripted(
        hermes("apply_damage", target="Thorin", amount=4), "Four damage.",
        hermes("heal", target="Thorin", amount=3), "Healed.",
    ))  # fmt: skip
    assert not record["passed"]
    assert "thorin: hp 27 (gold 25)" in record["differences"]
    metrics, _ = score_rollouts([_row()], [[record]], ToolRegistry.default())
    assert metrics["pass_rate"] == 0.0 and metrics["state_pass_rate"] == 0.0
    assert metrics["tool_name_recall"] == pytest.approx(2 / 3)  # the roll is missing


def test_rolls_from_the_seeded_executor_without_gold_dice() -> None:
    record = _play(gold_model(), dice_tools=())
    roll = record["turns"][0]["calls"][0]["result"]
    assert record["gold_dice"] == 0 and roll["notation"] == "1d6+2" and 3 <= roll["total"] <= 8
    assert record["passed"]  # the damage is the model's decision (6), not the dice's


def test_malformed_calls_are_counted_and_never_crash() -> None:
    record = _play(scripted(
        "<tool_call>\n{not json\n</tool_call>", "Sorry, the goblin misses.", "Mira's light fades.",
    ))  # fmt: skip
    first = record["turns"][0]
    assert len(first["malformed"]) == 1 and first["calls"] == [] and first["rounds"] == 2
    assert not record["passed"]  # no damage, no heal: Thorin still at 28
    metrics, _ = score_rollouts([_row()], [[record]], ToolRegistry.default())
    assert metrics["malformed_rate"] == 0.5 and metrics["n_malformed_calls"] == 1
    assert metrics["tool_name_f1"] == 0.0 and metrics["exec_rate"] is None


def test_the_round_cap_stops_a_model_that_only_calls() -> None:
    record = _play(scripted(hermes("roll_dice", notation="1d4")), max_rounds=2)
    assert [t["rounds"] for t in record["turns"]] == [2, 2]
    assert all(t["capped"] for t in record["turns"])
    metrics, _ = score_rollouts([_row()], [[record]], ToolRegistry.default())
    assert metrics["capped_rate"] == 1.0 and metrics["n_capped_turns"] == 2
    assert metrics["mean_rounds"] == 2.0 and metrics["exec_rate"] == 1.0


def test_bad_arguments_run_as_error_results() -> None:
    record = _play(scripted(hermes("apply_damage", target="Thorin"), "Ouch.", "Done."))
    call = record["turns"][0]["calls"][0]
    assert "amount" in call["result"]["error"]
    metrics, _ = score_rollouts([_row()], [[record]], ToolRegistry.default())
    assert metrics["exec_rate"] == 0.0


def test_pass_hat_k_needs_every_seed() -> None:
    def rec(cid: str, passed: bool) -> dict[str, Any]:
        return {"id": cid, "passed": passed, "gold_changes_state": True}

    seeds = [[rec("a", True), rec("b", True)], [rec("a", True), rec("b", False)]]
    m = end_state_metrics(seeds)
    assert (m["pass_rate"], m["pass_hat_k"], m["pass_at_k"], m["n_seeds"]) == (1.0, 0.5, 1.0, 2)
    assert "pass_hat_k" not in end_state_metrics(seeds[:1])


def test_player_lines_group_into_dm_turns() -> None:
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "name": "A", "content": "one"},
        {"role": "user", "name": "B", "content": "two"},
        {"role": "assistant", "content": "", "tool_calls": [_call("heal", target="A", amount=1)]},
        {"role": "tool", "name": "heal", "content": '{"hp": 1}'},
        {"role": "assistant", "content": "Healed."},
        {"role": "user", "name": "A", "content": "never answered"},
    ]
    context, context_calls, turns = split_conversation(messages)
    assert context == messages[:1] and context_calls == []
    assert len(turns) == 1 and [p["content"] for p in turns[0].players] == ["one", "two"]
    assert turns[0].calls == [{"name": "heal", "arguments": {"target": "A", "amount": 1}}]
    assert turns[0].results == [{"hp": 1}] and turns[0].reply == "Healed."


@pytest.mark.parametrize("overrides,message", [
    (["eval.mode=live"], "eval.mode: 'live' is not one of replay, rollout, both"),
    (["eval.rollout.seeds=3", "eval.rollout.temperature=0"],
     "eval.rollout.temperature: must be > 0 when eval.rollout.seeds=3"),
    (["eval.rollout.max_rounds=0"], "eval.rollout.max_rounds: must be >= 1"),
    (["eval.rollout.max_conversations=0"], "eval.rollout.max_conversations: must be >= 1 or null"),
])  # fmt: skip
def test_bad_rollout_settings_are_reported(compose_cfg, overrides, message) -> None:
    with pytest.raises(ConfigError, match="eval") as info:
        validate(compose_cfg(*overrides))
    assert any(p.startswith(message) for p in info.value.problems), info.value.problems


class _Tracker:
    def __init__(self) -> None:
        self.tables: dict[str, tuple[list[str], list[list[Any]]]] = {}

    def log_table(self, key: str, columns: list[str], rows: list[list[Any]]) -> None:
        self.tables[key] = (columns, rows)


def _section(record: dict[str, Any]) -> dict[str, Any]:
    metrics, tools = score_rollouts([_row()], [[record]], ToolRegistry.default())
    return {
        "settings": {"max_rounds": 4, "seeds": 1, "gold_dice": True, "temperature": None},
        "metrics": metrics, "tools": tools,
        "conversations": [{"id": record["id"], "seed": 0, "passed": record["passed"],
                           "differences": record["differences"]}],
    }  # fmt: skip


def test_rollout_section_in_the_report_and_the_tracker() -> None:
    record = _play(scripted(hermes("apply_damage", target="Thorin", amount=4), "Four."))
    summary = {"model": "m", "split": "test", "n_examples": 1, "n_turns": 2, "models": {},
               "rollout": _section(record)}  # fmt: skip
    md = render_markdown(summary)  # eval.mode=rollout: no replay table, the rollout section
    assert "## Live rollouts" in md and "| pass_rate | 0.000 | n/a |" in md
    assert "- `goblin/heal` (seed 0): thorin: hp" in md and "| metric | \n" not in md
    tracker = _Tracker()
    log_to_tracker(tracker, summary)
    assert set(tracker.tables) == {"eval/rollout/metrics_table", "eval/rollout/conversations_table"}
    assert tracker.tables["eval/rollout/conversations_table"][1][0][:3] == ["goblin/heal", 0, False]


def test_leaderboard_has_a_rollout_row_beside_replay(tmp_path: Path) -> None:
    from dnd_ft.report.collect import collect_runs

    for name, metrics in {
        "both": {"eval/tool_name_f1": 0.5, "eval/rollout/pass_rate": 0.25},
        "rollout-only": {"eval/rollout/pass_rate": 1.0, "eval/rollout/n_turns": 3},
    }.items():
        run = tmp_path / name
        run.mkdir()
        (run / "metrics.json").write_text(json.dumps(metrics))
        manifest = {"run_name": name, "model": {"name": "m", "family": "qwen", "size": "tiny"}}
        (run / "manifest.json").write_text(json.dumps(manifest))
    runs = {r.run_name: r for r in collect_runs([tmp_path])}
    assert runs["both"].variants() == ["fine-tuned", "rollout"]
    assert runs["both"].variant_metrics("fine-tuned") == {"tool_name_f1": 0.5}
    assert runs["rollout-only"].variants() == ["rollout"]  # no empty fine-tuned row


def test_rollout_mode_on_the_tiny_model_in_process(compose_cfg) -> None:
    """eval.mode=rollout alone: the real stage, model and generation; no replay scores."""
    from dnd_ft.core.context import RunContext
    from dnd_ft.core.metrics import Metrics
    from dnd_ft.data.stage import run as build_data
    from dnd_ft.evaluation import stage

    cfg = compose_cfg("model=tiny_qwen3", "debug=smoke", "eval.mode=rollout",
                      "eval.max_examples=1", "eval.max_new_tokens=4", "eval.rollout.max_rounds=2")  # fmt: skip
    run_dir = Path(cfg.paths.run_dir)
    run_dir.mkdir(parents=True)
    tracker = _Tracker()
    ctx = RunContext(cfg=cfg, run_dir=run_dir, metrics=Metrics(run_dir / "metrics.json"),
                     tracker=tracker)  # fmt: skip
    build_data(ctx)
    stage.run(ctx)
    m = ctx.metrics.values
    assert m["eval/rollout/n_examples"] == 1 and m["eval/rollout/pass_rate"] in (0.0, 1.0)
    assert 1 <= m["eval/rollout/mean_rounds"] <= 2 and m["eval/rollout/n_turns"] >= 1
    assert not any(k.startswith("baseline/") or k == "eval/tool_name_f1" for k in m)
    [play] = (run_dir / "eval" / "rollout" / "predictions.jsonl").read_text().splitlines()
    assert json.loads(play)["turns"][0]["players"]
    assert "## Live rollouts" in (run_dir / "eval" / "report.md").read_text()
    assert "eval/rollout/metrics_table" in tracker.tables


@pytest.mark.slow
def test_smoke_run_scores_rollouts_beside_replay_and_on_the_leaderboard(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline", "OMP_NUM_THREADS": "2"}
    cmd = [sys.executable, "-m", "dnd_ft", "model=tiny_qwen3", "debug=smoke",
           "stages=[data,train,eval]", "eval.mode=both", "eval.max_examples=2",
           "eval.max_new_tokens=16", "eval.rollout.max_rounds=2",
           f"paths.output_dir={tmp_path}", f"hydra.run.dir={run_dir}"]  # fmt: skip
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stderr[-3000:]

    metrics = json.loads((run_dir / "metrics.json").read_text())
    for key in ("pass_rate", "state_pass_rate", "tool_name_f1", "malformed_rate", "mean_rounds"):
        assert f"eval/rollout/{key}" in metrics, key
    assert metrics["eval/rollout/n_examples"] == 2 and "eval/tool_name_f1" in metrics
    assert "baseline/eval/tool_name_f1" in metrics
    plays = (run_dir / "eval" / "rollout" / "predictions.jsonl").read_text().splitlines()
    assert len(plays) == 2 and all("end_state" in json.loads(p) for p in plays)
    report = json.loads((run_dir / "eval" / "report.json").read_text())
    assert report["rollout"]["metrics"]["pass_rate"] == metrics["eval/rollout/pass_rate"]
    assert "## Live rollouts" in (run_dir / "eval" / "report.md").read_text()

    board_dir = tmp_path / "board"
    board = subprocess.run(
        [sys.executable, "-m", "dnd_ft.report", str(run_dir), "--out", str(board_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert board.returncode == 0, board.stderr
    md = (board_dir / "leaderboard.md").read_text()
    assert "| tiny_qwen3 | qwen | tiny | rollout |" in md
    assert "| tiny_qwen3 | qwen | tiny | fine-tuned |" in md
