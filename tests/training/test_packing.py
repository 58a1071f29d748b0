"""Packing: first-fit decreasing bins, row layout, and no attention across packed examples."""

from __future__ import annotations

import pytest

from dnd_ft.training.batching import (
    IGNORE,
    Collator,
    Example,
    pack_first_fit_decreasing,
    packed_rows,
    packing_efficiency,
    plain_rows,
)

from .train_helpers import tiny_gemma3, tiny_qwen3, toy_examples


def test_ffd_bins_respect_capacity_and_use_every_example():
    lengths = [5, 9, 3, 7, 2, 8, 1, 6]
    bins = pack_first_fit_decreasing(lengths, 10)
    assert sorted(i for b in bins for i in b) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in b) <= 10 for b in bins)
    assert len(bins) == 5  # total 41 tokens: 5 bins is optimal here
    assert pack_first_fit_decreasing(lengths, 10) == bins  # deterministic


def test_ffd_rejects_an_example_longer_than_a_row():
    with pytest.raises(ValueError, match="example 1 has 12 tokens, more than the row capacity 10"):
        pack_first_fit_decreasing([3, 12], 10)


def test_packed_rows_restart_positions_and_mask_the_boundary_label():
    a, b = Example([5, 6, 7], [IGNORE, 6, 7]), Example([8, 9, 10, 11], [8, 9, 10, 11])
    (row,) = packed_rows([a, b], 8)
    assert row["input_ids"] == [8, 9, 10, 11, 5, 6, 7]  # longest first
    assert row["position_ids"] == [0, 1, 2, 3, 0, 1, 2]
    # each example's first label is ignored: it would be predicted from the previous example
    assert row["labels"] == [IGNORE, 9, 10, 11, IGNORE, 6, 7]


def test_packing_fills_rows_on_toy_chats():
    examples = toy_examples(200, lo=20, hi=120)
    rows = packed_rows(examples, 512)
    eff = packing_efficiency(examples, rows, 512)
    assert eff > 0.95, eff
    assert sum(len(r["input_ids"]) for r in rows) == sum(len(e) for e in examples)


def test_collator_pads_plain_rows_with_mask_and_packed_rows_with_positions():
    import torch

    plain = Collator(pad_token_id=0)(plain_rows([Example([4, 5], [4, 5]), Example([6], [6])]))
    assert plain["input_ids"].tolist() == [[4, 5], [6, 0]]
    assert plain["labels"].tolist() == [[4, 5], [6, IGNORE]]
    assert plain["attention_mask"].tolist() == [[1, 1], [1, 0]]
    assert plain["num_real_tokens"].tolist() == [2, 1]
    assert "position_ids" not in plain

    rows = packed_rows([Example([4, 5, 6], [4, 5, 6]), Example([7, 8], [7, 8])], 6)
    rows.append({"input_ids": [9], "labels": [9], "position_ids": [0]})
    packed = Collator(pad_token_id=0)(rows)
    assert "attention_mask" not in packed  # what turns on transformers' packed masking
    assert packed["position_ids"].tolist() == [[0, 1, 2, 0, 1], [0, 0, 1, 2, 3]]
    assert packed["input_ids"].dtype == torch.long


@pytest.mark.parametrize("build", [tiny_qwen3, tiny_gemma3], ids=["qwen3", "gemma3"])
@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_logits_equal_unpacked_logits(build, attn):
    """An example packed behind another gets the same logits as alone (within 1e-4)."""
    import torch

    model = build()
    model.config._attn_implementation = attn
    model.eval()
    first, second = (
        toy_examples(2, seed=3, lo=30, hi=30)[0],
        toy_examples(1, seed=4, lo=21, hi=21)[0],
    )
    rows = packed_rows([first, second], 64)
    assert len(rows) == 1
    batch = Collator(pad_token_id=0)(
        rows + [{"input_ids": [5] * 3, "labels": [5] * 3, "position_ids": [0, 1, 2]}]
    )
    with torch.no_grad():
        packed = model(
            input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
        ).logits
        alone = [
            model(input_ids=torch.tensor([e.input_ids]), use_cache=False).logits[0]
            for e in (first, second)
        ]
        # Control: the same row with positions running on (no restart) must differ, or this
        # test could not tell packed masking from plain causal attention.
        running = model(input_ids=batch["input_ids"][:1], use_cache=False).logits
    n = len(first)
    assert torch.allclose(packed[0, :n], alone[0], atol=1e-4)
    assert torch.allclose(packed[0, n : n + len(second)], alone[1], atol=1e-4)
    assert (running[0, n : n + len(second)] - alone[1]).abs().max() > 1e-2


def test_packed_loss_equals_the_token_weighted_unpacked_loss():
    """With the boundary label ignored, the packed loss is exactly the unpacked loss."""
    import torch

    model = tiny_qwen3()
    model.eval()
    examples = toy_examples(3, seed=5, lo=10, hi=20)
    collate = Collator(pad_token_id=0)
    total, count = 0.0, 0
    with torch.no_grad():
        for ex in examples:
            batch = collate(plain_rows([ex]))
            n = sum(1 for label in ex.labels[1:] if label != IGNORE)
            out = model(input_ids=batch["input_ids"], labels=batch["labels"], use_cache=False)
            total, count = total + out.loss.item() * n, count + n
        batch = collate(packed_rows(examples, 64))
        packed = model(
            input_ids=batch["input_ids"],
            position_ids=batch["position_ids"],
            labels=batch["labels"],
            use_cache=False,
        ).loss.item()
    assert packed == pytest.approx(total / count, abs=1e-5)
