"""Generation runner: which turns are replayed, their prompts, and batched left-padded decoding."""

from __future__ import annotations

import pytest

from dnd_ft.chat.formats import get_format
from dnd_ft.evaluation.generate import build_prompts, dm_turns, generate_texts, left_pad, predict


@pytest.fixture(scope="module")
def fmt():
    return get_format("hermes", think=False)


def test_dm_turns_are_after_user_or_tool(example):
    assert dm_turns(example["messages"]) == [2, 4, 6, 8]
    messages = example["messages"][:3] + [{"role": "assistant", "content": "and then..."}]
    assert dm_turns(messages) == [2]  # an assistant message right after another starts nothing


def test_prompts_hold_the_gold_history(example, fmt):
    prompts = build_prompts([example], fmt)
    assert [p.turn for p in prompts] == [2, 4, 6, 8]
    third = prompts[2]
    assert third.prompt == fmt.render_prompt(example["messages"][:6], example["tools"])
    assert '"hp": 0' in third.prompt  # the gold tool result is in the history
    assert prompts[1].gold == {"content": "", "tool_calls": [
        {"name": "apply_damage", "arguments": {"target": "Goblin 1", "amount": 7}}]}  # fmt: skip
    assert third.prompt.endswith("<|im_start|>assistant\n")


def test_left_pad_right_aligns_rows():
    batch = left_pad([[5, 6, 7], [8]], pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [0, 0, 8]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]


def test_batched_generation_equals_one_at_a_time(tiny_lm, example, fmt):
    model, tokenizer = tiny_lm
    prompts = [p.prompt for p in build_prompts([example], fmt)]
    kwargs = {"max_new_tokens": 8, "stop_strings": fmt.stop_strings}
    batched = generate_texts(model, tokenizer, prompts, batch_size=4, **kwargs)
    single = generate_texts(model, tokenizer, prompts, batch_size=1, **kwargs)
    assert [g.text for g in batched] == [g.text for g in single]
    assert [g.prompt_tokens for g in batched] == [
        len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts
    ]
    assert all(0 <= g.new_tokens <= 8 for g in batched)


def test_long_prompts_are_truncated_and_flagged(tiny_lm):
    model, tokenizer = tiny_lm
    out = generate_texts(
        model, tokenizer, ["Thorin " * 200, "Pip"], max_new_tokens=4, max_length=64
    )
    assert out[0].truncated and out[0].prompt_tokens == 60
    assert not out[1].truncated
    with pytest.raises(ValueError, match="eval.max_new_tokens=64 leaves no room"):
        generate_texts(model, tokenizer, ["Pip"], max_new_tokens=64, max_length=64)


def test_predict_records(tiny_lm, example, fmt):
    model, tokenizer = tiny_lm
    records = predict(model, tokenizer, fmt, [example], batch_size=2, max_new_tokens=6)
    assert [r["turn"] for r in records] == [2, 4, 6, 8]
    first = records[0]
    assert set(first) >= {"id", "scenario_id", "category", "turn", "raw", "content", "tool_calls",
                          "malformed", "prompt_tokens", "new_tokens", "truncated", "gold"}  # fmt: skip
    assert first["gold"]["tool_calls"][0]["name"] == "roll_dice"
    assert isinstance(first["content"], str) and isinstance(first["tool_calls"], list)
