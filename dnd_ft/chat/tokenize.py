"""Token ids and loss labels from rendered text, through the fast tokenizer's offsets.

The rendered text already holds every control string (``<bos>`` included), so it is encoded
with ``add_special_tokens=False``; the control strings are special tokens of the model's
tokenizer and come out as single ids. A token is labelled with its own id when any of its
characters lies inside a loss span (so a token that merges the header's newline with the
first word of the reply is still learned), else with -100, which the loss ignores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dnd_ft.chat.base import Rendered, Span

IGNORE_INDEX = -100


class OverlengthError(ValueError):
    """An example has more tokens than allowed; the data stage reports these instead."""


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]  # token id where the token carries loss, else IGNORE_INDEX
    num_tokens: int

    @property
    def num_loss_tokens(self) -> int:
        return sum(label != IGNORE_INDEX for label in self.labels)


def encode(
    rendered: Rendered,
    tokenizer: Any,
    max_length: int | None = None,
    truncate: bool = False,
) -> Encoded:
    """Encode ``rendered.text`` and label the tokens that fall in ``rendered.spans``.

    tokenizer: a fast (Rust-backed) tokenizer; slow ones give no offsets.
    max_length: more tokens than this raises `OverlengthError`, unless ``truncate`` asks to
        cut explicitly (the caller then knows the tail is lost).
    """
    if not getattr(tokenizer, "is_fast", False):
        raise TypeError(
            f"{type(tokenizer).__name__} is not a fast tokenizer; loss masks need "
            "return_offsets_mapping (load it with use_fast=True)"
        )
    # verbose=False: we check the length ourselves, against data.max_length
    enc = tokenizer(
        rendered.text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
    )
    ids = list(enc["input_ids"])
    labels = label_tokens(ids, enc["offset_mapping"], rendered.spans)
    if max_length is not None and len(ids) > max_length:
        if not truncate:
            raise OverlengthError(
                f"example has {len(ids)} tokens, more than max_length={max_length}; raise "
                "data.max_length (model.max_seq_length) or shorten the conversation"
            )
        ids, labels = ids[:max_length], labels[:max_length]
    return Encoded(input_ids=ids, labels=labels, num_tokens=len(ids))


def label_tokens(
    ids: Sequence[int], offsets: Sequence[Sequence[int]], spans: Sequence[Span]
) -> list[int]:
    """Labels for tokens with character ``offsets`` against sorted, disjoint ``spans``."""
    labels = []
    j = 0
    for token_id, (start, end) in zip(ids, offsets, strict=True):
        while j < len(spans) and spans[j][1] <= start:  # offsets only grow
            j += 1
        inside = j < len(spans) and (
            start < spans[j][1] and end > spans[j][0]
            if end > start
            else spans[j][0] <= start < spans[j][1]  # zero-width token: where it sits
        )
        labels.append(token_id if inside else IGNORE_INDEX)
    return labels


def count_tokens(text: str, tokenizer: Any) -> int:
    """Tokens of ``text`` as the model sees it (no extra special tokens)."""
    return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
