"""Token masks: labels follow the loss spans token by token, through a real fast tokenizer."""

from __future__ import annotations

from typing import Any

import pytest

from dnd_ft.chat.base import Rendered
from dnd_ft.chat.formats import get_format
from dnd_ft.chat.tokenize import IGNORE_INDEX, OverlengthError, encode, label_tokens


def tokens_with_labels(
    fmt_name: str, record: dict[str, Any], tok: Any, **options: Any
) -> list[tuple[str, bool]]:
    """Each token's text (by its offsets, so split UTF-8 stays readable) and whether it is learned."""
    rendered = get_format(fmt_name, **options).render(record["messages"], record["tools"])
    enc = encode(rendered, tok)
    assert enc.num_tokens == len(enc.input_ids) == len(enc.labels)
    assert all(
        lab in (IGNORE_INDEX, tid) for tid, lab in zip(enc.input_ids, enc.labels, strict=True)
    )
    offsets = tok(rendered.text, add_special_tokens=False, return_offsets_mapping=True)[
        "offset_mapping"
    ]
    texts, seen = [], 0
    for start, end in offsets:  # byte-level pieces of one character share its offsets
        texts.append(rendered.text[max(start, seen) : end])
        seen = max(seen, end)
    return list(zip(texts, (lab != IGNORE_INDEX for lab in enc.labels), strict=True))


def test_hermes_mask_token_by_token(record: dict[str, Any], tiny_tokenizer: Any) -> None:
    pairs = tokens_with_labels("hermes", record, tiny_tokenizer, think=True)
    labelled = "".join(t for t, on in pairs if on)
    rendered = get_format("hermes", think=True).render(record["messages"], record["tools"])
    assert labelled == "".join(rendered.loss_text())  # boundaries fall between tokens here
    # control tokens: every <|im_start|> and think marker is masked; <|im_end|> only after the assistant
    closed = []
    position = 0
    for text, on in pairs:
        if text in ("<|im_start|>", "<think>", "</think>"):
            assert not on
        if text == "<|im_end|>":
            opened = rendered.text.rindex("<|im_start|>", 0, position) + len("<|im_start|>")
            role = rendered.text[opened : rendered.text.index("\n", opened)]
            closed.append(role)
            assert on == (role == "assistant"), role
        position += len(text)
    assert closed == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
    ]
    # user, system and tool-result words are never learned
    masked = "".join(t for t, on in pairs if not on)
    assert (
        "I kick the door open" in masked
        and '"initiative":15' in masked
        and "Dungeon Master" in masked
    )


def test_functiongemma_mask_token_by_token(record: dict[str, Any], tiny_tokenizer: Any) -> None:
    pairs = tokens_with_labels("functiongemma", record, tiny_tokenizer)
    labelled = [t for t, on in pairs if on]
    assert "".join(labelled) == "".join(
        get_format("functiongemma").render(record["messages"], record["tools"]).loss_text()
    )
    assert labelled.count("<start_function_call>") == 3
    assert labelled.count("<end_of_turn>") == 2  # the two text replies end the model turn
    assert labelled.count("<start_function_response>") == 2  # stop markers after calls
    assert [
        t for t, on in pairs if t in ("<start_of_turn>", "<bos>", "<end_function_response>") and on
    ] == []


def test_a_token_straddling_a_span_edge_is_learned() -> None:
    ids = [1, 2, 3, 4]
    offsets = [(0, 5), (5, 7), (7, 12), (12, 12)]
    assert label_tokens(ids, offsets, [(6, 12)]) == [IGNORE_INDEX, 2, 3, IGNORE_INDEX]
    assert label_tokens(ids, offsets, [(0, 5), (12, 13)]) == [1, IGNORE_INDEX, IGNORE_INDEX, 4]


def test_over_length_raises_unless_truncation_is_asked(tiny_tokenizer: Any) -> None:
    rendered = Rendered("<|im_start|>assistant\nhello there<|im_end|>", [(22, 45)])
    n = encode(rendered, tiny_tokenizer).num_tokens
    with pytest.raises(
        OverlengthError, match=f"has {n} tokens, more than max_length=3; raise data.max_length"
    ):
        encode(rendered, tiny_tokenizer, max_length=3)
    cut = encode(rendered, tiny_tokenizer, max_length=3, truncate=True)
    assert cut.num_tokens == 3 and cut.input_ids[0] == tiny_tokenizer.convert_tokens_to_ids(
        "<|im_start|>"
    )


def test_slow_tokenizers_are_refused() -> None:
    class Slow:
        is_fast = False

    with pytest.raises(TypeError, match="not a fast tokenizer"):
        encode(Rendered("x", []), Slow())
