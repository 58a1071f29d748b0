"""experiment=compare_families: every family gets the same split, seed, token budget and
evaluation, one W&B group, and the multirun ends with its leaderboard."""

from __future__ import annotations

import json

from dnd_ft.pipeline.config import compose
from tests.training.train_helpers import run_cli


def test_the_families_get_the_same_budget_split_and_eval():
    cfgs = [compose(["experiment=compare_families", f"model={m}"])
            for m in ("tiny_qwen3", "tiny_gemma3")]  # fmt: skip
    same = ("seed", "data.seed", "data.split", "trainer.max_tokens", "trainer.max_steps",
            "trainer.batch_size", "trainer.grad_accum", "eval", "tracking.group", "stages")  # fmt: skip

    def pick(cfg, key):
        node = cfg
        for part in key.split("."):
            node = node[part]
        return node

    for key in same:
        assert pick(cfgs[0], key) == pick(cfgs[1], key), key
    assert cfgs[0].trainer.max_tokens > 0 and cfgs[0].trainer.max_steps <= 0
    assert cfgs[0].eval.max_examples is None  # the whole test split


def test_a_comparison_multirun_ends_with_its_leaderboard(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli(
        "-m", "experiment=compare_families", "trainer.max_tokens=8000", "eval.max_examples=1",
        "eval.max_new_tokens=16", f"hydra.sweep.dir={sweep}", cwd=tmp_path, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = [json.loads((sweep / f"{i}_{m}" / "metrics.json").read_text())
               for i, m in enumerate(("tiny_qwen3", "tiny_gemma3"))]  # fmt: skip
    for m in metrics:  # each family trained to the budget (the steps follow its tokenizer)
        assert 8000 <= m["train/tokens"] < 8000 * 2
    board = (sweep / "leaderboard" / "leaderboard.md").read_text()
    assert "tiny_qwen3" in board and "tiny_gemma3" in board
    assert f"leaderboard: {sweep / 'leaderboard' / 'leaderboard.html'}" in proc.stderr
