"""Logits only at target positions: same loss and gradients as the stock causal-LM loss."""

from __future__ import annotations

import pytest

from dnd_ft.training.batching import Collator, packed_rows, plain_rows
from dnd_ft.training.loss import label_positions_loss

from .train_helpers import tiny_gemma3, tiny_qwen3, toy_examples


def _grads(model):
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("build", [tiny_qwen3, tiny_gemma3], ids=["qwen3", "gemma3"])
@pytest.mark.parametrize("packing", [False, True], ids=["padded", "packed"])
def test_loss_and_gradients_match_the_stock_loss(build, packing):
    import torch

    model = build()
    examples = toy_examples(5, seed=7, lo=10, hi=30)
    rows = packed_rows(examples, 64) if packing else plain_rows(examples)
    batch = Collator(pad_token_id=0)(rows)
    batch.pop("num_real_tokens")

    model.zero_grad()
    stock = model(**batch, use_cache=False).loss
    stock.backward()
    stock_grads = _grads(model)

    model.zero_grad()
    ours, outputs = label_positions_loss(model, dict(batch))
    ours.backward()
    ours_grads = _grads(model)

    n_targets = int((batch["labels"][:, 1:] != -100).sum())
    assert outputs.logits.shape[:2] == (1, n_targets)  # only the target positions
    assert ours.item() == pytest.approx(stock.item(), abs=1e-5)
    assert stock_grads.keys() == ours_grads.keys()
    for name, grad in stock_grads.items():
        assert torch.allclose(grad, ours_grads[name], atol=1e-5), name


def test_normalises_by_the_accumulated_target_count():
    import torch

    model = tiny_qwen3()
    batch = Collator(pad_token_id=0)(plain_rows(toy_examples(2, seed=1)))
    batch.pop("num_real_tokens")
    n = int((batch["labels"][:, 1:] != -100).sum())
    mean, _ = label_positions_loss(model, dict(batch))
    scaled, _ = label_positions_loss(model, dict(batch), num_items=torch.tensor(4 * n))
    assert scaled.item() == pytest.approx(mean.item() / 4, rel=1e-5)
