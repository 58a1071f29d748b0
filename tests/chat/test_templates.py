"""The chat templates written into built models agree with the data stage's renderers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dnd_ft.chat import ChatFormatError, chat_template
from dnd_ft.chat.formats import get_format
from dnd_ft.chat.templates import template_messages
from tests.chat.conftest import RECORD

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "roll_dice",
            "description": "Roll dice in standard notation.",
            "parameters": {
                "type": "object",
                "required": ["notation"],
                "properties": {
                    "notation": {"type": "string", "description": "Dice such as 1d20+5"},
                    "mode": {
                        "type": "string",
                        "enum": ["normal", "advantage"],
                        "description": "Roll mode",
                    },
                    "targets": {"type": "array", "items": {"type": "string"}},
                    "opts": {
                        "type": "object",
                        "properties": {"Crit": {"type": "boolean"}},
                        "required": ["Crit"],
                    },
                },
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "end_turn",
            "description": "End the turn.",
            "parameters": {"type": "object", "properties": {}},
        },
    },
]
SHORT = [
    {"role": "user", "content": "Roll"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "function": {
                    "name": "roll_dice",
                    "arguments": {
                        "notation": "1d4",
                        "Zeta": 1,
                        "adv": True,
                        "n": 2.5,
                        "who": ["a"],
                        "none": None,
                    },
                }
            }
        ],
    },
]
FORMATS = [("hermes", False), ("hermes", True), ("functiongemma", False), ("gemma3", False)]


def _conversations() -> list[tuple[list[dict[str, Any]], list[dict[str, Any]] | None]]:
    record = json.loads(RECORD.read_text(encoding="utf-8"))
    return [
        (record["messages"], record["tools"]),
        (record["messages"][1:], None),
        (SHORT, TOOLS),
        ([{"role": "user", "content": "Hi"}], None),
    ]


def _render(template: str, messages: list, tools: list | None, gen: bool) -> tuple[str, list]:
    from transformers.utils.chat_template_utils import render_jinja_template

    (text,), (spans,) = render_jinja_template(
        [messages],
        tools=tools,
        chat_template=template,
        return_assistant_tokens_mask=True,
        add_generation_prompt=gen,
        bos_token="<bos>",
    )
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end)
        elif end > start:
            merged.append((start, end))
    return text, merged


@pytest.mark.parametrize(("fmt", "think"), FORMATS)
@pytest.mark.parametrize("case", range(4))
def test_template_renders_like_the_data_stage(fmt: str, think: bool, case: int) -> None:
    messages, tools = _conversations()[case]
    renderer = get_format(fmt, **({"think": think} if fmt == "hermes" else {}))
    expected = renderer.render(messages, tools)
    template = chat_template(fmt, training=True, think=think)
    as_dicts = template_messages(messages, fmt)
    text, spans = _render(template, as_dicts, tools, gen=False)
    assert text == expected.text
    assert spans == expected.spans  # {% generation %} covers exactly the loss spans
    prompt, _ = _render(template, as_dicts, tools, gen=True)
    assert prompt == renderer.render_prompt(messages, tools)


def test_inference_template_has_no_generation_markers() -> None:
    assert "{%- generation" not in chat_template("hermes")
    assert "{%- generation -%}" in chat_template("hermes", training=True)
    assert "<think>" in chat_template("hermes", think=True) and "<think>" not in chat_template(
        "hermes"
    )


def test_unknown_format() -> None:
    with pytest.raises(ChatFormatError, match="no built-in chat template for chat_format='chatml'"):
        chat_template("chatml")
