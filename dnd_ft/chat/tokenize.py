"""Token ids and loss labels from rendered text, through the fast tokenizer's offsets.

The rendered text already holds every control string (``<bos>`` included), so it is encoded
with ``add_special_tokens=False``; the control strings are special tokens of the model's
tokenizer and come out as single ids. A token is labelled with its own id when any of its
characters lies inside a loss span (so a token that merges the header's newline with the
first word of the reply is still learned), else with -100, which the loss ignores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
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
    in_call: list[bool] = field(default_factory=list)  # the token lies in a tool-call block
    opens_span: list[bool] = field(default_factory=list)  # the first labelled token of a span

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
    offsets = enc["offset_mapping"]
    inside = in_spans(offsets, rendered.spans)
    labels = [t if keep else IGNORE_INDEX for t, keep in zip(ids, inside, strict=True)]
    in_call = in_spans(offsets, rendered.call_spans)
    opens = span_openers(offsets, rendered.spans, inside)
    if max_length is not None and len(ids) > max_length:
        if not truncate:
            raise OverlengthError(
                f"example has {len(ids)} tokens, more than max_length={max_length}; raise "
                "data.max_length (model.max_seq_length) or shorten the conversation"
            )
        ids, labels = ids[:max_length], labels[:max_length]
        in_call, opens = in_call[:max_length], opens[:max_length]
    return Encoded(ids, labels, len(ids), in_call, opens)


def label_tokens(
    ids: Sequence[int], offsets: Sequence[Sequence[int]], spans: Sequence[Span]
) -> list[int]:
    """Labels for tokens with character ``offsets`` against sorted, disjoint ``spans``."""
    inside = in_spans(offsets, spans)
    return [t if keep else IGNORE_INDEX for t, keep in zip(ids, inside, strict=True)]


def in_spans(offsets: Sequence[Sequence[int]], spans: Sequence[Span]) -> list[bool]:
    """For each token (character ``offsets``), whether it overlaps one of the sorted,
    disjoint ``spans``."""
    flags = []
    j = 0
    for start, end in offsets:
        while j < len(spans) and spans[j][1] <= start:  # offsets only grow
            j += 1
        flags.append(j < len(spans) and (
            start < spans[j][1] and end > spans[j][0]
            if end > start
            else spans[j][0] <= start < spans[j][1]  # zero-width token: where it sits
        ))  # fmt: skip
    return flags


def span_openers(
    offsets: Sequence[Sequence[int]], spans: Sequence[Span], inside: Sequence[bool]
) -> list[bool]:
    """For each token, whether it is the first labelled token of a span: for an assistant
    turn, the decision between writing prose and calling a tool."""
    opens = [False] * len(inside)
    j = 0
    for k, ((start, _), keep) in enumerate(zip(offsets, inside, strict=True)):
        while j < len(spans) and spans[j][1] <= start:
            j += 1
        if keep and (k == 0 or not inside[k - 1] or offsets[k - 1][1] <= spans[j][0]):
            opens[k] = True
    return opens


def count_tokens(text: str, tokenizer: Any) -> int:
    """Tokens of ``text`` as the model sees it (no extra special tokens)."""
    return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
