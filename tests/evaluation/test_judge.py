"""The optional judge: prompt, score parsing, and the mechanics on a tiny random model."""

from __future__ import annotations

from dnd_ft.chat.formats import get_format
from dnd_ft.evaluation.generate import dm_turns, gold_turn
from dnd_ft.evaluation.judge import (
    RUBRIC,
    judge_cases,
    judge_messages,
    parse_score,
    run_judge,
)


def test_parse_score():
    assert parse_score("4") == 4
    assert parse_score("Score: 5/5") == 5
    assert parse_score("I'd say 0 or 7... no, 2.") == 2
    assert parse_score("excellent") is None


def test_judge_messages_hold_the_case():
    messages = judge_messages("A" * 5000, "I attack!", "The orc falls.", "The orc dies.")
    assert messages[0] == {"role": "system", "content": RUBRIC}
    user = messages[1]["content"]
    assert "I attack!" in user and "The orc falls." in user and "The orc dies." in user
    assert user.count("A") <= 1200 + 10  # the scene is cut


def test_judge_cases_skip_tool_only_turns(example):
    records = [{"id": example["id"], "turn": i, "content": "reply", "gold": gold_turn(example["messages"][i])}
               for i in dm_turns(example["messages"])]  # fmt: skip
    cases = judge_cases([example], records, max_turns=10)
    assert len(cases) == 3  # turn 4 is a tool call without text
    assert "Player:\nI ask Hollis Brand" in cases[2][1]["content"]  # the last player message
    assert len(judge_cases([example], records, max_turns=1)) == 1


def test_run_judge_mechanics_on_a_tiny_model(tiny_lm, example):
    from omegaconf import OmegaConf

    model, tokenizer = tiny_lm
    records = [{"id": example["id"], "turn": i, "content": "The goblin falls.", "gold": gold_turn(example["messages"][i])}
               for i in dm_turns(example["messages"])]  # fmt: skip
    cfg = OmegaConf.create({"max_turns": 2, "max_new_tokens": 4, "batch_size": 2})
    result = run_judge(
        [example],
        records,
        cfg,
        "/unused",
        judge=(model, tokenizer, get_format("hermes", think=False)),
    )
    assert result["n_judged"] == 2
    assert 0.0 <= result["judge_parse_rate"] <= 1.0
    assert result["judge_score"] is None or 1 <= result["judge_score"] <= 5
