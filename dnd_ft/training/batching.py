"""From tokenized examples to training batches: padding, or packing several examples per row.

Packing places examples into rows of at most `max_length` tokens (first-fit decreasing) and
restarts `position_ids` at every example. With no `attention_mask` in the batch, transformers'
sdpa/eager masking reads the restarts as sequence boundaries and builds a block-diagonal
causal mask, so packed examples never attend to each other
(tests/training/test_packing.py checks the logits match the unpacked ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

IGNORE = -100  # label value the loss skips


@dataclass(frozen=True)
class Example:
    """One tokenized chat: labels are IGNORE outside the assistant spans that carry loss;
    ``weights`` (per token; None = all 1.0) weigh the labelled ones in the loss."""

    input_ids: list[int]
    labels: list[int]
    weights: list[float] | None = None

    def __len__(self) -> int:
        return len(self.input_ids)


def pack_first_fit_decreasing(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Group example indices into bins whose lengths sum to at most `capacity`.

    First-fit decreasing: longest first, each into the first bin with room. Within 11/9 of
    the optimal number of bins, and deterministic (ties keep the input order), so a resumed
    run packs exactly as the original did. O(n x bins), fine for tens of thousands of chats.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    bins: list[list[int]] = []
    room: list[int] = []
    for i in order:
        n = lengths[i]
        if n > capacity:
            raise ValueError(f"example {i} has {n} tokens, more than the row capacity {capacity}")
        for b, free in enumerate(room):
            if n <= free:
                bins[b].append(i)
                room[b] -= n
                break
        else:
            bins.append([i])
            room.append(capacity - n)
    return bins


def packed_rows(examples: Sequence[Example], max_length: int) -> list[dict[str, list[int]]]:
    """Concatenate examples bin by bin; position_ids restart at 0 for each example.

    The label of each example's first token is IGNORE: it would otherwise be the target of
    the previous example's last token, a prediction across the boundary.
    """
    rows = []
    for bin_ in pack_first_fit_decreasing([len(e) for e in examples], max_length):
        ids: list[int] = []
        labels: list[int] = []
        positions: list[int] = []
        weights: list[float] = []
        for i in bin_:
            ex = examples[i]
            ids += ex.input_ids
            labels += [IGNORE, *ex.labels[1:]]
            positions += range(len(ex))
            weights += ex.weights or [1.0] * len(ex)
        row: dict[str, list] = {"input_ids": ids, "labels": labels, "position_ids": positions}
        if any(examples[i].weights for i in bin_):
            row["loss_weights"] = weights
        rows.append(row)
    return rows


def plain_rows(examples: Sequence[Example]) -> list[dict[str, list]]:
    rows: list[dict[str, list]] = []
    for e in examples:
        row: dict[str, list] = {"input_ids": e.input_ids, "labels": e.labels}
        if e.weights is not None:
            row["loss_weights"] = e.weights
        rows.append(row)
    return rows


def packing_efficiency(examples: Sequence[Example], rows: Sequence[dict], max_length: int) -> float:
    """Real tokens / tokens the packed rows hold (rows x max_length); 1.0 means no padding."""
    if not rows:
        return 0.0
    return sum(len(e) for e in examples) / (len(rows) * max_length)


class RowDataset:
    """A map-style dataset over prepared rows (a list is enough for the Trainer's sampler).

    with_ids: each item also carries its index (``row_id``), so the val loss can be summed
    over each row once even where a distributed sampler repeats rows to even the shards."""

    def __init__(self, rows: list[dict[str, list[int]]], with_ids: bool = False):
        self.rows = rows
        self.with_ids = with_ids

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {**self.rows[i], "row_id": i} if self.with_ids else self.rows[i]


@dataclass
class Collator:
    """Right-pads a list of rows into tensors.

    Padded (unpacked) batches carry an attention_mask. Packed batches carry position_ids
    instead and no attention_mask (that is what switches on transformers' packed-sequence
    masking); their padding tail gets positions 0..k so it forms its own segment that no
    real token can see. `num_real_tokens` (per row) feeds the tokens/s meter; the Trainer
    subclass removes it before the forward pass.
    """

    pad_token_id: int
    pad_to_multiple_of: int | None = None

    def __call__(self, rows: list[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(r["input_ids"]) for r in rows)
        if self.pad_to_multiple_of:
            m = self.pad_to_multiple_of
            width = (width + m - 1) // m * m
        packed = "position_ids" in rows[0]
        weighted = any("loss_weights" in r for r in rows)
        ids, labels, extra, weights = [], [], [], []
        for r in rows:
            pad = width - len(r["input_ids"])
            ids.append(r["input_ids"] + [self.pad_token_id] * pad)
            labels.append(r["labels"] + [IGNORE] * pad)
            if packed:
                extra.append(r["position_ids"] + list(range(pad)))
            else:
                extra.append([1] * len(r["input_ids"]) + [0] * pad)
            if weighted:
                weights.append(r.get("loss_weights", [1.0] * len(r["input_ids"])) + [0.0] * pad)
        batch = {
            "input_ids": torch.tensor(ids, dtype=torch.long),
            "labels": torch.tensor(labels, dtype=torch.long),
            "position_ids" if packed else "attention_mask": torch.tensor(extra, dtype=torch.long),
            "num_real_tokens": torch.tensor([len(r["input_ids"]) for r in rows], dtype=torch.long),
        }
        if weighted:
            batch["loss_weights"] = torch.tensor(weights, dtype=torch.float32)
        if "row_id" in rows[0]:
            batch["row_ids"] = torch.tensor([r["row_id"] for r in rows], dtype=torch.long)
        return batch
