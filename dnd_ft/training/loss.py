"""Causal-LM loss with logits computed only where there is a target.

In our chats only the assistant's tokens carry loss (about 18% of the tokens of the sample
corpus: the system prompt with the party and the tool schemas is most of each example). The
stock forward still projects every position onto the vocabulary, and with a 49k-151k vocab
that projection and its softmax are most of a small model's step. Here a forward pre-hook
on the output layer hands it only the hidden states of positions whose next token has a
label, so the logits are [1, n_targets, vocab] instead of [batch, length, vocab]. The model's
own head code still runs on them (Gemma's logit soft-capping included); the cross-entropy is
the same sum over the same targets, so loss and gradients match the stock loss
(tests/training/test_loss.py).
"""

from __future__ import annotations

from typing import Any

IGNORE = -100


def output_layer(model: Any) -> Any:
    """The module that maps hidden states to vocabulary logits (lm_head), PEFT-wrapped or not
    (and inside DDP's wrapper: the hook goes on the real layer, the forward through DDP)."""
    while hasattr(model, "module") and not hasattr(model, "get_output_embeddings"):
        model = model.module  # torch.nn.parallel.DistributedDataParallel
    get = getattr(model, "get_output_embeddings", None)
    head = get() if get is not None else None
    if head is None:
        raise TypeError(f"{type(model).__name__} has no output embeddings (lm_head) to hook")
    return head


def label_positions_loss(
    model: Any,
    inputs: dict[str, Any],
    num_items: Any = None,
    weights: Any = None,
    row_stats: list[tuple[float, int]] | None = None,
) -> tuple[Any, Any]:
    """(summed cross-entropy / normaliser, model outputs) for a batch with `labels`.

    num_items: the number of target tokens over the whole accumulated batch (the Trainer's
    `num_items_in_batch`; with ``weights``, their sum over the targets); without it the loss
    is the (weighted) mean over this batch's targets. weights: [batch, length] per token,
    each target's cross-entropy multiplied by its token's weight. row_stats: when a list,
    each row's (summed target cross-entropy, number of targets), unweighted, is appended to it
    from the same forward pass.
    The hidden state at position t predicts token t+1, hence the shift.
    """
    import torch
    import torch.nn.functional as F

    labels = inputs.pop("labels")
    targets = labels[:, 1:]
    rows, cols = (targets != IGNORE).nonzero(as_tuple=True)

    def keep_target_positions(module: Any, args: tuple) -> tuple:
        hidden = args[0]
        return (hidden[rows, cols].unsqueeze(0), *args[1:])

    handle = output_layer(model).register_forward_pre_hook(keep_target_positions)
    try:
        outputs = model(**inputs, use_cache=False)
    finally:
        handle.remove()
    logits = outputs.logits[0].float()  # [n_targets, vocab]; fp32 for a stable softmax
    if row_stats is not None:
        with torch.no_grad():
            each = F.cross_entropy(logits, targets[rows, cols], reduction="none").double()
            n = targets.shape[0]
            sums = torch.zeros(n, dtype=each.dtype, device=each.device)
            sums.index_add_(0, rows.to(each.device), each)
            counts = torch.bincount(rows, minlength=n)
            row_stats.extend(zip(sums.tolist(), counts.tolist(), strict=True))
    if weights is None:
        loss = F.cross_entropy(logits, targets[rows, cols], reduction="sum")
        denominator = num_items if num_items is not None else max(len(rows), 1)
    else:
        w = weights[:, 1:][rows, cols].to(logits.device)
        loss = (F.cross_entropy(logits, targets[rows, cols], reduction="none") * w).sum()
        denominator = num_items if num_items is not None else w.sum().clamp(min=1e-8)
    if isinstance(denominator, torch.Tensor):
        denominator = denominator.to(loss.device)
    return loss / denominator, outputs
