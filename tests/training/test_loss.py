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


def test_weighted_loss_is_the_weighted_mean_of_the_token_losses():
    import torch
    import torch.nn.functional as F

    from dnd_ft.training.batching import Example

    model = tiny_qwen3()
    plain = toy_examples(3, seed=2)
    weighted = [
        Example(e.input_ids, e.labels, [1.0 + (i % 3) for i in range(len(e))]) for e in plain
    ]
    batch = Collator(pad_token_id=0)(plain_rows(weighted))
    batch.pop("num_real_tokens")
    weights = batch.pop("loss_weights")
    assert weights.dtype == torch.float32 and (weights[batch["attention_mask"] == 0] == 0).all()

    ours, _ = label_positions_loss(model, dict(batch), weights=weights)
    with torch.no_grad():
        logits = model(**batch, use_cache=False).logits[:, :-1]
    targets, w = batch["labels"][:, 1:], weights[:, 1:]
    keep = targets != -100
    per_token = F.cross_entropy(logits[keep], targets[keep], reduction="none")
    expected = (per_token * w[keep]).sum() / w[keep].sum()
    assert ours.item() == pytest.approx(expected.item(), rel=1e-5)
    ones, _ = label_positions_loss(model, dict(batch), weights=torch.ones_like(weights))
    unweighted, _ = label_positions_loss(model, dict(batch))
    assert ones.item() == pytest.approx(unweighted.item(), rel=1e-6)


def test_token_weights_mark_decisions_and_calls(record, tiny_tokenizer):
    from omegaconf import OmegaConf

    from dnd_ft.chat import get_format
    from dnd_ft.chat.tokenize import encode
    from dnd_ft.training.stage import token_weights

    rendered = get_format("hermes", think=False).render(record["messages"], record["tools"])
    assert rendered.call_spans and all(
        any(s <= a and b <= e for s, e in rendered.spans) for a, b in rendered.call_spans
    )
    enc = encode(rendered, tiny_tokenizer)
    weights = token_weights(enc, OmegaConf.create({"call": 3.0, "decision": 5.0}))
    assert token_weights(enc, OmegaConf.create({"call": 1.0, "decision": 1.0})) is None
    labelled = [k for k, label in enumerate(enc.labels) if label != -100]
    assert sum(enc.opens_span) == len(rendered.spans)  # one decision per assistant turn
    assert all(weights[k] == 5.0 for k in range(len(weights)) if enc.opens_span[k])
    calls = [k for k in labelled if enc.in_call[k] and not enc.opens_span[k]]
    assert calls and all(weights[k] == 3.0 for k in calls)
    text = tiny_tokenizer.decode([enc.input_ids[k] for k in calls])
    assert "<tool_call>" in text and '"name"' in text
    rest = [k for k in range(len(weights)) if not enc.in_call[k] and not enc.opens_span[k]]
    assert all(weights[k] == 1.0 for k in rest)


@pytest.mark.parametrize("build", [tiny_qwen3, tiny_gemma3], ids=["qwen3", "gemma3"])
def test_gradient_checkpointing_keeps_the_lora_loss_and_gradients(build):
    """trainer.gradient_checkpointing as the Trainer turns it on (non-reentrant), under LoRA
    with trained token rows and the target-positions loss: the same numbers from a fraction
    of the saved activations (what autograd keeps for backward, counted as it packs them)."""
    import torch
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules="all-linear",
                        trainable_token_indices=[3, 4, 5])  # fmt: skip
    model = get_peft_model(build(), config)
    model.train()  # checkpointing only acts in training mode
    batch = Collator(pad_token_id=0)(plain_rows(toy_examples(3, seed=2, lo=20, hi=40)))
    batch.pop("num_real_tokens")

    def run():
        saved = []

        def pack(tensor):
            saved.append(tensor.numel())
            return tensor

        model.zero_grad()
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            loss, _ = label_positions_loss(model, dict(batch))
        loss.backward()
        return loss.item(), _grads(model), sum(saved)

    plain_loss, plain, plain_saved = run()
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    ckpt_loss, ckpt, ckpt_saved = run()
    assert ckpt_saved < plain_saved / 3
    assert ckpt_loss == pytest.approx(plain_loss, abs=1e-6)
    assert plain.keys() == ckpt.keys() and any("trainable_tokens" in n for n in plain)
    for name, grad in plain.items():
        assert torch.allclose(grad, ckpt[name], atol=1e-6), name
